//! Logging in and out, sessions, refresh-token rotation, password changes, the OAuth
//! client-credentials grant, and turning a bearer token into an `Actor` on every request.
//!
//! A login starts a session; its access and refresh tokens carry the session's id (`sid`)
//! and its refresh tokens form the family with the same id. Every request reads the
//! session, so ending one (logout, refresh-token reuse, password change or reset, user or
//! agency deactivation) stops its tokens at their next use on every instance.
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use entity::{agency, client, refresh_token, session, user};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, Set,
};
use serde_json::json;
use uuid::Uuid;

use crate::auth::password;
use crate::auth::tokens::{Subject, TokenFor, TokenUse};
use crate::db::begin_write;
use crate::domain::audit::Action;
use crate::domain::audit::{self, AuditEntry};
use crate::domain::common::codes::Role;
use crate::domain::identity::throttle;
use crate::domain::policy::{self, Permission};
use crate::domain::{Actor, ActorKind, RequestCtx};
use crate::error::{AppError, AppResult};
use crate::Core;

mod authenticate;
mod cache;
mod ending;
mod grant;
mod refresh;

pub use authenticate::*;
pub(crate) use cache::identity_changed;
pub use cache::PrincipalCache;
pub use ending::*;
pub use grant::*;
pub use refresh::*;

const BAD_CREDENTIALS: &str = "invalid username or password";

/// How long after a refresh token was rotated a second presentation of it is taken for a
/// client that sent the same refresh twice (CONFLICT) rather than a replay (which ends the
/// session).
pub const REFRESH_GRACE: chrono::Duration = chrono::Duration::seconds(5);

/// Why a session ended (stored in `sessions.end_reason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndReason {
    Logout,
    RefreshTokenReuse,
    PasswordChange,
    PasswordReset,
    UserDeactivated,
    AgencyDeactivated,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Logout => "logout",
            EndReason::RefreshTokenReuse => "refresh_token_reuse",
            EndReason::PasswordChange => "password_change",
            EndReason::PasswordReset => "password_reset",
            EndReason::UserDeactivated => "user_deactivated",
            EndReason::AgencyDeactivated => "agency_deactivated",
        }
    }
}

/// What a successful login, refresh or password change returns.
#[derive(Clone, Debug)]
pub struct SessionTokens {
    pub access_token: String,
    pub access_token_expires_at: DateTime<Utc>,
    pub refresh_token: String,
    pub refresh_token_expires_at: DateTime<Utc>,
}

async fn find_user_with_agency(
    core: &Core,
    id: Uuid,
) -> AppResult<Option<(user::Model, agency::Model)>> {
    Ok(user::Entity::find_by_id(id)
        .find_also_related(agency::Entity)
        .one(&core.db)
        .await?
        .and_then(|(u, a)| a.map(|a| (u, a))))
}

/// Starts a session for `user` and issues its first pair of tokens.
async fn start_session<C: ConnectionTrait>(
    core: &Core,
    conn: &C,
    user: &user::Model,
) -> AppResult<(Uuid, SessionTokens)> {
    let id = Uuid::now_v7();
    session::ActiveModel {
        id: Set(id),
        user_id: Set(user.id),
        created_at: Set(Utc::now()),
        ended_at: Set(None),
        end_reason: Set(None),
    }
    .insert(conn)
    .await?;
    Ok((id, issue_tokens(core, conn, user, id).await?))
}

/// Issues an access token and a refresh token of `session`, storing the refresh token's hash.
async fn issue_tokens<C: ConnectionTrait>(
    core: &Core,
    conn: &C,
    user: &user::Model,
    session: Uuid,
) -> AppResult<SessionTokens> {
    let principal = TokenFor {
        subject: Subject::User(user.id),
        agency_id: user.agency_id,
        epoch: Some(user.token_epoch),
        session: Some(session),
        scope: None,
    };
    let access = core.keys.issue(
        TokenUse::Access,
        principal.clone(),
        core.config.access_token_ttl,
    );
    let refresh = core
        .keys
        .issue(TokenUse::Refresh, principal, core.config.refresh_token_ttl);
    refresh_token::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user.id),
        family_id: Set(session),
        token_hash: Set(password::sha256_hex(&refresh.token)),
        expires_at: Set(refresh.expires_at),
        created_at: Set(Utc::now()),
        revoked_at: Set(None),
        used_at: Set(None),
    }
    .insert(conn)
    .await?;
    Ok(SessionTokens {
        access_token: access.token,
        access_token_expires_at: access.expires_at,
        refresh_token: refresh.token,
        refresh_token_expires_at: refresh.expires_at,
    })
}

fn usable(user: &user::Model, agency: &agency::Model) -> bool {
    user.active && agency.active
}

/// Unknown user, wrong password, deactivated account: one answer, one cost.
pub async fn login(
    core: &Core,
    ctx: &RequestCtx,
    username: &str,
    password_text: &str,
) -> AppResult<SessionTokens> {
    login_from(core, ctx, None, username, password_text).await
}

