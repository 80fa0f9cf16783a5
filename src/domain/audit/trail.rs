//! The audit trail for auditors: signed checkpoints of the chain heads, their export, and
//! reads of the entries (AUDITOR, or the CLI operator). Every such call is itself audited.
//!
//! A checkpoint is every chain's head (chain, seq, hash) at one moment, signed with an
//! Ed25519 key that is derived from configuration and never stored in the database. Because
//! each entry's hash covers the one before it, a checkpoint pins every entry up to its seq in
//! each chain: someone who can write to the database but lacks the key can rewrite a chain
//! consistently, but not make it match a checkpoint taken before, nor forge a new one.
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use entity::{
    audit_chain_head, audit_checkpoint, audit_event, audit_ref_set_member, child, disclosure,
};
use hmac::{Hmac, Mac};
use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::Sha256;
use uuid::Uuid;

use crate::config::Config;
use crate::db::begin_write;
use crate::domain::audit::Action;
use crate::domain::audit::{self, AuditEntry};
use crate::domain::common::checks::{self, Kind};
use crate::domain::common::page::{self, Page, PageRequest};
use crate::domain::policy::{self, CaseOperation, Permission};
use crate::domain::RequestCtx;
use crate::error::{AppError, AppResult};
use crate::Core;

/// Label of the key derivation and of the signed encoding: changing either is a new version.
const KEY_LABEL: &[u8] = b"frontdoor audit checkpoint v1";
const SIGNED_LABEL: &str = "frontdoor audit checkpoint v1";
/// The `format` of an exported checkpoint.
pub const EXPORT_FORMAT: &str = "frontdoor-audit-checkpoint/1";

// ---------------------------------------------------------------- the key

/// The checkpoint signing key: `FRONTDOOR_AUDIT_KEY` if configured, else
/// HMAC-SHA256(token signing key, "frontdoor audit checkpoint v1") as the Ed25519 seed — a
/// key of its own, so a checkpoint signature says nothing about the token key.
pub fn signing_key(config: &Config) -> SigningKey {
    let seed: [u8; 32] = match config.audit_key {
        Some(seed) => seed,
        None => {
            let mut mac = Hmac::<Sha256>::new_from_slice(&config.signing_key)
                .expect("HMAC accepts a key of any length");
            mac.update(KEY_LABEL);
            mac.finalize().into_bytes().into()
        }
    };
    SigningKey::from_bytes(&seed)
}

/// The public key checkpoints must verify against.
pub fn public_key(config: &Config) -> VerifyingKey {
    signing_key(config).verifying_key()
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn unb64(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()
}

// ---------------------------------------------------------------- checkpoints

/// One chain's head as a checkpoint records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHead {
    pub chain: i32,
    pub seq: i64,
    pub hash: String,
}

/// What is signed: a JSON array of a label, the time in microseconds and the heads in chain
/// order, so the bytes are the same whoever rebuilds them from the stored or exported form.
fn signed_message(at: DateTime<Utc>, heads: &[ChainHead]) -> Vec<u8> {
    let mut heads = heads.to_vec();
    heads.sort_by_key(|h| h.chain);
    json!([
        SIGNED_LABEL,
        at.timestamp_micros(),
        heads
            .iter()
            .map(|h| json!([h.chain, h.seq, h.hash]))
            .collect::<Vec<_>>(),
    ])
    .to_string()
    .into_bytes()
}

/// Whether `signature` (base64) is the configured key's signature over `at` and `heads`.
pub fn signature_valid(
    key: &VerifyingKey,
    at: DateTime<Utc>,
    heads: &[ChainHead],
    signature: &str,
) -> bool {
    let Some(bytes) = unb64(signature) else {
        return false;
    };
    let Ok(signature) = Signature::from_slice(&bytes) else {
        return false;
    };
    key.verify(&signed_message(at, heads), &signature).is_ok()
}

/// The heads a stored checkpoint records.
pub fn stored_heads(checkpoint: &audit_checkpoint::Model) -> Option<Vec<ChainHead>> {
    serde_json::from_str(&checkpoint.heads).ok()
}

/// A checkpoint as an auditor keeps it outside the database (`frontdoor audit
/// export-checkpoint`, `AuditCheckpoint.exported`), and gives back to `verify`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportedCheckpoint {
    /// Always `frontdoor-audit-checkpoint/1`.
    pub format: String,
    /// The checkpoint's id in the database it came from (informational).
    pub id: i64,
    /// RFC 3339, to the microsecond (signed).
    pub at: String,
    /// Every chain's head (signed).
    pub chains: Vec<ChainHead>,
    /// Base64 Ed25519 signature.
    pub signature: String,
    /// Base64 public key it claims; verification uses the configured one regardless.
    pub public_key: String,
}

