//! Brand visibility: a workspace's entities (alias snapshots), the analysis of each answer,
//! visibility numbers ([`numbers`]) and re-analysis jobs ([`reanalyze`]).
//!
//! An answer is analysed when its run is recorded, with the workspace's current snapshot, in the
//! transaction that records the outcome. The analysis never calls a model: a re-analysis reads
//! stored answers only.

pub mod numbers;
pub mod reanalyze;

use std::sync::Arc;

use prompter_domain::entities::{parse_entity_set, EntitySet};
use prompter_domain::mentions::{Analysis, Matcher, EXTRACTOR_VERSION};
use prompter_domain::{FieldError, OrgId, WorkspaceId};
use prompter_storage::{
    timestamp, AliasSnapshot, AnalysisRow, MentionRow, PutSnapshot, StoredAnalysis, StoredAnswer,
};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::{Caller, ServiceError, Services};

/// The matching rules an analysis applies, recorded in `analysis_config.matching_rules`.
pub fn matching_rules() -> Value {
    json!({
        "normalisation": "NFKC + case folding",
        "accents": "optional",
        "word_boundaries": "unicode",
        "overlaps": "longest match wins",
        "urls": "citations, not mentions",
        "case_sensitive_aliases": true,
    })
}

/// A snapshot ready to analyse answers: its set and the matcher built from it.
#[derive(Clone)]
pub(crate) struct ActiveSnapshot {
    pub id: Uuid,
    pub set: Arc<EntitySet>,
    pub matcher: Arc<Matcher>,
}

impl ActiveSnapshot {
    pub fn of(snapshot: &AliasSnapshot) -> Result<Self, ServiceError> {
        let set: EntitySet = serde_json::from_value(snapshot.entities.clone()).map_err(|e| {
            prompter_storage::StorageError::internal_with(
                format!("alias snapshot {} holds an invalid entity set", snapshot.id),
                e,
            )
        })?;
        Ok(Self {
            id: snapshot.id,
            matcher: Arc::new(Matcher::new(&set)),
            set: Arc::new(set),
        })
    }

    /// The seeds' `analysis_config`, filled for this snapshot.
    pub fn analysis_config(&self, scope: &Value) -> Value {
        json!({
            "scope": scope,
            "alias_snapshot_id": self.id,
            "entities_checked": self.set.entities().map(|(e, _)| e.name.clone()).collect::<Vec<_>>(),
            "matching_rules": matching_rules(),
            "extractor_version": EXTRACTOR_VERSION,
            "timestamp": timestamp::format(&timestamp::now()),
        })
    }

    /// The analysis of one answer, as stored.
    pub fn analyse(&self, answer: &StoredAnswer) -> AnalysisRow {
        let cited = cited_urls(answer.citations.as_ref());
        let analysis = self.matcher.analyse(&answer.answer, &cited);
        AnalysisRow {
            result_id: answer.result_id,
            alias_snapshot_id: self.id,
            extractor_version: EXTRACTOR_VERSION.to_owned(),
            org_id: answer.org_id.clone(),
            workspace_id: answer.workspace_id.clone(),
            template_id: answer.template_id,
            model_id: answer.model_id.clone(),
            provider: answer.provider.clone(),
            country: answer.country.clone(),
            provider_version_key: answer.provider_version_key.clone(),
            is_fake: answer.is_fake,
            result_created_at: answer.created_at,
            mentions: mention_rows(&analysis),
            cited_domains: cited_domains(&analysis),
            analysis: analysis_json(self.id, &analysis),
            analysed_at: timestamp::now(),
        }
    }
}

/// Built matchers by snapshot id. A snapshot never changes, so its matcher can be kept; building
/// one (parsing the set, the automaton of every alias) costs more than analysing an answer, and
/// every run of a workspace uses the same snapshot until its entities change.
#[derive(Default)]
pub(crate) struct MatcherCache(std::sync::Mutex<std::collections::HashMap<Uuid, ActiveSnapshot>>);

/// Snapshots whose matchers are kept at most (the cache is emptied when full: snapshots change
/// rarely, so it refills with the few in use).
const MATCHER_CACHE: usize = 256;

