"""The planner: a pure function from (desired, live) to a Plan. No I/O, no clock."""

from __future__ import annotations

from dataclasses import replace
from typing import cast

from syncbot.canonical import fingerprint
from syncbot.desired import DesiredState, Skill
from syncbot.live import LiveState, SkillRow
from syncbot.plan import DRIFT, NEW, REMOVED, CacheWrite, Change, Plan, sorted_changes
from syncbot.planner.cache import plan_entries, plan_snapshot
from syncbot.planner.config import plan_rollouts, plan_routes
from syncbot.planner.context import Context, PlanOptions
from syncbot.planner.guards import deletion_refusal
from syncbot.planner.skills import (
    Placement,
    db_change,
    desired_row,
    not_ours,
    place_existing,
    place_new,
    plan_duplicates,
    plan_orphans,
    plan_removed,
)
from syncbot.records import (
    CacheEntryValue,
    SkillValues,
    StoredEntry,
    as_placement,
    cache_entry,
    rollouts_value,
)

__all__ = ["PlanOptions", "make_plan"]


def make_plan(desired: DesiredState, live: LiveState, options: PlanOptions | None = None) -> Plan:
    ctx = Context.build(desired, live, options or PlanOptions())
    notes: list[str] = []
    if not live.db.migrated:
        notes.append("the database has no syncbot tables yet: apply creates them first")
    api, db, placements = _plan_skills(ctx, notes)
    db += _plan_removed(ctx, notes, plan_duplicates(ctx, placements))
    notes += not_ours(ctx, placements)
    present = set(placements)
    db += plan_routes(ctx, present) + plan_rollouts(ctx, present)
    cache, payload = _plan_cache(ctx, placements, api + db, notes)
    changes = _guard_listing(ctx, api, notes) + db + cache
    return Plan(
        environment=desired.environment,
        commit=desired.commit,
        changes=sorted_changes(changes),
        fingerprints={c.object_id: fingerprint(c.before) for c in changes},
        notes=tuple(notes),
        api_enabled=ctx.api_enabled,
        uncompared=_uncompared(live),
        cache=payload,
    )


def _uncompared(live: LiveState) -> dict[str, str]:
    if live.cache.available:
        return {}
    return {"cache": live.cache.error or "Redis could not be read"}


def _plan_skills(
    ctx: Context, notes: list[str]
) -> tuple[list[Change], list[Change], dict[str, Placement]]:
    api: list[Change] = []
    db: list[Change] = []
    placements: dict[str, Placement] = {}
    for name, skill in sorted(ctx.desired.skills.items()):
        row = ctx.live.db.skills.get(name)
        if not ctx.api_enabled:
            if row is None:
                notes.append(
                    f"{name}: not created, the Skills API is disabled (ANTHROPIC_SKILLS_ENABLED)"
                )
                continue
            skill_api: list[Change] = []
            placement = Placement(row.skill_id, row.version_id)
            skill = _keep_deployed_content(skill, row, notes)
        elif row is None:
            skill_api, placement = place_new(ctx, skill, NEW)
        else:
            skill_api, placement = place_existing(ctx, skill, row)
        placements[name] = placement
        api += skill_api
        db += db_change(ctx, skill, row, placement, skill_api)
    return api, db, placements


def _keep_deployed_content(skill: Skill, row: SkillRow, notes: list[str]) -> Skill:
    """Without the API nothing can be uploaded: the row keeps the content it really pins."""
    if skill.content_sha256 == row.content_sha256:
        return skill
    notes.append(f"{skill.name}: content change not deployed, the Skills API is disabled")
    return replace(skill, content_sha256=row.content_sha256, version=row.version)


