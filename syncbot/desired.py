"""The desired state: immutable values built from the repository for one environment.

Everything downstream (planner, applier, renderers) works on these values, never on the
pydantic file models, so the file formats can evolve without touching the sync engine.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from syncbot.canonical import framed_sha256
from syncbot.records import Pattern, Route, SkillMetadata, format_percentage

__all__ = [
    "DesiredState",
    "Pattern",
    "Rollout",
    "RolloutPolicy",
    "Route",
    "Skill",
    "SkillFile",
    "content_sha256",
    "format_percentage",
]


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
class Skill(SkillMetadata):
    """A skill folder of the repository: its metadata (keywords) and the files uploaded."""

    name: str
    owners: tuple[str, ...]
    files: tuple[SkillFile, ...]


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
