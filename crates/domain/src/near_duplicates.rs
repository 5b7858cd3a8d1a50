//! Near-duplicates: templates whose canonical configurations differ in one or two fields only
//! (a temperature of 0.7 against 0.71, one extra country, the same prompt in other letter case).
//! Most accidental copies are of this kind, and the exact-hash check cannot see them.
//!
//! Two decisions shape this module:
//! - **A near-duplicate has the same model and the same prompt, up to case, punctuation and
//!   spacing.** A different model is a different template (its answers are what is compared), and
//!   a prompt that says something else asks another question. This makes near-duplicates findable
//!   through one indexed key, [`near_key`] (model + folded prompt), so finding them costs one
//!   index lookup next to the exact-hash lookup instead of a scan of the workspace.
//! - **Fields are named by their path in the canonical configuration**, one level into the three
//!   parameter objects (`inference_params.temperature`), since "differs in temperature" is what a
//!   person acts on; elsewhere the top-level key (`country_set`, `user_prompt_template`).
//!
//! Everything works on the canonical JSON the config hash is computed from, so float noise,
//! country order and case, or key order never count as a difference.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use unicode_normalization::UnicodeNormalization;

/// At most this many differing fields make a near match.
pub const MAX_DIFFERING_FIELDS: usize = 2;

/// At most this many near matches are reported for one configuration.
pub const MAX_NEAR_MATCHES: usize = 5;

/// The canonical keys whose sub-keys are named one by one.
const PARAMETER_OBJECTS: [&str; 3] = ["inference_params", "response_format", "retrieval_params"];

/// The prompt as compared for near-duplicates: NFKC, lower case (ß as ss), punctuation and symbols
/// dropped, every run of whitespace one space, trimmed.
pub fn fold_prompt(prompt: &str) -> String {
    // ASCII text is its own NFKC form and lower-cases byte by byte: most prompts take this path,
    // which check-duplicate runs on every request (BENCHMARKS.md).
    if prompt.is_ascii() {
        return fold_chars(prompt.chars().map(|c| c.to_ascii_lowercase()));
    }
    fold_chars(prompt.nfkc().flat_map(char::to_lowercase))
}

fn fold_chars(chars: impl Iterator<Item = char>) -> String {
    let mut folded = String::new();
    let mut pending_space = false;
    for c in chars {
        if c.is_whitespace() {
            pending_space = !folded.is_empty();
        } else if c.is_alphanumeric() {
            if pending_space {
                folded.push(' ');
                pending_space = false;
            }
            // Full case folding where lower-casing alone is not enough: "STRASSE" = "straße".
            if c == 'ß' {
                folded.push_str("ss");
            } else {
                folded.push(c);
            }
        }
        // Anything else (punctuation, symbols, braces of placeholders) is dropped.
    }
    folded
}

/// The key shared by every configuration that could be a near-duplicate of this one: the model
/// and the folded prompt (hex SHA-256, 32 characters). `None` when the canonical JSON is not an
/// object with those fields (never for a configuration Prompter hashed).
pub fn near_key(canonical: &Value) -> Option<String> {
    let model = canonical.get("model_id")?.as_str()?;
    let prompt = canonical.get("user_prompt_template")?.as_str()?;
    Some(near_key_of(model, prompt))
}

/// [`near_key`] from the model id and prompt as sent: the canonical form only trims the model and
/// normalises the prompt's whitespace, which folding does anyway, so no canonical JSON is needed.
pub fn near_key_of(model_id: &str, prompt: &str) -> String {
    let model = model_id.trim_matches(crate::config_hash::is_python_whitespace);
    let mut hasher = Sha256::new();
    hasher.update(model.as_bytes());
    hasher.update([0u8]);
    hasher.update(fold_prompt(prompt).as_bytes());
    hex::encode(&hasher.finalize()[..16])
}

/// [`near_key`] of a stored canonical JSON text.
pub fn near_key_of_json(canonical_json: &str) -> Option<String> {
    serde_json::from_str::<Value>(canonical_json)
        .ok()
        .as_ref()
        .and_then(near_key)
}

/// The fields in which two canonical configurations differ, as paths, in key order.
pub fn differing_fields(a: &Value, b: &Value) -> Vec<String> {
    let empty = Map::new();
    let a = a.as_object().unwrap_or(&empty);
    let b = b.as_object().unwrap_or(&empty);
    let mut fields = Vec::new();
    for key in union_keys(a, b) {
        let (x, y) = (a.get(key), b.get(key));
        if x == y {
            continue;
        }
        match (x, y) {
            (Some(Value::Object(x)), Some(Value::Object(y)))
                if PARAMETER_OBJECTS.contains(&key) =>
            {
                for sub in union_keys(x, y) {
                    if x.get(sub) != y.get(sub) {
                        fields.push(format!("{key}.{sub}"));
                    }
                }
            }
            _ => fields.push(key.to_owned()),
        }
    }
    fields
}

