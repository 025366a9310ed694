"""The PostgreSQL target: schema migrations, batched state reads, the apply transaction.

Every public method turns a psycopg failure into one `TargetError("database", ...)` line
with the URL's password masked. Writes are batched: rows travel as one jsonb array that
`jsonb_to_recordset` unpacks on the server, so a 1,000-skill apply costs the same number
of round trips as a one-skill apply. `stats.round_trips` counts every statement sent,
plus BEGIN and COMMIT of explicit transactions.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg.abc import ConnParam, Params, QueryNoTemplate
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import DictRow, dict_row
from psycopg.types.json import Jsonb

from syncbot.errors import LockTimeoutError, PolicyError, TargetError
from syncbot.live import DbState, RolloutRow, RouteRow, SkillRow, VersionRow
from syncbot.redact import connection_secrets, redact_data, redact_text, redact_url

Connection = psycopg.Connection[DictRow]

CONNECT_TIMEOUT_S = 5
RUN_STATUSES = frozenset(
    {
        "running",
        "db-committed",
        "succeeded",
        "degraded",
        "failed",
        "interrupted",
        "noop",
        "dry-run",
        "refused",
    }
)
FINAL_STATUSES = RUN_STATUSES - {"running", "db-committed"}
_MIGRATION_NAME = re.compile(r"\d{4}_[a-z0-9_]+\.sql")
_NOT_MIGRATED = (pg_errors.UndefinedTable, pg_errors.UndefinedColumn)
# journal timestamps: UTC, millisecond precision, the same text whatever the server TimeZone
_NOW_UTC = """to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')"""


@dataclass
class DbStats:
    round_trips: int = 0


@dataclass(frozen=True)
class DbWrites:
    commit: str | None
    upsert_skills: Sequence[SkillRow] = ()
    delete_skills: Sequence[str] = ()
    versions: Sequence[VersionRow] = ()
    upsert_routes: Sequence[RouteRow] = ()
    delete_routes: Sequence[str] = ()
    upsert_rollouts: Sequence[RolloutRow] = ()
    delete_rollouts: Sequence[str] = ()


@dataclass(frozen=True)
class RunRecord:
    id: int
    environment: str
    commit: str | None
    actor: str
    dry_run: bool
    started_at: datetime
    finished_at: datetime | None
    status: str
    summary: Mapping[str, Any] | None
    journal: tuple[Mapping[str, Any], ...] = field(default=())
    error: str | None = None
    plan: Mapping[str, Any] | None = None
    changes: int | None = None
    lock_pid: int | None = None

    @property
    def journal_length(self) -> int:
        return len(self.journal)


# --- SQL ------------------------------------------------------------------------------

_MIGRATIONS_TABLE = """
SELECT pg_advisory_xact_lock(
    ('x' || substr(md5('syncbot-migrate:' || coalesce(current_schema(), '')), 1, 16))
    ::bit(64)::bigint);
CREATE TABLE IF NOT EXISTS syncbot_migrations (
    name       text PRIMARY KEY,
    sha256     text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""

# `hand_edited`: the row no longer has the fingerprint the bot stamped on it (migration 0001)
_READ_STATE = """
SELECT
  (SELECT value FROM syncbot_meta WHERE key = 'environment') AS environment,
  (SELECT coalesce(jsonb_agg(to_jsonb(s) || jsonb_build_object('hand_edited',
       s.written_fingerprint <> syncbot_fingerprint(s)) ORDER BY s.name), '[]')
     FROM skills s) AS skills,
  (SELECT coalesce(jsonb_agg(to_jsonb(v)
       ORDER BY v.skill_name, v.uploaded_at, v.skill_id, v.version_id), '[]')
     FROM skill_versions v) AS versions,
  (SELECT coalesce(jsonb_agg(to_jsonb(r) || jsonb_build_object('hand_edited',
       r.written_fingerprint <> syncbot_fingerprint(r)) ORDER BY r.key), '[]')
     FROM skill_routes r) AS routes,
  (SELECT coalesce(jsonb_agg(to_jsonb(o) || jsonb_build_object(
       'basis_points', (o.percentage * 100)::integer,
       'hand_edited', o.written_fingerprint <> syncbot_fingerprint(o)) ORDER BY o.skill_name), '[]')
     FROM skill_rollouts o WHERE o.environment = %(environment)s) AS rollouts,
  -- the last run that committed to the database or wrote the cache did not finish its
  -- cache phase (Redis down, or killed in between): missing entries were never written
  (SELECT r.status <> 'succeeded' AND NOT r.journal @> '[{"op": "cache", "outcome": "ok"}]'
     FROM sync_runs r
    WHERE r.environment = %(environment)s AND NOT r.dry_run
      AND (r.journal @> '[{"op": "db-commit", "outcome": "ok"}]'
           OR r.journal @> '[{"op": "cache", "outcome": "ok"}]')
    ORDER BY r.id DESC LIMIT 1) AS cache_behind
