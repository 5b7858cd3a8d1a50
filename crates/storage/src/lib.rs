//! The storage contract.
//!
//! Everything the service persists goes through [`Database`]. Each backend (SQLite, PostgreSQL)
//! lives in its own crate and implements the whole trait; the shared conformance suite
//! (`prompter-storage-conformance`) runs the same tests against both, so "behaviour is identical
//! on both" is checked, not hoped for.
//!
//! Uniqueness is decided by the database: the partial unique index
//! `ux_templates_org_ws_confighash_active` is the final arbiter of duplicate templates, and a
//! backend reports what it caught as an outcome ([`CreateTemplate::Duplicate`]), never as an error.
//!
//! What the SQL backends have in common beyond the contract is written once here too: the column
//! lists ([`columns`]), keyset paging ([`page`], [`result_page`]), the order of a run's writes
//! ([`write_run`]) and, with the `sqlx` feature, the migration steps ([`migrations`]).

mod analysis;
pub mod analysis_sql;
mod batches;
pub mod columns;
mod cursor;
mod error;
mod hygiene;
pub mod migrations;
mod paging;
mod record_run;
mod records;
mod runs;
mod schedules;
mod tokens;

use async_trait::async_trait;
use uuid::Uuid;

pub use analysis::{
    rollup_deltas, AliasSnapshot, AnalysisRow, AnswerScan, CountColumn, CountQuery, CountRow,
    CountSpan, DriftEvent, JobProgress, JobStatus, MentionRow, PutSnapshot, ReanalysisJob,
    RollupKey, StoredAnalysis, StoredAnswer, DOMAIN, ENTITY,
};
pub use batches::{
    task_move, Batch, BatchChange, BatchPage, BatchQuery, BatchStatus, BatchTask, ClaimRequest,
    ClaimedTask, CreateBatch, NewBatch, NewTask, TaskCounts, TaskNext, TaskPage, TaskQuery,
    TaskStatus, TaskUpdate,
};
pub use cursor::{Cursor, CursorError};
pub use error::{json_from_text, BoxError, StorageError};
pub use hygiene::{
    first_per_key, lookup_order, IdTable, ImportedResult, ImportedTemplate, ImportedVersion,
    MergeApplied, MergePlan, Rehash, SeenWindow, TemplateHead, EXISTING_IDS_CHUNK,
};
pub use migrations::{down_target, migration_states};
pub use paging::{batch_page, fetch_limit, page, result_page, task_page};
pub use record_run::{write_finish, write_run, FinishedRun, RunSteps, RunWrite};
pub use records::{
    timestamp, CreateTemplate, MigrationState, NewTemplate, NewWorkspace, RestoreTemplate,
    Template, TemplatePage, TemplateQuery, Workspace,
};
pub use runs::{
    InterruptScope, RecordedRun, ResultPage, RunRecord, RunResult, RunStatus, UpsertedVersion,
    Version, VersionObservation,
};
pub use schedules::{Schedule, ScheduleFired};
pub use tokens::{ApiToken, NewToken, Role};

use prompter_domain::{OrgId, WorkspaceId};

/// Which backend a [`Database`] is, for logs, health output and metrics labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

pub type Result<T, E = StorageError> = std::result::Result<T, E>;

