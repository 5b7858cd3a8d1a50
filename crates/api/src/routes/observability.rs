//! `/metrics`, the HTTP metrics middleware and the per-request log span.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prompter_service::telemetry::{HTTP_DURATION, HTTP_REQUESTS};

use crate::AppState;

/// Prometheus metrics, in the text exposition format.
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "operations",
    responses((status = 200, description = "Prometheus text exposition format 0.0.4", content_type = "text/plain", body = String)),
)]
pub async fn metrics(State(state): State<AppState>) -> Response {
    match &state.metrics {
        Some(handle) => (
            [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
            handle.render(),
        )
            .into_response(),
        None => crate::error::ApiError::RouteNotFound.into_response(),
    }
}

fn route_of(req: &Request) -> String {
    req.extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned())
}

fn method_label(method: &axum::http::Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "PATCH" => "PATCH",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        _ => "OTHER",
    }
}

/// Counts and times every request by method, matched route template and status.
pub async fn track_http(enabled: bool, req: Request, next: Next) -> Response {
    if !enabled {
        return next.run(req).await;
    }
    let method = method_label(req.method());
    let route = req.extensions().get::<MatchedPath>().cloned();
    let started = Instant::now();
    let response = next.run(req).await;
    let route = route.as_ref().map_or("unmatched", |p| p.as_str());
    let (requests, duration) = http_handles(method, route, response.status().as_u16());
    duration.record(started.elapsed().as_secs_f64());
    requests.increment(1);
    response
}

type HandleKey = (&'static str, u16, Box<str>);

/// The counter and histogram of one (method, route, status), registered once: looking a labelled
/// metric up in the recorder on every request (building its key, hashing its labels) cost ~15 % of
/// a cheap request's throughput. Routes are path templates, so the map stays small.
fn http_handles(
    method: &'static str,
    route: &str,
    status: u16,
) -> (metrics::Counter, metrics::Histogram) {
    use std::collections::HashMap;
    use std::sync::{OnceLock, RwLock};
    static HANDLES: OnceLock<RwLock<HashMap<HandleKey, (metrics::Counter, metrics::Histogram)>>> =
        OnceLock::new();
    let map = HANDLES.get_or_init(Default::default);
    let key: HandleKey = (method, status, route.into());
    if let Some(found) = map.read().expect("handles").get(&key) {
        return found.clone();
    }
    let handles = (
        metrics::counter!(HTTP_REQUESTS, "method" => method, "route" => route.to_owned(), "status" => status.to_string()),
        metrics::histogram!(HTTP_DURATION, "method" => method, "route" => route.to_owned()),
    );
    map.write().expect("handles").insert(key, handles.clone());
    handles
}

/// The span every log line of a request carries: its id (from `x-request-id`, or generated),
/// method and matched route. Never the query string or body.
pub fn request_span(req: &Request) -> tracing::Span {
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %req.method(),
        route = %route_of(req),
    )
}
