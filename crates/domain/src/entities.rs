//! The entities whose visibility is analysed: a brand and its competitors, each with aliases and
//! web domains (the content of an "alias snapshot").
//!
//! [`parse_entity_set`] validates the request body and returns the set in normalised form:
//!
//! - Strings are trimmed and NFC-normalised, so the same name typed on two systems is stored the
//!   same way. Domains are lower-cased and must be bare host names (`avea.ch`, not
//!   `https://avea.ch/`): a domain is compared with citation hosts, and a URL there would silently
//!   never match. Unicode labels are accepted as they are (no IDNA conversion).
//! - The entity's `name` is always one of its aliases (put first when missing), so a set with only
//!   names already finds something. Aliases are deduplicated as the matcher sees them (case and
//!   accents ignored, keeping the first): a case-sensitive alias is dropped when an earlier alias
//!   already matches it case-insensitively, and two case-sensitive aliases are duplicates only
//!   with the same letter case. The name counts as present when any alias has its text, ignoring
//!   case, so `{"name": "Apple", "aliases": [{"text": "Apple", "case_sensitive": true}]}` stays
//!   case-sensitive.
//! - Entity names are unique across the set in the matcher's folded form (`Nestle` and `Nestlé`
//!   are the same name): the matcher could not tell such entities apart.
//! - Limits keep one analysis cheap: [`limits`].
//!
//! [`EntitySet::content_hash`] identifies the *meaning* of a set: SHA-256 (hex) of a canonical JSON
//! `{"brand": E, "competitors": [E, …]}` with `E = {"aliases": [{"case_sensitive": b, "text": s},
//! …], "domains": [s, …], "name": s}`: keys sorted, every string trimmed and NFC-normalised,
//! domains lower-cased, sorted and deduplicated, aliases sorted (by text, then case flag) and
//! deduplicated, competitors sorted by name. Neither the order of competitors nor that of aliases
//! changes what the analysis finds (overlap ties are broken by name, not position), so neither
//! changes the hash; everything else does.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use unicode_normalization::UnicodeNormalization;

use crate::mentions::normalise::{normalise_str, Case};
use crate::FieldError;

/// Limits on an entity set.
pub mod limits {
    /// Entities in a set, the brand included.
    pub const MAX_ENTITIES: usize = 200;
    pub const MAX_ALIASES: usize = 50;
    pub const MAX_DOMAINS: usize = 50;
    pub const TEXT_MAX_CHARS: usize = 200;
    pub const DOMAIN_MAX_CHARS: usize = 253;
    pub const LABEL_MAX_CHARS: usize = 63;
}

/// A name under which an entity appears in text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alias {
    pub text: String,
    /// Match only with exactly this letter case (for names that are also ordinary words).
    #[serde(default)]
    pub case_sensitive: bool,
}

/// A brand or competitor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entity {
    pub name: String,
    /// Includes the name.
    #[serde(default)]
    pub aliases: Vec<Alias>,
    /// Lower-case host names; citations of these or their subdomains count as the entity's.
    #[serde(default)]
    pub domains: Vec<String>,
}

/// The brand and its competitors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntitySet {
    pub brand: Entity,
    #[serde(default)]
    pub competitors: Vec<Entity>,
}

impl EntitySet {
    /// The brand (`true`), then the competitors in order.
    pub fn entities(&self) -> impl Iterator<Item = (&Entity, bool)> {
        std::iter::once((&self.brand, true)).chain(self.competitors.iter().map(|e| (e, false)))
    }

    /// SHA-256 hex of the canonical JSON described in the module documentation.
    pub fn content_hash(&self) -> String {
        #[derive(Serialize, PartialEq, Eq, PartialOrd, Ord)]
        struct CAlias {
            text: String,
            case_sensitive: bool,
        }
        // Field order is the serialised key order: alphabetical.
        #[derive(Serialize)]
        struct CAliasOut<'a> {
            case_sensitive: bool,
            text: &'a str,
        }
        #[derive(Serialize)]
        struct CEntity<'a> {
            aliases: Vec<CAliasOut<'a>>,
            domains: Vec<String>,
            name: String,
        }
        #[derive(Serialize)]
        struct CSet<'a> {
            brand: CEntity<'a>,
            competitors: Vec<CEntity<'a>>,
        }
        fn canon(s: &str) -> String {
            s.trim().nfc().collect()
        }
        let aliases: Vec<Vec<CAlias>> = self
            .entities()
            .map(|(e, _)| {
                let mut a: Vec<CAlias> = e
                    .aliases
                    .iter()
                    .map(|a| CAlias {
                        text: canon(&a.text),
                        case_sensitive: a.case_sensitive,
                    })
                    .collect();
                a.sort();
                a.dedup();
                a
            })
            .collect();
        let mut entities: Vec<CEntity> = self
            .entities()
            .zip(&aliases)
            .map(|((e, _), a)| {
                let mut domains: Vec<String> =
                    e.domains.iter().map(|d| canon(d).to_lowercase()).collect();
                domains.sort();
                domains.dedup();
                CEntity {
                    aliases: a
                        .iter()
                        .map(|a| CAliasOut {
                            case_sensitive: a.case_sensitive,
                            text: &a.text,
                        })
                        .collect(),
                    domains,
                    name: canon(&e.name),
                }
            })
            .collect();
        let brand = entities.remove(0);
        entities.sort_by(|a, b| a.name.cmp(&b.name));
        let canonical = CSet {
            brand,
            competitors: entities,
        };
        let json = serde_json::to_vec(&canonical).unwrap_or_default();
        hex::encode(Sha256::digest(&json))
    }
}

