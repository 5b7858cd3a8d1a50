//! The probe cache: at most one provider probe per template, provider and model per hour.
//!
//! Redis when configured (shared by every replica), in process otherwise. The cache is an
//! optimisation, never a dependency: when Redis is unreachable the service probes anyway, logs it
//! and counts it ([`ProbeCache::failures`]), and retries the connection at most every few seconds.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use redis::aio::MultiplexedConnection;

/// How long a cached probe is reused: the seed's hour bucket.
pub const PROBE_TTL: Duration = Duration::from_secs(3600);

/// The seed's key: `probe:{org}:{workspace}:{template}:{provider}:{model}:{YYYYMMDDHH}`. A probe
/// sent to another API than the provider's default (`api`: `responses` for a grounded OpenAI or
/// Azure template, whose version key is the resolved model, not the fingerprint) is cached apart:
/// `…:{model}:{api}:{YYYYMMDDHH}`.
pub fn probe_key(
    org: &str,
    workspace: &str,
    template: &str,
    provider: &str,
    model: &str,
    api: Option<&str>,
    now: chrono::DateTime<chrono::Utc>,
) -> String {
    let api = api.map(|a| format!(":{a}")).unwrap_or_default();
    format!(
        "probe:{org}:{workspace}:{template}:{provider}:{model}{api}:{}",
        now.format("%Y%m%d%H")
    )
}

#[async_trait]
pub trait ProbeCache: Send + Sync + 'static {
    /// `"redis"` or `"memory"`.
    fn kind(&self) -> &'static str;
    async fn get(&self, key: &str) -> Option<String>;
    async fn put(&self, key: &str, value: &str, ttl: Duration);
    /// Cache operations that failed (Redis unreachable, timed out).
    fn failures(&self) -> u64 {
        0
    }
    /// Whether the backing store answered its last operation (always true in process).
    fn healthy(&self) -> bool {
        true
    }
}

/// In-process cache, bounded: expired entries are swept when it grows past `capacity`, and if
/// everything is fresh the oldest half is dropped.
pub struct InProcessProbeCache {
    entries: Mutex<HashMap<String, (String, Instant)>>,
    capacity: usize,
}

impl InProcessProbeCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }
}

impl Default for InProcessProbeCache {
    fn default() -> Self {
        Self::new(10_000)
    }
}

#[async_trait]
impl ProbeCache for InProcessProbeCache {
    fn kind(&self) -> &'static str {
        "memory"
    }

    async fn get(&self, key: &str) -> Option<String> {
        let entries = self.entries.lock().expect("cache lock");
        entries
            .get(key)
            .filter(|(_, expires)| *expires > Instant::now())
            .map(|(v, _)| v.clone())
    }

    async fn put(&self, key: &str, value: &str, ttl: Duration) {
        let mut entries = self.entries.lock().expect("cache lock");
        if entries.len() >= self.capacity {
            let now = Instant::now();
            entries.retain(|_, (_, expires)| *expires > now);
            if entries.len() >= self.capacity {
                let mut by_expiry: Vec<_> =
                    entries.iter().map(|(k, (_, e))| (*e, k.clone())).collect();
                by_expiry.sort();
                for (_, k) in by_expiry.into_iter().take(self.capacity / 2 + 1) {
                    entries.remove(&k);
                }
            }
        }
        entries.insert(key.to_owned(), (value.to_owned(), Instant::now() + ttl));
    }
}

/// Redis-backed cache with short timeouts, reconnecting lazily.
pub struct RedisProbeCache {
    client: redis::Client,
    connection: tokio::sync::Mutex<Option<MultiplexedConnection>>,
    /// When the last connection attempt failed: no new attempt before `RECONNECT_AFTER`.
    last_failure: Mutex<Option<Instant>>,
    failures: AtomicU64,
    healthy: std::sync::atomic::AtomicBool,
}

const REDIS_TIMEOUT: Duration = Duration::from_millis(250);
const RECONNECT_AFTER: Duration = Duration::from_secs(2);

