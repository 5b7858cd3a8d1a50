//! Running a template: render the prompt, record the result as `running`, call the model once
//! (the version comes from the run's own response, no separate probe), then record version and
//! outcome in one transaction. A provider failure is recorded too, as a failed result.
//!
//! The call and its recording belong to the service, not to the request that asked for it: a
//! client that disconnects, a proxy timeout or the request timeout never drops an answer. The
//! caller gets a [`RunHandle`] and waits for the outcome as long as it likes
//! ([`RunHandle::outcome`]); the result row shows `running` to everyone meanwhile.

mod record;
mod request;
mod tracker;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub(crate) use record::provider_failure;
pub use request::{RunRequest, MAX_RUNTIME_VARS};
pub use tracker::RunSettings;
pub(crate) use tracker::RunTracker;

use prompter_providers::{CompletionRequest, ProviderError, Purpose};
use prompter_storage::{
    timestamp, RecordedRun, RunRecord, RunResult, RunStatus, TaskNext, TaskUpdate, Template,
};
use serde::Serialize;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use tokio::sync::watch;
use uuid::Uuid;

use record::{answer_of, count_result, failed, succeeded};
use tracker::Done;

use crate::visibility::ActiveSnapshot;
use crate::{provider_for, Caller, ServiceError, Services};

/// How long an idempotency key is remembered.
pub const IDEMPOTENCY_WINDOW: chrono::Duration = chrono::Duration::hours(24);
/// How often a waiter for a run of another process looks at its row.
const POLL_EVERY: Duration = Duration::from_millis(250);
/// Attempts to record an outcome while the database is unavailable (about a minute in all).
const RECORD_ATTEMPTS: u32 = 7;

/// What a run answers (the seed's fields first).
#[derive(Debug, Clone, Serialize)]
pub struct RunOutcome {
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
    /// Stop reason, truncation, reasoning and citations of the answer.
    pub details: crate::results::AnswerDetails,
    /// A repeated request with the same `Idempotency-Key`: the first run's result, no new call.
    pub idempotent_replay: bool,
}

/// Per-key async locks, dropped when no run holds them.
#[derive(Default)]
pub(crate) struct KeyLocks(Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>);

impl KeyLocks {
    fn lock_for(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.0.lock().expect("locks");
        map.retain(|_, l| Arc::strong_count(l) > 1);
        map.entry(key.to_owned()).or_default().clone()
    }
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A batch task's attempt, run through the run service.
pub(crate) struct TaskRun {
    pub task_id: Uuid,
    pub batch_id: Uuid,
    pub sample_index: i32,
    /// The attempt number (fences the task update).
    pub attempt: i32,
    pub max_attempts: u32,
    pub lanes: Arc<crate::batches::Lanes>,
    pub claimed_at: std::time::Instant,
}

impl TaskRun {
    /// What this attempt's outcome does to its task, with the attempt's tokens.
    fn update(&self, next: TaskNext, (prompt_tokens, completion_tokens): (i64, i64)) -> TaskUpdate {
        TaskUpdate {
            task_id: self.task_id,
            batch_id: self.batch_id,
            attempt: self.attempt,
            next,
            prompt_tokens,
            completion_tokens,
            at: timestamp::now(),
        }
    }
}

/// A started (or replayed) run: its result id at once, its outcome when it is recorded.
pub struct RunHandle {
    result_id: Uuid,
    idempotent_replay: bool,
    wait: Wait,
}

enum Wait {
    /// Known already (a replay of a finished run).
    Ready(Box<RunResult>),
    /// In flight in this process.
    Signal(Done),
    /// In flight in another process (or its signal is gone): read the row until it changes.
    Poll(Arc<dyn prompter_storage::Database>),
}

impl RunHandle {
    pub fn result_id(&self) -> Uuid {
        self.result_id
    }

    /// Waits until the run's outcome is recorded: the answer, or the failed attempt's error.
    /// Dropping this future (a bounded wait, a vanished client) does not affect the run.
    pub async fn outcome(&mut self) -> Result<RunOutcome, ServiceError> {
        let stored = match &mut self.wait {
            Wait::Ready(r) => return answer_of(r, self.idempotent_replay),
            Wait::Signal(done) => {
                let got = done.wait_for(Option::is_some).await.map(|r| r.clone());
                match got {
                    Ok(Some(r)) => r,
                    // The task ended without a result (the outcome could not be recorded).
                    _ => {
                        return Err(ServiceError::RunNotRecorded {
                            result_id: self.result_id,
                        })
                    }
                }
            }
            Wait::Poll(db) => loop {
                match db.get_result(self.result_id).await? {
                    Some(r) if r.status != RunStatus::Running => break r,
                    Some(_) => tokio::time::sleep(POLL_EVERY).await,
                    None => return Err(ServiceError::ResultNotFound),
                }
            },
        };
        answer_of(&stored, self.idempotent_replay)
    }
}

impl Services {
    /// Runs template `template_id` as `body` asks and waits for the outcome. `idempotency_key`
    /// comes from the `Idempotency-Key` header: a repeat returns the first result.
    pub async fn run_template(
        &self,
        caller: &Caller,
        template_id: Uuid,
        body: &RunRequest,
        idempotency_key: Option<&str>,
    ) -> Result<RunOutcome, ServiceError> {
        self.start_run(caller, template_id, body, idempotency_key)
            .await?
            .outcome()
            .await
    }

