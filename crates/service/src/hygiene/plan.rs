//! The import plan, as pure code: which source rows are written, which template survives each
//! group of identical configurations, where versions and results go. No I/O: the service reads
//! what it needs of the target into a [`TargetState`] first, and applies the plan afterwards.
//!
//! Rules (issue 13): every hash is recomputed; active templates are grouped by (org, workspace,
//! hash); an active target template with that hash survives, else the oldest source row; the
//! others are imported merged (soft-deleted, `merged_into` the survivor). A merged template's
//! versions move to the survivor, or merge into the survivor's row with the same
//! provider_version_key (earliest first_seen_at, latest last_seen_at), staying on their old
//! template so their ids resolve. Results follow their template and version. Soft-deleted source
//! templates are imported deleted and grouped with nothing. Rows whose id is already in the target
//! are left alone, so a second import of the same source changes nothing.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use prompter_domain::{parse_template_spec, NameRule, TemplateSpec};
use prompter_legacy::{LegacyData, LegacyResult, LegacyTemplate};
use prompter_storage::{
    ImportedResult, ImportedTemplate, ImportedVersion, MergePlan, NewTemplate, NewWorkspace,
    SeenWindow, Template, Version,
};
use serde_json::Value;
use uuid::Uuid;

use super::report::{HygieneReport, MergeGroup, ReportRow, RowAction, Totals};

/// What the plan needs to know of the target.
#[derive(Debug, Default)]
pub struct TargetState {
    pub existing_templates: HashSet<Uuid>,
    pub existing_versions: HashSet<Uuid>,
    pub existing_results: HashSet<Uuid>,
    /// Active target templates by (org, workspace, hash), for the groups of the source.
    pub actives: HashMap<GroupKey, Template>,
    /// The versions of those active templates.
    pub versions_of: HashMap<Uuid, Vec<Version>>,
}

pub type GroupKey = (String, String, String);

/// A source template with its create request validated (and its hash recomputed).
pub struct Prepared<'a> {
    pub source: &'a LegacyTemplate,
    pub spec: Result<TemplateSpec, String>,
}

/// Validates every source template's create request with Prompter's own rules.
pub fn prepare(data: &LegacyData) -> Vec<Prepared<'_>> {
    data.templates
        .iter()
        .map(|t| Prepared {
            source: t,
            spec: parse_template_spec(&t.body, NameRule::Optional).map_err(|e| match e {
                prompter_domain::SpecError::Invalid(f) => f.to_string(),
                prompter_domain::SpecError::WorkspaceRequired => "workspace_id is required".into(),
            }),
        })
        .collect()
}

