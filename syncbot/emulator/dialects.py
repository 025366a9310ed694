"""The two wire dialects over one state: choosing one per request, and rendering objects."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any

from syncbot.emulator.records import SkillRecord, VersionRecord

LEGACY_BETA = "skills-2025-10-02"


class Dialect(enum.Enum):
    CURRENT = "current"
    LEGACY = "legacy"


def dialect_of(beta_headers: Iterable[str]) -> Dialect:
    """The legacy dialect iff some `anthropic-beta` value lists the skills beta.

    The header may be repeated, comma-separated, padded, or carry the beta twice (the
    SDK appends it to an explicit `betas` list that already holds it).
    """
    for header in beta_headers:
        if LEGACY_BETA in (item.strip() for item in header.split(",")):
            return Dialect.LEGACY
    return Dialect.CURRENT


def render_skill(skill: SkillRecord, dialect: Dialect) -> dict[str, Any]:
    latest = skill.latest
    if dialect is Dialect.LEGACY:
        return {
            "id": skill.id,
            "type": "skill",
            # emulator policy: null when no title was given at creation.
            "display_title": skill.title,
            "latest_version": latest.version if latest else None,
            "source": skill.source,
            "created_at": skill.created_at,
            "updated_at": skill.updated_at,
        }
    return {
        "id": skill.id,
        "type": "skill",
        "display_name": skill.title if skill.title is not None else skill.name,
        # Always set on this surface; null only for a skill the legacy dialect emptied.
        "latest_version_id": latest.id if latest else None,
        "source": {"type": skill.source},
        "created_at": skill.created_at,
        "updated_at": skill.updated_at,
    }


def render_version(version: VersionRecord, dialect: Dialect) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": version.id,
        "type": "skill_version",
        "skill_id": version.skill_id,
        "name": version.name,
        "description": version.description,
        "created_at": version.created_at,
    }
    if dialect is Dialect.LEGACY:
        body["version"] = version.version
        body["directory"] = version.directory
    return body


def render_deleted_skill(skill: SkillRecord) -> dict[str, Any]:
    return {"id": skill.id, "type": "skill_deleted"}


def render_deleted_version(version: VersionRecord, dialect: Dialect) -> dict[str, Any]:
    # The legacy answer's `id` is the epoch version string, not the `skillver_` id.
    address = version.version if dialect is Dialect.LEGACY else version.id
    return {"id": address, "type": "skill_version_deleted"}


def version_address(version: VersionRecord, dialect: Dialect) -> str:
    return version.version if dialect is Dialect.LEGACY else version.id
