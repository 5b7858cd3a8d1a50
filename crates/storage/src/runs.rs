//! Provider versions and run results: what the run/ensure-version features persist.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

/// One observation of which model build answered for a template: the input of a version upsert.
#[derive(Debug, Clone)]
pub struct VersionObservation {
    pub org_id: String,
    pub workspace_id: String,
    pub template_id: Uuid,
    pub provider: String,
    pub provider_version_key: String,
    /// The requested model id.
    pub model_id: String,
    pub response_model: Option<String>,
    pub system_fingerprint: Option<String>,
    pub provider_response_id: Option<String>,
    pub seen_at: DateTime<Utc>,
}

/// A provider version of a template: one row per `(org, workspace, template, version key)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Version {
    pub id: Uuid,
    pub org_id: String,
    pub workspace_id: String,
    pub template_id: Uuid,
    pub provider: String,
    pub provider_version_key: String,
    pub model_id: String,
    pub response_model: Option<String>,
    pub system_fingerprint: Option<String>,
    pub provider_response_id: Option<String>,
    pub fingerprint_captured_at: DateTime<Utc>,
    pub first_seen_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

/// Outcome of a version upsert.
#[derive(Debug, Clone, PartialEq)]
pub struct UpsertedVersion {
    pub version: Version,
    /// `true` when this observation created the row (a new version key for this template).
    pub created: bool,
}

/// Whether a run reached the model and got an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Recorded before the provider call; the outcome replaces it.
    Running,
    Succeeded,
    Failed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "running" => Some(RunStatus::Running),
            "succeeded" => Some(RunStatus::Succeeded),
            "failed" => Some(RunStatus::Failed),
            _ => None,
        }
    }
}

/// A run result: the seed's audit columns plus what a demanding user asks for (latency, usage,
/// status, whether the fake answered).
#[derive(Debug, Clone, PartialEq)]
pub struct RunResult {
    pub id: Uuid,
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
    /// The text extracted from the provider's answer (what a run returns as `content`); `None`
    /// (`null` in JSON) for failed attempts.
    pub answer: Option<String>,
    pub analysis_config: Value,
    pub rendered_prompt_hash: String,
    pub run_country: Option<String>,
    pub used_grounding: Option<bool>,
    pub status: RunStatus,
    pub error: Option<Value>,
    pub latency_ms: i64,
    pub usage: Option<Value>,
    pub is_fake: bool,
    pub idempotency_key: Option<String>,
    /// SHA-256 of the run request body, to refuse an idempotency key reused with another body.
    pub request_hash: Option<String>,
    /// While `running`: the process running it (its heartbeat keeps the row alive).
    pub runner_id: Option<Uuid>,
    /// A batch task's attempt: its batch, task and sample (`None` for a single run).
    pub batch_id: Option<Uuid>,
    pub task_id: Option<Uuid>,
    pub sample_index: Option<i32>,
    /// The provider's stop reason as recorded (see the provider crate's `Completion`); `None`
    /// while running, for failed attempts and for rows older than migration 0008.
    pub finish_reason: Option<String>,
    /// The answer was cut off before the model finished.
    pub truncated: Option<bool>,
    /// Reasoning text the provider returned, apart from the answer.
    pub reasoning: Option<String>,
    /// The cited sources, `[{url, title, domain, cited_text?}]`.
    pub citations: Option<Value>,
    pub created_at: DateTime<Utc>,
}

impl RunResult {
    /// Turns a succeeded attempt of a batch task into a failed one because another attempt of
    /// the task succeeded first (`winner`): a task has at most one succeeded result. The answer
    /// and the provider's body stay (it was paid for).
    pub fn supersede(&mut self, winner: Uuid) {
        self.status = RunStatus::Failed;
        self.error = Some(serde_json::json!({
            "code": "superseded",
            "message": "another attempt of this batch task succeeded first; this answer is kept as evidence",
            "winner_result_id": winner,
        }));
    }

    /// The answer text, `""` for a failed attempt. Also reads where the previous release kept it
    /// (`_prompter_content` inside `response`): during a rolling upgrade a replica of that
    /// release may still record runs after migration 0004 moved the existing ones. Remove the
    /// fallback one release after 0004.
    pub fn answer_text(&self) -> String {
        self.answer
            .clone()
            .or_else(|| {
                self.response
                    .get("_prompter_content")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .unwrap_or_default()
    }
}

/// What `record_run` writes in one transaction: the version observed (if the provider answered)
/// and the result pointing at it.
#[derive(Debug, Clone)]
pub struct RunRecord {
    pub observation: Option<VersionObservation>,
    /// `version_id` and `provider_version_key` are filled from the upserted version.
    pub result: RunResult,
    /// A batch task's attempt: what its outcome does to the task (written with the outcome).
    pub task: Option<crate::TaskUpdate>,
    /// The answer's analysis, written with a succeeded outcome (its `provider_version_key` is
    /// taken from the upserted version).
    pub analysis: Option<crate::AnalysisRow>,
}

/// Outcome of [`crate::Database::record_run`].
// Short-lived return value, moved once: boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum RecordedRun {
    Recorded {
        result: RunResult,
        version: Option<UpsertedVersion>,
    },
    /// Another run with the same idempotency key was recorded first.
    IdempotentReplay(RunResult),
}

/// Which `running` results [`crate::Database::interrupt_runs`] marks as interrupted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum InterruptScope {
    /// Those of this process (at shutdown, past the grace period).
    Runner(Uuid),
    /// Those whose heartbeat is older than this: their process died.
    StaleBefore(DateTime<Utc>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ResultPage {
    pub items: Vec<RunResult>,
    pub next: Option<crate::Cursor>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn result(answer: Option<&str>, response: Value) -> RunResult {
        RunResult {
            id: Uuid::nil(),
            org_id: "o".into(),
            workspace_id: "w".into(),
            template_id: Uuid::nil(),
            version_id: None,
            provider: "openai".into(),
            model_id: "gpt-4o".into(),
            provider_version_key: None,
            system_fingerprint: None,
            request: json!({}),
            response,
            answer: answer.map(str::to_owned),
            analysis_config: json!({}),
            rendered_prompt_hash: String::new(),
            run_country: None,
            used_grounding: None,
            status: RunStatus::Succeeded,
            error: None,
            latency_ms: 0,
            usage: None,
            is_fake: true,
            idempotency_key: None,
            request_hash: None,
            runner_id: None,
            batch_id: None,
            task_id: None,
            sample_index: None,
            finish_reason: None,
            truncated: None,
            reasoning: None,
            citations: None,
            created_at: Utc::now(),
        }
    }

    #[test]
    fn the_answer_column_wins_and_the_previous_layout_still_reads() {
        let legacy = json!({"_prompter_content": "old place"});
        assert_eq!(result(Some("new"), legacy.clone()).answer_text(), "new");
        assert_eq!(result(None, legacy).answer_text(), "old place");
        assert_eq!(result(None, json!({"id": "x"})).answer_text(), "");
        assert_eq!(result(Some(""), json!({})).answer_text(), "");
    }
}
