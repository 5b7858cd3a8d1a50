//! An import killed with SIGKILL while it writes (issue 13: "an interrupted import leaves the
//! target as it was"): the real binary imports a legacy SQLite database of 2,000 templates and
//! 60,000 results into a fresh target of each backend and is killed once it logs its writing
//! stage. The target then holds none of the source's rows, is intact, and a second import
//! completes with every row.

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use prompter_testkit::{fresh_postgres, fresh_sqlite, TestDb};
use sqlx::{Connection, Row};

const TEMPLATES: u32 = 2_000;
const RESULTS: u32 = 60_000;

/// A legacy SQLite database in the seeds' schema (000), filled by recursive CTEs: every template
/// distinct, one version each, results spread over the templates.
async fn legacy_source(dir: &std::path::Path) -> String {
    let path = dir.join("legacy.db");
    let mut conn =
        sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=rwc", path.display()))
            .await
            .unwrap();
    let statements = [
        "CREATE TABLE prompt_templates (id TEXT PRIMARY KEY, org_id TEXT NOT NULL DEFAULT 'default', workspace_id TEXT NOT NULL, name TEXT NOT NULL, system_instructions TEXT, user_prompt_template TEXT NOT NULL, country_set TEXT NOT NULL, model_id TEXT NOT NULL, inference_params TEXT NOT NULL, tools_spec TEXT, response_format TEXT, grounding_profile_id TEXT, grounding_snapshot_id TEXT, retrieval_params TEXT, config_hash TEXT NOT NULL, config_canonical_json TEXT NOT NULL, created_by TEXT, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, deleted_at TIMESTAMP)".to_owned(),
        "CREATE TABLE prompt_versions (id TEXT PRIMARY KEY, org_id TEXT NOT NULL DEFAULT 'default', workspace_id TEXT NOT NULL, template_id TEXT REFERENCES prompt_templates(id), provider TEXT NOT NULL, provider_version_key TEXT NOT NULL, model_id TEXT NOT NULL, fingerprint_captured_at TIMESTAMP, first_seen_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, last_seen_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)".to_owned(),
        "CREATE TABLE prompt_results (id TEXT PRIMARY KEY, org_id TEXT NOT NULL DEFAULT 'default', workspace_id TEXT NOT NULL, template_id TEXT REFERENCES prompt_templates(id), version_id TEXT REFERENCES prompt_versions(id), provider_version_key TEXT, system_fingerprint TEXT, request TEXT NOT NULL, response TEXT NOT NULL, analysis_config TEXT, rendered_prompt_hash TEXT, run_country TEXT, used_grounding BOOLEAN, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)".to_owned(),
        format!(
            "INSERT INTO prompt_templates (id, workspace_id, name, user_prompt_template, country_set, model_id, inference_params, config_hash, config_canonical_json, created_at) \
             WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {}) \
             SELECT printf('00000000-0000-4000-8000-%012d', i), 'ws-' || (i % 5), 'Template ' || i, \
                    'Which brands lead topic ' || i || ' in {{{{country}}}}?', '[\"CH\",\"DE\"]', 'gpt-4o', \
                    '{{\"temperature\":0.7}}', 'stale', '{{}}', '2025-01-01 00:00:00' FROM n",
            TEMPLATES - 1
        ),
        "INSERT INTO prompt_versions (id, workspace_id, template_id, provider, provider_version_key, model_id, first_seen_at, last_seen_at) \
         SELECT printf('00000000-0000-4000-9000-%s', substr(id, 25)), workspace_id, id, 'openai', 'fp_A', 'gpt-4o', '2025-02-01 00:00:00', '2025-03-01 00:00:00' FROM prompt_templates".to_owned(),
        format!(
            "INSERT INTO prompt_results (id, workspace_id, template_id, version_id, provider_version_key, request, response, run_country, used_grounding, created_at) \
             WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {}) \
             SELECT printf('00000000-0000-4000-a000-%012d', i), 'ws-' || ((i % {TEMPLATES}) % 5), \
                    printf('00000000-0000-4000-8000-%012d', i % {TEMPLATES}), \
                    printf('00000000-0000-4000-9000-%012d', i % {TEMPLATES}), 'fp_A', \
                    '{{\"model\":\"gpt-4o\",\"messages\":[{{\"role\":\"user\",\"content\":\"Which brands lead?\"}}]}}', \
                    '{{\"content\":\"Acme leads, then Globex and Initech.\"}}', 'CH', 0, '2025-03-01 12:00:00' FROM n",
            RESULTS - 1
        ),
    ];
    for s in &statements {
        sqlx::query(s)
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{s}: {e}"));
    }
    conn.close().await.unwrap();
    format!("sqlite://{}", path.display())
}

