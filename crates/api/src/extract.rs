//! Request extraction with the service's own errors (axum's rejections are plain text).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use prompter_domain::template_spec::check_json_shape;
use prompter_domain::FieldError;
use serde_json::Value;
use uuid::Uuid;

use crate::error::ApiError;

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// A JSON request body: `Content-Type: application/json`, at most [`MAX_BODY_BYTES`], valid
/// UTF-8 JSON, nesting and strings within limits (see `check_json_shape`).
pub struct JsonBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|mime| {
                let mime = mime.trim().to_ascii_lowercase();
                mime == "application/json"
                    || (mime.starts_with("application/") && mime.ends_with("+json"))
            })
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge {
                    limit_bytes: MAX_BODY_BYTES,
                }
            } else {
                ApiError::MalformedJson(rejection.body_text())
            }
        })?;
        let value: Value =
            serde_json::from_slice(&bytes).map_err(|e| ApiError::MalformedJson(e.to_string()))?;
        check_json_shape(&value)?;
        Ok(JsonBody(value))
    }
}

/// An optional JSON body: an empty body is `None`; a non-empty one must pass [`JsonBody`]'s
/// checks.
pub struct OptionalJsonBody(pub Option<Value>);

impl<S: Send + Sync> FromRequest<S> for OptionalJsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let declared_empty = req
            .headers()
            .get(axum::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() == "0");
        let no_type = !req.headers().contains_key(CONTENT_TYPE);
        if declared_empty || no_type {
            // Without a content type only an empty body is acceptable.
            let bytes = Bytes::from_request(req, state)
                .await
                .map_err(|_| ApiError::MalformedJson("unreadable body".into()))?;
            if bytes.is_empty() {
                return Ok(OptionalJsonBody(None));
            }
            if no_type {
                return Err(ApiError::UnsupportedMediaType);
            }
            return Err(ApiError::MalformedJson(
                "body present despite Content-Length: 0".into(),
            ));
        }
        JsonBody::from_request(req, state)
            .await
            .map(|JsonBody(v)| OptionalJsonBody(Some(v)))
    }
}

/// A template id from the path. A malformed id cannot name a template: 404, not 400.
pub fn template_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::TemplateNotFound)
}

/// An optional JSON body read into the service's typed request `T`: an empty body or `null` is
/// `T::default()`; a field of the wrong type is a 422 naming it (`runtime_vars.region`).
pub struct TypedBody<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned + Default> FromRequest<S> for TypedBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let OptionalJsonBody(body) = OptionalJsonBody::from_request(req, state).await?;
        match body {
            None | Some(Value::Null) => Ok(TypedBody(T::default())),
            Some(value @ Value::Object(_)) => typed(value).map(TypedBody),
            Some(_) => Err(FieldError::new("body", "must be a JSON object").into()),
        }
    }
}

/// `value` as a `T`, with the path of the first field that does not fit.
pub fn typed<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let field = e.path().to_string();
        let why = e.into_inner().to_string();
        // serde's "invalid type: integer `5`, expected a string" → "must be a string".
        // serde's words for JSON types, in the words the other field messages use.
        let message = match why.split_once(", expected ") {
            Some((_, "a map")) => "must be a JSON object".to_owned(),
            Some((_, "a boolean")) => "must be true or false".to_owned(),
            Some((_, "a sequence")) => "must be a list".to_owned(),
            Some((_, expected)) => format!("must be {expected}"),
            None => why,
        };
        FieldError::new(if field == "." { "body".into() } else { field }, message).into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, serde::Deserialize)]
    #[serde(default)]
    #[allow(dead_code)]
    struct Body {
        flag: Option<bool>,
        vars: Option<serde_json::Map<String, Value>>,
        name: Option<String>,
    }

    fn refusal(v: Value) -> (String, String) {
        match typed::<Body>(v) {
            Err(ApiError::Invalid(e)) => (e.field, e.message),
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    #[test]
    fn a_mistyped_field_is_named_in_the_words_of_the_other_messages() {
        let msg = |f: &str, m: &str| (f.to_owned(), m.to_owned());
        assert_eq!(
            refusal(serde_json::json!({"flag": "yes"})),
            msg("flag", "must be true or false")
        );
        assert_eq!(
            refusal(serde_json::json!({"vars": []})),
            msg("vars", "must be a JSON object")
        );
        assert_eq!(
            refusal(serde_json::json!({"name": 5})),
            msg("name", "must be a string")
        );
        assert!(typed::<Body>(serde_json::json!({"unknown": 1})).is_ok());
    }
}
