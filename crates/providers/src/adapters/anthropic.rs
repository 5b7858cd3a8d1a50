//! Anthropic Messages (providers.md §5).
//!
//! `POST {base}/messages` with `x-api-key`, `anthropic-version: 2023-06-01` and
//! `content-type: application/json`. `max_tokens` is required: 1024 unless the template sets
//! one (1 for a probe). Mapped parameters: `temperature`, `top_p`, `top_k`, `stop` →
//! `stop_sequences`; `seed` and the penalties have no Anthropic equivalent and are left out.
//! Grounding declares the `web_search_20250305` server tool; the newer versions (§5) are not
//! needed to get search.

use serde_json::{json, Map, Value};

use super::{shape, stop_list, HttpCall};
use crate::types::CompletionRequest;

pub const ANTHROPIC_VERSION: &str = "2023-06-01";
pub const DEFAULT_MAX_TOKENS: u64 = 1024;

pub fn body(req: &CompletionRequest) -> Value {
    let shaped = shape(req);
    let mut body = Map::new();
    body.insert("model".into(), json!(req.model_id));
    body.insert(
        "max_tokens".into(),
        shaped
            .params
            .get("max_tokens")
            .cloned()
            .unwrap_or(json!(DEFAULT_MAX_TOKENS)),
    );
    if let Some(system) = shaped.system {
        body.insert("system".into(), json!(system));
    }
    body.insert(
        "messages".into(),
        json!([{"role": "user", "content": shaped.prompt}]),
    );
    for key in ["temperature", "top_p", "top_k"] {
        if let Some(v) = shaped.params.get(key) {
            body.insert(key.into(), v.clone());
        }
    }
    if let Some(stop) = shaped
        .params
        .get("stop")
        .or_else(|| shaped.params.get("stop_sequences"))
    {
        body.insert("stop_sequences".into(), stop_list(stop));
    }
    if shaped.grounding {
        let mut tool = json!({"type": "web_search_20250305", "name": "web_search"});
        if let Some(location) = super::user_location(req) {
            tool["user_location"] = location;
        }
        body.insert("tools".into(), json!([tool]));
    }
    Value::Object(body)
}

/// Appends the paused answer `paused` (a `pause_turn` response) to `body` as the assistant turn,
/// so the next request continues it.
pub(crate) fn continue_turn(body: &mut Value, paused: &Value) {
    let content = paused.get("content").cloned().unwrap_or_else(|| json!([]));
    if let Some(messages) = body.get_mut("messages").and_then(Value::as_array_mut) {
        messages.push(json!({"role": "assistant", "content": content}));
    }
}

pub(crate) fn call(req: &CompletionRequest, base: &str, key: &str) -> HttpCall {
    HttpCall {
        url: format!("{base}/messages"),
        headers: vec![
            ("content-type", "application/json".to_string()),
            ("x-api-key", key.to_string()),
            ("anthropic-version", ANTHROPIC_VERSION.to_string()),
        ],
        body: body(req),
        secret: Some(key.to_string()),
    }
}
