"""GitHub REST API for the workflows: the sticky plan comment, the job summary, the drift issue.

Only what `syncbot github ...` needs. Every failure leaves this module as
`TargetError("github", ...)` with the token masked, and the token is only ever sent to the
API host named by `GITHUB_API_URL`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from syncbot.errors import TargetError
from syncbot.redact import redact_text
from syncbot.render import BANNER_END, BANNER_START

__all__ = [
    "COMMENT_LIMIT",
    "DRIFT_LABEL",
    "SUMMARY_LIMIT",
    "GitHubClient",
    "GitHubSettings",
    "Outcome",
    "append_summary",
    "check_marker",
    "close_drift_issue",
    "combine_plans",
    "fit",
    "marker_tag",
    "pr_number_from_event",
    "report_drift",
    "upsert_comment",
]

# GitHub answers 422 "Body is too long" past 65,536 characters (comments and issue bodies).
COMMENT_LIMIT = 65_536
# Per step; past it the summary upload is aborted ("supports content up to a size of 1024k").
SUMMARY_LIMIT = 1024 * 1024
DRIFT_LABEL = "syncbot-drift"
_MAX_PAGES = 100
_MARKER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_REPOSITORY = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_MAX_BANNER_LINES = 40  # per environment, lifted to the top of a combined comment


@dataclass(frozen=True)
class GitHubSettings:
    """Where to talk to, read from the variables GitHub Actions sets."""

    token: str = field(repr=False)
    repository: str
    api_url: str = "https://api.github.com"
    server_url: str = "https://github.com"
    run_id: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> GitHubSettings:
        """Read the GITHUB_ variables: TOKEN, REPOSITORY, API_URL, SERVER_URL, RUN_ID."""
        token = environ.get("GITHUB_TOKEN", "")
        repository = environ.get("GITHUB_REPOSITORY", "")
        missing = [
            name
            for name, value in (("GITHUB_TOKEN", token), ("GITHUB_REPOSITORY", repository))
            if not value
        ]
        if missing:
            raise TargetError(
                "github", f"{' and '.join(missing)} not set (run inside GitHub Actions)"
            )
        if not _REPOSITORY.fullmatch(repository):
            raise TargetError("github", f"GITHUB_REPOSITORY is not owner/name: {repository!r}")
        return cls(
            token=token,
            repository=repository,
            api_url=environ.get("GITHUB_API_URL") or cls.api_url,
            server_url=environ.get("GITHUB_SERVER_URL") or cls.server_url,
            run_id=environ.get("GITHUB_RUN_ID") or None,
        )

    @property
    def run_url(self) -> str | None:
        """The web page of this workflow run, where the job summaries are."""
        if self.run_id is None:
            return None
        return f"{self.server_url.rstrip('/')}/{self.repository}/actions/runs/{self.run_id}"

    def run_link(self) -> str:
        """A Markdown link to this run, for notes that point readers at the full text."""
        if self.run_url is None:
            return "the workflow run"
        return f"[workflow run {self.run_id}]({self.run_url})"


@dataclass(frozen=True)
class Outcome:
    """What a command did: created, updated, unchanged, closed or nothing; and the page."""

    action: str
    url: str | None = None

    def __str__(self) -> str:
        return self.action if self.url is None else f"{self.action} {self.url}"


class GitHubClient:
    """A small REST client: JSON requests, Link-header pagination, errors as TargetError."""

    def __init__(
        self, settings: GitHubSettings, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.settings = settings
        self.repo_path = f"/repos/{settings.repository}"
        self._http = httpx.Client(
            base_url=settings.api_url,
            headers={
                "Authorization": f"Bearer {settings.token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
                "User-Agent": "syncbot",
            },
            timeout=30.0,
            # retries= covers connection failures only; a request that reached GitHub is
            # not sent twice, so a POST cannot create a second comment.
            transport=transport or httpx.HTTPTransport(retries=2),
        )

    def __enter__(self) -> GitHubClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._http.close()

    def request(self, method: str, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Send one JSON request and return the JSON object GitHub answers with."""
        answer = _json(self._send(method, path, json=body), method, path)
        if not isinstance(answer, dict):
            raise TargetError("github", f"{method} {path}: expected a JSON object")
        return answer

    def request_list(self, method: str, path: str, body: Mapping[str, Any]) -> list[Any]:
        """Send one JSON request to an endpoint that answers with a list (issue labels)."""
        answer = _json(self._send(method, path, json=body), method, path)
        if not isinstance(answer, list):
            raise TargetError("github", f"{method} {path}: expected a JSON list")
        return answer

    def paginate(self, path: str, params: Mapping[str, str]) -> Iterator[dict[str, Any]]:
        """Yield every item of a list endpoint, following `Link: <...>; rel="next"`."""
        url: str = path
        query: dict[str, str] | None = {**params, "per_page": "100"}
        for _ in range(_MAX_PAGES):
            response = self._send("GET", url, params=query)
            page = _json(response, "GET", path)
            if not isinstance(page, list):
                raise TargetError("github", f"GET {path}: expected a JSON list")
            yield from (item for item in page if isinstance(item, dict))
            next_url = response.links.get("next", {}).get("url")
            if next_url is None:
                return
            self._check_same_origin(next_url, path)
            # The next link carries the whole query; params={} would erase it.
            url, query = next_url, None
        raise TargetError("github", f"GET {path}: more than {_MAX_PAGES} pages")

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise self._error(f"{method} {_path(url)}: {type(exc).__name__}: {exc}") from exc
        if response.is_error:
            message = _error_message(response)
            raise self._error(f"{method} {_path(url)}: HTTP {response.status_code}: {message}")
        return response

    def _check_same_origin(self, url: str, path: str) -> None:
        # The token goes with every request: never follow a link off the API host.
        target, base = httpx.URL(url), self._http.base_url
        if (target.scheme, target.host, target.port) != (base.scheme, base.host, base.port):
            raise self._error(f"GET {path}: pagination link leaves {base.host}: {target.host}")

    def _error(self, message: str) -> TargetError:
        return TargetError("github", redact_text(message, (self.settings.token,)))


