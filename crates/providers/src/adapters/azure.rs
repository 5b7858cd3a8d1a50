//! Azure OpenAI chat completions, classic deployment form (providers.md §3).
//!
//! `POST {endpoint}/openai/deployments/{deployment}/chat/completions?api-version=…`: the
//! `api-version` query parameter is required, auth is the `api-key` header, and the deployment
//! in the path picks the model, so the body carries no `model`. The deployment is the model id
//! without an `azure/` prefix. The body is OpenAI's; the reasoning-model heuristic of
//! [`super::openai`] is applied to the deployment name, which usually repeats the model name.

use serde_json::Value;

use super::{openai, HttpCall};
use crate::types::CompletionRequest;

/// The deployment name: the model id without an `azure/` prefix (any case).
pub fn deployment(model_id: &str) -> &str {
    let id = model_id.trim();
    match id.get(..6) {
        Some(prefix) if prefix.eq_ignore_ascii_case("azure/") => &id[6..],
        _ => id,
    }
}

pub fn body(req: &CompletionRequest) -> Value {
    let deployment = deployment(&req.model_id);
    openai::chat_body(req, None, openai::is_reasoning_model(deployment))
}

pub(crate) fn call(
    req: &CompletionRequest,
    endpoint: &str,
    api_version: &str,
    key: &str,
) -> HttpCall {
    HttpCall {
        url: format!(
            "{endpoint}/openai/deployments/{}/chat/completions?api-version={}",
            encode(deployment(&req.model_id)),
            encode(api_version)
        ),
        headers: vec![
            ("content-type", "application/json".to_string()),
            ("api-key", key.to_string()),
        ],
        body: body(req),
        secret: Some(key.to_string()),
    }
}

/// Percent-encodes a path segment or query value (deployment names are user input).
pub(crate) fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
