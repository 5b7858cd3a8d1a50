//! `prompter config-hash` as a process: stdin in, one JSON line out.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn run(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_prompter"))
        .arg("config-hash")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn prompter");
    // Feed stdin from another thread: the child writes output while we are still writing input.
    let mut pipe = child.stdin.take().unwrap();
    let input = stdin.to_vec();
    let writer = std::thread::spawn(move || pipe.write_all(&input));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    out
}

fn vectors() -> Vec<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../domain/tests/data/config_hash_vectors.jsonl"
    );
    std::fs::read_to_string(path)
        .unwrap()
        .split('\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn hashes_one_object_from_stdin() {
    let v = &vectors()[0];
    let out = run(&[], v["input"].to_string().as_bytes());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed["config_hash"], v["config_hash"]);
    assert_eq!(printed["canonical_json"], v["canonical_json"]);
}

#[test]
fn jsonl_checks_all_vectors_in_one_process_in_order() {
    let vectors = vectors();
    let input: String = vectors
        .iter()
        .map(|v| format!("{}\n", v["input"]))
        .collect();
    let out = run(&["--jsonl"], input.as_bytes());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = std::str::from_utf8(&out.stdout)
        .unwrap()
        .split('\n')
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(lines.len(), vectors.len());
    for (line, v) in lines.iter().zip(&vectors) {
        let printed: Value = serde_json::from_str(line).unwrap();
        assert_eq!(printed["config_hash"], v["config_hash"]);
        assert_eq!(printed["canonical_json"], v["canonical_json"]);
    }
}

#[test]
fn invalid_input_is_a_one_line_error_and_a_failure() {
    for bad in [
        &b"{not json"[..],
        b"[1, 2]",
        b"{\"model_id\": 5}",
        b"{\"country_set\": [1]}",
    ] {
        let out = run(&[], bad);
        assert!(!out.status.success());
        assert!(out.stdout.is_empty());
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.starts_with("error: "), "{err}");
    }
}

#[test]
fn jsonl_puts_an_error_line_in_place_and_fails() {
    let good = r#"{"user_prompt_template": "Hello", "model_id": "gpt-4o"}"#;
    let input = format!("{good}\n{{broken\n{good}\n\"just a string\"\n");
    let out = run(&["--jsonl"], input.as_bytes());
    assert!(!out.status.success());
    let lines: Vec<Value> = std::str::from_utf8(&out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert!(lines[0]["config_hash"].is_string());
    assert!(lines[1]["error"].is_string());
    assert_eq!(lines[2], lines[0]);
    assert!(lines[3]["error"].is_string());
}
