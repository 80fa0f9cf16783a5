//! The stored audit trail: its hash chains, as the database holds them. How an entry's hash
//! is computed, how a chain's head is read and locked, how an entry is appended only where
//! its hash says, and the group commit that appends many entries in one transaction. What an
//! entry says and when one is written is the domain's (`domain::audit`, the one audit
//! writer); this module only stores what it is given.
pub mod group;

use entity::audit_event;
use rand::Rng;
use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr, Value};
use serde_json::{json, Value as Json};
use sha2::{Digest, Sha256};

use crate::db::statement;
use crate::error::{AppError, AppResult};

/// How many hash chains the trail is spread over. The migration seeds one head row for each
/// (its `AUDIT_CHAINS` must match).
pub const CHAINS: i32 = 8;

/// The hash format every new entry is written in (see `entry_hash`).
pub const HASH_VERSION: i16 = 2;

/// The `prev_hash` of every chain's first entry: 32 zero bytes, in hex.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// How many heads an append may find busy or moved (another writer got there first, on a
/// connection without a transaction) before giving up. Each failed attempt means another
/// entry was written, so this bounds only starvation.
pub const MAX_APPEND_ATTEMPTS: usize = 256;

/// Where an entry tries first. Every entry of one request prefers the same chain, so a
/// transaction that records twice finds the head it already holds (a row lock is never
/// skipped by the transaction holding it) rather than locking a second one in an order
/// another transaction could reverse. Request ids are random, so requests spread evenly.
pub fn pick_chain(request_id: Option<&str>) -> i32 {
    match request_id {
        Some(id) => {
            let digest = Sha256::digest(id.as_bytes());
            let n = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
            (n % CHAINS as u32) as i32 + 1
        }
        None => rand::thread_rng().gen_range(1..=CHAINS),
    }
}

/// The chain's head (seq, hash) and the id the next entry takes (the id is inside the hash,
/// so it is chosen before hashing). On PostgreSQL the head is locked until the caller's
/// transaction ends and the id comes from the table's sequence (an id taken by an append
/// that then loses is a gap, as with any sequence); unless `wait`, a head locked by another
/// transaction is skipped (None). On SQLite writers are one at a time (write transactions
/// are `BEGIN IMMEDIATE`), so the next id is the largest plus one; a writer without a
/// transaction that collides finds the append refused and retries.
pub async fn read_head<C: ConnectionTrait>(
    conn: &C,
    chain: i32,
    wait: bool,
) -> AppResult<Option<(i64, String, i64)>> {
    let backend = conn.get_database_backend();
    let sql = match (backend, wait) {
        (DatabaseBackend::Postgres, true) => {
            "SELECT seq, hash, nextval(pg_get_serial_sequence('audit_events', 'id')) AS next_id \
             FROM audit_chain_heads WHERE chain = $1 FOR UPDATE"
        }
        (DatabaseBackend::Postgres, false) => {
            "SELECT seq, hash, nextval(pg_get_serial_sequence('audit_events', 'id')) AS next_id \
             FROM audit_chain_heads WHERE chain = $1 FOR UPDATE SKIP LOCKED"
        }
        _ => {
            "SELECT seq, hash, (SELECT COALESCE(MAX(id), 0) + 1 FROM audit_events) AS next_id \
             FROM audit_chain_heads WHERE chain = $1"
        }
    };
    let row = conn
        .query_one_raw(statement(backend, sql, vec![chain.into()]))
        .await?;
    match row {
        Some(row) => Ok(Some((
            row.try_get("", "seq")?,
            row.try_get("", "hash")?,
            row.try_get("", "next_id")?,
        ))),
        None if wait || backend != DatabaseBackend::Postgres => Err(AppError::internal(format!(
            "audit chain {chain} has no head row"
        ))),
        None => Ok(None),
    }
}

