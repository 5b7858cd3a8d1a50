//! Citations as data (pure): the URLs an answer cites, each with its domain, deduplicated by URL
//! in order of first appearance.

use prompter_domain::mentions::url_domain;

use crate::types::Citation;

/// Gemini's grounding chunks link through this redirector; the chunk's `title` names the source
/// domain instead (providers.md §4).
const GEMINI_REDIRECT_HOST: &str = "vertexaisearch.cloud.google.com";

/// The citations of one answer, in order of first appearance; a URL seen again only fills in a
/// title or cited text the first sighting lacked.
#[derive(Debug, Default)]
pub(crate) struct Citations(Vec<Citation>);

impl Citations {
    pub fn add(&mut self, url: Option<&str>, title: Option<&str>, cited_text: Option<&str>) {
        let Some(url) = url.map(str::trim).filter(|u| !u.is_empty()) else {
            return;
        };
        let title = title.map(str::trim).filter(|t| !t.is_empty());
        let cited_text = cited_text.map(str::trim).filter(|t| !t.is_empty());
        if let Some(known) = self.0.iter_mut().find(|c| c.url == url) {
            if known.title.is_none() {
                known.title = title.map(str::to_owned);
            }
            if known.cited_text.is_none() {
                known.cited_text = cited_text.map(str::to_owned);
            }
            return;
        }
        self.0.push(Citation {
            url: url.to_owned(),
            title: title.map(str::to_owned),
            domain: domain_of(url, title),
            cited_text: cited_text.map(str::to_owned),
        });
    }

    pub fn into_vec(self) -> Vec<Citation> {
        self.0
    }
}

/// The host of `url`, lower case, without a leading `www.` (the analysis's rule,
/// [`prompter_domain::mentions::url_domain`], so a provider's citation and a URL found in the
/// text get the same domain). A Gemini redirect link takes the domain its title names. `""` when
/// `url` has no host at all.
pub fn domain_of(url: &str, title: Option<&str>) -> String {
    let host = url_domain(url).unwrap_or_default();
    if host == GEMINI_REDIRECT_HOST {
        if let Some(t) = title.map(|t| t.trim().to_lowercase()) {
            if looks_like_host(&t) {
                return url_domain(&t).unwrap_or(t);
            }
        }
    }
    host
}

fn looks_like_host(s: &str) -> bool {
    let labels: Vec<&str> = s.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains() {
        assert_eq!(
            domain_of("https://www.Example.com/a?b#c", None),
            "example.com"
        );
        assert_eq!(
            domain_of("http://shop.avea.ch:8080/x", None),
            "shop.avea.ch"
        );
        assert_eq!(domain_of("avea.ch/produkte", None), "avea.ch");
        assert_eq!(domain_of("not a url", None), "");
        assert_eq!(
            domain_of(
                "https://vertexaisearch.cloud.google.com/grounding-api-redirect/AbC",
                Some("ruby-lang.org")
            ),
            "ruby-lang.org"
        );
        // A redirect whose title is not a host keeps the redirector's host: nothing better.
        assert_eq!(
            domain_of(
                "https://vertexaisearch.cloud.google.com/grounding-api-redirect/AbC",
                Some("Ruby Releases")
            ),
            "vertexaisearch.cloud.google.com"
        );
    }

    #[test]
    fn dedupe_keeps_first_position_and_fills_gaps() {
        let mut c = Citations::default();
        c.add(Some("https://a.example/1"), None, None);
        c.add(Some("https://b.example/2"), Some("B"), None);
        c.add(Some("https://a.example/1"), Some("A"), Some("quoted"));
        c.add(Some("  "), Some("blank"), None);
        c.add(None, Some("none"), None);
        let v = c.into_vec();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].url, "https://a.example/1");
        assert_eq!(v[0].title.as_deref(), Some("A"));
        assert_eq!(v[0].cited_text.as_deref(), Some("quoted"));
        assert_eq!(v[1].domain, "b.example");
    }
}
