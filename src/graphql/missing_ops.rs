//! Missing children: police reports (single and batched), returns, return home interviews.
use async_graphql::{Context, Description, InputObject, Object, Result, SimpleObject, ID};
use chrono::{DateTime, Utc};
use entity::return_home_interview as rhi;

use super::case_inputs::ChildInput;
use super::case_types::ChildDetails;
use super::types::{connection, Connection};
use super::{env, ids};
use crate::domain::case::children::ChildDetails as Details;
use crate::domain::case::missing::{self, EpisodeInput, EpisodeView, InterviewInput, Overlap};
use crate::domain::common::page::PageRequest;
use crate::error::AppError;

/// A missing episode as the police report it.
#[derive(InputObject)]
pub struct MissingEpisodeInput {
    /// The child, identified as for a contact (matched to the MASH's record the same way).
    pub child: ChildInput,
    /// When the child was reported missing.
    pub reported_missing_at: DateTime<Utc>,
    /// Police risk grade: HIGH, MEDIUM, LOW or NO_APPARENT_RISK (checked per item).
    pub risk_grade: String,
    /// When the local authority was notified.
    pub la_notified_at: Option<DateTime<Utc>>,
    /// When the child returned (opens the return home interview, due 72 hours later).
    pub returned_at: Option<DateTime<Utc>>,
    /// When the return was notified to the local authority.
    pub return_notified_at: Option<DateTime<Utc>>,
    /// Retries with the same key return the first episode.
    pub idempotency_key: Option<String>,
}

impl From<MissingEpisodeInput> for EpisodeInput {
    fn from(i: MissingEpisodeInput) -> Self {
        EpisodeInput {
            child: i.child.into(),
            reported_missing_at: i.reported_missing_at,
            risk_grade: i.risk_grade.trim().to_uppercase(),
            la_notified_at: i.la_notified_at,
            returned_at: i.returned_at,
            return_notified_at: i.return_notified_at,
            idempotency_key: i.idempotency_key,
        }
    }
}

/// How a return home interview went.
#[derive(InputObject)]
pub struct ReturnHomeInterviewInput {
    /// The missing episode whose interview this is.
    pub episode_id: ID,
    /// COMPLETED, DECLINED, NOT_OFFERED or CARRIED_OVER.
    pub outcome: String,
    /// When the interview was offered (never before the return).
    pub offered_at: Option<DateTime<Utc>>,
    /// Required for COMPLETED; never before the return.
    pub completed_at: Option<DateTime<Utc>>,
    /// Out of timescale: POLICE_NOTIFICATION_DELAY, EARLIEST_CONVENIENCE, NON_ENGAGEMENT, MISSING_AGAIN.
    pub late_reason: Option<String>,
    /// NOT_OFFERED: MISSING_AGAIN_WITHIN_72_HOURS, TRIAGED_NO_APPARENT_RISK, IN_CUSTODY, WHEREABOUTS_UNKNOWN.
    pub not_offered_reason: Option<String>,
    /// Replace an outcome already recorded (audited as a correction); without it, recording
    /// the interview again is CONFLICT, except a CARRIED_OVER interview taking its outcome.
    #[graphql(default)]
    pub correction: bool,
}

/// The interview owed to a child back from a missing episode.
#[derive(Description)]
pub struct ReturnHomeInterview(rhi::Model);

#[Object(use_type_description)]
impl ReturnHomeInterview {
    /// Opaque global id.
    async fn id(&self) -> ID {
        ids::encode("ReturnHomeInterview", self.0.id)
    }
    /// 72 hours after the return.
    async fn due_at(&self) -> DateTime<Utc> {
        self.0.due_at
    }
    /// Still open after its due time.
    async fn overdue(&self) -> bool {
        self.0.outcome.is_none() && self.0.due_at < Utc::now()
    }
    /// When the interview was offered.
    async fn offered_at(&self) -> Option<DateTime<Utc>> {
        self.0.offered_at
    }
    /// COMPLETED, DECLINED, NOT_OFFERED or CARRIED_OVER; null while open.
    async fn outcome(&self) -> Option<&str> {
        self.0.outcome.map(|o| o.as_str())
    }
    /// When the interview was completed (COMPLETED only).
    async fn completed_at(&self) -> Option<DateTime<Utc>> {
        self.0.completed_at
    }
    /// Completed by its due time (null unless completed).
    async fn in_timescale(&self) -> Option<bool> {
        self.0.completed_at.map(|c| c <= self.0.due_at)
    }
    /// Why a completed interview was out of timescale: POLICE_NOTIFICATION_DELAY,
    /// EARLIEST_CONVENIENCE, NON_ENGAGEMENT or MISSING_AGAIN.
    async fn late_reason(&self) -> Option<&str> {
        self.0.late_reason.as_deref()
    }
    /// Why it was not offered: MISSING_AGAIN_WITHIN_72_HOURS, TRIAGED_NO_APPARENT_RISK,
    /// IN_CUSTODY or WHEREABOUTS_UNKNOWN.
    async fn not_offered_reason(&self) -> Option<&str> {
        self.0.not_offered_reason.as_deref()
    }
}

