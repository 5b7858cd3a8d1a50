//! A template's page: configuration, version timeline, chart, results, the run form and the
//! "Run in all countries" form (handled in [`crate::batches`]).

use std::collections::BTreeMap;

use askama::Template as _;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use prompter_domain::config_hash::normalize_country;
use prompter_service::records::{Cursor, RunResult, RunStatus, Template, Version, Workspace};
use prompter_service::{PageRequest, RunRequest, ServiceError};
use serde::Deserialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::chart::{self, Chart, Colors, Point};
use crate::error::{provider_failed_heading, unknown_provider, UiError};
use crate::run_form::{placeholders, run_field_of, BatchForm, RunForm};
use crate::session::Session;
use crate::views::{
    brand_href, load_brand, load_template, pretty, result_href, template_href, FieldErrors, Layout,
    Ts,
};
use crate::UiState;

/// Results per page of the table.
pub const RESULTS_PAGE: u32 = 20;
/// The chart is computed from at most this many of the newest results.
pub const CHART_SAMPLE: usize = 5_000;
const CHART_BATCH: u32 = 500;

/// The template's configuration, as shown.
pub struct TemplateView {
    pub id: String,
    pub name: String,
    pub href: String,
    pub model_id: String,
    pub provider: Option<String>,
    pub system_instructions: Option<String>,
    pub user_prompt_template: String,
    pub countries: Vec<String>,
    pub inference_params: Option<String>,
    pub tools_spec: Option<String>,
    pub response_format: Option<String>,
    pub retrieval_params: Option<String>,
    pub grounding_profile_id: Option<String>,
    pub grounding_snapshot_id: Option<String>,
    pub created_by: Option<String>,
    pub config_hash: String,
    pub canonical_json: String,
    pub created: Ts,
    pub deleted_at: Option<Ts>,
    pub tags: Vec<crate::labels::TagLink>,
    /// The tags as the labels form edits them (comma-separated).
    pub tags_text: String,
}

impl TemplateView {
    fn of(t: &Template) -> Self {
        let obj = |m: &Map<String, Value>| pretty(&Value::Object(m.clone()));
        Self {
            id: t.id.to_string(),
            name: t.name.clone(),
            href: template_href(&t.workspace_id, t.id),
            model_id: t.model_id.clone(),
            provider: t.provider.clone(),
            system_instructions: t.system_instructions.clone().filter(|s| !s.is_empty()),
            user_prompt_template: t.user_prompt_template.clone(),
            countries: normalized_countries(t),
            inference_params: Some(&t.inference_params).filter(|m| !m.is_empty()).map(obj),
            tools_spec: t
                .tools_spec
                .as_ref()
                .map(|v| pretty(&Value::Array(v.clone()))),
            response_format: t.response_format.as_ref().map(obj),
            retrieval_params: t.retrieval_params.as_ref().map(obj),
            grounding_profile_id: t.grounding_profile_id.clone(),
            grounding_snapshot_id: t.grounding_snapshot_id.clone(),
            created_by: t.created_by.clone(),
            config_hash: t.config_hash.clone(),
            canonical_json: t.config_canonical_json.clone(),
            created: Ts::new(&t.created_at),
            deleted_at: t.deleted_at.as_ref().map(Ts::new),
            tags: crate::labels::tag_links(&t.workspace_id, &t.tags),
            tags_text: t.tags.join(", "),
        }
    }
}

/// The template's countries as a run accepts them (`uk` → `GB`), sorted, without repeats.
fn normalized_countries(t: &Template) -> Vec<String> {
    let mut c: Vec<String> = t.country_set.iter().map(|c| normalize_country(c)).collect();
    c.sort();
    c.dedup();
    c
}

/// One version on the timeline.
pub struct TimelineItem {
    pub key: String,
    pub provider: String,
    pub model_id: String,
    pub response_model: Option<String>,
    pub fingerprint: Option<String>,
    pub first_seen: Ts,
    pub last_seen: Ts,
    /// The version key this one replaced (same provider and model): a drift.
    pub drift_from: Option<String>,
    /// Seen most recently of all.
    pub latest: bool,
    pub color: Option<&'static str>,
    pub href: String,
}

