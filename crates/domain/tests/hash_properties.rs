//! Invariances the canonical form promises (and, by the same token, the
//! differences it must keep), checked over generated inputs.

mod common;

use prompter_domain::config_hash::{config_hash, ConfigHash};
use prompter_domain::python_json::{python_float_repr, python_round, PyValue};
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

fn hash_of(input: &Value) -> ConfigHash {
    config_hash(input).unwrap_or_else(|e| panic!("config_hash({input}) failed: {e}"))
}

/// A JSON tree whose objects keep an explicit key order, so the same content
/// can be written out with keys in different orders.
#[derive(Debug, Clone)]
enum Tree {
    Leaf(Value),
    List(Vec<Tree>),
    Object(Vec<(String, Tree)>),
}

fn tree() -> impl Strategy<Value = Tree> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        common::number(),
        common::text().prop_map(Value::String),
    ]
    .prop_map(Tree::Leaf);
    leaf.prop_recursive(4, 40, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Tree::List),
            // Unique keys: with duplicates the last one wins, so order would matter.
            prop::collection::btree_map(common::text(), inner, 0..6)
                .prop_map(|m| Tree::Object(m.into_iter().collect())),
        ]
    })
}

/// Writes `tree` as JSON text, shuffling each object's keys with `seed`
/// (a seed of 0 keeps the original order).
fn render(tree: &Tree, seed: &mut u64, out: &mut String) {
    match tree {
        Tree::Leaf(v) => out.push_str(&v.to_string()),
        Tree::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                render(item, seed, out);
            }
            out.push(']');
        }
        Tree::Object(entries) => {
            let mut order: Vec<usize> = (0..entries.len()).collect();
            if *seed != 0 {
                for i in (1..order.len()).rev() {
                    *seed ^= *seed << 13;
                    *seed ^= *seed >> 7;
                    *seed ^= *seed << 17;
                    order.swap(i, (*seed % (i as u64 + 1)) as usize);
                }
            }
            out.push('{');
            for (n, &i) in order.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(entries[i].0.clone()).to_string());
                out.push(':');
                render(&entries[i].1, seed, out);
            }
            out.push('}');
        }
    }
}

fn parse_rendered(tree: &Tree, seed: u64) -> Value {
    let mut text = String::new();
    render(tree, &mut seed.clone(), &mut text);
    serde_json::from_str(&text).expect("rendered JSON parses")
}

/// Canonical text (words separated by single spaces, lines by `\n`) and a
/// variant that only differs in ways normalization must erase.
fn text_and_variant() -> impl Strategy<Value = (String, String)> {
    let word = "[^\\s]{1,6}".prop_filter("no Python whitespace", |w: &String| {
        !w.chars()
            .any(|c| common::PY_WHITESPACE.contains(&c) || c.is_whitespace())
    });
    let line = prop::collection::vec((word, "[ \t]{1,4}"), 1..5);
    let lines = prop::collection::vec((line, prop::sample::select(vec!["\n", "\r\n", "\r"])), 1..4);
    let edge = prop::collection::vec(prop::sample::select(common::PY_WHITESPACE), 0..5)
        .prop_map(|cs| cs.into_iter().collect::<String>());
    (lines, edge.clone(), edge).prop_map(|(lines, lead, trail)| {
        let mut canonical = Vec::new();
        let mut variant = lead;
        for (i, (words, newline)) in lines.iter().enumerate() {
            if i > 0 {
                variant.push_str(newline);
            }
            let ws: Vec<&str> = words.iter().map(|(w, _)| w.as_str()).collect();
            canonical.push(ws.join(" "));
            for (j, (w, gap)) in words.iter().enumerate() {
                if j > 0 {
                    variant.push_str(gap);
                }
                variant.push_str(w);
            }
        }
        variant.push_str(&trail);
        (canonical.join("\n"), variant)
    })
}

