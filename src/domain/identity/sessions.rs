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
use crate::domain::audit::{self, AuditEntry};
use crate::domain::common::codes::Role;
use crate::domain::identity::throttle;
use crate::domain::policy::{self, Permission};
use crate::domain::{Actor, ActorKind, RequestCtx};
use crate::error::{AppError, AppResult};
use crate::Core;

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

/// Ends the open sessions `sessions` selects and revokes the refresh tokens `tokens`
/// selects, at one instant; how many sessions ended.
async fn end_matching<C: ConnectionTrait>(
    conn: &C,
    sessions: Condition,
    tokens: Condition,
    reason: EndReason,
) -> AppResult<u64> {
    let now = Utc::now();
    let ended = session::Entity::update_many()
        .col_expr(session::Column::EndedAt, Expr::value(now))
        .col_expr(session::Column::EndReason, Expr::value(reason.as_str()))
        .filter(sessions)
        .filter(session::Column::EndedAt.is_null())
        .exec(conn)
        .await?;
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(now))
        .filter(tokens)
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(ended.rows_affected)
}

/// Ends one session and revokes its refresh tokens. True if it was open until now.
pub async fn end_session<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    reason: EndReason,
) -> AppResult<bool> {
    let ended = end_matching(
        conn,
        Condition::all().add(session::Column::Id.eq(id)),
        Condition::all().add(refresh_token::Column::FamilyId.eq(id)),
        reason,
    )
    .await?;
    Ok(ended == 1)
}

/// Ends every open session of a user and revokes all their refresh tokens; how many ended.
pub async fn end_user_sessions<C: ConnectionTrait>(
    conn: &C,
    user_id: Uuid,
    reason: EndReason,
) -> AppResult<u64> {
    end_matching(
        conn,
        Condition::all().add(session::Column::UserId.eq(user_id)),
        Condition::all().add(refresh_token::Column::UserId.eq(user_id)),
        reason,
    )
    .await
}

/// Ends every open session of every user of an agency; how many ended.
pub async fn end_agency_sessions<C: ConnectionTrait>(
    conn: &C,
    agency_id: Uuid,
    reason: EndReason,
) -> AppResult<u64> {
    let users_of_agency = || {
        Query::select()
            .column(user::Column::Id)
            .from(user::Entity)
            .and_where(user::Column::AgencyId.eq(agency_id))
            .to_owned()
    };
    end_matching(
        conn,
        Condition::all().add(session::Column::UserId.in_subquery(users_of_agency())),
        Condition::all().add(refresh_token::Column::UserId.in_subquery(users_of_agency())),
        reason,
    )
    .await
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
    let attempt = audit::on_refusal(&core.db, ctx, "login", core.sources.reserve(source)).await?;
    let key = throttle::key_for(username);
    let reserved = throttle::reserve_attempt(&core.db, &core.config.login_throttle, &key).await;
    audit::on_refusal(&core.db, ctx, "login", reserved).await?;

    let found = user::Entity::find()
        .filter(user::Column::Username.eq(username.trim().to_lowercase()))
        .find_also_related(agency::Entity)
        .one(&core.db)
        .await?
        .and_then(|(u, a)| a.map(|a| (u, a)));
    let stored = found.as_ref().map(|(u, _)| u.password_hash.clone());
    // A full hashing queue refuses the attempt (RATE_LIMITED), recorded like a lock.
    let checked = password::verify(password_text.to_string(), stored).await;
    let password_ok = audit::on_refusal(&core.db, ctx, "login", checked).await?;

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
                AuditEntry::success("login")
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
                AuditEntry::refused("login", &AppError::Unauthenticated(BAD_CREDENTIALS));
            entry = match &found {
                Some((user, _)) => entry.entity("User", user.id),
                None => entry.detail(json!({ "unknownUsername": true })),
            };
            audit::record_alone(&core.db, ctx, entry).await?;
            Err(AppError::Unauthenticated(BAD_CREDENTIALS))
        }
    }
}

const INVALID_REFRESH: AppError = AppError::Unauthenticated("invalid or expired refresh token");

