//! Schedules: create, read, list, change (enable, disable, cron, time zone), delete.

use std::collections::HashMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use prompter_service::{CreateSchedule as CreateBody, UpdateSchedule as UpdateBody};
use serde::Serialize;
use uuid::Uuid;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::TypedBody;
use crate::openapi::{CreateScheduleRequest, ErrorResponse, UpdateScheduleRequest};
use crate::params::Params;
use crate::views::{all, ScheduleView};
use crate::AppState;

fn schedule_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::ScheduleNotFound)
}

/// Creates a schedule; its batch body is validated now, as a batch would be.
#[utoipa::path(
    post,
    path = "/api/schedules",
    operation_id = "create_schedule",
    tag = "schedules",
    request_body(content = CreateScheduleRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "The schedule, with its next slot", body = ScheduleView),
        (status = 400, description = "`MALFORMED_JSON`", body = ErrorResponse),
        (status = 403, description = "`FORBIDDEN`: a reader token, or another organisation", body = ErrorResponse),
        (status = 404, description = "`WORKSPACE_NOT_FOUND`: a workspace the token may not use", body = ErrorResponse),
        (status = 413, description = "`PAYLOAD_TOO_LARGE`", body = ErrorResponse),
        (status = 415, description = "`UNSUPPORTED_MEDIA_TYPE`", body = ErrorResponse),
        (status = 422, description = "`INVALID_FIELD`: `name`, `cron`, `timezone` or a field of the batch (`batch.samples`, `batch.template_ids` …); `UNKNOWN_PROVIDER`", body = ErrorResponse),
        (status = 503, description = "`PROVIDER_NOT_CONFIGURED` or `DATABASE_UNAVAILABLE`", body = ErrorResponse),
    ),
    security(("bearer" = [])),
)]
pub async fn create(
    State(state): State<AppState>,
    Principal(caller): Principal,
    TypedBody(body): TypedBody<CreateBody>,
) -> Result<(StatusCode, Json<ScheduleView>), ApiError> {
    let schedule = state.services.create_schedule(&caller, &body).await?;
    Ok((StatusCode::CREATED, Json(schedule.into())))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ScheduleList {
    items: Vec<ScheduleView>,
}

/// The organisation's schedules (of one brand), oldest first, each with its next slot.
#[utoipa::path(
    get,
    path = "/api/schedules",
    operation_id = "list_schedules",
    tag = "schedules",
    params(
        ("org_id" = Option<String>, Query, nullable = false, description = "Default: the token's (or `default`)"),
        ("workspace_id" = Option<String>, Query, nullable = false, description = "Only this brand's schedules"),
    ),
    responses(
        (status = 200, description = "The schedules", body = ScheduleList),
        (status = 403, description = "`FORBIDDEN`: another organisation", body = ErrorResponse),
        (status = 404, description = "`WORKSPACE_NOT_FOUND`", body = ErrorResponse),
        (status = 422, description = "`INVALID_FIELD`: `org_id` or `workspace_id`", body = ErrorResponse),
        (status = 503, description = "`DATABASE_UNAVAILABLE`", body = ErrorResponse),
    ),
    security(("bearer" = [])),
)]
pub async fn list(
    State(state): State<AppState>,
    Principal(caller): Principal,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<ScheduleList>, ApiError> {
    let params = Params::from_query(query)?;
    let items = state
        .services
        .list_schedules(&caller, params.get("org_id"), params.get("workspace_id"))
        .await?;
    Ok(Json(ScheduleList { items: all(items) }))
}

/// One schedule.
#[utoipa::path(
    get,
    path = "/api/schedules/{id}",
    operation_id = "get_schedule",
    tag = "schedules",
    params(("id" = String, Path, format = Uuid, description = "Schedule id")),
    responses(
        (status = 200, description = "The schedule", body = ScheduleView),
        (status = 404, description = "`SCHEDULE_NOT_FOUND`", body = ErrorResponse),
        (status = 503, description = "`DATABASE_UNAVAILABLE`", body = ErrorResponse),
    ),
    security(("bearer" = [])),
)]
pub async fn get(
    State(state): State<AppState>,
    Principal(caller): Principal,
    Path(id): Path<String>,
) -> Result<Json<ScheduleView>, ApiError> {
    let s = state
        .services
        .get_schedule(&caller, schedule_id(&id)?)
        .await?;
    Ok(Json(s.into()))
}

/// Changes a schedule (enable, disable, cron, time zone, name, batch); the next slot is
/// computed again from now.
#[utoipa::path(
    patch,
    path = "/api/schedules/{id}",
    operation_id = "update_schedule",
    tag = "schedules",
    params(("id" = String, Path, format = Uuid, description = "Schedule id")),
    request_body(content = UpdateScheduleRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The schedule", body = ScheduleView),
        (status = 403, description = "`FORBIDDEN`: a reader token", body = ErrorResponse),
        (status = 404, description = "`SCHEDULE_NOT_FOUND`", body = ErrorResponse),
        (status = 422, description = "`INVALID_FIELD`: `name`, `cron`, `timezone` or `batch.<field>`", body = ErrorResponse),
        (status = 503, description = "`DATABASE_UNAVAILABLE`", body = ErrorResponse),
    ),
    security(("bearer" = [])),
)]
pub async fn update(
    State(state): State<AppState>,
    Principal(caller): Principal,
    Path(id): Path<String>,
    TypedBody(body): TypedBody<UpdateBody>,
) -> Result<Json<ScheduleView>, ApiError> {
    let s = state
        .services
        .update_schedule(&caller, schedule_id(&id)?, &body)
        .await?;
    Ok(Json(s.into()))
}

/// Deletes a schedule; the batches it fired stay.
#[utoipa::path(
    delete,
    path = "/api/schedules/{id}",
    operation_id = "delete_schedule",
    tag = "schedules",
    params(("id" = String, Path, format = Uuid, description = "Schedule id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "`FORBIDDEN`: a reader token", body = ErrorResponse),
        (status = 404, description = "`SCHEDULE_NOT_FOUND`", body = ErrorResponse),
        (status = 503, description = "`DATABASE_UNAVAILABLE`", body = ErrorResponse),
    ),
    security(("bearer" = [])),
)]
pub async fn delete(
    State(state): State<AppState>,
    Principal(caller): Principal,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .services
        .delete_schedule(&caller, schedule_id(&id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
