//! A run's answer survives its process: SIGTERM waits for runs in flight (up to the grace) and
//! records what it cannot finish as interrupted; after kill -9 the restarted service marks the
//! orphaned run as interrupted instead of leaving it `running` forever. Real processes, on SQLite
//! and PostgreSQL.

mod common;

use std::time::Duration;

use common::Server;
use serde_json::{json, Value};

/// Creates a template and starts a run that answers 202 at once (`Prefer: respond-async`).
async fn start_slow_run(server: &Server) -> String {
    let client = reqwest::Client::new();
    let created: Value = client
        .post(server.url("/api/prompt-templates"))
        .json(
            &json!({"workspace_id": "ws-d", "name": "n", "model_id": "gpt-4o",
                      "user_prompt_template": "Hi"}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().expect("template created");
    let reply = client
        .post(server.url(&format!("/api/prompt-templates/{id}/run")))
        .header("prefer", "respond-async")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 202);
    let body: Value = reply.json().await.unwrap();
    assert_eq!(body["status"], "running");
    body["id"].as_str().unwrap().to_owned()
}

async fn result(server: &Server, id: &str) -> Value {
    let r = reqwest::get(server.url(&format!("/api/results/{id}")))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// Sends SIGTERM and waits for the exit (off the async runtime: it polls the child).
async fn sigterm(server: Server) -> (std::process::ExitStatus, Server) {
    tokio::task::spawn_blocking(move || {
        let mut server = server;
        common::send_sigterm(&server);
        let status = server.wait_exit(Duration::from_secs(20));
        (status, server)
    })
    .await
    .unwrap()
}

async fn sigterm_waits_for_a_running_run_and_records_its_answer(url: String) {
    let server = Server::start_with_env(&url, &[("PROMPTER_FAKE_LATENCY_MS", "2000")]);
    let id = start_slow_run(&server).await;
    let (exit, _gone) = sigterm(server).await;
    assert!(exit.success(), "exit status {exit:?}");
    // The answer came while the service was stopping: it is recorded.
    let restarted = Server::start(&url);
    let r = result(&restarted, &id).await;
    assert_eq!(r["status"], "succeeded", "{r}");
    assert!(r["answer"].as_str().is_some_and(|a| !a.is_empty()));
}

async fn sigterm_past_the_grace_records_the_run_as_interrupted(url: String) {
    let server = Server::start_with_env(
        &url,
        &[
            ("PROMPTER_FAKE_LATENCY_MS", "30000"),
            ("PROMPTER_SHUTDOWN_GRACE_S", "1"),
        ],
    );
    let id = start_slow_run(&server).await;
    let (exit, _gone) = sigterm(server).await;
    assert!(exit.success(), "exit status {exit:?}");
    let restarted = Server::start(&url);
    let r = result(&restarted, &id).await;
    assert_eq!(r["status"], "failed", "{r}");
    assert_eq!(r["error"]["code"], "interrupted", "{r}");
}

async fn after_kill_9_the_restarted_service_marks_the_run_interrupted(url: String) {
    let stale = [
        ("PROMPTER_FAKE_LATENCY_MS", "30000"),
        ("PROMPTER_RUN_STALE_AFTER_MS", "1000"),
    ];
    let mut server = Server::start_with_env(&url, &stale);
    let id = start_slow_run(&server).await;
    assert_eq!(result(&server, &id).await["status"], "running");
    server.kill_hard();
    let restarted = Server::start_with_env(&url, &stale);
    let mut last = Value::Null;
    for _ in 0..100 {
        last = result(&restarted, &id).await;
        if last["status"] != "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(last["status"], "failed", "{last}");
    assert_eq!(last["error"]["code"], "interrupted", "{last}");
}

macro_rules! on_both_backends {
    ($($case:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let dir = tempfile::tempdir().unwrap();
                    let url = format!("sqlite://{}", dir.path().join("d.db").display());
                    super::$case(url).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(not(prompter_pg), ignore = "PostgreSQL not configured: set PROMPTER_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/postgres")]
                async fn $case() {
                    let db = prompter_testkit::fresh_postgres().await;
                    super::$case(prompter_testkit::TestDb::url(&db).to_owned()).await;
                }
            )+
        }
    };
}

on_both_backends!(
    sigterm_waits_for_a_running_run_and_records_its_answer,
    sigterm_past_the_grace_records_the_run_as_interrupted,
    after_kill_9_the_restarted_service_marks_the_run_interrupted,
);
