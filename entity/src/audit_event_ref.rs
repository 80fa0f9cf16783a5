use sea_orm::entity::prelude::*;

/// A child or record an audit entry names: one row per child ("Child", uuid) and per further
/// record (e.g. "Disclosure", id). A child's or a disclosure's access log is read from here.
/// Covered by the entry's hash, so written once with the entry and never changed.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_event_refs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub event_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub kind: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub ref_id: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::audit_event::Entity",
        from = "Column::EventId",
        to = "super::audit_event::Column::Id"
    )]
    Event,
}

impl Related<super::audit_event::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Event.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
