//! Information requests from the MASH to partner agencies, and what partners disclose in
//! answer (or their recorded decision not to share); onward sharing under handling codes.
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{agency, child, contact, disclosure, information_request};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, Set,
};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::db::begin_write;
use crate::domain::audit::{self, AuditEntry};
use crate::domain::case::consent;
use crate::domain::case::contacts::{self, locked_contact};
use crate::domain::common::checks::event_time;
use crate::domain::common::checks::{self, Kind};
use crate::domain::common::idempotency::{self, Outcome};
use crate::domain::common::page::{self, Page, PageRequest};
use crate::domain::common::transition;
use crate::domain::policy::{self, CaseOperation, DisclosureVisibility};
use crate::domain::RequestCtx;
use crate::error::{AppError, AppResult};
use crate::Core;

pub const PRIORITIES: [&str; 3] = ["RED", "AMBER", "GREEN"];
pub const LAWFUL_BASES: [&str; 5] = [
    "UK_GDPR_6_1_E_PUBLIC_TASK",
    "UK_GDPR_6_1_C_LEGAL_OBLIGATION",
    "UK_GDPR_6_1_D_VITAL_INTERESTS",
    "UK_GDPR_6_1_A_CONSENT",
    "DPA_2018_PART_3_SCHEDULE_8_PARA_4",
];
pub const HANDLING_CODES: [&str; 7] = ["P", "C", "1", "2", "3", "4", "5"];
pub const AUDIENCE_RESTRICTIONS: [&str; 2] = ["NOT_FOR_FAMILY", "NOT_FOR_REFERRER"];

/// A request with what the caller may see alongside it.
pub struct RequestView {
    pub request: information_request::Model,
    pub to_agency: agency::Model,
    /// The identity the MASH sends with the request (names, date of birth, identifiers, address).
    pub child: Option<child::Model>,
    pub disclosures: Vec<(disclosure::Model, DisclosureVisibility)>,
    pub agency_names: std::collections::HashMap<Uuid, String>,
}

async fn load_view(
    core: &Core,
    ctx: &RequestCtx,
    request: information_request::Model,
) -> AppResult<RequestView> {
    load_views(core, ctx, vec![request])
        .await?
        .pop()
        .ok_or(AppError::NotFound)
}

/// The views of a page of requests in four queries whatever its size: the agencies asked,
/// the children, the disclosures, and the agencies those name.
async fn load_views(
    core: &Core,
    ctx: &RequestCtx,
    requests: Vec<information_request::Model>,
) -> AppResult<Vec<RequestView>> {
    if requests.is_empty() {
        return Ok(Vec::new());
    }
    let agency_ids: Vec<Uuid> = requests.iter().map(|r| r.to_agency_id).collect();
    let child_ids: Vec<Uuid> = requests.iter().map(|r| r.child_id).collect();
    let request_ids: Vec<Uuid> = requests.iter().map(|r| r.id).collect();
    let agencies: HashMap<Uuid, agency::Model> = agency::Entity::find()
        .filter(agency::Column::Id.is_in(agency_ids))
        .all(&core.db)
        .await?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    let children: HashMap<Uuid, child::Model> = child::Entity::find()
        .filter(child::Column::Id.is_in(child_ids))
        .all(&core.db)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let visible: Vec<(disclosure::Model, DisclosureVisibility)> = disclosure::Entity::find()
        .filter(disclosure::Column::RequestId.is_in(request_ids))
        .order_by_asc(disclosure::Column::Id)
        .all(&core.db)
        .await?
        .into_iter()
        .map(|d| {
            let v = policy::disclosure_visibility(&ctx.actor, &d);
            (d, v)
        })
        .filter(|(_, v)| *v != DisclosureVisibility::Hidden)
        .collect();
    let agency_names = contacts::agency_names(&core.db, &visible).await?;
    let mut by_request: HashMap<Uuid, Vec<(disclosure::Model, DisclosureVisibility)>> =
        HashMap::new();
    for (d, v) in visible {
        if let Some(request_id) = d.request_id {
            by_request.entry(request_id).or_default().push((d, v));
        }
    }
    let mut views = Vec::with_capacity(requests.len());
    for request in requests {
        // Several requests of a page may share an agency or a child.
        let to_agency = agencies
            .get(&request.to_agency_id)
            .cloned()
            .ok_or(AppError::NotFound)?;
        let child = children.get(&request.child_id).cloned();
        let disclosures = by_request.remove(&request.id).unwrap_or_default();
        views.push(RequestView {
            request,
            to_agency,
            child,
            disclosures,
            agency_names: agency_names.clone(),
        });
    }
    Ok(views)
}

