-- Batches: many runs (template × country × sample) as one unit of work on a durable queue.
-- A batch row keeps its counters per task state, updated in the same transaction as the tasks
-- they count, so reading a batch (and filtering batches by status) never scans its tasks.
CREATE TABLE batches (
    id                TEXT PRIMARY KEY,
    org_id            TEXT NOT NULL,
    workspace_id      TEXT NOT NULL,
    schedule_id       TEXT,
    idempotency_key   TEXT,
    request_hash      TEXT NOT NULL,
    params            TEXT NOT NULL,        -- what every task runs with (brand_name, runtime_vars, use_grounding)
    skipped           TEXT NOT NULL,        -- [{template_id, reason}]
    max_concurrency   INTEGER NOT NULL,
    token_budget      INTEGER,
    state             TEXT NOT NULL,         -- active | cancelled | budget_exhausted
    total_tasks       INTEGER NOT NULL,
    pending_tasks     INTEGER NOT NULL,
    running_tasks     INTEGER NOT NULL DEFAULT 0,
    succeeded_tasks   INTEGER NOT NULL DEFAULT 0,
    failed_tasks      INTEGER NOT NULL DEFAULT 0,
    cancelled_tasks   INTEGER NOT NULL DEFAULT 0,
    prompt_tokens     INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    created_by        TEXT,
    created_at        TEXT NOT NULL,
    started_at        TEXT,
    finished_at       TEXT
);

CREATE UNIQUE INDEX ux_batches_org_idempotency ON batches (org_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX ix_batches_org_ws_created ON batches (org_id, workspace_id, created_at DESC, id DESC);
-- Batches with work left: what the workers look at.
CREATE INDEX ix_batches_open ON batches (created_at) WHERE finished_at IS NULL;

-- One row per (template, country, sample) of a batch: the queue. `attempts` counts claims and
-- fences the outcome of an attempt (a late answer of an earlier attempt does not move the task).
CREATE TABLE batch_tasks (
    id               TEXT PRIMARY KEY,
    batch_id         TEXT NOT NULL REFERENCES batches (id),
    template_id      TEXT NOT NULL,
    country          TEXT,
    sample_index     INTEGER NOT NULL,
    status           TEXT NOT NULL,          -- pending | running | succeeded | failed | cancelled
    attempts         INTEGER NOT NULL DEFAULT 0,
    available_at     TEXT NOT NULL,
    lease_owner      TEXT,
    lease_expires_at TEXT,
    result_id        TEXT,
    last_error       TEXT,
    updated_at       TEXT NOT NULL
);

-- The task key: a batch has one task per (template, country, sample).
CREATE UNIQUE INDEX ux_tasks_key ON batch_tasks (batch_id, template_id, COALESCE(country, ''), sample_index);
CREATE INDEX ix_tasks_batch_ready ON batch_tasks (batch_id, available_at, id) WHERE status = 'pending';
CREATE INDEX ix_tasks_batch_leased ON batch_tasks (batch_id, lease_expires_at) WHERE status = 'running';
CREATE INDEX ix_tasks_batch_status ON batch_tasks (batch_id, status, id);
CREATE INDEX ix_tasks_lease_owner ON batch_tasks (lease_owner) WHERE status = 'running';

-- A task's attempts are ordinary results that also name their batch, task and sample. A task has
-- at most one succeeded result, however often it was retried or resumed: this index decides.
ALTER TABLE prompt_results ADD COLUMN batch_id TEXT;
ALTER TABLE prompt_results ADD COLUMN task_id TEXT;
ALTER TABLE prompt_results ADD COLUMN sample_index INTEGER;
CREATE UNIQUE INDEX ux_results_task_succeeded ON prompt_results (task_id)
    WHERE status = 'succeeded';
CREATE INDEX ix_results_task ON prompt_results (task_id) WHERE task_id IS NOT NULL;
CREATE INDEX ix_results_template_batch ON prompt_results (template_id, batch_id, created_at DESC, id DESC)
    WHERE batch_id IS NOT NULL;
