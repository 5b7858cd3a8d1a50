//! `GET /api/workspaces/{id}/visibility`: mention rates with their intervals, rank, share of
//! voice and citation rates per group, from the stored analyses of one snapshot.
//!
//! Whole UTC days are read from the daily roll-up (`visibility_daily`, written with each
//! analysis); a range that starts or ends inside a day reads that partial day from the analyses
//! themselves, so any range is exact and a long one reads a few thousand roll-up rows instead of
//! every answer.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use prompter_domain::entities::EntitySet;
use prompter_domain::mentions::EXTRACTOR_VERSION;
use prompter_domain::visibility::{group_numbers, week_of, EntityCounts, EntityNumbers};
use prompter_domain::FieldError;
use prompter_storage::{CountColumn, CountQuery, CountRow, CountSpan, DriftEvent, DOMAIN};
use uuid::Uuid;

use super::ActiveSnapshot;
use crate::{Caller, ServiceError, Services};

/// A grouping of the visibility rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupBy {
    Template,
    Model,
    Provider,
    Country,
    ProviderVersionKey,
    Day,
    Week,
    /// A template's current tags: an answer counts in each tag of its template (`""`: a
    /// template without tags).
    Tag,
}

impl GroupBy {
    pub const ALL: [GroupBy; 8] = [
        GroupBy::Template,
        GroupBy::Tag,
        GroupBy::Model,
        GroupBy::Provider,
        GroupBy::Country,
        GroupBy::ProviderVersionKey,
        GroupBy::Day,
        GroupBy::Week,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Template => "template",
            GroupBy::Model => "model",
            GroupBy::Provider => "provider",
            GroupBy::Country => "country",
            GroupBy::ProviderVersionKey => "provider_version_key",
            GroupBy::Day => "day",
            GroupBy::Week => "week",
            GroupBy::Tag => "tag",
        }
    }

    /// The stored column: a week is grouped by day and folded here.
    fn column(self) -> CountColumn {
        match self {
            GroupBy::Template | GroupBy::Tag => CountColumn::Template,
            GroupBy::Model => CountColumn::Model,
            GroupBy::Provider => CountColumn::Provider,
            GroupBy::Country => CountColumn::Country,
            GroupBy::ProviderVersionKey => CountColumn::ProviderVersionKey,
            GroupBy::Day | GroupBy::Week => CountColumn::Day,
        }
    }
}

/// The query string of the visibility endpoint, as received.
#[derive(Debug, Clone, Default)]
pub struct VisibilityParams {
    pub org_id: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub group_by: Option<String>,
    pub entity: Option<String>,
    pub alias_snapshot_id: Option<String>,
    pub include_fake: Option<bool>,
}

/// One group's row.
#[derive(Debug, Clone, PartialEq)]
pub struct VisibilityRow {
    /// `(group_by name, value)` in the requested order; `""` for none (no country, no key).
    pub keys: Vec<(&'static str, String)>,
    pub entities: Vec<EntityNumbers>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Visibility {
    pub workspace_id: String,
    pub alias_snapshot_id: Option<Uuid>,
    pub extractor_version: &'static str,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub group_by: Vec<GroupBy>,
    pub rows: Vec<VisibilityRow>,
    /// The domains the answers cite most, over the whole range: `(domain, answers citing it,
    /// share of the answers)`, most cited first, at most [`TOP_DOMAINS`].
    pub top_domains: Vec<(String, u64, f64)>,
    pub drift_events: Vec<DriftEvent>,
}

/// How many cited domains the numbers list.
pub const TOP_DOMAINS: usize = 20;

/// A bound: an RFC 3339 time, or a date (`to` as a date includes that whole UTC day).
pub(crate) fn parse_bound(field: &str, raw: &str, end: bool) -> Result<DateTime<Utc>, FieldError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Ok(t.with_timezone(&Utc));
    }
    match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        Ok(d) => {
            let d = if end { d + Duration::days(1) } else { d };
            Ok(d.and_time(NaiveTime::MIN).and_utc())
        }
        Err(_) => Err(FieldError::new(
            field,
            "must be an RFC 3339 time (2026-12-01T08:00:00Z) or a date (2026-12-01)",
        )),
    }
}

