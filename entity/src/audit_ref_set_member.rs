use sea_orm::entity::prelude::*;

/// One member of a ref set: a child ("Child", uuid) or further record ("Disclosure", id) that
/// the audit entries keyed to the set name. A set is written once, the first time an entry
/// names exactly those records, and never changed; each entry's hash covers its refs, so a
/// changed member shows in `audit verify`. A child's or a disclosure's access log is read
/// from here: the sets naming it, then the entries keyed to those sets.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_ref_set_members")]
pub struct Model {
    /// The set's key: the hex SHA-256 of its refs in canonical order (or `legacy:<entry id>`
    /// for refs written before sets).
    #[sea_orm(primary_key, auto_increment = false)]
    pub ref_set: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub kind: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub ref_id: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
