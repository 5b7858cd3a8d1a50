//! Reads a legacy Prompter database (the "source") and normalises its rows into typed records.
//!
//! Legacy Prompter deployments (the Python service the seeds describe) kept templates, provider
//! versions and run results in SQLite (dev) or PostgreSQL (prod), with schemas that drifted: UUID
//! strings, native `uuid` or integer ids; JSON as TEXT or JSONB; `country_set` as JSON text, JSONB
//! or `text[]`; timestamps with or without a zone, or as TEXT; optional columns (`org_id`,
//! `config_hash`, …) that some databases never had. This crate reads all of them and hands back
//! plain records, so that whatever imports them deals with one shape only.
//!
//! Two rules shape everything here:
//! * **Read-only.** SQLite is opened read-only and PostgreSQL reads inside a `READ ONLY`
//!   transaction: a migration tool must never be able to damage the database it migrates from.
//! * **A bad row never aborts reading.** Each unreadable row (bad id, malformed JSON, unparsable
//!   timestamp, …) becomes one [`BadRow`] naming the table, the row and the column, and the other
//!   rows are still read; only "cannot read the source at all" is a [`LegacyError`].
//!
//! Both SQL backends turn every row into a JSON object keyed by column name (typed by the
//! database itself), and one normaliser (module `normalise`) turns such an object into a record,
//! so the two backends cannot disagree on what a row means. The reader validates readability, not content:
//! whether a template body is an acceptable create request is left to Prompter's own validator,
//! so that there is one rule set, not two.

mod jsonl;
mod normalise;
mod postgres;
mod sqlite;

use std::cmp::Ordering;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

/// The namespace of the UUIDv5 ids given to rows whose legacy id is an integer (and to JSONL
/// create requests, which carry no id). Fixed forever: importing the same source twice must yield
/// the same ids, so that a re-run recognises what it already imported.
pub const LEGACY_NAMESPACE: Uuid = Uuid::from_u128(0x9669_d848_0926_4d36_89ac_271f_7a9e_fccc);

/// Where to read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    /// The URL as given (`sqlite://…` or `sqlite:…`).
    Sqlite(String),
    /// The URL as given (`postgres://…` or `postgresql://…`).
    Postgres(String),
    /// A JSONL file: create requests and/or Prompter's own export lines.
    Jsonl(PathBuf),
}

/// Classifies a source argument: `sqlite://…` (also `sqlite:…`), `postgres://…` /
/// `postgresql://…`, or a path ending in `.jsonl`. Anything else is an error message naming the
/// accepted forms.
pub fn parse_source(raw: &str) -> Result<SourceSpec, String> {
    let trimmed = raw.trim();
    if trimmed.starts_with("sqlite:") {
        Ok(SourceSpec::Sqlite(trimmed.to_owned()))
    } else if trimmed.starts_with("postgres://") || trimmed.starts_with("postgresql://") {
        Ok(SourceSpec::Postgres(trimmed.to_owned()))
    } else if !trimmed.is_empty() && trimmed.to_ascii_lowercase().ends_with(".jsonl") {
        Ok(SourceSpec::Jsonl(PathBuf::from(trimmed)))
    } else {
        Err(format!(
            "unrecognised source {raw:?}: expected sqlite://PATH (or sqlite:PATH), \
             postgres://… (or postgresql://…), or a path ending in .jsonl"
        ))
    }
}

/// A legacy template, ready to be re-created through Prompter's create request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LegacyTemplate {
    /// The id as written in the source, as text.
    pub source_id: String,
    pub id: Uuid,
    pub org_id: String,
    pub workspace_id: String,
    /// The create request exactly as Prompter's API takes it (a JSON object): org_id,
    /// workspace_id, name, system_instructions, user_prompt_template, country_set, model_id,
    /// inference_params, tools_spec, response_format, grounding_profile_id,
    /// grounding_snapshot_id, retrieval_params, created_by, and `provider` / `tags` if the source
    /// has them. Null/absent optional columns are left out. JSON columns already parsed.
    pub body: serde_json::Value,
    /// The source's `config_hash`, passed through untouched: it may be missing, stale, or from a
    /// different canonicaliser, so only the importer (which recomputes it) can judge it.
    pub stored_hash: Option<String>,
    pub created_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
    /// The survivor a deleted template was merged into (Prompter's export only).
    pub merged_into: Option<Uuid>,
}

/// A workspace (brand) with its name, from an export line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LegacyWorkspace {
    pub org_id: String,
    pub id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// A provider version of a template (one per provider version key).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LegacyVersion {
    pub source_id: String,
    pub id: Uuid,
    pub org_id: String,
    pub workspace_id: String,
    pub template_id: Uuid,
    pub provider: String,
    pub provider_version_key: String,
    pub model_id: String,
    pub fingerprint_captured_at: Option<DateTime<Utc>>,
    pub first_seen_at: DateTime<Utc>,
    /// `first_seen_at` when the source has none (a version was last seen no earlier than first).
    pub last_seen_at: DateTime<Utc>,
}

