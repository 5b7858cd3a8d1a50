//! `prompter import` (issue 13) end to end: a legacy database built from the seeds' DDL (SQLite
//! without the unique index, PostgreSQL with it, `text[]` countries and JSONB) holding a dozen
//! duplicate groups that only canonicalise equal, soft-deleted rows, versions and results on the
//! duplicates, stale hashes and malformed rows, is imported by the real binary into a fresh
//! target of each backend. The same assertions run on both.

mod common;

use std::collections::HashMap;
use std::process::Command;

use prompter_storage::Database;
use prompter_testkit::{fresh_postgres, fresh_sqlite, TestDb};
use serde_json::{json, Value};
use sqlx::Connection;

const ORG: &str = "7f0c7c4e-2b1a-4c39-9d55-000000000001";
const WS: &str = "7f0c7c4e-2b1a-4c39-9d55-0000000000aa";
const GROUPS: usize = 12;

fn uuid(kind: u8, i: usize, member: usize) -> String {
    format!("00000000-0000-4000-8{kind:03}-{i:06}{member:06}")
}

/// One way two legacy rows differ and still canonicalise equal, per group.
fn variation(group: usize, base: &mut Value) {
    let p = base["user_prompt_template"].as_str().unwrap().to_owned();
    match group {
        0 => base["user_prompt_template"] = json!(format!("  {}   ", p.replace(' ', "  "))),
        1 => base["system_instructions"] = json!("Be brief.\r\nCite sources.\r\n"),
        2 => base["country_set"] = json!(["DE", "CH"]),
        3 => base["country_set"] = json!(["ch", " de "]),
        4 => base["country_set"] = json!(["CH", "UK"]),
        5 => base["inference_params"] = json!({"top_p": 1.0, "temperature": 0.7}),
        6 => base["inference_params"] = json!({"temperature": 0.70000001, "top_p": 1.0}),
        7 => base["name"] = json!("Another name entirely"),
        8 => base["user_prompt_template"] = json!(format!("{p}\r\n")),
        9 => base["country_set"] = json!([" de", "ch"]),
        10 => base["retrieval_params"] = json!({"k": 5, "filter": "news"}),
        _ => base["inference_params"] = json!({"temperature": 0.69999999, "top_p": 1.0}),
    }
}

fn base(group: usize) -> Value {
    let countries = if group == 4 {
        json!(["CH", "GB"])
    } else {
        json!(["CH", "DE"])
    };
    json!({
        "name": format!("Group {group}"),
        "system_instructions": if group == 1 { "Be brief.\nCite sources." } else { "Be brief." },
        "user_prompt_template": format!("What is the best brand for topic {group} in {{{{country}}}}?"),
        "country_set": countries,
        "model_id": "gpt-4o",
        "inference_params": {"temperature": 0.7, "top_p": 1.0},
        "retrieval_params": if group == 10 { json!({"filter": "news", "k": 5}) } else { Value::Null },
    })
}

/// A template row: (id, body, created_at, deleted_at, config_hash, raw inference_params text).
struct Row {
    id: String,
    body: Value,
    created_at: String,
    deleted_at: Option<String>,
    inference_text: Option<String>,
}

