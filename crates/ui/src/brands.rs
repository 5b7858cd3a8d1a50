//! Brands (workspaces): list, create, pick.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use prompter_domain::template_spec::parse_name;
use prompter_domain::WorkspaceId;
use prompter_storage::{timestamp, NewWorkspace, StorageError};
use serde::Deserialize;

use crate::error::UiError;
use crate::session::Session;
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
    pub can_write: bool,
}

async fn render(
    state: &UiState,
    session: &Session,
    status: StatusCode,
    form: BrandForm,
    errors: FieldErrors,
) -> Result<Response, UiError> {
    let workspaces = state.db().list_workspaces(&session.org_id).await?;
    let layout = Layout::with_workspaces(session, &workspaces, None, "Brands", "brands");
    let mut brands: Vec<BrandCard> = workspaces
        .into_iter()
        .filter(|w| session.permits_workspace(&w.id))
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
        can_write: session.can_write(),
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

pub async fn create(
    State(state): State<UiState>,
    session: Session,
    Form(form): Form<BrandForm>,
) -> Result<Response, UiError> {
    session.require_writer()?;
    let mut errors = FieldErrors::default();
    let name = parse_name(&form.name).map_err(|e| errors.add("name", e.message));
    let id_raw = form.id.trim();
    let id = if id_raw.is_empty() {
        WorkspaceId::parse(&uuid::Uuid::now_v7().to_string())
            .map_err(|e| errors.add("id", e.message))
    } else {
        WorkspaceId::parse(id_raw).map_err(|e| errors.add("id", e.message))
    };
    let (Ok(name), Ok(id)) = (name, id) else {
        return render(
            &state,
            &session,
            StatusCode::UNPROCESSABLE_ENTITY,
            form,
            errors,
        )
        .await;
    };
    if !session.permits_workspace(id.as_str()) {
        errors.add(
            "id",
            format!(
                "your token may not use a brand with id {id}: ask for a token that includes it"
            ),
        );
        return render(&state, &session, StatusCode::FORBIDDEN, form, errors).await;
    }
    let new = NewWorkspace {
        org_id: session.org_id.clone(),
        id: id.clone(),
        name,
        created_at: timestamp::now(),
    };
    match state.db().create_workspace(new).await {
        Ok(ws) => {
            tracing::info!(action = "ui_create_workspace", org_id = %ws.org_id,
                workspace_id = %ws.id, status = "created");
            Ok(Redirect::to(&brand_href(&ws.id)).into_response())
        }
        Err(StorageError::WorkspaceExists) => {
            errors.add(
                "id",
                format!("workspace {id} already exists: pick another id, or leave it empty"),
            );
            render(&state, &session, StatusCode::CONFLICT, form, errors).await
        }
        Err(e) => Err(e.into()),
    }
}
