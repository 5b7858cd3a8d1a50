//! Batches: "run these templates in these countries, N samples each" as one durable unit of
//! work. Creating one validates everything a task will need (templates, countries, variables,
//! providers) and writes the batch with all its tasks at once; workers ([`worker`]) then run each
//! task through the run service, within their provider's lane ([`lanes`]).

mod lanes;
mod request;
pub mod worker;

use prompter_domain::{FieldError, WorkspaceId};
use prompter_storage::{
    timestamp, Batch, BatchChange, BatchPage, BatchQuery, BatchStatus, CreateBatch, TaskPage,
    TaskQuery, TaskStatus,
};
use uuid::Uuid;

pub(crate) use lanes::Lanes;
pub use lanes::{LaneLimits, LaneSettings};
pub use request::{BatchRequest, MAX_SAMPLES, MAX_TASKS};
pub use worker::WorkerSettings;

use crate::templates::PageRequest;
use crate::{Caller, ServiceError, Services};

/// `GET /api/batches`: which batches.
#[derive(Debug, Clone, Default)]
pub struct ListBatches {
    pub org_id: Option<String>,
    pub workspace_id: Option<String>,
    pub status: Option<String>,
    pub page: PageRequest,
}

/// `GET /api/batches/{id}/tasks`: which tasks.
#[derive(Debug, Clone, Default)]
pub struct ListTasks {
    pub status: Option<String>,
    pub page: PageRequest,
}

/// A created batch, and whether it was created now or found by its idempotency key.
#[derive(Debug, Clone)]
pub struct BatchCreated {
    pub batch: Batch,
    pub replayed: bool,
}

/// A list's `status` filter: one of `names` (422 naming them otherwise).
fn status_filter<S>(
    raw: Option<&str>,
    parse: impl Fn(&str) -> Option<S>,
    names: &[&str],
) -> Result<Option<S>, FieldError> {
    raw.map(|s| {
        parse(s).ok_or_else(|| {
            FieldError::new("status", format!("must be one of {}", names.join(", ")))
        })
    })
    .transpose()
}

/// A batch's last task was recorded: its duration, by final status, and a log line.
pub(crate) fn count_finished(batch: &Batch) {
    let Some(finished) = batch.finished_at else {
        return;
    };
    let seconds = (finished - batch.created_at).num_milliseconds().max(0) as f64 / 1000.0;
    metrics::histogram!(crate::telemetry::BATCH_DURATION, "status" => batch.status.as_str())
        .record(seconds);
    tracing::info!(action = "batch_finished", batch_id = %batch.id, org_id = %batch.org_id,
        workspace_id = %batch.workspace_id, status = batch.status.as_str(),
        total_tasks = batch.total_tasks, succeeded = batch.counts.succeeded,
        failed = batch.counts.failed, duration_s = seconds);
}

/// The start of the idempotency keys of batches a schedule fires.
pub(crate) const SCHEDULE_KEY_PREFIX: &str = "schedule:";

impl Services {
    /// Validates `request` against the workspace's templates and writes the batch with all its
    /// tasks. The same `idempotency_key` again returns the first batch (with another body: 422).
    pub async fn create_batch(
        &self,
        caller: &Caller,
        request: &BatchRequest,
        idempotency_key: Option<&str>,
    ) -> Result<BatchCreated, ServiceError> {
        // Schedules key their batches `schedule:{id}:{slot}`; a client sending such a key could
        // take a slot's batch or block the slot from firing.
        if idempotency_key.is_some_and(|k| k.starts_with(SCHEDULE_KEY_PREFIX)) {
            return Err(FieldError::new(
                "Idempotency-Key",
                "must not start with schedule: (reserved for scheduled batches)",
            )
            .into());
        }
        self.create_batch_for(caller, request, idempotency_key, None)
            .await
    }

    /// [`Services::create_batch`], recording the schedule that fired it.
    pub(crate) async fn create_batch_for(
        &self,
        caller: &Caller,
        request: &BatchRequest,
        idempotency_key: Option<&str>,
        schedule_id: Option<Uuid>,
    ) -> Result<BatchCreated, ServiceError> {
        caller.require_writer()?;
        let org = caller.org(request.org_id.as_deref())?;
        if request.workspace_id.trim().is_empty() {
            return Err(FieldError::new("workspace_id", "is required").into());
        }
        let workspace = WorkspaceId::parse(&request.workspace_id)?;
        if !caller.permits_workspace(workspace.as_str()) {
            return Err(ServiceError::WorkspaceNotFound);
        }
        let key = crate::bounded("Idempotency-Key", &idempotency_key.map(str::to_owned), 200)?
            .map(str::to_owned);
        let request_hash = request::request_hash(request);
        // A repeat is answered before validation: the templates may have changed since.
        if let Some(key) = &key {
            if let Some(first) = self.db.batch_by_idempotency_key(org.as_str(), key).await? {
                return Self::replay_batch(first, &request_hash);
            }
        }
        let plan = self.plan_batch(&org, &workspace, request).await?;
        let new = plan.into_new_batch(request, key, schedule_id, caller);
        match self.db.create_batch(new).await? {
            CreateBatch::Created(batch) => {
                metrics::counter!(crate::telemetry::BATCHES_CREATED).increment(1);
                tracing::info!(action = "create_batch", batch_id = %batch.id,
                    org_id = %batch.org_id, workspace_id = %batch.workspace_id,
                    total_tasks = batch.total_tasks, status = "created");
                self.wake_workers();
                Ok(BatchCreated {
                    batch,
                    replayed: false,
                })
            }
            // A concurrent create with the same key won.
            CreateBatch::Existing(first) => Self::replay_batch(first, &request_hash),
        }
    }

