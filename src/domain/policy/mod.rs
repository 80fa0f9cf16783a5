//! The one access policy (docs/design.md "Access policy"). Services ask it before they touch
//! anything; nothing reads or changes records around it.
use entity::{
    agency, contact, disclosure, early_help_episode, information_request, missing_episode,
};
use sea_orm::{ColumnTrait, Condition};
use uuid::Uuid;

use crate::domain::audit::{self, Action, AuditEntry};
use crate::domain::common::codes::{AgencyKind, Role};
use crate::domain::events::ChangeKind;
use crate::domain::{Actor, ActorKind, RequestCtx};
use crate::error::{AppError, AppResult};
use crate::event_bus::BusEvent;
use entity::codes::HandlingCode;

/// Operations whose permission depends on the caller alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    /// Agencies, users and machine clients.
    ManageIdentity,
    /// Read one's own identity (`me`).
    ReadSelf,
    /// Change one's own password.
    ChangeOwnPassword,
    /// Extend the bank-holiday calendar the statutory clocks use.
    ManageCalendar,
    /// Read the calendar.
    ReadCalendar,
    /// Read audit events and checkpoints (metadata and ids, no case content).
    ReadAuditTrail,
    /// Verify the audit trail's chains and checkpoints.
    VerifyAuditTrail,
    /// Sign a checkpoint of the audit trail on demand.
    CreateAuditCheckpoint,
}

