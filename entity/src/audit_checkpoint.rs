use sea_orm::entity::prelude::*;

/// Every chain's head at one moment, signed with the audit key (Ed25519), which is derived
/// from configuration and never stored in the database.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_checkpoints")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Stored to the microsecond (it is part of what is signed).
    pub at: DateTimeUtc,
    /// JSON `[{"chain": 1, "seq": 42, "hash": "<hex>"}, ...]`, one per chain, by chain.
    pub heads: String,
    /// Base64 Ed25519 signature over the canonical encoding of `at` and `heads`.
    pub signature: String,
    /// Base64 public key that made it (informational: verification uses the configured key).
    pub public_key: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
