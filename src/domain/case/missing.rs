//! Missing children: episodes reported by the police (singly or in batches, each item with
//! its own idempotency key and its own result), returns, and the return home interview due
//! 72 hours after the return.
use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use entity::{child, missing_episode, return_home_interview as rhi};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QuerySelect, Set,
};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::db::{begin_write, statement};
use crate::domain::audit::{self, AuditEntry};
use crate::domain::case::children::{self, ChildDetails};
use crate::domain::common::checks::event_time;
use crate::domain::common::idempotency::{self, Outcome};
use crate::domain::common::page::{self, Page, PageRequest};
use crate::domain::common::transition;
use crate::domain::policy::{self, CaseOperation};
use crate::domain::RequestCtx;
use crate::error::{AppError, AppResult};
use crate::Core;

pub const RISK_GRADES: [&str; 4] = ["HIGH", "MEDIUM", "LOW", "NO_APPARENT_RISK"];
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

fn validate(prefix: &str, input: &EpisodeInput) -> AppResult<ChildDetails> {
    let f = |name: &str| format!("{prefix}{name}");
    let child = input.child.clone().validated(&f("child"))?;
    if let Some(key) = &input.idempotency_key {
        idempotency::checked_key(&f("idempotencyKey"), key)?;
    }
    if !RISK_GRADES.contains(&input.risk_grade.as_str()) {
        return Err(AppError::bad_input(
            &f("riskGrade"),
            "must be HIGH, MEDIUM, LOW or NO_APPARENT_RISK",
        ));
    }
    let reported = event_time(&f("reportedMissingAt"), Some(input.reported_missing_at))?;
    for (name, at) in [
        ("laNotifiedAt", input.la_notified_at),
        ("returnedAt", input.returned_at),
    ] {
        if let Some(at) = at {
            event_time(&f(name), Some(at))?;
            if at < reported {
                return Err(AppError::bad_input(
                    &f(name),
                    "cannot be before the child was reported missing",
                ));
            }
        }
    }
    match (input.returned_at, input.return_notified_at) {
        (None, Some(_)) => {
            return Err(AppError::bad_input(
                &f("returnNotifiedAt"),
                "needs returnedAt",
            ))
        }
        (Some(returned), Some(notified)) if notified < returned => {
            return Err(AppError::bad_input(
                &f("returnNotifiedAt"),
                "cannot be before the return",
            ))
        }
        (_, Some(notified)) => {
            event_time(&f("returnNotifiedAt"), Some(notified))?;
        }
        _ => {}
    }
    Ok(child)
}

async fn interview_for<C: ConnectionTrait>(
    conn: &C,
    episode: &missing_episode::Model,
) -> AppResult<Option<rhi::Model>> {
    Ok(rhi::Entity::find()
        .filter(rhi::Column::EpisodeId.eq(episode.id))
        .one(conn)
        .await?)
}

async fn open_interview<C: ConnectionTrait>(
    conn: &C,
    episode: &missing_episode::Model,
    returned_at: DateTime<Utc>,
) -> AppResult<()> {
    rhi::ActiveModel {
        id: Set(Uuid::now_v7()),
        episode_id: Set(episode.id),
        child_id: Set(episode.child_id),
        // 72 clock hours from the return, not from its notification.
        due_at: Set(returned_at + Duration::hours(72)),
        offered_at: Set(None),
        outcome: Set(None),
        completed_at: Set(None),
        late_reason: Set(None),
        not_offered_reason: Set(None),
        recorded_at: Set(Utc::now()),
    }
    .insert(conn)
    .await?;
    Ok(())
}

async fn view<C: ConnectionTrait>(
    conn: &C,
    ctx: &RequestCtx,
    episode: missing_episode::Model,
) -> AppResult<EpisodeView> {
    load_views(conn, ctx, vec![episode])
        .await?
        .pop()
        .ok_or(AppError::NotFound)
}

