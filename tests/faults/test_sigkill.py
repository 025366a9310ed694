"""`syncbot apply` killed with SIGKILL at random moments always converges on the next apply.

15 seeded runs here; `bench/soak_kill.py` runs the same loop for as long as you like.
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Callable

import pytest
from live_support import Cli

from syncbot.emulator.server import EmulatorServer

from .killing import KillLoop
from .support import (
    BASE_SKILLS,
    Repo,
    assert_consistent,
    finish,
    no_unfinished_runs,
    spawn,
)

RUNS = int(os.environ.get("SYNCBOT_KILL_RUNS", "15"))


@pytest.mark.slow  # about 25 s: deselect with -m "not slow" for a quick local run
def test_applies_killed_at_random_points_always_converge(
    cli: Cli, repo: Repo, emulator: EmulatorServer, pg_url: str, live_env: dict[str, str]
) -> None:
    assert cli("apply").code == 0
    loop = KillLoop(repo, emulator, pg_url, dict(os.environ), random.Random(20240611))
    for number in range(RUNS):
        loop.iteration(number)
    summary = loop.summary()
    print(summary)
    # the delays must really cut applies, not only wait for them to end
    assert summary["killed"] >= RUNS // 2, summary


@pytest.mark.slow  # about 10 s
def test_a_first_apply_killed_at_random_points_converges(
    cli: Cli,
    repo: Repo,
    emulator: EmulatorServer,
    make_pg_url: Callable[[], str],
    redis_prefix: str,
    live_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Into an empty environment: killed while migrating, locking, uploading, committing."""
    rng = random.Random(99)
    for number in range(5):
        pg_url = make_pg_url()
        monkeypatch.setenv("DATABASE_URL", pg_url)
        monkeypatch.setenv("SYNCBOT_REDIS_PREFIX", f"{redis_prefix}{number}:")
        emulator.state.clear()
        emulator.faults.set(latency_ms=50)
        proc = spawn(repo.path, "apply")
        time.sleep(rng.uniform(0.3, 1.3))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        finish(proc)
        time.sleep(0.2)  # its requests in flight land
        emulator.faults.clear()
        result = cli("apply", "--lock-timeout", "5")
        assert result.code == 0, result.err
        assert cli("plan", "--detailed-exitcode").code == 0
        assert_consistent(emulator, pg_url, set(BASE_SKILLS))
        no_unfinished_runs(pg_url)
