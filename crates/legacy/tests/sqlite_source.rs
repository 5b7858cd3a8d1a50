//! Reading legacy SQLite databases built from the seeds' DDL (and variants they allow).

mod common;

use common::*;
use prompter_legacy::{parse_source, read_source, BadRow, LegacyError, SourceSpec};
use serde_json::json;

const WS: &str = "6f1c2b9e-3c4d-4e5f-8a9b-0c1d2e3f4a5b";
const T1: &str = "0198a7c4-0001-7000-8000-000000000001";
const T2: &str = "0198a7c4-0001-7000-8000-000000000002";
const T3: &str = "0198a7c4-0001-7000-8000-000000000003";
const T4: &str = "0198a7c4-0001-7000-8000-000000000004";
const V1: &str = "0198a7c4-0002-7000-8000-000000000001";
const V2: &str = "0198a7c4-0002-7000-8000-000000000002";
const R1: &str = "0198a7c4-0003-7000-8000-000000000001";
const R2: &str = "0198a7c4-0003-7000-8000-000000000002";
const R3: &str = "0198a7c4-0003-7000-8000-000000000003";

/// Rows for seed 000's schema: good ones in every TEXT timestamp form, a soft-deleted one, and one
/// bad row of each kind.
fn seed_000_rows() -> String {
    format!(
        r#"
INSERT INTO prompt_templates (id, org_id, workspace_id, name, system_instructions, user_prompt_template,
  country_set, model_id, inference_params, tools_spec, response_format, grounding_profile_id,
  grounding_snapshot_id, retrieval_params, config_hash, config_canonical_json, created_by, created_at, deleted_at)
VALUES
 ('{T1}', 'default', '{WS}', 'Brand check', 'Be brief.', 'Which brands sell {{{{product}}}}?',
  '["US","GB"]', 'gpt-4o', '{{"temperature": 0.7, "max_tokens": 512}}', '[{{"type": "web_search"}}]',
  '{{"type": "json_object"}}', 'gp-1', 'snap-1', '{{"k": 5}}', 'hash-1', '{{}}', 'user-1',
  '2025-08-14 14:13:29', NULL),
 ('{T2}', 'default', '{WS}', 'Old check', NULL, 'Old?', '["DE"]', 'gpt-4o-mini', '{{}}', NULL, NULL, NULL,
  NULL, NULL, 'stale-hash', '{{}}', NULL, '2025-08-14 14:13:29.123456', '2025-08-15T10:00:00Z'),
 ('{T3}', 'default', '{WS}', 'Early', NULL, 'Early?', '[]', 'gpt-4o', '{{"seed": 1}}', NULL, NULL, NULL,
  NULL, NULL, 'hash-3', '{{}}', NULL, '2025-08-13T16:00:00+02:00', NULL),
 ('{T4}', 'default', '{WS}', 'Zulu', NULL, 'Z?', '["FR"]', 'gpt-4o', '{{}}', NULL, NULL, NULL,
  NULL, NULL, 'hash-4', '{{}}', NULL, '2025-08-14T14:13:29Z', NULL),
 ('tpl-7', 'default', '{WS}', 'Bad id', NULL, 'x', '[]', 'm', '{{}}', NULL, NULL, NULL, NULL, NULL, 'hash-5', '{{}}', NULL, '2025-08-14 00:00:00', NULL),
 ('0198a7c4-0001-7000-8000-0000000000b1', 'default', '{WS}', 'Bad countries', NULL, 'x', '["US",', 'm', '{{}}',
  NULL, NULL, NULL, NULL, NULL, 'hash-6', '{{}}', NULL, '2025-08-14 00:00:00', NULL),
 ('0198a7c4-0001-7000-8000-0000000000b2', 'default', '{WS}', 'Bad params', NULL, 'x', '[]', 'm', '{{temperature: 1}}',
  NULL, NULL, NULL, NULL, NULL, 'hash-7', '{{}}', NULL, '2025-08-14 00:00:00', NULL),
 ('0198a7c4-0001-7000-8000-0000000000b3', 'default', '{WS}', 'Bad time', NULL, 'x', '[]', 'm', '{{}}',
  NULL, NULL, NULL, NULL, NULL, 'hash-8', '{{}}', NULL, 'yesterday', NULL),
 ('0198a7c4-0001-7000-8000-0000000000b4', 'default', '{WS}', 'No time', NULL, 'x', '[]', 'm', '{{}}',
  NULL, NULL, NULL, NULL, NULL, 'hash-9', '{{}}', NULL, NULL, NULL);

INSERT INTO prompt_versions (id, org_id, workspace_id, template_id, provider, provider_version_key, model_id,
  fingerprint_captured_at, first_seen_at, last_seen_at)
VALUES
 ('{V1}', 'default', '{WS}', '{T1}', 'openai', 'fp_abc', 'gpt-4o', '2025-08-14 14:20:00', '2025-08-14 14:20:00',
  '2025-08-16 09:00:00.5'),
 ('{V2}', 'default', '{WS}', '{T1}', 'openai', 'fp_def', 'gpt-4o', NULL, '2025-08-14T14:19:00Z', '2025-08-14T14:19:00Z'),
 ('0198a7c4-0002-7000-8000-0000000000b1', 'default', '{WS}', NULL, 'openai', 'fp_x', 'gpt-4o', NULL,
  '2025-08-14 00:00:00', '2025-08-14 00:00:00');

INSERT INTO prompt_results (id, org_id, workspace_id, template_id, version_id, provider_version_key,
  system_fingerprint, request, response, analysis_config, rendered_prompt_hash, run_country, used_grounding, created_at)
VALUES
 ('{R1}', 'default', '{WS}', '{T1}', '{V1}', 'fp_abc', 'fp_abc', '{{"prompt": "Which brands sell shoes?"}}',
  '{{"content": "Acme and Globex."}}', '{{"scope": "brand", "entities_checked": ["Acme"]}}', 'rh-1', 'US', 1,
  '2025-08-14 14:21:00'),
 ('{R2}', 'default', '{WS}', '{T1}', NULL, NULL, NULL, '{{}}', '"plain text answer"', NULL, NULL, NULL, 0,
  '2025-08-14 14:20:59.999999'),
 ('{R3}', 'default', '{WS}', '{T3}', NULL, NULL, NULL, '{{}}', '[]', NULL, NULL, 'GB', NULL, '2025-08-14 14:22:00'),
 ('0198a7c4-0003-7000-8000-0000000000b1', 'default', '{WS}', '{T1}', '{V1}', NULL, NULL, '{{}}', 'not json', NULL,
  NULL, NULL, 1, '2025-08-14 14:23:00');
"#
    )
}

