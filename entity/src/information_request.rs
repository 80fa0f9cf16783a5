use sea_orm::entity::prelude::*;

use crate::codes::{Priority, RequestStatus};

/// A request from the MASH to one agency about a contact's child.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "information_requests")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub contact_id: Uuid,
    pub child_id: Uuid,
    pub to_agency_id: Uuid,
    pub questions: String,
    /// RED, AMBER or GREEN.
    pub priority: Priority,
    pub sent_by: Uuid,
    pub sent_at: DateTimeUtc,
    pub recorded_at: DateTimeUtc,
    pub due_at: DateTimeUtc,
    /// OPEN, RESPONDED, DECLINED or WITHDRAWN.
    pub status: RequestStatus,
    /// "consent:<id>" or "override:<id>": what allowed the request.
    pub consent_ref: String,
    pub decline_reason: Option<String>,
    pub answered_by: Option<Uuid>,
    pub answered_at: Option<DateTimeUtc>,
    pub withdrawn_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
