-- fleet-gateway: the audit log, one row per mutating call (synchronous or long-running,
-- accepted or refused). Written by the gateway after the call is answered, read by the
-- Audit service, pruned after FLEET_GATEWAY_AUDIT_RETENTION by the gateway's audit_pruner
-- task, independently of job pruning (no foreign key to jobs: a record outlives its job).
--
-- Never a token, a secret or a request body: the caller's name, the method, the ids the
-- request names and how it ended; user data only as a size.
CREATE TABLE gateway_audit (
    id              bigserial   PRIMARY KEY,
    created_at      timestamptz NOT NULL DEFAULT now(),
    caller          text        NOT NULL,
    role            text        NOT NULL,
    method          text        NOT NULL,
    request_id      text,
    zone            text,
    project         text,
    resource        text,
    -- "OK" or the gRPC code name of the refusal (tonic's Code).
    outcome         text        NOT NULL,
    -- The ErrorInfo reason of a refusal.
    reason          text,
    operation       text,
    user_data_bytes bigint
);

-- Pruning and time ranges.
CREATE INDEX gateway_audit_created_idx ON gateway_audit (created_at);
-- "What did this caller do", newest first.
CREATE INDEX gateway_audit_caller_idx ON gateway_audit (caller, id);