impl ExportedCheckpoint {
    pub fn from_model(checkpoint: &audit_checkpoint::Model) -> ExportedCheckpoint {
        ExportedCheckpoint {
            format: EXPORT_FORMAT.to_string(),
            id: checkpoint.id,
            at: checkpoint.at.to_rfc3339_opts(SecondsFormat::Micros, true),
            chains: stored_heads(checkpoint).unwrap_or_default(),
            signature: checkpoint.signature.clone(),
            public_key: checkpoint.public_key.clone(),
        }
    }

    /// Pretty JSON, as printed and as given back to `verify`.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a checkpoint serialises")
    }

    /// Parses an exported checkpoint; a malformed one is BAD_USER_INPUT on `field`.
    pub fn parse(text: &str, field: &str) -> AppResult<ExportedCheckpoint> {
        checks::text(field, text, Kind::Prose)?;
        let parsed: ExportedCheckpoint = serde_json::from_str(text).map_err(|_| {
            AppError::bad_input(field, "not an exported audit checkpoint (JSON expected)")
        })?;
        if parsed.format != EXPORT_FORMAT {
            return Err(AppError::bad_input(
                field,
                format!("unknown checkpoint format (expected {EXPORT_FORMAT})"),
            ));
        }
        if parsed.at_time().is_none() {
            return Err(AppError::bad_input(field, "`at` is not an RFC 3339 time"));
        }
        Ok(parsed)
    }

    pub fn at_time(&self) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(&self.at)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }
}

/// Every chain's head, in chain order.
async fn read_heads<C: ConnectionTrait>(conn: &C) -> AppResult<Vec<ChainHead>> {
    Ok(audit_chain_head::Entity::find()
        .order_by_asc(audit_chain_head::Column::Chain)
        .all(conn)
        .await?
        .into_iter()
        .map(|h| ChainHead {
            chain: h.chain,
            seq: h.seq,
            hash: h.hash,
        })
        .collect())
}

async fn insert_checkpoint<C: ConnectionTrait>(
    conn: &C,
    config: &Config,
    heads: Vec<ChainHead>,
) -> AppResult<audit_checkpoint::Model> {
    let key = signing_key(config);
    let at = Utc::now().trunc_subsecs(6);
    let signature = key.sign(&signed_message(at, &heads));
    Ok(audit_checkpoint::ActiveModel {
        at: Set(at),
        heads: Set(serde_json::to_string(&heads).expect("heads serialise")),
        signature: Set(b64(&signature.to_bytes())),
        public_key: Set(b64(key.verifying_key().as_bytes())),
        ..Default::default()
    }
    .insert(conn)
    .await?)
}

/// Signs a checkpoint now (AUDITOR, or the CLI operator). Its own audit entry is written
/// first, in the same transaction, so the checkpoint covers its own making.
pub async fn create_checkpoint(
    core: &Core,
    ctx: &RequestCtx,
) -> AppResult<audit_checkpoint::Model> {
    let action = Action::AuditCheckpointCreate;
    let allowed = policy::authorize(&ctx.actor, Permission::CreateAuditCheckpoint);
    audit::on_refusal(core, ctx, action, allowed).await?;
    let txn = begin_write(&core.db).await?;
    audit::record(&txn, ctx, AuditEntry::success(action)).await?;
    let heads = read_heads(&txn).await?;
    let checkpoint = insert_checkpoint(&txn, &core.config, heads).await?;
    txn.commit().await?;
    Ok(checkpoint)
}

/// The scheduled checkpoint `serve` takes: none when nothing was appended since the latest
/// one, so an idle server does not fill the table. Not audited: it is the service's own
/// housekeeping and discloses nothing.
pub async fn scheduled_checkpoint(core: &Core) -> AppResult<Option<audit_checkpoint::Model>> {
    let heads = read_heads(&core.db).await?;
    let latest = audit_checkpoint::Entity::find()
        .order_by_desc(audit_checkpoint::Column::Id)
        .one(&core.db)
        .await?;
    if latest.as_ref().and_then(stored_heads).as_ref() == Some(&heads) {
        return Ok(None);
    }
    Ok(Some(
        insert_checkpoint(&core.db, &core.config, heads).await?,
    ))
}

