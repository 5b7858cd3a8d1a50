//! Finding URLs in an answer: they are citations, and the text inside them is not a mention.
//!
//! A brand's name inside `https://www.avea.ch/products` is where the answer *points*, not what it
//! *says*, so URLs are masked before matching and reported as citations instead. Recognised:
//!
//! - `http://…` and `https://…` (any case), and `www.…`, up to white space, `<`, `>`, `"`, `` ` ``,
//!   `|` or a character of a script written without spaces; trailing sentence punctuation and
//!   unbalanced closing brackets are not part of the URL (`(see https://avea.ch).`).
//! - **Bare domains** in prose (`avea.ch`, `shop.avea.ch/de`): a dotted token whose last label is a
//!   known top-level domain (any ISO 3166 country code or a common generic one). The TLD list is
//!   what keeps `Node.js`, `z.B.` or `e.g.` from being taken for domains. A bare domain that is
//!   itself an alias of some entity (`Booking.com`) is left visible to the matcher, since in prose
//!   it is the brand's name; it is still a citation.
//! - **E-mail addresses** (`info@avea.ch`) are masked but are not citations.
//! - The target of a Markdown link `[text](target)` is masked whatever it is (relative paths
//!   included); when it is a URL it is a citation. The link *text* stays visible.

use std::collections::HashSet;

use unicode_normalization::char::is_combining_mark;

use super::normalise::{is_spaced_word_char, is_unspaced_script, normalise_str, Case};
use crate::countries::is_iso_alpha2;

/// Generic top-level domains common enough to appear in answers (country codes come from the ISO
/// list).
const GENERIC_TLDS: &[&str] = &[
    "app", "art", "asia", "bank", "biz", "blog", "cloud", "club", "com", "coop", "dev", "eco",
    "edu", "eu", "gov", "health", "info", "int", "io", "life", "live", "mil", "museum", "net",
    "news", "online", "org", "pro", "shop", "site", "store", "swiss", "tech", "travel", "uk",
    "web", "wiki", "xyz", "рф",
];

/// What [`scan`] found: which characters to hide from the matcher and the URLs, in order.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    pub mask: Vec<bool>,
    pub urls: Vec<String>,
}

/// Finds the URLs, bare domains, e-mail addresses and link targets of `chars`. `alias_domains`
/// holds the folded aliases that look like domains (they stay visible).
pub(crate) fn scan(chars: &[char], alias_domains: &HashSet<String>) -> Scan {
    let n = chars.len();
    let mut scan = Scan {
        mask: Vec::new(),
        urls: Vec::new(),
    };
    let mask_range = |mask: &mut Vec<bool>, a: usize, b: usize| {
        if mask.is_empty() {
            mask.resize(n, false);
        }
        for m in &mut mask[a..b] {
            *m = true;
        }
    };
    let mut i = 0;
    while i < n {
        let c = chars[i];
        let prev = if i > 0 { Some(chars[i - 1]) } else { None };
        if c == '(' && prev == Some(']') {
            if let Some(end) = link_target_end(chars, i + 1) {
                mask_range(&mut scan.mask, i + 1, end);
            }
            i += 1;
            continue;
        }
        if !is_host_char(c) || prev.is_some_and(|p| is_word_part(p) || p == '.' || p == '-') {
            i += 1;
            continue;
        }
        // A token starts here.
        let scheme =
            starts_with_ci(chars, i, "https://").or_else(|| starts_with_ci(chars, i, "http://"));
        if let Some(after) = scheme {
            let end = url_end(chars, i, after);
            if end > after {
                mask_range(&mut scan.mask, i, end);
                scan.urls.push(chars[i..end].iter().collect());
                i = end;
            } else {
                i = after;
            }
            continue;
        }
        let host_end = host_token_end(chars, i);
        if !chars[i..host_end].contains(&'.') {
            // A plain word (the common case): not a URL, skip it.
            i = host_end.max(i + 1);
            continue;
        }
        let host: String = chars[i..host_end].iter().collect();
        let is_www = host.len() > 4
            && host
                .get(..4)
                .is_some_and(|h| h.eq_ignore_ascii_case("www."));
        if is_www || is_bare_domain(&host) {
            if prev == Some('@') {
                // An e-mail address: hide it whole, local part included.
                let mut start = i - 1;
                while start > 0 && is_local_part_char(chars[start - 1]) {
                    start -= 1;
                }
                mask_range(&mut scan.mask, start, host_end);
                i = host_end;
                continue;
            }
            let end = if chars.get(host_end) == Some(&'/') {
                url_end(chars, i, host_end)
            } else {
                host_end
            };
            let is_alias = end == host_end
                && !is_www
                && alias_domains.contains(&normalise_str(&host, Case::Fold));
            if !is_alias {
                mask_range(&mut scan.mask, i, end);
            }
            scan.urls.push(chars[i..end].iter().collect());
            i = end;
            continue;
        }
        // Not a URL: skip the rest of the word.
        i = host_end.max(i + 1);
    }
    scan
}

