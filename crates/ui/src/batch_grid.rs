//! A batch's tasks as a grid (pure): one row per template, one column per country, and in each
//! cell a badge per sample with its state, linking to the result when there is one.

use std::collections::HashMap;

use prompter_service::records::{BatchStatus, BatchTask, TaskStatus};
use serde_json::Value;
use uuid::Uuid;

use crate::views::result_href;

/// The column of tasks without a country (a template with an empty country set).
pub const NO_COUNTRY: &str = "—";

/// One sample of a cell.
pub struct SampleView {
    /// `#2 ` when the cell has more than one sample, else empty.
    pub prefix: String,
    pub status: &'static str,
    pub class: &'static str,
    pub href: Option<String>,
    pub title: String,
}

/// The samples of one (template, country).
#[derive(Default)]
pub struct Cell {
    pub samples: Vec<SampleView>,
    /// Distinct messages of the failed samples.
    pub errors: Vec<String>,
}

pub struct GridRow {
    pub name: String,
    pub href: String,
    pub cells: Vec<Cell>,
}

pub struct Grid {
    pub countries: Vec<String>,
    pub rows: Vec<GridRow>,
}

/// The badge class of a task's state (the same colours as results and batches).
pub fn task_class(s: TaskStatus) -> &'static str {
    match s {
        TaskStatus::Succeeded => "badge-ok",
        TaskStatus::Failed => "badge-failed",
        TaskStatus::Running => "badge-running",
        TaskStatus::Pending => "badge-pending",
        TaskStatus::Cancelled => "badge-deleted",
    }
}

/// The badge class of a batch's state.
pub fn batch_class(s: BatchStatus) -> &'static str {
    match s {
        BatchStatus::Succeeded => "badge-ok",
        BatchStatus::Failed => "badge-failed",
        BatchStatus::PartiallyFailed | BatchStatus::BudgetExhausted => "badge-warn",
        BatchStatus::Running => "badge-running",
        BatchStatus::Queued => "badge-pending",
        BatchStatus::Cancelled => "badge-deleted",
    }
}

/// `partially_failed` → `Partially failed`.
pub fn batch_label(s: BatchStatus) -> String {
    let words = s.as_str().replace('_', " ");
    let mut c = words.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => words,
    }
}

/// What a failed attempt recorded, as one line: its `message`, else its `code`, else the JSON.
pub fn error_message(e: &Value) -> String {
    e.get("message")
        .and_then(Value::as_str)
        .or_else(|| e.get("code").and_then(Value::as_str))
        .map(str::to_owned)
        .unwrap_or_else(|| e.to_string())
}

/// The grid of `tasks` (in creation order). Templates keep the order of their first task (the
/// batch's order); countries are sorted, the no-country column first. `names` maps template ids
/// to names (a missing one shows the start of its id).
pub fn build(tasks: &[BatchTask], names: &HashMap<Uuid, String>, ws: &str) -> Grid {
    let mut templates: Vec<Uuid> = Vec::new();
    let mut countries: Vec<Option<&str>> = Vec::new();
    for t in tasks {
        if !templates.contains(&t.template_id) {
            templates.push(t.template_id);
        }
        if !countries.contains(&t.country.as_deref()) {
            countries.push(t.country.as_deref());
        }
    }
    // `None` sorts first.
    countries.sort();
    let mut cells: HashMap<(Uuid, Option<&str>), Vec<&BatchTask>> = HashMap::new();
    for t in tasks {
        cells
            .entry((t.template_id, t.country.as_deref()))
            .or_default()
            .push(t);
    }
    let rows = templates
        .iter()
        .map(|tid| GridRow {
            name: names
                .get(tid)
                .cloned()
                .unwrap_or_else(|| format!("Template {}", &tid.simple().to_string()[..8])),
            href: crate::views::template_href(ws, *tid),
            cells: countries
                .iter()
                .map(|c| cell(cells.remove(&(*tid, *c)).unwrap_or_default(), *c, ws))
                .collect(),
        })
        .collect();
    Grid {
        countries: countries
            .into_iter()
            .map(|c| c.unwrap_or(NO_COUNTRY).to_owned())
            .collect(),
        rows,
    }
}

