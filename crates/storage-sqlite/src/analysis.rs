//! Alias snapshots, analyses, visibility counts and re-analysis jobs (SQL in
//! [`prompter_storage::analysis_sql`]).

use chrono::{DateTime, Utc};
use prompter_storage::analysis_sql::{self as q, for_sqlite};
use prompter_storage::{
    json_from_text, rollup_deltas, timestamp, AliasSnapshot, AnalysisRow, AnswerScan, CountQuery,
    CountRow, CountSpan, DriftEvent, JobProgress, JobStatus, PutSnapshot, ReanalysisJob, Result,
    StorageError, StoredAnalysis, StoredAnswer, DOMAIN, ENTITY,
};
use sqlx::sqlite::{SqlitePool, SqliteRow};
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};
use std::collections::HashSet;
use uuid::Uuid;

use crate::rows::{json_text, opt_ts, opt_uuid, parse_ts as ts, parse_uuid};

/// A uuid column (text in SQLite).
fn uuid(row: &SqliteRow, column: &str) -> Result<Uuid> {
    parse_uuid(column, &row.try_get::<String, _>(column)?)
}

fn snapshot_from_row(row: &SqliteRow) -> Result<AliasSnapshot> {
    Ok(AliasSnapshot {
        id: uuid(row, "id")?,
        org_id: row.try_get("org_id")?,
        workspace_id: row.try_get("workspace_id")?,
        content_hash: row.try_get("content_hash")?,
        entities: json_from_text("entities", row.try_get("entities")?)?,
        created_at: ts("created_at", row.try_get("created_at")?)?,
        current_since: ts("current_since", row.try_get("current_since")?)?,
    })
}

pub(crate) async fn put_snapshot(writer: &SqlitePool, s: &AliasSnapshot) -> Result<PutSnapshot> {
    let mut tx = writer.begin().await?;
    let inserted = sqlx::query(&format!(
        "INSERT INTO alias_snapshots ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
        q::SNAPSHOT_COLUMNS
    ))
    .bind(s.id.to_string())
    .bind(&s.org_id)
    .bind(&s.workspace_id)
    .bind(&s.content_hash)
    .bind(json_text(&s.entities))
    .bind(timestamp::format(&s.created_at))
    .bind(timestamp::format(&s.current_since))
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if inserted {
        tx.commit().await?;
        return Ok(PutSnapshot::Created(s.clone()));
    }
    sqlx::query(
        "UPDATE alias_snapshots SET current_since = ?1 WHERE org_id = ?2 AND workspace_id = ?3 \
         AND content_hash = ?4",
    )
    .bind(timestamp::format(&s.current_since))
    .bind(&s.org_id)
    .bind(&s.workspace_id)
    .bind(&s.content_hash)
    .execute(&mut *tx)
    .await?;
    let row = sqlx::query(&format!(
        "SELECT {} FROM alias_snapshots WHERE org_id = ?1 AND workspace_id = ?2 AND content_hash = ?3",
        q::SNAPSHOT_COLUMNS
    ))
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
    reader: &SqlitePool,
    org: &str,
    ws: &str,
) -> Result<Option<AliasSnapshot>> {
    let row = sqlx::query(&format!(
        "SELECT {} FROM alias_snapshots WHERE org_id = ?1 AND workspace_id = ?2 \
         ORDER BY current_since DESC, id DESC LIMIT 1",
        q::SNAPSHOT_COLUMNS
    ))
    .bind(org)
    .bind(ws)
    .fetch_optional(reader)
    .await?;
    row.as_ref().map(snapshot_from_row).transpose()
}

pub(crate) async fn get_snapshot(reader: &SqlitePool, id: Uuid) -> Result<Option<AliasSnapshot>> {
    let row = sqlx::query(&format!(
        "SELECT {} FROM alias_snapshots WHERE id = ?1",
        q::SNAPSHOT_COLUMNS
    ))
    .bind(id.to_string())
    .fetch_optional(reader)
    .await?;
    row.as_ref().map(snapshot_from_row).transpose()
}

pub(crate) async fn list_snapshots(
    reader: &SqlitePool,
    org: &str,
    ws: &str,
) -> Result<Vec<AliasSnapshot>> {
    let rows = sqlx::query(&format!(
        "SELECT {} FROM alias_snapshots WHERE org_id = ?1 AND workspace_id = ?2 \
         ORDER BY created_at DESC, id DESC",
        q::SNAPSHOT_COLUMNS
    ))
    .bind(org)
    .bind(ws)
    .fetch_all(reader)
    .await?;
    rows.iter().map(snapshot_from_row).collect()
}

