//! Verification of the audit trail (`frontdoor audit verify`, `verifyAuditTrail`).
//!
//! In one consistent snapshot of the database:
//! 1. every chain is walked from seq 1, a page at a time: no gaps, each entry's `prev_hash`
//!    is the previous entry's hash, each hash recomputes, and the head row names the last
//!    entry (and nothing lies beyond it);
//! 2. no entry sits outside the chains;
//! 3. every stored checkpoint carries a valid signature by the configured key (not the key
//!    stored beside it), and for each chain the entry at the seq of its newest checkpoint
//!    still has the hash that checkpoint recorded. Older checkpoints' pins need no lookup:
//!    step 1 proved every entry up to there is linked by hash to that newest pinned one, so
//!    it vouches for them. Verification thus reads the entries once and each checkpoint
//!    once, however many checkpoints accumulate;
//! 4. an exported checkpoint, if given, is checked the same way: this is what catches the
//!    newest entries being deleted and the head wound back after the checkpoint was taken,
//!    even if the stored checkpoints were deleted too.
//!
//! Step 1 alone catches any edit, deletion or reordering by someone who did not then rehash
//! the rest of the chain; 3 and 4 catch the rest up to the newest checkpoint the auditor
//! trusts. The first failure found is reported and the walk stops there.
use chrono::{DateTime, Utc};
use ed25519_dalek::VerifyingKey;
use entity::{audit_chain_head, audit_checkpoint, audit_event};
use sea_orm::{
    AccessMode, ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, DatabaseConnection,
    EntityTrait, IsolationLevel, QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use serde_json::json;

use crate::domain::audit::trail::{self as audit_trail, refs_of, ChainHead, ExportedCheckpoint};
use crate::domain::audit::Action;
use crate::domain::audit::{self, AuditEntry, CHAINS, GENESIS_HASH};
use crate::domain::policy::{self, Permission};
use crate::domain::RequestCtx;
use crate::error::AppResult;
use crate::Core;

/// Entries read per query while walking a chain.
const ENTRY_PAGE: u64 = 1000;
/// Stored checkpoints read per query.
const CHECKPOINT_PAGE: u64 = 100;

/// Why verification failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureReason {
    /// The entry's content no longer matches its hash: it was edited.
    HashMismatch,
    /// The entry's previous hash is not the hash of the entry before it.
    BrokenLink,
    /// The chain has no entry at this seq: it was deleted (a gap).
    MissingEntry,
    /// The chain's head row does not name its last entry, or is missing.
    HeadMismatch,
    /// An entry outside the known chains, or with a seq below 1.
    UnexpectedEntry,
    /// A checkpoint's signature is not the configured key's (forged, altered or malformed).
    CheckpointSignatureInvalid,
    /// The entry at a checkpointed seq has another hash than the checkpoint recorded: the
    /// chain up to there was rewritten.
    CheckpointMismatch,
    /// The chain ends before a checkpointed seq: its newest entries were deleted.
    Truncated,
    /// The entry is in an older hash format than an entry before it in its chain (formats
    /// only ever move forward), or in a format this build does not know.
    FormatDowngrade,
}

impl FailureReason {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureReason::HashMismatch => "HASH_MISMATCH",
            FailureReason::BrokenLink => "BROKEN_LINK",
            FailureReason::MissingEntry => "MISSING_ENTRY",
            FailureReason::HeadMismatch => "HEAD_MISMATCH",
            FailureReason::UnexpectedEntry => "UNEXPECTED_ENTRY",
            FailureReason::CheckpointSignatureInvalid => "CHECKPOINT_SIGNATURE_INVALID",
            FailureReason::CheckpointMismatch => "CHECKPOINT_MISMATCH",
            FailureReason::Truncated => "TRUNCATED",
            FailureReason::FormatDowngrade => "FORMAT_DOWNGRADE",
        }
    }
}

