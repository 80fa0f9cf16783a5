//! Subscriptions (over `/graphql/ws`): changes pushed to partners and MASH staff as they
//! commit. Each event names its record by id; the record itself is read, when a subscriber
//! selects it, through the policy and the audit writer like any other read.
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use async_graphql::{Context, Description, Enum, Object, Result, Subscription, ID};
use chrono::{DateTime, Utc};
use entity::change_event;
use futures_util::{Stream, StreamExt};
use tokio::sync::watch;

use super::case_types::{Contact, InformationRequest};
use super::codes::ContactStatus;
use super::{env, ids};
use crate::domain::case::{contacts, requests};
use crate::domain::events::{self, ChangeKind, Feed, Lagged};
use crate::domain::policy::Topic;
use crate::error::{AppError, AppResult};
use crate::event_bus::{BusEvent, DisclosureRead};

/// Subscriptions one connection may hold at once.
pub const MAX_SUBSCRIPTIONS_PER_CONNECTION: usize = 20;

/// One WebSocket connection's handle for its subscriptions: how many it holds, and how a
/// subscription that fell behind asks for the connection to be closed.
#[derive(Clone)]
pub struct ConnectionControl {
    active: Arc<AtomicUsize>,
    close: Arc<watch::Sender<Option<(u16, String)>>>,
}

impl ConnectionControl {
    pub fn new() -> (ConnectionControl, watch::Receiver<Option<(u16, String)>>) {
        let (close, closed) = watch::channel(None);
        let control = ConnectionControl {
            active: Arc::default(),
            close: Arc::new(close),
        };
        (control, closed)
    }

    fn close(&self, code: u16, reason: String) {
        let _ = self.close.send(Some((code, reason)));
    }
}

/// Counts a subscription as held until its stream is dropped.
struct Held(Arc<AtomicUsize>);

