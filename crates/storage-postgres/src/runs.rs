//! Provider versions and run results.

use chrono::{DateTime, Utc};
use prompter_storage::columns::{RESULT_COLUMNS, RESULT_OUTCOME_COLUMNS, VERSION_COLUMNS};
use prompter_storage::{
    fetch_limit, write_finish, write_run, Cursor, FinishedRun, InterruptScope, RecordedRun, Result,
    ResultPage, RunRecord, RunResult, RunSteps, RunWrite, StorageError, TaskUpdate,
    UpsertedVersion, Version, VersionObservation,
};
use sqlx::postgres::PgPool;
use sqlx::types::Json;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::rows::{result_from_row, version_from_row};

pub(crate) async fn record_run(pool: &PgPool, record: RunRecord) -> Result<RecordedRun> {
    let mut tx = pool.begin().await?;
    match write_run(&mut RunTx(&mut tx), record).await? {
        // Nothing was written: the transaction is dropped, i.e. rolled back.
        RunWrite::Replay(first) => Ok(RecordedRun::IdempotentReplay(first)),
        RunWrite::Recorded { result, version } => {
            tx.commit().await?;
            Ok(RecordedRun::Recorded { result, version })
        }
        RunWrite::KeyTaken(result) => {
            // A concurrent run with the same idempotency key committed first.
            tx.rollback().await?;
            let key = result.idempotency_key.as_deref().unwrap_or_default();
            let mut conn = pool.acquire().await?;
            match idempotent_result(&mut conn, result.template_id, key).await? {
                Some(first) => Ok(RecordedRun::IdempotentReplay(first)),
                None => Err(StorageError::internal(format!(
                    "result {} was refused but no idempotent twin exists",
                    result.id
                ))),
            }
        }
    }
}

/// Version upsert and result update of a run's outcome, in one transaction.
pub(crate) async fn finish_run(pool: &PgPool, record: &RunRecord) -> Result<FinishedRun> {
    let mut tx = pool.begin().await?;
    let finished = write_finish(&mut RunTx(&mut tx), record).await?;
    tx.commit().await?;
    Ok(finished)
}

/// Renews the heartbeat of `runner`'s running results.
pub(crate) async fn heartbeat(
    pool: &PgPool,
    runner: Uuid,
    results: &[Uuid],
    at: DateTime<Utc>,
) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE prompt_results SET heartbeat_at = $1 WHERE status = 'running' AND runner_id = $2 \
         AND id = ANY($3)",
    )
    .bind(at)
    .bind(runner)
    .bind(results)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// Marks running results failed with `error`. Concurrent sweeps of several replicas update each
/// row once (the second finds it no longer running).
pub(crate) async fn interrupt(
    pool: &PgPool,
    scope: InterruptScope,
    error: &serde_json::Value,
) -> Result<u64> {
    const SET: &str = "UPDATE prompt_results SET status = 'failed', error = $1,         runner_id = NULL, heartbeat_at = NULL WHERE status = 'running'";
    let done = match scope {
        InterruptScope::Runner(id) => {
            sqlx::query(&format!("{SET} AND runner_id = $2"))
                .bind(Json(error))
                .bind(id)
                .execute(pool)
                .await?
        }
        InterruptScope::StaleBefore(t) => {
            sqlx::query(&format!("{SET} AND heartbeat_at < $2"))
                .bind(Json(error))
                .bind(t)
                .execute(pool)
                .await?
        }
    };
    Ok(done.rows_affected())
}

/// The statements of a run, on one transaction.
struct RunTx<'c>(&'c mut PgConnection);

