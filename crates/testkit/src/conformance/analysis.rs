//! Conformance cases of brand visibility: alias snapshots, analyses with their daily roll-up,
//! visibility counts (roll-up and raw agree, and match a hand count), answer scans, drift events
//! and re-analysis jobs.

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use prompter_storage::{
    timestamp, AliasSnapshot, AnalysisRow, AnswerScan, CountColumn, CountQuery, CountRow,
    CountSpan, Database, JobProgress, JobStatus, MentionRow, PutSnapshot, ReanalysisJob,
    RecordedRun, RunRecord, RunResult, Template,
};
use serde_json::json;
use uuid::Uuid;

use super::{body, created, observation, run_result};

fn snapshot(org: &str, ws: &str, hash: &str, at: DateTime<Utc>) -> AliasSnapshot {
    AliasSnapshot {
        id: Uuid::now_v7(),
        org_id: org.into(),
        workspace_id: ws.into(),
        content_hash: hash.into(),
        entities: json!({"brand": {"name": "AVEA", "aliases": [{"text": "AVEA", "case_sensitive": false}], "domains": ["avea.ch"]},
                         "competitors": [{"name": "Nestlé", "aliases": [], "domains": []}]}),
        created_at: at,
        current_since: at,
    }
}

pub async fn alias_snapshots_are_unique_by_content_and_the_last_put_is_current(
    db: Arc<dyn Database>,
) {
    let t0 = timestamp::now();
    let first = db
        .put_alias_snapshot(&snapshot("o1", "ws", "h1", t0))
        .await
        .unwrap();
    let PutSnapshot::Created(first) = first else {
        panic!("expected a new snapshot")
    };
    assert_eq!(
        db.get_alias_snapshot(first.id).await.unwrap(),
        Some(first.clone())
    );
    let second = db
        .put_alias_snapshot(&snapshot("o1", "ws", "h2", t0 + Duration::seconds(1)))
        .await
        .unwrap();
    assert!(matches!(second, PutSnapshot::Created(_)));
    assert_eq!(
        db.current_alias_snapshot("o1", "ws")
            .await
            .unwrap()
            .unwrap()
            .id,
        second.snapshot().id
    );
    // The first content again: the first snapshot, current again.
    let again = db
        .put_alias_snapshot(&snapshot("o1", "ws", "h1", t0 + Duration::seconds(2)))
        .await
        .unwrap();
    let PutSnapshot::Existing(again) = again else {
        panic!("expected the existing snapshot")
    };
    assert_eq!(again.id, first.id);
    assert_eq!(again.created_at, first.created_at);
    assert_eq!(again.current_since, t0 + Duration::seconds(2));
    assert_eq!(
        db.current_alias_snapshot("o1", "ws")
            .await
            .unwrap()
            .unwrap()
            .id,
        first.id
    );
    let history = db.list_alias_snapshots("o1", "ws").await.unwrap();
    assert_eq!(
        history.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![second.snapshot().id, first.id]
    );
    // Scoped by org and workspace.
    assert!(db
        .current_alias_snapshot("o2", "ws")
        .await
        .unwrap()
        .is_none());
    assert!(db
        .list_alias_snapshots("o1", "other")
        .await
        .unwrap()
        .is_empty());
    let other_org = db
        .put_alias_snapshot(&snapshot("o2", "ws", "h1", t0))
        .await
        .unwrap();
    assert!(matches!(other_org, PutSnapshot::Created(_)));
}

