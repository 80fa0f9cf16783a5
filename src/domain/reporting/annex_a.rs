//! Ofsted ILACS Annex A, lists 1–5 (the lists nearest the front door): child-level rows for
//! inspection, with the column headings and coded values Annex A uses (docs/codes.md "Annex A
//! columns"). MASH managers export through GraphQL; the local operator exports CSV from the
//! command line with a reason. Every export is audited, naming every child in it, before a
//! single row is returned.
//!
//! Periods are inclusive Europe/London calendar dates; an event belongs to the period when
//! its London date does. "Last 12 months" counts are for the same child, over the 12 months
//! up to and including the row's date (a record exactly 12 months earlier is outside them).
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Months, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Europe::London;
use entity::{
    assessment, child, child_protection_conference as conference, contact,
    early_help_episode as episode, referral, section47_enquiry as section47,
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;
use uuid::Uuid;

use crate::domain::audit::{self, AuditEntry};
use crate::domain::common::checks::{self, Kind};
use crate::domain::common::clock::london_date;
use crate::domain::policy::CaseOperation;
use crate::domain::{ActorKind, RequestCtx};
use crate::error::{AppError, AppResult};
use crate::Core;

pub const ACTION: &str = "export.annex_a";
const PURPOSE: &str = "inspection.annex_a";
/// The lists this service produces.
pub const LISTS: std::ops::RangeInclusive<u8> = 1..=5;
const MAX_REASON: usize = 500;
/// Children fetched per query (well inside both databases' bind-parameter limits).
const CHUNK: usize = 1000;

/// The national contact / referral source codes and their Annex A form (docs/codes.md "Contact /
/// referral source"): the one table Annex A lists 1 and 3 use.
pub const SOURCE_FORMS: [(&str, &str); 22] = [
    ("1A", "a) 1A: Individual"),
    ("1B", "b) 1B: Individual"),
    ("1C", "c) 1C: Individual"),
    ("1D", "d) 1D: Individual"),
    ("2A", "e) 2A: Schools"),
    ("2B", "f) 2B: Education services"),
    ("3A", "g) 3A: Health services"),
    ("3B", "h) 3B: Health services"),
    ("3C", "i) 3C: Health services"),
    ("3D", "j) 3D: Health services"),
    ("3E", "k) 3E: Health services"),
    ("3F", "l) 3F: Health services"),
    ("4", "m) 4: Housing"),
    ("5A", "n) 5A: LA services"),
    ("5B", "o) 5B: LA services"),
    ("5C", "p) 5C: LA services"),
    ("5D", "p1) 5D: LA services"),
    ("6", "q) 6: Police"),
    ("7", "r) 7: Other legal agency"),
    ("8", "s) 8: Other"),
    ("9", "t) 9: Anonymous"),
    ("10", "u) 10: Unknown"),
];

/// The DfE ethnicity codes in Annex A's order: the letter of `a) WBRI` is the position here.
pub const ETHNICITY_ORDER: [&str; 20] = [
    "WBRI", "WIRI", "WIRT", "WOTH", "WROM", "MWBC", "MWBA", "MWAS", "MOTH", "AIND", "APKN", "ABAN",
    "AOTH", "BCRB", "BAFR", "BOTH", "CHNE", "OOTH", "REFU", "NOBT",
];

/// The columns every list starts with.
pub const COMMON_HEADINGS: [&str; 5] = [
    "Child Unique ID",
    "Gender",
    "Ethnicity",
    "Date of Birth",
    "Age of Child (Years)",
];

/// Each list's own columns, after the common ones (docs/codes.md "Ofsted ILACS Annex A lists").
pub fn list_headings(list: u8) -> &'static [&'static str] {
    match list {
        1 => &["Date of Contact", "Contact Source"],
        2 => &[
            "Assessment start date",
            "Assessment completion date",
            "Organisation completing assessment",
        ],
        3 => &[
            "Date of referral",
            "Referral Source",
            "Referral NFA?",
            "Number of Referrals in Last 12 Months",
            "Allocated Team",
            "Allocated Worker",
        ],
        4 => &[
            "Does the Child have a Disability",
            "Continuous Assessment Start Date",
            "Child Seen During Continuous Assessment",
            "Continuous Assessment Date of Authorisation",
            "Was the child assessed as requiring LA children's social care support?",
            "Allocated Team",
            "Allocated Worker",
        ],
        5 => &[
            "Does the Child have a Disability",
            "Strategy discussion initiating Section 47 Enquiry Start Date",
            "Was an Initial Child Protection Conference deemed unnecessary?",
            "Date of Initial Child Protection Conference",
            "Did the Initial Child Protection Conference Result in a Child Protection Plan",
            "Number of Section 47 Enquiries in the last 12 months",
            "Number of ICPCs in the last 12 months",
            "Allocated Team",
            "Allocated Worker",
        ],
        _ => &[],
    }
}