/// The lower-cased host of a URL (or bare domain) without a leading `www.`, port or user info.
pub fn url_domain(url: &str) -> Option<String> {
    let lower = url.trim().to_lowercase();
    let rest = match lower.find("://") {
        Some(p) => &lower[p + 3..],
        None => lower.trim_start_matches("//"),
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    let host = match host.rfind(':') {
        Some(p) if host[p + 1..].chars().all(|c| c.is_ascii_digit()) && p + 1 < host.len() => {
            &host[..p]
        }
        _ => host,
    };
    let host = host.trim_end_matches('.');
    let host = host.strip_prefix("www.").unwrap_or(host);
    let valid = host
        .chars()
        .all(|c| c.is_alphanumeric() || c == '-' || c == '.');
    if host.is_empty() || !valid {
        None
    } else {
        Some(host.to_owned())
    }
}

fn is_host_char(c: char) -> bool {
    is_spaced_word_char(c)
}

/// A host character or a combining mark (which belongs to the letter before it, so that
/// decomposed `é` is as much a part of a word as composed `é`).
fn is_word_part(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric();
    }
    is_host_char(c) || is_combining_mark(c)
}

fn is_local_part_char(c: char) -> bool {
    is_word_part(c) || matches!(c, '.' | '_' | '%' | '+' | '-')
}

fn is_url_char(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_graphic() && !matches!(c, '<' | '>' | '"' | '`' | '|' | '\\' | '{' | '}')
    } else {
        (c.is_alphanumeric() || is_combining_mark(c)) && !is_unspaced_script(c)
    }
}

/// `Some(index after prefix)` when `chars[at..]` starts with the ASCII `prefix`, ignoring case.
fn starts_with_ci(chars: &[char], at: usize, prefix: &str) -> Option<usize> {
    let mut i = at;
    for p in prefix.chars() {
        if chars.get(i)?.to_ascii_lowercase() != p {
            return None;
        }
        i += 1;
    }
    Some(i)
}

/// End of a URL starting at `start` whose body is scanned from `from`, without trailing
/// punctuation or unbalanced closing brackets.
fn url_end(chars: &[char], start: usize, from: usize) -> usize {
    let mut end = from;
    while end < chars.len() && is_url_char(chars[end]) {
        end += 1;
    }
    let count = |c: char| chars[start..end].iter().filter(|&&x| x == c).count();
    let (mut parens, mut brackets) = (
        count('(') as isize - count(')') as isize,
        count('[') as isize - count(']') as isize,
    );
    while end > from {
        let drop = match chars[end - 1] {
            '.' | ',' | ';' | ':' | '!' | '?' | '\'' | '*' | '_' => true,
            ')' if parens < 0 => {
                parens += 1;
                true
            }
            ']' if brackets < 0 => {
                brackets += 1;
                true
            }
            _ => false,
        };
        if !drop {
            break;
        }
        end -= 1;
    }
    end
}

/// End of a run of host characters, dots and hyphens, without a trailing dot or hyphen.
fn host_token_end(chars: &[char], start: usize) -> usize {
    let mut end = start;
    while end < chars.len() && (is_word_part(chars[end]) || matches!(chars[end], '.' | '-')) {
        end += 1;
    }
    while end > start && matches!(chars[end - 1], '.' | '-') {
        end -= 1;
    }
    end
}

/// Whether `token` looks like a host name with a known top-level domain.
fn is_bare_domain(token: &str) -> bool {
    let labels: Vec<&str> = token.split('.').collect();
    if labels.len() < 2 {
        return false;
    }
    let labels_ok = labels.iter().all(|l| {
        !l.is_empty() && !l.starts_with('-') && !l.ends_with('-') && l.chars().count() <= 63
    });
    let tld = labels[labels.len() - 1].to_lowercase();
    labels_ok && is_known_tld(&tld)
}