fn union_keys<'a>(a: &'a Map<String, Value>, b: &'a Map<String, Value>) -> Vec<&'a str> {
    let mut keys: Vec<&str> = a.keys().chain(b.keys()).map(String::as_str).collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// How `candidate` differs from `request` if it is a near match: same model, the same prompt
/// once folded, and one or two differing fields. `None` for the exact twin, another model,
/// another prompt, or more differences.
pub fn near_difference(request: &Value, candidate: &Value) -> Option<Vec<String>> {
    if request.get("model_id") != candidate.get("model_id") {
        return None;
    }
    let prompt = |v: &Value| {
        v.get("user_prompt_template")
            .and_then(Value::as_str)
            .map(fold_prompt)
    };
    if prompt(request) != prompt(candidate) {
        return None;
    }
    let fields = differing_fields(request, candidate);
    (1..=MAX_DIFFERING_FIELDS)
        .contains(&fields.len())
        .then_some(fields)
}

/// One near match, before the caller adds what it knows of the template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NearMatch<T> {
    pub template: T,
    pub differing_fields: Vec<String>,
}

/// How `candidate` differs from `request` when both are known to share their [`near_key`]
/// (same model, same folded prompt): the prompts need no folding again.
fn difference_within_key(request: &Value, candidate: &Value) -> Option<Vec<String>> {
    let fields = differing_fields(request, candidate);
    let same_model = !fields.iter().any(|f| f == "model_id");
    (same_model && (1..=MAX_DIFFERING_FIELDS).contains(&fields.len())).then_some(fields)
}

/// The near matches of `request` among `candidates` (each with its canonical configuration),
/// closest first (fewest differing fields; ties keep the candidates' order), at most
/// [`MAX_NEAR_MATCHES`]. The candidates must share the request's [`near_key`] (storage finds
/// them by it).
pub fn near_matches<T>(
    request: &Value,
    candidates: impl IntoIterator<Item = (T, Value)>,
) -> Vec<NearMatch<T>> {
    let mut found: Vec<NearMatch<T>> = candidates
        .into_iter()
        .filter_map(|(template, config)| {
            difference_within_key(request, &config).map(|differing_fields| NearMatch {
                template,
                differing_fields,
            })
        })
        .collect();
    // Stable: equally close matches stay in the order given (oldest first from storage).
    found.sort_by_key(|m| m.differing_fields.len());
    found.truncate(MAX_NEAR_MATCHES);
    found
}

/// Groups of near-duplicates among `templates` (each with its canonical configuration; all
/// sharing one [`near_key`]): the connected parts of the "is a near match of" relation, each with
/// the pairs that tie it together. Singletons are left out. Groups and members keep the order
/// given.
pub fn near_duplicate_groups<T: Clone>(templates: &[(T, Value)]) -> Vec<NearGroup<T>> {
    let n = templates.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let mut pairs = Vec::new();
    for i in 0..n {
        for j in i + 1..n {
            if let Some(fields) = difference_within_key(&templates[i].1, &templates[j].1) {
                let (ri, rj) = (root(&mut parent, i), root(&mut parent, j));
                parent[ri.max(rj)] = ri.min(rj);
                pairs.push((i, j, fields));
            }
        }
    }
    let mut groups: Vec<(usize, NearGroup<T>)> = Vec::new();
    for (i, (member, _)) in templates.iter().enumerate() {
        let r = root(&mut parent, i);
        let has_pair = pairs.iter().any(|(a, b, _)| *a == i || *b == i);
        if !has_pair {
            continue;
        }
        match groups.iter_mut().find(|(gr, _)| *gr == r) {
            Some((_, g)) => g.members.push(member.clone()),
            None => groups.push((
                r,
                NearGroup {
                    members: vec![member.clone()],
                    pairs: Vec::new(),
                },
            )),
        }
    }
    for (i, j, fields) in pairs {
        let r = root(&mut parent, i);
        if let Some((_, g)) = groups.iter_mut().find(|(gr, _)| *gr == r) {
            g.pairs.push(NearPair {
                a: templates[i].0.clone(),
                b: templates[j].0.clone(),
                differing_fields: fields,
            });
        }
    }
    groups.into_iter().map(|(_, g)| g).collect()
}

/// A set of templates that are near-duplicates of one another (directly or through others).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NearGroup<T> {
    pub members: Vec<T>,
    pub pairs: Vec<NearPair<T>>,
}

/// Two members of a group and how they differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NearPair<T> {
    pub a: T,
    pub b: T,
    pub differing_fields: Vec<String>,
}

#[cfg(test)]
#[path = "near_duplicates_tests.rs"]
mod tests;