fn flip_ascii_case(s: &str, mask: u64) -> String {
    s.chars()
        .enumerate()
        .map(|(i, c)| {
            if mask >> (i % 64) & 1 == 1 {
                c.to_ascii_lowercase()
            } else {
                c
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn key_order_never_changes_the_hash(
        inference in tree(), retrieval in tree(), format in tree(),
        seed in 1u64..,
    ) {
        let build = |seed: u64| {
            json!({
                "user_prompt_template": "p",
                "inference_params": parse_rendered(&inference, seed),
                "retrieval_params": parse_rendered(&retrieval, seed),
                "response_format": parse_rendered(&format, seed),
            })
        };
        prop_assert_eq!(hash_of(&build(0)), hash_of(&build(seed)));
    }

    #[test]
    fn text_whitespace_variants_hash_alike(
        (prompt, prompt_variant) in text_and_variant(),
        (system, system_variant) in text_and_variant(),
    ) {
        let canonical = hash_of(&json!({"user_prompt_template": prompt, "system_instructions": system}));
        let variant = hash_of(&json!({
            "user_prompt_template": prompt_variant, "system_instructions": system_variant,
        }));
        prop_assert_eq!(canonical, variant);
    }

    #[test]
    fn country_spelling_order_and_uk_never_change_the_hash(
        codes in prop::collection::vec(
            prop_oneof![4 => "[A-Z]{2}", 1 => Just("GB".to_owned()), 1 => Just("SS".to_owned())],
            0..6,
        ),
        masks in prop::collection::vec(any::<u64>(), 6),
        pads in prop::collection::vec(
            (prop::sample::select(common::PY_WHITESPACE), prop::sample::select(common::PY_WHITESPACE), any::<bool>()),
            6,
        ),
        order in Just((0..6usize).collect::<Vec<_>>()).prop_shuffle(),
    ) {
        let variant: Vec<String> = order
            .iter()
            .filter(|&&i| i < codes.len())
            .map(|&i| {
                let code = match codes[i].as_str() {
                    "GB" if masks[i] % 3 == 0 => "UK".to_owned(),
                    "SS" if masks[i] % 2 == 0 => "ß".to_owned(),
                    other => other.to_owned(),
                };
                let (lead, trail, padded) = pads[i];
                let code = flip_ascii_case(&code, masks[i]);
                if padded { format!("{lead}{code}{trail}") } else { code }
            })
            .collect();
        prop_assert_eq!(
            hash_of(&json!({"country_set": codes})),
            hash_of(&json!({"country_set": variant}))
        );
    }

    #[test]
    fn tools_spec_order_matters(
        tools in prop::collection::vec(common::json_value(), 2..5),
        a in any::<prop::sample::Index>(),
        b in any::<prop::sample::Index>(),
    ) {
        let (a, b) = (a.index(tools.len()), b.index(tools.len()));
        let dump = |v: &Value| PyValue::from_json(v).map(|p| p.dumps());
        prop_assume!(dump(&tools[a]) != dump(&tools[b]));
        let mut swapped = tools.clone();
        swapped.swap(a, b);
        let original = config_hash(&json!({"tools_spec": tools}));
        let reordered = config_hash(&json!({"tools_spec": swapped}));
        prop_assume!(original.is_ok());
        prop_assert_ne!(original.unwrap().hash, reordered.unwrap().hash);
    }

    #[test]
    fn float_noise_below_rounding_is_erased(
        x in prop_oneof![-1e6f64..1e6, -1.0f64..1.0, any::<f64>().prop_filter("finite", |x| x.is_finite())],
        delta in -0.000049f64..0.000049,
    ) {
        let rounded = python_round(x, 4);
        let y = rounded + delta;
        // Guards the premise (|delta| < half a unit and no sign flip of a
        // zero: Python prints -0.0 and 0.0 differently), not the implementation.
        prop_assume!(python_round(y, 4).to_bits() == rounded.to_bits());
        let input = |v: f64| json!({
            "inference_params": {"temperature": v, "nested": [{"p": v}]},
            "retrieval_params": {"k": v},
        });
        prop_assert_eq!(hash_of(&input(x)), hash_of(&input(y)));
    }

    #[test]
    fn absent_null_and_falsy_are_the_same(base in common::request(), falsy in common::falsy()) {
        let Value::Object(base) = base else { unreachable!() };
        for field in [
            "system_instructions", "user_prompt_template", "country_set", "model_id",
            "inference_params", "tools_spec", "response_format", "grounding_profile_id",
            "grounding_snapshot_id", "retrieval_params",
        ] {
            let with = |value: Option<Value>| {
                let mut map: Map<String, Value> = base.clone();
                match value {
                    Some(v) => map.insert(field.to_owned(), v),
                    None => map.remove(field),
                };
                config_hash(&Value::Object(map))
            };
            let absent = with(None);
            prop_assert_eq!(&absent, &with(Some(Value::Null)));
            prop_assert_eq!(&absent, &with(Some(falsy.clone())));
        }
    }

    #[test]
    fn hash_is_sha256_of_canonical_json(input in common::request()) {
        if let Ok(h) = config_hash(&input) {
            prop_assert_eq!(h.hash.len(), 64);
            prop_assert!(h.hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
            prop_assert_eq!(&h.hash, &hex::encode(Sha256::digest(h.canonical_json.as_bytes())));
            prop_assert!(h.canonical_json.is_ascii());
        }
    }

    #[test]
    fn float_repr_round_trips(bits in any::<u64>()) {
        let x = f64::from_bits(bits);
        prop_assume!(x.is_finite());
        let text = python_float_repr(x);
        let back: f64 = text.parse().unwrap();
        prop_assert_eq!(back.to_bits(), x.to_bits(), "{}", text);
    }

    #[test]
    fn never_panics_on_arbitrary_json(value in common::json_value(), fields in prop::collection::vec(common::json_value(), 10)) {
        let _ = config_hash(&value);
        let names = [
            "system_instructions", "user_prompt_template", "country_set", "model_id",
            "inference_params", "tools_spec", "response_format", "grounding_profile_id",
            "grounding_snapshot_id", "retrieval_params",
        ];
        let object: Map<String, Value> = names.iter().map(|n| n.to_string()).zip(fields).collect();
        let _ = config_hash(&Value::Object(object));
    }
}