/// One `SELECT count(*)` per table, on a connection of either backend.
macro_rules! count_rows {
    ($conn:expr) => {{
        let mut out = [0i64; 3];
        for (i, t) in ["prompt_templates", "prompt_versions", "prompt_results"]
            .iter()
            .enumerate()
        {
            out[i] = sqlx::query(&format!("SELECT count(*) FROM {t}"))
                .fetch_one(&mut $conn)
                .await
                .unwrap()
                .get(0);
        }
        out
    }};
}

/// Rows of the three tables in the target, read over a connection of their own (a SQLite
/// target is checked for integrity first).
async fn counts(url: &str) -> [i64; 3] {
    if url.starts_with("postgres") {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        count_rows!(conn)
    } else {
        let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
        let check: String = sqlx::query("PRAGMA integrity_check")
            .fetch_one(&mut conn)
            .await
            .unwrap()
            .get(0);
        assert_eq!(check, "ok", "the SQLite target is intact");
        count_rows!(conn)
    }
}

/// The size of a SQLite target's write-ahead log (0 for PostgreSQL or no log yet).
fn wal_size(url: &str) -> u64 {
    url.strip_prefix("sqlite://")
        .and_then(|path| std::fs::metadata(format!("{path}-wal")).ok())
        .map_or(0, |m| m.len())
}

/// Whether the import's write transaction is under way: on PostgreSQL another session holds a
/// transaction id (it has written rows not yet committed); on SQLite the log has grown by more
/// than 2 MiB since the import started (the page cache spilling the transaction's pages).
async fn writing_in_progress(url: &str, sqlite_wal_at_start: &u64) -> bool {
    if url.starts_with("postgres") {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        let writers: i64 = sqlx::query(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
             AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap()
        .get(0);
        writers > 0
    } else {
        wal_size(url) > sqlite_wal_at_start + 2 * 1024 * 1024
    }
}

fn import(target: &str, source: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_prompter"));
    command.args(["import", "--database-url", target, "--from", source]);
    command
}

async fn killed_while_writing_leaves_the_target_as_it_was(target: &dyn TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let source = legacy_source(dir.path()).await;
    let before = counts(target.url()).await;
    assert_eq!(before, [0, 0, 0]);

    let sqlite_wal_at_start = wal_size(target.url());
    let mut child = import(target.url(), &source)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Stderr is not a terminal, so the progress stages come as lines.
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = Vec::new();
    loop {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap() == 0 {
            panic!("the import ended before writing: {seen:?}");
        }
        let writing = line.starts_with("writing");
        seen.push(line);
        if writing {
            break;
        }
    }
    // Killed only once the write transaction has written something, well before 60,000
    // results are in: so the kill interrupts a transaction, not the steps around it.
    let start = std::time::Instant::now();
    while !writing_in_progress(target.url(), &sqlite_wal_at_start).await {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no write seen; stages: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(
        status.signal(),
        Some(9),
        "killed mid-write, not finished ({status}); stages: {seen:?}"
    );

    // Nothing of the source is there, and the target still works.
    assert_eq!(counts(target.url()).await, [0, 0, 0]);
    let again = import(target.url(), &source).output().unwrap();
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(
        counts(target.url()).await,
        [
            i64::from(TEMPLATES),
            i64::from(TEMPLATES),
            i64::from(RESULTS)
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_target_killed_while_writing() {
    killed_while_writing_leaves_the_target_as_it_was(&fresh_sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(prompter_pg),
    ignore = "PostgreSQL not configured: set PROMPTER_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/postgres"
)]
async fn postgres_target_killed_while_writing() {
    killed_while_writing_leaves_the_target_as_it_was(&fresh_postgres().await).await;
}
