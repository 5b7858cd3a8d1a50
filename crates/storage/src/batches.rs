//! Batches and their tasks: the durable queue of batch runs.
//!
//! A batch is many runs (template × country × sample) as one unit of work. Its tasks are rows of
//! `batch_tasks`; workers claim them with a lease ([`crate::Database::claim_tasks`]), run them
//! through the run service and record each attempt's outcome together with the result
//! ([`TaskUpdate`] inside [`crate::RunRecord`]), in one transaction.

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::Cursor;

/// Where a batch stands as a whole (the API's `status`). Derived in SQL from the batch's
/// state and task counters ([`crate::columns::BATCH_STATUS_SQL`]), so lists can filter on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BatchStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
    PartiallyFailed,
    Cancelled,
    BudgetExhausted,
}

impl BatchStatus {
    pub const ALL: [BatchStatus; 7] = [
        BatchStatus::Queued,
        BatchStatus::Running,
        BatchStatus::Succeeded,
        BatchStatus::Failed,
        BatchStatus::PartiallyFailed,
        BatchStatus::Cancelled,
        BatchStatus::BudgetExhausted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BatchStatus::Queued => "queued",
            BatchStatus::Running => "running",
            BatchStatus::Succeeded => "succeeded",
            BatchStatus::Failed => "failed",
            BatchStatus::PartiallyFailed => "partially_failed",
            BatchStatus::Cancelled => "cancelled",
            BatchStatus::BudgetExhausted => "budget_exhausted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// No task will run any more (unless failed tasks are retried).
    pub fn is_final(self) -> bool {
        !matches!(self, BatchStatus::Queued | BatchStatus::Running)
    }
}

/// The state of one task: that of its last attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskStatus {
    Pending,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl TaskStatus {
    pub const ALL: [TaskStatus; 5] = [
        TaskStatus::Pending,
        TaskStatus::Running,
        TaskStatus::Succeeded,
        TaskStatus::Failed,
        TaskStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Pending => "pending",
            TaskStatus::Running => "running",
            TaskStatus::Succeeded => "succeeded",
            TaskStatus::Failed => "failed",
            TaskStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// The batch counter column counting tasks in this state.
    pub fn counter_column(self) -> &'static str {
        match self {
            TaskStatus::Pending => "pending_tasks",
            TaskStatus::Running => "running_tasks",
            TaskStatus::Succeeded => "succeeded_tasks",
            TaskStatus::Failed => "failed_tasks",
            TaskStatus::Cancelled => "cancelled_tasks",
        }
    }
}

/// One task to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTask {
    pub id: Uuid,
    pub template_id: Uuid,
    pub country: Option<String>,
    pub sample_index: i32,
}

/// A batch to create, with all its tasks (written in one transaction).
#[derive(Debug, Clone)]
pub struct NewBatch {
    pub id: Uuid,
    pub org_id: String,
    pub workspace_id: String,
    pub schedule_id: Option<Uuid>,
    pub idempotency_key: Option<String>,
    /// SHA-256 of the request, to refuse an idempotency key reused with another body.
    pub request_hash: String,
    /// What every task runs with: `{brand_name, runtime_vars, use_grounding}`.
    pub params: Value,
    /// `[{template_id, reason}]`: templates of the request that yield no task.
    pub skipped: Value,
    pub max_concurrency: i32,
    pub token_budget: Option<i64>,
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub tasks: Vec<NewTask>,
}

/// Task counts of a batch, by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TaskCounts {
    pub pending: i64,
    pub running: i64,
    pub succeeded: i64,
    pub failed: i64,
    pub cancelled: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub id: Uuid,
    pub org_id: String,
    pub workspace_id: String,
    pub schedule_id: Option<Uuid>,
    pub idempotency_key: Option<String>,
    pub request_hash: String,
    pub params: Value,
    pub skipped: Value,
    pub max_concurrency: i32,
    pub token_budget: Option<i64>,
    pub status: BatchStatus,
    pub total_tasks: i64,
    pub counts: TaskCounts,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// Outcome of [`crate::Database::create_batch`].
