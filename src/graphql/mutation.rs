use async_graphql::{Context, InputObject, Object, Result, ID};

use super::codes::{domain_roles, AgencyKind, Role};
use super::types::{Agency, AuditCheckpoint, AuthPayload, Client, CreateClientPayload, User};
use super::{env, ids};
use crate::domain::audit::trail as audit_trail;
use crate::domain::identity::{self, sessions};

#[derive(Default)]
pub struct IdentityMutation;

/// A new agency.
#[derive(InputObject)]
pub struct CreateAgencyInput {
    /// Unique name.
    pub name: String,
    /// Kind of organisation.
    pub kind: AgencyKind,
    /// National contact-source code within the kind (e.g. `3E` for an A&E department);
    /// defaults to the kind's usual code.
    pub source_code: Option<String>,
    /// True for the one local authority that hosts the MASH.
    #[graphql(default)]
    pub hosts_mash: bool,
}

/// Changes to an agency; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateAgencyInput {
    /// The agency to change.
    pub id: ID,
    /// New name.
    pub name: Option<String>,
    /// New contact-source code (within the agency's kind).
    pub source_code: Option<String>,
    /// Deactivate (false) or reactivate (true). Deactivation locks out its users and clients.
    pub active: Option<bool>,
}

/// A new user.
#[derive(InputObject)]
pub struct CreateUserInput {
    /// The agency the user belongs to.
    pub agency_id: ID,
    /// Sign-in name: 3–64 of letters, digits, `.`, `_`, `-` (stored in lower case).
    pub username: String,
    /// Name shown to colleagues.
    pub display_name: String,
    /// Roles, as the access policy allows for the agency.
    pub roles: Vec<Role>,
    /// Initial password (12–128 characters).
    pub password: String,
}

/// A new machine client.
#[derive(InputObject)]
pub struct CreateClientInput {
    /// The agency the client acts for.
    pub agency_id: ID,
    /// What the system is, e.g. "Police case system".
    pub name: String,
    /// OAuth scopes: `contacts:submit`, `requests:respond`, `missing:report`.
    pub scopes: Vec<String>,
    /// The `client_id` to use; generated when omitted.
    pub client_id: Option<String>,
}

#[Object]
impl IdentityMutation {
    /// Sign in. Unknown username and wrong password give the same UNAUTHENTICATED answer;
    /// repeated failures lock the account for a growing time (RATE_LIMITED).
    async fn login(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Sign-in name (any case).")] username: String,
        #[graphql(desc = "The user's password.")] password: String,
    ) -> Result<AuthPayload> {
        let (core, request) = env(ctx);
        let source = ctx
            .data_opt::<crate::auth::source_limit::ClientSource>()
            .and_then(|s| s.0);
        Ok(AuthPayload(
            sessions::login_from(core, request, source, &username, &password).await?,
        ))
    }

    /// Exchange a refresh token for a new pair in the same session. Each refresh token works
    /// once: a second use within 5 seconds of the first is CONFLICT (`refreshToken`; keep the
    /// tokens the first use returned), a later one ends the session (UNAUTHENTICATED).
    async fn refresh_token(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The refresh token the last `AuthPayload` gave.")] refresh_token: String,
    ) -> Result<AuthPayload> {
        let (core, request) = env(ctx);
        Ok(AuthPayload(
            sessions::refresh(core, request, &refresh_token).await?,
        ))
    }

    /// End the session the refresh token belongs to: its access and refresh tokens stop
    /// working at their next use. True if a session was ended.
    async fn logout(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The refresh token of the session to end.")] refresh_token: String,
    ) -> Result<bool> {
        let (core, request) = env(ctx);
        Ok(sessions::logout(core, request, &refresh_token).await?)
    }

