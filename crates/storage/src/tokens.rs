//! API tokens: a tenant's credentials. The token itself is shown once; storage keeps its hash.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything a writer can, plus managing workspaces.
    Admin,
    /// Create, delete, restore and run templates.
    Writer,
    /// Read only (check-duplicate included: it never writes).
    Reader,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Writer => "writer",
            Role::Reader => "reader",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "writer" => Some(Role::Writer),
            "reader" => Some(Role::Reader),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApiToken {
    pub id: Uuid,
    pub org_id: String,
    /// `None`: every workspace of the organisation.
    pub workspaces: Option<Vec<String>>,
    pub role: Role,
    pub label: Option<String>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ApiToken {
    /// Whether the token may use `workspace` (tokens without a list may use every workspace of
    /// their organisation). The API and the UI both decide access here.
    pub fn permits_workspace(&self, workspace: &str) -> bool {
        self.workspaces
            .as_ref()
            .is_none_or(|allowed| allowed.iter().any(|w| w == workspace))
    }

    /// Creating, deleting, restoring and running need a writer or an admin.
    pub fn can_write(&self) -> bool {
        self.role != Role::Reader
    }
}

#[derive(Debug, Clone)]
pub struct NewToken {
    pub id: Uuid,
    pub org_id: String,
    pub workspaces: Option<Vec<String>>,
    pub role: Role,
    pub label: Option<String>,
    /// SHA-256 hex of the secret.
    pub token_hash: String,
    pub created_at: DateTime<Utc>,
}

impl NewToken {
    /// The token as stored: active, without its hash (what `create_token` returns).
    pub fn into_token(self) -> ApiToken {
        ApiToken {
            id: self.id,
            org_id: self.org_id,
            workspaces: self.workspaces,
            role: self.role,
            label: self.label,
            created_at: self.created_at,
            revoked_at: None,
        }
    }
}
