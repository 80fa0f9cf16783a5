//! Queries and mutations of the MASH workflow: thin, each a call to one service.
use async_graphql::{Context, Object, Result, ID};
use chrono::NaiveDate;

use super::case_inputs::*;
use super::case_types::{
    contact_page, disclosure_item, BankHoliday, Child, ChildIdentifiers, ConsentOverride, Contact,
    Disclosure, DisclosureItem, InformationRequest,
};
use super::codes::*;
use super::types::{connection, AuditEvent, Connection};
use super::{env, ids};
use crate::domain::audit::trail as audit_trail;
use crate::domain::case::children::{self};
use crate::domain::case::consent;
use crate::domain::case::contacts::{self, ContactFilter, NewContact};
use crate::domain::case::requests::{self, NewRequest};
use crate::domain::common::clock;
use crate::domain::common::page::PageRequest;

#[derive(Default)]
pub struct CaseQuery;

#[Object]
impl CaseQuery {
    /// One contact, as far as the caller may see it.
    async fn contact(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The contact's global id.")] id: ID,
    ) -> Result<Contact> {
        let (core, request) = env(ctx);
        Ok(Contact(
            contacts::get_contact(core, request, ids::target("Contact", &id)).await?,
        ))
    }

    /// Contacts the caller may see, by decision due time: the MASH queue for MASH staff;
    /// an agency's or referrer's own contacts for everyone else.
    // One argument per filter, as the schema offers them.
    #[allow(clippy::too_many_arguments)]
    async fn contacts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only contacts with this status.")] status: Option<ContactStatus>,
        #[graphql(
            desc = "Only undecided contacts past their due time (true), or none of those (false)."
        )]
        overdue: Option<bool>,
        #[graphql(desc = "Only contacts from this agency.")] source_agency_id: Option<ID>,
        #[graphql(
            desc = "Only contacts with events after this event `cursor` (from `contactQueueChanged` for MASH staff, `contactOutcome` for everyone else): what a client missed while disconnected."
        )]
        since: Option<String>,
        #[graphql(desc = "Page size (at most 100).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge already seen.")] after: Option<String>,
    ) -> Result<Connection<Contact>> {
        let filter = ContactFilter {
            status: status.map(Into::into),
            overdue,
            source_agency: source_agency_id.map(|id| ids::decode("Agency", &id)),
            child: None,
            since,
        };
        contact_page(ctx, filter, first, after).await
    }

    /// The MASH's record of a child (MASH staff).
    async fn child(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The child's global id.")] id: ID,
    ) -> Result<Child> {
        let (core, request) = env(ctx);
        Ok(
            children::get_child(core, request, ids::target("Child", &id))
                .await?
                .into(),
        )
    }

    /// A child's identifiers only (AUDITOR and MASH staff; audited).
    async fn child_identifiers(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The child's global id.")] id: ID,
    ) -> Result<ChildIdentifiers> {
        let (core, request) = env(ctx);
        Ok(ChildIdentifiers(
            children::get_child_identifiers(core, request, ids::target("Child", &id)).await?,
        ))
    }

    /// Find children by NHS number, or by last name and date of birth (MASH staff; at most 50).
    async fn search_children(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Find by this NHS number; the name and date of birth are then not used.")]
        nhs_number: Option<String>,
        #[graphql(desc = "Find by this last name (any case) when no NHS number is given.")]
        last_name: Option<String>,
        #[graphql(desc = "With `lastName`: only children born on this date.")]
        date_of_birth: Option<NaiveDate>,
    ) -> Result<Vec<Child>> {
        let (core, request) = env(ctx);
        let found =
            children::search_children(core, request, nhs_number, last_name, date_of_birth).await?;
        Ok(found.into_iter().map(Child::from).collect())
    }

    /// One information request (MASH staff; or the agency it was sent to).
    async fn information_request(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The request's global id.")] id: ID,
    ) -> Result<InformationRequest> {
        let (core, request) = env(ctx);
        Ok(InformationRequest(
            requests::get_request(core, request, ids::target("InformationRequest", &id)).await?,
        ))
    }

    /// Information requests: a partner agency's inbox, or all of them for MASH staff.
    async fn information_requests(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only requests with this status.")] status: Option<RequestStatus>,
        #[graphql(desc = "Only requests about this contact.")] contact_id: Option<ID>,
        #[graphql(
            desc = "Only requests with events after this event `cursor` (from `informationRequestReceived` for a partner, `informationRequestAnswered` for MASH staff): what a client missed while disconnected."
        )]
        since: Option<String>,
        #[graphql(desc = "Page size (at most 100).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge already seen.")] after: Option<String>,
    ) -> Result<Connection<InformationRequest>> {
        let (core, request) = env(ctx);
        let page = PageRequest::parse(first, after.as_deref(), core.config.max_page_size)?;
        let contact = contact_id.map(|id| ids::target("Contact", &id));
        let page = requests::list_requests(
            core,
            request,
            status.map(Into::into),
            contact,
            since.as_deref(),
            page,
        )
        .await?;
        Ok(connection(page, |v| v.request.id, InformationRequest))
    }

    /// England & Wales bank holidays of a year: the days the statutory clocks skip.
    async fn bank_holidays(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The calendar year, e.g. 2025.")] year: i32,
    ) -> Result<Vec<BankHoliday>> {
        let (core, request) = env(ctx);
        Ok(clock::bank_holidays(core, request, year)
            .await?
            .into_iter()
            .map(BankHoliday::from)
            .collect())
    }

    /// One disclosure: for the supplying agency's MASH desk, an onward recipient's desk, or
    /// MASH staff (items the caller may not see in full come as a stub naming the holder).
    async fn disclosure(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The disclosure's global id.")] id: ID,
    ) -> Result<DisclosureItem> {
        let (core, request) = env(ctx);
        Ok(disclosure_item(core, request, ids::target("Disclosure", &id)).await?)
    }

    /// Every response that returned this child's data: who, when, why (MASH managers).
    async fn child_access_log(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The child's global id.")] child_id: ID,
        #[graphql(desc = "Page size (at most 100).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge already seen.")] after: Option<String>,
    ) -> Result<Connection<AuditEvent>> {
        let (core, request) = env(ctx);
        let page = PageRequest::parse(first, after.as_deref(), core.config.max_page_size)?;
        let page =
            audit_trail::child_access_log(core, request, ids::target("Child", &child_id), page)
                .await?;
        Ok(connection(page, |e| e.event.id, AuditEvent))
    }

    /// Who read a disclosure, and when (the supplying agency's MASH desk, MASH managers, auditors).
    async fn disclosure_access_log(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The disclosure's global id.")] disclosure_id: ID,
        #[graphql(desc = "Page size (at most 100).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge already seen.")] after: Option<String>,
    ) -> Result<Connection<AuditEvent>> {
        let (core, request) = env(ctx);
        let page = PageRequest::parse(first, after.as_deref(), core.config.max_page_size)?;
        let page = audit_trail::disclosure_access_log(
            core,
            request,
            ids::target("Disclosure", &disclosure_id),
            page,
        )
        .await?;
        Ok(connection(page, |e| e.event.id, AuditEvent))
    }

    /// Break-glass overrides awaiting a second manager's review (MASH managers).
    async fn break_glass_review_queue(&self, ctx: &Context<'_>) -> Result<Vec<ConsentOverride>> {
        let (core, request) = env(ctx);
        Ok(consent::review_queue(core, request)
            .await?
            .into_iter()
            .map(ConsentOverride)
            .collect())
    }
}

