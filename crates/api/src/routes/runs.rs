//! Versions and runs of a template: ensure-version, run, and their history.

use std::collections::HashMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::header::LOCATION;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use prompter_domain::FieldError;
use prompter_service::{EnsureVersionRequest as EnsureVersionBody, RunRequest as RunBody};
use serde::Serialize;
use uuid::Uuid;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{template_id, TypedBody};
use crate::openapi::{EnsureVersionRequest, ErrorResponse, RunRequest};
use crate::params::Params;
use crate::views::{
    all, EnsuredVersionView, ResultView, RunAcceptedView, RunOutcomeView, RunStatusView,
    VersionView,
};
use crate::AppState;

/// Longest accepted `Idempotency-Key`.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// Which model build answers this template now: one minimal provider call (cached for the
/// hour unless `force`), then an upsert of the version.
#[utoipa::path(
    post,
    path = "/api/prompt-templates/{id}/ensure-version",
    operation_id = "ensure_version",
    tag = "runs",
    params(
        ("id" = String, Path, format = Uuid, description = "Template id (a UUIDv7; a malformed one is a 404)"),
        ("force" = Option<bool>, Query, nullable = false, description = "Probe even when the hour's probe is cached (`true`/`1`, `false`/`0`)"),
    ),
    request_body(content = Option<EnsureVersionRequest>, content_type = "application/json", description = "Optional; an empty body means `{}`"),
    responses(
        (status = 200, description = "The version", body = EnsuredVersionView),
        (status = 400, description = "`MALFORMED_JSON`: the body is not JSON, or not UTF-8", body = ErrorResponse),
        (status = 413, description = "`PAYLOAD_TOO_LARGE`: the body is over 1 MiB", body = ErrorResponse),
        (status = 415, description = "`UNSUPPORTED_MEDIA_TYPE`: `Content-Type` is not `application/json`", body = ErrorResponse),
        (status = 403, description = "`FORBIDDEN`: a reader token", body = ErrorResponse),
        (status = 404, description = "`TEMPLATE_NOT_FOUND`: unknown, malformed or not visible to the token", body = ErrorResponse),
        (status = 422, description = "`INVALID_FIELD` (a body field or `force`; `field` names it) or `UNKNOWN_PROVIDER`", body = ErrorResponse),
        (status = 502, description = "`PROVIDER_ERROR`: the provider failed (`provider`, `provider_status`)", body = ErrorResponse),
        (status = 503, description = "`PROVIDER_NOT_CONFIGURED` (live mode without credentials), `PROBE_DISABLED` (kill switch on, no version known yet) or `DATABASE_UNAVAILABLE`", body = ErrorResponse),
    ),
    security(("bearer" = [])),
)]
pub async fn ensure_version(
    State(state): State<AppState>,
    Principal(caller): Principal,
    Path(id): Path<String>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
    TypedBody(body): TypedBody<EnsureVersionBody>,
) -> Result<Json<EnsuredVersionView>, ApiError> {
    let id = template_id(&id)?;
    let force = Params::from_query(query)?.bool("force")?.unwrap_or(false);
    let ensured = state
        .services
        .ensure_version(&caller, id, &body, force)
        .await?;
    Ok(Json(ensured.into()))
}

/// The provider versions of a template.
#[derive(Serialize, utoipa::ToSchema)]
pub struct VersionList {
    items: Vec<VersionView>,
}

/// The provider versions recorded for a template.
#[utoipa::path(
    get,
    path = "/api/prompt-templates/{id}/versions",
    operation_id = "list_versions",
    tag = "runs",
    params(("id" = String, Path, format = Uuid, description = "Template id (a UUIDv7; a malformed one is a 404)")),
    responses(
        (status = 200, description = "The versions", body = VersionList),
        (status = 404, description = "`TEMPLATE_NOT_FOUND`: unknown, malformed or not visible to the token", body = ErrorResponse),
        (status = 503, description = "`DATABASE_UNAVAILABLE`", body = ErrorResponse),
    ),
    security(("bearer" = [])),
)]
pub async fn versions(
    State(state): State<AppState>,
    Principal(caller): Principal,
    Path(id): Path<String>,
) -> Result<Json<VersionList>, ApiError> {
    let template = state
        .services
        .get_template(&caller, template_id(&id)?)
        .await?;
    Ok(Json(VersionList {
        items: all(state.services.list_versions(&caller, &template).await?),
    }))
}

