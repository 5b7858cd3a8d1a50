//! Batches and the task queue. Several processes claim from one database: a claim locks the
//! batches it takes from (`FOR UPDATE SKIP LOCKED`, so claimers spread over batches instead of
//! waiting) and the tasks it takes (`SKIP LOCKED` again), so no task is handed out twice and a
//! batch's concurrency limit holds across processes.

use chrono::{DateTime, Utc};
use prompter_storage::columns::{queue, BATCH_COLUMNS, BATCH_INSERT_COLUMNS, TASK_COLUMNS};
use prompter_storage::{
    fetch_limit, task_move, Batch, BatchChange, BatchPage, BatchQuery, ClaimRequest, ClaimedTask,
    CreateBatch, NewBatch, Result, StorageError, TaskCounts, TaskPage, TaskQuery, TaskUpdate,
};
use sqlx::postgres::PgPool;
use sqlx::types::Json;
use sqlx::{PgConnection, Postgres, QueryBuilder, Row};
use uuid::Uuid;

use crate::rows::{batch_from_row, task_from_row};

/// Rows per task insert (arrays, so one statement per chunk).
const INSERT_CHUNK: usize = 10_000;
/// Batches looked at per claim.
const CLAIM_BATCHES: i64 = 16;

fn pg(sql: &str) -> String {
    queue::postgres(sql)
}

pub(crate) async fn create(pool: &PgPool, new: NewBatch) -> Result<CreateBatch> {
    let mut tx = pool.begin().await?;
    let total = new.tasks.len() as i64;
    // The unique index on (org, idempotency key) decides between concurrent creates.
    let inserted = sqlx::query(&format!(
        "INSERT INTO batches ({BATCH_INSERT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
         $10, $11, $12, $13, $13, 'active') ON CONFLICT DO NOTHING"
    ))
    .bind(new.id)
    .bind(&new.org_id)
    .bind(&new.workspace_id)
    .bind(new.schedule_id)
    .bind(&new.idempotency_key)
    .bind(&new.request_hash)
    .bind(Json(&new.params))
    .bind(Json(&new.skipped))
    .bind(new.max_concurrency)
    .bind(new.token_budget)
    .bind(&new.created_by)
    .bind(new.created_at)
    .bind(total)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        tx.rollback().await?;
        let key = new.idempotency_key.as_deref().unwrap_or_default();
        return match by_key(pool, &new.org_id, key).await? {
            Some(existing) => Ok(CreateBatch::Existing(existing)),
            None => Err(StorageError::internal(format!(
                "batch {} was refused but no batch holds its key",
                new.id
            ))),
        };
    }
    for chunk in new.tasks.chunks(INSERT_CHUNK) {
        let ids: Vec<Uuid> = chunk.iter().map(|t| t.id).collect();
        let templates: Vec<Uuid> = chunk.iter().map(|t| t.template_id).collect();
        let countries: Vec<Option<String>> = chunk.iter().map(|t| t.country.clone()).collect();
        let samples: Vec<i32> = chunk.iter().map(|t| t.sample_index).collect();
        sqlx::query(
            "INSERT INTO batch_tasks (id, batch_id, template_id, country, sample_index, status, \
             available_at, updated_at) SELECT t.id, $5, t.template_id, t.country, t.sample_index, \
             'pending', $6, $6 FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::int4[]) \
             AS t (id, template_id, country, sample_index)",
        )
        .bind(&ids)
        .bind(&templates)
        .bind(&countries)
        .bind(&samples)
        .bind(new.id)
        .bind(new.created_at)
        .execute(&mut *tx)
        .await?;
    }
    let batch = get_on(&mut tx, new.id).await?;
    tx.commit().await?;
    batch
        .map(CreateBatch::Created)
        .ok_or_else(|| StorageError::internal("a batch just inserted is not there"))
}

pub(crate) async fn by_key(pool: &PgPool, org: &str, key: &str) -> Result<Option<Batch>> {
    let row = sqlx::query(&format!(
        "SELECT {BATCH_COLUMNS} FROM batches WHERE org_id = $1 AND idempotency_key = $2"
    ))
    .bind(org)
    .bind(key)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(batch_from_row).transpose()
}

