//! `/api/prompt-templates`: the template registry.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use prompter_domain::{parse_template_spec, FieldError, NameRule, WorkspaceId};
use prompter_storage::{
    CreateTemplate, Cursor, NewTemplate, RestoreTemplate, Template, TemplateQuery,
};
use serde::Serialize;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{template_id, JsonBody};
use crate::openapi::{CheckDuplicateRequest, CreateTemplateRequest, ErrorResponse};
use crate::params::Params;
use crate::AppState;
use prompter_service::DuplicateCheck;

/// Largest page a list request may ask for.
pub const MAX_PAGE_SIZE: u32 = 500;
pub const DEFAULT_PAGE_SIZE: u32 = 50;

/// Create a template; identical configurations inside one brand are refused.
#[utoipa::path(
    post,
    path = "/api/prompt-templates",
    operation_id = "create_template",
    tag = "templates",
    request_body(content = CreateTemplateRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = Template),
        (status = 400, description = "`WORKSPACE_REQUIRED` (`workspace_id` missing, null or empty) or `MALFORMED_JSON` (not JSON, or not UTF-8)", body = ErrorResponse),
        (status = 413, description = "`PAYLOAD_TOO_LARGE`: the body is over 1 MiB", body = ErrorResponse),
        (status = 415, description = "`UNSUPPORTED_MEDIA_TYPE`: `Content-Type` is not `application/json`", body = ErrorResponse),
        (status = 403, description = "`FORBIDDEN`: a reader token, or `org_id` of another organisation than the token's", body = ErrorResponse),
        (status = 404, description = "`WORKSPACE_NOT_FOUND`: the token may not use this workspace", body = ErrorResponse),
        (status = 409, description = "`TEMPLATE_EXISTS`: an active template holds this configuration in this org and workspace (`template_id`, `template_name`, `workspace_id` name it)", body = ErrorResponse),
        (status = 422, description = "`INVALID_FIELD`: a field fails validation (`field` names it, e.g. `country_set[1]`)", body = ErrorResponse),
        (status = 503, description = "`DATABASE_UNAVAILABLE`", body = ErrorResponse),
    ),
    security(("bearer" = [])),
)]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    JsonBody(mut body): JsonBody,
) -> Result<(StatusCode, Json<Template>), ApiError> {
    principal.require_writer()?;
    principal.scope_body(&mut body)?;
    let spec = parse_template_spec(&body, NameRule::Required)?;
    if !principal.permits_workspace(spec.workspace_id.as_str()) {
        return Err(ApiError::WorkspaceNotFound);
    }
    let name = spec.name.clone().unwrap_or_default();
    match state
        .db
        .create_template(NewTemplate::new(spec, name))
        .await?
    {
        CreateTemplate::Created(t) => {
            tracing::info!(action = "create_template", template_id = %t.id, org_id = %t.org_id,
                workspace_id = %t.workspace_id, status = "created");
            Ok((StatusCode::CREATED, Json(t)))
        }
        CreateTemplate::Duplicate {
            existing,
            workspace_name,
        } => {
            count_duplicate();
            tracing::info!(action = "create_template", template_id = %existing.id,
                org_id = %existing.org_id, workspace_id = %existing.workspace_id,
                status = "duplicate");
            Err(ApiError::TemplateExists {
                existing: Box::new(existing),
                workspace_name,
            })
        }
    }
}

