//! Rows to records and records to column values. SQLite has no uuid, timestamp or JSON types:
//! ids are text, timestamps fixed-width RFC 3339 text (so text order is time order) and JSON
//! columns text.

use chrono::{DateTime, Utc};
use prompter_storage::{
    json_from_text, timestamp, ApiToken, Batch, BatchStatus, BatchTask, Result, Role, RunResult,
    RunStatus, Schedule, StorageError, TaskCounts, TaskStatus, Template, Version, Workspace,
};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use uuid::Uuid;

pub(crate) fn json_text<T: serde::Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).expect("JSON values always serialise")
}

pub(crate) fn parse_ts(column: &str, text: &str) -> Result<DateTime<Utc>> {
    timestamp::parse(text)
        .ok_or_else(|| StorageError::internal(format!("column {column} holds a bad timestamp")))
}

pub(crate) fn parse_uuid(column: &str, text: &str) -> Result<Uuid> {
    Uuid::parse_str(text)
        .map_err(|e| StorageError::internal_with(format!("column {column} holds a bad uuid"), e))
}

pub(crate) fn template_from_row(row: &SqliteRow) -> Result<Template> {
    let json_opt = |column: &str| -> Result<Option<String>> { Ok(row.try_get(column)?) };
    let id: String = row.try_get("id")?;
    Ok(Template {
        id: Uuid::parse_str(&id).map_err(|e| StorageError::Internal(Box::new(e)))?,
        org_id: row.try_get("org_id")?,
        workspace_id: row.try_get("workspace_id")?,
        name: row.try_get("name")?,
        provider: row.try_get("provider")?,
        system_instructions: row.try_get("system_instructions")?,
        user_prompt_template: row.try_get("user_prompt_template")?,
        country_set: json_from_text("country_set", row.try_get("country_set")?)?,
        model_id: row.try_get("model_id")?,
        inference_params: json_from_text("inference_params", row.try_get("inference_params")?)?,
        tools_spec: json_opt("tools_spec")?
            .map(|t| json_from_text("tools_spec", &t))
            .transpose()?,
        response_format: json_opt("response_format")?
            .map(|t| json_from_text("response_format", &t))
            .transpose()?,
        grounding_profile_id: row.try_get("grounding_profile_id")?,
        grounding_snapshot_id: row.try_get("grounding_snapshot_id")?,
        retrieval_params: json_opt("retrieval_params")?
            .map(|t| json_from_text("retrieval_params", &t))
            .transpose()?,
        created_by: row.try_get("created_by")?,
        config_hash: row.try_get("config_hash")?,
        config_canonical_json: row.try_get("config_canonical_json")?,
        created_at: parse_ts("created_at", row.try_get("created_at")?)?,
        deleted_at: row
            .try_get::<Option<String>, _>("deleted_at")?
            .map(|t| parse_ts("deleted_at", &t))
            .transpose()?,
        tags: json_from_text("tags", row.try_get("tags")?)?,
        merged_into: row
            .try_get::<Option<String>, _>("merged_into")?
            .map(|id| Uuid::parse_str(&id).map_err(|e| StorageError::Internal(Box::new(e))))
            .transpose()?,
    })
}

pub(crate) fn workspace_from_row(row: &SqliteRow) -> Result<Workspace> {
    Ok(Workspace {
        id: row.try_get("id")?,
        org_id: row.try_get("org_id")?,
        name: row.try_get("name")?,
        created_at: parse_ts("created_at", row.try_get("created_at")?)?,
    })
}

pub(crate) fn version_from_row(row: &SqliteRow) -> Result<Version> {
    Ok(Version {
        id: parse_uuid("id", row.try_get("id")?)?,
        org_id: row.try_get("org_id")?,
        workspace_id: row.try_get("workspace_id")?,
        template_id: parse_uuid("template_id", row.try_get("template_id")?)?,
        provider: row.try_get("provider")?,
        provider_version_key: row.try_get("provider_version_key")?,
        model_id: row.try_get("model_id")?,
        response_model: row.try_get("response_model")?,
        system_fingerprint: row.try_get("system_fingerprint")?,
        provider_response_id: row.try_get("provider_response_id")?,
        fingerprint_captured_at: parse_ts(
            "fingerprint_captured_at",
            row.try_get("fingerprint_captured_at")?,
        )?,
        first_seen_at: parse_ts("first_seen_at", row.try_get("first_seen_at")?)?,
        last_seen_at: parse_ts("last_seen_at", row.try_get("last_seen_at")?)?,
    })
}

