"""Executes a plan in its order (uploads, database, cache, deletions), journaling every mutation.

API uploads -> one database transaction -> Redis -> API deletions. Dry-run runs the same
steps and stops only at each write (see `Executor._write`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from syncbot.desired import DesiredState, Skill
from syncbot.errors import PolicyError, SyncbotError, TargetError
from syncbot.live import LiveState, RolloutRow, SkillRow, VersionRow
from syncbot.marker import new_nonce
from syncbot.plan import Change, Plan
from syncbot.planner import PlanOptions
from syncbot.progress import Counter, NoProgress, Track
from syncbot.reader import plan_options, read_and_plan
from syncbot.records import (
    Route,
    SkillValues,
    as_placement,
    as_rollout_value,
    as_route_value,
    as_skill_values,
    parse_percentage,
)
from syncbot.runlog import Journal, RunLog, one_line
from syncbot.session import Targets
from syncbot.targets.postgres import DbWrites
from syncbot.targets.skills_api import SkillsApiClient

T = TypeVar("T")
V = TypeVar("V", bound=SkillValues)
Progress = Callable[[str], None]
# Asked with the plan once it is made and before the first write; False cancels the apply.
Confirm = Callable[[Plan], bool]
CANCELLED = "cancelled"


@dataclass(frozen=True)
class ApplyOptions:
    prune: bool = False
    max_deletions: int | None = None
    allow_delete_all: bool = False
    lock_timeout_s: float = 60.0
    dry_run: bool = False
    actor: str = "unknown"
    saved_plan: Plan | None = None
    max_cache_entries: int = 100
    confirm: Confirm | None = None
    track: Track | None = None  # counts the uploads (syncbot.progress); None: silent


@dataclass
class ApplyResult:
    plan: Plan
    status: str = "noop"
    run_id: int | None = None
    uploads: int = 0
    notes: list[str] = field(default_factory=list)
    writes: list[str] = field(default_factory=list)


def apply(
    desired: DesiredState, targets: Targets, options: ApplyOptions, progress: Progress | None = None
) -> ApplyResult:
    """Apply, leaving one run record whatever the outcome (dry-runs excepted)."""
    log = RunLog(
        targets.db, desired.environment, desired.commit, options.actor, enabled=not options.dry_run
    )
    try:
        return _apply(desired, targets, options, progress or (lambda _: None), log)
    except BaseException as exc:
        log.fail(exc)  # a no-op when the executor recorded the run already
        raise


def _apply(
    desired: DesiredState,
    targets: Targets,
    options: ApplyOptions,
    progress: Progress,
    log: RunLog,
) -> ApplyResult:
    if not options.dry_run:
        targets.db.migrate()
    with targets.db.apply_lock(desired.environment, options.lock_timeout_s):
        log.started_at = datetime.now(UTC)  # the run proper starts once it holds the lock
        if not options.dry_run:
            # we hold the lock, so an unfinished run is dead: record it so even when the
            # plan turns out empty (it died after its last write)
            targets.db.close_dead_runs(desired.environment)
        live, plan = read_and_plan(targets, desired, _plan_options(options))
        log.planned(plan)
        if options.saved_plan is not None:
            plan = check_saved_plan(options.saved_plan, plan)
            log.planned(plan)
        refuse_blocked(plan)
        ask_confirmation(plan, options, log)
        return Executor(desired, targets, plan, live, options, progress, log).run()


def _plan_options(options: ApplyOptions) -> PlanOptions:
    return plan_options(
        prune=options.prune,
        max_deletions=options.max_deletions,
        allow_delete_all=options.allow_delete_all,
        max_cache_entries=options.max_cache_entries,
    )


def check_saved_plan(saved: Plan, fresh: Plan) -> Plan:
    """Keep the saved plan's changes, refusing if any object it touches changed since."""
    if saved.environment != fresh.environment:
        raise PolicyError(f"the saved plan is for {saved.environment!r}, not {fresh.environment!r}")
    stale = sorted(o for o, fp in saved.fingerprints.items() if fresh.fingerprints.get(o) != fp)
    if stale:
        shown = ", ".join(stale[:5]) + (f" and {len(stale) - 5} more" if len(stale) > 5 else "")
        raise PolicyError(
            f"the saved plan is stale: changed since it was made: {shown}; plan again"
        )
    wanted = set(saved.fingerprints)
    return replace(fresh, changes=tuple(c for c in fresh.changes if c.object_id in wanted))


