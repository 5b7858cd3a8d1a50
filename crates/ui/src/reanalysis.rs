//! Re-analysis from the visibility dashboard: "Re-analyse" queues `Services::reanalyze` (every
//! stored answer of the brand analysed again with its current entities; no model is called) and
//! leads to the dashboard with `?job={id}`, which shows the job's progress and reloads itself
//! until the job is finished (see [`crate::visibility`]).

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use prompter_service::records::{JobStatus, ReanalysisJob, Workspace};
use prompter_service::ReanalyzeRequest;
use serde::Deserialize;

use crate::error::UiError;
use crate::session::Session;
use crate::views::{load_brand, Ts};
use crate::visibility::visibility_href;
use crate::UiState;

/// A job's progress, as the dashboard shows it.
pub struct JobView {
    pub id: String,
    pub status: &'static str,
    pub label: &'static str,
    pub class: &'static str,
    pub is_final: bool,
    pub total: i64,
    pub processed: i64,
    pub analysed: i64,
    pub error: Option<String>,
    pub created: Ts,
    pub finished: Option<Ts>,
}

impl JobView {
    pub fn of(j: &ReanalysisJob) -> Self {
        let (label, class) = match j.status {
            JobStatus::Queued => ("Queued", "badge-pending"),
            JobStatus::Running => ("Running", "badge-running"),
            JobStatus::Succeeded => ("Succeeded", "badge-ok"),
            JobStatus::Failed => ("Failed", "badge-failed"),
        };
        Self {
            id: j.id.to_string(),
            status: j.status.as_str(),
            label,
            class,
            is_final: matches!(j.status, JobStatus::Succeeded | JobStatus::Failed),
            total: j.total,
            processed: j.processed,
            analysed: j.analysed,
            error: j.error.clone(),
            created: Ts::new(&j.created_at),
            finished: j.finished_at.as_ref().map(Ts::new),
        }
    }
}

/// The re-analysis named in the address, if it is this brand's.
pub(crate) async fn load_job(
    state: &UiState,
    session: &Session,
    ws: &Workspace,
    raw: &str,
) -> Result<ReanalysisJob, UiError> {
    let job = state.services.get_reanalysis(&session.caller, raw).await?;
    if job.org_id == ws.org_id && job.workspace_id == ws.id {
        Ok(job)
    } else {
        Err(UiError::NotFound("re-analysis"))
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ReanalyzeForm {
    #[serde(default)]
    pub fake: String,
}

/// `POST /brands/{ws}/visibility/reanalyze`: every stored answer of the brand analysed again with
/// its current entities (no model is called); then the dashboard with the job's progress.
pub async fn reanalyze(
    State(state): State<UiState>,
    session: Session,
    Path(ws): Path<String>,
    Form(form): Form<ReanalyzeForm>,
) -> Result<Response, UiError> {
    let ws = load_brand(&state, &session, &ws).await?;
    session.require_writer()?;
    let job = state
        .services
        .reanalyze(&session.caller, &ws.id, &ReanalyzeRequest::default())
        .await?;
    let fake = if form.fake == "0" { "&fake=0" } else { "" };
    let to = format!(
        "{}?job={}{fake}#reanalysis",
        visibility_href(&ws.id),
        job.id
    );
    Ok(Redirect::to(&to).into_response())
}

/// A GET on the action (a reload) shows the dashboard.
pub async fn to_dashboard(Path(ws): Path<String>) -> Redirect {
    let clean: String = ws
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'))
        .collect();
    Redirect::to(&visibility_href(&clean))
}
