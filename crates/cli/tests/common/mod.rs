//! `prompter serve` as a child process, for the tests that need a real process (signals,
//! restarts, two replicas).

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    /// Every JSON log line the server printed so far.
    pub logs: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Starts `prompter serve` on a free port and waits for its "listening" line.
    pub fn start(db_url: &str) -> Server {
        Self::start_with_env(db_url, &[])
    }

    pub fn start_with_env(db_url: &str, env: &[(&str, &str)]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_prompter"))
            .args(["serve", "--bind", "127.0.0.1:0", "--database-url", db_url])
            .env("PROMPTER_LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            // Hermetic: no Redis and no probe kill switch from the environment (a test that wants
            // them says so in `env`).
            .env_remove("REDIS_URL")
            .env_remove("UPSTASH_REDIS_URL")
            .env_remove("PROMPTER_PROBE_DISABLED")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn prompter serve");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let addr = loop {
            let line = lines
                .next()
                .expect("serve exited before listening")
                .unwrap();
            let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
            logs.lock().unwrap().push(line);
            if let Some(addr) = v["addr"].as_str() {
                break addr.parse().unwrap();
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Server { child, addr, logs }
    }

    pub fn log_lines(&self) -> Vec<serde_json::Value> {
        self.logs
            .lock()
            .unwrap()
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn terminate(&mut self) -> std::process::ExitStatus {
        send_sigterm(self);
        for _ in 0..100 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("serve did not stop within 5 s of SIGTERM");
    }

    /// SIGKILL: no shutdown at all, as in a crash or an OOM kill.
    pub fn kill_hard(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Waits (at most `limit`) for the process to exit by itself.
    pub fn wait_exit(&mut self, limit: Duration) -> std::process::ExitStatus {
        let started = std::time::Instant::now();
        while started.elapsed() < limit {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("serve did not exit within {limit:?}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// SIGTERM, as an orchestrator stops a replica.
pub fn send_sigterm(server: &Server) {
    Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
}

/// `prompter worker` as a child process: works the queue, no listener.
pub struct Worker {
    pub child: Child,
    pub logs: Arc<Mutex<Vec<String>>>,
    /// Where it serves `/metrics` and `/readyz` (with `PROMPTER_WORKER_BIND`).
    pub addr: Option<SocketAddr>,
}

impl Worker {
    /// Starts `prompter worker` and waits for its start line.
    pub fn start(db_url: &str, env: &[(&str, &str)]) -> Worker {
        let mut child = Command::new(env!("CARGO_BIN_EXE_prompter"))
            .args(["worker", "--database-url", db_url])
            .env("PROMPTER_LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .env_remove("REDIS_URL")
            .env_remove("UPSTASH_REDIS_URL")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn prompter worker");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let mut addr = None;
        loop {
            let line = lines
                .next()
                .expect("worker exited before starting")
                .unwrap();
            let started = line.contains("working the batch queue");
            let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
            if let Some(a) = v["addr"].as_str() {
                addr = a.parse().ok();
            }
            logs.lock().unwrap().push(line);
            if started {
                break;
            }
        }
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Worker { child, logs, addr }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How many runs a process recorded, from its `run_template` log lines.
pub fn runs_logged(logs: &Mutex<Vec<String>>) -> usize {
    logs.lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains("\"action\":\"run_template\""))
        .count()
}
