//! Conformance cases of batches and the task queue.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::Duration;
use prompter_storage::{
    timestamp, BatchChange, BatchQuery, BatchStatus, ClaimRequest, ClaimedTask, CreateBatch,
    Database, NewBatch, NewTask, RecordedRun, RunRecord, RunResult, RunStatus, TaskNext, TaskQuery,
    TaskStatus, TaskUpdate, Template,
};
use serde_json::json;
use uuid::Uuid;

use super::{body, created, run_result};

fn new_batch(t: &Template, countries: &[Option<&str>], samples: i32) -> NewBatch {
    let mut tasks = Vec::new();
    for c in countries {
        for s in 0..samples {
            tasks.push(NewTask {
                id: Uuid::now_v7(),
                template_id: t.id,
                country: c.map(str::to_owned),
                sample_index: s,
            });
        }
    }
    NewBatch {
        id: Uuid::now_v7(),
        org_id: t.org_id.clone(),
        workspace_id: t.workspace_id.clone(),
        schedule_id: None,
        idempotency_key: None,
        request_hash: "ab".repeat(32),
        params: json!({"brand_name": "AVEA", "runtime_vars": {}, "use_grounding": false}),
        skipped: json!([{"template_id": Uuid::nil(), "reason": "no_country_in_common"}]),
        max_concurrency: 100,
        token_budget: None,
        created_by: Some("tester".into()),
        created_at: timestamp::now(),
        tasks,
    }
}

async fn create_batch(db: &dyn Database, new: NewBatch) -> prompter_storage::Batch {
    match db.create_batch(new).await.unwrap() {
        CreateBatch::Created(b) => b,
        other => panic!("expected Created, got {other:?}"),
    }
}

fn claim_request(worker: Uuid, limit: u32) -> ClaimRequest {
    let now = timestamp::now();
    ClaimRequest {
        worker,
        limit,
        now,
        lease_until: now + Duration::seconds(60),
    }
}

/// Records a claimed task's attempt as running, then its outcome (with the task update).
async fn attempt(
    db: &dyn Database,
    t: &Template,
    claimed: &ClaimedTask,
    status: RunStatus,
    next: TaskNext,
    tokens: (i64, i64),
) -> RunResult {
    let mut row = run_result(t, None);
    row.status = RunStatus::Running;
    row.runner_id = Some(Uuid::now_v7());
    row.batch_id = Some(claimed.task.batch_id);
    row.task_id = Some(claimed.task.id);
    row.sample_index = Some(claimed.task.sample_index);
    row.run_country = claimed.task.country.clone();
    let row = match db
        .record_run(RunRecord {
            analysis: None,
            observation: None,
            result: row,
            task: None,
        })
        .await
        .unwrap()
    {
        RecordedRun::Recorded { result, .. } => result,
        other => panic!("expected Recorded, got {other:?}"),
    };
    let mut done = row.clone();
    done.status = status;
    if status == RunStatus::Failed {
        done.answer = None;
        done.error = Some(json!({"code": "PROVIDER_ERROR", "provider_status": 503}));
    }
    let record = RunRecord {
        analysis: None,
        observation: None,
        result: done,
        task: Some(TaskUpdate {
            task_id: claimed.task.id,
            batch_id: claimed.task.batch_id,
            attempt: claimed.task.attempts,
            next,
            prompt_tokens: tokens.0,
            completion_tokens: tokens.1,
            at: timestamp::now(),
        }),
    };
    let finished = db.finish_run(&record).await.unwrap();
    finished.into_result(record)
}

fn error() -> serde_json::Value {
    json!({"code": "PROVIDER_ERROR", "provider_status": 503})
}

