//! The batch queue with real processes: `kill -9` of `prompter serve` in the middle of a
//! 1,000-task batch, then a restart, completes the batch with exactly one succeeded result per
//! task; two `prompter worker` processes and one `serve` on one PostgreSQL share a batch without
//! running any task twice; schedules due while two `serve` replicas run fire once each.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::{runs_logged, Server, Worker};
use serde_json::{json, Value};

const COUNTRIES: [&str; 20] = [
    "CH", "DE", "AT", "FR", "IT", "ES", "PT", "NL", "BE", "LU", "DK", "SE", "NO", "FI", "PL", "CZ",
    "GB", "IE", "US", "CA",
];

async fn create_batch(server: &Server, samples: u32) -> (String, String) {
    let client = reqwest::Client::new();
    let t: Value = client
        .post(server.url("/api/prompt-templates"))
        .json(
            &json!({"workspace_id": "avea", "name": "T", "model_id": "gpt-4o",
                      "user_prompt_template": "Best supplements in {{country}}?",
                      "country_set": COUNTRIES}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let template = t["id"].as_str().unwrap().to_owned();
    let b = client
        .post(server.url("/api/batches"))
        .json(&json!({"workspace_id": "avea", "samples": samples, "max_concurrency": 50}))
        .send()
        .await
        .unwrap();
    assert_eq!(b.status().as_u16(), 202);
    let b: Value = b.json().await.unwrap();
    (template, b["id"].as_str().unwrap().to_owned())
}

async fn batch(server: &Server, id: &str) -> Value {
    reqwest::get(server.url(&format!("/api/batches/{id}")))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn wait_until(
    server: &Server,
    id: &str,
    within: Duration,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let started = Instant::now();
    loop {
        let b = batch(server, id).await;
        if done(&b) {
            return b;
        }
        assert!(
            started.elapsed() < within,
            "batch not there in {within:?}: {b}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every result of the batch, through the API's pages.
async fn all_results(server: &Server, template: &str, batch: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = server.url(&format!(
            "/api/prompt-templates/{template}/results?batch_id={batch}&limit=500"
        ));
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
        out.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
    }
}

/// Exactly one succeeded result per task, for `total` tasks.
fn one_success_per_task(results: &[Value], total: usize) {
    let mut per_task: HashMap<&str, usize> = HashMap::new();
    for r in results.iter().filter(|r| r["status"] == "succeeded") {
        *per_task.entry(r["task_id"].as_str().unwrap()).or_default() += 1;
    }
    assert_eq!(per_task.len(), total, "tasks with a success");
    assert!(per_task.values().all(|n| *n == 1), "a task succeeded twice");
}

const ENV: [(&str, &str); 4] = [
    ("PROMPTER_FAKE_LATENCY_MS", "100"),
    ("PROMPTER_RUN_STALE_AFTER_MS", "1000"),
    ("PROMPTER_WORKER_POLL_MS", "100"),
    ("PROMPTER_SHUTDOWN_GRACE_S", "1"),
];

async fn kill_9_mid_batch_then_restart_completes_every_task_once(url: String) {
    let mut server = Server::start_with_env(&url, &ENV);
    let (template, id) = create_batch(&server, 50).await;
    let before = wait_until(&server, &id, Duration::from_secs(60), |b| {
        b["succeeded"].as_i64().unwrap() >= 200
    })
    .await;
    assert_eq!(before["total_tasks"], 1000);
    server.kill_hard();

    let restarted = Server::start_with_env(&url, &ENV);
    let done = wait_until(&restarted, &id, Duration::from_secs(120), |b| {
        b["status"] != "running" && b["status"] != "queued"
    })
    .await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["succeeded"], 1000);
    let results = all_results(&restarted, &template, &id).await;
    one_success_per_task(&results, 1000);
    // The attempts cut off by the kill are kept as interrupted failures, nothing else failed.
    let failed: Vec<&Value> = results
        .iter()
        .filter(|r| r["status"] != "succeeded")
        .collect();
    assert!(!failed.is_empty(), "the kill interrupted some attempts");
    for f in &failed {
        assert_eq!(f["status"], "failed", "{f}");
        assert_eq!(f["error"]["code"], "interrupted", "{f}");
    }
    assert_eq!(results.len(), 1000 + failed.len());
}

async fn two_workers_and_a_server_share_a_batch_without_running_a_task_twice(url: String) {
    let env = [
        ("PROMPTER_FAKE_LATENCY_MS", "50"),
        ("PROMPTER_WORKER_POLL_MS", "50"),
        ("PROMPTER_WORKER_CONCURRENCY", "8"),
    ];
    let server = Server::start_with_env(&url, &env);
    let mut with_metrics = env.to_vec();
    with_metrics.push(("PROMPTER_WORKER_BIND", "127.0.0.1:0"));
    let w1 = Worker::start(&url, &with_metrics);
    let w2 = Worker::start(&url, &env);
    let (template, id) = create_batch(&server, 20).await;
    let done = wait_until(&server, &id, Duration::from_secs(120), |b| {
        b["status"] != "running" && b["status"] != "queued"
    })
    .await;
    assert_eq!(done["status"], "succeeded", "{done}");
    let results = all_results(&server, &template, &id).await;
    assert_eq!(results.len(), 400, "one attempt per task, no second run");
    one_success_per_task(&results, 400);
    let by_process = [
        runs_logged(&server.logs),
        runs_logged(&w1.logs),
        runs_logged(&w2.logs),
    ];
    assert_eq!(by_process.iter().sum::<usize>(), 400, "{by_process:?}");
    assert!(
        by_process.iter().all(|n| *n > 0),
        "every process worked: {by_process:?}"
    );
    // A worker's own metrics, for Prometheus: the attempts it recorded.
    let metrics_url = format!("http://{}/metrics", w1.addr.expect("the worker listens"));
    let metrics = reqwest::get(&metrics_url)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let succeeded: f64 = metrics
        .lines()
        .find(|l| {
            l.starts_with("prompter_tasks_finished_total{") && l.contains("outcome=\"succeeded\"")
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no task counter in {metrics}"));
    assert_eq!(succeeded as usize, by_process[1]);
    let ready = reqwest::get(format!("http://{}/readyz", w1.addr.unwrap()))
        .await
        .unwrap();
    assert_eq!(ready.status().as_u16(), 200);
}

mod sqlite {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn kill_9_mid_batch_then_restart_completes_every_task_once() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("d.db").display());
        super::kill_9_mid_batch_then_restart_completes_every_task_once(url).await;
    }
}

mod postgres {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(
        not(prompter_pg),
        ignore = "PostgreSQL not configured: set PROMPTER_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/postgres"
    )]
    async fn kill_9_mid_batch_then_restart_completes_every_task_once() {
        let db = prompter_testkit::fresh_postgres().await;
        super::kill_9_mid_batch_then_restart_completes_every_task_once(
            prompter_testkit::TestDb::url(&db).to_owned(),
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(
        not(prompter_pg),
        ignore = "PostgreSQL not configured: set PROMPTER_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/postgres"
    )]
    async fn two_workers_and_a_server_share_a_batch_without_running_a_task_twice() {
        let db = prompter_testkit::fresh_postgres().await;
        super::two_workers_and_a_server_share_a_batch_without_running_a_task_twice(
            prompter_testkit::TestDb::url(&db).to_owned(),
        )
        .await;
    }
}

/// Two `prompter serve` replicas on one PostgreSQL, each with its scheduler: schedules due now
/// fire once each, not once per replica.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(prompter_pg),
    ignore = "PostgreSQL not configured: set PROMPTER_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/postgres"
)]
async fn a_schedule_due_while_two_replicas_run_fires_once() {
    use chrono::Timelike;
    use prompter_testkit::TestDb;
    let test_db = prompter_testkit::fresh_postgres().await;
    let url = test_db.url().to_owned();
    let first = Server::start(&url);
    let second = Server::start(&url);
    let client = reqwest::Client::new();
    let (_, _) = create_batch(&first, 1).await;
    let mut ids = Vec::new();
    for n in 0..3 {
        let s: Value = client
            .post(first.url("/api/schedules"))
            .json(
                &json!({"workspace_id": "avea", "name": format!("S{n}"), "cron": "*/5 * * * *",
                          "batch": {"countries": ["CH"]}}),
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        ids.push(s["id"].as_str().unwrap().to_owned());
    }
    // Make them due now (the slot of this five minutes) instead of waiting for it.
    let now = chrono::Utc::now();
    let slot = now
        .with_minute(now.minute() / 5 * 5)
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .unwrap();
    let db = test_db.db();
    for id in &ids {
        let mut s = db.get_schedule(id.parse().unwrap()).await.unwrap().unwrap();
        s.next_run_at = Some(slot);
        assert!(db.update_schedule(&s).await.unwrap());
    }
    let started = Instant::now();
    for id in &ids {
        loop {
            let s: Value = reqwest::get(second.url(&format!("/api/schedules/{id}")))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if !s["last_slot"].is_null() {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "not fired: {s}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // Both replicas ticked at least once more since.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let batches: Value = reqwest::get(first.url("/api/batches?workspace_id=avea&limit=50"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut fired: Vec<String> = batches["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|b| b["schedule_id"].as_str().map(str::to_owned))
        .collect();
    fired.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(fired, expected, "one batch per schedule slot");
    let fire_lines = |s: &Server| {
        s.logs
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains("\"action\":\"fire_schedule\""))
            .count()
    };
    assert_eq!(fire_lines(&first) + fire_lines(&second), 3);
}
