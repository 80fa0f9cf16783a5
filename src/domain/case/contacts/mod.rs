//! Contacts: submission (with duplicate matching and idempotency), what each caller sees,
//! the MASH queue, recommendations and decisions.
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::codes::{ConsentPosition, ContactOutcome, ContactStatus};
use entity::{agency, child, consent, consent_override, contact, disclosure, information_request};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::db::begin_write;
use crate::domain::audit::Action;
use crate::domain::audit::{self, AuditEntry};
use crate::domain::case::children::{self, ChildDetails};
use crate::domain::common::checks::{self, event_time, Kind};
use crate::domain::common::codes::SourceCodes;
use crate::domain::common::idempotency::{self, Outcome};
use crate::domain::common::page::{Page, PageRequest};
use crate::domain::common::{clock, transition};
use crate::domain::events::{self, read_in_full, Change, ChangeKind};
use crate::domain::policy::{self, CaseOperation, ContactAccess, DisclosureVisibility, Grant};
use crate::domain::{ActorKind, RequestCtx};
use crate::error::{AppError, AppResult};
use crate::Core;

mod decisions;
mod intake;
mod queue;
mod view;

pub use decisions::*;
pub use intake::*;
pub use queue::*;
pub use view::*;

/// Codes a MASH worker may choose when recording a call from the public.
pub const PUBLIC_SOURCE_CODES: [&str; 6] = ["1A", "1B", "1C", "1D", "9", "10"];

pub async fn submit_contact(
    core: &Core,
    ctx: &RequestCtx,
    input: NewContact,
) -> AppResult<ContactView> {
    let grant = policy::allow(
        core,
        ctx,
        Action::ContactSubmit,
        CaseOperation::SubmitContact,
    )
    .await?;
    let actor = &ctx.actor;
    let agency = actor.agency.clone().ok_or(AppError::Forbidden)?;
    let actor_id = actor.id.ok_or(AppError::Forbidden)?;
    let payload = serde_json::to_value(&input).map_err(|e| AppError::internal(e.to_string()))?;

    let child_details = input.child.clone().validated("child")?;
    let source_code = checked_source_code(&grant, &agency, input.source_code.as_deref())?;
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
        ContactStatus::InformationGathering
    } else {
        ContactStatus::AwaitingConsent
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
        status: Set(status),
        child_as_submitted: Set(serde_json::to_string(&child_details).unwrap_or_default()),
        concern_categories: Set(categories),
        narrative: Set(narrative),
        immediate_risk: Set(input.immediate_risk),
        consent_position: Set(consent_position("consent", &input.consent)?),
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
    let access = grant
        .contact_access(&created)
        .unwrap_or(ContactAccess::Submitter);
    let view = load_view(&txn, &grant, created, access).await?;
    audit::record(
        &txn,
        ctx,
        grant.entry()
            .entity("Contact", view.contact.id)
            .children([child.id])
            .purpose("safeguarding.referral")
            .consent_ref(consent_ref)
            .detail(json!({ "immediateRisk": input.immediate_risk, "sourceCode": view.contact.source_code })),
    )
    .await?;
    events::emit(
        core,
        &txn,
        Change::contact(ChangeKind::ContactArrived, &view.contact),
    )
    .await?;
    txn.commit().await?;
    Ok(view)
}

/// A retried submission returns the first contact; that access is audited like any read.
async fn replay(core: &Core, ctx: &RequestCtx, id: &str) -> AppResult<ContactView> {
    let id = Uuid::parse_str(id).map_err(|e| AppError::internal(e.to_string()))?;
    get_contact_as(core, ctx, id, Action::ContactSubmitReplay).await
}

pub async fn get_contact(core: &Core, ctx: &RequestCtx, id: Uuid) -> AppResult<ContactView> {
    get_contact_as(core, ctx, id, Action::ContactRead).await
}

async fn get_contact_as(
    core: &Core,
    ctx: &RequestCtx,
    id: Uuid,
    action: Action,
) -> AppResult<ContactView> {
    let grant = policy::allow(core, ctx, action, CaseOperation::ReadContacts).await?;
    // Out of scope looks like absent, and is audited.
    let found = load_contact_view(&core.db, &grant, id).await?;
    let view = grant
        .on_refusal(core, found.ok_or(AppError::NotFound))
        .await?;
    audit::record_alone(core, ctx, read_entry(&grant, &view)).await?;
    events::disclosures_read(core, ctx, read_in_full(&view.disclosures)).await;
    Ok(view)
}

/// A contact the caller may see, or an audited NOT_FOUND (out of scope looks like absent).
pub async fn scoped_contact(
    core: &Core,
    grant: &Grant<'_>,
    id: Uuid,
) -> AppResult<(contact::Model, ContactAccess)> {
    let found = contact::Entity::find_by_id(id)
        .one(&core.db)
        .await?
        .and_then(|c| grant.contact_access(&c).map(|a| (c, a)));
    grant
        .on_refusal(core, found.ok_or(AppError::NotFound))
        .await
}
