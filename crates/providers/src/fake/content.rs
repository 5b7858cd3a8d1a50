//! The text of fake answers: a plausible short reply naming 2–4 made-up or generic brands.

use crate::types::{CompletionRequest, Purpose};

/// Made-up and generic names, so fake answers can never be mistaken for a real recommendation.
pub(super) const BRANDS: [&str; 12] = [
    "Acme",
    "Northwind",
    "Contoso",
    "Globex",
    "Initech",
    "Fabrikam",
    "Tailwind Traders",
    "Wingtip",
    "Litware",
    "Proseware",
    "Bluepeak",
    "Everfield",
];

pub(super) struct Answer {
    pub text: String,
    pub query: String,
    /// Byte range of the cited sentence and the brand it cites, when grounded.
    pub cited: Option<(usize, usize, String)>,
}

impl Answer {
    pub fn new(req: &CompletionRequest, seed: &[u8; 32], grounded: bool) -> Self {
        if req.purpose == Purpose::Probe {
            return Answer {
                text: "pong".into(),
                query: String::new(),
                cited: None,
            };
        }
        let brands = pick_brands(seed);
        let list = join_names(&brands);
        let lead = [
            "Popular choices include",
            "People most often recommend",
            "Well-regarded options are",
        ][usize::from(seed[2]) % 3];
        let mut text = String::new();
        let mut cited = None;
        if grounded {
            let first = format!(
                "According to recent reviews, {} is a frequent pick.",
                brands[0]
            );
            cited = Some((0, first.len(), brands[0].to_string()));
            text.push_str(&first);
            text.push(' ');
        }
        text.push_str(&format!("{lead} {list}."));
        if let Some(named) = named_brand(&req.prompt) {
            text.push_str(&format!(" {named} is also often compared with them."));
        }
        // The location echo: shows where the run's country reached the search tool.
        if crate::adapters::country_delivery(req) == crate::CountryDelivery::SearchUserLocation {
            if let Some(country) = &req.country {
                text.push_str(&format!(" (Search results localised to {country}.)"));
            }
        }
        let query = req
            .prompt
            .split_whitespace()
            .take(8)
            .collect::<Vec<_>>()
            .join(" ");
        Answer { text, query, cited }
    }

    pub fn finish<'a>(&self, req: &CompletionRequest, done: &'a str, limit: &'a str) -> &'a str {
        match req.purpose {
            Purpose::Probe => limit,
            Purpose::Run => done,
        }
    }
}

/// 2–4 distinct brands chosen by the prompt hash.
fn pick_brands(seed: &[u8; 32]) -> Vec<&'static str> {
    let want = 2 + usize::from(seed[0]) % 3;
    let mut out: Vec<&'static str> = Vec::with_capacity(want);
    // The fallback sequence guarantees enough distinct names whatever the hash bytes are.
    for b in seed[3..].iter().copied().chain(0..BRANDS.len() as u8) {
        let name = BRANDS[usize::from(b) % BRANDS.len()];
        if !out.contains(&name) {
            out.push(name);
        }
        if out.len() == want {
            break;
        }
    }
    out
}

fn join_names(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// A brand the prompt names: the first quoted text ("…" or “…”, 2–40 chars), else the
/// capitalised word after the word "brand".
fn named_brand(prompt: &str) -> Option<String> {
    for (open, close) in [('"', '"'), ('“', '”')] {
        if let Some(start) = prompt.find(open) {
            let rest = &prompt[start + open.len_utf8()..];
            if let Some(end) = rest.find(close) {
                let inner = rest[..end].trim();
                if (2..=40).contains(&inner.chars().count()) {
                    return Some(inner.to_string());
                }
            }
        }
    }
    let words: Vec<&str> = prompt.split_whitespace().collect();
    words.windows(2).find_map(|w| {
        let is_brand = w[0].trim_end_matches(':').eq_ignore_ascii_case("brand");
        let name = w[1].trim_matches(|c: char| !c.is_alphanumeric());
        (is_brand && name.chars().next().is_some_and(char::is_uppercase) && name.len() <= 40)
            .then(|| name.to_string())
    })
}

pub(super) fn source_url(brand: &str) -> String {
    format!("https://www.example.com/reviews/{}", slug(brand))
}

pub(super) fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}
