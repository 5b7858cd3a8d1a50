//! Mention quality on a hand-labelled set of answers (`tests/data/mentions_labelled.jsonl`).
//!
//! Each line holds an answer, the entity set it is analysed against (as the API takes it) and the
//! number of mentions a careful reader counts for each entity (entities not listed: 0). Quality is
//! measured per entity and answer: a true positive is an entity expected *and* found mentioned.
//! Exact counts are reported separately. The test fails if any language's precision or recall is
//! below 0.95.
//!
//! See the table with
//! `cargo test -p prompter-domain --test mention_quality -- --nocapture`.

use std::collections::{BTreeMap, BTreeSet};

use prompter_domain::entities::parse_entity_set;
use prompter_domain::mentions::Matcher;
use serde::Deserialize;
use serde_json::Value;

const DATA: &str = include_str!("data/mentions_labelled.jsonl");
const MIN_PRECISION: f64 = 0.95;
const MIN_RECALL: f64 = 0.95;
const LATIN: &[&str] = &["en", "de", "fr", "it", "es"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Labelled {
    id: String,
    lang: String,
    entities: Value,
    text: String,
    expected: BTreeMap<String, u32>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    answers: u32,
    tp: u32,
    fp: u32,
    fn_: u32,
    pairs: u32,
    exact_counts: u32,
    positive_pairs: u32,
    exact_positive_counts: u32,
}

impl Tally {
    fn add(&mut self, o: &Tally) {
        self.answers += o.answers;
        self.tp += o.tp;
        self.fp += o.fp;
        self.fn_ += o.fn_;
        self.pairs += o.pairs;
        self.exact_counts += o.exact_counts;
        self.positive_pairs += o.positive_pairs;
        self.exact_positive_counts += o.exact_positive_counts;
    }
    fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }
    fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }
}

/// 1.0 for 0/0: nothing to get wrong.
fn ratio(a: u32, b: u32) -> f64 {
    if b == 0 {
        1.0
    } else {
        f64::from(a) / f64::from(b)
    }
}

fn load() -> Vec<Labelled> {
    DATA.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).unwrap_or_else(|e| panic!("line {}: {e}", i + 1)))
        .collect()
}

#[test]
fn labelled_set_is_large_and_varied_enough() {
    let rows = load();
    assert!(rows.len() >= 300, "only {} labelled answers", rows.len());
    let mut per_lang: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &rows {
        *per_lang.entry(r.lang.as_str()).or_default() += 1;
    }
    for lang in LATIN {
        let n = per_lang.get(lang).copied().unwrap_or(0);
        assert!(n >= 50, "{lang}: only {n} answers");
    }
    let non_latin: usize = per_lang
        .iter()
        .filter(|(l, _)| !LATIN.contains(l))
        .map(|(_, n)| n)
        .sum();
    assert!(non_latin >= 40, "only {non_latin} non-Latin answers");
    let ids: BTreeSet<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids.len(), rows.len(), "ids must be unique");
    // Negative answers (nothing to find) are part of the set too.
    assert!(rows.iter().filter(|r| r.expected.is_empty()).count() >= 20);
}

#[test]
fn precision_and_recall_per_language() {
    let rows = load();
    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    let mut misses: Vec<String> = Vec::new();
    for row in &rows {
        let set = parse_entity_set(&row.entities)
            .unwrap_or_else(|e| panic!("{}: entity set rejected: {e:?}", row.id));
        let names: BTreeSet<&str> = set.entities().map(|(e, _)| e.name.as_str()).collect();
        for name in row.expected.keys() {
            assert!(
                names.contains(name.as_str()),
                "{}: unknown entity {name}",
                row.id
            );
        }
        let analysis = Matcher::new(&set).analyse(&row.text, &[]);
        let t = tallies.entry(row.lang.clone()).or_default();
        t.answers += 1;
        for m in &analysis.entities {
            let expected = row.expected.get(&m.name).copied().unwrap_or(0);
            let found = m.count;
            t.pairs += 1;
            match (expected > 0, found > 0) {
                (true, true) => t.tp += 1,
                (false, true) => t.fp += 1,
                (true, false) => t.fn_ += 1,
                (false, false) => {}
            }
            if expected == found {
                t.exact_counts += 1;
            }
            if expected > 0 {
                t.positive_pairs += 1;
                if expected == found {
                    t.exact_positive_counts += 1;
                }
            }
            if expected != found {
                misses.push(format!(
                    "  {:<16} {:<22} expected {expected}, found {found}",
                    row.id, m.name
                ));
            }
        }
    }

    println!(
        "\n{:<10} {:>7} {:>5} {:>4} {:>4} {:>9} {:>7} {:>13} {:>15}",
        "language",
        "answers",
        "TP",
        "FP",
        "FN",
        "precision",
        "recall",
        "exact counts",
        "exact (found)"
    );
    let row = |name: &str, t: &Tally| {
        println!(
            "{:<10} {:>7} {:>5} {:>4} {:>4} {:>9.3} {:>7.3} {:>13.3} {:>15.3}",
            name,
            t.answers,
            t.tp,
            t.fp,
            t.fn_,
            t.precision(),
            t.recall(),
            ratio(t.exact_counts, t.pairs),
            ratio(t.exact_positive_counts, t.positive_pairs),
        );
    };
    let mut latin = Tally::default();
    let mut non_latin = Tally::default();
    let mut all = Tally::default();
    for (lang, t) in &tallies {
        row(lang, t);
        if LATIN.contains(&lang.as_str()) {
            latin.add(t);
        } else {
            non_latin.add(t);
        }
        all.add(t);
    }
    row("(Latin)", &latin);
    row("(other)", &non_latin);
    row("(all)", &all);
    println!("\"exact counts\": over all entity/answer pairs; \"exact (found)\": over expected mentions.");
    if !misses.is_empty() {
        println!("count differences:\n{}", misses.join("\n"));
    }

    let failing: Vec<String> = tallies
        .iter()
        .filter(|(_, t)| t.precision() < MIN_PRECISION || t.recall() < MIN_RECALL)
        .map(|(l, t)| {
            format!(
                "{l}: precision {:.3}, recall {:.3}",
                t.precision(),
                t.recall()
            )
        })
        .collect();
    assert!(
        failing.is_empty(),
        "below {MIN_PRECISION} precision or {MIN_RECALL} recall: {failing:?}"
    );
}
