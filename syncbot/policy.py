"""The delivery policy of syncbot.yaml, compared between two revisions. Pure: no I/O.

Policy travels with the base, not with the change: a change is checked against the
stricter of the policy it starts from and the policy it brings, so a pull request cannot
loosen the rules and use the looser rules in one go. A loosening is still allowed to
merge (a reviewed policy change), but `loosenings` names each one for the reviewers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from syncbot.desired import DesiredState, RolloutPolicy
from syncbot.files.schemas import SyncbotConfig


@dataclass(frozen=True)
class Policy:
    """Per environment, its rollout ladder and soak; and the prune cap of one apply."""

    rollouts: Mapping[str, RolloutPolicy]
    max_deletions: int

    def rollout(self, environment: str) -> RolloutPolicy:
        return self.rollouts.get(environment, RolloutPolicy())


@dataclass(frozen=True)
class Loosening:
    """One way the new syncbot.yaml is less strict; `path` locates it in the new file."""

    path: tuple[Any, ...]
    message: str


def policy_of(config: SyncbotConfig) -> Policy:
    rollouts = {
        name: RolloutPolicy(tuple(env.rollout.steps), env.rollout.min_soak_hours)
        for name, env in config.environments.items()
        if env.rollout is not None
    }
    return Policy(rollouts, config.prune.max_deletions)


def strictest(a: Policy, b: Policy) -> Policy:
    """Every step of either ladder, the longer soak, the lower prune cap."""
    rollouts = {}
    for name in sorted(a.rollouts.keys() | b.rollouts.keys()):
        one, other = a.rollouts.get(name), b.rollouts.get(name)
        if one is None or other is None:
            rollouts[name] = one or other or RolloutPolicy()
            continue
        steps = tuple(sorted(set(one.steps) | set(other.steps)))
        rollouts[name] = RolloutPolicy(steps, max(one.min_soak_hours, other.min_soak_hours))
    return Policy(rollouts, min(a.max_deletions, b.max_deletions))


def judged_by(desired: DesiredState, other: Policy) -> DesiredState:
    """`desired` with the stricter of its own policy and `other` (a base's, or the last
    applied commit's): what plan and apply check this change against."""
    own = Policy({desired.environment: desired.policy}, desired.max_deletions)
    both = strictest(own, other)
    return replace(
        desired, policy=both.rollout(desired.environment), max_deletions=both.max_deletions
    )


def loosenings(old: SyncbotConfig, new: SyncbotConfig) -> list[Loosening]:
    """Each way `new` allows what `old` refused: a ladder step removed (or the whole
    ladder), a shorter soak, a higher prune cap."""
    before, after = policy_of(old), policy_of(new)
    found: list[Loosening] = []
    for name, was in sorted(before.rollouts.items()):
        found += _rollout_loosenings(name, was, after.rollouts.get(name))
    if after.max_deletions > before.max_deletions:
        message = f"prune.max_deletions raised from {before.max_deletions} to {after.max_deletions}"
        found.append(Loosening(("prune", "max_deletions"), message))
    return found


def _rollout_loosenings(env: str, was: RolloutPolicy, now: RolloutPolicy | None) -> list[Loosening]:
    where: tuple[Any, ...] = ("environments", env, "rollout")
    if now is None:
        message = (
            f"{env}: the rollout policy was removed (was steps {_ladder(was.steps)}, "
            f"min_soak_hours {was.min_soak_hours:g}): any increase would be allowed at once"
        )
        return [Loosening(where, message)]
    found = []
    removed = sorted(set(was.steps) - set(now.steps))
    if removed:
        message = (
            f"{env}: step{'s' if len(removed) > 1 else ''} {', '.join(map(str, removed))} "
            f"removed from the ladder ({_ladder(was.steps)} -> {_ladder(now.steps)})"
        )
        found.append(Loosening((*where, "steps"), message))
    if now.min_soak_hours < was.min_soak_hours:
        message = (
            f"{env}: min_soak_hours lowered from {was.min_soak_hours:g} to {now.min_soak_hours:g}"
        )
        found.append(Loosening((*where, "min_soak_hours"), message))
    return found


def _ladder(steps: tuple[int, ...]) -> str:
    return f"[{', '.join(map(str, steps))}]"