pub fn authorize(actor: &Actor, permission: Permission) -> AppResult<()> {
    if actor.kind == ActorKind::Anonymous {
        return Err(AppError::Unauthenticated("authentication required"));
    }
    let allowed = match permission {
        Permission::ManageIdentity => {
            actor.kind == ActorKind::Operator || actor.has_role(Role::Admin)
        }
        Permission::ReadSelf => matches!(actor.kind, ActorKind::User | ActorKind::Client),
        Permission::ChangeOwnPassword => actor.kind == ActorKind::User,
        Permission::ManageCalendar => {
            actor.kind == ActorKind::Operator || actor.has_role(Role::Admin)
        }
        Permission::ReadCalendar => true,
        Permission::ReadAuditTrail
        | Permission::VerifyAuditTrail
        | Permission::CreateAuditCheckpoint => {
            actor.kind == ActorKind::Operator || actor.has_role(Role::Auditor)
        }
    };
    if allowed {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// Which roles an agency's users may hold: MASH roles and AUDITOR (and ADMIN, who runs the
/// service for the council) only in the agency that hosts the MASH; PARTNER_MASH_OFFICER
/// only outside it; REFERRER anywhere.
pub fn role_allowed_in(role: Role, agency: &agency::Model) -> bool {
    match role {
        Role::Admin | Role::MashManager | Role::MashSocialWorker | Role::Auditor => {
            agency.hosts_mash
        }
        Role::PartnerMashOfficer => !agency.hosts_mash,
        Role::Referrer => true,
    }
}

pub fn check_roles_for_agency(roles: &[Role], agency: &agency::Model) -> AppResult<()> {
    if roles.is_empty() {
        return Err(AppError::bad_input(
            "roles",
            "at least one role is required",
        ));
    }
    if let Some(role) = roles.iter().find(|r| !role_allowed_in(**r, agency)) {
        let rule = if agency.hosts_mash {
            "is held only by users of partner agencies, not the agency that hosts the MASH"
        } else {
            "is held only by users of the agency that hosts the MASH"
        };
        return Err(AppError::bad_input(
            "roles",
            format!("{} {rule}", role.as_str()),
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------- case data

/// MASH staff: managers and social workers of the agency that hosts the MASH.
fn is_mash_staff(actor: &Actor) -> bool {
    actor.kind == ActorKind::User
        && actor.agency.as_ref().is_some_and(|a| a.hosts_mash)
        && (actor.has_role(Role::MashManager) || actor.has_role(Role::MashSocialWorker))
}

fn has_scope(actor: &Actor, scope: &str) -> bool {
    actor.kind == ActorKind::Client && actor.scopes.iter().any(|s| s == scope)
}

fn is_partner_officer(actor: &Actor) -> bool {
    actor.kind == ActorKind::User && actor.has_role(Role::PartnerMashOfficer)
}

fn same_agency(actor: &Actor, agency_id: Uuid) -> bool {
    actor.agency_id() == Some(agency_id)
}

/// Operations on case data whose permission depends on the caller's role alone. A caller
/// without it gets FORBIDDEN; one with it may still find a record out of scope (NOT_FOUND).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaseOperation {
    SubmitContact,
    ReadContacts,
    /// Triage work: children, requests, overrides asked for, recommendations, onward sharing.
    MashWork,
    RecordConsent,
    DecideContact,
    DecideOverride,
    RespondToRequests,
    /// Information requests: MASH staff (all), a partner's desk and systems (their agency's).
    ReadRequests,
    ChildAccessLog,
    DisclosureAccessLog,
    /// A child's identifiers only (NHS number, UPN, police and local ids): MASH staff and auditors.
    ReadChildIdentifiers,
    /// Report missing episodes and returns: a police agency's MASH desk, clients `missing:report`.
    ReportMissing,
    /// Read missing episodes: MASH staff (all), the reporting police (their own).
    ReadMissing,
    /// Early help episodes: MASH staff, and an early help agency's MASH desk (its own).
    EarlyHelp,
    /// Ofsted Annex A child-level exports: MASH managers, and the local operator at the
    /// command line (audited, with a reason).
    AnnexAExport,
    /// The performance report (aggregates only, no child's data): MASH managers and
    /// auditors of the agency that hosts the MASH.
    PerformanceReport,
}

fn authorize_case(actor: &Actor, operation: CaseOperation) -> AppResult<()> {
    if actor.kind == ActorKind::Anonymous {
        return Err(AppError::Unauthenticated("authentication required"));
    }
    let mash = is_mash_staff(actor);
    let manager = mash && actor.has_role(Role::MashManager);
    let allowed = match operation {
        CaseOperation::SubmitContact => {
            mash || is_partner_officer(actor)
                || actor.has_role(Role::Referrer)
                || has_scope(actor, "contacts:submit")
        }
        CaseOperation::ReadContacts => {
            mash || is_partner_officer(actor)
                || actor.has_role(Role::Referrer)
                || has_scope(actor, "contacts:submit")
        }
        CaseOperation::MashWork => mash,
        CaseOperation::ReportMissing => reports_missing(actor),
        CaseOperation::ReadMissing => mash || reports_missing(actor),
        CaseOperation::EarlyHelp => mash || early_help_desk(actor).is_some(),
        CaseOperation::AnnexAExport => manager || actor.kind == ActorKind::Operator,
        CaseOperation::ReadChildIdentifiers => {
            mash || (actor.has_role(Role::Auditor)
                && actor.agency.as_ref().is_some_and(|a| a.hosts_mash))
        }
        CaseOperation::RecordConsent => {
            mash || is_partner_officer(actor) || actor.has_role(Role::Referrer)
        }
        CaseOperation::DecideContact
        | CaseOperation::DecideOverride
        | CaseOperation::ChildAccessLog => manager,
        CaseOperation::RespondToRequests => agency_desk_or_system(actor),
        CaseOperation::ReadRequests => mash || agency_desk_or_system(actor),
        CaseOperation::PerformanceReport => {
            manager
                || (actor.has_role(Role::Auditor)
                    && actor.agency.as_ref().is_some_and(|a| a.hosts_mash))
        }
        CaseOperation::DisclosureAccessLog => {
            manager
                || is_partner_officer(actor)
                || (actor.has_role(Role::Auditor)
                    && actor.agency.as_ref().is_some_and(|a| a.hosts_mash))
        }
    };
    if allowed {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// Proof that the policy let this request perform one operation on case data. Only `allow`
/// makes one, and the scope rules (which records the caller sees, how much of each) are
/// methods of it, so a service cannot reach case data without asking the policy first. It
/// carries the operation's audit action, so a service names its action once: the refusal,
/// the success entry and any NOT_FOUND are all recorded under it.
pub struct Grant<'a> {
    ctx: &'a RequestCtx,
    action: Action,
}

/// Asks the policy whether the caller's role may ever perform `operation`; a refusal is
/// audited under `action` before it is returned.
pub async fn allow<'a>(
    core: &crate::Core,
    ctx: &'a RequestCtx,
    action: Action,
    operation: CaseOperation,
) -> AppResult<Grant<'a>> {
    audit::on_refusal(core, ctx, action, authorize_case(&ctx.actor, operation)).await?;
    Ok(Grant { ctx, action })
}

impl<'a> Grant<'a> {
    pub fn action(&self) -> Action {
        self.action
    }

    pub fn ctx(&self) -> &'a RequestCtx {
        self.ctx
    }

    fn actor(&self) -> &'a Actor {
        &self.ctx.actor
    }

    /// The success entry of this operation, to be completed with what it touched.
    pub fn entry(&self) -> AuditEntry {
        AuditEntry::success(self.action)
    }

    /// Passes `result` through, auditing a refusal (e.g. an out-of-scope NOT_FOUND) under
    /// this operation's action.
    pub async fn on_refusal<T>(&self, core: &crate::Core, result: AppResult<T>) -> AppResult<T> {
        audit::on_refusal(core, self.ctx, self.action, result).await
    }

    pub fn is_mash_staff(&self) -> bool {
        is_mash_staff(self.actor())
    }

    pub fn contact_access(&self, contact: &contact::Model) -> Option<ContactAccess> {
        contact_access(self.actor(), contact)
    }

    pub fn contact_scope(&self) -> Condition {
        contact_scope(self.actor())
    }

    pub fn may_record_consent(&self, contact: &contact::Model) -> bool {
        may_record_consent(self.actor(), contact)
    }

    pub fn request_scope(&self) -> Condition {
        request_scope(self.actor())
    }

    pub fn may_see_request(&self, request: &information_request::Model) -> bool {
        may_see_request(self.actor(), request)
    }

    pub fn may_answer_request(&self, request: &information_request::Model) -> bool {
        may_answer_request(self.actor(), request)
    }

    pub fn disclosure_visibility(&self, disclosure: &disclosure::Model) -> DisclosureVisibility {
        disclosure_visibility(self.actor(), disclosure)
    }

    pub fn may_read_disclosure_access_log(&self, disclosure: &disclosure::Model) -> bool {
        may_read_disclosure_access_log(self.actor(), disclosure)
    }

    pub fn missing_scope(&self) -> Condition {
        missing_scope(self.actor())
    }

    pub fn may_see_episode(&self, episode: &missing_episode::Model) -> bool {
        may_see_episode(self.actor(), episode)
    }

    pub fn early_help_scope(&self) -> Condition {
        early_help_scope(self.actor())
    }

    pub fn may_see_early_help(&self, episode: &early_help_episode::Model) -> bool {
        may_see_early_help(self.actor(), episode)
    }
}

/// How much of a contact a caller sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContactAccess {
    /// MASH staff: everything.
    Mash,
    /// The submitting referrer, their agency's MASH desk or systems: status, outcome and
    /// decision date, the details they sent; never the rationale, recommendation or
    /// other agencies' disclosures.
    Submitter,
}

fn contact_access(actor: &Actor, contact: &contact::Model) -> Option<ContactAccess> {
    if is_mash_staff(actor) {
        return Some(ContactAccess::Mash);
    }
    let own_agency = same_agency(actor, contact.agency_id);
    let agency_desk = is_partner_officer(actor) || has_scope(actor, "contacts:submit");
    let submitter = (agency_desk && own_agency)
        || (actor.has_role(Role::Referrer) && actor.id == Some(contact.submitted_by_id));
    submitter.then_some(ContactAccess::Submitter)
}

/// The contacts a caller may list, as a database condition (lists are filtered in the
/// query, so counts and pages never reveal hidden rows).
fn contact_scope(actor: &Actor) -> Condition {
    if is_mash_staff(actor) {
        return Condition::all();
    }
    let mut any = Condition::any();
    if let Some(agency) = actor.agency_id() {
        if is_partner_officer(actor) || has_scope(actor, "contacts:submit") {
            any = any.add(contact::Column::AgencyId.eq(agency));
        }
    }
    if actor.has_role(Role::Referrer) {
        if let Some(id) = actor.id {
            any = any.add(contact::Column::SubmittedById.eq(id));
        }
    }
    // An empty "any" matches nothing.
    any
}

/// Consent may be recorded or withdrawn by MASH staff, or on their own contacts by the
/// submitting referrer and their agency's MASH desk (not by machine clients).
fn may_record_consent(actor: &Actor, contact: &contact::Model) -> bool {
    actor.kind == ActorKind::User && contact_access(actor, contact).is_some()
}

/// Requests a caller may see: MASH staff all; a partner's desk and systems those to their agency.
fn request_scope(actor: &Actor) -> Condition {
    if is_mash_staff(actor) {
        return Condition::all();
    }
    match actor.agency_id() {
        Some(agency) if agency_desk_or_system(actor) => {
            Condition::all().add(information_request::Column::ToAgencyId.eq(agency))
        }
        _ => Condition::any(),
    }
}

fn may_see_request(actor: &Actor, request: &information_request::Model) -> bool {
    is_mash_staff(actor)
        || (agency_desk_or_system(actor) && same_agency(actor, request.to_agency_id))
}

fn may_answer_request(actor: &Actor, request: &information_request::Model) -> bool {
    agency_desk_or_system(actor) && same_agency(actor, request.to_agency_id)
}

/// How a disclosure appears to a caller (originator control, docs/codes.md "Handling codes").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DisclosureVisibility {
    Full,
    /// Only that the supplying agency holds information (legacy codes 4 and 5).
    Stub,
    Hidden,
}

