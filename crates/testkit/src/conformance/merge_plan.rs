//! Conformance cases of merge plans (import and dedupe): rows inserted with their ids once,
//! existing rows re-pointed, the whole plan or nothing, and the id lookups an import skips by.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use prompter_storage::{
    timestamp, Database, IdTable, ImportedResult, ImportedTemplate, ImportedVersion, MergeApplied,
    MergePlan, NewWorkspace, RecordedRun, Rehash, RunRecord, RunResult, RunStatus, SeenWindow,
    Template, TemplateHead, Version, Workspace,
};
use serde_json::{json, Value};
use uuid::Uuid;

use super::{body, created, new_template, observation, org, query, run_result, ws};

fn at(text: &str) -> DateTime<Utc> {
    timestamp::parse(text).expect("test timestamp")
}

/// An active template row of an import, created at a fixed past time.
fn imported(body: &Value) -> ImportedTemplate {
    let mut template = new_template(body);
    template.created_at = at("2025-08-14T14:13:29.123456Z");
    ImportedTemplate {
        template,
        deleted_at: None,
        merged_into: None,
    }
}

fn version(t: &ImportedTemplate, key: &str, first_seen: &str) -> ImportedVersion {
    let s = &t.template.spec;
    ImportedVersion {
        id: Uuid::now_v7(),
        org_id: s.org_id.to_string(),
        workspace_id: s.workspace_id.to_string(),
        template_id: t.template.id,
        provider: "openai".into(),
        provider_version_key: key.into(),
        model_id: s.model_id.clone(),
        fingerprint_captured_at: Some(at(first_seen)),
        first_seen_at: at(first_seen),
        last_seen_at: at("2025-09-01T08:00:00.000001Z"),
        merged_into: None,
    }
}

/// A succeeded answer as it reads back once imported: every optional field set except
/// `reasoning` (an import does not carry it) and what belongs to a live run.
fn stored(t: &ImportedTemplate, version: Option<&ImportedVersion>) -> RunResult {
    RunResult {
        version_id: version.map(|v| v.id),
        provider_version_key: version.map(|v| v.provider_version_key.clone()),
        used_grounding: Some(true),
        is_fake: false,
        reasoning: None,
        created_at: at("2025-08-15T09:30:00.654321Z"),
        ..run_result(&as_template(t), None)
    }
}

/// A failed attempt: every optional field empty.
fn failed(t: &ImportedTemplate) -> RunResult {
    RunResult {
        system_fingerprint: None,
        response: json!({"error": {"message": "boom"}}),
        answer: None,
        analysis_config: Value::Null,
        rendered_prompt_hash: String::new(),
        run_country: None,
        used_grounding: None,
        status: RunStatus::Failed,
        error: Some(json!({"code": "PROVIDER_ERROR", "provider_status": 500})),
        usage: None,
        finish_reason: None,
        truncated: None,
        citations: None,
        ..stored(t, None)
    }
}

/// The import row of a result (absent JSON and hash are NULL, as the import writes them).
fn as_import(r: &RunResult) -> ImportedResult {
    ImportedResult {
        id: r.id,
        org_id: r.org_id.clone(),
        workspace_id: r.workspace_id.clone(),
        template_id: r.template_id,
        version_id: r.version_id,
        provider: r.provider.clone(),
        model_id: r.model_id.clone(),
        provider_version_key: r.provider_version_key.clone(),
        system_fingerprint: r.system_fingerprint.clone(),
        request: r.request.to_string(),
        response: r.response.to_string(),
        answer: r.answer.clone(),
        analysis_config: Some(r.analysis_config.clone()).filter(|c| !c.is_null()),
        rendered_prompt_hash: Some(r.rendered_prompt_hash.clone()).filter(|h| !h.is_empty()),
        run_country: r.run_country.clone(),
        used_grounding: r.used_grounding,
        status: r.status.as_str().into(),
        error: r.error.clone(),
        latency_ms: r.latency_ms,
        usage: r.usage.clone(),
        is_fake: r.is_fake,
        finish_reason: r.finish_reason.clone(),
        truncated: r.truncated,
        citations: r.citations.clone(),
        created_at: r.created_at,
    }
}

