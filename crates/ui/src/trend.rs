//! Mention rate per day of each entity, as an inline SVG line chart with drift markers.
//!
//! Like [`crate::chart`]: server-rendered, no script, colors as SVG presentation attributes (the
//! CSP allows no inline styles), a `<title>` on every point (a tooltip and what screen readers
//! read), and the chart's own `<title>` and `<desc>`. Days without answers break a line instead
//! of being drawn as 0 %. A dashed red line marks each day a template's model first answered
//! with a new version key (drift).

use std::fmt::Write as _;

use chrono::{Duration, NaiveDate};

use crate::chart::{escape, Geometry, COMPACT, MIN_DAYS, WIDE};

/// For wide screens.
pub const TREND_WIDE: Geometry = Geometry {
    id: "trend",
    ..WIDE
};
/// For phones.
pub const TREND_COMPACT: Geometry = Geometry {
    id: "trend-compact",
    ..COMPACT
};

/// One day of one entity.
#[derive(Debug, Clone, PartialEq)]
pub struct DayPoint {
    pub day: NaiveDate,
    /// 0..=1.
    pub rate: f64,
    /// What the point's tooltip says after the day and the name (`42 % (35–49), n = 180`).
    pub text: String,
}

/// One entity's line.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub is_brand: bool,
    pub color: &'static str,
    /// Any order; days without answers are left out.
    pub points: Vec<DayPoint>,
}

/// A day a new version key first answered.
#[derive(Debug, Clone, PartialEq)]
pub struct DriftMark {
    pub day: NaiveDate,
    /// `gpt-4o: fp_b` (one per new key that day).
    pub label: String,
}

#[derive(Debug, Clone)]
pub struct Trend {
    pub svg: String,
    pub svg_compact: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Days marked as drift within the drawn range.
    pub drift_days: usize,
}

/// The chart; `None` when no series has a point.
pub fn render(series: &[Series], drifts: &[DriftMark]) -> Option<Trend> {
    let days = series.iter().flat_map(|s| s.points.iter().map(|p| p.day));
    let last = days.clone().max()?;
    let first = days.min()?;
    let from = first.min(last - Duration::days(MIN_DAYS - 1));
    // One marker per day, its tooltip naming every new key of the day.
    let mut marks: Vec<(NaiveDate, Vec<&str>)> = Vec::new();
    for d in drifts.iter().filter(|d| d.day >= from && d.day <= last) {
        match marks.iter_mut().find(|(day, _)| *day == d.day) {
            Some((_, labels)) => labels.push(&d.label),
            None => marks.push((d.day, vec![&d.label])),
        }
    }
    marks.sort_by_key(|(day, _)| *day);
    let names: Vec<&str> = series.iter().map(|s| s.name.as_str()).collect();
    let desc = format!(
        "Share of answers mentioning {} per UTC day, from {from} to {last}.{}",
        names.join(", "),
        match marks.len() {
            0 => String::new(),
            1 => " One day with a new model version (drift) is marked.".to_owned(),
            n => format!(" {n} days with a new model version (drift) are marked."),
        }
    );
    let data = Data {
        from,
        days: (last - from).num_days() as usize + 1,
        series,
        marks: &marks,
        desc: &desc,
    };
    Some(Trend {
        svg: draw(&data, TREND_WIDE),
        svg_compact: draw(&data, TREND_COMPACT),
        from,
        to: last,
        drift_days: marks.len(),
    })
}

struct Data<'a> {
    from: NaiveDate,
    days: usize,
    series: &'a [Series],
    marks: &'a [(NaiveDate, Vec<&'a str>)],
    desc: &'a str,
}

