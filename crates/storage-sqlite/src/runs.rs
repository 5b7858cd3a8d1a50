//! Provider versions and run results. `record_run` goes through the write queue, which applies
//! [`insert`] in its batch transaction.

use chrono::{DateTime, Utc};
use prompter_storage::columns::{RESULT_COLUMNS, RESULT_OUTCOME_COLUMNS, VERSION_COLUMNS};
use prompter_storage::{
    fetch_limit, timestamp, write_finish, write_run, Cursor, FinishedRun, InterruptScope,
    RecordedRun, Result, ResultPage, RunRecord, RunResult, RunSteps, RunWrite, StorageError,
    TaskUpdate, UpsertedVersion, Version, VersionObservation,
};
use sqlx::sqlite::SqlitePool;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};
use uuid::Uuid;

use crate::rows::{json_text, result_from_row, version_from_row};

/// Version upsert and result insert, inside the caller's transaction.
pub(crate) async fn insert(
    conn: &mut SqliteConnection,
    record: &RunRecord,
) -> Result<Result<RecordedRun>> {
    Ok(match write_run(&mut RunTx(conn), record.clone()).await? {
        RunWrite::Replay(first) => Ok(RecordedRun::IdempotentReplay(first)),
        RunWrite::Recorded { result, version } => Ok(RecordedRun::Recorded { result, version }),
        // The one writer checks the key and inserts in the same transaction, and without
        // `ON CONFLICT` the insert fails rather than being refused: not reached.
        RunWrite::KeyTaken(result) => Err(StorageError::internal(format!(
            "result {} was refused by the idempotency index",
            result.id
        ))),
    })
}

/// Version upsert and result update of a run's outcome, inside the caller's transaction.
pub(crate) async fn finish(conn: &mut SqliteConnection, record: &RunRecord) -> Result<FinishedRun> {
    write_finish(&mut RunTx(conn), record).await
}

/// Renews the heartbeat of `runner`'s running results.
pub(crate) async fn heartbeat(
    writer: &SqlitePool,
    runner: Uuid,
    results: &[Uuid],
    at: DateTime<Utc>,
) -> Result<u64> {
    let ids: Vec<String> = results.iter().map(Uuid::to_string).collect();
    let done = sqlx::query(
        "UPDATE prompt_results SET heartbeat_at = ?1 WHERE status = 'running' AND runner_id = ?2 \
         AND id IN (SELECT value FROM json_each(?3))",
    )
    .bind(timestamp::format(&at))
    .bind(runner.to_string())
    .bind(json_text(&ids))
    .execute(writer)
    .await?;
    Ok(done.rows_affected())
}

/// Marks running results failed with `error`.
pub(crate) async fn interrupt(
    writer: &SqlitePool,
    scope: InterruptScope,
    error: &serde_json::Value,
) -> Result<u64> {
    let (condition, value) = match scope {
        InterruptScope::Runner(id) => ("runner_id = ?2", id.to_string()),
        InterruptScope::StaleBefore(t) => ("heartbeat_at < ?2", timestamp::format(&t)),
    };
    let sql = format!(
        "UPDATE prompt_results SET status = 'failed', error = ?1, runner_id = NULL,          heartbeat_at = NULL WHERE status = 'running' AND {condition}"
    );
    let done = sqlx::query(&sql)
        .bind(json_text(error))
        .bind(value)
        .execute(writer)
        .await?;
    Ok(done.rows_affected())
}

