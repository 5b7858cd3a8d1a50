//! Schedules.

use chrono::{DateTime, Utc};
use prompter_storage::columns::SCHEDULE_COLUMNS;
use prompter_storage::{timestamp, Result, Schedule, ScheduleFired};
use sqlx::sqlite::SqlitePool;
use sqlx::{QueryBuilder, Sqlite};
use uuid::Uuid;

use crate::rows::{json_text, schedule_from_row};

fn ts(t: &Option<DateTime<Utc>>) -> Option<String> {
    t.as_ref().map(timestamp::format)
}

pub(crate) async fn create(writer: &SqlitePool, s: &Schedule) -> Result<()> {
    sqlx::query(&format!(
        "INSERT INTO schedules ({SCHEDULE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, \
         ?10, ?11, ?12, ?13, ?14, ?15)"
    ))
    .bind(s.id.to_string())
    .bind(&s.org_id)
    .bind(&s.workspace_id)
    .bind(&s.name)
    .bind(&s.cron)
    .bind(&s.timezone)
    .bind(json_text(&s.batch))
    .bind(s.enabled)
    .bind(ts(&s.next_run_at))
    .bind(ts(&s.last_slot))
    .bind(s.last_batch_id.map(|b| b.to_string()))
    .bind(s.last_error.as_ref().map(json_text))
    .bind(&s.created_by)
    .bind(timestamp::format(&s.created_at))
    .bind(timestamp::format(&s.updated_at))
    .execute(writer)
    .await?;
    Ok(())
}

pub(crate) async fn get(reader: &SqlitePool, id: Uuid) -> Result<Option<Schedule>> {
    let row = sqlx::query(&format!(
        "SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE id = ?1"
    ))
    .bind(id.to_string())
    .fetch_optional(reader)
    .await?;
    row.as_ref().map(schedule_from_row).transpose()
}

pub(crate) async fn list(
    reader: &SqlitePool,
    org_id: &str,
    workspace_id: Option<&str>,
    allowed: Option<&[String]>,
) -> Result<Vec<Schedule>> {
    let mut sql = QueryBuilder::<Sqlite>::new(format!(
        "SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE org_id = "
    ));
    sql.push_bind(org_id);
    if let Some(ws) = workspace_id {
        sql.push(" AND workspace_id = ").push_bind(ws);
    }
    if let Some(allowed) = allowed {
        sql.push(" AND workspace_id IN (SELECT value FROM json_each(")
            .push_bind(json_text(&allowed))
            .push("))");
    }
    sql.push(" ORDER BY created_at, id LIMIT 1000");
    let rows = sql.build().fetch_all(reader).await?;
    rows.iter().map(schedule_from_row).collect()
}

pub(crate) async fn update(writer: &SqlitePool, s: &Schedule) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE schedules SET name = ?2, cron = ?3, timezone = ?4, batch = ?5, enabled = ?6, \
         next_run_at = ?7, updated_at = ?8 WHERE id = ?1",
    )
    .bind(s.id.to_string())
    .bind(&s.name)
    .bind(&s.cron)
    .bind(&s.timezone)
    .bind(json_text(&s.batch))
    .bind(s.enabled)
    .bind(ts(&s.next_run_at))
    .bind(timestamp::format(&s.updated_at))
    .execute(writer)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub(crate) async fn delete(writer: &SqlitePool, id: Uuid) -> Result<bool> {
    let done = sqlx::query("DELETE FROM schedules WHERE id = ?1")
        .bind(id.to_string())
        .execute(writer)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub(crate) async fn due(
    reader: &SqlitePool,
    now: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<Schedule>> {
    let rows = sqlx::query(&format!(
        "SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE enabled = 1 AND next_run_at <= ?1 \
         ORDER BY next_run_at LIMIT ?2"
    ))
    .bind(timestamp::format(&now))
    .bind(i64::from(limit))
    .fetch_all(reader)
    .await?;
    rows.iter().map(schedule_from_row).collect()
}

pub(crate) async fn record_fire(
    writer: &SqlitePool,
    id: Uuid,
    expected_next: DateTime<Utc>,
    f: &ScheduleFired,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE schedules SET next_run_at = ?3, last_slot = ?4, last_batch_id = ?5, \
         last_error = ?6, updated_at = ?7 WHERE id = ?1 AND enabled = 1 AND next_run_at = ?2",
    )
    .bind(id.to_string())
    .bind(timestamp::format(&expected_next))
    .bind(ts(&f.next_run_at))
    .bind(timestamp::format(&f.slot))
    .bind(f.batch_id.map(|b| b.to_string()))
    .bind(f.error.as_ref().map(json_text))
    .bind(timestamp::format(&f.at))
    .execute(writer)
    .await?;
    Ok(done.rows_affected() == 1)
}
