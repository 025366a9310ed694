"""The SQL the PostgreSQL target sends, apart from the code that sends it."""

from __future__ import annotations

# journal timestamps: UTC, millisecond precision, the same text whatever the server TimeZone
NOW_UTC = """to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')"""

MIGRATIONS_TABLE = """
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
READ_STATE = """
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

JOURNALED_NONCES = """
SELECT DISTINCT e->>'nonce' AS nonce, e->>'skill' AS skill
  FROM sync_runs r, jsonb_array_elements(r.journal) e
 WHERE r.environment = %s AND NOT r.dry_run
   AND e->>'op' = 'upload' AND e->>'action' = 'create' AND e->>'outcome' = 'started'
   AND e->>'nonce' = ANY(%s)
"""

CLAIM_ENVIRONMENT = """
INSERT INTO syncbot_meta AS m (key, value) VALUES ('environment', %s)
ON CONFLICT (key) DO UPDATE SET value = m.value
RETURNING value
"""

UPSERT_SKILLS = """
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

INSERT_VERSIONS = """
INSERT INTO skill_versions (skill_name, skill_id, version_id, content_sha256, uploaded_at,
                            commit)
SELECT r.skill_name, r.skill_id, r.version_id, r.content_sha256,
       coalesce(r.uploaded_at, now()), coalesce(r.commit, %(commit)s)
FROM jsonb_to_recordset(%(rows)s) AS r(skill_name text, skill_id text, version_id text,
     content_sha256 text, uploaded_at timestamptz, commit text)
ON CONFLICT (skill_id, version_id) DO NOTHING
"""

RECORD_VERSION = """
INSERT INTO skill_versions (skill_name, skill_id, version_id, content_sha256, uploaded_at,
                            commit)
VALUES (%s, %s, %s, %s, coalesce(%s, now()), %s)
ON CONFLICT (skill_id, version_id) DO NOTHING
"""

DELETE_SKILLS = "DELETE FROM skills WHERE name = ANY(%(keys)s)"

UPSERT_ROUTES = """
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

DELETE_ROUTES = "DELETE FROM skill_routes WHERE key = ANY(%(keys)s)"

# Data-modifying CTEs all see the snapshot from before the statement, so `old` holds the
# previous values while `up` writes the new ones; only rows that really changed are
# returned by `up`, and only those reach the history.
UPSERT_ROLLOUTS = """
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

DELETE_ROLLOUTS = """
WITH gone AS (
    DELETE FROM skill_rollouts
    WHERE environment = %(environment)s AND skill_name = ANY(%(keys)s)
    RETURNING skill_name, percentage, salt
)
INSERT INTO skill_rollout_history (environment, skill_name, percentage_before,
                                   percentage_after, salt, commit, run_id)
SELECT %(environment)s, skill_name, percentage, NULL, salt, %(commit)s, %(run_id)s FROM gone
"""

MARK_DB_COMMITTED = f"""
UPDATE sync_runs SET status = 'db-committed',
    journal = journal || jsonb_build_array(%(entry)s::jsonb
                                           || jsonb_build_object('at', {NOW_UTC}))
WHERE id = %(run_id)s
"""

START_RUN = """
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

CLOSE_DEAD_RUNS = """
UPDATE sync_runs SET status = 'interrupted',
    error = coalesce(error, 'the run stopped before finishing; found by a later run')
WHERE environment = %(environment)s AND status IN ('running', 'db-committed')
"""

# jsonb arrays are rewritten whole on every append: callers batch entries (see applier)
JOURNAL = f"""
UPDATE sync_runs
SET journal = journal || (
  SELECT coalesce(jsonb_agg(t.e || jsonb_build_object('at', {NOW_UTC}) ORDER BY t.n), '[]')
    FROM jsonb_array_elements(%(entries)s::jsonb) WITH ORDINALITY AS t(e, n))
WHERE id = %(run_id)s
"""

# a run that ends before it starts writing (refused, failed early, nothing to do): one
# finished row, touching no other run, so it needs no lock; the start is the client's
# clock, never later than the server's end
RECORD_RUN = """
INSERT INTO sync_runs (environment, commit, actor, dry_run, started_at, finished_at, status,
                       plan, summary, error, lock_pid)
VALUES (%(environment)s, %(commit)s, %(actor)s, false,
        least(coalesce(%(started_at)s, now()), now()), now(),
        %(status)s, %(plan)s, %(summary)s, %(error)s, %(lock_pid)s)
RETURNING id
"""

FINISH_RUN = """
UPDATE sync_runs SET status = %(status)s, finished_at = now(), error = %(error)s,
    summary = %(summary)s
WHERE id = %(run_id)s
"""

HISTORY = """
SELECT id, environment, commit, actor, dry_run, started_at, finished_at, status, summary,
       journal, error
FROM sync_runs WHERE environment = %s ORDER BY id DESC LIMIT %s
"""

# 'degraded' committed the database, 'noop' found live equal to its commit; a '-dirty'
# commit names no state git can show again
LAST_APPLIED = """
SELECT commit FROM sync_runs
WHERE environment = %s AND NOT dry_run AND status IN ('succeeded', 'degraded', 'noop')
  AND commit IS NOT NULL AND commit NOT LIKE '%%-dirty'
ORDER BY id DESC LIMIT 1
"""

# the listing leaves plans and journals on the server: they grow with the number of skills
RUN_LIST = """
SELECT id, environment, commit, actor, dry_run, started_at, finished_at, status, summary,
       error, lock_pid,
       coalesce((summary->>'changes')::integer, jsonb_array_length(plan->'changes')) AS changes
FROM sync_runs WHERE environment = %s ORDER BY id DESC LIMIT %s
"""

RUN = """
SELECT id, environment, commit, actor, dry_run, started_at, finished_at, status, summary,
       journal, error, plan, lock_pid,
       coalesce((summary->>'changes')::integer, jsonb_array_length(plan->'changes')) AS changes
FROM sync_runs WHERE id = %s
"""

ROLLOUT = """
SELECT skill_name, (percentage * 100)::integer AS basis_points, salt, changed_at, commit
FROM skill_rollouts WHERE environment = %s AND skill_name = %s
"""

COUNTS = """
SELECT (SELECT count(*) FROM skills) AS skills,
       (SELECT count(*) FROM skill_routes) AS routes,
       (SELECT count(*) FROM skill_rollouts WHERE environment = %s) AS rollouts,
       (SELECT count(*) FROM skill_versions) AS versions
"""

# who holds the advisory lock: a bigint key shows in pg_locks as (classid, objid, 1)
LOCK_HOLDER = """
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
