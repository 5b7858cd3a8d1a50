//! The application layer: every use case of Prompter is an operation on [`Services`] —
//! workspaces, templates (create, check-duplicate, get, list, delete, restore), versions,
//! ensure-version, runs, results, tokens. The HTTP API, the web UI, the CLI and job workers are
//! thin adapters: they build a typed request and a [`Caller`], call an operation, and map its
//! outcome or [`ServiceError`]. Access (organisation, workspaces, role) is decided here, once,
//! and so are the metrics and structured logs of each operation.

pub mod batches;
pub mod cache;
mod caller;
pub mod ensure_version;
mod error;
pub mod health;
pub mod hygiene;
pub mod instrumented;
pub mod near_duplicates;
mod rate_limit;
mod results;
pub mod run;
pub mod schedules;
pub mod telemetry;
pub mod templates;
pub mod tokens;
pub mod visibility;
pub mod workspaces;

use std::sync::Arc;

use prompter_providers::{detect_provider, LlmGateway, Provider};
use prompter_storage::Database;

pub use batches::{
    BatchCreated, BatchRequest, LaneLimits, LaneSettings, ListBatches, ListTasks, WorkerSettings,
};
pub use cache::{InProcessProbeCache, ProbeCache, RedisProbeCache};
pub use caller::Caller;
pub use ensure_version::{EnsureVersionRequest, EnsuredVersion};
pub use error::ServiceError;
pub use rate_limit::RateLimiter;
pub use results::{answer_details, AnswerDetails};
pub use run::{RunHandle, RunOutcome, RunRequest, RunSettings};
pub use schedules::{CreateSchedule, UpdateSchedule};
pub use templates::{DuplicateCheck, ListTemplates, NearMatch, PageRequest, UpdateLabels};
pub use tokens::{CreateToken, CreatedToken};
pub use visibility::numbers::{GroupBy, Visibility, VisibilityParams, VisibilityRow};
pub use visibility::reanalyze::ReanalyzeRequest;
pub use visibility::PutEntities;
pub use workspaces::CreateWorkspace;

/// The records the operations answer with. Front ends render them (the API through its own
/// views); they never reach storage themselves.
pub mod records {
    pub use prompter_storage::{
        timestamp, AliasSnapshot, ApiToken, Backend, Batch, BatchPage, BatchStatus, BatchTask,
        Cursor, DriftEvent, JobStatus, ReanalysisJob, ResultPage, Role, RunResult, RunStatus,
        Schedule, TaskCounts, TaskPage, TaskStatus, Template, TemplatePage, Version, Workspace,
    };
}

/// Everything the services need, built once at start. Its parts are private: the front ends
/// reach storage and providers only through the operations.
#[derive(Clone)]
pub struct Services {
    db: Arc<dyn Database>,
    gateway: Arc<dyn LlmGateway>,
    probe_cache: Arc<dyn ProbeCache>,
    /// `PROMPTER_PROBE_DISABLED`: the kill switch for provider probes.
    probe_disabled: bool,
    /// Per-token request limit (auth required only); one budget for the API and the UI.
    rate_limiter: Option<Arc<RateLimiter>>,
    /// Serialises runs that share an idempotency key inside this process, so a retried request
    /// waits for the first instead of calling the model twice.
    idempotency_locks: Arc<run::KeyLocks>,
    /// The runs in flight in this process.
    runs: Arc<run::RunTracker>,
    /// This process's queue worker, once started.
    workers: Arc<std::sync::OnceLock<Arc<batches::worker::Workers>>>,
    /// Wakes this process's re-analysis loop (a job was queued here).
    reanalysis_wake: Arc<tokio::sync::Notify>,
    /// Matchers of the alias snapshots runs were analysed with lately.
    matchers: Arc<visibility::MatcherCache>,
}

impl Services {
    pub fn new(
        db: Arc<dyn Database>,
        gateway: Arc<dyn LlmGateway>,
        probe_cache: Arc<dyn ProbeCache>,
        probe_disabled: bool,
    ) -> Self {
        Self {
            db,
            gateway,
            probe_cache,
            probe_disabled,
            rate_limiter: None,
            idempotency_locks: Arc::default(),
            runs: Arc::new(run::RunTracker::new(run::RunSettings::default())),
            workers: Arc::default(),
            reanalysis_wake: Arc::default(),
            matchers: Arc::default(),
        }
    }

