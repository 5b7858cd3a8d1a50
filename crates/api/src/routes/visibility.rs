//! Brand visibility: a workspace's entities (alias snapshots), re-analysis, and the numbers.

use std::collections::HashMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use prompter_service::{ReanalyzeRequest, VisibilityParams};
use serde::{Deserialize, Serialize};

use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{JsonBody, TypedBody};
use crate::openapi::ErrorResponse;
use crate::params::Params;
use crate::visibility_views::{visibility_csv, JobView, SnapshotView, VisibilityView};
use crate::AppState;

/// Set the workspace's entities: the brand and its competitors with aliases and domains. The
/// same content again returns the existing snapshot (200) and makes it current again.
#[utoipa::path(
    put,
    path = "/api/workspaces/{id}/entities",
    operation_id = "put_entities",
    tag = "visibility",
    params(
        ("id" = String, Path, description = "Workspace id"),
        ("org_id" = Option<String>, Query, nullable = false, description = "Organisation (default `default`; a token's own)"),
    ),
    request_body(content = Object, content_type = "application/json", description = "`{brand: {name, aliases: [text | {text, case_sensitive}], domains: [host]}, competitors: [{name, aliases, domains}]}`; at most 200 entities counting the brand"),
    responses(
        (status = 201, description = "A new snapshot, now current", body = SnapshotView),
        (status = 200, description = "The snapshot with this content existed; it is current again", body = SnapshotView),
        (status = 400, description = "`MALFORMED_JSON`: the body is not JSON, or not UTF-8", body = ErrorResponse),
        (status = 413, description = "`PAYLOAD_TOO_LARGE`: the body is over 1 MiB", body = ErrorResponse),
        (status = 415, description = "`UNSUPPORTED_MEDIA_TYPE`: `Content-Type` is not `application/json`", body = ErrorResponse),
        (status = 403, description = "`FORBIDDEN`: a reader token, or another organisation", body = ErrorResponse),
        (status = 404, description = "`WORKSPACE_NOT_FOUND`", body = ErrorResponse),
        (status = 422, description = "`INVALID_FIELD`: `field` names it (`brand.name`, `competitors[2].aliases[0]`, `brand.domains[1]` …)", body = ErrorResponse),
        (status = 503, description = "`DATABASE_UNAVAILABLE`", body = ErrorResponse),
    ),
    security(("bearer" = [])),
)]
pub async fn put_entities(
    State(state): State<AppState>,
    Principal(caller): Principal,
    Path(id): Path<String>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<SnapshotView>), ApiError> {
    let params = Params::from_query(query)?;
    let put = state
        .services
        .put_entities(&caller, params.get("org_id"), &id, &body)
        .await?;
    let status = if put.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(put.snapshot.into())))
}

/// The workspace's current entities (its current alias snapshot).
#[utoipa::path(
    get,
    path = "/api/workspaces/{id}/entities",
    operation_id = "get_entities",
    tag = "visibility",
    params(
        ("id" = String, Path, description = "Workspace id"),
        ("org_id" = Option<String>, Query, nullable = false, description = "Organisation (default `default`; a token's own)"),
    ),
    responses(
        (status = 200, description = "The current snapshot", body = SnapshotView),
        (status = 403, description = "`FORBIDDEN`: another organisation than the token's", body = ErrorResponse),
        (status = 422, description = "`INVALID_FIELD`: `org_id` (or the query) is invalid", body = ErrorResponse),
        (status = 404, description = "`WORKSPACE_NOT_FOUND`, or `ENTITIES_NOT_SET`: none was put yet", body = ErrorResponse),
        (status = 503, description = "`DATABASE_UNAVAILABLE`", body = ErrorResponse),
    ),
    security(("bearer" = [])),
)]
pub async fn get_entities(
    State(state): State<AppState>,
    Principal(caller): Principal,
    Path(id): Path<String>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<SnapshotView>, ApiError> {
    let params = Params::from_query(query)?;
    let current = state
        .services
        .current_entities(&caller, params.get("org_id"), &id)
        .await?
        .ok_or(ApiError::EntitiesNotSet)?;
    Ok(Json(current.into()))
}

/// A workspace's alias snapshots, newest first.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SnapshotList {
    items: Vec<SnapshotView>,
}