pub(crate) fn result_from_row(row: &SqliteRow) -> Result<RunResult> {
    let opt_json = |column: &str| -> Result<Option<serde_json::Value>> {
        row.try_get::<Option<String>, _>(column)?
            .map(|t| json_from_text(column, &t))
            .transpose()
    };
    let status: String = row.try_get("status")?;
    Ok(RunResult {
        id: parse_uuid("id", row.try_get("id")?)?,
        org_id: row.try_get("org_id")?,
        workspace_id: row.try_get("workspace_id")?,
        template_id: parse_uuid("template_id", row.try_get("template_id")?)?,
        version_id: row
            .try_get::<Option<String>, _>("version_id")?
            .map(|v| parse_uuid("version_id", &v))
            .transpose()?,
        provider: row.try_get("provider")?,
        model_id: row.try_get("model_id")?,
        provider_version_key: row.try_get("provider_version_key")?,
        system_fingerprint: row.try_get("system_fingerprint")?,
        request: json_from_text("request", row.try_get("request")?)?,
        response: json_from_text("response", row.try_get("response")?)?,
        answer: row.try_get("answer")?,
        analysis_config: opt_json("analysis_config")?.unwrap_or(serde_json::Value::Null),
        rendered_prompt_hash: row
            .try_get::<Option<String>, _>("rendered_prompt_hash")?
            .unwrap_or_default(),
        run_country: row.try_get("run_country")?,
        used_grounding: row.try_get("used_grounding")?,
        status: RunStatus::parse(&status)
            .ok_or_else(|| StorageError::internal(format!("unknown run status {status:?}")))?,
        error: opt_json("error")?,
        latency_ms: row.try_get("latency_ms")?,
        usage: opt_json("usage")?,
        is_fake: row.try_get("is_fake")?,
        idempotency_key: row.try_get("idempotency_key")?,
        request_hash: row.try_get("request_hash")?,
        runner_id: row
            .try_get::<Option<String>, _>("runner_id")?
            .map(|v| parse_uuid("runner_id", &v))
            .transpose()?,
        batch_id: opt_uuid(row, "batch_id")?,
        task_id: opt_uuid(row, "task_id")?,
        sample_index: row.try_get("sample_index")?,
        finish_reason: row.try_get("finish_reason")?,
        truncated: row.try_get("truncated")?,
        reasoning: row.try_get("reasoning")?,
        citations: opt_json("citations")?,
        created_at: parse_ts("created_at", row.try_get("created_at")?)?,
    })
}

pub(crate) fn token_from_row(row: &SqliteRow) -> Result<ApiToken> {
    let role: String = row.try_get("role")?;
    Ok(ApiToken {
        id: parse_uuid("id", row.try_get("id")?)?,
        org_id: row.try_get("org_id")?,
        workspaces: row
            .try_get::<Option<String>, _>("workspaces")?
            .map(|t| json_from_text("workspaces", &t))
            .transpose()?,
        role: Role::parse(&role)
            .ok_or_else(|| StorageError::internal(format!("unknown role {role:?}")))?,
        label: row.try_get("label")?,
        created_at: parse_ts("created_at", row.try_get("created_at")?)?,
        revoked_at: row
            .try_get::<Option<String>, _>("revoked_at")?
            .map(|t| parse_ts("revoked_at", &t))
            .transpose()?,
    })
}

pub(crate) fn opt_uuid(row: &SqliteRow, column: &str) -> Result<Option<Uuid>> {
    row.try_get::<Option<String>, _>(column)?
        .map(|v| parse_uuid(column, &v))
        .transpose()
}

