//! Batches and the task queue. SQLite has one writer connection, so a claim (one write
//! transaction) never meets another: no row locks are needed to hand a task out once.

use chrono::{DateTime, Utc};
use prompter_storage::columns::{queue, BATCH_COLUMNS, BATCH_INSERT_COLUMNS, TASK_COLUMNS};
use prompter_storage::{
    fetch_limit, task_move, timestamp, Batch, BatchChange, BatchPage, BatchQuery, ClaimRequest,
    ClaimedTask, CreateBatch, NewBatch, Result, TaskCounts, TaskPage, TaskQuery, TaskUpdate,
};
use sqlx::sqlite::SqlitePool;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};
use uuid::Uuid;

use crate::rows::{batch_from_row, json_text, task_from_row};

/// Rows per multi-row task insert (7 binds each, well under SQLite's variable limit).
const INSERT_CHUNK: usize = 500;
/// Batches looked at per claim.
const CLAIM_BATCHES: i64 = 16;

pub(crate) async fn create(writer: &SqlitePool, new: NewBatch) -> Result<CreateBatch> {
    let mut tx = writer.begin().await?;
    if let Some(key) = &new.idempotency_key {
        if let Some(existing) = by_key(&mut tx, &new.org_id, key).await? {
            return Ok(CreateBatch::Existing(existing));
        }
    }
    let total = new.tasks.len() as i64;
    let created = timestamp::format(&new.created_at);
    sqlx::query(&format!(
        "INSERT INTO batches ({BATCH_INSERT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, \
         ?10, ?11, ?12, ?13, ?13, 'active')"
    ))
    .bind(new.id.to_string())
    .bind(&new.org_id)
    .bind(&new.workspace_id)
    .bind(new.schedule_id.map(|s| s.to_string()))
    .bind(&new.idempotency_key)
    .bind(&new.request_hash)
    .bind(json_text(&new.params))
    .bind(json_text(&new.skipped))
    .bind(new.max_concurrency)
    .bind(new.token_budget)
    .bind(&new.created_by)
    .bind(&created)
    .bind(total)
    .execute(&mut *tx)
    .await?;
    for chunk in new.tasks.chunks(INSERT_CHUNK) {
        let mut sql = QueryBuilder::<Sqlite>::new(
            "INSERT INTO batch_tasks (id, batch_id, template_id, country, sample_index, status, \
             available_at, updated_at) ",
        );
        sql.push_values(chunk, |mut row, t| {
            row.push_bind(t.id.to_string())
                .push_bind(new.id.to_string())
                .push_bind(t.template_id.to_string())
                .push_bind(t.country.clone())
                .push_bind(t.sample_index)
                .push("'pending'")
                .push_bind(created.clone())
                .push_bind(created.clone());
        });
        sql.build().execute(&mut *tx).await?;
    }
    let batch = get_on(&mut tx, new.id).await?;
    tx.commit().await?;
    Ok(CreateBatch::Created(batch.ok_or_else(|| {
        prompter_storage::StorageError::internal("a batch just inserted is not there")
    })?))
}

pub(crate) async fn by_key(
    conn: &mut SqliteConnection,
    org: &str,
    key: &str,
) -> Result<Option<Batch>> {
    let row = sqlx::query(&format!(
        "SELECT {BATCH_COLUMNS} FROM batches WHERE org_id = ?1 AND idempotency_key = ?2"
    ))
    .bind(org)
    .bind(key)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(batch_from_row).transpose()
}

