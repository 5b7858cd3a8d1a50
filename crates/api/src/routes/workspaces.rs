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

#[derive(Serialize)]
pub struct WorkspaceList {
    items: Vec<Workspace>,
}

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