fn read_entry(action: &'static str, views: &[RequestView]) -> AuditEntry {
    let mut entry = AuditEntry::success(action)
        .purpose("safeguarding.information_gathering")
        .children(views.iter().map(|v| v.request.child_id));
    for view in views {
        entry = entry.reference("InformationRequest", view.request.id);
        for (d, _) in &view.disclosures {
            entry = entry.reference("Disclosure", d.id);
        }
    }
    entry
}

fn due_hours(core: &Core, priority: &str) -> i64 {
    let hours = &core.config.request_due_hours;
    match priority {
        "RED" => hours[0],
        "AMBER" => hours[1],
        _ => hours[2],
    }
}

pub struct NewRequest {
    pub contact_id: Uuid,
    /// None when the id was not an agency's.
    pub to_agency_id: Option<Uuid>,
    pub questions: String,
    pub priority: String,
    pub occurred_at: Option<DateTime<Utc>>,
}

pub async fn send_request(
    core: &Core,
    ctx: &RequestCtx,
    input: NewRequest,
) -> AppResult<RequestView> {
    const ACTION: &str = "request.send";
    crate::domain::policy::allow_case(core, ctx, ACTION, CaseOperation::MashWork).await?;
    let (contact, _) = contacts::scoped_contact(core, ctx, ACTION, input.contact_id).await?;
    let to_agency = match input.to_agency_id {
        Some(id) => agency::Entity::find_by_id(id).one(&core.db).await?,
        None => None,
    }
    .filter(|a| a.active && !a.hosts_mash)
    .ok_or_else(|| AppError::bad_input("toAgencyId", "no such partner agency"))?;
    let questions = checks::required("questions", &input.questions, Kind::Prose)?;
    if !PRIORITIES.contains(&input.priority.as_str()) {
        return Err(AppError::bad_input(
            "priority",
            "must be RED, AMBER or GREEN",
        ));
    }
    let sent_at = event_time("occurredAt", input.occurred_at)?;
    if sent_at < contact.occurred_at {
        return Err(AppError::bad_input(
            "occurredAt",
            "a request cannot be sent before its contact was received",
        ));
    }
    let txn = begin_write(&core.db).await?;
    let result = async {
        // The contact's lock orders this against a consent being withdrawn or an override
        // refused at the same moment: the authority is read after either has committed.
        locked_contact(&txn, contact.id).await?;
        let consent_ref = consent::authority(&txn, contact.id, to_agency.id)
            .await?
            .ok_or(AppError::ConsentRequired)?;
        let created = information_request::ActiveModel {
            id: Set(Uuid::now_v7()),
            contact_id: Set(contact.id),
            child_id: Set(contact.child_id),
            to_agency_id: Set(to_agency.id),
            questions: Set(questions),
            priority: Set(input.priority.clone()),
            sent_by: Set(ctx.actor.id.unwrap_or_default()),
            sent_at: Set(sent_at),
            recorded_at: Set(Utc::now()),
            due_at: Set(sent_at + chrono::Duration::hours(due_hours(core, &input.priority))),
            status: Set("OPEN".into()),
            consent_ref: Set(consent_ref.clone()),
            decline_reason: Set(None),
            answered_by: Set(None),
            answered_at: Set(None),
            withdrawn_at: Set(None),
        }
        .insert(&txn)
        .await?;
        // Sending the child's identity to a partner is itself a disclosure.
        audit::record(
            &txn,
            ctx,
            AuditEntry::success(ACTION)
                .entity("InformationRequest", created.id)
                .reference("Contact", contact.id)
                .reference("Agency", to_agency.id)
                .children([contact.child_id])
                .purpose("safeguarding.information_gathering")
                .consent_ref(consent_ref)
                .detail(json!({ "priority": created.priority, "toAgencyId": to_agency.id })),
        )
        .await?;
        Ok(created)
    }
    .await;
    let created = transition::settle(core, ctx, ACTION, txn, result).await?;
    load_view(core, ctx, created).await
}

async fn scoped_request(
    core: &Core,
    ctx: &RequestCtx,
    action: &'static str,
    id: Uuid,
) -> AppResult<information_request::Model> {
    let found = information_request::Entity::find_by_id(id)
        .one(&core.db)
        .await?
        .filter(|r| policy::may_see_request(&ctx.actor, r));
    audit::on_refusal(&core.db, ctx, action, found.ok_or(AppError::NotFound)).await
}