/// All of a list's headings, in order.
pub fn headings(list: u8) -> Vec<String> {
    COMMON_HEADINGS
        .iter()
        .chain(list_headings(list))
        .map(|h| h.to_string())
        .collect()
}

/// A source code in its Annex A form (`6` → `q) 6: Police`); an unknown code as stored.
pub fn source_form(code: &str) -> String {
    SOURCE_FORMS
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, form)| form.to_string())
        .unwrap_or_else(|| code.to_string())
}

/// Gender in its Annex A form.
pub fn gender_form(code: &str) -> &'static str {
    match code {
        "MALE" => "a) Male",
        "FEMALE" => "b) Female",
        "NEITHER" => "d) Neither",
        _ => "c) Not stated/recorded",
    }
}

/// Ethnicity in its Annex A form (`MWBC` → `f) MWBC`); none recorded is "information not yet
/// obtained", `t) NOBT`.
pub fn ethnicity_form(code: Option<&str>) -> String {
    let code = code.map(str::trim).unwrap_or("");
    let position = ETHNICITY_ORDER
        .iter()
        .position(|c| c.eq_ignore_ascii_case(code))
        .unwrap_or(ETHNICITY_ORDER.len() - 1);
    let letter = char::from(b'a' + position as u8);
    format!("{letter}) {}", ETHNICITY_ORDER[position])
}

/// `a) Yes` / `b) No`; blank when not known.
pub fn yes_no(value: Option<bool>) -> String {
    match value {
        Some(true) => "a) Yes".into(),
        Some(false) => "b) No".into(),
        None => String::new(),
    }
}

/// A date as Annex A writes it: dd/mm/yyyy.
pub fn date_form(day: NaiveDate) -> String {
    day.format("%d/%m/%Y").to_string()
}

fn london_date_form(at: Option<DateTime<Utc>>) -> String {
    at.map(|at| date_form(london_date(at))).unwrap_or_default()
}

/// Whole years from the date of birth to `on`; blank without a date of birth or before it.
pub fn age_on(date_of_birth: Option<NaiveDate>, on: NaiveDate) -> String {
    date_of_birth
        .and_then(|dob| on.years_since(dob))
        .map(|years| years.to_string())
        .unwrap_or_default()
}

/// The first day of the 12 months up to and including `day`.
fn twelve_months_back(day: NaiveDate) -> NaiveDate {
    day.checked_sub_months(Months::new(12))
        .map(|d| d + Duration::days(1))
        .unwrap_or(NaiveDate::MIN)
}

/// How many of `dates` fall in the 12 months up to and including `day`.
fn in_last_12_months(dates: Option<&Vec<NaiveDate>>, day: NaiveDate) -> usize {
    let first = twelve_months_back(day);
    dates.map_or(0, |dates| {
        dates.iter().filter(|d| **d >= first && **d <= day).count()
    })
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

/// One export: a list's headings and rows, for a period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnnexAExport {
    pub list: u8,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub headings: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl AnnexAExport {
    /// RFC 4180 CSV: a heading line, then one line per row, CRLF line ends. Fields holding a
    /// comma, quote or line break are quoted (quotes doubled); a field a spreadsheet would
    /// run as a formula (starting `=`, `+`, `-`, `@`, tab or CR) is prefixed with `'`.
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        for line in std::iter::once(&self.headings).chain(&self.rows) {
            let fields: Vec<String> = line.iter().map(|f| csv_field(f)).collect();
            out.push_str(&fields.join(","));
            out.push_str("\r\n");
        }
        out
    }
}

fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if value.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

/// The period as instants, widened by a day either side for the query; rows are then kept
/// by their exact London date, so the database's own time comparison never decides.
struct Period {
    from: NaiveDate,
    to: NaiveDate,
}

impl Period {
    fn query_start(&self, first_day: NaiveDate) -> DateTime<Utc> {
        start_of_day(first_day) - Duration::days(1)
    }

    fn query_end(&self) -> DateTime<Utc> {
        start_of_day(self.to) + Duration::days(2)
    }

    fn contains(&self, at: DateTime<Utc>) -> bool {
        let day = london_date(at);
        day >= self.from && day <= self.to
    }

    /// The first day any "last 12 months" count of a row in the period can reach back to.
    fn history_start(&self) -> NaiveDate {
        twelve_months_back(self.from)
    }
}

/// A row before sorting: its event date, the record's id, the child, the list's own columns.
struct Row {
    day: NaiveDate,
    id: Uuid,
    child_id: Uuid,
    extra: Vec<String>,
}

async fn children_by_id<C: ConnectionTrait>(
    conn: &C,
    ids: impl IntoIterator<Item = Uuid>,
) -> AppResult<HashMap<Uuid, child::Model>> {
    let ids: Vec<Uuid> = ids
        .into_iter()
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut children = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        for c in child::Entity::find()
            .filter(child::Column::Id.is_in(chunk.iter().copied()))
            .all(conn)
            .await?
        {
            children.insert(c.id, c);
        }
    }
    Ok(children)
}

fn disability(children: &HashMap<Uuid, child::Model>, child_id: Uuid) -> String {
    yes_no(children.get(&child_id).and_then(|c| c.disability))
}

fn common_columns(child_id: Uuid, child: Option<&child::Model>, on: NaiveDate) -> Vec<String> {
    vec![
        child_id.to_string(),
        gender_form(child.map_or("", |c| c.gender.as_str())).to_string(),
        ethnicity_form(child.and_then(|c| c.ethnicity.as_deref())),
        child
            .and_then(|c| c.date_of_birth)
            .map(date_form)
            .unwrap_or_default(),
        age_on(child.and_then(|c| c.date_of_birth), on),
    ]
}

/// The dates of each child's records, for the "last 12 months" counts.
fn dates_by_child(
    records: impl IntoIterator<Item = (Uuid, DateTime<Utc>)>,
) -> HashMap<Uuid, Vec<NaiveDate>> {
    let mut by_child: HashMap<Uuid, Vec<NaiveDate>> = HashMap::new();
    for (child_id, at) in records {
        by_child.entry(child_id).or_default().push(london_date(at));
    }
    by_child
}

/// List 1: contacts received in the period, one row per child per contact.
async fn contacts<C: ConnectionTrait>(conn: &C, period: &Period) -> AppResult<Vec<Row>> {
    let rows = contact::Entity::find()
        .filter(contact::Column::OccurredAt.gte(period.query_start(period.from)))
        .filter(contact::Column::OccurredAt.lt(period.query_end()))
        .order_by_asc(contact::Column::OccurredAt)
        .order_by_asc(contact::Column::Id)
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter(|c| period.contains(c.occurred_at))
        .map(|c| {
            let day = london_date(c.occurred_at);
            Row {
                day,
                id: c.id,
                child_id: c.child_id,
                extra: vec![date_form(day), source_form(&c.source_code)],
            }
        })
        .collect())
}

/// List 2: early help assessments started in the period.
async fn early_help<C: ConnectionTrait>(conn: &C, period: &Period) -> AppResult<Vec<Row>> {
    let rows = episode::Entity::find()
        .filter(episode::Column::AssessmentStartedAt.gte(period.query_start(period.from)))
        .filter(episode::Column::AssessmentStartedAt.lt(period.query_end()))
        .order_by_asc(episode::Column::Id)
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|e| {
            let started = e.assessment_started_at.filter(|at| period.contains(*at))?;
            let day = london_date(started);
            Some(Row {
                day,
                id: e.id,
                child_id: e.child_id,
                extra: vec![
                    date_form(day),
                    london_date_form(e.assessment_completed_at),
                    e.organisation.clone().unwrap_or_default(),
                ],
            })
        })
        .collect())
}