fn timeline(versions: &[Version], colors: &Colors, page_href: &str) -> Vec<TimelineItem> {
    let mut oldest_first: Vec<&Version> = versions.iter().collect();
    oldest_first.sort_by_key(|v| (v.first_seen_at, v.id));
    let latest = versions.iter().max_by_key(|v| v.last_seen_at).map(|v| v.id);
    let mut previous: BTreeMap<(&str, &str), &str> = BTreeMap::new();
    let mut items: Vec<TimelineItem> = oldest_first
        .iter()
        .map(|v| {
            let group = (v.provider.as_str(), v.model_id.as_str());
            let drift_from = previous
                .insert(group, v.provider_version_key.as_str())
                .map(str::to_owned);
            TimelineItem {
                key: v.provider_version_key.clone(),
                provider: v.provider.clone(),
                model_id: v.model_id.clone(),
                response_model: v.response_model.clone(),
                fingerprint: v.system_fingerprint.clone(),
                first_seen: Ts::new(&v.first_seen_at),
                last_seen: Ts::new(&v.last_seen_at),
                drift_from,
                latest: Some(v.id) == latest,
                color: colors.get(&v.provider_version_key),
                href: format!("{page_href}#results"),
            }
        })
        .collect();
    items.reverse();
    items
}

/// One row of the results table.
pub struct ResultRow {
    pub href: String,
    pub created: Ts,
    pub country: String,
    pub version_key: Option<String>,
    pub color: Option<&'static str>,
    pub fingerprint: Option<String>,
    pub grounding: &'static str,
    pub latency: String,
    pub failed: bool,
    /// Still waiting for its provider (started through the API, or by another replica).
    pub running: bool,
    pub is_fake: bool,
}

impl ResultRow {
    fn of(r: &RunResult, colors: &Colors) -> Self {
        Self {
            href: result_href(&r.workspace_id, r.id),
            created: Ts::new(&r.created_at),
            country: r.run_country.clone().unwrap_or_else(|| "—".into()),
            color: r
                .provider_version_key
                .as_deref()
                .and_then(|k| colors.get(k)),
            version_key: r.provider_version_key.clone(),
            fingerprint: r.system_fingerprint.clone(),
            grounding: match r.used_grounding {
                Some(true) => "Yes",
                Some(false) => "No",
                None => "—",
            },
            latency: format!("{} ms", r.latency_ms),
            failed: r.status == RunStatus::Failed,
            running: r.status == RunStatus::Running,
            is_fake: r.is_fake,
        }
    }
}

/// The answer of a run (shown after running).
pub struct OutcomeView {
    pub content: String,
    pub failed: bool,
    pub error: Option<String>,
    pub version_key: Option<String>,
    pub color: Option<&'static str>,
    pub provider: String,
    pub model_id: String,
    pub fingerprint: Option<String>,
    pub latency: String,
    pub is_fake: bool,
    pub grounding: &'static str,
    pub country: Option<String>,
    pub created: Ts,
    pub href: String,
}

impl OutcomeView {
    fn of(r: &RunResult, colors: &Colors) -> Self {
        let row = ResultRow::of(r, colors);
        Self {
            content: r.answer_text(),
            failed: row.failed,
            error: r
                .error
                .as_ref()
                .and_then(|e| e.get("message"))
                .and_then(Value::as_str)
                .map(str::to_owned),
            version_key: row.version_key,
            color: row.color,
            provider: r.provider.clone(),
            model_id: r.model_id.clone(),
            fingerprint: row.fingerprint,
            latency: row.latency,
            is_fake: r.is_fake,
            grounding: row.grounding,
            country: r.run_country.clone(),
            created: row.created,
            href: row.href,
        }
    }
}

/// The provider failed (502) or is not configured (503).
pub struct ProviderErrorView {
    pub title: String,
    pub message: String,
    pub result_href: Option<String>,
}

#[derive(askama::Template)]
#[template(path = "template_detail.html")]
pub struct DetailPage {
    pub layout: Layout,
    pub csrf_token: String,
    pub ws_id: String,
    pub ws_name: String,
    pub list_href: String,
    pub t: TemplateView,
    pub here: String,
    pub delete_href: String,
    pub restore_href: String,
    pub copy_href: String,
    pub run_href: String,
    pub timeline: Vec<TimelineItem>,
    pub chart: Option<Chart>,
    pub chart_sample_full: bool,
    pub results: Vec<ResultRow>,
    pub results_next: Option<String>,
    pub results_first: Option<String>,
    pub run_form: RunForm,
    pub run_errors: FieldErrors,
    pub placeholders: Vec<String>,
    /// "Run in all countries": creates a batch of this template.
    pub batch_href: String,
    pub batch_form: BatchForm,
    pub batch_errors: FieldErrors,
    pub provider_error: Option<ProviderErrorView>,
    pub outcome: Option<OutcomeView>,
}

