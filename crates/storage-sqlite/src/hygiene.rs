//! Registry hygiene: applying an import's or a dedupe's merge plan in one transaction, and
//! looking up which ids exist (what an import skips).
//!
//! A plan can hold 100,000 templates and a million results, so inserts are multi-row
//! statements as large as SQLite's variable limit allows (one fsync and few statement
//! executions for the whole plan). Updates of rows found by primary key are one prepared
//! statement per row, which SQLite runs in microseconds inside the open transaction. Result
//! moves are set-based (through a temporary table) because `prompt_results.version_id` has no
//! index: a statement per moved version would scan the results once each.
//!
//! Every update changes only rows that differ from the plan, so the counts returned are the
//! rows actually changed and applying a plan twice reports nothing the second time.

use prompter_storage::columns::{
    RESULT_IMPORT_COLUMNS, TEMPLATE_INSERT_COLUMNS, VERSION_IMPORT_COLUMNS,
};
use prompter_storage::{
    first_per_key, lookup_order, timestamp, IdTable, ImportedResult, ImportedTemplate,
    ImportedVersion, MergeApplied, MergePlan, NewWorkspace, Result, EXISTING_IDS_CHUNK,
};
use sqlx::query_builder::Separated;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};
use uuid::Uuid;

use crate::rows::{json_text, parse_uuid};

/// SQLite's limit on bound variables in one statement (`SQLITE_MAX_VARIABLE_NUMBER` since
/// 3.32): a multi-row insert takes as many rows as fit.
const MAX_VARIABLES: usize = 32_766;

/// Applies the plan on the writer, in the order documented on [`MergePlan`]. Any error drops
/// the transaction, which rolls everything back.
pub(crate) async fn apply_merge_plan(
    db: &crate::SqliteDatabase,
    plan: &MergePlan,
) -> Result<MergeApplied> {
    let mut tx = db.writer.begin().await?;
    let applied = apply(&mut tx, plan).await?;
    tx.commit().await?;
    Ok(applied)
}

async fn apply(conn: &mut SqliteConnection, plan: &MergePlan) -> Result<MergeApplied> {
    let mut applied = MergeApplied {
        workspaces_inserted: insert_workspaces(conn, &plan.workspaces).await?,
        ..MergeApplied::default()
    };

    let now = timestamp::format(&timestamp::now());
    for (from, into) in first_per_key(&plan.template_merges, |p| p.0) {
        // An earlier deletion keeps its time; only a row not merged into `into` yet changes.
        applied.templates_merged += sqlx::query(
            "UPDATE prompt_templates SET deleted_at = COALESCE(deleted_at, ?1), merged_into = ?2 \
             WHERE id = ?3 AND (deleted_at IS NULL OR merged_into IS NOT ?2)",
        )
        .bind(&now)
        .bind(into.to_string())
        .bind(from.to_string())
        .execute(&mut *conn)
        .await?
        .rows_affected();
    }

    for r in first_per_key(&plan.rehash, |r| r.template_id) {
        applied.templates_rehashed += sqlx::query(
            "UPDATE prompt_templates SET config_hash = ?1, config_canonical_json = ?2, \
             near_key = ?3 WHERE id = ?4 AND (config_hash IS NOT ?1 \
             OR config_canonical_json IS NOT ?2 OR near_key IS NOT ?3)",
        )
        .bind(&r.config_hash)
        .bind(&r.config_canonical_json)
        .bind(&r.near_key)
        .bind(r.template_id.to_string())
        .execute(&mut *conn)
        .await?
        .rows_affected();
    }

    applied.templates_inserted = insert_templates(conn, &plan.templates).await?;
    applied.versions_inserted = insert_versions(conn, &plan.versions).await?;

    for (version, into) in first_per_key(&plan.version_merges, |p| p.0) {
        applied.versions_merged += sqlx::query(
            "UPDATE prompt_versions SET merged_into = ?1 WHERE id = ?2 AND merged_into IS NOT ?1",
        )
        .bind(into.to_string())
        .bind(version.to_string())
        .execute(&mut *conn)
        .await?
        .rows_affected();
    }

    for (version, template) in first_per_key(&plan.version_moves, |p| p.0) {
        applied.versions_moved += sqlx::query(
            "UPDATE prompt_versions SET template_id = ?1 WHERE id = ?2 AND template_id <> ?1",
        )
        .bind(template.to_string())
        .bind(version.to_string())
        .execute(&mut *conn)
        .await?
        .rows_affected();
    }

    // Fixed-width timestamp text: min/max of the text are min/max in time. Several windows of
    // one row widen it by all of them. Not counted (`MergeApplied` has no field for it).
    for w in &plan.seen_windows {
        sqlx::query(
            "UPDATE prompt_versions SET first_seen_at = min(first_seen_at, ?1), \
             last_seen_at = max(last_seen_at, ?2) \
             WHERE id = ?3 AND (first_seen_at > ?1 OR last_seen_at < ?2)",
        )
        .bind(timestamp::format(&w.first_seen_at))
        .bind(timestamp::format(&w.last_seen_at))
        .bind(w.version_id.to_string())
        .execute(&mut *conn)
        .await?;
    }

    // Row updates of both steps: a result whose version and template both move counts twice.
    applied.results_moved = move_results(conn, "version_id", &plan.result_version_moves).await?
        + move_results(conn, "template_id", &plan.result_moves).await?;
    applied.results_inserted = insert_results(conn, &plan.results).await?;
    Ok(applied)
}

