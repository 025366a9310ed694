"""The plan: a sorted, immutable list of typed changes. Render, apply and check consume it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from syncbot.records import Payload, RolloutsValue, RouteValue, StoredEntry, as_placement

Target = Literal["api", "db", "cache"]
Action = Literal["create", "update", "delete", "repin"]

NEW = "new in git"
CHANGED = "changed in git"
DRIFT = "drift in live"
REMOVED = "removed from git"

# API uploads, then the database, then the cache, then API deletions (README, "The live contract")
_PHASE = {"api": 0, "db": 1, "cache": 2}
_KIND_ORDER = {"skill": 0, "route": 1, "rollout": 2, "entry": 3, "registry": 4, "rollouts": 5}


@dataclass(frozen=True)
class Change:
    target: Target
    action: Action
    kind: str
    key: str
    reason: str
    before: Payload | None = None
    after: Payload | None = None
    detail: str = ""
    blocked: str | None = None
    # for a blocked change: when policy allows it (ISO 8601 UTC); None: never as planned
    allowed_from: str | None = None

    @property
    def object_id(self) -> str:
        return f"{self.target}:{self.kind}:{self.key}"

    @property
    def phase(self) -> int:
        return 3 if (self.target == "api" and self.action == "delete") else _PHASE[self.target]

    def sort_key(self) -> tuple[int, int, str, str]:
        return (self.phase, _KIND_ORDER.get(self.kind, 9), self.key, self.action)

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "action": self.action,
            "kind": self.kind,
            "key": self.key,
            "reason": self.reason,
            "before": self.before,
            "after": self.after,
            "detail": self.detail,
            "blocked": self.blocked,
            "allowed_from": self.allowed_from,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Change:
        fields: dict[str, Any] = {k: data.get(k) for k in cls.__dataclass_fields__}
        return cls(**fields)


@dataclass(frozen=True)
class CacheWrite:
    """What an apply writes to Redis, decided by the planner.

    In a plan, `entries` holds the entry of every skill the apply leaves in place (by
    name; ids an upload assigns are pending until then) and `routes`/`rollouts` the
    snapshot and hash after the apply; `Plan.cache_write` picks what the changes write.
    """

    entries: Mapping[str, StoredEntry] = field(default_factory=dict)
    delete_ids: tuple[str, ...] = ()
    routes: tuple[RouteValue, ...] | None = None
    rollouts: RolloutsValue | None = None


@dataclass(frozen=True)
class Refusal:
    """A change apply will refuse, and from when it becomes allowed (None: never)."""

    object_id: str
    reason: str
    allowed_from: str | None

    @property
    def when(self) -> str:
        return f"allowed from {self.allowed_from}" if self.allowed_from else "never: fix the plan"

    def as_dict(self) -> dict[str, Any]:
        return {"object": self.object_id, "reason": self.reason, "allowed_from": self.allowed_from}


@dataclass(frozen=True)
class Plan:
    environment: str
    commit: str | None
    changes: tuple[Change, ...]
    fingerprints: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    api_enabled: bool = True
    # target -> why it could not be read: the plan says nothing about it, so it is not
    # "no changes" there
    uncompared: Mapping[str, str] = field(default_factory=dict)
    # derived from the changes and the desired state: not part of the plan's JSON (apply
    # always plans afresh and keeps a saved plan's changes only)
    cache: CacheWrite | None = field(default=None, compare=False)

    @property
    def is_empty(self) -> bool:
        return not self.changes

    @property
    def blocked(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.blocked)

    @property
    def refused(self) -> tuple[Refusal, ...]:
        """Each blocked change once per object, with when apply would accept it."""
        return tuple(Refusal(c.object_id, c.blocked or "", c.allowed_from) for c in self.blocked)

    @property
    def complete(self) -> bool:
        """Every target was compared: an empty plan then really means "no changes"."""
        return not self.uncompared

    def by_target(self, target: Target) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.target == target)

    def cache_write(self) -> CacheWrite:
        """What the cache changes of this plan write: entries in plan order, the deleted
        entries' ids, and the snapshot or hash when a change can have altered them."""
        cache = self.cache or CacheWrite()
        changes = self.by_target("cache")
        entries = {
            c.key: cache.entries[c.key]
            for c in changes
            if c.kind == "entry" and c.action != "delete"
        }
        deleted = tuple(
            as_placement(c.before)["skill_id"]
            for c in changes
            if c.kind == "entry" and c.action == "delete"
        )
        kinds = {c.kind for c in changes} | {c.kind for c in self.by_target("db")}
        routes = cache.routes if kinds & {"registry", "route", "skill"} else None
        rollouts = cache.rollouts if kinds & {"rollouts", "rollout", "skill"} else None
        return CacheWrite(entries, deleted, routes, rollouts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": "syncbot-plan/1",
            "environment": self.environment,
            "commit": self.commit,
            "api_enabled": self.api_enabled,
            "changes": [c.as_dict() for c in self.changes],
            "fingerprints": dict(sorted(self.fingerprints.items())),
            "notes": list(self.notes),
            "refused": [r.as_dict() for r in self.refused],
            "uncompared": dict(sorted(self.uncompared.items())),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Plan:
        return cls(
            environment=str(data["environment"]),
            commit=data.get("commit"),
            changes=tuple(Change.from_dict(c) for c in data.get("changes", [])),
            fingerprints=dict(data.get("fingerprints", {})),
            notes=tuple(data.get("notes", [])),
            api_enabled=bool(data.get("api_enabled", True)),
            uncompared=dict(data.get("uncompared", {})),
        )


def sorted_changes(changes: list[Change]) -> tuple[Change, ...]:
    return tuple(sorted(changes, key=Change.sort_key))
