//! Differential test against real CPython: thousands of generated requests are
//! hashed by `tests/reference_hasher.py` (the original Python hasher) and by
//! the Rust port, and every result must agree byte for byte. Stored hashes were
//! made by the Python code, so CPython is the oracle, not a specification.
//!
//! Skips (with a note on stderr) when `python3` is not on PATH.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use prompter_domain::config_hash::config_hash;
use prompter_domain::python_json::{python_float_repr, python_round};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{json, Value};

const SAMPLES: usize = 3000;
/// Fixed so a failure reproduces on every run and machine.
const SEED: [u8; 32] = *b"prompter-config-hash-diff-seed-1";

const REFERENCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/reference_hasher.py");

fn generated_inputs() -> Vec<Value> {
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &SEED),
    );
    let strategy = common::request();
    (0..SAMPLES)
        .map(|_| {
            strategy
                .new_tree(&mut runner)
                .expect("generate input")
                .current()
        })
        .collect()
}

/// Hand-picked edge cases on top of the random ones.
fn fixed_inputs() -> Vec<Value> {
    let int_literal = |digits: usize, sign: &str| format!("{sign}{}", "7".repeat(digits));
    let with_param = |literal: String| -> Value {
        serde_json::from_str(&format!("{{\"inference_params\":{{\"n\":{literal}}}}}")).unwrap()
    };
    vec![
        json!(null),
        json!([]),
        json!("text"),
        json!({}),
        with_param(int_literal(4300, "")),
        with_param(int_literal(4300, "-")),
        with_param(int_literal(4301, "")),
        with_param(int_literal(4301, "-")),
        with_param("1e400".into()),
        with_param("-1e400".into()),
        with_param("1e-400".into()),
        json!({"inference_params": 0.123456, "retrieval_params": [0.03125, {"x": -0.00005}]}),
        json!({"tools_spec": 0.123456, "response_format": "text", "grounding_profile_id": 7}),
        json!({"country_set": ["ß", " uk", "\u{264}", "ǅ"], "model_id": "\u{85} m \u{200b}"}),
        json!({"system_instructions": "\u{1c}\u{1d}\u{1e}\u{1f} a \t b \r\n c \u{3000}"}),
        // Deliberate divergence: Python iterates a string or dict country_set.
        json!({"country_set": "us"}),
        json!({"country_set": {"us": 1}}),
    ]
}

/// Inputs we refuse on purpose although Python hashes them.
fn deliberately_refused(input: &Value) -> bool {
    matches!(
        input.get("country_set"),
        Some(Value::String(s)) if !s.is_empty()
    ) || matches!(
        input.get("country_set"),
        Some(Value::Object(m)) if !m.is_empty()
    )
}

/// Runs `python3 ARGS` with `body` on stdin; `None` when python3 is missing.
fn run_python_with(args: &[&str], body: String) -> Option<String> {
    let mut child = match Command::new("python3")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => panic!("cannot start python3: {e}"),
    };
    let mut stdin = child.stdin.take().unwrap();
    // Write from another thread so a full stdout pipe cannot deadlock us.
    let writer = std::thread::spawn(move || stdin.write_all(body.as_bytes()));
    let output = child.wait_with_output().expect("python3 output");
    writer.join().unwrap().expect("write to python3");
    assert!(output.status.success(), "python3 {args:?} failed");
    Some(String::from_utf8(output.stdout).expect("python output is UTF-8"))
}