/// A partner agency's MASH desk, or its systems answering requests (`requests:respond`):
/// both act for the agency on the requests sent to it and on what it disclosed.
fn agency_desk_or_system(actor: &Actor) -> bool {
    is_partner_officer(actor) || has_scope(actor, "requests:respond")
}

fn disclosure_visibility(actor: &Actor, disclosure: &disclosure::Model) -> DisclosureVisibility {
    let supplier =
        agency_desk_or_system(actor) && same_agency(actor, disclosure.supplied_by_agency_id);
    if supplier {
        return DisclosureVisibility::Full;
    }
    let recipient = disclosure
        .to_agency_id
        .is_some_and(|to| agency_desk_or_system(actor) && same_agency(actor, to));
    if is_mash_staff(actor) || recipient {
        if matches!(
            disclosure.handling_code,
            HandlingCode::Legacy4 | HandlingCode::Legacy5
        ) {
            DisclosureVisibility::Stub
        } else {
            DisclosureVisibility::Full
        }
    } else {
        DisclosureVisibility::Hidden
    }
}

/// Whether the MASH may pass a disclosure on to `to` (docs/codes.md "Handling codes").
pub fn onward_share_check(
    disclosure: &disclosure::Model,
    to: &agency::Model,
    referring_agency: Uuid,
    conditions_acknowledged: bool,
    authorisation: Option<&str>,
) -> AppResult<()> {
    let refuse = |field: &str, why: &str| Err(AppError::bad_input(field, why.to_string()));
    if disclosure
        .audience_restrictions
        .split(',')
        .any(|r| r == "NOT_FOR_REFERRER")
        && to.id == referring_agency
    {
        return refuse(
            "toAgencyId",
            "the supplying agency marked this not for the referrer",
        );
    }
    match disclosure.handling_code {
        HandlingCode::P => Ok(()),
        HandlingCode::C if conditions_acknowledged => Ok(()),
        HandlingCode::C => refuse(
            "acknowledgeConditions",
            "handling code C: the conditions must be acknowledged and carried to the recipient",
        ),
        HandlingCode::Legacy1 if to.kind == AgencyKind::Police => Ok(()),
        HandlingCode::Legacy1 => refuse(
            "toAgencyId",
            "legacy code 1: onward sharing only to law-enforcement and prosecuting agencies",
        ),
        HandlingCode::Legacy2 if authorisation.is_some_and(|a| !a.trim().is_empty()) => Ok(()),
        HandlingCode::Legacy2 => refuse(
            "authorisation",
            "legacy code 2: onward sharing needs a recorded authorisation",
        ),
        HandlingCode::Legacy3 | HandlingCode::Legacy4 | HandlingCode::Legacy5 => refuse(
            "disclosureId",
            "this handling code does not allow onward sharing",
        ),
    }
}

