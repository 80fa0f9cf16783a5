//! Strategy discussions, section 47 enquiries and initial child protection conferences.
use super::*;
use crate::domain::audit::Action;
use crate::domain::policy::{self, Grant};

pub struct RecordStrategyDiscussion {
    pub referral_id: Uuid,
    pub assessment_id: Option<Uuid>,
    pub held_at: Option<DateTime<Utc>>,
    /// `None` where an id in the input was not an agency id.
    pub agencies_present: Vec<Option<Uuid>>,
    pub section47_started: bool,
    pub allocation: Allocation,
}

/// A strategy discussion; if it starts a section 47 enquiry, the enquiry opens with it and
/// its conference falls due 15 working days after the discussion.
pub async fn record_strategy_discussion(
    core: &Core,
    ctx: &RequestCtx,
    input: RecordStrategyDiscussion,
) -> AppResult<ReferralView> {
    const ACTION: Action = Action::StrategyDiscussionRecord;
    let (grant, referral) = the_referral(core, ctx, ACTION, input.referral_id).await?;
    let held_at = checks::event_time_after(
        "heldAt",
        input.held_at,
        referral.referred_at,
        "the referral",
    )?;
    if let Some(assessment_id) = input.assessment_id {
        let belongs = assessment::Entity::find_by_id(assessment_id)
            .one(&core.db)
            .await?
            .is_some_and(|a| a.referral_id == referral.id);
        if !belongs {
            return Err(AppError::bad_input(
                "assessmentId",
                "no such assessment of this referral",
            ));
        }
    }
    checks::list(
        "agenciesPresent",
        &input.agencies_present,
        checks::MAX_AGENCIES_PRESENT,
    )?;
    let wanted: Vec<Uuid> = input
        .agencies_present
        .iter()
        .map(|id| id.ok_or_else(|| AppError::bad_input("agenciesPresent", "not an agency id")))
        .collect::<AppResult<_>>()?;
    let known = agency::Entity::find()
        .filter(agency::Column::Id.is_in(wanted.clone()))
        .count(&core.db)
        .await?;
    if wanted.is_empty() || known as usize != wanted.len() {
        return Err(AppError::bad_input(
            "agenciesPresent",
            "name the agencies present by their ids (at least one, each known once)",
        ));
    }
    let allocation = input.allocation.checked()?;
    let txn = begin_write(&core.db).await?;
    let result = async {
        // A referral may have several discussions: the lock only queues this one behind other
        // changes to the referral.
        transition::locked::<referral::Entity>(&txn, referral.id).await?;
        let id = Uuid::now_v7();
        strategy::ActiveModel {
            id: Set(id),
            referral_id: Set(referral.id),
            child_id: Set(referral.child_id),
            assessment_id: Set(input.assessment_id),
            held_at: Set(held_at),
            agencies_present: Set(wanted
                .iter()
                .map(Uuid::to_string)
                .collect::<Vec<_>>()
                .join(",")),
            section47_started: Set(input.section47_started),
            allocated_team: Set(allocation.team.clone()),
            allocated_worker: Set(allocation.worker.clone()),
            recorded_at: Set(Utc::now()),
        }
        .insert(&txn)
        .await?;
        if input.section47_started {
            let icpc_due_at = clock::working_days_after(&txn, held_at, ICPC_WORKING_DAYS).await?;
            section47::ActiveModel {
                id: Set(Uuid::now_v7()),
                strategy_discussion_id: Set(id),
                referral_id: Set(referral.id),
                child_id: Set(referral.child_id),
                started_at: Set(held_at),
                icpc_due_at: Set(icpc_due_at),
                outcome: Set(None),
                completed_at: Set(None),
                allocated_team: Set(allocation.team),
                allocated_worker: Set(allocation.worker),
                recorded_at: Set(Utc::now()),
            }
            .insert(&txn)
            .await?;
        }
        let entry = grant
            .entry()
            .entity("StrategyDiscussion", id)
            .detail(json!({ "section47Started": input.section47_started }));
        changed_view(&txn, ctx, referral.id, entry).await
    }
    .await;
    transition::settle(core, &grant, txn, result).await
}

pub(super) async fn the_enquiry<'a>(
    core: &Core,
    ctx: &'a RequestCtx,
    action: Action,
    id: Uuid,
) -> AppResult<(Grant<'a>, section47::Model)> {
    let grant = policy::allow(core, ctx, action, CaseOperation::MashWork).await?;
    let row = section47::Entity::find_by_id(id).one(&core.db).await?;
    let enquiry = found(core, &grant, row).await?;
    Ok((grant, enquiry))
}

