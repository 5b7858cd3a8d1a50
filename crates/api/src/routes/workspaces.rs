//! `/api/workspaces`: brands. A workspace is created explicitly here, or implicitly (name = id)
//! by the first template created in it.

use std::collections::HashMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use prompter_service::CreateWorkspace;
use serde::{Deserialize, Serialize};

use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{typed, JsonBody, TypedBody};
use crate::openapi::{CreateWorkspaceRequest, ErrorResponse, RenameWorkspaceRequest};
use crate::params::Params;
use crate::views::{all, NearDuplicatesView, WorkspaceView};
use crate::AppState;

/// The body of `POST /api/workspaces` (documented by [`CreateWorkspaceRequest`]).
#[derive(Deserialize)]
struct CreateBody {
    org_id: Option<String>,
    id: Option<String>,
    name: Option<String>,
}

/// Create a workspace (a brand).
#[utoipa::path(
    post,
    path = "/api/workspaces",
    operation_id = "create_workspace",
    tag = "workspaces",
    request_body(content = CreateWorkspaceRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = WorkspaceView),
        (status = 400, description = "`MALFORMED_JSON`: the body is not JSON, or not UTF-8", body = ErrorResponse),
        (status = 413, description = "`PAYLOAD_TOO_LARGE`: the body is over 1 MiB", body = ErrorResponse),
        (status = 415, description = "`UNSUPPORTED_MEDIA_TYPE`: `Content-Type` is not `application/json`", body = ErrorResponse),
        (status = 403, description = "`FORBIDDEN`: not an admin token, another organisation than the token's, or a workspace the token may not use", body = ErrorResponse),
        (status = 409, description = "`WORKSPACE_EXISTS`: the id exists in the organisation (`field: id`)", body = ErrorResponse),
        (status = 422, description = "`INVALID_FIELD`: a field fails validation (`field` names it)", body = ErrorResponse),
        (status = 503, description = "`DATABASE_UNAVAILABLE`", body = ErrorResponse),
    ),
    security(("bearer" = [])),
)]
pub async fn create(
    State(state): State<AppState>,
    Principal(caller): Principal,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<WorkspaceView>), ApiError> {
    if !body.is_object() {
        return Err(prompter_domain::FieldError::new("body", "must be a JSON object").into());
    }
    let CreateBody { org_id, id, name } = typed(body)?;
    let request = CreateWorkspace { org_id, id, name };
    let created = state.services.create_workspace(&caller, request).await?;
    Ok((StatusCode::CREATED, Json(created.into())))
}

/// The body of `PATCH /api/workspaces/{id}` (documented by [`RenameWorkspaceRequest`]).
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenameBody {
    org_id: Option<String>,
    name: Option<String>,
}

/// Rename a workspace (admins). The name is a label: nothing else changes.
#[utoipa::path(
    patch,
    path = "/api/workspaces/{id}",
    operation_id = "rename_workspace",
    tag = "workspaces",
    params(("id" = String, Path, description = "Workspace id (a malformed one is a 404)")),
    request_body(content = RenameWorkspaceRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The workspace as it is now", body = WorkspaceView),
        (status = 400, description = "`MALFORMED_JSON`: the body is not JSON, or not UTF-8", body = ErrorResponse),
        (status = 413, description = "`PAYLOAD_TOO_LARGE`: the body is over 1 MiB", body = ErrorResponse),
        (status = 415, description = "`UNSUPPORTED_MEDIA_TYPE`: `Content-Type` is not `application/json`", body = ErrorResponse),
        (status = 403, description = "`FORBIDDEN`: not an admin token, or another organisation", body = ErrorResponse),
        (status = 404, description = "`WORKSPACE_NOT_FOUND`", body = ErrorResponse),
        (status = 422, description = "`INVALID_FIELD`: `name` (`field` names it), or an unknown field", body = ErrorResponse),
        (status = 503, description = "`DATABASE_UNAVAILABLE`", body = ErrorResponse),
    ),
    security(("bearer" = [])),
)]
pub async fn rename(
    State(state): State<AppState>,
    Principal(caller): Principal,
    Path(id): Path<String>,
    TypedBody(body): TypedBody<RenameBody>,
) -> Result<Json<WorkspaceView>, ApiError> {
    let RenameBody { org_id, name } = body;
    let renamed = state
        .services
        .rename_workspace(&caller, org_id.as_deref(), &id, name.as_deref())
        .await?;
    Ok(Json(renamed.into()))
}

