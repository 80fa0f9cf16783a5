//! The rows of each list, read from the records of a period in a fixed number of queries.
use super::*;

/// The period as instants, widened by a day either side for the query; rows are then kept
/// by their exact London date, so the database's own time comparison never decides.
pub(super) struct Period {
    pub(super) from: NaiveDate,
    pub(super) to: NaiveDate,
}

impl Period {
    fn query_start(&self, first_day: NaiveDate) -> DateTime<Utc> {
        start_of_day(first_day) - Duration::days(1)
    }

    fn query_end(&self) -> DateTime<Utc> {
        start_of_day(self.to) + Duration::days(2)
    }

    fn contains(&self, at: DateTime<Utc>) -> bool {
        let day = london_date(at);
        day >= self.from && day <= self.to
    }

    /// The first day any "last 12 months" count of a row in the period can reach back to.
    fn history_start(&self) -> NaiveDate {
        twelve_months_back(self.from)
    }
}

/// A row before sorting: its event date, the record's id, the child, the list's own columns.
pub(super) struct Row {
    pub(super) day: NaiveDate,
    id: Uuid,
    pub(super) child_id: Uuid,
    pub(super) extra: Vec<String>,
}

pub(super) async fn children_by_id<C: ConnectionTrait>(
    conn: &C,
    ids: impl IntoIterator<Item = Uuid>,
) -> AppResult<HashMap<Uuid, child::Model>> {
    let ids: Vec<Uuid> = ids
        .into_iter()
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut children = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        for c in child::Entity::find()
            .filter(child::Column::Id.is_in(chunk.iter().copied()))
            .all(conn)
            .await?
        {
            children.insert(c.id, c);
        }
    }
    Ok(children)
}

pub(super) fn disability(children: &HashMap<Uuid, child::Model>, child_id: Uuid) -> String {
    yes_no(children.get(&child_id).and_then(|c| c.disability))
}

pub(super) fn common_columns(
    child_id: Uuid,
    child: Option<&child::Model>,
    on: NaiveDate,
) -> Vec<String> {
    vec![
        child_id.to_string(),
        gender_form(child.map(|c| c.gender)).to_string(),
        ethnicity_form(child.and_then(|c| c.ethnicity.as_deref())),
        child
            .and_then(|c| c.date_of_birth)
            .map(date_form)
            .unwrap_or_default(),
        age_on(child.and_then(|c| c.date_of_birth), on),
    ]
}

/// The dates of each child's records, for the "last 12 months" counts.
pub(super) fn dates_by_child(
    records: impl IntoIterator<Item = (Uuid, DateTime<Utc>)>,
) -> HashMap<Uuid, Vec<NaiveDate>> {
    let mut by_child: HashMap<Uuid, Vec<NaiveDate>> = HashMap::new();
    for (child_id, at) in records {
        by_child.entry(child_id).or_default().push(london_date(at));
    }
    by_child
}

/// List 1: contacts received in the period, one row per child per contact.
pub(super) async fn contacts<C: ConnectionTrait>(conn: &C, period: &Period) -> AppResult<Vec<Row>> {
    let rows = contact::Entity::find()
        .filter(contact::Column::OccurredAt.gte(period.query_start(period.from)))
        .filter(contact::Column::OccurredAt.lt(period.query_end()))
        .order_by_asc(contact::Column::OccurredAt)
        .order_by_asc(contact::Column::Id)
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter(|c| period.contains(c.occurred_at))
        .map(|c| {
            let day = london_date(c.occurred_at);
            Row {
                day,
                id: c.id,
                child_id: c.child_id,
                extra: vec![date_form(day), source_form(&c.source_code)],
            }
        })
        .collect())
}

