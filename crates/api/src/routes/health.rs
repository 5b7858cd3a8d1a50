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
    let db = state.services.database_health().await;
    let (status, word, db_word) = if db.reachable {
        (StatusCode::OK, "ok", "ok")
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "unreachable",
        )
    };
    (
        status,
        Json(json!({
            "status": word,
            "service": "prompter-api",
            "version": env!("CARGO_PKG_VERSION"),
            "database": {"status": db_word, "backend": db.backend},
        })),
    )
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
    let r = state.services.readiness().await;
    let ready = r.ready();
    let body = json!({
        "status": if ready { "ready" } else { "not_ready" },
        "database": {
            "status": if r.database.reachable { "ok" } else { "unreachable" },
            "backend": r.database.backend,
        },
        "migrations": {
            "status": match &r.pending_migrations {
                None => "unknown",
                Some(p) if p.is_empty() => "current",
                Some(_) => "pending",
            },
            "pending": r.pending_migrations.clone().unwrap_or_default(),
        },
        "redis": {
            "configured": r.redis_ok.is_some(),
            "status": match r.redis_ok {
                None => "not_configured",
                Some(true) => "ok",
                Some(false) => "unreachable",
            },
        },
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body))
}
