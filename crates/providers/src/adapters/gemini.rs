//! Google Gemini `generateContent` (providers.md §4).
//!
//! `POST {base}/models/{model}:generateContent` with the key in the `x-goog-api-key` header,
//! never the older `?key=` query parameter, so it stays out of URLs and logs (§4 "Auth"). Body:
//! `contents[{role:"user", parts[{text}]}]`, `systemInstruction{parts[{text}]}`, and
//! `generationConfig{temperature, topP, topK, maxOutputTokens, seed, stopSequences,
//! presencePenalty, frequencyPenalty}` mapped from the OpenAI-style names. Grounding is
//! `tools: [{"google_search": {}}]` (§4 "Grounding with Google Search").

use serde_json::{json, Map, Value};

use super::azure::encode;
use super::{shape, stop_list, HttpCall};
use crate::types::CompletionRequest;

/// OpenAI-style name → `generationConfig` field.
const MAPPING: [(&str, &str); 8] = [
    ("temperature", "temperature"),
    ("top_p", "topP"),
    ("top_k", "topK"),
    ("max_tokens", "maxOutputTokens"),
    ("seed", "seed"),
    ("stop", "stopSequences"),
    ("presence_penalty", "presencePenalty"),
    ("frequency_penalty", "frequencyPenalty"),
];

/// The model as the URL wants it: without a `models/` prefix (the path adds it).
pub fn model_path(model_id: &str) -> &str {
    let id = model_id.trim();
    id.strip_prefix("models/").unwrap_or(id)
}

pub fn body(req: &CompletionRequest) -> Value {
    let shaped = shape(req);
    let mut config = Map::new();
    for (from, to) in MAPPING {
        // Accept the native camelCase name too (a template written for Gemini).
        let v = shaped.params.get(from).or_else(|| shaped.params.get(to));
        if let Some(v) = v {
            let v = if from == "stop" {
                stop_list(v)
            } else {
                v.clone()
            };
            config.insert(to.into(), v);
        }
    }
    let mut body = Map::new();
    if let Some(system) = shaped.system {
        body.insert(
            "systemInstruction".into(),
            json!({"parts": [{"text": system}]}),
        );
    }
    body.insert(
        "contents".into(),
        json!([{"role": "user", "parts": [{"text": shaped.prompt}]}]),
    );
    if !config.is_empty() {
        body.insert("generationConfig".into(), Value::Object(config));
    }
    if shaped.grounding {
        body.insert("tools".into(), json!([{"google_search": {}}]));
    }
    Value::Object(body)
}

pub(crate) fn call(req: &CompletionRequest, base: &str, key: &str) -> HttpCall {
    HttpCall {
        url: format!(
            "{base}/models/{}:generateContent",
            encode(model_path(&req.model_id))
        ),
        headers: vec![
            ("content-type", "application/json".to_string()),
            ("x-goog-api-key", key.to_string()),
        ],
        body: body(req),
        secret: Some(key.to_string()),
    }
}
