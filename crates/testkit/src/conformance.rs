//! The storage conformance suite: every storage behaviour, written once against
//! `&dyn Database`, and run on each backend by [`storage_conformance_suite!`].

use std::collections::HashSet;
use std::sync::Arc;

use prompter_domain::{parse_template_spec, NameRule, OrgId, WorkspaceId};
use prompter_storage::{
    timestamp, CreateTemplate, Database, NewTemplate, NewWorkspace, RestoreTemplate, StorageError,
    Template, TemplateQuery,
};
use prompter_storage::{
    InterruptScope, RecordedRun, RunRecord, RunResult, RunStatus, VersionObservation,
};
use serde_json::{json, Value};

mod analysis;
mod batches;
mod hygiene;
mod merge_plan;
mod schedules;
pub use analysis::*;
pub use batches::*;
pub use hygiene::*;
pub use merge_plan::*;
pub use schedules::*;

/// Generates one `#[tokio::test]` per conformance case. `$make` is an async fn returning a
/// [`crate::TestDb`]; the attributes go on every generated test (used to mark PostgreSQL tests
/// ignored when no server is configured).
#[macro_export]
macro_rules! storage_conformance_suite {
    ($make:path $(, #[$attr:meta])*) => {
        $crate::storage_conformance_suite!(@cases $make, { $(#[$attr])* },
            migrations_are_listed_and_reversible,
            create_returns_every_field_and_reads_back,
            exact_duplicate_in_same_workspace_is_refused,
            name_is_not_part_of_identity,
            same_config_in_other_workspace_or_org_is_allowed,
            workspace_record_is_created_on_first_template,
            explicit_workspace_name_is_used_for_duplicates,
            workspaces_are_scoped_by_org,
            soft_delete_frees_the_configuration,
            restore_refuses_when_an_active_twin_exists,
            check_duplicate_ignores_deleted_and_other_scopes,
            list_is_newest_first_and_pages_without_gaps,
            list_filters_by_workspace_deleted_and_org,
            json_fields_round_trip_exactly,
            parallel_identical_creates_have_one_winner,
            parallel_distinct_creates_all_succeed,
            version_upsert_creates_then_refreshes,
            parallel_version_upserts_end_in_one_row,
            run_records_version_and_result_together,
            failed_run_is_recorded_without_version,
            run_answer_round_trips_apart_from_the_response,
            results_page_newest_first,
            idempotency_key_replays_the_first_result,
            parallel_runs_with_one_idempotency_key_record_once,
            tokens_are_stored_hashed_and_revocable,
            list_can_be_restricted_to_allowed_workspaces,
            running_result_is_finished_with_its_version,
            heartbeats_and_interruptions_touch_only_their_rows,
            a_late_answer_replaces_the_interrupted_marker,
            batch_is_created_with_its_tasks_and_read_back,
            claims_respect_concurrency_and_leases,
            outcomes_move_tasks_and_finish_the_batch,
            a_task_records_one_success_however_often_it_ran,
            parallel_claims_never_share_a_task,
            cancel_and_retry_failed,
            a_batch_stops_at_its_token_budget,
            schedules_are_stored_listed_changed_and_deleted,
            due_schedules_fire_once_per_expected_slot,
            alias_snapshots_are_unique_by_content_and_the_last_put_is_current,
            analyses_are_written_once_and_counted_by_day_and_by_time,
            a_run_outcome_writes_its_analysis_with_the_version_key,
            answers_are_scanned_in_pages_and_drift_is_listed,
            reanalysis_jobs_are_leased_resumed_and_fenced,
            labels_change_without_touching_identity,
            near_keys_find_twin_and_candidates,
            missing_near_keys_are_listed_and_set,
            merge_plan_inserts_rows_once_with_their_ids,
            merge_plan_updates_existing_rows,
            merge_plan_is_all_or_nothing,
            existing_ids_are_looked_up_in_chunks,
            organisations_are_listed_once_each
        );
    };
    (@cases $make:path, $attrs:tt, $($case:ident),+) => {
        $( $crate::storage_conformance_suite!(@case $make, $attrs, $case); )+
    };
    (@case $make:path, { $($attr:tt)* }, $case:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        $($attr)*
        async fn $case() {
            let test_db = $make().await;
            $crate::conformance::$case($crate::TestDb::db(&test_db)).await;
        }
    };
}

fn body(workspace: &str, prompt: &str) -> Value {
    json!({
        "workspace_id": workspace,
        "name": format!("Template for {prompt}"),
        "system_instructions": "Be concise and accurate",
        "user_prompt_template": prompt,
        "country_set": ["CH", "US"],
        "model_id": "gpt-4o",
        "inference_params": {"temperature": 0.7, "max_tokens": 1000}
    })
}

fn new_template(body: &Value) -> NewTemplate {
    let spec = parse_template_spec(body, NameRule::Required).expect("valid test body");
    let name = spec.name.clone().unwrap_or_default();
    NewTemplate::new(spec, name)
}

async fn create(db: &dyn Database, body: &Value) -> CreateTemplate {
    db.create_template(new_template(body))
        .await
        .expect("create")
}

async fn created(db: &dyn Database, body: &Value) -> Template {
    match create(db, body).await {
        CreateTemplate::Created(t) => t,
        other => panic!("expected Created, got {other:?}"),
    }
}

fn org(s: &str) -> OrgId {
    OrgId::parse(s).unwrap()
}

fn ws(s: &str) -> WorkspaceId {
    WorkspaceId::parse(s).unwrap()
}

fn query(org_id: &str) -> TemplateQuery {
    TemplateQuery {
        org_id: org(org_id),
        workspace_id: None,
        allowed_workspaces: None,
        include_deleted: false,
        tag: None,
        limit: 50,
        after: None,
    }
}

pub async fn migrations_are_listed_and_reversible(db: Arc<dyn Database>) {
    let status = db.migration_status().await.unwrap();
    assert!(!status.is_empty());
    assert!(status.iter().all(|m| m.applied), "{status:?}");
    assert_eq!(
        db.migrate_up().await.unwrap(),
        Vec::<i64>::new(),
        "up is idempotent"
    );

    let latest = status.iter().map(|m| m.version).max().unwrap();
    assert_eq!(db.migrate_down(1).await.unwrap(), vec![latest]);
    let after_down = db.migration_status().await.unwrap();
    assert!(
        !after_down
            .iter()
            .find(|m| m.version == latest)
            .unwrap()
            .applied
    );

    assert_eq!(db.migrate_up().await.unwrap(), vec![latest]);
    created(&*db, &body("ws-1", "works after down and up again")).await;
}

pub async fn create_returns_every_field_and_reads_back(db: Arc<dyn Database>) {
    let mut b = body("workspace-avea-001", "What is AVEA known for?");
    b["org_id"] = json!("org-1");
    b["provider"] = json!("openai");
    b["tools_spec"] = json!([{"type": "web_search"}]);
    b["response_format"] = json!({"type": "json_object"});
    b["grounding_profile_id"] = json!("gp-1");
    b["grounding_snapshot_id"] = json!("snap-1");
    b["retrieval_params"] = json!({"k": 5});
    b["created_by"] = json!("user-7");
    let t = created(&*db, &b).await;
    assert_eq!(t.org_id, "org-1");
    assert_eq!(t.workspace_id, "workspace-avea-001");
    assert_eq!(t.provider.as_deref(), Some("openai"));
    assert_eq!(t.config_hash.len(), 64);
    assert!(t.deleted_at.is_none());

    let read = db.get_template(t.id).await.unwrap().expect("read back");
    assert_eq!(read, t);
    assert!(db
        .get_template(uuid::Uuid::now_v7())
        .await
        .unwrap()
        .is_none());
}

pub async fn exact_duplicate_in_same_workspace_is_refused(db: Arc<dyn Database>) {
    let b = body("ws-dup", "Same prompt");
    let first = created(&*db, &b).await;
    match create(&*db, &b).await {
        CreateTemplate::Duplicate {
            existing,
            workspace_name,
        } => {
            assert_eq!(existing.id, first.id);
            assert_eq!(workspace_name, "ws-dup");
        }
        other => panic!("expected Duplicate, got {other:?}"),
    }
    // Whitespace and country-case variants are the same configuration.
    let mut variant = b.clone();
    variant["user_prompt_template"] = json!("  Same \t  prompt\r\n");
    variant["country_set"] = json!(["us", " ch "]);
    assert!(matches!(
        create(&*db, &variant).await,
        CreateTemplate::Duplicate { .. }
    ));
    let page = db.list_templates(&query("default")).await.unwrap();
    assert_eq!(page.items.len(), 1, "refused creates leave no row");
}

pub async fn name_is_not_part_of_identity(db: Arc<dyn Database>) {
    let mut b = body("ws-name", "Name test");
    created(&*db, &b).await;
    b["name"] = json!("A completely different name");
    assert!(matches!(
        create(&*db, &b).await,
        CreateTemplate::Duplicate { .. }
    ));
}

pub async fn same_config_in_other_workspace_or_org_is_allowed(db: Arc<dyn Database>) {
    let b = body("workspace-avea-001", "Scope test");
    let a = created(&*db, &b).await;
    let other_ws = created(&*db, &body("workspace-other-001", "Scope test")).await;
    let mut other_org_body = b.clone();
    other_org_body["org_id"] = json!("org-2");
    let other_org = created(&*db, &other_org_body).await;
    assert_eq!(a.config_hash, other_ws.config_hash);
    assert_eq!(a.config_hash, other_org.config_hash);
    let ids: HashSet<_> = [a.id, other_ws.id, other_org.id].into();
    assert_eq!(ids.len(), 3);
}

pub async fn workspace_record_is_created_on_first_template(db: Arc<dyn Database>) {
    assert!(db
        .get_workspace(&org("default"), &ws("ws-auto"))
        .await
        .unwrap()
        .is_none());
    created(&*db, &body("ws-auto", "Auto workspace")).await;
    let w = db
        .get_workspace(&org("default"), &ws("ws-auto"))
        .await
        .unwrap()
        .expect("workspace created");
    assert_eq!(
        (w.id.as_str(), w.name.as_str(), w.org_id.as_str()),
        ("ws-auto", "ws-auto", "default")
    );
    // A second template does not touch the record.
    created(&*db, &body("ws-auto", "Another prompt")).await;
    assert_eq!(db.list_workspaces(&org("default")).await.unwrap(), vec![w]);
}

pub async fn explicit_workspace_name_is_used_for_duplicates(db: Arc<dyn Database>) {
    db.create_workspace(NewWorkspace {
        org_id: org("default"),
        id: ws("workspace-avea-001"),
        name: "AVEA Life".into(),
        created_at: timestamp::now(),
    })
    .await
    .unwrap();
    let b = body("workspace-avea-001", "Brand name in 409");
    created(&*db, &b).await;
    match create(&*db, &b).await {
        CreateTemplate::Duplicate { workspace_name, .. } => assert_eq!(workspace_name, "AVEA Life"),
        other => panic!("expected Duplicate, got {other:?}"),
    }
}

pub async fn workspaces_are_scoped_by_org(db: Arc<dyn Database>) {
    let make = |o: &str, id: &str, name: &str| NewWorkspace {
        org_id: org(o),
        id: ws(id),
        name: name.into(),
        created_at: timestamp::now(),
    };
    let a = db
        .create_workspace(make("org-a", "brand", "Brand A"))
        .await
        .unwrap();
    db.create_workspace(make("org-b", "brand", "Brand B"))
        .await
        .unwrap();
    assert!(matches!(
        db.create_workspace(make("org-a", "brand", "Again")).await,
        Err(StorageError::WorkspaceExists)
    ));
    assert_eq!(
        db.list_workspaces(&org("org-a")).await.unwrap(),
        vec![a.clone()]
    );
    assert_eq!(
        db.get_workspace(&org("org-a"), &ws("brand")).await.unwrap(),
        Some(a)
    );
    assert!(db
        .get_workspace(&org("org-c"), &ws("brand"))
        .await
        .unwrap()
        .is_none());
}

pub async fn soft_delete_frees_the_configuration(db: Arc<dyn Database>) {
    let b = body("ws-del", "Soft delete test");
    let first = created(&*db, &b).await;
    let deleted = db.soft_delete_template(first.id).await.unwrap().unwrap();
    let deleted_at = deleted.deleted_at.expect("deleted_at set");
    // Deleting again changes nothing.
    let again = db.soft_delete_template(first.id).await.unwrap().unwrap();
    assert_eq!(again.deleted_at, Some(deleted_at));
    assert!(db
        .soft_delete_template(uuid::Uuid::now_v7())
        .await
        .unwrap()
        .is_none());

    let second = created(&*db, &b).await;
    assert_ne!(second.id, first.id);
    assert_eq!(second.config_hash, first.config_hash);
    // The deleted one is still readable, as history.
    assert_eq!(
        db.get_template(first.id).await.unwrap().unwrap().deleted_at,
        Some(deleted_at)
    );
}

pub async fn restore_refuses_when_an_active_twin_exists(db: Arc<dyn Database>) {
    let b = body("ws-restore", "Restore test");
    let first = created(&*db, &b).await;
    db.soft_delete_template(first.id).await.unwrap();
    let twin = created(&*db, &b).await;
    match db.restore_template(first.id).await.unwrap() {
        RestoreTemplate::ActiveTwin {
            existing,
            workspace_name,
        } => {
            assert_eq!(existing.id, twin.id);
            assert_eq!(workspace_name, "ws-restore");
        }
        other => panic!("expected ActiveTwin, got {other:?}"),
    }
    db.soft_delete_template(twin.id).await.unwrap();
    match db.restore_template(first.id).await.unwrap() {
        RestoreTemplate::Restored(t) => {
            assert_eq!(t.id, first.id);
            assert!(t.deleted_at.is_none());
        }
        other => panic!("expected Restored, got {other:?}"),
    }
    assert!(db
        .get_template(first.id)
        .await
        .unwrap()
        .unwrap()
        .deleted_at
        .is_none());
    // Restoring an active template is a no-op; an unknown one is NotFound.
    assert!(matches!(
        db.restore_template(first.id).await.unwrap(),
        RestoreTemplate::Restored(_)
    ));
    assert_eq!(
        db.restore_template(uuid::Uuid::now_v7()).await.unwrap(),
        RestoreTemplate::NotFound
    );
}

pub async fn check_duplicate_ignores_deleted_and_other_scopes(db: Arc<dyn Database>) {
    let t = created(&*db, &body("ws-check", "Check test")).await;
    let found = db
        .find_active_duplicate(&org("default"), &ws("ws-check"), &t.config_hash)
        .await
        .unwrap();
    assert_eq!(found.map(|f| f.id), Some(t.id));
    for (o, w) in [("default", "ws-other"), ("org-x", "ws-check")] {
        assert!(db
            .find_active_duplicate(&org(o), &ws(w), &t.config_hash)
            .await
            .unwrap()
            .is_none());
    }
    db.soft_delete_template(t.id).await.unwrap();
    assert!(db
        .find_active_duplicate(&org("default"), &ws("ws-check"), &t.config_hash)
        .await
        .unwrap()
        .is_none());
}

pub async fn list_is_newest_first_and_pages_without_gaps(db: Arc<dyn Database>) {
    let mut ids = Vec::new();
    for i in 0..23 {
        ids.push(
            created(&*db, &body("ws-list", &format!("Prompt {i}")))
                .await
                .id,
        );
    }
    ids.reverse();
    let mut q = query("default");
    q.limit = 5;
    let mut seen = Vec::new();
    loop {
        let page = db.list_templates(&q).await.unwrap();
        assert!(page.items.len() <= 5);
        seen.extend(page.items.iter().map(|t| t.id));
        match page.next {
            Some(cursor) => q.after = Some(cursor),
            None => break,
        }
    }
    assert_eq!(seen, ids, "every template once, newest first");
    let all = db.list_templates(&query("default")).await.unwrap();
    assert!(all
        .items
        .windows(2)
        .all(|w| (w[0].created_at, w[0].id) > (w[1].created_at, w[1].id)));
    assert!(all.next.is_none());
}

pub async fn list_filters_by_workspace_deleted_and_org(db: Arc<dyn Database>) {
    let a1 = created(&*db, &body("ws-a", "One")).await;
    let a2 = created(&*db, &body("ws-a", "Two")).await;
    let b1 = created(&*db, &body("ws-b", "One")).await;
    let mut other = body("ws-a", "Other org");
    other["org_id"] = json!("org-other");
    let o1 = created(&*db, &other).await;
    db.soft_delete_template(a1.id).await.unwrap();

    let ids = |items: Vec<Template>| items.into_iter().map(|t| t.id).collect::<HashSet<_>>();
    let mut q = query("default");
    assert_eq!(
        ids(db.list_templates(&q).await.unwrap().items),
        [a2.id, b1.id].into()
    );
    q.include_deleted = true;
    assert_eq!(
        ids(db.list_templates(&q).await.unwrap().items),
        [a1.id, a2.id, b1.id].into()
    );
    q.workspace_id = Some(ws("ws-a"));
    assert_eq!(
        ids(db.list_templates(&q).await.unwrap().items),
        [a1.id, a2.id].into()
    );
    assert_eq!(
        ids(db.list_templates(&query("org-other")).await.unwrap().items),
        [o1.id].into()
    );
}

pub async fn json_fields_round_trip_exactly(db: Arc<dyn Database>) {
    let mut b = body("ws-json", "Grüezi {brand} in {{country}} — 日本語 😀");
    b["system_instructions"] = json!("Line one\r\nline\ttwo ");
    b["inference_params"] = serde_json::from_str(
        r#"{"temperature": 0.123456, "seed": 123456789012345678901234567890,
            "nested": {"list": [1, 2.5, null, true, "x"], "empty": {}}, "日本": "é"}"#,
    )
    .unwrap();
    b["tools_spec"] = json!([{"b": 1}, {"a": [3, 2, 1]}]);
    let t = created(&*db, &b).await;
    let read = db.get_template(t.id).await.unwrap().unwrap();
    assert_eq!(read.inference_params, t.inference_params);
    assert_eq!(read.tools_spec, t.tools_spec);
    assert_eq!(read.user_prompt_template, t.user_prompt_template);
    assert_eq!(
        read.system_instructions.as_deref(),
        Some("Line one\r\nline\ttwo ")
    );
    assert_eq!(
        read.config_canonical_json, t.config_canonical_json,
        "canonical JSON kept byte for byte"
    );
    assert_eq!(read.created_at, t.created_at);
}

pub async fn parallel_identical_creates_have_one_winner(db: Arc<dyn Database>) {
    let b = body("ws-race", "Parallel test");
    let tasks = (0..50).map(|i| {
        let db = db.clone();
        let mut b = b.clone();
        b["name"] = json!(format!("Attempt {i}"));
        tokio::spawn(async move { db.create_template(new_template(&b)).await })
    });
    let outcomes: Vec<_> = futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.expect("task").expect("no storage error"))
        .collect();
    let winners: Vec<_> = outcomes
        .iter()
        .filter_map(|o| match o {
            CreateTemplate::Created(t) => Some(t.id),
            _ => None,
        })
        .collect();
    assert_eq!(winners.len(), 1, "exactly one create wins");
    for o in &outcomes {
        if let CreateTemplate::Duplicate { existing, .. } = o {
            assert_eq!(existing.id, winners[0], "every loser names the winner");
        }
    }
    assert_eq!(
        db.list_templates(&query("default"))
            .await
            .unwrap()
            .items
            .len(),
        1
    );
}

pub async fn parallel_distinct_creates_all_succeed(db: Arc<dyn Database>) {
    let tasks = (0..40).map(|i| {
        let db = db.clone();
        let b = body(&format!("ws-{}", i % 4), &format!("Distinct {i}"));
        tokio::spawn(async move { db.create_template(new_template(&b)).await })
    });
    for r in futures::future::join_all(tasks).await {
        assert!(matches!(r.unwrap().unwrap(), CreateTemplate::Created(_)));
    }
    let mut q = query("default");
    q.limit = 100;
    assert_eq!(db.list_templates(&q).await.unwrap().items.len(), 40);
    assert_eq!(db.list_workspaces(&org("default")).await.unwrap().len(), 4);
}

fn observation(t: &Template, key: &str) -> VersionObservation {
    VersionObservation {
        org_id: t.org_id.clone(),
        workspace_id: t.workspace_id.clone(),
        template_id: t.id,
        provider: "openai".into(),
        provider_version_key: key.into(),
        model_id: t.model_id.clone(),
        response_model: Some("gpt-4o-2024-08-06".into()),
        system_fingerprint: key.starts_with("fp_").then(|| key.to_owned()),
        provider_response_id: Some("chatcmpl-1".into()),
        seen_at: timestamp::now(),
    }
}

fn run_result(t: &Template, idempotency_key: Option<&str>) -> RunResult {
    RunResult {
        id: uuid::Uuid::now_v7(),
        org_id: t.org_id.clone(),
        workspace_id: t.workspace_id.clone(),
        template_id: t.id,
        version_id: None,
        provider: "openai".into(),
        model_id: t.model_id.clone(),
        provider_version_key: None,
        system_fingerprint: Some("fp_abc".into()),
        request: json!({"country": "CH", "brand_name": "AVEA", "prompt": "What is AVEA?"}),
        response: json!({"id": "chatcmpl-1", "choices": [{"message": {"content": "AVEA is…"}}]}),
        answer: Some("AVEA is…".into()),
        analysis_config: json!({"scope": "brand", "alias_snapshot_id": null,
                                "entities_checked": ["AVEA"], "matching_rules": "exact"}),
        rendered_prompt_hash: "ab".repeat(32),
        run_country: Some("CH".into()),
        used_grounding: Some(false),
        status: RunStatus::Succeeded,
        error: None,
        latency_ms: 12,
        usage: Some(json!({"input_tokens": 10, "output_tokens": 20})),
        is_fake: true,
        idempotency_key: idempotency_key.map(str::to_owned),
        request_hash: idempotency_key.map(|_| "cd".repeat(32)),
        runner_id: None,
        batch_id: None,
        task_id: None,
        sample_index: None,
        // Written and read back on every backend (migration 0008's columns).
        finish_reason: Some("end_turn".into()),
        truncated: Some(false),
        reasoning: Some("Thinking about brands.".into()),
        citations: Some(json!([{"url": "https://www.avea.ch/", "title": "AVEA",
            "domain": "avea.ch", "cited_text": "Swiss supplements"}])),
        created_at: timestamp::now(),
    }
}

pub async fn version_upsert_creates_then_refreshes(db: Arc<dyn Database>) {
    let t = created(&*db, &body("ws-ver", "Version test")).await;
    let first = db.upsert_version(&observation(&t, "fp_one")).await.unwrap();
    assert!(first.created);
    assert_eq!(first.version.first_seen_at, first.version.last_seen_at);
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let again = db.upsert_version(&observation(&t, "fp_one")).await.unwrap();
    assert!(!again.created);
    assert_eq!(again.version.id, first.version.id);
    assert_eq!(again.version.first_seen_at, first.version.first_seen_at);
    assert!(again.version.last_seen_at > first.version.last_seen_at);
    let drift = db.upsert_version(&observation(&t, "fp_two")).await.unwrap();
    assert!(drift.created);
    let versions = db.list_versions(t.id).await.unwrap();
    assert_eq!(
        versions
            .iter()
            .map(|v| v.provider_version_key.as_str())
            .collect::<Vec<_>>(),
        ["fp_two", "fp_one"]
    );
    assert_eq!(
        db.latest_version(t.id).await.unwrap().unwrap().id,
        drift.version.id
    );
    assert!(db
        .latest_version(uuid::Uuid::now_v7())
        .await
        .unwrap()
        .is_none());
}

pub async fn parallel_version_upserts_end_in_one_row(db: Arc<dyn Database>) {
    let t = created(&*db, &body("ws-ver-race", "Version race")).await;
    let tasks = (0..10).map(|_| {
        let (db, o) = (db.clone(), observation(&t, "fp_race"));
        tokio::spawn(async move { db.upsert_version(&o).await })
    });
    let outcomes: Vec<_> = futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap())
        .collect();
    assert_eq!(outcomes.iter().filter(|o| o.created).count(), 1);
    let ids: HashSet<_> = outcomes.iter().map(|o| o.version.id).collect();
    assert_eq!(ids.len(), 1, "every caller sees the one row");
    assert_eq!(db.list_versions(t.id).await.unwrap().len(), 1);
}