#[async_trait::async_trait]
impl RunSteps for RunTx<'_> {
    async fn idempotent_result(
        &mut self,
        template_id: Uuid,
        key: &str,
    ) -> Result<Option<RunResult>> {
        idempotent_result(self.0, template_id, key).await
    }

    async fn upsert_version(&mut self, o: &VersionObservation) -> Result<UpsertedVersion> {
        upsert_version_on(self.0, o).await
    }

    /// `ON CONFLICT DO NOTHING`: the partial unique index on `(template_id, idempotency_key)`
    /// refuses a second result for a key; the caller then reads the first.
    async fn insert_result(&mut self, result: &RunResult) -> Result<bool> {
        let inserted = sqlx::query(&format!(
            "INSERT INTO prompt_results ({RESULT_COLUMNS}, heartbeat_at) VALUES ($1, $2, $3, $4, \
             $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, \
             $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33) ON CONFLICT DO NOTHING"
        ))
        .bind(result.id)
        .bind(&result.org_id)
        .bind(&result.workspace_id)
        .bind(result.template_id)
        .bind(result.version_id)
        .bind(&result.provider)
        .bind(&result.model_id)
        .bind(&result.provider_version_key)
        .bind(&result.system_fingerprint)
        .bind(Json(&result.request))
        .bind(Json(&result.response))
        .bind(&result.answer)
        .bind(Json(&result.analysis_config))
        .bind(&result.rendered_prompt_hash)
        .bind(&result.run_country)
        .bind(result.used_grounding)
        .bind(result.status.as_str())
        .bind(result.error.as_ref().map(Json))
        .bind(result.latency_ms)
        .bind(result.usage.as_ref().map(Json))
        .bind(result.is_fake)
        .bind(&result.idempotency_key)
        .bind(&result.request_hash)
        .bind(result.created_at)
        .bind(result.runner_id)
        .bind(result.batch_id)
        .bind(result.task_id)
        .bind(result.sample_index)
        .bind(&result.finish_reason)
        .bind(result.truncated)
        .bind(&result.reasoning)
        .bind(result.citations.as_ref().map(Json))
        // A running row's heartbeat starts with it.
        .bind(result.runner_id.map(|_| result.created_at))
        .execute(&mut *self.0)
        .await?
        .rows_affected();
        Ok(inserted == 1)
    }

    async fn update_outcome(
        &mut self,
        r: &RunResult,
        version_id: Option<Uuid>,
        provider_version_key: Option<&str>,
    ) -> Result<bool> {
        let sets: Vec<String> = RESULT_OUTCOME_COLUMNS
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c} = ${}", i + 2))
            .collect();
        let sql = format!(
            "UPDATE prompt_results SET {}, runner_id = NULL, heartbeat_at = NULL \
             WHERE id = $1 AND status <> 'succeeded'",
            sets.join(", ")
        );
        let done = sqlx::query(&sql)
            .bind(r.id)
            .bind(version_id)
            .bind(provider_version_key)
            .bind(&r.system_fingerprint)
            .bind(Json(&r.request))
            .bind(Json(&r.response))
            .bind(&r.answer)
            .bind(r.used_grounding)
            .bind(r.status.as_str())
            .bind(r.error.as_ref().map(Json))
            .bind(r.latency_ms)
            .bind(r.usage.as_ref().map(Json))
            .bind(r.is_fake)
            .bind(&r.finish_reason)
            .bind(r.truncated)
            .bind(&r.reasoning)
            .bind(r.citations.as_ref().map(Json))
            .execute(&mut *self.0)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn succeeded_twin(&mut self, task_id: Uuid, result_id: Uuid) -> Result<Option<Uuid>> {
        crate::batches::succeeded_twin(self.0, task_id, result_id).await
    }

    async fn update_task(
        &mut self,
        update: &TaskUpdate,
        result_id: Uuid,
    ) -> Result<Option<prompter_storage::Batch>> {
        crate::batches::update_task(self.0, update, result_id).await
    }

    async fn insert_analysis(&mut self, row: &prompter_storage::AnalysisRow) -> Result<bool> {
        Ok(crate::analysis::write_analyses(self.0, std::slice::from_ref(row)).await? == 1)
    }

    async fn result_by_id(&mut self, id: Uuid) -> Result<Option<RunResult>> {
        let sql = format!("SELECT {RESULT_COLUMNS} FROM prompt_results WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&mut *self.0)
            .await?;
        row.as_ref().map(result_from_row).transpose()
    }
}

pub(crate) async fn upsert_version(
    pool: &PgPool,
    observation: &VersionObservation,
) -> Result<UpsertedVersion> {
    let mut conn = pool.acquire().await?;
    upsert_version_on(&mut conn, observation).await
}

