"""Route changes explained: the recorded queries whose recommendation changes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass
from typing import Any

from syncbot.desired import (
    DesiredState,
    Route,
)
from syncbot.files.load import LoadedRepo
from syncbot.live import LiveState
from syncbot.plan import Change, Plan
from syncbot.routing import Router, SkillInfo, recommend
from syncbot.semantic.common import (
    MAX_QUERIES,
    MAX_QUERY_CHARS,
    code,
)

_DIRECT = 50  # up to this many candidate queries, `recommend` beats building a Router


@dataclass(frozen=True)
class Flip:
    """A query whose recommended skills (best first) differ after the apply."""

    query: str
    before: tuple[str, ...]
    after: tuple[str, ...]

    def concerns(self, skill: str) -> bool:
        """The skill entered or left the recommendations, or became or stopped being top."""
        moved = (skill in self.before) != (skill in self.after)
        top = self.before[:1] != self.after[:1] and skill in self.before[:1] + self.after[:1]
        return moved or top


def recorded_queries(repo: LoadedRepo) -> tuple[str, ...]:
    """Every registry example (match and no_match), then routes-queries.yaml, deduplicated."""
    found: list[str] = []
    for _, registry in sorted(repo.registry.items()):
        for route in registry.routes:
            if route.examples is not None:
                found += route.examples.match + route.examples.no_match
    return tuple(dict.fromkeys([*found, *repo.queries]))


@dataclass(frozen=True)
class _Side:
    """The routes and skills of one side (live, or after the apply)."""

    routes: tuple[Route, ...]
    skills: Mapping[str, SkillInfo]

    def router(self, keys: Set[str] | None = None) -> Router:
        chosen = [r for r in self.routes if keys is None or r.key in keys]
        return Router(chosen, self.skills)


def routing_flips(
    plan: Plan, desired: DesiredState, live: LiveState, queries: Sequence[str]
) -> tuple[tuple[Flip, ...], int]:
    """The queries whose top skill or recommended set changes, and how many were tried."""
    before = _Side(_live_routes(live), _live_skills(live))
    skills_after = _skills_after(plan, desired, live)
    after = _Side(tuple(r for r in desired.routes if r.skill in skills_after), skills_after)
    candidates = _may_move(queries, before, after, _moved_keys(plan, before, after))
    if not candidates:
        return (), len(queries)
    # a Router costs an index over every pattern: worth it only for many queries
    old, new = (before.router(), after.router()) if len(candidates) > _DIRECT else (None, None)
    flips = []
    for query in candidates:
        was, now = _skills_for(before, old, query), _skills_for(after, new, query)
        if was[:1] != now[:1] or set(was) != set(now):
            flips.append(Flip(query, was, now))
    return tuple(flips), len(queries)


def _moved_keys(plan: Plan, before: _Side, after: _Side) -> set[str]:
    """Routes that may answer differently: changed ones, and those whose skill comes or goes.

    Every other route is the same on both sides, so a query none of these routes
    recommends on either side gets the same recommendations before and after.
    """
    keys = {c.key for c in plan.changes if c.kind == "route"}
    for route in (*before.routes, *after.routes):
        if (route.skill in before.skills) != (route.skill in after.skills):
            keys.add(route.key)
    return keys


def _may_move(queries: Sequence[str], before: _Side, after: _Side, keys: set[str]) -> list[str]:
    old, new = before.router(keys), after.router(keys)
    return [q for q in queries if old.recommend(q) or new.recommend(q)]


def _skills_for(side: _Side, router: Router | None, query: str) -> tuple[str, ...]:
    found = router.recommend(query) if router else recommend(side.routes, query, skills=side.skills)
    return tuple(r.skill for r in found)


def _live_routes(live: LiveState) -> tuple[Route, ...]:
    rows = [live.db.routes[key] for key in sorted(live.db.routes)]
    return tuple(Route(r.skill, r.category, r.priority, r.min_confidence, r.patterns) for r in rows)


def _live_skills(live: LiveState) -> dict[str, SkillInfo]:
    return {name: SkillInfo(row.type, row.category) for name, row in live.db.skills.items()}


def _skills_after(plan: Plan, desired: DesiredState, live: LiveState) -> dict[str, SkillInfo]:
    """The desired skills the database holds after the apply (live rows plus creations)."""
    created = {c.key for c in _db_skills(plan) if c.action == "create"}
    present = (set(live.db.skills) | created) & set(desired.skills)
    return {n: SkillInfo(desired.skills[n].type, desired.skills[n].category) for n in present}


def _db_skills(plan: Plan) -> Iterable[Change]:
    return (c for c in plan.changes if c.target == "db" and c.kind == "skill")


def route_skill(change: Change) -> str:
    return change.key.partition(":")[0]  # route keys are "<skill>:<category>"


def pattern_lines(change: Change) -> list[str]:
    """Patterns added, removed or re-weighted by a route update (the field diff cuts them)."""
    if not (isinstance(change.before, dict) and isinstance(change.after, dict)):
        return []
    old, new = _weights(change.before), _weights(change.after)
    items = [f"  added {code(r)} (weight {new[r]:g})" for r in new if r not in old]
    items += [f"  removed {code(r)} (weight {old[r]:g})" for r in old if r not in new]
    items += [
        f"  re-weighted {code(r)}: {old[r]:g} → {new[r]:g}"
        for r in new
        if old.get(r, new[r]) != new[r]
    ]
    return ["Patterns changed:", *items] if items else []


def _weights(route: Mapping[str, Any]) -> dict[str, float]:
    return {str(p["regex"]): float(p["weight"]) for p in route.get("patterns", [])}


def route_lines(skill: str, flips: Sequence[Flip], total: int) -> list[str]:
    if total == 0:
        return [
            "No recorded queries to check: add `examples` to the routes or a routes-queries.yaml."
        ]
    mine = [f for f in flips if f.concerns(skill)]
    if not mine:
        return [f"None of the {total} recorded queries routes differently for {code(skill)}."]
    lines = [f"{len(mine)} of {total} recorded queries route differently:"]
    lines += [f"  {code(_clip(f.query))}: {_skills(f.before)} → {_skills(f.after)}" for f in mine]
    del lines[MAX_QUERIES + 1 :]
    if len(mine) > MAX_QUERIES:
        lines.append(f"  … and {len(mine) - MAX_QUERIES} more")
    return lines


def _skills(names: tuple[str, ...]) -> str:
    return ", ".join(code(n) for n in names) if names else "(no skill)"


def _clip(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= MAX_QUERY_CHARS else flat[: MAX_QUERY_CHARS - 1] + "…"
