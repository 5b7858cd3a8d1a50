//! The isolation matrix through the services themselves, as every front end (API, UI, CLI, job
//! workers) meets it: for each caller and operation, allowed, not found (another organisation's
//! or workspace's object looks like none) or forbidden (a role too weak). The API's own matrix
//! (`api/tests/auth_api.rs`) checks the same over HTTP. Both backends.

use std::sync::Arc;

use prompter_domain::{parse_template_spec, NameRule};
use prompter_providers::{Gateway, ProviderSettings};
use prompter_service::records::{ApiToken, Role};
use prompter_service::{
    Caller, CreateToken, CreateWorkspace, EnsureVersionRequest, InProcessProbeCache, ListTemplates,
    PageRequest, RunRequest, ServiceError, Services,
};
use prompter_testkit::TestDb;
use serde_json::json;
use uuid::Uuid;

/// What an operation answered, as the matrix compares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    Ok,
    NotFound,
    Forbidden,
}

fn seen<T>(r: Result<T, ServiceError>) -> Seen {
    match r {
        Ok(_) => Seen::Ok,
        Err(
            ServiceError::TemplateNotFound
            | ServiceError::WorkspaceNotFound
            | ServiceError::ResultNotFound
            | ServiceError::TokenNotFound,
        ) => Seen::NotFound,
        Err(ServiceError::Forbidden(_)) => Seen::Forbidden,
        Err(other) => panic!("unexpected {other:?}"),
    }
}

fn token_caller(org: &str, workspaces: Option<&[&str]>, role: Role) -> Caller {
    Caller::token(&ApiToken {
        id: Uuid::now_v7(),
        org_id: org.into(),
        workspaces: workspaces.map(|w| w.iter().map(|s| s.to_string()).collect()),
        role,
        label: None,
        created_at: chrono::Utc::now(),
        revoked_at: None,
    })
}

const WHO: [&str; 5] = ["other_org", "other_ws", "reader", "writer", "admin"];

fn caller(who: &str) -> Caller {
    match who {
        "other_org" => token_caller("org-b", None, Role::Admin),
        "other_ws" => token_caller("org-a", Some(&["ws-a1"]), Role::Writer),
        "reader" => token_caller("org-a", None, Role::Reader),
        "writer" => token_caller("org-a", None, Role::Writer),
        "admin" => token_caller("org-a", None, Role::Admin),
        _ => unreachable!(),
    }
}

async fn matrix(test_db: impl TestDb) {
    let services = Services::new(
        test_db.db(),
        Arc::new(Gateway::new(ProviderSettings::fake_only()).unwrap()),
        Arc::new(InProcessProbeCache::default()),
        false,
    );
    let operator = Caller::system();
    let spec = |ws: &str, prompt: &str| {
        parse_template_spec(
            &json!({"org_id": "org-a", "workspace_id": ws, "name": "t", "model_id": "gpt-4o",
                    "user_prompt_template": prompt}),
            NameRule::Required,
        )
        .unwrap()
    };
    let a2 = services
        .create_template(&operator, spec("ws-a2", "A two"))
        .await
        .unwrap();
    let result = services
        .run_template(&operator, a2.id, &RunRequest::default(), None)
        .await
        .unwrap()
        .result_id;

    let mut failures = Vec::new();
    for (i, who) in WHO.iter().enumerate() {
        let c = caller(who);
        let s = &services;
        let cases: Vec<(&str, Seen, [Seen; 5])> = {
            use Seen::{Forbidden as F, NotFound as N, Ok as O};
            vec![
                (
                    "get template",
                    seen(s.get_template(&c, a2.id).await),
                    [N, N, O, O, O],
                ),
                (
                    "list versions",
                    seen(s.list_versions(&c, &a2).await),
                    [N, N, O, O, O],
                ),
                (
                    "list results",
                    seen(s.list_results(&c, &a2, None, &PageRequest::default()).await),
                    [N, N, O, O, O],
                ),
                (
                    "get result",
                    seen(s.get_result(&c, result).await),
                    [N, N, O, O, O],
                ),
                (
                    "list templates of ws-a2",
                    seen(
                        s.list_templates(
                            &c,
                            &ListTemplates {
                                org_id: Some("org-a".into()),
                                workspace_id: Some("ws-a2".into()),
                                ..Default::default()
                            },
                        )
                        .await,
                    ),
                    [F, N, O, O, O],
                ),
                (
                    "check duplicate in ws-a2",
                    seen(s.check_duplicate(&c, &spec("ws-a2", "A two")).await),
                    [F, N, O, O, O],
                ),
                (
                    "create in ws-a2",
                    seen(
                        s.create_template(&c, spec("ws-a2", &format!("new {who}")))
                            .await,
                    ),
                    [F, N, F, O, O],
                ),
                (
                    "run",
                    seen(
                        s.run_template(&c, a2.id, &RunRequest::default(), None)
                            .await,
                    ),
                    [N, N, F, O, O],
                ),
                (
                    "ensure version",
                    seen(
                        s.ensure_version(&c, a2.id, &EnsureVersionRequest::default(), false)
                            .await,
                    ),
                    [N, N, F, O, O],
                ),
                (
                    "create workspace",
                    seen(
                        s.create_workspace(
                            &c,
                            CreateWorkspace {
                                org_id: Some("org-a".into()),
                                id: Some(format!("ws-new-{i}")),
                                name: Some("New".into()),
                            },
                        )
                        .await,
                    ),
                    [F, F, F, F, O],
                ),
                (
                    "list tokens",
                    seen(s.list_tokens(&c).await),
                    [O, F, F, F, O],
                ),
                (
                    "create token in org-a",
                    seen(
                        s.create_token(
                            &c,
                            CreateToken {
                                org_id: "org-a".into(),
                                workspaces: vec![],
                                role: Role::Reader,
                                label: None,
                            },
                        )
                        .await,
                    ),
                    [F, F, F, F, O],
                ),
            ]
        };
        for (what, got, expected) in cases {
            if got != expected[i] {
                failures.push(format!("{what} as {who}: {got:?} (want {:?})", expected[i]));
            }
        }
    }
    // Delete and restore last (they change what the others see): not found for strangers,
    // forbidden for the reader, fine for a writer.
    for (who, want) in [
        ("other_org", Seen::NotFound),
        ("other_ws", Seen::NotFound),
        ("reader", Seen::Forbidden),
        ("writer", Seen::Ok),
    ] {
        let got = seen(services.delete_template(&caller(who), a2.id).await);
        if got != want {
            failures.push(format!("delete as {who}: {got:?} (want {want:?})"));
        }
        let got = seen(services.restore_template(&caller(who), a2.id).await);
        if got != want {
            failures.push(format!("restore as {who}: {got:?} (want {want:?})"));
        }
    }
    // Another organisation named explicitly is forbidden, even for reading.
    let named = services
        .list_workspaces(&caller("writer"), Some("org-b"))
        .await;
    assert!(matches!(named, Err(ServiceError::Forbidden(_))));
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn isolation_matrix_sqlite() {
    matrix(prompter_testkit::fresh_sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(prompter_pg),
    ignore = "PostgreSQL not configured: set PROMPTER_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/postgres"
)]
async fn isolation_matrix_postgres() {
    matrix(prompter_testkit::fresh_postgres().await).await;
}
