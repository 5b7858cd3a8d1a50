//! The one error type of the HTTP layer, and the policy it implements.
//!
//! Every error leaves the service in one envelope, compatible with the seed's FastAPI service:
//! `{"detail": {"code": "...", "message": "...", "field": "..."}}` (`field` only when one field
//! is at fault; the duplicate error carries the seed's `template_id`, `template_name` and
//! `workspace_id` instead). Client mistakes are 4xx with a stable machine-readable `code`; a 500
//! means a bug or a broken database and is logged in full while the client sees a generic message.
//! Handlers return `Result<_, ApiError>` and never build error responses themselves.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use prompter_domain::{FieldError, SpecError};
use prompter_service::records::Template;
use prompter_service::ServiceError;
use serde_json::{json, Value};

#[derive(Debug)]
pub enum ApiError {
    /// `workspace_id` (the brand) is missing or empty: 400, as the seed answers.
    WorkspaceRequired,
    MalformedJson(String),
    PayloadTooLarge {
        limit_bytes: usize,
    },
    UnsupportedMediaType,
    Invalid(FieldError),
    TemplateNotFound,
    WorkspaceNotFound,
    RouteNotFound,
    MethodNotAllowed,
    /// An active template already holds this configuration in this org and workspace.
    TemplateExists {
        existing: Box<Template>,
        workspace_name: String,
        near_matches: Vec<prompter_service::NearMatch>,
    },
    WorkspaceExists {
        id: String,
    },
    TemplateDeleted,
    UnknownProvider {
        model_id: String,
    },
    ProviderNotConfigured {
        provider: String,
        hint: String,
    },
    ProviderFailed {
        provider: String,
        provider_status: Option<u16>,
        message: String,
        result_id: Option<uuid::Uuid>,
    },
    ProbeDisabled,
    IdempotencyKeyReused,
    ResultNotFound,
    TokenNotFound,
    BatchNotFound,
    ScheduleNotFound,
    ReanalysisNotFound,
    /// The workspace has no entities (no alias snapshot) yet.
    EntitiesNotSet,
    /// Cancel of a finished batch, retry of a cancelled one or one out of budget.
    BatchClosed {
        status: &'static str,
    },
    /// The request took longer than the request timeout.
    RequestTimeout {
        timeout_s: u64,
    },
    /// No, a malformed, an unknown or a revoked token (auth required).
    Unauthorized(&'static str),
    /// Authenticated, but not allowed: another organisation named, or a reader writing.
    Forbidden(&'static str),
    /// The token made more requests than its per-minute limit.
    RateLimited {
        retry_after_s: u64,
    },
    Unavailable(String),
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::WorkspaceRequired | ApiError::MalformedJson(_) => StatusCode::BAD_REQUEST,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TemplateNotFound
            | ApiError::WorkspaceNotFound
            | ApiError::RouteNotFound
            | ApiError::ResultNotFound
            | ApiError::TokenNotFound
            | ApiError::BatchNotFound
            | ApiError::ScheduleNotFound
            | ApiError::ReanalysisNotFound
            | ApiError::EntitiesNotSet => StatusCode::NOT_FOUND,
            ApiError::BatchClosed { .. } => StatusCode::CONFLICT,
            ApiError::RequestTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            ApiError::TemplateDeleted => StatusCode::CONFLICT,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::UnknownProvider { .. } | ApiError::IdempotencyKeyReused => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::ProviderNotConfigured { .. } | ApiError::ProbeDisabled => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::ProviderFailed { .. } => StatusCode::BAD_GATEWAY,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::TemplateExists { .. } | ApiError::WorkspaceExists { .. } => {
                StatusCode::CONFLICT
            }
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::WorkspaceRequired => "WORKSPACE_REQUIRED",
            ApiError::MalformedJson(_) => "MALFORMED_JSON",
            ApiError::PayloadTooLarge { .. } => "PAYLOAD_TOO_LARGE",
            ApiError::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            ApiError::Invalid(_) => "INVALID_FIELD",
            ApiError::TemplateNotFound => "TEMPLATE_NOT_FOUND",
            ApiError::WorkspaceNotFound => "WORKSPACE_NOT_FOUND",
            ApiError::RouteNotFound => "NOT_FOUND",
            ApiError::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            ApiError::TemplateExists { .. } => "TEMPLATE_EXISTS",
            ApiError::WorkspaceExists { .. } => "WORKSPACE_EXISTS",
            ApiError::TemplateDeleted => "TEMPLATE_DELETED",
            ApiError::Unauthorized(_) => "UNAUTHORIZED",
            ApiError::Forbidden(_) => "FORBIDDEN",
            ApiError::RateLimited { .. } => "RATE_LIMITED",
            ApiError::UnknownProvider { .. } => "UNKNOWN_PROVIDER",
            ApiError::ProviderNotConfigured { .. } => "PROVIDER_NOT_CONFIGURED",
            ApiError::ProviderFailed { .. } => "PROVIDER_ERROR",
            ApiError::ProbeDisabled => "PROBE_DISABLED",
            ApiError::IdempotencyKeyReused => "IDEMPOTENCY_KEY_REUSED",
            ApiError::ResultNotFound => "RESULT_NOT_FOUND",
            ApiError::TokenNotFound => "TOKEN_NOT_FOUND",
            ApiError::BatchNotFound => "BATCH_NOT_FOUND",
            ApiError::ScheduleNotFound => "SCHEDULE_NOT_FOUND",
            ApiError::ReanalysisNotFound => "REANALYSIS_NOT_FOUND",
            ApiError::EntitiesNotSet => "ENTITIES_NOT_SET",
            ApiError::BatchClosed { .. } => "BATCH_CLOSED",
            ApiError::RequestTimeout { .. } => "REQUEST_TIMEOUT",
            ApiError::Unavailable(_) => "DATABASE_UNAVAILABLE",
            ApiError::Internal(_) => "INTERNAL_ERROR",
        }
    }

