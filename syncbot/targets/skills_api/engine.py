"""The call engine: one Skills API request, retried, behind the circuit breaker and the 429 gate.

An attempt that fails says whether it may be retried and whether the server may have
applied it anyway (a timeout, a lost response, a 500). Creates are POSTs without an
idempotency key, so after such an ambiguous failure the engine does not simply send the
request again: it first runs the caller's `reconcile`, which looks for what the lost
attempt may have made, and adopts it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from syncbot import __version__
from syncbot.errors import ApiError, CircuitOpenError, TargetError
from syncbot.redact import redact_text, redact_url
from syncbot.settings import check_url
from syncbot.targets.retry import Backoff, CircuitBreaker, RateGate, server_delay
from syncbot.targets.skills_api.dialects import Dialect, Page, page
from syncbot.targets.skills_api.settings import ANTHROPIC_VERSION, TARGET, ApiSettings
from syncbot.targets.skills_api.stats import ApiStats

log = logging.getLogger(__name__)

R = TypeVar("R")

_READ_TIMEOUT_CAP_S = 30.0
_CONNECT_TIMEOUT_S = 5.0
# Statuses that prove a POST was not applied (rejected before any change was made).
_UNAPPLIED_5XX = frozenset({503, 529})
_RETRY_4XX = frozenset({408, 409, 429})


class OutcomeUnknownError(TargetError):
    """A create may or may not have been applied, and checking for it failed too."""


@dataclass(frozen=True)
class Call:
    """One request as the engine sends it (every attempt of it alike)."""

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


class CallEngine:
    """Sends calls for one client: shared connections, breaker, rate gate and counters."""

    def __init__(
        self,
        settings: ApiSettings,
        dialect: Dialect,
        *,
        transport: httpx.BaseTransport | None,
        sleep: Callable[[float], None],
        rng: Callable[[], float],
        clock: Callable[[], float],
    ) -> None:
        check_url("ANTHROPIC_BASE_URL", settings.base_url)
        self._settings = settings
        self._dialect = dialect
        self.stats = ApiStats()
        self._sleep = sleep
        self._rng = rng
        self._backoff = Backoff()
        self._gate = RateGate(clock)
        self._breaker = CircuitBreaker(
            TARGET, settings.breaker_threshold, settings.breaker_reset_s, clock
        )
        self._secrets = (settings.api_key,) if settings.api_key else ()
        self._where = redact_url(settings.base_url.rstrip("/"))
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

    def close(self) -> None:
        self._http.close()

    # ----------------------------------------------------------------- answers

    def decode(
        self, call: Call, response: httpx.Response, parse: Callable[[Mapping[str, Any]], R]
    ) -> R:
        """The JSON object of the answer, parsed; any surprise is one TargetError."""
        try:
            body = response.json()
            if not isinstance(body, Mapping):
                raise TypeError(f"expected a JSON object, got {type(body).__name__}")
            return parse(body)
        except (ValueError, KeyError, TypeError) as exc:
            detail = redact_text(f"{type(exc).__name__}: {exc}", self._secrets)
            raise TargetError(TARGET, f"unexpected answer to {call.label}: {detail}") from None

    def paginate(
        self, endpoint: str, path: str, params: Mapping[str, str | int], page_size: int
    ) -> Iterator[Mapping[str, Any]]:
        """Every row of a list endpoint, page after page; a cursor loop is an error."""
        seen: set[str] = set()
        cursor: str | None = None
        while True:
            query = {**params, "limit": page_size, **({"page": cursor} if cursor else {})}
            call = Call(endpoint, "GET", path, query)
            rows, cursor, has_more = self.run(call, self._page_parser(call))
            yield from rows
            if not cursor:
                if has_more:
                    raise TargetError(TARGET, f"{call.label}: has_more without next_page")
                return
            if cursor in seen:
                raise TargetError(TARGET, f"{call.label}: pagination cursor repeats")
            seen.add(cursor)

    def _page_parser(self, call: Call) -> Callable[[httpx.Response], Page]:
        return lambda response: self.decode(call, response, page)

    # ----------------------------------------------------------------- the retry loop

    def run(
        self,
        call: Call,
        parse: Callable[[httpx.Response], R],
        reconcile: Callable[[], R | None] | None = None,
    ) -> R:
        """Send `call` until it succeeds or may not be retried; `reconcile` finds the result
        of an attempt whose fate is unknown (see the module docstring)."""
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

    def _pause(self, call: Call, failure: _AttemptFailed, delay: float, retries: int) -> None:
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
        self, call: Call, failure: _AttemptFailed, reconcile: Callable[[], R | None], delay: float
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

    # ----------------------------------------------------------------- one attempt

    def _attempt(self, call: Call) -> httpx.Response:
        request = self._build(call)
        self._gate.wait(self._sleep)
        try:
            self._breaker.before_call()
        except CircuitOpenError as exc:
            raise CircuitOpenError(TARGET, self._located(exc.message)) from None
        self.stats._count_request(call.endpoint)
        try:
            response = self._http.send(request)
        except httpx.HTTPError as exc:
            raise self._transport_failure(call, exc) from exc
        except BaseException:
            self._breaker.record_neutral()
            raise
        return self._judge(call, response)

    def _build(self, call: Call) -> httpx.Request:
        params = self._dialect.query()
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

    def _transport_failure(self, call: Call, exc: httpx.HTTPError) -> _AttemptFailed:
        detail = redact_text(f"{type(exc).__name__}: {exc}".rstrip(": "), self._secrets)
        error = TargetError(TARGET, self._located(f"{call.label}: {detail}"))
        retryable = isinstance(exc, httpx.TimeoutException | httpx.NetworkError)
        retryable = retryable or isinstance(exc, httpx.RemoteProtocolError)
        if not retryable:
            self._breaker.record_neutral()
            return _AttemptFailed(error, retry=False, ambiguous=False, cause=exc)
        self._breaker.record_failure(detail)
        unsent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
        return _AttemptFailed(error, retry=True, ambiguous=not unsent, cause=exc)

    def _judge(self, call: Call, response: httpx.Response) -> httpx.Response:
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

    def _api_error(self, call: Call, response: httpx.Response) -> ApiError:
        error_type, message, request_id = _error_envelope(response)
        request_id = request_id or response.headers.get("request-id")
        error = ApiError(
            response.status_code,
            error_type,
            redact_text(message, self._secrets),
            request_id=request_id,
        )
        error.detail = call.label
        error.message += f" ({call.label} at {self._where})"
        error.args = (error.message,)
        return error

    def _located(self, message: str) -> str:
        """`message` naming the URL tried and the setting that chose it."""
        prefix = f"{TARGET}: "
        message = message.removeprefix(prefix)
        return f"{message} (at {self._where}; check ANTHROPIC_BASE_URL and that the API is up)"


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
