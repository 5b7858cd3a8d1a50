//! Visibility numbers of one group of answers: pooled counts in, rates with their 95 % Wilson
//! intervals out. Rates are always ratios of pooled counts (never averages of ratios), so
//! merging two groups and computing again gives the numbers of the merged group.

use serde::Serialize;

use crate::stats::wilson_interval;

/// What the stored analyses of a group say about one entity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EntityCounts {
    /// Answers analysed in the group (the same for every entity of the group).
    pub n_answers: u64,
    /// Answers mentioning the entity.
    pub n_mentioned: u64,
    /// Sum of its ranks over the answers that rank it (1 = mentioned first).
    pub rank_sum: u64,
    pub n_ranked: u64,
    /// Answers citing one of its domains.
    pub n_cited: u64,
}

impl EntityCounts {
    pub fn add(&mut self, other: &EntityCounts) {
        self.n_answers += other.n_answers;
        self.n_mentioned += other.n_mentioned;
        self.rank_sum += other.rank_sum;
        self.n_ranked += other.n_ranked;
        self.n_cited += other.n_cited;
    }
}

/// The numbers of one entity in one group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EntityNumbers {
    pub name: String,
    pub is_brand: bool,
    pub n_answers: u64,
    pub n_mentioned: u64,
    /// `n_mentioned / n_answers`; `None` without answers.
    pub mention_rate: Option<f64>,
    pub wilson_low: Option<f64>,
    pub wilson_high: Option<f64>,
    /// Mean rank over the answers that mention it; `None` when none does.
    pub avg_rank: Option<f64>,
    pub n_ranked: u64,
    /// Its mentioning answers ÷ the sum of all entities' mentioning answers in the group.
    pub share_of_voice: Option<f64>,
    pub n_cited: u64,
    /// `n_cited / n_answers`.
    pub citation_rate: Option<f64>,
}

fn ratio(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// The numbers of every entity of a group, given `(name, is_brand, counts)` in the snapshot's
/// order.
pub fn group_numbers(entities: &[(String, bool, EntityCounts)]) -> Vec<EntityNumbers> {
    let voices: u64 = entities.iter().map(|(_, _, c)| c.n_mentioned).sum();
    entities
        .iter()
        .map(|(name, is_brand, c)| {
            let interval = wilson_interval(c.n_mentioned, c.n_answers);
            EntityNumbers {
                name: name.clone(),
                is_brand: *is_brand,
                n_answers: c.n_answers,
                n_mentioned: c.n_mentioned,
                mention_rate: ratio(c.n_mentioned, c.n_answers),
                wilson_low: interval.map(|i| i.0),
                wilson_high: interval.map(|i| i.1),
                avg_rank: ratio(c.rank_sum, c.n_ranked),
                n_ranked: c.n_ranked,
                share_of_voice: ratio(c.n_mentioned, voices),
                n_cited: c.n_cited,
                citation_rate: ratio(c.n_cited, c.n_answers),
            }
        })
        .collect()
}

/// The Monday (ISO week start) of `day`, as `YYYY-MM-DD`; `None` if `day` is not a date.
pub fn week_of(day: &str) -> Option<String> {
    use chrono::Datelike;
    let d = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?;
    let monday = d - chrono::Duration::days(i64::from(d.weekday().num_days_from_monday()));
    Some(monday.format("%Y-%m-%d").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(n: u64, m: u64, rank_sum: u64, ranked: u64, cited: u64) -> EntityCounts {
        EntityCounts {
            n_answers: n,
            n_mentioned: m,
            rank_sum,
            n_ranked: ranked,
            n_cited: cited,
        }
    }

    #[test]
    fn rates_are_pooled_counts_with_wilson_bounds() {
        let rows = group_numbers(&[
            ("AVEA".into(), true, counts(10, 4, 6, 4, 2)),
            ("Nestlé".into(), false, counts(10, 6, 6, 6, 0)),
            ("Burgerstein".into(), false, counts(10, 0, 0, 0, 0)),
        ]);
        let brand = &rows[0];
        assert_eq!(brand.mention_rate, Some(0.4));
        assert_eq!(brand.avg_rank, Some(1.5));
        assert_eq!(brand.share_of_voice, Some(0.4));
        assert_eq!(brand.citation_rate, Some(0.2));
        // 4 of 10: Wilson 95 % interval (0.1682, 0.6873).
        assert!((brand.wilson_low.unwrap() - 0.16818).abs() < 1e-4);
        assert!((brand.wilson_high.unwrap() - 0.68732).abs() < 1e-4);
        assert_eq!(rows[1].share_of_voice, Some(0.6));
        let none = &rows[2];
        assert_eq!(none.mention_rate, Some(0.0));
        assert_eq!(none.avg_rank, None);
        assert_eq!(none.wilson_low, Some(0.0));
        assert!((none.wilson_high.unwrap() - 0.27753).abs() < 1e-4);
    }

    #[test]
    fn a_group_without_answers_has_no_rates() {
        let rows = group_numbers(&[("AVEA".into(), true, EntityCounts::default())]);
        assert_eq!(rows[0].mention_rate, None);
        assert_eq!(rows[0].wilson_low, None);
        assert_eq!(rows[0].share_of_voice, None);
    }

    #[test]
    fn weeks_start_on_monday() {
        assert_eq!(week_of("2026-12-04").as_deref(), Some("2026-11-30"));
        assert_eq!(week_of("2026-11-30").as_deref(), Some("2026-11-30"));
        assert_eq!(week_of("2027-01-03").as_deref(), Some("2026-12-28"));
        assert_eq!(week_of("nope"), None);
    }
}
