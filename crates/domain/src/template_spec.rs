//! A create-template request, validated.
//!
//! The body arrives as a JSON value (the HTTP layer only checks that it *is* JSON); this module
//! turns it into a [`TemplateSpec`] or names the first offending field. Validation runs the config
//! hasher's own normalisation, so "empty after normalisation" and "not a country after
//! normalisation" mean exactly what the hash will see. Unknown top-level fields are ignored, as the
//! seed's FastAPI (pydantic) service did, so its clients keep working.

use serde_json::{Map, Value};

use crate::config_hash::{config_hash, normalize_country, normalize_text, ConfigHash};
use crate::countries::is_iso_alpha2;
use crate::ids::{OrgId, WorkspaceId};
use crate::FieldError;

/// Limits on a template's fields. Explicit so that clients (and docs) can rely on them.
pub mod limits {
    pub const NAME_MAX_CHARS: usize = 200;
    pub const PROMPT_MAX_CHARS: usize = 100_000;
    pub const SYSTEM_INSTRUCTIONS_MAX_CHARS: usize = 100_000;
    pub const MODEL_ID_MAX_CHARS: usize = 200;
    pub const PROVIDER_MAX_CHARS: usize = 64;
    pub const REFERENCE_MAX_CHARS: usize = 256;
    pub const COUNTRY_SET_MAX_ITEMS: usize = 250;
    pub const TOOLS_SPEC_MAX_ITEMS: usize = 128;
    /// Deepest JSON nesting accepted anywhere in a request body.
    pub const JSON_MAX_DEPTH: usize = 32;
}

/// A validated template configuration plus its scope and label.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateSpec {
    pub org_id: OrgId,
    pub workspace_id: WorkspaceId,
    /// `None` only where the caller allowed it (check-duplicate).
    pub name: Option<String>,
    pub provider: Option<String>,
    pub system_instructions: Option<String>,
    pub user_prompt_template: String,
    /// As the client sent it; the normalised form lives in the canonical JSON.
    pub country_set: Vec<String>,
    pub model_id: String,
    pub inference_params: Map<String, Value>,
    pub tools_spec: Option<Vec<Value>>,
    pub response_format: Option<Map<String, Value>>,
    pub grounding_profile_id: Option<String>,
    pub grounding_snapshot_id: Option<String>,
    pub retrieval_params: Option<Map<String, Value>>,
    pub created_by: Option<String>,
    /// Labels (not part of the configuration hash): see [`parse_tags`].
    pub tags: Vec<String>,
    pub config: ConfigHash,
}

/// Whether the request must carry a template name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    Required,
    Optional,
}

/// Why a create request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpecError {
    /// `workspace_id` missing, null or empty: the seed answers 400 for this, not 422.
    WorkspaceRequired,
    Invalid(FieldError),
}

impl From<FieldError> for SpecError {
    fn from(e: FieldError) -> Self {
        SpecError::Invalid(e)
    }
}

/// Checks what any request body must satisfy before field validation: nesting at most
/// [`limits::JSON_MAX_DEPTH`], no U+0000 in any string or key (PostgreSQL text and JSONB cannot
/// store it, and no prompt needs it), and numbers that fit a double (PostgreSQL's numeric cannot
/// hold `1e99999`, and Python would turn it into `Infinity`). Returns the offending path.
pub fn check_json_shape(v: &Value) -> Result<(), FieldError> {
    if json_depth(v) > limits::JSON_MAX_DEPTH {
        return Err(FieldError::new(
            "body",
            format!(
                "JSON nesting must be at most {} levels",
                limits::JSON_MAX_DEPTH
            ),
        ));
    }
    check_values(v, &mut String::new())
}

