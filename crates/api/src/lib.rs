//! Prompter's HTTP API, wire-compatible with the seed's FastAPI service.
//!
//! Handlers are thin: extract (with [`extract::JsonBody`] and [`params::Params`], which produce
//! the service's own errors), validate with `prompter-domain`, call the [`Database`], map the
//! outcome. Every error goes through [`error::ApiError`].

pub mod auth;
pub mod error;
pub mod extract;
pub mod openapi;
pub mod params;
pub mod routes;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use prompter_storage::Database;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
use crate::routes::{health, observability, runs, templates, workspaces};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: Arc<dyn Database>,
    pub services: prompter_service::Services,
    /// `None` when metrics are switched off (`PROMPTER_METRICS_ENABLED=false`): no recorder, no
    /// HTTP metrics middleware, `/metrics` answers 404. Exists to measure the overhead.
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    pub auth: auth::AuthMode,
    /// Per-token request limit (auth required only).
    pub rate_limiter: Option<Arc<auth::RateLimiter>>,
}

impl AppState {
    /// Installs the process-wide metrics recorder on first use (`env` label from `PROMPTER_ENV`,
    /// default `dev`).
    pub fn new(services: prompter_service::Services) -> Self {
        let env = std::env::var("PROMPTER_ENV")
            .ok()
            .filter(|e| !e.is_empty())
            .unwrap_or_else(|| "dev".to_owned());
        Self::with_env_label(services, &env)
    }

    /// As [`AppState::new`], with the metrics' `env` label given.
    pub fn with_env_label(services: prompter_service::Services, env: &str) -> Self {
        Self {
            db: services.db.clone(),
            metrics: Some(prompter_service::telemetry::install_metrics(env)),
            services,
            auth: auth::AuthMode::Off,
            rate_limiter: None,
        }
    }

    /// Limits each token to `per_minute` requests (429 with `Retry-After` beyond).
    pub fn with_rate_limit(mut self, per_minute: std::num::NonZeroU32) -> Self {
        self.rate_limiter = Some(Arc::new(auth::RateLimiter::per_minute(per_minute)));
        self
    }

    /// No metrics at all (see [`AppState::metrics`]). Only effective if no recorder was installed
    /// before in this process: build the state with [`AppState::without_metrics`] instead.
    pub fn without_metrics(services: prompter_service::Services) -> Self {
        Self {
            db: services.db.clone(),
            metrics: None,
            services,
            auth: auth::AuthMode::Off,
            rate_limiter: None,
        }
    }

    pub fn with_auth(mut self, mode: auth::AuthMode) -> Self {
        self.auth = mode;
        self
    }
}

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
            get(templates::get).delete(templates::delete),
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
        .route("/api/workspaces/{id}", get(workspaces::get))
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
                .layer(TimeoutLayer::with_status_code(
                    axum::http::StatusCode::REQUEST_TIMEOUT,
                    REQUEST_TIMEOUT,
                )),
        )
}

/// Serves `router(state)` with [`serve_app`] (header read timeout, graceful shutdown).
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_app(listener, router(state), shutdown).await
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
