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
use entity::{agency, early_help_episode as early_help, information_request as request};
use sea_orm::{
    AccessMode, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection,
    DatabaseTransaction, EntityTrait, FromQueryResult, IsolationLevel, QueryFilter, QueryResult,
    QuerySelect, TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

use crate::domain::audit::{self, AuditEntry};
use crate::domain::case::missing::{LATE_REASONS, NOT_OFFERED_REASONS};
use crate::domain::common::clock::london_date;
use crate::domain::outcomes::early_help::SCREENING_OUTCOMES;
use crate::domain::policy::CaseOperation;
use crate::domain::RequestCtx;
use crate::error::{AppError, AppResult};
use crate::Core;

pub const ACTION: &str = "report.performance";
/// The longest period one report covers.
pub const MAX_MONTHS: u32 = 24;
/// Recorded more than this long after it occurred: back-dated, and counted as such.
const LATE_RECORDING_HOURS: i64 = 24;

// ------------------------------------------------------------------------------- periods

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
    fn label(&self) -> String {
        if self.whole_months() == Some(1) {
            self.from.format("%Y-%m").to_string()
        } else {
            format!("{}/{}", self.from, self.to)
        }
    }
}

/// Midnight in London at the start of `day`, as UTC.
fn start_of_day(day: NaiveDate) -> DateTime<Utc> {
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

// ------------------------------------------------------------------------------ arithmetic

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

fn percent_of(part: u64, whole: u64) -> Option<i32> {
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

fn hours(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_seconds() as f64 / 3600.0
}

fn days(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_seconds() as f64 / 86_400.0
}

fn recorded_late(occurred: DateTime<Utc>, recorded: DateTime<Utc>) -> bool {
    recorded - occurred > Duration::hours(LATE_RECORDING_HOURS)
}

// --------------------------------------------------------------------------------- figures

/// How many of something with one code (a reason, an outcome).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeCount {
    pub code: &'static str,
    pub count: u64,
}

/// Return home interviews owed for the episodes notified in a period.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RhiFigures {
    pub completed: u64,
    pub in_timescale: u64,
    /// In timescale as a share of those completed.
    pub in_timescale_percent: Option<i32>,
    pub out_of_timescale: u64,
    /// Every late reason, 0 where none.
    pub out_of_timescale_by_reason: Vec<CodeCount>,
    /// Completed late with no reason recorded (the service requires one; legacy data may not).
    pub out_of_timescale_no_reason: u64,
    pub not_offered: u64,
    /// Every not-offered reason, 0 where none.
    pub not_offered_by_reason: Vec<CodeCount>,
    pub declined: u64,
    pub carried_over: u64,
    /// The child has returned and the interview has no outcome yet.
    pub open: u64,
    /// No return recorded yet, so no interview is due.
    pub awaiting_return: u64,
}

/// Information-request timeliness for one responding agency.
#[derive(Clone, Debug, PartialEq)]
pub struct AgencyRequests {
    pub agency_id: Uuid,
    pub agency_name: String,
    /// Requests sent in the period, not withdrawn.
    pub requests: u64,
    /// Answered (responded or declined) at any time.
    pub answered: u64,
    /// Answered by the due time.
    pub answered_by_due: u64,
    pub answered_by_due_percent: Option<i32>,
    /// Median hours from sending to the answer, over those answered.
    pub median_hours_to_answer: Option<f64>,
}

/// Early help requested in a period.
#[derive(Clone, Debug, PartialEq)]
pub struct EarlyHelpFigures {
    pub requests: u64,
    pub screened: u64,
    pub median_days_to_screening: Option<f64>,
    pub assessments_started: u64,
    pub median_days_to_assessment: Option<f64>,
    /// Every screening outcome, 0 where none.
    pub screening_outcomes: Vec<CodeCount>,
    pub not_yet_screened: u64,
}

