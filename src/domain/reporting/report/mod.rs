//! The performance report: the figures a council's scrutiny committee and Ofsted judge its
//! front door on (the council scrutiny report, docs/figures.md), per
//! calendar month, for the whole period, and for the period before it.
//!
//! Aggregates only: no child's identity leaves this module. MASH managers and auditors of
//! the agency that hosts the MASH may run it; every run is audited.
//!
//! Rules, one for every figure:
//! - A period is an inclusive range of Europe/London calendar dates. An event belongs to it
//!   when the London date of its time does (`clock::london_date`).
//! - Every figure uses the event's `occurredAt`-side time (docs/design.md "Event times and recorded times"):
//!   contacts by `occurred_at`, referrals by `referred_at`, assessments completed by
//!   `authorised_at`, strategy discussions by `held_at`, section 47 enquiries by
//!   `started_at`, information requests by `sent_at`, early help by `requested_at`.
//! - Missing children are counted by the month the notification was received
//!   (`la_notified_at`, or `reported_missing_at` when no notification time is recorded), and
//!   each episode's return home interview with its episode (docs/figures.md, "Counting
//!   rules that make the figures match").
//! - Percentages are whole numbers rounded half away from zero, and null when there is
//!   nothing to divide by (22 of 49 is 45%).
//! - Medians and percentiles interpolate linearly between the two nearest ranks (the
//!   "inclusive" method of spreadsheets and numpy's default: the median of an even count is
//!   the mean of the middle two); null when there is nothing to measure.
//!
//! One function computes one period's figures ([`figures`]); months, the whole period and
//! the previous period are all computed by it, over facts read once, in one read snapshot,
//! for the previous period's start to the report's end and sorted by London date: contacts,
//! referrals, assessments, strategy discussions and section 47 enquiries counted per day by
//! the database ([`day_groups`]), missing episodes joined to their interviews, information
//! requests and early help episodes with only the columns the figures need — nine queries
//! whatever the period's length or the number of records.
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Europe::London;
use entity::codes::{InterviewOutcome, RequestStatus, ScreeningOutcome};
use entity::{agency, early_help_episode as early_help, information_request as request};
use sea_orm::{
    AccessMode, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection,
    DatabaseTransaction, EntityTrait, FromQueryResult, IsolationLevel, Iterable, QueryFilter,
    QueryResult, QuerySelect, TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

use crate::domain::audit::Action;
use crate::domain::audit::{self};
use crate::domain::case::missing::{LATE_REASONS, NOT_OFFERED_REASONS};
use crate::domain::common::clock::london_date;
use crate::domain::policy::{self, CaseOperation};
use crate::domain::RequestCtx;
use crate::error::{AppError, AppResult};
use crate::Core;

mod facts;
mod figures;
mod period;
mod tally;

use facts::*;
pub use figures::*;
pub use period::*;
use tally::*;

pub const ACTION: Action = Action::ReportPerformance;
/// The longest period one report covers.
pub const MAX_MONTHS: u32 = 24;
/// Recorded more than this long after it occurred: back-dated, and counted as such.
const LATE_RECORDING_HOURS: i64 = 24;

/// One read-only snapshot, so that every figure describes the same moment.
async fn snapshot(db: &DatabaseConnection) -> AppResult<DatabaseTransaction> {
    Ok(match db.get_database_backend() {
        DatabaseBackend::Postgres => {
            db.begin_with_config(
                Some(IsolationLevel::RepeatableRead),
                Some(AccessMode::ReadOnly),
            )
            .await?
        }
        // SQLite (WAL): a read transaction sees one snapshot from its first read.
        _ => db.begin().await?,
    })
}

/// Computes the report for `window` (validated) from the database, without access checks
/// or audit: the figures alone.
pub async fn compute(db: &DatabaseConnection, window: Window) -> AppResult<PerformanceReport> {
    let previous = window.previous();
    let txn = snapshot(db).await?;
    let facts = load(
        &txn,
        Window {
            from: previous.from,
            to: window.to,
        },
    )
    .await?;
    txn.rollback().await?;
    let months = window
        .months()
        .into_iter()
        .map(|month| figures(&facts, month))
        .collect();
    let total = figures(&facts, window);
    let previous = figures(&facts, previous);
    let change = Change::between(&previous, &total);
    Ok(PerformanceReport {
        from: window.from,
        to: window.to,
        months,
        total,
        previous,
        change,
    })
}

/// The performance report for the London dates `from`..=`to` (at most 24 months): MASH
/// managers and auditors of the hosting agency. Aggregates only; the run is audited.
pub async fn performance_report(
    core: &Core,
    ctx: &RequestCtx,
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<PerformanceReport> {
    let grant = policy::allow(core, ctx, ACTION, CaseOperation::PerformanceReport).await?;
    let window = validate(from, to)?;
    let report = compute(&core.db, window).await?;
    audit::record_alone(
        core,
        ctx,
        grant.entry().detail(json!({
            "from": from.to_string(),
            "to": to.to_string(),
        })),
    )
    .await?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn w(from: NaiveDate, to: NaiveDate) -> Window {
        Window { from, to }
    }

    #[test]
    fn percentages_round_half_away_from_zero() {
        assert_eq!(percent(22, 49), Some(45));
        assert_eq!(percent(24, 50), Some(48));
        assert_eq!(percent(1, 8), Some(13)); // 12.5
        assert_eq!(percent(-1, 8), Some(-13));
        assert_eq!(percent(0, 0), None);
        assert_eq!(percent(396, 600), Some(66));
        assert_eq!(change(200, 98), Some(-51));
        assert_eq!(change(150, 60), Some(-60));
        assert_eq!(change(0, 5), None);
        assert_eq!(change(8, 9), Some(13));
    }

    #[test]
    fn quantiles_interpolate() {
        assert_eq!(quantile(&mut [], 0.5), None);
        assert_eq!(quantile(&mut [3.0], 0.9), Some(3.0));
        assert_eq!(quantile(&mut [4.0, 1.0, 3.0, 2.0], 0.5), Some(2.5));
        let mut ten: Vec<f64> = (1..=10).map(f64::from).collect();
        assert!((quantile(&mut ten, 0.9).unwrap() - 9.1).abs() < 1e-9);
    }

    #[test]
    fn previous_periods() {
        // Whole months: the same number of calendar months before.
        assert_eq!(
            w(d(2019, 8, 1), d(2019, 11, 30)).previous(),
            w(d(2019, 4, 1), d(2019, 7, 31))
        );
        assert_eq!(
            w(d(2019, 3, 1), d(2019, 3, 31)).previous(),
            w(d(2019, 2, 1), d(2019, 2, 28))
        );
        assert_eq!(
            w(d(2019, 1, 1), d(2019, 12, 31)).previous(),
            w(d(2018, 1, 1), d(2018, 12, 31))
        );
        // Otherwise the same number of days.
        assert_eq!(
            w(d(2019, 8, 5), d(2019, 8, 11)).previous(),
            w(d(2019, 7, 29), d(2019, 8, 4))
        );
        assert_eq!(
            w(d(2019, 3, 1), d(2019, 3, 30)).previous(),
            w(d(2019, 1, 30), d(2019, 2, 28))
        );
    }

    #[test]
    fn months_are_cut_to_the_period() {
        let months = w(d(2019, 8, 15), d(2019, 10, 3)).months();
        assert_eq!(
            months,
            vec![
                w(d(2019, 8, 15), d(2019, 8, 31)),
                w(d(2019, 9, 1), d(2019, 9, 30)),
                w(d(2019, 10, 1), d(2019, 10, 3)),
            ]
        );
        assert_eq!(months[1].label(), "2019-09");
        assert_eq!(months[0].label(), "2019-08-15/2019-08-31");
        assert_eq!(w(d(2019, 12, 1), d(2019, 12, 31)).months().len(), 1);
    }

    #[test]
    fn periods_are_checked() {
        assert!(validate(d(2019, 1, 1), d(2020, 12, 31)).is_ok());
        for (from, to) in [
            (d(2019, 2, 1), d(2019, 1, 31)),
            (d(2019, 1, 1), d(2021, 1, 1)),
            (d(2019, 1, 15), d(2021, 1, 15)),
        ] {
            match validate(from, to) {
                Err(AppError::BadUserInput { field, .. }) => assert_eq!(field, "to"),
                other => panic!("{from}..{to}: {other:?}"),
            }
        }
    }

    /// The SQLite shortcut agrees with the rule around every boundary it takes a shortcut at.
    #[tokio::test]
    async fn sqlite_recorded_late_matches_the_rule() {
        let db = crate::db::connect("sqlite::memory:", 1).await.unwrap();
        let sql = format!(
            "SELECT CASE WHEN {} THEN 1 ELSE 0 END FROM (SELECT $1 AS occurred_at, $2 AS recorded_at)",
            recorded_late_sql(DatabaseBackend::Sqlite)
        );
        let starts = [
            (2019, 1, 31, 0, 0, 0),
            (2019, 1, 31, 23, 59, 59),
            (2019, 2, 28, 12, 30, 0),
            (2019, 12, 31, 23, 0, 0),
            (2020, 2, 28, 1, 0, 0),
            (2019, 6, 15, 9, 0, 0),
        ];
        let mut offsets: Vec<Duration> = (0..=200).map(|h| Duration::minutes(h * 30)).collect();
        for near in [-1_000, -1, 0, 1, 1_000] {
            offsets.push(Duration::hours(24) + Duration::milliseconds(near));
        }
        offsets.push(Duration::days(400));
        for (y, m, d, h, min, sec) in starts {
            let occurred = Utc.with_ymd_and_hms(y, m, d, h, min, sec).unwrap();
            for offset in &offsets {
                let recorded = occurred + *offset;
                let row = db
                    .query_one_raw(crate::db::statement(
                        DatabaseBackend::Sqlite,
                        &sql,
                        vec![occurred.into(), recorded.into()],
                    ))
                    .await
                    .unwrap()
                    .unwrap();
                let late: i64 = row.try_get_by_index(0).unwrap();
                assert_eq!(
                    late == 1,
                    recorded_late(occurred, recorded),
                    "{occurred} → {recorded}"
                );
            }
        }
    }

    #[test]
    fn sources_sort_in_list_order() {
        let mut codes = vec!["10", "6", "1B", "2A", "1A", "3E", "9"];
        codes.sort_by_key(|c| source_order(c));
        assert_eq!(codes, ["1A", "1B", "2A", "3E", "6", "9", "10"]);
    }
}
