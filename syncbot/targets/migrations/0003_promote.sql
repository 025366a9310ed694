-- 0003_promote: progressive delivery. The AI service writes one row per skill execution;
-- `syncbot promote` reads the window of every canary from it in one query and records
-- each evaluation, so a failing streak counts across runs and every decision is audited.

-- Written by the AI service (never by the bot): one row per execution of a skill.
-- success is false for an execution that errored or was abandoned; duration_ms is the
-- wall time from request to final answer.
CREATE TABLE skill_executions (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    environment text NOT NULL,
    skill_name  text NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now(),
    duration_ms double precision NOT NULL CHECK (duration_ms >= 0),
    success     boolean NOT NULL
);
-- promote reads one environment's window for all skills at once: a range on started_at,
-- answered from the index alone.
CREATE INDEX skill_executions_window
    ON skill_executions (environment, started_at) INCLUDE (skill_name, duration_ms, success);

-- One row per decision of `syncbot promote`. verdict is NULL when health was not read
-- (rollout not converged). consecutive_failures and counted_until carry the failing
-- streak at this percentage forward to the next run.
CREATE TABLE rollout_evaluations (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    environment          text NOT NULL,
    skill_name           text NOT NULL,
    evaluated_at         timestamptz NOT NULL,
    percentage           numeric(5, 2) NOT NULL CHECK (percentage BETWEEN 0 AND 100),
    decision             text NOT NULL CHECK (decision IN ('promote', 'hold', 'rollback')),
    target_percentage    numeric(5, 2) CHECK (target_percentage BETWEEN 0 AND 100),
    verdict              text CHECK (verdict IN ('passed', 'failed', 'inconclusive')),
    consecutive_failures integer NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
    counted_until        timestamptz,
    figures              jsonb NOT NULL CHECK (jsonb_typeof(figures) = 'object'),
    reason               text NOT NULL,
    commit               text
);
CREATE INDEX rollout_evaluations_by_skill
    ON rollout_evaluations (environment, skill_name, evaluated_at DESC, id DESC);