/// A run result (the audit trail of one execution).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LegacyResult {
    pub source_id: String,
    pub id: Uuid,
    pub org_id: String,
    pub workspace_id: String,
    pub template_id: Uuid,
    pub version_id: Option<Uuid>,
    pub provider_version_key: Option<String>,
    pub system_fingerprint: Option<String>,
    /// The request as compact JSON text. Text, not a parsed tree: a million results held as
    /// trees took several GiB during an import; the text is a fraction of that, and the target
    /// stores it as it is.
    pub request: String,
    /// The response as compact JSON text (see `request`).
    pub response: String,
    /// The answer text: the export's `answer`, or found in the response's known shapes.
    pub answer: Option<String>,
    pub analysis_config: Option<serde_json::Value>,
    pub rendered_prompt_hash: Option<String>,
    pub run_country: Option<String>,
    pub used_grounding: Option<bool>,
    pub created_at: DateTime<Utc>,
    /// Fields Prompter's own export adds (JSONL `kind: "result"` lines); None from SQL sources.
    pub extra: Option<serde_json::Map<String, serde_json::Value>>,
}

/// One row (or JSONL line) that could not be read, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BadRow {
    /// `prompt_templates`, `prompt_versions`, `prompt_results`, or `jsonl`.
    pub table: &'static str,
    /// The row's id as text, when it could be read at all.
    pub source_id: Option<String>,
    /// The 1-based line number (JSONL sources only).
    pub line: Option<u64>,
    /// What is wrong, naming the column when one is at fault.
    pub reason: String,
}

/// Everything read from a source.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct LegacyData {
    /// Workspaces named by an export's `kind: "workspace"` lines (the seeds' tables have no
    /// workspace names: a workspace met only through its templates is named by its id).
    pub workspaces: Vec<LegacyWorkspace>,
    /// Ordered by (created_at, source id).
    pub templates: Vec<LegacyTemplate>,
    /// Ordered by (first_seen_at, id).
    pub versions: Vec<LegacyVersion>,
    /// Ordered by (created_at, id).
    pub results: Vec<LegacyResult>,
    /// In the order they were met.
    pub bad_rows: Vec<BadRow>,
}

/// The source as a whole could not be read (a single bad row is a [`BadRow`] instead).
#[derive(Debug, thiserror::Error)]
pub enum LegacyError {
    #[error("cannot open the SQLite source {url}: {source}")]
    Open {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot connect to the PostgreSQL source: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("the source has no prompt_templates table")]
    NoTemplatesTable,
    #[error("reading the source failed: {0}")]
    Query(#[from] sqlx::Error),
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Reads the whole source. Writes nothing to it.
pub async fn read_source(spec: &SourceSpec) -> Result<LegacyData, LegacyError> {
    let mut data = match spec {
        SourceSpec::Sqlite(url) => sqlite::read(url).await?,
        SourceSpec::Postgres(url) => postgres::read(url).await?,
        SourceSpec::Jsonl(path) => {
            let path = path.clone();
            // File reading is blocking; keep it off the async executor's worker threads.
            tokio::task::spawn_blocking(move || jsonl::read(&path))
                .await
                .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))?
        }
    };
    sort(&mut data);
    Ok(data)
}

/// Puts records in the documented order. Sorting in Rust rather than SQL keeps the order the same
/// whatever the source's column types (TEXT timestamps do not sort like instants).
fn sort(data: &mut LegacyData) {
    data.templates.sort_by(|a, b| {
        a.created_at
            .cmp(&b.created_at)
            .then_with(|| cmp_source_ids(&a.source_id, &b.source_id))
    });
    data.versions.sort_by_key(|v| (v.first_seen_at, v.id));
    data.results.sort_by_key(|r| (r.created_at, r.id));
}

/// Integer source ids compare as numbers (so `9` comes before `10`), others as text.
fn cmp_source_ids(a: &str, b: &str) -> Ordering {
    match (a.parse::<i64>(), b.parse::<i64>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => a.cmp(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_source_accepts_the_documented_forms() {
        assert_eq!(
            parse_source("sqlite://data/legacy.db"),
            Ok(SourceSpec::Sqlite("sqlite://data/legacy.db".into()))
        );
        assert_eq!(
            parse_source("sqlite:a.db"),
            Ok(SourceSpec::Sqlite("sqlite:a.db".into()))
        );
        assert_eq!(
            parse_source("postgres://u@h/db"),
            Ok(SourceSpec::Postgres("postgres://u@h/db".into()))
        );
        assert_eq!(
            parse_source("postgresql://u@h/db"),
            Ok(SourceSpec::Postgres("postgresql://u@h/db".into()))
        );
        assert_eq!(
            parse_source("dump/export.jsonl"),
            Ok(SourceSpec::Jsonl("dump/export.jsonl".into()))
        );
        for bad in ["", "mysql://h/db", "export.json", "file.db"] {
            let err = parse_source(bad).unwrap_err();
            assert!(err.contains("sqlite://") && err.contains(".jsonl"), "{err}");
        }
    }

    #[test]
    fn integer_source_ids_sort_numerically() {
        assert_eq!(cmp_source_ids("9", "10"), Ordering::Less);
        assert_eq!(cmp_source_ids("b", "a"), Ordering::Greater);
    }
}
