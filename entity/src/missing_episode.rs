use sea_orm::entity::prelude::*;

use crate::codes::RiskGrade;

/// A child reported missing by the police, and their return.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "missing_episodes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub child_id: Uuid,
    /// The reporting (police) agency.
    pub agency_id: Uuid,
    pub reported_by: Uuid,
    /// The child's details as the police reported them (JSON).
    pub child_as_reported: String,
    pub reported_missing_at: DateTimeUtc,
    /// HIGH, MEDIUM, LOW or NO_APPARENT_RISK.
    pub risk_grade: RiskGrade,
    pub la_notified_at: Option<DateTimeUtc>,
    pub returned_at: Option<DateTimeUtc>,
    pub return_notified_at: Option<DateTimeUtc>,
    pub recorded_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
