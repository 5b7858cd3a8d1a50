//! What a batch asks for, and the plan it becomes: one task per (template, country, sample).

use prompter_domain::config_hash::normalize_country;
use prompter_domain::countries::is_iso_alpha2;
use prompter_domain::{FieldError, OrgId, WorkspaceId};
use prompter_providers::{CompletionRequest, Purpose};
use prompter_storage::{timestamp, NewBatch, NewTask, Template, TemplateQuery};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::run::RunRequest;
use crate::{provider_for, run::provider_failure, Caller, ServiceError, Services};

pub const MAX_SAMPLES: u32 = 50;
/// Most tasks in one batch.
pub const MAX_TASKS: usize = 100_000;
/// Most templates named in one batch (and most a workspace default may cover).
pub const MAX_TEMPLATES: usize = 5_000;
pub const MAX_CONCURRENCY: u32 = 500;
pub const DEFAULT_CONCURRENCY: u32 = 10;

/// `POST /api/batches` (and a schedule's batch). Every field but `workspace_id` is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BatchRequest {
    pub org_id: Option<String>,
    pub workspace_id: String,
    /// Default: every active template of the workspace.
    pub template_ids: Option<Vec<String>>,
    /// Narrows each template's own country set (ISO 3166-1 alpha-2).
    pub countries: Option<Vec<String>>,
    /// Runs per (template, country): 1–50, default 1.
    pub samples: Option<u32>,
    pub brand_name: Option<String>,
    pub runtime_vars: Option<Map<String, Value>>,
    pub use_grounding: Option<bool>,
    /// Tasks of this batch running at once, across all workers: 1–500, default 10.
    pub max_concurrency: Option<u32>,
    /// Prompt + completion tokens after which no new task starts.
    pub token_budget: Option<u64>,
}

impl BatchRequest {
    /// The run request of one task.
    pub(crate) fn run_request(params: &Value, country: Option<&str>) -> RunRequest {
        RunRequest {
            country: country.map(str::to_owned),
            brand_name: params
                .get("brand_name")
                .and_then(Value::as_str)
                .map(str::to_owned),
            runtime_vars: params
                .get("runtime_vars")
                .and_then(Value::as_object)
                .cloned(),
            use_grounding: params.get("use_grounding").and_then(Value::as_bool),
            ..RunRequest::default()
        }
    }

    /// What every task runs with, as stored on the batch.
    fn params(&self) -> Value {
        json!({
            "brand_name": self.brand_name,
            "runtime_vars": self.runtime_vars,
            "use_grounding": self.use_grounding,
        })
    }
}

/// A validated batch: the tasks, and the templates that yield none.
pub(crate) struct BatchPlan {
    org: OrgId,
    workspace: WorkspaceId,
    tasks: Vec<NewTask>,
    skipped: Vec<Value>,
}

impl BatchPlan {
    pub(crate) fn into_new_batch(
        self,
        request: &BatchRequest,
        idempotency_key: Option<String>,
        schedule_id: Option<Uuid>,
        caller: &Caller,
    ) -> NewBatch {
        NewBatch {
            id: Uuid::now_v7(),
            org_id: self.org.as_str().to_owned(),
            workspace_id: self.workspace.as_str().to_owned(),
            schedule_id,
            idempotency_key,
            request_hash: request_hash(request),
            params: request.params(),
            skipped: Value::Array(self.skipped),
            max_concurrency: request.max_concurrency.unwrap_or(DEFAULT_CONCURRENCY) as i32,
            token_budget: request.token_budget.map(|b| b as i64),
            created_by: caller.label().map(str::to_owned),
            created_at: timestamp::now(),
            tasks: self.tasks,
        }
    }
}

/// SHA-256 of the request as parsed: the same body again (in any key order) has the same hash.
pub(crate) fn request_hash(request: &BatchRequest) -> String {
    let body = serde_json::to_string(request).expect("a batch request serialises");
    crate::run::sha256_hex(body.as_bytes())
}

fn normalized_countries(raw: &[String]) -> Result<Vec<String>, FieldError> {
    let mut out: Vec<String> = Vec::new();
    for (i, c) in raw.iter().enumerate() {
        let code = normalize_country(c);
        if !is_iso_alpha2(&code) {
            return Err(FieldError::new(
                format!("countries[{i}]"),
                format!("{c:?} is not an ISO 3166-1 alpha-2 country code"),
            ));
        }
        if !out.contains(&code) {
            out.push(code);
        }
    }
    Ok(out)
}

