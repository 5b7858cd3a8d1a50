use serde_json::json;

use super::*;

fn parse(v: Value) -> EntitySet {
    parse_entity_set(&v).unwrap_or_else(|e| panic!("{v} rejected: {e:?}"))
}

fn errors(v: Value) -> Vec<(String, String)> {
    match parse_entity_set(&v) {
        Ok(set) => panic!("{v} accepted: {set:?}"),
        Err(e) => e.into_iter().map(|e| (e.field, e.message)).collect(),
    }
}

fn fields(v: Value) -> Vec<String> {
    errors(v).into_iter().map(|(f, _)| f).collect()
}

fn alias(text: &str, case_sensitive: bool) -> Alias {
    Alias {
        text: text.to_owned(),
        case_sensitive,
    }
}

#[test]
fn minimal_set_gets_its_name_as_alias() {
    let set = parse(json!({"brand": {"name": "  AVEA "}}));
    assert_eq!(set.brand.name, "AVEA");
    assert_eq!(set.brand.aliases, vec![alias("AVEA", false)]);
    assert!(set.brand.domains.is_empty());
    assert!(set.competitors.is_empty());
}

#[test]
fn aliases_strings_and_objects() {
    let set = parse(json!({
        "brand": {"name": "AVEA", "aliases": ["AVEA Vitamins", {"text": "Avea AG"}], "domains": ["Avea.CH"]},
        "competitors": [{"name": "Apple", "aliases": [{"text": "Apple", "case_sensitive": true}, "Apple Inc."]}]
    }));
    assert_eq!(
        set.brand.aliases,
        vec![
            alias("AVEA", false),
            alias("AVEA Vitamins", false),
            alias("Avea AG", false)
        ]
    );
    assert_eq!(set.brand.domains, vec!["avea.ch"]);
    // The case-sensitive alias stands for the name: no case-insensitive "Apple" is added.
    assert_eq!(
        set.competitors[0].aliases,
        vec![alias("Apple", true), alias("Apple Inc.", false)]
    );
}

#[test]
fn aliases_deduplicated_as_the_matcher_sees_them() {
    let set = parse(json!({"brand": {"name": "Nestlé", "aliases": [
        "nestle", "NESTLÉ", {"text": "Nestlé", "case_sensitive": true},
        {"text": "NH", "case_sensitive": true}, {"text": "nh", "case_sensitive": true},
        {"text": "NH", "case_sensitive": true}, "Nestlé  Health"
    ]}}));
    let texts: Vec<(&str, bool)> = set
        .brand
        .aliases
        .iter()
        .map(|a| (a.text.as_str(), a.case_sensitive))
        .collect();
    assert_eq!(
        texts,
        vec![
            ("nestle", false),
            ("NH", true),
            ("nh", true),
            ("Nestlé  Health", false)
        ]
    );
}

#[test]
fn strings_are_nfc() {
    let set = parse(json!({"brand": {"name": "Nestle\u{301}"}}));
    assert_eq!(set.brand.name, "Nestl\u{e9}");
}

#[test]
fn field_paths_name_the_culprit() {
    let e = fields(json!({
        "brand": {"name": " ", "domains": ["avea.ch", "https://avea.ch/"]},
        "competitors": [{"name": "A"}, {"name": "B"}, {"name": "C", "aliases": ["  "]}]
    }));
    assert_eq!(
        e,
        vec![
            "brand.name",
            "brand.domains[1]",
            "competitors[2].aliases[0]"
        ]
    );
    let msgs = errors(json!({"brand": {"name": "A", "domains": ["https://avea.ch/"]}}));
    assert!(
        msgs[0].1.contains("a host name such as avea.ch"),
        "{msgs:?}"
    );
}

#[test]
fn structural_errors() {
    assert_eq!(fields(json!([])), vec!["body"]);
    assert_eq!(fields(json!({})), vec!["brand"]);
    assert_eq!(fields(json!({"brand": "AVEA"})), vec!["brand"]);
    assert_eq!(fields(json!({"brand": {}})), vec!["brand.name"]);
    assert_eq!(fields(json!({"brand": {"name": 3}})), vec!["brand.name"]);
    assert_eq!(
        fields(json!({"brand": {"name": "A", "aliases": "A"}})),
        vec!["brand.aliases"]
    );
    assert_eq!(
        fields(json!({"brand": {"name": "A", "aliases": [3]}})),
        vec!["brand.aliases[0]"]
    );
    assert_eq!(
        fields(json!({"brand": {"name": "A", "aliases": [{"case_sensitive": true}]}})),
        vec!["brand.aliases[0].text"]
    );
    assert_eq!(
        fields(
            json!({"brand": {"name": "A", "aliases": [{"text": "A", "case_sensitive": "yes"}]}})
        ),
        vec!["brand.aliases[0].case_sensitive"]
    );
    assert_eq!(
        fields(json!({"brand": {"name": "A"}, "competitors": {}})),
        vec!["competitors"]
    );
    assert_eq!(
        fields(json!({"brand": {"name": "A"}, "competitors": [null]})),
        vec!["competitors[0]"]
    );
    assert_eq!(
        fields(json!({"brand": {"name": "A\u{7}"}})),
        vec!["brand.name"]
    );
    assert_eq!(
        fields(json!({"brand": {"name": "A", "aliases": ["\u{200D}\u{301}"]}})),
        vec!["brand.aliases[0]"]
    );
}

