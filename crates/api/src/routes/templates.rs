//! `/api/prompt-templates`: the template registry. Each handler parses its input into the
//! service's typed request, calls the service with the caller, and renders the outcome.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use prompter_domain::{parse_template_spec, NameRule, TemplateSpec};
use prompter_service::{Caller, ListTemplates, UpdateLabels};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{template_id, JsonBody, TypedBody};
use crate::openapi::{
    CheckDuplicateRequest, CreateTemplateRequest, ErrorResponse, UpdateLabelsRequest,
};
use crate::params::Params;
use crate::views::{all, DuplicateCheckView, TemplateView};
use crate::AppState;

/// A create or check-duplicate body as the service's typed spec. A body that names no
/// organisation acts in the caller's own (the service refuses another one).
fn spec(caller: &Caller, mut body: Value, names: NameRule) -> Result<TemplateSpec, ApiError> {
    if let Value::Object(map) = &mut body {
        if map.get("org_id").is_none_or(Value::is_null) {
            map.insert("org_id".into(), caller.default_org().to_string().into());
        }
    }
    Ok(parse_template_spec(&body, names)?)
}

/// Create a template; identical configurations inside one brand are refused.
#[utoipa::path(
    post,
    path = "/api/prompt-templates",
    operation_id = "create_template",
    tag = "templates",
    request_body(content = CreateTemplateRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = TemplateView),
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
    Principal(caller): Principal,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<TemplateView>), ApiError> {
    let spec = spec(&caller, body, NameRule::Required)?;
    let created = state.services.create_template(&caller, spec).await?;
    Ok((StatusCode::CREATED, Json(created.into())))
}

/// Whether this configuration is taken in the workspace, and its hash; never writes.
#[utoipa::path(
    post,
    path = "/api/prompt-templates/check-duplicate",
    operation_id = "check_duplicate",
    tag = "templates",
    request_body(content = CheckDuplicateRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The check", body = DuplicateCheckView),
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
    Principal(caller): Principal,
    JsonBody(body): JsonBody,
) -> Result<Json<DuplicateCheckView>, ApiError> {
    let spec = spec(&caller, body, NameRule::Optional)?;
    Ok(Json(
        state.services.check_duplicate(&caller, &spec).await?.into(),
    ))
}

/// A page of templates, newest first.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TemplateList {
    items: Vec<TemplateView>,
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
        ("tag" = Option<String>, Query, nullable = false, min_length = 1, max_length = 64, pattern = r"^[a-z0-9:_-]+$", description = "Only templates with this tag"),
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
    Principal(caller): Principal,
    query: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<TemplateList>, ApiError> {
    let params = Params::from_query(query)?;
    let request = ListTemplates {
        org_id: params.get("org_id").map(str::to_owned),
        workspace_id: params.get("workspace_id").map(str::to_owned),
        include_deleted: params.bool("include_deleted")?.unwrap_or(false),
        tag: params.get("tag").map(str::to_owned),
        page: params.page()?,
    };
    let page = state.services.list_templates(&caller, &request).await?;
    Ok(Json(TemplateList {
        items: all(page.items),
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
        (status = 200, description = "The template", body = TemplateView),
        (status = 404, description = "`TEMPLATE_NOT_FOUND`: unknown, malformed or not visible to the token", body = ErrorResponse),
        (status = 503, description = "`DATABASE_UNAVAILABLE`", body = ErrorResponse),
    ),
    security(("bearer" = [])),
)]
pub async fn get(
    State(state): State<AppState>,
    Principal(caller): Principal,
    Path(id): Path<String>,
) -> Result<Json<TemplateView>, ApiError> {
    let id = template_id(&id)?;
    Ok(Json(state.services.get_template(&caller, id).await?.into()))
}

/// The body of `PATCH /api/prompt-templates/{id}` (documented by [`UpdateLabelsRequest`]).
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelsBody {
    name: Option<String>,
    tags: Option<Vec<String>>,
}

/// Change a template's labels: its name and tags (neither is part of the configuration hash, so
/// this never creates or breaks a duplicate). Deleted templates too.
#[utoipa::path(
    patch,
    path = "/api/prompt-templates/{id}",
    operation_id = "update_template_labels",
    tag = "templates",
    params(("id" = String, Path, format = Uuid, description = "Template id (a UUIDv7; a malformed one is a 404)")),
    request_body(content = UpdateLabelsRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The template as it is now", body = TemplateView),
        (status = 400, description = "`MALFORMED_JSON`: the body is not JSON, or not UTF-8", body = ErrorResponse),
        (status = 413, description = "`PAYLOAD_TOO_LARGE`: the body is over 1 MiB", body = ErrorResponse),
        (status = 415, description = "`UNSUPPORTED_MEDIA_TYPE`: `Content-Type` is not `application/json`", body = ErrorResponse),
        (status = 403, description = "`FORBIDDEN`: a reader token", body = ErrorResponse),
        (status = 404, description = "`TEMPLATE_NOT_FOUND`: unknown, malformed or not visible to the token", body = ErrorResponse),
        (status = 422, description = "`INVALID_FIELD`: `name`, `tags` or `tags[i]` (`field` names it), or an unknown field", body = ErrorResponse),
        (status = 503, description = "`DATABASE_UNAVAILABLE`", body = ErrorResponse),
    ),
    security(("bearer" = [])),
)]
pub async fn update_labels(
    State(state): State<AppState>,
    Principal(caller): Principal,
    Path(id): Path<String>,
    TypedBody(body): TypedBody<LabelsBody>,
) -> Result<Json<TemplateView>, ApiError> {
    let id = template_id(&id)?;
    let request = UpdateLabels {
        name: body.name,
        tags: body.tags,
    };
    Ok(Json(
        state
            .services
            .update_template_labels(&caller, id, &request)
            .await?
            .into(),
    ))
}