/// A disclosure's access log: MASH managers and auditors for any; a partner's MASH desk for
/// what its own agency disclosed.
fn may_read_disclosure_access_log(actor: &Actor, disclosure: &disclosure::Model) -> bool {
    let manager = is_mash_staff(actor) && actor.has_role(Role::MashManager);
    let auditor =
        actor.has_role(Role::Auditor) && actor.agency.as_ref().is_some_and(|a| a.hosts_mash);
    manager
        || auditor
        || (is_partner_officer(actor) && same_agency(actor, disclosure.supplied_by_agency_id))
}

/// A police agency's MASH desk, or a client holding `missing:report`.
fn reports_missing(actor: &Actor) -> bool {
    let police = actor
        .agency
        .as_ref()
        .is_some_and(|a| a.kind == AgencyKind::Police);
    (is_partner_officer(actor) && police) || has_scope(actor, "missing:report")
}

/// Missing episodes a caller may see: MASH staff all; the police those their agency reported.
fn missing_scope(actor: &Actor) -> Condition {
    if is_mash_staff(actor) {
        return Condition::all();
    }
    match actor.agency_id() {
        Some(agency) if reports_missing(actor) => {
            Condition::all().add(missing_episode::Column::AgencyId.eq(agency))
        }
        _ => Condition::any(),
    }
}

