//! One row (a JSON object keyed by column name) → one record or one [`BadRow`].
//!
//! Both SQL backends and Prompter's own JSONL export feed this module, so a legacy row means the
//! same thing wherever it was read from. The SQL backends hand over the database's own typing of
//! each value (uuid → string, JSONB → JSON, `text[]` → array, integer → number); this module
//! decides what each value means. The first problem found in a row is reported, naming the
//! column; the row is then skipped and reading goes on.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::{
    BadRow, LegacyData, LegacyResult, LegacyTemplate, LegacyVersion, LegacyWorkspace,
    LEGACY_NAMESPACE,
};

pub(crate) const TEMPLATES: &str = "prompt_templates";
pub(crate) const VERSIONS: &str = "prompt_versions";
pub(crate) const RESULTS: &str = "prompt_results";
pub(crate) const WORKSPACES: &str = "workspaces";

/// A row as read: column name → value.
pub(crate) type Row = Map<String, Value>;

/// Template columns holding JSON (as text in SQLite / TEXT columns, as JSON in JSONB ones).
const TEMPLATE_JSON: &[&str] = &[
    "country_set",
    "inference_params",
    "tools_spec",
    "response_format",
    "retrieval_params",
    "tags",
];

/// The create request's fields besides org_id and workspace_id, in the API's order; those not
/// in [`TEMPLATE_JSON`] are text.
#[rustfmt::skip]
const BODY_ORDER: &[&str] = &[
    "name", "provider", "system_instructions", "user_prompt_template", "country_set", "model_id",
    "inference_params", "tools_spec", "response_format", "grounding_profile_id",
    "grounding_snapshot_id", "retrieval_params", "created_by", "tags",
];

#[rustfmt::skip]
const TEMPLATE_COLUMNS: &[&str] = &[
    "id", "org_id", "workspace_id", "name", "provider", "system_instructions",
    "user_prompt_template", "country_set", "model_id", "inference_params", "tools_spec",
    "response_format", "grounding_profile_id", "grounding_snapshot_id", "retrieval_params",
    "created_by", "tags", "config_hash", "created_at", "deleted_at",
];

#[rustfmt::skip]
const VERSION_COLUMNS: &[&str] = &[
    "id", "org_id", "workspace_id", "template_id", "provider", "provider_version_key", "model_id",
    "fingerprint_captured_at", "first_seen_at", "last_seen_at",
];

/// The fields of [`LegacyResult`] that a row carries; anything else in an export line is `extra`.
#[rustfmt::skip]
const RESULT_FIELDS: &[&str] = &[
    "id", "org_id", "workspace_id", "template_id", "version_id", "provider_version_key",
    "system_fingerprint", "request", "response", "analysis_config", "rendered_prompt_hash",
    "run_country", "used_grounding", "created_at",
];

/// Every column the reader knows, per table. The SQLite reader selects only these (other
/// columns are ignored, and SQLite's `json_object` has an argument limit).
pub(crate) fn known_columns(table: &str) -> &'static [&'static str] {
    match table {
        TEMPLATES => TEMPLATE_COLUMNS,
        VERSIONS => VERSION_COLUMNS,
        _ => RESULT_FIELDS,
    }
}

/// Where a row came from, which decides how loosely its values are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// A legacy SQL database: ids may be integers, JSON may be text to parse.
    Sql,
    /// A line of Prompter's own export: ids are UUIDs and JSON values are already JSON (a JSON
    /// string there is a string, not JSON text).
    Export { line: u64 },
}

/// One row being normalised: knows how to report a problem with it.
struct Ctx<'a> {
    table: &'static str,
    row: &'a Row,
    origin: Origin,
    source_id: Option<String>,
}

impl<'a> Ctx<'a> {
    fn new(table: &'static str, row: &'a Row, origin: Origin) -> Self {
        let source_id = row.get("id").filter(|v| !v.is_null()).map(value_text);
        Ctx {
            table,
            row,
            origin,
            source_id,
        }
    }

