//! `prompter dedupe`: the import's merge, run on Prompter's own database — after a change to the
//! canonicaliser (`rehash` recomputes the stored hashes first) or for data written before the
//! rules. Per workspace: active templates grouped by hash, the oldest survives, the others are
//! merged into it (soft-deleted, `merged_into`), their versions moved to it or merged into its
//! row with the same provider_version_key, their results re-pointed. One transaction for all.

use std::collections::HashMap;

use prompter_domain::{parse_template_spec, NameRule, OrgId};
use prompter_storage::{MergePlan, Rehash, SeenWindow, Template};
use serde_json::json;
use uuid::Uuid;

use super::report::{HygieneReport, MergeGroup, ReportRow, RowAction, Totals};
use super::Progress;
use crate::{Caller, ServiceError, Services};

/// What to dedupe.
#[derive(Debug, Clone, Default)]
pub struct DedupeRequest {
    /// The organisation. `None` with no workspace, for a caller bound to no organisation (the
    /// operator): every organisation of the database; else the caller's (default `default`).
    pub org_id: Option<String>,
    /// One workspace; `None`: every workspace of the organisation(s).
    pub workspace_id: Option<String>,
    /// Recompute every active template's hash with the current canonicaliser first.
    pub rehash: bool,
    pub dry_run: bool,
}

/// The create request a stored template was made from (what the hash is computed over).
fn body_of(t: &Template) -> serde_json::Value {
    json!({
        "org_id": t.org_id, "workspace_id": t.workspace_id, "name": t.name,
        "provider": t.provider, "system_instructions": t.system_instructions,
        "user_prompt_template": t.user_prompt_template, "country_set": t.country_set,
        "model_id": t.model_id, "inference_params": t.inference_params,
        "tools_spec": t.tools_spec, "response_format": t.response_format,
        "grounding_profile_id": t.grounding_profile_id,
        "grounding_snapshot_id": t.grounding_snapshot_id,
        "retrieval_params": t.retrieval_params, "tags": t.tags,
    })
}

fn row(
    table: &str,
    id: Uuid,
    action: RowAction,
    target: Option<Uuid>,
    reason: Option<String>,
) -> ReportRow {
    ReportRow {
        table: table.to_owned(),
        source_id: id.to_string(),
        id: Some(id),
        action,
        target_id: target,
        reason,
    }
}

impl Services {
    /// Merges the active templates with identical configurations (admins only).
    pub async fn dedupe(
        &self,
        caller: &Caller,
        request: &DedupeRequest,
        progress: &dyn Progress,
    ) -> Result<HygieneReport, ServiceError> {
        caller.require_admin()?;
        let orgs: Vec<OrgId> = match (&request.org_id, &request.workspace_id) {
            (None, None) if !caller.is_bound_to_org() => self
                .db
                .list_organisations()
                .await?
                .iter()
                .filter_map(|o| OrgId::parse(o).ok())
                .collect(),
            _ => vec![caller.org(request.org_id.as_deref())?],
        };
        // (organisation, workspace) pairs, in id order.
        let mut workspaces: Vec<(OrgId, String)> = Vec::new();
        for org in orgs {
            match &request.workspace_id {
                Some(ws) => {
                    let id = self.get_workspace(caller, Some(org.as_str()), ws).await?.id;
                    workspaces.push((org, id));
                }
                None => {
                    for w in self.db.list_workspaces(&org).await? {
                        workspaces.push((org.clone(), w.id));
                    }
                }
            }
        }
        let mut plan = MergePlan::default();
        let mut groups = Vec::new();
        let mut rows = Vec::new();
        let mut totals = Totals::default();
        progress.stage("reading templates", workspaces.len() as u64);
        for (org, ws) in &workspaces {
            let actives = self.templates_of(org.as_str(), ws, false).await?;
            // (hash, canonical JSON) per template, rehashed if asked.
            // Groups in order of their oldest member; the index keeps a workspace of 100,000
            // templates linear.
            let mut by_hash: Vec<(String, Vec<Template>)> = Vec::new();
            let mut group_of: HashMap<String, usize> = HashMap::new();
            for t in actives {
                let hash = if request.rehash {
                    match parse_template_spec(&body_of(&t), NameRule::Optional) {
                        Ok(spec) if spec.config.hash != t.config_hash => {
                            plan.rehash.push(Rehash {
                                template_id: t.id,
                                config_hash: spec.config.hash.clone(),
                                near_key: prompter_domain::near_duplicates::near_key_of_json(
                                    &spec.config.canonical_json,
                                ),
                                config_canonical_json: spec.config.canonical_json,
                            });
                            spec.config.hash
                        }
                        Ok(_) => t.config_hash.clone(),
                        Err(e) => {
                            totals.skipped += 1;
                            let reason = format!("cannot be rehashed: {e:?}");
                            rows.push(row(
                                "prompt_templates",
                                t.id,
                                RowAction::Skipped,
                                None,
                                Some(reason),
                            ));
                            t.config_hash.clone()
                        }
                    }
                } else {
                    t.config_hash.clone()
                };
                match group_of.get(&hash) {
                    Some(&g) => by_hash[g].1.push(t),
                    None => {
                        group_of.insert(hash.clone(), by_hash.len());
                        by_hash.push((hash, vec![t]));
                    }
                }
            }
            for (hash, members) in by_hash.into_iter().filter(|(_, m)| m.len() > 1) {
                groups.push(
                    self.plan_group(
                        &mut plan,
                        &mut rows,
                        &mut totals,
                        ws,
                        org.as_str(),
                        hash,
                        members,
                    )
                    .await?,
                );
            }
            progress.advance(1);
        }
        // Merged templates are rehashed too (they are deleted first, so the unique index never
        // sees two actives): every stored hash is then the current canonicaliser's.
        totals.templates_merged = plan.template_merges.len() as u64;
        if !request.dry_run {
            progress.stage("writing (one transaction)", 0);
            let applied = self.db.apply_merge_plan(&plan).await?;
            tracing::info!(
                action = "dedupe",
                merged = applied.templates_merged,
                rehashed = applied.templates_rehashed,
                results = applied.results_moved,
                "dedupe written"
            );
        }
        Ok(HygieneReport {
            operation: "dedupe".into(),
            dry_run: request.dry_run,
            groups,
            totals,
            rows,
        })
    }