/// A login from `source` (the caller's address): a source that has failed too often in
/// the current window is refused RATE_LIMITED before anything else is looked at.
pub async fn login_from(
    core: &Core,
    ctx: &RequestCtx,
    source: Option<IpAddr>,
    username: &str,
    password_text: &str,
) -> AppResult<SessionTokens> {
    let attempt = audit::on_refusal(core, ctx, Action::Login, core.sources.reserve(source)).await?;
    let key = throttle::key_for(username);
    let reserved = throttle::reserve_attempt(&core.db, &core.config.login_throttle, &key).await;
    audit::on_refusal(core, ctx, Action::Login, reserved).await?;

    let found = user::Entity::find()
        .filter(user::Column::Username.eq(username.trim().to_lowercase()))
        .find_also_related(agency::Entity)
        .one(&core.db)
        .await?
        .and_then(|(u, a)| a.map(|a| (u, a)));
    let stored = found.as_ref().map(|(u, _)| u.password_hash.clone());
    // A full hashing queue refuses the attempt (RATE_LIMITED), recorded like a lock.
    let checked = password::verify(password_text.to_string(), stored).await;
    let password_ok = audit::on_refusal(core, ctx, Action::Login, checked).await?;

    match found {
        Some((user, agency)) if password_ok && usable(&user, &agency) => {
            let txn = begin_write(&core.db).await?;
            throttle::clear(&txn, &key).await?;
            let (session_id, tokens) = start_session(core, &txn, &user).await?;
            let ctx = RequestCtx {
                actor: actor_for_user(user.clone(), agency),
                request_id: ctx.request_id.clone(),
            };
            audit::record(
                &txn,
                &ctx,
                AuditEntry::success(Action::Login)
                    .entity("User", user.id)
                    .detail(json!({ "sessionId": session_id })),
            )
            .await?;
            txn.commit().await?;
            core.sources.succeeded(attempt);
            Ok(tokens)
        }
        found => {
            let mut entry =
                AuditEntry::refused(Action::Login, &AppError::Unauthenticated(BAD_CREDENTIALS));
            entry = match &found {
                Some((user, _)) => entry.entity("User", user.id),
                None => entry.detail(json!({ "unknownUsername": true })),
            };
            audit::record_alone(core, ctx, entry).await?;
            Err(AppError::Unauthenticated(BAD_CREDENTIALS))
        }
    }
}

/// Checks the current password (throttled like a login), stores the new hash, and ends
/// every session of the user; the caller gets a new one. The old tokens fail at their next
/// request on any instance.
pub async fn change_password(
    core: &Core,
    ctx: &RequestCtx,
    current: &str,
    new_password: &str,
) -> AppResult<SessionTokens> {
    let authorized = policy::authorize(&ctx.actor, Permission::ChangeOwnPassword);
    audit::on_refusal(core, ctx, Action::UserChangePassword, authorized).await?;
    crate::domain::common::checks::new_password("newPassword", new_password)?;
    let user_id = ctx
        .actor
        .id
        .ok_or(AppError::Unauthenticated("authentication required"))?;
    let (user, _) = find_user_with_agency(core, user_id)
        .await?
        .ok_or(AppError::Unauthenticated("authentication required"))?;

    let key = throttle::key_for(&user.username);
    let reserved = throttle::reserve_attempt(&core.db, &core.config.login_throttle, &key).await;
    audit::on_refusal(core, ctx, Action::UserChangePassword, reserved).await?;
    let checked = password::verify(current.to_string(), Some(user.password_hash.clone())).await;
    if !audit::on_refusal(core, ctx, Action::UserChangePassword, checked).await? {
        let err = AppError::bad_input("currentPassword", "the current password is not correct");
        audit::record_alone(
            core,
            ctx,
            AuditEntry::refused(Action::UserChangePassword, &err).entity("User", user.id),
        )
        .await?;
        return Err(err);
    }
    let hash = password::hash(new_password.to_string()).await?;
    let txn = begin_write(&core.db).await?;
    throttle::clear(&txn, &key).await?;
    let (updated, ended) = set_password(&txn, user, hash, EndReason::PasswordChange).await?;
    let (session_id, tokens) = start_session(core, &txn, &updated).await?;
    audit::record(
        &txn,
        ctx,
        AuditEntry::success(Action::UserChangePassword)
            .entity("User", updated.id)
            .detail(json!({ "endedSessions": ended, "sessionId": session_id })),
    )
    .await?;
    txn.commit().await?;
    crate::domain::identity::sessions::identity_changed();
    Ok(tokens)
}

/// Stores a new hash, bumps the token epoch and ends every session of the user; returns
/// the user and how many sessions ended.
pub async fn set_password<C: ConnectionTrait>(
    conn: &C,
    user: user::Model,
    hash: String,
    reason: EndReason,
) -> AppResult<(user::Model, u64)> {
    let epoch = user.token_epoch + 1;
    let id = user.id;
    let mut active: user::ActiveModel = user.into();
    active.password_hash = Set(hash);
    active.token_epoch = Set(epoch);
    active.updated_at = Set(Utc::now());
    let updated = active.update(conn).await?;
    let ended = end_user_sessions(conn, id, reason).await?;
    Ok((updated, ended))
}
