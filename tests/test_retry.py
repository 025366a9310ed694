from __future__ import annotations

import threading
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from syncbot.errors import CircuitOpenError
from syncbot.targets.retry import (
    Backoff,
    BreakerState,
    CircuitBreaker,
    RateGate,
    server_delay,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_backoff_is_full_jitter_exponential_and_capped() -> None:
    backoff = Backoff(base_s=0.5, cap_s=8.0)
    assert [backoff.delay(n, lambda: 1.0) for n in range(7)] == [0.5, 1, 2, 4, 8, 8, 8]
    assert backoff.delay(3, lambda: 0.25) == 1.0
    assert backoff.delay(5, lambda: 0.0) == 0.0
    assert backoff.delay(10_000, lambda: 1.0) == 8.0  # no overflow on absurd counts


def test_retry_after_ms_is_preferred_over_retry_after() -> None:
    assert server_delay({"retry-after-ms": "1500", "retry-after": "7"}) == 1.5


def test_retry_after_seconds_integer_and_float() -> None:
    assert server_delay({"retry-after": "3"}) == 3.0
    assert server_delay({"retry-after": " 0.25 "}) == 0.25


def test_retry_after_http_date() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC).timestamp()
    when = format_datetime(datetime(2026, 1, 1, 12, 0, 5, tzinfo=UTC), usegmt=True)
    assert server_delay({"retry-after": when}, now=lambda: now) == pytest.approx(5.0)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"retry-after": "0"},
        {"retry-after": "-2"},
        {"retry-after": "61"},
        {"retry-after": "soon"},
        {"retry-after": "nan"},
        {"retry-after-ms": "0"},
        {"retry-after-ms": "90000"},
        {"retry-after": "Thu, 01 Jan 2026 11:00:00 GMT"},  # in the past
    ],
)
def test_out_of_range_or_garbage_delays_are_ignored(headers: dict[str, str]) -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC).timestamp()
    assert server_delay(headers, now=lambda: now) is None


def test_bad_retry_after_ms_falls_back_to_retry_after() -> None:
    assert server_delay({"retry-after-ms": "junk", "retry-after": "2"}) == 2.0
    assert server_delay({"retry-after-ms": "120000", "retry-after": "2"}) == 2.0


def test_rate_gate_keeps_the_latest_instant_and_sleeps_once() -> None:
    clock = FakeClock()
    gate = RateGate(clock)
    gate.defer(5)
    gate.defer(2)  # an earlier instant never shortens the wait
    slept: list[float] = []
    gate.wait(slept.append)
    assert slept == [5.0]
    clock.now += 5
    gate.wait(slept.append)
    assert slept == [5.0]


def state_of(cb: CircuitBreaker) -> BreakerState:
    return cb.state  # a call, so mypy does not narrow the state across assertions


def breaker(clock: FakeClock, threshold: int = 3) -> CircuitBreaker:
    return CircuitBreaker("skills-api", threshold=threshold, reset_s=10.0, clock=clock)


def test_breaker_opens_after_threshold_consecutive_failures() -> None:
    cb = breaker(FakeClock())
    for _ in range(2):
        cb.before_call()
        cb.record_failure("HTTP 500")
    assert state_of(cb) is BreakerState.CLOSED
    cb.before_call()
    cb.record_failure("HTTP 502")
    assert state_of(cb) is BreakerState.OPEN
    with pytest.raises(CircuitOpenError, match=r"3 consecutive failures \(last: HTTP 502\)"):
        cb.before_call()


def test_a_success_resets_the_consecutive_count() -> None:
    cb = breaker(FakeClock())
    for outcome in ["f", "f", "s", "f", "f"]:
        cb.before_call()
        cb.record_failure("x") if outcome == "f" else cb.record_success()
    assert state_of(cb) is BreakerState.CLOSED


def test_neutral_outcomes_neither_count_nor_clear() -> None:
    cb = breaker(FakeClock())
    cb.record_failure("x")
    cb.record_failure("x")
    cb.record_neutral()
    assert state_of(cb) is BreakerState.CLOSED
    cb.record_failure("x")
    assert state_of(cb) is BreakerState.OPEN


def test_breaker_half_opens_after_reset_and_one_probe_closes_it() -> None:
    clock = FakeClock()
    cb = breaker(clock)
    for _ in range(3):
        cb.record_failure("timeout")
    clock.now += 9.9
    with pytest.raises(CircuitOpenError):
        cb.before_call()
    clock.now += 0.1
    cb.before_call()  # the probe
    assert state_of(cb) is BreakerState.HALF_OPEN
    with pytest.raises(CircuitOpenError):
        cb.before_call()  # only one probe at a time
    cb.record_success()
    assert state_of(cb) is BreakerState.CLOSED
    cb.before_call()


def test_failed_probe_reopens_for_a_full_period() -> None:
    clock = FakeClock()
    cb = breaker(clock)
    for _ in range(3):
        cb.record_failure("timeout")
    clock.now += 10
    cb.before_call()
    cb.record_failure("timeout again")
    assert state_of(cb) is BreakerState.OPEN
    clock.now += 5
    with pytest.raises(CircuitOpenError):
        cb.before_call()


def test_neutral_probe_frees_the_probe_slot() -> None:
    clock = FakeClock()
    cb = breaker(clock)
    for _ in range(3):
        cb.record_failure("x")
    clock.now += 10
    cb.before_call()
    cb.record_neutral()  # e.g. a 429: says nothing about health
    cb.before_call()
    assert state_of(cb) is BreakerState.HALF_OPEN


def test_breaker_is_thread_safe() -> None:
    cb = breaker(FakeClock(), threshold=10_000)

    def hammer() -> None:
        for _ in range(1000):
            cb.record_failure("x")

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert cb._failures == 8000
