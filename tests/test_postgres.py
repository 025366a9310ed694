"""syncbot.targets.postgres against the real PostgreSQL, one fresh schema per test."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace

import psycopg
import pytest

from syncbot.desired import Pattern
from syncbot.errors import LockTimeoutError, PolicyError, TargetError
from syncbot.live import RolloutRow, RouteRow, SkillRow, VersionRow
from syncbot.targets.postgres import Database, DbWrites, connection

ALL_MIGRATIONS = [name for name, _ in connection.migrations()]

ENV = "staging"


def sha(n: int | str) -> str:
    return hashlib.sha256(str(n).encode()).hexdigest()


def skill(name: str, version_id: str = "v1", **changes: object) -> SkillRow:
    row = SkillRow(
        name=name,
        skill_id=f"skill_{name}",
        version_id=version_id,
        display_name=name.title(),
        description=f"The {name} skill",
        type="prompt",
        category="analysis",
        version="1.0.0",
        config={"max_tokens": 8000, "temperature": 0.3},
        content_sha256=sha(f"{name}:{version_id}"),
        critical=False,
    )
    return replace(row, **changes)  # type: ignore[arg-type]


def version(row: SkillRow) -> VersionRow:
    return VersionRow(row.name, row.skill_id, row.version_id, row.content_sha256)


def route(skill_name: str, priority: int = 1) -> RouteRow:
    patterns = (Pattern(f"{skill_name}.*review"), Pattern("contract", 0.6))
    return RouteRow(skill_name, "legal", priority, 0.7, patterns)


def writes(names: list[str], commit: str = "c1", bp: int = 500) -> DbWrites:
    skills = [skill(n) for n in names]
    return DbWrites(
        commit=commit,
        upsert_skills=skills,
        versions=[version(s) for s in skills],
        upsert_routes=[route(n) for n in names],
        upsert_rollouts=[RolloutRow(n, bp, n) for n in names],
    )


@pytest.fixture
def db(pg_url: str) -> Iterator[Database]:
    with Database(pg_url) as database:
        database.migrate()
        yield database


def apply(db: Database, w: DbWrites, environment: str = ENV) -> int:
    run_id = db.start_run(environment, w.commit, "tester", {"changes": []}, dry_run=False)
    db.commit_apply(run_id, environment, w)
    db.finish_run(run_id, "succeeded")
    return run_id


def sql_rows(url: str, query: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query.encode()).fetchall()


# --- migrations ----------------------------------------------------------------------


def test_migrate_twice_is_a_noop(pg_url: str) -> None:
    with Database(pg_url) as db:
        assert db.migrate() == ALL_MIGRATIONS
        assert db.migrate() == []
        db.ensure_migrated()
    rows = sql_rows(pg_url, "SELECT name FROM syncbot_migrations ORDER BY name")
    assert rows == [(name,) for name in ALL_MIGRATIONS]


def test_concurrent_migrations_apply_each_file_once(pg_url: str) -> None:
    results: list[list[str]] = []

    def run() -> None:
        with Database(pg_url) as db:
            results.append(db.migrate())

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # each file is applied exactly once, by whichever thread got to it first
    assert sorted(name for applied in results for name in applied) == ALL_MIGRATIONS
    assert len(results) == 4


def test_unmigrated_database_says_to_run_migrate(pg_url: str) -> None:
    with Database(pg_url) as db:
        assert db.pending_migrations() == ALL_MIGRATIONS
        with pytest.raises(TargetError, match="run `syncbot db migrate`"):
            db.ensure_migrated()
        with pytest.raises(TargetError, match="syncbot db migrate"):
            db.read_state(ENV)


def test_an_edited_migration_is_refused(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    edited = tuple((name, text + "\n-- edited") for name, text in connection.migrations())
    monkeypatch.setattr(connection, "migrations", lambda: edited)
    with pytest.raises(TargetError, match="edited after it was applied"):
        db.migrate()


# --- reads and the apply transaction -------------------------------------------------


def test_read_state_of_an_empty_database(db: Database) -> None:
    state = db.read_state(ENV)
    assert state.environment is None
    assert (state.skills, state.versions, state.routes, state.rollouts) == ({}, (), {}, {})
    assert db.recorded_environment() is None


def test_read_state_returns_what_commit_apply_wrote(db: Database) -> None:
    w = writes(["contract-review", "nda-drafting"], commit="abc123")
    w = replace(w, upsert_rollouts=[RolloutRow("contract-review", 1250, "salt-1")])
    apply(db, w)
    state = db.read_state(ENV)
    assert state.environment == ENV == db.recorded_environment()
    for row in w.upsert_skills:
        got = state.skills[row.name]
        assert replace(got, updated_at=None, commit=None) == row
        assert got.commit == "abc123" and got.updated_at is not None
    assert state.routes == {r.key: r for r in w.upsert_routes}
    rollout = state.rollouts["contract-review"]
    assert (rollout.basis_points, rollout.salt, rollout.commit) == (1250, "salt-1", "abc123")
    assert {(v.skill_id, v.version_id) for v in state.versions} == {
        (v.skill_id, v.version_id) for v in w.versions
    }
    assert state.written == {}
    assert sql_rows(db_url(db), "SELECT percentage::text FROM skill_rollouts") == [("12.50",)]


def db_url(db: Database) -> str:
    return db._url


def test_rollouts_are_read_for_the_requested_environment_only(db: Database) -> None:
    apply(db, writes(["a"], bp=2500))
    assert db.read_state("production").rollouts == {}
    assert db.read_state(ENV).rollouts["a"].basis_points == 2500


def test_read_state_and_commit_cost_a_constant_number_of_round_trips(db: Database) -> None:
    def measure(fn: Callable[[], object]) -> int:
        before = db.stats.round_trips
        fn()
        return db.stats.round_trips - before

    small = [f"skill-{i:04d}" for i in range(10)]
    large = [f"skill-{i:04d}" for i in range(10, 1000)]
    run_id = db.start_run(ENV, "c1", "tester", {}, dry_run=False)
    commit_small = measure(lambda: db.commit_apply(run_id, ENV, writes(small)))
    read_small = measure(lambda: db.read_state(ENV))
    started = time.perf_counter()
    commit_large = measure(lambda: db.commit_apply(run_id, ENV, writes(large)))
    elapsed = time.perf_counter() - started
    read_large = measure(lambda: db.read_state(ENV))
    assert len(db.read_state(ENV).skills) == 1000
    assert read_small == read_large == 1
    assert commit_small == commit_large <= 12
    assert elapsed < 5, f"990 skills took {elapsed:.2f} s to commit"
    print(f"round trips: read {read_large}, commit {commit_large}; 990 skills in {elapsed:.3f} s")


def test_unchanged_rows_keep_their_timestamp_and_commit(db: Database) -> None:
    apply(db, writes(["a", "b"], commit="first"))
    before = db.read_state(ENV)
    changed = replace(writes(["a", "b"], commit="second"), versions=())
    changed = replace(changed, upsert_skills=[skill("a"), skill("b", description="new text")])
    apply(db, changed)
    after = db.read_state(ENV)
    assert after.skills["a"] == before.skills["a"]
    assert after.skills["b"].commit == "second"
    assert after.skills["b"].updated_at != before.skills["b"].updated_at
    assert after.routes == before.routes
    assert after.rollouts == before.rollouts


def test_rollout_history_keeps_every_change(db: Database) -> None:
    apply(db, writes(["a"], bp=500))
    apply(db, writes(["a"], bp=500))  # no change: no history row
    run_id = apply(db, writes(["a"], bp=2500, commit="c2"))
    apply(db, DbWrites(commit="c3", delete_rollouts=["a"]))
    rows = sql_rows(
        db_url(db),
        "SELECT percentage_before::text, percentage_after::text, commit, run_id"
        " FROM skill_rollout_history ORDER BY id",
    )
    assert [r[:3] for r in rows] == [
        (None, "5.00", "c1"),
        ("5.00", "25.00", "c2"),
        ("25.00", None, "c3"),
    ]
    assert rows[1][3] == run_id
    assert db.read_state(ENV).rollouts == {}


def test_deletions(db: Database) -> None:
    apply(db, writes(["a", "b"]))
    apply(db, DbWrites(commit="c2", delete_routes=["a:legal"], delete_skills=["a"]))
    state = db.read_state(ENV)
    assert set(state.skills) == {"b"} and set(state.routes) == {"b:legal"}
    assert len(state.versions) == 2  # versions outlive their skill: rollback can re-pin
    assert db.counts(ENV) == {"skills": 1, "routes": 1, "rollouts": 2, "versions": 2}


def test_commit_apply_is_all_or_nothing(db: Database) -> None:
    apply(db, writes(["a"]))
    before = db.read_state(ENV)
    run_id = db.start_run(ENV, "c2", "tester", {}, dry_run=False)
    # the skills statement succeeds, the rollouts one violates CHECK (percentage <= 100)
    bad = replace(writes(["a", "b"], commit="c2"), upsert_rollouts=[RolloutRow("b", 20000, "b")])
    with pytest.raises(TargetError, match=r"^database: .*rolled back.*check constraint"):
        db.commit_apply(run_id, ENV, bad)
    assert db.read_state(ENV) == before
    assert db.history(ENV, 1)[0].status == "running"
    assert db.history(ENV, 1)[0].journal == ()


def test_a_route_to_a_missing_skill_rolls_back_at_commit(db: Database) -> None:
    run_id = db.start_run(ENV, "c1", "tester", {}, dry_run=False)
    w = DbWrites(commit="c1", upsert_skills=[skill("a")], upsert_routes=[route("ghost")])
    with pytest.raises(TargetError, match="foreign key"):
        db.commit_apply(run_id, ENV, w)
    assert db.read_state(ENV).skills == {}
    assert db.recorded_environment() is None


def test_another_environment_is_refused(db: Database) -> None:
    apply(db, writes(["a"]))
    run_id = db.start_run("production", "c2", "tester", {}, dry_run=False)
    with pytest.raises(PolicyError, match="serves the 'staging' environment"):
        db.commit_apply(run_id, "production", writes(["b"]))
    assert set(db.read_state(ENV).skills) == {"a"}
    assert db.recorded_environment() == ENV


def test_commit_apply_needs_an_existing_run(db: Database) -> None:
    with pytest.raises(TargetError, match="no run 999"):
        db.commit_apply(999, ENV, writes(["a"]))
    assert db.read_state(ENV).skills == {}


def test_record_version_is_idempotent_and_survives_a_failed_apply(db: Database) -> None:
    row = version(skill("a", "v7"))
    db.record_version(row)
    db.record_version(row)
    run_id = db.start_run(ENV, "c1", "tester", {}, dry_run=False)
    with pytest.raises(TargetError):
        db.commit_apply(
            run_id, ENV, replace(writes(["a"]), upsert_rollouts=[RolloutRow("a", -1, "a")])
        )
    versions = db.read_state(ENV).versions
    assert [(v.skill_id, v.version_id) for v in versions] == [("skill_a", "v7")]
    assert versions[0].uploaded_at is not None


def test_hand_edits_are_reported_as_written_fingerprints(db: Database) -> None:
    apply(db, writes(["a", "b"]))
    with psycopg.connect(db_url(db)) as conn:
        conn.execute("UPDATE skills SET description = 'by hand' WHERE name = 'a'")
        conn.execute("UPDATE skill_rollouts SET percentage = 0 WHERE skill_name = 'b'")
        conn.execute("UPDATE skill_routes SET priority = 9 WHERE key = 'b:legal'")
    written = db.read_state(ENV).written
    assert set(written) == {"db:skill:a", "db:rollout:b", "db:route:b:legal"}
    apply(db, writes(["a", "b"], commit="c2"))  # the bot writes them back
    assert db.read_state(ENV).written == {}


# --- the run record ------------------------------------------------------------------


def test_start_run_marks_leftover_runs_interrupted(db: Database) -> None:
    killed = db.start_run(ENV, "c1", "alice", {}, dry_run=False)
    other_env = db.start_run("production", "c1", "alice", {}, dry_run=False)
    current = db.start_run(ENV, "c2", "bob", {"changes": [1]}, dry_run=True)
    runs = {r.id: r for r in db.history(ENV, 10)}
    assert runs[killed].status == "interrupted"
    assert runs[killed].error is not None
    assert runs[current].status == "running" and runs[current].dry_run
    assert db.history("production", 10)[0].id == other_env
    assert db.history("production", 10)[0].status == "running"


def test_journal_appends_entries_with_a_timestamp(db: Database) -> None:
    run_id = db.start_run(ENV, "c1", "alice", {}, dry_run=False)
    db.journal(run_id, {"op": "upload", "skill": "a", "outcome": "ok"})
    db.journal(run_id, {"op": "upload", "skill": "b", "outcome": "failed"})
    db.commit_apply(run_id, ENV, writes(["a"]))
    journal = db.history(ENV, 1)[0].journal
    assert [e["op"] for e in journal] == ["upload", "upload", "db-commit"]
    assert [e.get("skill") for e in journal] == ["a", "b", None]
    assert all(str(e["at"]).endswith("Z") for e in journal)
    assert journal[2]["changes"]["skills_upserted"] == 1
    with pytest.raises(TargetError, match="no run 4242"):
        db.journal(4242, {"op": "x"})


def test_history_is_newest_first_and_limited(db: Database) -> None:
    first = db.start_run(ENV, "c1", "alice", {}, dry_run=False)
    db.finish_run(first, "failed", error="boom postgresql://u:hunter22@db/x")
    second = db.start_run(ENV, "c2", "bob", {}, dry_run=False)
    db.finish_run(second, "succeeded", summary={"changes": 3})
    third = db.start_run(ENV, "c3", "carol", {}, dry_run=False)
    db.finish_run(third, "noop")
    db.start_run("production", "c4", "dave", {}, dry_run=False)
    runs = db.history(ENV, 2)
    assert [r.id for r in runs] == [third, second]
    assert runs[1].summary == {"changes": 3} and runs[1].finished_at is not None
    assert runs[1].journal_length == 0
    failed = db.history(ENV, 10)[-1]
    assert failed.status == "failed" and failed.error is not None
    assert "hunter22" not in failed.error
    with pytest.raises(ValueError):
        db.finish_run(third, "running")


# --- the apply lock ------------------------------------------------------------------


def test_second_apply_lock_times_out_naming_the_run(pg_url: str) -> None:
    with Database(pg_url) as first, Database(pg_url) as second:
        first.migrate()
        with first.apply_lock(ENV, 1):
            run_id = first.start_run(ENV, "abc1234def5678", "alice", {}, dry_run=False)
            started = time.monotonic()
            with pytest.raises(LockTimeoutError) as caught, second.apply_lock(ENV, 0.3):
                pass
            waited = time.monotonic() - started
        message = caught.value.message
        assert message.startswith(f"another apply holds the lock for {ENV}: run {run_id} ")
        assert "(commit abc1234, actor alice, started 20" in message
        assert 0.25 < waited < 3
        with second.apply_lock(ENV, 0.3):  # released: free again
            pass


def test_lock_holder_without_a_run_is_named_by_its_session(db: Database) -> None:
    expected = f"session 'syncbot apply {ENV}' \\(pid \\d+, connected 20"
    with (
        Database(db_url(db)) as other,
        db.apply_lock(ENV, 1),
        pytest.raises(LockTimeoutError, match=expected),
        other.apply_lock(ENV, 0),
    ):
        pass


def test_locks_are_per_environment_and_per_schema(
    db: Database, make_pg_url: Callable[[], str]
) -> None:
    other_url = make_pg_url()
    with (
        Database(db_url(db)) as same_schema,
        Database(other_url) as other_schema,
        Database(other_url) as contender,
        db.apply_lock(ENV, 1),
        same_schema.apply_lock("production", 0.5),
        other_schema.apply_lock(ENV, 0.5),
    ):
        # Each of the three is really held: the same (schema, environment) is refused.
        for database, environment in [(same_schema, ENV), (db, "production"), (contender, ENV)]:
            with pytest.raises(LockTimeoutError), database.apply_lock(environment, 0):
                pytest.fail(f"took a held lock: {environment}")


def test_a_waiting_apply_gets_the_lock_when_it_is_released(db: Database) -> None:
    held, release = threading.Event(), threading.Event()

    def holder() -> None:
        with Database(db_url(db)) as other, other.apply_lock(ENV, 1):
            held.set()
            release.wait(5)

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert held.wait(5)
        threading.Timer(0.3, release.set).start()
        with db.apply_lock(ENV, 5):
            assert release.is_set()
    finally:
        release.set()
        thread.join()


# --- failures ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://root:s3cr3t-pw@127.0.0.1:1/test",
        "postgresql://root:s3cr3t%2Dpw@127.0.0.1:1/test?connect_timeout=2",
        "host=127.0.0.1 port=1 user=root password=s3cr3t-pw dbname=test",
        "postgresql://root:s3cr3t-pw@127.0.0.1:5432/test?sslmode=bogus",
    ],
)
def test_an_unreachable_database_fails_fast_without_the_password(url: str) -> None:
    started = time.monotonic()
    with Database(url) as db, pytest.raises(TargetError) as caught:
        db.ping()
    assert time.monotonic() - started < 6
    message = str(caught.value)
    assert message.startswith("database: cannot connect to ")
    assert "s3cr3t" not in message
    assert "\n" not in message


def test_a_lost_connection_fails_once_then_reconnects(db: Database) -> None:
    db.ping()
    pid = db._connection.info.backend_pid
    with psycopg.connect(db_url(db), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    with pytest.raises(TargetError, match=r"^database: ping failed"):
        db.ping()
    db.ping()


def test_a_run_recorded_finished_leaves_running_runs_alone(db: Database) -> None:
    running = db.start_run(ENV, "c1", "alice", {}, dry_run=False)
    plan = {"environment": ENV, "changes": [{"key": "a"}, {"key": "b"}]}
    refused = db.record_run(
        ENV, "c2", "bob", "refused", error="apply refused by policy (1 changes): …", plan=plan
    )
    listed = {r.id: r for r in db.list_runs(ENV, 10)}
    assert listed[running].status == "running"  # no lock was held: not marked interrupted
    assert (listed[refused].status, listed[refused].actor) == ("refused", "bob")
    assert listed[refused].changes == 2 and listed[refused].finished_at is not None
    assert listed[refused].plan is None and listed[refused].journal == ()  # listing is light
    shown = db.run(refused)
    assert shown is not None and shown.plan == plan and shown.error is not None
    assert db.run(refused + 100) is None
    with pytest.raises(ValueError, match="not a final run status"):
        db.record_run(ENV, "c3", "bob", "running")


def test_the_live_rollout_of_one_skill(db: Database) -> None:
    apply(db, writes(["a"], bp=1250))
    row = db.rollout(ENV, "a")
    assert row is not None and (row.basis_points, row.salt) == (1250, "a")
    assert db.rollout("production", "a") is None and db.rollout(ENV, "zzz") is None