/// The statements of a run, on the writer's transaction.
struct RunTx<'c>(&'c mut SqliteConnection);

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

    async fn insert_result(&mut self, result: &RunResult) -> Result<bool> {
        let done = sqlx::query(&format!(
            "INSERT INTO prompt_results ({RESULT_COLUMNS}, heartbeat_at) VALUES (?1, ?2, ?3, ?4, \
             ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, \
             ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33)"
        ))
        .bind(result.id.to_string())
        .bind(&result.org_id)
        .bind(&result.workspace_id)
        .bind(result.template_id.to_string())
        .bind(result.version_id.map(|v| v.to_string()))
        .bind(&result.provider)
        .bind(&result.model_id)
        .bind(&result.provider_version_key)
        .bind(&result.system_fingerprint)
        .bind(json_text(&result.request))
        .bind(json_text(&result.response))
        .bind(&result.answer)
        .bind(json_text(&result.analysis_config))
        .bind(&result.rendered_prompt_hash)
        .bind(&result.run_country)
        .bind(result.used_grounding)
        .bind(result.status.as_str())
        .bind(result.error.as_ref().map(json_text))
        .bind(result.latency_ms)
        .bind(result.usage.as_ref().map(json_text))
        .bind(result.is_fake)
        .bind(&result.idempotency_key)
        .bind(&result.request_hash)
        .bind(timestamp::format(&result.created_at))
        .bind(result.runner_id.map(|r| r.to_string()))
        .bind(result.batch_id.map(|r| r.to_string()))
        .bind(result.task_id.map(|r| r.to_string()))
        .bind(result.sample_index)
        .bind(&result.finish_reason)
        .bind(result.truncated)
        .bind(&result.reasoning)
        .bind(result.citations.as_ref().map(json_text))
        // A running row's heartbeat starts with it.
        .bind(
            result
                .runner_id
                .map(|_| timestamp::format(&result.created_at)),
        )
        .execute(&mut *self.0)
        .await?;
        Ok(done.rows_affected() == 1)
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
            .map(|(i, c)| format!("{c} = ?{}", i + 2))
            .collect();
        let sql = format!(
            "UPDATE prompt_results SET {}, runner_id = NULL, heartbeat_at = NULL \
             WHERE id = ?1 AND status <> 'succeeded'",
            sets.join(", ")
        );
        let done = sqlx::query(&sql)
            .bind(r.id.to_string())
            .bind(version_id.map(|v| v.to_string()))
            .bind(provider_version_key)
            .bind(&r.system_fingerprint)
            .bind(json_text(&r.request))
            .bind(json_text(&r.response))
            .bind(&r.answer)
            .bind(r.used_grounding)
            .bind(r.status.as_str())
            .bind(r.error.as_ref().map(json_text))
            .bind(r.latency_ms)
            .bind(r.usage.as_ref().map(json_text))
            .bind(r.is_fake)
            .bind(&r.finish_reason)
            .bind(r.truncated)
            .bind(&r.reasoning)
            .bind(r.citations.as_ref().map(json_text))
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
        let sql = format!("SELECT {RESULT_COLUMNS} FROM prompt_results WHERE id = ?1");
        let row = sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_optional(&mut *self.0)
            .await?;
        row.as_ref().map(result_from_row).transpose()
    }
}

pub(crate) async fn upsert_version(
    writer: &SqlitePool,
    observation: &VersionObservation,
) -> Result<UpsertedVersion> {
    let mut conn = writer.acquire().await?;
    upsert_version_on(&mut conn, observation).await
}

