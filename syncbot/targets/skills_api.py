"""The Skills API client on httpx: both dialects, retries, circuit breaker, no duplicate creates.

Dialects (reference/skills-api.md): the current surface (`display_name`, `latest_version_id`,
versions addressed by id) by default; the legacy beta dialect (`display_title`,
`latest_version`, versions addressed by epoch strings) when a beta version is configured.

Creates are POSTs without an idempotency key, so a blind retry can make a second skill.
A create is retried freely only after a failure that proves the server did not apply it;
after an ambiguous one (timeout, lost response, 500) the client first looks for what the
lost attempt may have made, and adopts it.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Literal, TypeVar
from urllib.parse import quote

import httpx

from syncbot import __version__
from syncbot.desired import SkillFile
from syncbot.errors import ApiError, TargetError
from syncbot.live import ApiListing, ApiSkill, ApiVersion
from syncbot.marker import marker_of_zip, with_marker
from syncbot.redact import redact_text, redact_url
from syncbot.targets.retry import Backoff, CircuitBreaker, RateGate, server_delay

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

TARGET = "skills-api"
ANTHROPIC_VERSION = "2023-06-01"
_READ_TIMEOUT_CAP_S = 30.0
_CONNECT_TIMEOUT_S = 5.0
_VERSIONS_PAGE_SIZE = 100
# Server timestamps are compared with our clock when adopting a lost create; this allows
# for second-resolution rounding and ordinary NTP drift, and no more: on create_version
# every version of a skill carries the same name, so only the time tells ours apart.
_CLOCK_SKEW = timedelta(seconds=2)
# Statuses that prove a POST was not applied (rejected before any change was made).
_UNAPPLIED_5XX = frozenset({503, 529})
_RETRY_4XX = frozenset({408, 409, 429})


@dataclass(frozen=True)
class ApiSettings:
    base_url: str = "https://api.anthropic.com"
    api_key: str = field(default="", repr=False)
    beta_version: str | None = None
    timeout_ms: int = 60_000
    max_retries: int = 4
    concurrency: int = 8
    breaker_threshold: int = 3
    breaker_reset_s: float = 10.0

    def __post_init__(self) -> None:
        if self.timeout_ms <= 0 or self.concurrency < 1 or self.max_retries < 0:
            raise ValueError("timeout_ms and concurrency must be positive, max_retries >= 0")


class OutcomeUnknownError(TargetError):
    """A create may or may not have been applied, and checking for it failed too."""


class ApiStats:
    """Thread-safe counters: HTTP attempts, retries, successful creates, attempts per endpoint."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests = 0
        self._retries = 0
        self._uploads = 0
        self._by_endpoint: dict[str, int] = {}

    @property
    def requests(self) -> int:
        return self._requests

    @property
    def retries(self) -> int:
        return self._retries

    @property
    def uploads(self) -> int:
        return self._uploads

    @property
    def by_endpoint(self) -> dict[str, int]:
        with self._lock:
            return dict(self._by_endpoint)

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": self._requests,
                "retries": self._retries,
                "uploads": self._uploads,
                "by_endpoint": dict(sorted(self._by_endpoint.items())),
            }

    def _count_request(self, endpoint: str) -> None:
        with self._lock:
            self._requests += 1
            self._by_endpoint[endpoint] = self._by_endpoint.get(endpoint, 0) + 1

    def _count_retry(self) -> None:
        with self._lock:
            self._retries += 1

    def _count_upload(self) -> None:
        with self._lock:
            self._uploads += 1


@dataclass(frozen=True)
class _Call:
    endpoint: str
    method: str
    path: str
    params: Mapping[str, str | int] = field(default_factory=dict)
    files: Sequence[tuple[str, tuple[str, bytes]]] | None = None
    form: Mapping[str, str] | None = None
    headers: Mapping[str, str] | None = None

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


class _AttemptFailed(Exception):
    """One failed HTTP attempt, with what the retry loop needs to decide."""

    def __init__(
        self,
        error: TargetError,
        *,
        retry: bool,
        ambiguous: bool,
        delay: float | None = None,
        rate_limited: bool = False,
        cause: BaseException | None = None,
    ) -> None:
        super().__init__(error.message)
        self.error = error
        self.retry = retry
        self.ambiguous = ambiguous  # the server may have applied the request
        self.delay = delay
        self.rate_limited = rate_limited
        self.cause = cause


