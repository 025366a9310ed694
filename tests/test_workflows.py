"""The GitHub Actions workflows: triggers, least privilege, pinning, and the two linters."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
NAMES = ["pr", "apply", "drift", "ci", "promote"]
CONFIG_PATHS = ["skills/**", "registry/**", "rollouts/**", "syncbot.yaml"]
SAME_REPO = "github.event.pull_request.head.repo.full_name == github.repository"
PLAN_ENVS = ["staging", "production"]
PLAN_SECRETS = ["ANTHROPIC_API_KEY", "DATABASE_URL", "REDIS_URL"]


def load(name: str) -> dict[str, Any]:
    workflow: dict[str, Any] = YAML(typ="safe", pure=True).load(WORKFLOWS / f"{name}.yml")
    return workflow


def jobs(name: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = load(name)["jobs"]
    return found


def steps(name: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for job_id, job in jobs(name).items():
        for step in job.get("steps", []):
            yield job_id, step


def runs(name: str, job_id: str) -> str:
    return "\n".join(s.get("run", "") for j, s in steps(name) if j == job_id)


def flat(script: str) -> str:
    """One line per command: continuation lines joined, runs of blanks made one space."""
    return "\n".join(" ".join(line.split()) for line in script.replace("\\\n", " ").splitlines())


def test_the_five_workflows_exist_and_nothing_else() -> None:
    assert sorted(p.stem for p in WORKFLOWS.glob("*.y*ml")) == sorted(NAMES)


def test_triggers() -> None:
    # routes-queries.yaml is never deployed, but validate checks it and the plan reads it
    assert load("pr")["on"] == {"pull_request": {"paths": [*CONFIG_PATHS, "routes-queries.yaml"]}}
    assert load("apply")["on"] == {
        "push": {"branches": ["main"], "paths": CONFIG_PATHS},
        "workflow_dispatch": None,
    }
    drift = load("drift")["on"]
    assert set(drift) == {"schedule", "workflow_dispatch"}
    assert [entry["cron"] for entry in drift["schedule"]] == ["17 * * * *"]
    assert set(load("ci")["on"]) == {"push", "pull_request"}
    promote = load("promote")["on"]
    assert set(promote) == {"schedule", "workflow_dispatch"}
    assert [entry["cron"] for entry in promote["schedule"]] == ["41 * * * *"]  # hourly


@pytest.mark.parametrize("name", NAMES)
def test_no_pull_request_target(name: str) -> None:
    triggers = load(name)["on"]
    assert "pull_request_target" not in triggers
    assert "workflow_run" not in triggers


@pytest.mark.parametrize("name", NAMES)
def test_no_permissions_at_the_top(name: str) -> None:
    assert load(name)["permissions"] == {}


def test_each_job_gets_only_what_it_needs() -> None:
    granted = {
        (name, job_id): job.get("permissions")
        for name in NAMES
        for job_id, job in jobs(name).items()
    }
    assert granted == {
        ("pr", "validate"): {"contents": "read"},
        ("pr", "plan"): {"contents": "read", "pull-requests": "write"},
        ("apply", "staging"): {"contents": "read"},
        ("apply", "production"): {"contents": "read"},
        ("drift", "drift"): {"contents": "read", "issues": "write"},
        ("ci", "test"): {"contents": "read"},
        # pushes its own syncbot/ branches and opens PRs; nothing else
        ("promote", "promote"): {"contents": "write", "pull-requests": "write"},
    }


def test_apply_is_serialised_per_environment_and_never_cancelled() -> None:
    apply = jobs("apply")
    for env in ("staging", "production"):
        assert apply[env]["concurrency"] == {
            "group": f"syncbot-apply-{env}",
            "cancel-in-progress": False,
        }
        assert apply[env]["environment"] == {"name": env}
    assert apply["production"]["needs"] == "staging"
    assert "concurrency" not in load("apply")  # a workflow-level group would queue both envs


def test_apply_converges_main_then_reports() -> None:
    for env in ("staging", "production"):
        script = runs("apply", env)
        # a merged PR that removes a skill folder deletes it (within prune.max_deletions),
        # and the convergence check must use the same flag or it would never converge
        apply = script.index('syncbot apply --env "$SYNCBOT_ENV" --prune')
        check = script.index('syncbot plan --env "$SYNCBOT_ENV" --prune --detailed-exitcode')
        history = script.index('syncbot history --env "$SYNCBOT_ENV" --limit 1')
        assert apply < check < history < script.index('syncbot status --env "$SYNCBOT_ENV"')
        assert '>> "$GITHUB_STEP_SUMMARY"' in script
    checkout = next(s for j, s in steps("apply") if j == "staging" and "uses" in s)
    assert checkout["with"]["ref"] == "main"


def test_pr_validates_without_secrets() -> None:
    pr = jobs("pr")
    assert 'syncbot validate --base "$BASE_SHA" --format github' in runs("pr", "validate")
    checkout = pr["validate"]["steps"][0]
    assert checkout["with"]["fetch-depth"] == 0
    assert "secrets." not in str(pr["validate"]) and "environment" not in pr["validate"]


def plan_steps() -> dict[str, dict[str, Any]]:
    found = [step for job_id, step in steps("pr") if job_id == "plan"]
    return {step.get("id") or step.get("name") or step["uses"]: step for step in found}


def test_pr_plans_both_environments_into_one_sticky_comment() -> None:
    plan = jobs("pr")["plan"]
    assert "strategy" not in plan  # one job, so one comment holds both plans
    assert plan["environment"] == {"name": "plan-readonly"}  # read-only credentials only
    assert "env" not in plan  # nothing job-wide: each step gets only what it needs
    checkout = plan["steps"][0]
    assert checkout["with"]["fetch-depth"] == 0  # SKILL.md is diffed against deployed commits
    by_id = plan_steps()
    for env in PLAN_ENVS:
        step = by_id[env]
        assert step["name"] == f"Plan {env}" and step["env"]["SYNCBOT_ENV"] == env
        script = flat(step["run"])
        assert '--format markdown --detailed-exitcode > "plan-$SYNCBOT_ENV.md"' in script
        assert '"$status" -ne 2' in script  # exit 2 (changes) is a success
        # rollouts judged by the base's policy too; the sha reaches the script via env
        assert 'syncbot plan --env "$SYNCBOT_ENV" --base "$BASE_SHA"' in script
        assert step["env"]["BASE_SHA"] == "${{ github.event.pull_request.base.sha }}"
    order = [s.get("name", "") for s in plan["steps"]]
    wanted = ["Plan staging", "Plan production", "Combine the plans", "Sticky PR comment"]
    assert [order.index(name) for name in wanted] == sorted(order.index(n) for n in wanted)
    combine = by_id["Combine the plans"]["run"]
    assert combine.startswith("syncbot github combine")  # lifts refusals to the very top
    assert combine.index("plan-staging.md") < combine.index("plan-production.md")
    assert "--out plan.md" in combine
    script = runs("pr", "plan")
    assert script.count("syncbot github comment") == 1
    assert "syncbot github comment --file plan.md --marker syncbot-plan\n" in script + "\n"
    assert "syncbot github summary --file plan.md" in script
    failed = by_id["Fail if a plan failed"]["if"]
    assert all(f"steps.{env}.outputs.status" in failed for env in PLAN_ENVS)


def test_each_plan_step_gets_only_its_own_environments_credentials() -> None:
    for key, step in plan_steps().items():
        env = str(step.get("env", {}))
        secrets = set(re.findall(r"secrets\.(\w+)", env))
        variables = set(re.findall(r"vars\.(\w+)", env))
        if key not in PLAN_ENVS:
            assert not secrets and not variables, key
            continue
        prefix = key.upper() + "_"
        assert secrets == {prefix + name for name in PLAN_SECRETS}
        assert variables and all(name.startswith(prefix) for name in variables)
    assert "secrets." not in str({k: v for k, v in jobs("pr")["plan"].items() if k != "steps"})


def test_drift_opens_or_closes_the_issue_on_the_plan_exit_code() -> None:
    by_condition = {s.get("if"): s.get("run", "") for _, s in steps("drift")}
    assert "syncbot github drift-issue" in by_condition["steps.plan.outputs.status == '2'"]
    assert "--file drift.md" in by_condition["steps.plan.outputs.status == '2'"]
    plan = next(s["run"] for _, s in steps("drift") if s.get("id") == "plan")
    assert "--format markdown --detailed-exitcode > drift.md" in flat(plan)
    assert by_condition["steps.plan.outputs.status == '0'"].endswith("--resolved")
    # exit 1 (a target not compared, or refused) keeps the issue open and fails the job
    incomplete = by_condition["steps.plan.outputs.status == '1'"]
    assert "--file drift.md --incomplete" in incomplete and incomplete.endswith("exit 1\n")


def test_promote_opens_prs_per_environment_from_a_clean_checkout_of_main() -> None:
    job = jobs("promote")["promote"]
    assert job["if"] == "github.ref == 'refs/heads/main'"
    assert job["strategy"]["matrix"]["env"] == ["staging", "production"]
    assert job["environment"] == {"name": "${{ matrix.env }}-promote"}
    assert job["concurrency"] == {
        "group": "syncbot-promote-${{ matrix.env }}",
        "cancel-in-progress": False,
    }
    checkout = job["steps"][0]
    assert checkout["with"] == {"ref": "main", "fetch-depth": 0, "persist-credentials": False}
    (decide,) = [s for s in job["steps"] if "--open-prs" in s.get("run", "")]
    assert decide["run"].strip() == (
        'syncbot promote --env "$SYNCBOT_ENV" --open-prs --format markdown > promote.md'
    )
    # the database credential only where it is used; no Skills API key, no Redis
    assert decide["env"] == {
        "DATABASE_URL": "${{ secrets.DATABASE_URL }}",
        "GITHUB_TOKEN": "${{ github.token }}",
    }
    assert "secrets." not in str({k: v for k, v in job.items() if k != "steps"})
    summary = job["steps"][-1]
    assert summary["if"] == "${{ !cancelled() }}"
    assert "syncbot github summary --file promote.md" in summary["run"]


def test_ci_runs_lint_types_and_tests_against_postgres_and_redis() -> None:
    test = jobs("ci")["test"]
    assert set(test["services"]) == {"postgres", "redis"}
    assert test["env"]["DATABASE_URL"].startswith("postgresql://")
    assert test["env"]["REDIS_URL"].startswith("redis://localhost:6379")
    script = runs("ci", "test")
    for command in ("ruff format --check", "ruff check", "mypy", "pytest"):
        assert command in script
    # the Prometheus source is tested against a real server the tests start
    assert "apt-get install -y --no-install-recommends prometheus" in script
    assert script.index("prometheus") < script.index("pytest")


@pytest.mark.parametrize("name", NAMES)
def test_every_action_is_pinned_to_a_commit_with_its_version(name: str) -> None:
    lines = [
        line for line in (WORKFLOWS / f"{name}.yml").read_text().splitlines() if "uses:" in line
    ]
    assert lines
    for line in lines:
        assert re.search(r"uses: [\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$", line), line


@pytest.mark.parametrize("name", NAMES)
def test_checkout_never_persists_the_token(name: str) -> None:
    checkouts = [s for _, s in steps(name) if s.get("uses", "").startswith("actions/checkout@")]
    assert checkouts
    assert all(s["with"]["persist-credentials"] is False for s in checkouts)


@pytest.mark.parametrize("name", NAMES)
def test_no_expression_is_pasted_into_a_script(name: str) -> None:
    for job_id, step in steps(name):
        assert "${{" not in step.get("run", ""), (job_id, step.get("name"))


def test_no_job_with_secrets_runs_for_a_fork() -> None:
    for name in NAMES:
        workflow = load(name)
        if "pull_request" not in workflow["on"]:
            continue
        assert "secrets." not in str(workflow.get("env", {}))
        for job_id, job in workflow["jobs"].items():
            if "secrets." in str(job) or "environment" in job:
                assert job.get("if") == SAME_REPO, (name, job_id)


def test_the_write_token_reaches_only_the_github_steps() -> None:
    allowed = ("syncbot github ", 'syncbot promote --env "$SYNCBOT_ENV" --open-prs ')
    for name in NAMES:
        for job_id, step in steps(name):
            if "GITHUB_TOKEN" in step.get("env", {}):
                assert step["run"].startswith(allowed), (name, job_id)
                assert step["env"]["GITHUB_TOKEN"] == "${{ github.token }}"
        assert all("GITHUB_TOKEN" not in job.get("env", {}) for job in jobs(name).values())


def test_no_commands_wrapper_silences_workflow_commands_and_keeps_the_exit_code() -> None:
    script = ROOT / ".github" / "scripts" / "no-commands"
    assert os.access(script, os.X_OK)
    result = subprocess.run(
        [str(script), sys.executable, "-c", "print('::add-mask::x'); raise SystemExit(3)"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 3
    first, printed, last = result.stdout.splitlines()
    token = first.removeprefix("::stop-commands::")
    assert re.fullmatch(r"[0-9a-f-]{36}", token)
    assert (printed, last) == ("::add-mask::x", f"::{token}::")


def _tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip(
            f"{name} is not installed (it comes with the test extras: pip install -e '.[test]')"
        )
    return found


def test_zizmor_finds_nothing() -> None:
    result = subprocess.run(
        [_tool("zizmor"), "--offline", "--no-progress", str(WORKFLOWS)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_finds_nothing() -> None:
    files = [str(WORKFLOWS / f"{name}.yml") for name in NAMES]
    result = subprocess.run(
        [_tool("actionlint"), "-no-color", *files],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
