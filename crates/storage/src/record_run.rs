//! The order of operations of [`crate::Database::record_run`], the same on every backend:
//! idempotency check, version upsert, result insert — all inside the one transaction the backend
//! opened. The backend supplies the three statements ([`RunSteps`]) and decides what to do with
//! the transaction from the outcome ([`RunWrite`]).

use async_trait::async_trait;
use uuid::Uuid;

use crate::{
    AnalysisRow, Batch, Result, RunRecord, RunResult, RunStatus, TaskNext, TaskUpdate,
    UpsertedVersion, VersionObservation,
};

/// The statements of a run, on one transaction of a backend.
#[async_trait]
pub trait RunSteps: Send {
    /// The result recorded for `(template, idempotency key)`, if any.
    async fn idempotent_result(
        &mut self,
        template_id: Uuid,
        key: &str,
    ) -> Result<Option<RunResult>>;
    /// Inserts the version, or moves `last_seen_at` forward if the key is known.
    async fn upsert_version(&mut self, observation: &VersionObservation)
        -> Result<UpsertedVersion>;
    /// Inserts the result; `false` when the idempotency index refused it (a concurrent run with
    /// the same key committed first).
    async fn insert_result(&mut self, result: &RunResult) -> Result<bool>;
    /// Writes the outcome columns ([`crate::columns::RESULT_OUTCOME_COLUMNS`]) of a result that
    /// has not succeeded yet and clears its runner and heartbeat; `false` if there is no such row
    /// (unknown, or succeeded already).
    async fn update_outcome(
        &mut self,
        result: &RunResult,
        version_id: Option<Uuid>,
        provider_version_key: Option<&str>,
    ) -> Result<bool>;
    async fn result_by_id(&mut self, id: Uuid) -> Result<Option<RunResult>>;
    /// The succeeded result of `task_id` other than `result_id`, if any.
    async fn succeeded_twin(&mut self, task_id: Uuid, result_id: Uuid) -> Result<Option<Uuid>>;
    /// Moves the task as `update` says (fenced by its attempt) and adds the attempt's usage to
    /// its batch; a batch that reaches its token budget stops (its pending tasks cancelled).
    /// Returns the batch if this outcome finished it.
    async fn update_task(&mut self, update: &TaskUpdate, result_id: Uuid) -> Result<Option<Batch>>;
    /// Writes an analysis with its mentions and roll-up counts; `false` (nothing written) if
    /// its key exists.
    async fn insert_analysis(&mut self, row: &AnalysisRow) -> Result<bool>;
}

/// Outcome of [`crate::Database::finish_run`].
// Short-lived return value, moved once: boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum FinishedRun {
    /// The outcome was written: the row is the record's result with the upserted version's id
    /// and key, and no runner (the caller has it; nothing is read back).
    Written {
        version_id: Option<Uuid>,
        provider_version_key: Option<String>,
        /// A batch task's succeeded attempt recorded as failed because this other result of
        /// the task had succeeded first ([`RunResult::supersede`]).
        superseded_by: Option<Uuid>,
        /// A batch task's outcome that finished its batch: the batch, finished.
        batch_finished: Option<Box<Batch>>,
    },
    /// The result had succeeded already (a repeated write): left as it is.
    AlreadyFinished(RunResult),
}

impl FinishedRun {
    /// The stored row, given the record that was written.
    pub fn into_result(self, record: RunRecord) -> RunResult {
        match self {
            FinishedRun::Written {
                version_id,
                provider_version_key,
                superseded_by,
                ..
            } => {
                let mut result = record.result;
                if let Some(winner) = superseded_by {
                    result.supersede(winner);
                }
                if version_id.is_some() {
                    result.version_id = version_id;
                    result.provider_version_key = provider_version_key;
                }
                result.runner_id = None;
                result
            }
            FinishedRun::AlreadyFinished(result) => result,
        }
    }
}

