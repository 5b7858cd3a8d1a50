//! Batches: create (202), read, list, their tasks, cancel, retry-failed.

use std::collections::HashMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::header::LOCATION;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use prompter_service::records::{timestamp, Cursor};
use prompter_service::{BatchRequest as BatchBody, ListBatches, ListTasks};
use serde::Serialize;
use uuid::Uuid;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::TypedBody;
use crate::openapi::{BatchRequest, ErrorResponse};
use crate::params::Params;
use crate::routes::runs::idempotency_key;
use crate::views::{all, BatchView, TaskView};
use crate::AppState;

fn batch_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::BatchNotFound)
}

/// Creates a batch: one task per (template, country, sample), run by the workers. Answers at
/// once with the batch (`queued`); poll it for progress.
#[utoipa::path(
    post,
    path = "/api/batches",
    operation_id = "create_batch",
    tag = "batches",
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "The same key again (in this organisation) returns the first batch; with another body it is a 422 `IDEMPOTENCY_KEY_REUSED`"),
    ),
    request_body(content = BatchRequest, content_type = "application/json"),
    responses(
        (status = 202, description = "The batch (also for a repeated `Idempotency-Key`); `Location` is its URL", body = BatchView),
        (status = 400, description = "`MALFORMED_JSON`", body = ErrorResponse),
        (status = 403, description = "`FORBIDDEN`: a reader token, or another organisation", body = ErrorResponse),
        (status = 404, description = "`WORKSPACE_NOT_FOUND`: a workspace the token may not use", body = ErrorResponse),
        (status = 413, description = "`PAYLOAD_TOO_LARGE`", body = ErrorResponse),
        (status = 415, description = "`UNSUPPORTED_MEDIA_TYPE`", body = ErrorResponse),
        (status = 422, description = "`INVALID_FIELD` (`field` names it: unknown or deleted `template_ids` (listed), `countries`, `samples`, `max_concurrency`, `token_budget`, a missing `runtime_vars.<name>`; no task at all), `UNKNOWN_PROVIDER`, `IDEMPOTENCY_KEY_REUSED`", body = ErrorResponse),
        (status = 503, description = "`PROVIDER_NOT_CONFIGURED` (a template's provider cannot be called) or `DATABASE_UNAVAILABLE`", body = ErrorResponse),
    ),
    security(("bearer" = [])),
)]
pub async fn create(
    State(state): State<AppState>,
    Principal(caller): Principal,
    headers: HeaderMap,
    TypedBody(body): TypedBody<BatchBody>,
) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers)?;
    let created = state
        .services
        .create_batch(&caller, &body, key.as_deref())
        .await?;
    let location = format!("/api/batches/{}", created.batch.id);
    let mut response = (StatusCode::ACCEPTED, Json(BatchView::from(created.batch))).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(LOCATION, v);
    }
    Ok(response)
}

/// One batch: status, task counts by state, usage, timing.
#[utoipa::path(
    get,
    path = "/api/batches/{id}",
    operation_id = "get_batch",
    tag = "batches",
    params(("id" = String, Path, format = Uuid, description = "Batch id")),
    responses(
        (status = 200, description = "The batch", body = BatchView),
        (status = 404, description = "`BATCH_NOT_FOUND`: unknown, malformed or not visible to the token", body = ErrorResponse),
        (status = 503, description = "`DATABASE_UNAVAILABLE`", body = ErrorResponse),
    ),
    security(("bearer" = [])),
)]
pub async fn get(
    State(state): State<AppState>,
    Principal(caller): Principal,
    Path(id): Path<String>,
) -> Result<Json<BatchView>, ApiError> {
    let batch = state.services.get_batch(&caller, batch_id(&id)?).await?;
    Ok(Json(batch.into()))
}

/// A page of batches, newest first.
#[derive(Serialize, utoipa::ToSchema)]
pub struct BatchList {
    items: Vec<BatchView>,
    next_cursor: Option<String>,
}

/// Batches of the organisation, newest first, keyset-paginated.
#[utoipa::path(
    get,
    path = "/api/batches",
    operation_id = "list_batches",
    tag = "batches",
    params(
        ("org_id" = Option<String>, Query, nullable = false, description = "Default: the token's (or `default`)"),
        ("workspace_id" = Option<String>, Query, nullable = false, description = "Only this brand's batches"),
        ("status" = Option<String>, Query, nullable = false, description = "`queued`, `running`, `succeeded`, `failed`, `partially_failed`, `cancelled` or `budget_exhausted`"),
        ("limit" = Option<u32>, Query, nullable = false, minimum = 1, maximum = 500, description = "Page size, 1–500 (default 50)"),
        ("cursor" = Option<String>, Query, nullable = false, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page", body = BatchList),
        (status = 403, description = "`FORBIDDEN`: another organisation", body = ErrorResponse),
        (status = 404, description = "`WORKSPACE_NOT_FOUND`: a workspace the token may not use", body = ErrorResponse),
        (status = 422, description = "`INVALID_FIELD`: `status`, `limit`, `cursor`, `org_id` or `workspace_id`", body = ErrorResponse),
        (status = 503, description = "`DATABASE_UNAVAILABLE`", body = ErrorResponse),
    ),
    security(("bearer" = [])),
)]
pub async fn list(
    State(state): State<AppState>,
    Principal(caller): Principal,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<BatchList>, ApiError> {
    let params = Params::from_query(query)?;
    let request = ListBatches {
        org_id: params.get("org_id").map(str::to_owned),
        workspace_id: params.get("workspace_id").map(str::to_owned),
        status: params.get("status").map(str::to_owned),
        page: params.page()?,
    };
    let page = state.services.list_batches(&caller, &request).await?;
    Ok(Json(BatchList {
        items: all(page.items),
        next_cursor: page.next.map(|c| c.encode()),
    }))
}

/// A page of a batch's tasks, in creation order.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TaskList {
    items: Vec<TaskView>,
    next_cursor: Option<String>,
}