pub async fn batch_is_created_with_its_tasks_and_read_back(db: Arc<dyn Database>) {
    let t = created(&*db, &body("ws-batch", "Batch create")).await;
    let mut new = new_batch(&t, &[Some("CH"), Some("US"), None], 2);
    new.idempotency_key = Some("nightly-1".into());
    new.token_budget = Some(5000);
    let batch = create_batch(&*db, new.clone()).await;
    assert_eq!(batch.id, new.id);
    assert_eq!(batch.status, BatchStatus::Queued);
    assert_eq!(batch.total_tasks, 6);
    assert_eq!(batch.counts.pending, 6);
    assert_eq!(batch.token_budget, Some(5000));
    assert_eq!(batch.params, new.params);
    assert_eq!(batch.skipped, new.skipped);
    assert_eq!(batch.created_at, new.created_at);
    assert!(batch.started_at.is_none() && batch.finished_at.is_none());
    assert_eq!(db.get_batch(batch.id).await.unwrap(), Some(batch.clone()));

    // The same key in the same org: the first batch, nothing written.
    let mut again = new_batch(&t, &[Some("CH")], 1);
    again.idempotency_key = Some("nightly-1".into());
    match db.create_batch(again).await.unwrap() {
        CreateBatch::Existing(b) => assert_eq!(b.id, batch.id),
        other => panic!("expected Existing, got {other:?}"),
    }
    // Tasks in creation order, paged.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = db
            .list_tasks(&TaskQuery {
                batch_id: batch.id,
                status: None,
                limit: 4,
                after,
            })
            .await
            .unwrap();
        seen.extend(page.items);
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    let expected: Vec<Uuid> = new.tasks.iter().map(|t| t.id).collect();
    assert_eq!(seen.iter().map(|t| t.id).collect::<Vec<_>>(), expected);
    assert!(seen
        .iter()
        .all(|t| t.status == TaskStatus::Pending && t.attempts == 0));
    assert_eq!(seen[4].country, None);
    assert_eq!(seen[1].sample_index, 1);

    // Listing: newest first, by workspace and status, org-scoped.
    let second = create_batch(&*db, new_batch(&t, &[Some("CH")], 1)).await;
    let q = |status| BatchQuery {
        org_id: t.org_id.clone(),
        workspace_id: Some("ws-batch".into()),
        allowed_workspaces: None,
        status,
        limit: 1,
        after: None,
    };
    let page = db.list_batches(&q(None)).await.unwrap();
    assert_eq!(page.items[0].id, second.id);
    let mut rest = q(None);
    rest.after = page.next;
    assert_eq!(db.list_batches(&rest).await.unwrap().items[0].id, batch.id);
    assert_eq!(
        db.list_batches(&q(Some(BatchStatus::Running)))
            .await
            .unwrap()
            .items
            .len(),
        0
    );
    let mut other_org = q(None);
    other_org.org_id = "another-org".into();
    assert!(db.list_batches(&other_org).await.unwrap().items.is_empty());
    let mut not_allowed = q(None);
    not_allowed.workspace_id = None;
    not_allowed.allowed_workspaces = Some(vec!["elsewhere".into()]);
    assert!(db
        .list_batches(&not_allowed)
        .await
        .unwrap()
        .items
        .is_empty());
}