fn fixture() -> (Vec<Row>, Vec<String>, Vec<String>) {
    let mut templates = Vec::new();
    let mut versions = Vec::new();
    let mut results = Vec::new();
    for g in 0..GROUPS {
        let mut members = vec![base(g), base(g)];
        variation(g, &mut members[1]);
        if g < 4 {
            members.push(base(g)); // a soft-deleted third copy
        }
        for (m, body) in members.into_iter().enumerate() {
            let id = uuid(1, g, m);
            templates.push(Row {
                id: id.clone(),
                body,
                created_at: format!("2025-0{}-1{} 10:00:0{}", 1 + m, g % 10, m),
                deleted_at: (m == 2).then(|| "2025-06-01 00:00:00".to_owned()),
                inference_text: None,
            });
            if m < 2 {
                // fp_A on both (merge), fp_B on the copy only (moves to the survivor).
                let (first, last) = if m == 0 {
                    ("2025-03-01", "2025-03-05")
                } else {
                    ("2025-02-01", "2025-04-01")
                };
                versions.push(format!(
                    "('{}', '{ORG}', '{WS}', '{id}', 'openai', 'fp_A', 'gpt-4o', NULL, '{first} 00:00:00', '{last} 00:00:00')",
                    uuid(2, g, m)
                ));
                if m == 1 {
                    versions.push(format!(
                        "('{}', '{ORG}', '{WS}', '{id}', 'openai', 'fp_B', 'gpt-4o', NULL, '2025-05-01 00:00:00', '2025-05-02 00:00:00')",
                        uuid(3, g, m)
                    ));
                }
                results.push(format!(
                    "('{}', '{ORG}', '{WS}', '{id}', '{}', 'fp_A', NULL, '{{\"model\": \"gpt-4o\"}}', '{{\"content\": \"Answer {g}.{m}\"}}', NULL, NULL, 'CH', false, '2025-05-0{} 12:00:00')",
                    uuid(4, g, m),
                    uuid(2, g, m),
                    1 + m
                ));
            }
        }
    }
    for s in 0..3 {
        let mut body = base(100 + s);
        body["name"] = json!(format!("Single {s}"));
        templates.push(Row {
            id: uuid(1, 100 + s, 0),
            body,
            created_at: "2025-01-01 09:00:00".into(),
            deleted_at: None,
            inference_text: None,
        });
    }
    // Malformed: JSON that does not parse, and a country that is no country.
    let mut bad = base(200);
    bad["name"] = json!("Broken JSON");
    templates.push(Row {
        id: uuid(1, 200, 0),
        body: bad,
        created_at: "2025-01-02 09:00:00".into(),
        deleted_at: None,
        inference_text: Some("{\"temperature\": 0.7".into()),
    });
    let mut bad = base(201);
    bad["country_set"] = json!(["CH", "Switzerland!"]);
    templates.push(Row {
        id: uuid(1, 201, 0),
        body: bad,
        created_at: "2025-01-02 09:00:00".into(),
        deleted_at: None,
        inference_text: None,
    });
    (templates, versions, results)
}

fn lit(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::String(s) => format!("'{}'", s.replace('\'', "''")),
        other => format!("'{}'", other.to_string().replace('\'', "''")),
    }
}

