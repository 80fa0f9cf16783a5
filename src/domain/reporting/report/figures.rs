//! The figures of one period, as the API returns them.
use super::*;

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
    pub(super) fn between(before: &Figures, now: &Figures) -> Change {
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
