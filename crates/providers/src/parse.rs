//! Pure parsing of a provider's success body into version, content, grounding and usage.
//!
//! Shared by the live adapters and the fake, so both go through the same code. Facts used
//! (providers.md):
//! - OpenAI-family (§1, §3, §6): `id`, `model` (resolved snapshot), `choices[0].message.content`,
//!   `usage{prompt_tokens, completion_tokens, total_tokens}`; `system_fingerprint` may be
//!   missing, `null` or a string, and only a non-empty string counts. Search shows up as
//!   `message.annotations[{type:"url_citation"}]` on chat completions (§2, last paragraph) or
//!   `output[{type:"web_search_call"}]` on the Responses API (§2), which some compatible servers
//!   return.
//! - Gemini (§4): `modelVersion` (no fingerprint), `responseId`,
//!   `candidates[].content.parts[].text`, `usageMetadata{promptTokenCount, candidatesTokenCount,
//!   totalTokenCount}`; grounding used when `groundingMetadata.webSearchQueries` or
//!   `groundingChunks` is non-empty. `model` and `model_name` are fallbacks for proxies that
//!   rename the field.
//! - Anthropic (§5): `id`, `model`, `content[]` blocks, `usage{input_tokens, output_tokens,
//!   server_tool_use{web_search_requests}}`; search used when a `server_tool_use` (web search or
//!   fetch) or `web_search_tool_result` block is present or `web_search_requests > 0`.

use serde_json::Value;

use crate::detect::Provider;
use crate::types::Usage;
use crate::version::version_key;

/// The parts of a success body that Prompter records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedResponse {
    pub response_model: Option<String>,
    pub system_fingerprint: Option<String>,
    pub provider_response_id: Option<String>,
    pub provider_version_key: String,
    pub content: String,
    pub used_grounding: bool,
    pub usage: Option<Usage>,
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
        Provider::Openai | Provider::AzureOpenai | Provider::OpenaiCompatible => openai(body)?,
        Provider::Google => gemini(body)?,
        Provider::Anthropic => anthropic(body)?,
        Provider::Unknown => return Err("no response format for provider unknown".into()),
    };
    parsed.provider_version_key = version_key(
        parsed.system_fingerprint.as_deref(),
        parsed.response_model.as_deref(),
        requested_model,
    );
    Ok(parsed)
}

/// The provider's own error text: `error.message` in all three shapes (OpenAI `ErrorResponse`,
/// Anthropic `{"type":"error","error":{…}}`, Gemini `{"error":{"code","message","status"}}`).
pub fn provider_error_message(body: &Value) -> Option<String> {
    let error = body.get("error")?;
    match error {
        // Some OpenAI-compatible servers send `{"error": "text"}`.
        Value::String(s) => non_empty(Some(error)).map(|_| s.clone()),
        _ => str_field(error, "message"),
    }
}

