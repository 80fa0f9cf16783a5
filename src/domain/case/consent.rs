//! Consent and overrides (docs/design.md "Consent and overrides"): information requests
//! need consent covering the agency asked, or an override authorised by a MASH manager who
//! is not the requester — except break-glass on an immediate-risk contact, which then waits
//! for a second manager's review.
use chrono::Utc;
use entity::codes::{
    ConsentPosition, ContactStatus, OverrideReason, OverrideStatus, RequestStatus, ReviewStatus,
};
use entity::{consent, consent_override, contact, information_request};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, Set,
};
use serde_json::json;
use uuid::Uuid;

use crate::db::{begin_write, WriteTxn};
use crate::domain::audit::Action;
use crate::domain::audit::{self, AuditEntry};
use crate::domain::case::contacts::{self, load_view, ConsentInput, ContactView};
use crate::domain::common::checks::{self, Kind};
use crate::domain::common::transition;
use crate::domain::events::{self, Change, ChangeKind};
use crate::domain::policy::{self, CaseOperation, Grant};
use crate::domain::RequestCtx;
use crate::error::{AppError, AppResult};
use crate::Core;

/// What allows an information request to `agency` on this contact: a live consent that
/// covers the agency, or an approved override not refused on review.
pub async fn authority<C: ConnectionTrait>(
    conn: &C,
    contact_id: Uuid,
    agency: Uuid,
) -> AppResult<Option<String>> {
    let consents = consent::Entity::find()
        .filter(consent::Column::ContactId.eq(contact_id))
        .filter(consent::Column::WithdrawnAt.is_null())
        .order_by_asc(consent::Column::Id)
        .all(conn)
        .await?;
    let agency_text = agency.to_string();
    if let Some(c) = consents.iter().find(|c| {
        c.scope_agency_ids.is_empty() || c.scope_agency_ids.split(',').any(|a| a == agency_text)
    }) {
        return Ok(Some(format!("consent:{}", c.id)));
    }
    let approved = consent_override::Entity::find()
        .filter(consent_override::Column::ContactId.eq(contact_id))
        .filter(consent_override::Column::Status.eq(OverrideStatus::Approved))
        .filter(consent_override::Column::ReviewStatus.ne(ReviewStatus::Refused))
        .order_by_asc(consent_override::Column::Id)
        .one(conn)
        .await?;
    Ok(approved.map(|o| format!("override:{}", o.id)))
}

/// Moves a contact between AWAITING_CONSENT and INFORMATION_GATHERING as its authority changes.
async fn refresh_status<C: ConnectionTrait>(
    conn: &C,
    contact: &contact::Model,
) -> AppResult<contact::Model> {
    if contact.status == ContactStatus::Decided {
        return Ok(contact.clone());
    }
    let has_consent = consent::Entity::find()
        .filter(consent::Column::ContactId.eq(contact.id))
        .filter(consent::Column::WithdrawnAt.is_null())
        .one(conn)
        .await?
        .is_some();
    let has_override = authority(conn, contact.id, Uuid::nil())
        .await?
        .is_some_and(|r| r.starts_with("override:"));
    let status = if has_consent || has_override {
        ContactStatus::InformationGathering
    } else {
        ContactStatus::AwaitingConsent
    };
    if status == contact.status {
        return Ok(contact.clone());
    }
    let mut active: contact::ActiveModel = contact.clone().into();
    active.status = Set(status);
    Ok(active.update(conn).await?)
}

/// The event announcing a contact's new status, if it changed.
fn status_change(before: &contact::Model, after: &contact::Model) -> Option<Change> {
    (before.status != after.status).then(|| Change::contact(ChangeKind::ContactUpdated, after))
}

async fn emit_status_change(core: &Core, txn: &WriteTxn, change: Option<Change>) -> AppResult<()> {
    match change {
        Some(change) => events::emit(core, txn, change).await,
        None => Ok(()),
    }
}

