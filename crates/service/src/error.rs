use prompter_domain::FieldError;
use prompter_providers::Provider;
use prompter_storage::StorageError;
use uuid::Uuid;

/// Why a service call failed. The HTTP layer maps each variant to one status and code.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("template not found")]
    TemplateNotFound,
    #[error("template is deleted")]
    TemplateDeleted,
    #[error("{0}")]
    Invalid(FieldError),
    #[error("cannot tell the provider of model {model_id:?}")]
    UnknownProvider { model_id: String },
    #[error("provider {provider:?} is not configured: {hint}")]
    ProviderNotConfigured { provider: Provider, hint: String },
    /// The provider failed after retries. A failed run is recorded (`result_id`).
    #[error("provider error: {message}")]
    ProviderFailed {
        provider: Provider,
        provider_status: Option<u16>,
        message: String,
        result_id: Option<Uuid>,
    },
    #[error("probes are disabled and no version is known yet")]
    ProbeDisabled,
    #[error("idempotency key was used with a different request body")]
    IdempotencyKeyReused,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<FieldError> for ServiceError {
    fn from(e: FieldError) -> Self {
        ServiceError::Invalid(e)
    }
}