/// Runs `scheduled_checkpoint` every `interval` until the process ends.
pub async fn run_scheduled_checkpoints(core: Core, interval: Duration) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await; // the first tick is immediate: start one interval after startup
    loop {
        ticker.tick().await;
        match scheduled_checkpoint(&core).await {
            Ok(Some(checkpoint)) => {
                tracing::info!(checkpoint = checkpoint.id, "audit checkpoint signed")
            }
            Ok(None) => {}
            Err(err) => tracing::error!(code = err.code(), "audit checkpoint failed"),
        }
    }
}

/// The newest checkpoint, for the auditor to keep elsewhere (AUDITOR, or the CLI operator).
pub async fn export_latest_checkpoint(
    core: &Core,
    ctx: &RequestCtx,
) -> AppResult<Option<ExportedCheckpoint>> {
    let action = Action::AuditCheckpointExport;
    let allowed = policy::authorize(&ctx.actor, Permission::ReadAuditTrail);
    audit::on_refusal(core, ctx, action, allowed).await?;
    let latest = audit_checkpoint::Entity::find()
        .order_by_desc(audit_checkpoint::Column::Id)
        .one(&core.db)
        .await?;
    let mut entry = AuditEntry::success(action);
    if let Some(checkpoint) = &latest {
        entry = entry.entity("AuditCheckpoint", checkpoint.id);
    }
    audit::record_alone(core, ctx, entry).await?;
    Ok(latest.as_ref().map(ExportedCheckpoint::from_model))
}

// ---------------------------------------------------------------- reads

/// Signed checkpoints, oldest first (AUDITOR).
pub async fn list_checkpoints(
    core: &Core,
    ctx: &RequestCtx,
    page: PageRequest,
) -> AppResult<Page<audit_checkpoint::Model>> {
    let action = Action::AuditCheckpointList;
    let allowed = policy::authorize(&ctx.actor, Permission::ReadAuditTrail);
    audit::on_refusal(core, ctx, action, allowed).await?;
    let checkpoints = page::by_seq(
        &core.db,
        audit_checkpoint::Entity::find(),
        audit_checkpoint::Column::Id,
        &page,
    )
    .await?;
    audit::record_alone(
        core,
        ctx,
        AuditEntry::success(action).detail(json!({ "returned": checkpoints.items.len() })),
    )
    .await?;
    Ok(checkpoints)
}

/// Filters of `auditEvents`.
#[derive(Clone, Debug, Default)]
pub struct EventFilter {
    pub action: Option<String>,
    pub child_id: Option<Uuid>,
    pub outcome: Option<String>,
    /// Only entries naming this record, as (kind, id): e.g. ("Disclosure", id).
    pub reference: Option<(&'static str, String)>,
    /// Only entries written at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Only entries written before this time.
    pub until: Option<DateTime<Utc>>,
    /// Only entries by this principal (its id, or its username or client id).
    pub actor: Option<String>,
    /// Only entries naming a disclosure this agency supplied.
    pub supplied_by: Option<Uuid>,
}

/// An entry with the children and records it names.
#[derive(Clone, Debug)]
pub struct EventWithRefs {
    pub event: audit_event::Model,
    pub refs: Vec<(String, String)>,
}

/// Audit entries in the order they were written, filtered (AUDITOR). Metadata and ids only:
/// the trail holds no case content. The read is itself audited, naming the child filtered on.
pub async fn list_events(
    core: &Core,
    ctx: &RequestCtx,
    filter: EventFilter,
    page: PageRequest,
) -> AppResult<Page<EventWithRefs>> {
    let action = Action::AuditEventList;
    let allowed = policy::authorize(&ctx.actor, Permission::ReadAuditTrail);
    audit::on_refusal(core, ctx, action, allowed).await?;
    let child = filter.child_id;
    let detail = json!({ "action": filter.action, "outcome": filter.outcome });
    let page = query_events(core, filter, page).await?;
    let detail = json!({ "filter": detail, "returned": page.items.len() });
    audit::record_alone(
        core,
        ctx,
        AuditEntry::success(action).detail(detail).children(child),
    )
    .await?;
    Ok(page)
}

/// A child's access log (MASH managers): every response that returned the child's data.
pub async fn child_access_log(
    core: &Core,
    ctx: &RequestCtx,
    child_id: Uuid,
    page: PageRequest,
) -> AppResult<Page<EventWithRefs>> {
    const ACTION: Action = Action::ChildAccessLog;
    let grant = policy::allow(core, ctx, ACTION, CaseOperation::ChildAccessLog).await?;
    let found = child::Entity::find_by_id(child_id).one(&core.db).await?;
    grant
        .on_refusal(core, found.ok_or(AppError::NotFound))
        .await?;
    let filter = EventFilter {
        outcome: Some("SUCCESS".into()),
        reference: Some(("Child", child_id.to_string())),
        ..Default::default()
    };
    let page = query_events(core, filter, page).await?;
    audit::record_alone(
        core,
        ctx,
        grant
            .entry()
            .entity("Child", child_id)
            .children([child_id])
            .purpose("audit"),
    )
    .await?;
    Ok(page)
}

/// Who read what an agency disclosed: its own MASH desk (for its disclosures), MASH managers
/// and auditors — as the NHS CP-IS service tells councils.
pub async fn disclosure_access_log(
    core: &Core,
    ctx: &RequestCtx,
    disclosure_id: Uuid,
    page: PageRequest,
) -> AppResult<Page<EventWithRefs>> {
    const ACTION: Action = Action::DisclosureAccessLog;
    let grant = policy::allow(core, ctx, ACTION, CaseOperation::DisclosureAccessLog).await?;
    let found = disclosure::Entity::find_by_id(disclosure_id)
        .one(&core.db)
        .await?
        .filter(|d| grant.may_read_disclosure_access_log(d));
    grant
        .on_refusal(core, found.ok_or(AppError::NotFound))
        .await?;
    let filter = EventFilter {
        outcome: Some("SUCCESS".into()),
        reference: Some(("Disclosure", disclosure_id.to_string())),
        ..Default::default()
    };
    let page = query_events(core, filter, page).await?;
    audit::record_alone(
        core,
        ctx,
        grant
            .entry()
            .entity("Disclosure", disclosure_id)
            .purpose("audit"),
    )
    .await?;
    Ok(page)
}

/// The keys of the ref sets that name a record; its entries are those keyed to one of them.
fn sets_naming(kind: &str, id: String) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(audit_ref_set_member::Column::RefSet)
        .from(audit_ref_set_member::Entity)
        .and_where(audit_ref_set_member::Column::Kind.eq(kind))
        .and_where(audit_ref_set_member::Column::RefId.eq(id))
        .to_owned()
}