/// Withdraws the open requests that relied on `reference` ("consent:<id>" / "override:<id>").
async fn withdraw_requests_relying_on<C: ConnectionTrait>(
    conn: &C,
    reference: &str,
) -> AppResult<u64> {
    let result = information_request::Entity::update_many()
        .col_expr(
            information_request::Column::Status,
            Expr::value(RequestStatus::Withdrawn),
        )
        .col_expr(
            information_request::Column::WithdrawnAt,
            Expr::value(Utc::now()),
        )
        .filter(information_request::Column::ConsentRef.eq(reference))
        .filter(information_request::Column::Status.eq(RequestStatus::Open))
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}

pub async fn record_consent(
    core: &Core,
    ctx: &RequestCtx,
    contact_id: Uuid,
    input: ConsentInput,
) -> AppResult<ContactView> {
    const ACTION: Action = Action::ConsentRecord;
    let grant = policy::allow(core, ctx, ACTION, CaseOperation::RecordConsent).await?;
    let (existing, access) = contacts::scoped_contact(core, &grant, contact_id).await?;
    if !grant.may_record_consent(&existing) {
        return grant.on_refusal(core, Err(AppError::NotFound)).await;
    }
    if ConsentPosition::parse(&input.position) != Some(ConsentPosition::Given) {
        return Err(AppError::bad_input(
            "position",
            "record consent as GIVEN; a refusal stays recorded on the contact",
        ));
    }
    let valid = contacts::validate_consent(&core.db, "", &input)
        .await?
        .ok_or_else(|| AppError::internal("no consent"))?;
    let actor_id = ctx.actor.id.ok_or(AppError::Forbidden)?;
    let agency = ctx.actor.agency_id().ok_or(AppError::Forbidden)?;
    let txn = begin_write(&core.db).await?;
    let result = async {
        let existing = contacts::locked_contact(&txn, existing.id).await?;
        let created = contacts::insert_consent(&txn, existing.id, actor_id, agency, valid).await?;
        let updated = refresh_status(&txn, &existing).await?;
        let change = status_change(&existing, &updated);
        let view = load_view(&txn, &grant, updated, access).await?;
        audit::record(
            &txn,
            ctx,
            grant
                .entry()
                .entity("Consent", created.id)
                .reference("Contact", existing.id)
                .children([existing.child_id])
                .purpose("safeguarding.consent")
                .consent_ref(format!("consent:{}", created.id)),
        )
        .await?;
        emit_status_change(core, &txn, change).await?;
        Ok(view)
    }
    .await;
    transition::settle(core, &grant, txn, result).await
}

/// The contact a consent or override belongs to (None when there is no such record).
async fn contact_of(core: &Core, contact_id: Option<Uuid>) -> AppResult<Option<contact::Model>> {
    match contact_id {
        Some(id) => Ok(contact::Entity::find_by_id(id).one(&core.db).await?),
        None => Ok(None),
    }
}

/// Withdrawing consent withdraws the open requests that relied on it.
pub async fn withdraw_consent(
    core: &Core,
    ctx: &RequestCtx,
    consent_id: Uuid,
) -> AppResult<ContactView> {
    const ACTION: Action = Action::ConsentWithdraw;
    let grant = policy::allow(core, ctx, ACTION, CaseOperation::RecordConsent).await?;
    let found = consent::Entity::find_by_id(consent_id)
        .one(&core.db)
        .await?;
    let contact = contact_of(core, found.as_ref().map(|c| c.contact_id)).await?;
    let scoped = found.zip(contact).and_then(|(consent, contact)| {
        let access = grant
            .contact_access(&contact)
            .filter(|_| grant.may_record_consent(&contact))?;
        Some((consent, contact, access))
    });
    let (consent, contact, access) = grant
        .on_refusal(core, scoped.ok_or(AppError::NotFound))
        .await?;
    let txn = begin_write(&core.db).await?;
    let result = async {
        // The contact first (lock order), then the consent as it is now.
        let contact = contacts::locked_contact(&txn, contact.id).await?;
        let consent = transition::locked::<consent::Entity>(&txn, consent.id).await?;
        if consent.withdrawn_at.is_some() {
            return Err(AppError::conflict(
                "consentId",
                "this consent is already withdrawn",
            ));
        }
        let mut active: consent::ActiveModel = consent.clone().into();
        active.withdrawn_at = Set(Some(Utc::now()));
        active.withdrawn_by = Set(ctx.actor.id);
        active.update(&txn).await?;
        let reference = format!("consent:{}", consent.id);
        let withdrawn = withdraw_requests_relying_on(&txn, &reference).await?;
        let updated = refresh_status(&txn, &contact).await?;
        let change = status_change(&contact, &updated);
        let view = load_view(&txn, &grant, updated, access).await?;
        audit::record(
            &txn,
            ctx,
            grant
                .entry()
                .entity("Consent", consent.id)
                .reference("Contact", contact.id)
                .children([contact.child_id])
                .purpose("safeguarding.consent")
                .consent_ref(reference)
                .detail(json!({ "requestsWithdrawn": withdrawn })),
        )
        .await?;
        emit_status_change(core, &txn, change).await?;
        Ok(view)
    }
    .await;
    transition::settle(core, &grant, txn, result).await
}

