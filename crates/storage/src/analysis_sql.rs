//! The statements of brand-visibility storage, written once for both SQL backends. They use
//! `$n` placeholders; SQLite's backend turns them into `?n` ([`for_sqlite`]). Timestamps,
//! UUIDs and booleans are bound in each backend's own types; the column types differ, the SQL
//! does not.

use crate::analysis::{CountQuery, CountSpan};

/// The statement text with SQLite's `?n` placeholders instead of `$n`.
pub fn for_sqlite(sql: &str) -> String {
    sql.replace('$', "?")
}

/// `alias_snapshots` columns, read and inserted.
pub const SNAPSHOT_COLUMNS: &str =
    "id, org_id, workspace_id, content_hash, entities, created_at, current_since";

/// The columns of `result_analyses`, in insert bind order.
pub const ANALYSIS_COLUMNS: &str = "result_id, alias_snapshot_id, extractor_version, org_id, \
    workspace_id, template_id, model_id, provider, country, provider_version_key, is_fake, \
    result_created_at, day, analysis, analysed_at";

/// What ends a multi-row insert of analyses: existing keys are skipped, the new ones returned.
pub const ANALYSIS_INSERT_TAIL: &str =
    " ON CONFLICT DO NOTHING RETURNING result_id, alias_snapshot_id, extractor_version";

/// The columns of `result_mentions`, in insert bind order.
pub const MENTION_COLUMNS: &str =
    "kind, result_id, alias_snapshot_id, extractor_version, entity, mentioned, rank, cited";

/// Rows per multi-row insert (15 binds each: well under both databases' limits).
pub const INSERT_CHUNK: usize = 500;

/// The columns of `visibility_daily`: the 13 key columns, then the 5 counts, in bind order.
pub const ROLLUP_COLUMNS: &str = "org_id, workspace_id, alias_snapshot_id, extractor_version, \
    day, template_id, model_id, provider, country, provider_version_key, is_fake, entity, kind, \
    n_answers, n_mentioned, rank_sum, n_ranked, n_cited";

/// What ends a multi-row insert into the roll-up: an existing row gets the counts added. The
/// rows of one statement must have distinct keys ([`crate::rollup_deltas`] sums them first).
pub const ROLLUP_UPSERT_TAIL: &str = " ON CONFLICT (org_id, workspace_id, alias_snapshot_id, \
    extractor_version, day, template_id, model_id, provider, country, provider_version_key, \
    is_fake, kind, entity) DO UPDATE SET \
    n_answers = visibility_daily.n_answers + excluded.n_answers, \
    n_mentioned = visibility_daily.n_mentioned + excluded.n_mentioned, \
    rank_sum = visibility_daily.rank_sum + excluded.rank_sum, \
    n_ranked = visibility_daily.n_ranked + excluded.n_ranked, \
    n_cited = visibility_daily.n_cited + excluded.n_cited";

/// The counts of a [`CountQuery`]. Binds: org, workspace, snapshot, extractor version, then the
/// span's `from` and `to` where present (days as `YYYY-MM-DD` text, times as timestamps).
/// Selected: the group columns as text, `kind`, `entity`, then the five counts as 64-bit
/// integers.
pub fn count_sql(q: &CountQuery) -> String {
    let keys = |alias: &str| -> String {
        q.group_by
            .iter()
            .map(|c| format!("CAST({alias}{} AS TEXT), ", c.column()))
            .collect()
    };
    let group = |alias: &str, extra: &str| -> String {
        let mut cols: Vec<String> = q
            .group_by
            .iter()
            .map(|c| format!("{alias}{}", c.column()))
            .collect();
        if !extra.is_empty() {
            cols.push(extra.to_owned());
        }
        if cols.is_empty() {
            String::new()
        } else {
            format!(" GROUP BY {}", cols.join(", "))
        }
    };
    let scope = |alias: &str, time_column: &str| -> String {
        let mut w = format!(
            "{alias}org_id = $1 AND {alias}workspace_id = $2 AND {alias}alias_snapshot_id = $3 \
             AND {alias}extractor_version = $4"
        );
        if !q.include_fake {
            w.push_str(&format!(" AND NOT {alias}is_fake"));
        }
        let (from, to) = match &q.span {
            CountSpan::Days { from, to } => (from.is_some(), to.is_some()),
            CountSpan::Times { .. } => (true, true),
        };
        push_range(&mut w, &format!("{alias}{time_column}"), from, to, 5);
        w
    };
    match q.span {
        CountSpan::Days { .. } => format!(
            "SELECT {}kind, entity, CAST(SUM(n_answers) AS BIGINT), CAST(SUM(n_mentioned) AS BIGINT), \
             CAST(SUM(rank_sum) AS BIGINT), CAST(SUM(n_ranked) AS BIGINT), \
             CAST(SUM(n_cited) AS BIGINT) FROM visibility_daily WHERE {}{}",
            keys(""),
            scope("", "day"),
            group("", "kind, entity")
        ),
        CountSpan::Times { .. } => format!(
            "SELECT {}'entity' AS kind, '' AS entity, CAST(COUNT(*) AS BIGINT), CAST(0 AS BIGINT), \
             CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT) FROM result_analyses a \
             WHERE {}{} \
             UNION ALL \
             SELECT {}m.kind, m.entity, CAST(0 AS BIGINT), \
             CAST(SUM(CASE WHEN m.mentioned THEN 1 ELSE 0 END) AS BIGINT), \
             CAST(COALESCE(SUM(m.rank), 0) AS BIGINT), CAST(COUNT(m.rank) AS BIGINT), \
             CAST(SUM(CASE WHEN m.cited THEN 1 ELSE 0 END) AS BIGINT) \
             FROM result_analyses a JOIN result_mentions m ON m.result_id = a.result_id \
             AND m.alias_snapshot_id = a.alias_snapshot_id \
             AND m.extractor_version = a.extractor_version WHERE {}{}",
            keys("a."),
            scope("a.", "result_created_at"),
            group("a.", ""),
            keys("a."),
            scope("a.", "result_created_at"),
            group("a.", "m.kind, m.entity"),
        ),
    }
}

