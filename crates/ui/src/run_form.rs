//! The forms that start work on a template's page: one run ([`RunForm`]) and a batch in all of
//! its countries ([`BatchForm`]). Both read variables the same way, and both leave every check
//! against the template to the services (so the messages are the API's).

use std::collections::BTreeMap;

use prompter_domain::render::{render, MissingVariable};
use prompter_service::{BatchRequest, RunRequest};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::views::FieldErrors;

/// Samples per country a batch form offers by default.
pub const DEFAULT_SAMPLES: u32 = 1;

/// The `{{name}}` placeholders a run must fill, found by the renderer itself.
pub fn placeholders(template: &str) -> Vec<String> {
    let mut vars = BTreeMap::new();
    let mut names = Vec::new();
    for _ in 0..200 {
        match render(template, &vars) {
            Ok(_) => break,
            Err(MissingVariable(name)) => {
                vars.insert(name.clone(), String::new());
                names.push(name);
            }
        }
    }
    names
}

/// `key=value` lines (blank lines and `#` comments skipped) as runtime variables; a line
/// without `=` is an error on `field`.
pub fn parse_runtime_vars(text: &str, field: &str) -> Result<Map<String, Value>, FieldErrors> {
    let mut vars = Map::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                vars.insert(k.trim().to_owned(), Value::String(v.trim().to_owned()));
            }
            _ => {
                let mut e = FieldErrors::default();
                e.add(
                    field,
                    format!("line {} must look like name=value, not {line:?}", i + 1),
                );
                return Err(e);
            }
        }
    }
    Ok(vars)
}

/// A form field's text, `None` when blank.
pub fn given(s: &str) -> Option<String> {
    Some(s.trim()).filter(|s| !s.is_empty()).map(str::to_owned)
}

/// A whole number of samples typed into `field` (blank: the default); anything else is an error
/// on that field, before the services see it (they take a number, not text).
pub fn parse_samples(raw: &str, field: &str) -> Result<Option<u32>, FieldErrors> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse::<u32>().map(Some).map_err(|_| {
        let mut e = FieldErrors::default();
        e.add(
            field,
            format!(
                "samples must be a whole number from 1 to {}",
                prompter_service::batches::MAX_SAMPLES
            ),
        );
        e
    })
}

/// The run form's fields as posted.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RunForm {
    pub country: String,
    pub brand_name: String,
    /// `key=value` lines.
    pub runtime_vars: String,
    /// A checkbox: present when ticked.
    pub use_grounding: Option<String>,
}

impl RunForm {
    /// The run request of this form (blank fields are not given); the services validate it
    /// against the template.
    pub fn to_request(&self) -> Result<RunRequest, FieldErrors> {
        let vars = parse_runtime_vars(&self.runtime_vars, "runtime_vars")?;
        Ok(RunRequest {
            country: given(&self.country),
            brand_name: given(&self.brand_name),
            rendered_prompt: None,
            runtime_vars: (!vars.is_empty()).then_some(vars),
            use_grounding: Some(self.use_grounding.is_some()),
            analysis_scope: None,
        })
    }
}

/// The form field a run error belongs to.
pub fn run_field_of(api_field: &str) -> &'static str {
    match api_field.split(['.', '[']).next().unwrap_or_default() {
        "country" => "country",
        "brand_name" => "brand_name",
        "runtime_vars" => "runtime_vars",
        _ => "form",
    }
}

/// "Run in all countries": one batch of this template, every country of its set, `samples` runs
/// each. Field names start with `batch_` so they never clash with the run form's on the page.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct BatchForm {
    pub batch_samples: String,
    pub batch_brand_name: String,
    pub batch_runtime_vars: String,
    /// A random key per rendering of the form: a double submit creates one batch, not two.
    pub idempotency_key: String,
}

impl Default for BatchForm {
    fn default() -> Self {
        Self {
            batch_samples: DEFAULT_SAMPLES.to_string(),
            batch_brand_name: String::new(),
            batch_runtime_vars: String::new(),
            idempotency_key: new_form_key(),
        }
    }
}

/// A fresh idempotency key for a form (the services scope keys to the organisation).
pub fn new_form_key() -> String {
    format!("ui:{}", uuid::Uuid::new_v4().simple())
}

