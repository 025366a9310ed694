"""Rollout changes explained: the share of units that enter or leave, and reshuffles."""

from __future__ import annotations

from syncbot.bucketing import flip_share
from syncbot.desired import (
    DesiredState,
    Rollout,
    format_percentage,
)
from syncbot.live import LiveState, RolloutRow
from syncbot.semantic.common import (
    code,
)


def rollout_lines(skill: str, desired: DesiredState, live: LiveState) -> list[str]:
    old = _live_rollout(live.db.rollouts.get(skill))
    new = desired.rollouts.get(skill)
    move = f"{_pct(old)}% → {_pct(new)}%"
    share = _percent(flip_share(old, new))
    if old is None or new is None or old.salt == new.salt:
        return [_nested_line(old, new, share, move)]
    if not old.basis_points or not new.basis_points:
        no_one = "nobody is in at 0%, so nothing reshuffles"
        return [
            _nested_line(old, new, share, move),
            f"The salt changes ({_salts(old, new)}); {no_one}.",
        ]
    return _reshuffle_lines(old, new, share, move)


def _live_rollout(row: RolloutRow | None) -> Rollout | None:
    return None if row is None else Rollout(row.skill_name, row.basis_points, row.salt)


def _nested_line(old: Rollout | None, new: Rollout | None, share: str, move: str) -> str:
    delta = _bp(new) - _bp(old)
    if delta > 0:
        return f"+{share} of units enter ({move}); every unit already in stays in."
    if delta < 0:
        return f"-{share} of units leave ({move}); no unit enters."
    return f"No unit changes side ({move})."


def _reshuffle_lines(old: Rollout, new: Rollout, share: str, move: str) -> list[str]:
    p1, p2 = old.basis_points / 10_000, new.basis_points / 10_000
    return [
        f"⚠️ **RESHUFFLE: the salt changes** ({_salts(old, new)}): every unit is drawn again.",
        f"{share} of units flip ({move}): {_percent((1 - p1) * p2)} enter, "
        f"{_percent(p1 * (1 - p2))} leave; only {_percent(p1 * p2)} of units are in both before "
        "and after.",
    ]


def _salts(old: Rollout, new: Rollout) -> str:
    return f"{code(old.salt)} → {code(new.salt)}"


def _bp(rollout: Rollout | None) -> int:
    return rollout.basis_points if rollout else 0


def _pct(rollout: Rollout | None) -> str:
    return format_percentage(_bp(rollout))


def _percent(share: float) -> str:
    return f"{share * 100:.2f}%"
