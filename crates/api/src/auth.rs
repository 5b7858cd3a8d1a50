//! Who is calling, and what they may see.
//!
//! With auth required, every `/api` request carries `Authorization: Bearer <token>`; the token
//! fixes the organisation (a body or query naming another one is refused with 403), optionally
//! limits the workspaces, and has a role (readers cannot create, delete or run). Objects of
//! another organisation or a workspace the token may not use answer 404, exactly like objects
//! that do not exist: their existence is not revealed. With auth off (a loopback quick start
//! without tokens) every request is [`Principal::Open`].

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prompter_domain::token::token_hash;
use prompter_storage::{ApiToken, Template};
use serde_json::Value;

use crate::error::ApiError;
use crate::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    Off,
    Required,
}

#[derive(Debug, Clone)]
pub enum Principal {
    /// Auth is off: the caller names its organisation (default `default`).
    Open,
    Token(ApiToken),
}

pub async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let principal = match state.auth {
        AuthMode::Off => Principal::Open,
        AuthMode::Required => {
            let secret = req
                .headers()
                .get(axum::http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| {
                    v.strip_prefix("Bearer ")
                        .or_else(|| v.strip_prefix("bearer "))
                })
                .map(str::trim)
                .filter(|s| !s.is_empty());
            let Some(secret) = secret else {
                return ApiError::Unauthorized("an Authorization: Bearer token is required")
                    .into_response();
            };
            match state.db.active_token_by_hash(&token_hash(secret)).await {
                Ok(Some(token)) => {
                    if let Some(limiter) = &state.rate_limiter {
                        if let Err(retry_after_s) = limiter.check(token.id) {
                            return ApiError::RateLimited { retry_after_s }.into_response();
                        }
                    }
                    Principal::Token(token)
                }
                Ok(None) => {
                    return ApiError::Unauthorized("the token is invalid or revoked")
                        .into_response()
                }
                Err(e) => return ApiError::from(e).into_response(),
            }
        }
    };
    req.extensions_mut().insert(principal);
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

impl Principal {
    /// The organisation a request acts in. `requested` is what the body or query named.
    pub fn org(&self, requested: Option<&str>) -> Result<Option<String>, ApiError> {
        match self {
            Principal::Open => Ok(requested.map(str::to_owned)),
            Principal::Token(t) => match requested {
                Some(r) if r != t.org_id => Err(ApiError::Forbidden(
                    "the token belongs to another organisation",
                )),
                _ => Ok(Some(t.org_id.clone())),
            },
        }
    }

    /// Sets (or checks) `org_id` of a JSON body according to the token.
    pub fn scope_body(&self, body: &mut Value) -> Result<(), ApiError> {
        let Principal::Token(t) = self else {
            return Ok(());
        };
        let Value::Object(map) = body else {
            return Ok(());
        };
        match map.get("org_id") {
            None | Some(Value::Null) => {
                map.insert("org_id".into(), Value::String(t.org_id.clone()));
                Ok(())
            }
            Some(Value::String(o)) if *o == t.org_id => Ok(()),
            Some(Value::String(_)) => Err(ApiError::Forbidden(
                "the token belongs to another organisation",
            )),
            Some(_) => Ok(()), // a type error; validation names it
        }
    }

    pub fn permits_workspace(&self, workspace: &str) -> bool {
        match self {
            Principal::Open => true,
            Principal::Token(t) => t.permits_workspace(workspace),
        }
    }

    /// The workspace filter a list must apply (`None`: every workspace of the org).
    pub fn allowed_workspaces(&self) -> Option<Vec<String>> {
        match self {
            Principal::Open => None,
            Principal::Token(t) => t.workspaces.clone(),
        }
    }

    pub fn permits(&self, org_id: &str, workspace_id: &str) -> bool {
        let org_ok = match self {
            Principal::Open => true,
            Principal::Token(t) => t.org_id == org_id,
        };
        org_ok && self.permits_workspace(workspace_id)
    }

    /// 404 unless the caller may see `template`.
    pub fn check_template(&self, template: &Template) -> Result<(), ApiError> {
        if self.permits(&template.org_id, &template.workspace_id) {
            Ok(())
        } else {
            Err(ApiError::TemplateNotFound)
        }
    }

    /// Creating, deleting, restoring and running need a writer or an admin.
    pub fn require_writer(&self) -> Result<(), ApiError> {
        match self {
            Principal::Token(t) if !t.can_write() => Err(ApiError::Forbidden(
                "reader tokens cannot change or run anything",
            )),
            _ => Ok(()),
        }
    }
}

/// The per-token limiter, shared with the web UI so a token has one budget.
pub use prompter_service::RateLimiter;
