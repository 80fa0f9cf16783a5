//! The outcome chain (referral, assessment, strategy discussion, section 47 enquiry, initial
//! child protection conference) and early help episodes. Thin: parse, call a service, present.
use async_graphql::{Context, Description, InputObject, Object, Result, SimpleObject, ID};
use chrono::{DateTime, Utc};
use entity::{assessment, child_protection_conference as conference, section47_enquiry};

use super::case_types::ChildDetails;
use super::codes::{AssessmentOutcome, ReferralOutcome, ScreeningOutcome, Section47Outcome};
use super::types::{connection, Connection};
use super::{env, ids};
use crate::domain::common::page::PageRequest;
use crate::domain::outcomes::early_help::{self, EpisodeUpdate, EpisodeView};
use crate::domain::outcomes::{
    self, Allocation, RecordConference, RecordStrategyDiscussion, ReferralView, StartAssessment,
    StrategyView, UpdateAssessment,
};

/// Still open after its due time.
fn overdue(due_at: DateTime<Utc>, done: bool) -> bool {
    !done && due_at < Utc::now()
}

fn allocation(team: Option<String>, worker: Option<String>) -> Allocation {
    Allocation { team, worker }
}

/// A referral to children's social care, made by a contact decision, with what followed.
#[derive(Description)]
pub struct Referral(pub ReferralView);

#[Object(use_type_description)]
impl Referral {
    /// Opaque global id.
    pub(crate) async fn id(&self) -> ID {
        ids::encode("Referral", self.0.referral.id)
    }
    /// The contact whose decision made the referral.
    async fn contact_id(&self) -> ID {
        ids::encode("Contact", self.0.referral.contact_id)
    }
    /// The MASH's child record.
    async fn child_id(&self) -> ID {
        ids::encode("Child", self.0.referral.child_id)
    }
    /// The referral source code (the contact's source, e.g. 6 for police).
    async fn source_code(&self) -> &str {
        &self.0.referral.source_code
    }
    /// When the referral was made (the decision's time).
    async fn referred_at(&self) -> DateTime<Utc> {
        self.0.referral.referred_at
    }
    /// How the referral ended (null until recorded).
    async fn outcome(&self) -> Option<ReferralOutcome> {
        self.0.referral.outcome.map(Into::into)
    }
    /// The team the referral is allocated to.
    async fn allocated_team(&self) -> Option<&str> {
        self.0.referral.allocated_team.as_deref()
    }
    /// The worker the referral is allocated to.
    async fn allocated_worker(&self) -> Option<&str> {
        self.0.referral.allocated_worker.as_deref()
    }
    /// Assessments of this referral, oldest first.
    async fn assessments(&self) -> Vec<Assessment> {
        self.0.assessments.iter().cloned().map(Assessment).collect()
    }
    /// Strategy discussions of this referral, oldest first.
    async fn strategy_discussions(&self) -> Vec<StrategyDiscussion> {
        self.0
            .strategy_discussions
            .iter()
            .cloned()
            .map(StrategyDiscussion)
            .collect()
    }
}

/// A children and families assessment, due 45 working days after the referral.
#[derive(Description)]
pub struct Assessment(pub assessment::Model);

#[Object(use_type_description)]
impl Assessment {
    /// Opaque global id.
    pub(crate) async fn id(&self) -> ID {
        ids::encode("Assessment", self.0.id)
    }
    /// When the assessment started.
    async fn started_at(&self) -> DateTime<Utc> {
        self.0.started_at
    }
    /// End (23:59:59 UK time) of the 45th working day after the referral.
    async fn due_at(&self) -> DateTime<Utc> {
        self.0.due_at
    }
    /// Not yet authorised and past its due time.
    async fn overdue(&self) -> bool {
        overdue(self.0.due_at, self.0.authorised_at.is_some())
    }
    /// When the child was seen during the assessment.
    async fn child_seen_at(&self) -> Option<DateTime<Utc>> {
        self.0.child_seen_at
    }
    /// When a manager authorised the completed assessment.
    async fn authorised_at(&self) -> Option<DateTime<Utc>> {
        self.0.authorised_at
    }
    /// Authorised by its due time (null until authorised).
    async fn within_timescale(&self) -> Option<bool> {
        self.0.authorised_at.map(|a| a <= self.0.due_at)
    }
    /// How the assessment ended (null until recorded).
    async fn outcome(&self) -> Option<AssessmentOutcome> {
        self.0.outcome.map(Into::into)
    }
    /// The team the assessment is allocated to.
    async fn allocated_team(&self) -> Option<&str> {
        self.0.allocated_team.as_deref()
    }
    /// The worker the assessment is allocated to.
    async fn allocated_worker(&self) -> Option<&str> {
        self.0.allocated_worker.as_deref()
    }
}

