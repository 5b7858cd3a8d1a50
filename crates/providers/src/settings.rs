//! Provider settings from the environment.
//!
//! Variable names follow each vendor's SDK convention (`OPENAI_API_KEY`, `ANTHROPIC_API_KEY`,
//! `GEMINI_API_KEY`, …) so an existing shell setup just works. An empty variable counts as unset,
//! because `FOO=` in an env file usually means "not configured", not "a key that is empty".

use std::fmt;
use std::time::Duration;

use crate::detect::Provider;

/// `PROMPTER_LLM_MODE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LlmMode {
    /// Live where credentials exist, fake elsewhere.
    Auto,
    /// Never touch the network.
    Fake,
    /// Always live; a provider without credentials is an error, never silently faked.
    Live,
}

#[derive(Clone)]
pub struct ProviderSettings {
    pub mode: LlmMode,
    pub openai_api_key: Option<String>,
    pub openai_base_url: String,
    pub azure_api_key: Option<String>,
    pub azure_endpoint: Option<String>,
    pub azure_api_version: String,
    pub google_api_key: Option<String>,
    pub google_base_url: String,
    pub anthropic_api_key: Option<String>,
    pub anthropic_base_url: String,
    pub openai_compatible_base_url: Option<String>,
    pub openai_compatible_api_key: Option<String>,
    /// Per attempt.
    pub timeout: Duration,
    pub max_retries: u32,
    pub retry_base_delay: Duration,
    pub fake_latency: Duration,
    pub fake_build: Option<String>,
}

pub const DEFAULT_OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
pub const DEFAULT_GOOGLE_BASE_URL: &str = "https://generativelanguage.googleapis.com/v1beta";
pub const DEFAULT_ANTHROPIC_BASE_URL: &str = "https://api.anthropic.com/v1";
/// The GA version in providers.md §3 (Azure/azure-rest-api-specs `stable/2024-10-21`).
pub const DEFAULT_AZURE_API_VERSION: &str = "2024-10-21";

impl ProviderSettings {
    /// Reads settings through `get`; an invalid value is an `Err` naming the variable.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let get = |name: &str| {
            get(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let url = |name: &str, default: Option<&str>| -> Result<Option<String>, String> {
            match get(name) {
                Some(v) if v.starts_with("http://") || v.starts_with("https://") => {
                    // Paths are appended with a leading '/'.
                    Ok(Some(v.trim_end_matches('/').to_string()))
                }
                Some(v) => Err(format!(
                    "{name} must be an http:// or https:// URL, got {v:?}"
                )),
                None => Ok(default.map(str::to_string)),
            }
        };
        let millis = |name: &str, default: u64| -> Result<Duration, String> {
            match get(name) {
                None => Ok(Duration::from_millis(default)),
                Some(v) => v.parse::<u64>().map(Duration::from_millis).map_err(|_| {
                    format!("{name} must be a whole number of milliseconds, got {v:?}")
                }),
            }
        };
        let mode = match get("PROMPTER_LLM_MODE").map(|m| m.to_ascii_lowercase()) {
            None => LlmMode::Auto,
            Some(m) if m == "auto" => LlmMode::Auto,
            Some(m) if m == "fake" => LlmMode::Fake,
            Some(m) if m == "live" => LlmMode::Live,
            Some(m) => {
                return Err(format!(
                    "PROMPTER_LLM_MODE must be auto, fake or live, got {m:?}"
                ))
            }
        };
        let timeout = millis("PROMPTER_PROVIDER_TIMEOUT_MS", 60_000)?;
        if timeout.is_zero() {
            return Err("PROMPTER_PROVIDER_TIMEOUT_MS must be greater than 0".into());
        }
        let max_retries = match get("PROMPTER_PROVIDER_MAX_RETRIES") {
            None => 2,
            Some(v) => v.parse::<u32>().ok().filter(|n| *n <= 10).ok_or_else(|| {
                format!(
                    "PROMPTER_PROVIDER_MAX_RETRIES must be a whole number from 0 to 10, got {v:?}"
                )
            })?,
        };
        Ok(ProviderSettings {
            mode,
            openai_api_key: get("OPENAI_API_KEY"),
            openai_base_url: url("OPENAI_BASE_URL", Some(DEFAULT_OPENAI_BASE_URL))?
                .unwrap_or_default(),
            azure_api_key: get("AZURE_OPENAI_API_KEY"),
            azure_endpoint: url("AZURE_OPENAI_ENDPOINT", None)?,
            azure_api_version: get("AZURE_OPENAI_API_VERSION")
                .unwrap_or_else(|| DEFAULT_AZURE_API_VERSION.into()),
            // GOOGLE_API_KEY wins, as in Google's own SDK when both are set.
            google_api_key: get("GOOGLE_API_KEY").or_else(|| get("GEMINI_API_KEY")),
            google_base_url: url("GOOGLE_BASE_URL", Some(DEFAULT_GOOGLE_BASE_URL))?
                .unwrap_or_default(),
            anthropic_api_key: get("ANTHROPIC_API_KEY"),
            anthropic_base_url: url("ANTHROPIC_BASE_URL", Some(DEFAULT_ANTHROPIC_BASE_URL))?
                .unwrap_or_default(),
            openai_compatible_base_url: url("PROMPTER_OPENAI_COMPATIBLE_BASE_URL", None)?,
            openai_compatible_api_key: get("PROMPTER_OPENAI_COMPATIBLE_API_KEY"),
            timeout,
            max_retries,
            retry_base_delay: millis("PROMPTER_PROVIDER_RETRY_BASE_MS", 500)?,
            fake_latency: millis("PROMPTER_FAKE_LATENCY_MS", 0)?,
            fake_build: get("PROMPTER_FAKE_BUILD"),
        })
    }

