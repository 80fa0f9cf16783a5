use sea_orm::entity::prelude::*;

use crate::codes::AgencyKind;

/// An organisation whose people and systems use frontdoor. Exactly one hosts the MASH.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "agencies")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub name: String,
    /// LOCAL_AUTHORITY, POLICE, HEALTH, ...
    pub kind: AgencyKind,
    /// National contact-source code (docs/codes.md) that contacts from this agency carry by default.
    pub source_code: String,
    pub hosts_mash: bool,
    pub active: bool,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
