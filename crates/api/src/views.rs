//! The API's wire types: what the service's records and outcomes look like on the wire, apart
//! from how they are stored. They generate the OpenAPI document.
//!
//! Every resource object has `id`. Versions and results also keep `version_id` / `result_id`,
//! which the seeds' clients read; action answers (run, ensure-version) keep the seeds' shape.

use chrono::{DateTime, Utc};
use prompter_service::records::{
    timestamp, ApiToken, Batch, BatchStatus, BatchTask, RunResult, RunStatus, Schedule, TaskStatus,
    Template, Version, Workspace,
};
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use uuid::Uuid;

pub(crate) fn micros<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&timestamp::format(t))
}

pub(crate) fn micros_opt<S: Serializer>(
    t: &Option<DateTime<Utc>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => micros(t, s),
        None => s.serialize_none(),
    }
}

/// A workspace (a brand).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Workspace)]
pub struct WorkspaceView {
    pub id: String,
    pub org_id: String,
    pub name: String,
    #[serde(serialize_with = "micros")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
}

impl From<Workspace> for WorkspaceView {
    fn from(w: Workspace) -> Self {
        Self {
            id: w.id,
            org_id: w.org_id,
            name: w.name,
            created_at: w.created_at,
        }
    }
}

/// A template: every field of the create request, plus identity and lifecycle.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Template)]
pub struct TemplateView {
    pub id: Uuid,
    pub org_id: String,
    pub workspace_id: String,
    pub name: String,
    pub provider: Option<String>,
    pub system_instructions: Option<String>,
    pub user_prompt_template: String,
    pub country_set: Vec<String>,
    pub model_id: String,
    #[schema(value_type = Object)]
    pub inference_params: Map<String, Value>,
    pub tools_spec: Option<Vec<Value>>,
    #[schema(value_type = Option<Object>)]
    pub response_format: Option<Map<String, Value>>,
    pub grounding_profile_id: Option<String>,
    pub grounding_snapshot_id: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub retrieval_params: Option<Map<String, Value>>,
    pub created_by: Option<String>,
    /// Labels (`[a-z0-9:_-]{1,64}`, at most 20): not part of the configuration hash.
    pub tags: Vec<String>,
    pub config_hash: String,
    /// Exactly the text that was hashed.
    pub config_canonical_json: String,
    #[serde(serialize_with = "micros")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "micros_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub deleted_at: Option<DateTime<Utc>>,
    /// Set when import or dedupe merged this template into its twin (it is then deleted):
    /// the surviving template, which now holds its versions and results.
    pub merged_into: Option<Uuid>,
}

impl From<Template> for TemplateView {
    fn from(t: Template) -> Self {
        Self {
            id: t.id,
            org_id: t.org_id,
            workspace_id: t.workspace_id,
            name: t.name,
            provider: t.provider,
            system_instructions: t.system_instructions,
            user_prompt_template: t.user_prompt_template,
            country_set: t.country_set,
            model_id: t.model_id,
            inference_params: t.inference_params,
            tools_spec: t.tools_spec,
            response_format: t.response_format,
            grounding_profile_id: t.grounding_profile_id,
            grounding_snapshot_id: t.grounding_snapshot_id,
            retrieval_params: t.retrieval_params,
            created_by: t.created_by,
            tags: t.tags,
            config_hash: t.config_hash,
            config_canonical_json: t.config_canonical_json,
            created_at: t.created_at,
            deleted_at: t.deleted_at,
            merged_into: t.merged_into,
        }
    }
}

