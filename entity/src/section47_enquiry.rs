use sea_orm::entity::prelude::*;

use crate::codes::Section47Outcome;

/// A section 47 enquiry, started by a strategy discussion.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "section47_enquiries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub strategy_discussion_id: Uuid,
    pub referral_id: Uuid,
    pub child_id: Uuid,
    pub started_at: DateTimeUtc,
    /// End of the 15th working day after the strategy discussion.
    pub icpc_due_at: DateTimeUtc,
    /// A section 47 outcome code (docs/codes.md).
    pub outcome: Option<Section47Outcome>,
    pub completed_at: Option<DateTimeUtc>,
    pub allocated_team: Option<String>,
    pub allocated_worker: Option<String>,
    pub recorded_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
