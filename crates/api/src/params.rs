//! Query-string parameters with field-named errors.

use std::collections::HashMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::Query;
use prompter_domain::{FieldError, OrgId};

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

    /// `limit`: 1 to `max`, `default` when absent.
    pub fn limit(&self, default: u32, max: u32) -> Result<u32, FieldError> {
        match self.get("limit") {
            None => Ok(default),
            Some(raw) => match raw.parse::<u32>() {
                Ok(n) if (1..=max).contains(&n) => Ok(n),
                _ => Err(FieldError::new(
                    "limit",
                    format!("must be an integer from 1 to {max}"),
                )),
            },
        }
    }

    /// `org_id` for a request by `principal`: a token's own organisation (naming another is
    /// refused), else the query's, else `default`.
    pub fn org_id_for(
        &self,
        principal: &crate::auth::Principal,
    ) -> Result<OrgId, crate::error::ApiError> {
        match principal.org(self.get("org_id"))? {
            Some(org) => Ok(OrgId::parse(&org)?),
            None => Ok(OrgId::default_org()),
        }
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
