//! The embedded migrations (`migrations/*.up.sql`, `*.down.sql`), applied on the writer.

use prompter_storage::migrations::sql;
use prompter_storage::{MigrationState, Result};
use sqlx::migrate::Migrator;
use sqlx::sqlite::SqlitePool;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

pub(crate) async fn up(writer: &SqlitePool) -> Result<Vec<i64>> {
    sql::migrate_up(&MIGRATOR, writer).await
}

pub(crate) async fn down(writer: &SqlitePool, steps: usize) -> Result<Vec<i64>> {
    sql::migrate_down(&MIGRATOR, writer, steps).await
}

pub(crate) async fn status(writer: &SqlitePool) -> Result<Vec<MigrationState>> {
    sql::migration_status(&MIGRATOR, writer).await
}
