//! `prompter serve` and `prompter migrate` as processes: migrations, graceful stop, and races
//! between two processes sharing one PostgreSQL.

use std::process::Command;
use std::time::Duration;

use serde_json::json;

mod common;

use common::Server;

fn migrate(db_url: &str, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_prompter"))
        .arg("migrate")
        .args(args)
        .arg("--database-url")
        .arg(db_url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn migrate_up_down_status_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("m.db").display());
    let pending = migrate(&url, &["status"]).matches("pending").count();
    assert!(
        pending >= 2,
        "every embedded migration is pending on a new database"
    );
    assert!(migrate(&url, &["up"]).contains(&format!("applied {pending} migration")));
    let status = migrate(&url, &["status"]);
    assert!(
        status.contains("applied") && !status.contains("pending"),
        "{status}"
    );
    assert!(migrate(&url, &["up"]).contains("applied 0 migration"));
    assert!(migrate(&url, &["down"]).contains("reverted 1 migration"));
    assert_eq!(migrate(&url, &["status"]).matches("pending").count(), 1);
    let rest = (pending - 1).to_string();
    assert!(migrate(&url, &["down", "--steps", &rest])
        .contains(&format!("reverted {} migration", pending - 1)));
    assert_eq!(
        migrate(&url, &["status"]).matches("pending").count(),
        pending
    );
}

