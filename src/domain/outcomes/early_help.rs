//! Early help episodes: step-downs from the MASH to an early help agency, screened and
//! assessed there. MASH staff request and record them; the early help agency's MASH desk
//! records screening and assessment on the episodes sent to it.
use chrono::{DateTime, Utc};
use std::collections::HashMap;

use entity::codes::{AgencyKind, ScreeningOutcome};
use entity::{agency, child, contact, early_help_episode as episode};
use sea_orm::ConnectionTrait;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, Set,
};
use serde_json::json;
use uuid::Uuid;

use crate::db::begin_write;
use crate::domain::audit::Action;
use crate::domain::audit::{self, AuditEntry};
use crate::domain::common::checks::event_time;
use crate::domain::common::checks::{self, Kind};
use crate::domain::common::page::{self, Page, PageRequest};
use crate::domain::common::transition;
use crate::domain::policy::{self, CaseOperation, Grant};
use crate::domain::RequestCtx;
use crate::error::{AppError, AppResult};
use crate::Core;

const PURPOSE: &str = "safeguarding.early_help";

/// An episode with the child it concerns: the early help agency needs to know who to help.
#[derive(Clone, Debug)]
pub struct EpisodeView {
    pub episode: episode::Model,
    pub child: Option<child::Model>,
}

async fn views<C: ConnectionTrait>(
    conn: &C,
    rows: Vec<episode::Model>,
) -> AppResult<Vec<EpisodeView>> {
    let children: HashMap<Uuid, child::Model> = child::Entity::find()
        .filter(child::Column::Id.is_in(rows.iter().map(|r| r.child_id)))
        .all(conn)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    Ok(rows
        .into_iter()
        .map(|episode| EpisodeView {
            child: children.get(&episode.child_id).cloned(),
            episode,
        })
        .collect())
}

async fn view<C: ConnectionTrait>(conn: &C, row: episode::Model) -> AppResult<EpisodeView> {
    views(conn, vec![row])
        .await?
        .pop()
        .ok_or(AppError::NotFound)
}

fn entry(action: Action, row: &episode::Model) -> AuditEntry {
    AuditEntry::success(action)
        .entity("EarlyHelpEpisode", row.id)
        .children([row.child_id])
        .purpose(PURPOSE)
}

/// MASH staff ask an early help agency to help the child of a contact: once per contact,
/// unless the early help agency returned it to the MASH.
pub async fn request(
    core: &Core,
    ctx: &RequestCtx,
    contact_id: Option<Uuid>,
    agency_id: Option<Uuid>,
    requested_at: Option<DateTime<Utc>>,
) -> AppResult<EpisodeView> {
    const ACTION: Action = Action::EarlyHelpRequest;
    let grant = policy::allow(core, ctx, ACTION, CaseOperation::MashWork).await?;
    let contact = match contact_id {
        Some(id) => contact::Entity::find_by_id(id).one(&core.db).await?,
        None => None,
    }
    .ok_or_else(|| AppError::bad_input("contactId", "no such contact"))?;
    let agency = match agency_id {
        Some(id) => agency::Entity::find_by_id(id).one(&core.db).await?,
        None => None,
    }
    .filter(|a| a.kind == AgencyKind::EarlyHelp && a.active)
    .ok_or_else(|| AppError::bad_input("agencyId", "not an active early help agency"))?;
    let requested_at = event_time("requestedAt", requested_at)?;
    if requested_at < contact.occurred_at {
        return Err(AppError::bad_input(
            "requestedAt",
            "cannot be before the contact",
        ));
    }
    let txn = begin_write(&core.db).await?;
    let result = async {
        // The contact is the episode's parent: its lock queues step-downs of one contact.
        transition::locked::<contact::Entity>(&txn, contact.id).await?;
        let open = episode::Entity::find()
            .filter(episode::Column::ContactId.eq(contact.id))
            .filter(
                Condition::any()
                    .add(episode::Column::ScreeningOutcome.is_null())
                    // A screening that hands the contact back: the MASH may step it down again.
                    .add(episode::Column::ScreeningOutcome.ne(ScreeningOutcome::ReturnedToMash)),
            )
            .count(&txn)
            .await?;
        if open > 0 {
            return Err(AppError::conflict(
                "contactId",
                "the contact is already stepped down to early help",
            ));
        }
        let row = episode::ActiveModel {
            id: Set(Uuid::now_v7()),
            child_id: Set(contact.child_id),
            contact_id: Set(Some(contact.id)),
            agency_id: Set(agency.id),
            requested_by: Set(ctx.actor.id.unwrap_or_default()),
            requested_at: Set(requested_at),
            screened_at: Set(None),
            screening_outcome: Set(None),
            assessment_started_at: Set(None),
            assessment_completed_at: Set(None),
            organisation: Set(None),
            recorded_at: Set(Utc::now()),
        }
        .insert(&txn)
        .await?;
        audit::record(
            &txn,
            ctx,
            entry(grant.action(), &row)
                .reference("Contact", contact.id)
                .detail(json!({ "agency": agency.id })),
        )
        .await?;
        view(&txn, row).await
    }
    .await;
    transition::settle(core, &grant, txn, result).await
}

