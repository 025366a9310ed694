"""The Skills API client: reads, writes and the search for a create whose answer was lost.

Creates are POSTs without an idempotency key, so a blind retry can make a second skill.
A create is retried freely only after a failure that proves the server did not apply it;
after an ambiguous one (timeout, lost response, 500) the client first looks for what the
lost attempt may have made, and adopts it. The engine (engine.py) decides which failure is
which and when to retry; the dialect (dialects.py) decides the shapes of fields.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import TypeVar

import httpx

from syncbot.desired import SkillFile
from syncbot.errors import ApiError, TargetError
from syncbot.live import ApiListing, ApiSkill, ApiVersion
from syncbot.marker import marker_of_zip, with_marker
from syncbot.redact import redact_url
from syncbot.targets.skills_api.dialects import (
    Dialect,
    DialectName,
    skill_path,
    upload_parts,
    version_path,
)
from syncbot.targets.skills_api.engine import Call, CallEngine
from syncbot.targets.skills_api.settings import TARGET, ApiSettings

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

_VERSIONS_PAGE_SIZE = 100
# Server timestamps are compared with our clock when adopting a lost create; this allows
# for second-resolution rounding and ordinary NTP drift, and no more: on create_version
# every version of a skill carries the same name, so only the time tells ours apart.
_CLOCK_SKEW = timedelta(seconds=2)


class SkillsApiClient:
    """Synchronous, thread-safe client for the Skills API (see the module docstring)."""

    def __init__(
        self,
        settings: ApiSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._dialect = Dialect.for_beta(settings.beta_version)
        self._engine = CallEngine(
            settings, self._dialect, transport=transport, sleep=sleep, rng=rng, clock=clock
        )
        self.stats = self._engine.stats

    @property
    def dialect(self) -> DialectName:
        return self._dialect.name

    def __repr__(self) -> str:
        url = redact_url(self._settings.base_url)
        return f"SkillsApiClient(base_url={url!r}, dialect={self.dialect!r})"

    def close(self) -> None:
        self._engine.close()

    def __enter__(self) -> SkillsApiClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ----------------------------------------------------------------- reads

    def list_skills(self, *, source: str | None = "custom", page_size: int = 100) -> ApiListing:
        """Every skill, all pages. Any failure raises: a partial listing is never returned."""
        params: dict[str, str | int] = {"source": source} if source else {}
        rows = self._engine.paginate("list_skills", "/v1/skills", params, page_size)
        return ApiListing(skills=tuple(self._dialect.skill(row) for row in rows), complete=True)

    def get_skill(self, skill_id: str) -> ApiSkill | None:
        call = Call("get_skill", "GET", skill_path(skill_id))
        try:
            return self._engine.run(
                call, lambda r: self._engine.decode(call, r, self._dialect.skill)
            )
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    def list_versions(self, skill_id: str) -> list[ApiVersion]:
        path = skill_path(skill_id) + "/versions"
        rows = self._engine.paginate("list_versions", path, {}, _VERSIONS_PAGE_SIZE)
        return [self._dialect.version(row) for row in rows]

    def get_version(self, skill_id: str, address: str) -> ApiVersion:
        call = Call("get_version", "GET", version_path(skill_id, address))
        return self._engine.run(call, lambda r: self._engine.decode(call, r, self._dialect.version))

    def download_version(self, skill_id: str, address: str) -> bytes:
        """A version's content: a zip of the skill folder, as the API stores it."""
        path = version_path(skill_id, address) + "/content"
        call = Call("download_version", "GET", path, headers={"accept": "application/binary"})
        return self._engine.run(call, lambda r: r.content)

    def version_marker(self, skill_id: str, address: str) -> str | None:
        """The ownership nonce the version's SKILL.md carries (see syncbot.marker), or None."""
        return marker_of_zip(self.download_version(skill_id, address))

    # ----------------------------------------------------------------- writes

    def create_skill(
        self,
        name: str,
        display_name: str,
        files: Sequence[SkillFile],
        *,
        nonce: str | None = None,
    ) -> tuple[ApiSkill, ApiVersion]:
        """Create a skill and its first version; a lost answer is found, never re-created.

        With a `nonce`, SKILL.md carries it (the ownership marker) and a lost answer is
        matched by it alone: another skill of the same name made at the same moment (by
        another environment on the workspace) is never taken for ours.
        """
        since = datetime.now(UTC) - _CLOCK_SKEW
        form = {self._dialect.display_field: display_name} if display_name else None
        parts = upload_parts(name, with_marker(files, nonce) if nonce else files)
        call = Call("create_skill", "POST", "/v1/skills", files=parts, form=form)
        created = self._engine.run(
            call,
            lambda r: self._with_first_version(
                self._engine.decode(call, r, self._dialect.skill), name
            ),
            reconcile=lambda: self._find_new_skill(name, display_name, since, nonce),
        )
        self.stats._count_upload()
        return created

    def create_version(
        self, skill_id: str, name: str, files: Sequence[SkillFile], *, nonce: str | None = None
    ) -> ApiVersion:
        """Upload a new version; a lost answer is found (by its nonce), never uploaded twice."""
        since = datetime.now(UTC) - _CLOCK_SKEW
        path = skill_path(skill_id) + "/versions"
        parts = upload_parts(name, with_marker(files, nonce) if nonce else files)
        call = Call("create_version", "POST", path, files=parts)
        version = self._engine.run(
            call,
            lambda r: self._engine.decode(call, r, self._dialect.version),
            reconcile=lambda: self._find_new_version(skill_id, name, since, nonce),
        )
        self.stats._count_upload()
        return version

    def delete_version(self, skill_id: str, address: str) -> None:
        """Delete one version; already gone (404) counts as done, so a retry is harmless."""
        self._delete(Call("delete_version", "DELETE", version_path(skill_id, address)))

    def delete_skill(self, skill_id: str) -> None:
        """Delete a skill; on the legacy dialect its versions first (the API refuses otherwise)."""
        if self._dialect.legacy:
            try:
                versions = self.list_versions(skill_id)
            except ApiError as exc:
                if exc.status == 404:
                    return
                raise
            for version in versions:
                self.delete_version(skill_id, version.address)
        self._delete(Call("delete_skill", "DELETE", skill_path(skill_id)))

    def map_concurrent(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R | Exception]:
        """Run fn over items on at most `concurrency` threads; results (or errors) in order."""

        def guarded(item: T) -> R | Exception:
            try:
                return fn(item)
            except Exception as exc:  # handed back to the caller, in place of the result
                return exc

        with ThreadPoolExecutor(max_workers=self._settings.concurrency) as pool:
            return list(pool.map(guarded, items))

    # ----------------------------------------------------------------- helpers

    def _delete(self, call: Call) -> None:
        try:
            self._engine.run(call, lambda r: None)
        except ApiError as exc:
            if exc.status != 404:
                raise
            log.debug("%s: already gone", call.label)

    def _with_first_version(self, skill: ApiSkill, name: str) -> tuple[ApiSkill, ApiVersion]:
        """The create answer is the skill only; fetch the version it made (best effort)."""
        address = skill.latest_version
        if not address:
            raise TargetError(TARGET, f"created skill {skill.id} reports no version")
        try:
            return skill, self.get_version(skill.id, address)
        except TargetError as exc:
            # The skill exists now: failing here would invite a duplicate on the next run.
            log.warning("skill %s created, reading its version failed: %s", skill.id, exc)
            placeholder = ApiVersion(address, address, skill.id, name, "", skill.created_at)
            return skill, placeholder

    # ----------------------------------------------------------------- lost creates

    def _find_new_skill(
        self, name: str, display_name: str, since: datetime, nonce: str | None
    ) -> tuple[ApiSkill, ApiVersion] | None:
        # the time and the names only narrow the search; with a nonce it is the proof
        fresh = [s for s in self.list_skills().skills if _created_since(s.created_at, since)]
        fresh.sort(key=lambda s: s.display_name != display_name)  # stable: matches first
        for skill in fresh:
            ours = [v for v in self.list_versions(skill.id) if v.name == name]
            latest = [v for v in ours if v.address == skill.latest_version]
            for version in latest or ours[:1]:
                if nonce is None or self.version_marker(skill.id, version.address) == nonce:
                    return skill, version
        return None

    def _find_new_version(
        self, skill_id: str, name: str, since: datetime, nonce: str | None
    ) -> ApiVersion | None:
        fresh = [
            v
            for v in self.list_versions(skill_id)
            if v.name == name and _created_since(v.created_at, since)
        ]
        fresh.sort(key=lambda v: _parse_time(v.created_at), reverse=True)
        for version in fresh:
            if nonce is None or self.version_marker(skill_id, version.address) == nonce:
                return version
        return None


def _parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _created_since(value: str, since: datetime) -> bool:
    try:
        return _parse_time(value) >= since
    except ValueError:
        return False  # unknown age: never adopted as ours
