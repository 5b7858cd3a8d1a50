//! The UI with tokens required: sign-in and sign-out, the session cookie, and a signed-in viewer
//! seeing exactly what their token lets the API see (organisation, workspaces, role). Every case
//! runs on SQLite and on PostgreSQL.

mod common;

use common::{esc, template_fields, UiApp};
use prompter_storage::Role;
use serde_json::{json, Value};

const PROMPT: &str = "What is {{brand_name}} known for in {{country}}?";

const ADMIN_A: &str = "pt_ui_org_a_admin";
const ADMIN_B: &str = "pt_ui_org_b_admin";
const WRITER_A1: &str = "pt_ui_org_a_ws_a1_writer";
const ADMIN_A1: &str = "pt_ui_org_a_ws_a1_admin";
const READER_A: &str = "pt_ui_org_a_reader";

/// Creates a template through the form; returns its id.
async fn template(app: &UiApp, ws: &str, name: &str, prompt: &str) -> String {
    app.create_template(ws, &template_fields(name, prompt))
        .await
}

/// Runs a template through the form; returns the result id.
async fn run(app: &UiApp, ws: &str, id: &str) -> String {
    let r = app
        .post_form(
            &format!("/brands/{ws}/templates/{id}/run"),
            &[
                ("country", "US"),
                ("brand_name", "Acme"),
                ("runtime_vars", ""),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "run failed:\n{}", r.body);
    let loc = r.location.unwrap();
    let ran = loc.split("ran=").nth(1).unwrap();
    ran.split('#').next().unwrap().to_owned()
}

fn set_cookie<'a>(page: &'a common::Page, name: &str) -> Option<&'a str> {
    page.headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.starts_with(&format!("{name}=")))
}

/// Forgets every cookie: a new browser.
fn new_browser(app: &UiApp) {
    app.set_cookie("prompter_session", None);
    app.set_cookie("prompter_csrf", None);
}