/// Soft-delete a template (idempotent: deleting again keeps the first `deleted_at`).
#[utoipa::path(
    delete,
    path = "/api/prompt-templates/{id}",
    operation_id = "delete_template",
    tag = "templates",
    params(("id" = String, Path, format = Uuid, description = "Template id (a UUIDv7; a malformed one is a 404)")),
    responses(
        (status = 200, description = "The template, with `deleted_at`", body = TemplateView),
        (status = 403, description = "`FORBIDDEN`: a reader token", body = ErrorResponse),
        (status = 404, description = "`TEMPLATE_NOT_FOUND`: unknown, malformed or not visible to the token", body = ErrorResponse),
        (status = 503, description = "`DATABASE_UNAVAILABLE`", body = ErrorResponse),
    ),
    security(("bearer" = [])),
)]
pub async fn delete(
    State(state): State<AppState>,
    Principal(caller): Principal,
    Path(id): Path<String>,
) -> Result<Json<TemplateView>, ApiError> {
    let id = template_id(&id)?;
    Ok(Json(
        state.services.delete_template(&caller, id).await?.into(),
    ))
}

/// Restore a soft-deleted template (a no-op on an active one).
#[utoipa::path(
    post,
    path = "/api/prompt-templates/{id}/restore",
    operation_id = "restore_template",
    tag = "templates",
    params(("id" = String, Path, format = Uuid, description = "Template id (a UUIDv7; a malformed one is a 404)")),
    responses(
        (status = 200, description = "The active template", body = TemplateView),
        (status = 403, description = "`FORBIDDEN`: a reader token", body = ErrorResponse),
        (status = 404, description = "`TEMPLATE_NOT_FOUND`: unknown, malformed or not visible to the token", body = ErrorResponse),
        (status = 409, description = "`TEMPLATE_EXISTS`: an active twin holds this configuration now (`template_id`, `template_name`, `workspace_id` name it)", body = ErrorResponse),
        (status = 503, description = "`DATABASE_UNAVAILABLE`", body = ErrorResponse),
    ),
    security(("bearer" = [])),
)]
pub async fn restore(
    State(state): State<AppState>,
    Principal(caller): Principal,
    Path(id): Path<String>,
) -> Result<Json<TemplateView>, ApiError> {
    let id = template_id(&id)?;
    Ok(Json(
        state.services.restore_template(&caller, id).await?.into(),
    ))
}
