"""Stories of the configuration repository, each run through the real workflows (pr.yml,
apply.yml, drift.yml) by the rehearsal runner against two live environments."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import psycopg
import pytest
import redis
from live_support import API_KEY, skill_files
from test_github_cli import TOKEN, FakeGitHub

from rehearsal.conftest import DEAD_REDIS_URL, ENVIRONMENTS, Live, SeedMain
from rehearsal.forge import Forge, git
from rehearsal.runner import GitHubEnvironment, Rehearsal, WorkflowRun
from syncbot.github import marker_tag
from syncbot.textsafe import md_inline

pytestmark = pytest.mark.rehearsal

NEW_SKILL = "lease-review"
NEW_ROUTE = f"""\
  - skill: {NEW_SKILL}
    category: analysis
    priority: 9
    min_confidence: 0.6
    patterns:
      - 'lease.*(review|check)'
    examples:
      match: ["Please review this lease"]
      no_match: ["Draft an NDA"]
"""


def uploads(live: dict[str, Live]) -> int:
    return sum(item.emulator.stats.uploads for item in live.values())


def deployed(item: Live) -> dict[str, str]:
    with psycopg.connect(item.database_url) as conn:
        rows = conn.execute("SELECT name, version FROM skills").fetchall()
    return {str(name): str(version) for name, version in rows}


def assert_green(run: WorkflowRun) -> None:
    assert run.triggered, f"{run.workflow} was not triggered"
    failed = [
        (job.name, step.name, step.exit_code, step.stdout[-2000:], step.stderr[-2000:])
        for runs in run.jobs.values()
        for job in runs
        for step in job.steps
        if step.outcome == "failure"
    ]
    assert run.conclusion == "success", failed
    assert_no_secret_in(run.log, run)


def assert_no_secret_in(text: str, *runs: WorkflowRun) -> None:
    """No API key, job token or password of any GitHub environment's URLs is shown."""
    passwords = {
        urlsplit(value).password
        for environment in runs[0].world.environments.values()
        for value in environment.secrets.values()
    } - {None}
    tokens = [token for run in runs for token in run.tokens]
    for secret in [API_KEY, TOKEN, *tokens, *passwords]:
        assert secret is not None and secret not in text


def test_a_new_skill_goes_from_pr_to_comment_to_merge_to_a_converged_apply(
    rehearsal: Rehearsal,
    forge: Forge,
    github_api: FakeGitHub,
    live: dict[str, Live],
    seed_main: SeedMain,
) -> None:
    seed_main()
    started = uploads(live)
    forge.branch("add-lease-review")
    forge.write(skill_files(NEW_SKILL, body="Check the rent clauses."))
    forge.write({"registry/analysis.yaml": forge.read("registry/analysis.yaml") + NEW_ROUTE})
    staging_rollouts = forge.read("rollouts/staging.yaml") + f"{NEW_SKILL}: 100\n"
    forge.write({"rollouts/staging.yaml": staging_rollouts})
    forge.commit("lease-review: a new skill, on in staging")
    pr = forge.open_pr("add-lease-review")

    checks = rehearsal.run("pr", forge.pull_request_event(pr))

    assert_green(checks)
    assert checks.job("validate").result == "success"
    plan = checks.job("plan")
    assert plan.environment == "plan-readonly"
    assert plan.step("Plan staging").outputs == {"status": "2"}
    assert plan.step("Plan production").outputs == {"status": "2"}
    assert plan.step("Fail if a plan failed").outcome == "skipped"
    [comment] = github_api.bot_comments(pr.number)
    header, plans = comment["body"].split("\n", 1)
    assert header == marker_tag("syncbot-plan")
    assert plans.startswith("## syncbot plans for this pull request\n")
    staging, production = plans.split("### syncbot plan: `production`")
    assert "### syncbot plan: `staging`" in staging
    for section in (staging, production):
        assert f"create | skill `{NEW_SKILL}`" in section
    assert f"create rollout `{NEW_SKILL}`" in staging
    assert f"rollout `{NEW_SKILL}`" not in production
    assert plans in plan.summary
    assert_no_secret_in(comment["body"], checks)
    assert uploads(live) == started  # a plan uploads nothing

    applied = rehearsal.run("apply", forge.merge(pr))

    assert_green(applied)
    main = forge.main()
    assert applied.job("staging").outputs == {"commit": main}
    for env in ENVIRONMENTS:
        job = applied.job(env)
        assert job.step("Convergence check (plan must be empty)").outcome == "success"
        assert NEW_SKILL in deployed(live[env])
        assert job.summary.startswith(f"## syncbot apply: {env}\n")
        # the history line of this run: its commit, actor (GITHUB_ACTOR) and status
        assert re.search(rf"{main[:12]}\s+dev\s+\d+ changes\s+succeeded", job.summary)
    assert uploads(live) == started + 2


