-- 0001_initial: the tables the AI service reads (SPEC section 4) and the bot's own records.
-- Applied in one transaction by syncbot.targets.postgres.Database.migrate(); never edit a
-- released migration, add the next numbered file instead (the checksum is verified).

-- Which environment this database serves: applying another environment's config is refused.
CREATE TABLE syncbot_meta (
    key        text PRIMARY KEY,
    value      text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE skills (
    name           text PRIMARY KEY,
    skill_id       text NOT NULL UNIQUE,
    version_id     text NOT NULL,
    display_name   text NOT NULL,
    description    text NOT NULL,
    type           text NOT NULL CHECK (type IN ('code', 'prompt')),
    category       text NOT NULL,
    version        text NOT NULL,
    config         jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(config) = 'object'),
    content_sha256 text NOT NULL CHECK (content_sha256 ~ '^[0-9a-f]{64}$'),
    critical       boolean NOT NULL DEFAULT false,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    commit         text,
    written_fingerprint text
);

-- Every API version the bot uploaded, recorded right after the API answered (before the
-- apply transaction), so a run killed in between leaves its uploads to the next run.
CREATE TABLE skill_versions (
    skill_name     text NOT NULL,
    skill_id       text NOT NULL,
    version_id     text NOT NULL,
    content_sha256 text NOT NULL,
    uploaded_at    timestamptz NOT NULL DEFAULT now(),
    commit         text,
    PRIMARY KEY (skill_id, version_id)
);
-- re-pinning on rollback looks a skill's earlier upload up by its content hash
CREATE INDEX skill_versions_by_content ON skill_versions (skill_name, content_sha256);

-- The foreign key is deferred so that one apply may reorder its writes freely, yet never
-- commit a route to a skill that is gone.
CREATE TABLE skill_routes (
    key            text PRIMARY KEY,
    skill          text NOT NULL REFERENCES skills (name) DEFERRABLE INITIALLY DEFERRED,
    category       text NOT NULL,
    priority       integer NOT NULL CHECK (priority >= 1),
    min_confidence double precision NOT NULL CHECK (min_confidence BETWEEN 0 AND 1),
    patterns       jsonb NOT NULL CHECK (jsonb_typeof(patterns) = 'array'),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    commit         text,
    written_fingerprint text,
    CHECK (key = skill || ':' || category)
);
CREATE INDEX skill_routes_by_skill ON skill_routes (skill);

-- percentage = basis points / 100, exactly; changed_at moves only when percentage or salt
-- change, so now() - changed_at is the soak time at the current step.
CREATE TABLE skill_rollouts (
    environment text NOT NULL,
    skill_name  text NOT NULL,
    percentage  numeric(5, 2) NOT NULL CHECK (percentage BETWEEN 0 AND 100),
    salt        text NOT NULL,
    changed_at  timestamptz NOT NULL DEFAULT now(),
    commit      text,
    written_fingerprint text,
    PRIMARY KEY (environment, skill_name)
);

-- One row per change: percentage_before is NULL for a new rollout, percentage_after NULL
-- for a removed one (the skill is then at 0%).
CREATE TABLE skill_rollout_history (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    environment       text NOT NULL,
    skill_name        text NOT NULL,
    percentage_before numeric(5, 2),
    percentage_after  numeric(5, 2),
    salt              text NOT NULL,
    changed_at        timestamptz NOT NULL DEFAULT now(),
    commit            text,
    run_id            bigint
);
CREATE INDEX skill_rollout_history_by_skill
    ON skill_rollout_history (environment, skill_name, changed_at DESC);

-- One row per plan-and-apply. lock_pid is the backend holding the apply lock, so a waiting
-- run can name the run that blocks it.
CREATE TABLE sync_runs (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    environment text NOT NULL,
    commit      text,
    actor       text NOT NULL,
    dry_run     boolean NOT NULL DEFAULT false,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    status      text NOT NULL CHECK (status IN ('running', 'db-committed', 'succeeded',
                    'degraded', 'failed', 'interrupted', 'noop', 'dry-run')),
    plan        jsonb,
    journal     jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(journal) = 'array'),
    summary     jsonb,
    error       text,
    lock_pid    integer
);
CREATE INDEX sync_runs_by_environment ON sync_runs (environment, id DESC);

-- Drift detection. syncbot_fingerprint(row) hashes the columns the bot manages. When the bot
-- writes a row (commit_apply sets syncbot.writer = 'apply' for its transaction only) the
-- trigger stores that hash in written_fingerprint; a hand edit (psql, another tool) leaves
-- it behind, so `written_fingerprint <> syncbot_fingerprint(row)` means "changed by hand
-- since the bot wrote it": the plan then says "drift in live" rather than "changed in git".
CREATE FUNCTION syncbot_fingerprint(s skills) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT encode(sha256(convert_to(jsonb_build_array(
        s.skill_id, s.version_id, s.display_name, s.description, s.type, s.category,
        s.version, s.config, s.content_sha256, s.critical)::text, 'UTF8')), 'hex')
$$;

CREATE FUNCTION syncbot_fingerprint(r skill_routes) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT encode(sha256(convert_to(jsonb_build_array(
        r.skill, r.category, r.priority, r.min_confidence, r.patterns)::text, 'UTF8')), 'hex')
$$;

CREATE FUNCTION syncbot_fingerprint(o skill_rollouts) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT encode(sha256(convert_to(jsonb_build_array(
        o.environment, o.percentage, o.salt)::text, 'UTF8')), 'hex')
$$;

-- search_path is pinned so that the bot's writes resolve syncbot_fingerprint in this schema
CREATE FUNCTION syncbot_stamp_written() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    IF current_setting('syncbot.writer', true) = 'apply' THEN
        NEW.written_fingerprint := syncbot_fingerprint(NEW);
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER skills_written BEFORE INSERT OR UPDATE ON skills
    FOR EACH ROW EXECUTE FUNCTION syncbot_stamp_written();
CREATE TRIGGER skill_routes_written BEFORE INSERT OR UPDATE ON skill_routes
    FOR EACH ROW EXECUTE FUNCTION syncbot_stamp_written();
CREATE TRIGGER skill_rollouts_written BEFORE INSERT OR UPDATE ON skill_rollouts
    FOR EACH ROW EXECUTE FUNCTION syncbot_stamp_written();
