//! Markdown, URLs and citations.

use super::{avea, demo, find};
use crate::mentions::*;

#[test]
fn markdown_is_seen_through() {
    for t in [
        "**AVEA**",
        "__AVEA__",
        "*AVEA*",
        "_AVEA_",
        "# AVEA",
        "## AVEA\n",
        "- AVEA",
        "1. AVEA",
        "> AVEA",
        "[AVEA](https://x.y)",
        "`AVEA`",
        "| AVEA | 4.5 |",
        "~~AVEA~~",
    ] {
        assert_eq!(avea(t), 1, "{t}");
    }
    assert_eq!(avea("[here](/products/avea)"), 0);
    assert_eq!(avea("[AVEA](/avea)"), 1);
}

#[test]
fn urls_are_citations_not_mentions() {
    for t in [
        "https://www.avea.ch/products",
        "See www.avea.ch.",
        "Visit avea.ch for details",
        "[shop](https://shop.avea.ch/avea)",
        "<https://avea.ch>",
        "Mail info@avea.ch or avea@example.com",
        "HTTP://AVEA.CH/AVEA",
    ] {
        let a = analyse(t, &demo(), &[]);
        assert_eq!(find(&a, "AVEA").count, 0, "{t}");
    }
    let a = analyse(
        "AVEA (https://www.avea.ch/products) and avea.ch.",
        &demo(),
        &[],
    );
    assert_eq!(find(&a, "AVEA").count, 1);
    assert!(find(&a, "AVEA").cited);
    assert_eq!(
        a.citations,
        vec![
            Citation {
                url: "https://www.avea.ch/products".into(),
                domain: "avea.ch".into()
            },
            Citation {
                url: "avea.ch".into(),
                domain: "avea.ch".into()
            },
        ]
    );
    // A domain that is an alias is a name in prose (and a citation).
    let a = analyse(
        "Booking.com is popular; see booking.com/hotels.",
        &demo(),
        &[],
    );
    assert_eq!(find(&a, "Booking.com").count, 1);
    assert!(find(&a, "Booking.com").cited);
    assert_eq!(a.citations.len(), 2);
}

#[test]
fn citations_order_dedupe_and_subdomains() {
    let extra = vec![
        "https://shop.avea.ch/x".to_owned(),
        " https://shop.avea.ch/x ".to_owned(),
        "https://notavea.ch".to_owned(),
        String::new(),
    ];
    let a = analyse(
        "See https://notavea.ch and https://avea-vitamins.com/de.",
        &demo(),
        &extra,
    );
    let urls: Vec<(&str, &str)> = a
        .citations
        .iter()
        .map(|c| (c.url.as_str(), c.domain.as_str()))
        .collect();
    assert_eq!(
        urls,
        [
            ("https://shop.avea.ch/x", "shop.avea.ch"),
            ("https://notavea.ch", "notavea.ch"),
            ("https://avea-vitamins.com/de", "avea-vitamins.com"),
        ]
    );
    assert!(find(&a, "AVEA").cited);
    assert!(!find(&a, "AVEA").mentioned);
    assert!(!find(&a, "Swiss Nutrition").cited);
    // notavea.ch is not under avea.ch.
    let a = analyse("", &demo(), &["https://notavea.ch/".to_owned()]);
    assert!(!find(&a, "AVEA").cited);
    // The entity's www. domain covers the bare host; garbage URLs keep an empty domain.
    let a = analyse(
        "",
        &demo(),
        &["avea-vitamins.com".to_owned(), "::".to_owned()],
    );
    assert!(find(&a, "AVEA").cited);
    assert_eq!(a.citations[1].domain, "");
}
