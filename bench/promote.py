"""Measure `syncbot promote` at N skills against the local PostgreSQL.

    .venv/bin/python bench/promote.py --skills 10 100 1000 [--out bench/RESULTS.md]

For each N: the generated repository of bench/gen_repo.py (production rollouts cycle
through 0, 5, 25, 50 and 100%, so 3 skills in 5 are canaries), its rollouts written
straight into `skill_rollouts` of a fresh schema (the bench measures promote, not the
apply that would normally put them there; a third of them still soaking), and for each
canary 300 executions in the last hour (one in 7 gets 50: inconclusive; one in 11 fails
10% of them) plus as many two hours earlier, outside the window. Then `promote` runs
three times in this process (statements counted by the Database's own counter, metrics
reads counted by wrapping the source) and three times through the real CLI, each in a
fresh interpreter (wall time as a user or cron sees it, start-up and imports included;
`syncbot --version` alone takes 0.3-0.8 s on this shared machine).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg.types.json import Jsonb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from gen_repo import generate  # noqa: E402

from syncbot.ops import load_desired  # noqa: E402
from syncbot.promote.metrics import Health  # noqa: E402
from syncbot.promote.postgres_source import PostgresMetrics  # noqa: E402
from syncbot.promote.run import promote  # noqa: E402
from syncbot.targets.postgres import Database  # noqa: E402

BASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://127.0.0.1:5432/test")
START, END = "<!-- bench:promote:start -->", "<!-- bench:promote:end -->"

_ROLLOUTS = """
INSERT INTO skill_rollouts (environment, skill_name, percentage, salt, changed_at)
SELECT 'production', name, percentage, name, now() - make_interval(hours => hours)
FROM jsonb_to_recordset(%s) AS t(name text, percentage numeric, hours integer)
"""

# for each canary: `count` executions spread over the last hour and as many 2-3 h ago
_EXECUTIONS = """
INSERT INTO skill_executions (environment, skill_name, started_at, duration_ms, success)
SELECT 'production', s.name,
       now() - make_interval(secs => g * 3500.0 / s.count + ago * 7200),
       300 + (g * 7919) %% 3000, g %% 100 >= s.failing
FROM jsonb_to_recordset(%s) AS s(name text, count integer, failing integer),
     generate_series(1, s.count) AS g, (VALUES (0), (1)) AS a(ago)
"""


class CountingSource:
    def __init__(self, inner: PostgresMetrics) -> None:
        self.inner, self.calls = inner, 0

    def health(
        self, environment: str, skills: Sequence[str], start: datetime, end: datetime
    ) -> dict[str, Health]:
        self.calls += 1
        return self.inner.health(environment, skills, start, end)


def schema_url(schema: str) -> str:
    with psycopg.connect(BASE_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in BASE_URL else "?"
    return f"{BASE_URL}{sep}options=-csearch_path%3D{schema}"


def seed(url: str, repo: Path) -> int:
    rollouts = load_desired(repo, "production").rollouts
    rows, traffic = [], []
    for i, (name, rollout) in enumerate(sorted(rollouts.items())):
        rows.append({"name": name, "percentage": rollout.percentage, "hours": 10 + 90 * (i % 3)})
        if 0 < rollout.basis_points < 10000:
            traffic.append(
                {"name": name, "count": 50 if i % 7 == 0 else 300, "failing": 10 * (i % 11 == 0)}
            )
    with Database(url) as db:
        db.migrate()
    with psycopg.connect(url) as conn:
        conn.execute(_ROLLOUTS, (Jsonb(rows),))
        conn.execute(_EXECUTIONS, (Jsonb(traffic),))
        conn.execute("ANALYZE skill_executions")
        (count,) = conn.execute("SELECT count(*) FROM skill_executions").fetchone() or (0,)
    return int(count)


def measure(n: int) -> dict[str, object]:
    schema = f"bench_promote_{n}_{os.getpid()}"
    url = schema_url(schema)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            repo = Path(tmp)
            generate(repo, n)
            executions = seed(url, repo)
            walls, statements, reads, actions = [], set(), set(), {}
            for _ in range(3):
                with Database(url) as db:
                    source = CountingSource(PostgresMetrics(db))
                    began = time.perf_counter()
                    report = promote(repo, "production", db, datetime.now(UTC), source=source)
                    walls.append(time.perf_counter() - began)
                    statements.add(db.stats.round_trips)
                    reads.add(source.calls)
                actions = {a: report.count(a) for a in ("promote", "hold", "rollback")}
            cli = statistics.median(_cli_wall(repo, url) for _ in range(3))
    finally:
        with psycopg.connect(BASE_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    return {
        "skills": n,
        "canaries": sum(actions.values()),
        "executions": executions,
        "wall_s": statistics.median(walls),
        "cli_wall_s": cli,
        "statements": sorted(statements),
        "metrics_reads": sorted(reads),
        "actions": actions,
    }


def _cli_wall(repo: Path, url: str) -> float:
    env = os.environ | {"DATABASE_URL": url}
    command = [str(ROOT / ".venv/bin/syncbot"), "--repo", str(repo), "promote"]
    began = time.perf_counter()
    done = subprocess.run(
        [*command, "--env", "production", "--format", "json"], env=env, capture_output=True
    )
    wall = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"promote failed: {done.stderr.decode()}")
    return wall


def table(results: list[dict[str, object]]) -> str:
    lines = [
        "| skills | canaries | executions | promote (in process, median of 3) | "
        "`syncbot promote` (CLI, fresh interpreter, median of 3) | SQL statements | "
        "metrics reads | promote / hold / rollback |",
        "|---:|---:|---:|---:|---:|---|---|---|",
    ]
    for r in results:
        a = r["actions"]
        assert isinstance(a, dict)
        lines.append(
            f"| {r['skills']:,} | {r['canaries']} | {r['executions']:,} | "
            f"{r['wall_s']:.2f} s | {r['cli_wall_s']:.2f} s | {r['statements']} | "
            f"{r['metrics_reads']} | {a['promote']} / {a['hold']} / {a['rollback']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skills", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--out", type=Path, help="rewrite the promote section of this file")
    args = parser.parse_args(argv)
    text = table([measure(n) for n in args.skills])
    print(text)
    if args.out:
        page = args.out.read_text("utf-8")
        head, rest = page.split(START, 1)
        tail = rest.split(END, 1)[1]
        args.out.write_text(f"{head}{START}\n{text}\n{END}{tail}", "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
