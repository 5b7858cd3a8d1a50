//! The worker: claims batch tasks from the database queue and runs each through the run service.
//!
//! Any number of processes (`prompter serve`, `prompter worker`, `prompter batch run --wait`)
//! may work one database's queue: a claim leases tasks to this process (its runner id) until
//! the lease runs out; the leases are renewed while the process lives, and tasks whose lease
//! expired (their process died) go back to the queue. An attempt's outcome moves its task in the
//! transaction that records the attempt's result, fenced by the attempt number.

use std::sync::Arc;
use std::time::Duration;

use prompter_providers::ProviderError;
use prompter_storage::{
    timestamp, ClaimRequest, ClaimedTask, RecordedRun, RunRecord, RunResult, RunStatus, TaskNext,
    TaskUpdate, Template,
};
use serde_json::{json, Value};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

use super::lanes::{LaneSettings, Lanes};
use super::request::BatchRequest;
use crate::run::TaskRun;
use crate::{telemetry, ServiceError, Services};

/// How this process works the queue. See docs/operations.md ("Batches and workers").
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// Tasks this process runs at once, all batches together (`PROMPTER_WORKER_CONCURRENCY`).
    pub concurrency: usize,
    /// How often an idle worker looks for tasks (`PROMPTER_WORKER_POLL_MS`); a batch created or
    /// retried in this process wakes it at once.
    pub poll_every: Duration,
    /// Attempts of a task whose provider failed in a retryable way (429, 5xx, timeout) before
    /// the task fails (`PROMPTER_TASK_MAX_ATTEMPTS`).
    pub max_attempts: u32,
    pub lanes: LaneSettings,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            concurrency: 64,
            poll_every: Duration::from_millis(500),
            max_attempts: 5,
            lanes: LaneSettings::default(),
        }
    }
}

/// The worker of this process (when it runs one).
pub(crate) struct Workers {
    settings: WorkerSettings,
    /// The tasks this process is running: only their leases are renewed, so a task whose
    /// claim committed but never reached this process (the connection dropped) returns to the
    /// queue when its lease expires.
    running: std::sync::Mutex<std::collections::HashSet<Uuid>>,
    lanes: Arc<Lanes>,
    wake: Notify,
    stop: CancellationToken,
    tasks: TaskTracker,
}

impl Workers {
    pub fn new(settings: WorkerSettings) -> Self {
        Self {
            lanes: Arc::new(Lanes::new(settings.lanes.clone())),
            running: Default::default(),
            settings,
            wake: Notify::new(),
            stop: CancellationToken::new(),
            tasks: TaskTracker::new(),
        }
    }
}

/// Longest wait before a retry when the provider named none.
const MAX_RETRY_BACKOFF: Duration = Duration::from_secs(60);

/// What a failed attempt makes of its task: another attempt (after the provider's Retry-After,
/// else exponential back-off from 1 s) while the failure is one that passes and attempts are
/// left, else a failure for good.
pub(crate) fn next_step(
    error: &ProviderError,
    recorded: Value,
    attempt: i32,
    max_attempts: u32,
    now: chrono::DateTime<chrono::Utc>,
) -> TaskNext {
    let (retryable, asked) = match error {
        ProviderError::Http {
            retryable,
            retry_after_ms,
            ..
        } => (*retryable, retry_after_ms.map(Duration::from_millis)),
        ProviderError::Timeout { .. } | ProviderError::Transport { .. } => (true, None),
        _ => (false, None),
    };
    if !retryable || attempt.max(0) as u32 >= max_attempts {
        return TaskNext::Failed(recorded);
    }
    let backoff = Duration::from_secs(1) * 2u32.pow((attempt.max(1) as u32 - 1).min(6));
    let wait = asked.unwrap_or(backoff.min(MAX_RETRY_BACKOFF));
    let wait = chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::seconds(60));
    TaskNext::RetryAt(now + wait, recorded)
}

/// Prompt and completion tokens of a recorded result's usage.
pub(crate) fn tokens_of(result: &RunResult) -> (i64, i64) {
    let get = |k: &str| {
        result
            .usage
            .as_ref()
            .and_then(|u| u.get(k))
            .and_then(Value::as_i64)
            .unwrap_or(0)
    };
    (get("input_tokens"), get("output_tokens"))
}

