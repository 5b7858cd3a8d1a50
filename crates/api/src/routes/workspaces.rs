//! `/api/workspaces`: brands. A workspace is created explicitly here, or implicitly (name = id)
//! by the first template created in it.

use std::collections::HashMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use prompter_domain::template_spec::parse_name;
use prompter_domain::{FieldError, OrgId, WorkspaceId};
use prompter_storage::{timestamp, NewWorkspace, StorageError, Workspace};
use serde::Serialize;
use serde_json::Value;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::openapi::{CreateWorkspaceRequest, ErrorResponse};
use crate::params::Params;
use crate::AppState;

fn optional_string<'a>(
    body: &'a Value,
    field: &'static str,
) -> Result<Option<&'a str>, FieldError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(FieldError::new(field, "must be a string")),
    }
}

/// Create a workspace (a brand).
#[utoipa::path(
    post,
    path = "/api/workspaces",
    operation_id = "create_workspace",
    tag = "workspaces",
    request_body(content = CreateWorkspaceRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = Workspace),
        (status = 400, description = "`MALFORMED_JSON`: the body is not JSON, or not UTF-8", body = ErrorResponse),
        (status = 413, description = "`PAYLOAD_TOO_LARGE`: the body is over 1 MiB", body = ErrorResponse),
        (status = 415, description = "`UNSUPPORTED_MEDIA_TYPE`: `Content-Type` is not `application/json`", body = ErrorResponse),
        (status = 403, description = "`FORBIDDEN`: a reader token, another organisation than the token's, or a workspace the token may not use", body = ErrorResponse),
        (status = 409, description = "`WORKSPACE_EXISTS`: the id exists in the organisation (`field: id`)", body = ErrorResponse),
        (status = 422, description = "`INVALID_FIELD`: a field fails validation (`field` names it)", body = ErrorResponse),
        (status = 503, description = "`DATABASE_UNAVAILABLE`", body = ErrorResponse),
    ),
    security(("bearer" = [])),
)]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    JsonBody(mut body): JsonBody,
) -> Result<(StatusCode, Json<Workspace>), ApiError> {
    if !body.is_object() {
        return Err(FieldError::new("body", "must be a JSON object").into());
    }
    principal.require_writer()?;
    principal.scope_body(&mut body)?;
    let org_id = match optional_string(&body, "org_id")? {
        None => OrgId::default_org(),
        Some(raw) => OrgId::parse(raw)?,
    };
    let id = match optional_string(&body, "id")? {
        None => WorkspaceId::parse(&uuid::Uuid::now_v7().to_string())?,
        Some(raw) => WorkspaceId::parse(raw).map_err(|e| FieldError::new("id", e.message))?,
    };
    if !principal.permits_workspace(id.as_str()) {
        return Err(ApiError::Forbidden("the token may not use this workspace"));
    }
    let name = parse_name(
        optional_string(&body, "name")?.ok_or_else(|| FieldError::new("name", "is required"))?,
    )?;
    let new = NewWorkspace {
        org_id,
        id: id.clone(),
        name,
        created_at: timestamp::now(),
    };
    match state.db.create_workspace(new).await {
        Ok(ws) => {
            tracing::info!(action = "create_workspace", org_id = %ws.org_id, workspace_id = %ws.id,
                status = "created");
            Ok((StatusCode::CREATED, Json(ws)))
        }
        Err(StorageError::WorkspaceExists) => Err(ApiError::WorkspaceExists { id: id.to_string() }),
        Err(e) => Err(e.into()),
    }
}

/// The workspaces of an organisation.
#[derive(Serialize, utoipa::ToSchema)]
pub struct WorkspaceList {
    items: Vec<Workspace>,
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
    principal: Principal,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<WorkspaceList>, ApiError> {
    let org = Params::from_query(query)?.org_id_for(&principal)?;
    let mut items = state.db.list_workspaces(&org).await?;
    items.retain(|w| principal.permits_workspace(&w.id));
    Ok(Json(WorkspaceList { items }))
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
        (status = 200, description = "The workspace", body = Workspace),
        (status = 403, description = "`FORBIDDEN`: another organisation than the token's", body = ErrorResponse),
        (status = 404, description = "`WORKSPACE_NOT_FOUND`: unknown in the organisation, malformed, or not visible to the token", body = ErrorResponse),
        (status = 422, description = "`INVALID_FIELD`: `org_id` (or the query) is invalid", body = ErrorResponse),
        (status = 503, description = "`DATABASE_UNAVAILABLE`", body = ErrorResponse),
    ),
    security(("bearer" = [])),
)]
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<Workspace>, ApiError> {
    let org = Params::from_query(query)?.org_id_for(&principal)?;
    let id = WorkspaceId::parse(&id).map_err(|_| ApiError::WorkspaceNotFound)?;
    if !principal.permits_workspace(id.as_str()) {
        return Err(ApiError::WorkspaceNotFound);
    }
    state
        .db
        .get_workspace(&org, &id)
        .await?
        .map(Json)
        .ok_or(ApiError::WorkspaceNotFound)
}