pub async fn claims_respect_concurrency_and_leases(db: Arc<dyn Database>) {
    let t = created(&*db, &body("ws-claim", "Batch claim")).await;
    let mut new = new_batch(&t, &[Some("CH")], 5);
    new.max_concurrency = 2;
    let batch = create_batch(&*db, new).await;
    let worker = Uuid::now_v7();
    let first = db.claim_tasks(&claim_request(worker, 10)).await.unwrap();
    assert_eq!(first.len(), 2, "max_concurrency holds");
    assert!(first.iter().all(|c| c.task.attempts == 1
        && c.task.status == TaskStatus::Running
        && c.org_id == t.org_id
        && c.params["brand_name"] == "AVEA"));
    assert!(db
        .claim_tasks(&claim_request(worker, 10))
        .await
        .unwrap()
        .is_empty());
    let b = db.get_batch(batch.id).await.unwrap().unwrap();
    assert_eq!(b.status, BatchStatus::Running);
    assert_eq!((b.counts.pending, b.counts.running), (3, 2));
    assert!(b.started_at.is_some());
    let depth = db.open_task_counts().await.unwrap();
    assert_eq!((depth.pending, depth.running), (3, 2));

    // One finishes: room for one more.
    attempt(
        &*db,
        &t,
        &first[0],
        RunStatus::Succeeded,
        TaskNext::Succeeded,
        (1, 2),
    )
    .await;
    let next = db.claim_tasks(&claim_request(worker, 10)).await.unwrap();
    assert_eq!(next.len(), 1);

    // Leases: renewed ones stay, expired ones go back to the queue (attempts kept).
    let later = timestamp::now() + Duration::seconds(120);
    let held = [first[1].task.id, next[0].task.id];
    assert_eq!(db.renew_leases(worker, &held, later).await.unwrap(), 2);
    // A task the worker no longer names (it lost track of its claim) is not renewed.
    assert_eq!(
        db.renew_leases(worker, &[first[0].task.id], later)
            .await
            .unwrap(),
        0,
        "a finished task has no lease"
    );
    assert_eq!(db.requeue_expired_tasks(timestamp::now()).await.unwrap(), 0);
    assert_eq!(
        db.requeue_expired_tasks(later + Duration::seconds(1))
            .await
            .unwrap(),
        2
    );
    let b = db.get_batch(batch.id).await.unwrap().unwrap();
    assert_eq!((b.counts.pending, b.counts.running), (4, 0));
    let mut again = claim_request(Uuid::now_v7(), 10);
    again.now = later + Duration::seconds(2);
    again.lease_until = again.now + Duration::seconds(60);
    let reclaimed = db.claim_tasks(&again).await.unwrap();
    assert_eq!(reclaimed.len(), 2);
    let retried: HashSet<Uuid> = [first[1].task.id, next[0].task.id].into();
    assert!(reclaimed
        .iter()
        .all(|c| c.task.attempts == 2 && retried.contains(&c.task.id)));

    // A stopping worker gives its tasks back at once.
    assert_eq!(
        db.release_tasks(again.worker, timestamp::now())
            .await
            .unwrap(),
        2
    );
    let b = db.get_batch(batch.id).await.unwrap().unwrap();
    assert_eq!((b.counts.pending, b.counts.running), (4, 0));
}