"""

_JOURNALED_NONCES = """
SELECT DISTINCT e->>'nonce' AS nonce, e->>'skill' AS skill
  FROM sync_runs r, jsonb_array_elements(r.journal) e
 WHERE r.environment = %s AND NOT r.dry_run
   AND e->>'op' = 'upload' AND e->>'action' = 'create' AND e->>'outcome' = 'started'
   AND e->>'nonce' = ANY(%s)
"""

_CLAIM_ENVIRONMENT = """
INSERT INTO syncbot_meta AS m (key, value) VALUES ('environment', %s)
ON CONFLICT (key) DO UPDATE SET value = m.value
RETURNING value
"""

_UPSERT_SKILLS = """
INSERT INTO skills AS s (name, skill_id, version_id, display_name, description, type,
                         category, version, config, content_sha256, critical, commit)
SELECT r.name, r.skill_id, r.version_id, r.display_name, r.description, r.type,
       r.category, r.version, r.config, r.content_sha256, r.critical, %(commit)s
FROM jsonb_to_recordset(%(rows)s) AS r(name text, skill_id text, version_id text,
     display_name text, description text, type text, category text, version text,
     config jsonb, content_sha256 text, critical boolean)
ON CONFLICT (name) DO UPDATE SET
    skill_id = EXCLUDED.skill_id, version_id = EXCLUDED.version_id,
    display_name = EXCLUDED.display_name, description = EXCLUDED.description,
    type = EXCLUDED.type, category = EXCLUDED.category, version = EXCLUDED.version,
    config = EXCLUDED.config, content_sha256 = EXCLUDED.content_sha256,
    critical = EXCLUDED.critical, commit = EXCLUDED.commit, updated_at = now()
WHERE (s.skill_id, s.version_id, s.display_name, s.description, s.type, s.category,
       s.version, s.config, s.content_sha256, s.critical)
   IS DISTINCT FROM
      (EXCLUDED.skill_id, EXCLUDED.version_id, EXCLUDED.display_name, EXCLUDED.description,
       EXCLUDED.type, EXCLUDED.category, EXCLUDED.version, EXCLUDED.config,
       EXCLUDED.content_sha256, EXCLUDED.critical)
"""

_INSERT_VERSIONS = """
INSERT INTO skill_versions (skill_name, skill_id, version_id, content_sha256, uploaded_at,
                            commit)
SELECT r.skill_name, r.skill_id, r.version_id, r.content_sha256,
       coalesce(r.uploaded_at, now()), coalesce(r.commit, %(commit)s)
FROM jsonb_to_recordset(%(rows)s) AS r(skill_name text, skill_id text, version_id text,
     content_sha256 text, uploaded_at timestamptz, commit text)
ON CONFLICT (skill_id, version_id) DO NOTHING
"""

_RECORD_VERSION = """
INSERT INTO skill_versions (skill_name, skill_id, version_id, content_sha256, uploaded_at,
                            commit)
VALUES (%s, %s, %s, %s, coalesce(%s, now()), %s)
ON CONFLICT (skill_id, version_id) DO NOTHING
"""

_DELETE_SKILLS = "DELETE FROM skills WHERE name = ANY(%(keys)s)"

_UPSERT_ROUTES = """
INSERT INTO skill_routes AS t (key, skill, category, priority, min_confidence, patterns,
                               commit)
SELECT r.key, r.skill, r.category, r.priority, r.min_confidence, r.patterns, %(commit)s
FROM jsonb_to_recordset(%(rows)s) AS r(key text, skill text, category text,
     priority integer, min_confidence double precision, patterns jsonb)
