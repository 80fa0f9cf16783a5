//! One winner for every state change.
//!
//! A service that moves a record from one state to another opens its write transaction
//! first, re-reads the record there with `locked` (held against every other writer until
//! commit: `FOR UPDATE` on PostgreSQL; on SQLite the `BEGIN IMMEDIATE` write lock already
//! excludes them), checks the state it depends on, and only then writes. When two callers —
//! or two server instances — act at the same moment, the second waits for the first, sees
//! its result, and gets `CONFLICT`. `settle` then commits the winner, rolls the loser back and
//! records the loser's refusal in an entry of its own, so the loser writes nothing else.
//!
//! Lock order: a transaction locks the record it changes (for work under a contact, the
//! contact) before it writes anything else; the audit chain head is always taken last.
use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseTransaction, EntityTrait, PrimaryKeyTrait,
    QuerySelect,
};

use crate::db::WriteTxn;
use crate::domain::audit::{self, AuditEntry};
use crate::domain::policy::Grant;
use crate::error::{AppError, AppResult};
use crate::Core;

/// The record with this primary key, locked until the transaction ends; NOT_FOUND if absent
/// (the caller found it before opening the transaction, so it was deleted meanwhile).
pub async fn locked<E>(
    txn: &DatabaseTransaction,
    id: <E::PrimaryKey as PrimaryKeyTrait>::ValueType,
) -> AppResult<E::Model>
where
    E: EntityTrait,
{
    let mut query = E::find_by_id(id);
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        query = query.lock_exclusive();
    }
    query.one(txn).await?.ok_or(AppError::NotFound)
}

/// Ends a state change's transaction: commits on success; on failure rolls back, and records
/// a refusal or a lost race (`CONFLICT`) under `action` in an entry of its own.
pub async fn settle<T>(
    core: &Core,
    grant: &Grant<'_>,
    txn: WriteTxn,
    result: AppResult<T>,
) -> AppResult<T> {
    match result {
        Ok(value) => {
            txn.commit().await?;
            Ok(value)
        }
        Err(err) => {
            txn.rollback().await?;
            if err.is_refusal() || matches!(err, AppError::Conflict { .. }) {
                audit::record_alone(core, grant.ctx(), AuditEntry::refused(grant.action(), &err))
                    .await?;
            }
            Err(err)
        }
    }
}

/// A change to a value that may already be recorded: a first recording goes ahead; replacing
/// a recorded one is a correction, made only when the caller asks for it (`correction: true`)
/// and CONFLICT on `field` otherwise. Returns whether the change corrects.
pub fn correcting(recorded: bool, correction: bool, field: &str, what: &str) -> AppResult<bool> {
    if recorded && !correction {
        return Err(AppError::conflict(
            field,
            format!("{what} is already recorded; send correction: true to change it"),
        ));
    }
    Ok(recorded)
}
