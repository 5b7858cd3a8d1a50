//! OpenAI Chat Completions and OpenAI-compatible servers (providers.md §1, §6).
//!
//! `POST {base}/chat/completions` with `Authorization: Bearer <key>` (for compatible servers
//! only when a key is configured: llama.cpp, vLLM and Ollama need none). Body: `model`,
//! `messages`, and the pass-through parameters `temperature`, `top_p`, `max_tokens`, `seed`,
//! `stop`, `presence_penalty`, `frequency_penalty`. Grounding is `web_search_options` (with the
//! run's country as `user_location.approximate.country`), which only search models accept (§1):
//! a grounded call on any other OpenAI or Azure model goes to the Responses API instead
//! ([`super::responses`]).
//!
//! Reasoning models: `max_tokens` "is not compatible with o-series models" (§1), so for ids
//! starting with `o1`, `o3`, `o4` (and `gpt-5`) the limit goes out as `max_completion_tokens` and
//! `temperature` is dropped. Which ids count as reasoning models is **promptfoo's heuristic**
//! (`src/providers/openai/chat.ts`), not an OpenAI rule; it is applied to OpenAI and Azure, not
//! to compatible servers, which take `max_tokens`.

use serde_json::{json, Map, Value};

use super::{shape, HttpCall};
use crate::detect::Provider;
use crate::types::CompletionRequest;

const PASS_THROUGH: [&str; 7] = [
    "temperature",
    "top_p",
    "max_tokens",
    "seed",
    "stop",
    "presence_penalty",
    "frequency_penalty",
];

/// promptfoo's "reasoning model" test (providers.md §1): `o1*`, `o3*`, `o4*`, `gpt-5*`.
pub fn is_reasoning_model(model_id: &str) -> bool {
    let id = model_id.trim().to_ascii_lowercase();
    let id = id.strip_prefix("ft:").unwrap_or(&id);
    ["o1", "o3", "o4", "gpt-5"]
        .iter()
        .any(|p| id.starts_with(p))
}

/// The body for OpenAI (`model` = the requested id) and compatible servers.
pub fn body(req: &CompletionRequest) -> Value {
    let reasoning = req.provider == Provider::Openai && is_reasoning_model(&req.model_id);
    chat_body(req, Some(&req.model_id), reasoning)
}

/// The chat-completions body shared with Azure, which names the model in the URL instead.
pub(crate) fn chat_body(req: &CompletionRequest, model: Option<&str>, reasoning: bool) -> Value {
    let shaped = shape(req);
    let mut messages = Vec::new();
    if let Some(system) = shaped.system {
        // "system" rather than the newer "developer": every compatible server knows it, and
        // OpenAI maps it for models that want "developer".
        messages.push(json!({"role": "system", "content": system}));
    }
    messages.push(json!({"role": "user", "content": shaped.prompt}));

    let mut body = Map::new();
    if let Some(model) = model {
        body.insert("model".into(), json!(model));
    }
    body.insert("messages".into(), Value::Array(messages));
    for key in PASS_THROUGH {
        let Some(v) = shaped.params.get(key) else {
            continue;
        };
        match key {
            "temperature" if reasoning => {}
            "max_tokens" if reasoning => {
                body.insert("max_completion_tokens".into(), v.clone());
            }
            _ => {
                body.insert(key.into(), v.clone());
            }
        }
    }
    if shaped.grounding {
        // Chat Completions nests the location one level deeper than the Responses tool does.
        let options = match super::user_location(req) {
            Some(mut location) => {
                let country = location["country"].take();
                json!({"user_location": {"type": "approximate", "approximate": {"country": country}}})
            }
            None => json!({}),
        };
        body.insert("web_search_options".into(), options);
    }
    Value::Object(body)
}

pub(crate) fn call(req: &CompletionRequest, base: &str, key: Option<&str>) -> HttpCall {
    let mut headers = vec![("content-type", "application/json".to_string())];
    if let Some(key) = key {
        headers.push(("authorization", format!("Bearer {key}")));
    }
    HttpCall {
        url: format!("{base}/chat/completions"),
        headers,
        body: body(req),
        secret: key.map(str::to_string),
    }
}
