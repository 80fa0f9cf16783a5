//! The outcome chain after a contact decision: referral → assessment (due 45 working days
//! from the referral) → strategy discussion → section 47 enquiry → initial child protection
//! conference (due 15 working days from the strategy discussion). MASH staff record each
//! step; every change and every read is audited.
pub mod early_help;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{
    agency, assessment, child_protection_conference as conference, contact, referral,
    section47_enquiry as section47, strategy_discussion as strategy,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, Set,
};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::db::begin_write;
use crate::domain::audit::{self, AuditEntry};
use crate::domain::common::checks::{self, Kind};
use crate::domain::common::page::{self, Page, PageRequest};
use crate::domain::common::{clock, transition};
use crate::domain::policy::CaseOperation;
use crate::domain::RequestCtx;
use crate::error::{AppError, AppResult};
use crate::Core;

pub const REFERRAL_OUTCOMES: [&str; 6] = [
    "NO_FURTHER_ACTION",
    "ADVICE_AND_SIGNPOSTING",
    "STEP_DOWN_TO_EARLY_HELP",
    "ASSESSMENT_REQUIRED",
    "STRATEGY_DISCUSSION",
    "OTHER",
];
pub const ASSESSMENT_OUTCOMES: [&str; 4] = [
    "NO_FURTHER_ACTION",
    "STEP_DOWN_TO_EARLY_HELP",
    "STRATEGY_DISCUSSION",
    "OTHER",
];
pub const SECTION47_OUTCOMES: [&str; 7] = [
    "INITIAL_CHILD_PROTECTION_CONFERENCE",
    "OTHER_AGENCY_TO_MONITOR",
    "NFA_CONTINUE_FAMILY_ASSESSMENT",
    "INITIATE_LEGAL_ACTION",
    "PROVISION_OF_SERVICES",
    "NO_FURTHER_ACTION",
    "OTHER",
];
/// Contact decisions that make a referral to children's social care.
pub const REFERRING_DECISIONS: [&str; 2] = ["REFERRAL_FOR_ASSESSMENT", "STRATEGY_DISCUSSION"];
/// Working Together: assessments conclude within 45 working days of the referral.
pub const ASSESSMENT_WORKING_DAYS: u32 = 45;
/// Working Together: the ICPC within 15 working days of the strategy discussion.
pub const ICPC_WORKING_DAYS: u32 = 15;
const PURPOSE: &str = "safeguarding.outcome";

/// Allocated team and worker, as Annex A reports them; omitted parts stay as they are.
#[derive(Clone, Debug, Default)]
pub struct Allocation {
    pub team: Option<String>,
    pub worker: Option<String>,
}

impl Allocation {
    fn checked(self) -> AppResult<Allocation> {
        let check = |field: &str, value: Option<String>, kind: Kind| {
            value.map(|v| checks::required(field, &v, kind)).transpose()
        };
        Ok(Allocation {
            team: check("allocatedTeam", self.team, Kind::Line)?,
            worker: check("allocatedWorker", self.worker, Kind::Name)?,
        })
    }
}

fn checked_code(field: &str, code: &str, allowed: &[&str]) -> AppResult<String> {
    if allowed.contains(&code) {
        Ok(code.to_string())
    } else {
        Err(AppError::bad_input(
            field,
            format!("must be one of {}", allowed.join(", ")),
        ))
    }
}

/// A step of the chain with the steps that follow from it.
#[derive(Clone, Debug)]
pub struct StrategyView {
    pub discussion: strategy::Model,
    pub agencies_present: Vec<(Uuid, String)>,
    pub section47: Option<section47::Model>,
    pub conference: Option<conference::Model>,
}

/// A referral and everything that followed it.
#[derive(Clone, Debug)]
pub struct ReferralView {
    pub referral: referral::Model,
    pub assessments: Vec<assessment::Model>,
    pub strategy_discussions: Vec<StrategyView>,
}

