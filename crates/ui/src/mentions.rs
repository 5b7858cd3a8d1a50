//! A result's analysis as its page shows it: the answer with every entity mention in `<mark>`,
//! and the entities with their counts, ranks and citations.
//!
//! The stored analysis (`Services::result_analyses`) keeps, per entity, the first mention's
//! offset (in chars) and alias, not every span. To mark every mention, the answer is matched
//! again with the snapshot the analysis was made with, by the domain's own matcher (pure; no
//! model, no storage): the leftmost mention of the remaining text is found, its end is the
//! shortest stretch that the matcher reads as that same alias, and the search goes on after it.
//! When that snapshot is not available or the analysis is of another extractor version, only the
//! first mention of each entity is marked, from the stored offsets.

use prompter_domain::entities::EntitySet;
use prompter_domain::mentions::{Citation, EntityMention, Matcher, EXTRACTOR_VERSION};
use serde::Deserialize;
use serde_json::Value;

use crate::chart::escape;

/// At most this many mentions are marked (the rest of the answer is shown plain).
pub const MAX_MARKS: usize = 500;

/// The stored analysis JSON: `{alias_snapshot_id, extractor_version, entities, citations}`.
#[derive(Debug, Clone, Deserialize)]
pub struct StoredAnalysis {
    pub alias_snapshot_id: Option<uuid::Uuid>,
    #[serde(default)]
    pub extractor_version: String,
    #[serde(default)]
    pub entities: Vec<EntityMention>,
    #[serde(default)]
    pub citations: Vec<Citation>,
}

impl StoredAnalysis {
    pub fn parse(v: &Value) -> Option<Self> {
        serde_json::from_value(v.clone()).ok()
    }

    /// Whether today's matcher reads answers as this analysis did.
    pub fn is_current_extractor(&self) -> bool {
        self.extractor_version == EXTRACTOR_VERSION
    }
}

/// A mention: `[start, end)` in chars of the answer, of entity `entity` (index in the set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub entity: usize,
}

fn first_mention(a: &prompter_domain::mentions::Analysis) -> Option<(usize, usize, &str)> {
    a.entities
        .iter()
        .enumerate()
        .filter_map(|(i, e)| Some((e.first_offset? as usize, i, e.matched_alias.as_deref()?)))
        .min_by_key(|(offset, i, _)| (*offset, *i))
}

/// The text is matched in windows of this many chars, so a long answer with many mentions costs
/// a window per mention, not the whole rest of the answer.
const WINDOW: usize = 4096;
/// A mention is taken from a window only if it starts this far before the window's end, so the
/// context the matcher looks at (boundaries, URLs) is the same as in the whole text.
const MARGIN: usize = 512;

/// Every mention in `text` (at most [`MAX_MARKS`]), as the matcher of `set` finds them.
pub fn every_mention(set: &EntitySet, text: &str) -> Vec<Span> {
    let matcher = Matcher::new(set);
    let chars: Vec<char> = text.chars().collect();
    let mut spans = Vec::new();
    let mut pos = 0;
    while pos < chars.len() && spans.len() < MAX_MARKS {
        let window_end = (pos + WINDOW).min(chars.len());
        // Where the next window may start when this one has no mention early enough: after
        // white space, so no word (or URL) is cut.
        let safe_end = if window_end == chars.len() {
            window_end
        } else {
            let limit = window_end - MARGIN;
            (pos + 1..=limit)
                .rev()
                .take(MARGIN)
                .find(|&i| chars[i - 1].is_whitespace())
                .unwrap_or(limit)
        };
        let window: String = chars[pos..window_end].iter().collect();
        let analysis = matcher.analyse(&window, &[]);
        let found = first_mention(&analysis).filter(|(offset, _, _)| pos + offset < safe_end);
        let Some((offset, entity, alias)) = found else {
            if window_end == chars.len() {
                break;
            }
            pos = safe_end;
            continue;
        };
        let start = pos + offset;
        // The shortest stretch from `start` that is this alias of this entity (folding can make
        // the original longer or shorter than the alias).
        let alias_len = alias.chars().count();
        let longest = (alias_len * 2 + 8).min(chars.len() - start);
        let end = ((alias_len / 3).max(1)..=longest)
            .find(|len| {
                let piece: String = chars[start..start + len].iter().collect();
                let a = matcher.analyse(&piece, &[]);
                a.entities.get(entity).is_some_and(|e| {
                    e.first_offset == Some(0) && e.matched_alias.as_deref() == Some(alias)
                })
            })
            .map_or(start + alias_len.max(1), |len| start + len)
            .min(chars.len());
        spans.push(Span { start, end, entity });
        pos = end.max(start + 1);
    }
    spans
}

