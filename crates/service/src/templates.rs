//! The template registry: create (identical configurations refused), check-duplicate, get, list,
//! soft delete and restore.

use prompter_domain::near_duplicates;
use prompter_domain::{FieldError, TemplateSpec};
use prompter_storage::{
    CreateTemplate, Cursor, NewTemplate, RestoreTemplate, Template, TemplatePage, TemplateQuery,
};
use serde::Serialize;
use uuid::Uuid;

use crate::{Caller, ServiceError, Services};

/// Largest page a list request may ask for.
pub const MAX_PAGE_SIZE: u32 = 500;
pub const DEFAULT_PAGE_SIZE: u32 = 50;

/// Which page of a list: `limit` 1–[`MAX_PAGE_SIZE`] (default [`DEFAULT_PAGE_SIZE`]) and the
/// `next_cursor` of the previous page.
#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

impl PageRequest {
    pub(crate) fn resolve(&self) -> Result<(u32, Option<Cursor>), FieldError> {
        let limit = match self.limit {
            None => DEFAULT_PAGE_SIZE,
            Some(n) if (1..=MAX_PAGE_SIZE).contains(&n) => n,
            Some(_) => return Err(limit_error()),
        };
        let after = self
            .cursor
            .as_deref()
            .map(|c| Cursor::decode(c).map_err(|e| FieldError::new("cursor", e.to_string())))
            .transpose()?;
        Ok((limit, after))
    }
}

/// The error for a `limit` out of range or not a number (front ends parse the digits).
pub fn limit_error() -> FieldError {
    FieldError::new(
        "limit",
        format!("must be an integer from 1 to {MAX_PAGE_SIZE}"),
    )
}

/// `GET /api/prompt-templates`: which templates.
#[derive(Debug, Clone, Default)]
pub struct ListTemplates {
    pub org_id: Option<String>,
    pub workspace_id: Option<String>,
    pub include_deleted: bool,
    /// Only templates with this tag.
    pub tag: Option<String>,
    pub page: PageRequest,
}

/// `PATCH /api/prompt-templates/{id}`: the labels to change (absent: unchanged).
#[derive(Debug, Clone, Default)]
pub struct UpdateLabels {
    pub name: Option<String>,
    /// The whole new list of tags (`[]` removes them all).
    pub tags: Option<Vec<String>>,
}

/// Whether an active template of the workspace holds this configuration, and which ones nearly
/// do.
#[derive(Debug, Clone, Serialize)]
pub struct DuplicateCheck {
    pub exact_match: bool,
    pub template_id: Option<uuid::Uuid>,
    pub template_name: Option<String>,
    pub config_hash: String,
    /// At most [`near_duplicates::MAX_NEAR_MATCHES`], closest first; never the exact twin.
    pub near_matches: Vec<NearMatch>,
}

/// An active template whose configuration differs from another in one or two fields, named by
/// their canonical paths (`inference_params.temperature`, `country_set`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NearMatch {
    pub template_id: Uuid,
    pub name: String,
    pub differing_fields: Vec<String>,
}

/// Templates read as near-duplicate candidates of one configuration: enough for the five
/// closest even when many share the model and prompt but differ in more fields.
const NEAR_CANDIDATES: u32 = 50;

/// The canonical configuration as a JSON value (it is always an object Prompter wrote).
pub(crate) fn canonical_value(canonical_json: &str) -> serde_json::Value {
    serde_json::from_str(canonical_json).unwrap_or(serde_json::Value::Null)
}

/// A write refused because the configuration is taken (pre-check or unique index alike). Counted
/// here, so every front end's refusal counts.
fn count_duplicate() {
    use crate::telemetry::{DEDUP_BLOCKED, UNIQUE_VIOLATIONS};
    metrics::counter!(DEDUP_BLOCKED).increment(1);
    metrics::counter!(UNIQUE_VIOLATIONS, "table" => "prompt_templates").increment(1);
}

