//! Batches in the web UI, over real HTTP with the app's own workers: "Run in all countries" on a
//! template's page, the batch's grid and the brand's list, live reloading, retry failed and
//! cancel. Every case runs on SQLite and on PostgreSQL.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use common::batches::{app_with, fake_app, running, settled, slow_fake, start_batch, Guard};
use common::template_fields;
use prompter_providers::{LlmMode, ProviderSettings};
use prompter_service::records::BatchStatus;
use prompter_service::Caller;
use prompter_storage::Database;
use serde_json::json;
use uuid::Uuid;

const PROMPT: &str = "What is {{brand_name}} known for in {{country}}?";

fn refresh_tag(path: &str) -> String {
    format!(r#"<meta http-equiv="refresh" content="2; url={path}">"#)
}

async fn a_batch_from_the_template_page_shows_its_grid(db: Arc<dyn Database>, guard: Guard) {
    let app = fake_app(db, guard).await;
    app.create_brand("acme", "Acme").await;
    let id = app
        .create_template("acme", &template_fields("Coffee question", PROMPT))
        .await;
    let page = app.get(&format!("/brands/acme/templates/{id}")).await;
    page.assert_contains(r#"<h2 id="batch-h">Run in all countries</h2>"#)
        .assert_contains(&format!(r#"action="/brands/acme/templates/{id}/batch""#))
        .assert_contains(
            r#"name="batch_samples" type="number" min="1" max="50" step="1" value="1""#,
        )
        // The brand name defaults to the brand's.
        .assert_contains(r#"name="batch_brand_name" type="text" value="Acme""#)
        .assert_contains("every country of the template (CH, US)");
    // The templates page leads to the brand's batches and schedules.
    app.get("/brands/acme/templates")
        .await
        .assert_contains(r#"href="/brands/acme/batches""#)
        .assert_contains(r#"href="/brands/acme/schedules""#);

    // Bad input: the template page again, the message next to the field, nothing created.
    let batch = format!("/brands/acme/templates/{id}/batch");
    let r = app.post_form(&batch, &[("batch_samples", "0")]).await;
    assert_eq!(r.status, 422);
    r.assert_contains(r#"id="f-batch_samples-error""#)
        .assert_contains("samples must be from 1 to 50")
        .assert_contains(r#"value="0""#);
    let r = app.post_form(&batch, &[("batch_samples", "two")]).await;
    assert_eq!(r.status, 422);
    r.assert_contains("samples must be a whole number from 1 to 50");
    // The prompt needs {{brand_name}}: a blank brand is refused on its field.
    let r = app
        .post_form(&batch, &[("batch_samples", "1"), ("batch_brand_name", " ")])
        .await;
    assert_eq!(r.status, 422);
    r.assert_contains(r#"id="f-batch_brand_name-error""#)
        .assert_contains(&format!("runtime_vars.brand_name template {id}: "))
        .assert_contains("the template uses {{brand_name}} but no value was given");
    let none = app.get("/brands/acme/batches").await;
    none.assert_contains("No batches in Acme yet")
        .assert_lacks("http-equiv=\"refresh\"");

    let fields = [
        ("batch_samples", "2"),
        ("batch_brand_name", "Acme"),
        ("idempotency_key", "ui:test-1"),
    ];
    let batch_id = start_batch(&app, "acme", &id, &fields).await;
    // The same form sent twice (a double click) is one batch.
    assert_eq!(start_batch(&app, "acme", &id, &fields).await, batch_id);
    let done = settled(&app, batch_id).await;
    assert_eq!(done.status, BatchStatus::Succeeded, "{done:?}");
    assert_eq!((done.total_tasks, done.counts.succeeded), (4, 4));

    let here = format!("/brands/acme/batches/{batch_id}");
    let page = app.get(&here).await;
    assert_eq!(page.status, 200);
    page.assert_contains(r#"id="batch-status" data-status="succeeded">Succeeded</span>"#)
        .assert_contains(r#"<th scope="col" class="grid-country">CH</th>"#)
        .assert_contains(r#"<th scope="col" class="grid-country">US</th>"#)
        .assert_contains(&format!(
            r#"<a href="/brands/acme/templates/{id}">Coffee question</a>"#
        ))
        .assert_contains(r#"<dd id="count-succeeded">4</dd>"#)
        .assert_contains("<strong>4</strong> of 4 tasks done")
        .assert_contains(">#1 succeeded</a>")
        .assert_contains(">#2 succeeded</a>")
        // Finished: no reload, nothing to retry or cancel.
        .assert_lacks("http-equiv=\"refresh\"")
        .assert_lacks("Retry failed")
        .assert_lacks(r#"/cancel""#);
    // Each badge links to its result.
    let links: Vec<&str> = page
        .body
        .split(r#"<a class="badge badge-ok" href=""#)
        .skip(1)
        .map(|s| s.split('"').next().unwrap())
        .collect();
    assert_eq!(links.len(), 4, "{links:?}");
    let result = app.get(links[0]).await;
    assert_eq!(result.status, 200);
    result.assert_contains("What is Acme known for in");

    let list = app.get("/brands/acme/batches").await;
    list.assert_contains(&format!(r#"<a href="{here}">"#))
        .assert_contains(r#"data-status="succeeded""#)
        .assert_contains("4/4")
        .assert_contains("by hand")
        .assert_lacks("http-equiv=\"refresh\"");

    // A finished batch cannot be cancelled: the conflict, explained.
    let r = app.post_form(&format!("{here}/cancel"), &[]).await;
    assert_eq!(r.status, 409, "{}", r.body);
    r.assert_contains("This batch is finished (succeeded): it cannot be cancelled any more.")
        .assert_contains(&format!(r#"href="{here}""#));
    // Retrying with nothing failed changes nothing, and says so.
    let r = app.post_and_follow(&format!("{here}/retry"), &[]).await;
    r.assert_contains("No task had failed: there was nothing to retry.");
    // A GET on an action (a reload) shows the batch.
    assert_eq!(
        app.get(&format!("{here}/cancel")).await.location,
        Some(here.clone())
    );

    for path in [
        format!("/brands/acme/batches/{}", Uuid::now_v7()),
        "/brands/acme/batches/not-a-uuid".to_owned(),
    ] {
        let r = app.get(&path).await;
        assert_eq!(r.status, 404, "{path}");
        r.assert_contains("Batch not found");
    }
    // Every new form needs the CSRF token.
    for path in [
        batch.clone(),
        format!("{here}/cancel"),
        format!("{here}/retry"),
        "/brands/acme/schedules".to_owned(),
    ] {
        let r = app
            .send(
                app.client
                    .post(app.url(&path))
                    .form(&[("batch_samples", "1")]),
            )
            .await;
        assert_eq!(r.status, 403, "{path}");
    }
}

async fn a_running_batch_refreshes_and_can_be_cancelled(db: Arc<dyn Database>, guard: Guard) {
    let providers = slow_fake(Duration::from_secs(3));
    let auth = prompter_app::AuthSetting::Off;
    let app = app_with(db, guard, providers, auth, |_| {}).await;
    app.create_brand("acme", "Acme").await;
    let id = app
        .create_template("acme", &template_fields("Slow", PROMPT))
        .await;
    // 2 countries × 15 samples, 10 at once (the default): most wait.
    let fields = [("batch_samples", "15"), ("batch_brand_name", "Acme")];
    let batch_id = start_batch(&app, "acme", &id, &fields).await;
    running(&app, batch_id).await;
    let here = format!("/brands/acme/batches/{batch_id}");
    let page = app.get(&here).await;
    page.assert_contains(&refresh_tag(&here))
        .assert_contains("updates every 2 s until the batch finishes")
        .assert_contains(r#"data-status="running""#)
        .assert_contains(r#"data-status="pending""#)
        .assert_contains(">Cancel</button>")
        .assert_lacks("Retry failed");
    app.get("/brands/acme/batches")
        .await
        .assert_contains(&refresh_tag("/brands/acme/batches"));

    let r = app.post_form(&format!("{here}/cancel"), &[]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location, Some(format!("{here}?done=cancelled")));
    let page = app.get(&format!("{here}?done=cancelled")).await;
    page.assert_contains("Cancelled: tasks that had not started will not run")
        .assert_contains(r#"id="batch-status" data-status="cancelled">Cancelled</span>"#)
        .assert_contains(r#"data-status="cancelled""#)
        .assert_lacks(">Cancel</button>")
        .assert_lacks("http-equiv=\"refresh\"");
    let b = app
        .services
        .get_batch(&Caller::system(), batch_id)
        .await
        .unwrap();
    assert!(b.counts.cancelled >= 20, "{b:?}");
    // A cancelled batch is not retried.
    let r = app.post_form(&format!("{here}/retry"), &[]).await;
    assert_eq!(r.status, 409);
    r.assert_contains("This batch is cancelled: it cannot be retried any more.");
}

/// An OpenAI-shaped server that fails with 500 while `failing` is set.
async fn flaky_openai(failing: Arc<AtomicBool>) -> String {
    async fn chat(
        axum::extract::State(failing): axum::extract::State<Arc<AtomicBool>>,
    ) -> Response {
        if failing.load(Ordering::SeqCst) {
            let body = json!({"error": {"message": "The server had an error while processing your request.",
                                        "type": "server_error", "param": null, "code": null}});
            return (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(body)).into_response();
        }
        axum::Json(json!({
            "id": "chatcmpl-ui", "object": "chat.completion", "created": 1_764_000_000,
            "model": "gpt-4o-2024-08-06", "system_fingerprint": "fp_ui",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Coffee."},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 12, "completion_tokens": 8, "total_tokens": 20}
        }))
        .into_response()
    }
    let app = axum::Router::new()
        .route("/v1/chat/completions", axum::routing::post(chat))
        .with_state(failing);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/v1")
}

async fn failed_cells_show_their_error_and_retry_runs_them(db: Arc<dyn Database>, guard: Guard) {
    let failing = Arc::new(AtomicBool::new(true));
    let mut providers = ProviderSettings::fake_only();
    providers.mode = LlmMode::Live;
    providers.openai_api_key = Some("sk-ui-batches".into());
    providers.openai_base_url = flaky_openai(failing.clone()).await;
    providers.max_retries = 0;
    let auth = prompter_app::AuthSetting::Off;
    let app = app_with(db, guard, providers, auth, |w| {
        w.max_attempts = 1;
        w.lanes.breaker_failures = 100;
    })
    .await;
    app.create_brand("acme", "Acme").await;
    let id = app
        .create_template("acme", &template_fields("Live", PROMPT))
        .await;
    let fields = [("batch_samples", "1"), ("batch_brand_name", "Acme")];
    let batch_id = start_batch(&app, "acme", &id, &fields).await;
    assert_eq!(settled(&app, batch_id).await.status, BatchStatus::Failed);
    let here = format!("/brands/acme/batches/{batch_id}");
    let page = app.get(&here).await;
    page.assert_contains(r#"id="batch-status" data-status="failed">Failed</span>"#)
        .assert_contains(r#"<dd id="count-failed">2</dd>"#)
        .assert_contains(r#"class="grid-cell has-error""#)
        .assert_contains("The server had an error while processing your request.</p>")
        // A single sample per cell: the state alone, linking to the failed attempt's result.
        .assert_contains(">failed</a>")
        .assert_contains(">Retry failed</button>")
        .assert_lacks("sk-ui-batches");
    assert_eq!(page.body.matches("class=\"cell-error\"").count(), 2);

    failing.store(false, Ordering::SeqCst);
    let r = app.post_form(&format!("{here}/retry"), &[]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location, Some(format!("{here}?done=retried")));
    app.get(&format!("{here}?done=retried"))
        .await
        .assert_contains("The failed tasks are queued again.");
    assert_eq!(settled(&app, batch_id).await.status, BatchStatus::Succeeded);
    app.get(&here)
        .await
        .assert_contains(r#"data-status="succeeded">Succeeded</span>"#)
        .assert_contains(r#"<dd id="usage-prompt">24</dd>"#)
        .assert_lacks("has-error")
        .assert_lacks("Retry failed");
}

on_both_backends!(
    a_batch_from_the_template_page_shows_its_grid,
    a_running_batch_refreshes_and_can_be_cancelled,
    failed_cells_show_their_error_and_retry_runs_them,
);
