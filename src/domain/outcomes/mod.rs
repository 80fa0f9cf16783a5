//! The outcome chain after a contact decision: referral → assessment (due 45 working days
//! from the referral) → strategy discussion → section 47 enquiry → initial child protection
//! conference (due 15 working days from the strategy discussion). MASH staff record each
//! step; every change and every read is audited.
pub mod early_help;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::codes::{
    AssessmentOutcome, ContactOutcome, ReferralOutcome, Section47Outcome, Vocabulary,
};
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
use crate::domain::audit::Action;
use crate::domain::audit::{self, AuditEntry};
use crate::domain::common::checks::{self, Kind};
use crate::domain::common::page::{self, Page, PageRequest};
use crate::domain::common::{clock, transition};
use crate::domain::policy::Grant;
use crate::domain::policy::{self, CaseOperation};
use crate::domain::RequestCtx;
use crate::error::{AppError, AppResult};
use crate::Core;

mod assessments;
mod protection;
mod referrals;

pub use assessments::*;
pub use protection::*;
pub use referrals::*;

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

/// The caller's code as the vocabulary `T` stores it.
fn checked_code<T: Vocabulary>(field: &str, code: &str) -> AppResult<T> {
    T::parse(code)
        .ok_or_else(|| AppError::bad_input(field, format!("must be one of {}", T::codes(", "))))
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

fn read_entry(grant: &Grant<'_>, views: &[ReferralView]) -> AuditEntry {
    let mut entry = grant
        .entry()
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
    // Contact decisions that make a referral to children's social care; a decision for a
    // strategy discussion is a referral whose outcome is already known.
    let outcome = match outcome {
        ContactOutcome::ReferralForAssessment => None,
        ContactOutcome::StrategyDiscussion => Some(ReferralOutcome::StrategyDiscussion),
        ContactOutcome::NoFurtherAction
        | ContactOutcome::InformationAndAdvice
        | ContactOutcome::StepDownToEarlyHelp => return Ok(None),
    };
    let created = referral::ActiveModel {
        id: Set(Uuid::now_v7()),
        contact_id: Set(decided.id),
        child_id: Set(decided.child_id),
        source_code: Set(decided.source_code.clone()),
        referred_at: Set(decided_at),
        outcome: Set(outcome),
        allocated_team: Set(None),
        allocated_worker: Set(None),
        recorded_at: Set(Utc::now()),
    }
    .insert(conn)
    .await?;
    Ok(Some(created))
}

/// Finds a record of the chain by id for MASH staff; a miss is an audited NOT_FOUND.
async fn found<T>(core: &Core, grant: &Grant<'_>, row: Option<T>) -> AppResult<T> {
    grant.on_refusal(core, row.ok_or(AppError::NotFound)).await
}

/// A referral for MASH staff, with the grant for the operation on it.
async fn the_referral<'a>(
    core: &Core,
    ctx: &'a RequestCtx,
    action: Action,
    id: Uuid,
) -> AppResult<(Grant<'a>, referral::Model)> {
    let grant = policy::allow(core, ctx, action, CaseOperation::MashWork).await?;
    let row = referral::Entity::find_by_id(id).one(&core.db).await?;
    let referral = found(core, &grant, row).await?;
    Ok((grant, referral))
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