/// Records the outcome of a running result through `steps`: the observed version (if the
/// provider answered) is upserted, then the result updated with its id and key.
pub async fn write_finish<S: RunSteps + ?Sized>(
    steps: &mut S,
    record: &RunRecord,
) -> Result<FinishedRun> {
    // A task has at most one succeeded result (a unique index decides; this check makes the
    // usual loser a failed attempt rather than an error).
    let mut superseded_by = None;
    if let (Some(task), RunStatus::Succeeded) = (&record.task, record.result.status) {
        superseded_by = steps.succeeded_twin(task.task_id, record.result.id).await?;
    }
    let superseded;
    let result = match superseded_by {
        Some(winner) => {
            let mut r = record.result.clone();
            r.supersede(winner);
            superseded = r;
            &superseded
        }
        None => &record.result,
    };
    let version = match &record.observation {
        Some(o) => Some(steps.upsert_version(o).await?.version),
        None => None,
    };
    let (version_id, provider_version_key) = match &version {
        Some(v) => (Some(v.id), Some(v.provider_version_key.as_str())),
        None => (result.version_id, result.provider_version_key.as_deref()),
    };
    if steps
        .update_outcome(result, version_id, provider_version_key)
        .await?
    {
        let mut batch_finished = None;
        if let Some(task) = &record.task {
            batch_finished = match superseded_by {
                // The task succeeded with the winner; this attempt only adds its usage.
                Some(winner) => {
                    let update = TaskUpdate {
                        next: TaskNext::Succeeded,
                        ..task.clone()
                    };
                    steps.update_task(&update, winner).await?
                }
                None => steps.update_task(task, result.id).await?,
            };
        }
        if let (Some(analysis), RunStatus::Succeeded, None) =
            (&record.analysis, result.status, superseded_by)
        {
            let mut row = analysis.clone();
            row.provider_version_key = provider_version_key.map(str::to_owned);
            steps.insert_analysis(&row).await?;
        }
        return Ok(FinishedRun::Written {
            version_id,
            provider_version_key: provider_version_key.map(str::to_owned),
            superseded_by,
            batch_finished: batch_finished.map(Box::new),
        });
    }
    match steps.result_by_id(result.id).await? {
        Some(existing) => Ok(FinishedRun::AlreadyFinished(existing)),
        None => Err(crate::StorageError::internal(format!(
            "result {} to finish does not exist",
            result.id
        ))),
    }
}

/// What [`write_run`] did in the transaction.
// Short-lived return value, moved once: boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum RunWrite {
    /// The key was used before: nothing was written; this is the first result.
    Replay(RunResult),
    /// The version was upserted and the result inserted (pointing at the version): commit.
    Recorded {
        result: RunResult,
        version: Option<UpsertedVersion>,
    },
    /// The result insert was refused: another run with the same key committed after the
    /// idempotency check. Roll back; the first result is visible outside this transaction.
    KeyTaken(RunResult),
}

/// Records `record` through `steps`: a result with an idempotency key already used for its
/// template writes nothing; otherwise the observed version (if the provider answered) is
/// upserted and the result inserted with that version's id and key.
pub async fn write_run<S: RunSteps + ?Sized>(steps: &mut S, record: RunRecord) -> Result<RunWrite> {
    let mut result = record.result;
    if let Some(key) = &result.idempotency_key {
        if let Some(first) = steps.idempotent_result(result.template_id, key).await? {
            return Ok(RunWrite::Replay(first));
        }
    }
    let version = match &record.observation {
        Some(o) => Some(steps.upsert_version(o).await?),
        None => None,
    };
    if let Some(v) = &version {
        result.version_id = Some(v.version.id);
        result.provider_version_key = Some(v.version.provider_version_key.clone());
    }
    if !steps.insert_result(&result).await? {
        return Ok(RunWrite::KeyTaken(result));
    }
    Ok(RunWrite::Recorded { result, version })
}
