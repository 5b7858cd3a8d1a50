//! Who is looking, and CSRF protection for every form the UI posts.
//!
//! A [`Session`] is attached to every UI request by [`layer`]: the organisation the viewer works
//! in (today always `default`; sign-in will set it here, in [`org_for`], and nowhere else) and the
//! viewer's CSRF token.
//!
//! CSRF uses the double-submit pattern: a random per-browser token lives in an `HttpOnly`,
//! `SameSite=Strict` cookie, and every form carries the same token in a hidden field
//! ([`CSRF_FIELD`]). [`layer`] verifies *every* non-safe request to the UI (a handler cannot
//! forget it): a missing or mismatched token is a 403 page, before any handler runs.

use axum::body::{to_bytes, Body};
use axum::extract::{FromRequestParts, Request};
use axum::http::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prompter_domain::OrgId;

use crate::error::UiError;

/// The cookie holding the CSRF token.
pub const CSRF_COOKIE: &str = "prompter_csrf";
/// The hidden form field every UI form posts the token in.
pub const CSRF_FIELD: &str = "csrf_token";
/// Largest form body the UI accepts (two 100,000-character prompts plus JSON fit easily).
pub const MAX_FORM_BYTES: usize = 2 * 1024 * 1024;

/// The viewer of a page: their organisation and CSRF token.
#[derive(Debug, Clone)]
pub struct Session {
    pub org_id: OrgId,
    pub csrf_token: String,
}

/// The organisation of a request. The one place that decides it: until sign-in exists, every
/// viewer works in `default`, as API clients that name no org do.
fn org_for(_parts: &Parts) -> OrgId {
    OrgId::default_org()
}

/// A fresh token: 64 hex digits from the operating system's CSPRNG (two v4 UUIDs, 244 random bits).
fn new_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

fn is_token(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The value of cookie `name`, if the request sent it.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().trim_matches('"'))
}

/// Compares without an early exit, so timing does not reveal how much of a guess matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn set_cookie_value(token: &str) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{CSRF_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict"
    ))
    .expect("a hex token is a valid header value")
}

/// Security headers for every UI response: no framing, no inline script, no sniffing.
fn harden(headers: &mut HeaderMap) {
    let defaults = [
        (
            "content-security-policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "same-origin"),
    ];
    for (name, value) in defaults {
        if !headers.contains_key(name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
}

/// Attaches the [`Session`], verifies the CSRF token of every non-safe request, and (re)issues
/// the cookie when the browser had none.
pub async fn layer(req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let existing = cookie(&parts.headers, CSRF_COOKIE)
        .filter(|t| is_token(t))
        .map(str::to_owned);
    let issued = existing.is_none();
    let token = existing.unwrap_or_else(new_token);

    let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
    let body = if safe {
        body
    } else {
        match verify(&parts.headers, body, (!issued).then_some(token.as_str())).await {
            Ok(bytes) => Body::from(bytes),
            Err(e) => {
                let mut resp = e.into_response();
                if issued {
                    resp.headers_mut()
                        .append(SET_COOKIE, set_cookie_value(&token));
                }
                harden(resp.headers_mut());
                return resp;
            }
        }
    };

    parts.extensions.insert(Session {
        org_id: org_for(&parts),
        csrf_token: token.clone(),
    });
    let mut resp = next.run(Request::from_parts(parts, body)).await;
    if issued {
        resp.headers_mut()
            .append(SET_COOKIE, set_cookie_value(&token));
    }
    harden(resp.headers_mut());
    resp
}

/// Reads a form body and checks its token against the cookie's (`None`: no cookie was sent).
/// Returns the body so the handler can parse it.
async fn verify(
    headers: &HeaderMap,
    body: Body,
    cookie_token: Option<&str>,
) -> Result<axum::body::Bytes, UiError> {
    let is_form = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !is_form {
        return Err(UiError::Forbidden(
            "This address only accepts forms sent from Prompter's own pages.".into(),
        ));
    }
    let bytes = to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| UiError::PayloadTooLarge)?;
    let Some(cookie_token) = cookie_token else {
        return Err(UiError::Forbidden(
            "Your session cookie was missing (cookies may be blocked, or the session is new). \
             Reload the page and send the form again."
                .into(),
        ));
    };
    let sent: Option<String> = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
        .ok()
        .and_then(|pairs| {
            pairs
                .into_iter()
                .find(|(k, _)| k == CSRF_FIELD)
                .map(|(_, v)| v)
        });
    match sent {
        Some(sent) if constant_time_eq(sent.as_bytes(), cookie_token.as_bytes()) => Ok(bytes),
        _ => Err(UiError::Forbidden(
            "The form's security token did not match this browser session. Reload the page \
             and send the form again."
                .into(),
        )),
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Session {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Session>()
            .cloned()
            .ok_or_else(|| UiError::Internal("the session layer is not installed".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_hex() {
        let (a, b) = (new_token(), new_token());
        assert!(is_token(&a) && is_token(&b));
        assert_ne!(a, b);
        assert!(!is_token("abc"));
        assert!(!is_token(&"g".repeat(64)));
    }

    #[test]
    fn reads_cookies_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            COOKIE,
            HeaderValue::from_static("a=1; prompter_csrf=xyz ; b=2"),
        );
        assert_eq!(cookie(&h, CSRF_COOKIE), Some("xyz"));
        assert_eq!(cookie(&h, "b"), Some("2"));
        assert_eq!(cookie(&h, "c"), None);
    }

    #[test]
    fn comparison_is_exact() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