/// List 3: referrals made in the period, with the child's referrals in the last 12 months.
async fn referrals<C: ConnectionTrait>(conn: &C, period: &Period) -> AppResult<Vec<Row>> {
    // One query: every referral from the earliest day a count reaches back to, to the end.
    let history = referral::Entity::find()
        .filter(referral::Column::ReferredAt.gte(period.query_start(period.history_start())))
        .filter(referral::Column::ReferredAt.lt(period.query_end()))
        .order_by_asc(referral::Column::Id)
        .all(conn)
        .await?;
    let dates = dates_by_child(history.iter().map(|r| (r.child_id, r.referred_at)));
    Ok(history
        .into_iter()
        .filter(|r| period.contains(r.referred_at))
        .map(|r| {
            let day = london_date(r.referred_at);
            let nfa = r.outcome.as_deref() == Some("NO_FURTHER_ACTION");
            Row {
                day,
                id: r.id,
                child_id: r.child_id,
                extra: vec![
                    date_form(day),
                    source_form(&r.source_code),
                    yes_no(Some(nfa)),
                    in_last_12_months(dates.get(&r.child_id), day).to_string(),
                    r.allocated_team.unwrap_or_default(),
                    r.allocated_worker.unwrap_or_default(),
                ],
            }
        })
        .collect())
}

/// Whether an authorised assessment found the child needs LA children's social care support.
fn requires_support(a: &assessment::Model) -> Option<bool> {
    a.authorised_at?;
    match a.outcome.as_deref()? {
        "STRATEGY_DISCUSSION" | "OTHER" => Some(true),
        "NO_FURTHER_ACTION" | "STEP_DOWN_TO_EARLY_HELP" => Some(false),
        _ => None,
    }
}

