//! Batches over real HTTP on both backends: create (202, idempotency), progress, tasks, results
//! by batch, bad input named by field, cancel, and other orgs' batches invisible.

mod common;

use std::time::Duration;

use common::TestApp;
use serde_json::{json, Value};

fn template_body(name: &str, prompt: &str, countries: &[&str], model: &str) -> Value {
    json!({
        "workspace_id": "avea",
        "name": name,
        "user_prompt_template": prompt,
        "country_set": countries,
        "model_id": model,
    })
}

async fn create_template(app: &TestApp, body: &Value) -> String {
    let r = app.post("/api/prompt-templates", body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

/// Three templates: CH+US, DE only, no countries.
async fn registry(app: &TestApp) -> (String, String, String) {
    let a = create_template(
        app,
        &template_body(
            "A",
            "Best {{brand}} in {{country}}?",
            &["CH", "US"],
            "gpt-4o",
        ),
    )
    .await;
    let b = create_template(
        app,
        &template_body("B", "Is {{brand}} sold in Germany?", &["DE"], "gpt-4o-mini"),
    )
    .await;
    let c = create_template(
        app,
        &template_body("C", "What is {{brand}}?", &[], "claude-3-5-sonnet-latest"),
    )
    .await;
    (a, b, c)
}

/// Reads the batch until its status is final (at most 20 s).
async fn settled(app: &TestApp, id: &str) -> Value {
    for _ in 0..200 {
        let r = app.get(&format!("/api/batches/{id}")).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let s = r.body["status"].as_str().unwrap();
        if !matches!(s, "queued" | "running") {
            return r.body;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("batch {id} not done after 20 s");
}

async fn a_batch_runs_every_cell_once_and_reports_it(app: TestApp) {
    let (a, b, c) = registry(&app).await;
    let body = json!({"workspace_id": "avea", "countries": ["ch", "US"], "samples": 2,
                      "brand_name": "AVEA", "max_concurrency": 3});
    let resp = app
        .client
        .post(app.url("/api/batches"))
        .header("Idempotency-Key", "nightly-2026-12-02")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 202);
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = resp.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("/api/batches/{id}"));
    // A: CH and US × 2; B: no country in common (skipped); C: no countries, runs once × 2.
    assert_eq!(created["total_tasks"], 6);
    assert_eq!(
        created["skipped"],
        json!([{"template_id": b, "reason": "no_country_in_common"}])
    );
    assert_eq!(created["max_concurrency"], 3);
    assert_eq!(created["idempotency_key"], "nightly-2026-12-02");

    let done = settled(&app, &id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(
        (
            &done["succeeded"],
            &done["failed"],
            &done["pending"],
            &done["running"]
        ),
        (&json!(6), &json!(0), &json!(0), &json!(0))
    );
    assert!(done["usage"]["prompt_tokens"].as_i64().unwrap() > 0);
    assert!(done["usage"]["completion_tokens"].as_i64().unwrap() > 0);
    assert!(done["started_at"].is_string() && done["finished_at"].is_string());

    // Every cell, with its result.
    let tasks = app.get(&format!("/api/batches/{id}/tasks?limit=4")).await;
    assert_eq!(tasks.status, 200);
    assert_eq!(tasks.body["items"].as_array().unwrap().len(), 4);
    let cursor = tasks.body["next_cursor"].as_str().unwrap().to_owned();
    let rest = app
        .get(&format!("/api/batches/{id}/tasks?limit=4&cursor={cursor}"))
        .await;
    let mut cells: Vec<Value> = tasks.body["items"].as_array().unwrap().clone();
    cells.extend(rest.body["items"].as_array().unwrap().iter().cloned());
    assert_eq!(cells.len(), 6);
    assert!(rest.body["next_cursor"].is_null());
    let mut keys: Vec<(String, Value, i64)> = cells
        .iter()
        .map(|t| {
            assert_eq!(t["status"], "succeeded", "{t}");
            assert_eq!(t["attempts"], 1);
            assert!(t["result_id"].is_string());
            (
                t["template_id"].as_str().unwrap().to_owned(),
                t["country"].clone(),
                t["sample_index"].as_i64().unwrap(),
            )
        })
        .collect();
    keys.sort_by(|x, y| format!("{x:?}").cmp(&format!("{y:?}")));
    let mut expected = vec![
        (a.clone(), json!("CH"), 0),
        (a.clone(), json!("CH"), 1),
        (a.clone(), json!("US"), 0),
        (a.clone(), json!("US"), 1),
        (c.clone(), Value::Null, 0),
        (c.clone(), Value::Null, 1),
    ];
    expected.sort_by(|x, y| format!("{x:?}").cmp(&format!("{y:?}")));
    assert_eq!(keys, expected);

    // The results are ordinary results of their template, filterable by batch.
    let results = app
        .get(&format!("/api/prompt-templates/{a}/results?batch_id={id}"))
        .await;
    let items = results.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    for r in items {
        assert_eq!(r["batch_id"], json!(id));
        assert_eq!(r["status"], "succeeded");
        assert!(r["task_id"].is_string() && r["sample_index"].is_i64());
        assert!(r["request"]["rendered_prompt"]
            .as_str()
            .unwrap()
            .contains("AVEA"));
    }
    let one = cells.iter().find(|t| t["template_id"] == json!(a)).unwrap();
    let result = app
        .get(&format!(
            "/api/results/{}",
            one["result_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(result.body["task_id"], one["id"]);
    assert_eq!(result.body["run_country"], one["country"]);

    // The same key again: the same batch, nothing new. Another body: refused.
    let again = app
        .send(
            app.client
                .post(app.url("/api/batches"))
                .header("Idempotency-Key", "nightly-2026-12-02")
                .json(&body),
        )
        .await;
    assert_eq!(again.status, 202);
    assert_eq!(again.body["id"], json!(id));
    let other = app
        .send(
            app.client
                .post(app.url("/api/batches"))
                .header("Idempotency-Key", "nightly-2026-12-02")
                .json(&json!({"workspace_id": "avea", "samples": 3})),
        )
        .await;
    assert_eq!(other.status, 422);
    assert_eq!(other.body["detail"]["code"], "IDEMPOTENCY_KEY_REUSED");

    // Listed newest first, filtered by status; a finished batch cannot be cancelled.
    let listed = app
        .get("/api/batches?workspace_id=avea&status=succeeded")
        .await;
    assert_eq!(listed.body["items"][0]["id"], json!(id));
    let none = app
        .get("/api/batches?workspace_id=avea&status=running")
        .await;
    assert_eq!(none.body["items"], json!([]));
    let cancel = app
        .post(&format!("/api/batches/{id}/cancel"), &Value::Null)
        .await;
    assert_eq!(cancel.status, 409, "{}", cancel.body);
    assert_eq!(cancel.body["detail"]["code"], "BATCH_CLOSED");
    let retry = app
        .post(&format!("/api/batches/{id}/retry-failed"), &Value::Null)
        .await;
    assert_eq!(retry.status, 200, "nothing failed: nothing to do");
    assert_eq!(retry.body["status"], "succeeded");
}

async fn bad_input_is_named_by_field(app: TestApp) {
    let (a, _, _) = registry(&app).await;
    let other_ws = create_template(
        &app,
        &json!({"workspace_id": "elsewhere", "name": "X", "user_prompt_template": "Hi",
                "model_id": "gpt-4o"}),
    )
    .await;
    let vars = create_template(
        &app,
        &template_body(
            "V",
            "Price of {{product}} in {{country}}",
            &["CH"],
            "gpt-4o",
        ),
    )
    .await;
    let unknown = "01900000-0000-7000-8000-000000000000";
    let cases: Vec<(Value, &str, &str)> = vec![
        (json!({"workspace_id": "avea", "samples": 0}), "samples", ""),
        (
            json!({"workspace_id": "avea", "samples": 51}),
            "samples",
            "",
        ),
        (
            json!({"workspace_id": "avea", "template_ids": [a, unknown, "not-a-uuid"]}),
            "template_ids",
            unknown,
        ),
        (
            json!({"workspace_id": "avea", "template_ids": [other_ws]}),
            "template_ids",
            other_ws.as_str(),
        ),
        (
            json!({"workspace_id": "avea", "template_ids": []}),
            "template_ids",
            "",
        ),
        (
            json!({"workspace_id": "avea", "countries": ["CH", "XX"]}),
            "countries[1]",
            "XX",
        ),
        (
            json!({"workspace_id": "avea", "template_ids": [a], "countries": ["JP"]}),
            "countries",
            "no task",
        ),
        (
            json!({"workspace_id": "avea", "template_ids": [vars]}),
            "runtime_vars.product",
            vars.as_str(),
        ),
        (
            json!({"workspace_id": "avea", "max_concurrency": 0}),
            "max_concurrency",
            "",
        ),
        (
            json!({"workspace_id": "avea", "token_budget": 0}),
            "token_budget",
            "",
        ),
        (json!({"workspace_id": ""}), "workspace_id", ""),
        (json!({"workspace_id": "avea", "sample": 2}), "sample", ""),
        (
            json!({"workspace_id": "avea", "samples": "2"}),
            "samples",
            "",
        ),
    ];
    for (body, field, mentions) in cases {
        let r = app.post("/api/batches", &body).await;
        assert_eq!(r.status, 422, "{body}: {}", r.body);
        assert_eq!(r.body["detail"]["field"], field, "{body}: {}", r.body);
        let message = r.body["detail"]["message"].as_str().unwrap();
        assert!(message.contains(mentions), "{body}: {message}");
    }
    // Schedules key their batches `schedule:{id}:{slot}`: a client may not take such a key.
    let reserved = app
        .send(
            app.client
                .post(app.url("/api/batches"))
                .header("Idempotency-Key", "schedule:0190:2026-12-04T06:00:00Z")
                .json(&json!({"workspace_id": "avea"})),
        )
        .await;
    assert_eq!(reserved.status, 422, "{}", reserved.body);
    assert_eq!(reserved.body["detail"]["field"], "Idempotency-Key");
    // Nothing was written by any of them.
    let listed = app.get("/api/batches").await;
    assert_eq!(listed.body["items"], json!([]));

    for (path, code) in [
        (
            "/api/batches/01900000-0000-7000-8000-000000000000",
            "BATCH_NOT_FOUND",
        ),
        ("/api/batches/nope", "BATCH_NOT_FOUND"),
        ("/api/batches/nope/tasks", "BATCH_NOT_FOUND"),
    ] {
        let r = app.get(path).await;
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.body["detail"]["code"], code);
    }
    let r = app.get("/api/batches?status=done").await;
    assert_eq!(r.status, 422);
    assert_eq!(r.body["detail"]["field"], "status");
    let r = app
        .get(&format!("/api/prompt-templates/{a}/results?batch_id=x"))
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.body["detail"]["field"], "batch_id");
}

async fn another_orgs_batch_is_not_found(app: TestApp) {
    create_template(
        &app,
        &json!({"org_id": "acme", "workspace_id": "w", "name": "T",
                "user_prompt_template": "Hi", "model_id": "gpt-4o"}),
    )
    .await;
    let created = app
        .post(
            "/api/batches",
            &json!({"org_id": "acme", "workspace_id": "w"}),
        )
        .await;
    assert_eq!(created.status, 202, "{}", created.body);
    let id = created.body["id"].as_str().unwrap();
    // Auth is off here: the org is named per request; the default org does not list acme's.
    assert_eq!(app.get("/api/batches").await.body["items"], json!([]));
    let acme = app.get("/api/batches?org_id=acme").await;
    assert_eq!(acme.body["items"][0]["id"], json!(id));
    settled(&app, id).await;
}

on_both_backends!(
    a_batch_runs_every_cell_once_and_reports_it,
    bad_input_is_named_by_field,
    another_orgs_batch_is_not_found,
);
