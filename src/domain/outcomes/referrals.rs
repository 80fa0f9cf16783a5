//! Referrals: reading them, their outcome and allocation.
use super::*;
use crate::domain::audit::Action;
use crate::domain::policy;

pub async fn get_referral(core: &Core, ctx: &RequestCtx, id: Uuid) -> AppResult<ReferralView> {
    const ACTION: Action = Action::ReferralRead;
    let (grant, referral) = the_referral(core, ctx, ACTION, id).await?;
    let views = load_views(&core.db, vec![referral]).await?;
    audit::record_alone(core, ctx, read_entry(&grant, &views)).await?;
    views.into_iter().next().ok_or(AppError::NotFound)
}

/// Referrals, newest first by id, optionally one child's or one contact's (MASH staff).
pub async fn list_referrals(
    core: &Core,
    ctx: &RequestCtx,
    child: Option<Uuid>,
    contact: Option<Uuid>,
    page: PageRequest,
) -> AppResult<Page<ReferralView>> {
    const ACTION: Action = Action::ReferralList;
    let grant = policy::allow(core, ctx, ACTION, CaseOperation::MashWork).await?;
    let mut condition = Condition::all();
    if let Some(child) = child {
        condition = condition.add(referral::Column::ChildId.eq(child));
    }
    if let Some(contact) = contact {
        condition = condition.add(referral::Column::ContactId.eq(contact));
    }
    let Page {
        items: rows,
        has_next_page,
        total_count,
    } = page::by_id(
        &core.db,
        referral::Entity::find().filter(condition),
        referral::Column::Id,
        page::Order::NewestFirst,
        &page,
    )
    .await?;
    let items = load_views(&core.db, rows).await?;
    audit::record_poll(core, ctx, read_entry(&grant, &items), items.len()).await?;
    Ok(Page {
        items,
        has_next_page,
        total_count,
    })
}

/// The referral's outcome and allocation. The outcome is recorded once; changing a recorded
/// one is a `correction`. Allocation may change at any time.
pub async fn update_referral(
    core: &Core,
    ctx: &RequestCtx,
    id: Uuid,
    outcome: Option<&str>,
    allocation: Allocation,
    correction: bool,
) -> AppResult<ReferralView> {
    const ACTION: Action = Action::ReferralUpdate;
    let (grant, _) = the_referral(core, ctx, ACTION, id).await?;
    let outcome = outcome
        .map(|o| checked_code::<ReferralOutcome>("outcome", o))
        .transpose()?;
    let allocation = allocation.checked()?;
    let txn = begin_write(&core.db).await?;
    let result = async {
        let current = transition::locked::<referral::Entity>(&txn, id).await?;
        let mut corrected = false;
        let mut active: referral::ActiveModel = current.clone().into();
        if let Some(outcome) = outcome {
            let recorded = current.outcome.is_some();
            corrected = transition::correcting(recorded, correction, "referralId", "the outcome")?;
            active.outcome = Set(Some(outcome));
        }
        if let Some(team) = allocation.team {
            active.allocated_team = Set(Some(team));
        }
        if let Some(worker) = allocation.worker {
            active.allocated_worker = Set(Some(worker));
        }
        active.update(&txn).await?;
        let entry = grant
            .entry()
            .entity("Referral", id)
            .detail(correction_detail(outcome, corrected, current.outcome));
        changed_view(&txn, ctx, id, entry).await
    }
    .await;
    transition::settle(core, &grant, txn, result).await
}

/// An outcome's audit detail: the code recorded and, for a correction, the code it replaced.
pub(super) fn correction_detail<T: Vocabulary>(
    outcome: Option<T>,
    corrected: bool,
    before: Option<T>,
) -> Value {
    let mut detail = json!({ "outcome": outcome.map(T::as_str), "correction": corrected });
    if corrected {
        detail["replaced"] = json!(before.map(T::as_str));
    }
    detail
}
