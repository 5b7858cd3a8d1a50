//! Who is looking: sign-in, what the viewer may see and do, and CSRF protection for every form.
//!
//! [`layer`] runs before every UI handler and attaches a [`Session`]: the viewer as a
//! [`Caller`] of the services, and their CSRF token. It is the one place that decides *who* the
//! viewer is; *what* they may see and do is decided by the services, which every handler calls
//! with `session.caller` (another organisation's or workspace's object is "not found", a role too
//! weak is "forbidden").
//!
//! **Sign-in.** With [`UiAuth::Tokens`] (the server requires API tokens), a viewer signs in at
//! `/sign-in` with an API token (`prompter tokens create`). The token is kept in the
//! [`SESSION_COOKIE`] (`HttpOnly`: no script can read it; `SameSite=Strict`: no other site can
//! make the browser send it; `Secure` when the request came over HTTPS through a proxy) and
//! authenticated by the services on every request (`Services::authenticate`: a revoked token
//! ends its sessions at once, and the token's per-minute limit, shared with the API, applies).
//! Without a valid one, pages redirect to the sign-in page and other requests answer 401. A link
//! followed from another site arrives without the Strict cookie; such a navigation gets a page
//! that reloads itself from this site (cookie sent) instead of a sign-in prompt. The
//! viewer then sees exactly what the token lets the API see: its organisation, its workspaces
//! (others answer 404, as unknown ones do), and nothing that writes if it is a reader token. With
//! [`UiAuth::Off`] (a loopback quick start without tokens) everyone is [`Caller::open`] and
//! works in `default`.
//!
//! **CSRF** uses the double-submit pattern: a random per-browser token lives in an `HttpOnly`,
//! `SameSite=Strict` cookie, and every form carries the same token in a hidden field
//! ([`CSRF_FIELD`]); the page's own `fetch` calls send it in the [`CSRF_HEADER`]. [`layer`]
//! verifies *every* non-safe request to the UI (a handler cannot forget it): a missing or
//! mismatched token is a 403 page, before any handler runs.

use axum::body::{to_bytes, Body};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prompter_service::{Caller, ServiceError};

use crate::error::UiError;
use crate::UiState;

/// The cookie holding the CSRF token.
pub const CSRF_COOKIE: &str = "prompter_csrf";
/// The hidden form field every UI form posts the token in.
pub const CSRF_FIELD: &str = "csrf_token";
/// The header the UI's own `fetch` calls send the token in (JSON bodies have no form field).
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The cookie holding a signed-in viewer's API token.
pub const SESSION_COOKIE: &str = "prompter_session";
/// How long a sign-in lasts in the browser (the token itself may be revoked sooner).
pub const SESSION_MAX_AGE_S: u64 = 12 * 60 * 60;
/// Largest form body the UI accepts (two 100,000-character prompts plus JSON fit easily).
pub const MAX_FORM_BYTES: usize = 2 * 1024 * 1024;
/// Longest API token the sign-in looks up (real ones are 67 characters).
const MAX_TOKEN_LEN: usize = 256;

/// Whether the UI asks who is looking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UiAuth {
    /// Everyone works in the `default` organisation, as API clients do with auth off.
    Off,
    /// Viewers sign in with an API token and see what the token may see.
    Tokens,
}

/// The viewer of a page: who they are for the services, and their CSRF token.
#[derive(Debug, Clone)]
pub struct Session {
    /// [`Caller::open`] with auth off, the signed-in token's caller, or [`Caller::nobody`] on a
    /// page anyone may open. Every service call of a handler passes it.
    pub caller: Caller,
    pub csrf_token: String,
}

impl Session {
    /// Whether a token is signed in (as opposed to auth off, or nobody).
    pub fn signed_in(&self) -> bool {
        self.caller.token_id().is_some()
    }

    /// Whether to offer actions that create, delete, restore and run (the services decide).
    pub fn can_write(&self) -> bool {
        self.caller.can_write()
    }

    /// Whether to offer creating brands (workspaces): admins only (the services decide).
    pub fn can_create_brand(&self) -> bool {
        self.caller.is_admin()
    }

    /// A page that only leads to a write (the create form) is 403 for read-only viewers, with
    /// a message that says why; the write itself is refused by the services as well.
    pub fn require_writer(&self) -> Result<(), UiError> {
        self.caller.require_writer().map_err(|_| read_only())
    }
}