    /// Starts a run: validates it, records its result as `running`, and hands the provider call
    /// to a task of the service. Returns once the row exists.
    pub async fn start_run(
        &self,
        caller: &Caller,
        template_id: Uuid,
        body: &RunRequest,
        idempotency_key: Option<&str>,
    ) -> Result<RunHandle, ServiceError> {
        let template = self.template_to_change(caller, template_id).await?;
        if template.deleted_at.is_some() {
            return Err(ServiceError::TemplateDeleted);
        }
        self.begin_run(template, body, idempotency_key, None).await
    }

    /// A run of `template` (access already decided): validation, the `running` row, and the task
    /// that calls the provider and records the outcome. `task`: a batch task's attempt.
    pub(crate) async fn begin_run(
        &self,
        template: Template,
        body: &RunRequest,
        idempotency_key: Option<&str>,
        task: Option<TaskRun>,
    ) -> Result<RunHandle, ServiceError> {
        let template_id = template.id;
        let request = body.validate(&template)?;
        let prompt = request.prompt(&template)?;
        let provider = provider_for(template.provider.as_deref(), &template.model_id)?;
        let call = CompletionRequest {
            provider,
            model_id: template.model_id.clone(),
            system_instructions: template.system_instructions.clone(),
            prompt: prompt.clone(),
            inference_params: template.inference_params.clone(),
            use_grounding: request.use_grounding,
            purpose: Purpose::Run,
            // A batch task's retries are the queue's: its lane sees every 429.
            max_retries: task.as_ref().map(|_| 0),
            country: request.country.clone(),
        };
        // Configuration, not a provider attempt: refused before anything is recorded.
        self.gateway
            .preflight(&call)
            .map_err(|e| provider_failure(provider, e, None))?;

        let request_hash = sha256_hex(
            serde_json::to_string(body)
                .expect("a run request serialises")
                .as_bytes(),
        );
        // One model call per idempotency key: concurrent repeats in this process wait here until
        // the first has its row; the unique index settles repeats across processes.
        let key_lock = idempotency_key.map(|k| {
            self.idempotency_locks
                .lock_for(&format!("{template_id}:{k}"))
        });
        let _guard = match &key_lock {
            Some(l) => Some(l.lock().await),
            None => None,
        };
        if let Some(key) = idempotency_key {
            let since = chrono::Utc::now() - IDEMPOTENCY_WINDOW;
            if let Some(first) = self
                .db
                .find_idempotent_result(template_id, key, since)
                .await?
            {
                return self.replay(first, &request_hash);
            }
        }

        // The entities the answer is analysed for: the workspace's current snapshot.
        let entities = self
            .active_snapshot(&template.org_id, &template.workspace_id)
            .await?;
        let now = timestamp::now();
        let snapshot = json!({
            "template_id": template.id,
            "org_id": template.org_id,
            "workspace_id": template.workspace_id,
            "provider": provider.as_str(),
            "model_id": template.model_id,
            "country": request.country,
            // How the country reached the model (`search_user_location` or `none`).
            "country_delivery": request.country.as_ref()
                .map(|_| prompter_providers::adapters::country_delivery(&call).as_str()),
            "brand_name": request.brand_name,
            "runtime_vars": request.runtime_vars,
            "use_grounding": request.use_grounding,
            "analysis_scope": request.analysis_scope,
            "rendered_prompt": prompt,
            "system_instructions": template.system_instructions,
            "inference_params": template.inference_params,
            "config_hash": template.config_hash,
        });
        let row = RunResult {
            id: Uuid::now_v7(),
            org_id: template.org_id.clone(),
            workspace_id: template.workspace_id.clone(),
            template_id,
            version_id: None,
            provider: provider.as_str().to_owned(),
            model_id: template.model_id.clone(),
            provider_version_key: None,
            system_fingerprint: None,
            request: snapshot,
            response: Value::Object(Map::new()),
            answer: None,
            analysis_config: match &entities {
                Some(e) => e.analysis_config(&json!(request.analysis_scope)),
                // No entities yet: nothing is analysed (a re-analysis can do it later).
                None => json!({
                    "scope": request.analysis_scope,
                    "alias_snapshot_id": null,
                    "entities_checked": [],
                    "matching_rules": crate::visibility::matching_rules(),
                    "extractor_version": null,
                    "timestamp": timestamp::format(&now),
                }),
            },
            rendered_prompt_hash: sha256_hex(prompt.as_bytes()),
            run_country: request.country.clone(),
            used_grounding: None,
            status: RunStatus::Running,
            error: None,
            latency_ms: 0,
            usage: None,
            is_fake: self.gateway.is_fake(provider),
            idempotency_key: idempotency_key.map(str::to_owned),
            request_hash: idempotency_key.map(|_| request_hash.clone()),
            runner_id: Some(self.runs.runner_id),
            batch_id: task.as_ref().map(|t| t.batch_id),
            task_id: task.as_ref().map(|t| t.task_id),
            sample_index: task.as_ref().map(|t| t.sample_index),
            finish_reason: None,
            truncated: None,
            reasoning: None,
            citations: None,
            created_at: now,
        };
        // The row exists (and holds the idempotency key) before the provider is called.
        let begun = RunRecord {
            analysis: None,
            observation: None,
            result: row,
            task: None,
        };
        let row = match self.db.record_run(begun).await? {
            RecordedRun::Recorded { result, .. } => result,
            RecordedRun::IdempotentReplay(first) => return self.replay(first, &request_hash),
        };
        let result_id = row.id;
        let this = self.clone();
        let done = self.runs.spawn(result_id, move |tx| async move {
            this.complete_run(row, template, call, tx, task, entities)
                .await;
        });
        Ok(RunHandle {
            result_id,
            idempotent_replay: false,
            wait: Wait::Signal(done),
        })
    }

