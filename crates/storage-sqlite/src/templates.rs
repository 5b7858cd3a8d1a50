//! Prompt templates: create (through the write queue), read, list, soft delete and restore.

use prompter_domain::{OrgId, WorkspaceId};
use prompter_storage::columns::{TEMPLATE_COLUMNS, TEMPLATE_INSERT_COLUMNS, WORKSPACE_COLUMNS};
use prompter_storage::{
    fetch_limit, timestamp, CreateTemplate, NewTemplate, RestoreTemplate, Result, StorageError,
    Template, TemplatePage, TemplateQuery,
};
use sqlx::sqlite::SqlitePool;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};
use uuid::Uuid;

use crate::rows::{json_text, template_from_row};
use crate::write_queue::WriteQueue;

/// Answers a duplicate from a read connection; queues anything else for the writer.
pub(crate) async fn create(
    reader: &SqlitePool,
    writes: &WriteQueue,
    new: NewTemplate,
) -> Result<CreateTemplate> {
    let spec = &new.spec;
    let mut conn = reader.acquire().await?;
    if let Some((existing, workspace_name)) = active_twin(
        &mut conn,
        spec.org_id.as_str(),
        spec.workspace_id.as_str(),
        &spec.config.hash,
    )
    .await?
    {
        return Ok(CreateTemplate::Duplicate {
            existing,
            workspace_name,
        });
    }
    drop(conn);
    writes.create_template(new).await
}

/// Inserts the workspace record (if new) and the template, inside the caller's transaction.
pub(crate) async fn insert(
    conn: &mut SqliteConnection,
    new: &NewTemplate,
) -> Result<Result<CreateTemplate>> {
    let s = &new.spec;
    sqlx::query(&format!(
        "INSERT INTO workspaces ({WORKSPACE_COLUMNS}) VALUES (?1, ?2, ?2, ?3) \
         ON CONFLICT DO NOTHING"
    ))
    .bind(s.org_id.as_str())
    .bind(s.workspace_id.as_str())
    .bind(timestamp::format(&new.created_at))
    .execute(&mut *conn)
    .await?;
    let inserted = sqlx::query(&format!(
        "INSERT INTO prompt_templates ({TEMPLATE_INSERT_COLUMNS}) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, \
         ?18, ?19, ?20, ?21) ON CONFLICT DO NOTHING"
    ))
    .bind(new.id.to_string())
    .bind(s.org_id.as_str())
    .bind(s.workspace_id.as_str())
    .bind(&new.name)
    .bind(&s.provider)
    .bind(&s.system_instructions)
    .bind(&s.user_prompt_template)
    .bind(json_text(&s.country_set))
    .bind(&s.model_id)
    .bind(json_text(&s.inference_params))
    .bind(s.tools_spec.as_ref().map(json_text))
    .bind(s.response_format.as_ref().map(json_text))
    .bind(&s.grounding_profile_id)
    .bind(&s.grounding_snapshot_id)
    .bind(s.retrieval_params.as_ref().map(json_text))
    .bind(&s.config.hash)
    .bind(&s.config.canonical_json)
    .bind(&s.created_by)
    .bind(timestamp::format(&new.created_at))
    .bind(json_text(&s.tags))
    .bind(new.near_key())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(Ok(CreateTemplate::Created((*new).clone().into_template())));
    }
    // The unique index refused the row: report the template that holds the configuration
    // (possibly created earlier in this same batch).
    let twin = active_twin(
        conn,
        s.org_id.as_str(),
        s.workspace_id.as_str(),
        &s.config.hash,
    )
    .await?;
    Ok(match twin {
        Some((existing, workspace_name)) => Ok(CreateTemplate::Duplicate {
            existing,
            workspace_name,
        }),
        None => Err(StorageError::internal(format!(
            "insert of template {} was refused but no active twin exists",
            new.id
        ))),
    })
}

/// The active template with this hash and its brand's display name, read inside `tx`.
async fn active_twin(
    conn: &mut SqliteConnection,
    org: &str,
    workspace: &str,
    hash: &str,
) -> Result<Option<(Template, String)>> {
    let sql = format!(
        "SELECT {TEMPLATE_COLUMNS}, w.name AS workspace_name FROM prompt_templates t \
         JOIN workspaces w ON w.org_id = t.org_id AND w.id = t.workspace_id \
         WHERE t.org_id = ?1 AND t.workspace_id = ?2 AND t.config_hash = ?3 \
         AND t.deleted_at IS NULL"
    );
    let row = sqlx::query(&sql)
        .bind(org)
        .bind(workspace)
        .bind(hash)
        .fetch_optional(conn)
        .await?;
    row.map(|r| Ok((template_from_row(&r)?, r.try_get("workspace_name")?)))
        .transpose()
}