    fn detail(&self) -> Value {
        let code = self.code();
        match self {
            ApiError::WorkspaceRequired => json!({
                "code": code,
                "message": "workspace_id (brand) is required",
                "field": "workspace_id",
            }),
            ApiError::MalformedJson(why) => json!({
                "code": code,
                "message": format!("request body is not valid JSON: {why}"),
                "field": "body",
            }),
            ApiError::PayloadTooLarge { limit_bytes } => json!({
                "code": code,
                "message": format!("request body exceeds {limit_bytes} bytes"),
                "field": "body",
            }),
            ApiError::UnsupportedMediaType => json!({
                "code": code,
                "message": "request body must be sent with Content-Type: application/json",
                "field": "content-type",
            }),
            ApiError::Invalid(e) => json!({
                "code": code,
                "message": format!("{} {}", e.field, e.message),
                "field": e.field,
            }),
            ApiError::TemplateNotFound => json!({"code": code, "message": "template not found"}),
            ApiError::WorkspaceNotFound => json!({"code": code, "message": "workspace not found"}),
            ApiError::RouteNotFound => json!({"code": code, "message": "no such route"}),
            ApiError::MethodNotAllowed => {
                json!({"code": code, "message": "method not allowed on this route"})
            }
            ApiError::TemplateExists {
                existing,
                workspace_name,
                near_matches,
            } => json!({
                "code": code,
                "template_id": existing.id,
                "template_name": existing.name,
                "workspace_id": existing.workspace_id,
                "near_matches": near_matches,
                "message": format!("Identical configuration already exists in brand {workspace_name}"),
            }),
            ApiError::WorkspaceExists { id } => json!({
                "code": code,
                "message": format!("workspace {id} already exists"),
                "field": "id",
            }),
            ApiError::TemplateDeleted => json!({
                "code": code,
                "message": "the template is deleted; restore it to run it",
            }),
            ApiError::UnknownProvider { model_id } => json!({
                "code": code,
                "message": format!("cannot tell the provider of model {model_id:?}: set \"provider\" on the template to one of openai, azure-openai, google, anthropic, openai-compatible"),
                "field": "provider",
            }),
            ApiError::ProviderNotConfigured { provider, hint } => json!({
                "code": code,
                "message": format!("provider {provider} is not configured: {hint}"),
                "provider": provider,
            }),
            ApiError::ProviderFailed {
                provider,
                provider_status,
                message,
                result_id,
            } => json!({
                "code": code,
                "message": message,
                "provider": provider,
                "provider_status": provider_status,
                "result_id": result_id,
            }),
            ApiError::ProbeDisabled => json!({
                "code": code,
                "message": "provider probes are disabled (PROMPTER_PROBE_DISABLED) and this template has no known version yet",
            }),
            ApiError::IdempotencyKeyReused => json!({
                "code": code,
                "message": "this Idempotency-Key was already used with a different request body",
                "field": "Idempotency-Key",
            }),
            ApiError::ResultNotFound => json!({"code": code, "message": "result not found"}),
            ApiError::TokenNotFound => json!({"code": code, "message": "token not found"}),
            ApiError::BatchNotFound => json!({"code": code, "message": "batch not found"}),
            ApiError::ScheduleNotFound => json!({"code": code, "message": "schedule not found"}),
            ApiError::ReanalysisNotFound => {
                json!({"code": code, "message": "re-analysis job not found"})
            }
            ApiError::EntitiesNotSet => json!({"code": code,
                "message": "the workspace has no entities yet (PUT /api/workspaces/{id}/entities)"}),
            ApiError::BatchClosed { status } => json!({
                "code": code,
                "message": format!("the batch is {status}: it cannot change that way"),
                "status": status,
            }),
            ApiError::RequestTimeout { timeout_s } => json!({
                "code": code,
                "message": format!("the request took longer than {timeout_s} s; a run started by it goes on and is recorded (see its result)"),
            }),
            ApiError::Unauthorized(why) | ApiError::Forbidden(why) => {
                json!({"code": code, "message": why})
            }
            ApiError::RateLimited { retry_after_s } => json!({
                "code": code,
                "message": format!("too many requests for this token; retry in {retry_after_s} s"),
            }),
            ApiError::Unavailable(_) => {
                json!({"code": code, "message": "the database is unavailable; retry later"})
            }
            ApiError::Internal(_) => json!({"code": code, "message": "internal error"}),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            ApiError::Internal(why) => tracing::error!(error = %why, "internal error"),
            ApiError::Unavailable(why) => tracing::warn!(error = %why, "database unavailable"),
            _ => {}
        }
        let mut response =
            (self.status(), Json(json!({ "detail": self.detail() }))).into_response();
        if let ApiError::RateLimited { retry_after_s } = &self {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(*retry_after_s),
            );
        }
        if matches!(self, ApiError::Unauthorized(_)) {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"prompter\""),
            );
        }
        response
    }
}

