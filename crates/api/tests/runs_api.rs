//! Versions and runs over HTTP, with the built-in fake provider (and a failing fixture
//! provider), on SQLite and PostgreSQL.

mod common;

use std::sync::Arc;

use common::TestApp;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

on_both_backends!(
    ensure_version_records_then_caches_for_the_hour,
    ensure_version_per_provider_and_model,
    ensure_version_refuses_bad_requests,
    parallel_ensure_version_calls_end_in_one_row,
    run_end_to_end_records_the_audit_trail,
    run_refuses_bad_requests,
    idempotency_key_replays_without_a_second_call,
    grounded_runs_record_citations_and_the_country_delivery,
);

async fn create(app: &TestApp, body: Value) -> String {
    let r = app.post("/api/prompt-templates", &body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

fn brand_template() -> Value {
    json!({
        "workspace_id": "workspace-avea-001",
        "name": "AVEA Brand Analysis",
        "system_instructions": "Be concise and accurate",
        "user_prompt_template": "What is {{brand_name}} known for in {{country}}?",
        "country_set": ["CH", "US"],
        "model_id": "gpt-4o",
        "inference_params": {"temperature": 0.7, "max_tokens": 1000}
    })
}

async fn ensure_version_records_then_caches_for_the_hour(app: TestApp) {
    let id = create(&app, brand_template()).await;
    let path = format!("/api/prompt-templates/{id}/ensure-version");
    let first = app.send(app.client.post(app.url(&path))).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let v = &first.body;
    for field in [
        "version_id",
        "workspace_id",
        "provider",
        "provider_version_key",
        "model_id",
        "captured_at",
        "first_seen_at",
        "last_seen_at",
    ] {
        assert!(!v[field].is_null(), "missing {field}: {v}");
    }
    assert_eq!(v["provider"], "openai");
    assert_eq!(v["workspace_id"], "workspace-avea-001");
    assert!(
        v["provider_version_key"]
            .as_str()
            .unwrap()
            .starts_with("fp_"),
        "{v}"
    );
    assert_eq!(
        (
            v["created"].as_bool(),
            v["cached"].as_bool(),
            v["is_fake"].as_bool()
        ),
        (Some(true), Some(false), Some(true))
    );

    let cached = app.post(&path, &json!({})).await;
    assert_eq!(cached.body["cached"], true);
    assert_eq!(cached.body["version_id"], v["version_id"]);

    let forced = app.post(&format!("{path}?force=true"), &json!({})).await;
    assert_eq!(
        (
            forced.body["cached"].as_bool(),
            forced.body["created"].as_bool()
        ),
        (Some(false), Some(false))
    );
    assert_eq!(forced.body["version_id"], v["version_id"]);
    assert!(forced.body["last_seen_at"].as_str() > v["last_seen_at"].as_str());
    assert_eq!(forced.body["first_seen_at"], v["first_seen_at"]);

    let versions = app
        .get(&format!("/api/prompt-templates/{id}/versions"))
        .await;
    assert_eq!(versions.body["items"].as_array().unwrap().len(), 1);
}

async fn ensure_version_per_provider_and_model(app: TestApp) {
    let id = create(&app, brand_template()).await;
    let path = format!("/api/prompt-templates/{id}/ensure-version");
    let gemini = app
        .post(
            &path,
            &json!({"provider": "google", "model_id": "gemini-2.0-flash"}),
        )
        .await;
    assert_eq!(gemini.status, 200, "{}", gemini.body);
    assert_eq!(gemini.body["provider"], "google");
    assert_eq!(gemini.body["provider_version_key"], "gemini-2.0-flash-001");
    let claude = app
        .post(&path, &json!({"model_id": "claude-3-opus-20240229"}))
        .await;
    assert_eq!(claude.body["provider"], "anthropic");
    assert_eq!(
        claude.body["provider_version_key"],
        "claude-3-opus-20240229"
    );
    for model in ["o3", "omni-vision"] {
        let r = app.post(&path, &json!({"model_id": model})).await;
        assert_eq!(r.body["provider"], "openai", "{model}");
    }
    let versions = app
        .get(&format!("/api/prompt-templates/{id}/versions"))
        .await;
    assert_eq!(versions.body["items"].as_array().unwrap().len(), 4);
}

async fn ensure_version_refuses_bad_requests(app: TestApp) {
    let id = create(&app, brand_template()).await;
    let path = format!("/api/prompt-templates/{id}/ensure-version");
    let r = app.post(&path, &json!({"org_id": "another-org"})).await;
    assert_eq!(
        (r.status, r.body["detail"]["field"].as_str()),
        (422, Some("org_id"))
    );
    let r = app
        .post(&path, &json!({"workspace_id": "another-brand"}))
        .await;
    assert_eq!(
        (r.status, r.body["detail"]["field"].as_str()),
        (422, Some("workspace_id"))
    );
    let r = app.post(&path, &json!({"model_id": "llama3-70b"})).await;
    assert_eq!(
        (r.status, r.body["detail"]["code"].as_str()),
        (422, Some("UNKNOWN_PROVIDER"))
    );
    assert!(r.body["detail"]["message"]
        .as_str()
        .unwrap()
        .contains("\"provider\""));
    let r = app.post(&path, &json!([1])).await;
    assert_eq!(r.status, 422);
    let r = app
        .post(
            "/api/prompt-templates/0191e4a0-0000-7000-8000-000000000000/ensure-version",
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(
        app.get("/api/prompt-templates/nope/versions").await.status,
        404
    );
}

async fn parallel_ensure_version_calls_end_in_one_row(app: TestApp) {
    let id = create(&app, brand_template()).await;
    let app = Arc::new(app);
    let calls = (0..10).map(|_| {
        let app = app.clone();
        let path = format!("/api/prompt-templates/{id}/ensure-version?force=true");
        tokio::spawn(async move { app.post(&path, &json!({})).await })
    });
    let replies: Vec<_> = futures::future::join_all(calls)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    assert!(replies.iter().all(|r| r.status == 200));
    let ids: std::collections::HashSet<_> = replies
        .iter()
        .map(|r| r.body["version_id"].to_string())
        .collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(
        replies.iter().filter(|r| r.body["created"] == true).count(),
        1
    );
    let versions = app
        .get(&format!("/api/prompt-templates/{id}/versions"))
        .await;
    assert_eq!(versions.body["items"].as_array().unwrap().len(), 1);
}

async fn run_end_to_end_records_the_audit_trail(app: TestApp) {
    let id = create(&app, brand_template()).await;
    let probe = app
        .post(
            &format!("/api/prompt-templates/{id}/ensure-version"),
            &json!({}),
        )
        .await;
    let run = app
        .post(
            &format!("/api/prompt-templates/{id}/run"),
            &json!({"country": "ch", "brand_name": "AVEA", "analysis_scope": "brand+products"}),
        )
        .await;
    assert_eq!(run.status, 200, "{}", run.body);
    let out = &run.body;
    assert_eq!(
        out["provider_version_key"], probe.body["provider_version_key"],
        "run and probe agree"
    );
    assert_eq!(out["version_id"], probe.body["version_id"]);
    assert!(out["system_fingerprint"]
        .as_str()
        .unwrap()
        .starts_with("fp_"));
    assert_eq!(out["used_grounding"], false);
    assert!(!out["content"].as_str().unwrap().is_empty());
    assert_eq!(out["is_fake"], true);

    let stored = app
        .get(&format!(
            "/api/results/{}",
            out["result_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(stored.status, 200);
    let r = &stored.body;
    let prompt = "What is AVEA known for in CH?";
    assert_eq!(r["request"]["rendered_prompt"], prompt);
    assert_eq!(r["request"]["country"], "CH");
    assert_eq!(r["request"]["brand_name"], "AVEA");
    assert_eq!(
        r["rendered_prompt_hash"],
        hex::encode(Sha256::digest(prompt.as_bytes()))
    );
    assert_eq!(r["run_country"], "CH");
    assert_eq!(r["analysis_config"]["scope"], "brand+products");
    // The workspace has no entities: nothing was checked (nothing analysed).
    assert_eq!(r["analysis_config"]["alias_snapshot_id"], Value::Null);
    assert_eq!(r["analysis_config"]["entities_checked"], json!([]));
    assert_eq!(
        r["analysis_config"]["matching_rules"]["normalisation"],
        "NFKC + case folding"
    );
    assert_eq!(r["analysis"], Value::Null);
    assert!(r["analysis_config"]["timestamp"].is_string());
    assert!(
        r["response"]["choices"].is_array(),
        "full provider response kept: {}",
        r["response"]
    );
    // The answer is a field of its own; the response is exactly the provider's body.
    assert_eq!(r["answer"], out["content"]);
    assert!(
        r["response"].get("_prompter_content").is_none(),
        "{}",
        r["response"]
    );
    assert_eq!(r["status"], "succeeded");
    assert_eq!(r["is_fake"], true);
    assert!(r["usage"].is_object());

    let grounded = app
        .post(
            &format!("/api/prompt-templates/{id}/run"),
            &json!({"country": "US", "brand_name": "AVEA", "use_grounding": true}),
        )
        .await;
    assert_eq!(grounded.body["used_grounding"], true, "{}", grounded.body);

    let given = app
        .post(
            &format!("/api/prompt-templates/{id}/run"),
            &json!({"country": "US", "rendered_prompt": "Exactly this prompt"}),
        )
        .await;
    let given_id = given.body["result_id"].as_str().unwrap();
    let given_stored = app.get(&format!("/api/results/{given_id}")).await;
    assert_eq!(
        given_stored.body["request"]["rendered_prompt"],
        "Exactly this prompt"
    );

    let results = app
        .get(&format!("/api/prompt-templates/{id}/results?limit=2"))
        .await;
    assert_eq!(results.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        results.body["items"][0]["result_id"].as_str(),
        Some(given_id),
        "newest first"
    );
    let cursor = results.body["next_cursor"].as_str().unwrap();
    let rest = app
        .get(&format!(
            "/api/prompt-templates/{id}/results?limit=2&cursor={cursor}"
        ))
        .await;
    assert_eq!(rest.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(rest.body["next_cursor"], Value::Null);
    assert_eq!(app.get("/api/results/not-a-uuid").await.status, 404);
}

async fn run_refuses_bad_requests(app: TestApp) {
    let id = create(&app, brand_template()).await;
    let run = format!("/api/prompt-templates/{id}/run");
    for (body, field) in [
        (json!({"country": "DE", "brand_name": "AVEA"}), "country"),
        (json!({"brand_name": "AVEA"}), "country"),
        (json!({"country": "XX"}), "country"),
        (json!({"country": "CH"}), "runtime_vars.brand_name"),
        (json!({"country": "CH", "brand_name": 5}), "brand_name"),
        (
            json!({"country": "CH", "brand_name": "A", "use_grounding": "yes"}),
            "use_grounding",
        ),
        (
            json!({"country": "CH", "brand_name": "A", "runtime_vars": {"x": [1]}}),
            "runtime_vars.x",
        ),
        (
            json!({"country": "CH", "rendered_prompt": "  "}),
            "rendered_prompt",
        ),
    ] {
        let r = app.post(&run, &body).await;
        assert_eq!(
            (r.status, r.body["detail"]["field"].as_str()),
            (422, Some(field)),
            "{body}"
        );
    }
    let unknown = create(&app, json!({"workspace_id": "w", "name": "n", "model_id": "llama3", "user_prompt_template": "Hi"})).await;
    let r = app
        .post(&format!("/api/prompt-templates/{unknown}/run"), &json!({}))
        .await;
    assert_eq!(
        (r.status, r.body["detail"]["code"].as_str()),
        (422, Some("UNKNOWN_PROVIDER"))
    );
    app.delete(&format!("/api/prompt-templates/{id}")).await;
    let r = app
        .post(&run, &json!({"country": "CH", "brand_name": "A"}))
        .await;
    assert_eq!(
        (r.status, r.body["detail"]["code"].as_str()),
        (409, Some("TEMPLATE_DELETED"))
    );
    assert_eq!(
        app.get(&format!("/api/prompt-templates/{id}/results"))
            .await
            .body["items"],
        json!([])
    );
}

async fn idempotency_key_replays_without_a_second_call(app: TestApp) {
    let id = create(&app, brand_template()).await;
    let url = app.url(&format!("/api/prompt-templates/{id}/run"));
    let body = json!({"country": "CH", "brand_name": "AVEA"});
    let send = |b: &Value, key: &str| app.client.post(&url).header("Idempotency-Key", key).json(b);
    let first = app.send(send(&body, "run-1")).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body["idempotent_replay"], false);
    let again = app.send(send(&body, "run-1")).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body["result_id"], first.body["result_id"]);
    assert_eq!(again.body["content"], first.body["content"]);
    assert_eq!(again.body["idempotent_replay"], true);
    let other = app
        .send(send(
            &json!({"country": "US", "brand_name": "AVEA"}),
            "run-1",
        ))
        .await;
    assert_eq!(
        (other.status, other.body["detail"]["code"].as_str()),
        (422, Some("IDEMPOTENCY_KEY_REUSED"))
    );
    let results = app
        .get(&format!("/api/prompt-templates/{id}/results"))
        .await;
    assert_eq!(results.body["items"].as_array().unwrap().len(), 1);
}

/// A grounded OpenAI run (the fake speaks the Responses API for gpt-4o): citations, stop reason
/// and how the country reached the search are in the run answer and the stored result, and a
/// grounded probe reports the run's version key.
async fn grounded_runs_record_citations_and_the_country_delivery(app: TestApp) {
    let id = create(&app, brand_template()).await;
    let run = app
        .post(
            &format!("/api/prompt-templates/{id}/run"),
            &json!({"country": "CH", "brand_name": "AVEA", "use_grounding": true}),
        )
        .await;
    assert_eq!(run.status, 200, "{}", run.body);
    let out = &run.body;
    assert_eq!(out["used_grounding"], true);
    assert_eq!(out["finish_reason"], "completed");
    assert_eq!(out["truncated"], false);
    assert_eq!(out["citations"][0]["domain"], "example.com", "{out}");
    assert!(out["content"].as_str().unwrap().contains("localised to CH"));
    assert_eq!(
        out["system_fingerprint"],
        Value::Null,
        "the Responses API has none"
    );

    let stored = app
        .get(&format!(
            "/api/results/{}",
            out["result_id"].as_str().unwrap()
        ))
        .await;
    let r = &stored.body;
    assert_eq!(r["citations"], out["citations"]);
    assert_eq!(r["request"]["country_delivery"], "search_user_location");
    assert_eq!(
        r["request"]["provider_request"]["tools"][0]["type"],
        "web_search"
    );
    assert_eq!(r["response"]["object"], "response");

    let probe = app
        .post(
            &format!("/api/prompt-templates/{id}/ensure-version"),
            &json!({"use_grounding": true}),
        )
        .await;
    assert_eq!(probe.status, 200, "{}", probe.body);
    assert_eq!(
        probe.body["provider_version_key"],
        out["provider_version_key"]
    );
    assert_eq!(probe.body["version_id"], out["version_id"]);
    // The ungrounded probe asks Chat Completions (a fingerprint) and is cached apart.
    let plain = app
        .post(
            &format!("/api/prompt-templates/{id}/ensure-version"),
            &json!({}),
        )
        .await;
    assert!(plain.body["provider_version_key"]
        .as_str()
        .unwrap()
        .starts_with("fp_"));
}
