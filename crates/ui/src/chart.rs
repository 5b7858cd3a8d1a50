//! Results per day by version key, as an inline SVG of stacked bars.
//!
//! Server-rendered, no script: each segment has a `<title>` (a tooltip and what screen readers
//! read), the chart has a `<title>` and a `<desc>` summing it up, and the day a new version key
//! first answered is marked with a dashed line, so a model change is visible at a glance. Colors
//! are SVG presentation attributes (the page's CSP allows no inline styles).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, Duration, NaiveDate, Utc};

/// At most this many days are drawn: the most recent ones that have results.
pub const MAX_DAYS: i64 = 60;
/// At least this many days are drawn (ending with the last day that has results), so that a
/// young template still reads as a time line.
pub const MIN_DAYS: i64 = 14;

/// The drawing's size in SVG units, and how many date labels fit. Text is 11 units high, so a
/// narrower drawing shows text larger on a small screen.
#[derive(Debug, Clone, Copy)]
pub struct Geometry {
    pub width: f64,
    pub height: f64,
    pub max_labels: usize,
    /// Prefix of the element ids (`{id}-title`, `{id}-desc`), unique in the page.
    pub id: &'static str,
}

/// For wide screens.
pub const WIDE: Geometry = Geometry {
    width: 720.0,
    height: 240.0,
    max_labels: 8,
    id: "chart",
};
/// For phones: the same data, drawn for a narrow box.
pub const COMPACT: Geometry = Geometry {
    width: 360.0,
    height: 220.0,
    max_labels: 4,
    id: "chart-compact",
};

/// Series colors, assigned in order of first appearance.
pub const PALETTE: [&str; 8] = [
    "#4f6bed", "#f28e2b", "#2fa37a", "#b07aa1", "#e15759", "#3fb4c6", "#c9a227", "#9c755f",
];
/// Failed runs (no version key).
pub const FAILED_COLOR: &str = "#a3a9b6";
pub const FAILED_KEY: &str = "failed (no version)";

/// One result, as the chart sees it.
#[derive(Debug, Clone)]
pub struct Point {
    pub at: DateTime<Utc>,
    /// `None` for a failed run.
    pub version_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegendItem {
    pub label: String,
    pub color: &'static str,
    pub count: usize,
}

#[derive(Debug, Clone)]
pub struct Chart {
    pub svg: String,
    /// The same chart drawn for a narrow screen.
    pub svg_compact: String,
    pub legend: Vec<LegendItem>,
    pub total: usize,
    /// The days drawn, first and last (UTC).
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Results older than the drawn window.
    pub older_not_shown: usize,
}

/// Colors for version keys: `keys` in the order their colors are handed out (oldest first).
#[derive(Debug, Clone, Default)]
pub struct Colors(Vec<(String, &'static str)>);

impl Colors {
    pub fn new<'a>(keys: impl IntoIterator<Item = &'a str>) -> Self {
        let mut c = Colors(Vec::new());
        for k in keys {
            c.assign(k);
        }
        c
    }

    fn assign(&mut self, key: &str) -> &'static str {
        if let Some(color) = self.get(key) {
            return color;
        }
        let color = if key == FAILED_KEY {
            FAILED_COLOR
        } else {
            let n = self.0.iter().filter(|(k, _)| k != FAILED_KEY).count();
            PALETTE[n % PALETTE.len()]
        };
        self.0.push((key.to_owned(), color));
        color
    }

    pub fn get(&self, key: &str) -> Option<&'static str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, c)| *c)
    }
}

pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A round axis maximum and step for `max` (≥ 1): steps of 1, 2 or 5 × 10ⁿ, at most 5 ticks.
fn nice_axis(max: usize) -> (usize, usize) {
    let max = max.max(1);
    let mut magnitude = 1;
    loop {
        for m in [1, 2, 5] {
            let step = m * magnitude;
            if max.div_ceil(step) <= 4 {
                return (max.div_ceil(step) * step, step);
            }
        }
        magnitude *= 10;
    }
}

