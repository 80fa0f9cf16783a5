//! The OAuth client-credentials grant for machine clients.
use super::*;
use crate::domain::audit::Action;

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
                core,
                &anonymous,
                AuditEntry::refused(Action::OauthToken, &err)
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
            core,
            &anonymous,
            AuditEntry::refused(Action::OauthToken, &AppError::Unauthenticated(""))
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
        core,
        &ctx,
        AuditEntry::success(Action::OauthToken)
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