/// The first thing found wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub reason: FailureReason,
    /// The chain, where the failure is in one.
    pub chain: Option<i32>,
    /// The place in the chain.
    pub seq: Option<i64>,
    /// The entry found there, if any.
    pub event_id: Option<i64>,
    /// The checkpoint involved, if any (the exported one's id as it claims).
    pub checkpoint_id: Option<i64>,
}

impl Failure {
    fn at(reason: FailureReason, chain: i32, seq: i64, event_id: Option<i64>) -> Failure {
        Failure {
            reason,
            chain: Some(chain),
            seq: Some(seq),
            event_id,
            checkpoint_id: None,
        }
    }

    /// One line for the command line and logs.
    pub fn describe(&self) -> String {
        let mut parts = vec![self.reason.as_str().to_string()];
        if let Some(chain) = self.chain {
            parts.push(format!("chain {chain}"));
        }
        if let Some(seq) = self.seq {
            parts.push(format!("seq {seq}"));
        }
        if let Some(id) = self.event_id {
            parts.push(format!("event {id}"));
        }
        if let Some(id) = self.checkpoint_id {
            parts.push(format!("checkpoint {id}"));
        }
        parts.join(", ")
    }
}

#[derive(Clone, Debug, Default)]
pub struct Verification {
    pub ok: bool,
    /// Entries walked (all of them when `ok`).
    pub checked_entries: u64,
    /// Checkpoints checked, the exported one included.
    pub checked_checkpoints: u64,
    pub first_failure: Option<Failure>,
}

/// Verifies the trail (AUDITOR, or the CLI operator), optionally against an exported
/// checkpoint (JSON, as `export-checkpoint` prints it). The run is audited with its result.
pub async fn verify(
    core: &Core,
    ctx: &RequestCtx,
    exported: Option<&str>,
) -> AppResult<Verification> {
    let action = Action::AuditVerify;
    let allowed = policy::authorize(&ctx.actor, Permission::VerifyAuditTrail);
    audit::on_refusal(core, ctx, action, allowed).await?;
    let exported = exported
        .map(|text| ExportedCheckpoint::parse(text, "checkpoint"))
        .transpose()?;
    let key = audit_trail::public_key(&core.config);
    let result = verify_trail(&core.db, &key, exported.as_ref()).await?;
    let failure = result.first_failure.as_ref();
    audit::record_alone(
        core,
        ctx,
        AuditEntry::success(action).detail(json!({
            "ok": result.ok,
            "checkedEntries": result.checked_entries,
            "checkedCheckpoints": result.checked_checkpoints,
            "exportedCheckpoint": exported.as_ref().map(|c| c.id),
            "firstFailure": failure.map(Failure::describe),
        })),
    )
    .await?;
    Ok(result)
}

/// The verification itself, in one read-only snapshot so that entries appended meanwhile
/// neither confuse it nor wait for it.
pub async fn verify_trail(
    db: &DatabaseConnection,
    key: &VerifyingKey,
    exported: Option<&ExportedCheckpoint>,
) -> AppResult<Verification> {
    let txn = match db.get_database_backend() {
        DatabaseBackend::Postgres => {
            db.begin_with_config(
                Some(IsolationLevel::RepeatableRead),
                Some(AccessMode::ReadOnly),
            )
            .await?
        }
        // SQLite (WAL): a read transaction sees one snapshot from its first read.
        _ => db.begin().await?,
    };
    let mut result = Verification::default();
    let failure = check(&txn, key, exported, &mut result).await?;
    txn.rollback().await?;
    result.ok = failure.is_none();
    result.first_failure = failure;
    Ok(result)
}

