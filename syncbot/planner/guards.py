"""Deletion guards for routes and rollouts, like the prune cap on skills.

Routes and rollouts are deleted when their files say so, with no --prune: a registry
file renamed to `.yml`, or a plan read from the wrong folder, would otherwise delete
every route or turn every skill off in one apply.
"""

from __future__ import annotations

from dataclasses import replace

from syncbot.plan import Change
from syncbot.planner.context import Context
from syncbot.records import as_route_value

_WHERE = {
    "route": "registry/*.yaml",
    "rollout": "rollouts/<environment>.yaml",
    "skill": "skills/<name>/",
}
_PLURAL = {"route": "routes", "rollout": "rollouts", "skill": "skills"}


def deletion_cap(ctx: Context) -> int:
    """--max-deletions when given, else prune.max_deletions of syncbot.yaml."""
    given = ctx.options.max_deletions
    return given if given is not None else ctx.desired.max_deletions


def guard_deletions(
    ctx: Context, kind: str, live_count: int, changes: list[Change]
) -> list[Change]:
    """Block every deletion of `kind` when they remove all of them (2 or more), or more
    than the cap.

    A route deleted while its skill keeps another route (a category renamed) is a
    replacement, not a removal: only routes whose skill is left with none count.
    """
    deletes = [c for c in changes if c.action == "delete" and c.kind == kind]
    creates = [c for c in changes if c.action == "create" and c.kind == kind]
    counted = deletes
    if kind == "route":
        routed = {as_route_value(c.after)["skill"] for c in creates}
        routed |= _kept_route_skills(changes, ctx)
        counted = [c for c in deletes if as_route_value(c.before)["skill"] not in routed]
    every = bool(deletes) and len(deletes) == live_count and not creates
    why = deletion_refusal(ctx, kind, len(counted), all_of_them=every)
    if why is None:
        return changes
    return [replace(c, blocked=why) if c in deletes else c for c in changes]


def _kept_route_skills(changes: list[Change], ctx: Context) -> set[str]:
    gone = {c.key for c in changes if c.action == "delete" and c.kind == "route"}
    return {row.skill for key, row in ctx.live.db.routes.items() if key not in gone}


def deletion_refusal(ctx: Context, kind: str, count: int, *, all_of_them: bool) -> str | None:
    """Why `count` deletions of `kind` are refused, or None."""
    plural = _PLURAL[kind]
    if count >= 2 and all_of_them and not ctx.options.allow_delete_all:
        return (
            f"plan deletes all {count} {plural}: files missing, misnamed or read from the "
            f"wrong folder? Check {_WHERE[kind]}; to delete them all on purpose, apply "
            "with --allow-delete-all"
        )
    cap = deletion_cap(ctx)
    if count > cap:
        return (
            f"plan deletes {count} {plural}, over the cap of {cap} (prune.max_deletions); "
            f"if that is intended, apply with --max-deletions {count}"
        )
    return None