ON CONFLICT (key) DO UPDATE SET
    skill = EXCLUDED.skill, category = EXCLUDED.category, priority = EXCLUDED.priority,
    min_confidence = EXCLUDED.min_confidence, patterns = EXCLUDED.patterns,
    commit = EXCLUDED.commit, updated_at = now()
WHERE (t.skill, t.category, t.priority, t.min_confidence, t.patterns)
   IS DISTINCT FROM (EXCLUDED.skill, EXCLUDED.category, EXCLUDED.priority,
                     EXCLUDED.min_confidence, EXCLUDED.patterns)
"""

_DELETE_ROUTES = "DELETE FROM skill_routes WHERE key = ANY(%(keys)s)"

# Data-modifying CTEs all see the snapshot from before the statement, so `old` holds the
# previous values while `up` writes the new ones; only rows that really changed are
# returned by `up`, and only those reach the history.
_UPSERT_ROLLOUTS = """
WITH r AS (
    SELECT * FROM jsonb_to_recordset(%(rows)s) AS r(skill_name text, basis_points integer,
                                                    salt text)
), old AS (
    SELECT o.skill_name, o.percentage FROM skill_rollouts o JOIN r USING (skill_name)
    WHERE o.environment = %(environment)s
), up AS (
    INSERT INTO skill_rollouts AS t (environment, skill_name, percentage, salt, commit)
    SELECT %(environment)s, r.skill_name, r.basis_points::numeric / 100, r.salt, %(commit)s
    FROM r
    ON CONFLICT (environment, skill_name) DO UPDATE SET
        percentage = EXCLUDED.percentage, salt = EXCLUDED.salt, commit = EXCLUDED.commit,
        changed_at = now()
    WHERE (t.percentage, t.salt) IS DISTINCT FROM (EXCLUDED.percentage, EXCLUDED.salt)
    RETURNING t.skill_name, t.percentage, t.salt
)
INSERT INTO skill_rollout_history (environment, skill_name, percentage_before,
                                   percentage_after, salt, commit, run_id)
SELECT %(environment)s, up.skill_name, old.percentage, up.percentage, up.salt, %(commit)s,
       %(run_id)s
FROM up LEFT JOIN old USING (skill_name)
"""

_DELETE_ROLLOUTS = """
WITH gone AS (
    DELETE FROM skill_rollouts
    WHERE environment = %(environment)s AND skill_name = ANY(%(keys)s)
    RETURNING skill_name, percentage, salt
)
INSERT INTO skill_rollout_history (environment, skill_name, percentage_before,
                                   percentage_after, salt, commit, run_id)
SELECT %(environment)s, skill_name, percentage, NULL, salt, %(commit)s, %(run_id)s FROM gone
"""

_MARK_DB_COMMITTED = f"""
UPDATE sync_runs SET status = 'db-committed',
    journal = journal || jsonb_build_array(%(entry)s::jsonb
                                           || jsonb_build_object('at', {_NOW_UTC}))
WHERE id = %(run_id)s
"""

_START_RUN = """
WITH leftover AS (
    UPDATE sync_runs SET status = 'interrupted',
        error = coalesce(error, 'the run stopped before finishing; found by a later run')
    WHERE environment = %(environment)s AND status IN ('running', 'db-committed')
)
INSERT INTO sync_runs (environment, commit, actor, dry_run, status, plan, lock_pid)
VALUES (%(environment)s, %(commit)s, %(actor)s, %(dry_run)s, 'running', %(plan)s,
        %(lock_pid)s)
RETURNING id
"""

_CLOSE_DEAD_RUNS = """
UPDATE sync_runs SET status = 'interrupted',
    error = coalesce(error, 'the run stopped before finishing; found by a later run')
WHERE environment = %(environment)s AND status IN ('running', 'db-committed')
"""

# jsonb arrays are rewritten whole on every append: callers batch entries (see applier)
_JOURNAL = f"""
UPDATE sync_runs
SET journal = journal || (
  SELECT coalesce(jsonb_agg(t.e || jsonb_build_object('at', {_NOW_UTC}) ORDER BY t.n), '[]')
    FROM jsonb_array_elements(%(entries)s::jsonb) WITH ORDINALITY AS t(e, n))
