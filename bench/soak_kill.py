"""Soak test: kill `syncbot apply` with SIGKILL at random points, hundreds of times.

The long variant of tests/faults/test_sigkill.py (same loop: tests/faults/killing.py).
Each run changes the configuration at random and commits it, starts `syncbot apply
--prune` as a subprocess against an in-process Skills API emulator (50 ms per request),
the real PostgreSQL (a fresh schema) and Redis (a fresh key prefix), kills it with
SIGKILL after a random delay, lets its in-flight requests land, then applies again and
checks: exit 0, `plan --detailed-exitcode` exits 0, no duplicate skill in the API, every
database row pins an API version holding its content, no run left unfinished, and the
killed run recorded as `interrupted`.

    .venv/bin/python bench/soak_kill.py --runs 300 --seed 7
    .venv/bin/python bench/soak_kill.py --minutes 30

Exit 0 when every run converged; otherwise the failing run, its seed and the check that
failed are printed (the schema is kept for inspection with --keep) and it exits 1.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
import traceback
import uuid
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
import redis
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from faults.killing import KillLoop  # noqa: E402
from faults.support import API_KEY, ENVIRONMENT, init_repo  # noqa: E402

from syncbot.emulator.server import EmulatorServer  # noqa: E402


def with_search_path(url: str, schema: str) -> str:
    parts = urlsplit(url)
    option = "options=" + quote(f"-csearch_path={schema}", safe="")
    query = f"{parts.query}&{option}" if parts.query else option
    return urlunsplit(parts._replace(query=query))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--minutes", type=float, help="run until this much time has passed")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "SYNCBOT_TEST_DATABASE_URL", "postgresql://root@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("SYNCBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    parser.add_argument("--keep", action="store_true", help="keep the schema and keys on failure")
    args = parser.parse_args()

    schema = f"soak_{uuid.uuid4().hex[:12]}"
    prefix = f"soak:{uuid.uuid4().hex[:12]}:"
    with psycopg.connect(args.database_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    pg_url = with_search_path(args.database_url, schema)
    failed = False
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp, EmulatorServer(api_key=API_KEY) as emulator:
        os.environ.update(
            {
                "ANTHROPIC_API_KEY": API_KEY,
                "ANTHROPIC_BASE_URL": emulator.base_url,
                "DATABASE_URL": pg_url,
                "REDIS_URL": args.redis_url,
                "SYNCBOT_REDIS_PREFIX": prefix,
                "SYNCBOT_ENV": ENVIRONMENT,
                "SKILLS_UPLOAD_TIMEOUT": "5000",
            }
        )
        for name in ("ANTHROPIC_SKILLS_BETA_VERSION", "ANTHROPIC_SKILLS_ENABLED"):
            os.environ.pop(name, None)
        repo = init_repo(Path(tmp) / "config")
        loop = KillLoop(
            repo,
            emulator,
            pg_url,
            dict(os.environ),
            random.Random(args.seed),
            latency_ms=args.latency_ms,
        )
        loop.check_converged()
        number = 0
        try:
            while True:
                elapsed = time.monotonic() - started
                if args.minutes is not None and elapsed > args.minutes * 60:
                    break
                if args.minutes is None and number >= args.runs:
                    break
                outcome = loop.iteration(number)
                print(
                    f"run {number:4d}  delay {outcome.delay_s:5.3f} s  "
                    f"{'killed' if outcome.killed else 'exited'}  {outcome.phase}  "
                    f"-> {outcome.status_after or 'no run record'}",
                    flush=True,
                )
                number += 1
        except AssertionError:
            failed = True
            print(f"\nFAILED at run {number} (seed {args.seed}):", file=sys.stderr)
            traceback.print_exc()
        finally:
            repo.git.close()
        summary = loop.summary() | {
            "seed": args.seed,
            "seconds": round(time.monotonic() - started, 1),
            "api_requests": emulator.stats.requests,
        }
        print(json.dumps(summary, indent=2))
    if not (failed and args.keep):
        with psycopg.connect(args.database_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
        client = redis.Redis.from_url(args.redis_url)
        try:
            keys = list(client.scan_iter(match=prefix + "*", count=500))
            if keys:
                client.unlink(*keys)
        finally:
            client.close()
    else:
        print(f"kept schema {schema} and Redis prefix {prefix}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
