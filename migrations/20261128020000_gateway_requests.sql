-- fleet-gateway: AIP-155 request_id records of synchronous mutations, and the gRPC method that
-- started each long-running operation. Long-running requests are deduplicated by the jobs
-- table itself (caller, idempotency_key = request_id).

-- One row per (caller, request_id) of a synchronous mutation: claimed as 'pending' before the
-- call, 'done' with the encoded response after it succeeded, deleted when it failed (so the
-- same request_id can be retried). request_hash covers the method and the whole request but
-- its request_id, so a reuse with another payload is refused. Tokens are never stored.
CREATE TABLE gateway_requests (
    caller       text        NOT NULL,
    request_id   text        NOT NULL,
    method       text        NOT NULL,
    request_hash text        NOT NULL,
    state        text        NOT NULL DEFAULT 'pending',
    response     bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    PRIMARY KEY (caller, request_id),
    CONSTRAINT gateway_requests_state_check CHECK (state IN ('pending', 'done'))
);

-- Pruning of old records.
CREATE INDEX gateway_requests_created_idx ON gateway_requests (created_at);

-- The public method behind each operation (OperationMetadata.method); written in the
-- enqueuing transaction, gone with the job.
CREATE TABLE gateway_operations (
    job_id     bigint      PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    method     text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
