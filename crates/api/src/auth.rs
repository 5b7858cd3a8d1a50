//! Who is calling: the bearer token becomes a [`Caller`], which every service operation takes.
//! What a caller may see and do is decided by the service (`prompter_service::Caller`), not here.
//!
//! With auth required, every `/api` request carries `Authorization: Bearer <token>`; without a
//! valid one it is refused with 401 (429 past the token's rate limit). With auth off (a loopback
//! quick start without tokens) every request is [`Caller::open`].

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prompter_service::Caller;

use crate::error::ApiError;
use crate::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    Off,
    Required,
}

/// The caller of a request, put there by [`authenticate`].
#[derive(Debug, Clone)]
pub struct Principal(pub Caller);

/// The bearer secret of a request, if it has one.
fn bearer(req: &Request) -> Option<&str> {
    req.headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

pub async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let caller = match state.auth {
        AuthMode::Off => Caller::open(),
        AuthMode::Required => {
            let Some(secret) = bearer(&req) else {
                return ApiError::Unauthorized("an Authorization: Bearer token is required")
                    .into_response();
            };
            match state.services.authenticate(secret).await {
                Ok(caller) => caller,
                Err(e) => return ApiError::from(e).into_response(),
            }
        }
    };
    req.extensions_mut().insert(Principal(caller));
    next.run(req).await
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Principal>().cloned().ok_or_else(|| {
            ApiError::Internal("route is not behind the authentication layer".into())
        })
    }
}