/// The seeds' DDL (000) for each backend, and the fixture's rows.
fn legacy_sql(postgres: bool) -> Vec<String> {
    let mut sql = if postgres {
        vec![
            "CREATE TABLE brands (id UUID PRIMARY KEY)".to_owned(),
            format!("INSERT INTO brands VALUES ('{WS}')"),
            "CREATE TABLE prompt_templates (id UUID PRIMARY KEY DEFAULT gen_random_uuid(), org_id UUID NOT NULL, workspace_id UUID NOT NULL, name TEXT NOT NULL, system_instructions TEXT, user_prompt_template TEXT NOT NULL, country_set TEXT[] NOT NULL, model_id TEXT NOT NULL, inference_params JSONB NOT NULL, tools_spec JSONB, response_format JSONB, grounding_profile_id UUID, grounding_snapshot_id TEXT, retrieval_params JSONB, config_hash TEXT NOT NULL, config_canonical_json JSONB NOT NULL, created_by UUID, created_at TIMESTAMPTZ DEFAULT NOW(), deleted_at TIMESTAMPTZ, CONSTRAINT fk_templates_workspace FOREIGN KEY (workspace_id) REFERENCES brands(id) ON DELETE RESTRICT)".to_owned(),
            "CREATE UNIQUE INDEX ux_templates_org_ws_confighash_active ON prompt_templates (org_id, workspace_id, config_hash) WHERE deleted_at IS NULL".to_owned(),
            "CREATE TABLE prompt_versions (id UUID PRIMARY KEY DEFAULT gen_random_uuid(), org_id UUID NOT NULL, workspace_id UUID NOT NULL, template_id UUID REFERENCES prompt_templates(id), provider TEXT NOT NULL, provider_version_key TEXT NOT NULL, model_id TEXT NOT NULL, fingerprint_captured_at TIMESTAMPTZ, first_seen_at TIMESTAMPTZ DEFAULT NOW(), last_seen_at TIMESTAMPTZ DEFAULT NOW())".to_owned(),
            "CREATE UNIQUE INDEX ux_versions_org_ws_tpl_providerkey ON prompt_versions (org_id, workspace_id, template_id, provider_version_key)".to_owned(),
            "CREATE TABLE prompt_results (id UUID PRIMARY KEY DEFAULT gen_random_uuid(), org_id UUID NOT NULL, workspace_id UUID NOT NULL, template_id UUID REFERENCES prompt_templates(id), version_id UUID REFERENCES prompt_versions(id), provider_version_key TEXT, system_fingerprint TEXT, request JSONB NOT NULL, response JSONB NOT NULL, analysis_config JSONB, rendered_prompt_hash TEXT, run_country TEXT, used_grounding BOOLEAN, created_at TIMESTAMPTZ DEFAULT NOW())".to_owned(),
        ]
    } else {
        // Without the unique index: a legacy SQLite whose duplicates were never caught.
        vec![
            "CREATE TABLE prompt_templates (id TEXT PRIMARY KEY, org_id TEXT NOT NULL DEFAULT 'default', workspace_id TEXT NOT NULL, name TEXT NOT NULL, system_instructions TEXT, user_prompt_template TEXT NOT NULL, country_set TEXT NOT NULL, model_id TEXT NOT NULL, inference_params TEXT NOT NULL, tools_spec TEXT, response_format TEXT, grounding_profile_id TEXT, grounding_snapshot_id TEXT, retrieval_params TEXT, config_hash TEXT NOT NULL, config_canonical_json TEXT NOT NULL, created_by TEXT, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, deleted_at TIMESTAMP)".to_owned(),
            "CREATE TABLE prompt_versions (id TEXT PRIMARY KEY, org_id TEXT NOT NULL DEFAULT 'default', workspace_id TEXT NOT NULL, template_id TEXT REFERENCES prompt_templates(id), provider TEXT NOT NULL, provider_version_key TEXT NOT NULL, model_id TEXT NOT NULL, fingerprint_captured_at TIMESTAMP, first_seen_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, last_seen_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)".to_owned(),
            "CREATE UNIQUE INDEX ux_versions_org_ws_tpl_providerkey ON prompt_versions (org_id, workspace_id, template_id, provider_version_key)".to_owned(),
            "CREATE TABLE prompt_results (id TEXT PRIMARY KEY, org_id TEXT NOT NULL DEFAULT 'default', workspace_id TEXT NOT NULL, template_id TEXT REFERENCES prompt_templates(id), version_id TEXT REFERENCES prompt_versions(id), provider_version_key TEXT, system_fingerprint TEXT, request TEXT NOT NULL, response TEXT NOT NULL, analysis_config TEXT, rendered_prompt_hash TEXT, run_country TEXT, used_grounding BOOLEAN, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)".to_owned(),
        ]
    };
    let (templates, versions, results) = fixture();
    for (n, t) in templates.iter().enumerate() {
        let b = &t.body;
        let countries = if postgres {
            let items: Vec<String> = b["country_set"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap().to_owned())
                .collect();
            format!(
                "ARRAY[{}]::text[]",
                items
                    .iter()
                    .map(|c| format!("'{c}'"))
                    .collect::<Vec<_>>()
                    .join(",")
            )
        } else {
            lit(&b["country_set"])
        };
        // Malformed JSON: as text in SQLite; PostgreSQL's JSONB cannot hold it, so there it is
        // a JSON string whose text is malformed JSON (a legacy writer that double-encoded).
        let inference = match (&t.inference_text, postgres) {
            (None, _) => lit(&b["inference_params"]),
            (Some(raw), false) => format!("'{raw}'"),
            (Some(raw), true) => format!("'{}'", serde_json::to_string(raw).unwrap()),
        };
        sql.push(format!(
            "INSERT INTO prompt_templates (id, org_id, workspace_id, name, system_instructions, user_prompt_template, country_set, model_id, inference_params, retrieval_params, config_hash, config_canonical_json, created_at, deleted_at) VALUES ('{}', '{ORG}', '{WS}', {}, {}, {}, {countries}, 'gpt-4o', {inference}, {}, 'stale-{n}', '{{}}', '{}', {})",
            t.id,
            lit(&b["name"]),
            lit(&b["system_instructions"]),
            lit(&b["user_prompt_template"]),
            lit(&b["retrieval_params"]),
            t.created_at,
            t.deleted_at.as_ref().map_or("NULL".to_owned(), |d| format!("'{d}'")),
        ));
    }
    for v in versions {
        sql.push(format!("INSERT INTO prompt_versions (id, org_id, workspace_id, template_id, provider, provider_version_key, model_id, fingerprint_captured_at, first_seen_at, last_seen_at) VALUES {v}"));
    }
    for r in results {
        sql.push(format!("INSERT INTO prompt_results (id, org_id, workspace_id, template_id, version_id, provider_version_key, system_fingerprint, request, response, analysis_config, rendered_prompt_hash, run_country, used_grounding, created_at) VALUES {r}"));
    }
    sql
}

