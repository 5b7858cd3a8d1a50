//! `prompter batch run --wait` works the queue itself (no server), shows progress and exits
//! non-zero when tasks failed; `prompter batch status` and `prompter schedules list` read back.

mod common;

use std::process::Command;

use common::Server;
use serde_json::{json, Value};

fn prompter(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_prompter"))
        .args(args)
        .env_remove("REDIS_URL")
        .env("PROMPTER_WORKER_POLL_MS", "50")
        .envs(env.iter().copied())
        .output()
        .expect("run prompter")
}

async fn setup(url: &str) {
    let mut server = Server::start(url);
    let client = reqwest::Client::new();
    let r = client
        .post(server.url("/api/prompt-templates"))
        .json(
            &json!({"workspace_id": "avea", "name": "T", "model_id": "gpt-4o",
                      "user_prompt_template": "Best {{brand}} in {{country}}?",
                      "country_set": ["CH", "DE", "US"]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let r = client
        .post(server.url("/api/schedules"))
        .json(
            &json!({"workspace_id": "avea", "name": "Mornings", "cron": "0 6 * * *",
                      "timezone": "Europe/Zurich", "batch": {"brand_name": "AVEA"}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    server.terminate();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_run_waits_for_its_batch_without_a_server() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("d.db").display());
    setup(&url).await;

    let out = prompter(
        &[
            "batch",
            "run",
            "--workspace",
            "avea",
            "--country",
            "CH",
            "--country",
            "US",
            "--samples",
            "3",
            "--brand",
            "AVEA",
            "--wait",
            "--database-url",
            &url,
        ],
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let batch: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(batch["status"], "succeeded");
    assert_eq!(batch["total_tasks"], 6);
    assert_eq!(batch["succeeded"], 6);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("6 tasks"), "{stderr}");

    let id = batch["id"].as_str().unwrap();
    let status = prompter(&["batch", "status", id, "--database-url", &url], &[]);
    assert!(status.status.success());
    let again: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(again["id"], batch["id"]);
    assert_eq!(again["status"], "succeeded");

    let listed = prompter(&["schedules", "list", "--database-url", &url], &[]);
    assert!(listed.status.success());
    let lines: Vec<Value> = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["name"], "Mornings");
    assert!(lines[0]["next_run_at"].is_string());

    // Bad input: named, non-zero, nothing enqueued.
    let bad = prompter(
        &[
            "batch",
            "run",
            "--workspace",
            "avea",
            "--samples",
            "0",
            "--database-url",
            &url,
        ],
        &[],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("samples"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_run_exits_non_zero_when_tasks_failed() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("d.db").display());
    setup(&url).await;
    // A provider nobody listens for: every attempt fails (transport), one attempt each.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/v1", closed.local_addr().unwrap());
    drop(closed);
    let out = prompter(
        &[
            "batch",
            "run",
            "--workspace",
            "avea",
            "--brand",
            "AVEA",
            "--wait",
            "--database-url",
            &url,
        ],
        &[
            ("PROMPTER_LLM_MODE", "live"),
            ("OPENAI_API_KEY", "sk-test"),
            ("OPENAI_BASE_URL", &base),
            ("PROMPTER_TASK_MAX_ATTEMPTS", "1"),
            ("PROMPTER_PROVIDER_MAX_RETRIES", "0"),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let batch: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(batch["status"], "failed");
    assert_eq!(batch["failed"], 3);
}