fn cell(mut tasks: Vec<&BatchTask>, country: Option<&str>, ws: &str) -> Cell {
    tasks.sort_by_key(|t| (t.sample_index, t.id));
    let many = tasks.len() > 1;
    let mut errors: Vec<String> = Vec::new();
    let samples = tasks
        .iter()
        .map(|t| {
            if t.status == TaskStatus::Failed {
                if let Some(m) = t.last_error.as_ref().map(error_message) {
                    if !errors.contains(&m) {
                        errors.push(m);
                    }
                }
            }
            let n = t.sample_index + 1;
            SampleView {
                prefix: if many {
                    format!("#{n} ")
                } else {
                    String::new()
                },
                status: t.status.as_str(),
                class: task_class(t.status),
                href: t.result_id.map(|r| result_href(ws, r)),
                title: format!(
                    "{} · sample {n}: {}{}",
                    country.unwrap_or("no country"),
                    t.status.as_str(),
                    if t.attempts > 1 {
                        format!(" after {} attempts", t.attempts)
                    } else {
                        String::new()
                    }
                ),
            }
        })
        .collect();
    Cell { samples, errors }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use serde_json::json;

    fn task(template: Uuid, country: Option<&str>, sample: i32, status: TaskStatus) -> BatchTask {
        BatchTask {
            id: Uuid::now_v7(),
            batch_id: Uuid::nil(),
            template_id: template,
            country: country.map(str::to_owned),
            sample_index: sample,
            status,
            attempts: 1,
            available_at: Utc::now(),
            result_id: (status == TaskStatus::Succeeded).then(Uuid::now_v7),
            last_error: (status == TaskStatus::Failed)
                .then(|| json!({"code": "PROVIDER_ERROR", "message": "boom"})),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn rows_are_templates_and_columns_countries() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let tasks = vec![
            task(a, Some("US"), 0, TaskStatus::Succeeded),
            task(a, Some("US"), 1, TaskStatus::Failed),
            task(a, Some("CH"), 0, TaskStatus::Running),
            task(a, Some("CH"), 1, TaskStatus::Failed),
            task(b, None, 0, TaskStatus::Pending),
        ];
        let names = HashMap::from([(a, "Alpha".to_owned())]);
        let g = build(&tasks, &names, "ws");
        assert_eq!(g.countries, vec!["—", "CH", "US"]);
        assert_eq!(g.rows.len(), 2);
        assert_eq!(g.rows[0].name, "Alpha");
        assert!(g.rows[1].name.starts_with("Template "), "unknown names");
        let us = &g.rows[0].cells[2];
        assert_eq!(us.samples.len(), 2);
        assert_eq!(us.samples[0].prefix, "#1 ");
        assert_eq!(us.samples[0].status, "succeeded");
        assert!(us.samples[0]
            .href
            .as_deref()
            .unwrap()
            .starts_with("/brands/ws/results/"));
        assert_eq!(us.samples[1].class, "badge-failed");
        assert_eq!(us.errors, vec!["boom"]);
        // A template without that country has an empty cell there.
        assert!(g.rows[0].cells[0].samples.is_empty());
        assert_eq!(g.rows[1].cells[0].samples[0].prefix, "");
        assert_eq!(g.rows[1].cells[0].samples[0].status, "pending");
    }

    #[test]
    fn labels_and_messages() {
        assert_eq!(
            batch_label(BatchStatus::PartiallyFailed),
            "Partially failed"
        );
        assert_eq!(batch_label(BatchStatus::Succeeded), "Succeeded");
        assert_eq!(error_message(&json!({"code": "X"})), "X");
        assert_eq!(error_message(&json!("odd")), "\"odd\"");
    }
}
