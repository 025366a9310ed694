"""Every apply leaves a run record, whatever its end, and `history` / `history show` read
them back; who ran it; `rollout bucket --live` answers from the database."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Any

import psycopg
import pytest
from live_support import Cli, Repo

from syncbot import ops
from syncbot.bucketing import bucket
from syncbot.emulator.server import EmulatorServer
from syncbot.targets.redis_cache import Cache

PROD = ("--env", "production")


def runs_json(cli: Cli, *args: str) -> list[dict[str, Any]]:
    result = cli("history", "--format", "json", *args)
    assert result.code == 0, result.err
    runs: list[dict[str, Any]] = json.loads(result.out)
    return runs


def last_run(cli: Cli, *args: str) -> dict[str, Any]:
    return runs_json(cli, *args)[0]


def show(cli: Cli, run_id: int, *args: str) -> str:
    result = cli("history", "show", str(run_id), *args)
    assert result.code == 0, result.err
    return result.out


def converges(cli: Cli, *args: str) -> None:
    applied = cli("apply", *args)
    assert applied.code == 0, applied.err
    planned = cli("plan", "--detailed-exitcode", *args)
    assert planned.code == 0, planned.out + planned.err


@pytest.fixture(autouse=True)
def _no_ci_actor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_ACTOR", raising=False)


# --- refused runs ---------------------------------------------------------------------


def test_an_apply_refused_by_policy_is_listed_with_its_reason_and_plan(
    cli: Cli, repo: Repo
) -> None:
    converges(cli, *PROD)
    repo.write({"rollouts/production.yaml": "contract-review: 50\n"})  # skips 25
    repo.commit("too fast")
    refused = cli("apply", *PROD)
    assert refused.code == 1
    run = last_run(cli, *PROD)
    assert run["status"] == "refused", run
    assert "refused by policy" in run["reason"] and "contract-review" in run["reason"]
    assert run["changes"] >= 1 and run["summary"]["blocked"] == 1
    text = cli("history", *PROD)
    assert text.code == 0
    first = text.out.splitlines()[0]
    assert first.startswith(f"#{run['id']} ") and "refused" in first and "policy" in first
    shown = show(cli, run["id"], *PROD)
    assert f"Run {run['id']} (production): refused" in shown
    assert "update rollout contract-review" in shown and "! blocked:" in shown
    assert "Journal: empty (nothing was written)." in shown


def test_an_apply_refused_for_invalid_configuration_is_listed(cli: Cli, repo: Repo) -> None:
    converges(cli)
    repo.write({"skills/nda-drafting/skill.yaml": "display_name: NDA\ntype: nonsense\n"})
    repo.commit("broken")
    result = cli("apply")
    assert result.code == 1 and "invalid configuration" in result.err
    run = last_run(cli)
    assert run["status"] == "refused" and run["commit"] == repo.git.head.commit.hexsha
    assert run["reason"].startswith("invalid configuration: "), run
    shown = show(cli, run["id"])
    assert "No plan stored" in shown and "Journal: empty" in shown


# --- failed runs ----------------------------------------------------------------------


def test_an_api_outage_is_listed_as_failed(cli: Cli, emulator: EmulatorServer) -> None:
    emulator.faults.set(error_rate=1.0, error_statuses=(503,))
    assert cli("apply").code == 1
    run = last_run(cli)
    assert run["status"] == "failed" and "503" in run["reason"], run
    emulator.faults.clear()
    converges(cli)
    assert [r["status"] for r in runs_json(cli)] == ["succeeded", "failed"]


def test_a_failed_upload_shows_in_the_journal(cli: Cli, emulator: EmulatorServer) -> None:
    # request 1 lists the skills; request 2 is whichever of the three concurrent creates
    # arrives first (a later number may be the version read of a create that finished
    # already): it is refused, and not retried
    emulator.faults.set(fail_nth={2: 400})
    result = cli("apply")
    assert result.code == 1 and "uploads failed" in result.err
    run = last_run(cli)
    assert run["status"] == "failed" and "1 of 3 uploads failed" in run["reason"]
    shown = show(cli, run["id"])
    assert "+ api   create skill contract-review" in shown  # the plan, as `plan` prints it
    journal = shown[shown.index("Journal (") :]
    assert journal.count(" started ") == 3 and journal.count(" ok ") == 2
    assert journal.count(" failed ") == 1 and "error: skills-api: HTTP 400" in journal
    emulator.faults.clear()
    converges(cli)


def test_a_failed_database_transaction_is_recorded_after_its_rollback(
    cli: Cli, repo: Repo, pg_url: str
) -> None:
    converges(cli)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(
            "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS"
            " $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$"
        )
        conn.execute(
            "CREATE TRIGGER boom BEFORE INSERT OR UPDATE ON skill_rollouts"
            " FOR EACH ROW EXECUTE FUNCTION boom()"
        )
    before = repo.git.head.commit.hexsha
    repo.write({"rollouts/staging.yaml": "contract-review: 100\nnda-drafting: 25\n"})
    repo.commit("lower")
    assert cli("apply").code == 1
    run = last_run(cli)
    assert run["status"] == "failed", run
    assert "rolled back" in run["reason"] and "injected failure" in run["reason"]
    shown = cli("history", "show", str(run["id"]), "--format", "json")
    journal = json.loads(shown.out)["journal"]
    assert journal[-1]["op"] == "db-commit" and journal[-1]["outcome"] == "failed"
    with psycopg.connect(pg_url) as conn:
        query = "SELECT percentage FROM skill_rollouts WHERE skill_name = 'nda-drafting'"
        assert conn.execute(query).fetchone() == (50,)  # rolled back
        conn.execute("DROP TRIGGER boom ON skill_rollouts")
    # nothing of the failed run reached live: the commit applied before still matches
    planned = cli("plan", "--detailed-exitcode", "--ref", before)
    assert planned.code == 0, planned.out
    converges(cli)


def test_degraded_and_interrupted_runs_say_why(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, repo: Repo
) -> None:
    def stop(*_args: object, **_kwargs: object) -> int:
        raise KeyboardInterrupt

    with monkeypatch.context() as patched:
        patched.setattr(Cache, "write", stop)
        assert cli("apply").code == 130
    run = last_run(cli)
    assert run["status"] == "interrupted" and "interrupted" in run["reason"], run
    assert run["finished_at"] is not None
    repo.write({"rollouts/staging.yaml": "contract-review: 100\nnda-drafting: 25\n"})
    repo.commit("lower")
    with monkeypatch.context() as patched:
        patched.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
        assert cli("apply").code == 1
    run = last_run(cli)
    assert run["status"] == "degraded" and "cache not updated" in run["reason"], run
    converges(cli)  # the next apply repairs the cache


def test_nothing_to_do_is_recorded_and_dry_runs_are_not(cli: Cli) -> None:
    converges(cli)
    again = cli("apply")
    assert again.code == 0 and "Nothing to do." in again.out
    assert cli("apply", "--dry-run").code == 0
    statuses = [r["status"] for r in runs_json(cli)]
    assert statuses == ["noop", "succeeded"]  # the plan's check after apply records nothing


# --- the commands ---------------------------------------------------------------------


def test_history_show_of_a_successful_run_and_bad_run_ids(cli: Cli) -> None:
    converges(cli)
    run = last_run(cli, "--limit", "1")
    shown = show(cli, run["id"])
    assert shown.startswith(f"Run {run['id']} (staging): succeeded")
    assert "Plan for staging at" in shown and "db-commit" in shown and "cache" in shown
    doc = json.loads(cli("history", "show", f"#{run['id']}", "--format", "json").out)
    assert doc["run"]["id"] == run["id"] and doc["plan"]["environment"] == "staging"
    assert {e["outcome"] for e in doc["journal"]} == {"started", "ok"}
    for args in (("999",), ("abc",), (str(run["id"]), "--env", "production")):
        result = cli("history", "show", *args)
        assert result.code == 1 and result.out == "", result
        assert len(result.err.strip().splitlines()) == 1, result.err
    assert cli("history", "--env", "production", "--limit", "5").out.strip() == "no runs yet"


def test_the_actor_is_github_actor_then_git_user_name(
    cli: Cli, repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_ACTOR", "octocat")
    converges(cli)
    assert last_run(cli)["actor"] == "octocat"
    monkeypatch.delenv("GITHUB_ACTOR")
    with repo.git.config_writer() as cfg:
        cfg.set_value("user", "name", "Ada Lovelace").release()
    assert cli("apply").code == 0
    run = last_run(cli)
    assert (run["status"], run["actor"]) == ("noop", "Ada Lovelace")
    assert "Ada Lovelace" in cli("history", "--limit", "1").out
    monkeypatch.setenv("GITHUB_ACTOR", "mallory\x1b[2J\u202e")
    assert cli("apply").code == 0
    listed = cli("history", "--limit", "1").out
    assert "mallory\\x1b[2J\\u202e" in listed and "\x1b" not in listed  # shown, not obeyed
    assert "\x1b" not in show(cli, last_run(cli)["id"])


def test_the_actor_falls_back_to_the_login_name_then_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_ACTOR", raising=False)
    monkeypatch.setenv("USER", "night-shift")
    assert ops.actor(tmp_path) == "night-shift"  # not a git repository
    monkeypatch.delenv("USER")

    def no_login() -> str:
        raise OSError("no passwd entry")

    monkeypatch.setattr(getpass, "getuser", no_login)
    assert ops.actor(tmp_path) == "unknown"


def test_rollout_bucket_live_reads_the_database_and_says_when_git_differs(
    cli: Cli, repo: Repo
) -> None:
    converges(cli)
    live = cli("rollout", "bucket", "nda-drafting", "user-42", "--live")
    assert live.code == 0, live.err
    value = bucket("nda-drafting", "user-42")
    verdict = "IN" if value < 5000 else "OUT"
    assert "skill nda-drafting in staging (live): 50% (salt 'nda-drafting')" in live.out
    assert f"bucket {value} of 10000, threshold 5000: {verdict}" in live.out
    assert "git says" not in live.out
    repo.write({"rollouts/staging.yaml": "contract-review: 100\nnda-drafting: 5\n"})
    repo.commit("lower nda-drafting, not applied yet")
    live = cli("rollout", "bucket", "nda-drafting", "user-42", "--live")
    assert "(live): 50%" in live.out and f"threshold 5000: {verdict}" in live.out
    assert "git says 5%, live says 50%: not applied yet?" in live.out.splitlines()
    from_git = cli("rollout", "bucket", "nda-drafting", "user-42")
    assert "in staging: 5%" in from_git.out and "threshold 500:" in from_git.out
    unknown = cli("rollout", "bucket", "statute-lookup", "user-42", "--live")
    assert unknown.code == 0 and "(live): 0%" in unknown.out
    assert "has no rollout of 'statute-lookup'" in unknown.out and ": OUT" in unknown.out
    other = cli("rollout", "bucket", "nda-drafting", "user-42", "--live", "--env", "production")
    assert other.code == 1 and "serves 'staging', not 'production'" in other.err
