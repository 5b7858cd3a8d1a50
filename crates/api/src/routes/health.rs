//! `GET /api/prompt-templates/health`: liveness plus the database's state.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use crate::AppState;

pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let backend = state.db.backend().as_str();
    match state.db.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(json!({
                "status": "ok",
                "service": "prompter-api",
                "version": env!("CARGO_PKG_VERSION"),
                "database": {"status": "ok", "backend": backend},
            })),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({
                    "status": "unavailable",
                    "service": "prompter-api",
                    "version": env!("CARGO_PKG_VERSION"),
                    "database": {"status": "unreachable", "backend": backend},
                })),
            )
        }
    }
}