    /// A repeat of a key: the first run, finished or still running.
    fn replay(&self, first: RunResult, request_hash: &str) -> Result<RunHandle, ServiceError> {
        if first.request_hash.as_deref() != Some(request_hash) {
            return Err(ServiceError::IdempotencyKeyReused);
        }
        let result_id = first.id;
        let wait = if first.status != RunStatus::Running {
            Wait::Ready(Box::new(first))
        } else if let Some(done) = self.runs.subscribe(result_id) {
            Wait::Signal(done)
        } else {
            Wait::Poll(self.db.clone())
        };
        Ok(RunHandle {
            result_id,
            idempotent_replay: true,
            wait,
        })
    }

    /// The provider call (bounded by the total budget) and the recording of its outcome. A
    /// batch task waits for its provider lane first, and its outcome also moves the task.
    async fn complete_run(
        &self,
        row: RunResult,
        template: Template,
        call: CompletionRequest,
        done: watch::Sender<Option<RunResult>>,
        task: Option<TaskRun>,
        entities: Option<ActiveSnapshot>,
    ) {
        let provider = call.provider;
        let lane = task
            .as_ref()
            .filter(|_| !self.gateway.is_fake(provider))
            .map(|t| t.lanes.lane(provider.as_str(), &template.model_id));
        let _slot = match &lane {
            Some(l) => Some(l.acquire().await),
            None => None,
        };
        // A task that waited in its lane while its batch was cancelled or ran out of budget is
        // not sent: the batch stops starting tasks (its move in a stopped batch cancels it).
        if let (Some(t), Some(_)) = (&task, &lane) {
            if self.batch_stopped(t.batch_id).await {
                let error = json!({"code": "not_started",
                    "message": "the batch was cancelled or reached its token budget while this task waited for its provider lane"});
                let mut record = RunRecord {
                    analysis: None,
                    observation: None,
                    result: row,
                    task: None,
                };
                record.result.status = RunStatus::Failed;
                record.result.error = Some(error.clone());
                record.task = Some(t.update(TaskNext::RetryAt(timestamp::now(), error), (0, 0)));
                if let Some(stored) = self.record_outcome(record).await {
                    metrics::counter!(crate::telemetry::TASKS_FINISHED, "outcome" => "cancelled")
                        .increment(1);
                    let _ = done.send(Some(stored));
                }
                return;
            }
        }
        let budget = self.runs.settings.provider_budget;
        let answer = match tokio::time::timeout(budget, self.call_provider(call)).await {
            Ok(answer) => answer,
            Err(_) => Err(ProviderError::Timeout {
                timeout_ms: budget.as_millis() as u64,
                attempts: 0,
            }),
        };
        if let Some(l) = &lane {
            l.observe(&answer);
        }
        let mut next = None;
        let mut record = match answer {
            Ok(c) => {
                let mut record = succeeded(row, c, &template, provider);
                if let (Some(e), Some(answer)) = (&entities, stored_answer(&record.result)) {
                    record.analysis = Some(e.analyse(&answer));
                }
                record
            }
            Err(e) => {
                let record = failed(row, &e);
                if let Some(t) = &task {
                    let error = record.result.error.clone().unwrap_or_default();
                    next = Some(crate::batches::worker::next_step(
                        &e,
                        error,
                        t.attempt,
                        t.max_attempts,
                        timestamp::now(),
                    ));
                }
                record
            }
        };
        if let Some(t) = &task {
            let tokens = crate::batches::worker::tokens_of(&record.result);
            record.task = Some(t.update(next.unwrap_or(TaskNext::Succeeded), tokens));
        }
        let analysed = record.analysis.is_some();
        let outcome = record.task.as_ref().map(|t| match t.next {
            TaskNext::Succeeded => "succeeded",
            TaskNext::Failed(_) => "failed",
            TaskNext::RetryAt(..) => "retry",
        });
        let Some(stored) = self.record_outcome(record).await else {
            return;
        };
        count_result(&stored, provider);
        if analysed {
            metrics::counter!(crate::telemetry::ANSWERS_ANALYSED, "source" => "run").increment(1);
        }
        if let (Some(t), Some(outcome)) = (&task, outcome) {
            use crate::telemetry as tm;
            metrics::counter!(tm::TASKS_FINISHED, "outcome" => outcome).increment(1);
            metrics::histogram!(tm::TASK_DURATION, "outcome" => outcome)
                .record(t.claimed_at.elapsed().as_secs_f64());
        }
        tracing::info!(action = "run_template", template_id = %template.id,
            result_id = %stored.id, org_id = %template.org_id,
            workspace_id = %template.workspace_id, version_id = ?stored.version_id,
            provider = provider.as_str(), model_id = %template.model_id,
            provider_version_key = ?stored.provider_version_key,
            status = stored.status.as_str(), latency_ms = stored.latency_ms,
            is_fake = stored.is_fake);
        let _ = done.send(Some(stored));
    }

