//! Other children missing at the same time as a child: possible links for the MASH to look
//! into.
use super::*;
use crate::domain::audit::Action;
use crate::domain::policy;

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
pub(super) fn episode_end(episode: &missing_episode::Model, now: DateTime<Utc>) -> DateTime<Utc> {
    episode.returned_at.unwrap_or(now)
}

/// Other children's episodes that overlap one of `child`'s: the intervals
/// [reported missing, returned (or now)) intersect. MASH staff only; audited with every
/// child named. Ordered by the start of the overlap.
pub async fn overlaps(core: &Core, ctx: &RequestCtx, child_id: Uuid) -> AppResult<Vec<Overlap>> {
    const ACTION: Action = Action::MissingOverlaps;
    let grant = policy::allow(core, ctx, ACTION, CaseOperation::MashWork).await?;
    let found = child::Entity::find_by_id(child_id).one(&core.db).await?;
    grant
        .on_refusal(core, found.ok_or(AppError::NotFound))
        .await?;
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
    let views: HashMap<Uuid, EpisodeView> = load_views(&core.db, &grant, episodes)
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
    let mut entry = grant
        .entry()
        .entity("Child", child_id)
        .purpose("safeguarding.missing")
        .children(std::iter::once(child_id).chain(result.iter().map(|o| o.child.id)));
    for id in views.keys() {
        entry = entry.reference("MissingEpisode", id);
    }
    audit::record_alone(core, ctx, entry).await?;
    Ok(result)
}