#[derive(Default)]
pub struct CaseMutation;

#[Object]
impl CaseMutation {
    /// Tell the MASH about a child. Referrers, partner MASH desks, MASH staff and clients
    /// with `contacts:submit`. A child already known to the MASH is linked, not duplicated.
    async fn submit_contact(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The contact.")] input: SubmitContactInput,
    ) -> Result<Contact> {
        let (core, request) = env(ctx);
        let new = NewContact {
            child: input.child.into(),
            source_code: input.source_code,
            referrer_name: input.referrer_name,
            concern_categories: input.concern_categories,
            narrative: input.narrative,
            immediate_risk: input.immediate_risk,
            consent: input.consent.into(),
            occurred_at: input.occurred_at,
            idempotency_key: input.idempotency_key,
        };
        Ok(Contact(contacts::submit_contact(core, request, new).await?))
    }

    /// Record consent on a contact (MASH staff; or the submitting referrer and their agency's MASH desk).
    async fn record_consent(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The contact the consent is for.")] contact_id: ID,
        #[graphql(desc = "The consent position and its details.")] input: ConsentInput,
    ) -> Result<Contact> {
        let (core, request) = env(ctx);
        Ok(Contact(
            consent::record_consent(
                core,
                request,
                ids::target("Contact", &contact_id),
                input.into(),
            )
            .await?,
        ))
    }

