//! The compiled matcher: one Aho–Corasick automaton over the folded aliases of a set, reporting
//! every (overlapping) occurrence; boundaries, case-sensitive aliases and overlaps are then
//! resolved on the candidates, which keeps each rule a few lines of plain code.

use std::collections::{HashMap, HashSet};

use aho_corasick::{AhoCorasick, MatchKind};

use super::normalise::{
    continues_previous, is_spaced_word_char, normalise_chars, normalise_str, Case, Normalised,
    SEPARATOR,
};
use super::urls::{self, url_domain};
use super::{Analysis, Citation, EntityMention};
use crate::entities::EntitySet;

/// An [`EntitySet`] compiled for matching; build once, analyse many answers.
#[derive(Debug, Clone)]
pub struct Matcher {
    entities: Vec<EntityInfo>,
    /// Indexed by pattern id: one per distinct folded alias.
    patterns: Vec<Pattern>,
    /// The folded alias of each pattern.
    texts: Vec<String>,
    /// `None` only if the automaton could not be built (far beyond the set limits); matching then
    /// falls back to plain substring search.
    automaton: Option<AhoCorasick>,
    /// Folded aliases that look like domains (`booking.com`): left visible in prose.
    alias_domains: HashSet<String>,
}

#[derive(Debug, Clone)]
struct EntityInfo {
    name: String,
    is_brand: bool,
    aliases: Vec<String>,
    /// Lower-cased, without `www.`.
    domains: Vec<String>,
}

#[derive(Debug, Clone)]
struct Pattern {
    first: char,
    last: char,
    /// The aliases with this folded form, in precedence order.
    owners: Vec<Owner>,
}

#[derive(Debug, Clone)]
struct Owner {
    entity: usize,
    alias: usize,
    /// The case-kept form a case-sensitive alias requires.
    cased: Option<String>,
}

/// A match that passed the boundary and case checks.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    start: usize,
    end: usize,
    entity: usize,
    alias: usize,
}

impl Matcher {
    pub fn new(set: &EntitySet) -> Self {
        let mut entities = Vec::new();
        let mut patterns: Vec<Pattern> = Vec::new();
        let mut texts: Vec<String> = Vec::new();
        let mut ids: HashMap<String, usize> = HashMap::new();
        let mut alias_domains = HashSet::new();
        for (ei, (entity, is_brand)) in set.entities().enumerate() {
            for (ai, alias) in entity.aliases.iter().enumerate() {
                let folded = normalise_str(&alias.text, Case::Fold);
                let (Some(first), Some(last)) = (folded.chars().next(), folded.chars().last())
                else {
                    continue;
                };
                if folded.contains(SEPARATOR) {
                    continue;
                }
                let id = *ids.entry(folded.clone()).or_insert_with(|| {
                    texts.push(folded.clone());
                    patterns.push(Pattern {
                        first,
                        last,
                        owners: Vec::new(),
                    });
                    patterns.len() - 1
                });
                patterns[id].owners.push(Owner {
                    entity: ei,
                    alias: ai,
                    cased: alias
                        .case_sensitive
                        .then(|| normalise_str(&alias.text, Case::Keep)),
                });
                if folded.contains('.') {
                    alias_domains.insert(folded);
                }
            }
            entities.push(EntityInfo {
                name: entity.name.clone(),
                is_brand,
                aliases: entity.aliases.iter().map(|a| a.text.clone()).collect(),
                domains: entity
                    .domains
                    .iter()
                    .filter_map(|d| url_domain(d))
                    .collect(),
            });
        }
        for p in &mut patterns {
            p.owners.sort_by(|a, b| {
                let (ea, eb) = (&entities[a.entity], &entities[b.entity]);
                (
                    !ea.is_brand,
                    &ea.name,
                    a.entity,
                    &ea.aliases[a.alias],
                    a.alias,
                )
                    .cmp(&(
                        !eb.is_brand,
                        &eb.name,
                        b.entity,
                        &eb.aliases[b.alias],
                        b.alias,
                    ))
            });
        }
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(&texts)
            .ok();
        Matcher {
            entities,
            patterns,
            texts,
            automaton,
            alias_domains,
        }
    }

