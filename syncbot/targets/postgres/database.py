"""The database target: the live state in one read, the apply lock, the run journal and
the apply transaction (one statement per batch of rows)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg.abc import Params, QueryNoTemplate
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from syncbot.errors import LockTimeoutError, PolicyError, TargetError
from syncbot.live import DbState, RolloutRow, RouteRow, VersionRow
from syncbot.redact import redact_data, redact_text
from syncbot.targets.postgres import sql
from syncbot.targets.postgres.connection import Connected, Connection
from syncbot.targets.postgres.rows import (
    FINAL_STATUSES,
    DbWrites,
    RunRecord,
    hand_edited,
    run_record,
    skill_row,
)


def lock_key(schema: str, environment: str) -> int:
    digest = hashlib.sha256(f"syncbot-apply\0{schema}\0{environment}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _utc(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Database(Connected):
    """One environment's database. Not thread-safe: use one object per thread."""

    # -- reads

    def ping(self) -> None:
        with self._errors("ping failed"):
            self._exec("SELECT 1")

    def recorded_environment(self) -> str | None:
        with self._errors("cannot read the recorded environment"):
            row = self._exec("SELECT value FROM syncbot_meta WHERE key = 'environment'").fetchone()
        return None if row is None else str(row["value"])

    def read_state(self, environment: str) -> DbState:
        """Everything the planner needs, in ONE statement (one consistent snapshot)."""
        with self._errors("cannot read the live state"):
            row = self._fetchone(sql.READ_STATE, {"environment": environment})
        return DbState(
            environment=row["environment"],
            skills={s["name"]: skill_row(s) for s in row["skills"]},
            versions=tuple(VersionRow.from_row(v) for v in row["versions"]),
            routes={r["key"]: RouteRow.from_dict(r) for r in row["routes"]},
            rollouts={o["skill_name"]: RolloutRow.from_row(o) for o in row["rollouts"]},
            written=hand_edited(row),
            cache_behind=bool(row["cache_behind"]),
        )

    def journaled_nonces(self, environment: str, nonces: Sequence[str]) -> dict[str, str]:
        """{nonce: skill name} for the given ownership nonces this environment's runs
        journaled before sending a create: the proof that an API skill is ours (only a
        create makes a skill; a new version's nonce proves nothing about its skill)."""
        if not nonces:
            return {}
        with self._errors("cannot read the run journal"):
            rows = self._exec(sql.JOURNALED_NONCES, (environment, list(nonces))).fetchall()
        return {str(r["nonce"]): str(r["skill"]) for r in rows}

    def history(self, environment: str, limit: int) -> list[RunRecord]:
        with self._errors("cannot read the run history"):
            rows = self._exec(sql.HISTORY, (environment, limit)).fetchall()
        return [run_record(r) for r in rows]

    def last_applied_commit(self, environment: str) -> str | None:
        """The commit live was last made equal to: the newest succeeded, degraded or noop run."""
        with self._errors("cannot read the run history"):
            if not self._fetchone("SELECT to_regclass('sync_runs') IS NOT NULL AS ok")["ok"]:
                return None
            row = self._exec(sql.LAST_APPLIED, (environment,)).fetchone()
        return None if row is None else str(row["commit"])

    def list_runs(self, environment: str, limit: int) -> list[RunRecord]:
        """The newest runs, without their plans and journals (see `run`)."""
        with self._errors("cannot read the run history"):
            rows = self._exec(sql.RUN_LIST, (environment, limit)).fetchall()
        return [run_record(r) for r in rows]

    def run(self, run_id: int) -> RunRecord | None:
        """One run with its stored plan and journal; None when there is no such run."""
        with self._errors(f"cannot read run {run_id}"):
            row = self._exec(sql.RUN, (run_id,)).fetchone()
        return None if row is None else run_record(row)

    def rollout(self, environment: str, skill: str) -> RolloutRow | None:
        """The skill's live rollout in `environment`; None when it has none (0%)."""
        with self._errors(f"cannot read the rollout of {skill}"):
            row = self._exec(sql.ROLLOUT, (environment, skill)).fetchone()
        return None if row is None else RolloutRow.from_row(row)

    def fetch_all(
        self, doing: str, query: QueryNoTemplate, params: Params | None = None
    ) -> list[DictRow]:
        """One statement of a feature module that owns its SQL (promote): its rows."""
        with self._errors(doing):
            return self._exec(query, params).fetchall()

    def execute(self, doing: str, query: QueryNoTemplate, params: Params | None = None) -> None:
        """One writing statement of a feature module that owns its SQL (autocommitted)."""
        with self._errors(doing):
            self._exec(query, params)

    def counts(self, environment: str) -> dict[str, int]:
        with self._errors("cannot count rows"):
            row = self._fetchone(sql.COUNTS, (environment,))
        return {k: int(v) for k, v in row.items()}

    # -- the apply lock

    @contextmanager
    def apply_lock(self, environment: str, timeout_s: float) -> Iterator[None]:
        """Hold the session-level advisory lock of (schema, environment) for the block.

        A dedicated connection holds it, so the main connection's transactions and
        reconnects cannot release it; if this process dies, the server releases it.
        """
        wait_ms = max(1, round(timeout_s * 1000))  # 0 would mean "wait forever"
        conn = self._connect(f"syncbot apply {environment}", 0, wait_ms)
        try:
            key = self._acquire(conn, environment, timeout_s)
            self._lock_pid = conn.info.backend_pid
            try:
                yield
            finally:
                self._lock_pid = None
                self._release(conn, key)
        finally:
            conn.close()

    def _acquire(self, conn: Connection, environment: str, timeout_s: float) -> int:
        with self._errors("cannot take the apply lock"):
            row = self._exec("SELECT current_schema() AS schema", conn=conn).fetchone()
            key = lock_key(str(row and row["schema"]), environment)
            try:
                self._exec("SELECT pg_advisory_lock(%s)", (key,), conn=conn)
            except pg_errors.LockNotAvailable as exc:
                holder = self._describe_holder(conn, environment, key)
                raise LockTimeoutError(
                    f"another apply holds the lock for {environment}: {holder}; "
                    f"gave up after waiting {timeout_s:g} s"
                ) from exc
        return key

    def _release(self, conn: Connection, key: int) -> None:
        # A lost connection has released the lock already; never mask the block's error.
        if not conn.closed:
            with suppress(psycopg.Error):
                self._exec("SELECT pg_advisory_unlock(%s)", (key,), conn=conn)

    def _describe_holder(self, conn: Connection, environment: str, key: int) -> str:
        params = {
            "environment": environment,
            "high": (key >> 32) & 0xFFFFFFFF,
            "low": key & 0xFFFFFFFF,
        }
        try:
            row = self._exec(sql.LOCK_HOLDER, params, conn=conn).fetchone()
        except psycopg.Error:
            return "holder unknown (cannot read pg_locks)"
        if row is None:
            return "the holder has just released it, try again"
        if row["id"] is not None:
            commit = (row["commit"] or "unknown")[:7]
            started = _utc(row["started_at"])
            return f"run {row['id']} (commit {commit}, actor {row['actor']}, started {started})"
        app = row["application_name"] or "no application_name"
        return f"session '{app}' (pid {row['pid']}, connected {_utc(row['backend_start'])})"

    # -- the run record

    def start_run(
        self,
        environment: str,
        commit: str | None,
        actor: str,
        plan: Mapping[str, Any],
        *,
        dry_run: bool,
    ) -> int:
        """Record a new 'running' run; earlier unfinished runs become 'interrupted'.

        Call it while holding `apply_lock(environment)`: only then is an unfinished run
        certainly dead rather than running elsewhere.
        """
        params = {
            "environment": environment,
            "commit": commit,
            "actor": actor,
            "dry_run": dry_run,
            "plan": Jsonb(redact_data(dict(plan), self._secrets)),
            "lock_pid": self._lock_pid,
        }
        with self._errors("cannot record the run"):
            return int(self._fetchone(sql.START_RUN, params)["id"])

    def record_run(
        self,
        environment: str,
        commit: str | None,
        actor: str,
        status: str,
        *,
        started_at: datetime | None = None,
        error: str | None = None,
        plan: Mapping[str, Any] | None = None,
        summary: Mapping[str, Any] | None = None,
    ) -> int:
        """Record a run that ended before its first write, finished, in one statement.

        Unlike `start_run` it leaves other runs alone, so it is safe without the lock
        (a refusal before the lock was taken, a lock that was never granted).
        """
        if status not in FINAL_STATUSES:
            raise ValueError(f"not a final run status: {status!r}")
        params = {
            "environment": environment,
            "commit": commit,
            "actor": actor,
            "status": status,
            "started_at": started_at,
            "error": None if error is None else redact_text(error, self._secrets),
            "plan": None if plan is None else Jsonb(redact_data(dict(plan), self._secrets)),
            "summary": (
                None if summary is None else Jsonb(redact_data(dict(summary), self._secrets))
            ),
            "lock_pid": self._lock_pid,
        }
        with self._errors("cannot record the run"):
            return int(self._fetchone(sql.RECORD_RUN, params)["id"])

    def close_dead_runs(self, environment: str) -> int:
        """Mark unfinished runs `interrupted`; returns how many. Hold the apply lock."""
        with self._errors("cannot record the run"):
            return self._exec(sql.CLOSE_DEAD_RUNS, {"environment": environment}).rowcount

    def journal(self, run_id: int, entry: Mapping[str, Any]) -> None:
        self.journal_many(run_id, [entry])

    def journal_many(self, run_id: int, entries: Sequence[Mapping[str, Any]]) -> None:
        """Append entries to the run's journal in one statement, in order."""
        safe = [redact_data(dict(e), self._secrets) for e in entries]
        params = {"run_id": run_id, "entries": Jsonb(safe)}
        with self._errors("cannot write the run journal"):
            cur = self._exec(sql.JOURNAL, params)
        if cur.rowcount != 1:
            raise TargetError("database", f"cannot write the run journal: no run {run_id}")

    def record_version(self, row: VersionRow) -> None:
        params = (
            row.skill_name,
            row.skill_id,
            row.version_id,
            row.content_sha256,
            row.uploaded_at,
            row.commit,
        )
        with self._errors(f"cannot record the upload of {row.skill_name}"):
            self._exec(sql.RECORD_VERSION, params)

    def finish_run(
        self,
        run_id: int,
        status: str,
        *,
        error: str | None = None,
        summary: Mapping[str, Any] | None = None,
    ) -> None:
        if status not in FINAL_STATUSES:
            raise ValueError(f"not a final run status: {status!r}")
        params = {
            "run_id": run_id,
            "status": status,
            "error": None if error is None else redact_text(error, self._secrets),
            "summary": None
            if summary is None
            else Jsonb(redact_data(dict(summary), self._secrets)),
        }
        with self._errors("cannot record the end of the run"):
            cur = self._exec(sql.FINISH_RUN, params)
        if cur.rowcount != 1:
            raise TargetError("database", f"cannot record the end of the run: no run {run_id}")

    # -- the apply transaction

    def commit_apply(self, run_id: int, environment: str, writes: DbWrites) -> None:
        """All database changes of one apply, and the run's 'db-committed' mark, or none."""
        with self._errors("the apply transaction was rolled back"), self._transaction():
            # syncbot.writer makes the triggers stamp the rows this transaction writes
            self._configure(
                self._connection,
                self._statement_timeout_ms,
                self._lock_timeout_ms,
                local=True,
                writer="apply",
            )
            self._claim_environment(environment)
            changes = self._write(run_id, environment, writes)
            entry = {"op": "db-commit", "outcome": "ok", "changes": changes}
            cur = self._exec(sql.MARK_DB_COMMITTED, {"run_id": run_id, "entry": Jsonb(entry)})
            if cur.rowcount != 1:
                raise TargetError(
                    "database", f"the apply transaction was rolled back: no run {run_id}"
                )

    def _claim_environment(self, environment: str) -> None:
        recorded = self._fetchone(sql.CLAIM_ENVIRONMENT, (environment,))["value"]
        if recorded != environment:
            raise PolicyError(
                f"this database serves the {recorded!r} environment, not {environment!r}: "
                "refusing to apply another environment's configuration to it"
            )

    def _write(self, run_id: int, environment: str, w: DbWrites) -> dict[str, int]:
        """Run each non-empty batch as one statement; returns the rows each changed."""
        common = {"commit": w.commit, "environment": environment, "run_id": run_id}
        batches: list[tuple[str, QueryNoTemplate, str, list[Any]]] = [
            ("skills_upserted", sql.UPSERT_SKILLS, "rows", [r.as_row() for r in w.upsert_skills]),
            ("versions_inserted", sql.INSERT_VERSIONS, "rows", [r.as_row() for r in w.versions]),
            ("routes_deleted", sql.DELETE_ROUTES, "keys", list(w.delete_routes)),
            ("routes_upserted", sql.UPSERT_ROUTES, "rows", [r.as_row() for r in w.upsert_routes]),
            ("skills_deleted", sql.DELETE_SKILLS, "keys", list(w.delete_skills)),
            ("rollouts_deleted", sql.DELETE_ROLLOUTS, "keys", list(w.delete_rollouts)),
            (
                "rollouts_upserted",
                sql.UPSERT_ROLLOUTS,
                "rows",
                [r.as_row() for r in w.upsert_rollouts],
            ),
        ]
        changes: dict[str, int] = {}
        for label, query, name, items in batches:
            if items:
                value = Jsonb(items) if name == "rows" else items
                changes[label] = self._exec(query, {**common, name: value}).rowcount
        return changes
