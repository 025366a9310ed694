"""Progress in a CI log: an apply of many uploads against a slow emulator, its stderr
captured (not a terminal), shows periodic lines with counts and a final one."""

from __future__ import annotations

import re

import pytest
from live_support import Cli, Repo, skill_files

import syncbot.progress
from syncbot.emulator.server import EmulatorServer

SKILLS = 40


def test_apply_of_many_uploads_prints_counted_progress_lines(
    cli: Cli, repo: Repo, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    files: dict[str, str] = {}
    for i in range(SKILLS):
        files.update(skill_files(f"bulk-skill-{i:03d}"))
    repo.write(files)
    repo.commit("many skills")
    emulator.faults.set(latency_ms=100)
    monkeypatch.setattr(syncbot.progress, "DEFAULT_INTERVAL_S", 0.3)

    result = cli("apply")

    assert result.code == 0, result.err
    total = SKILLS + 3
    lines = re.findall(r"^uploads (\d+)/(\d+), (\d+) failed, (.*)$", result.err, re.M)
    assert len(lines) >= 3, result.err  # periodic lines, then the final one
    assert all(int(t) == total and f == "0" for _, t, f, _ in lines)
    done = [int(d) for d, _, _, _ in lines]
    assert done == sorted(done) and done[-1] == total and done[0] < total
    assert lines[0][3].endswith(" s left") and lines[-1][3].startswith("in ")
    assert "\r" not in result.err
    assert emulator.stats.uploads == total
    assert cli("plan", "--detailed-exitcode").code == 0
