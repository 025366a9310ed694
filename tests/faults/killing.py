"""SIGKILL an `syncbot apply` subprocess at a random moment, then check the next apply.

Shared by tests/faults/test_sigkill.py (a few seeded runs in CI) and bench/soak_kill.py
(hundreds of runs). The emulator lives in the calling process, outside the killed one;
the subprocess reaches it, PostgreSQL and Redis through the environment.

One iteration: change the configuration (seeded: new skills, new versions, removals,
rollouts, routes, critical flags) and commit; start `syncbot apply --prune` with the
emulator slowed down; kill it with SIGKILL after a random delay; let the requests it left
in flight land; then apply again (in this process) and check that everything converged.
"""

from __future__ import annotations

import contextlib
import io
import os
import random
import shutil
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import psycopg

from syncbot import cli as cli_module
from syncbot.emulator.server import EmulatorServer

from .support import (
    BASE_SKILLS,
    Repo,
    Result,
    assert_consistent,
    finish,
    no_unfinished_runs,
    routes_yaml,
    runs,
    skill_files,
    spawn,
)


@dataclass
class Outcome:
    iteration: int
    delay_s: float
    killed: bool  # False: the apply had exited before the kill
    phase: str  # where it was when it died (from its journal)
    status_after: str | None  # the killed run's status once the next apply ran
    uploads: int  # uploads the killed apply made (emulator count)


@dataclass
class KillLoop:
    repo: Repo
    emulator: EmulatorServer
    pg_url: str
    env: Mapping[str, str]
    rng: random.Random
    latency_ms: float = 50.0
    max_delay_s: float = 1.5  # kills timed from the start: about the whole apply
    run_window_s: float = 0.15  # kills timed from the run record: its writes
    outcomes: list[Outcome] = field(default_factory=list)
    _serial: int = 0

    # -- the configuration, changed at random --------------------------------------------

    def mutate(self) -> None:
        rng = self.rng
        skills = sorted(self.repo.skills())
        changes = rng.sample(["new", "edit", "remove", "rollout", "critical"], rng.randint(1, 3))
        if "new" in changes:
            for _ in range(rng.randint(1, 3)):
                self._serial += 1
                name = f"skill-{self._serial:03d}"
                self.repo.write(skill_files(name, body=f"Body {self._serial}."))
                skills.append(name)
        if "edit" in changes:
            for name in rng.sample(skills, min(len(skills), rng.randint(1, 3))):
                self._serial += 1
                self.repo.write(
                    skill_files(
                        name,
                        body=f"Revised text {self._serial}.",
                        version=f"1.{self._serial}.0",
                        critical=name == "contract-review",
                    )
                )
        if "remove" in changes:
            removable = [s for s in skills if s not in BASE_SKILLS]
            for name in rng.sample(removable, min(len(removable), 2)):
                shutil.rmtree(self.repo.path / "skills" / name)
                skills.remove(name)
        if "critical" in changes:
            name = rng.choice(skills)
            self._serial += 1
            self.repo.write(
                skill_files(
                    name,
                    body=f"Kept warm {self._serial}.",
                    version=f"1.{self._serial}.0",
                    critical=rng.random() < 0.5,
                )
            )
        rollouts = {n: rng.choice([0, 5, 10, 25, 50, 100]) for n in rng.sample(skills, 2)}
        if "rollout" not in changes:
            rollouts = {"contract-review": 100}
        self.repo.write(
            {
                "registry/routes.yaml": routes_yaml(skills),
                "rollouts/staging.yaml": "".join(f"{n}: {p}\n" for n, p in rollouts.items()),
            }
        )
        self.repo.commit(f"random change {self._serial}: {', '.join(changes)}")

    # -- one kill ------------------------------------------------------------------------

    def iteration(self, number: int) -> Outcome:
        self.mutate()
        last_id = max((r["id"] for r in runs(self.pg_url)), default=0)
        uploads = self.emulator.stats.uploads
        # a third of the kills at any moment since the start (mostly loading, locking,
        # reading); the rest within a short window once the run record exists (writing)
        from_start = self.rng.random() < 1 / 3
        delay = self.rng.uniform(0.0, self.max_delay_s if from_start else self.run_window_s)
        self.emulator.faults.set(latency_ms=self.latency_ms)
        proc = spawn(self.repo.path, "apply", "--prune", env=self.env)
        if not from_start:
            self._wait_for_run(proc, last_id)
        time.sleep(delay)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)  # a no-op if it has just exited
        result = finish(proc)
        killed = result.code == -signal.SIGKILL
        if not killed:
            assert result.code == 0, result
        # requests the dead process left in flight land now (the emulator's latency), as
        # they would on a real server, before the next apply looks
        time.sleep(2 * self.latency_ms / 1000 + 0.1)
        self.emulator.faults.clear()
        mine = [r for r in runs(self.pg_url) if r["id"] > last_id]
        assert len(mine) <= 1, mine
        phase = _phase(mine[0] if mine else None)
        made = self.emulator.stats.uploads - uploads

        self.check_converged()
        status_after = None
        if mine:
            (row,) = [r for r in runs(self.pg_url) if r["id"] == mine[0]["id"]]
            status_after = row["status"]
            if mine[0]["status"] in ("running", "db-committed"):
                assert status_after == "interrupted", row
        outcome = Outcome(number, delay, killed, phase, status_after, made)
        self.outcomes.append(outcome)
        return outcome

    def _wait_for_run(self, proc: subprocess.Popen[str], last_id: int) -> None:
        with psycopg.connect(self.pg_url, autocommit=True) as conn:
            deadline = time.monotonic() + 30
            while proc.poll() is None and time.monotonic() < deadline:
                query = "SELECT 1 FROM sync_runs WHERE id > %s"
                if conn.execute(query, (last_id,)).fetchone():
                    return
                time.sleep(0.005)

    def check_converged(self) -> None:
        # a short lock timeout: the dead process's lock must be gone with its session
        again = self.cli("apply", "--prune", "--lock-timeout", "5")
        assert again.code == 0, again
        plan = self.cli("plan", "--prune", "--detailed-exitcode")
        assert plan.code == 0, plan
        assert_consistent(self.emulator, self.pg_url, self.repo.skills())
        no_unfinished_runs(self.pg_url)

    def cli(self, *args: str) -> Result:
        """The CLI in this process (faster than a subprocess), its output captured."""
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli_module.run(["--repo", str(self.repo.path), *args])
        return Result(code, out.getvalue(), err.getvalue())

    def summary(self) -> dict[str, Any]:
        phases = Counter(o.phase if o.killed else "exited before the kill" for o in self.outcomes)
        return {
            "runs": len(self.outcomes),
            "killed": sum(o.killed for o in self.outcomes),
            "phases": dict(sorted(phases.items())),
            "interrupted_runs_recorded": sum(
                o.status_after == "interrupted" for o in self.outcomes
            ),
            "uploads_by_killed_applies": sum(o.uploads for o in self.outcomes),
        }


def _phase(row: Mapping[str, Any] | None) -> str:
    """Where a killed apply was, from its run record (before the next apply touched it)."""
    if row is None:
        return "before its run record (load, validate, lock, read)"
    if row["status"] not in ("running", "db-committed"):
        return "after finishing its run record"
    ops = [(e.get("op"), e.get("outcome")) for e in row["journal"]]
    if row["status"] == "db-committed":
        if ("cache", "ok") in ops:
            return "after the Redis write (deletions or run record left)"
        return "after the database commit"
    if any(op == "upload" for op, _ in ops):
        return "during uploads"
    return "after its run record, before any upload"