impl RedisProbeCache {
    /// Parses the URL only; connecting happens on first use, so a Redis that is down at start
    /// does not stop the service.
    pub fn new(url: &str) -> Result<Self, String> {
        let client = redis::Client::open(url).map_err(|e| format!("invalid Redis URL: {e}"))?;
        Ok(Self {
            client,
            connection: tokio::sync::Mutex::new(None),
            last_failure: Mutex::new(None),
            failures: AtomicU64::new(0),
            healthy: std::sync::atomic::AtomicBool::new(true),
        })
    }

    fn failed(&self, what: &str, e: &dyn std::fmt::Display) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        self.healthy.store(false, Ordering::Relaxed);
        metrics::counter!(crate::telemetry::REDIS_ERRORS).increment(1);
        metrics::gauge!(crate::telemetry::REDIS_UP).set(0.0);
        *self.last_failure.lock().expect("lock") = Some(Instant::now());
        tracing::warn!(error = %e, operation = what, "redis unavailable; continuing without the probe cache");
    }

    async fn connection(&self) -> Option<MultiplexedConnection> {
        let mut guard = self.connection.lock().await;
        if let Some(c) = guard.as_ref() {
            return Some(c.clone());
        }
        if let Some(at) = *self.last_failure.lock().expect("lock") {
            if at.elapsed() < RECONNECT_AFTER {
                self.failures.fetch_add(1, Ordering::Relaxed);
                return None;
            }
        }
        match self
            .client
            .get_multiplexed_async_connection_with_config(
                &redis::AsyncConnectionConfig::new()
                    .set_connection_timeout(REDIS_TIMEOUT)
                    .set_response_timeout(REDIS_TIMEOUT),
            )
            .await
        {
            Ok(c) => {
                *guard = Some(c.clone());
                Some(c)
            }
            Err(e) => {
                self.failed("connect", &e);
                None
            }
        }
    }

    fn answered(&self) {
        self.healthy.store(true, Ordering::Relaxed);
        metrics::gauge!(crate::telemetry::REDIS_UP).set(1.0);
    }

    async fn reset(&self) {
        *self.connection.lock().await = None;
    }
}

#[async_trait]
impl ProbeCache for RedisProbeCache {
    fn kind(&self) -> &'static str {
        "redis"
    }

    async fn get(&self, key: &str) -> Option<String> {
        let mut conn = self.connection().await?;
        let reply: redis::RedisResult<Option<String>> =
            redis::cmd("GET").arg(key).query_async(&mut conn).await;
        match reply {
            Ok(v) => {
                self.answered();
                v
            }
            Err(e) => {
                self.failed("get", &e);
                self.reset().await;
                None
            }
        }
    }

    async fn put(&self, key: &str, value: &str, ttl: Duration) {
        let Some(mut conn) = self.connection().await else {
            return;
        };
        let reply: redis::RedisResult<()> = redis::cmd("SET")
            .arg(key)
            .arg(value)
            .arg("EX")
            .arg(ttl.as_secs().max(1))
            .query_async(&mut conn)
            .await;
        match reply {
            Ok(()) => self.answered(),
            Err(e) => {
                self.failed("set", &e);
                self.reset().await;
            }
        }
    }

    fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    fn healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_has_the_seed_shape() {
        let t = chrono::DateTime::parse_from_rfc3339("2025-08-14T14:13:29Z")
            .unwrap()
            .to_utc();
        assert_eq!(
            probe_key("default", "ws", "tpl", "openai", "gpt-4o", None, t),
            "probe:default:ws:tpl:openai:gpt-4o:2025081414"
        );
    }

    #[tokio::test]
    async fn in_process_cache_expires_and_stays_bounded() {
        let cache = InProcessProbeCache::new(4);
        cache.put("a", "1", Duration::from_secs(60)).await;
        assert_eq!(cache.get("a").await.as_deref(), Some("1"));
        cache.put("gone", "x", Duration::from_millis(0)).await;
        assert_eq!(cache.get("gone").await, None);
        for i in 0..100 {
            cache
                .put(&format!("k{i}"), "v", Duration::from_secs(60))
                .await;
        }
        assert!(cache.entries.lock().unwrap().len() <= 4);
        assert_eq!(cache.get("k99").await.as_deref(), Some("v"));
    }
}