fn as_template(t: &ImportedTemplate) -> Template {
    Template {
        deleted_at: t.deleted_at,
        merged_into: t.merged_into,
        ..t.template.clone().into_template()
    }
}

fn as_version(v: &ImportedVersion) -> Version {
    Version {
        id: v.id,
        org_id: v.org_id.clone(),
        workspace_id: v.workspace_id.clone(),
        template_id: v.template_id,
        provider: v.provider.clone(),
        provider_version_key: v.provider_version_key.clone(),
        model_id: v.model_id.clone(),
        response_model: None,
        system_fingerprint: None,
        provider_response_id: None,
        fingerprint_captured_at: v.fingerprint_captured_at.unwrap_or(v.first_seen_at),
        first_seen_at: v.first_seen_at,
        last_seen_at: v.last_seen_at,
    }
}

fn workspace(id: &str, name: &str) -> NewWorkspace {
    NewWorkspace {
        org_id: org("default"),
        id: ws(id),
        name: name.into(),
        created_at: at("2025-08-01T00:00:00.000000Z"),
    }
}

/// Records a run of `t` observing version key `key`: the result and its version.
async fn record(db: &dyn Database, t: &Template, key: &str) -> (RunResult, Version) {
    let recorded = db
        .record_run(RunRecord {
            analysis: None,
            observation: Some(observation(t, key)),
            result: run_result(t, None),
            task: None,
        })
        .await
        .unwrap();
    let RecordedRun::Recorded { result, version } = recorded else {
        panic!("expected Recorded");
    };
    (result, version.expect("version").version)
}

type Snapshot = (
    Vec<Template>,
    Vec<Workspace>,
    Vec<Vec<Version>>,
    Vec<Vec<RunResult>>,
);

/// What the org holds as seen through the contract: every template (deleted ones too), the
/// workspaces, and each template's versions and results.
async fn snapshot(db: &dyn Database) -> Snapshot {
    let mut q = query("default");
    q.include_deleted = true;
    q.limit = 200;
    let templates = db.list_templates(&q).await.unwrap().items;
    let (mut versions, mut results) = (Vec::new(), Vec::new());
    for t in &templates {
        versions.push(db.list_versions(t.id).await.unwrap());
        results.push(db.list_results(t.id, None, 200, None).await.unwrap().items);
    }
    let workspaces = db.list_workspaces(&org("default")).await.unwrap();
    (templates, workspaces, versions, results)
}

