//! Strategies shared by the property and differential tests. They lean on the
//! inputs where Python and Rust most easily disagree: exotic whitespace,
//! astral characters, float ties, ints beyond 64 bits, falsy non-strings.

#![allow(dead_code)] // each test crate uses a different subset

use proptest::prelude::*;
use serde_json::{Map, Value};

/// Every character Python's `str.strip()` removes.
pub const PY_WHITESPACE: &[char] = &[
    '\u{9}', '\u{a}', '\u{b}', '\u{c}', '\u{d}', '\u{1c}', '\u{1d}', '\u{1e}', '\u{1f}', ' ',
    '\u{85}', '\u{a0}', '\u{1680}', '\u{2000}', '\u{2001}', '\u{2002}', '\u{2003}', '\u{2004}',
    '\u{2005}', '\u{2006}', '\u{2007}', '\u{2008}', '\u{2009}', '\u{200a}', '\u{2028}', '\u{2029}',
    '\u{202f}', '\u{205f}', '\u{3000}',
];

/// Characters with an upper-case mapping only in Unicode versions newer than
/// CPython 3.11's, plus ones whose upper case is several characters.
pub const CASE_TRAPS: &[&str] = &[
    "ß",
    "ŉ",
    "ﬁ",
    "İ",
    "ı",
    "ǅ",
    "\u{19b}",
    "\u{264}",
    "\u{1c8a}",
    "\u{a7cd}",
    "\u{10d70}",
    "\u{16ebb}",
    "ΐ",
    "é",
    "ﬀ",
];

/// Small pieces that, concatenated, make nasty prompt-like text.
pub fn text_piece() -> BoxedStrategy<String> {
    prop_oneof![
        4 => "[a-zA-Z{}]{1,8}",
        2 => prop::sample::select(PY_WHITESPACE).prop_map(String::from),
        2 => prop::sample::select(vec![
            " ", "  ", "\t", " \t ", "\r", "\n", "\r\n", "\n\r", "\u{200b}", "\u{7f}", "\"",
            "\\", "/", "{{country}}", "\u{0}", "\u{8}", "\u{feff}", "😀", "\u{10ffff}", "日本語",
        ])
        .prop_map(String::from),
        1 => prop::sample::select(CASE_TRAPS).prop_map(String::from),
        2 => any::<char>().prop_map(String::from),
    ]
    .boxed()
}

pub fn text() -> BoxedStrategy<String> {
    prop::collection::vec(text_piece(), 0..12)
        .prop_map(|pieces| pieces.concat())
        .boxed()
}

pub fn country() -> BoxedStrategy<String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "US", "us", "Us", "UK", "uk", " uk ", "Uk\t", "gb", "GB", "de", "\u{3000}fr",
            "it\u{85}", "\u{1c}jp", "u k", "", " ", "\u{200b}us",
        ])
        .prop_map(String::from),
        1 => prop::sample::select(CASE_TRAPS).prop_map(String::from),
        1 => "[a-zA-Z]{2}",
        1 => text(),
    ]
    .boxed()
}

