//! Hashes computed by the original Python `PromptConfigHasher`: the Rust port
//! must reproduce every canonical JSON and hash byte for byte, or hashes that
//! are already stored would stop matching.

use prompter_domain::config_hash::config_hash;
use serde_json::Value;

const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/config_hash_vectors.jsonl"
);

#[test]
fn python_vectors_reproduce_exactly() {
    let text = std::fs::read_to_string(VECTORS).expect("read vectors");
    let mut failures = Vec::new();
    let mut count = 0;
    // Split on '\n' only: the vectors hold raw U+2028 inside strings, which a
    // Unicode-aware line splitter would cut through.
    for (index, line) in text.split('\n').enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        count += 1;
        let line_no = index + 1;
        let vector: Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => {
                failures.push(format!("line {line_no}: unparsable vector: {e}"));
                continue;
            }
        };
        let expected_json = vector["canonical_json"].as_str().expect("canonical_json");
        let expected_hash = vector["config_hash"].as_str().expect("config_hash");
        match config_hash(&vector["input"]) {
            Ok(got) => {
                if got.canonical_json != expected_json {
                    failures.push(format!(
                        "line {line_no}: canonical_json differs\n  expected: {expected_json}\n  got:      {}",
                        got.canonical_json
                    ));
                }
                if got.hash != expected_hash {
                    failures.push(format!(
                        "line {line_no}: hash differs: expected {expected_hash}, got {}",
                        got.hash
                    ));
                }
            }
            Err(e) => failures.push(format!("line {line_no}: unexpected error: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {count} vectors failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(count, 300, "expected 300 vectors");
}
