//! The performance report for MASH managers and auditors: aggregates only, no child's data.
//! Thin: call the service, present its figures.
use async_graphql::{Context, Object, Result, SimpleObject, ID};
use chrono::NaiveDate;

use super::codes::ScreeningOutcome;
use super::{env, ids};
use crate::domain::reporting::report;

/// A count as a GraphQL Int.
fn int(n: u64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// How many of something had one reason.
#[derive(SimpleObject)]
pub struct ReasonCount {
    /// The reason's code, as recorded on the return home interview.
    reason: String,
    /// How many had it.
    count: i32,
}

fn reasons(counts: Vec<report::CodeCount>) -> Vec<ReasonCount> {
    counts
        .into_iter()
        .map(|c| ReasonCount {
            reason: c.code.to_string(),
            count: int(c.count),
        })
        .collect()
}

/// Return home interviews for the missing episodes notified in a period, counted with their
/// episode (by the month the notification was received, whenever the interview happened).
/// completed + notOffered + declined + carriedOver + open + awaitingReturn = the period's
/// missing notifications.
#[derive(SimpleObject)]
pub struct RhiFigures {
    /// Interviews completed.
    completed: i32,
    /// Completed within 72 hours of the return (completed at or before the due time).
    in_timescale: i32,
    /// In timescale as a whole-number percentage of those completed; null when none were.
    in_timescale_percent: Option<i32>,
    /// Completed after the due time.
    out_of_timescale: i32,
    /// Completed late, by reason: every reason (POLICE_NOTIFICATION_DELAY,
    /// EARLIEST_CONVENIENCE, NON_ENGAGEMENT, MISSING_AGAIN), 0 where none.
    out_of_timescale_by_reason: Vec<ReasonCount>,
    /// Completed late with no reason recorded (only in data loaded from elsewhere: the
    /// service requires a reason).
    out_of_timescale_no_reason: i32,
    /// Interviews not offered.
    not_offered: i32,
    /// Not offered, by reason: every reason (MISSING_AGAIN_WITHIN_72_HOURS,
    /// TRIAGED_NO_APPARENT_RISK, IN_CUSTODY, WHEREABOUTS_UNKNOWN), 0 where none.
    not_offered_by_reason: Vec<ReasonCount>,
    /// Declined by the child and their family.
    declined: i32,
    /// Carried over into a later period (e.g. the child was missing again).
    carried_over: i32,
    /// The child has returned and the interview has no outcome yet.
    open: i32,
    /// No return recorded yet, so no interview is due.
    awaiting_return: i32,
}

impl From<report::RhiFigures> for RhiFigures {
    fn from(f: report::RhiFigures) -> Self {
        RhiFigures {
            completed: int(f.completed),
            in_timescale: int(f.in_timescale),
            in_timescale_percent: f.in_timescale_percent,
            out_of_timescale: int(f.out_of_timescale),
            out_of_timescale_by_reason: reasons(f.out_of_timescale_by_reason),
            out_of_timescale_no_reason: int(f.out_of_timescale_no_reason),
            not_offered: int(f.not_offered),
            not_offered_by_reason: reasons(f.not_offered_by_reason),
            declined: int(f.declined),
            carried_over: int(f.carried_over),
            open: int(f.open),
            awaiting_return: int(f.awaiting_return),
        }
    }
}

/// How promptly one partner agency answered the MASH's information requests sent in a
/// period (withdrawn requests left out).
#[derive(SimpleObject)]
pub struct AgencyRequestTimeliness {
    /// The responding agency.
    agency_id: ID,
    /// The responding agency's name.
    agency_name: String,
    /// Requests sent to it in the period and not withdrawn.
    requests: i32,
    /// Of those, answered (responded to or declined) so far.
    answered: i32,
    /// Of those, answered by the request's due time.
    answered_by_due: i32,
    /// Answered by the due time as a whole-number percentage of the requests.
    answered_by_due_percent: Option<i32>,
    /// Median hours from sending to the answer, over the requests answered; null when none were.
    median_hours_to_answer: Option<f64>,
}

impl From<report::AgencyRequests> for AgencyRequestTimeliness {
    fn from(r: report::AgencyRequests) -> Self {
        AgencyRequestTimeliness {
            agency_id: ids::encode("Agency", r.agency_id),
            agency_name: r.agency_name,
            requests: int(r.requests),
            answered: int(r.answered),
            answered_by_due: int(r.answered_by_due),
            answered_by_due_percent: r.answered_by_due_percent,
            median_hours_to_answer: r.median_hours_to_answer,
        }
    }
}

/// How many early help episodes screening ended with one outcome.
#[derive(SimpleObject)]
pub struct ScreeningOutcomeCount {
    /// The screening outcome.
    outcome: ScreeningOutcome,
    /// How many episodes it ended.
    count: i32,
}

/// Early help requested in a period, and how long screening and assessment took to start.
#[derive(SimpleObject)]
pub struct EarlyHelpFigures {
    /// Requests for early help made in the period.
    requests: i32,
    /// Of those, screened so far.
    screened: i32,
    /// Median days from the request to screening, over those screened.
    median_days_to_screening: Option<f64>,
    /// Of those, with an early help assessment started.
    assessments_started: i32,
    /// Median days from the request to the start of the early help assessment.
    median_days_to_assessment: Option<f64>,
    /// Screening outcomes: every outcome, 0 where none.
    screening_outcomes: Vec<ScreeningOutcomeCount>,
    /// Requests not screened yet.
    not_yet_screened: i32,
}

impl From<report::EarlyHelpFigures> for EarlyHelpFigures {
    fn from(f: report::EarlyHelpFigures) -> Self {
        EarlyHelpFigures {
            requests: int(f.requests),
            screened: int(f.screened),
            median_days_to_screening: f.median_days_to_screening,
            assessments_started: int(f.assessments_started),
            median_days_to_assessment: f.median_days_to_assessment,
            screening_outcomes: f
                .screening_outcomes
                .into_iter()
                .filter_map(|c| {
                    ScreeningOutcome::from_code(c.code).map(|outcome| ScreeningOutcomeCount {
                        outcome,
                        count: int(c.count),
                    })
                })
                .collect(),
            not_yet_screened: int(f.not_yet_screened),
        }
    }
}

/// How long the police took to tell the council, for the missing episodes notified in a
/// period. Hours; medians and 90th percentiles interpolate linearly between the nearest ranks.
#[derive(SimpleObject)]
pub struct DelayFigures {
    /// Episodes with a notification time.
    missing_notified: i32,
    /// Median hours from the child being reported missing to the council being notified.
    median_hours_to_notification: Option<f64>,
    /// 90th percentile of the same.
    p90_hours_to_notification: Option<f64>,
    /// Episodes with a return and a time the return was notified.
    returns_notified: i32,
    /// Median hours from the child's return to the council being notified of it.
    median_hours_to_return_notification: Option<f64>,
    /// 90th percentile of the same.
    p90_hours_to_return_notification: Option<f64>,
}

impl From<report::DelayFigures> for DelayFigures {
    fn from(f: report::DelayFigures) -> Self {
        DelayFigures {
            missing_notified: int(f.missing_notified),
            median_hours_to_notification: f.median_hours_to_notification,
            p90_hours_to_notification: f.p90_hours_to_notification,
            returns_notified: int(f.returns_notified),
            median_hours_to_return_notification: f.median_hours_to_return_notification,
            p90_hours_to_return_notification: f.p90_hours_to_return_notification,
        }
    }
}

/// Consent recorded on the contacts one agency made in a period (Ofsted: "the recording of
/// consent by partners when contacting the MASH is inconsistent").
#[derive(SimpleObject)]
pub struct AgencyConsent {
    /// The referring agency.
    agency_id: ID,
    /// The referring agency's name.
    agency_name: String,
    /// Contacts it made in the period.
    contacts: i32,
    /// Of those, with consent sought and recorded: given or refused (not "not sought").
    consent_recorded: i32,
    /// Consent recorded as a whole-number percentage of its contacts.
    consent_recorded_percent: Option<i32>,
}

impl From<report::AgencyConsent> for AgencyConsent {
    fn from(c: report::AgencyConsent) -> Self {
        AgencyConsent {
            agency_id: ids::encode("Agency", c.agency_id),
            agency_name: c.agency_name,
            contacts: int(c.contacts),
            consent_recorded: int(c.consent_recorded),
            consent_recorded_percent: c.consent_recorded_percent,
        }
    }
}

/// Contacts from one source, and how many the MASH decided needed no further action.
#[derive(SimpleObject)]
pub struct SourceNfa {
    /// The national contact source code (e.g. 6 for police, 2A for schools).
    source_code: String,
    /// Contacts from it in the period.
    contacts: i32,
    /// Of those, decided NO_FURTHER_ACTION.
    nfa: i32,
    /// No further action as a whole-number percentage of its contacts.
    nfa_percent: Option<i32>,
}

impl From<report::SourceNfa> for SourceNfa {
    fn from(s: report::SourceNfa) -> Self {
        SourceNfa {
            source_code: s.source_code,
            contacts: int(s.contacts),
            nfa: int(s.nfa),
            nfa_percent: s.nfa_percent,
        }
    }
}

/// The figures for one period (a calendar month, the whole report, or the period before).
/// Events belong to the period by the Europe/London date of their time; percentages are
/// whole numbers rounded half away from zero, null when there is nothing to divide by.
#[derive(SimpleObject)]
pub struct ReportPeriod {
    /// First day (Europe/London date, inclusive).
    from: NaiveDate,
    /// Last day (Europe/London date, inclusive).
    to: NaiveDate,
    /// `2019-09` for a calendar month; otherwise the interval, `2019-08-01/2019-11-30`.
    label: String,
    /// Contacts received (by the time the contact came in).
    contacts: i32,
    /// Progression to referral: referrals to children's social care made in the period.
    referrals: i32,
    /// Assessments completed (authorised) in the period.
    assessments_completed: i32,
    /// Of those, with the outcome no further action.
    assessments_nfa: i32,
    /// No further action as a whole-number percentage of assessments completed.
    assessments_nfa_percent: Option<i32>,
    /// Strategy discussions held.
    strategy_discussions: i32,
    /// Section 47 enquiries started.
    section47_enquiries: i32,
    /// Of those, the enquiries that led to an initial child protection conference (whenever held).
    section47_to_conference: i32,
    /// Led to a conference, as a whole-number percentage of the enquiries.
    section47_to_conference_percent: Option<i32>,
    /// Missing notifications received: episodes by the time the council was notified (the
    /// time the child was reported missing where no notification time is recorded).
    missing_notifications: i32,
    /// Distinct children those notifications were about.
    missing_children: i32,
    /// Return home interviews for those episodes.
    rhi: RhiFigures,
    /// Information-request timeliness by responding agency, by agency name.
    information_requests: Vec<AgencyRequestTimeliness>,
    /// Early help requested in the period.
    early_help: EarlyHelpFigures,
    /// How long the police took to notify missing episodes and returns.
    police_notification_delay: DelayFigures,
    /// Consent recorded by referring agency, by agency name (agencies with contacts only).
    consent_by_agency: Vec<AgencyConsent>,
    /// Contacts decided within one working day (by the end of the next working day).
    decided_within_one_working_day: i32,
    /// Decided within one working day as a whole-number percentage of all contacts
    /// (undecided contacts count as not decided in time).
    decided_within_one_working_day_percent: Option<i32>,
    /// Contacts ending in no further action, by contact source (national list order).
    nfa_by_source: Vec<SourceNfa>,
    /// Contacts recorded more than 24 hours after they were received (back-dated entries).
    contacts_recorded_late: i32,
    /// Missing episodes recorded more than 24 hours after the child was reported missing.
    missing_episodes_recorded_late: i32,
}

impl From<report::Figures> for ReportPeriod {
    fn from(f: report::Figures) -> Self {
        ReportPeriod {
            from: f.window.from,
            to: f.window.to,
            label: f.label,
            contacts: int(f.contacts),
            referrals: int(f.referrals),
            assessments_completed: int(f.assessments_completed),
            assessments_nfa: int(f.assessments_nfa),
            assessments_nfa_percent: f.assessments_nfa_percent,
            strategy_discussions: int(f.strategy_discussions),
            section47_enquiries: int(f.section47_enquiries),
            section47_to_conference: int(f.section47_to_conference),
            section47_to_conference_percent: f.section47_to_conference_percent,
            missing_notifications: int(f.missing_notifications),
            missing_children: int(f.missing_children),
            rhi: f.rhi.into(),
            information_requests: f.information_requests.into_iter().map(Into::into).collect(),
            early_help: f.early_help.into(),
            police_notification_delay: f.police_notification_delay.into(),
            consent_by_agency: f.consent_by_agency.into_iter().map(Into::into).collect(),
            decided_within_one_working_day: int(f.decided_within_one_working_day),
            decided_within_one_working_day_percent: f.decided_within_one_working_day_percent,
            nfa_by_source: f.nfa_by_source.into_iter().map(Into::into).collect(),
            contacts_recorded_late: int(f.contacts_recorded_late),
            missing_episodes_recorded_late: int(f.missing_episodes_recorded_late),
        }
    }
}

/// The change from the previous period to this one, in whole per cent rounded half away
/// from zero (200 strategy discussions then 98 is −51); null when the previous period had none.
#[derive(SimpleObject)]
pub struct ReportChange {
    /// Change in contacts.
    contacts: Option<i32>,
    /// Change in referrals.
    referrals: Option<i32>,
    /// Change in assessments completed.
    assessments_completed: Option<i32>,
    /// Change in strategy discussions.
    strategy_discussions: Option<i32>,
    /// Change in section 47 enquiries.
    section47_enquiries: Option<i32>,
    /// Change in missing notifications.
    missing_notifications: Option<i32>,
}

impl From<report::Change> for ReportChange {
    fn from(c: report::Change) -> Self {
        ReportChange {
            contacts: c.contacts,
            referrals: c.referrals,
            assessments_completed: c.assessments_completed,
            strategy_discussions: c.strategy_discussions,
            section47_enquiries: c.section47_enquiries,
            missing_notifications: c.missing_notifications,
        }
    }
}

/// The figures councils are judged on, for a period of Europe/London calendar dates.
#[derive(SimpleObject)]
#[graphql(name = "PerformanceReport")]
pub struct PerformanceReportOutput {
    /// First day of the period (inclusive).
    from: NaiveDate,
    /// Last day of the period (inclusive).
    to: NaiveDate,
    /// Each calendar month the period touches, oldest first (the first and last cut to the
    /// period when it does not start on a 1st or end on a month's last day).
    months: Vec<ReportPeriod>,
    /// The whole period.
    total: ReportPeriod,
    /// The period of the same length immediately before: the same number of calendar months
    /// when the period is whole months (1 August–30 November → 1 April–31 July), otherwise
    /// the same number of days.
    previous: ReportPeriod,
    /// The change from the previous period to this one.
    change: ReportChange,
}

impl From<report::PerformanceReport> for PerformanceReportOutput {
    fn from(r: report::PerformanceReport) -> Self {
        PerformanceReportOutput {
            from: r.from,
            to: r.to,
            months: r.months.into_iter().map(Into::into).collect(),
            total: r.total.into(),
            previous: r.previous.into(),
            change: r.change.into(),
        }
    }
}

#[derive(Default)]
pub struct ReportQuery;

#[Object]
impl ReportQuery {
    /// The performance report (MASH managers and auditors): contacts, referrals, assessments,
    /// strategy discussions, section 47 enquiries, missing children and their return home
    /// interviews, information-request timeliness, early help, police notification delays,
    /// consent recording, decision timeliness and back-dated records, per calendar month,
    /// for the whole period and for the period before. Aggregates only; every run is audited.
    async fn performance_report(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "First day of the period (Europe/London date, inclusive).")]
        from: NaiveDate,
        #[graphql(
            desc = "Last day of the period (Europe/London date, inclusive; not before `from`; the period is at most 24 months long)."
        )]
        to: NaiveDate,
    ) -> Result<PerformanceReportOutput> {
        let (core, request) = env(ctx);
        let report = report::performance_report(core, request, from, to).await?;
        Ok(report.into())
    }
}