fn is_known_tld(tld: &str) -> bool {
    if tld.len() == 2 && tld.chars().all(|c| c.is_ascii_lowercase()) {
        return is_iso_alpha2(&tld.to_ascii_uppercase()) || tld == "uk" || tld == "eu";
    }
    GENERIC_TLDS.contains(&tld)
}

/// Longest Markdown link target looked for; keeps the scan linear on odd input like `](](](…`.
const LINK_TARGET_MAX_CHARS: usize = 2048;

/// `[text](target)`: the end (exclusive) of `target` when it is closed by `)` before any white
/// space.
fn link_target_end(chars: &[char], from: usize) -> Option<usize> {
    let mut depth = 0usize;
    let window = chars.get(from..)?.iter().take(LINK_TARGET_MAX_CHARS);
    for (j, &c) in window.enumerate().map(|(k, c)| (from + k, c)) {
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => return Some(j),
            ')' => depth -= 1,
            c if c.is_whitespace() => return None,
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(text: &str) -> Vec<String> {
        let chars: Vec<char> = text.chars().collect();
        scan(&chars, &HashSet::new()).urls
    }

    fn masked(text: &str) -> String {
        let chars: Vec<char> = text.chars().collect();
        let s = scan(&chars, &HashSet::new());
        chars
            .iter()
            .enumerate()
            .map(|(i, &c)| if s.mask.get(i) == Some(&true) { '#' } else { c })
            .collect()
    }

    #[test]
    fn finds_scheme_www_and_bare_urls() {
        assert_eq!(
            urls("See https://www.avea.ch/products, or www.avea.ch. Or avea.ch!"),
            vec!["https://www.avea.ch/products", "www.avea.ch", "avea.ch"]
        );
        assert_eq!(
            urls("(siehe https://de.wikipedia.org/wiki/Foo_(Bar))."),
            vec!["https://de.wikipedia.org/wiki/Foo_(Bar)"]
        );
        assert_eq!(urls("访问avea.ch了解"), vec!["avea.ch"]);
        assert_eq!(urls("HTTPS://AVEA.CH"), vec!["HTTPS://AVEA.CH"]);
    }

    #[test]
    fn ignores_non_domains() {
        assert!(urls("Node.js, z.B. e.g. i.e. v1.2 3.5 Dr.med. St.Gallen").is_empty());
        assert!(urls("https:// nothing").is_empty());
    }

    #[test]
    fn odd_input_stays_linear() {
        let brackets = "](".repeat(50_000);
        let started = std::time::Instant::now();
        let _ = urls(&brackets);
        let parens = format!("https://a.ch/{}", ")".repeat(50_000));
        assert_eq!(urls(&parens), vec!["https://a.ch/"]);
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn masks_link_targets_and_emails() {
        assert_eq!(masked("[AVEA](/avea)"), "[AVEA](#####)");
        assert_eq!(masked("[AVEA](https://avea.ch)"), "[AVEA](###############)");
        assert_eq!(masked("mail avea@avea.ch now"), "mail ############ now");
        assert_eq!(urls("mail avea@avea.ch now"), Vec::<String>::new());
    }

    #[test]
    fn alias_domains_stay_visible() {
        let chars: Vec<char> = "Booking.com and booking.com/x".chars().collect();
        let aliases: HashSet<String> = ["booking.com".to_owned()].into();
        let s = scan(&chars, &aliases);
        assert_eq!(s.urls, vec!["Booking.com", "booking.com/x"]);
        assert!(!s.mask[0]);
        assert!(s.mask[16]);
    }

    #[test]
    fn domains_of_urls() {
        assert_eq!(
            url_domain("https://www.Avea.ch/x").as_deref(),
            Some("avea.ch")
        );
        assert_eq!(url_domain("www.avea.ch").as_deref(), Some("avea.ch"));
        assert_eq!(
            url_domain("http://u:p@shop.avea.ch:8080/?q").as_deref(),
            Some("shop.avea.ch")
        );
        assert_eq!(url_domain("avea.ch/de#top").as_deref(), Some("avea.ch"));
        assert_eq!(url_domain("https://").as_deref(), None);
    }
}
