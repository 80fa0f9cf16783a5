use sea_orm::entity::prelude::*;

/// One entry of the audit trail. Written only by `domain::audit`; never updated or deleted.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub at: DateTimeUtc,
    /// USER, CLIENT, OPERATOR (the CLI) or ANONYMOUS.
    pub actor_kind: String,
    pub actor_id: Option<String>,
    /// Username, client id or operating-system user: what an auditor reads.
    pub actor_label: String,
    pub actor_agency_id: Option<Uuid>,
    pub action: String,
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    /// SUCCESS, or the refusal code (FORBIDDEN, NOT_FOUND, UNAUTHENTICATED, RATE_LIMITED, ...).
    pub outcome: String,
    pub request_id: Option<String>,
    /// Metadata only (never case content, passwords or tokens), as JSON text.
    pub detail: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