async fn get_on(conn: &mut SqliteConnection, id: Uuid) -> Result<Option<Batch>> {
    let row = sqlx::query(&format!(
        "SELECT {BATCH_COLUMNS} FROM batches WHERE id = ?1"
    ))
    .bind(id.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(batch_from_row).transpose()
}

pub(crate) async fn get(reader: &SqlitePool, id: Uuid) -> Result<Option<Batch>> {
    let mut conn = reader.acquire().await?;
    get_on(&mut conn, id).await
}

pub(crate) async fn list(reader: &SqlitePool, q: &BatchQuery) -> Result<BatchPage> {
    let mut sql = QueryBuilder::<Sqlite>::new(format!(
        "SELECT * FROM (SELECT {BATCH_COLUMNS} FROM batches WHERE org_id = "
    ));
    sql.push_bind(q.org_id.as_str());
    if let Some(ws) = &q.workspace_id {
        sql.push(" AND workspace_id = ").push_bind(ws.as_str());
    }
    if let Some(allowed) = &q.allowed_workspaces {
        sql.push(" AND workspace_id IN (SELECT value FROM json_each(")
            .push_bind(json_text(allowed))
            .push("))");
    }
    if let Some(after) = &q.after {
        sql.push(" AND (created_at, id) < (")
            .push_bind(timestamp::format(&after.created_at))
            .push(", ")
            .push_bind(after.id.to_string())
            .push(")");
    }
    sql.push(") b");
    if let Some(status) = q.status {
        sql.push(" WHERE status = ").push_bind(status.as_str());
    }
    sql.push(" ORDER BY created_at DESC, id DESC LIMIT ")
        .push_bind(fetch_limit(q.limit));
    let rows = sql.build().fetch_all(reader).await?;
    let items = rows
        .iter()
        .map(batch_from_row)
        .collect::<Result<Vec<_>>>()?;
    Ok(prompter_storage::batch_page(items, q.limit))
}

pub(crate) async fn list_tasks(reader: &SqlitePool, q: &TaskQuery) -> Result<TaskPage> {
    let mut sql = QueryBuilder::<Sqlite>::new(format!(
        "SELECT {TASK_COLUMNS} FROM batch_tasks WHERE batch_id = "
    ));
    sql.push_bind(q.batch_id.to_string());
    if let Some(status) = q.status {
        sql.push(" AND status = ").push_bind(status.as_str());
    }
    if let Some(after) = q.after {
        sql.push(" AND id > ").push_bind(after.to_string());
    }
    sql.push(" ORDER BY id LIMIT ")
        .push_bind(fetch_limit(q.limit));
    let rows = sql.build().fetch_all(reader).await?;
    let items = rows.iter().map(task_from_row).collect::<Result<Vec<_>>>()?;
    Ok(prompter_storage::task_page(items, q.limit))
}

pub(crate) async fn claim(writer: &SqlitePool, req: &ClaimRequest) -> Result<Vec<ClaimedTask>> {
    let mut tx = writer.begin().await?;
    let now = timestamp::format(&req.now);
    let batches = sqlx::query(queue::CLAIMABLE_BATCHES)
        .bind(CLAIM_BATCHES)
        .fetch_all(&mut *tx)
        .await?;
    let mut claimed = Vec::new();
    for b in &batches {
        let room = (req.limit as usize).saturating_sub(claimed.len());
        if room == 0 {
            break;
        }
        let batch_id: String = b.try_get("id")?;
        let max: i64 = b.try_get("max_concurrency")?;
        let running: i64 = b.try_get("running_tasks")?;
        let take = (max - running).clamp(0, room as i64);
        let rows = sqlx::query(&format!(
            "UPDATE batch_tasks SET status = 'running', attempts = attempts + 1, \
             lease_owner = ?1, lease_expires_at = ?2, updated_at = ?3 WHERE id IN (SELECT id \
             FROM batch_tasks WHERE batch_id = ?4 AND status = 'pending' AND available_at <= ?3 \
             ORDER BY available_at, id LIMIT ?5) RETURNING {TASK_COLUMNS}"
        ))
        .bind(req.worker.to_string())
        .bind(timestamp::format(&req.lease_until))
        .bind(&now)
        .bind(&batch_id)
        .bind(take)
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            continue;
        }
        sqlx::query(queue::COUNT_CLAIMED)
            .bind(&batch_id)
            .bind(&now)
            .bind(rows.len() as i64)
            .execute(&mut *tx)
            .await?;
        let org_id: String = b.try_get("org_id")?;
        let workspace_id: String = b.try_get("workspace_id")?;
        let params: serde_json::Value =
            prompter_storage::json_from_text("params", b.try_get("params")?)?;
        for row in &rows {
            claimed.push(ClaimedTask {
                task: task_from_row(row)?,
                org_id: org_id.clone(),
                workspace_id: workspace_id.clone(),
                params: params.clone(),
            });
        }
    }
    tx.commit().await?;
    claimed.sort_by_key(|c| (c.task.available_at, c.task.id));
    Ok(claimed)
}

