//! The facts a report is computed from, read once per report in a fixed number of queries.
use super::*;

/// Something with a London date; facts are kept sorted by it.
pub(super) trait Dated {
    fn date(&self) -> NaiveDate;
}

/// The facts in `window`: a slice of date-sorted facts.
pub(super) fn within<T: Dated>(facts: &[T], window: Window) -> &[T] {
    let start = facts.partition_point(|f| f.date() < window.from);
    let end = facts.partition_point(|f| f.date() <= window.to);
    &facts[start..end.max(start)]
}

/// Contacts of one London day from one agency and source, counted in the database.
pub(super) struct ContactGroup {
    day: NaiveDate,
    pub(super) agency: Uuid,
    pub(super) source: String,
    pub(super) contacts: u64,
    pub(super) consent_recorded: u64,
    pub(super) nfa: u64,
    pub(super) decided_in_time: u64,
    pub(super) recorded_late: u64,
}

/// Events of one London day, counted in the database, and how many of them had a property
/// (assessments ending in no further action; enquiries leading to a conference).
pub(super) struct DayCount {
    day: NaiveDate,
    pub(super) count: u64,
    pub(super) hits: u64,
}

#[derive(Clone, Copy)]
pub(super) enum Interview {
    AwaitingReturn,
    Open,
    Completed { in_time: bool, late: Option<usize> },
    NotOffered(Option<usize>),
    Declined,
    CarriedOver,
}

pub(super) struct EpisodeFact {
    day: NaiveDate,
    pub(super) child: Uuid,
    pub(super) notification_hours: Option<f64>,
    pub(super) return_notification_hours: Option<f64>,
    pub(super) recorded_late: bool,
    pub(super) interview: Interview,
}

pub(super) struct RequestFact {
    day: NaiveDate,
    pub(super) agency: Uuid,
    pub(super) answered_hours: Option<f64>,
    pub(super) by_due: bool,
}

pub(super) struct EarlyHelpFact {
    day: NaiveDate,
    pub(super) screening_days: Option<f64>,
    pub(super) assessment_days: Option<f64>,
    pub(super) outcome: Option<usize>,
}

macro_rules! dated {
    ($($t:ty),+) => {$(
        impl Dated for $t {
            fn date(&self) -> NaiveDate {
                self.day
            }
        }
    )+};
}
dated!(
    ContactGroup,
    DayCount,
    EpisodeFact,
    RequestFact,
    EarlyHelpFact
);

/// Every fact the report needs, from the start of the previous period to the end.
pub(super) struct Facts {
    pub(super) agencies: HashMap<Uuid, String>,
    pub(super) contacts: Vec<ContactGroup>,
    pub(super) referrals: Vec<DayCount>,
    /// Assessments by authorisation; hits: the outcome was no further action.
    pub(super) assessments: Vec<DayCount>,
    pub(super) strategy_discussions: Vec<DayCount>,
    /// Section 47 enquiries by start; hits: a conference followed.
    pub(super) section47s: Vec<DayCount>,
    pub(super) episodes: Vec<EpisodeFact>,
    pub(super) requests: Vec<RequestFact>,
    pub(super) early_help: Vec<EarlyHelpFact>,
}

pub(super) fn sorted<T: Dated>(mut facts: Vec<T>) -> Vec<T> {
    facts.sort_by_key(Dated::date);
    facts
}

#[derive(FromQueryResult)]
pub(super) struct RequestRow {
    to_agency_id: Uuid,
    sent_at: DateTime<Utc>,
    due_at: DateTime<Utc>,
    answered_at: Option<DateTime<Utc>>,
}

#[derive(FromQueryResult)]
pub(super) struct EarlyHelpRow {
    requested_at: DateTime<Utc>,
    screened_at: Option<DateTime<Utc>>,
    screening_outcome: Option<ScreeningOutcome>,
    assessment_started_at: Option<DateTime<Utc>>,
}

pub(super) fn position(codes: &[&str], code: Option<&str>) -> Option<usize> {
    code.and_then(|c| codes.iter().position(|k| *k == c))
}

