"""Reads the live state a plan needs, in a number of requests that does not grow with the
number of unchanged skills: one API listing (paginated), a constant number of SQL queries,
one Redis round trip, plus version listings only for the few API skills that need a look,
and the content of the few unknown API skills whose ownership the plan must decide.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path

from syncbot.desired import DesiredState
from syncbot.errors import PolicyError, SyncbotError
from syncbot.files.deployed import skill_files_at
from syncbot.live import ApiListing, ApiVersion, DbState, LiveState, Provenance
from syncbot.plan import Plan
from syncbot.planner import PlanOptions, make_plan
from syncbot.semantic import deployed_commits
from syncbot.session import Targets


def plan_options(
    *, prune: bool, max_deletions: int | None, allow_delete_all: bool, max_cache_entries: int
) -> PlanOptions:
    """Options for a plan made now: the clock is read here, never by the planner."""
    return PlanOptions(
        prune=prune,
        max_deletions=max_deletions,
        allow_delete_all=allow_delete_all,
        now_epoch_s=time.time(),
        max_cache_entries=max_cache_entries,
    )


def read_and_plan(
    targets: Targets, desired: DesiredState, options: PlanOptions
) -> tuple[LiveState, Plan]:
    """The one read-then-plan sequence: what `plan` shows is what `apply` executes."""
    live = read_live(targets, desired, prune=options.prune)
    return live, make_plan(desired, live, options)


def read_live(targets: Targets, desired: DesiredState, *, prune: bool = False) -> LiveState:
    """`prune`: the plan may delete, so every lookalike API skill's ownership is checked."""
    db = read_database(targets, desired.environment)
    check_environment(db, desired.environment)
    listing = targets.api.list_skills() if targets.api else None
    versions: dict[str, tuple[ApiVersion, ...]] = {}
    provenance: dict[str, Provenance] = {}
    if targets.api is not None and listing is not None:
        names = names_to_place(listing, db, desired, prune=prune)
        for skill_id in skills_to_inspect(listing, db, desired, names):
            versions[skill_id] = tuple(targets.api.list_versions(skill_id))
        wanted = ownership_to_check(db, versions, names)
        provenance = read_provenance(targets, desired.environment, db, listing, wanted)
    skill_ids = sorted({r.skill_id for r in db.skills.values() if r.skill_id})
    cache = targets.cache.read_state(desired.environment, skill_ids)
    return LiveState(api=listing, db=db, cache=cache, api_versions=versions, provenance=provenance)


def read_database(targets: Targets, environment: str) -> DbState:
    """The database's state; a database never migrated reads as empty (a PR's first plan)."""
    if not targets.db.applied_migrations():
        return DbState(environment=None, migrated=False)
    return targets.db.read_state(environment)


def check_environment(db: DbState, environment: str) -> None:
    if db.environment is not None and db.environment != environment:
        raise PolicyError(
            f"this database serves environment {db.environment!r}, not {environment!r}: "
            "refusing to apply another environment's configuration to it"
        )


def names_to_place(
    listing: ApiListing, db: DbState, desired: DesiredState, *, prune: bool
) -> set[str]:
    """Skills in git whose lookalikes in the API matter to this plan: those with no home
    in the API yet (one of ours may be adopted) and, with --prune, all (a duplicate of
    ours is deleted). A plan with nothing to place and no prune looks at no lookalike, so
    another environment's skills on a shared workspace cost no request."""
    if prune:
        return set(desired.skills)
    present = {s.id for s in listing.skills}
    return {
        name
        for name in desired.skills
        if (row := db.skills.get(name)) is None or row.skill_id not in present
    }


def skills_to_inspect(
    listing: ApiListing, db: DbState, desired: DesiredState, names: set[str]
) -> list[str]:
    """API skills whose versions we must list: suspected drift and adoption candidates."""
    by_id = {s.id: s for s in listing.skills}
    ours: dict[str, list[str]] = {}
    for v in sorted(db.versions, key=lambda v: (str(v.uploaded_at or ""), v.version_id)):
        ours.setdefault(v.skill_id, []).append(v.version_id)
    inspect = [
        r.skill_id
        for r in db.skills.values()
        if _pin_suspect(by_id.get(r.skill_id), r.version_id, ours)
    ]
    lookalikes = _adoption_candidates(listing, db, desired, ours, names)
    return sorted(set(inspect) | set(lookalikes))


def _pin_suspect(api_skill: object, pinned: str, ours: Mapping[str, list[str]]) -> bool:
    latest = getattr(api_skill, "latest_version", None)
    if api_skill is None or latest == pinned:
        return False
    known = ours.get(getattr(api_skill, "id", ""), [])
    # after a revert the pin is older than the latest on purpose: only an unknown latest
    # version, or a pin that was our newest upload, suggests a hand edit in the API
    return latest not in known or (bool(known) and known[-1] == pinned)


def _adoption_candidates(
    listing: ApiListing,
    db: DbState,
    desired: DesiredState,
    ours: Mapping[str, list[str]],
    names: set[str],
) -> list[str]:
    """Unknown API skills with the display name of a skill to place: left by a create
    whose answer was lost (adopted), or that landed after its retry (a duplicate, pruned)."""
    wanted = {s.display_name for n, s in desired.skills.items() if n in names}
    pinned = {r.skill_id for r in db.skills.values()}
    return [
        s.id
        for s in listing.skills
        if s.id not in ours and s.id not in pinned and s.display_name in wanted
    ]


def ownership_to_check(
    db: DbState, versions: Mapping[str, tuple[ApiVersion, ...]], names: set[str]
) -> list[str]:
    """Unknown API skills carrying the name of a skill to place: their content decides."""
    known = {v.skill_id for v in db.versions} | {r.skill_id for r in db.skills.values()}
    return sorted(
        skill_id
        for skill_id, found in versions.items()
        if skill_id not in known and {v.name for v in found} & names
    )


def read_provenance(
    targets: Targets,
    environment: str,
    db: DbState,
    listing: ApiListing,
    skill_ids: list[str],
) -> dict[str, Provenance]:
    """Each skill's ownership marker, read from its latest version's content, and whether
    this environment journaled it. A download that fails leaves the skill undecided."""
    api = targets.api
    if api is None or not skill_ids:
        return {}
    latest = {s.id: s.latest_version for s in listing.skills}

    def marker(skill_id: str) -> str | None:
        address = latest.get(skill_id)
        return api.version_marker(skill_id, address) if address else None

    found = api.map_concurrent(marker, skill_ids)
    markers = sorted({m for m in found if isinstance(m, str)})
    journaled = targets.db.journaled_nonces(environment, markers) if db.migrated else {}
    out: dict[str, Provenance] = {}
    for skill_id, result in zip(skill_ids, found, strict=True):
        if isinstance(result, SyncbotError):
            out[skill_id] = Provenance(error=result.message)
        elif isinstance(result, Exception):
            raise result
        else:
            out[skill_id] = Provenance(marker=result, ours=journaled.get(result or ""))
    return out


def read_deployed_files(
    root: Path, plan: Plan, desired: DesiredState, live: LiveState
) -> dict[str, dict[str, bytes]]:
    """Skill name -> {path: bytes} at the commit that deployed it, for the skills whose
    content the plan changes; a commit missing from the repository is left out (the
    explanation says so)."""
    found: dict[str, dict[str, bytes]] = {}
    for sha, names in sorted(deployed_commits(plan, desired, live).items()):
        found.update(skill_files_at(root, sha, names))
    return found
