//! Reading `/metrics` in tests: the Prometheus text exposition as a map.

use std::collections::HashMap;

/// `name{labels}` → value, for every sample of a Prometheus text exposition; labels sorted, so
/// keys are stable whatever order the exporter wrote them in.
pub fn parse_exposition(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').expect("a sample line has a value");
            let (name, labels) = match series.split_once('{') {
                Some((n, rest)) => {
                    let mut parts: Vec<&str> = rest.trim_end_matches('}').split(',').collect();
                    parts.sort();
                    (n, parts.join(","))
                }
                None => (series, String::new()),
            };
            let value = value.parse().expect("a sample value is a number");
            (format!("{name}{{{labels}}}"), value)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_sorted_and_comments_skipped() {
        let m = parse_exposition("# HELP x\nx{b=\"2\",a=\"1\"} 3\ny 4.5\n");
        assert_eq!(m["x{a=\"1\",b=\"2\"}"], 3.0);
        assert_eq!(m["y{}"], 4.5);
        assert_eq!(m.len(), 2);
    }
}
