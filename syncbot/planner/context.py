"""Indexes over the live state that the planning rules share (built once per plan)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from syncbot.canonical import fingerprint
from syncbot.desired import DesiredState
from syncbot.live import ApiSkill, LiveState, VersionRow
from syncbot.plan import CHANGED, DRIFT

# a create that committed after its answer was lost lands within seconds or minutes
CREATE_WINDOW = timedelta(hours=1)
CLOCK_SKEW = timedelta(seconds=5)


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
        """An unknown API skill whose versions carry this name and that one of our own
        creates made: left by a lost response. Anyone else's copy is never taken over."""
        for skill_id, versions in sorted(self.live.api_versions.items()):
            api_skill = self.api_by_id.get(skill_id)
            if api_skill is None or not any(v.name == name for v in versions):
                continue
            if self.made_by_us(name, api_skill.created_at):
                return skill_id
        return None

    def made_by_us(self, name: str, created_at: str) -> bool:
        """Whether the journal shows a create of `name` that can have made this API skill:
        one that started before it was created (allowing for clock skew) and not long before."""
        try:
            made = datetime.fromisoformat(created_at)
        except ValueError:
            return False
        if made.tzinfo is None:
            made = made.replace(tzinfo=UTC)
        return any(
            n == name and at - CLOCK_SKEW <= made <= at + CREATE_WINDOW
            for n, at in self.live.db.create_attempts
        )

    def reason(self, object_id: str, live_value: Any) -> str:
        """Drift when the live value is not what the bot last wrote there, else a git change."""
        written = self.live.db.written.get(object_id)
        if written is not None and written != fingerprint(live_value):
            return DRIFT
        return CHANGED
