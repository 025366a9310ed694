"""Apply round trips against the real PostgreSQL, Redis and the emulator over HTTP."""

from __future__ import annotations

import json

import psycopg
import redis
from live_support import API_KEY, Cli, Repo, skill_files

from syncbot.emulator.server import EmulatorServer


def api_skill_count(server: EmulatorServer) -> int:
    return len(server.state.skills(source="custom"))


def db_rows(pg_url: str, sql: str) -> list[tuple[object, ...]]:
    with psycopg.connect(pg_url) as conn:
        return conn.execute(sql).fetchall()


def test_apply_then_plan_is_empty_and_a_second_apply_does_nothing(
    cli: Cli, emulator: EmulatorServer, pg_url: str
) -> None:
    first = cli("apply")
    assert first.code == 0, first.err
    assert "status succeeded" in first.out
    assert emulator.stats.uploads == 3
    assert db_rows(pg_url, "SELECT COUNT(*) FROM skills") == [(3,)]
    again = cli("plan", "--detailed-exitcode")
    assert again.code == 0 and "No changes" in again.out
    second = cli("apply")
    assert second.code == 0 and "Nothing to do" in second.out
    assert emulator.stats.uploads == 3


def test_one_changed_skill_makes_exactly_one_upload(
    cli: Cli, repo: Repo, emulator: EmulatorServer
) -> None:
    assert cli("apply").code == 0
    repo.write(skill_files("nda-drafting", body="A new clause checklist.", version="1.1.0"))
    repo.commit("nda: new checklist")
    before = emulator.stats.uploads
    result = cli("apply")
    assert result.code == 0, result.err
    assert emulator.stats.uploads == before + 1
    assert api_skill_count(emulator) == 3
    assert cli("plan", "--detailed-exitcode").code == 0


def test_revert_repins_the_old_version_without_upload(
    cli: Cli, repo: Repo, emulator: EmulatorServer, pg_url: str
) -> None:
    assert cli("apply").code == 0
    [(old_version,)] = db_rows(pg_url, "SELECT version_id FROM skills WHERE name = 'nda-drafting'")
    repo.write(skill_files("nda-drafting", body="Changed.", version="1.1.0"))
    bad = repo.commit("bad change")
    assert cli("apply").code == 0
    repo.git.git.revert(bad, no_edit=True)
    uploads = emulator.stats.uploads
    result = cli("apply")
    assert result.code == 0, result.err
    assert "re-pin" in result.out
    assert emulator.stats.uploads == uploads
    assert db_rows(pg_url, "SELECT version_id FROM skills WHERE name = 'nda-drafting'") == [
        (old_version,)
    ]
    assert cli("plan", "--detailed-exitcode").code == 0


def test_drift_in_the_database_is_detected_and_repaired(cli: Cli, pg_url: str) -> None:
    assert cli("apply").code == 0
    with psycopg.connect(pg_url) as conn:
        conn.execute(
            "UPDATE skills SET description = 'edited by hand' WHERE name = 'contract-review'"
        )
        conn.execute("UPDATE skill_rollouts SET percentage = 1 WHERE skill_name = 'nda-drafting'")
    plan = cli("plan", "--detailed-exitcode")
    assert plan.code == 2
    assert "drift in live" in plan.out
    assert cli("apply").code == 0
    assert cli("plan", "--detailed-exitcode").code == 0


def test_drift_in_redis_is_detected_and_repaired(
    cli: Cli, redis_url: str, redis_prefix: str
) -> None:
    assert cli("apply").code == 0
    client = redis.Redis.from_url(redis_url)
    try:
        client.hset(f"{redis_prefix}skills:rollouts:staging", "contract-review", "0")
        plan = cli("plan", "--detailed-exitcode")
        assert plan.code == 2 and "drift in live" in plan.out
        assert cli("apply").code == 0
        assert client.hget(f"{redis_prefix}skills:rollouts:staging", "contract-review") == b"100"
        assert cli("plan", "--detailed-exitcode").code == 0
    finally:
        client.close()


def test_skill_deleted_by_hand_in_the_api_is_recreated(
    cli: Cli, emulator: EmulatorServer, pg_url: str
) -> None:
    assert cli("apply").code == 0
    [(skill_id,)] = db_rows(pg_url, "SELECT skill_id FROM skills WHERE name = 'statute-lookup'")
    emulator.state.delete_skill(str(skill_id))
    plan = cli("plan", "--detailed-exitcode")
    assert plan.code == 2 and "drift in live" in plan.out
    assert cli("apply").code == 0
    assert api_skill_count(emulator) == 3
    assert cli("plan", "--detailed-exitcode").code == 0