    /// Mode `Fake` and no credentials: for tests of other crates.
    pub fn fake_only() -> Self {
        let mut s = Self::from_lookup(|_| None).expect("defaults are valid");
        s.mode = LlmMode::Fake;
        s
    }

    /// Whether `provider` has what a live call needs (for openai-compatible: a base URL; the key
    /// is optional because local servers rarely want one).
    pub fn has_credentials(&self, provider: Provider) -> bool {
        match provider {
            Provider::Openai => self.openai_api_key.is_some(),
            Provider::AzureOpenai => self.azure_api_key.is_some() && self.azure_endpoint.is_some(),
            Provider::Google => self.google_api_key.is_some(),
            Provider::Anthropic => self.anthropic_api_key.is_some(),
            Provider::OpenaiCompatible => self.openai_compatible_base_url.is_some(),
            Provider::Unknown => false,
        }
    }

    /// What to set so `provider` can be called live.
    pub fn missing_credentials_hint(&self, provider: Provider) -> String {
        let what = match provider {
            Provider::Openai => "OPENAI_API_KEY",
            Provider::AzureOpenai => match (&self.azure_api_key, &self.azure_endpoint) {
                (None, None) => "AZURE_OPENAI_API_KEY and AZURE_OPENAI_ENDPOINT",
                (None, Some(_)) => "AZURE_OPENAI_API_KEY",
                _ => "AZURE_OPENAI_ENDPOINT",
            },
            Provider::Google => "GOOGLE_API_KEY (or GEMINI_API_KEY)",
            Provider::Anthropic => "ANTHROPIC_API_KEY",
            Provider::OpenaiCompatible => "PROMPTER_OPENAI_COMPATIBLE_BASE_URL",
            Provider::Unknown => "a known provider",
        };
        format!("live mode needs {what} to be set")
    }
}

