"""Plans that cannot lie: a refused plan is red, a wrong folder or a misnamed file never
plans mass removal, and a target that could not be read is never "no changes"."""

from __future__ import annotations

import json
import os
from datetime import UTC, timedelta
from pathlib import Path

import psycopg
import pytest
from live_support import Cli, Repo

from syncbot import cli as cli_module

CLOSED_PORT = 1  # nothing listens on 127.0.0.1:1


def changed_at(pg_url: str, skill: str) -> str:
    with psycopg.connect(pg_url) as conn:
        row = conn.execute(
            "SELECT changed_at FROM skill_rollouts WHERE skill_name = %s", (skill,)
        ).fetchone()
    assert row is not None
    ready = (row[0] + timedelta(hours=72)).astimezone(UTC)
    ready += timedelta(microseconds=(1_000_000 - ready.microsecond) % 1_000_000)  # rounded up
    return f"{ready:%Y-%m-%dT%H:%M:%SZ}"


def count(pg_url: str, table: str) -> int:
    with psycopg.connect(pg_url) as conn:
        row = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()
    assert row is not None
    return int(row[0])


# --- 1. refused means red -----------------------------------------------------------------


def test_a_production_increase_in_its_soak_fails_the_plan_and_says_when(
    cli: Cli, repo: Repo, pg_url: str
) -> None:
    assert cli("apply", "--env", "production").code == 0
    repo.write({"rollouts/production.yaml": "contract-review: 25\n"})
    repo.commit("contract-review to 25% in production")
    allowed = changed_at(pg_url, "contract-review")

    for flags in ((), ("--detailed-exitcode",)):
        text = cli("plan", "--env", "production", *flags)
        assert text.code == 1, text.out + text.err
        first = text.out.splitlines()[0]
        assert first.startswith("! APPLY WILL REFUSE THIS PLAN: 1 change is refused by policy")
        assert "db:rollout:contract-review: at 5% since" in text.out
        assert f"-> allowed from {allowed}" in text.out
        assert "apply will refuse this plan" in text.err

    markdown = cli("plan", "--env", "production", "--format", "markdown").out
    assert markdown.index("Apply will refuse this plan") < markdown.index("| | target |")
    assert f"**allowed from {allowed}**" in markdown
    saved = json.loads(cli("plan", "--env", "production", "--format", "json").out)
    assert saved["refused"] == [
        {
            "object": "db:rollout:contract-review",
            "reason": saved["refused"][0]["reason"],
            "allowed_from": allowed,
        }
    ]
    refused = cli("apply", "--env", "production")
    assert refused.code == 1 and f"allowed from {allowed}" in refused.err


def test_a_skipped_step_is_refused_for_good(cli: Cli, repo: Repo) -> None:
    assert cli("apply", "--env", "production").code == 0
    repo.write({"rollouts/production.yaml": "contract-review: 50\n"})
    repo.commit("skip 25%")
    plan = cli("plan", "--env", "production", "--detailed-exitcode")
    assert plan.code == 1
    assert "skips a step (next step: 25%) -> never: fix the plan" in plan.out.splitlines()[1]


# --- 2. no quiet mass removal -------------------------------------------------------------


def test_plan_from_the_skills_folder_finds_the_repository_root(
    cli: Cli, repo: Repo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli("apply").code == 0
    nested = cli_module.run(["--repo", str(repo.path / "skills"), "plan", "--detailed-exitcode"])
    assert nested == 0, capsys.readouterr()
    monkeypatch.chdir(repo.path / "skills" / "nda-drafting")
    assert cli_module.run(["plan", "--detailed-exitcode"]) == 0, capsys.readouterr()
    assert "No changes for staging" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args",
    [("validate",), ("plan",), ("apply",), ("apply", "--dry-run"), ("routes", "test", "nda")],
)
def test_outside_a_repository_nothing_runs(
    args: tuple[str, ...],
    live_env: dict[str, str],
    tmp_path: Path,
    pg_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.chdir(empty)
    assert cli_module.run(list(args)) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: not inside a syncbot repository: no syncbot.yaml in ")
    assert count(pg_url, "information_schema.tables WHERE table_schema = current_schema()") == 0


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ("rename-rollouts", "rollouts/staging.yml"),
        ("rename-registry", "registry/routes.yml"),
        ("nested-registry", "registry/sub/x.yaml"),
        ("registry-file", "registry"),
        ("registry-symlink", "registry"),
        ("unknown-top-level", "settings.yml"),
    ],
)
def test_a_file_the_bot_would_skip_is_an_error_and_plans_nothing(
    change: str, path: str, cli: Cli, repo: Repo
) -> None:
    assert cli("apply").code == 0
    root = repo.path
    if change.startswith("rename"):
        yaml = Path(path).with_suffix(".yaml")
        (root / yaml).rename(root / path)
    elif change == "nested-registry":
        (root / "registry" / "sub").mkdir()
        (root / "registry" / "routes.yaml").rename(root / path)
    elif change.startswith("registry-"):
        moved = root.parent / "elsewhere"
        (root / "registry").rename(moved)
        if change == "registry-file":
            (root / "registry").write_text("routes: []\n")
        else:
            os.symlink(moved, root / "registry")
    else:
        (root / path).write_text("prune: {max_deletions: 100}\n")

    validate = cli("validate")
    assert validate.code == 1
    assert f"{path}:1: error file-ignored: " in validate.out
    for args in (("plan", "--detailed-exitcode"), ("apply", "--dry-run")):
        refused = cli(*args)
        assert refused.code == 1 and "file-ignored" in refused.err, refused.err
        assert "Would apply" not in refused.out


