use sea_orm::entity::prelude::*;

use crate::codes::{ConsentPosition, ContactOutcome, ContactStatus};

/// A concern about one child from an agency, and the MASH's decision on it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "contacts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The MASH's child record this contact is linked to.
    pub child_id: Uuid,
    /// The submitting agency.
    pub agency_id: Uuid,
    /// USER or CLIENT.
    pub submitted_by_kind: String,
    pub submitted_by_id: Uuid,
    pub referrer_name: String,
    pub source_code: String,
    /// When the contact was received.
    pub occurred_at: DateTimeUtc,
    pub recorded_at: DateTimeUtc,
    pub decision_due_at: DateTimeUtc,
    /// AWAITING_CONSENT, INFORMATION_GATHERING or DECIDED.
    pub status: ContactStatus,
    /// The child's details exactly as submitted (JSON).
    pub child_as_submitted: String,
    /// Comma-separated assessment-factor codes.
    pub concern_categories: String,
    pub narrative: String,
    pub immediate_risk: bool,
    /// GIVEN, NOT_SOUGHT or REFUSED, as submitted.
    pub consent_position: ConsentPosition,
    pub consent_not_sought_reason: Option<String>,
    /// MASH-only: the submission matched a child record that already existed.
    pub matched_existing_child: bool,
    pub recommendation: Option<ContactOutcome>,
    pub recommendation_rationale: Option<String>,
    pub recommended_by: Option<Uuid>,
    pub recommended_at: Option<DateTimeUtc>,
    pub outcome: Option<ContactOutcome>,
    pub threshold_level: Option<i32>,
    pub rationale: Option<String>,
    pub decided_by: Option<Uuid>,
    pub decided_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
