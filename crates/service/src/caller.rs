//! Who is calling, and what they may do: the one place access is decided.
//!
//! Every service operation takes a [`Caller`]. The API builds one from the bearer token (or
//! [`Caller::open`] when auth is off), the UI from its session, the CLI and job workers use
//! [`Caller::system`]. Objects of another organisation, or of a workspace the caller may not use,
//! answer "not found" exactly like objects that do not exist; a caller naming another
//! organisation, or writing without the role for it, is "forbidden".
//!
//! Roles: `reader` reads (check-duplicate included: it never writes); `writer` also creates,
//! deletes, restores and runs templates; `admin` also manages the organisation: creates
//! workspaces and manages its API tokens.

use prompter_domain::{OrgId, WorkspaceId};
use prompter_storage::{ApiToken, Role};
use uuid::Uuid;

use crate::ServiceError;

#[derive(Debug, Clone, PartialEq)]
pub struct Caller {
    /// The organisation the caller is bound to; `None`: any (auth off, or the operator's CLI).
    org: Option<String>,
    /// The workspaces the caller may use; `None`: every workspace of its organisation.
    workspaces: Option<Vec<String>>,
    role: Role,
    /// The token behind the call, for logs and rate limits.
    token_id: Option<Uuid>,
    /// The token's label, to show who is signed in.
    label: Option<String>,
}

impl Caller {
    /// Auth is off (a loopback quick start without tokens): the caller names its organisation
    /// (default `default`) and may do everything.
    pub fn open() -> Self {
        Self {
            org: None,
            workspaces: None,
            role: Role::Admin,
            token_id: None,
            label: None,
        }
    }

    /// Nobody signed in, on a page anyone may open: may see nothing, do nothing.
    pub fn nobody() -> Self {
        Self {
            org: Some(String::new()),
            workspaces: Some(Vec::new()),
            role: Role::Reader,
            token_id: None,
            label: None,
        }
    }

    /// The operator (CLI commands, background jobs acting for the service itself).
    pub fn system() -> Self {
        Self::open()
    }

    /// A request authenticated with `token`.
    pub fn token(token: &ApiToken) -> Self {
        Self {
            org: Some(token.org_id.clone()),
            workspaces: token.workspaces.clone(),
            role: token.role,
            token_id: Some(token.id),
            label: token.label.clone(),
        }
    }

    pub fn token_id(&self) -> Option<Uuid> {
        self.token_id
    }

    pub fn label(&self) -> Option<&str> {
        self.label.as_deref()
    }

    pub fn role(&self) -> Role {
        self.role
    }

    /// The organisation a request acts in when it names none: the token's, else `default`.
    /// Whether the caller acts for one organisation (a token) rather than for the whole service
    /// (auth off, the operator).
    pub fn is_bound_to_org(&self) -> bool {
        self.org.is_some()
    }

    pub fn default_org(&self) -> OrgId {
        match &self.org {
            Some(org) => OrgId::parse(org).unwrap_or_else(|_| OrgId::default_org()),
            None => OrgId::default_org(),
        }
    }

    /// The organisation a request acts in: `requested` (validated) if the caller may act there,
    /// else the caller's default. Naming another organisation than the token's is forbidden.
    pub fn org(&self, requested: Option<&str>) -> Result<OrgId, ServiceError> {
        match requested {
            None => Ok(self.default_org()),
            Some(raw) => {
                let org = OrgId::parse(raw)?;
                self.check_org(&org)?;
                Ok(org)
            }
        }
    }

    /// Forbidden unless the caller may act in `org`.
    pub fn check_org(&self, org: &OrgId) -> Result<(), ServiceError> {
        match &self.org {
            Some(own) if own != org.as_str() => Err(ServiceError::Forbidden(
                "the token belongs to another organisation",
            )),
            _ => Ok(()),
        }
    }

    pub fn permits_workspace(&self, workspace: &str) -> bool {
        self.workspaces
            .as_ref()
            .is_none_or(|allowed| allowed.iter().any(|w| w == workspace))
    }

    /// A list's workspace filter: none, or `workspace` (validated) if the caller may use it;
    /// a workspace it may not use is not found, like one that does not exist.
    pub fn workspace_filter(
        &self,
        workspace: Option<&str>,
    ) -> Result<Option<WorkspaceId>, ServiceError> {
        match workspace {
            None => Ok(None),
            Some(ws) if !self.permits_workspace(ws) => Err(ServiceError::WorkspaceNotFound),
            Some(ws) => Ok(Some(WorkspaceId::parse(ws)?)),
        }
    }

    /// Whether the caller may see an object of `org` and `workspace`.
    pub fn permits(&self, org: &str, workspace: &str) -> bool {
        self.org.as_deref().is_none_or(|own| own == org) && self.permits_workspace(workspace)
    }

    /// The workspace filter a list applies (`None`: every workspace of the organisation).
    pub fn allowed_workspaces(&self) -> Option<Vec<String>> {
        self.workspaces.clone()
    }

    pub fn can_write(&self) -> bool {
        self.role != Role::Reader
    }

    /// Creating, deleting, restoring and running need a writer or an admin.
    pub fn require_writer(&self) -> Result<(), ServiceError> {
        if self.can_write() {
            Ok(())
        } else {
            Err(ServiceError::Forbidden(
                "reader tokens cannot change or run anything",
            ))
        }
    }

    /// Whether an admin caller may see and revoke `token`: same organisation, and no workspace
    /// beyond the caller's own.
    pub fn manages(&self, token: &ApiToken) -> bool {
        let org_ok = self.org.as_deref().is_none_or(|own| own == token.org_id);
        let workspaces_ok = match (&self.workspaces, &token.workspaces) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(_), Some(theirs)) => theirs.iter().all(|w| self.permits_workspace(w)),
        };
        self.is_admin() && org_ok && workspaces_ok
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Creating workspaces and managing tokens need an admin.
    pub fn require_admin(&self) -> Result<(), ServiceError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(ServiceError::Forbidden(
                "only admin tokens manage workspaces and tokens",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(org: &str, workspaces: Option<&[&str]>, role: Role) -> Caller {
        Caller::token(&ApiToken {
            id: Uuid::nil(),
            org_id: org.into(),
            workspaces: workspaces.map(|w| w.iter().map(|s| s.to_string()).collect()),
            role,
            label: None,
            created_at: chrono::Utc::now(),
            revoked_at: None,
        })
    }

    #[test]
    fn a_token_is_bound_to_its_org_and_workspaces() {
        let c = token("acme", Some(&["a"]), Role::Writer);
        assert_eq!(c.default_org().as_str(), "acme");
        assert!(c.org(Some("acme")).is_ok());
        assert!(matches!(
            c.org(Some("other")),
            Err(ServiceError::Forbidden(_))
        ));
        assert!(c.permits("acme", "a"));
        assert!(!c.permits("acme", "b"));
        assert!(!c.permits("other", "a"));
        assert!(c.require_writer().is_ok());
        assert!(c.require_admin().is_err());
    }

    #[test]
    fn roles_nest() {
        let reader = token("o", None, Role::Reader);
        assert!(reader.require_writer().is_err());
        assert!(reader.permits("o", "anything"));
        let admin = token("o", None, Role::Admin);
        assert!(admin.require_writer().is_ok() && admin.require_admin().is_ok());
        let open = Caller::open();
        assert!(open.permits("x", "y") && open.require_admin().is_ok());
        assert_eq!(open.org(Some("x")).unwrap().as_str(), "x");
        assert!(open.org(Some("bad org!")).is_err());
    }
}
