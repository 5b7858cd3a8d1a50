//! Provider lanes: how fast batch tasks may call one provider (or one model of it).
//!
//! A lane has a concurrency limit, a requests-per-minute pace and a tokens-per-minute budget
//! (where the provider reports usage). It reacts to what the provider says: a 429 (or a 503)
//! with `Retry-After` pauses the whole lane until then — not only the task that got it — and a
//! 429 without it pauses the lane with exponential back-off; repeated 5xx, timeouts or transport
//! errors open a circuit breaker that pauses the lane instead of failing every queued task in a
//! second. Limits hold per process: with several workers, divide the provider's quota between
//! them (docs/operations.md).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prompter_providers::{Completion, ProviderError};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::telemetry;

/// The limits of one lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LaneLimits {
    /// Calls in flight at once.
    pub concurrency: usize,
    /// Calls started per minute, evenly paced; 0: unlimited.
    pub requests_per_minute: u32,
    /// Prompt + completion tokens per rolling minute; 0: unlimited.
    pub tokens_per_minute: u64,
}

/// Lane limits: defaults, and overrides per provider or per `provider/model`.
#[derive(Debug, Clone, PartialEq)]
pub struct LaneSettings {
    pub default: LaneLimits,
    /// Keyed `openai` or `openai/gpt-4o` (the model key wins).
    pub overrides: HashMap<String, LaneLimits>,
    /// Consecutive server errors, timeouts or transport errors that pause a lane.
    pub breaker_failures: u32,
    /// How long the breaker pauses the lane.
    pub breaker_pause: Duration,
}

impl Default for LaneSettings {
    fn default() -> Self {
        Self {
            default: LaneLimits {
                concurrency: 16,
                requests_per_minute: 500,
                tokens_per_minute: 0,
            },
            overrides: HashMap::new(),
            breaker_failures: 5,
            breaker_pause: Duration::from_secs(30),
        }
    }
}

impl LaneSettings {
    /// Parses `PROMPTER_LANE_LIMITS`: comma-separated `key=concurrency/rpm[/tpm]`, key a provider
    /// or `provider/model` (`openai=8/500/200000,anthropic/claude-sonnet-4=4/50`).
    pub fn parse_overrides(&mut self, spec: &str) -> Result<(), String> {
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (key, limits) = item.split_once('=').ok_or_else(|| {
                format!("{item:?}: expected provider[/model]=concurrency/rpm[/tpm]")
            })?;
            let parts: Vec<&str> = limits.split('/').map(str::trim).collect();
            if !(2..=3).contains(&parts.len()) {
                return Err(format!("{item:?}: expected concurrency/rpm[/tpm]"));
            }
            let number = |s: &str| {
                s.parse::<u64>()
                    .map_err(|_| format!("{item:?}: {s:?} is not a number"))
            };
            let concurrency = number(parts[0])?;
            if concurrency == 0 {
                return Err(format!("{item:?}: concurrency must be at least 1"));
            }
            let limits = LaneLimits {
                concurrency: concurrency as usize,
                requests_per_minute: u32::try_from(number(parts[1])?)
                    .map_err(|_| format!("{item:?}: rpm too large"))?,
                tokens_per_minute: parts.get(2).map(|s| number(s)).transpose()?.unwrap_or(0),
            };
            self.overrides
                .insert(key.trim().to_ascii_lowercase(), limits);
        }
        Ok(())
    }

    fn limits_for(&self, provider: &str, model: &str) -> (String, LaneLimits) {
        let model_key = format!("{provider}/{}", model.to_ascii_lowercase());
        if let Some(l) = self.overrides.get(&model_key) {
            return (model_key, *l);
        }
        let limits = self
            .overrides
            .get(provider)
            .copied()
            .unwrap_or(self.default);
        (provider.to_owned(), limits)
    }
}

