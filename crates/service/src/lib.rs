//! Application services: the work behind ensure-version and run, between the HTTP layer and
//! storage/providers. Handlers stay thin; these functions own the flow (validate, call the
//! provider, record) and return typed outcomes or a [`ServiceError`].

pub mod cache;
mod duplicate;
pub mod ensure_version;
mod error;
pub mod instrumented;
mod rate_limit;
mod request;
pub mod run;
pub mod telemetry;

use std::sync::Arc;

use prompter_providers::{detect_provider, LlmGateway, Provider};
use prompter_storage::{Database, Template};
use uuid::Uuid;

pub use cache::{InProcessProbeCache, ProbeCache, RedisProbeCache};
pub use duplicate::DuplicateCheck;
pub use error::ServiceError;
pub use rate_limit::RateLimiter;

/// Everything the services need, built once at start.
#[derive(Clone)]
pub struct Services {
    pub db: Arc<dyn Database>,
    pub gateway: Arc<dyn LlmGateway>,
    pub probe_cache: Arc<dyn ProbeCache>,
    /// `PROMPTER_PROBE_DISABLED`: the kill switch for provider probes.
    pub probe_disabled: bool,
    /// Serialises runs that share an idempotency key inside this process, so a retried request
    /// waits for the first instead of calling the model twice.
    idempotency_locks: Arc<run::KeyLocks>,
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
            idempotency_locks: Arc::default(),
        }
    }

    async fn template(&self, id: Uuid) -> Result<Template, ServiceError> {
        self.db
            .get_template(id)
            .await?
            .ok_or(ServiceError::TemplateNotFound)
    }
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