impl From<SpecError> for ApiError {
    fn from(e: SpecError) -> Self {
        match e {
            SpecError::WorkspaceRequired => ApiError::WorkspaceRequired,
            SpecError::Invalid(f) => ApiError::Invalid(f),
        }
    }
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        ApiError::Invalid(e)
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        use ServiceError as S;
        // A storage error's message includes its cause's: logged in full.
        let e_unavailable = e.is_unavailable();
        let chain = e.to_string();
        match e {
            S::TemplateNotFound => ApiError::TemplateNotFound,
            S::WorkspaceNotFound => ApiError::WorkspaceNotFound,
            S::ResultNotFound => ApiError::ResultNotFound,
            S::TokenNotFound => ApiError::TokenNotFound,
            S::BatchNotFound => ApiError::BatchNotFound,
            S::ScheduleNotFound => ApiError::ScheduleNotFound,
            S::ReanalysisNotFound => ApiError::ReanalysisNotFound,
            S::EntitiesNotSet => ApiError::EntitiesNotSet,
            S::BatchClosed { status } => ApiError::BatchClosed { status },
            S::TemplateDeleted => ApiError::TemplateDeleted,
            S::WorkspaceRequired => ApiError::WorkspaceRequired,
            S::Invalid(f) => ApiError::Invalid(f),
            S::Forbidden(why) => ApiError::Forbidden(why),
            S::Unauthorized(why) => ApiError::Unauthorized(why),
            S::RateLimited { retry_after_s } => ApiError::RateLimited { retry_after_s },
            S::TemplateExists {
                existing,
                workspace_name,
                near_matches,
            } => ApiError::TemplateExists {
                existing,
                workspace_name,
                near_matches,
            },
            S::WorkspaceExists { id } => ApiError::WorkspaceExists { id },
            S::UnknownProvider { model_id } => ApiError::UnknownProvider { model_id },
            S::ProviderNotConfigured { provider, hint } => ApiError::ProviderNotConfigured {
                provider: provider.as_str().to_owned(),
                hint,
            },
            S::ProviderFailed {
                provider,
                provider_status,
                message,
                result_id,
            } => ApiError::ProviderFailed {
                provider: provider.as_str().to_owned(),
                provider_status,
                message,
                result_id,
            },
            S::RunNotRecorded { .. } => ApiError::Unavailable(chain),
            S::ProbeDisabled => ApiError::ProbeDisabled,
            S::IdempotencyKeyReused => ApiError::IdempotencyKeyReused,
            S::Storage(_) if e_unavailable => ApiError::Unavailable(chain),
            S::Storage(_) => ApiError::Internal(chain),
        }
    }
}