pub(crate) async fn find_active_duplicate(
    reader: &SqlitePool,
    org: &OrgId,
    workspace: &WorkspaceId,
    config_hash: &str,
) -> Result<Option<Template>> {
    let sql = format!(
        "SELECT {TEMPLATE_COLUMNS} FROM prompt_templates t WHERE t.org_id = ?1 \
         AND t.workspace_id = ?2 AND t.config_hash = ?3 AND t.deleted_at IS NULL"
    );
    let row = sqlx::query(&sql)
        .bind(org.as_str())
        .bind(workspace.as_str())
        .bind(config_hash)
        .fetch_optional(reader)
        .await?;
    row.as_ref().map(template_from_row).transpose()
}

/// The template with this id, on `pool` (the reader, or the writer to read back its own write).
pub(crate) async fn get(pool: &SqlitePool, id: Uuid) -> Result<Option<Template>> {
    let sql = format!("SELECT {TEMPLATE_COLUMNS} FROM prompt_templates t WHERE t.id = ?1");
    let row = sqlx::query(&sql)
        .bind(id.to_string())
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(template_from_row).transpose()
}

pub(crate) async fn list(reader: &SqlitePool, q: &TemplateQuery) -> Result<TemplatePage> {
    let mut sql = QueryBuilder::<Sqlite>::new(format!(
        "SELECT {TEMPLATE_COLUMNS} FROM prompt_templates t WHERE t.org_id = "
    ));
    sql.push_bind(q.org_id.as_str());
    if let Some(ws) = &q.workspace_id {
        sql.push(" AND t.workspace_id = ").push_bind(ws.as_str());
    }
    if let Some(allowed) = &q.allowed_workspaces {
        sql.push(" AND t.workspace_id IN (SELECT value FROM json_each(")
            .push_bind(json_text(allowed))
            .push("))");
    }
    if !q.include_deleted {
        sql.push(" AND t.deleted_at IS NULL");
    }
    if let Some(tag) = &q.tag {
        sql.push(" AND EXISTS (SELECT 1 FROM json_each(t.tags) WHERE value = ")
            .push_bind(tag.clone())
            .push(")");
    }
    if let Some(after) = &q.after {
        sql.push(" AND (t.created_at, t.id) < (")
            .push_bind(timestamp::format(&after.created_at))
            .push(", ")
            .push_bind(after.id.to_string())
            .push(")");
    }
    sql.push(" ORDER BY t.created_at DESC, t.id DESC LIMIT ")
        .push_bind(fetch_limit(q.limit));
    let rows = sql.build().fetch_all(reader).await?;
    let items = rows
        .iter()
        .map(template_from_row)
        .collect::<Result<Vec<_>>>()?;
    Ok(prompter_storage::page(items, q.limit))
}

pub(crate) async fn soft_delete(writer: &SqlitePool, id: Uuid) -> Result<Option<Template>> {
    sqlx::query("UPDATE prompt_templates SET deleted_at = ?1 WHERE id = ?2 AND deleted_at IS NULL")
        .bind(timestamp::format(&timestamp::now()))
        .bind(id.to_string())
        .execute(writer)
        .await?;
    get(writer, id).await
}

pub(crate) async fn restore(writer: &SqlitePool, id: Uuid) -> Result<RestoreTemplate> {
    let mut tx = writer.begin().await?;
    let sql = format!("SELECT {TEMPLATE_COLUMNS} FROM prompt_templates t WHERE t.id = ?1");
    let Some(row) = sqlx::query(&sql)
        .bind(id.to_string())
        .fetch_optional(&mut *tx)
        .await?
    else {
        return Ok(RestoreTemplate::NotFound);
    };
    let mut template = template_from_row(&row)?;
    if template.deleted_at.is_none() {
        return Ok(RestoreTemplate::Restored(template));
    }
    if let Some((existing, workspace_name)) = active_twin(
        &mut tx,
        &template.org_id,
        &template.workspace_id,
        &template.config_hash,
    )
    .await?
    {
        return Ok(RestoreTemplate::ActiveTwin {
            existing,
            workspace_name,
        });
    }
    sqlx::query("UPDATE prompt_templates SET deleted_at = NULL WHERE id = ?1")
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    template.deleted_at = None;
    Ok(RestoreTemplate::Restored(template))
}