/// The workspaces of an organisation.
#[derive(Serialize, utoipa::ToSchema)]
pub struct WorkspaceList {
    items: Vec<WorkspaceView>,
}

/// The workspaces of an organisation.
#[utoipa::path(
    get,
    path = "/api/workspaces",
    operation_id = "list_workspaces",
    tag = "workspaces",
    params(
        ("org_id" = Option<String>, Query, nullable = false, min_length = 1, max_length = 128, pattern = r"^[A-Za-z0-9._:-]+$", description = "Organisation (default `default`; a token's own)"),
    ),
    responses(
        (status = 200, description = "The workspaces", body = WorkspaceList),
        (status = 403, description = "`FORBIDDEN`: another organisation than the token's", body = ErrorResponse),
        (status = 422, description = "`INVALID_FIELD`: `org_id` (or the query) is invalid", body = ErrorResponse),
        (status = 503, description = "`DATABASE_UNAVAILABLE`", body = ErrorResponse),
    ),
    security(("bearer" = [])),
)]
pub async fn list(
    State(state): State<AppState>,
    Principal(caller): Principal,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<WorkspaceList>, ApiError> {
    let params = Params::from_query(query)?;
    let items = state
        .services
        .list_workspaces(&caller, params.get("org_id"))
        .await?;
    Ok(Json(WorkspaceList { items: all(items) }))
}

/// One workspace.
#[utoipa::path(
    get,
    path = "/api/workspaces/{id}",
    operation_id = "get_workspace",
    tag = "workspaces",
    params(
        ("id" = String, Path, description = "Workspace id (a malformed one is a 404)"),
        ("org_id" = Option<String>, Query, nullable = false, min_length = 1, max_length = 128, pattern = r"^[A-Za-z0-9._:-]+$", description = "Organisation (default `default`; a token's own)"),
    ),
    responses(
        (status = 200, description = "The workspace", body = WorkspaceView),
        (status = 403, description = "`FORBIDDEN`: another organisation than the token's", body = ErrorResponse),
        (status = 404, description = "`WORKSPACE_NOT_FOUND`: unknown in the organisation, malformed, or not visible to the token", body = ErrorResponse),
        (status = 422, description = "`INVALID_FIELD`: `org_id` (or the query) is invalid", body = ErrorResponse),
        (status = 503, description = "`DATABASE_UNAVAILABLE`", body = ErrorResponse),
    ),
    security(("bearer" = [])),
)]
pub async fn get(
    State(state): State<AppState>,
    Principal(caller): Principal,
    Path(id): Path<String>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<WorkspaceView>, ApiError> {
    let params = Params::from_query(query)?;
    let ws = state
        .services
        .get_workspace(&caller, params.get("org_id"), &id)
        .await?;
    Ok(Json(ws.into()))
}

/// The near-duplicate groups of a workspace, for a clean-up: active templates with the same
/// model and the same prompt (up to case, punctuation and spacing) whose configurations differ
/// in one or two fields, each pair named with those fields.
#[utoipa::path(
    get,
    path = "/api/workspaces/{id}/near-duplicates",
    operation_id = "near_duplicates",
    tag = "templates",
    params(
        ("id" = String, Path, description = "Workspace id"),
        ("org_id" = Option<String>, Query, nullable = false, description = "Organisation (default `default`; a token's own)"),
    ),
    responses(
        (status = 200, description = "The groups, largest first", body = NearDuplicatesView),
        (status = 403, description = "`FORBIDDEN`: another organisation than the token's", body = ErrorResponse),
        (status = 404, description = "`WORKSPACE_NOT_FOUND`", body = ErrorResponse),
        (status = 422, description = "`INVALID_FIELD`: `org_id` (or the query) is invalid", body = ErrorResponse),
        (status = 503, description = "`DATABASE_UNAVAILABLE`", body = ErrorResponse),
    ),
    security(("bearer" = [])),
)]
pub async fn near_duplicates(
    State(state): State<AppState>,
    Principal(caller): Principal,
    Path(id): Path<String>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<NearDuplicatesView>, ApiError> {
    let params = Params::from_query(query)?;
    let groups = state
        .services
        .near_duplicate_groups(&caller, params.get("org_id"), &id)
        .await?;
    Ok(Json(NearDuplicatesView {
        workspace_id: id,
        groups: all(groups),
    }))
}