pub(crate) fn opt_ts(row: &SqliteRow, column: &str) -> Result<Option<DateTime<Utc>>> {
    row.try_get::<Option<String>, _>(column)?
        .map(|t| parse_ts(column, &t))
        .transpose()
}

pub(crate) fn batch_from_row(row: &SqliteRow) -> Result<Batch> {
    let status: String = row.try_get("status")?;
    Ok(Batch {
        id: parse_uuid("id", row.try_get("id")?)?,
        org_id: row.try_get("org_id")?,
        workspace_id: row.try_get("workspace_id")?,
        schedule_id: opt_uuid(row, "schedule_id")?,
        idempotency_key: row.try_get("idempotency_key")?,
        request_hash: row.try_get("request_hash")?,
        params: json_from_text("params", row.try_get("params")?)?,
        skipped: json_from_text("skipped", row.try_get("skipped")?)?,
        max_concurrency: row.try_get("max_concurrency")?,
        token_budget: row.try_get("token_budget")?,
        status: BatchStatus::parse(&status)
            .ok_or_else(|| StorageError::internal(format!("unknown batch status {status:?}")))?,
        total_tasks: row.try_get("total_tasks")?,
        counts: TaskCounts {
            pending: row.try_get("pending_tasks")?,
            running: row.try_get("running_tasks")?,
            succeeded: row.try_get("succeeded_tasks")?,
            failed: row.try_get("failed_tasks")?,
            cancelled: row.try_get("cancelled_tasks")?,
        },
        prompt_tokens: row.try_get("prompt_tokens")?,
        completion_tokens: row.try_get("completion_tokens")?,
        created_by: row.try_get("created_by")?,
        created_at: parse_ts("created_at", row.try_get("created_at")?)?,
        started_at: opt_ts(row, "started_at")?,
        finished_at: opt_ts(row, "finished_at")?,
    })
}

pub(crate) fn task_from_row(row: &SqliteRow) -> Result<BatchTask> {
    let status: String = row.try_get("status")?;
    Ok(BatchTask {
        id: parse_uuid("id", row.try_get("id")?)?,
        batch_id: parse_uuid("batch_id", row.try_get("batch_id")?)?,
        template_id: parse_uuid("template_id", row.try_get("template_id")?)?,
        country: row.try_get("country")?,
        sample_index: row.try_get("sample_index")?,
        status: TaskStatus::parse(&status)
            .ok_or_else(|| StorageError::internal(format!("unknown task status {status:?}")))?,
        attempts: row.try_get("attempts")?,
        available_at: parse_ts("available_at", row.try_get("available_at")?)?,
        result_id: opt_uuid(row, "result_id")?,
        last_error: row
            .try_get::<Option<String>, _>("last_error")?
            .map(|t| json_from_text("last_error", &t))
            .transpose()?,
        updated_at: parse_ts("updated_at", row.try_get("updated_at")?)?,
    })
}

pub(crate) fn schedule_from_row(row: &SqliteRow) -> Result<Schedule> {
    Ok(Schedule {
        id: parse_uuid("id", row.try_get("id")?)?,
        org_id: row.try_get("org_id")?,
        workspace_id: row.try_get("workspace_id")?,
        name: row.try_get("name")?,
        cron: row.try_get("cron")?,
        timezone: row.try_get("timezone")?,
        batch: json_from_text("batch", row.try_get("batch")?)?,
        enabled: row.try_get("enabled")?,
        next_run_at: opt_ts(row, "next_run_at")?,
        last_slot: opt_ts(row, "last_slot")?,
        last_batch_id: opt_uuid(row, "last_batch_id")?,
        last_error: row
            .try_get::<Option<String>, _>("last_error")?
            .map(|t| json_from_text("last_error", &t))
            .transpose()?,
        created_by: row.try_get("created_by")?,
        created_at: parse_ts("created_at", row.try_get("created_at")?)?,
        updated_at: parse_ts("updated_at", row.try_get("updated_at")?)?,
    })
}
