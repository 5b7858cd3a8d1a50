//! API tokens: authenticating a request, and managing tokens (admins of their organisation; the
//! operator's CLI for every organisation).

use prompter_domain::token::{token_from_random, token_hash};
use prompter_domain::{FieldError, OrgId, WorkspaceId};
use prompter_storage::{timestamp, ApiToken, NewToken, Role};
use uuid::Uuid;

use crate::{Caller, ServiceError, Services};

/// A token to create.
#[derive(Debug, Clone)]
pub struct CreateToken {
    pub org_id: String,
    /// Empty: every workspace of the organisation.
    pub workspaces: Vec<String>,
    pub role: Role,
    pub label: Option<String>,
}

/// A created token and its secret, which is shown once and never stored.
#[derive(Debug, Clone)]
pub struct CreatedToken {
    pub token: ApiToken,
    pub secret: String,
}

impl Services {
    /// The caller a bearer secret stands for, within its rate limit.
    pub async fn authenticate(&self, secret: &str) -> Result<Caller, ServiceError> {
        let token = self
            .db
            .active_token_by_hash(&token_hash(secret))
            .await?
            .ok_or(ServiceError::Unauthorized(
                "the token is invalid or revoked",
            ))?;
        if let Some(limiter) = &self.rate_limiter {
            limiter
                .check(token.id)
                .map_err(|retry_after_s| ServiceError::RateLimited { retry_after_s })?;
        }
        Ok(Caller::token(&token))
    }

    /// Whether any active token exists (auth `auto` turns on when one does).
    pub async fn any_active_token(&self) -> Result<bool, ServiceError> {
        Ok(self.db.count_active_tokens().await? > 0)
    }

    pub async fn create_token(
        &self,
        caller: &Caller,
        request: CreateToken,
    ) -> Result<CreatedToken, ServiceError> {
        caller.require_admin()?;
        let org = OrgId::parse(&request.org_id)?;
        caller.check_org(&org)?;
        for (i, ws) in request.workspaces.iter().enumerate() {
            WorkspaceId::parse(ws)
                .map_err(|e| FieldError::new(format!("workspaces[{i}]"), e.message))?;
            if !caller.permits_workspace(ws) {
                return Err(ServiceError::Forbidden(
                    "the token may not use this workspace",
                ));
            }
        }
        // A caller limited to some workspaces cannot mint a token for all of them.
        if request.workspaces.is_empty() && caller.allowed_workspaces().is_some() {
            return Err(ServiceError::Forbidden(
                "a token limited to workspaces cannot create an unlimited one",
            ));
        }
        // 32 bytes from the OS's CSPRNG (UUIDv4 uses it), minus the version bits.
        let random: Vec<u8> = [Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4()]
            .iter()
            .flat_map(|u| *u.as_bytes())
            .take(32)
            .collect();
        let secret = token_from_random(&random);
        let token = self
            .db
            .create_token(NewToken {
                id: Uuid::now_v7(),
                org_id: org.to_string(),
                workspaces: (!request.workspaces.is_empty()).then_some(request.workspaces),
                role: request.role,
                label: request.label,
                token_hash: token_hash(&secret),
                created_at: timestamp::now(),
            })
            .await?;
        tracing::info!(action = "create_token", token_id = %token.id, org_id = %token.org_id,
            role = token.role.as_str(), status = "created");
        Ok(CreatedToken { token, secret })
    }

    /// Tokens the caller manages (revoked ones included), oldest first.
    pub async fn list_tokens(&self, caller: &Caller) -> Result<Vec<ApiToken>, ServiceError> {
        caller.require_admin()?;
        let mut tokens = self.db.list_tokens().await?;
        tokens.retain(|t| caller.manages(t));
        Ok(tokens)
    }

    /// Revokes a token of the caller's organisation; `TokenNotFound` if unknown, another
    /// organisation's or already revoked.
    pub async fn revoke_token(&self, caller: &Caller, id: Uuid) -> Result<(), ServiceError> {
        caller.require_admin()?;
        let visible = self
            .db
            .list_tokens()
            .await?
            .into_iter()
            .any(|t| t.id == id && caller.manages(&t));
        if !visible || !self.db.revoke_token(id).await? {
            return Err(ServiceError::TokenNotFound);
        }
        tracing::info!(action = "revoke_token", token_id = %id, status = "revoked");
        Ok(())
    }
}
