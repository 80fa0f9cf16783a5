use sea_orm::entity::prelude::*;

/// A strategy discussion where significant harm is suspected.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "strategy_discussions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub referral_id: Uuid,
    pub child_id: Uuid,
    /// Set when the discussion arose from an assessment rather than at the front door.
    pub assessment_id: Option<Uuid>,
    pub held_at: DateTimeUtc,
    /// Comma-separated ids of the agencies present.
    pub agencies_present: String,
    pub section47_started: bool,
    pub allocated_team: Option<String>,
    pub allocated_worker: Option<String>,
    pub recorded_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
