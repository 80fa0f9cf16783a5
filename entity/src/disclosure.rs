use sea_orm::entity::prelude::*;

use crate::codes::{HandlingCode, LawfulBasis};

/// What an agency shared, with its handling instructions.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "disclosures")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub request_id: Option<Uuid>,
    pub contact_id: Uuid,
    pub child_id: Uuid,
    pub supplied_by_agency_id: Uuid,
    pub supplied_by: Uuid,
    /// Set on an onward share: the agency it was shared on to.
    pub to_agency_id: Option<Uuid>,
    /// Set on an onward share: the disclosure it passes on.
    pub onward_from: Option<Uuid>,
    pub content: String,
    pub category: String,
    pub lawful_basis: LawfulBasis,
    pub special_category: bool,
    /// P, C, or legacy 1–5.
    pub handling_code: HandlingCode,
    pub handling_conditions: Option<String>,
    /// Comma-separated: NOT_FOR_FAMILY, NOT_FOR_REFERRER.
    pub audience_restrictions: String,
    pub consent_ref: String,
    pub occurred_at: DateTimeUtc,
    pub recorded_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