def drift_issues(github_api: FakeGitHub, env: str) -> list[dict[str, object]]:
    return [i for i in github_api.issues if str(i["body"]).startswith(marker_tag(f"drift-{env}"))]


def test_drift_while_redis_is_down_leaves_the_drift_issue_open(
    rehearsal: Rehearsal,
    forge: Forge,
    github_api: FakeGitHub,
    live: dict[str, Live],
    seed_main: SeedMain,
) -> None:
    seed_main()
    staging = live["staging"]
    client = redis.Redis.from_url(staging.redis_url)
    # someone turns NDA drafting fully on by hand, in the cache the service reads
    client.hset(f"{staging.redis_prefix}skills:rollouts:staging", "nda-drafting", "100")
    client.close()

    found = rehearsal.run("drift", forge.scheduled_event())

    assert_green(found)
    assert found.job("drift", env="staging").step("Plan against main").outputs == {"status": "2"}
    assert found.job("drift", env="production").step("Plan against main").outputs == {"status": "0"}
    [issue] = drift_issues(github_api, "staging")
    assert issue["state"] == "open"
    assert "nda-drafting" in str(issue["body"])
    assert drift_issues(github_api, "production") == []

    # Redis of staging stops answering: the plan cannot compare the cache, so it must not
    # report "no changes", and the issue must not be closed.
    readonly = rehearsal.environments["staging-readonly"]
    rehearsal.environments["staging-readonly"] = GitHubEnvironment(
        {**readonly.secrets, "REDIS_URL": DEAD_REDIS_URL}, readonly.vars
    )
    before = len(github_api.mutations())

    blind = rehearsal.run("drift", forge.scheduled_event())

    assert blind.conclusion == "failure"
    job = blind.job("drift", env="staging")
    assert job.result == "failure"
    plan = job.step("Plan against main")
    assert plan.outputs == {"status": "1"}
    assert "cache" in (plan.stdout + plan.stderr).lower()  # it names what it could not read
    assert job.step("Close the drift issue").outcome == "skipped"
    assert [a for a in job.annotations if a.level == "error"]
    assert blind.job("drift", env="production").result == "success"
    assert issue["state"] == "open"
    closing = [r for r in github_api.mutations()[before:] if (r.body or {}).get("state")]
    assert closing == []
    assert_no_secret_in(blind.log, blind)


def set_rollout(forge: Forge, env: str, skill: str, percentage: int) -> None:
    path = f"rollouts/{env}.yaml"
    lines = forge.read(path).splitlines()
    [index] = [n for n, line in enumerate(lines) if line.startswith(f"{skill}:")]
    lines[index] = f"{skill}: {percentage}"
    forge.write({path: "\n".join(lines) + "\n"})


def errors(run: WorkflowRun, job_id: str) -> list[tuple[str, str, str]]:
    """(file, title, message) of each error annotation of a job."""
    return [
        (a.fields.get("file", ""), a.fields.get("title", ""), a.text)
        for a in run.job(job_id).annotations
        if a.level == "error"
    ]


def test_a_rollout_bump_before_its_soak_ends_is_red_and_says_when_it_is_allowed(
    rehearsal: Rehearsal,
    forge: Forge,
    github_api: FakeGitHub,
    live: dict[str, Live],
    seed_main: SeedMain,
) -> None:
    seed_main()
    with psycopg.connect(live["production"].database_url) as conn:
        [(changed_at,)] = conn.execute(
            "SELECT changed_at FROM skill_rollouts"
            " WHERE environment = 'production' AND skill_name = 'nda-drafting'"
        ).fetchall()
    allowed = changed_at + timedelta(hours=72)
    forge.branch("nda-to-25")
    set_rollout(forge, "production", "nda-drafting", 25)  # the next step, but too soon
    forge.commit("nda-drafting: 25% in production")
    pr = forge.open_pr("nda-to-25")

    checks = rehearsal.run("pr", forge.pull_request_event(pr))

    assert checks.conclusion == "failure"
    assert checks.job("validate").result == "success"  # the step itself is on the ladder
    plan = checks.job("plan")
    assert plan.result == "failure"
    assert plan.step("Plan staging").outputs == {"status": "0"}
    assert plan.step("Plan production").outputs == {"status": "1"}
    assert plan.step("Fail if a plan failed").outcome == "failure"
    [comment] = github_api.bot_comments(pr.number)
    body = comment["body"]
    top = body.split("### syncbot plan: `staging`")[0]  # above both environments' plans
    assert "apply will refuse this plan" in top.lower()
    assert "nda-drafting" in top
    assert f"allowed from {ceil_second(allowed):%Y-%m-%dT%H:%M:%SZ}" in top
    production = body.split("### syncbot plan: `production`")[1]
    assert "rollout `nda-drafting`" in production  # the refused plan itself is still shown
    assert_no_secret_in(checks.log + body, checks)

    # 72 hours later (the soak measured from the database's changed_at, moved back),
    # the same PR's checks run again: green, and the comment is updated in place.
    with psycopg.connect(live["production"].database_url) as conn:
        conn.execute(
            "UPDATE skill_rollouts SET changed_at = changed_at - interval '72 hours 1 second'"
            " WHERE environment = 'production' AND skill_name = 'nda-drafting'"
        )
    rerun = rehearsal.run("pr", forge.pull_request_event(pr))

    assert_green(rerun)
    assert rerun.job("plan").step("Plan production").outputs == {"status": "2"}
    [updated] = github_api.bot_comments(pr.number)
    assert updated["id"] == comment["id"]
    assert "refuse" not in updated["body"].lower()
    assert "5% → 25%" in updated["body"]


