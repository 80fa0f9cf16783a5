//! Output types. Every type and field is documented: the schema is the front-end teams' manual.
use async_graphql::{Description, Enum, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use entity::{agency, audit_checkpoint, client, user};

use super::codes::{AgencyKind, FailureReason, Role};
use super::ids;
use crate::domain::audit::trail::{self as audit_trail, EventWithRefs, ExportedCheckpoint};
use crate::domain::audit::verify::{Failure, Verification};
use crate::domain::common::page::{Cursor, Page};
use crate::domain::identity::sessions::SessionTokens;
use crate::domain::{Actor, ActorKind};

/// An organisation using frontdoor: the local authority that hosts the MASH, or a partner.
#[derive(Description)]
pub struct Agency(pub agency::Model);

#[Object(use_type_description)]
impl Agency {
    /// Opaque global id.
    pub(crate) async fn id(&self) -> ID {
        ids::encode("Agency", self.0.id)
    }
    /// The agency's name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// What kind of organisation it is.
    async fn kind(&self) -> AgencyKind {
        self.0.kind.into()
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
#[derive(Description)]
pub struct User(pub user::Model, pub agency::Model);

#[Object(use_type_description)]
impl User {
    /// Opaque global id.
    pub(crate) async fn id(&self) -> ID {
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
        super::codes::roles(&crate::domain::common::codes::Role::split(&self.0.roles))
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
#[derive(Description)]
pub struct Client(pub client::Model, pub agency::Model);

#[Object(use_type_description)]
impl Client {
    /// Opaque global id.
    pub(crate) async fn id(&self) -> ID {
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

/// Whether the caller is a person or a machine client.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalKind {
    /// A person signed in with a password.
    User,
    /// A machine client (client-credentials grant).
    Client,
}

/// The caller.
#[derive(Description)]
pub struct Viewer(pub Actor);

#[Object(use_type_description)]
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
    async fn roles(&self) -> Vec<Role> {
        super::codes::roles(&self.0.roles)
    }
    /// A client's granted scopes (empty for a person).
    async fn scopes(&self) -> &[String] {
        &self.0.scopes
    }
}

/// Tokens from `login`, `refreshToken` or `changePassword`.
#[derive(Description)]
pub struct AuthPayload(pub SessionTokens);

#[Object(use_type_description)]
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
#[derive(Description)]
pub struct CreateClientPayload {
    pub client: Client,
    pub client_secret: String,
}

#[Object(use_type_description)]
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

/// Turns a page of records into a Relay connection; `key_of` gives the key the list is
/// ordered by (an id, or an audit entry's number), which becomes the edge's cursor.
pub fn connection<T, N, K>(
    page: Page<T>,
    key_of: impl Fn(&T) -> K,
    node: impl Fn(T) -> N,
) -> Connection<N>
where
    N: async_graphql::OutputType,
    K: Into<Cursor>,
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
        let cursor = key_of(&item).into().encode();
        async_graphql::connection::Edge::new(cursor, node(item))
    }));
    conn
}

/// One entry of the audit trail: who did what, to which record, why, with what outcome, and
/// its place in its hash chain. Metadata and ids only: the trail holds no case content.
#[derive(Description)]
pub struct AuditEvent(pub EventWithRefs);

#[Object(use_type_description)]
impl AuditEvent {
    /// The entry's number in the trail (as verification reports it). Numbers rise in the
    /// order entries were written.
    async fn id(&self) -> ID {
        ID(self.0.event.id.to_string())
    }
    /// The hash chain it belongs to (1–8).
    async fn chain(&self) -> i32 {
        self.0.event.chain
    }
    /// Its place in the chain, from 1, without gaps.
    async fn seq(&self) -> i64 {
        self.0.event.seq
    }
    /// When it was written (to the microsecond).
    async fn at(&self) -> DateTime<Utc> {
        self.0.event.at
    }
    /// `USER`, `CLIENT`, `OPERATOR` (the command line) or `ANONYMOUS`.
    async fn actor_kind(&self) -> &str {
        &self.0.event.actor_kind
    }
    /// Global id of the user or client who acted, if any.
    async fn actor_id(&self) -> Option<ID> {
        let type_name = match self.0.event.actor_kind.as_str() {
            "USER" => "User",
            "CLIENT" => "Client",
            _ => return None,
        };
        let id = self.0.event.actor_id.as_deref()?;
        uuid::Uuid::parse_str(id)
            .ok()
            .map(|uuid| ids::encode(type_name, uuid))
    }
    /// Username, client id or operating-system user.
    async fn actor_label(&self) -> &str {
        &self.0.event.actor_label
    }
    /// Global id of the actor's agency, if any.
    async fn actor_agency_id(&self) -> Option<ID> {
        self.0
            .event
            .actor_agency_id
            .map(|id| ids::encode("Agency", id))
    }
    /// What was done, e.g. `login`, `user.create`, `audit.verify`.
    async fn action(&self) -> &str {
        &self.0.event.action
    }
    /// The kind of record it targeted, e.g. `User`.
    async fn entity_type(&self) -> Option<&str> {
        self.0.event.entity_type.as_deref()
    }
    /// The targeted record's id (a raw id, not a global id).
    async fn entity_id(&self) -> Option<&str> {
        self.0.event.entity_id.as_deref()
    }
    /// `SUCCESS`, or the refusal: `FORBIDDEN`, `NOT_FOUND`, `UNAUTHENTICATED`, `RATE_LIMITED`, …
    async fn outcome(&self) -> &str {
        &self.0.event.outcome
    }
    /// The `x-request-id` of the HTTP request, if it came through the API.
    async fn request_id(&self) -> Option<&str> {
        self.0.event.request_id.as_deref()
    }
    /// Why the data moved, e.g. `safeguarding.triage`.
    async fn purpose(&self) -> Option<&str> {
        self.0.event.purpose.as_deref()
    }
    /// The lawful basis code of a disclosure, where one applies.
    async fn lawful_basis(&self) -> Option<&str> {
        self.0.event.lawful_basis.as_deref()
    }
    /// The consent or override relied on: `consent:<id>` or `override:<id>`.
    async fn consent_ref(&self) -> Option<&str> {
        self.0.event.consent_ref.as_deref()
    }
    /// Further metadata as JSON text (never case content, passwords or tokens).
    async fn detail(&self) -> Option<&str> {
        self.0.event.detail.as_deref()
    }
    /// Global ids of the children whose identity or case data the operation touched.
    async fn children(&self) -> Vec<ID> {
        self.0
            .refs
            .iter()
            .filter(|(kind, _)| kind == "Child")
            .filter_map(|(_, id)| uuid::Uuid::parse_str(id).ok())
            .map(|id| ids::encode("Child", id))
            .collect()
    }
    /// Other records the operation touched or returned (e.g. each disclosure read).
    async fn refs(&self) -> Vec<AuditRef> {
        self.0
            .refs
            .iter()
            .filter(|(kind, _)| kind != "Child")
            .map(|(kind, id)| AuditRef {
                kind: kind.clone(),
                id: id.clone(),
            })
            .collect()
    }
    /// Hex SHA-256 of the entry before it in its chain (64 zeros for the first).
    async fn prev_hash(&self) -> &str {
        &self.0.event.prev_hash
    }
    /// Hex SHA-256 of this entry, its place and the previous hash.
    async fn hash(&self) -> &str {
        &self.0.event.hash
    }
}

/// A record an audit entry names.
#[derive(SimpleObject)]
pub struct AuditRef {
    /// The kind of record, e.g. `Disclosure`.
    pub kind: String,
    /// Its raw id.
    pub id: String,
}

/// One hash chain's newest entry, as a checkpoint recorded it.
#[derive(SimpleObject)]
pub struct AuditChainHead {
    /// The chain (1–8).
    pub chain: i32,
    /// The seq of its newest entry then (0: the chain was empty).
    pub seq: i64,
    /// That entry's hash.
    pub hash: String,
}

/// Every chain's head at one moment, signed (Ed25519) with a key that is not stored in the
/// database. Keep `exported` somewhere the database's administrators cannot write, and give
/// it back to `verifyAuditTrail` to prove nothing up to it was changed or removed since.
#[derive(Description)]
pub struct AuditCheckpoint(pub audit_checkpoint::Model);

#[Object(use_type_description)]
impl AuditCheckpoint {
    /// The checkpoint's number (rising).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// When it was signed (to the microsecond; part of what is signed).
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
    /// Each chain's head then, by chain.
    async fn chains(&self) -> Vec<AuditChainHead> {
        audit_trail::stored_heads(&self.0)
            .unwrap_or_default()
            .into_iter()
            .map(|h| AuditChainHead {
                chain: h.chain,
                seq: h.seq,
                hash: h.hash,
            })
            .collect()
    }
    /// Base64 Ed25519 signature over the time and the heads.
    async fn signature(&self) -> &str {
        &self.0.signature
    }
    /// Base64 Ed25519 public key that signed it.
    async fn public_key(&self) -> &str {
        &self.0.public_key
    }
    /// The checkpoint as JSON to keep outside the database (what `frontdoor audit
    /// export-checkpoint` prints and `verifyAuditTrail(checkpoint:)` takes).
    async fn exported(&self) -> String {
        ExportedCheckpoint::from_model(&self.0).to_json()
    }
}

/// The result of verifying the audit trail.
#[derive(Description)]
pub struct AuditVerification(pub Verification);

#[Object(use_type_description)]
impl AuditVerification {
    /// True when every chain, every stored checkpoint and the given checkpoint check out.
    async fn ok(&self) -> bool {
        self.0.ok
    }
    /// Audit entries checked (all of them when `ok`).
    async fn checked_entries(&self) -> u64 {
        self.0.checked_entries
    }
    /// Checkpoints checked, the given one included.
    async fn checked_checkpoints(&self) -> u64 {
        self.0.checked_checkpoints
    }
    /// The first failure found (verification stops there); null when `ok`.
    async fn first_failure(&self) -> Option<AuditFailure> {
        self.0.first_failure.clone().map(AuditFailure)
    }
}

/// Where and why the audit trail failed verification.
#[derive(Description)]
pub struct AuditFailure(pub Failure);

#[Object(use_type_description)]
impl AuditFailure {
    /// What is wrong.
    async fn reason(&self) -> FailureReason {
        self.0.reason.into()
    }
    /// The chain, where the failure is in one.
    async fn chain(&self) -> Option<i32> {
        self.0.chain
    }
    /// The place in the chain (for a gap, the missing seq).
    async fn seq(&self) -> Option<i64> {
        self.0.seq
    }
    /// The `AuditEvent.id` of the entry found there, if there is one.
    async fn event_id(&self) -> Option<ID> {
        self.0.event_id.map(|id| ID(id.to_string()))
    }
    /// The checkpoint involved, if any (`AuditCheckpoint.id`, or the id the given one claims).
    async fn checkpoint_id(&self) -> Option<ID> {
        self.0.checkpoint_id.map(|id| ID(id.to_string()))
    }
}