    /// Plans one group (oldest first): merges, version moves and merges, result moves.
    #[allow(clippy::too_many_arguments)]
    async fn plan_group(
        &self,
        plan: &mut MergePlan,
        rows: &mut Vec<ReportRow>,
        totals: &mut Totals,
        ws: &str,
        org: &str,
        hash: String,
        members: Vec<Template>,
    ) -> Result<MergeGroup, ServiceError> {
        let survivor = &members[0];
        let mut keys: HashMap<
            String,
            (
                Uuid,
                chrono::DateTime<chrono::Utc>,
                chrono::DateTime<chrono::Utc>,
            ),
        > = self
            .db
            .list_versions(survivor.id)
            .await?
            .into_iter()
            .map(|v| {
                (
                    v.provider_version_key,
                    (v.id, v.first_seen_at, v.last_seen_at),
                )
            })
            .collect();
        let mut group = MergeGroup {
            org_id: org.to_owned(),
            workspace_id: ws.to_owned(),
            config_hash: hash,
            survivor_id: survivor.id,
            survivor_name: survivor.name.clone(),
            survivor_existed: true,
            merged_ids: Vec::new(),
            versions_repointed: 0,
            versions_merged: 0,
            results_repointed: 0,
        };
        let mut widened: HashMap<Uuid, SeenWindow> = HashMap::new();
        for t in &members[1..] {
            plan.template_merges.push((t.id, survivor.id));
            plan.result_moves.push((t.id, survivor.id));
            group.merged_ids.push(t.id);
            rows.push(row(
                "prompt_templates",
                t.id,
                RowAction::Merged,
                Some(survivor.id),
                None,
            ));
            for v in self.db.list_versions(t.id).await? {
                match keys.get(&v.provider_version_key).copied() {
                    Some((into, first, last)) => {
                        plan.version_merges.push((v.id, into));
                        plan.result_version_moves.push((v.id, into));
                        let w = widened.entry(into).or_insert(SeenWindow {
                            version_id: into,
                            first_seen_at: first,
                            last_seen_at: last,
                        });
                        w.first_seen_at = w.first_seen_at.min(v.first_seen_at);
                        w.last_seen_at = w.last_seen_at.max(v.last_seen_at);
                        group.versions_merged += 1;
                        totals.versions_merged += 1;
                        rows.push(row(
                            "prompt_versions",
                            v.id,
                            RowAction::MergedVersion,
                            Some(into),
                            None,
                        ));
                    }
                    None => {
                        keys.insert(
                            v.provider_version_key.clone(),
                            (v.id, v.first_seen_at, v.last_seen_at),
                        );
                        plan.version_moves.push((v.id, survivor.id));
                        group.versions_repointed += 1;
                        rows.push(row(
                            "prompt_versions",
                            v.id,
                            RowAction::Repointed,
                            Some(survivor.id),
                            None,
                        ));
                    }
                }
            }
            let mut after = None;
            loop {
                let page = self.db.list_results(t.id, None, 500, after).await?;
                group.results_repointed += page.items.len() as u64;
                match page.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
        }
        totals.results_repointed += group.results_repointed;
        plan.seen_windows.extend(widened.into_values());
        Ok(group)
    }
}
