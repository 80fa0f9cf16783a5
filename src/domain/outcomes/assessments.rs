//! Assessments: starting one, the child seen, authorisation and outcome.
use super::*;
use crate::domain::audit::Action;
use crate::domain::policy;

pub struct StartAssessment {
    pub referral_id: Uuid,
    pub started_at: Option<DateTime<Utc>>,
    pub allocation: Allocation,
}

/// One assessment (MASH staff).
pub async fn get_assessment(
    core: &Core,
    ctx: &RequestCtx,
    id: Uuid,
) -> AppResult<assessment::Model> {
    const ACTION: Action = Action::AssessmentRead;
    let grant = policy::allow(core, ctx, ACTION, CaseOperation::MashWork).await?;
    let row = assessment::Entity::find_by_id(id).one(&core.db).await?;
    let found = found(core, &grant, row).await?;
    let entry = grant
        .entry()
        .entity("Assessment", found.id)
        .reference("Referral", found.referral_id)
        .children([found.child_id])
        .purpose(PURPOSE);
    audit::record_alone(core, ctx, entry).await?;
    Ok(found)
}

/// Starts an assessment, due at the end of the 45th working day after the referral.
pub async fn start_assessment(
    core: &Core,
    ctx: &RequestCtx,
    input: StartAssessment,
) -> AppResult<ReferralView> {
    const ACTION: Action = Action::AssessmentStart;
    let (grant, referral) = the_referral(core, ctx, ACTION, input.referral_id).await?;
    let started_at = checks::event_time_after(
        "startedAt",
        input.started_at,
        referral.referred_at,
        "the referral",
    )?;
    let allocation = input.allocation.checked()?;
    let txn = begin_write(&core.db).await?;
    let result = async {
        // A referral may have several assessments: the lock only queues this one behind
        // other changes to the referral.
        transition::locked::<referral::Entity>(&txn, referral.id).await?;
        let due_at =
            clock::working_days_after(&txn, referral.referred_at, ASSESSMENT_WORKING_DAYS).await?;
        let id = Uuid::now_v7();
        assessment::ActiveModel {
            id: Set(id),
            referral_id: Set(referral.id),
            child_id: Set(referral.child_id),
            started_at: Set(started_at),
            due_at: Set(due_at),
            child_seen_at: Set(None),
            authorised_at: Set(None),
            outcome: Set(None),
            allocated_team: Set(allocation.team),
            allocated_worker: Set(allocation.worker),
            recorded_at: Set(Utc::now()),
        }
        .insert(&txn)
        .await?;
        let entry = grant.entry().entity("Assessment", id);
        changed_view(&txn, ctx, referral.id, entry).await
    }
    .await;
    transition::settle(core, &grant, txn, result).await
}

pub struct UpdateAssessment {
    pub assessment_id: Uuid,
    pub child_seen_at: Option<DateTime<Utc>>,
    pub authorised_at: Option<DateTime<Utc>>,
    pub outcome: Option<String>,
    pub allocation: Allocation,
}

/// Records the child being seen, the authorisation and outcome, or a new allocation. An
/// authorised assessment is signed off: its authorisation and outcome are not changed again.
pub async fn update_assessment(
    core: &Core,
    ctx: &RequestCtx,
    input: UpdateAssessment,
) -> AppResult<ReferralView> {
    const ACTION: Action = Action::AssessmentUpdate;
    let grant = policy::allow(core, ctx, ACTION, CaseOperation::MashWork).await?;
    let row = assessment::Entity::find_by_id(input.assessment_id)
        .one(&core.db)
        .await?;
    let existing = found(core, &grant, row).await?;
    let seen = input
        .child_seen_at
        .map(|at| {
            checks::event_time_after(
                "childSeenAt",
                Some(at),
                existing.started_at,
                "the assessment started",
            )
        })
        .transpose()?;
    let outcome = input
        .outcome
        .as_deref()
        .map(|o| checked_code::<AssessmentOutcome>("outcome", o))
        .transpose()?;
    let authorised = input
        .authorised_at
        .map(|at| {
            checks::event_time_after(
                "authorisedAt",
                Some(at),
                existing.started_at,
                "the assessment started",
            )
        })
        .transpose()?;
    let allocation = input.allocation.checked()?;
    let txn = begin_write(&core.db).await?;
    let result = async {
        let current = transition::locked::<assessment::Entity>(&txn, existing.id).await?;
        if current.authorised_at.is_some() && (authorised.is_some() || outcome.is_some()) {
            return Err(AppError::conflict(
                "assessmentId",
                "the assessment is already authorised: its authorisation and outcome stand",
            ));
        }
        if authorised.is_some() && outcome.is_none() && current.outcome.is_none() {
            return Err(AppError::bad_input(
                "outcome",
                "an authorised assessment needs its outcome",
            ));
        }
        let mut active: assessment::ActiveModel = current.into();
        if let Some(seen) = seen {
            active.child_seen_at = Set(Some(seen));
        }
        if let Some(authorised) = authorised {
            active.authorised_at = Set(Some(authorised));
        }
        if let Some(outcome) = outcome {
            active.outcome = Set(Some(outcome));
        }
        if let Some(team) = allocation.team {
            active.allocated_team = Set(Some(team));
        }
        if let Some(worker) = allocation.worker {
            active.allocated_worker = Set(Some(worker));
        }
        active.update(&txn).await?;
        let entry = grant.entry().entity("Assessment", existing.id).detail(
            json!({ "outcome": outcome.map(|o| o.as_str()), "authorised": authorised.is_some() }),
        );
        changed_view(&txn, ctx, existing.referral_id, entry).await
    }
    .await;
    transition::settle(core, &grant, txn, result).await
}
