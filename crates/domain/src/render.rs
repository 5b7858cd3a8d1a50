//! Rendering a prompt template: `{{name}}` placeholders (spaces inside the braces allowed)
//! replaced by variables. A placeholder without a value is an error naming it, so a run never
//! sends `{{country}}` to a model by accident. Single braces (`{brand}`) are left alone: they are
//! literal text in existing templates.

use std::collections::BTreeMap;

/// A `{{name}}` with no value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingVariable(pub String);

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// Replaces every `{{ name }}` in `template` with `vars[name]`.
pub fn render(template: &str, vars: &BTreeMap<String, String>) -> Result<String, MissingVariable> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let name = after[..end].trim();
        if name.is_empty() || !name.chars().all(is_name_char) {
            // Not a placeholder (e.g. JSON in the prompt): keep the opening braces as text.
            out.push_str("{{");
            rest = after;
            continue;
        }
        match vars.get(name) {
            Some(value) => out.push_str(value),
            None => return Err(MissingVariable(name.to_owned())),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn replaces_placeholders_with_or_without_spaces() {
        let v = vars(&[("country", "CH"), ("brand_name", "AVEA")]);
        assert_eq!(
            render("Best {{brand_name}} in {{ country }}? {{country}}!", &v).unwrap(),
            "Best AVEA in CH? CH!"
        );
    }

    #[test]
    fn names_the_missing_variable() {
        let err = render("In {{country}} and {{city}}", &vars(&[("country", "CH")]));
        assert_eq!(err, Err(MissingVariable("city".into())));
    }

    #[test]
    fn leaves_single_braces_json_and_unclosed_braces_alone() {
        let v = vars(&[]);
        for text in [
            "{brand} is known",
            r#"Answer as {{"a": 1}}"#,
            "open {{ only",
            "{{}}",
        ] {
            assert_eq!(render(text, &v).unwrap(), text);
        }
    }

    #[test]
    fn values_are_not_rendered_again() {
        let v = vars(&[("a", "{{b}}")]);
        assert_eq!(render("{{a}}", &v).unwrap(), "{{b}}");
    }
}