fn parse_group_by(raw: Option<&str>) -> Result<Vec<GroupBy>, FieldError> {
    let mut out = Vec::new();
    for part in raw.unwrap_or("").split(',').map(str::trim) {
        if part.is_empty() {
            continue;
        }
        let g = GroupBy::ALL
            .into_iter()
            .find(|g| g.as_str() == part)
            .ok_or_else(|| {
                FieldError::new(
                    "group_by",
                    format!(
                        "unknown grouping {part:?} (expected a comma-separated list of: {})",
                        GroupBy::ALL.map(GroupBy::as_str).join(", ")
                    ),
                )
            })?;
        if !out.contains(&g) {
            out.push(g);
        }
    }
    Ok(out)
}

/// A range's bounds, each optional.
pub(crate) type Range = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// `from` and `to` of a request ([`parse_bound`]); `to` must be after `from`.
pub(crate) fn parse_range(from: Option<&str>, to: Option<&str>) -> Result<Range, FieldError> {
    let from = from.map(|f| parse_bound("from", f, false)).transpose()?;
    let to = to.map(|t| parse_bound("to", t, true)).transpose()?;
    match (from, to) {
        (Some(f), Some(t)) if f >= t => Err(FieldError::new("to", "must be after from")),
        _ => Ok((from, to)),
    }
}

/// The spans a range reads: whole days from the roll-up, partial days from the analyses.
pub(crate) fn spans(from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> Vec<CountSpan> {
    let midnight = |t: DateTime<Utc>| t.date_naive().and_time(NaiveTime::MIN).and_utc();
    let ceil = |t: DateTime<Utc>| {
        if midnight(t) == t {
            t
        } else {
            midnight(t) + Duration::days(1)
        }
    };
    match (from, to) {
        (Some(f), Some(t)) if f >= t => Vec::new(),
        (Some(f), Some(t)) if ceil(f) >= midnight(t) => {
            // Within one day, or two partial days with no whole day between.
            vec![CountSpan::Times { from: f, to: t }]
        }
        _ => {
            let mut out = Vec::new();
            let day_from = from.map(ceil);
            let day_to = to.map(midnight);
            if let (Some(f), Some(df)) = (from, day_from) {
                if f < df {
                    out.push(CountSpan::Times { from: f, to: df });
                }
            }
            out.push(CountSpan::Days {
                from: day_from.map(|d| d.date_naive()),
                to: day_to.map(|d| d.date_naive()),
            });
            if let (Some(t), Some(dt)) = (to, day_to) {
                if dt < t {
                    out.push(CountSpan::Times { from: dt, to: t });
                }
            }
            out
        }
    }
}

/// The most cited domains of the domain rows, over every group.
fn top_domains(rows: &[CountRow], answers: u64) -> Vec<(String, u64, f64)> {
    let mut per_domain: BTreeMap<&str, u64> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.kind == DOMAIN) {
        *per_domain.entry(&r.entity).or_default() += r.n_cited.max(0) as u64;
    }
    let mut out: Vec<(String, u64, f64)> = per_domain
        .into_iter()
        .map(|(d, n)| (d.to_owned(), n, n as f64 / answers.max(1) as f64))
        .collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out.truncate(TOP_DOMAINS);
    out
}

/// Sums the entity count rows of every span per (group, entity), weeks folded from days.
fn merge(
    rows: Vec<CountRow>,
    group_by: &[GroupBy],
) -> BTreeMap<Vec<String>, BTreeMap<String, EntityCounts>> {
    let mut groups: BTreeMap<Vec<String>, BTreeMap<String, EntityCounts>> = BTreeMap::new();
    for row in rows.into_iter().filter(|r| r.kind != DOMAIN) {
        let keys: Vec<String> = row
            .keys
            .into_iter()
            .zip(group_by)
            .map(|(k, g)| match g {
                GroupBy::Week => week_of(&k).unwrap_or(k),
                _ => k,
            })
            .collect();
        let counts = EntityCounts {
            n_answers: row.n_answers.max(0) as u64,
            n_mentioned: row.n_mentioned.max(0) as u64,
            rank_sum: row.rank_sum.max(0) as u64,
            n_ranked: row.n_ranked.max(0) as u64,
            n_cited: row.n_cited.max(0) as u64,
        };
        groups
            .entry(keys)
            .or_default()
            .entry(row.entity)
            .or_default()
            .add(&counts);
    }
    groups
}

