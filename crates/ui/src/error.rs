//! Errors of the UI, rendered as friendly pages with the right status.
//!
//! Form validation is not an error here: a 422 (or 409 for a duplicate) re-renders the form with
//! its messages, in the handler that owns the form. What remains are pages that cannot be shown.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use prompter_service::ServiceError;
use prompter_storage::StorageError;

use crate::views::Layout;

#[derive(Debug)]
pub enum UiError {
    /// An unknown brand, template, result or page: says which.
    NotFound(&'static str),
    Forbidden(String),
    /// Tokens are required and the browser is not signed in (pages redirect instead).
    Unauthorized,
    /// The token used up its requests per minute (shared with the API).
    RateLimited {
        retry_after_s: u64,
    },
    BadRequest(String),
    PayloadTooLarge,
    /// The action conflicts with another template; the page links to it.
    Conflict {
        message: String,
        href: String,
        link_text: String,
    },
    /// The database cannot be reached.
    Unavailable(String),
    Internal(String),
}

impl UiError {
    pub fn status(&self) -> StatusCode {
        match self {
            UiError::NotFound(_) => StatusCode::NOT_FOUND,
            UiError::Forbidden(_) => StatusCode::FORBIDDEN,
            UiError::Unauthorized => StatusCode::UNAUTHORIZED,
            UiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            UiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            UiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            UiError::Conflict { .. } => StatusCode::CONFLICT,
            UiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            UiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn heading_and_message(&self) -> (String, String) {
        match self {
            UiError::NotFound(what) => (
                format!("{} not found", capitalise(what)),
                format!(
                    "There is no {what} at this address. It may have been mistyped, or it \
                     belongs to another brand."
                ),
            ),
            UiError::Forbidden(why) => ("Request refused".into(), why.clone()),
            UiError::RateLimited { retry_after_s } => (
                "Too many requests".into(),
                format!(
                    "Your token has used its requests for this minute (the API and these pages \
                     share one budget). Try again in {retry_after_s} s."
                ),
            ),
            UiError::Unauthorized => (
                "Sign in first".into(),
                "This Prompter requires an API token. Sign in, then send the form again.".into(),
            ),
            UiError::BadRequest(why) => ("Bad request".into(), why.clone()),
            UiError::PayloadTooLarge => (
                "Form too large".into(),
                "The form is larger than Prompter accepts (2 MiB). Shorten the long fields and \
                 send it again."
                    .into(),
            ),
            UiError::Conflict { message, .. } => ("Not possible right now".into(), message.clone()),
            UiError::Unavailable(_) => (
                "Database unavailable".into(),
                "Prompter cannot reach its database right now. Nothing was changed; please try \
                 again in a moment."
                    .into(),
            ),
            UiError::Internal(_) => (
                "Something went wrong".into(),
                "An unexpected error happened on our side. It has been logged; please try again."
                    .into(),
            ),
        }
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub layout: Layout,
    pub status: u16,
    pub heading: String,
    pub message: String,
    /// `(href, text)` of a link that helps (the conflicting template).
    pub link: Option<(String, String)>,
}

/// A complete error page; `layout` without brands (an error page makes no database call).
pub fn error_page(
    status: StatusCode,
    heading: String,
    message: String,
    link: Option<(String, String)>,
) -> Response {
    let page = ErrorPage {
        layout: Layout::bare(&heading),
        status: status.as_u16(),
        heading,
        message,
        link,
    };
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "rendering the error page");
            (status, "error").into_response()
        }
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        match &self {
            UiError::Internal(why) => tracing::error!(error = %why, "ui: internal error"),
            UiError::Unavailable(why) => tracing::warn!(error = %why, "ui: database unavailable"),
            _ => {}
        }
        let (heading, message) = self.heading_and_message();
        let link = match &self {
            UiError::Conflict {
                href, link_text, ..
            } => Some((href.clone(), link_text.clone())),
            UiError::Unauthorized => Some(("/sign-in".into(), "Sign in".into())),
            _ => None,
        };
        let mut resp = error_page(self.status(), heading, message, link);
        if let UiError::RateLimited { retry_after_s } = self {
            resp.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(retry_after_s),
            );
        }
        resp
    }
}

impl From<StorageError> for UiError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::Unavailable(why) => UiError::Unavailable(why.to_string()),
            other => UiError::Internal(other.to_string()),
        }
    }
}

impl From<askama::Error> for UiError {
    fn from(e: askama::Error) -> Self {
        UiError::Internal(format!("rendering a page: {e}"))
    }
}

impl From<ServiceError> for UiError {
    /// For service calls whose other outcomes the handler has already taken care of.
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::TemplateNotFound => UiError::NotFound("template"),
            ServiceError::Storage(s) => s.into(),
            other => UiError::Internal(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_pages() {
        for (e, status, text) in [
            (UiError::NotFound("brand"), 404, "Brand not found"),
            (UiError::Forbidden("x".into()), 403, "Request refused"),
            (UiError::Unauthorized, 401, "Sign in first"),
            (
                UiError::RateLimited { retry_after_s: 7 },
                429,
                "Too many requests",
            ),
            (
                UiError::Unavailable("down".into()),
                503,
                "Database unavailable",
            ),
            (UiError::Internal("bug".into()), 500, "Something went wrong"),
            (UiError::PayloadTooLarge, 413, "Form too large"),
        ] {
            assert_eq!(e.status().as_u16(), status);
            let (heading, _) = e.heading_and_message();
            assert_eq!(heading, text);
        }
        let e: UiError = StorageError::Unavailable("pool timed out".into()).into();
        assert_eq!(e.status(), StatusCode::SERVICE_UNAVAILABLE);
        // The cause is logged, never shown.
        let (_, message) = UiError::Internal("secret detail".into()).heading_and_message();
        assert!(!message.contains("secret"));
    }
}
