//! `prompter export`: a workspace as JSONL that `prompter import` reads back — the workspace
//! (its name), templates
//! (deleted ones too), their versions and, on request, their results, each line tagged with its
//! `kind`. Deterministic (oldest first, ids breaking ties), so an export, an import into an empty
//! database and a second export give the same bytes.
//!
//! A merged template is exported deleted with its `merged_into`. Left out, because import
//! cannot restore them: version fields the seeds' tables do not have (response model, system
//! fingerprint, provider response id) and a result's batch, idempotency and reasoning fields.

use prompter_storage::{timestamp, RunResult, Template, Version, Workspace};
use serde_json::{json, Value};

use crate::{Caller, ServiceError, Services};

impl Services {
    /// The workspace's lines, in order. Readers may export what they may see.
    pub async fn export_workspace(
        &self,
        caller: &Caller,
        org_id: Option<&str>,
        workspace: &str,
        with_results: bool,
    ) -> Result<Vec<String>, ServiceError> {
        let record = self.get_workspace(caller, org_id, workspace).await?;
        let templates = self.templates_of(&record.org_id, &record.id, true).await?;
        let mut lines = vec![workspace_line(&record).to_string()];
        lines.extend(templates.iter().map(|t| template_line(t).to_string()));
        let mut versions = Vec::new();
        let mut results = Vec::new();
        for t in &templates {
            versions.extend(self.db.list_versions(t.id).await?);
            if with_results {
                let mut after = None;
                loop {
                    let page = self.db.list_results(t.id, None, 500, after).await?;
                    results.extend(page.items);
                    match page.next {
                        Some(next) => after = Some(next),
                        None => break,
                    }
                }
            }
        }
        versions.sort_by_key(|v| (v.first_seen_at, v.id));
        results.sort_by_key(|r| (r.created_at, r.id));
        lines.extend(versions.iter().map(|v| version_line(v).to_string()));
        lines.extend(results.iter().map(|r| result_line(r).to_string()));
        Ok(lines)
    }
}

fn ts(t: &chrono::DateTime<chrono::Utc>) -> Value {
    Value::String(timestamp::format(t))
}

fn workspace_line(w: &Workspace) -> Value {
    json!({
        "kind": "workspace",
        "org_id": w.org_id,
        "id": w.id,
        "name": w.name,
        "created_at": ts(&w.created_at),
    })
}

fn template_line(t: &Template) -> Value {
    let mut line = json!({
        "kind": "template",
        "id": t.id,
        "org_id": t.org_id,
        "workspace_id": t.workspace_id,
        "name": t.name,
        "provider": t.provider,
        "system_instructions": t.system_instructions,
        "user_prompt_template": t.user_prompt_template,
        "country_set": t.country_set,
        "model_id": t.model_id,
        "inference_params": t.inference_params,
        "tools_spec": t.tools_spec,
        "response_format": t.response_format,
        "grounding_profile_id": t.grounding_profile_id,
        "grounding_snapshot_id": t.grounding_snapshot_id,
        "retrieval_params": t.retrieval_params,
        "created_by": t.created_by,
        "tags": t.tags,
        "config_hash": t.config_hash,
        "created_at": ts(&t.created_at),
        "deleted_at": t.deleted_at.as_ref().map(ts),
    });
    // Only on merged templates: import restores it, so the old id still names its survivor.
    if let Some(survivor) = t.merged_into {
        line["merged_into"] = json!(survivor);
    }
    line
}

fn version_line(v: &Version) -> Value {
    json!({
        "kind": "version",
        "id": v.id,
        "org_id": v.org_id,
        "workspace_id": v.workspace_id,
        "template_id": v.template_id,
        "provider": v.provider,
        "provider_version_key": v.provider_version_key,
        "model_id": v.model_id,
        "fingerprint_captured_at": ts(&v.fingerprint_captured_at),
        "first_seen_at": ts(&v.first_seen_at),
        "last_seen_at": ts(&v.last_seen_at),
    })
}

fn result_line(r: &RunResult) -> Value {
    json!({
        "kind": "result",
        "id": r.id,
        "org_id": r.org_id,
        "workspace_id": r.workspace_id,
        "template_id": r.template_id,
        "version_id": r.version_id,
        "provider_version_key": r.provider_version_key,
        "system_fingerprint": r.system_fingerprint,
        "request": r.request,
        "response": r.response,
        "analysis_config": r.analysis_config,
        "rendered_prompt_hash": r.rendered_prompt_hash,
        "run_country": r.run_country,
        "used_grounding": r.used_grounding,
        "created_at": ts(&r.created_at),
        "provider": r.provider,
        "model_id": r.model_id,
        "answer": r.answer,
        "status": r.status,
        "error": r.error,
        "latency_ms": r.latency_ms,
        "usage": r.usage,
        "is_fake": r.is_fake,
        "finish_reason": r.finish_reason,
        "truncated": r.truncated,
        "citations": r.citations,
    })
}
