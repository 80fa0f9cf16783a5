//! Ending sessions: one, every one of a user, every one of an agency's users.
use super::*;

/// Ends the open sessions `sessions` selects and revokes the refresh tokens `tokens`
/// selects, at one instant; how many sessions ended.
pub(super) async fn end_matching<C: ConnectionTrait>(
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
