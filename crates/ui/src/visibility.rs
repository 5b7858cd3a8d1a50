//! A brand's visibility dashboard: how often answers mention the brand and each competitor, per
//! model × country with 95 % (Wilson) intervals, the mention rate per day with drift markers,
//! share of voice, and re-analysis of stored answers (after the entities changed).
//!
//! Numbers come from `Services::visibility` (the API's `GET /api/workspaces/{id}/visibility`), of
//! the workspace's current alias snapshot. Unlike the API, the dashboard **includes answers of the
//! built-in fake provider by default**: a local setup (`PROMPTER_LLM_MODE=fake`) has no others,
//! and an empty dashboard would only confuse. `?fake=0` leaves them out (the API's default), and
//! the page says which it shows.
//!
//! A re-analysis is queued with a POST ([`crate::reanalysis`]); the page then shows the job's
//! progress and reloads itself every [`REFRESH_S`] seconds until it is finished (a meta refresh,
//! as the batch pages do: no script, and the API's JSON takes bearer tokens only).

use std::collections::HashSet;

use askama::Template as _;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Response};
use chrono::{Duration, NaiveDate, Utc};
use prompter_domain::entities::EntitySet;
use prompter_domain::visibility::EntityNumbers;
use prompter_service::records::DriftEvent;
use prompter_service::{Visibility, VisibilityParams};
use serde::Deserialize;

use crate::batches::REFRESH_S;
use crate::chart::PALETTE;
use crate::error::UiError;
use crate::reanalysis::{load_job, JobView};
use crate::session::Session;
use crate::trend::{self, DayPoint, DriftMark, Series, Trend};
use crate::views::{load_brand, Layout};
use crate::UiState;

/// Days of the trend chart, ending today (UTC).
pub const TREND_DAYS: i64 = 90;
/// Lines in the trend chart: the brand and the most-mentioned competitors.
pub const TREND_LINES: usize = PALETTE.len();

pub fn visibility_href(ws: &str) -> String {
    format!("/brands/{ws}/visibility")
}

pub fn entities_href(ws: &str) -> String {
    format!("/brands/{ws}/entities")
}

/// A whole percentage (half away from zero).
pub fn pct(x: f64) -> i64 {
    (x * 100.0).round() as i64
}