/// The full chains of several referrals in a fixed number of queries.
pub async fn load_views<C: ConnectionTrait>(
    conn: &C,
    referrals: Vec<referral::Model>,
) -> AppResult<Vec<ReferralView>> {
    let ids: Vec<Uuid> = referrals.iter().map(|r| r.id).collect();
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let assessments = assessment::Entity::find()
        .filter(assessment::Column::ReferralId.is_in(ids.clone()))
        .order_by_asc(assessment::Column::Id)
        .all(conn)
        .await?;
    let discussions = strategy::Entity::find()
        .filter(strategy::Column::ReferralId.is_in(ids.clone()))
        .order_by_asc(strategy::Column::Id)
        .all(conn)
        .await?;
    let enquiries = section47::Entity::find()
        .filter(section47::Column::ReferralId.is_in(ids))
        .all(conn)
        .await?;
    let conferences = conference::Entity::find()
        .filter(conference::Column::Section47Id.is_in(enquiries.iter().map(|s| s.id)))
        .all(conn)
        .await?;
    let agency_ids: Vec<Uuid> = discussions
        .iter()
        .flat_map(|d| parse_agencies(&d.agencies_present))
        .collect();
    let names: HashMap<Uuid, String> = agency::Entity::find()
        .filter(agency::Column::Id.is_in(agency_ids))
        .all(conn)
        .await?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect();
    let mut enquiry_of: HashMap<Uuid, section47::Model> = enquiries
        .into_iter()
        .map(|s| (s.strategy_discussion_id, s))
        .collect();
    let mut conference_of: HashMap<Uuid, conference::Model> = conferences
        .into_iter()
        .map(|c| (c.section47_id, c))
        .collect();
    let mut views: Vec<ReferralView> = referrals
        .into_iter()
        .map(|referral| ReferralView {
            referral,
            assessments: vec![],
            strategy_discussions: vec![],
        })
        .collect();
    let position: HashMap<Uuid, usize> = views
        .iter()
        .enumerate()
        .map(|(i, v)| (v.referral.id, i))
        .collect();
    for a in assessments {
        views[position[&a.referral_id]].assessments.push(a);
    }
    for d in discussions {
        let section47 = enquiry_of.remove(&d.id);
        let conference = section47.as_ref().and_then(|s| conference_of.remove(&s.id));
        let agencies_present = parse_agencies(&d.agencies_present)
            .into_iter()
            .map(|id| (id, names.get(&id).cloned().unwrap_or_default()))
            .collect();
        views[position[&d.referral_id]]
            .strategy_discussions
            .push(StrategyView {
                discussion: d,
                agencies_present,
                section47,
                conference,
            });
    }
    Ok(views)
}

fn parse_agencies(stored: &str) -> Vec<Uuid> {
    stored
        .split(',')
        .filter_map(|s| Uuid::parse_str(s.trim()).ok())
        .collect()
}

fn read_entry(action: &'static str, views: &[ReferralView]) -> AuditEntry {
    let mut entry = AuditEntry::success(action)
        .purpose(PURPOSE)
        .children(views.iter().map(|v| v.referral.child_id));
    for v in views {
        entry = entry.reference("Referral", v.referral.id);
    }
    entry
}

/// Opens the referral a referring decision makes, in the decision's transaction.
pub async fn open_referral<C: ConnectionTrait>(
    conn: &C,
    decided: &contact::Model,
) -> AppResult<Option<referral::Model>> {
    let (Some(outcome), Some(decided_at)) = (&decided.outcome, decided.decided_at) else {
        return Ok(None);
    };
    if !REFERRING_DECISIONS.contains(&outcome.as_str()) {
        return Ok(None);
    }
    let created = referral::ActiveModel {
        id: Set(Uuid::now_v7()),
        contact_id: Set(decided.id),
        child_id: Set(decided.child_id),
        source_code: Set(decided.source_code.clone()),
        referred_at: Set(decided_at),
        // A decision for a strategy discussion is a referral whose outcome is already known.
        outcome: Set((outcome == "STRATEGY_DISCUSSION").then(|| "STRATEGY_DISCUSSION".into())),
        allocated_team: Set(None),
        allocated_worker: Set(None),
        recorded_at: Set(Utc::now()),
    }
    .insert(conn)
    .await?;
    Ok(Some(created))
}

