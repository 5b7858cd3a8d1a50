//! The create-template form: its fields, and their translation into the very JSON body the API
//! takes, validated by the API's own `parse_template_spec` so that every message matches.
//!
//! `static/app.js` builds the same body in the browser for the duplicate check
//! (`buildBody`); keep the two in step.

use prompter_domain::template_spec::check_json_shape;
use prompter_domain::{parse_template_spec, NameRule, OrgId, SpecError, TemplateSpec};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::views::FieldErrors;

/// Providers a template may name explicitly (empty: detected from the model id).
pub const PROVIDERS: [&str; 5] = [
    "openai",
    "azure-openai",
    "google",
    "anthropic",
    "openai-compatible",
];

/// Model ids offered as suggestions; any id may be typed.
pub const MODEL_SUGGESTIONS: [&str; 8] = [
    "gpt-4o",
    "gpt-4o-mini",
    "o3-mini",
    "gemini-2.0-flash",
    "gemini-1.5-pro",
    "claude-3-5-sonnet-latest",
    "claude-3-5-haiku-latest",
    "azure/my-deployment",
];

/// The form's fields as posted (every one a string; empty means "not given").
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TemplateForm {
    pub name: String,
    pub system_instructions: String,
    pub user_prompt_template: String,
    /// Comma-separated codes: `US, CH, uk`.
    pub country_set: String,
    pub model_id: String,
    pub provider: String,
    pub inference_params: String,
    pub tools_spec: String,
    pub response_format: String,
    pub retrieval_params: String,
    pub grounding_profile_id: String,
    pub grounding_snapshot_id: String,
}

/// The JSON-valued fields, in form order.
pub const JSON_FIELDS: [&str; 4] = [
    "inference_params",
    "tools_spec",
    "response_format",
    "retrieval_params",
];

/// The form field a validation error belongs to: `country_set[1]` → `country_set`,
/// `inference_params.stop[0]` → `inference_params`; `None` for the whole form.
pub fn form_field_of(api_field: &str) -> Option<&'static str> {
    const FIELDS: [&str; 12] = [
        "name",
        "system_instructions",
        "user_prompt_template",
        "country_set",
        "model_id",
        "provider",
        "inference_params",
        "tools_spec",
        "response_format",
        "retrieval_params",
        "grounding_profile_id",
        "grounding_snapshot_id",
    ];
    let head = api_field
        .split(['[', '.'])
        .next()
        .unwrap_or(api_field)
        .trim();
    FIELDS.into_iter().find(|f| *f == head)
}

/// `"US, ch ,, uk"` → `["US", "ch", "uk"]` (commas, semicolons or new lines separate codes).
pub fn split_countries(raw: &str) -> Vec<String> {
    raw.split([',', ';', '\n'])
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect()
}

impl TemplateForm {
    /// A form pre-filled from an existing template (to start a copy).
    pub fn from_template(t: &prompter_service::records::Template) -> Self {
        let json_or_empty = |v: Option<Value>| match v {
            None => String::new(),
            Some(Value::Object(m)) if m.is_empty() => String::new(),
            Some(v) => crate::views::pretty(&v),
        };
        Self {
            name: format!("{} (copy)", t.name),
            system_instructions: t.system_instructions.clone().unwrap_or_default(),
            user_prompt_template: t.user_prompt_template.clone(),
            country_set: t.country_set.join(", "),
            model_id: t.model_id.clone(),
            provider: t.provider.clone().unwrap_or_default(),
            inference_params: json_or_empty(Some(Value::Object(t.inference_params.clone()))),
            tools_spec: json_or_empty(t.tools_spec.clone().map(Value::Array)),
            response_format: json_or_empty(t.response_format.clone().map(Value::Object)),
            retrieval_params: json_or_empty(t.retrieval_params.clone().map(Value::Object)),
            grounding_profile_id: t.grounding_profile_id.clone().unwrap_or_default(),
            grounding_snapshot_id: t.grounding_snapshot_id.clone().unwrap_or_default(),
        }
    }

    fn json_field(&self, field: &str) -> &str {
        match field {
            "inference_params" => &self.inference_params,
            "tools_spec" => &self.tools_spec,
            "response_format" => &self.response_format,
            _ => &self.retrieval_params,
        }
    }

