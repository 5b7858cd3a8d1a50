//! Requests per minute per API token. One limiter serves the API and the web UI, so a token has
//! one budget however it is used.

/// Requests per minute per token, smoothed (a token bucket with a burst of the full minute).
pub struct RateLimiter {
    inner: governor::DefaultKeyedRateLimiter<uuid::Uuid>,
}

impl RateLimiter {
    pub fn per_minute(limit: std::num::NonZeroU32) -> Self {
        Self {
            inner: governor::RateLimiter::keyed(governor::Quota::per_minute(limit)),
        }
    }

    /// `Err(seconds to wait)` when the token is over its limit.
    pub fn check(&self, token: uuid::Uuid) -> Result<(), u64> {
        use governor::clock::{Clock, DefaultClock};
        self.inner.check_key(&token).map_err(|not_until| {
            not_until
                .wait_time_from(DefaultClock::default().now())
                .as_secs()
                .max(1)
        })
    }
}
