//! The isolation matrix: every route × {no token, bad token, other org, other workspace, reader,
//! writer, admin} → the expected status, and no response ever carries another organisation's
//! data. On both databases.

mod common;

use common::TestApp;
use prompter_api::auth::AuthMode;
use prompter_domain::token::token_hash;
use prompter_storage::{timestamp, Database, NewToken, Role};
use prompter_testkit::TestDb;
use serde_json::{json, Value};

const WHO: [&str; 7] = [
    "none",
    "bad",
    "other_org",
    "other_ws",
    "reader",
    "writer",
    "admin",
];

async fn token(
    db: &dyn Database,
    secret: &str,
    org: &str,
    workspaces: Option<Vec<&str>>,
    role: Role,
) {
    db.create_token(NewToken {
        id: uuid::Uuid::now_v7(),
        org_id: org.into(),
        workspaces: workspaces.map(|w| w.into_iter().map(str::to_owned).collect()),
        role,
        label: None,
        token_hash: token_hash(secret),
        created_at: timestamp::now(),
    })
    .await
    .unwrap();
}

fn secret_of(who: &str) -> Option<&'static str> {
    match who {
        "none" => None,
        "bad" => Some("pt_not_a_real_token"),
        "other_org" => Some("pt_org_b_admin"),
        "other_ws" => Some("pt_org_a_ws_a1_writer"),
        "reader" => Some("pt_org_a_reader"),
        "writer" => Some("pt_org_a_writer"),
        "admin" => Some("pt_org_a_admin"),
        _ => unreachable!(),
    }
}

struct Call {
    method: &'static str,
    path: String,
    body: Option<Value>,
}

async fn send(app: &TestApp, who: &str, call: &Call) -> common::Reply {
    let url = app.url(&call.path);
    let mut req = match call.method {
        "GET" => app.client.get(url),
        "POST" => app.client.post(url),
        "DELETE" => app.client.delete(url),
        "PUT" => app.client.put(url),
        "PATCH" => app.client.patch(url),
        _ => unreachable!(),
    };
    if let Some(secret) = secret_of(who) {
        req = req.bearer_auth(secret);
    }
    if let Some(b) = &call.body {
        req = req.json(b);
    }
    let resp = req.send().await.unwrap();
    if resp.status() == 401 {
        assert_eq!(
            resp.headers()["www-authenticate"],
            "Bearer realm=\"prompter\""
        );
    }
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    common::Reply {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
    }
}

fn get_call(path: String) -> Call {
    Call {
        method: "GET",
        path,
        body: None,
    }
}

