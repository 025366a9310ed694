"""The other commands and modes against the real services: first plan, dry-run, legacy
dialect, the API switched off, status, doctor and history."""

from __future__ import annotations

import json

import psycopg
import pytest
import redis
from live_support import Cli, Repo, skill_files

from syncbot.emulator.server import EmulatorServer


def count(pg_url: str, table: str) -> int:
    with psycopg.connect(pg_url) as conn:
        row = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0


def test_first_plan_on_a_database_never_migrated_shows_everything(cli: Cli) -> None:
    result = cli("plan", "--detailed-exitcode")
    assert result.code == 2, result.err
    assert "no syncbot tables yet" in result.out
    assert "+ api   create skill contract-review" in result.out


def test_dry_run_goes_through_apply_and_writes_nothing(
    cli: Cli, emulator: EmulatorServer, pg_url: str, redis_url: str, redis_prefix: str
) -> None:
    assert cli("db", "migrate").code == 0
    result = cli("apply", "--dry-run")
    assert result.code == 0, result.err
    assert "Would apply" in result.out
    assert emulator.stats.uploads == 0
    assert count(pg_url, "skills") == 0 and count(pg_url, "sync_runs") == 0
    client = redis.Redis.from_url(redis_url)
    try:
        assert not list(client.scan_iter(match=f"{redis_prefix}*"))
    finally:
        client.close()


def test_dirty_work_tree_is_recorded_as_dirty(cli: Cli, repo: Repo, pg_url: str) -> None:
    repo.write({"rollouts/staging.yaml": "contract-review: 50\n"})
    result = cli("apply")
    assert result.code == 0, result.err
    with psycopg.connect(pg_url) as conn:
        row = conn.execute("SELECT commit FROM sync_runs ORDER BY id DESC LIMIT 1").fetchone()
    assert row is not None and str(row[0]).endswith("-dirty")


def test_legacy_dialect_round_trip(
    cli: Cli, emulator: EmulatorServer, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_SKILLS_BETA_VERSION", "skills-2025-10-02")
    assert cli("apply").code == 0
    with psycopg.connect(pg_url) as conn:
        versions = [r[0] for r in conn.execute("SELECT version_id FROM skills").fetchall()]
    assert versions and all(v.isdigit() for v in versions)  # epoch-timestamp addresses
    assert cli("plan", "--detailed-exitcode").code == 0
    assert emulator.stats.uploads == 3


def test_api_disabled_skips_uploads_with_a_notice(
    cli: Cli, repo: Repo, emulator: EmulatorServer, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("apply").code == 0
    monkeypatch.setenv("ANTHROPIC_SKILLS_ENABLED", "false")
    repo.write(skill_files("nda-drafting", body="New text.", version="1.1.0"))
    repo.write({"rollouts/staging.yaml": "contract-review: 100\nnda-drafting: 25\n"})
    repo.commit("change content and rollout")
    result = cli("apply")
    assert result.code == 0, result.err
    assert "Skills API is skipped" in result.err
    assert emulator.stats.uploads == 3
    assert "db    update rollout nda-drafting" in result.out
    assert "content change not deployed" in result.out
    with psycopg.connect(pg_url) as conn:
        row = conn.execute("SELECT version FROM skills WHERE name = 'nda-drafting'").fetchone()
    assert row == ("1.0.0",)  # the row still describes the content it really pins


def test_status_doctor_and_history_report_on_a_live_environment(cli: Cli) -> None:
    assert cli("apply").code == 0
    status = cli("status", "--format", "json")
    assert status.code == 0, status.err
    doc = json.loads(status.out)
    assert doc["healthy"] and doc["active_skills"] == 3 and doc["cache"]["entries"] >= 1
    assert doc["last_run"]["status"] == "succeeded"
    doctor = cli("doctor")
    assert doctor.code == 0 and "FAIL" not in doctor.out
    history = cli("history")
    assert history.code == 0 and "succeeded" in history.out


def test_doctor_names_the_failing_connection_and_its_fix(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    result = cli("doctor")
    assert result.code == 1
    assert "FAIL Redis" in result.out and "fix:" in result.out
