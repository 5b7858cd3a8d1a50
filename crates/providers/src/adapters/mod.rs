//! Per-provider request building (pure): URL, auth headers and JSON body.
//!
//! Each adapter turns a [`CompletionRequest`] into an [`HttpCall`]; the crate's `http` module sends it and
//! [`crate::parse`] reads the answer. The body builders are also used by the fake, so
//! `Completion::request_body` is the same whether or not a network call happened.
//!
//! Inference parameters arrive with OpenAI-style names and are mapped per provider; a key a
//! provider has no equivalent for is left out rather than sent to be rejected (an unknown field
//! is a 400 on every one of these APIs).

pub mod anthropic;
pub mod azure;
pub mod gemini;
pub mod openai;
pub mod responses;

use std::fmt;

use serde_json::{Map, Value};

use crate::detect::Provider;
use crate::error::ProviderError;
use crate::settings::ProviderSettings;
use crate::types::{CompletionRequest, CountryDelivery, Purpose};

/// The prompt of a [`Purpose::Probe`]: short, harmless, one token to answer.
pub const PROBE_PROMPT: &str = "ping";

/// A prepared HTTP request. `secret` is kept only so the sender can scrub it from anything the
/// provider echoes back; `Debug` never shows it or the header values.
pub struct HttpCall {
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Value,
    pub secret: Option<String>,
}

impl fmt::Debug for HttpCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| *n).collect();
        f.debug_struct("HttpCall")
            .field("url", &self.url)
            .field("headers", &names)
            .field("body", &self.body)
            .finish_non_exhaustive()
    }
}

/// The request body `req` is sent with (no I/O, no secrets).
pub fn request_body(req: &CompletionRequest) -> Result<Value, ProviderError> {
    Ok(match req.provider {
        _ if responses::applies(req) => responses::body(req),
        Provider::Openai | Provider::OpenaiCompatible => openai::body(req),
        Provider::AzureOpenai => azure::body(req),
        Provider::Google => gemini::body(req),
        Provider::Anthropic => anthropic::body(req),
        Provider::Unknown => {
            return Err(ProviderError::UnknownProvider {
                model_id: req.model_id.clone(),
            })
        }
    })
}

/// URL, headers and body for a live call; `NotConfigured` when credentials are missing.
pub fn prepare(req: &CompletionRequest, s: &ProviderSettings) -> Result<HttpCall, ProviderError> {
    let missing = || ProviderError::NotConfigured {
        provider: req.provider,
        hint: s.missing_credentials_hint(req.provider),
    };
    match req.provider {
        Provider::Openai => {
            let key = s.openai_api_key.as_deref().ok_or_else(missing)?;
            if responses::applies(req) {
                return Ok(responses::openai_call(req, &s.openai_base_url, key));
            }
            Ok(openai::call(req, &s.openai_base_url, Some(key)))
        }
        Provider::OpenaiCompatible => {
            let base = s
                .openai_compatible_base_url
                .as_deref()
                .ok_or_else(missing)?;
            Ok(openai::call(
                req,
                base,
                s.openai_compatible_api_key.as_deref(),
            ))
        }
        Provider::AzureOpenai => match (&s.azure_endpoint, &s.azure_api_key) {
            (Some(endpoint), Some(key)) if responses::applies(req) => {
                Ok(responses::azure_call(req, endpoint, key))
            }
            (Some(endpoint), Some(key)) => {
                Ok(azure::call(req, endpoint, &s.azure_api_version, key))
            }
            _ => Err(missing()),
        },
        Provider::Google => {
            let key = s.google_api_key.as_deref().ok_or_else(missing)?;
            Ok(gemini::call(req, &s.google_base_url, key))
        }
        Provider::Anthropic => {
            let key = s.anthropic_api_key.as_deref().ok_or_else(missing)?;
            Ok(anthropic::call(req, &s.anthropic_base_url, key))
        }
        Provider::Unknown => Err(ProviderError::UnknownProvider {
            model_id: req.model_id.clone(),
        }),
    }
}

/// How the run's country reaches the model: as the search tool's approximate user location
/// where the request searches with a tool that takes one (the Responses API's and Anthropic's
/// `web_search`), else not at all.
pub fn country_delivery(req: &CompletionRequest) -> CountryDelivery {
    let searches = req.use_grounding && req.purpose == Purpose::Run;
    match req.provider {
        _ if req.country.is_none() || !searches => CountryDelivery::None,
        // Anthropic's and the Responses API's `web_search`, and the Chat Completions search
        // models' `web_search_options`, all take an approximate user location.
        Provider::Anthropic | Provider::Openai | Provider::AzureOpenai => {
            CountryDelivery::SearchUserLocation
        }
        // Gemini's Google Search tool takes no location; compatible servers have no search.
        Provider::Google | Provider::OpenaiCompatible | Provider::Unknown => CountryDelivery::None,
    }
}

/// The search tool's `user_location` for `req`, if its country is delivered there.
pub(crate) fn user_location(req: &CompletionRequest) -> Option<Value> {
    match (country_delivery(req), &req.country) {
        (CountryDelivery::SearchUserLocation, Some(country)) => Some(serde_json::json!({
            "type": "approximate",
            "country": country.trim().to_ascii_uppercase(),
        })),
        _ => None,
    }
}

/// What the body builders need, with the probe rules applied once: a probe sends
/// [`PROBE_PROMPT`], no system text, no grounding and no parameters except a 1-token limit.
pub(crate) struct Shaped<'a> {
    pub prompt: &'a str,
    pub system: Option<&'a str>,
    pub params: Map<String, Value>,
    pub grounding: bool,
}

pub(crate) fn shape(req: &CompletionRequest) -> Shaped<'_> {
    match req.purpose {
        Purpose::Probe => {
            let mut params = Map::new();
            params.insert("max_tokens".into(), Value::from(1));
            Shaped {
                prompt: PROBE_PROMPT,
                system: None,
                params,
                grounding: false,
            }
        }
        Purpose::Run => {
            let mut params = req.inference_params.clone();
            // Accept the other providers' names for the output limit, once, here.
            for alias in [
                "max_completion_tokens",
                "max_output_tokens",
                "maxOutputTokens",
            ] {
                if let Some(v) = params.remove(alias) {
                    params.entry("max_tokens").or_insert(v);
                }
            }
            Shaped {
                prompt: &req.prompt,
                system: req
                    .system_instructions
                    .as_deref()
                    .filter(|s| !s.trim().is_empty()),
                params,
                grounding: req.use_grounding,
            }
        }
    }
}

/// `stop` as a list: OpenAI takes a string or a list, Gemini and Anthropic only a list.
pub(crate) fn stop_list(v: &Value) -> Value {
    match v {
        Value::String(_) => Value::Array(vec![v.clone()]),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests;
