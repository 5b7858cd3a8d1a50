//! The web UI over real HTTP, merged with the API as the binary will serve it: pages, forms,
//! CSRF, duplicates, delete/restore, runs, the chart and the timeline.

mod common;

use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use common::{esc, services_with, template_fields, UiApp};
use prompter_providers::ProviderSettings;
use prompter_testkit::TestDb;
use serde_json::{json, Value};

const PROMPT: &str = "What is {{brand_name}} known for in {{country}}?";

#[tokio::test]
async fn brands_page_creates_and_picks_a_brand() {
    let app = UiApp::start().await;
    let home = app.get("/").await;
    assert_eq!(home.status, 200);
    home.assert_contains("<h1>Brands</h1>")
        .assert_contains("No brands yet")
        .assert_contains("Skip to content")
        .assert_contains(r#"<label for="f-name">Name</label>"#);
    let cookie = home.headers.get("set-cookie").unwrap().to_str().unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(home.headers.get("content-security-policy").is_some());
    home.assert_contains(&format!(r#"name="csrf_token" value="{}""#, app.token()));

    app.create_brand("acme", "Acme Coffee").await;
    let list = app.get("/brands/acme/templates").await;
    assert_eq!(list.status, 200);
    list.assert_contains("templates of <strong>Acme Coffee</strong>")
        .assert_contains("No templates in Acme Coffee yet")
        // The header's brand picker names the current brand.
        .assert_contains(r#"<span class="picker-value">Acme Coffee</span>"#);
    assert_eq!(
        app.get("/brands/acme").await.location.as_deref(),
        Some("/brands/acme/templates")
    );

    // The same id again: 409 with the message next to the field.
    let again = app
        .post_form("/brands", &[("name", "Other"), ("id", "acme")])
        .await;
    assert_eq!(again.status, 409);
    again.assert_contains("workspace acme already exists");
    // Invalid input: 422 naming the fields.
    let bad = app
        .post_form("/brands", &[("name", "  "), ("id", "a b")])
        .await;
    assert_eq!(bad.status, 422);
    bad.assert_contains("must not be empty")
        .assert_contains("may only contain letters, digits and . _ : -")
        .assert_contains(r#"aria-invalid="true""#);
    // Without an id one is generated.
    let r = app
        .post_form("/brands", &[("name", "Generated"), ("id", "")])
        .await;
    assert_eq!(r.status, 303);
    assert!(r.location.unwrap().starts_with("/brands/"));
    app.get("/")
        .await
        .assert_contains("Acme Coffee")
        .assert_contains("Generated");
}

#[tokio::test]
async fn every_post_needs_the_csrf_token() {
    let app = UiApp::start().await;
    app.create_brand("acme", "Acme").await;
    let id = app
        .create_template("acme", &template_fields("T", PROMPT))
        .await;
    let token = app.token();
    let posts = [
        "/brands".to_owned(),
        "/brands/acme/templates".to_owned(),
        format!("/brands/acme/templates/{id}/delete"),
        format!("/brands/acme/templates/{id}/restore"),
        format!("/brands/acme/templates/{id}/run"),
    ];
    for path in &posts {
        // No cookie, no field.
        let r = app
            .send_bare(app.client.post(app.url(path)).form(&[("name", "x")]))
            .await;
        assert_eq!(r.status, 403, "{path}");
        r.assert_contains("Request refused");
        // The cookie but no field.
        let r = app
            .send(app.client.post(app.url(path)).form(&[("name", "x")]))
            .await;
        assert_eq!(r.status, 403, "{path}");
        // The field but another cookie.
        let r = app
            .send_bare(
                app.client
                    .post(app.url(path))
                    .header("cookie", format!("prompter_csrf={}", "a".repeat(64)))
                    .form(&[("csrf_token", token.as_str())]),
            )
            .await;
        assert_eq!(r.status, 403, "{path}");
        r.assert_contains("did not match");
        // A field but no cookie at all.
        let r = app
            .send_bare(
                app.client
                    .post(app.url(path))
                    .form(&[("csrf_token", token.as_str())]),
            )
            .await;
        assert_eq!(r.status, 403, "{path}");
        // Not a form (JSON with the cookie).
        let r = app
            .send(
                app.client
                    .post(app.url(path))
                    .json(&json!({"csrf_token": token})),
            )
            .await;
        assert_eq!(r.status, 403, "{path}");
    }
    // Nothing happened: the template is still active and has no results.
    let t = app.get(&format!("/brands/acme/templates/{id}")).await;
    t.assert_lacks("badge-deleted")
        .assert_contains("No results yet");
}

#[tokio::test]
async fn create_form_shows_the_apis_messages_next_to_fields() {
    let app = UiApp::start().await;
    app.create_brand("acme", "Acme").await;
    let form = app.get("/brands/acme/templates/new").await;
    assert_eq!(form.status, 200);
    for field in [
        "name",
        "model_id",
        "provider",
        "country_set",
        "system_instructions",
        "user_prompt_template",
        "inference_params",
        "tools_spec",
        "response_format",
        "retrieval_params",
        "grounding_profile_id",
        "grounding_snapshot_id",
    ] {
        form.assert_contains(&format!(r#"<label for="f-{field}">"#))
            .assert_contains(&format!(r#"name="{field}""#));
    }
    form.assert_contains(r#"data-check-url="/brands/acme/check-duplicate""#);

    // A bad country: the very message the API gives for the same body.
    let mut fields = template_fields("T", PROMPT);
    fields[3] = ("country_set", "US, XX");
    let r = app.post_form("/brands/acme/templates", &fields).await;
    assert_eq!(r.status, 422);
    let (status, api) = app
        .api_post(
            "/api/prompt-templates",
            &json!({"workspace_id": "acme", "name": "T", "model_id": "gpt-4o",
                    "country_set": ["US", "XX"], "user_prompt_template": PROMPT}),
        )
        .await;
    assert_eq!(status, 422);
    let message = api["detail"]["message"].as_str().unwrap();
    assert_eq!(
        message,
        r#"country_set[1] "XX" is not an ISO 3166-1 alpha-2 country code"#
    );
    r.assert_contains(r#"id="f-country_set-error">"#)
        .assert_contains(&esc(message))
        .assert_contains("One field needs attention")
        // What was typed is kept.
        .assert_contains(r#"value="US, XX""#);

    // JSON fields: parse errors and wrong shapes, on their own field.
    let mut fields = template_fields("T", PROMPT);
    fields[6] = ("inference_params", "{temperature: 1}");
    let r = app.post_form("/brands/acme/templates", &fields).await;
    assert_eq!(r.status, 422);
    r.assert_contains("inference_params is not valid JSON");
    let mut fields = template_fields("T", PROMPT);
    fields[7] = ("tools_spec", "{}");
    let r = app.post_form("/brands/acme/templates", &fields).await;
    assert_eq!(r.status, 422);
    r.assert_contains("tools_spec must be a JSON array")
        // The advanced section opens to show it.
        .assert_contains(r#"<details class="advanced" open>"#);
    // A missing prompt and model.
    let mut fields = template_fields("T", "");
    fields[1] = ("model_id", "");
    let r = app.post_form("/brands/acme/templates", &fields).await;
    assert_eq!(r.status, 422);
    r.assert_contains("user_prompt_template is required");
    // Nothing was created.
    app.get("/brands/acme/templates")
        .await
        .assert_contains("No templates in Acme yet");
}

#[tokio::test]
async fn template_page_shows_configuration_hash_and_canonical_json() {
    let app = UiApp::start().await;
    app.create_brand("acme", "Acme").await;
    let id = app
        .create_template("acme", &template_fields("Coffee question", PROMPT))
        .await;
    // The same configuration through the API: same hash, so the same identity.
    let (_, check) = app
        .api_post(
            "/api/prompt-templates/check-duplicate",
            &json!({"workspace_id": "acme", "model_id": "gpt-4o", "country_set": ["US", "CH"],
                    "system_instructions": "Be concise.", "user_prompt_template": PROMPT,
                    "inference_params": {"temperature": 0.7}}),
        )
        .await;
    assert_eq!(check["exact_match"], true, "{check}");
    assert_eq!(check["template_id"], id.as_str());
    let page = app.get(&format!("/brands/acme/templates/{id}")).await;
    assert_eq!(page.status, 200);
    page.assert_contains("<h1>Coffee question")
        .assert_contains(check["config_hash"].as_str().unwrap())
        .assert_contains(r#"id="canonical-json""#)
        .assert_contains(&esc(r#""country_set":["CH","US"]"#))
        .assert_contains("No results yet")
        .assert_contains("No version seen yet")
        // The run form offers the template's countries.
        .assert_contains(r#"<option value="CH">CH</option>"#)
        .assert_contains(r#"<option value="US">US</option>"#);
    // Copy as new: the form comes pre-filled.
    let copy = app
        .get(&format!("/brands/acme/templates/new?from={id}"))
        .await;
    copy.assert_contains("Coffee question (copy)")
        .assert_contains(r#"value="US, CH""#);
}

#[tokio::test]
async fn a_duplicate_shows_the_warning_with_a_link() {
    let app = UiApp::start().await;
    app.create_brand("acme", "Acme").await;
    let first = app
        .create_template("acme", &template_fields("Original", PROMPT))
        .await;
    // The same configuration under another name (and different spacing of countries).
    let mut fields = template_fields("Another name", PROMPT);
    fields[3] = ("country_set", "ch,us");
    let r = app.post_form("/brands/acme/templates", &fields).await;
    assert_eq!(r.status, 409);
    r.assert_contains("An identical configuration already exists")
        .assert_contains(&format!(
            r#"href="/brands/acme/templates/{first}">Original</a>"#
        ))
        .assert_lacks(
            r#"id="dup-warning" class="alert alert-warn" role="status" aria-live="polite" hidden"#,
        )
        .assert_contains(r#"value="Another name""#);
    // Without a duplicate the box is there for the script, hidden.
    app.get("/brands/acme/templates/new").await.assert_contains(
        r#"id="dup-warning" class="alert alert-warn" role="status" aria-live="polite" hidden"#,
    );
    // The API's duplicate check (what the script calls) agrees.
    let (_, check) = app
        .api_post(
            "/api/prompt-templates/check-duplicate",
            &json!({"org_id": "default", "workspace_id": "acme", "model_id": "gpt-4o",
                    "country_set": ["ch", "us"], "system_instructions": "Be concise.",
                    "user_prompt_template": PROMPT, "inference_params": {"temperature": 0.7}}),
        )
        .await;
    assert_eq!(check["template_name"], "Original");
}

#[tokio::test]
async fn delete_and_restore() {
    let app = UiApp::start().await;
    app.create_brand("acme", "Acme").await;
    let id = app
        .create_template("acme", &template_fields("Doomed", PROMPT))
        .await;
    let list = app.get("/brands/acme/templates").await;
    list.assert_contains("Doomed").assert_contains("badge-ok");

    let r = app
        .post_form(
            &format!("/brands/acme/templates/{id}/delete"),
            &[("next", "/brands/acme/templates")],
        )
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(r.location.as_deref(), Some("/brands/acme/templates"));
    app.get("/brands/acme/templates")
        .await
        .assert_lacks("Doomed");
    let with_deleted = app.get("/brands/acme/templates?deleted=1").await;
    with_deleted
        .assert_contains("Doomed")
        .assert_contains("badge-deleted")
        .assert_contains(&format!("/brands/acme/templates/{id}/restore"));
    // The page stays readable and says why it cannot run.
    app.get(&format!("/brands/acme/templates/{id}"))
        .await
        .assert_contains("This template was deleted")
        .assert_contains("Restore this template to run it");

    // The configuration is free again: a twin can be created; then restore is refused (409).
    let twin = app
        .create_template("acme", &template_fields("Twin", PROMPT))
        .await;
    let r = app
        .post_form(
            &format!("/brands/acme/templates/{id}/restore"),
            &[("next", "")],
        )
        .await;
    assert_eq!(r.status, 409);
    r.assert_contains("cannot be restored")
        .assert_contains(&format!("/brands/acme/templates/{twin}"));
    // Delete the twin, then restore works and goes back to the template (an off-site `next` is
    // ignored).
    app.post_form(&format!("/brands/acme/templates/{twin}/delete"), &[])
        .await;
    let r = app
        .post_form(
            &format!("/brands/acme/templates/{id}/restore"),
            &[("next", "https://example.com/")],
        )
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(r.location, Some(format!("/brands/acme/templates/{id}")));
    app.get("/brands/acme/templates")
        .await
        .assert_contains("Doomed")
        .assert_lacks("Twin");
}

#[tokio::test]
async fn run_shows_the_answer_version_chart_and_result() {
    let app = UiApp::start().await;
    app.create_brand("acme", "Acme").await;
    let id = app
        .create_template("acme", &template_fields("Runner", PROMPT))
        .await;
    let page = app.get(&format!("/brands/acme/templates/{id}")).await;
    page.assert_contains(r#"value="Acme""#); // brand name defaults to the brand's

    let r = app
        .post_form(
            &format!("/brands/acme/templates/{id}/run"),
            &[
                ("country", "US"),
                ("brand_name", "Acme"),
                ("runtime_vars", ""),
                ("use_grounding", "on"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let location = r.location.unwrap();
    assert!(
        location.contains("?ran=") && location.ends_with("#run-result"),
        "{location}"
    );
    let page = app.get(location.split('#').next().unwrap()).await;
    assert_eq!(page.status, 200);

    // The answer and the version it came from.
    let results = app
        .client
        .get(app.url(&format!("/api/prompt-templates/{id}/results")))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let result = &results["items"][0];
    let key = result["provider_version_key"].as_str().unwrap();
    let content = result["answer"].as_str().unwrap();
    assert!(!content.is_empty());
    assert!(
        result["response"].get("_prompter_content").is_none(),
        "the stored response is the provider's body, nothing added: {}",
        result["response"]
    );
    page.assert_contains(r#"id="run-result""#)
        .assert_contains(&esc(content))
        .assert_contains(key)
        .assert_contains(r#"<span class="badge badge-fake""#)
        // The chart: inline SVG with an accessible title and a bar for the run.
        .assert_contains(r#"<svg class="chart-svg""#)
        .assert_contains(r#"<title id="chart-title">Results per day by version key</title>"#)
        .assert_contains(&format!("1 result with {key}"))
        // The timeline and the results table.
        .assert_contains(r#"tl-key">"#)
        .assert_contains("Latest")
        .assert_contains(r#"<td data-label="Country">US</td>"#);

    // The result page: request, response and analysis config, pretty-printed.
    let result_id = result["result_id"].as_str().unwrap();
    let detail = app.get(&format!("/brands/acme/results/{result_id}")).await;
    assert_eq!(detail.status, 200);
    detail
        .assert_contains("What is Acme known for in US?")
        .assert_contains(&esc("\"alias_snapshot_id\": null"))
        .assert_contains(&esc("\"provider_request\": {"))
        .assert_contains(key);
    // A GET on the run address (a reload) leads to the template page.
    assert_eq!(
        app.get(&format!("/brands/acme/templates/{id}/run"))
            .await
            .location,
        Some(format!("/brands/acme/templates/{id}"))
    );
    // The short address redirects to the brand-scoped one.
    assert_eq!(
        app.get(&format!("/results/{result_id}")).await.location,
        Some(format!("/brands/acme/results/{result_id}"))
    );
}

#[tokio::test]
async fn run_errors_are_shown_next_to_the_run_form() {
    let app = UiApp::start().await;
    app.create_brand("acme", "Acme").await;
    let id = app
        .create_template(
            "acme",
            &template_fields("Vars", "Is {{brand}} big in {{country}} for {{segment}}?"),
        )
        .await;
    let run = format!("/brands/acme/templates/{id}/run");
    let page = app.get(&format!("/brands/acme/templates/{id}")).await;
    page.assert_contains("<code>{{segment}}</code>");

    let r = app
        .post_form(&run, &[("country", "US"), ("brand_name", "Acme")])
        .await;
    assert_eq!(r.status, 422);
    r.assert_contains("runtime_vars.segment the template uses {{segment}} but no value was given")
        .assert_contains(r#"id="f-runtime_vars-error""#);
    let r = app
        .post_form(
            &run,
            &[
                ("country", "FR"),
                ("brand_name", "Acme"),
                ("runtime_vars", "segment=b2b"),
            ],
        )
        .await;
    assert_eq!(r.status, 422);
    r.assert_contains("country FR is not in the template&#39;s country set (US, CH)")
        .assert_contains(r#"id="f-country-error""#);
    let r = app
        .post_form(
            &run,
            &[("country", "US"), ("runtime_vars", "no equals sign")],
        )
        .await;
    assert_eq!(r.status, 422);
    r.assert_contains("line 1 must look like name=value");
    // With every variable it runs.
    let r = app
        .post_form(
            &run,
            &[
                ("country", "CH"),
                ("brand_name", "Acme"),
                ("runtime_vars", "segment = b2b"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
}

/// An OpenAI-shaped server that always fails with 500.
async fn failing_openai() -> String {
    let app = Router::new().route(
        "/v1/chat/completions",
        post(|| async {
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({"error": {"message": "The server had an error while processing your request.",
                                      "type": "server_error"}})),
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/v1")
}

#[tokio::test]
async fn provider_failures_show_the_providers_message() {
    let test_db = prompter_testkit::fresh_sqlite().await;
    let mut settings = ProviderSettings::fake_only();
    settings.mode = prompter_providers::LlmMode::Auto;
    settings.openai_api_key = Some("sk-test-ui".into());
    settings.openai_base_url = failing_openai().await;
    settings.max_retries = 0;
    settings.retry_base_delay = std::time::Duration::from_millis(1);
    let services = services_with(test_db.db(), settings);
    let app = UiApp::start_with(services, Box::new(test_db)).await;
    app.create_brand("acme", "Acme").await;
    let id = app
        .create_template("acme", &template_fields("Live", PROMPT))
        .await;
    let r = app
        .post_form(
            &format!("/brands/acme/templates/{id}/run"),
            &[("country", "US"), ("brand_name", "Acme")],
        )
        .await;
    assert_eq!(r.status, 502, "{}", r.body);
    r.assert_contains("openai answered with HTTP 500")
        .assert_contains("The server had an error while processing your request.")
        .assert_contains("The failed attempt was recorded")
        .assert_lacks("sk-test-ui");
    // The failed attempt is in the table.
    app.get(&format!("/brands/acme/templates/{id}"))
        .await
        .assert_contains("badge-failed");
}

#[tokio::test]
async fn live_mode_without_credentials_is_a_clear_503() {
    let test_db = prompter_testkit::fresh_sqlite().await;
    let mut settings = ProviderSettings::fake_only();
    settings.mode = prompter_providers::LlmMode::Live;
    let services = services_with(test_db.db(), settings);
    let app = UiApp::start_with(services, Box::new(test_db)).await;
    app.create_brand("acme", "Acme").await;
    let id = app
        .create_template("acme", &template_fields("Live", PROMPT))
        .await;
    let r = app
        .post_form(
            &format!("/brands/acme/templates/{id}/run"),
            &[("country", "US"), ("brand_name", "Acme")],
        )
        .await;
    assert_eq!(r.status, 503, "{}", r.body);
    r.assert_contains("is not configured")
        .assert_contains("OPENAI_API_KEY");
}

#[tokio::test]
async fn drift_shows_on_the_timeline_and_chart() {
    let test_db = prompter_testkit::fresh_sqlite().await;
    let db = test_db.db();
    let app = UiApp::start_with(common::fake_services(db.clone()), Box::new(test_db)).await;
    app.create_brand("acme", "Acme").await;
    let id = app
        .create_template("acme", &template_fields("Drifting", PROMPT))
        .await;
    let tid = uuid::Uuid::parse_str(&id).unwrap();
    let body = prompter_service::RunRequest {
        country: Some("US".into()),
        brand_name: Some("Acme".into()),
        ..Default::default()
    };
    let caller = prompter_service::Caller::system();
    app.services
        .run_template(&caller, tid, &body, None)
        .await
        .unwrap();
    // The provider ships a new build: a new version key.
    let mut settings = ProviderSettings::fake_only();
    settings.fake_build = Some("2026-02".into());
    let later = services_with(db, settings);
    let second = later.run_template(&caller, tid, &body, None).await.unwrap();
    let new_key = second.provider_version_key.unwrap();

    let page = app.get(&format!("/brands/acme/templates/{id}")).await;
    page.assert_contains("Drift from")
        .assert_contains(&format!("Drift: {new_key} first answered on"))
        .assert_contains("2 version keys")
        .assert_contains("The version key changed over time (drift).");
    assert_eq!(page.body.matches(r#"class="tl-item"#).count(), 2);
}

#[tokio::test]
async fn search_filters_and_pages_newest_first() {
    let app = UiApp::start().await;
    app.create_brand("acme", "Acme").await;
    for i in 0..30 {
        let (status, body) = app
            .api_post(
                "/api/prompt-templates",
                &json!({"workspace_id": "acme", "name": format!("Question {i:02}"),
                        "model_id": "gpt-4o", "user_prompt_template": format!("Prompt {i}")}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let first = app.get("/brands/acme/templates").await;
    first
        .assert_contains("Question 29")
        .assert_lacks("Question 04");
    let pos = |p: &str, s: &str| p.find(s).unwrap();
    assert!(pos(&first.body, "Question 29") < pos(&first.body, "Question 28"));
    let next = first
        .body
        .split(r#"<a class="btn btn-ghost" href=""#)
        .nth(1)
        .unwrap();
    let next = next.split('"').next().unwrap().replace("&amp;", "&");
    assert!(next.contains("cursor="), "{next}");
    let second = app.get(&next).await;
    second
        .assert_contains("Question 04")
        .assert_contains("Question 00")
        .assert_lacks("Question 29")
        .assert_contains("← Newest");

    let found = app.get("/brands/acme/templates?q=question+1").await;
    found
        .assert_contains("Question 10")
        .assert_contains("Question 19")
        .assert_lacks("Question 20");
    let none = app.get("/brands/acme/templates?q=zebra").await;
    none.assert_contains("No template name contains “zebra”");
    let bad = app.get("/brands/acme/templates?cursor=garbage").await;
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn unknown_things_are_friendly_404_pages() {
    let app = UiApp::start().await;
    app.create_brand("acme", "Acme").await;
    app.create_brand("other", "Other").await;
    let id = app
        .create_template("acme", &template_fields("Mine", PROMPT))
        .await;
    for (path, what) in [
        ("/brands/nope/templates".to_owned(), "Brand not found"),
        ("/brands/bad%20id/templates".to_owned(), "Brand not found"),
        (
            "/brands/acme/templates/not-a-uuid".to_owned(),
            "Template not found",
        ),
        (
            format!("/brands/other/templates/{id}"),
            "Template not found",
        ),
        (
            format!("/brands/acme/results/{}", uuid::Uuid::now_v7()),
            "Result not found",
        ),
        (
            format!("/results/{}", uuid::Uuid::now_v7()),
            "Result not found",
        ),
        ("/brands/acme/whatever/else".to_owned(), "Page not found"),
        ("/static/nothing.css".to_owned(), "File not found"),
    ] {
        let r = app.get(&path).await;
        assert_eq!(r.status, 404, "{path}");
        assert!(
            r.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{path}"
        );
        r.assert_contains(what).assert_contains("Go to brands");
    }
    // The API keeps its JSON 404.
    let r = app.get("/api/nothing").await;
    assert_eq!(r.status, 404);
    assert_eq!(
        serde_json::from_str::<Value>(&r.body).unwrap()["detail"]["code"],
        "NOT_FOUND"
    );
}

#[tokio::test]
async fn static_assets_are_compiled_in_and_cached() {
    let app = UiApp::start().await;
    let page = app.get("/").await;
    let css_href = page
        .body
        .split(r#"rel="stylesheet" href=""#)
        .nth(1)
        .unwrap();
    let css_href = css_href.split('"').next().unwrap();
    assert!(css_href.starts_with("/static/app.css?v="), "{css_href}");
    let css = app.get(css_href).await;
    assert_eq!(css.status, 200);
    assert_eq!(css.headers["content-type"], "text/css; charset=utf-8");
    assert!(css.headers["cache-control"]
        .to_str()
        .unwrap()
        .contains("immutable"));
    assert!(css.body.contains(":focus-visible"));
    let etag = css.headers["etag"].to_str().unwrap().to_owned();
    let again = app
        .send(
            app.client
                .get(app.url(css_href))
                .header("if-none-match", etag),
        )
        .await;
    assert_eq!(again.status, 304);
    let js = app.get("/static/app.js").await;
    assert_eq!(js.headers["content-type"], "text/javascript; charset=utf-8");
    assert!(js.body.contains("check-url") || js.body.contains("data-check-url"));
}

#[tokio::test]
async fn disabled_router_answers_404_with_the_message() {
    let test_db = prompter_testkit::fresh_sqlite().await;
    let services = common::fake_services(test_db.db());
    let mut settings = common::settings(prompter_app::AuthSetting::Off);
    settings.ui_enabled = false;
    let app = UiApp::serve(services, Box::new(test_db), settings).await;
    for path in [
        "/",
        "/brands",
        "/brands/acme/templates",
        "/results/x",
        "/static/app.css",
    ] {
        let r = app.get(path).await;
        assert_eq!(r.status, 404, "{path}");
        r.assert_contains(&esc(prompter_ui::DISABLED_MESSAGE));
    }
    let r = app
        .send_bare(app.client.post(app.url("/brands")).form(&[("name", "x")]))
        .await;
    assert_eq!(r.status, 404);
    r.assert_contains(
        "The web UI is disabled (PROMPTER_V6_ENABLED=false); the API is available under /api",
    );
    // The API is untouched.
    assert_eq!(app.get("/api/prompt-templates/health").await.status, 200);
}

#[tokio::test]
async fn a_run_still_waiting_for_its_provider_shows_as_running() {
    let test_db = prompter_testkit::fresh_sqlite().await;
    let db = test_db.db();
    let mut settings = ProviderSettings::fake_only();
    settings.fake_latency = std::time::Duration::from_secs(30);
    let app = UiApp::start_with(services_with(db, settings), Box::new(test_db)).await;
    app.create_brand("acme", "Acme").await;
    let id = app
        .create_template("acme", &template_fields("Slow", PROMPT))
        .await;
    let body = prompter_service::RunRequest {
        country: Some("US".into()),
        brand_name: Some("Acme".into()),
        ..Default::default()
    };
    // Started elsewhere (an API client that got 202): nobody waits for it here.
    let handle = app
        .services
        .start_run(
            &prompter_service::Caller::system(),
            uuid::Uuid::parse_str(&id).unwrap(),
            &body,
            None,
        )
        .await
        .unwrap();
    let result_id = handle.result_id();
    drop(handle);

    app.get(&format!("/brands/acme/templates/{id}"))
        .await
        .assert_contains(r#"<span class="badge badge-running">Running</span>"#)
        .assert_lacks(r#"<span class="badge badge-ok">OK</span>"#);
    app.get(&format!("/brands/acme/results/{result_id}"))
        .await
        .assert_contains(r#"<span class="badge badge-running">Running</span>"#)
        .assert_contains("Waiting for the provider");
}
