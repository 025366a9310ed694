"""The stored objects: immutable snapshots, replaced (never mutated) on change."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

CUSTOM = "custom"
ANTHROPIC = "anthropic"


@dataclass(frozen=True)
class VersionRecord:
    id: str
    version: str  # epoch microseconds: the legacy dialect's address for this version
    skill_id: str
    name: str
    description: str
    directory: str
    created_at: str
    files: Mapping[str, bytes] = field(default_factory=lambda: MappingProxyType({}), repr=False)

    def to_dict(self) -> dict[str, Any]:
        data = {key: getattr(self, key) for key in _VERSION_KEYS}
        data["files"] = {path: base64.b64encode(raw).decode() for path, raw in self.files.items()}
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VersionRecord:
        files = {path: base64.b64decode(text) for path, text in data["files"].items()}
        return cls(**{key: data[key] for key in _VERSION_KEYS}, files=MappingProxyType(files))


_VERSION_KEYS = ("id", "version", "skill_id", "name", "description", "directory", "created_at")


@dataclass(frozen=True)
class SkillRecord:
    """A skill; `title` is the label given at creation (None when omitted), `name` its slug."""

    id: str
    name: str
    title: str | None
    source: str
    created_at: str
    updated_at: str
    seq: int  # creation stamp: orders listings and anchors page cursors
    versions: tuple[VersionRecord, ...] = ()  # oldest first

    @property
    def latest(self) -> VersionRecord | None:
        return self.versions[-1] if self.versions else None

    @property
    def read_only(self) -> bool:
        return self.source != CUSTOM

    def to_dict(self) -> dict[str, Any]:
        data = {key: getattr(self, key) for key in _SKILL_KEYS}
        data["versions"] = [version.to_dict() for version in self.versions]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SkillRecord:
        versions = tuple(VersionRecord.from_dict(item) for item in data["versions"])
        return cls(**{key: data[key] for key in _SKILL_KEYS}, versions=versions)


_SKILL_KEYS = ("id", "name", "title", "source", "created_at", "updated_at", "seq")
