//! The provider version key: the one string that changes when the model build behind a call
//! changes (pure).
//!
//! providers.md "Main finding": only the OpenAI-family `system_fingerprint` tracks the backend
//! (and it is deprecated and often null, §1), so it is preferred when present; otherwise the
//! response's model field (`model` for OpenAI/Anthropic, `modelVersion` for Gemini) is the best
//! remaining signal; otherwise the requested id at least separates models.

/// `system_fingerprint` when present, non-null and non-empty; else the response model; else the
/// requested model id; `"unknown"` only when all are empty. Blank (whitespace-only) values count
/// as empty, because a key of `" "` would hide drift just as well as no key.
pub fn version_key(
    fingerprint: Option<&str>,
    response_model: Option<&str>,
    requested_model: &str,
) -> String {
    [fingerprint, response_model, Some(requested_model)]
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|s| !s.is_empty())
        .unwrap_or("unknown")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::version_key;

    #[test]
    fn precedence() {
        assert_eq!(
            version_key(Some("fp_fc9f1d7035"), Some("gpt-4o-2024-08-06"), "gpt-4o"),
            "fp_fc9f1d7035"
        );
        assert_eq!(
            version_key(None, Some("gpt-4o-2024-08-06"), "gpt-4o"),
            "gpt-4o-2024-08-06"
        );
        assert_eq!(
            version_key(Some(""), Some("gpt-4o-2024-08-06"), "gpt-4o"),
            "gpt-4o-2024-08-06"
        );
        assert_eq!(version_key(Some("  "), None, "gpt-4o"), "gpt-4o");
        assert_eq!(
            version_key(None, Some(""), "gemini-2.0-flash"),
            "gemini-2.0-flash"
        );
        assert_eq!(version_key(None, None, ""), "unknown");
        assert_eq!(version_key(Some(""), Some(""), " "), "unknown");
    }
}