def test_stale_saved_plan_is_refused(cli: Cli, repo: Repo, pg_url: str, tmp_path: object) -> None:
    assert cli("apply").code == 0
    repo.write({"rollouts/staging.yaml": "contract-review: 50\nnda-drafting: 50\n"})
    repo.commit("rollout down")
    saved = repo.path / "plan.json"
    assert cli("plan", "--out", str(saved)).code == 0
    with psycopg.connect(pg_url) as conn:
        conn.execute(
            "UPDATE skill_rollouts SET percentage = 7 WHERE skill_name = 'contract-review'"
        )
    refused = cli("apply", "--plan", str(saved))
    assert refused.code == 1 and "stale" in refused.err
    fresh = repo.path / "fresh.json"
    assert cli("plan", "--out", str(fresh)).code == 0
    assert cli("apply", "--plan", str(fresh)).code == 0
    assert (
        db_rows(
            pg_url, "SELECT percentage FROM skill_rollouts WHERE skill_name = 'contract-review'"
        )[0][0]
        == 50
    )


def test_prune_deletes_only_with_the_flag_and_within_the_cap(
    cli: Cli, repo: Repo, emulator: EmulatorServer
) -> None:
    assert cli("apply").code == 0
    repo.remove("skills/statute-lookup")
    repo.commit("remove statute-lookup")
    kept = cli("apply")
    assert kept.code == 0 and "--prune" in kept.out
    assert api_skill_count(emulator) == 3
    pruned = cli("apply", "--prune")
    assert pruned.code == 0, pruned.err
    assert api_skill_count(emulator) == 2
    repo.remove("skills/nda-drafting")
    repo.remove("skills/contract-review")
    repo.write(
        {
            "registry/routes.yaml": "routes: []\n",
            "rollouts/staging.yaml": "{}\n",
            "rollouts/production.yaml": "{}\n",
        }
    )
    repo.commit("remove two")
    every = cli("apply", "--prune")  # every skill at once: refused even under the cap
    assert every.code == 1 and "plan deletes all 2 skills" in every.err
    refused = cli("apply", "--prune", "--max-deletions", "1", "--allow-delete-all")
    assert refused.code == 1 and "cap of 1" in refused.err
    assert api_skill_count(emulator) == 2


def test_no_output_contains_the_api_key_or_a_database_password(
    cli: Cli, live_env: dict[str, str], monkeypatch: object
) -> None:
    secret = "hunter2-database-password"
    url = live_env["DATABASE_URL"].replace("postgresql://", f"postgresql://root:{secret}@", 1)
    monkeypatch.setenv("DATABASE_URL", url)  # type: ignore[attr-defined]
    outputs = [
        cli("apply", "-v"),
        cli("plan", "--format", "json"),
        cli("status"),
        cli("doctor"),
        cli("history"),
    ]
    monkeypatch.setenv("DATABASE_URL", "postgresql://root:" + secret + "@127.0.0.1:1/none")  # type: ignore[attr-defined]
    outputs.append(cli("plan", "-v"))
    assert outputs[-1].code == 1
    for result in outputs:
        assert API_KEY not in result.out + result.err
        assert secret not in result.out + result.err


def test_cache_snapshot_holds_routes_and_a_revision(
    cli: Cli, redis_url: str, redis_prefix: str
) -> None:
    client = redis.Redis.from_url(redis_url)
    pubsub = client.pubsub()  # type: ignore[no-untyped-call]
    pubsub.subscribe(f"{redis_prefix}skills:changed")
    try:
        assert cli("apply").code == 0
        snapshot = json.loads(client.get(f"{redis_prefix}skills:registry") or b"{}")
        assert [r["skill"] for r in snapshot["routes"]] == ["contract-review", "nda-drafting"]
        assert snapshot["revision"] >= 1
        messages = [pubsub.get_message(timeout=1.0) for _ in range(3)]
        assert any(m and m["type"] == "message" for m in messages)
    finally:
        pubsub.close()
        client.close()


def test_saved_plan_from_uncommitted_changes_or_garbage_is_refused(cli: Cli, repo: Repo) -> None:
    repo.write({"rollouts/staging.yaml": "contract-review: 50\n"})
    saved = repo.path.parent / "dirty-plan.json"
    assert cli("plan", "--out", str(saved)).code == 0
    refused = cli("apply", "--plan", str(saved))
    assert refused.code == 1 and "uncommitted changes" in refused.err
    saved.write_text("{not json")
    garbage = cli("apply", "--plan", str(saved))
    assert garbage.code == 1 and "not a saved syncbot plan" in garbage.err