/// Inserts or refreshes a version row; the unique index on
/// `(org_id, workspace_id, template_id, provider_version_key)` makes concurrent upserts meet.
async fn upsert_version_on(
    conn: &mut SqliteConnection,
    o: &VersionObservation,
) -> Result<UpsertedVersion> {
    let new_id = Uuid::now_v7();
    let seen = timestamp::format(&o.seen_at);
    let sql = format!(
        "INSERT INTO prompt_versions ({VERSION_COLUMNS}) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11, ?11) \
         ON CONFLICT (org_id, workspace_id, template_id, provider_version_key) DO UPDATE SET \
         last_seen_at = max(last_seen_at, excluded.last_seen_at), \
         response_model = coalesce(excluded.response_model, response_model), \
         system_fingerprint = coalesce(excluded.system_fingerprint, system_fingerprint), \
         provider_response_id = coalesce(excluded.provider_response_id, provider_response_id) \
         RETURNING {VERSION_COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(new_id.to_string())
        .bind(&o.org_id)
        .bind(&o.workspace_id)
        .bind(o.template_id.to_string())
        .bind(&o.provider)
        .bind(&o.provider_version_key)
        .bind(&o.model_id)
        .bind(&o.response_model)
        .bind(&o.system_fingerprint)
        .bind(&o.provider_response_id)
        .bind(&seen)
        .fetch_one(conn)
        .await?;
    let version = version_from_row(&row)?;
    Ok(UpsertedVersion {
        created: version.id == new_id,
        version,
    })
}

pub(crate) async fn list_versions(reader: &SqlitePool, template_id: Uuid) -> Result<Vec<Version>> {
    let sql = format!(
        "SELECT {VERSION_COLUMNS} FROM prompt_versions WHERE template_id = ?1 \
         ORDER BY first_seen_at DESC, id DESC"
    );
    let rows = sqlx::query(&sql)
        .bind(template_id.to_string())
        .fetch_all(reader)
        .await?;
    rows.iter().map(version_from_row).collect()
}

pub(crate) async fn latest_version(
    reader: &SqlitePool,
    template_id: Uuid,
) -> Result<Option<Version>> {
    let sql = format!(
        "SELECT {VERSION_COLUMNS} FROM prompt_versions WHERE template_id = ?1 \
         ORDER BY last_seen_at DESC, id DESC LIMIT 1"
    );
    let row = sqlx::query(&sql)
        .bind(template_id.to_string())
        .fetch_optional(reader)
        .await?;
    row.as_ref().map(version_from_row).transpose()
}

pub(crate) async fn get_result(reader: &SqlitePool, id: Uuid) -> Result<Option<RunResult>> {
    let sql = format!("SELECT {RESULT_COLUMNS} FROM prompt_results WHERE id = ?1");
    let row = sqlx::query(&sql)
        .bind(id.to_string())
        .fetch_optional(reader)
        .await?;
    row.as_ref().map(result_from_row).transpose()
}

pub(crate) async fn find_idempotent_result(
    reader: &SqlitePool,
    template_id: Uuid,
    key: &str,
    since: DateTime<Utc>,
) -> Result<Option<RunResult>> {
    let mut conn = reader.acquire().await?;
    Ok(idempotent_result(&mut conn, template_id, key)
        .await?
        .filter(|r| r.created_at >= since))
}

async fn idempotent_result(
    conn: &mut SqliteConnection,
    template_id: Uuid,
    key: &str,
) -> Result<Option<RunResult>> {
    let sql = format!(
        "SELECT {RESULT_COLUMNS} FROM prompt_results WHERE template_id = ?1 AND idempotency_key = ?2"
    );
    let row = sqlx::query(&sql)
        .bind(template_id.to_string())
        .bind(key)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(result_from_row).transpose()
}

pub(crate) async fn list_results(
    reader: &SqlitePool,
    template_id: Uuid,
    batch_id: Option<Uuid>,
    limit: u32,
    after: Option<Cursor>,
) -> Result<ResultPage> {
    let mut sql = QueryBuilder::<Sqlite>::new(format!(
        "SELECT {RESULT_COLUMNS} FROM prompt_results WHERE template_id = "
    ));
    sql.push_bind(template_id.to_string());
    if let Some(batch_id) = batch_id {
        sql.push(" AND batch_id = ").push_bind(batch_id.to_string());
    }
    if let Some(after) = after {
        sql.push(" AND (created_at, id) < (")
            .push_bind(timestamp::format(&after.created_at))
            .push(", ")
            .push_bind(after.id.to_string())
            .push(")");
    }
    sql.push(" ORDER BY created_at DESC, id DESC LIMIT ")
        .push_bind(fetch_limit(limit));
    let rows = sql.build().fetch_all(reader).await?;
    let items = rows
        .iter()
        .map(result_from_row)
        .collect::<Result<Vec<_>>>()?;
    Ok(prompter_storage::result_page(items, limit))
}
