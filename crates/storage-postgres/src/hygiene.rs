//! Registry hygiene: applying an import's or a dedupe's merge plan in one transaction, and
//! looking up which ids exist (what an import skips).
//!
//! A plan can hold 100,000 templates and a million results, so inserts are multi-row
//! statements as large as the protocol's bind-parameter limit allows, and every update list
//! is one statement that pairs `unnest`ed arrays with the rows (a round trip per list, not per
//! row).
//!
//! Every update changes only rows that differ from the plan, so the counts returned are the
//! rows actually changed and applying a plan twice reports nothing the second time.

use chrono::{DateTime, Utc};
use prompter_storage::columns::{
    RESULT_IMPORT_COLUMNS, TEMPLATE_INSERT_COLUMNS, VERSION_IMPORT_COLUMNS, WORKSPACE_COLUMNS,
};
use prompter_storage::{
    first_per_key, lookup_order, timestamp, IdTable, ImportedResult, ImportedTemplate,
    ImportedVersion, MergeApplied, MergePlan, NewWorkspace, Result, EXISTING_IDS_CHUNK,
};
use sqlx::query_builder::Separated;
use sqlx::types::Json;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

/// Bind parameters in one statement (the protocol counts them in 16 bits): a multi-row insert
/// takes as many rows as fit.
const MAX_PARAMETERS: usize = u16::MAX as usize;

/// Applies the plan in the order documented on [`MergePlan`]. Any error drops the
/// transaction, which rolls everything back.
pub(crate) async fn apply_merge_plan(
    db: &crate::PostgresDatabase,
    plan: &MergePlan,
) -> Result<MergeApplied> {
    let mut tx = db.pool.begin().await?;
    let applied = apply(&mut tx, plan).await?;
    tx.commit().await?;
    Ok(applied)
}

async fn apply(conn: &mut PgConnection, plan: &MergePlan) -> Result<MergeApplied> {
    let mut applied = MergeApplied {
        workspaces_inserted: insert_workspaces(conn, &plan.workspaces).await?,
        ..MergeApplied::default()
    };

    let (from, into) = columns(first_per_key(&plan.template_merges, |p| p.0));
    // An earlier deletion keeps its time; only a row not merged into `into` yet changes.
    applied.templates_merged = sqlx::query(
        "UPDATE prompt_templates t SET deleted_at = COALESCE(t.deleted_at, $3), \
         merged_into = m.into_id FROM unnest($1::uuid[], $2::uuid[]) AS m(from_id, into_id) \
         WHERE t.id = m.from_id \
         AND (t.deleted_at IS NULL OR t.merged_into IS DISTINCT FROM m.into_id)",
    )
    .bind(&from)
    .bind(&into)
    .bind(timestamp::now())
    .execute(&mut *conn)
    .await?
    .rows_affected();

    let rehash = first_per_key(&plan.rehash, |r| r.template_id);
    let ids: Vec<Uuid> = rehash.iter().map(|r| r.template_id).collect();
    let hashes: Vec<&str> = rehash.iter().map(|r| r.config_hash.as_str()).collect();
    let jsons: Vec<&str> = rehash
        .iter()
        .map(|r| r.config_canonical_json.as_str())
        .collect();
    let keys: Vec<Option<&str>> = rehash.iter().map(|r| r.near_key.as_deref()).collect();
    applied.templates_rehashed = sqlx::query(
        "UPDATE prompt_templates t SET config_hash = r.hash, config_canonical_json = r.json, \
         near_key = r.near_key \
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) AS r(id, hash, json, near_key) \
         WHERE t.id = r.id AND (t.config_hash IS DISTINCT FROM r.hash \
         OR t.config_canonical_json IS DISTINCT FROM r.json \
         OR t.near_key IS DISTINCT FROM r.near_key)",
    )
    .bind(&ids)
    .bind(&hashes)
    .bind(&jsons)
    .bind(&keys)
    .execute(&mut *conn)
    .await?
    .rows_affected();

    applied.templates_inserted = insert_templates(conn, &plan.templates).await?;
    applied.versions_inserted = insert_versions(conn, &plan.versions).await?;

    let (versions, into) = columns(first_per_key(&plan.version_merges, |p| p.0));
    applied.versions_merged = sqlx::query(
        "UPDATE prompt_versions v SET merged_into = m.into_id \
         FROM unnest($1::uuid[], $2::uuid[]) AS m(id, into_id) \
         WHERE v.id = m.id AND v.merged_into IS DISTINCT FROM m.into_id",
    )
    .bind(&versions)
    .bind(&into)
    .execute(&mut *conn)
    .await?
    .rows_affected();

    let (versions, templates) = columns(first_per_key(&plan.version_moves, |p| p.0));
    applied.versions_moved = sqlx::query(
        "UPDATE prompt_versions v SET template_id = m.template_id \
         FROM unnest($1::uuid[], $2::uuid[]) AS m(id, template_id) \
         WHERE v.id = m.id AND v.template_id <> m.template_id",
    )
    .bind(&versions)
    .bind(&templates)
    .execute(&mut *conn)
    .await?
    .rows_affected();

    // Not counted (`MergeApplied` has no field for it). Several windows of one row widen it by
    // all of them (as SQLite's row-by-row update does).
    let ids: Vec<Uuid> = plan.seen_windows.iter().map(|w| w.version_id).collect();
    let firsts: Vec<DateTime<Utc>> = plan.seen_windows.iter().map(|w| w.first_seen_at).collect();
    let lasts: Vec<DateTime<Utc>> = plan.seen_windows.iter().map(|w| w.last_seen_at).collect();
    sqlx::query(
        "UPDATE prompt_versions v SET first_seen_at = LEAST(v.first_seen_at, w.first_seen), \
         last_seen_at = GREATEST(v.last_seen_at, w.last_seen) \
         FROM (SELECT id, min(first_seen) AS first_seen, max(last_seen) AS last_seen \
               FROM unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[]) \
               AS s(id, first_seen, last_seen) GROUP BY id) AS w \
         WHERE v.id = w.id AND (v.first_seen_at > w.first_seen OR v.last_seen_at < w.last_seen)",
    )
    .bind(&ids)
    .bind(&firsts)
    .bind(&lasts)
    .execute(&mut *conn)
    .await?;

    // Row updates of both steps: a result whose version and template both move counts twice.
    applied.results_moved = move_results(conn, "version_id", &plan.result_version_moves).await?
        + move_results(conn, "template_id", &plan.result_moves).await?;
    applied.results_inserted = insert_results(conn, &plan.results).await?;
    Ok(applied)
}

