"""Planning rules for routes and rollouts, including the rollout policy (steps and soak)."""

from __future__ import annotations

from collections.abc import Set
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from syncbot.desired import Rollout
from syncbot.live import RolloutRow
from syncbot.plan import NEW, REMOVED, Change
from syncbot.planner.context import Context
from syncbot.planner.guards import guard_deletions
from syncbot.records import format_percentage, rollout_value


def plan_routes(ctx: Context, present: Set[str]) -> list[Change]:
    desired = {r.key: r.as_dict() for r in ctx.desired.routes if r.skill in present}
    live = {key: row.as_dict() for key, row in ctx.live.db.routes.items()}
    return guard_deletions(ctx, "route", len(live), _diff("route", desired, live, ctx))


def plan_rollouts(ctx: Context, present: Set[str]) -> list[Change]:
    desired = {n: r for n, r in ctx.desired.rollouts.items() if n in present}
    wanted = {n: rollout_value(r.basis_points, r.salt) for n, r in desired.items()}
    live = {n: rollout_value(r.basis_points, r.salt) for n, r in ctx.live.db.rollouts.items()}
    changes = _diff("rollout", wanted, live, ctx)
    checked = [
        _check_policy(ctx, c, desired.get(c.key), ctx.live.db.rollouts.get(c.key)) for c in changes
    ]
    return guard_deletions(ctx, "rollout", len(live), checked)


def _diff(kind: str, desired: dict[str, Any], live: dict[str, Any], ctx: Context) -> list[Change]:
    changes: list[Change] = []
    for key in sorted(desired.keys() | live.keys()):
        want, have = desired.get(key), live.get(key)
        if have is None:
            changes.append(Change("db", "create", kind, key, NEW, None, want))
        elif want is None:
            changes.append(Change("db", "delete", kind, key, REMOVED, have, None))
        elif want != have:
            reason = ctx.reason(f"db:{kind}:{key}", have)
            changes.append(Change("db", "update", kind, key, reason, have, want))
    return changes


def _check_policy(
    ctx: Context, change: Change, want: Rollout | None, have: RolloutRow | None
) -> Change:
    skipped = step_violation(ctx, want, have)
    if skipped is not None:
        return replace(change, blocked=skipped)  # no date makes a skipped step allowed
    old = have.basis_points if have else 0
    if (want.basis_points if want else 0) <= old:
        return change
    soaking = _soak_violation(ctx, have, old)
    if soaking is None:
        return change
    ready = soak_end(ctx, have)
    allowed = None
    if ready is not None:  # rounded up: at the second shown, apply accepts it
        ready += timedelta(microseconds=(1_000_000 - ready.microsecond) % 1_000_000)
        allowed = f"{ready:%Y-%m-%dT%H:%M:%SZ}"
    return replace(change, blocked=soaking, allowed_from=allowed)


def policy_violation(ctx: Context, want: Rollout | None, have: RolloutRow | None) -> str | None:
    """Why an increase is refused (a step skipped, or the current step still soaking), or None."""
    skipped = step_violation(ctx, want, have)
    if skipped is not None:
        return skipped
    old = have.basis_points if have else 0
    return _soak_violation(ctx, have, old) if (want.basis_points if want else 0) > old else None


def step_violation(ctx: Context, want: Rollout | None, have: RolloutRow | None) -> str | None:
    """Why an increase skips a step of the ladder, or None (a decrease is always allowed)."""
    old = have.basis_points if have else 0
    new = want.basis_points if want else 0
    if new <= old:
        return None  # a decrease is the rollback path: always allowed at once
    steps = sorted(s * 100 for s in ctx.desired.policy.steps)
    if steps:
        higher = [s for s in steps if s > old]
        if not higher or new != higher[0]:
            nxt = format_percentage(higher[0]) if higher else "none"
            move = f"{format_percentage(old)}% to {format_percentage(new)}%"
            return f"increase from {move} skips a step (next step: {nxt}%)"
    return None


def soak_end(ctx: Context, have: RolloutRow | None) -> datetime | None:
    """When the current step's soak ends (None: no soak applies)."""
    hours = ctx.desired.policy.min_soak_hours
    if not hours or have is None or have.changed_at is None:
        return None
    return have.changed_at.astimezone(UTC) + timedelta(hours=hours)


def _soak_violation(ctx: Context, have: RolloutRow | None, old: int) -> str | None:
    hours = ctx.desired.policy.min_soak_hours
    now = ctx.options.now_epoch_s
    ready = soak_end(ctx, have)
    if old == 0 or have is None or ready is None or now is None:
        return None
    if datetime.fromtimestamp(now, UTC) >= ready:
        return None
    since = f"at {format_percentage(old)}% since {have.changed_at:%Y-%m-%d %H:%M}Z"
    return f"{since}; the soak of {hours:g} h ends {ready:%Y-%m-%d %H:%M}Z"