    /// Withdraw a consent: the open requests that relied on it are withdrawn too.
    async fn withdraw_consent(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The consent to withdraw.")] consent_id: ID,
    ) -> Result<Contact> {
        let (core, request) = env(ctx);
        Ok(Contact(
            consent::withdraw_consent(core, request, ids::target("Consent", &consent_id)).await?,
        ))
    }

    /// Ask to share without consent (MASH staff), with a DPA 2018 reason and a justification.
    async fn request_consent_override(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The contact to share about without consent.")] contact_id: ID,
        #[graphql(desc = "The DPA 2018 reason for sharing without consent.")]
        reason: OverrideReason,
        #[graphql(desc = "Why the override is needed, in the requester's words.")]
        justification: String,
    ) -> Result<ConsentOverride> {
        let (core, request) = env(ctx);
        let created = consent::request_override(
            core,
            request,
            ids::target("Contact", &contact_id),
            reason.code(),
            &justification,
        )
        .await?;
        Ok(ConsentOverride(created))
    }

    /// Approve an override (MASH managers, not the requester — unless the child is at
    /// immediate risk: break-glass, then reviewed by a second manager).
    async fn approve_consent_override(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The override to approve.")] override_id: ID,
    ) -> Result<ConsentOverride> {
        let (core, request) = env(ctx);
        Ok(ConsentOverride(
            consent::decide_override(
                core,
                request,
                ids::target("ConsentOverride", &override_id),
                true,
            )
            .await?,
        ))
    }

    /// Refuse an override (MASH managers, not the requester).
    async fn refuse_consent_override(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The override to refuse.")] override_id: ID,
    ) -> Result<ConsentOverride> {
        let (core, request) = env(ctx);
        Ok(ConsentOverride(
            consent::decide_override(
                core,
                request,
                ids::target("ConsentOverride", &override_id),
                false,
            )
            .await?,
        ))
    }

    /// A second manager reviews a break-glass override; refusing it withdraws the open
    /// requests that relied on it.
    async fn review_break_glass_override(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The break-glass override to review.")] override_id: ID,
        #[graphql(desc = "True to uphold the override, false to refuse it.")] uphold: bool,
    ) -> Result<ConsentOverride> {
        let (core, request) = env(ctx);
        Ok(ConsentOverride(
            consent::review_override(
                core,
                request,
                ids::target("ConsentOverride", &override_id),
                uphold,
            )
            .await?,
        ))
    }

    /// Set or clear the immediate-risk flag (MASH staff).
    async fn set_immediate_risk(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The contact.")] contact_id: ID,
        #[graphql(desc = "True to flag the child at immediate risk, false to clear the flag.")]
        immediate_risk: bool,
    ) -> Result<Contact> {
        let (core, request) = env(ctx);
        Ok(Contact(
            contacts::set_immediate_risk(
                core,
                request,
                ids::target("Contact", &contact_id),
                immediate_risk,
            )
            .await?,
        ))
    }

    /// Ask a partner agency what it knows about a contact's child (MASH staff). Needs consent
    /// covering the agency or an authorised override: otherwise CONSENT_REQUIRED.
    async fn send_information_request(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The request.")] input: SendInformationRequestInput,
    ) -> Result<InformationRequest> {
        let (core, request) = env(ctx);
        let new = NewRequest {
            contact_id: ids::target("Contact", &input.contact_id),
            to_agency_id: ids::decode("Agency", &input.to_agency_id),
            questions: input.questions,
            priority: input.priority.code().to_string(),
            occurred_at: input.occurred_at,
        };
        Ok(InformationRequest(
            requests::send_request(core, request, new).await?,
        ))
    }

    /// Answer a request with one or more disclosures (the agency's MASH desk, or a client
    /// with `requests:respond`).
    async fn respond_to_information_request(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The request to answer.")] request_id: ID,
        #[graphql(desc = "The items disclosed (at least one).")] disclosures: Vec<DisclosureInput>,
        #[graphql(desc = "Retries with the same key return the first answer.")]
        idempotency_key: Option<String>,
    ) -> Result<InformationRequest> {
        let (core, request) = env(ctx);
        let disclosures = disclosures.into_iter().map(Into::into).collect();
        let id = ids::target("InformationRequest", &request_id);
        Ok(InformationRequest(
            requests::respond(core, request, id, disclosures, idempotency_key).await?,
        ))
    }

