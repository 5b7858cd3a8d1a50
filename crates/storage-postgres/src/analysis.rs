//! Alias snapshots, analyses, visibility counts and re-analysis jobs (SQL in
//! [`prompter_storage::analysis_sql`]).

use chrono::{DateTime, Utc};
use prompter_storage::analysis_sql as q;
use prompter_storage::{
    rollup_deltas, AliasSnapshot, AnalysisRow, AnswerScan, CountQuery, CountRow, CountSpan,
    DriftEvent, JobProgress, JobStatus, PutSnapshot, ReanalysisJob, Result, StorageError,
    StoredAnalysis, StoredAnswer, DOMAIN, ENTITY,
};
use sqlx::postgres::{PgPool, PgRow};
use sqlx::types::Json;
use sqlx::{PgConnection, Postgres, QueryBuilder, Row};
use std::collections::HashSet;
use uuid::Uuid;

fn snapshot_from_row(row: &PgRow) -> Result<AliasSnapshot> {
    Ok(AliasSnapshot {
        id: row.try_get("id")?,
        org_id: row.try_get("org_id")?,
        workspace_id: row.try_get("workspace_id")?,
        content_hash: row.try_get("content_hash")?,
        entities: row.try_get::<Json<serde_json::Value>, _>("entities")?.0,
        created_at: row.try_get("created_at")?,
        current_since: row.try_get("current_since")?,
    })
}

pub(crate) async fn put_snapshot(pool: &PgPool, s: &AliasSnapshot) -> Result<PutSnapshot> {
    let mut tx = pool.begin().await?;
    let inserted = sqlx::query(&format!(
        "INSERT INTO alias_snapshots ({}) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        q::SNAPSHOT_COLUMNS
    ))
    .bind(s.id)
    .bind(&s.org_id)
    .bind(&s.workspace_id)
    .bind(&s.content_hash)
    .bind(Json(&s.entities))
    .bind(s.created_at)
    .bind(s.current_since)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if inserted {
        tx.commit().await?;
        return Ok(PutSnapshot::Created(s.clone()));
    }
    let row = sqlx::query(&format!(
        "UPDATE alias_snapshots SET current_since = $1 WHERE org_id = $2 AND workspace_id = $3 \
         AND content_hash = $4 RETURNING {}",
        q::SNAPSHOT_COLUMNS
    ))
    .bind(s.current_since)
    .bind(&s.org_id)
    .bind(&s.workspace_id)
    .bind(&s.content_hash)
    .fetch_one(&mut *tx)
    .await?;
    let existing = snapshot_from_row(&row)?;
    tx.commit().await?;
    Ok(PutSnapshot::Existing(existing))
}

pub(crate) async fn current_snapshot(
    pool: &PgPool,
    org: &str,
    ws: &str,
) -> Result<Option<AliasSnapshot>> {
    let row = sqlx::query(&format!(
        "SELECT {} FROM alias_snapshots WHERE org_id = $1 AND workspace_id = $2 \
         ORDER BY current_since DESC, id DESC LIMIT 1",
        q::SNAPSHOT_COLUMNS
    ))
    .bind(org)
    .bind(ws)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(snapshot_from_row).transpose()
}

