//! Who a bearer token belongs to, remembered for at most two seconds.
//!
//! Reading the principal is one statement on every request; under load it is a large share
//! of a cheap read's cost. The cache keeps the answer for `TTL` per token. Every identity
//! change on this instance (roles, activation, passwords, logout, a refresh replay, an
//! agency's update) empties it the moment it commits; a change made by another instance or
//! the command line takes effect here within `TTL`. The token's signature and expiry are
//! still checked on every request.
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{authenticate, INVALID_ACCESS_TOKEN};
use crate::auth::tokens::TokenUse;
use crate::domain::Actor;
use crate::error::AppResult;
use crate::Core;

/// How long a principal is remembered.
pub const TTL: Duration = Duration::from_secs(2);

/// Tokens remembered at most; past it the cache starts again empty (bounded memory).
const MAX_ENTRIES: usize = 10_000;

/// Bumped by every identity change in this process; an entry remembered before the latest
/// change is not used.
static CHANGES: AtomicU64 = AtomicU64::new(0);

/// Called after an identity change commits.
pub(crate) fn identity_changed() {
    CHANGES.fetch_add(1, Ordering::SeqCst);
}

struct Remembered {
    at: Instant,
    changes: u64,
    actor: Actor,
}

#[derive(Default)]
pub struct PrincipalCache {
    entries: Mutex<HashMap<String, Remembered>>,
}

impl PrincipalCache {
    /// `authenticate`, answered from memory when this token was resolved less than `TTL`
    /// ago and no identity change has committed since.
    pub async fn authenticate(&self, core: &Core, token: &str) -> AppResult<Actor> {
        // Read before the database, so a change committing meanwhile makes this entry stale.
        let changes = CHANGES.load(Ordering::SeqCst);
        if let Some(actor) = self.recall(token, changes) {
            // Remembered, but the token may have expired since: its check is not.
            core.keys
                .verify(token, TokenUse::Access)
                .ok_or(INVALID_ACCESS_TOKEN)?;
            return Ok(actor);
        }
        // Checks the token itself, then reads the principal.
        let actor = authenticate(core, token).await?;
        let mut entries = self.entries.lock().expect("cache lock");
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(
            token.to_string(),
            Remembered {
                at: Instant::now(),
                changes,
                actor: actor.clone(),
            },
        );
        Ok(actor)
    }

    fn recall(&self, token: &str, changes: u64) -> Option<Actor> {
        let entries = self.entries.lock().expect("cache lock");
        entries
            .get(token)
            .filter(|r| r.changes == changes && r.at.elapsed() < TTL)
            .map(|r| r.actor.clone())
    }
}
