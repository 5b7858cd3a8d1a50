//! Prompter's web UI: server-rendered pages over the same services as the HTTP API.
//!
//! ```text
//! /sign-in                                 GET: the token form, POST: sign in (tokens required)
//! /sign-out                                POST: sign out
//! /                                        brands (list, create, pick)
//! /brands                                  the same
//! /brands/{ws}                             → /brands/{ws}/templates
//! /brands/{ws}/templates                   templates of a brand (search, deleted), POST: create
//! /brands/{ws}/templates/new               the create form (?from={id}: a copy)
//! /brands/{ws}/check-duplicate             POST (JSON, CSRF header): the form's live warning
//! /brands/{ws}/templates/{id}              configuration, chart, versions, results, run form
//! /brands/{ws}/templates/{id}/delete       POST: soft delete
//! /brands/{ws}/templates/{id}/restore      POST: restore
//! /brands/{ws}/templates/{id}/run          POST: run
//! /brands/{ws}/templates/{id}/batch        POST: a batch of it in all its countries
//!                                          (GET on the four actions: → the template's page)
//! /brands/{ws}/batches                     the brand's batches, newest first
//! /brands/{ws}/batches/{id}                counts, usage, the template × country grid
//! /brands/{ws}/batches/{id}/{retry|cancel} POST: retry the failed tasks, cancel
//! /brands/{ws}/schedules                   schedules, POST: create
//! /brands/{ws}/schedules/{id}/{pause|resume|delete}  POST
//! /brands/{ws}/results/{id}                one result, its mentions marked
//! /brands/{ws}/visibility                  mention rates (model × country, per day, share of
//!                                          voice); ?fake=0 leaves out fake answers, ?job={id}
//!                                          shows a re-analysis's progress
//! /brands/{ws}/visibility/reanalyze        POST: re-analyse the stored answers
//! /brands/{ws}/entities                    the entities editor and snapshot history, POST: save
//! /results/{id}                            → its brand-scoped address
//! /static/{app.css,app.js,icon.svg}        assets, compiled in
//! ```
//!
//! None of these collide with `/api/*`, `/metrics`, `/readyz` or `/openapi.json`, and the routers
//! set no fallback, so they merge into the API's router (which keeps its JSON 404). Unknown paths
//! under `/brands/` and `/results/` get the UI's own 404 page.
//!
//! Every request goes through [`session::layer`]: it attaches the viewer's [`session::Session`]
//! (their `prompter_service::Caller`, CSRF token), sends viewers who are not signed in to
//! `/sign-in` when tokens are required, and refuses any POST whose CSRF token does not match
//! (403). Handlers are thin adapters over `prompter_service::Services`, like the API's routes:
//! they call an operation with `session.caller` (the services decide what the viewer may see and
//! do) and render its outcome; every `ServiceError` becomes a page in one place
//! ([`error::UiError`]'s `From`). The UI never reaches the database itself.
//! Templates are compiled into the binary by askama; CSS and JS are `include_str!`ed.

pub mod assets;
pub mod batch_grid;
pub mod batch_page;
pub mod batches;
pub mod brands;
pub mod chart;
pub mod detail;
pub mod duplicate;
pub mod entities;
pub mod error;
pub mod form;
mod labels;
pub mod mentions;
pub mod reanalysis;
pub mod results;
pub mod run_form;
pub mod schedules;
pub mod session;
pub mod signin;
pub mod templates;
pub mod trend;
pub mod views;
pub mod visibility;

use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;
use prompter_service::Services;

use crate::error::{error_page, UiError};
pub use crate::session::UiAuth;

/// What every UI handler can reach.
#[derive(Clone)]
pub struct UiState {
    pub services: Services,
    pub auth: UiAuth,
}

/// The message of [`disabled_router`].
pub const DISABLED_MESSAGE: &str =
    "The web UI is disabled (PROMPTER_V6_ENABLED=false); the API is available under /api";

async fn not_found() -> UiError {
    UiError::NotFound("page")
}

async fn to_brands() -> axum::response::Redirect {
    axum::response::Redirect::to("/")
}