/// SQL for "`recorded_at` more than 24 hours after `occurred_at`" ([`recorded_late`]).
pub(super) fn recorded_late_sql(backend: DatabaseBackend) -> &'static str {
    match backend {
        DatabaseBackend::Postgres => "recorded_at > occurred_at + INTERVAL '24 hours'",
        // On the RFC 3339 UTC text: recorded on the same date or before, not late; on a date
        // at least two days on (a later month from its 2nd, or the same month two days on),
        // late; otherwise the exact difference, in whole milliseconds (SQLite's resolution;
        // rounding removes the error of subtracting two large day numbers). SQLite's date
        // parsing is the costly part, so it runs only for that last case.
        _ => {
            "CASE WHEN substr(recorded_at, 1, 10) <= substr(occurred_at, 1, 10) THEN 0 \
             WHEN substr(recorded_at, 1, 8) > substr(occurred_at, 1, 8) \
                  AND substr(recorded_at, 9, 2) > '01' THEN 1 \
             WHEN substr(recorded_at, 1, 8) = substr(occurred_at, 1, 8) \
                  AND substr(recorded_at, 9, 2) - substr(occurred_at, 9, 2) >= 2 THEN 1 \
             ELSE round((julianday(recorded_at) - julianday(occurred_at)) * 86400000.0) \
                  > 86400000 END"
        }
    }
}

/// One group of a [`day_groups`] query: its London day, its row (the key columns follow the
/// bucket columns), its count, and how many of it met each condition.
pub(super) struct DayGroup {
    day: NaiveDate,
    row: QueryResult,
    count: u64,
    hits: Vec<u64>,
}

/// Counts the rows of `table` whose `time` falls in [`$1`, `$2`), grouped by `keys` and by
/// day, with how many of each group meet each of `conditions` — so the database sends a few
/// rows a day, not every record. The database groups by the UTC date and whether the time is
/// in the 23:00 UTC hour (the only hour whose London date can differ from its UTC date:
/// Europe/London is UTC or UTC+1, changing on the hour); the London date of each group is
/// then worked out here, by the one calendar the service uses (`clock::london_date`).
pub(super) async fn day_groups<C: ConnectionTrait>(
    conn: &C,
    table: &str,
    time: &str,
    keys: &[&str],
    conditions: &[&str],
    values: Vec<sea_orm::Value>,
) -> AppResult<Vec<DayGroup>> {
    let backend = conn.get_database_backend();
    let (date, late_hour) = match backend {
        DatabaseBackend::Postgres => (
            format!("CAST({time} AT TIME ZONE 'UTC' AS DATE)"),
            format!("EXTRACT(HOUR FROM {time} AT TIME ZONE 'UTC') = 23"),
        ),
        // SQLite holds a UTC time as RFC 3339 text (`2019-09-30T23:30:00+00:00`, as sqlx
        // writes a `DateTime<Utc>`; every time comparison in the service relies on it): the
        // date and hour are its first characters, far cheaper than parsing each time.
        _ => (
            format!("substr({time}, 1, 10)"),
            format!("substr({time}, 12, 2) = '23'"),
        ),
    };
    let mut columns = vec![
        format!("{date} AS bucket_date"),
        format!("CAST(CASE WHEN {late_hour} THEN 1 ELSE 0 END AS BIGINT) AS bucket_late"),
    ];
    columns.extend(keys.iter().map(|k| k.to_string()));
    columns.push("COUNT(*) AS bucket_count".into());
    columns.extend(
        conditions
            .iter()
            .map(|c| format!("SUM(CASE WHEN {c} THEN 1 ELSE 0 END)")),
    );
    let mut group = vec!["bucket_date", "bucket_late"];
    group.extend(keys);
    let sql = format!(
        "SELECT {} FROM {table} WHERE {time} >= $1 AND {time} < $2 GROUP BY {}",
        columns.join(", "),
        group.join(", ")
    );
    let rows = conn
        .query_all_raw(crate::db::statement(backend, &sql, values))
        .await?;
    let count_at = 2 + keys.len();
    rows.into_iter()
        .map(|row| {
            let utc_date: NaiveDate = row.try_get_by_index(0)?;
            let late: i64 = row.try_get_by_index(1)?;
            let day = if late == 1 {
                london_date(
                    utc_date
                        .and_time(NaiveTime::from_hms_opt(23, 0, 0).expect("23:00"))
                        .and_utc(),
                )
            } else {
                utc_date
            };
            let count: i64 = row.try_get_by_index(count_at)?;
            let hits = (0..conditions.len())
                .map(|i| {
                    row.try_get_by_index::<i64>(count_at + 1 + i)
                        .map(|n| n as u64)
                })
                .collect::<Result<Vec<u64>, sea_orm::DbErr>>()?;
            Ok(DayGroup {
                day,
                row,
                count: count as u64,
                hits,
            })
        })
        .collect()
}

