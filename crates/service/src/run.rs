//! Running a template: render the prompt, call the model once (the version comes from the run's
//! own response, no separate probe), then record version and result in one transaction. A
//! provider failure is recorded too, as a failed result: nothing is lost.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use prompter_domain::config_hash::normalize_country;
use prompter_domain::countries::is_iso_alpha2;
use prompter_domain::render::{render, MissingVariable};
use prompter_domain::FieldError;
use prompter_providers::{Completion, CompletionRequest, Provider, ProviderError, Purpose};
use prompter_storage::{
    timestamp, RecordedRun, RunRecord, RunResult, RunStatus, Template, VersionObservation,
};
use serde::Serialize;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::request::Body;
use crate::{provider_for, ServiceError, Services};

/// How long an idempotency key is remembered.
pub const IDEMPOTENCY_WINDOW: chrono::Duration = chrono::Duration::hours(24);
pub const MAX_RUNTIME_VARS: usize = 100;

/// What a run answers (the seed's fields first).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunOutcome {
    pub result_id: Uuid,
    pub version_id: Option<Uuid>,
    pub provider_version_key: Option<String>,
    pub system_fingerprint: Option<String>,
    pub used_grounding: Option<bool>,
    pub content: String,
    pub provider: String,
    pub model_id: String,
    pub is_fake: bool,
    pub latency_ms: i64,
    /// A repeated request with the same `Idempotency-Key`: the first run's result, no new call.
    pub idempotent_replay: bool,
}

/// A validated run request.
struct RunRequest {
    country: Option<String>,
    brand_name: Option<String>,
    rendered_prompt: Option<String>,
    runtime_vars: BTreeMap<String, String>,
    use_grounding: bool,
    analysis_scope: String,
}

fn parse_run_request(body: Option<&Value>, template: &Template) -> Result<RunRequest, FieldError> {
    let b = Body::of(body)?;
    let country = match b.string("country", 16)? {
        None => None,
        Some(raw) => {
            let code = normalize_country(raw);
            if !is_iso_alpha2(&code) {
                return Err(FieldError::new(
                    "country",
                    format!("{raw:?} is not an ISO 3166-1 alpha-2 country code"),
                ));
            }
            Some(code)
        }
    };
    let template_countries: Vec<String> = template
        .country_set
        .iter()
        .map(|c| normalize_country(c))
        .collect();
    if !template_countries.is_empty() {
        match &country {
            None => {
                return Err(FieldError::new(
                    "country",
                    format!(
                        "is required: the template runs in {}",
                        template_countries.join(", ")
                    ),
                ))
            }
            Some(c) if !template_countries.contains(c) => {
                return Err(FieldError::new(
                    "country",
                    format!(
                        "{c} is not in the template's country set ({})",
                        template_countries.join(", ")
                    ),
                ))
            }
            _ => {}
        }
    }
    let rendered_prompt = match b.string("rendered_prompt", 100_000)? {
        Some(p) if p.trim().is_empty() => {
            return Err(FieldError::new("rendered_prompt", "must not be empty"))
        }
        other => other.map(str::to_owned),
    };
    let mut runtime_vars = BTreeMap::new();
    if let Some(vars) = b.object("runtime_vars")? {
        if vars.len() > MAX_RUNTIME_VARS {
            return Err(FieldError::new(
                "runtime_vars",
                format!("must have at most {MAX_RUNTIME_VARS} entries"),
            ));
        }
        for (name, value) in vars {
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(v) => v.to_string(),
                _ => {
                    return Err(FieldError::new(
                        format!("runtime_vars.{name}"),
                        "must be a string, number or boolean",
                    ))
                }
            };
            runtime_vars.insert(name.clone(), text);
        }
    }
    Ok(RunRequest {
        country,
        brand_name: b.string("brand_name", 200)?.map(str::to_owned),
        rendered_prompt,
        runtime_vars,
        use_grounding: b.bool("use_grounding")?.unwrap_or(false),
        analysis_scope: b
            .string("analysis_scope", 64)?
            .unwrap_or("brand")
            .to_owned(),
    })
}

impl RunRequest {
    /// The prompt sent to the model: `rendered_prompt` as given, or the template rendered with
    /// `runtime_vars` plus `country`, `brand_name` (and `brand`, its short form).
    fn prompt(&self, template: &Template) -> Result<String, FieldError> {
        if let Some(p) = &self.rendered_prompt {
            return Ok(p.clone());
        }
        let mut vars = self.runtime_vars.clone();
        if let Some(c) = &self.country {
            vars.entry("country".into()).or_insert_with(|| c.clone());
        }
        if let Some(b) = &self.brand_name {
            vars.entry("brand_name".into()).or_insert_with(|| b.clone());
            vars.entry("brand".into()).or_insert_with(|| b.clone());
        }
        render(&template.user_prompt_template, &vars).map_err(|MissingVariable(name)| {
            FieldError::new(
                format!("runtime_vars.{name}"),
                format!("the template uses {{{{{name}}}}} but no value was given"),
            )
        })
    }
}