/// Finds a record of the chain by id for MASH staff; a miss is an audited NOT_FOUND.
async fn found<T>(
    core: &Core,
    ctx: &RequestCtx,
    action: &'static str,
    row: Option<T>,
) -> AppResult<T> {
    audit::on_refusal(&core.db, ctx, action, row.ok_or(AppError::NotFound)).await
}

async fn the_referral(
    core: &Core,
    ctx: &RequestCtx,
    action: &'static str,
    id: Uuid,
) -> AppResult<referral::Model> {
    crate::domain::policy::allow_case(core, ctx, action, CaseOperation::MashWork).await?;
    let row = referral::Entity::find_by_id(id).one(&core.db).await?;
    found(core, ctx, action, row).await
}

/// Reloads a referral's chain after a change and audits the change with it, in the change's
/// transaction (which `transition::settle` then commits).
async fn changed_view(
    txn: &sea_orm::DatabaseTransaction,
    ctx: &RequestCtx,
    referral_id: Uuid,
    entry: AuditEntry,
) -> AppResult<ReferralView> {
    let referral = referral::Entity::find_by_id(referral_id)
        .one(txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let view = load_views(txn, vec![referral])
        .await?
        .pop()
        .ok_or(AppError::NotFound)?;
    audit::record(
        txn,
        ctx,
        entry
            .purpose(PURPOSE)
            .children([view.referral.child_id])
            .reference("Referral", referral_id),
    )
    .await?;
    Ok(view)
}

pub async fn get_referral(core: &Core, ctx: &RequestCtx, id: Uuid) -> AppResult<ReferralView> {
    const ACTION: &str = "referral.read";
    let referral = the_referral(core, ctx, ACTION, id).await?;
    let views = load_views(&core.db, vec![referral]).await?;
    audit::record_alone(&core.db, ctx, read_entry(ACTION, &views)).await?;
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
    const ACTION: &str = "referral.list";
    crate::domain::policy::allow_case(core, ctx, ACTION, CaseOperation::MashWork).await?;
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
    audit::record_alone(&core.db, ctx, read_entry(ACTION, &items)).await?;
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
    const ACTION: &str = "referral.update";
    the_referral(core, ctx, ACTION, id).await?;
    let outcome = outcome
        .map(|o| checked_code("outcome", o, &REFERRAL_OUTCOMES))
        .transpose()?;
    let allocation = allocation.checked()?;
    let txn = begin_write(&core.db).await?;
    let result = async {
        let current = transition::locked::<referral::Entity>(&txn, id).await?;
        let mut corrected = false;
        let mut active: referral::ActiveModel = current.clone().into();
        if let Some(outcome) = &outcome {
            let recorded = current.outcome.is_some();
            corrected = transition::correcting(recorded, correction, "referralId", "the outcome")?;
            active.outcome = Set(Some(outcome.clone()));
        }
        if let Some(team) = allocation.team {
            active.allocated_team = Set(Some(team));
        }
        if let Some(worker) = allocation.worker {
            active.allocated_worker = Set(Some(worker));
        }
        active.update(&txn).await?;
        let entry = AuditEntry::success(ACTION)
            .entity("Referral", id)
            .detail(correction_detail(
                outcome.as_deref(),
                corrected,
                &current.outcome,
            ));
        changed_view(&txn, ctx, id, entry).await
    }
    .await;
    transition::settle(core, ctx, ACTION, txn, result).await
}

/// An outcome's audit detail: the code recorded and, for a correction, the code it replaced.
fn correction_detail(outcome: Option<&str>, corrected: bool, before: &Option<String>) -> Value {
    let mut detail = json!({ "outcome": outcome, "correction": corrected });
    if corrected {
        detail["replaced"] = json!(before);
    }
    detail
}

pub struct StartAssessment {
    pub referral_id: Uuid,
    pub started_at: Option<DateTime<Utc>>,
    pub allocation: Allocation,
}

/// Starts an assessment, due at the end of the 45th working day after the referral.
pub async fn start_assessment(
    core: &Core,
    ctx: &RequestCtx,
    input: StartAssessment,
) -> AppResult<ReferralView> {
    const ACTION: &str = "assessment.start";
    let referral = the_referral(core, ctx, ACTION, input.referral_id).await?;
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
        let entry = AuditEntry::success(ACTION).entity("Assessment", id);
        changed_view(&txn, ctx, referral.id, entry).await
    }
    .await;
    transition::settle(core, ctx, ACTION, txn, result).await
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
    const ACTION: &str = "assessment.update";
    crate::domain::policy::allow_case(core, ctx, ACTION, CaseOperation::MashWork).await?;
    let row = assessment::Entity::find_by_id(input.assessment_id)
        .one(&core.db)
        .await?;
    let existing = found(core, ctx, ACTION, row).await?;
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
        .map(|o| checked_code("outcome", o, &ASSESSMENT_OUTCOMES))
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
        if let Some(outcome) = &outcome {
            active.outcome = Set(Some(outcome.clone()));
        }
        if let Some(team) = allocation.team {
            active.allocated_team = Set(Some(team));
        }
        if let Some(worker) = allocation.worker {
            active.allocated_worker = Set(Some(worker));
        }
        active.update(&txn).await?;
        let entry = AuditEntry::success(ACTION)
            .entity("Assessment", existing.id)
            .detail(json!({ "outcome": outcome, "authorised": authorised.is_some() }));
        changed_view(&txn, ctx, existing.referral_id, entry).await
    }
    .await;
    transition::settle(core, ctx, ACTION, txn, result).await
}

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
    const ACTION: &str = "strategy_discussion.record";
    let referral = the_referral(core, ctx, ACTION, input.referral_id).await?;
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
        let entry = AuditEntry::success(ACTION)
            .entity("StrategyDiscussion", id)
            .detail(json!({ "section47Started": input.section47_started }));
        changed_view(&txn, ctx, referral.id, entry).await
    }
    .await;
    transition::settle(core, ctx, ACTION, txn, result).await
}

