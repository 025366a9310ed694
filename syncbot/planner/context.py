"""Indexes over the live state that the planning rules share (built once per plan)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from syncbot.canonical import fingerprint
from syncbot.desired import DesiredState
from syncbot.live import ApiSkill, ApiVersion, LiveState, VersionRow
from syncbot.plan import CHANGED, DRIFT


@dataclass(frozen=True)
class PlanOptions:
    prune: bool = False
    max_deletions: int | None = None
    # deleting every route (or every rollout) of an environment is refused without it
    allow_delete_all: bool = False
    now_epoch_s: float | None = None  # the caller's clock: the planner has none of its own
    max_cache_entries: int = 100


@dataclass(frozen=True)
class Context:
    desired: DesiredState
    live: LiveState
    options: PlanOptions
    api_by_id: Mapping[str, ApiSkill]
    versions: Mapping[tuple[str, str], VersionRow]

    @classmethod
    def build(cls, desired: DesiredState, live: LiveState, options: PlanOptions) -> Context:
        listing = live.api.skills if live.api else ()
        # newest upload wins when the same content was uploaded twice
        ordered = sorted(live.db.versions, key=lambda v: (str(v.uploaded_at or ""), v.version_id))
        versions = {(v.skill_name, v.content_sha256): v for v in ordered}
        return cls(desired, live, options, {s.id: s for s in listing}, versions)

    @property
    def api_enabled(self) -> bool:
        return self.live.api is not None

    def live_version(
        self, name: str, sha: str, *, skill_id: str | None = None
    ) -> VersionRow | None:
        """An earlier upload of exactly this content, on a skill the API still has."""
        found = self.versions.get((name, sha))
        if found is None or found.skill_id not in self.api_by_id:
            return None
        if skill_id is not None and found.skill_id != skill_id:
            return None
        return found

    def known_skill_id(self, name: str, *, exclude: str | None = None) -> str | None:
        """An API skill the bot uploaded this skill to before (e.g. by a run that was killed)."""
        ids = sorted(
            v.skill_id
            for (n, _), v in self.versions.items()
            if n == name and v.skill_id in self.api_by_id and v.skill_id != exclude
        )
        return ids[0] if ids else None

    def adoptable(self, name: str) -> str | None:
        """An unknown API skill left by a lost create of ours: its content carries an
        ownership nonce this environment journaled for a create of this name. Anyone
        else's copy, another environment's on a shared workspace included, is never
        taken over."""
        for skill_id, versions in sorted(self.live.api_versions.items()):
            if skill_id in self.api_by_id and self.made_by_us(skill_id, name, versions):
                return skill_id
        return None

    def made_by_us(self, skill_id: str, name: str, versions: tuple[ApiVersion, ...]) -> bool:
        """Proven by the marker alone; names, times and content prove nothing."""
        found = self.live.provenance.get(skill_id)
        return found is not None and found.ours == name and any(v.name == name for v in versions)

    def reason(self, object_id: str, live_value: Any) -> str:
        """Drift when the live value is not what the bot last wrote there, else a git change."""
        written = self.live.db.written.get(object_id)
        if written is not None and written != fingerprint(live_value):
            return DRIFT
        return CHANGED