fn hours_between(from: DateTime<Utc>, to: Option<DateTime<Utc>>) -> Option<f64> {
    to.map(|t| (t - from).num_seconds() as f64 / 3600.0)
}

/// A child reported missing, and their return.
#[derive(Description)]
pub struct MissingEpisode(pub EpisodeView);

#[Object(use_type_description)]
impl MissingEpisode {
    /// Opaque global id.
    pub(crate) async fn id(&self) -> ID {
        ids::encode("MissingEpisode", self.0.episode.id)
    }
    /// The child as the police reported them.
    async fn child_as_reported(&self) -> ChildDetails {
        let details: Details =
            serde_json::from_str(&self.0.episode.child_as_reported).unwrap_or_default();
        details.into()
    }
    /// MASH staff only: the MASH's child record it was matched to.
    async fn child_id(&self) -> Option<ID> {
        self.0
            .recent_episodes
            .map(|_| ids::encode("Child", self.0.episode.child_id))
    }
    /// When the child was reported missing.
    async fn reported_missing_at(&self) -> DateTime<Utc> {
        self.0.episode.reported_missing_at
    }
    /// Police risk grade: HIGH, MEDIUM, LOW or NO_APPARENT_RISK.
    async fn risk_grade(&self) -> &str {
        self.0.episode.risk_grade.as_str()
    }
    /// When the local authority was notified.
    async fn la_notified_at(&self) -> Option<DateTime<Utc>> {
        self.0.episode.la_notified_at
    }
    /// Hours from the missing report to the local authority being notified.
    async fn notification_delay_hours(&self) -> Option<f64> {
        hours_between(
            self.0.episode.reported_missing_at,
            self.0.episode.la_notified_at,
        )
    }
    /// When the child returned (null until a return is recorded).
    async fn returned_at(&self) -> Option<DateTime<Utc>> {
        self.0.episode.returned_at
    }
    /// When the return was notified to the local authority.
    async fn return_notified_at(&self) -> Option<DateTime<Utc>> {
        self.0.episode.return_notified_at
    }
    /// Hours from the return to its notification.
    async fn return_notification_delay_hours(&self) -> Option<f64> {
        self.0
            .episode
            .returned_at
            .and_then(|r| hours_between(r, self.0.episode.return_notified_at))
    }
    /// The return home interview (once the return is recorded).
    async fn return_home_interview(&self) -> Option<ReturnHomeInterview> {
        self.0.interview.clone().map(ReturnHomeInterview)
    }
    /// MASH staff only: the child's episodes reported in the 30 days up to this one.
    async fn episodes_in_last_30_days(&self) -> Option<u64> {
        self.0.recent_episodes
    }
    /// MASH staff only: missing 3 or more times in 30 days.
    async fn repeatedly_missing(&self) -> Option<bool> {
        self.0
            .recent_episodes
            .map(|n| n >= missing::REPEAT_THRESHOLD)
    }
}

/// Another child missing at the same time as the asked-for child: a possible link
/// (exploitation, peer association) for the MASH to look into.
#[derive(Description)]
pub struct MissingOverlap(Overlap);

#[Object(use_type_description)]
impl MissingOverlap {
    /// The other child's MASH record id.
    async fn child_id(&self) -> ID {
        ids::encode("Child", self.0.child.id)
    }
    /// The other child's identity details (the MASH's record).
    async fn child(&self) -> ChildDetails {
        ChildDetails::from(&self.0.child)
    }
    /// The other child's episode.
    async fn episode(&self) -> MissingEpisode {
        MissingEpisode(self.0.episode.clone())
    }
    /// The asked-for child's episode it overlapped.
    async fn overlapped_episode(&self) -> MissingEpisode {
        MissingEpisode(self.0.overlapped.clone())
    }
    /// When both children were first missing at once (the later of the two reports).
    async fn overlap_starts_at(&self) -> DateTime<Utc> {
        self.0.starts_at
    }
    /// When the first of the two returned; null while both are still missing.
    async fn overlap_ends_at(&self) -> Option<DateTime<Utc>> {
        self.0.ends_at
    }
    /// Hours both children were missing at once (up to now while both still are).
    async fn overlap_hours(&self) -> f64 {
        self.0.hours
    }
}

/// Why one item of a batch was refused.
#[derive(SimpleObject)]
pub struct ItemError {
    /// The error code, as `extensions.code` names it, e.g. `BAD_USER_INPUT` or `CONFLICT`.
    pub code: String,
    /// The offending input, e.g. `episodes[3].returnedAt`.
    pub field: Option<String>,
    /// What is wrong, in plain words.
    pub message: String,
}

