"""The records: each conversion round-trips, and the plan carries what apply writes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from test_planner import api, desired, live, row_for, skill

from syncbot.desired import Pattern, Rollout, Route
from syncbot.live import RolloutRow, SkillRow
from syncbot.plan import Plan
from syncbot.planner import make_plan
from syncbot.records import (
    as_placement,
    as_route_value,
    format_percentage,
    parse_percentage,
    route_key,
)


@pytest.mark.parametrize("bp", [0, 1, 5, 10, 99, 100, 125, 1250, 2550, 3333, 9999, 10000])
def test_a_percentage_text_reads_back_to_the_same_basis_points(bp: int) -> None:
    assert parse_percentage(format_percentage(bp)) == bp


def test_a_route_round_trips_through_its_row_and_a_database_row() -> None:
    route = Route("alpha", "legal", 3, 0.75, (Pattern("nda", 0.5), Pattern("contract")))
    assert route.key == route_key("alpha", "legal") == route.as_row()["key"]
    assert Route.from_dict(route.as_row()) == route
    as_read = {**route.as_dict(), "min_confidence": Decimal("0.75")}  # numeric column
    assert Route.from_dict(as_read) == route


def test_a_skill_row_round_trips_through_its_values_and_row() -> None:
    row = row_for(skill("alpha"))
    assert SkillRow.from_values(row.name, row.as_row()) == row
    assert row.values() == {"skill_id": "skill_1", "version_id": "v1", **skill("alpha").metadata()}


def test_a_rollout_row_round_trips() -> None:
    row = RolloutRow("alpha", 1250, "s1", commit="c1")
    assert RolloutRow.from_row({**row.as_row(), "changed_at": None, "commit": "c1"}) == row


def test_a_value_of_another_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="not a route value"):
        as_route_value({"skill_id": "s", "version_id": "v", "content_sha256": None})
    with pytest.raises(ValueError, match="not a skill placement"):
        as_placement(None)


def test_the_plan_carries_the_cache_payload_apply_writes() -> None:
    a, b = skill("alpha"), skill("beta")
    routes = (Route("alpha", "legal", 1, 0.5, (Pattern("nda"),)),)
    want = desired(a, b, routes=routes, rollouts={"alpha": Rollout("alpha", 2550, "s")})
    plan = make_plan(want, live(api(("skill_1", "v1")), row_for(a)))
    write = plan.cache_write()
    # beta is created: its entry is written with this commit; alpha's row is unchanged
    # and its expired entry is not drift, so it is not rewritten
    assert set(write.entries) == {"beta"}
    assert write.entries["beta"]["commit"] == "c0ffee"
    assert plan.cache is not None and plan.cache.entries["alpha"]["commit"] is None
    assert write.routes == tuple(r.as_dict() for r in routes)
    assert write.rollouts == {"alpha": "25.5"}
    # the payload is not part of the plan's JSON: a saved plan loads as before
    assert "cache" not in plan.as_dict()
    assert Plan.from_dict(plan.as_dict()) == plan


def test_an_unchanged_skill_keeps_its_rows_commit_in_the_cache() -> None:
    a = skill("alpha")
    row = SkillRow.from_values("alpha", row_for(a).values(), commit="old")
    plan = make_plan(desired(a), live(api(("skill_1", "v1")), row))
    assert plan.is_empty
    assert plan.cache is not None and plan.cache.entries["alpha"]["commit"] == "old"
