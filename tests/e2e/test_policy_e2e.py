"""Plan and apply judge a rollout change by the stricter policy: the PR's base (`plan
--base`), or the commit the last apply put live, never only the policy the change brings."""

from __future__ import annotations

import psycopg
from live_support import SYNCBOT_YAML, Cli, Repo

LOOSE = SYNCBOT_YAML.replace("[0, 5, 25, 50, 100]", "[0, 100]").replace(
    "min_soak_hours: 72", "min_soak_hours: 0"
)


def loosen_and_jump(repo: Repo) -> str:
    assert LOOSE != SYNCBOT_YAML
    repo.write({"syncbot.yaml": LOOSE, "rollouts/production.yaml": "contract-review: 100\n"})
    return repo.commit("loosen the ladder and go to 100% at once")


def test_plan_with_base_judges_by_the_base_ladder(cli: Cli, repo: Repo) -> None:
    base = repo.git.head.commit.hexsha
    loosen_and_jump(repo)
    own = cli("plan", "--env", "production")
    assert own.code == 0, own.err
    assert "contract-review" in own.out and "blocked" not in own.out
    judged = cli("plan", "--env", "production", "--base", base)
    assert "blocked: increase from 0% to 100% skips a step (next step: 5%)" in judged.out
    assert cli("plan", "--env", "production", "--base", "no-such-ref").code == 1


def test_apply_judges_by_the_policy_of_the_last_applied_commit(
    cli: Cli, repo: Repo, pg_url: str
) -> None:
    first = cli("apply", "--env", "production")
    assert first.code == 0, first.err
    loosen_and_jump(repo)
    refused = cli("apply", "--env", "production")
    assert refused.code == 1
    assert "increase from 5% to 100% skips a step (next step: 25%)" in refused.err
    # A last applied commit this clone does not have cannot be read: the change's own
    # policy then stands alone.
    with psycopg.connect(pg_url) as conn:
        conn.execute("UPDATE sync_runs SET commit = repeat('a', 40)")
    allowed = cli("apply", "--env", "production")
    assert allowed.code == 0, allowed.err
    assert cli("plan", "--env", "production", "--detailed-exitcode").code == 0
