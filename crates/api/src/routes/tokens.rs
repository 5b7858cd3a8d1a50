//! `/api/tokens`: an admin manages its organisation's API tokens (the CLI's `prompter tokens`
//! does the same for the operator).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use prompter_domain::FieldError;
use prompter_service::records::Role;
use prompter_service::CreateToken;
use serde::{Deserialize, Serialize};

use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{typed, JsonBody};
use crate::openapi::ErrorResponse;
use crate::views::{all, CreatedTokenView, TokenView};
use crate::AppState;

/// The body of `POST /api/tokens`.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct CreateTokenRequest {
    /// Default: the caller's organisation (another one is refused).
    #[schema(min_length = 1, max_length = 128, pattern = r"^[A-Za-z0-9._:-]+$")]
    org_id: Option<String>,
    /// Limit the token to these workspaces; absent or empty: every workspace of the organisation
    /// (only for a caller not limited itself).
    workspaces: Option<Vec<String>>,
    /// `reader`, `writer` (default) or `admin`.
    role: Option<String>,
    /// A note for the token list (who or what uses it).
    #[schema(max_length = 200)]
    label: Option<String>,
}

/// Create an API token; its secret is in this answer only.
#[utoipa::path(
    post,
    path = "/api/tokens",
    operation_id = "create_token",
    tag = "tokens",
    request_body(content = CreateTokenRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Created; `secret` is shown once", body = CreatedTokenView),
        (status = 400, description = "`MALFORMED_JSON`: the body is not JSON, or not UTF-8", body = ErrorResponse),
        (status = 413, description = "`PAYLOAD_TOO_LARGE`: the body is over 1 MiB", body = ErrorResponse),
        (status = 415, description = "`UNSUPPORTED_MEDIA_TYPE`: `Content-Type` is not `application/json`", body = ErrorResponse),
        (status = 403, description = "`FORBIDDEN`: not an admin token, another organisation, or workspaces beyond the caller's", body = ErrorResponse),
        (status = 422, description = "`INVALID_FIELD`: a field fails validation (`field` names it)", body = ErrorResponse),
        (status = 503, description = "`DATABASE_UNAVAILABLE`", body = ErrorResponse),
    ),
    security(("bearer" = [])),
)]
pub async fn create(
    State(state): State<AppState>,
    Principal(caller): Principal,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<CreatedTokenView>), ApiError> {
    if !body.is_object() {
        return Err(FieldError::new("body", "must be a JSON object").into());
    }
    let body: CreateTokenRequest = typed(body)?;
    let role = match body.role.as_deref() {
        None => Role::Writer,
        Some(raw) => Role::parse(raw)
            .ok_or_else(|| FieldError::new("role", "must be reader, writer or admin"))?,
    };
    let label = prompter_domain::at_most_chars("label", body.label.as_deref(), 200)?;
    let request = CreateToken {
        org_id: match body.org_id {
            Some(org) => org,
            None => caller.default_org().to_string(),
        },
        workspaces: body.workspaces.unwrap_or_default(),
        role,
        label: label.map(str::to_owned),
    };
    let created = state.services.create_token(&caller, request).await?;
    Ok((StatusCode::CREATED, Json(created.into())))
}

/// The tokens an admin manages.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenList {
    items: Vec<TokenView>,
}

/// The organisation's tokens (revoked ones included, oldest first); never their secrets.
#[utoipa::path(
    get,
    path = "/api/tokens",
    operation_id = "list_tokens",
    tag = "tokens",
    responses(
        (status = 200, description = "The tokens", body = TokenList),
        (status = 403, description = "`FORBIDDEN`: not an admin token", body = ErrorResponse),
        (status = 503, description = "`DATABASE_UNAVAILABLE`", body = ErrorResponse),
    ),
    security(("bearer" = [])),
)]
pub async fn list(
    State(state): State<AppState>,
    Principal(caller): Principal,
) -> Result<Json<TokenList>, ApiError> {
    Ok(Json(TokenList {
        items: all(state.services.list_tokens(&caller).await?),
    }))
}

/// Revoke a token: every request with it is refused from now on.
#[utoipa::path(
    delete,
    path = "/api/tokens/{id}",
    operation_id = "revoke_token",
    tag = "tokens",
    params(("id" = String, Path, format = Uuid, description = "Token id (a malformed one is a 404)")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 403, description = "`FORBIDDEN`: not an admin token", body = ErrorResponse),
        (status = 404, description = "`TOKEN_NOT_FOUND`: unknown, already revoked, or not one the caller manages", body = ErrorResponse),
        (status = 503, description = "`DATABASE_UNAVAILABLE`", body = ErrorResponse),
    ),
    security(("bearer" = [])),
)]
pub async fn revoke(
    State(state): State<AppState>,
    Principal(caller): Principal,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = uuid::Uuid::parse_str(&id).map_err(|_| ApiError::TokenNotFound)?;
    state.services.revoke_token(&caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