/// Inserts a run of entries that follow each other in one chain (`seq` consecutive, each
/// `prev_hash` the hash before it), their refs, and moves the head past the last, in ONE
/// statement, provided the head is still where the first entry says (seq - 1, prev_hash).
/// False if another writer moved it first (nothing written). A batch of entries costs one
/// round trip, not one per entry.
pub async fn append_all<C: ConnectionTrait>(
    conn: &C,
    entries: &[(audit_event::Model, Vec<(String, String)>)],
) -> AppResult<bool> {
    let (Some((first, _)), Some((last, _))) = (entries.first(), entries.last()) else {
        return Ok(true);
    };
    let backend = conn.get_database_backend();
    match backend {
        DatabaseBackend::Postgres => {
            // Data-modifying WITH: the head moves only if it is still where it was read, and
            // the entries and their refs are inserted only if it moved. The entries travel as
            // one JSON array (one statement text, prepared once, whatever the batch size).
            let events = Json::Array(
                entries
                    .iter()
                    .map(|(e, _)| {
                        json!({
                            "id": e.id, "hash_version": e.hash_version, "seq": e.seq,
                            "prev_hash": e.prev_hash, "hash": e.hash,
                            "at": e.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                            "actor_kind": e.actor_kind, "actor_id": e.actor_id,
                            "actor_label": e.actor_label, "actor_agency_id": e.actor_agency_id,
                            "action": e.action, "entity_type": e.entity_type,
                            "entity_id": e.entity_id, "outcome": e.outcome,
                            "request_id": e.request_id, "detail": e.detail,
                            "purpose": e.purpose, "lawful_basis": e.lawful_basis,
                            "consent_ref": e.consent_ref, "ref_set": e.ref_set,
                        })
                    })
                    .collect(),
            );
            // Each distinct ref set of the batch once; it is stored only if no earlier entry
            // named it.
            let mut sets: Vec<Json> = Vec::new();
            let mut seen = std::collections::HashSet::new();
            for (event, refs) in entries {
                if let Some(key) = &event.ref_set {
                    if seen.insert(key.as_str()) {
                        sets.push(json!({ "ref_set": key, "refs": refs }));
                    }
                }
            }
            let sql = "WITH head AS ( \
                   UPDATE audit_chain_heads SET seq = $2, hash = $3 \
                   WHERE chain = $1 AND seq = $4 AND hash = $5 RETURNING chain \
                 ), event AS ( \
                   INSERT INTO audit_events (id, hash_version, chain, seq, prev_hash, hash, at, \
                     actor_kind, actor_id, actor_label, actor_agency_id, action, entity_type, \
                     entity_id, outcome, request_id, detail, purpose, lawful_basis, consent_ref, \
                     ref_set) \
                   SELECT e.id, e.hash_version, head.chain, e.seq, e.prev_hash, e.hash, e.at, \
                     e.actor_kind, e.actor_id, e.actor_label, e.actor_agency_id, e.action, \
                     e.entity_type, e.entity_id, e.outcome, e.request_id, e.detail, e.purpose, \
                     e.lawful_basis, e.consent_ref, e.ref_set \
                   FROM head, json_to_recordset($6::json) AS e(id bigint, hash_version smallint, \
                     seq bigint, prev_hash text, hash text, at timestamptz, actor_kind text, \
                     actor_id text, actor_label text, actor_agency_id uuid, action text, \
                     entity_type text, entity_id text, outcome text, request_id text, \
                     detail text, purpose text, lawful_basis text, consent_ref text, \
                     ref_set text) \
                   RETURNING id \
                 ), batch_sets AS ( \
                   SELECT s.ref_set, s.refs \
                   FROM head, json_to_recordset($7::json) AS s(ref_set text, refs json) \
                 ), new_sets AS ( \
                   INSERT INTO audit_ref_sets (ref_set) SELECT ref_set FROM batch_sets \
                   ON CONFLICT (ref_set) DO NOTHING RETURNING ref_set \
                 ), members AS ( \
                   INSERT INTO audit_ref_set_members (ref_set, kind, ref_id) \
                   SELECT b.ref_set, r.value ->> 0, r.value ->> 1 \
                   FROM new_sets n JOIN batch_sets b ON b.ref_set = n.ref_set, \
                     json_array_elements(b.refs) AS r(value) \
                 ) SELECT COUNT(*) AS n FROM event";
            let values: Vec<Value> = vec![
                first.chain.into(),
                last.seq.into(),
                last.hash.clone().into(),
                (first.seq - 1).into(),
                first.prev_hash.clone().into(),
                events.to_string().into(),
                Json::Array(sets).to_string().into(),
            ];
            let row = conn.query_one_raw(statement(backend, sql, values)).await?;
            let written: i64 = match row {
                Some(row) => row.try_get("", "n")?,
                None => 0,
            };
            Ok(written as usize == entries.len())
        }
        _ => {
            // SQLite: the `audit_append_v3` view's trigger does the same for each row, in
            // order (see the migration), raising "audit chain head moved" when the head is no
            // longer the one the row names; the statement then writes nothing.
            let columns = "(chain, seq, prev_hash, hash, at, actor_kind, actor_id, actor_label, \
                 actor_agency_id, action, entity_type, entity_id, outcome, request_id, detail, \
                 purpose, lawful_basis, consent_ref, refs, id, hash_version, ref_set)";
            let mut values: Vec<Value> = Vec::with_capacity(entries.len() * 21);
            let mut rows = Vec::with_capacity(entries.len());
            for (event, refs) in entries {
                let first = values.len() + 1;
                values.extend(sqlite_row(event, refs));
                let params: Vec<String> = (first..=values.len()).map(|n| format!("${n}")).collect();
                rows.push(format!("({})", params.join(", ")));
            }
            let sql = format!(
                "INSERT INTO audit_append_v3 {columns} VALUES {}",
                rows.join(", ")
            );
            match conn.execute_raw(statement(backend, &sql, values)).await {
                Ok(_) => Ok(true),
                Err(err) if head_moved(&err) => Ok(false),
                Err(err) => Err(err.into()),
            }
        }
    }
}

