//! GraphQL enums for the domain's code lists. Those stored in a column are remote enums of
//! the `entity::codes` vocabulary, so a code added there fails to compile until named here.

/// Defines a GraphQL enum whose variants map to stored codes.
macro_rules! code_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $code:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            pub fn code(self) -> &'static str {
                match self {
                    $($name::$variant => $code),+
                }
            }

            pub fn from_code(code: &str) -> Option<Self> {
                match code {
                    $($code => Some($name::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

/// Gender as Annex A records it.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::codes::Gender")]
pub enum Gender {
    /// Male (Annex A `a) Male`).
    Male,
    /// Female (Annex A `b) Female`).
    Female,
    /// Not stated or not recorded.
    NotStated,
    /// Neither male nor female (Annex A `d) Neither`).
    Neither,
}

/// The consent position a contact arrives with.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::codes::ConsentPosition")]
pub enum ConsentPosition {
    /// Consent was given (who, relationship, when, scope are required).
    Given,
    /// Consent was not sought (the reason is required).
    NotSought,
    /// Consent was refused.
    Refused,
}

/// Where a contact is in the front door.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::codes::ContactStatus")]
pub enum ContactStatus {
    /// No consent and no authorised override yet: information requests are refused.
    AwaitingConsent,
    /// Consent or an authorised override allows information requests.
    InformationGathering,
    /// A MASH manager has recorded the decision.
    Decided,
}

/// The MASH's decision on a contact.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::codes::ContactOutcome")]
pub enum ContactOutcome {
    /// No further action.
    NoFurtherAction,
    /// Information and advice.
    InformationAndAdvice,
    /// Referral to early help.
    StepDownToEarlyHelp,
    /// Referral to children's social care for assessment.
    ReferralForAssessment,
    /// Straight to a strategy discussion (opens a referral).
    StrategyDiscussion,
}

/// Why information may be shared without consent (DPA 2018).
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::codes::OverrideReason")]
pub enum OverrideReason {
    /// Consent cannot be given.
    CannotBeGiven,
    /// The MASH cannot reasonably be expected to obtain it.
    CannotReasonablyBeObtained,
    /// Seeking it would prejudice the child's protection.
    WouldPrejudiceProtection,
}

/// An override's decision.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::codes::OverrideStatus")]
pub enum OverrideStatus {
    /// Awaiting a MASH manager's decision.
    Requested,
    /// Approved by a MASH manager.
    Approved,
    /// Refused by a MASH manager.
    Refused,
}

/// A break-glass override's second-manager review.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::codes::ReviewStatus")]
pub enum ReviewStatus {
    /// Not break-glass: no review needed.
    NotRequired,
    /// Awaiting a second manager.
    Pending,
    /// Upheld by a second manager.
    Upheld,
    /// Refused on review: open requests relying on it were withdrawn.
    Refused,
}

/// How urgently the MASH needs an answer (due in 4, 24 or 72 hours by default).
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::codes::Priority")]
pub enum Priority {
    /// The most urgent: due 4 hours after sending by default.
    Red,
    /// Due 24 hours after sending by default.
    Amber,
    /// The least urgent: due 72 hours after sending by default.
    Green,
}

/// An information request's state.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::codes::RequestStatus")]
pub enum RequestStatus {
    /// Sent and awaiting the agency's answer.
    Open,
    /// The agency answered with one or more disclosures.
    Responded,
    /// The agency decided not to share (reason recorded).
    Declined,
    /// Withdrawn, e.g. because the consent it relied on was withdrawn.
    Withdrawn,
}

/// The lawful basis of a disclosure (docs/codes.md "Lawful basis of a disclosure").
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::codes::LawfulBasis")]
pub enum LawfulBasis {
    /// UK GDPR Art 6(1)(e) public task.
    #[graphql(name = "UK_GDPR_6_1_E_PUBLIC_TASK")]
    UkGdpr61EPublicTask,
    /// UK GDPR Art 6(1)(c) legal obligation.
    #[graphql(name = "UK_GDPR_6_1_C_LEGAL_OBLIGATION")]
    UkGdpr61CLegalObligation,
    /// UK GDPR Art 6(1)(d) vital interests.
    #[graphql(name = "UK_GDPR_6_1_D_VITAL_INTERESTS")]
    UkGdpr61DVitalInterests,
    /// UK GDPR Art 6(1)(a) consent.
    #[graphql(name = "UK_GDPR_6_1_A_CONSENT")]
    UkGdpr61AConsent,
    /// DPA 2018 Part 3 (law enforcement), Schedule 8 paragraph 4.
    Dpa2018Part3Schedule8Para4,
}

/// Originator handling instructions (police 3x5x2 codes, legacy 5x5x5 codes).
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::codes::HandlingCode")]
pub enum HandlingCode {
    /// Lawful sharing permitted.
    P,
    /// Lawful sharing permitted with conditions (the conditions text applies).
    C,
    /// Legacy 1: onward only to law-enforcement and prosecuting agencies.
    #[graphql(name = "LEGACY_1")]
    Legacy1,
    /// Legacy 2: onward only with a recorded authorisation.
    #[graphql(name = "LEGACY_2")]
    Legacy2,
    /// Legacy 3: no onward sharing.
    #[graphql(name = "LEGACY_3")]
    Legacy3,
    /// Legacy 4: within the originating agency only (the MASH sees a stub).
    #[graphql(name = "LEGACY_4")]
    Legacy4,
    /// Legacy 5: no further dissemination (the MASH sees a stub).
    #[graphql(name = "LEGACY_5")]
    Legacy5,
}

code_enum!(
    /// Who a disclosure must not reach.
    AudienceRestriction {
        /// Not for the child's family.
        NotForFamily => "NOT_FOR_FAMILY",
        /// Not for the referrer: never shared onward to the referring agency.
        NotForReferrer => "NOT_FOR_REFERRER",
    }
);

/// How two children are linked.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::codes::ChildRelationship")]
pub enum ChildRelationship {
    /// The children are siblings.
    Sibling,
    /// The children are members of one household.
    Household,
}

/// How a referral ended (Standard Safeguarding Dataset).
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::codes::ReferralOutcome")]
pub enum ReferralOutcome {
    /// No further action.
    NoFurtherAction,
    /// Advice and information, or signposting.
    AdviceAndSignposting,
    /// Step-down to early help.
    StepDownToEarlyHelp,
    /// An assessment is required.
    AssessmentRequired,
    /// Strategy discussion and/or section 47 enquiry.
    StrategyDiscussion,
    /// Another outcome.
    Other,
}

/// How an assessment ended (Standard Safeguarding Dataset).
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::codes::AssessmentOutcome")]
pub enum AssessmentOutcome {
    /// No further action.
    NoFurtherAction,
    /// Step-down to early help.
    StepDownToEarlyHelp,
    /// Strategy discussion and/or section 47 enquiry.
    StrategyDiscussion,
    /// Other, e.g. a child in need plan.
    Other,
}

/// How a section 47 enquiry ended (docs/codes.md "Section 47 outcome").
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::codes::Section47Outcome")]
pub enum Section47Outcome {
    /// An initial child protection conference.
    InitialChildProtectionConference,
    /// Another agency to monitor.
    OtherAgencyToMonitor,
    /// No further action under s47; continue with the family assessment.
    NfaContinueFamilyAssessment,
    /// Initiate legal action.
    InitiateLegalAction,
    /// Provision of services under section 17.
    ProvisionOfServices,
    /// No further action.
    NoFurtherAction,
    /// Another outcome.
    Other,
}

/// What the early help agency's screening decided.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::codes::ScreeningOutcome")]
pub enum ScreeningOutcome {
    /// An early help assessment will be offered.
    EarlyHelpAssessment,
    /// Signposted to universal or community services.
    Signposted,
    /// No further action.
    NoFurtherAction,
    /// Needs are above early help: back to the MASH.
    ReturnedToMash,
}

/// What a person may do. Which agencies may hold which role is in `policy`.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::domain::common::codes::Role")]
pub enum Role {
    /// Manages agencies, users and machine clients; sees no case data.
    Admin,
    /// Decides on contacts, approves consent overrides (MASH host agency only).
    MashManager,
    /// Works contacts in the MASH (MASH host agency only).
    MashSocialWorker,
    /// A partner agency's MASH desk: police, health, education officer (not the MASH host).
    PartnerMashOfficer,
    /// Any agency's practitioner who reports concerns.
    Referrer,
    /// Information governance: audit trail and access logs, no case content (MASH host only).
    Auditor,
}

/// The domain's roles as the schema shows them.
pub fn roles(roles: &[crate::domain::common::codes::Role]) -> Vec<Role> {
    roles.iter().copied().map(Role::from).collect()
}

/// The roles a caller sent, as the domain takes them.
pub fn domain_roles(roles: Vec<Role>) -> Vec<crate::domain::common::codes::Role> {
    roles.into_iter().map(Into::into).collect()
}

/// What kind of organisation an agency is; it sets the contact-source codes the agency may
/// use (docs/codes.md "Which agency kinds map to which codes").
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::codes::AgencyKind")]
pub enum AgencyKind {
    /// A local authority: a council's own services, e.g. social care.
    LocalAuthority,
    /// A police force.
    Police,
    /// A health service, e.g. a GP practice, health visitors, school nurses or A&E.
    Health,
    /// A school or another education service.
    Education,
    /// An early help service: the MASH can step a contact's child down to it.
    EarlyHelp,
    /// A probation service.
    Probation,
    /// A housing provider: the council's housing service or a housing association.
    Housing,
    /// A voluntary or community organisation.
    Voluntary,
    /// Any other organisation.
    Other,
}

/// Why verification failed.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::domain::audit::verify::FailureReason")]
pub enum FailureReason {
    /// The entry's content no longer matches its hash: it was edited.
    HashMismatch,
    /// The entry's previous hash is not the hash of the entry before it.
    BrokenLink,
    /// The chain has no entry at this seq: it was deleted (a gap).
    MissingEntry,
    /// The chain's head row does not name its last entry, or is missing.
    HeadMismatch,
    /// An entry outside the known chains, or with a seq below 1.
    UnexpectedEntry,
    /// A checkpoint's signature is not the configured key's (forged, altered or malformed).
    CheckpointSignatureInvalid,
    /// The entry at a checkpointed seq has another hash than the checkpoint recorded: the
    /// chain up to there was rewritten.
    CheckpointMismatch,
    /// The chain ends before a checkpointed seq: its newest entries were deleted.
    Truncated,
    /// The entry is in an older hash format than an entry before it in its chain (formats
    /// only ever move forward), or in a format this build does not know.
    FormatDowngrade,
}

/// The stored code of a schema enum mirroring an `entity::codes` vocabulary, and back.
macro_rules! stored_codes {
    ($($name:ident),+ $(,)?) => {
        $(
            impl $name {
                pub fn code(self) -> &'static str {
                    entity::codes::$name::from(self).as_str()
                }

                pub fn from_code(code: &str) -> Option<Self> {
                    entity::codes::$name::parse(code).map(Self::from)
                }
            }
        )+
    };
}

stored_codes!(
    Gender,
    ConsentPosition,
    ContactStatus,
    ContactOutcome,
    OverrideReason,
    OverrideStatus,
    ReviewStatus,
    Priority,
    RequestStatus,
    LawfulBasis,
    HandlingCode,
    ChildRelationship,
    ReferralOutcome,
    AssessmentOutcome,
    Section47Outcome,
    ScreeningOutcome,
    AgencyKind,
);