/// Writes the analyses whose key is new, their mentions and their roll-up counts, inside the
/// caller's transaction; returns how many were new. Multi-row inserts, and each roll-up row
/// touched once however many of the analyses count in it.
pub(crate) async fn write_analyses(
    conn: &mut SqliteConnection,
    rows: &[AnalysisRow],
) -> Result<u64> {
    let mut new: HashSet<(String, String, String)> = HashSet::new();
    for chunk in rows.chunks(q::INSERT_CHUNK) {
        let mut insert = QueryBuilder::<Sqlite>::new(format!(
            "INSERT INTO result_analyses ({}) ",
            q::ANALYSIS_COLUMNS
        ));
        insert.push_values(chunk, |mut b, a| {
            b.push_bind(a.result_id.to_string())
                .push_bind(a.alias_snapshot_id.to_string())
                .push_bind(a.extractor_version.clone())
                .push_bind(a.org_id.clone())
                .push_bind(a.workspace_id.clone())
                .push_bind(a.template_id.to_string())
                .push_bind(a.model_id.clone())
                .push_bind(a.provider.clone())
                .push_bind(a.country.clone().unwrap_or_default())
                .push_bind(a.provider_version_key.clone().unwrap_or_default())
                .push_bind(a.is_fake)
                .push_bind(timestamp::format(&a.result_created_at))
                .push_bind(a.day())
                .push_bind(json_text(&a.analysis))
                .push_bind(timestamp::format(&a.analysed_at));
        });
        insert.push(q::ANALYSIS_INSERT_TAIL);
        let returned: Vec<(String, String, String)> =
            insert.build_query_as().fetch_all(&mut *conn).await?;
        new.extend(returned);
    }
    let written: Vec<&AnalysisRow> = rows
        .iter()
        .filter(|a| {
            new.contains(&(
                a.result_id.to_string(),
                a.alias_snapshot_id.to_string(),
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
        let mut insert = QueryBuilder::<Sqlite>::new(format!(
            "INSERT INTO result_mentions ({}) ",
            q::MENTION_COLUMNS
        ));
        insert.push_values(chunk, |mut b, (kind, a, entity, mentioned, rank, cited)| {
            b.push_bind(*kind)
                .push_bind(a.result_id.to_string())
                .push_bind(a.alias_snapshot_id.to_string())
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
        let mut upsert = QueryBuilder::<Sqlite>::new(format!(
            "INSERT INTO visibility_daily ({}) ",
            q::ROLLUP_COLUMNS
        ));
        upsert.push_values(chunk, |mut b, (k, d)| {
            b.push_bind(k.org_id.clone())
                .push_bind(k.workspace_id.clone())
                .push_bind(k.alias_snapshot_id.to_string())
                .push_bind(k.extractor_version.clone())
                .push_bind(k.day.clone())
                .push_bind(k.template_id.to_string())
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
    writer: &SqlitePool,
    rows: &[AnalysisRow],
    progress: Option<&JobProgress>,
) -> Result<Option<u64>> {
    let mut tx = writer.begin().await?;
    if let Some(p) = progress {
        let moved = sqlx::query(
            "UPDATE reanalysis_jobs SET processed = processed + ?1, cursor_created_at = ?2, \
             cursor_id = ?3, status = CASE WHEN ?4 THEN 'succeeded' ELSE 'running' END, \
             finished_at = CASE WHEN ?4 THEN ?5 ELSE NULL END, \
             runner_id = CASE WHEN ?4 THEN NULL ELSE runner_id END, lease_until = ?6 \
             WHERE id = ?7 AND runner_id = ?8 AND status = 'running'",
        )
        .bind(p.processed)
        .bind(p.cursor.map(|c| timestamp::format(&c.0)))
        .bind(p.cursor.map(|c| c.1.to_string()))
        .bind(p.done)
        .bind(timestamp::format(&p.at))
        .bind(timestamp::format(&p.lease_until))
        .bind(p.job_id.to_string())
        .bind(p.runner.to_string())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if moved == 0 {
            return Ok(None);
        }
    }
    let new = write_analyses(&mut tx, rows).await?;
    if let Some(p) = progress {
        sqlx::query("UPDATE reanalysis_jobs SET analysed = analysed + ?1 WHERE id = ?2")
            .bind(new as i64)
            .bind(p.job_id.to_string())
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(Some(new))
}

pub(crate) async fn analyses_of(reader: &SqlitePool, ids: &[Uuid]) -> Result<Vec<StoredAnalysis>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    let rows = sqlx::query(
        "SELECT result_id, alias_snapshot_id, extractor_version, analysis, analysed_at \
         FROM result_analyses WHERE result_id IN (SELECT value FROM json_each(?1)) \
         ORDER BY analysed_at DESC",
    )
    .bind(json_text(&ids))
    .fetch_all(reader)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(StoredAnalysis {
                result_id: uuid(r, "result_id")?,
                alias_snapshot_id: uuid(r, "alias_snapshot_id")?,
                extractor_version: r.try_get("extractor_version")?,
                analysis: json_from_text("analysis", r.try_get("analysis")?)?,
                analysed_at: ts("analysed_at", r.try_get("analysed_at")?)?,
            })
        })
        .collect()
}

pub(crate) async fn counts(reader: &SqlitePool, query: &CountQuery) -> Result<Vec<CountRow>> {
    let sql = for_sqlite(&q::count_sql(query));
    let mut stmt = sqlx::query(&sql)
        .bind(&query.org_id)
        .bind(&query.workspace_id)
        .bind(query.alias_snapshot_id.to_string())
        .bind(&query.extractor_version);
    match &query.span {
        CountSpan::Days { from, to } => {
            for day in [from, to].into_iter().flatten() {
                stmt = stmt.bind(day.format("%Y-%m-%d").to_string());
            }
        }
        CountSpan::Times { from, to } => {
            stmt = stmt
                .bind(timestamp::format(from))
                .bind(timestamp::format(to));
        }
    }
    let rows = stmt.fetch_all(reader).await?;
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
    reader: &SqlitePool,
    org: &str,
    ws: &str,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<Vec<DriftEvent>> {
    let sql = for_sqlite(&q::drift_sql(from.is_some(), to.is_some()));
    let mut stmt = sqlx::query(&sql).bind(org).bind(ws);
    for t in [from, to].into_iter().flatten() {
        stmt = stmt.bind(timestamp::format(&t));
    }
    let rows = stmt.fetch_all(reader).await?;
    rows.iter()
        .map(|r| {
            Ok(DriftEvent {
                template_id: uuid(r, "template_id")?,
                model_id: r.try_get("model_id")?,
                provider_version_key: r.try_get("provider_version_key")?,
                first_seen_at: ts("first_seen_at", r.try_get("first_seen_at")?)?,
            })
        })
        .collect()
}

pub(crate) async fn scan_answers(reader: &SqlitePool, s: &AnswerScan) -> Result<Vec<StoredAnswer>> {
    let sql = for_sqlite(&q::scan_sql(
        s.from.is_some(),
        s.to.is_some(),
        s.after.is_some(),
    ));
    let mut stmt = sqlx::query(&sql).bind(&s.org_id).bind(&s.workspace_id);
    for t in [s.from, s.to].into_iter().flatten() {
        stmt = stmt.bind(timestamp::format(&t));
    }
    if let Some((t, id)) = s.after {
        stmt = stmt.bind(timestamp::format(&t)).bind(id.to_string());
    }
    let rows = stmt.bind(i64::from(s.limit)).fetch_all(reader).await?;
    rows.iter()
        .map(|r| {
            Ok(StoredAnswer {
                result_id: uuid(r, "id")?,
                org_id: r.try_get("org_id")?,
                workspace_id: r.try_get("workspace_id")?,
                template_id: uuid(r, "template_id")?,
                model_id: r.try_get("model_id")?,
                provider: r.try_get("provider")?,
                country: r.try_get("run_country")?,
                provider_version_key: r.try_get("provider_version_key")?,
                is_fake: r.try_get("is_fake")?,
                created_at: ts("created_at", r.try_get("created_at")?)?,
                answer: r.try_get("answer")?,
                citations: r
                    .try_get::<Option<String>, _>("citations")?
                    .map(|t| json_from_text("citations", &t))
                    .transpose()?,
            })
        })
        .collect()
}

pub(crate) async fn count_answers(reader: &SqlitePool, s: &AnswerScan) -> Result<i64> {
    let sql = for_sqlite(&q::count_answers_sql(s.from.is_some(), s.to.is_some()));
    let mut stmt = sqlx::query_scalar(&sql)
        .bind(&s.org_id)
        .bind(&s.workspace_id);
    for t in [s.from, s.to].into_iter().flatten() {
        stmt = stmt.bind(timestamp::format(&t));
    }
    Ok(stmt.fetch_one(reader).await?)
}

fn job_from_row(r: &SqliteRow) -> Result<ReanalysisJob> {
    let status: String = r.try_get("status")?;
    let cursor = match (opt_ts(r, "cursor_created_at")?, opt_uuid(r, "cursor_id")?) {
        (Some(t), Some(id)) => Some((t, id)),
        _ => None,
    };
    Ok(ReanalysisJob {
        id: uuid(r, "id")?,
        org_id: r.try_get("org_id")?,
        workspace_id: r.try_get("workspace_id")?,
        alias_snapshot_id: uuid(r, "alias_snapshot_id")?,
        extractor_version: r.try_get("extractor_version")?,
        from: opt_ts(r, "range_from")?,
        to: opt_ts(r, "range_to")?,
        status: JobStatus::parse(&status)
            .ok_or_else(|| StorageError::internal(format!("unknown job status {status}")))?,
        total: r.try_get("total")?,
        processed: r.try_get("processed")?,
        analysed: r.try_get("analysed")?,
        cursor,
        error: r.try_get("error")?,
        created_at: ts("created_at", r.try_get("created_at")?)?,
        started_at: opt_ts(r, "started_at")?,
        finished_at: opt_ts(r, "finished_at")?,
    })
}

pub(crate) async fn create_job(writer: &SqlitePool, j: &ReanalysisJob) -> Result<()> {
    let f = |t: &Option<DateTime<Utc>>| t.as_ref().map(timestamp::format);
    sqlx::query(
        "INSERT INTO reanalysis_jobs (id, org_id, workspace_id, alias_snapshot_id, \
         extractor_version, range_from, range_to, status, total, processed, analysed, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )
    .bind(j.id.to_string())
    .bind(&j.org_id)
    .bind(&j.workspace_id)
    .bind(j.alias_snapshot_id.to_string())
    .bind(&j.extractor_version)
    .bind(f(&j.from))
    .bind(f(&j.to))
    .bind(j.status.as_str())
    .bind(j.total)
    .bind(j.processed)
    .bind(j.analysed)
    .bind(timestamp::format(&j.created_at))
    .execute(writer)
    .await?;
    Ok(())
}

pub(crate) async fn get_job(reader: &SqlitePool, id: Uuid) -> Result<Option<ReanalysisJob>> {
    let row = sqlx::query(&format!(
        "SELECT {} FROM reanalysis_jobs WHERE id = ?1",
        q::JOB_COLUMNS
    ))
    .bind(id.to_string())
    .fetch_optional(reader)
    .await?;
    row.as_ref().map(job_from_row).transpose()
}

/// The one writer serialises claims: the select and the update run on its connection in one
/// transaction.
pub(crate) async fn claim_job(
    writer: &SqlitePool,
    runner: Uuid,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> Result<Option<ReanalysisJob>> {
    let mut tx = writer.begin().await?;
    let row = sqlx::query(&format!(
        "SELECT {} FROM reanalysis_jobs WHERE status = 'queued' \
         OR (status = 'running' AND lease_until < ?1) ORDER BY created_at, id LIMIT 1",
        q::JOB_COLUMNS
    ))
    .bind(timestamp::format(&now))
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let mut job = job_from_row(&row)?;
    sqlx::query(
        "UPDATE reanalysis_jobs SET status = 'running', runner_id = ?1, lease_until = ?2, \
         started_at = COALESCE(started_at, ?3) WHERE id = ?4",
    )
    .bind(runner.to_string())
    .bind(timestamp::format(&lease_until))
    .bind(timestamp::format(&now))
    .bind(job.id.to_string())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    job.status = JobStatus::Running;
    job.started_at.get_or_insert(now);
    Ok(Some(job))
}

pub(crate) async fn fail_job(
    writer: &SqlitePool,
    id: Uuid,
    runner: Uuid,
    error: &str,
    at: DateTime<Utc>,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE reanalysis_jobs SET status = 'failed', error = ?1, finished_at = ?2, \
         runner_id = NULL, lease_until = NULL WHERE id = ?3 AND runner_id = ?4 \
         AND status = 'running'",
    )
    .bind(error)
    .bind(timestamp::format(&at))
    .bind(id.to_string())
    .bind(runner.to_string())
    .execute(writer)
    .await?;
    Ok(done.rows_affected() == 1)
}
