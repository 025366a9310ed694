"""Retry timing, a shared rate-limit gate and a circuit breaker, for any HTTP target.

Pure policy, no HTTP: the Skills API client decides *whether* an attempt may be retried;
this module decides *when*, and whether the target is healthy enough to try at all.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from enum import Enum

from syncbot.errors import CircuitOpenError

log = logging.getLogger(__name__)

Clock = Callable[[], float]

# A server-suggested delay is honoured only inside this window, as the official SDKs do:
# a zero, negative or absurdly long value is more likely a bug than an instruction.
MAX_SERVER_DELAY_S = 60.0


@dataclass(frozen=True)
class Backoff:
    """Capped exponential backoff with full jitter: rng() * min(cap, base * 2**n)."""

    base_s: float = 0.5
    cap_s: float = 8.0

    def delay(self, retries_made: int, rng: Callable[[], float]) -> float:
        ceiling = min(self.cap_s, self.base_s * 2.0 ** min(retries_made, 62))
        return rng() * ceiling


def server_delay(headers: Mapping[str, str], now: Callable[[], float] = time.time) -> float | None:
    """The wait the server asked for: `retry-after-ms`, else `retry-after` (seconds or date).

    Returns None when absent, unparseable or outside (0, 60] seconds.
    """
    millis = _float(headers.get("retry-after-ms"))
    if millis is not None and 0 < millis / 1000 <= MAX_SERVER_DELAY_S:
        return millis / 1000
    raw = headers.get("retry-after")
    if raw is None:
        return None
    seconds = _float(raw)
    if seconds is None:
        seconds = _http_date_delay(raw, now)
    if seconds is not None and 0 < seconds <= MAX_SERVER_DELAY_S:
        return seconds
    return None


def _float(raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        value = float(raw.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _http_date_delay(raw: str, now: Callable[[], float]) -> float | None:
    try:
        when = parsedate_to_datetime(raw.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; a naive result means GMT was implied
        return None
    return when.timestamp() - now()


class RateGate:
    """A shared "not before" instant: after a 429, every worker waits before its next request."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._not_before = 0.0

    def defer(self, delay_s: float) -> None:
        with self._lock:
            self._not_before = max(self._not_before, self._clock() + delay_s)

    def remaining(self) -> float:
        with self._lock:
            return max(0.0, self._not_before - self._clock())

    def wait(self, sleep: Callable[[float], None]) -> None:
        # One sleep, no loop: a fake sleep in tests does not move the clock.
        remaining = self.remaining()
        if remaining > 0:
            sleep(remaining)


class BreakerState(Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


class CircuitBreaker:
    """Opens after `threshold` consecutive failures; after `reset_s` lets one probe through.

    `record_success` closes it, `record_failure` counts (and re-opens after a failed probe),
    `record_neutral` (e.g. a 429) neither counts nor clears but frees the probe slot.
    """

    def __init__(
        self, target: str, threshold: int = 3, reset_s: float = 10.0, clock: Clock = time.monotonic
    ) -> None:
        self.target = target
        self._threshold = max(1, threshold)
        self._reset_s = reset_s
        self._clock = clock
        self._lock = threading.Lock()
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probing = False
        self._last_failure = ""

    @property
    def state(self) -> BreakerState:
        with self._lock:
            return self._state

    def before_call(self) -> None:
        """Raise CircuitOpenError unless a request may go out now."""
        with self._lock:
            if self._state is BreakerState.OPEN:
                waited = self._clock() - self._opened_at
                if waited < self._reset_s:
                    raise self._open_error(self._reset_s - waited)
                self._state = BreakerState.HALF_OPEN
                self._probing = False
                log.info("%s: circuit half-open, sending one probe", self.target)
            if self._state is BreakerState.HALF_OPEN:
                if self._probing:
                    raise self._open_error(0.0)
                self._probing = True

    def record_success(self) -> None:
        with self._lock:
            if self._state is not BreakerState.CLOSED:
                log.info("%s: circuit closed", self.target)
            self._state = BreakerState.CLOSED
            self._failures = 0
            self._probing = False

    def record_failure(self, reason: str) -> None:
        with self._lock:
            self._failures += 1
            self._last_failure = reason
            probe_failed = self._state is BreakerState.HALF_OPEN
            if probe_failed or self._failures >= self._threshold:
                if self._state is not BreakerState.OPEN:
                    log.warning("%s: circuit open after: %s", self.target, reason)
                self._state = BreakerState.OPEN
                self._opened_at = self._clock()
                self._probing = False

    def record_neutral(self) -> None:
        with self._lock:
            self._probing = False

    def _open_error(self, retry_in: float) -> CircuitOpenError:
        return CircuitOpenError(
            self.target,
            f"circuit open after {self._failures} consecutive failures "
            f"(last: {self._last_failure}); not calling it again for {retry_in:.1f} s",
        )