/// Pairs as two arrays, for `unnest($1::uuid[], $2::uuid[])`.
fn columns(pairs: Vec<&(Uuid, Uuid)>) -> (Vec<Uuid>, Vec<Uuid>) {
    pairs.into_iter().copied().unzip()
}

/// Re-points the results whose `column` holds a `from` id to its `to` id. One statement: each
/// result moves at most once, by the value it had before.
async fn move_results(
    conn: &mut PgConnection,
    column: &str,
    pairs: &[(Uuid, Uuid)],
) -> Result<u64> {
    let (from, to) = columns(first_per_key(pairs, |p| p.0));
    Ok(sqlx::query(&format!(
        "UPDATE prompt_results r SET {column} = m.to_id \
         FROM unnest($1::uuid[], $2::uuid[]) AS m(from_id, to_id) \
         WHERE r.{column} = m.from_id AND m.from_id <> m.to_id"
    ))
    .bind(&from)
    .bind(&to)
    .execute(&mut *conn)
    .await?
    .rows_affected())
}

/// One multi-row `INSERT` per chunk of `rows`, each as large as the parameter limit allows;
/// `bind` pushes one row's values in the order of `columns`. Returns the rows inserted.
async fn insert_rows<'a, T>(
    conn: &mut PgConnection,
    table: &str,
    columns: &str,
    conflict: &str,
    rows: &'a [T],
    mut bind: impl FnMut(Separated<'_, 'a, Postgres, &'static str>, &'a T),
) -> Result<u64> {
    let per_row = columns.split(',').count();
    let mut inserted = 0;
    for chunk in rows.chunks(MAX_PARAMETERS / per_row) {
        let mut sql = QueryBuilder::<Postgres>::new(format!("INSERT INTO {table} ({columns}) "));
        sql.push_values(chunk, &mut bind);
        sql.push(conflict);
        inserted += sql.build().execute(&mut *conn).await?.rows_affected();
    }
    Ok(inserted)
}

/// A workspace that exists keeps its name.
async fn insert_workspaces(conn: &mut PgConnection, rows: &[NewWorkspace]) -> Result<u64> {
    insert_rows(
        conn,
        "workspaces",
        WORKSPACE_COLUMNS,
        " ON CONFLICT DO NOTHING",
        rows,
        |mut row, w| {
            row.push_bind(w.org_id.as_str())
                .push_bind(w.id.as_str())
                .push_bind(w.name.as_str())
                .push_bind(w.created_at);
        },
    )
    .await
}

