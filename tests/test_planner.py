"""The planner is pure: each rule is tested with hand-built desired and live values."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from syncbot.desired import (
    DesiredState,
    Pattern,
    Rollout,
    RolloutPolicy,
    Route,
    Skill,
    SkillFile,
    content_sha256,
)
from syncbot.live import (
    ApiListing,
    ApiSkill,
    ApiVersion,
    CacheState,
    DbState,
    LiveState,
    Provenance,
    RolloutRow,
    RouteRow,
    SkillRow,
    VersionRow,
)
from syncbot.plan import CHANGED, DRIFT, NEW
from syncbot.planner import PlanOptions, make_plan
from syncbot.records import as_placement


def skill(name: str, body: str = "body") -> Skill:
    files = (SkillFile("SKILL.md", f"---\nname: {name}\n---\n{body}".encode()),)
    return Skill(
        name=name,
        display_name=name.title(),
        description="desc",
        type="code",
        category="analysis",
        version="1.0.0",
        config={},
        critical=False,
        owners=(),
        files=files,
        content_sha256=content_sha256(files),
    )


def desired(
    *skills: Skill,
    routes: tuple[Route, ...] = (),
    rollouts: dict[str, Rollout] | None = None,
    policy: RolloutPolicy | None = None,
) -> DesiredState:
    return DesiredState(
        "staging",
        "c0ffee",
        {s.name: s for s in skills},
        routes,
        rollouts or {},
        policy or RolloutPolicy(),
    )


def row_for(s: Skill, skill_id: str = "skill_1", version_id: str = "v1") -> SkillRow:
    return SkillRow.from_values(
        s.name, {"skill_id": skill_id, "version_id": version_id, **s.metadata()}
    )


def api(*pairs: tuple[str, str], complete: bool = True) -> ApiListing:
    return ApiListing(tuple(ApiSkill(i, None, v, "custom", "", "") for i, v in pairs), complete)


def live(
    listing: ApiListing | None, *rows: SkillRow, versions: tuple[VersionRow, ...] = (), **db: object
) -> LiveState:
    state = DbState("staging", {r.name: r for r in rows}, versions, **db)  # type: ignore[arg-type]
    return LiveState(listing, state, CacheState(available=True, registry={"routes": []}))


def kinds(plan: object) -> list[tuple[str, str, str, str]]:
    return [(c.target, c.action, c.kind, c.key) for c in plan.changes]  # type: ignore[attr-defined]


def test_new_skill_is_created_uploaded_and_recorded() -> None:
    plan = make_plan(desired(skill("alpha")), live(api()))
    assert ("api", "create", "skill", "alpha") in kinds(plan)
    assert ("db", "create", "skill", "alpha") in kinds(plan)
    assert {c.reason for c in plan.changes if c.target in ("api", "db")} == {NEW}


def test_unchanged_state_gives_an_empty_plan() -> None:
    s = skill("alpha")
    state = live(api(("skill_1", "v1")), row_for(s))
    assert make_plan(desired(s), state).is_empty


def test_changed_content_uploads_a_new_version_to_the_same_skill() -> None:
    old, new = skill("alpha", "old"), skill("alpha", "new")
    plan = make_plan(desired(new), live(api(("skill_1", "v1")), row_for(old)))
    change = plan.by_target("api")[0]
    assert (change.action, change.reason, as_placement(change.after)["skill_id"]) == (
        "update",
        CHANGED,
        "skill_1",
    )


def test_revert_repins_an_earlier_upload_without_uploading() -> None:
    old, new = skill("alpha", "old"), skill("alpha", "new")
    versions = (
        VersionRow("alpha", "skill_1", "v1", old.content_sha256),
        VersionRow("alpha", "skill_1", "v2", new.content_sha256),
    )
    state = live(api(("skill_1", "v2")), row_for(new, version_id="v2"), versions=versions)
    plan = make_plan(desired(old), state)
    [change] = plan.by_target("api")
    assert (change.action, as_placement(change.after)["version_id"]) == ("repin", "v1")
    assert "no upload" in change.detail


def test_skill_deleted_by_hand_in_the_api_is_drift_and_recreated() -> None:
    s = skill("alpha")
    plan = make_plan(desired(s), live(api(("skill_other", "x")), row_for(s)))
    [change] = plan.by_target("api")
    assert (change.action, change.reason) == ("create", DRIFT)


def test_empty_listing_never_recreates_everything() -> None:
    a, b = skill("alpha"), skill("beta")
    plan = make_plan(desired(a, b), live(api(), row_for(a, "s1"), row_for(b, "s2")))
    assert plan.blocked and all(c.blocked for c in plan.by_target("api"))


def _lost_create(provenance: Provenance | None) -> LiveState:
    lost = ApiSkill("skill_lost", "Alpha", "v9", "custom", "2026-11-26T10:00:02Z", "")
    return replace(
        live(ApiListing((lost,))),
        api_versions={"skill_lost": (ApiVersion("v9", "v9", "skill_lost", "alpha", "d", ""),)},
        provenance={} if provenance is None else {"skill_lost": provenance},
    )


def test_unknown_skill_made_by_our_lost_create_is_adopted_not_duplicated() -> None:
    ours = Provenance(marker="a" * 32, ours="alpha")
    [change] = make_plan(desired(skill("alpha")), _lost_create(ours)).by_target("api")
    assert (change.action, as_placement(change.after)["skill_id"]) == ("update", "skill_lost")


@pytest.mark.parametrize(
    "provenance",
    [
        None,  # not checked
        Provenance(),  # no marker: a colleague's copy
        Provenance(marker="b" * 32),  # another environment's marker
        Provenance(marker="c" * 32, ours="beta"),  # ours, but for another name
        Provenance(error="skills-api: GET ...: 500"),  # content unreadable: cannot tell
    ],
)
def test_someone_elses_copy_with_our_name_is_never_taken_over(
    provenance: Provenance | None,
) -> None:
    plan = make_plan(desired(skill("alpha")), _lost_create(provenance))
    [change] = plan.by_target("api")
    assert change.action == "create"
    if provenance is not None:
        assert any("skill_lost" in n and "left alone" in n for n in plan.notes)


def test_upload_recorded_by_a_killed_run_is_repinned() -> None:
    s = skill("alpha")
    versions = (VersionRow("alpha", "skill_1", "v1", s.content_sha256),)
    [change] = make_plan(desired(s), live(api(("skill_1", "v1")), versions=versions)).by_target(
        "api"
    )
    assert change.action == "repin"


def test_removed_skill_is_kept_without_prune_and_deleted_with_it() -> None:
    gone = skill("gone")
    state = live(api(("skill_1", "v1")), row_for(gone))
    kept = make_plan(desired(), state)
    assert kept.is_empty and "gone" in kept.notes[0]
    pruned = make_plan(desired(), state, PlanOptions(prune=True))
    assert ("api", "delete", "skill", "gone") in kinds(pruned)
    assert pruned.changes[-1].target == "api"  # API deletions come last


def test_prune_over_the_cap_is_blocked() -> None:
    rows = [row_for(skill(f"s{i}"), f"id{i}") for i in range(5)]
    plan = make_plan(
        desired(skill("s4")),  # one kept: deleting every skill is refused on its own
        live(api(*[(f"id{i}", "v1") for i in range(5)]), *rows),
        PlanOptions(prune=True, max_deletions=3),
    )
    assert plan.blocked and "cap of 3" in str(plan.blocked[0].blocked)


def _rollout_state(bp: int, changed: datetime) -> LiveState:
    s = skill("alpha")
    return live(
        api(("skill_1", "v1")),
        row_for(s),
        rollouts={"alpha": RolloutRow("alpha", bp, "alpha", changed)},
    )


POLICY = RolloutPolicy(steps=(0, 5, 25, 50, 100), min_soak_hours=72)
NOW = datetime(2026, 11, 26, tzinfo=UTC).timestamp()


def test_rollout_increase_must_take_the_next_step() -> None:
    want = desired(
        skill("alpha"), rollouts={"alpha": Rollout("alpha", 5000, "alpha")}, policy=POLICY
    )
    plan = make_plan(
        want, _rollout_state(500, datetime(2026, 1, 1, tzinfo=UTC)), PlanOptions(now_epoch_s=NOW)
    )
    assert "skips a step" in str(plan.blocked[0].blocked)


def test_rollout_increase_waits_for_the_soak() -> None:
    want = desired(
        skill("alpha"), rollouts={"alpha": Rollout("alpha", 2500, "alpha")}, policy=POLICY
    )
    plan = make_plan(
        want, _rollout_state(500, datetime(2026, 11, 25, tzinfo=UTC)), PlanOptions(now_epoch_s=NOW)
    )
    assert "soak" in str(plan.blocked[0].blocked)
    later = make_plan(
        want, _rollout_state(500, datetime(2026, 11, 20, tzinfo=UTC)), PlanOptions(now_epoch_s=NOW)
    )
    assert not later.blocked and later.changes


def test_rollout_decrease_is_always_allowed() -> None:
    want = desired(skill("alpha"), rollouts={"alpha": Rollout("alpha", 0, "alpha")}, policy=POLICY)
    plan = make_plan(
        want,
        _rollout_state(5000, datetime(2026, 11, 25, 23, tzinfo=UTC)),
        PlanOptions(now_epoch_s=NOW),
    )
    assert plan.changes and not plan.blocked


def test_route_edited_by_hand_is_drift() -> None:
    s = skill("alpha")
    route = Route("alpha", "legal", 1, 0.5, (Pattern("contract"),))
    hand = RouteRow("alpha", "legal", 1, 0.9, (Pattern("contract"),))
    from syncbot.canonical import fingerprint

    written = {f"db:route:{route.key}": fingerprint(route.as_dict())}
    state = live(api(("skill_1", "v1")), row_for(s), routes={route.key: hand}, written=written)
    [change] = make_plan(desired(s, routes=(route,)), state).by_target("db")
    assert (change.action, change.reason) == ("update", DRIFT)
    assert hand.as_dict() != route.as_dict()


def test_stale_cache_entry_is_drift_but_a_missing_one_is_not() -> None:
    s = skill("alpha")
    base = live(api(("skill_1", "v1")), row_for(s))
    assert make_plan(desired(s), base).is_empty  # expired entry: no change
    stale = {"skill_1": {"name": "alpha", **row_for(s).values(), "description": "old"}}
    drifted = replace(base, cache=replace(base.cache, entries=stale))
    [change] = make_plan(desired(s), drifted).changes
    assert (change.target, change.kind, change.reason) == ("cache", "entry", DRIFT)


def test_plan_is_deterministic() -> None:
    skills = [skill(n) for n in ("c", "a", "b")]
    first = make_plan(desired(*skills), live(api()))
    second = make_plan(desired(*reversed(skills)), live(api()))
    assert first.as_dict() == second.as_dict()