#[test]
fn null_optionals_are_empty() {
    let set = parse(
        json!({"brand": {"name": "A", "aliases": null, "domains": null}, "competitors": null}),
    );
    assert_eq!(set.brand.aliases.len(), 1);
}

#[test]
fn unknown_fields_are_named() {
    assert_eq!(
        fields(
            json!({"brand": {"name": "A", "logo": "x"}, "extra": 1, "competitors": [{"name": "B", "url": "b.ch"}]})
        ),
        vec!["extra", "brand.logo", "competitors[0].url"]
    );
    assert_eq!(
        fields(json!({"brand": {"name": "A", "aliases": [{"text": "A", "cs": true}]}})),
        vec!["brand.aliases[0].cs"]
    );
}

#[test]
fn limits() {
    let competitors: Vec<Value> = (0..199).map(|i| json!({"name": format!("C{i}")})).collect();
    let set = parse(json!({"brand": {"name": "A"}, "competitors": competitors}));
    assert_eq!(set.entities().count(), 200);
    let competitors: Vec<Value> = (0..200).map(|i| json!({"name": format!("C{i}")})).collect();
    assert_eq!(
        fields(json!({"brand": {"name": "A"}, "competitors": competitors})),
        vec!["competitors"]
    );

    let aliases: Vec<String> = (0..50).map(|i| format!("A{i}")).collect();
    parse(json!({"brand": {"name": "A", "aliases": aliases}}));
    let aliases: Vec<String> = (0..51).map(|i| format!("A{i}")).collect();
    assert_eq!(
        fields(json!({"brand": {"name": "A", "aliases": aliases}})),
        vec!["brand.aliases"]
    );
    let domains: Vec<String> = (0..51).map(|i| format!("d{i}.ch")).collect();
    assert_eq!(
        fields(json!({"brand": {"name": "A", "domains": domains}})),
        vec!["brand.domains"]
    );

    parse(json!({"brand": {"name": "x".repeat(200), "aliases": ["é".repeat(200)]}}));
    assert_eq!(
        fields(json!({"brand": {"name": "A", "aliases": ["x".repeat(201)]}})),
        vec!["brand.aliases[0]"]
    );
}

#[test]
fn domains() {
    let ok = |d: &str| {
        parse(json!({"brand": {"name": "A", "domains": [d]}}))
            .brand
            .domains
            .remove(0)
    };
    assert_eq!(ok("avea.ch"), "avea.ch");
    assert_eq!(ok(" WWW.Avea.CH "), "www.avea.ch");
    assert_eq!(ok("shop.avea-vitamins.co.uk"), "shop.avea-vitamins.co.uk");
    assert_eq!(ok("Müsli.ch"), "müsli.ch");
    assert_eq!(ok("яндекс.рф"), "яндекс.рф");
    assert_eq!(ok("x1.io"), "x1.io");
    let long_ok = format!("{}.ch", vec!["a".repeat(63); 3].join("."));
    assert_eq!(long_ok.len(), 194);
    ok(&long_ok);
    let bad = [
        "https://avea.ch/",
        "avea.ch/",
        "avea.ch:443",
        "avea",
        ".avea.ch",
        "avea.ch.",
        "a..ch",
        "-avea.ch",
        "avea-.ch",
        "av ea.ch",
        "av_ea.ch",
        "1.2.3.4",
        "",
    ];
    for d in bad {
        assert_eq!(
            fields(json!({"brand": {"name": "A", "domains": [d]}})),
            vec!["brand.domains[0]"],
            "{d:?}"
        );
    }
    let label64 = format!("{}.ch", "a".repeat(64));
    let too_long = format!("{}.ch", vec!["a".repeat(63); 4].join("."));
    for d in [label64, too_long] {
        assert_eq!(
            fields(json!({"brand": {"name": "A", "domains": [d]}})).len(),
            1
        );
    }
    // Duplicates (after lower-casing) are kept once.
    let set = parse(json!({"brand": {"name": "A", "domains": ["a.ch", "A.CH"]}}));
    assert_eq!(set.brand.domains, vec!["a.ch"]);
}

