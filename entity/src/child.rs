use sea_orm::entity::prelude::*;

use crate::codes::Gender;

/// A child as the MASH knows them (the MASH's record, reconciled by MASH staff).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "children")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub date_of_birth: Option<Date>,
    /// MALE, FEMALE, NOT_STATED, NEITHER.
    pub gender: Gender,
    /// DfE four-letter ethnicity code.
    pub ethnicity: Option<String>,
    pub disability: Option<bool>,
    pub address: Option<String>,
    pub postcode: Option<String>,
    pub nhs_number: Option<String>,
    pub upn: Option<String>,
    pub police_id: Option<String>,
    pub local_id: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