/// Only an existing id is skipped (`ON CONFLICT (id)`): an active row whose configuration an
/// active template already holds violates the unique index and fails the whole plan.
async fn insert_templates(conn: &mut PgConnection, rows: &[ImportedTemplate]) -> Result<u64> {
    let columns = format!("{TEMPLATE_INSERT_COLUMNS}, deleted_at, merged_into");
    insert_rows(
        conn,
        "prompt_templates",
        &columns,
        " ON CONFLICT (id) DO NOTHING",
        rows,
        |mut row, t| {
            let (new, s) = (&t.template, &t.template.spec);
            row.push_bind(new.id)
                .push_bind(s.org_id.as_str())
                .push_bind(s.workspace_id.as_str())
                .push_bind(new.name.as_str())
                .push_bind(s.provider.as_deref())
                .push_bind(s.system_instructions.as_deref())
                .push_bind(s.user_prompt_template.as_str())
                .push_bind(Json(&s.country_set))
                .push_bind(s.model_id.as_str())
                .push_bind(Json(&s.inference_params))
                .push_bind(s.tools_spec.as_ref().map(Json))
                .push_bind(s.response_format.as_ref().map(Json))
                .push_bind(s.grounding_profile_id.as_deref())
                .push_bind(s.grounding_snapshot_id.as_deref())
                .push_bind(s.retrieval_params.as_ref().map(Json))
                .push_bind(s.config.hash.as_str())
                .push_bind(s.config.canonical_json.as_str())
                .push_bind(s.created_by.as_deref())
                .push_bind(new.created_at)
                .push_bind(Json(&s.tags))
                .push_bind(new.near_key())
                .push_bind(t.deleted_at)
                .push_bind(t.merged_into);
        },
    )
    .await
}

/// Only an existing id is skipped: a second row for one (template, version key) is an error.
/// A source row without `fingerprint_captured_at` gets its `first_seen_at`, the time the build
/// was first observed, because every version read requires the column.
async fn insert_versions(conn: &mut PgConnection, rows: &[ImportedVersion]) -> Result<u64> {
    insert_rows(
        conn,
        "prompt_versions",
        VERSION_IMPORT_COLUMNS,
        " ON CONFLICT (id) DO NOTHING",
        rows,
        |mut row, v| {
            row.push_bind(v.id)
                .push_bind(v.org_id.as_str())
                .push_bind(v.workspace_id.as_str())
                .push_bind(v.template_id)
                .push_bind(v.provider.as_str())
                .push_bind(v.provider_version_key.as_str())
                .push_bind(v.model_id.as_str())
                .push_bind(v.fingerprint_captured_at.unwrap_or(v.first_seen_at))
                .push_bind(v.first_seen_at)
                .push_bind(v.last_seen_at)
                .push_bind(v.merged_into);
        },
    )
    .await
}

async fn insert_results(conn: &mut PgConnection, rows: &[ImportedResult]) -> Result<u64> {
    insert_rows(
        conn,
        "prompt_results",
        RESULT_IMPORT_COLUMNS,
        " ON CONFLICT (id) DO NOTHING",
        rows,
        |mut row, r| {
            row.push_bind(r.id)
                .push_bind(r.org_id.as_str())
                .push_bind(r.workspace_id.as_str())
                .push_bind(r.template_id)
                .push_bind(r.version_id)
                .push_bind(r.provider.as_str())
                .push_bind(r.model_id.as_str())
                .push_bind(r.provider_version_key.as_deref())
                .push_bind(r.system_fingerprint.as_deref())
                .push_bind(r.request.as_str())
                .push_unseparated("::jsonb")
                .push_bind(r.response.as_str())
                .push_unseparated("::jsonb")
                .push_bind(r.answer.as_deref())
                .push_bind(r.analysis_config.as_ref().map(Json))
                .push_bind(r.rendered_prompt_hash.as_deref())
                .push_bind(r.run_country.as_deref())
                .push_bind(r.used_grounding)
                .push_bind(r.status.as_str())
                .push_bind(r.error.as_ref().map(Json))
                .push_bind(r.latency_ms)
                .push_bind(r.usage.as_ref().map(Json))
                .push_bind(r.is_fake)
                .push_bind(r.finish_reason.as_deref())
                .push_bind(r.truncated)
                .push_bind(r.citations.as_ref().map(Json))
                .push_bind(r.created_at);
        },
    )
    .await
}

/// Which of `ids` exist in `table`, in chunks of [`EXISTING_IDS_CHUNK`].
pub(crate) async fn existing_ids(
    db: &crate::PostgresDatabase,
    table: IdTable,
    ids: &[Uuid],
) -> Result<Vec<Uuid>> {
    let wanted = lookup_order(ids);
    let sql = format!("SELECT id FROM {} WHERE id = ANY($1)", table.table());
    let mut found = Vec::new();
    for chunk in wanted.chunks(EXISTING_IDS_CHUNK) {
        let rows: Vec<Uuid> = sqlx::query_scalar(&sql)
            .bind(chunk)
            .fetch_all(&db.pool)
            .await?;
        found.extend(rows);
    }
    Ok(found)
}
