//! The [`LlmGateway`] implementation: routes each request to a live adapter or the fake.

use std::fmt;
use std::time::Instant;

use crate::adapters;
use crate::detect::Provider;
use crate::error::ProviderError;
use crate::fake;
use crate::http::{self, millis};
use crate::parse::{self, parse_response, ParsedResponse};
use crate::settings::{LlmMode, ProviderSettings};
use crate::types::{CallOutcome, Completion, CompletionRequest};
use crate::LlmGateway;

/// Routes each request: Unknown → `UnknownProvider`. Mode Fake → fake. Mode Auto → the live
/// adapter if that provider has credentials (openai-compatible: a base URL), else fake. Mode
/// Live → live, or `NotConfigured` naming the environment variable.
pub struct Gateway {
    /// One client for all providers, so connections are pooled.
    client: reqwest::Client,
    settings: ProviderSettings,
}

impl Gateway {
    pub fn new(settings: ProviderSettings) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .user_agent(concat!("prompter/", env!("CARGO_PKG_VERSION")))
            // No redirects: reqwest drops `Authorization` on a cross-host redirect but not
            // `x-api-key`/`api-key`, so following one could hand a key to another host.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(settings.timeout.min(std::time::Duration::from_secs(10)))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Gateway { client, settings })
    }

    pub fn settings(&self) -> &ProviderSettings {
        &self.settings
    }

    async fn complete_live(&self, req: CompletionRequest) -> Result<Completion, ProviderError> {
        let mut call = adapters::prepare(&req, &self.settings)?;
        let started = Instant::now();
        let retries = req.max_retries.unwrap_or(self.settings.max_retries);
        let mut attempts = 0;
        let mut earlier: Option<ParsedResponse> = None;
        let mut continuations = 0;
        loop {
            let sent =
                http::send(&self.client, req.provider, &call, &self.settings, retries).await?;
            attempts += sent.attempts;
            let parsed =
                parse_response(req.provider, &req.model_id, &sent.body).map_err(|message| {
                    ProviderError::MalformedResponse {
                        message,
                        body: Some(sent.body.clone()),
                        http_status: sent.status,
                        attempts,
                    }
                })?;
            let parsed = match earlier.take() {
                Some(before) => parse::continued(before, parsed),
                None => parsed,
            };
            // Anthropic pauses a long server-tool turn (`pause_turn`); its documented remedy is
            // to send the paused content back as the assistant turn so the model continues.
            if req.provider == Provider::Anthropic
                && parsed.finish_reason.as_deref() == Some("pause_turn")
                && continuations < MAX_PAUSE_CONTINUATIONS
            {
                continuations += 1;
                adapters::anthropic::continue_turn(&mut call.body, &sent.body);
                earlier = Some(parsed);
                continue;
            }
            let outcome = CallOutcome {
                // The last request holds every earlier turn's content: the full trail.
                request_body: call.body,
                response_body: sent.body,
                http_status: sent.status,
                latency_ms: millis(started.elapsed()),
                attempts,
                is_fake: false,
            };
            return Ok(Completion::assemble(&req, parsed, outcome));
        }
    }
}

/// How often a paused Anthropic turn is continued before the answer is recorded as it stands
/// (flagged truncated).
pub const MAX_PAUSE_CONTINUATIONS: u32 = 3;

impl fmt::Debug for Gateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gateway")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl LlmGateway for Gateway {
    async fn complete(&self, req: CompletionRequest) -> Result<Completion, ProviderError> {
        if req.provider == Provider::Unknown {
            return Err(ProviderError::UnknownProvider {
                model_id: req.model_id,
            });
        }
        if self.is_fake(req.provider) {
            fake::complete(&req, &self.settings).await
        } else {
            self.complete_live(req).await
        }
    }

    fn preflight(&self, req: &CompletionRequest) -> Result<(), ProviderError> {
        if req.provider == Provider::Unknown {
            return Err(ProviderError::UnknownProvider {
                model_id: req.model_id.clone(),
            });
        }
        if self.is_fake(req.provider) {
            return Ok(());
        }
        adapters::prepare(req, &self.settings).map(|_| ())
    }

    fn is_fake(&self, provider: Provider) -> bool {
        match self.settings.mode {
            _ if provider == Provider::Unknown => false,
            LlmMode::Fake => true,
            LlmMode::Auto => !self.settings.has_credentials(provider),
            LlmMode::Live => false,
        }
    }
}