/// Drops a throw-away PostgreSQL database when the test ends (on a thread of its own: Drop
/// cannot await).
struct DropDatabase {
    admin: String,
    name: String,
}

impl Drop for DropDatabase {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut conn)
                        .await;
                }
            });
        })
        .join();
    }
}

/// A legacy source of the given kind; its URL (and what must live as long as the test).
async fn legacy_source(postgres: bool) -> (String, Box<dyn std::any::Any>) {
    if postgres {
        let admin = std::env::var("PROMPTER_TEST_PG_URL").expect("PROMPTER_TEST_PG_URL");
        let name = format!("legacy_import_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .unwrap();
        let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
        let mut src = sqlx::PgConnection::connect(&url).await.unwrap();
        for s in legacy_sql(true) {
            sqlx::query(&s)
                .execute(&mut src)
                .await
                .unwrap_or_else(|e| panic!("{s}: {e}"));
        }
        drop(src);
        (url, Box::new(DropDatabase { admin, name }))
    } else {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("legacy.db");
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let mut src = sqlx::SqliteConnection::connect(&url).await.unwrap();
        for s in legacy_sql(false) {
            sqlx::query(&s)
                .execute(&mut src)
                .await
                .unwrap_or_else(|e| panic!("{s}: {e}"));
        }
        src.close().await.unwrap();
        (format!("sqlite://{}", path.display()), Box::new(dir))
    }
}

fn import(target: &str, source: &str, extra: &[&str]) -> (String, Value) {
    let report = tempfile::NamedTempFile::with_suffix(".json").unwrap();
    let mut args = vec![
        "import",
        "--database-url",
        target,
        "--from",
        source,
        "--report",
    ];
    let path = report.path().to_str().unwrap().to_owned();
    args.push(&path);
    args.extend_from_slice(extra);
    let out = Command::new(env!("CARGO_BIN_EXE_prompter"))
        .args(&args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(report.path()).unwrap()).unwrap();
    (stdout, report)
}

async fn counts(db: &dyn Database) -> (usize, usize, usize, usize) {
    let (mut all, mut active, mut versions, mut results) = (0, 0, 0, 0);
    let org = prompter_domain::OrgId::parse(ORG).unwrap();
    let mut after = None;
    loop {
        let page = db
            .list_templates(&prompter_storage::TemplateQuery {
                org_id: org.clone(),
                workspace_id: None,
                allowed_workspaces: None,
                include_deleted: true,
                tag: None,
                limit: 500,
                after,
            })
            .await
            .unwrap();
        for t in &page.items {
            all += 1;
            active += usize::from(t.deleted_at.is_none());
            versions += db.list_versions(t.id).await.unwrap().len();
            results += db
                .list_results(t.id, None, 500, None)
                .await
                .map(|p| p.items.len())
                .unwrap_or(0);
        }
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    (all, active, versions, results)
}

async fn execute(url: &str, sql: &str) {
    if url.starts_with("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query(sql).execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query(sql).execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
    }
}

fn dedupe(target: &str, extra: &[&str]) -> Value {
    let report = tempfile::NamedTempFile::with_suffix(".json").unwrap();
    let path = report.path().to_str().unwrap().to_owned();
    let mut args = vec![
        "dedupe",
        "--database-url",
        target,
        "--org",
        ORG,
        "--report",
        &path,
    ];
    args.extend_from_slice(extra);
    let out = Command::new(env!("CARGO_BIN_EXE_prompter"))
        .args(&args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&std::fs::read_to_string(report.path()).unwrap()).unwrap()
}

/// Rows whose stored hash predates the canonicaliser (simulated: a template's prompt changed
/// under its old hash) are merged by `dedupe --rehash`, and only then.
async fn dedupe_after_a_canonicaliser_change(target: &dyn TestDb) {
    let db = target.db();
    let (single0, single1): (uuid::Uuid, uuid::Uuid) = (
        uuid(1, 100, 0).parse().unwrap(),
        uuid(1, 101, 0).parse().unwrap(),
    );
    let prompt = db
        .get_template(single0)
        .await
        .unwrap()
        .unwrap()
        .user_prompt_template;
    execute(
        target.url(),
        &format!(
            "UPDATE prompt_templates SET user_prompt_template = '  {}  ' WHERE id = '{single1}'",
            prompt.replace('\'', "''")
        ),
    )
    .await;
    let report = dedupe(target.url(), &["--workspace", WS]);
    assert_eq!(
        report["groups"],
        json!([]),
        "the stored hashes differ: nothing to merge"
    );
    let report = dedupe(target.url(), &["--rehash", "--dry-run"]);
    assert_eq!(report["groups"].as_array().unwrap().len(), 1, "{report}");
    assert!(
        db.get_template(single1)
            .await
            .unwrap()
            .unwrap()
            .merged_into
            .is_none(),
        "a dry run writes nothing"
    );
    let report = dedupe(target.url(), &["--rehash", "--workspace", WS]);
    let group = &report["groups"][0];
    assert_eq!(group["survivor_id"], single0.to_string());
    assert_eq!(group["merged_ids"], json!([single1.to_string()]));
    let merged = db.get_template(single1).await.unwrap().unwrap();
    assert_eq!(merged.merged_into, Some(single0));
    assert!(merged.deleted_at.is_some());
    // Twice is once.
    assert_eq!(dedupe(target.url(), &["--rehash"])["groups"], json!([]));
}

fn export(db_url: &str, out: &std::path::Path) -> Vec<u8> {
    let out_arg = out.to_str().unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_prompter"))
        .args([
            "export",
            "--database-url",
            db_url,
            "--org",
            ORG,
            "--workspace",
            WS,
            "--with-results",
            "--out",
            out_arg,
        ])
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::read(out).unwrap()
}

async fn import_merges_duplicates(target: &dyn TestDb, empty: &dyn TestDb, postgres_source: bool) {
    let db = target.db();
    let (source, _guard) = legacy_source(postgres_source).await;

    // A dry run prints the plan and writes nothing.
    let (stdout, report) = import(target.url(), &source, &["--dry-run"]);
    assert!(stdout.contains(&format!("{GROUPS} group(s)")), "{stdout}");
    assert_eq!(report["dry_run"], true);
    assert_eq!(
        counts(db.as_ref()).await,
        (0, 0, 0, 0),
        "a dry run writes nothing"
    );

    let (_, report) = import(target.url(), &source, &[]);
    let groups = report["groups"].as_array().unwrap();
    assert_eq!(groups.len(), GROUPS);
    for g in groups {
        assert_eq!(g["merged_ids"].as_array().unwrap().len(), 1, "{g}");
        assert_eq!(
            (
                g["versions_repointed"].as_u64(),
                g["versions_merged"].as_u64(),
                g["results_repointed"].as_u64()
            ),
            (Some(1), Some(1), Some(1)),
            "{g}"
        );
    }
    // 12 groups × 2 + 4 soft-deleted copies + 3 singles; the two malformed rows are skipped.
    let expected = (GROUPS * 2 + 4 + 3, GROUPS + 3, GROUPS * 3, GROUPS * 2);
    assert_eq!(counts(db.as_ref()).await, expected);
    let skipped: Vec<&Value> = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "skipped")
        .collect();
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    assert!(
        skipped
            .iter()
            .any(|r| r["reason"].as_str().unwrap().contains("inference_params")),
        "{skipped:?}"
    );
    assert!(
        skipped
            .iter()
            .any(|r| r["reason"].as_str().unwrap().contains("country_set")),
        "{skipped:?}"
    );

    for g in 0..GROUPS {
        let survivor = uuid(1, g, 0).parse().unwrap();
        let copy: uuid::Uuid = uuid(1, g, 1).parse().unwrap();
        // The oldest survives, with its hash recomputed; the copy's id resolves to it.
        let s = db.get_template(survivor).await.unwrap().unwrap();
        assert!(
            s.deleted_at.is_none() && s.merged_into.is_none(),
            "group {g}"
        );
        assert_eq!(s.config_hash.len(), 64);
        let c = db.get_template(copy).await.unwrap().unwrap();
        assert_eq!(c.merged_into, Some(survivor), "group {g}");
        assert!(c.deleted_at.is_some());
        if g < 4 {
            let deleted = db
                .get_template(uuid(1, g, 2).parse().unwrap())
                .await
                .unwrap()
                .unwrap();
            assert!(
                deleted.deleted_at.is_some() && deleted.merged_into.is_none(),
                "imported deleted, grouped with nothing"
            );
        }
        // fp_A merged: the survivor's row spans both windows; fp_B moved to the survivor.
        let versions: HashMap<String, _> = db
            .list_versions(survivor)
            .await
            .unwrap()
            .into_iter()
            .map(|v| (v.provider_version_key.clone(), v))
            .collect();
        assert_eq!(versions.len(), 2, "group {g}");
        assert_eq!(versions["fp_A"].id.to_string(), uuid(2, g, 0));
        assert_eq!(
            versions["fp_A"].first_seen_at.format("%F").to_string(),
            "2025-02-01"
        );
        assert_eq!(
            versions["fp_A"].last_seen_at.format("%F").to_string(),
            "2025-04-01"
        );
        assert_eq!(versions["fp_B"].id.to_string(), uuid(3, g, 1));
        // The copy keeps its merged fp_A row (so its id resolves).
        let kept = db.list_versions(copy).await.unwrap();
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].id.to_string(), uuid(2, g, 1));
        // Both results now belong to the survivor and its fp_A row.
        let results = db
            .list_results(survivor, None, 50, None)
            .await
            .unwrap()
            .items;
        assert_eq!(results.len(), 2, "group {g}");
        assert!(results
            .iter()
            .all(|r| r.version_id == Some(versions["fp_A"].id)));
        let answer = db
            .get_result(uuid(4, g, 1).parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(answer.template_id, survivor);
        assert_eq!(
            answer.answer.as_deref(),
            Some(format!("Answer {g}.1").as_str())
        );
    }

    // A second import changes nothing.
    let (_, again) = import(target.url(), &source, &[]);
    assert_eq!(again["groups"], json!([]));
    assert_eq!(again["totals"]["templates_imported"], 0);
    assert_eq!(again["totals"]["results_imported"], 0);
    assert_eq!(counts(db.as_ref()).await, expected);

    dedupe_after_a_canonicaliser_change(target).await;

    // Export, import into an empty database, export again: the same bytes, the workspace's name
    // included.
    execute(
        target.url(),
        &format!("UPDATE workspaces SET name = 'AVEA Schweiz' WHERE id = '{WS}'"),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let first = export(target.url(), &dir.path().join("first.jsonl"));
    let lines = String::from_utf8(first.clone()).unwrap();
    assert_eq!(
        lines.lines().count(),
        1 + expected.0 + expected.2 + expected.3
    );
    assert!(lines.starts_with(r#"{"created_at":"#), "{lines}");
    assert!(lines
        .lines()
        .next()
        .unwrap()
        .contains(r#""name":"AVEA Schweiz""#));
    let first_path = dir.path().join("first.jsonl");
    let (_, report) = import(empty.url(), first_path.to_str().unwrap(), &[]);
    assert_eq!(report["totals"]["skipped"], 0, "{}", report["rows"]);
    // (dedupe merged one more template above)
    assert_eq!(
        counts(empty.db().as_ref()).await,
        (expected.0, expected.1 - 1, expected.2, expected.3)
    );
    let org = prompter_domain::OrgId::parse(ORG).unwrap();
    let ws = prompter_domain::WorkspaceId::parse(WS).unwrap();
    let named = empty.db().get_workspace(&org, &ws).await.unwrap().unwrap();
    assert_eq!(named.name, "AVEA Schweiz");
    // Merged templates come back naming their survivors.
    let merged: Vec<(uuid::Uuid, uuid::Uuid)> = lines
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|l| l["merged_into"].is_string())
        .map(|l| {
            let id = |k: &str| uuid::Uuid::parse_str(l[k].as_str().unwrap()).unwrap();
            (id("id"), id("merged_into"))
        })
        .collect();
    assert!(
        !merged.is_empty(),
        "the import and dedupe above merged templates"
    );
    for (id, survivor) in merged {
        let t = empty.db().get_template(id).await.unwrap().unwrap();
        assert_eq!(t.merged_into, Some(survivor));
        assert!(t.deleted_at.is_some());
    }
    let second = export(empty.url(), &dir.path().join("second.jsonl"));
    assert_eq!(String::from_utf8(second).unwrap(), lines);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_legacy_into_sqlite() {
    import_merges_duplicates(&fresh_sqlite().await, &fresh_sqlite().await, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(prompter_pg),
    ignore = "PostgreSQL not configured: set PROMPTER_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/postgres"
)]
async fn postgres_legacy_into_postgres() {
    import_merges_duplicates(&fresh_postgres().await, &fresh_postgres().await, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(prompter_pg),
    ignore = "PostgreSQL not configured: set PROMPTER_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/postgres"
)]
async fn sqlite_legacy_into_postgres() {
    import_merges_duplicates(&fresh_postgres().await, &fresh_sqlite().await, false).await;
}

/// A JSONL file of create requests, as the API takes them: twins (case of the country, spacing)
/// merge into the first line's template; a bad line is reported; a second import changes
/// nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jsonl_create_requests_into_sqlite() {
    let target = fresh_sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("templates.jsonl");
    let lines = [
        json!({"workspace_id": "avea", "name": "Vitamins", "model_id": "gpt-4o",
               "user_prompt_template": "Best vitamins in {{country}}?", "country_set": ["CH", "DE"]}),
        json!({"workspace_id": "avea", "name": "Vitamins again", "model_id": "gpt-4o",
               "user_prompt_template": "Best  vitamins in {{country}}? ", "country_set": ["de", "ch"]}),
        json!({"workspace_id": "avea", "name": "Coffee", "model_id": "gpt-4o",
               "user_prompt_template": "Best coffee?", "tags": ["cat:coffee"]}),
    ];
    let mut text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    text.push_str("{not json\n");
    std::fs::write(&file, text).unwrap();
    let (stdout, report) = import(target.url(), file.to_str().unwrap(), &[]);
    assert!(stdout.contains("1 group(s)"), "{stdout}");
    let group = &report["groups"][0];
    let survivor: uuid::Uuid = group["survivor_id"].as_str().unwrap().parse().unwrap();
    let merged: uuid::Uuid = group["merged_ids"][0].as_str().unwrap().parse().unwrap();
    let db = target.db();
    assert_eq!(
        db.get_template(survivor).await.unwrap().unwrap().name,
        "Vitamins"
    );
    assert_eq!(
        db.get_template(merged).await.unwrap().unwrap().merged_into,
        Some(survivor)
    );
    assert_eq!(report["totals"]["templates_imported"], 3);
    let bad: Vec<&Value> = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "skipped")
        .collect();
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0]["source_id"], "line 4");
    let (_, again) = import(target.url(), file.to_str().unwrap(), &[]);
    assert_eq!(again["totals"]["templates_imported"], 0);
    assert_eq!(again["totals"]["already_present"], 3);
}

/// An active template already in the target with the same configuration survives: the imported
/// twins are merged into it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_active_target_twin_survives() {
    let target = fresh_sqlite().await;
    let db = target.db();
    let existing = json!({"workspace_id": "avea", "name": "Already here", "model_id": "gpt-4o",
                          "user_prompt_template": "Best vitamins?", "country_set": ["CH"]});
    let spec = prompter_domain::parse_template_spec(&existing, prompter_domain::NameRule::Required)
        .unwrap();
    let survivor = match db
        .create_template(prompter_storage::NewTemplate::new(
            spec,
            "Already here".into(),
        ))
        .await
        .unwrap()
    {
        prompter_storage::CreateTemplate::Created(t) => t.id,
        other => panic!("{other:?}"),
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("twins.jsonl");
    let twin = json!({"workspace_id": "avea", "name": "Old copy", "model_id": "gpt-4o",
                      "user_prompt_template": "Best   vitamins? ", "country_set": ["ch"],
                      "created_at": "2020-01-01T00:00:00Z"});
    std::fs::write(&file, format!("{twin}\n")).unwrap();
    let (_, report) = import(target.url(), file.to_str().unwrap(), &[]);
    let group = &report["groups"][0];
    assert_eq!(
        group["survivor_id"],
        survivor.to_string(),
        "the target's twin, though younger"
    );
    assert_eq!(group["survivor_existed"], true);
    let merged: uuid::Uuid = group["merged_ids"][0].as_str().unwrap().parse().unwrap();
    assert_eq!(
        db.get_template(merged).await.unwrap().unwrap().merged_into,
        Some(survivor)
    );
    assert!(db
        .get_template(survivor)
        .await
        .unwrap()
        .unwrap()
        .deleted_at
        .is_none());
    // Through the API: the old id answers its (deleted) template naming the survivor.
    let server = common::Server::start(target.url());
    let old: Value = reqwest::get(server.url(&format!("/api/prompt-templates/{merged}")))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(old["id"], merged.to_string(), "{old}");
    assert_eq!(old["merged_into"], survivor.to_string(), "{old}");
    assert!(old["deleted_at"].is_string(), "{old}");
}

/// `prompter dedupe` without `--org` covers every organisation of the database: a template whose
/// prompt changed under its old hash (a canonicaliser change, simulated) in each of two
/// organisations is merged into its twin by one `--rehash` run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dedupe_without_org_covers_every_organisation() {
    let target = fresh_sqlite().await;
    let db = target.db();
    let mut pairs = Vec::new();
    for org in ["acme", "globex"] {
        let mut ids = Vec::new();
        for prompt in ["Best vitamins?", "Best vitamins today?"] {
            let body = json!({"org_id": org, "workspace_id": "avea", "name": prompt,
                              "model_id": "gpt-4o", "user_prompt_template": prompt});
            let spec =
                prompter_domain::parse_template_spec(&body, prompter_domain::NameRule::Required)
                    .unwrap();
            match db
                .create_template(prompter_storage::NewTemplate::new(spec, prompt.into()))
                .await
                .unwrap()
            {
                prompter_storage::CreateTemplate::Created(t) => ids.push(t.id),
                other => panic!("{other:?}"),
            }
        }
        // The second now says what the first says, under its old hash.
        execute(
            target.url(),
            &format!(
                "UPDATE prompt_templates SET user_prompt_template = '  Best vitamins?  ' \
                 WHERE id = '{}'",
                ids[1]
            ),
        )
        .await;
        pairs.push((ids[0], ids[1]));
    }
    let report = tempfile::NamedTempFile::with_suffix(".json").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_prompter"))
        .args([
            "dedupe",
            "--database-url",
            target.url(),
            "--rehash",
            "--report",
        ])
        .arg(report.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(report.path()).unwrap()).unwrap();
    assert_eq!(report["groups"].as_array().unwrap().len(), 2, "{report}");
    for (survivor, merged) in pairs {
        let t = db.get_template(merged).await.unwrap().unwrap();
        assert_eq!(t.merged_into, Some(survivor));
    }
}