pub async fn run_records_version_and_result_together(db: Arc<dyn Database>) {
    let t = created(&*db, &body("ws-run", "Run test")).await;
    let recorded = db
        .record_run(RunRecord {
            analysis: None,
            observation: Some(observation(&t, "fp_run")),
            result: run_result(&t, None),
            task: None,
        })
        .await
        .unwrap();
    let RecordedRun::Recorded { result, version } = recorded else {
        panic!("expected Recorded");
    };
    let version = version.expect("version upserted");
    assert!(version.created);
    assert_eq!(result.version_id, Some(version.version.id));
    assert_eq!(result.provider_version_key.as_deref(), Some("fp_run"));
    assert_eq!(
        db.get_result(result.id).await.unwrap(),
        Some(result.clone())
    );
    // A probe of the same build meets the run's version.
    let probe = db.upsert_version(&observation(&t, "fp_run")).await.unwrap();
    assert_eq!(probe.version.id, version.version.id);
    assert!(db.get_result(uuid::Uuid::now_v7()).await.unwrap().is_none());
}

pub async fn failed_run_is_recorded_without_version(db: Arc<dyn Database>) {
    let t = created(&*db, &body("ws-fail", "Failure test")).await;
    let mut failed = run_result(&t, None);
    failed.status = RunStatus::Failed;
    failed.error = Some(json!({"code": "PROVIDER_ERROR", "provider_status": 500}));
    failed.response = json!({"error": {"message": "boom"}});
    failed.answer = None;
    failed.used_grounding = None;
    failed.system_fingerprint = None;
    let RecordedRun::Recorded { result, version } = db
        .record_run(RunRecord {
            analysis: None,
            observation: None,
            result: failed,
            task: None,
        })
        .await
        .unwrap()
    else {
        panic!("expected Recorded");
    };
    assert!(version.is_none());
    assert_eq!(result.version_id, None);
    let read = db.get_result(result.id).await.unwrap().unwrap();
    assert_eq!(read.status, RunStatus::Failed);
    assert_eq!(read.error, result.error);
    assert!(db.list_versions(t.id).await.unwrap().is_empty());
}

