//! Output types of the MASH workflow. What a caller sees was decided by the policy when
//! the service built the view; these types only present it.
use std::collections::HashMap;

use async_graphql::{Context, Description, Object, Result, SimpleObject, Union, ID};
use chrono::{DateTime, NaiveDate, Utc};
use entity::{child, consent, consent_override, disclosure, information_request};
use uuid::Uuid;

use super::codes::*;
use super::ids;
use super::types::{connection, Agency, Connection};
use crate::domain::case::children::{ChildDetails as Details, ChildRecord};
use crate::domain::case::contacts::{self, ContactFilter, ContactView};
use crate::domain::case::requests::RequestView;
use crate::domain::common::page::PageRequest;
use crate::domain::policy::{ContactAccess, DisclosureVisibility};

fn split(text: &str) -> Vec<String> {
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// A child's identity details: as submitted with a contact, or as the MASH sends them
/// with an information request.
#[derive(SimpleObject)]
pub struct ChildDetails {
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Date of birth.
    pub date_of_birth: Option<NaiveDate>,
    /// Gender, as Annex A records it.
    pub gender: Option<Gender>,
    /// DfE four-letter ethnicity code.
    pub ethnicity: Option<String>,
    /// Whether the child has a disability (null: not known).
    pub disability: Option<bool>,
    /// Address.
    pub address: Option<String>,
    /// Postcode.
    pub postcode: Option<String>,
    /// Ten digits.
    pub nhs_number: Option<String>,
    /// Unique Pupil Number.
    pub upn: Option<String>,
    /// The police's identifier for the child, as given.
    pub police_id: Option<String>,
    /// A local identifier for the child, as given.
    pub local_id: Option<String>,
}

impl From<Details> for ChildDetails {
    fn from(d: Details) -> Self {
        ChildDetails {
            first_name: d.first_name,
            last_name: d.last_name,
            date_of_birth: d.date_of_birth,
            gender: Gender::from_code(&d.gender),
            ethnicity: d.ethnicity,
            disability: d.disability,
            address: d.address,
            postcode: d.postcode,
            nhs_number: d.nhs_number,
            upn: d.upn,
            police_id: d.police_id,
            local_id: d.local_id,
        }
    }
}

impl From<&child::Model> for ChildDetails {
    fn from(c: &child::Model) -> Self {
        ChildDetails {
            first_name: c.first_name.clone(),
            last_name: c.last_name.clone(),
            date_of_birth: c.date_of_birth,
            gender: Some(c.gender.into()),
            ethnicity: c.ethnicity.clone(),
            disability: c.disability,
            address: c.address.clone(),
            postcode: c.postcode.clone(),
            nhs_number: c.nhs_number.clone(),
            upn: c.upn.clone(),
            police_id: c.police_id.clone(),
            local_id: c.local_id.clone(),
        }
    }
}

/// A household or sibling link.
#[derive(SimpleObject)]
pub struct ChildLink {
    /// How the two children are linked.
    pub relationship: ChildRelationship,
    /// The linked child.
    pub related_child_id: ID,
}

/// The MASH's record of a child (MASH staff only).
#[derive(Description)]
pub struct Child {
    pub child: child::Model,
    pub contact_ids: Vec<Uuid>,
    pub links: Vec<ChildLink>,
}

impl From<ChildRecord> for Child {
    fn from(r: ChildRecord) -> Self {
        let links = r
            .links
            .iter()
            .map(|l| ChildLink {
                relationship: l.relationship.into(),
                related_child_id: ids::encode("Child", l.related_child_id),
            })
            .collect();
        Child {
            child: r.child,
            contact_ids: r.contact_ids,
            links,
        }
    }
}

impl From<child::Model> for Child {
    fn from(child: child::Model) -> Self {
        Child {
            child,
            contact_ids: vec![],
            links: vec![],
        }
    }
}

#[Object(use_type_description)]
impl Child {
    /// Opaque global id.
    pub(crate) async fn id(&self) -> ID {
        ids::encode("Child", self.child.id)
    }
    /// The child's identity details.
    async fn details(&self) -> ChildDetails {
        ChildDetails::from(&self.child)
    }
    /// Contacts about this child (ids; read each with `contact`). Empty in search results.
    async fn contact_ids(&self) -> Vec<ID> {
        self.contact_ids
            .iter()
            .map(|id| ids::encode("Contact", *id))
            .collect()
    }
    /// Siblings and household members.
    async fn links(&self) -> &[ChildLink] {
        &self.links
    }
    /// The contacts about this child that the caller may see, by decision due time, in
    /// full: one query for the page instead of a `contact` read per id. Each page is
    /// audited like the contact list it is.
    async fn contacts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size (at most 100).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge already seen.")] after: Option<String>,
    ) -> Result<Connection<Contact>> {
        let filter = ContactFilter {
            child: Some(self.child.id),
            ..ContactFilter::default()
        };
        contact_page(ctx, filter, first, after).await
    }
}

