//! Properties of the mention matcher over generated texts and entity sets: it never panics, and
//! its output is always self-consistent.

use prompter_domain::entities::{parse_entity_set, Alias, Entity, EntitySet};
use prompter_domain::mentions::{Analysis, Matcher};
use proptest::prelude::*;
use serde_json::json;

/// Pieces that hit the matcher's special cases: names, URLs, Markdown, apostrophes, ß, accents,
/// CJK, Hangul, zero-width and control characters.
const FRAGMENTS: &[&str] = &[
    "AVEA",
    "avea",
    "Avea",
    "AVEA's",
    "Nestlé",
    "Nestle\u{301}",
    "Swiss",
    "Nutrition",
    " ",
    "  ",
    "\n",
    "\t",
    "**",
    "__",
    "`",
    "#",
    "- ",
    "[",
    "](",
    ")",
    "(",
    "https://",
    "http://",
    "www.",
    ".ch",
    "avea.ch",
    "@",
    "'",
    "’",
    "ß",
    "ss",
    "SS",
    "ẞ",
    "ソニー",
    "的",
    "한",
    "하",
    "\u{200D}",
    "\u{200B}",
    "\u{301}",
    "\u{308}",
    "😀",
    "👨‍👩‍👧",
    "\u{0}",
    "\u{7}",
    "-",
    ".",
    "/",
    "x",
    "İ",
    "ς",
    "Σ",
    "ﬁ",
    "Ａ",
    "«",
    "»",
    "שלום",
    "مرحبا",
    "\u{FE0F}",
    "Яндекс",
    "ΟΔΥΣΣΕΥΣ",
    "ǅ",
];

fn fragment_text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(FRAGMENTS), 0..40).prop_map(|v| v.concat())
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), fragment_text(), "[ -~\\n]{0,200}"]
}

fn alias_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        prop::collection::vec(prop::sample::select(FRAGMENTS), 1..4).prop_map(|v| v.concat()),
    ]
}

fn raw_entity() -> impl Strategy<Value = Entity> {
    let alias = (alias_text(), any::<bool>()).prop_map(|(text, case_sensitive)| Alias {
        text,
        case_sensitive,
    });
    (
        alias_text(),
        prop::collection::vec(alias, 0..5),
        prop::collection::vec(alias_text(), 0..3),
    )
        .prop_map(|(name, aliases, domains)| Entity {
            name,
            aliases,
            domains,
        })
}

/// Any entity set, valid or not: the matcher must cope with sets built without validation.
fn raw_set() -> impl Strategy<Value = EntitySet> {
    (raw_entity(), prop::collection::vec(raw_entity(), 0..5))
        .prop_map(|(brand, competitors)| EntitySet { brand, competitors })
}

fn check_consistent(a: &Analysis, set: &EntitySet, text: &str) {
    let chars = text.chars().count();
    assert_eq!(a.entities.len(), set.entities().count());
    let mut ranks: Vec<u32> = Vec::new();
    for (m, (e, is_brand)) in a.entities.iter().zip(set.entities()) {
        assert_eq!(m.name, e.name);
        assert_eq!(m.is_brand, is_brand);
        assert_eq!(m.mentioned, m.count > 0);
        assert_eq!(m.mentioned, m.first_offset.is_some());
        assert_eq!(m.mentioned, m.rank.is_some());
        assert_eq!(m.mentioned, m.matched_alias.is_some());
        if let Some(o) = m.first_offset {
            assert!((o as usize) < chars, "offset {o} of {chars} chars");
        }
        if let Some(alias) = &m.matched_alias {
            assert!(e.aliases.iter().any(|a| &a.text == alias));
        }
        ranks.extend(m.rank);
    }
    ranks.sort_unstable();
    let k = ranks.len() as u32;
    assert_eq!(ranks, (1..=k).collect::<Vec<_>>());
    // Ranks follow first offsets.
    let mut by_rank: Vec<_> = a.entities.iter().filter(|m| m.mentioned).collect();
    by_rank.sort_by_key(|m| m.rank);
    assert!(by_rank
        .windows(2)
        .all(|w| w[0].first_offset < w[1].first_offset));
    // Citations are unique by URL.
    let mut urls: Vec<&str> = a.citations.iter().map(|c| c.url.as_str()).collect();
    urls.sort_unstable();
    urls.dedup();
    assert_eq!(urls.len(), a.citations.len());
}

fn demo_set() -> EntitySet {
    parse_entity_set(&json!({
        "brand": {"name": "AVEA", "aliases": ["AVEA Vitamins", "Avea’s"], "domains": ["avea.ch"]},
        "competitors": [
            {"name": "Swiss Nutrition"}, {"name": "Swiss"}, {"name": "Nestlé"},
            {"name": "Apple", "aliases": [{"text": "Apple", "case_sensitive": true}]},
            {"name": "ソニー"}, {"name": "Straße"}, {"name": "하"}, {"name": "ΟΔΥΣΣΕΥΣ"}
        ]
    }))
    .expect("valid")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_is_consistent(text in text(), extra in prop::collection::vec(text(), 0..3)) {
        let set = demo_set();
        let a = Matcher::new(&set).analyse(&text, &extra);
        check_consistent(&a, &set, &text);
        prop_assert!(a.citations.len() >= extra.iter().filter(|u| !u.trim().is_empty()).count().min(1));
    }

    #[test]
    fn arbitrary_sets_never_panic(set in raw_set(), text in text()) {
        let a = Matcher::new(&set).analyse(&text, &[]);
        check_consistent(&a, &set, &text);
    }

    #[test]
    fn validated_arbitrary_aliases(aliases in prop::collection::vec(alias_text(), 1..6), text in text()) {
        if let Ok(set) = parse_entity_set(&json!({"brand": {"name": "Brandname", "aliases": aliases}})) {
            let a = Matcher::new(&set).analyse(&text, &[]);
            check_consistent(&a, &set, &text);
        }
    }

    #[test]
    fn inserted_name_is_found(text in "[\\x00-\\x7f]{0,300}", at in any::<prop::sample::Index>()) {
        let set = parse_entity_set(&json!({"brand": {"name": "Brandname"}})).expect("valid");
        let boundary = at.index(text.len() + 1);
        let inserted = format!("{} Brandname {}", &text[..boundary], &text[boundary..]);
        let a = Matcher::new(&set).analyse(&inserted, &[]);
        let m = &a.entities[0];
        prop_assert!(m.mentioned, "{inserted:?}");
        prop_assert!(m.count >= 1);
        check_consistent(&a, &set, &inserted);
    }

    #[test]
    fn competitor_order_does_not_matter(text in fragment_text()) {
        let set = demo_set();
        let mut reversed = set.clone();
        reversed.competitors.reverse();
        let a = Matcher::new(&set).analyse(&text, &[]);
        let b = Matcher::new(&reversed).analyse(&text, &[]);
        for m in &a.entities {
            let n = b.entities.iter().find(|n| n.name == m.name).expect("same entities");
            prop_assert_eq!(m, n);
        }
        prop_assert_eq!(set.content_hash(), reversed.content_hash());
    }

    #[test]
    fn composed_or_decomposed_text_counts_alike(text in fragment_text()) {
        use unicode_normalization::UnicodeNormalization;
        let set = demo_set();
        let m = Matcher::new(&set);
        let counts = |t: &str| -> Vec<u32> { m.analyse(t, &[]).entities.iter().map(|e| e.count).collect() };
        let nfc: String = text.nfc().collect();
        let nfd: String = text.nfd().collect();
        prop_assert_eq!(counts(&nfc), counts(&nfd));
    }
}