pub async fn run_answer_round_trips_apart_from_the_response(db: Arc<dyn Database>) {
    let t = created(&*db, &body("ws-answer", "Answer test")).await;
    let record = |result| RunRecord {
        analysis: None,
        observation: None,
        result,
        task: None,
    };
    let mut answered = run_result(&t, Some("answer-key"));
    answered.answer = Some("Zeile eins\r\n\t— 日本語 😀 \"quoted\" {not json}".into());
    // An empty answer is an answer (the model said nothing), not a missing one.
    let mut empty = run_result(&t, None);
    empty.answer = Some(String::new());
    let mut failed = run_result(&t, None);
    failed.status = RunStatus::Failed;
    failed.answer = None;
    failed.response = json!({"error": {"message": "boom"}});

    for sent in [answered.clone(), empty, failed] {
        let RecordedRun::Recorded { result, .. } =
            db.record_run(record(sent.clone())).await.unwrap()
        else {
            panic!("expected Recorded");
        };
        assert_eq!(result.answer, sent.answer);
        let read = db.get_result(sent.id).await.unwrap().unwrap();
        assert_eq!(read.answer, sent.answer);
        assert_eq!(
            read.response, sent.response,
            "the response is stored as given"
        );
    }
    let listed = db.list_results(t.id, None, 50, None).await.unwrap().items;
    assert_eq!(
        listed
            .iter()
            .rev()
            .map(|r| r.answer.as_deref())
            .collect::<Vec<_>>(),
        [Some(answered.answer.as_deref().unwrap()), Some(""), None]
    );
    // A replay returns the first run's answer.
    let since = answered.created_at - chrono::Duration::hours(1);
    let first = db
        .find_idempotent_result(t.id, "answer-key", since)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.answer, answered.answer);
    match db
        .record_run(record(run_result(&t, Some("answer-key"))))
        .await
        .unwrap()
    {
        RecordedRun::IdempotentReplay(r) => assert_eq!(r.answer, answered.answer),
        other => panic!("expected replay, got {other:?}"),
    }
}