impl Drop for Held {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The close code for a subscriber that fell too far behind.
pub const CLOSE_TOO_SLOW: u16 = 4008;

/// The events of `topic` this subscriber may see, as they are delivered.
async fn feed(ctx: &Context<'_>, topic: Topic) -> Result<impl Stream<Item = Arc<BusEvent>>> {
    let (core, request) = env(ctx);
    let control = ctx.data_opt::<ConnectionControl>().cloned();
    let held = match &control {
        Some(control) => {
            let held = Held(control.active.clone());
            if control.active.fetch_add(1, Ordering::SeqCst) >= MAX_SUBSCRIPTIONS_PER_CONNECTION {
                return Err(AppError::bad_input(
                    "subscription",
                    format!(
                        "at most {MAX_SUBSCRIPTIONS_PER_CONNECTION} subscriptions per connection"
                    ),
                )
                .into());
            }
            Some(held)
        }
        None => None,
    };
    let feed = events::subscribe(core, request, topic).await?;
    Ok(futures_util::stream::unfold(
        (feed, control, held),
        |(mut feed, control, held): (Feed, Option<ConnectionControl>, Option<Held>)| async move {
            match feed.next().await? {
                Ok(event) => Some((event, (feed, control, held))),
                Err(Lagged(missed)) => {
                    if let Some(control) = &control {
                        control.close(
                            CLOSE_TOO_SLOW,
                            format!("subscriber too slow: {missed} events behind; reconnect and catch up with since:"),
                        );
                    }
                    None
                }
            }
        },
    ))
}

fn change(event: Arc<BusEvent>) -> Option<change_event::Model> {
    match &*event {
        BusEvent::Change(change) => Some(change.clone()),
        BusEvent::DisclosureRead(_) => None,
    }
}

/// Pushed changes. Sign in at `connection_init` with `{ "Authorization": "Bearer <token>" }`.
#[derive(Default, Description)]
pub struct Subscription;

#[Subscription(use_type_description)]
impl Subscription {
    /// Requests sent to the caller's agency (its PARTNER_MASH_OFFICERs and clients with
    /// `requests:respond`).
    async fn information_request_received(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = InformationRequestEvent>> {
        let events = feed(ctx, Topic::RequestReceived).await?;
        Ok(events.filter_map(|e| async move { change(e).map(InformationRequestEvent) }))
    }

    /// Partners' answers and declines (MASH staff).
    async fn information_request_answered(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = InformationRequestEvent>> {
        let events = feed(ctx, Topic::RequestAnswered).await?;
        Ok(events.filter_map(|e| async move { change(e).map(InformationRequestEvent) }))
    }

    /// Contacts arriving, changing status or being decided (MASH staff).
    async fn contact_queue_changed(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = ContactEvent>> {
        let events = feed(ctx, Topic::ContactQueue).await?;
        Ok(events.filter_map(|e| async move { change(e).map(ContactEvent) }))
    }

    /// Decisions on the caller's own contacts: a referrer's, or its agency's for the
    /// agency's MASH desk and clients with `contacts:submit`.
    async fn contact_outcome(&self, ctx: &Context<'_>) -> Result<impl Stream<Item = ContactEvent>> {
        let events = feed(ctx, Topic::ContactOutcome).await?;
        Ok(events.filter_map(|e| async move { change(e).map(ContactEvent) }))
    }

    /// Someone outside the caller's agency read what the agency disclosed (its
    /// PARTNER_MASH_OFFICERs and clients with `requests:respond`).
    async fn disclosure_accessed(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = DisclosureAccessEvent>> {
        let events = feed(ctx, Topic::DisclosureAccessed).await?;
        Ok(events.filter_map(|e| async move {
            match &*e {
                BusEvent::DisclosureRead(read) => Some(DisclosureAccessEvent(read.clone())),
                BusEvent::Change(_) => None,
            }
        }))
    }
}

/// The record, or None where the caller may no longer see it (NOT_FOUND, audited).
fn visible<T>(result: AppResult<T>) -> Result<Option<T>> {
    match result {
        Ok(found) => Ok(Some(found)),
        Err(AppError::NotFound) => Ok(None),
        Err(err) => Err(err.into()),
    }
}

/// A request sent or answered.
#[derive(Description)]
pub struct InformationRequestEvent(change_event::Model);

#[Object(use_type_description)]
impl InformationRequestEvent {
    /// This event's place in the stream: after reconnecting, pass the last one received as
    /// `informationRequests(since:)` to fetch what was missed.
    async fn cursor(&self) -> String {
        events::cursor(self.0.id)
    }
    /// When the change was made.
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
    /// The request's id (as `informationRequest(id:)` and `node(id:)` take it).
    async fn request_id(&self) -> ID {
        ids::encode("InformationRequest", self.0.subject_id)
    }
    /// The request as the subscriber may see it now: an audited read, like
    /// `informationRequest(id:)`. Null if it is no longer visible to the subscriber.
    async fn request(&self, ctx: &Context<'_>) -> Result<Option<InformationRequest>> {
        let (core, request) = env(ctx);
        let found = requests::get_request(core, request, self.0.subject_id).await;
        Ok(visible(found)?.map(InformationRequest))
    }
}

/// What happened to a contact.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContactChange {
    /// A new contact arrived.
    Arrived,
    /// Its status, recommendation or immediate-risk flag changed.
    Updated,
    /// A MASH manager decided it.
    Decided,
}

/// A contact arrived, changed or was decided.
#[derive(Description)]
pub struct ContactEvent(change_event::Model);

#[Object(use_type_description)]
impl ContactEvent {
    /// This event's place in the stream: after reconnecting, pass the last one received as
    /// `contacts(since:)` to fetch what was missed.
    async fn cursor(&self) -> String {
        events::cursor(self.0.id)
    }
    /// When the change was made.
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
    /// What happened.
    async fn change(&self) -> ContactChange {
        match ChangeKind::parse(&self.0.kind) {
            Some(ChangeKind::ContactArrived) => ContactChange::Arrived,
            Some(ChangeKind::ContactDecided) => ContactChange::Decided,
            _ => ContactChange::Updated,
        }
    }
    /// The contact's id (as `contact(id:)` and `node(id:)` take it).
    async fn contact_id(&self) -> ID {
        ids::encode("Contact", self.0.subject_id)
    }
    /// The contact's status after the change.
    async fn status(&self) -> Option<ContactStatus> {
        entity::codes::ContactStatus::parse(&self.0.status).map(Into::into)
    }
    /// The contact as the subscriber may see it now: an audited read, like `contact(id:)`.
    /// Null if it is no longer visible to the subscriber.
    async fn contact(&self, ctx: &Context<'_>) -> Result<Option<Contact>> {
        let (core, request) = env(ctx);
        let found = contacts::get_contact(core, request, self.0.subject_id).await;
        Ok(visible(found)?.map(Contact))
    }
}

/// One of the subscriber's agency's disclosures was read by someone outside it. Who read
/// it, and why, is in `disclosureAccessLog`.
#[derive(Description)]
pub struct DisclosureAccessEvent(DisclosureRead);

#[Object(use_type_description)]
impl DisclosureAccessEvent {
    /// When it was read.
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
    /// The disclosure that was read.
    async fn disclosure_id(&self) -> ID {
        ids::encode("Disclosure", self.0.disclosure_id)
    }
    /// The reader's agency (none for an operator at the console).
    async fn reader_agency(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        let (core, _) = env(ctx);
        Ok(events::reader_agency(core, &self.0).await?)
    }
    /// Whether a person (`USER`) or a system (`CLIENT`) read it.
    async fn reader_kind(&self) -> &str {
        &self.0.reader_kind
    }
}
