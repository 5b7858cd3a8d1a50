//! Which provider answers a model id (pure).
//!
//! Prefixes follow providers.md §1 "Model id prefixes": OpenAI chat ids start with `gpt-`,
//! `o1`, `o3`, `o4` or `chatgpt-`. `omni-` is accepted as OpenAI too, although the notes point
//! out that no *chat* model starts with it (`omni-moderation-latest` is a moderation model):
//! the brief asks for it and an OpenAI-owned name is still better routed to OpenAI than refused.
//! Fine-tuned ids (`ft:gpt-4o-…`, §1, unverified) are detected by what follows `ft:`.

use std::fmt;

/// An LLM provider family. Serialised in kebab-case (`azure-openai`, `openai-compatible`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Provider {
    Openai,
    AzureOpenai,
    Google,
    Anthropic,
    OpenaiCompatible,
    Unknown,
}

impl Provider {
    /// Every provider that can be called, in a stable order (no `Unknown`).
    pub const KNOWN: [Provider; 5] = [
        Provider::Openai,
        Provider::AzureOpenai,
        Provider::Google,
        Provider::Anthropic,
        Provider::OpenaiCompatible,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Openai => "openai",
            Provider::AzureOpenai => "azure-openai",
            Provider::Google => "google",
            Provider::Anthropic => "anthropic",
            Provider::OpenaiCompatible => "openai-compatible",
            Provider::Unknown => "unknown",
        }
    }

    /// Parses a provider name as stored on a template (case-insensitive, surrounding whitespace
    /// ignored). `gemini` and `azure` are accepted as aliases because people type them.
    /// `"unknown"` is not a provider anyone can choose, so it parses to `None`.
    pub fn parse(s: &str) -> Option<Provider> {
        match s.trim().to_ascii_lowercase().as_str() {
            "openai" => Some(Provider::Openai),
            "azure-openai" | "azure" => Some(Provider::AzureOpenai),
            "google" | "gemini" => Some(Provider::Google),
            "anthropic" => Some(Provider::Anthropic),
            "openai-compatible" => Some(Provider::OpenaiCompatible),
            _ => None,
        }
    }

    /// Whether the provider speaks the OpenAI Chat Completions wire format.
    pub fn is_openai_family(self) -> bool {
        matches!(
            self,
            Provider::Openai | Provider::AzureOpenai | Provider::OpenaiCompatible
        )
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An explicit provider wins; otherwise from the model id: gpt-*, o1*, o3*, o4*, chatgpt-*,
/// omni-* → Openai; gemini* → Google; claude* → Anthropic; `azure/<deployment>` → AzureOpenai;
/// anything else → Unknown. Case-insensitive on the prefix. An explicit but unrecognised name →
/// Unknown. A blank explicit name counts as not given.
pub fn detect_provider(explicit: Option<&str>, model_id: &str) -> Provider {
    if let Some(name) = explicit.filter(|s| !s.trim().is_empty()) {
        return Provider::parse(name).unwrap_or(Provider::Unknown);
    }
    let id = model_id.trim().to_ascii_lowercase();
    // Fine-tuned OpenAI ids carry an `ft:` prefix; the base model follows it.
    let id = id.strip_prefix("ft:").unwrap_or(&id);
    // Gemini's REST resource name is `models/<id>`; people paste it as the model id.
    let id = id.strip_prefix("models/").unwrap_or(id);
    const OPENAI: [&str; 6] = ["gpt-", "o1", "o3", "o4", "chatgpt-", "omni-"];
    if id.starts_with("azure/") {
        Provider::AzureOpenai
    } else if OPENAI.iter().any(|p| id.starts_with(p)) {
        Provider::Openai
    } else if id.starts_with("gemini") {
        Provider::Google
    } else if id.starts_with("claude") {
        Provider::Anthropic
    } else {
        Provider::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_from_model_id() {
        let table = [
            ("gpt-4o", Provider::Openai),
            ("GPT-4O", Provider::Openai),
            ("gpt-4o-2024-08-06", Provider::Openai),
            ("o1-mini", Provider::Openai),
            ("o3", Provider::Openai),
            ("o4-mini", Provider::Openai),
            ("chatgpt-4o-latest", Provider::Openai),
            ("omni-vision", Provider::Openai),
            ("ft:gpt-4o-mini:acme::abc123", Provider::Openai),
            ("gemini-2.0-flash", Provider::Google),
            ("Gemini-2.5-Pro", Provider::Google),
            ("models/gemini-2.5-flash", Provider::Google),
            ("claude-sonnet-4-5", Provider::Anthropic),
            ("CLAUDE-3-haiku", Provider::Anthropic),
            ("azure/my-deploy", Provider::AzureOpenai),
            ("Azure/My-Deploy", Provider::AzureOpenai),
            ("llama3", Provider::Unknown),
            ("mistral-large", Provider::Unknown),
            ("", Provider::Unknown),
            ("gpt", Provider::Unknown),
        ];
        for (id, want) in table {
            assert_eq!(detect_provider(None, id), want, "{id}");
        }
    }

    #[test]
    fn explicit_wins_and_garbage_is_unknown() {
        assert_eq!(
            detect_provider(Some("anthropic"), "gpt-4o"),
            Provider::Anthropic
        );
        assert_eq!(
            detect_provider(Some("openai-compatible"), "llama3"),
            Provider::OpenaiCompatible
        );
        assert_eq!(
            detect_provider(Some("azure-openai"), "gpt-4o"),
            Provider::AzureOpenai
        );
        assert_eq!(detect_provider(Some("Google"), "x"), Provider::Google);
        assert_eq!(
            detect_provider(Some("open ai"), "gpt-4o"),
            Provider::Unknown
        );
        assert_eq!(
            detect_provider(Some("unknown"), "gpt-4o"),
            Provider::Unknown
        );
        assert_eq!(detect_provider(Some("  "), "gpt-4o"), Provider::Openai);
    }

    #[test]
    fn names_round_trip() {
        for p in Provider::KNOWN {
            assert_eq!(Provider::parse(p.as_str()), Some(p));
            assert_eq!(
                serde_json::to_value(p).unwrap(),
                serde_json::json!(p.as_str())
            );
        }
        assert_eq!(Provider::parse("unknown"), None);
        assert_eq!(
            serde_json::to_value(Provider::Unknown).unwrap(),
            serde_json::json!("unknown")
        );
        assert_eq!(Provider::AzureOpenai.to_string(), "azure-openai");
    }
}