pub async fn results_page_newest_first(db: Arc<dyn Database>) {
    let t = created(&*db, &body("ws-results", "Results test")).await;
    let other = created(&*db, &body("ws-results", "Other template")).await;
    let mut ids = Vec::new();
    for _ in 0..12 {
        let r = db
            .record_run(RunRecord {
                analysis: None,
                observation: Some(observation(&t, "fp_p")),
                result: run_result(&t, None),
                task: None,
            })
            .await
            .unwrap();
        if let RecordedRun::Recorded { result, .. } = r {
            ids.push(result.id);
        }
    }
    db.record_run(RunRecord {
        analysis: None,
        observation: None,
        result: run_result(&other, None),
        task: None,
    })
    .await
    .unwrap();
    ids.reverse();
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = db.list_results(t.id, None, 5, after).await.unwrap();
        seen.extend(page.items.iter().map(|r| r.id));
        match page.next {
            Some(c) => after = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, ids);
}

pub async fn idempotency_key_replays_the_first_result(db: Arc<dyn Database>) {
    let t = created(&*db, &body("ws-idem", "Idempotency test")).await;
    let RecordedRun::Recorded { result: first, .. } = db
        .record_run(RunRecord {
            analysis: None,
            observation: Some(observation(&t, "fp_i")),
            result: run_result(&t, Some("key-1")),
            task: None,
        })
        .await
        .unwrap()
    else {
        panic!("expected Recorded");
    };
    match db
        .record_run(RunRecord {
            analysis: None,
            observation: Some(observation(&t, "fp_i")),
            result: run_result(&t, Some("key-1")),
            task: None,
        })
        .await
        .unwrap()
    {
        RecordedRun::IdempotentReplay(r) => assert_eq!(r.id, first.id),
        other => panic!("expected replay, got {other:?}"),
    }
    let since = first.created_at - chrono::Duration::hours(24);
    let found = db
        .find_idempotent_result(t.id, "key-1", since)
        .await
        .unwrap();
    assert_eq!(found.map(|r| r.id), Some(first.id));
    let later = first.created_at + chrono::Duration::seconds(1);
    assert!(db
        .find_idempotent_result(t.id, "key-1", later)
        .await
        .unwrap()
        .is_none());
    assert!(db
        .find_idempotent_result(t.id, "key-2", since)
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        db.list_results(t.id, None, 50, None)
            .await
            .unwrap()
            .items
            .len(),
        1
    );
}