/// One entry's values for the SQLite append view, in its column order.
fn sqlite_row(event: &audit_event::Model, refs: &[(String, String)]) -> Vec<Value> {
    let refs_json = json!(refs).to_string();
    vec![
        event.chain.into(),
        event.seq.into(),
        event.prev_hash.clone().into(),
        event.hash.clone().into(),
        event.at.into(),
        event.actor_kind.clone().into(),
        event.actor_id.clone().into(),
        event.actor_label.clone().into(),
        event.actor_agency_id.into(),
        event.action.clone().into(),
        event.entity_type.clone().into(),
        event.entity_id.clone().into(),
        event.outcome.clone().into(),
        event.request_id.clone().into(),
        event.detail.clone().into(),
        event.purpose.clone().into(),
        event.lawful_basis.clone().into(),
        event.consent_ref.clone().into(),
        refs_json.into(),
        event.id.into(),
        event.hash_version.into(),
        event.ref_set.clone().into(),
    ]
}

fn head_moved(err: &DbErr) -> bool {
    err.to_string().contains("audit chain head moved")
}

/// The key of an entry's ref set: the hex SHA-256 of its refs in canonical order, so the same
/// children and records always give the same key and the writer needs no lookup to find it.
/// None for an entry that names nothing.
pub fn ref_set_key(refs: &[(String, String)]) -> Option<String> {
    if refs.is_empty() {
        return None;
    }
    Some(hex::encode(Sha256::digest(
        json!(refs).to_string().as_bytes(),
    )))
}

/// Refs as hashed and stored: a set, in one order whatever order they were named in.
pub fn canonical_refs(refs: impl IntoIterator<Item = (String, String)>) -> Vec<(String, String)> {
    let mut refs: Vec<(String, String)> = refs.into_iter().collect();
    refs.sort();
    refs.dedup();
    refs
}