/// How long the police took to tell the council, for the episodes notified in a period.
#[derive(Clone, Debug, PartialEq)]
pub struct DelayFigures {
    /// Episodes with a notification time.
    pub missing_notified: u64,
    pub median_hours_to_notification: Option<f64>,
    pub p90_hours_to_notification: Option<f64>,
    /// Episodes with a return and its notification time.
    pub returns_notified: u64,
    pub median_hours_to_return_notification: Option<f64>,
    pub p90_hours_to_return_notification: Option<f64>,
}

/// Consent recorded on the contacts one agency made.
#[derive(Clone, Debug, PartialEq)]
pub struct AgencyConsent {
    pub agency_id: Uuid,
    pub agency_name: String,
    pub contacts: u64,
    /// Consent sought and recorded: given or refused (not "not sought").
    pub consent_recorded: u64,
    pub consent_recorded_percent: Option<i32>,
}

/// Contacts from one source ending in no further action.
#[derive(Clone, Debug, PartialEq)]
pub struct SourceNfa {
    pub source_code: String,
    pub contacts: u64,
    pub nfa: u64,
    pub nfa_percent: Option<i32>,
}

/// Every figure for one period.
#[derive(Clone, Debug, PartialEq)]
pub struct Figures {
    pub window: Window,
    pub label: String,
    pub contacts: u64,
    /// Progression to referral: referrals made in the period.
    pub referrals: u64,
    pub assessments_completed: u64,
    pub assessments_nfa: u64,
    pub assessments_nfa_percent: Option<i32>,
    pub strategy_discussions: u64,
    pub section47_enquiries: u64,
    /// Section 47 enquiries (started in the period) that led to an initial child protection
    /// conference, whenever it was held.
    pub section47_to_conference: u64,
    pub section47_to_conference_percent: Option<i32>,
    pub missing_notifications: u64,
    pub missing_children: u64,
    pub rhi: RhiFigures,
    pub information_requests: Vec<AgencyRequests>,
    pub early_help: EarlyHelpFigures,
    pub police_notification_delay: DelayFigures,
    pub consent_by_agency: Vec<AgencyConsent>,
    pub decided_within_one_working_day: u64,
    /// As a share of all contacts in the period (undecided ones count as not in time).
    pub decided_within_one_working_day_percent: Option<i32>,
    pub nfa_by_source: Vec<SourceNfa>,
    pub contacts_recorded_late: u64,
    pub missing_episodes_recorded_late: u64,
}

/// Change from the previous period to this one, in whole per cent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub contacts: Option<i32>,
    pub referrals: Option<i32>,
    pub assessments_completed: Option<i32>,
    pub strategy_discussions: Option<i32>,
    pub section47_enquiries: Option<i32>,
    pub missing_notifications: Option<i32>,
}

impl Change {
    fn between(before: &Figures, now: &Figures) -> Change {
        Change {
            contacts: change(before.contacts, now.contacts),
            referrals: change(before.referrals, now.referrals),
            assessments_completed: change(before.assessments_completed, now.assessments_completed),
            strategy_discussions: change(before.strategy_discussions, now.strategy_discussions),
            section47_enquiries: change(before.section47_enquiries, now.section47_enquiries),
            missing_notifications: change(before.missing_notifications, now.missing_notifications),
        }
    }
}

/// The report: each calendar month, the whole period, the period before, and the change.
#[derive(Clone, Debug, PartialEq)]
pub struct PerformanceReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub months: Vec<Figures>,
    pub total: Figures,
    pub previous: Figures,
    pub change: Change,
}

// ------------------------------------------------------------------------------------ facts

/// Something with a London date; facts are kept sorted by it.
trait Dated {
    fn date(&self) -> NaiveDate;
}

/// The facts in `window`: a slice of date-sorted facts.
fn within<T: Dated>(facts: &[T], window: Window) -> &[T] {
    let start = facts.partition_point(|f| f.date() < window.from);
    let end = facts.partition_point(|f| f.date() <= window.to);
    &facts[start..end.max(start)]
}

/// Contacts of one London day from one agency and source, counted in the database.
struct ContactGroup {
    day: NaiveDate,
    agency: Uuid,
    source: String,
    contacts: u64,
    consent_recorded: u64,
    nfa: u64,
    decided_in_time: u64,
    recorded_late: u64,
}