fn may_read_requests(ctx: &RequestCtx) -> AppResult<()> {
    policy::authorize_case(&ctx.actor, CaseOperation::MashWork)
        .or_else(|_| policy::authorize_case(&ctx.actor, CaseOperation::RespondToRequests))
}

pub async fn get_request(core: &Core, ctx: &RequestCtx, id: Uuid) -> AppResult<RequestView> {
    const ACTION: &str = "request.read";
    audit::on_refusal(&core.db, ctx, ACTION, may_read_requests(ctx)).await?;
    let request = scoped_request(core, ctx, ACTION, id).await?;
    let view = load_view(core, ctx, request).await?;
    audit::record_alone(
        &core.db,
        ctx,
        read_entry(ACTION, std::slice::from_ref(&view)),
    )
    .await?;
    Ok(view)
}

/// Requests the caller may see: a partner's inbox, or all of them for MASH staff.
pub async fn list_requests(
    core: &Core,
    ctx: &RequestCtx,
    status: Option<String>,
    contact_id: Option<Uuid>,
    page: PageRequest,
) -> AppResult<Page<RequestView>> {
    const ACTION: &str = "request.list";
    audit::on_refusal(&core.db, ctx, ACTION, may_read_requests(ctx)).await?;
    let mut condition = Condition::all().add(policy::request_scope(&ctx.actor));
    if let Some(status) = status {
        condition = condition.add(information_request::Column::Status.eq(status));
    }
    if let Some(contact) = contact_id {
        condition = condition.add(information_request::Column::ContactId.eq(contact));
    }
    let Page {
        items: rows,
        has_next_page,
        total_count,
    } = page::by_id(
        &core.db,
        information_request::Entity::find().filter(condition),
        information_request::Column::Id,
        page::Order::OldestFirst,
        &page,
    )
    .await?;
    let items = load_views(core, ctx, rows).await?;
    audit::record_alone(&core.db, ctx, read_entry(ACTION, &items)).await?;
    Ok(Page {
        items,
        has_next_page,
        total_count,
    })
}

#[derive(Clone, Debug, Serialize)]
pub struct DisclosureInput {
    pub content: String,
    pub category: String,
    pub lawful_basis: String,
    pub special_category: bool,
    pub handling_code: String,
    pub handling_conditions: Option<String>,
    pub audience_restrictions: Vec<String>,
    pub occurred_at: Option<DateTime<Utc>>,
}

struct ValidDisclosure {
    content: String,
    category: String,
    lawful_basis: String,
    special_category: bool,
    handling_code: String,
    handling_conditions: Option<String>,
    audience_restrictions: String,
    occurred_at: DateTime<Utc>,
}

fn validate_disclosure(i: usize, input: &DisclosureInput) -> AppResult<ValidDisclosure> {
    let f = |name: &str| format!("disclosures[{i}].{name}");
    let content = checks::required(&f("content"), &input.content, Kind::Prose)?;
    let category = checks::required_max(&f("category"), &input.category, Kind::Line, 100)?;
    if !LAWFUL_BASES.contains(&input.lawful_basis.as_str()) {
        return Err(AppError::bad_input(
            &f("lawfulBasis"),
            format!("must be one of {}", LAWFUL_BASES.join(", ")),
        ));
    }
    if !HANDLING_CODES.contains(&input.handling_code.as_str()) {
        return Err(AppError::bad_input(
            &f("handlingCode"),
            "must be P, C or a legacy code 1–5",
        ));
    }
    let conditions = checks::optional(
        &f("handlingConditions"),
        input.handling_conditions.as_deref(),
        Kind::Note,
    )?;
    if input.handling_code == "C" && conditions.is_none() {
        return Err(AppError::bad_input(
            &f("handlingConditions"),
            "handling code C needs its conditions",
        ));
    }
    checks::list(
        &f("audienceRestrictions"),
        &input.audience_restrictions,
        checks::MAX_CODES,
    )?;
    if let Some(bad) = input
        .audience_restrictions
        .iter()
        .find(|r| !AUDIENCE_RESTRICTIONS.contains(&r.as_str()))
    {
        return Err(AppError::bad_input(
            &f("audienceRestrictions"),
            format!("unknown restriction {bad:?}"),
        ));
    }
    Ok(ValidDisclosure {
        content,
        category,
        lawful_basis: input.lawful_basis.clone(),
        special_category: input.special_category,
        handling_code: input.handling_code.clone(),
        handling_conditions: conditions,
        audience_restrictions: input.audience_restrictions.join(","),
        occurred_at: event_time(&f("occurredAt"), input.occurred_at)?,
    })
}