#[tokio::test]
async fn seed_000_schema_with_uuid_strings_text_json_and_text_timestamps() {
    let sql = format!("{SQLITE_000_TABLES}{SQLITE_000_INDEXES}{}", seed_000_rows());
    let (dir, url) = sqlite_db(&sql).await;
    let db_file = dir.path().join("legacy.db");
    let before = std::fs::read(&db_file).unwrap();

    let data = read_source(&SourceSpec::Sqlite(url)).await.unwrap();

    // Templates, oldest first, every TEXT timestamp form read as UTC.
    let ids: Vec<_> = data
        .templates
        .iter()
        .map(|t| t.source_id.as_str())
        .collect();
    assert_eq!(ids, [T3, T1, T4, T2]);
    let t1 = &data.templates[1];
    assert_eq!(t1.id, uuid(T1));
    assert_eq!(
        (t1.org_id.as_str(), t1.workspace_id.as_str()),
        ("default", WS)
    );
    assert_eq!(t1.stored_hash.as_deref(), Some("hash-1"));
    assert_eq!(t1.created_at, utc(2025, 8, 14, 14, 13, 29, 0));
    assert_eq!(t1.deleted_at, None);
    assert_eq!(
        t1.body,
        json!({
            "org_id": "default", "workspace_id": WS, "name": "Brand check",
            "system_instructions": "Be brief.", "user_prompt_template": "Which brands sell {{product}}?",
            "country_set": ["US", "GB"], "model_id": "gpt-4o",
            "inference_params": {"temperature": 0.7, "max_tokens": 512},
            "tools_spec": [{"type": "web_search"}], "response_format": {"type": "json_object"},
            "grounding_profile_id": "gp-1", "grounding_snapshot_id": "snap-1",
            "retrieval_params": {"k": 5}, "created_by": "user-1"
        })
    );
    assert_eq!(data.templates[0].created_at, utc(2025, 8, 13, 14, 0, 0, 0));
    assert_eq!(
        data.templates[2].created_at,
        utc(2025, 8, 14, 14, 13, 29, 0)
    );
    // Soft-deleted: kept, with its deletion time and its stale hash passed through.
    let t2 = &data.templates[3];
    assert_eq!(t2.created_at, utc(2025, 8, 14, 14, 13, 29, 123_456));
    assert_eq!(t2.deleted_at, Some(utc(2025, 8, 15, 10, 0, 0, 0)));
    assert_eq!(t2.stored_hash.as_deref(), Some("stale-hash"));
    assert_eq!(
        t2.body,
        json!({
            "org_id": "default", "workspace_id": WS, "name": "Old check", "user_prompt_template": "Old?",
            "country_set": ["DE"], "model_id": "gpt-4o-mini", "inference_params": {}
        })
    );

    // Versions by first_seen_at.
    let v: Vec<_> = data.versions.iter().map(|v| v.id).collect();
    assert_eq!(v, [uuid(V2), uuid(V1)]);
    let v1 = &data.versions[1];
    assert_eq!(v1.template_id, uuid(T1));
    assert_eq!(
        (
            v1.provider.as_str(),
            v1.provider_version_key.as_str(),
            v1.model_id.as_str()
        ),
        ("openai", "fp_abc", "gpt-4o")
    );
    assert_eq!(
        v1.fingerprint_captured_at,
        Some(utc(2025, 8, 14, 14, 20, 0, 0))
    );
    assert_eq!(v1.last_seen_at, utc(2025, 8, 16, 9, 0, 0, 500_000));
    assert_eq!(data.versions[0].fingerprint_captured_at, None);

    // Results by created_at; used_grounding from 1 / 0 / NULL.
    let r: Vec<_> = data.results.iter().map(|r| r.id).collect();
    assert_eq!(r, [uuid(R2), uuid(R1), uuid(R3)]);
    let r1 = &data.results[1];
    assert_eq!((r1.template_id, r1.version_id), (uuid(T1), Some(uuid(V1))));
    assert_eq!(
        tree(&r1.request),
        json!({"prompt": "Which brands sell shoes?"})
    );
    assert_eq!(tree(&r1.response), json!({"content": "Acme and Globex."}));
    assert_eq!(r1.answer.as_deref(), Some("Acme and Globex."));
    assert_eq!(
        r1.analysis_config,
        Some(json!({"scope": "brand", "entities_checked": ["Acme"]}))
    );
    assert_eq!(r1.rendered_prompt_hash.as_deref(), Some("rh-1"));
    assert_eq!(r1.run_country.as_deref(), Some("US"));
    assert_eq!(r1.system_fingerprint.as_deref(), Some("fp_abc"));
    assert_eq!(r1.used_grounding, Some(true));
    assert_eq!(r1.extra, None);
    let r2 = &data.results[0];
    assert_eq!(r2.created_at, utc(2025, 8, 14, 14, 20, 59, 999_999));
    assert_eq!((r2.version_id, r2.used_grounding), (None, Some(false)));
    assert_eq!(tree(&r2.response), json!("plain text answer"));
    assert_eq!(r2.answer.as_deref(), Some("plain text answer"));
    assert_eq!(data.results[2].used_grounding, None);
    assert_eq!(tree(&data.results[2].response), json!([]));

    // One bad row per unreadable row, naming the column.
    let bad: Vec<(&str, Option<&str>, &str)> = data
        .bad_rows
        .iter()
        .map(|b| (b.table, b.source_id.as_deref(), b.reason.as_str()))
        .collect();
    let expect_prefix = [
        (
            "prompt_templates",
            "0198a7c4-0001-7000-8000-0000000000b1",
            "country_set: malformed JSON",
        ),
        (
            "prompt_templates",
            "0198a7c4-0001-7000-8000-0000000000b2",
            "inference_params: malformed JSON",
        ),
        (
            "prompt_templates",
            "0198a7c4-0001-7000-8000-0000000000b3",
            "created_at: unparsable timestamp",
        ),
        (
            "prompt_templates",
            "0198a7c4-0001-7000-8000-0000000000b4",
            "created_at is missing",
        ),
        ("prompt_templates", "tpl-7", "id: \"tpl-7\" is not a UUID"),
        (
            "prompt_versions",
            "0198a7c4-0002-7000-8000-0000000000b1",
            "template_id is missing",
        ),
        (
            "prompt_results",
            "0198a7c4-0003-7000-8000-0000000000b1",
            "response: malformed JSON",
        ),
    ];
    assert_eq!(bad.len(), expect_prefix.len(), "{bad:#?}");
    for ((table, id, reason), (want_table, want_id, want_reason)) in bad.iter().zip(expect_prefix) {
        assert_eq!((*table, *id), (want_table, Some(want_id)));
        assert!(
            reason.starts_with(want_reason),
            "{reason:?} vs {want_reason:?}"
        );
    }
    assert!(data.bad_rows.iter().all(|b| b.line.is_none()));

    // Reading wrote nothing: same bytes, no journal left behind.
    assert_eq!(std::fs::read(&db_file).unwrap(), before);
    let files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(files, ["legacy.db"]);
}