    /// Analyses one answer; `extra_citations` are the URLs the provider reported as cited.
    pub fn analyse(&self, text: &str, extra_citations: &[String]) -> Analysis {
        let chars: Vec<char> = text.chars().take(u32::MAX as usize).collect();
        let scan = urls::scan(&chars, &self.alias_domains);
        let norm = Normalised::of_text(&chars, &scan.mask, Case::Fold);

        let mut candidates = Vec::new();
        let mut consider = |id: usize, start: usize, end: usize| {
            if let Some(c) = self.check(&norm, &chars, id, start, end) {
                candidates.push(c);
            }
        };
        match &self.automaton {
            Some(ac) => {
                for m in ac.find_overlapping_iter(&norm.text) {
                    consider(m.pattern().as_usize(), m.start(), m.end());
                }
            }
            None => {
                for (id, pat) in self.texts.iter().enumerate() {
                    let step = pat.chars().next().map_or(1, char::len_utf8);
                    let mut from = 0;
                    while let Some(p) = norm.text.get(from..).and_then(|t| t.find(pat.as_str())) {
                        consider(id, from + p, from + p + pat.len());
                        from += p + step;
                    }
                }
            }
        }

        // Leftmost first; at the same start, the longest.
        candidates.sort_by_key(|c| (c.start, std::cmp::Reverse(c.end)));
        let mut mentions: Vec<EntityMention> = self
            .entities
            .iter()
            .map(|e| EntityMention {
                name: e.name.clone(),
                is_brand: e.is_brand,
                mentioned: false,
                count: 0,
                first_offset: None,
                rank: None,
                matched_alias: None,
                cited: false,
            })
            .collect();
        let mut taken_until = 0;
        for c in candidates {
            if c.start < taken_until {
                continue;
            }
            taken_until = c.end;
            let m = &mut mentions[c.entity];
            m.count = m.count.saturating_add(1);
            if m.first_offset.is_none() {
                m.mentioned = true;
                m.first_offset = norm.origin.get(c.start).copied();
                m.matched_alias = Some(self.entities[c.entity].aliases[c.alias].clone());
            }
        }
        let mut order: Vec<(u32, usize)> = mentions
            .iter()
            .enumerate()
            .filter_map(|(i, m)| m.first_offset.map(|o| (o, i)))
            .collect();
        order.sort_unstable();
        for (rank, (_, i)) in order.into_iter().enumerate() {
            mentions[i].rank = Some(rank as u32 + 1);
        }

        let citations = citations(extra_citations, &scan.urls);
        for (m, e) in mentions.iter_mut().zip(&self.entities) {
            m.cited = citations
                .iter()
                .any(|c| e.domains.iter().any(|d| is_under(&c.domain, d)));
        }
        Analysis {
            entities: mentions,
            citations,
        }
    }

    /// The candidate for an occurrence of pattern `id` at `[start, end)` of the folded text, if it
    /// sits on whole characters and word boundaries and some owner's case rule accepts it.
    fn check(
        &self,
        norm: &Normalised,
        chars: &[char],
        id: usize,
        start: usize,
        end: usize,
    ) -> Option<Candidate> {
        let pattern = self.patterns.get(id)?;
        if !norm.aligned(start, end) {
            return None;
        }
        let before = norm.text.get(..start)?.chars().next_back();
        let after = norm.text.get(end..)?.chars().next();
        if joins(before, pattern.first)
            || joins(after, pattern.last)
            || after.is_some_and(continues_previous)
        {
            return None;
        }
        let mut original: Option<String> = None;
        let owner = pattern.owners.iter().find(|o| match &o.cased {
            None => true,
            Some(cased) => {
                let text = original.get_or_insert_with(|| {
                    let (a, b) = norm.original_range(start, end, chars.len());
                    normalise_chars(&chars[a..b], Case::Keep)
                });
                text == cased
            }
        })?;
        Some(Candidate {
            start,
            end,
            entity: owner.entity,
            alias: owner.alias,
        })
    }
}

/// Whether `neighbour` and the alias's `edge` character would be letters of one word.
fn joins(neighbour: Option<char>, edge: char) -> bool {
    neighbour.is_some_and(|n| is_spaced_word_char(n) && is_spaced_word_char(edge))
}

/// Whether host `domain` is `parent` or one of its subdomains.
fn is_under(domain: &str, parent: &str) -> bool {
    domain == parent
        || (domain.len() > parent.len()
            && domain.ends_with(parent)
            && domain.as_bytes()[domain.len() - parent.len() - 1] == b'.')
}

/// The provider's citations, then the text's URLs, unique by URL.
fn citations(extra: &[String], found: &[String]) -> Vec<Citation> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for url in extra.iter().chain(found) {
        let url = url.trim();
        if url.is_empty() || !seen.insert(url) {
            continue;
        }
        out.push(Citation {
            url: url.to_owned(),
            domain: url_domain(url).unwrap_or_default(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entities::parse_entity_set;

    #[test]
    fn substring_fallback_agrees_with_the_automaton() {
        let set = parse_entity_set(&serde_json::json!({
            "brand": {"name": "AVEA", "aliases": ["AVEA Vitamins"]},
            "competitors": [{"name": "Swiss Nutrition"}, {"name": "Swiss"}, {"name": "aa"},
                {"name": "Apple", "aliases": [{"text": "Apple", "case_sensitive": true}]}]
        }))
        .unwrap();
        let with = Matcher::new(&set);
        let mut without = with.clone();
        without.automaton = None;
        for text in [
            "AVEA Vitamins and Swiss Nutrition, Swiss Nutritionists, aaa aa, Apple apple",
            "",
            "ｿﾆｰ AVEA’s https://avea.ch Straße",
        ] {
            assert_eq!(
                with.analyse(text, &[]),
                without.analyse(text, &[]),
                "{text}"
            );
        }
    }

    #[test]
    fn matcher_can_be_shared_across_threads() {
        fn shareable<T: Send + Sync + Clone>() {}
        shareable::<Matcher>();
    }

    #[test]
    fn subdomains() {
        assert!(is_under("avea.ch", "avea.ch"));
        assert!(is_under("shop.avea.ch", "avea.ch"));
        assert!(!is_under("notavea.ch", "avea.ch"));
        assert!(!is_under("avea.ch", "shop.avea.ch"));
        assert!(!is_under("ch", "avea.ch"));
    }
}