/// The 403 a read-only (reader) viewer gets for anything that writes.
pub fn read_only() -> UiError {
    UiError::Forbidden(
        "You are signed in with a read-only (reader) token: it can look at templates, \
         versions and results, but not create, change or run anything."
            .into(),
    )
}

/// A fresh CSRF token: 64 hex digits from the operating system's CSPRNG (two v4 UUIDs, 244
/// random bits). Issued on the first visit and again at sign-in and sign-out.
pub fn new_csrf_token() -> String {
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

/// Whether the browser reached us over HTTPS (a TLS-terminating proxy says so); then cookies
/// get `Secure`. Plain HTTP (loopback, a private network) must keep working without it.
fn is_https(headers: &HeaderMap) -> bool {
    let forwarded_https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("https")
        });
    let rfc7239_https = headers
        .get("forwarded")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("proto=https"));
    forwarded_https || rfc7239_https
}

/// A `Set-Cookie` value for one of the UI's cookies: always `HttpOnly` and `SameSite=Strict`.
/// `max_age`: `None` for a browser-session cookie, `Some(0)` to delete.
fn cookie_header(name: &str, value: &str, max_age: Option<u64>, secure: bool) -> HeaderValue {
    let mut v = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict");
    if let Some(age) = max_age {
        v.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        v.push_str("; Secure");
    }
    HeaderValue::from_str(&v).expect("cookie names and values are header-safe")
}

/// The `Set-Cookie` that signs the browser in with `secret` (already verified).
pub fn sign_in_cookie(secret: &str, request: &HeaderMap) -> HeaderValue {
    cookie_header(
        SESSION_COOKIE,
        secret,
        Some(SESSION_MAX_AGE_S),
        is_https(request),
    )
}

/// The `Set-Cookie` that signs the browser out.
pub fn sign_out_cookie(request: &HeaderMap) -> HeaderValue {
    cookie_header(SESSION_COOKIE, "", Some(0), is_https(request))
}

/// A new CSRF cookie (issued on the first visit and again at sign-in).
pub fn csrf_cookie(token: &str, request: &HeaderMap) -> HeaderValue {
    cookie_header(CSRF_COOKIE, token, None, is_https(request))
}