pub async fn parallel_runs_with_one_idempotency_key_record_once(db: Arc<dyn Database>) {
    let t = created(&*db, &body("ws-idem-race", "Idempotency race")).await;
    let tasks = (0..10).map(|_| {
        let db = db.clone();
        let record = RunRecord {
            analysis: None,
            observation: Some(observation(&t, "fp_r")),
            result: run_result(&t, Some("same")),
            task: None,
        };
        tokio::spawn(async move { db.record_run(record).await })
    });
    let outcomes: Vec<_> = futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap())
        .collect();
    let recorded: Vec<_> = outcomes
        .iter()
        .filter_map(|o| match o {
            RecordedRun::Recorded { result, .. } => Some(result.id),
            _ => None,
        })
        .collect();
    assert_eq!(recorded.len(), 1);
    for o in &outcomes {
        if let RecordedRun::IdempotentReplay(r) = o {
            assert_eq!(r.id, recorded[0]);
        }
    }
    assert_eq!(
        db.list_results(t.id, None, 50, None)
            .await
            .unwrap()
            .items
            .len(),
        1
    );
}

pub async fn tokens_are_stored_hashed_and_revocable(db: Arc<dyn Database>) {
    use prompter_storage::{NewToken, Role};
    assert_eq!(db.count_active_tokens().await.unwrap(), 0);
    let new = |org: &str, hash: &str, workspaces: Option<Vec<String>>, role| NewToken {
        id: uuid::Uuid::now_v7(),
        org_id: org.into(),
        workspaces,
        role,
        label: Some("ci".into()),
        token_hash: hash.into(),
        created_at: timestamp::now(),
    };
    let a = db
        .create_token(new("org-a", &"a".repeat(64), None, Role::Admin))
        .await
        .unwrap();
    let b = db
        .create_token(new(
            "org-b",
            &"b".repeat(64),
            Some(vec!["brand-1".into()]),
            Role::Reader,
        ))
        .await
        .unwrap();
    assert_eq!(db.count_active_tokens().await.unwrap(), 2);
    assert_eq!(
        db.active_token_by_hash(&"a".repeat(64)).await.unwrap(),
        Some(a.clone())
    );
    let found_b = db
        .active_token_by_hash(&"b".repeat(64))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found_b.workspaces, Some(vec!["brand-1".to_owned()]));
    assert_eq!(found_b.role, Role::Reader);
    assert!(db
        .active_token_by_hash(&"c".repeat(64))
        .await
        .unwrap()
        .is_none());
    assert!(db.revoke_token(b.id).await.unwrap());
    assert!(
        !db.revoke_token(b.id).await.unwrap(),
        "revoking twice changes nothing"
    );
    assert!(db
        .active_token_by_hash(&"b".repeat(64))
        .await
        .unwrap()
        .is_none());
    assert_eq!(db.count_active_tokens().await.unwrap(), 1);
    let all = db.list_tokens().await.unwrap();
    assert_eq!(all.len(), 2);
    assert!(all.iter().any(|t| t.id == b.id && t.revoked_at.is_some()));
}

