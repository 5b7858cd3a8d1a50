//! One run result: what was sent, what came back, how it is to be analysed.

use askama::Template as _;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use prompter_service::records::{RunResult, RunStatus};
use prompter_service::ServiceError;
use serde_json::Value;
use uuid::Uuid;

use crate::error::UiError;
use crate::mentions::{MentionsView, StoredAnalysis};
use crate::session::Session;
use crate::views::{brand_href, load_brand, pretty, result_href, template_href, Layout, Ts};
use crate::UiState;

#[derive(askama::Template)]
#[template(path = "result.html")]
pub struct ResultPage {
    pub layout: Layout,
    pub ws_name: String,
    pub list_href: String,
    pub template_name: String,
    pub template_href: String,
    pub id: String,
    pub created: Ts,
    pub failed: bool,
    /// Still waiting for its provider: the page says so instead of showing an empty answer.
    pub running: bool,
    pub provider: String,
    pub model_id: String,
    pub version_key: Option<String>,
    pub fingerprint: Option<String>,
    pub country: Option<String>,
    pub grounding: &'static str,
    pub latency: String,
    pub is_fake: bool,
    pub prompt_hash: String,
    pub idempotency_key: Option<String>,
    pub answer: String,
    pub rendered_prompt: Option<String>,
    pub error: Option<String>,
    pub usage: Option<String>,
    pub request: String,
    pub response: String,
    pub analysis_config: String,
    /// The answer with its mentions marked, and the entities found; `None` when the answer was
    /// not analysed (no entities when it was recorded, and no re-analysis since).
    pub mentions: Option<MentionsView>,
    pub entities_href: String,
}

async fn load_result(state: &UiState, session: &Session, raw: &str) -> Result<RunResult, UiError> {
    let id = Uuid::parse_str(raw).map_err(|_| UiError::NotFound("result"))?;
    Ok(state.services.get_result(&session.caller, id).await?)
}

pub async fn show(
    State(state): State<UiState>,
    session: Session,
    Path((ws, id)): Path<(String, String)>,
) -> Result<Response, UiError> {
    let ws = load_brand(&state, &session, &ws).await?;
    let r = load_result(&state, &session, &id).await?;
    if r.org_id != ws.org_id || r.workspace_id != ws.id {
        return Err(UiError::NotFound("result"));
    }
    let template_name = match state
        .services
        .get_template(&session.caller, r.template_id)
        .await
    {
        Ok(t) => t.name,
        Err(ServiceError::TemplateNotFound) => "Template".into(),
        Err(e) => return Err(e.into()),
    };
    let mentions = mentions_of(&state, &session, &r).await?;
    let layout = Layout::load(&state, &session, Some(&ws), "Result", "templates").await?;
    let page = ResultPage {
        mentions,
        entities_href: crate::visibility::entities_href(&ws.id),
        layout,
        list_href: brand_href(&ws.id),
        ws_name: ws.name.clone(),
        template_href: template_href(&ws.id, r.template_id),
        template_name,
        id: r.id.to_string(),
        created: Ts::new(&r.created_at),
        failed: r.status == RunStatus::Failed,
        running: r.status == RunStatus::Running,
        provider: r.provider.clone(),
        model_id: r.model_id.clone(),
        version_key: r.provider_version_key.clone(),
        fingerprint: r.system_fingerprint.clone(),
        country: r.run_country.clone(),
        grounding: match r.used_grounding {
            Some(true) => "Yes",
            Some(false) => "No",
            None => "—",
        },
        latency: format!("{} ms", r.latency_ms),
        is_fake: r.is_fake,
        prompt_hash: r.rendered_prompt_hash.clone(),
        idempotency_key: r.idempotency_key.clone(),
        answer: r.answer_text(),
        rendered_prompt: r
            .request
            .get("rendered_prompt")
            .and_then(Value::as_str)
            .map(str::to_owned),
        error: r.error.as_ref().map(pretty),
        usage: r.usage.as_ref().map(pretty),
        request: pretty(&r.request),
        response: pretty(&r.response),
        analysis_config: pretty(&r.analysis_config),
    };
    Ok(Html(page.render()?).into_response())
}

/// The result's analysis (through the services), its mentions marked with the entities of the
/// snapshot it was made with.
async fn mentions_of(
    state: &UiState,
    session: &Session,
    r: &RunResult,
) -> Result<Option<MentionsView>, UiError> {
    let services = &state.services;
    let Some(analysis) = services
        .result_analyses(&[r])
        .await?
        .pop()
        .flatten()
        .as_ref()
        .and_then(StoredAnalysis::parse)
    else {
        return Ok(None);
    };
    let set = match analysis.alias_snapshot_id {
        Some(id) if analysis.is_current_extractor() => services
            .alias_snapshots(&session.caller, None, &r.workspace_id)
            .await?
            .into_iter()
            .find(|s| s.id == id)
            .and_then(|s| serde_json::from_value(s.entities).ok()),
        _ => None,
    };
    Ok(Some(MentionsView::new(
        &r.answer_text(),
        analysis,
        set.as_ref(),
    )))
}

/// `/results/{id}`: the brand-scoped address of a result.
pub async fn redirect(
    State(state): State<UiState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Redirect, UiError> {
    let r = load_result(&state, &session, &id).await?;
    Ok(Redirect::to(&result_href(&r.workspace_id, r.id)))
}
