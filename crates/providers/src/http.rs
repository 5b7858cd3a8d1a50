//! Sends a prepared [`HttpCall`] with per-attempt timeouts and the retry policy of
//! [`crate::retry`]. The only module besides the gateway that does I/O.

use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::Value;

use crate::adapters::HttpCall;
use crate::detect::Provider;
use crate::error::{scrub, scrub_json, ProviderError};
use crate::parse::provider_error_message;
use crate::retry::{header_delay, retry_delay, should_retry};
use crate::settings::ProviderSettings;

/// A 2xx answer with a JSON body.
#[derive(Debug)]
pub(crate) struct Sent {
    pub status: u16,
    pub body: Value,
    pub attempts: u32,
}

/// Headers whose value is (or contains) a credential.
const SECRET_HEADERS: [&str; 3] = ["authorization", "api-key", "x-goog-api-key"];

pub(crate) async fn send(
    client: &reqwest::Client,
    provider: Provider,
    call: &HttpCall,
    s: &ProviderSettings,
    max_retries: u32,
) -> Result<Sent, ProviderError> {
    let secret = call.secret.as_deref();
    let headers = header_map(provider, call)?;
    let body = serde_json::to_vec(&call.body).expect("a JSON value always serialises");
    let timeout_ms = u64::try_from(s.timeout.as_millis()).unwrap_or(u64::MAX);
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let retries_left = attempt <= max_retries;
        let result = client
            .post(&call.url)
            .headers(headers.clone())
            .timeout(s.timeout)
            .body(body.clone())
            .send()
            .await;
        // Reading the body is part of the attempt: a stalled body is a timeout too.
        let answer = match result {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let resp_headers = resp.headers().clone();
                resp.bytes().await.map(|b| (status, resp_headers, b))
            }
            Err(e) => Err(e),
        };
        let (status, resp_headers, bytes) = match answer {
            Ok(a) => a,
            Err(e) => {
                let err = if e.is_timeout() {
                    ProviderError::Timeout {
                        timeout_ms,
                        attempts: attempt,
                    }
                } else {
                    ProviderError::Transport {
                        message: scrub(&error_chain(&e), secret),
                        attempts: attempt,
                    }
                };
                if !retries_left {
                    return Err(err);
                }
                let delay = retry_delay(attempt, s.retry_base_delay, None);
                tracing::warn!(%provider, attempt, ?delay, error = %err, "provider call failed; retrying");
                tokio::time::sleep(delay).await;
                continue;
            }
        };

        let json = serde_json::from_slice::<Value>(&bytes).ok();
        if (200..300).contains(&status) {
            return match json {
                Some(body) => Ok(Sent {
                    status,
                    body,
                    attempts: attempt,
                }),
                None => Err(ProviderError::MalformedResponse {
                    message: format!("HTTP {status} body is not JSON"),
                    body: Some(Value::String(scrub(&snippet(&bytes, 2000), secret))),
                    http_status: status,
                    attempts: attempt,
                }),
            };
        }

        let header = |name: &str| resp_headers.get(name).and_then(|v| v.to_str().ok());
        let retryable = should_retry(status, header("x-should-retry"), json.as_ref());
        let wanted = header_delay(
            header("retry-after-ms"),
            header("retry-after"),
            SystemTime::now(),
        );
        if retryable && retries_left {
            let delay = retry_delay(attempt, s.retry_base_delay, wanted);
            tracing::warn!(%provider, status, attempt, ?delay, "provider answered an error; retrying");
            tokio::time::sleep(delay).await;
            continue;
        }
        let message = json
            .as_ref()
            .and_then(provider_error_message)
            .unwrap_or_else(|| fallback_message(status, &bytes));
        return Err(ProviderError::Http {
            status,
            message: scrub(&message, secret),
            body: json.map(|b| scrub_json(b, secret)),
            attempts: attempt,
            retryable,
            retry_after_ms: wanted.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        });
    }
}

fn header_map(provider: Provider, call: &HttpCall) -> Result<HeaderMap, ProviderError> {
    let mut map = HeaderMap::new();
    for (name, value) in &call.headers {
        let mut v = HeaderValue::from_str(value).map_err(|_| ProviderError::NotConfigured {
            provider,
            // Never quote the value: it is usually the key.
            hint: format!("the value for header {name} (from the configured credentials) is not a valid HTTP header value"),
        })?;
        // Sensitive values are left out of reqwest's and hyper's Debug output.
        v.set_sensitive(SECRET_HEADERS.contains(name));
        map.insert(*name, v);
    }
    Ok(map)
}

/// The error and its causes on one line ("error sending request: connection refused"). The
/// URL is dropped: it names only the host and path, but logs need not repeat it either.
fn error_chain(e: &reqwest::Error) -> String {
    let mut parts = vec![];
    let mut source: Option<&dyn std::error::Error> = Some(e);
    while let Some(err) = source {
        let text = match err.downcast_ref::<reqwest::Error>() {
            Some(re) => strip_url(re),
            None => err.to_string(),
        };
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        source = err.source();
    }
    parts.join(": ")
}

fn strip_url(e: &reqwest::Error) -> String {
    let text = e.to_string();
    match e.url() {
        Some(url) => text.replace(&format!(" for url ({url})"), ""),
        None => text,
    }
}

fn fallback_message(status: u16, bytes: &[u8]) -> String {
    let text = snippet(bytes, 300);
    if text.trim().is_empty() {
        reqwest::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("no error message")
            .to_string()
    } else {
        text.trim().to_string()
    }
}

fn snippet(bytes: &[u8], max_chars: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.into_owned(),
    }
}

/// Wall-clock milliseconds, saturating.
pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