def ceil_second(moment: datetime) -> datetime:
    whole = moment.replace(microsecond=0)
    return whole if whole == moment else whole + timedelta(seconds=1)


def test_a_revert_pr_of_a_version_bump_is_green_shows_the_repin_and_uploads_nothing(
    rehearsal: Rehearsal,
    forge: Forge,
    github_api: FakeGitHub,
    live: dict[str, Live],
    seed_main: SeedMain,
) -> None:
    seed_main()
    pinned = {env: pinned_version(live[env], "nda-drafting") for env in ENVIRONMENTS}
    git(forge.dev, "checkout", "-q", "main")
    skill_yaml = forge.read("skills/nda-drafting/skill.yaml")
    forge.write(
        {
            "skills/nda-drafting/skill.yaml": skill_yaml.replace('"1.0.0"', '"1.1.0"'),
            "skills/nda-drafting/SKILL.md": forge.read("skills/nda-drafting/SKILL.md")
            + "\nAlways add a governing-law clause.\n",
        }
    )
    bump = forge.commit("nda-drafting 1.1.0: a governing-law clause")
    git(forge.dev, "push", "-q", "origin", "main")
    seed_main()  # the bump is live (its own PR and apply are story a's)
    before = uploads(live)
    assert all(pinned_version(live[env], "nda-drafting") != pinned[env] for env in ENVIRONMENTS)

    forge.branch("revert-nda-1.1")
    forge.revert(bump)
    revert = forge.open_pr("revert-nda-1.1")
    checks = rehearsal.run("pr", forge.pull_request_event(revert))

    assert_green(checks)
    [comment] = github_api.bot_comments(revert.number)
    sections = comment["body"].split("### syncbot plan: ")[1:]
    for env, section in zip(ENVIRONMENTS, sections, strict=True):
        assert section.startswith(f"`{env}`")
        assert "repin | skill `nda-drafting`" in section
        # the detail is Markdown-escaped like all plan text (`skillver\_…`)
        repin = f"re-pin version {pinned[env]} uploaded earlier: no upload"
        assert md_inline(repin) in section
        assert "| api | create" not in section and "| api | update" not in section
    assert uploads(live) == before

    applied = rehearsal.run("apply", forge.merge(revert))

    assert_green(applied)
    assert uploads(live) == before
    assert {env: pinned_version(live[env], "nda-drafting") for env in ENVIRONMENTS} == pinned


def pinned_version(item: Live, skill: str) -> str:
    with psycopg.connect(item.database_url) as conn:
        [(version_id,)] = conn.execute(
            "SELECT version_id FROM skills WHERE name = %s", (skill,)
        ).fetchall()
    return str(version_id)


LOOSER_POLICY = """\
categories: [analysis, drafting, research, compliance]
environments:
  staging: {}
  production:
    rollout:
      steps: [0, 5, 50, 100]
      min_soak_hours: 1
limits:
  max_skill_bytes: 1048576
  max_file_bytes: 262144
prune:
  max_deletions: 3
"""


def test_a_pr_that_loosens_the_policy_and_jumps_a_step_is_red_and_flagged(
    rehearsal: Rehearsal, forge: Forge, github_api: FakeGitHub
) -> None:
    forge.branch("faster-nda")
    forge.write({"syncbot.yaml": LOOSER_POLICY})  # 25 taken off the ladder, soak cut to 1 h
    set_rollout(forge, "production", "nda-drafting", 50)  # 5 -> 50: a step skipped
    forge.commit("nda-drafting: straight to 50%")
    pr = forge.open_pr("faster-nda")

    checks = rehearsal.run("pr", forge.pull_request_event(pr))

    assert checks.conclusion == "failure"
    assert checks.job("validate").step("Validate").exit_code == 1
    found = errors(checks, "validate")
    assert [f for f, _, m in found if "nda-drafting" in m and "step" in m] == [
        "rollouts/production.yaml"
    ]
    flagged = [a for a in checks.job("validate").annotations if "loosen" in a.text.lower()]
    assert flagged and all(a.fields["file"] == "syncbot.yaml" for a in flagged)
    assert checks.job("plan").result == "skipped"
    assert github_api.bot_comments(pr.number) == []


