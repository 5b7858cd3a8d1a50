//! Arbitrary bytes and arbitrary JSON against the request-parsing paths, through the real router
//! (in process, no socket): never a 5xx, never a panic, always the JSON error envelope.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use prompter_providers::{Gateway, ProviderSettings};
use prompter_service::{InProcessProbeCache, Services};
use proptest::prelude::*;
use serde_json::Value;
use tower::ServiceExt;

struct Harness {
    rt: tokio::runtime::Runtime,
    router: axum::Router,
    template_path: String,
    _db: prompter_testkit::SqliteTestDb,
}

fn harness() -> &'static Harness {
    static H: std::sync::OnceLock<Harness> = std::sync::OnceLock::new();
    H.get_or_init(|| {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let (router, template_path, db) = rt.block_on(async {
            let db = prompter_testkit::fresh_sqlite().await;
            let services = Services::new(
                prompter_testkit::TestDb::db(&db),
                Arc::new(Gateway::new(ProviderSettings::fake_only()).unwrap()),
                Arc::new(InProcessProbeCache::default()),
                false,
            );
            let router = prompter_api::router(prompter_api::AppState::new(services, "dev"));
            let created = router
                .clone()
                .oneshot(
                    Request::post("/api/prompt-templates")
                        .header("content-type", "application/json")
                        .body(Body::from(r#"{"workspace_id":"fz","name":"n","model_id":"gpt-4o","user_prompt_template":"Hi {{x}}","country_set":["CH"]}"#))
                        .unwrap(),
                )
                .await
                .unwrap();
            let bytes = axum::body::to_bytes(created.into_body(), 1 << 20).await.unwrap();
            let v: Value = serde_json::from_slice(&bytes).unwrap();
            (router, format!("/api/prompt-templates/{}", v["id"].as_str().unwrap()), db)
        });
        Harness { rt, router, template_path, _db: db }
    })
}

const PATHS: [&str; 6] = [
    "/api/prompt-templates",
    "/api/prompt-templates/check-duplicate",
    "/api/workspaces",
    "{t}/run",
    "{t}/ensure-version",
    "{t}/restore",
];

fn post(path_index: usize, body: Vec<u8>) -> (StatusCode, Value) {
    let h = harness();
    let path = PATHS[path_index].replace("{t}", &h.template_path);
    h.rt.block_on(async {
        let resp = h
            .router
            .clone()
            .oneshot(
                Request::post(path)
                    .header("content-type", "application/json")
                    .body(Body::from(body))
                    .unwrap(),
            )
            .await
            .unwrap();
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), 4 << 20)
            .await
            .unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    })
}

fn check(status: StatusCode, body: &Value) {
    assert!(status.as_u16() < 500, "{status}: {body}");
    if status.is_client_error() {
        assert!(body["detail"]["code"].is_string(), "{status}: {body}");
    }
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| serde_json::json!(f)),
        ".{0,40}".prop_map(Value::String),
        prop_oneof![
            Just("CH"),
            Just("uk"),
            Just("gpt-4o"),
            Just("ws-1"),
            Just(""),
            Just("{{x}}")
        ]
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("workspace_id".to_owned()),
                    Just("name".to_owned()),
                    Just("model_id".to_owned()),
                    Just("user_prompt_template".to_owned()),
                    Just("country_set".to_owned()),
                    Just("inference_params".to_owned()),
                    Just("tools_spec".to_owned()),
                    Just("org_id".to_owned()),
                    Just("country".to_owned()),
                    Just("runtime_vars".to_owned()),
                    Just("id".to_owned()),
                    ".{0,12}",
                ],
                inner,
                0..8
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_cause_a_5xx(path in 0..PATHS.len(), body in prop::collection::vec(any::<u8>(), 0..512)) {
        let (status, v) = post(path, body);
        check(status, &v);
    }

    #[test]
    fn arbitrary_json_never_causes_a_5xx(path in 0..PATHS.len(), body in json_value()) {
        let (status, v) = post(path, body.to_string().into_bytes());
        check(status, &v);
    }
}
