//! From a bearer token to the current state of its principal, on every request.
use super::*;

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

pub(super) fn actor_for_client(
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

/// The answer to any access token that is not (or no longer) good.
pub(super) const INVALID_ACCESS_TOKEN: AppError =
    AppError::Unauthenticated("invalid or expired access token");

/// Resolves a bearer token to the current state of its principal, in one read: for a user
/// the session named by the token with its user and agency, for a client the client with its
/// agency. An ended or unknown session, a deactivated user or client, a deactivated agency,
/// or a token from before a password change (or a client's deactivation) is refused here,
/// at the next request and on every instance.
pub async fn authenticate(core: &Core, token: &str) -> AppResult<Actor> {
    const INVALID: AppError = INVALID_ACCESS_TOKEN;
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