#[async_trait]
pub trait Database: Send + Sync + 'static {
    fn backend(&self) -> Backend;

    /// A round trip to the database.
    async fn ping(&self) -> Result<()>;

    /// Closes the connection pools (at shutdown, after the last request).
    async fn close(&self) {}

    /// Applies every pending migration; returns the versions applied now.
    async fn migrate_up(&self) -> Result<Vec<i64>>;
    /// Reverts the `steps` most recent migrations; returns the versions reverted.
    async fn migrate_down(&self, steps: usize) -> Result<Vec<i64>>;
    /// Every migration the binary knows, and whether it is applied.
    async fn migration_status(&self) -> Result<Vec<MigrationState>>;

    async fn create_workspace(&self, ws: NewWorkspace) -> Result<Workspace>;
    async fn get_workspace(&self, org: &OrgId, id: &WorkspaceId) -> Result<Option<Workspace>>;
    /// Workspaces of an organisation, by id.
    async fn list_workspaces(&self, org: &OrgId) -> Result<Vec<Workspace>>;
    /// Every organisation that has a workspace, in id order (operator commands that span the
    /// whole database, such as `prompter dedupe` without `--org`).
    async fn list_organisations(&self) -> Result<Vec<String>>;

    /// Inserts the template unless an active template with the same config hash exists in the same
    /// org and workspace. Creates the workspace record (name = id) if there is none yet, in the
    /// same transaction.
    async fn create_template(&self, new: NewTemplate) -> Result<CreateTemplate>;
    /// The active template with this config hash in this org and workspace, if any. Never writes.
    async fn find_active_duplicate(
        &self,
        org: &OrgId,
        workspace: &WorkspaceId,
        config_hash: &str,
    ) -> Result<Option<Template>>;
    /// The active templates of the workspace holding this configuration hash (the exact twin)
    /// or this near key (near-duplicate candidates), oldest first, at most `limit`. Never writes.
    async fn find_twin_and_near(
        &self,
        org: &OrgId,
        workspace: &WorkspaceId,
        config_hash: &str,
        near_key: &str,
        limit: u32,
    ) -> Result<Vec<TemplateHead>>;
    /// The active templates of the workspace that share their near key with another active one
    /// (near-duplicate candidates), by near key, then oldest first.
    async fn templates_sharing_near_keys(
        &self,
        org: &OrgId,
        workspace: &WorkspaceId,
    ) -> Result<Vec<Template>>;
    /// Up to `limit` templates without a near key (written before it existed): id and
    /// canonical JSON.
    async fn templates_missing_near_key(&self, limit: u32) -> Result<Vec<(Uuid, String)>>;
    /// Sets the near keys given, in one transaction; how many rows changed.
    async fn set_near_keys(&self, keys: &[(Uuid, String)]) -> Result<u64>;
    /// Applies an import's or a dedupe's plan in one transaction: all of it or nothing.
    async fn apply_merge_plan(&self, plan: &MergePlan) -> Result<MergeApplied>;
    /// Which of `ids` exist in `table` (any order).
    async fn existing_ids(&self, table: IdTable, ids: &[Uuid]) -> Result<Vec<Uuid>>;
    async fn get_template(&self, id: Uuid) -> Result<Option<Template>>;
    /// Newest first, keyset-paginated.
    async fn list_templates(&self, query: &TemplateQuery) -> Result<TemplatePage>;
    /// Sets `deleted_at` (once; deleting a deleted template changes nothing). `None` if unknown.
    async fn soft_delete_template(&self, id: Uuid) -> Result<Option<Template>>;
    /// Clears `deleted_at` unless an active twin (same org, workspace and hash) exists.
    async fn restore_template(&self, id: Uuid) -> Result<RestoreTemplate>;
    /// Sets the labels given (name, tags; neither is part of the hash) of a template, deleted
    /// ones included; the template as it is now, `None` if unknown.
    async fn update_template_labels(
        &self,
        id: Uuid,
        name: Option<&str>,
        tags: Option<&[String]>,
    ) -> Result<Option<Template>>;
    /// Renames a workspace; the workspace as it is now, `None` if unknown.
    async fn rename_workspace(
        &self,
        org: &OrgId,
        id: &WorkspaceId,
        name: &str,
    ) -> Result<Option<Workspace>>;

    /// Inserts the version, or moves `last_seen_at` forward if the key is known. Concurrent
    /// upserts of one key end in one row (the unique index arbitrates).
    async fn upsert_version(&self, observation: &VersionObservation) -> Result<UpsertedVersion>;
    /// A template's versions, most recently first seen first.
    async fn list_versions(&self, template_id: Uuid) -> Result<Vec<Version>>;
    /// The version seen most recently for this template (any provider), if any.
    async fn latest_version(&self, template_id: Uuid) -> Result<Option<Version>>;

    /// Upserts the observed version and inserts the result in one transaction. With an
    /// idempotency key already used for this template, nothing is written and the first result is
    /// returned. A run inserts its result as `running` (with its `runner_id`; the heartbeat
    /// starts at `created_at`) before the provider call, then [`Database::finish_run`]s it.
    async fn record_run(&self, record: RunRecord) -> Result<RecordedRun>;
    /// Records a running result's outcome: upserts the observed version and updates the result
    /// (status, answer, response, error, version …) in one transaction. A result already
    /// succeeded is left as it is (and returned); one marked interrupted meanwhile gets the
    /// outcome (a late answer beats the marker).
    async fn finish_run(&self, record: &RunRecord) -> Result<FinishedRun>;
    /// Renews the heartbeat of `runner`'s running results among `results` (those it is still
    /// running: a row it lost track of — its insert committed, but the answer never arrived —
    /// must go stale and be marked interrupted); returns how many.
    async fn heartbeat_runs(
        &self,
        runner: Uuid,
        results: &[Uuid],
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<u64>;
    /// Marks running results as failed with `error`; returns how many.
    async fn interrupt_runs(&self, scope: InterruptScope, error: &serde_json::Value)
        -> Result<u64>;
    async fn get_result(&self, id: Uuid) -> Result<Option<RunResult>>;
    /// The result recorded for `(template, idempotency key)` since `since`, if any.
    async fn find_idempotent_result(
        &self,
        template_id: Uuid,
        key: &str,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<RunResult>>;
    async fn create_token(&self, token: NewToken) -> Result<ApiToken>;
    /// Every token, revoked ones included, oldest first.
    async fn list_tokens(&self) -> Result<Vec<ApiToken>>;
    /// Marks the token revoked; `false` if unknown or already revoked.
    async fn revoke_token(&self, id: Uuid) -> Result<bool>;
    /// The active (not revoked) token with this hash.
    async fn active_token_by_hash(&self, token_hash: &str) -> Result<Option<ApiToken>>;
    async fn count_active_tokens(&self) -> Result<i64>;

    /// A template's results (of one batch, with `batch_id`), newest first, keyset-paginated.
    async fn list_results(
        &self,
        template_id: Uuid,
        batch_id: Option<Uuid>,
        limit: u32,
        after: Option<Cursor>,
    ) -> Result<ResultPage>;

    /// Inserts the batch and all its tasks in one transaction, unless the org has a batch with
    /// the same idempotency key (then nothing is written and that batch is returned).
    async fn create_batch(&self, batch: NewBatch) -> Result<CreateBatch>;
    async fn get_batch(&self, id: Uuid) -> Result<Option<Batch>>;
    /// The org's batch created with this idempotency key, if any.
    async fn batch_by_idempotency_key(&self, org_id: &str, key: &str) -> Result<Option<Batch>>;
    /// Newest first, keyset-paginated.
    async fn list_batches(&self, query: &BatchQuery) -> Result<BatchPage>;
    /// A batch's tasks in creation order.
    async fn list_tasks(&self, query: &TaskQuery) -> Result<TaskPage>;
    /// Hands out up to `limit` pending tasks whose time has come, oldest batch first, never more
    /// running tasks per batch than its `max_concurrency`. Each is leased to the worker until
    /// `lease_until` and its `attempts` counts this attempt. Concurrent claimers (processes on
    /// one PostgreSQL) never get the same task.
    async fn claim_tasks(&self, request: &ClaimRequest) -> Result<Vec<ClaimedTask>>;
    /// Extends the leases of `worker`'s running tasks among `tasks` (those it is still running:
    /// a task it lost track of — its claim committed, but the answer never arrived — must see
    /// its lease expire and return to the queue); returns how many.
    async fn renew_leases(
        &self,
        worker: Uuid,
        tasks: &[Uuid],
        until: chrono::DateTime<chrono::Utc>,
    ) -> Result<u64>;
    /// Running tasks whose lease expired before `now` (their worker died) go back to the queue
    /// (or are cancelled if their batch stopped); returns how many.
    async fn requeue_expired_tasks(&self, now: chrono::DateTime<chrono::Utc>) -> Result<u64>;
    /// `worker`'s running tasks go back to the queue at once (the worker is stopping).
    async fn release_tasks(&self, worker: Uuid, now: chrono::DateTime<chrono::Utc>) -> Result<u64>;
    /// Cancels the batch: its pending tasks are cancelled; running ones finish and are recorded.
    async fn cancel_batch(
        &self,
        id: Uuid,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<BatchChange>;
    /// Failed tasks get new attempts (pending again, attempts from zero). A stopped batch
    /// (cancelled, or out of budget) is left as it is.
    async fn retry_failed_tasks(
        &self,
        id: Uuid,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<BatchChange>;
    /// Tasks pending and running in unfinished batches (the queue depth).
    async fn open_task_counts(&self) -> Result<TaskCounts>;

    async fn create_schedule(&self, schedule: &Schedule) -> Result<()>;
    async fn get_schedule(&self, id: Uuid) -> Result<Option<Schedule>>;
    /// An org's schedules (of one workspace, and only of `allowed` ones), oldest first.
    async fn list_schedules(
        &self,
        org_id: &str,
        workspace_id: Option<&str>,
        allowed: Option<&[String]>,
    ) -> Result<Vec<Schedule>>;
    /// Writes the editable fields (name, cron, timezone, batch, enabled, next_run_at,
    /// updated_at); `false` if the schedule is gone.
    async fn update_schedule(&self, schedule: &Schedule) -> Result<bool>;
    async fn delete_schedule(&self, id: Uuid) -> Result<bool>;
    /// Enabled schedules whose next slot is at or before `now`, earliest first.
    async fn due_schedules(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        limit: u32,
    ) -> Result<Vec<Schedule>>;
    /// Records a fired slot and moves the schedule to its next one, if it still expects
    /// `expected_next` (another replica, or an edit, may have moved it): `false` otherwise.
    async fn record_schedule_fire(
        &self,
        id: Uuid,
        expected_next: chrono::DateTime<chrono::Utc>,
        fired: &ScheduleFired,
    ) -> Result<bool>;

    /// Inserts the snapshot unless one with its content hash exists in its workspace; either
    /// way the snapshot becomes the workspace's current one (`current_since` = the new one's).
    async fn put_alias_snapshot(&self, snapshot: &AliasSnapshot) -> Result<PutSnapshot>;
    /// The snapshot put most recently in the workspace.
    async fn current_alias_snapshot(
        &self,
        org_id: &str,
        workspace_id: &str,
    ) -> Result<Option<AliasSnapshot>>;
    async fn get_alias_snapshot(&self, id: Uuid) -> Result<Option<AliasSnapshot>>;
    /// A workspace's snapshots, newest first.
    async fn list_alias_snapshots(
        &self,
        org_id: &str,
        workspace_id: &str,
    ) -> Result<Vec<AliasSnapshot>>;
    /// Writes the analyses not written yet (an existing key writes nothing), with their
    /// mentions and daily roll-up counts, in one transaction; with `progress`, the re-analysis
    /// job's progress in the same transaction (`None` and nothing written if the job is no
    /// longer leased to `progress.runner`). Returns how many analyses were new.
    async fn store_analyses(
        &self,
        rows: &[AnalysisRow],
        progress: Option<&JobProgress>,
    ) -> Result<Option<u64>>;
    /// The stored analyses of these results, newest first.
    async fn analyses_of(&self, result_ids: &[Uuid]) -> Result<Vec<StoredAnalysis>>;
    /// Answer and mention counts per group and entity.
    async fn visibility_counts(&self, query: &CountQuery) -> Result<Vec<CountRow>>;
    /// Version keys first seen answering the workspace's templates in `from..to`.
    async fn drift_events(
        &self,
        org_id: &str,
        workspace_id: &str,
        from: Option<chrono::DateTime<chrono::Utc>>,
        to: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Vec<DriftEvent>>;
    /// A page of the workspace's answers (succeeded results with text), oldest first.
    async fn scan_answers(&self, scan: &AnswerScan) -> Result<Vec<StoredAnswer>>;
    /// How many answers the scan without cursor and limit goes through.
    async fn count_answers(&self, scan: &AnswerScan) -> Result<i64>;
    async fn create_reanalysis(&self, job: &ReanalysisJob) -> Result<()>;
    async fn get_reanalysis(&self, id: Uuid) -> Result<Option<ReanalysisJob>>;
    /// Leases the oldest queued job, or a running one whose lease expired (its process died),
    /// to `runner` until `lease_until`; concurrent claimers never get the same job.
    async fn claim_reanalysis(
        &self,
        runner: Uuid,
        now: chrono::DateTime<chrono::Utc>,
        lease_until: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<ReanalysisJob>>;
    /// Ends `runner`'s job as failed with `error`; `false` if it is not leased to `runner`.
    async fn fail_reanalysis(
        &self,
        id: Uuid,
        runner: Uuid,
        error: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool>;
}
