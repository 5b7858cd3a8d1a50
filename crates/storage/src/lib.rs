//! The storage contract.
//!
//! Everything the service persists goes through [`Database`]. Each backend (SQLite, PostgreSQL)
//! lives in its own crate and implements the whole trait; the shared conformance suite
//! (`prompter-storage-conformance`) runs the same tests against both, so "behaviour is identical
//! on both" is checked, not hoped for.
//!
//! Uniqueness is decided by the database: the partial unique index
//! `ux_templates_org_ws_confighash_active` is the final arbiter of duplicate templates, and a
//! backend reports what it caught as an outcome ([`CreateTemplate::Duplicate`]), never as an error.

mod cursor;
mod records;
mod runs;
mod tokens;

use async_trait::async_trait;
use uuid::Uuid;

pub use cursor::{Cursor, CursorError};
pub use records::{
    timestamp, CreateTemplate, MigrationState, NewTemplate, NewWorkspace, RestoreTemplate,
    Template, TemplatePage, TemplateQuery, Workspace,
};
pub use runs::{
    RecordedRun, ResultPage, RunRecord, RunResult, RunStatus, UpsertedVersion, Version,
    VersionObservation,
};
pub use tokens::{ApiToken, NewToken, Role};

use prompter_domain::{OrgId, WorkspaceId};

/// Which backend a [`Database`] is, for logs, health output and metrics labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// A storage failure the caller cannot fix by changing its request.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The database cannot be reached (connection refused, pool exhausted, timed out).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A workspace with this id already exists in the organisation.
    #[error("workspace already exists")]
    WorkspaceExists,
    /// Anything else: a bug or a broken database. Logged in full, reported as a 500.
    #[error("database error: {0}")]
    Internal(String),
}

#[cfg(feature = "sqlx")]
impl From<sqlx::Error> for StorageError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_) => StorageError::Unavailable(e.to_string()),
            other => StorageError::Internal(other.to_string()),
        }
    }
}

#[cfg(feature = "sqlx")]
impl From<sqlx::migrate::MigrateError> for StorageError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        match e {
            sqlx::migrate::MigrateError::Execute(inner) => inner.into(),
            other => StorageError::Internal(other.to_string()),
        }
    }
}

/// Reads a JSON column stored as text (SQLite) back into a value.
pub fn json_from_text<T: serde::de::DeserializeOwned>(column: &str, text: &str) -> Result<T> {
    serde_json::from_str(text)
        .map_err(|e| StorageError::Internal(format!("column {column} holds invalid JSON: {e}")))
}

pub type Result<T, E = StorageError> = std::result::Result<T, E>;

