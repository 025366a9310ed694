"""What `syncbot promote` decides for one canary. Pure: no I/O, no clock (`now` is given).

A canary is a skill whose rollout is live at a step strictly between 0% and 100%. Its
health over the window gives a verdict: passed, failed (a gate is broken) or
inconclusive (too little traffic, or no latency figure). Then, in this order:

- failed on `failure_limit` consecutive windows: **rollback** to 0%, at once, soak or not;
- failed fewer times: hold, showing the count;
- a proposal for the skill already open: hold;
- soak not over: hold until its end;
- inconclusive: hold (inconclusive never promotes);
- otherwise: **promote** to the next step of the ladder (100% without a ladder).

Consecutive failures are counted by windows, not by runs: a failing evaluation counts
only when at least half of its window is later than the last one that counted, so
running promote twice in a row does not hasten a rollback. A passing evaluation resets
the count; an inconclusive one leaves it as it was.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from syncbot.desired import RolloutPolicy, format_percentage
from syncbot.files.schemas import RolloutGates
from syncbot.promote.metrics import Health

Action = Literal["promote", "hold", "rollback"]
Verdict = Literal["passed", "failed", "inconclusive"]


@dataclass(frozen=True)
class Canary:
    """One skill's rollout as git and the database hold it (basis points: 25% is 2500)."""

    skill: str
    git_basis_points: int
    live_basis_points: int  # 0 when the database has no rollout row
    changed_at: datetime | None  # when the live percentage was last set

    @property
    def converged(self) -> bool:
        return self.git_basis_points == self.live_basis_points

    @property
    def is_candidate(self) -> bool:
        """Worth a line in the report: not converged, or live strictly inside (0, 100)."""
        return not self.converged or 0 < self.live_basis_points < 10000


@dataclass(frozen=True)
class FailureCount:
    """The failing streak at the current step, as the last recorded evaluation left it."""

    consecutive: int = 0
    counted_until: datetime | None = None  # window end of the last evaluation that counted


@dataclass(frozen=True)
class Evidence:
    window_start: datetime
    window_end: datetime
    requests: int | None
    failures: int | None
    error_rate_percent: float | None
    p95_ms: float | None
    gates: RolloutGates
    soak_ends_at: datetime | None
    verdict: Verdict | None  # None: not evaluated (not converged)
    failed_gates: tuple[str, ...] = ()
    failures_count: FailureCount = field(default_factory=FailureCount)

    @property
    def consecutive_failures(self) -> int:
        return self.failures_count.consecutive

    def as_dict(self) -> dict[str, Any]:
        g = self.gates
        return {
            "window_start": iso_utc(self.window_start),
            "window_end": iso_utc(self.window_end),
            "window_minutes": g.window_minutes,
            "requests": self.requests,
            "failures": self.failures,
            "error_rate_percent": _round(self.error_rate_percent),
            "p95_ms": _round(self.p95_ms),
            "thresholds": {
                "min_requests": g.min_requests,
                "max_error_rate_percent": g.max_error_rate_percent,
                "max_p95_ms": g.max_p95_ms,
                "failure_limit": g.failure_limit,
            },
            "soak_ends_at": iso_utc(self.soak_ends_at),
            "verdict": self.verdict,
            "failed_gates": list(self.failed_gates),
            "consecutive_failures": self.consecutive_failures,
        }


@dataclass(frozen=True)
class Decision:
    skill: str
    environment: str
    action: Action
    current_percentage: float
    target_percentage: float | None  # None for a hold
    reason: str
    evidence: Evidence

    def as_dict(self) -> dict[str, Any]:
        return {
            "skill": self.skill,
            "environment": self.environment,
            "action": self.action,
            "current_percentage": self.current_percentage,
            "target_percentage": self.target_percentage,
            "reason": self.reason,
            "evidence": self.evidence.as_dict(),
        }


@dataclass(frozen=True)
class Rules:
    """The environment's ladder and soak (the stricter policy, as plan uses) and gates."""

    environment: str
    policy: RolloutPolicy
    gates: RolloutGates


def window(gates: RolloutGates, now: datetime) -> tuple[datetime, datetime]:
    return now - timedelta(minutes=gates.window_minutes), now


def decide(
    canary: Canary,
    health: Health | None,
    rules: Rules,
    now: datetime,
    previous: FailureCount = FailureCount(),
    open_proposals: Set[str] = frozenset(),
) -> Decision:
    """The decision for one candidate canary (see the module's docstring for the order)."""
    start, end = window(rules.gates, now)
    soak_end = _soak_end(canary, rules.policy)
    if not canary.converged:
        evidence = Evidence(start, end, None, None, None, None, rules.gates, soak_end, None)
        return _hold(canary, rules, evidence, _not_converged(canary))
    evidence = _evaluate(health, rules.gates, start, end, soak_end, previous)
    return _choose(canary, rules, evidence, now, open_proposals)


