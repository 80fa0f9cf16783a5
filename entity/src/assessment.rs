use sea_orm::entity::prelude::*;

use crate::codes::AssessmentOutcome;

/// A children and families (continuous) assessment following a referral.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "assessments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub referral_id: Uuid,
    pub child_id: Uuid,
    pub started_at: DateTimeUtc,
    /// End of the 45th working day after the referral.
    pub due_at: DateTimeUtc,
    pub child_seen_at: Option<DateTimeUtc>,
    /// When a manager authorised the completed assessment.
    pub authorised_at: Option<DateTimeUtc>,
    /// NO_FURTHER_ACTION, STEP_DOWN_TO_EARLY_HELP, STRATEGY_DISCUSSION or OTHER.
    pub outcome: Option<AssessmentOutcome>,
    pub allocated_team: Option<String>,
    pub allocated_worker: Option<String>,
    pub recorded_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
