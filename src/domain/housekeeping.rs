//! Housekeeping: `serve` sweeps rows that no longer mean anything every
//! `FRONTDOOR_HOUSEKEEPING_SECS` (default 3600; 0 turns it off):
//!
//! - refresh tokens past their expiry (an expired token is refused whether or not its row
//!   is still there);
//! - sessions with no refresh token left: ended ones, and open ones whose last refresh
//!   token has expired (so has every access token of theirs). A session that is gone is
//!   refused like an ended one;
//! - idempotency keys older than the window (`FRONTDOOR_IDEMPOTENCY_WINDOW_HOURS`), which
//!   are no longer honoured anyway (`idempotency::check`);
//! - login-throttle rows that have lapsed: not locked, last attempt more than a day ago.
//!
//! It never deletes audit entries, their refs, chain heads or checkpoints, nor any case
//! record. Each kind of row goes in its own short write transaction; the sweep is not an
//! audited action (it changes no record anyone made), it is logged.
use std::time::Duration;

use chrono::Utc;
use entity::{idempotency_key, login_throttle, refresh_token};
use sea_orm::sea_query::ExprTrait;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::db::{begin_write, statement};
use crate::domain::common::idempotency;
use crate::error::AppResult;
use crate::Core;

/// How long after its last attempt an unlocked login-throttle row is kept.
pub const THROTTLE_RETENTION: chrono::Duration = chrono::Duration::days(1);

/// How many rows of each kind one sweep removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Swept {
    pub refresh_tokens: u64,
    pub sessions: u64,
    pub idempotency_keys: u64,
    pub login_throttles: u64,
}

/// One sweep, now.
pub async fn sweep(core: &Core) -> AppResult<Swept> {
    let now = Utc::now();
    let mut swept = Swept::default();

    let txn = begin_write(&core.db).await?;
    swept.refresh_tokens = refresh_token::Entity::delete_many()
        .filter(refresh_token::Column::ExpiresAt.lt(now))
        .exec(&txn)
        .await?
        .rows_affected;
    // An open session's access tokens outlive its last refresh token only if access tokens
    // live longer than refresh tokens; then only ended sessions go.
    let open_ones_too = core.config.access_token_ttl <= core.config.refresh_token_ttl;
    let sql = if open_ones_too {
        "DELETE FROM sessions WHERE NOT EXISTS \
         (SELECT 1 FROM refresh_tokens r WHERE r.family_id = sessions.id)"
    } else {
        "DELETE FROM sessions WHERE ended_at IS NOT NULL AND NOT EXISTS \
         (SELECT 1 FROM refresh_tokens r WHERE r.family_id = sessions.id)"
    };
    swept.sessions = txn
        .execute_raw(statement(txn.get_database_backend(), sql, vec![]))
        .await?
        .rows_affected();
    txn.commit().await?;

    let txn = begin_write(&core.db).await?;
    swept.idempotency_keys = idempotency_key::Entity::delete_many()
        .filter(
            idempotency_key::Column::CreatedAt
                .lt(idempotency::window_start(core.config.idempotency_window)),
        )
        .exec(&txn)
        .await?
        .rows_affected;
    txn.commit().await?;

    let txn = begin_write(&core.db).await?;
    swept.login_throttles = login_throttle::Entity::delete_many()
        .filter(login_throttle::Column::LastAttemptAt.lt(now - THROTTLE_RETENTION))
        .filter(
            login_throttle::Column::LockedUntil
                .is_null()
                .or(login_throttle::Column::LockedUntil.lte(now)),
        )
        .exec(&txn)
        .await?
        .rows_affected;
    txn.commit().await?;
    Ok(swept)
}

/// The background task `serve` starts: a sweep every `interval`, the first one interval
/// after start-up. A failed sweep is logged and tried again at the next tick.
pub async fn run_scheduled(core: Core, interval: Duration) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        match sweep(&core).await {
            Ok(swept) => tracing::info!(
                refresh_tokens = swept.refresh_tokens,
                sessions = swept.sessions,
                idempotency_keys = swept.idempotency_keys,
                login_throttles = swept.login_throttles,
                "housekeeping sweep"
            ),
            Err(err) => tracing::error!(code = err.code(), "housekeeping sweep failed"),
        }
    }
}