/// Rotates a refresh token: it is marked used and a new pair issued in the same session.
///
/// The check and the conditional write are one write transaction, so of concurrent uses of
/// one token exactly one rotates it. Another presentation within `REFRESH_GRACE` of that
/// rotation is CONFLICT on `refreshToken` (a client that sent the same refresh twice); a
/// later one, or one of a revoked token while its session is open, is a replay: the session
/// ends and the answer is UNAUTHENTICATED.
pub async fn refresh(core: &Core, ctx: &RequestCtx, token: &str) -> AppResult<SessionTokens> {
    let result = rotate(core, ctx, token).await;
    match result {
        Err(Refused::Recorded(err)) => Err(err),
        Err(Refused::Plain(err)) => {
            audit::on_refusal(&core.db, ctx, "session.refresh", Err(err)).await
        }
        Ok(tokens) => Ok(tokens),
    }
}

enum Refused {
    /// The refusal's audit entry is already written.
    Recorded(AppError),
    Plain(AppError),
}

impl From<AppError> for Refused {
    fn from(err: AppError) -> Refused {
        Refused::Plain(err)
    }
}

impl From<sea_orm::DbErr> for Refused {
    fn from(err: sea_orm::DbErr) -> Refused {
        Refused::Plain(err.into())
    }
}

async fn rotate(core: &Core, ctx: &RequestCtx, token: &str) -> Result<SessionTokens, Refused> {
    let verified = core
        .keys
        .verify(token, TokenUse::Refresh)
        .ok_or(INVALID_REFRESH)?;
    let Subject::User(user_id) = verified.subject else {
        return Err(INVALID_REFRESH.into());
    };
    let hash = password::sha256_hex(token);
    let txn = begin_write(&core.db).await?;
    let stored = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(hash))
        .one(&txn)
        .await?
        .ok_or(INVALID_REFRESH)?;
    let session_id = stored.family_id;
    if stored.user_id != user_id || verified.session.is_some_and(|sid| sid != session_id) {
        return Err(INVALID_REFRESH.into());
    }
    let now = Utc::now();
    // Conditional update: of concurrent uses of one token, only one marks it used.
    let marked = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::UsedAt, Expr::value(now))
        .filter(refresh_token::Column::Id.eq(stored.id))
        .filter(refresh_token::Column::UsedAt.is_null())
        .filter(refresh_token::Column::RevokedAt.is_null())
        .filter(refresh_token::Column::ExpiresAt.gt(now))
        .exec(&txn)
        .await?;
    if marked.rows_affected != 1 {
        // Read again: a concurrent rotation has committed by now.
        let current = refresh_token::Entity::find_by_id(stored.id)
            .one(&txn)
            .await?
            .ok_or(INVALID_REFRESH)?;
        if current.expires_at <= now {
            return Err(INVALID_REFRESH.into());
        }
        if let (Some(used_at), None) = (current.used_at, current.revoked_at) {
            if now - used_at <= REFRESH_GRACE {
                return Err(AppError::conflict(
                    "refreshToken",
                    "this refresh token was just exchanged by another request; use the tokens it returned",
                )
                .into());
            }
        }
        let ended = end_session(&txn, session_id, EndReason::RefreshTokenReuse).await?;
        if !ended {
            return Err(INVALID_REFRESH.into());
        }
        audit::record(
            &txn,
            ctx,
            AuditEntry::refused("session.refresh", &INVALID_REFRESH)
                .entity("Session", session_id)
                .detail(json!({
                    "userId": user_id,
                    "reason": EndReason::RefreshTokenReuse.as_str(),
                    "sessionEnded": true,
                })),
        )
        .await?;
        txn.commit().await?;
        return Err(Refused::Recorded(INVALID_REFRESH));
    }
    let (session, user, agency) = session::Entity::find_by_id(session_id)
        .find_also_related(user::Entity)
        .and_also_related(agency::Entity)
        .one(&txn)
        .await?
        .ok_or(INVALID_REFRESH)?;
    let (Some(user), Some(agency)) = (user, agency) else {
        return Err(INVALID_REFRESH.into());
    };
    if session.ended_at.is_some()
        || session.user_id != user_id
        || !usable(&user, &agency)
        || verified.epoch != Some(user.token_epoch)
    {
        return Err(INVALID_REFRESH.into());
    }
    let tokens = issue_tokens(core, &txn, &user, session_id).await?;
    let ctx = RequestCtx {
        actor: actor_for_user(user.clone(), agency),
        request_id: ctx.request_id.clone(),
    };
    audit::record(
        &txn,
        &ctx,
        AuditEntry::success("session.refresh")
            .entity("User", user.id)
            .detail(json!({ "sessionId": session_id })),
    )
    .await?;
    txn.commit().await?;
    Ok(tokens)
}