/// Events of one London day, counted in the database, and how many of them had a property
/// (assessments ending in no further action; enquiries leading to a conference).
struct DayCount {
    day: NaiveDate,
    count: u64,
    hits: u64,
}

#[derive(Clone, Copy)]
enum Interview {
    AwaitingReturn,
    Open,
    Completed { in_time: bool, late: Option<usize> },
    NotOffered(Option<usize>),
    Declined,
    CarriedOver,
}

struct EpisodeFact {
    day: NaiveDate,
    child: Uuid,
    notification_hours: Option<f64>,
    return_notification_hours: Option<f64>,
    recorded_late: bool,
    interview: Interview,
}

struct RequestFact {
    day: NaiveDate,
    agency: Uuid,
    answered_hours: Option<f64>,
    by_due: bool,
}

struct EarlyHelpFact {
    day: NaiveDate,
    screening_days: Option<f64>,
    assessment_days: Option<f64>,
    outcome: Option<usize>,
}

macro_rules! dated {
    ($($t:ty),+) => {$(
        impl Dated for $t {
            fn date(&self) -> NaiveDate {
                self.day
            }
        }
    )+};
}
dated!(
    ContactGroup,
    DayCount,
    EpisodeFact,
    RequestFact,
    EarlyHelpFact
);

/// Every fact the report needs, from the start of the previous period to the end.
struct Facts {
    agencies: HashMap<Uuid, String>,
    contacts: Vec<ContactGroup>,
    referrals: Vec<DayCount>,
    /// Assessments by authorisation; hits: the outcome was no further action.
    assessments: Vec<DayCount>,
    strategy_discussions: Vec<DayCount>,
    /// Section 47 enquiries by start; hits: a conference followed.
    section47s: Vec<DayCount>,
    episodes: Vec<EpisodeFact>,
    requests: Vec<RequestFact>,
    early_help: Vec<EarlyHelpFact>,
}

fn sorted<T: Dated>(mut facts: Vec<T>) -> Vec<T> {
    facts.sort_by_key(Dated::date);
    facts
}

#[derive(FromQueryResult)]
struct RequestRow {
    to_agency_id: Uuid,
    sent_at: DateTime<Utc>,
    due_at: DateTime<Utc>,
    answered_at: Option<DateTime<Utc>>,
}

#[derive(FromQueryResult)]
struct EarlyHelpRow {
    requested_at: DateTime<Utc>,
    screened_at: Option<DateTime<Utc>>,
    screening_outcome: Option<String>,
    assessment_started_at: Option<DateTime<Utc>>,
}

fn position(codes: &[&str], code: Option<&str>) -> Option<usize> {
    code.and_then(|c| codes.iter().position(|k| *k == c))
}

/// SQL for "`recorded_at` more than 24 hours after `occurred_at`" ([`recorded_late`]).
fn recorded_late_sql(backend: DatabaseBackend) -> &'static str {
    match backend {
        DatabaseBackend::Postgres => "recorded_at > occurred_at + INTERVAL '24 hours'",
        // On the RFC 3339 UTC text: recorded on the same date or before, not late; on a date
        // at least two days on (a later month from its 2nd, or the same month two days on),
        // late; otherwise the exact difference, in whole milliseconds (SQLite's resolution;
        // rounding removes the error of subtracting two large day numbers). SQLite's date
        // parsing is the costly part, so it runs only for that last case.
        _ => {
            "CASE WHEN substr(recorded_at, 1, 10) <= substr(occurred_at, 1, 10) THEN 0 \
             WHEN substr(recorded_at, 1, 8) > substr(occurred_at, 1, 8) \
                  AND substr(recorded_at, 9, 2) > '01' THEN 1 \
             WHEN substr(recorded_at, 1, 8) = substr(occurred_at, 1, 8) \
                  AND substr(recorded_at, 9, 2) - substr(occurred_at, 9, 2) >= 2 THEN 1 \
             ELSE round((julianday(recorded_at) - julianday(occurred_at)) * 86400000.0) \
                  > 86400000 END"
        }
    }
}