impl BatchForm {
    /// The batch of template `template_id` in `workspace_id`: all its countries (`countries`
    /// left out), the samples and brand name typed.
    pub fn to_request(
        &self,
        workspace_id: &str,
        template_id: &str,
    ) -> Result<BatchRequest, FieldErrors> {
        let samples = parse_samples(&self.batch_samples, "batch_samples")?;
        let vars = parse_runtime_vars(&self.batch_runtime_vars, "batch_runtime_vars")?;
        Ok(BatchRequest {
            workspace_id: workspace_id.to_owned(),
            template_ids: Some(vec![template_id.to_owned()]),
            samples,
            brand_name: given(&self.batch_brand_name),
            runtime_vars: (!vars.is_empty()).then_some(vars),
            ..BatchRequest::default()
        })
    }

    /// The form field a batch error belongs to (`samples` → `batch_samples`; a missing
    /// `{{brand_name}}` → the brand field).
    pub fn field_of(api_field: &str) -> &'static str {
        if matches!(api_field, "runtime_vars.brand_name" | "runtime_vars.brand") {
            return "batch_brand_name";
        }
        if api_field == "runtime_vars.country" {
            return "batch_form";
        }
        match api_field.split(['.', '[']).next().unwrap_or_default() {
            "samples" => "batch_samples",
            "brand_name" => "batch_brand_name",
            "runtime_vars" => "batch_runtime_vars",
            _ => "batch_form",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_placeholders_like_the_renderer() {
        assert_eq!(
            placeholders("{{brand_name}} in {{ country }}, {{x}} {{x}} {not} {{ }}"),
            vec!["brand_name", "country", "x"]
        );
    }

    #[test]
    fn runtime_vars_are_lines() {
        let f = RunForm {
            runtime_vars: "a = 1\n\n# comment\nb=two=2".into(),
            use_grounding: Some("on".into()),
            ..Default::default()
        };
        let vars = serde_json::json!({"a": "1", "b": "two=2"});
        assert_eq!(
            f.to_request().unwrap(),
            RunRequest {
                runtime_vars: vars.as_object().cloned(),
                use_grounding: Some(true),
                ..Default::default()
            }
        );
        let blank = RunForm {
            country: " us ".into(),
            brand_name: "  ".into(),
            ..Default::default()
        };
        assert_eq!(
            blank.to_request().unwrap(),
            RunRequest {
                country: Some("us".into()),
                use_grounding: Some(false),
                ..Default::default()
            }
        );
        let bad = RunForm {
            runtime_vars: "just text".into(),
            ..Default::default()
        };
        assert!(bad
            .to_request()
            .unwrap_err()
            .get("runtime_vars")
            .unwrap()
            .contains("line 1"));
    }

    #[test]
    fn a_batch_form_is_one_template_in_all_its_countries() {
        let f = BatchForm {
            batch_samples: " 3 ".into(),
            batch_brand_name: "Acme".into(),
            batch_runtime_vars: "segment=b2b".into(),
            ..Default::default()
        };
        let r = f.to_request("ws", "t-1").unwrap();
        assert_eq!(r.workspace_id, "ws");
        assert_eq!(r.template_ids, Some(vec!["t-1".to_owned()]));
        assert_eq!(r.countries, None, "every country of the template");
        assert_eq!(r.samples, Some(3));
        assert_eq!(r.brand_name.as_deref(), Some("Acme"));
        assert_eq!(r.runtime_vars.unwrap()["segment"], "b2b");
        // Blank fields are left to the services' defaults.
        let blank = BatchForm {
            batch_samples: String::new(),
            ..Default::default()
        };
        let r = blank.to_request("ws", "t").unwrap();
        assert_eq!(
            (r.samples, r.brand_name, r.runtime_vars),
            (None, None, None)
        );
        for bad in ["two", "-1", "1.5"] {
            let f = BatchForm {
                batch_samples: bad.into(),
                ..Default::default()
            };
            let e = f.to_request("ws", "t").unwrap_err();
            assert!(
                e.get("batch_samples").unwrap().contains("whole number"),
                "{bad}"
            );
        }
        assert_eq!(BatchForm::field_of("samples"), "batch_samples");
        assert_eq!(BatchForm::field_of("runtime_vars.x"), "batch_runtime_vars");
        assert_eq!(
            BatchForm::field_of("runtime_vars.brand"),
            "batch_brand_name"
        );
        assert_eq!(BatchForm::field_of("runtime_vars.country"), "batch_form");
        assert_eq!(BatchForm::field_of("template_ids"), "batch_form");
        assert_ne!(
            BatchForm::default().idempotency_key,
            BatchForm::default().idempotency_key
        );
    }
}