class SkillsApiClient:
    """Synchronous, thread-safe client for the Skills API (see the module docstring)."""

    def __init__(
        self,
        settings: ApiSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self.dialect: Literal["current", "legacy"] = (
            "legacy" if settings.beta_version else "current"
        )
        self.stats = ApiStats()
        self._sleep = sleep
        self._rng = rng
        self._backoff = Backoff()
        self._gate = RateGate(clock)
        self._breaker = CircuitBreaker(
            TARGET, settings.breaker_threshold, settings.breaker_reset_s, clock
        )
        self._secrets = (settings.api_key,) if settings.api_key else ()
        self._http = httpx.Client(
            base_url=settings.base_url,
            headers=self._default_headers(),
            transport=transport,
            limits=httpx.Limits(max_connections=max(10, 2 * settings.concurrency)),
        )

    def _default_headers(self) -> dict[str, str]:
        headers = {
            "anthropic-version": ANTHROPIC_VERSION,
            "accept": "application/json",
            "user-agent": f"syncbot/{__version__}",
        }
        if self._settings.api_key:
            headers["x-api-key"] = self._settings.api_key
        if self._settings.beta_version:
            headers["anthropic-beta"] = self._settings.beta_version
        return headers

    def __repr__(self) -> str:
        url = redact_url(self._settings.base_url)
        return f"SkillsApiClient(base_url={url!r}, dialect={self.dialect!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SkillsApiClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ----------------------------------------------------------------- reads

    def list_skills(self, *, source: str | None = "custom", page_size: int = 100) -> ApiListing:
        """Every skill, all pages. Any failure raises: a partial listing is never returned."""
        params: dict[str, str | int] = {"source": source} if source else {}
        rows = self._paginate("list_skills", "/v1/skills", params, page_size)
        return ApiListing(skills=tuple(self._skill(row) for row in rows), complete=True)

    def get_skill(self, skill_id: str) -> ApiSkill | None:
        call = _Call("get_skill", "GET", _skill_path(skill_id))
        try:
            return self._run(call, lambda r: self._decode(call, r, self._skill))
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    def list_versions(self, skill_id: str) -> list[ApiVersion]:
        path = _skill_path(skill_id) + "/versions"
        rows = self._paginate("list_versions", path, {}, _VERSIONS_PAGE_SIZE)
        return [self._version(row) for row in rows]

    def get_version(self, skill_id: str, address: str) -> ApiVersion:
        call = _Call("get_version", "GET", _version_path(skill_id, address))
        return self._run(call, lambda r: self._decode(call, r, self._version))

    def download_version(self, skill_id: str, address: str) -> bytes:
        """A version's content: a zip of the skill folder, as the API stores it."""
        path = _version_path(skill_id, address) + "/content"
        call = _Call("download_version", "GET", path, headers={"accept": "application/binary"})
        return self._run(call, lambda r: r.content)

    def version_marker(self, skill_id: str, address: str) -> str | None:
        """The ownership nonce the version's SKILL.md carries (see syncbot.marker), or None."""
        return marker_of_zip(self.download_version(skill_id, address))

    # ----------------------------------------------------------------- writes

    def create_skill(
        self,
        name: str,
        display_name: str,
        files: Sequence[SkillFile],
        *,
        nonce: str | None = None,
    ) -> tuple[ApiSkill, ApiVersion]:
        """Create a skill and its first version; a lost answer is found, never re-created.

        With a `nonce`, SKILL.md carries it (the ownership marker) and a lost answer is
        matched by it alone: another skill of the same name made at the same moment (by
        another environment on the workspace) is never taken for ours.
        """
        since = datetime.now(UTC) - _CLOCK_SKEW
        form = {self._display_field: display_name} if display_name else None
        parts = _parts(name, with_marker(files, nonce) if nonce else files)
        call = _Call("create_skill", "POST", "/v1/skills", files=parts, form=form)
        created = self._run(
            call,
            lambda r: self._with_first_version(self._decode(call, r, self._skill), name),
            reconcile=lambda: self._find_new_skill(name, display_name, since, nonce),
        )
        self.stats._count_upload()
        return created

    def create_version(
        self, skill_id: str, name: str, files: Sequence[SkillFile], *, nonce: str | None = None
    ) -> ApiVersion:
        """Upload a new version; a lost answer is found (by its nonce), never uploaded twice."""
        since = datetime.now(UTC) - _CLOCK_SKEW
        path = _skill_path(skill_id) + "/versions"
        parts = _parts(name, with_marker(files, nonce) if nonce else files)
        call = _Call("create_version", "POST", path, files=parts)
        version = self._run(
            call,
            lambda r: self._decode(call, r, self._version),
            reconcile=lambda: self._find_new_version(skill_id, name, since, nonce),
        )
        self.stats._count_upload()
        return version

    def delete_version(self, skill_id: str, address: str) -> None:
        """Delete one version; already gone (404) counts as done, so a retry is harmless."""
        self._delete(_Call("delete_version", "DELETE", _version_path(skill_id, address)))

    def delete_skill(self, skill_id: str) -> None:
        """Delete a skill; on the legacy dialect its versions first (the API refuses otherwise)."""
        if self.dialect == "legacy":
            try:
                versions = self.list_versions(skill_id)
            except ApiError as exc:
                if exc.status == 404:
                    return
                raise
            for version in versions:
                self.delete_version(skill_id, version.address)
        self._delete(_Call("delete_skill", "DELETE", _skill_path(skill_id)))

    def map_concurrent(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R | Exception]:
        """Run fn over items on at most `concurrency` threads; results (or errors) in order."""

        def guarded(item: T) -> R | Exception:
            try:
                return fn(item)
            except Exception as exc:  # handed back to the caller, in place of the result
                return exc

        with ThreadPoolExecutor(max_workers=self._settings.concurrency) as pool:
            return list(pool.map(guarded, items))

    # ----------------------------------------------------------------- dialect shapes

    @property
    def _display_field(self) -> str:
        return "display_title" if self.dialect == "legacy" else "display_name"

    def _skill(self, raw: Mapping[str, Any]) -> ApiSkill:
        legacy = self.dialect == "legacy"
        return ApiSkill(
            id=_text(raw, "id"),
            display_name=_optional_text(raw, self._display_field),
            latest_version=_optional_text(raw, "latest_version" if legacy else "latest_version_id"),
            source=_source(raw.get("source")),
            created_at=_text(raw, "created_at"),
            updated_at=_text(raw, "updated_at"),
        )

    def _version(self, raw: Mapping[str, Any]) -> ApiVersion:
        return ApiVersion(
            id=_text(raw, "id"),
            address=_text(raw, "version" if self.dialect == "legacy" else "id"),
            skill_id=_text(raw, "skill_id"),
            name=_text(raw, "name"),
            description=_optional_text(raw, "description") or "",
            created_at=_text(raw, "created_at"),
        )

    def _decode(
        self, call: _Call, response: httpx.Response, parse: Callable[[Mapping[str, Any]], R]
    ) -> R:
        try:
            body = response.json()
            if not isinstance(body, Mapping):
                raise TypeError(f"expected a JSON object, got {type(body).__name__}")
            return parse(body)
        except (ValueError, KeyError, TypeError) as exc:
            detail = redact_text(f"{type(exc).__name__}: {exc}", self._secrets)
            raise TargetError(TARGET, f"unexpected answer to {call.label}: {detail}") from None

    # ----------------------------------------------------------------- helpers

    def _paginate(
        self, endpoint: str, path: str, params: Mapping[str, str | int], page_size: int
    ) -> Iterator[Mapping[str, Any]]:
        seen: set[str] = set()
        cursor: str | None = None
        while True:
            query = {**params, "limit": page_size, **({"page": cursor} if cursor else {})}
            call = _Call(endpoint, "GET", path, query)
            rows, cursor, has_more = self._run(call, self._page_parser(call))
            yield from rows
            if not cursor:
                if has_more:
                    raise TargetError(TARGET, f"{call.label}: has_more without next_page")
                return
            if cursor in seen:
                raise TargetError(TARGET, f"{call.label}: pagination cursor repeats")
            seen.add(cursor)

    def _page_parser(self, call: _Call) -> Callable[[httpx.Response], _Page]:
        return lambda response: self._decode(call, response, _page)

    def _delete(self, call: _Call) -> None:
        try:
            self._run(call, lambda r: None)
        except ApiError as exc:
            if exc.status != 404:
                raise
            log.debug("%s: already gone", call.label)

    def _with_first_version(self, skill: ApiSkill, name: str) -> tuple[ApiSkill, ApiVersion]:
        """The create answer is the skill only; fetch the version it made (best effort)."""
        address = skill.latest_version
        if not address:
            raise TargetError(TARGET, f"created skill {skill.id} reports no version")
        try:
            return skill, self.get_version(skill.id, address)
        except TargetError as exc:
            # The skill exists now: failing here would invite a duplicate on the next run.
            log.warning("skill %s created, reading its version failed: %s", skill.id, exc)
            placeholder = ApiVersion(address, address, skill.id, name, "", skill.created_at)
            return skill, placeholder

    def _find_new_skill(
        self, name: str, display_name: str, since: datetime, nonce: str | None
    ) -> tuple[ApiSkill, ApiVersion] | None:
        # the time and the names only narrow the search; with a nonce it is the proof
        fresh = [s for s in self.list_skills().skills if _created_since(s.created_at, since)]
        fresh.sort(key=lambda s: s.display_name != display_name)  # stable: matches first
        for skill in fresh:
            ours = [v for v in self.list_versions(skill.id) if v.name == name]
            latest = [v for v in ours if v.address == skill.latest_version]
            for version in latest or ours[:1]:
                if nonce is None or self.version_marker(skill.id, version.address) == nonce:
                    return skill, version
        return None

    def _find_new_version(
        self, skill_id: str, name: str, since: datetime, nonce: str | None
    ) -> ApiVersion | None:
        fresh = [
            v
            for v in self.list_versions(skill_id)
            if v.name == name and _created_since(v.created_at, since)
        ]
        fresh.sort(key=lambda v: _parse_time(v.created_at), reverse=True)
        for version in fresh:
            if nonce is None or self.version_marker(skill_id, version.address) == nonce:
                return version
        return None

    # ----------------------------------------------------------------- the retry loop

    def _run(
        self,
        call: _Call,
        parse: Callable[[httpx.Response], R],
        reconcile: Callable[[], R | None] | None = None,
    ) -> R:
        retries = 0
        while True:
            try:
                response = self._attempt(call)
            except _AttemptFailed as failure:
                final = not failure.retry or retries >= self._settings.max_retries
                delay = self._delay(failure, retries)
                if failure.ambiguous and reconcile is not None:
                    found = self._reconcile(call, failure, reconcile, delay)
                    if found is not None:
                        return found
                    delay = 0.0  # already waited before looking
                if final:
                    raise failure.error from failure.cause
                self._pause(call, failure, delay, retries)
                retries += 1
                self.stats._count_retry()
                continue
            return parse(response)

    def _delay(self, failure: _AttemptFailed, retries: int) -> float:
        if failure.delay is not None:
            return failure.delay
        return self._backoff.delay(retries, self._rng)

    def _pause(self, call: _Call, failure: _AttemptFailed, delay: float, retries: int) -> None:
        log.info(
            "%s failed (%s); retry %d/%d in %.2f s",
            call.label,
            failure.error.message,
            retries + 1,
            self._settings.max_retries,
            delay,
        )
        if failure.rate_limited:
            self._gate.defer(delay)  # every worker waits, not just this one
        elif delay > 0:
            self._sleep(delay)

    def _reconcile(
        self, call: _Call, failure: _AttemptFailed, reconcile: Callable[[], R | None], delay: float
    ) -> R | None:
        log.warning("%s: outcome unknown (%s); checking before retrying", call.label, failure)
        if delay > 0:
            self._sleep(delay)  # give a slow server time to commit before looking
        try:
            found = reconcile()
        except TargetError as exc:
            raise OutcomeUnknownError(
                TARGET,
                f"{call.label} may have been applied ({failure.error.message}), "
                f"and checking for it failed: {exc.message}",
            ) from exc
        if found is not None:
            log.warning("%s: the lost attempt was applied; adopting its result", call.label)
        return found

    def _attempt(self, call: _Call) -> httpx.Response:
        request = self._build(call)
        self._gate.wait(self._sleep)
        self._breaker.before_call()
        self.stats._count_request(call.endpoint)
        try:
            response = self._http.send(request)
        except httpx.HTTPError as exc:
            raise self._transport_failure(call, exc) from exc
        except BaseException:
            self._breaker.record_neutral()
            raise
        return self._judge(call, response)

    def _build(self, call: _Call) -> httpx.Request:
        params: dict[str, str | int] = {"beta": "true"} if self.dialect == "legacy" else {}
        params.update(call.params)
        seconds = self._settings.timeout_ms / 1000
        if call.files is None:
            seconds = min(seconds, _READ_TIMEOUT_CAP_S)
        timeout = httpx.Timeout(seconds, connect=min(seconds, _CONNECT_TIMEOUT_S))
        return self._http.build_request(
            call.method,
            call.path,
            params=params,
            data=call.form,
            files=call.files,
            headers=call.headers,
            timeout=timeout,
        )

    def _transport_failure(self, call: _Call, exc: httpx.HTTPError) -> _AttemptFailed:
        detail = redact_text(f"{type(exc).__name__}: {exc}".rstrip(": "), self._secrets)
        error = TargetError(TARGET, f"{call.label}: {detail}")
        retryable = isinstance(exc, httpx.TimeoutException | httpx.NetworkError)
        retryable = retryable or isinstance(exc, httpx.RemoteProtocolError)
        if not retryable:
            self._breaker.record_neutral()
            return _AttemptFailed(error, retry=False, ambiguous=False, cause=exc)
        self._breaker.record_failure(detail)
        unsent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
        return _AttemptFailed(error, retry=True, ambiguous=not unsent, cause=exc)

    def _judge(self, call: _Call, response: httpx.Response) -> httpx.Response:
        status = response.status_code
        if response.is_success:
            self._breaker.record_success()
            return response
        error = self._api_error(call, response)
        if status >= 500 or status == 408:
            self._breaker.record_failure(f"HTTP {status}")
        elif status == 429:
            self._breaker.record_neutral()
        else:
            self._breaker.record_success()  # the server is answering sensibly
        hint = response.headers.get("x-should-retry", "").strip().lower()
        retry = status in _RETRY_4XX or status >= 500
        retry = hint == "true" or (hint != "false" and retry)
        ambiguous = status >= 500 and status not in _UNAPPLIED_5XX
        delay = server_delay(response.headers)
        raise _AttemptFailed(
            error, retry=retry, ambiguous=ambiguous, delay=delay, rate_limited=status == 429
        )

    def _api_error(self, call: _Call, response: httpx.Response) -> ApiError:
        error_type, message, request_id = _error_envelope(response)
        request_id = request_id or response.headers.get("request-id")
        error = ApiError(
            response.status_code,
            error_type,
            redact_text(message, self._secrets),
            request_id=request_id,
        )
        error.detail = call.label
        return error


# --------------------------------------------------------------------- module helpers


def _skill_path(skill_id: str) -> str:
    if not skill_id:
        raise ValueError("skill_id must not be empty")
    return "/v1/skills/" + quote(skill_id, safe="")


def _version_path(skill_id: str, address: str) -> str:
    if not address:
        raise ValueError("version address must not be empty")
    return f"{_skill_path(skill_id)}/versions/{quote(address, safe='')}"


def _parts(name: str, files: Sequence[SkillFile]) -> list[tuple[str, tuple[str, bytes]]]:
    """One `files[]` part per file; the filename keeps the top folder, as the API requires."""
    if not files:
        raise ValueError("a skill upload needs at least one file")
    return [("files[]", (f"{name}/{f.path}", f.data)) for f in files]


_Page = tuple[list[Mapping[str, Any]], str | None, bool]  # rows, next cursor, has_more


def _page(body: Mapping[str, Any]) -> _Page:
    data = body["data"]
    if not isinstance(data, list) or not all(isinstance(row, Mapping) for row in data):
        raise TypeError("`data` is not a list of objects")
    cursor = body.get("next_page")
    if cursor is not None and not isinstance(cursor, str):
        raise TypeError("`next_page` is not a string")
    return data, cursor or None, bool(body.get("has_more"))


def _text(raw: Mapping[str, Any], key: str) -> str:
    value = raw[key]
    if not isinstance(value, str):
        raise TypeError(f"`{key}` is not a string")
    return value


def _optional_text(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    return value if isinstance(value, str) else None


def _source(value: Any) -> str:
    """Plain string on the legacy dialect, `{type: ...}` on the current surface."""
    if isinstance(value, Mapping):
        value = value.get("type")
    return value if isinstance(value, str) else ""


def _error_envelope(response: httpx.Response) -> tuple[str, str, str | None]:
    """(error type, message, request id) from `{"type":"error","error":{...},"request_id"}`."""
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        request_id = body.get("request_id") if isinstance(body, dict) else None
        return (
            str(error.get("type") or "error"),
            error["message"],
            request_id if isinstance(request_id, str) else None,
        )
    text = response.text.strip()[:200] if body is None else ""
    return "http_error", text or response.reason_phrase or "no message", None


def _parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _created_since(value: str, since: datetime) -> bool:
    try:
        return _parse_time(value) >= since
    except ValueError:
        return False  # unknown age: never adopted as ours