/// `42 % (35–49), n = 180`: the mention rate, its 95 % interval, and the answers it is out of.
pub fn rate_text(n: &EntityNumbers) -> String {
    match (n.mention_rate, n.wilson_low, n.wilson_high) {
        (Some(r), Some(lo), Some(hi)) => format!(
            "{} % ({}–{}), n = {}",
            pct(r),
            pct(lo),
            pct(hi),
            n.n_answers
        ),
        (Some(r), _, _) => format!("{} %, n = {}", pct(r), n.n_answers),
        _ => "—".to_owned(),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct DashboardQuery {
    /// `0`: leave out answers of the fake provider.
    #[serde(default)]
    pub fake: String,
    /// A re-analysis job to show the progress of.
    #[serde(default)]
    pub job: String,
}

/// One entity's rates in one model's table, a cell per country.
pub struct GridRow {
    pub name: String,
    pub is_brand: bool,
    pub cells: Vec<String>,
}

/// The rates of one model, per country.
pub struct ModelTable {
    pub model: String,
    /// `(key, label)`: the key as grouped (`""`: runs without a country), the label shown.
    pub countries: Vec<(String, String)>,
    pub rows: Vec<GridRow>,
}

pub struct VoiceRow {
    pub name: String,
    pub is_brand: bool,
    pub color: Option<&'static str>,
    pub share: String,
    /// 0..=100, for the meter.
    pub share_pct: i64,
    pub rate: String,
    pub avg_rank: String,
    pub cited: String,
}

/// A domain the answers cite, with how many answers cite it.
pub struct DomainRow {
    pub domain: String,
    pub n_cited: u64,
    /// `12 %` of the answers.
    pub share: String,
    /// 0..=100, for the meter.
    pub share_pct: i64,
}

pub struct LegendItem {
    pub name: String,
    pub color: &'static str,
    pub is_brand: bool,
}

#[derive(askama::Template)]
#[template(path = "visibility.html")]
pub struct VisibilityPage {
    pub layout: Layout,
    pub csrf_token: String,
    pub ws_id: String,
    pub ws_name: String,
    pub entities_href: String,
    pub reanalyze_href: String,
    /// Whether the workspace has entities (else the page is an empty state).
    pub has_entities: bool,
    pub brand_name: String,
    pub competitors: usize,
    pub snapshot_id: String,
    pub include_fake: bool,
    /// The same page with fake answers toggled.
    pub fake_toggle_href: String,
    /// `"0"` when fake answers are left out: carried through the re-analyse form.
    pub fake_param: &'static str,
    pub total_answers: u64,
    pub tables: Vec<ModelTable>,
    pub voices: Vec<VoiceRow>,
    /// The domains the answers cite most (over every model, country and day).
    pub domains: Vec<DomainRow>,
    pub trend: Option<Trend>,
    pub legend: Vec<LegendItem>,
    /// Competitors left out of the trend chart.
    pub not_drawn: usize,
    pub trend_days: i64,
    pub job: Option<JobView>,
    pub refresh: Option<String>,
    pub refresh_s: u32,
}

/// The model × country tables.
fn model_tables(grid: &Visibility, set: &EntitySet) -> Vec<ModelTable> {
    let key = |row: &prompter_service::VisibilityRow, name: &str| {
        row.keys
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let mut tables: Vec<ModelTable> = Vec::new();
    for row in &grid.rows {
        let (model, country) = (key(row, "model"), key(row, "country"));
        let index = match tables.iter().position(|t| t.model == model) {
            Some(i) => i,
            None => {
                tables.push(ModelTable {
                    model: model.clone(),
                    countries: Vec::new(),
                    rows: set
                        .entities()
                        .map(|(e, is_brand)| GridRow {
                            name: e.name.clone(),
                            is_brand,
                            cells: Vec::new(),
                        })
                        .collect(),
                });
                tables.len() - 1
            }
        };
        let table = &mut tables[index];
        let label = if country.is_empty() {
            "no country".to_owned()
        } else {
            country.clone()
        };
        table.countries.push((country, label));
        for r in &mut table.rows {
            let text = row
                .entities
                .iter()
                .find(|n| n.name == r.name)
                .map_or_else(|| "—".to_owned(), rate_text);
            r.cells.push(text);
        }
    }
    tables
}

/// Version keys that replaced an earlier one of the same template and model. A template's
/// first version is not a drift: `events` is every first sighting, oldest first.
fn drift_marks(events: &[DriftEvent]) -> Vec<DriftMark> {
    let mut seen: HashSet<(uuid::Uuid, &str)> = HashSet::new();
    events
        .iter()
        .filter(|e| !seen.insert((e.template_id, e.model_id.as_str())))
        .map(|e| DriftMark {
            day: e.first_seen_at.date_naive(),
            label: format!("{}: {}", e.model_id, e.provider_version_key),
        })
        .collect()
}

/// The trend's lines: the brand and the most-mentioned competitors (overall), colored in order.
fn trend_series(daily: &Visibility, drawn: &[(String, bool, &'static str)]) -> Vec<Series> {
    drawn
        .iter()
        .map(|(name, is_brand, color)| Series {
            name: name.clone(),
            is_brand: *is_brand,
            color,
            points: daily
                .rows
                .iter()
                .filter_map(|row| {
                    let day = row.keys.first()?.1.as_str();
                    let day = NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?;
                    let n = row.entities.iter().find(|n| &n.name == name)?;
                    Some(DayPoint {
                        day,
                        rate: n.mention_rate?,
                        text: rate_text(n),
                    })
                })
                .collect(),
        })
        .collect()
}

/// The brand, then competitors by answers mentioning them (ties: the set's order).
fn trend_entities(overall: &[EntityNumbers]) -> Vec<(String, bool, &'static str)> {
    let mut order: Vec<&EntityNumbers> = overall.iter().collect();
    order.sort_by_key(|n| (!n.is_brand, std::cmp::Reverse(n.n_mentioned)));
    order
        .into_iter()
        .take(TREND_LINES)
        .enumerate()
        .map(|(i, n)| (n.name.clone(), n.is_brand, PALETTE[i % PALETTE.len()]))
        .collect()
}

fn voice_rows(overall: &[EntityNumbers], colors: &[(String, bool, &'static str)]) -> Vec<VoiceRow> {
    overall
        .iter()
        .map(|n| VoiceRow {
            name: n.name.clone(),
            is_brand: n.is_brand,
            color: colors.iter().find(|c| c.0 == n.name).map(|c| c.2),
            share: n
                .share_of_voice
                .map_or_else(|| "—".to_owned(), |s| format!("{} %", pct(s))),
            share_pct: n.share_of_voice.map_or(0, pct),
            rate: rate_text(n),
            avg_rank: n
                .avg_rank
                .map_or_else(|| "—".to_owned(), |r| format!("{r:.1}")),
            cited: match n.citation_rate {
                Some(r) => format!("{} ({} %)", n.n_cited, pct(r)),
                None => "—".to_owned(),
            },
        })
        .collect()
}

/// `GET /brands/{ws}/visibility`.
pub async fn show(
    State(state): State<UiState>,
    session: Session,
    Path(ws): Path<String>,
    query: Result<Query<DashboardQuery>, QueryRejection>,
) -> Result<Response, UiError> {
    let Query(query) = query.map_err(|e| UiError::BadRequest(e.body_text()))?;
    let ws = load_brand(&state, &session, &ws).await?;
    let services = &state.services;
    let caller = &session.caller;
    let include_fake = query.fake != "0";
    let job = match query.job.as_str() {
        "" => None,
        raw => Some(JobView::of(&load_job(&state, &session, &ws, raw).await?)),
    };
    let here = visibility_href(&ws.id);
    let with_fake = |base: String, include: bool| match (include, base.contains('?')) {
        (true, _) => base,
        (false, true) => format!("{base}&fake=0"),
        (false, false) => format!("{base}?fake=0"),
    };
    let refresh = job
        .as_ref()
        .filter(|j| !j.is_final)
        .map(|j| with_fake(format!("{here}?job={}", j.id), include_fake));
    let snapshot = services.current_entities(caller, None, &ws.id).await?;
    let layout = Layout::load(&state, &session, Some(&ws), "Visibility", "visibility").await?;
    let mut page = VisibilityPage {
        layout,
        csrf_token: session.csrf_token.clone(),
        entities_href: entities_href(&ws.id),
        reanalyze_href: format!("{here}/reanalyze"),
        has_entities: snapshot.is_some(),
        brand_name: String::new(),
        competitors: 0,
        snapshot_id: String::new(),
        include_fake,
        fake_toggle_href: with_fake(here.clone(), !include_fake),
        fake_param: if include_fake { "" } else { "0" },
        total_answers: 0,
        tables: Vec::new(),
        voices: Vec::new(),
        domains: Vec::new(),
        trend: None,
        legend: Vec::new(),
        not_drawn: 0,
        trend_days: TREND_DAYS,
        job,
        refresh,
        refresh_s: REFRESH_S,
        ws_id: ws.id.clone(),
        ws_name: ws.name.clone(),
    };
    let Some(snapshot) = snapshot else {
        return Ok(Html(page.render()?).into_response());
    };
    let set: EntitySet = serde_json::from_value(snapshot.entities.clone())
        .map_err(|e| UiError::Internal(format!("alias snapshot {}: {e}", snapshot.id)))?;
    page.brand_name = set.brand.name.clone();
    page.competitors = set.competitors.len();
    page.snapshot_id = snapshot.id.to_string();

    // Pinned to the snapshot read above, so the three views agree.
    let params = |group_by: Option<&str>, from: Option<String>| VisibilityParams {
        group_by: group_by.map(str::to_owned),
        from,
        alias_snapshot_id: Some(snapshot.id.to_string()),
        include_fake: Some(include_fake),
        ..VisibilityParams::default()
    };
    let overall = services
        .visibility(caller, &ws.id, &params(None, None))
        .await?;
    let Some(totals) = overall.rows.first() else {
        // Nothing analysed with these entities yet.
        return Ok(Html(page.render()?).into_response());
    };
    page.total_answers = totals.entities.first().map_or(0, |n| n.n_answers);
    let grid = services
        .visibility(caller, &ws.id, &params(Some("model,country"), None))
        .await?;
    let since = Utc::now().date_naive() - Duration::days(TREND_DAYS - 1);
    let daily = services
        .visibility(
            caller,
            &ws.id,
            &params(Some("day"), Some(since.to_string())),
        )
        .await?;
    let drawn = trend_entities(&totals.entities);
    page.trend = trend::render(
        &trend_series(&daily, &drawn),
        &drift_marks(&overall.drift_events),
    );
    page.legend = drawn
        .iter()
        .map(|(name, is_brand, color)| LegendItem {
            name: name.clone(),
            color,
            is_brand: *is_brand,
        })
        .collect();
    page.not_drawn = totals.entities.len().saturating_sub(drawn.len());
    page.voices = voice_rows(&totals.entities, &drawn);
    page.domains = overall
        .top_domains
        .iter()
        .map(|(domain, n, rate)| DomainRow {
            domain: domain.clone(),
            n_cited: *n,
            share: format!("{} %", pct(*rate)),
            share_pct: pct(*rate),
        })
        .collect();
    page.tables = model_tables(&grid, &set);
    Ok(Html(page.render()?).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbers(name: &str, is_brand: bool, answers: u64, mentioned: u64) -> EntityNumbers {
        let (lo, hi) = prompter_domain::stats::wilson_interval(mentioned, answers)
            .map_or((None, None), |(l, h)| (Some(l), Some(h)));
        EntityNumbers {
            name: name.into(),
            is_brand,
            n_answers: answers,
            n_mentioned: mentioned,
            mention_rate: (answers > 0).then(|| mentioned as f64 / answers as f64),
            wilson_low: lo,
            wilson_high: hi,
            avg_rank: None,
            n_ranked: 0,
            share_of_voice: None,
            n_cited: 0,
            citation_rate: None,
        }
    }

    #[test]
    fn rates_read_with_their_interval_and_base() {
        let n = EntityNumbers {
            mention_rate: Some(0.42),
            wilson_low: Some(0.3488),
            wilson_high: Some(0.4951),
            ..numbers("Acme", true, 180, 76)
        };
        assert_eq!(rate_text(&n), "42 % (35–50), n = 180");
        assert_eq!(rate_text(&numbers("Acme", true, 0, 0)), "—");
        assert_eq!(pct(0.005), 1);
    }

    #[test]
    fn the_brand_comes_first_then_the_most_mentioned() {
        let overall = vec![
            numbers("Acme", true, 10, 1),
            numbers("Globex", false, 10, 2),
            numbers("Initech", false, 10, 7),
        ];
        let drawn = trend_entities(&overall);
        let names: Vec<&str> = drawn.iter().map(|d| d.0.as_str()).collect();
        assert_eq!(names, ["Acme", "Initech", "Globex"]);
        assert_eq!(drawn[0].2, PALETTE[0]);
    }

    #[test]
    fn a_templates_first_version_is_no_drift() {
        let t = uuid::Uuid::now_v7();
        let at = |d: &str| chrono::DateTime::parse_from_rfc3339(d).unwrap().to_utc();
        let event = |model: &str, key: &str, when: &str| DriftEvent {
            template_id: t,
            model_id: model.into(),
            provider_version_key: key.into(),
            first_seen_at: at(when),
        };
        let marks = drift_marks(&[
            event("gpt-4o", "fp_a", "2026-03-01T10:00:00Z"),
            event("gpt-4o-mini", "fp_m", "2026-03-01T11:00:00Z"),
            event("gpt-4o", "fp_b", "2026-03-05T10:00:00Z"),
        ]);
        assert_eq!(
            marks,
            vec![DriftMark {
                day: NaiveDate::from_ymd_opt(2026, 3, 5).unwrap(),
                label: "gpt-4o: fp_b".into()
            }]
        );
    }
}
