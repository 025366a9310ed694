"""`syncbot promote --open-prs` against a real git repository with a bare `origin`, the
local GitHub API server, PostgreSQL (the executions the AI service writes) and the
emulator (the apply that makes the canaries live)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import git
import psycopg
import pytest
from live_support import Cli, Repo, Result
from test_github_cli import REPO, TOKEN, FakeGitHub, serve_fake_github

from e2e.conftest import base_files
from syncbot.github import GitHubSettings
from syncbot.promote.proposals import Proposer, _fence

SYNCBOT_YAML = """\
categories: [analysis, drafting, research, compliance]
environments:
  staging: {}
  production:
    rollout:
      steps: [0, 5, 25, 50, 100]
      min_soak_hours: 72
      gates:
        window_minutes: 60
        min_requests: 200
        max_error_rate_percent: 2
        max_p95_ms: 5000
        failure_limit: 1
"""
PRODUCTION = """\
# yaml-language-server: $schema=../schemas/rollouts.schema.json
# Production: one step at a time, 72 hours apart (syncbot.yaml); a decrease at once.
contract-review: 5
nda-drafting: 5  # the drafting team watches this one
statute-lookup:
  percentage: 0
  salt: 'statute-lookup-v2'
"""
PATH = "rollouts/production.yaml"
PROMOTION = "syncbot/promote/production/contract-review/5-to-25"
ROLLBACK = "syncbot/rollback/production/nda-drafting/5-to-0"


@pytest.fixture
def repo_files() -> dict[str, str]:
    return base_files() | {"syncbot.yaml": SYNCBOT_YAML, PATH: PRODUCTION}


@pytest.fixture
def origin(repo: Repo, tmp_path: Path) -> git.Repo:
    """A bare `origin` holding `main`, fetched back, as a CI checkout of main has it."""
    bare = git.Repo.init(tmp_path / "origin.git", bare=True)
    repo.git.git.branch("-M", "main")
    repo.git.create_remote("origin", str(bare.working_dir))
    repo.git.git.push("origin", "main")
    repo.git.git.fetch("origin")
    return bare


@pytest.fixture
def github(
    origin: git.Repo, live_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeGitHub]:
    with serve_fake_github() as fake:
        fake.branch_exists = lambda name: f"refs/heads/{name}" in heads(origin)
        values = {
            "GITHUB_API_URL": fake.url,
            "GITHUB_TOKEN": TOKEN,
            "GITHUB_REPOSITORY": REPO,
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_RUN_ID": "4242",
        }
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        yield fake


@pytest.fixture
def live(cli: Cli, pg_url: str) -> Cli:
    applied = cli("apply", "--env", "production")
    assert applied.code == 0, applied.err
    backdate(pg_url, 73)
    return cli


def heads(bare: git.Repo) -> dict[str, str]:
    return {ref.path: ref.commit.hexsha for ref in bare.references}


def backdate(pg_url: str, hours: float) -> None:
    with psycopg.connect(pg_url) as conn:
        conn.execute(
            "UPDATE skill_rollouts SET changed_at = now() - make_interval(secs => %s) "
            "WHERE environment = 'production'",
            (hours * 3600,),
        )


def executions(pg_url: str, skill: str, count: int, failures: int = 0) -> None:
    when = datetime.now(UTC) - timedelta(minutes=30)
    with psycopg.connect(pg_url) as conn:
        conn.execute(
            "INSERT INTO skill_executions (environment, skill_name, started_at, duration_ms, "
            "success) SELECT 'production', %s, %s, 1200, i > %s FROM generate_series(1, %s) i",
            (skill, when, failures, count),
        )


def run(cli: Cli) -> Result:
    result = cli("promote", "--env", "production", "--open-prs")
    assert TOKEN not in result.out + result.err
    return result


def branch_diff(repo: Repo, branch: str) -> list[str]:
    """The changed lines of `branch` against main, as `git diff` prints them."""
    text = repo.git.git.diff(f"main...origin/{branch}", "--", PATH, unified=0)
    return [line for line in text.splitlines() if line[:1] in "+-" and line[:3] not in "+++---"]


def test_a_healthy_canary_gets_exactly_one_promotion_pr_with_a_one_line_diff(
    live: Cli, repo: Repo, origin: git.Repo, github: FakeGitHub, pg_url: str
) -> None:
    executions(pg_url, "contract-review", 300, failures=3)
    main_before = heads(origin)["refs/heads/main"]

    result = run(live)

    assert result.code == 0, result.err
    assert "PROMOTE  contract-review  5% -> 25%" in result.out
    assert "promote contract-review 5% -> 25%: PR created https://github.com/acme/skills/pull/" in (
        result.out
    )
    (pull,) = github.pulls
    assert pull["head"]["ref"] == PROMOTION and pull["base"]["ref"] == "main"
    assert pull["title"] == "Promote contract-review in production from 5% to 25% (syncbot promote)"
    assert pull["labels"] == [{"name": "syncbot-promote"}]
    body = pull["body"]
    assert "## Promote `contract-review` in `production`: 5% → 25%" in body
    assert "| Requests | 300 | at least 200 |" in body
    assert "| Error rate | 1.00% | below 2% |" in body
    assert "| p95 latency | 1200 ms | below 5000 ms |" in body
    assert "```diff\n--- a/rollouts/production.yaml\n+++ b/rollouts/production.yaml\n" in body
    assert "-contract-review: 5\n+contract-review: 25\n" in body
    assert "[workflow run 4242](https://github.com/acme/skills/actions/runs/4242)" in body
    # the branch: one commit on main, exactly the one line, every comment kept
    repo.git.git.fetch("origin")
    assert branch_diff(repo, PROMOTION) == ["-contract-review: 5", "+contract-review: 25"]
    edited = repo.git.git.show(f"origin/{PROMOTION}:{PATH}")
    assert edited + "\n" == PRODUCTION.replace("contract-review: 5\n", "contract-review: 25\n")
    commit = repo.git.commit(f"origin/{PROMOTION}")
    assert [p.hexsha for p in commit.parents] == [main_before]
    assert commit.author.name == "github-actions[bot]"
    # never main, and the work tree and HEAD untouched
    assert heads(origin)["refs/heads/main"] == main_before
    assert repo.git.head.commit.hexsha == main_before
    assert (repo.path / PATH).read_text() == PRODUCTION and not repo.git.is_dirty()


def test_a_second_run_changes_nothing(
    live: Cli, origin: git.Repo, github: FakeGitHub, pg_url: str
) -> None:
    executions(pg_url, "contract-review", 300)
    assert run(live).code == 0
    refs, mutations = heads(origin), len(github.mutations())

    again = run(live)

    assert again.code == 0, again.err
    assert "HOLD     contract-review  5%" in again.out
    assert "a proposal for this skill is already open" in again.out
    assert " PR " not in again.out
    assert len(github.mutations()) == mutations and heads(origin) == refs
    assert len(github.pulls) == 1


def test_a_pr_closed_by_a_person_is_not_reopened(
    live: Cli, origin: git.Repo, github: FakeGitHub, pg_url: str
) -> None:
    executions(pg_url, "contract-review", 300)
    assert run(live).code == 0
    (pull,) = github.pulls
    github.close_pull(pull["number"], at=datetime.now(UTC).isoformat().replace("+00:00", "Z"))
    refs, mutations = heads(origin), len(github.mutations())

    again = run(live)

    assert again.code == 0, again.err
    assert "PROMOTE  contract-review  5% -> 25%" in again.out  # the decision stands
    assert (
        f"promote contract-review 5% -> 25%: PR not re-opened {pull['html_url']} (closed "
        "unmerged" in again.out
    )
    assert len(github.pulls) == 1 and pull["state"] == "closed"
    assert len(github.mutations()) == mutations and heads(origin) == refs


def test_a_pr_closed_in_an_earlier_step_does_not_block_this_one(
    live: Cli, github: FakeGitHub, pg_url: str
) -> None:
    # closed before the rollout reached 5% this time (73 hours ago): another cycle
    old = github.add_pull(PROMOTION, title="an earlier attempt")
    github.close_pull(old["number"], at="2020-01-01T00:00:00Z")
    executions(pg_url, "contract-review", 300)

    result = run(live)

    assert result.code == 0, result.err
    assert "PR created" in result.out
    assert len(github.open_pulls()) == 1


def test_a_failing_canary_gets_one_urgent_rollback_pr(
    live: Cli, repo: Repo, github: FakeGitHub, pg_url: str
) -> None:
    executions(pg_url, "nda-drafting", 400, failures=40)  # 10% errors

    first = run(live)
    second = run(live)

    assert first.code == second.code == 0, first.err + second.err
    assert "ROLLBACK nda-drafting  5% -> 0%" in first.out
    assert "rollback nda-drafting 5% -> 0%: PR created " in first.out
    (pull,) = github.open_pulls()
    assert pull["head"]["ref"] == ROLLBACK
    assert pull["title"] == "URGENT: roll back nda-drafting in production to 0% (syncbot promote)"
    assert pull["labels"] == [{"name": "syncbot-rollback"}, {"name": "urgent"}]
    assert "> [!CAUTION]" in pull["body"] and "| Error rate | 10.00% | below 2% |" in pull["body"]
    repo.git.git.fetch("origin")
    assert branch_diff(repo, ROLLBACK) == [
        "-nda-drafting: 5  # the drafting team watches this one",
        "+nda-drafting: 0  # the drafting team watches this one",
    ]
    # the rollback still stands at the second run: the same PR, brought up to date
    assert "rollback nda-drafting 5% -> 0%: PR " in second.out
    assert "PR created" not in second.out and len(github.pulls) == 1


def test_a_rollback_names_the_open_promotion_it_supersedes(
    live: Cli, github: FakeGitHub, pg_url: str
) -> None:
    promotion = github.add_pull("syncbot/promote/production/nda-drafting/5-to-25")
    executions(pg_url, "nda-drafting", 400, failures=40)

    result = run(live)

    assert result.code == 0, result.err
    rollback = next(p for p in github.pulls if p["head"]["ref"] == ROLLBACK)
    assert f"supersedes: #{promotion['number']}." in rollback["body"]


def test_a_forks_branch_of_the_same_name_is_not_a_proposal(
    live: Cli, github: FakeGitHub, pg_url: str
) -> None:
    github.add_pull(PROMOTION, fork=True)
    executions(pg_url, "contract-review", 300)
    result = run(live)
    assert "PR created" in result.out
    assert len([p for p in github.pulls if p["head"]["repo"]["full_name"] == REPO]) == 1


def test_open_prs_needs_the_checkout_to_be_origins_main(
    live: Cli, repo: Repo, github: FakeGitHub, pg_url: str
) -> None:
    executions(pg_url, "contract-review", 300)
    repo.write({"skills/contract-review/notes.md": "local change\n"})
    repo.commit("not pushed")

    result = run(live)

    assert result.code == 1
    assert "--open-prs needs a clean checkout of origin/main" in result.err
    assert github.pulls == [] and github.mutations() == []


def test_open_prs_without_a_token_is_one_clear_error(
    live: Cli, github: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_TOKEN")
    result = run(live)
    assert (result.code, result.err) == (
        1,
        "error: github: GITHUB_TOKEN not set (run inside GitHub Actions)\n",
    )


def test_the_push_token_goes_only_to_the_github_server_and_never_on_a_command_line(
    repo: Repo,
) -> None:
    settings = GitHubSettings(token=TOKEN, repository=REPO, server_url="https://github.com")
    repo.git.create_remote("origin", "https://github.com/acme/skills")
    proposer = Proposer(repo.path, _Client(settings))  # type: ignore[arg-type]
    env = proposer._auth_env()
    header = base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
    assert env == {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "http.https://github.com/.extraheader",
        "GIT_CONFIG_VALUE_0": f"AUTHORIZATION: basic {header}",
    }
    repo.git.remote("origin").set_url("https://elsewhere.example/acme/skills")
    assert proposer._auth_env() == {}
    proposer.close()


class _Client:
    def __init__(self, settings: GitHubSettings) -> None:
        self.settings = settings


def test_evaluations_are_recorded_when_prs_are_opened(
    live: Cli, github: FakeGitHub, pg_url: str
) -> None:
    executions(pg_url, "contract-review", 300)
    assert run(live).code == 0
    with psycopg.connect(pg_url) as conn:
        rows = conn.execute("SELECT skill_name, decision FROM rollout_evaluations").fetchall()
    assert sorted(rows) == [("contract-review", "promote"), ("nda-drafting", "hold")]


def test_a_comment_with_backticks_cannot_break_out_of_the_diff_fence() -> None:
    assert _fence("-a: 5  # ```` see\n+a: 25") == "`````"
    assert _fence("-a: 5\n+a: 25") == "```"


def test_the_workflows_variables_are_enough_database_url_and_the_token(
    live: Cli, github: FakeGitHub, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # promote.yml gives the step DATABASE_URL and GITHUB_TOKEN only
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "REDIS_URL", "SYNCBOT_REDIS_PREFIX"):
        monkeypatch.delenv(name, raising=False)
    executions(pg_url, "contract-review", 300)
    result = live("promote", "--env", "production", "--open-prs", "--format", "markdown")
    assert result.code == 0, result.err
    assert result.out.startswith("### promote --env production at ")
    assert "\n- promote contract-review 5% -> 25%: PR created https://" in result.out


def test_an_open_pr_for_another_step_is_reported_stale_and_does_not_hold(
    live: Cli, github: FakeGitHub, pg_url: str
) -> None:
    stale = github.add_pull("syncbot/promote/production/contract-review/25-to-50")
    executions(pg_url, "contract-review", 300)

    result = run(live)

    assert result.code == 0, result.err
    assert "promote contract-review 5% -> 25%: PR created " in result.out
    assert (
        f"stale proposal: PR #{stale['number']} ({stale['html_url']}) moves contract-review "
        "from 25% to 50%, but live is 5%: close it" in result.out
    )
    assert stale["state"] == "open"  # a person decides about it


def test_a_push_that_fails_is_one_line_naming_the_branch(
    live: Cli, repo: Repo, tmp_path: Path, github: FakeGitHub, pg_url: str
) -> None:
    executions(pg_url, "contract-review", 300)
    repo.git.remote("origin").set_url(str(tmp_path / "gone.git"))

    result = run(live)

    assert result.code == 1
    assert result.err.startswith(f"error: git: push of {PROMOTION} to origin failed: ")
    assert result.err.count("\n") == 1
    assert github.pulls == []  # no PR without its branch