/// A provider version of a template: which model build answered.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Version)]
pub struct VersionView {
    pub id: Uuid,
    /// The same as `id` (the seeds' name).
    pub version_id: Uuid,
    pub org_id: String,
    pub workspace_id: String,
    pub template_id: Uuid,
    pub provider: String,
    pub provider_version_key: String,
    pub model_id: String,
    pub response_model: Option<String>,
    pub system_fingerprint: Option<String>,
    pub provider_response_id: Option<String>,
    #[serde(serialize_with = "micros")]
    #[schema(value_type = String, format = DateTime)]
    pub captured_at: DateTime<Utc>,
    #[serde(serialize_with = "micros")]
    #[schema(value_type = String, format = DateTime)]
    pub first_seen_at: DateTime<Utc>,
    #[serde(serialize_with = "micros")]
    #[schema(value_type = String, format = DateTime)]
    pub last_seen_at: DateTime<Utc>,
}

impl From<Version> for VersionView {
    fn from(v: Version) -> Self {
        Self {
            id: v.id,
            version_id: v.id,
            org_id: v.org_id,
            workspace_id: v.workspace_id,
            template_id: v.template_id,
            provider: v.provider,
            provider_version_key: v.provider_version_key,
            model_id: v.model_id,
            response_model: v.response_model,
            system_fingerprint: v.system_fingerprint,
            provider_response_id: v.provider_response_id,
            captured_at: v.fingerprint_captured_at,
            first_seen_at: v.first_seen_at,
            last_seen_at: v.last_seen_at,
        }
    }
}

/// Whether a run is still waiting for its provider, or how it ended.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = RunStatus)]
#[serde(rename_all = "snake_case")]
pub enum RunStatusView {
    Running,
    Succeeded,
    Failed,
}

impl From<RunStatus> for RunStatusView {
    fn from(s: RunStatus) -> Self {
        match s {
            RunStatus::Running => RunStatusView::Running,
            RunStatus::Succeeded => RunStatusView::Succeeded,
            RunStatus::Failed => RunStatusView::Failed,
        }
    }
}

/// A run result: the seeds' audit columns plus latency, usage, status and whether the fake
/// answered.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = RunResult)]
pub struct ResultView {
    pub id: Uuid,
    /// The same as `id` (the seeds' name).
    pub result_id: Uuid,
    pub org_id: String,
    pub workspace_id: String,
    pub template_id: Uuid,
    pub version_id: Option<Uuid>,
    pub provider: String,
    pub model_id: String,
    pub provider_version_key: Option<String>,
    pub system_fingerprint: Option<String>,
    pub request: Value,
    /// The provider's body exactly as it was received (the audit trail: nothing added).
    pub response: Value,
    /// The text extracted from the provider's answer; `null` while running and for failures.
    pub answer: Option<String>,
    pub analysis_config: Value,
    pub rendered_prompt_hash: String,
    pub run_country: Option<String>,
    pub used_grounding: Option<bool>,
    pub status: RunStatusView,
    /// For a failed run: `{code, message, …}` (`code` is `PROVIDER_ERROR` or `interrupted`).
    pub error: Option<Value>,
    pub latency_ms: i64,
    pub usage: Option<Value>,
    pub is_fake: bool,
    pub idempotency_key: Option<String>,
    pub request_hash: Option<String>,
    /// A batch task's attempt: its batch, task and sample (`null` for a single run).
    pub batch_id: Option<Uuid>,
    pub task_id: Option<Uuid>,
    pub sample_index: Option<i32>,
    #[serde(flatten)]
    pub details: AnswerDetailsView,
    /// The brand-visibility analysis of the answer: `{alias_snapshot_id, extractor_version,
    /// entities: [{name, is_brand, mentioned, count, first_offset, rank, matched_alias, cited}],
    /// citations: [{url, domain}]}` (offsets in code points of `answer`); that of the
    /// workspace's current snapshot, else the newest; `null` when not analysed (no entities
    /// when it was recorded, or not an answer).
    pub analysis: Option<Value>,
    #[serde(serialize_with = "micros")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
}

/// A source the answer cites.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Citation)]
pub struct CitationView {
    pub url: String,
    pub title: Option<String>,
    /// The host, lower case, without `www.` (for Gemini's redirect links: the source's domain).
    pub domain: String,
    /// The passage the provider ties to this source, when it says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cited_text: Option<String>,
}

