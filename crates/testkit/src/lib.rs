//! Test support shared by every crate's tests: throw-away databases on both backends and the
//! storage conformance suite (one set of cases, run against SQLite and PostgreSQL).
//!
//! PostgreSQL: set `PROMPTER_TEST_PG_URL` to an admin URL (`postgres://postgres@127.0.0.1:5432/postgres`).
//! Each test gets its own database, created from that URL and dropped when the test ends. Without
//! the variable, PostgreSQL tests are compiled as *ignored* and `cargo test` lists them as such.

pub mod conformance;
mod databases;
pub mod metrics;

pub use databases::{fresh_postgres, fresh_sqlite, PgTestDb, SqliteTestDb, TestDb};

/// The reason shown next to every ignored PostgreSQL test.
pub const PG_SKIP_REASON: &str =
    "PostgreSQL not configured: set PROMPTER_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/postgres";