/// The group keys of the active, new, valid source templates (what to look up in the target).
pub fn group_keys(prepared: &[Prepared<'_>], target_ids: &HashSet<Uuid>) -> HashSet<GroupKey> {
    prepared
        .iter()
        .filter(|p| p.source.deleted_at.is_none() && !target_ids.contains(&p.source.id))
        .filter_map(|p| p.spec.as_ref().ok().map(key_of))
        .collect()
}

fn key_of(spec: &TemplateSpec) -> GroupKey {
    (
        spec.org_id.to_string(),
        spec.workspace_id.to_string(),
        spec.config.hash.clone(),
    )
}

/// Where a source template ended up.
#[derive(Clone, Copy)]
struct Placed {
    /// The template its versions and results now belong to (the survivor, or itself).
    owner: Uuid,
    merged: bool,
}

/// The plan and its report.
pub fn plan_import(
    data: &LegacyData,
    results: Vec<LegacyResult>,
    prepared: &[Prepared<'_>],
    target: &TargetState,
    now: DateTime<Utc>,
) -> (MergePlan, HygieneReport) {
    let mut plan = MergePlan::default();
    let mut rows = Vec::new();
    let mut totals = Totals::default();
    let mut placed: HashMap<Uuid, Placed> = HashMap::new();
    let mut workspaces: HashMap<(String, String), DateTime<Utc>> = HashMap::new();

    // Templates: groups first (source order is age order: the reader sorts by created_at).
    let mut groups: Vec<(GroupKey, Vec<usize>)> = Vec::new();
    let mut group_of: HashMap<GroupKey, usize> = HashMap::new();
    for (i, p) in prepared.iter().enumerate() {
        let src = p.source;
        if target.existing_templates.contains(&src.id) {
            totals.already_present += 1;
            rows.push(row(
                "prompt_templates",
                &src.source_id,
                Some(src.id),
                RowAction::AlreadyPresent,
                None,
                None,
            ));
            placed.insert(
                src.id,
                Placed {
                    owner: src.id,
                    merged: false,
                },
            );
            continue;
        }
        let spec = match &p.spec {
            Ok(spec) => spec,
            Err(reason) => {
                totals.skipped += 1;
                rows.push(row(
                    "prompt_templates",
                    &src.source_id,
                    Some(src.id),
                    RowAction::Skipped,
                    None,
                    Some(reason.clone()),
                ));
                continue;
            }
        };
        let ws_key = (spec.org_id.to_string(), spec.workspace_id.to_string());
        let first = workspaces.entry(ws_key).or_insert(src.created_at);
        *first = (*first).min(src.created_at);
        if src.deleted_at.is_some() {
            plan.templates
                .push(imported(src, spec, src.deleted_at, src.merged_into));
            placed.insert(
                src.id,
                Placed {
                    owner: src.id,
                    merged: false,
                },
            );
            totals.templates_imported += 1;
            rows.push(row(
                "prompt_templates",
                &src.source_id,
                Some(src.id),
                RowAction::ImportedDeleted,
                None,
                None,
            ));
            continue;
        }
        let key = key_of(spec);
        match group_of.get(&key) {
            Some(&g) => groups[g].1.push(i),
            None => {
                group_of.insert(key.clone(), groups.len());
                groups.push((key, vec![i]));
            }
        }
    }

    let mut report_groups = Vec::new();
    // Survivor versions by (template, key): the target's rows, then the plan's as they come.
    let mut version_at: HashMap<(Uuid, String), Uuid> = HashMap::new();
    let mut group_index_of_owner: HashMap<Uuid, usize> = HashMap::new();
    for (key, members) in &groups {
        let existing = target.actives.get(key);
        let (survivor_id, survivor_name, merged_members): (Uuid, String, &[usize]) = match existing
        {
            Some(t) => (t.id, t.name.clone(), &members[..]),
            None => {
                let s = prepared[members[0]].source;
                (s.id, name_of(&prepared[members[0]]), &members[1..])
            }
        };
        if existing.is_none() {
            let p = &prepared[members[0]];
            let spec = p.spec.as_ref().expect("grouped specs are valid");
            plan.templates.push(imported(p.source, spec, None, None));
            placed.insert(
                p.source.id,
                Placed {
                    owner: p.source.id,
                    merged: false,
                },
            );
            totals.templates_imported += 1;
            rows.push(row(
                "prompt_templates",
                &p.source.source_id,
                Some(p.source.id),
                RowAction::Imported,
                None,
                None,
            ));
        } else if let Some(versions) = target.versions_of.get(&survivor_id) {
            for v in versions {
                version_at.insert((survivor_id, v.provider_version_key.clone()), v.id);
            }
        }
        for &m in merged_members {
            let p = &prepared[m];
            let spec = p.spec.as_ref().expect("grouped specs are valid");
            plan.templates
                .push(imported(p.source, spec, Some(now), Some(survivor_id)));
            placed.insert(
                p.source.id,
                Placed {
                    owner: survivor_id,
                    merged: true,
                },
            );
            totals.templates_imported += 1;
            totals.templates_merged += 1;
            rows.push(row(
                "prompt_templates",
                &p.source.source_id,
                Some(p.source.id),
                RowAction::Merged,
                Some(survivor_id),
                None,
            ));
        }
        if !merged_members.is_empty() {
            group_index_of_owner.insert(survivor_id, report_groups.len());
            report_groups.push(MergeGroup {
                org_id: key.0.clone(),
                workspace_id: key.1.clone(),
                config_hash: key.2.clone(),
                survivor_id,
                survivor_name,
                survivor_existed: existing.is_some(),
                merged_ids: merged_members
                    .iter()
                    .map(|&m| prepared[m].source.id)
                    .collect(),
                versions_repointed: 0,
                versions_merged: 0,
                results_repointed: 0,
            });
        }
    }
    // Names from an export's workspace lines; a workspace met only through its templates is
    // named by its id. An existing workspace keeps its name (storage inserts only what is
    // missing).
    let mut names: HashMap<(String, String), String> = HashMap::new();
    for w in &data.workspaces {
        let valid = prompter_domain::OrgId::parse(&w.org_id).is_ok()
            && prompter_domain::WorkspaceId::parse(&w.id).is_ok();
        let name = prompter_domain::template_spec::parse_name(&w.name);
        let (true, Ok(name)) = (valid, name) else {
            totals.skipped += 1;
            rows.push(row(
                "workspaces",
                &w.id,
                None,
                RowAction::Skipped,
                None,
                Some("not a valid workspace id, org id or name".into()),
            ));
            continue;
        };
        let key = (w.org_id.clone(), w.id.clone());
        let first = workspaces.entry(key.clone()).or_insert(w.created_at);
        *first = (*first).min(w.created_at);
        names.insert(key, name);
    }
    plan.workspaces = workspaces
        .into_iter()
        .map(|((org, ws), created_at)| NewWorkspace {
            org_id: prompter_domain::OrgId::parse(&org).expect("validated by the spec"),
            id: prompter_domain::WorkspaceId::parse(&ws).expect("validated by the spec"),
            name: names.remove(&(org, ws.clone())).unwrap_or(ws),
            created_at,
        })
        .collect();
    plan.workspaces.sort_by(|a, b| {
        (a.org_id.as_str(), a.id.as_str()).cmp(&(b.org_id.as_str(), b.id.as_str()))
    });

    // Versions: the survivor's own rows first, so a merged row finds them.
    let mut version_owner: HashMap<Uuid, Uuid> = HashMap::new(); // version id -> the version results use
    let mut order: Vec<&prompter_legacy::LegacyVersion> = data.versions.iter().collect();
    order.sort_by_key(|v| placed.get(&v.template_id).is_none_or(|p| p.merged));
    let mut planned_version: HashMap<Uuid, usize> = HashMap::new();
    let mut windows: HashMap<Uuid, SeenWindow> = HashMap::new();
    let mut used_keys: HashSet<(Uuid, String)> = HashSet::new();
    for v in order {
        if target.existing_versions.contains(&v.id) {
            totals.already_present += 1;
            rows.push(row(
                "prompt_versions",
                &v.source_id,
                Some(v.id),
                RowAction::AlreadyPresent,
                None,
                None,
            ));
            version_owner.insert(v.id, v.id);
            continue;
        }
        let Some(place) = placed.get(&v.template_id).copied() else {
            totals.skipped += 1;
            rows.push(row(
                "prompt_versions",
                &v.source_id,
                Some(v.id),
                RowAction::Skipped,
                None,
                Some("its template was not imported".into()),
            ));
            continue;
        };
        let slot = (place.owner, v.provider_version_key.clone());
        let mut new = ImportedVersion {
            id: v.id,
            org_id: v.org_id.clone(),
            workspace_id: v.workspace_id.clone(),
            template_id: place.owner,
            provider: v.provider.clone(),
            provider_version_key: v.provider_version_key.clone(),
            model_id: v.model_id.clone(),
            // Prompter always knows when a build was captured; a legacy row without it was
            // captured when first seen.
            fingerprint_captured_at: v.fingerprint_captured_at.or(Some(v.first_seen_at)),
            first_seen_at: v.first_seen_at,
            last_seen_at: v.last_seen_at,
            merged_into: None,
        };
        if let Some(&into) = version_at.get(&slot) {
            // The survivor has this build: widen its window, keep this row on its own template.
            widen(
                &mut plan,
                &planned_version,
                &mut windows,
                into,
                v.first_seen_at,
                v.last_seen_at,
            );
            new.template_id = v.template_id;
            new.merged_into = Some(into);
            version_owner.insert(v.id, into);
            if !used_keys.insert((v.template_id, v.provider_version_key.clone())) {
                // Two rows of one template with one key (a source without the unique index):
                // only one can be stored; its results go to the survivor's row.
                totals.skipped += 1;
                let reason =
                    "same provider_version_key twice on one template; its results use the kept row";
                rows.push(row(
                    "prompt_versions",
                    &v.source_id,
                    Some(v.id),
                    RowAction::Skipped,
                    Some(into),
                    Some(reason.into()),
                ));
                continue;
            }
            totals.versions_imported += 1;
            totals.versions_merged += 1;
            if let Some(&g) = group_index_of_owner.get(&place.owner) {
                report_groups[g].versions_merged += 1;
            }
            rows.push(row(
                "prompt_versions",
                &v.source_id,
                Some(v.id),
                RowAction::MergedVersion,
                Some(into),
                None,
            ));
        } else {
            version_at.insert(slot.clone(), v.id);
            used_keys.insert(slot);
            version_owner.insert(v.id, v.id);
            totals.versions_imported += 1;
            let action = if place.merged {
                if let Some(&g) = group_index_of_owner.get(&place.owner) {
                    report_groups[g].versions_repointed += 1;
                }
                RowAction::Repointed
            } else {
                RowAction::Imported
            };
            rows.push(row(
                "prompt_versions",
                &v.source_id,
                Some(v.id),
                action,
                place.merged.then_some(place.owner),
                None,
            ));
        }
        planned_version.insert(v.id, plan.versions.len());
        plan.versions.push(new);
    }

    plan.seen_windows = windows.into_values().collect();
    plan.seen_windows.sort_by_key(|w| w.version_id);

    // Results follow their template and version.
    let models: HashMap<Uuid, &str> = prepared
        .iter()
        .filter_map(|p| {
            p.spec
                .as_ref()
                .ok()
                .map(|s| (p.source.id, s.model_id.as_str()))
        })
        .collect();
    let providers: HashMap<Uuid, &str> = data
        .versions
        .iter()
        .map(|v| (v.id, v.provider.as_str()))
        .collect();
    for r in results {
        if target.existing_results.contains(&r.id) {
            totals.already_present += 1;
            rows.push(row(
                "prompt_results",
                &r.source_id,
                Some(r.id),
                RowAction::AlreadyPresent,
                None,
                None,
            ));
            continue;
        }
        let Some(place) = placed.get(&r.template_id).copied() else {
            totals.skipped += 1;
            rows.push(row(
                "prompt_results",
                &r.source_id,
                Some(r.id),
                RowAction::Skipped,
                None,
                Some("its template was not imported".into()),
            ));
            continue;
        };
        let version_id = r.version_id.and_then(|v| version_owner.get(&v).copied());
        let model = models.get(&r.template_id).copied().unwrap_or_default();
        let provider = r
            .version_id
            .and_then(|v| providers.get(&v).copied())
            .map(str::to_owned)
            .unwrap_or_else(|| {
                prompter_providers::detect_provider(None, model)
                    .as_str()
                    .to_owned()
            });
        totals.results_imported += 1;
        if place.merged {
            totals.results_repointed += 1;
            if let Some(&g) = group_index_of_owner.get(&place.owner) {
                report_groups[g].results_repointed += 1;
            }
        }
        let action = if place.merged {
            RowAction::Repointed
        } else {
            RowAction::Imported
        };
        rows.push(row(
            "prompt_results",
            &r.source_id,
            Some(r.id),
            action,
            place.merged.then_some(place.owner),
            None,
        ));
        plan.results
            .push(imported_result(r, place.owner, version_id, provider, model));
    }
    for bad in &data.bad_rows {
        totals.skipped += 1;
        let source_id = bad
            .source_id
            .clone()
            .or_else(|| bad.line.map(|l| format!("line {l}")))
            .unwrap_or_default();
        rows.push(row(
            bad.table,
            &source_id,
            None,
            RowAction::Skipped,
            None,
            Some(bad.reason.clone()),
        ));
    }
    let report = HygieneReport {
        operation: "import".into(),
        dry_run: false,
        groups: report_groups,
        totals,
        rows,
    };
    (plan, report)
}

/// Widens the seen-window of version `into` (planned in this import, or already in the target).
/// A row of the target's is widened by storage against its stored window (`SeenWindow` sets
/// the min and max), so only the merged rows' windows are collected here.
fn widen(
    plan: &mut MergePlan,
    planned: &HashMap<Uuid, usize>,
    windows: &mut HashMap<Uuid, SeenWindow>,
    into: Uuid,
    first: DateTime<Utc>,
    last: DateTime<Utc>,
) {
    if let Some(&i) = planned.get(&into) {
        let v = &mut plan.versions[i];
        v.first_seen_at = v.first_seen_at.min(first);
        v.last_seen_at = v.last_seen_at.max(last);
        return;
    }
    let w = windows.entry(into).or_insert(SeenWindow {
        version_id: into,
        first_seen_at: first,
        last_seen_at: last,
    });
    w.first_seen_at = w.first_seen_at.min(first);
    w.last_seen_at = w.last_seen_at.max(last);
}

fn name_of(p: &Prepared<'_>) -> String {
    p.spec
        .as_ref()
        .ok()
        .and_then(|s| s.name.clone())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| format!("Imported {}", p.source.source_id))
}

fn imported(
    src: &LegacyTemplate,
    spec: &TemplateSpec,
    deleted_at: Option<DateTime<Utc>>,
    merged_into: Option<Uuid>,
) -> ImportedTemplate {
    let name = spec
        .name
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| format!("Imported {}", src.source_id));
    ImportedTemplate {
        template: NewTemplate {
            id: src.id,
            name,
            spec: spec.clone(),
            created_at: src.created_at,
        },
        deleted_at,
        merged_into,
    }
}