/// One multi-row `INSERT` per chunk of `rows`, each as large as the variable limit allows;
/// `bind` pushes one row's values in the order of `columns`. Returns the rows inserted.
async fn insert_rows<'a, T>(
    conn: &mut SqliteConnection,
    table: &str,
    columns: &str,
    conflict: &str,
    rows: &'a [T],
    mut bind: impl FnMut(Separated<'_, 'a, Sqlite, &'static str>, &'a T),
) -> Result<u64> {
    let per_row = columns.split(',').count();
    let mut inserted = 0;
    for chunk in rows.chunks(MAX_VARIABLES / per_row) {
        let mut sql = QueryBuilder::<Sqlite>::new(format!("INSERT INTO {table} ({columns}) "));
        sql.push_values(chunk, &mut bind);
        sql.push(conflict);
        inserted += sql.build().execute(&mut *conn).await?.rows_affected();
    }
    Ok(inserted)
}

/// A workspace that exists keeps its name.
async fn insert_workspaces(conn: &mut SqliteConnection, rows: &[NewWorkspace]) -> Result<u64> {
    insert_rows(
        conn,
        "workspaces",
        prompter_storage::columns::WORKSPACE_COLUMNS,
        " ON CONFLICT DO NOTHING",
        rows,
        |mut row, w| {
            row.push_bind(w.org_id.as_str())
                .push_bind(w.id.as_str())
                .push_bind(w.name.as_str())
                .push_bind(timestamp::format(&w.created_at));
        },
    )
    .await
}

/// Only an existing id is skipped (`ON CONFLICT (id)`): an active row whose configuration an
/// active template already holds violates the unique index and fails the whole plan.
async fn insert_templates(conn: &mut SqliteConnection, rows: &[ImportedTemplate]) -> Result<u64> {
    let columns = format!("{TEMPLATE_INSERT_COLUMNS}, deleted_at, merged_into");
    insert_rows(
        conn,
        "prompt_templates",
        &columns,
        " ON CONFLICT (id) DO NOTHING",
        rows,
        |mut row, t| {
            let (new, s) = (&t.template, &t.template.spec);
            row.push_bind(new.id.to_string())
                .push_bind(s.org_id.as_str())
                .push_bind(s.workspace_id.as_str())
                .push_bind(new.name.as_str())
                .push_bind(s.provider.as_deref())
                .push_bind(s.system_instructions.as_deref())
                .push_bind(s.user_prompt_template.as_str())
                .push_bind(json_text(&s.country_set))
                .push_bind(s.model_id.as_str())
                .push_bind(json_text(&s.inference_params))
                .push_bind(s.tools_spec.as_ref().map(json_text))
                .push_bind(s.response_format.as_ref().map(json_text))
                .push_bind(s.grounding_profile_id.as_deref())
                .push_bind(s.grounding_snapshot_id.as_deref())
                .push_bind(s.retrieval_params.as_ref().map(json_text))
                .push_bind(s.config.hash.as_str())
                .push_bind(s.config.canonical_json.as_str())
                .push_bind(s.created_by.as_deref())
                .push_bind(timestamp::format(&new.created_at))
                .push_bind(json_text(&s.tags))
                .push_bind(new.near_key())
                .push_bind(t.deleted_at.as_ref().map(timestamp::format))
                .push_bind(t.merged_into.map(|id| id.to_string()));
        },
    )
    .await
}

/// Only an existing id is skipped: a second row for one (template, version key) is an error.
/// A source row without `fingerprint_captured_at` gets its `first_seen_at`, the time the build
/// was first observed, because every version read requires the column.
async fn insert_versions(conn: &mut SqliteConnection, rows: &[ImportedVersion]) -> Result<u64> {
    insert_rows(
        conn,
        "prompt_versions",
        VERSION_IMPORT_COLUMNS,
        " ON CONFLICT (id) DO NOTHING",
        rows,
        |mut row, v| {
            row.push_bind(v.id.to_string())
                .push_bind(v.org_id.as_str())
                .push_bind(v.workspace_id.as_str())
                .push_bind(v.template_id.to_string())
                .push_bind(v.provider.as_str())
                .push_bind(v.provider_version_key.as_str())
                .push_bind(v.model_id.as_str())
                .push_bind(timestamp::format(
                    &v.fingerprint_captured_at.unwrap_or(v.first_seen_at),
                ))
                .push_bind(timestamp::format(&v.first_seen_at))
                .push_bind(timestamp::format(&v.last_seen_at))
                .push_bind(v.merged_into.map(|id| id.to_string()));
        },
    )
    .await
}

