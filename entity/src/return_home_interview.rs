use sea_orm::entity::prelude::*;

use crate::codes::InterviewOutcome;

/// The return home interview owed to a child back from a missing episode.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "return_home_interviews")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub episode_id: Uuid,
    pub child_id: Uuid,
    /// 72 hours after the return.
    pub due_at: DateTimeUtc,
    pub offered_at: Option<DateTimeUtc>,
    /// COMPLETED, DECLINED, NOT_OFFERED or CARRIED_OVER; None while open.
    pub outcome: Option<InterviewOutcome>,
    pub completed_at: Option<DateTimeUtc>,
    pub late_reason: Option<String>,
    pub not_offered_reason: Option<String>,
    pub recorded_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
