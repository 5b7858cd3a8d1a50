//! What a run writes: the result row before the call, and its outcome after it.

use prompter_providers::{detect_provider, Completion, Provider, ProviderError};
use prompter_storage::{RunRecord, RunResult, RunStatus, Template, VersionObservation};
use serde_json::{json, Value};
use uuid::Uuid;

use super::RunOutcome;
use crate::ServiceError;

/// The error a run records when the process stopped (shutdown past its grace, or a crash) before
/// the provider answered.
pub fn interrupted_error() -> Value {
    json!({
        "code": "interrupted",
        "message": "the service stopped before the provider answered (shutdown or crash); the provider may have been called",
    })
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

pub(crate) fn outcome_of(result: &RunResult, idempotent_replay: bool) -> RunOutcome {
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
        details: crate::results::answer_details(result),
        idempotent_replay,
    }
}

/// What a finished run answers its waiters: the outcome, or the error of a failed attempt.
pub(crate) fn answer_of(
    stored: &RunResult,
    idempotent_replay: bool,
) -> Result<RunOutcome, ServiceError> {
    match stored.status {
        RunStatus::Succeeded => Ok(outcome_of(stored, idempotent_replay)),
        RunStatus::Running | RunStatus::Failed => {
            let error = stored.error.as_ref();
            let text = |key: &str| error.and_then(|e| e.get(key)).and_then(Value::as_str);
            Err(ServiceError::ProviderFailed {
                provider: detect_provider(Some(&stored.provider), &stored.model_id),
                provider_status: error
                    .and_then(|e| e.get("provider_status"))
                    .and_then(Value::as_u64)
                    .and_then(|s| u16::try_from(s).ok()),
                message: text("message").unwrap_or("the run failed").to_owned(),
                result_id: Some(stored.id),
            })
        }
    }
}

/// The seed's result counters: inserts by status, OpenAI fingerprint capture, key validity.
pub(crate) fn count_result(result: &RunResult, provider: Provider) {
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

/// The record of an answered run: the completion's bodies move into the result (no copies).
pub(crate) fn succeeded(
    mut result: RunResult,
    c: Completion,
    template: &Template,
    provider: Provider,
) -> RunRecord {
    result.status = RunStatus::Succeeded;
    result.error = None;
    result.system_fingerprint = c.system_fingerprint.clone();
    result.used_grounding = Some(c.used_grounding);
    result.latency_ms = c.latency_ms as i64;
    result.usage = c.usage.as_ref().and_then(|u| serde_json::to_value(u).ok());
    result.is_fake = c.is_fake;
    result.finish_reason = c.finish_reason.clone();
    result.truncated = Some(c.truncated);
    result.reasoning = c.reasoning.clone();
    result.citations = serde_json::to_value(&c.citations).ok();
    let observation = VersionObservation {
        org_id: template.org_id.clone(),
        workspace_id: template.workspace_id.clone(),
        template_id: template.id,
        provider: provider.as_str().to_owned(),
        provider_version_key: c.provider_version_key,
        model_id: template.model_id.clone(),
        response_model: c.response_model,
        system_fingerprint: c.system_fingerprint,
        provider_response_id: c.provider_response_id,
        seen_at: result.created_at,
    };
    result.request["provider_request"] = c.request_body;
    // The provider's body as received; the extracted answer has its own column, so a replay can
    // return it without the audit trail holding anything the provider did not send.
    result.response = c.response_body;
    result.answer = Some(c.content);
    RunRecord {
        analysis: None,
        observation: Some(observation),
        result,
        task: None,
    }
}

/// The record of a failed attempt (no version: nothing answered).
pub(crate) fn failed(mut result: RunResult, e: &ProviderError) -> RunRecord {
    let retry_after_ms = match e {
        ProviderError::Http { retry_after_ms, .. } => *retry_after_ms,
        _ => None,
    };
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
    result.answer = None;
    result.error = Some(json!({
        "code": "PROVIDER_ERROR",
        "provider_status": status,
        "message": e.to_string(),
        "attempts": attempts,
        "retry_after_ms": retry_after_ms,
    }));
    RunRecord {
        analysis: None,
        observation: None,
        result,
        task: None,
    }
}
