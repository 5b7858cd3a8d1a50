//! PostgreSQL backend: production. Several `prompter serve` processes may share one database;
//! the partial unique index decides which of two concurrent identical creates wins, and the loser
//! reads the winner back after the index made it wait (READ COMMITTED gives each statement a fresh
//! snapshot, so the committed winner is visible).
//!
//! Modules: [`connection`] opens the pool, one module per kind of record ([`workspaces`],
//! [`templates`], [`runs`], [`tokens`]) holds its SQL, [`rows`] maps rows to records and
//! [`migrations`] applies the embedded migrations.

mod analysis;
mod batches;
mod connection;
mod hygiene;
mod migrations;
mod rows;
mod runs;
mod schedules;
mod templates;
mod tokens;
mod workspaces;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use prompter_domain::{OrgId, WorkspaceId};
use prompter_storage::columns::{near, queue};
use prompter_storage::{
    AliasSnapshot, AnalysisRow, AnswerScan, ApiToken, Backend, Batch, BatchChange, BatchPage,
    BatchQuery, ClaimRequest, ClaimedTask, CountQuery, CountRow, CreateBatch, CreateTemplate,
    Cursor, Database, DriftEvent, JobProgress, MigrationState, NewBatch, NewTemplate, NewToken,
    NewWorkspace, PutSnapshot, ReanalysisJob, RecordedRun, RestoreTemplate, Result, ResultPage,
    RunRecord, RunResult, Schedule, ScheduleFired, StoredAnalysis, StoredAnswer, TaskCounts,
    TaskPage, TaskQuery, Template, TemplateHead, TemplatePage, TemplateQuery, UpsertedVersion,
    Version, VersionObservation, Workspace,
};
use sqlx::postgres::PgPool;
use uuid::Uuid;

pub struct PostgresDatabase {
    pool: PgPool,
}

