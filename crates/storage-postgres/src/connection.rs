//! Opening the pool: eagerly (`connect`) or on first use (`connect_lazy`).

use std::str::FromStr;
use std::time::Duration;

use prompter_storage::{Result, StorageError};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use crate::PostgresDatabase;

impl PostgresDatabase {
    /// Connects to `url` (`postgres://user@host:5432/db`). Does not migrate.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options(url)?)
            .await?;
        Ok(Self { pool })
    }

    /// A handle that connects on first use: the service can start (and report itself unhealthy)
    /// while the database is down.
    pub fn connect_lazy(url: &str, max_connections: u32) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(2))
            .connect_lazy_with(options(url)?);
        Ok(Self { pool })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

fn options(url: &str) -> Result<PgConnectOptions> {
    PgConnectOptions::from_str(url)
        .map_err(|e| StorageError::internal_with("invalid PostgreSQL URL", e))
}
