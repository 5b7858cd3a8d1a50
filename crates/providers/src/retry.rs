//! When to retry and how long to wait (pure).
//!
//! The rules are those of the official OpenAI and Anthropic SDKs' `_base_client.py`
//! (providers.md §1 "Retries", §5 "Errors"): retry 408, 409, 429 and any status ≥ 500 (so
//! Anthropic's 529 "overloaded" too); `x-should-retry: true|false` overrides that rule; wait what
//! `retry-after-ms` says, else `retry-after` (seconds or an HTTP date), else exponential back-off
//! with jitter. Two additions: 400/401/403/404/422 are never retried even if a server says
//! `x-should-retry: true` (the same request cannot succeed), and an Anthropic 429 with
//! `error.details.error_code == "enforced_spend_limit_reached"` is never retried (§5: the spend
//! limit does not lift in seconds).

use std::time::{Duration, SystemTime};

use serde_json::Value;

/// Longest wait honoured from a `retry-after*` header; a server asking for more gets this.
pub const MAX_HEADER_WAIT: Duration = Duration::from_secs(30);
/// Longest computed back-off (the SDKs use 8 s).
pub const MAX_BACKOFF: Duration = Duration::from_secs(8);

/// Whether an HTTP error answer should be retried (budget permitting).
pub fn should_retry(status: u16, x_should_retry: Option<&str>, body: Option<&Value>) -> bool {
    if matches!(status, 400 | 401 | 403 | 404 | 422) || is_spend_limit(status, body) {
        return false;
    }
    match x_should_retry.map(str::trim) {
        Some("true") => return true,
        Some("false") => return false,
        _ => {}
    }
    matches!(status, 408 | 409 | 429) || status >= 500
}

fn is_spend_limit(status: u16, body: Option<&Value>) -> bool {
    status == 429
        && body
            .and_then(|b| b.pointer("/error/details/error_code"))
            .and_then(Value::as_str)
            == Some("enforced_spend_limit_reached")
}

/// The wait a server asked for: `retry-after-ms` first, then `retry-after` as seconds or as an
/// HTTP date (relative to `now`). Unparseable values are ignored; dates in the past mean 0.
pub fn header_delay(
    retry_after_ms: Option<&str>,
    retry_after: Option<&str>,
    now: SystemTime,
) -> Option<Duration> {
    let from_ms = retry_after_ms
        .and_then(|v| v.trim().parse::<f64>().ok())
        .and_then(|ms| non_negative_secs(ms / 1000.0));
    from_ms.or_else(|| {
        let v = retry_after?.trim();
        match v.parse::<f64>() {
            Ok(secs) => non_negative_secs(secs),
            Err(_) => {
                let at = httpdate::parse_http_date(v).ok()?;
                Some(at.duration_since(now).unwrap_or(Duration::ZERO))
            }
        }
    })
}

fn non_negative_secs(secs: f64) -> Option<Duration> {
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(1e6)))
}

/// Exponential back-off for retry number `retry` (1 for the first retry): `base · 2^(retry-1)`,
/// capped at [`MAX_BACKOFF`], then shortened by up to 25 % (`jitter` in 0..1) so clients that
/// failed together do not retry together.
pub fn backoff(retry: u32, base: Duration, jitter: f64) -> Duration {
    let exp = 2f64.powi(retry.saturating_sub(1).min(30) as i32);
    let raw = (base.as_secs_f64() * exp).min(MAX_BACKOFF.as_secs_f64());
    Duration::from_secs_f64(raw * (1.0 - 0.25 * jitter.clamp(0.0, 1.0)))
}

/// How long to wait before retry number `retry`: the server's wish (capped), else back-off.
pub fn retry_delay(retry: u32, base: Duration, from_header: Option<Duration>) -> Duration {
    match from_header {
        Some(d) => d.min(MAX_HEADER_WAIT),
        None => backoff(retry, base, random_unit()),
    }
}

/// A number in 0..1 that differs between calls. Jitter need not be good randomness; the std
/// hasher's per-instance random keys are enough and save a dependency.
fn random_unit() -> f64 {
    use std::collections::hash_map::RandomState;
    use std::hash::BuildHasher;
    (RandomState::new().hash_one(0u8) >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn status_rules() {
        for s in [408, 409, 429, 500, 502, 503, 529] {
            assert!(should_retry(s, None, None), "{s}");
        }
        for s in [400, 401, 402, 403, 404, 413, 422] {
            assert!(!should_retry(s, None, None), "{s}");
        }
    }

    #[test]
    fn x_should_retry_overrides_except_for_client_errors() {
        assert!(!should_retry(500, Some("false"), None));
        assert!(should_retry(418, Some("true"), None));
        assert!(!should_retry(401, Some("true"), None));
        assert!(should_retry(503, Some("maybe"), None));
    }

    #[test]
    fn spend_limit_is_final() {
        let body = json!({"type":"error","error":{"type":"rate_limit_error","message":"spend limit",
            "details":{"error_code":"enforced_spend_limit_reached"}}});
        assert!(!should_retry(429, None, Some(&body)));
        assert!(!should_retry(429, Some("true"), Some(&body)));
        let other = json!({"type":"error","error":{"type":"rate_limit_error","message":"slow"}});
        assert!(should_retry(429, None, Some(&other)));
    }

    #[test]
    fn header_parsing() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(
            header_delay(Some("50"), Some("9"), now),
            Some(Duration::from_millis(50))
        );
        assert_eq!(
            header_delay(Some("x"), Some("2"), now),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            header_delay(None, Some("0.5"), now),
            Some(Duration::from_millis(500))
        );
        let later = httpdate::fmt_http_date(now + Duration::from_secs(3));
        assert_eq!(
            header_delay(None, Some(&later), now),
            Some(Duration::from_secs(3))
        );
        let past = httpdate::fmt_http_date(now - Duration::from_secs(3));
        assert_eq!(header_delay(None, Some(&past), now), Some(Duration::ZERO));
        assert_eq!(header_delay(None, Some("soon"), now), None);
        assert_eq!(header_delay(Some("-5"), None, now), None);
        assert_eq!(header_delay(None, None, now), None);
    }

    #[test]
    fn delays() {
        let base = Duration::from_millis(500);
        assert_eq!(backoff(1, base, 0.0), base);
        assert_eq!(backoff(3, base, 0.0), Duration::from_secs(2));
        assert_eq!(backoff(2, base, 1.0), Duration::from_millis(750));
        assert_eq!(backoff(20, base, 0.0), MAX_BACKOFF);
        assert_eq!(
            retry_delay(1, base, Some(Duration::from_secs(600))),
            MAX_HEADER_WAIT
        );
        assert_eq!(
            retry_delay(1, base, Some(Duration::from_millis(50))),
            Duration::from_millis(50)
        );
        let d = retry_delay(1, base, None);
        assert!(d <= base && d >= base * 3 / 4, "{d:?}");
        assert!((0.0..1.0).contains(&random_unit()));
    }
}
