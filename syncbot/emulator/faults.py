"""Fault injection: latency, error statuses, 429s and lost responses, by rate or by count.

Counting starts when a configuration is set (`FaultController.set`): request N is the
N-th request since then, and for lost responses the N-th *mutating* request. A seeded
RNG draws the same number of values for every request, so a sequential test sees the
same faults on every run.
"""

from __future__ import annotations

import dataclasses
import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class Faults:
    """A fault configuration. Rates are probabilities per request, 0.0 .. 1.0."""

    latency_ms: float = 0.0
    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = (500,)  # one is drawn per injected error
    fail_nth: Mapping[int, int] = field(default_factory=lambda: MappingProxyType({}))
    rate_limit_rate: float = 0.0
    rate_limit_nth: frozenset[int] = frozenset()
    retry_after: float = 1.0  # seconds, sent in `retry-after` on every injected 429
    lost_rate: float = 0.0
    lost_nth: frozenset[int] = frozenset()  # counted over mutating requests only
    seed: int | None = None

    def __post_init__(self) -> None:
        # Accept plain dicts, sets, lists and a single status for convenience.
        object.__setattr__(self, "fail_nth", MappingProxyType(dict(self.fail_nth)))
        object.__setattr__(self, "rate_limit_nth", frozenset(self.rate_limit_nth))
        object.__setattr__(self, "lost_nth", frozenset(self.lost_nth))
        statuses = self.error_statuses
        object.__setattr__(
            self, "error_statuses", (statuses,) if isinstance(statuses, int) else tuple(statuses)
        )
        self._validate()

    def _validate(self) -> None:
        for name in ("error_rate", "rate_limit_rate", "lost_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if self.latency_ms < 0 or self.retry_after < 0:
            raise ValueError("latency_ms and retry_after must not be negative")
        if not self.error_statuses:
            raise ValueError("error_statuses must name at least one status")
        statuses = (*self.error_statuses, *self.fail_nth.values())
        if any(not 400 <= status <= 599 for status in statuses):
            raise ValueError("injected statuses must be 4xx or 5xx")
        if any(n < 1 for n in (*self.fail_nth, *self.rate_limit_nth, *self.lost_nth)):
            raise ValueError("request numbers start at 1")


@dataclass(frozen=True)
class Decision:
    """What to do to one request."""

    latency_s: float = 0.0
    status: int | None = None  # answer with this error instead of handling the request
    retry_after: float | None = None
    lost: bool = False  # handle (commit) the request, then drop the connection


class FaultController:
    """The live fault configuration of a server; safe to change from any thread."""

    def __init__(self, faults: Faults | None = None) -> None:
        self._lock = threading.Lock()
        self.set(faults or Faults())

    @property
    def config(self) -> Faults:
        return self._config

    def set(self, faults: Faults | None = None, **changes: Any) -> Faults:
        """Replace the configuration (`faults`, else the current one) with `changes`.

        Restarts request counting and reseeds the RNG.
        """
        config = dataclasses.replace(faults or self._config_or_default(), **changes)
        with self._lock:
            self._config = config
            self._rng = random.Random(config.seed)
            self._requests = 0
            self._mutations = 0
        return config

    def clear(self) -> None:
        self.set(Faults())

    def decide(self, *, mutating: bool) -> Decision:
        with self._lock:
            config = self._config
            self._requests += 1
            self._mutations += int(mutating)
            draws = [self._rng.random() for _ in range(3)]
            choice = self._rng.choice(config.error_statuses)
            count, mutation_count = self._requests, self._mutations
        status = _status(config, count, draws[0], draws[1], choice)
        lost = mutating and (mutation_count in config.lost_nth or draws[2] < config.lost_rate)
        return Decision(
            latency_s=config.latency_ms / 1000.0,
            status=status,
            retry_after=config.retry_after if status == 429 else None,
            lost=lost and status is None,
        )

    def _config_or_default(self) -> Faults:
        return getattr(self, "_config", None) or Faults()


def _status(
    config: Faults, count: int, rate_draw: float, error_draw: float, choice: int
) -> int | None:
    if count in config.fail_nth:
        return config.fail_nth[count]
    if count in config.rate_limit_nth or rate_draw < config.rate_limit_rate:
        return 429
    if error_draw < config.error_rate:
        return choice
    return None
