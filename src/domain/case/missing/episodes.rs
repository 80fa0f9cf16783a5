//! Reporting episodes (one or a batch): checks, the child's record, views, storing.
use super::*;
use crate::domain::audit::Action;
use crate::domain::common::code_lists::CodeList;
use crate::domain::policy::{self, Grant};

/// The police risk grade the caller gave, as stored.
fn risk_grade(field: &str, text: &str) -> AppResult<RiskGrade> {
    RiskGrade::parse(text).ok_or_else(|| CodeList::RiskGrade.refusal(field, ""))
}

pub(super) fn validate(prefix: &str, input: &EpisodeInput) -> AppResult<ChildDetails> {
    let f = |name: &str| format!("{prefix}{name}");
    let child = input.child.clone().validated(&f("child"))?;
    if let Some(key) = &input.idempotency_key {
        idempotency::checked_key(&f("idempotencyKey"), key)?;
    }
    risk_grade(&f("riskGrade"), &input.risk_grade)?;
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

pub(super) async fn interview_for<C: ConnectionTrait>(
    conn: &C,
    episode: &missing_episode::Model,
) -> AppResult<Option<rhi::Model>> {
    Ok(rhi::Entity::find()
        .filter(rhi::Column::EpisodeId.eq(episode.id))
        .one(conn)
        .await?)
}

pub(super) async fn open_interview<C: ConnectionTrait>(
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

pub(super) async fn view<C: ConnectionTrait>(
    conn: &C,
    grant: &Grant<'_>,
    episode: missing_episode::Model,
) -> AppResult<EpisodeView> {
    load_views(conn, grant, vec![episode])
        .await?
        .pop()
        .ok_or(AppError::NotFound)
}

/// The views of several episodes in a fixed number of queries (a page costs the same round
/// trips as one episode): one for the interviews and, for MASH staff, one for the 30-day
/// histories of the children on the page. Order is kept.
pub(super) async fn load_views<C: ConnectionTrait>(
    conn: &C,
    grant: &Grant<'_>,
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
    let history = if grant.is_mash_staff() {
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
pub(super) async fn recent_history<C: ConnectionTrait>(
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
pub(super) async fn store(
    core: &Core,
    grant: &Grant<'_>,
    input: &EpisodeInput,
    child: ChildDetails,
) -> AppResult<EpisodeView> {
    let ctx = grant.ctx();
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
                    let view = view(&txn, grant, episode).await?;
                    audit::record(&txn, ctx, entry(Action::MissingReportReplay, &view)).await?;
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
        risk_grade: Set(risk_grade("riskGrade", &input.risk_grade)?),
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
            return Box::pin(store(core, grant, input, child)).await;
        }
    }
    let view = view(&txn, grant, episode).await?;
    audit::record(&txn, ctx, entry(grant.action(), &view)).await?;
    txn.commit().await?;
    Ok(view)
}

pub(super) fn entry(action: Action, view: &EpisodeView) -> AuditEntry {
    AuditEntry::success(action)
        .entity("MissingEpisode", view.episode.id)
        .children([view.episode.child_id])
        .purpose("safeguarding.missing")
        .detail(json!({ "riskGrade": view.episode.risk_grade.as_str() }))
}

/// The grant to report missing episodes (one or a batch): a police desk or client.
async fn may_report<'a>(core: &Core, ctx: &'a RequestCtx) -> AppResult<Grant<'a>> {
    policy::allow(
        core,
        ctx,
        Action::MissingReport,
        CaseOperation::ReportMissing,
    )
    .await
}

pub async fn report(core: &Core, ctx: &RequestCtx, input: EpisodeInput) -> AppResult<EpisodeView> {
    let grant = may_report(core, ctx).await?;
    let child = validate("", &input)?;
    store(core, &grant, &input, child).await
}

/// A batch: each item validated and stored on its own; bad items fail alone.
pub async fn report_batch(
    core: &Core,
    ctx: &RequestCtx,
    inputs: Vec<EpisodeInput>,
) -> AppResult<Vec<AppResult<EpisodeView>>> {
    let grant = may_report(core, ctx).await?;
    if inputs.is_empty() || inputs.len() > MAX_BATCH {
        return Err(AppError::bad_input(
            "episodes",
            format!("give 1–{MAX_BATCH} episodes"),
        ));
    }
    let mut results = Vec::with_capacity(inputs.len());
    for (i, input) in inputs.iter().enumerate() {
        let result = match validate(&format!("episodes[{i}]."), input) {
            Ok(child) => store(core, &grant, input, child).await,
            Err(err) => Err(err),
        };
        results.push(result);
    }
    Ok(results)
}
