"""The records syncbot keeps in several places, each defined once with its conversions.

A skill's deployed metadata, a route and a cache entry are written to the database, to
plans (JSON) and to Redis. Their fields and keys are spelled out here only, so adding a
field is one line in the dataclass plus its column (README, Layout).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict, cast


@dataclass(frozen=True, kw_only=True)
class SkillMetadata:
    """What the platform stores about a skill, in git (desired) and in the database (live)."""

    display_name: str
    description: str
    type: str
    category: str
    version: str
    config: Mapping[str, Any]
    critical: bool
    content_sha256: str

    def metadata(self) -> dict[str, Any]:
        """The metadata in a stable JSON-friendly form (rows, plans, cache entries)."""
        return {
            "display_name": self.display_name,
            "description": self.description,
            "type": self.type,
            "category": self.category,
            "version": self.version,
            "config": json.loads(json.dumps(dict(self.config), sort_keys=True)),
            "critical": self.critical,
            "content_sha256": self.content_sha256,
        }


METADATA_FIELDS = tuple(SkillMetadata.__dataclass_fields__)


def skill_values(skill_id: str, version_id: str, meta: SkillMetadata) -> SkillValues:
    """A skill row's deployed values: what plans compare and show (no name, no bookkeeping)."""
    return cast(SkillValues, {"skill_id": skill_id, "version_id": version_id, **meta.metadata()})


def metadata_fields(values: Mapping[str, Any]) -> dict[str, Any]:
    """The SkillMetadata keyword arguments held in a row, plan value or cache entry."""
    return {name: values[name] for name in METADATA_FIELDS}


@dataclass(frozen=True, order=True)
class Pattern:
    regex: str
    weight: float = 1.0


def route_key(skill: str, category: str) -> str:
    """The one key of a route: in the database, in plans and in the registry snapshot."""
    return f"{skill}:{category}"


@dataclass(frozen=True)
class Route:
    """A routing rule, as git declares it and as the database holds it."""

    skill: str
    category: str
    priority: int
    min_confidence: float
    patterns: tuple[Pattern, ...]

    @property
    def key(self) -> str:
        return route_key(self.skill, self.category)

    def as_dict(self) -> RouteValue:
        """The value plans compare and the registry snapshot lists (no key: it is derived)."""
        return {
            "skill": self.skill,
            "category": self.category,
            "priority": self.priority,
            "min_confidence": self.min_confidence,
            "patterns": [{"regex": p.regex, "weight": p.weight} for p in self.patterns],
        }

    def as_row(self) -> dict[str, Any]:
        """The JSON a database write carries."""
        return {"key": self.key, **self.as_dict()}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Route:
        """From `as_dict`/`as_row` output or a database row (numbers may come as Decimal)."""
        patterns = tuple(Pattern(p["regex"], float(p["weight"])) for p in d["patterns"])
        return cls(d["skill"], d["category"], d["priority"], float(d["min_confidence"]), patterns)


def format_percentage(basis_points: int) -> str:
    """25 for 2500, 12.5 for 1250: the canonical text of a percentage (Redis, plans)."""
    whole, rest = divmod(basis_points, 100)
    return str(whole) if rest == 0 else f"{whole}.{rest:02d}".rstrip("0")


def parse_percentage(text: str) -> int:
    """The basis points of a `format_percentage` text (exact: "12.5" is 1250)."""
    whole, _, fraction = text.partition(".")
    return int(whole) * 100 + int(fraction.ljust(2, "0") or "0")


def rollout_value(basis_points: int, salt: str) -> RolloutValue:
    """A rollout as plans compare and show it."""
    return {"percentage": format_percentage(basis_points), "salt": salt}


def rollouts_value(basis_points: Mapping[str, int]) -> dict[str, str]:
    """The skills:rollouts:<env> hash: skill name -> percentage text, sorted by name."""
    return {name: format_percentage(bp) for name, bp in sorted(basis_points.items())}


def cache_entry(name: str, values: SkillValues) -> CacheEntryValue:
    """A skill's cache entry as plans show it; Redis holds it with the row's commit added."""
    return {"name": name, **values}


def comparable_entry(entry: Mapping[str, Any] | None) -> CacheEntryValue | None:
    """A cache entry as plans compare it: without what an apply stamps (commit, time).

    What Redis holds may have been edited by hand: it is compared and shown, never read
    field by field, so its type is what it should be.
    """
    if entry is None:
        return None
    return cast(
        CacheEntryValue, {k: v for k, v in entry.items() if k not in ("updated_at", "commit")}
    )


def parse_timestamp(value: Any) -> datetime | None:
    """A timestamp read from JSON (ISO text) or from the driver (already a datetime)."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value


# -- the JSON values plans carry (Change.before/after), one per object kind ---------


class PlacementValue(TypedDict):
    """An API skill change: where the skill lives (ids pending until an upload assigns them)."""

    skill_id: str
    version_id: str
    content_sha256: str | None


class SkillValues(TypedDict):
    """A skill row's deployed values (`skill_values`)."""

    skill_id: str
    version_id: str
    display_name: str
    description: str
    type: str
    category: str
    version: str
    config: dict[str, Any]
    critical: bool
    content_sha256: str


class CacheEntryValue(SkillValues):
    name: str


class StoredEntry(CacheEntryValue):
    """A cache entry as Redis stores it: with the commit of the row it copies."""

    commit: str | None


class PatternValue(TypedDict):
    regex: str
    weight: float


class RouteValue(TypedDict):
    skill: str
    category: str
    priority: int
    min_confidence: float
    patterns: list[PatternValue]


class RolloutValue(TypedDict):
    percentage: str
    salt: str


class SnapshotValue(TypedDict):
    """The registry snapshot as plans show it: how many routes, and their fingerprint."""

    routes: int
    sha: str


# the skills:rollouts:<env> hash (skill -> percentage text)
RolloutsValue = dict[str, str]

Payload = (
    PlacementValue
    | SkillValues
    | CacheEntryValue
    | RouteValue
    | RolloutValue
    | SnapshotValue
    | RolloutsValue
)


def _payload(value: Payload | None, key: str, kind: str) -> dict[str, Any]:
    if not isinstance(value, dict) or key not in value:
        raise ValueError(f"not a {kind} value: {value!r}")
    return cast(dict[str, Any], value)


def as_placement(value: Payload | None) -> PlacementValue:
    """The value of an API skill change (or of a skill row or cache entry: they hold the ids)."""
    return cast(PlacementValue, _payload(value, "skill_id", "skill placement"))


def as_skill_values(value: Payload | None) -> SkillValues:
    return cast(SkillValues, _payload(value, "display_name", "skill row"))


def as_route_value(value: Payload | None) -> RouteValue:
    return cast(RouteValue, _payload(value, "patterns", "route"))


def as_rollout_value(value: Payload | None) -> RolloutValue:
    return cast(RolloutValue, _payload(value, "percentage", "rollout"))
