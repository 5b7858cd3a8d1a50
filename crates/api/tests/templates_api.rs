//! The template registry over HTTP, on SQLite and PostgreSQL.

mod common;

use std::collections::HashSet;

use common::{avea_body, TestApp};
use serde_json::{json, Value};

on_both_backends!(
    create_returns_201_with_every_field_and_defaults,
    duplicate_is_409_naming_the_brand_and_the_winner,
    same_config_in_other_workspace_or_org_is_201,
    check_duplicate_reports_without_writing,
    get_delete_restore_lifecycle,
    list_pages_newest_first_with_cursor,
    list_rejects_bad_parameters,
    invalid_fields_are_422_naming_the_field,
    transport_errors_have_their_own_status,
    workspaces_create_list_get,
    parallel_identical_creates_have_one_winner,
);

async fn create_returns_201_with_every_field_and_defaults(app: TestApp) {
    let r = app
        .post(
            "/api/prompt-templates",
            &json!({"workspace_id": "test", "name": "Hello", "model_id": "gpt-4o",
                    "user_prompt_template": "Say hello"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let t = &r.body;
    assert_eq!(t["org_id"], "default");
    assert_eq!(t["country_set"], json!([]));
    assert_eq!(t["inference_params"], json!({}));
    assert_eq!(t["name"], "Hello");
    for field in [
        "id",
        "workspace_id",
        "provider",
        "system_instructions",
        "user_prompt_template",
        "model_id",
        "tools_spec",
        "response_format",
        "grounding_profile_id",
        "grounding_snapshot_id",
        "retrieval_params",
        "created_by",
        "config_hash",
        "config_canonical_json",
        "created_at",
        "deleted_at",
    ] {
        assert!(t.get(field).is_some(), "missing {field}");
    }
    assert_eq!(t["config_hash"].as_str().unwrap().len(), 64);
    assert!(t["created_at"].as_str().unwrap().ends_with('Z'));
    // What was created reads back identically.
    let read = app
        .get(&format!(
            "/api/prompt-templates/{}",
            t["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(read.status, 200);
    assert_eq!(&read.body, t);
}

async fn duplicate_is_409_naming_the_brand_and_the_winner(app: TestApp) {
    let ws = app
        .post(
            "/api/workspaces",
            &json!({"id": "workspace-avea-001", "name": "AVEA Life"}),
        )
        .await;
    assert_eq!(ws.status, 201, "{}", ws.body);
    let first = app.post("/api/prompt-templates", &avea_body()).await;
    assert_eq!(first.status, 201);
    let mut again = avea_body();
    again["name"] = json!("Same config, other name");
    again["user_prompt_template"] = json!("  What is AVEA   known for?\r\n");
    let dup = app.post("/api/prompt-templates", &again).await;
    assert_eq!(dup.status, 409);
    assert_eq!(
        dup.body,
        json!({"detail": {
            "code": "TEMPLATE_EXISTS",
            "template_id": first.body["id"],
            "template_name": "AVEA Brand Analysis",
            "workspace_id": "workspace-avea-001",
            "near_matches": [],
            "message": "Identical configuration already exists in brand AVEA Life",
        }})
    );
}

async fn same_config_in_other_workspace_or_org_is_201(app: TestApp) {
    assert_eq!(
        app.post("/api/prompt-templates", &avea_body()).await.status,
        201
    );
    let mut other_ws = avea_body();
    other_ws["workspace_id"] = json!("workspace-other-001");
    assert_eq!(
        app.post("/api/prompt-templates", &other_ws).await.status,
        201
    );
    let mut other_org = avea_body();
    other_org["org_id"] = json!("org-2");
    assert_eq!(
        app.post("/api/prompt-templates", &other_org).await.status,
        201
    );
}

async fn check_duplicate_reports_without_writing(app: TestApp) {
    let mut probe = avea_body();
    probe.as_object_mut().unwrap().remove("name");
    let before = app
        .post("/api/prompt-templates/check-duplicate", &probe)
        .await;
    assert_eq!(before.status, 200);
    assert_eq!(before.body["exact_match"], false);
    assert_eq!(before.body["template_id"], Value::Null);
    let listed = app.get("/api/prompt-templates?org_id=default").await;
    assert_eq!(
        listed.body["items"],
        json!([]),
        "check-duplicate never writes"
    );
    assert_eq!(app.get("/api/workspaces").await.body["items"], json!([]));

    let created = app.post("/api/prompt-templates", &avea_body()).await;
    let after = app
        .post("/api/prompt-templates/check-duplicate", &probe)
        .await;
    assert_eq!(after.status, 200);
    assert_eq!(after.body["exact_match"], true);
    assert_eq!(after.body["template_id"], created.body["id"]);
    assert_eq!(after.body["config_hash"], created.body["config_hash"]);
    assert_eq!(before.body["config_hash"], created.body["config_hash"]);

    probe["workspace_id"] = json!("");
    let r = app
        .post("/api/prompt-templates/check-duplicate", &probe)
        .await;
    assert_eq!(
        (r.status, r.body["detail"]["code"].as_str()),
        (400, Some("WORKSPACE_REQUIRED"))
    );
}

async fn get_delete_restore_lifecycle(app: TestApp) {
    let first = app.post("/api/prompt-templates", &avea_body()).await.body;
    let id = first["id"].as_str().unwrap().to_owned();
    let path = format!("/api/prompt-templates/{id}");

    let deleted = app.delete(&path).await;
    assert_eq!(deleted.status, 200);
    assert!(deleted.body["deleted_at"].is_string());
    assert_eq!(
        app.get(&path).await.body["deleted_at"],
        deleted.body["deleted_at"]
    );

    // The configuration is free again.
    let second = app.post("/api/prompt-templates", &avea_body()).await;
    assert_eq!(second.status, 201);

    // Restoring the first now would make two active twins.
    let refused = app.post(&format!("{path}/restore"), &json!({})).await;
    assert_eq!(refused.status, 409);
    assert_eq!(refused.body["detail"]["template_id"], second.body["id"]);

    app.delete(&format!(
        "/api/prompt-templates/{}",
        second.body["id"].as_str().unwrap()
    ))
    .await;
    let restored = app
        .send(app.client.post(app.url(&format!("{path}/restore"))))
        .await;
    assert_eq!(restored.status, 200, "{}", restored.body);
    assert_eq!(restored.body["deleted_at"], Value::Null);

    for missing in [
        format!(
            "/api/prompt-templates/{}",
            "0191e4a0-0000-7000-8000-000000000000"
        ),
        "/api/prompt-templates/not-a-uuid".to_owned(),
    ] {
        for r in [
            app.get(&missing).await,
            app.delete(&missing).await,
            app.post(&format!("{missing}/restore"), &json!({})).await,
        ] {
            assert_eq!(r.status, 404, "{missing}");
            assert_eq!(r.body["detail"]["code"], "TEMPLATE_NOT_FOUND");
        }
    }
}

async fn list_pages_newest_first_with_cursor(app: TestApp) {
    let mut created = Vec::new();
    for i in 0..7 {
        let mut b = avea_body();
        b["user_prompt_template"] = json!(format!("Prompt number {i}"));
        created.push(app.post("/api/prompt-templates", &b).await.body["id"].clone());
    }
    let mut other = avea_body();
    other["workspace_id"] = json!("another-brand");
    app.post("/api/prompt-templates", &other).await;
    created.reverse();

    let mut seen = Vec::new();
    let mut url = "/api/prompt-templates?workspace_id=workspace-avea-001&limit=3".to_owned();
    loop {
        let page = app.get(&url).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let items = page.body["items"].as_array().unwrap();
        assert!(items.len() <= 3);
        seen.extend(items.iter().map(|t| t["id"].clone()));
        match page.body["next_cursor"].as_str() {
            Some(c) => {
                url = format!(
                    "/api/prompt-templates?workspace_id=workspace-avea-001&limit=3&cursor={c}"
                )
            }
            None => break,
        }
    }
    assert_eq!(seen, created);

    app.delete(&format!(
        "/api/prompt-templates/{}",
        created[0].as_str().unwrap()
    ))
    .await;
    let active = app
        .get("/api/prompt-templates?workspace_id=workspace-avea-001")
        .await;
    assert_eq!(active.body["items"].as_array().unwrap().len(), 6);
    let all = app
        .get("/api/prompt-templates?workspace_id=workspace-avea-001&include_deleted=true")
        .await;
    assert_eq!(all.body["items"].as_array().unwrap().len(), 7);
    let everything = app.get("/api/prompt-templates").await;
    assert_eq!(everything.body["items"].as_array().unwrap().len(), 7);
    let other_org = app.get("/api/prompt-templates?org_id=someone-else").await;
    assert_eq!(other_org.body["items"], json!([]));
}

async fn list_rejects_bad_parameters(app: TestApp) {
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=abc", "limit"),
        ("cursor=garbage", "cursor"),
        ("include_deleted=maybe", "include_deleted"),
        ("workspace_id=a%20b", "workspace_id"),
        ("org_id=", "org_id"),
    ] {
        let r = app.get(&format!("/api/prompt-templates?{query}")).await;
        assert_eq!(r.status, 422, "{query}: {}", r.body);
        assert_eq!(r.body["detail"]["field"], field, "{query}");
        assert_eq!(r.body["detail"]["code"], "INVALID_FIELD");
    }
    assert_eq!(app.get("/api/prompt-templates?limit=500").await.status, 200);
}

async fn invalid_fields_are_422_naming_the_field(app: TestApp) {
    let cases: Vec<(&str, Value, &str)> = vec![
        ("name", json!(""), "name"),
        ("name", json!("x".repeat(201)), "name"),
        ("name", json!(42), "name"),
        (
            "user_prompt_template",
            json!(" \n\t "),
            "user_prompt_template",
        ),
        (
            "user_prompt_template",
            json!("x".repeat(100_001)),
            "user_prompt_template",
        ),
        ("user_prompt_template", Value::Null, "user_prompt_template"),
        ("model_id", json!(""), "model_id"),
        ("country_set", json!(["CH", "ZZ"]), "country_set[1]"),
        ("country_set", json!("CH"), "country_set"),
        ("country_set", json!([1]), "country_set[0]"),
        ("inference_params", json!([0.7]), "inference_params"),
        ("response_format", json!("json"), "response_format"),
        ("retrieval_params", json!([]), "retrieval_params"),
        ("tools_spec", json!({"a": 1}), "tools_spec"),
        ("workspace_id", json!("has space"), "workspace_id"),
        ("workspace_id", json!("x".repeat(129)), "workspace_id"),
        ("org_id", json!("bad/org"), "org_id"),
        (
            "system_instructions",
            json!(["not", "text"]),
            "system_instructions",
        ),
        (
            "inference_params",
            json!({"stop": "nul\u{0}char"}),
            "inference_params.stop",
        ),
    ];
    for (key, value, field) in cases {
        let mut b = avea_body();
        if value.is_null() {
            b.as_object_mut().unwrap().remove(key);
        } else {
            b[key] = value;
        }
        let r = app.post("/api/prompt-templates", &b).await;
        assert_eq!(r.status, 422, "{key}: {}", r.body);
        assert_eq!(r.body["detail"]["code"], "INVALID_FIELD", "{key}");
        assert_eq!(r.body["detail"]["field"], field, "{key}");
    }
    // UK is accepted as GB; a missing workspace is 400.
    let mut uk = avea_body();
    uk["country_set"] = json!(["uk", " ch "]);
    assert_eq!(app.post("/api/prompt-templates", &uk).await.status, 201);
    let mut no_ws = avea_body();
    no_ws.as_object_mut().unwrap().remove("workspace_id");
    let r = app.post("/api/prompt-templates", &no_ws).await;
    assert_eq!(
        (r.status, r.body["detail"]["field"].as_str()),
        (400, Some("workspace_id"))
    );
    // Nothing half-written: only the UK template exists.
    let all = app.get("/api/prompt-templates?include_deleted=true").await;
    assert_eq!(all.body["items"].as_array().unwrap().len(), 1);
}

async fn transport_errors_have_their_own_status(app: TestApp) {
    let url = app.url("/api/prompt-templates");
    let raw = |body: Vec<u8>, ctype: Option<&str>| {
        let mut req = app.client.post(&url).body(body);
        if let Some(c) = ctype {
            req = req.header("content-type", c);
        }
        req
    };
    let r = app
        .send(raw(b"{not json".to_vec(), Some("application/json")))
        .await;
    assert_eq!(
        (r.status, r.body["detail"]["code"].as_str()),
        (400, Some("MALFORMED_JSON"))
    );
    let r = app
        .send(raw(b"{\"a\": \"\xff\"}".to_vec(), Some("application/json")))
        .await;
    assert_eq!(
        (r.status, r.body["detail"]["code"].as_str()),
        (400, Some("MALFORMED_JSON"))
    );
    let r = app
        .send(raw(
            avea_body().to_string().into_bytes(),
            Some("text/plain"),
        ))
        .await;
    assert_eq!(
        (r.status, r.body["detail"]["code"].as_str()),
        (415, Some("UNSUPPORTED_MEDIA_TYPE"))
    );
    let r = app
        .send(raw(avea_body().to_string().into_bytes(), None))
        .await;
    assert_eq!(r.status, 415);
    let r = app
        .send(raw(
            avea_body().to_string().into_bytes(),
            Some("application/json; charset=utf-8"),
        ))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);

    let mut big = avea_body();
    big["system_instructions"] = json!("x".repeat(1024 * 1024 + 1));
    let r = app
        .send(raw(big.to_string().into_bytes(), Some("application/json")))
        .await;
    assert_eq!(
        (r.status, r.body["detail"]["code"].as_str()),
        (413, Some("PAYLOAD_TOO_LARGE"))
    );

    let mut deep = json!(1);
    for _ in 0..40 {
        deep = json!({"n": deep});
    }
    let mut b = avea_body();
    b["inference_params"] = deep;
    let r = app.post("/api/prompt-templates", &b).await;
    assert_eq!(
        (r.status, r.body["detail"]["field"].as_str()),
        (422, Some("body"))
    );

    let r = app
        .send(raw(b"[1, 2]".to_vec(), Some("application/json")))
        .await;
    assert_eq!(
        (r.status, r.body["detail"]["field"].as_str()),
        (422, Some("body"))
    );

    let r = app.get("/api/nothing-here").await;
    assert_eq!(
        (r.status, r.body["detail"]["code"].as_str()),
        (404, Some("NOT_FOUND"))
    );
    let r = app.send(app.client.put(&url)).await;
    assert_eq!(
        (r.status, r.body["detail"]["code"].as_str()),
        (405, Some("METHOD_NOT_ALLOWED"))
    );
}

async fn workspaces_create_list_get(app: TestApp) {
    let r = app
        .post(
            "/api/workspaces",
            &json!({"id": "brand-1", "name": "Brand One"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["org_id"], "default");
    let again = app
        .post(
            "/api/workspaces",
            &json!({"id": "brand-1", "name": "Other"}),
        )
        .await;
    assert_eq!(
        (again.status, again.body["detail"]["code"].as_str()),
        (409, Some("WORKSPACE_EXISTS"))
    );
    let generated = app
        .post("/api/workspaces", &json!({"name": "Generated id"}))
        .await;
    assert_eq!(generated.status, 201);
    let other = app
        .post(
            "/api/workspaces",
            &json!({"id": "brand-1", "org_id": "org-2", "name": "Theirs"}),
        )
        .await;
    assert_eq!(other.status, 201);

    let list = app.get("/api/workspaces").await;
    let names: HashSet<_> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        ["Brand One".to_owned(), "Generated id".to_owned()].into()
    );
    assert_eq!(
        app.get("/api/workspaces/brand-1").await.body["name"],
        "Brand One"
    );
    assert_eq!(
        app.get("/api/workspaces/brand-1?org_id=org-2").await.body["name"],
        "Theirs"
    );
    let missing = app.get("/api/workspaces/nope").await;
    assert_eq!(
        (missing.status, missing.body["detail"]["code"].as_str()),
        (404, Some("WORKSPACE_NOT_FOUND"))
    );

    for (body, field) in [
        (json!({"id": "x"}), "name"),
        (json!({"id": "x", "name": "  "}), "name"),
        (json!({"id": "bad id", "name": "n"}), "id"),
        (json!({"id": "x", "name": "n", "org_id": 5}), "org_id"),
    ] {
        let r = app.post("/api/workspaces", &body).await;
        assert_eq!(
            (r.status, r.body["detail"]["field"].as_str()),
            (422, Some(field)),
            "{body}"
        );
    }
}

async fn parallel_identical_creates_have_one_winner(app: TestApp) {
    let app = std::sync::Arc::new(app);
    let requests = (0..64).map(|i| {
        let app = app.clone();
        tokio::spawn(async move {
            let mut b = avea_body();
            b["name"] = json!(format!("Racer {i}"));
            app.post("/api/prompt-templates", &b).await
        })
    });
    let replies: Vec<_> = futures::future::join_all(requests)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    let winners: Vec<_> = replies.iter().filter(|r| r.status == 201).collect();
    assert_eq!(winners.len(), 1, "exactly one 201");
    let winner_id = &winners[0].body["id"];
    for r in &replies {
        assert!(
            r.status == 201 || r.status == 409,
            "unexpected {}: {}",
            r.status,
            r.body
        );
        if r.status == 409 {
            assert_eq!(&r.body["detail"]["template_id"], winner_id);
        }
    }
}
