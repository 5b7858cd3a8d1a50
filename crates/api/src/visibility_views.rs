//! Wire types of brand visibility: alias snapshots, re-analysis jobs and visibility numbers.

use chrono::{DateTime, Utc};
use prompter_domain::visibility::EntityNumbers;
use prompter_service::records::{AliasSnapshot, DriftEvent, JobStatus, ReanalysisJob};
use prompter_service::{Visibility, VisibilityRow};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::views::{micros, micros_opt};

/// An immutable entity set of a workspace: the brand and its competitors, each with aliases and
/// domains.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AliasSnapshot)]
pub struct SnapshotView {
    pub id: Uuid,
    pub org_id: String,
    pub workspace_id: String,
    /// SHA-256 of the canonical content: the same entities are the same snapshot.
    pub content_hash: String,
    /// `{brand: {name, aliases: [{text, case_sensitive}], domains}, competitors: [...]}`,
    /// normalised (the name is always one of the aliases).
    pub entities: Value,
    #[serde(serialize_with = "micros")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    /// When it was last put: the latest is the workspace's current snapshot.
    #[serde(serialize_with = "micros")]
    #[schema(value_type = String, format = DateTime)]
    pub current_since: DateTime<Utc>,
}

impl From<AliasSnapshot> for SnapshotView {
    fn from(s: AliasSnapshot) -> Self {
        Self {
            id: s.id,
            org_id: s.org_id,
            workspace_id: s.workspace_id,
            content_hash: s.content_hash,
            entities: s.entities,
            created_at: s.created_at,
            current_since: s.current_since,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobStatusView {
    Queued,
    Running,
    Succeeded,
    Failed,
}

/// A re-analysis of a workspace's stored answers with one snapshot, with its progress.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ReanalysisJob)]
pub struct JobView {
    pub id: Uuid,
    pub org_id: String,
    pub workspace_id: String,
    pub alias_snapshot_id: Uuid,
    pub extractor_version: String,
    #[serde(serialize_with = "micros_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub from: Option<DateTime<Utc>>,
    #[serde(serialize_with = "micros_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub to: Option<DateTime<Utc>>,
    pub status: JobStatusView,
    /// Answers in the range when the job was created.
    pub total: i64,
    /// Answers gone through so far.
    pub processed: i64,
    /// Of those, answers that had no analysis with this snapshot yet (a second run adds none).
    pub analysed: i64,
    pub error: Option<String>,
    #[serde(serialize_with = "micros")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "micros_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "micros_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<ReanalysisJob> for JobView {
    fn from(j: ReanalysisJob) -> Self {
        Self {
            id: j.id,
            org_id: j.org_id,
            workspace_id: j.workspace_id,
            alias_snapshot_id: j.alias_snapshot_id,
            extractor_version: j.extractor_version,
            from: j.from,
            to: j.to,
            status: match j.status {
                JobStatus::Queued => JobStatusView::Queued,
                JobStatus::Running => JobStatusView::Running,
                JobStatus::Succeeded => JobStatusView::Succeeded,
                JobStatus::Failed => JobStatusView::Failed,
            },
            total: j.total,
            processed: j.processed,
            analysed: j.analysed,
            error: j.error,
            created_at: j.created_at,
            started_at: j.started_at,
            finished_at: j.finished_at,
        }
    }
}

/// One entity's numbers in one group. Rates are fractions (0–1) of pooled counts; `null`
/// without answers.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = EntityVisibility)]
pub struct EntityNumbersView {
    pub name: String,
    pub is_brand: bool,
    pub n_answers: u64,
    pub n_mentioned: u64,
    pub mention_rate: Option<f64>,
    /// 95 % Wilson score interval of `mention_rate`.
    pub wilson_low: Option<f64>,
    pub wilson_high: Option<f64>,
    /// Mean rank (1 = mentioned first) over the `n_ranked` answers that mention it.
    pub avg_rank: Option<f64>,
    pub n_ranked: u64,
    /// Its mentioning answers ÷ the sum of every entity's mentioning answers in the group.
    pub share_of_voice: Option<f64>,
    /// Answers citing one of its domains (subdomains included).
    pub n_cited: u64,
    pub citation_rate: Option<f64>,
}

impl From<EntityNumbers> for EntityNumbersView {
    fn from(n: EntityNumbers) -> Self {
        Self {
            name: n.name,
            is_brand: n.is_brand,
            n_answers: n.n_answers,
            n_mentioned: n.n_mentioned,
            mention_rate: n.mention_rate,
            wilson_low: n.wilson_low,
            wilson_high: n.wilson_high,
            avg_rank: n.avg_rank,
            n_ranked: n.n_ranked,
            share_of_voice: n.share_of_voice,
            n_cited: n.n_cited,
            citation_rate: n.citation_rate,
        }
    }
}

/// A group: its keys (`template`, `model`, `provider`, `country`, `provider_version_key`,
/// `day`, `week` as grouped; `""` for none) and every entity's numbers.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = VisibilityRow)]
pub struct RowView {
    #[schema(value_type = Object)]
    pub keys: Map<String, Value>,
    pub entities: Vec<EntityNumbersView>,
}

impl From<VisibilityRow> for RowView {
    fn from(r: VisibilityRow) -> Self {
        Self {
            keys: r
                .keys
                .into_iter()
                .map(|(k, v)| (k.to_owned(), Value::String(v)))
                .collect(),
            entities: r.entities.into_iter().map(Into::into).collect(),
        }
    }
}

/// A version key answering a template for the first time in the range (a chart marks it).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = DriftEvent)]
pub struct DriftView {
    pub template_id: Uuid,
    pub model_id: String,
    pub provider_version_key: String,
    #[serde(serialize_with = "micros")]
    #[schema(value_type = String, format = DateTime)]
    pub first_seen_at: DateTime<Utc>,
}

impl From<DriftEvent> for DriftView {
    fn from(d: DriftEvent) -> Self {
        Self {
            template_id: d.template_id,
            model_id: d.model_id,
            provider_version_key: d.provider_version_key,
            first_seen_at: d.first_seen_at,
        }
    }
}

/// Visibility numbers of a workspace's analysed answers.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Visibility)]
pub struct VisibilityView {
    pub workspace_id: String,
    /// The snapshot whose analyses are counted (`null`: the workspace has no entities yet).
    pub alias_snapshot_id: Option<Uuid>,
    pub extractor_version: String,
    #[serde(serialize_with = "micros_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub from: Option<DateTime<Utc>>,
    /// Exclusive.
    #[serde(serialize_with = "micros_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub to: Option<DateTime<Utc>>,
    pub group_by: Vec<String>,
    pub rows: Vec<RowView>,
    /// The domains the answers in the range cite most (at most 20), most cited first.
    pub top_domains: Vec<DomainView>,
    pub drift_events: Vec<DriftView>,
}

/// A cited domain: how many answers cite it, and which share of the answers that is.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CitedDomain)]
pub struct DomainView {
    pub domain: String,
    pub n_cited: u64,
    pub citation_rate: f64,
}

impl From<Visibility> for VisibilityView {
    fn from(v: Visibility) -> Self {
        Self {
            workspace_id: v.workspace_id,
            alias_snapshot_id: v.alias_snapshot_id,
            extractor_version: v.extractor_version.to_owned(),
            from: v.from,
            to: v.to,
            group_by: v.group_by.iter().map(|g| g.as_str().to_owned()).collect(),
            rows: v.rows.into_iter().map(Into::into).collect(),
            top_domains: v
                .top_domains
                .into_iter()
                .map(|(domain, n_cited, citation_rate)| DomainView {
                    domain,
                    n_cited,
                    citation_rate,
                })
                .collect(),
            drift_events: v.drift_events.into_iter().map(Into::into).collect(),
        }
    }
}

/// The same rows as CSV: one line per group and entity.
pub fn visibility_csv(v: &Visibility) -> String {
    fn field(s: &str) -> String {
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_owned()
        }
    }
    fn num(x: Option<f64>) -> String {
        x.map(|x| format!("{x:.6}")).unwrap_or_default()
    }
    let mut header: Vec<&str> = v.group_by.iter().map(|g| g.as_str()).collect();
    header.extend([
        "entity",
        "is_brand",
        "n_answers",
        "n_mentioned",
        "mention_rate",
        "wilson_low",
        "wilson_high",
        "avg_rank",
        "n_ranked",
        "share_of_voice",
        "n_cited",
        "citation_rate",
    ]);
    let mut out = header.join(",");
    out.push('\n');
    for row in &v.rows {
        for e in &row.entities {
            let mut cells: Vec<String> = row.keys.iter().map(|(_, k)| field(k)).collect();
            cells.extend([
                field(&e.name),
                e.is_brand.to_string(),
                e.n_answers.to_string(),
                e.n_mentioned.to_string(),
                num(e.mention_rate),
                num(e.wilson_low),
                num(e.wilson_high),
                num(e.avg_rank),
                e.n_ranked.to_string(),
                num(e.share_of_voice),
                e.n_cited.to_string(),
                num(e.citation_rate),
            ]);
            out.push_str(&cells.join(","));
            out.push('\n');
        }
    }
    out
}
