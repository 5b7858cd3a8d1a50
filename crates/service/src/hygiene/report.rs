//! What an import or a dedupe did (or, in a dry run, would do): one line per row, the merge
//! groups, and the totals. Written by the CLI as JSON or CSV.

use serde::Serialize;
use uuid::Uuid;

/// What happened to one source row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RowAction {
    /// Written as it was (a template: active, its group's survivor or alone).
    Imported,
    /// A soft-deleted template, imported as deleted and grouped with nothing.
    ImportedDeleted,
    /// A template merged into its group's survivor (soft-deleted, `merged_into` set).
    Merged,
    /// A version written on the survivor instead of its own (merged) template.
    Repointed,
    /// A version merged into the survivor's row with the same provider_version_key.
    MergedVersion,
    /// Its id is already in the target (an earlier import): nothing written.
    AlreadyPresent,
    /// Not written: see `reason`.
    Skipped,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportRow {
    /// `prompt_templates`, `prompt_versions`, `prompt_results` or `jsonl`.
    pub table: String,
    /// The id as the source wrote it (or `line N`).
    pub source_id: String,
    /// The id in Prompter, when the row has one.
    pub id: Option<Uuid>,
    pub action: RowAction,
    /// The survivor (template or version) a merged or re-pointed row now belongs to.
    pub target_id: Option<Uuid>,
    pub reason: Option<String>,
}

/// One group of templates with the same configuration in one workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MergeGroup {
    pub org_id: String,
    pub workspace_id: String,
    pub config_hash: String,
    pub survivor_id: Uuid,
    pub survivor_name: String,
    /// Whether the survivor was already in the database (an active twin there).
    pub survivor_existed: bool,
    pub merged_ids: Vec<Uuid>,
    /// Version rows moved to the survivor, and merged into its rows with the same key.
    pub versions_repointed: u64,
    pub versions_merged: u64,
    pub results_repointed: u64,
}

/// Counts over the report's rows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub templates_imported: u64,
    pub templates_merged: u64,
    pub versions_imported: u64,
    pub versions_merged: u64,
    pub results_imported: u64,
    pub results_repointed: u64,
    pub already_present: u64,
    pub skipped: u64,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HygieneReport {
    /// `import` or `dedupe`.
    pub operation: String,
    pub dry_run: bool,
    pub groups: Vec<MergeGroup>,
    pub totals: Totals,
    pub rows: Vec<ReportRow>,
}

impl HygieneReport {
    /// The report's rows as CSV (header first), for spreadsheets.
    pub fn rows_csv(&self) -> String {
        let mut out = String::from("table,source_id,id,action,target_id,reason\n");
        for r in &self.rows {
            let action = serde_json::to_value(r.action)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            let fields = [
                r.table.clone(),
                r.source_id.clone(),
                r.id.map(|i| i.to_string()).unwrap_or_default(),
                action,
                r.target_id.map(|i| i.to_string()).unwrap_or_default(),
                r.reason.clone().unwrap_or_default(),
            ];
            let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
            out.push_str(&line.join(","));
            out.push('\n');
        }
        out
    }

    /// The plan as a person reads it: groups, survivors, and what each re-points.
    pub fn plan_text(&self) -> String {
        let mut out = String::new();
        for g in &self.groups {
            out.push_str(&format!(
                "group {}/{} {}: survivor {} «{}»{}; merges {} template(s); re-points {} version(s) (merging {}) and {} result(s)\n",
                g.org_id,
                g.workspace_id,
                &g.config_hash[..12.min(g.config_hash.len())],
                g.survivor_id,
                g.survivor_name,
                if g.survivor_existed { " (already in the database)" } else { "" },
                g.merged_ids.len(),
                g.versions_repointed + g.versions_merged,
                g.versions_merged,
                g.results_repointed,
            ));
        }
        let t = &self.totals;
        out.push_str(&format!(
            "{} group(s); templates: {} imported, {} merged; versions: {} imported, {} merged; results: {} imported, {} re-pointed; {} already present; {} skipped{}\n",
            self.groups.len(),
            t.templates_imported,
            t.templates_merged,
            t.versions_imported,
            t.versions_merged,
            t.results_imported,
            t.results_repointed,
            t.already_present,
            t.skipped,
            if self.dry_run { " (dry run: nothing written)" } else { "" },
        ));
        out
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}
