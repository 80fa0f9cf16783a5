//! Per-account login throttling with exponential backoff, keyed by a hash of the
//! normalised username whether or not such a user exists (so unknown names behave the same).
//!
//! An attempt is counted *before* the password is checked, in one atomic statement that
//! also sets the lock when the count reaches the limit. Parallel attempts (separate
//! requests or aliases in one document) therefore cannot slip past the limit together.
use chrono::{DateTime, Utc};
use entity::login_throttle;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, Value};

use crate::auth::password::sha256_hex;
use crate::config::LoginThrottlePolicy;
use crate::db::statement;
use crate::error::{AppError, AppResult};

pub fn key_for(username: &str) -> String {
    sha256_hex(&username.trim().to_lowercase())
}

/// Lock durations for the failure counts that lock: base, 2×base, … up to the cap.
fn lock_steps(policy: &LoginThrottlePolicy) -> Vec<chrono::Duration> {
    let mut steps = Vec::new();
    let mut backoff = policy.base_backoff;
    loop {
        let capped = backoff.min(policy.max_backoff);
        steps.push(chrono::Duration::from_std(capped).unwrap_or(chrono::Duration::MAX));
        if capped >= policy.max_backoff {
            return steps;
        }
        backoff *= 2;
    }
}

/// Counts one attempt, or refuses it with RATE_LIMITED while the account is locked.
pub async fn reserve_attempt(
    db: &DatabaseConnection,
    policy: &LoginThrottlePolicy,
    key: &str,
) -> AppResult<()> {
    // Housekeeping may remove a lapsed row between the insert and the update below; the
    // second pass then finds it absent and inserts it afresh.
    for _ in 0..2 {
        if let Some(result) = try_reserve(db, policy, key).await? {
            return result;
        }
    }
    Err(AppError::internal("login throttle row vanished twice"))
}

/// One pass: None when the row vanished between the insert and the update.
async fn try_reserve(
    db: &DatabaseConnection,
    policy: &LoginThrottlePolicy,
    key: &str,
) -> AppResult<Option<AppResult<()>>> {
    let backend = db.get_database_backend();
    let now = Utc::now();
    db.execute_raw(statement(
        backend,
        "INSERT INTO login_throttles (username_key, failures, locked_until, last_attempt_at) \
         VALUES ($1, 0, NULL, $2) ON CONFLICT (username_key) DO NOTHING",
        vec![key.into(), now.into()],
    ))
    .await?;

    // failures + 1 below the limit: no lock; at the limit: base; then doubling to the cap.
    let steps = lock_steps(policy);
    let mut values: Vec<Value> = vec![key.into(), now.into(), policy.free_failures.into()];
    let mut case = String::from("CASE WHEN failures + 1 < $3 THEN NULL");
    for (i, step) in steps.iter().enumerate() {
        let until: DateTime<Utc> = now + *step;
        if i + 1 < steps.len() {
            values.push((policy.free_failures + i as i32).into());
            values.push(until.into());
            case.push_str(&format!(
                " WHEN failures + 1 = ${} THEN ${}",
                values.len() - 1,
                values.len()
            ));
        } else {
            values.push(until.into());
            case.push_str(&format!(" ELSE ${} END", values.len()));
        }
    }
    let sql = format!(
        "UPDATE login_throttles SET failures = failures + 1, last_attempt_at = $2, locked_until = {case} \
         WHERE username_key = $1 AND (locked_until IS NULL OR locked_until <= $2) RETURNING failures"
    );
    let counted = db.query_one_raw(statement(backend, &sql, values)).await?;
    if counted.is_some() {
        return Ok(Some(Ok(())));
    }
    let Some(row) = login_throttle::Entity::find_by_id(key.to_string())
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let locked_until = row.locked_until.unwrap_or(now);
    Ok(Some(Err(AppError::RateLimited {
        retry_after_secs: (locked_until - now).num_seconds().max(1) as u64,
    })))
}

/// A successful login (or an ADMIN) clears the count. The row is reset, not deleted, so a
/// concurrent attempt between its insert and its update never finds it gone.
pub async fn clear<C: ConnectionTrait>(conn: &C, key: &str) -> AppResult<()> {
    login_throttle::Entity::update_many()
        .col_expr(login_throttle::Column::Failures, Expr::value(0))
        .col_expr(
            login_throttle::Column::LockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(login_throttle::Column::UsernameKey.eq(key))
        .exec(conn)
        .await?;
    Ok(())
}
