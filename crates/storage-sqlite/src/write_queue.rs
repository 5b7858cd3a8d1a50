//! Group commit: template creates and run results queue here, and one task writes whatever
//! queued up while the previous transaction committed in one transaction (one fsync for many
//! requests). Each request gets its own outcome, after the commit.

use prompter_storage::{
    CreateTemplate, FinishedRun, NewTemplate, RecordedRun, Result, RunRecord, StorageError,
};
use sqlx::sqlite::SqlitePool;
use sqlx::SqliteConnection;
use tokio::sync::{mpsc, oneshot};

use crate::{runs, templates};

/// Most creates written in one transaction.
const MAX_GROUP_COMMIT: usize = 256;

/// The sending side of the queue; the group-commit task owns the writer pool.
pub(crate) struct WriteQueue {
    jobs: mpsc::Sender<WriteJob>,
}

impl WriteQueue {
    /// Spawns the group-commit task on `writer`.
    pub(crate) fn start(writer: SqlitePool) -> Self {
        let (jobs, queue) = mpsc::channel(4 * MAX_GROUP_COMMIT);
        tokio::spawn(group_commit(writer, queue));
        Self { jobs }
    }

    /// Inserts the template (and its workspace record, if new), or reports its active twin.
    pub(crate) async fn create_template(&self, new: NewTemplate) -> Result<CreateTemplate> {
        let (reply, outcome) = oneshot::channel();
        self.queue(WriteJob::Create { new, reply }).await?;
        outcome
            .await
            .map_err(|_| StorageError::internal("the SQLite writer dropped a create"))?
    }

    pub(crate) async fn record_run(&self, record: RunRecord) -> Result<RecordedRun> {
        let (reply, outcome) = oneshot::channel();
        self.queue(WriteJob::Run { record, reply }).await?;
        outcome
            .await
            .map_err(|_| StorageError::internal("the SQLite writer dropped a run"))?
    }

    pub(crate) async fn finish_run(&self, record: RunRecord) -> Result<FinishedRun> {
        let (reply, outcome) = oneshot::channel();
        self.queue(WriteJob::Finish { record, reply }).await?;
        outcome
            .await
            .map_err(|_| StorageError::internal("the SQLite writer dropped a run outcome"))?
    }

    async fn queue(&self, job: WriteJob) -> Result<()> {
        self.jobs
            .send(job)
            .await
            .map_err(|_| StorageError::unavailable("the SQLite writer has stopped"))
    }
}

/// A hot write, queued for the group-commit task. Jobs are moved through a channel once; their
/// size does not matter, so the variants are not boxed.
#[allow(clippy::large_enum_variant)]
enum WriteJob {
    Create {
        new: NewTemplate,
        reply: oneshot::Sender<Result<CreateTemplate>>,
    },
    Run {
        record: RunRecord,
        reply: oneshot::Sender<Result<RecordedRun>>,
    },
    Finish {
        record: RunRecord,
        reply: oneshot::Sender<Result<FinishedRun>>,
    },
}

impl WriteJob {
    async fn apply(&self, conn: &mut SqliteConnection) -> Result<WriteOutcome> {
        Ok(match self {
            WriteJob::Create { new, .. } => {
                WriteOutcome::Create(templates::insert(conn, new).await?)
            }
            WriteJob::Run { record, .. } => WriteOutcome::Run(runs::insert(conn, record).await?),
            WriteJob::Finish { record, .. } => {
                WriteOutcome::Finish(Ok(runs::finish(conn, record).await?))
            }
        })
    }

    fn reply(self, outcome: Result<WriteOutcome>) {
        match (self, outcome) {
            (WriteJob::Finish { reply, .. }, Ok(WriteOutcome::Finish(o))) => {
                let _ = reply.send(o);
            }
            (WriteJob::Finish { reply, .. }, Err(e)) => {
                let _ = reply.send(Err(e));
            }
            (WriteJob::Finish { reply, .. }, Ok(_)) => {
                let _ = reply.send(Err(StorageError::internal("mismatched write outcome")));
            }
            (WriteJob::Create { reply, .. }, Ok(WriteOutcome::Create(o))) => {
                let _ = reply.send(o);
            }
            (WriteJob::Run { reply, .. }, Ok(WriteOutcome::Run(o))) => {
                let _ = reply.send(o);
            }
            (WriteJob::Create { reply, .. }, Err(e)) => {
                let _ = reply.send(Err(e));
            }
            (WriteJob::Run { reply, .. }, Err(e)) => {
                let _ = reply.send(Err(e));
            }
            (WriteJob::Create { reply, .. }, Ok(_)) => {
                let _ = reply.send(Err(StorageError::internal("mismatched write outcome")));
            }
            (WriteJob::Run { reply, .. }, Ok(_)) => {
                let _ = reply.send(Err(StorageError::internal("mismatched write outcome")));
            }
        }
    }
}

/// Per-job outcomes inside a committed batch (a duplicate is an outcome, not an error).
#[allow(clippy::large_enum_variant)]
enum WriteOutcome {
    Create(Result<CreateTemplate>),
    Run(Result<RecordedRun>),
    Finish(Result<FinishedRun>),
}

/// The group-commit loop: takes whatever writes are queued (at least one, at most
/// [`MAX_GROUP_COMMIT`]) and commits them together. If the transaction as a whole fails, each
/// write is retried alone, so one bad row cannot fail its neighbours.
async fn group_commit(writer: SqlitePool, mut queue: mpsc::Receiver<WriteJob>) {
    let mut jobs = Vec::with_capacity(MAX_GROUP_COMMIT);
    while queue.recv_many(&mut jobs, MAX_GROUP_COMMIT).await > 0 {
        let batch = std::mem::take(&mut jobs);
        match commit_batch(&writer, &batch).await {
            Ok(outcomes) => {
                for (job, outcome) in batch.into_iter().zip(outcomes) {
                    job.reply(Ok(outcome));
                }
            }
            Err(e) if batch.len() == 1 => {
                let job = batch.into_iter().next().expect("one job");
                job.reply(Err(e));
            }
            Err(e) => {
                tracing::warn!(error = %e, size = batch.len(), "group commit failed; retrying writes one by one");
                for job in batch {
                    let outcome = commit_batch(&writer, std::slice::from_ref(&job))
                        .await
                        .map(|mut o| o.pop().expect("one outcome"));
                    job.reply(outcome);
                }
            }
        }
    }
}

/// Applies `jobs` in one transaction. The outer error means nothing was committed.
async fn commit_batch(writer: &SqlitePool, jobs: &[WriteJob]) -> Result<Vec<WriteOutcome>> {
    let mut tx = writer.begin().await?;
    let mut outcomes = Vec::with_capacity(jobs.len());
    for job in jobs {
        outcomes.push(job.apply(&mut tx).await?);
    }
    tx.commit().await?;
    Ok(outcomes)
}
