//! Near-duplicates (issue 13): check-duplicate and a 409 from create name the active templates
//! that differ in one or two fields; a workspace lists its near-duplicate groups; templates from
//! before near keys are filled. Both backends.

mod common;

use common::TestApp;
use serde_json::{json, Value};

fn base() -> Value {
    json!({"workspace_id": "ws-near", "name": "Supplements CH", "model_id": "gpt-4o",
           "user_prompt_template": "What are the best vitamin brands in {{country}}?",
           "system_instructions": "Answer briefly.",
           "country_set": ["CH", "DE"], "inference_params": {"temperature": 0.7}})
}

fn variant(name: &str, change: impl FnOnce(&mut Value)) -> Value {
    let mut b = base();
    b["name"] = json!(name);
    change(&mut b);
    b
}

async fn create(app: &TestApp, body: &Value) -> String {
    let r = app.post("/api/prompt-templates", body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

fn near(body: &Value) -> Vec<(String, Vec<String>)> {
    body["near_matches"]
        .as_array()
        .unwrap_or_else(|| panic!("no near_matches in {body}"))
        .iter()
        .map(|m| {
            let fields = m["differing_fields"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f.as_str().unwrap().to_owned())
                .collect();
            (m["name"].as_str().unwrap().to_owned(), fields)
        })
        .collect()
}

fn names(fields: &[&str]) -> Vec<String> {
    fields.iter().map(|f| f.to_string()).collect()
}

async fn check_duplicate_and_409_name_near_matches(app: TestApp) {
    let original = create(&app, &base()).await;
    // Nothing near yet: the request is the twin itself.
    let r = app
        .post("/api/prompt-templates/check-duplicate", &base())
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["exact_match"], true);
    assert_eq!(
        r.body["near_matches"],
        json!([]),
        "the twin is never a near match"
    );

    // A temperature of 0.71 instead of 0.7: a near match of the original, named by its path.
    let warmer = variant("Supplements CH warm", |b| {
        b["inference_params"]["temperature"] = json!(0.71)
    });
    let r = app
        .post("/api/prompt-templates/check-duplicate", &warmer)
        .await;
    assert_eq!(r.body["exact_match"], false);
    assert_eq!(
        near(&r.body),
        [(
            "Supplements CH".to_owned(),
            names(&["inference_params.temperature"])
        )]
    );
    assert_eq!(r.body["near_matches"][0]["template_id"], original);
    let warmer_id = create(&app, &warmer).await;

    // One extra country, and the prompt in other case and punctuation: each one field.
    create(
        &app,
        &variant("With AT", |b| b["country_set"] = json!(["CH", "DE", "AT"])),
    )
    .await;
    create(
        &app,
        &variant("Shouting", |b| {
            b["user_prompt_template"] = json!("WHAT are the best vitamin brands in {{country}}")
        }),
    )
    .await;
    // Not near: another model; another question; three fields apart.
    create(
        &app,
        &variant("Other model", |b| b["model_id"] = json!("gpt-4.1")),
    )
    .await;
    create(
        &app,
        &variant("Other question", |b| {
            b["user_prompt_template"] = json!("Which pharmacies in {{country}} sell vitamins?")
        }),
    )
    .await;
    create(
        &app,
        &variant("Far", |b| {
            b["inference_params"]["temperature"] = json!(0.1);
            b["country_set"] = json!(["FR"]);
            b["system_instructions"] = json!("Answer at length.");
        }),
    )
    .await;

    // The 409 for the original's twin carries its near matches, closest first.
    let r = app.post("/api/prompt-templates", &base()).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(r.body["detail"]["code"], "TEMPLATE_EXISTS");
    assert_eq!(r.body["detail"]["template_id"], original);
    let mut found = near(&r.body["detail"]);
    found.sort();
    assert_eq!(
        found,
        [
            ("Shouting".to_owned(), names(&["user_prompt_template"])),
            (
                "Supplements CH warm".to_owned(),
                names(&["inference_params.temperature"])
            ),
            ("With AT".to_owned(), names(&["country_set"])),
        ]
    );

    // Two fields apart is still near, and sorts after the one-field matches.
    let two = variant("Two apart", |b| {
        b["inference_params"]["temperature"] = json!(0.71);
        b["country_set"] = json!(["CH"]);
    });
    let r = app
        .post("/api/prompt-templates/check-duplicate", &two)
        .await;
    let found = near(&r.body);
    assert_eq!(
        found[0],
        ("Supplements CH warm".to_owned(), names(&["country_set"]))
    );
    assert_eq!(
        found.last().unwrap().1,
        names(&["country_set", "inference_params.temperature"])
    );

    // A deleted template is no longer a near match.
    assert_eq!(
        app.delete(&format!("/api/prompt-templates/{warmer_id}"))
            .await
            .status,
        200
    );
    let r = app
        .post("/api/prompt-templates/check-duplicate", &warmer)
        .await;
    assert!(near(&r.body)
        .iter()
        .all(|(n, _)| n != "Supplements CH warm"));
}

async fn at_most_five_near_matches(app: TestApp) {
    for i in 0..7 {
        let t = variant(&format!("T{i}"), |b| {
            b["inference_params"]["temperature"] = json!(0.1 + f64::from(i) / 10.0)
        });
        create(&app, &t).await;
    }
    let probe = variant("probe", |b| {
        b["inference_params"]["temperature"] = json!(1.5)
    });
    let r = app
        .post("/api/prompt-templates/check-duplicate", &probe)
        .await;
    let found = near(&r.body);
    assert_eq!(found.len(), 5, "{}", r.body);
    assert_eq!(found[0].0, "T0", "equally close: oldest first");
}

async fn workspace_lists_its_near_duplicate_groups(app: TestApp) {
    let a = create(&app, &base()).await;
    let b = create(
        &app,
        &variant("B", |b| b["inference_params"]["temperature"] = json!(0.8)),
    )
    .await;
    let c = create(&app, &variant("C", |b| b["country_set"] = json!(["CH"]))).await;
    create(&app, &variant("Lone", |b| b["model_id"] = json!("o3"))).await;
    let x = create(
        &app,
        &variant("X", |b| {
            b["user_prompt_template"] = json!("Another question")
        }),
    )
    .await;
    let y = create(
        &app,
        &variant("Y", |b| {
            b["user_prompt_template"] = json!("another question!");
            b["system_instructions"] = json!("Other");
        }),
    )
    .await;
    let r = app.get("/api/workspaces/ws-near/near-duplicates").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let groups = r.body["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2, "{}", r.body);
    let members = |g: &Value| -> Vec<String> {
        g["templates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["template_id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        members(&groups[0]),
        [a.clone(), b.clone(), c.clone()],
        "largest first"
    );
    assert_eq!(members(&groups[1]), [x.clone(), y.clone()]);
    let pairs = groups[1]["pairs"].as_array().unwrap();
    assert_eq!(pairs.len(), 1);
    assert_eq!(pairs[0]["template_id"], x);
    assert_eq!(pairs[0]["other_template_id"], y);
    assert_eq!(
        pairs[0]["differing_fields"],
        json!(["system_instructions", "user_prompt_template"])
    );
    // b and c differ in two fields, so the first group has all three pairs.
    assert_eq!(groups[0]["pairs"].as_array().unwrap().len(), 3);

    // Unknown workspace: 404 like everything else.
    let r = app.get("/api/workspaces/nope/near-duplicates").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.body["detail"]["code"], "WORKSPACE_NOT_FOUND");
}

/// Templates written before near keys existed (the migration re-applied drops and re-adds the
/// column) are found again once the service fills their keys.
async fn near_keys_are_filled_for_older_templates(app: TestApp) {
    create(&app, &base()).await;
    create(
        &app,
        &variant("B", |b| b["inference_params"]["temperature"] = json!(0.8)),
    )
    .await;
    assert_eq!(app.db.migrate_down(1).await.unwrap(), [11]);
    assert_eq!(app.db.migrate_up().await.unwrap(), [11]);
    let r = app.get("/api/workspaces/ws-near/near-duplicates").await;
    assert_eq!(r.body["groups"], json!([]), "no keys yet");
    let services = common::fake_services(app.db.clone());
    assert_eq!(services.fill_near_keys().await.unwrap(), 2);
    assert_eq!(services.fill_near_keys().await.unwrap(), 0, "idempotent");
    let r = app.get("/api/workspaces/ws-near/near-duplicates").await;
    assert_eq!(r.body["groups"].as_array().unwrap().len(), 1, "{}", r.body);
}

on_both_backends!(
    check_duplicate_and_409_name_near_matches,
    at_most_five_near_matches,
    workspace_lists_its_near_duplicate_groups,
    near_keys_are_filled_for_older_templates
);