/// A request to the caller's agency that it may answer, or an audited NOT_FOUND.
async fn answerable_request(
    core: &Core,
    ctx: &RequestCtx,
    action: &'static str,
    id: Uuid,
) -> AppResult<information_request::Model> {
    let found = information_request::Entity::find_by_id(id)
        .one(&core.db)
        .await?
        .filter(|r| policy::may_answer_request(&ctx.actor, r));
    audit::on_refusal(&core.db, ctx, action, found.ok_or(AppError::NotFound)).await
}

/// A partner answers a request with one or more disclosures.
pub async fn respond(
    core: &Core,
    ctx: &RequestCtx,
    request_id: Uuid,
    disclosures: Vec<DisclosureInput>,
    idempotency_key: Option<String>,
) -> AppResult<RequestView> {
    const ACTION: &str = "request.respond";
    crate::domain::policy::allow_case(core, ctx, ACTION, CaseOperation::RespondToRequests).await?;
    let request = answerable_request(core, ctx, ACTION, request_id).await?;
    if disclosures.is_empty() {
        return Err(AppError::bad_input(
            "disclosures",
            "give at least one disclosure, or decline the request",
        ));
    }
    checks::list("disclosures", &disclosures, checks::MAX_DISCLOSURES)?;
    let valid = disclosures
        .iter()
        .enumerate()
        .map(|(i, d)| validate_disclosure(i, d))
        .collect::<AppResult<Vec<_>>>()?;
    if let Some(i) = valid.iter().position(|d| d.occurred_at < request.sent_at) {
        return Err(AppError::bad_input(
            &format!("disclosures[{i}].occurredAt"),
            "cannot be before the request was sent",
        ));
    }
    // The answer happened when its disclosures were shared (historic answers keep their time).
    let answered_at = valid.iter().map(|d| d.occurred_at).max();
    let payload = json!({ "request": request_id, "disclosures": disclosures });
    let txn = begin_write(&core.db).await?;
    let result = async {
        // Lock order: the contact, then the request (as consent withdrawal does).
        locked_contact(&txn, request.contact_id).await?;
        let claim = match &idempotency_key {
            Some(key) => {
                match idempotency::check(
                    &txn,
                    core.config.idempotency_window,
                    &ctx.actor,
                    RESPOND_OPERATION,
                    key,
                    &payload,
                )
                .await?
                {
                    Outcome::Replay(_) => return Ok(Answered::Replay),
                    Outcome::Fresh(claim) => Some(claim),
                }
            }
            None => None,
        };
        let request = open_request(&txn, request.id).await?;
        let agency = ctx.actor.agency_id().ok_or(AppError::Forbidden)?;
        let mut entry = AuditEntry::success(ACTION)
            .entity("InformationRequest", request.id)
            .children([request.child_id])
            .purpose("safeguarding.information_gathering")
            .consent_ref(request.consent_ref.clone());
        let mut bases = Vec::new();
        for d in valid {
            bases.push(d.lawful_basis.clone());
            let created = disclosure::ActiveModel {
                id: Set(Uuid::now_v7()),
                request_id: Set(Some(request.id)),
                contact_id: Set(request.contact_id),
                child_id: Set(request.child_id),
                supplied_by_agency_id: Set(agency),
                supplied_by: Set(ctx.actor.id.unwrap_or_default()),
                to_agency_id: Set(None),
                onward_from: Set(None),
                content: Set(d.content),
                category: Set(d.category),
                lawful_basis: Set(d.lawful_basis),
                special_category: Set(d.special_category),
                handling_code: Set(d.handling_code),
                handling_conditions: Set(d.handling_conditions),
                audience_restrictions: Set(d.audience_restrictions),
                consent_ref: Set(request.consent_ref.clone()),
                occurred_at: Set(d.occurred_at),
                recorded_at: Set(Utc::now()),
            }
            .insert(&txn)
            .await?;
            entry = entry.reference("Disclosure", created.id);
        }
        bases.dedup();
        entry = entry.lawful_basis(bases.join(","));
        let mut active: information_request::ActiveModel = request.clone().into();
        active.status = Set("RESPONDED".into());
        active.answered_by = Set(ctx.actor.id);
        active.answered_at = Set(answered_at);
        let updated = active.update(&txn).await?;
        if let Some(claim) = claim {
            if !idempotency::complete(&txn, &claim, request.id).await? {
                return Ok(Answered::LostKey(claim));
            }
        }
        audit::record(&txn, ctx, entry).await?;
        Ok(Answered::Done(updated))
    }
    .await;
    match result {
        Ok(Answered::Done(updated)) => {
            transition::settle(core, ctx, ACTION, txn, Ok(())).await?;
            load_view(core, ctx, updated).await
        }
        Ok(Answered::Replay) => {
            txn.rollback().await?;
            get_request(core, ctx, request_id).await
        }
        Ok(Answered::LostKey(claim)) => {
            // A concurrent retry with the same key committed first.
            txn.rollback().await?;
            idempotency::winner(&core.db, &claim).await?;
            get_request(core, ctx, request_id).await
        }
        Err(err) => transition::settle(core, ctx, ACTION, txn, Err(err)).await,
    }
}

