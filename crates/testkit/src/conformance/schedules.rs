//! Conformance cases of schedules.

use std::sync::Arc;

use chrono::Duration;
use prompter_storage::{timestamp, Database, Schedule, ScheduleFired};
use serde_json::json;
use uuid::Uuid;

fn schedule(org: &str, ws: &str, name: &str) -> Schedule {
    let now = timestamp::now();
    Schedule {
        id: Uuid::now_v7(),
        org_id: org.into(),
        workspace_id: ws.into(),
        name: name.into(),
        cron: "0 6 * * *".into(),
        timezone: "Europe/Zurich".into(),
        batch: json!({"samples": 5, "countries": ["CH"], "runtime_vars": {"season": "winter"}}),
        enabled: true,
        next_run_at: Some(now + Duration::hours(1)),
        last_slot: None,
        last_batch_id: None,
        last_error: None,
        created_by: Some("ops".into()),
        created_at: now,
        updated_at: now,
    }
}

pub async fn schedules_are_stored_listed_changed_and_deleted(db: Arc<dyn Database>) {
    let a = schedule("org-s", "ws-1", "Morning");
    let b = schedule("org-s", "ws-2", "Evening");
    let c = schedule("org-t", "ws-1", "Theirs");
    for s in [&a, &b, &c] {
        db.create_schedule(s).await.unwrap();
    }
    assert_eq!(db.get_schedule(a.id).await.unwrap(), Some(a.clone()));
    let ids = |list: Vec<Schedule>| list.into_iter().map(|s| s.id).collect::<Vec<_>>();
    assert_eq!(
        ids(db.list_schedules("org-s", None, None).await.unwrap()),
        [a.id, b.id]
    );
    assert_eq!(
        ids(db
            .list_schedules("org-s", Some("ws-2"), None)
            .await
            .unwrap()),
        [b.id]
    );
    let allowed = vec!["ws-1".to_owned()];
    assert_eq!(
        ids(db
            .list_schedules("org-s", None, Some(&allowed))
            .await
            .unwrap()),
        [a.id]
    );

    let mut changed = a.clone();
    changed.name = "Early".into();
    changed.cron = "30 5 * * 1-5".into();
    changed.timezone = "UTC".into();
    changed.batch = json!({"samples": 1});
    changed.enabled = false;
    changed.next_run_at = None;
    changed.updated_at = timestamp::now();
    assert!(db.update_schedule(&changed).await.unwrap());
    assert_eq!(db.get_schedule(a.id).await.unwrap(), Some(changed.clone()));

    assert!(db.delete_schedule(b.id).await.unwrap());
    assert!(!db.delete_schedule(b.id).await.unwrap());
    assert!(db.get_schedule(b.id).await.unwrap().is_none());
    let mut gone = b.clone();
    gone.name = "x".into();
    assert!(!db.update_schedule(&gone).await.unwrap());
}

pub async fn due_schedules_fire_once_per_expected_slot(db: Arc<dyn Database>) {
    let now = timestamp::now();
    let mut due = schedule("org-d", "ws", "Due");
    due.next_run_at = Some(now - Duration::minutes(5));
    let mut later = schedule("org-d", "ws", "Later");
    later.next_run_at = Some(now + Duration::minutes(5));
    let mut off = schedule("org-d", "ws", "Off");
    off.enabled = false;
    off.next_run_at = Some(now - Duration::minutes(5));
    for s in [&due, &later, &off] {
        db.create_schedule(s).await.unwrap();
    }
    let found = db.due_schedules(now, 10).await.unwrap();
    assert_eq!(
        found.iter().map(|s| s.id).collect::<Vec<_>>(),
        [due.id],
        "enabled and due only"
    );
    let batch_id = Uuid::now_v7();
    let fired = ScheduleFired {
        slot: due.next_run_at.unwrap(),
        batch_id: Some(batch_id),
        error: None,
        next_run_at: Some(now + Duration::days(1)),
        at: now,
    };
    let expected = due.next_run_at.unwrap();
    // Two replicas record the same slot: one moves the schedule on.
    assert!(db
        .record_schedule_fire(due.id, expected, &fired)
        .await
        .unwrap());
    assert!(!db
        .record_schedule_fire(due.id, expected, &fired)
        .await
        .unwrap());
    let stored = db.get_schedule(due.id).await.unwrap().unwrap();
    assert_eq!(stored.next_run_at, fired.next_run_at);
    assert_eq!(stored.last_slot, Some(expected));
    assert_eq!(stored.last_batch_id, Some(batch_id));
    assert!(db.due_schedules(now, 10).await.unwrap().is_empty());
    // A refused slot keeps its reason.
    let failed = ScheduleFired {
        slot: now + Duration::days(1),
        batch_id: None,
        error: Some(json!({"code": "BATCH_REFUSED"})),
        next_run_at: Some(now + Duration::days(2)),
        at: now,
    };
    assert!(db
        .record_schedule_fire(due.id, now + Duration::days(1), &failed)
        .await
        .unwrap());
    let stored = db.get_schedule(due.id).await.unwrap().unwrap();
    assert_eq!(stored.last_error, failed.error);
    assert_eq!(stored.last_batch_id, None);
}