def _plan_removed(ctx: Context, notes: list[str], duplicates: list[Change]) -> list[Change]:
    removed = sorted(set(ctx.live.db.skills) - set(ctx.desired.skills))
    orphans = plan_orphans(ctx)
    if not removed and not orphans and not duplicates:
        return []
    if not ctx.options.prune:
        names = sorted({*removed, *(c.key for c in orphans)})
        if names:
            notes.append(f"kept (removed from git, deleted only with --prune): {', '.join(names)}")
        if duplicates:
            shown = ", ".join(c.key for c in duplicates)
            notes.append(f"kept (duplicate API skills, deleted only with --prune): {shown}")
        return []
    orphans += duplicates
    changes = [c for name in removed for c in plan_removed(ctx, ctx.live.db.skills[name])]
    changes += orphans
    every_row = len(removed) >= 2 and len(removed) == len(ctx.live.db.skills)
    removed += [c.key for c in orphans]
    why = deletion_refusal(ctx, "skill", len(removed), all_of_them=every_row)
    return changes if why is None else [replace(c, blocked=why) for c in changes]


def _guard_listing(ctx: Context, api: list[Change], notes: list[str]) -> list[Change]:
    """Never recreate what only looks missing because the listing came back wrong."""
    rows = ctx.live.db.skills.values()
    pinned = [r for r in rows if r.skill_id]
    listing = ctx.live.api
    suspicious = listing is not None and (
        not listing.complete
        or (len(pinned) >= 2 and not any(r.skill_id in ctx.api_by_id for r in pinned))
    )
    if not suspicious:
        return api
    why = (
        f"the API listing shows none of the {len(pinned)} skills the database pins: "
        "refusing to recreate them"
    )
    notes.append(why + " (check ANTHROPIC_BASE_URL and the workspace)")
    return [replace(c, blocked=why) if c.reason == DRIFT else c for c in api]


def _plan_cache(
    ctx: Context, placements: dict[str, Placement], changes: list[Change], notes: list[str]
) -> tuple[list[Change], CacheWrite | None]:
    if not ctx.live.cache.available:
        notes.append(f"cache not compared: {ctx.live.cache.error or 'unreachable'}")
        return [], None
    rows = {n: desired_row(ctx.desired.skills[n], p) for n, p in placements.items()}
    db_changes = {c.key: c for c in changes if c.kind == "skill"}
    entries, cap_notes = plan_entries(ctx, rows, db_changes, bool(changes))
    notes += cap_notes
    routes = sorted(
        (r.as_dict() for r in ctx.desired.routes if r.skill in placements),
        key=lambda r: (r["skill"], r["category"]),
    )
    rollouts = {n: r.basis_points for n, r in ctx.desired.rollouts.items() if n in placements}
    touched = any(c.target == "db" for c in changes)
    rewritten = {c.key for c in changes if c.target == "db" and c.kind == "skill"}
    payload = CacheWrite(
        {n: _stored(ctx, n, rows[n], n in rewritten) for n in rows},
        routes=tuple(routes),
        rollouts=rollouts_value(rollouts),
    )
    cache = entries + _deleted_entries(ctx, changes) + plan_snapshot(ctx, routes, rollouts, touched)
    return cache, payload


def _stored(ctx: Context, name: str, values: SkillValues, changed: bool) -> StoredEntry:
    """The entry as Redis will hold it: the row after the apply, with its commit."""
    row = ctx.live.db.skills.get(name)
    commit = ctx.desired.commit if changed or row is None else row.commit
    return {**cache_entry(name, values), "commit": commit}


def _deleted_entries(ctx: Context, changes: list[Change]) -> list[Change]:
    out: list[Change] = []
    for change in changes:
        if change.target == "db" and change.kind == "skill" and change.action == "delete":
            entry = ctx.live.cache.entries.get(as_placement(change.before)["skill_id"])
            if entry is not None:
                before = cast(CacheEntryValue, dict(entry))
                out.append(
                    Change(
                        "cache",
                        "delete",
                        "entry",
                        change.key,
                        REMOVED,
                        before,
                        None,
                        blocked=change.blocked,
                    )
                )
    return out
