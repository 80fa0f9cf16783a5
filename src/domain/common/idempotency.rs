//! Idempotency keys (docs/design.md "Idempotency"): scoped to the calling principal and the
//! operation; a retry with the same payload gets the first result, a different payload
//! with the same key is CONFLICT. Claimed inside the operation's write transaction, so
//! concurrent retries yield one record.
//!
//! A key is honoured for the idempotency window (`FRONTDOOR_IDEMPOTENCY_WINDOW_HOURS`):
//! an older one is treated as never used, even before housekeeping removes it.
use std::time::Duration;

use chrono::Utc;
use entity::idempotency_key;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, SqlErr,
};

use crate::auth::password::sha256_hex;
use crate::domain::common::checks::{self, Kind};
use crate::domain::Actor;
use crate::error::{AppError, AppResult};

pub const MAX_KEY_LEN: usize = 200;

#[derive(Clone)]
pub struct Claim {
    principal: String,
    operation: &'static str,
    key: String,
    payload_hash: String,
}

pub enum Outcome {
    /// First use: do the work, then `complete` with the result's id.
    Fresh(Claim),
    /// A retry of the same request: the id of the first result.
    Replay(String),
}

pub fn principal(actor: &Actor) -> String {
    format!(
        "{}:{}",
        actor.kind.as_str(),
        actor
            .id
            .map(|id| id.to_string())
            .unwrap_or_else(|| actor.label.clone())
    )
}

/// A key as given (trimmed): 1–200 bytes on one line; `field` names it in a refusal.
pub fn checked_key<'k>(field: &str, key: &'k str) -> AppResult<&'k str> {
    let key = key.trim();
    if key.is_empty() || key.len() > MAX_KEY_LEN {
        return Err(AppError::bad_input(
            field,
            format!("must be 1–{MAX_KEY_LEN} characters"),
        ));
    }
    checks::text(field, key, Kind::Line)?;
    Ok(key)
}

/// The oldest `created_at` still honoured.
pub fn window_start(window: Duration) -> chrono::DateTime<Utc> {
    Utc::now() - chrono::Duration::from_std(window).unwrap_or(chrono::Duration::MAX)
}

/// Checks a key inside the write transaction `conn`; `window` is how long keys are honoured.
pub async fn check<C: ConnectionTrait>(
    conn: &C,
    window: Duration,
    actor: &Actor,
    operation: &'static str,
    key: &str,
    payload: &serde_json::Value,
) -> AppResult<Outcome> {
    let key = checked_key("idempotencyKey", key)?;
    let principal = principal(actor);
    let payload_hash = sha256_hex(&payload.to_string());
    let existing = idempotency_key::Entity::find_by_id((
        principal.clone(),
        operation.to_string(),
        key.to_string(),
    ))
    .one(conn)
    .await?;
    let existing = match existing {
        Some(row) if row.created_at < window_start(window) => {
            // Lapsed: forget it (unless a concurrent request has already replaced it) and
            // treat the key as new.
            idempotency_key::Entity::delete_many()
                .filter(idempotency_key::Column::Principal.eq(&row.principal))
                .filter(idempotency_key::Column::Operation.eq(&row.operation))
                .filter(idempotency_key::Column::Key.eq(&row.key))
                .filter(idempotency_key::Column::CreatedAt.lt(window_start(window)))
                .exec(conn)
                .await?;
            None
        }
        other => other,
    };
    match existing {
        Some(row) if row.payload_hash == payload_hash => Ok(Outcome::Replay(row.result_id)),
        Some(_) => Err(AppError::conflict(
            "idempotencyKey",
            "this key was already used with a different request",
        )),
        None => Ok(Outcome::Fresh(Claim {
            principal,
            operation,
            key: key.to_string(),
            payload_hash,
        })),
    }
}

/// Records the result of a fresh claim in the same transaction as the work. False when a
/// concurrent request with the same key committed first: roll back and replay its result.
pub async fn complete<C: ConnectionTrait>(
    conn: &C,
    claim: &Claim,
    result_id: impl ToString,
) -> AppResult<bool> {
    let inserted = idempotency_key::ActiveModel {
        principal: Set(claim.principal.clone()),
        operation: Set(claim.operation.to_string()),
        key: Set(claim.key.clone()),
        payload_hash: Set(claim.payload_hash.clone()),
        result_id: Set(result_id.to_string()),
        created_at: Set(Utc::now()),
    }
    .insert(conn)
    .await;
    match inserted {
        Ok(_) => Ok(true),
        Err(err) if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            Ok(false)
        }
        Err(err) => Err(err.into()),
    }
}

/// After losing `complete` to a concurrent request with the same key: that request's
/// result if it carried the same payload, otherwise CONFLICT (whatever the timing, a
/// different payload never gets another caller's record).
pub async fn winner<C: ConnectionTrait>(conn: &C, claim: &Claim) -> AppResult<String> {
    let row = idempotency_key::Entity::find_by_id((
        claim.principal.clone(),
        claim.operation.to_string(),
        claim.key.clone(),
    ))
    .one(conn)
    .await?
    .ok_or_else(|| AppError::internal("idempotency key vanished"))?;
    if row.payload_hash == claim.payload_hash {
        Ok(row.result_id)
    } else {
        Err(AppError::conflict(
            "idempotencyKey",
            "this key was already used with a different request",
        ))
    }
}