#[async_trait]
impl Database for PostgresDatabase {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }

    async fn migrate_up(&self) -> Result<Vec<i64>> {
        migrations::up(&self.pool).await
    }

    async fn migrate_down(&self, steps: usize) -> Result<Vec<i64>> {
        migrations::down(&self.pool, steps).await
    }

    async fn migration_status(&self) -> Result<Vec<MigrationState>> {
        migrations::status(&self.pool).await
    }

    async fn create_workspace(&self, ws: NewWorkspace) -> Result<Workspace> {
        workspaces::create(&self.pool, ws).await
    }

    async fn get_workspace(&self, org: &OrgId, id: &WorkspaceId) -> Result<Option<Workspace>> {
        workspaces::get(&self.pool, org, id).await
    }

    async fn list_workspaces(&self, org: &OrgId) -> Result<Vec<Workspace>> {
        workspaces::list(&self.pool, org).await
    }

    async fn list_organisations(&self) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(prompter_storage::columns::ORGANISATIONS)
            .fetch_all(&self.pool)
            .await?)
    }

    async fn create_template(&self, new: NewTemplate) -> Result<CreateTemplate> {
        templates::create(&self.pool, new).await
    }

    async fn find_active_duplicate(
        &self,
        org: &OrgId,
        workspace: &WorkspaceId,
        config_hash: &str,
    ) -> Result<Option<Template>> {
        templates::find_active_duplicate(&self.pool, org, workspace, config_hash).await
    }

    async fn find_twin_and_near(
        &self,
        org: &OrgId,
        workspace: &WorkspaceId,
        config_hash: &str,
        near_key: &str,
        limit: u32,
    ) -> Result<Vec<TemplateHead>> {
        let sql = queue::postgres(near::TWIN_AND_NEAR);
        let rows: Vec<(Uuid, String, String, String)> = sqlx::query_as(&sql)
            .bind(org.as_str())
            .bind(workspace.as_str())
            .bind(config_hash)
            .bind(near_key)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(
                |(id, name, config_hash, config_canonical_json)| TemplateHead {
                    id,
                    name,
                    config_hash,
                    config_canonical_json,
                },
            )
            .collect())
    }

    async fn templates_sharing_near_keys(
        &self,
        org: &OrgId,
        workspace: &WorkspaceId,
    ) -> Result<Vec<Template>> {
        let sql = queue::postgres(&near::sharing_near_keys());
        let rows = sqlx::query(&sql)
            .bind(org.as_str())
            .bind(workspace.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(rows::template_from_row).collect()
    }

    async fn templates_missing_near_key(&self, limit: u32) -> Result<Vec<(Uuid, String)>> {
        Ok(sqlx::query_as(&queue::postgres(near::MISSING))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?)
    }

    async fn set_near_keys(&self, keys: &[(Uuid, String)]) -> Result<u64> {
        let ids: Vec<Uuid> = keys.iter().map(|(id, _)| *id).collect();
        let values: Vec<&str> = keys.iter().map(|(_, k)| k.as_str()).collect();
        // One statement for the whole set: unnest pairs the two arrays row by row.
        let changed = sqlx::query(
            "UPDATE prompt_templates t SET near_key = k.key FROM unnest($1::uuid[], $2::text[]) \
             AS k(id, key) WHERE t.id = k.id",
        )
        .bind(&ids)
        .bind(&values)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(changed)
    }

    async fn apply_merge_plan(
        &self,
        plan: &prompter_storage::MergePlan,
    ) -> Result<prompter_storage::MergeApplied> {
        hygiene::apply_merge_plan(self, plan).await
    }

    async fn existing_ids(
        &self,
        table: prompter_storage::IdTable,
        ids: &[Uuid],
    ) -> Result<Vec<Uuid>> {
        hygiene::existing_ids(self, table, ids).await
    }

    async fn get_template(&self, id: Uuid) -> Result<Option<Template>> {
        templates::get(&self.pool, id).await
    }

    async fn list_templates(&self, query: &TemplateQuery) -> Result<TemplatePage> {
        templates::list(&self.pool, query).await
    }

    async fn soft_delete_template(&self, id: Uuid) -> Result<Option<Template>> {
        templates::soft_delete(&self.pool, id).await
    }

    async fn update_template_labels(
        &self,
        id: Uuid,
        name: Option<&str>,
        tags: Option<&[String]>,
    ) -> Result<Option<Template>> {
        sqlx::query(
            "UPDATE prompt_templates SET name = COALESCE($1, name), tags = COALESCE($2, tags) \
             WHERE id = $3",
        )
        .bind(name)
        .bind(tags.map(sqlx::types::Json))
        .bind(id)
        .execute(&self.pool)
        .await?;
        templates::get(&self.pool, id).await
    }

    async fn rename_workspace(
        &self,
        org: &OrgId,
        id: &WorkspaceId,
        name: &str,
    ) -> Result<Option<Workspace>> {
        sqlx::query("UPDATE workspaces SET name = $1 WHERE org_id = $2 AND id = $3")
            .bind(name)
            .bind(org.as_str())
            .bind(id.as_str())
            .execute(&self.pool)
            .await?;
        workspaces::get(&self.pool, org, id).await
    }

    async fn restore_template(&self, id: Uuid) -> Result<RestoreTemplate> {
        templates::restore(&self.pool, id).await
    }

    async fn upsert_version(&self, observation: &VersionObservation) -> Result<UpsertedVersion> {
        runs::upsert_version(&self.pool, observation).await
    }

    async fn list_versions(&self, template_id: Uuid) -> Result<Vec<Version>> {
        runs::list_versions(&self.pool, template_id).await
    }

    async fn latest_version(&self, template_id: Uuid) -> Result<Option<Version>> {
        runs::latest_version(&self.pool, template_id).await
    }

    async fn record_run(&self, record: RunRecord) -> Result<RecordedRun> {
        runs::record_run(&self.pool, record).await
    }

    async fn finish_run(&self, record: &RunRecord) -> Result<prompter_storage::FinishedRun> {
        runs::finish_run(&self.pool, record).await
    }

    async fn heartbeat_runs(
        &self,
        runner: Uuid,
        results: &[Uuid],
        at: DateTime<Utc>,
    ) -> Result<u64> {
        runs::heartbeat(&self.pool, runner, results, at).await
    }

    async fn interrupt_runs(
        &self,
        scope: prompter_storage::InterruptScope,
        error: &serde_json::Value,
    ) -> Result<u64> {
        runs::interrupt(&self.pool, scope, error).await
    }

    async fn get_result(&self, id: Uuid) -> Result<Option<RunResult>> {
        runs::get_result(&self.pool, id).await
    }

    async fn find_idempotent_result(
        &self,
        template_id: Uuid,
        key: &str,
        since: DateTime<Utc>,
    ) -> Result<Option<RunResult>> {
        runs::find_idempotent_result(&self.pool, template_id, key, since).await
    }

    async fn create_token(&self, token: NewToken) -> Result<ApiToken> {
        tokens::create(&self.pool, token).await
    }

    async fn list_tokens(&self) -> Result<Vec<ApiToken>> {
        tokens::list(&self.pool).await
    }

    async fn revoke_token(&self, id: Uuid) -> Result<bool> {
        tokens::revoke(&self.pool, id).await
    }

    async fn active_token_by_hash(&self, token_hash: &str) -> Result<Option<ApiToken>> {
        tokens::active_by_hash(&self.pool, token_hash).await
    }

    async fn count_active_tokens(&self) -> Result<i64> {
        tokens::count_active(&self.pool).await
    }

    async fn list_results(
        &self,
        template_id: Uuid,
        batch_id: Option<Uuid>,
        limit: u32,
        after: Option<Cursor>,
    ) -> Result<ResultPage> {
        runs::list_results(&self.pool, template_id, batch_id, limit, after).await
    }

    async fn create_batch(&self, batch: NewBatch) -> Result<CreateBatch> {
        batches::create(&self.pool, batch).await
    }

    async fn get_batch(&self, id: Uuid) -> Result<Option<Batch>> {
        batches::get(&self.pool, id).await
    }

    async fn batch_by_idempotency_key(&self, org_id: &str, key: &str) -> Result<Option<Batch>> {
        batches::by_key(&self.pool, org_id, key).await
    }

    async fn list_batches(&self, query: &BatchQuery) -> Result<BatchPage> {
        batches::list(&self.pool, query).await
    }

    async fn list_tasks(&self, query: &TaskQuery) -> Result<TaskPage> {
        batches::list_tasks(&self.pool, query).await
    }

    async fn claim_tasks(&self, request: &ClaimRequest) -> Result<Vec<ClaimedTask>> {
        batches::claim(&self.pool, request).await
    }

    async fn renew_leases(
        &self,
        worker: Uuid,
        tasks: &[Uuid],
        until: DateTime<Utc>,
    ) -> Result<u64> {
        batches::renew(&self.pool, worker, tasks, until).await
    }

    async fn requeue_expired_tasks(&self, now: DateTime<Utc>) -> Result<u64> {
        batches::requeue_expired(&self.pool, now).await
    }

    async fn release_tasks(&self, worker: Uuid, now: DateTime<Utc>) -> Result<u64> {
        batches::release(&self.pool, worker, now).await
    }

    async fn cancel_batch(&self, id: Uuid, now: DateTime<Utc>) -> Result<BatchChange> {
        batches::cancel(&self.pool, id, now).await
    }

    async fn retry_failed_tasks(&self, id: Uuid, now: DateTime<Utc>) -> Result<BatchChange> {
        batches::retry_failed(&self.pool, id, now).await
    }

    async fn open_task_counts(&self) -> Result<TaskCounts> {
        batches::open_counts(&self.pool).await
    }

    async fn create_schedule(&self, schedule: &Schedule) -> Result<()> {
        schedules::create(&self.pool, schedule).await
    }

    async fn get_schedule(&self, id: Uuid) -> Result<Option<Schedule>> {
        schedules::get(&self.pool, id).await
    }

    async fn list_schedules(
        &self,
        org_id: &str,
        workspace_id: Option<&str>,
        allowed: Option<&[String]>,
    ) -> Result<Vec<Schedule>> {
        schedules::list(&self.pool, org_id, workspace_id, allowed).await
    }

    async fn update_schedule(&self, schedule: &Schedule) -> Result<bool> {
        schedules::update(&self.pool, schedule).await
    }

    async fn delete_schedule(&self, id: Uuid) -> Result<bool> {
        schedules::delete(&self.pool, id).await
    }

    async fn due_schedules(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<Schedule>> {
        schedules::due(&self.pool, now, limit).await
    }

    async fn record_schedule_fire(
        &self,
        id: Uuid,
        expected_next: DateTime<Utc>,
        fired: &ScheduleFired,
    ) -> Result<bool> {
        schedules::record_fire(&self.pool, id, expected_next, fired).await
    }

    async fn put_alias_snapshot(&self, snapshot: &AliasSnapshot) -> Result<PutSnapshot> {
        analysis::put_snapshot(&self.pool, snapshot).await
    }

    async fn current_alias_snapshot(
        &self,
        org_id: &str,
        workspace_id: &str,
    ) -> Result<Option<AliasSnapshot>> {
        analysis::current_snapshot(&self.pool, org_id, workspace_id).await
    }

    async fn get_alias_snapshot(&self, id: Uuid) -> Result<Option<AliasSnapshot>> {
        analysis::get_snapshot(&self.pool, id).await
    }

    async fn list_alias_snapshots(
        &self,
        org_id: &str,
        workspace_id: &str,
    ) -> Result<Vec<AliasSnapshot>> {
        analysis::list_snapshots(&self.pool, org_id, workspace_id).await
    }

    async fn store_analyses(
        &self,
        rows: &[AnalysisRow],
        progress: Option<&JobProgress>,
    ) -> Result<Option<u64>> {
        analysis::store_analyses(&self.pool, rows, progress).await
    }

    async fn analyses_of(&self, result_ids: &[Uuid]) -> Result<Vec<StoredAnalysis>> {
        analysis::analyses_of(&self.pool, result_ids).await
    }

    async fn visibility_counts(&self, query: &CountQuery) -> Result<Vec<CountRow>> {
        analysis::counts(&self.pool, query).await
    }

    async fn drift_events(
        &self,
        org_id: &str,
        workspace_id: &str,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> Result<Vec<DriftEvent>> {
        analysis::drift(&self.pool, org_id, workspace_id, from, to).await
    }

    async fn scan_answers(&self, scan: &AnswerScan) -> Result<Vec<StoredAnswer>> {
        analysis::scan_answers(&self.pool, scan).await
    }

    async fn count_answers(&self, scan: &AnswerScan) -> Result<i64> {
        analysis::count_answers(&self.pool, scan).await
    }

    async fn create_reanalysis(&self, job: &ReanalysisJob) -> Result<()> {
        analysis::create_job(&self.pool, job).await
    }

    async fn get_reanalysis(&self, id: Uuid) -> Result<Option<ReanalysisJob>> {
        analysis::get_job(&self.pool, id).await
    }

    async fn claim_reanalysis(
        &self,
        runner: Uuid,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<ReanalysisJob>> {
        analysis::claim_job(&self.pool, runner, now, lease_until).await
    }

    async fn fail_reanalysis(
        &self,
        id: Uuid,
        runner: Uuid,
        error: &str,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        analysis::fail_job(&self.pool, id, runner, error, at).await
    }
}
