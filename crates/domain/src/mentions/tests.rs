//! One test (or more) per rule of the module documentation.

use serde_json::{json, Value};

use super::*;
use crate::entities::parse_entity_set;

mod citations;

fn set(v: Value) -> EntitySet {
    parse_entity_set(&v).unwrap_or_else(|e| panic!("{e:?}"))
}

/// AVEA (brand) and a few competitors exercising overlaps and case sensitivity.
pub(super) fn demo() -> EntitySet {
    set(json!({
        "brand": {"name": "AVEA", "aliases": ["AVEA Vitamins"], "domains": ["avea.ch", "www.avea-vitamins.com"]},
        "competitors": [
            {"name": "Swiss Nutrition", "domains": ["swissnutrition.ch"]},
            {"name": "Swiss", "aliases": ["Swiss Airlines"]},
            {"name": "Nestlé", "aliases": ["Nestlé Health Science"]},
            {"name": "Apple", "aliases": [{"text": "Apple", "case_sensitive": true}]},
            {"name": "Straße AG"},
            {"name": "Booking.com", "domains": ["booking.com"]}
        ]
    }))
}

pub(super) fn find<'a>(a: &'a Analysis, name: &str) -> &'a EntityMention {
    a.entities
        .iter()
        .find(|e| e.name == name)
        .unwrap_or_else(|| panic!("no entity {name}"))
}

fn count(text: &str, name: &str) -> u32 {
    find(&analyse(text, &demo(), &[]), name).count
}

pub(super) fn avea(text: &str) -> u32 {
    count(text, "AVEA")
}

#[test]
fn first_offset_counts_chars_of_the_original() {
    let a = analyse("Über «AVEA»", &demo(), &[]);
    assert_eq!(find(&a, "AVEA").first_offset, Some(6));
    let a = analyse("😀👍🏽 AVEA", &demo(), &[]);
    assert_eq!(find(&a, "AVEA").first_offset, Some(4));
    let a = analyse("Straße und Nestle\u{301}:\n\n  **AVEA**", &demo(), &[]);
    assert_eq!(find(&a, "AVEA").first_offset, Some(25));
    assert_eq!(find(&a, "Nestlé").first_offset, Some(11));
    let a = analyse("ＡＶＥＡ", &demo(), &[]);
    assert_eq!(find(&a, "AVEA").first_offset, Some(0));
}

#[test]
fn count_mentioned_rank_and_matched_alias() {
    let text =
        "Swiss Nutrition and AVEA Vitamins lead; AVEA is cheaper than Swiss Nutrition. AVEA!";
    let a = analyse(text, &demo(), &[]);
    let b = find(&a, "AVEA");
    assert_eq!((b.count, b.mentioned, b.rank), (3, true, Some(2)));
    assert_eq!(b.matched_alias.as_deref(), Some("AVEA Vitamins"));
    assert_eq!(b.first_offset, Some(20));
    let s = find(&a, "Swiss Nutrition");
    assert_eq!((s.count, s.rank, s.first_offset), (2, Some(1), Some(0)));
    let n = find(&a, "Nestlé");
    assert_eq!(
        (n.count, n.mentioned, n.rank, n.first_offset),
        (0, false, None, None)
    );
    assert_eq!(n.matched_alias, None);
    // Swiss is inside "Swiss Nutrition" only: that span belongs to the longer match.
    assert_eq!(find(&a, "Swiss").count, 0);
}

#[test]
fn entities_in_set_order_brand_first() {
    let a = analyse("Apple and AVEA", &demo(), &[]);
    let names: Vec<&str> = a.entities.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "AVEA",
            "Swiss Nutrition",
            "Swiss",
            "Nestlé",
            "Apple",
            "Straße AG",
            "Booking.com"
        ]
    );
    assert!(a.entities[0].is_brand && a.entities[1..].iter().all(|e| !e.is_brand));
    assert_eq!(find(&a, "Apple").rank, Some(1));
    assert_eq!(find(&a, "AVEA").rank, Some(2));
}

#[test]
fn case_accents_width_and_sharp_s() {
    assert_eq!(avea("avea, Avea, AVEA, ＡＶＥＡ"), 4);
    assert_eq!(count("Nestle and NESTLÉ and Nestle\u{301}", "Nestlé"), 3);
    let only_plain = set(json!({"brand": {"name": "Nestle"}}));
    assert_eq!(analyse("Nestlé", &only_plain, &[]).entities[0].count, 1);
    assert_eq!(count("Strasse AG, STRASSE AG, Straße AG", "Straße AG"), 3);
    let greek = set(json!({"brand": {"name": "ΟΔΥΣΣΕΥΣ"}}));
    assert_eq!(
        analyse("Ο Οδυσσεύς, ο Οδυσσευς.", &greek, &[]).entities[0].count,
        2
    );
}

