//! API tokens.

use prompter_storage::columns::{TOKEN_COLUMNS, TOKEN_INSERT_COLUMNS};
use prompter_storage::{timestamp, ApiToken, NewToken, Result};
use sqlx::postgres::PgPool;
use sqlx::types::Json;
use uuid::Uuid;

use crate::rows::token_from_row;

pub(crate) async fn create(pool: &PgPool, t: NewToken) -> Result<ApiToken> {
    sqlx::query(&format!(
        "INSERT INTO api_tokens ({TOKEN_INSERT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
    ))
    .bind(t.id)
    .bind(&t.org_id)
    .bind(t.workspaces.as_ref().map(Json))
    .bind(t.role.as_str())
    .bind(&t.token_hash)
    .bind(&t.label)
    .bind(t.created_at)
    .execute(pool)
    .await?;
    Ok(t.into_token())
}

pub(crate) async fn list(pool: &PgPool) -> Result<Vec<ApiToken>> {
    let rows = sqlx::query(&format!(
        "SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY created_at, id"
    ))
    .fetch_all(pool)
    .await?;
    rows.iter().map(token_from_row).collect()
}

pub(crate) async fn revoke(pool: &PgPool, id: Uuid) -> Result<bool> {
    let done =
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(timestamp::now())
            .bind(id)
            .execute(pool)
            .await?;
    Ok(done.rows_affected() == 1)
}

pub(crate) async fn active_by_hash(pool: &PgPool, token_hash: &str) -> Result<Option<ApiToken>> {
    let row = sqlx::query(&format!(
        "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL"
    ))
    .bind(token_hash)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(token_from_row).transpose()
}

pub(crate) async fn count_active(pool: &PgPool) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM api_tokens WHERE revoked_at IS NULL")
            .fetch_one(pool)
            .await?,
    )
}