def ask_confirmation(plan: Plan, options: ApplyOptions, log: RunLog) -> None:
    """Ask before the first write; a "no" leaves a `cancelled` run (never an applied one,
    so it does not count as the environment's last applied commit) and changes nothing."""
    if options.confirm is None or options.dry_run or plan.is_empty:
        return
    if not options.confirm(plan):
        log.finish(CANCELLED, error="cancelled at the confirmation prompt")
        raise SyncbotError("apply cancelled; nothing changed")


def refuse_blocked(plan: Plan) -> None:
    blocked = plan.refused
    if blocked:
        lines = "; ".join(f"{r.object_id}: {r.reason} ({r.when})" for r in blocked[:5])
        raise PolicyError(f"apply refused by policy ({len(blocked)} changes): {lines}")


class Executor:
    """One apply run. Each `_write` is the only place a live system is changed."""

    def __init__(
        self,
        desired: DesiredState,
        targets: Targets,
        plan: Plan,
        live: LiveState,
        options: ApplyOptions,
        progress: Progress,
        log: RunLog,
    ) -> None:
        self.desired, self.targets, self.plan, self.live = desired, targets, plan, live
        self.options, self.progress, self.log = options, progress, log
        self.result = ApplyResult(plan=plan, notes=list(plan.notes))
        self.placed: dict[str, tuple[str, str]] = {}
        self.uploaded: list[VersionRow] = []
        # skill name -> the ownership nonce its upload request carries (syncbot.marker)
        self.nonces: dict[str, str] = {}
        self.journal = Journal(targets.db, enabled=not options.dry_run)
        self.counter: Counter = NoProgress()

    def run(self) -> ApplyResult:
        if self.plan.is_empty:
            self.result.run_id = self.log.finish("noop", summary=self._summary())
            return self.result
        self.result.run_id = self.journal.run_id = self.log.start(self.plan.as_dict())
        try:
            self._run_phases()
        except BaseException as exc:
            # best effort: if the database is gone too, the run stays 'running' (the next
            # apply marks it interrupted) and the error that stopped the apply is reported
            self.log.fail(exc, summary=self._summary())
            raise
        return self.result

    def _run_phases(self) -> None:
        self._upload_phase()
        self._database_phase()
        degraded = self._cache_phase()
        self._delete_phase()
        status = "dry-run" if self.options.dry_run else ("degraded" if degraded else "succeeded")
        self._finish(status, error=self._degraded_reason() if degraded else None)

    def _degraded_reason(self) -> str:
        notes = [n for n in self.result.notes if n.startswith("cache not updated")]
        return notes[-1] if notes else "cache not updated"

    def _summary(self) -> dict[str, Any]:
        return {"changes": len(self.plan.changes), "uploads": self.result.uploads}

    def _finish(self, status: str, error: str | None = None) -> None:
        self.result.status = status
        self.log.finish(status, error=error, summary=self._summary())

    def _write(self, description: str, fn: Callable[[], T], *, announce: bool = True) -> T | None:
        self.result.writes.append(description)
        if self.options.dry_run:
            if announce:
                self.progress(f"would {description}")
            return None
        value = fn()
        if announce:
            self.progress(description)
        return value

    # -- phase 1: API uploads and re-pins --------------------------------------------
    def _upload_phase(self) -> None:
        changes = [c for c in self.plan.by_target("api") if c.action != "delete"]
        for change in changes:
            if change.action == "repin":
                after = as_placement(change.after)
                self.placed[change.key] = (after["skill_id"], after["version_id"])
        uploads = [c for c in changes if c.action in ("create", "update")]
        if uploads and self.targets.api is not None:
            self.nonces = {c.key: new_nonce() for c in uploads}
            # committed before the first request: a skill that comes back carrying one of
            # these nonces was made by this environment (adopted or pruned as a duplicate)
            self.journal.add_many([_started(c, self.nonces[c.key]) for c in uploads])
            if self.options.track is not None:
                self.counter = self.options.track("uploads", len(uploads))
            try:
                results = self.targets.api.map_concurrent(self._upload, uploads)
            finally:
                self.counter.close()
                self.journal.flush()
            self._raise_upload_failures(uploads, results)

    def _upload(self, change: Change) -> None:
        skill = self.desired.skills[change.key]
        ok = False
        try:
            placed = self._write(
                f"upload {skill.name} ({change.action})",
                lambda: self._send(change, skill),
                announce=self.options.track is None,  # one counted line instead of one per upload
            )
            ok = True
        except SyncbotError as exc:
            self.journal.outcome(
                {"op": "upload", "skill": skill.name, "outcome": "failed", "error": exc.message}
            )
            raise
        finally:
            self.counter.step(ok)
        if placed is None:
            placed = (as_placement(change.after)["skill_id"], "(dry-run)")
        self.placed[skill.name] = placed

    def _send(self, change: Change, skill: Skill) -> tuple[str, str]:
        api = self.targets.api
        assert api is not None
        nonce = self.nonces[skill.name]
        if change.action == "create":
            created, version = api.create_skill(
                skill.name, skill.display_name, skill.files, nonce=nonce
            )
            skill_id, version_id = created.id, version.address
        else:
            skill_id = as_placement(change.after)["skill_id"]
            version_id = api.create_version(skill_id, skill.name, skill.files, nonce=nonce).address
        row = VersionRow(
            skill.name, skill_id, version_id, skill.content_sha256, commit=self.desired.commit
        )
        # recorded at once (own transaction) so a run killed later re-pins instead of re-uploading
        self.targets.db.record_version(row)
        self.uploaded.append(row)
        self.result.uploads += 1
        self.journal.outcome(
            {
                "op": "upload",
                "skill": skill.name,
                "outcome": "ok",
                "skill_id": skill_id,
                "version_id": version_id,
                "nonce": nonce,
            }
        )
        return skill_id, version_id

    def _raise_upload_failures(self, uploads: list[Change], results: list[Any]) -> None:
        failed = [
            (c.key, r)
            for c, r in zip(uploads, results, strict=True)
            if isinstance(r, BaseException)
        ]
        if not failed:
            return
        first = failed[0][1]
        names = ", ".join(name for name, _ in failed)
        done = len(uploads) - len(failed)
        message = (
            f"{len(failed)} of {len(uploads)} uploads failed ({names}); nothing was deployed "
            f"(the {done} finished uploads are recorded and the next apply re-pins them): "
            f"{one_line(first)}"
        )
        raise TargetError("skills-api", message) from first

    # -- phase 2: one database transaction -----------------------------------------
    def _database_phase(self) -> None:
        writes = self._db_writes()
        if writes.changes_rows or self.uploaded:
            run_id = self.result.run_id or 0
            try:
                self._write(
                    "commit the database transaction",
                    lambda: self.targets.db.commit_apply(run_id, self.desired.environment, writes),
                )
            except SyncbotError as exc:
                # rolled back: the journal says so, in its own statement after the rollback
                with contextlib.suppress(SyncbotError):
                    self.journal.add({"op": "db-commit", "outcome": "failed", "error": exc.message})
                raise

    def _db_writes(self) -> DbWrites:
        db = self.plan.by_target("db")
        live_only = [c for c in db if c.action != "delete"]
        return DbWrites(
            commit=self.desired.commit,
            upsert_skills=[self._skill_row(c) for c in live_only if c.kind == "skill"],
            delete_skills=[c.key for c in db if c.kind == "skill" and c.action == "delete"],
            versions=list(self.uploaded),
            upsert_routes=[
                Route.from_dict(as_route_value(c.after)) for c in live_only if c.kind == "route"
            ],
            delete_routes=[c.key for c in db if c.kind == "route" and c.action == "delete"],
            upsert_rollouts=[self._rollout_row(c) for c in live_only if c.kind == "rollout"],
            delete_rollouts=[c.key for c in db if c.kind == "rollout" and c.action == "delete"],
        )

    def _skill_row(self, change: Change) -> SkillRow:
        """The row the plan decided on, with the ids the uploads assigned."""
        after = self._placed(change.key, as_skill_values(change.after))
        return SkillRow.from_values(change.key, after, commit=self.desired.commit)

    def _placed(self, name: str, values: V) -> V:
        """`values` with the ids this apply's uploads and re-pins assigned to the skill."""
        placed = self.placed.get(name)
        if placed is None:
            return values
        out = values.copy()
        out["skill_id"], out["version_id"] = placed
        return out

    def _rollout_row(self, change: Change) -> RolloutRow:
        after = as_rollout_value(change.after)
        bp = parse_percentage(after["percentage"])
        return RolloutRow(change.key, bp, after["salt"], commit=self.desired.commit)

    # -- phase 3: Redis, derived from the committed rows -----------------------------
    def _cache_phase(self) -> bool:
        """Returns True when the cache could not be updated (the run is then degraded)."""
        cache_changes = self.plan.by_target("cache")
        if not self.live.cache.available:
            self.result.notes.append(f"cache not updated: {self.live.cache.error or 'unreachable'}")
            return bool(self.plan.by_target("db"))
        if not cache_changes:
            return False
        try:
            self._write(
                "update the cache and publish skills:changed",
                self._send_cache,
            )
        except TargetError as exc:
            self.result.notes.append(f"cache not updated, run degraded: {exc.message}")
            self.journal.add({"op": "cache", "outcome": "failed", "error": exc.message})
            return True
        return False

    def _send_cache(self) -> int:
        write = self.plan.cache_write()
        entries = {}
        for name, entry in write.entries.items():
            stored = self._placed(name, entry)
            entries[stored["skill_id"]] = stored
        revision = self.targets.cache.write(
            self.desired.environment,
            entries=entries,
            delete_ids=write.delete_ids,
            routes=write.routes,
            rollouts=write.rollouts,
        )
        self.journal.add(
            {"op": "cache", "outcome": "ok", "revision": revision, "entries": len(entries)}
        )
        return revision

    # -- phase 4: API deletions, last -------------------------------------------------
    def _delete_phase(self) -> None:
        api = self.targets.api
        for change in (c for c in self.plan.by_target("api") if c.action == "delete"):
            skill_id = as_placement(change.before)["skill_id"]
            if api is not None:
                self._delete(api, change.key, skill_id)

    def _delete(self, api: SkillsApiClient, name: str, skill_id: str) -> None:
        entry = {"op": "delete", "skill": name, "skill_id": skill_id}
        try:
            self._write(f"delete API skill {name} ({skill_id})", lambda: api.delete_skill(skill_id))
        except SyncbotError as exc:
            with contextlib.suppress(SyncbotError):
                self.journal.add({**entry, "outcome": "failed", "error": exc.message})
            raise
        self.journal.add({**entry, "outcome": "ok"})


def _started(change: Change, nonce: str) -> dict[str, Any]:
    return {
        "op": "upload",
        "skill": change.key,
        "action": change.action,
        "outcome": "started",
        "nonce": nonce,
    }