fn may_see_episode(actor: &Actor, episode: &missing_episode::Model) -> bool {
    is_mash_staff(actor) || (reports_missing(actor) && same_agency(actor, episode.agency_id))
}

/// The agency of an early help agency's MASH desk officer.
fn early_help_desk(actor: &Actor) -> Option<Uuid> {
    actor
        .agency
        .as_ref()
        .filter(|a| a.kind == AgencyKind::EarlyHelp && is_partner_officer(actor))
        .map(|a| a.id)
}

/// Early help episodes a caller may see: MASH staff all; an early help desk those sent to it.
fn early_help_scope(actor: &Actor) -> Condition {
    if is_mash_staff(actor) {
        return Condition::all();
    }
    match early_help_desk(actor) {
        Some(agency) => Condition::all().add(early_help_episode::Column::AgencyId.eq(agency)),
        None => Condition::any(),
    }
}

fn may_see_early_help(actor: &Actor, episode: &early_help_episode::Model) -> bool {
    is_mash_staff(actor) || early_help_desk(actor) == Some(episode.agency_id)
}

#[cfg(test)]
mod tests;

/// Which audit entries a caller may search (`GET /fhir/AuditEvent`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditSearchScope {
    /// AUDITORs and the operator: every entry.
    All,
    /// A partner's MASH desk and systems: entries naming what this agency disclosed, and of
    /// each only those disclosures.
    DisclosuresOf(Uuid),
}

