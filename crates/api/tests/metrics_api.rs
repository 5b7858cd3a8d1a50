//! `/metrics` before and after each action: the deltas and labels the dashboards and alerts rely
//! on. One test function, alone in its binary, because the recorder is process-wide.

mod common;

use std::collections::HashMap;

use common::TestApp;
use serde_json::json;

/// `name{labels}` → value, labels as written by the exporter (sorted for stable keys).
async fn scrape(app: &TestApp) -> HashMap<String, f64> {
    let resp = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let ctype = resp.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ctype.starts_with("text/plain"), "{ctype}");
    prompter_testkit::metrics::parse_exposition(&resp.text().await.unwrap())
}

fn key(name: &str, labels: &[(&str, &str)]) -> String {
    let mut parts: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    parts.push("env=\"dev\"".into());
    parts.push("service=\"prompter-api\"".into());
    parts.sort();
    format!("{name}{{{}}}", parts.join(","))
}

fn delta(before: &HashMap<String, f64>, after: &HashMap<String, f64>, k: &str) -> f64 {
    after.get(k).copied().unwrap_or(0.0) - before.get(k).copied().unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_action_moves_its_metrics() {
    let app = TestApp::start(prompter_testkit::fresh_sqlite().await).await;
    let body = json!({"workspace_id": "ws-metrics", "name": "n", "model_id": "gpt-4o",
                      "user_prompt_template": "What is {{brand_name}} known for?"});

    let s0 = scrape(&app).await;
    let created = app.post("/api/prompt-templates", &body).await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    let s1 = scrape(&app).await;
    let created_key = key(
        "prompter_http_requests_total",
        &[
            ("method", "POST"),
            ("route", "/api/prompt-templates"),
            ("status", "201"),
        ],
    );
    assert_eq!(delta(&s0, &s1, &created_key), 1.0);
    let hist = key(
        "prompter_http_request_duration_seconds_count",
        &[("method", "POST"), ("route", "/api/prompt-templates")],
    );
    assert_eq!(delta(&s0, &s1, &hist), 1.0);
    assert_eq!(
        delta(
            &s0,
            &s1,
            &key(
                "prompter_db_query_duration_seconds_count",
                &[("operation", "create_template")]
            )
        ),
        0.0,
        "the test app uses the bare database; the binary wraps it (see serve_cli tests)"
    );

    app.post("/api/prompt-templates", &body).await;
    let s2 = scrape(&app).await;
    assert_eq!(
        delta(&s1, &s2, &key("prompter_dedup_blocked_total", &[])),
        1.0
    );
    assert_eq!(
        delta(
            &s1,
            &s2,
            &key(
                "prompter_db_unique_violation_total",
                &[("table", "prompt_templates")]
            )
        ),
        1.0
    );
    assert_eq!(
        delta(
            &s1,
            &s2,
            &key(
                "prompter_http_requests_total",
                &[
                    ("method", "POST"),
                    ("route", "/api/prompt-templates"),
                    ("status", "409")
                ]
            )
        ),
        1.0
    );

    app.post(
        &format!("/api/prompt-templates/{id}/ensure-version"),
        &json!({}),
    )
    .await;
    let s3 = scrape(&app).await;
    assert_eq!(
        delta(
            &s2,
            &s3,
            &key(
                "prompter_probe_attempts_total",
                &[("provider", "openai"), ("model", "gpt-4o")]
            )
        ),
        1.0
    );
    assert_eq!(
        delta(
            &s2,
            &s3,
            &key(
                "prompter_provider_requests_total",
                &[
                    ("provider", "openai"),
                    ("model", "gpt-4o"),
                    ("outcome", "success")
                ]
            )
        ),
        1.0
    );
    assert_eq!(
        delta(
            &s2,
            &s3,
            &key(
                "prompter_provider_request_duration_seconds_count",
                &[("provider", "openai")]
            )
        ),
        1.0
    );

    let run = app
        .post(
            &format!("/api/prompt-templates/{id}/run"),
            &json!({"brand_name": "AVEA"}),
        )
        .await;
    assert_eq!(run.status, 200);
    let s4 = scrape(&app).await;
    assert_eq!(
        delta(
            &s3,
            &s4,
            &key(
                "prompter_prompt_results_insert_total",
                &[("status", "succeeded")]
            )
        ),
        1.0
    );
    assert_eq!(
        delta(&s3, &s4, &key("prompter_openai_results_total", &[])),
        1.0
    );
    assert_eq!(
        delta(
            &s3,
            &s4,
            &key("prompter_openai_fingerprint_present_total", &[])
        ),
        1.0
    );
    assert_eq!(
        delta(
            &s3,
            &s4,
            &key(
                "prompter_results_version_key_total",
                &[("validity", "valid")]
            )
        ),
        1.0
    );
    assert_eq!(
        delta(
            &s3,
            &s4,
            &key(
                "prompter_probe_attempts_total",
                &[("provider", "openai"), ("model", "gpt-4o")]
            )
        ),
        1.0,
        "a run's own response is a version capture too"
    );

    let unknown = app.post("/api/prompt-templates",
        &json!({"workspace_id": "ws-metrics", "name": "u", "model_id": "llama3", "user_prompt_template": "Hi"})).await;
    let uid = unknown.body["id"].as_str().unwrap().to_owned();
    app.post(&format!("/api/prompt-templates/{uid}/run"), &json!({}))
        .await;
    let s5 = scrape(&app).await;
    assert_eq!(
        delta(&s4, &s5, &key("prompter_unknown_provider_total", &[])),
        1.0
    );

    app.get("/api/prompt-templates/0191e4a0-0000-7000-8000-000000000000")
        .await;
    app.get("/no/such/route/0191e4a0").await;
    let s6 = scrape(&app).await;
    assert_eq!(
        delta(
            &s5,
            &s6,
            &key(
                "prompter_http_requests_total",
                &[
                    ("method", "GET"),
                    ("route", "/api/prompt-templates/{id}"),
                    ("status", "404")
                ]
            )
        ),
        1.0,
        "routes are path templates, never raw URIs"
    );
    assert_eq!(
        delta(
            &s5,
            &s6,
            &key(
                "prompter_http_requests_total",
                &[("method", "GET"), ("route", "unmatched"), ("status", "404")]
            )
        ),
        1.0
    );
    assert!(
        s6.keys().all(|k| !k.contains("0191e4a0")),
        "no raw ids in labels"
    );
    assert_eq!(
        s6.get(&key(
            "prompter_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        )),
        Some(&1.0)
    );
}