    /// The batch first created with a key: returned for the same body, refused for another.
    fn replay_batch(first: Batch, request_hash: &str) -> Result<BatchCreated, ServiceError> {
        if first.request_hash != request_hash {
            return Err(ServiceError::IdempotencyKeyReused);
        }
        Ok(BatchCreated {
            batch: first,
            replayed: true,
        })
    }

    /// One batch, if the caller may see its workspace.
    pub async fn get_batch(&self, caller: &Caller, id: Uuid) -> Result<Batch, ServiceError> {
        self.db
            .get_batch(id)
            .await?
            .filter(|b| caller.permits(&b.org_id, &b.workspace_id))
            .ok_or(ServiceError::BatchNotFound)
    }

    /// Batches the caller may see, newest first, keyset-paginated.
    pub async fn list_batches(
        &self,
        caller: &Caller,
        request: &ListBatches,
    ) -> Result<BatchPage, ServiceError> {
        let org_id = caller.org(request.org_id.as_deref())?;
        let workspace_id = caller
            .workspace_filter(request.workspace_id.as_deref())?
            .map(|ws| ws.as_str().to_owned());
        let status = status_filter(
            request.status.as_deref(),
            BatchStatus::parse,
            &BatchStatus::ALL.map(BatchStatus::as_str),
        )?;
        let (limit, after) = request.page.resolve()?;
        Ok(self
            .db
            .list_batches(&BatchQuery {
                org_id: org_id.as_str().to_owned(),
                workspace_id,
                allowed_workspaces: caller.allowed_workspaces(),
                status,
                limit,
                after,
            })
            .await?)
    }

    /// A batch's tasks (each with its last result or error), in creation order.
    pub async fn list_tasks(
        &self,
        caller: &Caller,
        batch_id: Uuid,
        request: &ListTasks,
    ) -> Result<TaskPage, ServiceError> {
        self.get_batch(caller, batch_id).await?;
        let status = status_filter(
            request.status.as_deref(),
            TaskStatus::parse,
            &TaskStatus::ALL.map(TaskStatus::as_str),
        )?;
        let (limit, after) = request.page.resolve()?;
        Ok(self
            .db
            .list_tasks(&TaskQuery {
                batch_id,
                status,
                limit,
                // Tasks page by id; the cursor carries it.
                after: after.map(|c| c.id),
            })
            .await?)
    }

    /// Cancels the batch's pending tasks; running ones finish and are recorded. Cancelling a
    /// cancelled batch changes nothing; a finished one cannot be cancelled.
    pub async fn cancel_batch(&self, caller: &Caller, id: Uuid) -> Result<Batch, ServiceError> {
        self.get_batch(caller, id).await?;
        caller.require_writer()?;
        match self.db.cancel_batch(id, timestamp::now()).await? {
            BatchChange::NotFound => Err(ServiceError::BatchNotFound),
            BatchChange::Changed(b) => {
                tracing::info!(action = "cancel_batch", batch_id = %id, status = "cancelled");
                Ok(b)
            }
            BatchChange::Closed(b) if b.status == BatchStatus::Cancelled => Ok(b),
            BatchChange::Closed(b) => Err(ServiceError::BatchClosed {
                status: b.status.as_str(),
            }),
        }
    }

    /// New attempts for the batch's failed tasks (only those). A cancelled batch, or one stopped
    /// by its token budget, stays as it is (409).
    pub async fn retry_failed(&self, caller: &Caller, id: Uuid) -> Result<Batch, ServiceError> {
        self.get_batch(caller, id).await?;
        caller.require_writer()?;
        match self.db.retry_failed_tasks(id, timestamp::now()).await? {
            BatchChange::NotFound => Err(ServiceError::BatchNotFound),
            BatchChange::Changed(b) => {
                tracing::info!(action = "retry_failed", batch_id = %id,
                    pending = b.counts.pending, status = "requeued");
                self.wake_workers();
                Ok(b)
            }
            BatchChange::Closed(b) => Err(ServiceError::BatchClosed {
                status: b.status.as_str(),
            }),
        }
    }
}
