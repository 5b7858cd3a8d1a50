//! Errors of the UI, rendered as friendly pages with the right status.
//!
//! Form validation is not an error here: a 422 (or 409 for a duplicate) re-renders the form with
//! its messages, in the handler that owns the form. What remains are pages that cannot be shown.
//! Every [`ServiceError`] becomes one of them here, once (`impl From<ServiceError>`).

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use prompter_service::ServiceError;

use crate::views::{template_href, Layout};

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
    /// The request is well-formed but cannot be done as asked (a field's value, a template the
    /// provider of which cannot be told).
    Invalid(String),
    PayloadTooLarge,
    /// The action conflicts with the current state (another template holds the configuration, a
    /// brand id is taken, the template is deleted); `link`: `(href, text)` of what it conflicts
    /// with.
    Conflict {
        message: String,
        link: Option<(String, String)>,
    },
    /// The model provider cannot be used (503: not configured) or failed (502).
    Provider {
        status: StatusCode,
        heading: String,
        message: String,
    },
    /// A run was made, but its outcome could not be recorded (the database stayed unavailable):
    /// the result will show as interrupted.
    RunNotRecorded(uuid::Uuid),
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
            UiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            UiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            UiError::Conflict { .. } => StatusCode::CONFLICT,
            UiError::Provider { status, .. } => *status,
            UiError::RunNotRecorded(_) => StatusCode::SERVICE_UNAVAILABLE,
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
            UiError::Invalid(why) => ("Not possible as asked".into(), why.clone()),
            UiError::PayloadTooLarge => (
                "Form too large".into(),
                "The form is larger than Prompter accepts (2 MiB). Shorten the long fields and \
                 send it again."
                    .into(),
            ),
            UiError::Conflict { message, .. } => ("Not possible right now".into(), message.clone()),
            UiError::Provider {
                heading, message, ..
            } => (heading.clone(), message.clone()),
            UiError::RunNotRecorded(_) => (
                "Run not recorded".into(),
                "The run was made, but Prompter could not save its outcome (the database is \
                 unavailable). Its result will show as interrupted."
                    .into(),
            ),
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
            UiError::Conflict { link, .. } => link.clone(),
            UiError::RunNotRecorded(id) => {
                Some((format!("/results/{id}"), "Open the result".into()))
            }
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

impl From<askama::Error> for UiError {
    fn from(e: askama::Error) -> Self {
        UiError::Internal(format!("rendering a page: {e}"))
    }
}

