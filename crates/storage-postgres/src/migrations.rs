//! The embedded migrations (`migrations/*.up.sql`, `*.down.sql`).

use prompter_storage::migrations::sql;
use prompter_storage::{MigrationState, Result};
use sqlx::migrate::Migrator;
use sqlx::postgres::PgPool;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

pub(crate) async fn up(pool: &PgPool) -> Result<Vec<i64>> {
    let applied = sql::migrate_up(&MIGRATOR, pool).await?;
    warn_without_autovacuum(pool).await;
    Ok(applied)
}

pub(crate) async fn down(pool: &PgPool, steps: usize) -> Result<Vec<i64>> {
    sql::migrate_down(&MIGRATOR, pool, steps).await
}

pub(crate) async fn status(pool: &PgPool) -> Result<Vec<MigrationState>> {
    sql::migration_status(&MIGRATOR, pool).await
}

/// Duplicate lookups rely on table statistics: without them (a table never analysed) the planner
/// serves `find_active_duplicate` from the brand's listing index and filters every template of
/// the brand (measured: 8 ms instead of 0.02 ms at 9,420 templates; BENCHMARKS.md). PostgreSQL's
/// autovacuum keeps statistics current; say so loudly when it is off.
async fn warn_without_autovacuum(pool: &PgPool) {
    match sqlx::query_scalar::<_, String>("SELECT current_setting('autovacuum')")
        .fetch_one(pool)
        .await
    {
        Ok(setting) if setting == "off" => tracing::warn!(
            "PostgreSQL runs with autovacuum = off: table statistics go stale and duplicate \
             checks slow down as brands grow; turn autovacuum on or run ANALYZE regularly"
        ),
        Ok(_) => {}
        Err(e) => tracing::debug!(error = %e, "could not read the autovacuum setting"),
    }
}