/// List 2: early help assessments started in the period.
pub(super) async fn early_help<C: ConnectionTrait>(
    conn: &C,
    period: &Period,
) -> AppResult<Vec<Row>> {
    let rows = episode::Entity::find()
        .filter(episode::Column::AssessmentStartedAt.gte(period.query_start(period.from)))
        .filter(episode::Column::AssessmentStartedAt.lt(period.query_end()))
        .order_by_asc(episode::Column::Id)
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|e| {
            let started = e.assessment_started_at.filter(|at| period.contains(*at))?;
            let day = london_date(started);
            Some(Row {
                day,
                id: e.id,
                child_id: e.child_id,
                extra: vec![
                    date_form(day),
                    london_date_form(e.assessment_completed_at),
                    e.organisation.clone().unwrap_or_default(),
                ],
            })
        })
        .collect())
}

/// List 3: referrals made in the period, with the child's referrals in the last 12 months.
pub(super) async fn referrals<C: ConnectionTrait>(
    conn: &C,
    period: &Period,
) -> AppResult<Vec<Row>> {
    // One query: every referral from the earliest day a count reaches back to, to the end.
    let history = referral::Entity::find()
        .filter(referral::Column::ReferredAt.gte(period.query_start(period.history_start())))
        .filter(referral::Column::ReferredAt.lt(period.query_end()))
        .order_by_asc(referral::Column::Id)
        .all(conn)
        .await?;
    let dates = dates_by_child(history.iter().map(|r| (r.child_id, r.referred_at)));
    Ok(history
        .into_iter()
        .filter(|r| period.contains(r.referred_at))
        .map(|r| {
            let day = london_date(r.referred_at);
            let nfa = r.outcome == Some(ReferralOutcome::NoFurtherAction);
            Row {
                day,
                id: r.id,
                child_id: r.child_id,
                extra: vec![
                    date_form(day),
                    source_form(&r.source_code),
                    yes_no(Some(nfa)),
                    in_last_12_months(dates.get(&r.child_id), day).to_string(),
                    r.allocated_team.unwrap_or_default(),
                    r.allocated_worker.unwrap_or_default(),
                ],
            }
        })
        .collect())
}

/// Whether an authorised assessment found the child needs LA children's social care support.
pub(super) fn requires_support(a: &assessment::Model) -> Option<bool> {
    a.authorised_at?;
    match a.outcome? {
        AssessmentOutcome::StrategyDiscussion | AssessmentOutcome::Other => Some(true),
        AssessmentOutcome::NoFurtherAction | AssessmentOutcome::StepDownToEarlyHelp => Some(false),
    }
}

