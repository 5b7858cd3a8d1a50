//! What the storage layer reads and writes. Plain data: serialisable as the API returns it.

use chrono::{DateTime, Utc};
use prompter_domain::{OrgId, TemplateSpec, WorkspaceId};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::Cursor;

/// Timestamps are UTC with microsecond precision everywhere: PostgreSQL keeps microseconds, so
/// truncating once, at creation, makes both backends return the same value.
pub mod timestamp {
    use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};

    pub fn now() -> DateTime<Utc> {
        Utc::now().trunc_subsecs(6)
    }

    /// `2025-08-14T14:13:29.123456Z`: fixed width, so in SQLite text order is time order.
    pub fn format(t: &DateTime<Utc>) -> String {
        t.to_rfc3339_opts(SecondsFormat::Micros, true)
    }

    pub fn parse(s: &str) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }
}

/// A brand.
#[derive(Debug, Clone, PartialEq)]
pub struct Workspace {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewWorkspace {
    pub org_id: OrgId,
    pub id: WorkspaceId,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// A stored template: every field of the create request, plus identity and lifecycle.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub id: Uuid,
    pub org_id: String,
    pub workspace_id: String,
    pub name: String,
    pub provider: Option<String>,
    pub system_instructions: Option<String>,
    pub user_prompt_template: String,
    pub country_set: Vec<String>,
    pub model_id: String,
    pub inference_params: Map<String, Value>,
    pub tools_spec: Option<Vec<Value>>,
    pub response_format: Option<Map<String, Value>>,
    pub grounding_profile_id: Option<String>,
    pub grounding_snapshot_id: Option<String>,
    pub retrieval_params: Option<Map<String, Value>>,
    pub created_by: Option<String>,
    /// Labels: not part of the configuration hash.
    pub tags: Vec<String>,
    pub config_hash: String,
    /// Exactly the text that was hashed.
    pub config_canonical_json: String,
    pub created_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
    /// The template this one was merged into (import or dedupe): it is then soft-deleted, and
    /// its id resolves to the survivor through this field.
    pub merged_into: Option<Uuid>,
}

/// A template about to be inserted: a validated spec with its id and creation time.
#[derive(Debug, Clone)]
pub struct NewTemplate {
    pub id: Uuid,
    pub name: String,
    pub spec: TemplateSpec,
    pub created_at: DateTime<Utc>,
}

impl NewTemplate {
    /// A new row for `spec`, named `name`. Ids are UUIDv7 so that index inserts stay local.
    pub fn new(spec: TemplateSpec, name: String) -> Self {
        Self {
            id: Uuid::now_v7(),
            name,
            spec,
            created_at: timestamp::now(),
        }
    }

    /// The row as it reads back once inserted.
    pub fn into_template(self) -> Template {
        let s = self.spec;
        Template {
            id: self.id,
            org_id: s.org_id.to_string(),
            workspace_id: s.workspace_id.to_string(),
            name: self.name,
            provider: s.provider,
            system_instructions: s.system_instructions,
            user_prompt_template: s.user_prompt_template,
            country_set: s.country_set,
            model_id: s.model_id,
            inference_params: s.inference_params,
            tools_spec: s.tools_spec,
            response_format: s.response_format,
            grounding_profile_id: s.grounding_profile_id,
            grounding_snapshot_id: s.grounding_snapshot_id,
            retrieval_params: s.retrieval_params,
            created_by: s.created_by,
            tags: s.tags,
            config_hash: s.config.hash,
            config_canonical_json: s.config.canonical_json,
            created_at: self.created_at,
            deleted_at: None,
            merged_into: None,
        }
    }

    /// The key of the configurations that may be near-duplicates of this one.
    pub fn near_key(&self) -> Option<String> {
        Some(prompter_domain::near_duplicates::near_key_of(
            &self.spec.model_id,
            &self.spec.user_prompt_template,
        ))
    }
}

/// Outcome of [`crate::Database::create_template`].
#[derive(Debug, Clone, PartialEq)]
pub enum CreateTemplate {
    Created(Template),
    /// An active template with the same configuration exists; `workspace_name` is its brand's
    /// display name, for the 409 message.
    Duplicate {
        existing: Template,
        workspace_name: String,
    },
}

/// Outcome of [`crate::Database::restore_template`].
#[derive(Debug, Clone, PartialEq)]
pub enum RestoreTemplate {
    Restored(Template),
    NotFound,
    /// Another active template with the same configuration was created meanwhile.
    ActiveTwin {
        existing: Template,
        workspace_name: String,
    },
}

#[derive(Debug, Clone)]
pub struct TemplateQuery {
    pub org_id: OrgId,
    pub workspace_id: Option<WorkspaceId>,
    /// Restricts the list to these workspaces (a token limited to some brands); `None`: all.
    pub allowed_workspaces: Option<Vec<String>>,
    pub include_deleted: bool,
    /// Only templates carrying this tag.
    pub tag: Option<String>,
    pub limit: u32,
    pub after: Option<Cursor>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TemplatePage {
    pub items: Vec<Template>,
    /// Present when there may be more rows after this page.
    pub next: Option<Cursor>,
}

/// One migration the binary knows about.
#[derive(Debug, Clone, PartialEq)]
pub struct MigrationState {
    pub version: i64,
    pub description: String,
    pub applied: bool,
}