/// A succeeded result of `t` created at `at`.
async fn answer_at(
    db: &dyn Database,
    t: &Template,
    at: DateTime<Utc>,
    model: &str,
    country: &str,
) -> RunResult {
    let mut r = run_result(t, None);
    r.created_at = at;
    r.model_id = model.into();
    r.run_country = Some(country.into());
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

fn mention(entity: &str, rank: Option<i32>, cited: bool) -> MentionRow {
    MentionRow {
        entity: entity.into(),
        mentioned: rank.is_some(),
        rank,
        cited,
    }
}

fn analysis_of(r: &RunResult, snapshot: Uuid, mentions: Vec<MentionRow>) -> AnalysisRow {
    AnalysisRow {
        result_id: r.id,
        alias_snapshot_id: snapshot,
        extractor_version: "mentions-1".into(),
        org_id: r.org_id.clone(),
        workspace_id: r.workspace_id.clone(),
        template_id: r.template_id,
        model_id: r.model_id.clone(),
        provider: r.provider.clone(),
        country: r.run_country.clone(),
        provider_version_key: Some("fp_1".into()),
        is_fake: r.is_fake,
        result_created_at: r.created_at,
        analysis: json!({"entities": mentions.iter().map(|m| &m.entity).collect::<Vec<_>>()}),
        cited_domains: mentions
            .iter()
            .filter(|m| m.cited)
            .map(|_| "avea.ch".to_owned())
            .take(1)
            .collect(),
        mentions,
        analysed_at: timestamp::now(),
    }
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn counts_query(
    t: &Template,
    snapshot: Uuid,
    group_by: Vec<CountColumn>,
    span: CountSpan,
) -> CountQuery {
    CountQuery {
        org_id: t.org_id.clone(),
        workspace_id: t.workspace_id.clone(),
        alias_snapshot_id: snapshot,
        extractor_version: "mentions-1".into(),
        include_fake: true,
        group_by,
        span,
    }
}

fn sorted(mut rows: Vec<CountRow>) -> Vec<CountRow> {
    rows.sort_by(|a, b| (&a.keys, &a.kind, &a.entity).cmp(&(&b.keys, &b.kind, &b.entity)));
    rows
}

fn row(keys: &[&str], entity: &str, c: [i64; 5]) -> CountRow {
    let (kind, entity) = match entity.strip_prefix("domain:") {
        Some(d) => ("domain", d),
        None => ("entity", entity),
    };
    CountRow {
        keys: keys.iter().map(|k| k.to_string()).collect(),
        kind: kind.into(),
        entity: entity.into(),
        n_answers: c[0],
        n_mentioned: c[1],
        rank_sum: c[2],
        n_ranked: c[3],
        n_cited: c[4],
    }
}

pub async fn analyses_are_written_once_and_counted_by_day_and_by_time(db: Arc<dyn Database>) {
    let t = created(&*db, &body("ws-vis", "Visibility")).await;
    let snap = db
        .put_alias_snapshot(&snapshot(
            &t.org_id,
            &t.workspace_id,
            "hv",
            timestamp::now(),
        ))
        .await
        .unwrap()
        .snapshot()
        .id;
    // Four answers on two days: two models, two countries.
    let a1 = answer_at(&*db, &t, at("2026-11-02T08:00:00Z"), "gpt-4o", "CH").await;
    let a2 = answer_at(&*db, &t, at("2026-11-02T20:00:00Z"), "gpt-4o", "DE").await;
    let a3 = answer_at(&*db, &t, at("2026-11-03T09:30:00Z"), "claude", "CH").await;
    let a4 = answer_at(&*db, &t, at("2026-11-03T23:59:59Z"), "gpt-4o", "CH").await;
    let rows = vec![
        analysis_of(
            &a1,
            snap,
            vec![
                mention("AVEA", Some(1), true),
                mention("Nestlé", Some(2), false),
            ],
        ),
        analysis_of(&a2, snap, vec![mention("Nestlé", Some(1), false)]),
        analysis_of(
            &a3,
            snap,
            vec![
                mention("AVEA", Some(2), false),
                mention("Nestlé", Some(1), false),
            ],
        ),
        analysis_of(&a4, snap, vec![mention("AVEA", None, true)]),
    ];
    assert_eq!(db.store_analyses(&rows, None).await.unwrap(), Some(4));
    // Written once: the same analyses again change nothing (counts included).
    assert_eq!(db.store_analyses(&rows, None).await.unwrap(), Some(0));

    // By hand: 4 answers; AVEA mentioned in a1, a3 (ranks 1, 2), cited in a1, a4;
    // Nestlé mentioned in a1, a2, a3 (ranks 2, 1, 1), never cited; avea.ch cited by a1, a4.
    let total = vec![
        row(&[], "", [4, 0, 0, 0, 0]),
        row(&[], "AVEA", [0, 2, 3, 2, 2]),
        row(&[], "Nestlé", [0, 3, 4, 3, 0]),
        row(&[], "domain:avea.ch", [0, 0, 0, 0, 2]),
    ];
    let total = sorted(total);
    let all_days = CountSpan::Days {
        from: None,
        to: None,
    };
    let by_days = db
        .visibility_counts(&counts_query(&t, snap, vec![], all_days))
        .await
        .unwrap();
    assert_eq!(sorted(by_days), total);
    let by_time = db
        .visibility_counts(&counts_query(
            &t,
            snap,
            vec![],
            CountSpan::Times {
                from: at("2026-11-01T00:00:00Z"),
                to: at("2026-11-04T00:00:00Z"),
            },
        ))
        .await
        .unwrap();
    assert_eq!(sorted(by_time), total);

    // Grouped by model and day, from the roll-up and from the analyses alike.
    let grouped = vec![
        row(&["claude", "2026-11-03"], "", [1, 0, 0, 0, 0]),
        row(&["claude", "2026-11-03"], "AVEA", [0, 1, 2, 1, 0]),
        row(&["claude", "2026-11-03"], "Nestlé", [0, 1, 1, 1, 0]),
        row(&["gpt-4o", "2026-11-02"], "", [2, 0, 0, 0, 0]),
        row(&["gpt-4o", "2026-11-02"], "AVEA", [0, 1, 1, 1, 1]),
        row(&["gpt-4o", "2026-11-02"], "Nestlé", [0, 2, 3, 2, 0]),
        row(&["gpt-4o", "2026-11-03"], "", [1, 0, 0, 0, 0]),
        row(&["gpt-4o", "2026-11-03"], "AVEA", [0, 0, 0, 0, 1]),
        row(&["gpt-4o", "2026-11-02"], "domain:avea.ch", [0, 0, 0, 0, 1]),
        row(&["gpt-4o", "2026-11-03"], "domain:avea.ch", [0, 0, 0, 0, 1]),
    ];
    let grouped = sorted(grouped);
    let cols = vec![CountColumn::Model, CountColumn::Day];
    let rolled = db
        .visibility_counts(&counts_query(
            &t,
            snap,
            cols.clone(),
            CountSpan::Days {
                from: Some(day("2026-11-02")),
                to: Some(day("2026-11-04")),
            },
        ))
        .await
        .unwrap();
    assert_eq!(sorted(rolled), grouped);
    let raw = db
        .visibility_counts(&counts_query(
            &t,
            snap,
            cols,
            CountSpan::Times {
                from: at("2026-11-02T00:00:00Z"),
                to: at("2026-11-04T00:00:00Z"),
            },
        ))
        .await
        .unwrap();
    assert_eq!(sorted(raw), grouped);

    // Bounds: one day of the roll-up; a partial day of the analyses (end exclusive).
    let one_day = db
        .visibility_counts(&counts_query(
            &t,
            snap,
            vec![CountColumn::Country],
            CountSpan::Days {
                from: Some(day("2026-11-03")),
                to: Some(day("2026-11-04")),
            },
        ))
        .await
        .unwrap();
    assert_eq!(
        sorted(one_day),
        sorted(vec![
            row(&["CH"], "", [2, 0, 0, 0, 0]),
            row(&["CH"], "AVEA", [0, 1, 2, 1, 1]),
            row(&["CH"], "Nestlé", [0, 1, 1, 1, 0]),
            row(&["CH"], "domain:avea.ch", [0, 0, 0, 0, 1]),
        ])
    );
    let morning = db
        .visibility_counts(&counts_query(
            &t,
            snap,
            vec![],
            CountSpan::Times {
                from: at("2026-11-02T00:00:00Z"),
                to: at("2026-11-02T20:00:00Z"),
            },
        ))
        .await
        .unwrap();
    assert_eq!(
        sorted(morning),
        sorted(vec![
            row(&[], "", [1, 0, 0, 0, 0]),
            row(&[], "AVEA", [0, 1, 1, 1, 1]),
            row(&[], "Nestlé", [0, 1, 2, 1, 0]),
            row(&[], "domain:avea.ch", [0, 0, 0, 0, 1]),
        ])
    );

    // Fake answers are left out unless asked for (every answer here is fake).
    let mut real_only = counts_query(
        &t,
        snap,
        vec![],
        CountSpan::Days {
            from: None,
            to: None,
        },
    );
    real_only.include_fake = false;
    assert!(db.visibility_counts(&real_only).await.unwrap().is_empty());
    // Another snapshot has no analyses.
    let other = counts_query(
        &t,
        Uuid::now_v7(),
        vec![],
        CountSpan::Days {
            from: None,
            to: None,
        },
    );
    assert!(db.visibility_counts(&other).await.unwrap().is_empty());

    // The analyses read back per result, newest first.
    let stored = db.analyses_of(&[a1.id, a2.id]).await.unwrap();
    assert_eq!(stored.len(), 2);
    assert!(stored.iter().all(|a| a.alias_snapshot_id == snap));
    assert_eq!(
        stored
            .iter()
            .find(|a| a.result_id == a1.id)
            .unwrap()
            .analysis,
        json!({"entities": ["AVEA", "Nestlé"]})
    );
    assert!(db.analyses_of(&[]).await.unwrap().is_empty());
}

pub async fn a_run_outcome_writes_its_analysis_with_the_version_key(db: Arc<dyn Database>) {
    let t = created(&*db, &body("ws-vis-run", "Visibility run")).await;
    let snap = db
        .put_alias_snapshot(&snapshot(
            &t.org_id,
            &t.workspace_id,
            "hr",
            timestamp::now(),
        ))
        .await
        .unwrap()
        .snapshot()
        .id;
    let mut running = run_result(&t, None);
    running.status = prompter_storage::RunStatus::Running;
    running.answer = None;
    let RecordedRun::Recorded { result: row, .. } = db
        .record_run(RunRecord {
            analysis: None,
            observation: None,
            result: running,
            task: None,
        })
        .await
        .unwrap()
    else {
        panic!("expected Recorded")
    };
    let mut done = row.clone();
    done.status = prompter_storage::RunStatus::Succeeded;
    done.answer = Some("AVEA first".into());
    let mut analysis = analysis_of(&done, snap, vec![mention("AVEA", Some(1), false)]);
    analysis.provider_version_key = None;
    let record = RunRecord {
        analysis: Some(analysis),
        observation: Some(observation(&t, "fp_analysed")),
        result: done,
        task: None,
    };
    db.finish_run(&record).await.unwrap();
    let stored = db.analyses_of(&[row.id]).await.unwrap();
    assert_eq!(stored.len(), 1);
    // Counted under the version key the outcome upserted.
    let counts = db
        .visibility_counts(&counts_query(
            &t,
            snap,
            vec![CountColumn::ProviderVersionKey],
            CountSpan::Days {
                from: None,
                to: None,
            },
        ))
        .await
        .unwrap();
    assert_eq!(
        sorted(counts),
        vec![
            row_keys("fp_analysed", "", [1, 0, 0, 0, 0]),
            row_keys("fp_analysed", "AVEA", [0, 1, 1, 1, 0]),
        ]
    );
    // A repeated outcome write (already succeeded) writes no second analysis.
    db.finish_run(&record).await.unwrap();
    assert_eq!(db.analyses_of(&[row.id]).await.unwrap().len(), 1);
}

fn row_keys(key: &str, entity: &str, c: [i64; 5]) -> CountRow {
    row(&[key], entity, c)
}

pub async fn answers_are_scanned_in_pages_and_drift_is_listed(db: Arc<dyn Database>) {
    let t = created(&*db, &body("ws-scan", "Scan")).await;
    let base = at("2026-10-01T10:00:00Z");
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            answer_at(&*db, &t, base + Duration::minutes(i), "gpt-4o", "CH")
                .await
                .id,
        );
    }
    // A failed attempt is not an answer.
    let mut failed = run_result(&t, None);
    failed.status = prompter_storage::RunStatus::Failed;
    failed.answer = None;
    failed.created_at = base;
    db.record_run(RunRecord {
        analysis: None,
        observation: None,
        result: failed,
        task: None,
    })
    .await
    .unwrap();
    let mut scan = AnswerScan {
        org_id: t.org_id.clone(),
        workspace_id: t.workspace_id.clone(),
        from: None,
        to: None,
        after: None,
        limit: 2,
    };
    assert_eq!(db.count_answers(&scan).await.unwrap(), 5);
    let mut seen = Vec::new();
    loop {
        let page = db.scan_answers(&scan).await.unwrap();
        seen.extend(page.iter().map(|a| a.result_id));
        match page.last() {
            Some(last) if page.len() == 2 => scan.after = Some((last.created_at, last.result_id)),
            _ => break,
        }
    }
    assert_eq!(seen, ids);
    let first = &db
        .scan_answers(&AnswerScan {
            after: None,
            ..scan.clone()
        })
        .await
        .unwrap()[0];
    assert_eq!(first.answer, "AVEA is…");
    assert_eq!(first.country.as_deref(), Some("CH"));
    assert!(first.citations.is_some());
    let ranged = AnswerScan {
        from: Some(base + Duration::minutes(1)),
        to: Some(base + Duration::minutes(3)),
        after: None,
        limit: 100,
        ..scan.clone()
    };
    assert_eq!(db.count_answers(&ranged).await.unwrap(), 2);
    assert_eq!(
        db.scan_answers(&ranged)
            .await
            .unwrap()
            .iter()
            .map(|a| a.result_id)
            .collect::<Vec<_>>(),
        ids[1..3].to_vec()
    );

    // Drift: version keys first seen in the range.
    let v1 = db.upsert_version(&observation(&t, "fp_old")).await.unwrap();
    let v2 = db.upsert_version(&observation(&t, "fp_new")).await.unwrap();
    let events = db
        .drift_events(&t.org_id, &t.workspace_id, None, None)
        .await
        .unwrap();
    assert_eq!(
        events
            .iter()
            .map(|e| e.provider_version_key.as_str())
            .collect::<Vec<_>>(),
        vec!["fp_old", "fp_new"]
    );
    assert_eq!(events[0].template_id, t.id);
    let later = db
        .drift_events(
            &t.org_id,
            &t.workspace_id,
            Some(v2.version.first_seen_at),
            None,
        )
        .await
        .unwrap();
    assert!(later
        .iter()
        .all(|e| e.first_seen_at >= v2.version.first_seen_at));
    assert!(later.iter().any(|e| e.provider_version_key == "fp_new"));
    let before = db
        .drift_events(
            &t.org_id,
            &t.workspace_id,
            None,
            Some(v1.version.first_seen_at),
        )
        .await
        .unwrap();
    assert!(before.is_empty());
}