/// List 4: assessments started in the period.
async fn assessments<C: ConnectionTrait>(
    conn: &C,
    period: &Period,
) -> AppResult<(Vec<assessment::Model>, Vec<Uuid>)> {
    let rows: Vec<assessment::Model> = assessment::Entity::find()
        .filter(assessment::Column::StartedAt.gte(period.query_start(period.from)))
        .filter(assessment::Column::StartedAt.lt(period.query_end()))
        .order_by_asc(assessment::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .filter(|a| period.contains(a.started_at))
        .collect();
    let children = rows.iter().map(|a| a.child_id).collect();
    Ok((rows, children))
}

fn assessment_rows(
    rows: Vec<assessment::Model>,
    children: &HashMap<Uuid, child::Model>,
) -> Vec<Row> {
    rows.into_iter()
        .map(|a| {
            let day = london_date(a.started_at);
            Row {
                day,
                id: a.id,
                child_id: a.child_id,
                extra: vec![
                    disability(children, a.child_id),
                    date_form(day),
                    london_date_form(a.child_seen_at),
                    london_date_form(a.authorised_at),
                    yes_no(requires_support(&a)),
                    a.allocated_team.clone().unwrap_or_default(),
                    a.allocated_worker.clone().unwrap_or_default(),
                ],
            }
        })
        .collect()
}

/// Section 47 enquiries started in the period, with what the list 5 columns need: the
/// conference of each, and the child's enquiries and conferences in the last 12 months.
struct Section47Data {
    enquiries: Vec<section47::Model>,
    conference_of: HashMap<Uuid, conference::Model>,
    enquiry_dates: HashMap<Uuid, Vec<NaiveDate>>,
    conference_dates: HashMap<Uuid, Vec<NaiveDate>>,
}

async fn section47s<C: ConnectionTrait>(conn: &C, period: &Period) -> AppResult<Section47Data> {
    let history_start = period.query_start(period.history_start());
    let history = section47::Entity::find()
        .filter(section47::Column::StartedAt.gte(history_start))
        .filter(section47::Column::StartedAt.lt(period.query_end()))
        .order_by_asc(section47::Column::Id)
        .all(conn)
        .await?;
    // Conferences from the same day on, including those held after the period ends (an
    // enquiry in the period reports its conference whenever it was held).
    let conferences = conference::Entity::find()
        .filter(conference::Column::HeldAt.gte(history_start))
        .order_by_asc(conference::Column::Id)
        .all(conn)
        .await?;
    let enquiry_dates = dates_by_child(history.iter().map(|s| (s.child_id, s.started_at)));
    let conference_dates = dates_by_child(conferences.iter().map(|c| (c.child_id, c.held_at)));
    let enquiries: Vec<section47::Model> = history
        .into_iter()
        .filter(|s| period.contains(s.started_at))
        .collect();
    let wanted: HashSet<Uuid> = enquiries.iter().map(|s| s.id).collect();
    let conference_of = conferences
        .into_iter()
        .filter(|c| wanted.contains(&c.section47_id))
        .map(|c| (c.section47_id, c))
        .collect();
    Ok(Section47Data {
        enquiries,
        conference_of,
        enquiry_dates,
        conference_dates,
    })
}

fn section47_rows(data: Section47Data, children: &HashMap<Uuid, child::Model>) -> Vec<Row> {
    const ICPC: &str = "INITIAL_CHILD_PROTECTION_CONFERENCE";
    data.enquiries
        .into_iter()
        .map(|s| {
            let day = london_date(s.started_at);
            let conference = data.conference_of.get(&s.id);
            let unnecessary = s.outcome.as_deref().map(|o| o != ICPC);
            Row {
                day,
                id: s.id,
                child_id: s.child_id,
                extra: vec![
                    disability(children, s.child_id),
                    date_form(day),
                    yes_no(unnecessary),
                    london_date_form(conference.map(|c| c.held_at)),
                    yes_no(conference.map(|c| c.plan_made)),
                    in_last_12_months(data.enquiry_dates.get(&s.child_id), day).to_string(),
                    in_last_12_months(data.conference_dates.get(&s.child_id), day).to_string(),
                    s.allocated_team.clone().unwrap_or_default(),
                    s.allocated_worker.clone().unwrap_or_default(),
                ],
            }
        })
        .collect()
}

/// The rows of one list, in event-date then id order.
async fn rows<C: ConnectionTrait>(
    conn: &C,
    list: u8,
    period: &Period,
) -> AppResult<(Vec<Row>, HashMap<Uuid, child::Model>)> {
    let (mut rows, children) = match list {
        4 => {
            let (found, ids) = assessments(conn, period).await?;
            let children = children_by_id(conn, ids).await?;
            (assessment_rows(found, &children), children)
        }
        5 => {
            let data = section47s(conn, period).await?;
            let children = children_by_id(conn, data.enquiries.iter().map(|s| s.child_id)).await?;
            (section47_rows(data, &children), children)
        }
        _ => {
            let rows = match list {
                1 => contacts(conn, period).await?,
                2 => early_help(conn, period).await?,
                _ => referrals(conn, period).await?,
            };
            let children = children_by_id(conn, rows.iter().map(|r| r.child_id)).await?;
            (rows, children)
        }
    };
    rows.sort_by_key(|r| (r.day, r.id));
    Ok((rows, children))
}

/// Ofsted Annex A list `list` (1–5) for the London dates `from`..=`to`.
///
/// MASH managers, and the local operator at the command line, who must give a `reason`.
/// The export is audited — list, period, row count, reason and every child in the rows —
/// before it is returned; a refusal is audited by the policy check.
pub async fn export(
    core: &Core,
    ctx: &RequestCtx,
    list: u8,
    from: NaiveDate,
    to: NaiveDate,
    reason: Option<&str>,
) -> AppResult<AnnexAExport> {
    crate::domain::policy::allow_case(core, ctx, ACTION, CaseOperation::AnnexAExport).await?;
    if !LISTS.contains(&list) {
        return Err(AppError::bad_input("list", "must be 1, 2, 3, 4 or 5"));
    }
    checks::date("from", from)?;
    checks::date("to", to)?;
    if to < from {
        return Err(AppError::bad_input("to", "must not be before from"));
    }
    let reason = checks::optional_max("reason", reason, Kind::Note, MAX_REASON)?;
    let reason = reason.as_deref();
    if ctx.actor.kind == ActorKind::Operator && reason.is_none() {
        return Err(AppError::bad_input(
            "reason",
            "the operator must give a reason for exporting case data",
        ));
    }
    let period = Period { from, to };
    let (rows, children) = rows(&core.db, list, &period).await?;
    let child_ids: Vec<Uuid> = rows.iter().map(|r| r.child_id).collect();
    let rows: Vec<Vec<String>> = rows
        .into_iter()
        .map(|r| {
            let mut row = common_columns(r.child_id, children.get(&r.child_id), r.day);
            row.extend(r.extra);
            row
        })
        .collect();
    audit::record_alone(
        &core.db,
        ctx,
        AuditEntry::success(ACTION)
            .purpose(PURPOSE)
            .detail(json!({
                "list": list,
                "from": from.to_string(),
                "to": to.to_string(),
                "rows": rows.len(),
                "reason": reason,
            }))
            .children(child_ids),
    )
    .await?;
    Ok(AnnexAExport {
        list,
        from,
        to,
        headings: headings(list),
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn coded_forms() {
        assert_eq!(source_form("6"), "q) 6: Police");
        assert_eq!(source_form("5D"), "p1) 5D: LA services");
        assert_eq!(source_form("10"), "u) 10: Unknown");
        assert_eq!(ethnicity_form(Some("WBRI")), "a) WBRI");
        assert_eq!(ethnicity_form(Some("mwbc")), "f) MWBC");
        assert_eq!(ethnicity_form(Some("REFU")), "s) REFU");
        assert_eq!(ethnicity_form(None), "t) NOBT");
        assert_eq!(ethnicity_form(Some("")), "t) NOBT");
        assert_eq!(gender_form("NOT_STATED"), "c) Not stated/recorded");
        assert_eq!(date_form(d(2026, 7, 1)), "01/07/2026");
    }

    #[test]
    fn ages_are_whole_years() {
        assert_eq!(age_on(Some(d(2015, 7, 10)), d(2026, 7, 9)), "10");
        assert_eq!(age_on(Some(d(2015, 7, 10)), d(2026, 7, 10)), "11");
        assert_eq!(age_on(Some(d(2016, 2, 29)), d(2027, 2, 28)), "10");
        assert_eq!(age_on(None, d(2026, 7, 10)), "");
        assert_eq!(age_on(Some(d(2027, 1, 1)), d(2026, 7, 10)), "");
    }

    #[test]
    fn twelve_months_include_the_day_not_a_year_before() {
        let dates = vec![d(2025, 8, 1), d(2025, 8, 2), d(2026, 8, 1), d(2026, 8, 2)];
        assert_eq!(in_last_12_months(Some(&dates), d(2026, 8, 1)), 2);
        assert_eq!(in_last_12_months(None, d(2026, 8, 1)), 0);
    }

    #[test]
    fn london_days_start_at_local_midnight() {
        assert_eq!(
            start_of_day(d(2026, 7, 1)).to_rfc3339(),
            "2026-06-30T23:00:00+00:00"
        );
        assert_eq!(
            start_of_day(d(2026, 12, 1)).to_rfc3339(),
            "2026-12-01T00:00:00+00:00"
        );
    }

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        let export = AnnexAExport {
            list: 1,
            from: d(2026, 1, 1),
            to: d(2026, 1, 1),
            headings: vec!["A".into(), "B".into()],
            rows: vec![vec!["Team \"North\", Walsall".into(), "=1+1".into()]],
        };
        assert_eq!(
            export.to_csv(),
            "A,B\r\n\"Team \"\"North\"\", Walsall\",'=1+1\r\n"
        );
    }

    #[test]
    fn every_list_has_its_headings() {
        for list in LISTS {
            assert!(headings(list).len() > COMMON_HEADINGS.len());
        }
        assert_eq!(headings(1)[5], "Date of Contact");
    }
}
