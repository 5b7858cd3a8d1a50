//! Prompter's domain: what a template configuration *is*, independent of HTTP or storage.
//!
//! Nothing in this crate performs I/O or knows about a framework: canonicalisation and the config
//! hash ([`config_hash`]), the identifier newtypes ([`ids`]), country codes ([`countries`]), the
//! validated create request ([`template_spec`]), the brand and competitor sets whose visibility is
//! analysed ([`entities`]), the brand-mention and citation analysis of an answer ([`mentions`]) the
//! interval statistics of visibility rates ([`stats`]) and the numbers of a group of answers
//! ([`visibility`]).

pub mod config_hash;
pub mod countries;
pub mod entities;
pub mod ids;
pub mod mentions;
pub mod near_duplicates;
pub mod python_json;
pub mod render;
pub mod stats;
pub mod template_spec;
pub mod token;
pub mod visibility;

pub use config_hash::ConfigHash;
pub use ids::{OrgId, WorkspaceId};
pub use template_spec::{parse_template_spec, NameRule, SpecError, TemplateSpec};

/// A request field that failed validation, with a message a person can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field's name as the client wrote it (`country_set[2]` for list items).
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// `value` if it has at most `max_chars` characters; the one length rule of every request field.
pub fn at_most_chars<'a>(
    field: &str,
    value: Option<&'a str>,
    max_chars: usize,
) -> Result<Option<&'a str>, FieldError> {
    match value {
        Some(s) if s.chars().count() > max_chars => Err(FieldError::new(
            field,
            format!("must be at most {max_chars} characters"),
        )),
        other => Ok(other),
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for FieldError {}