/// The lanes of this process, created on first use.
pub(crate) struct Lanes {
    settings: LaneSettings,
    lanes: Mutex<HashMap<String, Arc<Lane>>>,
}

impl Lanes {
    pub fn new(settings: LaneSettings) -> Self {
        Self {
            settings,
            lanes: Mutex::default(),
        }
    }

    pub fn lane(&self, provider: &str, model: &str) -> Arc<Lane> {
        let (key, limits) = self.settings.limits_for(provider, model);
        let mut lanes = self.lanes.lock().expect("lanes");
        lanes
            .entry(key)
            .or_insert_with(|| {
                Arc::new(Lane::new(
                    provider.to_owned(),
                    limits,
                    self.settings.breaker_failures,
                    self.settings.breaker_pause,
                ))
            })
            .clone()
    }
}

pub(crate) struct Lane {
    provider: String,
    limits: LaneLimits,
    slots: Arc<Semaphore>,
    breaker_failures: u32,
    breaker_pause: Duration,
    state: Mutex<LaneState>,
}

#[derive(Default)]
struct LaneState {
    /// Earliest start of the next call (requests-per-minute pacing).
    next_start: Option<Instant>,
    /// No call starts before this (Retry-After, back-off, open breaker).
    paused_until: Option<Instant>,
    consecutive_failures: u32,
    consecutive_throttles: u32,
    /// Tokens used in the last minute, by when.
    tokens: VecDeque<(Instant, u64)>,
}

/// Longest pause a `Retry-After` may impose on a lane.
const MAX_PAUSE: Duration = Duration::from_secs(600);

impl Lane {
    fn new(
        provider: String,
        limits: LaneLimits,
        breaker_failures: u32,
        breaker_pause: Duration,
    ) -> Self {
        Self {
            provider,
            limits,
            slots: Arc::new(Semaphore::new(limits.concurrency.max(1))),
            breaker_failures: breaker_failures.max(1),
            breaker_pause,
            state: Mutex::default(),
        }
    }

    /// Waits for a slot, then until the lane lets a call start (pause, pace, token budget).
    pub async fn acquire(&self) -> OwnedSemaphorePermit {
        let permit = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .expect("lane semaphores are never closed");
        while let Some(wait) = self.wait_before_start(Instant::now()) {
            tokio::time::sleep(wait).await;
        }
        permit
    }

    /// `None`: start now (and the pace slot is taken); else how long to wait before asking again.
    fn wait_before_start(&self, now: Instant) -> Option<Duration> {
        let mut st = self.state.lock().expect("lane");
        if let Some(until) = st.paused_until {
            if until > now {
                return Some(until - now);
            }
            st.paused_until = None;
        }
        if self.limits.tokens_per_minute > 0 {
            while st
                .tokens
                .front()
                .is_some_and(|(at, _)| now.duration_since(*at) >= Duration::from_secs(60))
            {
                st.tokens.pop_front();
            }
            let used: u64 = st.tokens.iter().map(|(_, n)| n).sum();
            if used >= self.limits.tokens_per_minute {
                let oldest = st.tokens.front().map(|(at, _)| *at).unwrap_or(now);
                return Some((oldest + Duration::from_secs(60)).saturating_duration_since(now));
            }
        }
        if self.limits.requests_per_minute > 0 {
            let gap = Duration::from_secs(60) / self.limits.requests_per_minute;
            let start = st.next_start.map_or(now, |n| n.max(now));
            if start > now {
                return Some(start - now);
            }
            st.next_start = Some(start + gap);
        }
        None
    }