/// What an answer was beyond its text (flattened into results and run answers).
#[derive(Debug, Serialize, ToSchema)]
pub struct AnswerDetailsView {
    /// The provider's stop reason (`stop`, `length`, `completed`, `max_output_tokens`,
    /// `end_turn`, `pause_turn`, `STOP`, `MAX_TOKENS`, `SAFETY`…), `refusal` when the model
    /// refused, `prompt_blocked:<reason>` when Gemini blocked the prompt; `null` while running
    /// and for failed attempts.
    pub finish_reason: Option<String>,
    /// The answer was cut off before the model finished; `null` when unknown.
    pub truncated: Option<bool>,
    /// Reasoning the provider returned as text, kept apart from the answer.
    pub reasoning: Option<String>,
    /// The sources the answer cites, deduplicated by URL in order of first appearance.
    pub citations: Vec<CitationView>,
}

impl From<prompter_service::AnswerDetails> for AnswerDetailsView {
    fn from(d: prompter_service::AnswerDetails) -> Self {
        Self {
            finish_reason: d.finish_reason,
            truncated: d.truncated,
            reasoning: d.reasoning,
            citations: d
                .citations
                .into_iter()
                .map(|c| CitationView {
                    url: c.url,
                    title: c.title,
                    domain: c.domain,
                    cited_text: c.cited_text,
                })
                .collect(),
        }
    }
}

impl From<RunResult> for ResultView {
    fn from(r: RunResult) -> Self {
        let details = prompter_service::answer_details(&r).into();
        Self {
            details,
            id: r.id,
            result_id: r.id,
            org_id: r.org_id,
            workspace_id: r.workspace_id,
            template_id: r.template_id,
            version_id: r.version_id,
            provider: r.provider,
            model_id: r.model_id,
            provider_version_key: r.provider_version_key,
            system_fingerprint: r.system_fingerprint,
            request: r.request,
            answer: r.answer,
            response: r.response,
            analysis_config: r.analysis_config,
            rendered_prompt_hash: r.rendered_prompt_hash,
            run_country: r.run_country,
            used_grounding: r.used_grounding,
            status: r.status.into(),
            error: r.error,
            latency_ms: r.latency_ms,
            usage: r.usage,
            is_fake: r.is_fake,
            idempotency_key: r.idempotency_key,
            request_hash: r.request_hash,
            batch_id: r.batch_id,
            task_id: r.task_id,
            sample_index: r.sample_index,
            analysis: None,
            created_at: r.created_at,
        }
    }
}

/// What ensure-version answers: the version (the seeds' fields) and how it was obtained.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = EnsuredVersion)]
pub struct EnsuredVersionView {
    #[serde(flatten)]
    pub version: VersionView,
    /// This probe created the version row (a new version key for the template).
    pub created: bool,
    /// Answered from the probe cache, without a provider call.
    pub cached: bool,
    /// The kill switch is on: this is the latest known version, not a fresh probe.
    pub probe_disabled: bool,
    /// The built-in fake answered the probe.
    pub is_fake: bool,
}

impl From<prompter_service::EnsuredVersion> for EnsuredVersionView {
    fn from(e: prompter_service::EnsuredVersion) -> Self {
        Self {
            version: e.version.into(),
            created: e.created,
            cached: e.cached,
            probe_disabled: e.probe_disabled,
            is_fake: e.is_fake,
        }
    }
}

/// What a run answers when its outcome is known in time (the seeds' fields first).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = RunOutcome)]
pub struct RunOutcomeView {
    pub result_id: Uuid,
    pub version_id: Option<Uuid>,
    pub provider_version_key: Option<String>,
    pub system_fingerprint: Option<String>,
    pub used_grounding: Option<bool>,
    pub content: String,
    pub provider: String,
    pub model_id: String,
    pub is_fake: bool,
    pub latency_ms: i64,
    #[serde(flatten)]
    pub details: AnswerDetailsView,
    /// The answer's brand-visibility analysis (as in results); `null` when not analysed.
    pub analysis: Option<Value>,
    /// A repeated request with the same `Idempotency-Key`: the first run's result, no new call.
    pub idempotent_replay: bool,
}

