use sea_orm::entity::prelude::*;

/// One entry of the audit trail. Written only by `domain::audit`; never updated or deleted.
///
/// Entries form hash chains: each names its chain and its place in it (`seq`, from 1), and
/// `hash` covers every field below together with `prev_hash`, the hash of the entry before
/// it in the same chain (or 64 zeros for the first). Format 1 entries (written before
/// format 2) leave `id` out of the hash; format 2 puts it in.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The hash format: 1 (without the id) or 2 (with it). Inside the hash itself.
    pub hash_version: i16,
    /// Stored to the microsecond, so it hashes the same after a round trip on either database.
    pub at: DateTimeUtc,
    /// USER, CLIENT, OPERATOR (the CLI) or ANONYMOUS.
    pub actor_kind: String,
    pub actor_id: Option<String>,
    /// Username, client id or operating-system user: what an auditor reads.
    pub actor_label: String,
    pub actor_agency_id: Option<Uuid>,
    pub action: String,
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    /// SUCCESS, or the refusal code (FORBIDDEN, NOT_FOUND, UNAUTHENTICATED, RATE_LIMITED, ...).
    pub outcome: String,
    pub request_id: Option<String>,
    /// Metadata only (never case content, passwords or tokens), as JSON text.
    pub detail: Option<String>,
    /// Which hash chain the entry belongs to (1..=8).
    pub chain: i32,
    /// Position in its chain, from 1, without gaps.
    pub seq: i64,
    /// Hex SHA-256 of the previous entry in the chain.
    pub prev_hash: String,
    /// Hex SHA-256 of this entry (see `domain::audit::entry_hash`).
    pub hash: String,
    /// Why the data moved, e.g. "safeguarding.triage".
    pub purpose: Option<String>,
    /// The lawful basis code of a disclosure, where one applies.
    pub lawful_basis: Option<String>,
    /// "consent:<id>" or "override:<id>".
    pub consent_ref: Option<String>,
    /// The key of the set of children and records the entry names (`audit_ref_set_member`),
    /// None when it names none. Derived from the refs, which the hash covers.
    pub ref_set: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
