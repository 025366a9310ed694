"""The emulator's shared, thread-safe state: skills and versions, both dialects' rules."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

from syncbot.emulator import ids
from syncbot.emulator.bundle import DEFAULT_MAX_UPLOAD_BYTES, Bundle, build_bundle
from syncbot.emulator.errors import EmulatorError, invalid_request, not_found
from syncbot.emulator.records import ANTHROPIC, CUSTOM, SkillRecord, VersionRecord

VersionKey = Literal["id", "version"]
STATE_FORMAT = 1

# emulator policy: a few read-only Anthropic skills, as the guide's table names them.
ANTHROPIC_SKILLS = (
    ("pptx", "PowerPoint", "Create and edit PowerPoint presentations."),
    ("xlsx", "Excel", "Create and edit Excel spreadsheets."),
    ("docx", "Word", "Create and edit Word documents."),
    ("pdf", "PDF", "Read, fill and create PDF documents."),
)
ANTHROPIC_VERSION = "20251013"


class EmulatorState:
    """All skills, behind one lock. Readers get immutable snapshots (SkillRecord).

    `on_change` runs under the lock after every mutation (persistence uses it), so
    mutations made directly by tests are persisted like those made over HTTP.
    """

    def __init__(self, on_change: Callable[[EmulatorState], None] | None = None) -> None:
        self._lock = threading.RLock()
        self._skills: dict[str, SkillRecord] = {}
        self._clock = ids.MicrosClock()
        self.on_change = on_change

    # -- reads ---------------------------------------------------------------------------

    def skills(self, source: str | None = None) -> list[SkillRecord]:
        """Every skill, newest first (emulator policy: the API's order is undocumented)."""
        with self._lock:
            found = [s for s in self._skills.values() if source is None or s.source == source]
        return sorted(found, key=lambda skill: skill.seq, reverse=True)

    def get_skill(self, skill_id: str) -> SkillRecord:
        with self._lock:
            skill = self._skills.get(skill_id)
        if skill is None:
            raise not_found(f"Skill not found: {skill_id}")
        return skill

    def find_by_name(self, name: str) -> list[SkillRecord]:
        return [skill for skill in self.skills() if skill.name == name]

    def get_version(self, skill_id: str, address: str, key: VersionKey = "id") -> VersionRecord:
        for version in self.get_skill(skill_id).versions:
            if getattr(version, key) == address:
                return version
        raise not_found(f"Skill version not found: {address} (skill {skill_id})")

    # -- mutations -----------------------------------------------------------------------

    def create_skill(
        self,
        files: Iterable[tuple[str, bytes]],
        *,
        title: str | None = None,
        unique_title: bool = False,
        max_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    ) -> SkillRecord:
        """Create a custom skill and its first version from an upload."""
        bundle = build_bundle(files, max_bytes=max_bytes)
        with self._mutation():
            if unique_title and title is not None:
                self._check_title_free(title)
            stamp = self._clock.next()
            skill = SkillRecord(
                id=ids.skill_id(),
                name=bundle.name,
                title=title,
                source=CUSTOM,
                created_at=ids.iso_from_micros(stamp),
                updated_at=ids.iso_from_micros(stamp),
                seq=stamp,
            )
            skill = self._store_with_version(skill, bundle, stamp)
        return skill

    def create_version(
        self,
        skill_id: str,
        files: Iterable[tuple[str, bytes]],
        *,
        max_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    ) -> VersionRecord:
        """Add a version; its SKILL.md name must equal the skill's immutable name."""
        bundle = build_bundle(files, max_bytes=max_bytes)
        with self._mutation():
            skill = self._writable(skill_id)
            if bundle.name != skill.name:
                raise invalid_request(  # emulator policy: wording unconfirmed
                    f"The skill name '{bundle.name}' in SKILL.md must match the existing "
                    f"skill name '{skill.name}'."
                )
            skill = self._store_with_version(skill, bundle, self._clock.next())
        assert skill.latest is not None
        return skill.latest

    def delete_skill(self, skill_id: str, *, cascade: bool = True) -> SkillRecord:
        """Delete a skill; without `cascade` (legacy dialect) it must have no versions."""
        with self._mutation():
            skill = self._writable(skill_id)
            if skill.versions and not cascade:
                raise invalid_request(
                    "Cannot delete skill with existing versions. Delete all versions first."
                )
            del self._skills[skill_id]
        return skill

    def delete_version(
        self, skill_id: str, address: str, key: VersionKey = "id", *, keep_one: bool = True
    ) -> VersionRecord:
        """Delete a version; with `keep_one` (current surface) the last one cannot go."""
        with self._mutation():
            skill = self._writable(skill_id)
            version = self.get_version(skill_id, address, key)
            if keep_one and len(skill.versions) == 1:
                # emulator policy: undocumented in the current surface.
                raise invalid_request("a skill must keep at least one version; delete the skill")
            kept = tuple(v for v in skill.versions if v.id != version.id)
            self._put(self._touched(dataclasses.replace(skill, versions=kept)))
        return version

    def seed_anthropic_skills(self) -> None:
        """Add the read-only Anthropic skills (source "anthropic") if they are missing."""
        with self._mutation():
            for skill_id, title, description in ANTHROPIC_SKILLS:
                if skill_id not in self._skills:
                    self._put(_anthropic_skill(skill_id, title, description, self._clock.next()))

    def clear(self) -> None:
        with self._mutation():
            self._skills.clear()

    # -- persistence ---------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        with self._lock:
            skills = [skill.to_dict() for skill in self._skills.values()]
            return {"format": STATE_FORMAT, "clock": self._clock.last, "skills": skills}

    def load_dict(self, data: dict[str, Any]) -> None:
        if data.get("format") != STATE_FORMAT:
            raise ValueError(f"unsupported emulator state format: {data.get('format')!r}")
        skills = [SkillRecord.from_dict(item) for item in data["skills"]]
        with self._lock:
            self._skills = {skill.id: skill for skill in skills}
            self._clock = ids.MicrosClock(int(data["clock"]))

    # -- internals -----------------------------------------------------------------------

    @contextmanager
    def _mutation(self) -> Iterator[None]:
        with self._lock:
            yield
            if self.on_change is not None:
                self.on_change(self)

    def _writable(self, skill_id: str) -> SkillRecord:
        skill = self.get_skill(skill_id)
        if skill.read_only:
            # emulator policy: Anthropic skills are shared and read-only.
            raise EmulatorError(403, f"Skill {skill_id} is read-only ({skill.source}).")
        return skill

    def _check_title_free(self, title: str) -> None:
        if any(skill.title == title for skill in self._skills.values()):
            raise invalid_request(f"Skill cannot reuse an existing display_title: {title}")

    def _store_with_version(self, skill: SkillRecord, bundle: Bundle, stamp: int) -> SkillRecord:
        # emulator policy: the epoch `version` is created_at in microseconds, and a new
        # version bumps the skill's updated_at.
        version = VersionRecord(
            id=ids.version_id(),
            version=str(stamp),
            skill_id=skill.id,
            name=bundle.name,
            description=bundle.description,
            directory=bundle.directory,
            created_at=ids.iso_from_micros(stamp),
            files=bundle.files,
        )
        updated = dataclasses.replace(skill, versions=(*skill.versions, version))
        updated = dataclasses.replace(updated, updated_at=version.created_at)
        self._put(updated)
        return updated

    def _touched(self, skill: SkillRecord) -> SkillRecord:
        # emulator policy: any version change bumps updated_at.
        return dataclasses.replace(skill, updated_at=ids.iso_from_micros(self._clock.next()))

    def _put(self, skill: SkillRecord) -> None:
        self._skills[skill.id] = skill


def _anthropic_skill(skill_id: str, title: str, description: str, stamp: int) -> SkillRecord:
    created = ids.iso_from_micros(stamp)
    version = VersionRecord(
        id=ANTHROPIC_VERSION,
        version=ANTHROPIC_VERSION,
        skill_id=skill_id,
        name=skill_id,
        description=description,
        directory=skill_id,
        created_at=created,
    )
    return SkillRecord(skill_id, skill_id, title, ANTHROPIC, created, created, stamp, (version,))