#[test]
fn apostrophes_alike() {
    let s = set(json!({"brand": {"name": "L'Oréal"}}));
    for t in ["L'Oréal", "L’Oréal", "Lʼoreal", "L‘OREAL"] {
        assert_eq!(analyse(t, &s, &[]).entities[0].count, 1, "{t}");
    }
    assert_eq!(avea("AVEA's and AVEA’s and AVEAʼs"), 3);
}

#[test]
fn case_sensitive_aliases() {
    assert_eq!(count("Apple makes phones.", "Apple"), 1);
    assert_eq!(count("I had an apple pie. APPLE PIE.", "Apple"), 0);
    assert_eq!(count("Apple’s and Apple-Geräte", "Apple"), 2);
    // Accents stay optional for case-sensitive aliases, the letter case does not.
    let s = set(
        json!({"brand": {"name": "Café", "aliases": [{"text": "Café", "case_sensitive": true}]}}),
    );
    let c = |t: &str| analyse(t, &s, &[]).entities[0].count;
    assert_eq!(
        (c("Cafe Royal"), c("Café"), c("café"), c("CAFÉ")),
        (1, 1, 0, 0)
    );
    // A case-insensitive and a case-sensitive alias of different entities share a folded form.
    let s = set(json!({
        "brand": {"name": "Apple", "aliases": [{"text": "Apple", "case_sensitive": true}]},
        "competitors": [{"name": "Fruit Co", "aliases": ["apple"]}]
    }));
    let a = analyse("Apple vs apple", &s, &[]);
    assert_eq!((a.entities[0].count, a.entities[1].count), (1, 1));
}

#[test]
fn word_boundaries_latin() {
    for t in ["Aveal", "ZAvea", "AVEA2", "avealand", "xAVEA's"] {
        assert_eq!(avea(t), 0, "{t}");
    }
    for t in [
        "AVEA's",
        "AVEA’s",
        "AVEA-Produkte",
        "«AVEA»",
        "« AVEA »",
        "(AVEA)",
        "AVEA.",
        "\"AVEA\"",
        "„AVEA“",
        "l'AVEA",
        "AVEA/Burgerstein",
        "AVEA:",
        "AVEA…",
        "¡AVEA!",
        "2×AVEA",
    ] {
        assert_eq!(avea(t), 1, "{t}");
    }
}

#[test]
fn word_boundaries_greek_cyrillic() {
    let s = set(
        json!({"brand": {"name": "Озон", "aliases": ["Ozon"]}, "competitors": [{"name": "Πλαίσιο"}]}),
    );
    let c = |t: &str| {
        let a = analyse(t, &s, &[]);
        (a.entities[0].count, a.entities[1].count)
    };
    assert_eq!(c("Маркетплейс «Озон» и Πλαίσιο."), (1, 1));
    assert_eq!(c("Озона, Πλαίσιου"), (0, 0));
    assert_eq!(c("ПроОзон"), (0, 0));
    assert_eq!(c("Ozonпро"), (0, 0));
    assert_eq!(c("ΠΛΑΙΣΙΟ"), (0, 1));
}

#[test]
fn word_boundaries_cjk() {
    let s = set(json!({
        "brand": {"name": "ソニー", "aliases": ["Sony"]},
        "competitors": [{"name": "AVEA"}, {"name": "华为"}, {"name": "삼성"}]
    }));
    let c = |t: &str| -> Vec<u32> {
        analyse(t, &s, &[])
            .entities
            .iter()
            .map(|e| e.count)
            .collect()
    };
    assert_eq!(c("ソニーのテレビ"), [1, 0, 0, 0]);
    assert_eq!(c("在AVEA的网站上"), [0, 1, 0, 0]);
    assert_eq!(c("我认为华为和Sony都不错"), [1, 0, 1, 0]);
    assert_eq!(c("삼성은 좋습니다"), [0, 0, 0, 1]);
    assert_eq!(c("ｿﾆｰ"), [1, 0, 0, 0]);
    // A CJK alias next to Latin letters still matches; a Latin alias inside a Latin word does not.
    assert_eq!(c("xソニーx Sonyx"), [1, 0, 0, 0]);
    // Hangul syllables are not split: 한 (han) does not contain 하 (ha).
    let h = set(json!({"brand": {"name": "하"}}));
    assert_eq!(analyse("한국", &h, &[]).entities[0].count, 0);
    assert_eq!(analyse("하나", &h, &[]).entities[0].count, 1);
    // The same in decomposed form (conjoining jamo), and for a decomposed voicing mark.
    assert_eq!(
        analyse("\u{1112}\u{1161}\u{11AB}", &h, &[]).entities[0].count,
        0
    );
    let k = set(json!({"brand": {"name": "か"}}));
    assert_eq!(analyse("が", &k, &[]).entities[0].count, 0);
    assert_eq!(analyse("か\u{3099}", &k, &[]).entities[0].count, 0);
    assert_eq!(analyse("かな", &k, &[]).entities[0].count, 1);
}