    /// What the provider answered changes the lane: a pause on 429 / Retry-After, the breaker
    /// on repeated failures, the token budget on usage.
    pub fn observe(&self, answer: &Result<Completion, ProviderError>) {
        let now = Instant::now();
        let mut st = self.state.lock().expect("lane");
        let pause_until = |st: &mut LaneState, d: Duration| {
            let until = now + d.min(MAX_PAUSE);
            st.paused_until = Some(st.paused_until.map_or(until, |p| p.max(until)));
        };
        match answer {
            Ok(c) => {
                st.consecutive_failures = 0;
                st.consecutive_throttles = 0;
                if let Some(u) = &c.usage {
                    let n = u.input_tokens.unwrap_or(0) + u.output_tokens.unwrap_or(0);
                    if n > 0 {
                        st.tokens.push_back((now, n));
                    }
                }
            }
            Err(ProviderError::Http {
                status,
                retry_after_ms,
                ..
            }) if *status == 429 || (*status == 503 && retry_after_ms.is_some()) => {
                metrics::counter!(telemetry::LANE_THROTTLED, "provider" => self.provider.clone())
                    .increment(1);
                st.consecutive_throttles += 1;
                let wait = match retry_after_ms {
                    Some(ms) => Duration::from_millis(*ms),
                    None => Duration::from_secs(1) * 2u32.pow(st.consecutive_throttles.min(6) - 1),
                };
                pause_until(&mut st, wait);
            }
            Err(ProviderError::Http { status, .. }) if *status >= 500 => {
                self.count_failure(&mut st, now)
            }
            Err(ProviderError::Timeout { .. } | ProviderError::Transport { .. }) => {
                self.count_failure(&mut st, now)
            }
            Err(_) => {}
        }
    }

