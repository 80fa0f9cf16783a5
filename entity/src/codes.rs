//! The closed vocabularies stored in text columns, one enum each. The stored text of every
//! variant is exactly the code written before these enums existed, so no data changes.
//!
//! Each code is spelled once: `vocabulary!` derives sea-orm's `DeriveActiveEnum` with
//! `#[sea_orm(string_value = ...)]` per variant, and `as_str` / `parse` / `Display` /
//! `Serialize` / `Deserialize` from the same text (so JSON written into audit details is the
//! stored code, and a row read back as JSON decodes).
use sea_orm::entity::prelude::*;

/// What every vocabulary offers, for code generic over them (e.g. one input check).
pub trait Vocabulary: Copy + Sized + 'static {
    /// The stored code.
    fn as_str(self) -> &'static str;
    /// The variant whose stored code is `text` exactly.
    fn parse(text: &str) -> Option<Self>;
    /// Every code, in order, joined with `separator`.
    fn codes(separator: &str) -> String;
}

/// Defines a stored vocabulary: `Variant = "CODE"`, in the order messages list them.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $code:tt),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
        #[sea_orm(rs_type = "String", db_type = "Text")]
        pub enum $name {
            $($(#[$vmeta])* #[sea_orm(string_value = $code)] $variant),+
        }

        impl $name {
            /// The stored code.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $code),+
                }
            }

            /// The variant whose stored code is `text` exactly.
            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($code => Some(Self::$variant),)+
                    _ => None,
                }
            }

            /// Every code, in order, joined with `separator` (for "must be one of" messages).
            pub fn codes(separator: &str) -> String {
                [$($code),+].join(separator)
            }
        }

        impl Vocabulary for $name {
            fn as_str(self) -> &'static str {
                $name::as_str(self)
            }

            fn parse(text: &str) -> Option<Self> {
                $name::parse(text)
            }

            fn codes(separator: &str) -> String {
                $name::codes(separator)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                Self::parse(&text).ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "unknown {} code {text:?}",
                        stringify!($name)
                    ))
                })
            }
        }
    };
}

vocabulary!(
    /// What kind of organisation an agency is.
    AgencyKind {
        LocalAuthority = "LOCAL_AUTHORITY",
        Police = "POLICE",
        Health = "HEALTH",
        Education = "EDUCATION",
        EarlyHelp = "EARLY_HELP",
        Probation = "PROBATION",
        Housing = "HOUSING",
        Voluntary = "VOLUNTARY",
        Other = "OTHER",
    }
);

vocabulary!(
    /// Gender as Annex A records it.
    Gender {
        Male = "MALE",
        Female = "FEMALE",
        NotStated = "NOT_STATED",
        Neither = "NEITHER",
    }
);

vocabulary!(
    /// How two children are linked.
    ChildRelationship {
        Sibling = "SIBLING",
        Household = "HOUSEHOLD",
    }
);

vocabulary!(
    /// Where a contact is in the front door.
    ContactStatus {
        AwaitingConsent = "AWAITING_CONSENT",
        InformationGathering = "INFORMATION_GATHERING",
        Decided = "DECIDED",
    }
);

vocabulary!(
    /// The consent position a contact arrives with.
    ConsentPosition {
        Given = "GIVEN",
        NotSought = "NOT_SOUGHT",
        Refused = "REFUSED",
    }
);

vocabulary!(
    /// The MASH's decision on a contact (also its recommendation).
    ContactOutcome {
        NoFurtherAction = "NO_FURTHER_ACTION",
        InformationAndAdvice = "INFORMATION_AND_ADVICE",
        StepDownToEarlyHelp = "STEP_DOWN_TO_EARLY_HELP",
        ReferralForAssessment = "REFERRAL_FOR_ASSESSMENT",
        StrategyDiscussion = "STRATEGY_DISCUSSION",
    }
);

vocabulary!(
    /// Why information may be shared without consent (DPA 2018).
    OverrideReason {
        CannotBeGiven = "CANNOT_BE_GIVEN",
        CannotReasonablyBeObtained = "CANNOT_REASONABLY_BE_OBTAINED",
        WouldPrejudiceProtection = "WOULD_PREJUDICE_PROTECTION",
    }
);

