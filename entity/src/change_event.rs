use sea_orm::entity::prelude::*;

/// A change a subscriber may be told of, written with the change itself. Ids and codes only:
/// what the subject holds is read, through the access policy, when a subscriber asks for it.
/// The id is the event's cursor.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "change_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// What happened (`REQUEST_SENT`, `REQUEST_ANSWERED`, `CONTACT_ARRIVED`,
    /// `CONTACT_UPDATED`, `CONTACT_DECIDED`).
    pub kind: String,
    /// The information request or contact it happened to.
    pub subject_id: Uuid,
    /// The agency it concerns: the one a request was sent to, or the one a contact came from.
    pub agency_id: Option<Uuid>,
    /// The referrer who submitted the contact, for contact events.
    pub principal_id: Option<Uuid>,
    /// The subject's status after the change.
    pub status: String,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
