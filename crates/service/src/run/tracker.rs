//! Runs in flight in this process: they belong to the service, not to the HTTP request that
//! started them.
//!
//! Each run is a task on a [`TaskTracker`]; whoever waits for it (the request that started it, a
//! retried request with the same idempotency key) subscribes to its completion. While runs are
//! in flight, their rows' heartbeat is renewed; every replica periodically marks `running` rows
//! whose heartbeat went stale (their process died) as failed with `error.code: "interrupted"`.
//! At shutdown the tracker waits for the runs up to the grace period, then marks what is left.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prompter_storage::{Database, InterruptScope, RunResult};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

use super::record::interrupted_error;

/// Timeouts and liveness of runs. See docs/operations.md ("Timeouts").
#[derive(Debug, Clone)]
pub struct RunSettings {
    /// The longest a run may spend on its provider, all attempts and back-off included
    /// (`PROMPTER_PROVIDER_TOTAL_TIMEOUT_MS`); past it the run is recorded as failed.
    pub provider_budget: Duration,
    /// A `running` row whose heartbeat is older than this belongs to a dead process
    /// (`PROMPTER_RUN_STALE_AFTER_MS`).
    pub stale_after: Duration,
}

impl RunSettings {
    /// How often a process renews its rows' heartbeat (and sweeps stale ones): several times per
    /// staleness period, so one slow write does not make a live process look dead.
    pub fn heartbeat_every(&self) -> Duration {
        (self.stale_after / 4).max(Duration::from_millis(250))
    }
}

impl Default for RunSettings {
    fn default() -> Self {
        Self {
            provider_budget: Duration::from_secs(300),
            stale_after: Duration::from_secs(60),
        }
    }
}

/// The completion signal of one run: `None` until its outcome is recorded.
pub(crate) type Done = watch::Receiver<Option<RunResult>>;

pub(crate) struct RunTracker {
    /// Identifies this process's running rows (heartbeat, shutdown).
    pub runner_id: Uuid,
    pub settings: RunSettings,
    tasks: TaskTracker,
    in_flight: Mutex<HashMap<Uuid, Done>>,
    stop: CancellationToken,
}

impl RunTracker {
    pub fn new(settings: RunSettings) -> Self {
        Self {
            runner_id: Uuid::now_v7(),
            settings,
            tasks: TaskTracker::new(),
            in_flight: Mutex::default(),
            stop: CancellationToken::new(),
        }
    }

    /// Starts `task` for run `result_id`; waiters subscribe with [`RunTracker::subscribe`].
    pub fn spawn<Fut>(
        self: &Arc<Self>,
        result_id: Uuid,
        task: impl FnOnce(watch::Sender<Option<RunResult>>) -> Fut,
    ) -> Done
    where
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let (tx, rx) = watch::channel(None);
        self.in_flight
            .lock()
            .expect("in-flight runs")
            .insert(result_id, rx.clone());
        let this = self.clone();
        // The run's logs keep the span of the request that started it (its request id). Boxed
        // once: the run's future is large, and the runtime would otherwise copy it on every move
        // into and within the task cell (measured: most of a run's instructions were memcpy).
        let task = Box::pin(tracing::Instrument::instrument(
            task(tx),
            tracing::Span::current(),
        ));
        self.tasks.spawn(async move {
            task.await;
            this.in_flight
                .lock()
                .expect("in-flight runs")
                .remove(&result_id);
        });
        rx
    }

    /// The completion signal of a run in flight in this process, if it is.
    pub fn subscribe(&self, result_id: Uuid) -> Option<Done> {
        self.in_flight
            .lock()
            .expect("in-flight runs")
            .get(&result_id)
            .cloned()
    }

    /// The results this process is running now.
    fn running(&self) -> Vec<Uuid> {
        self.in_flight
            .lock()
            .expect("in-flight runs")
            .keys()
            .copied()
            .collect()
    }

    /// Cancelled when the process shuts down.
    pub fn stopping(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// Heartbeats and the sweep of stale rows, until shutdown. Sweeps once at once: rows a
    /// crashed process left behind are marked as soon as they are stale.
    pub fn start_background(self: &Arc<Self>, db: Arc<dyn Database>) {
        let this = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(this.settings.heartbeat_every());
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    () = this.stop.cancelled() => return,
                }
                let now = prompter_storage::timestamp::now();
                let running = this.running();
                if !running.is_empty() {
                    if let Err(e) = db.heartbeat_runs(this.runner_id, &running, now).await {
                        tracing::warn!(error = %e, "could not renew the heartbeat of running results");
                    }
                }
                let stale = chrono::Duration::from_std(this.settings.stale_after)
                    .unwrap_or(chrono::Duration::seconds(60));
                match db
                    .interrupt_runs(
                        InterruptScope::StaleBefore(now - stale),
                        &interrupted_error(),
                    )
                    .await
                {
                    Ok(0) => {}
                    Ok(n) => tracing::warn!(
                        results = n,
                        "marked running results of a stopped process as interrupted"
                    ),
                    Err(e) => tracing::warn!(error = %e, "could not sweep stale running results"),
                }
            }
        });
    }

    /// Waits for the runs in flight, at most `grace`; marks those still running as interrupted.
    pub async fn shutdown(&self, db: &dyn Database, grace: Duration) {
        self.stop.cancel();
        self.tasks.close();
        if tokio::time::timeout(grace, self.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                grace_s = grace.as_secs(),
                "runs still waiting for their provider at the end of the grace period"
            );
        }
        match db
            .interrupt_runs(InterruptScope::Runner(self.runner_id), &interrupted_error())
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::warn!(results = n, "recorded unfinished runs as interrupted"),
            Err(e) => {
                tracing::error!(error = %e, "could not record unfinished runs as interrupted")
            }
        }
    }
}