impl MatcherCache {
    pub fn get_or_build(&self, snapshot: &AliasSnapshot) -> Result<ActiveSnapshot, ServiceError> {
        if let Some(hit) = self.0.lock().expect("matcher cache").get(&snapshot.id) {
            return Ok(hit.clone());
        }
        let built = ActiveSnapshot::of(snapshot)?;
        let mut cache = self.0.lock().expect("matcher cache");
        if cache.len() >= MATCHER_CACHE {
            cache.clear();
        }
        cache.insert(snapshot.id, built.clone());
        Ok(built)
    }
}

/// The URLs a provider reported as cited (`[{url, …}]`).
fn cited_urls(citations: Option<&Value>) -> Vec<String> {
    citations
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|c| c.get("url").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn mention_rows(a: &Analysis) -> Vec<MentionRow> {
    a.entities
        .iter()
        .filter(|e| e.mentioned || e.cited)
        .map(|e| MentionRow {
            entity: e.name.clone(),
            mentioned: e.mentioned,
            rank: e.rank.map(|r| r as i32),
            cited: e.cited,
        })
        .collect()
}

/// The distinct domains of the answer's citations, in order of first appearance.
fn cited_domains(a: &Analysis) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in &a.citations {
        if !c.domain.is_empty() && !out.contains(&c.domain) {
            out.push(c.domain.clone());
        }
    }
    out
}

/// The analysis as results show it.
fn analysis_json(snapshot: Uuid, a: &Analysis) -> Value {
    json!({
        "alias_snapshot_id": snapshot,
        "extractor_version": EXTRACTOR_VERSION,
        "entities": a.entities,
        "citations": a.citations,
    })
}

/// Of several analyses of one answer: the one of `current` (snapshot) and this extractor
/// version, else the newest (`analyses` is newest first).
pub(crate) fn preferred_analysis(
    analyses: &[StoredAnalysis],
    result_id: Uuid,
    current: Option<Uuid>,
) -> Option<Value> {
    let of_result = || analyses.iter().filter(move |a| a.result_id == result_id);
    of_result()
        .find(|a| Some(a.alias_snapshot_id) == current && a.extractor_version == EXTRACTOR_VERSION)
        .or_else(|| of_result().next())
        .map(|a| a.analysis.clone())
}

/// `PUT /api/workspaces/{id}/entities`: what was stored, and whether it was new.
#[derive(Debug, Clone)]
pub struct PutEntities {
    pub snapshot: AliasSnapshot,
    pub created: bool,
}

impl Services {
    /// The workspace, if the caller may see it.
    pub(crate) async fn visible_workspace(
        &self,
        caller: &Caller,
        org_id: Option<&str>,
        workspace: &str,
    ) -> Result<(OrgId, WorkspaceId), ServiceError> {
        let ws = self.get_workspace(caller, org_id, workspace).await?;
        let org = OrgId::parse(&ws.org_id).map_err(|_| ServiceError::WorkspaceNotFound)?;
        let id = WorkspaceId::parse(&ws.id).map_err(|_| ServiceError::WorkspaceNotFound)?;
        Ok((org, id))
    }

    /// Stores the entity set as an alias snapshot (the same content again: the existing one)
    /// and makes it the workspace's current one.
    pub async fn put_entities(
        &self,
        caller: &Caller,
        org_id: Option<&str>,
        workspace: &str,
        body: &Value,
    ) -> Result<PutEntities, ServiceError> {
        let (org, ws) = self.visible_workspace(caller, org_id, workspace).await?;
        caller.require_writer()?;
        let set = parse_entity_set(body).map_err(first_error)?;
        let now = timestamp::now();
        let snapshot = AliasSnapshot {
            id: Uuid::now_v7(),
            org_id: org.to_string(),
            workspace_id: ws.to_string(),
            content_hash: set.content_hash(),
            entities: serde_json::to_value(&set).expect("an entity set serialises"),
            created_at: now,
            current_since: now,
        };
        let put = self.db.put_alias_snapshot(&snapshot).await?;
        let created = matches!(put, PutSnapshot::Created(_));
        let snapshot = put.snapshot().clone();
        tracing::info!(action = "put_entities", org_id = %org, workspace_id = %ws,
            alias_snapshot_id = %snapshot.id, created);
        Ok(PutEntities { snapshot, created })
    }

