//! Group commit for entries that go with no other change (reads, refusals, failed logins).
//!
//! Writing each such entry in a transaction of its own costs a commit — a disk flush — per
//! request, and on SQLite makes every read queue for the write lock. Instead each request
//! hands its entry to a lane (a task owning a queue) and waits; the lane drains everything
//! queued into ONE write transaction, appends the entries one after another to one chain and
//! commits, then answers every waiter. So a flush is paid per batch, a request still answers
//! only after its own entry has committed (a crash loses no entry of an answered request), and
//! the chain rules are those of `record`: the head is read and locked in the batch's
//! transaction, each append only lands if the head is where the hash says. Several instances
//! on one PostgreSQL each run their lanes; they meet on the chain heads' row locks.
use entity::audit_event;
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection};
use tokio::sync::{mpsc, oneshot};

use super::{append_all, entry_hash, pick_chain, read_head, CHAINS};
use crate::db::{begin_write, statement};
use crate::error::{AppError, AppResult};

/// The most entries one transaction takes: enough to amortise the flush, small enough that
/// a batch's statements stay quick.
const MAX_BATCH: usize = 256;

/// Entries waiting per lane before a request waits to queue (backpressure, bounded memory).
const QUEUE: usize = 4096;

struct Pending {
    event: audit_event::Model,
    refs: Vec<(String, String)>,
    done: oneshot::Sender<Result<(), String>>,
}

/// The lanes of one instance. Cloning shares them.
#[derive(Clone)]
pub struct GroupCommit {
    lanes: Vec<mpsc::Sender<Pending>>,
}

impl GroupCommit {
    /// Starts the lanes on the current runtime: one on SQLite (one writer at a time anyway),
    /// two on PostgreSQL (each holds one connection while it writes).
    pub fn start(db: &DatabaseConnection) -> GroupCommit {
        let lanes = match db.get_database_backend() {
            DatabaseBackend::Sqlite => 1i32,
            _ => 2,
        };
        let lanes = (0..lanes)
            .map(|lane| {
                let (sender, receiver) = mpsc::channel(QUEUE);
                // Lane k prefers chain k + 1; the others stay free for changes that record in
                // their own transaction.
                tokio::spawn(run_lane(db.clone(), lane + 1, receiver));
                sender
            })
            .collect();
        GroupCommit { lanes }
    }

    /// Appends `event` (not yet placed in a chain) with its refs, and returns once it has
    /// committed.
    pub async fn append(
        &self,
        event: audit_event::Model,
        refs: Vec<(String, String)>,
    ) -> AppResult<()> {
        let lane = pick_chain(event.request_id.as_deref()) as usize % self.lanes.len();
        let (done, committed) = oneshot::channel();
        let stopped = || AppError::internal("the audit writer has stopped");
        self.lanes[lane]
            .send(Pending { event, refs, done })
            .await
            .map_err(|_| stopped())?;
        committed
            .await
            .map_err(|_| stopped())?
            .map_err(AppError::internal)
    }
}

async fn run_lane(db: DatabaseConnection, chain: i32, mut queue: mpsc::Receiver<Pending>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (mut events, waiters): (Vec<_>, Vec<_>) =
            batch.drain(..).map(|p| ((p.event, p.refs), p.done)).unzip();
        match write_batch(&db, chain, &mut events).await {
            Ok(()) => {
                for done in waiters {
                    let _ = done.send(Ok(()));
                }
            }
            Err(err) => {
                // One at a time, so an entry the database refuses fails alone. Each append
                // sets the entry's id, chain, seq and hashes afresh.
                tracing::warn!(error = ?err, entries = events.len(), "audit batch failed; retrying entries singly");
                for (event, done) in events.into_iter().zip(waiters) {
                    let result = write_batch(&db, chain, &mut [event]).await;
                    let _ = done.send(result.map_err(|e| format!("{e:?}")));
                }
            }
        }
    }
}

/// Appends `events` in order to one chain, in one write transaction.
async fn write_batch(
    db: &DatabaseConnection,
    preferred: i32,
    events: &mut [(audit_event::Model, Vec<(String, String)>)],
) -> AppResult<()> {
    let txn = begin_write(db).await?;
    // The preferred head unless another transaction holds it, then any free one, else wait
    // for the preferred one. One head per transaction, so two lanes never deadlock.
    let mut found = None;
    for attempt in 0..CHAINS {
        let chain = (preferred - 1 + attempt) % CHAINS + 1;
        if let Some(head) = read_head(&txn, chain, false).await? {
            found = Some((chain, head));
            break;
        }
    }
    let (chain, (mut seq, mut hash, first_id)) = match found {
        Some(found) => found,
        None => {
            let head = read_head(&txn, preferred, true).await?;
            (preferred, head.expect("read_head waits for the head"))
        }
    };
    let ids = allocate_ids(&txn, first_id, events.len()).await?;
    for ((event, refs), id) in events.iter_mut().zip(ids) {
        event.id = id;
        event.chain = chain;
        event.seq = seq + 1;
        event.prev_hash = hash;
        event.hash = entry_hash(event, refs).expect("the current format is known");
        seq = event.seq;
        hash = event.hash.clone();
    }
    if !append_all(&txn, events).await? {
        return Err(AppError::internal(
            "audit chain head moved under a held lock",
        ));
    }
    txn.commit().await?;
    Ok(())
}

/// Ids for `n` entries, the first already taken with the head. On PostgreSQL the rest come
/// from the table's sequence in one statement; on SQLite this transaction holds the write
/// lock, so they simply follow the first.
async fn allocate_ids<C: ConnectionTrait>(conn: &C, first: i64, n: usize) -> AppResult<Vec<i64>> {
    let mut ids = vec![first];
    if n <= 1 {
        return Ok(ids);
    }
    match conn.get_database_backend() {
        DatabaseBackend::Postgres => {
            let sql = "SELECT nextval(pg_get_serial_sequence('audit_events', 'id')) AS id \
                       FROM generate_series(1, $1)";
            let rows = conn
                .query_all_raw(statement(
                    DatabaseBackend::Postgres,
                    sql,
                    vec![(n as i64 - 1).into()],
                ))
                .await?;
            for row in rows {
                ids.push(row.try_get("", "id")?);
            }
            ids.sort_unstable();
        }
        _ => ids.extend((1..n as i64).map(|i| first + i)),
    }
    Ok(ids)
}