pub fn audit_search_scope(actor: &Actor) -> AppResult<AuditSearchScope> {
    if authorize(actor, Permission::ReadAuditTrail).is_ok() {
        return Ok(AuditSearchScope::All);
    }
    if actor.kind == ActorKind::Anonymous {
        return Err(AppError::Unauthenticated("authentication required"));
    }
    match actor.agency_id() {
        Some(agency) if agency_desk_or_system(actor) => Ok(AuditSearchScope::DisclosuresOf(agency)),
        _ => Err(AppError::Forbidden),
    }
}

/// What a subscriber may listen to (`domain::events`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Topic {
    /// Requests sent to the subscriber's agency: its MASH desk and systems.
    RequestReceived,
    /// Partners' answers: MASH staff.
    RequestAnswered,
    /// Contacts arriving, changing and decided: MASH staff.
    ContactQueue,
    /// Decisions on the subscriber's own contacts: the referrer, their agency's desk and
    /// submitting systems.
    ContactOutcome,
    /// Reads of what the subscriber's agency disclosed: its desk and systems.
    DisclosureAccessed,
}

/// Whether the caller's role may ever subscribe to `topic` (FORBIDDEN otherwise).
pub fn authorize_subscription(actor: &Actor, topic: Topic) -> AppResult<()> {
    if actor.kind == ActorKind::Anonymous {
        return Err(AppError::Unauthenticated("authentication required"));
    }
    let allowed = match topic {
        Topic::RequestReceived | Topic::DisclosureAccessed => {
            agency_desk_or_system(actor) && actor.agency_id().is_some()
        }
        Topic::RequestAnswered | Topic::ContactQueue => is_mash_staff(actor),
        Topic::ContactOutcome => {
            actor.has_role(Role::Referrer)
                || is_partner_officer(actor)
                || has_scope(actor, "contacts:submit")
        }
    };
    if allowed {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// Whether this subscriber is told of `event` on `topic`, decided for each event as it is
/// delivered: an event is only ever about records the subscriber could read.
pub fn may_receive(actor: &Actor, topic: Topic, event: &BusEvent) -> bool {
    if authorize_subscription(actor, topic).is_err() {
        return false;
    }
    match (topic, event) {
        (Topic::DisclosureAccessed, BusEvent::DisclosureRead(read)) => {
            same_agency(actor, read.supplied_by_agency_id)
        }
        (_, BusEvent::DisclosureRead(_)) | (Topic::DisclosureAccessed, _) => false,
        (topic, BusEvent::Change(change)) => {
            let Some(kind) = ChangeKind::parse(&change.kind) else {
                return false;
            };
            match topic {
                Topic::RequestReceived => {
                    kind == ChangeKind::RequestSent
                        && change.agency_id.is_some_and(|a| same_agency(actor, a))
                }
                Topic::RequestAnswered => kind == ChangeKind::RequestAnswered,
                Topic::ContactQueue => kind.is_contact(),
                Topic::ContactOutcome => {
                    let desk = is_partner_officer(actor) || has_scope(actor, "contacts:submit");
                    kind == ChangeKind::ContactDecided
                        && ((desk && change.agency_id.is_some_and(|a| same_agency(actor, a)))
                            || (actor.has_role(Role::Referrer)
                                && actor.id.is_some()
                                && actor.id == change.principal_id))
                }
                Topic::DisclosureAccessed => false,
            }
        }
    }
}

/// The change kinds a caller catches up on with `since:` on a list: those of the topic
/// they would subscribe to.
pub fn catch_up_kinds(actor: &Actor, requests: bool) -> Vec<ChangeKind> {
    match (requests, is_mash_staff(actor)) {
        (true, true) => vec![ChangeKind::RequestAnswered],
        (true, false) => vec![ChangeKind::RequestSent],
        (false, true) => vec![
            ChangeKind::ContactArrived,
            ChangeKind::ContactUpdated,
            ChangeKind::ContactDecided,
        ],
        (false, false) => vec![ChangeKind::ContactDecided],
    }
}
