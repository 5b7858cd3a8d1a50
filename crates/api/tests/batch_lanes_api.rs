//! Batches against a provider that misbehaves, over real HTTP on both backends: a local fixture
//! server speaking OpenAI's Chat Completions wire format (real 429s with `Retry-After` and
//! OpenAI error bodies, 500s). The lane slows down for a 429 and never calls before the
//! Retry-After; failed tasks are retried by the queue and by retry-failed; the breaker pauses the
//! lane; cancel and the token budget stop a batch (with the slow fake).

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use common::TestApp;
use prompter_providers::{Gateway, LlmMode, ProviderSettings};
use prompter_service::{InProcessProbeCache, Services, WorkerSettings};
use prompter_storage::Database;
use serde_json::{json, Value};

/// What the fixture answers, and when it was asked.
#[derive(Default)]
struct Fixture {
    /// The first this-many requests get 429 with `retry-after: 1`.
    throttle_first: AtomicUsize,
    /// While set, every request gets a 500.
    failing: AtomicBool,
    /// How long each answer takes.
    delay_ms: AtomicU64,
    seen: AtomicUsize,
    /// (arrival, status answered)
    log: Mutex<Vec<(Instant, u16)>>,
}

fn completion(model: &str) -> Value {
    json!({
        "id": "chatcmpl-fixture",
        "object": "chat.completion",
        "created": 1_764_000_000,
        "model": format!("{model}-2024-08-06"),
        "system_fingerprint": "fp_fixture01",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "AVEA makes supplements."},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 8, "total_tokens": 20}
    })
}

async fn chat(
    axum::extract::State(f): axum::extract::State<Arc<Fixture>>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let n = f.seen.fetch_add(1, Ordering::SeqCst);
    let now = Instant::now();
    let delay = f.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let (status, response) = if n < f.throttle_first.load(Ordering::SeqCst) {
        let body = json!({"error": {"message": "Rate limit reached for gpt-4o in organization org-x on requests per min (RPM): Limit 3, Used 3, Requested 1.",
                                    "type": "requests", "param": null, "code": "rate_limit_exceeded"}});
        (
            StatusCode::TOO_MANY_REQUESTS,
            ([("retry-after", "1")], axum::Json(body)).into_response(),
        )
    } else if f.failing.load(Ordering::SeqCst) {
        let body = json!({"error": {"message": "The server had an error while processing your request.",
                                    "type": "server_error", "param": null, "code": null}});
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(body).into_response(),
        )
    } else {
        let model = body["model"].as_str().unwrap_or("gpt-4o").to_owned();
        (
            StatusCode::OK,
            axum::Json(completion(&model)).into_response(),
        )
    };
    f.log.lock().unwrap().push((now, status.as_u16()));
    (status, response).into_response()
}

async fn fixture_server(f: Arc<Fixture>) -> String {
    let app = axum::Router::new()
        .route("/v1/chat/completions", axum::routing::post(chat))
        .with_state(f);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/v1")
}

/// The app with OpenAI pointed at the fixture; the lane and the queue as `tune` sets them.
async fn live_app(
    db: Arc<dyn Database>,
    guard: Box<dyn std::any::Any + Send + Sync>,
    fixture: Arc<Fixture>,
    tune: impl FnOnce(&mut WorkerSettings),
) -> TestApp {
    let mut providers = ProviderSettings::fake_only();
    providers.mode = LlmMode::Live;
    providers.openai_api_key = Some("sk-fixture".into());
    providers.openai_base_url = fixture_server(fixture).await;
    providers.timeout = Duration::from_secs(5);
    let services = Services::new(
        db,
        Arc::new(Gateway::new(providers).unwrap()),
        Arc::new(InProcessProbeCache::default()),
        false,
    );
    let mut workers = WorkerSettings {
        poll_every: Duration::from_millis(50),
        ..WorkerSettings::default()
    };
    tune(&mut workers);
    TestApp::start_configured(services, guard, |s| s.workers = Some(workers)).await
}

/// The app with the fake answering after `latency`.
async fn slow_fake_app(
    db: Arc<dyn Database>,
    guard: Box<dyn std::any::Any + Send + Sync>,
    latency: Duration,
) -> TestApp {
    let mut providers = ProviderSettings::fake_only();
    providers.fake_latency = latency;
    let services = Services::new(
        db,
        Arc::new(Gateway::new(providers).unwrap()),
        Arc::new(InProcessProbeCache::default()),
        false,
    );
    TestApp::start_configured(services, guard, |s| {
        s.workers = Some(WorkerSettings {
            poll_every: Duration::from_millis(50),
            ..WorkerSettings::default()
        })
    })
    .await
}

