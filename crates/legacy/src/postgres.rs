//! The PostgreSQL backend: reads each row as `row_to_json` of the whole row.
//!
//! PostgreSQL types every column, and `row_to_json` keeps those types: `uuid` → string, JSONB /
//! JSON → JSON, `text[]` → array, integers → numbers, `timestamptz` → ISO 8601 with an offset,
//! `timestamp` → ISO 8601 without one (read as UTC by the normaliser). `row_to_json` rather than
//! `to_jsonb` because a `json` column holding `\u0000` cannot become JSONB, and one such row
//! must not abort the read.

use futures::TryStreamExt;
use sqlx::postgres::PgConnection;
use sqlx::Connection;

use crate::normalise::{self, RESULTS, TEMPLATES, VERSIONS};
use crate::{LegacyData, LegacyError};

pub(crate) async fn read(url: &str) -> Result<LegacyData, LegacyError> {
    let mut conn = PgConnection::connect(url)
        .await
        .map_err(LegacyError::Connect)?;
    let data = read_all(&mut conn).await;
    // Nothing was written: closing rolls the read-only transaction back either way.
    let _ = conn.close().await;
    data
}

async fn read_all(conn: &mut PgConnection) -> Result<LegacyData, LegacyError> {
    let mut tx = conn.begin().await?;
    // READ ONLY: the database itself refuses any write; REPEATABLE READ: one snapshot for all
    // three tables. UTC: offsets in the rendered timestamps stay simple.
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .execute(&mut *tx)
        .await?;
    sqlx::query("SET LOCAL TIME ZONE 'UTC'")
        .execute(&mut *tx)
        .await?;
    // The tables of the current schema (the first of the search path that exists), qualified in
    // every query so that a same-named table elsewhere in the search path is never read.
    let schema: Option<String> = sqlx::query_scalar("SELECT current_schema()")
        .fetch_one(&mut *tx)
        .await?;
    let Some(schema) = schema else {
        return Err(LegacyError::NoTemplatesTable);
    };

    let mut data = LegacyData::default();
    for table in [TEMPLATES, VERSIONS, RESULTS] {
        let columns: Vec<String> = sqlx::query_scalar(
            "SELECT column_name::text FROM information_schema.columns \
             WHERE table_schema = $1 AND table_name = $2",
        )
        .bind(&schema)
        .bind(table)
        .fetch_all(&mut *tx)
        .await?;
        if columns.is_empty() {
            if table == TEMPLATES {
                return Err(LegacyError::NoTemplatesTable);
            }
            // A missing versions or results table means there are none of them.
            continue;
        }
        let order = if columns.iter().any(|c| c == "id") {
            " ORDER BY legacy_row__.\"id\""
        } else {
            ""
        };
        let sql = format!(
            "SELECT row_to_json(legacy_row__)::text FROM {}.{} AS legacy_row__{order}",
            quote(&schema),
            quote(table)
        );
        let mut rows = sqlx::query_scalar::<_, String>(&sql).fetch(&mut *tx);
        while let Some(row_json) = rows.try_next().await? {
            normalise::take_sql_row(table, row_json.as_bytes(), &mut data);
        }
    }
    tx.rollback().await?;
    Ok(data)
}

fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}
