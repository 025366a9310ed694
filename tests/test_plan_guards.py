"""Pure planner rules of the deletion guards and of refusals (hand-built states)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from test_planner import POLICY, api, desired, live, row_for, skill

from syncbot.desired import Pattern, Rollout, Route, Skill
from syncbot.live import CacheState, LiveState, RolloutRow, RouteRow
from syncbot.plan import Plan
from syncbot.planner import PlanOptions, make_plan

NOW = datetime(2026, 11, 26, tzinfo=UTC).timestamp()
NAMES = [f"s{i}" for i in range(6)]


def state(routes: int = 0, rollouts: int = 0) -> tuple[list[Skill], LiveState]:
    skills = [skill(n) for n in NAMES]
    rows = [row_for(s, f"id{i}") for i, s in enumerate(skills)]
    base = live(
        api(*[(f"id{i}", "v1") for i in range(len(NAMES))]),
        *rows,
        routes={f"{n}:legal": RouteRow(n, "legal", 1, 0.5, (Pattern(n),)) for n in NAMES[:routes]},
        rollouts={n: RolloutRow(n, 500, n) for n in NAMES[:rollouts]},
    )
    return skills, base


def route(name: str) -> Route:
    return Route(name, "legal", 1, 0.5, (Pattern(name),))


def refusals(plan: Plan) -> set[str]:
    return {r.reason for r in plan.refused}


@pytest.mark.parametrize("kind", ["route", "rollout"])
def test_deleting_every_route_or_rollout_is_refused(kind: str) -> None:
    skills, base = state(routes=3, rollouts=3)
    keep_routes = () if kind == "route" else tuple(route(n) for n in NAMES[:3])
    keep_rollouts = {} if kind == "rollout" else {n: Rollout(n, 500, n) for n in NAMES[:3]}
    plan = make_plan(desired(*skills, routes=keep_routes, rollouts=keep_rollouts), base)
    assert len(plan.refused) == 3
    assert refusals(plan) == {
        f"plan deletes all 3 {kind}s: files missing, misnamed or read from the wrong folder? "
        f"Check {'registry/*.yaml' if kind == 'route' else 'rollouts/<environment>.yaml'}; "
        "to delete them all on purpose, apply with --allow-delete-all"
    }
    assert all(r.allowed_from is None and r.when == "never: fix the plan" for r in plan.refused)
    allowed = make_plan(
        desired(*skills, routes=keep_routes, rollouts=keep_rollouts),
        base,
        PlanOptions(allow_delete_all=True),
    )
    assert not allowed.refused and len(allowed.changes) >= 3


def test_route_deletions_over_the_cap_are_refused_and_the_cap_can_be_raised() -> None:
    skills, base = state(routes=6)
    keep = (route("s5"),)
    plan = make_plan(desired(*skills, routes=keep), base, PlanOptions(max_deletions=3))
    assert refusals(plan) == {
        "plan deletes 5 routes, over the cap of 3 (prune.max_deletions); "
        "if that is intended, apply with --max-deletions 5"
    }
    raised = make_plan(desired(*skills, routes=keep), base, PlanOptions(max_deletions=5))
    assert not raised.refused


@pytest.mark.parametrize("deleted", [1, 2])
def test_one_or_two_rollouts_can_still_be_turned_off_by_deleting_their_entry(
    deleted: int,
) -> None:
    skills, base = state(rollouts=4)
    keep = {n: Rollout(n, 500, n) for n in NAMES[deleted:4]}
    plan = make_plan(desired(*skills, rollouts=keep), base)
    assert not plan.refused
    assert [c.key for c in plan.changes if c.kind == "rollout"] == NAMES[:deleted]


def test_a_single_route_or_rollout_can_be_deleted_even_when_it_is_the_last() -> None:
    skills, base = state(routes=1, rollouts=1)
    assert not make_plan(desired(*skills), base).refused


def test_pruning_every_skill_is_refused_even_under_the_cap() -> None:
    _, base = state()
    plan = make_plan(desired(), base, PlanOptions(prune=True, max_deletions=10))
    assert refusals(plan) and all("plan deletes all 6 skills" in r for r in refusals(plan))
    assert not make_plan(
        desired(), base, PlanOptions(prune=True, max_deletions=10, allow_delete_all=True)
    ).refused


def test_a_soak_refusal_says_from_when_the_increase_is_allowed() -> None:
    s = skill("alpha")
    changed = datetime(2026, 11, 25, 9, 30, 15, 250_000, tzinfo=UTC)
    base = live(
        api(("skill_1", "v1")),
        row_for(s),
        rollouts={"alpha": RolloutRow("alpha", 500, "alpha", changed)},
    )
    want = desired(s, rollouts={"alpha": Rollout("alpha", 2500, "alpha")}, policy=POLICY)
    plan = make_plan(want, base, PlanOptions(now_epoch_s=NOW))
    (refusal,) = plan.refused
    assert refusal.allowed_from == "2026-11-28T09:30:16Z"  # rounded up to the second
    assert plan.as_dict()["refused"] == [refusal.as_dict()]
    assert Plan.from_dict(plan.as_dict()) == plan  # a saved plan keeps allowed_from


def test_an_unreadable_cache_is_recorded_as_not_compared() -> None:
    _, base = state()
    skills = [skill(n) for n in NAMES]
    blind = LiveState(base.api, base.db, CacheState(available=False, error="connection refused"))
    plan = make_plan(desired(*skills), blind)
    assert plan.is_empty and not plan.complete
    assert plan.uncompared == {"cache": "connection refused"}
    assert make_plan(desired(*skills), base).complete


def test_renaming_route_categories_is_a_replacement_not_a_removal() -> None:
    skills, base = state(routes=6)
    renamed = tuple(Route(n, "other", 1, 0.5, (Pattern(n),)) for n in NAMES)
    plan = make_plan(desired(*skills, routes=renamed), base, PlanOptions(max_deletions=1))
    assert not plan.refused
    assert sum(c.action == "delete" for c in plan.changes if c.kind == "route") == 6
