//! Rows to records. PostgreSQL has the types: uuid, timestamptz and JSONB map directly.

use prompter_storage::{
    ApiToken, Batch, BatchStatus, BatchTask, Result, Role, RunResult, RunStatus, Schedule,
    StorageError, TaskCounts, TaskStatus, Template, Version, Workspace,
};
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::Row;

pub(crate) fn template_from_row(row: &PgRow) -> Result<Template> {
    fn json<T: serde::de::DeserializeOwned>(row: &PgRow, column: &str) -> Result<T> {
        Ok(row.try_get::<Json<T>, _>(column)?.0)
    }
    fn json_opt<T: serde::de::DeserializeOwned>(row: &PgRow, column: &str) -> Result<Option<T>> {
        Ok(row.try_get::<Option<Json<T>>, _>(column)?.map(|j| j.0))
    }
    Ok(Template {
        id: row.try_get("id")?,
        org_id: row.try_get("org_id")?,
        workspace_id: row.try_get("workspace_id")?,
        name: row.try_get("name")?,
        provider: row.try_get("provider")?,
        system_instructions: row.try_get("system_instructions")?,
        user_prompt_template: row.try_get("user_prompt_template")?,
        country_set: json(row, "country_set")?,
        model_id: row.try_get("model_id")?,
        inference_params: json(row, "inference_params")?,
        tools_spec: json_opt(row, "tools_spec")?,
        response_format: json_opt(row, "response_format")?,
        grounding_profile_id: row.try_get("grounding_profile_id")?,
        grounding_snapshot_id: row.try_get("grounding_snapshot_id")?,
        retrieval_params: json_opt(row, "retrieval_params")?,
        created_by: row.try_get("created_by")?,
        config_hash: row.try_get("config_hash")?,
        config_canonical_json: row.try_get("config_canonical_json")?,
        created_at: row.try_get("created_at")?,
        deleted_at: row.try_get("deleted_at")?,
        tags: row.try_get::<Json<Vec<String>>, _>("tags")?.0,
        merged_into: row.try_get("merged_into")?,
    })
}

pub(crate) fn workspace_from_row(row: &PgRow) -> Result<Workspace> {
    Ok(Workspace {
        id: row.try_get("id")?,
        org_id: row.try_get("org_id")?,
        name: row.try_get("name")?,
        created_at: row.try_get("created_at")?,
    })
}

pub(crate) fn version_from_row(row: &PgRow) -> Result<Version> {
    Ok(Version {
        id: row.try_get("id")?,
        org_id: row.try_get("org_id")?,
        workspace_id: row.try_get("workspace_id")?,
        template_id: row.try_get("template_id")?,
        provider: row.try_get("provider")?,
        provider_version_key: row.try_get("provider_version_key")?,
        model_id: row.try_get("model_id")?,
        response_model: row.try_get("response_model")?,
        system_fingerprint: row.try_get("system_fingerprint")?,
        provider_response_id: row.try_get("provider_response_id")?,
        fingerprint_captured_at: row.try_get("fingerprint_captured_at")?,
        first_seen_at: row.try_get("first_seen_at")?,
        last_seen_at: row.try_get("last_seen_at")?,
    })
}

pub(crate) fn result_from_row(row: &PgRow) -> Result<RunResult> {
    let opt_json = |column: &str| -> Result<Option<serde_json::Value>> {
        Ok(row
            .try_get::<Option<Json<serde_json::Value>>, _>(column)?
            .map(|j| j.0))
    };
    let status: String = row.try_get("status")?;
    Ok(RunResult {
        id: row.try_get("id")?,
        org_id: row.try_get("org_id")?,
        workspace_id: row.try_get("workspace_id")?,
        template_id: row.try_get("template_id")?,
        version_id: row.try_get("version_id")?,
        provider: row.try_get("provider")?,
        model_id: row.try_get("model_id")?,
        provider_version_key: row.try_get("provider_version_key")?,
        system_fingerprint: row.try_get("system_fingerprint")?,
        request: row.try_get::<Json<serde_json::Value>, _>("request")?.0,
        response: row.try_get::<Json<serde_json::Value>, _>("response")?.0,
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
        runner_id: row.try_get("runner_id")?,
        batch_id: row.try_get("batch_id")?,
        task_id: row.try_get("task_id")?,
        sample_index: row.try_get("sample_index")?,
        finish_reason: row.try_get("finish_reason")?,
        truncated: row.try_get("truncated")?,
        reasoning: row.try_get("reasoning")?,
        citations: opt_json("citations")?,
        created_at: row.try_get("created_at")?,
    })
}

pub(crate) fn token_from_row(row: &PgRow) -> Result<ApiToken> {
    let role: String = row.try_get("role")?;
    Ok(ApiToken {
        id: row.try_get("id")?,
        org_id: row.try_get("org_id")?,
        workspaces: row
            .try_get::<Option<Json<Vec<String>>>, _>("workspaces")?
            .map(|j| j.0),
        role: Role::parse(&role)
            .ok_or_else(|| StorageError::internal(format!("unknown role {role:?}")))?,
        label: row.try_get("label")?,
        created_at: row.try_get("created_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

pub(crate) fn batch_from_row(row: &PgRow) -> Result<Batch> {
    let status: String = row.try_get("status")?;
    Ok(Batch {
        id: row.try_get("id")?,
        org_id: row.try_get("org_id")?,
        workspace_id: row.try_get("workspace_id")?,
        schedule_id: row.try_get("schedule_id")?,
        idempotency_key: row.try_get("idempotency_key")?,
        request_hash: row.try_get("request_hash")?,
        params: row.try_get::<Json<serde_json::Value>, _>("params")?.0,
        skipped: row.try_get::<Json<serde_json::Value>, _>("skipped")?.0,
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
        created_at: row.try_get("created_at")?,
        started_at: row.try_get("started_at")?,
        finished_at: row.try_get("finished_at")?,
    })
}

pub(crate) fn task_from_row(row: &PgRow) -> Result<BatchTask> {
    let status: String = row.try_get("status")?;
    Ok(BatchTask {
        id: row.try_get("id")?,
        batch_id: row.try_get("batch_id")?,
        template_id: row.try_get("template_id")?,
        country: row.try_get("country")?,
        sample_index: row.try_get("sample_index")?,
        status: TaskStatus::parse(&status)
            .ok_or_else(|| StorageError::internal(format!("unknown task status {status:?}")))?,
        attempts: row.try_get("attempts")?,
        available_at: row.try_get("available_at")?,
        result_id: row.try_get("result_id")?,
        last_error: row
            .try_get::<Option<Json<serde_json::Value>>, _>("last_error")?
            .map(|j| j.0),
        updated_at: row.try_get("updated_at")?,
    })
}

pub(crate) fn schedule_from_row(row: &PgRow) -> Result<Schedule> {
    Ok(Schedule {
        id: row.try_get("id")?,
        org_id: row.try_get("org_id")?,
        workspace_id: row.try_get("workspace_id")?,
        name: row.try_get("name")?,
        cron: row.try_get("cron")?,
        timezone: row.try_get("timezone")?,
        batch: row.try_get::<Json<serde_json::Value>, _>("batch")?.0,
        enabled: row.try_get("enabled")?,
        next_run_at: row.try_get("next_run_at")?,
        last_slot: row.try_get("last_slot")?,
        last_batch_id: row.try_get("last_batch_id")?,
        last_error: row
            .try_get::<Option<Json<serde_json::Value>>, _>("last_error")?
            .map(|j| j.0),
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}