const RESPOND_OPERATION: &str = "respondToInformationRequest";

/// How an answer's transaction ended.
enum Answered {
    Done(information_request::Model),
    /// A retry of an answer already given: return it.
    Replay,
    /// A concurrent call with the same key won: roll back and compare payloads.
    LostKey(idempotency::Claim),
}

/// The request, locked, if it is still open; otherwise CONFLICT — of two answers at once, the
/// second sees the first.
async fn open_request(
    txn: &DatabaseTransaction,
    id: Uuid,
) -> AppResult<information_request::Model> {
    let request = transition::locked::<information_request::Entity>(txn, id).await?;
    if request.status != "OPEN" {
        return Err(AppError::conflict(
            "requestId",
            format!("the request is {}", request.status.to_lowercase()),
        ));
    }
    Ok(request)
}

/// A partner declines to share, with the reason: a decision not to share is recorded too.
pub async fn decline(
    core: &Core,
    ctx: &RequestCtx,
    request_id: Uuid,
    reason: &str,
) -> AppResult<RequestView> {
    const ACTION: &str = "request.decline";
    crate::domain::policy::allow_case(core, ctx, ACTION, CaseOperation::RespondToRequests).await?;
    let request = answerable_request(core, ctx, ACTION, request_id).await?;
    let reason = checks::required("reason", reason, Kind::Note)?;
    let txn = begin_write(&core.db).await?;
    let result = async {
        locked_contact(&txn, request.contact_id).await?;
        let request = open_request(&txn, request.id).await?;
        let mut active: information_request::ActiveModel = request.clone().into();
        active.status = Set("DECLINED".into());
        active.decline_reason = Set(Some(reason));
        active.answered_by = Set(ctx.actor.id);
        active.answered_at = Set(Some(Utc::now()));
        let updated = active.update(&txn).await?;
        audit::record(
            &txn,
            ctx,
            AuditEntry::success(ACTION)
                .entity("InformationRequest", request.id)
                .children([request.child_id])
                .purpose("safeguarding.information_gathering")
                .consent_ref(request.consent_ref.clone()),
        )
        .await?;
        Ok(updated)
    }
    .await;
    let updated = transition::settle(core, ctx, ACTION, txn, result).await?;
    load_view(core, ctx, updated).await
}

