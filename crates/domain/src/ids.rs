//! Identifier newtypes. Organisation and workspace ids are opaque strings chosen by clients
//! (`default`, `workspace-avea-001`), so they are validated for shape only: 1–128 characters of
//! `[A-Za-z0-9._:-]`. The shape keeps them safe in URLs, log lines and cache keys.

use std::fmt;

use crate::FieldError;

/// Longest accepted organisation / workspace id.
pub const MAX_ID_LEN: usize = 128;

fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-')
}

fn parse_id(field: &str, raw: &str) -> Result<String, FieldError> {
    if raw.is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if raw.chars().count() > MAX_ID_LEN {
        return Err(FieldError::new(
            field,
            format!("must be at most {MAX_ID_LEN} characters"),
        ));
    }
    if !raw.chars().all(is_id_char) {
        return Err(FieldError::new(
            field,
            "may only contain letters, digits and . _ : -",
        ));
    }
    Ok(raw.to_owned())
}

macro_rules! id_newtype {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Validates `raw`; the error names the field this id came from.
            pub fn parse(raw: &str) -> Result<Self, FieldError> {
                parse_id($field, raw).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

id_newtype!(
    /// A tenant. Clients that do not name one use [`OrgId::default_org`].
    OrgId,
    "org_id"
);
id_newtype!(
    /// A workspace, which is a brand.
    WorkspaceId,
    "workspace_id"
);

impl OrgId {
    pub fn default_org() -> Self {
        Self("default".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_documented_shapes() {
        for ok in [
            "default",
            "workspace-avea-001",
            "a",
            "org:eu.1_x",
            &"x".repeat(128),
        ] {
            assert_eq!(WorkspaceId::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn refuses_empty_long_and_odd_characters() {
        for bad in ["", " ", "a b", "ws/1", "é", "a\n", &"x".repeat(129)] {
            let err = OrgId::parse(bad).unwrap_err();
            assert_eq!(err.field, "org_id", "{bad:?}");
        }
    }
}
