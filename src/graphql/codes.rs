//! GraphQL enums for the domain's code lists, each mapped to the code the database stores.

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

code_enum!(
    /// Gender as Annex A records it.
    Gender {
        Male => "MALE",
        Female => "FEMALE",
        /// Not stated or not recorded.
        NotStated => "NOT_STATED",
        Neither => "NEITHER",
    }
);

code_enum!(
    /// The consent position a contact arrives with.
    ConsentPosition {
        /// Consent was given (who, relationship, when, scope are required).
        Given => "GIVEN",
        /// Consent was not sought (the reason is required).
        NotSought => "NOT_SOUGHT",
        /// Consent was refused.
        Refused => "REFUSED",
    }
);

code_enum!(
    /// Where a contact is in the front door.
    ContactStatus {
        /// No consent and no authorised override yet: information requests are refused.
        AwaitingConsent => "AWAITING_CONSENT",
        /// Consent or an authorised override allows information requests.
        InformationGathering => "INFORMATION_GATHERING",
        /// A MASH manager has recorded the decision.
        Decided => "DECIDED",
    }
);

code_enum!(
    /// The MASH's decision on a contact.
    ContactOutcome {
        NoFurtherAction => "NO_FURTHER_ACTION",
        InformationAndAdvice => "INFORMATION_AND_ADVICE",
        StepDownToEarlyHelp => "STEP_DOWN_TO_EARLY_HELP",
        /// Referral to children's social care for assessment.
        ReferralForAssessment => "REFERRAL_FOR_ASSESSMENT",
        StrategyDiscussion => "STRATEGY_DISCUSSION",
    }
);

code_enum!(
    /// Why information may be shared without consent (DPA 2018).
    OverrideReason {
        /// Consent cannot be given.
        CannotBeGiven => "CANNOT_BE_GIVEN",
        /// The MASH cannot reasonably be expected to obtain it.
        CannotReasonablyBeObtained => "CANNOT_REASONABLY_BE_OBTAINED",
        /// Seeking it would prejudice the child's protection.
        WouldPrejudiceProtection => "WOULD_PREJUDICE_PROTECTION",
    }
);

code_enum!(
    /// An override's decision.
    OverrideStatus {
        Requested => "REQUESTED",
        Approved => "APPROVED",
        Refused => "REFUSED",
    }
);

code_enum!(
    /// A break-glass override's second-manager review.
    ReviewStatus {
        /// Not break-glass: no review needed.
        NotRequired => "NOT_REQUIRED",
        /// Awaiting a second manager.
        Pending => "PENDING",
        Upheld => "UPHELD",
        /// Refused on review: open requests relying on it were withdrawn.
        Refused => "REFUSED",
    }
);

code_enum!(
    /// How urgently the MASH needs an answer (due in 4, 24 or 72 hours by default).
    Priority {
        Red => "RED",
        Amber => "AMBER",
        Green => "GREEN",
    }
);

code_enum!(
    /// An information request's state.
    RequestStatus {
        Open => "OPEN",
        Responded => "RESPONDED",
        /// The agency decided not to share (reason recorded).
        Declined => "DECLINED",
        /// Withdrawn, e.g. because the consent it relied on was withdrawn.
        Withdrawn => "WITHDRAWN",
    }
);

code_enum!(
    /// The lawful basis of a disclosure (docs/codes.md "Lawful basis of a disclosure").
    LawfulBasis {
        /// UK GDPR Art 6(1)(e) public task.
        #[graphql(name = "UK_GDPR_6_1_E_PUBLIC_TASK")]
        UkGdpr61EPublicTask => "UK_GDPR_6_1_E_PUBLIC_TASK",
        /// UK GDPR Art 6(1)(c) legal obligation.
        #[graphql(name = "UK_GDPR_6_1_C_LEGAL_OBLIGATION")]
        UkGdpr61CLegalObligation => "UK_GDPR_6_1_C_LEGAL_OBLIGATION",
        /// UK GDPR Art 6(1)(d) vital interests.
        #[graphql(name = "UK_GDPR_6_1_D_VITAL_INTERESTS")]
        UkGdpr61DVitalInterests => "UK_GDPR_6_1_D_VITAL_INTERESTS",
        /// UK GDPR Art 6(1)(a) consent.
        #[graphql(name = "UK_GDPR_6_1_A_CONSENT")]
        UkGdpr61AConsent => "UK_GDPR_6_1_A_CONSENT",
        /// DPA 2018 Part 3 (law enforcement), Schedule 8 paragraph 4.
        Dpa2018Part3Schedule8Para4 => "DPA_2018_PART_3_SCHEDULE_8_PARA_4",
    }
);