    fn bad(&self, reason: impl Into<String>) -> BadRow {
        let (table, line) = match self.origin {
            Origin::Sql => (self.table, None),
            Origin::Export { line } => ("jsonl", Some(line)),
        };
        BadRow {
            table,
            source_id: self.source_id.clone(),
            line,
            reason: reason.into(),
        }
    }

    /// The value of a column; absent and NULL are the same thing to a reader.
    fn get(&self, col: &str) -> Option<&'a Value> {
        self.row.get(col).filter(|v| !v.is_null())
    }

    /// An id column, or a reference to `target`'s id column.
    fn opt_id(&self, col: &str, target: &str) -> Result<Option<Uuid>, BadRow> {
        let Some(v) = self.get(col) else {
            return Ok(None);
        };
        parse_id(v, target, self.origin == Origin::Sql)
            .map(Some)
            .map_err(|why| self.bad(format!("{col}: {why}")))
    }

    fn id(&self, col: &str, target: &str) -> Result<Uuid, BadRow> {
        self.opt_id(col, target)?
            .ok_or_else(|| self.bad(format!("{col} is missing")))
    }

    fn opt_text(&self, col: &str) -> Result<Option<String>, BadRow> {
        match self.get(col) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(other) => Err(self.bad(format!("{col}: expected text, found {}", kind(other)))),
        }
    }

    /// A text column that must hold something.
    fn text(&self, col: &str) -> Result<String, BadRow> {
        match self.opt_text(col)? {
            Some(s) if !s.is_empty() => Ok(s),
            _ => Err(self.bad(format!("{col} is missing"))),
        }
    }

    /// `org_id` is absent from some legacy schemas; Prompter's default org stands in for it.
    fn org_id(&self) -> Result<String, BadRow> {
        Ok(self
            .opt_text("org_id")?
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "default".to_owned()))
    }

    /// A JSON column. SQL text holding JSON is parsed (malformed → bad row); a value the
    /// database already typed as JSON is taken as is. A JSON `null` counts as absent.
    fn opt_json(&self, col: &str) -> Result<Option<Value>, BadRow> {
        match (self.get(col), self.origin) {
            (None, _) => Ok(None),
            (Some(Value::String(s)), Origin::Sql) => {
                if s.trim().is_empty() {
                    return Ok(None);
                }
                let parsed: Value = serde_json::from_str(s)
                    .map_err(|e| self.bad(format!("{col}: malformed JSON ({e})")))?;
                Ok(Some(parsed).filter(|v| !v.is_null()))
            }
            (Some(v), _) => Ok(Some(v.clone())),
        }
    }

    fn json(&self, col: &str) -> Result<Value, BadRow> {
        self.opt_json(col)?
            .ok_or_else(|| self.bad(format!("{col} is missing")))
    }

    fn opt_time(&self, col: &str) -> Result<Option<DateTime<Utc>>, BadRow> {
        match self.get(col) {
            None => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => parse_timestamp(s)
                .map(Some)
                .ok_or_else(|| self.bad(format!("{col}: unparsable timestamp {s:?}"))),
            Some(other) => Err(self.bad(format!(
                "{col}: expected a timestamp, found {}",
                kind(other)
            ))),
        }
    }

    fn time(&self, col: &str) -> Result<DateTime<Utc>, BadRow> {
        self.opt_time(col)?
            .ok_or_else(|| self.bad(format!("{col} is missing")))
    }

    /// BOOLEAN, or the 0/1 integers SQLite stores for it (also `'true'`/`'f'`… as text).
    fn opt_bool(&self, col: &str) -> Result<Option<bool>, BadRow> {
        let v = match self.get(col) {
            None => return Ok(None),
            Some(v) => v,
        };
        let parsed = match v {
            Value::Bool(b) => Some(*b),
            Value::Number(n) => match n.as_i64() {
                Some(0) => Some(false),
                Some(1) => Some(true),
                _ => None,
            },
            Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "t" => Some(true),
                "0" | "false" | "f" => Some(false),
                _ => None,
            },
            _ => None,
        };
        parsed
            .map(Some)
            .ok_or_else(|| self.bad(format!("{col}: expected a boolean or 0/1, found {v}")))
    }
}

