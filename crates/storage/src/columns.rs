//! Column lists both SQL backends use: the schema is the same on both (only the column types
//! differ), so the lists are written once. Each backend's row mapping reads columns by these
//! names; where a list is also an insert's column list, the backend binds in this order.

/// `prompt_templates` read through the alias `t` (so it joins with `workspaces w`).
pub const TEMPLATE_COLUMNS: &str = "t.id, t.org_id, t.workspace_id, t.name, t.provider, \
    t.system_instructions, t.user_prompt_template, t.country_set, t.model_id, t.inference_params, \
    t.tools_spec, t.response_format, t.grounding_profile_id, t.grounding_snapshot_id, \
    t.retrieval_params, t.created_by, t.config_hash, t.config_canonical_json, t.created_at, \
    t.deleted_at, t.tags, t.merged_into";

/// What a template insert writes (`deleted_at` starts empty), in bind order.
pub const TEMPLATE_INSERT_COLUMNS: &str = "id, org_id, workspace_id, name, provider, \
    system_instructions, user_prompt_template, country_set, model_id, inference_params, \
    tools_spec, response_format, grounding_profile_id, grounding_snapshot_id, retrieval_params, \
    config_hash, config_canonical_json, created_by, created_at, tags, near_key";

/// The version columns an import writes, in bind order; `response_model`, `system_fingerprint`
/// and `provider_response_id` stay NULL (an imported row does not carry them).
pub const VERSION_IMPORT_COLUMNS: &str = "id, org_id, workspace_id, template_id, provider, \
    provider_version_key, model_id, fingerprint_captured_at, first_seen_at, last_seen_at, \
    merged_into";

/// The result columns an import writes, in bind order: every field of
/// [`crate::ImportedResult`]. What belongs to a live run (runner, heartbeat, idempotency key,
/// batch task, reasoning) stays NULL.
pub const RESULT_IMPORT_COLUMNS: &str = "id, org_id, workspace_id, template_id, version_id, \
    provider, model_id, provider_version_key, system_fingerprint, request, response, answer, \
    analysis_config, rendered_prompt_hash, run_country, used_grounding, status, error, \
    latency_ms, usage, is_fake, finish_reason, truncated, citations, created_at";

/// Near-duplicate lookups (`?N` placeholders; PostgreSQL through [`queue::postgres`]).
pub mod near {
    /// The active templates of workspace (`?1` org, `?2` workspace) holding configuration hash
    /// `?3` or near key `?4`, oldest first, at most `?5`: the exact twin and the near-duplicate
    /// candidates in one read, each served by an index (id, name, hash, canonical JSON).
    pub const TWIN_AND_NEAR: &str = "SELECT t.id, t.name, t.config_hash, \
        t.config_canonical_json FROM prompt_templates t WHERE t.org_id = ?1 \
        AND t.workspace_id = ?2 AND t.deleted_at IS NULL \
        AND (t.config_hash = ?3 OR t.near_key = ?4) ORDER BY t.created_at, t.id LIMIT ?5";

    /// The active templates of workspace (`?1`, `?2`) that share their near key with another
    /// active one, by near key, then oldest first.
    pub fn sharing_near_keys() -> String {
        format!(
            "SELECT {} FROM prompt_templates t WHERE t.org_id = ?1 AND t.workspace_id = ?2 \
             AND t.deleted_at IS NULL AND t.near_key IN (SELECT near_key FROM prompt_templates \
             WHERE org_id = ?1 AND workspace_id = ?2 AND deleted_at IS NULL \
             AND near_key IS NOT NULL GROUP BY near_key HAVING count(*) > 1) \
             ORDER BY t.near_key, t.created_at, t.id",
            super::TEMPLATE_COLUMNS
        )
    }

    /// Up to `?1` templates written before near keys existed: id and canonical JSON.
    pub const MISSING: &str = "SELECT id, config_canonical_json FROM prompt_templates \
        WHERE near_key IS NULL LIMIT ?1";

    /// Sets the near key `?1` of template `?2`.
    pub const SET: &str = "UPDATE prompt_templates SET near_key = ?1 WHERE id = ?2";
}

/// Every organisation that has a workspace (no placeholder: the same text on both backends).
pub const ORGANISATIONS: &str = "SELECT DISTINCT org_id FROM workspaces ORDER BY org_id";

/// `workspaces`, read and inserted.
pub const WORKSPACE_COLUMNS: &str = "org_id, id, name, created_at";

