//! The changes subscribers are told of. A service that changes a request or a contact
//! `emit`s an event in its write transaction; subscribers receive it once it has committed,
//! each checked against the policy as it is delivered (`policy::may_receive`). Events carry
//! ids and codes only: a subscriber that wants the record reads it like any other read,
//! through the policy and the audit writer. Every event's id is a cursor: a client that
//! reconnects passes the last one it saw as `since:` to the inbox or the contact list.
//!
//! On PostgreSQL, events are written one transaction at a time in id order (a transaction
//! lock taken just before the row is written, held to commit), so a cursor never skips an
//! event that commits later with a smaller id.
use std::sync::Arc;

use base64::Engine;
use chrono::{SubsecRound, Utc};
use entity::{change_event, contact, disclosure, information_request};
use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, EntityTrait, Set,
};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::db::{statement, WriteTxn};
use crate::domain::audit::{self, Action};
use crate::domain::policy::{self, DisclosureVisibility, Topic};
use crate::domain::{Actor, RequestCtx};
use crate::error::{AppError, AppResult};
use crate::event_bus::{BusEvent, DisclosureRead};
use crate::Core;

/// What happened to a request or a contact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    RequestSent,
    RequestAnswered,
    ContactArrived,
    ContactUpdated,
    ContactDecided,
}

impl ChangeKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            ChangeKind::RequestSent => "REQUEST_SENT",
            ChangeKind::RequestAnswered => "REQUEST_ANSWERED",
            ChangeKind::ContactArrived => "CONTACT_ARRIVED",
            ChangeKind::ContactUpdated => "CONTACT_UPDATED",
            ChangeKind::ContactDecided => "CONTACT_DECIDED",
        }
    }

    pub fn parse(text: &str) -> Option<ChangeKind> {
        [
            ChangeKind::RequestSent,
            ChangeKind::RequestAnswered,
            ChangeKind::ContactArrived,
            ChangeKind::ContactUpdated,
            ChangeKind::ContactDecided,
        ]
        .into_iter()
        .find(|k| k.as_str() == text)
    }

    pub fn is_contact(self) -> bool {
        matches!(
            self,
            ChangeKind::ContactArrived | ChangeKind::ContactUpdated | ChangeKind::ContactDecided
        )
    }
}

/// The change being announced: what happened to which record, for whom.
pub struct Change {
    pub kind: ChangeKind,
    pub subject_id: Uuid,
    /// The agency a request was sent to, or that a contact came from.
    pub agency_id: Option<Uuid>,
    /// The referrer who submitted a contact.
    pub principal_id: Option<Uuid>,
    /// The subject's status after the change.
    pub status: String,
}

impl Change {
    pub fn request(kind: ChangeKind, request: &information_request::Model) -> Change {
        Change {
            kind,
            subject_id: request.id,
            agency_id: Some(request.to_agency_id),
            principal_id: None,
            status: request.status.as_str().to_string(),
        }
    }

    pub fn contact(kind: ChangeKind, contact: &contact::Model) -> Change {
        Change {
            kind,
            subject_id: contact.id,
            agency_id: Some(contact.agency_id),
            principal_id: Some(contact.submitted_by_id),
            status: contact.status.as_str().to_string(),
        }
    }
}

/// Writes `change` in `txn`; it reaches subscribers when `txn` commits, and never if it
/// rolls back.
pub async fn emit(core: &Core, txn: &WriteTxn, change: Change) -> AppResult<()> {
    let at = Utc::now().trunc_subsecs(6);
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        // One statement: take the event turn, write the row, and queue its notification
        // (PostgreSQL sends it at commit).
        let sql = "WITH turn AS (SELECT pg_advisory_xact_lock(7340021)), \
             row AS (INSERT INTO change_events (kind, subject_id, agency_id, principal_id, status, at) \
                     SELECT $1, $2, $3, $4, $5, $6 FROM turn RETURNING id) \
             SELECT id, pg_notify('frontdoor_events', 'c:' || id)::text AS sent FROM row";
        let values = vec![
            change.kind.as_str().into(),
            change.subject_id.into(),
            change.agency_id.into(),
            change.principal_id.into(),
            change.status.into(),
            at.into(),
        ];
        txn.query_one_raw(statement(DatabaseBackend::Postgres, sql, values))
            .await?
            .ok_or_else(|| AppError::internal("change event not written"))?;
        return Ok(());
    }
    let written = change_event::ActiveModel {
        kind: Set(change.kind.as_str().to_string()),
        subject_id: Set(change.subject_id),
        agency_id: Set(change.agency_id),
        principal_id: Set(change.principal_id),
        status: Set(change.status),
        at: Set(at),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    let bus = core.events.clone();
    txn.after_commit(move || bus.committed(written));
    Ok(())
}