    /// Decline to share, with the reason (recorded like any disclosure decision).
    async fn decline_information_request(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The request to decline.")] request_id: ID,
        #[graphql(desc = "Why the agency will not share.")] reason: String,
    ) -> Result<InformationRequest> {
        let (core, request) = env(ctx);
        Ok(InformationRequest(
            requests::decline(
                core,
                request,
                ids::target("InformationRequest", &request_id),
                &reason,
            )
            .await?,
        ))
    }

    /// Pass a disclosure on to another agency as its handling code allows (MASH staff).
    async fn share_disclosure_onward(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The disclosure to pass on.")] disclosure_id: ID,
        #[graphql(desc = "The agency to pass it on to.")] to_agency_id: ID,
        #[graphql(
            desc = "Required for handling code C: the conditions are carried to the recipient.",
            default
        )]
        acknowledge_conditions: bool,
        #[graphql(desc = "Required for legacy code 2: the recorded authorisation.")] authorisation: Option<String>,
    ) -> Result<Disclosure> {
        let (core, request) = env(ctx);
        let created = requests::share_onward(
            core,
            request,
            ids::target("Disclosure", &disclosure_id),
            ids::decode("Agency", &to_agency_id),
            acknowledge_conditions,
            authorisation,
        )
        .await?;
        let host = request
            .actor
            .agency
            .as_ref()
            .map(|a| a.name.clone())
            .unwrap_or_default();
        Ok(Disclosure {
            disclosure: created,
            supplied_by: host,
            to_agency: None,
        })
    }

    /// A recommended outcome ahead of the decision (MASH staff).
    async fn record_recommendation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The contact.")] contact_id: ID,
        #[graphql(desc = "The recommended outcome.")] outcome: ContactOutcome,
        #[graphql(desc = "Why that outcome is recommended.")] rationale: String,
    ) -> Result<Contact> {
        let (core, request) = env(ctx);
        Ok(Contact(
            contacts::recommend(
                core,
                request,
                ids::target("Contact", &contact_id),
                outcome.code(),
                &rationale,
            )
            .await?,
        ))
    }

    /// Record the decision on a contact (MASH managers).
    async fn record_decision(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The decision.")] input: RecordDecisionInput,
    ) -> Result<Contact> {
        let (core, request) = env(ctx);
        let id = ids::target("Contact", &input.contact_id);
        let view = contacts::decide(
            core,
            request,
            id,
            input.outcome.code(),
            input.threshold_level,
            &input.rationale,
            input.occurred_at,
        )
        .await?;
        Ok(Contact(view))
    }

    /// Add a bank holiday to the calendar (ADMIN), e.g. a one-off day announced by the government.
    async fn add_bank_holiday(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The day.")] date: NaiveDate,
        #[graphql(desc = "The holiday's name.")] name: String,
    ) -> Result<BankHoliday> {
        let (core, request) = env(ctx);
        Ok(clock::add_bank_holiday(core, request, date, &name)
            .await?
            .into())
    }

    /// Reconcile the MASH's child record (MASH staff); submitted details stay with each contact.
    async fn update_child(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The child record to change.")] child_id: ID,
        #[graphql(
            desc = "The record's new details: every field is replaced (one left out is cleared)."
        )]
        input: ChildInput,
    ) -> Result<Child> {
        let (core, request) = env(ctx);
        Ok(
            children::update_child(core, request, ids::target("Child", &child_id), input.into())
                .await?
                .into(),
        )
    }

    /// Link two children as siblings or one household (MASH staff).
    async fn link_children(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "One of the two children.")] child_id: ID,
        #[graphql(desc = "The other child.")] related_child_id: ID,
        #[graphql(desc = "How the two are linked.")] relationship: ChildRelationship,
    ) -> Result<Child> {
        let (core, request) = env(ctx);
        let record = children::link_children(
            core,
            request,
            ids::target("Child", &child_id),
            ids::decode("Child", &related_child_id),
            relationship.code(),
        )
        .await?;
        Ok(record.into())
    }
}
