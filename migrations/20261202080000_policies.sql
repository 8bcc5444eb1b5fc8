-- fleet-gateway: policies (snapshot schedules with retention, power schedules) and their runs.
-- A policy owns the schedules named 'policy:{id}:{n}' in the cron engine's `schedules`; they
-- change in the same transaction as its row. A run's id is the id of its job (kind
-- 'policy_run', pseudo-zone 'policies'); slots the engine skipped are in `schedule_slots`.

CREATE TABLE policies (
    id           bigserial   PRIMARY KEY,
    creator      text        NOT NULL,
    -- The creator's project scope when it created the policy (["*"] or project ids): runs
    -- act with it, as the caller 'policies/{id}'. Never a token.
    scope        jsonb       NOT NULL,
    project      text,
    kind         text        NOT NULL,
    -- The fleet.v1.Policy as accepted (proto JSON), output-only fields cleared.
    spec         jsonb       NOT NULL,
    state        text        NOT NULL DEFAULT 'active',
    -- AIP-155: the creator's request_id and the hash of the request it named.
    request_id   text,
    request_hash text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT policies_kind_check CHECK (kind IN ('snapshot', 'power')),
    CONSTRAINT policies_state_check CHECK (state IN ('active', 'paused'))
);

CREATE UNIQUE INDEX policies_request_idx ON policies (creator, request_id)
    WHERE request_id IS NOT NULL;

CREATE TABLE policy_runs (
    id               bigint      PRIMARY KEY,
    policy_id        bigint      NOT NULL REFERENCES policies (id) ON DELETE CASCADE,
    trigger          text        NOT NULL,
    -- The slot: local time in the policy's zone, and the instant.
    slot_local       text        NOT NULL,
    slot_at          timestamptz NOT NULL,
    late             boolean     NOT NULL DEFAULT false,
    missed           integer     NOT NULL DEFAULT 0,
    -- snapshot, start or stop; NULL until the run has decided.
    action           text,
    outcome          text        NOT NULL DEFAULT 'running',
    batch_id         bigint,
    -- Servers a retain_running start found running already.
    retained_servers jsonb       NOT NULL DEFAULT '[]',
    -- [{zone, snapshot_id, volume_id, reason, error}]: what retention deleted.
    deletions        jsonb       NOT NULL DEFAULT '[]',
    detail           text        NOT NULL DEFAULT '',
    started_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz,
    CONSTRAINT policy_runs_trigger_check CHECK (trigger IN ('schedule', 'manual')),
    CONSTRAINT policy_runs_action_check CHECK (action IS NULL OR action IN
        ('snapshot', 'start', 'stop')),
    CONSTRAINT policy_runs_outcome_check CHECK (outcome IN
        ('running', 'succeeded', 'failed', 'nothing_to_do'))
);

CREATE INDEX policy_runs_policy_idx ON policy_runs (policy_id, slot_at DESC);