/// Announces reads of disclosures to their supplying agencies' subscribers, once the read's
/// audit entry has committed. A supplier reading its own disclosures is not announced.
pub async fn disclosures_read<'a>(
    core: &Core,
    ctx: &RequestCtx,
    disclosures: impl IntoIterator<Item = &'a disclosure::Model>,
) {
    let actor = &ctx.actor;
    let at = Utc::now();
    let reads = disclosures
        .into_iter()
        .filter(|d| actor.agency_id() != Some(d.supplied_by_agency_id))
        .map(|d| DisclosureRead {
            disclosure_id: d.id,
            supplied_by_agency_id: d.supplied_by_agency_id,
            reader_agency_id: actor.agency_id(),
            reader_kind: actor.kind.as_str().to_string(),
            at,
        })
        .collect();
    core.events.disclosures_read(reads).await;
}

/// The disclosures of a view whose content the caller received.
pub fn read_in_full(
    disclosures: &[(disclosure::Model, DisclosureVisibility)],
) -> impl Iterator<Item = &disclosure::Model> {
    disclosures
        .iter()
        .filter(|(_, v)| *v == DisclosureVisibility::Full)
        .map(|(d, _)| d)
}

/// The name of the agency whose member read a disclosure.
pub async fn reader_agency(core: &Core, read: &DisclosureRead) -> AppResult<Option<String>> {
    let Some(id) = read.reader_agency_id else {
        return Ok(None);
    };
    let found = entity::agency::Entity::find_by_id(id).one(&core.db).await?;
    Ok(found.map(|a| a.name))
}

/// A subscriber's events on one topic, as the policy lets it see them.
pub struct Feed {
    receiver: broadcast::Receiver<Arc<BusEvent>>,
    actor: Actor,
    topic: Topic,
}

/// The subscriber fell more than the shared buffer behind and is to be disconnected.
#[derive(Debug)]
pub struct Lagged(pub u64);

/// Starts a subscription; a caller whose role may never see the topic is refused (and
/// that refusal audited).
pub async fn subscribe(core: &Core, ctx: &RequestCtx, topic: Topic) -> AppResult<Feed> {
    audit::on_refusal(
        core,
        ctx,
        Action::EventSubscribe,
        policy::authorize_subscription(&ctx.actor, topic),
    )
    .await?;
    let receiver = core.events.subscribe().await.map_err(AppError::internal)?;
    Ok(Feed {
        receiver,
        actor: ctx.actor.clone(),
        topic,
    })
}

impl Feed {
    /// The next event this subscriber may see; `Err` once it has lagged, `None` at shutdown.
    pub async fn next(&mut self) -> Option<Result<Arc<BusEvent>, Lagged>> {
        loop {
            match self.receiver.recv().await {
                Ok(event) if policy::may_receive(&self.actor, self.topic, &event) => {
                    return Some(Ok(event))
                }
                Ok(_) => continue,
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    return Some(Err(Lagged(missed)))
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

const CURSOR_PREFIX: &str = "ChangeEvent:";

/// An event's opaque cursor.
pub fn cursor(id: i64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{CURSOR_PREFIX}{id}"))
}

fn parse_cursor(field: &str, text: &str) -> AppResult<i64> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|t| t.strip_prefix(CURSOR_PREFIX)?.parse::<i64>().ok())
        .filter(|id| *id >= 0)
        .ok_or_else(|| AppError::bad_input(field, "not an event cursor: pass an event's `cursor`"))
}

/// The records that had events of `kinds` after `since` (a cursor), as a condition on the
/// listed table's id column.
pub fn changed_since(
    id_column: impl ColumnTrait,
    kinds: &[ChangeKind],
    since: &str,
) -> AppResult<Condition> {
    let after = parse_cursor("since", since)?;
    let mut subjects = Query::select();
    subjects
        .column(change_event::Column::SubjectId)
        .from(change_event::Entity)
        .and_where(change_event::Column::Id.gt(after))
        .and_where(change_event::Column::Kind.is_in(kinds.iter().map(|k| k.as_str())));
    Ok(Condition::all().add(id_column.in_subquery(subjects)))
}
