//! Version fields of the fake answers: resolved OpenAI snapshots, fingerprints, Gemini
//! `modelVersion` (providers.md §1, §4).

use sha2::{Digest, Sha256};

use super::content::slug;
use super::sha256;
use crate::adapters::azure;
use crate::detect::Provider;

/// Aliases whose dated snapshot is public (OpenAI model list; `gpt-4o` → `gpt-4o-2024-08-06` is
/// the OAPI example of §1).
const SNAPSHOTS: [(&str, &str); 13] = [
    ("gpt-4o", "gpt-4o-2024-08-06"),
    ("gpt-4o-mini", "gpt-4o-mini-2024-07-18"),
    ("gpt-4o-search-preview", "gpt-4o-search-preview-2025-03-11"),
    (
        "gpt-4o-mini-search-preview",
        "gpt-4o-mini-search-preview-2025-03-11",
    ),
    ("gpt-4.1", "gpt-4.1-2025-04-14"),
    ("gpt-4.1-mini", "gpt-4.1-mini-2025-04-14"),
    ("gpt-4.1-nano", "gpt-4.1-nano-2025-04-14"),
    ("gpt-4-turbo", "gpt-4-turbo-2024-04-09"),
    ("gpt-3.5-turbo", "gpt-3.5-turbo-0125"),
    ("o1", "o1-2024-12-17"),
    ("o3", "o3-2025-04-16"),
    ("o3-mini", "o3-mini-2025-01-31"),
    ("o4-mini", "o4-mini-2025-04-16"),
];

/// `fp_` + the first 10 hex digits of sha256(model), or of sha256("model\nbuild") with a build.
pub fn fingerprint(model: &str, build: Option<&str>) -> String {
    let digest = match build {
        Some(b) => Sha256::digest(format!("{model}\n{b}")),
        None => Sha256::digest(model),
    };
    format!("fp_{}", &hex::encode(digest)[..10])
}

/// The `model` an OpenAI-family server would report for `model_id`. OpenAI resolves aliases to
/// dated snapshots (an unknown alias gets a date derived from its name); Azure reports the
/// deployment's model, approximated by resolving the deployment name; compatible servers echo
/// the id, as Ollama and llama.cpp do (§6).
pub fn openai_model(provider: Provider, model_id: &str) -> String {
    let id = match provider {
        Provider::AzureOpenai => azure::deployment(model_id),
        _ => model_id.trim(),
    };
    if provider == Provider::OpenaiCompatible || has_snapshot_suffix(id) {
        return id.to_string();
    }
    let lower = id.to_ascii_lowercase();
    if let Some((_, snap)) = SNAPSHOTS.iter().find(|(alias, _)| *alias == lower) {
        return snap.to_string();
    }
    if provider == Provider::AzureOpenai {
        return id.to_string();
    }
    let d = sha256(&[id]);
    format!("{id}-2025-{:02}-{:02}", 1 + d[0] % 12, 1 + d[1] % 28)
}

/// `gemini-2.0-flash` → `gemini-2.0-flash-001`; with a build label `N` (a number) →
/// `-00N`, any other label → `-<label>`. An id already ending in `-NNN` is kept (no build) or
/// has that suffix replaced (with a build). Label `1` therefore reports the same version as
/// no label: "build 1" is the default build.
pub fn gemini_version(model_id: &str, build: Option<&str>) -> String {
    let base = strip_three_digit_suffix(model_id);
    match build {
        None if base.len() != model_id.len() => model_id.to_string(),
        None => format!("{model_id}-001"),
        Some(b) => match b.parse::<u32>() {
            Ok(n) => format!("{base}-{n:03}"),
            Err(_) => format!("{base}-{}", slug(b)),
        },
    }
}

fn has_snapshot_suffix(id: &str) -> bool {
    let b = id.as_bytes();
    let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    // -YYYY-MM-DD, or the older -MMDD (gpt-3.5-turbo-0125), or a moving alias (-latest).
    let dated = b.len() > 11 && b[b.len() - 11] == b'-' && {
        let t = &b[b.len() - 10..];
        digits(&t[..4]) && t[4] == b'-' && digits(&t[5..7]) && t[7] == b'-' && digits(&t[8..])
    };
    let short = b.len() > 5 && b[b.len() - 5] == b'-' && digits(&b[b.len() - 4..]);
    dated || short || id.ends_with("-latest")
}

fn strip_three_digit_suffix(id: &str) -> &str {
    let b = id.as_bytes();
    if b.len() > 4 && b[b.len() - 4] == b'-' && b[b.len() - 3..].iter().all(u8::is_ascii_digit) {
        &id[..id.len() - 4]
    } else {
        id
    }
}
