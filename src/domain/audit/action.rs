//! Every action the audit trail records, one name each. The text is what is stored and
//! hashed, so it never changes: a renamed string would leave old entries unverifiable.

macro_rules! actions {
    ($($variant:ident => $text:literal,)*) => {
        /// What an audit entry records was done (or refused).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Action {
            $($variant,)*
        }

        impl Action {
            pub const ALL: &'static [Action] = &[$(Action::$variant,)*];

            /// The stored text, e.g. "contact.read".
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Action::$variant => $text,)*
                }
            }
        }
    };
}

actions! {
    AgencyCreate => "agency.create",
    AgencyList => "agency.list",
    AgencyRead => "agency.read",
    AgencyUpdate => "agency.update",
    AssessmentRead => "assessment.read",
    AssessmentStart => "assessment.start",
    AssessmentUpdate => "assessment.update",
    AuditCheckpointCreate => "audit.checkpoint.create",
    AuditCheckpointExport => "audit.checkpoint.export",
    AuditCheckpointList => "audit.checkpoint.list",
    AuditEventList => "audit.event.list",
    AuditEventSearch => "audit.event.search",
    AuditVerify => "audit.verify",
    CalendarAddBankHoliday => "calendar.add_bank_holiday",
    ChildAccessLog => "child.access_log",
    ChildLink => "child.link",
    ChildRead => "child.read",
    ChildReadIdentifiers => "child.read_identifiers",
    ChildSearch => "child.search",
    ChildUpdate => "child.update",
    ClientCreate => "client.create",
    ClientDeactivate => "client.deactivate",
    ClientList => "client.list",
    ClientReactivate => "client.reactivate",
    ClientRead => "client.read",
    ConferenceRecord => "conference.record",
    ConsentRecord => "consent.record",
    ConsentWithdraw => "consent.withdraw",
    ContactDecide => "contact.decide",
    ContactList => "contact.list",
    ContactRead => "contact.read",
    ContactRecommend => "contact.recommend",
    ContactSetImmediateRisk => "contact.set_immediate_risk",
    ContactSubmit => "contact.submit",
    ContactSubmitReplay => "contact.submit.replay",
    DisclosureAccessLog => "disclosure.access_log",
    DisclosureRead => "disclosure.read",
    DisclosureShareOnward => "disclosure.share_onward",
    EarlyHelpList => "early_help.list",
    EarlyHelpRead => "early_help.read",
    EarlyHelpRequest => "early_help.request",
    EarlyHelpUpdate => "early_help.update",
    EventSubscribe => "event.subscribe",
    ExportAnnexA => "export.annex_a",
    Login => "login",
    LoginLiftThrottle => "login.lift_throttle",
    Logout => "logout",
    MissingInterview => "missing.interview",
    MissingList => "missing.list",
    MissingOverlaps => "missing.overlaps",
    MissingRead => "missing.read",
    MissingReport => "missing.report",
    MissingReportReplay => "missing.report.replay",
    MissingReturn => "missing.return",
    OauthToken => "oauth.token",
    OverrideApprove => "override.approve",
    OverrideRefuse => "override.refuse",
    OverrideRequest => "override.request",
    OverrideReview => "override.review",
    OverrideReviewQueue => "override.review_queue",
    ReferralList => "referral.list",
    ReferralRead => "referral.read",
    ReferralUpdate => "referral.update",
    ReportPerformance => "report.performance",
    RequestDecline => "request.decline",
    RequestList => "request.list",
    RequestRead => "request.read",
    RequestRespond => "request.respond",
    RequestSend => "request.send",
    Section47Outcome => "section47.outcome",
    SessionRefresh => "session.refresh",
    StrategyDiscussionRecord => "strategy_discussion.record",
    UserChangePassword => "user.change_password",
    UserCreate => "user.create",
    UserDeactivate => "user.deactivate",
    UserList => "user.list",
    UserReactivate => "user.reactivate",
    UserRead => "user.read",
    UserResetPassword => "user.reset_password",
    UserSetRoles => "user.set_roles",
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Action;
    use std::collections::HashSet;

    #[test]
    fn every_action_has_its_own_text() {
        let texts: HashSet<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
        assert_eq!(texts.len(), Action::ALL.len());
        assert!(texts.iter().all(|t| t
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '_')));
    }
}
