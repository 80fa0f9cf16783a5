//! How change events travel from the writer to every subscriber. On SQLite (one process) a
//! committed change goes straight to this process's subscribers. On PostgreSQL every event
//! goes through `NOTIFY frontdoor_events` — sent inside the writing transaction, so it is
//! delivered at commit and never for a change that rolled back — and each instance's one
//! listening connection hands it to its own subscribers, wherever it was written.
//! Notifications carry ids only: a change event's id, or the ids of a disclosure read.
//!
//! Subscribers share one bounded buffer (`CAPACITY` events). One that falls that far behind
//! is told it lagged and is disconnected rather than buffered for.
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::change_event;
use sea_orm::sqlx::postgres::PgListener;
use sea_orm::{DatabaseBackend, DatabaseConnection, EntityTrait};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc, OnceCell};
use uuid::Uuid;

/// The PostgreSQL channel every instance listens on.
pub const CHANNEL: &str = "frontdoor_events";
/// Events a subscriber may fall behind by before it is disconnected.
pub const CAPACITY: usize = 1024;
/// Disclosure reads waiting to be announced to other instances; beyond this they are
/// dropped (the access log, not the announcement, is the record of a read).
const PENDING_READS: usize = 4096;

/// Someone outside the supplying agency read one of its disclosures.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisclosureRead {
    pub disclosure_id: Uuid,
    pub supplied_by_agency_id: Uuid,
    pub reader_agency_id: Option<Uuid>,
    pub reader_kind: String,
    pub at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BusEvent {
    Change(change_event::Model),
    DisclosureRead(DisclosureRead),
}

#[derive(Clone)]
pub struct EventBus(Arc<Inner>);

struct Inner {
    db: DatabaseConnection,
    sender: broadcast::Sender<Arc<BusEvent>>,
    listening: OnceCell<()>,
    reads: OnceCell<mpsc::Sender<DisclosureRead>>,
}

impl EventBus {
    pub fn new(db: &DatabaseConnection) -> EventBus {
        let (sender, _) = broadcast::channel(CAPACITY);
        EventBus(Arc::new(Inner {
            db: db.clone(),
            sender,
            listening: OnceCell::new(),
            reads: OnceCell::new(),
        }))
    }

    fn postgres(&self) -> bool {
        self.0.db.get_database_backend() == DatabaseBackend::Postgres
    }

    /// A new subscriber's receiver. On PostgreSQL the listening connection is open before
    /// this returns, so nothing committed afterwards is missed.
    pub async fn subscribe(&self) -> Result<broadcast::Receiver<Arc<BusEvent>>, String> {
        if self.postgres() {
            self.0
                .listening
                .get_or_try_init(|| listen(self.clone()))
                .await?;
        }
        Ok(self.0.sender.subscribe())
    }

    /// Subscribers connected to this instance.
    pub fn subscribers(&self) -> usize {
        self.0.sender.receiver_count()
    }

    /// A change event has committed. On PostgreSQL its NOTIFY, sent in the transaction,
    /// delivers it (here too); on SQLite it goes to the subscribers now.
    pub fn committed(&self, event: change_event::Model) {
        if !self.postgres() {
            let _ = self.0.sender.send(Arc::new(BusEvent::Change(event)));
        }
    }

    /// Disclosures were read (their audit entry has committed).
    pub async fn disclosures_read(&self, reads: Vec<DisclosureRead>) {
        if reads.is_empty() {
            return;
        }
        if !self.postgres() {
            for read in reads {
                let _ = self.0.sender.send(Arc::new(BusEvent::DisclosureRead(read)));
            }
            return;
        }
        let queue = self
            .0
            .reads
            .get_or_init(|| async { announce_reads(self.0.db.clone()) })
            .await;
        for read in reads {
            // A full queue drops the announcement, never the request.
            let _ = queue.try_send(read);
        }
    }
}

/// Opens this instance's listening connection and hands what arrives to the subscribers.
async fn listen(bus: EventBus) -> Result<(), String> {
    let pool = bus.0.db.get_postgres_connection_pool();
    let mut listener = PgListener::connect_with(pool)
        .await
        .map_err(|e| e.to_string())?;
    listener.listen(CHANNEL).await.map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        loop {
            match listener.recv().await {
                Ok(note) => {
                    if let Some(event) = parse(&bus.0.db, note.payload()).await {
                        let _ = bus.0.sender.send(Arc::new(event));
                    }
                }
                Err(err) => {
                    // The listener reconnects on the next call; clients catch up with `since:`.
                    tracing::warn!(error = %err, "event listener lost its connection");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    });
    Ok(())
}

/// A notification's event: `c:<change event id>` (read back by id) or `d:<read as JSON>`.
async fn parse(db: &DatabaseConnection, payload: &str) -> Option<BusEvent> {
    if let Some(id) = payload.strip_prefix("c:") {
        let id: i64 = id.parse().ok()?;
        let event = change_event::Entity::find_by_id(id).one(db).await.ok()??;
        return Some(BusEvent::Change(event));
    }
    let read = serde_json::from_str(payload.strip_prefix("d:")?).ok()?;
    Some(BusEvent::DisclosureRead(read))
}

/// Sends queued disclosure reads as notifications, many to a statement.
fn announce_reads(db: DatabaseConnection) -> mpsc::Sender<DisclosureRead> {
    let (sender, mut receiver) = mpsc::channel::<DisclosureRead>(PENDING_READS);
    tokio::spawn(async move {
        let mut batch = Vec::new();
        while receiver.recv_many(&mut batch, 256).await > 0 {
            let payloads: Vec<String> = batch
                .drain(..)
                .filter_map(|read| serde_json::to_string(&read).ok())
                .map(|json| format!("d:{json}"))
                .collect();
            let sent = sea_orm::sqlx::query(
                "SELECT pg_notify('frontdoor_events', p) FROM unnest($1::text[]) AS p",
            )
            .bind(payloads)
            .execute(db.get_postgres_connection_pool())
            .await;
            if let Err(err) = sent {
                tracing::warn!(error = %err, "could not announce disclosure reads");
            }
        }
    });
    sender
}
