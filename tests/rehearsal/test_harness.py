"""The rehearsal runner itself: GitHub's expression semantics, its files and variables,
and that anything it cannot run faithfully stops it instead of being skipped."""

from __future__ import annotations

import re
import sys
import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from test_github_cli import FakeGitHub

from rehearsal.expressions import Context, ExpressionError, evaluate, evaluate_condition
from rehearsal.forge import Event, git
from rehearsal.runner import GitHubEnvironment, Rehearsal, WorkflowError, triggers

pytestmark = pytest.mark.rehearsal

PIN = "08c6903cd8c0fde910a37f88322edcfb5dd907a8"
VALUES: dict[str, Any] = {
    "github": {
        "repository": "acme/skills",
        "ref": "refs/heads/main",
        "event": {"pull_request": {"head": {"repo": {"full_name": "Acme/Skills"}}}},
    },
    "steps": {"plan": {"outputs": {"status": "2"}}},
    "secrets": {},
    "vars": {},
    "env": {},
    "needs": {},
    "matrix": {"env": "staging"},
}


def ctx(failed: bool = False) -> Context:
    states = {"success": not failed, "failure": failed, "always": True, "cancelled": False}
    return Context(VALUES, status=states.__getitem__)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("github.event.pull_request.head.repo.full_name == github.repository", True),
        ("github.event.pull_request.base.repo.full_name == github.repository", False),
        ("steps.plan.outputs.status == '2'", True),
        ("steps.plan.outputs.status == 2", True),
        ("steps.plan.outputs.status != '0' && steps.plan.outputs.status != '2'", False),
        ("(steps.plan.outputs.status != '2') || github.ref == 'refs/heads/main'", True),
        ("steps.plan.outputs.missing == ''", True),
        ("steps.plan.outputs.missing == null", True),
        ("secrets.NOT_SET", None),
        ("vars.NOT_SET || 'default'", "default"),
        ("!cancelled()", True),
        ("matrix.env", "staging"),
        ("github['ref']", "refs/heads/main"),
        ("'it''s'", "it's"),
    ],
)
def test_expressions_follow_github(text: str, expected: object) -> None:
    assert evaluate(text, ctx()) == expected


@pytest.mark.parametrize(
    "text",
    [
        "contains(github.ref, 'main')",  # a function the rehearsal does not implement
        "runner.os == 'Linux'",  # a context it does not provide
        "steps.stagin.outputs.status == '2'",  # a step id that does not exist
        "github.refs",  # a github property that does not exist
        "steps.plan.outputs.status > 1",  # an operator it does not implement
        "fromJSON('[1]')[0]",
        "github.event.*.sha",
        "steps.plan.outputs.status ==",
    ],
)
def test_what_the_rehearsal_does_not_understand_fails_loudly(text: str) -> None:
    with pytest.raises(ExpressionError):
        evaluate_condition(text, ctx())


def test_an_if_without_a_status_function_implies_success() -> None:
    assert evaluate_condition("steps.plan.outputs.status == '2'", ctx(failed=False))
    assert not evaluate_condition("steps.plan.outputs.status == '2'", ctx(failed=True))
    assert evaluate_condition("${{ always() }}", ctx(failed=True))
    assert evaluate_condition("failure() && steps.plan.outputs.status == '2'", ctx(failed=True))


# --- the runner, on small workflows ---------------------------------------------------


def world(
    tmp_path: Path,
    workflow: str,
    mint: Callable[[Mapping[str, str]], str] | None = None,
    **environments: GitHubEnvironment,
) -> tuple[Rehearsal, Event]:
    origin, work = tmp_path / "origin.git", tmp_path / "work"
    origin.mkdir()
    git(origin, "init", "-q", "--bare", "-b", "main")
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    (work / ".github" / "workflows").mkdir(parents=True)
    (work / ".github" / "workflows" / "w.yml").write_text(textwrap.dedent(workflow))
    (work / "file.txt").write_text("content\n")
    git(work, "add", "--all")
    git(work, "commit", "-q", "-m", "w")
    git(work, "push", "-q", origin.as_uri(), "main")
    sha = git(work, "rev-parse", "HEAD")
    rehearsal = Rehearsal(
        origin=origin,
        workdir=tmp_path / "runner",
        repository="acme/skills",
        api_url="http://127.0.0.1:9",
        token="ghs_not_a_real_token",
        venv_bin=Path(sys.executable).parent,
        environments=dict(environments),
        mint_token=mint,
    )
    return rehearsal, Event("workflow_dispatch", {}, sha, "refs/heads/main")


HEADER = """\
name: w
on: {workflow_dispatch: null}
permissions: {}
defaults: {run: {shell: bash}}
jobs:
"""


