//! What a run asks for: the typed request every front end builds, validated against the template.

use std::collections::BTreeMap;

use prompter_domain::config_hash::normalize_country;
use prompter_domain::countries::is_iso_alpha2;
use prompter_domain::render::{render, MissingVariable};
use prompter_domain::FieldError;
use prompter_storage::Template;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::bounded;

pub const MAX_RUNTIME_VARS: usize = 100;
const MAX_PROMPT_CHARS: usize = 100_000;

/// A run request as a client sends it (`POST /api/prompt-templates/{id}/run`, the UI's run form,
/// a batch task). Every field is optional; [`RunRequest::validate`] checks it against the
/// template.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunRequest {
    /// Required when the template has a country set, and must be in it (after normalisation).
    pub country: Option<String>,
    /// Fills `{{brand_name}}` and `{{brand}}` unless `runtime_vars` sets them.
    pub brand_name: Option<String>,
    /// Used as is instead of rendering the template; not blank.
    pub rendered_prompt: Option<String>,
    /// Values of `{{name}}` placeholders: strings, numbers or booleans.
    pub runtime_vars: Option<Map<String, Value>>,
    pub use_grounding: Option<bool>,
    /// Default `brand`.
    pub analysis_scope: Option<String>,
}

/// A run request checked against its template.
pub(crate) struct ValidRun {
    pub country: Option<String>,
    pub brand_name: Option<String>,
    pub rendered_prompt: Option<String>,
    pub runtime_vars: BTreeMap<String, String>,
    pub use_grounding: bool,
    pub analysis_scope: String,
}

impl RunRequest {
    pub(crate) fn validate(&self, template: &Template) -> Result<ValidRun, FieldError> {
        let country = match bounded("country", &self.country, 16)? {
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
        let rendered_prompt =
            match bounded("rendered_prompt", &self.rendered_prompt, MAX_PROMPT_CHARS)? {
                Some(p) if p.trim().is_empty() => {
                    return Err(FieldError::new("rendered_prompt", "must not be empty"))
                }
                other => other.map(str::to_owned),
            };
        let mut runtime_vars = BTreeMap::new();
        if let Some(vars) = &self.runtime_vars {
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
        Ok(ValidRun {
            country,
            brand_name: bounded("brand_name", &self.brand_name, 200)?.map(str::to_owned),
            rendered_prompt,
            runtime_vars,
            use_grounding: self.use_grounding.unwrap_or(false),
            analysis_scope: bounded("analysis_scope", &self.analysis_scope, 64)?
                .unwrap_or("brand")
                .to_owned(),
        })
    }
}

impl ValidRun {
    /// The prompt sent to the model: `rendered_prompt` as given, or the template rendered with
    /// `runtime_vars` plus `country`, `brand_name` (and `brand`, its short form).
    pub fn prompt(&self, template: &Template) -> Result<String, FieldError> {
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
