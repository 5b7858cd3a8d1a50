//! Schedules of a brand: the list, a create form, pause/resume and delete. A schedule fires a
//! batch of the brand's active templates on a cron expression in a time zone (the workers do).

use askama::Template as _;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use prompter_service::records::{Schedule, Workspace};
use prompter_service::{CreateSchedule, ServiceError, UpdateSchedule};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::batch_grid::error_message;
use crate::batches::batch_href;
use crate::error::{unknown_provider, UiError};
use crate::form::split_countries;
use crate::run_form::{given, parse_runtime_vars, parse_samples};
use crate::session::Session;
use crate::views::{load_brand, FieldErrors, Layout, Ts};
use crate::UiState;

pub fn schedules_href(ws: &str) -> String {
    format!("/brands/{ws}/schedules")
}

fn schedule_href(ws: &str, id: Uuid) -> String {
    format!("/brands/{ws}/schedules/{id}")
}

/// The create form's fields as posted (every one a string; empty means "not given").
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct ScheduleForm {
    pub name: String,
    pub cron: String,
    pub timezone: String,
    pub samples: String,
    pub brand_name: String,
    /// Comma-separated codes; empty: every country of each template.
    pub countries: String,
    /// `key=value` lines.
    pub runtime_vars: String,
}

impl Default for ScheduleForm {
    fn default() -> Self {
        Self {
            name: String::new(),
            cron: String::new(),
            timezone: "UTC".into(),
            samples: "1".into(),
            brand_name: String::new(),
            countries: String::new(),
            runtime_vars: String::new(),
        }
    }
}

impl ScheduleForm {
    /// The create request of this form: its batch covers every active template of the brand.
    /// The services validate it (cron, time zone, and the batch as a batch would be).
    pub fn to_request(&self, workspace_id: &str) -> Result<CreateSchedule, FieldErrors> {
        let samples = parse_samples(&self.samples, "samples")?;
        let vars = parse_runtime_vars(&self.runtime_vars, "runtime_vars")?;
        let mut batch = Map::new();
        if let Some(n) = samples {
            batch.insert("samples".into(), json!(n));
        }
        if let Some(b) = given(&self.brand_name) {
            batch.insert("brand_name".into(), json!(b));
        }
        let countries = split_countries(&self.countries);
        if !countries.is_empty() {
            batch.insert("countries".into(), json!(countries));
        }
        if !vars.is_empty() {
            batch.insert("runtime_vars".into(), Value::Object(vars));
        }
        Ok(CreateSchedule {
            org_id: None,
            workspace_id: workspace_id.to_owned(),
            name: self.name.clone(),
            cron: self.cron.clone(),
            timezone: given(&self.timezone),
            batch: Some(batch),
            enabled: None,
        })
    }
}

/// The form field an error of the services belongs to (`batch.countries[1]` → `countries`).
pub fn field_of(api_field: &str) -> &'static str {
    let field = api_field.strip_prefix("batch.").unwrap_or(api_field);
    // A template's {{brand_name}} without a brand belongs to the brand field.
    match field {
        "runtime_vars.brand_name" | "runtime_vars.brand" => return "brand_name",
        "runtime_vars.country" => return "form",
        _ => {}
    }
    match field.split(['.', '[']).next().unwrap_or_default() {
        "name" => "name",
        "cron" => "cron",
        "timezone" => "timezone",
        "samples" => "samples",
        "brand_name" => "brand_name",
        "countries" => "countries",
        "runtime_vars" => "runtime_vars",
        _ => "form",
    }
}

/// One schedule in the list.
pub struct ScheduleRow {
    pub id: String,
    pub name: String,
    pub cron: String,
    pub timezone: String,
    pub enabled: bool,
    /// What it runs: "all templates · 2 samples · US, CH · brand Acme".
    pub runs: String,
    pub next_run: Option<Ts>,
    pub last_slot: Option<Ts>,
    pub last_batch: Option<String>,
    pub last_error: Option<String>,
    pub toggle_href: String,
    pub delete_href: String,
}

impl ScheduleRow {
    fn of(s: &Schedule) -> Self {
        let here = schedule_href(&s.workspace_id, s.id);
        Self {
            id: s.id.to_string(),
            name: s.name.clone(),
            cron: s.cron.clone(),
            timezone: s.timezone.clone(),
            enabled: s.enabled,
            runs: describe_batch(&s.batch),
            next_run: s.next_run_at.as_ref().map(Ts::new),
            last_slot: s.last_slot.as_ref().map(Ts::new),
            last_batch: s.last_batch_id.map(|id| batch_href(&s.workspace_id, id)),
            last_error: s.last_error.as_ref().map(error_message),
            toggle_href: format!("{here}/{}", if s.enabled { "pause" } else { "resume" }),
            delete_href: format!("{here}/delete"),
        }
    }
}

