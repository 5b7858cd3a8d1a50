//! Schedules.

use chrono::{DateTime, Utc};
use prompter_storage::columns::SCHEDULE_COLUMNS;
use prompter_storage::{Result, Schedule, ScheduleFired};
use sqlx::postgres::PgPool;
use sqlx::types::Json;
use sqlx::{Postgres, QueryBuilder};
use uuid::Uuid;

use crate::rows::schedule_from_row;

pub(crate) async fn create(writer: &PgPool, s: &Schedule) -> Result<()> {
    sqlx::query(&format!(
        "INSERT INTO schedules ({SCHEDULE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
         $10, $11, $12, $13, $14, $15)"
    ))
    .bind(s.id)
    .bind(&s.org_id)
    .bind(&s.workspace_id)
    .bind(&s.name)
    .bind(&s.cron)
    .bind(&s.timezone)
    .bind(Json(&s.batch))
    .bind(s.enabled)
    .bind(s.next_run_at)
    .bind(s.last_slot)
    .bind(s.last_batch_id)
    .bind(s.last_error.as_ref().map(Json))
    .bind(&s.created_by)
    .bind(s.created_at)
    .bind(s.updated_at)
    .execute(writer)
    .await?;
    Ok(())
}

pub(crate) async fn get(reader: &PgPool, id: Uuid) -> Result<Option<Schedule>> {
    let row = sqlx::query(&format!(
        "SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(reader)
    .await?;
    row.as_ref().map(schedule_from_row).transpose()
}

pub(crate) async fn list(
    reader: &PgPool,
    org_id: &str,
    workspace_id: Option<&str>,
    allowed: Option<&[String]>,
) -> Result<Vec<Schedule>> {
    let mut sql = QueryBuilder::<Postgres>::new(format!(
        "SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE org_id = "
    ));
    sql.push_bind(org_id);
    if let Some(ws) = workspace_id {
        sql.push(" AND workspace_id = ").push_bind(ws);
    }
    if let Some(allowed) = allowed {
        sql.push(" AND workspace_id = ANY(")
            .push_bind(allowed.to_vec())
            .push(")");
    }
    sql.push(" ORDER BY created_at, id LIMIT 1000");
    let rows = sql.build().fetch_all(reader).await?;
    rows.iter().map(schedule_from_row).collect()
}

pub(crate) async fn update(writer: &PgPool, s: &Schedule) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE schedules SET name = $2, cron = $3, timezone = $4, batch = $5, enabled = $6, \
         next_run_at = $7, updated_at = $8 WHERE id = $1",
    )
    .bind(s.id)
    .bind(&s.name)
    .bind(&s.cron)
    .bind(&s.timezone)
    .bind(Json(&s.batch))
    .bind(s.enabled)
    .bind(s.next_run_at)
    .bind(s.updated_at)
    .execute(writer)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub(crate) async fn delete(writer: &PgPool, id: Uuid) -> Result<bool> {
    let done = sqlx::query("DELETE FROM schedules WHERE id = $1")
        .bind(id)
        .execute(writer)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub(crate) async fn due(reader: &PgPool, now: DateTime<Utc>, limit: u32) -> Result<Vec<Schedule>> {
    let rows = sqlx::query(&format!(
        "SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE enabled AND next_run_at <= $1 \
         ORDER BY next_run_at LIMIT $2"
    ))
    .bind(now)
    .bind(i64::from(limit))
    .fetch_all(reader)
    .await?;
    rows.iter().map(schedule_from_row).collect()
}

pub(crate) async fn record_fire(
    writer: &PgPool,
    id: Uuid,
    expected_next: DateTime<Utc>,
    f: &ScheduleFired,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE schedules SET next_run_at = $3, last_slot = $4, last_batch_id = $5, \
         last_error = $6, updated_at = $7 WHERE id = $1 AND enabled AND next_run_at = $2",
    )
    .bind(id)
    .bind(expected_next)
    .bind(f.next_run_at)
    .bind(f.slot)
    .bind(f.batch_id)
    .bind(f.error.as_ref().map(Json))
    .bind(f.at)
    .execute(writer)
    .await?;
    Ok(done.rows_affected() == 1)
}