/// Ends the session the refresh token belongs to: its access and refresh tokens stop
/// working at their next use. True if a session was ended now; idempotent.
pub async fn logout(core: &Core, ctx: &RequestCtx, token: &str) -> AppResult<bool> {
    let Some(verified) = core.keys.verify(token, TokenUse::Refresh) else {
        return Ok(false);
    };
    let Subject::User(user_id) = verified.subject else {
        return Ok(false);
    };
    let txn = begin_write(&core.db).await?;
    let Some(stored) = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(password::sha256_hex(token)))
        .one(&txn)
        .await?
    else {
        return Ok(false);
    };
    if stored.user_id != user_id || !end_session(&txn, stored.family_id, EndReason::Logout).await? {
        return Ok(false);
    }
    audit::record(
        &txn,
        ctx,
        AuditEntry::success("logout")
            .entity("User", user_id)
            .detail(json!({ "sessionId": stored.family_id })),
    )
    .await?;
    txn.commit().await?;
    Ok(true)
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
    audit::on_refusal(&core.db, ctx, "user.change_password", authorized).await?;
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
    audit::on_refusal(&core.db, ctx, "user.change_password", reserved).await?;
    let checked = password::verify(current.to_string(), Some(user.password_hash.clone())).await;
    if !audit::on_refusal(&core.db, ctx, "user.change_password", checked).await? {
        let err = AppError::bad_input("currentPassword", "the current password is not correct");
        audit::record_alone(
            &core.db,
            ctx,
            AuditEntry::refused("user.change_password", &err).entity("User", user.id),
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
        AuditEntry::success("user.change_password")
            .entity("User", updated.id)
            .detail(json!({ "endedSessions": ended, "sessionId": session_id })),
    )
    .await?;
    txn.commit().await?;
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

pub fn actor_for_user(user: user::Model, agency: agency::Model) -> Actor {
    Actor {
        kind: ActorKind::User,
        id: Some(user.id),
        label: user.username.clone(),
        roles: Role::split(&user.roles),
        scopes: vec![],
        agency: Some(agency),
    }
}

fn actor_for_client(
    client: client::Model,
    agency: agency::Model,
    granted: Option<String>,
) -> Actor {
    let held: Vec<String> = client
        .scopes
        .split_whitespace()
        .map(str::to_string)
        .collect();
    // A token carries the scopes granted at issue; scopes since removed no longer count.
    let scopes = match granted {
        Some(granted) => granted
            .split_whitespace()
            .filter(|s| held.iter().any(|h| h == s))
            .map(str::to_string)
            .collect(),
        None => held,
    };
    Actor {
        kind: ActorKind::Client,
        id: Some(client.id),
        label: client.client_id.clone(),
        roles: vec![],
        scopes,
        agency: Some(agency),
    }
}

/// Resolves a bearer token to the current state of its principal, in one read: for a user
/// the session named by the token with its user and agency, for a client the client with its
/// agency. An ended or unknown session, a deactivated user or client, a deactivated agency,
/// or a token from before a password change (or a client's deactivation) is refused here,
/// at the next request and on every instance.
pub async fn authenticate(core: &Core, token: &str) -> AppResult<Actor> {
    const INVALID: AppError = AppError::Unauthenticated("invalid or expired access token");
    let verified = core.keys.verify(token, TokenUse::Access).ok_or(INVALID)?;
    match verified.subject {
        Subject::User(id) => {
            let sid = verified.session.ok_or(INVALID)?;
            let (session, user, agency) = session::Entity::find_by_id(sid)
                .find_also_related(user::Entity)
                .and_also_related(agency::Entity)
                .one(&core.db)
                .await?
                .ok_or(INVALID)?;
            let (Some(user), Some(agency)) = (user, agency) else {
                return Err(INVALID);
            };
            if session.ended_at.is_some()
                || session.user_id != id
                || !usable(&user, &agency)
                || verified.epoch != Some(user.token_epoch)
                || user.agency_id != verified.agency_id
            {
                return Err(INVALID);
            }
            Ok(actor_for_user(user, agency))
        }
        Subject::Client(id) => {
            let (client, agency) = client::Entity::find_by_id(id)
                .find_also_related(agency::Entity)
                .one(&core.db)
                .await?
                .and_then(|(c, a)| a.map(|a| (c, a)))
                .ok_or(INVALID)?;
            if !client.active
                || !agency.active
                || client.agency_id != verified.agency_id
                || verified.epoch.unwrap_or(0) != client.token_epoch
            {
                return Err(INVALID);
            }
            Ok(actor_for_client(client, agency, verified.scope))
        }
    }
}

/// Why the token endpoint refused (RFC 6749 §5.2).
#[derive(Debug, PartialEq, Eq)]
pub enum GrantError {
    InvalidClient,
    /// Too many failed requests from this source; try again after this many seconds.
    RateLimited {
        retry_after_secs: u64,
    },
    InvalidScope,
    Internal,
}

pub struct ClientToken {
    pub access_token: String,
    pub expires_in: u64,
    pub scope: String,
}

/// The client-credentials grant: a token bound to the client's agency and granted scopes.
pub async fn client_credentials(
    core: &Core,
    source: Option<IpAddr>,
    request_id: Option<String>,
    client_id: &str,
    secret: &str,
    requested_scope: Option<&str>,
) -> Result<ClientToken, GrantError> {
    let anonymous = RequestCtx {
        actor: Actor::anonymous(),
        request_id: request_id.clone(),
    };
    let attempt = match core.sources.reserve(source) {
        Ok(attempt) => attempt,
        Err(err) => {
            let retry_after_secs = match err {
                AppError::RateLimited { retry_after_secs } => retry_after_secs,
                _ => 1,
            };
            audit::record_alone(
                &core.db,
                &anonymous,
                AuditEntry::refused("oauth.token", &err)
                    .detail(json!({ "reason": "source_rate_limited" })),
            )
            .await
            .map_err(|_| GrantError::Internal)?;
            return Err(GrantError::RateLimited { retry_after_secs });
        }
    };
    let found = client::Entity::find()
        .filter(client::Column::ClientId.eq(client_id))
        .find_also_related(agency::Entity)
        .one(&core.db)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "database error in token endpoint");
            GrantError::Internal
        })?;
    let presented = password::sha256_hex(secret);
    let Some((client, Some(agency))) = found.filter(|(c, a)| {
        password::constant_time_eq(&c.secret_hash, &presented)
            && c.active
            && a.as_ref().is_some_and(|a| a.active)
    }) else {
        audit::record_alone(
            &core.db,
            &anonymous,
            AuditEntry::refused("oauth.token", &AppError::Unauthenticated(""))
                .detail(json!({ "reason": "invalid_client" })),
        )
        .await
        .map_err(|_| GrantError::Internal)?;
        return Err(GrantError::InvalidClient);
    };
    // The client authenticated: a scope it does not hold is a mistake, not a guess.
    core.sources.succeeded(attempt);
    let held: Vec<&str> = client.scopes.split_whitespace().collect();
    let granted: Vec<&str> = match requested_scope.map(str::split_whitespace) {
        Some(requested) => {
            let requested: Vec<&str> = requested.collect();
            if requested.iter().any(|s| !held.contains(s)) {
                return Err(GrantError::InvalidScope);
            }
            requested
        }
        None => held.clone(),
    };
    let scope = granted.join(" ");
    let ttl = core.config.access_token_ttl;
    let issued = core.keys.issue(
        TokenUse::Access,
        TokenFor {
            subject: Subject::Client(client.id),
            agency_id: agency.id,
            epoch: Some(client.token_epoch),
            session: None,
            scope: Some(scope.clone()),
        },
        ttl,
    );
    let ctx = RequestCtx {
        actor: actor_for_client(client.clone(), agency, Some(scope.clone())),
        request_id,
    };
    audit::record_alone(
        &core.db,
        &ctx,
        AuditEntry::success("oauth.token")
            .entity("Client", client.id)
            .detail(json!({ "scope": scope })),
    )
    .await
    .map_err(|_| GrantError::Internal)?;
    Ok(ClientToken {
        access_token: issued.token,
        expires_in: ttl.as_secs(),
        scope,
    })
}
