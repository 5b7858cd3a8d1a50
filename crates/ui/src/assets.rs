//! The stylesheet and the small script, compiled into the binary and served under `/static`.
//!
//! Pages link them as `/static/app.css?v=<hash of the content>`, so they can be cached for a year
//! (`immutable`): a new build changes the link, never the content behind a link.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::error::UiError;

pub const CSS: &str = include_str!("../static/app.css");
pub const JS: &str = include_str!("../static/app.js");
pub const ICON: &str = include_str!("../static/icon.svg");

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const ASSETS: [Asset; 3] = [
    Asset {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        body: CSS,
    },
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        body: JS,
    },
    Asset {
        name: "icon.svg",
        content_type: "image/svg+xml",
        body: ICON,
    },
];

fn version_of(body: &str) -> String {
    hex::encode(&Sha256::digest(body.as_bytes())[..6])
}

/// `(name, version)` of every asset, computed once.
fn versions() -> &'static Vec<(&'static str, String)> {
    static V: OnceLock<Vec<(&'static str, String)>> = OnceLock::new();
    V.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| (a.name, version_of(a.body)))
            .collect()
    })
}

/// The cache-busting URL of asset `name`.
pub fn href(name: &str) -> String {
    let v = versions()
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("0");
    format!("/static/{name}?v={v}")
}

pub async fn serve(Path(file): Path<String>, headers: HeaderMap) -> Response {
    let Some((asset, version)) = ASSETS
        .iter()
        .zip(versions())
        .find(|(a, _)| a.name == file)
        .map(|(a, (_, v))| (a, v))
    else {
        return UiError::NotFound("file").into_response();
    };
    let etag = format!("\"{version}\"");
    let cache = HeaderValue::from_static("public, max-age=31536000, immutable");
    if headers
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
    {
        return (
            StatusCode::NOT_MODIFIED,
            [
                (CACHE_CONTROL, cache),
                (ETAG, HeaderValue::from_str(&etag).unwrap()),
            ],
        )
            .into_response();
    }
    (
        [
            (CONTENT_TYPE, HeaderValue::from_static(asset.content_type)),
            (CACHE_CONTROL, cache),
            (ETAG, HeaderValue::from_str(&etag).expect("hex etag")),
        ],
        asset.body,
    )
        .into_response()
}
