"""The run record of one apply: every apply that reaches the database leaves one row.

A run that gets as far as writing is started `running` and finished with its outcome; one
that ends before its first write (refused by policy or because the configuration is
invalid, failed while reading live, lock not granted, nothing to do) is recorded finished
in one statement. Recording is best effort: when the database itself is what failed, the
error that stopped the apply is reported and the run may go unrecorded.

Dry-runs are never recorded: they promise to write nothing, and a run row is a write.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from syncbot.errors import ConfigError, ConfigErrors, PolicyError, SyncbotError
from syncbot.plan import Plan
from syncbot.targets.postgres import Database

REFUSED = "refused"
_OUTCOME_BATCH = 200


def status_of(exc: BaseException) -> str:
    """The status of a run stopped by `exc`."""
    if isinstance(exc, (KeyboardInterrupt, SystemExit)):
        return "interrupted"
    if isinstance(exc, (PolicyError, ConfigError, ConfigErrors)):
        return REFUSED
    return "failed"


def one_line(exc: BaseException) -> str:
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted (Ctrl-C or a cancelled job)"
    text = exc.message if isinstance(exc, SyncbotError) else f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())[:500]


@dataclass
class RunLog:
    """The sync_runs row of one apply, from its start to its end."""

    db: Database
    environment: str
    commit: str | None
    actor: str
    enabled: bool = True
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    run_id: int | None = None
    closed: bool = False
    plan: Mapping[str, Any] | None = None
    summary: Mapping[str, Any] | None = None

    def planned(self, plan: Plan) -> None:
        """The plan this run made: stored with the record even if it never writes."""
        self.plan = plan.as_dict()
        self.summary = {"changes": len(plan.changes), "blocked": len(plan.blocked), "uploads": 0}

    def start(self, plan: Mapping[str, Any]) -> int | None:
        """The `running` row, written before the first mutation (hold the apply lock)."""
        if self.enabled:
            self.run_id = self.db.start_run(
                self.environment, self.commit, self.actor, plan, dry_run=False
            )
        return self.run_id

    def finish(
        self,
        status: str,
        *,
        error: str | None = None,
        plan: Mapping[str, Any] | None = None,
        summary: Mapping[str, Any] | None = None,
    ) -> int | None:
        """Close the run with `status`, recording it now if it was never started."""
        if not self.enabled or self.closed:
            return self.run_id
        self.closed = True
        if self.run_id is None:
            self.run_id = self.db.record_run(
                self.environment,
                self.commit,
                self.actor,
                status,
                started_at=self.started_at,
                error=error,
                plan=plan or self.plan,
                summary=summary or self.summary,
            )
        else:
            self.db.finish_run(self.run_id, status, error=error, summary=summary)
        return self.run_id

    def fail(
        self,
        exc: BaseException,
        *,
        plan: Mapping[str, Any] | None = None,
        summary: Mapping[str, Any] | None = None,
    ) -> None:
        """Record the run stopped by `exc`; never hides `exc` behind a recording error."""
        with contextlib.suppress(SyncbotError):
            self.finish(status_of(exc), error=one_line(exc), plan=plan, summary=summary)


class Journal:
    """The journal of one run: each mutation with its outcome, appended to its row.

    Upload outcomes are written in batches: each append rewrites the whole journal, so
    one per upload made a first apply quadratic. Nothing is lost by a crash: every upload
    is also recorded at once in skill_versions. Safe to use from the upload threads.
    """

    def __init__(self, db: Database, *, enabled: bool) -> None:
        self.db, self.enabled = db, enabled
        self.run_id: int | None = None  # set once the run is started
        self._outcomes: list[dict[str, Any]] = []
        self._lock = threading.RLock()

    def add(self, entry: dict[str, Any]) -> None:
        self.add_many([entry])

    def add_many(self, entries: list[dict[str, Any]]) -> None:
        if entries and self.run_id is not None and self.enabled:
            self.db.journal_many(self.run_id, entries)

    def outcome(self, entry: dict[str, Any]) -> None:
        """An upload outcome, written with the next batch."""
        with self._lock:
            self._outcomes.append(entry)
            if len(self._outcomes) >= _OUTCOME_BATCH:
                self.flush()

    def flush(self) -> None:
        with self._lock:
            batch, self._outcomes = self._outcomes, []
            self.add_many(batch)