/// An import: a workspace, an active template and its merged twin (same configuration, which
/// a deleted row may share), versions (one merged into the survivor's), results on both. Every
/// field reads back as written; the same plan again changes nothing and keeps the names.
pub async fn merge_plan_inserts_rows_once_with_their_ids(db: Arc<dyn Database>) {
    let db = db.as_ref();
    let mut b = body("ws-import", "What is AVEA known for?");
    b["tags"] = json!(["imported", "funnel:awareness"]);
    let active = imported(&b);
    let merged = ImportedTemplate {
        deleted_at: Some(at("2025-08-20T10:00:00.000001Z")),
        merged_into: Some(active.template.id),
        ..imported(&b)
    };
    let v_active = version(&active, "fp_1", "2025-08-14T15:00:00.000000Z");
    let v_merged = ImportedVersion {
        merged_into: Some(v_active.id),
        ..version(&merged, "fp_1", "2025-08-16T15:00:00.000000Z")
    };
    // Without a capture time the version reads back with its first sighting.
    let v_old = ImportedVersion {
        fingerprint_captured_at: None,
        ..version(&merged, "fp_0", "2025-08-15T15:00:00.000000Z")
    };
    let r_active = stored(&active, Some(&v_active));
    let r_merged = failed(&merged);
    let mut plan = MergePlan {
        workspaces: vec![workspace("ws-import", "AVEA Imported")],
        templates: vec![active.clone(), merged.clone()],
        versions: vec![v_active.clone(), v_merged.clone(), v_old.clone()],
        results: vec![as_import(&r_active), as_import(&r_merged)],
        ..MergePlan::default()
    };
    let applied = db.apply_merge_plan(&plan).await.unwrap();
    assert_eq!(
        applied,
        MergeApplied {
            workspaces_inserted: 1,
            templates_inserted: 2,
            versions_inserted: 3,
            results_inserted: 2,
            ..MergeApplied::default()
        }
    );

    assert_eq!(
        db.get_result(r_active.id).await.unwrap(),
        Some(r_active.clone())
    );
    // Newest first (one creation time: the later id first), each with its versions (most
    // recently first seen first) and results.
    let expected: Snapshot = (
        vec![as_template(&merged), as_template(&active)],
        vec![Workspace {
            id: "ws-import".into(),
            org_id: "default".into(),
            name: "AVEA Imported".into(),
            created_at: plan.workspaces[0].created_at,
        }],
        vec![
            vec![as_version(&v_merged), as_version(&v_old)],
            vec![as_version(&v_active)],
        ],
        vec![vec![r_merged], vec![r_active]],
    );
    assert_eq!(snapshot(db).await, expected);
    assert_eq!(
        db.find_active_duplicate(
            &org("default"),
            &ws("ws-import"),
            &expected.0[0].config_hash
        )
        .await
        .unwrap(),
        Some(expected.0[1].clone()),
        "the active row holds the configuration"
    );

    // Again, with another workspace name: nothing changes, the name is kept.
    plan.workspaces[0].name = "Renamed".into();
    assert_eq!(
        db.apply_merge_plan(&plan).await.unwrap(),
        MergeApplied::default()
    );
    assert_eq!(snapshot(db).await, expected);
}