pub(crate) fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
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

/// Run a template once: render, call the model, record version and result.
#[utoipa::path(
    post,
    path = "/api/prompt-templates/{id}/run",
    operation_id = "run_template",
    tag = "runs",
    params(
        ("id" = String, Path, format = Uuid, description = "Template id (a UUIDv7; a malformed one is a 404)"),
        ("Prefer" = Option<String>, Header, nullable = false, description = "`respond-async`: answer 202 at once, without waiting for the outcome"),
        ("Idempotency-Key" = Option<String>, Header, nullable = false, min_length = 1, max_length = 255, pattern = r"^[!-~]+$", description = "1–255 visible ASCII characters, scoped to the template and remembered 24 h: a repeat returns the first result (`idempotent_replay: true`)"),
    ),
    request_body(content = Option<RunRequest>, content_type = "application/json", description = "Optional; an empty body means `{}`"),
    responses(
        (status = 200, description = "The run's outcome, known within `PROMPTER_RUN_WAIT_MS` (also an idempotent replay)", body = RunOutcomeView),
        (status = 202, description = "Still waiting for the provider after `PROMPTER_RUN_WAIT_MS` (or `Prefer: respond-async`): the run goes on and is recorded; `GET` the `Location` (`/api/results/{id}`) until `status` is not `running`", body = RunAcceptedView,
            headers(("Location" = String, description = "`/api/results/{id}` of the running result"))),
        (status = 400, description = "`MALFORMED_JSON`: the body is not JSON, or not UTF-8", body = ErrorResponse),
        (status = 413, description = "`PAYLOAD_TOO_LARGE`: the body is over 1 MiB", body = ErrorResponse),
        (status = 415, description = "`UNSUPPORTED_MEDIA_TYPE`: `Content-Type` is not `application/json`", body = ErrorResponse),
        (status = 403, description = "`FORBIDDEN`: a reader token", body = ErrorResponse),
        (status = 404, description = "`TEMPLATE_NOT_FOUND`: unknown, malformed or not visible to the token", body = ErrorResponse),
        (status = 409, description = "`TEMPLATE_DELETED`: restore it to run it", body = ErrorResponse),
        (status = 422, description = "`INVALID_FIELD` (a body field or `Idempotency-Key`; `field` names it), `UNKNOWN_PROVIDER` or `IDEMPOTENCY_KEY_REUSED`", body = ErrorResponse),
        (status = 502, description = "`PROVIDER_ERROR`: the provider failed; the failed attempt is recorded (`result_id`)", body = ErrorResponse),
        (status = 503, description = "`PROVIDER_NOT_CONFIGURED` (live mode without credentials) or `DATABASE_UNAVAILABLE`", body = ErrorResponse),
    ),
    security(("bearer" = [])),
)]
pub async fn run(
    State(state): State<AppState>,
    Principal(caller): Principal,
    Path(id): Path<String>,
    headers: HeaderMap,
    TypedBody(body): TypedBody<RunBody>,
) -> Result<Response, ApiError> {
    let id = template_id(&id)?;
    let key = idempotency_key(&headers)?;
    let respond_async = prefers_async(&headers);
    let mut handle = state
        .services
        .start_run(&caller, id, &body, key.as_deref())
        .await?;
    if !respond_async {
        // Dropping the wait (bound reached, client gone) leaves the run to the service.
        if let Ok(outcome) = tokio::time::timeout(state.run_wait, handle.outcome()).await {
            let mut view = RunOutcomeView::from(outcome?);
            view.analysis = state
                .services
                .analysis_of_result(&caller, view.result_id)
                .await?;
            return Ok(Json(view).into_response());
        }
    }
    let result_id = handle.result_id();
    let mut response = (
        StatusCode::ACCEPTED,
        Json(RunAcceptedView {
            id: result_id,
            result_id,
            status: RunStatusView::Running,
        }),
    )
        .into_response();
    let location = HeaderValue::from_str(&format!("/api/results/{result_id}"))
        .expect("a UUID path is a header value");
    response.headers_mut().insert(LOCATION, location);
    if respond_async {
        response.headers_mut().insert(
            "preference-applied",
            HeaderValue::from_static("respond-async"),
        );
    }
    Ok(response)
}

