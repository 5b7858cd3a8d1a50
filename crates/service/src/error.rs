use prompter_domain::{FieldError, SpecError};
use prompter_providers::Provider;
use prompter_storage::{StorageError, Template};
use uuid::Uuid;

/// Why a service call failed. Each front end maps each variant once (the API to one status and
/// code, the UI to one page).
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("template not found")]
    TemplateNotFound,
    #[error("workspace not found")]
    WorkspaceNotFound,
    #[error("result not found")]
    ResultNotFound,
    #[error("token not found")]
    TokenNotFound,
    #[error("batch not found")]
    BatchNotFound,
    #[error("schedule not found")]
    ScheduleNotFound,
    #[error("re-analysis job not found")]
    ReanalysisNotFound,
    /// The workspace has no entities (alias snapshot) yet.
    #[error("the workspace has no entities yet")]
    EntitiesNotSet,
    /// The batch cannot change that way any more (cancel a finished batch, retry a cancelled
    /// one or one stopped by its budget).
    #[error("the batch is {status}")]
    BatchClosed { status: &'static str },
    #[error("template is deleted")]
    TemplateDeleted,
    /// `workspace_id` (the brand) is missing or empty: 400, as the seed answers.
    #[error("workspace_id (brand) is required")]
    WorkspaceRequired,
    #[error("{0}")]
    Invalid(FieldError),
    /// Authenticated, but not allowed: another organisation named, or a role too weak.
    #[error("{0}")]
    Forbidden(&'static str),
    /// An active template already holds this configuration in this org and workspace.
    #[error("an identical configuration exists in brand {workspace_name}")]
    TemplateExists {
        existing: Box<Template>,
        workspace_name: String,
        /// Other active templates that differ in one or two fields only.
        near_matches: Vec<crate::NearMatch>,
    },
    #[error("workspace {id} already exists")]
    WorkspaceExists { id: String },
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
    /// The run's outcome could not be written (the database stayed unavailable); the row stays
    /// `running` until the stale sweep marks it interrupted.
    #[error("the outcome of run {result_id} could not be recorded")]
    RunNotRecorded { result_id: Uuid },
    #[error("probes are disabled and no version is known yet")]
    ProbeDisabled,
    #[error("idempotency key was used with a different request body")]
    IdempotencyKeyReused,
    /// The token made more requests than its per-minute limit.
    #[error("rate limited; retry in {retry_after_s} s")]
    RateLimited { retry_after_s: u64 },
    /// No, an unknown or a revoked token.
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<FieldError> for ServiceError {
    fn from(e: FieldError) -> Self {
        ServiceError::Invalid(e)
    }
}

impl From<SpecError> for ServiceError {
    fn from(e: SpecError) -> Self {
        match e {
            SpecError::WorkspaceRequired => ServiceError::WorkspaceRequired,
            SpecError::Invalid(f) => ServiceError::Invalid(f),
        }
    }
}

impl ServiceError {
    /// The database could not be reached (a retry may succeed), as opposed to a broken one.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, ServiceError::Storage(StorageError::Unavailable(_)))
    }
}