def test_steps_share_outputs_env_and_summary_through_githubs_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://leaked@host/db")
    rehearsal, event = world(
        tmp_path,
        HEADER
        + f"""\
          first:
            runs-on: ubuntu-latest
            environment: {{name: staging}}
            outputs: {{greeting: "${{{{ steps.one.outputs.multi }}}}"}}
            env: {{SECRET: "${{{{ secrets.S }}}}", VARIABLE: "${{{{ vars.V }}}}"}}
            steps:
              - uses: actions/checkout@{PIN}
                with: {{persist-credentials: false}}
              - id: one
                run: |
                  {{ echo 'multi<<EOF'; echo 'hello'; echo 'world'; echo EOF; }} >> "$GITHUB_OUTPUT"
                  echo "FROM_ENV_FILE=yes" >> "$GITHUB_ENV"
                  echo "## summary" >> "$GITHUB_STEP_SUMMARY"
                  test -z "${{DATABASE_URL:-}}"
                  test "$(cat file.txt)" = content
                  test "$SECRET" = s3cret && test "$VARIABLE" = v
              - id: two
                continue-on-error: true
                run: test "$FROM_ENV_FILE" = yes && echo '::error file=x::broken' && false
              - if: steps.two.outcome == 'failure' && steps.two.conclusion == 'success'
                run: echo "seen=yes" >> "$GITHUB_OUTPUT"
                id: three
          second:
            needs: first
            runs-on: ubuntu-latest
            steps:
              - env: {{GREETING: "${{{{ needs.first.outputs.greeting }}}}"}}
                run: test "$GREETING" = "$(printf 'hello\\nworld')" && exit 3
          third:
            needs: second
            runs-on: ubuntu-latest
            steps:
              - run: echo never
        """,
        staging=GitHubEnvironment({"S": "s3cret"}, {"V": "v"}),
    )

    run = rehearsal.run("w", event)

    first = run.job("first")
    assert first.result == "success", [(s.name, s.stderr) for s in first.steps]
    assert first.outputs == {"greeting": "hello\nworld"}
    assert first.summary == "## summary\n"
    assert first.step("test \"$FROM_ENV_FILE\" = yes && echo '::error file=x::broken' && false")
    assert [(a.level, a.properties, a.message) for a in first.annotations] == [
        ("error", "file=x", "broken")
    ]
    assert first.steps[-1].outputs == {"seen": "yes"}
    assert run.job("second").result == "failure"
    assert run.job("second").steps[0].exit_code == 3
    assert run.job("third").result == "skipped"
    assert run.conclusion == "failure"


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ("uses: actions/cache@" + PIN, "action 'actions/cache' is not supported"),
        ("uses: actions/checkout@v5", "not pinned by commit sha"),
        ("run: pip install requests", "an install the rehearsal cannot replace"),
        ("{run: echo, working-directory: x}", "keys the rehearsal does not run"),
        ("{run: echo, shell: pwsh}", "shell 'pwsh' is not supported"),
        ("run: echo ${{ hashFiles('x') }}", "function hashFiles() is not supported"),
    ],
)
def test_a_step_the_rehearsal_cannot_run_faithfully_stops_it(
    tmp_path: Path, step: str, message: str
) -> None:
    job = f"  only:\n    runs-on: ubuntu-latest\n    steps:\n      - {step}\n"
    rehearsal, event = world(tmp_path, HEADER + job)
    with pytest.raises((WorkflowError, ExpressionError), match=re.escape(message)):
        rehearsal.run("w", event)


def test_an_environment_the_rehearsal_was_not_given_stops_it(tmp_path: Path) -> None:
    job = "  only:\n    runs-on: ubuntu-latest\n    environment: prod\n    steps: [{run: echo}]\n"
    rehearsal, event = world(tmp_path, HEADER + job)
    with pytest.raises(WorkflowError, match="GitHub environment 'prod' not configured"):
        rehearsal.run("w", event)


@pytest.mark.parametrize(("granted", "result"), [("read", "failure"), ("write", "success")])
def test_a_job_token_can_do_only_what_the_jobs_permissions_grant(
    tmp_path: Path, github_server: Any, github_api: FakeGitHub, granted: str, result: str
) -> None:
    def mint(permissions: Mapping[str, str]) -> str:
        token = f"ghs_job_{len(github_server.tokens)}"
        github_server.tokens[token] = dict(permissions)
        return token

    job = f"""\
      drift:
        runs-on: ubuntu-latest
        permissions: {{contents: read, issues: {granted}}}
        steps:
          - env: {{GITHUB_TOKEN: "${{{{ github.token }}}}"}}
            run: |
              echo "drift" > drift.md
              syncbot github drift-issue --env staging --file drift.md
    """
    rehearsal, event = world(tmp_path, HEADER + textwrap.indent(textwrap.dedent(job), "  "), mint)
    rehearsal.api_url = github_api.url

    run = rehearsal.run("w", event)

    assert run.job("drift").result == result
    assert github_server.tokens[run.job("drift").token] == {"contents": "read", "issues": granted}
    if result == "failure":
        assert "HTTP 403: Resource not accessible by integration" in run.job("drift").log
        assert github_api.issues == []
    else:
        [issue] = github_api.issues
        assert issue["body"].endswith("drift\n")


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (Event("push", {}, "0" * 40, "refs/heads/main", ("skills/a/SKILL.md",)), True),
        (Event("push", {}, "0" * 40, "refs/heads/feature", ("skills/a/SKILL.md",)), False),
        (Event("push", {}, "0" * 40, "refs/heads/main", ("docs/a.md", "README.md")), False),
        (Event("push", {}, "0" * 40, "refs/heads/main", ("syncbot.yaml",)), True),
        (Event("push", {}, "0" * 40, "refs/heads/main", ("syncbot.yaml.bak",)), False),
        (Event("workflow_dispatch", {}, "0" * 40, "refs/heads/feature"), True),
        (Event("pull_request", {}, "0" * 40, "refs/pull/1/merge", ("skills/a",)), False),
    ],
)
def test_triggers_follow_the_branches_and_paths_filters(event: Event, expected: bool) -> None:
    on = {
        "push": {"branches": ["main"], "paths": ["skills/**", "syncbot.yaml"]},
        "workflow_dispatch": None,
    }
    assert triggers(on, event) is expected


def test_a_paths_pattern_the_rehearsal_cannot_match_faithfully_stops_it() -> None:
    event = Event("push", {}, "0" * 40, "refs/heads/main", ("skills/a/SKILL.md",))
    with pytest.raises(WorkflowError, match="paths pattern"):
        triggers({"push": {"paths": ["skills/*/SKILL.md"]}}, event)
