-- fleet-inventory: every resource fleet can see, per zone, written by the zone's owning worker
-- (from its zone watcher, its jobs' reads and a periodic full resync) and read by the gateway's
-- Inventory service and by List calls that ask for `inventory` consistency. A resource a full
-- resync no longer finds is marked gone (gone_at), never silently kept or deleted at once.

CREATE TABLE inventory_resources (
    zone            text        NOT NULL,
    -- fleet_inventory::Kind: server, volume, snapshot, image, ip, security_group,
    -- placement_group, private_nic.
    kind            text        NOT NULL,
    id              text        NOT NULL,
    -- Which API holds it: instance or block.
    api             text        NOT NULL DEFAULT 'instance',
    project         text        NOT NULL DEFAULT '',
    name            text        NOT NULL DEFAULT '',
    state           text        NOT NULL DEFAULT '',
    -- Servers only.
    commercial_type text,
    -- Volumes and snapshots: l_ssd, b_ssd, sbs_volume, sbs_snapshot, ...
    volume_type     text,
    -- Volumes: the server it is attached to; NULL when detached.
    attached_to     text,
    tags            text[]      NOT NULL DEFAULT '{}',
    -- The resource as fleet shows it (the unified shape for Block volumes and snapshots).
    body            jsonb       NOT NULL,
    -- Upstream creation_date, when the resource has one.
    created_at      timestamptz,
    first_seen      timestamptz NOT NULL DEFAULT now(),
    last_seen       timestamptz NOT NULL DEFAULT now(),
    gone_at         timestamptz,
    PRIMARY KEY (zone, kind, id),
    CONSTRAINT inventory_resources_kind_check CHECK (kind IN
        ('server', 'volume', 'snapshot', 'image', 'ip', 'security_group', 'placement_group',
         'private_nic')),
    CONSTRAINT inventory_resources_api_check CHECK (api IN ('instance', 'block'))
);

-- Paged listing of what exists, by kind across zones (the order of a list: zone, then id).
CREATE INDEX inventory_resources_live_idx ON inventory_resources (kind, zone, id)
    WHERE gone_at IS NULL;
CREATE INDEX inventory_resources_project_idx ON inventory_resources (kind, project, zone, id)
    WHERE gone_at IS NULL;
CREATE INDEX inventory_resources_tags_idx ON inventory_resources USING gin (tags)
    WHERE gone_at IS NULL;
CREATE INDEX inventory_resources_name_idx ON inventory_resources (kind, name text_pattern_ops)
    WHERE gone_at IS NULL;

-- One row per (zone, kind): when its last full resync started and completed. A List served from
-- the inventory reports its data's age from here.
CREATE TABLE inventory_syncs (
    zone         text        NOT NULL,
    kind         text        NOT NULL,
    started_at   timestamptz NOT NULL,
    completed_at timestamptz,
    -- Rows seen by the last completed resync, and rows it marked gone.
    seen         integer     NOT NULL DEFAULT 0,
    marked_gone  integer     NOT NULL DEFAULT 0,
    PRIMARY KEY (zone, kind)
);