fn draw(d: &Data<'_>, g: Geometry) -> String {
    let (w, h) = (g.width, g.height);
    let (left, right, top, bottom) = (40.0, 8.0, 16.0, 30.0);
    let plot_w = w - left - right;
    let plot_h = h - top - bottom;
    let band = plot_w / d.days as f64;
    let x = |day: NaiveDate| left + band * (day - d.from).num_days() as f64 + band / 2.0;
    let y = |rate: f64| top + plot_h - plot_h * rate.clamp(0.0, 1.0);

    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart-svg trend-svg" viewBox="0 0 {w} {h}" role="img" aria-labelledby="{id}-title {id}-desc" preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg"><title id="{id}-title">Mention rate per day</title><desc id="{id}-desc">{desc}</desc>"#,
        id = g.id,
        desc = escape(d.desc)
    );
    for pct in [0, 25, 50, 75, 100] {
        let yy = y(f64::from(pct) / 100.0);
        let _ = write!(
            svg,
            r#"<line class="grid" x1="{left}" x2="{x2}" y1="{yy:.1}" y2="{yy:.1}" stroke="currentColor" stroke-opacity="{op}" stroke-width="1"/><text class="axis" x="{tx}" y="{ty:.1}" text-anchor="end" font-size="11" fill="currentColor">{pct} %</text>"#,
            x2 = w - right,
            op = if pct == 0 { 0.35 } else { 0.12 },
            tx = left - 6.0,
            ty = yy + 4.0,
        );
    }
    for (day, labels) in d.marks {
        let xx = x(*day);
        let _ = write!(
            svg,
            r##"<g class="drift"><line x1="{xx:.1}" x2="{xx:.1}" y1="{top}" y2="{yb:.1}" stroke="#d64545" stroke-width="1.5" stroke-dasharray="4 3"/><path d="M{xx:.1} {top} l4 -7 l-8 0 z" fill="#d64545"/><title>Drift on {day}: new version {keys}</title></g>"##,
            yb = top + plot_h,
            keys = escape(&labels.join(", ")),
        );
    }
    // Competitors first, so the brand's line is drawn on top.
    let mut order: Vec<&Series> = d.series.iter().collect();
    order.sort_by_key(|s| s.is_brand);
    for s in order {
        let mut points: Vec<&DayPoint> = s.points.iter().collect();
        points.sort_by_key(|p| p.day);
        let width = if s.is_brand { 3.0 } else { 1.8 };
        // One polyline per run of consecutive days.
        let mut run: Vec<String> = Vec::new();
        let mut previous: Option<NaiveDate> = None;
        let flush = |run: &mut Vec<String>, svg: &mut String| {
            if run.len() > 1 {
                let _ = write!(
                    svg,
                    r#"<polyline class="line" points="{}" fill="none" stroke="{}" stroke-width="{width}" stroke-linejoin="round" stroke-linecap="round"/>"#,
                    run.join(" "),
                    s.color
                );
            }
            run.clear();
        };
        for p in &points {
            if previous.is_some_and(|prev| p.day - prev != Duration::days(1)) {
                flush(&mut run, &mut svg);
            }
            run.push(format!("{:.1},{:.1}", x(p.day), y(p.rate)));
            previous = Some(p.day);
        }
        flush(&mut run, &mut svg);
        for p in &points {
            let _ = write!(
                svg,
                r#"<circle class="point" cx="{cx:.1}" cy="{cy:.1}" r="{r}" fill="{color}"><title>{day}: {name} {text}</title></circle>"#,
                cx = x(p.day),
                cy = y(p.rate),
                r = if s.is_brand { 3.5 } else { 2.5 },
                color = s.color,
                day = p.day,
                name = escape(&s.name),
                text = escape(&p.text),
            );
        }
    }
    let every = d.days.div_ceil(g.max_labels).max(1);
    for i in (0..d.days).filter(|i| (d.days - 1 - i).is_multiple_of(every)) {
        let day = d.from + Duration::days(i as i64);
        let _ = write!(
            svg,
            r#"<text class="axis" x="{xx:.1}" y="{yy}" text-anchor="middle" font-size="11" fill="currentColor">{label}</text>"#,
            xx = x(day),
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

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
    }

    fn point(d: u32, rate: f64) -> DayPoint {
        DayPoint {
            day: day(d),
            rate,
            text: format!("{} %", (rate * 100.0).round()),
        }
    }

    #[test]
    fn nothing_to_draw_without_points() {
        assert!(render(&[], &[]).is_none());
        let empty = Series {
            name: "Acme".into(),
            is_brand: true,
            color: "#000",
            points: vec![],
        };
        assert!(render(&[empty], &[]).is_none());
    }

    #[test]
    fn lines_break_on_missing_days_and_drift_is_marked() {
        let series = vec![
            Series {
                name: "Acme <Co>".into(),
                is_brand: true,
                color: "#111111",
                points: vec![
                    point(20, 0.5),
                    point(18, 0.25),
                    point(19, 1.0),
                    point(21, 0.0),
                ],
            },
            Series {
                name: "Globex".into(),
                is_brand: false,
                color: "#222222",
                points: vec![point(18, 0.1), point(21, 0.2)],
            },
        ];
        let drifts = vec![
            DriftMark {
                day: day(20),
                label: "gpt-4o: fp_b".into(),
            },
            DriftMark {
                day: day(20),
                label: "gpt-4o-mini: fp_c".into(),
            },
            // Outside the drawn days: not marked.
            DriftMark {
                day: day(25),
                label: "x".into(),
            },
        ];
        let t = render(&series, &drifts).unwrap();
        assert_eq!((t.to, t.drift_days), (day(21), 1));
        assert_eq!((t.to - t.from).num_days(), MIN_DAYS - 1);
        for svg in [&t.svg, &t.svg_compact] {
            // Acme: one line over four days; Globex: two lone points, no line.
            assert_eq!(svg.matches("<polyline").count(), 1);
            assert_eq!(svg.matches("<circle").count(), 6);
            assert_eq!(svg.matches(r#"<g class="drift">"#).count(), 1);
            assert!(
                svg.contains("Drift on 2026-03-20: new version gpt-4o: fp_b, gpt-4o-mini: fp_c")
            );
            assert!(svg.contains("2026-03-19: Acme &lt;Co&gt; 100 %"));
            assert!(!svg.contains("<Co>"));
            assert!(svg.contains(">100 %</text>"));
        }
        assert!(t
            .svg
            .contains(r#"<title id="trend-title">Mention rate per day</title>"#));
        assert!(t.svg_compact.contains(r#"id="trend-compact-desc""#));
    }
}
