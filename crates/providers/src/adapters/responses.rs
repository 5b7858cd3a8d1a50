//! The OpenAI Responses API (providers.md §2), for OpenAI and Azure OpenAI.
//!
//! Chat Completions searches only with the search models (`gpt-4o-search-preview`,
//! `gpt-4o-mini-search-preview`, `gpt-5-search-api`); any other model answers 400 "Web search
//! options not supported with this model." So a **grounded** call on any other OpenAI or Azure
//! model goes here: `POST {base}/responses` with the `web_search` tool, whose
//! `user_location{type:"approximate", country}` carries the run's country. Ungrounded calls stay
//! on Chat Completions, which still reports `system_fingerprint` (the finer drift signal the
//! Responses object lacks, and the one the fingerprint alert watches). A probe asked for a
//! grounded template goes here too (without the tool), so it reports the same version key as
//! the grounded runs.
//!
//! Body: `model`, `input` (one user message), `instructions` (the system text), `store: false`
//! (nothing kept on OpenAI's side), `max_output_tokens` (OpenAI's minimum is 16, so a probe asks
//! for 16), and for non-reasoning models `temperature` and `top_p`. The Responses API has no
//! `seed`, `stop` or penalties; they are left out rather than sent to be rejected.
//! Azure: `POST {endpoint}/openai/v1/responses` (the v1 API needs no `api-version`) with the
//! deployment as `model` and the `api-key` header.

use serde_json::{json, Map, Value};

use super::{azure, openai, shape, user_location, HttpCall};
use crate::detect::Provider;
use crate::types::CompletionRequest;

/// The Responses API's smallest `max_output_tokens`.
pub const MIN_OUTPUT_TOKENS: u64 = 16;

/// Chat-Completions-only search models: they take `web_search_options` and are not sent here.
pub fn is_search_model(model_id: &str) -> bool {
    let id = model_id.trim().to_ascii_lowercase();
    id.contains("search-preview") || id.contains("search-api")
}

/// Whether `req` goes to the Responses API: a grounded OpenAI or Azure call on a model other
/// than a search model (probes of such a template included).
pub fn applies(req: &CompletionRequest) -> bool {
    let model = match req.provider {
        Provider::Openai => req.model_id.as_str(),
        Provider::AzureOpenai => azure::deployment(&req.model_id),
        _ => return false,
    };
    req.use_grounding && !is_search_model(model)
}

pub fn body(req: &CompletionRequest) -> Value {
    let shaped = shape(req);
    let model = match req.provider {
        Provider::AzureOpenai => azure::deployment(&req.model_id),
        _ => req.model_id.trim(),
    };
    let reasoning = openai::is_reasoning_model(model);
    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    body.insert(
        "input".into(),
        json!([{"role": "user", "content": shaped.prompt}]),
    );
    if let Some(system) = shaped.system {
        body.insert("instructions".into(), json!(system));
    }
    body.insert("store".into(), json!(false));
    if let Some(limit) = shaped.params.get("max_tokens") {
        let limit = match limit.as_u64() {
            Some(n) => json!(n.max(MIN_OUTPUT_TOKENS)),
            None => limit.clone(),
        };
        body.insert("max_output_tokens".into(), limit);
    }
    if !reasoning {
        for key in ["temperature", "top_p"] {
            if let Some(v) = shaped.params.get(key) {
                body.insert(key.into(), v.clone());
            }
        }
    }
    if shaped.grounding {
        let mut tool = json!({"type": "web_search"});
        if let Some(location) = user_location(req) {
            tool["user_location"] = location;
        }
        body.insert("tools".into(), json!([tool]));
    }
    Value::Object(body)
}

pub(crate) fn openai_call(req: &CompletionRequest, base: &str, key: &str) -> HttpCall {
    HttpCall {
        url: format!("{base}/responses"),
        headers: vec![
            ("content-type", "application/json".to_string()),
            ("authorization", format!("Bearer {key}")),
        ],
        body: body(req),
        secret: Some(key.to_string()),
    }
}

pub(crate) fn azure_call(req: &CompletionRequest, endpoint: &str, key: &str) -> HttpCall {
    HttpCall {
        url: format!("{}/openai/v1/responses", endpoint.trim_end_matches('/')),
        headers: vec![
            ("content-type", "application/json".to_string()),
            ("api-key", key.to_string()),
        ],
        body: body(req),
        secret: Some(key.to_string()),
    }
}