pub(crate) async fn renew(
    writer: &SqlitePool,
    worker: Uuid,
    tasks: &[Uuid],
    until: DateTime<Utc>,
) -> Result<u64> {
    let ids: Vec<String> = tasks.iter().map(Uuid::to_string).collect();
    let done = sqlx::query(&format!(
        "{} AND id IN (SELECT value FROM json_each(?3))",
        queue::RENEW_LEASES
    ))
    .bind(worker.to_string())
    .bind(timestamp::format(&until))
    .bind(json_text(&ids))
    .execute(writer)
    .await?;
    Ok(done.rows_affected())
}

/// Recounts and (un)finishes batch `id`, inside the caller's transaction.
async fn settle(conn: &mut SqliteConnection, id: &str, now: &str) -> Result<()> {
    sqlx::query(queue::RECOUNT)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(queue::MARK_FINISHED)
        .bind(id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub(crate) async fn requeue_expired(writer: &SqlitePool, now: DateTime<Utc>) -> Result<u64> {
    let now = timestamp::format(&now);
    return_leased(
        writer,
        queue::BATCHES_WITH_EXPIRED_LEASES,
        queue::REQUEUE_EXPIRED,
        &now,
        &now,
    )
    .await
}

pub(crate) async fn release(writer: &SqlitePool, worker: Uuid, now: DateTime<Utc>) -> Result<u64> {
    let now = timestamp::format(&now);
    return_leased(
        writer,
        queue::BATCHES_LEASED_BY,
        queue::RELEASE,
        &worker.to_string(),
        &now,
    )
    .await
}

/// Running tasks chosen by `which` (`?1`: expired before, or leased by) go back to the queue:
/// `batches` lists their batches, `tasks` moves them (`?1` which, `?2` now, `?3` batch), then
/// each batch is recounted.
async fn return_leased(
    writer: &SqlitePool,
    batches: &str,
    tasks: &str,
    which: &str,
    now: &str,
) -> Result<u64> {
    let mut tx = writer.begin().await?;
    let ids: Vec<String> = sqlx::query_scalar(batches)
        .bind(which)
        .fetch_all(&mut *tx)
        .await?;
    let mut moved = 0;
    for id in &ids {
        moved += sqlx::query(tasks)
            .bind(which)
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        settle(&mut tx, id, now).await?;
    }
    tx.commit().await?;
    Ok(moved)
}

pub(crate) async fn cancel(
    writer: &SqlitePool,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<BatchChange> {
    change(
        writer,
        id,
        now,
        Some("UPDATE batches SET state = 'cancelled' WHERE id = ?1 AND finished_at IS NULL"),
        queue::CANCEL_PENDING,
    )
    .await
}

pub(crate) async fn retry_failed(
    writer: &SqlitePool,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<BatchChange> {
    change(writer, id, now, None, queue::RETRY_FAILED).await
}

/// Cancel and retry-failed: on an active batch, `batch_sql` (`?1` id; changing no row means
/// the batch is closed to it) then `task_sql` (`?1` id, `?2` now), then the counters; a stopped
/// batch is left as it is.
async fn change(
    writer: &SqlitePool,
    id: Uuid,
    now: DateTime<Utc>,
    batch_sql: Option<&str>,
    task_sql: &str,
) -> Result<BatchChange> {
    let key = id.to_string();
    let now = timestamp::format(&now);
    let mut tx = writer.begin().await?;
    let state: Option<String> = sqlx::query_scalar("SELECT state FROM batches WHERE id = ?1")
        .bind(&key)
        .fetch_optional(&mut *tx)
        .await?;
    match state.as_deref() {
        None => return Ok(BatchChange::NotFound),
        Some("active") => {}
        Some(_) => {
            let batch = get_on(&mut tx, id).await?;
            return Ok(batch.map_or(BatchChange::NotFound, BatchChange::Closed));
        }
    }
    if let Some(sql) = batch_sql {
        // A batch with nothing left to run cannot be cancelled any more.
        if sqlx::query(sql)
            .bind(&key)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 0
        {
            let batch = get_on(&mut tx, id).await?;
            return Ok(batch.map_or(BatchChange::NotFound, BatchChange::Closed));
        }
    }
    sqlx::query(task_sql)
        .bind(&key)
        .bind(&now)
        .execute(&mut *tx)
        .await?;
    settle(&mut tx, &key, &now).await?;
    let batch = get_on(&mut tx, id).await?;
    tx.commit().await?;
    Ok(batch.map_or(BatchChange::NotFound, BatchChange::Changed))
}

pub(crate) async fn open_counts(reader: &SqlitePool) -> Result<TaskCounts> {
    let row = sqlx::query(queue::OPEN_COUNTS).fetch_one(reader).await?;
    Ok(TaskCounts {
        pending: row.try_get(0)?,
        running: row.try_get(1)?,
        ..TaskCounts::default()
    })
}

/// The succeeded result of `task_id` other than `result_id`, inside the caller's transaction.
pub(crate) async fn succeeded_twin(
    conn: &mut SqliteConnection,
    task_id: Uuid,
    result_id: Uuid,
) -> Result<Option<Uuid>> {
    let id: Option<String> = sqlx::query_scalar(queue::SUCCEEDED_TWIN)
        .bind(task_id.to_string())
        .bind(result_id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    id.map(|i| {
        Uuid::parse_str(&i)
            .map_err(|e| prompter_storage::StorageError::internal_with("bad uuid", e))
    })
    .transpose()
}

/// An attempt's outcome moves its task (fenced by the attempt) and counts its usage, inside the
/// caller's transaction (the one recording the attempt's result).
pub(crate) async fn update_task(
    conn: &mut SqliteConnection,
    u: &TaskUpdate,
    result_id: Uuid,
) -> Result<Option<prompter_storage::Batch>> {
    let batch = u.batch_id.to_string();
    let at = timestamp::format(&u.at);
    let state: Option<String> = sqlx::query_scalar("SELECT state FROM batches WHERE id = ?1")
        .bind(&batch)
        .fetch_optional(&mut *conn)
        .await?;
    let active = state.as_deref() == Some("active");
    let (status, error, available_at) = task_move(&u.next, active);
    let moved = sqlx::query(
        "UPDATE batch_tasks SET status = ?1, result_id = ?2, last_error = ?3, \
         available_at = coalesce(?4, available_at), lease_owner = NULL, lease_expires_at = NULL, \
         updated_at = ?5 WHERE id = ?6 AND attempts = ?7 AND status = 'running'",
    )
    .bind(status.as_str())
    .bind(result_id.to_string())
    .bind(error.map(json_text))
    .bind(available_at.map(|t| timestamp::format(&t)))
    .bind(&at)
    .bind(u.task_id.to_string())
    .bind(u.attempt)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    let counters = if moved {
        format!(
            ", running_tasks = running_tasks - 1, {c} = {c} + 1",
            c = status.counter_column()
        )
    } else {
        String::new()
    };
    sqlx::query(&format!(
        "UPDATE batches SET prompt_tokens = prompt_tokens + ?2, \
         completion_tokens = completion_tokens + ?3{counters} WHERE id = ?1"
    ))
    .bind(&batch)
    .bind(u.prompt_tokens)
    .bind(u.completion_tokens)
    .execute(&mut *conn)
    .await?;
    let exhausted = sqlx::query(
        "UPDATE batches SET state = 'budget_exhausted' WHERE id = ?1 AND state = 'active' \
         AND token_budget IS NOT NULL AND prompt_tokens + completion_tokens >= token_budget",
    )
    .bind(&batch)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    if exhausted {
        sqlx::query(queue::CANCEL_PENDING)
            .bind(&batch)
            .bind(&at)
            .execute(&mut *conn)
            .await?;
        sqlx::query(queue::RECOUNT)
            .bind(&batch)
            .execute(&mut *conn)
            .await?;
    }
    let finished = sqlx::query(&queue::finish_now())
        .bind(&batch)
        .bind(&at)
        .fetch_optional(&mut *conn)
        .await?;
    finished.as_ref().map(batch_from_row).transpose()
}
