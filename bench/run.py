"""The performance benchmark: the targets `verdicts` checks (validate and a no-op plan under
2 s, a no-op plan reading only the listing pages, parallel uploads, one upload per changed
skill, none for a revert), measured against the embedded emulator and the local PostgreSQL
and Redis.

    .venv/bin/python bench/run.py                                   # N = 1,000
    .venv/bin/python bench/run.py --skills 100 1000 5000 --out bench/RESULTS.md

For each N it generates a repository of N skills, 2N routes and rollouts for staging and
production (bench/gen_repo.py), commits it with git in a temp dir, and measures against
`staging`: validate; the first apply of all N skills; a no-op plan; an apply that adds
200 skills to the applied repository; an apply of one changed skill; an apply of the
`git revert` of that change. The 200-skill apply is repeated in a second, identical
sandbox with upload concurrency 1 for the speed-up. Each sandbox is an emulator (20 ms
of latency per request), a fresh PostgreSQL schema (dropped afterwards) and a unique
Redis prefix (deleted afterwards).

Every measured command is a fresh `python bench/measure.py` child running the real CLI:
wall time is the whole process (start-up and imports included), peak memory is its RSS
high-water mark from os.wait4, API requests and uploads are counted by the emulator, SQL
and Redis round trips by the targets' stats inside the child.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import redis

from syncbot.emulator.faults import Faults
from syncbot.emulator.server import EmulatorServer

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from gen_repo import generate, skill_name  # noqa: E402

API_KEY = "bench-key-not-a-secret"
ENVIRONMENT = "staging"  # production's step policy would block a first apply at 100 %
PAGE_SIZE = 100  # the client's list_skills page size
# variables syncbot reads: cleared so the caller's shell cannot change what is measured
SYNCBOT_VARS = (
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
    "ANTHROPIC_SKILLS_ENABLED",
    "ANTHROPIC_SKILLS_BETA_VERSION",
    "SKILLS_CACHE_TTL",
    "SKILLS_MAX_CACHE_SIZE",
    "SKILLS_UPLOAD_TIMEOUT",
    "DATABASE_URL",
    "REDIS_URL",
    "SYNCBOT_REDIS_PREFIX",
    "SYNCBOT_ENV",
)
MARK_BEGIN, MARK_END = "<!-- bench:begin -->", "<!-- bench:end -->"


@dataclass
class Row:
    step: str
    wall_s: float
    cpu_s: float
    rss_mb: float
    api_requests: int
    sql: int
    redis: int
    uploads: int
    upload_phase_s: float | None = None
    client_requests: int = 0
    by_route: dict[str, int] = field(default_factory=dict)
    last_line: str = ""  # of the command's output: "No changes ...", "Applied ..."


@dataclass
class Result:
    n: int
    rows: dict[str, Row] = field(default_factory=dict)
    serial: Row | None = None


# --- the live systems -----------------------------------------------------------------


@dataclass
class Sandbox:
    """One environment's live systems: an emulator, a fresh schema and a Redis prefix."""

    server: EmulatorServer
    database_url: str
    redis_url: str
    prefix: str

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in SYNCBOT_VARS}
        return env | {
            "ANTHROPIC_API_KEY": API_KEY,
            "ANTHROPIC_BASE_URL": self.server.base_url,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "SYNCBOT_REDIS_PREFIX": self.prefix,
            "SYNCBOT_ENV": ENVIRONMENT,
        }


