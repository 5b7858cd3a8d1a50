//! Reading a JSONL source: plain create requests, Prompter's own export lines, and bad lines.

mod common;

use common::*;
use prompter_legacy::{
    parse_source, read_source, BadRow, LegacyError, LegacyResult, LegacyVersion, SourceSpec,
    LEGACY_NAMESPACE,
};
use serde_json::json;
use uuid::Uuid;

const T1: &str = "0198a7c4-0001-7000-8000-000000000001";
const V1: &str = "0198a7c4-0002-7000-8000-000000000001";
const R1: &str = "0198a7c4-0003-7000-8000-000000000001";

/// The lines of the file, numbered from 1 as an editor shows them.
fn lines() -> Vec<String> {
    [
        // 1: a plain create request without org_id or created_at.
        r#"{"workspace_id": "ws-1", "name": "Plain", "user_prompt_template": "p?", "country_set": ["US"], "model_id": "gpt-4o", "inference_params": {"temperature": 0.5}}"#.to_owned(),
        // 2: blank.
        "   ".to_owned(),
        // 3: an exported template (tags, hash, soft-deleted).
        format!(r#"{{"kind": "template", "id": "{T1}", "org_id": "org-1", "workspace_id": "ws-1", "name": "Exported", "user_prompt_template": "e?", "country_set": ["GB"], "model_id": "gpt-4o", "inference_params": {{}}, "tools_spec": null, "tags": ["seo"], "config_hash": "abc", "created_at": "2025-08-14T14:13:29.123456Z", "deleted_at": "2025-08-15T00:00:00+02:00"}}"#),
        // 4: an exported version.
        format!(r#"{{"kind": "version", "id": "{V1}", "org_id": "org-1", "workspace_id": "ws-1", "template_id": "{T1}", "provider": "openai", "provider_version_key": "fp_1", "model_id": "gpt-4o", "fingerprint_captured_at": null, "first_seen_at": "2025-08-14T14:20:00Z", "last_seen_at": "2025-08-14T15:20:00Z"}}"#),
        // 5: an exported result, with fields the export adds.
        format!(r#"{{"kind": "result", "id": "{R1}", "org_id": "org-1", "workspace_id": "ws-1", "template_id": "{T1}", "version_id": "{V1}", "provider_version_key": "fp_1", "system_fingerprint": "fp_1", "request": {{"q": 1}}, "response": "a JSON string stays a string", "analysis_config": null, "rendered_prompt_hash": "rh", "run_country": "GB", "used_grounding": true, "created_at": "2025-08-14T14:21:00Z", "answer": "Acme", "citations": [{{"url": "https://example.com"}}]}}"#),
        // 6: not JSON.
        "{not json".to_owned(),
        // 7: JSON, not an object.
        "[1, 2]".to_owned(),
        // 8: a create request without workspace_id.
        r#"{"name": "No workspace", "user_prompt_template": "x"}"#.to_owned(),
        // 9: an export line with a non-UUID id.
        r#"{"kind": "template", "id": "7", "workspace_id": "ws-1", "created_at": "2025-08-14T14:13:29Z"}"#.to_owned(),
        // 10: an export line with a bad timestamp.
        format!(r#"{{"kind": "version", "id": "{V1}", "workspace_id": "ws-1", "template_id": "{T1}", "provider": "openai", "provider_version_key": "fp_2", "model_id": "m", "first_seen_at": "last week"}}"#),
        // 11: an unknown kind.
        r#"{"kind": "brand", "id": "b1"}"#.to_owned(),
        // 12: a create request with org_id and created_at.
        r#"{"org_id": "org-2", "workspace_id": "ws-2", "name": "Dated", "created_at": "2025-08-13 10:00:00"}"#.to_owned(),
        // 13: a create request whose line ends in CRLF (written below).
        r#"{"workspace_id": "ws-3"}"#.to_owned(),
        // 14: an export result lacking its response.
        format!(r#"{{"kind": "result", "id": "{R1}", "workspace_id": "ws-1", "template_id": "{T1}", "request": {{}}, "created_at": "2025-08-14T14:21:00Z"}}"#),
        // 15: an exported workspace with its name.
        r#"{"kind": "workspace", "org_id": "org-1", "id": "ws-1", "name": "AVEA Schweiz", "created_at": "2025-08-01T00:00:00Z"}"#.to_owned(),
        // 16: a workspace line without its creation time.
        r#"{"kind": "workspace", "id": "ws-9", "name": "Undated"}"#.to_owned(),
    ]
    .into()
}

fn write_file(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let path = dir.path().join("export.jsonl");
    let mut text = String::new();
    for (i, line) in lines().iter().enumerate() {
        text.push_str(line);
        text.push_str(if i == 12 { "\r\n" } else { "\n" });
    }
    text.push('\n'); // a trailing blank line
    std::fs::write(&path, text).unwrap();
    path
}

fn plain_id(line: u64, text: &str) -> Uuid {
    Uuid::new_v5(&LEGACY_NAMESPACE, format!("jsonl:{line}:{text}").as_bytes())
}

#[tokio::test]
async fn plain_requests_export_lines_and_bad_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(&dir);
    let spec = parse_source(path.to_str().unwrap()).unwrap();
    assert_eq!(spec, SourceSpec::Jsonl(path.clone()));
    let data = read_source(&spec).await.unwrap();
    let l = lines();

    // Plain lines are as old as their line number (in microseconds after the epoch), unless dated.
    let t: Vec<_> = data
        .templates
        .iter()
        .map(|t| (t.source_id.as_str(), t.id))
        .collect();
    assert_eq!(
        t,
        [
            ("line 1", plain_id(1, &l[0])),
            ("line 13", plain_id(13, &l[12])),
            ("line 12", plain_id(12, &l[11])),
            (T1, uuid(T1)),
        ]
    );
    let plain = &data.templates[0];
    assert_eq!(plain.created_at, utc(1970, 1, 1, 0, 0, 0, 1));
    assert_eq!(
        (plain.org_id.as_str(), plain.workspace_id.as_str()),
        ("default", "ws-1")
    );
    assert_eq!(
        plain.body,
        serde_json::from_str::<serde_json::Value>(&l[0]).unwrap()
    );
    assert_eq!((plain.stored_hash.as_ref(), plain.deleted_at), (None, None));
    assert_eq!(data.templates[1].created_at, utc(1970, 1, 1, 0, 0, 0, 13));
    let dated = &data.templates[2];
    assert_eq!(
        (dated.org_id.as_str(), dated.created_at),
        ("org-2", utc(2025, 8, 13, 10, 0, 0, 0))
    );

    let exported = &data.templates[3];
    assert_eq!(exported.org_id, "org-1");
    assert_eq!(exported.stored_hash.as_deref(), Some("abc"));
    assert_eq!(exported.created_at, utc(2025, 8, 14, 14, 13, 29, 123_456));
    assert_eq!(exported.deleted_at, Some(utc(2025, 8, 14, 22, 0, 0, 0)));
    assert_eq!(
        exported.body,
        json!({
            "org_id": "org-1", "workspace_id": "ws-1", "name": "Exported", "user_prompt_template": "e?",
            "country_set": ["GB"], "model_id": "gpt-4o", "inference_params": {}, "tags": ["seo"]
        })
    );

    assert_eq!(
        data.versions,
        [LegacyVersion {
            source_id: V1.into(),
            id: uuid(V1),
            org_id: "org-1".into(),
            workspace_id: "ws-1".into(),
            template_id: uuid(T1),
            provider: "openai".into(),
            provider_version_key: "fp_1".into(),
            model_id: "gpt-4o".into(),
            fingerprint_captured_at: None,
            first_seen_at: utc(2025, 8, 14, 14, 20, 0, 0),
            last_seen_at: utc(2025, 8, 14, 15, 20, 0, 0),
        }]
    );
    let extra = json!({"answer": "Acme", "citations": [{"url": "https://example.com"}]});
    assert_eq!(
        data.results,
        [LegacyResult {
            source_id: R1.into(),
            id: uuid(R1),
            org_id: "org-1".into(),
            workspace_id: "ws-1".into(),
            template_id: uuid(T1),
            version_id: Some(uuid(V1)),
            provider_version_key: Some("fp_1".into()),
            system_fingerprint: Some("fp_1".into()),
            request: r#"{"q":1}"#.into(),
            response: r#""a JSON string stays a string""#.into(),
            // An export line's answer is its `answer`, not found in the response.
            answer: Some("Acme".into()),
            analysis_config: None,
            rendered_prompt_hash: Some("rh".into()),
            run_country: Some("GB".into()),
            used_grounding: Some(true),
            created_at: utc(2025, 8, 14, 14, 21, 0, 0),
            extra: extra.as_object().cloned(),
        }]
    );

    let bad: Vec<_> = data
        .bad_rows
        .iter()
        .map(|b| (b.line, b.source_id.as_deref()))
        .collect();
    assert_eq!(
        bad,
        [
            (Some(6), None),
            (Some(7), None),
            (Some(8), None),
            (Some(9), Some("7")),
            (Some(10), Some(V1)),
            (Some(11), Some("b1")),
            (Some(14), Some(R1)),
            (Some(16), Some("ws-9")),
        ]
    );
    assert_eq!(
        data.workspaces,
        [prompter_legacy::LegacyWorkspace {
            org_id: "org-1".into(),
            id: "ws-1".into(),
            name: "AVEA Schweiz".into(),
            created_at: utc(2025, 8, 1, 0, 0, 0, 0),
        }]
    );
    assert!(data.bad_rows.iter().all(|b| b.table == "jsonl"));
    let reasons: Vec<_> = data.bad_rows.iter().map(|b| b.reason.as_str()).collect();
    assert!(reasons[0].starts_with("not JSON"), "{}", reasons[0]);
    assert_eq!(reasons[1], "expected a JSON object, found an array");
    assert_eq!(reasons[2], "workspace_id is missing");
    assert_eq!(reasons[3], "id: \"7\" is not a UUID");
    assert_eq!(
        reasons[4],
        "first_seen_at: unparsable timestamp \"last week\""
    );
    assert!(reasons[5].starts_with("kind: expected"), "{}", reasons[5]);
    assert_eq!(reasons[6], "response is missing");
    assert_eq!(reasons[7], "created_at is missing");

    // Deterministic: the same file yields the same records and ids.
    assert_eq!(read_source(&spec).await.unwrap(), data);
}

#[tokio::test]
async fn a_line_that_is_not_utf8_is_one_bad_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latin1.jsonl");
    let mut bytes = b"{\"workspace_id\": \"caf\xe9\"}\n".to_vec();
    bytes.extend_from_slice(b"{\"workspace_id\": \"ws\"}");
    std::fs::write(&path, bytes).unwrap();
    let data = read_source(&SourceSpec::Jsonl(path)).await.unwrap();
    assert_eq!(data.templates.len(), 1);
    assert_eq!(data.templates[0].source_id, "line 2");
    assert_eq!(
        data.templates[0].id,
        plain_id(2, r#"{"workspace_id": "ws"}"#)
    );
    assert_eq!(data.bad_rows.len(), 1);
    let BadRow {
        table,
        line,
        reason,
        ..
    } = &data.bad_rows[0];
    assert_eq!((*table, *line), ("jsonl", Some(1)));
    assert!(reason.starts_with("not UTF-8"), "{reason}");
}

#[tokio::test]
async fn a_missing_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = read_source(&SourceSpec::Jsonl(dir.path().join("none.jsonl")))
        .await
        .unwrap_err();
    assert!(matches!(err, LegacyError::Io { .. }), "{err}");
}