impl From<ServiceError> for UiError {
    /// The page of each outcome of a service call. Handlers that own a form take care of the
    /// outcomes that belong next to its fields (invalid values, a duplicate) before this.
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::TemplateNotFound => UiError::NotFound("template"),
            ServiceError::WorkspaceNotFound => UiError::NotFound("brand"),
            ServiceError::ResultNotFound => UiError::NotFound("result"),
            ServiceError::TokenNotFound => UiError::NotFound("token"),
            ServiceError::BatchNotFound => UiError::NotFound("batch"),
            ServiceError::ScheduleNotFound => UiError::NotFound("schedule"),
            ServiceError::ReanalysisNotFound => UiError::NotFound("re-analysis"),
            ServiceError::EntitiesNotSet => UiError::NotFound("entities"),
            ServiceError::BatchClosed { status } => UiError::Conflict {
                message: format!("The batch is {status}: it cannot change that way."),
                link: None,
            },
            ServiceError::TemplateDeleted => UiError::Conflict {
                message: "The template is deleted: restore it first.".into(),
                link: None,
            },
            ServiceError::WorkspaceRequired => UiError::BadRequest("A brand is required.".into()),
            ServiceError::Invalid(f) => UiError::Invalid(format!("{} {}", f.field, f.message)),
            ServiceError::Forbidden(why) => {
                UiError::Forbidden(format!("Your sign-in does not allow this: {why}."))
            }
            ServiceError::TemplateExists {
                existing,
                workspace_name,
                ..
            } => UiError::Conflict {
                message: format!(
                    "An identical configuration already exists in brand {workspace_name} as the \
                     active template “{}”.",
                    existing.name
                ),
                link: Some((
                    template_href(&existing.workspace_id, existing.id),
                    format!("Open “{}”", existing.name),
                )),
            },
            ServiceError::WorkspaceExists { id } => UiError::Conflict {
                message: format!("Brand {id} already exists."),
                link: None,
            },
            ServiceError::UnknownProvider { model_id } => {
                UiError::Invalid(unknown_provider(&model_id))
            }
            ServiceError::ProviderNotConfigured { provider, hint } => UiError::Provider {
                status: StatusCode::SERVICE_UNAVAILABLE,
                heading: format!("{} is not configured", provider.as_str()),
                message: format!("provider {} is not configured: {hint}", provider.as_str()),
            },
            ServiceError::ProviderFailed {
                provider,
                provider_status,
                message,
                ..
            } => UiError::Provider {
                status: StatusCode::BAD_GATEWAY,
                heading: provider_failed_heading(provider.as_str(), provider_status),
                message,
            },
            ServiceError::RunNotRecorded { result_id } => UiError::RunNotRecorded(result_id),
            ServiceError::ProbeDisabled => UiError::Provider {
                status: StatusCode::SERVICE_UNAVAILABLE,
                heading: "Probes are disabled".into(),
                message: "Provider probes are switched off and no version is known yet.".into(),
            },
            ServiceError::IdempotencyKeyReused => {
                UiError::Invalid("This idempotency key was used with a different request.".into())
            }
            ServiceError::RateLimited { retry_after_s } => UiError::RateLimited { retry_after_s },
            ServiceError::Unauthorized(_) => UiError::Unauthorized,
            e @ ServiceError::Storage(_) if e.is_unavailable() => {
                UiError::Unavailable(e.to_string())
            }
            ServiceError::Storage(e) => UiError::Internal(e.to_string()),
        }
    }
}

/// Why a template whose provider cannot be told does not run, and what to do.
pub fn unknown_provider(model_id: &str) -> String {
    format!(
        "cannot tell the provider of model {model_id:?}: set \"provider\" on the template to \
         one of openai, azure-openai, google, anthropic, openai-compatible"
    )
}

/// The heading of a failed provider call.
pub fn provider_failed_heading(provider: &str, provider_status: Option<u16>) -> String {
    match provider_status {
        Some(s) => format!("{provider} answered with HTTP {s}"),
        None => format!("{provider} did not answer"),
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
        let unavailable = prompter_storage::StorageError::unavailable("pool timed out");
        let e: UiError = ServiceError::Storage(unavailable).into();
        assert_eq!(e.status(), StatusCode::SERVICE_UNAVAILABLE);
        let broken = prompter_storage::StorageError::internal("bad row");
        let e: UiError = ServiceError::Storage(broken).into();
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
        // The cause is logged, never shown.
        let (_, message) = UiError::Internal("secret detail".into()).heading_and_message();
        assert!(!message.contains("secret"));
    }

    #[test]
    fn service_errors_map_to_pages() {
        for (e, status) in [
            (ServiceError::TemplateNotFound, 404),
            (ServiceError::WorkspaceNotFound, 404),
            (ServiceError::ResultNotFound, 404),
            (ServiceError::TokenNotFound, 404),
            (ServiceError::TemplateDeleted, 409),
            (ServiceError::WorkspaceRequired, 400),
            (
                ServiceError::Invalid(prompter_domain::FieldError::new("cursor", "is bad")),
                422,
            ),
            (
                ServiceError::Forbidden("reader tokens cannot change or run anything"),
                403,
            ),
            (ServiceError::WorkspaceExists { id: "a".into() }, 409),
            (
                ServiceError::UnknownProvider {
                    model_id: "x".into(),
                },
                422,
            ),
            (ServiceError::ProbeDisabled, 503),
            (ServiceError::IdempotencyKeyReused, 422),
            (ServiceError::RateLimited { retry_after_s: 3 }, 429),
            (ServiceError::Unauthorized("revoked"), 401),
        ] {
            let page = UiError::from(e);
            assert_eq!(page.status().as_u16(), status, "{page:?}");
        }
    }
}
