"""`syncbot apply` killed with SIGKILL at random moments always converges on the next apply.

15 seeded runs here; `bench/soak_kill.py` runs the same loop for as long as you like.
"""

from __future__ import annotations

import os
import random

import pytest

from syncbot.emulator.server import EmulatorServer

from .conftest import Cli
from .killing import KillLoop
from .support import Repo

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
