//! Batches of a brand: start one from a template's page ("Run in all countries"), the list, retry
//! failed and cancel. A batch's own page is [`crate::batch_page`].
//!
//! Pages of unfinished batches reload themselves every [`REFRESH_S`] seconds with a
//! `<meta http-equiv="refresh">`: the API's JSON (`GET /api/batches/{id}`) takes bearer tokens
//! only, not the UI's session cookie, and a meta refresh needs no script (the CSP allows no
//! inline one).

use std::collections::HashMap;

use askama::Template as _;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use prompter_service::records::{Batch, Cursor, Workspace};
use prompter_service::{ListBatches, PageRequest, ServiceError};
use serde::Deserialize;
use uuid::Uuid;

use crate::batch_grid::{batch_class, batch_label};
use crate::detail::{render_detail, RunState};
use crate::error::{unknown_provider, UiError};
use crate::run_form::{new_form_key, BatchForm};
use crate::session::Session;
use crate::views::{load_brand, load_template, FieldErrors, Layout, Ts};
use crate::UiState;

/// Batches per page of the list.
pub const LIST_PAGE: u32 = 25;
/// Seconds between reloads of a page showing an unfinished batch.
pub const REFRESH_S: u32 = 2;

pub fn batches_href(ws: &str) -> String {
    format!("/brands/{ws}/batches")
}

pub fn batch_href(ws: &str, id: Uuid) -> String {
    format!("/brands/{ws}/batches/{id}")
}

/// A batch as the list and the page's head show it.
pub struct BatchSummary {
    pub id: String,
    pub href: String,
    pub created: Ts,
    pub started: Option<Ts>,
    pub finished: Option<Ts>,
    pub status: &'static str,
    pub status_label: String,
    pub status_class: &'static str,
    pub is_final: bool,
    pub total: i64,
    /// Succeeded, failed or cancelled.
    pub done: i64,
    pub pending: i64,
    pub running: i64,
    pub succeeded: i64,
    pub failed: i64,
    pub cancelled: i64,
    /// `(name, href)` of the schedule that fired it.
    pub schedule: Option<(String, String)>,
}

impl BatchSummary {
    pub(crate) fn of(b: &Batch, schedules: &HashMap<Uuid, String>) -> Self {
        let c = &b.counts;
        Self {
            id: b.id.to_string(),
            href: batch_href(&b.workspace_id, b.id),
            created: Ts::new(&b.created_at),
            started: b.started_at.as_ref().map(Ts::new),
            finished: b.finished_at.as_ref().map(Ts::new),
            status: b.status.as_str(),
            status_label: batch_label(b.status),
            status_class: batch_class(b.status),
            is_final: b.status.is_final(),
            total: b.total_tasks,
            done: c.succeeded + c.failed + c.cancelled,
            pending: c.pending,
            running: c.running,
            succeeded: c.succeeded,
            failed: c.failed,
            cancelled: c.cancelled,
            schedule: b.schedule_id.map(|id| {
                let name = schedules
                    .get(&id)
                    .cloned()
                    .unwrap_or_else(|| "a deleted schedule".into());
                (name, crate::schedules::schedules_href(&b.workspace_id))
            }),
        }
    }
}

