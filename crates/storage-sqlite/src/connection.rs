//! Opening the database: the pragmas, the single-connection writer pool and the read pool.

use std::str::FromStr;
use std::time::Duration;

use prompter_storage::{Result, StorageError};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::write_queue::WriteQueue;
use crate::SqliteDatabase;

impl SqliteDatabase {
    /// Opens (creating if missing) the database at `url` (`sqlite://prompter.db`,
    /// `sqlite:relative.db`, `sqlite:///abs/path.db`). Does not migrate.
    pub async fn connect(url: &str, max_readers: u32) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StorageError::internal_with("invalid SQLite URL", e))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            // An in-memory database lives and dies with its one connection.
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options.clone())
            .await?;
        let reader = if in_memory {
            writer.clone()
        } else {
            SqlitePoolOptions::new()
                .max_connections(max_readers.max(1))
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(options.read_only(true))
                .await?
        };
        let writes = WriteQueue::start(writer.clone());
        Ok(Self {
            writer,
            reader,
            writes,
        })
    }
}
