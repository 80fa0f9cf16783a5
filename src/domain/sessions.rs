//! Logging in and out, refresh-token rotation, password changes, the OAuth client-credentials
//! grant, and turning a bearer token into an `Actor` on every request.
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use entity::{agency, client, refresh_token, user};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;
use uuid::Uuid;

use super::audit::{self, AuditEntry};
use super::codes::Role;
use super::policy::{self, Permission};
use super::{throttle, Actor, ActorKind, RequestCtx};
use crate::auth::password;
use crate::auth::tokens::{Subject, TokenUse};
use crate::db::begin_write;
use crate::error::{AppError, AppResult};
use crate::Core;

const BAD_CREDENTIALS: &str = "invalid username or password";

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

/// Issues an access token and a refresh token (in `family`), storing the refresh token's hash.
async fn issue_session<C: sea_orm::ConnectionTrait>(
    core: &Core,
    conn: &C,
    user: &user::Model,
    family: Uuid,
) -> AppResult<SessionTokens> {
    let subject = Subject::User(user.id);
    let access = core.keys.issue(
        TokenUse::Access,
        subject,
        user.agency_id,
        Some(user.token_epoch),
        None,
        core.config.access_token_ttl,
    );
    let refresh = core.keys.issue(
        TokenUse::Refresh,
        subject,
        user.agency_id,
        Some(user.token_epoch),
        None,
        core.config.refresh_token_ttl,
    );
    refresh_token::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user.id),
        family_id: Set(family),
        token_hash: Set(password::sha256_hex(&refresh.token)),
        expires_at: Set(refresh.expires_at),
        created_at: Set(Utc::now()),
        revoked_at: Set(None),
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
            let tokens = issue_session(core, &txn, &user, Uuid::now_v7()).await?;
            let ctx = RequestCtx {
                actor: actor_for_user(user.clone(), agency),
                request_id: ctx.request_id.clone(),
            };
            audit::record(
                &txn,
                &ctx,
                AuditEntry::success("login").entity("User", user.id),
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

/// Rotates a refresh token: the old one is revoked, a new one issued in the same family.
/// Presenting an already-revoked token revokes the whole family (it was stolen or replayed).
pub async fn refresh(core: &Core, ctx: &RequestCtx, token: &str) -> AppResult<SessionTokens> {
    const INVALID: AppError = AppError::Unauthenticated("invalid or expired refresh token");
    let result = async {
        let verified = core.keys.verify(token, TokenUse::Refresh).ok_or(INVALID)?;
        let Subject::User(user_id) = verified.subject else {
            return Err(INVALID);
        };
        let stored = refresh_token::Entity::find()
            .filter(refresh_token::Column::TokenHash.eq(password::sha256_hex(token)))
            .one(&core.db)
            .await?
            .ok_or(INVALID)?;
        let (user, agency) = find_user_with_agency(core, user_id).await?.ok_or(INVALID)?;
        let now = Utc::now();
        if stored.revoked_at.is_some() {
            revoke_family(core, stored.family_id).await?;
            return Err(INVALID);
        }
        if stored.expires_at <= now
            || !usable(&user, &agency)
            || verified.epoch != Some(user.token_epoch)
        {
            return Err(INVALID);
        }
        let txn = begin_write(&core.db).await?;
        // Conditional update: of two concurrent uses of one token, only one rotates it.
        let revoked = refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::RevokedAt, Expr::value(now))
            .filter(refresh_token::Column::Id.eq(stored.id))
            .filter(refresh_token::Column::RevokedAt.is_null())
            .exec(&txn)
            .await?;
        if revoked.rows_affected != 1 {
            return Err(INVALID);
        }
        let tokens = issue_session(core, &txn, &user, stored.family_id).await?;
        let ctx = RequestCtx {
            actor: actor_for_user(user.clone(), agency),
            request_id: ctx.request_id.clone(),
        };
        audit::record(
            &txn,
            &ctx,
            AuditEntry::success("session.refresh").entity("User", user.id),
        )
        .await?;
        txn.commit().await?;
        Ok(tokens)
    }
    .await;
    audit::on_refusal(&core.db, ctx, "session.refresh", result).await
}

async fn revoke_family(core: &Core, family: Uuid) -> AppResult<()> {
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(refresh_token::Column::FamilyId.eq(family))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(&core.db)
        .await?;
    Ok(())
}

/// Revokes the session the refresh token belongs to (its whole family). Idempotent.
pub async fn logout(core: &Core, ctx: &RequestCtx, token: &str) -> AppResult<bool> {
    let Some(verified) = core.keys.verify(token, TokenUse::Refresh) else {
        return Ok(false);
    };
    let Some(stored) = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(password::sha256_hex(token)))
        .one(&core.db)
        .await?
    else {
        return Ok(false);
    };
    let txn = begin_write(&core.db).await?;
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(refresh_token::Column::FamilyId.eq(stored.family_id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(&txn)
        .await?;
    let user_id = match verified.subject {
        Subject::User(id) => id,
        Subject::Client(id) => id,
    };
    audit::record(
        &txn,
        ctx,
        AuditEntry::success("logout").entity("User", user_id),
    )
    .await?;
    txn.commit().await?;
    Ok(true)
}

/// Checks the current password (throttled like a login), stores the new hash, and ends
/// every other session: older access tokens fail at their next request on any instance.
pub async fn change_password(
    core: &Core,
    ctx: &RequestCtx,
    current: &str,
    new_password: &str,
) -> AppResult<SessionTokens> {
    let authorized = policy::authorize(&ctx.actor, Permission::ChangeOwnPassword);
    audit::on_refusal(&core.db, ctx, "user.change_password", authorized).await?;
    password::validate_new_password("newPassword", new_password)?;
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
    let updated = set_password(&txn, user, hash).await?;
    let tokens = issue_session(core, &txn, &updated, Uuid::now_v7()).await?;
    audit::record(
        &txn,
        ctx,
        AuditEntry::success("user.change_password").entity("User", updated.id),
    )
    .await?;
    txn.commit().await?;
    Ok(tokens)
}

/// Stores a new hash, bumps the token epoch and revokes every refresh token of the user.
pub async fn set_password<C: sea_orm::ConnectionTrait>(
    conn: &C,
    user: user::Model,
    hash: String,
) -> AppResult<user::Model> {
    let epoch = user.token_epoch + 1;
    let id = user.id;
    let mut active: user::ActiveModel = user.into();
    active.password_hash = Set(hash);
    active.token_epoch = Set(epoch);
    active.updated_at = Set(Utc::now());
    let updated = active.update(conn).await?;
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(refresh_token::Column::UserId.eq(id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(updated)
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

/// Resolves a bearer token to the current state of its principal. A deactivated user or
/// client, a deactivated agency, or a token from before a password change is refused here,
/// at once and on every instance.
pub async fn authenticate(core: &Core, token: &str) -> AppResult<Actor> {
    const INVALID: AppError = AppError::Unauthenticated("invalid or expired access token");
    let verified = core.keys.verify(token, TokenUse::Access).ok_or(INVALID)?;
    match verified.subject {
        Subject::User(id) => {
            let (user, agency) = find_user_with_agency(core, id).await?.ok_or(INVALID)?;
            if !usable(&user, &agency)
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
            if !client.active || !agency.active || client.agency_id != verified.agency_id {
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
        Subject::Client(client.id),
        agency.id,
        None,
        Some(scope.clone()),
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