@contextlib.contextmanager
def sandbox(args: argparse.Namespace, tag: str) -> Iterator[Sandbox]:
    unique = f"{tag}_{uuid.uuid4().hex[:8]}"
    schema, prefix = f"syncbot_bench_{unique}", f"syncbot-bench:{unique}:"
    sep = "&" if "?" in args.database_url else "?"
    url = f"{args.database_url}{sep}options=-csearch_path%3D{schema}"
    server = EmulatorServer(api_key=API_KEY, faults=Faults(latency_ms=args.latency_ms))
    try:
        with psycopg.connect(args.database_url, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        with server:
            yield Sandbox(server, url, args.redis_url, prefix)
    finally:
        with psycopg.connect(args.database_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        _delete_prefix(args.redis_url, prefix)


def _delete_prefix(redis_url: str, prefix: str) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        for start in range(0, len(keys), 1000):
            client.unlink(*keys[start : start + 1000])
    finally:
        client.close()


# --- one measured command ---------------------------------------------------------------


def measure(
    step: str, box: Sandbox, repo: Path, command: list[str], concurrency: int | None = None
) -> Row:
    """Run `syncbot --repo REPO COMMAND` in a fresh child; fail loudly if it fails."""
    with tempfile.TemporaryDirectory() as tmp:
        out, log = Path(tmp) / "result.json", Path(tmp) / "log"
        extra = ["--concurrency", str(concurrency)] if concurrency else []
        argv = [sys.executable, str(BENCH / "measure.py"), str(out), *extra, "--"]
        box.server.stats.reset()
        start = time.perf_counter()
        with log.open("wb") as sink:
            child = subprocess.Popen(
                [*argv, "--repo", str(repo), *command], stdout=sink, stderr=sink, env=box.env()
            )
            # wait4, not RUSAGE_CHILDREN: the latter is the maximum over every child so far
            _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        result = json.loads(out.read_text()) if out.exists() else {"exit_code": status}
        output = log.read_text(errors="replace")
        if child.returncode or result["exit_code"]:
            raise RuntimeError(f"{step}: `syncbot {' '.join(command)}` failed:\n{output[-2000:]}")
    stats = box.server.stats
    return Row(
        step=step,
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,  # the child's own: steadier than wall on a busy box
        rss_mb=usage.ru_maxrss / 1024,  # KiB on Linux
        api_requests=stats.requests,
        sql=result.get("sql_round_trips", 0),
        redis=result.get("redis_round_trips", 0),
        uploads=stats.uploads,
        upload_phase_s=result.get("upload_phase_s"),
        client_requests=result.get("api_requests", 0),
        by_route=stats.by_route,
        last_line=(output.strip().splitlines() or [""])[-1],
    )


# --- the repository ---------------------------------------------------------------------


def git(repo: Path, *args: str) -> str:
    identity = ["-c", "user.name=bench", "-c", "user.email=bench@localhost"]
    identity += ["-c", "commit.gpgsign=false", "-c", "core.hooksPath=/dev/null"]
    done = subprocess.run(
        ["git", *identity, *args], cwd=repo, check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


def commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


def change_one_skill(repo: Path, n: int) -> None:
    path = repo / "skills" / skill_name(n) / "SKILL.md"
    path.write_text(path.read_text() + "\nAlso list the dates each clause takes effect.\n")


# --- the scenario -----------------------------------------------------------------------

STEPS = {
    "startup": "startup (`syncbot --version`)",
    "validate": "validate",
    "first": "apply: first apply of all {n} skills",
    "noop": "plan: no changes (after the full apply)",
    "bootstrap": "apply: add {b} new skills to the applied {n}",
    "one": "apply: one changed skill",
    "revert": "apply: `git revert` of that change",
}


def label(key: str, n: int | str, bootstrap: int) -> str:
    return STEPS[key].format(n=n if isinstance(n, str) else f"{n:,}", b=bootstrap)


def bench_n(args: argparse.Namespace, n: int) -> Result:
    result = Result(n)
    with tempfile.TemporaryDirectory(prefix=f"syncbot-bench-{n}-") as tmp:
        repo = Path(tmp)
        generate(repo, n)
        git(repo, "init", "-q")
        commit_all(repo, f"{n} skills")
        with sandbox(args, f"{n}a") as box, sandbox(args, f"{n}b") as serial_box:
            _before_bootstrap(args, result, repo, box, serial_box)
            generate(repo, n + args.bootstrap)
            commit_all(repo, f"add {args.bootstrap} skills")
            _bootstrap(args, result, repo, box, serial_box)
            _change_and_revert(result, repo, box, n)
    return result


def _record(result: Result, key: str, row: Row) -> None:
    result.rows[key] = row
    print(f"  N={result.n:>5} {row.step:<46} {row.wall_s:7.2f} s", file=sys.stderr, flush=True)


def _before_bootstrap(
    args: argparse.Namespace, result: Result, repo: Path, box: Sandbox, serial_box: Sandbox
) -> None:
    steps = {"startup": ["--version"], "validate": ["validate"], "first": ["apply"]}
    for key, command in (steps | {"noop": ["plan"]}).items():
        step = label(key, result.n, args.bootstrap)
        _record(result, key, measure(step, box, repo, command))
    if args.serial:
        # the same starting point for the one-by-one run; latency off only for this setup
        serial_box.server.faults.set(latency_ms=0)
        measure("setup", serial_box, repo, ["apply"])
        serial_box.server.faults.set(latency_ms=args.latency_ms)


def _bootstrap(
    args: argparse.Namespace, result: Result, repo: Path, box: Sandbox, serial_box: Sandbox
) -> None:
    step = label("bootstrap", result.n, args.bootstrap)
    _record(result, "bootstrap", measure(step, box, repo, ["apply"]))
    if args.serial:
        result.serial = measure(step + ", concurrency 1", serial_box, repo, ["apply"], 1)
        print(f"  N={result.n:>5} (concurrency 1) {result.serial.wall_s:7.2f} s", file=sys.stderr)


def _change_and_revert(result: Result, repo: Path, box: Sandbox, n: int) -> None:
    change_one_skill(repo, n // 2)
    commit_all(repo, "change one skill")
    _record(result, "one", measure(label("one", n, 0), box, repo, ["apply"]))
    git(repo, "revert", "--no-edit", "HEAD")
    _record(result, "revert", measure(label("revert", n, 0), box, repo, ["apply"]))


# --- the report -------------------------------------------------------------------------


def machine(args: argparse.Namespace) -> dict[str, str]:
    meminfo = Path("/proc/meminfo").read_text().split()
    cpu = [ln for ln in Path("/proc/cpuinfo").read_text().splitlines() if "model name" in ln]
    with psycopg.connect(args.database_url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    client = redis.Redis.from_url(args.redis_url)
    redis_version = str(client.info("server")["redis_version"])
    client.close()
    repo = BENCH.parent
    head = git(repo, "rev-parse", "--short=12", "HEAD")
    dirty = git(repo, "status", "--porcelain", "--", "syncbot")
    return {
        "date": datetime.date.today().isoformat(),
        "cpu": f"{os.cpu_count()} CPUs (nproc), {cpu[0].split(':')[1].strip() if cpu else '?'}",
        "memory": f"{int(meminfo[meminfo.index('MemTotal:') + 1]) / 1024**2:.1f} GiB",
        "os": platform.platform(),
        "python": platform.python_version(),
        "postgresql": str(row[0]) if row else "?",
        "redis": redis_version,
        "syncbot": head + (f" + uncommitted changes in {_names(dirty)}" if dirty else ""),
    }


def _names(porcelain: str) -> str:
    return ", ".join(line.split()[-1] for line in porcelain.splitlines())


def table(result: Result) -> list[str]:
    lines = [
        "| step | wall s | CPU s | peak RSS MB | API requests | SQL round trips "
        "| Redis round trips | uploads | upload phase s |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    rows = list(result.rows.values()) + ([result.serial] if result.serial else [])
    for r in rows:
        lines.append(
            f"| {r.step} | {r.wall_s:.2f} | {r.cpu_s:.2f} | {r.rss_mb:.0f} "
            f"| {r.api_requests} | {r.sql} | {r.redis} | {r.uploads} "
            f"| {'' if r.upload_phase_s is None else f'{r.upload_phase_s:.2f}'} |"
        )
    return lines


def speedup_lines(result: Result) -> list[str]:
    fast, slow = result.rows["bootstrap"], result.serial
    if slow is None or not fast.upload_phase_s or not slow.upload_phase_s:
        return []
    phase = slow.upload_phase_s / fast.upload_phase_s
    whole = slow.wall_s / fast.wall_s
    return [
        f"Upload phase of the {fast.uploads} new skills: {fast.upload_phase_s:.2f} s at the "
        f"default concurrency (8) against {slow.upload_phase_s:.2f} s one by one: "
        f"**{phase:.1f}x**; the whole apply command (validate, plan, database, cache "
        f"included): {fast.wall_s:.2f} s against {slow.wall_s:.2f} s, {whole:.1f}x.",
    ]


def route_lines(result: Result) -> list[str]:
    """Where the API requests of the small steps went, to show nothing is per skill."""
    lines = ["API requests by route (emulator):", ""]
    for key in ("noop", "one", "revert"):
        row = result.rows[key]
        routes = ", ".join(f"`{route}` {count}" for route, count in sorted(row.by_route.items()))
        lines.append(f"* {row.step}: {routes or 'none'}")
    rows = [*result.rows.values(), *([result.serial] if result.serial else [])]
    mismatched = [r.step for r in rows if r.client_requests != r.api_requests]
    if mismatched:
        lines.append(f"* client and emulator counts differ for: {', '.join(mismatched)}")
    return lines


def scaling(results: list[Result], bootstrap: int) -> list[str]:
    metrics = [
        ("wall time, s", lambda r: f"{r.wall_s:.2f}"),
        ("CPU time of the syncbot process, s", lambda r: f"{r.cpu_s:.2f}"),
        ("peak RSS, MB", lambda r: f"{r.rss_mb:.0f}"),
        ("API requests", lambda r: str(r.api_requests)),
        ("SQL round trips", lambda r: str(r.sql)),
        ("Redis round trips", lambda r: str(r.redis)),
    ]
    head = "| step | " + " | ".join(f"N = {r.n:,}" for r in results) + " |"
    rule = "|---|" + "--:|" * len(results)
    lines: list[str] = []
    for title, cell in metrics:
        lines += ["", f"**{title}**", "", head, rule]
        for key in STEPS:
            lines.append(
                f"| {label(key, 'N', bootstrap)} | "
                + " | ".join(cell(r.rows[key]) for r in results)
                + " |"
            )
    return lines


def verdicts(result: Result) -> list[str]:
    rows = result.rows
    pages = math.ceil(result.n / PAGE_SIZE)
    fast, slow = rows["bootstrap"], result.serial
    phase = (
        slow.upload_phase_s / fast.upload_phase_s
        if slow and slow.upload_phase_s and fast.upload_phase_s
        else None
    )
    peak = max(r.rss_mb for r in [*rows.values(), *([slow] if slow else [])])
    checks = [
        (
            "no-op plan reports no changes",
            rows["noop"].last_line.startswith("No changes"),
            rows["noop"].last_line,
        ),
        ("validate < 2 s", rows["validate"].wall_s < 2, f"{rows['validate'].wall_s:.2f} s"),
        ("no-op plan < 2 s", rows["noop"].wall_s < 2, f"{rows['noop'].wall_s:.2f} s"),
        (
            f"no-op plan API requests = listing pages ({pages})",
            rows["noop"].api_requests == pages,
            f"requests: {rows['noop'].api_requests}",
        ),
        (
            "bootstrap >= 5x faster than one by one (upload phase)",
            phase is not None and phase >= 5,
            f"{phase:.1f}x" if phase else "not measured",
        ),
        (
            "one changed skill: exactly one upload",
            rows["one"].uploads == 1,
            str(rows["one"].uploads),
        ),
        ("revert: zero uploads", rows["revert"].uploads == 0, str(rows["revert"].uploads)),
        ("peak RSS < 300 MB", peak < 300, f"{peak:.0f} MB"),
    ]
    lines = ["| target | met | measured |", "|---|---|---|"]
    lines += [f"| {name} | {'yes' if ok else '**no**'} | {got} |" for name, ok, got in checks]
    return lines


METHOD = """\
Each step is one fresh `bench/measure.py` child running the real CLI against the
`staging` environment: **wall s** is the whole process (interpreter start-up and imports
included), **CPU s** its user + system time (steadier than wall when other jobs share the
machine), **peak RSS** its high-water mark from `os.wait4`. API requests and uploads are
the emulator's counts (the client's own count agreed for every step unless noted);
SQL and Redis round trips are the targets' `stats` inside the child. Every emulator
request waits the given latency. "upload phase s" is the apply's upload phase alone. The
200-skill bootstrap adds 200 skills (and their 400 routes and rollouts) to the already
applied N-skill repository; the concurrency-1 run does the same in a second sandbox
brought to the same state first."""


def report(args: argparse.Namespace, results: list[Result], info: dict[str, str]) -> str:
    sizes = " ".join(str(r.n) for r in results)
    lines = [
        f"Measured {info['date']} with `.venv/bin/python bench/run.py --skills {sizes} "
        f"--latency-ms {args.latency_ms:g} --bootstrap {args.bootstrap}`.",
        "",
        *(f"* {k}: {v}" for k, v in info.items() if k != "date"),
        "",
        METHOD,
    ]
    for result in results:
        lines += ["", f"### N = {result.n:,} skills, {2 * result.n:,} routes", ""]
        lines += [*table(result), "", *speedup_lines(result), "", *route_lines(result)]
        if result.n == 1000 or len(results) == 1:
            lines += ["", f"Targets (at N = {result.n:,}):", "", *verdicts(result)]
    if len(results) > 1:
        lines += ["", "### Scaling", *scaling(results, args.bootstrap)]
    return "\n".join(lines) + "\n"


def write_report(path: Path, body: str) -> None:
    """Replace the measured part of `path`, keeping any text outside the markers."""
    text = (
        path.read_text() if path.exists() else f"# Benchmark results\n\n{MARK_BEGIN}\n{MARK_END}\n"
    )
    before, _, rest = text.partition(MARK_BEGIN)
    _, _, after = rest.partition(MARK_END)
    path.write_text(f"{before}{MARK_BEGIN}\n{body}{MARK_END}{after}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skills", type=int, nargs="+", default=[1000], metavar="N")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--bootstrap", type=int, default=200, help="skills added (default 200)")
    parser.add_argument(
        "--no-serial", dest="serial", action="store_false", help="skip the concurrency-1 comparison"
    )
    parser.add_argument("--database-url", default="postgresql://127.0.0.1:5432/test")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--out", type=Path, help="also write the results into this file")
    args = parser.parse_args(argv)
    info = machine(args)
    info["load average (1 min) at start"] = f"{os.getloadavg()[0]:.2f}"
    results = [bench_n(args, n) for n in args.skills]
    info["load average (1 min) at end"] = f"{os.getloadavg()[0]:.2f}"
    body = report(args, results, info)
    print(body)
    if args.out:
        write_report(args.out, body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
