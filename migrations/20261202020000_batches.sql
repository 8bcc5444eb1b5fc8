-- fleet-gateway: batches, one call acting on a resolved selection of servers under a rollout
-- policy. A batch's id is the id of its coordinator job (kind 'batch', pseudo-zone 'batches'),
-- which is also its parent operation. Counts are never stored: the coordinator derives them
-- from batch_children and the children's jobs on each tick.

CREATE TABLE batches (
    id          bigint      PRIMARY KEY,
    caller      text        NOT NULL,
    project     text,
    -- The request as accepted: {selector, action, policy} plus the resolved limits
    -- {max_in_flight, max_failures}.
    spec        jsonb       NOT NULL,
    state       text        NOT NULL DEFAULT 'running',
    reason      text        NOT NULL DEFAULT '',
    -- [{event, caller, at}]: who started, paused, resumed or cancelled it, and when.
    events      jsonb       NOT NULL DEFAULT '[]',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT batches_state_check CHECK (state IN
        ('running', 'paused', 'halted', 'cancelled', 'completed'))
);

CREATE INDEX batches_caller_idx ON batches (caller, id);

-- The resolved selection, one row per server, in selection order (position). job_id is set in
-- the same transaction that enqueues the child's job; outcome once that job has finished (or
-- 'skipped' for a child that never started because the batch halted or was cancelled).
CREATE TABLE batch_children (
    batch_id    bigint  NOT NULL REFERENCES batches (id) ON DELETE CASCADE,
    position    integer NOT NULL,
    zone        text    NOT NULL,
    resource_id text    NOT NULL,
    project     text,
    name        text    NOT NULL DEFAULT '',
    state       text    NOT NULL DEFAULT '',
    job_id      bigint,
    outcome     text,
    error       text,
    PRIMARY KEY (batch_id, position),
    CONSTRAINT batch_children_outcome_check CHECK (outcome IS NULL OR outcome IN
        ('succeeded', 'failed', 'cancelled', 'skipped'))
);

-- Children not finished yet (the coordinator's working set).
CREATE INDEX batch_children_open_idx ON batch_children (batch_id, position)
    WHERE outcome IS NULL;
