"""Reads the live state a plan needs, in a number of requests that does not grow with the
number of unchanged skills: one API listing (paginated), a constant number of SQL queries,
one Redis round trip, plus version listings only for the few API skills that need a look.
"""

from __future__ import annotations

from collections.abc import Mapping

from syncbot.desired import DesiredState
from syncbot.errors import PolicyError
from syncbot.live import ApiListing, ApiVersion, DbState, LiveState
from syncbot.session import Targets


def read_live(targets: Targets, desired: DesiredState) -> LiveState:
    db = read_database(targets, desired.environment)
    check_environment(db, desired.environment)
    listing = targets.api.list_skills() if targets.api else None
    versions: dict[str, tuple[ApiVersion, ...]] = {}
    if targets.api is not None and listing is not None:
        for skill_id in skills_to_inspect(listing, db, desired):
            versions[skill_id] = tuple(targets.api.list_versions(skill_id))
    skill_ids = sorted({r.skill_id for r in db.skills.values() if r.skill_id})
    cache = targets.cache.read_state(desired.environment, skill_ids)
    return LiveState(api=listing, db=db, cache=cache, api_versions=versions)


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


def skills_to_inspect(listing: ApiListing, db: DbState, desired: DesiredState) -> list[str]:
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
    return sorted(set(inspect) | set(_adoption_candidates(listing, db, desired, ours)))


def _pin_suspect(api_skill: object, pinned: str, ours: Mapping[str, list[str]]) -> bool:
    latest = getattr(api_skill, "latest_version", None)
    if api_skill is None or latest == pinned:
        return False
    known = ours.get(getattr(api_skill, "id", ""), [])
    # after a revert the pin is older than the latest on purpose: only an unknown latest
    # version, or a pin that was our newest upload, suggests a hand edit in the API
    return latest not in known or (bool(known) and known[-1] == pinned)


def _adoption_candidates(
    listing: ApiListing, db: DbState, desired: DesiredState, ours: Mapping[str, list[str]]
) -> list[str]:
    """Unknown API skills with the display name of a skill in git: left by a create whose
    answer was lost (adopted), or that landed after its retry (a duplicate, pruned)."""
    wanted = {s.display_name for s in desired.skills.values()}
    pinned = {r.skill_id for r in db.skills.values()}
    return [
        s.id
        for s in listing.skills
        if s.id not in ours and s.id not in pinned and s.display_name in wanted
    ]
