//! Legacy databases built from the seeds' own DDL, on SQLite (a temporary file) and PostgreSQL (a
//! throw-away database created through `PROMPTER_TEST_PG_URL`, dropped when the test ends, even
//! when it fails).
#![allow(dead_code)] // each test file uses a different part

use chrono::{DateTime, TimeZone, Utc};
use sqlx::{Connection, PgConnection, SqliteConnection};
use uuid::Uuid;

use prompter_legacy::LEGACY_NAMESPACE;

/// Seed 000 ("SQLite Schema (Development) - FIXED"), tables only, verbatim.
pub const SQLITE_000_TABLES: &str = r#"
DROP TABLE IF EXISTS prompt_results;
DROP TABLE IF EXISTS prompt_runs;
DROP TABLE IF EXISTS prompt_versions;
DROP TABLE IF EXISTS prompt_templates;

CREATE TABLE prompt_templates (
  id TEXT PRIMARY KEY,  -- UUID string for parity with Postgres
  org_id TEXT NOT NULL DEFAULT 'default',
  workspace_id TEXT NOT NULL,  -- References brands.id (UUID string)
  name TEXT NOT NULL,
  system_instructions TEXT,
  user_prompt_template TEXT NOT NULL,
  country_set TEXT NOT NULL,  -- JSON array as text
  model_id TEXT NOT NULL,
  inference_params TEXT NOT NULL,  -- JSON as text
  tools_spec TEXT,  -- JSON as text
  response_format TEXT,  -- JSON as text
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
  id TEXT PRIMARY KEY,  -- UUID string
  org_id TEXT NOT NULL DEFAULT 'default',
  workspace_id TEXT NOT NULL,
  template_id TEXT REFERENCES prompt_templates(id),
  provider TEXT NOT NULL,
  provider_version_key TEXT NOT NULL,
  model_id TEXT NOT NULL,
  fingerprint_captured_at TIMESTAMP,
  first_seen_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  last_seen_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE prompt_results (
  id TEXT PRIMARY KEY,  -- UUID string
  org_id TEXT NOT NULL DEFAULT 'default',
  workspace_id TEXT NOT NULL,
  template_id TEXT REFERENCES prompt_templates(id),
  version_id TEXT REFERENCES prompt_versions(id),
  provider_version_key TEXT,
  system_fingerprint TEXT,  -- Raw OpenAI value
  request TEXT NOT NULL,  -- Full request JSON
  response TEXT NOT NULL,  -- Full response JSON
  analysis_config TEXT,  -- {scope, alias_snapshot_id, entities_checked, timestamp}
  rendered_prompt_hash TEXT,  -- Hash of the RENDERED prompt with runtime vars
  run_country TEXT,  -- The specific country for this execution
  used_grounding BOOLEAN,  -- Whether grounding was actually used
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);
"#;

/// Seed 000's SQLite indexes, verbatim.
pub const SQLITE_000_INDEXES: &str = r#"
CREATE UNIQUE INDEX ux_templates_org_ws_confighash_active
ON prompt_templates (org_id, workspace_id, config_hash)
WHERE deleted_at IS NULL;

CREATE UNIQUE INDEX ux_versions_org_ws_tpl_providerkey
ON prompt_versions (org_id, workspace_id, template_id, provider_version_key);

CREATE INDEX ix_results_tpl_time ON prompt_results (template_id, created_at DESC);
CREATE INDEX ix_results_workspace ON prompt_results (workspace_id, created_at DESC);
"#;

/// Seed 001 ("db/sqlite_prompter.sql": TEXT timestamps), tables only, verbatim.
pub const SQLITE_001_TABLES: &str = r#"
DROP TABLE IF EXISTS prompt_results;
DROP TABLE IF EXISTS prompt_versions;
DROP TABLE IF EXISTS prompt_templates;

CREATE TABLE prompt_templates (
  id TEXT PRIMARY KEY,                -- UUID string
  org_id TEXT NOT NULL,
  workspace_id TEXT NOT NULL,         -- brand/workspace id
  name TEXT NOT NULL,

  system_instructions TEXT,
  user_prompt_template TEXT NOT NULL,
  country_set TEXT NOT NULL,          -- JSON string (array)
  model_id TEXT NOT NULL,

  inference_params TEXT NOT NULL,     -- JSON string
  tools_spec TEXT,                    -- JSON string (array)
  response_format TEXT,               -- JSON string (object)

  grounding_profile_id TEXT,
  grounding_snapshot_id TEXT,
  retrieval_params TEXT,              -- JSON string

  config_hash TEXT NOT NULL,
  config_canonical_json TEXT NOT NULL,-- JSON string

  created_by TEXT,
  created_at TEXT NOT NULL DEFAULT (datetime('now')),
  deleted_at TEXT
);

CREATE TABLE prompt_versions (
  id TEXT PRIMARY KEY,                -- UUID string
  org_id TEXT NOT NULL,
  workspace_id TEXT NOT NULL,
  template_id TEXT NOT NULL,          -- FK to prompt_templates(id)

  provider TEXT NOT NULL,             -- openai|google|anthropic|azure-openai
  provider_version_key TEXT NOT NULL, -- fp_* | gemini-* | model id
  model_id TEXT NOT NULL,

  fingerprint_captured_at TEXT,
  first_seen_at TEXT NOT NULL DEFAULT (datetime('now')),
  last_seen_at TEXT NOT NULL DEFAULT (datetime('now')),

  FOREIGN KEY (template_id) REFERENCES prompt_templates(id),
  UNIQUE (org_id, workspace_id, template_id, provider_version_key)
);

CREATE TABLE prompt_results (
  id TEXT PRIMARY KEY,                -- UUID string
  org_id TEXT NOT NULL,
  workspace_id TEXT NOT NULL,
  template_id TEXT NOT NULL,          -- FK to prompt_templates(id)
  version_id TEXT,                    -- FK to prompt_versions(id)

  provider_version_key TEXT,
  system_fingerprint TEXT,

  request TEXT NOT NULL,              -- JSON string: full request snapshot
  response TEXT NOT NULL,             -- JSON string: compact raw-ish response
  analysis_config TEXT,               -- JSON string

  created_at TEXT NOT NULL DEFAULT (datetime('now')),
  FOREIGN KEY (template_id) REFERENCES prompt_templates(id),
  FOREIGN KEY (version_id) REFERENCES prompt_versions(id)
);
"#;

/// Seed 001's SQLite indexes, verbatim.
pub const SQLITE_001_INDEXES: &str = r#"
CREATE UNIQUE INDEX IF NOT EXISTS ux_tpl_org_ws_confighash_active
  ON prompt_templates (org_id, workspace_id, config_hash)
  WHERE deleted_at IS NULL;

CREATE INDEX IF NOT EXISTS ix_results_tpl_time
  ON prompt_results (template_id, created_at DESC);
"#;

/// The `brands` table seed 000's PostgreSQL schema references (it belongs to the larger app).
pub const PG_BRANDS: &str = "CREATE TABLE brands (id UUID PRIMARY KEY);";

/// Seed 000 ("PostgreSQL Schema (Production) - ENHANCED"), tables only, verbatim.
pub const PG_000_TABLES: &str = r#"
DROP TABLE IF EXISTS prompt_results CASCADE;
DROP TABLE IF EXISTS prompt_runs CASCADE;
DROP TABLE IF EXISTS prompt_versions CASCADE;
DROP TABLE IF EXISTS prompt_templates CASCADE;

CREATE TABLE prompt_templates (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id UUID NOT NULL,
  workspace_id UUID NOT NULL,  -- FK to brands.id
  name TEXT NOT NULL,
  system_instructions TEXT,
  user_prompt_template TEXT NOT NULL,
  country_set TEXT[] NOT NULL,
  model_id TEXT NOT NULL,
  inference_params JSONB NOT NULL,
  tools_spec JSONB,
  response_format JSONB,
  grounding_profile_id UUID,
  grounding_snapshot_id TEXT,
  retrieval_params JSONB,
  config_hash TEXT NOT NULL,
  config_canonical_json JSONB NOT NULL,
  created_by UUID,
  created_at TIMESTAMPTZ DEFAULT NOW(),
  deleted_at TIMESTAMPTZ,
  CONSTRAINT fk_templates_workspace 
    FOREIGN KEY (workspace_id) 
    REFERENCES brands(id) 
    ON DELETE RESTRICT  -- Prevent accidental cascade
);

CREATE TABLE prompt_versions (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id UUID NOT NULL,
  workspace_id UUID NOT NULL,
  template_id UUID REFERENCES prompt_templates(id),
  provider TEXT NOT NULL,
  provider_version_key TEXT NOT NULL,
  model_id TEXT NOT NULL,
  fingerprint_captured_at TIMESTAMPTZ,
  first_seen_at TIMESTAMPTZ DEFAULT NOW(),
  last_seen_at TIMESTAMPTZ DEFAULT NOW()
);

CREATE TABLE prompt_results (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id UUID NOT NULL,
  workspace_id UUID NOT NULL,
  template_id UUID REFERENCES prompt_templates(id),
  version_id UUID REFERENCES prompt_versions(id),
  provider_version_key TEXT,
  system_fingerprint TEXT,
  request JSONB NOT NULL,  -- Full request
  response JSONB NOT NULL,  -- Full response
  analysis_config JSONB,  -- {scope, alias_snapshot_id, entities_checked, timestamp}
  rendered_prompt_hash TEXT,  -- Hash of the RENDERED prompt
  run_country TEXT,  -- Specific country for this execution
  used_grounding BOOLEAN,  -- Whether grounding was used
  created_at TIMESTAMPTZ DEFAULT NOW()
);
"#;

/// Seed 000's PostgreSQL indexes, verbatim.
pub const PG_000_INDEXES: &str = r#"
CREATE UNIQUE INDEX ux_templates_org_ws_confighash_active
ON prompt_templates (org_id, workspace_id, config_hash)
WHERE deleted_at IS NULL;

CREATE UNIQUE INDEX ux_versions_org_ws_tpl_providerkey
ON prompt_versions (org_id, workspace_id, template_id, provider_version_key);

CREATE INDEX ix_results_tpl_time ON prompt_results (template_id, created_at DESC);
CREATE INDEX ix_results_workspace ON prompt_results (workspace_id, created_at DESC);
"#;

/// The id an integer legacy id maps to (the documented formula, spelled out independently).
pub fn int_id(table: &str, int: i64) -> Uuid {
    Uuid::new_v5(&LEGACY_NAMESPACE, format!("{table}:{int}").as_bytes())
}

pub fn uuid(s: &str) -> Uuid {
    Uuid::parse_str(s).unwrap()
}

pub fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, micros: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap() + chrono::Duration::microseconds(micros)
}

