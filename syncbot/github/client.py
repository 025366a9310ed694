"""A small GitHub REST client: the settings Actions provides, JSON requests, pagination.

Every failure leaves this module as `TargetError("github", ...)` with the token masked, and
the token is only ever sent to the API host named by `GITHUB_API_URL`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import httpx

from syncbot.errors import TargetError
from syncbot.redact import redact_text

_MAX_PAGES = 100
_REPOSITORY = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")


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

    def get(self, path: str) -> dict[str, Any]:
        return self.request("GET", path)

    def post(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return self.request("POST", path, body)

    def patch(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return self.request("PATCH", path, body)

    def request(
        self, method: str, path: str, body: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
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
