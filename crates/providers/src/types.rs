//! Request and result types shared by the live adapters and the fake.

use serde_json::{Map, Value};

use crate::detect::Provider;
use crate::parse::ParsedResponse;

/// Why a call is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A minimal call that only asks "which build answers?": a fixed tiny prompt, at most one
    /// output token, no system instructions, no grounding and no other parameters, so it costs
    /// next to nothing.
    Probe,
    /// The real call with the template's rendered prompt and parameters.
    Run,
}

#[derive(Debug, Clone)]
pub struct CompletionRequest {
    pub provider: Provider,
    /// As on the template; for Azure `azure/<deployment>` or the bare deployment name.
    pub model_id: String,
    pub system_instructions: Option<String>,
    /// Already rendered.
    pub prompt: String,
    /// OpenAI-style names (`temperature`, `top_p`, `top_k`, `max_tokens`, `seed`, `stop`,
    /// `presence_penalty`, `frequency_penalty`), mapped per provider by the adapters; keys a
    /// provider cannot take are left out.
    pub inference_params: Map<String, Value>,
    pub use_grounding: bool,
    pub purpose: Purpose,
    /// Retries inside this call; `None`: the configured `PROMPTER_PROVIDER_MAX_RETRIES`. Batch
    /// tasks pass `Some(0)`: the queue retries them, and their provider lane sees every 429.
    pub max_retries: Option<u32>,
    /// The run's country (ISO 3166-1 alpha-2, upper case). A grounded run hands it to the
    /// provider's search tool as the approximate user location where the provider takes one.
    pub country: Option<String>,
}

/// How the run's country reached the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CountryDelivery {
    /// As the approximate user location of the search tool (OpenAI and Anthropic `web_search`).
    SearchUserLocation,
    /// Not at all: no search was asked for, or the provider's search takes no location (Gemini
    /// Google Search, OpenAI search models, compatible servers).
    None,
}

impl CountryDelivery {
    pub fn as_str(self) -> &'static str {
        match self {
            CountryDelivery::SearchUserLocation => "search_user_location",
            CountryDelivery::None => "none",
        }
    }
}

/// A source the answer cites, deduplicated by URL in order of first appearance.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Citation {
    pub url: String,
    pub title: Option<String>,
    /// The host, lower case, without a leading `www.`; for Gemini's redirect links the source
    /// domain Gemini names in the chunk's title.
    pub domain: String,
    /// The passage of the answer or the source the provider ties to this URL, when it says.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cited_text: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Usage {
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub total_tokens: Option<u64>,
    /// Of the output tokens, those spent on reasoning (OpenAI `reasoning_tokens`, Gemini
    /// `thoughtsTokenCount`), when the provider says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_tokens: Option<u64>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Completion {
    pub provider: Provider,
    pub requested_model: String,
    /// OpenAI/Azure/Anthropic `model`; Gemini `modelVersion`, then `model`, then `model_name`.
    pub response_model: Option<String>,
    /// Present, not null and not empty.
    pub system_fingerprint: Option<String>,
    /// OpenAI `id`, Gemini `responseId`, Anthropic `id`.
    pub provider_response_id: Option<String>,
    /// See [`crate::version_key`].
    pub provider_version_key: String,
    pub content: String,
    /// Read from the response, not from the request: asking for search does not mean it ran.
    pub used_grounding: bool,
    pub usage: Option<Usage>,
    /// The provider's own stop reason (`stop`, `length`, `end_turn`, `MAX_TOKENS`, `SAFETY`, a
    /// Responses `incomplete_details.reason`…); `refusal` when the model refused instead of
    /// answering; `prompt_blocked:<reason>` when Gemini blocked the prompt.
    pub finish_reason: Option<String>,
    /// The answer was cut off before the model finished (an output limit, an incomplete
    /// Responses object, a turn still paused after the allowed continuations).
    pub truncated: bool,
    /// Reasoning the provider returned as text, kept apart from the answer.
    pub reasoning: Option<String>,
    pub citations: Vec<Citation>,
    /// How the run's country reached the model; `None` when the run has no country.
    pub country_delivery: Option<CountryDelivery>,
    /// Exactly the JSON body sent (it never holds a secret: keys travel in headers).
    pub request_body: Value,
    pub response_body: Value,
    pub http_status: u16,
    /// Wall time including retries and back-off.
    pub latency_ms: u64,
    pub attempts: u32,
    pub is_fake: bool,
}

/// How a call went on the wire, apart from the parsed body.
#[derive(Debug, Clone)]
pub(crate) struct CallOutcome {
    pub request_body: Value,
    pub response_body: Value,
    pub http_status: u16,
    pub latency_ms: u64,
    pub attempts: u32,
    pub is_fake: bool,
}

impl Completion {
    pub(crate) fn assemble(
        req: &CompletionRequest,
        parsed: ParsedResponse,
        out: CallOutcome,
    ) -> Self {
        Completion {
            provider: req.provider,
            requested_model: req.model_id.clone(),
            response_model: parsed.response_model,
            system_fingerprint: parsed.system_fingerprint,
            provider_response_id: parsed.provider_response_id,
            provider_version_key: parsed.provider_version_key,
            content: parsed.content,
            used_grounding: parsed.used_grounding,
            usage: parsed.usage,
            finish_reason: parsed.finish_reason,
            truncated: parsed.truncated,
            reasoning: parsed.reasoning,
            citations: parsed.citations,
            country_delivery: req
                .country
                .as_ref()
                .map(|_| crate::adapters::country_delivery(req)),
            request_body: out.request_body,
            response_body: out.response_body,
            http_status: out.http_status,
            latency_ms: out.latency_ms,
            attempts: out.attempts,
            is_fake: out.is_fake,
        }
    }
}