pub(crate) async fn get_snapshot(pool: &PgPool, id: Uuid) -> Result<Option<AliasSnapshot>> {
    let row = sqlx::query(&format!(
        "SELECT {} FROM alias_snapshots WHERE id = $1",
        q::SNAPSHOT_COLUMNS
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(snapshot_from_row).transpose()
}

pub(crate) async fn list_snapshots(
    pool: &PgPool,
    org: &str,
    ws: &str,
) -> Result<Vec<AliasSnapshot>> {
    let rows = sqlx::query(&format!(
        "SELECT {} FROM alias_snapshots WHERE org_id = $1 AND workspace_id = $2 \
         ORDER BY created_at DESC, id DESC",
        q::SNAPSHOT_COLUMNS
    ))
    .bind(org)
    .bind(ws)
    .fetch_all(pool)
    .await?;
    rows.iter().map(snapshot_from_row).collect()
}

/// Writes the analyses whose key is new, their mentions and their roll-up counts, inside the
/// caller's transaction; returns how many were new. Multi-row inserts, and each roll-up row
/// touched once however many of the analyses count in it.
pub(crate) async fn write_analyses(conn: &mut PgConnection, rows: &[AnalysisRow]) -> Result<u64> {
    let mut new: HashSet<(Uuid, Uuid, String)> = HashSet::new();
    for chunk in rows.chunks(q::INSERT_CHUNK) {
        let mut insert = QueryBuilder::<Postgres>::new(format!(
            "INSERT INTO result_analyses ({}) ",
            q::ANALYSIS_COLUMNS
        ));
        insert.push_values(chunk, |mut b, a| {
            b.push_bind(a.result_id)
                .push_bind(a.alias_snapshot_id)
                .push_bind(a.extractor_version.clone())
                .push_bind(a.org_id.clone())
                .push_bind(a.workspace_id.clone())
                .push_bind(a.template_id)
                .push_bind(a.model_id.clone())
                .push_bind(a.provider.clone())
                .push_bind(a.country.clone().unwrap_or_default())
                .push_bind(a.provider_version_key.clone().unwrap_or_default())
                .push_bind(a.is_fake)
                .push_bind(a.result_created_at)
                .push_bind(a.day())
                .push_bind(Json(a.analysis.clone()))
                .push_bind(a.analysed_at);
        });
        insert.push(q::ANALYSIS_INSERT_TAIL);
        let returned: Vec<(Uuid, Uuid, String)> =
            insert.build_query_as().fetch_all(&mut *conn).await?;
        new.extend(returned);
    }
    let written: Vec<&AnalysisRow> = rows
        .iter()
        .filter(|a| {
            new.contains(&(
                a.result_id,
                a.alias_snapshot_id,
                a.extractor_version.clone(),
            ))
        })
        .collect();
    // (kind, analysis, entity or domain, mentioned, rank, cited)
    type Mention<'a> = (
        &'static str,
        &'a AnalysisRow,
        &'a str,
        bool,
        Option<i32>,
        bool,
    );
    let mentions: Vec<Mention> = written
        .iter()
        .flat_map(|a| {
            let entities = a
                .mentions
                .iter()
                .map(move |m| (ENTITY, *a, m.entity.as_str(), m.mentioned, m.rank, m.cited));
            let domains = a
                .cited_domains
                .iter()
                .map(move |d| (DOMAIN, *a, d.as_str(), false, None, true));
            entities.chain(domains)
        })
        .collect();
    for chunk in mentions.chunks(q::INSERT_CHUNK) {
        let mut insert = QueryBuilder::<Postgres>::new(format!(
            "INSERT INTO result_mentions ({}) ",
            q::MENTION_COLUMNS
        ));
        insert.push_values(chunk, |mut b, (kind, a, entity, mentioned, rank, cited)| {
            b.push_bind(*kind)
                .push_bind(a.result_id)
                .push_bind(a.alias_snapshot_id)
                .push_bind(a.extractor_version.clone())
                .push_bind(entity.to_string())
                .push_bind(*mentioned)
                .push_bind(*rank)
                .push_bind(*cited);
        });
        insert.build().execute(&mut *conn).await?;
    }
    let deltas: Vec<_> = rollup_deltas(written.iter().copied()).into_iter().collect();
    for chunk in deltas.chunks(q::INSERT_CHUNK) {
        let mut upsert = QueryBuilder::<Postgres>::new(format!(
            "INSERT INTO visibility_daily ({}) ",
            q::ROLLUP_COLUMNS
        ));
        upsert.push_values(chunk, |mut b, (k, d)| {
            b.push_bind(k.org_id.clone())
                .push_bind(k.workspace_id.clone())
                .push_bind(k.alias_snapshot_id)
                .push_bind(k.extractor_version.clone())
                .push_bind(k.day.clone())
                .push_bind(k.template_id)
                .push_bind(k.model_id.clone())
                .push_bind(k.provider.clone())
                .push_bind(k.country.clone())
                .push_bind(k.provider_version_key.clone())
                .push_bind(k.is_fake)
                .push_bind(k.entity.clone())
                .push_bind(k.kind)
                .push_bind(d[0])
                .push_bind(d[1])
                .push_bind(d[2])
                .push_bind(d[3])
                .push_bind(d[4]);
        });
        upsert.push(q::ROLLUP_UPSERT_TAIL);
        upsert.build().execute(&mut *conn).await?;
    }
    Ok(written.len() as u64)
}

pub(crate) async fn store_analyses(
    pool: &PgPool,
    rows: &[AnalysisRow],
    progress: Option<&JobProgress>,
) -> Result<Option<u64>> {
    let mut tx = pool.begin().await?;
    if let Some(p) = progress {
        // Locks the job row first: a second process that took the job over after an expired
        // lease waits here, then finds it is not its runner's.
        let moved = sqlx::query(
            "UPDATE reanalysis_jobs SET processed = processed + $1, cursor_created_at = $2, \
             cursor_id = $3, status = CASE WHEN $4 THEN 'succeeded' ELSE 'running' END, \
             finished_at = CASE WHEN $4 THEN $5 ELSE NULL END, \
             runner_id = CASE WHEN $4 THEN NULL ELSE runner_id END, lease_until = $6 \
             WHERE id = $7 AND runner_id = $8 AND status = 'running'",
        )
        .bind(p.processed)
        .bind(p.cursor.map(|c| c.0))
        .bind(p.cursor.map(|c| c.1))
        .bind(p.done)
        .bind(p.at)
        .bind(p.lease_until)
        .bind(p.job_id)
        .bind(p.runner)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if moved == 0 {
            return Ok(None);
        }
    }
    let new = write_analyses(&mut tx, rows).await?;
    if let Some(p) = progress {
        sqlx::query("UPDATE reanalysis_jobs SET analysed = analysed + $1 WHERE id = $2")
            .bind(new as i64)
            .bind(p.job_id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(Some(new))
}

pub(crate) async fn analyses_of(pool: &PgPool, ids: &[Uuid]) -> Result<Vec<StoredAnalysis>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(
        "SELECT result_id, alias_snapshot_id, extractor_version, analysis, analysed_at \
         FROM result_analyses WHERE result_id = ANY($1) ORDER BY analysed_at DESC",
    )
    .bind(ids)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(StoredAnalysis {
                result_id: r.try_get("result_id")?,
                alias_snapshot_id: r.try_get("alias_snapshot_id")?,
                extractor_version: r.try_get("extractor_version")?,
                analysis: r.try_get::<Json<serde_json::Value>, _>("analysis")?.0,
                analysed_at: r.try_get("analysed_at")?,
            })
        })
        .collect()
}