/// An agency present at a strategy discussion.
#[derive(SimpleObject)]
pub struct AgencyPresent {
    /// The agency's global id.
    pub id: ID,
    /// The agency's name.
    pub name: String,
}

/// A strategy discussion, and the section 47 enquiry it started, if any.
#[derive(Description)]
pub struct StrategyDiscussion(StrategyView);

#[Object(use_type_description)]
impl StrategyDiscussion {
    /// Opaque global id.
    async fn id(&self) -> ID {
        ids::encode("StrategyDiscussion", self.0.discussion.id)
    }
    /// The assessment it arose from; null when held at the front door.
    async fn assessment_id(&self) -> Option<ID> {
        self.0
            .discussion
            .assessment_id
            .map(|id| ids::encode("Assessment", id))
    }
    /// When the discussion was held.
    async fn held_at(&self) -> DateTime<Utc> {
        self.0.discussion.held_at
    }
    /// The agencies present.
    async fn agencies_present(&self) -> Vec<AgencyPresent> {
        self.0
            .agencies_present
            .iter()
            .map(|(id, name)| AgencyPresent {
                id: ids::encode("Agency", *id),
                name: name.clone(),
            })
            .collect()
    }
    /// Whether it started a section 47 enquiry.
    async fn section47_started(&self) -> bool {
        self.0.discussion.section47_started
    }
    /// The allocated team, as recorded with the discussion.
    async fn allocated_team(&self) -> Option<&str> {
        self.0.discussion.allocated_team.as_deref()
    }
    /// The allocated worker, as recorded with the discussion.
    async fn allocated_worker(&self) -> Option<&str> {
        self.0.discussion.allocated_worker.as_deref()
    }
    /// The section 47 enquiry it started.
    async fn section47(&self) -> Option<Section47Enquiry> {
        self.0
            .section47
            .clone()
            .map(|s| Section47Enquiry(s, self.0.conference.clone()))
    }
}

/// A section 47 enquiry and the initial child protection conference it led to.
#[derive(Description)]
pub struct Section47Enquiry(section47_enquiry::Model, Option<conference::Model>);

#[Object(use_type_description)]
impl Section47Enquiry {
    /// Opaque global id.
    async fn id(&self) -> ID {
        ids::encode("Section47Enquiry", self.0.id)
    }
    /// The strategy discussion's time.
    async fn started_at(&self) -> DateTime<Utc> {
        self.0.started_at
    }
    /// How the enquiry ended (null until recorded).
    async fn outcome(&self) -> Option<Section47Outcome> {
        self.0.outcome.map(Into::into)
    }
    /// When the enquiry concluded.
    async fn completed_at(&self) -> Option<DateTime<Utc>> {
        self.0.completed_at
    }
    /// When the conference is due: end of the 15th working day after the strategy discussion.
    async fn conference_due_at(&self) -> DateTime<Utc> {
        self.0.icpc_due_at
    }
    /// A conference is (or may be) needed, has not been held, and is past due.
    async fn conference_overdue(&self) -> bool {
        let needed = matches!(
            self.0.outcome,
            None | Some(entity::codes::Section47Outcome::InitialChildProtectionConference)
        );
        needed && overdue(self.0.icpc_due_at, self.1.is_some())
    }
    /// The team the enquiry is allocated to.
    async fn allocated_team(&self) -> Option<&str> {
        self.0.allocated_team.as_deref()
    }
    /// The worker the enquiry is allocated to.
    async fn allocated_worker(&self) -> Option<&str> {
        self.0.allocated_worker.as_deref()
    }
    /// The initial child protection conference, once it is recorded.
    async fn conference(&self) -> Option<ChildProtectionConference> {
        self.1.clone().map(ChildProtectionConference)
    }
}