#[test]
fn names_unique_ignoring_case_and_accents() {
    let e = errors(
        json!({"brand": {"name": "Nestlé"}, "competitors": [{"name": "Lindt"}, {"name": "NESTLE"}]}),
    );
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].0, "competitors[1].name");
    assert!(e[0].1.contains("brand"), "{e:?}");
}

#[test]
fn serde_round_trip_is_canonical() {
    let set = parse(json!({
        "brand": {"name": "AVEA", "aliases": ["Avea AG"], "domains": ["avea.ch"]},
        "competitors": [{"name": "Apple", "aliases": [{"text": "Apple", "case_sensitive": true}]}]
    }));
    let stored = serde_json::to_value(&set).unwrap();
    assert_eq!(
        stored,
        json!({
            "brand": {"name": "AVEA", "aliases": [{"text": "AVEA", "case_sensitive": false}, {"text": "Avea AG", "case_sensitive": false}], "domains": ["avea.ch"]},
            "competitors": [{"name": "Apple", "aliases": [{"text": "Apple", "case_sensitive": true}], "domains": []}]
        })
    );
    let back: EntitySet = serde_json::from_value(stored).unwrap();
    assert_eq!(back, set);
}

#[test]
fn entities_iterates_brand_first() {
    let set = parse(json!({"brand": {"name": "A"}, "competitors": [{"name": "B"}, {"name": "C"}]}));
    let v: Vec<(&str, bool)> = set.entities().map(|(e, b)| (e.name.as_str(), b)).collect();
    assert_eq!(v, vec![("A", true), ("B", false), ("C", false)]);
}

#[test]
fn content_hash_ignores_order_and_form_only() {
    let a = parse(json!({
        "brand": {"name": "AVEA", "aliases": ["Avea AG", "AVEA Vitamins"], "domains": ["avea.ch", "avea.de"]},
        "competitors": [{"name": "Burgerstein"}, {"name": "Nestlé", "domains": ["nestle.com"]}]
    }));
    let b = parse(json!({
        "brand": {"name": " AVEA", "aliases": ["AVEA Vitamins", "Avea AG"], "domains": ["AVEA.DE", "avea.ch", "avea.ch"]},
        "competitors": [{"name": "Nestle\u{301}", "domains": ["Nestle.com"]}, {"name": "Burgerstein"}]
    }));
    assert_eq!(a.content_hash(), b.content_hash());
    assert_eq!(a.content_hash().len(), 64);
    assert!(a.content_hash().chars().all(|c| c.is_ascii_hexdigit()));

    let changes = [
        json!({"brand": {"name": "AVEA", "aliases": ["Avea AG"], "domains": ["avea.ch", "avea.de"]},
               "competitors": [{"name": "Burgerstein"}, {"name": "Nestlé", "domains": ["nestle.com"]}]}),
        json!({"brand": {"name": "AVEA", "aliases": ["Avea AG", "AVEA Vitamins"], "domains": ["avea.ch"]},
               "competitors": [{"name": "Burgerstein"}, {"name": "Nestlé", "domains": ["nestle.com"]}]}),
        json!({"brand": {"name": "AVEA", "aliases": ["Avea AG", {"text": "AVEA Vitamins", "case_sensitive": true}], "domains": ["avea.ch", "avea.de"]},
               "competitors": [{"name": "Burgerstein"}, {"name": "Nestlé", "domains": ["nestle.com"]}]}),
        json!({"brand": {"name": "Burgerstein"},
               "competitors": [{"name": "AVEA", "aliases": ["Avea AG", "AVEA Vitamins"], "domains": ["avea.ch", "avea.de"]}, {"name": "Nestlé", "domains": ["nestle.com"]}]}),
        json!({"brand": {"name": "AVEA", "aliases": ["Avea AG", "AVEA Vitamins"], "domains": ["avea.ch", "avea.de"]},
               "competitors": [{"name": "Burgerstein"}, {"name": "Nestlé"}, {"name": "Lindt"}]}),
    ];
    let base = a.content_hash();
    let mut seen = std::collections::HashSet::new();
    for c in changes {
        let h = parse(c).content_hash();
        assert_ne!(h, base);
        assert!(seen.insert(h));
    }
}

#[test]
fn content_hash_of_directly_built_set_matches_parsed() {
    let parsed = parse(json!({"brand": {"name": "AVEA", "domains": ["avea.ch"]}}));
    let built = EntitySet {
        brand: Entity {
            name: "AVEA ".into(),
            aliases: vec![alias("AVEA", false), alias("AVEA", false)],
            domains: vec!["AVEA.ch".into()],
        },
        competitors: vec![],
    };
    assert_eq!(parsed.content_hash(), built.content_hash());
}