fn job(org: &str, ws: &str, snapshot: Uuid, created: DateTime<Utc>) -> ReanalysisJob {
    ReanalysisJob {
        id: Uuid::now_v7(),
        org_id: org.into(),
        workspace_id: ws.into(),
        alias_snapshot_id: snapshot,
        extractor_version: "mentions-1".into(),
        from: None,
        to: Some(at("2027-01-01T00:00:00Z")),
        status: JobStatus::Queued,
        total: 3,
        processed: 0,
        analysed: 0,
        cursor: None,
        error: None,
        created_at: created,
        started_at: None,
        finished_at: None,
    }
}

pub async fn reanalysis_jobs_are_leased_resumed_and_fenced(db: Arc<dyn Database>) {
    let t = created(&*db, &body("ws-job", "Jobs")).await;
    let snap = db
        .put_alias_snapshot(&snapshot(
            &t.org_id,
            &t.workspace_id,
            "hj",
            timestamp::now(),
        ))
        .await
        .unwrap()
        .snapshot()
        .id;
    let a = answer_at(&*db, &t, at("2026-11-05T10:00:00Z"), "gpt-4o", "CH").await;
    let b = answer_at(&*db, &t, at("2026-11-05T11:00:00Z"), "gpt-4o", "CH").await;
    let now = timestamp::now();
    let j = job(&t.org_id, &t.workspace_id, snap, now);
    db.create_reanalysis(&j).await.unwrap();
    assert_eq!(db.get_reanalysis(j.id).await.unwrap().unwrap(), j);

    let (r1, r2) = (Uuid::now_v7(), Uuid::now_v7());
    let claimed = db
        .claim_reanalysis(r1, now, now + Duration::seconds(30))
        .await
        .unwrap()
        .expect("the queued job");
    assert_eq!(claimed.id, j.id);
    assert_eq!(claimed.status, JobStatus::Running);
    // Leased: nobody else gets it.
    assert!(db
        .claim_reanalysis(r2, now, now + Duration::seconds(30))
        .await
        .unwrap()
        .is_none());
    // A page with its progress.
    let progress = |runner: Uuid, cursor: &RunResult, processed: i64, done: bool| JobProgress {
        job_id: j.id,
        runner,
        cursor: Some((cursor.created_at, cursor.id)),
        processed,
        done,
        at: now,
        lease_until: now + Duration::seconds(30),
    };
    let page = [analysis_of(&a, snap, vec![mention("AVEA", Some(1), false)])];
    assert_eq!(
        db.store_analyses(&page, Some(&progress(r1, &a, 1, false)))
            .await
            .unwrap(),
        Some(1)
    );
    let mid = db.get_reanalysis(j.id).await.unwrap().unwrap();
    assert_eq!((mid.processed, mid.analysed), (1, 1));
    assert_eq!(mid.cursor, Some((a.created_at, a.id)));
    // Another runner's page is refused, and writes nothing.
    let other = [analysis_of(&b, snap, vec![])];
    assert_eq!(
        db.store_analyses(&other, Some(&progress(r2, &b, 1, true)))
            .await
            .unwrap(),
        None
    );
    assert!(db.analyses_of(&[b.id]).await.unwrap().is_empty());
    // The lease expires (the process died): another runner resumes at the cursor.
    let later = now + Duration::seconds(31);
    let resumed = db
        .claim_reanalysis(r2, later, later + Duration::seconds(30))
        .await
        .unwrap()
        .expect("the expired job");
    assert_eq!(resumed.cursor, Some((a.created_at, a.id)));
    assert_eq!(resumed.started_at, mid.started_at);
    // The first runner has lost it.
    assert_eq!(
        db.store_analyses(&other, Some(&progress(r1, &b, 1, true)))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        db.store_analyses(&other, Some(&progress(r2, &b, 1, true)))
            .await
            .unwrap(),
        Some(1)
    );
    let finished = db.get_reanalysis(j.id).await.unwrap().unwrap();
    assert_eq!(finished.status, JobStatus::Succeeded);
    assert_eq!((finished.processed, finished.analysed), (2, 2));
    assert!(finished.finished_at.is_some());
    assert!(db
        .claim_reanalysis(r1, later, later + Duration::seconds(30))
        .await
        .unwrap()
        .is_none());

    // A failed job keeps its error; only its runner can fail it.
    let k = job(&t.org_id, &t.workspace_id, snap, later);
    db.create_reanalysis(&k).await.unwrap();
    db.claim_reanalysis(r1, later, later + Duration::seconds(30))
        .await
        .unwrap()
        .expect("the second job");
    assert!(!db.fail_reanalysis(k.id, r2, "no", later).await.unwrap());
    assert!(db
        .fail_reanalysis(k.id, r1, "broken snapshot", later)
        .await
        .unwrap());
    let failed = db.get_reanalysis(k.id).await.unwrap().unwrap();
    assert_eq!(failed.status, JobStatus::Failed);
    assert_eq!(failed.error.as_deref(), Some("broken snapshot"));
    assert!(db.get_reanalysis(Uuid::now_v7()).await.unwrap().is_none());
}
