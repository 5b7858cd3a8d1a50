//! What runs and probes recorded: a template's versions and results, and one result.

use prompter_providers::{detect_provider, parse_response, Citation};
use prompter_storage::{ResultPage, RunResult, RunStatus, Template, Version};
use uuid::Uuid;

use crate::templates::PageRequest;
use crate::{Caller, ServiceError, Services};

impl Services {
    /// The provider versions recorded for `template` (as [`Services::get_template`] answered
    /// it: a page that shows the template reads it once), most recently first seen first.
    pub async fn list_versions(
        &self,
        caller: &Caller,
        template: &Template,
    ) -> Result<Vec<Version>, ServiceError> {
        Self::check_visible(caller, template)?;
        Ok(self.db.list_versions(template.id).await?)
    }

    /// `template`'s results (those of one batch, with `batch_id`), newest first,
    /// keyset-paginated.
    pub async fn list_results(
        &self,
        caller: &Caller,
        template: &Template,
        batch_id: Option<Uuid>,
        page: &PageRequest,
    ) -> Result<ResultPage, ServiceError> {
        let (limit, after) = page.resolve()?;
        Self::check_visible(caller, template)?;
        Ok(self
            .db
            .list_results(template.id, batch_id, limit, after)
            .await?)
    }

    /// One result, if the caller may see its template's workspace.
    pub async fn get_result(&self, caller: &Caller, id: Uuid) -> Result<RunResult, ServiceError> {
        self.db
            .get_result(id)
            .await?
            .filter(|r| caller.permits(&r.org_id, &r.workspace_id))
            .ok_or(ServiceError::ResultNotFound)
    }
}

/// What a succeeded answer was, beyond its text: stop reason, truncation, reasoning, citations.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct AnswerDetails {
    pub finish_reason: Option<String>,
    pub truncated: Option<bool>,
    pub reasoning: Option<String>,
    pub citations: Vec<Citation>,
}

/// The details recorded with `result`. A succeeded result written before they had columns
/// (migration 0008) gets them from its stored provider body, with the same parser: the body is
/// kept exactly as received, so nothing needs to be called again.
pub fn answer_details(result: &RunResult) -> AnswerDetails {
    let recorded =
        result.finish_reason.is_some() || result.truncated.is_some() || result.citations.is_some();
    if recorded || result.status != RunStatus::Succeeded {
        return AnswerDetails {
            finish_reason: result.finish_reason.clone(),
            truncated: result.truncated,
            reasoning: result.reasoning.clone(),
            citations: result
                .citations
                .as_ref()
                .and_then(|c| serde_json::from_value(c.clone()).ok())
                .unwrap_or_default(),
        };
    }
    let provider = detect_provider(Some(&result.provider), &result.model_id);
    match parse_response(provider, &result.model_id, &result.response) {
        Ok(p) => AnswerDetails {
            finish_reason: p.finish_reason,
            truncated: Some(p.truncated),
            reasoning: p.reasoning,
            citations: p.citations,
        },
        Err(_) => AnswerDetails::default(),
    }
}