def test_deleting_every_route_or_rollout_is_refused_unless_asked_for(
    cli: Cli, repo: Repo, pg_url: str
) -> None:
    assert cli("apply").code == 0
    repo.remove("rollouts/staging.yaml")
    repo.write({"registry/routes.yaml": "routes: []\n"})
    repo.commit("every route and rollout gone")

    plan = cli("plan", "--detailed-exitcode")
    assert plan.code == 1
    assert "plan deletes all 2 routes: files missing, misnamed or read from the" in plan.out
    assert "plan deletes all 2 rollouts" in plan.out
    assert plan.out.startswith("! APPLY WILL REFUSE THIS PLAN: 4 changes")
    dry = cli("apply", "--dry-run")
    assert dry.code == 1 and "apply refused by policy" in dry.err
    assert count(pg_url, "skill_routes") == 2

    allowed = cli("plan", "--detailed-exitcode", "--allow-delete-all")
    assert allowed.code == 2, allowed.out + allowed.err
    assert cli("apply", "--allow-delete-all").code == 0
    assert count(pg_url, "skill_routes") == 0 == count(pg_url, "skill_rollouts")
    assert cli("plan", "--detailed-exitcode").code == 0


def test_turning_one_skill_off_by_deleting_its_entry_stays_allowed(
    cli: Cli, repo: Repo, pg_url: str
) -> None:
    assert cli("apply").code == 0
    repo.write({"rollouts/staging.yaml": "contract-review: 100\n"})
    repo.commit("on-call: nda-drafting off")
    assert cli("plan", "--detailed-exitcode").code == 2
    assert cli("apply").code == 0
    assert count(pg_url, "skill_rollouts") == 1
    assert cli("plan", "--detailed-exitcode").code == 0


# --- 3. unknown is not "no changes" -------------------------------------------------------


def test_redis_unreachable_is_not_no_changes(
    cli: Cli, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("apply").code == 0
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{CLOSED_PORT}/0")
    for flags in ((), ("--detailed-exitcode",)):
        plan = cli("plan", *flags)
        assert plan.code == 1, plan.out + plan.err
        assert plan.out.startswith("! NOT COMPARED: cache could not be read")
        assert "No changes for" not in plan.out
        assert plan.err.startswith("error: plan incomplete: cache not compared")
    markdown = cli("plan", "--format", "markdown").out
    assert "**Not compared**: `cache` of `staging`" in markdown
    assert json.loads(cli("plan", "--format", "json").out)["uncompared"].keys() == {"cache"}

    apply = cli("apply")
    assert apply.code == 1
    assert "Nothing to do" not in apply.out and "cache not compared" in apply.out
    assert "not compared and not written: cache" in apply.err


@pytest.mark.parametrize(
    ("variable", "url", "target"),
    [
        ("DATABASE_URL", f"postgresql://root@127.0.0.1:{CLOSED_PORT}/test", "database"),
        ("ANTHROPIC_BASE_URL", f"http://127.0.0.1:{CLOSED_PORT}", "skills-api"),
    ],
)
def test_an_unreadable_database_or_api_is_named_in_the_plan(
    variable: str, url: str, target: str, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("apply").code == 0
    monkeypatch.setenv(variable, url)
    monkeypatch.setenv("SKILLS_UPLOAD_TIMEOUT", "500")
    plan = cli("plan", "--format", "markdown", "--detailed-exitcode")
    assert plan.code == 1
    assert f"**Not compared**: `{target}` of `staging` could not be read" in plan.out
    assert plan.err.startswith(f"error: {target}: not compared, nothing planned: ")
