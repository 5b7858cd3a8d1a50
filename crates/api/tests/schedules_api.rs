//! Schedules over real HTTP on both backends: create (validated like a batch), list with the
//! next slot, pause and resume, delete; a due slot fires one batch, after downtime only the
//! latest slot fires, and two replicas on one database fire a slot once.

mod common;

use std::time::{Duration, Instant};

use common::TestApp;
use prompter_storage::timestamp;
use serde_json::{json, Value};

async fn template(app: &TestApp) -> String {
    let r = app
        .post(
            "/api/prompt-templates",
            &json!({"workspace_id": "avea", "name": "T", "model_id": "gpt-4o",
                    "user_prompt_template": "Best {{brand}} in {{country}}?",
                    "country_set": ["CH", "DE"]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

fn morning() -> Value {
    json!({"workspace_id": "avea", "name": "Every morning", "cron": "0 6 * * *",
           "timezone": "Europe/Zurich", "batch": {"samples": 2, "brand_name": "AVEA"}})
}

async fn patch(app: &TestApp, path: &str, body: Value) -> common::Reply {
    app.send(app.client.patch(app.url(path)).json(&body)).await
}

async fn schedules_are_created_listed_paused_and_deleted(app: TestApp) {
    template(&app).await;
    let created = app.post("/api/schedules", &morning()).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let s = created.body.clone();
    let id = s["id"].as_str().unwrap().to_owned();
    assert_eq!(s["cron"], "0 6 * * *");
    assert_eq!(s["timezone"], "Europe/Zurich");
    assert_eq!(s["enabled"], true);
    assert_eq!(s["batch"], json!({"samples": 2, "brand_name": "AVEA"}));
    // The next slot is 06:00 in Zurich: 05:00 or 04:00 UTC, within a day.
    let next = timestamp::parse(s["next_run_at"].as_str().unwrap()).unwrap();
    let now = chrono::Utc::now();
    assert!(
        next > now && next <= now + chrono::Duration::days(1),
        "{next}"
    );
    assert!(matches!(
        next.format("%H:%M").to_string().as_str(),
        "05:00" | "04:00"
    ));

    let listed = app.get("/api/schedules?workspace_id=avea").await;
    assert_eq!(listed.body["items"][0]["id"], json!(id));
    assert_eq!(
        app.get("/api/schedules?workspace_id=other").await.body["items"],
        json!([])
    );

    let paused = patch(
        &app,
        &format!("/api/schedules/{id}"),
        json!({"enabled": false}),
    )
    .await;
    assert_eq!(paused.status, 200, "{}", paused.body);
    assert_eq!(paused.body["next_run_at"], Value::Null);
    let moved = patch(
        &app,
        &format!("/api/schedules/{id}"),
        json!({"enabled": true, "cron": "30 7 * * 1-5", "timezone": "UTC"}),
    )
    .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    let next = timestamp::parse(moved.body["next_run_at"].as_str().unwrap()).unwrap();
    assert_eq!(next.format("%H:%M").to_string(), "07:30");
    assert_eq!(
        app.get(&format!("/api/schedules/{id}")).await.body["cron"],
        "30 7 * * 1-5"
    );

    let deleted = app
        .send(app.client.delete(app.url(&format!("/api/schedules/{id}"))))
        .await;
    assert_eq!(deleted.status, 204);
    let gone = app.get(&format!("/api/schedules/{id}")).await;
    assert_eq!(gone.status, 404);
    assert_eq!(gone.body["detail"]["code"], "SCHEDULE_NOT_FOUND");
}

async fn bad_schedules_are_named_by_field(app: TestApp) {
    template(&app).await;
    let with = |f: &dyn Fn(&mut Value)| {
        let mut b = morning();
        f(&mut b);
        b
    };
    let cases: Vec<(Value, &str)> = vec![
        (with(&|b| b["cron"] = json!("0 6 * *")), "cron"),
        (with(&|b| b["cron"] = json!("0 25 * * *")), "cron"),
        (
            with(&|b| b["timezone"] = json!("Europe/Atlantis")),
            "timezone",
        ),
        (with(&|b| b["name"] = json!("  ")), "name"),
        (with(&|b| b["batch"]["samples"] = json!(0)), "batch.samples"),
        (
            with(&|b| b["batch"]["countries"] = json!(["JP"])),
            "batch.countries",
        ),
        (
            with(&|b| b["batch"]["workspace_id"] = json!("elsewhere")),
            "batch.workspace_id",
        ),
        (with(&|b| b["batch"]["nope"] = json!(1)), "batch"),
        (
            with(&|b| {
                b["batch"].as_object_mut().unwrap().remove("brand_name");
            }),
            "batch.runtime_vars.brand",
        ),
        (with(&|b| b["every"] = json!("day")), "every"),
    ];
    for (body, field) in cases {
        let r = app.post("/api/schedules", &body).await;
        assert_eq!(r.status, 422, "{body}: {}", r.body);
        assert_eq!(r.body["detail"]["field"], field, "{body}: {}", r.body);
    }
    assert_eq!(app.get("/api/schedules").await.body["items"], json!([]));
    let r = app.get("/api/schedules/nope").await;
    assert_eq!(r.status, 404);
}

/// Waits until the schedule's last slot is set (the scheduler ticks every second).
async fn fired(app: &TestApp, id: &str) -> Value {
    let started = Instant::now();
    loop {
        let s = app.get(&format!("/api/schedules/{id}")).await.body;
        if !s["last_slot"].is_null() {
            return s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "not fired: {s}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn a_due_schedule_fires_the_latest_slot_once(app: TestApp) {
    template(&app).await;
    let mut body = morning();
    body["cron"] = json!("0 * * * *");
    body["timezone"] = json!("UTC");
    let created = app.post("/api/schedules", &body).await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    // The service was down for three and a half hours: four slots passed.
    let mut stored = app
        .db
        .get_schedule(id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    let now = chrono::Utc::now();
    let due = now - chrono::Duration::minutes(210);
    use chrono::Timelike;
    let due = due
        .with_minute(0)
        .unwrap()
        .with_second(0)
        .unwrap()
        .with_nanosecond(0)
        .unwrap();
    stored.next_run_at = Some(due);
    assert!(app.db.update_schedule(&stored).await.unwrap());

    let s = fired(&app, &id).await;
    let latest = now
        .with_minute(0)
        .unwrap()
        .with_second(0)
        .unwrap()
        .with_nanosecond(0)
        .unwrap();
    assert_eq!(s["last_slot"], json!(timestamp::format(&latest)), "{s}");
    assert!(s["last_error"].is_null(), "{s}");
    let next = timestamp::parse(s["next_run_at"].as_str().unwrap()).unwrap();
    assert_eq!(next, latest + chrono::Duration::hours(1));
    let batch_id = s["last_batch_id"].as_str().unwrap();
    let batch = app.get(&format!("/api/batches/{batch_id}")).await.body;
    assert_eq!(batch["schedule_id"], json!(id));
    assert_eq!(batch["total_tasks"], 4, "2 countries × 2 samples: {batch}");
    assert_eq!(
        batch["idempotency_key"],
        json!(format!("schedule:{id}:{}", timestamp::format(&latest)))
    );
    // One batch for the catch-up, not four.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let batches = app.get("/api/batches?workspace_id=avea").await.body;
    assert_eq!(batches["items"].as_array().unwrap().len(), 1, "{batches}");
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("prompter_schedule_slots_total{"),
        "{metrics}"
    );
}

async fn two_replicas_fire_a_slot_once(app: TestApp) {
    // A second replica on the same database, with its own workers and scheduler.
    let second = TestApp::start_with(app.db.clone(), Box::new(())).await;
    template(&app).await;
    let mut body = morning();
    body["cron"] = json!("*/5 * * * *");
    body["timezone"] = json!("UTC");
    let mut ids = Vec::new();
    for n in 0..3 {
        body["name"] = json!(format!("S{n}"));
        let created = app.post("/api/schedules", &body).await;
        assert_eq!(created.status, 201, "{}", created.body);
        ids.push(created.body["id"].as_str().unwrap().to_owned());
    }
    let now = chrono::Utc::now();
    for id in &ids {
        let mut s = app
            .db
            .get_schedule(id.parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        use chrono::Timelike;
        s.next_run_at = Some(
            now.with_minute(now.minute() / 5 * 5)
                .unwrap()
                .with_second(0)
                .unwrap()
                .with_nanosecond(0)
                .unwrap(),
        );
        assert!(app.db.update_schedule(&s).await.unwrap());
    }
    for id in &ids {
        fired(&second, id).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let batches = app.get("/api/batches?workspace_id=avea").await.body;
    let items = batches["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "one batch per schedule slot: {batches}");
    let mut fired_by: Vec<&str> = items
        .iter()
        .map(|b| b["schedule_id"].as_str().unwrap())
        .collect();
    fired_by.sort();
    let mut expected: Vec<&str> = ids.iter().map(String::as_str).collect();
    expected.sort();
    assert_eq!(fired_by, expected);
}

on_both_backends!(
    schedules_are_created_listed_paused_and_deleted,
    bad_schedules_are_named_by_field,
    a_due_schedule_fires_the_latest_slot_once,
    two_replicas_fire_a_slot_once,
);
