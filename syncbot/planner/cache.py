"""Planning rules for the Redis cache, which is derived from the database rows.

A missing skill entry is not drift (entries expire); an entry with other content is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from syncbot.canonical import fingerprint
from syncbot.plan import DRIFT, Change
from syncbot.planner.context import Context
from syncbot.records import (
    RouteValue,
    SkillValues,
    SnapshotValue,
    cache_entry,
    comparable_entry,
    rollouts_value,
)


def plan_entries(
    ctx: Context,
    rows: Mapping[str, SkillValues],
    db_changes: Mapping[str, Change],
    any_change: bool,
) -> tuple[list[Change], list[str]]:
    """Entries to write: changed skills first, then critical ones (kept warm), capped."""
    changes: list[Change] = []
    for name in sorted(rows):
        row = rows[name]
        live = ctx.live.cache.entries.get(row["skill_id"])
        want = cache_entry(name, row)
        db_change = db_changes.get(name)
        if db_change is not None:
            changes.append(
                Change(
                    "cache",
                    "update" if live else "create",
                    "entry",
                    name,
                    db_change.reason,
                    comparable_entry(live),
                    want,
                )
            )
        elif live is not None and comparable_entry(live) != want:
            changes.append(
                Change(
                    "cache",
                    "update",
                    "entry",
                    name,
                    DRIFT,
                    comparable_entry(live),
                    want,
                    "stale entry",
                )
            )
        elif live is None and ctx.live.db.cache_behind:
            detail = "the last apply that changed the database could not write the cache"
            changes.append(Change("cache", "create", "entry", name, DRIFT, None, want, detail))
        elif live is None and any_change and row.get("critical"):
            changes.append(
                Change("cache", "create", "entry", name, "keep warm (critical)", None, want)
            )
    return _cap(changes, ctx.options.max_cache_entries)


def _cap(changes: list[Change], limit: int) -> tuple[list[Change], list[str]]:
    ranked = sorted(changes, key=lambda c: (c.reason == "keep warm (critical)", c.key))
    kept, dropped = ranked[:limit], ranked[limit:]
    notes = (
        [f"cache: {len(dropped)} entries over SKILLS_MAX_CACHE_SIZE={limit} not written"]
        if dropped
        else []
    )
    return kept, notes


def plan_snapshot(
    ctx: Context, routes: list[RouteValue], rollouts: Mapping[str, int], db_touched: bool
) -> list[Change]:
    changes: list[Change] = []
    live_routes = (ctx.live.cache.registry or {}).get("routes")
    if live_routes != routes:
        reason = "derived from the database" if db_touched else DRIFT
        before = None if live_routes is None else _snapshot_value(live_routes)
        after = _snapshot_value(routes)
        changes.append(
            Change("cache", "update", "registry", "skills:registry", reason, before, after)
        )
    wanted = rollouts_value(rollouts)
    if dict(ctx.live.cache.rollouts) != wanted:
        key = f"skills:rollouts:{ctx.desired.environment}"
        reason = "derived from the database" if db_touched else DRIFT
        changes.append(
            Change(
                "cache",
                "update",
                "rollouts",
                key,
                reason,
                dict(ctx.live.cache.rollouts) or None,
                wanted,
            )
        )
    return changes


def _snapshot_value(routes: Sequence[Any]) -> SnapshotValue:
    return {"routes": len(routes), "sha": fingerprint(routes)}
