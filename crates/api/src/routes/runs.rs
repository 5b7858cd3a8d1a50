//! Versions and runs of a template: ensure-version, run, and their history.

use std::collections::HashMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::Json;
use prompter_domain::FieldError;
use prompter_service::ensure_version::EnsuredVersion;
use prompter_service::run::RunOutcome;
use prompter_storage::{Cursor, RunResult, Version};
use serde::Serialize;
use uuid::Uuid;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::OptionalJsonBody;
use crate::params::Params;
use crate::routes::templates::visible_template;
use crate::routes::templates::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use crate::AppState;

/// Longest accepted `Idempotency-Key`.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

pub async fn ensure_version(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
    OptionalJsonBody(body): OptionalJsonBody,
) -> Result<Json<EnsuredVersion>, ApiError> {
    let id = visible_template(&state, &principal, &id).await?.id;
    principal.require_writer()?;
    let force = Params::from_query(query)?.bool("force")?.unwrap_or(false);
    Ok(Json(
        state
            .services
            .ensure_version(id, body.as_ref(), force)
            .await?,
    ))
}

#[derive(Serialize)]
pub struct VersionList {
    items: Vec<Version>,
}

pub async fn versions(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<VersionList>, ApiError> {
    let id = visible_template(&state, &principal, &id).await?.id;
    Ok(Json(VersionList {
        items: state.db.list_versions(id).await?,
    }))
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(raw) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = raw
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= MAX_IDEMPOTENCY_KEY_LEN)
        .ok_or_else(|| {
            FieldError::new(
                "Idempotency-Key",
                format!("must be 1–{MAX_IDEMPOTENCY_KEY_LEN} visible ASCII characters"),
            )
        })?;
    Ok(Some(key.to_owned()))
}

pub async fn run(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    headers: HeaderMap,
    OptionalJsonBody(body): OptionalJsonBody,
) -> Result<Json<RunOutcome>, ApiError> {
    let id = visible_template(&state, &principal, &id).await?.id;
    principal.require_writer()?;
    let key = idempotency_key(&headers)?;
    Ok(Json(
        state
            .services
            .run_template(id, body.as_ref(), key.as_deref())
            .await?,
    ))
}

#[derive(Serialize)]
pub struct ResultList {
    items: Vec<RunResult>,
    next_cursor: Option<String>,
}

pub async fn results(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<ResultList>, ApiError> {
    let params = Params::from_query(query)?;
    let limit = params.limit(DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)?;
    let after = params
        .get("cursor")
        .map(|c| Cursor::decode(c).map_err(|e| FieldError::new("cursor", e.to_string())))
        .transpose()?;
    let id = visible_template(&state, &principal, &id).await?.id;
    let page = state.db.list_results(id, limit, after).await?;
    Ok(Json(ResultList {
        items: page.items,
        next_cursor: page.next.map(|c| c.encode()),
    }))
}

pub async fn result(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<RunResult>, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::ResultNotFound)?;
    let result = state
        .db
        .get_result(id)
        .await?
        .filter(|r| principal.permits(&r.org_id, &r.workspace_id))
        .ok_or(ApiError::ResultNotFound)?;
    Ok(Json(result))
}