/// The history of the workspace's entities.
#[utoipa::path(
    get,
    path = "/api/workspaces/{id}/alias-snapshots",
    operation_id = "list_alias_snapshots",
    tag = "visibility",
    params(
        ("id" = String, Path, description = "Workspace id"),
        ("org_id" = Option<String>, Query, nullable = false, description = "Organisation (default `default`; a token's own)"),
    ),
    responses(
        (status = 200, description = "Newest first", body = SnapshotList),
        (status = 403, description = "`FORBIDDEN`: another organisation than the token's", body = ErrorResponse),
        (status = 422, description = "`INVALID_FIELD`: `org_id` (or the query) is invalid", body = ErrorResponse),
        (status = 404, description = "`WORKSPACE_NOT_FOUND`", body = ErrorResponse),
        (status = 503, description = "`DATABASE_UNAVAILABLE`", body = ErrorResponse),
    ),
    security(("bearer" = [])),
)]
pub async fn alias_snapshots(
    State(state): State<AppState>,
    Principal(caller): Principal,
    Path(id): Path<String>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<SnapshotList>, ApiError> {
    let params = Params::from_query(query)?;
    let items = state
        .services
        .alias_snapshots(&caller, params.get("org_id"), &id)
        .await?;
    Ok(Json(SnapshotList {
        items: items.into_iter().map(Into::into).collect(),
    }))
}

/// The body of `POST /api/workspaces/{id}/reanalyze`.
#[derive(Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReanalyzeBody {
    org_id: Option<String>,
    /// Default: the workspace's current snapshot.
    alias_snapshot_id: Option<String>,
    /// RFC 3339 time or date: answers recorded from then on.
    from: Option<String>,
    /// RFC 3339 time (exclusive) or date (that whole UTC day included).
    to: Option<String>,
}

/// Analyse the workspace's stored answers again (no model is called): a background job.
#[utoipa::path(
    post,
    path = "/api/workspaces/{id}/reanalyze",
    operation_id = "reanalyze",
    tag = "visibility",
    params(("id" = String, Path, description = "Workspace id")),
    request_body(content = Option<ReanalyzeBody>, content_type = "application/json", description = "Optional; an empty body means `{}`"),
    responses(
        (status = 202, description = "Queued; `GET` the `Location` (`/api/reanalyses/{id}`) for its progress", body = JobView,
            headers(("Location" = String, description = "`/api/reanalyses/{id}`"))),
        (status = 400, description = "`MALFORMED_JSON`: the body is not JSON, or not UTF-8", body = ErrorResponse),
        (status = 413, description = "`PAYLOAD_TOO_LARGE`: the body is over 1 MiB", body = ErrorResponse),
        (status = 415, description = "`UNSUPPORTED_MEDIA_TYPE`: `Content-Type` is not `application/json`", body = ErrorResponse),
        (status = 403, description = "`FORBIDDEN`: a reader token, or another organisation", body = ErrorResponse),
        (status = 404, description = "`WORKSPACE_NOT_FOUND`", body = ErrorResponse),
        (status = 422, description = "`INVALID_FIELD`: `from`, `to`, `alias_snapshot_id` (not one of the workspace's, or none exists yet)", body = ErrorResponse),
        (status = 503, description = "`DATABASE_UNAVAILABLE`", body = ErrorResponse),
    ),
    security(("bearer" = [])),
)]
pub async fn reanalyze(
    State(state): State<AppState>,
    Principal(caller): Principal,
    Path(id): Path<String>,
    TypedBody(body): TypedBody<ReanalyzeBody>,
) -> Result<Response, ApiError> {
    let ReanalyzeBody {
        org_id,
        alias_snapshot_id,
        from,
        to,
    } = body;
    let request = ReanalyzeRequest {
        org_id,
        alias_snapshot_id,
        from,
        to,
    };
    let job = state.services.reanalyze(&caller, &id, &request).await?;
    let location = HeaderValue::from_str(&format!("/api/reanalyses/{}", job.id))
        .expect("a UUID path is a header value");
    let mut response = (StatusCode::ACCEPTED, Json(JobView::from(job))).into_response();
    response.headers_mut().insert(header::LOCATION, location);
    Ok(response)
}

