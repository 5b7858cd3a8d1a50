//! Workspaces (brands).

use prompter_domain::{OrgId, WorkspaceId};
use prompter_storage::columns::WORKSPACE_COLUMNS;
use prompter_storage::{NewWorkspace, Result, StorageError, Workspace};
use sqlx::postgres::PgPool;

use crate::rows::workspace_from_row;

pub(crate) async fn create(pool: &PgPool, ws: NewWorkspace) -> Result<Workspace> {
    let done = sqlx::query(&format!(
        "INSERT INTO workspaces ({WORKSPACE_COLUMNS}) VALUES ($1, $2, $3, $4) \
         ON CONFLICT DO NOTHING"
    ))
    .bind(ws.org_id.as_str())
    .bind(ws.id.as_str())
    .bind(&ws.name)
    .bind(ws.created_at)
    .execute(pool)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StorageError::WorkspaceExists);
    }
    Ok(Workspace {
        id: ws.id.to_string(),
        org_id: ws.org_id.to_string(),
        name: ws.name,
        created_at: ws.created_at,
    })
}

pub(crate) async fn get(pool: &PgPool, org: &OrgId, id: &WorkspaceId) -> Result<Option<Workspace>> {
    let row = sqlx::query(&format!(
        "SELECT {WORKSPACE_COLUMNS} FROM workspaces WHERE org_id = $1 AND id = $2"
    ))
    .bind(org.as_str())
    .bind(id.as_str())
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(workspace_from_row).transpose()
}

pub(crate) async fn list(pool: &PgPool, org: &OrgId) -> Result<Vec<Workspace>> {
    let rows = sqlx::query(&format!(
        "SELECT {WORKSPACE_COLUMNS} FROM workspaces WHERE org_id = $1 ORDER BY id"
    ))
    .bind(org.as_str())
    .fetch_all(pool)
    .await?;
    rows.iter().map(workspace_from_row).collect()
}
