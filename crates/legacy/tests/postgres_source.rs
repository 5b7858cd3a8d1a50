//! Reading legacy PostgreSQL databases built from the seeds' DDL (and variants they allow).
//! Each test creates a throw-away database through `PROMPTER_TEST_PG_URL` and returns early, with
//! a note, when it is not set.

mod common;

use common::*;
use prompter_legacy::{read_source, LegacyError, SourceSpec};
use serde_json::json;

const ORG: &str = "0b5e3f1a-2c4d-4e6f-8a0b-1c2d3e4f5a6b";
const WS: &str = "6f1c2b9e-3c4d-4e5f-8a9b-0c1d2e3f4a5b";
const USER: &str = "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a";
const T1: &str = "0198a7c4-0001-7000-8000-000000000001";
const T2: &str = "0198a7c4-0001-7000-8000-000000000002";
const V1: &str = "0198a7c4-0002-7000-8000-000000000001";
const R1: &str = "0198a7c4-0003-7000-8000-000000000001";
const R2: &str = "0198a7c4-0003-7000-8000-000000000002";

#[tokio::test]
async fn seed_000_schema_native_uuid_text_array_jsonb_timestamptz() {
    let rows = format!(
        r#"
INSERT INTO brands (id) VALUES ('{WS}');
INSERT INTO prompt_templates (id, org_id, workspace_id, name, system_instructions, user_prompt_template,
  country_set, model_id, inference_params, tools_spec, response_format, grounding_profile_id,
  grounding_snapshot_id, retrieval_params, config_hash, config_canonical_json, created_by, created_at, deleted_at)
VALUES
 ('{T1}', '{ORG}', '{WS}', 'Brand check', NULL, 'Which brands?', ARRAY['US','GB'], 'gpt-4o',
  '{{"temperature": 0.70, "max_tokens": 512}}', '"[{{\"type\": \"web_search\"}}]"', NULL, '{USER}', 'snap-1',
  '{{"k": 5}}', 'hash-1', '{{}}', '{USER}', '2025-08-14 19:43:29.123456+05:30', NULL),
 ('{T2}', '{ORG}', '{WS}', 'Old', NULL, 'Old?', ARRAY[]::text[], 'gpt-4o', '{{}}', NULL, NULL, NULL, NULL, NULL,
  'stale', '{{}}', NULL, '2025-08-14 14:13:29Z', '2025-08-15 12:00:00+02'),
 ('0198a7c4-0001-7000-8000-0000000000b1', '{ORG}', '{WS}', 'Bad', NULL, 'x', ARRAY['US'], 'm',
  '"{{not json"', NULL, NULL, NULL, NULL, NULL, 'hash-b1', '{{}}', NULL, '2025-08-14 00:00:00Z', NULL),
 ('0198a7c4-0001-7000-8000-0000000000b2', '{ORG}', '{WS}', 'No time', NULL, 'x', ARRAY['US'], 'm',
  '{{}}', NULL, NULL, NULL, NULL, NULL, 'hash-b2', '{{}}', NULL, NULL, NULL);
INSERT INTO prompt_versions (id, org_id, workspace_id, template_id, provider, provider_version_key, model_id,
  fingerprint_captured_at, first_seen_at, last_seen_at)
VALUES ('{V1}', '{ORG}', '{WS}', '{T1}', 'openai', 'fp_abc', 'gpt-4o', '2025-08-14 14:20:00Z',
        '2025-08-14 14:20:00Z', '2025-08-16 09:00:00.5Z');
INSERT INTO prompt_results (id, org_id, workspace_id, template_id, version_id, provider_version_key,
  system_fingerprint, request, response, analysis_config, rendered_prompt_hash, run_country, used_grounding, created_at)
VALUES
 ('{R1}', '{ORG}', '{WS}', '{T1}', '{V1}', 'fp_abc', 'fp_abc', '{{"prompt": "hi"}}', '{{"content": "Acme"}}',
  '{{"scope": "brand"}}', 'rh-1', 'US', true, '2025-08-14 14:21:00Z'),
 ('{R2}', '{ORG}', '{WS}', '{T1}', NULL, NULL, NULL, '{{}}', '[1.50, 2]', NULL, NULL, NULL, false,
  '2025-08-14 14:20:00Z');
"#
    );
    let sql = format!("{PG_BRANDS}{PG_000_TABLES}{PG_000_INDEXES}{rows}");
    let Some(db) = PgDb::create(&sql).await else {
        return;
    };
    // A session time zone far from UTC must not shift anything.
    db.exec(&format!(
        "ALTER DATABASE {} SET timezone TO 'Asia/Kolkata'",
        db.name
    ))
    .await;
    let data = read_source(&SourceSpec::Postgres(db.url.clone()))
        .await
        .unwrap();

    let t: Vec<_> = data.templates.iter().map(|t| t.id).collect();
    assert_eq!(t, [uuid(T2), uuid(T1)]);
    let t1 = &data.templates[1];
    assert_eq!(t1.source_id, T1);
    assert_eq!((t1.org_id.as_str(), t1.workspace_id.as_str()), (ORG, WS));
    assert_eq!(t1.created_at, utc(2025, 8, 14, 14, 13, 29, 123_456));
    assert_eq!(t1.stored_hash.as_deref(), Some("hash-1"));
    // text[] → array; JSONB → JSON (numbers as written: the workspace's serde_json keeps
    // `0.70`, so the expectation is parsed too); a JSONB string holding JSON → parsed.
    let params: serde_json::Value =
        serde_json::from_str(r#"{"temperature": 0.70, "max_tokens": 512}"#).unwrap();
    assert_eq!(
        t1.body,
        json!({
            "org_id": ORG, "workspace_id": WS, "name": "Brand check", "user_prompt_template": "Which brands?",
            "country_set": ["US", "GB"], "model_id": "gpt-4o",
            "inference_params": params,
            "tools_spec": [{"type": "web_search"}], "grounding_profile_id": USER,
            "grounding_snapshot_id": "snap-1", "retrieval_params": {"k": 5}, "created_by": USER
        })
    );
    assert_eq!(
        t1.body["inference_params"]["temperature"].to_string(),
        "0.70"
    );
    let t2 = &data.templates[0];
    assert_eq!(t2.created_at, utc(2025, 8, 14, 14, 13, 29, 0));
    assert_eq!(t2.body["country_set"], json!([]));
    assert_eq!(t2.stored_hash.as_deref(), Some("stale"));
    assert_eq!(t2.deleted_at, Some(utc(2025, 8, 15, 10, 0, 0, 0)));

    let v1 = &data.versions[0];
    assert_eq!((v1.id, v1.template_id), (uuid(V1), uuid(T1)));
    assert_eq!((v1.org_id.as_str(), v1.workspace_id.as_str()), (ORG, WS));
    assert_eq!(
        v1.fingerprint_captured_at,
        Some(utc(2025, 8, 14, 14, 20, 0, 0))
    );
    assert_eq!(v1.last_seen_at, utc(2025, 8, 16, 9, 0, 0, 500_000));

    let r: Vec<_> = data.results.iter().map(|r| r.id).collect();
    assert_eq!(r, [uuid(R2), uuid(R1)]);
    let (r2, r1) = (&data.results[0], &data.results[1]);
    assert_eq!(
        (r1.version_id, r1.used_grounding),
        (Some(uuid(V1)), Some(true))
    );
    assert_eq!(tree(&r1.request), json!({"prompt": "hi"}));
    assert_eq!(r1.analysis_config, Some(json!({"scope": "brand"})));
    assert_eq!(
        (
            r1.run_country.as_deref(),
            r1.rendered_prompt_hash.as_deref()
        ),
        (Some("US"), Some("rh-1"))
    );
    assert_eq!(
        (
            r2.version_id,
            r2.used_grounding,
            r2.analysis_config.as_ref()
        ),
        (None, Some(false), None)
    );
    assert_eq!(r2.response, "[1.50,2]");

    let bad: Vec<_> = data
        .bad_rows
        .iter()
        .map(|b| (b.table, b.source_id.as_deref(), b.reason.as_str()))
        .collect();
    assert_eq!(bad.len(), 2, "{bad:#?}");
    assert_eq!(bad[0].1, Some("0198a7c4-0001-7000-8000-0000000000b1"));
    assert!(
        bad[0].2.starts_with("inference_params: malformed JSON"),
        "{}",
        bad[0].2
    );
    assert_eq!(
        bad[1],
        (
            "prompt_templates",
            Some("0198a7c4-0001-7000-8000-0000000000b2"),
            "created_at is missing"
        )
    );
}

/// A variant the seeds allow: UUID strings in TEXT ids, no org_id or config_hash, `country_set`
/// as JSONB (seed 002), JSON as TEXT and JSON, zone-less TIMESTAMP, 0/1 integers for booleans,
/// no prompt_versions table, no unique index, and an unknown column.
const PG_TEXT_VARIANT: &str = r#"
CREATE TABLE prompt_templates (
  id TEXT PRIMARY KEY,
  workspace_id TEXT NOT NULL,
  name TEXT NOT NULL,
  system_instructions TEXT,
  user_prompt_template TEXT NOT NULL,
  country_set JSONB NOT NULL,
  model_id TEXT NOT NULL,
  inference_params TEXT NOT NULL,
  tools_spec TEXT,
  response_format JSON,
  retrieval_params TEXT,
  created_by TEXT,
  created_at TIMESTAMP DEFAULT NOW(),
  deleted_at TIMESTAMP,
  legacy_notes TEXT
);
CREATE TABLE prompt_results (
  id TEXT PRIMARY KEY,
  workspace_id TEXT NOT NULL,
  template_id TEXT,
  request TEXT NOT NULL,
  response TEXT NOT NULL,
  used_grounding INTEGER,
  created_at TIMESTAMP DEFAULT NOW()
);
CREATE SCHEMA legacy_elsewhere;
CREATE TABLE legacy_elsewhere.prompt_versions (id TEXT, template_id TEXT);
INSERT INTO legacy_elsewhere.prompt_versions VALUES ('not-read', 'not-read');
"#;

#[tokio::test]
async fn text_ids_json_text_and_zoneless_timestamps() {
    let rows = format!(
        r#"
INSERT INTO prompt_templates VALUES
 ('{T1}', 'ws-1', 'A', 'Sys', 'a?', '["US", "DE"]', 'claude-3-5-sonnet', '{{"temperature": 1}}',
  '[]', '{{"type": "text"}}', NULL, 'ana', '2025-08-14 14:13:29.5', NULL, 'ignored'),
 ('{T2}', 'ws-1', 'B', NULL, 'b?', '["US"]', 'claude-3-5-sonnet', '{{"temperature": }}',
  NULL, NULL, NULL, NULL, '2025-08-14 14:13:30', NULL, NULL),
 ('0198a7c4-0001-7000-8000-0000000000b3', 'ws-1', 'C', NULL, 'c?', '[]', 'm', '{{}}',
  NULL, NULL, '{{"k": 3}}', NULL, '2025-08-14 14:13:31', '2025-08-14 15:00:00', NULL);
INSERT INTO prompt_results VALUES
 ('{R1}', 'ws-1', '{T1}', '{{"q": 1}}', '{{"a": "yes"}}', 1, '2025-08-14 14:30:00'),
 ('{R2}', 'ws-1', '{T1}', '{{"q": 2}}', '{{"a": "no"}}', 0, '2025-08-14 14:31:00.000001'),
 ('0198a7c4-0003-7000-8000-0000000000b1', 'ws-1', '{T1}', '{{}}', '{{}}', 7, '2025-08-14 14:32:00');
"#
    );
    let Some(db) = PgDb::create(&format!("{PG_TEXT_VARIANT}{rows}")).await else {
        return;
    };
    db.exec(&format!(
        "ALTER DATABASE {} SET timezone TO 'America/New_York'",
        db.name
    ))
    .await;
    let data = read_source(&SourceSpec::Postgres(db.url.clone()))
        .await
        .unwrap();

    assert_eq!(data.templates.len(), 2);
    let t1 = &data.templates[0];
    assert_eq!(t1.id, uuid(T1));
    assert_eq!(
        (t1.org_id.as_str(), t1.stored_hash.as_ref()),
        ("default", None)
    );
    // TIMESTAMP without zone is UTC, whatever the session's zone.
    assert_eq!(t1.created_at, utc(2025, 8, 14, 14, 13, 29, 500_000));
    assert_eq!(
        t1.body,
        json!({
            "org_id": "default", "workspace_id": "ws-1", "name": "A", "system_instructions": "Sys",
            "user_prompt_template": "a?", "country_set": ["US", "DE"], "model_id": "claude-3-5-sonnet",
            "inference_params": {"temperature": 1}, "tools_spec": [], "response_format": {"type": "text"},
            "created_by": "ana"
        })
    );
    let t3 = &data.templates[1];
    assert_eq!(t3.body["retrieval_params"], json!({"k": 3}));
    assert_eq!(t3.deleted_at, Some(utc(2025, 8, 14, 15, 0, 0, 0)));

    // Versions live in another schema only: the current schema has none.
    assert!(data.versions.is_empty());
    let r: Vec<_> = data
        .results
        .iter()
        .map(|r| (r.id, r.template_id, r.used_grounding))
        .collect();
    assert_eq!(
        r,
        [
            (uuid(R1), uuid(T1), Some(true)),
            (uuid(R2), uuid(T1), Some(false))
        ]
    );
    assert_eq!(data.results[1].created_at, utc(2025, 8, 14, 14, 31, 0, 1));
    assert_eq!(tree(&data.results[1].response), json!({"a": "no"}));
    assert_eq!(data.results[0].org_id, "default");

    assert_eq!(data.bad_rows.len(), 2, "{:?}", data.bad_rows);
    assert_eq!(data.bad_rows[0].source_id.as_deref(), Some(T2));
    assert!(data.bad_rows[0]
        .reason
        .starts_with("inference_params: malformed JSON"));
    assert_eq!(data.bad_rows[1].table, "prompt_results");
    assert!(data.bad_rows[1].reason.starts_with("used_grounding:"));
}

#[tokio::test]
async fn integer_ids_map_to_uuidv5_and_references_follow() {
    let sql = r#"
CREATE TABLE prompt_templates (
  id SERIAL PRIMARY KEY, org_id UUID NOT NULL, workspace_id UUID NOT NULL, name TEXT NOT NULL,
  user_prompt_template TEXT NOT NULL, country_set TEXT[] NOT NULL, model_id TEXT NOT NULL,
  inference_params JSONB NOT NULL, config_hash TEXT NOT NULL, created_at TIMESTAMPTZ DEFAULT NOW(),
  deleted_at TIMESTAMPTZ
);
CREATE TABLE prompt_versions (
  id BIGSERIAL PRIMARY KEY, org_id UUID NOT NULL, workspace_id UUID NOT NULL,
  template_id INTEGER REFERENCES prompt_templates(id), provider TEXT NOT NULL,
  provider_version_key TEXT NOT NULL, model_id TEXT NOT NULL, fingerprint_captured_at TIMESTAMPTZ,
  first_seen_at TIMESTAMPTZ DEFAULT NOW(), last_seen_at TIMESTAMPTZ DEFAULT NOW()
);
CREATE TABLE prompt_results (
  id SERIAL PRIMARY KEY, org_id UUID NOT NULL, workspace_id UUID NOT NULL,
  template_id INTEGER REFERENCES prompt_templates(id), version_id BIGINT REFERENCES prompt_versions(id),
  request JSONB NOT NULL, response JSONB NOT NULL, used_grounding BOOLEAN, created_at TIMESTAMPTZ DEFAULT NOW()
);
INSERT INTO prompt_templates (org_id, workspace_id, name, user_prompt_template, country_set, model_id,
  inference_params, config_hash, created_at)
SELECT '0b5e3f1a-2c4d-4e6f-8a0b-1c2d3e4f5a6b', '6f1c2b9e-3c4d-4e5f-8a9b-0c1d2e3f4a5b', 'T' || i, 'p',
  ARRAY['US'], 'gpt-4o', '{}', 'h' || i, '2025-08-14 14:00:00Z'
FROM generate_series(1, 10) AS i;
INSERT INTO prompt_versions (org_id, workspace_id, template_id, provider, provider_version_key, model_id,
  first_seen_at, last_seen_at)
VALUES ('0b5e3f1a-2c4d-4e6f-8a0b-1c2d3e4f5a6b', '6f1c2b9e-3c4d-4e5f-8a9b-0c1d2e3f4a5b', 10, 'openai', 'fp_1',
        'gpt-4o', '2025-08-14 14:05:00Z', '2025-08-14 14:06:00Z');
INSERT INTO prompt_results (org_id, workspace_id, template_id, version_id, request, response, created_at)
VALUES ('0b5e3f1a-2c4d-4e6f-8a0b-1c2d3e4f5a6b', '6f1c2b9e-3c4d-4e5f-8a9b-0c1d2e3f4a5b', 10, 1, '{}', '{}',
        '2025-08-14 14:07:00Z');
"#;
    let Some(db) = PgDb::create(sql).await else {
        return;
    };
    let data = read_source(&SourceSpec::Postgres(db.url.clone()))
        .await
        .unwrap();
    assert!(data.bad_rows.is_empty(), "{:?}", data.bad_rows);

    // All created at once: integer source ids in numeric order.
    let t: Vec<_> = data.templates.iter().map(|t| t.source_id.clone()).collect();
    assert_eq!(t, (1..=10).map(|i| i.to_string()).collect::<Vec<_>>());
    assert_eq!(data.templates[9].id, int_id("prompt_templates", 10));
    assert_eq!(data.templates[9].body["name"], json!("T10"));

    let v = &data.versions[0];
    assert_eq!(
        (v.source_id.as_str(), v.id),
        ("1", int_id("prompt_versions", 1))
    );
    assert_eq!(v.template_id, data.templates[9].id);
    let r = &data.results[0];
    assert_eq!(r.id, int_id("prompt_results", 1));
    assert_eq!(
        (r.template_id, r.version_id),
        (data.templates[9].id, Some(v.id))
    );
    assert_eq!(r.used_grounding, None);
}

#[tokio::test]
async fn a_source_without_templates_or_unreachable_is_an_error() {
    let Some(db) = PgDb::create("CREATE TABLE prompt_results (id UUID PRIMARY KEY);").await else {
        return;
    };
    let err = read_source(&SourceSpec::Postgres(db.url.clone()))
        .await
        .unwrap_err();
    assert!(matches!(err, LegacyError::NoTemplatesTable), "{err}");

    // Only versions/results missing is fine.
    db.exec(&format!(
        "DROP TABLE prompt_results; {PG_BRANDS} {PG_000_TABLES}"
    ))
    .await;
    db.exec("DROP TABLE prompt_results; DROP TABLE prompt_versions;")
        .await;
    let data = read_source(&SourceSpec::Postgres(db.url.clone()))
        .await
        .unwrap();
    assert_eq!(data, Default::default());

    let missing = db.url.replace(&db.name, &format!("{}_missing", db.name));
    let err = read_source(&SourceSpec::Postgres(missing))
        .await
        .unwrap_err();
    assert!(matches!(err, LegacyError::Connect(_)), "{err}");
}

/// A result's JSON text as a tree, to compare with `json!`.
fn tree(text: &str) -> serde_json::Value {
    serde_json::from_str(text).expect("compact JSON text")
}
