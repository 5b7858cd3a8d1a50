//! Answers analysed per second: a 30-entity set (3 aliases and 2 domains each) against 200 varied
//! answers of about 2–3 KB (Markdown, URLs, several languages), as the analysis worker sees them.
//!
//! `cargo bench -p prompter-domain --bench mentions -- --warm-up-time 1 --measurement-time 5`

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use prompter_domain::entities::{parse_entity_set, EntitySet};
use prompter_domain::mentions::{analyse, Matcher};
use serde_json::{json, Value};

const NAMES: [&str; 30] = [
    "AVEA",
    "Burgerstein",
    "Nestlé",
    "Sunday Natural",
    "Orthomol",
    "Doppelherz",
    "Centrum",
    "Swiss Nutrition",
    "Bio-Strath",
    "Lindt",
    "Ricola",
    "Migros",
    "Coop",
    "Galaxus",
    "Digitec",
    "Zalando",
    "Decathlon",
    "Nespresso",
    "Lavazza",
    "Illy",
    "Café Royal",
    "Jura",
    "Delizio",
    "Starbucks",
    "Apple",
    "Samsung",
    "Xiaomi",
    "Sony",
    "Яндекс",
    "ソニー",
];

fn entity(name: &str) -> Value {
    let slug: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_lowercase();
    let slug = if slug.is_empty() {
        "x".to_owned()
    } else {
        slug
    };
    json!({
        "name": name,
        "aliases": [format!("{name} AG"), format!("{name} Group"), format!("{slug}-shop")],
        "domains": [format!("{slug}.ch"), format!("{slug}.com")],
    })
}

fn entity_set() -> EntitySet {
    let competitors: Vec<Value> = NAMES[1..].iter().map(|n| entity(n)).collect();
    parse_entity_set(&json!({"brand": entity(NAMES[0]), "competitors": competitors}))
        .expect("valid set")
}

/// Deterministic pseudo-random numbers (no dependency needed for a benchmark corpus).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as usize) % n
    }
}

const SENTENCES: [&str; 12] = [
    "For everyday supplementation, **{}** is often recommended because of its transparent sourcing and good value.",
    "Viele Kundinnen bevorzugen {} wegen der Schweizer Herstellung und der klaren Dosierung.",
    "- {}: good bioavailability, vegan capsules, available at most pharmacies.",
    "Les produits de {} sont souvent cités pour leur qualité, voir https://www.{}.ch/produits pour les détails.",
    "Secondo diverse recensioni, {} offre un buon rapporto qualità-prezzo ([sito]({}.com)).",
    "En comparación, {} tiene una gama más amplia pero precios algo más altos.",
    "### {}\nA solid choice if you want a single multivitamin; check the label for iodine and vitamin K2.",
    "Some users report mild stomach upset with {}’s iron formulation, so take it with food.",
    "Многие покупатели выбирают {} из-за удобной доставки и широкого ассортимента.",
    "多くのレビューでは{}の製品が高く評価されています。",
    "> Note: {} changed its formula in 2023; older reviews may not apply.",
    "You can compare prices on comparison sites, but always consult a doctor before starting supplements.",
];

fn corpus() -> Vec<String> {
    let mut rng = Lcg(42);
    (0..200)
        .map(|_| {
            let target = 2048 + rng.next(1024);
            let mut text = String::new();
            while text.len() < target {
                let s = SENTENCES[rng.next(SENTENCES.len())];
                let name = NAMES[rng.next(NAMES.len())];
                let slug: String = name
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric())
                    .collect::<String>()
                    .to_lowercase();
                text.push_str(&s.replacen("{}", name, 1).replacen("{}", &slug, 1));
                text.push_str(if rng.next(4) == 0 { "\n\n" } else { " " });
            }
            text
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let set = entity_set();
    let answers = corpus();
    let matcher = Matcher::new(&set);
    let bytes: usize = answers.iter().map(String::len).sum();
    eprintln!(
        "corpus: {} answers, {} bytes on average",
        answers.len(),
        bytes / answers.len()
    );

    let mut group = c.benchmark_group("mentions");
    group.throughput(Throughput::Elements(answers.len() as u64));
    group.bench_function("matcher_200_answers", |b| {
        b.iter(|| {
            for a in &answers {
                black_box(matcher.analyse(black_box(a), &[]));
            }
        })
    });
    group.finish();

    let mut group = c.benchmark_group("mentions_one_shot");
    group.throughput(Throughput::Elements(1));
    group.bench_function("build_and_analyse_one", |b| {
        b.iter(|| black_box(analyse(black_box(&answers[0]), &set, &[])))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
