use sea_orm::entity::prelude::*;

use crate::codes::ScreeningOutcome;

/// An early help episode: a step-down from the MASH to an early help agency.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "early_help_episodes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub child_id: Uuid,
    pub contact_id: Option<Uuid>,
    /// The early help agency asked to help.
    pub agency_id: Uuid,
    pub requested_by: Uuid,
    pub requested_at: DateTimeUtc,
    pub screened_at: Option<DateTimeUtc>,
    /// EARLY_HELP_ASSESSMENT, SIGNPOSTED, NO_FURTHER_ACTION or RETURNED_TO_MASH.
    pub screening_outcome: Option<ScreeningOutcome>,
    pub assessment_started_at: Option<DateTimeUtc>,
    pub assessment_completed_at: Option<DateTimeUtc>,
    /// The organisation completing the early help assessment.
    pub organisation: Option<String>,
    pub recorded_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