/// The chart of `points`; `None` without results. `colors` fixes the colors of known keys (the
/// timeline uses the same ones); new keys get the next colors.
pub fn render(points: &[Point], colors: &mut Colors) -> Option<Chart> {
    let last = points.iter().map(|p| p.at.date_naive()).max()?;
    let first_any = points.iter().map(|p| p.at.date_naive()).min()?;
    let from = first_any
        .max(last - Duration::days(MAX_DAYS - 1))
        .min(last - Duration::days(MIN_DAYS - 1));
    let days = (last - from).num_days() as usize + 1;

    // Keys in chronological order of first appearance, and counts per (day, key).
    let mut sorted: Vec<&Point> = points.iter().collect();
    sorted.sort_by_key(|p| p.at);
    let key_of = |p: &Point| {
        p.version_key
            .clone()
            .unwrap_or_else(|| FAILED_KEY.to_owned())
    };
    let mut order: Vec<String> = Vec::new();
    let mut first_day: BTreeMap<String, NaiveDate> = BTreeMap::new();
    let mut counts: BTreeMap<(NaiveDate, String), usize> = BTreeMap::new();
    let mut older = 0;
    for p in &sorted {
        let key = key_of(p);
        if !order.contains(&key) {
            order.push(key.clone());
            first_day.insert(key.clone(), p.at.date_naive());
        }
        let day = p.at.date_naive();
        if day < from {
            older += 1;
            continue;
        }
        *counts.entry((day, key)).or_default() += 1;
    }
    for k in &order {
        colors.assign(k);
    }

    let per_day: Vec<usize> = (0..days)
        .map(|i| {
            let d = from + Duration::days(i as i64);
            counts
                .iter()
                .filter(|((day, _), _)| *day == d)
                .map(|(_, n)| n)
                .sum()
        })
        .collect();

    let total: usize = counts.values().sum();
    let mut legend: Vec<LegendItem> = order
        .iter()
        .map(|k| LegendItem {
            label: k.clone(),
            color: colors.get(k).unwrap_or(FAILED_COLOR),
            count: counts
                .iter()
                .filter(|((_, key), _)| key == k)
                .map(|(_, n)| n)
                .sum(),
        })
        .filter(|l| l.count > 0)
        .collect();
    legend.sort_by_key(|l| l.label == FAILED_KEY);

    let versions: Vec<&String> = order.iter().filter(|k| *k != FAILED_KEY).collect();
    let desc = format!(
        "{total} result{s} from {from} to {last} (UTC days), {n} version key{vs}: {list}.{drift}",
        s = if total == 1 { "" } else { "s" },
        n = versions.len(),
        vs = if versions.len() == 1 { "" } else { "s" },
        list = legend
            .iter()
            .map(|l| format!("{} ({})", l.label, l.count))
            .collect::<Vec<_>>()
            .join(", "),
        drift = if versions.len() > 1 {
            " The version key changed over time (drift)."
        } else {
            ""
        },
    );
    let drifts: Vec<(&str, NaiveDate)> = versions
        .iter()
        .skip(1)
        .filter_map(|k| {
            first_day
                .get(*k)
                .filter(|d| **d >= from)
                .map(|d| (k.as_str(), *d))
        })
        .collect();
    let data = Data {
        from,
        per_day: &per_day,
        counts: &counts,
        legend: &legend,
        drifts: &drifts,
        desc: &desc,
    };
    Some(Chart {
        svg: draw(&data, WIDE),
        svg_compact: draw(&data, COMPACT),
        legend,
        total,
        from,
        to: last,
        older_not_shown: older,
    })
}

/// What [`draw`] draws.
struct Data<'a> {
    from: NaiveDate,
    per_day: &'a [usize],
    counts: &'a BTreeMap<(NaiveDate, String), usize>,
    legend: &'a [LegendItem],
    /// `(key, day)`: the day a later version key first answered.
    drifts: &'a [(&'a str, NaiveDate)],
    desc: &'a str,
}

