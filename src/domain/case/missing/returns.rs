//! A child's return, and the return home interview.
use super::*;
use crate::domain::audit::Action;
use crate::domain::common::code_lists::CodeList;
use crate::domain::policy;

/// The police record a return, once; the interview clock starts at the return.
pub async fn record_return(
    core: &Core,
    ctx: &RequestCtx,
    episode_id: Uuid,
    returned_at: DateTime<Utc>,
    return_notified_at: Option<DateTime<Utc>>,
) -> AppResult<EpisodeView> {
    const ACTION: Action = Action::MissingReturn;
    let grant = policy::allow(core, ctx, ACTION, CaseOperation::ReportMissing).await?;
    let episode = scoped_episode(core, &grant, episode_id).await?;
    event_time("returnedAt", Some(returned_at))?;
    if returned_at < episode.reported_missing_at {
        return Err(AppError::bad_input(
            "returnedAt",
            "cannot be before the child was reported missing",
        ));
    }
    if let Some(notified) = return_notified_at {
        event_time("returnNotifiedAt", Some(notified))?;
        if notified < returned_at {
            return Err(AppError::bad_input(
                "returnNotifiedAt",
                "cannot be before the return",
            ));
        }
    }
    let txn = begin_write(&core.db).await?;
    let result = async {
        let episode = transition::locked::<missing_episode::Entity>(&txn, episode.id).await?;
        if episode.returned_at.is_some() {
            return Err(AppError::conflict(
                "episodeId",
                "the return is already recorded",
            ));
        }
        let mut active: missing_episode::ActiveModel = episode.into();
        active.returned_at = Set(Some(returned_at));
        active.return_notified_at = Set(return_notified_at);
        let updated = active.update(&txn).await?;
        open_interview(&txn, &updated, returned_at).await?;
        let view = view(&txn, &grant, updated).await?;
        audit::record(&txn, ctx, entry(grant.action(), &view)).await?;
        Ok(view)
    }
    .await;
    transition::settle(core, &grant, txn, result).await
}

pub struct InterviewInput {
    pub outcome: String,
    pub offered_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub late_reason: Option<String>,
    pub not_offered_reason: Option<String>,
    /// Replaces an outcome already recorded.
    pub correction: bool,
}

/// The interview's outcome, recorded once: a CARRIED_OVER interview is still open and takes
/// its outcome later; any other recorded outcome is changed only as a `correction`.
pub const OPEN_OUTCOME: InterviewOutcome = InterviewOutcome::CarriedOver;

/// MASH staff record how a return home interview went.
pub async fn record_interview(
    core: &Core,
    ctx: &RequestCtx,
    episode_id: Uuid,
    input: InterviewInput,
) -> AppResult<EpisodeView> {
    const ACTION: Action = Action::MissingInterview;
    let grant = policy::allow(core, ctx, ACTION, CaseOperation::MashWork).await?;
    let found = missing_episode::Entity::find_by_id(episode_id)
        .one(&core.db)
        .await?;
    let episode = grant
        .on_refusal(core, found.ok_or(AppError::NotFound))
        .await?;
    let txn = begin_write(&core.db).await?;
    let result = async {
        // The episode is the interview's parent: its lock also queues this behind the return.
        let episode = transition::locked::<missing_episode::Entity>(&txn, episode.id).await?;
        let interview = interview_for(&txn, &episode).await?.ok_or_else(|| {
            AppError::conflict("episodeId", "the child's return is not recorded yet")
        })?;
        let recorded = match interview.outcome {
            None => false,
            Some(OPEN_OUTCOME) => input.outcome == OPEN_OUTCOME.as_str(),
            Some(_) => true,
        };
        let corrected =
            transition::correcting(recorded, input.correction, "episodeId", "the interview")?;
        let active = interview_change(&episode, interview, &input)?;
        active.update(&txn).await?;
        let view = view(&txn, &grant, episode).await?;
        let detail = json!({ "outcome": input.outcome, "correction": corrected });
        audit::record(&txn, ctx, entry(grant.action(), &view).detail(detail)).await?;
        Ok(view)
    }
    .await;
    transition::settle(core, &grant, txn, result).await
}

/// The interview as `input` records it: every outcome field is set afresh, so a corrected
/// interview keeps nothing of the outcome it replaced.
pub(super) fn interview_change(
    episode: &missing_episode::Model,
    interview: rhi::Model,
    input: &InterviewInput,
) -> AppResult<rhi::ActiveModel> {
    let returned = episode.returned_at.unwrap_or(episode.reported_missing_at);
    let mut active: rhi::ActiveModel = interview.clone().into();
    active.completed_at = Set(None);
    active.late_reason = Set(None);
    active.not_offered_reason = Set(None);
    if let Some(offered) = input.offered_at {
        event_time("offeredAt", Some(offered))?;
        if offered < returned {
            return Err(AppError::bad_input(
                "offeredAt",
                "cannot be before the child's return",
            ));
        }
        active.offered_at = Set(Some(offered));
    }
    let outcome = InterviewOutcome::parse(&input.outcome)
        .ok_or_else(|| CodeList::ReturnInterviewOutcome.refusal("outcome", ""))?;
    match outcome {
        InterviewOutcome::Completed => {
            let completed = input.completed_at.ok_or_else(|| {
                AppError::bad_input("completedAt", "required for a completed interview")
            })?;
            event_time("completedAt", Some(completed))?;
            if completed < returned {
                return Err(AppError::bad_input(
                    "completedAt",
                    "cannot be before the child's return",
                ));
            }
            let late = completed > interview.due_at;
            let reason = input.late_reason.clone().filter(|_| late);
            if late && !reason.as_deref().is_some_and(|r| LATE_REASONS.contains(&r)) {
                return Err(AppError::bad_input(
                    "lateReason",
                    format!(
                        "an interview out of timescale needs one of {}",
                        LATE_REASONS.join(", ")
                    ),
                ));
            }
            active.completed_at = Set(Some(completed));
            active.late_reason = Set(reason);
        }
        InterviewOutcome::NotOffered => {
            let reason = input
                .not_offered_reason
                .clone()
                .filter(|r| NOT_OFFERED_REASONS.contains(&r.as_str()));
            let reason = reason.ok_or_else(|| {
                AppError::bad_input(
                    "notOfferedReason",
                    format!("must be one of {}", NOT_OFFERED_REASONS.join(", ")),
                )
            })?;
            active.not_offered_reason = Set(Some(reason));
        }
        InterviewOutcome::Declined | InterviewOutcome::CarriedOver => {}
    }
    active.outcome = Set(Some(outcome));
    Ok(active)
}