code_enum!(
    /// Originator handling instructions (police 3x5x2 codes, legacy 5x5x5 codes).
    HandlingCode {
        /// Lawful sharing permitted.
        P => "P",
        /// Lawful sharing permitted with conditions (the conditions text applies).
        C => "C",
        /// Legacy 1: onward only to law-enforcement and prosecuting agencies.
        #[graphql(name = "LEGACY_1")]
        Legacy1 => "1",
        /// Legacy 2: onward only with a recorded authorisation.
        #[graphql(name = "LEGACY_2")]
        Legacy2 => "2",
        /// Legacy 3: no onward sharing.
        #[graphql(name = "LEGACY_3")]
        Legacy3 => "3",
        /// Legacy 4: within the originating agency only (the MASH sees a stub).
        #[graphql(name = "LEGACY_4")]
        Legacy4 => "4",
        /// Legacy 5: no further dissemination (the MASH sees a stub).
        #[graphql(name = "LEGACY_5")]
        Legacy5 => "5",
    }
);

code_enum!(
    /// Who a disclosure must not reach.
    AudienceRestriction {
        NotForFamily => "NOT_FOR_FAMILY",
        NotForReferrer => "NOT_FOR_REFERRER",
    }
);

code_enum!(
    /// How two children are linked.
    ChildRelationship {
        Sibling => "SIBLING",
        Household => "HOUSEHOLD",
    }
);

code_enum!(
    /// How a referral ended (Standard Safeguarding Dataset).
    ReferralOutcome {
        NoFurtherAction => "NO_FURTHER_ACTION",
        /// Advice and information, or signposting.
        AdviceAndSignposting => "ADVICE_AND_SIGNPOSTING",
        StepDownToEarlyHelp => "STEP_DOWN_TO_EARLY_HELP",
        AssessmentRequired => "ASSESSMENT_REQUIRED",
        /// Strategy discussion and/or section 47 enquiry.
        StrategyDiscussion => "STRATEGY_DISCUSSION",
        Other => "OTHER",
    }
);

code_enum!(
    /// How an assessment ended (Standard Safeguarding Dataset).
    AssessmentOutcome {
        NoFurtherAction => "NO_FURTHER_ACTION",
        StepDownToEarlyHelp => "STEP_DOWN_TO_EARLY_HELP",
        /// Strategy discussion and/or section 47 enquiry.
        StrategyDiscussion => "STRATEGY_DISCUSSION",
        /// Other, e.g. a child in need plan.
        Other => "OTHER",
    }
);

code_enum!(
    /// How a section 47 enquiry ended (docs/codes.md "Section 47 outcome").
    Section47Outcome {
        /// An initial child protection conference.
        InitialChildProtectionConference => "INITIAL_CHILD_PROTECTION_CONFERENCE",
        OtherAgencyToMonitor => "OTHER_AGENCY_TO_MONITOR",
        /// No further action under s47; continue with the family assessment.
        NfaContinueFamilyAssessment => "NFA_CONTINUE_FAMILY_ASSESSMENT",
        InitiateLegalAction => "INITIATE_LEGAL_ACTION",
        /// Provision of services under section 17.
        ProvisionOfServices => "PROVISION_OF_SERVICES",
        NoFurtherAction => "NO_FURTHER_ACTION",
        Other => "OTHER",
    }
);

code_enum!(
    /// What the early help agency's screening decided.
    ScreeningOutcome {
        /// An early help assessment will be offered.
        EarlyHelpAssessment => "EARLY_HELP_ASSESSMENT",
        /// Signposted to universal or community services.
        Signposted => "SIGNPOSTED",
        NoFurtherAction => "NO_FURTHER_ACTION",
        /// Needs are above early help: back to the MASH.
        ReturnedToMash => "RETURNED_TO_MASH",
    }
);

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

#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::domain::common::codes::AgencyKind")]
pub enum AgencyKind {
    LocalAuthority,
    Police,
    Health,
    Education,
    EarlyHelp,
    Probation,
    Housing,
    Voluntary,
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
