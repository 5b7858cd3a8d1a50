//! Names and tags are labels (issue 13): they change without touching a template's identity;
//! lists filter by tag; workspaces are renamed; visibility groups by tag. Both backends.

mod common;

use common::TestApp;
use serde_json::{json, Value};

fn body(prompt: &str, tags: Value) -> Value {
    json!({"workspace_id": "ws-tags", "name": prompt, "model_id": "gpt-4o",
           "user_prompt_template": prompt, "country_set": ["CH"], "tags": tags})
}

async fn create(app: &TestApp, body: &Value) -> Value {
    let r = app.post("/api/prompt-templates", body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body
}

async fn labels_change_without_touching_identity(app: TestApp) {
    let t = create(
        &app,
        &body(
            "Best vitamins?",
            json!(["funnel:awareness", "cat:vit", "cat:vit"]),
        ),
    )
    .await;
    assert_eq!(t["tags"], json!(["funnel:awareness", "cat:vit"]));
    let id = t["id"].as_str().unwrap();
    let other = create(&app, &body("Best coffee?", Value::Null)).await;
    assert_eq!(other["tags"], json!([]));

    let patched = app
        .patch(
            &format!("/api/prompt-templates/{id}"),
            &json!({"name": "Vitamins (CH)", "tags": ["funnel:consideration"]}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.body["name"], "Vitamins (CH)");
    assert_eq!(patched.body["tags"], json!(["funnel:consideration"]));
    assert_eq!(patched.body["config_hash"], t["config_hash"]);
    // Only the name: the tags stay; `[]` removes them.
    let renamed = app
        .patch(
            &format!("/api/prompt-templates/{id}"),
            &json!({"name": "V"}),
        )
        .await;
    assert_eq!(renamed.body["tags"], json!(["funnel:consideration"]));
    // The same configuration with other labels is still the same template.
    let twin = app
        .post(
            "/api/prompt-templates",
            &body("Best vitamins?", json!(["x"])),
        )
        .await;
    assert_eq!(twin.status, 409, "{}", twin.body);
    assert_eq!(twin.body["detail"]["template_id"], id);

    // Lists filter by tag.
    let listed = app
        .get("/api/prompt-templates?workspace_id=ws-tags&tag=funnel:consideration")
        .await;
    let ids: Vec<&str> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![id]);
    let bad = app.get("/api/prompt-templates?tag=Not%20A%20Tag").await;
    assert_eq!(bad.status, 422);
    assert_eq!(bad.body["detail"]["field"], "tag");

    // Bad input names the field; nothing is half-written.
    let too_many: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
    for (patch, field) in [
        (json!({"tags": ["ok", "Bad Tag"]}), "tags[1]"),
        (json!({"tags": [&"x".repeat(65)]}), "tags[0]"),
        (json!({"tags": too_many}), "tags"),
        (json!({"tags": "one"}), "tags"),
        (json!({"name": ""}), "name"),
        (json!({"colour": "red"}), "colour"),
    ] {
        let r = app
            .patch(&format!("/api/prompt-templates/{id}"), &patch)
            .await;
        assert_eq!(r.status, 422, "{patch}: {}", r.body);
        assert_eq!(r.body["detail"]["field"], field, "{patch}: {}", r.body);
    }
    let unchanged = app.get(&format!("/api/prompt-templates/{id}")).await;
    assert_eq!(unchanged.body["name"], "V");
    assert_eq!(unchanged.body["tags"], json!(["funnel:consideration"]));
    let create_bad = app
        .post("/api/prompt-templates", &body("Another", json!(["UPPER"])))
        .await;
    assert_eq!(create_bad.status, 422);
    assert_eq!(create_bad.body["detail"]["field"], "tags[0]");
    assert_eq!(
        app.patch(
            &format!("/api/prompt-templates/{}", uuid::Uuid::now_v7()),
            &json!({"name": "x"})
        )
        .await
        .status,
        404
    );

    // Workspaces are renamed.
    let ws = app
        .patch("/api/workspaces/ws-tags", &json!({"name": "Tags & Co"}))
        .await;
    assert_eq!(ws.status, 200, "{}", ws.body);
    assert_eq!(ws.body["name"], "Tags & Co");
    assert_eq!(
        app.get("/api/workspaces/ws-tags").await.body["name"],
        "Tags & Co"
    );
    let no_name = app.patch("/api/workspaces/ws-tags", &json!({})).await;
    assert_eq!(no_name.status, 422);
    assert_eq!(no_name.body["detail"]["field"], "name");
    assert_eq!(
        app.patch("/api/workspaces/nope", &json!({"name": "x"}))
            .await
            .status,
        404
    );
}

async fn visibility_groups_by_tag(app: TestApp) {
    let a = create(
        &app,
        &body("Which vitamins?", json!(["funnel:awareness", "cat:vit"])),
    )
    .await;
    let b = create(&app, &body("Which protein?", json!(["funnel:awareness"]))).await;
    let c = create(&app, &body("Which coffee?", json!([]))).await;
    let put = app
        .put(
            "/api/workspaces/ws-tags/entities",
            &json!({"brand": {"name": "Acme"}, "competitors": [{"name": "Globex"}, {"name": "Initech"}]}),
        )
        .await;
    assert_eq!(put.status, 201);
    let runs = [(&a, 2), (&b, 1), (&c, 3)];
    for (t, n) in runs {
        for _ in 0..n {
            let r = app
                .post(
                    &format!("/api/prompt-templates/{}/run", t["id"].as_str().unwrap()),
                    // Grounded: the fake cites sources, so the top domains have something to count.
                    &json!({"country": "CH", "use_grounding": true}),
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
        }
    }
    let v = app
        .get("/api/workspaces/ws-tags/visibility?include_fake=true&group_by=tag")
        .await;
    assert_eq!(v.status, 200, "{}", v.body);
    let answers: std::collections::BTreeMap<String, u64> = v.body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["keys"]["tag"].as_str().unwrap().to_owned(),
                r["entities"][0]["n_answers"].as_u64().unwrap(),
            )
        })
        .collect();
    // An answer counts in each tag of its template; untagged templates under "".
    let expected: std::collections::BTreeMap<String, u64> = [
        ("".to_owned(), 3),
        ("cat:vit".to_owned(), 2),
        ("funnel:awareness".to_owned(), 3),
    ]
    .into_iter()
    .collect();
    assert_eq!(answers, expected);
    // Cited domains count answers, not tags: a template with two tags is not counted twice.
    let ungrouped = app
        .get("/api/workspaces/ws-tags/visibility?include_fake=true")
        .await;
    let domains = &ungrouped.body["top_domains"];
    assert!(
        !domains.as_array().unwrap().is_empty(),
        "{}",
        ungrouped.body
    );
    assert_eq!(v.body["top_domains"], *domains);
    let cited: u64 = domains
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["n_cited"].as_u64().unwrap())
        .max()
        .unwrap();
    assert!(cited <= 6, "six answers in all: {domains}");
    // Tags are read as they are now.
    let r = app
        .patch(
            &format!("/api/prompt-templates/{}", c["id"].as_str().unwrap()),
            &json!({"tags": ["cat:coffee"]}),
        )
        .await;
    assert_eq!(r.status, 200);
    let v = app
        .get("/api/workspaces/ws-tags/visibility?include_fake=true&group_by=tag,model")
        .await;
    let tags: Vec<&str> = v.body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["keys"]["tag"].as_str().unwrap())
        .collect();
    assert_eq!(tags, vec!["cat:coffee", "cat:vit", "funnel:awareness"]);
}

on_both_backends!(
    labels_change_without_touching_identity,
    visibility_groups_by_tag
);