/// A GET on an action (a reload, a pasted address) shows the template instead of a 405.
async fn to_template(
    axum::extract::Path((ws, id)): axum::extract::Path<(String, String)>,
) -> axum::response::Redirect {
    // Only characters of ids and UUIDs: the redirect stays on this site's paths.
    let clean = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'))
            .collect()
    };
    axum::response::Redirect::to(&format!("/brands/{}/templates/{}", clean(&ws), clean(&id)))
}

/// The UI, with its state applied: merge it into the API's router. `auth` must be
/// [`UiAuth::Tokens`] whenever the API requires tokens, so the UI never shows more than the API.
/// Pass the API's `services` (the same value): its per-token rate limit
/// (`Services::with_rate_limit`) then gives a token one budget for the API and the UI.
pub fn router(services: Services, auth: UiAuth) -> Router {
    let state = UiState { services, auth };
    Router::new()
        .route("/sign-in", get(signin::page).post(signin::submit))
        .route("/sign-out", post(signin::sign_out).get(to_brands))
        .route("/", get(brands::index))
        .route("/brands", get(brands::index).post(brands::create))
        .route("/brands/{ws}", get(brands::show))
        .route(
            "/brands/{ws}/templates",
            get(templates::list).post(templates::create),
        )
        .route("/brands/{ws}/templates/new", get(templates::new_form))
        .route("/brands/{ws}/check-duplicate", post(duplicate::check))
        .route("/brands/{ws}/templates/{id}", get(detail::show))
        .route(
            "/brands/{ws}/templates/{id}/labels",
            post(labels::update).get(to_template),
        )
        .route(
            "/brands/{ws}/templates/{id}/delete",
            post(templates::delete).get(to_template),
        )
        .route(
            "/brands/{ws}/templates/{id}/restore",
            post(templates::restore).get(to_template),
        )
        .route(
            "/brands/{ws}/templates/{id}/run",
            post(detail::run).get(to_template),
        )
        .route(
            "/brands/{ws}/templates/{id}/batch",
            post(batches::create).get(to_template),
        )
        .route("/brands/{ws}/batches", get(batches::list))
        .route("/brands/{ws}/batches/{id}", get(batch_page::show))
        .route(
            "/brands/{ws}/batches/{id}/retry",
            post(batches::retry).get(batches::to_batch),
        )
        .route(
            "/brands/{ws}/batches/{id}/cancel",
            post(batches::cancel).get(batches::to_batch),
        )
        .route(
            "/brands/{ws}/schedules",
            get(schedules::list).post(schedules::create),
        )
        .route(
            "/brands/{ws}/schedules/{id}/pause",
            post(schedules::pause).get(schedules::to_schedules),
        )
        .route(
            "/brands/{ws}/schedules/{id}/resume",
            post(schedules::resume).get(schedules::to_schedules),
        )
        .route(
            "/brands/{ws}/schedules/{id}/delete",
            post(schedules::delete).get(schedules::to_schedules),
        )
        .route("/brands/{ws}/results/{id}", get(results::show))
        .route("/brands/{ws}/visibility", get(visibility::show))
        .route(
            "/brands/{ws}/visibility/reanalyze",
            post(reanalysis::reanalyze).get(reanalysis::to_dashboard),
        )
        .route(
            "/brands/{ws}/entities",
            get(entities::show).post(entities::save),
        )
        .route("/results/{id}", get(results::redirect))
        .route("/static/{file}", get(assets::serve))
        // The UI's own 404 page for unknown addresses in its part of the URL space.
        .route("/brands/{ws}/{*rest}", any(not_found))
        .route("/results/{id}/{*rest}", any(not_found))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            session::layer,
        ))
        .with_state(state)
}

async fn disabled() -> Response {
    error_page(
        StatusCode::NOT_FOUND,
        "Web UI disabled".into(),
        DISABLED_MESSAGE.into(),
        Some(("/api/prompt-templates/health".into(), "API health".into())),
    )
    .into_response()
}

/// Every UI path answers 404 with a page saying the UI is disabled and the API is under `/api`.
pub fn disabled_router() -> Router {
    Router::new()
        .route("/", any(disabled))
        .route("/sign-in", any(disabled))
        .route("/sign-out", any(disabled))
        .route("/brands", any(disabled))
        .route("/brands/{*rest}", any(disabled))
        .route("/results", any(disabled))
        .route("/results/{*rest}", any(disabled))
        .route("/static/{*rest}", any(disabled))
}
