use sea_orm::entity::prelude::*;

/// Consent to share information about a contact's child.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "consents")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub contact_id: Uuid,
    pub given_by_name: String,
    pub relationship: String,
    /// Comma-separated purposes.
    pub scope_purposes: String,
    /// Comma-separated agency ids the consent covers; empty means every agency.
    pub scope_agency_ids: String,
    pub obtained_by: Uuid,
    pub obtained_by_agency: Uuid,
    pub obtained_at: DateTimeUtc,
    pub recorded_at: DateTimeUtc,
    pub withdrawn_at: Option<DateTimeUtc>,
    pub withdrawn_by: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