@pytest.mark.parametrize("renamed", ["rollouts/staging.yml", "rollouts/stage.yaml"])
def test_a_pr_that_renames_a_rollouts_file_is_red(
    rehearsal: Rehearsal, forge: Forge, github_api: FakeGitHub, renamed: str
) -> None:
    forge.branch("rename")
    forge.move("rollouts/staging.yaml", renamed)
    forge.commit(f"rollouts: staging.yaml -> {renamed}")
    pr = forge.open_pr("rename")

    checks = rehearsal.run("pr", forge.pull_request_event(pr))

    assert checks.conclusion == "failure"
    assert checks.job("validate").step("Validate").exit_code == 1
    assert renamed in [f for f, _, _ in errors(checks, "validate")]
    assert checks.job("plan").result == "skipped"
    assert github_api.bot_comments(pr.number) == []


def test_a_pr_from_a_fork_is_validated_but_never_planned(
    rehearsal: Rehearsal, forge: Forge, github_api: FakeGitHub
) -> None:
    forge.branch("from-fork")
    forge.write(skill_files(NEW_SKILL))
    forge.commit("a new skill from a contributor")
    pr = forge.open_pr("from-fork", fork="contributor/skills")

    checks = rehearsal.run("pr", forge.pull_request_event(pr))

    assert_green(checks)
    assert checks.job("validate").step("Validate").exit_code == 0
    assert checks.job("plan").result == "skipped"
    assert github_api.requests == []


def test_a_pr_outside_the_configuration_does_not_run_the_workflows(
    rehearsal: Rehearsal, forge: Forge
) -> None:
    forge.branch("docs")
    forge.write({"docs/notes.md": "notes\n"})
    forge.commit("docs only")
    pr = forge.open_pr("docs")
    assert not rehearsal.run("pr", forge.pull_request_event(pr)).triggered
    assert not rehearsal.run("apply", forge.merge(pr)).triggered


def test_a_healthy_canary_gets_one_promotion_pr_from_the_hourly_promote_workflow(
    rehearsal: Rehearsal,
    forge: Forge,
    github_api: FakeGitHub,
    live: dict[str, Live],
    seed_main: SeedMain,
) -> None:
    seed_main()
    github_api.branch_exists = lambda name: bool(
        git(forge.origin, "for-each-ref", f"refs/heads/{name}")
    )
    production = live["production"]
    with psycopg.connect(production.database_url) as conn:
        # five days at 5%, and an hour of healthy traffic for one skill
        conn.execute(
            "UPDATE skill_rollouts SET changed_at = now() - interval '5 days' "
            "WHERE environment = 'production'"
        )
        conn.execute(
            "INSERT INTO skill_executions (environment, skill_name, started_at, duration_ms, "
            "success) SELECT 'production', 'contract-analysis-ro', now() - interval '20 minutes', "
            "1500, i > 2 FROM generate_series(1, 400) i"
        )
    main = forge.main()
    rollouts = forge.read("rollouts/production.yaml")

    found = rehearsal.run("promote", forge.scheduled_event())

    assert_green(found)
    job = found.job("promote", env="production")
    summary = job.summary
    assert "| `contract-analysis-ro` | **promote** | 5% -> 25% | 400 |" in summary
    assert "- promote contract-analysis-ro 5% -> 25%: PR created https://" in summary
    [pull] = github_api.pulls
    branch = "syncbot/promote/production/contract-analysis-ro/5-to-25"
    assert pull["head"]["ref"] == branch and pull["labels"] == [{"name": "syncbot-promote"}]
    assert "| Requests | 400 | at least 200 |" in pull["body"]
    # the branch: main plus one commit changing one line; main itself untouched
    assert forge.main() == main
    assert git(forge.origin, "rev-parse", f"{branch}~1") == main
    edited = git(forge.origin, "show", f"{branch}:rollouts/production.yaml")
    assert edited + "\n" == rollouts.replace(
        "contract-analysis-ro: 5\n", "contract-analysis-ro: 25\n"
    )
    # staging's canaries have no traffic: they hold, and nothing is proposed there
    assert "PR created" not in found.job("promote", env="staging").summary
    before = len(github_api.mutations())

    again = rehearsal.run("promote", forge.scheduled_event())

    assert_green(again)
    assert (
        "a proposal for this skill is already open"
        in again.job("promote", env="production").summary
    )
    assert len(github_api.mutations()) == before and len(github_api.pulls) == 1
    assert_no_secret_in(found.log + again.log, found, again)