/// An initial child protection conference.
#[derive(Description)]
pub struct ChildProtectionConference(conference::Model);

#[Object(use_type_description)]
impl ChildProtectionConference {
    /// Opaque global id.
    async fn id(&self) -> ID {
        ids::encode("ChildProtectionConference", self.0.id)
    }
    /// When the conference was held.
    async fn held_at(&self) -> DateTime<Utc> {
        self.0.held_at
    }
    /// End of the 15th working day after the strategy discussion.
    async fn due_at(&self) -> DateTime<Utc> {
        self.0.due_at
    }
    /// Held by its due time.
    async fn within_timescale(&self) -> bool {
        self.0.held_at <= self.0.due_at
    }
    /// The conference made a child protection plan.
    async fn plan_made(&self) -> bool {
        self.0.plan_made
    }
    /// The allocated team, as recorded with the conference.
    async fn allocated_team(&self) -> Option<&str> {
        self.0.allocated_team.as_deref()
    }
    /// The allocated worker, as recorded with the conference.
    async fn allocated_worker(&self) -> Option<&str> {
        self.0.allocated_worker.as_deref()
    }
}

/// An early help episode: a step-down to an early help agency.
#[derive(Description)]
pub struct EarlyHelpEpisode(pub EpisodeView);

#[Object(use_type_description)]
impl EarlyHelpEpisode {
    /// Opaque global id.
    pub(crate) async fn id(&self) -> ID {
        ids::encode("EarlyHelpEpisode", self.0.episode.id)
    }
    /// The child, as the MASH knows them (the early help agency needs to know whom to help).
    async fn child(&self) -> Option<ChildDetails> {
        self.0.child.as_ref().map(ChildDetails::from)
    }
    /// The contact whose child was stepped down.
    async fn contact_id(&self) -> Option<ID> {
        self.0
            .episode
            .contact_id
            .map(|id| ids::encode("Contact", id))
    }
    /// The early help agency asked to help.
    async fn agency_id(&self) -> ID {
        ids::encode("Agency", self.0.episode.agency_id)
    }
    /// When the MASH asked the agency to help.
    async fn requested_at(&self) -> DateTime<Utc> {
        self.0.episode.requested_at
    }
    /// When the early help agency screened the request.
    async fn screened_at(&self) -> Option<DateTime<Utc>> {
        self.0.episode.screened_at
    }
    /// What the screening decided (null until recorded).
    async fn screening_outcome(&self) -> Option<ScreeningOutcome> {
        self.0.episode.screening_outcome.map(Into::into)
    }
    /// When the early help assessment started.
    async fn assessment_started_at(&self) -> Option<DateTime<Utc>> {
        self.0.episode.assessment_started_at
    }
    /// When the early help assessment was completed.
    async fn assessment_completed_at(&self) -> Option<DateTime<Utc>> {
        self.0.episode.assessment_completed_at
    }
    /// The organisation completing the early help assessment.
    async fn organisation(&self) -> Option<&str> {
        self.0.episode.organisation.as_deref()
    }
    /// Days from the request to the screening (null until screened).
    async fn days_to_screening(&self) -> Option<f64> {
        let e = &self.0.episode;
        e.screened_at
            .map(|s| (s - e.requested_at).num_minutes() as f64 / (24.0 * 60.0))
    }
}

