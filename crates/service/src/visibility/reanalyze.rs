//! Re-analysis: a workspace's stored answers analysed again with a snapshot (after its entities
//! changed, or for answers recorded before it existed), without calling a model.
//!
//! A job is a row in `reanalysis_jobs`, leased to one process at a time. Its worker goes
//! through the answers in pages, oldest first; each page's analyses and the job's progress
//! (cursor, counts) commit in one transaction, fenced by the lease. A process that dies leaves
//! the lease to expire; another (or the same, restarted) claims the job and resumes at the
//! cursor. An analysis is keyed by (result, snapshot, extractor version), so running a job twice
//! writes nothing the second time.

use std::time::Duration;

use prompter_domain::mentions::EXTRACTOR_VERSION;
use prompter_domain::FieldError;
use prompter_storage::{timestamp, AnswerScan, JobProgress, JobStatus, ReanalysisJob};
use uuid::Uuid;

use super::ActiveSnapshot;
use crate::{Caller, ServiceError, Services};

/// Answers analysed per transaction.
const PAGE: u32 = 500;
/// How often an idle process looks for queued jobs (a job created here wakes it at once).
const POLL: Duration = Duration::from_secs(2);

/// `POST /api/workspaces/{id}/reanalyze`.
#[derive(Debug, Clone, Default)]
pub struct ReanalyzeRequest {
    pub org_id: Option<String>,
    /// Default: the workspace's current snapshot.
    pub alias_snapshot_id: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

impl Services {
    /// Queues a re-analysis of the workspace's answers in the range.
    pub async fn reanalyze(
        &self,
        caller: &Caller,
        workspace: &str,
        request: &ReanalyzeRequest,
    ) -> Result<ReanalysisJob, ServiceError> {
        let (org, ws) = self
            .visible_workspace(caller, request.org_id.as_deref(), workspace)
            .await?;
        caller.require_writer()?;
        let (from, to) =
            super::numbers::parse_range(request.from.as_deref(), request.to.as_deref())?;
        let snapshot = self
            .snapshot_of(&org, &ws, request.alias_snapshot_id.as_deref())
            .await?
            .ok_or_else(|| {
                FieldError::new(
                    "alias_snapshot_id",
                    "the workspace has no entities yet (PUT /api/workspaces/{id}/entities)",
                )
            })?;
        let scan = AnswerScan {
            org_id: org.to_string(),
            workspace_id: ws.to_string(),
            from,
            to,
            after: None,
            limit: PAGE,
        };
        let total = self.db.count_answers(&scan).await?;
        let job = ReanalysisJob {
            id: Uuid::now_v7(),
            org_id: org.to_string(),
            workspace_id: ws.to_string(),
            alias_snapshot_id: snapshot.id,
            extractor_version: EXTRACTOR_VERSION.to_owned(),
            from,
            to,
            status: JobStatus::Queued,
            total,
            processed: 0,
            analysed: 0,
            cursor: None,
            error: None,
            created_at: timestamp::now(),
            started_at: None,
            finished_at: None,
        };
        self.db.create_reanalysis(&job).await?;
        tracing::info!(action = "reanalyze", org_id = %org, workspace_id = %ws,
            job_id = %job.id, alias_snapshot_id = %snapshot.id, total);
        self.reanalysis_wake.notify_one();
        Ok(job)
    }

    /// A re-analysis job with its progress.
    pub async fn get_reanalysis(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<ReanalysisJob, ServiceError> {
        let id = Uuid::parse_str(id).map_err(|_| ServiceError::ReanalysisNotFound)?;
        let job = self
            .db
            .get_reanalysis(id)
            .await?
            .ok_or(ServiceError::ReanalysisNotFound)?;
        if !caller.permits(&job.org_id, &job.workspace_id) {
            return Err(ServiceError::ReanalysisNotFound);
        }
        Ok(job)
    }

    /// Works queued re-analysis jobs until shutdown.
    pub(crate) async fn reanalysis_loop(&self, stop: tokio_util::sync::CancellationToken) {
        loop {
            let ran = match self.run_one_reanalysis().await {
                Ok(ran) => ran,
                Err(e) => {
                    tracing::warn!(error = %e, "could not work re-analysis jobs; retrying");
                    false
                }
            };
            if ran {
                continue;
            }
            tokio::select! {
                () = tokio::time::sleep(POLL) => {}
                () = self.reanalysis_wake.notified() => {}
                () = stop.cancelled() => return,
            }
        }
    }

    fn job_lease(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.runs.settings.stale_after)
            .unwrap_or(chrono::Duration::seconds(60))
    }

    /// Claims one job and works it to its end; `false` when none was waiting.
    async fn run_one_reanalysis(&self) -> Result<bool, ServiceError> {
        let runner = self.runs.runner_id;
        let now = timestamp::now();
        let Some(job) = self
            .db
            .claim_reanalysis(runner, now, now + self.job_lease())
            .await?
        else {
            return Ok(false);
        };
        match self.work_reanalysis(&job).await {
            Ok(()) => {}
            Err(e) if e.is_unavailable() => {
                // The lease expires and the job is claimed again.
                tracing::warn!(job_id = %job.id, error = %e, "re-analysis interrupted");
            }
            Err(e) => {
                tracing::error!(job_id = %job.id, error = %e, "re-analysis failed");
                self.db
                    .fail_reanalysis(job.id, runner, &e.to_string(), timestamp::now())
                    .await?;
            }
        }
        Ok(true)
    }

    async fn work_reanalysis(&self, job: &ReanalysisJob) -> Result<(), ServiceError> {
        let snapshot = self
            .db
            .get_alias_snapshot(job.alias_snapshot_id)
            .await?
            .ok_or_else(|| {
                prompter_storage::StorageError::internal(format!(
                    "alias snapshot {} of job {} does not exist",
                    job.alias_snapshot_id, job.id
                ))
            })?;
        let active = ActiveSnapshot::of(&snapshot)?;
        let mut cursor = job.cursor;
        loop {
            let page = self
                .db
                .scan_answers(&AnswerScan {
                    org_id: job.org_id.clone(),
                    workspace_id: job.workspace_id.clone(),
                    from: job.from,
                    to: job.to,
                    after: cursor,
                    limit: PAGE,
                })
                .await?;
            let done = page.len() < PAGE as usize;
            let rows: Vec<_> = page.iter().map(|a| active.analyse(a)).collect();
            cursor = page.last().map(|a| (a.created_at, a.result_id)).or(cursor);
            let now = timestamp::now();
            let progress = JobProgress {
                job_id: job.id,
                runner: self.runs.runner_id,
                cursor,
                processed: page.len() as i64,
                done,
                at: now,
                lease_until: now + self.job_lease(),
            };
            if self
                .db
                .store_analyses(&rows, Some(&progress))
                .await?
                .is_none()
            {
                tracing::warn!(job_id = %job.id, "re-analysis lease lost to another process");
                return Ok(());
            }
            metrics::counter!(crate::telemetry::ANSWERS_ANALYSED, "source" => "reanalysis")
                .increment(rows.len() as u64);
            if done {
                tracing::info!(job_id = %job.id, "re-analysis finished");
                return Ok(());
            }
        }
    }
}
