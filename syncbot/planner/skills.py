"""Planning rules for skills: API uploads, re-pins and deletions, and the database rows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from syncbot.desired import Skill
from syncbot.live import SkillRow
from syncbot.plan import DRIFT, NEW, REMOVED, Change
from syncbot.planner.context import Context
from syncbot.records import SkillValues, skill_values

PENDING = "(assigned by this apply)"


@dataclass(frozen=True)
class Placement:
    """Where a desired skill lives after the apply; None ids are assigned by an upload."""

    skill_id: str | None
    version_id: str | None


def _upload_detail(skill: Skill) -> str:
    size = sum(len(f.data) for f in skill.files)
    files = f"{len(skill.files)} file" + ("" if len(skill.files) == 1 else "s")
    return f"upload {files}, {size} bytes, sha256 {skill.content_sha256[:12]}"


def _api_change(
    action: str, skill: Skill, reason: str, before: Any, after: Any, detail: str
) -> Change:
    return Change("api", action, "skill", skill.name, reason, before, after, detail)  # type: ignore[arg-type]


def _api_state(skill_id: str | None, version_id: str | None, sha: str | None) -> dict[str, Any]:
    return {
        "skill_id": skill_id or PENDING,
        "version_id": version_id or PENDING,
        "content_sha256": sha,
    }


def place_new(
    ctx: Context, skill: Skill, reason: str, exclude: str | None = None
) -> tuple[list[Change], Placement]:
    """A skill the API does not hold for us: re-pin, upload to a known skill, adopt, or create."""
    sha = skill.content_sha256
    known = ctx.live_version(skill.name, sha)
    if known is not None and known.skill_id != exclude:
        after = _api_state(known.skill_id, known.version_id, sha)
        detail = f"re-pin version {known.version_id} uploaded earlier: no upload"
        return [_api_change("repin", skill, reason, None, after, detail)], Placement(
            known.skill_id, known.version_id
        )
    skill_id = ctx.known_skill_id(skill.name, exclude=exclude) or ctx.adoptable(skill.name)
    if skill_id is not None:
        detail = f"{_upload_detail(skill)} as a new version of existing API skill {skill_id}"
        change = _api_change("update", skill, reason, None, _api_state(skill_id, None, sha), detail)
        return [change], Placement(skill_id, None)
    change = _api_change(
        "create", skill, reason, None, _api_state(None, None, sha), _upload_detail(skill)
    )
    return [change], Placement(None, None)


def _pinned_version_missing(ctx: Context, row: SkillRow) -> bool:
    api_skill = ctx.api_by_id[row.skill_id]
    if api_skill.latest_version == row.version_id:
        return False
    versions = ctx.live.api_versions.get(row.skill_id)
    return versions is not None and row.version_id not in {v.address for v in versions}


def place_existing(ctx: Context, skill: Skill, row: SkillRow) -> tuple[list[Change], Placement]:
    before = _api_state(row.skill_id, row.version_id, row.content_sha256)
    sha = skill.content_sha256
    if row.skill_id not in ctx.api_by_id:
        changes, placement = place_new(ctx, skill, DRIFT, exclude=row.skill_id)
        return [_with_before(c, before, "skill missing from the API") for c in changes], placement
    if sha == row.content_sha256:
        if not _pinned_version_missing(ctx, row):
            return [], Placement(row.skill_id, row.version_id)
        detail = f"pinned version {row.version_id} missing from the API: {_upload_detail(skill)}"
        after = _api_state(row.skill_id, None, sha)
        return [_api_change("update", skill, DRIFT, before, after, detail)], Placement(
            row.skill_id, None
        )
    known = ctx.live_version(skill.name, sha, skill_id=row.skill_id)
    reason = ctx.reason(f"db:skill:{skill.name}", row.values())
    if known is not None:
        after = _api_state(row.skill_id, known.version_id, sha)
        detail = f"re-pin version {known.version_id} uploaded earlier: no upload"
        return [_api_change("repin", skill, reason, before, after, detail)], Placement(
            row.skill_id, known.version_id
        )
    after = _api_state(row.skill_id, None, sha)
    return [_api_change("update", skill, reason, before, after, _upload_detail(skill))], Placement(
        row.skill_id, None
    )


def _with_before(change: Change, before: Any, why: str) -> Change:
    return replace(change, before=before, detail=f"{why}: {change.detail}")


def desired_row(skill: Skill, placement: Placement) -> SkillValues:
    return skill_values(placement.skill_id or PENDING, placement.version_id or PENDING, skill)


def db_change(
    ctx: Context, skill: Skill, row: SkillRow | None, placement: Placement, api: list[Change]
) -> list[Change]:
    after = desired_row(skill, placement)
    if row is None:
        return [
            Change("db", "create", "skill", skill.name, api[0].reason if api else NEW, None, after)
        ]
    before = row.values()
    if before == after:
        return []
    reason = api[0].reason if api else ctx.reason(f"db:skill:{skill.name}", before)
    return [Change("db", "update", "skill", skill.name, reason, before, after)]


def plan_removed(ctx: Context, row: SkillRow) -> list[Change]:
    before = row.values()
    changes = [Change("db", "delete", "skill", row.name, REMOVED, before, None)]
    if ctx.api_enabled and row.skill_id in ctx.api_by_id:
        api_before = _api_state(row.skill_id, row.version_id, row.content_sha256)
        detail = f"delete API skill {row.skill_id} and its versions"
        changes.append(
            Change("api", "delete", "skill", row.name, REMOVED, api_before, None, detail)
        )
    return changes


def plan_orphans(ctx: Context) -> list[Change]:
    """API deletions an interrupted apply left undone.

    An apply deletes the database row of a pruned skill in its transaction and the API
    skill last; killed in between, it leaves an API skill that `skill_versions` records
    as uploaded by the bot but that no row pins and git no longer has. Nothing else
    would ever delete it, so it is deleted now (with --prune, within the cap).
    """
    if not ctx.api_enabled:
        return []
    pinned = {r.skill_id for r in ctx.live.db.skills.values()}
    keep = set(ctx.desired.skills) | set(ctx.live.db.skills)
    orphans: dict[str, str] = {}
    for v in ctx.live.db.versions:
        if v.skill_id in ctx.api_by_id and v.skill_id not in pinned and v.skill_name not in keep:
            orphans.setdefault(v.skill_id, v.skill_name)
    changes = []
    for skill_id, name in sorted(orphans.items(), key=lambda item: (item[1], item[0])):
        api_skill = ctx.api_by_id[skill_id]
        before = _api_state(skill_id, api_skill.latest_version, None)
        detail = (
            f"delete API skill {skill_id} and its versions "
            "(its database row was removed by an apply that did not finish)"
        )
        changes.append(Change("api", "delete", "skill", name, REMOVED, before, None, detail))
    return changes


def plan_duplicates(ctx: Context, placements: Mapping[str, Placement]) -> list[Change]:
    """Unknown API skills of ours (their content carries a nonce our journal recorded for
    that name) beside the one a skill lives on: a create that landed after the client had
    retried it (no idempotency key, so a slow attempt can commit after the check)."""
    if not ctx.api_enabled:
        return []
    ours = {v.skill_id for v in ctx.live.db.versions} | {
        r.skill_id for r in ctx.live.db.skills.values()
    }
    changes = []
    for skill_id, versions in sorted(ctx.live.api_versions.items()):
        api_skill = ctx.api_by_id.get(skill_id)
        if api_skill is None or skill_id in ours:
            continue
        for name in sorted({v.name for v in versions} & set(placements)):
            placed = placements[name].skill_id
            if placed in (None, skill_id) or not ctx.made_by_us(skill_id, name, versions):
                continue  # someone else's copy: never deleted (reported by `not_ours`)
            before = _api_state(skill_id, api_skill.latest_version, None)
            detail = (
                f"delete API skill {skill_id}: a duplicate of {placed} made by a create "
                "that committed after it was retried"
            )
            key = f"{name} (duplicate {skill_id})"
            changes.append(Change("api", "delete", "skill", key, DRIFT, before, None, detail))
    return changes


def not_ours(ctx: Context, placements: Mapping[str, Placement]) -> list[str]:
    """Notes for unknown API skills carrying one of our names whose ownership was checked
    and not proven: left alone, for a person to look at."""
    notes = []
    for skill_id, found in sorted(ctx.live.provenance.items()):
        api_skill = ctx.api_by_id.get(skill_id)
        versions = ctx.live.api_versions.get(skill_id, ())
        names = sorted({v.name for v in versions})
        if api_skill is None or any(found.ours == n for n in names):
            continue
        if any(placements.get(n, Placement(None, None)).skill_id == skill_id for n in names):
            continue
        why = (
            f"its content could not be read ({found.error})"
            if found.error
            else "its SKILL.md carries no marker of this environment's uploads"
        )
        notes.append(
            f"API skill {skill_id} ({', '.join(names)}) is not ours: {why}; "
            "left alone, check it by hand"
        )
    return notes