const DOMAIN_MESSAGE: &str = "must be a host name such as avea.ch (no scheme, path or port)";

/// Validates an entity-set request body; every problem found is reported, each with its field
/// path (`brand.name`, `competitors[2].aliases[0]`, `brand.domains[1]`).
pub fn parse_entity_set(body: &Value) -> Result<EntitySet, Vec<FieldError>> {
    let mut errors = Vec::new();
    let Some(obj) = body.as_object() else {
        return Err(vec![FieldError::new("body", "must be a JSON object")]);
    };
    unknown_fields(obj, &["brand", "competitors"], "", &mut errors);
    let brand = match obj.get("brand") {
        None | Some(Value::Null) => {
            errors.push(FieldError::new("brand", "is required"));
            None
        }
        Some(v) => parse_entity(v, "brand", &mut errors),
    };
    let mut competitors = Vec::new();
    match obj.get("competitors") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) if items.len() + 1 > limits::MAX_ENTITIES => {
            errors.push(FieldError::new(
                "competitors",
                format!(
                    "at most {} competitors ({} entities counting the brand)",
                    limits::MAX_ENTITIES - 1,
                    limits::MAX_ENTITIES
                ),
            ));
        }
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                let path = format!("competitors[{i}]");
                competitors.push(parse_entity(item, &path, &mut errors).map(|e| (path, e)));
            }
        }
        Some(_) => errors.push(FieldError::new("competitors", "must be a list")),
    }
    // Unique names, in the matcher's folded form.
    let mut seen: Vec<(String, String)> = Vec::new();
    let named = brand.iter().map(|b| ("brand".to_owned(), b));
    let named = named.chain(competitors.iter().flatten().map(|(p, e)| (p.clone(), e)));
    for (path, entity) in named {
        let key = normalise_str(&entity.name, Case::Fold);
        if let Some((_, first)) = seen.iter().find(|(k, _)| *k == key) {
            errors.push(FieldError::new(
                format!("{path}.name"),
                format!(
                    "duplicates the name of {first} (names are compared ignoring case and accents)"
                ),
            ));
        } else {
            seen.push((key, path));
        }
    }
    match brand {
        Some(brand) if errors.is_empty() => Ok(EntitySet {
            brand,
            competitors: competitors.into_iter().flatten().map(|(_, e)| e).collect(),
        }),
        _ => Err(errors),
    }
}

fn unknown_fields(
    obj: &Map<String, Value>,
    known: &[&str],
    path: &str,
    errors: &mut Vec<FieldError>,
) {
    for key in obj.keys().filter(|k| !known.contains(&k.as_str())) {
        let field = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        errors.push(FieldError::new(
            field,
            format!("unknown field (expected one of: {})", known.join(", ")),
        ));
    }
}

fn parse_entity(v: &Value, path: &str, errors: &mut Vec<FieldError>) -> Option<Entity> {
    let Some(obj) = v.as_object() else {
        errors.push(FieldError::new(
            path,
            "must be an object {name, aliases, domains}",
        ));
        return None;
    };
    let before = errors.len();
    unknown_fields(obj, &["name", "aliases", "domains"], path, errors);
    let name = match obj.get("name") {
        None | Some(Value::Null) => {
            errors.push(FieldError::new(format!("{path}.name"), "is required"));
            None
        }
        Some(v) => push_err(clean_text(&format!("{path}.name"), v), errors),
    };
    let mut aliases = Vec::new();
    for (i, item) in list(obj, "aliases", path, limits::MAX_ALIASES, errors)
        .iter()
        .enumerate()
    {
        if let Some(a) = push_err(parse_alias(item, &format!("{path}.aliases[{i}]")), errors) {
            aliases.push(a);
        }
    }
    let mut domains: Vec<String> = Vec::new();
    for (i, item) in list(obj, "domains", path, limits::MAX_DOMAINS, errors)
        .iter()
        .enumerate()
    {
        if let Some(d) = push_err(parse_domain(item, &format!("{path}.domains[{i}]")), errors) {
            if !domains.contains(&d) {
                domains.push(d);
            }
        }
    }
    let name = name?;
    if errors.len() > before {
        return None;
    }
    Some(Entity {
        aliases: normalise_aliases(&name, aliases),
        name,
        domains,
    })
}