/// A page of the contacts the caller may see (the queue, or a child's contacts).
pub async fn contact_page(
    ctx: &Context<'_>,
    filter: ContactFilter,
    first: Option<i32>,
    after: Option<String>,
) -> Result<Connection<Contact>> {
    let (core, request) = super::env(ctx);
    let page = PageRequest::parse(first, after.as_deref(), core.config.max_page_size)?;
    let page = contacts::list_contacts(core, request, filter, page).await?;
    Ok(connection(page, |v| v.contact.id, Contact))
}

/// Consent to share information about a contact's child.
#[derive(Description)]
pub struct Consent(pub consent::Model);

#[Object(use_type_description)]
impl Consent {
    /// Opaque global id.
    async fn id(&self) -> ID {
        ids::encode("Consent", self.0.id)
    }
    /// Who gave consent.
    async fn given_by(&self) -> &str {
        &self.0.given_by_name
    }
    /// Their relationship to the child.
    async fn relationship(&self) -> &str {
        &self.0.relationship
    }
    /// Purposes it covers.
    async fn purposes(&self) -> Vec<String> {
        split(&self.0.scope_purposes)
    }
    /// Agencies it covers; empty means every agency.
    async fn agency_ids(&self) -> Vec<ID> {
        split(&self.0.scope_agency_ids)
            .iter()
            .filter_map(|s| Uuid::parse_str(s).ok())
            .map(|id| ids::encode("Agency", id))
            .collect()
    }
    /// When it was obtained.
    async fn obtained_at(&self) -> DateTime<Utc> {
        self.0.obtained_at
    }
    /// When it was recorded here.
    async fn recorded_at(&self) -> DateTime<Utc> {
        self.0.recorded_at
    }
    /// When it was withdrawn, if it was.
    async fn withdrawn_at(&self) -> Option<DateTime<Utc>> {
        self.0.withdrawn_at
    }
}

/// A request to share without consent, and its authorisation.
#[derive(Description)]
pub struct ConsentOverride(pub consent_override::Model);

#[Object(use_type_description)]
impl ConsentOverride {
    /// Opaque global id.
    async fn id(&self) -> ID {
        ids::encode("ConsentOverride", self.0.id)
    }
    /// The contact it is for.
    async fn contact_id(&self) -> ID {
        ids::encode("Contact", self.0.contact_id)
    }
    /// The DPA 2018 reason for sharing without consent.
    async fn reason(&self) -> OverrideReason {
        self.0.reason.into()
    }
    /// The requester's written justification.
    async fn justification(&self) -> &str {
        &self.0.justification
    }
    /// Whether a MASH manager approved or refused it, or has yet to decide.
    async fn status(&self) -> OverrideStatus {
        self.0.status.into()
    }
    /// Approved by the requesting manager alone because the child is at immediate risk.
    async fn break_glass(&self) -> bool {
        self.0.break_glass
    }
    /// A break-glass override's second-manager review.
    async fn review_status(&self) -> ReviewStatus {
        self.0.review_status.into()
    }
    /// The user who asked for it.
    async fn requested_by(&self) -> ID {
        ids::encode("User", self.0.requested_by)
    }
    /// When it was asked for.
    async fn requested_at(&self) -> DateTime<Utc> {
        self.0.requested_at
    }
    /// The manager who approved or refused it.
    async fn decided_by(&self) -> Option<ID> {
        self.0.decided_by.map(|id| ids::encode("User", id))
    }
    /// When it was approved or refused.
    async fn decided_at(&self) -> Option<DateTime<Utc>> {
        self.0.decided_at
    }
}

/// What an agency shared.
#[derive(Description)]
pub struct Disclosure {
    pub disclosure: disclosure::Model,
    pub supplied_by: String,
    pub to_agency: Option<String>,
}