pub async fn list_can_be_restricted_to_allowed_workspaces(db: Arc<dyn Database>) {
    let a = created(&*db, &body("brand-a", "One")).await;
    let b = created(&*db, &body("brand-b", "Two")).await;
    created(&*db, &body("brand-c", "Three")).await;
    let mut q = query("default");
    q.allowed_workspaces = Some(vec!["brand-a".into(), "brand-b".into()]);
    let ids: HashSet<_> = db
        .list_templates(&q)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(ids, [a.id, b.id].into());
    q.allowed_workspaces = Some(vec![]);
    assert!(db.list_templates(&q).await.unwrap().items.is_empty());
}

/// A result recorded as `running` by `runner`, `age` ago (its heartbeat starts then).
async fn running(db: &dyn Database, t: &Template, runner: uuid::Uuid, age_ms: i64) -> RunResult {
    let mut r = run_result(t, None);
    r.status = RunStatus::Running;
    r.answer = None;
    r.response = json!({});
    r.system_fingerprint = None;
    r.runner_id = Some(runner);
    r.created_at = timestamp::now() - chrono::Duration::milliseconds(age_ms);
    match db
        .record_run(RunRecord {
            analysis: None,
            observation: None,
            result: r,
            task: None,
        })
        .await
        .unwrap()
    {
        RecordedRun::Recorded { result, .. } => result,
        other => panic!("expected Recorded, got {other:?}"),
    }
}

