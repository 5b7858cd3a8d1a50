//! A [`Database`] decorator that measures every operation (`prompter_db_query_duration_seconds`
//! by operation), so neither backend needs its own instrumentation.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use prompter_domain::{OrgId, WorkspaceId};
use prompter_storage::{
    AliasSnapshot, AnalysisRow, AnswerScan, Backend, Batch, BatchChange, BatchPage, BatchQuery,
    ClaimRequest, ClaimedTask, CountQuery, CountRow, CreateBatch, CreateTemplate, Cursor, Database,
    DriftEvent, JobProgress, MigrationState, NewBatch, NewTemplate, NewWorkspace, PutSnapshot,
    ReanalysisJob, RecordedRun, RestoreTemplate, Result, ResultPage, RunRecord, RunResult,
    Schedule, ScheduleFired, StoredAnalysis, StoredAnswer, TaskCounts, TaskPage, TaskQuery,
    Template, TemplatePage, TemplateQuery, UpsertedVersion, Version, VersionObservation, Workspace,
};
use prompter_storage::{IdTable, MergeApplied, MergePlan, TemplateHead};
use uuid::Uuid;

use crate::telemetry::DB_QUERY_DURATION;

pub struct InstrumentedDatabase(pub Arc<dyn Database>);

async fn timed<T>(operation: &'static str, work: impl Future<Output = T>) -> T {
    let started = Instant::now();
    let out = work.await;
    metrics::histogram!(DB_QUERY_DURATION, "operation" => operation)
        .record(started.elapsed().as_secs_f64());
    out
}