async fn check<C: ConnectionTrait>(
    conn: &C,
    key: &VerifyingKey,
    exported: Option<&ExportedCheckpoint>,
    result: &mut Verification,
) -> AppResult<Option<Failure>> {
    let heads = audit_chain_head::Entity::find()
        .order_by_asc(audit_chain_head::Column::Chain)
        .all(conn)
        .await?;
    for chain in 1..=CHAINS {
        let Some(head) = heads.iter().find(|h| h.chain == chain) else {
            return Ok(Some(Failure {
                reason: FailureReason::HeadMismatch,
                chain: Some(chain),
                seq: None,
                event_id: None,
                checkpoint_id: None,
            }));
        };
        if let Some(failure) = walk_chain(conn, head, result).await? {
            return Ok(Some(failure));
        }
    }

    let stray = audit_event::Entity::find()
        .filter(
            Condition::any()
                .add(audit_event::Column::Chain.lt(1))
                .add(audit_event::Column::Chain.gt(CHAINS))
                .add(audit_event::Column::Seq.lt(1)),
        )
        .order_by_asc(audit_event::Column::Id)
        .one(conn)
        .await?;
    if let Some(e) = stray {
        return Ok(Some(Failure::at(
            FailureReason::UnexpectedEntry,
            e.chain,
            e.seq,
            Some(e.id),
        )));
    }

    // Every signature is checked; per chain only the furthest pin is kept (see step 3).
    let mut furthest: std::collections::BTreeMap<i32, (i64, ChainHead)> = Default::default();
    let mut after = 0;
    loop {
        let page = audit_checkpoint::Entity::find()
            .filter(audit_checkpoint::Column::Id.gt(after))
            .order_by_asc(audit_checkpoint::Column::Id)
            .limit(CHECKPOINT_PAGE)
            .all(conn)
            .await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for checkpoint in &page {
            result.checked_checkpoints += 1;
            let heads = audit_trail::stored_heads(checkpoint).filter(|h| {
                audit_trail::signature_valid(key, checkpoint.at, h, &checkpoint.signature)
            });
            let Some(heads) = heads else {
                return Ok(Some(signature_failure(Some(checkpoint.id))));
            };
            for head in heads {
                let keep = furthest
                    .get(&head.chain)
                    .is_none_or(|(_, kept)| head.seq > kept.seq);
                if keep {
                    furthest.insert(head.chain, (checkpoint.id, head));
                }
            }
        }
    }
    let pinned: Vec<(i64, ChainHead)> = furthest.into_values().collect();
    if let Some(failure) = check_pinned(conn, &heads, &pinned).await? {
        return Ok(Some(failure));
    }

    if let Some(exported) = exported {
        result.checked_checkpoints += 1;
        let at: Option<DateTime<Utc>> = exported.at_time();
        let valid = at.is_some_and(|at| {
            audit_trail::signature_valid(key, at, &exported.chains, &exported.signature)
        });
        if !valid {
            return Ok(Some(signature_failure(Some(exported.id))));
        }
        let pinned: Vec<(i64, ChainHead)> = exported
            .chains
            .iter()
            .map(|h| (exported.id, h.clone()))
            .collect();
        if let Some(failure) = check_pinned(conn, &heads, &pinned).await? {
            return Ok(Some(failure));
        }
    }
    Ok(None)
}

fn signature_failure(checkpoint_id: Option<i64>) -> Failure {
    Failure {
        reason: FailureReason::CheckpointSignatureInvalid,
        chain: None,
        seq: None,
        event_id: None,
        checkpoint_id,
    }
}