    fn count_failure(&self, st: &mut LaneState, now: Instant) {
        st.consecutive_failures += 1;
        if st.consecutive_failures >= self.breaker_failures {
            metrics::counter!(telemetry::LANE_PAUSES, "provider" => self.provider.clone())
                .increment(1);
            tracing::warn!(provider = %self.provider, failures = st.consecutive_failures,
                pause_s = self.breaker_pause.as_secs(), "provider lane paused (circuit breaker)");
            st.paused_until = Some(now + self.breaker_pause);
            // Half-open: the next failure after the pause opens the breaker again at once.
            st.consecutive_failures = self.breaker_failures - 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(status: u16, retry_after_ms: Option<u64>) -> Result<Completion, ProviderError> {
        Err(ProviderError::Http {
            status,
            message: "x".into(),
            body: None,
            attempts: 1,
            retryable: true,
            retry_after_ms,
        })
    }

    fn lane(rpm: u32, tpm: u64) -> Lane {
        Lane::new(
            "openai".into(),
            LaneLimits {
                concurrency: 2,
                requests_per_minute: rpm,
                tokens_per_minute: tpm,
            },
            3,
            Duration::from_secs(30),
        )
    }

    #[test]
    fn overrides_parse_and_the_model_key_wins() {
        let mut s = LaneSettings::default();
        s.parse_overrides("openai=8/500/200000, anthropic/Claude-X=2/50")
            .unwrap();
        assert_eq!(
            s.limits_for("openai", "gpt-4o"),
            (
                "openai".into(),
                LaneLimits {
                    concurrency: 8,
                    requests_per_minute: 500,
                    tokens_per_minute: 200_000
                }
            )
        );
        assert_eq!(s.limits_for("anthropic", "claude-x").1.concurrency, 2);
        assert_eq!(s.limits_for("anthropic", "claude-y").1, s.default);
        for bad in [
            "openai",
            "openai=1",
            "openai=0/5",
            "openai=a/5",
            "x=1/2/3/4",
        ] {
            assert!(
                LaneSettings::default().parse_overrides(bad).is_err(),
                "{bad}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn requests_are_paced_per_minute() {
        let l = lane(120, 0);
        let t0 = Instant::now();
        assert_eq!(l.wait_before_start(t0), None);
        assert_eq!(l.wait_before_start(t0), Some(Duration::from_millis(500)));
        assert_eq!(l.wait_before_start(t0 + Duration::from_millis(500)), None);
    }

    fn answered(tokens: (u64, u64)) -> Result<Completion, ProviderError> {
        Ok(Completion {
            provider: prompter_providers::Provider::Openai,
            requested_model: "gpt-4o".into(),
            response_model: None,
            system_fingerprint: None,
            provider_response_id: None,
            provider_version_key: "fp".into(),
            content: "ok".into(),
            used_grounding: false,
            usage: Some(prompter_providers::Usage {
                input_tokens: Some(tokens.0),
                output_tokens: Some(tokens.1),
                total_tokens: Some(tokens.0 + tokens.1),
                reasoning_tokens: None,
            }),
            finish_reason: None,
            truncated: false,
            reasoning: None,
            citations: Vec::new(),
            country_delivery: None,
            request_body: serde_json::Value::Null,
            response_body: serde_json::Value::Null,
            http_status: 200,
            latency_ms: 0,
            attempts: 1,
            is_fake: false,
        })
    }

    #[tokio::test(start_paused = true)]
    async fn tokens_per_minute_hold_starts_until_the_oldest_usage_is_a_minute_old() {
        let l = lane(0, 1_000);
        let t0 = Instant::now();
        assert_eq!(l.wait_before_start(t0), None);
        // 600 of 1,000 tokens used: starts go on.
        l.observe(&answered((400, 200)));
        assert_eq!(l.wait_before_start(Instant::now()), None);
        tokio::time::advance(Duration::from_secs(20)).await;
        // 1,100 used within the minute: the next start waits until the first usage is a minute
        // old (40 s from now), then only the second one counts.
        l.observe(&answered((300, 200)));
        let now = Instant::now();
        assert_eq!(l.wait_before_start(now), Some(Duration::from_secs(40)));
        assert_eq!(
            l.wait_before_start(now + Duration::from_secs(39)),
            Some(Duration::from_secs(1))
        );
        assert_eq!(l.wait_before_start(now + Duration::from_secs(40)), None);
        // Answers without usage do not count.
        let l = lane(0, 10);
        let mut no_usage = answered((0, 0));
        if let Ok(c) = &mut no_usage {
            c.usage = None;
        }
        l.observe(&no_usage);
        assert_eq!(l.wait_before_start(Instant::now()), None);
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_pauses_the_whole_lane() {
        let l = lane(0, 0);
        let t0 = Instant::now();
        l.observe(&http(429, Some(2_000)));
        assert_eq!(l.wait_before_start(t0), Some(Duration::from_secs(2)));
        // A shorter Retry-After later does not shorten the pause.
        l.observe(&http(429, Some(100)));
        assert_eq!(l.wait_before_start(t0), Some(Duration::from_secs(2)));
        assert_eq!(l.wait_before_start(t0 + Duration::from_secs(2)), None);
        // Without Retry-After: exponential back-off (the third throttle in a row: 4 s).
        l.observe(&http(429, None));
        let now = Instant::now();
        assert_eq!(l.wait_before_start(now), Some(Duration::from_secs(4)));
    }

    #[tokio::test(start_paused = true)]
    async fn repeated_failures_open_the_breaker() {
        let l = lane(0, 0);
        l.observe(&http(500, None));
        l.observe(&http(502, None));
        assert_eq!(l.wait_before_start(Instant::now()), None);
        l.observe(&Err(ProviderError::Timeout {
            timeout_ms: 1,
            attempts: 1,
        }));
        assert_eq!(
            l.wait_before_start(Instant::now()),
            Some(Duration::from_secs(30))
        );
        // A 4xx is the request's fault, not the lane's.
        let l = lane(0, 0);
        for _ in 0..5 {
            l.observe(&http(400, None));
        }
        assert_eq!(l.wait_before_start(Instant::now()), None);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrency_is_bounded() {
        let l = lane(0, 0);
        let a = l.acquire().await;
        let _b = l.acquire().await;
        assert_eq!(l.slots.available_permits(), 0);
        drop(a);
        let _c = l.acquire().await;
    }
}