/// Whether this configuration is taken in the workspace, and its hash; never writes.
#[utoipa::path(
    post,
    path = "/api/prompt-templates/check-duplicate",
    operation_id = "check_duplicate",
    tag = "templates",
    request_body(content = CheckDuplicateRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The check", body = DuplicateCheck),
        (status = 400, description = "`WORKSPACE_REQUIRED` (`workspace_id` missing, null or empty) or `MALFORMED_JSON` (not JSON, or not UTF-8)", body = ErrorResponse),
        (status = 413, description = "`PAYLOAD_TOO_LARGE`: the body is over 1 MiB", body = ErrorResponse),
        (status = 415, description = "`UNSUPPORTED_MEDIA_TYPE`: `Content-Type` is not `application/json`", body = ErrorResponse),
        (status = 403, description = "`FORBIDDEN`: `org_id` of another organisation than the token's", body = ErrorResponse),
        (status = 404, description = "`WORKSPACE_NOT_FOUND`: the token may not use this workspace", body = ErrorResponse),
        (status = 422, description = "`INVALID_FIELD`: a field fails validation (`field` names it)", body = ErrorResponse),
        (status = 503, description = "`DATABASE_UNAVAILABLE`", body = ErrorResponse),
    ),
    security(("bearer" = [])),
)]
pub async fn check_duplicate(
    State(state): State<AppState>,
    principal: Principal,
    JsonBody(mut body): JsonBody,
) -> Result<Json<DuplicateCheck>, ApiError> {
    principal.scope_body(&mut body)?;
    let spec = parse_template_spec(&body, NameRule::Optional)?;
    if !principal.permits_workspace(spec.workspace_id.as_str()) {
        return Err(ApiError::WorkspaceNotFound);
    }
    Ok(Json(state.services.check_duplicate(&spec).await?))
}

/// A page of templates, newest first.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TemplateList {
    items: Vec<Template>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    next_cursor: Option<String>,
}

/// Templates of an organisation, newest first, keyset-paginated.
#[utoipa::path(
    get,
    path = "/api/prompt-templates",
    operation_id = "list_templates",
    tag = "templates",
    params(
        ("org_id" = Option<String>, Query, nullable = false, min_length = 1, max_length = 128, pattern = r"^[A-Za-z0-9._:-]+$", description = "Organisation (default `default`; a token's own)"),
        ("workspace_id" = Option<String>, Query, nullable = false, min_length = 1, max_length = 128, pattern = r"^[A-Za-z0-9._:-]+$", description = "Only this workspace"),
        ("include_deleted" = Option<bool>, Query, nullable = false, description = "Include soft-deleted templates (`true`/`1`, `false`/`0`; default false)"),
        ("limit" = Option<u32>, Query, nullable = false, minimum = 1, maximum = 500, description = "Page size, 1–500 (default 50)"),
        ("cursor" = Option<String>, Query, nullable = false, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page", body = TemplateList),
        (status = 403, description = "`FORBIDDEN`: `org_id` of another organisation than the token's", body = ErrorResponse),
        (status = 404, description = "`WORKSPACE_NOT_FOUND`: the token may not use `workspace_id`", body = ErrorResponse),
        (status = 422, description = "`INVALID_FIELD`: a query parameter is invalid (`field` names it)", body = ErrorResponse),
        (status = 503, description = "`DATABASE_UNAVAILABLE`", body = ErrorResponse),
    ),
    security(("bearer" = [])),
)]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    query: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<TemplateList>, ApiError> {
    let params = Params::from_query(query)?;
    // The org first: naming another organisation is 403 even with a workspace filter.
    let org_id = params.org_id_for(&principal)?;
    if let Some(ws) = params.get("workspace_id") {
        if !principal.permits_workspace(ws) {
            return Err(ApiError::WorkspaceNotFound);
        }
    }
    let limit = params.limit(DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)?;
    let query = TemplateQuery {
        org_id,
        workspace_id: params
            .get("workspace_id")
            .map(WorkspaceId::parse)
            .transpose()?,
        allowed_workspaces: principal.allowed_workspaces(),
        include_deleted: params.bool("include_deleted")?.unwrap_or(false),
        limit,
        after: params
            .get("cursor")
            .map(|c| Cursor::decode(c).map_err(|e| FieldError::new("cursor", e.to_string())))
            .transpose()?,
    };
    let page = state.db.list_templates(&query).await?;
    Ok(Json(TemplateList {
        items: page.items,
        next_cursor: page.next.map(|c| c.encode()),
    }))
}

/// One template, deleted ones too (with `deleted_at`).
#[utoipa::path(
    get,
    path = "/api/prompt-templates/{id}",
    operation_id = "get_template",
    tag = "templates",
    params(("id" = String, Path, format = Uuid, description = "Template id (a UUIDv7; a malformed one is a 404)")),
    responses(
        (status = 200, description = "The template", body = Template),
        (status = 404, description = "`TEMPLATE_NOT_FOUND`: unknown, malformed or not visible to the token", body = ErrorResponse),
        (status = 503, description = "`DATABASE_UNAVAILABLE`", body = ErrorResponse),
    ),
    security(("bearer" = [])),
)]
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Template>, ApiError> {
    Ok(Json(visible_template(&state, &principal, &id).await?))
}

