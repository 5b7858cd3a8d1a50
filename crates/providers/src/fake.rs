//! The deterministic fake provider.
//!
//! It answers in each provider's own wire shape (providers.md "Minimal documented
//! request/response examples"), and the body then goes through the same
//! [`parse_response`] as a live answer, so the version, grounding and
//! usage code is exercised without a network. Everything in the body is derived from
//! sha256(provider, model, build label, prompt, system text, grounding): the same input gives
//! the same body, ids included.
//!
//! Version fields mimic the real ones (§1, §4, §5): OpenAI-family `model` is the resolved
//! snapshot and `system_fingerprint` is `fp_` + 10 hex digits of sha256(model[, build]); Gemini
//! `modelVersion` is the requested id + `-001`; Anthropic `model` echoes the requested id. A
//! build label (`PROMPTER_FAKE_BUILD`) changes each of these, so drift detection can be tried
//! by changing one variable. The label is never derived from the prompt, so a probe and a run
//! of one model and build report the same version key.

use std::time::Instant;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::adapters::{self, gemini, responses};
use crate::detect::Provider;
use crate::error::ProviderError;
use crate::http::millis;
use crate::parse::parse_response;
use crate::settings::ProviderSettings;
use crate::types::{CallOutcome, Completion, CompletionRequest, Purpose};

mod content;
mod versions;

use content::{source_url, Answer};
pub use versions::{fingerprint, gemini_version, openai_model};

/// A fixed `created` (2026-01-01T00:00:00Z): a wall-clock value would break determinism.
const CREATED: u64 = 1_767_225_600;

/// Answers `req` like its provider would, after sleeping `fake_latency`.
pub async fn complete(
    req: &CompletionRequest,
    settings: &ProviderSettings,
) -> Result<Completion, ProviderError> {
    let started = Instant::now();
    let request_body = adapters::request_body(req)?;
    let response_body = response_body(req, settings.fake_build.as_deref())?;
    if !settings.fake_latency.is_zero() {
        tokio::time::sleep(settings.fake_latency).await;
    }
    let parsed =
        parse_response(req.provider, &req.model_id, &response_body).map_err(|message| {
            // Only a bug in this module can get here; report it like a live malformed answer.
            ProviderError::MalformedResponse {
                message,
                body: Some(response_body.clone()),
                http_status: 200,
                attempts: 1,
            }
        })?;
    let outcome = CallOutcome {
        request_body,
        response_body,
        http_status: 200,
        latency_ms: millis(started.elapsed()),
        attempts: 1,
        is_fake: true,
    };
    Ok(Completion::assemble(req, parsed, outcome))
}

