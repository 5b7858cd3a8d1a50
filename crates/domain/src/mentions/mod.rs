//! Which entities of an [`EntitySet`] an answer mentions, where first, how often, and which of
//! them it cites.
//!
//! The rules, and why:
//!
//! - **Normalised comparison** (the `normalise` module): case, accents, compatibility forms (full width,
//!   ligatures), apostrophe shapes and white-space runs do not matter, because a reader does not
//!   care whether a model wrote `Nestle` or `Nestlé`, `AVEA’s` or `AVEA's`, or broke
//!   `Swiss\nNutrition` over two lines. Hyphen vs space does matter (`Swiss-Nutrition` is not
//!   `Swiss Nutrition`); list both spellings as aliases where a brand uses both.
//! - **Case-sensitive aliases** (`{"text": "Apple", "case_sensitive": true}`) exist for names that
//!   are also ordinary words: they match only where the text has exactly the alias's letter case
//!   (`Apple`, not `apple pie` nor `APPLE`), after the same accent, width and apostrophe
//!   normalisation as other aliases.
//! - **Word boundaries**: a match must not be preceded or followed by a letter or digit of the same
//!   word, so `Avea` is not found in `Aveal` or `ZAvea`, while punctuation (`AVEA's`,
//!   `AVEA-Produkte`, `«AVEA»`, `(AVEA)`, `**AVEA**`, `` `AVEA` ``) is a boundary. Latin, Greek and
//!   Cyrillic letters are word characters alike. Scripts written without spaces (Chinese,
//!   Japanese, Korean, Thai, …) have no visible word boundary, so next to their characters no
//!   boundary is required: `ソニー` is found in `ソニーの`, `AVEA` in `在AVEA的`. The price is that a
//!   CJK alias can match inside a longer CJK word (`小米` in `小米粥`). Inflected forms in
//!   Greek or Russian (`Яндекса`) are other words and are not found; list them as aliases if they
//!   matter. A match must also start and end on whole characters of the original text (not inside
//!   the `ss` that `ß` becomes, nor inside a Hangul syllable), and must not end before a character
//!   that continues its last one (a kept combining mark such as the Japanese voicing mark, a
//!   Hangul vowel or final jamo), so composed and decomposed texts give the same counts.
//! - **Markdown is seen through** without being parsed: emphasis, headings, list markers, code
//!   spans and link brackets are punctuation, hence boundaries. Emphasis *inside* a multi-word
//!   alias (`**Swiss** Nutrition`) is not seen through.
//! - **URLs are citations, not mentions** ([`urls`]): `https://…`, `www.…`, bare domains with a
//!   known top-level domain (`avea.ch`) and Markdown link targets are hidden from the matcher;
//!   e-mail addresses are hidden too but are not citations.
//! - **Overlaps**: among matches that overlap, the leftmost wins, and of those starting at the same
//!   place the longest (`Swiss Nutrition` beats `Swiss`); every span counts once, for one entity.
//!   When the same alias belongs to several entities, the brand wins, then the competitor whose
//!   name sorts first, so the result does not depend on the order of the competitors.
//! - `first_offset` counts Unicode scalar values (`char`s) of the original text, the unit every
//!   client language can index with; `rank` orders mentioned entities by first mention.
//! - An entity is **cited** when a citation's host (lower-cased, without `www.`) is one of its
//!   domains or a subdomain of one (`shop.avea.ch` is under `avea.ch`; `notavea.ch` is not).
//!   Citations are the provider's (first) and the text's URLs, deduplicated by exact URL.
//!
//! [`Matcher`] compiles an entity set once (an Aho–Corasick automaton over the folded aliases) for
//! the hot path; [`analyse`] is the one-shot form.

use serde::{Deserialize, Serialize};

use crate::entities::EntitySet;

mod matcher;
pub(crate) mod normalise;
pub mod urls;

#[cfg(test)]
mod tests;

pub use matcher::Matcher;
pub use urls::url_domain;

/// Version of the extraction rules: stored with every analysis, bumped whenever a rule changes
/// what is found, so that results of different versions are never compared unknowingly.
pub const EXTRACTOR_VERSION: &str = "mentions-1";

/// What one answer says about the entities of a set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    /// The brand first, then the competitors in the set's order.
    pub entities: Vec<EntityMention>,
    /// Provider-reported citations first, then URLs found in the text; unique by URL.
    pub citations: Vec<Citation>,
}

/// One entity's presence in an answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntityMention {
    pub name: String,
    pub is_brand: bool,
    /// `count > 0`.
    pub mentioned: bool,
    /// Non-overlapping mentions.
    pub count: u32,
    /// Offset, in chars of the original text, where the first mention starts.
    pub first_offset: Option<u32>,
    /// 1-based order of the first mention among the mentioned entities.
    pub rank: Option<u32>,
    /// The alias (as stored in the set) of the first mention.
    pub matched_alias: Option<String>,
    /// Whether a citation points at one of the entity's domains.
    pub cited: bool,
}

/// A URL the answer cites, with its host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Citation {
    pub url: String,
    /// Lower-cased host without a leading `www.`; empty when the URL has none.
    pub domain: String,
}

/// Analyses one answer. For many answers against the same set, build a [`Matcher`] once.
pub fn analyse(text: &str, entities: &EntitySet, extra_citations: &[String]) -> Analysis {
    Matcher::new(entities).analyse(text, extra_citations)
}
