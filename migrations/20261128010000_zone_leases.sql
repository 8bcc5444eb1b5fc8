-- Zone ownership: exactly one live worker calls Scaleway for a zone.
--
-- A lease names its owner, the owner's internal gRPC address (where the gateway sends that
-- zone's synchronous calls) and a fencing epoch that grows by one at every change of owner.
-- A lease is held while expires_at > now(); an expired lease may be taken by any worker.
CREATE TABLE zone_leases (
    zone        text        PRIMARY KEY,
    owner       text        NOT NULL,
    address     text        NOT NULL DEFAULT '',
    epoch       bigint      NOT NULL,
    expires_at  timestamptz NOT NULL,
    acquired_at timestamptz NOT NULL DEFAULT now(),
    renewed_at  timestamptz NOT NULL DEFAULT now()
);

-- Live workers, so that each can compute its fair share of the zones.
CREATE TABLE fleet_workers (
    id           text        PRIMARY KEY,
    address      text        NOT NULL DEFAULT '',
    zones        text[]      NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