/// The keys of the ref sets naming any disclosure `agency` supplied.
fn sets_naming_disclosures_of(
    backend: sea_orm::DatabaseBackend,
    agency: Uuid,
) -> sea_orm::sea_query::SelectStatement {
    let mut supplied = Query::select();
    supplied
        .expr(sea_orm::sea_query::Expr::cust(crate::db::uuid_text(
            backend, "id",
        )))
        .from(disclosure::Entity)
        .and_where(disclosure::Column::SuppliedByAgencyId.eq(agency));
    Query::select()
        .column(audit_ref_set_member::Column::RefSet)
        .from(audit_ref_set_member::Entity)
        .and_where(audit_ref_set_member::Column::Kind.eq("Disclosure"))
        .and_where(audit_ref_set_member::Column::RefId.in_subquery(supplied))
        .to_owned()
}

/// Entries for `GET /fhir/AuditEvent`: every entry for AUDITORs; for a partner's desk and
/// systems, those naming what its agency disclosed, each showing only those disclosures
/// (not the children or other agencies' records the entry also names). The search is
/// itself audited.
pub async fn search_events(
    core: &Core,
    ctx: &RequestCtx,
    mut filter: EventFilter,
    page: PageRequest,
) -> AppResult<Page<EventWithRefs>> {
    const ACTION: Action = Action::AuditEventSearch;
    let scope =
        audit::on_refusal(core, ctx, ACTION, policy::audit_search_scope(&ctx.actor)).await?;
    if let policy::AuditSearchScope::DisclosuresOf(agency) = scope {
        filter.supplied_by = Some(agency);
        // A desk may search by one of its own disclosures only: asked about any other
        // record it finds nothing, so a search cannot tell it what else an entry named.
        if let Some((kind, id)) = &filter.reference {
            let own = match (*kind, Uuid::parse_str(id)) {
                ("Disclosure", Ok(id)) => disclosure::Entity::find_by_id(id)
                    .one(&core.db)
                    .await?
                    .is_some_and(|d| d.supplied_by_agency_id == agency),
                _ => false,
            };
            if !own {
                filter.reference = Some(("Disclosure", Uuid::nil().to_string()));
            }
        }
    }
    let detail = json!({
        "from": filter.from, "until": filter.until, "actor": filter.actor,
        "entity": filter.reference.as_ref().map(|(kind, id)| format!("{kind}/{id}")),
    });
    let mut page = query_events(core, filter, page).await?;
    if let policy::AuditSearchScope::DisclosuresOf(agency) = scope {
        let named: Vec<Uuid> = page
            .items
            .iter()
            .flat_map(|e| &e.refs)
            .filter(|(kind, _)| kind == "Disclosure")
            .filter_map(|(_, id)| Uuid::parse_str(id).ok())
            .collect();
        let own: std::collections::HashSet<String> = disclosure::Entity::find()
            .filter(disclosure::Column::Id.is_in(named))
            .filter(disclosure::Column::SuppliedByAgencyId.eq(agency))
            .all(&core.db)
            .await?
            .into_iter()
            .map(|d| d.id.to_string())
            .collect();
        for entry in &mut page.items {
            entry
                .refs
                .retain(|(kind, id)| kind == "Disclosure" && own.contains(id));
        }
    }
    let detail = json!({ "filter": detail, "returned": page.items.len() });
    audit::record_alone(
        core,
        ctx,
        AuditEntry::success(ACTION).detail(detail).purpose("audit"),
    )
    .await?;
    Ok(page)
}