/// List 4: assessments started in the period.
pub(super) async fn assessments<C: ConnectionTrait>(
    conn: &C,
    period: &Period,
) -> AppResult<(Vec<assessment::Model>, Vec<Uuid>)> {
    let rows: Vec<assessment::Model> = assessment::Entity::find()
        .filter(assessment::Column::StartedAt.gte(period.query_start(period.from)))
        .filter(assessment::Column::StartedAt.lt(period.query_end()))
        .order_by_asc(assessment::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .filter(|a| period.contains(a.started_at))
        .collect();
    let children = rows.iter().map(|a| a.child_id).collect();
    Ok((rows, children))
}

pub(super) fn assessment_rows(
    rows: Vec<assessment::Model>,
    children: &HashMap<Uuid, child::Model>,
) -> Vec<Row> {
    rows.into_iter()
        .map(|a| {
            let day = london_date(a.started_at);
            Row {
                day,
                id: a.id,
                child_id: a.child_id,
                extra: vec![
                    disability(children, a.child_id),
                    date_form(day),
                    london_date_form(a.child_seen_at),
                    london_date_form(a.authorised_at),
                    yes_no(requires_support(&a)),
                    a.allocated_team.clone().unwrap_or_default(),
                    a.allocated_worker.clone().unwrap_or_default(),
                ],
            }
        })
        .collect()
}

/// Section 47 enquiries started in the period, with what the list 5 columns need: the
/// conference of each, and the child's enquiries and conferences in the last 12 months.
pub(super) struct Section47Data {
    enquiries: Vec<section47::Model>,
    conference_of: HashMap<Uuid, conference::Model>,
    enquiry_dates: HashMap<Uuid, Vec<NaiveDate>>,
    conference_dates: HashMap<Uuid, Vec<NaiveDate>>,
}

pub(super) async fn section47s<C: ConnectionTrait>(
    conn: &C,
    period: &Period,
) -> AppResult<Section47Data> {
    let history_start = period.query_start(period.history_start());
    let history = section47::Entity::find()
        .filter(section47::Column::StartedAt.gte(history_start))
        .filter(section47::Column::StartedAt.lt(period.query_end()))
        .order_by_asc(section47::Column::Id)
        .all(conn)
        .await?;
    // Conferences from the same day on, including those held after the period ends (an
    // enquiry in the period reports its conference whenever it was held).
    let conferences = conference::Entity::find()
        .filter(conference::Column::HeldAt.gte(history_start))
        .order_by_asc(conference::Column::Id)
        .all(conn)
        .await?;
    let enquiry_dates = dates_by_child(history.iter().map(|s| (s.child_id, s.started_at)));
    let conference_dates = dates_by_child(conferences.iter().map(|c| (c.child_id, c.held_at)));
    let enquiries: Vec<section47::Model> = history
        .into_iter()
        .filter(|s| period.contains(s.started_at))
        .collect();
    let wanted: HashSet<Uuid> = enquiries.iter().map(|s| s.id).collect();
    let conference_of = conferences
        .into_iter()
        .filter(|c| wanted.contains(&c.section47_id))
        .map(|c| (c.section47_id, c))
        .collect();
    Ok(Section47Data {
        enquiries,
        conference_of,
        enquiry_dates,
        conference_dates,
    })
}

pub(super) fn section47_rows(
    data: Section47Data,
    children: &HashMap<Uuid, child::Model>,
) -> Vec<Row> {
    data.enquiries
        .into_iter()
        .map(|s| {
            let day = london_date(s.started_at);
            let conference = data.conference_of.get(&s.id);
            let unnecessary = s
                .outcome
                .map(|o| o != Section47Outcome::InitialChildProtectionConference);
            Row {
                day,
                id: s.id,
                child_id: s.child_id,
                extra: vec![
                    disability(children, s.child_id),
                    date_form(day),
                    yes_no(unnecessary),
                    london_date_form(conference.map(|c| c.held_at)),
                    yes_no(conference.map(|c| c.plan_made)),
                    in_last_12_months(data.enquiry_dates.get(&s.child_id), day).to_string(),
                    in_last_12_months(data.conference_dates.get(&s.child_id), day).to_string(),
                    s.allocated_team.clone().unwrap_or_default(),
                    s.allocated_worker.clone().unwrap_or_default(),
                ],
            }
        })
        .collect()
}

/// The rows of one list, in event-date then id order.
pub(super) async fn rows<C: ConnectionTrait>(
    conn: &C,
    list: u8,
    period: &Period,
) -> AppResult<(Vec<Row>, HashMap<Uuid, child::Model>)> {
    let (mut rows, children) = match list {
        4 => {
            let (found, ids) = assessments(conn, period).await?;
            let children = children_by_id(conn, ids).await?;
            (assessment_rows(found, &children), children)
        }
        5 => {
            let data = section47s(conn, period).await?;
            let children = children_by_id(conn, data.enquiries.iter().map(|s| s.child_id)).await?;
            (section47_rows(data, &children), children)
        }
        _ => {
            let rows = match list {
                1 => contacts(conn, period).await?,
                2 => early_help(conn, period).await?,
                _ => referrals(conn, period).await?,
            };
            let children = children_by_id(conn, rows.iter().map(|r| r.child_id)).await?;
            (rows, children)
        }
    };
    rows.sort_by_key(|r| (r.day, r.id));
    Ok((rows, children))
}
