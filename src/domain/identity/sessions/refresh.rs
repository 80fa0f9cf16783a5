//! Refresh-token rotation (one winner of concurrent uses) and logout.
use super::*;
use crate::domain::audit::Action;

pub(super) const INVALID_REFRESH: AppError =
    AppError::Unauthenticated("invalid or expired refresh token");

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
            audit::on_refusal(core, ctx, Action::SessionRefresh, Err(err)).await
        }
        Ok(tokens) => Ok(tokens),
    }
}

pub(super) enum Refused {
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

pub(super) async fn rotate(
    core: &Core,
    ctx: &RequestCtx,
    token: &str,
) -> Result<SessionTokens, Refused> {
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
            AuditEntry::refused(Action::SessionRefresh, &INVALID_REFRESH)
                .entity("Session", session_id)
                .detail(json!({
                    "userId": user_id,
                    "reason": EndReason::RefreshTokenReuse.as_str(),
                    "sessionEnded": true,
                })),
        )
        .await?;
        txn.commit().await?;
        crate::domain::identity::sessions::identity_changed();
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
        AuditEntry::success(Action::SessionRefresh)
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
        AuditEntry::success(Action::Logout)
            .entity("User", user_id)
            .detail(json!({ "sessionId": stored.family_id })),
    )
    .await?;
    txn.commit().await?;
    crate::domain::identity::sessions::identity_changed();
    Ok(true)
}
