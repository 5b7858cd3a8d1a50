//! The OpenAPI document: the committed `crates/api/openapi.json` is what the code generates, and
//! every route of the router is documented (and every documented operation is routed).

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;

use common::TestApp;

const UPDATE_HINT: &str = "UPDATE_OPENAPI=1 cargo test -p prompter-api --test openapi_snapshot";

fn snapshot_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("openapi.json")
}

#[test]
fn committed_document_matches_the_code() {
    let generated = prompter_api::openapi::document_json();
    let path = snapshot_path();
    if std::env::var_os("UPDATE_OPENAPI").is_some_and(|v| !v.is_empty() && v != "0") {
        std::fs::write(&path, generated).expect("write crates/api/openapi.json");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        let first_difference = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(generated.lines().count()));
        panic!(
            "crates/api/openapi.json is out of date with the code (first difference at line {}).\n\
             Regenerate it with `{UPDATE_HINT}`, review the diff and commit it.",
            first_difference + 1
        );
    }
}

#[test]
fn document_is_valid_json_with_stable_key_order() {
    let text = prompter_api::openapi::document_json();
    let value: serde_json::Value = serde_json::from_str(text).unwrap();
    assert_eq!(value["openapi"], "3.1.0");
    // Rendering twice gives the same bytes.
    let again = prompter_api::openapi::render();
    assert_eq!(text, again);
    // Operation ids are unique (clients generate method names from them).
    let mut ids = BTreeSet::new();
    for item in value["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            let id = op["operationId"].as_str().expect("operationId");
            assert!(ids.insert(id.to_owned()), "duplicate operationId {id}");
        }
    }
}

/// `(METHOD, path)` of every `.route(path, method(handler)…)` in `router()`'s source: the router
/// itself, not a list kept by hand.
fn routes_in_router_source() -> BTreeSet<(String, String)> {
    let source = include_str!("../src/lib.rs");
    let start = source.find("pub fn router(").expect("router() in lib.rs");
    let body = &source[start..];
    let end = body.find("\n}\n").expect("end of router()");
    let body = &body[..end];
    let mut routes = BTreeSet::new();
    let mut rest = body;
    while let Some(at) = rest.find(".route(") {
        rest = &rest[at + ".route(".len()..];
        // The arguments, up to the matching parenthesis.
        let mut depth = 1;
        let mut len = 0;
        for (i, c) in rest.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
            if depth == 0 {
                len = i;
                break;
            }
        }
        let args = &rest[..len];
        let path = args
            .split('"')
            .nth(1)
            .expect("route path literal")
            .to_owned();
        let handlers = &args[args.find(',').expect("route handler")..];
        for method in ["get", "post", "put", "patch", "delete", "head", "options"] {
            let calls = handlers
                .match_indices(&format!("{method}("))
                .filter(|(i, _)| {
                    let before = handlers[..*i].chars().last();
                    matches!(before, Some(',' | '.' | ' ' | '\n' | '('))
                })
                .count();
            if calls > 0 {
                routes.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    routes
}

#[test]
fn every_route_of_the_router_is_documented_and_nothing_else() {
    let routed = routes_in_router_source();
    assert!(routed.len() >= 18, "parsed too few routes: {routed:?}");
    let documented = prompter_api::openapi::documented_operations();
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        undocumented.is_empty() && unrouted.is_empty(),
        "routes missing from the OpenAPI document: {undocumented:?}; documented but not routed: \
         {unrouted:?} (annotate the handler with #[utoipa::path] and list it in \
         openapi::ApiDoc; then {UPDATE_HINT})"
    );
}

/// Each documented operation, requested for real, is answered by its handler (not by the 404/405
/// fallbacks), and the document is served at `/openapi.json` without authentication.
#[tokio::test]
async fn every_documented_operation_is_routed() {
    let app = TestApp::start(prompter_testkit::fresh_sqlite().await).await;
    let served = app.send(app.client.get(app.url("/openapi.json"))).await;
    assert_eq!(served.status, 200);
    let expected: serde_json::Value =
        serde_json::from_str(prompter_api::openapi::document_json()).unwrap();
    assert_eq!(served.body, expected);

    let unknown = uuid::Uuid::now_v7();
    for (method, path) in prompter_api::openapi::documented_operations() {
        let url = app.url(&path.replace("{id}", &unknown.to_string()));
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        // Raw: /metrics answers text.
        let reply = app
            .client
            .request(method.clone(), &url)
            .send()
            .await
            .unwrap();
        let status = reply.status().as_u16();
        let body: serde_json::Value = reply.json().await.unwrap_or_default();
        let code = body["detail"]["code"].as_str().unwrap_or("");
        assert!(
            status != 405 && code != "NOT_FOUND" && code != "METHOD_NOT_ALLOWED",
            "{method} {path}: answered by the router's fallback ({status} {code})"
        );
    }
}
