//! What every page shares: the layout (header, brand picker, assets), timestamps, and the loaders
//! of the brand and template a URL names (through the services, which decide what the viewer may
//! see).

use std::fmt;

use chrono::{DateTime, Utc};
use prompter_service::records::{Template, Workspace};
use uuid::Uuid;

use crate::assets;
use crate::error::UiError;
use crate::session::Session;
use crate::UiState;

/// A brand in the header's picker.
#[derive(Debug, Clone)]
pub struct BrandLink {
    pub id: String,
    pub name: String,
    pub href: String,
    pub current: bool,
}

/// The frame around every page.
#[derive(Debug, Clone)]
pub struct Layout {
    pub title: String,
    pub css: String,
    pub js: String,
    pub icon: String,
    pub brands: Vec<BrandLink>,
    pub current: Option<BrandLink>,
    /// Which header link is active: `brands`, `templates`, `new`, or empty.
    pub nav: &'static str,
    /// Who is signed in (tokens required), for the header's badge and sign-out button.
    pub viewer: Option<ViewerBadge>,
    /// Whether to offer actions that write (false for reader tokens).
    pub can_write: bool,
    /// For the sign-out form.
    pub csrf_token: String,
}

/// The signed-in token, as the header shows it.
#[derive(Debug, Clone)]
pub struct ViewerBadge {
    /// The token's label, else the start of its id.
    pub name: String,
    pub org_id: String,
    pub role: &'static str,
}

impl ViewerBadge {
    /// The badge of a signed-in token; `None` with auth off or nobody signed in.
    pub fn of(caller: &prompter_service::Caller) -> Option<Self> {
        let id = caller.token_id()?;
        Some(Self {
            name: caller
                .label()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_owned)
                .unwrap_or_else(|| format!("token {}", &id.simple().to_string()[..8])),
            org_id: caller.default_org().to_string(),
            role: caller.role().as_str(),
        })
    }
}

impl Layout {
    /// A layout with no brand picker (error pages, the disabled UI).
    pub fn bare(title: &str) -> Self {
        Self {
            title: title.to_owned(),
            css: assets::href("app.css"),
            js: assets::href("app.js"),
            icon: assets::href("icon.svg"),
            brands: Vec::new(),
            current: None,
            nav: "",
            viewer: None,
            can_write: false,
            csrf_token: String::new(),
        }
    }

    /// The full layout: the brands the viewer may use for the picker, `current` highlighted.
    pub async fn load(
        state: &UiState,
        session: &Session,
        current: Option<&Workspace>,
        title: impl Into<String>,
        nav: &'static str,
    ) -> Result<Self, UiError> {
        let workspaces = state
            .services
            .list_workspaces(&session.caller, None)
            .await?;
        Ok(Self::with_workspaces(
            session,
            &workspaces,
            current,
            title,
            nav,
        ))
    }

    /// [`Layout::load`] for a page that has already read the viewer's workspaces.
    pub fn with_workspaces(
        session: &Session,
        workspaces: &[Workspace],
        current: Option<&Workspace>,
        title: impl Into<String>,
        nav: &'static str,
    ) -> Self {
        let mut brands: Vec<BrandLink> = workspaces
            .iter()
            .map(|w| BrandLink {
                id: w.id.clone(),
                name: w.name.clone(),
                href: brand_href(&w.id),
                current: current.is_some_and(|c| c.id == w.id),
            })
            .collect();
        brands.sort_by_key(|b| b.name.to_lowercase());
        let current = current.map(|w| BrandLink {
            id: w.id.clone(),
            name: w.name.clone(),
            href: brand_href(&w.id),
            current: true,
        });
        let title = title.into();
        Self {
            title: match &current {
                Some(b) => format!("{title} · {}", b.name),
                None => title,
            },
            brands,
            current,
            nav,
            viewer: ViewerBadge::of(&session.caller),
            can_write: session.can_write(),
            csrf_token: session.csrf_token.clone(),
            ..Self::bare("")
        }
    }
}

/// The templates page of a brand: where picking a brand leads.
pub fn brand_href(ws: &str) -> String {
    format!("/brands/{ws}/templates")
}

pub fn template_href(ws: &str, id: Uuid) -> String {
    format!("/brands/{ws}/templates/{id}")
}

pub fn result_href(ws: &str, id: Uuid) -> String {
    format!("/brands/{ws}/results/{id}")
}

/// A timestamp: machine-readable ISO in `datetime`, UTC text until the script shows local time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ts {
    pub iso: String,
    pub text: String,
}

impl Ts {
    pub fn new(t: &DateTime<Utc>) -> Self {
        Self {
            iso: prompter_service::records::timestamp::format(t),
            text: t.format("%Y-%m-%d %H:%M UTC").to_string(),
        }
    }
}

impl fmt::Display for Ts {
    /// Safe to emit unescaped: both strings are produced by chrono from a timestamp.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            r#"<time datetime="{iso}" title="{text}">{text}</time>"#,
            iso = self.iso,
            text = self.text
        )
    }
}

/// The brand named in the URL, in the viewer's organisation, if the viewer may use it (a brand
/// their token may not use is "not found", like one that does not exist).
pub async fn load_brand(
    state: &UiState,
    session: &Session,
    raw: &str,
) -> Result<Workspace, UiError> {
    Ok(state
        .services
        .get_workspace(&session.caller, None, raw)
        .await?)
}

/// The template named in the URL, if the viewer may see it and it belongs to this brand
/// (deleted ones too: they stay readable as history).
pub async fn load_template(
    state: &UiState,
    session: &Session,
    ws: &Workspace,
    raw: &str,
) -> Result<Template, UiError> {
    let id = Uuid::parse_str(raw).map_err(|_| UiError::NotFound("template"))?;
    let t = state.services.get_template(&session.caller, id).await?;
    if t.org_id == ws.org_id && t.workspace_id == ws.id {
        Ok(t)
    } else {
        Err(UiError::NotFound("template"))
    }
}

/// JSON as people read it: two-space indentation.
pub fn pretty(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}

/// A field message for a form: `(field, message)` pairs, first one per field wins.
#[derive(Debug, Clone, Default)]
pub struct FieldErrors(Vec<(String, String)>);

impl FieldErrors {
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        let field = field.into();
        if self.get(&field).is_none() {
            self.0.push((field, message.into()));
        }
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// `aria-invalid` of a field.
    pub fn invalid(&self, field: &str) -> &'static str {
        if self.get(field).is_some() {
            "true"
        } else {
            "false"
        }
    }

    /// `aria-describedby` of field `field` (id `f-{field}`): its hint, and its error if any.
    pub fn describe(&self, field: &str) -> String {
        match self.get(field) {
            Some(_) => format!("f-{field}-hint f-{field}-error"),
            None => format!("f-{field}-hint"),
        }
    }

    /// Every message, in the order found: for the summary at the top of a form.
    pub fn all(&self) -> &[(String, String)] {
        &self.0
    }
}