pub(crate) async fn counts(pool: &PgPool, query: &CountQuery) -> Result<Vec<CountRow>> {
    let sql = q::count_sql(query);
    let mut stmt = sqlx::query(&sql)
        .bind(&query.org_id)
        .bind(&query.workspace_id)
        .bind(query.alias_snapshot_id)
        .bind(&query.extractor_version);
    match &query.span {
        CountSpan::Days { from, to } => {
            for day in [from, to].into_iter().flatten() {
                stmt = stmt.bind(day.format("%Y-%m-%d").to_string());
            }
        }
        CountSpan::Times { from, to } => {
            stmt = stmt.bind(*from).bind(*to);
        }
    }
    let rows = stmt.fetch_all(pool).await?;
    let n = query.group_by.len();
    rows.iter()
        .map(|r| {
            let mut keys = Vec::with_capacity(n);
            for i in 0..n {
                keys.push(r.try_get::<Option<String>, _>(i)?.unwrap_or_default());
            }
            Ok(CountRow {
                keys,
                kind: r.try_get(n)?,
                entity: r.try_get(n + 1)?,
                n_answers: r.try_get(n + 2)?,
                n_mentioned: r.try_get(n + 3)?,
                rank_sum: r.try_get(n + 4)?,
                n_ranked: r.try_get(n + 5)?,
                n_cited: r.try_get(n + 6)?,
            })
        })
        .collect()
}

