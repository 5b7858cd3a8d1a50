//! Brands (workspaces): list, create, pick.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use prompter_domain::template_spec::parse_name;
use prompter_domain::WorkspaceId;
use prompter_service::{CreateWorkspace, ServiceError};
use serde::Deserialize;

use crate::error::UiError;
use crate::session::{read_only, Session};
use crate::views::{brand_href, load_brand, FieldErrors, Layout, Ts};
use crate::UiState;

pub struct BrandCard {
    pub initial: String,
    pub id: String,
    pub name: String,
    pub href: String,
    pub created: Ts,
}

#[derive(Debug, Default, Deserialize)]
pub struct BrandForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub id: String,
}

#[derive(Template)]
#[template(path = "brands.html")]
pub struct BrandsPage {
    pub layout: Layout,
    pub csrf_token: String,
    pub brands: Vec<BrandCard>,
    pub form: BrandForm,
    pub errors: FieldErrors,
    /// Whether to show the create form (admins create brands).
    pub can_create: bool,
}

async fn render(
    state: &UiState,
    session: &Session,
    status: StatusCode,
    form: BrandForm,
    errors: FieldErrors,
) -> Result<Response, UiError> {
    let workspaces = state
        .services
        .list_workspaces(&session.caller, None)
        .await?;
    let layout = Layout::with_workspaces(session, &workspaces, None, "Brands", "brands");
    let mut brands: Vec<BrandCard> = workspaces
        .into_iter()
        .map(|w| BrandCard {
            href: brand_href(&w.id),
            initial: w
                .name
                .chars()
                .find(|c| c.is_alphanumeric())
                .map(|c| c.to_uppercase().collect())
                .unwrap_or_else(|| "#".into()),
            created: Ts::new(&w.created_at),
            id: w.id,
            name: w.name,
        })
        .collect();
    brands.sort_by_key(|b| b.name.to_lowercase());
    let page = BrandsPage {
        layout,
        csrf_token: session.csrf_token.clone(),
        brands,
        form,
        errors,
        can_create: session.can_create_brand(),
    };
    Ok((status, Html(page.render()?)).into_response())
}

pub async fn index(State(state): State<UiState>, session: Session) -> Result<Response, UiError> {
    render(
        &state,
        &session,
        StatusCode::OK,
        BrandForm::default(),
        FieldErrors::default(),
    )
    .await
}

/// `/brands/{ws}`: a brand's home is its templates.
pub async fn show(
    State(state): State<UiState>,
    session: Session,
    Path(ws): Path<String>,
) -> Result<Redirect, UiError> {
    let ws = load_brand(&state, &session, &ws).await?;
    Ok(Redirect::to(&brand_href(&ws.id)))
}

/// Creating a brand needs an admin (the services decide; this only explains the refusal).
fn not_admin(session: &Session) -> UiError {
    if session.can_write() {
        UiError::Forbidden(
            "Only admin tokens create brands. Ask an administrator to create it (templates \
             created through the API also create their brand)."
                .into(),
        )
    } else {
        read_only()
    }
}

pub async fn create(
    State(state): State<UiState>,
    session: Session,
    Form(form): Form<BrandForm>,
) -> Result<Response, UiError> {
    if !session.can_create_brand() {
        return Err(not_admin(&session));
    }
    // Every field's message at once (the services stop at the first).
    let mut errors = FieldErrors::default();
    if let Err(e) = parse_name(&form.name) {
        errors.add("name", e.message);
    }
    let id = form.id.trim();
    if let (false, Err(e)) = (id.is_empty(), WorkspaceId::parse(id)) {
        errors.add("id", e.message);
    }
    if !errors.is_empty() {
        return render(
            &state,
            &session,
            StatusCode::UNPROCESSABLE_ENTITY,
            form,
            errors,
        )
        .await;
    }
    let request = CreateWorkspace {
        org_id: None,
        id: (!id.is_empty()).then(|| id.to_owned()),
        name: Some(form.name.clone()),
    };
    match state
        .services
        .create_workspace(&session.caller, request)
        .await
    {
        Ok(ws) => Ok(Redirect::to(&brand_href(&ws.id)).into_response()),
        Err(ServiceError::WorkspaceExists { id }) => {
            errors.add(
                "id",
                format!("workspace {id} already exists: pick another id, or leave it empty"),
            );
            render(&state, &session, StatusCode::CONFLICT, form, errors).await
        }
        Err(ServiceError::Invalid(e)) => {
            let field = match e.field.as_str() {
                "name" => "name",
                "id" => "id",
                _ => "form",
            };
            errors.add(field, e.message);
            render(
                &state,
                &session,
                StatusCode::UNPROCESSABLE_ENTITY,
                form,
                errors,
            )
            .await
        }
        // An admin limited to some brands, naming (or generating) an id outside them.
        Err(ServiceError::Forbidden(_)) if !session.caller.permits_workspace(id) => {
            let message = if id.is_empty() {
                "your token may only use the brands it lists: enter the id of one of them".into()
            } else {
                format!(
                    "your token may not use a brand with id {id}: ask for a token that includes it"
                )
            };
            errors.add("id", message);
            render(&state, &session, StatusCode::FORBIDDEN, form, errors).await
        }
        Err(e) => Err(e.into()),
    }
}