#[derive(Debug, Clone, PartialEq)]
pub enum CreateBatch {
    Created(Batch),
    /// A batch with this idempotency key exists in the org (whatever its body): nothing written.
    Existing(Batch),
}

#[derive(Debug, Clone)]
pub struct BatchQuery {
    pub org_id: String,
    /// `None`: any of `allowed_workspaces` (all of the org when that is `None` too).
    pub workspace_id: Option<String>,
    /// The workspaces the caller may see (`None`: all).
    pub allowed_workspaces: Option<Vec<String>>,
    pub status: Option<BatchStatus>,
    pub limit: u32,
    pub after: Option<Cursor>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BatchPage {
    pub items: Vec<Batch>,
    pub next: Option<Cursor>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BatchTask {
    pub id: Uuid,
    pub batch_id: Uuid,
    pub template_id: Uuid,
    pub country: Option<String>,
    pub sample_index: i32,
    pub status: TaskStatus,
    /// Claims so far; also the number of the attempt in flight while `running`.
    pub attempts: i32,
    pub available_at: DateTime<Utc>,
    /// The result of the last recorded attempt.
    pub result_id: Option<Uuid>,
    /// The error of the last attempt, if it failed.
    pub last_error: Option<Value>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct TaskQuery {
    pub batch_id: Uuid,
    pub status: Option<TaskStatus>,
    pub limit: u32,
    /// Tasks are listed in id order (creation order): the cursor's id is the last one seen.
    pub after: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TaskPage {
    pub items: Vec<BatchTask>,
    pub next: Option<Uuid>,
}

/// Which tasks a worker may take now.
#[derive(Debug, Clone)]
pub struct ClaimRequest {
    /// The claiming process (its leases are renewed by [`crate::Database::renew_leases`]).
    pub worker: Uuid,
    /// Most tasks handed out.
    pub limit: u32,
    pub now: DateTime<Utc>,
    pub lease_until: DateTime<Utc>,
}

/// A task handed to a worker: the task (with `attempts` already counting this attempt) and
/// the batch parameters it runs with.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedTask {
    pub task: BatchTask,
    pub org_id: String,
    pub workspace_id: String,
    pub params: Value,
}

/// What an attempt's outcome does to its task; written with the attempt's result.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskUpdate {
    pub task_id: Uuid,
    pub batch_id: Uuid,
    /// The attempt this outcome belongs to: a task claimed again since (its lease expired) is
    /// not moved by the late outcome of an earlier attempt.
    pub attempt: i32,
    pub next: TaskNext,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TaskNext {
    Succeeded,
    /// Failed for good, with this error.
    Failed(Value),
    /// Failed, to be tried again from this moment (a cancelled or exhausted batch cancels it).
    RetryAt(DateTime<Utc>, Value),
}

/// Outcome of cancel / retry-failed.
#[derive(Debug, Clone, PartialEq)]
pub enum BatchChange {
    Changed(Batch),
    /// The batch was cancelled or stopped by its budget: nothing changed.
    Closed(Batch),
    NotFound,
}

/// What an attempt's outcome makes of its task: status, last error and (for a retry) when it
/// may run again. `active`: the batch still runs; a retry in a stopped batch is cancelled.
pub fn task_move(
    next: &TaskNext,
    active: bool,
) -> (TaskStatus, Option<&Value>, Option<DateTime<Utc>>) {
    match next {
        TaskNext::Succeeded => (TaskStatus::Succeeded, None, None),
        TaskNext::Failed(e) => (TaskStatus::Failed, Some(e), None),
        TaskNext::RetryAt(at, e) if active => (TaskStatus::Pending, Some(e), Some(*at)),
        TaskNext::RetryAt(_, e) => (TaskStatus::Cancelled, Some(e), None),
    }
}
