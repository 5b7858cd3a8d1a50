//! The SQLite backend: opens the file read-only and reads each row as a JSON object.
//!
//! SQLite types values per row, not per column (a `TIMESTAMP` column may hold text, an `INTEGER
//! PRIMARY KEY` holds integers, a `BOOLEAN` holds 0/1), so each row is rendered by SQLite's own
//! `json_object`, which keeps every value's storage class: integers and reals become numbers,
//! text becomes strings (JSON held as TEXT is parsed later, by the normaliser), blobs become hex.

use std::str::FromStr;

use futures::TryStreamExt;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection};

use crate::normalise::{self, known_columns, RESULTS, TEMPLATES, VERSIONS};
use crate::{LegacyData, LegacyError};

pub(crate) async fn read(url: &str) -> Result<LegacyData, LegacyError> {
    let open_err = |source| LegacyError::Open {
        url: url.to_owned(),
        source,
    };
    // Read-only, and never created: a mistyped path must fail, not leave an empty database.
    let options = SqliteConnectOptions::from_str(url)
        .map_err(open_err)?
        .read_only(true)
        .create_if_missing(false);
    let mut conn = options.connect().await.map_err(open_err)?;

    // One read transaction, so that the three tables are read from one snapshot.
    sqlx::query("BEGIN").execute(&mut conn).await?;
    let data = read_all(&mut conn).await;
    // Nothing was written; ending the transaction and closing cannot change the outcome.
    let _ = sqlx::query("ROLLBACK").execute(&mut conn).await;
    let _ = conn.close().await;
    data
}

async fn read_all(conn: &mut SqliteConnection) -> Result<LegacyData, LegacyError> {
    let mut data = LegacyData::default();
    for table in [TEMPLATES, VERSIONS, RESULTS] {
        let columns = columns(conn, table).await?;
        if columns.is_empty() {
            if table == TEMPLATES {
                return Err(LegacyError::NoTemplatesTable);
            }
            // A missing versions or results table means there are none of them.
            continue;
        }
        read_table(conn, table, &columns, &mut data).await?;
    }
    Ok(data)
}

/// The table's columns as declared (empty when there is no such table).
async fn columns(conn: &mut SqliteConnection, table: &str) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT name FROM pragma_table_info(?1)")
        .bind(table)
        .fetch_all(conn)
        .await
}

async fn read_table(
    conn: &mut SqliteConnection,
    table: &'static str,
    columns: &[String],
    data: &mut LegacyData,
) -> Result<(), sqlx::Error> {
    let sql = select_rows(table, columns);
    let mut rows = sqlx::query_scalar::<_, Vec<u8>>(&sql).fetch(conn);
    while let Some(row_json) = rows.try_next().await? {
        normalise::take_sql_row(table, &row_json, data);
    }
    Ok(())
}

/// `SELECT json_object('id', …) FROM "table" ORDER BY "id"` over the columns the reader knows
/// (matched case-insensitively, as SQLite matches them), keyed by their canonical names.
fn select_rows(table: &str, columns: &[String]) -> String {
    let mut args = Vec::new();
    let mut id_column = None;
    for &known in known_columns(table) {
        let Some(actual) = columns.iter().find(|c| c.eq_ignore_ascii_case(known)) else {
            continue;
        };
        let col = quote(actual);
        args.push(format!(
            "'{known}', CASE WHEN typeof({col}) = 'blob' THEN hex({col}) ELSE {col} END"
        ));
        if known == "id" {
            id_column = Some(col);
        }
    }
    let order = id_column.map_or_else(String::new, |c| format!(" ORDER BY {c}"));
    format!(
        "SELECT json_object({}) FROM {}{order}",
        args.join(", "),
        quote(table)
    )
}

fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}