fn run_python(inputs: &[Value]) -> Option<Vec<Value>> {
    let mut body = String::new();
    for input in inputs {
        body.push_str(&serde_json::to_string(input).unwrap());
        body.push('\n');
    }
    let text = run_python_with(&[REFERENCE], body)?;
    Some(
        text.split('\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_str(l).expect("python output line"))
            .collect(),
    )
}

#[test]
fn rust_port_matches_cpython() {
    let mut inputs = fixed_inputs();
    inputs.extend(generated_inputs());
    let Some(expected) = run_python(&inputs) else {
        eprintln!("SKIPPED: python3 not found");
        return;
    };
    assert_eq!(expected.len(), inputs.len(), "one python result per input");

    let (mut compared, mut both_refused, mut refused_on_purpose) = (0, 0, 0);
    let mut failures = Vec::new();
    for (i, (input, python)) in inputs.iter().zip(&expected).enumerate() {
        let rust = config_hash(input);
        match (python.get("error"), rust) {
            (None, Ok(got)) => {
                compared += 1;
                if got.canonical_json != python["canonical_json"].as_str().unwrap()
                    || got.hash != python["config_hash"].as_str().unwrap()
                {
                    failures.push(format!(
                        "#{i} input {input}\n  python: {}\n  rust:   {}",
                        python["canonical_json"], got.canonical_json
                    ));
                }
            }
            (None, Err(e)) if deliberately_refused(input) => {
                refused_on_purpose += 1;
                assert_eq!(e.field, "country_set");
            }
            (None, Err(e)) => {
                failures.push(format!("#{i} input {input}\n  python hashed it, rust: {e}"));
            }
            (Some(_), Err(_)) => both_refused += 1,
            (Some(py_err), Ok(_)) => {
                failures.push(format!(
                    "#{i} input {input}\n  python raised {py_err}, rust hashed it"
                ));
            }
        }
    }
    eprintln!(
        "differential: {} inputs, {compared} hashed identically, {both_refused} refused by both, \
         {refused_on_purpose} refused only by rust on purpose",
        inputs.len()
    );
    assert!(
        failures.is_empty(),
        "{} mismatches with CPython:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Guard against a generator that drifts into mostly-invalid inputs.
    assert!(
        compared > SAMPLES * 2 / 3,
        "only {compared} inputs were comparable"
    );
}

/// `repr(x)` and `round(x, n)` for raw f64 bit patterns, compared directly
/// (the request-level test sees comparatively few floats).
#[test]
fn float_repr_and_round_match_cpython() {
    const SCRIPT: &str = r#"
import struct, sys
for line in sys.stdin.read().split():
    bits, ndigits = line.split(",")
    x = struct.unpack("<d", int(bits, 16).to_bytes(8, "little"))[0]
    r = round(x, int(ndigits))
    print(repr(x), repr(r), struct.pack("<d", r).hex())
"#;
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut cases: Vec<(f64, i32)> = Vec::new();
    for i in 0..30_000u64 {
        let x = match i % 3 {
            0 => f64::from_bits(next()),
            1 => (next() % 4_000_000) as f64 / 20_000.0 - 100.0, // 4-decimal ties
            _ => (next() as i64 as f64) * 2f64.powi((next() % 80) as i32 - 100),
        };
        if !x.is_finite() {
            continue;
        }
        let ndigits = match i % 7 {
            0 => [-300, -20, -3, -1, 0, 1, 2, 10, 17, 300][(next() % 10) as usize],
            _ => 4,
        };
        cases.push((x, ndigits));
    }
    let body: String = cases
        .iter()
        .map(|(x, n)| format!("{:016x},{n}\n", x.to_bits()))
        .collect();
    let Some(text) = run_python_with(&["-c", SCRIPT], body) else {
        eprintln!("SKIPPED: python3 not found");
        return;
    };
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), cases.len());
    let mut failures = Vec::new();
    for ((x, n), line) in cases.iter().zip(lines) {
        let mut parts = line.split(' ');
        let (repr, round_repr, round_hex) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        let rounded = python_round(*x, *n);
        let rounded_hex: String = rounded
            .to_le_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        if python_float_repr(*x) != repr || rounded_hex != round_hex {
            failures.push(format!(
                "x={repr} n={n}: python round={round_repr}, rust repr={} round={}",
                python_float_repr(*x),
                python_float_repr(rounded)
            ));
        }
    }
    eprintln!("float differential: {} cases", cases.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
