//! Group commit for entries that go with no other change (reads, refusals, failed logins).
//!
//! Writing each such entry in a transaction of its own costs a commit — a disk flush — per
//! request, and on SQLite makes every read queue for the write lock. Instead each request
//! hands its entry to a lane (a task owning a queue) and waits; the lane drains everything
//! queued, places the entries one after another on one chain, appends them all with ONE
//! statement and commits, then answers every waiter. So a flush is paid per batch, a request
//! still answers only after its own entry has committed (a crash loses no entry of an
//! answered request), and the chain rules are those of `record`: the append only lands if
//! the head is still where the first entry's hash says. On SQLite the batch holds the write
//! lock from reading the head to the commit; on PostgreSQL it reads the head without a lock
//! and a batch that finds the head moved (another instance, or a change recording in its own
//! transaction) writes nothing and tries the next chain. Several instances on one PostgreSQL
//! each run their lanes, each instance starting on chains of its own choosing.
use entity::audit_event;
use rand::Rng;
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection};
use tokio::sync::{mpsc, oneshot};

use super::{append_all, entry_hash, read_head, CHAINS, MAX_APPEND_ATTEMPTS};
use crate::db::{begin_write, statement};
use crate::error::{AppError, AppResult};

/// The most entries one transaction takes: enough to amortise the flush, small enough that
/// a batch's statements stay quick.
const MAX_BATCH: usize = 256;

/// Entries waiting before a request waits to queue (backpressure, bounded memory).
const QUEUE: usize = 4096;

struct Pending {
    event: audit_event::Model,
    refs: Vec<(String, String)>,
    done: oneshot::Sender<Result<(), String>>,
}

/// The instance's one lane. Cloning shares it.
#[derive(Clone)]
pub struct GroupCommit {
    lane: mpsc::Sender<Pending>,
}

impl GroupCommit {
    /// Starts the lane on the current runtime. One lane, not one per core: a batch's cost is
    /// mostly its round trips and its flush, so fewer, larger batches do more (measured on
    /// PostgreSQL: two lanes averaged 3.4 entries a batch and 2,690 reads/s, one lane 6 and
    /// 2,920; SQLite has one writer at a time anyway).
    pub fn start(db: &DatabaseConnection) -> GroupCommit {
        // A random chain, so two instances' lanes seldom race for one head; the other
        // chains stay free for changes that record in their own transaction.
        let chain = rand::thread_rng().gen_range(1..=CHAINS);
        let (lane, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(run_lane(db.clone(), chain, receiver));
        GroupCommit { lane }
    }

    /// Appends `event` (not yet placed in a chain) with its refs, and returns once it has
    /// committed.
    pub async fn append(
        &self,
        event: audit_event::Model,
        refs: Vec<(String, String)>,
    ) -> AppResult<()> {
        let (done, committed) = oneshot::channel();
        let stopped = || AppError::internal("the audit writer has stopped");
        self.lane
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

/// Appends `events` in order to one chain, and returns once they have committed.
async fn write_batch(
    db: &DatabaseConnection,
    preferred: i32,
    events: &mut [(audit_event::Model, Vec<(String, String)>)],
) -> AppResult<()> {
    match db.get_database_backend() {
        DatabaseBackend::Postgres => write_batch_optimistic(db, preferred, events).await,
        _ => write_batch_locked(db, preferred, events).await,
    }
}

/// Places `events` after the head `(seq, hash)` of `chain`, with the given ids.
fn place(
    events: &mut [(audit_event::Model, Vec<(String, String)>)],
    chain: i32,
    (mut seq, mut hash): (i64, String),
    ids: Vec<i64>,
) {
    for ((event, refs), id) in events.iter_mut().zip(ids) {
        event.id = id;
        event.chain = chain;
        event.seq = seq + 1;
        event.prev_hash = hash;
        event.hash = entry_hash(event, refs).expect("the current format is known");
        seq = event.seq;
        hash = event.hash.clone();
    }
}

/// PostgreSQL: two round trips and no explicit transaction. One statement reads the head
/// and takes the batch's ids from the sequence; the append is one statement that moves the
/// head only if it is still there (atomic, and its commit is the batch's one flush). If
/// another writer (another instance, or a change recording in its own transaction) moved the
/// head in between, nothing was written and the batch tries the next chain.
async fn write_batch_optimistic(
    db: &DatabaseConnection,
    preferred: i32,
    events: &mut [(audit_event::Model, Vec<(String, String)>)],
) -> AppResult<()> {
    for attempt in 0..MAX_APPEND_ATTEMPTS as i32 {
        let chain = (preferred - 1 + attempt) % CHAINS + 1;
        let (head, ids) = head_and_ids(db, chain, events.len()).await?;
        place(events, chain, head, ids);
        if append_all(db, events).await? {
            return Ok(());
        }
    }
    Err(AppError::internal(
        "audit chain heads kept moving; batch not written",
    ))
}

/// A chain's head and `n` fresh ids, in one statement (an id taken by a batch that then
/// loses its race is a gap, as with any sequence).
async fn head_and_ids(
    db: &DatabaseConnection,
    chain: i32,
    n: usize,
) -> AppResult<((i64, String), Vec<i64>)> {
    let sql = "SELECT h.seq, h.hash, nextval(pg_get_serial_sequence('audit_events', 'id')) AS id \
               FROM audit_chain_heads h, generate_series(1, $2) WHERE h.chain = $1";
    let rows = db
        .query_all_raw(statement(
            DatabaseBackend::Postgres,
            sql,
            vec![chain.into(), (n as i64).into()],
        ))
        .await?;
    let first = rows
        .first()
        .ok_or_else(|| AppError::internal(format!("audit chain {chain} has no head row")))?;
    let head = (first.try_get("", "seq")?, first.try_get("", "hash")?);
    let mut ids = rows
        .iter()
        .map(|row| row.try_get("", "id"))
        .collect::<Result<Vec<i64>, _>>()?;
    ids.sort_unstable();
    Ok((head, ids))
}

/// SQLite: in one write transaction, which holds the database's one write lock, so the head
/// cannot move under it and the ids simply follow the largest.
async fn write_batch_locked(
    db: &DatabaseConnection,
    preferred: i32,
    events: &mut [(audit_event::Model, Vec<(String, String)>)],
) -> AppResult<()> {
    let txn = begin_write(db).await?;
    let (seq, hash, first_id) = read_head(&*txn, preferred, true)
        .await?
        .expect("read_head waits for the head");
    let ids = (0..events.len() as i64).map(|i| first_id + i).collect();
    place(events, preferred, (seq, hash), ids);
    if !append_all(&*txn, events).await? {
        return Err(AppError::internal(
            "audit chain head moved under a held lock",
        ));
    }
    txn.commit().await?;
    Ok(())
}
