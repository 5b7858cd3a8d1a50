//! A brand's entities editor: the brand and its competitors with their aliases and web domains,
//! saved as a new alias snapshot (`Services::put_entities`, the API's
//! `PUT /api/workspaces/{id}/entities`), and the history of snapshots.
//!
//! The form is plain text, so it needs no script:
//!
//! - **Aliases**: one per line. A line starting with `=` is case-sensitive (`=Apple` matches
//!   `Apple`, not `apple`), for names that are also ordinary words. The name is always an alias.
//! - **Domains**: one per line, bare host names (`acme.com`, not `https://acme.com/`).
//! - **Competitors**: one per line, `Name | alias, alias | domain, domain`; the alias and domain
//!   parts may be left out (`Globex`, `Globex | Globex Corp`), and `=` marks a case-sensitive
//!   alias here too.
//!
//! The form becomes the API's JSON body ([`EntitiesForm::to_body`]), validated by the domain's own
//! `parse_entity_set` so that every message is the API's, naming its field
//! (`competitors[2].domains[0]`), shown next to the form field it belongs to (with the line of
//! the competitor).

use askama::Template as _;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use prompter_domain::entities::parse_entity_set;
use prompter_domain::FieldError;
use prompter_service::records::Workspace;
use prompter_service::ServiceError;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::UiError;
use crate::session::Session;
use crate::views::{load_brand, FieldErrors, Layout, Ts};
use crate::visibility::{entities_href, visibility_href};
use crate::UiState;

/// The form's fields as posted.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct EntitiesForm {
    pub brand_name: String,
    pub brand_aliases: String,
    pub brand_domains: String,
    pub competitors: String,
}

/// Non-blank lines, trimmed, with their 1-based line numbers.
fn lines(raw: &str) -> impl Iterator<Item = (usize, &str)> {
    raw.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty())
}

/// `=Apple` → a case-sensitive alias; anything else → the plain text.
fn alias_json(raw: &str) -> Value {
    match raw.strip_prefix('=') {
        Some(text) => json!({"text": text.trim(), "case_sensitive": true}),
        None => Value::String(raw.to_owned()),
    }
}

fn alias_text(alias: &Value) -> String {
    let text = alias.get("text").and_then(Value::as_str).unwrap_or("");
    if alias.get("case_sensitive").and_then(Value::as_bool) == Some(true) {
        format!("={text}")
    } else {
        text.to_owned()
    }
}

/// An entity's aliases as the form shows them, without the plain alias that is its name (saving
/// adds it back).
fn aliases_of(entity: &Value) -> Vec<String> {
    let name = entity.get("name").and_then(Value::as_str).unwrap_or("");
    entity
        .get("aliases")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter(|a| {
                    a.get("text").and_then(Value::as_str) != Some(name)
                        || a.get("case_sensitive").and_then(Value::as_bool) == Some(true)
                })
                .map(alias_text)
                .collect()
        })
        .unwrap_or_default()
}

