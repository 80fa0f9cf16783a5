//! Contacts: submission (with duplicate matching and idempotency), what each caller sees,
//! the MASH queue, recommendations and decisions.
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{agency, child, consent, consent_override, contact, disclosure, information_request};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::db::begin_write;
use crate::domain::audit::{self, AuditEntry};
use crate::domain::case::children::{self, ChildDetails};
use crate::domain::common::checks::{self, event_time, Kind};
use crate::domain::common::codes::AgencyKind;
use crate::domain::common::idempotency::{self, Outcome};
use crate::domain::common::page::{Page, PageRequest};
use crate::domain::common::{clock, transition};
use crate::domain::policy::{self, CaseOperation, ContactAccess, DisclosureVisibility};
use crate::domain::{ActorKind, RequestCtx};
use crate::error::{AppError, AppResult};
use crate::Core;

/// Codes a MASH worker may choose when recording a call from the public.
pub const PUBLIC_SOURCE_CODES: [&str; 6] = ["1A", "1B", "1C", "1D", "9", "10"];
pub const OUTCOMES: [&str; 5] = [
    "NO_FURTHER_ACTION",
    "INFORMATION_AND_ADVICE",
    "STEP_DOWN_TO_EARLY_HELP",
    "REFERRAL_FOR_ASSESSMENT",
    "STRATEGY_DISCUSSION",
];