/// A legacy id: a UUID string keeps its UUID; an integer (or, from SQL, a string of digits, which
/// is how an integer id reads through a TEXT-affinity reference column) becomes the UUIDv5 of
/// `"{table}:{int}"`, so that references, mapped with the referenced table, still match.
pub(crate) fn parse_id(v: &Value, table: &str, allow_int: bool) -> Result<Uuid, String> {
    let int = match v {
        Value::String(s) => {
            if let Ok(u) = Uuid::parse_str(s.trim()) {
                return Ok(u);
            }
            match s.trim().parse::<i64>() {
                Ok(i) if allow_int => i,
                _ => return Err(format!("{s:?} is not a UUID")),
            }
        }
        Value::Number(n) => match n.as_i64() {
            Some(i) if allow_int => i,
            _ => return Err(format!("{n} is not a UUID")),
        },
        other => return Err(format!("expected a UUID, found {}", kind(other))),
    };
    Ok(int_id(table, int))
}

/// The id an integer legacy id maps to.
pub(crate) fn int_id(table: &str, int: i64) -> Uuid {
    Uuid::new_v5(&LEGACY_NAMESPACE, format!("{table}:{int}").as_bytes())
}

/// Parses the timestamp forms legacy databases hold: RFC 3339 (with `T` or a space, `Z` or an
/// offset), and zone-less `YYYY-MM-DD HH:MM:SS[.ffffff]` (SQLite's `CURRENT_TIMESTAMP`,
/// PostgreSQL's `timestamp`), which is read as UTC because that is what the legacy service wrote
/// (`datetime.utcnow()`, `datetime('now')`). A bare date is midnight UTC.
pub(crate) fn parse_timestamp(raw: &str) -> Option<DateTime<Utc>> {
    let s = raw.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    // Offsets without minutes (`+02`), as PostgreSQL prints them in text.
    for fmt in ["%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M:%S%.f%#z"] {
        if let Ok(t) = DateTime::parse_from_str(s, fmt) {
            return Some(t.with_timezone(&Utc));
        }
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc());
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

/// A value as text, the way a person would write it (strings unquoted).
pub(crate) fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A value's JSON type, for messages.
pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A `prompt_templates` row (or an export `kind: "template"` line).
pub(crate) fn template(row: &Row, origin: Origin) -> Result<LegacyTemplate, BadRow> {
    let c = Ctx::new(TEMPLATES, row, origin);
    let id = c.id("id", TEMPLATES)?;
    let org_id = c.org_id()?;
    let workspace_id = c.text("workspace_id")?;
    let stored_hash = c.opt_text("config_hash")?.filter(|h| !h.is_empty());
    let created_at = c.time("created_at")?;
    let deleted_at = c.opt_time("deleted_at")?;
    // Only Prompter's export has it: a template merged into a survivor (exported as deleted).
    let merged_into = match origin {
        Origin::Sql => None,
        Origin::Export { .. } => c.opt_id("merged_into", TEMPLATES)?,
    };

    let body = match origin {
        Origin::Sql => {
            let mut body = Map::new();
            body.insert("org_id".into(), Value::String(org_id.clone()));
            body.insert("workspace_id".into(), Value::String(workspace_id.clone()));
            for &col in BODY_ORDER {
                let v = if TEMPLATE_JSON.contains(&col) {
                    c.opt_json(col)?
                } else {
                    // A text column. Numbers become text (an integer `created_by`, say);
                    // other types go through unchanged for the API's validator to judge.
                    c.get(col).map(|v| match v {
                        Value::Number(n) => Value::String(n.to_string()),
                        other => other.clone(),
                    })
                };
                if let Some(v) = v {
                    body.insert(col.to_owned(), v);
                }
            }
            body
        }
        // Prompter's export: everything but the record's own bookkeeping is the request.
        Origin::Export { .. } => row
            .iter()
            .filter(|(k, v)| {
                !v.is_null()
                    && ![
                        "kind",
                        "id",
                        "config_hash",
                        "created_at",
                        "deleted_at",
                        "merged_into",
                    ]
                    .contains(&k.as_str())
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    };

    Ok(LegacyTemplate {
        source_id: c.source_id.clone().unwrap_or_default(),
        id,
        org_id,
        workspace_id,
        body: Value::Object(body),
        stored_hash,
        created_at,
        deleted_at,
        merged_into,
    })
}

/// A JSONL create request (a line without `kind`): the body is the object as written. It has no
/// id, so its id is derived from its line number and exact text (importing the same file twice
/// yields the same ids), and without `created_at` its age is its line number (epoch plus that
/// many microseconds), so that file order is age order.
pub(crate) fn plain_template(row: &Row, line: u64, text: &str) -> Result<LegacyTemplate, BadRow> {
    let c = Ctx::new(TEMPLATES, row, Origin::Export { line });
    let org_id = c.org_id()?;
    let workspace_id = c.text("workspace_id")?;
    let stored_hash = c.opt_text("config_hash")?.filter(|h| !h.is_empty());
    let created_at = match c.opt_time("created_at")? {
        Some(t) => t,
        None => DateTime::UNIX_EPOCH + chrono::Duration::microseconds(line as i64),
    };
    let deleted_at = c.opt_time("deleted_at")?;
    Ok(LegacyTemplate {
        source_id: format!("line {line}"),
        id: Uuid::new_v5(&LEGACY_NAMESPACE, format!("jsonl:{line}:{text}").as_bytes()),
        org_id,
        workspace_id,
        body: Value::Object(row.clone()),
        stored_hash,
        created_at,
        deleted_at,
        merged_into: None,
    })
}

/// A `prompt_versions` row (or an export `kind: "version"` line).
/// An export's `kind: "workspace"` line: the workspace's id and name.
pub(crate) fn workspace(row: &Row, origin: Origin) -> Result<LegacyWorkspace, BadRow> {
    let c = Ctx::new(WORKSPACES, row, origin);
    let org_id = c.org_id()?;
    let id = c.text("id")?;
    let name = c.opt_text("name")?.unwrap_or_else(|| id.clone());
    let created_at = c.time("created_at")?;
    Ok(LegacyWorkspace {
        org_id,
        id,
        name,
        created_at,
    })
}

pub(crate) fn version(row: &Row, origin: Origin) -> Result<LegacyVersion, BadRow> {
    let c = Ctx::new(VERSIONS, row, origin);
    let id = c.id("id", VERSIONS)?;
    let org_id = c.org_id()?;
    let workspace_id = c.text("workspace_id")?;
    let template_id = c.id("template_id", TEMPLATES)?;
    let provider = c.text("provider")?;
    let provider_version_key = c.text("provider_version_key")?;
    let model_id = c.text("model_id")?;
    let fingerprint_captured_at = c.opt_time("fingerprint_captured_at")?;
    let first_seen_at = c.time("first_seen_at")?;
    let last_seen_at = c.opt_time("last_seen_at")?.unwrap_or(first_seen_at);
    Ok(LegacyVersion {
        source_id: c.source_id.clone().unwrap_or_default(),
        id,
        org_id,
        workspace_id,
        template_id,
        provider,
        provider_version_key,
        model_id,
        fingerprint_captured_at,
        first_seen_at,
        last_seen_at,
    })
}

/// A `prompt_results` row (or an export `kind: "result"` line, whose other fields are `extra`).
pub(crate) fn result(row: &Row, origin: Origin) -> Result<LegacyResult, BadRow> {
    let c = Ctx::new(RESULTS, row, origin);
    let id = c.id("id", RESULTS)?;
    let org_id = c.org_id()?;
    let workspace_id = c.text("workspace_id")?;
    let template_id = c.id("template_id", TEMPLATES)?;
    let version_id = c.opt_id("version_id", VERSIONS)?;
    let provider_version_key = c.opt_text("provider_version_key")?;
    let system_fingerprint = c.opt_text("system_fingerprint")?;
    let request = compact(&c.json("request")?);
    let response_tree = c.json("response")?;
    let answer = match origin {
        Origin::Sql => answer_of(&response_tree),
        Origin::Export { .. } => row.get("answer").and_then(Value::as_str).map(str::to_owned),
    };
    let response = compact(&response_tree);
    drop(response_tree);
    let analysis_config = c.opt_json("analysis_config")?;
    let rendered_prompt_hash = c.opt_text("rendered_prompt_hash")?;
    let run_country = c.opt_text("run_country")?;
    let used_grounding = c.opt_bool("used_grounding")?;
    let created_at = c.time("created_at")?;
    let extra = match origin {
        Origin::Sql => None,
        Origin::Export { .. } => Some(
            row.iter()
                .filter(|(k, _)| k.as_str() != "kind" && !RESULT_FIELDS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
    };
    Ok(LegacyResult {
        source_id: c.source_id.clone().unwrap_or_default(),
        id,
        org_id,
        workspace_id,
        template_id,
        version_id,
        provider_version_key,
        system_fingerprint,
        request,
        response,
        answer,
        analysis_config,
        rendered_prompt_hash,
        run_country,
        used_grounding,
        created_at,
        extra,
    })
}

/// Compact JSON text of a parsed column.
fn compact(value: &Value) -> String {
    serde_json::to_string(value).expect("a JSON value always serialises")
}

/// The answer text of a legacy response, where it is found: the seeds' "compact raw-ish
/// response" keeps it as `content` or in the provider's shape, or is the text itself.
fn answer_of(response: &Value) -> Option<String> {
    let candidates = [
        response.get("content"),
        response.get("text"),
        response.pointer("/choices/0/message/content"),
        response.pointer("/candidates/0/content/parts/0/text"),
        response.pointer("/content/0/text"),
    ];
    candidates
        .into_iter()
        .flatten()
        .find_map(|v| v.as_str().map(str::to_owned))
        .or_else(|| response.as_str().map(str::to_owned))
}

/// Normalises one SQL row, handed over as the JSON text of its column map, into `data`. Bytes,
/// because SQLite text need not be UTF-8: such a row is a bad row (named by its id when that can
/// still be made out), not the end of the read.
pub(crate) fn take_sql_row(table: &'static str, row_json: &[u8], data: &mut LegacyData) {
    let row: Row = match serde_json::from_slice(row_json) {
        Ok(row) => row,
        Err(e) => {
            let (source_id, reason) = match std::str::from_utf8(row_json) {
                Ok(_) => (None, format!("row could not be read ({e})")),
                Err(_) => {
                    let lossy = String::from_utf8_lossy(row_json);
                    let id = serde_json::from_str::<Row>(&lossy)
                        .ok()
                        .and_then(|r| r.get("id").filter(|v| !v.is_null()).map(value_text));
                    (id, "row holds text that is not UTF-8".to_owned())
                }
            };
            data.bad_rows.push(BadRow {
                table,
                source_id,
                line: None,
                reason,
            });
            return;
        }
    };
    let bad = match table {
        TEMPLATES => template(&row, Origin::Sql).map(|t| data.templates.push(t)),
        VERSIONS => version(&row, Origin::Sql).map(|v| data.versions.push(v)),
        _ => result(&row, Origin::Sql).map(|r| data.results.push(r)),
    };
    if let Err(b) = bad {
        data.bad_rows.push(b);
    }
}

#[cfg(test)]
#[path = "normalise_tests.rs"]
mod tests;