impl From<prompter_service::RunOutcome> for RunOutcomeView {
    fn from(o: prompter_service::RunOutcome) -> Self {
        Self {
            result_id: o.result_id,
            version_id: o.version_id,
            provider_version_key: o.provider_version_key,
            system_fingerprint: o.system_fingerprint,
            used_grounding: o.used_grounding,
            content: o.content,
            provider: o.provider,
            model_id: o.model_id,
            is_fake: o.is_fake,
            latency_ms: o.latency_ms,
            details: o.details.into(),
            analysis: None,
            idempotent_replay: o.idempotent_replay,
        }
    }
}

/// A run whose outcome was not known within the wait bound (or `Prefer: respond-async`): it goes
/// on, and `GET /api/results/{id}` (the `Location`) shows it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = RunAccepted)]
pub struct RunAcceptedView {
    pub id: Uuid,
    pub result_id: Uuid,
    /// `running`.
    pub status: RunStatusView,
}

/// Whether an active template of the workspace holds this configuration.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = DuplicateCheck)]
pub struct DuplicateCheckView {
    pub exact_match: bool,
    pub template_id: Option<Uuid>,
    pub template_name: Option<String>,
    pub config_hash: String,
    /// Active templates of the workspace that differ in one or two fields only (same model,
    /// same prompt up to case, punctuation and spacing); at most 5, closest first; never the
    /// exact twin.
    pub near_matches: Vec<NearMatchView>,
}

impl From<prompter_service::DuplicateCheck> for DuplicateCheckView {
    fn from(d: prompter_service::DuplicateCheck) -> Self {
        Self {
            exact_match: d.exact_match,
            template_id: d.template_id,
            template_name: d.template_name,
            config_hash: d.config_hash,
            near_matches: all(d.near_matches),
        }
    }
}

/// A template whose configuration differs from another in one or two fields.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = NearMatch)]
pub struct NearMatchView {
    pub template_id: Uuid,
    pub name: String,
    /// Paths in the canonical configuration: `country_set`, `user_prompt_template`,
    /// `inference_params.temperature`, …
    pub differing_fields: Vec<String>,
}

impl From<prompter_service::NearMatch> for NearMatchView {
    fn from(m: prompter_service::NearMatch) -> Self {
        Self {
            template_id: m.template_id,
            name: m.name,
            differing_fields: m.differing_fields,
        }
    }
}

/// A member of a near-duplicate group.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = NearMember)]
pub struct NearMemberView {
    pub template_id: Uuid,
    pub name: String,
    #[serde(serialize_with = "micros")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
}

/// Two members of a near-duplicate group and the fields they differ in.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = NearPair)]
pub struct NearPairView {
    pub template_id: Uuid,
    pub other_template_id: Uuid,
    pub differing_fields: Vec<String>,
}

/// Active templates of a workspace that are near-duplicates of one another (directly or
/// through other members), oldest first.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = NearDuplicateGroup)]
pub struct NearDuplicateGroupView {
    pub templates: Vec<NearMemberView>,
    pub pairs: Vec<NearPairView>,
}

/// `GET /api/workspaces/{id}/near-duplicates`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = NearDuplicates)]
pub struct NearDuplicatesView {
    pub workspace_id: String,
    /// Largest group first.
    pub groups: Vec<NearDuplicateGroupView>,
}

impl From<prompter_service::near_duplicates::NearDuplicateGroup> for NearDuplicateGroupView {
    fn from(g: prompter_service::near_duplicates::NearDuplicateGroup) -> Self {
        Self {
            templates: g
                .templates
                .into_iter()
                .map(|m| NearMemberView {
                    template_id: m.template_id,
                    name: m.name,
                    created_at: m.created_at,
                })
                .collect(),
            pairs: g
                .pairs
                .into_iter()
                .map(|p| NearPairView {
                    template_id: p.template_id,
                    other_template_id: p.other_template_id,
                    differing_fields: p.differing_fields,
                })
                .collect(),
        }
    }
}