#[Object(use_type_description)]
impl Disclosure {
    /// Opaque global id.
    pub(crate) async fn id(&self) -> ID {
        ids::encode("Disclosure", self.disclosure.id)
    }
    /// The agency that supplied it.
    async fn supplied_by_agency(&self) -> &str {
        &self.supplied_by
    }
    /// For an onward share: the agency it was passed on to.
    async fn shared_onward_to(&self) -> Option<&str> {
        self.to_agency.as_deref()
    }
    /// For an onward share: the disclosure it passes on.
    async fn onward_from(&self) -> Option<ID> {
        self.disclosure
            .onward_from
            .map(|id| ids::encode("Disclosure", id))
    }
    /// The information shared.
    async fn content(&self) -> &str {
        &self.disclosure.content
    }
    /// What kind of information, e.g. "domestic abuse incidents".
    async fn category(&self) -> &str {
        &self.disclosure.category
    }
    /// The lawful basis for sharing it.
    async fn lawful_basis(&self) -> LawfulBasis {
        self.disclosure.lawful_basis.into()
    }
    /// Health, ethnicity or other special category data.
    async fn special_category(&self) -> bool {
        self.disclosure.special_category
    }
    /// The originator's handling code: who may see it and whether it may be passed on.
    async fn handling_code(&self) -> HandlingCode {
        self.disclosure.handling_code.into()
    }
    /// Conditions that travel with a C-coded item.
    async fn handling_conditions(&self) -> Option<&str> {
        self.disclosure.handling_conditions.as_deref()
    }
    /// Who it must not reach.
    async fn audience_restrictions(&self) -> Vec<AudienceRestriction> {
        split(&self.disclosure.audience_restrictions)
            .iter()
            .filter_map(|r| AudienceRestriction::from_code(r))
            .collect()
    }
    /// "consent:<id>" or "override:<id>": what allowed it.
    async fn consent_reference(&self) -> &str {
        &self.disclosure.consent_ref
    }
    /// When it was disclosed.
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.disclosure.occurred_at
    }
    /// When it was recorded here.
    async fn recorded_at(&self) -> DateTime<Utc> {
        self.disclosure.recorded_at
    }
}

/// An item the caller may not see: only that the agency holds information, and whom to ask.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct DisclosureStub {
    #[graphql(skip)]
    pub id: ID,
    /// The agency that holds the information: contact it directly.
    pub held_by_agency: String,
    /// The item's handling code.
    pub handling_code: Option<HandlingCode>,
}

#[async_graphql::ComplexObject]
impl DisclosureStub {
    /// Opaque global id of the disclosure.
    pub(crate) async fn id(&self) -> ID {
        self.id.clone()
    }
}

/// A disclosure, or the stub of one the caller may not see.
#[derive(Union)]
pub enum DisclosureItem {
    Disclosure(Box<Disclosure>),
    DisclosureStub(DisclosureStub),
}

pub fn disclosure_items(
    items: &[(disclosure::Model, DisclosureVisibility)],
    names: &HashMap<Uuid, String>,
) -> Vec<DisclosureItem> {
    let name = |id: Uuid| names.get(&id).cloned().unwrap_or_default();
    items
        .iter()
        .filter_map(|(d, visibility)| match visibility {
            DisclosureVisibility::Full => Some(DisclosureItem::Disclosure(Box::new(Disclosure {
                disclosure: d.clone(),
                supplied_by: name(d.supplied_by_agency_id),
                to_agency: d.to_agency_id.map(name),
            }))),
            DisclosureVisibility::Stub => Some(DisclosureItem::DisclosureStub(DisclosureStub {
                id: ids::encode("Disclosure", d.id),
                held_by_agency: name(d.supplied_by_agency_id),
                handling_code: Some(d.handling_code.into()),
            })),
            DisclosureVisibility::Hidden => None,
        })
        .collect()
}

/// One disclosure as the caller may see it (in full, or its stub), through its service.
pub async fn disclosure_item(
    core: &crate::Core,
    request: &crate::domain::RequestCtx,
    id: Uuid,
) -> crate::error::AppResult<DisclosureItem> {
    let (item, names) = crate::domain::case::requests::get_disclosure(core, request, id).await?;
    disclosure_items(std::slice::from_ref(&item), &names)
        .pop()
        .ok_or(crate::error::AppError::NotFound)
}

/// A request from the MASH to one agency about a contact's child.
#[derive(Description)]
pub struct InformationRequest(pub RequestView);