/// `POST /brands/{ws}/templates/{id}/batch`: the template in all of its countries, then its page.
pub async fn create(
    State(state): State<UiState>,
    session: Session,
    Path((ws, id)): Path<(String, String)>,
    Form(form): Form<BatchForm>,
) -> Result<Response, UiError> {
    let ws = load_brand(&state, &session, &ws).await?;
    let t = load_template(&state, &session, &ws, &id).await?;
    session.require_writer()?;
    let refused = |status: StatusCode, field: &str, message: String, form: BatchForm| {
        let (state, session, ws, t) = (state.clone(), session.clone(), ws.clone(), t.clone());
        let mut errors = FieldErrors::default();
        errors.add(field, message);
        async move {
            let run = RunState {
                batch_form: form,
                batch_errors: errors,
                ..RunState::default()
            };
            let html = render_detail(&state, &session, ws, t, None, run).await?;
            Ok::<_, UiError>((status, Html(html)).into_response())
        }
    };
    let request = match form.to_request(&ws.id, &t.id.to_string()) {
        Ok(r) => r,
        Err(errors) => {
            let (field, message) = errors.all()[0].clone();
            return refused(StatusCode::UNPROCESSABLE_ENTITY, &field, message, form).await;
        }
    };
    let key = Some(form.idempotency_key.trim()).filter(|k| !k.is_empty() && k.len() <= 200);
    match state
        .services
        .create_batch(&session.caller, &request, key)
        .await
    {
        Ok(created) => Ok(Redirect::to(&batch_href(&ws.id, created.batch.id)).into_response()),
        Err(ServiceError::Invalid(e)) => {
            let field = BatchForm::field_of(&e.field);
            let message = format!("{} {}", e.field, e.message);
            refused(StatusCode::UNPROCESSABLE_ENTITY, field, message, form).await
        }
        Err(ServiceError::UnknownProvider { model_id }) => {
            let message = unknown_provider(&model_id);
            refused(
                StatusCode::UNPROCESSABLE_ENTITY,
                "batch_form",
                message,
                form,
            )
            .await
        }
        Err(ServiceError::ProviderNotConfigured { provider, hint }) => {
            let message = format!("provider {} is not configured: {hint}", provider.as_str());
            refused(StatusCode::SERVICE_UNAVAILABLE, "batch_form", message, form).await
        }
        // The form was sent before with other values (the browser's back button): a new key.
        Err(ServiceError::IdempotencyKeyReused) => {
            let message = "This form had already started a batch with other values. Check \
                           them and send it again."
                .to_owned();
            let form = BatchForm {
                idempotency_key: new_form_key(),
                ..form
            };
            refused(
                StatusCode::UNPROCESSABLE_ENTITY,
                "batch_form",
                message,
                form,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    pub cursor: String,
}

#[derive(askama::Template)]
#[template(path = "batches.html")]
pub struct BatchesPage {
    pub layout: Layout,
    pub ws_id: String,
    pub ws_name: String,
    pub list_href: String,
    pub rows: Vec<BatchSummary>,
    pub next_href: Option<String>,
    pub first_href: Option<String>,
    /// Where the page reloads itself while a batch on it is unfinished.
    pub refresh: Option<String>,
    pub refresh_s: u32,
}

/// The brand's schedules by id, to name the one that fired a batch.
pub(crate) async fn schedule_names(
    state: &UiState,
    session: &Session,
    ws: &Workspace,
) -> Result<HashMap<Uuid, String>, UiError> {
    Ok(state
        .services
        .list_schedules(&session.caller, None, Some(&ws.id))
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect())
}

/// `GET /brands/{ws}/batches`: newest first.
pub async fn list(
    State(state): State<UiState>,
    session: Session,
    Path(ws): Path<String>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, UiError> {
    let Query(query) = query.map_err(|e| UiError::BadRequest(e.body_text()))?;
    let ws = load_brand(&state, &session, &ws).await?;
    let after = match query.cursor.as_str() {
        "" => None,
        raw => Some(Cursor::decode(raw).map_err(|_| {
            UiError::BadRequest(
                "This page link is not valid any more; start from the first page.".into(),
            )
        })?),
    };
    let request = ListBatches {
        org_id: None,
        workspace_id: Some(ws.id.clone()),
        status: None,
        page: PageRequest {
            limit: Some(LIST_PAGE),
            cursor: after.map(|c| c.encode()),
        },
    };
    let page = state
        .services
        .list_batches(&session.caller, &request)
        .await?;
    let schedules = schedule_names(&state, &session, &ws).await?;
    let rows: Vec<BatchSummary> = page
        .items
        .iter()
        .map(|b| BatchSummary::of(b, &schedules))
        .collect();
    let list_href = batches_href(&ws.id);
    let here = match after {
        Some(c) => format!("{list_href}?cursor={}", c.encode()),
        None => list_href.clone(),
    };
    let layout = Layout::load(&state, &session, Some(&ws), "Batches", "batches").await?;
    let page = BatchesPage {
        layout,
        refresh: rows.iter().any(|r| !r.is_final).then_some(here),
        refresh_s: REFRESH_S,
        next_href: page
            .next
            .map(|c| format!("{list_href}?cursor={}", c.encode())),
        first_href: after.map(|_| list_href.clone()),
        list_href,
        rows,
        ws_id: ws.id,
        ws_name: ws.name,
    };
    Ok(Html(page.render()?).into_response())
}

/// The batch named in the URL, if the viewer may see it and it belongs to this brand.
pub(crate) async fn load_batch(
    state: &UiState,
    session: &Session,
    ws: &Workspace,
    raw: &str,
) -> Result<Batch, UiError> {
    let id = Uuid::parse_str(raw).map_err(|_| UiError::NotFound("batch"))?;
    let b = state.services.get_batch(&session.caller, id).await?;
    if b.org_id == ws.org_id && b.workspace_id == ws.id {
        Ok(b)
    } else {
        Err(UiError::NotFound("batch"))
    }
}

/// What retry and cancel answer for a batch that cannot change that way (409).
fn closed(ws: &str, b: &Batch, status: &str, action: &str) -> UiError {
    let state = match status {
        "succeeded" | "failed" | "partially_failed" => {
            format!("finished ({})", status.replace('_', " "))
        }
        "budget_exhausted" => "stopped: its token budget is used up".to_owned(),
        other => other.replace('_', " "),
    };
    UiError::Conflict {
        message: format!("This batch is {state}: it cannot be {action} any more."),
        link: Some((batch_href(ws, b.id), "Back to the batch".into())),
    }
}

/// `POST /brands/{ws}/batches/{id}/cancel`.
pub async fn cancel(
    State(state): State<UiState>,
    session: Session,
    Path((ws, id)): Path<(String, String)>,
) -> Result<Response, UiError> {
    let ws = load_brand(&state, &session, &ws).await?;
    let b = load_batch(&state, &session, &ws, &id).await?;
    session.require_writer()?;
    match state.services.cancel_batch(&session.caller, b.id).await {
        Ok(_) => Ok(
            Redirect::to(&format!("{}?done=cancelled", batch_href(&ws.id, b.id))).into_response(),
        ),
        Err(ServiceError::BatchClosed { status }) => Err(closed(&ws.id, &b, status, "cancelled")),
        Err(e) => Err(e.into()),
    }
}

/// `POST /brands/{ws}/batches/{id}/retry`: new attempts for the failed tasks.
pub async fn retry(
    State(state): State<UiState>,
    session: Session,
    Path((ws, id)): Path<(String, String)>,
) -> Result<Response, UiError> {
    let ws = load_brand(&state, &session, &ws).await?;
    let b = load_batch(&state, &session, &ws, &id).await?;
    session.require_writer()?;
    match state.services.retry_failed(&session.caller, b.id).await {
        Ok(_) => {
            // Nothing had failed (a stale page; another viewer retried first): say so.
            let done = if b.counts.failed > 0 {
                "retried"
            } else {
                "nothing"
            };
            let to = format!("{}?done={done}", batch_href(&ws.id, b.id));
            Ok(Redirect::to(&to).into_response())
        }
        Err(ServiceError::BatchClosed { status }) => Err(closed(&ws.id, &b, status, "retried")),
        Err(e) => Err(e.into()),
    }
}

/// A GET on an action (a reload, a pasted address) shows the batch instead of a 405.
pub async fn to_batch(Path((ws, id)): Path<(String, String)>) -> Redirect {
    let clean = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'))
            .collect()
    };
    Redirect::to(&format!("/brands/{}/batches/{}", clean(&ws), clean(&id)))
}