/// The hex SHA-256 of an entry: a JSON array (so every field is delimited and typed, and
/// no two different entries encode alike) of a version label, (from format 2) the entry's
/// id, the chain, seq and previous hash, the time in microseconds, every other stored field
/// but `hash`, and the refs in canonical order. The label is inside the hash, so changing an
/// entry's format changes its hash. The writer and the verifier both use this; `None` for a
/// format this build does not know.
pub fn entry_hash(event: &audit_event::Model, refs: &[(String, String)]) -> Option<String> {
    let refs = canonical_refs(refs.iter().cloned());
    // Format 1 is kept byte for byte, so entries written before format 2 still verify.
    let mut fields = match event.hash_version {
        1 => vec![json!("frontdoor audit entry v1")],
        2 => vec![json!("frontdoor audit entry v2"), json!(event.id)],
        _ => return None,
    };
    fields.extend([
        json!(event.chain),
        json!(event.seq),
        json!(event.prev_hash),
        json!(event.at.timestamp_micros()),
        json!(event.actor_kind),
        json!(event.actor_id),
        json!(event.actor_label),
        json!(event.actor_agency_id.map(|id| id.to_string())),
        json!(event.action),
        json!(event.entity_type),
        json!(event.entity_id),
        json!(event.outcome),
        json!(event.request_id),
        json!(event.detail),
        json!(event.purpose),
        json!(event.lawful_basis),
        json!(event.consent_ref),
        Json::Array(refs.iter().map(|(k, id)| json!([k, id])).collect()),
    ]);
    let encoded = Json::Array(fields);
    Some(hex::encode(Sha256::digest(encoded.to_string().as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn sample(version: i16) -> audit_event::Model {
        audit_event::Model {
            id: 42,
            hash_version: version,
            at: Utc.with_ymd_and_hms(2026, 12, 1, 9, 30, 0).unwrap(),
            actor_kind: "USER".into(),
            actor_id: Some("u-1".into()),
            actor_label: "mash.manager".into(),
            actor_agency_id: None,
            action: "contact.read".into(),
            entity_type: Some("Contact".into()),
            entity_id: Some("c-1".into()),
            outcome: "SUCCESS".into(),
            request_id: Some("r-1".into()),
            detail: None,
            chain: 3,
            seq: 7,
            prev_hash: GENESIS_HASH.into(),
            hash: String::new(),
            purpose: Some("safeguarding.triage".into()),
            lawful_basis: None,
            consent_ref: None,
            ref_set: None,
        }
    }

    #[test]
    fn a_ref_set_key_names_exactly_its_refs() {
        let child = ("Child".to_string(), "c-1".to_string());
        let disclosure = ("Disclosure".to_string(), "d-1".to_string());
        let both = canonical_refs([disclosure.clone(), child.clone()]);
        let key = ref_set_key(&both).unwrap();
        assert_eq!(key.len(), 64);
        assert_eq!(
            ref_set_key(&canonical_refs([child.clone(), disclosure])),
            Some(key.clone()),
            "the same refs named in another order share the set"
        );
        assert_ne!(ref_set_key(&[child]), Some(key));
        assert_eq!(ref_set_key(&[]), None);
    }

    fn sha(text: &str) -> String {
        hex::encode(Sha256::digest(text.as_bytes()))
    }

    #[test]
    fn format_1_is_the_encoding_entries_were_written_in() {
        let refs = vec![("Child".to_string(), "k-1".to_string())];
        let expected = sha(&format!(
            "[\"frontdoor audit entry v1\",3,7,\"{GENESIS_HASH}\",{},\"USER\",\"u-1\",\"mash.manager\",null,\"contact.read\",\"Contact\",\"c-1\",\"SUCCESS\",\"r-1\",null,\"safeguarding.triage\",null,null,[[\"Child\",\"k-1\"]]]",
            sample(1).at.timestamp_micros()
        ));
        assert_eq!(entry_hash(&sample(1), &refs).unwrap(), expected);
    }

    #[test]
    fn format_2_covers_the_id_and_unknown_formats_have_no_hash() {
        let a = sample(2);
        let mut b = sample(2);
        b.id = 43;
        assert_ne!(entry_hash(&a, &[]), entry_hash(&b, &[]));
        assert_ne!(entry_hash(&a, &[]), entry_hash(&sample(1), &[]));
        let mut c = sample(1);
        c.id = 43;
        assert_eq!(entry_hash(&sample(1), &[]), entry_hash(&c, &[]));
        assert_eq!(entry_hash(&sample(3), &[]), None);
    }
}