/// A referral's outcome and allocation; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateReferralInput {
    /// The referral to update.
    pub referral_id: ID,
    /// How the referral ended.
    pub outcome: Option<ReferralOutcome>,
    /// The team the referral is allocated to.
    pub allocated_team: Option<String>,
    /// The worker the referral is allocated to.
    pub allocated_worker: Option<String>,
    /// Replace an outcome already recorded (audited as a correction); without it, recording
    /// an outcome again is CONFLICT.
    #[graphql(default)]
    pub correction: bool,
}

/// Start an assessment of a referral.
#[derive(InputObject)]
pub struct StartAssessmentInput {
    /// The referral to assess.
    pub referral_id: ID,
    /// When it started (defaults to now; never before the referral).
    pub started_at: Option<DateTime<Utc>>,
    /// The team the assessment is allocated to.
    pub allocated_team: Option<String>,
    /// The worker the assessment is allocated to.
    pub allocated_worker: Option<String>,
}

/// Progress on an assessment; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateAssessmentInput {
    /// The assessment to update.
    pub assessment_id: ID,
    /// When the child was seen (never before the assessment started).
    pub child_seen_at: Option<DateTime<Utc>>,
    /// The manager's authorisation of the completed assessment (needs the outcome).
    pub authorised_at: Option<DateTime<Utc>>,
    /// How the assessment ended (it stands once the assessment is authorised).
    pub outcome: Option<AssessmentOutcome>,
    /// The team the assessment is allocated to.
    pub allocated_team: Option<String>,
    /// The worker the assessment is allocated to.
    pub allocated_worker: Option<String>,
}

/// A strategy discussion held about a referred child.
#[derive(InputObject)]
pub struct RecordStrategyDiscussionInput {
    /// The referral the discussion is about.
    pub referral_id: ID,
    /// The assessment it arose from; omit when held at the front door.
    pub assessment_id: Option<ID>,
    /// When it was held (defaults to now).
    pub held_at: Option<DateTime<Utc>>,
    /// The agencies present (at least one).
    pub agencies_present: Vec<ID>,
    /// It started a section 47 enquiry (which opens with it).
    pub section47_started: bool,
    /// The allocated team (recorded on the section 47 enquiry it starts too).
    pub allocated_team: Option<String>,
    /// The allocated worker (recorded on the section 47 enquiry it starts too).
    pub allocated_worker: Option<String>,
}

/// The outcome of a section 47 enquiry.
#[derive(InputObject)]
pub struct RecordSection47OutcomeInput {
    /// The section 47 enquiry.
    pub section47_id: ID,
    /// How the enquiry ended.
    pub outcome: Section47Outcome,
    /// When the enquiry concluded (defaults to now).
    pub completed_at: Option<DateTime<Utc>>,
    /// Replace an outcome already recorded (audited as a correction); without it, recording
    /// an outcome again is CONFLICT. After the conference, the outcome is not changed at all.
    #[graphql(default)]
    pub correction: bool,
}

/// An initial child protection conference.
#[derive(InputObject)]
pub struct RecordConferenceInput {
    /// The section 47 enquiry that led to the conference.
    pub section47_id: ID,
    /// When it was held (defaults to now).
    pub held_at: Option<DateTime<Utc>>,
    /// It made a child protection plan.
    pub plan_made: bool,
    /// The allocated team, as recorded with the conference.
    pub allocated_team: Option<String>,
    /// The allocated worker, as recorded with the conference.
    pub allocated_worker: Option<String>,
}

/// Ask an early help agency to help the child of a contact (a step-down).
#[derive(InputObject)]
pub struct RequestEarlyHelpInput {
    /// The contact whose child is stepped down.
    pub contact_id: ID,
    /// An early help agency.
    pub agency_id: ID,
    /// When the request was made (defaults to now).
    pub requested_at: Option<DateTime<Utc>>,
}

