"""Values describing what the live systems hold, as read by the targets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from syncbot.records import (
    Route,
    SkillMetadata,
    SkillValues,
    metadata_fields,
    parse_timestamp,
    skill_values,
)


@dataclass(frozen=True)
class ApiSkill:
    """A skill as the Skills API lists it, normalised over both dialects.

    `latest_version` is the version *address*: the version id on the current surface,
    the epoch-timestamp string on the legacy beta dialect.
    """

    id: str
    display_name: str | None
    latest_version: str | None
    source: str
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class ApiVersion:
    id: str
    address: str
    skill_id: str
    name: str
    description: str
    created_at: str


@dataclass(frozen=True)
class ApiListing:
    skills: tuple[ApiSkill, ...]
    complete: bool = True


@dataclass(frozen=True)
class SkillRow(SkillMetadata):
    """A row of `skills`: which API skill and version a skill name is pinned to."""

    name: str
    skill_id: str
    version_id: str
    updated_at: datetime | None = None
    commit: str | None = None

    def values(self) -> SkillValues:
        """The deployed values: what the plan compares (not its name or bookkeeping)."""
        return skill_values(self.skill_id, self.version_id, self)

    def as_row(self) -> dict[str, Any]:
        """The JSON a database write carries."""
        return {"name": self.name, **self.values()}

    @classmethod
    def from_values(
        cls, name: str, values: Mapping[str, Any], commit: str | None = None, updated_at: Any = None
    ) -> SkillRow:
        """From `values()`/`as_row()` output, a plan's value or a database row."""
        return cls(
            name=name,
            skill_id=values["skill_id"],
            version_id=values["version_id"],
            updated_at=parse_timestamp(updated_at),
            commit=commit,
            **metadata_fields(values),
        )


@dataclass(frozen=True)
class VersionRow:
    skill_name: str
    skill_id: str
    version_id: str
    content_sha256: str
    uploaded_at: datetime | None = None
    commit: str | None = None

    def as_row(self) -> dict[str, Any]:
        uploaded = self.uploaded_at.isoformat() if self.uploaded_at else None
        return {
            "skill_name": self.skill_name,
            "skill_id": self.skill_id,
            "version_id": self.version_id,
            "content_sha256": self.content_sha256,
            "uploaded_at": uploaded,
            "commit": self.commit,
        }

    @classmethod
    def from_row(cls, d: Mapping[str, Any]) -> VersionRow:
        return cls(
            d["skill_name"],
            d["skill_id"],
            d["version_id"],
            d["content_sha256"],
            parse_timestamp(d["uploaded_at"]),
            d["commit"],
        )


# a route row is the route itself: its key is derived, never stored apart
RouteRow = Route


@dataclass(frozen=True)
class RolloutRow:
    skill_name: str
    basis_points: int
    salt: str
    changed_at: datetime | None = None
    commit: str | None = None

    def as_row(self) -> dict[str, Any]:
        return {"skill_name": self.skill_name, "basis_points": self.basis_points, "salt": self.salt}

    @classmethod
    def from_row(cls, d: Mapping[str, Any]) -> RolloutRow:
        changed = parse_timestamp(d["changed_at"])
        return cls(d["skill_name"], d["basis_points"], d["salt"], changed, d["commit"])


@dataclass(frozen=True)
class DbState:
    environment: str | None
    skills: Mapping[str, SkillRow] = field(default_factory=dict)
    versions: tuple[VersionRow, ...] = ()
    routes: Mapping[str, RouteRow] = field(default_factory=dict)
    rollouts: Mapping[str, RolloutRow] = field(default_factory=dict)
    # object id -> sha256 of the value the bot last wrote there; a live value with another
    # hash was changed by hand ("drift in live") rather than by a commit ("changed in git")
    written: Mapping[str, str] = field(default_factory=dict)
    # False for a database syncbot never migrated: read as empty, created by the first apply
    migrated: bool = True
    # the last apply that changed the database could not write the cache (degraded or
    # killed): a missing entry was never written rather than expired, and is written now
    cache_behind: bool = False


@dataclass(frozen=True)
class CacheState:
    available: bool
    entries: Mapping[str, Mapping[str, Any] | None] = field(default_factory=dict)
    registry: Mapping[str, Any] | None = None
    rollouts: Mapping[str, str] = field(default_factory=dict)
    error: str | None = None


@dataclass(frozen=True)
class Provenance:
    """What the content of an unknown API skill proves about who made it.

    `marker` is the ownership nonce its latest version's SKILL.md carries (None: none);
    `ours` the skill name this environment's journal recorded with that nonce before
    sending it (None: not ours); `error` says why the content could not be read (the
    evidence cannot tell).
    """

    marker: str | None = None
    ours: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class LiveState:
    """Everything a plan reads. `api` is None when the Skills API is disabled.

    `api_versions` holds the versions of the few API skills the reader had to inspect:
    skills whose latest version is not the pinned one, and unknown skills that carry the
    display name of a skill to place (candidates for adoption or deletion as a duplicate).
    `provenance` holds, for the candidates whose ownership matters to this plan (a skill
    with no home yet, or any with --prune), what their content proves.
    """

    api: ApiListing | None
    db: DbState
    cache: CacheState
    api_versions: Mapping[str, tuple[ApiVersion, ...]] = field(default_factory=dict)
    provenance: Mapping[str, Provenance] = field(default_factory=dict)
