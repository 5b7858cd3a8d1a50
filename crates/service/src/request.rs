//! Field helpers for the JSON bodies of ensure-version and run.

use prompter_domain::FieldError;
use serde_json::{Map, Value};

pub(crate) struct Body<'a>(pub &'a Map<String, Value>);

static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();

impl<'a> Body<'a> {
    /// An absent body (`None`) or `null` reads as `{}`; anything but an object is refused.
    pub fn of(value: Option<&'a Value>) -> Result<Self, FieldError> {
        match value {
            None | Some(Value::Null) => Ok(Body(EMPTY.get_or_init(Map::new))),
            Some(Value::Object(m)) => Ok(Body(m)),
            Some(_) => Err(FieldError::new("body", "must be a JSON object")),
        }
    }

    pub fn get(&self, field: &str) -> Option<&'a Value> {
        self.0.get(field).filter(|v| !v.is_null())
    }

    pub fn string(&self, field: &str, max_chars: usize) -> Result<Option<&'a str>, FieldError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::String(s)) if s.chars().count() > max_chars => Err(FieldError::new(
                field,
                format!("must be at most {max_chars} characters"),
            )),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(FieldError::new(field, "must be a string")),
        }
    }

    pub fn bool(&self, field: &str) -> Result<Option<bool>, FieldError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(FieldError::new(field, "must be true or false")),
        }
    }

    pub fn object(&self, field: &str) -> Result<Option<&'a Map<String, Value>>, FieldError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m)),
            Some(_) => Err(FieldError::new(field, "must be a JSON object")),
        }
    }
}