    /// Whether a batch no longer starts tasks (cancelled, or out of budget). A batch that
    /// cannot be read counts as running: the attempt goes ahead.
    async fn batch_stopped(&self, batch_id: Uuid) -> bool {
        use prompter_storage::BatchStatus as S;
        matches!(
            self.db.get_batch(batch_id).await,
            Ok(Some(b)) if matches!(b.status, S::Cancelled | S::BudgetExhausted)
        )
    }

    /// Writes a run's outcome, retrying while the database is unavailable: the provider was
    /// paid. `None` only if every attempt failed (logged as an error with the result id; the row
    /// stays `running` and is marked interrupted by the stale sweep). A batch task's outcome is
    /// retried for as long as the process lives: its task stays leased to this process until the
    /// outcome moves it, so giving up would leave the task running for good.
    async fn record_outcome(&self, record: RunRecord) -> Option<RunResult> {
        let mut wait = Duration::from_millis(500);
        let attempts = if record.task.is_some() {
            u32::MAX
        } else {
            RECORD_ATTEMPTS
        };
        for attempt in 1..=attempts {
            match self.db.finish_run(&record).await {
                Ok(finished) => {
                    if let prompter_storage::FinishedRun::Written {
                        batch_finished: Some(batch),
                        ..
                    } = &finished
                    {
                        crate::batches::count_finished(batch);
                    }
                    return Some(finished.into_result(record));
                }
                Err(e) => {
                    metrics::counter!(crate::telemetry::RESULT_WRITE_FAILURES).increment(1);
                    if attempt == attempts {
                        tracing::error!(result_id = %record.result.id, error = %e,
                            "could not record a run's outcome; giving up");
                        return None;
                    }
                    tracing::warn!(result_id = %record.result.id, error = %e, attempt,
                        "could not record a run's outcome; retrying");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(16));
                }
            }
        }
        None
    }
}

/// A recorded answer as the analysis reads it.
fn stored_answer(r: &RunResult) -> Option<prompter_storage::StoredAnswer> {
    Some(prompter_storage::StoredAnswer {
        result_id: r.id,
        org_id: r.org_id.clone(),
        workspace_id: r.workspace_id.clone(),
        template_id: r.template_id,
        model_id: r.model_id.clone(),
        provider: r.provider.clone(),
        country: r.run_country.clone(),
        provider_version_key: r.provider_version_key.clone(),
        is_fake: r.is_fake,
        created_at: r.created_at,
        answer: r.answer.clone()?,
        citations: r.citations.clone(),
    })
}