/// One group of a [`day_groups`] query: its London day, its row (the key columns follow the
/// bucket columns), its count, and how many of it met each condition.
struct DayGroup {
    day: NaiveDate,
    row: QueryResult,
    count: u64,
    hits: Vec<u64>,
}

/// Counts the rows of `table` whose `time` falls in [`$1`, `$2`), grouped by `keys` and by
/// day, with how many of each group meet each of `conditions` — so the database sends a few
/// rows a day, not every record. The database groups by the UTC date and whether the time is
/// in the 23:00 UTC hour (the only hour whose London date can differ from its UTC date:
/// Europe/London is UTC or UTC+1, changing on the hour); the London date of each group is
/// then worked out here, by the one calendar the service uses (`clock::london_date`).
async fn day_groups<C: ConnectionTrait>(
    conn: &C,
    table: &str,
    time: &str,
    keys: &[&str],
    conditions: &[&str],
    values: Vec<sea_orm::Value>,
) -> AppResult<Vec<DayGroup>> {
    let backend = conn.get_database_backend();
    let (date, late_hour) = match backend {
        DatabaseBackend::Postgres => (
            format!("CAST({time} AT TIME ZONE 'UTC' AS DATE)"),
            format!("EXTRACT(HOUR FROM {time} AT TIME ZONE 'UTC') = 23"),
        ),
        // SQLite holds a UTC time as RFC 3339 text (`2019-09-30T23:30:00+00:00`, as sqlx
        // writes a `DateTime<Utc>`; every time comparison in the service relies on it): the
        // date and hour are its first characters, far cheaper than parsing each time.
        _ => (
            format!("substr({time}, 1, 10)"),
            format!("substr({time}, 12, 2) = '23'"),
        ),
    };
    let mut columns = vec![
        format!("{date} AS bucket_date"),
        format!("CAST(CASE WHEN {late_hour} THEN 1 ELSE 0 END AS BIGINT) AS bucket_late"),
    ];
    columns.extend(keys.iter().map(|k| k.to_string()));
    columns.push("COUNT(*) AS bucket_count".into());
    columns.extend(
        conditions
            .iter()
            .map(|c| format!("SUM(CASE WHEN {c} THEN 1 ELSE 0 END)")),
    );
    let mut group = vec!["bucket_date", "bucket_late"];
    group.extend(keys);
    let sql = format!(
        "SELECT {} FROM {table} WHERE {time} >= $1 AND {time} < $2 GROUP BY {}",
        columns.join(", "),
        group.join(", ")
    );
    let rows = conn
        .query_all_raw(crate::db::statement(backend, &sql, values))
        .await?;
    let count_at = 2 + keys.len();
    rows.into_iter()
        .map(|row| {
            let utc_date: NaiveDate = row.try_get_by_index(0)?;
            let late: i64 = row.try_get_by_index(1)?;
            let day = if late == 1 {
                london_date(
                    utc_date
                        .and_time(NaiveTime::from_hms_opt(23, 0, 0).expect("23:00"))
                        .and_utc(),
                )
            } else {
                utc_date
            };
            let count: i64 = row.try_get_by_index(count_at)?;
            let hits = (0..conditions.len())
                .map(|i| {
                    row.try_get_by_index::<i64>(count_at + 1 + i)
                        .map(|n| n as u64)
                })
                .collect::<Result<Vec<u64>, sea_orm::DbErr>>()?;
            Ok(DayGroup {
                day,
                row,
                count: count as u64,
                hits,
            })
        })
        .collect()
}

