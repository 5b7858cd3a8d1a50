-- Schedules: a batch body fired on a cron expression in a time zone. `next_run_at` is the next
-- slot (NULL while disabled); a worker fires due schedules and moves it on. Each slot fires once
-- across replicas: the batch it creates carries the idempotency key `schedule:{id}:{slot}`, and
-- the unique index on (org, idempotency key) refuses a second batch for the slot.
CREATE TABLE schedules (
    id             UUID PRIMARY KEY,
    org_id         TEXT NOT NULL,
    workspace_id   TEXT NOT NULL,
    name           TEXT NOT NULL,
    cron           TEXT NOT NULL,
    timezone       TEXT NOT NULL,
    batch          JSONB NOT NULL,           -- the batch body, without workspace_id
    enabled        BOOLEAN NOT NULL,
    next_run_at    TIMESTAMPTZ,
    last_slot      TIMESTAMPTZ,
    last_batch_id  UUID,
    last_error     JSONB,
    created_by     TEXT,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);

CREATE INDEX ix_schedules_due ON schedules (next_run_at) WHERE enabled;
CREATE INDEX ix_schedules_org_ws ON schedules (org_id, workspace_id, created_at, id);
