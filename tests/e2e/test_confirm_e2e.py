"""apply's confirmation, driven through a real pseudo-terminal: `syncbot apply` is spawned
with its stdin and stdout on a pty, against the emulator, PostgreSQL and Redis."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from live_support import Cli, Repo

from syncbot.emulator.server import EmulatorServer

SYNCBOT = str(Path(sys.executable).with_name("syncbot"))
PROMPT = b" to staging? [y/N]"


def run_on_pty(
    repo: Repo, env: dict[str, str], answer: bytes | None, *args: str
) -> tuple[int, str]:
    """Run `syncbot apply ARGS` on a pty; once PROMPT shows, type `answer`."""
    parent, child = pty.openpty()
    proc = subprocess.Popen(
        [SYNCBOT, "--repo", str(repo.path), "apply", *args],
        stdin=child,
        stdout=child,
        stderr=child,
        env={**os.environ, **env},
        close_fds=True,
    )
    os.close(child)
    output, answered = b"", False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([parent], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(parent, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
        if answer is not None and not answered and PROMPT in output:
            os.write(parent, answer + b"\n")
            answered = True
        if proc.poll() is not None and not ready:
            break
    if proc.poll() is None:
        proc.kill()
    code = proc.wait(timeout=30)
    os.close(parent)
    return code, output.decode(errors="replace")


def runs(pg_url: str) -> list[tuple[object, ...]]:
    with psycopg.connect(pg_url) as conn:
        return conn.execute("SELECT status, error FROM sync_runs ORDER BY id").fetchall()


def test_no_changes_nothing_then_yes_applies(
    repo: Repo, live_env: dict[str, str], emulator: EmulatorServer, pg_url: str, cli: Cli
) -> None:
    code, out = run_on_pty(repo, live_env, b"n")
    assert "Apply these 15 changes to staging? [y/N]" in out, out
    assert code == 1 and "apply cancelled; nothing changed" in out, out
    assert "+ api   create skill contract-review" in out  # the plan is shown before asking
    assert emulator.stats.uploads == 0
    assert runs(pg_url) == [("cancelled", "cancelled at the confirmation prompt")]
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT COUNT(*) FROM skills").fetchone() == (0,)
    assert cli("plan", "--detailed-exitcode").code == 2

    code, out = run_on_pty(repo, live_env, b"y")
    assert code == 0, out
    assert out.count("+ api   create skill contract-review") == 1  # shown once, not twice
    assert "Applied 15 changes" in out
    assert emulator.stats.uploads == 3
    assert cli("plan", "--detailed-exitcode").code == 0  # round trip: nothing left to do

    code, out = run_on_pty(repo, live_env, None)  # an empty plan asks nothing
    assert code == 0 and "Nothing to do." in out and "[y/N]" not in out, out


def test_auto_approve_and_dry_run_never_ask_on_a_terminal(
    repo: Repo, live_env: dict[str, str], emulator: EmulatorServer
) -> None:
    code, out = run_on_pty(repo, live_env, None, "--dry-run")
    assert code == 0 and "[y/N]" not in out and "Would apply" in out, out
    code, out = run_on_pty(repo, live_env, None, "--auto-approve")
    assert code == 0 and "[y/N]" not in out and "Applied 15 changes" in out, out
    assert emulator.stats.uploads == 3


def test_off_a_terminal_apply_never_asks(
    repo: Repo, live_env: dict[str, str], emulator: EmulatorServer
) -> None:
    done = subprocess.run(
        [SYNCBOT, "--repo", str(repo.path), "apply"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env={**os.environ, **live_env},
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "[y/N]" not in done.stdout + done.stderr
    assert "Applied 15 changes" in done.stdout
    assert emulator.stats.uploads == 3