/// Security headers for every UI response: no framing, no inline script, no sniffing, no caching
/// of pages that may show a tenant's data.
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
        ("cache-control", "no-store"),
    ];
    for (name, value) in defaults {
        if !headers.contains_key(name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
}

/// Addresses anyone may open: the sign-in page itself and the assets it needs.
fn is_public(path: &str) -> bool {
    path == "/sign-in" || path == "/sign-out" || path.starts_with("/static/")
}

/// The caller a browser signed in with `secret` stands for (the services verify the token and
/// apply its rate limit). `Ok(None)`: not signed in: no usable secret, or a token that is not
/// (or no longer) valid.
pub async fn authenticate(state: &UiState, secret: &str) -> Result<Option<Caller>, UiError> {
    if secret.is_empty() || secret.len() > MAX_TOKEN_LEN {
        return Ok(None);
    }
    match state.services.authenticate(secret).await {
        Ok(caller) => Ok(Some(caller)),
        Err(ServiceError::Unauthorized(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// A link followed from another site (a chat message, an e-mail): the browser withholds
/// `SameSite=Strict` cookies on that first request, so a signed-in viewer looks signed out.
fn is_cross_site_navigation(headers: &HeaderMap) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    header("sec-fetch-site") == Some("cross-site") && header("sec-fetch-mode") == Some("navigate")
}

/// Loads the same address again from this site, so the browser sends its `SameSite=Strict`
/// session cookie; a viewer who really is signed out then gets the sign-in redirect (that second
/// request is same-origin, so this cannot loop). A meta refresh, because the CSP allows no inline
/// script.
/// The page names its icon: without one the browser asks for `/favicon.ico`, which does not exist.
fn reload_same_site() -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"refresh\" content=\"0\"><title>Prompter</title>\
         <link rel=\"icon\" href=\"{}\" type=\"image/svg+xml\"></head>\
         <body><p>Opening Prompter…</p></body></html>",
        crate::assets::href("icon.svg")
    );
    (
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        axum::response::Html(html),
    )
        .into_response()
}

/// Where an unauthenticated viewer goes: the sign-in page, coming back here afterwards.
fn to_sign_in(parts: &Parts) -> Response {
    let here = parts
        .uri
        .path_and_query()
        .map_or("/", |pq| pq.as_str())
        .to_owned();
    let location = if here == "/" {
        "/sign-in".to_owned()
    } else {
        format!(
            "/sign-in?{}",
            serde_urlencoded::to_string([("next", here.as_str())]).unwrap_or_default()
        )
    };
    (
        StatusCode::SEE_OTHER,
        [(
            LOCATION,
            HeaderValue::from_str(&location).unwrap_or(HeaderValue::from_static("/sign-in")),
        )],
    )
        .into_response()
}

/// Attaches the [`Session`], verifies the CSRF token of every non-safe request, keeps pages
/// behind sign-in when tokens are required, and (re)issues the CSRF cookie when the browser had
/// none.
pub async fn layer(State(state): State<UiState>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let existing = cookie(&parts.headers, CSRF_COOKIE)
        .filter(|t| is_token(t))
        .map(str::to_owned);
    let issued = existing.is_none();
    let token = existing.unwrap_or_else(new_csrf_token);
    let secure = is_https(&parts.headers);
    let finish = |mut resp: Response| {
        if issued {
            resp.headers_mut()
                .append(SET_COOKIE, cookie_header(CSRF_COOKIE, &token, None, secure));
        }
        harden(resp.headers_mut());
        resp
    };

    let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
    let body = if safe {
        body
    } else {
        match verify(&parts.headers, body, (!issued).then_some(token.as_str())).await {
            Ok(bytes) => Body::from(bytes),
            Err(e) => return finish(e.into_response()),
        }
    };

    let session_cookie = cookie(&parts.headers, SESSION_COOKIE);
    let had_session_cookie = session_cookie.is_some();
    let caller = match state.auth {
        UiAuth::Off => Some(Caller::open()),
        // Assets show nobody's data: no token lookup (and no rate limiting) for them.
        UiAuth::Tokens if parts.uri.path().starts_with("/static/") => Some(Caller::nobody()),
        UiAuth::Tokens => match session_cookie {
            None => None,
            // Signed-in pages count against the token's requests per minute, as its API calls
            // do (a 429 page past it).
            Some(secret) => match authenticate(&state, secret).await {
                Ok(found) => found,
                Err(e) => return finish(e.into_response()),
            },
        },
    };
    let caller = match caller {
        Some(c) => c,
        None if is_public(parts.uri.path()) => Caller::nobody(),
        None => {
            let mut resp =
                if safe && !had_session_cookie && is_cross_site_navigation(&parts.headers) {
                    reload_same_site()
                } else if safe {
                    to_sign_in(&parts)
                } else {
                    UiError::Unauthorized.into_response()
                };
            if had_session_cookie {
                // Revoked or unknown: forget it, so the sign-in page starts clean.
                resp.headers_mut().append(
                    SET_COOKIE,
                    cookie_header(SESSION_COOKIE, "", Some(0), secure),
                );
            }
            return finish(resp);
        }
    };
    parts.extensions.insert(Session {
        caller,
        csrf_token: token.clone(),
    });
    let resp = next.run(Request::from_parts(parts, body)).await;
    finish(resp)
}

fn media_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
}

/// Reads a non-safe request's body and checks its CSRF token against the cookie's (`None`: no
/// cookie was sent): a form carries it in [`CSRF_FIELD`], a JSON `fetch` in [`CSRF_HEADER`].
/// Returns the body so the handler can parse it.
async fn verify(
    headers: &HeaderMap,
    body: Body,
    cookie_token: Option<&str>,
) -> Result<axum::body::Bytes, UiError> {
    let media = media_type(headers);
    let is_form = media.as_deref() == Some("application/x-www-form-urlencoded");
    let is_json = media.as_deref() == Some("application/json");
    if !is_form && !is_json {
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
    let sent: Option<String> = if is_json {
        headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    } else {
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
            .ok()
            .and_then(|pairs| {
                pairs
                    .into_iter()
                    .find(|(k, _)| k == CSRF_FIELD)
                    .map(|(_, v)| v)
            })
    };
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
        let (a, b) = (new_csrf_token(), new_csrf_token());
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
