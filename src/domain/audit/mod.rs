//! The one audit writer. Every mutation writes its entry in the same transaction as the
//! change; every refused call writes one of its own. Entries hold metadata and ids only:
//! never a password, a token or case content.
//!
//! The trail is tamper-evident (docs/design.md "The audit trail"): entries are spread over `CHAINS`
//! hash chains, each entry naming its chain, its place in it (`seq`, from 1) and the hash of
//! the entry before it, and carrying the SHA-256 of all of that and its own content
//! (`entry_hash`). Each chain's newest (seq, hash) is kept in `audit_chain_heads`; a writer
//! locks only the head of the chain it appends to, so concurrent requests — in one process or
//! several — spread over the chains instead of queueing on one global lock. How entries are
//! stored and chained is `crate::audit_log`; what they say and when one is written is decided
//! here. Signed checkpoints of the heads are in `trail`, verification in `verify`.
pub mod action;
pub mod trail;
pub mod verify;
pub use crate::audit_log::{
    canonical_refs, entry_hash, ref_set_key, CHAINS, GENESIS_HASH, HASH_VERSION,
};
pub use action::Action;
use chrono::{SubsecRound, Utc};
use entity::audit_event;
use rand::Rng;
use sea_orm::ConnectionTrait;
use serde_json::Value as Json;

use crate::audit_log::{append_all, pick_chain, read_head, MAX_APPEND_ATTEMPTS};

use crate::domain::RequestCtx;
use crate::error::{AppError, AppResult};
use crate::Core;

#[derive(Clone, Debug)]
pub struct AuditEntry {
    pub action: Action,
    pub entity_type: Option<&'static str>,
    pub entity_id: Option<String>,
    pub outcome: &'static str,
    pub detail: Option<Json>,
    /// Why the data moved (derived from the operation), e.g. "safeguarding.triage".
    pub purpose: Option<&'static str>,
    /// The lawful basis code of a disclosure (docs/codes.md), where one applies.
    pub lawful_basis: Option<String>,
    /// The consent or override that allowed it: "consent:<id>" or "override:<id>".
    pub consent_ref: Option<String>,
    /// Every child whose identity or case data the operation touched or returned.
    pub children: Vec<uuid::Uuid>,
    /// Further records touched or returned, as (type, id): e.g. each disclosure read.
    pub refs: Vec<(&'static str, String)>,
}

impl AuditEntry {
    pub fn success(action: Action) -> AuditEntry {
        AuditEntry {
            action,
            entity_type: None,
            entity_id: None,
            outcome: "SUCCESS",
            detail: None,
            purpose: None,
            lawful_basis: None,
            consent_ref: None,
            children: Vec::new(),
            refs: Vec::new(),
        }
    }

    pub fn refused(action: Action, err: &AppError) -> AuditEntry {
        AuditEntry {
            outcome: err.code(),
            ..AuditEntry::success(action)
        }
    }

    pub fn entity(mut self, entity_type: &'static str, id: impl ToString) -> AuditEntry {
        self.entity_type = Some(entity_type);
        self.entity_id = Some(id.to_string());
        self
    }

    pub fn detail(mut self, detail: Json) -> AuditEntry {
        self.detail = Some(detail);
        self
    }

    pub fn purpose(mut self, purpose: &'static str) -> AuditEntry {
        self.purpose = Some(purpose);
        self
    }

    pub fn lawful_basis(mut self, basis: impl Into<String>) -> AuditEntry {
        self.lawful_basis = Some(basis.into());
        self
    }

    pub fn consent_ref(mut self, reference: impl Into<String>) -> AuditEntry {
        self.consent_ref = Some(reference.into());
        self
    }

    pub fn children(mut self, children: impl IntoIterator<Item = uuid::Uuid>) -> AuditEntry {
        self.children.extend(children);
        self
    }

