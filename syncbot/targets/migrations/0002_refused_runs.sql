-- 0002_refused_runs: every apply leaves a run record, including one refused before it
-- changed anything (policy, invalid configuration, a stale saved plan): status 'refused'.
-- The constraint is the one 0001 declared on the column, under PostgreSQL's default name.
ALTER TABLE sync_runs DROP CONSTRAINT sync_runs_status_check;
ALTER TABLE sync_runs ADD CONSTRAINT sync_runs_status_check CHECK (status IN (
    'running', 'db-committed', 'succeeded', 'degraded', 'failed', 'interrupted', 'noop',
    'dry-run', 'refused'));