/// Finishes `record`'s row; the stored result, as the service reads it from the outcome.
async fn finish(db: &dyn Database, record: RunRecord) -> RunResult {
    let finished = db.finish_run(&record).await.unwrap();
    finished.into_result(record)
}

/// The outcome a provider answer gives a running row.
fn answered(row: &RunResult) -> RunResult {
    let mut done = row.clone();
    done.status = RunStatus::Succeeded;
    done.answer = Some("AVEA is…".into());
    done.response = json!({"id": "chatcmpl-9"});
    done.latency_ms = 1234;
    done
}

fn interrupted() -> Value {
    json!({"code": "interrupted", "message": "stopped"})
}

pub async fn running_result_is_finished_with_its_version(db: Arc<dyn Database>) {
    let t = created(&*db, &body("ws-finish", "Finish test")).await;
    let runner = uuid::Uuid::now_v7();
    let row = running(&*db, &t, runner, 0).await;
    assert_eq!(row.status, RunStatus::Running);
    assert_eq!(row.runner_id, Some(runner));
    assert_eq!(
        db.get_result(row.id).await.unwrap().unwrap().status,
        RunStatus::Running
    );

    let finished = finish(
        &*db,
        RunRecord {
            analysis: None,
            observation: Some(observation(&t, "fp_fin")),
            result: answered(&row),
            task: None,
        },
    )
    .await;
    assert_eq!(finished.status, RunStatus::Succeeded);
    assert_eq!(finished.answer.as_deref(), Some("AVEA is…"));
    assert_eq!(finished.latency_ms, 1234);
    assert_eq!(finished.provider_version_key.as_deref(), Some("fp_fin"));
    let version = db.latest_version(t.id).await.unwrap().unwrap();
    assert_eq!(finished.version_id, Some(version.id));
    assert_eq!(finished.runner_id, None, "a finished row has no runner");
    assert_eq!(finished.created_at, row.created_at);
    // What the service holds without reading back is exactly the stored row.
    assert_eq!(db.get_result(row.id).await.unwrap(), Some(finished.clone()));

    // Finishing again (a retried write) leaves the succeeded row as it is.
    let mut other = answered(&row);
    other.answer = Some("something else".into());
    let again = db
        .finish_run(&RunRecord {
            analysis: None,
            observation: None,
            result: other,
            task: None,
        })
        .await
        .unwrap();
    assert_eq!(
        again,
        prompter_storage::FinishedRun::AlreadyFinished(finished)
    );
    // An unknown result cannot be finished.
    assert!(db
        .finish_run(&RunRecord {
            analysis: None,
            observation: None,
            result: answered(&run_result(&t, None)),
            task: None,
        })
        .await
        .is_err());
}

