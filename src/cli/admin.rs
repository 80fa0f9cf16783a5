//! `frontdoor admin`: agencies, users and machine clients as the local operator (audited).
use clap::Subcommand;

use super::{describe, start};
use crate::auth;
use crate::config::Config;
use crate::domain::common::codes::{AgencyKind, Role};
use crate::domain::identity::{self, NewAgency, NewClient, NewUser};
use crate::domain::RequestCtx;
use crate::Core;

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Add an agency.
    CreateAgency {
        #[arg(long)]
        name: String,
        /// LOCAL_AUTHORITY, POLICE, HEALTH, EDUCATION, EARLY_HELP, PROBATION, HOUSING, VOLUNTARY or OTHER.
        #[arg(long)]
        kind: String,
        /// National contact-source code within the kind (defaults to the kind's usual one).
        #[arg(long)]
        source_code: Option<String>,
        /// This local authority hosts the MASH (only one agency may).
        #[arg(long)]
        hosts_mash: bool,
    },
    /// Add a user. Without --password a strong one is generated and printed once.
    CreateUser {
        #[arg(long)]
        username: String,
        /// Agency name or id.
        #[arg(long)]
        agency: String,
        /// Comma-separated roles, e.g. MASH_MANAGER or REFERRER.
        #[arg(long, value_delimiter = ',')]
        roles: Vec<String>,
        #[arg(long)]
        display_name: String,
        /// Initial password (visible to other local users in the process list; prefer omitting it).
        #[arg(long, env = "FRONTDOOR_NEW_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// Register a machine client; its secret is printed once.
    CreateClient {
        /// Agency name or id.
        #[arg(long)]
        agency: String,
        #[arg(long)]
        name: String,
        /// Comma-separated scopes: contacts:submit, requests:respond, missing:report.
        #[arg(long, value_delimiter = ',')]
        scopes: Vec<String>,
        /// The client_id to use (generated if omitted).
        #[arg(long)]
        client_id: Option<String>,
    },
    /// Set a new password (generated and printed if omitted); ends the user's sessions.
    ResetPassword {
        #[arg(long)]
        username: String,
        #[arg(long, env = "FRONTDOOR_NEW_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// Deactivate a user: their tokens stop working at once.
    DeactivateUser {
        #[arg(long)]
        username: String,
    },
}

pub async fn run(admin: AdminCommand, config: &Config, ctx: &RequestCtx) -> Result<(), String> {
    let core = start(config.clone()).await?;
    match admin {
        AdminCommand::CreateAgency {
            name,
            kind,
            source_code,
            hosts_mash,
        } => {
            let kind = AgencyKind::parse(&kind.to_uppercase())
                .ok_or_else(|| format!("unknown agency kind {kind:?}"))?;
            let created = identity::create_agency(
                &core,
                ctx,
                NewAgency {
                    name,
                    kind,
                    source_code,
                    hosts_mash,
                },
            )
            .await
            .map_err(describe)?;
            println!("created agency {} ({})", created.name, created.id);
        }
        AdminCommand::CreateUser {
            username,
            agency,
            roles,
            display_name,
            password,
        } => {
            let roles = roles
                .iter()
                .map(|r| {
                    Role::parse(&r.trim().to_uppercase())
                        .ok_or_else(|| format!("unknown role {r:?}"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let agency_id = agency_named(&core, &agency).await?;
            let generated = password.is_none();
            let password = password.unwrap_or_else(auth::password::random_secret);
            let (user, _) = identity::create_user(
                &core,
                ctx,
                NewUser {
                    agency_id: Some(agency_id),
                    username,
                    display_name,
                    roles,
                    password: password.clone(),
                },
            )
            .await
            .map_err(describe)?;
            println!("created user {} ({})", user.username, user.id);
            if generated {
                println!("initial password (shown once): {password}");
            }
        }
        AdminCommand::CreateClient {
            agency,
            name,
            scopes,
            client_id,
        } => {
            let agency_id = agency_named(&core, &agency).await?;
            let ((client, _), secret) = identity::create_client(
                &core,
                ctx,
                NewClient {
                    agency_id: Some(agency_id),
                    name,
                    scopes,
                    client_id,
                    secret: None,
                },
            )
            .await
            .map_err(describe)?;
            println!("created client {} ({})", client.client_id, client.id);
            println!("client secret (shown once, store it now): {secret}");
        }
        AdminCommand::ResetPassword { username, password } => {
            let id = identity::find_user_id_by_username(&core, &username)
                .await
                .map_err(describe)?
                .ok_or_else(|| format!("no user named {username:?}"))?;
            let generated = password.is_none();
            let password = password.unwrap_or_else(auth::password::random_secret);
            identity::reset_password(&core, ctx, id, &password)
                .await
                .map_err(describe)?;
            println!("password reset for {username}; their sessions are ended");
            if generated {
                println!("new password (shown once): {password}");
            }
        }
        AdminCommand::DeactivateUser { username } => {
            let id = identity::find_user_id_by_username(&core, &username)
                .await
                .map_err(describe)?
                .ok_or_else(|| format!("no user named {username:?}"))?;
            identity::set_user_active(&core, ctx, id, false)
                .await
                .map_err(describe)?;
            println!("deactivated {username}");
        }
    }
    Ok(())
}

async fn agency_named(core: &Core, name: &str) -> Result<uuid::Uuid, String> {
    identity::find_agency(core, name)
        .await
        .map_err(describe)?
        .map(|a| a.id)
        .ok_or_else(|| format!("no agency named {name:?}"))
}
