//! A template's labels in the UI: its tags shown (each a link to the brand's templates with that
//! tag) and the form that changes its name and tags. Labels are not part of the configuration
//! hash: changing them never creates or breaks a duplicate.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use prompter_service::UpdateLabels;
use serde::Deserialize;

use crate::error::UiError;
use crate::session::Session;
use crate::views::{brand_href, load_brand, load_template, template_href};
use crate::UiState;

/// A tag as shown: its text and the brand's templates with it.
pub struct TagLink {
    pub tag: String,
    pub href: String,
}

/// The links of `tags` in brand `ws`.
pub fn tag_links(ws: &str, tags: &[String]) -> Vec<TagLink> {
    tags.iter()
        .map(|tag| TagLink {
            tag: tag.clone(),
            href: format!(
                "{}?{}",
                brand_href(ws),
                serde_urlencoded::to_string([("tag", tag)]).unwrap_or_default()
            ),
        })
        .collect()
}

/// Tags as typed in the form: separated by commas or white space.
pub fn split_tags(raw: &str) -> Vec<String> {
    raw.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

#[derive(Debug, Default, Deserialize)]
pub struct LabelsForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub tags: String,
}

/// `POST /brands/{ws}/templates/{id}/labels`: the name and the whole list of tags.
pub async fn update(
    State(state): State<UiState>,
    session: Session,
    Path((ws, id)): Path<(String, String)>,
    Form(form): Form<LabelsForm>,
) -> Result<Response, UiError> {
    let ws = load_brand(&state, &session, &ws).await?;
    let t = load_template(&state, &session, &ws, &id).await?;
    session.require_writer()?;
    let request = UpdateLabels {
        name: Some(form.name.trim().to_owned()),
        tags: Some(split_tags(&form.tags)),
    };
    state
        .services
        .update_template_labels(&session.caller, t.id, &request)
        .await?;
    Ok(Redirect::to(&format!("{}#labels", template_href(&ws.id, t.id))).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_split_on_commas_and_spaces_and_link_to_the_filtered_list() {
        assert_eq!(
            split_tags(" funnel:awareness, cat:vit\ncat:x ,,"),
            vec!["funnel:awareness", "cat:vit", "cat:x"]
        );
        assert!(split_tags("  ").is_empty());
        let links = tag_links("acme", &["funnel:awareness".into()]);
        assert_eq!(
            links[0].href,
            "/brands/acme/templates?tag=funnel%3Aawareness"
        );
    }
}
