use chrono::TimeZone;
use serde_json::json;

use super::*;

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, micros: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
        + chrono::Duration::microseconds(micros as i64)
}

#[test]
fn timestamps_in_every_legacy_form() {
    let t = utc(2025, 8, 14, 14, 13, 29, 0);
    let t_us = utc(2025, 8, 14, 14, 13, 29, 123_456);
    for (raw, want) in [
        ("2025-08-14 14:13:29", t),
        ("2025-08-14 14:13:29.123456", t_us),
        ("2025-08-14T14:13:29", t),
        ("2025-08-14T14:13:29.123456", t_us),
        ("2025-08-14T14:13:29Z", t),
        ("2025-08-14T14:13:29.123456Z", t_us),
        ("2025-08-14T16:13:29+02:00", t),
        ("2025-08-14 16:13:29.123456+02:00", t_us),
        ("2025-08-14 16:13:29+02", t),
        ("2025-08-14T09:43:29-04:30", t),
        ("  2025-08-14 14:13:29 ", t),
        ("2025-08-14 14:13", utc(2025, 8, 14, 14, 13, 0, 0)),
        ("2025-08-14", utc(2025, 8, 14, 0, 0, 0, 0)),
    ] {
        assert_eq!(parse_timestamp(raw), Some(want), "{raw}");
    }
    for raw in [
        "",
        "yesterday",
        "2025-13-01 00:00:00",
        "infinity",
        "14:13:29",
        "1755180809",
    ] {
        assert_eq!(parse_timestamp(raw), None, "{raw}");
    }
}

#[test]
fn ids_keep_uuids_and_map_integers() {
    let u = Uuid::parse_str("0198a7c4-1111-7abc-8def-0123456789ab").unwrap();
    assert_eq!(parse_id(&json!(u.to_string()), TEMPLATES, true), Ok(u));
    assert_eq!(
        parse_id(
            &json!("0198A7C4-1111-7ABC-8DEF-0123456789AB"),
            TEMPLATES,
            true
        ),
        Ok(u)
    );
    let one = Uuid::new_v5(&LEGACY_NAMESPACE, b"prompt_templates:1");
    assert_eq!(parse_id(&json!(1), TEMPLATES, true), Ok(one));
    // An integer id read through a TEXT reference column is the same row.
    assert_eq!(parse_id(&json!("1"), TEMPLATES, true), Ok(one));
    assert_ne!(parse_id(&json!(1), VERSIONS, true), Ok(one));
    // Export lines carry UUIDs only.
    assert!(parse_id(&json!(1), TEMPLATES, false).is_err());
    for bad in [
        json!("tpl-1"),
        json!(1.5),
        json!(true),
        json!([1]),
        json!(""),
    ] {
        assert!(parse_id(&bad, TEMPLATES, true).is_err(), "{bad}");
    }
}

fn row(v: Value) -> Row {
    match v {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

#[test]
fn template_row_becomes_a_create_request() {
    let r = row(json!({
        "id": 7, "workspace_id": "ws", "name": "N", "user_prompt_template": "Hi",
        "country_set": "[\"US\"]", "model_id": "gpt-4o", "inference_params": "{\"temperature\": 0.7}",
        "tools_spec": null, "response_format": "", "created_by": 42, "config_hash": "",
        "created_at": "2025-08-14 14:13:29", "unknown": "ignored"
    }));
    let t = template(&r, Origin::Sql).unwrap();
    assert_eq!(t.source_id, "7");
    assert_eq!(t.id, int_id(TEMPLATES, 7));
    assert_eq!(t.org_id, "default");
    assert_eq!(t.stored_hash, None);
    assert_eq!(
        t.body,
        json!({
            "org_id": "default", "workspace_id": "ws", "name": "N", "user_prompt_template": "Hi",
            "country_set": ["US"], "model_id": "gpt-4o", "inference_params": {"temperature": 0.7},
            "created_by": "42"
        })
    );
}

#[test]
fn the_first_problem_of_a_row_is_named() {
    let base = json!({
        "id": "t1", "workspace_id": "ws", "created_at": "2025-08-14 14:13:29",
        "country_set": "[\"US\"", "inference_params": "{}"
    });
    let bad = template(&row(base), Origin::Sql).unwrap_err();
    assert_eq!(bad.table, TEMPLATES);
    assert_eq!(bad.source_id.as_deref(), Some("t1"));
    assert!(bad.reason.starts_with("id: "), "{}", bad.reason);

    let r = row(json!({
        "id": 3, "workspace_id": "ws", "created_at": "2025-08-14 14:13:29",
        "country_set": "[\"US\"", "inference_params": "{}"
    }));
    let bad = template(&r, Origin::Sql).unwrap_err();
    assert!(
        bad.reason.starts_with("country_set: malformed JSON"),
        "{}",
        bad.reason
    );

    let r = row(json!({"id": 3, "workspace_id": "ws", "created_at": null}));
    assert_eq!(
        template(&r, Origin::Sql).unwrap_err().reason,
        "created_at is missing"
    );
    let r = row(json!({"id": 3, "created_at": "2025-08-14"}));
    assert_eq!(
        template(&r, Origin::Sql).unwrap_err().reason,
        "workspace_id is missing"
    );
}

#[test]
fn used_grounding_reads_booleans_and_integers() {
    let mut r = row(json!({
        "id": 1, "workspace_id": "w", "template_id": 2, "request": "{}", "response": "{}",
        "created_at": "2025-08-14 14:13:29"
    }));
    for (v, want) in [
        (json!(true), Some(true)),
        (json!(0), Some(false)),
        (json!(1), Some(true)),
        (json!("f"), Some(false)),
        (Value::Null, None),
    ] {
        r.insert("used_grounding".into(), v.clone());
        assert_eq!(result(&r, Origin::Sql).unwrap().used_grounding, want, "{v}");
    }
    r.insert("used_grounding".into(), json!(2));
    let bad = result(&r, Origin::Sql).unwrap_err();
    assert!(bad.reason.starts_with("used_grounding:"), "{}", bad.reason);
}

#[test]
fn version_without_last_seen_takes_first_seen() {
    let r = row(json!({
        "id": 1, "workspace_id": "w", "template_id": 2, "provider": "openai",
        "provider_version_key": "fp_1", "model_id": "gpt-4o", "first_seen_at": "2025-08-14"
    }));
    let v = version(&r, Origin::Sql).unwrap();
    assert_eq!(v.template_id, int_id(TEMPLATES, 2));
    assert_eq!(v.last_seen_at, v.first_seen_at);
}
