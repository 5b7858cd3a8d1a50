//! A run's outcome does not depend on its HTTP request: past the wait bound the endpoint answers
//! 202 with the running result's address, a client that disconnects still gets its answer
//! recorded, and `Prefer: respond-async` answers at once. Both backends, real HTTP.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{avea_body, TestApp};
use prompter_providers::{Gateway, ProviderSettings};
use prompter_service::{InProcessProbeCache, Services};
use prompter_storage::Database;
use serde_json::{json, Value};

/// The fake answers after `latency`; the endpoint waits `wait` for it.
async fn slow_app(
    db: Arc<dyn Database>,
    guard: Box<dyn std::any::Any + Send + Sync>,
    latency_ms: u64,
    wait_ms: u64,
) -> TestApp {
    let mut settings = ProviderSettings::fake_only();
    settings.fake_latency = Duration::from_millis(latency_ms);
    let services = Services::new(
        db,
        Arc::new(Gateway::new(settings).unwrap()),
        Arc::new(InProcessProbeCache::default()),
        false,
    );
    TestApp::start_with_run_wait(services, guard, Duration::from_millis(wait_ms)).await
}

async fn template(app: &TestApp) -> String {
    let created = app.post("/api/prompt-templates", &avea_body()).await;
    assert_eq!(created.status, 201, "{}", created.body);
    created.body["id"].as_str().unwrap().to_owned()
}

/// Reads `GET /api/results/{id}` until it is no longer running (at most 10 s).
async fn settled(app: &TestApp, id: &str) -> Value {
    for _ in 0..100 {
        let r = app.get(&format!("/api/results/{id}")).await;
        assert_eq!(r.status, 200, "{}", r.body);
        if r.body["status"] != "running" {
            return r.body;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("result {id} still running after 10 s");
}

async fn slower_than_the_wait_answers_202_then_the_result_succeeds(app: TestApp) {
    let id = template(&app).await;
    let resp = app
        .client
        .post(app.url(&format!("/api/prompt-templates/{id}/run")))
        .json(&json!({"country": "CH"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 202);
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "running");
    assert_eq!(body["id"], body["result_id"]);
    let result_id = body["id"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("/api/results/{result_id}"));

    // Any reader sees it running, with no answer yet.
    let now = app.get(&location).await;
    assert_eq!(now.body["status"], "running");
    assert_eq!(now.body["answer"], Value::Null);

    let done = settled(&app, &result_id).await;
    assert_eq!(done["status"], "succeeded");
    assert!(done["answer"].as_str().is_some_and(|a| !a.is_empty()));
    assert!(done["version_id"].is_string(), "{done}");
    assert_eq!(done["id"], done["result_id"]);
}

async fn a_client_that_disconnects_still_gets_its_answer_recorded(app: TestApp) {
    let id = template(&app).await;
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let gone = impatient
        .post(app.url(&format!("/api/prompt-templates/{id}/run")))
        .json(&json!({"country": "US"}))
        .send()
        .await;
    assert!(gone.is_err(), "the client gave up before the answer");
    // The run is recorded: running now, succeeded once the provider answers.
    let mut items = Vec::new();
    for _ in 0..50 {
        let page = app
            .get(&format!("/api/prompt-templates/{id}/results"))
            .await;
        items = page.body["items"].as_array().unwrap().clone();
        if !items.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(items.len(), 1, "exactly one result is recorded");
    let result_id = items[0]["id"].as_str().unwrap().to_owned();
    let done = settled(&app, &result_id).await;
    assert_eq!(done["status"], "succeeded");
    assert_eq!(done["run_country"], "US");
}

async fn respond_async_answers_at_once_and_a_repeat_key_joins_the_run(app: TestApp) {
    let id = template(&app).await;
    let url = app.url(&format!("/api/prompt-templates/{id}/run"));
    let started = std::time::Instant::now();
    let first = app
        .client
        .post(&url)
        .header("prefer", "respond-async")
        .header("idempotency-key", "k-1")
        .json(&json!({"country": "CH"}))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status().as_u16(), 202);
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "did not wait for the provider"
    );
    assert_eq!(first.headers()["preference-applied"], "respond-async");
    let first: Value = first.json().await.unwrap();
    // The same key while it runs: the same result, no second provider call.
    let again = app
        .client
        .post(&url)
        .header("prefer", "respond-async")
        .header("idempotency-key", "k-1")
        .json(&json!({"country": "CH"}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status().as_u16(), 202);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);
    let done = settled(&app, first["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "succeeded");
    // Waiting (no Prefer) on the finished key replays it with 200.
    let replay = app
        .send(
            app.client
                .post(&url)
                .header("idempotency-key", "k-1")
                .json(&json!({"country": "CH"})),
        )
        .await;
    assert_eq!(replay.status, 200, "{}", replay.body);
    assert_eq!(replay.body["result_id"], first["id"]);
    assert_eq!(replay.body["idempotent_replay"], true);
    let page = app
        .get(&format!("/api/prompt-templates/{id}/results"))
        .await;
    assert_eq!(page.body["items"].as_array().unwrap().len(), 1);
}

async fn within_the_wait_the_seed_shape_is_answered(app: TestApp) {
    let id = template(&app).await;
    let r = app
        .post(
            &format!("/api/prompt-templates/{id}/run"),
            &json!({"country": "CH"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body["result_id"].is_string() && r.body["version_id"].is_string());
    assert!(r.body["content"].as_str().is_some_and(|c| !c.is_empty()));
}

macro_rules! cases {
    ($($case:ident: $latency:expr, $wait:expr;)+) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let db = prompter_testkit::fresh_sqlite().await;
                    let app = super::slow_app(prompter_testkit::TestDb::db(&db), Box::new(db), $latency, $wait).await;
                    super::$case(app).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                #[cfg_attr(not(prompter_pg), ignore = "PostgreSQL not configured: set PROMPTER_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/postgres")]
                async fn $case() {
                    let db = prompter_testkit::fresh_postgres().await;
                    let app = super::slow_app(prompter_testkit::TestDb::db(&db), Box::new(db), $latency, $wait).await;
                    super::$case(app).await;
                }
            )+
        }
    };
}

cases! {
    slower_than_the_wait_answers_202_then_the_result_succeeds: 1500, 200;
    a_client_that_disconnects_still_gets_its_answer_recorded: 1500, 10_000;
    respond_async_answers_at_once_and_a_repeat_key_joins_the_run: 1000, 10_000;
    within_the_wait_the_seed_shape_is_answered: 50, 10_000;
}
