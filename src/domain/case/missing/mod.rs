//! Missing children: episodes reported by the police (singly or in batches, each item with
//! its own idempotency key and its own result), returns, and the return home interview due
//! 72 hours after the return.
use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use entity::codes::{InterviewOutcome, RiskGrade};
use entity::{child, missing_episode, return_home_interview as rhi};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QuerySelect, Set,
};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::db::{begin_write, statement};
use crate::domain::audit::Action;
use crate::domain::audit::{self, AuditEntry};
use crate::domain::case::children::{self, ChildDetails};
use crate::domain::common::checks::event_time;
use crate::domain::common::idempotency::{self, Outcome};
use crate::domain::common::page::{self, Page, PageRequest};
use crate::domain::common::transition;
use crate::domain::policy::{self, CaseOperation, Grant};
use crate::domain::RequestCtx;
use crate::error::{AppError, AppResult};
use crate::Core;

mod episodes;
mod overlaps;
mod returns;

pub use episodes::*;
pub use overlaps::*;
pub use returns::*;

pub const MAX_BATCH: usize = crate::domain::common::checks::MAX_EPISODES;
pub const LATE_REASONS: [&str; 4] = [
    "POLICE_NOTIFICATION_DELAY",
    "EARLIEST_CONVENIENCE",
    "NON_ENGAGEMENT",
    "MISSING_AGAIN",
];
pub const NOT_OFFERED_REASONS: [&str; 4] = [
    "MISSING_AGAIN_WITHIN_72_HOURS",
    "TRIAGED_NO_APPARENT_RISK",
    "IN_CUSTODY",
    "WHEREABOUTS_UNKNOWN",
];
/// A child missing this many times in 30 days is flagged.
pub const REPEAT_THRESHOLD: u64 = 3;

#[derive(Clone, Debug, Serialize)]
pub struct EpisodeInput {
    pub child: ChildDetails,
    pub reported_missing_at: DateTime<Utc>,
    /// Validated here, not by the schema, so one bad item in a batch fails alone.
    pub risk_grade: String,
    pub la_notified_at: Option<DateTime<Utc>>,
    pub returned_at: Option<DateTime<Utc>>,
    pub return_notified_at: Option<DateTime<Utc>>,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

/// An episode with its interview and, for MASH staff, how often the child went missing.
#[derive(Clone)]
pub struct EpisodeView {
    pub episode: missing_episode::Model,
    pub interview: Option<rhi::Model>,
    /// Episodes of this child reported in the 30 days up to this one (MASH staff only).
    pub recent_episodes: Option<u64>,
}

/// An episode the caller may see, or an audited NOT_FOUND (out of scope looks like absent).
pub(super) async fn scoped_episode(
    core: &Core,
    grant: &Grant<'_>,
    id: Uuid,
) -> AppResult<missing_episode::Model> {
    let found = missing_episode::Entity::find_by_id(id)
        .one(&core.db)
        .await?
        .filter(|e| grant.may_see_episode(e));
    grant
        .on_refusal(core, found.ok_or(AppError::NotFound))
        .await
}

/// One episode: MASH staff any, the police their own.
pub async fn get_episode(core: &Core, ctx: &RequestCtx, id: Uuid) -> AppResult<EpisodeView> {
    const ACTION: Action = Action::MissingRead;
    let grant = policy::allow(core, ctx, ACTION, CaseOperation::ReadMissing).await?;
    let episode = scoped_episode(core, &grant, id).await?;
    let view = load_views(&core.db, &grant, vec![episode])
        .await?
        .pop()
        .ok_or(AppError::NotFound)?;
    let entry = grant
        .entry()
        .entity("MissingEpisode", view.episode.id)
        .children([view.episode.child_id])
        .purpose("safeguarding.missing");
    audit::record_alone(core, ctx, entry).await?;
    Ok(view)
}

/// Episodes the caller may see, newest first by id; MASH staff may filter by child.
pub async fn list(
    core: &Core,
    ctx: &RequestCtx,
    child: Option<Uuid>,
    page: PageRequest,
) -> AppResult<Page<EpisodeView>> {
    const ACTION: Action = Action::MissingList;
    let grant = policy::allow(core, ctx, ACTION, CaseOperation::ReadMissing).await?;
    let mut condition = Condition::all().add(grant.missing_scope());
    if let Some(child) = child {
        condition = condition.add(missing_episode::Column::ChildId.eq(child));
    }
    let Page {
        items: rows,
        has_next_page,
        total_count,
    } = page::by_id(
        &core.db,
        missing_episode::Entity::find().filter(condition),
        missing_episode::Column::Id,
        page::Order::OldestFirst,
        &page,
    )
    .await?;
    let items = load_views(&core.db, &grant, rows).await?;
    let mut entry = grant
        .entry()
        .purpose("safeguarding.missing")
        .children(items.iter().map(|v| v.episode.child_id));
    for v in &items {
        entry = entry.reference("MissingEpisode", v.episode.id);
    }
    audit::record_poll(core, ctx, entry, items.len()).await?;
    Ok(Page {
        items,
        has_next_page,
        total_count,
    })
}
