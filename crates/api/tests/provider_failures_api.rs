//! What happens when the provider fails, when probes are disabled, and when the probe cache is
//! Redis (reachable or not). Real HTTP to a local fixture that answers like OpenAI.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use common::TestApp;
use prompter_providers::{Gateway, ProviderSettings};
use prompter_service::{InProcessProbeCache, ProbeCache, RedisProbeCache, Services};
use prompter_storage::Database;
use prompter_testkit::TestDb;
use serde_json::{json, Value};

const SECRET_KEY: &str = "sk-test-SECRET-4f1c9a";

/// An OpenAI-shaped server that always answers 500 with OpenAI's error body; counts calls.
async fn failing_openai() -> (String, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let app = Router::new().route(
        "/v1/chat/completions",
        post(move || {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    [("x-request-id", "req_fixture")],
                    Json(json!({"error": {"message": "The server had an error while processing your request.",
                                          "type": "server_error", "param": null, "code": null}})),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/v1"), calls)
}

fn live_gateway(openai_base: &str) -> Gateway {
    let env = [
        ("PROMPTER_LLM_MODE", "auto"),
        ("OPENAI_API_KEY", SECRET_KEY),
        ("OPENAI_BASE_URL", openai_base),
        ("PROMPTER_PROVIDER_MAX_RETRIES", "1"),
        ("PROMPTER_PROVIDER_RETRY_BASE_MS", "5"),
    ];
    let settings = ProviderSettings::from_lookup(|k| {
        env.iter()
            .find(|(name, _)| *name == k)
            .map(|(_, v)| v.to_string())
    })
    .unwrap();
    Gateway::new(settings).unwrap()
}

async fn app_with(
    db: Arc<dyn Database>,
    gateway: Gateway,
    cache: Arc<dyn ProbeCache>,
    probe_disabled: bool,
) -> TestApp {
    let services = Services::new(db, Arc::new(gateway), cache, probe_disabled);
    TestApp::start_with_services(services, Box::new(())).await
}

fn template_body() -> Value {
    json!({"workspace_id": "ws-fail", "name": "Failing", "model_id": "gpt-4o",
           "user_prompt_template": "What is {{brand_name}} known for?"})
}

async fn provider_failure_is_502_and_recorded_without_secrets(test_db: impl TestDb) {
    let (base, calls) = failing_openai().await;
    let app = app_with(
        test_db.db(),
        live_gateway(&base),
        Arc::new(InProcessProbeCache::default()),
        false,
    )
    .await;
    let id = app
        .post("/api/prompt-templates", &template_body())
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let r = app
        .post(
            &format!("/api/prompt-templates/{id}/run"),
            &json!({"brand_name": "AVEA"}),
        )
        .await;
    assert_eq!(r.status, 502, "{}", r.body);
    let d = &r.body["detail"];
    assert_eq!(d["code"], "PROVIDER_ERROR");
    assert_eq!(d["provider"], "openai");
    assert_eq!(d["provider_status"], 500);
    assert!(d["message"]
        .as_str()
        .unwrap()
        .contains("The server had an error"));
    assert_eq!(calls.load(Ordering::SeqCst), 2, "one retry on 500");

    let stored = app
        .get(&format!(
            "/api/results/{}",
            d["result_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(stored.status, 200);
    assert_eq!(stored.body["status"], "failed");
    assert_eq!(stored.body["error"]["provider_status"], 500);
    assert_eq!(stored.body["error"]["attempts"], 2);
    assert_eq!(stored.body["is_fake"], false);
    assert_eq!(stored.body["version_id"], Value::Null);
    assert_eq!(
        stored.body["answer"],
        Value::Null,
        "a failed attempt has no answer"
    );
    assert!(
        stored.body["response"]["error"]["message"].is_string(),
        "provider's error body kept"
    );

    let probe = app
        .post(
            &format!("/api/prompt-templates/{id}/ensure-version"),
            &json!({}),
        )
        .await;
    assert_eq!(
        (probe.status, probe.body["detail"]["code"].as_str()),
        (502, Some("PROVIDER_ERROR"))
    );

    // The key appears nowhere: not in responses, not in any stored row.
    for text in [
        r.body.to_string(),
        probe.body.to_string(),
        stored.body.to_string(),
    ] {
        assert!(!text.contains(SECRET_KEY));
    }
    let listed = app
        .get(&format!("/api/prompt-templates/{id}/results"))
        .await;
    assert!(!listed.body.to_string().contains(SECRET_KEY));
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
}

async fn probe_kill_switch_returns_latest_known_version(test_db: impl TestDb) {
    let db = test_db.db();
    let fake = || Gateway::new(ProviderSettings::fake_only()).unwrap();
    let on = app_with(
        db.clone(),
        fake(),
        Arc::new(InProcessProbeCache::default()),
        false,
    )
    .await;
    let off = app_with(db, fake(), Arc::new(InProcessProbeCache::default()), true).await;
    let id = on
        .post("/api/prompt-templates", &template_body())
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/prompt-templates/{id}/ensure-version");

    let none = off.post(&path, &json!({})).await;
    assert_eq!(
        (none.status, none.body["detail"]["code"].as_str()),
        (503, Some("PROBE_DISABLED"))
    );

    let run = on
        .post(
            &format!("/api/prompt-templates/{id}/run"),
            &json!({"brand_name": "AVEA"}),
        )
        .await;
    assert_eq!(run.status, 200);
    let known = off.post(&path, &json!({})).await;
    assert_eq!(known.status, 200, "{}", known.body);
    assert_eq!(known.body["probe_disabled"], true);
    assert_eq!(known.body["version_id"], run.body["version_id"]);
}

async fn redis_probe_cache_is_shared_and_optional(test_db: impl TestDb) {
    let db = test_db.db();
    let url = std::env::var("PROMPTER_TEST_REDIS_URL").expect("PROMPTER_TEST_REDIS_URL");
    let fake = || Gateway::new(ProviderSettings::fake_only()).unwrap();
    // Two replicas share one Redis: the second is answered from the first one's probe.
    let a = app_with(
        db.clone(),
        fake(),
        Arc::new(RedisProbeCache::new(&url).unwrap()),
        false,
    )
    .await;
    let b = app_with(
        db.clone(),
        fake(),
        Arc::new(RedisProbeCache::new(&url).unwrap()),
        false,
    )
    .await;
    let id = a.post("/api/prompt-templates", &template_body()).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/prompt-templates/{id}/ensure-version");
    let first = a.post(&path, &json!({})).await;
    assert_eq!(
        (first.status, first.body["cached"].as_bool()),
        (200, Some(false))
    );
    let second = b.post(&path, &json!({})).await;
    assert_eq!(second.body["cached"], true, "{}", second.body);
    assert_eq!(second.body["version_id"], first.body["version_id"]);

    // Redis unreachable: the probe still works, without the cache, and the failure is counted.
    let down = Arc::new(RedisProbeCache::new("redis://127.0.0.1:1").unwrap());
    let c = app_with(db, fake(), down.clone(), false).await;
    for _ in 0..2 {
        let r = c.post(&path, &json!({})).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["cached"], false);
        assert_eq!(r.body["version_id"], first.body["version_id"]);
    }
    assert!(down.failures() >= 2);
    assert!(!down.healthy());
}

macro_rules! on_both {
    ($($case:ident),+ ; needs_redis: $($redis_case:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() { super::$case(prompter_testkit::fresh_sqlite().await).await; }
            )+
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                #[cfg_attr(not(prompter_redis), ignore = "Redis not configured: set PROMPTER_TEST_REDIS_URL=redis://127.0.0.1:6379")]
                async fn $redis_case() { super::$redis_case(prompter_testkit::fresh_sqlite().await).await; }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                #[cfg_attr(not(prompter_pg), ignore = "PostgreSQL not configured: set PROMPTER_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/postgres")]
                async fn $case() { super::$case(prompter_testkit::fresh_postgres().await).await; }
            )+
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                #[cfg_attr(not(all(prompter_pg, prompter_redis)), ignore = "PostgreSQL or Redis not configured: set PROMPTER_TEST_PG_URL and PROMPTER_TEST_REDIS_URL")]
                async fn $redis_case() { super::$redis_case(prompter_testkit::fresh_postgres().await).await; }
            )+
        }
    };
}

on_both!(
    provider_failure_is_502_and_recorded_without_secrets,
    probe_kill_switch_returns_latest_known_version;
    needs_redis: redis_probe_cache_is_shared_and_optional
);