fn domains_of(entity: &Value) -> Vec<String> {
    entity
        .get("domains")
        .and_then(Value::as_array)
        .map(|d| {
            d.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

impl EntitiesForm {
    /// The form of a stored entity set (`AliasSnapshot::entities`).
    pub fn from_entities(set: &Value) -> Self {
        let brand = &set["brand"];
        let competitors = set["competitors"]
            .as_array()
            .map(|c| {
                c.iter()
                    .map(|e| {
                        let name = e["name"].as_str().unwrap_or("");
                        let (aliases, domains) = (aliases_of(e), domains_of(e));
                        match (aliases.is_empty(), domains.is_empty()) {
                            (true, true) => name.to_owned(),
                            (false, true) => format!("{name} | {}", aliases.join(", ")),
                            _ => {
                                format!("{name} | {} | {}", aliases.join(", "), domains.join(", "))
                            }
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default();
        Self {
            brand_name: brand["name"].as_str().unwrap_or("").to_owned(),
            brand_aliases: aliases_of(brand).join("\n"),
            brand_domains: domains_of(brand).join("\n"),
            competitors,
        }
    }

    /// The API's request body, and the form line of each competitor (for messages).
    pub fn to_body(&self) -> Result<(Value, Vec<usize>), FieldErrors> {
        let mut errors = FieldErrors::default();
        let mut competitors = Vec::new();
        let mut line_of = Vec::new();
        for (n, line) in lines(&self.competitors) {
            let parts: Vec<&str> = line.split('|').map(str::trim).collect();
            if parts.len() > 3 {
                errors.add(
                    "competitors",
                    format!("line {n}: a competitor is Name | aliases | domains (at most two “|”)"),
                );
                continue;
            }
            let list = |i: usize| -> Vec<&str> {
                parts
                    .get(i)
                    .map(|p| {
                        p.split(',')
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .collect()
                    })
                    .unwrap_or_default()
            };
            competitors.push(json!({
                "name": parts[0],
                "aliases": list(1).into_iter().map(alias_json).collect::<Vec<_>>(),
                "domains": list(2),
            }));
            line_of.push(n);
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let body = json!({
            "brand": {
                "name": self.brand_name.trim(),
                "aliases": lines(&self.brand_aliases).map(|(_, l)| alias_json(l)).collect::<Vec<_>>(),
                "domains": lines(&self.brand_domains).map(|(_, l)| l).collect::<Vec<_>>(),
            },
            "competitors": competitors,
        });
        Ok((body, line_of))
    }
}

/// The form field an API field belongs to, and the message naming it (a competitor's with its
/// line).
pub fn place_error(e: &FieldError, line_of: &[usize]) -> (&'static str, String) {
    let field = e.field.as_str();
    let form_field = if field == "brand" || field.starts_with("brand.name") {
        "brand_name"
    } else if field.starts_with("brand.aliases") {
        "brand_aliases"
    } else if field.starts_with("brand.domains") {
        "brand_domains"
    } else if field.starts_with("competitors") {
        "competitors"
    } else {
        "form"
    };
    let line = field
        .strip_prefix("competitors[")
        .and_then(|rest| rest.split(']').next())
        .and_then(|i| i.parse::<usize>().ok())
        .and_then(|i| line_of.get(i));
    let message = match line {
        Some(n) => format!("line {n}: {field} {}", e.message),
        None => format!("{field} {}", e.message),
    };
    (form_field, message)
}

/// A snapshot in the history.
pub struct SnapshotRow {
    pub id: String,
    pub created: Ts,
    pub current_since: Ts,
    pub brand: String,
    pub competitors: usize,
    pub current: bool,
}

#[derive(askama::Template)]
#[template(path = "entities.html")]
pub struct EntitiesPage {
    pub layout: Layout,
    pub csrf_token: String,
    pub ws_id: String,
    pub ws_name: String,
    pub action: String,
    pub dashboard_href: String,
    pub form: EntitiesForm,
    pub errors: FieldErrors,
    pub notice: Option<&'static str>,
    pub snapshots: Vec<SnapshotRow>,
}

async fn render(
    state: &UiState,
    session: &Session,
    ws: &Workspace,
    status: StatusCode,
    form: Option<EntitiesForm>,
    errors: FieldErrors,
    notice: Option<&'static str>,
) -> Result<Response, UiError> {
    let services = &state.services;
    let current = services
        .current_entities(&session.caller, None, &ws.id)
        .await?;
    let history = services
        .alias_snapshots(&session.caller, None, &ws.id)
        .await?;
    let form = form.unwrap_or_else(|| match &current {
        Some(s) => EntitiesForm::from_entities(&s.entities),
        None => EntitiesForm {
            brand_name: ws.name.clone(),
            ..EntitiesForm::default()
        },
    });
    let current_id = current.map(|s| s.id);
    let layout = Layout::load(state, session, Some(ws), "Entities", "visibility").await?;
    let page = EntitiesPage {
        layout,
        csrf_token: session.csrf_token.clone(),
        action: entities_href(&ws.id),
        dashboard_href: visibility_href(&ws.id),
        form,
        errors,
        notice,
        snapshots: history
            .iter()
            .map(|s| SnapshotRow {
                id: s.id.to_string(),
                created: Ts::new(&s.created_at),
                current_since: Ts::new(&s.current_since),
                brand: s.entities["brand"]["name"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned(),
                competitors: s.entities["competitors"].as_array().map_or(0, Vec::len),
                current: Some(s.id) == current_id,
            })
            .collect(),
        ws_id: ws.id.clone(),
        ws_name: ws.name.clone(),
    };
    Ok((status, Html(page.render()?)).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct EditorQuery {
    /// `created` or `existing`, after a save.
    #[serde(default)]
    pub saved: String,
}

/// `GET /brands/{ws}/entities`.
pub async fn show(
    State(state): State<UiState>,
    session: Session,
    Path(ws): Path<String>,
    query: Result<Query<EditorQuery>, QueryRejection>,
) -> Result<Response, UiError> {
    let Query(query) = query.map_err(|e| UiError::BadRequest(e.body_text()))?;
    let ws = load_brand(&state, &session, &ws).await?;
    let notice = match query.saved.as_str() {
        "created" => Some(
            "Saved as a new snapshot, now current. New answers are analysed with it; re-analyse \
             on the dashboard to count the answers recorded before.",
        ),
        "existing" => Some(
            "These entities were saved before: that snapshot is current again, and its \
             analyses count again.",
        ),
        _ => None,
    };
    let errors = FieldErrors::default();
    render(&state, &session, &ws, StatusCode::OK, None, errors, notice).await
}

/// `POST /brands/{ws}/entities`: a new snapshot (or the existing one with the same content),
/// then the editor again with a notice; a refused form comes back with its messages.
pub async fn save(
    State(state): State<UiState>,
    session: Session,
    Path(ws): Path<String>,
    Form(form): Form<EntitiesForm>,
) -> Result<Response, UiError> {
    let ws = load_brand(&state, &session, &ws).await?;
    session.require_writer()?;
    let refuse = |errors: FieldErrors, form: EntitiesForm| {
        let (state, session, ws) = (state.clone(), session.clone(), ws.clone());
        async move {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            render(&state, &session, &ws, status, Some(form), errors, None).await
        }
    };
    let (body, line_of) = match form.to_body() {
        Ok(b) => b,
        Err(errors) => return refuse(errors, form).await,
    };
    // Every problem at once (the services stop at the first), in the API's words.
    if let Err(all) = parse_entity_set(&body) {
        let mut errors = FieldErrors::default();
        for e in &all {
            let (field, message) = place_error(e, &line_of);
            errors.add(field, message);
        }
        return refuse(errors, form).await;
    }
    match state
        .services
        .put_entities(&session.caller, None, &ws.id, &body)
        .await
    {
        Ok(put) => {
            let saved = if put.created { "created" } else { "existing" };
            let to = format!("{}?saved={saved}", entities_href(&ws.id));
            Ok(Redirect::to(&to).into_response())
        }
        Err(ServiceError::Invalid(e)) => {
            let mut errors = FieldErrors::default();
            let (field, message) = place_error(&e, &line_of);
            errors.add(field, message);
            refuse(errors, form).await
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(competitors: &str) -> EntitiesForm {
        EntitiesForm {
            brand_name: " Acme ".into(),
            brand_aliases: "ACME Corp\n\n=AcMe\n".into(),
            brand_domains: "acme.test\n shop.acme.test ".into(),
            competitors: competitors.into(),
        }
    }

    #[test]
    fn builds_the_api_body() {
        let (body, lines) = form("Globex\n\nInitech | Initech Corp, =INI | initech.test, ini.test")
            .to_body()
            .unwrap();
        assert_eq!(
            body,
            json!({
                "brand": {"name": "Acme",
                    "aliases": ["ACME Corp", {"text": "AcMe", "case_sensitive": true}],
                    "domains": ["acme.test", "shop.acme.test"]},
                "competitors": [
                    {"name": "Globex", "aliases": [], "domains": []},
                    {"name": "Initech",
                     "aliases": ["Initech Corp", {"text": "INI", "case_sensitive": true}],
                     "domains": ["initech.test", "ini.test"]},
                ]
            })
        );
        assert_eq!(lines, vec![1, 3]);
        let set = parse_entity_set(&body).unwrap();
        // The stored set reads back as the same form (the name alias left implicit).
        let back = EntitiesForm::from_entities(&serde_json::to_value(&set).unwrap());
        assert_eq!(back.brand_name, "Acme");
        assert_eq!(back.brand_aliases, "ACME Corp\n=AcMe");
        assert_eq!(back.brand_domains, "acme.test\nshop.acme.test");
        assert_eq!(
            back.competitors,
            "Globex\nInitech | Initech Corp, =INI | initech.test, ini.test"
        );
        let (again, _) = back.to_body().unwrap();
        assert_eq!(
            parse_entity_set(&again).unwrap().content_hash(),
            set.content_hash()
        );
    }

    #[test]
    fn messages_name_the_field_and_the_line() {
        let e = form("a | b | c | d").to_body().unwrap_err();
        assert!(e.get("competitors").unwrap().starts_with("line 1: "));

        let mut f = form("Globex\n\nInitech | | https://initech.test/");
        f.brand_domains = "https://x/".into();
        let (body, lines) = f.to_body().unwrap();
        let all = parse_entity_set(&body).unwrap_err();
        let placed: Vec<(&str, String)> = all.iter().map(|e| place_error(e, &lines)).collect();
        assert_eq!(placed[0].0, "brand_domains");
        assert!(placed[0]
            .1
            .starts_with("brand.domains[0] must be a host name"));
        assert_eq!(placed[1].0, "competitors");
        assert!(
            placed[1]
                .1
                .starts_with("line 3: competitors[1].domains[0] must be a host name"),
            "{placed:?}"
        );
        let blank = FieldError::new("brand.name", "must not be empty");
        assert_eq!(place_error(&blank, &[]).0, "brand_name");
        assert_eq!(place_error(&FieldError::new("colour", "x"), &[]).0, "form");
    }
}