#[tokio::test]
async fn seed_001_schema_with_and_without_the_unique_index() {
    let rows = format!(
        r#"
INSERT INTO prompt_templates (id, org_id, workspace_id, name, user_prompt_template, country_set, model_id,
  inference_params, config_hash, config_canonical_json, created_at)
VALUES ('{T1}', 'org-9', 'brand-1', 'A', 'a?', '["US"]', 'gemini-1.5-pro', '{{"temperature": 0}}', 'h1', '{{}}',
        '2025-08-14T20:13:29.25+06:00');
INSERT INTO prompt_versions (id, org_id, workspace_id, template_id, provider, provider_version_key, model_id,
  first_seen_at, last_seen_at)
VALUES ('{V1}', 'org-9', 'brand-1', '{T1}', 'google', 'gemini-1.5-pro-002', 'gemini-1.5-pro',
        '2025-08-14 14:20:00', '2025-08-15 08:00:00');
INSERT INTO prompt_results (id, org_id, workspace_id, template_id, version_id, request, response, created_at)
VALUES ('{R1}', 'org-9', 'brand-1', '{T1}', '{V1}', '{{"a": 1}}', '{{"b": [1, 2]}}', '2025-08-14 14:30:00');
"#
    );
    // Rows relying on the schema's datetime('now') defaults (only in the second database, whose
    // clock reading differs from the first's).
    let defaults = format!(
        r#"
INSERT INTO prompt_templates (id, org_id, workspace_id, name, user_prompt_template, country_set, model_id,
  inference_params, config_hash, config_canonical_json)
VALUES ('{T2}', 'org-9', 'brand-1', 'B', 'b?', '["US"]', 'gemini-1.5-pro', '{{}}', 'h2', '{{}}');
INSERT INTO prompt_versions (id, org_id, workspace_id, template_id, provider, provider_version_key, model_id)
VALUES ('{V2}', 'org-9', 'brand-1', '{T2}', 'google', 'gemini-1.5-pro-002', 'gemini-1.5-pro');
"#
    );
    let started = chrono::Utc::now() - chrono::Duration::seconds(1);
    let (_dir, url) = sqlite_db(&format!("{SQLITE_001_TABLES}{rows}")).await;
    let data = read_source(&SourceSpec::Sqlite(url)).await.unwrap();
    let (_dir, url) = sqlite_db(&format!(
        "{SQLITE_001_TABLES}{SQLITE_001_INDEXES}{rows}{defaults}"
    ))
    .await;
    let mut indexed = read_source(&SourceSpec::Sqlite(url)).await.unwrap();
    assert!(
        data.bad_rows.is_empty() && indexed.bad_rows.is_empty(),
        "{:?}",
        indexed.bad_rows
    );

    // datetime('now') defaults: "YYYY-MM-DD HH:MM:SS", UTC.
    let t2 = indexed.templates.pop().unwrap();
    assert_eq!(t2.id, uuid(T2));
    assert!(
        t2.created_at >= started - chrono::Duration::seconds(1)
            && t2.created_at <= chrono::Utc::now()
    );
    let v2 = indexed.versions.pop().unwrap();
    assert_eq!((v2.id, v2.template_id), (uuid(V2), uuid(T2)));
    assert_eq!(
        (v2.first_seen_at, v2.last_seen_at),
        (t2.created_at, t2.created_at)
    );
    // Otherwise the unique index makes no difference to what is read.
    assert_eq!(data, indexed);

    assert_eq!(data.templates.len(), 1);
    let t1 = &data.templates[0];
    assert_eq!(
        (t1.org_id.as_str(), t1.workspace_id.as_str()),
        ("org-9", "brand-1")
    );
    assert_eq!(t1.created_at, utc(2025, 8, 14, 14, 13, 29, 250_000));
    assert_eq!(t1.body["org_id"], json!("org-9"));
    assert_eq!(t1.body["inference_params"], json!({"temperature": 0}));
    let v1 = &data.versions[0];
    assert_eq!((v1.id, v1.template_id), (uuid(V1), uuid(T1)));
    assert_eq!(v1.last_seen_at, utc(2025, 8, 15, 8, 0, 0, 0));
    // The 001 results table has no rendered_prompt_hash / run_country / used_grounding columns.
    let r1 = &data.results[0];
    assert_eq!(
        (r1.id, r1.template_id, r1.version_id),
        (uuid(R1), uuid(T1), Some(uuid(V1)))
    );
    assert_eq!(tree(&r1.response), json!({"b": [1, 2]}));
    assert_eq!(
        (&r1.rendered_prompt_hash, &r1.run_country, r1.used_grounding),
        (&None, &None, None)
    );
}

