//! MASH work on a contact: immediate risk, recommendation, decision.
use super::*;
use crate::domain::audit::Action;
use crate::domain::policy;

/// Applies `change` to a contact the caller may act on (MASH work), audited with the change.
/// `change` sees the contact as locked inside the write transaction, so it checks the state
/// the change depends on against the latest committed write.
pub(super) async fn change_contact(
    core: &Core,
    ctx: &RequestCtx,
    action: Action,
    operation: CaseOperation,
    id: Uuid,
    change: impl FnOnce(&contact::Model) -> AppResult<(contact::ActiveModel, serde_json::Value)>,
) -> AppResult<ContactView> {
    let grant = policy::allow(core, ctx, action, operation).await?;
    let (_, access) = scoped_contact(core, &grant, id).await?;
    let txn = begin_write(&core.db).await?;
    let result = async {
        let existing = locked_contact(&txn, id).await?;
        let (active, detail) = change(&existing)?;
        let updated = active.update(&txn).await?;
        let change = Change::contact(ChangeKind::ContactUpdated, &updated);
        let view = load_view(&txn, &grant, updated, access).await?;
        audit::record(
            &txn,
            ctx,
            grant
                .entry()
                .entity("Contact", id)
                .children([existing.child_id])
                .purpose("safeguarding.decision")
                .detail(detail),
        )
        .await?;
        events::emit(core, &txn, change).await?;
        Ok(view)
    }
    .await;
    transition::settle(core, &grant, txn, result).await
}

/// The contact, locked inside the write transaction: every change to a contact or to the
/// consent, overrides and requests under it takes this lock first.
pub async fn locked_contact(txn: &DatabaseTransaction, id: Uuid) -> AppResult<contact::Model> {
    transition::locked::<contact::Entity>(txn, id).await
}

pub(super) fn already_decided() -> AppError {
    AppError::conflict("contactId", "the contact is already decided")
}

pub(super) fn checked_outcome(field: &str, outcome: &str) -> AppResult<ContactOutcome> {
    ContactOutcome::parse(outcome).ok_or_else(|| {
        AppError::bad_input(
            field,
            format!("must be one of {}", ContactOutcome::codes(", ")),
        )
    })
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
        Action::ContactSetImmediateRisk,
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
        Action::ContactRecommend,
        CaseOperation::MashWork,
        id,
        move |c| {
            if c.status == ContactStatus::Decided {
                return Err(already_decided());
            }
            let mut active: contact::ActiveModel = c.clone().into();
            active.recommendation = Set(Some(outcome));
            active.recommendation_rationale = Set(Some(rationale));
            active.recommended_by = Set(actor_id);
            active.recommended_at = Set(Some(Utc::now()));
            Ok((active, json!({ "recommendation": outcome.as_str() })))
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
    let grant = policy::allow(
        core,
        ctx,
        Action::ContactDecide,
        CaseOperation::DecideContact,
    )
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
    let (found, access) = scoped_contact(core, &grant, id).await?;
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
        if existing.status == ContactStatus::Decided {
            return Err(already_decided());
        }
        let mut active: contact::ActiveModel = existing.clone().into();
        active.status = Set(ContactStatus::Decided);
        active.outcome = Set(Some(outcome));
        active.threshold_level = Set(Some(threshold_level));
        active.rationale = Set(Some(rationale));
        active.decided_by = Set(actor_id);
        active.decided_at = Set(Some(decided_at));
        let updated = active.update(&txn).await?;
        // A referring decision opens the referral in the same transaction.
        let referral = crate::domain::outcomes::open_referral(&txn, &updated).await?;
        let change = Change::contact(ChangeKind::ContactDecided, &updated);
        let view = load_view(&txn, &grant, updated, access).await?;
        let mut entry = grant.entry()
            .entity("Contact", id)
            .children([existing.child_id])
            .purpose("safeguarding.decision")
            .detail(json!({ "outcome": outcome.as_str(), "thresholdLevel": threshold_level, "withinTimescale": decided_at <= existing.decision_due_at }));
        if let Some(referral) = &referral {
            entry = entry.reference("Referral", referral.id);
        }
        audit::record(&txn, ctx, entry).await?;
        events::emit(core, &txn, change).await?;
        Ok(view)
    }
    .await;
    transition::settle(core, &grant, txn, result).await
}

/// Who submitted a contact, for display: a machine client shows as its agency's system.
pub fn submitted_by_client(contact: &contact::Model) -> bool {
    contact.submitted_by_kind == ActorKind::Client.as_str()
}