#[test]
fn sharp_s_is_not_split() {
    let s = set(json!({"brand": {"name": "Stras"}}));
    assert_eq!(analyse("Straße", &s, &[]).entities[0].count, 0);
}

#[test]
fn multi_word_aliases_and_whitespace() {
    assert_eq!(count("Swiss\nNutrition", "Swiss Nutrition"), 1);
    assert_eq!(count("Swiss  \t Nutrition", "Swiss Nutrition"), 1);
    assert_eq!(count("Swiss\r\n  Nutrition", "Swiss Nutrition"), 1);
    assert_eq!(count("Swiss\u{a0}Nutrition", "Swiss Nutrition"), 1);
    // Not required: hyphen vs space, emphasis inside the alias.
    assert_eq!(count("Swiss-Nutrition", "Swiss Nutrition"), 0);
    assert_eq!(count("**Swiss** Nutrition", "Swiss Nutrition"), 0);
}

#[test]
fn overlapping_aliases() {
    // Longest at the same start wins.
    assert_eq!(count("Swiss Nutrition", "Swiss"), 0);
    assert_eq!(count("Swiss Nutrition", "Swiss Nutrition"), 1);
    assert_eq!(count("Swiss Airlines", "Swiss"), 1);
    // An alias that fails its boundary does not hide a shorter valid one.
    assert_eq!(count("Swiss Nutritionists", "Swiss"), 1);
    assert_eq!(count("Swiss Nutritionists", "Swiss Nutrition"), 0);
    // Overlapping aliases of one entity count once.
    assert_eq!(avea("AVEA Vitamins"), 1);
    assert_eq!(count("Nestlé Health Science", "Nestlé"), 1);
    // Same alias on two entities: the brand wins, then the first name, whatever the order.
    let a = set(
        json!({"brand": {"name": "B", "aliases": ["X"]}, "competitors": [{"name": "A", "aliases": ["X"]}]}),
    );
    let r = analyse("X", &a, &[]);
    assert_eq!((r.entities[0].count, r.entities[1].count), (1, 0));
    let c1 = set(
        json!({"brand": {"name": "Q"}, "competitors": [{"name": "B", "aliases": ["X"]}, {"name": "A", "aliases": ["X"]}]}),
    );
    let c2 = set(
        json!({"brand": {"name": "Q"}, "competitors": [{"name": "A", "aliases": ["X"]}, {"name": "B", "aliases": ["X"]}]}),
    );
    assert_eq!(find(&analyse("X", &c1, &[]), "A").count, 1);
    assert_eq!(find(&analyse("X", &c2, &[]), "A").count, 1);
    assert_eq!(find(&analyse("X", &c1, &[]), "B").count, 0);
}

#[test]
fn decomposed_accents_belong_to_their_word() {
    // Found by the property tests: a combining mark must not end a word for the URL scanner.
    for (composed, decomposed) in [
        ("Nestléhttps://AVEA", "Nestle\u{301}https://AVEA"),
        ("Nestlé@www.https://", "Nestle\u{301}@www.https://"),
    ] {
        let a = analyse(composed, &demo(), &[]);
        let b = analyse(decomposed, &demo(), &[]);
        let counts = |x: &Analysis| x.entities.iter().map(|e| e.count).collect::<Vec<_>>();
        assert_eq!(counts(&a), counts(&b), "{composed}");
    }
}

#[test]
fn matcher_reuse_matches_analyse() {
    let m = Matcher::new(&demo());
    for t in ["AVEA", "Swiss Nutrition", "", "Apple apple"] {
        assert_eq!(m.analyse(t, &[]), analyse(t, &demo(), &[]));
    }
}

#[test]
fn never_panics_on_odd_input() {
    let m = Matcher::new(&demo());
    let odd = [
        "",
        " ",
        "\u{301}\u{301}\u{301}",
        "👨‍👩‍👧‍👦 AVEA 🇨🇭",
        "שלום AVEA مرحبا",
        "A\u{200D}V\u{200D}E\u{200D}A",
        "\u{0}\u{1}AVEA\u{7f}",
        "ﷺ ﷽ ㍿ ﬃ",
        "https://",
        "](",
        "[](",
        "@.",
        "www.",
        "...avea.ch...",
        "İIıi ǅ ῼ",
    ];
    for t in odd {
        let a = m.analyse(t, &[t.to_owned()]);
        for e in &a.entities {
            assert_eq!(e.mentioned, e.count > 0);
            if let Some(o) = e.first_offset {
                assert!((o as usize) < t.chars().count());
            }
        }
    }
    assert_eq!(
        m.analyse("👨‍👩‍👧‍👦 AVEA 🇨🇭", &[]).entities[0].first_offset,
        Some(8)
    );
    assert_eq!(m.analyse("\u{0}\u{1}AVEA\u{7f}", &[]).entities[0].count, 1);
}

#[test]
fn extractor_version_is_set() {
    assert_eq!(EXTRACTOR_VERSION, "mentions-1");
}