async fn isolation_matrix(test_db: impl TestDb + Send + Sync + 'static) {
    let db = test_db.db();
    token(&*db, "pt_org_a_admin", "org-a", None, Role::Admin).await;
    token(&*db, "pt_org_a_writer", "org-a", None, Role::Writer).await;
    token(&*db, "pt_org_a_reader", "org-a", None, Role::Reader).await;
    token(
        &*db,
        "pt_org_a_ws_a1_writer",
        "org-a",
        Some(vec!["ws-a1"]),
        Role::Writer,
    )
    .await;
    token(&*db, "pt_org_b_admin", "org-b", None, Role::Admin).await;
    let services = common::fake_services(db.clone());
    let app = TestApp::start_with_auth(services, Box::new(test_db), AuthMode::Required).await;

    let template = |ws: &str, prompt: &str| json!({"workspace_id": ws, "name": "t", "model_id": "gpt-4o", "user_prompt_template": prompt});
    let make = |who: &'static str, body: Value| {
        let call = Call {
            method: "POST",
            path: "/api/prompt-templates".into(),
            body: Some(body),
        };
        let app = &app;
        async move {
            let r = send(app, who, &call).await;
            assert_eq!(r.status, 201, "{}", r.body);
            r.body["id"].as_str().unwrap().to_owned()
        }
    };
    let a1 = make("admin", template("ws-a1", "A one")).await;
    let a2 = make("admin", template("ws-a2", "A two")).await;
    let b1 = make("other_org", template("ws-b1", "B one")).await;
    let run = send(
        &app,
        "admin",
        &Call {
            method: "POST",
            path: format!("/api/prompt-templates/{a2}/run"),
            body: Some(json!({})),
        },
    )
    .await;
    let result_a2 = run.body["result_id"].as_str().unwrap().to_owned();
    let batch = send(
        &app,
        "admin",
        &Call {
            method: "POST",
            path: "/api/batches".into(),
            body: Some(json!({"workspace_id": "ws-a2"})),
        },
    )
    .await;
    assert_eq!(batch.status, 202, "{}", batch.body);
    let batch_a2 = batch.body["id"].as_str().unwrap().to_owned();
    // Finished before the matrix, so that its cancel row does not race the workers.
    let finished = async {
        loop {
            let b = send(&app, "admin", &get_call(format!("/api/batches/{batch_a2}"))).await;
            if b.body["finished_at"].is_string() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(30), finished)
        .await
        .expect("the batch finishes");

    let schedule = send(
        &app,
        "admin",
        &Call {
            method: "POST",
            path: "/api/schedules".into(),
            body: Some(
                json!({"org_id": "org-a", "workspace_id": "ws-a2", "name": "nightly",
                              "cron": "0 6 * * *", "batch": {}, "enabled": false}),
            ),
        },
    )
    .await;
    assert_eq!(schedule.status, 201, "{}", schedule.body);
    let schedule_a2 = schedule.body["id"].as_str().unwrap().to_owned();

    let entities = send(
        &app,
        "admin",
        &Call {
            method: "PUT",
            path: "/api/workspaces/ws-a2/entities?org_id=org-a".into(),
            body: Some(json!({"brand": {"name": "Acme"}})),
        },
    )
    .await;
    assert_eq!(entities.status, 201, "{}", entities.body);
    let job = send(
        &app,
        "admin",
        &Call {
            method: "POST",
            path: "/api/workspaces/ws-a2/reanalyze".into(),
            body: Some(json!({"org_id": "org-a"})),
        },
    )
    .await;
    assert_eq!(job.status, 202, "{}", job.body);
    let job_a2 = job.body["id"].as_str().unwrap().to_owned();

    let t = |p: &str| format!("/api/prompt-templates/{a2}{p}");
    let get = |path: String| Call {
        method: "GET",
        path,
        body: None,
    };
    let post = |path: String, body: Value| Call {
        method: "POST",
        path,
        body: Some(body),
    };
    // Expected statuses, in the order of WHO.
    let matrix: Vec<(Call, [u16; 7])> = vec![
        (get(t("")), [401, 401, 404, 404, 200, 200, 200]),
        (get(t("/versions")), [401, 401, 404, 404, 200, 200, 200]),
        (get(t("/results")), [401, 401, 404, 404, 200, 200, 200]),
        (
            get(format!("/api/results/{result_a2}")),
            [401, 401, 404, 404, 200, 200, 200],
        ),
        (
            get(format!("/api/batches/{batch_a2}")),
            [401, 401, 404, 404, 200, 200, 200],
        ),
        (
            get(format!("/api/batches/{batch_a2}/tasks")),
            [401, 401, 404, 404, 200, 200, 200],
        ),
        (
            post(format!("/api/batches/{batch_a2}/retry-failed"), json!({})),
            [401, 401, 404, 404, 403, 200, 200],
        ),
        (
            post(
                "/api/batches".into(),
                json!({"org_id": "org-a", "workspace_id": "ws-a2"}),
            ),
            [401, 401, 403, 404, 403, 202, 202],
        ),
        (
            post(format!("/api/batches/{batch_a2}/cancel"), json!({})),
            // Only a finished batch is left to cancel (it was waited for): 409 past the access
            // checks.
            [401, 401, 404, 404, 403, 409, 409],
        ),
        (
            get(format!("/api/schedules/{schedule_a2}")),
            [401, 401, 404, 404, 200, 200, 200],
        ),
        (
            get("/api/schedules?org_id=org-a".into()),
            [401, 401, 403, 200, 200, 200, 200],
        ),
        (
            Call {
                method: "PATCH",
                path: format!("/api/schedules/{schedule_a2}"),
                body: Some(json!({"enabled": false})),
            },
            [401, 401, 404, 404, 403, 200, 200],
        ),
        (
            post(
                "/api/schedules".into(),
                json!({"org_id": "org-a", "workspace_id": "ws-a2", "name": "weekly",
                       "cron": "0 6 * * 1", "batch": {}, "enabled": false}),
            ),
            [401, 401, 403, 404, 403, 201, 201],
        ),
        (
            Call {
                method: "DELETE",
                path: format!("/api/schedules/{schedule_a2}"),
                body: None,
            },
            // The writer deletes it; then it is gone for the admin too.
            [401, 401, 404, 404, 403, 204, 404],
        ),
        (
            get("/api/batches?org_id=org-a".into()),
            [401, 401, 403, 200, 200, 200, 200],
        ),
        (
            Call {
                method: "PUT",
                path: "/api/workspaces/ws-a2/entities?org_id=org-a".into(),
                body: Some(json!({"brand": {"name": "Globex"}})),
            },
            // Created by the writer; the same content again is the existing snapshot.
            [401, 401, 403, 404, 403, 201, 200],
        ),
        (
            get("/api/workspaces/ws-a2/entities?org_id=org-a".into()),
            [401, 401, 403, 404, 200, 200, 200],
        ),
        (
            get("/api/workspaces/ws-a2/alias-snapshots?org_id=org-a".into()),
            [401, 401, 403, 404, 200, 200, 200],
        ),
        (
            get("/api/workspaces/ws-a2/near-duplicates?org_id=org-a".into()),
            [401, 401, 403, 404, 200, 200, 200],
        ),
        (
            get("/api/workspaces/ws-a2/visibility?org_id=org-a".into()),
            [401, 401, 403, 404, 200, 200, 200],
        ),
        (
            post(
                "/api/workspaces/ws-a2/reanalyze".into(),
                json!({"org_id": "org-a"}),
            ),
            [401, 401, 403, 404, 403, 202, 202],
        ),
        (
            get(format!("/api/reanalyses/{job_a2}")),
            [401, 401, 404, 404, 200, 200, 200],
        ),
        (
            Call {
                method: "PATCH",
                path: t(""),
                body: Some(json!({"tags": ["matrix"]})),
            },
            [401, 401, 404, 404, 403, 200, 200],
        ),
        (
            Call {
                method: "PATCH",
                path: "/api/workspaces/ws-a2".into(),
                body: Some(json!({"org_id": "org-a", "name": "Renamed"})),
            },
            // Workspaces are managed by admins.
            [401, 401, 403, 404, 403, 403, 200],
        ),
        (
            post(t("/ensure-version"), json!({})),
            [401, 401, 404, 404, 403, 200, 200],
        ),
        (
            post(t("/run"), json!({})),
            [401, 401, 404, 404, 403, 200, 200],
        ),
        (
            Call {
                method: "DELETE",
                path: t(""),
                body: None,
            },
            [401, 401, 404, 404, 403, 200, 200],
        ),
        (
            post(t("/restore"), json!({})),
            [401, 401, 404, 404, 403, 200, 200],
        ),
        (
            post(
                "/api/prompt-templates/check-duplicate".into(),
                json!({"org_id": "org-a", "workspace_id": "ws-a2", "model_id": "gpt-4o", "user_prompt_template": "A two"}),
            ),
            [401, 401, 403, 404, 200, 200, 200],
        ),
        (
            post(
                "/api/prompt-templates".into(),
                json!({"org_id": "org-a", "workspace_id": "ws-a2", "name": "n", "model_id": "gpt-4o", "user_prompt_template": "New in a2"}),
            ),
            [401, 401, 403, 404, 403, 201, 409],
        ),
        (
            get("/api/prompt-templates?org_id=org-a".into()),
            [401, 401, 403, 200, 200, 200, 200],
        ),
        (
            get("/api/workspaces?org_id=org-a".into()),
            [401, 401, 403, 200, 200, 200, 200],
        ),
        (
            get("/api/workspaces/ws-a2?org_id=org-a".into()),
            [401, 401, 403, 404, 200, 200, 200],
        ),
        (
            post(
                "/api/workspaces".into(),
                json!({"org_id": "org-a", "id": "ws-new", "name": "New"}),
            ),
            // Workspaces are managed by admins: the writer is refused, the admin creates.
            [401, 401, 403, 403, 403, 403, 201],
        ),
        // Tokens too: each admin manages its own organisation's.
        (
            get("/api/tokens".into()),
            [401, 401, 200, 403, 403, 403, 200],
        ),
        (
            post(
                "/api/tokens".into(),
                json!({"role": "reader", "label": "from the matrix"}),
            ),
            [401, 401, 201, 403, 403, 403, 201],
        ),
        (
            post(
                "/api/tokens".into(),
                json!({"org_id": "org-a", "role": "reader"}),
            ),
            [401, 401, 403, 403, 403, 403, 201],
        ),
        (
            Call {
                method: "DELETE",
                path: format!("/api/tokens/{}", uuid::Uuid::now_v7()),
                body: None,
            },
            [401, 401, 404, 403, 403, 403, 404],
        ),
    ];
    let mut failures = Vec::new();
    for (call, expected) in &matrix {
        for (who, want) in WHO.iter().zip(expected) {
            let r = send(&app, who, call).await;
            if r.status != *want {
                failures.push(format!(
                    "{} {} as {who}: {} (want {want}) {}",
                    call.method, call.path, r.status, r.body
                ));
            }
            let text = r.body.to_string();
            if *who == "other_org" {
                for own in [&a1, &a2, &result_a2, &batch_a2, &job_a2, &schedule_a2] {
                    assert!(
                        !text.contains(own.as_str()),
                        "org B saw org A's {own}: {text}"
                    );
                }
            } else {
                assert!(
                    !text.contains(b1.as_str()),
                    "{who} saw org B's template: {text}"
                );
            }
            if *who == "other_ws" {
                assert!(
                    !text.contains(a2.as_str()),
                    "a ws-a1 token saw ws-a2's template: {text}"
                );
                assert!(
                    !text.contains(batch_a2.as_str()),
                    "a ws-a1 token saw ws-a2's batch: {text}"
                );
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );

    // Lists are scoped, not just refused.
    let limited = send(&app, "other_ws", &get("/api/prompt-templates".into())).await;
    let ids: Vec<_> = limited.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, vec![a1.clone()]);
    let theirs = send(&app, "other_org", &get("/api/prompt-templates".into())).await;
    assert_eq!(theirs.body["items"].as_array().unwrap().len(), 1);
    // Operations endpoints need no token.
    assert_eq!(
        send(&app, "none", &get("/api/prompt-templates/health".into()))
            .await
            .status,
        200
    );
    assert_eq!(send(&app, "none", &get("/readyz".into())).await.status, 200);
    // A revoked token stops working at once.
    let tokens = db.list_tokens().await.unwrap();
    let reader = tokens.iter().find(|t| t.role == Role::Reader).unwrap();
    db.revoke_token(reader.id).await.unwrap();
    assert_eq!(send(&app, "reader", &get(t(""))).await.status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn isolation_matrix_sqlite() {
    isolation_matrix(prompter_testkit::fresh_sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    not(prompter_pg),
    ignore = "PostgreSQL not configured: set PROMPTER_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/postgres"
)]
async fn isolation_matrix_postgres() {
    isolation_matrix(prompter_testkit::fresh_postgres().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_token_is_rate_limited_with_retry_after() {
    let test_db = prompter_testkit::fresh_sqlite().await;
    let db = test_db.db();
    token(&*db, "pt_fast", "org-a", None, Role::Reader).await;
    token(&*db, "pt_other", "org-a", None, Role::Reader).await;
    let services = common::fake_services(db).with_rate_limit(std::num::NonZeroU32::new(5).unwrap());
    let app = TestApp::start_with_auth(services, Box::new(test_db), AuthMode::Required).await;
    let client = reqwest::Client::new();
    let url = app.url("/api/prompt-templates");
    let mut statuses = Vec::new();
    for _ in 0..7 {
        let r = client
            .get(&url)
            .bearer_auth("pt_fast")
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
        if r.status() == 429 {
            let wait: u64 = r.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=60).contains(&wait));
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["detail"]["code"], "RATE_LIMITED");
        }
    }
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429, 429]);
    let other = client
        .get(&url)
        .bearer_auth("pt_other")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200, "limits are per token");
}