    /// The create request the API would receive for this form. Empty fields are left out (as a
    /// client would leave them out); JSON textareas must hold JSON (messages name the field).
    pub fn to_body(&self, org: &OrgId, workspace_id: &str) -> Result<Value, FieldErrors> {
        let mut errors = FieldErrors::default();
        let mut body = Map::new();
        body.insert("org_id".into(), Value::String(org.to_string()));
        body.insert(
            "workspace_id".into(),
            Value::String(workspace_id.to_owned()),
        );
        // Required fields go as typed (so a blank one gets the API's own message); optional
        // ones are left out when blank.
        for (key, value) in [
            ("name", &self.name),
            ("user_prompt_template", &self.user_prompt_template),
            ("model_id", &self.model_id),
        ] {
            if !value.is_empty() {
                body.insert(key.to_owned(), Value::String(value.clone()));
            }
        }
        let mut text = |key: &str, value: &str| {
            if !value.trim().is_empty() {
                body.insert(key.to_owned(), Value::String(value.to_owned()));
            }
        };
        text("system_instructions", &self.system_instructions);
        text("provider", self.provider.trim());
        text("grounding_profile_id", self.grounding_profile_id.trim());
        text("grounding_snapshot_id", self.grounding_snapshot_id.trim());
        let countries = split_countries(&self.country_set);
        if !countries.is_empty() {
            body.insert(
                "country_set".into(),
                Value::Array(countries.into_iter().map(Value::String).collect()),
            );
        }
        for field in JSON_FIELDS {
            let raw = self.json_field(field).trim();
            if raw.is_empty() {
                continue;
            }
            match serde_json::from_str::<Value>(raw) {
                Ok(v) => {
                    body.insert(field.to_owned(), v);
                }
                Err(e) => errors.add(field, format!("{field} is not valid JSON: {e}")),
            }
        }
        if errors.is_empty() {
            Ok(Value::Object(body))
        } else {
            Err(errors)
        }
    }

    /// Validates the form exactly as `POST /api/prompt-templates` validates its body. The
    /// messages are the API's (`"{field} {message}"`), attached to the form field at fault.
    pub fn validate(&self, org: &OrgId, workspace_id: &str) -> Result<TemplateSpec, FieldErrors> {
        let body = self.to_body(org, workspace_id)?;
        let mut errors = FieldErrors::default();
        let fail = |errors: &mut FieldErrors, field: &str, message: &str| {
            let text = format!("{field} {message}");
            errors.add(form_field_of(field).unwrap_or("form"), text);
        };
        if let Err(e) = check_json_shape(&body) {
            fail(&mut errors, &e.field, &e.message);
            return Err(errors);
        }
        match parse_template_spec(&body, NameRule::Required) {
            Ok(spec) => Ok(spec),
            Err(SpecError::Invalid(e)) => {
                fail(&mut errors, &e.field, &e.message);
                Err(errors)
            }
            Err(SpecError::WorkspaceRequired) => {
                errors.add("form", "workspace_id (brand) is required");
                Err(errors)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> TemplateForm {
        TemplateForm {
            name: "Hello".into(),
            user_prompt_template: "Say hello in {{country}}".into(),
            country_set: "us, CH".into(),
            model_id: "gpt-4o".into(),
            inference_params: r#"{"temperature": 0.2}"#.into(),
            ..Default::default()
        }
    }

    #[test]
    fn builds_the_api_body() {
        let body = valid().to_body(&OrgId::default_org(), "ws").unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "org_id": "default", "workspace_id": "ws", "name": "Hello",
                "user_prompt_template": "Say hello in {{country}}",
                "country_set": ["us", "CH"], "model_id": "gpt-4o",
                "inference_params": {"temperature": 0.2}
            })
        );
        let spec = valid().validate(&OrgId::default_org(), "ws").unwrap();
        assert_eq!(spec.config.hash.len(), 64);
    }

    #[test]
    fn messages_are_the_apis_on_the_right_field() {
        let mut f = valid();
        f.country_set = "US, XX".into();
        let e = f.validate(&OrgId::default_org(), "ws").unwrap_err();
        assert_eq!(
            e.get("country_set"),
            Some(r#"country_set[1] "XX" is not an ISO 3166-1 alpha-2 country code"#)
        );

        let mut f = valid();
        f.inference_params = "{temperature".into();
        f.tools_spec = "{}".into();
        let e = f.validate(&OrgId::default_org(), "ws").unwrap_err();
        assert!(e
            .get("inference_params")
            .unwrap()
            .starts_with("inference_params is not valid JSON"));

        let mut f = valid();
        f.tools_spec = "{}".into();
        let e = f.validate(&OrgId::default_org(), "ws").unwrap_err();
        assert_eq!(e.get("tools_spec"), Some("tools_spec must be a JSON array"));

        let mut f = valid();
        f.name = "  ".into();
        let e = f.validate(&OrgId::default_org(), "ws").unwrap_err();
        assert_eq!(e.get("name"), Some("name must not be empty"));
    }

    #[test]
    fn maps_api_fields_to_form_fields() {
        assert_eq!(form_field_of("country_set[3]"), Some("country_set"));
        assert_eq!(
            form_field_of("inference_params.stop[0]"),
            Some("inference_params")
        );
        assert_eq!(form_field_of("body"), None);
        assert_eq!(split_countries(" us ;ch\n\n,uk,"), vec!["us", "ch", "uk"]);
    }
}
