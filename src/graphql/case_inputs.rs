//! The input types of the MASH workflow's mutations, and how each becomes the domain's.
use async_graphql::{InputObject, ID};
use chrono::{DateTime, NaiveDate, Utc};

use super::codes::*;
use super::ids;
use crate::domain::case::children::ChildDetails;
use crate::domain::case::contacts::ConsentInput as DomainConsent;
use crate::domain::case::requests::DisclosureInput as DomainDisclosure;

/// A child's identity details.
#[derive(InputObject)]
pub struct ChildInput {
    /// The child's first name.
    pub first_name: String,
    /// The child's last name.
    pub last_name: String,
    /// The child's date of birth: not in the future, nor more than 26 years back.
    pub date_of_birth: Option<NaiveDate>,
    /// The child's gender, as Annex A records it.
    pub gender: Gender,
    /// DfE four-letter ethnicity code, e.g. WBRI.
    pub ethnicity: Option<String>,
    /// Whether the child has a disability; omit if not known.
    pub disability: Option<bool>,
    /// The child's address (up to 500 characters; may span lines).
    pub address: Option<String>,
    /// The child's postcode (up to 10 characters; stored in upper case).
    pub postcode: Option<String>,
    /// Ten digits (spaces allowed), checked with the mod 11 rule.
    pub nhs_number: Option<String>,
    /// Unique Pupil Number, checked with its check letter.
    pub upn: Option<String>,
    /// The police's identifier for the child, as given (up to 50 characters).
    pub police_id: Option<String>,
    /// A local identifier for the child, as given (up to 50 characters).
    pub local_id: Option<String>,
}

impl From<ChildInput> for ChildDetails {
    fn from(c: ChildInput) -> Self {
        ChildDetails {
            first_name: c.first_name,
            last_name: c.last_name,
            date_of_birth: c.date_of_birth,
            gender: c.gender.code().to_string(),
            ethnicity: c.ethnicity,
            disability: c.disability,
            address: c.address,
            postcode: c.postcode,
            nhs_number: c.nhs_number,
            upn: c.upn,
            police_id: c.police_id,
            local_id: c.local_id,
        }
    }
}

/// Consent: given (who, relationship, when, scope), not sought (why) or refused.
#[derive(InputObject)]
pub struct ConsentInput {
    /// Given, not sought or refused: it decides which of the other fields are needed.
    pub position: ConsentPosition,
    /// GIVEN: who gave it.
    pub given_by: Option<String>,
    /// GIVEN: their relationship to the child.
    pub relationship: Option<String>,
    /// GIVEN: when it was obtained (defaults to now).
    pub obtained_at: Option<DateTime<Utc>>,
    /// GIVEN: purposes it covers.
    #[graphql(default)]
    pub purposes: Vec<String>,
    /// GIVEN: the agencies it covers; omit for every agency.
    pub agency_ids: Option<Vec<ID>>,
    /// NOT_SOUGHT: why not.
    pub not_sought_reason: Option<String>,
}

impl From<ConsentInput> for DomainConsent {
    fn from(c: ConsentInput) -> Self {
        DomainConsent {
            position: c.position.code().to_string(),
            given_by: c.given_by,
            relationship: c.relationship,
            obtained_at: c.obtained_at,
            purposes: c.purposes,
            agency_ids: c
                .agency_ids
                .map(|list| list.iter().map(|id| ids::decode("Agency", id)).collect()),
            not_sought_reason: c.not_sought_reason,
        }
    }
}

/// A contact: a concern about one child.
#[derive(InputObject)]
pub struct SubmitContactInput {
    /// The child as the submitter knows them.
    pub child: ChildInput,
    /// Contact-source code within the submitting agency's kind (e.g. 3E for A&E); MASH staff
    /// recording a call from the public choose 1A–1D, 9 or 10. Defaults to the agency's code.
    pub source_code: Option<String>,
    /// The practitioner making the contact (defaults to the caller).
    pub referrer_name: Option<String>,
    /// Assessment-factor codes, e.g. ["2B", "21"].
    pub concern_categories: Vec<String>,
    /// What happened and why the referrer is worried.
    pub narrative: String,
    /// The child is at immediate risk.
    #[graphql(default)]
    pub immediate_risk: bool,
    /// The consent position the contact arrives with, and its details.
    pub consent: ConsentInput,
    /// When the contact was received (defaults to now; never in the future).
    pub occurred_at: Option<DateTime<Utc>>,
    /// Retries with the same key return the first contact.
    pub idempotency_key: Option<String>,
}

/// An information request to one partner agency.
#[derive(InputObject)]
pub struct SendInformationRequestInput {
    /// The contact whose child the request is about.
    pub contact_id: ID,
    /// The partner agency to ask.
    pub to_agency_id: ID,
    /// What the MASH asks the agency.
    pub questions: String,
    /// How urgently an answer is needed: it sets the due time.
    pub priority: Priority,
    /// When it was sent (defaults to now).
    pub occurred_at: Option<DateTime<Utc>>,
}

/// One item a partner discloses.
#[derive(InputObject)]
pub struct DisclosureInput {
    /// The information shared.
    pub content: String,
    /// What kind of information, e.g. "domestic abuse incidents".
    pub category: String,
    /// The lawful basis for sharing it.
    pub lawful_basis: LawfulBasis,
    /// It holds health, ethnicity or other special category data.
    #[graphql(default)]
    pub special_category: bool,
    /// The originator's handling code: who may see the item and whether it may be passed on.
    pub handling_code: HandlingCode,
    /// Required with handling code C.
    pub handling_conditions: Option<String>,
    /// Who the item must not reach.
    #[graphql(default)]
    pub audience_restrictions: Vec<AudienceRestriction>,
    /// When it was disclosed (defaults to now; never before the request was sent).
    pub occurred_at: Option<DateTime<Utc>>,
}

impl From<DisclosureInput> for DomainDisclosure {
    fn from(d: DisclosureInput) -> Self {
        DomainDisclosure {
            content: d.content,
            category: d.category,
            lawful_basis: d.lawful_basis.code().to_string(),
            special_category: d.special_category,
            handling_code: d.handling_code.code().to_string(),
            handling_conditions: d.handling_conditions,
            audience_restrictions: d
                .audience_restrictions
                .iter()
                .map(|r| r.code().to_string())
                .collect(),
            occurred_at: d.occurred_at,
        }
    }
}

/// A MASH manager's decision.
#[derive(InputObject)]
pub struct RecordDecisionInput {
    /// The contact decided on.
    pub contact_id: ID,
    /// What the MASH decided.
    pub outcome: ContactOutcome,
    /// 1 universal, 2 early help, 3 targeted early help, 4 statutory.
    pub threshold_level: i32,
    /// Why the manager decided so.
    pub rationale: String,
    /// When the decision was made (defaults to now).
    pub occurred_at: Option<DateTime<Utc>>,
}