/// Reads every fact for `window` (the previous period's start to the report's end) in one
/// snapshot: a query per table, only the columns the figures need, a day's margin either
/// side; rows are then kept by their exact London date.
async fn load<C: ConnectionTrait>(conn: &C, window: Window) -> AppResult<Facts> {
    let start = start_of_day(window.from) - Duration::days(1);
    let end = start_of_day(window.to) + Duration::days(2);
    let inside = |day: NaiveDate| day >= window.from && day <= window.to;

    let agencies = agency::Entity::find()
        .select_only()
        .columns([agency::Column::Id, agency::Column::Name])
        .into_tuple::<(Uuid, String)>()
        .all(conn)
        .await?
        .into_iter()
        .collect();

    let backend = conn.get_database_backend();
    let range = || vec![start.into(), end.into()];

    // Contacts, counted per London day, agency and source in one grouped query.
    let late = recorded_late_sql(backend);
    let contacts = day_groups(
        conn,
        "contacts",
        "occurred_at",
        &["agency_id", "source_code"],
        &[
            "consent_position IN ('GIVEN', 'REFUSED')",
            "outcome = 'NO_FURTHER_ACTION'",
            "decided_at <= decision_due_at",
            late,
        ],
        range(),
    )
    .await?
    .into_iter()
    .filter(|g| inside(g.day))
    .map(|g| {
        Ok(ContactGroup {
            day: g.day,
            agency: g.row.try_get_by_index(2)?,
            source: g.row.try_get_by_index(3)?,
            contacts: g.count,
            consent_recorded: g.hits[0],
            nfa: g.hits[1],
            decided_in_time: g.hits[2],
            recorded_late: g.hits[3],
        })
    })
    .collect::<Result<Vec<_>, sea_orm::DbErr>>()?;

    let day_counts = |groups: Vec<DayGroup>| -> Vec<DayCount> {
        groups
            .into_iter()
            .filter(|g| inside(g.day))
            .map(|g| DayCount {
                day: g.day,
                count: g.count,
                hits: g.hits.first().copied().unwrap_or(0),
            })
            .collect()
    };
    let referrals =
        day_counts(day_groups(conn, "referrals", "referred_at", &[], &[], range()).await?);
    let assessments = day_counts(
        day_groups(
            conn,
            "assessments",
            "authorised_at",
            &[],
            &["outcome = 'NO_FURTHER_ACTION'"],
            range(),
        )
        .await?,
    );
    let strategy_discussions =
        day_counts(day_groups(conn, "strategy_discussions", "held_at", &[], &[], range()).await?);
    // An enquiry led to a conference when one exists for it, whenever it was held.
    let section47s = day_counts(
        day_groups(
            conn,
            "section47_enquiries",
            "started_at",
            &[],
            &["EXISTS (SELECT 1 FROM child_protection_conferences c \
               WHERE c.section47_id = section47_enquiries.id)"],
            range(),
        )
        .await?,
    );

    // Missing episodes by the time the notification was received (`la_notified_at`, or the
    // missing report's own time where none is recorded), each with its interview: one join.
    let sql = "SELECT e.child_id, e.reported_missing_at, e.la_notified_at, e.returned_at, \
         e.return_notified_at, e.recorded_at, \
         CAST(CASE WHEN r.id IS NULL THEN 0 ELSE 1 END AS BIGINT), r.outcome, \
         CAST(CASE WHEN r.completed_at <= r.due_at THEN 1 ELSE 0 END AS BIGINT), \
         r.late_reason, r.not_offered_reason \
         FROM missing_episodes e LEFT JOIN return_home_interviews r ON r.episode_id = e.id \
         WHERE (e.la_notified_at >= $1 AND e.la_notified_at < $2) \
            OR (e.la_notified_at IS NULL AND e.reported_missing_at >= $1 \
                AND e.reported_missing_at < $2)";
    let mut episodes = Vec::new();
    for row in conn
        .query_all_raw(crate::db::statement(backend, sql, range()))
        .await?
    {
        let reported: DateTime<Utc> = row.try_get_by_index(1)?;
        let notified: Option<DateTime<Utc>> = row.try_get_by_index(2)?;
        let day = london_date(notified.unwrap_or(reported));
        if !inside(day) {
            continue;
        }
        let returned: Option<DateTime<Utc>> = row.try_get_by_index(3)?;
        let return_notified: Option<DateTime<Utc>> = row.try_get_by_index(4)?;
        let recorded: DateTime<Utc> = row.try_get_by_index(5)?;
        let has_interview: i64 = row.try_get_by_index(6)?;
        let outcome: Option<String> = row.try_get_by_index(7)?;
        let in_time: i64 = row.try_get_by_index(8)?;
        let late_reason: Option<String> = row.try_get_by_index(9)?;
        let not_offered_reason: Option<String> = row.try_get_by_index(10)?;
        let interview = match (has_interview, outcome.as_deref()) {
            (0, _) => Interview::AwaitingReturn,
            (_, Some("COMPLETED")) => Interview::Completed {
                in_time: in_time == 1,
                late: position(&LATE_REASONS, late_reason.as_deref()),
            },
            (_, Some("NOT_OFFERED")) => Interview::NotOffered(position(
                &NOT_OFFERED_REASONS,
                not_offered_reason.as_deref(),
            )),
            (_, Some("DECLINED")) => Interview::Declined,
            (_, Some("CARRIED_OVER")) => Interview::CarriedOver,
            _ => Interview::Open,
        };
        episodes.push(EpisodeFact {
            day,
            child: row.try_get_by_index(0)?,
            notification_hours: notified.map(|n| hours(reported, n)),
            return_notification_hours: returned.zip(return_notified).map(|(r, n)| hours(r, n)),
            recorded_late: recorded_late(reported, recorded),
            interview,
        });
    }

    let requests = request::Entity::find()
        .select_only()
        .columns([
            request::Column::ToAgencyId,
            request::Column::SentAt,
            request::Column::DueAt,
            request::Column::AnsweredAt,
        ])
        .filter(request::Column::SentAt.gte(start))
        .filter(request::Column::SentAt.lt(end))
        .filter(request::Column::Status.ne("WITHDRAWN"))
        .into_model::<RequestRow>()
        .all(conn)
        .await?
        .into_iter()
        .filter_map(|r| {
            let day = london_date(r.sent_at);
            inside(day).then(|| RequestFact {
                day,
                agency: r.to_agency_id,
                answered_hours: r.answered_at.map(|a| hours(r.sent_at, a)),
                by_due: r.answered_at.is_some_and(|a| a <= r.due_at),
            })
        })
        .collect();

    let early_help = early_help::Entity::find()
        .select_only()
        .columns([
            early_help::Column::RequestedAt,
            early_help::Column::ScreenedAt,
            early_help::Column::ScreeningOutcome,
            early_help::Column::AssessmentStartedAt,
        ])
        .filter(early_help::Column::RequestedAt.gte(start))
        .filter(early_help::Column::RequestedAt.lt(end))
        .into_model::<EarlyHelpRow>()
        .all(conn)
        .await?
        .into_iter()
        .filter_map(|e| {
            let day = london_date(e.requested_at);
            inside(day).then(|| EarlyHelpFact {
                day,
                screening_days: e.screened_at.map(|s| days(e.requested_at, s)),
                assessment_days: e.assessment_started_at.map(|s| days(e.requested_at, s)),
                outcome: position(&SCREENING_OUTCOMES, e.screening_outcome.as_deref()),
            })
        })
        .collect();

    Ok(Facts {
        agencies,
        contacts: sorted(contacts),
        referrals: sorted(referrals),
        assessments: sorted(assessments),
        strategy_discussions: sorted(strategy_discussions),
        section47s: sorted(section47s),
        episodes: sorted(episodes),
        requests: sorted(requests),
        early_help: sorted(early_help),
    })
}