impl Services {
    /// The template `id` if the caller may see it (deleted ones too); not found otherwise:
    /// unknown, another organisation's and a workspace the caller may not use look the same.
    pub async fn get_template(&self, caller: &Caller, id: Uuid) -> Result<Template, ServiceError> {
        let template = self
            .db
            .get_template(id)
            .await?
            .ok_or(ServiceError::TemplateNotFound)?;
        Self::check_visible(caller, &template)?;
        Ok(template)
    }

    /// The template `id` for a change by the caller: not found unless it may see it (first, so
    /// existence is not revealed), forbidden unless it may write.
    pub(crate) async fn template_to_change(
        &self,
        caller: &Caller,
        id: Uuid,
    ) -> Result<Template, ServiceError> {
        let template = self.get_template(caller, id).await?;
        caller.require_writer()?;
        Ok(template)
    }

    /// Not found unless the caller may see `template`.
    pub(crate) fn check_visible(caller: &Caller, template: &Template) -> Result<(), ServiceError> {
        if caller.permits(&template.org_id, &template.workspace_id) {
            Ok(())
        } else {
            Err(ServiceError::TemplateNotFound)
        }
    }

    /// The organisation and workspace of a spec are the caller's to use.
    fn check_spec_scope(caller: &Caller, spec: &TemplateSpec) -> Result<(), ServiceError> {
        caller.check_org(&spec.org_id)?;
        if caller.permits_workspace(spec.workspace_id.as_str()) {
            Ok(())
        } else {
            Err(ServiceError::WorkspaceNotFound)
        }
    }

    /// Inserts the template unless an active one with the same configuration exists in its
    /// workspace (the unique index decides races: one winner, the others get its name).
    pub async fn create_template(
        &self,
        caller: &Caller,
        spec: TemplateSpec,
    ) -> Result<Template, ServiceError> {
        caller.require_writer()?;
        Self::check_spec_scope(caller, &spec)?;
        let name = spec.name.clone().unwrap_or_default();
        match self
            .db
            .create_template(NewTemplate::new(spec.clone(), name))
            .await?
        {
            CreateTemplate::Created(t) => {
                tracing::info!(action = "create_template", template_id = %t.id, org_id = %t.org_id,
                    workspace_id = %t.workspace_id, status = "created");
                Ok(t)
            }
            CreateTemplate::Duplicate {
                existing,
                workspace_name,
            } => {
                count_duplicate();
                tracing::info!(action = "create_template", template_id = %existing.id,
                    org_id = %existing.org_id, workspace_id = %existing.workspace_id,
                    status = "duplicate");
                let (_, near_matches) = self.twin_and_near(&spec).await?;
                Err(ServiceError::TemplateExists {
                    existing: Box::new(existing),
                    workspace_name,
                    near_matches,
                })
            }
        }
    }

    /// Whether this configuration is taken in its workspace. Never writes (readers may ask).
    pub async fn check_duplicate(
        &self,
        caller: &Caller,
        spec: &TemplateSpec,
    ) -> Result<DuplicateCheck, ServiceError> {
        Self::check_spec_scope(caller, spec)?;
        let (existing, near_matches) = self.twin_and_near(spec).await?;
        Ok(DuplicateCheck {
            exact_match: existing.is_some(),
            template_id: existing.as_ref().map(|t| t.id),
            template_name: existing.map(|t| t.name),
            config_hash: spec.config.hash.clone(),
            near_matches,
        })
    }

    /// The active twin of `spec` in its workspace and its near matches, from one indexed read.
    async fn twin_and_near(
        &self,
        spec: &TemplateSpec,
    ) -> Result<(Option<prompter_storage::TemplateHead>, Vec<NearMatch>), ServiceError> {
        let near_key = near_duplicates::near_key_of(&spec.model_id, &spec.user_prompt_template);
        let found = self
            .db
            .find_twin_and_near(
                &spec.org_id,
                &spec.workspace_id,
                &spec.config.hash,
                &near_key,
                NEAR_CANDIDATES,
            )
            .await?;
        let (twins, others): (Vec<_>, Vec<_>) = found
            .into_iter()
            .partition(|t| t.config_hash == spec.config.hash);
        if others.is_empty() {
            // The common case: no candidate, so no canonical JSON is parsed at all.
            return Ok((twins.into_iter().next(), Vec::new()));
        }
        let request = canonical_value(&spec.config.canonical_json);
        let candidates = others.into_iter().map(|t| {
            let config = canonical_value(&t.config_canonical_json);
            (t, config)
        });
        let near = near_duplicates::near_matches(&request, candidates)
            .into_iter()
            .map(|m| NearMatch {
                template_id: m.template.id,
                name: m.template.name,
                differing_fields: m.differing_fields,
            })
            .collect();
        Ok((twins.into_iter().next(), near))
    }

