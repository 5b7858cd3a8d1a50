//! Query-string parameters with field-named errors.

use std::collections::HashMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::Query;
use prompter_domain::FieldError;
use prompter_service::templates::limit_error;
use prompter_service::PageRequest;

use crate::error::ApiError;

pub struct Params(HashMap<String, String>);

impl Params {
    pub fn from_query(
        q: Result<Query<HashMap<String, String>>, QueryRejection>,
    ) -> Result<Self, ApiError> {
        q.map(|Query(map)| Params(map))
            .map_err(|e| ApiError::Invalid(FieldError::new("query", e.body_text())))
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// `limit` and `cursor` (the service checks the range and decodes the cursor).
    pub fn page(&self) -> Result<PageRequest, FieldError> {
        let limit = self
            .get("limit")
            .map(|raw| raw.parse::<u32>().map_err(|_| limit_error()))
            .transpose()?;
        Ok(PageRequest {
            limit,
            cursor: self.get("cursor").map(str::to_owned),
        })
    }

    /// A UUID parameter (`batch_id`, `workspace_id` filters …).
    pub fn uuid(&self, key: &'static str) -> Result<Option<uuid::Uuid>, FieldError> {
        self.get(key)
            .map(|raw| {
                uuid::Uuid::parse_str(raw).map_err(|_| FieldError::new(key, "must be a UUID"))
            })
            .transpose()
    }

    pub fn bool(&self, key: &'static str) -> Result<Option<bool>, FieldError> {
        self.get(key)
            .map(|raw| match raw {
                "true" | "1" => Ok(true),
                "false" | "0" => Ok(false),
                _ => Err(FieldError::new(key, "must be true or false")),
            })
            .transpose()
    }
}
