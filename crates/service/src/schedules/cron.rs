//! Cron expressions in a time zone (pure): when a schedule's slots are. Five fields (minute hour
//! day-of-month month day-of-week), read by `croner`; the wall clock of an IANA zone
//! (`chrono-tz`), so "06:00 Europe/Zurich" is 06:00 there in winter and in summer.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use prompter_domain::FieldError;

/// Most slots looked at when catching up after downtime (an every-minute schedule stopped for
/// ten weeks); beyond it the latest slot is searched from a day before `now`.
const MAX_CATCH_UP: u64 = 100_000;

#[derive(Debug, Clone)]
pub struct CronSchedule {
    cron: croner::Cron,
    tz: Tz,
}

impl CronSchedule {
    /// `cron`: exactly five fields; `timezone`: an IANA name. Errors name the field.
    pub fn parse(cron: &str, timezone: &str) -> Result<Self, FieldError> {
        let fields = cron.split_whitespace().count();
        if fields != 5 {
            return Err(FieldError::new(
                "cron",
                format!(
                    "must have 5 fields (minute hour day-of-month month day-of-week), got {fields}"
                ),
            ));
        }
        let parsed = croner::Cron::from_str(cron.trim())
            .map_err(|e| FieldError::new("cron", format!("is not a cron expression: {e}")))?;
        let tz = Tz::from_str(timezone).map_err(|_| {
            FieldError::new(
                "timezone",
                format!("{timezone:?} is not an IANA time zone (e.g. Europe/Zurich, UTC)"),
            )
        })?;
        Ok(Self { cron: parsed, tz })
    }

    /// The first slot strictly after `t` (slots are whole minutes; `t`'s fraction of a second
    /// does not carry over).
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        use chrono::SubsecRound;
        self.cron
            .find_next_occurrence(&t.trunc_subsecs(0).with_timezone(&self.tz), false)
            .ok()
            .map(|d| d.with_timezone(&Utc).trunc_subsecs(0))
    }

    /// From `due` (a slot at or before `now`): the latest slot at or before `now`, and how many
    /// slots before it were missed (not fired: after downtime only the latest fires).
    pub fn catch_up(&self, due: DateTime<Utc>, now: DateTime<Utc>) -> (DateTime<Utc>, u64) {
        let mut slot = due;
        let mut missed = 0;
        while let Some(next) = self.next_after(slot) {
            if next > now {
                return (slot, missed);
            }
            slot = next;
            missed += 1;
            if missed == MAX_CATCH_UP {
                // Far behind: find the latest slot from a day before now instead of walking.
                let mut from = now - chrono::Duration::days(1);
                let mut latest = slot;
                while let Some(n) = self.next_after(from) {
                    if n > now {
                        break;
                    }
                    latest = latest.max(n);
                    from = n;
                }
                return (latest, missed);
            }
        }
        (slot, missed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn six_in_the_morning_in_zurich_follows_summer_time() {
        let c = CronSchedule::parse("0 6 * * *", "Europe/Zurich").unwrap();
        // Winter: UTC+1.
        assert_eq!(
            c.next_after(at("2026-12-02T10:00:00Z")),
            Some(at("2026-12-03T05:00:00Z"))
        );
        // The night the clocks go forward (2026-03-29): UTC+2 from then on.
        assert_eq!(
            c.next_after(at("2026-03-28T06:00:00Z")),
            Some(at("2026-03-29T04:00:00Z"))
        );
        // A fraction of a second does not leak into the slot.
        assert_eq!(
            c.next_after(at("2026-12-02T10:00:00.685011Z")),
            Some(at("2026-12-03T05:00:00Z"))
        );
        // Strictly after: a slot is not its own successor.
        assert_eq!(
            c.next_after(at("2026-12-03T05:00:00Z")),
            Some(at("2026-12-04T05:00:00Z"))
        );
    }

    #[test]
    fn weekdays_and_steps() {
        let c = CronSchedule::parse("*/15 9-17 * * 1-5", "UTC").unwrap();
        // Friday 17:45 → Monday 09:00 (2026-12-04 is a Friday).
        assert_eq!(
            c.next_after(at("2026-12-04T17:45:00Z")),
            Some(at("2026-12-07T09:00:00Z"))
        );
        let sunday = CronSchedule::parse("0 0 * * 0", "UTC").unwrap();
        assert_eq!(
            sunday.next_after(at("2026-12-02T00:00:00Z")),
            Some(at("2026-12-06T00:00:00Z"))
        );
    }

    #[test]
    fn after_downtime_only_the_latest_slot_fires() {
        let c = CronSchedule::parse("0 * * * *", "UTC").unwrap();
        let (slot, missed) = c.catch_up(at("2026-12-01T10:00:00Z"), at("2026-12-01T13:30:00Z"));
        assert_eq!(slot, at("2026-12-01T13:00:00Z"));
        assert_eq!(missed, 3);
        let (slot, missed) = c.catch_up(at("2026-12-01T10:00:00Z"), at("2026-12-01T10:00:00Z"));
        assert_eq!((slot, missed), (at("2026-12-01T10:00:00Z"), 0));
        // Far behind: still the latest slot.
        let every_minute = CronSchedule::parse("* * * * *", "UTC").unwrap();
        let (slot, missed) =
            every_minute.catch_up(at("2026-01-01T00:00:00Z"), at("2026-12-01T10:00:30Z"));
        assert_eq!(slot, at("2026-12-01T10:00:00Z"));
        assert!(missed >= MAX_CATCH_UP);
    }

    #[test]
    fn bad_expressions_and_zones_name_their_field() {
        for bad in ["* * * *", "0 6 * * * *", "61 * * * *", "0 6 * * mon-", ""] {
            assert_eq!(
                CronSchedule::parse(bad, "UTC").unwrap_err().field,
                "cron",
                "{bad:?}"
            );
        }
        assert_eq!(
            CronSchedule::parse("0 6 * * *", "Mars/Olympus")
                .unwrap_err()
                .field,
            "timezone"
        );
    }
}