fn openai(body: &Value) -> Result<ParsedResponse, String> {
    let responses_api = body.get("output").is_some_and(Value::is_array);
    let content = if let Some(choices) = body.get("choices").and_then(Value::as_array) {
        choices
            .first()
            .and_then(|c| c.pointer("/message/content"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    } else if responses_api {
        responses_text(body)
    } else {
        return Err("OpenAI chat completion without a \"choices\" array".into());
    };
    let annotations = body
        .get("choices")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.pointer("/message/annotations").and_then(Value::as_array))
        .flatten()
        .chain(responses_annotations(body));
    let cited = annotations
        .into_iter()
        .any(|a| a.get("type").and_then(Value::as_str) == Some("url_citation"));
    let searched = items(body, "output").any(|o| type_is(o, "web_search_call"));
    let usage = body.get("usage").filter(|u| u.is_object()).map(|u| Usage {
        input_tokens: u64_field(u, "prompt_tokens").or_else(|| u64_field(u, "input_tokens")),
        output_tokens: u64_field(u, "completion_tokens").or_else(|| u64_field(u, "output_tokens")),
        total_tokens: u64_field(u, "total_tokens"),
    });
    Ok(ParsedResponse {
        response_model: str_field(body, "model"),
        system_fingerprint: str_field(body, "system_fingerprint"),
        provider_response_id: str_field(body, "id"),
        provider_version_key: String::new(),
        content,
        used_grounding: cited || searched,
        usage,
    })
}

/// Text of a Responses-API body: `output[type=message].content[type=output_text].text`.
fn responses_text(body: &Value) -> String {
    items(body, "output")
        .filter(|o| type_is(o, "message"))
        .flat_map(|o| items(o, "content"))
        .filter(|c| type_is(c, "output_text"))
        .filter_map(|c| c.get("text").and_then(Value::as_str))
        .collect()
}

fn responses_annotations(body: &Value) -> impl Iterator<Item = &Value> {
    items(body, "output")
        .flat_map(|o| items(o, "content"))
        .flat_map(|c| items(c, "annotations"))
}

fn gemini(body: &Value) -> Result<ParsedResponse, String> {
    // A blocked prompt has `promptFeedback` and no candidates; that is a valid answer.
    let candidates = match body.get("candidates") {
        Some(Value::Array(c)) => c.as_slice(),
        None | Some(Value::Null) if body.get("promptFeedback").is_some() => &[],
        _ => return Err("Gemini response without a \"candidates\" array".into()),
    };
    let content = candidates
        .first()
        .map(|c| {
            items(c.get("content").unwrap_or(&Value::Null), "parts")
                // Thought summaries are not the answer.
                .filter(|p| p.get("thought").and_then(Value::as_bool) != Some(true))
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect::<String>()
        })
        .unwrap_or_default();
    let used_grounding = candidates.iter().any(|c| {
        let g = c.get("groundingMetadata").unwrap_or(&Value::Null);
        items(g, "webSearchQueries").next().is_some()
            || items(g, "groundingChunks").next().is_some()
    });
    let usage = body
        .get("usageMetadata")
        .filter(|u| u.is_object())
        .map(|u| Usage {
            input_tokens: u64_field(u, "promptTokenCount"),
            output_tokens: u64_field(u, "candidatesTokenCount"),
            total_tokens: u64_field(u, "totalTokenCount"),
        });
    Ok(ParsedResponse {
        response_model: str_field(body, "modelVersion")
            .or_else(|| str_field(body, "model"))
            .or_else(|| str_field(body, "model_name")),
        system_fingerprint: None,
        provider_response_id: str_field(body, "responseId"),
        provider_version_key: String::new(),
        content,
        used_grounding,
        usage,
    })
}

fn anthropic(body: &Value) -> Result<ParsedResponse, String> {
    if let Some(t) = body.get("type").and_then(Value::as_str) {
        if t != "message" {
            return Err(format!(
                "Anthropic response of type {t:?}, expected \"message\""
            ));
        }
    }
    let Some(blocks) = body.get("content").and_then(Value::as_array) else {
        return Err("Anthropic message without a \"content\" array".into());
    };
    let content = blocks
        .iter()
        .filter(|b| type_is(b, "text"))
        .filter_map(|b| b.get("text").and_then(Value::as_str))
        .collect::<String>();
    let tool_blocks = blocks.iter().any(|b| {
        type_is(b, "web_search_tool_result")
            || (type_is(b, "server_tool_use")
                // web_search and web_fetch ground the answer; code execution does not.
                && !matches!(b.get("name").and_then(Value::as_str), Some(n) if !n.starts_with("web_")))
    });
    let usage_v = body.get("usage").filter(|u| u.is_object());
    let searches = usage_v
        .and_then(|u| u.pointer("/server_tool_use/web_search_requests"))
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let usage = usage_v.map(|u| {
        let input = u64_field(u, "input_tokens");
        let output = u64_field(u, "output_tokens");
        Usage {
            input_tokens: input,
            output_tokens: output,
            // Anthropic reports no total; the sum is what the other providers call total.
            total_tokens: input.zip(output).map(|(i, o)| i + o),
        }
    });
    Ok(ParsedResponse {
        response_model: str_field(body, "model"),
        system_fingerprint: None,
        provider_response_id: str_field(body, "id"),
        provider_version_key: String::new(),
        content,
        used_grounding: tool_blocks || searches > 0,
        usage,
    })
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