/// The template `raw_id` names, if the caller may see it; 404 otherwise (unknown, malformed,
/// another organisation's, or a workspace the token may not use: indistinguishable).
pub(crate) async fn visible_template(
    state: &AppState,
    principal: &Principal,
    raw_id: &str,
) -> Result<Template, ApiError> {
    let id = template_id(raw_id)?;
    let template = state
        .db
        .get_template(id)
        .await?
        .ok_or(ApiError::TemplateNotFound)?;
    principal.check_template(&template)?;
    Ok(template)
}

/// Soft-delete a template (idempotent: deleting again keeps the first `deleted_at`).
#[utoipa::path(
    delete,
    path = "/api/prompt-templates/{id}",
    operation_id = "delete_template",
    tag = "templates",
    params(("id" = String, Path, format = Uuid, description = "Template id (a UUIDv7; a malformed one is a 404)")),
    responses(
        (status = 200, description = "The template, with `deleted_at`", body = Template),
        (status = 403, description = "`FORBIDDEN`: a reader token", body = ErrorResponse),
        (status = 404, description = "`TEMPLATE_NOT_FOUND`: unknown, malformed or not visible to the token", body = ErrorResponse),
        (status = 503, description = "`DATABASE_UNAVAILABLE`", body = ErrorResponse),
    ),
    security(("bearer" = [])),
)]
pub async fn delete(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Template>, ApiError> {
    let id = visible_template(&state, &principal, &id).await?.id;
    principal.require_writer()?;
    let deleted = state
        .db
        .soft_delete_template(id)
        .await?
        .ok_or(ApiError::TemplateNotFound)?;
    tracing::info!(action = "delete_template", template_id = %id, org_id = %deleted.org_id,
        workspace_id = %deleted.workspace_id, status = "deleted");
    Ok(Json(deleted))
}

/// Restore a soft-deleted template (a no-op on an active one).
#[utoipa::path(
    post,
    path = "/api/prompt-templates/{id}/restore",
    operation_id = "restore_template",
    tag = "templates",
    params(("id" = String, Path, format = Uuid, description = "Template id (a UUIDv7; a malformed one is a 404)")),
    responses(
        (status = 200, description = "The active template", body = Template),
        (status = 403, description = "`FORBIDDEN`: a reader token", body = ErrorResponse),
        (status = 404, description = "`TEMPLATE_NOT_FOUND`: unknown, malformed or not visible to the token", body = ErrorResponse),
        (status = 409, description = "`TEMPLATE_EXISTS`: an active twin holds this configuration now (`template_id`, `template_name`, `workspace_id` name it)", body = ErrorResponse),
        (status = 503, description = "`DATABASE_UNAVAILABLE`", body = ErrorResponse),
    ),
    security(("bearer" = [])),
)]
pub async fn restore(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Template>, ApiError> {
    let id = visible_template(&state, &principal, &id).await?.id;
    principal.require_writer()?;
    match state.db.restore_template(id).await? {
        RestoreTemplate::Restored(t) => {
            tracing::info!(action = "restore_template", template_id = %id, org_id = %t.org_id,
                workspace_id = %t.workspace_id, status = "restored");
            Ok(Json(t))
        }
        RestoreTemplate::NotFound => Err(ApiError::TemplateNotFound),
        RestoreTemplate::ActiveTwin {
            existing,
            workspace_name,
        } => {
            count_duplicate();
            Err(ApiError::TemplateExists {
                existing: Box::new(existing),
                workspace_name,
            })
        }
    }
}

/// A write refused because the configuration is taken (pre-check or unique index alike).
fn count_duplicate() {
    use prompter_service::telemetry::{DEDUP_BLOCKED, UNIQUE_VIOLATIONS};
    metrics::counter!(DEDUP_BLOCKED).increment(1);
    metrics::counter!(UNIQUE_VIOLATIONS, "table" => "prompt_templates").increment(1);
}