#[derive(Debug, Default, Deserialize)]
pub struct DetailQuery {
    /// Keyset cursor of the results table.
    #[serde(default)]
    pub cursor: String,
    /// The result of the run just made (after the redirect).
    #[serde(default)]
    pub ran: String,
}

/// The newest results (up to [`CHART_SAMPLE`]), and whether there were more.
async fn chart_sample(
    state: &UiState,
    session: &Session,
    t: &Template,
) -> Result<(Vec<Point>, bool), UiError> {
    let mut points = Vec::new();
    let mut page_request = PageRequest {
        limit: Some(CHART_BATCH),
        cursor: None,
    };
    loop {
        let page = state
            .services
            .list_results(&session.caller, t, None, &page_request)
            .await?;
        points.extend(page.items.iter().map(|r| Point {
            at: r.created_at,
            version_key: r.provider_version_key.clone(),
        }));
        match page.next {
            Some(next) if points.len() < CHART_SAMPLE => page_request.cursor = Some(next.encode()),
            next => return Ok((points, next.is_some())),
        }
    }
}

/// What the forms of the page show: as typed with their messages after a refused submit, or fresh.
#[derive(Default)]
pub(crate) struct RunState {
    pub form: RunForm,
    pub errors: FieldErrors,
    pub provider_error: Option<ProviderErrorView>,
    pub outcome_id: Option<Uuid>,
    pub batch_form: BatchForm,
    pub batch_errors: FieldErrors,
}