/// The views of several episodes in a fixed number of queries (a page costs the same round
/// trips as one episode): one for the interviews and, for MASH staff, one for the 30-day
/// histories of the children on the page. Order is kept.
async fn load_views<C: ConnectionTrait>(
    conn: &C,
    ctx: &RequestCtx,
    episodes: Vec<missing_episode::Model>,
) -> AppResult<Vec<EpisodeView>> {
    if episodes.is_empty() {
        return Ok(vec![]);
    }
    let ids: Vec<Uuid> = episodes.iter().map(|e| e.id).collect();
    let mut interviews: HashMap<Uuid, rhi::Model> = rhi::Entity::find()
        .filter(rhi::Column::EpisodeId.is_in(ids))
        .all(conn)
        .await?
        .into_iter()
        .map(|i| (i.episode_id, i))
        .collect();
    let history = if policy::is_mash_staff(&ctx.actor) {
        Some(recent_history(conn, &episodes).await?)
    } else {
        None
    };
    Ok(episodes
        .into_iter()
        .map(|episode| {
            let recent_episodes = history.as_ref().map(|h| {
                let times = h.get(&episode.child_id).map(Vec::as_slice).unwrap_or(&[]);
                let from = episode.reported_missing_at - Duration::days(30);
                let to = episode.reported_missing_at;
                // `times` is sorted: those in [from, to].
                (times.partition_point(|t| *t <= to) - times.partition_point(|t| *t < from)) as u64
            });
            EpisodeView {
                interview: interviews.remove(&episode.id),
                episode,
                recent_episodes,
            }
        })
        .collect())
}

/// When each child on the page went missing, in the 30 days before their earliest episode
/// on the page up to their latest (one query; sorted per child).
async fn recent_history<C: ConnectionTrait>(
    conn: &C,
    episodes: &[missing_episode::Model],
) -> AppResult<HashMap<Uuid, Vec<DateTime<Utc>>>> {
    let mut windows: HashMap<Uuid, (DateTime<Utc>, DateTime<Utc>)> = HashMap::new();
    for e in episodes {
        let at = e.reported_missing_at;
        let window = windows.entry(e.child_id).or_insert((at, at));
        window.0 = window.0.min(at);
        window.1 = window.1.max(at);
    }
    let mut any = Condition::any();
    for (child, (first, last)) in &windows {
        any = any.add(
            Condition::all()
                .add(missing_episode::Column::ChildId.eq(*child))
                .add(missing_episode::Column::ReportedMissingAt.gte(*first - Duration::days(30)))
                .add(missing_episode::Column::ReportedMissingAt.lte(*last)),
        );
    }
    let rows: Vec<(Uuid, DateTime<Utc>)> = missing_episode::Entity::find()
        .select_only()
        .column(missing_episode::Column::ChildId)
        .column(missing_episode::Column::ReportedMissingAt)
        .filter(any)
        .into_tuple()
        .all(conn)
        .await?;
    let mut history: HashMap<Uuid, Vec<DateTime<Utc>>> = HashMap::new();
    for (child, at) in rows {
        history.entry(child).or_default().push(at);
    }
    for times in history.values_mut() {
        times.sort_unstable();
    }
    Ok(history)
}

