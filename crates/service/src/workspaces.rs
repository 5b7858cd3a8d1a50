//! Workspaces (brands). A workspace is created explicitly (admins), or implicitly (name = id) by
//! the first template created in it.

use prompter_domain::template_spec::parse_name;
use prompter_domain::{FieldError, WorkspaceId};
use prompter_storage::{timestamp, NewWorkspace, StorageError, Workspace};

use crate::{Caller, ServiceError, Services};

/// `POST /api/workspaces`.
#[derive(Debug, Clone, Default)]
pub struct CreateWorkspace {
    pub org_id: Option<String>,
    /// Default: a new UUIDv7.
    pub id: Option<String>,
    pub name: Option<String>,
}

impl Services {
    pub async fn create_workspace(
        &self,
        caller: &Caller,
        request: CreateWorkspace,
    ) -> Result<Workspace, ServiceError> {
        caller.require_admin()?;
        let org_id = caller.org(request.org_id.as_deref())?;
        let id = match request.id.as_deref() {
            None => WorkspaceId::parse(&uuid::Uuid::now_v7().to_string())?,
            Some(raw) => WorkspaceId::parse(raw).map_err(|e| FieldError::new("id", e.message))?,
        };
        if !caller.permits_workspace(id.as_str()) {
            return Err(ServiceError::Forbidden(
                "the token may not use this workspace",
            ));
        }
        let name = parse_name(
            request
                .name
                .as_deref()
                .ok_or_else(|| FieldError::new("name", "is required"))?,
        )?;
        let new = NewWorkspace {
            org_id,
            id: id.clone(),
            name,
            created_at: timestamp::now(),
        };
        match self.db.create_workspace(new).await {
            Ok(ws) => {
                tracing::info!(action = "create_workspace", org_id = %ws.org_id,
                    workspace_id = %ws.id, status = "created");
                Ok(ws)
            }
            Err(StorageError::WorkspaceExists) => {
                Err(ServiceError::WorkspaceExists { id: id.to_string() })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The workspaces of `org_id` (default: the caller's) that the caller may use, by id.
    pub async fn list_workspaces(
        &self,
        caller: &Caller,
        org_id: Option<&str>,
    ) -> Result<Vec<Workspace>, ServiceError> {
        let org = caller.org(org_id)?;
        let mut items = self.db.list_workspaces(&org).await?;
        items.retain(|w| caller.permits_workspace(&w.id));
        Ok(items)
    }

    /// Renames a workspace (admins). The name is a label: identities and hashes do not use it.
    pub async fn rename_workspace(
        &self,
        caller: &Caller,
        org_id: Option<&str>,
        id: &str,
        name: Option<&str>,
    ) -> Result<Workspace, ServiceError> {
        let current = self.get_workspace(caller, org_id, id).await?;
        caller.require_admin()?;
        let name = parse_name(name.ok_or_else(|| FieldError::new("name", "is required"))?)?;
        let org = prompter_domain::OrgId::parse(&current.org_id)
            .map_err(|_| ServiceError::WorkspaceNotFound)?;
        let ws = WorkspaceId::parse(&current.id).map_err(|_| ServiceError::WorkspaceNotFound)?;
        let renamed = self
            .db
            .rename_workspace(&org, &ws, &name)
            .await?
            .ok_or(ServiceError::WorkspaceNotFound)?;
        tracing::info!(action = "rename_workspace", org_id = %renamed.org_id,
            workspace_id = %renamed.id);
        Ok(renamed)
    }

    pub async fn get_workspace(
        &self,
        caller: &Caller,
        org_id: Option<&str>,
        id: &str,
    ) -> Result<Workspace, ServiceError> {
        let org = caller.org(org_id)?;
        let id = WorkspaceId::parse(id).map_err(|_| ServiceError::WorkspaceNotFound)?;
        if !caller.permits_workspace(id.as_str()) {
            return Err(ServiceError::WorkspaceNotFound);
        }
        self.db
            .get_workspace(&org, &id)
            .await?
            .ok_or(ServiceError::WorkspaceNotFound)
    }
}