/// A re-analysis job and its progress.
#[utoipa::path(
    get,
    path = "/api/reanalyses/{id}",
    operation_id = "get_reanalysis",
    tag = "visibility",
    params(("id" = String, Path, format = Uuid, description = "Job id (a malformed one is a 404)")),
    responses(
        (status = 200, description = "The job", body = JobView),
        (status = 404, description = "`REANALYSIS_NOT_FOUND`", body = ErrorResponse),
        (status = 503, description = "`DATABASE_UNAVAILABLE`", body = ErrorResponse),
    ),
    security(("bearer" = [])),
)]
pub async fn get_reanalysis(
    State(state): State<AppState>,
    Principal(caller): Principal,
    Path(id): Path<String>,
) -> Result<Json<JobView>, ApiError> {
    Ok(Json(
        state.services.get_reanalysis(&caller, &id).await?.into(),
    ))
}

/// Mention rates with 95 % intervals, rank, share of voice and citation rates per group.
#[utoipa::path(
    get,
    path = "/api/workspaces/{id}/visibility",
    operation_id = "visibility",
    tag = "visibility",
    params(
        ("id" = String, Path, description = "Workspace id"),
        ("org_id" = Option<String>, Query, nullable = false, description = "Organisation (default `default`; a token's own)"),
        ("from" = Option<String>, Query, nullable = false, description = "RFC 3339 time or date (from the start of that UTC day)"),
        ("to" = Option<String>, Query, nullable = false, description = "RFC 3339 time (exclusive) or date (that whole UTC day included)"),
        ("group_by" = Option<String>, Query, nullable = false, description = "Comma-separated: template, tag, model, provider, country, provider_version_key, day, week (day and week exclude each other)"),
        ("entity" = Option<String>, Query, nullable = false, description = "Only this entity (its name in the snapshot)"),
        ("alias_snapshot_id" = Option<String>, Query, nullable = false, format = Uuid, description = "Count the analyses of this snapshot (default: the current one)"),
        ("include_fake" = Option<bool>, Query, nullable = false, description = "Count answers of the built-in fake (default false)"),
        ("format" = Option<String>, Query, nullable = false, description = "`csv`: the rows as CSV, one line per group and entity"),
    ),
    responses(
        (status = 200, description = "The numbers (JSON, or `text/csv` with `format=csv`)",
            content((VisibilityView = "application/json"), (String = "text/csv"))),
        (status = 403, description = "`FORBIDDEN`: another organisation than the token's", body = ErrorResponse),
        (status = 404, description = "`WORKSPACE_NOT_FOUND`", body = ErrorResponse),
        (status = 422, description = "`INVALID_FIELD`: `from`, `to`, `group_by`, `entity`, `alias_snapshot_id`, `include_fake` or `format`", body = ErrorResponse),
        (status = 503, description = "`DATABASE_UNAVAILABLE`", body = ErrorResponse),
    ),
    security(("bearer" = [])),
)]
pub async fn visibility(
    State(state): State<AppState>,
    Principal(caller): Principal,
    Path(id): Path<String>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let params = Params::from_query(query)?;
    let csv = match params.get("format") {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => {
            return Err(prompter_domain::FieldError::new("format", "must be json or csv").into())
        }
    };
    let request = VisibilityParams {
        org_id: params.get("org_id").map(str::to_owned),
        from: params.get("from").map(str::to_owned),
        to: params.get("to").map(str::to_owned),
        group_by: params.get("group_by").map(str::to_owned),
        entity: params.get("entity").map(str::to_owned),
        alias_snapshot_id: params.get("alias_snapshot_id").map(str::to_owned),
        include_fake: params.bool("include_fake")?,
    };
    let numbers = state.services.visibility(&caller, &id, &request).await?;
    if csv {
        return Ok((
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            visibility_csv(&numbers),
        )
            .into_response());
    }
    Ok(Json(VisibilityView::from(numbers)).into_response())
}