/// A schedule's batch body in a few words.
fn describe_batch(batch: &Value) -> String {
    let mut parts = vec![match batch.get("template_ids").and_then(Value::as_array) {
        Some(ids) if ids.len() == 1 => "1 template".to_owned(),
        Some(ids) => format!("{} templates", ids.len()),
        None => "all active templates".to_owned(),
    }];
    let samples = batch.get("samples").and_then(Value::as_u64).unwrap_or(1);
    parts.push(format!(
        "{samples} sample{}",
        if samples == 1 { "" } else { "s" }
    ));
    match batch.get("countries").and_then(Value::as_array) {
        Some(c) => parts.push(
            c.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", "),
        ),
        None => parts.push("all their countries".into()),
    }
    if let Some(b) = batch.get("brand_name").and_then(Value::as_str) {
        parts.push(format!("brand {b}"));
    }
    parts.join(" · ")
}

#[derive(askama::Template)]
#[template(path = "schedules.html")]
pub struct SchedulesPage {
    pub layout: Layout,
    pub csrf_token: String,
    pub ws_id: String,
    pub ws_name: String,
    pub action: String,
    pub rows: Vec<ScheduleRow>,
    pub form: ScheduleForm,
    pub errors: FieldErrors,
    pub notice: Option<&'static str>,
}