pub async fn outcomes_move_tasks_and_finish_the_batch(db: Arc<dyn Database>) {
    let t = created(&*db, &body("ws-outcome", "Batch outcomes")).await;
    let batch = create_batch(&*db, new_batch(&t, &[Some("CH"), Some("US")], 2)).await;
    let worker = Uuid::now_v7();
    let claimed = db.claim_tasks(&claim_request(worker, 10)).await.unwrap();
    assert_eq!(claimed.len(), 4);
    let ok = attempt(
        &*db,
        &t,
        &claimed[0],
        RunStatus::Succeeded,
        TaskNext::Succeeded,
        (10, 20),
    )
    .await;
    assert_eq!(ok.status, RunStatus::Succeeded);
    assert_eq!(ok.batch_id, Some(batch.id));
    assert_eq!(ok.task_id, Some(claimed[0].task.id));
    attempt(
        &*db,
        &t,
        &claimed[1],
        RunStatus::Succeeded,
        TaskNext::Succeeded,
        (10, 20),
    )
    .await;
    attempt(
        &*db,
        &t,
        &claimed[2],
        RunStatus::Failed,
        TaskNext::Failed(error()),
        (0, 0),
    )
    .await;
    // A retry waits for its time.
    let retry_at = timestamp::now() + Duration::seconds(30);
    let failed_once = attempt(
        &*db,
        &t,
        &claimed[3],
        RunStatus::Failed,
        TaskNext::RetryAt(retry_at, error()),
        (5, 0),
    )
    .await;
    assert!(db
        .claim_tasks(&claim_request(worker, 10))
        .await
        .unwrap()
        .is_empty());
    let b = db.get_batch(batch.id).await.unwrap().unwrap();
    assert_eq!(
        (b.counts.succeeded, b.counts.failed, b.counts.pending),
        (2, 1, 1)
    );
    assert_eq!((b.prompt_tokens, b.completion_tokens), (25, 40));
    assert_eq!(b.status, BatchStatus::Running);
    let tasks = db
        .list_tasks(&TaskQuery {
            batch_id: batch.id,
            status: Some(TaskStatus::Pending),
            limit: 10,
            after: None,
        })
        .await
        .unwrap()
        .items;
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].result_id, Some(failed_once.id));
    assert_eq!(tasks[0].available_at, retry_at);
    assert_eq!(tasks[0].last_error, Some(error()));

    let mut when = claim_request(worker, 10);
    when.now = retry_at;
    when.lease_until = retry_at + Duration::seconds(60);
    let second = db.claim_tasks(&when).await.unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].task.attempts, 2);
    let last = attempt(
        &*db,
        &t,
        &second[0],
        RunStatus::Succeeded,
        TaskNext::Succeeded,
        (1, 1),
    )
    .await;
    let b = db.get_batch(batch.id).await.unwrap().unwrap();
    assert_eq!(b.status, BatchStatus::PartiallyFailed);
    assert_eq!((b.counts.succeeded, b.counts.failed), (3, 1));
    assert!(b.finished_at.is_some());
    let task = db
        .list_tasks(&TaskQuery {
            batch_id: batch.id,
            status: Some(TaskStatus::Succeeded),
            limit: 10,
            after: None,
        })
        .await
        .unwrap()
        .items;
    assert!(task
        .iter()
        .any(|x| x.result_id == Some(last.id) && x.last_error.is_none()));

    // The template's results filter by batch: every attempt, the failed one too.
    let of_batch = db
        .list_results(t.id, Some(batch.id), 50, None)
        .await
        .unwrap()
        .items;
    assert_eq!(of_batch.len(), 5);
    assert!(db
        .list_results(t.id, Some(Uuid::now_v7()), 50, None)
        .await
        .unwrap()
        .items
        .is_empty());

    // All succeeded / all failed.
    let all_ok = create_batch(&*db, new_batch(&t, &[Some("CH")], 1)).await;
    let c = db.claim_tasks(&claim_request(worker, 10)).await.unwrap();
    attempt(
        &*db,
        &t,
        &c[0],
        RunStatus::Succeeded,
        TaskNext::Succeeded,
        (0, 0),
    )
    .await;
    assert_eq!(
        db.get_batch(all_ok.id).await.unwrap().unwrap().status,
        BatchStatus::Succeeded
    );
    let all_bad = create_batch(&*db, new_batch(&t, &[Some("CH")], 1)).await;
    let c = db.claim_tasks(&claim_request(worker, 10)).await.unwrap();
    attempt(
        &*db,
        &t,
        &c[0],
        RunStatus::Failed,
        TaskNext::Failed(error()),
        (0, 0),
    )
    .await;
    assert_eq!(
        db.get_batch(all_bad.id).await.unwrap().unwrap().status,
        BatchStatus::Failed
    );
}

