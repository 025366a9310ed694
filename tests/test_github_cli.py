"""`syncbot github ...` against a local server that answers as the GitHub REST API does."""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from click.testing import CliRunner, Result

from syncbot.commands.github_cmds import github_group
from syncbot.errors import TargetError
from syncbot.github import (
    COMMENT_LIMIT,
    SUMMARY_LIMIT,
    GitHubClient,
    GitHubSettings,
    fit,
    marker_tag,
)
from syncbot.plan import Change, Plan
from syncbot.render import render_markdown

TOKEN = "ghs_" + "T0kenT0kenT0kenT0kenT0kenT0ken12"
REPO = "acme/skills"
BOT = "github-actions[bot]"
PR = 7


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any


@dataclass
class FakeGitHub:
    """One repository's issues and issue comments, paginated `page_size` at a time."""

    url: str = ""
    page_size: int = 2
    comments: list[dict[str, Any]] = field(default_factory=list)
    issues: list[dict[str, Any]] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)
    fail_with: tuple[int, str] | None = None
    pulls: list[dict[str, Any]] = field(default_factory=list)
    # GitHub refuses a PR whose head branch does not exist; None accepts any head
    branch_exists: Callable[[str], bool] | None = None

    def add_comment(self, issue: int, body: str, login: str = BOT) -> dict[str, Any]:
        comment_id = 1000 + len(self.comments)
        comment = {
            "id": comment_id,
            "issue": issue,
            "body": body,
            "user": {"login": login, "type": "Bot" if login == BOT else "User"},
            "html_url": f"https://github.com/{REPO}/pull/{issue}#issuecomment-{comment_id}",
        }
        self.comments.append(comment)
        return comment

    def add_issue(self, body: str, labels: list[str], *, pull: bool = False) -> dict[str, Any]:
        number = 100 + len(self.issues)
        issue = {
            "number": number,
            "title": f"issue {number}",
            "body": body,
            "state": "open",
            "labels": [{"name": name} for name in labels],
            "html_url": f"https://github.com/{REPO}/issues/{number}",
        }
        if pull:
            issue["pull_request"] = {"url": "..."}
        self.issues.append(issue)
        return issue

    def add_pull(
        self, head: str, base: str = "main", *, title: str = "", body: str = "", fork: bool = False
    ) -> dict[str, Any]:
        number = 500 + len(self.pulls)
        pull = {
            "number": number,
            "title": title,
            "body": body,
            "state": "open",
            "merged_at": None,
            "closed_at": None,
            "labels": [],
            "head": {
                "ref": head,
                "label": f"{'mallory' if fork else REPO.split('/')[0]}:{head}",
                "repo": {"full_name": "mallory/skills" if fork else REPO},
            },
            "base": {"ref": base},
            "user": {"login": BOT},
            "html_url": f"https://github.com/{REPO}/pull/{number}",
        }
        self.pulls.append(pull)
        return pull

    def close_pull(
        self, number: int, *, at: str = "2030-01-01T00:00:00Z", merged: bool = False
    ) -> None:
        """As a person does in the web interface (merged: as the merge button does)."""
        pull = next(p for p in self.pulls if p["number"] == number)
        pull.update(state="closed", closed_at=at, merged_at=at if merged else None)

    def open_pulls(self) -> list[dict[str, Any]]:
        return [p for p in self.pulls if p["state"] == "open"]

    def mutations(self) -> list[Recorded]:
        return [r for r in self.requests if r.method != "GET"]

    def bot_comments(self, issue: int) -> list[dict[str, Any]]:
        return [c for c in self.comments if c["issue"] == issue and c["user"]["login"] == BOT]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
        pass

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def _handle(self) -> None:
        fake = self.server.fake
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        fake.requests.append(Recorded(self.command, url.path, parse_qs(url.query), body))
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._send(401, {"message": "Bad credentials"})
        if fake.fail_with is not None:
            # Echoes the credential back, as a misconfigured proxy might: it must be masked.
            status, message = fake.fail_with
            return self._send(status, {"message": f"{message} ({self.headers['Authorization']})"})
        if isinstance(body, dict) and len(str(body.get("body", ""))) > COMMENT_LIMIT:
            errors = [{"message": "Body is too long (maximum is 65536 characters)"}]
            return self._send(422, {"message": "Validation Failed", "errors": errors})
        self._route(url.path, parse_qs(url.query), body)

    def _route(self, path: str, query: dict[str, list[str]], body: Any) -> None:
        if path.startswith(f"/repos/{REPO}/pulls") or re.fullmatch(
            rf"/repos/{REPO}/issues/\d+/labels", path
        ):
            return self._pulls(path, query, body)
        fake, prefix = self.server.fake, f"/repos/{REPO}/issues"
        if match := re.fullmatch(rf"{prefix}/(\d+)/comments", path):
            issue = int(match.group(1))
            if self.command == "GET":
                return self._page(path, query, [c for c in fake.comments if c["issue"] == issue])
            return self._send(201, fake.add_comment(issue, body["body"]))
        if match := re.fullmatch(rf"{prefix}/comments/(\d+)", path):
            found = [c for c in fake.comments if c["id"] == int(match.group(1))]
            return self._update(found, body)
        if path == prefix and self.command == "GET":
            label, state = query["labels"][0], query["state"][0]
            listed = [
                i
                for i in fake.issues
                if i["state"] == state and label in [lb["name"] for lb in i["labels"]]
            ]
            return self._page(path, query, listed)
        if path == prefix:
            return self._send(201, fake.add_issue(body["body"], body.get("labels", [])))
        if match := re.fullmatch(rf"{prefix}/(\d+)", path):
            return self._update(
                [i for i in fake.issues if i["number"] == int(match.group(1))], body
            )
        return self._send(404, {"message": "Not Found"})

    def _pulls(self, path: str, query: dict[str, list[str]], body: Any) -> None:
        fake, prefix = self.server.fake, f"/repos/{REPO}/pulls"
        if path == prefix and self.command == "GET":
            state = query.get("state", ["open"])[0]
            listed = [
                p
                for p in fake.pulls
                if state in ("all", p["state"])
                and ("head" not in query or query["head"][0] == p["head"]["label"])
                and ("base" not in query or query["base"][0] == p["base"]["ref"])
            ]
            return self._page(path, query, listed)
        if path == prefix:
            return self._create_pull(body)
        if match := re.fullmatch(rf"{prefix}/(\d+)", path):
            return self._update([p for p in fake.pulls if p["number"] == int(match.group(1))], body)
        if match := re.fullmatch(rf"/repos/{REPO}/issues/(\d+)/labels", path):
            found = [p for p in fake.pulls if p["number"] == int(match.group(1))]
            if not found:
                return self._send(404, {"message": "Not Found"})
            names = [label["name"] for label in found[0]["labels"]]
            found[0]["labels"] += [{"name": n} for n in body["labels"] if n not in names]
            return self._send(200, found[0]["labels"])
        return self._send(404, {"message": "Not Found"})

    def _create_pull(self, body: dict[str, Any]) -> None:
        fake, head = self.server.fake, body["head"]
        if fake.branch_exists is not None and not fake.branch_exists(head):
            errors = [{"message": f"head: {head} does not exist", "field": "head"}]
            return self._send(422, {"message": "Validation Failed", "errors": errors})
        label = f"{REPO.split('/')[0]}:{head}"
        if any(p["head"]["label"] == label and p["state"] == "open" for p in fake.pulls):
            errors = [{"message": f"A pull request already exists for acme:{head}."}]
            return self._send(422, {"message": "Validation Failed", "errors": errors})
        pull = fake.add_pull(head, body["base"], title=body["title"], body=body.get("body", ""))
        return self._send(201, pull)

    def _update(self, found: list[dict[str, Any]], body: dict[str, Any]) -> None:
        if not found:
            return self._send(404, {"message": "Not Found"})
        found[0].update(body)
        return self._send(200, found[0])

    def _page(self, path: str, query: dict[str, list[str]], items: list[dict[str, Any]]) -> None:
        fake = self.server.fake
        page = int(query.get("page", ["1"])[0])
        size = min(int(query.get("per_page", ["30"])[0]), fake.page_size)
        headers = {}
        if page * size < len(items):
            rest = {k: v[0] for k, v in query.items() if k != "page"}
            headers["Link"] = (
                f'<{fake.url}{path}?{urlencode({**rest, "page": page + 1})}>; rel="next"'
            )
        self._send(200, items[(page - 1) * size : page * size], headers)

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    fake: FakeGitHub


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with serve_fake_github() as fake:
        yield fake