/// `prompt_versions`, read and inserted.
pub const VERSION_COLUMNS: &str = "id, org_id, workspace_id, template_id, provider, \
    provider_version_key, model_id, response_model, system_fingerprint, provider_response_id, \
    fingerprint_captured_at, first_seen_at, last_seen_at";

/// `prompt_results`, read and inserted.
pub const RESULT_COLUMNS: &str = "id, org_id, workspace_id, template_id, version_id, provider, \
    model_id, provider_version_key, system_fingerprint, request, response, answer, \
    analysis_config, rendered_prompt_hash, run_country, used_grounding, status, error, latency_ms, \
    usage, is_fake, idempotency_key, request_hash, created_at, runner_id, batch_id, task_id, \
    sample_index, finish_reason, truncated, reasoning, citations";

/// What a run's outcome updates (everything the provider's answer decides), in bind order after
/// the result id.
pub const RESULT_OUTCOME_COLUMNS: [&str; 16] = [
    "version_id",
    "provider_version_key",
    "system_fingerprint",
    "request",
    "response",
    "answer",
    "used_grounding",
    "status",
    "error",
    "latency_ms",
    "usage",
    "is_fake",
    "finish_reason",
    "truncated",
    "reasoning",
    "citations",
];

/// `api_tokens` as read (never the hash).
pub const TOKEN_COLUMNS: &str = "id, org_id, workspaces, role, label, created_at, revoked_at";

/// What a token insert writes, in bind order.
pub const TOKEN_INSERT_COLUMNS: &str =
    "id, org_id, workspaces, role, token_hash, label, created_at";

/// `batches` as read: the stored columns and the derived `status`.
pub const BATCH_COLUMNS: &str = "id, org_id, workspace_id, schedule_id, idempotency_key, \
    request_hash, params, skipped, max_concurrency, token_budget, total_tasks, pending_tasks, \
    running_tasks, succeeded_tasks, failed_tasks, cancelled_tasks, prompt_tokens, \
    completion_tokens, created_by, created_at, started_at, finished_at, \
    CASE WHEN state = 'cancelled' THEN 'cancelled' \
         WHEN state = 'budget_exhausted' THEN 'budget_exhausted' \
         WHEN pending_tasks + running_tasks > 0 THEN \
              (CASE WHEN started_at IS NULL THEN 'queued' ELSE 'running' END) \
         WHEN failed_tasks = 0 THEN 'succeeded' \
         WHEN succeeded_tasks = 0 THEN 'failed' \
         ELSE 'partially_failed' END AS status";

/// What a batch insert writes, in bind order (`state` starts `active`, every task pending).
pub const BATCH_INSERT_COLUMNS: &str = "id, org_id, workspace_id, schedule_id, idempotency_key, \
    request_hash, params, skipped, max_concurrency, token_budget, created_by, created_at, \
    total_tasks, pending_tasks, state";

/// `batch_tasks` as read.
pub const TASK_COLUMNS: &str = "id, batch_id, template_id, country, sample_index, status, \
    attempts, available_at, result_id, last_error, updated_at";

/// `schedules`, read and inserted.
pub const SCHEDULE_COLUMNS: &str = "id, org_id, workspace_id, name, cron, timezone, batch, \
    enabled, next_run_at, last_slot, last_batch_id, last_error, created_by, created_at, \
    updated_at";

/// The statements of the task queue that are the same text on both backends, written with
/// SQLite's `?N` placeholders ([`postgres`] turns them into `$N`).
pub mod queue {
    /// Sets a batch's counters from its tasks (`?1` batch id): after changes to many tasks at
    /// once (cancel, retry, expired leases), not on the hot path.
    pub const RECOUNT: &str = "UPDATE batches SET (pending_tasks, running_tasks, \
        succeeded_tasks, failed_tasks, cancelled_tasks) = (SELECT \
        coalesce(sum(CASE WHEN status = 'pending' THEN 1 ELSE 0 END), 0), \
        coalesce(sum(CASE WHEN status = 'running' THEN 1 ELSE 0 END), 0), \
        coalesce(sum(CASE WHEN status = 'succeeded' THEN 1 ELSE 0 END), 0), \
        coalesce(sum(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), 0), \
        coalesce(sum(CASE WHEN status = 'cancelled' THEN 1 ELSE 0 END), 0) \
        FROM batch_tasks WHERE batch_id = ?1) WHERE id = ?1";

    /// A batch with nothing left to run is finished (`?1` id, `?2` now); one that got work
    /// again (retry-failed) is not.
    pub const MARK_FINISHED: &str = "UPDATE batches SET finished_at = CASE \
        WHEN pending_tasks + running_tasks = 0 THEN coalesce(finished_at, ?2) ELSE NULL END \
        WHERE id = ?1";

