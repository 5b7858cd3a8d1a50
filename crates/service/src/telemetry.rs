//! Metrics: names, descriptions, the Prometheus recorder, and helpers that keep label values
//! bounded (so the recorder's memory stays bounded however many model ids clients invent).
//!
//! Every series carries `env` (`PROMPTER_ENV`, default `dev`) and `service="prompter-api"`.
//! docs/operations.md explains each metric; ops/ holds the dashboards and alerts built on them.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub const HTTP_REQUESTS: &str = "prompter_http_requests_total";
pub const HTTP_DURATION: &str = "prompter_http_request_duration_seconds";
pub const RESULTS_INSERTED: &str = "prompter_prompt_results_insert_total";
pub const RESULT_WRITE_FAILURES: &str = "prompter_result_write_failures_total";
pub const OPENAI_RESULTS: &str = "prompter_openai_results_total";
pub const OPENAI_FINGERPRINT_PRESENT: &str = "prompter_openai_fingerprint_present_total";
pub const RESULTS_VERSION_KEY: &str = "prompter_results_version_key_total";
pub const PROBE_ATTEMPTS: &str = "prompter_probe_attempts_total";
pub const PROBE_FAILURES: &str = "prompter_probe_failures_total";
pub const UNIQUE_VIOLATIONS: &str = "prompter_db_unique_violation_total";
pub const DEDUP_BLOCKED: &str = "prompter_dedup_blocked_total";
pub const UNKNOWN_PROVIDER: &str = "prompter_unknown_provider_total";
pub const PROVIDER_REQUESTS: &str = "prompter_provider_requests_total";
pub const PROVIDER_DURATION: &str = "prompter_provider_request_duration_seconds";
pub const DB_QUERY_DURATION: &str = "prompter_db_query_duration_seconds";
pub const REDIS_UP: &str = "prompter_redis_up";
pub const REDIS_ERRORS: &str = "prompter_redis_errors_total";
pub const BUILD_INFO: &str = "prompter_build_info";
pub const QUEUE_TASKS: &str = "prompter_queue_tasks";
pub const TASK_DURATION: &str = "prompter_task_duration_seconds";
pub const TASKS_FINISHED: &str = "prompter_tasks_finished_total";
pub const LANE_THROTTLED: &str = "prompter_lane_throttled_total";
pub const LANE_PAUSES: &str = "prompter_lane_pauses_total";
pub const BATCH_DURATION: &str = "prompter_batch_duration_seconds";
pub const BATCHES_CREATED: &str = "prompter_batches_created_total";
pub const SCHEDULE_SLOTS: &str = "prompter_schedule_slots_total";
pub const ANSWERS_ANALYSED: &str = "prompter_answers_analysed_total";

/// Request latency buckets: 1 ms to 10 s.
const HTTP_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Provider latency buckets: 50 ms to 2 min.
const PROVIDER_BUCKETS: &[f64] = &[
    0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0,
];
/// Task latency buckets (queue wait excluded, lane wait and retries of one attempt included).
const TASK_BUCKETS: &[f64] = &[
    0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];
/// Batch duration buckets: 1 s to 1 day.
const BATCH_BUCKETS: &[f64] = &[
    1.0, 10.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 21600.0, 86400.0,
];
/// Database latency buckets: 0.1 ms to 5 s.
const DB_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder once (later calls return the same handle; `env` of the
/// first call wins) and starts its upkeep task, which must run inside a tokio runtime.
pub fn install_metrics(env: &str) -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .add_global_label("env", env)
                .add_global_label("service", "prompter-api")
                .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.into()), HTTP_BUCKETS)
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full(PROVIDER_DURATION.into()),
                        PROVIDER_BUCKETS,
                    )
                })
                .and_then(|b| {
                    b.set_buckets_for_metric(Matcher::Full(DB_QUERY_DURATION.into()), DB_BUCKETS)
                })
                .and_then(|b| {
                    b.set_buckets_for_metric(Matcher::Full(TASK_DURATION.into()), TASK_BUCKETS)
                })
                .and_then(|b| {
                    b.set_buckets_for_metric(Matcher::Full(BATCH_DURATION.into()), BATCH_BUCKETS)
                })
                .expect("bucket lists are non-empty")
                .install_recorder()
                .expect("no other metrics recorder is installed");
            describe();
            // Failure counters exist from the start (at 0), so dashboards and alerts that divide
            // by or compare with them have a series before the first failure.
            metrics::counter!(RESULT_WRITE_FAILURES).absolute(0);
            metrics::counter!(REDIS_ERRORS).absolute(0);
            metrics::counter!(PROBE_FAILURES, "provider" => "none", "reason" => "none").absolute(0);
            metrics::gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
            metrics::gauge!(QUEUE_TASKS, "state" => "pending").set(0.0);
            metrics::gauge!(QUEUE_TASKS, "state" => "running").set(0.0);
            metrics::counter!(LANE_THROTTLED, "provider" => "none").absolute(0);
            metrics::counter!(LANE_PAUSES, "provider" => "none").absolute(0);
            for outcome in ["fired", "missed", "failed"] {
                metrics::counter!(SCHEDULE_SLOTS, "outcome" => outcome).absolute(0);
            }
            let upkeep = handle.clone();
            // Histograms are drained into their buckets by upkeep; without it memory would grow.
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(async move {
                    let mut tick = tokio::time::interval(Duration::from_secs(5));
                    loop {
                        tick.tick().await;
                        upkeep.run_upkeep();
                    }
                });
            }
            handle
        })
        .clone()
}