def _path(url: str) -> str:
    return httpx.URL(url).path


def _json(response: httpx.Response, method: str, path: str) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise TargetError("github", f"{method} {path}: answer is not JSON") from exc


def _error_message(response: httpx.Response) -> str:
    """GitHub's own words: `message`, plus the `errors[].message` of a 422."""
    try:
        payload = response.json()
    except ValueError:
        return response.reason_phrase
    if not isinstance(payload, dict):
        return response.reason_phrase
    details = [
        e["message"] for e in payload.get("errors", []) if isinstance(e, dict) and "message" in e
    ]
    return "; ".join([str(payload.get("message", response.reason_phrase)), *map(str, details)])


def check_marker(marker: str) -> str:
    """A marker goes inside an HTML comment, so only a safe alphabet is allowed."""
    if not _MARKER.fullmatch(marker):
        raise ValueError(f"{marker!r}: use letters, digits, '.', '_' and '-' (at most 100)")
    return marker


def marker_tag(marker: str) -> str:
    """The hidden first line by which the bot finds its own comment or issue again."""
    return f"<!-- syncbot:{check_marker(marker)} -->"


def pr_number_from_event(event_path: str | None) -> int:
    """The pull request number from the event payload GitHub writes to GITHUB_EVENT_PATH."""
    if not event_path:
        raise TargetError("github", "no --pr given and GITHUB_EVENT_PATH not set")
    try:
        event = json.loads(Path(event_path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TargetError("github", f"cannot read the event payload {event_path}: {exc}") from exc
    pull = event.get("pull_request") if isinstance(event, dict) else None
    number = pull.get("number") if isinstance(pull, dict) else None
    if not isinstance(number, int) or isinstance(number, bool):
        raise TargetError("github", f"{event_path} is not a pull_request event; pass --pr")
    return number


def fit(text: str, limit: int, note: str) -> str:
    """Return `text`, or its longest run of whole lines that fits `limit` with `note` added.

    Sizes are UTF-8 bytes: never fewer than characters, so the result fits whichever
    GitHub counts. A Markdown code fence or `<details>` left open by the cut is closed
    first, so the note renders as text.
    """
    if _size(text) <= limit:
        return text
    kept = _whole_lines(text, limit - _size(note) - _CLOSERS_RESERVE)
    return kept + _closers(kept) + note


_CLOSERS_RESERVE = 200  # room for the fence and </details> lines _closers() may add


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def _whole_lines(text: str, budget: int) -> str:
    kept: list[str] = []
    for line in text.splitlines(keepends=True):
        budget -= _size(line)
        if budget < 0:
            break
        kept.append(line)
    return "".join(kept)


def _closers(kept: str) -> str:
    fence: str | None = None
    for line in kept.splitlines():
        match = _FENCE.match(line)
        if match is None:
            continue
        mark = match.group(1)
        if fence is None:
            fence = mark
        elif mark[0] == fence[0] and len(mark) >= len(fence) and not line.strip(" `~"):
            fence = None
    open_details = kept.count("<details") - kept.count("</details>")
    closing = "" if fence is None else f"{fence[:20]}\n"
    return closing + "</details>\n" * max(0, min(open_details, 5))


def upsert_comment(
    client: GitHubClient, pr: int, marker: str, text: str, *, author: str | None
) -> Outcome:
    """Create the one sticky comment of `marker` on the PR, or update it in place."""
    note = (
        "\n---\n**Truncated**: GitHub limits a comment to 65,536 characters. "
        f"The full text is in the job summary of {client.settings.run_link()}.\n"
    )
    body = fit(f"{marker_tag(marker)}\n{text}", COMMENT_LIMIT, note)
    existing = _find_comment(client, pr, marker_tag(marker), author)
    if existing is None:
        created = client.request("POST", f"{client.repo_path}/issues/{pr}/comments", {"body": body})
        return Outcome("created", created.get("html_url"))
    if existing.get("body") == body:
        return Outcome("unchanged", existing.get("html_url"))
    path = f"{client.repo_path}/issues/comments/{existing['id']}"
    return Outcome("updated", client.request("PATCH", path, {"body": body}).get("html_url"))


def _find_comment(
    client: GitHubClient, pr: int, tag: str, author: str | None
) -> dict[str, Any] | None:
    # Filtering by author keeps a human's comment that quotes the marker from being taken
    # over, and keeps the plan in a comment that PR authors cannot edit.
    for comment in client.paginate(f"{client.repo_path}/issues/{pr}/comments", {}):
        login = (comment.get("user") or {}).get("login")
        if str(comment.get("body") or "").startswith(tag) and author in (None, login):
            return comment
    return None


def append_summary(summary_path: str | None, text: str) -> int:
    """Append `text` to the step summary, trimmed so the file stays below 1 MiB.

    Returns the number of bytes written.
    """
    if not summary_path:
        raise TargetError("github", "GITHUB_STEP_SUMMARY not set (run inside GitHub Actions)")
    path = Path(summary_path)
    used = path.stat().st_size if path.exists() else 0
    note = "\n---\n**Truncated**: a job summary holds at most 1 MiB per step.\n"
    budget = SUMMARY_LIMIT - 1 - used
    if budget < _size(note) + _CLOSERS_RESERVE:
        raise TargetError("github", f"{summary_path}: the step summary is already full")
    chunk = fit(text if text.endswith("\n") else text + "\n", budget, note)
    with path.open("a", encoding="utf-8") as out:
        out.write(chunk)
    return _size(chunk)


def report_drift(client: GitHubClient, env: str, plan: str, *, incomplete: bool = False) -> Outcome:
    """Open the drift issue of `env` with the plan, or update the body of the open one.

    `incomplete`: the check could not say that live equals `main` (a target could not be
    read, or apply would refuse the plan): the issue is opened or kept open, saying so.
    """
    tag = marker_tag(f"drift-{env}")
    settings = client.settings
    heading = _drift_heading(env, incomplete)
    text = f"{tag}\n{heading}\n\nFound by the drift check in {settings.run_link()}. "
    text += (
        "The top of the plan below says which target could not be compared, or what apply "
        "would refuse. This issue is closed only when every target was compared and "
        "nothing differs.\n\n"
        if incomplete
        else "Merge a change that describes the live state, or re-run the apply workflow "
        "to put `main` back.\n\n"
    )
    text += plan
    note = f"\n---\n**Truncated**: the full plan is in the job summary of {settings.run_link()}.\n"
    body = fit(text, COMMENT_LIMIT, note)
    issue = _find_drift_issue(client, tag)
    if issue is None:
        fields = {"title": f"syncbot: drift in {env}", "body": body, "labels": [DRIFT_LABEL]}
        return Outcome(
            "created", client.request("POST", f"{client.repo_path}/issues", fields).get("html_url")
        )
    if issue.get("body") == body:
        return Outcome("unchanged", issue.get("html_url"))
    path = f"{client.repo_path}/issues/{issue['number']}"
    return Outcome("updated", client.request("PATCH", path, {"body": body}).get("html_url"))


def _drift_heading(env: str, incomplete: bool) -> str:
    if incomplete:
        return f"## Live `{env}` could not be checked against `main`"
    return f"## Live `{env}` differs from `main`"


def combine_plans(title: str, plans: list[str]) -> str:
    """One Markdown document of several plans (one per environment), under `title`.

    Every refusal and not-compared banner is also lifted to the very top, so that a
    reviewer sees "apply will refuse this" before any table.
    """
    banners = [block for plan in plans for block in _banners(plan)]
    out = [f"## {title}", ""]
    for block in banners:
        out += [*block, ""]
    for plan in plans:
        out += [plan.rstrip("\n"), ""]
    return "\n".join(out)


def _banners(plan: str) -> list[list[str]]:
    blocks: list[list[str]] = []
    current: list[str] | None = None
    for line in plan.splitlines():
        if line == BANNER_START:
            current = []
        elif line == BANNER_END and current is not None:
            blocks.append(_trim(current))
            current = None
        elif current is not None:
            current.append(line)
    return blocks


def _trim(lines: list[str]) -> list[str]:
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    if len(lines) <= _MAX_BANNER_LINES:
        return lines
    return [*lines[:_MAX_BANNER_LINES], "> … (the full list is in the plan below)"]


def close_drift_issue(client: GitHubClient, env: str) -> Outcome:
    """Close the open drift issue of `env` with a comment; nothing if none is open."""
    issue = _find_drift_issue(client, marker_tag(f"drift-{env}"))
    if issue is None:
        return Outcome("nothing to close")
    path = f"{client.repo_path}/issues/{issue['number']}"
    note = f"Resolved: live `{env}` matches `main` again (checked by {client.settings.run_link()})."
    client.request("POST", f"{path}/comments", {"body": note})
    closed = client.request("PATCH", path, {"state": "closed", "state_reason": "completed"})
    return Outcome("closed", closed.get("html_url"))


def _find_drift_issue(client: GitHubClient, tag: str) -> dict[str, Any] | None:
    params = {"labels": DRIFT_LABEL, "state": "open"}
    for issue in client.paginate(f"{client.repo_path}/issues", params):
        # The issues list also returns pull requests; they carry a pull_request key.
        if "pull_request" not in issue and str(issue.get("body") or "").startswith(tag):
            return issue
    return None
