//! Liveness and readiness: what the load balancer and the operator ask.

use crate::Services;

/// Whether the database answers, and which backend it is.
#[derive(Debug, Clone)]
pub struct DatabaseHealth {
    pub backend: &'static str,
    pub reachable: bool,
}

/// Ready to take traffic: the database answers and every migration this binary knows is applied.
/// Redis is reported, not required: without it the probe cache is bypassed.
#[derive(Debug, Clone)]
pub struct Readiness {
    pub database: DatabaseHealth,
    /// `None`: the migration state could not be read.
    pub pending_migrations: Option<Vec<i64>>,
    /// `None`: no Redis configured; else whether it answered last.
    pub redis_ok: Option<bool>,
}

impl Readiness {
    pub fn ready(&self) -> bool {
        self.database.reachable && self.pending_migrations.as_ref().is_some_and(Vec::is_empty)
    }
}

impl Services {
    pub async fn database_health(&self) -> DatabaseHealth {
        let reachable = match self.db.ping().await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, "health check: database unreachable");
                false
            }
        };
        DatabaseHealth {
            backend: self.db.backend().as_str(),
            reachable,
        }
    }

    pub async fn readiness(&self) -> Readiness {
        let database = self.database_health().await;
        let pending_migrations = self
            .db
            .migration_status()
            .await
            .ok()
            .map(|m| m.iter().filter(|m| !m.applied).map(|m| m.version).collect());
        let cache = &self.probe_cache;
        Readiness {
            database,
            pending_migrations,
            redis_ok: (cache.kind() == "redis").then(|| cache.healthy()),
        }
    }
}