fn count(n: usize) -> u64 {
    n as u64
}

fn code_counts(codes: &[&'static str], counts: &[u64]) -> Vec<CodeCount> {
    codes
        .iter()
        .zip(counts)
        .map(|(code, count)| CodeCount {
            code,
            count: *count,
        })
        .collect()
}

/// Sorts national source codes in list order: 1A…1D, 2A, …, 9, 10.
fn source_order(code: &str) -> (u32, String) {
    let digits: String = code.chars().take_while(char::is_ascii_digit).collect();
    (
        digits.parse().unwrap_or(u32::MAX),
        code[digits.len()..].to_string(),
    )
}

fn rhi_figures(episodes: &[EpisodeFact]) -> RhiFigures {
    let mut f = RhiFigures::default();
    let mut late = [0u64; LATE_REASONS.len()];
    let mut not_offered = [0u64; NOT_OFFERED_REASONS.len()];
    for e in episodes {
        match e.interview {
            Interview::AwaitingReturn => f.awaiting_return += 1,
            Interview::Open => f.open += 1,
            Interview::Completed {
                in_time,
                late: reason,
            } => {
                f.completed += 1;
                if in_time {
                    f.in_timescale += 1;
                } else {
                    f.out_of_timescale += 1;
                    match reason {
                        Some(i) => late[i] += 1,
                        None => f.out_of_timescale_no_reason += 1,
                    }
                }
            }
            Interview::NotOffered(reason) => {
                f.not_offered += 1;
                if let Some(i) = reason {
                    not_offered[i] += 1;
                }
            }
            Interview::Declined => f.declined += 1,
            Interview::CarriedOver => f.carried_over += 1,
        }
    }
    f.in_timescale_percent = percent_of(f.in_timescale, f.completed);
    f.out_of_timescale_by_reason = code_counts(&LATE_REASONS, &late);
    f.not_offered_by_reason = code_counts(&NOT_OFFERED_REASONS, &not_offered);
    f
}

fn delay_figures(episodes: &[EpisodeFact]) -> DelayFigures {
    let mut notification: Vec<f64> = episodes
        .iter()
        .filter_map(|e| e.notification_hours)
        .collect();
    let mut returns: Vec<f64> = episodes
        .iter()
        .filter_map(|e| e.return_notification_hours)
        .collect();
    DelayFigures {
        missing_notified: count(notification.len()),
        median_hours_to_notification: quantile(&mut notification, 0.5),
        p90_hours_to_notification: quantile(&mut notification, 0.9),
        returns_notified: count(returns.len()),
        median_hours_to_return_notification: quantile(&mut returns, 0.5),
        p90_hours_to_return_notification: quantile(&mut returns, 0.9),
    }
}

fn early_help_figures(facts: &[EarlyHelpFact]) -> EarlyHelpFigures {
    let mut screening: Vec<f64> = facts.iter().filter_map(|e| e.screening_days).collect();
    let mut assessment: Vec<f64> = facts.iter().filter_map(|e| e.assessment_days).collect();
    let mut outcomes = [0u64; SCREENING_OUTCOMES.len()];
    let mut not_yet_screened = 0;
    for e in facts {
        match e.outcome {
            Some(i) => outcomes[i] += 1,
            None if e.screening_days.is_none() => not_yet_screened += 1,
            None => {}
        }
    }
    EarlyHelpFigures {
        requests: count(facts.len()),
        screened: count(screening.len()),
        median_days_to_screening: quantile(&mut screening, 0.5),
        assessments_started: count(assessment.len()),
        median_days_to_assessment: quantile(&mut assessment, 0.5),
        screening_outcomes: code_counts(&SCREENING_OUTCOMES, &outcomes),
        not_yet_screened,
    }
}

fn agency_name(facts: &Facts, id: Uuid) -> String {
    facts.agencies.get(&id).cloned().unwrap_or_default()
}

fn request_figures(facts: &Facts, requests: &[RequestFact]) -> Vec<AgencyRequests> {
    let mut by_agency: HashMap<Uuid, (u64, u64, Vec<f64>)> = HashMap::new();
    for r in requests {
        let entry = by_agency.entry(r.agency).or_default();
        entry.0 += 1;
        entry.1 += u64::from(r.by_due);
        entry.2.extend(r.answered_hours);
    }
    let mut out: Vec<AgencyRequests> = by_agency
        .into_iter()
        .map(
            |(agency_id, (requests, by_due, mut answered))| AgencyRequests {
                agency_id,
                agency_name: agency_name(facts, agency_id),
                requests,
                answered: count(answered.len()),
                answered_by_due: by_due,
                answered_by_due_percent: percent_of(by_due, requests),
                median_hours_to_answer: quantile(&mut answered, 0.5),
            },
        )
        .collect();
    out.sort_by(|a, b| (&a.agency_name, a.agency_id).cmp(&(&b.agency_name, b.agency_id)));
    out
}

/// How many events a slice of day counts holds, and how many of them had the property.
fn totals(days: &[DayCount]) -> (u64, u64) {
    days.iter()
        .fold((0, 0), |(count, hits), d| (count + d.count, hits + d.hits))
}

/// Every figure for one period, from the facts of a wider one.
fn figures(facts: &Facts, window: Window) -> Figures {
    let contacts = within(&facts.contacts, window);
    let assessments = within(&facts.assessments, window);
    let section47s = within(&facts.section47s, window);
    let episodes = within(&facts.episodes, window);

    let mut consent: HashMap<Uuid, (u64, u64)> = HashMap::new();
    let mut nfa: HashMap<&str, (u64, u64)> = HashMap::new();
    for c in contacts {
        let entry = consent.entry(c.agency).or_default();
        entry.0 += c.contacts;
        entry.1 += c.consent_recorded;
        let entry = nfa.entry(c.source.as_str()).or_default();
        entry.0 += c.contacts;
        entry.1 += c.nfa;
    }
    let mut consent_by_agency: Vec<AgencyConsent> = consent
        .into_iter()
        .map(|(agency_id, (contacts, recorded))| AgencyConsent {
            agency_id,
            agency_name: agency_name(facts, agency_id),
            contacts,
            consent_recorded: recorded,
            consent_recorded_percent: percent_of(recorded, contacts),
        })
        .collect();
    consent_by_agency
        .sort_by(|a, b| (&a.agency_name, a.agency_id).cmp(&(&b.agency_name, b.agency_id)));
    let mut nfa_by_source: Vec<SourceNfa> = nfa
        .into_iter()
        .map(|(code, (contacts, nfa))| SourceNfa {
            source_code: code.to_string(),
            contacts,
            nfa,
            nfa_percent: percent_of(nfa, contacts),
        })
        .collect();
    nfa_by_source.sort_by_key(|s| source_order(&s.source_code));

    let (assessments_completed, assessments_nfa) = totals(assessments);
    let (section47_enquiries, to_conference) = totals(section47s);
    let contact_count: u64 = contacts.iter().map(|c| c.contacts).sum();
    let decided_in_time: u64 = contacts.iter().map(|c| c.decided_in_time).sum();
    let children: HashSet<Uuid> = episodes.iter().map(|e| e.child).collect();
    Figures {
        window,
        label: window.label(),
        contacts: contact_count,
        referrals: totals(within(&facts.referrals, window)).0,
        assessments_completed,
        assessments_nfa,
        assessments_nfa_percent: percent_of(assessments_nfa, assessments_completed),
        strategy_discussions: totals(within(&facts.strategy_discussions, window)).0,
        section47_enquiries,
        section47_to_conference: to_conference,
        section47_to_conference_percent: percent_of(to_conference, section47_enquiries),
        missing_notifications: count(episodes.len()),
        missing_children: count(children.len()),
        rhi: rhi_figures(episodes),
        information_requests: request_figures(facts, within(&facts.requests, window)),
        early_help: early_help_figures(within(&facts.early_help, window)),
        police_notification_delay: delay_figures(episodes),
        consent_by_agency,
        decided_within_one_working_day: decided_in_time,
        decided_within_one_working_day_percent: percent_of(decided_in_time, contact_count),
        nfa_by_source,
        contacts_recorded_late: contacts.iter().map(|c| c.recorded_late).sum(),
        missing_episodes_recorded_late: count(episodes.iter().filter(|e| e.recorded_late).count()),
    }
}

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
    crate::domain::policy::allow_case(core, ctx, ACTION, CaseOperation::PerformanceReport).await?;
    let window = validate(from, to)?;
    let report = compute(&core.db, window).await?;
    audit::record_alone(
        &core.db,
        ctx,
        AuditEntry::success(ACTION).detail(json!({
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