async fn template(app: &TestApp, countries: &[&str]) -> String {
    let r = app
        .post(
            "/api/prompt-templates",
            &json!({"workspace_id": "avea", "name": "T", "model_id": "gpt-4o",
                    "user_prompt_template": "What is AVEA known for?", "country_set": countries}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

async fn start_batch(app: &TestApp, body: Value) -> String {
    let r = app.post("/api/batches", &body).await;
    assert_eq!(r.status, 202, "{}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

async fn settled(app: &TestApp, id: &str, within: Duration) -> Value {
    let started = Instant::now();
    loop {
        let r = app.get(&format!("/api/batches/{id}")).await;
        if !matches!(r.body["status"].as_str(), Some("queued" | "running")) {
            return r.body;
        }
        assert!(
            started.elapsed() < within,
            "batch {id} not done: {}",
            r.body
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn results_of(app: &TestApp, template: &str, batch: &str) -> Vec<Value> {
    let r = app
        .get(&format!(
            "/api/prompt-templates/{template}/results?batch_id={batch}&limit=500"
        ))
        .await;
    r.body["items"].as_array().unwrap().clone()
}

async fn a_429_slows_the_lane_and_every_task_succeeds(db: Arc<dyn Database>, guard: Guard) {
    let fixture = Arc::new(Fixture::default());
    fixture.throttle_first.store(2, Ordering::SeqCst);
    let app = live_app(db, guard, fixture.clone(), |w| {
        w.lanes.default.concurrency = 1;
    })
    .await;
    let t = template(&app, &["CH"]).await;
    let id = start_batch(
        &app,
        json!({"workspace_id": "avea", "samples": 3, "max_concurrency": 3}),
    )
    .await;
    let done = settled(&app, &id, Duration::from_secs(30)).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["succeeded"], 3);
    // Usage counts every recorded answer.
    assert_eq!(
        done["usage"],
        json!({"prompt_tokens": 36, "completion_tokens": 24})
    );

    let log = fixture.log.lock().unwrap().clone();
    assert_eq!(log.iter().filter(|(_, s)| *s == 429).count(), 2);
    assert_eq!(log.iter().filter(|(_, s)| *s == 200).count(), 3);
    // No request before the Retry-After of a 429 (one second), whichever task sent it.
    for (i, (at, status)) in log.iter().enumerate() {
        if *status == 429 {
            if let Some((next, _)) = log.get(i + 1) {
                let gap = next.duration_since(*at);
                assert!(
                    gap >= Duration::from_millis(990),
                    "request {} came {gap:?} after a 429 asking for 1 s",
                    i + 1
                );
            }
        }
    }
    // The throttled attempts are recorded as failed results (evidence), one success per task.
    let results = results_of(&app, &t, &id).await;
    assert_eq!(results.len(), 5);
    let failed: Vec<&Value> = results.iter().filter(|r| r["status"] == "failed").collect();
    assert_eq!(failed.len(), 2);
    for f in failed {
        assert_eq!(f["error"]["provider_status"], 429);
        assert_eq!(f["error"]["retry_after_ms"], 1000);
    }
    let tasks = app.get(&format!("/api/batches/{id}/tasks")).await;
    let attempts: i64 = tasks.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["attempts"].as_i64().unwrap())
        .sum();
    assert_eq!(attempts, 5);
}

async fn failed_tasks_fail_after_their_attempts_then_retry_failed_runs_them(
    db: Arc<dyn Database>,
    guard: Guard,
) {
    let fixture = Arc::new(Fixture::default());
    fixture.failing.store(true, Ordering::SeqCst);
    let app = live_app(db, guard, fixture.clone(), |w| {
        w.max_attempts = 2;
        w.lanes.breaker_failures = 100;
    })
    .await;
    let t = template(&app, &["CH", "US"]).await;
    let id = start_batch(&app, json!({"workspace_id": "avea"})).await;
    let done = settled(&app, &id, Duration::from_secs(30)).await;
    assert_eq!(done["status"], "failed", "{done}");
    assert_eq!(done["failed"], 2);
    let tasks = app
        .get(&format!("/api/batches/{id}/tasks?status=failed"))
        .await;
    for task in tasks.body["items"].as_array().unwrap() {
        assert_eq!(task["attempts"], 2);
        assert_eq!(task["last_error"]["provider_status"], 500);
        assert!(task["result_id"].is_string());
    }
    assert_eq!(fixture.seen.load(Ordering::SeqCst), 4);

    fixture.failing.store(false, Ordering::SeqCst);
    let retried = app
        .post(&format!("/api/batches/{id}/retry-failed"), &Value::Null)
        .await;
    assert_eq!(retried.status, 200, "{}", retried.body);
    assert_eq!(retried.body["pending"], 2);
    let done = settled(&app, &id, Duration::from_secs(30)).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    let results = results_of(&app, &t, &id).await;
    assert_eq!(results.len(), 6, "4 failed attempts kept, 2 successes");
    assert_eq!(
        results
            .iter()
            .filter(|r| r["status"] == "succeeded")
            .count(),
        2
    );
}

async fn repeated_failures_pause_the_lane(db: Arc<dyn Database>, guard: Guard) {
    let fixture = Arc::new(Fixture::default());
    fixture.failing.store(true, Ordering::SeqCst);
    let app = live_app(db, guard, fixture.clone(), |w| {
        w.max_attempts = 2;
        w.lanes.default.concurrency = 1;
        w.lanes.breaker_failures = 2;
        w.lanes.breaker_pause = Duration::from_millis(1500);
    })
    .await;
    template(&app, &["CH"]).await;
    let id = start_batch(&app, json!({"workspace_id": "avea", "samples": 2})).await;
    let done = settled(&app, &id, Duration::from_secs(30)).await;
    assert_eq!(done["status"], "failed");
    let log = fixture.log.lock().unwrap().clone();
    assert_eq!(log.len(), 4);
    // After the second failure in a row the breaker holds every call for the pause.
    let gap = log[2].0.duration_since(log[1].0);
    assert!(gap >= Duration::from_millis(1450), "{gap:?}");
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("prompter_lane_pauses_total{")
                && l.contains("provider=\"openai\"")),
        "{metrics}"
    );
}

async fn cancel_stops_pending_tasks_and_lets_running_ones_finish(
    db: Arc<dyn Database>,
    guard: Guard,
) {
    let app = slow_fake_app(db, guard, Duration::from_millis(300)).await;
    template(&app, &["CH"]).await;
    let id = start_batch(
        &app,
        json!({"workspace_id": "avea", "samples": 20, "max_concurrency": 2}),
    )
    .await;
    // Wait until it runs.
    for _ in 0..100 {
        let b = app.get(&format!("/api/batches/{id}")).await;
        if b.body["running"].as_i64().unwrap() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let cancelled = app
        .post(&format!("/api/batches/{id}/cancel"), &Value::Null)
        .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    assert_eq!(cancelled.body["status"], "cancelled");
    assert_eq!(cancelled.body["pending"], 0);
    // Again: the same answer.
    let again = app
        .post(&format!("/api/batches/{id}/cancel"), &Value::Null)
        .await;
    assert_eq!(again.status, 200);
    // The running ones finish and are recorded.
    let started = Instant::now();
    let done = loop {
        let b = app.get(&format!("/api/batches/{id}")).await.body;
        if b["finished_at"].is_string() {
            break b;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{b}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(done["status"], "cancelled");
    let (succeeded, cancelled) = (
        done["succeeded"].as_i64().unwrap(),
        done["cancelled"].as_i64().unwrap(),
    );
    assert!(succeeded >= 1 && cancelled >= 14, "{done}");
    assert_eq!(succeeded + cancelled, 20, "{done}");
    let retry = app
        .post(&format!("/api/batches/{id}/retry-failed"), &Value::Null)
        .await;
    assert_eq!(retry.status, 409);
    assert_eq!(retry.body["detail"]["code"], "BATCH_CLOSED");
}

async fn the_token_budget_stops_the_batch(db: Arc<dyn Database>, guard: Guard) {
    let app = slow_fake_app(db, guard, Duration::from_millis(20)).await;
    template(&app, &["CH"]).await;
    let id = start_batch(
        &app,
        json!({"workspace_id": "avea", "samples": 10, "max_concurrency": 1, "token_budget": 40}),
    )
    .await;
    let done = settled(&app, &id, Duration::from_secs(30)).await;
    assert_eq!(done["status"], "budget_exhausted", "{done}");
    let used = done["usage"]["prompt_tokens"].as_i64().unwrap()
        + done["usage"]["completion_tokens"].as_i64().unwrap();
    assert!(used >= 40, "{done}");
    let succeeded = done["succeeded"].as_i64().unwrap();
    assert!((1..10).contains(&succeeded), "stopped part-way: {done}");
    assert_eq!(done["cancelled"].as_i64().unwrap() + succeeded, 10);
}

async fn tasks_waiting_in_their_lane_are_not_sent_after_a_cancel(
    db: Arc<dyn Database>,
    guard: Guard,
) {
    let fixture = Arc::new(Fixture::default());
    fixture.delay_ms.store(500, Ordering::SeqCst);
    let app = live_app(db, guard, fixture.clone(), |w| {
        w.lanes.default.concurrency = 1;
        w.lanes.default.requests_per_minute = 0;
    })
    .await;
    template(&app, &["CH"]).await;
    let id = start_batch(
        &app,
        json!({"workspace_id": "avea", "samples": 6, "max_concurrency": 6}),
    )
    .await;
    // All six are claimed; one calls the provider, five wait for the lane.
    let started = Instant::now();
    while fixture.seen.load(Ordering::SeqCst) == 0 {
        assert!(started.elapsed() < Duration::from_secs(10));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let cancelled = app
        .post(&format!("/api/batches/{id}/cancel"), &Value::Null)
        .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    let done = loop {
        let b = app.get(&format!("/api/batches/{id}")).await.body;
        if b["finished_at"].is_string() {
            break b;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{b}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(done["status"], "cancelled");
    assert!(
        fixture.seen.load(Ordering::SeqCst) <= 2,
        "only the calls already sent: {}",
        fixture.seen.load(Ordering::SeqCst)
    );
    assert_eq!(
        done["succeeded"].as_i64().unwrap() + done["cancelled"].as_i64().unwrap(),
        6,
        "{done}"
    );
    let tasks = app
        .get(&format!("/api/batches/{id}/tasks?status=cancelled"))
        .await;
    let waited: Vec<&Value> = tasks.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["last_error"]["code"] == "not_started")
        .collect();
    assert!(waited.len() >= 4, "{}", tasks.body);
}

type Guard = Box<dyn std::any::Any + Send + Sync>;

macro_rules! cases {
    ($($case:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let db = prompter_testkit::fresh_sqlite().await;
                    super::$case(prompter_testkit::TestDb::db(&db), Box::new(db)).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                #[cfg_attr(not(prompter_pg), ignore = "PostgreSQL not configured: set PROMPTER_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/postgres")]
                async fn $case() {
                    let db = prompter_testkit::fresh_postgres().await;
                    super::$case(prompter_testkit::TestDb::db(&db), Box::new(db)).await;
                }
            )+
        }
    };
}

cases!(
    a_429_slows_the_lane_and_every_task_succeeds,
    failed_tasks_fail_after_their_attempts_then_retry_failed_runs_them,
    repeated_failures_pause_the_lane,
    cancel_stops_pending_tasks_and_lets_running_ones_finish,
    the_token_budget_stops_the_batch,
    tasks_waiting_in_their_lane_are_not_sent_after_a_cancel,
);

/// The database drops every connection of the service, several times, while a batch runs:
/// claims, outcomes and starts are retried, and the batch ends with one success per task.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    not(prompter_pg),
    ignore = "PostgreSQL not configured: set PROMPTER_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/postgres"
)]
async fn a_batch_survives_the_database_dropping_its_connections() {
    use prompter_testkit::TestDb;
    let test_db = prompter_testkit::fresh_postgres().await;
    let url = test_db.url().to_owned();
    let db = test_db.db();
    // Short liveness: a claim or a running row this process lost track of (its commit went
    // through but the answer was cut) expires in seconds, not a minute.
    let mut providers = ProviderSettings::fake_only();
    providers.fake_latency = Duration::from_millis(150);
    let services = Services::new(
        db,
        Arc::new(Gateway::new(providers).unwrap()),
        Arc::new(InProcessProbeCache::default()),
        false,
    )
    .with_run_settings(prompter_service::RunSettings {
        provider_budget: Duration::from_secs(30),
        stale_after: Duration::from_secs(2),
    });
    let app = TestApp::start_configured(services, Box::new(test_db), |s| {
        s.workers = Some(WorkerSettings {
            poll_every: Duration::from_millis(50),
            ..WorkerSettings::default()
        })
    })
    .await;
    let t = template(&app, &["CH", "DE"]).await;
    let id = start_batch(
        &app,
        json!({"workspace_id": "avea", "samples": 25, "max_concurrency": 10}),
    )
    .await;
    // Kill the service's connections five times, 300 ms apart, while tasks run.
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let out = std::process::Command::new("psql")
            .arg(&url)
            .args([
                "-qAtc",
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
            ])
            .output()
            .expect("psql");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let done = settled(&app, &id, Duration::from_secs(120)).await;
    let failed = app
        .get(&format!("/api/batches/{id}/tasks?status=failed"))
        .await;
    assert_eq!(
        done["status"], "succeeded",
        "{done}\nfailed: {}",
        failed.body
    );
    assert_eq!(done["succeeded"], 50);
    let results = results_of(&app, &t, &id).await;
    let mut per_task = std::collections::HashMap::new();
    for r in results.iter().filter(|r| r["status"] == "succeeded") {
        *per_task
            .entry(r["task_id"].as_str().unwrap().to_owned())
            .or_insert(0) += 1;
    }
    assert_eq!(per_task.len(), 50);
    assert!(per_task.values().all(|n| *n == 1));
}