async fn insert_results(conn: &mut SqliteConnection, rows: &[ImportedResult]) -> Result<u64> {
    insert_rows(
        conn,
        "prompt_results",
        RESULT_IMPORT_COLUMNS,
        " ON CONFLICT (id) DO NOTHING",
        rows,
        |mut row, r| {
            row.push_bind(r.id.to_string())
                .push_bind(r.org_id.as_str())
                .push_bind(r.workspace_id.as_str())
                .push_bind(r.template_id.to_string())
                .push_bind(r.version_id.map(|id| id.to_string()))
                .push_bind(r.provider.as_str())
                .push_bind(r.model_id.as_str())
                .push_bind(r.provider_version_key.as_deref())
                .push_bind(r.system_fingerprint.as_deref())
                .push_bind(r.request.as_str())
                .push_bind(r.response.as_str())
                .push_bind(r.answer.as_deref())
                .push_bind(r.analysis_config.as_ref().map(json_text))
                .push_bind(r.rendered_prompt_hash.as_deref())
                .push_bind(r.run_country.as_deref())
                .push_bind(r.used_grounding)
                .push_bind(r.status.as_str())
                .push_bind(r.error.as_ref().map(json_text))
                .push_bind(r.latency_ms)
                .push_bind(r.usage.as_ref().map(json_text))
                .push_bind(r.is_fake)
                .push_bind(r.finish_reason.as_deref())
                .push_bind(r.truncated)
                .push_bind(r.citations.as_ref().map(json_text))
                .push_bind(timestamp::format(&r.created_at));
        },
    )
    .await
}

/// Re-points the results whose `column` holds a `from` id to its `to` id, in one statement:
/// the pairs go into a temporary table keyed by `from`, so the update scans the results once
/// (or uses the template index) and finds each row's target by key. Each result moves at most
/// once, by the value it had before (as on PostgreSQL).
async fn move_results(
    conn: &mut SqliteConnection,
    column: &str,
    pairs: &[(Uuid, Uuid)],
) -> Result<u64> {
    let pairs: Vec<&(Uuid, Uuid)> = first_per_key(pairs, |p| p.0)
        .into_iter()
        .filter(|(from, to)| from != to)
        .collect();
    if pairs.is_empty() {
        return Ok(0);
    }
    // Created inside the transaction: a rollback removes it too.
    sqlx::query(
        "CREATE TEMP TABLE IF NOT EXISTS prompter_result_moves \
         (from_id TEXT PRIMARY KEY, to_id TEXT NOT NULL) WITHOUT ROWID",
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM temp.prompter_result_moves")
        .execute(&mut *conn)
        .await?;
    insert_rows(
        conn,
        "temp.prompter_result_moves",
        "from_id, to_id",
        "",
        &pairs,
        |mut row, (from, to)| {
            row.push_bind(from.to_string()).push_bind(to.to_string());
        },
    )
    .await?;
    let moved = sqlx::query(&format!(
        "UPDATE prompt_results SET {column} = (SELECT to_id FROM temp.prompter_result_moves \
         WHERE from_id = prompt_results.{column}) \
         WHERE {column} IN (SELECT from_id FROM temp.prompter_result_moves)"
    ))
    .execute(&mut *conn)
    .await?
    .rows_affected();
    sqlx::query("DROP TABLE temp.prompter_result_moves")
        .execute(&mut *conn)
        .await?;
    Ok(moved)
}

/// Which of `ids` exist in `table`, read on a read connection in chunks of [`EXISTING_IDS_CHUNK`].
pub(crate) async fn existing_ids(
    db: &crate::SqliteDatabase,
    table: IdTable,
    ids: &[Uuid],
) -> Result<Vec<Uuid>> {
    let wanted = lookup_order(ids);
    let mut found = Vec::new();
    for chunk in wanted.chunks(EXISTING_IDS_CHUNK) {
        let mut sql =
            QueryBuilder::<Sqlite>::new(format!("SELECT id FROM {} WHERE id IN (", table.table()));
        let mut list = sql.separated(", ");
        for id in chunk {
            list.push_bind(id.to_string());
        }
        sql.push(")");
        let rows: Vec<String> = sql.build_query_scalar().fetch_all(&db.reader).await?;
        for id in rows {
            found.push(parse_uuid("id", &id)?);
        }
    }
    Ok(found)
}