/// MASH staff pass a disclosure on to another agency, as its handling code allows; the
/// onward share is its own recorded disclosure, carrying the original's conditions.
pub async fn share_onward(
    core: &Core,
    ctx: &RequestCtx,
    disclosure_id: Uuid,
    to_agency_id: Option<Uuid>,
    acknowledge_conditions: bool,
    authorisation: Option<String>,
) -> AppResult<disclosure::Model> {
    const ACTION: &str = "disclosure.share_onward";
    crate::domain::policy::allow_case(core, ctx, ACTION, CaseOperation::MashWork).await?;
    let authorisation = checks::optional("authorisation", authorisation.as_deref(), Kind::Note)?;
    let found = disclosure::Entity::find_by_id(disclosure_id)
        .one(&core.db)
        .await?
        .filter(|d| policy::disclosure_visibility(&ctx.actor, d) != DisclosureVisibility::Hidden);
    let original =
        audit::on_refusal(&core.db, ctx, ACTION, found.ok_or(AppError::NotFound)).await?;
    let to = match to_agency_id {
        Some(id) => agency::Entity::find_by_id(id).one(&core.db).await?,
        None => None,
    }
    .filter(|a| a.active && !a.hosts_mash && a.id != original.supplied_by_agency_id)
    .ok_or_else(|| {
        AppError::bad_input(
            "toAgencyId",
            "no such partner agency (other than the supplier)",
        )
    })?;
    let contact = contact::Entity::find_by_id(original.contact_id)
        .one(&core.db)
        .await?
        .ok_or(AppError::NotFound)?;
    policy::onward_share_check(
        &original,
        &to,
        contact.agency_id,
        acknowledge_conditions,
        authorisation.as_deref(),
    )?;
    let host = ctx.actor.agency_id().ok_or(AppError::Forbidden)?;
    let txn = begin_write(&core.db).await?;
    let result = async {
        // One onward share of a disclosure to an agency: checked under the contact's lock,
        // so two staff sharing the same item at once make one record.
        locked_contact(&txn, original.contact_id).await?;
        let already = disclosure::Entity::find()
            .filter(disclosure::Column::OnwardFrom.eq(original.id))
            .filter(disclosure::Column::ToAgencyId.eq(to.id))
            .one(&txn)
            .await?;
        if already.is_some() {
            return Err(AppError::conflict(
                "toAgencyId",
                "this disclosure was already shared with that agency",
            ));
        }
        let created = disclosure::ActiveModel {
            id: Set(Uuid::now_v7()),
            request_id: Set(None),
            contact_id: Set(original.contact_id),
            child_id: Set(original.child_id),
            supplied_by_agency_id: Set(host),
            supplied_by: Set(ctx.actor.id.unwrap_or_default()),
            to_agency_id: Set(Some(to.id)),
            onward_from: Set(Some(original.id)),
            content: Set(original.content.clone()),
            category: Set(original.category.clone()),
            lawful_basis: Set(original.lawful_basis.clone()),
            special_category: Set(original.special_category),
            handling_code: Set(original.handling_code.clone()),
            handling_conditions: Set(original.handling_conditions.clone()),
            audience_restrictions: Set(original.audience_restrictions.clone()),
            consent_ref: Set(original.consent_ref.clone()),
            occurred_at: Set(Utc::now()),
            recorded_at: Set(Utc::now()),
        }
        .insert(&txn)
        .await?;
        audit::record(
            &txn,
            ctx,
            AuditEntry::success(ACTION)
                .entity("Disclosure", created.id)
                .reference("Disclosure", original.id)
                .reference("Agency", to.id)
                .children([original.child_id])
                .purpose("safeguarding.onward_sharing")
                .lawful_basis(original.lawful_basis.clone())
                .consent_ref(original.consent_ref.clone())
                .detail(
                    json!({ "handlingCode": original.handling_code, "authorisation": authorisation }),
                ),
        )
        .await?;
        Ok(created)
    }
    .await;
    transition::settle(core, ctx, ACTION, txn, result).await
}

/// One disclosure as the caller may see it: the supplying agency's desk, an onward
/// recipient's desk, or MASH staff (restricted items as stubs). Audited with the child.
pub async fn get_disclosure(
    core: &Core,
    ctx: &RequestCtx,
    id: Uuid,
) -> AppResult<(
    (disclosure::Model, DisclosureVisibility),
    std::collections::HashMap<Uuid, String>,
)> {
    const ACTION: &str = "disclosure.read";
    audit::on_refusal(&core.db, ctx, ACTION, may_read_requests(ctx)).await?;
    let found = disclosure::Entity::find_by_id(id)
        .one(&core.db)
        .await?
        .and_then(|d| {
            let v = policy::disclosure_visibility(&ctx.actor, &d);
            (v != DisclosureVisibility::Hidden).then_some((d, v))
        });
    let item = audit::on_refusal(&core.db, ctx, ACTION, found.ok_or(AppError::NotFound)).await?;
    let names = contacts::agency_names(&core.db, std::slice::from_ref(&item)).await?;
    audit::record_alone(
        &core.db,
        ctx,
        AuditEntry::success(ACTION)
            .entity("Disclosure", item.0.id)
            .children([item.0.child_id])
            .purpose("safeguarding.information_gathering")
            .lawful_basis(item.0.lawful_basis.clone())
            .consent_ref(item.0.consent_ref.clone()),
    )
    .await?;
    Ok((item, names))
}