#[async_trait]
pub trait Database: Send + Sync + 'static {
    fn backend(&self) -> Backend;

    /// A round trip to the database.
    async fn ping(&self) -> Result<()>;

    /// Closes the connection pools (at shutdown, after the last request).
    async fn close(&self) {}

    /// Applies every pending migration; returns the versions applied now.
    async fn migrate_up(&self) -> Result<Vec<i64>>;
    /// Reverts the `steps` most recent migrations; returns the versions reverted.
    async fn migrate_down(&self, steps: usize) -> Result<Vec<i64>>;
    /// Every migration the binary knows, and whether it is applied.
    async fn migration_status(&self) -> Result<Vec<MigrationState>>;

    async fn create_workspace(&self, ws: NewWorkspace) -> Result<Workspace>;
    async fn get_workspace(&self, org: &OrgId, id: &WorkspaceId) -> Result<Option<Workspace>>;
    /// Workspaces of an organisation, by id.
    async fn list_workspaces(&self, org: &OrgId) -> Result<Vec<Workspace>>;

    /// Inserts the template unless an active template with the same config hash exists in the same
    /// org and workspace. Creates the workspace record (name = id) if there is none yet, in the
    /// same transaction.
    async fn create_template(&self, new: NewTemplate) -> Result<CreateTemplate>;
    /// The active template with this config hash in this org and workspace, if any. Never writes.
    async fn find_active_duplicate(
        &self,
        org: &OrgId,
        workspace: &WorkspaceId,
        config_hash: &str,
    ) -> Result<Option<Template>>;
    async fn get_template(&self, id: Uuid) -> Result<Option<Template>>;
    /// Newest first, keyset-paginated.
    async fn list_templates(&self, query: &TemplateQuery) -> Result<TemplatePage>;
    /// Sets `deleted_at` (once; deleting a deleted template changes nothing). `None` if unknown.
    async fn soft_delete_template(&self, id: Uuid) -> Result<Option<Template>>;
    /// Clears `deleted_at` unless an active twin (same org, workspace and hash) exists.
    async fn restore_template(&self, id: Uuid) -> Result<RestoreTemplate>;

    /// Inserts the version, or moves `last_seen_at` forward if the key is known. Concurrent
    /// upserts of one key end in one row (the unique index arbitrates).
    async fn upsert_version(&self, observation: &VersionObservation) -> Result<UpsertedVersion>;
    /// A template's versions, most recently first seen first.
    async fn list_versions(&self, template_id: Uuid) -> Result<Vec<Version>>;
    /// The version seen most recently for this template (any provider), if any.
    async fn latest_version(&self, template_id: Uuid) -> Result<Option<Version>>;

    /// Upserts the observed version and inserts the result in one transaction. With an
    /// idempotency key already used for this template, nothing is written and the first result is
    /// returned.
    async fn record_run(&self, record: RunRecord) -> Result<RecordedRun>;
    async fn get_result(&self, id: Uuid) -> Result<Option<RunResult>>;
    /// The result recorded for `(template, idempotency key)` since `since`, if any.
    async fn find_idempotent_result(
        &self,
        template_id: Uuid,
        key: &str,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<RunResult>>;
    async fn create_token(&self, token: NewToken) -> Result<ApiToken>;
    /// Every token, revoked ones included, oldest first.
    async fn list_tokens(&self) -> Result<Vec<ApiToken>>;
    /// Marks the token revoked; `false` if unknown or already revoked.
    async fn revoke_token(&self, id: Uuid) -> Result<bool>;
    /// The active (not revoked) token with this hash.
    async fn active_token_by_hash(&self, token_hash: &str) -> Result<Option<ApiToken>>;
    async fn count_active_tokens(&self) -> Result<i64>;

    /// A template's results, newest first, keyset-paginated.
    async fn list_results(
        &self,
        template_id: Uuid,
        limit: u32,
        after: Option<Cursor>,
    ) -> Result<ResultPage>;
}

/// For `migrate down`: the version to undo back to (exclusive) and the versions that reverts,
/// given the applied versions (any order) and how many steps to go back.
pub fn down_target(applied: &[i64], steps: usize) -> (i64, Vec<i64>) {
    let mut sorted = applied.to_vec();
    sorted.sort_unstable();
    let keep = sorted.len().saturating_sub(steps);
    let target = if keep == 0 { 0 } else { sorted[keep - 1] };
    let mut reverted = sorted.split_off(keep);
    reverted.reverse();
    (target, reverted)
}

/// Joins the migrations a binary embeds (`(version, description, is_down)`) with the applied
/// versions.
pub fn migration_states<'a>(
    known: impl Iterator<Item = (i64, &'a str, bool)>,
    applied: &[i64],
) -> Vec<MigrationState> {
    known
        .filter(|(_, _, is_down)| !is_down)
        .map(|(version, description, _)| MigrationState {
            version,
            description: description.to_owned(),
            applied: applied.contains(&version),
        })
        .collect()
}

/// Cuts a `limit + 1` fetch of results into a page.
pub fn result_page(mut items: Vec<RunResult>, limit: u32) -> ResultPage {
    let limit = limit as usize;
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|r| Cursor {
            created_at: r.created_at,
            id: r.id,
        })
    } else {
        None
    };
    ResultPage { items, next }
}

/// Cuts a `limit + 1` fetch into a page: the extra row only says that there is more.
pub fn page(mut items: Vec<Template>, limit: u32) -> TemplatePage {
    let limit = limit as usize;
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|t| Cursor {
            created_at: t.created_at,
            id: t.id,
        })
    } else {
        None
    };
    TemplatePage { items, next }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn down_target_goes_back_the_requested_steps() {
        assert_eq!(down_target(&[1, 3, 2], 1), (2, vec![3]));
        assert_eq!(down_target(&[1, 2, 3], 2), (1, vec![3, 2]));
        assert_eq!(down_target(&[1, 2], 5), (0, vec![2, 1]));
        assert_eq!(down_target(&[], 1), (0, vec![]));
    }
}