pub async fn request_override(
    core: &Core,
    ctx: &RequestCtx,
    contact_id: Uuid,
    reason: &str,
    justification: &str,
) -> AppResult<consent_override::Model> {
    const ACTION: Action = Action::OverrideRequest;
    let grant = policy::allow(core, ctx, ACTION, CaseOperation::MashWork).await?;
    let reason = OverrideReason::parse(reason).ok_or_else(|| {
        AppError::bad_input(
            "reason",
            format!("must be one of {}", OverrideReason::codes(", ")),
        )
    })?;
    let justification = checks::required("justification", justification, Kind::Prose)?;
    let (contact, _) = contacts::scoped_contact(core, &grant, contact_id).await?;
    let txn = begin_write(&core.db).await?;
    contacts::locked_contact(&txn, contact.id).await?;
    let created = consent_override::ActiveModel {
        id: Set(Uuid::now_v7()),
        contact_id: Set(contact.id),
        requested_by: Set(ctx.actor.id.unwrap_or_default()),
        reason: Set(reason),
        justification: Set(justification),
        status: Set(OverrideStatus::Requested),
        decided_by: Set(None),
        decided_at: Set(None),
        break_glass: Set(false),
        review_status: Set(ReviewStatus::NotRequired),
        reviewed_by: Set(None),
        reviewed_at: Set(None),
        requested_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        ctx,
        grant
            .entry()
            .entity("ConsentOverride", created.id)
            .reference("Contact", contact.id)
            .children([contact.child_id])
            .purpose("safeguarding.consent")
            .detail(json!({ "reason": reason.as_str() })),
    )
    .await?;
    txn.commit().await?;
    Ok(created)
}

/// An override and its contact, for a MASH manager.
async fn scoped_override<'a>(
    core: &Core,
    ctx: &'a RequestCtx,
    action: Action,
    id: Uuid,
) -> AppResult<(Grant<'a>, consent_override::Model, contact::Model)> {
    let grant = policy::allow(core, ctx, action, CaseOperation::DecideOverride).await?;
    let found = consent_override::Entity::find_by_id(id)
        .one(&core.db)
        .await?;
    let contact = contact_of(core, found.as_ref().map(|o| o.contact_id)).await?;
    let (found, contact) = grant
        .on_refusal(core, found.zip(contact).ok_or(AppError::NotFound))
        .await?;
    Ok((grant, found, contact))
}

