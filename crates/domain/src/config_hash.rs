//! Canonical prompt-configuration hash, a byte-exact port of the Python
//! `PromptConfigHasher.calculate_config_hash`.
//!
//! Why a port and not a fresh design: hashes produced by the Python
//! implementation are already stored and used to deduplicate and look up
//! configurations. A Rust hash that differed in a single byte of the canonical
//! JSON would silently split identical configurations, so every rule here
//! (Python truthiness, `str.strip()` whitespace, `str.upper()`, `round()`,
//! `json.dumps` layout) mirrors CPython 3.11 rather than what would be natural
//! in Rust. `tests/data/config_hash_vectors.jsonl` holds hashes made by the
//! Python code, and `tests/python_differential.rs` compares against CPython.
//!
//! The input is the create request as a JSON object. Absent keys behave like
//! `null`; keys the hash does not use are ignored.
//!
//! Known divergences, all outside this function's reach: Python's `json.loads`
//! accepts `NaN`/`Infinity` literals and lone surrogate escapes (`"\ud800"`),
//! which `serde_json` refuses before we see the value; and with serde_json's
//! `arbitrary_precision`, an object whose only key is
//! `"$serde_json::private::Number"` is read back as a number.

use std::collections::BTreeMap;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::python_json::{PyJsonError, PyValue};

/// Digits kept by `_round_floats` in `inference_params` and `retrieval_params`.
const FLOAT_DECIMALS: i32 = 4;

const SYSTEM_INSTRUCTIONS: &str = "system_instructions";
const USER_PROMPT_TEMPLATE: &str = "user_prompt_template";
const COUNTRY_SET: &str = "country_set";
const MODEL_ID: &str = "model_id";
const INFERENCE_PARAMS: &str = "inference_params";
const TOOLS_SPEC: &str = "tools_spec";
const RESPONSE_FORMAT: &str = "response_format";
const GROUNDING_PROFILE_ID: &str = "grounding_profile_id";
const GROUNDING_SNAPSHOT_ID: &str = "grounding_snapshot_id";
const RETRIEVAL_PARAMS: &str = "retrieval_params";

const HASHED_FIELDS: [&str; 10] = [
    SYSTEM_INSTRUCTIONS,
    USER_PROMPT_TEMPLATE,
    COUNTRY_SET,
    MODEL_ID,
    INFERENCE_PARAMS,
    TOOLS_SPEC,
    RESPONSE_FORMAT,
    GROUNDING_PROFILE_ID,
    GROUNDING_SNAPSHOT_ID,
    RETRIEVAL_PARAMS,
];

/// The result of [`config_hash`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigHash {
    /// Lowercase hex SHA-256 of `canonical_json`'s UTF-8 bytes.
    pub hash: String,
    /// The canonical JSON exactly as Python's `json.dumps` wrote it (pure ASCII).
    pub canonical_json: String,
}

/// An input on which the Python hasher would raise, so no hash exists.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct HashInputError {
    /// The request field at fault, or `"input"` for the request as a whole.
    pub field: &'static str,
    pub message: String,
}

