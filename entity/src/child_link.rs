use sea_orm::entity::prelude::*;

use crate::codes::ChildRelationship;

/// A household or sibling link between two children (stored both ways).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "child_links")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub child_id: Uuid,
    pub related_child_id: Uuid,
    /// SIBLING or HOUSEHOLD.
    pub relationship: ChildRelationship,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