pub(crate) async fn drift(
    pool: &PgPool,
    org: &str,
    ws: &str,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<Vec<DriftEvent>> {
    let sql = q::drift_sql(from.is_some(), to.is_some());
    let mut stmt = sqlx::query(&sql).bind(org).bind(ws);
    for t in [from, to].into_iter().flatten() {
        stmt = stmt.bind(t);
    }
    let rows = stmt.fetch_all(pool).await?;
    rows.iter()
        .map(|r| {
            Ok(DriftEvent {
                template_id: r.try_get("template_id")?,
                model_id: r.try_get("model_id")?,
                provider_version_key: r.try_get("provider_version_key")?,
                first_seen_at: r.try_get("first_seen_at")?,
            })
        })
        .collect()
}

pub(crate) async fn scan_answers(pool: &PgPool, s: &AnswerScan) -> Result<Vec<StoredAnswer>> {
    let sql = q::scan_sql(s.from.is_some(), s.to.is_some(), s.after.is_some());
    let mut stmt = sqlx::query(&sql).bind(&s.org_id).bind(&s.workspace_id);
    for t in [s.from, s.to].into_iter().flatten() {
        stmt = stmt.bind(t);
    }
    if let Some((t, id)) = s.after {
        stmt = stmt.bind(t).bind(id);
    }
    let rows = stmt.bind(i64::from(s.limit)).fetch_all(pool).await?;
    rows.iter()
        .map(|r| {
            Ok(StoredAnswer {
                result_id: r.try_get("id")?,
                org_id: r.try_get("org_id")?,
                workspace_id: r.try_get("workspace_id")?,
                template_id: r.try_get("template_id")?,
                model_id: r.try_get("model_id")?,
                provider: r.try_get("provider")?,
                country: r.try_get("run_country")?,
                provider_version_key: r.try_get("provider_version_key")?,
                is_fake: r.try_get("is_fake")?,
                created_at: r.try_get("created_at")?,
                answer: r.try_get("answer")?,
                citations: r
                    .try_get::<Option<Json<serde_json::Value>>, _>("citations")?
                    .map(|j| j.0),
            })
        })
        .collect()
}

pub(crate) async fn count_answers(pool: &PgPool, s: &AnswerScan) -> Result<i64> {
    let sql = q::count_answers_sql(s.from.is_some(), s.to.is_some());
    let mut stmt = sqlx::query_scalar(&sql)
        .bind(&s.org_id)
        .bind(&s.workspace_id);
    for t in [s.from, s.to].into_iter().flatten() {
        stmt = stmt.bind(t);
    }
    Ok(stmt.fetch_one(pool).await?)
}

fn job_from_row(r: &PgRow) -> Result<ReanalysisJob> {
    let status: String = r.try_get("status")?;
    let cursor = match (
        r.try_get::<Option<DateTime<Utc>>, _>("cursor_created_at")?,
        r.try_get::<Option<Uuid>, _>("cursor_id")?,
    ) {
        (Some(t), Some(id)) => Some((t, id)),
        _ => None,
    };
    Ok(ReanalysisJob {
        id: r.try_get("id")?,
        org_id: r.try_get("org_id")?,
        workspace_id: r.try_get("workspace_id")?,
        alias_snapshot_id: r.try_get("alias_snapshot_id")?,
        extractor_version: r.try_get("extractor_version")?,
        from: r.try_get("range_from")?,
        to: r.try_get("range_to")?,
        status: JobStatus::parse(&status)
            .ok_or_else(|| StorageError::internal(format!("unknown job status {status}")))?,
        total: r.try_get("total")?,
        processed: r.try_get("processed")?,
        analysed: r.try_get("analysed")?,
        cursor,
        error: r.try_get("error")?,
        created_at: r.try_get("created_at")?,
        started_at: r.try_get("started_at")?,
        finished_at: r.try_get("finished_at")?,
    })
}

pub(crate) async fn create_job(pool: &PgPool, j: &ReanalysisJob) -> Result<()> {
    sqlx::query(
        "INSERT INTO reanalysis_jobs (id, org_id, workspace_id, alias_snapshot_id, \
         extractor_version, range_from, range_to, status, total, processed, analysed, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(j.id)
    .bind(&j.org_id)
    .bind(&j.workspace_id)
    .bind(j.alias_snapshot_id)
    .bind(&j.extractor_version)
    .bind(j.from)
    .bind(j.to)
    .bind(j.status.as_str())
    .bind(j.total)
    .bind(j.processed)
    .bind(j.analysed)
    .bind(j.created_at)
    .execute(pool)
    .await?;
    Ok(())
}

pub(crate) async fn get_job(pool: &PgPool, id: Uuid) -> Result<Option<ReanalysisJob>> {
    let row = sqlx::query(&format!(
        "SELECT {} FROM reanalysis_jobs WHERE id = $1",
        q::JOB_COLUMNS
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(job_from_row).transpose()
}

/// `FOR UPDATE SKIP LOCKED`: concurrent claimers (replicas) never take the same job.
pub(crate) async fn claim_job(
    pool: &PgPool,
    runner: Uuid,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> Result<Option<ReanalysisJob>> {
    let row = sqlx::query(&format!(
        "UPDATE reanalysis_jobs SET status = 'running', runner_id = $1, lease_until = $2, \
         started_at = COALESCE(started_at, $3) WHERE id = (SELECT id FROM reanalysis_jobs \
         WHERE status = 'queued' OR (status = 'running' AND lease_until < $3) \
         ORDER BY created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING {}",
        q::JOB_COLUMNS
    ))
    .bind(runner)
    .bind(lease_until)
    .bind(now)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(job_from_row).transpose()
}

pub(crate) async fn fail_job(
    pool: &PgPool,
    id: Uuid,
    runner: Uuid,
    error: &str,
    at: DateTime<Utc>,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE reanalysis_jobs SET status = 'failed', error = $1, finished_at = $2, \
         runner_id = NULL, lease_until = NULL WHERE id = $3 AND runner_id = $4 \
         AND status = 'running'",
    )
    .bind(error)
    .bind(at)
    .bind(id)
    .bind(runner)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}
