//! Anthropic Messages bodies (providers.md §5).
//!
//! `id`, `model`, `content[]` blocks, `stop_reason` (`end_turn`, `max_tokens`, `pause_turn`,
//! `refusal`, …), `usage{input_tokens, output_tokens, server_tool_use{web_search_requests}}`.
//! The answer is the `text` blocks; `thinking` blocks are reasoning (`redacted_thinking` holds
//! no text). Search ran when a `server_tool_use` (web search or fetch) or
//! `web_search_tool_result` block is present or `web_search_requests > 0`. Citations come from
//! the `web_search_tool_result` results and the text blocks' `citations` (with `cited_text`), in
//! block order.

use serde_json::Value;

use super::{items, joined, non_empty, str_field, type_is, u64_field, ParsedResponse};
use crate::citations::Citations;
use crate::types::Usage;

pub(super) fn parse(body: &Value) -> Result<ParsedResponse, String> {
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
    let reasoning = joined(
        blocks
            .iter()
            .filter(|b| type_is(b, "thinking"))
            .filter_map(|b| b.get("thinking").and_then(Value::as_str)),
    );
    let tool_blocks = blocks.iter().any(|b| {
        type_is(b, "web_search_tool_result")
            || (type_is(b, "server_tool_use")
                // web_search and web_fetch ground the answer; code execution does not.
                && !matches!(b.get("name").and_then(Value::as_str), Some(n) if !n.starts_with("web_")))
    });
    let mut citations = Citations::default();
    for b in blocks {
        if type_is(b, "web_search_tool_result") {
            // On a search error `content` is an object, not a list: no results.
            for r in items(b, "content").filter(|r| type_is(r, "web_search_result")) {
                citations.add(non_empty(r.get("url")), non_empty(r.get("title")), None);
            }
        } else if type_is(b, "text") {
            for c in items(b, "citations") {
                citations.add(
                    non_empty(c.get("url")),
                    non_empty(c.get("title")),
                    non_empty(c.get("cited_text")),
                );
            }
        }
    }
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
            reasoning_tokens: None,
        }
    });
    let finish_reason = str_field(body, "stop_reason");
    Ok(ParsedResponse {
        response_model: str_field(body, "model"),
        system_fingerprint: None,
        provider_response_id: str_field(body, "id"),
        provider_version_key: String::new(),
        content,
        used_grounding: tool_blocks || searches > 0,
        usage,
        // A turn still paused after the allowed continuations is unfinished too.
        truncated: matches!(finish_reason.as_deref(), Some("max_tokens" | "pause_turn")),
        finish_reason,
        reasoning,
        citations: citations.into_vec(),
    })
}
