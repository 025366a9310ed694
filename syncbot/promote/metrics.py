"""The health of skills over a window, and the interface every metrics source implements.

A source answers for all skills in one batched read (a constant number of queries,
whatever the number of skills); a skill without traffic may be absent from the answer
or present with `requests == 0`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class Health:
    """One skill's executions in the window: how many, how many failed, their p95."""

    skill: str
    requests: int
    failures: int
    p95_ms: float | None

    @property
    def error_rate_percent(self) -> float | None:
        """Failed executions as a percentage of all; None without any execution."""
        return None if self.requests <= 0 else 100.0 * self.failures / self.requests


class MetricsSource(Protocol):
    """Where the figures come from: the `skill_executions` table, or Prometheus."""

    def health(
        self, environment: str, skills: Sequence[str], start: datetime, end: datetime
    ) -> dict[str, Health]:
        """Health of each of `skills` in `environment` over [start, end), one batched read.

        Raises TargetError (from syncbot.errors) when the source cannot be read."""
        ...
