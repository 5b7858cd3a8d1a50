//! Prompter's LLM providers: run a rendered prompt against OpenAI, Azure OpenAI, Google Gemini,
//! Anthropic or an OpenAI-compatible server, and record which model build answered.
//!
//! The wire formats and the choice of version fields come from `providers.md` (shared notes,
//! with sources): the version key is `system_fingerprint` when the provider sends a non-empty
//! one, else the response's model field (`model`, Gemini `modelVersion`), else the requested id
//! ([`version_key`]).
//!
//! Pure parts, no I/O: [`detect`] (which provider), [`version`], [`parse`] (success bodies),
//! [`retry`] (policy), [`adapters`] (URL, headers, body per provider), [`settings`] and the
//! [`fake`]'s body builder. I/O: `http` (send with retries) and [`gateway`], behind the
//! [`LlmGateway`] trait so callers can swap in their own.

pub mod adapters;
mod citations;
pub mod detect;
pub mod error;
pub mod fake;
pub mod gateway;
mod http;
pub mod parse;
pub mod retry;
pub mod settings;
pub mod types;
pub mod version;

pub use citations::domain_of;
pub use detect::{detect_provider, Provider};
pub use error::ProviderError;
pub use gateway::Gateway;
pub use parse::{parse_response, ParsedResponse};
pub use settings::{LlmMode, ProviderSettings};
pub use types::{Citation, Completion, CompletionRequest, CountryDelivery, Purpose, Usage};
pub use version::version_key;

/// Something that answers completion requests: the [`Gateway`], or a test double.
#[async_trait::async_trait]
pub trait LlmGateway: Send + Sync + 'static {
    async fn complete(&self, req: CompletionRequest) -> Result<Completion, ProviderError>;
    /// Whether `provider` would be answered by the fake (for logs/UI).
    fn is_fake(&self, provider: Provider) -> bool;
    /// Whether `req` could be sent at all (provider known, credentials configured), without
    /// sending it: a run checks this before it records anything.
    fn preflight(&self, req: &CompletionRequest) -> Result<(), ProviderError> {
        let _ = req;
        Ok(())
    }
}