/// `Prefer: respond-async` (RFC 7240): answer 202 at once instead of waiting for the outcome.
fn prefers_async(headers: &HeaderMap) -> bool {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim().eq_ignore_ascii_case("respond-async"))
}

/// A page of run results, newest first.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ResultList {
    items: Vec<ResultView>,
    next_cursor: Option<String>,
}

/// The run results of a template, newest first, keyset-paginated.
#[utoipa::path(
    get,
    path = "/api/prompt-templates/{id}/results",
    operation_id = "list_results",
    tag = "runs",
    params(
        ("id" = String, Path, format = Uuid, description = "Template id (a UUIDv7; a malformed one is a 404)"),
        ("limit" = Option<u32>, Query, nullable = false, minimum = 1, maximum = 500, description = "Page size, 1–500 (default 50)"),
        ("cursor" = Option<String>, Query, nullable = false, description = "`next_cursor` of the previous page"),
        ("batch_id" = Option<String>, Query, nullable = false, format = Uuid, description = "Only the results of this batch's tasks"),
    ),
    responses(
        (status = 200, description = "A page", body = ResultList),
        (status = 404, description = "`TEMPLATE_NOT_FOUND`: unknown, malformed or not visible to the token", body = ErrorResponse),
        (status = 422, description = "`INVALID_FIELD`: `limit`, `cursor` or `batch_id` (`field` names it)", body = ErrorResponse),
        (status = 503, description = "`DATABASE_UNAVAILABLE`", body = ErrorResponse),
    ),
    security(("bearer" = [])),
)]
pub async fn results(
    State(state): State<AppState>,
    Principal(caller): Principal,
    Path(id): Path<String>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<ResultList>, ApiError> {
    let params = Params::from_query(query)?;
    let page = params.page()?;
    let batch_id = params.uuid("batch_id")?;
    let template = state
        .services
        .get_template(&caller, template_id(&id)?)
        .await?;
    let page = state
        .services
        .list_results(&caller, &template, batch_id, &page)
        .await?;
    let analyses = state
        .services
        .result_analyses(&page.items.iter().collect::<Vec<_>>())
        .await?;
    let mut items: Vec<ResultView> = all(page.items);
    for (view, analysis) in items.iter_mut().zip(analyses) {
        view.analysis = analysis;
    }
    Ok(Json(ResultList {
        items,
        next_cursor: page.next.map(|c| c.encode()),
    }))
}

/// One run result.
#[utoipa::path(
    get,
    path = "/api/results/{id}",
    operation_id = "get_result",
    tag = "runs",
    params(("id" = String, Path, format = Uuid, description = "Result id (a malformed one is a 404)")),
    responses(
        (status = 200, description = "The result", body = ResultView),
        (status = 404, description = "`RESULT_NOT_FOUND`: unknown, malformed or not visible to the token", body = ErrorResponse),
        (status = 503, description = "`DATABASE_UNAVAILABLE`", body = ErrorResponse),
    ),
    security(("bearer" = [])),
)]
pub async fn result(
    State(state): State<AppState>,
    Principal(caller): Principal,
    Path(id): Path<String>,
) -> Result<Json<ResultView>, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::ResultNotFound)?;
    let result = state.services.get_result(&caller, id).await?;
    let analysis = state
        .services
        .result_analyses(&[&result])
        .await?
        .pop()
        .flatten();
    let mut view = ResultView::from(result);
    view.analysis = analysis;
    Ok(Json(view))
}