impl HashInputError {
    fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

/// Computes the canonical JSON and hash of a create request, or explains
/// why the Python implementation would have raised on it.
pub fn config_hash(input: &Value) -> Result<ConfigHash, HashInputError> {
    let object = input
        .as_object()
        .ok_or_else(|| HashInputError::new("input", "must be a JSON object"))?;

    // Python runs `json.loads` over the whole body, so an unloadable value
    // (an int over 4300 digits) fails the request even in an ignored field.
    let mut fields = BTreeMap::new();
    for (key, value) in object {
        let converted = PyValue::from_json(value).map_err(|e| field_error(key, e))?;
        fields.insert(key.as_str(), converted);
    }
    let get = |name: &str| fields.get(name).unwrap_or(&PyValue::None);

    let mut canonical = BTreeMap::new();
    let mut put = |name: &str, value: PyValue| canonical.insert(name.to_owned(), value);

    put(
        SYSTEM_INSTRUCTIONS,
        PyValue::Str(text_field(SYSTEM_INSTRUCTIONS, get(SYSTEM_INSTRUCTIONS))?),
    );
    put(
        USER_PROMPT_TEMPLATE,
        PyValue::Str(text_field(USER_PROMPT_TEMPLATE, get(USER_PROMPT_TEMPLATE))?),
    );
    put(COUNTRY_SET, countries_field(get(COUNTRY_SET))?);
    // `model_id.strip() if model_id else ""`: stripped but not otherwise normalized.
    let model_id = string_field(MODEL_ID, get(MODEL_ID))?;
    put(
        MODEL_ID,
        PyValue::Str(model_id.trim_matches(is_python_whitespace).to_owned()),
    );
    // `_deep_sort` only reorders keys, which `sort_keys=True` (and the
    // BTreeMap) does anyway, so it needs no counterpart here.
    put(
        INFERENCE_PARAMS,
        or_default(get(INFERENCE_PARAMS), empty_dict).round_floats(FLOAT_DECIMALS),
    );
    put(TOOLS_SPEC, or_default(get(TOOLS_SPEC), empty_list));
    put(
        RESPONSE_FORMAT,
        or_default(get(RESPONSE_FORMAT), empty_dict),
    );
    put(
        GROUNDING_PROFILE_ID,
        or_default(get(GROUNDING_PROFILE_ID), empty_str),
    );
    put(
        GROUNDING_SNAPSHOT_ID,
        or_default(get(GROUNDING_SNAPSHOT_ID), empty_str),
    );
    put(
        RETRIEVAL_PARAMS,
        or_default(get(RETRIEVAL_PARAMS), empty_dict).round_floats(FLOAT_DECIMALS),
    );

    let canonical_json = PyValue::Dict(canonical).dumps();
    let hash = hex::encode(Sha256::digest(canonical_json.as_bytes()));
    Ok(ConfigHash {
        hash,
        canonical_json,
    })
}

fn field_error(key: &str, error: PyJsonError) -> HashInputError {
    match HASHED_FIELDS.iter().find(|&&name| name == key) {
        Some(name) => HashInputError::new(name, error.to_string()),
        None => HashInputError::new("input", format!("{key}: {error}")),
    }
}

fn empty_dict() -> PyValue {
    PyValue::Dict(BTreeMap::new())
}

fn empty_list() -> PyValue {
    PyValue::List(Vec::new())
}

fn empty_str() -> PyValue {
    PyValue::Str(String::new())
}

/// Python's `value or default`.
fn or_default(value: &PyValue, default: fn() -> PyValue) -> PyValue {
    if value.is_truthy() {
        value.clone()
    } else {
        default()
    }
}

/// A field Python only calls string methods on when it is truthy: any falsy
/// value (`None`, `False`, `0`, `[]`, ...) reads as `""`, while a truthy
/// non-string has no `.replace`/`.strip` and raises `AttributeError`.
fn string_field<'a>(field: &'static str, value: &'a PyValue) -> Result<&'a str, HashInputError> {
    match value {
        PyValue::Str(s) => Ok(s),
        v if !v.is_truthy() => Ok(""),
        _ => Err(HashInputError::new(field, "must be a string")),
    }
}

fn text_field(field: &'static str, value: &PyValue) -> Result<String, HashInputError> {
    Ok(normalize_text(string_field(field, value)?))
}

/// `normalize_countries`: each code upper-cased, stripped and `UK`→`GB`, then
/// sorted by code point (duplicates kept).
///
/// Python would also iterate a truthy string (per character) or dict (per key)
/// here; we deliberately refuse those as they are never a meaningful country
/// set, so such inputs get an error instead of a surprising hash.
fn countries_field(value: &PyValue) -> Result<PyValue, HashInputError> {
    let items: &[PyValue] = match value {
        PyValue::List(items) => items,
        v if !v.is_truthy() => &[],
        _ => {
            return Err(HashInputError::new(
                COUNTRY_SET,
                "must be a list of strings",
            ))
        }
    };
    let mut codes = items
        .iter()
        .enumerate()
        .map(|(i, item)| match item {
            PyValue::Str(code) => Ok(normalize_country(code)),
            _ => Err(HashInputError::new(
                COUNTRY_SET,
                format!("element {i} must be a string"),
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    // Byte order of UTF-8 equals Python's code-point order for `sorted`.
    codes.sort_unstable();
    Ok(PyValue::List(codes.into_iter().map(PyValue::Str).collect()))
}

/// `normalize_text`: CRLF and lone CR become LF, every run of spaces and tabs
/// (but no other whitespace) becomes one space, then Python's `strip()`.
pub fn normalize_text(s: &str) -> String {
    let unified = s.replace("\r\n", "\n").replace('\r', "\n");
    let mut collapsed = String::with_capacity(unified.len());
    let mut in_run = false;
    for c in unified.chars() {
        if c == ' ' || c == '\t' {
            if !in_run {
                collapsed.push(' ');
            }
            in_run = true;
        } else {
            collapsed.push(c);
            in_run = false;
        }
    }
    collapsed.trim_matches(is_python_whitespace).to_owned()
}

/// One country code as `normalize_countries` treats it:
/// `code.upper().strip()`, with `UK` mapped to the ISO code `GB`.
pub fn normalize_country(code: &str) -> String {
    let upper = python_upper(code);
    let stripped = upper.trim_matches(is_python_whitespace);
    if stripped == "UK" {
        "GB".to_owned()
    } else {
        stripped.to_owned()
    }
}

/// Python's `str.isspace()` set, which `str.strip()` removes. It differs from
/// Rust's `char::is_whitespace`: it includes the separators U+001C..U+001F.
/// Neither includes U+200B (zero width space).
pub fn is_python_whitespace(c: char) -> bool {
    matches!(
        c,
        '\u{9}'..='\u{d}'
            | '\u{1c}'..='\u{20}'
            | '\u{85}'
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
    )
}

/// Lowercase letters that gained an uppercase mapping after Unicode 14.0, the
/// database of CPython 3.11 (also 3.12/3.13 use Unicode 15.x, which added
/// none). Rust's `to_uppercase` follows the toolchain's newer Unicode, so
/// these are left unchanged to keep Python's results. A test pins the whole
/// mapping to a digest of CPython 3.11's table, so a toolchain upgrade that
/// adds mappings is caught.
const CASED_AFTER_UNICODE_14: &[(char, char)] = &[
    ('\u{019b}', '\u{019b}'),
    ('\u{0264}', '\u{0264}'),
    ('\u{1c8a}', '\u{1c8a}'),
    ('\u{a7cd}', '\u{a7cd}'),
    ('\u{a7cf}', '\u{a7cf}'),
    ('\u{a7d3}', '\u{a7d3}'),
    ('\u{a7d5}', '\u{a7d5}'),
    ('\u{a7db}', '\u{a7db}'),
    ('\u{10d70}', '\u{10d85}'),
    ('\u{16ebb}', '\u{16ed3}'),
];

/// Python's `str.upper()`: full case mapping including multi-character
/// results (`ß` → `SS`, `ŉ` → `ʼN`), with no locale and as of Unicode 14.0.
pub fn python_upper(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if CASED_AFTER_UNICODE_14
            .iter()
            .any(|&(lo, hi)| (lo..=hi).contains(&c))
        {
            out.push(c);
        } else {
            out.extend(c.to_uppercase());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn normalize_text_rules() {
        assert_eq!(normalize_text(""), "");
        assert_eq!(normalize_text("  a \t\t b  "), "a b");
        assert_eq!(normalize_text("a\r\nb\rc\n"), "a\nb\nc");
        assert_eq!(normalize_text("a \r\n b"), "a \n b");
        // Only spaces and tabs collapse; other whitespace is kept inside.
        assert_eq!(normalize_text("a\u{3000}\u{3000}b"), "a\u{3000}\u{3000}b");
        assert_eq!(normalize_text("\u{1c}\u{85}\u{3000} x \u{2028}\u{a0}"), "x");
        // U+200B is not whitespace for Python.
        assert_eq!(normalize_text("\u{200b} x "), "\u{200b} x");
    }

    #[test]
    fn normalize_country_rules() {
        assert_eq!(normalize_country(" uk "), "GB");
        assert_eq!(normalize_country("Uk\t"), "GB");
        assert_eq!(normalize_country("gb"), "GB");
        assert_eq!(normalize_country("ß"), "SS");
        assert_eq!(normalize_country("u k"), "U K");
        assert_eq!(normalize_country("\u{1f}de\u{3000}"), "DE");
        assert_eq!(normalize_country("\u{200b}de"), "\u{200b}DE");
        assert_eq!(normalize_country("\u{264}"), "\u{264}");
    }

    #[test]
    fn python_upper_table_is_pinned_to_cpython_3_11() {
        // sha256 of the lines "{cp:x} {upper cps:x...}\n" for every code point
        // that CPython 3.11's `str.upper()` changes (1525 of them).
        let mut table = String::new();
        let mut changed = 0;
        for c in (0..=0x10ffffu32).filter_map(char::from_u32) {
            let upper = python_upper(&c.to_string());
            if upper != c.to_string() {
                changed += 1;
                let mapped: Vec<String> =
                    upper.chars().map(|u| format!("{:x}", u as u32)).collect();
                table.push_str(&format!("{:x} {}\n", c as u32, mapped.join(" ")));
            }
        }
        assert_eq!(changed, 1525);
        assert_eq!(
            hex::encode(Sha256::digest(table.as_bytes())),
            "085f05092fe1ee285dbcaf1a2ded0a0c08dde900eb442414f3c31ff02d908624"
        );
    }

    #[test]
    fn minimal_input() {
        let h = config_hash(&json!({"user_prompt_template": "hi"})).unwrap();
        assert_eq!(
            h.canonical_json,
            r#"{"country_set":[],"grounding_profile_id":"","grounding_snapshot_id":"","inference_params":{},"model_id":"","response_format":{},"retrieval_params":{},"system_instructions":"","tools_spec":[],"user_prompt_template":"hi"}"#
        );
        assert_eq!(h.hash.len(), 64);
    }

    #[test]
    fn errors_where_python_raises() {
        let err = |v: Value| config_hash(&v).unwrap_err().field;
        assert_eq!(err(json!([])), "input");
        assert_eq!(err(json!({"system_instructions": 1})), SYSTEM_INSTRUCTIONS);
        assert_eq!(
            err(json!({"user_prompt_template": ["x"]})),
            USER_PROMPT_TEMPLATE
        );
        assert_eq!(err(json!({"model_id": true})), MODEL_ID);
        assert_eq!(err(json!({"country_set": "US"})), COUNTRY_SET);
        assert_eq!(err(json!({"country_set": {"US": 1}})), COUNTRY_SET);
        assert_eq!(err(json!({"country_set": ["US", 1]})), COUNTRY_SET);
        let huge: Value =
            serde_json::from_str(&format!("{{\"name\":{}}}", "9".repeat(4301))).unwrap();
        assert_eq!(err(huge), "input");
        // Falsy values of the wrong type are fine, as in Python.
        for falsy in [
            json!(null),
            json!(false),
            json!(0),
            json!(0.0),
            json!([]),
            json!({}),
        ] {
            let input = json!({
                "system_instructions": falsy, "user_prompt_template": falsy,
                "model_id": falsy, "country_set": falsy,
            });
            assert!(config_hash(&input).is_ok());
        }
    }

    #[test]
    fn rounding_only_in_params() {
        let h = config_hash(&json!({
            "inference_params": {"t": 0.123456, "l": [0.03125]},
            "retrieval_params": 2.675,
            "tools_spec": [0.123456],
            "response_format": {"x": 0.123456},
            "grounding_profile_id": 0.123456,
        }))
        .unwrap();
        assert_eq!(
            h.canonical_json,
            r#"{"country_set":[],"grounding_profile_id":0.123456,"grounding_snapshot_id":"","inference_params":{"l":[0.0312],"t":0.1235},"model_id":"","response_format":{"x":0.123456},"retrieval_params":2.675,"system_instructions":"","tools_spec":[0.123456],"user_prompt_template":""}"#
        );
    }
}