/// The filtered page of entries, with their refs (callers authorise and audit).
async fn query_events(
    core: &Core,
    filter: EventFilter,
    page: PageRequest,
) -> AppResult<Page<EventWithRefs>> {
    for (field, value) in [("action", &filter.action), ("outcome", &filter.outcome)] {
        if let Some(value) = value {
            checks::text(field, value, Kind::Line)?;
        }
    }
    let mut query = audit_event::Entity::find();
    if let Some(action) = &filter.action {
        query = query.filter(audit_event::Column::Action.eq(action.as_str()));
    }
    if let Some(outcome) = &filter.outcome {
        query = query.filter(audit_event::Column::Outcome.eq(outcome.as_str()));
    }
    if let Some(child) = filter.child_id {
        query = query.filter(
            audit_event::Column::RefSet.in_subquery(sets_naming("Child", child.to_string())),
        );
    }
    if let Some((kind, id)) = filter.reference {
        query = query.filter(audit_event::Column::RefSet.in_subquery(sets_naming(kind, id)));
    }
    if let Some(from) = filter.from {
        query = query.filter(audit_event::Column::At.gte(from));
    }
    if let Some(until) = filter.until {
        query = query.filter(audit_event::Column::At.lt(until));
    }
    if let Some(actor) = &filter.actor {
        checks::text("agent", actor, Kind::Line)?;
        query = query.filter(
            Condition::any()
                .add(audit_event::Column::ActorId.eq(actor.as_str()))
                .add(audit_event::Column::ActorLabel.eq(actor.as_str())),
        );
    }
    if let Some(agency) = filter.supplied_by {
        query = query.filter(
            audit_event::Column::RefSet.in_subquery(sets_naming_disclosures_of(
                core.db.get_database_backend(),
                agency,
            )),
        );
    }
    let events = page::by_seq(&core.db, query, audit_event::Column::Id, &page).await?;
    let mut refs = refs_of(&core.db, &events.items).await?;
    let items = events
        .items
        .into_iter()
        .map(|event| EventWithRefs {
            refs: refs.remove(&event.id).unwrap_or_default(),
            event,
        })
        .collect::<Vec<_>>();
    Ok(Page {
        items,
        has_next_page: events.has_next_page,
        total_count: events.total_count,
    })
}

/// The refs of some entries, by entry id, each list in canonical order (read through their
/// ref sets, each set once however many entries share it).
pub async fn refs_of<C: ConnectionTrait>(
    conn: &C,
    events: &[audit_event::Model],
) -> AppResult<std::collections::HashMap<i64, Vec<(String, String)>>> {
    let keys: std::collections::BTreeSet<&str> =
        events.iter().filter_map(|e| e.ref_set.as_deref()).collect();
    let mut by_set: std::collections::HashMap<String, Vec<(String, String)>> =
        std::collections::HashMap::new();
    if !keys.is_empty() {
        let rows = audit_ref_set_member::Entity::find()
            .filter(audit_ref_set_member::Column::RefSet.is_in(keys))
            .all(conn)
            .await?;
        for row in rows {
            by_set
                .entry(row.ref_set)
                .or_default()
                .push((row.kind, row.ref_id));
        }
    }
    // Each set put in canonical order once, however many entries share it.
    for refs in by_set.values_mut() {
        *refs = audit::canonical_refs(std::mem::take(refs));
    }
    let by_event = events
        .iter()
        .map(|event| {
            let refs = event
                .ref_set
                .as_ref()
                .and_then(|key| by_set.get(key))
                .cloned()
                .unwrap_or_default();
            (event.id, refs)
        })
        .collect();
    Ok(by_event)
}