/// The first mention of each entity, from the stored offsets and aliases (overlaps dropped).
pub fn first_mentions(text: &str, entities: &[EntityMention]) -> Vec<Span> {
    let total = text.chars().count();
    let mut spans: Vec<Span> = entities
        .iter()
        .enumerate()
        .filter_map(|(i, e)| {
            let start = e.first_offset? as usize;
            let len = e.matched_alias.as_deref()?.chars().count().max(1);
            (start < total).then(|| Span {
                start,
                end: (start + len).min(total),
                entity: i,
            })
        })
        .collect();
    spans.sort_by_key(|s| s.start);
    let mut kept: Vec<Span> = Vec::with_capacity(spans.len());
    for s in spans {
        if kept.last().is_none_or(|k| s.start >= k.end) {
            kept.push(s);
        }
    }
    kept
}

/// The answer as HTML: escaped, each span in a `<mark>` naming its entity.
pub fn highlight(text: &str, spans: &[Span], entities: &[EntityMention]) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + spans.len() * 64);
    let mut pos = 0;
    let piece = |a: usize, b: usize| -> String { chars[a..b].iter().collect() };
    for s in spans {
        let (start, end) = (s.start.max(pos).min(chars.len()), s.end.min(chars.len()));
        if start >= end {
            continue;
        }
        out.push_str(&escape(&piece(pos, start)));
        let (name, is_brand) = entities
            .get(s.entity)
            .map_or(("", false), |e| (e.name.as_str(), e.is_brand));
        let kind = if is_brand { "brand" } else { "competitor" };
        out.push_str(&format!(
            r#"<mark class="mention mention-{kind}" data-entity="{name}" title="{name}">{text}</mark>"#,
            name = escape(name),
            text = escape(&piece(start, end)),
        ));
        pos = end;
    }
    out.push_str(&escape(&piece(pos, chars.len())));
    out
}

/// One entity in the result page's table.
pub struct MentionRow {
    pub name: String,
    pub is_brand: bool,
    pub mentioned: bool,
    pub count: u32,
    pub rank: Option<u32>,
    pub alias: Option<String>,
    pub cited: bool,
}

/// The page's "Mentions" section.
pub struct MentionsView {
    /// The answer, HTML-escaped, with `<mark>`s.
    pub answer_html: String,
    pub rows: Vec<MentionRow>,
    pub citations: Vec<Citation>,
    pub snapshot_id: String,
    pub extractor_version: String,
    /// Whether every mention is marked (else the first of each entity).
    pub every_mention: bool,
}

