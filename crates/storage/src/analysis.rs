//! Brand-visibility records: alias snapshots, the analyses of answers, the counts the visibility
//! numbers are computed from, and re-analysis jobs.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use uuid::Uuid;

/// An immutable entity set of a workspace (brand and competitors with aliases and domains).
#[derive(Debug, Clone, PartialEq)]
pub struct AliasSnapshot {
    pub id: Uuid,
    pub org_id: String,
    pub workspace_id: String,
    /// Canonical hash of the content: the same content is the same snapshot.
    pub content_hash: String,
    /// The entity set, as the domain serialises it.
    pub entities: Value,
    pub created_at: DateTime<Utc>,
    /// When it was last put: the latest is the workspace's current snapshot.
    pub current_since: DateTime<Utc>,
}

/// Outcome of [`crate::Database::put_alias_snapshot`].
#[derive(Debug, Clone, PartialEq)]
pub enum PutSnapshot {
    Created(AliasSnapshot),
    /// A snapshot with this content existed: it is current again (its `current_since` moved).
    Existing(AliasSnapshot),
}

impl PutSnapshot {
    pub fn snapshot(&self) -> &AliasSnapshot {
        match self {
            PutSnapshot::Created(s) | PutSnapshot::Existing(s) => s,
        }
    }
}

/// One analysis of one answer, with the result's dimensions (copied, so that visibility numbers
/// never read result rows).
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisRow {
    pub result_id: Uuid,
    pub alias_snapshot_id: Uuid,
    pub extractor_version: String,
    pub org_id: String,
    pub workspace_id: String,
    pub template_id: Uuid,
    pub model_id: String,
    pub provider: String,
    pub country: Option<String>,
    pub provider_version_key: Option<String>,
    pub is_fake: bool,
    pub result_created_at: DateTime<Utc>,
    /// The analysis as the API shows it (entities and citations).
    pub analysis: Value,
    /// The entities mentioned or cited (the others are neither).
    pub mentions: Vec<MentionRow>,
    /// The distinct domains the answer's citations point at.
    pub cited_domains: Vec<String>,
    pub analysed_at: DateTime<Utc>,
}

impl AnalysisRow {
    /// The UTC day of the answer, as stored (`YYYY-MM-DD`).
    pub fn day(&self) -> String {
        self.result_created_at.format("%Y-%m-%d").to_string()
    }
}

/// Kind of the mention and roll-up rows of an entity (and of the answers row).
pub const ENTITY: &str = "entity";
/// Kind of the mention and roll-up rows of a cited domain.
pub const DOMAIN: &str = "domain";

/// An entity an analysis found mentioned or cited.
#[derive(Debug, Clone, PartialEq)]
pub struct MentionRow {
    pub entity: String,
    pub mentioned: bool,
    pub rank: Option<i32>,
    pub cited: bool,
}

/// A stored analysis, as read back for a result.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAnalysis {
    pub result_id: Uuid,
    pub alias_snapshot_id: Uuid,
    pub extractor_version: String,
    pub analysis: Value,
    pub analysed_at: DateTime<Utc>,
}

/// A column the visibility counts can be grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CountColumn {
    Template,
    Model,
    Provider,
    Country,
    ProviderVersionKey,
    Day,
}

impl CountColumn {
    /// The column, the same in `result_analyses` and `visibility_daily`.
    pub fn column(self) -> &'static str {
        match self {
            CountColumn::Template => "template_id",
            CountColumn::Model => "model_id",
            CountColumn::Provider => "provider",
            CountColumn::Country => "country",
            CountColumn::ProviderVersionKey => "provider_version_key",
            CountColumn::Day => "day",
        }
    }
}

/// Which stored answers the counts cover.
#[derive(Debug, Clone, PartialEq)]
pub enum CountSpan {
    /// Whole UTC days `from..to` (end exclusive), read from the daily roll-up; open ends
    /// are unbounded.
    Days {
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    },
    /// Answers created in `from..to` (end exclusive), read from the analyses themselves.
    Times {
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    },
}

/// The counts of [`crate::Database::visibility_counts`].
#[derive(Debug, Clone, PartialEq)]
pub struct CountQuery {
    pub org_id: String,
    pub workspace_id: String,
    pub alias_snapshot_id: Uuid,
    pub extractor_version: String,
    pub include_fake: bool,
    pub group_by: Vec<CountColumn>,
    pub span: CountSpan,
}

/// Counts of one group and one entity (`entity` empty: the answers row, whose `n_answers` is
/// the number of analysed answers of the group; entity rows count only mentions and citations;
/// `kind` [`DOMAIN`] rows count in `n_cited` the answers citing the domain named `entity`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountRow {
    /// The group's values, in the query's `group_by` order ('' for none).
    pub keys: Vec<String>,
    /// [`ENTITY`] or [`DOMAIN`].
    pub kind: String,
    pub entity: String,
    pub n_answers: i64,
    pub n_mentioned: i64,
    pub rank_sum: i64,
    pub n_ranked: i64,
    pub n_cited: i64,
}