/// An API token, without its secret (only a hash of it is stored).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ApiToken)]
pub struct TokenView {
    pub id: Uuid,
    pub org_id: String,
    /// `null`: every workspace of the organisation.
    pub workspaces: Option<Vec<String>>,
    /// `reader`, `writer` or `admin`.
    pub role: &'static str,
    pub label: Option<String>,
    #[serde(serialize_with = "micros")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "micros_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiToken> for TokenView {
    fn from(t: ApiToken) -> Self {
        Self {
            id: t.id,
            org_id: t.org_id,
            workspaces: t.workspaces,
            role: t.role.as_str(),
            label: t.label,
            created_at: t.created_at,
            revoked_at: t.revoked_at,
        }
    }
}

/// A token just created: the only answer that carries its secret.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CreatedToken)]
pub struct CreatedTokenView {
    #[serde(flatten)]
    pub token: TokenView,
    /// `Authorization: Bearer <secret>`. Shown once; store it now.
    pub secret: String,
}

impl From<prompter_service::CreatedToken> for CreatedTokenView {
    fn from(c: prompter_service::CreatedToken) -> Self {
        Self {
            token: c.token.into(),
            secret: c.secret,
        }
    }
}

/// Converts every item of a list.
/// Where a batch stands as a whole.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = BatchStatus)]
#[serde(rename_all = "snake_case")]
pub enum BatchStatusView {
    Queued,
    Running,
    Succeeded,
    Failed,
    PartiallyFailed,
    Cancelled,
    BudgetExhausted,
}

impl From<BatchStatus> for BatchStatusView {
    fn from(s: BatchStatus) -> Self {
        match s {
            BatchStatus::Queued => BatchStatusView::Queued,
            BatchStatus::Running => BatchStatusView::Running,
            BatchStatus::Succeeded => BatchStatusView::Succeeded,
            BatchStatus::Failed => BatchStatusView::Failed,
            BatchStatus::PartiallyFailed => BatchStatusView::PartiallyFailed,
            BatchStatus::Cancelled => BatchStatusView::Cancelled,
            BatchStatus::BudgetExhausted => BatchStatusView::BudgetExhausted,
        }
    }
}

/// Tokens of a batch's recorded results.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = BatchUsage)]
pub struct BatchUsageView {
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
}

/// A template that yields no task in a batch, and why.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = SkippedTemplate)]
pub struct SkippedView {
    pub template_id: Uuid,
    /// `no_country_in_common`: none of the template's countries is in `countries`.
    pub reason: String,
}