    /// Change your own password. Ends all your sessions, this one included, and returns the
    /// tokens of a new one.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Your current password.")] current_password: String,
        #[graphql(desc = "The new password (12–128 characters).")] new_password: String,
    ) -> Result<AuthPayload> {
        let (core, request) = env(ctx);
        Ok(AuthPayload(
            sessions::change_password(core, request, &current_password, &new_password).await?,
        ))
    }

    /// Add an agency (ADMIN).
    async fn create_agency(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new agency.")] input: CreateAgencyInput,
    ) -> Result<Agency> {
        let (core, request) = env(ctx);
        let created = identity::create_agency(
            core,
            request,
            identity::NewAgency {
                name: input.name,
                kind: input.kind.into(),
                source_code: input.source_code,
                hosts_mash: input.hosts_mash,
            },
        )
        .await?;
        Ok(Agency(created))
    }

    /// Rename, recode, deactivate or reactivate an agency (ADMIN).
    async fn update_agency(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The agency and what to change.")] input: UpdateAgencyInput,
    ) -> Result<Agency> {
        let (core, request) = env(ctx);
        let changes = identity::AgencyChanges {
            name: input.name,
            source_code: input.source_code,
            active: input.active,
        };
        let updated =
            identity::update_agency(core, request, ids::target("Agency", &input.id), changes)
                .await?;
        Ok(Agency(updated))
    }

    /// Add a user (ADMIN).
    async fn create_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new user.")] input: CreateUserInput,
    ) -> Result<User> {
        let (core, request) = env(ctx);
        let new = identity::NewUser {
            agency_id: ids::decode("Agency", &input.agency_id),
            username: input.username,
            display_name: input.display_name,
            roles: domain_roles(input.roles),
            password: input.password,
        };
        let (user, agency) = identity::create_user(core, request, new).await?;
        Ok(User(user, agency))
    }

    /// Replace a user's roles (ADMIN).
    async fn set_user_roles(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user's global id.")] user_id: ID,
        #[graphql(desc = "The user's new roles (replacing the old ones).")] roles: Vec<Role>,
    ) -> Result<User> {
        let (core, request) = env(ctx);
        let (user, agency) = identity::set_user_roles(
            core,
            request,
            ids::target("User", &user_id),
            domain_roles(roles),
        )
        .await?;
        Ok(User(user, agency))
    }

    /// Deactivate a user (ADMIN): all their sessions end, so their tokens stop working at
    /// their next request and stay refused if they are reactivated. CONFLICT (`userId`) if
    /// already deactivated.
    async fn deactivate_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user's global id.")] user_id: ID,
    ) -> Result<User> {
        let (core, request) = env(ctx);
        let (user, agency) =
            identity::set_user_active(core, request, ids::target("User", &user_id), false).await?;
        Ok(User(user, agency))
    }

    /// Reactivate a user (ADMIN): they can sign in again; no old token works. CONFLICT
    /// (`userId`) if already active.
    async fn reactivate_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user's global id.")] user_id: ID,
    ) -> Result<User> {
        let (core, request) = env(ctx);
        let (user, agency) =
            identity::set_user_active(core, request, ids::target("User", &user_id), true).await?;
        Ok(User(user, agency))
    }

    /// Set a new password for a user (ADMIN). Ends all their sessions and lifts any login lock.
    async fn reset_password(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user's global id.")] user_id: ID,
        #[graphql(desc = "The new password (12–128 characters).")] new_password: String,
    ) -> Result<User> {
        let (core, request) = env(ctx);
        let (user, agency) =
            identity::reset_password(core, request, ids::target("User", &user_id), &new_password)
                .await?;
        Ok(User(user, agency))
    }

    /// Lift a login lock before its backoff has passed (ADMIN).
    async fn lift_login_throttle(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The sign-in name whose lock to lift.")] username: String,
    ) -> Result<bool> {
        let (core, request) = env(ctx);
        Ok(identity::lift_login_throttle(core, request, &username).await?)
    }

    /// Register a machine client (ADMIN). The secret is in the answer, and only there.
    async fn create_client(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new client.")] input: CreateClientInput,
    ) -> Result<CreateClientPayload> {
        let (core, request) = env(ctx);
        let new = identity::NewClient {
            agency_id: ids::decode("Agency", &input.agency_id),
            name: input.name,
            scopes: input.scopes,
            client_id: input.client_id,
            secret: None,
        };
        let ((client, agency), secret) = identity::create_client(core, request, new).await?;
        Ok(CreateClientPayload {
            client: Client(client, agency),
            client_secret: secret,
        })
    }

    /// Deactivate a machine client (ADMIN): its tokens stop working at their next request,
    /// and stay refused if it is reactivated. CONFLICT (`clientId`) if already deactivated.
    async fn deactivate_client(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The client's global id (`Client.id`, not its OAuth `clientId`).")]
        client_id: ID,
    ) -> Result<Client> {
        let (core, request) = env(ctx);
        let (client, agency) =
            identity::set_client_active(core, request, ids::target("Client", &client_id), false)
                .await?;
        Ok(Client(client, agency))
    }

    /// Reactivate a machine client (ADMIN): it can obtain new tokens; tokens issued before
    /// its deactivation stay refused. CONFLICT (`clientId`) if already active.
    async fn reactivate_client(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The client's global id (`Client.id`, not its OAuth `clientId`).")]
        client_id: ID,
    ) -> Result<Client> {
        let (core, request) = env(ctx);
        let (client, agency) =
            identity::set_client_active(core, request, ids::target("Client", &client_id), true)
                .await?;
        Ok(Client(client, agency))
    }

    /// Sign a checkpoint of the audit trail now (AUDITOR). `serve` also signs one every
    /// `FRONTDOOR_AUDIT_CHECKPOINT_SECS` while entries are being written. Audited.
    async fn create_audit_checkpoint(&self, ctx: &Context<'_>) -> Result<AuditCheckpoint> {
        let (core, request) = env(ctx);
        Ok(AuditCheckpoint(
            audit_trail::create_checkpoint(core, request).await?,
        ))
    }
}