#[Object(use_type_description)]
impl InformationRequest {
    /// Opaque global id.
    pub(crate) async fn id(&self) -> ID {
        ids::encode("InformationRequest", self.0.request.id)
    }
    /// The contact it is about (readable by MASH staff).
    async fn contact_id(&self) -> ID {
        ids::encode("Contact", self.0.request.contact_id)
    }
    /// The agency asked.
    async fn to_agency(&self) -> Agency {
        Agency(self.0.to_agency.clone())
    }
    /// The child's identity as the MASH sends it to the agency.
    async fn child(&self) -> Option<ChildDetails> {
        self.0.child.as_ref().map(ChildDetails::from)
    }
    /// What the MASH asks the agency.
    async fn questions(&self) -> &str {
        &self.0.request.questions
    }
    /// How urgently the MASH needs an answer.
    async fn priority(&self) -> Priority {
        self.0.request.priority.into()
    }
    /// Where the request is: open, answered, declined or withdrawn.
    async fn status(&self) -> RequestStatus {
        self.0.request.status.into()
    }
    /// When it was sent.
    async fn sent_at(&self) -> DateTime<Utc> {
        self.0.request.sent_at
    }
    /// Sent time plus the priority's hours.
    async fn due_at(&self) -> DateTime<Utc> {
        self.0.request.due_at
    }
    /// Still open after its due time.
    async fn overdue(&self) -> bool {
        self.0.request.status == entity::codes::RequestStatus::Open
            && self.0.request.due_at < Utc::now()
    }
    /// When it was answered or declined.
    async fn answered_at(&self) -> Option<DateTime<Utc>> {
        self.0.request.answered_at
    }
    /// Why the agency declined to share.
    async fn decline_reason(&self) -> Option<&str> {
        self.0.request.decline_reason.as_deref()
    }
    /// "consent:<id>" or "override:<id>": what allowed the request.
    async fn consent_reference(&self) -> &str {
        &self.0.request.consent_ref
    }
    /// What the agency disclosed in answer (as far as the caller may see it).
    async fn disclosures(&self) -> Vec<DisclosureItem> {
        disclosure_items(&self.0.disclosures, &self.0.agency_names)
    }
}

/// A request as listed on a contact (MASH staff).
#[derive(Description)]
pub struct RequestSummary(pub information_request::Model);

#[Object(use_type_description)]
impl RequestSummary {
    /// The request's global id (read it in full with `informationRequest`).
    async fn id(&self) -> ID {
        ids::encode("InformationRequest", self.0.id)
    }
    /// The agency asked.
    async fn to_agency_id(&self) -> ID {
        ids::encode("Agency", self.0.to_agency_id)
    }
    /// How urgently the MASH needs an answer.
    async fn priority(&self) -> Priority {
        self.0.priority.into()
    }
    /// Where the request is: open, answered, declined or withdrawn.
    async fn status(&self) -> RequestStatus {
        self.0.status.into()
    }
    /// Sent time plus the priority's hours.
    async fn due_at(&self) -> DateTime<Utc> {
        self.0.due_at
    }
    /// Still open after its due time.
    async fn overdue(&self) -> bool {
        self.0.status == entity::codes::RequestStatus::Open && self.0.due_at < Utc::now()
    }
    /// Why the agency declined to share.
    async fn decline_reason(&self) -> Option<&str> {
        self.0.decline_reason.as_deref()
    }
}

/// A concern about one child from an agency. Fields marked "MASH staff only" are null for
/// everyone else; submitters see status, outcome and decision date.
#[derive(Description)]
pub struct Contact(pub ContactView);

impl Contact {
    fn mash(&self) -> bool {
        self.0.access == ContactAccess::Mash
    }
}

