//! Signing in with an API token, and out again. Only meaningful with [`UiAuth::Tokens`]; with
//! auth off both addresses lead to the brands.
//!
//! The token is authenticated like an API request's bearer token (`Services::authenticate`: active,
//! by its SHA-256, within its rate limit), then kept
//! in the `HttpOnly`, `SameSite=Strict` session cookie ([`session::sign_in_cookie`]). Signing in
//! also issues a fresh CSRF token, so a token planted before sign-in is worthless after it.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use crate::error::UiError;
use crate::session::{self, Session, UiAuth};
use crate::views::Layout;
use crate::UiState;

/// Longest `next` address kept across sign-in.
const MAX_NEXT_LEN: usize = 2048;

#[derive(Template)]
#[template(path = "sign_in.html")]
pub struct SignInPage {
    pub layout: Layout,
    pub csrf_token: String,
    pub next: String,
    pub error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct SignInQuery {
    #[serde(default)]
    pub next: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    pub token: String,
    #[serde(default)]
    pub next: String,
}

/// `next` if it is an address on this site (a path, never `//host` or a scheme), else `/`.
pub fn safe_next(next: &str) -> String {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/sign-")
        && next.len() <= MAX_NEXT_LEN
        && !next.contains('\\')
        && next.chars().all(|c| c.is_ascii_graphic());
    if ok {
        next.to_owned()
    } else {
        "/".to_owned()
    }
}

fn render(
    status: StatusCode,
    csrf_token: String,
    next: &str,
    error: Option<String>,
) -> Result<Response, UiError> {
    let page = SignInPage {
        layout: Layout::bare("Sign in"),
        csrf_token,
        next: safe_next(next),
        error,
    };
    Ok((status, Html(page.render()?)).into_response())
}

/// `GET /sign-in`: the form (or, when there is nothing to sign in to, where the viewer was going).
pub async fn page(
    State(state): State<UiState>,
    session: Session,
    query: Result<Query<SignInQuery>, QueryRejection>,
) -> Result<Response, UiError> {
    // A malformed query only loses where to go afterwards.
    let next = query.map(|Query(q)| q.next).unwrap_or_default();
    if state.auth == UiAuth::Off || session.signed_in() {
        return Ok(Redirect::to(&safe_next(&next)).into_response());
    }
    render(StatusCode::OK, session.csrf_token, &next, None)
}

/// `POST /sign-in`: verify the token; on success set the session cookie and go on.
pub async fn submit(
    State(state): State<UiState>,
    session: Session,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Result<Response, UiError> {
    if state.auth == UiAuth::Off {
        return Ok(Redirect::to("/").into_response());
    }
    let secret = form.token.trim();
    if secret.is_empty() {
        return render(
            StatusCode::UNPROCESSABLE_ENTITY,
            session.csrf_token,
            &form.next,
            Some("Paste an API token (it starts with pt_).".into()),
        );
    }
    let Some(caller) = session::authenticate(&state, secret).await? else {
        tracing::info!(action = "ui_sign_in", status = "refused");
        return render(
            StatusCode::UNAUTHORIZED,
            session.csrf_token,
            &form.next,
            Some(
                "That token is not valid: it may be mistyped, or it has been revoked. Ask an \
                 administrator for a new one."
                    .into(),
            ),
        );
    };
    if let Some(token_id) = caller.token_id() {
        tracing::info!(action = "ui_sign_in", token_id = %token_id,
            org_id = %caller.default_org(), status = "signed_in");
    }
    let location = HeaderValue::from_str(&safe_next(&form.next))
        .unwrap_or_else(|_| HeaderValue::from_static("/"));
    let mut resp = (StatusCode::SEE_OTHER, [(LOCATION, location)]).into_response();
    let cookies = resp.headers_mut();
    cookies.append(SET_COOKIE, session::sign_in_cookie(secret, &headers));
    cookies.append(
        SET_COOKIE,
        session::csrf_cookie(&session::new_csrf_token(), &headers),
    );
    Ok(resp)
}

/// `POST /sign-out`: forget the token in this browser (the token itself stays valid).
pub async fn sign_out(session: Session, headers: HeaderMap) -> Response {
    if let Some(token_id) = session.caller.token_id() {
        tracing::info!(action = "ui_sign_out", token_id = %token_id,
            org_id = %session.caller.default_org(), status = "signed_out");
    }
    let mut resp = Redirect::to("/sign-in").into_response();
    let cookies = resp.headers_mut();
    cookies.append(SET_COOKIE, session::sign_out_cookie(&headers));
    cookies.append(
        SET_COOKIE,
        session::csrf_cookie(&session::new_csrf_token(), &headers),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_on_this_site() {
        for ok in ["/", "/brands/acme/templates?q=x", "/results/0190"] {
            assert_eq!(safe_next(ok), ok);
        }
        for bad in [
            "",
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "javascript:alert(1)",
            "/sign-in",
            "/sign-out",
            "/a b",
            "/caf\u{e9}",
            "/line\nbreak",
        ] {
            assert_eq!(safe_next(bad), "/", "{bad:?}");
        }
        assert_eq!(safe_next(&format!("/{}", "a".repeat(3000))), "/");
    }
}