/// The rows of the merged counts: every entity of the set in each group (zeros where it was
/// neither mentioned nor cited), `entity` narrowing to one.
fn rows_of(
    groups: BTreeMap<Vec<String>, BTreeMap<String, EntityCounts>>,
    group_by: &[GroupBy],
    set: &EntitySet,
    entity: Option<&str>,
) -> Vec<VisibilityRow> {
    groups
        .into_iter()
        .map(|(keys, counts)| {
            let answers = counts.get("").map_or(0, |c| c.n_answers);
            let entities: Vec<(String, bool, EntityCounts)> = set
                .entities()
                .map(|(e, is_brand)| {
                    let mut c = counts.get(&e.name).copied().unwrap_or_default();
                    c.n_answers = answers;
                    (e.name.clone(), is_brand, c)
                })
                .collect();
            let mut numbers = group_numbers(&entities);
            if let Some(name) = entity {
                numbers.retain(|n| n.name == name);
            }
            VisibilityRow {
                keys: group_by.iter().map(|g| g.as_str()).zip(keys).collect(),
                entities: numbers,
            }
        })
        .collect()
}

impl Services {
    /// Each row once per current tag of its template (the key at `at` is the template id), or
    /// once with `""` for a template without tags.
    async fn rows_by_tag(
        &self,
        rows: Vec<CountRow>,
        at: usize,
    ) -> Result<Vec<CountRow>, ServiceError> {
        let mut tags: std::collections::HashMap<String, Vec<String>> = Default::default();
        for row in &rows {
            let id = &row.keys[at];
            if tags.contains_key(id) {
                continue;
            }
            let of_template = match Uuid::parse_str(id) {
                Ok(uuid) => self
                    .db
                    .get_template(uuid)
                    .await?
                    .map(|t| t.tags)
                    .unwrap_or_default(),
                Err(_) => Vec::new(),
            };
            tags.insert(id.clone(), of_template);
        }
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let of_row = &tags[&row.keys[at]];
            if of_row.is_empty() {
                let mut r = row;
                r.keys[at] = String::new();
                out.push(r);
                continue;
            }
            for tag in of_row {
                let mut r = row.clone();
                r.keys[at] = tag.clone();
                out.push(r);
            }
        }
        Ok(out)
    }

    pub async fn visibility(
        &self,
        caller: &Caller,
        workspace: &str,
        params: &VisibilityParams,
    ) -> Result<Visibility, ServiceError> {
        let (org, ws) = self
            .visible_workspace(caller, params.org_id.as_deref(), workspace)
            .await?;
        let (from, to) = parse_range(params.from.as_deref(), params.to.as_deref())?;
        let group_by = parse_group_by(params.group_by.as_deref())?;
        if group_by.contains(&GroupBy::Day) && group_by.contains(&GroupBy::Week) {
            return Err(FieldError::new("group_by", "day and week cannot be combined").into());
        }
        let snapshot = self
            .snapshot_of(&org, &ws, params.alias_snapshot_id.as_deref())
            .await?;
        let drift_events = self
            .db
            .drift_events(org.as_str(), ws.as_str(), from, to)
            .await?;
        let mut visibility = Visibility {
            workspace_id: ws.to_string(),
            alias_snapshot_id: snapshot.as_ref().map(|s| s.id),
            extractor_version: EXTRACTOR_VERSION,
            from,
            to,
            group_by: group_by.clone(),
            rows: Vec::new(),
            top_domains: Vec::new(),
            drift_events,
        };
        let Some(snapshot) = snapshot else {
            // No entities yet: nothing was analysed.
            return Ok(visibility);
        };
        let active = ActiveSnapshot::of(&snapshot)?;
        if let Some(name) = params.entity.as_deref() {
            if !active.set.entities().any(|(e, _)| e.name == name) {
                return Err(FieldError::new("entity", "is not an entity of the snapshot").into());
            }
        }
        let mut rows = Vec::new();
        for span in spans(from, to) {
            let query = CountQuery {
                org_id: org.to_string(),
                workspace_id: ws.to_string(),
                alias_snapshot_id: snapshot.id,
                extractor_version: EXTRACTOR_VERSION.to_owned(),
                include_fake: params.include_fake.unwrap_or(false),
                group_by: group_by.iter().map(|g| g.column()).collect(),
                span,
            };
            rows.extend(self.db.visibility_counts(&query).await?);
        }
        // Before the rows are copied per tag: an answer of a template with two tags is still
        // one answer citing its domains.
        let answers: u64 = rows
            .iter()
            .filter(|r| r.kind != DOMAIN && r.entity.is_empty())
            .map(|r| r.n_answers.max(0) as u64)
            .sum();
        visibility.top_domains = top_domains(&rows, answers);
        if let Some(at) = group_by.iter().position(|g| *g == GroupBy::Tag) {
            rows = self.rows_by_tag(rows, at).await?;
        }
        let groups = merge(rows, &group_by);
        visibility.rows = rows_of(groups, &group_by, &active.set, params.entity.as_deref());
        Ok(visibility)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }
    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn whole_days_come_from_the_rollup_and_partial_days_from_the_analyses() {
        assert_eq!(
            spans(None, None),
            vec![CountSpan::Days {
                from: None,
                to: None
            }]
        );
        assert_eq!(
            spans(
                Some(t("2026-12-01T00:00:00Z")),
                Some(t("2026-12-03T00:00:00Z"))
            ),
            vec![CountSpan::Days {
                from: Some(d("2026-12-01")),
                to: Some(d("2026-12-03"))
            }]
        );
        assert_eq!(
            spans(
                Some(t("2026-12-01T06:00:00Z")),
                Some(t("2026-12-04T12:00:00Z"))
            ),
            vec![
                CountSpan::Times {
                    from: t("2026-12-01T06:00:00Z"),
                    to: t("2026-12-02T00:00:00Z")
                },
                CountSpan::Days {
                    from: Some(d("2026-12-02")),
                    to: Some(d("2026-12-04"))
                },
                CountSpan::Times {
                    from: t("2026-12-04T00:00:00Z"),
                    to: t("2026-12-04T12:00:00Z")
                },
            ]
        );
        // Inside one day, or across one midnight with no whole day between.
        assert_eq!(
            spans(
                Some(t("2026-12-01T06:00:00Z")),
                Some(t("2026-12-02T06:00:00Z"))
            ),
            vec![CountSpan::Times {
                from: t("2026-12-01T06:00:00Z"),
                to: t("2026-12-02T06:00:00Z")
            }]
        );
        assert_eq!(
            spans(Some(t("2026-12-01T06:00:00Z")), None),
            vec![
                CountSpan::Times {
                    from: t("2026-12-01T06:00:00Z"),
                    to: t("2026-12-02T00:00:00Z")
                },
                CountSpan::Days {
                    from: Some(d("2026-12-02")),
                    to: None
                },
            ]
        );
        assert!(spans(
            Some(t("2026-12-02T00:00:00Z")),
            Some(t("2026-12-01T00:00:00Z"))
        )
        .is_empty());
    }

    #[test]
    fn bounds_take_times_and_dates() {
        assert_eq!(
            parse_bound("to", "2026-12-01", true).unwrap(),
            t("2026-12-02T00:00:00Z")
        );
        assert_eq!(
            parse_bound("from", "2026-12-01T08:00:00+01:00", false).unwrap(),
            t("2026-12-01T07:00:00Z")
        );
        assert_eq!(
            parse_bound("from", "yesterday", false).unwrap_err().field,
            "from"
        );
        assert_eq!(
            parse_group_by(Some("model, country,model")).unwrap(),
            vec![GroupBy::Model, GroupBy::Country]
        );
        assert_eq!(
            parse_group_by(Some("colour")).unwrap_err().field,
            "group_by"
        );
    }
}
