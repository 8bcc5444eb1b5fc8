-- fleet-scheduler: schedule slots. A schedule's cron expression is evaluated in its IANA time
-- zone, and each slot it yields is identified by its local wall-clock time (slot_local), so
-- the repeated hour of a fall-back night fires once. Every slot the firer resolves gets one
-- record here, written in the same transaction as its job and the schedule's advance: fired
-- on time, fired late (catch-up after every scheduler was down), or skipped. Earlier slots
-- missed in the same outage are folded into that one record (missed, first_missed_at),
-- never written one by one. Rules: crates/scheduler/src/schedule.rs.

ALTER TABLE schedules
    -- IANA name ('Europe/Paris'); the cron fields are local times of this zone.
    ADD time_zone     text   NOT NULL DEFAULT 'UTC',
    -- What happens to slots found late: fire the latest once, or only record it.
    ADD catch_up      text   NOT NULL DEFAULT 'run_late_once'
        CONSTRAINT schedules_catch_up_check CHECK (catch_up IN ('run_late_once', 'skip')),
    -- A slot is on time while now - slot_at <= late_after_ms.
    ADD late_after_ms bigint NOT NULL DEFAULT 60000
        CONSTRAINT schedules_late_after_ms_check CHECK (late_after_ms >= 0);

CREATE TABLE schedule_slots (
    schedule        text        NOT NULL REFERENCES schedules (name) ON DELETE CASCADE,
    -- 'YYYY-MM-DDTHH:MM:SS', the slot's wall-clock time in the schedule's zone: its identity.
    slot_local      text        NOT NULL,
    -- The instant the slot was due.
    slot_at         timestamptz NOT NULL,
    outcome         text        NOT NULL
        CONSTRAINT schedule_slots_outcome_check CHECK (outcome IN ('fired', 'fired_late', 'skipped')),
    -- The enqueued job (null when skipped).
    job_id          bigint,
    -- Earlier slots folded into this record (missed while every scheduler was down), and the
    -- earliest of them.
    missed          integer     NOT NULL DEFAULT 0,
    first_missed_at timestamptz,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (schedule, slot_local)
);

-- list_slots: a schedule's records newest first.
CREATE INDEX schedule_slots_schedule_at_idx ON schedule_slots (schedule, slot_at DESC);