/// A dedupe: templates merged (an earlier deletion keeps its time), one rehashed, versions
/// merged and moved, a seen-window widened (never narrowed), results re-pointed. The same
/// plan again changes nothing.
pub async fn merge_plan_updates_existing_rows(db: Arc<dyn Database>) {
    let db = db.as_ref();
    let a = created(db, &body("ws-dedupe", "Survivor question")).await;
    let b = created(db, &body("ws-dedupe", "Deleted twin")).await;
    let c = created(db, &body("ws-dedupe", "Active twin")).await;
    let (ra, va) = record(db, &a, "fp_shared").await;
    let (rb, vb) = record(db, &b, "fp_shared").await;
    let only_b = observation(&b, "fp_only_b");
    let vb_only = db.upsert_version(&only_b).await.unwrap().version;
    let b_deleted_at = db.soft_delete_template(b.id).await.unwrap().unwrap();
    let b_deleted_at = b_deleted_at.deleted_at;
    assert!(b_deleted_at.is_some());

    let first = at("2024-01-01T00:00:00.000000Z");
    let last = va.last_seen_at + Duration::hours(1);
    let near_key = "9".repeat(32);
    let plan = MergePlan {
        template_merges: vec![(b.id, a.id), (c.id, a.id)],
        rehash: vec![Rehash {
            template_id: a.id,
            config_hash: "e".repeat(64),
            config_canonical_json: r#"{"rehashed":true}"#.into(),
            near_key: Some(near_key.clone()),
        }],
        version_merges: vec![(vb.id, va.id)],
        version_moves: vec![(vb_only.id, a.id)],
        seen_windows: vec![
            SeenWindow {
                version_id: va.id,
                first_seen_at: first,
                last_seen_at: last,
            },
            // Inside the row's window: changes nothing.
            SeenWindow {
                version_id: vb_only.id,
                first_seen_at: vb_only.first_seen_at + Duration::microseconds(1),
                last_seen_at: vb_only.last_seen_at,
            },
        ],
        result_version_moves: vec![(vb.id, va.id)],
        result_moves: vec![(b.id, a.id)],
        ..MergePlan::default()
    };
    let applied = db.apply_merge_plan(&plan).await.unwrap();
    assert_eq!(
        applied,
        MergeApplied {
            templates_merged: 2,
            templates_rehashed: 1,
            versions_merged: 1,
            versions_moved: 1,
            // rb moved to the survivor's version, then to the survivor.
            results_moved: 2,
            ..MergeApplied::default()
        }
    );

    let read = |id| async move { db.get_template(id).await.unwrap().expect("template") };
    let into_a = |t: &Template, deleted_at| Template {
        deleted_at,
        merged_into: Some(a.id),
        ..t.clone()
    };
    let b_read = read(b.id).await;
    assert_eq!(b_read, into_a(&b, b_deleted_at), "deleted_at kept");
    let c_read = read(c.id).await;
    assert!(c_read.deleted_at.is_some(), "merged: deleted");
    assert_eq!(c_read, into_a(&c, c_read.deleted_at));
    let rehashed = Template {
        config_hash: "e".repeat(64),
        config_canonical_json: r#"{"rehashed":true}"#.into(),
        ..a.clone()
    };
    assert_eq!(read(a.id).await, rehashed);
    let (o, w) = (org("default"), ws("ws-dedupe"));
    let found = db.find_twin_and_near(&o, &w, &rehashed.config_hash, &near_key, 10);
    let head = TemplateHead {
        id: rehashed.id,
        name: rehashed.name.clone(),
        config_hash: rehashed.config_hash.clone(),
        config_canonical_json: rehashed.config_canonical_json.clone(),
    };
    assert_eq!(found.await.unwrap(), [head], "new hash and key");

    let widened = Version {
        first_seen_at: first,
        last_seen_at: last,
        ..va.clone()
    };
    let moved = Version {
        template_id: a.id,
        ..vb_only.clone()
    };
    let mut on_a = db.list_versions(a.id).await.unwrap();
    on_a.sort_by_key(|v| v.id);
    assert_eq!(on_a, [widened, moved], "both ids are UUIDv7: va is older");
    assert_eq!(
        db.list_versions(b.id).await.unwrap(),
        std::slice::from_ref(&vb),
        "a merged version stays on its template"
    );
    assert_eq!(
        db.get_result(rb.id).await.unwrap(),
        Some(RunResult {
            template_id: a.id,
            version_id: Some(va.id),
            ..rb.clone()
        })
    );
    assert_eq!(db.get_result(ra.id).await.unwrap(), Some(ra));

    let before = snapshot(db).await;
    assert_eq!(
        db.apply_merge_plan(&plan).await.unwrap(),
        MergeApplied::default()
    );
    assert_eq!(snapshot(db).await, before);
}

/// A plan whose last row fails — at the last step, or on the unique indexes of templates and
/// versions — writes nothing at all: the earlier steps' rows and changes are rolled back.
pub async fn merge_plan_is_all_or_nothing(db: Arc<dyn Database>) {
    let db = db.as_ref();
    let t = created(db, &body("ws-atomic", "Existing question")).await;
    let (_, vt) = record(db, &t, "fp_1").await;
    let fresh = imported(&body("ws-atomic-new", "Fresh question"));
    let fresh_version = version(&fresh, "fp_1", "2025-08-14T15:00:00.000000Z");
    let good = MergePlan {
        workspaces: vec![workspace("ws-atomic-new", "New brand")],
        template_merges: vec![(t.id, fresh.template.id)],
        rehash: vec![Rehash {
            template_id: t.id,
            config_hash: "d".repeat(64),
            config_canonical_json: "{}".into(),
            near_key: None,
        }],
        templates: vec![fresh.clone()],
        versions: vec![fresh_version.clone()],
        version_merges: vec![(vt.id, fresh_version.id)],
        seen_windows: vec![SeenWindow {
            version_id: vt.id,
            first_seen_at: at("2020-01-01T00:00:00.000000Z"),
            last_seen_at: vt.last_seen_at,
        }],
        result_version_moves: vec![(vt.id, fresh_version.id)],
        result_moves: vec![(t.id, fresh.template.id)],
        results: vec![as_import(&stored(&fresh, Some(&fresh_version)))],
        ..MergePlan::default()
    };

    let mut orphan = as_import(&stored(&fresh, None));
    orphan.template_id = Uuid::now_v7();
    let mut unknown_template = good.clone();
    unknown_template.results.push(orphan);
    let mut active_twin = good.clone();
    (active_twin.templates).push(imported(&body("ws-atomic-new", "Fresh question")));
    let mut version_twin = good.clone();
    let twin = version(&fresh, "fp_1", "2025-08-20T15:00:00.000000Z");
    version_twin.versions.push(twin);

    let before = snapshot(db).await;
    for (what, plan) in [
        ("a result of an unknown template", unknown_template),
        ("an active twin of a configuration", active_twin),
        ("a second version row with one key", version_twin),
    ] {
        let outcome = db.apply_merge_plan(&plan).await;
        assert!(outcome.is_err(), "{what}: {outcome:?}");
        // The snapshot holds the workspaces and every template of the org with its rows.
        assert_eq!(snapshot(db).await, before, "{what}: nothing written");
    }

    // The plan without the failing row applies.
    let applied = db.apply_merge_plan(&good).await.unwrap();
    let counts = (applied.templates_inserted, applied.results_inserted);
    assert_eq!((counts, applied.results_moved), ((1, 1), 2));
}

