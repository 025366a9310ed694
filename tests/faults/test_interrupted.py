"""An apply that dies right after one kind of mutation is completed by the next apply.

The crash is simulated in-process: a method of the real target runs, then `Crash` (a
BaseException, so no handler in syncbot can swallow it) is raised; from then on every
write of every target dies before doing anything, as the rest of a dead process would
(the concurrent upload threads included). The run is therefore left `running` or
`db-committed`, never finished, exactly as after a SIGKILL; the next apply (a fresh
process: fresh targets) must mark it `interrupted` and converge.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from live_support import Cli

from syncbot.emulator.server import EmulatorServer
from syncbot.targets.postgres import Database
from syncbot.targets.redis_cache import Cache
from syncbot.targets.skills_api import SkillsApiClient

from .support import (
    BASE_SKILLS,
    Repo,
    assert_consistent,
    db_rows,
    no_unfinished_runs,
    redis_get,
    routes_yaml,
    runs,
    skill_files,
    table_snapshot,
)


class Crash(BaseException):
    """The process died here."""


# every method that writes to a live system: after the crash each of them dies at once
WRITES: tuple[tuple[type, str], ...] = (
    (SkillsApiClient, "create_skill"),
    (SkillsApiClient, "create_version"),
    (SkillsApiClient, "delete_skill"),
    (Database, "record_version"),
    (Database, "commit_apply"),
    (Database, "start_run"),
    (Database, "journal"),
    (Database, "finish_run"),
    (Cache, "write"),
)


@dataclass
class Killer:
    """Kills the 'process' right after (or before) the nth call of one target method."""

    cls: type
    method: str
    when: str  # "after" | "before"
    nth: int = 1
    dead: bool = False
    calls: int = 0

    def install(self, mp: pytest.MonkeyPatch) -> None:
        lock = threading.Lock()
        for cls, name in WRITES:
            real = getattr(cls, name)
            target = cls is self.cls and name == self.method
            mp.setattr(cls, name, self._wrap(real, name, target, lock))

    def _wrap(
        self, real: Callable[..., Any], name: str, target: bool, lock: threading.Lock
    ) -> Callable[..., Any]:
        def wrapper(obj: Any, *args: Any, **kwargs: Any) -> Any:
            if self.dead:
                raise Crash(f"dead before {name}")
            hit = False
            if target:
                with lock:
                    self.calls += 1
                    hit = self.calls == self.nth
                if hit and self.when == "before":
                    self.dead = True
                    raise Crash(f"died before {name}")
            value = real(obj, *args, **kwargs)
            if hit or self.dead:  # a concurrent upload finishing after the death dies too
                self.dead = True
                raise Crash(f"died after {name}")
            return value

        return wrapper


@dataclass(frozen=True)
class Point:
    cls: type
    method: str
    when: str = "after"


POINTS = {
    "after-api-create": Point(SkillsApiClient, "create_skill"),
    "after-api-new-version": Point(SkillsApiClient, "create_version"),
    "after-record-version": Point(Database, "record_version"),
    "before-db-commit": Point(Database, "commit_apply", "before"),
    "after-db-commit": Point(Database, "commit_apply"),
    "after-redis-write": Point(Cache, "write"),
    "mid-prune-deletions": Point(SkillsApiClient, "delete_skill"),
}

EXTRA = ("old-forms", "old-memos")  # deployed at first, then removed from git (pruned)


def baseline(repo: Repo, cli: Cli) -> None:
    repo.write(skill_files("old-forms"))
    repo.write(skill_files("old-memos"))
    repo.write({"registry/routes.yaml": routes_yaml([*BASE_SKILLS, *EXTRA])})
    repo.commit("two skills to be removed later")
    result = cli("apply")
    assert result.code == 0, result.err


def change(repo: Repo) -> set[str]:
    """One commit that needs every kind of mutation: a create, two new versions,
    database rows, the cache, and two API deletions (with --prune)."""
    for name in EXTRA:
        repo.remove(f"skills/{name}")
    repo.write(skill_files("nda-drafting", body="A new clause checklist.", version="1.1.0"))
    repo.write(skill_files("statute-lookup", body="Search the 2024 code first.", version="1.1.0"))
    repo.write(skill_files("lease-review"))
    wanted = {*BASE_SKILLS, "lease-review"}
    repo.write(
        {
            "registry/routes.yaml": routes_yaml(sorted(wanted)),
            "rollouts/staging.yaml": "contract-review: 100\nnda-drafting: 25\nlease-review: 10\n",
        }
    )
    repo.commit("the change that gets interrupted")
    return wanted


def crash_apply(cli: Cli, killer: Killer) -> None:
    with pytest.MonkeyPatch.context() as mp:
        killer.install(mp)
        with pytest.raises(Crash):
            cli("apply", "--prune")
    assert killer.dead, "the crash point was never reached"


def converges(cli: Cli, emulator: EmulatorServer, pg_url: str, wanted: set[str]) -> None:
    result = cli("apply", "--prune")
    assert result.code == 0, result.out + result.err
    assert_consistent(emulator, pg_url, wanted)
    plan = cli("plan", "--detailed-exitcode", "--prune")
    assert plan.code == 0, plan.out
    no_unfinished_runs(pg_url)


def crashed_run_is_interrupted(pg_url: str, run_id: int) -> None:
    (row,) = [r for r in runs(pg_url) if r["id"] == run_id]
    assert row["status"] == "interrupted", row
    assert row["error"], row


def started_run_ids(pg_url: str) -> set[int]:
    return {r["id"] for r in runs(pg_url)}


@pytest.mark.parametrize("point", list(POINTS), ids=list(POINTS))
def test_an_interrupted_change_is_completed_by_the_next_apply(
    point: str,
    cli: Cli,
    repo: Repo,
    emulator: EmulatorServer,
    pg_url: str,
    redis_url: str,
    redis_prefix: str,
) -> None:
    baseline(repo, cli)
    wanted = change(repo)
    before_runs = started_run_ids(pg_url)
    before = table_snapshot(pg_url)
    registry_before = redis_get(redis_url, f"{redis_prefix}skills:registry")
    uploads_before = emulator.stats.uploads
    spec = POINTS[point]
    killer = Killer(spec.cls, spec.method, spec.when)

    crash_apply(cli, killer)

    # the crash happened where intended: check the half-done state
    after = table_snapshot(pg_url)
    registry_after = redis_get(redis_url, f"{redis_prefix}skills:registry")
    if spec.cls is SkillsApiClient and spec.method != "delete_skill":
        assert emulator.stats.uploads > uploads_before
        assert after["skills"] == before["skills"]
    if point == "after-record-version":
        assert len(after["skill_versions"]) > len(before["skill_versions"])
        assert after["skills"] == before["skills"]
    if point == "before-db-commit":
        assert {k: v for k, v in after.items() if k != "skill_versions"} == {
            k: v for k, v in before.items() if k != "skill_versions"
        }
    if point in ("after-db-commit", "after-redis-write", "mid-prune-deletions"):
        assert after["skills"] != before["skills"]
    if point == "after-db-commit":
        assert registry_after == registry_before
    if point in ("after-redis-write", "mid-prune-deletions"):
        assert registry_after != registry_before
    if point == "mid-prune-deletions":
        assert sum(1 for n in EXTRA if n in {s.name for s in emulator.state.skills()}) == 1
    (crashed,) = started_run_ids(pg_url) - before_runs
    uploads_after_crash = emulator.stats.uploads
    recorded = len(after["skill_versions"]) - len(before["skill_versions"])

    converges(cli, emulator, pg_url, wanted)

    crashed_run_is_interrupted(pg_url, crashed)
    # every upload recorded in skill_versions is re-pinned by the next apply, never repeated
    needed = 3  # lease-review, nda-drafting, statute-lookup
    assert emulator.stats.uploads - uploads_after_crash <= needed - recorded


FIRST_POINTS = ("after-api-create", "after-record-version", "before-db-commit", "after-db-commit")


@pytest.mark.parametrize("point", FIRST_POINTS, ids=FIRST_POINTS)
def test_an_interrupted_first_apply_is_completed_by_the_next_apply(
    point: str, cli: Cli, emulator: EmulatorServer, pg_url: str
) -> None:
    spec = POINTS[point]
    killer = Killer(spec.cls, spec.method, spec.when)
    crash_apply(cli, killer)
    (crashed,) = [r["id"] for r in runs(pg_url)]
    if point != "after-db-commit":
        assert db_rows(pg_url, "SELECT name FROM skills") == []
    assert emulator.stats.uploads >= 1

    converges(cli, emulator, pg_url, set(BASE_SKILLS))
    crashed_run_is_interrupted(pg_url, crashed)


def test_a_run_killed_after_its_last_write_is_marked_interrupted_by_the_next_apply(
    cli: Cli, repo: Repo, emulator: EmulatorServer, pg_url: str
) -> None:
    """Killed after the Redis write of an apply with no deletions: everything is done,
    so the next apply has nothing to do; it must still close the dead run's record."""
    assert cli("apply").code == 0
    repo.write(skill_files("nda-drafting", body="A new clause checklist.", version="1.1.0"))
    repo.commit("one new version")
    before_runs = started_run_ids(pg_url)
    crash_apply(cli, Killer(Cache, "write", "after"))
    (crashed,) = started_run_ids(pg_url) - before_runs
    assert [r["status"] for r in runs(pg_url) if r["id"] == crashed] == ["db-committed"]

    result = cli("apply")
    assert result.code == 0 and "Nothing to do" in result.out, result.out + result.err
    crashed_run_is_interrupted(pg_url, crashed)
    no_unfinished_runs(pg_url)
    assert_consistent(emulator, pg_url, set(BASE_SKILLS))


def test_deletions_left_by_a_killed_prune_wait_for_prune_and_its_cap(
    cli: Cli, repo: Repo, emulator: EmulatorServer, pg_url: str
) -> None:
    baseline(repo, cli)
    wanted = change(repo)
    crash_apply(cli, Killer(Database, "commit_apply", "after"))
    assert {*EXTRA} <= set(api_names_of(emulator))

    kept = cli("apply")
    assert kept.code == 0, kept.err
    assert "--prune" in kept.out and all(n in kept.out for n in EXTRA)
    assert {*EXTRA} <= set(api_names_of(emulator))
    capped = cli("apply", "--prune", "--max-deletions", "1")
    assert capped.code == 1 and "cap of 1" in capped.err
    assert {*EXTRA} <= set(api_names_of(emulator))
    converges(cli, emulator, pg_url, wanted)


def api_names_of(server: EmulatorServer) -> list[str]:
    return [s.name for s in server.state.skills(source="custom")]