/// Reads every fact for `window` (the previous period's start to the report's end) in one
/// snapshot: a query per table, only the columns the figures need, a day's margin either
/// side; rows are then kept by their exact London date.
pub(super) async fn load<C: ConnectionTrait>(conn: &C, window: Window) -> AppResult<Facts> {
    let start = start_of_day(window.from) - Duration::days(1);
    let end = start_of_day(window.to) + Duration::days(2);
    let inside = |day: NaiveDate| day >= window.from && day <= window.to;

    let agencies = agency::Entity::find()
        .select_only()
        .columns([agency::Column::Id, agency::Column::Name])
        .into_tuple::<(Uuid, String)>()
        .all(conn)
        .await?
        .into_iter()
        .collect();

    let backend = conn.get_database_backend();
    let range = || vec![start.into(), end.into()];

    // Contacts, counted per London day, agency and source in one grouped query.
    let late = recorded_late_sql(backend);
    let contacts = day_groups(
        conn,
        "contacts",
        "occurred_at",
        &["agency_id", "source_code"],
        &[
            "consent_position IN ('GIVEN', 'REFUSED')",
            "outcome = 'NO_FURTHER_ACTION'",
            "decided_at <= decision_due_at",
            late,
        ],
        range(),
    )
    .await?
    .into_iter()
    .filter(|g| inside(g.day))
    .map(|g| {
        Ok(ContactGroup {
            day: g.day,
            agency: g.row.try_get_by_index(2)?,
            source: g.row.try_get_by_index(3)?,
            contacts: g.count,
            consent_recorded: g.hits[0],
            nfa: g.hits[1],
            decided_in_time: g.hits[2],
            recorded_late: g.hits[3],
        })
    })
    .collect::<Result<Vec<_>, sea_orm::DbErr>>()?;

    let day_counts = |groups: Vec<DayGroup>| -> Vec<DayCount> {
        groups
            .into_iter()
            .filter(|g| inside(g.day))
            .map(|g| DayCount {
                day: g.day,
                count: g.count,
                hits: g.hits.first().copied().unwrap_or(0),
            })
            .collect()
    };
    let referrals =
        day_counts(day_groups(conn, "referrals", "referred_at", &[], &[], range()).await?);
    let assessments = day_counts(
        day_groups(
            conn,
            "assessments",
            "authorised_at",
            &[],
            &["outcome = 'NO_FURTHER_ACTION'"],
            range(),
        )
        .await?,
    );
    let strategy_discussions =
        day_counts(day_groups(conn, "strategy_discussions", "held_at", &[], &[], range()).await?);
    // An enquiry led to a conference when one exists for it, whenever it was held.
    let section47s = day_counts(
        day_groups(
            conn,
            "section47_enquiries",
            "started_at",
            &[],
            &["EXISTS (SELECT 1 FROM child_protection_conferences c \
               WHERE c.section47_id = section47_enquiries.id)"],
            range(),
        )
        .await?,
    );

    // Missing episodes by the time the notification was received (`la_notified_at`, or the
    // missing report's own time where none is recorded), each with its interview: one join.
    let sql = "SELECT e.child_id, e.reported_missing_at, e.la_notified_at, e.returned_at, \
         e.return_notified_at, e.recorded_at, \
         CAST(CASE WHEN r.id IS NULL THEN 0 ELSE 1 END AS BIGINT), r.outcome, \
         CAST(CASE WHEN r.completed_at <= r.due_at THEN 1 ELSE 0 END AS BIGINT), \
         r.late_reason, r.not_offered_reason \
         FROM missing_episodes e LEFT JOIN return_home_interviews r ON r.episode_id = e.id \
         WHERE (e.la_notified_at >= $1 AND e.la_notified_at < $2) \
            OR (e.la_notified_at IS NULL AND e.reported_missing_at >= $1 \
                AND e.reported_missing_at < $2)";
    let mut episodes = Vec::new();
    for row in conn
        .query_all_raw(crate::db::statement(backend, sql, range()))
        .await?
    {
        let reported: DateTime<Utc> = row.try_get_by_index(1)?;
        let notified: Option<DateTime<Utc>> = row.try_get_by_index(2)?;
        let day = london_date(notified.unwrap_or(reported));
        if !inside(day) {
            continue;
        }
        let returned: Option<DateTime<Utc>> = row.try_get_by_index(3)?;
        let return_notified: Option<DateTime<Utc>> = row.try_get_by_index(4)?;
        let recorded: DateTime<Utc> = row.try_get_by_index(5)?;
        let has_interview: i64 = row.try_get_by_index(6)?;
        let outcome: Option<InterviewOutcome> = row.try_get_by_index(7)?;
        let in_time: i64 = row.try_get_by_index(8)?;
        let late_reason: Option<String> = row.try_get_by_index(9)?;
        let not_offered_reason: Option<String> = row.try_get_by_index(10)?;
        let interview = match (has_interview, outcome) {
            (0, _) => Interview::AwaitingReturn,
            (_, Some(InterviewOutcome::Completed)) => Interview::Completed {
                in_time: in_time == 1,
                late: position(&LATE_REASONS, late_reason.as_deref()),
            },
            (_, Some(InterviewOutcome::NotOffered)) => Interview::NotOffered(position(
                &NOT_OFFERED_REASONS,
                not_offered_reason.as_deref(),
            )),
            (_, Some(InterviewOutcome::Declined)) => Interview::Declined,
            (_, Some(InterviewOutcome::CarriedOver)) => Interview::CarriedOver,
            (_, None) => Interview::Open,
        };
        episodes.push(EpisodeFact {
            day,
            child: row.try_get_by_index(0)?,
            notification_hours: notified.map(|n| hours(reported, n)),
            return_notification_hours: returned.zip(return_notified).map(|(r, n)| hours(r, n)),
            recorded_late: recorded_late(reported, recorded),
            interview,
        });
    }

    let requests = request::Entity::find()
        .select_only()
        .columns([
            request::Column::ToAgencyId,
            request::Column::SentAt,
            request::Column::DueAt,
            request::Column::AnsweredAt,
        ])
        .filter(request::Column::SentAt.gte(start))
        .filter(request::Column::SentAt.lt(end))
        .filter(request::Column::Status.ne(RequestStatus::Withdrawn))
        .into_model::<RequestRow>()
        .all(conn)
        .await?
        .into_iter()
        .filter_map(|r| {
            let day = london_date(r.sent_at);
            inside(day).then(|| RequestFact {
                day,
                agency: r.to_agency_id,
                answered_hours: r.answered_at.map(|a| hours(r.sent_at, a)),
                by_due: r.answered_at.is_some_and(|a| a <= r.due_at),
            })
        })
        .collect();

    let early_help = early_help::Entity::find()
        .select_only()
        .columns([
            early_help::Column::RequestedAt,
            early_help::Column::ScreenedAt,
            early_help::Column::ScreeningOutcome,
            early_help::Column::AssessmentStartedAt,
        ])
        .filter(early_help::Column::RequestedAt.gte(start))
        .filter(early_help::Column::RequestedAt.lt(end))
        .into_model::<EarlyHelpRow>()
        .all(conn)
        .await?
        .into_iter()
        .filter_map(|e| {
            let day = london_date(e.requested_at);
            inside(day).then(|| EarlyHelpFact {
                day,
                screening_days: e.screened_at.map(|s| days(e.requested_at, s)),
                assessment_days: e.assessment_started_at.map(|s| days(e.requested_at, s)),
                outcome: e
                    .screening_outcome
                    .and_then(|o| ScreeningOutcome::iter().position(|k| k == o)),
            })
        })
        .collect();

    Ok(Facts {
        agencies,
        contacts: sorted(contacts),
        referrals: sorted(referrals),
        assessments: sorted(assessments),
        strategy_discussions: sorted(strategy_discussions),
        section47s: sorted(section47s),
        episodes: sorted(episodes),
        requests: sorted(requests),
        early_help: sorted(early_help),
    })
}