@contextmanager
def serve_fake_github() -> Iterator[FakeGitHub]:
    """The local GitHub API server, for this module and the promote --open-prs tests."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.fake = FakeGitHub(url=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server.fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def env(github: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The variables GitHub Actions sets, pointing at the fake; real ones are removed."""
    for name in [n for n in os.environ if n.startswith(("GITHUB_", "SYNCBOT_"))]:
        monkeypatch.delenv(name)
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"number": PR, "pull_request": {"number": PR}}))
    values = {
        "GITHUB_API_URL": github.url,
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_RUN_ID": "4242",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def run(*args: str) -> Result:
    result = CliRunner().invoke(github_group, list(args))
    assert TOKEN not in result.output
    assert TOKEN not in str(result.exception or "")
    return result


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_comment_is_created_then_updated_in_place(
    github: FakeGitHub, env: dict[str, str], tmp_path: Path
) -> None:
    for n in range(6):  # two per page: the bot's comment lands on the fourth page
        github.add_comment(PR, f"review comment {n}", login="reviewer")
    github.add_comment(PR + 1, "<!-- syncbot:syncbot-plan-staging -->\nother PR")
    first = write(tmp_path, "plan1.md", "## Plan for staging\n\n1 change\n")
    second = write(tmp_path, "plan2.md", "## Plan for staging\n\n2 changes\n")

    created = run("comment", "--file", first, "--marker", "syncbot-plan-staging")
    updated = run("comment", "--file", second, "--marker", "syncbot-plan-staging")
    again = run("comment", "--file", second, "--marker", "syncbot-plan-staging")

    assert created.exit_code == 0, created.output
    assert created.output.startswith("comment created https://github.com/acme/skills/pull/7#")
    assert updated.output.startswith("comment updated ")
    assert again.output.startswith("comment unchanged ")
    [comment] = github.bot_comments(PR)
    assert (
        comment["body"]
        == "<!-- syncbot:syncbot-plan-staging -->\n## Plan for staging\n\n2 changes\n"
    )
    assert [(r.method, r.path) for r in github.mutations()] == [
        ("POST", f"/repos/{REPO}/issues/{PR}/comments"),
        ("PATCH", f"/repos/{REPO}/issues/comments/{comment['id']}"),
    ]
    pages = [r.query.get("page", ["1"])[0] for r in github.requests if r.method == "GET"]
    assert pages == ["1", "2", "3", *["1", "2", "3", "4"] * 2]


def test_each_marker_has_its_own_comment(
    github: FakeGitHub, env: dict[str, str], tmp_path: Path
) -> None:
    plan = write(tmp_path, "plan.md", "no changes\n")
    run("comment", "--file", plan, "--marker", "syncbot-plan-staging")
    run("comment", "--file", plan, "--marker", "syncbot-plan-production")
    run("comment", "--file", plan, "--marker", "syncbot-plan-staging")

    bodies = sorted(c["body"].splitlines()[0] for c in github.bot_comments(PR))
    assert bodies == [marker_tag("syncbot-plan-production"), marker_tag("syncbot-plan-staging")]


def test_a_humans_comment_with_the_marker_is_not_taken_over(
    github: FakeGitHub, env: dict[str, str], tmp_path: Path
) -> None:
    human = github.add_comment(PR, f"{marker_tag('syncbot-plan-staging')}\nfake plan", "mallory")
    plan = write(tmp_path, "plan.md", "the real plan\n")

    result = run("comment", "--file", plan, "--marker", "syncbot-plan-staging", "--pr", str(PR))

    assert result.output.startswith("comment created ")
    assert human["body"].endswith("fake plan")
    assert github.bot_comments(PR)[0]["body"].endswith("the real plan\n")


def test_an_oversized_plan_is_cut_at_a_line_boundary_with_a_note(
    github: FakeGitHub, env: dict[str, str], tmp_path: Path
) -> None:
    lines = [f"+ skill-{n:05d}: analiză contract {'x' * 40}\n" for n in range(3000)]
    plan = "## Plan\n\n```diff\n" + "".join(lines) + "```\n"
    assert len(plan) > COMMENT_LIMIT

    result = run("comment", "--file", write(tmp_path, "big.md", plan), "--marker", "p")

    assert result.exit_code == 0, result.output
    body = github.bot_comments(PR)[0]["body"]
    assert len(body) <= COMMENT_LIMIT and len(body.encode()) <= COMMENT_LIMIT
    shown, note = body.split("\n```\n\n---\n")
    assert plan.startswith(shown.removeprefix(marker_tag("p") + "\n") + "\n")
    assert shown.endswith("x" * 40)  # a whole line, not a cut one
    assert "65,536" in note
    assert "[workflow run 4242](https://github.com/acme/skills/actions/runs/4242)" in note


def test_summary_is_appended_and_trimmed_below_one_mebibyte(
    env: dict[str, str], tmp_path: Path
) -> None:
    summary = Path(env["GITHUB_STEP_SUMMARY"])
    summary.write_text("## earlier output\n", encoding="utf-8")
    small = write(tmp_path, "small.md", "small plan")
    big = write(tmp_path, "big.md", "".join(f"line {n} {'y' * 60}\n" for n in range(40_000)))

    assert run("summary", "--file", small).exit_code == 0
    result = run("summary", "--file", big)

    assert result.exit_code == 0, result.output
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("## earlier output\nsmall plan\nline 0 ")
    assert summary.stat().st_size < SUMMARY_LIMIT
    assert text.endswith("**Truncated**: a job summary holds at most 1 MiB per step.\n")
    assert text.split("\n---\n")[0].endswith("y" * 60 + "\n")


def test_drift_issue_is_opened_updated_and_closed(
    github: FakeGitHub, env: dict[str, str], tmp_path: Path
) -> None:
    production = github.add_issue(marker_tag("drift-production") + "\nother env", ["syncbot-drift"])
    github.add_issue(marker_tag("drift-staging") + "\nnot labelled", ["bug"])
    github.add_issue(marker_tag("drift-staging") + "\na pull request", ["syncbot-drift"], pull=True)

    opened = run("drift-issue", "--env", "staging", "--file", write(tmp_path, "a.md", "drift A\n"))
    updated = run("drift-issue", "--env", "staging", "--file", write(tmp_path, "b.md", "drift B\n"))
    closed = run("drift-issue", "--env", "staging", "--resolved")
    idle = run("drift-issue", "--env", "staging", "--resolved")

    assert opened.output.startswith("drift issue (staging): created https://github.com/acme/")
    assert updated.output.startswith("drift issue (staging): updated ")
    assert closed.output.startswith("drift issue (staging): closed ")
    assert idle.output == "drift issue (staging): nothing to close\n"
    issue = github.issues[-1]
    assert issue["labels"] == [{"name": "syncbot-drift"}]
    assert issue["body"].startswith(marker_tag("drift-staging")) and issue["body"].endswith(
        "drift B\n"
    )
    assert (issue["state"], issue["state_reason"]) == ("closed", "completed")
    assert production["state"] == "open"
    assert [(r.method, r.path) for r in github.mutations()] == [
        ("POST", f"/repos/{REPO}/issues"),
        ("PATCH", f"/repos/{REPO}/issues/{issue['number']}"),
        ("POST", f"/repos/{REPO}/issues/{issue['number']}/comments"),
        ("PATCH", f"/repos/{REPO}/issues/{issue['number']}"),
    ]
    listing = [r.query for r in github.requests if r.path == f"/repos/{REPO}/issues"]
    assert listing[0] == {"labels": ["syncbot-drift"], "state": ["open"], "per_page": ["100"]}


def _refused_plan(env: str) -> Plan:
    change = Change(
        "db",
        "update",
        "rollout",
        "nda-drafting",
        "changed in git",
        {"percentage": "5"},
        {"percentage": "25"},
        blocked="the soak of 72 h ends 2026-12-04 10:00Z",
        allowed_from="2026-12-04T10:00:00Z",
    )
    return Plan(env, "c0ffee", (change,))


def test_an_incomplete_drift_check_opens_the_issue_and_never_closes_it(
    github: FakeGitHub, env: dict[str, str], tmp_path: Path
) -> None:
    blind = Plan("staging", "c0ffee", (), uncompared={"cache": "connection refused"})
    plan = write(tmp_path, "drift.md", render_markdown(blind))

    opened = run("drift-issue", "--env", "staging", "--file", plan, "--incomplete")
    again = run("drift-issue", "--env", "staging", "--file", plan, "--incomplete")
    refused = run("drift-issue", "--env", "staging", "--resolved", "--incomplete")

    assert opened.output.startswith("drift issue (staging): created ")
    assert again.output.startswith("drift issue (staging): unchanged ")
    assert refused.exit_code == 2 and "an incomplete check never closes" in refused.output
    (issue,) = github.issues
    assert issue["state"] == "open"
    body = issue["body"]
    assert "## Live `staging` could not be checked against `main`" in body
    assert "**Not compared**: `cache` of `staging` could not be read (connection refused)" in body
    assert "differs from" not in body


def test_combined_plans_put_every_refusal_at_the_very_top(tmp_path: Path) -> None:
    staging = write(tmp_path, "plan-staging.md", render_markdown(Plan("staging", "c0ffee", ())))
    production = write(tmp_path, "plan-production.md", render_markdown(_refused_plan("production")))
    out = tmp_path / "plan.md"
    result = run("combine", "--title", "syncbot plans", "--out", str(out), staging, production)
    assert result.exit_code == 0, result.output
    text = out.read_text()
    lines = text.splitlines()
    assert lines[:4] == [
        "## syncbot plans",
        "",
        "> [!CAUTION]",
        "> **Apply will refuse this plan** for `production`: 1 change is refused by policy.",
    ]
    assert "**allowed from 2026-12-04T10:00:00Z**" in lines[4]
    assert text.index("plan: `staging`") < text.index("plan: `production`")
    assert text.count("Apply will refuse this plan") == 2  # at the top, and in its own plan
    clean = tmp_path / "clean.md"
    run("combine", "--title", "syncbot plans", "--out", str(clean), staging, staging)
    assert "[!CAUTION]" not in clean.read_text()


def test_drift_issue_needs_exactly_one_of_file_and_resolved(env: dict[str, str]) -> None:
    result = run("drift-issue", "--env", "staging")
    assert result.exit_code == 2
    assert "exactly one of --file and --resolved" in result.output


def test_an_api_error_is_a_target_error_without_the_token(
    github: FakeGitHub, env: dict[str, str], tmp_path: Path
) -> None:
    github.fail_with = (500, "Server Error")

    result = run("comment", "--file", write(tmp_path, "p.md", "plan\n"), "--marker", "p")

    assert result.exit_code == 1
    assert isinstance(result.exception, TargetError)
    assert str(result.exception) == (
        f"github: GET /repos/{REPO}/issues/{PR}/comments: HTTP 500: Server Error (Bearer ***)"
    )


def test_an_unreachable_api_is_a_target_error_from_httpx(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_API_URL", "http://127.0.0.1:9")  # discard port: refused

    result = run("drift-issue", "--env", "staging", "--resolved")

    assert isinstance(result.exception, TargetError)
    assert str(result.exception).startswith(f"github: GET /repos/{REPO}/issues: ConnectError")
    assert isinstance(result.exception.__cause__, httpx.ConnectError)


def test_missing_token_is_one_clear_error(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_TOKEN")
    result = run("comment", "--file", write(tmp_path, "p.md", "plan\n"), "--marker", "p")
    assert str(result.exception) == "github: GITHUB_TOKEN not set (run inside GitHub Actions)"


def test_a_marker_that_could_close_the_html_comment_is_refused(
    env: dict[str, str], tmp_path: Path
) -> None:
    result = run("comment", "--file", write(tmp_path, "p.md", "x\n"), "--marker", "a-->b")
    assert result.exit_code == 2
    assert "Invalid value for '--marker'" in result.output


def test_pagination_never_follows_a_link_off_the_api_host() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        link = '<https://elsewhere.example/steal?page=2>; rel="next"'
        return httpx.Response(200, json=[{"id": 1}], headers={"Link": link})

    settings = GitHubSettings(token=TOKEN, repository=REPO)
    with (
        GitHubClient(settings, transport=httpx.MockTransport(handler)) as client,
        pytest.raises(TargetError, match=r"pagination link leaves api\.github\.com"),
    ):
        list(client.paginate("/repos/acme/skills/issues", {}))
    assert seen == ["https://api.github.com/repos/acme/skills/issues?per_page=100"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("short\n", "short\n"),
        ("a\nbb\n" + "c" * 600 + "\n", "a\nbb\n[cut]"),
        ("```\none\n" + "two\n" * 200, "```\none\n" + "two\n" * 73 + "```\n[cut]"),
        ("<details>\n\n" + "row\n" * 200, "<details>\n\n" + "row\n" * 72 + "</details>\n[cut]"),
    ],
)
def test_fit_keeps_whole_lines_and_closes_open_blocks(text: str, expected: str) -> None:
    # The limit leaves 300 bytes after the 200 reserved for closers and the note.
    assert fit(text, 505, "[cut]") == expected