impl MentionsView {
    /// `set`: the entities of the analysis's snapshot, if known.
    pub fn new(answer: &str, analysis: StoredAnalysis, set: Option<&EntitySet>) -> Self {
        let matchable = set.filter(|s| {
            analysis.is_current_extractor()
                && s.entities()
                    .map(|(e, _)| e.name.as_str())
                    .eq(analysis.entities.iter().map(|e| e.name.as_str()))
        });
        let spans = match matchable {
            Some(set) => every_mention(set, answer),
            None => first_mentions(answer, &analysis.entities),
        };
        Self {
            answer_html: highlight(answer, &spans, &analysis.entities),
            every_mention: matchable.is_some(),
            rows: analysis
                .entities
                .iter()
                .map(|e| MentionRow {
                    name: e.name.clone(),
                    is_brand: e.is_brand,
                    mentioned: e.mentioned,
                    count: e.count,
                    rank: e.rank,
                    alias: e.matched_alias.clone(),
                    cited: e.cited,
                })
                .collect(),
            citations: analysis.citations,
            snapshot_id: analysis
                .alias_snapshot_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
            extractor_version: analysis.extractor_version,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prompter_domain::entities::parse_entity_set;
    use prompter_domain::mentions::analyse;

    fn set() -> EntitySet {
        parse_entity_set(&serde_json::json!({
            "brand": {"name": "Acme", "aliases": ["Acme Corp"]},
            "competitors": [{"name": "Swiss"}, {"name": "Swiss Nutrition"},
                {"name": "Apple", "aliases": [{"text": "Apple", "case_sensitive": true}]}]
        }))
        .unwrap()
    }

    fn marked(html: &str) -> Vec<&str> {
        html.split("\">")
            .skip(1)
            .filter_map(|s| s.split("</mark>").next().filter(|_| s.contains("</mark>")))
            .collect()
    }

    #[test]
    fn marks_every_mention_with_its_alias() {
        let text = "Ünïcode first: Acme Corp <b>, then Swiss Nutrition & Swiss; apple pie, Apple, ACME\u{a0}corp and acme.";
        let set = set();
        let analysis = analyse(text, &set, &[]);
        let spans = every_mention(&set, text);
        // As many marks per entity as the analysis counts.
        for (i, e) in analysis.entities.iter().enumerate() {
            let n = spans.iter().filter(|s| s.entity == i).count();
            assert_eq!(n as u32, e.count, "{}", e.name);
            let first = spans.iter().find(|s| s.entity == i).map(|s| s.start as u32);
            assert_eq!(first, e.first_offset, "{}", e.name);
        }
        let html = highlight(text, &spans, &analysis.entities);
        assert_eq!(
            marked(&html),
            [
                "Acme Corp",
                "Swiss Nutrition",
                "Swiss",
                "Apple",
                "ACME\u{a0}corp",
                "acme"
            ]
        );
        assert!(html.contains("&lt;b&gt;") && html.contains("&amp;"));
        assert!(html.contains(r#"<mark class="mention mention-brand" data-entity="Acme" title="Acme">Acme Corp</mark>"#));
        assert!(html.starts_with("Ünïcode first: "));
    }

    #[test]
    fn long_answers_are_matched_in_windows_like_the_whole() {
        let set = set();
        let filler = "lorem ipsum dolor sit amet ".repeat(300);
        let text = format!(
            "{filler}Acme Corp {filler}xAcme https://acme.example/Swiss {filler}Swiss Nutrition. {filler}"
        );
        let analysis = analyse(&text, &set, &[]);
        let spans = every_mention(&set, &text);
        let counts: Vec<u32> = (0..4)
            .map(|i| spans.iter().filter(|s| s.entity == i).count() as u32)
            .collect();
        let expected: Vec<u32> = analysis.entities.iter().map(|e| e.count).collect();
        assert_eq!(counts, expected);
        assert_eq!(spans.len(), 2, "{spans:?}");
        let html = highlight(&text, &spans, &analysis.entities);
        assert_eq!(marked(&html), ["Acme Corp", "Swiss Nutrition"]);
    }

    #[test]
    fn without_the_snapshot_the_first_mentions_are_marked() {
        let text = "Acme and Swiss, Acme again.";
        let analysis = analyse(text, &set(), &[]);
        let spans = first_mentions(text, &analysis.entities);
        assert_eq!(spans.len(), 2);
        let html = highlight(text, &spans, &analysis.entities);
        assert_eq!(marked(&html), ["Acme", "Swiss"]);
        assert!(html.ends_with(", Acme again."));

        let stored = StoredAnalysis::parse(&serde_json::json!({
            "alias_snapshot_id": uuid::Uuid::nil(), "extractor_version": "mentions-0",
            "entities": analysis.entities, "citations": []
        }))
        .unwrap();
        let set = set();
        let view = MentionsView::new(text, stored, Some(&set));
        assert!(
            !view.every_mention,
            "another extractor version: first mentions only"
        );
        assert_eq!(view.rows.len(), 4);
    }
}