/// The body the provider would answer `req` with (pure).
pub fn response_body(req: &CompletionRequest, build: Option<&str>) -> Result<Value, ProviderError> {
    let shaped = adapters::shape(req);
    let build = build.map(str::trim).filter(|b| !b.is_empty());
    let seed = sha256(&[
        req.provider.as_str(),
        &req.model_id,
        build.unwrap_or(""),
        shaped.prompt,
        shaped.system.unwrap_or(""),
        if shaped.grounding { "grounded" } else { "" },
    ]);
    let answer = Answer::new(req, &seed, shaped.grounding);
    let input_tokens =
        estimate_tokens(shaped.prompt) + estimate_tokens(shaped.system.unwrap_or(""));
    let output_tokens = match req.purpose {
        Purpose::Probe => 1,
        Purpose::Run => estimate_tokens(&answer.text),
    };
    let hex = hex::encode(seed);
    let model = req.model_id.trim();
    Ok(match req.provider {
        _ if responses::applies(req) => {
            let snapshot = openai_model(req.provider, model);
            let mut output = vec![];
            let mut annotations = vec![];
            if let Some((start, end, brand)) = &answer.cited {
                output.push(
                    json!({"type": "web_search_call", "id": format!("ws_{}", &hex[..24]),
                    "status": "completed", "action": {"type": "search", "query": answer.query}}),
                );
                annotations.push(json!({"type": "url_citation", "url": source_url(brand),
                    "title": format!("{brand} — reviews"), "start_index": start, "end_index": end}));
            }
            output.push(json!({"type": "message", "id": format!("msg_{}", &hex[..24]),
                "status": "completed", "role": "assistant",
                "content": [{"type": "output_text", "text": answer.text, "annotations": annotations}]}));
            json!({
                "id": format!("resp_{}", &hex[..32]),
                "object": "response",
                "created_at": CREATED,
                "status": "completed",
                "error": null,
                "incomplete_details": null,
                // No fingerprint on this API: a build label shows in the resolved model instead.
                "model": match build { Some(b) => format!("{snapshot}-{b}"), None => snapshot },
                "output": output,
                "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens,
                    "total_tokens": input_tokens + output_tokens,
                    "input_tokens_details": {"cached_tokens": 0},
                    "output_tokens_details": {"reasoning_tokens": 0}},
                "store": false,
            })
        }
        Provider::Openai | Provider::AzureOpenai | Provider::OpenaiCompatible => {
            let annotations = match &answer.cited {
                Some((start, end, brand)) => json!([{"type": "url_citation", "url_citation": {
                    "url": source_url(brand), "title": format!("{brand} — reviews"),
                    "start_index": start, "end_index": end}}]),
                None => json!([]),
            };
            json!({
                "id": format!("chatcmpl-{}", &hex[..29]),
                "object": "chat.completion",
                "created": CREATED,
                "model": openai_model(req.provider, model),
                "choices": [{"index": 0, "message": {"role": "assistant", "content": answer.text,
                    "refusal": null, "annotations": annotations},
                    "logprobs": null, "finish_reason": answer.finish(req, "stop", "length")}],
                "usage": {"prompt_tokens": input_tokens, "completion_tokens": output_tokens,
                    "total_tokens": input_tokens + output_tokens,
                    "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                    "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                        "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}},
                "service_tier": "default",
                "system_fingerprint": fingerprint(model, build),
            })
        }
        Provider::Google => {
            let mut candidate = json!({"content": {"role": "model", "parts": [{"text": answer.text}]},
                "finishReason": answer.finish(req, "STOP", "MAX_TOKENS"), "index": 0});
            if let Some((start, end, brand)) = &answer.cited {
                candidate["groundingMetadata"] = json!({
                    "webSearchQueries": [answer.query],
                    "groundingChunks": [{"web": {"uri": source_url(brand), "title": "example.com"}}],
                    "groundingSupports": [{"segment": {"startIndex": start, "endIndex": end,
                        "text": &answer.text[*start..*end]}, "groundingChunkIndices": [0], "confidenceScores": [0.9]}],
                    "searchEntryPoint": {"renderedContent": "<div class=\"fake-search\"></div>"},
                });
            }
            json!({
                "candidates": [candidate],
                "usageMetadata": {"promptTokenCount": input_tokens, "candidatesTokenCount": output_tokens,
                    "totalTokenCount": input_tokens + output_tokens,
                    "promptTokensDetails": [{"modality": "TEXT", "tokenCount": input_tokens}]},
                "modelVersion": gemini_version(gemini::model_path(model), build),
                "responseId": &hex[..22],
            })
        }
        Provider::Anthropic => {
            let mut content = vec![];
            let mut usage = json!({"input_tokens": input_tokens, "output_tokens": output_tokens,
                "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "service_tier": "standard"});
            match &answer.cited {
                Some((start, end, brand)) => {
                    let tool_id = format!("srvtoolu_{}", &hex[..24]);
                    content.push(
                        json!({"type": "server_tool_use", "id": tool_id, "name": "web_search",
                        "input": {"query": answer.query}}),
                    );
                    content.push(json!({"type": "web_search_tool_result", "tool_use_id": tool_id,
                        "content": [{"type": "web_search_result", "url": source_url(brand),
                            "title": format!("{brand} — reviews"), "encrypted_content": &hex[..32], "page_age": null}]}));
                    content.push(json!({"type": "text", "text": answer.text, "citations": [{
                        "type": "web_search_result_location", "url": source_url(brand),
                        "title": format!("{brand} — reviews"), "cited_text": &answer.text[*start..*end],
                        "encrypted_index": &hex[32..48]}]}));
                    usage["server_tool_use"] =
                        json!({"web_search_requests": 1, "web_fetch_requests": 0});
                }
                None => content.push(json!({"type": "text", "text": answer.text})),
            }
            json!({
                "id": format!("msg_01{}", &hex[..22]),
                "type": "message",
                "role": "assistant",
                "model": match build { Some(b) => format!("{model}-{b}"), None => model.to_string() },
                "content": content,
                "stop_reason": answer.finish(req, "end_turn", "max_tokens"),
                "stop_sequence": null,
                "usage": usage,
            })
        }
        Provider::Unknown => {
            return Err(ProviderError::UnknownProvider {
                model_id: req.model_id.clone(),
            })
        }
    })
}

/// Roughly four characters a token, the providers' own rule of thumb.
fn estimate_tokens(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4)
}

fn sha256(parts: &[&str]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        // A separator that cannot occur in the parts keeps ("ab","c") and ("a","bc") apart.
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    h.finalize().into()
}

#[cfg(test)]
mod tests;
