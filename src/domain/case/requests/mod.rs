//! Information requests from the MASH to partner agencies, and what partners disclose in
//! answer (or their recorded decision not to share); onward sharing under handling codes.
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::codes::{HandlingCode, LawfulBasis, Priority, RequestStatus};
use entity::{agency, child, contact, disclosure, information_request};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, Set,
};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::db::begin_write;
use crate::domain::audit::Action;
use crate::domain::audit::{self, AuditEntry};
use crate::domain::case::consent;
use crate::domain::case::contacts::{self, locked_contact};
use crate::domain::common::checks::event_time;
use crate::domain::common::checks::{self, Kind};
use crate::domain::common::idempotency::{self, Outcome};
use crate::domain::common::page::{self, Page, PageRequest};
use crate::domain::common::transition;
use crate::domain::events::{self, read_in_full, Change, ChangeKind};
use crate::domain::policy::{self, CaseOperation, DisclosureVisibility, Grant};
use crate::domain::RequestCtx;
use crate::error::{AppError, AppResult};
use crate::Core;

mod answers;
mod disclosures;
mod view;

pub use answers::*;
pub use disclosures::*;
pub use view::*;

pub const AUDIENCE_RESTRICTIONS: [&str; 2] = ["NOT_FOR_FAMILY", "NOT_FOR_REFERRER"];

fn due_hours(core: &Core, priority: Priority) -> i64 {
    let hours = &core.config.request_due_hours;
    match priority {
        Priority::Red => hours[0],
        Priority::Amber => hours[1],
        Priority::Green => hours[2],
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
    const ACTION: Action = Action::RequestSend;
    let grant = policy::allow(core, ctx, ACTION, CaseOperation::MashWork).await?;
    let (contact, _) = contacts::scoped_contact(core, &grant, input.contact_id).await?;
    let to_agency = match input.to_agency_id {
        Some(id) => agency::Entity::find_by_id(id).one(&core.db).await?,
        None => None,
    }
    .filter(|a| a.active && !a.hosts_mash)
    .ok_or_else(|| AppError::bad_input("toAgencyId", "no such partner agency"))?;
    let questions = checks::required("questions", &input.questions, Kind::Prose)?;
    let priority = Priority::parse(&input.priority)
        .ok_or_else(|| AppError::bad_input("priority", "must be RED, AMBER or GREEN"))?;
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
            priority: Set(priority),
            sent_by: Set(ctx.actor.id.unwrap_or_default()),
            sent_at: Set(sent_at),
            recorded_at: Set(Utc::now()),
            due_at: Set(sent_at + chrono::Duration::hours(due_hours(core, priority))),
            status: Set(RequestStatus::Open),
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
            grant
                .entry()
                .entity("InformationRequest", created.id)
                .reference("Contact", contact.id)
                .reference("Agency", to_agency.id)
                .children([contact.child_id])
                .purpose("safeguarding.information_gathering")
                .consent_ref(consent_ref)
                .detail(
                    json!({ "priority": created.priority.as_str(), "toAgencyId": to_agency.id }),
                ),
        )
        .await?;
        events::emit(
            core,
            &txn,
            Change::request(ChangeKind::RequestSent, &created),
        )
        .await?;
        Ok(created)
    }
    .await;
    let created = transition::settle(core, &grant, txn, result).await?;
    load_view(core, &grant, created).await
}

async fn scoped_request(
    core: &Core,
    grant: &Grant<'_>,
    id: Uuid,
) -> AppResult<information_request::Model> {
    let found = information_request::Entity::find_by_id(id)
        .one(&core.db)
        .await?
        .filter(|r| grant.may_see_request(r));
    grant
        .on_refusal(core, found.ok_or(AppError::NotFound))
        .await
}

pub async fn get_request(core: &Core, ctx: &RequestCtx, id: Uuid) -> AppResult<RequestView> {
    const ACTION: Action = Action::RequestRead;
    let grant = policy::allow(core, ctx, ACTION, CaseOperation::ReadRequests).await?;
    let request = scoped_request(core, &grant, id).await?;
    let view = load_view(core, &grant, request).await?;
    audit::record_alone(core, ctx, read_entry(&grant, std::slice::from_ref(&view))).await?;
    events::disclosures_read(core, ctx, read_in_full(&view.disclosures)).await;
    Ok(view)
}

/// Requests the caller may see: a partner's inbox, or all of them for MASH staff.
pub async fn list_requests(
    core: &Core,
    ctx: &RequestCtx,
    status: Option<RequestStatus>,
    contact_id: Option<Uuid>,
    since: Option<&str>,
    page: PageRequest,
) -> AppResult<Page<RequestView>> {
    const ACTION: Action = Action::RequestList;
    let grant = policy::allow(core, ctx, ACTION, CaseOperation::ReadRequests).await?;
    let mut condition = Condition::all().add(grant.request_scope());
    if let Some(status) = status {
        condition = condition.add(information_request::Column::Status.eq(status));
    }
    if let Some(contact) = contact_id {
        condition = condition.add(information_request::Column::ContactId.eq(contact));
    }
    if let Some(since) = since {
        let kinds = policy::catch_up_kinds(&ctx.actor, true);
        condition = condition.add(events::changed_since(
            information_request::Column::Id,
            &kinds,
            since,
        )?);
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
    let items = load_views(core, &grant, rows).await?;
    audit::record_poll(core, ctx, read_entry(&grant, &items), items.len()).await?;
    let disclosures = items.iter().flat_map(|v| read_in_full(&v.disclosures));
    events::disclosures_read(core, ctx, disclosures).await;
    Ok(Page {
        items,
        has_next_page,
        total_count,
    })
}