pub async fn a_task_records_one_success_however_often_it_ran(db: Arc<dyn Database>) {
    let t = created(&*db, &body("ws-once", "Batch once")).await;
    let batch = create_batch(&*db, new_batch(&t, &[Some("CH")], 1)).await;
    let first = db
        .claim_tasks(&claim_request(Uuid::now_v7(), 1))
        .await
        .unwrap();
    // The first worker looks dead: its lease expires and another worker takes the task.
    let later = timestamp::now() + Duration::seconds(61);
    db.requeue_expired_tasks(later).await.unwrap();
    let mut again = claim_request(Uuid::now_v7(), 1);
    again.now = later;
    again.lease_until = later + Duration::seconds(60);
    let second = db.claim_tasks(&again).await.unwrap();
    assert_eq!(second[0].task.id, first[0].task.id);
    assert_eq!(second[0].task.attempts, 2);
    let winner = attempt(
        &*db,
        &t,
        &second[0],
        RunStatus::Succeeded,
        TaskNext::Succeeded,
        (3, 4),
    )
    .await;
    // The first attempt's late answer: kept as evidence, but not a second success, and it does
    // not move the task.
    let late = attempt(
        &*db,
        &t,
        &first[0],
        RunStatus::Succeeded,
        TaskNext::Succeeded,
        (3, 4),
    )
    .await;
    assert_eq!(late.status, RunStatus::Failed);
    assert_eq!(late.error.as_ref().unwrap()["code"], "superseded");
    assert_eq!(
        late.error.as_ref().unwrap()["winner_result_id"],
        json!(winner.id)
    );
    let stored = db.get_result(late.id).await.unwrap().unwrap();
    assert_eq!(stored.status, RunStatus::Failed);
    assert_eq!(stored.answer, late.answer, "the paid answer is kept");
    let results = db
        .list_results(t.id, Some(batch.id), 50, None)
        .await
        .unwrap()
        .items;
    assert_eq!(
        results
            .iter()
            .filter(|r| r.status == RunStatus::Succeeded)
            .count(),
        1
    );
    let b = db.get_batch(batch.id).await.unwrap().unwrap();
    assert_eq!(b.status, BatchStatus::Succeeded);
    assert_eq!((b.counts.succeeded, b.counts.running), (1, 0));
    assert_eq!(b.prompt_tokens + b.completion_tokens, 14, "both were paid");
    let task = &db
        .list_tasks(&TaskQuery {
            batch_id: batch.id,
            status: None,
            limit: 1,
            after: None,
        })
        .await
        .unwrap()
        .items[0];
    assert_eq!(task.result_id, Some(winner.id));
}

pub async fn parallel_claims_never_share_a_task(db: Arc<dyn Database>) {
    let t = created(&*db, &body("ws-race", "Batch race")).await;
    let mut new = new_batch(&t, &[Some("CH"), Some("US")], 50);
    new.max_concurrency = 1000;
    let batch = create_batch(&*db, new).await;
    let claimers = (0..8).map(|_| {
        let db = db.clone();
        tokio::spawn(async move {
            let worker = Uuid::now_v7();
            let mut mine = Vec::new();
            loop {
                let got = db.claim_tasks(&claim_request(worker, 7)).await.unwrap();
                if got.is_empty() {
                    return mine;
                }
                mine.extend(got.into_iter().map(|c| c.task.id));
            }
        })
    });
    let all: Vec<Uuid> = futures::future::join_all(claimers)
        .await
        .into_iter()
        .flat_map(|r| r.unwrap())
        .collect();
    let distinct: HashSet<_> = all.iter().collect();
    assert_eq!(all.len(), 100, "every task handed out");
    assert_eq!(distinct.len(), 100, "none twice");
    let b = db.get_batch(batch.id).await.unwrap().unwrap();
    assert_eq!((b.counts.pending, b.counts.running), (0, 100));
}

