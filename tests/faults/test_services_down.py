"""Redis or PostgreSQL unreachable, or PostgreSQL cut in the middle of the transaction."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from live_support import Cli

from syncbot.emulator.server import EmulatorServer
from syncbot.targets.postgres import Database, sql
from syncbot.targets.redis_cache import Cache

from .support import (
    BASE_SKILLS,
    Repo,
    TcpProxy,
    assert_clean_failure,
    assert_consistent,
    db_rows,
    no_unfinished_runs,
    proxied_url,
    redis_get,
    redis_keys,
    routes_yaml,
    runs,
    skill_files,
    table_snapshot,
    upstream_of,
)

ALL = set(BASE_SKILLS)
CLOSED_PORT = 1  # nothing listens on 127.0.0.1:1
DEGRADED = "the database is committed but the cache could not be updated (run degraded)"


def converged(cli: Cli, emulator: EmulatorServer, pg_url: str, wanted: set[str] = ALL) -> None:
    plan = cli("plan", "--detailed-exitcode")
    assert plan.code == 0, plan.out + plan.err
    assert_consistent(emulator, pg_url, wanted)
    no_unfinished_runs(pg_url)


def cache_matches_database(
    pg_url: str, redis_url: str, prefix: str, changed: set[str] = ALL
) -> None:
    """The registry snapshot, the rollouts hash, and the entries of the skills the
    degraded run changed and of critical skills agree with the committed rows."""
    registry = redis_get(redis_url, f"{prefix}skills:registry")
    routes = db_rows(pg_url, "SELECT skill, category FROM skill_routes ORDER BY skill")
    assert [(r["skill"], r["category"]) for r in registry["routes"]] == [
        (r["skill"], r["category"]) for r in routes
    ]
    assert registry["revision"] >= 1
    rollouts = db_rows(pg_url, "SELECT skill_name, percentage FROM skill_rollouts")
    hashed = redis_get(redis_url, f"{prefix}skills:rollouts:staging")
    assert {k: float(v) for k, v in hashed.items()} == {
        r["skill_name"]: float(r["percentage"]) for r in rollouts
    }
    query = "SELECT name, skill_id, version_id FROM skills WHERE critical OR name = ANY(%s)"
    for row in db_rows(pg_url, query, (sorted(changed),)):
        entry = redis_get(redis_url, f"{prefix}skill:cache:{row['skill_id']}")
        assert entry is not None and entry["version_id"] == row["version_id"], row


# --- Redis --------------------------------------------------------------------------------


def test_redis_down_on_the_first_apply_commits_the_database_and_degrades(
    cli: Cli,
    emulator: EmulatorServer,
    pg_url: str,
    redis_url: str,
    redis_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{CLOSED_PORT}/0")
    result = cli("apply")
    assert_clean_failure(result, DEGRADED)
    assert "status degraded" in result.out
    assert [r["status"] for r in runs(pg_url)] == ["degraded"]
    assert len(db_rows(pg_url, "SELECT name FROM skills")) == 3
    assert redis_keys(redis_url, redis_prefix) == []

    monkeypatch.setenv("REDIS_URL", redis_url)
    assert cli("plan", "--detailed-exitcode").code == 2  # the cache is behind
    repaired = cli("apply")
    assert repaired.code == 0, repaired.err
    cache_matches_database(pg_url, redis_url, redis_prefix)
    converged(cli, emulator, pg_url)


def test_redis_down_on_a_later_apply_leaves_stale_entries_the_next_apply_repairs(
    cli: Cli,
    repo: Repo,
    emulator: EmulatorServer,
    pg_url: str,
    redis_url: str,
    redis_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert cli("apply").code == 0
    for name in ("contract-review", "nda-drafting"):
        repo.write(skill_files(name, "Revised.", "1.1.0", critical=name == "contract-review"))
    repo.write({"rollouts/staging.yaml": "contract-review: 50\nnda-drafting: 100\n"})
    repo.commit("two new versions, rollouts")
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{CLOSED_PORT}/0")
    assert_clean_failure(cli("apply"), DEGRADED)
    monkeypatch.setenv("REDIS_URL", redis_url)
    (nda,) = db_rows(pg_url, "SELECT skill_id, version_id FROM skills WHERE name='nda-drafting'")
    stale = redis_get(redis_url, f"{redis_prefix}skill:cache:{nda['skill_id']}")
    assert stale["version_id"] != nda["version_id"]  # the cache is behind the database

    plan = cli("plan", "--detailed-exitcode")
    assert plan.code == 2 and "drift in live" in plan.out
    assert cli("apply").code == 0
    fresh = redis_get(redis_url, f"{redis_prefix}skill:cache:{nda['skill_id']}")
    assert fresh["version_id"] == nda["version_id"]
    cache_matches_database(pg_url, redis_url, redis_prefix, {"contract-review", "nda-drafting"})
    converged(cli, emulator, pg_url)


def test_redis_lost_between_the_read_and_the_write_degrades_the_run(
    cli: Cli,
    repo: Repo,
    emulator: EmulatorServer,
    pg_url: str,
    redis_url: str,
    redis_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with TcpProxy(upstream_of(redis_url, 6379)) as proxy:
        monkeypatch.setenv("REDIS_URL", proxied_url(redis_url, proxy.port))
        real_write = Cache.write

        def write_after_redis_died(self: Cache, *args: Any, **kwargs: Any) -> int:
            proxy.cut(refuse=True)
            return real_write(self, *args, **kwargs)

        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(Cache, "write", write_after_redis_died)
            result = cli("apply")
        assert_clean_failure(result, DEGRADED)
        (run,) = runs(pg_url)
        assert run["status"] == "degraded"
        assert any(e.get("op") == "cache" and e["outcome"] == "failed" for e in run["journal"])
        assert redis_keys(redis_url, redis_prefix) == []

        proxy.refuse = False
        assert cli("apply").code == 0
        cache_matches_database(pg_url, redis_url, redis_prefix)
        converged(cli, emulator, pg_url)


# --- PostgreSQL ---------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["apply", "plan"])
def test_postgres_down_changes_nothing_anywhere(
    command: str,
    cli: Cli,
    emulator: EmulatorServer,
    redis_url: str,
    redis_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"postgresql://root@127.0.0.1:{CLOSED_PORT}/test")
    result = cli(command)
    assert_clean_failure(result, "database")
    assert emulator.stats.uploads == 0
    assert emulator.stats.count("POST", "/v1/skills") == 0
    assert redis_keys(redis_url, redis_prefix) == []


def change(repo: Repo) -> set[str]:
    repo.write(skill_files("nda-drafting", body="A new clause checklist.", version="1.1.0"))
    repo.write(skill_files("statute-lookup", body="Search the 2024 code first.", version="1.1.0"))
    repo.write(skill_files("lease-review"))
    wanted = {*BASE_SKILLS, "lease-review"}
    repo.write(
        {
            "registry/routes.yaml": routes_yaml(sorted(wanted)),
            "rollouts/staging.yaml": "contract-review: 25\nlease-review: 10\n",
        }
    )
    repo.commit("a change with every kind of row")
    return wanted


CUTS = {
    # the connection dies after the first write statement of the transaction
    "after-the-first-statement": (sql.UPSERT_SKILLS, False),
    # after the last statement, before COMMIT reaches the server
    "right-before-commit": (sql.MARK_DB_COMMITTED, False),
    # the same, and the server stays unreachable (the run cannot even be closed)
    "before-commit-and-server-gone": (sql.MARK_DB_COMMITTED, True),
}


@pytest.mark.parametrize("cut", list(CUTS), ids=list(CUTS))
def test_a_connection_cut_inside_the_transaction_rolls_it_back_entirely(
    cut: str,
    cli: Cli,
    repo: Repo,
    emulator: EmulatorServer,
    pg_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    after_statement, refuse = CUTS[cut]
    with TcpProxy(upstream_of(pg_url, 5432)) as proxy:
        monkeypatch.setenv("DATABASE_URL", proxied_url(pg_url, proxy.port))
        assert cli("apply").code == 0
        wanted = change(repo)
        before: dict[str, Any] = {}
        cuts: list[str] = []
        real_commit: Callable[..., None] = Database.commit_apply
        real_exec = Database._exec

        def commit_apply(self: Database, *args: Any, **kwargs: Any) -> None:
            before.update(table_snapshot(pg_url))  # a direct connection, not the proxy
            real_commit(self, *args, **kwargs)

        def exec_then_cut(self: Database, query: Any, *args: Any, **kwargs: Any) -> Any:
            cursor = real_exec(self, query, *args, **kwargs)
            if query is after_statement:
                cuts.append(cut)
                proxy.cut(refuse=refuse)
            return cursor

        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(Database, "commit_apply", commit_apply)
            mp.setattr(Database, "_exec", exec_then_cut)
            result = cli("apply")
        assert cuts == [cut]
        # the reason the apply failed, even when the run cannot be recorded as failed
        assert_clean_failure(result, "database: the apply transaction was rolled back")
        assert before and table_snapshot(pg_url) == before  # nothing half-applied
        (last,) = runs(pg_url)[-1:]
        assert last["status"] in ("failed", "running")  # "running": it could not be closed
        uploads = emulator.stats.uploads
        assert uploads == 6  # three creates, then two new versions and one create

        proxy.refuse = False
        again = cli("apply")
        assert again.code == 0, again.err
        assert emulator.stats.uploads == uploads  # re-pinned from skill_versions
        assert "re-pin" in again.out
        assert [r["status"] for r in runs(pg_url) if r["id"] == last["id"]] in (
            ["failed"],
            ["interrupted"],
        )
        converged(cli, emulator, pg_url, wanted)