#[Object(use_type_description)]
impl Contact {
    /// Opaque global id.
    pub(crate) async fn id(&self) -> ID {
        ids::encode("Contact", self.0.contact.id)
    }
    /// Where the contact is in the front door.
    async fn status(&self) -> ContactStatus {
        self.0.contact.status.into()
    }
    /// National contact-source code (docs/codes.md "Contact and referral source").
    async fn source_code(&self) -> &str {
        &self.0.contact.source_code
    }
    /// The submitting agency.
    async fn submitting_agency(&self) -> Agency {
        Agency(self.0.agency.clone())
    }
    /// The practitioner (or system) who made the contact.
    async fn referrer_name(&self) -> &str {
        &self.0.contact.referrer_name
    }
    /// When the contact was received (its `occurredAt`).
    async fn received_at(&self) -> DateTime<Utc> {
        self.0.contact.occurred_at
    }
    /// When it was recorded here.
    async fn recorded_at(&self) -> DateTime<Utc> {
        self.0.contact.recorded_at
    }
    /// End of the first working day after receipt.
    async fn decision_due_at(&self) -> DateTime<Utc> {
        self.0.contact.decision_due_at
    }
    /// Undecided after its due time.
    async fn overdue(&self) -> bool {
        self.0.contact.status != entity::codes::ContactStatus::Decided
            && self.0.contact.decision_due_at < Utc::now()
    }
    /// The child is at immediate risk (MASH staff may set or clear this after submission).
    async fn immediate_risk(&self) -> bool {
        self.0.contact.immediate_risk
    }
    /// Assessment-factor codes.
    async fn concern_categories(&self) -> Vec<String> {
        split(&self.0.contact.concern_categories)
    }
    /// What happened and why the referrer is worried.
    async fn narrative(&self) -> &str {
        &self.0.contact.narrative
    }
    /// The child's details exactly as submitted.
    async fn child_as_submitted(&self) -> ChildDetails {
        self.0.child_as_submitted().into()
    }
    /// The consent position the contact arrived with.
    async fn consent_position(&self) -> ConsentPosition {
        self.0.contact.consent_position.into()
    }
    /// Why consent was not sought (for a contact that arrived `NOT_SOUGHT`).
    async fn consent_not_sought_reason(&self) -> Option<&str> {
        self.0.contact.consent_not_sought_reason.as_deref()
    }
    /// Consents recorded on the contact.
    async fn consents(&self) -> Vec<Consent> {
        self.0.consents.iter().cloned().map(Consent).collect()
    }
    /// The decision outcome.
    async fn outcome(&self) -> Option<ContactOutcome> {
        self.0.contact.outcome.map(Into::into)
    }
    /// When the decision was made.
    async fn decided_at(&self) -> Option<DateTime<Utc>> {
        self.0.contact.decided_at
    }
    /// Decided by its due time (null until decided).
    async fn decided_within_timescale(&self) -> Option<bool> {
        self.0
            .contact
            .decided_at
            .map(|at| at <= self.0.contact.decision_due_at)
    }
    /// MASH staff only: the MASH's record of the child.
    async fn child(&self) -> Option<Child> {
        self.0
            .child
            .clone()
            .filter(|_| self.mash())
            .map(Child::from)
    }
    /// MASH staff only: the submission matched a child record that already existed.
    async fn linked_to_existing_child(&self) -> Option<bool> {
        self.mash().then_some(self.0.contact.matched_existing_child)
    }
    /// MASH staff only: threshold level 1–4.
    async fn threshold_level(&self) -> Option<i32> {
        self.0.contact.threshold_level.filter(|_| self.mash())
    }
    /// MASH staff only: the decision's rationale.
    async fn rationale(&self) -> Option<&str> {
        self.0.contact.rationale.as_deref().filter(|_| self.mash())
    }
    /// MASH staff only: a social worker's recommended outcome.
    async fn recommendation(&self) -> Option<ContactOutcome> {
        self.0
            .contact
            .recommendation
            .filter(|_| self.mash())
            .map(Into::into)
    }
    /// MASH staff only.
    async fn recommendation_rationale(&self) -> Option<&str> {
        self.0
            .contact
            .recommendation_rationale
            .as_deref()
            .filter(|_| self.mash())
    }
    /// MASH staff only: consent overrides asked for.
    async fn overrides(&self) -> Vec<ConsentOverride> {
        self.0
            .overrides
            .iter()
            .cloned()
            .map(ConsentOverride)
            .collect()
    }
    /// MASH staff only: information requests sent.
    async fn information_requests(&self) -> Vec<RequestSummary> {
        self.0
            .requests
            .iter()
            .cloned()
            .map(RequestSummary)
            .collect()
    }
    /// MASH staff only: what partners disclosed (restricted items as stubs).
    async fn disclosures(&self) -> Vec<DisclosureItem> {
        disclosure_items(&self.0.disclosures, &self.0.agency_names)
    }
}

/// A day that is not a working day in England & Wales.
#[derive(SimpleObject)]
pub struct BankHoliday {
    /// The day.
    pub date: NaiveDate,
    /// The holiday's name, e.g. "Boxing Day".
    pub name: String,
}

impl From<entity::bank_holiday::Model> for BankHoliday {
    fn from(h: entity::bank_holiday::Model) -> Self {
        BankHoliday {
            date: h.day,
            name: h.name,
        }
    }
}

/// A child's identifiers only: no names, address or case content (for auditors).
#[derive(Description)]
pub struct ChildIdentifiers(pub child::Model);

#[Object(use_type_description)]
impl ChildIdentifiers {
    /// The child's global id.
    async fn id(&self) -> ID {
        ids::encode("Child", self.0.id)
    }
    /// Ten digits.
    async fn nhs_number(&self) -> Option<&str> {
        self.0.nhs_number.as_deref()
    }
    /// Unique Pupil Number.
    async fn upn(&self) -> Option<&str> {
        self.0.upn.as_deref()
    }
    /// The police's identifier for the child, as given.
    async fn police_id(&self) -> Option<&str> {
        self.0.police_id.as_deref()
    }
    /// A local identifier for the child, as given.
    async fn local_id(&self) -> Option<&str> {
        self.0.local_id.as_deref()
    }
}
