"""The desired state: immutable values built from the repository for one environment.

Everything downstream (planner, applier, renderers) works on these values, never on the
pydantic file models, so the file formats can evolve without touching the sync engine.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from syncbot.canonical import framed_sha256


@dataclass(frozen=True, order=True)
class SkillFile:
    """One uploaded file: POSIX path relative to the skill folder, and its bytes."""

    path: str
    data: bytes


def content_sha256(files: Iterable[SkillFile]) -> str:
    """SHA-256 over the sorted (path, bytes) list; independent of order, mtime and machine.

    Each entry is framed by 8-byte big-endian lengths so that no two different file sets
    can produce the same byte stream (documented in the README for other implementations).
    """
    ordered = sorted(files, key=lambda f: f.path)
    return framed_sha256((f.path, len(f.data), (f.data,)) for f in ordered)


@dataclass(frozen=True)
class Skill:
    name: str
    display_name: str
    description: str
    type: str
    category: str
    version: str
    config: Mapping[str, Any]
    critical: bool
    owners: tuple[str, ...]
    files: tuple[SkillFile, ...]
    content_sha256: str

    def metadata(self) -> dict[str, Any]:
        """The platform metadata the database stores, in a stable JSON-friendly form."""
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


@dataclass(frozen=True, order=True)
class Pattern:
    regex: str
    weight: float = 1.0


@dataclass(frozen=True)
class Route:
    skill: str
    category: str
    priority: int
    min_confidence: float
    patterns: tuple[Pattern, ...]

    @property
    def key(self) -> str:
        return f"{self.skill}:{self.category}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "skill": self.skill,
            "category": self.category,
            "priority": self.priority,
            "min_confidence": self.min_confidence,
            "patterns": [{"regex": p.regex, "weight": p.weight} for p in self.patterns],
        }


@dataclass(frozen=True)
class Rollout:
    """A percentage held exactly as basis points (25.5% is 2550) so no float rounding."""

    skill: str
    basis_points: int
    salt: str

    @property
    def percentage(self) -> float:
        return self.basis_points / 100


@dataclass(frozen=True)
class RolloutPolicy:
    steps: tuple[int, ...] = ()
    min_soak_hours: float = 0.0


@dataclass(frozen=True)
class DesiredState:
    environment: str
    commit: str | None
    skills: Mapping[str, Skill]
    routes: tuple[Route, ...]
    rollouts: Mapping[str, Rollout]
    policy: RolloutPolicy = field(default_factory=RolloutPolicy)
    max_deletions: int = 3


def format_percentage(basis_points: int) -> str:
    """25 for 2500, 12.5 for 1250: the canonical text of a percentage (Redis, plans)."""
    whole, rest = divmod(basis_points, 100)
    return str(whole) if rest == 0 else f"{whole}.{rest:02d}".rstrip("0")
