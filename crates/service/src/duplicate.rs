//! Check-duplicate: whether an active template of the workspace already holds a configuration.
//! Shared by the API's `POST /api/prompt-templates/check-duplicate` and the UI's live warning.

use prompter_domain::TemplateSpec;
use serde::Serialize;

use crate::{ServiceError, Services};

/// Whether an active template of the workspace holds this configuration.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DuplicateCheck {
    pub exact_match: bool,
    pub template_id: Option<uuid::Uuid>,
    pub template_name: Option<String>,
    pub config_hash: String,
}

impl Services {
    /// Never writes. The caller has decided that `spec`'s organisation and workspace are the
    /// viewer's to use.
    pub async fn check_duplicate(
        &self,
        spec: &TemplateSpec,
    ) -> Result<DuplicateCheck, ServiceError> {
        let existing = self
            .db
            .find_active_duplicate(&spec.org_id, &spec.workspace_id, &spec.config.hash)
            .await?;
        Ok(DuplicateCheck {
            exact_match: existing.is_some(),
            template_id: existing.as_ref().map(|t| t.id),
            template_name: existing.map(|t| t.name),
            config_hash: spec.config.hash.clone(),
        })
    }
}