/// Screening and assessment progress on an early help episode; omitted fields stay.
#[derive(InputObject)]
pub struct UpdateEarlyHelpEpisodeInput {
    /// The early help episode to update.
    pub episode_id: ID,
    /// When the early help agency screened the request.
    pub screened_at: Option<DateTime<Utc>>,
    /// Needs the screening date (given now or before).
    pub screening_outcome: Option<ScreeningOutcome>,
    /// When the early help assessment started.
    pub assessment_started_at: Option<DateTime<Utc>>,
    /// When the early help assessment was completed.
    pub assessment_completed_at: Option<DateTime<Utc>>,
    /// The organisation completing the assessment.
    pub organisation: Option<String>,
    /// Replace dates or an outcome already recorded (audited as a correction); without it,
    /// recording one again is CONFLICT.
    #[graphql(default)]
    pub correction: bool,
}

#[derive(Default)]
pub struct OutcomeQuery;

#[Object]
impl OutcomeQuery {
    /// One referral with its whole chain (MASH staff).
    async fn referral(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The referral's global id.")] id: ID,
    ) -> Result<Referral> {
        let (core, request) = env(ctx);
        let view = outcomes::get_referral(core, request, ids::target("Referral", &id)).await?;
        Ok(Referral(view))
    }

    /// One assessment (MASH staff).
    async fn assessment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The assessment's global id.")] id: ID,
    ) -> Result<Assessment> {
        let (core, request) = env(ctx);
        let id = ids::target("Assessment", &id);
        Ok(Assessment(
            outcomes::get_assessment(core, request, id).await?,
        ))
    }

    /// One early help episode: MASH staff any; an early help desk one sent to it.
    async fn early_help_episode(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The episode's global id.")] id: ID,
    ) -> Result<EarlyHelpEpisode> {
        let (core, request) = env(ctx);
        let id = ids::target("EarlyHelpEpisode", &id);
        Ok(EarlyHelpEpisode(early_help::get(core, request, id).await?))
    }

    /// Referrals, newest first, optionally one child's or one contact's (MASH staff).
    async fn referrals(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this child's referrals.")] child_id: Option<ID>,
        #[graphql(desc = "Only referrals made by this contact's decision.")] contact_id: Option<ID>,
        #[graphql(desc = "Page size (at most 100).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge already seen.")] after: Option<String>,
    ) -> Result<Connection<Referral>> {
        let (core, request) = env(ctx);
        let page = PageRequest::parse(first, after.as_deref(), core.config.max_page_size)?;
        let child = child_id.map(|id| ids::target("Child", &id));
        let contact = contact_id.map(|id| ids::target("Contact", &id));
        let page = outcomes::list_referrals(core, request, child, contact, page).await?;
        Ok(connection(page, |v| v.referral.id, Referral))
    }

    /// Early help episodes, newest first: MASH staff all; an early help desk those sent to it.
    async fn early_help_episodes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size (at most 100).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge already seen.")] after: Option<String>,
    ) -> Result<Connection<EarlyHelpEpisode>> {
        let (core, request) = env(ctx);
        let page = PageRequest::parse(first, after.as_deref(), core.config.max_page_size)?;
        let page = early_help::list(core, request, page).await?;
        Ok(connection(page, |v| v.episode.id, EarlyHelpEpisode))
    }
}

#[derive(Default)]
pub struct OutcomeMutation;

#[Object]
impl OutcomeMutation {
    /// A referral's outcome and allocated team and worker (MASH staff).
    async fn update_referral(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The referral and what to change.")] input: UpdateReferralInput,
    ) -> Result<Referral> {
        let (core, request) = env(ctx);
        let view = outcomes::update_referral(
            core,
            request,
            ids::target("Referral", &input.referral_id),
            input.outcome.map(|o| o.code()),
            allocation(input.allocated_team, input.allocated_worker),
            input.correction,
        )
        .await?;
        Ok(Referral(view))
    }