/// The outcome of a section 47 enquiry (docs/codes.md "Section 47 outcome"). It is recorded once; changing a recorded
/// one is a `correction`. Once the conference is recorded the outcome is the conference's and
/// is not changed at all.
pub async fn record_section47_outcome(
    core: &Core,
    ctx: &RequestCtx,
    id: Uuid,
    outcome: &str,
    completed_at: Option<DateTime<Utc>>,
    correction: bool,
) -> AppResult<ReferralView> {
    const ACTION: Action = Action::Section47Outcome;
    let (grant, enquiry) = the_enquiry(core, ctx, ACTION, id).await?;
    let outcome = checked_code::<Section47Outcome>("outcome", outcome)?;
    let completed_at = checks::event_time_after(
        "completedAt",
        completed_at,
        enquiry.started_at,
        "the enquiry started",
    )?;
    let txn = begin_write(&core.db).await?;
    let result = async {
        let current = transition::locked::<section47::Entity>(&txn, id).await?;
        if conference_of(&txn, id).await? {
            return Err(AppError::conflict(
                "section47Id",
                "the conference is recorded: the enquiry's outcome is the conference",
            ));
        }
        let recorded = current.outcome.is_some();
        let corrected = transition::correcting(recorded, correction, "section47Id", "the outcome")?;
        let referral_id = current.referral_id;
        let before = current.outcome;
        let mut active: section47::ActiveModel = current.into();
        active.outcome = Set(Some(outcome));
        active.completed_at = Set(Some(completed_at));
        active.update(&txn).await?;
        let entry = grant
            .entry()
            .entity("Section47Enquiry", id)
            .detail(correction_detail(Some(outcome), corrected, before));
        changed_view(&txn, ctx, referral_id, entry).await
    }
    .await;
    transition::settle(core, &grant, txn, result).await
}

/// Whether the enquiry's conference is recorded.
pub(super) async fn conference_of<C: ConnectionTrait>(
    conn: &C,
    section47_id: Uuid,
) -> AppResult<bool> {
    let n = conference::Entity::find()
        .filter(conference::Column::Section47Id.eq(section47_id))
        .count(conn)
        .await?;
    Ok(n > 0)
}

pub struct RecordConference {
    pub section47_id: Uuid,
    pub held_at: Option<DateTime<Utc>>,
    pub plan_made: bool,
    pub allocation: Allocation,
}

/// The initial child protection conference a section 47 enquiry led to.
pub async fn record_conference(
    core: &Core,
    ctx: &RequestCtx,
    input: RecordConference,
) -> AppResult<ReferralView> {
    const ACTION: Action = Action::ConferenceRecord;
    let (grant, enquiry) = the_enquiry(core, ctx, ACTION, input.section47_id).await?;
    let held_at = checks::event_time_after(
        "heldAt",
        input.held_at,
        enquiry.started_at,
        "the section 47 enquiry started",
    )?;
    const ICPC: Section47Outcome = Section47Outcome::InitialChildProtectionConference;
    let allocation = input.allocation.checked()?;
    let txn = begin_write(&core.db).await?;
    let result = async {
        let enquiry = transition::locked::<section47::Entity>(&txn, enquiry.id).await?;
        if enquiry.outcome.is_some_and(|o| o != ICPC) {
            return Err(AppError::conflict(
                "section47Id",
                "the enquiry's outcome was not a conference",
            ));
        }
        if conference_of(&txn, enquiry.id).await? {
            return Err(AppError::conflict(
                "section47Id",
                "the conference is already recorded",
            ));
        }
        let id = Uuid::now_v7();
        conference::ActiveModel {
            id: Set(id),
            section47_id: Set(enquiry.id),
            child_id: Set(enquiry.child_id),
            held_at: Set(held_at),
            due_at: Set(enquiry.icpc_due_at),
            plan_made: Set(input.plan_made),
            allocated_team: Set(allocation.team),
            allocated_worker: Set(allocation.worker),
            recorded_at: Set(Utc::now()),
        }
        .insert(&txn)
        .await?;
        if enquiry.outcome.is_none() {
            let mut active: section47::ActiveModel = enquiry.clone().into();
            active.outcome = Set(Some(ICPC));
            active.completed_at = Set(Some(held_at));
            active.update(&txn).await?;
        }
        let entry = grant
            .entry()
            .entity("ChildProtectionConference", id)
            .detail(json!({ "planMade": input.plan_made }));
        changed_view(&txn, ctx, enquiry.referral_id, entry).await
    }
    .await;
    transition::settle(core, &grant, txn, result).await
}