async fn pages_need_sign_in(app: UiApp) {
    let r = app.get("/").await;
    assert_eq!(r.status, 303);
    assert_eq!(r.location.as_deref(), Some("/sign-in"));
    let r = app.get("/brands/acme/templates?q=x y").await;
    assert_eq!(r.status, 303);
    assert_eq!(
        r.location.as_deref(),
        Some("/sign-in?next=%2Fbrands%2Facme%2Ftemplates%3Fq%3Dx%2520y")
    );
    for path in ["/brands", "/results/0190", "/brands/acme/templates/new"] {
        let r = app.get(path).await;
        assert_eq!(r.status, 303, "{path}");
        assert!(r.location.unwrap().starts_with("/sign-in"), "{path}");
    }
    // What the sign-in page needs is open.
    assert_eq!(app.get("/static/app.css").await.status, 200);
    let page = app.get("/sign-in?next=%2Fbrands").await;
    assert_eq!(page.status, 200);
    page.assert_contains(r#"<label for="f-token">API token</label>"#)
        .assert_contains(r#"type="password""#)
        .assert_contains(r#"name="next" value="/brands""#)
        .assert_contains(r#"action="/sign-in""#)
        .assert_lacks("Sign out");
    // Posts without a session: a 401 page pointing at the sign-in, before any handler runs.
    let r = app
        .post_form("/brands", &[("name", "Acme"), ("id", "acme")])
        .await;
    assert_eq!(r.status, 401);
    r.assert_contains("Sign in first")
        .assert_contains(r#"href="/sign-in""#);
    assert!(app
        .services
        .database()
        .list_workspaces(&prompter_domain::OrgId::default_org())
        .await
        .unwrap()
        .is_empty());
    // The API keeps asking for its bearer token.
    let (status, _) = app
        .api_post(
            "/api/prompt-templates/check-duplicate",
            &json!({"workspace_id": "w", "user_prompt_template": "x", "model_id": "gpt-4o"}),
        )
        .await;
    assert_eq!(status, 401);
}

async fn sign_in_sets_an_http_only_strict_cookie(app: UiApp) {
    app.add_token(ADMIN_A, "org-a", None, Role::Admin, Some("Ana (marketing)"))
        .await;
    let revoked = app
        .add_token("pt_ui_revoked", "org-a", None, Role::Admin, None)
        .await;
    assert!(app.services.database().revoke_token(revoked).await.unwrap());

    // Without the CSRF token: refused like every other form.
    let r = app
        .send_bare(
            app.client
                .post(app.url("/sign-in"))
                .form(&[("token", ADMIN_A)]),
        )
        .await;
    assert_eq!(r.status, 403);

    for (secret, status, message) in [
        ("", 422, "Paste an API token"),
        ("   ", 422, "Paste an API token"),
        ("pt_wrong", 401, "That token is not valid"),
        ("pt_ui_revoked", 401, "That token is not valid"),
        (&"x".repeat(5000), 401, "That token is not valid"),
    ] {
        let r = app
            .post_form("/sign-in", &[("token", secret), ("next", "/brands")])
            .await;
        assert_eq!(r.status, status, "{secret:?}");
        r.assert_contains(message)
            .assert_contains(r#"aria-invalid="true""#)
            .assert_contains(r#"name="next" value="/brands""#);
        assert!(set_cookie(&r, "prompter_session").is_none());
    }

    let csrf_before = app.token();
    let r = app
        .post_form(
            "/sign-in",
            &[
                ("token", &format!("  {ADMIN_A}\n")),
                ("next", "/brands?x=1"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location.as_deref(), Some("/brands?x=1"));
    let cookie = set_cookie(&r, "prompter_session").unwrap();
    assert_eq!(
        cookie,
        format!("prompter_session={ADMIN_A}; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200")
    );
    // A fresh CSRF token comes with the session.
    assert_ne!(app.token(), csrf_before);

    let page = app.get("/brands").await;
    assert_eq!(page.status, 200);
    page.assert_contains(&esc("Ana (marketing)"))
        .assert_contains(r#"<span class="badge viewer-role">admin</span>"#)
        .assert_contains(r#"action="/sign-out""#);
    assert_eq!(
        page.headers.get("cache-control").unwrap(),
        "no-store",
        "pages with a tenant's data are not cached"
    );
    // Signed in, the sign-in page leads on.
    let r = app.get("/sign-in?next=%2Fbrands").await;
    assert_eq!((r.status, r.location.as_deref()), (303, Some("/brands")));

    // Off-site `next` addresses are ignored.
    for next in ["https://evil.example/", "//evil.example", "/\\evil.example"] {
        new_browser(&app);
        let r = app
            .post_form("/sign-in", &[("token", ADMIN_A), ("next", next)])
            .await;
        assert_eq!(
            (r.status, r.location.as_deref()),
            (303, Some("/")),
            "{next}"
        );
    }

    // Behind a TLS-terminating proxy the cookies are also Secure.
    new_browser(&app);
    app.get("/static/app.css").await;
    let token = app.token();
    let r = app
        .send(
            app.client
                .post(app.url("/sign-in"))
                .header("x-forwarded-proto", "https")
                .form(&[("csrf_token", token.as_str()), ("token", ADMIN_A)]),
        )
        .await;
    assert_eq!(r.status, 303);
    assert!(set_cookie(&r, "prompter_session")
        .unwrap()
        .ends_with("; Secure"));
    assert!(set_cookie(&r, "prompter_csrf")
        .unwrap()
        .ends_with("; Secure"));
}

async fn sign_out_and_revocation_end_the_session(app: UiApp) {
    let id = app
        .add_token(ADMIN_A, "org-a", None, Role::Admin, None)
        .await;
    app.sign_in(ADMIN_A).await;
    assert_eq!(app.get("/").await.status, 200);

    let r = app.post_form("/sign-out", &[]).await;
    assert_eq!((r.status, r.location.as_deref()), (303, Some("/sign-in")));
    assert!(set_cookie(&r, "prompter_session")
        .unwrap()
        .contains("Max-Age=0"));
    assert_eq!(app.cookie("prompter_session"), None);
    assert_eq!(app.get("/").await.status, 303);
    // A GET does not sign out (no cross-site logout by image tag).
    app.sign_in(ADMIN_A).await;
    let r = app.get("/sign-out").await;
    assert_eq!(r.status, 303);
    assert_eq!(app.get("/").await.status, 200);

    // Revoking the token ends its sessions at the next request, without a restart.
    assert!(app.services.database().revoke_token(id).await.unwrap());
    let r = app.get("/brands").await;
    assert_eq!(r.status, 303);
    assert_eq!(r.location.as_deref(), Some("/sign-in?next=%2Fbrands"));
    assert!(set_cookie(&r, "prompter_session")
        .unwrap()
        .contains("Max-Age=0"));
    let r = app
        .post_form("/sign-in", &[("token", ADMIN_A), ("next", "/")])
        .await;
    assert_eq!(r.status, 401);
}

async fn a_token_sees_only_its_org_and_workspaces(app: UiApp) {
    app.add_token(ADMIN_A, "org-a", None, Role::Admin, None)
        .await;
    app.add_token(ADMIN_B, "org-b", None, Role::Admin, None)
        .await;
    app.add_token(WRITER_A1, "org-a", Some(&["a1", "a3"]), Role::Writer, None)
        .await;
    app.add_token(ADMIN_A1, "org-a", Some(&["a1", "a3"]), Role::Admin, None)
        .await;

    // Org A's admin sets up two brands, org B's admin one, with a template and a result each.
    app.sign_in(ADMIN_A).await;
    app.create_brand("a1", "Alpha One").await;
    app.create_brand("a2", "Alpha Two").await;
    let t_a1 = template(&app, "a1", "A1 template", PROMPT).await;
    let t_a2 = template(&app, "a2", "A2 template", PROMPT).await;
    let r_a2 = run(&app, "a2", &t_a2).await;
    // The form's org is the token's: the template was created in org-a.
    let stored = app
        .services
        .database()
        .get_template(t_a1.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.org_id, "org-a");

    new_browser(&app);
    app.sign_in(ADMIN_B).await;
    app.create_brand("b1", "Beta One").await;
    let t_b1 = template(&app, "b1", "B1 template", PROMPT).await;
    let r_b1 = run(&app, "b1", &t_b1).await;
    let brands = app.get("/brands").await;
    brands
        .assert_contains("Beta One")
        .assert_lacks("Alpha One")
        .assert_lacks("Alpha Two");
    // Org A's things do not exist for org B.
    for path in [
        "/brands/a1/templates".to_owned(),
        format!("/brands/a1/templates/{t_a1}"),
        format!("/brands/b1/templates/{t_a1}"),
        format!("/results/{r_a2}"),
        format!("/brands/b1/results/{r_a2}"),
    ] {
        assert_eq!(app.get(&path).await.status, 404, "{path}");
    }

    // The workspace-limited writer of org A: a1 only (a3 does not exist yet).
    new_browser(&app);
    app.sign_in(WRITER_A1).await;
    let brands = app.get("/brands").await;
    brands
        .assert_contains("Alpha One")
        .assert_lacks("Alpha Two")
        .assert_lacks("Beta One");
    let list = app.get("/brands/a1/templates").await;
    assert_eq!(list.status, 200);
    list.assert_contains("A1 template")
        .assert_lacks("Alpha Two")
        .assert_contains("New template");
    for path in [
        "/brands/a2/templates".to_owned(),
        "/brands/a2/templates/new".to_owned(),
        format!("/brands/a2/templates/{t_a2}"),
        format!("/brands/a1/templates/{t_a2}"),
        format!("/brands/a2/results/{r_a2}"),
        format!("/results/{r_a2}"),
        format!("/results/{r_b1}"),
        "/brands/b1/templates".to_owned(),
    ] {
        assert_eq!(app.get(&path).await.status, 404, "{path}");
    }
    for (path, fields) in [
        (format!("/brands/a2/templates/{t_a2}/delete"), vec![]),
        (
            format!("/brands/a2/templates/{t_a2}/run"),
            vec![("country", "US"), ("brand_name", "x")],
        ),
        (
            "/brands/a2/templates".to_owned(),
            template_fields("X", "Other"),
        ),
    ] {
        assert_eq!(app.post_form(&path, &fields).await.status, 404, "{path}");
    }
    let check = app
        .send(
            app.client
                .post(app.url("/brands/a2/check-duplicate"))
                .header("x-csrf-token", app.token())
                .json(&json!({"user_prompt_template": PROMPT, "model_id": "gpt-4o"})),
        )
        .await;
    assert_eq!(check.status, 404);
    // Brands are created by admins: a writer is not offered the form, and is refused.
    brands.assert_lacks(r#"id="new-brand""#);
    for id in ["a3", "a4"] {
        let r = app
            .post_form("/brands", &[("name", "Alpha X"), ("id", id)])
            .await;
        assert_eq!(r.status, 403, "{id}");
        r.assert_contains("Only admin tokens create brands");
    }
    // It can work in its own brand: create and run.
    let t = template(&app, "a1", "Writer's template", "Another {{brand_name}}").await;
    run(&app, "a1", &t).await;
    // No page shown to this token names another brand's template or result.
    for path in ["/brands".to_owned(), format!("/brands/a1/templates/{t_a1}")] {
        let page = app.get(&path).await;
        assert_eq!(page.status, 200);
        for other in [&t_a2, &r_a2, &t_b1, &r_b1] {
            page.assert_lacks(other);
        }
    }

    // A workspace-limited admin: a brand outside the token's list cannot be created; one inside
    // it can, in the token's org.
    new_browser(&app);
    app.sign_in(ADMIN_A1).await;
    app.get("/brands")
        .await
        .assert_contains(r#"id="new-brand""#)
        .assert_lacks("Alpha Two");
    let r = app
        .post_form("/brands", &[("name", "Alpha Four"), ("id", "a4")])
        .await;
    assert_eq!(r.status, 403);
    r.assert_contains("your token may not use a brand with id a4");
    app.create_brand("a3", "Alpha Three").await;
    let ws = app
        .services
        .database()
        .get_workspace(
            &prompter_domain::OrgId::parse("org-a").unwrap(),
            &prompter_domain::WorkspaceId::parse("a3").unwrap(),
        )
        .await
        .unwrap();
    assert!(ws.is_some(), "a3 is created in the token's org");
    // The writer of a1 and a3 now sees it too.
    new_browser(&app);
    app.sign_in(WRITER_A1).await;
    app.get("/brands")
        .await
        .assert_contains("Alpha One")
        .assert_contains("Alpha Three")
        .assert_lacks("Alpha Two");
}

async fn a_reader_looks_but_cannot_change_anything(app: UiApp) {
    app.add_token(ADMIN_A, "org-a", None, Role::Admin, None)
        .await;
    app.add_token(READER_A, "org-a", None, Role::Reader, Some("Auditor"))
        .await;
    app.sign_in(ADMIN_A).await;
    app.create_brand("a1", "Alpha One").await;
    let t = template(&app, "a1", "A1 template", PROMPT).await;
    let result = run(&app, "a1", &t).await;
    let deleted = template(&app, "a1", "Old template", "Old {{brand_name}}").await;
    assert_eq!(
        app.post_form(&format!("/brands/a1/templates/{deleted}/delete"), &[])
            .await
            .status,
        303
    );

    new_browser(&app);
    app.sign_in(READER_A).await;
    let brands = app.get("/brands").await;
    brands
        .assert_contains("Alpha One")
        .assert_contains(r#"<span class="badge viewer-role">reader</span>"#)
        .assert_lacks(r#"id="new-brand""#);
    let list = app.get("/brands/a1/templates?deleted=1").await;
    list.assert_contains("A1 template")
        .assert_contains("Old template")
        .assert_lacks("New template")
        .assert_lacks("/delete\"")
        .assert_lacks("/restore\"");
    let detail = app.get(&format!("/brands/a1/templates/{t}")).await;
    assert_eq!(detail.status, 200);
    detail
        .assert_contains(r#"id="run-read-only""#)
        .assert_lacks(r#"action="/brands/a1/templates/"#)
        .assert_lacks("Copy as new")
        .assert_contains(&result);
    assert_eq!(
        app.get(&format!("/brands/a1/results/{result}"))
            .await
            .status,
        200
    );
    assert_eq!(app.get("/brands/a1/templates/new").await.status, 403);

    let results_before = app
        .services
        .database()
        .list_results(t.parse().unwrap(), None, 100, None)
        .await
        .unwrap()
        .items
        .len();
    for (path, fields) in [
        ("/brands".to_owned(), vec![("name", "New"), ("id", "new")]),
        (
            "/brands/a1/templates".to_owned(),
            template_fields("X", "Other {{brand_name}}"),
        ),
        (format!("/brands/a1/templates/{t}/delete"), vec![]),
        (format!("/brands/a1/templates/{deleted}/restore"), vec![]),
        (
            format!("/brands/a1/templates/{t}/run"),
            vec![("country", "US"), ("brand_name", "x")],
        ),
    ] {
        let r = app.post_form(&path, &fields).await;
        assert_eq!(r.status, 403, "{path}");
        r.assert_contains("read-only");
    }
    // Nothing changed.
    let db = app.services.database();
    assert!(db
        .get_template(t.parse().unwrap())
        .await
        .unwrap()
        .unwrap()
        .deleted_at
        .is_none());
    assert!(db
        .get_template(deleted.parse().unwrap())
        .await
        .unwrap()
        .unwrap()
        .deleted_at
        .is_some());
    assert_eq!(
        db.list_results(t.parse().unwrap(), None, 100, None)
            .await
            .unwrap()
            .items
            .len(),
        results_before
    );
    let org_a = prompter_domain::OrgId::parse("org-a").unwrap();
    assert_eq!(db.list_workspaces(&org_a).await.unwrap().len(), 1);
    // Checking for a duplicate writes nothing: readers may.
    let check = app
        .send(
            app.client
                .post(app.url("/brands/a1/check-duplicate"))
                .header("x-csrf-token", app.token())
                .json(&json!({"user_prompt_template": PROMPT, "model_id": "gpt-4o"})),
        )
        .await;
    assert_eq!(check.status, 200);
}

/// The create form's live check: scoped by the session and the URL, guarded by the CSRF header.
async fn the_live_duplicate_check_is_scoped_and_csrf_guarded(app: UiApp) {
    app.add_token(ADMIN_A, "org-a", None, Role::Admin, None)
        .await;
    app.sign_in(ADMIN_A).await;
    app.create_brand("a1", "Alpha One").await;
    let fields = template_fields("Original", PROMPT);
    let id = app.create_template("a1", &fields).await;
    let body = json!({
        // Whatever the body names, the session's org and the URL's brand are checked.
        "org_id": "org-b", "workspace_id": "elsewhere",
        "user_prompt_template": PROMPT, "model_id": "gpt-4o",
        "system_instructions": "Be concise.", "country_set": ["US", "CH"],
        "inference_params": {"temperature": 0.7}
    });
    let check = |headers: Option<String>, body: Value| {
        let mut req = app
            .client
            .post(app.url("/brands/a1/check-duplicate"))
            .json(&body);
        if let Some(h) = headers {
            req = req.header("x-csrf-token", h);
        }
        app.send(req)
    };
    let r = check(Some(app.token()), body.clone()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["exact_match"], true);
    assert_eq!(v["template_id"], id.as_str());
    assert_eq!(v["template_name"], "Original");

    let mut other = body.clone();
    other["model_id"] = json!("gpt-4o-mini");
    let r = check(Some(app.token()), other).await;
    let v: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!((r.status, &v["exact_match"]), (200, &json!(false)));

    assert_eq!(check(None, body.clone()).await.status, 403);
    assert_eq!(check(Some("0".repeat(64)), body.clone()).await.status, 403);

    let r = check(
        Some(app.token()),
        json!({"model_id": "gpt-4o", "user_prompt_template": PROMPT, "country_set": ["XX"]}),
    )
    .await;
    assert_eq!(r.status, 422);
    let v: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["error"]["field"], "country_set[0]");
    let r = check(Some(app.token()), json!([1, 2])).await;
    assert_eq!(r.status, 422);
}

/// A link from another site: the browser withholds the Strict cookie on that first request, so
/// the page reloads itself from this site (cookie sent) instead of asking to sign in again.
async fn a_link_from_another_site_keeps_the_session(app: UiApp) {
    app.add_token(ADMIN_A, "org-a", None, Role::Admin, None)
        .await;
    app.sign_in(ADMIN_A).await;
    app.create_brand("a1", "Alpha One").await;
    let from_chat = |site: &'static str| {
        app.client
            .get(app.url("/brands/a1/templates"))
            .header("sec-fetch-site", site)
            .header("sec-fetch-mode", "navigate")
    };
    // The cross-site request, as the browser sends it: without the session cookie.
    let bounce = app.send_bare(from_chat("cross-site")).await;
    assert_eq!(bounce.status, 200);
    bounce.assert_contains(r#"<meta http-equiv="refresh" content="0">"#);
    assert!(set_cookie(&bounce, "prompter_session").is_none());
    // The reload comes from this site, with the cookie: the page.
    let page = app.send(from_chat("same-origin")).await;
    assert_eq!(page.status, 200);
    page.assert_contains("Alpha One");
    // Really signed out: the reload (same-origin, no cookie) goes to the sign-in page; no loop.
    let r = app.send_bare(from_chat("same-origin")).await;
    assert_eq!(r.status, 303);
    assert!(r.location.unwrap().starts_with("/sign-in"));
    // Only navigations bounce; a cross-site POST is refused as before.
    let r = app
        .send_bare(
            app.client
                .post(app.url("/brands"))
                .header("sec-fetch-site", "cross-site")
                .form(&[("name", "x")]),
        )
        .await;
    assert_eq!(r.status, 403);
}

/// A signed-in browser and the API share the token's requests per minute; assets are free.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_count_against_the_tokens_rate_limit() {
    let app =
        UiApp::start_with_tokens_and_limit(prompter_testkit::fresh_sqlite().await, Some(4)).await;
    app.add_token(ADMIN_A, "org-a", None, Role::Admin, None)
        .await;
    app.add_token(ADMIN_B, "org-b", None, Role::Admin, None)
        .await;
    app.sign_in(ADMIN_A).await; // checking the token counts: the first request
    for _ in 0..2 {
        assert_eq!(app.get("/brands").await.status, 200);
    }
    for _ in 0..5 {
        assert_eq!(app.get("/static/app.css").await.status, 200);
    }
    let api = |secret: &str| {
        app.client
            .get(app.url("/api/prompt-templates"))
            .bearer_auth(secret)
    };
    assert_eq!(app.send_bare(api(ADMIN_A)).await.status, 200); // the fourth request
    let limited = app.get("/brands").await;
    assert_eq!(limited.status, 429);
    limited.assert_contains("Too many requests");
    let retry: u64 = limited.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(app.send_bare(api(ADMIN_A)).await.status, 429);
    // Another token has its own budget.
    assert_eq!(app.send_bare(api(ADMIN_B)).await.status, 200);
}

macro_rules! on_both_backends {
    ($($case:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let app = super::UiApp::start_with_tokens(prompter_testkit::fresh_sqlite().await).await;
                    super::$case(app).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(not(prompter_pg), ignore = "PostgreSQL not configured: set PROMPTER_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/postgres")]
                async fn $case() {
                    let app = super::UiApp::start_with_tokens(prompter_testkit::fresh_postgres().await).await;
                    super::$case(app).await;
                }
            )+
        }
    };
}

on_both_backends!(
    pages_need_sign_in,
    sign_in_sets_an_http_only_strict_cookie,
    sign_out_and_revocation_end_the_session,
    a_token_sees_only_its_org_and_workspaces,
    a_reader_looks_but_cannot_change_anything,
    the_live_duplicate_check_is_scoped_and_csrf_guarded,
    a_link_from_another_site_keeps_the_session,
);

#[tokio::test]
async fn with_auth_off_there_is_nothing_to_sign_in_to() {
    let app = UiApp::start().await;
    let r = app.get("/sign-in?next=%2Fbrands").await;
    assert_eq!((r.status, r.location.as_deref()), (303, Some("/brands")));
    let r = app.post_form("/sign-in", &[("token", "pt_x")]).await;
    assert_eq!((r.status, r.location.as_deref()), (303, Some("/")));
    let home = app.get("/").await;
    assert_eq!(home.status, 200);
    home.assert_lacks("Sign out");
}