fn describe() {
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests by method, matched route and status"
    );
    describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "HTTP request latency by method and matched route"
    );
    describe_counter!(
        RESULTS_INSERTED,
        "Run results stored, by status (succeeded, failed)"
    );
    describe_counter!(
        RESULT_WRITE_FAILURES,
        "Run results that could not be stored"
    );
    describe_counter!(
        OPENAI_RESULTS,
        "Successful results from OpenAI-family providers"
    );
    describe_counter!(
        OPENAI_FINGERPRINT_PRESENT,
        "OpenAI-family results that carried a system_fingerprint"
    );
    describe_counter!(
        RESULTS_VERSION_KEY,
        "Stored results by version key validity (valid, unknown)"
    );
    describe_counter!(
        PROBE_ATTEMPTS,
        "Version captures (explicit probes and runs) by provider and model"
    );
    describe_counter!(
        PROBE_FAILURES,
        "Failed version captures by provider and reason"
    );
    describe_counter!(
        UNIQUE_VIOLATIONS,
        "Writes refused by a unique index (or its pre-check), by table"
    );
    describe_counter!(
        DEDUP_BLOCKED,
        "Template creates refused as duplicates (409)"
    );
    describe_counter!(UNKNOWN_PROVIDER, "Requests whose model matched no provider");
    describe_counter!(
        PROVIDER_REQUESTS,
        "Provider calls by provider, model and outcome"
    );
    describe_histogram!(
        PROVIDER_DURATION,
        Unit::Seconds,
        "Provider call latency (with retries) by provider"
    );
    describe_histogram!(
        DB_QUERY_DURATION,
        Unit::Seconds,
        "Database operation latency by operation"
    );
    describe_gauge!(
        REDIS_UP,
        "1 when Redis answered its last operation or is not configured, 0 when failing"
    );
    describe_counter!(
        REDIS_ERRORS,
        "Redis operations that failed (the service continued without the cache)"
    );
    describe_gauge!(
        QUEUE_TASKS,
        "Batch tasks waiting (state=pending) and leased (state=running) in unfinished batches"
    );
    describe_histogram!(
        TASK_DURATION,
        Unit::Seconds,
        "Batch task attempts from claim to recorded outcome, by outcome"
    );
    describe_counter!(
        TASKS_FINISHED,
        "Batch task attempts recorded, by outcome (succeeded, failed, retry)"
    );
    describe_counter!(
        LANE_THROTTLED,
        "Provider answers that slowed a lane (429 or 503 asking to wait), by provider"
    );
    describe_counter!(
        LANE_PAUSES,
        "Provider lanes paused by their circuit breaker after repeated failures, by provider"
    );
    describe_histogram!(
        BATCH_DURATION,
        Unit::Seconds,
        "Batches from creation to their last task, by final status"
    );
    describe_counter!(
        BATCHES_CREATED,
        "Batches created (idempotent repeats not counted)"
    );
    describe_counter!(
        SCHEDULE_SLOTS,
        "Schedule slots by outcome: fired (batch created), missed (skipped after downtime), failed (the batch was refused)"
    );
    describe_counter!(
        ANSWERS_ANALYSED,
        "Answers analysed for brand visibility, by source (run: when recorded, reanalysis: by a job)"
    );
    describe_gauge!(
        BUILD_INFO,
        "Always 1; the version label tells which build runs"
    );
}

/// Most distinct model label values; later ones are reported as `other`.
const MAX_MODEL_LABELS: usize = 200;

/// A model id as a metric label: client-chosen text, so the number of distinct values is capped.
pub fn model_label(model: &str) -> String {
    static SEEN: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    let mut seen = SEEN.get_or_init(Default::default).lock().expect("labels");
    if seen.contains(model) {
        return model.to_owned();
    }
    if seen.len() < MAX_MODEL_LABELS && model.len() <= 100 {
        seen.insert(model.to_owned());
        return model.to_owned();
    }
    "other".to_owned()
}