#[tokio::test]
async fn serve_migrates_answers_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("s.db").display());
    let mut server = Server::start(&url);
    let client = reqwest::Client::new();
    let r = client
        .post(server.url("/api/prompt-templates"))
        .json(
            &json!({"workspace_id": "test", "name": "Hello", "model_id": "gpt-4o",
                      "user_prompt_template": "Say hello", "country_set": ["US"]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let status = server.terminate();
    assert!(status.success(), "exit status {status:?}");
    // The acknowledged write survived the restart.
    let server = Server::start(&url);
    let listed: serde_json::Value = client
        .get(server.url("/api/prompt-templates?workspace_id=test"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    not(prompter_pg),
    ignore = "PostgreSQL not configured: set PROMPTER_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/postgres"
)]
async fn two_processes_sharing_postgres_race_to_one_winner() {
    use prompter_testkit::TestDb;
    let db = prompter_testkit::fresh_postgres().await;
    let servers = [Server::start(db.url()), Server::start(db.url())];
    let client = reqwest::Client::new();
    let body = json!({"workspace_id": "workspace-race", "name": "Race", "model_id": "gpt-4o",
                      "user_prompt_template": "Which brand wins?", "country_set": ["CH"]});
    let requests = (0..60).map(|i| {
        let url = servers[i % 2].url("/api/prompt-templates");
        let req = client.post(url).json(&body);
        async move {
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.json::<serde_json::Value>().await.unwrap())
        }
    });
    let replies = futures::future::join_all(requests).await;
    let winners: Vec<_> = replies.iter().filter(|(s, _)| *s == 201).collect();
    assert_eq!(winners.len(), 1, "exactly one 201 across both processes");
    for (status, body) in &replies {
        assert!(
            *status == 201 || *status == 409,
            "unexpected {status}: {body}"
        );
        if *status == 409 {
            assert_eq!(body["detail"]["template_id"], winners[0].1["id"]);
        }
    }
}

const SECRET: &str = "sk-test-LOGSECRET-77a1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_lines_carry_the_seed_fields_and_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("l.db").display());
    // A real-looking key for Anthropic (nothing listens at its base URL), the fake for OpenAI.
    let server = Server::start_with_env(
        &url,
        &[
            ("ANTHROPIC_API_KEY", SECRET),
            ("ANTHROPIC_BASE_URL", "http://127.0.0.1:1/v1"),
            ("PROMPTER_PROVIDER_MAX_RETRIES", "0"),
        ],
    );
    let client = reqwest::Client::new();
    let post = |path: &str, body: serde_json::Value| {
        client
            .post(server.url(path))
            .header("x-request-id", "req-from-client-1")
            .json(&body)
            .send()
    };
    let created: serde_json::Value = post(
        "/api/prompt-templates",
        json!({"workspace_id": "ws-log", "name": "n",
        "model_id": "gpt-4o", "user_prompt_template": "What is {{brand_name}} known for?"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let r = post(
        &format!("/api/prompt-templates/{id}/run"),
        json!({"brand_name": "AVEA"}),
    )
    .await
    .unwrap();
    assert_eq!(
        r.headers()["x-request-id"],
        "req-from-client-1",
        "the request id is returned"
    );
    post(
        &format!("/api/prompt-templates/{id}/ensure-version"),
        json!({"model_id": "gpt-4o"}),
    )
    .await
    .unwrap();
    let claude = post(
        &format!("/api/prompt-templates/{id}/ensure-version"),
        json!({"model_id": "claude-3-opus-20240229"}),
    )
    .await
    .unwrap();
    assert_eq!(claude.status(), 502);
    let generated = client
        .get(server.url("/api/prompt-templates/health"))
        .send()
        .await
        .unwrap();
    assert!(
        !generated.headers()["x-request-id"].is_empty(),
        "an id is generated when none is sent"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;

    let lines = server.log_lines();
    let action = |name: &str| -> serde_json::Value {
        lines
            .iter()
            .find(|l| l["action"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {name} line in {lines:?}"))
    };
    let create = action("create_template");
    for f in ["org_id", "workspace_id", "template_id", "status"] {
        assert!(!create[f].is_null(), "create_template lacks {f}: {create}");
    }
    let run = action("run_template");
    for f in [
        "org_id",
        "workspace_id",
        "template_id",
        "version_id",
        "provider",
        "model_id",
        "provider_version_key",
        "status",
        "latency_ms",
    ] {
        assert!(!run[f].is_null(), "run_template lacks {f}: {run}");
    }
    let ensure = action("ensure_version");
    for f in [
        "template_id",
        "version_id",
        "provider",
        "model_id",
        "provider_version_key",
        "status",
        "latency_ms",
    ] {
        assert!(!ensure[f].is_null(), "ensure_version lacks {f}: {ensure}");
    }
    for line in [&create, &run, &ensure] {
        assert_eq!(line["span"]["request_id"], "req-from-client-1", "{line}");
    }
    let all = server.logs.lock().unwrap().join("\n");
    assert!(!all.contains(SECRET), "a secret reached the logs");
    assert!(
        !all.contains("What is AVEA known for"),
        "no prompt bodies at info level"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_an_in_flight_request_finish() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("g.db").display());
    let mut server = Server::start_with_env(&url, &[("PROMPTER_FAKE_LATENCY_MS", "1500")]);
    let client = reqwest::Client::new();
    let created: serde_json::Value = client.post(server.url("/api/prompt-templates"))
        .json(&json!({"workspace_id": "ws-g", "name": "n", "model_id": "gpt-4o", "user_prompt_template": "Hi"}))
        .send().await.unwrap().json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let run_url = server.url(&format!("/api/prompt-templates/{id}/run"));
    let in_flight = tokio::spawn(async move {
        reqwest::Client::new()
            .post(run_url)
            .json(&json!({}))
            .send()
            .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let status = tokio::task::spawn_blocking(move || {
        let status = server.terminate();
        (status, server)
    });
    let reply = in_flight
        .await
        .unwrap()
        .expect("the in-flight request is answered");
    assert_eq!(reply.status(), 200);
    let body: serde_json::Value = reply.json().await.unwrap();
    assert!(body["result_id"].is_string());
    let (exit, _server) = status.await.unwrap();
    assert!(exit.success(), "exit status {exit:?}");
}

#[test]
fn config_prints_the_effective_configuration_without_secrets() {
    let out = Command::new(env!("CARGO_BIN_EXE_prompter"))
        .arg("config")
        .env(
            "DB_URL",
            "postgres://app:db-pass-123@db.internal:5432/prompter",
        )
        .env("REDIS_URL", "redis://:redis-pass-456@cache:6379")
        .env("OPENAI_API_KEY", SECRET)
        .env("PROMPTER_PROBE_DISABLED", "true")
        .env("PROMPTER_TYPO_VAR", "1")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for secret in ["db-pass-123", "redis-pass-456", SECRET] {
        assert!(!text.contains(secret), "{secret} printed: {text}");
    }
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        v["database_url"],
        "postgres://app:***@db.internal:5432/prompter"
    );
    assert_eq!(v["probe_disabled"], true);
    assert_eq!(v["bind"], "127.0.0.1:8000");
    assert_eq!(v["run_wait_ms"], 25_000);
    assert_eq!(v["provider_total_timeout_ms"], 300_000);
    assert!(v["unknown_prompter_variables"]
        .as_array()
        .unwrap()
        .contains(&json!("PROMPTER_TYPO_VAR")));
    assert!(v["providers"].as_str().unwrap().contains("***"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_grace_period_bounds_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("gp.db").display());
    let mut server = Server::start_with_env(
        &url,
        &[
            ("PROMPTER_FAKE_LATENCY_MS", "20000"),
            ("PROMPTER_SHUTDOWN_GRACE_S", "1"),
        ],
    );
    let client = reqwest::Client::new();
    let created: serde_json::Value = client
        .post(server.url("/api/prompt-templates"))
        .json(&json!({"workspace_id": "ws-gp", "name": "n", "model_id": "gpt-4o", "user_prompt_template": "Hi"}))
        .send().await.unwrap().json().await.unwrap();
    let run_url = server.url(&format!(
        "/api/prompt-templates/{}/run",
        created["id"].as_str().unwrap()
    ));
    let stuck = tokio::spawn(async move {
        reqwest::Client::new()
            .post(run_url)
            .json(&json!({}))
            .send()
            .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = std::time::Instant::now();
    let (exit, _server) = tokio::task::spawn_blocking(move || (server.terminate(), server))
        .await
        .unwrap();
    assert!(exit.success(), "{exit:?}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "stopped after the 1 s grace, not the 20 s call"
    );
    assert!(
        stuck.await.unwrap().is_err(),
        "the unfinished request was dropped"
    );
}

fn prompter(args: &[&str], db_url: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_prompter"))
        .args(args)
        .args(["--database-url", db_url])
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn turning_auth_on_takes_a_token_and_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("auth.db").display());
    let client = reqwest::Client::new();
    let body = json!({"workspace_id": "ws-auth", "name": "n", "model_id": "gpt-4o", "user_prompt_template": "Hi"});

    // Quick start: loopback, no token → open.
    let mut open = Server::start(&url);
    let r = client
        .post(open.url("/api/prompt-templates"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    open.terminate();

    let out = prompter(
        &[
            "tokens", "create", "--org", "default", "--role", "writer", "--label", "ci",
        ],
        &url,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let secret = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(secret.starts_with("pt_") && secret.len() > 60, "{secret}");
    let listed = String::from_utf8(prompter(&["tokens", "list"], &url).stdout).unwrap();
    assert!(
        listed.contains("\"role\":\"writer\"") && !listed.contains(&secret),
        "{listed}"
    );

    // Restarted with a token in the database → auth required.
    let server = Server::start(&url);
    let anonymous = client
        .get(server.url("/api/prompt-templates"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let authed = client
        .get(server.url("/api/prompt-templates"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(authed.status(), 200);
    let items: serde_json::Value = authed.json().await.unwrap();
    assert_eq!(items["items"].as_array().unwrap().len(), 1);
    // The web UI is served too, behind its sign-in page.
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let ui = no_redirects
        .get(server.url("/brands/ws-auth/templates"))
        .send()
        .await
        .unwrap();
    assert_eq!(ui.status(), 303);
    assert_eq!(
        ui.headers()["location"],
        "/sign-in?next=%2Fbrands%2Fws-auth%2Ftemplates"
    );
    let signed_in = no_redirects
        .get(server.url("/brands/ws-auth/templates"))
        .header("cookie", format!("prompter_session={secret}"))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 200);
    assert!(signed_in.text().await.unwrap().contains("ws-auth"));

    let id: serde_json::Value = serde_json::from_str(listed.lines().next().unwrap()).unwrap();
    let revoke = prompter(&["tokens", "revoke", id["id"].as_str().unwrap()], &url);
    assert!(revoke.status.success());
    let after = client
        .get(server.url("/api/prompt-templates"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(
        after.status(),
        401,
        "a revoked token stops working without a restart"
    );
    let again = prompter(&["tokens", "revoke", id["id"].as_str().unwrap()], &url);
    assert!(!again.status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("slow.db").display());
    let server = Server::start(&url);
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET /api/prompt-templates HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let mut buf = [0u8; 256];
    let read = tokio::time::timeout(Duration::from_secs(20), stream.read(&mut buf)).await;
    let elapsed = started.elapsed();
    assert!(read.is_ok(), "the connection was still open after 20 s");
    assert!(
        elapsed >= Duration::from_secs(5),
        "closed too early: {elapsed:?}"
    );
    // The server also keeps serving others.
    let ok = reqwest::get(server.url("/api/prompt-templates/health"))
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
}