    /// Start an assessment of a referral; due 45 working days after the referral.
    async fn start_assessment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The referral to assess, and the assessment's start.")]
        input: StartAssessmentInput,
    ) -> Result<Referral> {
        let (core, request) = env(ctx);
        let start = StartAssessment {
            referral_id: ids::target("Referral", &input.referral_id),
            started_at: input.started_at,
            allocation: allocation(input.allocated_team, input.allocated_worker),
        };
        Ok(Referral(
            outcomes::start_assessment(core, request, start).await?,
        ))
    }

    /// Record the child being seen, the authorisation and outcome, or a new allocation.
    async fn update_assessment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The assessment and what to record.")] input: UpdateAssessmentInput,
    ) -> Result<Referral> {
        let (core, request) = env(ctx);
        let update = UpdateAssessment {
            assessment_id: ids::target("Assessment", &input.assessment_id),
            child_seen_at: input.child_seen_at,
            authorised_at: input.authorised_at,
            outcome: input.outcome.map(|o| o.code().to_string()),
            allocation: allocation(input.allocated_team, input.allocated_worker),
        };
        Ok(Referral(
            outcomes::update_assessment(core, request, update).await?,
        ))
    }

    /// Record a strategy discussion; one that starts a section 47 enquiry opens it.
    async fn record_strategy_discussion(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The discussion.")] input: RecordStrategyDiscussionInput,
    ) -> Result<Referral> {
        let (core, request) = env(ctx);
        let discussion = RecordStrategyDiscussion {
            referral_id: ids::target("Referral", &input.referral_id),
            assessment_id: input.assessment_id.map(|id| ids::target("Assessment", &id)),
            held_at: input.held_at,
            agencies_present: input
                .agencies_present
                .iter()
                .map(|id| ids::decode("Agency", id))
                .collect(),
            section47_started: input.section47_started,
            allocation: allocation(input.allocated_team, input.allocated_worker),
        };
        Ok(Referral(
            outcomes::record_strategy_discussion(core, request, discussion).await?,
        ))
    }

    /// Record how a section 47 enquiry ended.
    async fn record_section47_outcome(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The enquiry and its outcome.")] input: RecordSection47OutcomeInput,
    ) -> Result<Referral> {
        let (core, request) = env(ctx);
        let view = outcomes::record_section47_outcome(
            core,
            request,
            ids::target("Section47Enquiry", &input.section47_id),
            input.outcome.code(),
            input.completed_at,
            input.correction,
        )
        .await?;
        Ok(Referral(view))
    }

    /// Record the initial child protection conference a section 47 enquiry led to.
    async fn record_conference(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The conference.")] input: RecordConferenceInput,
    ) -> Result<Referral> {
        let (core, request) = env(ctx);
        let conference = RecordConference {
            section47_id: ids::target("Section47Enquiry", &input.section47_id),
            held_at: input.held_at,
            plan_made: input.plan_made,
            allocation: allocation(input.allocated_team, input.allocated_worker),
        };
        Ok(Referral(
            outcomes::record_conference(core, request, conference).await?,
        ))
    }

    /// Ask an early help agency to help a contact's child (MASH staff).
    async fn request_early_help(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The contact and the early help agency.")] input: RequestEarlyHelpInput,
    ) -> Result<EarlyHelpEpisode> {
        let (core, request) = env(ctx);
        let view = early_help::request(
            core,
            request,
            ids::decode("Contact", &input.contact_id),
            ids::decode("Agency", &input.agency_id),
            input.requested_at,
        )
        .await?;
        Ok(EarlyHelpEpisode(view))
    }

    /// Record screening and assessment on an early help episode (MASH staff, or the early
    /// help agency's MASH desk on episodes sent to it).
    async fn update_early_help_episode(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The episode and what to record.")] input: UpdateEarlyHelpEpisodeInput,
    ) -> Result<EarlyHelpEpisode> {
        let (core, request) = env(ctx);
        let change = EpisodeUpdate {
            screened_at: input.screened_at,
            screening_outcome: input.screening_outcome.map(|o| o.code().to_string()),
            assessment_started_at: input.assessment_started_at,
            assessment_completed_at: input.assessment_completed_at,
            organisation: input.organisation,
            correction: input.correction,
        };
        let view = early_help::update(
            core,
            request,
            ids::target("EarlyHelpEpisode", &input.episode_id),
            change,
        )
        .await?;
        Ok(EarlyHelpEpisode(view))
    }
}