/// One episode, in its own transaction: idempotent by its key, matched to the MASH's child.
async fn store(
    core: &Core,
    ctx: &RequestCtx,
    input: &EpisodeInput,
    child: ChildDetails,
) -> AppResult<EpisodeView> {
    let actor = &ctx.actor;
    let agency = actor.agency_id().ok_or(AppError::Forbidden)?;
    let txn = begin_write(&core.db).await?;
    let claim = match &input.idempotency_key {
        Some(key) => {
            let payload =
                serde_json::to_value(input).map_err(|e| AppError::internal(e.to_string()))?;
            match idempotency::check(
                &txn,
                core.config.idempotency_window,
                actor,
                "reportMissingEpisode",
                key,
                &payload,
            )
            .await?
            {
                Outcome::Replay(id) => {
                    let id = Uuid::parse_str(&id).map_err(|e| AppError::internal(e.to_string()))?;
                    let episode = missing_episode::Entity::find_by_id(id)
                        .one(&txn)
                        .await?
                        .ok_or(AppError::NotFound)?;
                    let view = view(&txn, ctx, episode).await?;
                    audit::record(&txn, ctx, entry("missing.report.replay", &view)).await?;
                    txn.commit().await?;
                    return Ok(view);
                }
                Outcome::Fresh(claim) => Some(claim),
            }
        }
        None => None,
    };
    let (record, _) = children::find_or_create(&txn, &child).await?;
    let episode = missing_episode::ActiveModel {
        id: Set(Uuid::now_v7()),
        child_id: Set(record.id),
        agency_id: Set(agency),
        reported_by: Set(actor.id.unwrap_or_default()),
        child_as_reported: Set(serde_json::to_string(&child).unwrap_or_default()),
        reported_missing_at: Set(input.reported_missing_at),
        risk_grade: Set(input.risk_grade.clone()),
        la_notified_at: Set(input.la_notified_at),
        returned_at: Set(input.returned_at),
        return_notified_at: Set(input.return_notified_at),
        recorded_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await?;
    if let Some(returned) = input.returned_at {
        open_interview(&txn, &episode, returned).await?;
    }
    if let Some(claim) = claim {
        if !idempotency::complete(&txn, &claim, episode.id).await? {
            // A concurrent report with the same key won: report its episode instead.
            txn.rollback().await?;
            return Box::pin(store(core, ctx, input, child)).await;
        }
    }
    let view = view(&txn, ctx, episode).await?;
    audit::record(&txn, ctx, entry("missing.report", &view)).await?;
    txn.commit().await?;
    Ok(view)
}

fn entry(action: &'static str, view: &EpisodeView) -> AuditEntry {
    AuditEntry::success(action)
        .entity("MissingEpisode", view.episode.id)
        .children([view.episode.child_id])
        .purpose("safeguarding.missing")
        .detail(json!({ "riskGrade": view.episode.risk_grade }))
}

pub async fn report(core: &Core, ctx: &RequestCtx, input: EpisodeInput) -> AppResult<EpisodeView> {
    crate::domain::policy::allow_case(core, ctx, "missing.report", CaseOperation::ReportMissing)
        .await?;
    let child = validate("", &input)?;
    store(core, ctx, &input, child).await
}

/// A batch: each item validated and stored on its own; bad items fail alone.
pub async fn report_batch(
    core: &Core,
    ctx: &RequestCtx,
    inputs: Vec<EpisodeInput>,
) -> AppResult<Vec<AppResult<EpisodeView>>> {
    crate::domain::policy::allow_case(core, ctx, "missing.report", CaseOperation::ReportMissing)
        .await?;
    if inputs.is_empty() || inputs.len() > MAX_BATCH {
        return Err(AppError::bad_input(
            "episodes",
            format!("give 1–{MAX_BATCH} episodes"),
        ));
    }
    let mut results = Vec::with_capacity(inputs.len());
    for (i, input) in inputs.iter().enumerate() {
        let result = match validate(&format!("episodes[{i}]."), input) {
            Ok(child) => store(core, ctx, input, child).await,
            Err(err) => Err(err),
        };
        results.push(result);
    }
    Ok(results)
}

/// The police record a return, once; the interview clock starts at the return.
pub async fn record_return(
    core: &Core,
    ctx: &RequestCtx,
    episode_id: Uuid,
    returned_at: DateTime<Utc>,
    return_notified_at: Option<DateTime<Utc>>,
) -> AppResult<EpisodeView> {
    const ACTION: &str = "missing.return";
    crate::domain::policy::allow_case(core, ctx, ACTION, CaseOperation::ReportMissing).await?;
    let found = missing_episode::Entity::find_by_id(episode_id)
        .one(&core.db)
        .await?
        .filter(|e| policy::may_see_episode(&ctx.actor, e));
    let episode = audit::on_refusal(&core.db, ctx, ACTION, found.ok_or(AppError::NotFound)).await?;
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
        let view = view(&txn, ctx, updated).await?;
        audit::record(&txn, ctx, entry(ACTION, &view)).await?;
        Ok(view)
    }
    .await;
    transition::settle(core, ctx, ACTION, txn, result).await
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
pub const OPEN_OUTCOME: &str = "CARRIED_OVER";

/// MASH staff record how a return home interview went.
pub async fn record_interview(
    core: &Core,
    ctx: &RequestCtx,
    episode_id: Uuid,
    input: InterviewInput,
) -> AppResult<EpisodeView> {
    const ACTION: &str = "missing.interview";
    crate::domain::policy::allow_case(core, ctx, ACTION, CaseOperation::MashWork).await?;
    let found = missing_episode::Entity::find_by_id(episode_id)
        .one(&core.db)
        .await?;
    let episode = audit::on_refusal(&core.db, ctx, ACTION, found.ok_or(AppError::NotFound)).await?;
    let txn = begin_write(&core.db).await?;
    let result = async {
        // The episode is the interview's parent: its lock also queues this behind the return.
        let episode = transition::locked::<missing_episode::Entity>(&txn, episode.id).await?;
        let interview = interview_for(&txn, &episode).await?.ok_or_else(|| {
            AppError::conflict("episodeId", "the child's return is not recorded yet")
        })?;
        let recorded = match interview.outcome.as_deref() {
            None => false,
            Some(OPEN_OUTCOME) => input.outcome == OPEN_OUTCOME,
            Some(_) => true,
        };
        let corrected =
            transition::correcting(recorded, input.correction, "episodeId", "the interview")?;
        let active = interview_change(&episode, interview, &input)?;
        active.update(&txn).await?;
        let view = view(&txn, ctx, episode).await?;
        let detail = json!({ "outcome": input.outcome, "correction": corrected });
        audit::record(&txn, ctx, entry(ACTION, &view).detail(detail)).await?;
        Ok(view)
    }
    .await;
    transition::settle(core, ctx, ACTION, txn, result).await
}

/// The interview as `input` records it: every outcome field is set afresh, so a corrected
/// interview keeps nothing of the outcome it replaced.
fn interview_change(
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
    match input.outcome.as_str() {
        "COMPLETED" => {
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
        "NOT_OFFERED" => {
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
        "DECLINED" | "CARRIED_OVER" => {}
        _ => {
            return Err(AppError::bad_input(
                "outcome",
                "must be COMPLETED, DECLINED, NOT_OFFERED or CARRIED_OVER",
            ))
        }
    }
    active.outcome = Set(Some(input.outcome.clone()));
    Ok(active)
}

/// Episodes the caller may see, newest first by id; MASH staff may filter by child.
pub async fn list(
    core: &Core,
    ctx: &RequestCtx,
    child: Option<Uuid>,
    page: PageRequest,
) -> AppResult<Page<EpisodeView>> {
    const ACTION: &str = "missing.list";
    crate::domain::policy::allow_case(core, ctx, ACTION, CaseOperation::ReadMissing).await?;
    let mut condition = Condition::all().add(policy::missing_scope(&ctx.actor));
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
    let items = load_views(&core.db, ctx, rows).await?;
    let mut entry = AuditEntry::success(ACTION)
        .purpose("safeguarding.missing")
        .children(items.iter().map(|v| v.episode.child_id));
    for v in &items {
        entry = entry.reference("MissingEpisode", v.episode.id);
    }
    audit::record_alone(&core.db, ctx, entry).await?;
    Ok(Page {
        items,
        has_next_page,
        total_count,
    })
}

/// Another child missing at the same time as the asked-for child: a possible link
/// (exploitation, peer association) for the MASH to look into.
pub struct Overlap {
    /// The other child (the MASH's record).
    pub child: child::Model,
    /// The other child's episode.
    pub episode: EpisodeView,
    /// The asked-for child's episode it overlapped.
    pub overlapped: EpisodeView,
    pub starts_at: DateTime<Utc>,
    /// None while both children are still missing.
    pub ends_at: Option<DateTime<Utc>>,
    /// Hours the two episodes overlap (up to now while both are still missing).
    pub hours: f64,
}

/// Where an episode ends: its return, or `now` while the child is still missing.
fn episode_end(episode: &missing_episode::Model, now: DateTime<Utc>) -> DateTime<Utc> {
    episode.returned_at.unwrap_or(now)
}

/// Other children's episodes that overlap one of `child`'s: the intervals
/// [reported missing, returned (or now)) intersect. MASH staff only; audited with every
/// child named. Ordered by the start of the overlap.
pub async fn overlaps(core: &Core, ctx: &RequestCtx, child_id: Uuid) -> AppResult<Vec<Overlap>> {
    const ACTION: &str = "missing.overlaps";
    crate::domain::policy::allow_case(core, ctx, ACTION, CaseOperation::MashWork).await?;
    let found = child::Entity::find_by_id(child_id).one(&core.db).await?;
    audit::on_refusal(&core.db, ctx, ACTION, found.ok_or(AppError::NotFound)).await?;
    let now = Utc::now();
    // One self-join finds the pairs (half-open intervals: an episode that ends as another
    // starts does not overlap it); the overlap starts at the later of the two reports.
    let backend = core.db.get_database_backend();
    let sql = "SELECT a.id AS asked_id, b.id AS other_id \
         FROM missing_episodes a \
         JOIN missing_episodes b ON b.child_id <> a.child_id \
           AND b.reported_missing_at < COALESCE(a.returned_at, $2) \
           AND a.reported_missing_at < COALESCE(b.returned_at, $2) \
         WHERE a.child_id = $1 \
         ORDER BY CASE WHEN b.reported_missing_at > a.reported_missing_at \
           THEN b.reported_missing_at ELSE a.reported_missing_at END, b.id, a.id";
    let pairs: Vec<(Uuid, Uuid)> = core
        .db
        .query_all_raw(statement(backend, sql, vec![child_id.into(), now.into()]))
        .await?
        .iter()
        .map(|row| Ok((row.try_get("", "asked_id")?, row.try_get("", "other_id")?)))
        .collect::<Result<_, sea_orm::DbErr>>()?;
    let mut ids: Vec<Uuid> = pairs.iter().flat_map(|(a, b)| [*a, *b]).collect();
    ids.sort_unstable();
    ids.dedup();
    let episodes = if ids.is_empty() {
        vec![]
    } else {
        missing_episode::Entity::find()
            .filter(missing_episode::Column::Id.is_in(ids))
            .all(&core.db)
            .await?
    };
    let other_children: Vec<Uuid> = episodes
        .iter()
        .map(|e| e.child_id)
        .filter(|c| *c != child_id)
        .collect();
    let children: HashMap<Uuid, child::Model> = if other_children.is_empty() {
        HashMap::new()
    } else {
        child::Entity::find()
            .filter(child::Column::Id.is_in(other_children))
            .all(&core.db)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect()
    };
    let views: HashMap<Uuid, EpisodeView> = load_views(&core.db, ctx, episodes)
        .await?
        .into_iter()
        .map(|v| (v.episode.id, v))
        .collect();
    let view_of = |id: &Uuid| {
        views
            .get(id)
            .cloned()
            .ok_or_else(|| AppError::internal(format!("missing episode {id} vanished")))
    };
    let mut result = Vec::with_capacity(pairs.len());
    for (asked, other) in &pairs {
        let overlapped = view_of(asked)?;
        let episode = view_of(other)?;
        let child = children
            .get(&episode.episode.child_id)
            .cloned()
            .ok_or_else(|| AppError::internal(format!("child of episode {other} not found")))?;
        let starts_at = overlapped
            .episode
            .reported_missing_at
            .max(episode.episode.reported_missing_at);
        let end = episode_end(&overlapped.episode, now).min(episode_end(&episode.episode, now));
        let ongoing =
            overlapped.episode.returned_at.is_none() && episode.episode.returned_at.is_none();
        result.push(Overlap {
            child,
            hours: (end - starts_at).num_seconds() as f64 / 3600.0,
            ends_at: (!ongoing).then_some(end),
            starts_at,
            episode,
            overlapped,
        });
    }
    let mut entry = AuditEntry::success(ACTION)
        .entity("Child", child_id)
        .purpose("safeguarding.missing")
        .children(std::iter::once(child_id).chain(result.iter().map(|o| o.child.id)));
    for id in views.keys() {
        entry = entry.reference("MissingEpisode", id);
    }
    audit::record_alone(&core.db, ctx, entry).await?;
    Ok(result)
}