    /// The workspace's current snapshot.
    pub async fn current_entities(
        &self,
        caller: &Caller,
        org_id: Option<&str>,
        workspace: &str,
    ) -> Result<Option<AliasSnapshot>, ServiceError> {
        let (org, ws) = self.visible_workspace(caller, org_id, workspace).await?;
        Ok(self
            .db
            .current_alias_snapshot(org.as_str(), ws.as_str())
            .await?)
    }

    /// The workspace's snapshots, newest first.
    pub async fn alias_snapshots(
        &self,
        caller: &Caller,
        org_id: Option<&str>,
        workspace: &str,
    ) -> Result<Vec<AliasSnapshot>, ServiceError> {
        let (org, ws) = self.visible_workspace(caller, org_id, workspace).await?;
        Ok(self
            .db
            .list_alias_snapshots(org.as_str(), ws.as_str())
            .await?)
    }

    /// The snapshot a request names (`alias_snapshot_id`, which must be one of the workspace's),
    /// else the workspace's current one (`None`: it has no entities yet).
    pub(crate) async fn snapshot_of(
        &self,
        org: &OrgId,
        ws: &WorkspaceId,
        raw_id: Option<&str>,
    ) -> Result<Option<AliasSnapshot>, ServiceError> {
        let Some(raw) = raw_id else {
            return Ok(self
                .db
                .current_alias_snapshot(org.as_str(), ws.as_str())
                .await?);
        };
        let id = Uuid::parse_str(raw)
            .map_err(|_| FieldError::new("alias_snapshot_id", "must be a UUID"))?;
        match self.db.get_alias_snapshot(id).await? {
            Some(s) if s.org_id == org.as_str() && s.workspace_id == ws.as_str() => Ok(Some(s)),
            _ => Err(
                FieldError::new("alias_snapshot_id", "is not a snapshot of this workspace").into(),
            ),
        }
    }

    /// The snapshot a run of this workspace is analysed with (none yet: not analysed).
    pub(crate) async fn active_snapshot(
        &self,
        org_id: &str,
        workspace_id: &str,
    ) -> Result<Option<ActiveSnapshot>, ServiceError> {
        match self.db.current_alias_snapshot(org_id, workspace_id).await? {
            Some(s) => self.matchers.get_or_build(&s).map(Some),
            None => Ok(None),
        }
    }

    /// The analysis of one result the caller may see.
    pub async fn analysis_of_result(
        &self,
        caller: &Caller,
        result_id: Uuid,
    ) -> Result<Option<Value>, ServiceError> {
        let result = self.get_result(caller, result_id).await?;
        Ok(self.result_analyses(&[&result]).await?.pop().flatten())
    }

    /// The analysis each result shows: of the workspace's current snapshot, else the newest.
    pub async fn result_analyses(
        &self,
        results: &[&prompter_storage::RunResult],
    ) -> Result<Vec<Option<Value>>, ServiceError> {
        if results.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<Uuid> = results.iter().map(|r| r.id).collect();
        let stored = self.db.analyses_of(&ids).await?;
        if stored.is_empty() {
            return Ok(vec![None; results.len()]);
        }
        // One current snapshot per workspace (a list is one workspace's).
        let mut current: Vec<((&str, &str), Option<Uuid>)> = Vec::new();
        let mut out = Vec::with_capacity(results.len());
        for r in results {
            let key = (r.org_id.as_str(), r.workspace_id.as_str());
            let snapshot = match current.iter().find(|(k, _)| *k == key) {
                Some((_, s)) => *s,
                None => {
                    let s = self
                        .db
                        .current_alias_snapshot(key.0, key.1)
                        .await?
                        .map(|s| s.id);
                    current.push((key, s));
                    s
                }
            };
            out.push(preferred_analysis(&stored, r.id, snapshot));
        }
        Ok(out)
    }
}

fn first_error(errors: Vec<FieldError>) -> ServiceError {
    ServiceError::Invalid(
        errors
            .into_iter()
            .next()
            .unwrap_or_else(|| FieldError::new("body", "is invalid")),
    )
}