async fn an_admin_manages_its_organisations_tokens(test_db: impl TestDb + Send + Sync + 'static) {
    let db = test_db.db();
    token(&*db, "pt_org_a_admin", "org-a", None, Role::Admin).await;
    token(&*db, "pt_org_b_admin", "org-b", None, Role::Admin).await;
    let services = common::fake_services(db.clone());
    let app = TestApp::start_with_auth(services, Box::new(test_db), AuthMode::Required).await;
    let call = |method, path: &str, body| Call {
        method,
        path: path.to_owned(),
        body,
    };

    let created = send(
        &app,
        "admin",
        &call(
            "POST",
            "/api/tokens",
            Some(json!({"role": "writer", "workspaces": ["ws-a1"], "label": "CI"})),
        ),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["org_id"], "org-a");
    assert_eq!(created.body["role"], "writer");
    assert_eq!(created.body["workspaces"], json!(["ws-a1"]));
    let secret = created.body["secret"].as_str().unwrap().to_owned();
    let id = created.body["id"].as_str().unwrap().to_owned();

    // The new token works, within its workspace.
    let with_new = |path: &str| app.client.get(app.url(path)).bearer_auth(&secret);
    assert_eq!(
        app.send(with_new("/api/prompt-templates?workspace_id=ws-a1"))
            .await
            .status,
        200
    );
    assert_eq!(
        app.send(with_new("/api/prompt-templates?workspace_id=ws-a2"))
            .await
            .status,
        404
    );

    // Listed for its admin, never with a secret; not listed for another organisation's admin.
    let listed = send(&app, "admin", &call("GET", "/api/tokens", None)).await;
    let items = listed.body["items"].as_array().unwrap();
    assert!(items.iter().any(|t| t["id"] == id.as_str()));
    assert!(
        items.iter().all(|t| t.get("secret").is_none()),
        "{}",
        listed.body
    );
    assert!(!listed.body.to_string().contains(&secret));
    let theirs = send(&app, "other_org", &call("GET", "/api/tokens", None)).await;
    assert!(!theirs.body.to_string().contains(&id), "{}", theirs.body);

    // Bad input names the field.
    let bad = send(
        &app,
        "admin",
        &call("POST", "/api/tokens", Some(json!({"role": "owner"}))),
    )
    .await;
    assert_eq!(
        (bad.status, bad.body["detail"]["field"].as_str()),
        (422, Some("role"))
    );
    let bad = send(
        &app,
        "admin",
        &call(
            "POST",
            "/api/tokens",
            Some(json!({"workspaces": ["not a workspace!"]})),
        ),
    )
    .await;
    assert_eq!(
        (bad.status, bad.body["detail"]["field"].as_str()),
        (422, Some("workspaces[0]"))
    );

    // Another organisation's admin cannot revoke it; its own admin can, once.
    let path = format!("/api/tokens/{id}");
    assert_eq!(
        send(&app, "other_org", &call("DELETE", &path, None))
            .await
            .status,
        404
    );
    assert_eq!(
        send(&app, "admin", &call("DELETE", &path, None))
            .await
            .status,
        204
    );
    assert_eq!(
        send(&app, "admin", &call("DELETE", &path, None))
            .await
            .status,
        404
    );
    assert_eq!(
        app.send(with_new("/api/prompt-templates?workspace_id=ws-a1"))
            .await
            .status,
        401
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_admin_manages_its_organisations_tokens_sqlite() {
    an_admin_manages_its_organisations_tokens(prompter_testkit::fresh_sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    not(prompter_pg),
    ignore = "PostgreSQL not configured: set PROMPTER_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/postgres"
)]
async fn an_admin_manages_its_organisations_tokens_postgres() {
    an_admin_manages_its_organisations_tokens(prompter_testkit::fresh_postgres().await).await;
}