/// Walks one chain from seq 1 to its end and checks the head names that end.
async fn walk_chain<C: ConnectionTrait>(
    conn: &C,
    head: &audit_chain_head::Model,
    result: &mut Verification,
) -> AppResult<Option<Failure>> {
    let chain = head.chain;
    let mut expected_seq = 1i64;
    let mut prev_hash = GENESIS_HASH.to_string();
    let mut last_id = None;
    let mut format = 1;
    loop {
        let page = audit_event::Entity::find()
            .filter(audit_event::Column::Chain.eq(chain))
            .filter(audit_event::Column::Seq.gte(expected_seq))
            .order_by_asc(audit_event::Column::Seq)
            .limit(ENTRY_PAGE)
            .all(conn)
            .await?;
        if page.is_empty() {
            break;
        }
        let mut refs = refs_of(conn, &page).await?;
        for event in page {
            if event.seq != expected_seq {
                return Ok(Some(Failure::at(
                    FailureReason::MissingEntry,
                    chain,
                    expected_seq,
                    None,
                )));
            }
            if event.prev_hash != prev_hash {
                return Ok(Some(Failure::at(
                    FailureReason::BrokenLink,
                    chain,
                    event.seq,
                    Some(event.id),
                )));
            }
            if event.hash_version < format || event.hash_version > audit::HASH_VERSION {
                return Ok(Some(Failure::at(
                    FailureReason::FormatDowngrade,
                    chain,
                    event.seq,
                    Some(event.id),
                )));
            }
            format = event.hash_version;
            let event_refs = refs.remove(&event.id).unwrap_or_default();
            if audit::entry_hash(&event, &event_refs).as_deref() != Some(event.hash.as_str()) {
                return Ok(Some(Failure::at(
                    FailureReason::HashMismatch,
                    chain,
                    event.seq,
                    Some(event.id),
                )));
            }
            result.checked_entries += 1;
            prev_hash = event.hash;
            last_id = Some(event.id);
            expected_seq += 1;
        }
    }
    let last_seq = expected_seq - 1;
    if head.seq > last_seq {
        // The head remembers entries that are gone from the end of the chain.
        return Ok(Some(Failure::at(
            FailureReason::MissingEntry,
            chain,
            last_seq + 1,
            None,
        )));
    }
    if head.seq != last_seq || head.hash != prev_hash {
        return Ok(Some(Failure::at(
            FailureReason::HeadMismatch,
            chain,
            head.seq,
            last_id,
        )));
    }
    Ok(None)
}

/// Checks that each (checkpoint, head) pinned by checkpoints still holds: the chain reaches
/// that seq and the entry there has that hash. The chains were walked already, so a match
/// vouches for every entry before it too.
async fn check_pinned<C: ConnectionTrait>(
    conn: &C,
    heads: &[audit_chain_head::Model],
    pinned: &[(i64, ChainHead)],
) -> AppResult<Option<Failure>> {
    let mut places: Vec<(i32, i64)> = pinned
        .iter()
        .filter(|(_, h)| h.seq > 0)
        .map(|(_, h)| (h.chain, h.seq))
        .collect();
    places.sort_unstable();
    places.dedup();
    let mut found = std::collections::HashMap::new();
    for chunk in places.chunks(200) {
        let mut any = Condition::any();
        for (chain, seq) in chunk {
            any = any.add(
                Condition::all()
                    .add(audit_event::Column::Chain.eq(*chain))
                    .add(audit_event::Column::Seq.eq(*seq)),
            );
        }
        let rows = audit_event::Entity::find().filter(any).all(conn).await?;
        for row in rows {
            found.insert((row.chain, row.seq), (row.id, row.hash));
        }
    }
    for (checkpoint_id, pin) in pinned {
        let mismatch = |reason, event_id| Failure {
            reason,
            chain: Some(pin.chain),
            seq: Some(pin.seq),
            event_id,
            checkpoint_id: Some(*checkpoint_id),
        };
        if !(1..=CHAINS).contains(&pin.chain) {
            return Ok(Some(mismatch(FailureReason::CheckpointMismatch, None)));
        }
        if pin.seq == 0 {
            continue;
        }
        match found.get(&(pin.chain, pin.seq)) {
            Some((id, hash)) if *hash != pin.hash => {
                return Ok(Some(mismatch(FailureReason::CheckpointMismatch, Some(*id))));
            }
            Some(_) => {}
            None => {
                let head_seq = heads
                    .iter()
                    .find(|h| h.chain == pin.chain)
                    .map_or(0, |h| h.seq);
                let reason = if pin.seq > head_seq {
                    FailureReason::Truncated
                } else {
                    FailureReason::MissingEntry
                };
                return Ok(Some(mismatch(reason, None)));
            }
        }
    }
    Ok(None)
}