fn draw(d: &Data<'_>, g: Geometry) -> String {
    let (from, per_day, counts, legend) = (d.from, d.per_day, d.counts, d.legend);
    let days = per_day.len();
    let (y_max, y_step) = nice_axis(per_day.iter().copied().max().unwrap_or(1));
    let (w, h) = (g.width, g.height);
    let (left, right, top, bottom) = (32.0, 8.0, 16.0, 30.0);
    let plot_w = w - left - right;
    let plot_h = h - top - bottom;
    let band = plot_w / days as f64;
    let bar = (band * 0.72).min(44.0);
    let y = |v: usize| top + plot_h - plot_h * v as f64 / y_max as f64;

    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart-svg" viewBox="0 0 {w} {h}" role="img" aria-labelledby="{id}-title {id}-desc" preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg"><title id="{id}-title">Results per day by version key</title><desc id="{id}-desc">{desc}</desc>"#,
        id = g.id,
        desc = escape(d.desc)
    );
    // Grid and y axis.
    let mut v = 0;
    while v <= y_max {
        let yy = y(v);
        let _ = write!(
            svg,
            r#"<line class="grid" x1="{left}" x2="{x2}" y1="{yy:.1}" y2="{yy:.1}" stroke="currentColor" stroke-opacity="{op}" stroke-width="1"/><text class="axis" x="{tx}" y="{ty:.1}" text-anchor="end" font-size="11" fill="currentColor">{v}</text>"#,
            x2 = w - right,
            op = if v == 0 { 0.35 } else { 0.12 },
            tx = left - 6.0,
            ty = yy + 4.0,
        );
        v += y_step;
    }
    // Bars, stacked in legend order (oldest version at the bottom).
    for (i, day_total) in per_day.iter().enumerate() {
        let day = from + Duration::days(i as i64);
        let x = left + band * i as f64 + (band - bar) / 2.0;
        let mut acc = 0;
        for item in legend {
            let n = counts.get(&(day, item.label.clone())).copied().unwrap_or(0);
            if n == 0 {
                continue;
            }
            let (y0, y1) = (y(acc), y(acc + n));
            let _ = write!(
                svg,
                r#"<rect class="bar" x="{x:.1}" y="{y1:.1}" width="{bar:.1}" height="{hh:.1}" fill="{color}" rx="2"><title>{day}: {n} result{s} with {label}</title></rect>"#,
                hh = (y0 - y1 - 0.5).max(0.5),
                color = item.color,
                s = if n == 1 { "" } else { "s" },
                label = escape(&item.label),
            );
            acc += n;
        }
        debug_assert_eq!(acc, *day_total);
    }
    // Drift: the day each later version key first answered.
    for (k, day) in d.drifts {
        let i = (*day - from).num_days() as f64;
        let x = left + band * i + (band - bar) / 2.0 - 3.0;
        let _ = write!(
            svg,
            r##"<g class="drift"><line x1="{x:.1}" x2="{x:.1}" y1="{top}" y2="{yb:.1}" stroke="#d64545" stroke-width="1.5" stroke-dasharray="4 3"/><path d="M{x0:.1} {top} l4 -7 l-8 0 z" fill="#d64545"/><title>Drift: {key} first answered on {day}</title></g>"##,
            yb = top + plot_h,
            x0 = x,
            key = escape(k),
        );
    }
    // Date labels: evenly spaced, ending with the last day.
    let every = days.div_ceil(g.max_labels).max(1);
    for i in (0..days).filter(|i| (days - 1 - i) % every == 0) {
        let day = from + Duration::days(i as i64);
        let _ = write!(
            svg,
            r#"<text class="axis" x="{x:.1}" y="{yy}" text-anchor="middle" font-size="11" fill="currentColor">{label}</text>"#,
            x = left + band * i as f64 + band / 2.0,
            yy = h - 10.0,
            label = day.format("%b %d"),
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        format!("2025-03-{day:02}T{hour:02}:00:00Z")
            .parse()
            .unwrap()
    }

    fn p(day: u32, key: Option<&str>) -> Point {
        Point {
            at: at(day, 10),
            version_key: key.map(str::to_owned),
        }
    }

    #[test]
    fn nothing_to_draw_without_results() {
        assert!(render(&[], &mut Colors::default()).is_none());
    }

    #[test]
    fn stacks_per_day_and_marks_drift() {
        let points = vec![
            p(1, Some("fp_a")),
            p(1, Some("fp_a")),
            p(3, Some("fp_b")),
            p(3, None),
            p(3, Some("fp_a")),
        ];
        let chart = render(&points, &mut Colors::default()).unwrap();
        assert_eq!(chart.total, 5);
        // At least two weeks are drawn, ending with the last day.
        assert_eq!(
            (chart.from.to_string(), chart.to.to_string()),
            ("2025-02-18".into(), "2025-03-03".into())
        );
        assert_eq!(
            chart.legend,
            vec![
                LegendItem {
                    label: "fp_a".into(),
                    color: PALETTE[0],
                    count: 3
                },
                LegendItem {
                    label: "fp_b".into(),
                    color: PALETTE[1],
                    count: 1
                },
                LegendItem {
                    label: FAILED_KEY.into(),
                    color: FAILED_COLOR,
                    count: 1
                },
            ]
        );
        for svg in [&chart.svg, &chart.svg_compact] {
            assert_eq!(svg.matches("<rect").count(), 4);
            assert!(svg.contains("Drift: fp_b first answered on 2025-03-03"));
            assert!(svg.contains("2025-03-01: 2 results with fp_a"));
            assert!(svg.contains("(drift)"));
            assert!(svg.contains(">Mar 03</text>"), "the last day is labelled");
        }
        assert!(chart.svg.contains(r#"<title id="chart-title">"#));
        assert!(chart
            .svg_compact
            .contains(r#"<title id="chart-compact-title">"#));
    }

    #[test]
    fn keeps_the_given_colors_and_escapes_keys() {
        let mut colors = Colors::new(["fp_old", "<x>"]);
        let chart = render(&[p(2, Some("<x>"))], &mut colors).unwrap();
        assert_eq!(chart.legend[0].color, PALETTE[1]);
        assert!(chart.svg.contains("&lt;x&gt;") && !chart.svg.contains("<x>"));
    }

    #[test]
    fn draws_only_the_last_days() {
        let mut points = vec![Point {
            at: at(1, 1) - Duration::days(100),
            version_key: Some("old".into()),
        }];
        points.push(p(5, Some("new")));
        let chart = render(&points, &mut Colors::default()).unwrap();
        assert_eq!(chart.older_not_shown, 1);
        assert_eq!((chart.to - chart.from).num_days(), MAX_DAYS - 1);
        assert_eq!(chart.total, 1);
    }

    #[test]
    fn axis_is_round() {
        assert_eq!(nice_axis(1), (1, 1));
        assert_eq!(nice_axis(3), (3, 1));
        assert_eq!(nice_axis(7), (8, 2));
        assert_eq!(nice_axis(13), (15, 5));
        assert_eq!(nice_axis(101), (150, 50));
    }
}
