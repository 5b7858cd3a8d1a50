//! Prompt templates: create, read, list, soft delete and restore.

use prompter_domain::{OrgId, WorkspaceId};
use prompter_storage::columns::{TEMPLATE_COLUMNS, TEMPLATE_INSERT_COLUMNS, WORKSPACE_COLUMNS};
use prompter_storage::{
    fetch_limit, timestamp, CreateTemplate, NewTemplate, RestoreTemplate, Result, StorageError,
    Template, TemplatePage, TemplateQuery,
};
use sqlx::postgres::PgPool;
use sqlx::types::Json;
use sqlx::{PgConnection, Postgres, QueryBuilder, Row};
use uuid::Uuid;

use crate::rows::template_from_row;

/// How often a create retries when the index refused its row but the twin vanished (soft-deleted
/// between the two statements). One retry is almost always enough.
const CREATE_ATTEMPTS: usize = 3;

pub(crate) async fn create(pool: &PgPool, new: NewTemplate) -> Result<CreateTemplate> {
    let s = &new.spec;
    // Most duplicates are refused by a plain read; the index arbitrates the races.
    let mut conn = pool.acquire().await?;
    if let Some((existing, workspace_name)) = active_twin(
        &mut conn,
        s.org_id.as_str(),
        s.workspace_id.as_str(),
        &s.config.hash,
    )
    .await?
    {
        return Ok(CreateTemplate::Duplicate {
            existing,
            workspace_name,
        });
    }
    drop(conn);
    for _ in 0..CREATE_ATTEMPTS {
        let mut tx = pool.begin().await?;
        if insert(&mut tx, &new).await? {
            tx.commit().await?;
            return Ok(CreateTemplate::Created(new.into_template()));
        }
        let twin = active_twin(
            &mut tx,
            s.org_id.as_str(),
            s.workspace_id.as_str(),
            &s.config.hash,
        )
        .await?;
        tx.rollback().await?;
        if let Some((existing, workspace_name)) = twin {
            return Ok(CreateTemplate::Duplicate {
                existing,
                workspace_name,
            });
        }
        tracing::debug!(template_id = %new.id, "duplicate vanished before it was read; retrying create");
    }
    Err(StorageError::internal(format!(
        "create of template {} kept conflicting without a visible twin",
        new.id
    )))
}

