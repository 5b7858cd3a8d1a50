//! Schedules in the web UI (create with every field's message on the page, pause/resume,
//! delete, what a fired slot left), and who may see and change batches and schedules: a reader
//! looks but gets no write button and a 403 for every write; another organisation sees neither.
//! Every case runs on SQLite and on PostgreSQL.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::batches::{app_with, fake_app, settled, slow_fake, start_batch, Guard};
use common::{esc, template_fields, UiApp};
use prompter_service::records::BatchStatus;
use prompter_service::Caller;
use prompter_storage::{Database, Role};
use serde_json::json;

const PROMPT: &str = "What is {{brand_name}} known for in {{country}}?";

async fn schedules_are_created_paused_resumed_and_deleted(db: Arc<dyn Database>, guard: Guard) {
    let app = fake_app(db, guard).await;
    app.create_brand("acme", "Acme").await;
    let page = app.get("/brands/acme/schedules").await;
    assert_eq!(page.status, 200);
    page.assert_contains("No schedules in Acme yet")
        .assert_contains(r#"id="new-schedule""#)
        .assert_contains(r#"name="timezone" type="text" value="UTC""#)
        .assert_contains(r#"name="brand_name" type="text" value="Acme""#);
    let form = |name: &'static str, cron: &'static str, tz: &'static str| {
        vec![
            ("name", name),
            ("cron", cron),
            ("timezone", tz),
            ("samples", "2"),
            ("brand_name", "Acme"),
            ("countries", "US"),
            ("runtime_vars", ""),
        ]
    };
    // A brand without templates has nothing to schedule.
    let r = app
        .post_form(
            "/brands/acme/schedules",
            &form("Weekly", "0 6 * * 1", "UTC"),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    r.assert_contains(r#"id="f-countries-error""#)
        .assert_contains("batch.countries the batch has no task to run");
    let mut all_countries = form("Weekly", "0 6 * * 1", "UTC");
    all_countries[5] = ("countries", "");
    let r = app
        .post_form("/brands/acme/schedules", &all_countries)
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    r.assert_contains(r#"id="schedule-error""#)
        .assert_contains("batch.template_ids the batch has no task to run");
    app.create_template("acme", &template_fields("Coffee question", PROMPT))
        .await;

    // Each bad field: 422, its message next to it, what was typed kept; never a 500.
    let mut cases = vec![
        (
            form("Weekly", "every monday", "UTC"),
            "cron",
            "cron must have 5 fields",
        ),
        (
            form("Weekly", "61 * * * *", "UTC"),
            "cron",
            "cron is not a cron expression",
        ),
        (
            form("Weekly", "0 6 * * 1", "Mars/Olympus"),
            "timezone",
            "is not an IANA time zone",
        ),
        (
            form("  ", "0 6 * * 1", "UTC"),
            "name",
            "name must be 1–200 characters",
        ),
    ];
    let mut samples = form("Weekly", "0 6 * * 1", "UTC");
    samples[3] = ("samples", "0");
    cases.push((samples, "samples", "batch.samples must be from 1 to 50"));
    let mut countries = form("Weekly", "0 6 * * 1", "UTC");
    countries[5] = ("countries", "US, XX");
    cases.push((
        countries,
        "countries",
        "is not an ISO 3166-1 alpha-2 country code",
    ));
    for (fields, field, message) in &cases {
        let r = app.post_form("/brands/acme/schedules", fields).await;
        assert_eq!(r.status, 422, "{field}: {}", r.body);
        r.assert_contains(&format!(r#"id="f-{field}-error""#))
            .assert_contains(&esc(message));
        let (_, typed) = fields.iter().find(|(f, _)| f == field).unwrap();
        r.assert_contains(&format!(r#"value="{}""#, esc(typed)));
    }
    assert!(app
        .services
        .list_schedules(&Caller::system(), None, Some("acme"))
        .await
        .unwrap()
        .is_empty());

    let page = app
        .post_and_follow(
            "/brands/acme/schedules",
            &form("Weekly", "0 6 * * 1", "Europe/Zurich"),
        )
        .await;
    page.assert_contains("Schedule created.")
        .assert_contains("Weekly <span class=\"badge badge-ok\">Active</span>")
        .assert_contains(r#"<code class="schedule-cron">0 6 * * 1</code>"#)
        .assert_contains(r#"<span class="schedule-tz">Europe/Zurich</span>"#)
        .assert_contains("all active templates · 2 samples · US · brand Acme")
        .assert_contains("not fired yet")
        .assert_contains(">Pause<");
    let schedules = app
        .services
        .list_schedules(&Caller::system(), None, Some("acme"))
        .await
        .unwrap();
    assert_eq!(schedules.len(), 1);
    let s = &schedules[0];
    assert!(s.enabled && s.next_run_at.is_some());
    let base = format!("/brands/acme/schedules/{}", s.id);

    let page = app.post_and_follow(&format!("{base}/pause"), &[]).await;
    page.assert_contains("Schedule paused")
        .assert_contains("Paused</span>")
        .assert_contains("— (paused)")
        .assert_contains(">Resume<");
    let paused = app
        .services
        .get_schedule(&Caller::system(), s.id)
        .await
        .unwrap();
    assert!(!paused.enabled && paused.next_run_at.is_none());
    let page = app.post_and_follow(&format!("{base}/resume"), &[]).await;
    page.assert_contains("Schedule resumed")
        .assert_contains("Active</span>");

    // A slot that fired: its slot, its batch and why it failed, as recorded.
    let batch = app
        .services
        .create_batch(
            &Caller::system(),
            &prompter_service::BatchRequest {
                workspace_id: "acme".into(),
                brand_name: Some("Acme".into()),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap()
        .batch;
    let due = app
        .services
        .get_schedule(&Caller::system(), s.id)
        .await
        .unwrap()
        .next_run_at
        .unwrap();
    let fired = prompter_storage::ScheduleFired {
        slot: due,
        batch_id: Some(batch.id),
        error: Some(json!({"code": "BATCH_REFUSED", "message": "template_ids unknown"})),
        next_run_at: Some(due + chrono::Duration::days(7)),
        at: due,
    };
    assert!(app
        .services
        .database()
        .record_schedule_fire(s.id, due, &fired)
        .await
        .unwrap());
    app.get("/brands/acme/schedules")
        .await
        .assert_contains(&format!(
            r#"href="/brands/acme/batches/{}">Open</a>"#,
            batch.id
        ))
        .assert_contains("template_ids unknown")
        .assert_lacks("not fired yet");

    let page = app.post_and_follow(&format!("{base}/delete"), &[]).await;
    page.assert_contains("Schedule deleted")
        .assert_contains("No schedules in Acme yet");
    // Gone: its actions are a 404 page; a GET on one leads to the list.
    let r = app.post_form(&format!("{base}/pause"), &[]).await;
    assert_eq!(r.status, 404);
    r.assert_contains("Schedule not found");
    assert_eq!(
        app.get(&format!("{base}/pause")).await.location.as_deref(),
        Some("/brands/acme/schedules")
    );
}

const ADMIN_A: &str = "pt_ui_batches_admin_a";
const READER_A: &str = "pt_ui_batches_reader_a";
const ADMIN_B: &str = "pt_ui_batches_admin_b";

fn new_browser(app: &UiApp) {
    app.set_cookie("prompter_session", None);
    app.set_cookie("prompter_csrf", None);
}

async fn readers_look_and_other_orgs_see_nothing(db: Arc<dyn Database>, guard: Guard) {
    // Slow enough that the batch is still running while the reader looks at it.
    let providers = slow_fake(Duration::from_secs(2));
    let auth = prompter_app::AuthSetting::Required;
    let app = app_with(db, guard, providers, auth, |_| {}).await;
    app.add_token(ADMIN_A, "org-a", None, Role::Admin, None)
        .await;
    app.add_token(READER_A, "org-a", None, Role::Reader, None)
        .await;
    app.add_token(ADMIN_B, "org-b", None, Role::Admin, None)
        .await;

    app.sign_in(ADMIN_A).await;
    app.create_brand("a1", "Alpha One").await;
    let t = app
        .create_template("a1", &template_fields("A1 template", PROMPT))
        .await;
    let fields = [("batch_samples", "1"), ("batch_brand_name", "Alpha")];
    let batch_id = start_batch(&app, "a1", &t, &fields).await;
    let here = format!("/brands/a1/batches/{batch_id}");
    let r = app
        .post_form(
            "/brands/a1/schedules",
            &[
                ("name", "Nightly"),
                ("cron", "0 2 * * *"),
                ("timezone", "UTC"),
                ("brand_name", "Alpha"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let schedule = app
        .services
        .list_schedules(&Caller::system(), Some("org-a"), Some("a1"))
        .await
        .unwrap()[0]
        .id;
    // The writer is offered the actions.
    app.get(&here).await.assert_contains(">Cancel</button>");
    app.get("/brands/a1/schedules")
        .await
        .assert_contains(r#"id="new-schedule""#)
        .assert_contains("/pause\"");

    new_browser(&app);
    app.sign_in(READER_A).await;
    app.get(&format!("/brands/a1/templates/{t}"))
        .await
        .assert_contains(r#"id="run-read-only""#)
        .assert_lacks("Run in all countries")
        .assert_lacks("/batch\"");
    let page = app.get(&here).await;
    assert_eq!(page.status, 200);
    page.assert_contains("A1 template")
        .assert_lacks(">Cancel</button>")
        .assert_lacks("Retry failed")
        .assert_lacks("/cancel\"")
        .assert_lacks("/retry\"");
    app.get("/brands/a1/batches").await.assert_contains(&here);
    app.get("/brands/a1/schedules")
        .await
        .assert_contains("Nightly")
        .assert_lacks(r#"id="new-schedule""#)
        .assert_lacks("/pause\"")
        .assert_lacks("/delete\"");
    let sched = format!("/brands/a1/schedules/{schedule}");
    for (path, fields) in [
        (
            format!("/brands/a1/templates/{t}/batch"),
            vec![("batch_samples", "1")],
        ),
        (format!("{here}/cancel"), vec![]),
        (format!("{here}/retry"), vec![]),
        (
            "/brands/a1/schedules".to_owned(),
            vec![("name", "X"), ("cron", "0 3 * * *"), ("timezone", "UTC")],
        ),
        (format!("{sched}/pause"), vec![]),
        (format!("{sched}/delete"), vec![]),
    ] {
        let r = app.post_form(&path, &fields).await;
        assert_eq!(r.status, 403, "{path}");
        r.assert_contains("read-only");
    }
    // Nothing changed.
    let system = Caller::system();
    let b = app.services.get_batch(&system, batch_id).await.unwrap();
    assert_ne!(b.status, BatchStatus::Cancelled);
    let s = app.services.get_schedule(&system, schedule).await.unwrap();
    assert!(s.enabled);
    let all = app
        .services
        .list_schedules(&system, Some("org-a"), None)
        .await
        .unwrap();
    assert_eq!(all.len(), 1);

    // Another organisation: the batch and the schedule do not exist.
    new_browser(&app);
    app.sign_in(ADMIN_B).await;
    app.create_brand("b1", "Beta One").await;
    for path in [
        here.clone(),
        "/brands/a1/batches".to_owned(),
        "/brands/a1/schedules".to_owned(),
        format!("/brands/b1/batches/{batch_id}"),
    ] {
        assert_eq!(app.get(&path).await.status, 404, "{path}");
    }
    app.get(&format!("/brands/b1/batches/{batch_id}"))
        .await
        .assert_contains("Batch not found");
    app.get("/brands/b1/batches")
        .await
        .assert_lacks(&batch_id.to_string());
    app.get("/brands/b1/schedules")
        .await
        .assert_lacks("Nightly");
    for path in [
        format!("/brands/b1/batches/{batch_id}/cancel"),
        format!("/brands/b1/batches/{batch_id}/retry"),
        format!("/brands/b1/schedules/{schedule}/delete"),
        format!("/brands/a1/schedules/{schedule}/pause"),
    ] {
        assert_eq!(app.post_form(&path, &[]).await.status, 404, "{path}");
    }
    let b = app.services.get_batch(&system, batch_id).await.unwrap();
    assert_ne!(b.status, BatchStatus::Cancelled);
    assert!(app.services.get_schedule(&system, schedule).await.is_ok());
    settled(&app, batch_id).await;
}

on_both_backends!(
    schedules_are_created_paused_resumed_and_deleted,
    readers_look_and_other_orgs_see_nothing,
);
