use std::sync::Arc;

use prompter_storage::Database;
use prompter_storage_postgres::PostgresDatabase;
use prompter_storage_sqlite::SqliteDatabase;
use sqlx::Connection;

/// A migrated, empty database that cleans up after itself.
pub trait TestDb {
    fn db(&self) -> Arc<dyn Database>;
    /// A URL another process can open (`prompter serve` in two-process tests).
    fn url(&self) -> &str;
}

pub struct SqliteTestDb {
    db: Arc<dyn Database>,
    url: String,
    _dir: tempfile::TempDir,
}

impl TestDb for SqliteTestDb {
    fn db(&self) -> Arc<dyn Database> {
        self.db.clone()
    }
    fn url(&self) -> &str {
        &self.url
    }
}

/// A migrated SQLite database in its own temporary directory.
pub async fn fresh_sqlite() -> SqliteTestDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("prompter.db").display());
    let db = SqliteDatabase::connect(&url, 8).await.expect("open SQLite");
    db.migrate_up().await.expect("migrate SQLite");
    SqliteTestDb {
        db: Arc::new(db),
        url,
        _dir: dir,
    }
}

pub struct PgTestDb {
    db: Arc<dyn Database>,
    url: String,
    admin_url: String,
    name: String,
}

impl TestDb for PgTestDb {
    fn db(&self) -> Arc<dyn Database> {
        self.db.clone()
    }
    fn url(&self) -> &str {
        &self.url
    }
}

fn admin_url() -> String {
    std::env::var("PROMPTER_TEST_PG_URL")
        .expect("PostgreSQL tests need PROMPTER_TEST_PG_URL (they are ignored without it)")
}

/// Replaces the database name (the URL path) of a PostgreSQL URL.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{}", &base[..host_end], name);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// A migrated PostgreSQL database of its own, created on the server of `PROMPTER_TEST_PG_URL`.
pub async fn fresh_postgres() -> PgTestDb {
    let admin_url = admin_url();
    let name = format!("prompter_t_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .expect("connect to PROMPTER_TEST_PG_URL");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("create test database");
    admin.close().await.ok();
    let url = with_database(&admin_url, &name);
    let db = PostgresDatabase::connect(&url, 20)
        .await
        .expect("open test database");
    db.migrate_up().await.expect("migrate PostgreSQL");
    PgTestDb {
        db: Arc::new(db),
        url,
        admin_url,
        name,
    }
}

impl Drop for PgTestDb {
    fn drop(&mut self) {
        // Drop runs inside the test's runtime, which cannot be blocked on: use a fresh thread
        // with its own runtime. FORCE ends the pool's connections.
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                if let Ok(mut admin) = sqlx::PgConnection::connect(&admin_url).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut admin)
                        .await;
                }
            });
        })
        .join();
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn replaces_the_database_name() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://h:5432", "x"),
            "postgres://h:5432/x"
        );
    }
}