#[derive(Default)]
pub struct EpisodeUpdate {
    pub screened_at: Option<DateTime<Utc>>,
    pub screening_outcome: Option<String>,
    pub assessment_started_at: Option<DateTime<Utc>>,
    pub assessment_completed_at: Option<DateTime<Utc>>,
    pub organisation: Option<String>,
    /// Replaces dates or an outcome already recorded.
    pub correction: bool,
}

/// Screening and assessment progress; omitted fields stay as they are. Each date and the
/// screening outcome is recorded once; changing a recorded one is a `correction`.
pub async fn update(
    core: &Core,
    ctx: &RequestCtx,
    id: Uuid,
    change: EpisodeUpdate,
) -> AppResult<EpisodeView> {
    const ACTION: Action = Action::EarlyHelpUpdate;
    let grant = policy::allow(core, ctx, ACTION, CaseOperation::EarlyHelp).await?;
    let found = scoped(core, &grant, id).await?;
    let txn = begin_write(&core.db).await?;
    let result = async {
        let existing = transition::locked::<episode::Entity>(&txn, found.id).await?;
        let recorded = replaces_recorded(&existing, &change);
        let corrected = transition::correcting(
            recorded,
            change.correction,
            "episodeId",
            "the screening or assessment",
        )?;
        let row = episode_change(existing, &change)?.update(&txn).await?;
        let detail = json!({ "screeningOutcome": row.screening_outcome.map(|o| o.as_str()), "correction": corrected });
        audit::record(&txn, ctx, entry(grant.action(), &row).detail(detail)).await?;
        view(&txn, row).await
    }
    .await;
    transition::settle(core, &grant, txn, result).await
}

/// Whether `change` gives a date or the outcome that the episode already records.
fn replaces_recorded(existing: &episode::Model, change: &EpisodeUpdate) -> bool {
    (change.screened_at.is_some() && existing.screened_at.is_some())
        || (change.screening_outcome.is_some() && existing.screening_outcome.is_some())
        || (change.assessment_started_at.is_some() && existing.assessment_started_at.is_some())
        || (change.assessment_completed_at.is_some() && existing.assessment_completed_at.is_some())
}

