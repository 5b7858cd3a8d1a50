//! A brand's templates: list (search, deleted), create, soft delete and restore.

use askama::Template as _;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use prompter_service::records::{Cursor, Template, Workspace};
use prompter_service::{ListTemplates, PageRequest, ServiceError};
use serde::Deserialize;

use crate::error::UiError;
use crate::form::{form_field_of, TemplateForm, MODEL_SUGGESTIONS, PROVIDERS};
use crate::session::Session;
use crate::views::{brand_href, load_brand, load_template, template_href, FieldErrors, Layout, Ts};
use crate::UiState;

/// Templates shown per page.
pub const PAGE_SIZE: usize = 25;
/// With a search, at most this many templates are scanned for one page of matches.
pub const SEARCH_SCAN_LIMIT: usize = 2_000;
const SCAN_BATCH: u32 = 200;

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub deleted: String,
    #[serde(default)]
    pub cursor: String,
    /// Only templates with this tag.
    #[serde(default)]
    pub tag: String,
}

pub struct TemplateRow {
    pub id: String,
    pub name: String,
    pub href: String,
    pub model_id: String,
    pub provider: String,
    pub countries: String,
    pub created: Ts,
    pub deleted_at: Option<Ts>,
    pub hash_short: String,
    pub delete_href: String,
    pub restore_href: String,
    pub tags: Vec<crate::labels::TagLink>,
}

impl TemplateRow {
    fn of(t: &Template) -> Self {
        Self {
            id: t.id.to_string(),
            name: t.name.clone(),
            href: template_href(&t.workspace_id, t.id),
            model_id: t.model_id.clone(),
            provider: t.provider.clone().unwrap_or_default(),
            countries: t.country_set.join(", "),
            created: Ts::new(&t.created_at),
            deleted_at: t.deleted_at.as_ref().map(Ts::new),
            hash_short: t.config_hash.chars().take(12).collect(),
            tags: crate::labels::tag_links(&t.workspace_id, &t.tags),
            delete_href: format!("{}/delete", template_href(&t.workspace_id, t.id)),
            restore_href: format!("{}/restore", template_href(&t.workspace_id, t.id)),
        }
    }
}

#[derive(askama::Template)]
#[template(path = "templates.html")]
pub struct TemplatesPage {
    pub layout: Layout,
    pub csrf_token: String,
    pub ws_name: String,
    pub ws_id: String,
    pub q: String,
    pub show_deleted: bool,
    pub rows: Vec<TemplateRow>,
    pub new_href: String,
    pub list_href: String,
    /// This page's own address (forms come back to it).
    pub here: String,
    pub next_href: Option<String>,
    pub first_href: Option<String>,
    /// A flash line after delete/restore.
    pub notice: Option<String>,
    /// The tag the list is filtered by (`""`: none).
    pub tag: String,
}

fn list_url(ws: &str, q: &str, deleted: bool, tag: &str, cursor: Option<&str>) -> String {
    let mut params: Vec<(&str, &str)> = Vec::new();
    if !q.is_empty() {
        params.push(("q", q));
    }
    if !tag.is_empty() {
        params.push(("tag", tag));
    }
    if deleted {
        params.push(("deleted", "1"));
    }
    if let Some(c) = cursor {
        params.push(("cursor", c));
    }
    let base = brand_href(ws);
    if params.is_empty() {
        base
    } else {
        format!(
            "{base}?{}",
            serde_urlencoded::to_string(&params).unwrap_or_default()
        )
    }
}

fn cursor_of(t: &Template) -> Cursor {
    Cursor {
        created_at: t.created_at,
        id: t.id,
    }
}

/// One page of the brand's templates, newest first, whose names contain `q` (any case). Without
/// a search this is one page of the service's list; with one, its pages are scanned until a page
/// of matches is found (or [`SEARCH_SCAN_LIMIT`] templates were looked at).
async fn page_of(
    state: &UiState,
    session: &Session,
    ws: &Workspace,
    q: &str,
    include_deleted: bool,
    tag: Option<String>,
    after: Option<Cursor>,
) -> Result<(Vec<Template>, Option<Cursor>), UiError> {
    let needle = q.trim().to_lowercase();
    let mut request = ListTemplates {
        org_id: None,
        workspace_id: Some(ws.id.clone()),
        tag,
        include_deleted,
        page: PageRequest {
            limit: Some(if needle.is_empty() {
                PAGE_SIZE as u32
            } else {
                SCAN_BATCH
            }),
            cursor: after.map(|c| c.encode()),
        },
    };
    let services = &state.services;
    if needle.is_empty() {
        let page = services.list_templates(&session.caller, &request).await?;
        return Ok((page.items, page.next));
    }
    let mut found = Vec::new();
    let mut scanned = 0;
    loop {
        let page = services.list_templates(&session.caller, &request).await?;
        scanned += page.items.len();
        for t in page.items {
            if t.name.to_lowercase().contains(&needle) {
                if found.len() == PAGE_SIZE {
                    // More matches exist: continue after the last one shown.
                    let next = found.last().map(cursor_of);
                    return Ok((found, next));
                }
                found.push(t);
            }
        }
        match page.next {
            Some(next) if scanned < SEARCH_SCAN_LIMIT => request.page.cursor = Some(next.encode()),
            next => return Ok((found, next)),
        }
    }
}