impl Services {
    /// Checks the request and lists its tasks: templates of this workspace, active, with a
    /// provider that can be called; every task's run request valid for its template.
    pub(crate) async fn plan_batch(
        &self,
        org: &OrgId,
        workspace: &WorkspaceId,
        request: &BatchRequest,
    ) -> Result<BatchPlan, ServiceError> {
        let samples = request.samples.unwrap_or(1);
        if !(1..=MAX_SAMPLES).contains(&samples) {
            return Err(
                FieldError::new("samples", format!("must be from 1 to {MAX_SAMPLES}")).into(),
            );
        }
        if let Some(c) = request.max_concurrency {
            if !(1..=MAX_CONCURRENCY).contains(&c) {
                return Err(FieldError::new(
                    "max_concurrency",
                    format!("must be from 1 to {MAX_CONCURRENCY}"),
                )
                .into());
            }
        }
        if let Some(b) = request.token_budget {
            if b == 0 || b > i64::MAX as u64 {
                return Err(FieldError::new("token_budget", "must be a positive integer").into());
            }
        }
        let countries = request
            .countries
            .as_deref()
            .map(normalized_countries)
            .transpose()?;
        if countries.as_ref().is_some_and(Vec::is_empty) {
            return Err(FieldError::new("countries", "must not be empty (omit it for all)").into());
        }
        let templates = self.batch_templates(org, workspace, request).await?;

        let mut tasks = Vec::new();
        let mut skipped = Vec::new();
        for t in &templates {
            let own: Vec<String> = t.country_set.iter().map(|c| normalize_country(c)).collect();
            let cells: Vec<Option<String>> = if own.is_empty() {
                vec![None]
            } else {
                let chosen: Vec<Option<String>> = own
                    .iter()
                    .filter(|c| countries.as_ref().is_none_or(|wanted| wanted.contains(c)))
                    .map(|c| Some(c.clone()))
                    .collect();
                if chosen.is_empty() {
                    skipped.push(json!({"template_id": t.id, "reason": "no_country_in_common"}));
                    continue;
                }
                chosen
            };
            self.check_runnable(t, request, &cells)?;
            for country in cells {
                for sample in 0..samples {
                    if tasks.len() == MAX_TASKS {
                        return Err(FieldError::new(
                            "samples",
                            format!("the batch would have more than {MAX_TASKS} tasks"),
                        )
                        .into());
                    }
                    tasks.push(NewTask {
                        id: Uuid::now_v7(),
                        template_id: t.id,
                        country: country.clone(),
                        sample_index: sample as i32,
                    });
                }
            }
        }
        if tasks.is_empty() {
            let field = if request.countries.is_some() {
                "countries"
            } else {
                "template_ids"
            };
            return Err(FieldError::new(field, "the batch has no task to run").into());
        }
        Ok(BatchPlan {
            org: org.clone(),
            workspace: workspace.clone(),
            tasks,
            skipped,
        })
    }

    /// The templates a batch runs: those named (each of this workspace and active: 422 naming
    /// the ids otherwise), or every active template of the workspace.
    async fn batch_templates(
        &self,
        org: &OrgId,
        workspace: &WorkspaceId,
        request: &BatchRequest,
    ) -> Result<Vec<Template>, ServiceError> {
        let Some(ids) = &request.template_ids else {
            let mut all = Vec::new();
            let mut after = None;
            loop {
                let page = self
                    .db
                    .list_templates(&TemplateQuery {
                        org_id: org.clone(),
                        workspace_id: Some(workspace.clone()),
                        allowed_workspaces: None,
                        include_deleted: false,
                        tag: None,
                        limit: 500,
                        after,
                    })
                    .await?;
                all.extend(page.items);
                if all.len() > MAX_TEMPLATES {
                    return Err(FieldError::new(
                        "template_ids",
                        format!("the workspace has more than {MAX_TEMPLATES} templates: name them"),
                    )
                    .into());
                }
                match page.next {
                    Some(n) => after = Some(n),
                    None => break,
                }
            }
            // Oldest first: the order the brand built its registry in.
            all.reverse();
            return Ok(all);
        };
        if ids.is_empty() {
            return Err(
                FieldError::new("template_ids", "must not be empty (omit it for all)").into(),
            );
        }
        if ids.len() > MAX_TEMPLATES {
            return Err(FieldError::new(
                "template_ids",
                format!("must have at most {MAX_TEMPLATES} entries"),
            )
            .into());
        }
        let mut templates = Vec::with_capacity(ids.len());
        let (mut unknown, mut deleted) = (Vec::new(), Vec::new());
        for raw in ids {
            let found = match Uuid::parse_str(raw) {
                Ok(id) => self.db.get_template(id).await?,
                Err(_) => None,
            };
            match found {
                // Another org's or workspace's template is as unknown as a missing one.
                Some(t) if t.org_id == org.as_str() && t.workspace_id == workspace.as_str() => {
                    if t.deleted_at.is_some() {
                        deleted.push(raw.clone());
                    } else if !templates.iter().any(|x: &Template| x.id == t.id) {
                        templates.push(t);
                    }
                }
                _ => unknown.push(raw.clone()),
            }
        }
        if !unknown.is_empty() {
            return Err(FieldError::new(
                "template_ids",
                format!(
                    "unknown in workspace {}: {}",
                    workspace.as_str(),
                    unknown.join(", ")
                ),
            )
            .into());
        }
        if !deleted.is_empty() {
            return Err(FieldError::new(
                "template_ids",
                format!("deleted: {}", deleted.join(", ")),
            )
            .into());
        }
        Ok(templates)
    }

    /// Every task of `template` could be sent: its run request is valid (variables included)
    /// and its provider can be called. Errors name the template.
    fn check_runnable(
        &self,
        template: &Template,
        request: &BatchRequest,
        countries: &[Option<String>],
    ) -> Result<(), ServiceError> {
        let params = request.params();
        for country in countries {
            let run = BatchRequest::run_request(&params, country.as_deref());
            let valid = run
                .validate(template)
                .and_then(|v| v.prompt(template))
                .map_err(|e| {
                    let field = match e.field.as_str() {
                        "country" => "countries".to_owned(),
                        other => other.to_owned(),
                    };
                    FieldError::new(field, format!("template {}: {}", template.id, e.message))
                })?;
            let _ = valid;
        }
        let provider = provider_for(template.provider.as_deref(), &template.model_id)?;
        self.gateway
            .preflight(&CompletionRequest {
                provider,
                model_id: template.model_id.clone(),
                system_instructions: None,
                prompt: String::new(),
                inference_params: Map::new(),
                use_grounding: false,
                purpose: Purpose::Run,
                max_retries: Some(0),
                country: None,
            })
            .map_err(|e| provider_failure(provider, e, None))
    }
}
