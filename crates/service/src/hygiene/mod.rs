//! Registry hygiene (issue 13): importing a legacy database with its duplicates merged. The plan
//! is pure code (plan.rs); this module reads what the plan needs of the target, and applies it in
//! one transaction (`Database::apply_merge_plan`), so an interrupted import leaves the target as
//! it was. Operators run it from the CLI (`prompter import`), as the system caller.

pub mod dedupe;
pub mod export;
pub mod plan;
pub mod report;

use std::collections::HashSet;

use prompter_domain::{OrgId, WorkspaceId};
use prompter_legacy::LegacyData;
use prompter_storage::{IdTable, TemplateQuery};
use uuid::Uuid;

pub use report::{HygieneReport, MergeGroup, ReportRow, RowAction, Totals};

use crate::{Caller, ServiceError, Services};
use plan::{group_keys, plan_import, prepare, TargetState};

/// How far an import or dedupe got, for a progress bar.
pub trait Progress: Send + Sync {
    /// A new stage begins with `total` steps (0: unknown).
    fn stage(&self, name: &str, total: u64);
    fn advance(&self, steps: u64);
}

/// A progress that shows nothing (tests, the API).
pub struct Silent;

impl Progress for Silent {
    fn stage(&self, _: &str, _: u64) {}
    fn advance(&self, _: u64) {}
}

/// Ids looked up per storage call while reading the target (a step of the progress bar).
const ID_CHUNK: usize = 10_000;

impl Services {
    /// Imports a legacy source's rows, merging duplicate templates (see plan.rs for the rules).
    /// Admins only. With `dry_run`, returns the plan and writes nothing. Takes the data: the
    /// results (nearly all of an import's memory) move into the plan instead of being copied.
    pub async fn import_legacy(
        &self,
        caller: &Caller,
        mut data: LegacyData,
        dry_run: bool,
        progress: &dyn Progress,
    ) -> Result<HygieneReport, ServiceError> {
        caller.require_admin()?;
        let results = std::mem::take(&mut data.results);
        let data = &data;
        let prepared = prepare(data);
        let mut target = TargetState {
            existing_templates: self
                .existing(
                    IdTable::Templates,
                    data.templates.iter().map(|t| t.id),
                    progress,
                )
                .await?,
            existing_versions: self
                .existing(
                    IdTable::Versions,
                    data.versions.iter().map(|v| v.id),
                    progress,
                )
                .await?,
            existing_results: self
                .existing(IdTable::Results, results.iter().map(|r| r.id), progress)
                .await?,
            ..TargetState::default()
        };
        let keys = group_keys(&prepared, &target.existing_templates);
        let workspaces: HashSet<(String, String)> = keys
            .iter()
            .map(|(o, w, _)| (o.clone(), w.clone()))
            .collect();
        progress.stage("reading the target's templates", workspaces.len() as u64);
        for (org, ws) in workspaces {
            for t in self.templates_of(&org, &ws, false).await? {
                let key = (org.clone(), ws.clone(), t.config_hash.clone());
                if keys.contains(&key) {
                    let versions = self.db.list_versions(t.id).await?;
                    target.versions_of.insert(t.id, versions);
                    target.actives.insert(key, t);
                }
            }
            progress.advance(1);
        }
        progress.stage("planning", 0);
        let (plan, mut report) = plan_import(
            data,
            results,
            &prepared,
            &target,
            prompter_storage::timestamp::now(),
        );
        report.dry_run = dry_run;
        if !dry_run {
            progress.stage("writing (one transaction)", 0);
            let applied = self.db.apply_merge_plan(&plan).await?;
            tracing::info!(
                action = "import",
                templates = applied.templates_inserted,
                versions = applied.versions_inserted,
                results = applied.results_inserted,
                groups = report.groups.len(),
                "import written"
            );
        }
        Ok(report)
    }

    /// Which of `ids` exist in `table`, asked in chunks (each a progress step).
    async fn existing(
        &self,
        table: IdTable,
        ids: impl Iterator<Item = Uuid>,
        progress: &dyn Progress,
    ) -> Result<HashSet<Uuid>, ServiceError> {
        let ids: Vec<Uuid> = ids.collect();
        progress.stage(&format!("checking {} ids", table.table()), ids.len() as u64);
        let mut found = HashSet::new();
        for chunk in ids.chunks(ID_CHUNK) {
            found.extend(self.db.existing_ids(table, chunk).await?);
            progress.advance(chunk.len() as u64);
        }
        Ok(found)
    }

    /// Every template of a workspace (active ones only unless `include_deleted`), oldest first.
    pub(crate) async fn templates_of(
        &self,
        org: &str,
        ws: &str,
        include_deleted: bool,
    ) -> Result<Vec<prompter_storage::Template>, ServiceError> {
        let (Ok(org_id), Ok(ws_id)) = (OrgId::parse(org), WorkspaceId::parse(ws)) else {
            return Ok(Vec::new());
        };
        let mut all = Vec::new();
        let mut after = None;
        loop {
            let page = self
                .db
                .list_templates(&TemplateQuery {
                    org_id: org_id.clone(),
                    workspace_id: Some(ws_id.clone()),
                    allowed_workspaces: None,
                    include_deleted,
                    tag: None,
                    limit: 500,
                    after,
                })
                .await?;
            all.extend(page.items);
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        all.sort_by_key(|t| (t.created_at, t.id));
        Ok(all)
    }
}
