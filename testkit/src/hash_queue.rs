//! Every test of the suite runs in one process, and frontdoor's password hashing queue
//! (`frontdoor::auth::password`) is one per process: a bounded number of hashes run and
//! wait, and a caller who finds it full is answered RATE_LIMITED. A test that floods the
//! queue on purpose would make other tests' logins (and their servers' demo users, whose
//! passwords are hashed as they are loaded) fail while it runs.
//!
//! So the queue is guarded by a read-write lock: every [`TestServer`](crate::TestServer)
//! holds a shared hold for as long as it lives, and a flooding test takes the exclusive
//! hold ([`hash_queue_alone`]) before it starts its servers, which then run alone: the
//! flood waits for the servers already running to be dropped, and servers started after it
//! wait for the flood to end. Tokio's lock is fair, so a waiting flood is not starved.
//!
//! A fair lock would deadlock a test that holds a server and starts a second one while the
//! flood waits (the second shared hold would queue behind the flood, the flood behind the
//! first). So the hold is per test rather than per server: a server started on a thread
//! where a hold is already alive (the test's own body, or the flood's) shares it. Tests
//! start their servers from their own body (not from a task they spawn), as they all do.
use std::cell::RefCell;
use std::sync::{Arc, Weak};

use tokio::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

static QUEUE: RwLock<()> = RwLock::const_new(());

thread_local! {
    /// The hold of the test running on this thread, while any server of it is alive.
    static HELD: RefCell<Weak<HashQueueHold>> = const { RefCell::new(Weak::new()) };
}

/// A hold on the process's password hashing queue: shared by ordinary tests, exclusive
/// for a test that floods it.
pub enum HashQueueHold {
    Shared(RwLockReadGuard<'static, ()>),
    Alone(RwLockWriteGuard<'static, ()>),
}

fn held() -> Option<Arc<HashQueueHold>> {
    HELD.with(|h| h.borrow().upgrade())
}

fn remember(hold: &Arc<HashQueueHold>) {
    HELD.with(|h| *h.borrow_mut() = Arc::downgrade(hold));
}

/// The test's hold: the one already alive on this thread, or a new shared one.
pub(crate) async fn shared() -> Arc<HashQueueHold> {
    if let Some(hold) = held() {
        return hold;
    }
    let hold = Arc::new(HashQueueHold::Shared(QUEUE.read().await));
    remember(&hold);
    hold
}

/// The queue to this test alone: waits until no other test's server is alive, and keeps
/// other tests from starting one until the returned hold is dropped. Servers this test
/// starts meanwhile share it. Take it before starting any server.
pub async fn hash_queue_alone() -> Arc<HashQueueHold> {
    assert!(
        held().is_none(),
        "take the hashing queue alone before starting any server"
    );
    let hold = Arc::new(HashQueueHold::Alone(QUEUE.write().await));
    remember(&hold);
    hold
}