impl Services {
    /// Works the queue in this process until [`Services::shutdown`]: claims tasks as slots free
    /// up, renews their leases, returns expired ones to the queue and reports the queue depth.
    /// Also starts [`Services::start_background`]'s duties if not started. Needs a runtime.
    pub fn start_workers(&self, settings: WorkerSettings) {
        let workers = Arc::new(Workers::new(settings));
        if self.workers.set(workers.clone()).is_err() {
            tracing::warn!("the workers of this process are already running");
            return;
        }
        let this = self.clone();
        let w = workers.clone();
        tokio::spawn(async move { this.claim_loop(w).await });
        let this = self.clone();
        let w = workers.clone();
        tokio::spawn(async move { this.maintenance_loop(w).await });
        let this = self.clone();
        tokio::spawn(async move { this.schedule_loop(workers).await });
    }

    /// Fires due schedules, every second.
    async fn schedule_loop(&self, w: Arc<Workers>) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = w.stop.cancelled() => return,
            }
            if let Err(e) = self.fire_due_schedules(timestamp::now()).await {
                tracing::warn!(error = %e, "could not fire due schedules; retrying");
            }
        }
    }

    /// Claims tasks at once instead of at the next poll (a batch was created or retried here).
    pub(crate) fn wake_workers(&self) {
        if let Some(w) = self.workers.get() {
            w.wake.notify_one();
        }
    }

    async fn claim_loop(&self, w: Arc<Workers>) {
        let slots = Arc::new(Semaphore::new(w.settings.concurrency.max(1)));
        loop {
            let first = tokio::select! {
                p = slots.clone().acquire_owned() => p.expect("never closed"),
                () = w.stop.cancelled() => return,
            };
            let limit = slots.available_permits() + 1;
            let now = timestamp::now();
            let request = ClaimRequest {
                worker: self.runs.runner_id,
                limit: limit as u32,
                now,
                lease_until: now + self.lease_length(),
            };
            let claimed = match self.db.claim_tasks(&request).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "could not claim batch tasks; retrying");
                    Vec::new()
                }
            };
            if claimed.is_empty() {
                drop(first);
                tokio::select! {
                    () = tokio::time::sleep(w.settings.poll_every) => {}
                    () = w.wake.notified() => {}
                    () = w.stop.cancelled() => return,
                }
                continue;
            }
            let mut permits = vec![first];
            while permits.len() < claimed.len() {
                permits.push(
                    slots
                        .clone()
                        .try_acquire_owned()
                        .expect("only this loop takes slots"),
                );
            }
            w.running
                .lock()
                .expect("running tasks")
                .extend(claimed.iter().map(|c| c.task.id));
            for (task, permit) in claimed.into_iter().zip(permits) {
                let this = self.clone();
                let lanes = w.lanes.clone();
                let max_attempts = w.settings.max_attempts;
                let done = w.clone();
                let stop = w.stop.clone();
                w.tasks.spawn(async move {
                    let id = task.task.id;
                    this.run_claimed(task, lanes, max_attempts, stop, permit)
                        .await;
                    done.running.lock().expect("running tasks").remove(&id);
                    // A finished task frees room in its batch (max_concurrency) and a slot here:
                    // claim again now rather than at the next poll.
                    done.wake.notify_one();
                });
            }
        }
    }

    /// A task's lease: as long as a run may go without a heartbeat before it counts as dead.
    fn lease_length(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.runs.settings.stale_after)
            .unwrap_or(chrono::Duration::seconds(60))
    }

    async fn maintenance_loop(&self, w: Arc<Workers>) {
        let mut tick = tokio::time::interval(self.runs.settings.heartbeat_every());
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = w.stop.cancelled() => return,
            }
            let now = timestamp::now();
            let running: Vec<Uuid> = w
                .running
                .lock()
                .expect("running tasks")
                .iter()
                .copied()
                .collect();
            if !running.is_empty() {
                if let Err(e) = self
                    .db
                    .renew_leases(self.runs.runner_id, &running, now + self.lease_length())
                    .await
                {
                    tracing::warn!(error = %e, "could not renew the leases of running tasks");
                }
            }
            match self.db.requeue_expired_tasks(now).await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::warn!(tasks = n, "returned tasks of a stopped worker to the queue");
                    w.wake.notify_one();
                }
                Err(e) => tracing::warn!(error = %e, "could not requeue expired tasks"),
            }
            if let Ok(depth) = self.db.open_task_counts().await {
                metrics::gauge!(telemetry::QUEUE_TASKS, "state" => "pending")
                    .set(depth.pending as f64);
                metrics::gauge!(telemetry::QUEUE_TASKS, "state" => "running")
                    .set(depth.running as f64);
            }
        }
    }

    /// Runs one claimed task through the run service and waits for its outcome (the slot is
    /// held until then). While the database cannot be reached the attempt is started again
    /// (back-off up to 30 s, until shutdown): the task stays leased to this process, whose
    /// heartbeat renews the lease, so giving up would leave it running for good.
    async fn run_claimed(
        &self,
        claimed: ClaimedTask,
        lanes: Arc<Lanes>,
        max_attempts: u32,
        stop: CancellationToken,
        _slot: OwnedSemaphorePermit,
    ) {
        let mut wait = Duration::from_millis(500);
        loop {
            match self.start_task(&claimed, &lanes, max_attempts).await {
                Ok(()) => return,
                Err(e) if !e.is_unavailable() => {
                    tracing::error!(task_id = %claimed.task.id, error = %e,
                        "a batch task could not be started or recorded");
                    return;
                }
                Err(e) => {
                    tracing::warn!(task_id = %claimed.task.id, error = %e,
                        "could not start a batch task (database unavailable); trying again");
                    tokio::select! {
                        () = tokio::time::sleep(wait) => {}
                        // At shutdown the process returns its leased tasks to the queue.
                        () = stop.cancelled() => return,
                    }
                    wait = (wait * 2).min(Duration::from_secs(30));
                }
            }
        }
    }

    /// One try at a claimed task: its run (waited for), or the record of why it could not
    /// start. `Err`: a database error (nothing recorded); the caller tries again while it is
    /// one of unavailability.
    async fn start_task(
        &self,
        claimed: &ClaimedTask,
        lanes: &Arc<Lanes>,
        max_attempts: u32,
    ) -> Result<(), ServiceError> {
        let task = &claimed.task;
        let Some(template) = self.db.get_template(task.template_id).await? else {
            // Templates are never deleted for good; a missing one is a broken database.
            tracing::error!(task_id = %task.id, template_id = %task.template_id,
                "a batch task's template does not exist");
            return Ok(());
        };
        if template.deleted_at.is_some() {
            return self
                .fail_before_call(&template, claimed, &ServiceError::TemplateDeleted)
                .await;
        }
        let run = BatchRequest::run_request(&claimed.params, task.country.as_deref());
        let context = TaskRun {
            task_id: task.id,
            batch_id: task.batch_id,
            sample_index: task.sample_index,
            attempt: task.attempts,
            max_attempts,
            lanes: lanes.clone(),
            claimed_at: std::time::Instant::now(),
        };
        match self
            .begin_run(template.clone(), &run, None, Some(context))
            .await
        {
            Ok(mut handle) => {
                // The outcome (or its failure) is recorded by the run; this only holds the slot.
                let _ = handle.outcome().await;
                Ok(())
            }
            Err(e) if e.is_unavailable() => Err(e),
            Err(e) => self.fail_before_call(&template, claimed, &e).await,
        }
    }

    /// Records an attempt that could not call the provider (template deleted, request no longer
    /// valid, provider not configured): a failed result, and the task failed.
    async fn fail_before_call(
        &self,
        template: &Template,
        claimed: &ClaimedTask,
        e: &ServiceError,
    ) -> Result<(), ServiceError> {
        let task = &claimed.task;
        let now = timestamp::now();
        let error = json!({"code": "not_started", "message": e.to_string()});
        let row = RunResult {
            id: Uuid::now_v7(),
            org_id: template.org_id.clone(),
            workspace_id: template.workspace_id.clone(),
            template_id: template.id,
            version_id: None,
            provider: template.provider.clone().unwrap_or_default(),
            model_id: template.model_id.clone(),
            provider_version_key: None,
            system_fingerprint: None,
            request: json!({"country": task.country, "batch_params": claimed.params}),
            response: json!({}),
            answer: None,
            analysis_config: json!({}),
            rendered_prompt_hash: String::new(),
            run_country: task.country.clone(),
            used_grounding: None,
            status: RunStatus::Running,
            error: None,
            latency_ms: 0,
            usage: None,
            is_fake: false,
            idempotency_key: None,
            request_hash: None,
            runner_id: Some(self.runs.runner_id),
            batch_id: Some(task.batch_id),
            task_id: Some(task.id),
            sample_index: Some(task.sample_index),
            finish_reason: None,
            truncated: None,
            reasoning: None,
            citations: None,
            created_at: now,
        };
        let written = async {
            let row = match self
                .db
                .record_run(RunRecord {
                    analysis: None,
                    observation: None,
                    result: row,
                    task: None,
                })
                .await?
            {
                RecordedRun::Recorded { result, .. } => result,
                RecordedRun::IdempotentReplay(r) => r,
            };
            let mut failed = row;
            failed.status = RunStatus::Failed;
            failed.error = Some(error.clone());
            let record = RunRecord {
                analysis: None,
                observation: None,
                result: failed,
                task: Some(TaskUpdate {
                    task_id: task.id,
                    batch_id: task.batch_id,
                    attempt: task.attempts,
                    next: TaskNext::Failed(error.clone()),
                    prompt_tokens: 0,
                    completion_tokens: 0,
                    at: now,
                }),
            };
            self.db.finish_run(&record).await
        }
        .await;
        written?;
        metrics::counter!(telemetry::TASKS_FINISHED, "outcome" => "failed").increment(1);
        Ok(())
    }

    /// Stops claiming; returns this process's leased tasks to the queue (after the runs had
    /// their grace, see [`Services::shutdown`]).
    pub(crate) async fn stop_workers(&self) {
        if let Some(w) = self.workers.get() {
            w.stop.cancel();
        }
    }

    pub(crate) async fn release_leases(&self) {
        if self.workers.get().is_none() {
            return;
        }
        match self
            .db
            .release_tasks(self.runs.runner_id, timestamp::now())
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::warn!(tasks = n, "returned unfinished tasks to the queue"),
            Err(e) => tracing::error!(error = %e, "could not return unfinished tasks to the queue"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(status: u16, retryable: bool, retry_after_ms: Option<u64>) -> ProviderError {
        ProviderError::Http {
            status,
            message: "x".into(),
            body: None,
            attempts: 1,
            retryable,
            retry_after_ms,
        }
    }

    #[test]
    fn retryable_failures_come_back_until_the_attempts_run_out() {
        let now = timestamp::now();
        let e = json!({"code": "PROVIDER_ERROR"});
        assert_eq!(
            next_step(&http(429, true, Some(2500)), e.clone(), 1, 5, now),
            TaskNext::RetryAt(now + chrono::Duration::milliseconds(2500), e.clone())
        );
        assert_eq!(
            next_step(&http(503, true, None), e.clone(), 3, 5, now),
            TaskNext::RetryAt(now + chrono::Duration::seconds(4), e.clone())
        );
        let timeout = ProviderError::Timeout {
            timeout_ms: 1,
            attempts: 1,
        };
        assert!(matches!(
            next_step(&timeout, e.clone(), 1, 5, now),
            TaskNext::RetryAt(..)
        ));
        assert_eq!(
            next_step(&http(503, true, None), e.clone(), 5, 5, now),
            TaskNext::Failed(e.clone())
        );
        assert_eq!(
            next_step(&http(400, false, None), e.clone(), 1, 5, now),
            TaskNext::Failed(e.clone())
        );
        assert_eq!(
            next_step(&http(503, true, None), e.clone(), 30, 50, now),
            TaskNext::RetryAt(now + chrono::Duration::seconds(60), e)
        );
    }
}