WHERE id = %(run_id)s
"""

# a run that ends before it starts writing (refused, failed early, nothing to do): one
# finished row, touching no other run, so it needs no lock; the start is the client's
# clock, never later than the server's end
_RECORD_RUN = """
INSERT INTO sync_runs (environment, commit, actor, dry_run, started_at, finished_at, status,
                       plan, summary, error, lock_pid)
VALUES (%(environment)s, %(commit)s, %(actor)s, false,
        least(coalesce(%(started_at)s, now()), now()), now(),
        %(status)s, %(plan)s, %(summary)s, %(error)s, %(lock_pid)s)
RETURNING id
"""

_FINISH_RUN = """
UPDATE sync_runs SET status = %(status)s, finished_at = now(), error = %(error)s,
    summary = %(summary)s
WHERE id = %(run_id)s
"""

_HISTORY = """
SELECT id, environment, commit, actor, dry_run, started_at, finished_at, status, summary,
       journal, error
FROM sync_runs WHERE environment = %s ORDER BY id DESC LIMIT %s
"""

# 'degraded' committed the database, 'noop' found live equal to its commit; a '-dirty'
# commit names no state git can show again
_LAST_APPLIED = """
SELECT commit FROM sync_runs
WHERE environment = %s AND NOT dry_run AND status IN ('succeeded', 'degraded', 'noop')
  AND commit IS NOT NULL AND commit NOT LIKE '%%-dirty'
ORDER BY id DESC LIMIT 1
"""

# the listing leaves plans and journals on the server: they grow with the number of skills
_RUN_LIST = """
SELECT id, environment, commit, actor, dry_run, started_at, finished_at, status, summary,
       error, lock_pid,
       coalesce((summary->>'changes')::integer, jsonb_array_length(plan->'changes')) AS changes
FROM sync_runs WHERE environment = %s ORDER BY id DESC LIMIT %s
"""

_RUN = """
SELECT id, environment, commit, actor, dry_run, started_at, finished_at, status, summary,
       journal, error, plan, lock_pid,
       coalesce((summary->>'changes')::integer, jsonb_array_length(plan->'changes')) AS changes
FROM sync_runs WHERE id = %s
"""

_ROLLOUT = """
SELECT skill_name, (percentage * 100)::integer AS basis_points, salt, changed_at, commit
FROM skill_rollouts WHERE environment = %s AND skill_name = %s
"""

_COUNTS = """
SELECT (SELECT count(*) FROM skills) AS skills,
       (SELECT count(*) FROM skill_routes) AS routes,
       (SELECT count(*) FROM skill_rollouts WHERE environment = %s) AS rollouts,
       (SELECT count(*) FROM skill_versions) AS versions
"""

# who holds the advisory lock: a bigint key shows in pg_locks as (classid, objid, 1)
_LOCK_HOLDER = """
SELECT a.pid, a.application_name, a.backend_start, r.id, r.commit, r.actor, r.started_at
FROM pg_locks l
JOIN pg_stat_activity a ON a.pid = l.pid
LEFT JOIN sync_runs r ON r.lock_pid = l.pid AND r.environment = %(environment)s
     AND r.status IN ('running', 'db-committed')
WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
  AND l.classid::bigint = %(high)s AND l.objid::bigint = %(low)s
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
ORDER BY r.id DESC NULLS LAST
LIMIT 1
"""


# --- helpers --------------------------------------------------------------------------


@functools.cache
def migrations() -> tuple[tuple[str, str], ...]:
    """The packaged migrations as (file name, SQL text), in the order they apply."""
    folder = resources.files("syncbot.targets").joinpath("migrations")
    names = sorted(p.name for p in folder.iterdir() if _MIGRATION_NAME.fullmatch(p.name))
    return tuple((name, folder.joinpath(name).read_text("utf-8")) for name in names)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _url_secrets(url: str) -> tuple[str, ...]:
    """The password of a URL or keyword conninfo, raw and percent-decoded, to mask."""
    found = connection_secrets(url)
    with suppress(psycopg.Error):
        found.add(str(conninfo_to_dict(url).get("password") or ""))
    return tuple(sorted(s for s in found if s))


def _display_url(url: str) -> str:
    if "://" in url:
        return redact_url(url)
    return re.sub(r"password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)", "password=***", url)


def _lock_key(schema: str, environment: str) -> int:
    digest = hashlib.sha256(f"syncbot-apply\0{schema}\0{environment}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _utc(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _skill_row(d: Mapping[str, Any]) -> SkillRow:
    return SkillRow.from_values(d["name"], d, commit=d["commit"], updated_at=d["updated_at"])


def _hand_edited(state: Mapping[str, Any]) -> dict[str, str]:
    """DbState.written, for the rows edited by hand since the bot wrote them only.

    The planner calls a change "drift in live" when `written[object_id]` differs from its
    own fingerprint of the live value. The database's fingerprint (a 64-hex SHA-256 of its
    own canonical form) never equals the planner's (16 hex), so listing exactly the
    hand-edited rows gives the right reason without coupling the two hash formats; rows
    the bot wrote last are left out, which the planner reads as "changed in git".
    """
    kinds = (
        ("skill", "skills", "name"),
        ("route", "routes", "key"),
        ("rollout", "rollouts", "skill_name"),
    )
    return {
        f"db:{kind}:{d[key]}": str(d["written_fingerprint"])
        for kind, column, key in kinds
        for d in state[column]
        if d["hand_edited"]
    }


def _run_record(d: Mapping[str, Any]) -> RunRecord:
    return RunRecord(
        id=d["id"],
        environment=d["environment"],
        commit=d["commit"],
        actor=d["actor"],
        dry_run=d["dry_run"],
        started_at=d["started_at"],
        finished_at=d["finished_at"],
        status=d["status"],
        summary=d["summary"],
        journal=tuple(d.get("journal") or ()),
        error=d["error"],
        plan=d.get("plan"),
        changes=d.get("changes"),
        lock_pid=d.get("lock_pid"),
    )


# --- the target -----------------------------------------------------------------------


class Database:
    """One environment's database. Not thread-safe: use one object per thread."""

    def __init__(
        self, url: str, *, statement_timeout_ms: int = 30_000, lock_timeout_ms: int = 5_000
    ) -> None:
        self._url = url
        self._secrets = _url_secrets(url)
        self._statement_timeout_ms = statement_timeout_ms
        self._lock_timeout_ms = lock_timeout_ms
        self._conn: Connection | None = None
        self._lock_pid: int | None = None
        self.stats = DbStats()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- plumbing

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        """Turn a psycopg failure into one clear, password-free line."""
        try:
            yield
        except psycopg.Error as exc:
            text = redact_text(" ".join(str(exc).split()), self._secrets) or type(exc).__name__
            if isinstance(exc, _NOT_MIGRATED):
                text += " (is the database migrated? run `syncbot db migrate`)"
            raise TargetError("database", f"{doing}: {text}") from exc

    def _connect(self, application_name: str, statement_ms: int, lock_ms: int) -> Connection:
        with self._errors(f"cannot connect to {_display_url(self._url)}"):
            extra: dict[str, ConnParam] = {"application_name": application_name}
            if "connect_timeout" not in conninfo_to_dict(self._url):
                extra["connect_timeout"] = CONNECT_TIMEOUT_S  # fail fast when the server is down
            conninfo = make_conninfo(self._url, **extra)
            conn = psycopg.connect(conninfo, autocommit=True, row_factory=dict_row)
        try:
            self._configure(conn, statement_ms, lock_ms, local=False)
        except BaseException:
            conn.close()
            raise
        return conn

    def _configure(
        self, conn: Connection, statement_ms: int, lock_ms: int, *, local: bool, **extra: str
    ) -> None:
        """Set the timeouts (and `extra` settings) for the session, or the transaction."""
        settings = {"statement_timeout": f"{statement_ms}ms", "lock_timeout": f"{lock_ms}ms"}
        settings |= {f"syncbot.{k}": v for k, v in extra.items()}
        query = "SELECT set_config(k, v, %s) FROM unnest(%s::text[], %s::text[]) AS t(k, v)"
        with self._errors("cannot configure the session"):
            self._exec(query, (local, list(settings), list(settings.values())), conn=conn)

    @property
    def _connection(self) -> Connection:
        if self._conn is not None and self._conn.closed:
            self.close()  # lost (server restart): reconnect once, between operations only
        if self._conn is None:
            self._conn = self._connect("syncbot", self._statement_timeout_ms, self._lock_timeout_ms)
        return self._conn

    def _exec(
        self,
        query: QueryNoTemplate,
        params: Params | None = None,
        *,
        conn: Connection | None = None,
    ) -> psycopg.Cursor[DictRow]:
        self.stats.round_trips += 1
        return (conn if conn is not None else self._connection).execute(query, params)

    def _fetchone(self, query: QueryNoTemplate, params: Params | None = None) -> DictRow:
        row = self._exec(query, params).fetchone()
        assert row is not None, "the query returns exactly one row"
        return row

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        conn = self._connection
        self.stats.round_trips += 2  # BEGIN, then COMMIT or ROLLBACK
        with conn.transaction():
            yield

    # -- migrations

    def applied_migrations(self) -> dict[str, str]:
        """Recorded migrations: name -> SHA-256 of the file that was applied."""
        with self._errors("cannot read the migrations"):
            row = self._fetchone("SELECT to_regclass('syncbot_migrations') IS NOT NULL AS ok")
            if not row["ok"]:
                return {}
            rows = self._exec("SELECT name, sha256 FROM syncbot_migrations").fetchall()
        return {r["name"]: r["sha256"] for r in rows}

    def pending_migrations(self) -> list[str]:
        """Migrations not yet applied; refuses a database whose applied files were edited."""
        applied = self.applied_migrations()
        for name, sql in migrations():
            if name in applied and applied[name] != _sha256(sql):
                raise TargetError(
                    "database",
                    f"migration {name} was edited after it was applied: restore it and "
                    "add a new numbered migration instead",
                )
        return [name for name, _ in migrations() if name not in applied]

    def migrate(self) -> list[str]:
        """Apply pending migrations, each in its own transaction; returns their names."""
        if not self.pending_migrations():
            return []
        return [name for name, sql in migrations() if self._apply_migration(name, sql)]

    def _apply_migration(self, name: str, sql: str) -> bool:
        # The xact lock serialises concurrent migrators; each re-checks under the lock.
        with self._errors(f"migration {name} failed"), self._transaction():
            self._exec(_MIGRATIONS_TABLE)
            query = "SELECT 1 FROM syncbot_migrations WHERE name = %s"
            if self._exec(query, (name,)).fetchone() is not None:
                return False
            self._exec(sql.encode("utf-8"))
            query = "INSERT INTO syncbot_migrations (name, sha256) VALUES (%s, %s)"
            self._exec(query, (name, _sha256(sql)))
        return True

    def ensure_migrated(self) -> None:
        pending = self.pending_migrations()
        if pending:
            raise TargetError(
                "database",
                f"{len(pending)} migration(s) pending ({', '.join(pending)}): "
                "run `syncbot db migrate`",
            )

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
            row = self._fetchone(_READ_STATE, {"environment": environment})
        return DbState(
            environment=row["environment"],
            skills={s["name"]: _skill_row(s) for s in row["skills"]},
            versions=tuple(VersionRow.from_row(v) for v in row["versions"]),
            routes={r["key"]: RouteRow.from_dict(r) for r in row["routes"]},
            rollouts={o["skill_name"]: RolloutRow.from_row(o) for o in row["rollouts"]},
            written=_hand_edited(row),
            cache_behind=bool(row["cache_behind"]),
        )

    def journaled_nonces(self, environment: str, nonces: Sequence[str]) -> dict[str, str]:
        """{nonce: skill name} for the given ownership nonces this environment's runs
        journaled before sending a create: the proof that an API skill is ours (only a
        create makes a skill; a new version's nonce proves nothing about its skill)."""
        if not nonces:
            return {}
        with self._errors("cannot read the run journal"):
            rows = self._exec(_JOURNALED_NONCES, (environment, list(nonces))).fetchall()
        return {str(r["nonce"]): str(r["skill"]) for r in rows}

    def history(self, environment: str, limit: int) -> list[RunRecord]:
        with self._errors("cannot read the run history"):
            rows = self._exec(_HISTORY, (environment, limit)).fetchall()
        return [_run_record(r) for r in rows]

    def last_applied_commit(self, environment: str) -> str | None:
        """The commit live was last made equal to: the newest succeeded, degraded or noop run."""
        with self._errors("cannot read the run history"):
            if not self._fetchone("SELECT to_regclass('sync_runs') IS NOT NULL AS ok")["ok"]:
                return None
            row = self._exec(_LAST_APPLIED, (environment,)).fetchone()
        return None if row is None else str(row["commit"])

    def list_runs(self, environment: str, limit: int) -> list[RunRecord]:
        """The newest runs, without their plans and journals (see `run`)."""
        with self._errors("cannot read the run history"):
            rows = self._exec(_RUN_LIST, (environment, limit)).fetchall()
        return [_run_record(r) for r in rows]

    def run(self, run_id: int) -> RunRecord | None:
        """One run with its stored plan and journal; None when there is no such run."""
        with self._errors(f"cannot read run {run_id}"):
            row = self._exec(_RUN, (run_id,)).fetchone()
        return None if row is None else _run_record(row)

    def rollout(self, environment: str, skill: str) -> RolloutRow | None:
        """The skill's live rollout in `environment`; None when it has none (0%)."""
        with self._errors(f"cannot read the rollout of {skill}"):
            row = self._exec(_ROLLOUT, (environment, skill)).fetchone()
        return None if row is None else RolloutRow.from_row(row)

    def counts(self, environment: str) -> dict[str, int]:
        with self._errors("cannot count rows"):
            row = self._fetchone(_COUNTS, (environment,))
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
            key = _lock_key(str(row and row["schema"]), environment)
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
            row = self._exec(_LOCK_HOLDER, params, conn=conn).fetchone()
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
            return int(self._fetchone(_START_RUN, params)["id"])

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
            return int(self._fetchone(_RECORD_RUN, params)["id"])

    def close_dead_runs(self, environment: str) -> int:
        """Mark unfinished runs `interrupted`; returns how many. Hold the apply lock."""
        with self._errors("cannot record the run"):
            return self._exec(_CLOSE_DEAD_RUNS, {"environment": environment}).rowcount

    def journal(self, run_id: int, entry: Mapping[str, Any]) -> None:
        self.journal_many(run_id, [entry])

    def journal_many(self, run_id: int, entries: Sequence[Mapping[str, Any]]) -> None:
        """Append entries to the run's journal in one statement, in order."""
        safe = [redact_data(dict(e), self._secrets) for e in entries]
        params = {"run_id": run_id, "entries": Jsonb(safe)}
        with self._errors("cannot write the run journal"):
            cur = self._exec(_JOURNAL, params)
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
            self._exec(_RECORD_VERSION, params)

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
            cur = self._exec(_FINISH_RUN, params)
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
            cur = self._exec(_MARK_DB_COMMITTED, {"run_id": run_id, "entry": Jsonb(entry)})
            if cur.rowcount != 1:
                raise TargetError(
                    "database", f"the apply transaction was rolled back: no run {run_id}"
                )

    def _claim_environment(self, environment: str) -> None:
        recorded = self._fetchone(_CLAIM_ENVIRONMENT, (environment,))["value"]
        if recorded != environment:
            raise PolicyError(
                f"this database serves the {recorded!r} environment, not {environment!r}: "
                "refusing to apply another environment's configuration to it"
            )

    def _write(self, run_id: int, environment: str, w: DbWrites) -> dict[str, int]:
        """Run each non-empty batch as one statement; returns the rows each changed."""
        common = {"commit": w.commit, "environment": environment, "run_id": run_id}
        batches: list[tuple[str, QueryNoTemplate, str, list[Any]]] = [
            ("skills_upserted", _UPSERT_SKILLS, "rows", [r.as_row() for r in w.upsert_skills]),
            ("versions_inserted", _INSERT_VERSIONS, "rows", [r.as_row() for r in w.versions]),
            ("routes_deleted", _DELETE_ROUTES, "keys", list(w.delete_routes)),
            ("routes_upserted", _UPSERT_ROUTES, "rows", [r.as_row() for r in w.upsert_routes]),
            ("skills_deleted", _DELETE_SKILLS, "keys", list(w.delete_skills)),
            ("rollouts_deleted", _DELETE_ROLLOUTS, "keys", list(w.delete_rollouts)),
            (
                "rollouts_upserted",
                _UPSERT_ROLLOUTS,
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