/// A batch: its progress by task state, usage and timing.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Batch)]
pub struct BatchView {
    pub id: Uuid,
    pub org_id: String,
    pub workspace_id: String,
    pub status: BatchStatusView,
    pub total_tasks: i64,
    pub pending: i64,
    pub running: i64,
    pub succeeded: i64,
    pub failed: i64,
    pub cancelled: i64,
    pub usage: BatchUsageView,
    pub token_budget: Option<i64>,
    pub max_concurrency: i32,
    pub skipped: Vec<SkippedView>,
    /// What every task runs with: `brand_name`, `runtime_vars`, `use_grounding`.
    #[schema(value_type = Object)]
    pub params: Value,
    pub schedule_id: Option<Uuid>,
    pub idempotency_key: Option<String>,
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

impl From<Batch> for BatchView {
    fn from(b: Batch) -> Self {
        let skipped = b
            .skipped
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|s| {
                        Some(SkippedView {
                            template_id: s.get("template_id")?.as_str()?.parse().ok()?,
                            reason: s.get("reason")?.as_str()?.to_owned(),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self {
            id: b.id,
            org_id: b.org_id,
            workspace_id: b.workspace_id,
            status: b.status.into(),
            total_tasks: b.total_tasks,
            pending: b.counts.pending,
            running: b.counts.running,
            succeeded: b.counts.succeeded,
            failed: b.counts.failed,
            cancelled: b.counts.cancelled,
            usage: BatchUsageView {
                prompt_tokens: b.prompt_tokens,
                completion_tokens: b.completion_tokens,
            },
            token_budget: b.token_budget,
            max_concurrency: b.max_concurrency,
            skipped,
            params: b.params,
            schedule_id: b.schedule_id,
            idempotency_key: b.idempotency_key,
            created_at: b.created_at,
            started_at: b.started_at,
            finished_at: b.finished_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = TaskStatus)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatusView {
    Pending,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl From<TaskStatus> for TaskStatusView {
    fn from(s: TaskStatus) -> Self {
        match s {
            TaskStatus::Pending => TaskStatusView::Pending,
            TaskStatus::Running => TaskStatusView::Running,
            TaskStatus::Succeeded => TaskStatusView::Succeeded,
            TaskStatus::Failed => TaskStatusView::Failed,
            TaskStatus::Cancelled => TaskStatusView::Cancelled,
        }
    }
}

/// One cell of a batch: (template, country, sample), in the state of its last attempt.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = BatchTask)]
pub struct TaskView {
    pub id: Uuid,
    pub batch_id: Uuid,
    pub template_id: Uuid,
    pub country: Option<String>,
    pub sample_index: i32,
    pub status: TaskStatusView,
    /// Attempts so far (0 while never started).
    pub attempts: i32,
    /// The result of the last recorded attempt.
    pub result_id: Option<Uuid>,
    /// The error of the last attempt, if it failed (also while it waits for a retry).
    pub last_error: Option<Value>,
    /// When a pending task may start (later than now while it waits for a retry).
    #[serde(serialize_with = "micros")]
    #[schema(value_type = String, format = DateTime)]
    pub available_at: DateTime<Utc>,
    #[serde(serialize_with = "micros")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: DateTime<Utc>,
}

impl From<BatchTask> for TaskView {
    fn from(t: BatchTask) -> Self {
        Self {
            id: t.id,
            batch_id: t.batch_id,
            template_id: t.template_id,
            country: t.country,
            sample_index: t.sample_index,
            status: t.status.into(),
            attempts: t.attempts,
            result_id: t.result_id,
            last_error: t.last_error,
            available_at: t.available_at,
            updated_at: t.updated_at,
        }
    }
}

/// A schedule: a batch body fired on a cron expression in a time zone.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Schedule)]
pub struct ScheduleView {
    pub id: Uuid,
    pub org_id: String,
    pub workspace_id: String,
    pub name: String,
    /// Five fields: minute hour day-of-month month day-of-week.
    pub cron: String,
    /// IANA time zone the cron expression is read in.
    pub timezone: String,
    /// The batch body fired at each slot (without `workspace_id`).
    #[schema(value_type = Object)]
    pub batch: Value,
    pub enabled: bool,
    /// The next slot; `null` while disabled.
    #[serde(serialize_with = "micros_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_run_at: Option<DateTime<Utc>>,
    /// The slot fired last, and its batch (or why it could not be created).
    #[serde(serialize_with = "micros_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_slot: Option<DateTime<Utc>>,
    pub last_batch_id: Option<Uuid>,
    pub last_error: Option<Value>,
    #[serde(serialize_with = "micros")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "micros")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: DateTime<Utc>,
}

impl From<Schedule> for ScheduleView {
    fn from(s: Schedule) -> Self {
        Self {
            id: s.id,
            org_id: s.org_id,
            workspace_id: s.workspace_id,
            name: s.name,
            cron: s.cron,
            timezone: s.timezone,
            batch: s.batch,
            enabled: s.enabled,
            next_run_at: s.next_run_at,
            last_slot: s.last_slot,
            last_batch_id: s.last_batch_id,
            last_error: s.last_error,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

pub fn all<T, V: From<T>>(items: Vec<T>) -> Vec<V> {
    items.into_iter().map(V::from).collect()
}
