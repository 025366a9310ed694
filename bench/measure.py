"""Run one `syncbot` command in this process and write what it cost as JSON.

    python bench/measure.py OUT.json [--concurrency N] -- --repo DIR plan

bench/run.py starts one of these per measured command, so each gets a fresh interpreter:
its wall time includes start-up and imports, as a user's `syncbot` call does, and its peak
RSS (read by the parent with os.wait4) is this command's alone. The command goes through
the real CLI (`syncbot.cli.run`); two hooks only observe it: `open_targets` is wrapped to
keep the targets, whose `stats` counters exist only inside this process, and the apply's
upload phase is timed. `--concurrency` overrides the Skills API client's upload
concurrency, which the CLI does not expose, for the one-by-one comparison.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any


def _parse(argv: list[str]) -> tuple[Path, int | None, list[str]]:
    split = argv.index("--")
    head, command = argv[:split], argv[split + 1 :]
    concurrency = int(head[head.index("--concurrency") + 1]) if "--concurrency" in head else None
    return Path(head[0]), concurrency, command


def _hook_targets(opened: list[Any], concurrency: int | None) -> None:
    from syncbot import session
    from syncbot.commands import live_cmds

    if concurrency is not None:
        settings_for = session.api_settings
        session.api_settings = lambda s, **kw: settings_for(s, **{**kw, "concurrency": concurrency})
    open_targets = live_cmds.open_targets

    def keep(settings: Any) -> Any:
        targets = open_targets(settings)
        opened.append(targets)
        return targets

    live_cmds.open_targets = keep


def _hook_upload_phase(timings: dict[str, float]) -> None:
    from syncbot.applier import Executor

    upload_phase = Executor._upload_phase

    def timed(self: Executor) -> None:
        start = time.perf_counter()
        try:
            upload_phase(self)
        finally:
            timings["upload_phase_s"] = time.perf_counter() - start

    Executor._upload_phase = timed  # type: ignore[method-assign]


def _counters(opened: list[Any]) -> dict[str, int]:
    api = [t.api for t in opened if t.api is not None]
    return {
        "api_requests": sum(a.stats.requests for a in api),
        "api_uploads": sum(a.stats.uploads for a in api),
        "sql_round_trips": sum(t.db.stats.round_trips for t in opened),
        "redis_round_trips": sum(t.cache.stats.round_trips for t in opened),
    }


def _run(entry_point: Any, command: list[str]) -> int:
    """The console script's own entry point, so whatever it does first is measured too."""
    try:
        entry_point(command)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    return 0


def main(argv: list[str]) -> int:
    out, concurrency, command = _parse(argv)
    started = time.perf_counter()
    from syncbot.cli import main as syncbot_main

    imported = time.perf_counter()
    opened: list[Any] = []
    timings: dict[str, float] = {}
    _hook_targets(opened, concurrency)
    _hook_upload_phase(timings)
    code = _run(syncbot_main, command)
    done = time.perf_counter()
    result = {
        "exit_code": code,
        "import_s": imported - started,
        "command_s": done - imported,
        **timings,
        **_counters(opened),
    }
    out.write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
