//! ensure-version: which model build answers this template now? One minimal provider call
//! (cached for the hour), then an upsert of the version row.

use prompter_providers::adapters::responses;
use prompter_providers::{CompletionRequest, Purpose};
use prompter_storage::{timestamp, Version, VersionObservation};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::cache::{probe_key, PROBE_TTL};
use crate::{bounded, provider_for, Caller, ServiceError, Services};

/// What an ensure-version asks for; every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EnsureVersionRequest {
    /// Must be the template's organisation.
    pub org_id: Option<String>,
    /// Must be the template's workspace.
    pub workspace_id: Option<String>,
    /// Default: detected from `model_id` (the template's own provider applies to its own model).
    pub provider: Option<String>,
    /// Another model than the template's records a version for that model on this template.
    pub model_id: Option<String>,
    /// Default: the template's.
    pub system_instructions: Option<String>,
    /// Default: the template's.
    pub inference_params: Option<Map<String, Value>>,
    /// Probe the API a grounded run uses (OpenAI and Azure answer grounded runs on the Responses
    /// API, whose version key is the resolved model rather than the fingerprint). Default false.
    pub use_grounding: Option<bool>,
}

/// What ensure-version answers.
#[derive(Debug, Clone)]
pub struct EnsuredVersion {
    pub version: Version,
    /// This probe created the version row (a new version key for the template).
    pub created: bool,
    /// Answered from the probe cache, without a provider call.
    pub cached: bool,
    /// The kill switch is on: this is the latest known version, not a fresh probe.
    pub probe_disabled: bool,
    /// The built-in fake answered the probe.
    pub is_fake: bool,
}

impl Services {
    /// Which build answers the template now (cached for the hour unless `force`).
    pub async fn ensure_version(
        &self,
        caller: &Caller,
        template_id: Uuid,
        body: &EnsureVersionRequest,
        force: bool,
    ) -> Result<EnsuredVersion, ServiceError> {
        let template = self.template_to_change(caller, template_id).await?;
        for (field, given, own) in [
            ("org_id", &body.org_id, &template.org_id),
            ("workspace_id", &body.workspace_id, &template.workspace_id),
        ] {
            if let Some(given) = bounded(field, given, 128)? {
                if given != own {
                    return Err(prompter_domain::FieldError::new(
                        field,
                        format!("template {template_id} belongs to {field} {own:?}, not {given:?}"),
                    )
                    .into());
                }
            }
        }
        let model_id = bounded("model_id", &body.model_id, 200)?
            .unwrap_or(&template.model_id)
            .to_owned();
        let explicit = match bounded("provider", &body.provider, 64)? {
            Some(p) => Some(p),
            // The template's provider applies to the template's model only.
            None if model_id == template.model_id => template.provider.as_deref(),
            None => None,
        };
        let provider = provider_for(explicit, &model_id)?;

        if self.probe_disabled {
            return match self.db.latest_version(template_id).await? {
                Some(version) => Ok(EnsuredVersion {
                    version,
                    created: false,
                    cached: false,
                    probe_disabled: true,
                    is_fake: false,
                }),
                None => Err(ServiceError::ProbeDisabled),
            };
        }

        let probe = CompletionRequest {
            provider,
            model_id: model_id.clone(),
            system_instructions: bounded(
                "system_instructions",
                &body.system_instructions,
                100_000,
            )?
            .map(str::to_owned)
            .or_else(|| template.system_instructions.clone()),
            prompt: "ping".to_owned(),
            inference_params: body
                .inference_params
                .clone()
                .unwrap_or_else(|| template.inference_params.clone()),
            use_grounding: body.use_grounding.unwrap_or(false),
            purpose: Purpose::Probe,
            max_retries: None,
            country: None,
        };
        let api = responses::applies(&probe).then_some("responses");
        let key = probe_key(
            &template.org_id,
            &template.workspace_id,
            &template.id.to_string(),
            provider.as_str(),
            &model_id,
            api,
            chrono::Utc::now(),
        );
        if !force {
            if let Some(version) = self.cached_version(&key, template_id).await? {
                return Ok(EnsuredVersion {
                    version,
                    created: false,
                    cached: true,
                    probe_disabled: false,
                    is_fake: self.gateway.is_fake(provider),
                });
            }
        }

        let completion = self
            .call_provider(probe)
            .await
            .map_err(|e| crate::run::provider_failure(provider, e, None))?;
        let upserted = self
            .db
            .upsert_version(&VersionObservation {
                org_id: template.org_id.clone(),
                workspace_id: template.workspace_id.clone(),
                template_id,
                provider: provider.as_str().to_owned(),
                provider_version_key: completion.provider_version_key.clone(),
                model_id,
                response_model: completion.response_model.clone(),
                system_fingerprint: completion.system_fingerprint.clone(),
                provider_response_id: completion.provider_response_id.clone(),
                seen_at: timestamp::now(),
            })
            .await?;
        self.probe_cache
            .put(&key, &upserted.version.id.to_string(), PROBE_TTL)
            .await;
        tracing::info!(action = "ensure_version", template_id = %template_id,
            org_id = %template.org_id, workspace_id = %template.workspace_id,
            version_id = %upserted.version.id, provider = provider.as_str(),
            model_id = %upserted.version.model_id,
            provider_version_key = %upserted.version.provider_version_key,
            created = upserted.created, latency_ms = completion.latency_ms, status = "success");
        Ok(EnsuredVersion {
            version: upserted.version,
            created: upserted.created,
            cached: false,
            probe_disabled: false,
            is_fake: completion.is_fake,
        })
    }

    async fn cached_version(
        &self,
        key: &str,
        template_id: Uuid,
    ) -> Result<Option<Version>, ServiceError> {
        let Some(id) = self.probe_cache.get(key).await else {
            return Ok(None);
        };
        let Ok(id) = Uuid::parse_str(&id) else {
            return Ok(None);
        };
        Ok(self
            .db
            .list_versions(template_id)
            .await?
            .into_iter()
            .find(|v| v.id == id))
    }
}