/// More rows than one statement takes on either backend are inserted; `existing_ids` answers
/// 1,200 ids (several chunks, a duplicate among them) per table.
pub async fn existing_ids_are_looked_up_in_chunks(db: Arc<dyn Database>) {
    let db = db.as_ref();
    let templates: Vec<ImportedTemplate> = (0..1_500)
        .map(|i| imported(&body("ws-bulk", &format!("Bulk question {i}"))))
        .collect();
    let versions: Vec<ImportedVersion> = templates
        .iter()
        .take(100)
        .map(|t| version(t, "fp_bulk", "2025-08-14T15:00:00.000000Z"))
        .collect();
    let results: Vec<RunResult> = (0..3_000)
        .map(|i| stored(&templates[i % templates.len()], None))
        .collect();
    let plan = MergePlan {
        workspaces: vec![workspace("ws-bulk", "Bulk")],
        templates: templates.clone(),
        versions: versions.clone(),
        results: results.iter().map(as_import).collect(),
        ..MergePlan::default()
    };
    let applied = db.apply_merge_plan(&plan).await.unwrap();
    let expected = MergeApplied {
        workspaces_inserted: 1,
        templates_inserted: 1_500,
        versions_inserted: 100,
        results_inserted: 3_000,
        ..MergeApplied::default()
    };
    assert_eq!(applied, expected);
    assert_eq!(
        db.get_result(results[2_999].id).await.unwrap(),
        Some(results[2_999].clone())
    );
    assert_eq!(
        db.get_template(templates[1_499].template.id).await.unwrap(),
        Some(as_template(&templates[1_499]))
    );

    let template_ids = [0, 1_423, 1_424, 1_499].map(|i| templates[i].template.id);
    let version_ids = [0, 1, 50, 99].map(|i| versions[i].id);
    let result_ids = [0, 1_000, 2_000, 2_999].map(|i| results[i].id);
    for (table, mut existing) in [
        (IdTable::Templates, template_ids),
        (IdTable::Versions, version_ids),
        (IdTable::Results, result_ids),
    ] {
        let mut ids: Vec<Uuid> = (0..1_200).map(|_| Uuid::now_v7()).collect();
        for (n, id) in existing.iter().enumerate() {
            ids[n * 397] = *id;
        }
        ids.push(existing[0]);
        let mut found = db.existing_ids(table, &ids).await.unwrap();
        found.sort();
        existing.sort();
        assert_eq!(found, existing, "{table:?}");
    }
    let none: [Uuid; 0] = [];
    let other_table = db.existing_ids(IdTable::Results, &template_ids);
    assert_eq!(
        other_table.await.unwrap(),
        none,
        "template ids are no result ids"
    );
    assert_eq!(
        db.existing_ids(IdTable::Templates, &[]).await.unwrap(),
        none
    );
}
