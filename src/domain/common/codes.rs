//! The vocabularies of identity: roles, agency kinds, contact-source codes, client scopes.
use serde::{Deserialize, Serialize};

use crate::domain::common::code_lists::CodeList;
use crate::error::AppResult;

/// What a person may do. Which agencies may hold which role is in `policy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
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

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Admin,
        Role::MashManager,
        Role::MashSocialWorker,
        Role::PartnerMashOfficer,
        Role::Referrer,
        Role::Auditor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "ADMIN",
            Role::MashManager => "MASH_MANAGER",
            Role::MashSocialWorker => "MASH_SOCIAL_WORKER",
            Role::PartnerMashOfficer => "PARTNER_MASH_OFFICER",
            Role::Referrer => "REFERRER",
            Role::Auditor => "AUDITOR",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }

    /// Roles as stored: comma-separated names.
    pub fn join(roles: &[Role]) -> String {
        roles
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }

    pub fn split(stored: &str) -> Vec<Role> {
        stored.split(',').filter_map(Role::parse).collect()
    }
}

/// An agency's kind: the stored vocabulary itself (one definition, in `entity`).
pub use entity::codes::AgencyKind;

/// What each agency kind may record as a contact's source.
pub trait SourceCodes {
    /// The national contact-source codes (docs/codes.md) an agency of this kind may map to;
    /// the first is the default.
    fn source_codes(self) -> &'static [&'static str];

    /// The given code if it fits this kind, the kind's default if none was given.
    fn checked_source_code(self, code: Option<&str>) -> AppResult<String>;
}

impl SourceCodes for AgencyKind {
    fn source_codes(self) -> &'static [&'static str] {
        match self {
            AgencyKind::LocalAuthority => &["5A", "5B", "5C", "5D"],
            AgencyKind::Police => &["6"],
            AgencyKind::Health => &["3D", "3A", "3B", "3C", "3E", "3F"],
            AgencyKind::Education => &["2A", "2B"],
            AgencyKind::EarlyHelp => &["5D", "8"],
            AgencyKind::Probation => &["7"],
            AgencyKind::Housing => &["4"],
            AgencyKind::Voluntary => &["8"],
            AgencyKind::Other => &["8", "7", "5C"],
        }
    }

    fn checked_source_code(self, code: Option<&str>) -> AppResult<String> {
        match code.map(str::trim) {
            None | Some("") => Ok(self.source_codes()[0].to_string()),
            Some(code) if self.source_codes().contains(&code) => Ok(code.to_string()),
            Some(code) if !CodeList::ContactSource.contains(code) => {
                Err(CodeList::ContactSource.refusal("sourceCode", ""))
            }
            Some(_) => Err(CodeList::ContactSource.refusal(
                "sourceCode",
                &format!(
                    "an agency of kind {} maps to one of the codes {}",
                    self.as_str(),
                    self.source_codes().join(", ")
                ),
            )),
        }
    }
}

/// OAuth scopes a machine client may hold.
pub const SCOPES: [&str; 3] = ["contacts:submit", "requests:respond", "missing:report"];
