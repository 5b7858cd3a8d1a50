//! A duplicate refused by the UI's create form counts like one refused by the API: the refusal
//! goes through the same service operation. One test function, alone in its binary, because the
//! metrics recorder is process-wide.

mod common;

use std::collections::HashMap;

use common::{template_fields, UiApp};

const PROMPT: &str = "What is {{brand_name}} known for in {{country}}?";

/// `name{labels}` → value, labels sorted for stable keys.
async fn scrape(app: &UiApp) -> HashMap<String, f64> {
    let r = app.get("/metrics").await;
    assert_eq!(r.status, 200, "{}", r.body);
    prompter_testkit::metrics::parse_exposition(&r.body)
}

/// The value of the unlabelled (but for `env` and `service`) series `name`.
fn value(scrape: &HashMap<String, f64>, name: &str) -> f64 {
    scrape
        .iter()
        .filter(|(k, _)| k.starts_with(&format!("{name}{{")))
        .map(|(_, v)| *v)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_refused_in_the_ui_is_counted() {
    let app = UiApp::start().await;
    app.create_brand("acme", "Acme").await;
    app.create_template("acme", &template_fields("Original", PROMPT))
        .await;
    let before = scrape(&app).await;

    let r = app
        .post_form(
            "/brands/acme/templates",
            &template_fields("Another name", PROMPT),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    r.assert_contains("An identical configuration already exists");

    let after = scrape(&app).await;
    assert_eq!(
        value(&after, "prompter_dedup_blocked_total")
            - value(&before, "prompter_dedup_blocked_total"),
        1.0
    );
    let unique = "prompter_db_unique_violation_total{env=\"dev\",service=\"prompter-api\",table=\"prompt_templates\"}";
    assert_eq!(
        after.get(unique).copied().unwrap_or(0.0) - before.get(unique).copied().unwrap_or(0.0),
        1.0,
        "{after:?}"
    );
}