fn imported_result(
    r: LegacyResult,
    template_id: Uuid,
    version_id: Option<Uuid>,
    provider: String,
    model: &str,
) -> ImportedResult {
    let extra = r.extra.as_ref();
    let get = |k: &str| extra.and_then(|e| e.get(k)).filter(|v| !v.is_null());
    let text = |k: &str| get(k).and_then(Value::as_str).map(str::to_owned);
    ImportedResult {
        id: r.id,
        org_id: r.org_id.clone(),
        workspace_id: r.workspace_id.clone(),
        template_id,
        version_id,
        provider: text("provider").unwrap_or(provider),
        model_id: text("model_id").unwrap_or_else(|| model.to_owned()),
        provider_version_key: r.provider_version_key.clone(),
        system_fingerprint: r.system_fingerprint.clone(),
        request: r.request,
        response: r.response,
        answer: r.answer,
        analysis_config: r.analysis_config.clone(),
        rendered_prompt_hash: r.rendered_prompt_hash.clone(),
        run_country: r.run_country.clone(),
        used_grounding: r.used_grounding,
        status: text("status").unwrap_or_else(|| "succeeded".into()),
        error: get("error").cloned(),
        latency_ms: get("latency_ms").and_then(Value::as_i64).unwrap_or(0),
        usage: get("usage").cloned(),
        is_fake: get("is_fake").and_then(Value::as_bool).unwrap_or(false),
        finish_reason: text("finish_reason"),
        truncated: get("truncated").and_then(Value::as_bool),
        citations: get("citations").cloned(),
        created_at: r.created_at,
    }
}

fn row(
    table: &str,
    source_id: &str,
    id: Option<Uuid>,
    action: RowAction,
    target_id: Option<Uuid>,
    reason: Option<String>,
) -> ReportRow {
    ReportRow {
        table: table.to_owned(),
        source_id: source_id.to_owned(),
        id,
        action,
        target_id,
        reason,
    }
}
