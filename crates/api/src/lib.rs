//! Prompter's HTTP API, wire-compatible with the seed's FastAPI service.
//!
//! Handlers are thin adapters over `prompter_service`: extract (with [`extract::JsonBody`],
//! [`extract::TypedBody`] and [`params::Params`], which produce field-named errors) into the
//! service's typed request, call the operation with the [`auth::Principal`]'s caller, and render
//! the outcome as a wire type of [`views`]. Every error goes through [`error::ApiError`].

pub mod auth;
pub mod error;
pub mod extract;
pub mod openapi;
pub mod params;
pub mod routes;
pub mod views;
pub mod visibility_views;

use std::future::Future;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post, put};
use axum::Router;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
use crate::routes::{
    batches, health, observability, runs, schedules, templates, tokens, visibility, workspaces,
};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub services: prompter_service::Services,
    /// `None` when metrics are switched off (`PROMPTER_METRICS_ENABLED=false`): no recorder, no
    /// HTTP metrics middleware, `/metrics` answers 404. Exists to measure the overhead.
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    pub auth: auth::AuthMode,
    /// How long the run endpoint waits for the outcome before answering 202
    /// (`PROMPTER_RUN_WAIT_MS`); below [`REQUEST_TIMEOUT`].
    pub run_wait: Duration,
}

impl AppState {
    /// Installs the process-wide metrics recorder on first use, with the metrics' `env` label.
    pub fn new(services: prompter_service::Services, env: &str) -> Self {
        Self {
            metrics: Some(prompter_service::telemetry::install_metrics(env)),
            services,
            auth: auth::AuthMode::Off,
            run_wait: DEFAULT_RUN_WAIT,
        }
    }

    /// No metrics at all (see [`AppState::metrics`]). Only effective if no recorder was installed
    /// before in this process.
    pub fn without_metrics(services: prompter_service::Services) -> Self {
        Self {
            metrics: None,
            services,
            auth: auth::AuthMode::Off,
            run_wait: DEFAULT_RUN_WAIT,
        }
    }

    /// Sets [`AppState::run_wait`], capped below the request timeout.
    pub fn with_run_wait(mut self, wait: Duration) -> Self {
        self.run_wait = wait.min(REQUEST_TIMEOUT - Duration::from_secs(1));
        self
    }

    pub fn with_auth(mut self, mode: auth::AuthMode) -> Self {
        self.auth = mode;
        self
    }
}

/// How long a run request waits for its outcome by default before answering 202.
pub const DEFAULT_RUN_WAIT: Duration = Duration::from_millis(25_000);

/// How long one request may take before the service answers 408 and drops it.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