/// Inserts or refreshes a version row; the unique index on
/// `(org_id, workspace_id, template_id, provider_version_key)` makes concurrent upserts meet:
/// the second waits for the first and then updates the row the first inserted.
async fn upsert_version_on(
    conn: &mut PgConnection,
    o: &VersionObservation,
) -> Result<UpsertedVersion> {
    let new_id = Uuid::now_v7();
    let sql = format!(
        "INSERT INTO prompt_versions AS v ({VERSION_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $11) \
         ON CONFLICT (org_id, workspace_id, template_id, provider_version_key) DO UPDATE SET \
         last_seen_at = GREATEST(v.last_seen_at, EXCLUDED.last_seen_at), \
         response_model = COALESCE(EXCLUDED.response_model, v.response_model), \
         system_fingerprint = COALESCE(EXCLUDED.system_fingerprint, v.system_fingerprint), \
         provider_response_id = COALESCE(EXCLUDED.provider_response_id, v.provider_response_id) \
         RETURNING {VERSION_COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(new_id)
        .bind(&o.org_id)
        .bind(&o.workspace_id)
        .bind(o.template_id)
        .bind(&o.provider)
        .bind(&o.provider_version_key)
        .bind(&o.model_id)
        .bind(&o.response_model)
        .bind(&o.system_fingerprint)
        .bind(&o.provider_response_id)
        .bind(o.seen_at)
        .fetch_one(conn)
        .await?;
    let version = version_from_row(&row)?;
    Ok(UpsertedVersion {
        created: version.id == new_id,
        version,
    })
}

pub(crate) async fn list_versions(pool: &PgPool, template_id: Uuid) -> Result<Vec<Version>> {
    let sql = format!(
        "SELECT {VERSION_COLUMNS} FROM prompt_versions WHERE template_id = $1 \
         ORDER BY first_seen_at DESC, id DESC"
    );
    let rows = sqlx::query(&sql).bind(template_id).fetch_all(pool).await?;
    rows.iter().map(version_from_row).collect()
}

pub(crate) async fn latest_version(pool: &PgPool, template_id: Uuid) -> Result<Option<Version>> {
    let sql = format!(
        "SELECT {VERSION_COLUMNS} FROM prompt_versions WHERE template_id = $1 \
         ORDER BY last_seen_at DESC, id DESC LIMIT 1"
    );
    let row = sqlx::query(&sql)
        .bind(template_id)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(version_from_row).transpose()
}

pub(crate) async fn get_result(pool: &PgPool, id: Uuid) -> Result<Option<RunResult>> {
    let sql = format!("SELECT {RESULT_COLUMNS} FROM prompt_results WHERE id = $1");
    let row = sqlx::query(&sql).bind(id).fetch_optional(pool).await?;
    row.as_ref().map(result_from_row).transpose()
}

pub(crate) async fn find_idempotent_result(
    pool: &PgPool,
    template_id: Uuid,
    key: &str,
    since: DateTime<Utc>,
) -> Result<Option<RunResult>> {
    let mut conn = pool.acquire().await?;
    Ok(idempotent_result(&mut conn, template_id, key)
        .await?
        .filter(|r| r.created_at >= since))
}

async fn idempotent_result(
    conn: &mut PgConnection,
    template_id: Uuid,
    key: &str,
) -> Result<Option<RunResult>> {
    let sql = format!(
        "SELECT {RESULT_COLUMNS} FROM prompt_results WHERE template_id = $1 AND idempotency_key = $2"
    );
    let row = sqlx::query(&sql)
        .bind(template_id)
        .bind(key)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(result_from_row).transpose()
}

pub(crate) async fn list_results(
    pool: &PgPool,
    template_id: Uuid,
    batch_id: Option<Uuid>,
    limit: u32,
    after: Option<Cursor>,
) -> Result<ResultPage> {
    let mut sql = QueryBuilder::<Postgres>::new(format!(
        "SELECT {RESULT_COLUMNS} FROM prompt_results WHERE template_id = "
    ));
    sql.push_bind(template_id);
    if let Some(batch_id) = batch_id {
        sql.push(" AND batch_id = ").push_bind(batch_id);
    }
    if let Some(after) = after {
        sql.push(" AND (created_at, id) < (")
            .push_bind(after.created_at)
            .push(", ")
            .push_bind(after.id)
            .push(")");
    }
    sql.push(" ORDER BY created_at DESC, id DESC LIMIT ")
        .push_bind(fetch_limit(limit));
    let rows = sql.build().fetch_all(pool).await?;
    let items = rows
        .iter()
        .map(result_from_row)
        .collect::<Result<Vec<_>>>()?;
    Ok(prompter_storage::result_page(items, limit))
}
