//! `GET /api/prompt-templates/health`: liveness plus the database's state.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use crate::openapi::{Health, Readiness};
use crate::AppState;

/// Liveness, plus whether the database answers.
#[utoipa::path(
    get,
    path = "/api/prompt-templates/health",
    operation_id = "health",
    tag = "operations",
    responses(
        (status = 200, description = "Up, database reachable", body = Health),
        (status = 503, description = "The database is unreachable", body = Health),
    ),
)]
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

/// `GET /readyz`: ready to take traffic when the database answers and every migration this binary
/// knows is applied. Redis is reported, not required: without it the probe cache is bypassed.
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "readyz",
    tag = "operations",
    responses(
        (status = 200, description = "Ready", body = Readiness),
        (status = 503, description = "Not ready: database unreachable or migrations pending", body = Readiness),
    ),
)]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let database = state.db.ping().await;
    let migrations = state.db.migration_status().await;
    let pending: Vec<i64> = migrations
        .as_ref()
        .map(|m| m.iter().filter(|m| !m.applied).map(|m| m.version).collect())
        .unwrap_or_default();
    let cache = &state.services.probe_cache;
    let ready = database.is_ok() && migrations.is_ok() && pending.is_empty();
    let body = json!({
        "status": if ready { "ready" } else { "not_ready" },
        "database": {
            "status": if database.is_ok() { "ok" } else { "unreachable" },
            "backend": state.db.backend().as_str(),
        },
        "migrations": {
            "status": if migrations.is_err() { "unknown" } else if pending.is_empty() { "current" } else { "pending" },
            "pending": pending,
        },
        "redis": {
            "configured": cache.kind() == "redis",
            "status": if cache.kind() != "redis" { "not_configured" } else if cache.healthy() { "ok" } else { "unreachable" },
        },
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body))
}