/// The cells of a batch (template × country × sample), each with its last result or error.
#[utoipa::path(
    get,
    path = "/api/batches/{id}/tasks",
    operation_id = "list_batch_tasks",
    tag = "batches",
    params(
        ("id" = String, Path, format = Uuid, description = "Batch id"),
        ("status" = Option<String>, Query, nullable = false, description = "`pending`, `running`, `succeeded`, `failed` or `cancelled`"),
        ("limit" = Option<u32>, Query, nullable = false, minimum = 1, maximum = 500, description = "Page size, 1–500 (default 50)"),
        ("cursor" = Option<String>, Query, nullable = false, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page", body = TaskList),
        (status = 404, description = "`BATCH_NOT_FOUND`", body = ErrorResponse),
        (status = 422, description = "`INVALID_FIELD`: `status`, `limit` or `cursor`", body = ErrorResponse),
        (status = 503, description = "`DATABASE_UNAVAILABLE`", body = ErrorResponse),
    ),
    security(("bearer" = [])),
)]
pub async fn tasks(
    State(state): State<AppState>,
    Principal(caller): Principal,
    Path(id): Path<String>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<TaskList>, ApiError> {
    let params = Params::from_query(query)?;
    let request = ListTasks {
        status: params.get("status").map(str::to_owned),
        page: params.page()?,
    };
    let page = state
        .services
        .list_tasks(&caller, batch_id(&id)?, &request)
        .await?;
    Ok(Json(TaskList {
        items: all(page.items),
        // Tasks page by id: the cursor's time part is unused.
        next_cursor: page.next.map(|id| {
            Cursor {
                created_at: timestamp::now(),
                id,
            }
            .encode()
        }),
    }))
}

/// Cancels the batch: pending tasks are cancelled, running ones finish and are recorded.
/// Cancelling a cancelled batch answers it again.
#[utoipa::path(
    post,
    path = "/api/batches/{id}/cancel",
    operation_id = "cancel_batch",
    tag = "batches",
    params(("id" = String, Path, format = Uuid, description = "Batch id")),
    responses(
        (status = 200, description = "The batch, cancelled", body = BatchView),
        (status = 403, description = "`FORBIDDEN`: a reader token", body = ErrorResponse),
        (status = 404, description = "`BATCH_NOT_FOUND`", body = ErrorResponse),
        (status = 409, description = "`BATCH_CLOSED`: the batch had finished (or ran out of budget)", body = ErrorResponse),
        (status = 503, description = "`DATABASE_UNAVAILABLE`", body = ErrorResponse),
    ),
    security(("bearer" = [])),
)]
pub async fn cancel(
    State(state): State<AppState>,
    Principal(caller): Principal,
    Path(id): Path<String>,
) -> Result<Json<BatchView>, ApiError> {
    let batch = state.services.cancel_batch(&caller, batch_id(&id)?).await?;
    Ok(Json(batch.into()))
}

/// New attempts for the batch's failed tasks (only those).
#[utoipa::path(
    post,
    path = "/api/batches/{id}/retry-failed",
    operation_id = "retry_failed_tasks",
    tag = "batches",
    params(("id" = String, Path, format = Uuid, description = "Batch id")),
    responses(
        (status = 200, description = "The batch, its failed tasks pending again", body = BatchView),
        (status = 403, description = "`FORBIDDEN`: a reader token", body = ErrorResponse),
        (status = 404, description = "`BATCH_NOT_FOUND`", body = ErrorResponse),
        (status = 409, description = "`BATCH_CLOSED`: the batch is cancelled or out of budget", body = ErrorResponse),
        (status = 503, description = "`DATABASE_UNAVAILABLE`", body = ErrorResponse),
    ),
    security(("bearer" = [])),
)]
pub async fn retry_failed(
    State(state): State<AppState>,
    Principal(caller): Principal,
    Path(id): Path<String>,
) -> Result<Json<BatchView>, ApiError> {
    let batch = state.services.retry_failed(&caller, batch_id(&id)?).await?;
    Ok(Json(batch.into()))
}
