//! Registry hygiene: what an import or a dedupe writes, as one plan applied in one transaction
//! ([`crate::Database::apply_merge_plan`]), so an interrupted import or dedupe leaves the
//! database as it was. The plan is computed by the service; storage only applies it.

use std::collections::HashSet;
use std::hash::Hash;

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::{NewTemplate, NewWorkspace};

/// What the exact-twin and near-duplicate lookup reads of a template: enough to compare
/// configurations and name the match. Not the whole row: check-duplicate reads up to 50 of these
/// per request, and reading full templates made up half of its cost with five near matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateHead {
    pub id: Uuid,
    pub name: String,
    pub config_hash: String,
    pub config_canonical_json: String,
}

/// A template to insert with its id (import): active, deleted, or merged into a survivor.
#[derive(Debug, Clone)]
pub struct ImportedTemplate {
    pub template: NewTemplate,
    /// Set for soft-deleted source rows and for merged ones.
    pub deleted_at: Option<DateTime<Utc>>,
    pub merged_into: Option<Uuid>,
}

/// A provider version row to insert with its id.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedVersion {
    pub id: Uuid,
    pub org_id: String,
    pub workspace_id: String,
    pub template_id: Uuid,
    pub provider: String,
    pub provider_version_key: String,
    pub model_id: String,
    pub fingerprint_captured_at: Option<DateTime<Utc>>,
    pub first_seen_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    /// The survivor's row with the same provider_version_key this row was merged into (it then
    /// stays on its old template, so its id still resolves).
    pub merged_into: Option<Uuid>,
}

/// A result row to insert with its id.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedResult {
    pub id: Uuid,
    pub org_id: String,
    pub workspace_id: String,
    pub template_id: Uuid,
    pub version_id: Option<Uuid>,
    pub provider: String,
    pub model_id: String,
    pub provider_version_key: Option<String>,
    pub system_fingerprint: Option<String>,
    /// Compact JSON text (an import holds a million of these: text costs a fraction of a tree).
    pub request: String,
    /// Compact JSON text.
    pub response: String,
    pub answer: Option<String>,
    pub analysis_config: Option<Value>,
    pub rendered_prompt_hash: Option<String>,
    pub run_country: Option<String>,
    pub used_grounding: Option<bool>,
    /// `succeeded` or `failed`.
    pub status: String,
    pub error: Option<Value>,
    pub latency_ms: i64,
    pub usage: Option<Value>,
    pub is_fake: bool,
    pub finish_reason: Option<String>,
    pub truncated: Option<bool>,
    pub citations: Option<Value>,
    pub created_at: DateTime<Utc>,
}

/// New hash fields of an existing template (dedupe `--rehash`).
#[derive(Debug, Clone, PartialEq)]
pub struct Rehash {
    pub template_id: Uuid,
    pub config_hash: String,
    pub config_canonical_json: String,
    pub near_key: Option<String>,
}

/// The widened seen-window of an existing version row that absorbed a merged one.
#[derive(Debug, Clone, PartialEq)]
pub struct SeenWindow {
    pub version_id: Uuid,
    pub first_seen_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

/// Everything one import or dedupe writes. Applied in this order, in one transaction:
/// workspaces, `template_merges`, `rehash`, `templates`, `versions`, `version_merges`,
/// `version_moves`, `seen_windows`, `result_version_moves`, `result_moves`, `results`.
/// Inserts skip rows whose id exists (a second import changes nothing).
#[derive(Debug, Clone, Default)]
pub struct MergePlan {
    /// Inserted if missing (name kept if present).
    pub workspaces: Vec<NewWorkspace>,
    pub templates: Vec<ImportedTemplate>,
    pub versions: Vec<ImportedVersion>,
    pub results: Vec<ImportedResult>,
    pub rehash: Vec<Rehash>,
    /// Existing templates `(from, into)`: soft-deleted (an earlier `deleted_at` is kept),
    /// `merged_into` set. Applied before `rehash`, so the unique index never sees two actives.
    pub template_merges: Vec<(Uuid, Uuid)>,
    /// Existing version rows `(version, into_version)`: `merged_into` set; they stay on their
    /// template.
    pub version_merges: Vec<(Uuid, Uuid)>,
    /// Existing version rows `(version, new_template)` re-pointed to the survivor.
    pub version_moves: Vec<(Uuid, Uuid)>,
    pub seen_windows: Vec<SeenWindow>,
    /// Existing results of version `from` now point at version `to`.
    pub result_version_moves: Vec<(Uuid, Uuid)>,
    /// Existing results of template `from` now point at template `to`.
    pub result_moves: Vec<(Uuid, Uuid)>,
}

/// What [`crate::Database::apply_merge_plan`] changed (rows actually written).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MergeApplied {
    pub workspaces_inserted: u64,
    pub templates_inserted: u64,
    pub versions_inserted: u64,
    pub results_inserted: u64,
    pub templates_rehashed: u64,
    pub templates_merged: u64,
    pub versions_merged: u64,
    pub versions_moved: u64,
    pub results_moved: u64,
}

/// Ids per [`crate::Database::existing_ids`] query on both backends: well below their bind
/// limits, and a lookup of a million ids stays a series of short reads.
pub const EXISTING_IDS_CHUNK: usize = 500;

/// `ids` sorted and distinct, as `existing_ids` looks them up: each id is answered once, and
/// the lookups walk the primary-key index in order.
pub fn lookup_order(ids: &[Uuid]) -> Vec<Uuid> {
    let mut wanted = ids.to_vec();
    wanted.sort_unstable();
    wanted.dedup();
    wanted
}

/// The first entry per key of a plan's list: a plan names each row once, and if it does not,
/// both backends apply the same entry (PostgreSQL's `UPDATE … FROM` with two matches would
/// pick either).
pub fn first_per_key<T, K: Eq + Hash>(items: &[T], key: impl Fn(&T) -> K) -> Vec<&T> {
    let mut seen = HashSet::with_capacity(items.len());
    items.iter().filter(|item| seen.insert(key(item))).collect()
}

/// The tables whose ids [`crate::Database::existing_ids`] looks up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdTable {
    Templates,
    Versions,
    Results,
}

impl IdTable {
    pub fn table(self) -> &'static str {
        match self {
            IdTable::Templates => "prompt_templates",
            IdTable::Versions => "prompt_versions",
            IdTable::Results => "prompt_results",
        }
    }
}