/// The episode with `change` applied, checked against what is recorded.
fn episode_change(
    existing: episode::Model,
    change: &EpisodeUpdate,
) -> AppResult<episode::ActiveModel> {
    let not_before_request = |field: &str, at: DateTime<Utc>| -> AppResult<DateTime<Utc>> {
        let at = event_time(field, Some(at))?;
        if at < existing.requested_at {
            return Err(AppError::bad_input(field, "cannot be before the request"));
        }
        Ok(at)
    };
    let mut active: episode::ActiveModel = existing.clone().into();
    if let Some(at) = change.screened_at {
        active.screened_at = Set(Some(not_before_request("screenedAt", at)?));
    }
    if let Some(outcome) = &change.screening_outcome {
        if change.screened_at.is_none() && existing.screened_at.is_none() {
            return Err(AppError::bad_input(
                "screenedAt",
                "a screening outcome needs the screening date",
            ));
        }
        let outcome = ScreeningOutcome::parse(outcome).ok_or_else(|| {
            AppError::bad_input(
                "screeningOutcome",
                format!("must be one of {}", ScreeningOutcome::codes(", ")),
            )
        })?;
        active.screening_outcome = Set(Some(outcome));
    }
    let started = change
        .assessment_started_at
        .map(|at| not_before_request("assessmentStartedAt", at))
        .transpose()?;
    if let Some(at) = started {
        active.assessment_started_at = Set(Some(at));
    }
    if let Some(at) = change.assessment_completed_at {
        let at = event_time("assessmentCompletedAt", Some(at))?;
        match started.or(existing.assessment_started_at) {
            Some(start) if at >= start => {}
            _ => {
                return Err(AppError::bad_input(
                    "assessmentCompletedAt",
                    "needs a start on or before it",
                ))
            }
        }
        active.assessment_completed_at = Set(Some(at));
    }
    if let Some(organisation) = &change.organisation {
        active.organisation = Set(Some(checks::required(
            "organisation",
            organisation,
            Kind::Line,
        )?));
    }
    Ok(active)
}

/// An episode the caller may see, or an audited NOT_FOUND (out of scope looks like absent).
async fn scoped(core: &Core, grant: &Grant<'_>, id: Uuid) -> AppResult<episode::Model> {
    let found = episode::Entity::find_by_id(id)
        .one(&core.db)
        .await?
        .filter(|e| grant.may_see_early_help(e));
    grant
        .on_refusal(core, found.ok_or(AppError::NotFound))
        .await
}

/// One episode: MASH staff any, an early help desk its own.
pub async fn get(core: &Core, ctx: &RequestCtx, id: Uuid) -> AppResult<EpisodeView> {
    const ACTION: Action = Action::EarlyHelpRead;
    let grant = policy::allow(core, ctx, ACTION, CaseOperation::EarlyHelp).await?;
    let found = scoped(core, &grant, id).await?;
    let entry = grant
        .entry()
        .entity("EarlyHelpEpisode", found.id)
        .children([found.child_id])
        .purpose(PURPOSE);
    let view = view(&core.db, found).await?;
    audit::record_alone(core, ctx, entry).await?;
    Ok(view)
}

/// Episodes the caller may see, newest first: MASH staff all, an early help desk its own.
pub async fn list(
    core: &Core,
    ctx: &RequestCtx,
    page: PageRequest,
) -> AppResult<Page<EpisodeView>> {
    const ACTION: Action = Action::EarlyHelpList;
    let grant = policy::allow(core, ctx, ACTION, CaseOperation::EarlyHelp).await?;
    let condition = Condition::all().add(grant.early_help_scope());
    let Page {
        items: rows,
        has_next_page,
        total_count,
    } = page::by_id(
        &core.db,
        episode::Entity::find().filter(condition),
        episode::Column::Id,
        page::Order::NewestFirst,
        &page,
    )
    .await?;
    let items = views(&core.db, rows).await?;
    let mut audit_entry = grant
        .entry()
        .purpose(PURPOSE)
        .children(items.iter().map(|v| v.episode.child_id));
    for v in &items {
        audit_entry = audit_entry.reference("EarlyHelpEpisode", v.episode.id);
    }
    audit::record_poll(core, ctx, audit_entry, items.len()).await?;
    Ok(Page {
        items,
        has_next_page,
        total_count,
    })
}