impl fmt::Debug for ProviderSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Secrets show as "***" when set, so logs still tell set from unset.
        fn secret(s: &Option<String>) -> Option<&'static str> {
            s.as_ref().map(|_| "***")
        }
        f.debug_struct("ProviderSettings")
            .field("mode", &self.mode)
            .field("openai_api_key", &secret(&self.openai_api_key))
            .field("openai_base_url", &self.openai_base_url)
            .field("azure_api_key", &secret(&self.azure_api_key))
            .field("azure_endpoint", &self.azure_endpoint)
            .field("azure_api_version", &self.azure_api_version)
            .field("google_api_key", &secret(&self.google_api_key))
            .field("google_base_url", &self.google_base_url)
            .field("anthropic_api_key", &secret(&self.anthropic_api_key))
            .field("anthropic_base_url", &self.anthropic_base_url)
            .field(
                "openai_compatible_base_url",
                &self.openai_compatible_base_url,
            )
            .field(
                "openai_compatible_api_key",
                &secret(&self.openai_compatible_api_key),
            )
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .field("retry_base_delay", &self.retry_base_delay)
            .field("fake_latency", &self.fake_latency)
            .field("fake_build", &self.fake_build)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(pairs: &[(&str, &str)]) -> Result<ProviderSettings, String> {
        let env: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ProviderSettings::from_lookup(|k| env.get(k).cloned())
    }

    #[test]
    fn defaults() {
        let s = from(&[]).unwrap();
        assert_eq!(s.mode, LlmMode::Auto);
        assert_eq!(s.openai_base_url, "https://api.openai.com/v1");
        assert_eq!(
            s.google_base_url,
            "https://generativelanguage.googleapis.com/v1beta"
        );
        assert_eq!(s.anthropic_base_url, "https://api.anthropic.com/v1");
        assert_eq!(s.azure_api_version, "2024-10-21");
        assert_eq!(s.timeout, Duration::from_millis(60_000));
        assert_eq!(s.max_retries, 2);
        assert_eq!(s.retry_base_delay, Duration::from_millis(500));
        assert_eq!(s.fake_latency, Duration::ZERO);
        assert!(s.openai_api_key.is_none() && s.fake_build.is_none());
        assert!(Provider::KNOWN.iter().all(|p| !s.has_credentials(*p)));
        assert_eq!(ProviderSettings::fake_only().mode, LlmMode::Fake);
    }

    #[test]
    fn reads_values() {
        let s = from(&[
            ("PROMPTER_LLM_MODE", "LIVE"),
            ("OPENAI_API_KEY", "sk-1"),
            ("OPENAI_BASE_URL", "http://127.0.0.1:9/v1/"),
            ("AZURE_OPENAI_API_KEY", "az"),
            ("AZURE_OPENAI_ENDPOINT", "https://r.openai.azure.com"),
            ("GEMINI_API_KEY", "gem"),
            ("ANTHROPIC_API_KEY", ""),
            (
                "PROMPTER_OPENAI_COMPATIBLE_BASE_URL",
                "http://127.0.0.1:8080/v1",
            ),
            ("PROMPTER_PROVIDER_TIMEOUT_MS", "1500"),
            ("PROMPTER_PROVIDER_MAX_RETRIES", "0"),
            ("PROMPTER_FAKE_LATENCY_MS", "25"),
            ("PROMPTER_FAKE_BUILD", "b2"),
        ])
        .unwrap();
        assert_eq!(s.mode, LlmMode::Live);
        assert_eq!(s.openai_base_url, "http://127.0.0.1:9/v1");
        assert_eq!(s.google_api_key.as_deref(), Some("gem"));
        assert_eq!(s.anthropic_api_key, None, "empty means unset");
        assert!(s.has_credentials(Provider::AzureOpenai));
        assert!(s.has_credentials(Provider::OpenaiCompatible));
        assert!(!s.has_credentials(Provider::Anthropic));
        assert_eq!(s.timeout, Duration::from_millis(1500));
        assert_eq!(s.max_retries, 0);
        assert_eq!(s.fake_latency, Duration::from_millis(25));
        assert_eq!(s.fake_build.as_deref(), Some("b2"));
    }

    #[test]
    fn google_key_wins_over_gemini_key() {
        let s = from(&[("GOOGLE_API_KEY", "g"), ("GEMINI_API_KEY", "m")]).unwrap();
        assert_eq!(s.google_api_key.as_deref(), Some("g"));
    }

    #[test]
    fn invalid_values_name_the_variable() {
        for (var, value) in [
            ("PROMPTER_PROVIDER_TIMEOUT_MS", "soon"),
            ("PROMPTER_PROVIDER_TIMEOUT_MS", "0"),
            ("PROMPTER_PROVIDER_MAX_RETRIES", "-1"),
            ("PROMPTER_PROVIDER_MAX_RETRIES", "99"),
            ("PROMPTER_FAKE_LATENCY_MS", "1.5"),
            ("PROMPTER_PROVIDER_RETRY_BASE_MS", "x"),
            ("PROMPTER_LLM_MODE", "sometimes"),
            ("OPENAI_BASE_URL", "api.openai.com"),
            ("PROMPTER_OPENAI_COMPATIBLE_BASE_URL", "localhost:8080"),
        ] {
            let err = from(&[(var, value)]).unwrap_err();
            assert!(err.contains(var), "{err}");
        }
    }

    #[test]
    fn debug_redacts_secrets() {
        let s = from(&[
            ("OPENAI_API_KEY", "sk-openai-SECRET"),
            ("AZURE_OPENAI_API_KEY", "azure-SECRET"),
            ("GOOGLE_API_KEY", "google-SECRET"),
            ("ANTHROPIC_API_KEY", "sk-ant-SECRET"),
            ("PROMPTER_OPENAI_COMPATIBLE_API_KEY", "local-SECRET"),
        ])
        .unwrap();
        let dbg = format!("{s:?}");
        assert!(!dbg.contains("SECRET"), "{dbg}");
        assert!(dbg.contains("openai_api_key: Some(\"***\")"), "{dbg}");
        assert!(dbg.contains("https://api.openai.com/v1"));
        let hint = s.missing_credentials_hint(Provider::AzureOpenai);
        assert!(hint.contains("AZURE_OPENAI_ENDPOINT"), "{hint}");
    }
}