/// Approve (true) or refuse (false) an override. The requester may not decide their own,
/// except break-glass on an immediate-risk contact, which then awaits a second manager's review.
pub async fn decide_override(
    core: &Core,
    ctx: &RequestCtx,
    id: Uuid,
    approve: bool,
) -> AppResult<consent_override::Model> {
    let action = if approve {
        Action::OverrideApprove
    } else {
        Action::OverrideRefuse
    };
    let (grant, found, _) = scoped_override(core, ctx, action, id).await?;
    let txn = begin_write(&core.db).await?;
    let result = async {
        let (existing, contact) = locked_override(&txn, &found).await?;
        let own = Some(existing.requested_by) == ctx.actor.id;
        let break_glass = own && approve && contact.immediate_risk;
        if own && !break_glass {
            return Err(AppError::Forbidden);
        }
        // Of an approval and a refusal at the same moment, the second sees the first's.
        if existing.status != OverrideStatus::Requested {
            return Err(AppError::conflict(
                "overrideId",
                "this override has already been decided",
            ));
        }
        let mut active: consent_override::ActiveModel = existing.into();
        active.status = Set(if approve {
            OverrideStatus::Approved
        } else {
            OverrideStatus::Refused
        });
        active.decided_by = Set(ctx.actor.id);
        active.decided_at = Set(Some(Utc::now()));
        active.break_glass = Set(break_glass);
        active.review_status = Set(if break_glass {
            ReviewStatus::Pending
        } else {
            ReviewStatus::NotRequired
        });
        let updated = active.update(&txn).await?;
        let refreshed = refresh_status(&txn, &contact).await?;
        let change = status_change(&contact, &refreshed);
        audit::record(
            &txn,
            ctx,
            AuditEntry::success(action)
                .entity("ConsentOverride", id)
                .reference("Contact", contact.id)
                .children([contact.child_id])
                .purpose("safeguarding.consent")
                .consent_ref(format!("override:{id}"))
                .detail(json!({ "breakGlass": break_glass })),
        )
        .await?;
        emit_status_change(core, &txn, change).await?;
        Ok(updated)
    }
    .await;
    transition::settle(core, &grant, txn, result).await
}

/// An override and its contact as they are now, locked (the contact first).
async fn locked_override(
    txn: &DatabaseTransaction,
    found: &consent_override::Model,
) -> AppResult<(consent_override::Model, contact::Model)> {
    let contact = contacts::locked_contact(txn, found.contact_id).await?;
    let existing = transition::locked::<consent_override::Entity>(txn, found.id).await?;
    Ok((existing, contact))
}

/// A second manager reviews a break-glass override: upheld, or refused — which withdraws the
/// open requests that relied on it (what was already disclosed stays recorded).
pub async fn review_override(
    core: &Core,
    ctx: &RequestCtx,
    id: Uuid,
    uphold: bool,
) -> AppResult<consent_override::Model> {
    const ACTION: Action = Action::OverrideReview;
    let (grant, found, _) = scoped_override(core, ctx, ACTION, id).await?;
    let txn = begin_write(&core.db).await?;
    let result = async {
        let (existing, contact) = locked_override(&txn, &found).await?;
        if existing.review_status != ReviewStatus::Pending {
            return Err(AppError::conflict(
                "overrideId",
                "this override is not awaiting review",
            ));
        }
        if existing.decided_by == ctx.actor.id {
            return Err(AppError::Forbidden);
        }
        let mut active: consent_override::ActiveModel = existing.into();
        active.review_status = Set(if uphold {
            ReviewStatus::Upheld
        } else {
            ReviewStatus::Refused
        });
        active.reviewed_by = Set(ctx.actor.id);
        active.reviewed_at = Set(Some(Utc::now()));
        let updated = active.update(&txn).await?;
        let withdrawn = if uphold {
            0
        } else {
            withdraw_requests_relying_on(&txn, &format!("override:{id}")).await?
        };
        let refreshed = refresh_status(&txn, &contact).await?;
        let change = status_change(&contact, &refreshed);
        audit::record(
            &txn,
            ctx,
            grant
                .entry()
                .entity("ConsentOverride", id)
                .reference("Contact", contact.id)
                .children([contact.child_id])
                .purpose("safeguarding.consent")
                .consent_ref(format!("override:{id}"))
                .detail(json!({ "upheld": uphold, "requestsWithdrawn": withdrawn })),
        )
        .await?;
        emit_status_change(core, &txn, change).await?;
        Ok(updated)
    }
    .await;
    transition::settle(core, &grant, txn, result).await
}

/// Break-glass overrides awaiting a second manager (MASH managers).
pub async fn review_queue(
    core: &Core,
    ctx: &RequestCtx,
) -> AppResult<Vec<consent_override::Model>> {
    const ACTION: Action = Action::OverrideReviewQueue;
    policy::allow(core, ctx, ACTION, CaseOperation::DecideOverride).await?;
    let pending = consent_override::Entity::find()
        .filter(consent_override::Column::ReviewStatus.eq(ReviewStatus::Pending))
        .order_by_asc(consent_override::Column::Id)
        .all(&core.db)
        .await?;
    Ok(pending)
}