pub fn router(state: AppState) -> Router {
    let metrics_on = state.metrics.is_some();
    // Everything under /api but health needs a principal (a token when auth is required).
    let api = Router::new()
        .route(
            "/api/prompt-templates",
            post(templates::create).get(templates::list),
        )
        .route(
            "/api/prompt-templates/check-duplicate",
            post(templates::check_duplicate),
        )
        .route(
            "/api/prompt-templates/{id}",
            get(templates::get)
                .patch(templates::update_labels)
                .delete(templates::delete),
        )
        .route(
            "/api/prompt-templates/{id}/restore",
            post(templates::restore),
        )
        .route(
            "/api/prompt-templates/{id}/ensure-version",
            post(runs::ensure_version),
        )
        .route("/api/prompt-templates/{id}/versions", get(runs::versions))
        .route("/api/prompt-templates/{id}/run", post(runs::run))
        .route("/api/prompt-templates/{id}/results", get(runs::results))
        .route("/api/results/{id}", get(runs::result))
        .route(
            "/api/workspaces",
            post(workspaces::create).get(workspaces::list),
        )
        .route(
            "/api/workspaces/{id}",
            get(workspaces::get).patch(workspaces::rename),
        )
        .route(
            "/api/workspaces/{id}/near-duplicates",
            get(workspaces::near_duplicates),
        )
        .route(
            "/api/workspaces/{id}/entities",
            put(visibility::put_entities).get(visibility::get_entities),
        )
        .route(
            "/api/workspaces/{id}/alias-snapshots",
            get(visibility::alias_snapshots),
        )
        .route(
            "/api/workspaces/{id}/reanalyze",
            post(visibility::reanalyze),
        )
        .route(
            "/api/workspaces/{id}/visibility",
            get(visibility::visibility),
        )
        .route("/api/reanalyses/{id}", get(visibility::get_reanalysis))
        .route("/api/batches", post(batches::create).get(batches::list))
        .route("/api/batches/{id}", get(batches::get))
        .route("/api/batches/{id}/tasks", get(batches::tasks))
        .route("/api/batches/{id}/cancel", post(batches::cancel))
        .route(
            "/api/batches/{id}/retry-failed",
            post(batches::retry_failed),
        )
        .route(
            "/api/schedules",
            post(schedules::create).get(schedules::list),
        )
        .route(
            "/api/schedules/{id}",
            get(schedules::get)
                .patch(schedules::update)
                .delete(schedules::delete),
        )
        .route("/api/tokens", post(tokens::create).get(tokens::list))
        .route("/api/tokens/{id}", delete(tokens::revoke))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ));
    // Operations endpoints stay open: load balancers and Prometheus do not carry tokens.
    let operations = Router::new()
        .route("/api/prompt-templates/health", get(health::health))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(observability::metrics))
        .route("/openapi.json", get(openapi::openapi_json));
    api.merge(operations)
        .fallback(|| async { ApiError::RouteNotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .with_state(state)
        .layer(DefaultBodyLimit::max(extract::MAX_BODY_BYTES))
        // Applied per route, so the matched path template is known: bounded label values.
        .layer(axum::middleware::from_fn(move |req, next| {
            observability::track_http(metrics_on, req, next)
        }))
        .layer(
            tower::ServiceBuilder::new()
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(TraceLayer::new_for_http().make_span_with(observability::request_span))
                .layer(CatchPanicLayer::custom(|_| {
                    axum::response::IntoResponse::into_response(ApiError::Internal(
                        "handler panicked".into(),
                    ))
                }))
                .layer(axum::middleware::from_fn_with_state(
                    REQUEST_TIMEOUT,
                    request_timeout,
                )),
        )
}

/// What a process without the API serves (`prompter worker`): readiness and metrics, for the
/// orchestrator and Prometheus.
pub fn operations_router(state: AppState) -> Router {
    Router::new()
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(observability::metrics))
        .fallback(|| async { ApiError::RouteNotFound })
        .with_state(state)
}

/// Answers 408 in the error envelope when a request takes longer than [`REQUEST_TIMEOUT`]. What
/// the request started in the service (a run) is not part of the request's future and goes on.
async fn request_timeout(
    axum::extract::State(limit): axum::extract::State<Duration>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => axum::response::IntoResponse::into_response(ApiError::RequestTimeout {
            timeout_s: limit.as_secs(),
        }),
    }
}

/// How long a client may take to send its request headers. `axum::serve` has no such limit, so a
/// slow client could hold a connection forever; [`serve_app`] enforces this one.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `app` on `listener` with a header read timeout ([`HEADER_READ_TIMEOUT`]); request
/// handling (body included) is bounded by the router's [`REQUEST_TIMEOUT`]. When `shutdown`
/// completes, stops accepting and waits for open connections to finish their requests.
pub async fn serve_app(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto::Builder;
    use hyper_util::server::graceful::GracefulShutdown;
    use hyper_util::service::TowerToHyperService;

    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let service = TowerToHyperService::new(app.clone());
                let connection = builder
                    .serve_connection_with_upgrades(TokioIo::new(stream), service)
                    .into_owned();
                let connection = graceful.watch(connection);
                tokio::spawn(async move {
                    if let Err(e) = connection.await {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod request_timeout_tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    #[tokio::test]
    async fn a_request_past_the_timeout_gets_408_in_the_error_envelope() {
        let app = Router::new()
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    "late"
                }),
            )
            .route("/quick", get(|| async { "on time" }))
            .layer(axum::middleware::from_fn_with_state(
                Duration::from_millis(50),
                request_timeout,
            ));
        let quick = app
            .clone()
            .oneshot(Request::get("/quick").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(quick.status(), 200);
        let slow = app
            .oneshot(Request::get("/slow").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(slow.status(), 408);
        assert_eq!(
            slow.headers()["content-type"].to_str().unwrap(),
            "application/json"
        );
        let body = axum::body::to_bytes(slow.into_body(), 1 << 16)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["detail"]["code"], "REQUEST_TIMEOUT", "{body}");
        assert!(body["detail"]["message"].is_string(), "{body}");
    }
}
