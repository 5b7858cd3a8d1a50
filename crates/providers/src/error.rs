//! The one error type, and the scrubbing that keeps API keys out of it.

use serde_json::Value;

use crate::detect::Provider;

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// E.g. live mode without credentials; `hint` names the environment variable to set.
    #[error("provider {provider} is not usable: {hint}")]
    NotConfigured { provider: Provider, hint: String },
    #[error("cannot tell the provider of model {model_id:?}: set \"provider\" to one of openai, azure-openai, google, anthropic, openai-compatible")]
    UnknownProvider { model_id: String },
    /// `message` is the provider's own `error.message` when it sent one. `retryable` says
    /// whether the status is one that is retried (so `attempts` tells whether retries ran out).
    #[error("provider answered HTTP {status}: {message}")]
    Http {
        status: u16,
        message: String,
        body: Option<Value>,
        attempts: u32,
        retryable: bool,
        /// What the server asked for in `retry-after-ms` / `retry-after` (uncapped), if anything.
        retry_after_ms: Option<u64>,
    },
    #[error("provider did not answer within {timeout_ms} ms")]
    Timeout { timeout_ms: u64, attempts: u32 },
    #[error("could not reach the provider: {message}")]
    Transport { message: String, attempts: u32 },
    #[error("provider response is malformed: {message}")]
    MalformedResponse {
        message: String,
        body: Option<Value>,
        http_status: u16,
        attempts: u32,
    },
}

impl ProviderError {
    /// How many HTTP attempts were made (0 when nothing was sent).
    pub fn attempts(&self) -> u32 {
        match self {
            ProviderError::NotConfigured { .. } | ProviderError::UnknownProvider { .. } => 0,
            ProviderError::Http { attempts, .. }
            | ProviderError::Timeout { attempts, .. }
            | ProviderError::Transport { attempts, .. }
            | ProviderError::MalformedResponse { attempts, .. } => *attempts,
        }
    }
}

/// Replaces every occurrence of `secret` in `text` with `***`.
///
/// Provider error messages are quoted back to the caller, and a provider may echo the key it
/// rejected (OpenAI masks it, others need not), so every text that leaves an adapter passes
/// through here. Secrets shorter than 4 characters are not scrubbed: replacing every "a" would
/// make messages unreadable, and such keys are not real keys.
pub(crate) fn scrub(text: &str, secret: Option<&str>) -> String {
    match secret {
        Some(s) if s.len() >= 4 => text.replace(s, "***"),
        _ => text.to_string(),
    }
}

/// [`scrub`] applied to every string (and object key) inside a JSON value.
pub(crate) fn scrub_json(value: Value, secret: Option<&str>) -> Value {
    if !matches!(secret, Some(s) if s.len() >= 4) {
        return value;
    }
    match value {
        Value::String(s) => Value::String(scrub(&s, secret)),
        Value::Array(items) => {
            Value::Array(items.into_iter().map(|v| scrub_json(v, secret)).collect())
        }
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (scrub(&k, secret), scrub_json(v, secret)))
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scrubs_text_and_json() {
        let key = "sk-test-SECRET";
        assert_eq!(scrub("bad key sk-test-SECRET!", Some(key)), "bad key ***!");
        let v = scrub_json(
            json!({"error": {"message": ["sk-test-SECRET"], "n": 1}}),
            Some(key),
        );
        assert_eq!(v, json!({"error": {"message": ["***"], "n": 1}}));
        assert_eq!(scrub("abc", Some("a")), "abc");
        assert_eq!(scrub("abc", None), "abc");
    }
}