pub async fn cancel_and_retry_failed(db: Arc<dyn Database>) {
    let t = created(&*db, &body("ws-cancel", "Batch cancel")).await;
    let batch = create_batch(&*db, new_batch(&t, &[Some("CH")], 4)).await;
    let worker = Uuid::now_v7();
    let claimed = db.claim_tasks(&claim_request(worker, 1)).await.unwrap();
    let BatchChange::Changed(b) = db.cancel_batch(batch.id, timestamp::now()).await.unwrap() else {
        panic!("expected Changed")
    };
    assert_eq!(b.status, BatchStatus::Cancelled);
    assert_eq!((b.counts.cancelled, b.counts.running), (3, 1));
    assert!(b.finished_at.is_none(), "a running task is still finishing");
    assert!(db
        .claim_tasks(&claim_request(worker, 10))
        .await
        .unwrap()
        .is_empty());
    // The running task finishes; asking for a retry in a cancelled batch cancels it.
    attempt(
        &*db,
        &t,
        &claimed[0],
        RunStatus::Failed,
        TaskNext::RetryAt(timestamp::now(), error()),
        (0, 0),
    )
    .await;
    let b = db.get_batch(batch.id).await.unwrap().unwrap();
    assert_eq!(b.counts.cancelled, 4);
    assert!(b.finished_at.is_some());
    assert!(matches!(
        db.cancel_batch(batch.id, timestamp::now()).await.unwrap(),
        BatchChange::Closed(_)
    ));
    assert!(matches!(
        db.retry_failed_tasks(batch.id, timestamp::now())
            .await
            .unwrap(),
        BatchChange::Closed(_)
    ));
    assert_eq!(
        db.cancel_batch(Uuid::now_v7(), timestamp::now())
            .await
            .unwrap(),
        BatchChange::NotFound
    );

    // Retry-failed: failed tasks only, from attempt zero; the batch is open again.
    let other = create_batch(&*db, new_batch(&t, &[Some("CH")], 2)).await;
    let c = db.claim_tasks(&claim_request(worker, 10)).await.unwrap();
    attempt(
        &*db,
        &t,
        &c[0],
        RunStatus::Failed,
        TaskNext::Failed(error()),
        (0, 0),
    )
    .await;
    attempt(
        &*db,
        &t,
        &c[1],
        RunStatus::Succeeded,
        TaskNext::Succeeded,
        (0, 0),
    )
    .await;
    let done = db.get_batch(other.id).await.unwrap().unwrap();
    assert_eq!(done.status, BatchStatus::PartiallyFailed);
    assert!(done.finished_at.is_some());
    // A finished batch cannot be cancelled.
    match db.cancel_batch(other.id, timestamp::now()).await.unwrap() {
        BatchChange::Closed(b) => assert_eq!(b.status, BatchStatus::PartiallyFailed),
        other => panic!("expected Closed, got {other:?}"),
    }
    let BatchChange::Changed(b) = db
        .retry_failed_tasks(other.id, timestamp::now())
        .await
        .unwrap()
    else {
        panic!("expected Changed")
    };
    assert_eq!(b.status, BatchStatus::Running);
    assert_eq!(
        (b.counts.pending, b.counts.failed, b.counts.succeeded),
        (1, 0, 1)
    );
    assert!(b.finished_at.is_none());
    let again = db.claim_tasks(&claim_request(worker, 10)).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].task.id, c[0].task.id);
    assert_eq!(again[0].task.attempts, 1);
}

pub async fn a_batch_stops_at_its_token_budget(db: Arc<dyn Database>) {
    let t = created(&*db, &body("ws-budget", "Batch budget")).await;
    let mut new = new_batch(&t, &[Some("CH")], 5);
    new.token_budget = Some(50);
    new.max_concurrency = 1;
    let batch = create_batch(&*db, new).await;
    let worker = Uuid::now_v7();
    let c = db.claim_tasks(&claim_request(worker, 10)).await.unwrap();
    attempt(
        &*db,
        &t,
        &c[0],
        RunStatus::Succeeded,
        TaskNext::Succeeded,
        (10, 20),
    )
    .await;
    assert_eq!(
        db.get_batch(batch.id).await.unwrap().unwrap().status,
        BatchStatus::Running
    );
    let c = db.claim_tasks(&claim_request(worker, 10)).await.unwrap();
    attempt(
        &*db,
        &t,
        &c[0],
        RunStatus::Succeeded,
        TaskNext::Succeeded,
        (10, 20),
    )
    .await;
    let b = db.get_batch(batch.id).await.unwrap().unwrap();
    assert_eq!(b.status, BatchStatus::BudgetExhausted);
    assert_eq!((b.counts.succeeded, b.counts.cancelled), (2, 3));
    assert_eq!(b.prompt_tokens + b.completion_tokens, 60);
    assert!(b.finished_at.is_some());
    assert!(db
        .claim_tasks(&claim_request(worker, 10))
        .await
        .unwrap()
        .is_empty());
}
