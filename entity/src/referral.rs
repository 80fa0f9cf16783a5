use sea_orm::entity::prelude::*;

use crate::codes::ReferralOutcome;

/// A referral to children's social care, made by a contact decision.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "referrals")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The contact whose decision made the referral.
    pub contact_id: Uuid,
    pub child_id: Uuid,
    /// The contact's source code (Annex A "Referral Source").
    pub source_code: String,
    pub referred_at: DateTimeUtc,
    /// NO_FURTHER_ACTION, ADVICE_AND_SIGNPOSTING, STEP_DOWN_TO_EARLY_HELP, ASSESSMENT_REQUIRED,
    /// STRATEGY_DISCUSSION or OTHER.
    pub outcome: Option<ReferralOutcome>,
    pub allocated_team: Option<String>,
    pub allocated_worker: Option<String>,
    pub recorded_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