/// The result of one item of a batch: its episode, or its error.
#[derive(SimpleObject)]
pub struct MissingEpisodeResult {
    /// The item's position in the batch.
    pub index: i32,
    /// The episode, if the item succeeded.
    pub episode: Option<MissingEpisode>,
    /// Why the item was refused, if it was.
    pub error: Option<ItemError>,
}

#[derive(Default)]
pub struct MissingQuery;

#[Object]
impl MissingQuery {
    /// One missing episode: MASH staff any; the police their own.
    async fn missing_episode(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The episode's global id.")] id: ID,
    ) -> Result<MissingEpisode> {
        let (core, request) = env(ctx);
        let id = ids::target("MissingEpisode", &id);
        Ok(MissingEpisode(
            missing::get_episode(core, request, id).await?,
        ))
    }

    /// Missing episodes: all for MASH staff (optionally one child's); the police their own.
    async fn missing_episodes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this child's episodes.")] child_id: Option<ID>,
        #[graphql(desc = "Page size (at most 100).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge already seen.")] after: Option<String>,
    ) -> Result<Connection<MissingEpisode>> {
        let (core, request) = env(ctx);
        let page = PageRequest::parse(first, after.as_deref(), core.config.max_page_size)?;
        let child = child_id.map(|id| ids::target("Child", &id));
        let page = missing::list(core, request, child, page).await?;
        Ok(connection(page, |v| v.episode.id, MissingEpisode))
    }

    /// MASH staff: other children missing at the same time as this child (their episodes
    /// overlapped one of this child's, a still-missing child counting as missing until
    /// now), ordered by the start of the overlap. Audited with every child named.
    async fn missing_overlaps(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The child whose episodes to compare with other children's.")]
        child_id: ID,
    ) -> Result<Vec<MissingOverlap>> {
        let (core, request) = env(ctx);
        let child = ids::target("Child", &child_id);
        Ok(missing::overlaps(core, request, child)
            .await?
            .into_iter()
            .map(MissingOverlap)
            .collect())
    }
}

#[derive(Default)]
pub struct MissingMutation;

#[Object]
impl MissingMutation {
    /// Report one missing episode (a police agency's MASH desk, or a client with `missing:report`).
    async fn report_missing_episode(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The episode as the police report it.")] input: MissingEpisodeInput,
    ) -> Result<MissingEpisode> {
        let (core, request) = env(ctx);
        Ok(MissingEpisode(
            missing::report(core, request, input.into()).await?,
        ))
    }

    /// Report up to 500 episodes; each item succeeds or fails on its own, with its own result.
    async fn report_missing_episodes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The episodes, at most 500: each succeeds or fails on its own.")]
        episodes: Vec<MissingEpisodeInput>,
    ) -> Result<Vec<MissingEpisodeResult>> {
        let (core, request) = env(ctx);
        let inputs = episodes.into_iter().map(Into::into).collect();
        let results = missing::report_batch(core, request, inputs).await?;
        Ok(results
            .into_iter()
            .enumerate()
            .map(|(index, result)| match result {
                Ok(view) => MissingEpisodeResult {
                    index: index as i32,
                    episode: Some(MissingEpisode(view)),
                    error: None,
                },
                Err(err) => {
                    let field = match &err {
                        AppError::BadUserInput { field, .. } | AppError::Conflict { field, .. } => {
                            Some(field.clone())
                        }
                        _ => None,
                    };
                    let error = ItemError {
                        code: err.code().to_string(),
                        field,
                        message: err.message(),
                    };
                    MissingEpisodeResult {
                        index: index as i32,
                        episode: None,
                        error: Some(error),
                    }
                }
            })
            .collect())
    }

    /// Record a child's return (the reporting police); the interview falls due 72 hours later.
    async fn record_return(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The missing episode the child returned from.")] episode_id: ID,
        #[graphql(desc = "When the child returned (never before the missing report).")]
        returned_at: DateTime<Utc>,
        #[graphql(
            desc = "When the return was notified to the local authority (not before the return)."
        )]
        return_notified_at: Option<DateTime<Utc>>,
    ) -> Result<MissingEpisode> {
        let (core, request) = env(ctx);
        let id = ids::target("MissingEpisode", &episode_id);
        Ok(MissingEpisode(
            missing::record_return(core, request, id, returned_at, return_notified_at).await?,
        ))
    }

    /// Record how the return home interview went (MASH staff).
    async fn record_return_home_interview(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The interview's outcome and times.")] input: ReturnHomeInterviewInput,
    ) -> Result<MissingEpisode> {
        let (core, request) = env(ctx);
        let id = ids::target("MissingEpisode", &input.episode_id);
        let interview = InterviewInput {
            outcome: input.outcome.trim().to_uppercase(),
            offered_at: input.offered_at,
            completed_at: input.completed_at,
            late_reason: input.late_reason,
            not_offered_reason: input.not_offered_reason,
            correction: input.correction,
        };
        Ok(MissingEpisode(
            missing::record_interview(core, request, id, interview).await?,
        ))
    }
}
