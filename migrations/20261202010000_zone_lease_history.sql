-- Zone lease history: one row per (zone, epoch), the lease's grant and its expiry as last
-- written. Each write to zone_leases (grant, renewal, release) writes this row in the same
-- statement, so the history is exactly as true as the lease itself. It lets a checker prove
-- that every upstream call tagged `{owner}/{epoch}` fell inside its epoch's lease
-- (acquired_at <= call < expires_at), including a stale owner calling after its lease expired
-- but before any successor appeared. One row per change of owner, so it grows slowly.
CREATE TABLE zone_lease_history (
    zone        text        NOT NULL,
    epoch       bigint      NOT NULL,
    owner       text        NOT NULL,
    acquired_at timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (zone, epoch)
);