/// The name first when missing, then the aliases without matcher-level duplicates.
fn normalise_aliases(name: &str, given: Vec<Alias>) -> Vec<Alias> {
    let name_key = normalise_str(name, Case::Fold);
    let has_name = given
        .iter()
        .any(|a| normalise_str(&a.text, Case::Fold) == name_key);
    let all = (!has_name)
        .then(|| Alias {
            text: name.to_owned(),
            case_sensitive: false,
        })
        .into_iter()
        .chain(given);
    let mut kept: Vec<(String, Alias)> = Vec::new();
    for alias in all {
        let key = normalise_str(&alias.text, Case::Fold);
        let duplicate = kept.iter().any(|(k, a)| {
            *k == key
                && (!a.case_sensitive
                    || (alias.case_sensitive
                        && normalise_str(&a.text, Case::Keep)
                            == normalise_str(&alias.text, Case::Keep)))
        });
        if !duplicate {
            kept.push((key, alias));
        }
    }
    kept.into_iter().map(|(_, a)| a).collect()
}

fn push_err<T>(r: Result<T, FieldError>, errors: &mut Vec<FieldError>) -> Option<T> {
    r.map_err(|e| errors.push(e)).ok()
}

/// The items of an optional list field, or none (with an error) when it is not a list or too long.
fn list<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    path: &str,
    max: usize,
    errors: &mut Vec<FieldError>,
) -> &'a [Value] {
    match obj.get(key) {
        None | Some(Value::Null) => &[],
        Some(Value::Array(items)) if items.len() > max => {
            errors.push(FieldError::new(
                format!("{path}.{key}"),
                format!("at most {max} items"),
            ));
            &[]
        }
        Some(Value::Array(items)) => items,
        Some(_) => {
            errors.push(FieldError::new(format!("{path}.{key}"), "must be a list"));
            &[]
        }
    }
}

fn parse_alias(v: &Value, path: &str) -> Result<Alias, FieldError> {
    match v {
        Value::String(_) => Ok(Alias {
            text: clean_text(path, v)?,
            case_sensitive: false,
        }),
        Value::Object(obj) => {
            let mut errors = Vec::new();
            unknown_fields(obj, &["text", "case_sensitive"], path, &mut errors);
            if let Some(e) = errors.into_iter().next() {
                return Err(e);
            }
            let text = match obj.get("text") {
                None | Some(Value::Null) => {
                    return Err(FieldError::new(format!("{path}.text"), "is required"))
                }
                Some(t) => clean_text(&format!("{path}.text"), t)?,
            };
            let case_sensitive = match obj.get("case_sensitive") {
                None | Some(Value::Null) => false,
                Some(Value::Bool(b)) => *b,
                Some(_) => {
                    return Err(FieldError::new(
                        format!("{path}.case_sensitive"),
                        "must be true or false",
                    ))
                }
            };
            Ok(Alias {
                text,
                case_sensitive,
            })
        }
        _ => Err(FieldError::new(
            path,
            "must be a string or an object {text, case_sensitive}",
        )),
    }
}

/// A trimmed, NFC-normalised, non-blank name or alias text.
fn clean_text(path: &str, v: &Value) -> Result<String, FieldError> {
    let Some(s) = v.as_str() else {
        return Err(FieldError::new(path, "must be a string"));
    };
    let text: String = s.trim().nfc().collect();
    if text.is_empty() {
        return Err(FieldError::new(path, "must not be blank"));
    }
    if text.chars().count() > limits::TEXT_MAX_CHARS {
        return Err(FieldError::new(
            path,
            format!("must be at most {} characters", limits::TEXT_MAX_CHARS),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(FieldError::new(path, "must not contain control characters"));
    }
    if normalise_str(&text, Case::Fold).is_empty() {
        return Err(FieldError::new(
            path,
            "must contain a visible letter, digit or symbol",
        ));
    }
    Ok(text)
}

/// A lower-cased bare host name.
fn parse_domain(v: &Value, path: &str) -> Result<String, FieldError> {
    let Some(s) = v.as_str() else {
        return Err(FieldError::new(path, "must be a string"));
    };
    let domain: String = s.trim().nfc().collect::<String>().to_lowercase();
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |l: &&str| {
        let n = l.chars().count();
        (1..=limits::LABEL_MAX_CHARS).contains(&n)
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c == '-' || c.is_alphanumeric())
    };
    let tld_has_letter = labels
        .last()
        .is_some_and(|l| l.chars().any(char::is_alphabetic));
    if domain.chars().count() > limits::DOMAIN_MAX_CHARS
        || labels.len() < 2
        || !labels.iter().all(label_ok)
        || !tld_has_letter
    {
        return Err(FieldError::new(path, DOMAIN_MESSAGE));
    }
    Ok(domain)
}

#[cfg(test)]
#[path = "entities_tests.rs"]
mod tests;