/// JSON number literals, as text, with the shapes that matter to Python:
/// ints of any size (exact), floats near 4-decimal ties, out-of-range floats.
pub fn number_literal() -> BoxedStrategy<String> {
    prop_oneof![
        2 => any::<i64>().prop_map(|n| n.to_string()),
        1 => (any::<bool>(), "[1-9][0-9]{18,60}")
            .prop_map(|(neg, digits)| if neg { format!("-{digits}") } else { digits }),
        1 => prop::sample::select(vec![
            "0", "-0", "0.0", "-0.0", "0e0", "1E5", "1e400", "-1e400", "1e-400", "2.675",
            "0.03125", "-0.03125", "-0.00005", "0.00005", "0.00015", "0.99995", "9.99995",
            "1e16", "1e-5", "9999999999999998.0", "5e-324", "1.7976931348623157e308",
            "18446744073709551616", "-9223372036854775809", "100000.0", "0.0001", "1.5e16",
        ])
        .prop_map(String::from),
        2 => any::<u64>()
            .prop_map(f64::from_bits)
            .prop_filter("finite", |x| x.is_finite())
            .prop_map(|x| format!("{x:?}")),
        2 => (-2_000_000i64..2_000_000).prop_map(|n| format!("{:?}", (n as f64 + 0.5) / 10_000.0)),
        1 => (0u32..4096).prop_map(|n| format!("{:?}", (2 * n + 1) as f64 / 32.0)),
        2 => (-1e6f64..1e6).prop_map(|x| format!("{x:?}")),
        1 => (-1e-3f64..1e-3).prop_map(|x| format!("{x:e}")),
        // Exact ties between two 17-digit shortest candidates (repr rounds to even).
        1 => (1_000_000_000_000i64..9_000_000_000_000_000, 0u32..8)
            .prop_map(|(n, k)| format!("{:?}", n as f64 + f64::from(k) / 8.0)),
    ]
    .boxed()
}

pub fn number() -> BoxedStrategy<Value> {
    number_literal()
        .prop_map(|text| serde_json::from_str(&text).expect("valid number literal"))
        .boxed()
}

/// Arbitrary JSON values, nested a few levels deep.
pub fn json_value() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((text(), inner), 0..6)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
    .boxed()
}

/// Values Python treats as false.
pub fn falsy() -> BoxedStrategy<Value> {
    prop::sample::select(vec![
        "null", "false", "0", "-0", "0.0", "-0.0", "\"\"", "[]", "{}",
    ])
    .prop_map(|t| serde_json::from_str(t).unwrap())
    .boxed()
}

fn object_of(value: BoxedStrategy<Value>) -> BoxedStrategy<Value> {
    prop::collection::vec((text(), value), 0..6)
        .prop_map(|entries| Value::Object(entries.into_iter().collect()))
        .boxed()
}

/// A value for one request field: usually the expected shape, sometimes
/// falsy or anything at all (which Python may refuse).
fn field(typical: BoxedStrategy<Value>) -> BoxedStrategy<Option<Value>> {
    prop_oneof![
        3 => Just(None),
        2 => falsy().prop_map(Some),
        8 => typical.prop_map(Some),
        1 => json_value().prop_map(Some),
    ]
    .boxed()
}

/// A create request as a JSON object.
pub fn request() -> BoxedStrategy<Value> {
    let text_value = || text().prop_map(Value::String).boxed();
    let countries = prop::collection::vec(country().prop_map(Value::String), 0..6)
        .prop_map(Value::Array)
        .boxed();
    let params = || object_of(json_value());
    let tools = prop::collection::vec(json_value(), 0..4)
        .prop_map(Value::Array)
        .boxed();
    let id = prop_oneof![text_value(), "[a-z0-9-]{1,20}".prop_map(Value::String)].boxed();
    (
        (
            field(text_value()),
            field(text_value()),
            field(countries),
            field(text_value()),
            field(params()),
        ),
        (
            field(tools),
            field(params()),
            field(id.clone()),
            field(id),
            field(params()),
            text(),
        ),
    )
        .prop_map(|((si, upt, cs, mid, inf), (tools, rf, gp, gs, rp, name))| {
            let mut map = Map::new();
            let names = [
                "system_instructions",
                "user_prompt_template",
                "country_set",
                "model_id",
                "inference_params",
                "tools_spec",
                "response_format",
                "grounding_profile_id",
                "grounding_snapshot_id",
                "retrieval_params",
            ];
            for (name, value) in names
                .into_iter()
                .zip([si, upt, cs, mid, inf, tools, rf, gp, gs, rp])
            {
                if let Some(value) = value {
                    map.insert(name.to_owned(), value);
                }
            }
            // Fields the hash ignores.
            map.insert("name".to_owned(), Value::String(name));
            map.insert("org_id".to_owned(), Value::String("org-1".to_owned()));
            Value::Object(map)
        })
        .boxed()
}