/// Per-key async locks, dropped when no run holds them.
#[derive(Default)]
pub(crate) struct KeyLocks(Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>);

impl KeyLocks {
    fn lock_for(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.0.lock().expect("locks");
        map.retain(|_, l| Arc::strong_count(l) > 1);
        map.entry(key.to_owned()).or_default().clone()
    }
}

pub(crate) fn provider_failure(
    provider: Provider,
    e: ProviderError,
    result_id: Option<Uuid>,
) -> ServiceError {
    match e {
        ProviderError::UnknownProvider { model_id } => ServiceError::UnknownProvider { model_id },
        ProviderError::NotConfigured { provider, hint } => {
            ServiceError::ProviderNotConfigured { provider, hint }
        }
        other => {
            let provider_status = match &other {
                ProviderError::Http { status, .. } => Some(*status),
                ProviderError::MalformedResponse { http_status, .. } => Some(*http_status),
                _ => None,
            };
            ServiceError::ProviderFailed {
                provider,
                provider_status,
                message: other.to_string(),
                result_id,
            }
        }
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn outcome_of(result: &RunResult, idempotent_replay: bool) -> RunOutcome {
    let content = result.answer_text();
    RunOutcome {
        result_id: result.id,
        version_id: result.version_id,
        provider_version_key: result.provider_version_key.clone(),
        system_fingerprint: result.system_fingerprint.clone(),
        used_grounding: result.used_grounding,
        content,
        provider: result.provider.clone(),
        model_id: result.model_id.clone(),
        is_fake: result.is_fake,
        latency_ms: result.latency_ms,
        idempotent_replay,
    }
}

impl Services {
    /// Runs template `template_id` with the JSON `body`. `idempotency_key` comes from the
    /// `Idempotency-Key` header.
    pub async fn run_template(
        &self,
        template_id: Uuid,
        body: Option<&Value>,
        idempotency_key: Option<&str>,
    ) -> Result<RunOutcome, ServiceError> {
        let template = self.template(template_id).await?;
        if template.deleted_at.is_some() {
            return Err(ServiceError::TemplateDeleted);
        }
        let request = parse_run_request(body, &template)?;
        let prompt = request.prompt(&template)?;
        let provider = provider_for(template.provider.as_deref(), &template.model_id)?;

        // One model call per idempotency key: concurrent repeats in this process wait here, and
        // the database's unique index settles repeats across processes.
        let request_hash = sha256_hex(body.cloned().unwrap_or(Value::Null).to_string().as_bytes());
        let key_lock = idempotency_key.map(|k| {
            self.idempotency_locks
                .lock_for(&format!("{template_id}:{k}"))
        });
        let _guard = match &key_lock {
            Some(l) => Some(l.lock().await),
            None => None,
        };
        if let Some(key) = idempotency_key {
            let since = chrono::Utc::now() - IDEMPOTENCY_WINDOW;
            if let Some(first) = self
                .db
                .find_idempotent_result(template_id, key, since)
                .await?
            {
                return replay(first, &request_hash);
            }
        }

        let call = self
            .call_provider(CompletionRequest {
                provider,
                model_id: template.model_id.clone(),
                system_instructions: template.system_instructions.clone(),
                prompt: prompt.clone(),
                inference_params: template.inference_params.clone(),
                use_grounding: request.use_grounding,
                purpose: Purpose::Run,
            })
            .await;
        let call = match call {
            // Configuration, not a provider attempt: nothing to record.
            Err(
                e @ (ProviderError::NotConfigured { .. } | ProviderError::UnknownProvider { .. }),
            ) => return Err(provider_failure(provider, e, None)),
            other => other,
        };

        let snapshot = json!({
            "template_id": template.id,
            "org_id": template.org_id,
            "workspace_id": template.workspace_id,
            "provider": provider.as_str(),
            "model_id": template.model_id,
            "country": request.country,
            "brand_name": request.brand_name,
            "runtime_vars": request.runtime_vars,
            "use_grounding": request.use_grounding,
            "analysis_scope": request.analysis_scope,
            "rendered_prompt": prompt,
            "system_instructions": template.system_instructions,
            "inference_params": template.inference_params,
            "config_hash": template.config_hash,
        });
        let now = timestamp::now();
        let mut result = RunResult {
            id: Uuid::now_v7(),
            org_id: template.org_id.clone(),
            workspace_id: template.workspace_id.clone(),
            template_id,
            version_id: None,
            provider: provider.as_str().to_owned(),
            model_id: template.model_id.clone(),
            provider_version_key: None,
            system_fingerprint: None,
            request: snapshot,
            response: Value::Object(Map::new()),
            answer: None,
            analysis_config: json!({
                "scope": request.analysis_scope,
                "alias_snapshot_id": null,
                "entities_checked": request.brand_name.iter().collect::<Vec<_>>(),
                "matching_rules": "exact",
                "timestamp": timestamp::format(&now),
            }),
            rendered_prompt_hash: sha256_hex(prompt.as_bytes()),
            run_country: request.country.clone(),
            used_grounding: None,
            status: RunStatus::Succeeded,
            error: None,
            latency_ms: 0,
            usage: None,
            is_fake: self.gateway.is_fake(provider),
            idempotency_key: idempotency_key.map(str::to_owned),
            request_hash: idempotency_key.map(|_| request_hash.clone()),
            created_at: now,
        };

        let record = match &call {
            Ok(c) => succeeded(&mut result, c, &template, provider),
            Err(e) => {
                failed(&mut result, e);
                RunRecord {
                    observation: None,
                    result,
                }
            }
        };
        let recorded = match self.db.record_run(record).await {
            Ok(r) => r,
            Err(e) => {
                metrics::counter!(crate::telemetry::RESULT_WRITE_FAILURES).increment(1);
                return Err(e.into());
            }
        };
        let (stored, replayed) = match recorded {
            RecordedRun::Recorded { result, .. } => {
                count_result(&result, provider);
                (result, false)
            }
            RecordedRun::IdempotentReplay(first) => {
                return replay(first, &request_hash);
            }
        };
        tracing::info!(action = "run_template", template_id = %template_id,
            org_id = %template.org_id, workspace_id = %template.workspace_id,
            version_id = ?stored.version_id, provider = provider.as_str(),
            model_id = %template.model_id, provider_version_key = ?stored.provider_version_key,
            status = stored.status.as_str(), latency_ms = stored.latency_ms, is_fake = stored.is_fake);
        match call {
            Ok(_) => Ok(outcome_of(&stored, replayed)),
            Err(e) => Err(provider_failure(provider, e, Some(stored.id))),
        }
    }
}

/// The seed's result counters: inserts by status, OpenAI fingerprint capture, key validity.
fn count_result(result: &RunResult, provider: Provider) {
    use crate::telemetry as t;
    metrics::counter!(t::RESULTS_INSERTED, "status" => result.status.as_str()).increment(1);
    if result.status != RunStatus::Succeeded {
        return;
    }
    if provider.is_openai_family() {
        metrics::counter!(t::OPENAI_RESULTS).increment(1);
        if result.system_fingerprint.is_some() {
            metrics::counter!(t::OPENAI_FINGERPRINT_PRESENT).increment(1);
        }
    }
    let validity = match result.provider_version_key.as_deref() {
        Some(k) if !k.is_empty() && k != "unknown" => "valid",
        _ => "unknown",
    };
    metrics::counter!(t::RESULTS_VERSION_KEY, "validity" => validity).increment(1);
}

fn replay(first: RunResult, request_hash: &str) -> Result<RunOutcome, ServiceError> {
    if first.request_hash.as_deref() != Some(request_hash) {
        return Err(ServiceError::IdempotencyKeyReused);
    }
    Ok(outcome_of(&first, true))
}

fn succeeded(
    result: &mut RunResult,
    c: &Completion,
    template: &Template,
    provider: Provider,
) -> RunRecord {
    result.request["provider_request"] = c.request_body.clone();
    // The provider's body as received; the extracted answer has its own column, so a replay can
    // return it without the audit trail holding anything the provider did not send.
    result.response = c.response_body.clone();
    result.answer = Some(c.content.clone());
    result.system_fingerprint = c.system_fingerprint.clone();
    result.used_grounding = Some(c.used_grounding);
    result.latency_ms = c.latency_ms as i64;
    result.usage = c.usage.as_ref().and_then(|u| serde_json::to_value(u).ok());
    result.is_fake = c.is_fake;
    RunRecord {
        observation: Some(VersionObservation {
            org_id: template.org_id.clone(),
            workspace_id: template.workspace_id.clone(),
            template_id: template.id,
            provider: provider.as_str().to_owned(),
            provider_version_key: c.provider_version_key.clone(),
            model_id: template.model_id.clone(),
            response_model: c.response_model.clone(),
            system_fingerprint: c.system_fingerprint.clone(),
            provider_response_id: c.provider_response_id.clone(),
            seen_at: result.created_at,
        }),
        result: result.clone(),
    }
}

fn failed(result: &mut RunResult, e: &ProviderError) {
    let (status, body, attempts) = match e {
        ProviderError::Http {
            status,
            body,
            attempts,
            ..
        } => (Some(*status), body.clone(), *attempts),
        ProviderError::MalformedResponse {
            http_status,
            body,
            attempts,
            ..
        } => (Some(*http_status), body.clone(), *attempts),
        ProviderError::Timeout { attempts, .. } | ProviderError::Transport { attempts, .. } => {
            (None, None, *attempts)
        }
        _ => (None, None, 0),
    };
    result.status = RunStatus::Failed;
    result.response = body.unwrap_or_else(|| json!({}));
    result.error = Some(json!({
        "code": "PROVIDER_ERROR",
        "provider_status": status,
        "message": e.to_string(),
        "attempts": attempts,
    }));
}