    /// The storage behind the services: for the composition root (closing it at shutdown) and
    /// for tests that set up data. Front ends use the operations.
    pub fn database(&self) -> &Arc<dyn Database> {
        &self.db
    }

    /// `redis` or `in_process`: where ensure-version caches its probes.
    pub fn probe_cache_kind(&self) -> &'static str {
        self.probe_cache.kind()
    }

    /// Timeouts and liveness of runs (before the service is shared).
    pub fn with_run_settings(mut self, settings: run::RunSettings) -> Self {
        self.runs = Arc::new(run::RunTracker::new(settings));
        self
    }

    /// Starts what runs beside requests: heartbeats of this process's running results and the
    /// sweep that marks those of stopped processes as interrupted (once at start, then
    /// periodically). Needs a Tokio runtime.
    pub fn start_background(&self) {
        self.runs.start_background(self.db.clone());
        let this = self.clone();
        let stop = self.runs.stopping();
        tokio::spawn(async move { this.reanalysis_loop(stop).await });
        let this = self.clone();
        tokio::spawn(async move {
            match this.fill_near_keys().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(templates = n, "near keys filled"),
                Err(e) => {
                    tracing::warn!(error = %e, "could not fill near keys; retried at the next start")
                }
            }
        });
    }

    /// At shutdown, after the last request: stops claiming batch tasks, waits for runs still
    /// in flight, at most `grace`, records those that could not finish as interrupted, and
    /// returns this process's unfinished tasks to the queue.
    pub async fn shutdown(&self, grace: std::time::Duration) {
        self.stop_workers().await;
        self.runs.shutdown(self.db.as_ref(), grace).await;
        self.release_leases().await;
    }

    /// Limits each token to `per_minute` requests (API and UI together).
    pub fn with_rate_limit(mut self, per_minute: std::num::NonZeroU32) -> Self {
        self.rate_limiter = Some(Arc::new(RateLimiter::per_minute(per_minute)));
        self
    }
}

/// A request field's text, if within `max_chars` (422 naming the field otherwise).
fn bounded<'a>(
    field: &str,
    value: &'a Option<String>,
    max_chars: usize,
) -> Result<Option<&'a str>, prompter_domain::FieldError> {
    prompter_domain::at_most_chars(field, value.as_deref(), max_chars)
}

/// The provider a call goes to: an explicit name wins, else the model id decides.
fn provider_for(explicit: Option<&str>, model_id: &str) -> Result<Provider, ServiceError> {
    match detect_provider(explicit, model_id) {
        Provider::Unknown => {
            metrics::counter!(telemetry::UNKNOWN_PROVIDER).increment(1);
            Err(ServiceError::UnknownProvider {
                model_id: model_id.to_owned(),
            })
        }
        p => Ok(p),
    }
}

impl Services {
    /// One provider call, measured: requests by outcome, latency, and (as the seed counts them)
    /// every version capture as a probe attempt, failed ones by reason.
    async fn call_provider(
        &self,
        request: prompter_providers::CompletionRequest,
    ) -> Result<prompter_providers::Completion, prompter_providers::ProviderError> {
        use prompter_providers::ProviderError as E;
        let provider = request.provider.as_str();
        let model = telemetry::model_label(&request.model_id);
        let started = std::time::Instant::now();
        let outcome = self.gateway.complete(request).await;
        metrics::histogram!(telemetry::PROVIDER_DURATION, "provider" => provider)
            .record(started.elapsed().as_secs_f64());
        metrics::counter!(telemetry::PROBE_ATTEMPTS, "provider" => provider, "model" => model.clone())
            .increment(1);
        let result = if outcome.is_ok() { "success" } else { "error" };
        metrics::counter!(telemetry::PROVIDER_REQUESTS, "provider" => provider, "model" => model, "outcome" => result)
            .increment(1);
        if let Err(e) = &outcome {
            let reason = match e {
                E::Timeout { .. } => "timeout",
                E::Http { status, .. } if *status < 500 => "http_4xx",
                E::Http { .. } => "http_5xx",
                E::Transport { .. } => "transport",
                E::MalformedResponse { .. } => "malformed",
                E::NotConfigured { .. } | E::UnknownProvider { .. } => "not_configured",
            };
            metrics::counter!(telemetry::PROBE_FAILURES, "provider" => provider, "reason" => reason)
                .increment(1);
        }
        outcome
    }
}
