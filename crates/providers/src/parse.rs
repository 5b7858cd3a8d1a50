//! Pure parsing of a provider's success body into version, content, grounding, usage, stop
//! reason, reasoning and citations.
//!
//! Shared by the live adapters and the fake, so both go through the same code. One submodule per
//! wire family (providers.md §1–§6): [`openai`] (Chat Completions, the Responses API and
//! compatible servers, told apart by the body), [`gemini`], [`anthropic`]; [`reasoning`] keeps
//! thinking text apart from the answer.

mod anthropic;
mod gemini;
mod openai;
mod reasoning;

use serde_json::Value;

use crate::detect::Provider;
use crate::types::{Citation, Usage};
use crate::version::version_key;

pub use reasoning::split_think_tags;

/// The parts of a success body that Prompter records.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParsedResponse {
    pub response_model: Option<String>,
    pub system_fingerprint: Option<String>,
    pub provider_response_id: Option<String>,
    pub provider_version_key: String,
    pub content: String,
    pub used_grounding: bool,
    pub usage: Option<Usage>,
    /// See [`crate::Completion::finish_reason`].
    pub finish_reason: Option<String>,
    pub truncated: bool,
    pub reasoning: Option<String>,
    pub citations: Vec<Citation>,
}

/// Parses `body`, a 2xx response of `provider`. `Err` carries a one-line reason when the body is
/// not the provider's shape at all (the caller reports it as a malformed response). Fields that
/// are merely missing or null (content of a refusal, a fingerprint, usage) are not errors.
pub fn parse_response(
    provider: Provider,
    requested_model: &str,
    body: &Value,
) -> Result<ParsedResponse, String> {
    if !body.is_object() {
        return Err(format!("expected a JSON object, got {}", kind(body)));
    }
    let mut parsed = match provider {
        Provider::Openai | Provider::AzureOpenai | Provider::OpenaiCompatible => {
            openai::parse(body)?
        }
        Provider::Google => gemini::parse(body)?,
        Provider::Anthropic => anthropic::parse(body)?,
        Provider::Unknown => return Err("no response format for provider unknown".into()),
    };
    parsed.provider_version_key = version_key(
        parsed.system_fingerprint.as_deref(),
        parsed.response_model.as_deref(),
        requested_model,
    );
    Ok(parsed)
}

/// One answer from a turn continued after a pause: `next` continues `before`. Texts append,
/// citations merge in order, usage adds up; the version fields and the stop reason are the last
/// response's.
pub fn continued(before: ParsedResponse, next: ParsedResponse) -> ParsedResponse {
    let mut citations = crate::citations::Citations::default();
    for c in before.citations.iter().chain(&next.citations) {
        citations.add(Some(&c.url), c.title.as_deref(), c.cited_text.as_deref());
    }
    let add = |a: Option<u64>, b: Option<u64>| match (a, b) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
    };
    let usage = match (before.usage, next.usage.clone()) {
        (Some(a), Some(b)) => Some(Usage {
            input_tokens: add(a.input_tokens, b.input_tokens),
            output_tokens: add(a.output_tokens, b.output_tokens),
            total_tokens: add(a.total_tokens, b.total_tokens),
            reasoning_tokens: add(a.reasoning_tokens, b.reasoning_tokens),
        }),
        (a, b) => b.or(a),
    };
    ParsedResponse {
        content: before.content + &next.content,
        used_grounding: before.used_grounding || next.used_grounding,
        reasoning: joined(
            before
                .reasoning
                .iter()
                .chain(&next.reasoning)
                .map(String::as_str),
        ),
        citations: citations.into_vec(),
        usage,
        ..next
    }
}

/// The provider's own error text: `error.message` in all three shapes (OpenAI `ErrorResponse`,
/// Anthropic `{"type":"error","error":{…}}`, Gemini `{"error":{"code","message","status"}}`),
/// or a top-level `message` (vLLM).
pub fn provider_error_message(body: &Value) -> Option<String> {
    match body.get("error") {
        // Some OpenAI-compatible servers send `{"error": "text"}`.
        Some(error @ Value::String(s)) => non_empty(Some(error)).map(|_| s.clone()),
        Some(error) => str_field(error, "message"),
        // vLLM's flat error object: `{"object":"error","message":…,"type":…,"code":400}`.
        None => str_field(body, "message"),
    }
}

/// Texts joined by a blank line, `None` when there is none.
fn joined<'a>(parts: impl Iterator<Item = &'a str>) -> Option<String> {
    let parts: Vec<&str> = parts.map(str::trim).filter(|p| !p.is_empty()).collect();
    (!parts.is_empty()).then(|| parts.join("\n\n"))
}

fn items<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    v.get(key).and_then(Value::as_array).into_iter().flatten()
}

fn type_is(v: &Value, t: &str) -> bool {
    v.get("type").and_then(Value::as_str) == Some(t)
}

fn non_empty(v: Option<&Value>) -> Option<&str> {
    v.and_then(Value::as_str).filter(|s| !s.trim().is_empty())
}

fn str_field(v: &Value, key: &str) -> Option<String> {
    non_empty(v.get(key)).map(str::to_string)
}

fn u64_field(v: &Value, key: &str) -> Option<u64> {
    v.get(key).and_then(Value::as_u64)
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests;