pub async fn list(
    State(state): State<UiState>,
    session: Session,
    Path(ws): Path<String>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, UiError> {
    let Query(query) = query.map_err(|e| UiError::BadRequest(e.body_text()))?;
    let ws = load_brand(&state, &session, &ws).await?;
    let show_deleted = matches!(query.deleted.as_str(), "1" | "on" | "true");
    let after = match query.cursor.as_str() {
        "" => None,
        raw => Some(Cursor::decode(raw).map_err(|_| {
            UiError::BadRequest(
                "This page link is not valid any more; start from the first page.".into(),
            )
        })?),
    };
    let tag = Some(query.tag.trim().to_owned()).filter(|t| !t.is_empty());
    let (items, next) = page_of(
        &state,
        &session,
        &ws,
        &query.q,
        show_deleted,
        tag.clone(),
        after,
    )
    .await?;
    let layout = Layout::load(&state, &session, Some(&ws), "Templates", "templates").await?;
    let q = query.q.trim().to_owned();
    let tag_text = query.tag.trim().to_owned();
    let page = TemplatesPage {
        layout,
        csrf_token: session.csrf_token.clone(),
        rows: items.iter().map(TemplateRow::of).collect(),
        new_href: format!("/brands/{}/templates/new", ws.id),
        list_href: brand_href(&ws.id),
        here: list_url(
            &ws.id,
            &q,
            show_deleted,
            &tag_text,
            after.map(|c| c.encode()).as_deref(),
        ),
        next_href: next.map(|c| list_url(&ws.id, &q, show_deleted, &tag_text, Some(&c.encode()))),
        first_href: after.map(|_| list_url(&ws.id, &q, show_deleted, &tag_text, None)),
        notice: None,
        tag: tag_text.clone(),
        q,
        show_deleted,
        ws_name: ws.name,
        ws_id: ws.id,
    };
    Ok(Html(page.render()?).into_response())
}

#[derive(askama::Template)]
#[template(path = "template_new.html")]
pub struct NewTemplatePage {
    pub layout: Layout,
    pub csrf_token: String,
    pub ws_id: String,
    pub ws_name: String,
    pub org_id: String,
    pub action: String,
    pub cancel_href: String,
    pub form: TemplateForm,
    pub errors: FieldErrors,
    /// `(name, href)` of the active template that already holds this configuration.
    pub duplicate: Option<(String, String)>,
    pub providers: Vec<&'static str>,
    pub models: Vec<&'static str>,
    /// Open the "advanced" section (a JSON field has content or an error).
    pub advanced_open: bool,
}

impl NewTemplatePage {
    fn build(
        layout: Layout,
        session: &Session,
        ws: Workspace,
        form: TemplateForm,
        errors: FieldErrors,
        duplicate: Option<(String, String)>,
    ) -> Self {
        let advanced_open = [
            (&form.tools_spec, "tools_spec"),
            (&form.response_format, "response_format"),
            (&form.retrieval_params, "retrieval_params"),
            (&form.grounding_profile_id, "grounding_profile_id"),
            (&form.grounding_snapshot_id, "grounding_snapshot_id"),
        ]
        .iter()
        .any(|(v, f)| !v.trim().is_empty() || errors.get(f).is_some());
        Self {
            layout,
            csrf_token: session.csrf_token.clone(),
            org_id: session.caller.default_org().to_string(),
            action: format!("/brands/{}/templates", ws.id),
            cancel_href: brand_href(&ws.id),
            form,
            errors,
            duplicate,
            providers: PROVIDERS.to_vec(),
            models: MODEL_SUGGESTIONS.to_vec(),
            advanced_open,
            ws_name: ws.name,
            ws_id: ws.id,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct NewQuery {
    /// Start from a copy of this template.
    #[serde(default)]
    pub from: String,
}

pub async fn new_form(
    State(state): State<UiState>,
    session: Session,
    Path(ws): Path<String>,
    query: Result<Query<NewQuery>, QueryRejection>,
) -> Result<Response, UiError> {
    let Query(query) = query.map_err(|e| UiError::BadRequest(e.body_text()))?;
    let ws = load_brand(&state, &session, &ws).await?;
    session.require_writer()?;
    let form = if query.from.is_empty() {
        TemplateForm::default()
    } else {
        TemplateForm::from_template(&load_template(&state, &session, &ws, &query.from).await?)
    };
    let layout = Layout::load(&state, &session, Some(&ws), "New template", "new").await?;
    let page = NewTemplatePage::build(layout, &session, ws, form, FieldErrors::default(), None);
    Ok(Html(page.render()?).into_response())
}

pub async fn create(
    State(state): State<UiState>,
    session: Session,
    Path(ws): Path<String>,
    Form(form): Form<TemplateForm>,
) -> Result<Response, UiError> {
    let ws = load_brand(&state, &session, &ws).await?;
    session.require_writer()?;
    let rerender = |status: StatusCode,
                    ws: Workspace,
                    form: TemplateForm,
                    errors: FieldErrors,
                    duplicate: Option<(String, String)>| {
        let state = state.clone();
        let session = session.clone();
        async move {
            let layout = Layout::load(&state, &session, Some(&ws), "New template", "new").await?;
            let page = NewTemplatePage::build(layout, &session, ws, form, errors, duplicate);
            Ok::<_, UiError>((status, Html(page.render()?)).into_response())
        }
    };
    let spec = match form.validate(&session.caller.default_org(), &ws.id) {
        Ok(spec) => spec,
        Err(errors) => {
            return rerender(StatusCode::UNPROCESSABLE_ENTITY, ws, form, errors, None).await
        }
    };
    // The services refuse a configuration an active template of the brand holds (and count it).
    match state.services.create_template(&session.caller, spec).await {
        Ok(t) => Ok(Redirect::to(&template_href(&ws.id, t.id)).into_response()),
        Err(ServiceError::TemplateExists { existing, .. }) => {
            let dup = (existing.name.clone(), template_href(&ws.id, existing.id));
            rerender(
                StatusCode::CONFLICT,
                ws,
                form,
                FieldErrors::default(),
                Some(dup),
            )
            .await
        }
        Err(ServiceError::Invalid(e)) => {
            let mut errors = FieldErrors::default();
            errors.add(
                form_field_of(&e.field).unwrap_or("form"),
                format!("{} {}", e.field, e.message),
            );
            rerender(StatusCode::UNPROCESSABLE_ENTITY, ws, form, errors, None).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ActionForm {
    /// Where to go afterwards: a page of the same brand.
    #[serde(default)]
    pub next: String,
}

/// `next` if it is a page of this brand (never another site), else the template's page.
fn back_to(ws: &str, next: &str, fallback: String) -> String {
    let prefix = format!("/brands/{ws}/");
    if next.starts_with(&prefix) && !next.contains("//") && !next.contains('\\') {
        next.to_owned()
    } else {
        fallback
    }
}

pub async fn delete(
    State(state): State<UiState>,
    session: Session,
    Path((ws, id)): Path<(String, String)>,
    Form(form): Form<ActionForm>,
) -> Result<Response, UiError> {
    let ws = load_brand(&state, &session, &ws).await?;
    let t = load_template(&state, &session, &ws, &id).await?;
    session.require_writer()?;
    state
        .services
        .delete_template(&session.caller, t.id)
        .await?;
    Ok(Redirect::to(&back_to(&ws.id, &form.next, template_href(&ws.id, t.id))).into_response())
}

pub async fn restore(
    State(state): State<UiState>,
    session: Session,
    Path((ws, id)): Path<(String, String)>,
    Form(form): Form<ActionForm>,
) -> Result<Response, UiError> {
    let ws = load_brand(&state, &session, &ws).await?;
    let t = load_template(&state, &session, &ws, &id).await?;
    session.require_writer()?;
    match state.services.restore_template(&session.caller, t.id).await {
        Ok(t) => Ok(
            Redirect::to(&back_to(&ws.id, &form.next, template_href(&ws.id, t.id))).into_response(),
        ),
        Err(ServiceError::TemplateExists { existing, .. }) => Err(UiError::Conflict {
            message: format!(
                "“{}” cannot be restored: an identical configuration already exists in this \
                 brand as the active template “{}”. Delete that one first, or keep using it.",
                t.name, existing.name
            ),
            link: Some((
                template_href(&ws.id, existing.id),
                format!("Open “{}”", existing.name),
            )),
        }),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_inside_the_brand() {
        let fb = || "/fallback".to_owned();
        assert_eq!(
            back_to("b", "/brands/b/templates?q=x", fb()),
            "/brands/b/templates?q=x"
        );
        for bad in [
            "",
            "https://evil.example/",
            "//evil",
            "/brands/other/templates",
            "/brands/b//x",
        ] {
            assert_eq!(back_to("b", bad, fb()), "/fallback", "{bad}");
        }
    }

    #[test]
    fn list_urls_keep_the_filters() {
        assert_eq!(list_url("b", "", false, "", None), "/brands/b/templates");
        assert_eq!(
            list_url("b", "a b&c", true, "cat:x", Some("CUR")),
            "/brands/b/templates?q=a+b%26c&tag=cat%3Ax&deleted=1&cursor=CUR"
        );
    }
}