/// The template's page, its forms as `run` says.
pub(crate) async fn render_detail(
    state: &UiState,
    session: &Session,
    ws: Workspace,
    t: Template,
    cursor: Option<Cursor>,
    run: RunState,
) -> Result<String, UiError> {
    let services = &state.services;
    let versions = services.list_versions(&session.caller, &t).await?;
    let mut colors = {
        let mut oldest_first: Vec<&Version> = versions.iter().collect();
        oldest_first.sort_by_key(|v| (v.first_seen_at, v.id));
        Colors::new(oldest_first.iter().map(|v| v.provider_version_key.as_str()))
    };
    let (points, more) = chart_sample(state, session, &t).await?;
    let chart = chart::render(&points, &mut colors);
    let results_request = PageRequest {
        limit: Some(RESULTS_PAGE),
        cursor: cursor.map(|c| c.encode()),
    };
    let page = services
        .list_results(&session.caller, &t, None, &results_request)
        .await?;
    let here = template_href(&ws.id, t.id);
    let outcome = match run.outcome_id {
        Some(id) => match services.get_result(&session.caller, id).await {
            Ok(r) if r.template_id == t.id => Some(OutcomeView::of(&r, &colors)),
            Ok(_) | Err(ServiceError::ResultNotFound) => None,
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    let layout = Layout::load(state, session, Some(&ws), t.name.clone(), "templates").await?;
    let page = DetailPage {
        layout,
        csrf_token: session.csrf_token.clone(),
        list_href: brand_href(&ws.id),
        delete_href: format!("{here}/delete"),
        restore_href: format!("{here}/restore"),
        copy_href: format!("/brands/{}/templates/new?from={}", ws.id, t.id),
        run_href: format!("{here}/run"),
        timeline: timeline(&versions, &colors, &here),
        chart,
        chart_sample_full: more,
        results: page
            .items
            .iter()
            .map(|r| ResultRow::of(r, &colors))
            .collect(),
        results_next: page
            .next
            .map(|c| format!("{here}?cursor={}#results", c.encode())),
        results_first: cursor.map(|_| format!("{here}#results")),
        run_form: RunForm {
            brand_name: if run.form.brand_name.is_empty() && run.errors.is_empty() {
                ws.name.clone()
            } else {
                run.form.brand_name.clone()
            },
            ..run.form
        },
        run_errors: run.errors,
        batch_href: format!("{here}/batch"),
        batch_form: BatchForm {
            batch_brand_name: if run.batch_form.batch_brand_name.is_empty()
                && run.batch_errors.is_empty()
            {
                ws.name.clone()
            } else {
                run.batch_form.batch_brand_name.clone()
            },
            ..run.batch_form
        },
        batch_errors: run.batch_errors,
        placeholders: placeholders(&t.user_prompt_template)
            .into_iter()
            .filter(|p| !matches!(p.as_str(), "country" | "brand_name" | "brand"))
            .collect(),
        provider_error: run.provider_error,
        outcome,
        t: TemplateView::of(&t),
        here,
        ws_id: ws.id,
        ws_name: ws.name,
    };
    Ok(page.render()?)
}

pub async fn show(
    State(state): State<UiState>,
    session: Session,
    Path((ws, id)): Path<(String, String)>,
    query: Result<Query<DetailQuery>, QueryRejection>,
) -> Result<Response, UiError> {
    let Query(query) = query.map_err(|e| UiError::BadRequest(e.body_text()))?;
    let ws = load_brand(&state, &session, &ws).await?;
    let t = load_template(&state, &session, &ws, &id).await?;
    let cursor = match query.cursor.as_str() {
        "" => None,
        raw => Some(Cursor::decode(raw).map_err(|_| {
            UiError::BadRequest(
                "This page link is not valid any more; start from the first page.".into(),
            )
        })?),
    };
    let run = RunState {
        outcome_id: Uuid::parse_str(&query.ran).ok(),
        ..RunState::default()
    };
    Ok(Html(render_detail(&state, &session, ws, t, cursor, run).await?).into_response())
}

pub async fn run(
    State(state): State<UiState>,
    session: Session,
    Path((ws, id)): Path<(String, String)>,
    Form(form): Form<RunForm>,
) -> Result<Response, UiError> {
    let ws = load_brand(&state, &session, &ws).await?;
    let t = load_template(&state, &session, &ws, &id).await?;
    session.require_writer()?;
    let failed = |status: StatusCode,
                  errors: FieldErrors,
                  provider_error: Option<ProviderErrorView>,
                  form: RunForm,
                  ws: Workspace,
                  t: Template| {
        let (state, session) = (state.clone(), session.clone());
        async move {
            let run = RunState {
                form,
                errors,
                provider_error,
                ..RunState::default()
            };
            let html = render_detail(&state, &session, ws, t, None, run).await?;
            Ok::<_, UiError>((status, Html(html)).into_response())
        }
    };
    let request = match form.to_request() {
        Ok(r) => r,
        Err(errors) => {
            return failed(StatusCode::UNPROCESSABLE_ENTITY, errors, None, form, ws, t).await
        }
    };
    let mut errors = FieldErrors::default();
    match start_run(&state, &session, t.id, &request).await {
        Ok(result_id) => Ok(Redirect::to(&format!(
            "{}?ran={result_id}#run-result",
            template_href(&ws.id, t.id),
        ))
        .into_response()),
        Err(ServiceError::Invalid(e)) => {
            errors.add(run_field_of(&e.field), format!("{} {}", e.field, e.message));
            failed(StatusCode::UNPROCESSABLE_ENTITY, errors, None, form, ws, t).await
        }
        Err(ServiceError::TemplateDeleted) => {
            errors.add("form", "the template is deleted; restore it to run it");
            failed(StatusCode::CONFLICT, errors, None, form, ws, t).await
        }
        Err(ServiceError::UnknownProvider { model_id }) => {
            errors.add("form", unknown_provider(&model_id));
            failed(StatusCode::UNPROCESSABLE_ENTITY, errors, None, form, ws, t).await
        }
        Err(ServiceError::ProviderNotConfigured { provider, hint }) => {
            let view = ProviderErrorView {
                title: format!("{} is not configured", provider.as_str()),
                message: format!("provider {} is not configured: {hint}", provider.as_str()),
                result_href: None,
            };
            failed(
                StatusCode::SERVICE_UNAVAILABLE,
                errors,
                Some(view),
                form,
                ws,
                t,
            )
            .await
        }
        Err(ServiceError::ProviderFailed {
            provider,
            provider_status,
            message,
            result_id,
        }) => {
            let view = ProviderErrorView {
                title: provider_failed_heading(provider.as_str(), provider_status),
                message,
                result_href: result_id.map(|id| result_href(&ws.id, id)),
            };
            failed(StatusCode::BAD_GATEWAY, errors, Some(view), form, ws, t).await
        }
        Err(other) => Err(other.into()),
    }
}

/// Runs the template and answers the result to show, once its outcome is recorded. The one place
/// the UI starts a run. The run itself belongs to the services: a browser that leaves the page
/// does not lose it.
async fn start_run(
    state: &UiState,
    session: &Session,
    template_id: Uuid,
    request: &RunRequest,
) -> Result<Uuid, ServiceError> {
    let outcome = state
        .services
        .run_template(&session.caller, template_id, request, None)
        .await?;
    Ok(outcome.result_id)
}