/// A version key answering a workspace's template for the first time.
#[derive(Debug, Clone, PartialEq)]
pub struct DriftEvent {
    pub template_id: Uuid,
    pub model_id: String,
    pub provider_version_key: String,
    pub first_seen_at: DateTime<Utc>,
}

/// An answer to analyse (a succeeded result with its text and dimensions).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAnswer {
    pub result_id: Uuid,
    pub org_id: String,
    pub workspace_id: String,
    pub template_id: Uuid,
    pub model_id: String,
    pub provider: String,
    pub country: Option<String>,
    pub provider_version_key: Option<String>,
    pub is_fake: bool,
    pub created_at: DateTime<Utc>,
    pub answer: String,
    /// The provider's citations (`[{url, …}]`), if recorded.
    pub citations: Option<Value>,
}

/// A page of a workspace's answers, oldest first, after a keyset cursor.
#[derive(Debug, Clone, PartialEq)]
pub struct AnswerScan {
    pub org_id: String,
    pub workspace_id: String,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub after: Option<(DateTime<Utc>, Uuid)>,
    pub limit: u32,
}

/// State of a re-analysis job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "queued" => JobStatus::Queued,
            "running" => JobStatus::Running,
            "succeeded" => JobStatus::Succeeded,
            "failed" => JobStatus::Failed,
            _ => return None,
        })
    }
}

/// A re-analysis of a workspace's stored answers with one snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct ReanalysisJob {
    pub id: Uuid,
    pub org_id: String,
    pub workspace_id: String,
    pub alias_snapshot_id: Uuid,
    pub extractor_version: String,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub status: JobStatus,
    /// Answers in the range when the job was created.
    pub total: i64,
    /// Answers gone through so far.
    pub processed: i64,
    /// Of those, the ones that had no analysis with this snapshot yet.
    pub analysed: i64,
    pub cursor: Option<(DateTime<Utc>, Uuid)>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// Progress of a job page: written in the transaction that writes the page's analyses.
#[derive(Debug, Clone, PartialEq)]
pub struct JobProgress {
    pub job_id: Uuid,
    pub runner: Uuid,
    /// The cursor after the page; `None` with `done`.
    pub cursor: Option<(DateTime<Utc>, Uuid)>,
    pub processed: i64,
    pub done: bool,
    pub at: DateTime<Utc>,
    pub lease_until: DateTime<Utc>,
}

/// A row of the daily roll-up, as its key columns hold it (`country`, `provider_version_key`
/// `''` for none; `entity` `''` for the answers row).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RollupKey {
    pub org_id: String,
    pub workspace_id: String,
    pub alias_snapshot_id: Uuid,
    pub extractor_version: String,
    pub day: String,
    pub template_id: Uuid,
    pub model_id: String,
    pub provider: String,
    pub country: String,
    pub provider_version_key: String,
    pub is_fake: bool,
    pub kind: &'static str,
    pub entity: String,
}

/// What newly written analyses add to the roll-up, one entry per row touched: `[answers,
/// mentioned, rank sum, ranked, cited]`. Summed here so that a page of analyses touches each
/// roll-up row once.
pub fn rollup_deltas<'a>(
    rows: impl IntoIterator<Item = &'a AnalysisRow>,
) -> std::collections::BTreeMap<RollupKey, [i64; 5]> {
    let mut out = std::collections::BTreeMap::new();
    for a in rows {
        let key = |kind: &'static str, entity: &str| RollupKey {
            org_id: a.org_id.clone(),
            workspace_id: a.workspace_id.clone(),
            alias_snapshot_id: a.alias_snapshot_id,
            extractor_version: a.extractor_version.clone(),
            day: a.day(),
            template_id: a.template_id,
            model_id: a.model_id.clone(),
            provider: a.provider.clone(),
            country: a.country.clone().unwrap_or_default(),
            provider_version_key: a.provider_version_key.clone().unwrap_or_default(),
            is_fake: a.is_fake,
            kind,
            entity: entity.to_owned(),
        };
        let mut add = |kind: &'static str, entity: &str, d: [i64; 5]| {
            let slot: &mut [i64; 5] = out.entry(key(kind, entity)).or_insert([0; 5]);
            for (s, v) in slot.iter_mut().zip(d) {
                *s += v;
            }
        };
        add(ENTITY, "", [1, 0, 0, 0, 0]);
        for m in &a.mentions {
            add(
                ENTITY,
                &m.entity,
                [
                    0,
                    i64::from(m.mentioned),
                    i64::from(m.rank.unwrap_or(0)),
                    i64::from(m.rank.is_some()),
                    i64::from(m.cited),
                ],
            );
        }
        for d in &a.cited_domains {
            add(DOMAIN, d, [0, 0, 0, 0, 1]);
        }
    }
    out
}