/// Inserts the workspace record (if new) and the template; `false` when the unique index
/// refused the template (an active twin holds its configuration).
async fn insert(conn: &mut PgConnection, new: &NewTemplate) -> Result<bool> {
    let s = &new.spec;
    sqlx::query(&format!(
        "INSERT INTO workspaces ({WORKSPACE_COLUMNS}) VALUES ($1, $2, $2, $3) \
         ON CONFLICT DO NOTHING"
    ))
    .bind(s.org_id.as_str())
    .bind(s.workspace_id.as_str())
    .bind(new.created_at)
    .execute(&mut *conn)
    .await?;
    let inserted = sqlx::query(&format!(
        "INSERT INTO prompt_templates ({TEMPLATE_INSERT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, \
         $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21) ON CONFLICT DO \
         NOTHING"
    ))
    .bind(new.id)
    .bind(s.org_id.as_str())
    .bind(s.workspace_id.as_str())
    .bind(&new.name)
    .bind(&s.provider)
    .bind(&s.system_instructions)
    .bind(&s.user_prompt_template)
    .bind(Json(&s.country_set))
    .bind(&s.model_id)
    .bind(Json(&s.inference_params))
    .bind(s.tools_spec.as_ref().map(Json))
    .bind(s.response_format.as_ref().map(Json))
    .bind(&s.grounding_profile_id)
    .bind(&s.grounding_snapshot_id)
    .bind(s.retrieval_params.as_ref().map(Json))
    .bind(&s.config.hash)
    .bind(&s.config.canonical_json)
    .bind(&s.created_by)
    .bind(new.created_at)
    .bind(Json(&s.tags))
    .bind(new.near_key())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// The active template with this hash and its brand's display name.
async fn active_twin(
    conn: &mut PgConnection,
    org: &str,
    workspace: &str,
    hash: &str,
) -> Result<Option<(Template, String)>> {
    let sql = format!(
        "SELECT {TEMPLATE_COLUMNS}, w.name AS workspace_name FROM prompt_templates t \
         JOIN workspaces w ON w.org_id = t.org_id AND w.id = t.workspace_id \
         WHERE t.org_id = $1 AND t.workspace_id = $2 AND t.config_hash = $3 \
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
    pool: &PgPool,
    org: &OrgId,
    workspace: &WorkspaceId,
    config_hash: &str,
) -> Result<Option<Template>> {
    let sql = format!(
        "SELECT {TEMPLATE_COLUMNS} FROM prompt_templates t WHERE t.org_id = $1 \
         AND t.workspace_id = $2 AND t.config_hash = $3 AND t.deleted_at IS NULL"
    );
    let row = sqlx::query(&sql)
        .bind(org.as_str())
        .bind(workspace.as_str())
        .bind(config_hash)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(template_from_row).transpose()
}

pub(crate) async fn get(pool: &PgPool, id: Uuid) -> Result<Option<Template>> {
    let sql = format!("SELECT {TEMPLATE_COLUMNS} FROM prompt_templates t WHERE t.id = $1");
    let row = sqlx::query(&sql).bind(id).fetch_optional(pool).await?;
    row.as_ref().map(template_from_row).transpose()
}

pub(crate) async fn list(pool: &PgPool, q: &TemplateQuery) -> Result<TemplatePage> {
    let mut sql = QueryBuilder::<Postgres>::new(format!(
        "SELECT {TEMPLATE_COLUMNS} FROM prompt_templates t WHERE t.org_id = "
    ));
    sql.push_bind(q.org_id.as_str());
    if let Some(ws) = &q.workspace_id {
        sql.push(" AND t.workspace_id = ").push_bind(ws.as_str());
    }
    if let Some(allowed) = &q.allowed_workspaces {
        sql.push(" AND t.workspace_id = ANY(")
            .push_bind(allowed.clone())
            .push(")");
    }
    if !q.include_deleted {
        sql.push(" AND t.deleted_at IS NULL");
    }
    if let Some(tag) = &q.tag {
        // Containment: uses the GIN index on tags.
        sql.push(" AND t.tags @> ")
            .push_bind(Json(vec![tag.clone()]));
    }
    if let Some(after) = &q.after {
        sql.push(" AND (t.created_at, t.id) < (")
            .push_bind(after.created_at)
            .push(", ")
            .push_bind(after.id)
            .push(")");
    }
    sql.push(" ORDER BY t.created_at DESC, t.id DESC LIMIT ")
        .push_bind(fetch_limit(q.limit));
    let rows = sql.build().fetch_all(pool).await?;
    let items = rows
        .iter()
        .map(template_from_row)
        .collect::<Result<Vec<_>>>()?;
    Ok(prompter_storage::page(items, q.limit))
}

pub(crate) async fn soft_delete(pool: &PgPool, id: Uuid) -> Result<Option<Template>> {
    sqlx::query("UPDATE prompt_templates SET deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL")
        .bind(timestamp::now())
        .bind(id)
        .execute(pool)
        .await?;
    get(pool, id).await
}

pub(crate) async fn restore(pool: &PgPool, id: Uuid) -> Result<RestoreTemplate> {
    let mut tx = pool.begin().await?;
    // Lock the row so two restores of the same template serialise.
    let sql =
        format!("SELECT {TEMPLATE_COLUMNS} FROM prompt_templates t WHERE t.id = $1 FOR UPDATE");
    let Some(row) = sqlx::query(&sql).bind(id).fetch_optional(&mut *tx).await? else {
        return Ok(RestoreTemplate::NotFound);
    };
    let mut template = template_from_row(&row)?;
    if template.deleted_at.is_none() {
        return Ok(RestoreTemplate::Restored(template));
    }
    let restored = sqlx::query("UPDATE prompt_templates SET deleted_at = NULL WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await;
    match restored {
        Ok(_) => {
            tx.commit().await?;
            template.deleted_at = None;
            Ok(RestoreTemplate::Restored(template))
        }
        // An active twin holds the configuration: the index says so, we report which one.
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            tx.rollback().await?;
            let mut conn = pool.acquire().await?;
            match active_twin(
                &mut conn,
                &template.org_id,
                &template.workspace_id,
                &template.config_hash,
            )
            .await?
            {
                Some((existing, workspace_name)) => Ok(RestoreTemplate::ActiveTwin {
                    existing,
                    workspace_name,
                }),
                None => Err(StorageError::internal(
                    "restore conflicted but no active twin is visible",
                )),
            }
        }
        Err(e) => Err(e.into()),
    }
}
