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
use entity::codes::{AssessmentOutcome, Gender, ReferralOutcome, Section47Outcome};
use entity::{
    assessment, child, child_protection_conference as conference, contact,
    early_help_episode as episode, referral, section47_enquiry as section47,
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;
use uuid::Uuid;

use crate::domain::audit::Action;
use crate::domain::audit::{self};
use crate::domain::common::checks::{self, Kind};
use crate::domain::common::clock::london_date;
use crate::domain::policy::{self, CaseOperation};
use crate::domain::{ActorKind, RequestCtx};
use crate::error::{AppError, AppResult};
use crate::Core;

mod forms;
mod lists;

pub use forms::*;
use lists::*;

pub const ACTION: Action = Action::ExportAnnexA;
const PURPOSE: &str = "inspection.annex_a";
/// The lists this service produces.
pub const LISTS: std::ops::RangeInclusive<u8> = 1..=5;
const MAX_REASON: usize = 500;
/// Children fetched per query (well inside both databases' bind-parameter limits).
const CHUNK: usize = 1000;

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
    let grant = policy::allow(core, ctx, ACTION, CaseOperation::AnnexAExport).await?;
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
        core,
        ctx,
        grant
            .entry()
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
        assert_eq!(
            gender_form(Some(Gender::NotStated)),
            "c) Not stated/recorded"
        );
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