#[derive(Clone, Debug, Serialize)]
pub struct ConsentInput {
    /// GIVEN, NOT_SOUGHT or REFUSED.
    pub position: String,
    pub given_by: Option<String>,
    pub relationship: Option<String>,
    pub obtained_at: Option<DateTime<Utc>>,
    pub purposes: Vec<String>,
    /// Agencies the consent covers; None = all. An inner None is an id that was not an agency's.
    pub agency_ids: Option<Vec<Option<Uuid>>>,
    pub not_sought_reason: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct NewContact {
    pub child: ChildDetails,
    pub source_code: Option<String>,
    pub referrer_name: Option<String>,
    pub concern_categories: Vec<String>,
    pub narrative: String,
    pub immediate_risk: bool,
    pub consent: ConsentInput,
    pub occurred_at: Option<DateTime<Utc>>,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

/// A checked consent, ready to store.
pub struct ValidConsent {
    pub given_by: String,
    pub relationship: String,
    pub obtained_at: DateTime<Utc>,
    pub purposes: String,
    pub agency_ids: String,
}

pub async fn validate_consent<C: ConnectionTrait>(
    conn: &C,
    prefix: &str,
    input: &ConsentInput,
) -> AppResult<Option<ValidConsent>> {
    let f = |name: &str| checks::path(prefix, name);
    match input.position.as_str() {
        "GIVEN" => {
            let given_by = checks::required(
                &f("givenBy"),
                input.given_by.as_deref().unwrap_or(""),
                Kind::Name,
            )?;
            let relationship = checks::required_max(
                &f("relationship"),
                input.relationship.as_deref().unwrap_or(""),
                Kind::Line,
                100,
            )?;
            let obtained_at = event_time(&f("obtainedAt"), input.obtained_at)?;
            if let Some(ids) = &input.agency_ids {
                checks::list(&f("agencyIds"), ids, checks::MAX_CONSENT_AGENCIES)?;
            }
            checks::list(&f("purposes"), &input.purposes, checks::MAX_PURPOSES)?;
            for (i, purpose) in input.purposes.iter().enumerate() {
                checks::required_max(&format!("{}[{i}]", f("purposes")), purpose, Kind::Line, 100)?;
            }
            let mut ids = Vec::new();
            for id in input.agency_ids.iter().flatten() {
                let known = match id {
                    Some(id) => agency::Entity::find_by_id(*id).one(conn).await?.is_some(),
                    None => false,
                };
                if !known {
                    return Err(AppError::bad_input(&f("agencyIds"), "no such agency"));
                }
                ids.push(id.unwrap_or_default().to_string());
            }
            if input
                .purposes
                .iter()
                .any(|p| p.trim().is_empty() || p.len() > 100)
            {
                return Err(AppError::bad_input(
                    &f("purposes"),
                    "each purpose must be 1–100 characters",
                ));
            }
            Ok(Some(ValidConsent {
                given_by,
                relationship,
                obtained_at,
                purposes: input
                    .purposes
                    .iter()
                    .map(|p| p.trim())
                    .collect::<Vec<_>>()
                    .join(","),
                agency_ids: ids.join(","),
            }))
        }
        "NOT_SOUGHT" => {
            checks::required(
                &f("notSoughtReason"),
                input.not_sought_reason.as_deref().unwrap_or(""),
                Kind::Note,
            )?;
            Ok(None)
        }
        "REFUSED" => Ok(None),
        _ => Err(AppError::bad_input(
            &f("position"),
            "must be GIVEN, NOT_SOUGHT or REFUSED",
        )),
    }
}

pub async fn insert_consent<C: ConnectionTrait>(
    conn: &C,
    contact_id: Uuid,
    actor_id: Uuid,
    actor_agency: Uuid,
    consent: ValidConsent,
) -> AppResult<consent::Model> {
    Ok(consent::ActiveModel {
        id: Set(Uuid::now_v7()),
        contact_id: Set(contact_id),
        given_by_name: Set(consent.given_by),
        relationship: Set(consent.relationship),
        scope_purposes: Set(consent.purposes),
        scope_agency_ids: Set(consent.agency_ids),
        obtained_by: Set(actor_id),
        obtained_by_agency: Set(actor_agency),
        obtained_at: Set(consent.obtained_at),
        recorded_at: Set(Utc::now()),
        withdrawn_at: Set(None),
        withdrawn_by: Set(None),
    }
    .insert(conn)
    .await?)
}

fn checked_source_code(
    ctx: &RequestCtx,
    agency: &agency::Model,
    requested: Option<&str>,
) -> AppResult<String> {
    let kind = AgencyKind::parse(&agency.kind).unwrap_or(AgencyKind::Other);
    match requested.map(str::trim).filter(|c| !c.is_empty()) {
        None => Ok(agency.source_code.clone()),
        Some(code) if kind.source_codes().contains(&code) => Ok(code.to_string()),
        Some(code) if policy::is_mash_staff(&ctx.actor) && PUBLIC_SOURCE_CODES.contains(&code) => {
            Ok(code.to_string())
        }
        Some(_) => Err(AppError::bad_input(
            "sourceCode",
            format!(
                "must be one of {} for this agency{}",
                kind.source_codes().join(", "),
                if policy::is_mash_staff(&ctx.actor) {
                    ", or 1A–1D, 9, 10 for a call from the public"
                } else {
                    ""
                }
            ),
        )),
    }
}

fn checked_categories(categories: &[String]) -> AppResult<String> {
    checks::list("concernCategories", categories, checks::MAX_FACTORS)?;
    if categories.is_empty() {
        return Err(AppError::bad_input(
            "concernCategories",
            "at least one assessment-factor code is required",
        ));
    }
    let valid = |c: &str| {
        let digits: String = c.chars().take_while(|ch| ch.is_ascii_digit()).collect();
        let rest = &c[digits.len()..];
        !digits.is_empty()
            && digits.len() <= 2
            && rest.len() <= 1
            && rest.chars().all(|r| r.is_ascii_uppercase())
    };
    let mut codes: Vec<String> = categories.iter().map(|c| c.trim().to_uppercase()).collect();
    if let Some(bad) = codes.iter().find(|c| !valid(c)) {
        return Err(AppError::bad_input(
            "concernCategories",
            format!("{bad:?} is not an assessment-factor code (e.g. 2B, 21)"),
        ));
    }
    codes.sort();
    codes.dedup();
    Ok(codes.join(","))
}

/// Everything a caller may see of one contact, loaded and filtered by the policy.
pub struct ContactView {
    pub contact: contact::Model,
    pub access: ContactAccess,
    pub agency: agency::Model,
    /// The MASH's child record (MASH staff only).
    pub child: Option<child::Model>,
    pub consents: Vec<consent::Model>,
    pub overrides: Vec<consent_override::Model>,
    pub requests: Vec<information_request::Model>,
    pub disclosures: Vec<(disclosure::Model, DisclosureVisibility)>,
    /// Names of the agencies the disclosures name (supplier, onward recipient).
    pub agency_names: HashMap<Uuid, String>,
}

/// Names of the agencies that disclosures mention, for display (stubs name the holder).
pub async fn agency_names<C: ConnectionTrait>(
    conn: &C,
    disclosures: &[(disclosure::Model, DisclosureVisibility)],
) -> AppResult<HashMap<Uuid, String>> {
    let ids: Vec<Uuid> = disclosures
        .iter()
        .flat_map(|(d, _)| [Some(d.supplied_by_agency_id), d.to_agency_id])
        .flatten()
        .collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(agency::Entity::find()
        .filter(agency::Column::Id.is_in(ids))
        .all(conn)
        .await?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect())
}

impl ContactView {
    pub fn child_as_submitted(&self) -> ChildDetails {
        serde_json::from_str(&self.contact.child_as_submitted).unwrap_or_default()
    }
}

pub async fn load_view<C: ConnectionTrait>(
    conn: &C,
    ctx: &RequestCtx,
    contact: contact::Model,
    access: ContactAccess,
) -> AppResult<ContactView> {
    load_views(conn, ctx, vec![(contact, access)])
        .await?
        .pop()
        .ok_or(AppError::NotFound)
}

/// Rows grouped by contact id.
fn by_contact<T>(rows: Vec<T>, contact_of: impl Fn(&T) -> Uuid) -> HashMap<Uuid, Vec<T>> {
    let mut grouped: HashMap<Uuid, Vec<T>> = HashMap::new();
    for row in rows {
        grouped.entry(contact_of(&row)).or_default().push(row);
    }
    grouped
}

/// The views of several contacts in a fixed number of queries (a page of the queue costs
/// the same round trips as one contact). Only MASH-access rows load the MASH-only parts.
pub async fn load_views<C: ConnectionTrait>(
    conn: &C,
    ctx: &RequestCtx,
    rows: Vec<(contact::Model, ContactAccess)>,
) -> AppResult<Vec<ContactView>> {
    if rows.is_empty() {
        return Ok(vec![]);
    }
    let mash_rows = || rows.iter().filter(|(_, a)| *a == ContactAccess::Mash);
    let all_ids: Vec<Uuid> = rows.iter().map(|(c, _)| c.id).collect();
    let mash_ids: Vec<Uuid> = mash_rows().map(|(c, _)| c.id).collect();
    let child_ids: Vec<Uuid> = mash_rows().map(|(c, _)| c.child_id).collect();
    let mut consents = by_contact(
        consent::Entity::find()
            .filter(consent::Column::ContactId.is_in(all_ids))
            .order_by_asc(consent::Column::Id)
            .all(conn)
            .await?,
        |c| c.contact_id,
    );
    let (mut overrides, mut requests, mut disclosures, children) = if mash_ids.is_empty() {
        (
            HashMap::new(),
            HashMap::new(),
            HashMap::new(),
            HashMap::new(),
        )
    } else {
        let overrides = consent_override::Entity::find()
            .filter(consent_override::Column::ContactId.is_in(mash_ids.clone()))
            .order_by_asc(consent_override::Column::Id)
            .all(conn)
            .await?;
        let requests = information_request::Entity::find()
            .filter(information_request::Column::ContactId.is_in(mash_ids.clone()))
            .order_by_asc(information_request::Column::Id)
            .all(conn)
            .await?;
        let disclosures = disclosure::Entity::find()
            .filter(disclosure::Column::ContactId.is_in(mash_ids))
            .order_by_asc(disclosure::Column::Id)
            .all(conn)
            .await?
            .into_iter()
            .map(|d| {
                let visibility = policy::disclosure_visibility(&ctx.actor, &d);
                (d, visibility)
            })
            .filter(|(_, v)| *v != DisclosureVisibility::Hidden)
            .collect::<Vec<_>>();
        let children: HashMap<Uuid, child::Model> = child::Entity::find()
            .filter(child::Column::Id.is_in(child_ids))
            .all(conn)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        (
            by_contact(overrides, |o| o.contact_id),
            by_contact(requests, |r| r.contact_id),
            by_contact(disclosures, |(d, _)| d.contact_id),
            children,
        )
    };
    // Submitting agencies and the agencies that disclosures name, in one query.
    let mut agency_ids: Vec<Uuid> = rows.iter().map(|(c, _)| c.agency_id).collect();
    for (d, _) in disclosures.values().flatten() {
        agency_ids.push(d.supplied_by_agency_id);
        agency_ids.extend(d.to_agency_id);
    }
    let agencies: HashMap<Uuid, agency::Model> = agency::Entity::find()
        .filter(agency::Column::Id.is_in(agency_ids))
        .all(conn)
        .await?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    let mut views = Vec::with_capacity(rows.len());
    for (contact, access) in rows {
        let id = contact.id;
        let agency = agencies
            .get(&contact.agency_id)
            .cloned()
            .ok_or(AppError::NotFound)?;
        let child = children
            .get(&contact.child_id)
            .cloned()
            .filter(|_| access == ContactAccess::Mash);
        let disclosures = disclosures.remove(&id).unwrap_or_default();
        let agency_names = disclosures
            .iter()
            .flat_map(|(d, _)| [Some(d.supplied_by_agency_id), d.to_agency_id])
            .flatten()
            .filter_map(|a| agencies.get(&a).map(|m| (a, m.name.clone())))
            .collect();
        views.push(ContactView {
            contact,
            access,
            agency,
            child,
            consents: consents.remove(&id).unwrap_or_default(),
            overrides: overrides.remove(&id).unwrap_or_default(),
            requests: requests.remove(&id).unwrap_or_default(),
            disclosures,
            agency_names,
        });
    }
    Ok(views)
}

/// The audit entry of a response that returns this view.
fn read_entry(action: &'static str, view: &ContactView) -> AuditEntry {
    let purpose = if view.access == ContactAccess::Mash {
        "safeguarding.triage"
    } else {
        "safeguarding.feedback"
    };
    let mut entry = AuditEntry::success(action)
        .entity("Contact", view.contact.id)
        .children([view.contact.child_id])
        .purpose(purpose);
    for (d, _) in &view.disclosures {
        entry = entry.reference("Disclosure", d.id);
    }
    entry
}

pub async fn submit_contact(
    core: &Core,
    ctx: &RequestCtx,
    input: NewContact,
) -> AppResult<ContactView> {
    crate::domain::policy::allow_case(core, ctx, "contact.submit", CaseOperation::SubmitContact)
        .await?;
    let actor = &ctx.actor;
    let agency = actor.agency.clone().ok_or(AppError::Forbidden)?;
    let actor_id = actor.id.ok_or(AppError::Forbidden)?;
    let payload = serde_json::to_value(&input).map_err(|e| AppError::internal(e.to_string()))?;

    let child_details = input.child.clone().validated("child")?;
    let source_code = checked_source_code(ctx, &agency, input.source_code.as_deref())?;
    let categories = checked_categories(&input.concern_categories)?;
    let narrative = checks::required("narrative", &input.narrative, Kind::Prose)?;
    let referrer_name = match &input.referrer_name {
        Some(name) => checks::required("referrerName", name, Kind::Name)?,
        None => actor.label.clone(),
    };
    let occurred_at = event_time("occurredAt", input.occurred_at)?;
    let consent = validate_consent(&core.db, "consent", &input.consent).await?;

    let txn = begin_write(&core.db).await?;
    let claim = match &input.idempotency_key {
        Some(key) => match idempotency::check(
            &txn,
            core.config.idempotency_window,
            actor,
            "submitContact",
            key,
            &payload,
        )
        .await?
        {
            Outcome::Replay(id) => {
                txn.rollback().await?;
                return replay(core, ctx, &id).await;
            }
            Outcome::Fresh(claim) => Some(claim),
        },
        None => None,
    };
    let (child, matched) = children::find_or_create(&txn, &child_details).await?;
    let status = if consent.is_some() {
        "INFORMATION_GATHERING"
    } else {
        "AWAITING_CONSENT"
    };
    let now = Utc::now();
    let created = contact::ActiveModel {
        id: Set(Uuid::now_v7()),
        child_id: Set(child.id),
        agency_id: Set(agency.id),
        submitted_by_kind: Set(actor.kind.as_str().to_string()),
        submitted_by_id: Set(actor_id),
        referrer_name: Set(referrer_name),
        source_code: Set(source_code),
        occurred_at: Set(occurred_at),
        recorded_at: Set(now),
        decision_due_at: Set(clock::decision_due(&txn, occurred_at).await?),
        status: Set(status.to_string()),
        child_as_submitted: Set(serde_json::to_string(&child_details).unwrap_or_default()),
        concern_categories: Set(categories),
        narrative: Set(narrative),
        immediate_risk: Set(input.immediate_risk),
        consent_position: Set(input.consent.position.clone()),
        consent_not_sought_reason: Set(input
            .consent
            .not_sought_reason
            .clone()
            .map(|r| r.trim().to_string())),
        matched_existing_child: Set(matched),
        recommendation: Set(None),
        recommendation_rationale: Set(None),
        recommended_by: Set(None),
        recommended_at: Set(None),
        outcome: Set(None),
        threshold_level: Set(None),
        rationale: Set(None),
        decided_by: Set(None),
        decided_at: Set(None),
    }
    .insert(&txn)
    .await?;
    let consent_ref = match consent {
        Some(c) => format!(
            "consent:{}",
            insert_consent(&txn, created.id, actor_id, agency.id, c)
                .await?
                .id
        ),
        None => format!("consent:{}", input.consent.position),
    };
    if let Some(claim) = claim {
        if !idempotency::complete(&txn, &claim, created.id).await? {
            txn.rollback().await?;
            let id = idempotency::winner(&core.db, &claim).await?;
            return replay(core, ctx, &id).await;
        }
    }
    let access = policy::contact_access(actor, &created).unwrap_or(ContactAccess::Submitter);
    let view = load_view(&txn, ctx, created, access).await?;
    audit::record(
        &txn,
        ctx,
        AuditEntry::success("contact.submit")
            .entity("Contact", view.contact.id)
            .children([child.id])
            .purpose("safeguarding.referral")
            .consent_ref(consent_ref)
            .detail(json!({ "immediateRisk": input.immediate_risk, "sourceCode": view.contact.source_code })),
    )
    .await?;
    txn.commit().await?;
    Ok(view)
}

/// A retried submission returns the first contact; that access is audited like any read.
async fn replay(core: &Core, ctx: &RequestCtx, id: &str) -> AppResult<ContactView> {
    let id = Uuid::parse_str(id).map_err(|e| AppError::internal(e.to_string()))?;
    get_contact_as(core, ctx, id, "contact.submit.replay").await
}

pub async fn get_contact(core: &Core, ctx: &RequestCtx, id: Uuid) -> AppResult<ContactView> {
    get_contact_as(core, ctx, id, "contact.read").await
}

async fn get_contact_as(
    core: &Core,
    ctx: &RequestCtx,
    id: Uuid,
    action: &'static str,
) -> AppResult<ContactView> {
    crate::domain::policy::allow_case(core, ctx, action, CaseOperation::ReadContacts).await?;
    let (contact, access) = scoped_contact(core, ctx, action, id).await?;
    let view = load_view(&core.db, ctx, contact, access).await?;
    audit::record_alone(&core.db, ctx, read_entry(action, &view)).await?;
    Ok(view)
}

/// A contact the caller may see, or an audited NOT_FOUND (out of scope looks like absent).
pub async fn scoped_contact(
    core: &Core,
    ctx: &RequestCtx,
    action: &'static str,
    id: Uuid,
) -> AppResult<(contact::Model, ContactAccess)> {
    let found = contact::Entity::find_by_id(id)
        .one(&core.db)
        .await?
        .and_then(|c| policy::contact_access(&ctx.actor, &c).map(|a| (c, a)));
    audit::on_refusal(&core.db, ctx, action, found.ok_or(AppError::NotFound)).await
}

#[derive(Clone, Debug, Default)]
pub struct ContactFilter {
    pub status: Option<String>,
    pub overdue: Option<bool>,
    /// An inner None is an id that was not an agency's: matches nothing.
    pub source_agency: Option<Option<Uuid>>,
}

/// Contacts the caller may see, filtered in the database; MASH staff get the queue sorted
/// by decision due time.
pub async fn list_contacts(
    core: &Core,
    ctx: &RequestCtx,
    filter: ContactFilter,
    page: PageRequest,
) -> AppResult<Page<ContactView>> {
    crate::domain::policy::allow_case(core, ctx, "contact.list", CaseOperation::ReadContacts)
        .await?;
    let mut condition = Condition::all().add(policy::contact_scope(&ctx.actor));
    if let Some(status) = &filter.status {
        condition = condition.add(contact::Column::Status.eq(status.as_str()));
    }
    let now = Utc::now();
    match filter.overdue {
        Some(true) => {
            condition = condition
                .add(contact::Column::Status.ne("DECIDED"))
                .add(contact::Column::DecisionDueAt.lt(now))
        }
        Some(false) => {
            condition = condition.add(
                Condition::any()
                    .add(contact::Column::Status.eq("DECIDED"))
                    .add(contact::Column::DecisionDueAt.gte(now)),
            )
        }
        None => {}
    }
    if let Some(agency) = filter.source_agency {
        condition = condition.add(contact::Column::AgencyId.eq(agency.unwrap_or_default()));
    }
    let total_count = contact::Entity::find()
        .filter(condition.clone())
        .count(&core.db)
        .await?;
    // Ordered by due time, then id; the cursor is the last contact's id.
    let mut query = contact::Entity::find().filter(condition);
    if let Some(after) = page.after {
        if let Some(last) = contact::Entity::find_by_id(after).one(&core.db).await? {
            query = query.filter(
                Condition::any()
                    .add(contact::Column::DecisionDueAt.gt(last.decision_due_at))
                    .add(
                        Condition::all()
                            .add(contact::Column::DecisionDueAt.eq(last.decision_due_at))
                            .add(contact::Column::Id.gt(last.id)),
                    ),
            );
        }
    }
    let mut rows = query
        .order_by_asc(contact::Column::DecisionDueAt)
        .order_by_asc(contact::Column::Id)
        .limit(page.first + 1)
        .all(&core.db)
        .await?;
    let has_next_page = rows.len() as u64 > page.first;
    rows.truncate(page.first as usize);
    let rows = rows
        .into_iter()
        .map(|row| {
            let access = policy::contact_access(&ctx.actor, &row).ok_or(AppError::NotFound)?;
            Ok((row, access))
        })
        .collect::<AppResult<Vec<_>>>()?;
    let items = load_views(&core.db, ctx, rows).await?;
    let mut entry =
        AuditEntry::success("contact.list").children(items.iter().map(|v| v.contact.child_id));
    entry = entry.purpose(if policy::is_mash_staff(&ctx.actor) {
        "safeguarding.triage"
    } else {
        "safeguarding.feedback"
    });
    for view in &items {
        entry = entry.reference("Contact", view.contact.id);
        for (d, _) in &view.disclosures {
            entry = entry.reference("Disclosure", d.id);
        }
    }
    audit::record_alone(&core.db, ctx, entry).await?;
    Ok(Page {
        items,
        has_next_page,
        total_count,
    })
}

/// Applies `change` to a contact the caller may act on (MASH work), audited with the change.
/// `change` sees the contact as locked inside the write transaction, so it checks the state
/// the change depends on against the latest committed write.
async fn change_contact(
    core: &Core,
    ctx: &RequestCtx,
    action: &'static str,
    operation: CaseOperation,
    id: Uuid,
    change: impl FnOnce(&contact::Model) -> AppResult<(contact::ActiveModel, serde_json::Value)>,
) -> AppResult<ContactView> {
    crate::domain::policy::allow_case(core, ctx, action, operation).await?;
    let (_, access) = scoped_contact(core, ctx, action, id).await?;
    let txn = begin_write(&core.db).await?;
    let result = async {
        let existing = locked_contact(&txn, id).await?;
        let (active, detail) = change(&existing)?;
        let updated = active.update(&txn).await?;
        let view = load_view(&txn, ctx, updated, access).await?;
        audit::record(
            &txn,
            ctx,
            AuditEntry::success(action)
                .entity("Contact", id)
                .children([existing.child_id])
                .purpose("safeguarding.decision")
                .detail(detail),
        )
        .await?;
        Ok(view)
    }
    .await;
    transition::settle(core, ctx, action, txn, result).await
}

/// The contact, locked inside the write transaction: every change to a contact or to the
/// consent, overrides and requests under it takes this lock first.
pub async fn locked_contact(txn: &DatabaseTransaction, id: Uuid) -> AppResult<contact::Model> {
    transition::locked::<contact::Entity>(txn, id).await
}

fn already_decided() -> AppError {
    AppError::conflict("contactId", "the contact is already decided")
}

fn checked_outcome(field: &str, outcome: &str) -> AppResult<String> {
    if OUTCOMES.contains(&outcome) {
        Ok(outcome.to_string())
    } else {
        Err(AppError::bad_input(
            field,
            format!("must be one of {}", OUTCOMES.join(", ")),
        ))
    }
}

pub async fn set_immediate_risk(
    core: &Core,
    ctx: &RequestCtx,
    id: Uuid,
    immediate_risk: bool,
) -> AppResult<ContactView> {
    change_contact(
        core,
        ctx,
        "contact.set_immediate_risk",
        CaseOperation::MashWork,
        id,
        |c| {
            let mut active: contact::ActiveModel = c.clone().into();
            active.immediate_risk = Set(immediate_risk);
            Ok((active, json!({ "immediateRisk": immediate_risk })))
        },
    )
    .await
}

/// A social worker's (or manager's) recommendation ahead of the decision.
pub async fn recommend(
    core: &Core,
    ctx: &RequestCtx,
    id: Uuid,
    outcome: &str,
    rationale: &str,
) -> AppResult<ContactView> {
    let outcome = checked_outcome("outcome", outcome)?;
    let rationale = checks::required("rationale", rationale, Kind::Prose)?;
    let actor_id = ctx.actor.id;
    change_contact(
        core,
        ctx,
        "contact.recommend",
        CaseOperation::MashWork,
        id,
        move |c| {
            if c.status == "DECIDED" {
                return Err(already_decided());
            }
            let mut active: contact::ActiveModel = c.clone().into();
            active.recommendation = Set(Some(outcome.clone()));
            active.recommendation_rationale = Set(Some(rationale));
            active.recommended_by = Set(actor_id);
            active.recommended_at = Set(Some(Utc::now()));
            Ok((active, json!({ "recommendation": outcome })))
        },
    )
    .await
}

/// A MASH manager's decision: outcome, threshold level 1–4, rationale.
pub async fn decide(
    core: &Core,
    ctx: &RequestCtx,
    id: Uuid,
    outcome: &str,
    threshold_level: i32,
    rationale: &str,
    occurred_at: Option<DateTime<Utc>>,
) -> AppResult<ContactView> {
    crate::domain::policy::allow_case(core, ctx, "contact.decide", CaseOperation::DecideContact)
        .await?;
    let outcome = checked_outcome("outcome", outcome)?;
    if !(1..=4).contains(&threshold_level) {
        return Err(AppError::bad_input(
            "thresholdLevel",
            "must be 1, 2, 3 or 4",
        ));
    }
    let rationale = checks::required("rationale", rationale, Kind::Prose)?;
    let decided_at = event_time("occurredAt", occurred_at)?;
    let actor_id = ctx.actor.id;
    const ACTION: &str = "contact.decide";
    let (found, access) = scoped_contact(core, ctx, ACTION, id).await?;
    if decided_at < found.occurred_at {
        return Err(AppError::bad_input(
            "occurredAt",
            "a decision cannot precede the contact",
        ));
    }
    let txn = begin_write(&core.db).await?;
    let result = async {
        // Checked on the locked row: of two managers deciding at once, the second sees the
        // first's decision and gets CONFLICT.
        let existing = locked_contact(&txn, id).await?;
        if existing.status == "DECIDED" {
            return Err(already_decided());
        }
        let mut active: contact::ActiveModel = existing.clone().into();
        active.status = Set("DECIDED".into());
        active.outcome = Set(Some(outcome.clone()));
        active.threshold_level = Set(Some(threshold_level));
        active.rationale = Set(Some(rationale));
        active.decided_by = Set(actor_id);
        active.decided_at = Set(Some(decided_at));
        let updated = active.update(&txn).await?;
        // A referring decision opens the referral in the same transaction.
        let referral = crate::domain::outcomes::open_referral(&txn, &updated).await?;
        let view = load_view(&txn, ctx, updated, access).await?;
        let mut entry = AuditEntry::success(ACTION)
            .entity("Contact", id)
            .children([existing.child_id])
            .purpose("safeguarding.decision")
            .detail(json!({ "outcome": outcome, "thresholdLevel": threshold_level, "withinTimescale": decided_at <= existing.decision_due_at }));
        if let Some(referral) = &referral {
            entry = entry.reference("Referral", referral.id);
        }
        audit::record(&txn, ctx, entry).await?;
        Ok(view)
    }
    .await;
    transition::settle(core, ctx, ACTION, txn, result).await
}

/// Who submitted a contact, for display: a machine client shows as its agency's system.
pub fn submitted_by_client(contact: &contact::Model) -> bool {
    contact.submitted_by_kind == ActorKind::Client.as_str()
}