/// A SQLite database file built by `sql` (any number of statements); the URL to read it by.
pub async fn sqlite_db(sql: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("legacy.db").display());
    let mut conn = SqliteConnection::connect(&format!("{url}?mode=rwc"))
        .await
        .unwrap();
    // As the legacy service's SQLite had it (sqlx turns them on): legacy rows may dangle.
    sqlx::raw_sql("PRAGMA foreign_keys = OFF")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
    conn.close().await.unwrap();
    (dir, url)
}

/// A throw-away PostgreSQL database, dropped on drop.
pub struct PgDb {
    admin_url: String,
    pub name: String,
    pub url: String,
}

impl PgDb {
    /// `None` (with a note) when `PROMPTER_TEST_PG_URL` is not set.
    pub async fn create(sql: &str) -> Option<PgDb> {
        let Ok(admin_url) = std::env::var("PROMPTER_TEST_PG_URL") else {
            eprintln!("PROMPTER_TEST_PG_URL is not set: skipping this PostgreSQL test");
            return None;
        };
        let name = format!("legacy_{}", Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&admin_url).await.unwrap();
        sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
        admin.close().await.unwrap();
        let db = PgDb {
            url: with_database(&admin_url, &name),
            admin_url,
            name,
        };
        db.exec(sql).await;
        Some(db)
    }

    pub async fn exec(&self, sql: &str) {
        let mut conn = PgConnection::connect(&self.url).await.unwrap();
        sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs inside the test's runtime, which cannot be blocked on: use a fresh one.
        let dropped = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async {
                    let mut admin = PgConnection::connect(&admin_url).await?;
                    sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut admin)
                        .await?;
                    admin.close().await
                })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop the test database {}", self.name);
        }
    }
}

/// The admin URL with its database replaced by `name` (query string kept).
fn with_database(admin_url: &str, name: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (admin_url, String::new()),
    };
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[after_scheme..]
        .find('/')
        .map_or(base.len(), |i| after_scheme + i);
    format!("{}/{name}{query}", &base[..host_end])
}
