//! Report periods (inclusive ranges of London dates) and the arithmetic of the figures.
use super::*;

/// An inclusive range of Europe/London calendar dates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Window {
    fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }

    /// Whether the window is whole calendar months: from a 1st to a month's last day.
    fn whole_months(&self) -> Option<u32> {
        let last_of_month = (self.to + Duration::days(1)).day() == 1;
        (self.from.day() == 1 && last_of_month).then(|| {
            let months = (self.to.year() - self.from.year()) * 12 + self.to.month() as i32
                - self.from.month() as i32
                + 1;
            months as u32
        })
    }

    /// The period of the same length immediately before: the same number of calendar
    /// months when this one is whole months, otherwise the same number of days.
    pub fn previous(&self) -> Window {
        let to = self.from - Duration::days(1);
        let from = match self.whole_months() {
            Some(months) => self
                .from
                .checked_sub_months(Months::new(months))
                .unwrap_or(NaiveDate::MIN),
            None => self.from - Duration::days(self.days()),
        };
        Window { from, to }
    }

    /// The calendar months the window touches, each cut to the window.
    pub fn months(&self) -> Vec<Window> {
        let mut out = Vec::new();
        let mut start = self.from;
        while start <= self.to {
            let first = start.with_day(1).expect("day 1 exists");
            let next = first
                .checked_add_months(Months::new(1))
                .unwrap_or(NaiveDate::MAX);
            let end = (next - Duration::days(1)).min(self.to);
            out.push(Window {
                from: start,
                to: end,
            });
            start = next;
        }
        out
    }

    /// `2019-09` for a whole calendar month, otherwise `2019-08-01/2019-11-30` (an ISO 8601
    /// interval).
    pub(super) fn label(&self) -> String {
        if self.whole_months() == Some(1) {
            self.from.format("%Y-%m").to_string()
        } else {
            format!("{}/{}", self.from, self.to)
        }
    }
}

/// Midnight in London at the start of `day`, as UTC.
pub(super) fn start_of_day(day: NaiveDate) -> DateTime<Utc> {
    let local = day.and_time(NaiveTime::MIN);
    London
        .from_local_datetime(&local)
        .earliest()
        .unwrap_or_else(|| London.from_utc_datetime(&local))
        .with_timezone(&Utc)
}

/// Checks the period: `to` not before `from`, and at most [`MAX_MONTHS`] long.
pub fn validate(from: NaiveDate, to: NaiveDate) -> AppResult<Window> {
    crate::domain::common::checks::date("from", from)?;
    crate::domain::common::checks::date("to", to)?;
    if to < from {
        return Err(AppError::bad_input("to", "must not be before from"));
    }
    let limit = from.checked_add_months(Months::new(MAX_MONTHS));
    if limit.is_none_or(|limit| to >= limit) {
        return Err(AppError::bad_input(
            "to",
            format!("a report covers at most {MAX_MONTHS} months"),
        ));
    }
    Ok(Window { from, to })
}

/// `part` of `whole` as a whole-number percentage, rounded half away from zero; None when
/// `whole` is 0. Exact integer arithmetic, so 22 of 49 is 45 and 1 of 8 is 13.
pub fn percent(part: i64, whole: i64) -> Option<i32> {
    if whole == 0 {
        return None;
    }
    let (part, whole) = if whole < 0 {
        (-part, -whole)
    } else {
        (part, whole)
    };
    let magnitude = (part.unsigned_abs() as u128 * 200 + whole as u128) / (whole as u128 * 2);
    let magnitude = i32::try_from(magnitude).unwrap_or(i32::MAX);
    Some(if part < 0 { -magnitude } else { magnitude })
}

pub(super) fn percent_of(part: u64, whole: u64) -> Option<i32> {
    percent(part as i64, whole as i64)
}

/// The change from `before` to `now` in whole per cent (200 → 98 is −51); None from 0.
pub fn change(before: u64, now: u64) -> Option<i32> {
    percent(now as i64 - before as i64, before as i64)
}

/// The `p`-quantile (0–1) of `values`, interpolating linearly between the nearest ranks
/// (position `(n − 1) × p` in the sorted values); None when there are none.
pub fn quantile(values: &mut [f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let position = (values.len() - 1) as f64 * p.clamp(0.0, 1.0);
    let below = position.floor() as usize;
    let above = position.ceil() as usize;
    let fraction = position - below as f64;
    Some(values[below] + (values[above] - values[below]) * fraction)
}

pub(super) fn hours(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_seconds() as f64 / 3600.0
}

pub(super) fn days(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_seconds() as f64 / 86_400.0
}

pub(super) fn recorded_late(occurred: DateTime<Utc>, recorded: DateTime<Utc>) -> bool {
    recorded - occurred > Duration::hours(LATE_RECORDING_HOURS)
}
