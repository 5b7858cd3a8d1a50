//! A batch's page: status, counts, usage, and the template × country grid of its tasks, with
//! "Retry failed" and "Cancel" for writers ([`crate::batches`] handles them). While the batch is
//! unfinished the page reloads itself (see [`crate::batches`] for why a meta refresh).

use std::collections::HashMap;

use askama::Template as _;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Response};
use prompter_service::records::{Batch, BatchStatus, BatchTask, Cursor, Workspace};
use prompter_service::{ListTasks, ListTemplates, PageRequest, ServiceError};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use crate::batch_grid::{self, Grid};
use crate::batches::{
    batch_href, batches_href, load_batch, schedule_names, BatchSummary, REFRESH_S,
};
use crate::error::UiError;
use crate::session::Session;
use crate::views::{load_brand, Layout};
use crate::UiState;

/// Tasks read per call (the services' largest page).
const TASK_PAGE: u32 = 500;
/// The grid shows at most this many tasks (the first ones, in creation order).
pub const MAX_TASKS_SHOWN: usize = 5_000;
/// Up to this many templates are read one by one for their names; more, and the brand's list is
/// read instead.
const NAME_LOOKUPS: usize = 20;

/// The batch's tasks in creation order, at most [`MAX_TASKS_SHOWN`]; `true` if there were more.
async fn tasks_of(
    state: &UiState,
    session: &Session,
    batch: &Batch,
) -> Result<(Vec<BatchTask>, bool), UiError> {
    let mut tasks: Vec<BatchTask> = Vec::new();
    let mut request = ListTasks {
        status: None,
        page: PageRequest {
            limit: Some(TASK_PAGE),
            cursor: None,
        },
    };
    loop {
        let page = state
            .services
            .list_tasks(&session.caller, batch.id, &request)
            .await?;
        tasks.extend(page.items);
        match page.next {
            Some(_) if tasks.len() >= MAX_TASKS_SHOWN => {
                tasks.truncate(MAX_TASKS_SHOWN);
                return Ok((tasks, true));
            }
            // Tasks page by id: the cursor's time is not used.
            Some(id) => {
                request.page.cursor = Some(
                    Cursor {
                        created_at: batch.created_at,
                        id,
                    }
                    .encode(),
                )
            }
            None => return Ok((tasks, false)),
        }
    }
}

/// The names of the batch's templates (deleted ones too). A few are read one by one; for many,
/// the brand's templates are listed until all are found.
async fn template_names(
    state: &UiState,
    session: &Session,
    ws: &Workspace,
    tasks: &[BatchTask],
) -> Result<HashMap<Uuid, String>, UiError> {
    let mut wanted: Vec<Uuid> = Vec::new();
    for t in tasks {
        if !wanted.contains(&t.template_id) {
            wanted.push(t.template_id);
        }
    }
    let mut names = HashMap::new();
    if wanted.len() <= NAME_LOOKUPS {
        for id in wanted {
            match state.services.get_template(&session.caller, id).await {
                Ok(t) => {
                    names.insert(id, t.name);
                }
                Err(ServiceError::TemplateNotFound) => {}
                Err(e) => return Err(e.into()),
            }
        }
        return Ok(names);
    }
    let mut request = ListTemplates {
        org_id: None,
        workspace_id: Some(ws.id.clone()),
        tag: None,
        include_deleted: true,
        page: PageRequest {
            limit: Some(TASK_PAGE),
            cursor: None,
        },
    };
    loop {
        let page = state
            .services
            .list_templates(&session.caller, &request)
            .await?;
        for t in page.items {
            if wanted.contains(&t.id) {
                names.insert(t.id, t.name);
            }
        }
        match page.next {
            Some(next) if names.len() < wanted.len() => request.page.cursor = Some(next.encode()),
            _ => return Ok(names),
        }
    }
}

