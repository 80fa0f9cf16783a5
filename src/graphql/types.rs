//! Output types. Every type and field is documented: the schema is the front-end teams' manual.
use async_graphql::{Enum, Interface, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use entity::{agency, client, user};

use super::ids;
use crate::domain::codes::{AgencyKind, Role};
use crate::domain::page::{encode_cursor, Page};
use crate::domain::sessions::SessionTokens;
use crate::domain::{Actor, ActorKind};

/// An organisation using frontdoor: the local authority that hosts the MASH, or a partner.
pub struct Agency(pub agency::Model);

#[Object]
impl Agency {
    /// Opaque global id.
    async fn id(&self) -> ID {
        ids::encode("Agency", self.0.id)
    }
    /// The agency's name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// What kind of organisation it is.
    async fn kind(&self) -> AgencyKind {
        AgencyKind::parse(&self.0.kind).unwrap_or(AgencyKind::Other)
    }
    /// The national contact-source code its contacts carry by default (e.g. `6` for police).
    async fn source_code(&self) -> &str {
        &self.0.source_code
    }
    /// Whether this agency hosts the MASH (exactly one does).
    async fn hosts_mash(&self) -> bool {
        self.0.hosts_mash
    }
    /// Deactivated agencies' users and clients cannot sign in.
    async fn active(&self) -> bool {
        self.0.active
    }
    /// When the agency was added.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A person who signs in.
pub struct User(pub user::Model, pub agency::Model);

#[Object]
impl User {
    /// Opaque global id.
    async fn id(&self) -> ID {
        ids::encode("User", self.0.id)
    }
    /// Sign-in name (lower case).
    async fn username(&self) -> &str {
        &self.0.username
    }
    /// The name shown to colleagues.
    async fn display_name(&self) -> &str {
        &self.0.display_name
    }
    /// The agency the user belongs to.
    async fn agency(&self) -> Agency {
        Agency(self.1.clone())
    }
    /// What the user may do.
    async fn roles(&self) -> Vec<Role> {
        Role::split(&self.0.roles)
    }
    /// Deactivated users cannot sign in; their tokens stop working at once.
    async fn active(&self) -> bool {
        self.0.active
    }
    /// When the account was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A machine principal: a partner agency's case system using the OAuth client-credentials grant.
pub struct Client(pub client::Model, pub agency::Model);

#[Object]
impl Client {
    /// Opaque global id.
    async fn id(&self) -> ID {
        ids::encode("Client", self.0.id)
    }
    /// The OAuth `client_id`.
    async fn client_id(&self) -> &str {
        &self.0.client_id
    }
    /// What the system is.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The agency the client acts for.
    async fn agency(&self) -> Agency {
        Agency(self.1.clone())
    }
    /// OAuth scopes it may be granted.
    async fn scopes(&self) -> Vec<String> {
        self.0
            .scopes
            .split_whitespace()
            .map(str::to_string)
            .collect()
    }
    /// Deactivated clients cannot obtain or use tokens.
    async fn active(&self) -> bool {
        self.0.active
    }
    /// When the client was registered.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// Anything addressable by a global id.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "Opaque global id."))]
pub enum Node {
    Agency(Agency),
    User(User),
    Client(Client),
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalKind {
    /// A person signed in with a password.
    User,
    /// A machine client (client-credentials grant).
    Client,
}

/// The caller.
pub struct Viewer(pub Actor);

#[Object]
impl Viewer {
    /// Global id of the user or client.
    async fn id(&self) -> ID {
        let type_name = if self.0.kind == ActorKind::Client {
            "Client"
        } else {
            "User"
        };
        ids::encode(type_name, self.0.id.unwrap_or_default())
    }
    /// A person or a machine client.
    async fn kind(&self) -> PrincipalKind {
        if self.0.kind == ActorKind::Client {
            PrincipalKind::Client
        } else {
            PrincipalKind::User
        }
    }
    /// The username, or the client's `client_id`.
    async fn name(&self) -> &str {
        &self.0.label
    }
    /// The agency the caller belongs to.
    async fn agency(&self) -> Option<Agency> {
        self.0.agency.clone().map(Agency)
    }
    /// A person's roles (empty for a client).
    async fn roles(&self) -> &[Role] {
        &self.0.roles
    }
    /// A client's granted scopes (empty for a person).
    async fn scopes(&self) -> &[String] {
        &self.0.scopes
    }
}

/// Tokens from `login`, `refreshToken` or `changePassword`.
pub struct AuthPayload(pub SessionTokens);

#[Object]
impl AuthPayload {
    /// Send as `Authorization: Bearer <accessToken>`.
    async fn access_token(&self) -> &str {
        &self.0.access_token
    }
    /// Always `Bearer`.
    async fn token_type(&self) -> &str {
        "Bearer"
    }
    /// When the access token stops working.
    async fn access_token_expires_at(&self) -> DateTime<Utc> {
        self.0.access_token_expires_at
    }
    /// Single use: exchange it with `refreshToken` for a new pair. Keep it secret.
    async fn refresh_token(&self) -> &str {
        &self.0.refresh_token
    }
    /// When the refresh token stops working.
    async fn refresh_token_expires_at(&self) -> DateTime<Utc> {
        self.0.refresh_token_expires_at
    }
}

/// A new machine client and its secret. The secret is shown this once; only its hash is kept.
pub struct CreateClientPayload {
    pub client: Client,
    pub client_secret: String,
}

#[Object]
impl CreateClientPayload {
    /// The client.
    async fn client(&self) -> &Client {
        &self.client
    }
    /// The client secret: store it now, it cannot be shown again.
    async fn client_secret(&self) -> &str {
        &self.client_secret
    }
}

/// Extra fields of every connection.
#[derive(SimpleObject)]
pub struct ConnectionTotals {
    /// How many records match, across all pages (only records the caller may see).
    pub total_count: u64,
}

pub type Connection<N> = async_graphql::connection::Connection<
    String,
    N,
    ConnectionTotals,
    async_graphql::connection::EmptyFields,
>;

/// Turns a page of records into a Relay connection.
pub fn connection<T, N>(
    page: Page<T>,
    id_of: impl Fn(&T) -> uuid::Uuid,
    node: impl Fn(T) -> N,
) -> Connection<N>
where
    N: async_graphql::OutputType,
{
    let has_previous = false;
    let mut conn = Connection::with_additional_fields(
        has_previous,
        page.has_next_page,
        ConnectionTotals {
            total_count: page.total_count,
        },
    );
    conn.edges.extend(page.items.into_iter().map(|item| {
        let cursor = encode_cursor(id_of(&item));
        async_graphql::connection::Edge::new(cursor, node(item))
    }));
    conn
}
