//! `prompter serve` and `prompter migrate` as processes: migrations, graceful stop, and races
//! between two processes sharing one PostgreSQL.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::json;

struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    /// Starts `prompter serve` on a free port and waits for its "listening" line.
    fn start(db_url: &str) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_prompter"))
            .args(["serve", "--bind", "127.0.0.1:0", "--database-url", db_url])
            .env("PROMPTER_LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn prompter serve");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let addr = loop {
            let line = lines
                .next()
                .expect("serve exited before listening")
                .unwrap();
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            if let Some(addr) = v["addr"].as_str() {
                break addr.parse().unwrap();
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server { child, addr }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    fn terminate(&mut self) -> std::process::ExitStatus {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        for _ in 0..100 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("serve did not stop within 5 s of SIGTERM");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

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
    assert!(migrate(&url, &["down", "--steps", "5"])
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