/// The answers a re-analysis goes through: succeeded results of a workspace with an answer,
/// oldest first by `(created_at, id)`. Binds: org, workspace, then `from`, `to` and the cursor
/// `(created_at, id)` where present, then the limit.
pub fn scan_sql(from: bool, to: bool, after: bool) -> String {
    let mut sql = String::from(
        "SELECT id, org_id, workspace_id, template_id, model_id, provider, run_country, \
         provider_version_key, is_fake, created_at, answer, citations FROM prompt_results \
         WHERE org_id = $1 AND workspace_id = $2 AND status = 'succeeded' AND answer IS NOT NULL",
    );
    let mut n = push_range(&mut sql, "created_at", from, to, 3);
    if after {
        sql.push_str(&format!(" AND (created_at, id) > (${n}, ${})", n + 1));
        n += 2;
    }
    sql.push_str(&format!(" ORDER BY created_at, id LIMIT ${n}"));
    sql
}

/// Appends `AND column >= $n` / `AND column < $n'` for the bounds present, numbering from
/// `n`; returns the next placeholder number.
fn push_range(sql: &mut String, column: &str, from: bool, to: bool, mut n: usize) -> usize {
    for (present, op) in [(from, ">="), (to, "<")] {
        if present {
            sql.push_str(&format!(" AND {column} {op} ${n}"));
            n += 1;
        }
    }
    n
}

/// How many answers [`scan_sql`] would go through without a cursor or limit.
pub fn count_answers_sql(from: bool, to: bool) -> String {
    let mut sql = String::from(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM prompt_results WHERE org_id = $1 AND \
         workspace_id = $2 AND status = 'succeeded' AND answer IS NOT NULL",
    );
    push_range(&mut sql, "created_at", from, to, 3);
    sql
}

/// Version keys first seen answering a workspace's templates, in time order. Binds: org,
/// workspace, then `from` and `to` where present.
pub fn drift_sql(from: bool, to: bool) -> String {
    let mut sql = String::from(
        "SELECT template_id, model_id, provider_version_key, first_seen_at FROM prompt_versions \
         WHERE org_id = $1 AND workspace_id = $2",
    );
    push_range(&mut sql, "first_seen_at", from, to, 3);
    sql.push_str(" ORDER BY first_seen_at, id");
    sql
}

/// `reanalysis_jobs` columns, read.
pub const JOB_COLUMNS: &str = "id, org_id, workspace_id, alias_snapshot_id, extractor_version, \
    range_from, range_to, status, total, processed, analysed, cursor_created_at, cursor_id, \
    error, created_at, started_at, finished_at";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::CountColumn;
    use uuid::Uuid;

    fn query(span: CountSpan) -> CountQuery {
        CountQuery {
            org_id: "o".into(),
            workspace_id: "w".into(),
            alias_snapshot_id: Uuid::nil(),
            extractor_version: "x".into(),
            include_fake: false,
            group_by: vec![CountColumn::Model, CountColumn::Day],
            span,
        }
    }

    #[test]
    fn placeholders_follow_the_present_bounds() {
        let sql = count_sql(&query(CountSpan::Days {
            from: None,
            to: chrono::NaiveDate::from_ymd_opt(2026, 1, 2),
        }));
        assert!(sql.contains("AND day < $5"), "{sql}");
        assert!(!sql.contains("$6"), "{sql}");
        assert!(
            sql.contains("GROUP BY model_id, day, kind, entity"),
            "{sql}"
        );
        assert!(sql.contains("AND NOT is_fake"), "{sql}");
        let scan = scan_sql(false, true, true);
        assert!(scan.contains("created_at < $3"), "{scan}");
        assert!(scan.contains("(created_at, id) > ($4, $5)"), "{scan}");
        assert!(scan.ends_with("LIMIT $6"), "{scan}");
        assert_eq!(for_sqlite("a = $1 AND b = $12"), "a = ?1 AND b = ?12");
    }

    #[test]
    fn ungrouped_counts_have_no_group_keys() {
        let mut q = query(CountSpan::Times {
            from: chrono::Utc::now(),
            to: chrono::Utc::now(),
        });
        q.group_by.clear();
        q.include_fake = true;
        let sql = count_sql(&q);
        assert!(!sql.contains("is_fake"), "{sql}");
        assert!(sql.contains("GROUP BY m.kind, m.entity"), "{sql}");
        assert!(sql.contains("result_created_at >= $5 AND a.result_created_at < $6"));
    }
}
