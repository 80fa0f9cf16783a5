use sea_orm::entity::prelude::*;

use crate::codes::{OverrideReason, OverrideStatus, ReviewStatus};

/// A request to share without consent, and a MASH manager's decision on it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "consent_overrides")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub contact_id: Uuid,
    pub requested_by: Uuid,
    /// CANNOT_BE_GIVEN, CANNOT_REASONABLY_BE_OBTAINED or WOULD_PREJUDICE_PROTECTION.
    pub reason: OverrideReason,
    pub justification: String,
    /// REQUESTED, APPROVED or REFUSED.
    pub status: OverrideStatus,
    pub decided_by: Option<Uuid>,
    pub decided_at: Option<DateTimeUtc>,
    /// Approved by the requesting manager alone on an immediate-risk contact.
    pub break_glass: bool,
    /// NOT_REQUIRED, PENDING, UPHELD or REFUSED.
    pub review_status: ReviewStatus,
    pub reviewed_by: Option<Uuid>,
    pub reviewed_at: Option<DateTimeUtc>,
    pub requested_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