    /// Templates of an organisation the caller may see, newest first, keyset-paginated.
    pub async fn list_templates(
        &self,
        caller: &Caller,
        request: &ListTemplates,
    ) -> Result<TemplatePage, ServiceError> {
        // The org first: naming another organisation is forbidden even with a workspace filter.
        let org_id = caller.org(request.org_id.as_deref())?;
        let workspace_id = caller.workspace_filter(request.workspace_id.as_deref())?;
        let (limit, after) = request.page.resolve()?;
        let tag = request
            .tag
            .as_deref()
            .map(|t| prompter_domain::template_spec::parse_tag("tag", t))
            .transpose()?;
        Ok(self
            .db
            .list_templates(&TemplateQuery {
                org_id,
                workspace_id,
                allowed_workspaces: caller.allowed_workspaces(),
                include_deleted: request.include_deleted,
                tag,
                limit,
                after,
            })
            .await?)
    }

    /// Changes a template's labels: its name and tags. Neither is part of the configuration
    /// hash, so this never creates or breaks a duplicate. Deleted templates too.
    pub async fn update_template_labels(
        &self,
        caller: &Caller,
        id: Uuid,
        request: &UpdateLabels,
    ) -> Result<Template, ServiceError> {
        let name = request
            .name
            .as_deref()
            .map(prompter_domain::template_spec::parse_name)
            .transpose()?;
        let tags = match &request.tags {
            Some(tags) => Some(prompter_domain::template_spec::parse_tags(Some(
                &serde_json::json!(tags),
            ))?),
            None => None,
        };
        self.template_to_change(caller, id).await?;
        let updated = self
            .db
            .update_template_labels(id, name.as_deref(), tags.as_deref())
            .await?
            .ok_or(ServiceError::TemplateNotFound)?;
        tracing::info!(action = "update_template_labels", template_id = %id,
            org_id = %updated.org_id, workspace_id = %updated.workspace_id,
            name_changed = name.is_some(), tags_changed = tags.is_some());
        Ok(updated)
    }

    /// Soft delete (idempotent: deleting again keeps the first `deleted_at`).
    pub async fn delete_template(
        &self,
        caller: &Caller,
        id: Uuid,
    ) -> Result<Template, ServiceError> {
        self.template_to_change(caller, id).await?;
        let deleted = self
            .db
            .soft_delete_template(id)
            .await?
            .ok_or(ServiceError::TemplateNotFound)?;
        tracing::info!(action = "delete_template", template_id = %id, org_id = %deleted.org_id,
            workspace_id = %deleted.workspace_id, status = "deleted");
        Ok(deleted)
    }

    /// Restore a soft-deleted template, unless an active twin holds its configuration now.
    pub async fn restore_template(
        &self,
        caller: &Caller,
        id: Uuid,
    ) -> Result<Template, ServiceError> {
        self.template_to_change(caller, id).await?;
        match self.db.restore_template(id).await? {
            RestoreTemplate::Restored(t) => {
                tracing::info!(action = "restore_template", template_id = %id, org_id = %t.org_id,
                    workspace_id = %t.workspace_id, status = "restored");
                Ok(t)
            }
            RestoreTemplate::NotFound => Err(ServiceError::TemplateNotFound),
            RestoreTemplate::ActiveTwin {
                existing,
                workspace_name,
            } => {
                count_duplicate();
                // Restoring is about this one template: its near matches are not asked for.
                Err(ServiceError::TemplateExists {
                    existing: Box::new(existing),
                    workspace_name,
                    near_matches: Vec::new(),
                })
            }
        }
    }
}