async fn get_on(conn: &mut PgConnection, id: Uuid) -> Result<Option<Batch>> {
    let row = sqlx::query(&format!(
        "SELECT {BATCH_COLUMNS} FROM batches WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(batch_from_row).transpose()
}

pub(crate) async fn get(pool: &PgPool, id: Uuid) -> Result<Option<Batch>> {
    let mut conn = pool.acquire().await?;
    get_on(&mut conn, id).await
}

pub(crate) async fn list(pool: &PgPool, q: &BatchQuery) -> Result<BatchPage> {
    let mut sql = QueryBuilder::<Postgres>::new(format!(
        "SELECT * FROM (SELECT {BATCH_COLUMNS} FROM batches WHERE org_id = "
    ));
    sql.push_bind(q.org_id.as_str());
    if let Some(ws) = &q.workspace_id {
        sql.push(" AND workspace_id = ").push_bind(ws.as_str());
    }
    if let Some(allowed) = &q.allowed_workspaces {
        sql.push(" AND workspace_id = ANY(")
            .push_bind(allowed.clone())
            .push(")");
    }
    if let Some(after) = &q.after {
        sql.push(" AND (created_at, id) < (")
            .push_bind(after.created_at)
            .push(", ")
            .push_bind(after.id)
            .push(")");
    }
    sql.push(") b");
    if let Some(status) = q.status {
        sql.push(" WHERE status = ").push_bind(status.as_str());
    }
    sql.push(" ORDER BY created_at DESC, id DESC LIMIT ")
        .push_bind(fetch_limit(q.limit));
    let rows = sql.build().fetch_all(pool).await?;
    let items = rows
        .iter()
        .map(batch_from_row)
        .collect::<Result<Vec<_>>>()?;
    Ok(prompter_storage::batch_page(items, q.limit))
}

pub(crate) async fn list_tasks(pool: &PgPool, q: &TaskQuery) -> Result<TaskPage> {
    let mut sql = QueryBuilder::<Postgres>::new(format!(
        "SELECT {TASK_COLUMNS} FROM batch_tasks WHERE batch_id = "
    ));
    sql.push_bind(q.batch_id);
    if let Some(status) = q.status {
        sql.push(" AND status = ").push_bind(status.as_str());
    }
    if let Some(after) = q.after {
        sql.push(" AND id > ").push_bind(after);
    }
    sql.push(" ORDER BY id LIMIT ")
        .push_bind(fetch_limit(q.limit));
    let rows = sql.build().fetch_all(pool).await?;
    let items = rows.iter().map(task_from_row).collect::<Result<Vec<_>>>()?;
    Ok(prompter_storage::task_page(items, q.limit))
}

pub(crate) async fn claim(pool: &PgPool, req: &ClaimRequest) -> Result<Vec<ClaimedTask>> {
    let mut tx = pool.begin().await?;
    let batches = sqlx::query(&format!(
        "{} FOR UPDATE SKIP LOCKED",
        pg(queue::CLAIMABLE_BATCHES)
    ))
    .bind(CLAIM_BATCHES)
    .fetch_all(&mut *tx)
    .await?;
    let mut claimed = Vec::new();
    for b in &batches {
        let room = (req.limit as usize).saturating_sub(claimed.len());
        if room == 0 {
            break;
        }
        let batch_id: Uuid = b.try_get("id")?;
        let max: i32 = b.try_get("max_concurrency")?;
        let running: i64 = b.try_get("running_tasks")?;
        let take = (i64::from(max) - running).clamp(0, room as i64);
        let rows = sqlx::query(&format!(
            "UPDATE batch_tasks SET status = 'running', attempts = attempts + 1, \
             lease_owner = $1, lease_expires_at = $2, updated_at = $3 WHERE id IN (SELECT id \
             FROM batch_tasks WHERE batch_id = $4 AND status = 'pending' AND available_at <= $3 \
             ORDER BY available_at, id LIMIT $5 FOR UPDATE SKIP LOCKED) RETURNING {TASK_COLUMNS}"
        ))
        .bind(req.worker)
        .bind(req.lease_until)
        .bind(req.now)
        .bind(batch_id)
        .bind(take)
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            continue;
        }
        sqlx::query(&pg(queue::COUNT_CLAIMED))
            .bind(batch_id)
            .bind(req.now)
            .bind(rows.len() as i64)
            .execute(&mut *tx)
            .await?;
        let org_id: String = b.try_get("org_id")?;
        let workspace_id: String = b.try_get("workspace_id")?;
        let params: Json<serde_json::Value> = b.try_get("params")?;
        for row in &rows {
            claimed.push(ClaimedTask {
                task: task_from_row(row)?,
                org_id: org_id.clone(),
                workspace_id: workspace_id.clone(),
                params: params.0.clone(),
            });
        }
    }
    tx.commit().await?;
    claimed.sort_by_key(|c| (c.task.available_at, c.task.id));
    Ok(claimed)
}

pub(crate) async fn renew(
    pool: &PgPool,
    worker: Uuid,
    tasks: &[Uuid],
    until: DateTime<Utc>,
) -> Result<u64> {
    let done = sqlx::query(&format!("{} AND id = ANY($3)", pg(queue::RENEW_LEASES)))
        .bind(worker)
        .bind(until)
        .bind(tasks)
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}

/// Recounts and (un)finishes batch `id`, inside the caller's transaction.
async fn settle(conn: &mut PgConnection, id: Uuid, now: DateTime<Utc>) -> Result<()> {
    sqlx::query(&pg(queue::RECOUNT))
        .bind(id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(&pg(queue::MARK_FINISHED))
        .bind(id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Locks batch `id` (so counters and task moves of one batch are serialised) and returns its
/// state.
async fn lock_state(conn: &mut PgConnection, id: Uuid) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT state FROM batches WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

pub(crate) async fn requeue_expired(pool: &PgPool, now: DateTime<Utc>) -> Result<u64> {
    return_leased(
        pool,
        queue::BATCHES_WITH_EXPIRED_LEASES,
        queue::REQUEUE_EXPIRED,
        now,
        now,
    )
    .await
}

pub(crate) async fn release(pool: &PgPool, worker: Uuid, now: DateTime<Utc>) -> Result<u64> {
    return_leased(pool, queue::BATCHES_LEASED_BY, queue::RELEASE, worker, now).await
}

/// Running tasks chosen by `which` (`$1`: expired before, or leased by) go back to the queue:
/// `batches` lists their batches, `tasks` moves them (`$1` which, `$2` now, `$3` batch), each
/// batch in its own transaction with its row locked, then recounted.
async fn return_leased<W>(
    pool: &PgPool,
    batches: &str,
    tasks: &str,
    which: W,
    now: DateTime<Utc>,
) -> Result<u64>
where
    W: for<'q> sqlx::Encode<'q, Postgres> + sqlx::Type<Postgres> + Send + Sync + Copy + 'static,
{
    let ids: Vec<Uuid> = sqlx::query_scalar(&pg(batches))
        .bind(which)
        .fetch_all(pool)
        .await?;
    let mut moved = 0;
    for id in ids {
        let mut tx = pool.begin().await?;
        lock_state(&mut tx, id).await?;
        moved += sqlx::query(&pg(tasks))
            .bind(which)
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        settle(&mut tx, id, now).await?;
        tx.commit().await?;
    }
    Ok(moved)
}

pub(crate) async fn cancel(pool: &PgPool, id: Uuid, now: DateTime<Utc>) -> Result<BatchChange> {
    change(
        pool,
        id,
        now,
        Some("UPDATE batches SET state = 'cancelled' WHERE id = $1 AND finished_at IS NULL"),
        queue::CANCEL_PENDING,
    )
    .await
}

pub(crate) async fn retry_failed(
    pool: &PgPool,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<BatchChange> {
    change(pool, id, now, None, queue::RETRY_FAILED).await
}

/// Cancel and retry-failed: on an active batch, `batch_sql` (`$1` id; changing no row means
/// the batch is closed to it) then `task_sql` (`?1` id, `?2` now), then the counters; a stopped
/// batch is left as it is.
async fn change(
    pool: &PgPool,
    id: Uuid,
    now: DateTime<Utc>,
    batch_sql: Option<&str>,
    task_sql: &str,
) -> Result<BatchChange> {
    let mut tx = pool.begin().await?;
    match lock_state(&mut tx, id).await?.as_deref() {
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
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 0
        {
            let batch = get_on(&mut tx, id).await?;
            return Ok(batch.map_or(BatchChange::NotFound, BatchChange::Closed));
        }
    }
    sqlx::query(&pg(task_sql))
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    settle(&mut tx, id, now).await?;
    let batch = get_on(&mut tx, id).await?;
    tx.commit().await?;
    Ok(batch.map_or(BatchChange::NotFound, BatchChange::Changed))
}

pub(crate) async fn open_counts(pool: &PgPool) -> Result<TaskCounts> {
    let row = sqlx::query(queue::OPEN_COUNTS).fetch_one(pool).await?;
    Ok(TaskCounts {
        pending: row.try_get(0)?,
        running: row.try_get(1)?,
        ..TaskCounts::default()
    })
}

/// The succeeded result of `task_id` other than `result_id`, inside the caller's transaction.
pub(crate) async fn succeeded_twin(
    conn: &mut PgConnection,
    task_id: Uuid,
    result_id: Uuid,
) -> Result<Option<Uuid>> {
    Ok(sqlx::query_scalar(&pg(queue::SUCCEEDED_TWIN))
        .bind(task_id)
        .bind(result_id)
        .fetch_optional(&mut *conn)
        .await?)
}

/// An attempt's outcome moves its task (fenced by the attempt) and counts its usage, inside the
/// caller's transaction (the one recording the attempt's result).
pub(crate) async fn update_task(
    conn: &mut PgConnection,
    u: &TaskUpdate,
    result_id: Uuid,
) -> Result<Option<prompter_storage::Batch>> {
    let active = lock_state(conn, u.batch_id).await?.as_deref() == Some("active");
    let (status, error, available_at) = task_move(&u.next, active);
    let moved = sqlx::query(
        "UPDATE batch_tasks SET status = $1, result_id = $2, last_error = $3, \
         available_at = coalesce($4, available_at), lease_owner = NULL, lease_expires_at = NULL, \
         updated_at = $5 WHERE id = $6 AND attempts = $7 AND status = 'running'",
    )
    .bind(status.as_str())
    .bind(result_id)
    .bind(error.map(Json))
    .bind(available_at)
    .bind(u.at)
    .bind(u.task_id)
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
        "UPDATE batches SET prompt_tokens = prompt_tokens + $2, \
         completion_tokens = completion_tokens + $3{counters} WHERE id = $1"
    ))
    .bind(u.batch_id)
    .bind(u.prompt_tokens)
    .bind(u.completion_tokens)
    .execute(&mut *conn)
    .await?;
    let exhausted = sqlx::query(
        "UPDATE batches SET state = 'budget_exhausted' WHERE id = $1 AND state = 'active' \
         AND token_budget IS NOT NULL AND prompt_tokens + completion_tokens >= token_budget",
    )
    .bind(u.batch_id)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    if exhausted {
        sqlx::query(&pg(queue::CANCEL_PENDING))
            .bind(u.batch_id)
            .bind(u.at)
            .execute(&mut *conn)
            .await?;
        sqlx::query(&pg(queue::RECOUNT))
            .bind(u.batch_id)
            .execute(&mut *conn)
            .await?;
    }
    let finished = sqlx::query(&pg(&queue::finish_now()))
        .bind(u.batch_id)
        .bind(u.at)
        .fetch_optional(&mut *conn)
        .await?;
    finished.as_ref().map(batch_from_row).transpose()
}