    /// A task outcome that left batch `?1` with nothing to run finishes it at `?2`; the
    /// statement returns the batch then (and nothing when the batch goes on, or had finished).
    pub fn finish_now() -> String {
        format!(
            "UPDATE batches SET finished_at = ?2 WHERE id = ?1 AND finished_at IS NULL \
             AND pending_tasks + running_tasks = 0 RETURNING {}",
            super::BATCH_COLUMNS
        )
    }

    /// Batches a worker may take tasks from: open, active, with pending tasks and room under
    /// their concurrency limit; oldest first. `?1`: how many.
    pub const CLAIMABLE_BATCHES: &str = "SELECT id, org_id, workspace_id, params, \
        max_concurrency, running_tasks FROM batches WHERE finished_at IS NULL \
        AND state = 'active' AND pending_tasks > 0 AND running_tasks < max_concurrency \
        ORDER BY created_at, id LIMIT ?1";

    /// Counters after `?3` tasks of batch `?1` were claimed at `?2`.
    pub const COUNT_CLAIMED: &str = "UPDATE batches SET pending_tasks = pending_tasks - ?3, \
        running_tasks = running_tasks + ?3, started_at = coalesce(started_at, ?2) WHERE id = ?1";

    /// Tasks whose lease expired before `?1` (their worker died) go back to the queue in their
    /// old place at `?2`, or are cancelled when their batch no longer runs; `?3`: the batch.
    pub const REQUEUE_EXPIRED: &str = "UPDATE batch_tasks SET status = CASE WHEN \
        (SELECT state FROM batches WHERE id = ?3) = 'active' THEN 'pending' ELSE 'cancelled' END, \
        lease_owner = NULL, lease_expires_at = NULL, updated_at = ?2 \
        WHERE batch_id = ?3 AND status = 'running' AND lease_expires_at < ?1";

    /// Batches with leases expired before `?1`.
    pub const BATCHES_WITH_EXPIRED_LEASES: &str = "SELECT DISTINCT batch_id FROM batch_tasks \
        WHERE status = 'running' AND lease_expires_at < ?1";

    /// Renews the leases of worker `?1` until `?2` (each backend adds which tasks: `?3`).
    pub const RENEW_LEASES: &str = "UPDATE batch_tasks SET lease_expires_at = ?2 \
        WHERE status = 'running' AND lease_owner = ?1";

    /// Batches with tasks leased by worker `?1`.
    pub const BATCHES_LEASED_BY: &str = "SELECT DISTINCT batch_id FROM batch_tasks \
        WHERE status = 'running' AND lease_owner = ?1";

    /// Gives worker `?1`'s tasks of batch `?3` back to the queue at `?2` (a worker stopping).
    pub const RELEASE: &str = "UPDATE batch_tasks SET status = CASE WHEN \
        (SELECT state FROM batches WHERE id = ?3) = 'active' THEN 'pending' ELSE 'cancelled' END, \
        lease_owner = NULL, lease_expires_at = NULL, updated_at = ?2 \
        WHERE batch_id = ?3 AND status = 'running' AND lease_owner = ?1";

    /// Cancels the pending tasks of batch `?1` at `?2`.
    pub const CANCEL_PENDING: &str = "UPDATE batch_tasks SET status = 'cancelled', \
        updated_at = ?2 WHERE batch_id = ?1 AND status = 'pending'";

    /// New attempts for the failed tasks of batch `?1`, from `?2` on.
    pub const RETRY_FAILED: &str = "UPDATE batch_tasks SET status = 'pending', attempts = 0, \
        available_at = ?2, updated_at = ?2 WHERE batch_id = ?1 AND status = 'failed'";

    /// Tasks waiting or running in open batches, by state (for the queue-depth gauge).
    pub const OPEN_COUNTS: &str = "SELECT CAST(coalesce(sum(pending_tasks), 0) AS BIGINT), \
        CAST(coalesce(sum(running_tasks), 0) AS BIGINT) FROM batches WHERE finished_at IS NULL";

    /// The succeeded result of task `?1` other than `?2`, if any.
    pub const SUCCEEDED_TWIN: &str = "SELECT id FROM prompt_results WHERE task_id = ?1 \
        AND status = 'succeeded' AND id <> ?2";

    /// `?N` → `$N`: the same statement for PostgreSQL.
    pub fn postgres(sql: &str) -> String {
        sql.replace('?', "$")
    }
}
