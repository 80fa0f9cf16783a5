use sea_orm::entity::prelude::*;

/// An initial child protection conference following a section 47 enquiry.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "child_protection_conferences")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub section47_id: Uuid,
    pub child_id: Uuid,
    pub held_at: DateTimeUtc,
    pub due_at: DateTimeUtc,
    pub plan_made: bool,
    pub allocated_team: Option<String>,
    pub allocated_worker: Option<String>,
    pub recorded_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