vocabulary!(
    /// A consent override's decision.
    OverrideStatus {
        Requested = "REQUESTED",
        Approved = "APPROVED",
        Refused = "REFUSED",
    }
);

vocabulary!(
    /// A break-glass override's second-manager review.
    ReviewStatus {
        NotRequired = "NOT_REQUIRED",
        Pending = "PENDING",
        Upheld = "UPHELD",
        Refused = "REFUSED",
    }
);

vocabulary!(
    /// How urgently the MASH needs an answer to an information request.
    Priority {
        Red = "RED",
        Amber = "AMBER",
        Green = "GREEN",
    }
);

vocabulary!(
    /// An information request's state.
    RequestStatus {
        Open = "OPEN",
        Responded = "RESPONDED",
        Declined = "DECLINED",
        Withdrawn = "WITHDRAWN",
    }
);

vocabulary!(
    /// The lawful basis of a disclosure.
    LawfulBasis {
        UkGdpr61EPublicTask = "UK_GDPR_6_1_E_PUBLIC_TASK",
        UkGdpr61CLegalObligation = "UK_GDPR_6_1_C_LEGAL_OBLIGATION",
        UkGdpr61DVitalInterests = "UK_GDPR_6_1_D_VITAL_INTERESTS",
        UkGdpr61AConsent = "UK_GDPR_6_1_A_CONSENT",
        Dpa2018Part3Schedule8Para4 = "DPA_2018_PART_3_SCHEDULE_8_PARA_4",
    }
);

vocabulary!(
    /// Originator handling instructions (police 3x5x2 codes, legacy 5x5x5 codes).
    HandlingCode {
        P = "P",
        C = "C",
        Legacy1 = "1",
        Legacy2 = "2",
        Legacy3 = "3",
        Legacy4 = "4",
        Legacy5 = "5",
    }
);

vocabulary!(
    /// How a referral ended (Standard Safeguarding Dataset).
    ReferralOutcome {
        NoFurtherAction = "NO_FURTHER_ACTION",
        AdviceAndSignposting = "ADVICE_AND_SIGNPOSTING",
        StepDownToEarlyHelp = "STEP_DOWN_TO_EARLY_HELP",
        AssessmentRequired = "ASSESSMENT_REQUIRED",
        StrategyDiscussion = "STRATEGY_DISCUSSION",
        Other = "OTHER",
    }
);

vocabulary!(
    /// How an assessment ended (Standard Safeguarding Dataset).
    AssessmentOutcome {
        NoFurtherAction = "NO_FURTHER_ACTION",
        StepDownToEarlyHelp = "STEP_DOWN_TO_EARLY_HELP",
        StrategyDiscussion = "STRATEGY_DISCUSSION",
        Other = "OTHER",
    }
);

vocabulary!(
    /// How a section 47 enquiry ended.
    Section47Outcome {
        InitialChildProtectionConference = "INITIAL_CHILD_PROTECTION_CONFERENCE",
        OtherAgencyToMonitor = "OTHER_AGENCY_TO_MONITOR",
        NfaContinueFamilyAssessment = "NFA_CONTINUE_FAMILY_ASSESSMENT",
        InitiateLegalAction = "INITIATE_LEGAL_ACTION",
        ProvisionOfServices = "PROVISION_OF_SERVICES",
        NoFurtherAction = "NO_FURTHER_ACTION",
        Other = "OTHER",
    }
);

vocabulary!(
    /// What an early help agency's screening decided.
    ScreeningOutcome {
        EarlyHelpAssessment = "EARLY_HELP_ASSESSMENT",
        Signposted = "SIGNPOSTED",
        NoFurtherAction = "NO_FURTHER_ACTION",
        ReturnedToMash = "RETURNED_TO_MASH",
    }
);

vocabulary!(
    /// The police risk grading of a missing episode.
    RiskGrade {
        High = "HIGH",
        Medium = "MEDIUM",
        Low = "LOW",
        NoApparentRisk = "NO_APPARENT_RISK",
    }
);

vocabulary!(
    /// How a return home interview went. CARRIED_OVER leaves it open.
    InterviewOutcome {
        Completed = "COMPLETED",
        Declined = "DECLINED",
        NotOffered = "NOT_OFFERED",
        CarriedOver = "CARRIED_OVER",
    }
);