pub async fn heartbeats_and_interruptions_touch_only_their_rows(db: Arc<dyn Database>) {
    let t = created(&*db, &body("ws-beat", "Heartbeat test")).await;
    let (me, dead, alive) = (
        uuid::Uuid::now_v7(),
        uuid::Uuid::now_v7(),
        uuid::Uuid::now_v7(),
    );
    let mine = running(&*db, &t, me, 120_000).await;
    let of_dead = running(&*db, &t, dead, 120_000).await;
    let of_alive = running(&*db, &t, alive, 0).await;
    let done = db
        .record_run(RunRecord {
            analysis: None,
            observation: None,
            result: run_result(&t, None),
            task: None,
        })
        .await
        .unwrap();
    let RecordedRun::Recorded { result: done, .. } = done else {
        panic!("expected Recorded");
    };

    // My heartbeat is renewed: my old row is no longer stale. Only the rows I name: one I lost
    // track of goes stale like a dead runner's.
    assert_eq!(
        db.heartbeat_runs(me, &[of_alive.id], timestamp::now())
            .await
            .unwrap(),
        0,
        "another runner's row is not mine to renew"
    );
    assert_eq!(
        db.heartbeat_runs(me, &[mine.id, done.id], timestamp::now())
            .await
            .unwrap(),
        1
    );
    let stale_before = timestamp::now() - chrono::Duration::seconds(60);
    let swept = db
        .interrupt_runs(InterruptScope::StaleBefore(stale_before), &interrupted())
        .await
        .unwrap();
    assert_eq!(swept, 1, "only the dead runner's row is stale");
    let read = |id| {
        let db = db.clone();
        async move { db.get_result(id).await.unwrap().unwrap() }
    };
    let of_dead = read(of_dead.id).await;
    assert_eq!(of_dead.status, RunStatus::Failed);
    assert_eq!(of_dead.error, Some(interrupted()));
    assert_eq!(of_dead.runner_id, None);
    assert_eq!(read(mine.id).await.status, RunStatus::Running);
    assert_eq!(read(of_alive.id).await.status, RunStatus::Running);
    assert_eq!(read(done.id).await, done, "a finished row is never touched");

    // At shutdown a runner marks exactly its own rows; a second time finds none.
    let scope = InterruptScope::Runner(me);
    assert_eq!(db.interrupt_runs(scope, &interrupted()).await.unwrap(), 1);
    assert_eq!(db.interrupt_runs(scope, &interrupted()).await.unwrap(), 0);
    assert_eq!(read(mine.id).await.status, RunStatus::Failed);
    assert_eq!(read(of_alive.id).await.status, RunStatus::Running);
    assert_eq!(
        db.heartbeat_runs(me, &[mine.id], timestamp::now())
            .await
            .unwrap(),
        0
    );
}

pub async fn a_late_answer_replaces_the_interrupted_marker(db: Arc<dyn Database>) {
    let t = created(&*db, &body("ws-late", "Late answer test")).await;
    let runner = uuid::Uuid::now_v7();
    let row = running(&*db, &t, runner, 0).await;
    db.interrupt_runs(InterruptScope::Runner(runner), &interrupted())
        .await
        .unwrap();
    let finished = finish(
        &*db,
        RunRecord {
            analysis: None,
            observation: None,
            result: answered(&row),
            task: None,
        },
    )
    .await;
    assert_eq!(finished.status, RunStatus::Succeeded);
    assert_eq!(finished.error, None);
    assert_eq!(db.get_result(row.id).await.unwrap(), Some(finished.clone()));
    assert_eq!(finished.answer.as_deref(), Some("AVEA is…"));
}

pub async fn labels_change_without_touching_identity(db: Arc<dyn Database>) {
    let mut b = body("ws-labels", "Labels");
    b["tags"] = json!(["funnel:awareness", "category:supplements"]);
    let t = created(&*db, &b).await;
    assert_eq!(t.tags, vec!["funnel:awareness", "category:supplements"]);
    assert_eq!(db.get_template(t.id).await.unwrap().unwrap().tags, t.tags);
    let other = created(&*db, &body("ws-labels", "Other")).await;
    assert!(other.tags.is_empty());

    // Name and tags change; the hash and everything else stay.
    let tags = vec!["funnel:consideration".to_owned()];
    let changed = db
        .update_template_labels(t.id, Some("Renamed"), Some(&tags))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(changed.name, "Renamed");
    assert_eq!(changed.tags, tags);
    assert_eq!(changed.config_hash, t.config_hash);
    assert_eq!(changed.created_at, t.created_at);
    // Only the name: the tags stay.
    let renamed = db
        .update_template_labels(t.id, Some("Again"), None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((renamed.name.as_str(), &renamed.tags), ("Again", &tags));
    assert!(db
        .update_template_labels(uuid::Uuid::now_v7(), Some("x"), None)
        .await
        .unwrap()
        .is_none());
    // The configuration is still taken: labels are not identity.
    assert!(matches!(
        create(&*db, &body("ws-labels", "Labels")).await,
        CreateTemplate::Duplicate { .. }
    ));

    // Lists filter by tag.
    let mut q = query("default");
    q.workspace_id = Some(ws("ws-labels"));
    q.tag = Some("funnel:consideration".into());
    let page = db.list_templates(&q).await.unwrap();
    assert_eq!(
        page.items.iter().map(|t| t.id).collect::<Vec<_>>(),
        vec![t.id]
    );
    q.tag = Some("funnel".into());
    assert!(db.list_templates(&q).await.unwrap().items.is_empty());

    // Workspaces are renamed in their organisation only.
    let renamed = db
        .rename_workspace(&org("default"), &ws("ws-labels"), "Labels & Co")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(renamed.name, "Labels & Co");
    assert_eq!(
        db.get_workspace(&org("default"), &ws("ws-labels"))
            .await
            .unwrap()
            .unwrap()
            .name,
        "Labels & Co"
    );
    assert!(db
        .rename_workspace(&org("other"), &ws("ws-labels"), "x")
        .await
        .unwrap()
        .is_none());
}