#[async_trait]
impl Database for InstrumentedDatabase {
    fn backend(&self) -> Backend {
        self.0.backend()
    }
    async fn ping(&self) -> Result<()> {
        timed("ping", self.0.ping()).await
    }
    async fn close(&self) {
        self.0.close().await
    }
    async fn migrate_up(&self) -> Result<Vec<i64>> {
        self.0.migrate_up().await
    }
    async fn migrate_down(&self, steps: usize) -> Result<Vec<i64>> {
        self.0.migrate_down(steps).await
    }
    async fn migration_status(&self) -> Result<Vec<MigrationState>> {
        timed("migration_status", self.0.migration_status()).await
    }
    async fn create_workspace(&self, ws: NewWorkspace) -> Result<Workspace> {
        timed("create_workspace", self.0.create_workspace(ws)).await
    }
    async fn update_template_labels(
        &self,
        id: Uuid,
        name: Option<&str>,
        tags: Option<&[String]>,
    ) -> Result<Option<Template>> {
        timed(
            "update_template_labels",
            self.0.update_template_labels(id, name, tags),
        )
        .await
    }
    async fn rename_workspace(
        &self,
        org: &OrgId,
        id: &WorkspaceId,
        name: &str,
    ) -> Result<Option<Workspace>> {
        timed("rename_workspace", self.0.rename_workspace(org, id, name)).await
    }
    async fn get_workspace(&self, org: &OrgId, id: &WorkspaceId) -> Result<Option<Workspace>> {
        timed("get_workspace", self.0.get_workspace(org, id)).await
    }
    async fn list_workspaces(&self, org: &OrgId) -> Result<Vec<Workspace>> {
        timed("list_workspaces", self.0.list_workspaces(org)).await
    }
    async fn list_organisations(&self) -> Result<Vec<String>> {
        timed("list_organisations", self.0.list_organisations()).await
    }
    async fn create_template(&self, new: NewTemplate) -> Result<CreateTemplate> {
        timed("create_template", self.0.create_template(new)).await
    }
    async fn find_active_duplicate(
        &self,
        org: &OrgId,
        workspace: &WorkspaceId,
        config_hash: &str,
    ) -> Result<Option<Template>> {
        timed(
            "find_active_duplicate",
            self.0.find_active_duplicate(org, workspace, config_hash),
        )
        .await
    }
    async fn find_twin_and_near(
        &self,
        org: &OrgId,
        workspace: &WorkspaceId,
        config_hash: &str,
        near_key: &str,
        limit: u32,
    ) -> Result<Vec<TemplateHead>> {
        timed(
            "find_twin_and_near",
            self.0
                .find_twin_and_near(org, workspace, config_hash, near_key, limit),
        )
        .await
    }
    async fn templates_sharing_near_keys(
        &self,
        org: &OrgId,
        workspace: &WorkspaceId,
    ) -> Result<Vec<Template>> {
        timed(
            "templates_sharing_near_keys",
            self.0.templates_sharing_near_keys(org, workspace),
        )
        .await
    }
    async fn templates_missing_near_key(&self, limit: u32) -> Result<Vec<(Uuid, String)>> {
        timed(
            "templates_missing_near_key",
            self.0.templates_missing_near_key(limit),
        )
        .await
    }
    async fn set_near_keys(&self, keys: &[(Uuid, String)]) -> Result<u64> {
        timed("set_near_keys", self.0.set_near_keys(keys)).await
    }
    async fn apply_merge_plan(&self, plan: &MergePlan) -> Result<MergeApplied> {
        timed("apply_merge_plan", self.0.apply_merge_plan(plan)).await
    }
    async fn existing_ids(&self, table: IdTable, ids: &[Uuid]) -> Result<Vec<Uuid>> {
        timed("existing_ids", self.0.existing_ids(table, ids)).await
    }
    async fn get_template(&self, id: Uuid) -> Result<Option<Template>> {
        timed("get_template", self.0.get_template(id)).await
    }
    async fn list_templates(&self, query: &TemplateQuery) -> Result<TemplatePage> {
        timed("list_templates", self.0.list_templates(query)).await
    }
    async fn soft_delete_template(&self, id: Uuid) -> Result<Option<Template>> {
        timed("soft_delete_template", self.0.soft_delete_template(id)).await
    }
    async fn restore_template(&self, id: Uuid) -> Result<RestoreTemplate> {
        timed("restore_template", self.0.restore_template(id)).await
    }
    async fn upsert_version(&self, observation: &VersionObservation) -> Result<UpsertedVersion> {
        timed("upsert_version", self.0.upsert_version(observation)).await
    }
    async fn list_versions(&self, template_id: Uuid) -> Result<Vec<Version>> {
        timed("list_versions", self.0.list_versions(template_id)).await
    }
    async fn latest_version(&self, template_id: Uuid) -> Result<Option<Version>> {
        timed("latest_version", self.0.latest_version(template_id)).await
    }
    async fn record_run(&self, record: RunRecord) -> Result<RecordedRun> {
        timed("record_run", self.0.record_run(record)).await
    }
    async fn finish_run(&self, record: &RunRecord) -> Result<prompter_storage::FinishedRun> {
        timed("finish_run", self.0.finish_run(record)).await
    }
    async fn heartbeat_runs(
        &self,
        runner: Uuid,
        results: &[Uuid],
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<u64> {
        timed("heartbeat_runs", self.0.heartbeat_runs(runner, results, at)).await
    }
    async fn interrupt_runs(
        &self,
        scope: prompter_storage::InterruptScope,
        error: &serde_json::Value,
    ) -> Result<u64> {
        timed("interrupt_runs", self.0.interrupt_runs(scope, error)).await
    }
    async fn get_result(&self, id: Uuid) -> Result<Option<RunResult>> {
        timed("get_result", self.0.get_result(id)).await
    }
    async fn find_idempotent_result(
        &self,
        template_id: Uuid,
        key: &str,
        since: DateTime<Utc>,
    ) -> Result<Option<RunResult>> {
        timed(
            "find_idempotent_result",
            self.0.find_idempotent_result(template_id, key, since),
        )
        .await
    }
    async fn create_token(
        &self,
        token: prompter_storage::NewToken,
    ) -> Result<prompter_storage::ApiToken> {
        timed("create_token", self.0.create_token(token)).await
    }
    async fn list_tokens(&self) -> Result<Vec<prompter_storage::ApiToken>> {
        timed("list_tokens", self.0.list_tokens()).await
    }
    async fn revoke_token(&self, id: Uuid) -> Result<bool> {
        timed("revoke_token", self.0.revoke_token(id)).await
    }
    async fn active_token_by_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<prompter_storage::ApiToken>> {
        timed(
            "active_token_by_hash",
            self.0.active_token_by_hash(token_hash),
        )
        .await
    }
    async fn count_active_tokens(&self) -> Result<i64> {
        timed("count_active_tokens", self.0.count_active_tokens()).await
    }
    async fn list_results(
        &self,
        template_id: Uuid,
        batch_id: Option<Uuid>,
        limit: u32,
        after: Option<Cursor>,
    ) -> Result<ResultPage> {
        timed(
            "list_results",
            self.0.list_results(template_id, batch_id, limit, after),
        )
        .await
    }
    async fn create_batch(&self, batch: NewBatch) -> Result<CreateBatch> {
        timed("create_batch", self.0.create_batch(batch)).await
    }
    async fn get_batch(&self, id: Uuid) -> Result<Option<Batch>> {
        timed("get_batch", self.0.get_batch(id)).await
    }
    async fn batch_by_idempotency_key(&self, org_id: &str, key: &str) -> Result<Option<Batch>> {
        timed(
            "batch_by_idempotency_key",
            self.0.batch_by_idempotency_key(org_id, key),
        )
        .await
    }
    async fn list_batches(&self, query: &BatchQuery) -> Result<BatchPage> {
        timed("list_batches", self.0.list_batches(query)).await
    }
    async fn list_tasks(&self, query: &TaskQuery) -> Result<TaskPage> {
        timed("list_tasks", self.0.list_tasks(query)).await
    }
    async fn claim_tasks(&self, request: &ClaimRequest) -> Result<Vec<ClaimedTask>> {
        timed("claim_tasks", self.0.claim_tasks(request)).await
    }
    async fn renew_leases(
        &self,
        worker: Uuid,
        tasks: &[Uuid],
        until: DateTime<Utc>,
    ) -> Result<u64> {
        timed("renew_leases", self.0.renew_leases(worker, tasks, until)).await
    }
    async fn requeue_expired_tasks(&self, now: DateTime<Utc>) -> Result<u64> {
        timed("requeue_expired_tasks", self.0.requeue_expired_tasks(now)).await
    }
    async fn release_tasks(&self, worker: Uuid, now: DateTime<Utc>) -> Result<u64> {
        timed("release_tasks", self.0.release_tasks(worker, now)).await
    }
    async fn cancel_batch(&self, id: Uuid, now: DateTime<Utc>) -> Result<BatchChange> {
        timed("cancel_batch", self.0.cancel_batch(id, now)).await
    }
    async fn retry_failed_tasks(&self, id: Uuid, now: DateTime<Utc>) -> Result<BatchChange> {
        timed("retry_failed_tasks", self.0.retry_failed_tasks(id, now)).await
    }
    async fn open_task_counts(&self) -> Result<TaskCounts> {
        timed("open_task_counts", self.0.open_task_counts()).await
    }
    async fn create_schedule(&self, schedule: &Schedule) -> Result<()> {
        timed("create_schedule", self.0.create_schedule(schedule)).await
    }
    async fn get_schedule(&self, id: Uuid) -> Result<Option<Schedule>> {
        timed("get_schedule", self.0.get_schedule(id)).await
    }
    async fn list_schedules(
        &self,
        org_id: &str,
        workspace_id: Option<&str>,
        allowed: Option<&[String]>,
    ) -> Result<Vec<Schedule>> {
        timed(
            "list_schedules",
            self.0.list_schedules(org_id, workspace_id, allowed),
        )
        .await
    }
    async fn update_schedule(&self, schedule: &Schedule) -> Result<bool> {
        timed("update_schedule", self.0.update_schedule(schedule)).await
    }
    async fn delete_schedule(&self, id: Uuid) -> Result<bool> {
        timed("delete_schedule", self.0.delete_schedule(id)).await
    }
    async fn due_schedules(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<Schedule>> {
        timed("due_schedules", self.0.due_schedules(now, limit)).await
    }
    async fn record_schedule_fire(
        &self,
        id: Uuid,
        expected_next: DateTime<Utc>,
        fired: &ScheduleFired,
    ) -> Result<bool> {
        timed(
            "record_schedule_fire",
            self.0.record_schedule_fire(id, expected_next, fired),
        )
        .await
    }
    async fn put_alias_snapshot(&self, snapshot: &AliasSnapshot) -> Result<PutSnapshot> {
        timed("put_alias_snapshot", self.0.put_alias_snapshot(snapshot)).await
    }
    async fn current_alias_snapshot(
        &self,
        org_id: &str,
        workspace_id: &str,
    ) -> Result<Option<AliasSnapshot>> {
        timed(
            "current_alias_snapshot",
            self.0.current_alias_snapshot(org_id, workspace_id),
        )
        .await
    }
    async fn get_alias_snapshot(&self, id: Uuid) -> Result<Option<AliasSnapshot>> {
        timed("get_alias_snapshot", self.0.get_alias_snapshot(id)).await
    }
    async fn list_alias_snapshots(
        &self,
        org_id: &str,
        workspace_id: &str,
    ) -> Result<Vec<AliasSnapshot>> {
        timed(
            "list_alias_snapshots",
            self.0.list_alias_snapshots(org_id, workspace_id),
        )
        .await
    }
    async fn store_analyses(
        &self,
        rows: &[AnalysisRow],
        progress: Option<&JobProgress>,
    ) -> Result<Option<u64>> {
        timed("store_analyses", self.0.store_analyses(rows, progress)).await
    }
    async fn analyses_of(&self, result_ids: &[Uuid]) -> Result<Vec<StoredAnalysis>> {
        timed("analyses_of", self.0.analyses_of(result_ids)).await
    }
    async fn visibility_counts(&self, query: &CountQuery) -> Result<Vec<CountRow>> {
        timed("visibility_counts", self.0.visibility_counts(query)).await
    }
    async fn drift_events(
        &self,
        org_id: &str,
        workspace_id: &str,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> Result<Vec<DriftEvent>> {
        timed(
            "drift_events",
            self.0.drift_events(org_id, workspace_id, from, to),
        )
        .await
    }
    async fn scan_answers(&self, scan: &AnswerScan) -> Result<Vec<StoredAnswer>> {
        timed("scan_answers", self.0.scan_answers(scan)).await
    }
    async fn count_answers(&self, scan: &AnswerScan) -> Result<i64> {
        timed("count_answers", self.0.count_answers(scan)).await
    }
    async fn create_reanalysis(&self, job: &ReanalysisJob) -> Result<()> {
        timed("create_reanalysis", self.0.create_reanalysis(job)).await
    }
    async fn get_reanalysis(&self, id: Uuid) -> Result<Option<ReanalysisJob>> {
        timed("get_reanalysis", self.0.get_reanalysis(id)).await
    }
    async fn claim_reanalysis(
        &self,
        runner: Uuid,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<ReanalysisJob>> {
        timed(
            "claim_reanalysis",
            self.0.claim_reanalysis(runner, now, lease_until),
        )
        .await
    }
    async fn fail_reanalysis(
        &self,
        id: Uuid,
        runner: Uuid,
        error: &str,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        timed(
            "fail_reanalysis",
            self.0.fail_reanalysis(id, runner, error, at),
        )
        .await
    }
}