/// Seed 000's schema with `INTEGER PRIMARY KEY` ids and integer references.
const SQLITE_INTEGER_IDS: &str = r#"
CREATE TABLE prompt_templates (
  id INTEGER PRIMARY KEY,
  org_id TEXT NOT NULL DEFAULT 'default',
  workspace_id TEXT NOT NULL,
  name TEXT NOT NULL,
  system_instructions TEXT,
  user_prompt_template TEXT NOT NULL,
  country_set TEXT NOT NULL,
  model_id TEXT NOT NULL,
  inference_params TEXT NOT NULL,
  tools_spec TEXT,
  response_format TEXT,
  grounding_profile_id TEXT,
  grounding_snapshot_id TEXT,
  retrieval_params TEXT,
  config_hash TEXT NOT NULL,
  config_canonical_json TEXT NOT NULL,
  created_by TEXT,
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  deleted_at TIMESTAMP
);
CREATE TABLE prompt_versions (
  id INTEGER PRIMARY KEY,
  org_id TEXT NOT NULL DEFAULT 'default',
  workspace_id TEXT NOT NULL,
  template_id INTEGER REFERENCES prompt_templates(id),
  provider TEXT NOT NULL,
  provider_version_key TEXT NOT NULL,
  model_id TEXT NOT NULL,
  fingerprint_captured_at TIMESTAMP,
  first_seen_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  last_seen_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE prompt_results (
  id INTEGER PRIMARY KEY,
  org_id TEXT NOT NULL DEFAULT 'default',
  workspace_id TEXT NOT NULL,
  template_id INTEGER REFERENCES prompt_templates(id),
  version_id INTEGER REFERENCES prompt_versions(id),
  provider_version_key TEXT,
  system_fingerprint TEXT,
  request TEXT NOT NULL,
  response TEXT NOT NULL,
  analysis_config TEXT,
  rendered_prompt_hash TEXT,
  run_country TEXT,
  used_grounding BOOLEAN,
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);
"#;

#[tokio::test]
async fn integer_ids_map_to_uuidv5_and_references_follow() {
    let rows = r#"
INSERT INTO prompt_templates (id, workspace_id, name, user_prompt_template, country_set, model_id,
  inference_params, config_hash, config_canonical_json, created_at)
VALUES (10, 'ws', 'Ten', 't?', '["US"]', 'gpt-4o', '{}', 'h10', '{}', '2025-08-14 14:13:29'),
       (9, 'ws', 'Nine', 'n?', '["US"]', 'gpt-4o', '{}', 'h9', '{}', '2025-08-14 14:13:29'),
       (3, 'ws', 'Three', 'x?', '["US"]', 'gpt-4o', '{}', 'h3', '{}', '2025-08-14 14:13:30'),
       (4, 'ws', CAST(X'436166E9' AS TEXT), 'x?', '["US"]', 'gpt-4o', '{}', 'h4', '{}', '2025-08-14 14:13:30');
INSERT INTO prompt_versions (id, workspace_id, template_id, provider, provider_version_key, model_id, first_seen_at)
VALUES (1, 'ws', 9, 'openai', 'fp_1', 'gpt-4o', '2025-08-14 14:14:00');
INSERT INTO prompt_results (id, workspace_id, template_id, version_id, request, response, used_grounding, created_at)
VALUES (1, 'ws', 9, 1, '{}', '{}', 1, '2025-08-14 14:15:00'),
       (2, 'ws', 10, NULL, '{}', '{}', 0, '2025-08-14 14:16:00'),
       (3, 'ws', 9.5, NULL, '{}', '{}', 0, '2025-08-14 14:17:00');
"#;
    let (_dir, url) = sqlite_db(&format!("{SQLITE_INTEGER_IDS}{rows}")).await;
    let data = read_source(&SourceSpec::Sqlite(url)).await.unwrap();

    // Same created_at: integer source ids in numeric order (9 before 10).
    let t: Vec<_> = data
        .templates
        .iter()
        .map(|t| (t.source_id.as_str(), t.id))
        .collect();
    assert_eq!(
        t,
        [
            ("9", int_id("prompt_templates", 9)),
            ("10", int_id("prompt_templates", 10)),
            ("3", int_id("prompt_templates", 3)),
        ]
    );
    let v = &data.versions[0];
    assert_eq!(v.source_id, "1");
    assert_eq!(v.id, int_id("prompt_versions", 1));
    assert_eq!(v.template_id, data.templates[0].id);
    // last_seen_at took its CURRENT_TIMESTAMP default.
    assert!(v.last_seen_at > v.first_seen_at);

    assert_eq!(data.results.len(), 2);
    let r1 = &data.results[0];
    assert_eq!(r1.id, int_id("prompt_results", 1));
    assert_eq!(
        (r1.template_id, r1.version_id),
        (data.templates[0].id, Some(v.id))
    );
    assert_eq!(data.results[1].template_id, data.templates[1].id);
    // Ids that are neither UUIDs nor integers are bad rows; so is text that is not UTF-8.
    assert_eq!(
        data.bad_rows,
        [
            // Text that is not UTF-8 (Latin-1 "Café" in the name).
            BadRow {
                table: "prompt_templates",
                source_id: Some("4".into()),
                line: None,
                reason: "row holds text that is not UTF-8".into(),
            },
            BadRow {
                table: "prompt_results",
                source_id: Some("3".into()),
                line: None,
                reason: "template_id: 9.5 is not a UUID".into(),
            }
        ]
    );
}

#[tokio::test]
async fn optional_columns_and_tables_may_be_missing() {
    // No org_id, no config_hash, unknown columns, a tags column, and no versions/results tables.
    let sql = format!(
        r#"
CREATE TABLE prompt_templates (
  id TEXT PRIMARY KEY,
  workspace_id TEXT NOT NULL,
  name TEXT NOT NULL,
  provider TEXT,
  user_prompt_template TEXT NOT NULL,
  country_set TEXT NOT NULL,
  model_id TEXT NOT NULL,
  inference_params TEXT NOT NULL,
  tags TEXT,
  legacy_owner TEXT,
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  deleted_at TIMESTAMP
);
INSERT INTO prompt_templates VALUES
  ('{T1}', 'ws', 'N', 'openai', 'p', '["US"]', 'gpt-4o', '{{"top_p": 1}}', '["seo","q3"]', 'bob',
   '2025-08-14 14:13:29', NULL),
  ('{T2}', 'ws', 'Gone', NULL, 'p', '["US"]', 'gpt-4o', '{{}}', NULL, NULL,
   '2025-08-14 14:13:30', '2025-08-14 15:00:00');
CREATE TABLE unrelated (x INTEGER);
"#
    );
    let (_dir, url) = sqlite_db(&sql).await;
    let data = read_source(&SourceSpec::Sqlite(url)).await.unwrap();
    assert!(data.versions.is_empty() && data.results.is_empty() && data.bad_rows.is_empty());
    let t = &data.templates[0];
    assert_eq!(
        (t.org_id.as_str(), t.stored_hash.as_ref()),
        ("default", None)
    );
    assert_eq!(
        t.body,
        json!({
            "org_id": "default", "workspace_id": "ws", "name": "N", "provider": "openai",
            "user_prompt_template": "p", "country_set": ["US"], "model_id": "gpt-4o",
            "inference_params": {"top_p": 1}, "tags": ["seo", "q3"]
        })
    );
    assert_eq!(
        data.templates[1].deleted_at,
        Some(utc(2025, 8, 14, 15, 0, 0, 0))
    );
}

#[tokio::test]
async fn a_source_that_cannot_be_read_is_an_error() {
    let (dir, url) = sqlite_db("CREATE TABLE something_else (x INTEGER);").await;
    let err = read_source(&SourceSpec::Sqlite(url)).await.unwrap_err();
    assert!(matches!(err, LegacyError::NoTemplatesTable), "{err}");

    // A mistyped path fails and is not created.
    let missing = dir.path().join("missing.db");
    let spec = parse_source(&format!("sqlite://{}", missing.display())).unwrap();
    let err = read_source(&spec).await.unwrap_err();
    assert!(matches!(err, LegacyError::Open { .. }), "{err}");
    assert!(!missing.exists());
}

/// A result's JSON text as a tree, to compare with `json!`.
fn tree(text: &str) -> serde_json::Value {
    serde_json::from_str(text).expect("compact JSON text")
}