async fn the_enquiry(
    core: &Core,
    ctx: &RequestCtx,
    action: &'static str,
    id: Uuid,
) -> AppResult<section47::Model> {
    crate::domain::policy::allow_case(core, ctx, action, CaseOperation::MashWork).await?;
    let row = section47::Entity::find_by_id(id).one(&core.db).await?;
    found(core, ctx, action, row).await
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
    const ACTION: &str = "section47.outcome";
    let enquiry = the_enquiry(core, ctx, ACTION, id).await?;
    let outcome = checked_code("outcome", outcome, &SECTION47_OUTCOMES)?;
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
        let before = current.outcome.clone();
        let mut active: section47::ActiveModel = current.into();
        active.outcome = Set(Some(outcome.clone()));
        active.completed_at = Set(Some(completed_at));
        active.update(&txn).await?;
        let entry = AuditEntry::success(ACTION)
            .entity("Section47Enquiry", id)
            .detail(correction_detail(Some(&outcome), corrected, &before));
        changed_view(&txn, ctx, referral_id, entry).await
    }
    .await;
    transition::settle(core, ctx, ACTION, txn, result).await
}

/// Whether the enquiry's conference is recorded.
async fn conference_of<C: ConnectionTrait>(conn: &C, section47_id: Uuid) -> AppResult<bool> {
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
    const ACTION: &str = "conference.record";
    let enquiry = the_enquiry(core, ctx, ACTION, input.section47_id).await?;
    let held_at = checks::event_time_after(
        "heldAt",
        input.held_at,
        enquiry.started_at,
        "the section 47 enquiry started",
    )?;
    const ICPC: &str = "INITIAL_CHILD_PROTECTION_CONFERENCE";
    let allocation = input.allocation.checked()?;
    let txn = begin_write(&core.db).await?;
    let result = async {
        let enquiry = transition::locked::<section47::Entity>(&txn, enquiry.id).await?;
        if enquiry.outcome.as_deref().is_some_and(|o| o != ICPC) {
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
            active.outcome = Set(Some(ICPC.into()));
            active.completed_at = Set(Some(held_at));
            active.update(&txn).await?;
        }
        let entry = AuditEntry::success(ACTION)
            .entity("ChildProtectionConference", id)
            .detail(json!({ "planMade": input.plan_made }));
        changed_view(&txn, ctx, enquiry.referral_id, entry).await
    }
    .await;
    transition::settle(core, ctx, ACTION, txn, result).await
}
