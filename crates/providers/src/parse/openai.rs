//! OpenAI-family bodies (providers.md §1, §2, §3, §6).
//!
//! - Chat Completions: `choices[0].message{content, refusal, annotations, tool_calls,
//!   reasoning_content | reasoning}`, `finish_reason`, `usage{prompt_tokens, completion_tokens,
//!   total_tokens, completion_tokens_details.reasoning_tokens}`, `system_fingerprint` (missing,
//!   `null` or a string; only a non-empty string counts). Search models cite with nested
//!   `annotations[{type:"url_citation", url_citation:{url,title,start_index,end_index}}]`.
//! - Responses API (`object:"response"`, an `output` array): `message` items with
//!   `output_text` parts (flat `url_citation` annotations) or a `refusal` part;
//!   `web_search_call` items (search ran, whatever their `action`); `reasoning` items
//!   (`summary[].text`, `content[].text`); `status` with `incomplete_details.reason`;
//!   `usage{input_tokens, output_tokens, total_tokens, output_tokens_details.reasoning_tokens}`.
//!   There is no fingerprint: the resolved `model` is the version key.
//! - Local servers put reasoning in `reasoning_content` / `reasoning` or in `<think>` tags.

use serde_json::Value;

use super::{items, joined, non_empty, str_field, type_is, u64_field, ParsedResponse};
use crate::citations::Citations;
use crate::types::Usage;

pub(super) fn parse(body: &Value) -> Result<ParsedResponse, String> {
    if let Some(choices) = body.get("choices").and_then(Value::as_array) {
        Ok(chat(body, choices))
    } else if body.get("output").is_some_and(Value::is_array) {
        responses(body)
    } else {
        Err("OpenAI chat completion without a \"choices\" array".into())
    }
}

fn chat(body: &Value, choices: &[Value]) -> ParsedResponse {
    let choice = choices.first().unwrap_or(&Value::Null);
    let message = choice.get("message").unwrap_or(&Value::Null);
    let raw = message.get("content").and_then(Value::as_str).unwrap_or("");
    let refusal = non_empty(message.get("refusal"));
    let (mut content, think) = super::split_think_tags(raw);
    let mut finish_reason = str_field(choice, "finish_reason");
    stand_in_refusal(&mut content, &mut finish_reason, refusal.map(str::to_owned));
    let reasoning = joined(
        ["reasoning_content", "reasoning"]
            .iter()
            .filter_map(|k| non_empty(message.get(*k)))
            .chain(think.as_deref()),
    );
    let mut citations = Citations::default();
    for a in items(message, "annotations").filter(|a| type_is(a, "url_citation")) {
        // Nested on Chat Completions; some compatible servers send the Responses' flat shape.
        let c = a.get("url_citation").unwrap_or(a);
        citations.add(non_empty(c.get("url")), non_empty(c.get("title")), None);
    }
    let citations = citations.into_vec();
    let usage = body.get("usage").filter(|u| u.is_object()).map(|u| Usage {
        input_tokens: u64_field(u, "prompt_tokens").or_else(|| u64_field(u, "input_tokens")),
        output_tokens: u64_field(u, "completion_tokens").or_else(|| u64_field(u, "output_tokens")),
        total_tokens: u64_field(u, "total_tokens"),
        reasoning_tokens: u
            .pointer("/completion_tokens_details/reasoning_tokens")
            .and_then(Value::as_u64),
    });
    ParsedResponse {
        response_model: str_field(body, "model"),
        system_fingerprint: str_field(body, "system_fingerprint"),
        provider_response_id: str_field(body, "id"),
        provider_version_key: String::new(),
        content,
        used_grounding: !citations.is_empty(),
        truncated: finish_reason.as_deref() == Some("length"),
        finish_reason,
        usage,
        reasoning,
        citations,
    }
}

/// A refusal with no answer text is what the model said: it stands in for the answer, flagged
/// by the stop reason `refusal`.
fn stand_in_refusal(
    content: &mut String,
    finish_reason: &mut Option<String>,
    refusal: Option<String>,
) {
    if let (true, Some(r)) = (content.is_empty(), refusal) {
        *content = r;
        *finish_reason = Some("refusal".into());
    }
}

fn responses(body: &Value) -> Result<ParsedResponse, String> {
    let status = body.get("status").and_then(Value::as_str);
    if status == Some("failed") {
        let why = body
            .pointer("/error/message")
            .and_then(Value::as_str)
            .unwrap_or("no error message");
        return Err(format!(
            "Responses API object with status \"failed\": {why}"
        ));
    }
    let messages = || items(body, "output").filter(|o| type_is(o, "message"));
    let parts = || messages().flat_map(|m| items(m, "content"));
    let text: String = parts()
        .filter(|c| type_is(c, "output_text"))
        .filter_map(|c| c.get("text").and_then(Value::as_str))
        .collect();
    let refusal = joined(
        parts()
            .filter(|c| type_is(c, "refusal"))
            .filter_map(|c| c.get("refusal").and_then(Value::as_str)),
    );
    let (mut content, think) = super::split_think_tags(&text);
    let mut finish_reason = match status {
        Some("incomplete") => Some(
            body.pointer("/incomplete_details/reason")
                .and_then(Value::as_str)
                .unwrap_or("incomplete")
                .to_owned(),
        ),
        other => other.map(str::to_owned),
    };
    stand_in_refusal(&mut content, &mut finish_reason, refusal);
    let reasoning = joined(
        items(body, "output")
            .filter(|o| type_is(o, "reasoning"))
            .flat_map(|o| items(o, "summary").chain(items(o, "content")))
            .filter_map(|s| s.get("text").and_then(Value::as_str))
            .chain(think.as_deref()),
    );
    let mut citations = Citations::default();
    for a in parts()
        .flat_map(|c| items(c, "annotations"))
        .filter(|a| type_is(a, "url_citation"))
    {
        citations.add(non_empty(a.get("url")), non_empty(a.get("title")), None);
    }
    let citations = citations.into_vec();
    let searched = items(body, "output").any(|o| type_is(o, "web_search_call"));
    let usage = body.get("usage").filter(|u| u.is_object()).map(|u| Usage {
        input_tokens: u64_field(u, "input_tokens"),
        output_tokens: u64_field(u, "output_tokens"),
        total_tokens: u64_field(u, "total_tokens"),
        reasoning_tokens: u
            .pointer("/output_tokens_details/reasoning_tokens")
            .and_then(Value::as_u64),
    });
    Ok(ParsedResponse {
        response_model: str_field(body, "model"),
        system_fingerprint: None,
        provider_response_id: str_field(body, "id"),
        provider_version_key: String::new(),
        content,
        used_grounding: searched || !citations.is_empty(),
        usage,
        truncated: status == Some("incomplete"),
        finish_reason,
        reasoning,
        citations,
    })
}