fn check_values(v: &Value, path: &mut String) -> Result<(), FieldError> {
    let here = |path: &String| {
        if path.is_empty() {
            "body".to_owned()
        } else {
            path.clone()
        }
    };
    match v {
        Value::String(s) if s.contains('\0') => Err(FieldError::new(
            here(path),
            "must not contain the NUL character",
        )),
        Value::Number(n) => {
            let text = n.to_string();
            let is_float = text.contains(['.', 'e', 'E']);
            let finite = text.parse::<f64>().map(f64::is_finite).unwrap_or(false);
            if is_float && !finite {
                return Err(FieldError::new(here(path), "number is out of range"));
            }
            Ok(())
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                check_values(item, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        Value::Object(map) => {
            for (key, item) in map {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                if key.contains('\0') {
                    return Err(FieldError::new(
                        here(path),
                        "keys must not contain the NUL character",
                    ));
                }
                check_values(item, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Depth of a JSON value: scalars are 0, `[]` is 1, `[[1]]` is 2.
pub fn json_depth(v: &Value) -> usize {
    match v {
        Value::Array(items) => 1 + items.iter().map(json_depth).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(json_depth).max().unwrap_or(0),
        _ => 0,
    }
}

struct Fields<'a>(&'a Map<String, Value>);

impl<'a> Fields<'a> {
    /// A field that is absent or `null` is `None`.
    fn get(&self, field: &str) -> Option<&'a Value> {
        self.0.get(field).filter(|v| !v.is_null())
    }

    fn string(&self, field: &'static str) -> Result<Option<&'a str>, FieldError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(FieldError::new(field, "must be a string")),
        }
    }

    fn bounded_string(
        &self,
        field: &'static str,
        max_chars: usize,
    ) -> Result<Option<String>, FieldError> {
        Ok(crate::at_most_chars(field, self.string(field)?, max_chars)?.map(str::to_owned))
    }

    fn object(&self, field: &'static str) -> Result<Option<Map<String, Value>>, FieldError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m.clone())),
            Some(_) => Err(FieldError::new(field, "must be a JSON object")),
        }
    }
}

/// Validates a create-template body (or a check-duplicate body, with [`NameRule::Optional`]).
pub fn parse_template_spec(body: &Value, name_rule: NameRule) -> Result<TemplateSpec, SpecError> {
    let Value::Object(map) = body else {
        return Err(FieldError::new("body", "must be a JSON object").into());
    };
    let f = Fields(map);

    let workspace_id = match f.get("workspace_id") {
        None => return Err(SpecError::WorkspaceRequired),
        Some(Value::String(s)) if s.is_empty() => return Err(SpecError::WorkspaceRequired),
        Some(Value::String(s)) => WorkspaceId::parse(s)?,
        Some(_) => return Err(FieldError::new("workspace_id", "must be a string").into()),
    };
    let org_id = match f.string("org_id")? {
        None => OrgId::default_org(),
        Some(s) => OrgId::parse(s)?,
    };

    let name = match (f.string("name")?, name_rule) {
        (None, NameRule::Required) => return Err(FieldError::new("name", "is required").into()),
        (None, NameRule::Optional) => None,
        (Some(s), _) => Some(parse_name(s)?),
    };

    let provider = f.bounded_string("provider", limits::PROVIDER_MAX_CHARS)?;
    if let Some(p) = &provider {
        if p.is_empty()
            || !p
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(FieldError::new(
                "provider",
                "must be a provider name such as openai, google, anthropic or azure-openai",
            )
            .into());
        }
    }

    let system_instructions =
        f.bounded_string("system_instructions", limits::SYSTEM_INSTRUCTIONS_MAX_CHARS)?;

    let user_prompt_template = f
        .bounded_string("user_prompt_template", limits::PROMPT_MAX_CHARS)?
        .ok_or_else(|| FieldError::new("user_prompt_template", "is required"))?;
    if normalize_text(&user_prompt_template).is_empty() {
        return Err(FieldError::new(
            "user_prompt_template",
            "must not be empty after whitespace normalisation",
        )
        .into());
    }

    let country_set = parse_country_set(f.get("country_set"))?;

    let model_id = f
        .bounded_string("model_id", limits::MODEL_ID_MAX_CHARS)?
        .ok_or_else(|| FieldError::new("model_id", "is required"))?;
    if normalize_text(&model_id).is_empty() {
        return Err(FieldError::new("model_id", "must not be empty").into());
    }

    let inference_params = f.object("inference_params")?.unwrap_or_default();
    let tools_spec = match f.get("tools_spec") {
        None => None,
        Some(Value::Array(items)) if items.len() > limits::TOOLS_SPEC_MAX_ITEMS => {
            return Err(FieldError::new(
                "tools_spec",
                format!("must have at most {} items", limits::TOOLS_SPEC_MAX_ITEMS),
            )
            .into())
        }
        Some(Value::Array(items)) => Some(items.clone()),
        Some(_) => return Err(FieldError::new("tools_spec", "must be a JSON array").into()),
    };
    let response_format = f.object("response_format")?;
    let retrieval_params = f.object("retrieval_params")?;
    let grounding_profile_id =
        f.bounded_string("grounding_profile_id", limits::REFERENCE_MAX_CHARS)?;
    let grounding_snapshot_id =
        f.bounded_string("grounding_snapshot_id", limits::REFERENCE_MAX_CHARS)?;
    let created_by = f.bounded_string("created_by", limits::REFERENCE_MAX_CHARS)?;

    // Every field is now type-checked, so the hasher can only refuse what Python's json would
    // (an integer literal of more than 4300 digits); report it against the field holding it.
    let config = config_hash(body).map_err(|e| FieldError::new(e.field, e.message))?;

    let tags = parse_tags(f.get("tags"))?;
    Ok(TemplateSpec {
        org_id,
        workspace_id,
        name,
        provider,
        system_instructions,
        user_prompt_template,
        country_set,
        model_id,
        inference_params,
        tools_spec,
        response_format,
        grounding_profile_id,
        grounding_snapshot_id,
        retrieval_params,
        created_by,
        tags,
        config,
    })
}

/// A template or workspace display name: 1–200 characters, not blank.
pub fn parse_name(raw: &str) -> Result<String, FieldError> {
    if raw.trim().is_empty() {
        return Err(FieldError::new("name", "must not be empty"));
    }
    if raw.chars().count() > limits::NAME_MAX_CHARS {
        return Err(FieldError::new(
            "name",
            format!("must be at most {} characters", limits::NAME_MAX_CHARS),
        ));
    }
    Ok(raw.to_owned())
}

fn parse_country_set(value: Option<&Value>) -> Result<Vec<String>, FieldError> {
    let items = match value {
        None => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(FieldError::new(
                "country_set",
                "must be an array of strings",
            ))
        }
    };
    if items.len() > limits::COUNTRY_SET_MAX_ITEMS {
        return Err(FieldError::new(
            "country_set",
            format!("must have at most {} items", limits::COUNTRY_SET_MAX_ITEMS),
        ));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let field = format!("country_set[{i}]");
            let Value::String(code) = item else {
                return Err(FieldError::new(field, "must be a string"));
            };
            if !is_iso_alpha2(&normalize_country(code)) {
                return Err(FieldError::new(
                    field,
                    format!("{code:?} is not an ISO 3166-1 alpha-2 country code"),
                ));
            }
            Ok(code.clone())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> Value {
        json!({
            "workspace_id": "workspace-avea-001",
            "name": "AVEA Brand Analysis",
            "user_prompt_template": "What is AVEA known for?",
            "country_set": ["CH", "us", " uk "],
            "model_id": "gpt-4o",
            "inference_params": {"temperature": 0.7}
        })
    }

    fn field_of(body: Value, rule: NameRule) -> String {
        match parse_template_spec(&body, rule) {
            Err(SpecError::Invalid(e)) => e.field,
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    fn with(key: &str, value: Value) -> Value {
        let mut b = base();
        b[key] = value;
        b
    }

    #[test]
    fn accepts_the_quick_start_body_with_defaults() {
        let spec = parse_template_spec(&base(), NameRule::Required).unwrap();
        assert_eq!(spec.org_id.as_str(), "default");
        assert_eq!(spec.country_set, vec!["CH", "us", " uk "]);
        assert_eq!(spec.config.hash.len(), 64);
        assert!(spec
            .config
            .canonical_json
            .contains(r#""country_set":["CH","GB","US"]"#));
    }

    #[test]
    fn missing_or_empty_workspace_is_its_own_error() {
        for ws in [Value::Null, json!("")] {
            let r = parse_template_spec(&with("workspace_id", ws), NameRule::Required);
            assert_eq!(r.unwrap_err(), SpecError::WorkspaceRequired);
        }
        let mut b = base();
        b.as_object_mut().unwrap().remove("workspace_id");
        assert_eq!(
            parse_template_spec(&b, NameRule::Required).unwrap_err(),
            SpecError::WorkspaceRequired
        );
    }

    #[test]
    fn each_invalid_field_is_named() {
        let r = NameRule::Required;
        assert_eq!(
            field_of(with("workspace_id", json!("a b")), r),
            "workspace_id"
        );
        assert_eq!(field_of(with("org_id", json!("")), r), "org_id");
        assert_eq!(field_of(with("name", json!("  ")), r), "name");
        assert_eq!(field_of(with("name", json!("x".repeat(201))), r), "name");
        assert_eq!(
            field_of(with("user_prompt_template", json!(" \t\r\n")), r),
            "user_prompt_template"
        );
        assert_eq!(
            field_of(with("user_prompt_template", json!("x".repeat(100_001))), r),
            "user_prompt_template"
        );
        assert_eq!(field_of(with("model_id", json!("  ")), r), "model_id");
        assert_eq!(
            field_of(with("country_set", json!(["CH", "XX"])), r),
            "country_set[1]"
        );
        assert_eq!(field_of(with("country_set", json!("CH")), r), "country_set");
        assert_eq!(
            field_of(with("inference_params", json!([1])), r),
            "inference_params"
        );
        assert_eq!(field_of(with("tools_spec", json!({})), r), "tools_spec");
        assert_eq!(
            field_of(with("response_format", json!("json")), r),
            "response_format"
        );
        assert_eq!(
            field_of(with("retrieval_params", json!(3)), r),
            "retrieval_params"
        );
        assert_eq!(field_of(with("provider", json!("Open AI")), r), "provider");
        let mut b = base();
        b.as_object_mut().unwrap().remove("name");
        assert_eq!(field_of(b.clone(), r), "name");
        assert!(parse_template_spec(&b, NameRule::Optional).is_ok());
    }

    #[test]
    fn name_org_and_provider_are_not_part_of_identity() {
        let a = parse_template_spec(&base(), NameRule::Required).unwrap();
        let mut b = with("name", json!("Another name"));
        b["org_id"] = json!("other-org");
        b["provider"] = json!("openai");
        let b = parse_template_spec(&b, NameRule::Required).unwrap();
        assert_eq!(a.config, b.config);
    }

    #[test]
    fn shape_check_names_the_path() {
        let e =
            check_json_shape(&json!({"inference_params": {"stop": ["a", "b\u{0}"]}})).unwrap_err();
        assert_eq!(e.field, "inference_params.stop[1]");
        let big: Value = serde_json::from_str(r#"{"x": 1e99999}"#).unwrap();
        assert_eq!(check_json_shape(&big).unwrap_err().field, "x");
        let mut deep = json!(1);
        for _ in 0..33 {
            deep = json!([deep]);
        }
        assert_eq!(check_json_shape(&deep).unwrap_err().field, "body");
        assert!(check_json_shape(&base()).is_ok());
    }

    #[test]
    fn depth_counts_containers() {
        assert_eq!(json_depth(&json!(1)), 0);
        assert_eq!(json_depth(&json!([])), 1);
        assert_eq!(json_depth(&json!({"a": [[1]]})), 3);
    }
}

/// Limits on a template's tags.
pub mod tag_limits {
    pub const MAX_TAGS: usize = 20;
    pub const TAG_MAX_CHARS: usize = 64;
}

/// One tag: `[a-z0-9:_-]{1,64}` (`funnel:awareness`, `category:supplements`).
pub fn parse_tag(field: &str, raw: &str) -> Result<String, FieldError> {
    let ok = !raw.is_empty()
        && raw.len() <= tag_limits::TAG_MAX_CHARS
        && raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_:-".contains(&b));
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(FieldError::new(
            field,
            "must be 1–64 characters of a-z, 0-9, ':', '_' or '-' (e.g. funnel:awareness)",
        ))
    }
}

/// A template's tags: a list (absent or `null`: none) of at most 20 tags, each [`parse_tag`];
/// repeats are dropped, the order of first appearance kept.
pub fn parse_tags(value: Option<&Value>) -> Result<Vec<String>, FieldError> {
    let items = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(FieldError::new("tags", "must be a list of strings")),
    };
    let mut tags: Vec<String> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let field = format!("tags[{i}]");
        let Value::String(raw) = item else {
            return Err(FieldError::new(field, "must be a string"));
        };
        let tag = parse_tag(&field, raw)?;
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    if tags.len() > tag_limits::MAX_TAGS {
        return Err(FieldError::new(
            "tags",
            format!("at most {} tags", tag_limits::MAX_TAGS),
        ));
    }
    Ok(tags)
}
