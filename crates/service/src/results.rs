//! What runs and probes recorded: a template's versions and results, and one result.

use prompter_storage::{ResultPage, RunResult, Template, Version};
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