async fn render(
    state: &UiState,
    session: &Session,
    ws: Workspace,
    status: StatusCode,
    form: ScheduleForm,
    errors: FieldErrors,
    notice: Option<&'static str>,
) -> Result<Response, UiError> {
    let schedules = state
        .services
        .list_schedules(&session.caller, None, Some(&ws.id))
        .await?;
    let layout = Layout::load(state, session, Some(&ws), "Schedules", "schedules").await?;
    let page = SchedulesPage {
        layout,
        csrf_token: session.csrf_token.clone(),
        action: schedules_href(&ws.id),
        rows: schedules.iter().map(ScheduleRow::of).collect(),
        form,
        errors,
        notice,
        ws_id: ws.id,
        ws_name: ws.name,
    };
    Ok((status, Html(page.render()?)).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    /// The action just done (after its redirect).
    #[serde(default)]
    pub done: String,
}

/// `GET /brands/{ws}/schedules`.
pub async fn list(
    State(state): State<UiState>,
    session: Session,
    Path(ws): Path<String>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, UiError> {
    let Query(query) = query.map_err(|e| UiError::BadRequest(e.body_text()))?;
    let ws = load_brand(&state, &session, &ws).await?;
    let notice = match query.done.as_str() {
        "created" => Some("Schedule created."),
        "paused" => Some("Schedule paused: it fires no batch until it is resumed."),
        "resumed" => Some("Schedule resumed: it fires at its next slot."),
        "deleted" => Some("Schedule deleted. The batches it fired stay."),
        _ => None,
    };
    let form = ScheduleForm {
        brand_name: ws.name.clone(),
        ..ScheduleForm::default()
    };
    let errors = FieldErrors::default();
    render(&state, &session, ws, StatusCode::OK, form, errors, notice).await
}

/// `POST /brands/{ws}/schedules`: validation errors are shown next to their fields (422).
pub async fn create(
    State(state): State<UiState>,
    session: Session,
    Path(ws): Path<String>,
    Form(form): Form<ScheduleForm>,
) -> Result<Response, UiError> {
    let ws = load_brand(&state, &session, &ws).await?;
    session.require_writer()?;
    let request = match form.to_request(&ws.id) {
        Ok(r) => r,
        Err(errors) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return render(&state, &session, ws, status, form, errors, None).await;
        }
    };
    let mut errors = FieldErrors::default();
    let status = match state
        .services
        .create_schedule(&session.caller, &request)
        .await
    {
        Ok(_) => {
            let to = format!("{}?done=created", schedules_href(&ws.id));
            return Ok(Redirect::to(&to).into_response());
        }
        Err(ServiceError::Invalid(e)) => {
            errors.add(field_of(&e.field), format!("{} {}", e.field, e.message));
            StatusCode::UNPROCESSABLE_ENTITY
        }
        Err(ServiceError::UnknownProvider { model_id }) => {
            errors.add("form", unknown_provider(&model_id));
            StatusCode::UNPROCESSABLE_ENTITY
        }
        Err(ServiceError::ProviderNotConfigured { provider, hint }) => {
            let message = format!("provider {} is not configured: {hint}", provider.as_str());
            errors.add("form", message);
            StatusCode::SERVICE_UNAVAILABLE
        }
        Err(e) => return Err(e.into()),
    };
    render(&state, &session, ws, status, form, errors, None).await
}

/// The schedule named in the URL, if the viewer may see it and it belongs to this brand.
async fn load_schedule(
    state: &UiState,
    session: &Session,
    ws: &Workspace,
    raw: &str,
) -> Result<Schedule, UiError> {
    let id = Uuid::parse_str(raw).map_err(|_| UiError::NotFound("schedule"))?;
    let s = state.services.get_schedule(&session.caller, id).await?;
    if s.org_id == ws.org_id && s.workspace_id == ws.id {
        Ok(s)
    } else {
        Err(UiError::NotFound("schedule"))
    }
}

async fn set_enabled(
    state: UiState,
    session: Session,
    ws: String,
    id: String,
    enabled: bool,
) -> Result<Response, UiError> {
    let ws = load_brand(&state, &session, &ws).await?;
    let s = load_schedule(&state, &session, &ws, &id).await?;
    session.require_writer()?;
    let patch = UpdateSchedule {
        enabled: Some(enabled),
        ..UpdateSchedule::default()
    };
    state
        .services
        .update_schedule(&session.caller, s.id, &patch)
        .await?;
    let done = if enabled { "resumed" } else { "paused" };
    Ok(Redirect::to(&format!("{}?done={done}", schedules_href(&ws.id))).into_response())
}

/// `POST /brands/{ws}/schedules/{id}/pause`.
pub async fn pause(
    State(state): State<UiState>,
    session: Session,
    Path((ws, id)): Path<(String, String)>,
) -> Result<Response, UiError> {
    set_enabled(state, session, ws, id, false).await
}

/// `POST /brands/{ws}/schedules/{id}/resume`.
pub async fn resume(
    State(state): State<UiState>,
    session: Session,
    Path((ws, id)): Path<(String, String)>,
) -> Result<Response, UiError> {
    set_enabled(state, session, ws, id, true).await
}

/// `POST /brands/{ws}/schedules/{id}/delete`.
pub async fn delete(
    State(state): State<UiState>,
    session: Session,
    Path((ws, id)): Path<(String, String)>,
) -> Result<Response, UiError> {
    let ws = load_brand(&state, &session, &ws).await?;
    let s = load_schedule(&state, &session, &ws, &id).await?;
    session.require_writer()?;
    state
        .services
        .delete_schedule(&session.caller, s.id)
        .await?;
    Ok(Redirect::to(&format!("{}?done=deleted", schedules_href(&ws.id))).into_response())
}

/// A GET on an action (a reload, a pasted address) shows the schedules.
pub async fn to_schedules(Path((ws, _id)): Path<(String, String)>) -> Redirect {
    let ws: String = ws
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'))
        .collect();
    Redirect::to(&schedules_href(&ws))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_becomes_a_schedule_of_all_templates() {
        let f = ScheduleForm {
            name: "Weekly".into(),
            cron: "0 6 * * 1".into(),
            timezone: " ".into(),
            samples: "2".into(),
            brand_name: "Acme".into(),
            countries: "us, CH".into(),
            runtime_vars: "segment=b2b".into(),
        };
        let r = f.to_request("ws").unwrap();
        assert_eq!((r.workspace_id.as_str(), r.timezone), ("ws", None));
        assert_eq!(
            Value::Object(r.batch.unwrap()),
            json!({"samples": 2, "brand_name": "Acme", "countries": ["us", "CH"],
                   "runtime_vars": {"segment": "b2b"}})
        );
        let blank = ScheduleForm {
            samples: String::new(),
            ..ScheduleForm::default()
        };
        let r = blank.to_request("ws").unwrap();
        assert_eq!(r.timezone.as_deref(), Some("UTC"));
        assert!(r.batch.unwrap().is_empty());
        let bad = ScheduleForm {
            samples: "many".into(),
            ..ScheduleForm::default()
        };
        assert!(bad.to_request("ws").unwrap_err().get("samples").is_some());
    }

    #[test]
    fn errors_go_to_their_field() {
        for (api, form) in [
            ("cron", "cron"),
            ("timezone", "timezone"),
            ("batch.samples", "samples"),
            ("batch.countries[0]", "countries"),
            ("batch.runtime_vars.segment", "runtime_vars"),
            ("batch.runtime_vars.brand_name", "brand_name"),
            ("batch.runtime_vars.country", "form"),
            ("batch.template_ids", "form"),
            ("batch", "form"),
        ] {
            assert_eq!(field_of(api), form, "{api}");
        }
    }

    #[test]
    fn describes_what_a_schedule_runs() {
        assert_eq!(
            describe_batch(&json!({})),
            "all active templates · 1 sample · all their countries"
        );
        assert_eq!(
            describe_batch(&json!({"samples": 3, "countries": ["US"], "brand_name": "A"})),
            "all active templates · 3 samples · US · brand A"
        );
    }
}
