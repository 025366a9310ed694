"""Concurrent `syncbot apply` processes against one environment: one writes at a time.

The apply lock is a PostgreSQL advisory lock per (schema, environment). The journal
shows it: no two runs' [started_at, finished_at] overlap. The others wait and then find
nothing to do, or give up after --lock-timeout naming the run that holds the lock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from live_support import Cli

from syncbot.emulator.server import EmulatorServer
from syncbot.targets.postgres.database import lock_key

from .support import (
    BASE_SKILLS,
    ENVIRONMENT,
    Repo,
    Result,
    assert_clean_failure,
    assert_consistent,
    finish,
    intervals_disjoint,
    no_unfinished_runs,
    routes_yaml,
    runs,
    skill_files,
    spawn,
)

ALL = set(BASE_SKILLS)


@contextmanager
def uploads_held(emulator: EmulatorServer) -> Iterator[threading.Event]:
    """Every upload (POST) waits in the emulator until the event is set."""
    gate = threading.Event()
    real = emulator.faults.decide

    def decide(*, mutating: bool) -> object:
        if mutating:
            gate.wait(60)
        return real(mutating=mutating)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(emulator.faults, "decide", decide)
        try:
            yield gate
        finally:
            gate.set()


def wait_for(condition: object, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.02)
    raise AssertionError("timed out waiting")


def lock_waiters(pg_url: str) -> int:
    """Sessions waiting for this environment's apply lock."""
    with psycopg.connect(pg_url) as conn:
        row = conn.execute("SELECT current_schema()").fetchone()
        assert row is not None
        key = lock_key(str(row[0]), ENVIRONMENT)
        query = """
            SELECT count(*) FROM pg_locks
            WHERE locktype = 'advisory' AND NOT granted AND objsubid = 1
              AND classid::bigint = %s AND objid::bigint = %s
              AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
        """
        found = conn.execute(query, ((key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF)).fetchone()
    assert found is not None
    return int(found[0])


def running_run(pg_url: str) -> int | None:
    try:
        rows = runs(pg_url)
    except psycopg.errors.UndefinedTable:  # not migrated yet
        return None
    found = [r["id"] for r in rows if r["status"] == "running"]
    return found[0] if found else None


def settle(cli: Cli, emulator: EmulatorServer, pg_url: str, wanted: set[str] = ALL) -> None:
    assert_consistent(emulator, pg_url, wanted)
    assert cli("plan", "--detailed-exitcode").code == 0
    no_unfinished_runs(pg_url)
    intervals_disjoint(runs(pg_url))


@pytest.mark.parametrize("count", [2, 5])
def test_applies_started_at_once_write_one_at_a_time(
    count: int, cli: Cli, repo: Repo, emulator: EmulatorServer, pg_url: str
) -> None:
    emulator.faults.set(latency_ms=40)
    procs = [spawn(repo.path, "apply") for _ in range(count)]
    results = [finish(p) for p in procs]
    emulator.faults.clear()
    assert all(r.code == 0 for r in results), [r.err for r in results]
    applied = [r for r in results if "status succeeded" in r.out]
    idle = [r for r in results if "Nothing to do." in r.out]
    assert (len(applied), len(idle)) == (1, count - 1), [r.out for r in results]
    statuses = sorted(r["status"] for r in runs(pg_url))
    assert statuses == ["noop"] * (count - 1) + ["succeeded"]  # every apply is recorded
    assert emulator.stats.uploads == 3
    settle(cli, emulator, pg_url)


@pytest.mark.parametrize("count", [2, 5])
def test_the_others_wait_for_the_lock_then_find_nothing_to_do(
    count: int, cli: Cli, repo: Repo, emulator: EmulatorServer, pg_url: str
) -> None:
    with uploads_held(emulator) as gate:
        holder = spawn(repo.path, "apply")
        wait_for(lambda: running_run(pg_url) is not None or holder.poll() is not None)
        others = [spawn(repo.path, "apply") for _ in range(count - 1)]
        wait_for(lambda: lock_waiters(pg_url) == count - 1)
        assert all(p.poll() is None for p in [holder, *others])
        gate.set()
        first = finish(holder)
        rest = [finish(p) for p in others]
    assert first.code == 0 and "status succeeded" in first.out, first.err
    for result in rest:
        assert result.code == 0 and "Nothing to do." in result.out, result
    assert [r["status"] for r in runs(pg_url)] == ["succeeded"] + ["noop"] * (count - 1)
    settle(cli, emulator, pg_url)


@pytest.mark.parametrize("count", [2, 5])
def test_a_short_lock_timeout_fails_cleanly_naming_the_holding_run(
    count: int, cli: Cli, repo: Repo, emulator: EmulatorServer, pg_url: str
) -> None:
    with uploads_held(emulator) as gate:
        holder = spawn(repo.path, "apply")
        wait_for(lambda: running_run(pg_url) is not None or holder.poll() is not None)
        run_id = running_run(pg_url)
        assert run_id is not None, finish(holder)
        started = time.monotonic()
        others = [spawn(repo.path, "apply", "--lock-timeout", "0.5") for _ in range(count - 1)]
        refused = [finish(p) for p in others]
        elapsed = time.monotonic() - started
        assert holder.poll() is None  # still holding the lock all along
        gate.set()
        first = finish(holder)
    assert first.code == 0, first.err
    assert elapsed < 20
    for result in refused:
        assert_clean_failure(
            result,
            f"another apply holds the lock for {ENVIRONMENT}: run {run_id} ",
            "actor fault-suite",
            "gave up after waiting 0.5 s",
        )
    rows = runs(pg_url)
    assert [r["status"] for r in rows] == ["succeeded"] + ["failed"] * (count - 1)
    for row in rows[1:]:  # the runs that gave up are recorded, with the run that held it
        assert f"holds the lock for {ENVIRONMENT}: run {run_id} " in row["error"]
        assert row["lock_pid"] is None
    settle(cli, emulator, pg_url)


def test_five_applies_of_different_commits_are_serialised(
    cli: Cli, repo: Repo, emulator: EmulatorServer, pg_url: str
) -> None:
    """Each process applies its own commit, so each has work to do after the previous
    one: five runs, one after the other, and every skill created once."""
    refs: list[str] = []
    skills = list(BASE_SKILLS)
    for i in range(5):
        name = f"matter-{i}"
        skills.append(name)
        repo.write(skill_files(name))
        repo.write(
            {
                "registry/routes.yaml": routes_yaml(skills),
                "rollouts/staging.yaml": f"contract-review: {10 * (i + 1)}\n",
            }
        )
        refs.append(repo.commit(f"commit {i}"))
    emulator.faults.set(latency_ms=30)
    # in whatever order they get the lock: an older commit after a newer one deletes the
    # newer skills' routes, more than the deletion cap of 2, which is not what is tested here
    procs = [spawn(repo.path, "apply", "--ref", ref, "--max-deletions", "9") for ref in refs]
    results: list[Result] = [finish(p) for p in procs]
    emulator.faults.clear()
    assert all(r.code == 0 for r in results), [r.err for r in results]
    rows = runs(pg_url)
    assert len(rows) == 5 and all(r["status"] == "succeeded" for r in rows), rows
    intervals_disjoint(rows)
    assert cli("apply").code == 0  # the head commit, whichever ran last
    settle(cli, emulator, pg_url, set(skills))