def _choose(
    canary: Canary, rules: Rules, ev: Evidence, now: datetime, open_proposals: Set[str]
) -> Decision:
    limit = rules.gates.failure_limit
    if ev.verdict == "failed" and ev.consecutive_failures >= limit:
        reason = f"{_failed_text(ev)} on {ev.consecutive_failures} consecutive windows"
        return _decision(canary, rules, ev, "rollback", 0, f"roll back: {reason}")
    if ev.verdict == "failed":
        reason = f"gate failed ({ev.consecutive_failures}/{limit}): {_failed_text(ev)}"
        return _hold(canary, rules, ev, reason)
    if canary.skill in open_proposals:
        return _hold(canary, rules, ev, "a proposal for this skill is already open")
    if ev.soak_ends_at is not None and now < ev.soak_ends_at:
        return _hold(canary, rules, ev, f"soaking until {iso_utc(ev.soak_ends_at)}")
    if ev.verdict == "inconclusive":
        return _hold(canary, rules, ev, f"inconclusive: {_inconclusive_text(ev)}")
    target = next_step(canary.live_basis_points, rules.policy)
    reason = f"promote: soak over, every gate passed on {ev.requests} requests"
    return _decision(canary, rules, ev, "promote", target, reason)


def _evaluate(
    health: Health | None,
    gates: RolloutGates,
    start: datetime,
    end: datetime,
    soak_end: datetime | None,
    previous: FailureCount,
) -> Evidence:
    h = health or Health("", 0, 0, None)
    failed = _failed_gates(h, gates)
    verdict: Verdict
    if h.requests < gates.min_requests or h.p95_ms is None:
        verdict = "inconclusive"
    else:
        verdict = "failed" if failed else "passed"
    count = _count(previous, verdict, start, end)
    return Evidence(
        start,
        end,
        h.requests,
        h.failures,
        h.error_rate_percent,
        h.p95_ms,
        gates,
        soak_end,
        verdict,
        failed if verdict == "failed" else (),
        count,
    )


def _failed_gates(h: Health, gates: RolloutGates) -> tuple[str, ...]:
    # As the runbook: healthy means strictly below the limit (error rate < 2%).
    failed = []
    rate = h.error_rate_percent
    if rate is not None and rate >= gates.max_error_rate_percent:
        failed.append("error_rate")
    if h.p95_ms is not None and h.p95_ms >= gates.max_p95_ms:
        failed.append("p95")
    return tuple(failed)


def _count(
    previous: FailureCount, verdict: Verdict, start: datetime, end: datetime
) -> FailureCount:
    if verdict == "passed":
        return FailureCount()
    if verdict == "inconclusive":
        return previous
    half = (end - start) / 2
    if previous.counted_until is None or end - previous.counted_until >= half:
        return FailureCount(previous.consecutive + 1, end)
    return FailureCount(max(previous.consecutive, 1), previous.counted_until)


def next_step(basis_points: int, policy: RolloutPolicy) -> int:
    """The next ladder step above `basis_points`, in basis points; 100% without a ladder."""
    higher = [step * 100 for step in policy.steps if step * 100 > basis_points]
    return min(higher) if higher else 10000


def _soak_end(canary: Canary, policy: RolloutPolicy) -> datetime | None:
    if canary.changed_at is None:
        return None
    return canary.changed_at + timedelta(hours=policy.min_soak_hours)


def _hold(canary: Canary, rules: Rules, ev: Evidence, reason: str) -> Decision:
    return _decision(canary, rules, ev, "hold", None, f"hold: {reason}")


def _decision(
    canary: Canary, rules: Rules, ev: Evidence, action: Action, target: int | None, reason: str
) -> Decision:
    return Decision(
        skill=canary.skill,
        environment=rules.environment,
        action=action,
        current_percentage=canary.live_basis_points / 100,
        target_percentage=None if target is None else target / 100,
        reason=reason,
        evidence=ev,
    )


def _not_converged(canary: Canary) -> str:
    git = format_percentage(canary.git_basis_points)
    live = format_percentage(canary.live_basis_points)
    return f"not converged: git says {git}%, live is {live}% (run apply first)"


def _failed_text(ev: Evidence) -> str:
    g = ev.gates
    parts = []
    if "error_rate" in ev.failed_gates:
        parts.append(f"error rate {ev.error_rate_percent:.2f}% >= {g.max_error_rate_percent:g}%")
    if "p95" in ev.failed_gates:
        parts.append(f"p95 {ev.p95_ms:.0f} ms >= {g.max_p95_ms:g} ms")
    return ", ".join(parts)


def _inconclusive_text(ev: Evidence) -> str:
    g = ev.gates
    if (ev.requests or 0) < g.min_requests:
        return (
            f"{ev.requests or 0} requests in the last {g.window_minutes} min, "
            f"{g.min_requests} needed"
        )
    return "no latency figure for the window"


def iso_utc(ts: datetime | None) -> str | None:
    return None if ts is None else ts.isoformat(timespec="seconds").replace("+00:00", "Z")


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
