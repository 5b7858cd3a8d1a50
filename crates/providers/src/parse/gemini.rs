//! Gemini `generateContent` bodies (providers.md §4).
//!
//! `modelVersion` (no fingerprint; `model` and `model_name` are fallbacks for proxies that rename
//! it), `responseId`, `candidates[].content.parts[].text` (parts with `thought: true` are the
//! reasoning summary, not the answer), `finishReason` (`STOP`, `MAX_TOKENS`, `SAFETY`, …, possibly
//! with no parts at all), `promptFeedback.blockReason` with no candidates for a blocked prompt,
//! `usageMetadata{promptTokenCount, candidatesTokenCount, totalTokenCount, thoughtsTokenCount}`.
//! Grounding ran when `groundingMetadata.webSearchQueries` or `groundingChunks` is non-empty;
//! the chunks (`web{uri,title}`) are the citations, and the first `groundingSupports` segment
//! pointing at a chunk is its cited text.

use serde_json::Value;

use super::{items, joined, str_field, u64_field, ParsedResponse};
use crate::citations::Citations;
use crate::types::Usage;

pub(super) fn parse(body: &Value) -> Result<ParsedResponse, String> {
    // A blocked prompt has `promptFeedback` and no candidates; that is a valid answer.
    let candidates = match body.get("candidates") {
        Some(Value::Array(c)) => c.as_slice(),
        None | Some(Value::Null) if body.get("promptFeedback").is_some() => &[],
        _ => return Err("Gemini response without a \"candidates\" array".into()),
    };
    let first = candidates.first();
    let parts = || {
        first
            .into_iter()
            .flat_map(|c| items(c.get("content").unwrap_or(&Value::Null), "parts"))
    };
    let is_thought = |p: &&Value| p.get("thought").and_then(Value::as_bool) == Some(true);
    let content: String = parts()
        .filter(|p| !is_thought(p))
        .filter_map(|p| p.get("text").and_then(Value::as_str))
        .collect();
    let reasoning = joined(
        parts()
            .filter(is_thought)
            .filter_map(|p| p.get("text").and_then(Value::as_str)),
    );
    let finish_reason = match first {
        Some(c) => str_field(c, "finishReason"),
        None => body
            .pointer("/promptFeedback/blockReason")
            .and_then(Value::as_str)
            .map(|r| format!("prompt_blocked:{r}")),
    };
    let used_grounding = candidates.iter().any(|c| {
        let g = c.get("groundingMetadata").unwrap_or(&Value::Null);
        items(g, "webSearchQueries").next().is_some()
            || items(g, "groundingChunks").next().is_some()
    });
    let mut citations = Citations::default();
    if let Some(g) = first.and_then(|c| c.get("groundingMetadata")) {
        let supports: Vec<&Value> = items(g, "groundingSupports").collect();
        for (i, chunk) in items(g, "groundingChunks").enumerate() {
            let web = chunk.get("web").unwrap_or(&Value::Null);
            let cited = supports
                .iter()
                .find(|s| items(s, "groundingChunkIndices").any(|x| x.as_u64() == Some(i as u64)))
                .and_then(|s| s.pointer("/segment/text"))
                .and_then(Value::as_str);
            citations.add(
                web.get("uri").and_then(Value::as_str),
                web.get("title").and_then(Value::as_str),
                cited,
            );
        }
    }
    let usage = body
        .get("usageMetadata")
        .filter(|u| u.is_object())
        .map(|u| Usage {
            input_tokens: u64_field(u, "promptTokenCount"),
            output_tokens: u64_field(u, "candidatesTokenCount"),
            total_tokens: u64_field(u, "totalTokenCount"),
            reasoning_tokens: u64_field(u, "thoughtsTokenCount"),
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
        truncated: finish_reason.as_deref() == Some("MAX_TOKENS"),
        finish_reason,
        reasoning,
        citations: citations.into_vec(),
    })
}