    pub fn reference(mut self, kind: &'static str, id: impl ToString) -> AuditEntry {
        self.refs.push((kind, id.to_string()));
        self
    }
}

/// Appends `entry` to the trail on `conn`: inside the caller's transaction it commits (or
/// rolls back) with the change it records.
///
/// The append itself — entry, refs and the move of the chain head — is ONE statement that
/// only takes effect if the head is still the one the hash was computed from, so it costs two
/// round trips (read the head, append) and is atomic whatever `conn` is. Inside a transaction
/// the head row stays locked until commit on PostgreSQL (`FOR UPDATE`; SQLite write
/// transactions are `BEGIN IMMEDIATE`, so already alone), so the append cannot miss.
///
/// Given the bare pool (a generic `conn` cannot tell), it is still correct: a writer that lost
/// the race to another reads again and retries, on another chain. Under heavy concurrency
/// that wastes attempts, so code holding the pool should prefer `record_alone`, which opens
/// its own write transaction (as `on_refusal` does).
pub async fn record<C: ConnectionTrait>(
    conn: &C,
    ctx: &RequestCtx,
    entry: AuditEntry,
) -> AppResult<()> {
    let mut entries = [prepare(ctx, entry)];
    let preferred = pick_chain(ctx.request_id.as_deref());
    for attempt in 0..MAX_APPEND_ATTEMPTS {
        let (event, refs) = &mut entries[0];
        // First go round the chains from the preferred one, skipping heads that another
        // transaction holds; if every one was busy, queue on the preferred one (in a
        // transaction that always succeeds). Only a writer without a transaction can lose
        // after that; it retries on random chains.
        let wait = attempt >= CHAINS as usize;
        event.chain = if !wait {
            (preferred - 1 + attempt as i32) % CHAINS + 1
        } else if attempt == CHAINS as usize {
            preferred
        } else {
            rand::thread_rng().gen_range(1..=CHAINS)
        };
        let Some((head_seq, head_hash, next_id)) = read_head(conn, event.chain, wait).await? else {
            continue;
        };
        event.id = next_id;
        event.seq = head_seq + 1;
        event.prev_hash = head_hash;
        event.hash = entry_hash(event, refs).expect("the current format is known");
        if append_all(conn, &entries).await? {
            return Ok(());
        }
    }
    Err(AppError::internal(
        "audit chain heads kept moving; entry not written",
    ))
}

/// The stored form of an entry, not yet placed in a chain (no id, seq or hashes), and its
/// refs in canonical order.
fn prepare(ctx: &RequestCtx, entry: AuditEntry) -> (audit_event::Model, Vec<(String, String)>) {
    let actor = &ctx.actor;
    let refs = canonical_refs(
        entry
            .children
            .iter()
            .map(|child| ("Child".to_string(), child.to_string()))
            .chain(entry.refs.iter().map(|(k, id)| (k.to_string(), id.clone()))),
    );
    let event = audit_event::Model {
        id: 0,
        hash_version: HASH_VERSION,
        // Microseconds: what both databases store, so the hash survives the round trip.
        at: Utc::now().trunc_subsecs(6),
        actor_kind: actor.kind.as_str().to_string(),
        actor_id: actor.id.map(|id| id.to_string()),
        actor_label: actor.label.clone(),
        actor_agency_id: actor.agency_id(),
        action: entry.action.as_str().to_string(),
        entity_type: entry.entity_type.map(str::to_string),
        entity_id: entry.entity_id,
        outcome: entry.outcome.to_string(),
        request_id: ctx.request_id.clone(),
        detail: entry.detail.map(|d| d.to_string()),
        chain: 0,
        seq: 0,
        prev_hash: String::new(),
        hash: String::new(),
        purpose: entry.purpose.map(str::to_string),
        lawful_basis: entry.lawful_basis,
        consent_ref: entry.consent_ref,
        ref_set: ref_set_key(&refs),
    };
    (event, refs)
}

/// Passes `result` through; a refusal (FORBIDDEN, NOT_FOUND, ...) is recorded first.
/// Validation failures and conflicts pass through unrecorded: bad input writes nothing.
pub async fn on_refusal<T>(
    core: &Core,
    ctx: &RequestCtx,
    action: Action,
    result: AppResult<T>,
) -> AppResult<T> {
    if let Err(err) = &result {
        if err.is_refusal() {
            record_alone(core, ctx, AuditEntry::refused(action, err)).await?;
        }
    }
    result
}

/// Records a page of a list a caller polls (an inbox, the contact queue, missing episodes,
/// referrals, early help): a page that returned anything is audited like any read; an empty
/// page discloses nothing, so it is only counted (`frontdoor_empty_polls_total` in
/// `/metrics`) and a desk polling an empty inbox does not fill the trail.
pub async fn record_poll(
    core: &Core,
    ctx: &RequestCtx,
    entry: AuditEntry,
    returned: usize,
) -> AppResult<()> {
    if returned == 0 {
        core.empty_polls
            .with_label_values(&[entry.action.as_str()])
            .inc();
        return Ok(());
    }
    record_alone(core, ctx, entry).await
}

/// Records an entry that goes with no other change (a refusal, a failed login, a read) and
/// returns once it has committed: through this instance's group commit (`group`), so
/// concurrent requests share one transaction and one flush.
pub async fn record_alone(core: &Core, ctx: &RequestCtx, entry: AuditEntry) -> AppResult<()> {
    let (event, refs) = prepare(ctx, entry);
    core.audit.append(event, refs).await
}
