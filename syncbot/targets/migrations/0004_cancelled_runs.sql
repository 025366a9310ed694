-- 0004_cancelled_runs: an apply answered "no" at its confirmation prompt leaves a run
-- record with status 'cancelled' (nothing written; never counted as applied).
ALTER TABLE sync_runs DROP CONSTRAINT sync_runs_status_check;
ALTER TABLE sync_runs ADD CONSTRAINT sync_runs_status_check CHECK (status IN (
    'running', 'db-committed', 'succeeded', 'degraded', 'failed', 'interrupted', 'noop',
    'dry-run', 'refused', 'cancelled'));
