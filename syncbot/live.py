"""Values describing what the live systems hold, as read by the targets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from syncbot.desired import Pattern


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
class SkillRow:
    name: str
    skill_id: str
    version_id: str
    display_name: str
    description: str
    type: str
    category: str
    version: str
    config: Mapping[str, Any]
    content_sha256: str
    critical: bool
    updated_at: datetime | None = None
    commit: str | None = None


@dataclass(frozen=True)
class VersionRow:
    skill_name: str
    skill_id: str
    version_id: str
    content_sha256: str
    uploaded_at: datetime | None = None
    commit: str | None = None


@dataclass(frozen=True)
class RouteRow:
    key: str
    skill: str
    category: str
    priority: int
    min_confidence: float
    patterns: tuple[Pattern, ...]


@dataclass(frozen=True)
class RolloutRow:
    skill_name: str
    basis_points: int
    salt: str
    changed_at: datetime | None = None
    commit: str | None = None


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