#[derive(askama::Template)]
#[template(path = "batch.html")]
pub struct BatchPage {
    pub layout: Layout,
    pub csrf_token: String,
    pub ws_id: String,
    pub ws_name: String,
    pub list_href: String,
    pub b: BatchSummary,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub total_tokens: i64,
    pub token_budget: Option<i64>,
    pub max_concurrency: i32,
    pub brand_name: Option<String>,
    pub created_by: Option<String>,
    /// `(template id, reason)` of templates the batch left out.
    pub skipped: Vec<(String, String)>,
    pub grid: Grid,
    pub shown: usize,
    pub capped: bool,
    pub can_retry: bool,
    pub can_cancel: bool,
    pub retry_href: String,
    pub cancel_href: String,
    pub notice: Option<&'static str>,
    pub refresh: Option<String>,
    pub refresh_s: u32,
}

#[derive(Debug, Default, Deserialize)]
pub struct ShowQuery {
    /// The action just done (after its redirect): `cancelled` or `retried`.
    #[serde(default)]
    pub done: String,
}

/// `GET /brands/{ws}/batches/{id}`.
pub async fn show(
    State(state): State<UiState>,
    session: Session,
    Path((ws, id)): Path<(String, String)>,
    query: Result<Query<ShowQuery>, QueryRejection>,
) -> Result<Response, UiError> {
    let Query(query) = query.map_err(|e| UiError::BadRequest(e.body_text()))?;
    let ws = load_brand(&state, &session, &ws).await?;
    let b = load_batch(&state, &session, &ws, &id).await?;
    let (tasks, capped) = tasks_of(&state, &session, &b).await?;
    let names = template_names(&state, &session, &ws, &tasks).await?;
    let schedules = match b.schedule_id {
        Some(_) => schedule_names(&state, &session, &ws).await?,
        None => HashMap::new(),
    };
    let here = batch_href(&ws.id, b.id);
    let stopped = matches!(
        b.status,
        BatchStatus::Cancelled | BatchStatus::BudgetExhausted
    );
    let layout = Layout::load(&state, &session, Some(&ws), "Batch", "batches").await?;
    let page = BatchPage {
        csrf_token: session.csrf_token.clone(),
        list_href: batches_href(&ws.id),
        prompt_tokens: b.prompt_tokens,
        completion_tokens: b.completion_tokens,
        total_tokens: b.prompt_tokens + b.completion_tokens,
        token_budget: b.token_budget,
        max_concurrency: b.max_concurrency,
        brand_name: b
            .params
            .get("brand_name")
            .and_then(Value::as_str)
            .map(str::to_owned),
        created_by: b.created_by.clone(),
        skipped: skipped(&b.skipped),
        grid: batch_grid::build(&tasks, &names, &ws.id),
        shown: tasks.len(),
        capped,
        can_retry: layout.can_write && b.counts.failed > 0 && !stopped,
        can_cancel: layout.can_write && !b.status.is_final(),
        retry_href: format!("{here}/retry"),
        cancel_href: format!("{here}/cancel"),
        notice: match query.done.as_str() {
            "cancelled" => Some(
                "Cancelled: tasks that had not started will not run; running ones finish and \
                 are recorded.",
            ),
            "retried" => Some("The failed tasks are queued again."),
            "nothing" => Some("No task had failed: there was nothing to retry."),
            _ => None,
        },
        // The clean address: a reload does not repeat the notice.
        refresh: (!b.status.is_final()).then(|| here.clone()),
        refresh_s: REFRESH_S,
        b: BatchSummary::of(&b, &schedules),
        layout,
        ws_id: ws.id,
        ws_name: ws.name,
    };
    Ok(Html(page.render()?).into_response())
}

/// The batch's `skipped` list as `(template id, reason)`.
fn skipped(v: &Value) -> Vec<(String, String)> {
    v.as_array()
        .map(|items| {
            items
                .iter()
                .map(|s| {
                    let field = |k: &str| s.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
                    (field("template_id"), field("reason").replace('_', " "))
                })
                .collect()
        })
        .unwrap_or_default()
}
