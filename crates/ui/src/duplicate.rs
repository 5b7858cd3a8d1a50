//! The create form's live duplicate warning: `POST /brands/{ws}/check-duplicate`.
//!
//! The page's script sends the configuration being typed (the same JSON the API takes) with the
//! CSRF token in a header; the answer is the API's `DuplicateCheck` (`Services::check_duplicate`).
//! It lives in the UI, not behind `/api`, because a signed-in browser holds a session cookie, not
//! a bearer token: the organisation and brand always come from the session's caller and the URL,
//! whatever the body says.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use prompter_domain::template_spec::check_json_shape;
use prompter_domain::{parse_template_spec, NameRule, SpecError};
use serde_json::{json, Value};

use crate::error::UiError;
use crate::session::Session;
use crate::views::load_brand;
use crate::UiState;

fn invalid(field: &str, message: &str) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(json!({"error": {"code": "INVALID_FIELD", "field": field, "message": message}})),
    )
        .into_response()
}

pub async fn check(
    State(state): State<UiState>,
    session: Session,
    Path(ws): Path<String>,
    body: Bytes,
) -> Result<Response, UiError> {
    let ws = load_brand(&state, &session, &ws).await?;
    let Ok(mut body) = serde_json::from_slice::<Value>(&body) else {
        return Ok(invalid("body", "must be a JSON object"));
    };
    let Value::Object(map) = &mut body else {
        return Ok(invalid("body", "must be a JSON object"));
    };
    map.insert(
        "org_id".into(),
        Value::String(session.caller.default_org().to_string()),
    );
    map.insert("workspace_id".into(), Value::String(ws.id.clone()));
    if let Err(e) = check_json_shape(&body) {
        return Ok(invalid(&e.field, &e.message));
    }
    let spec = match parse_template_spec(&body, NameRule::Optional) {
        Ok(spec) => spec,
        Err(SpecError::Invalid(e)) => return Ok(invalid(&e.field, &e.message)),
        Err(SpecError::WorkspaceRequired) => return Ok(invalid("workspace_id", "is required")),
    };
    let check = state
        .services
        .check_duplicate(&session.caller, &spec)
        .await?;
    Ok(Json(check).into_response())
}
