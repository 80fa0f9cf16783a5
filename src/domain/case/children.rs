//! Children: validation of identity details, duplicate matching, the MASH's child record.
use chrono::{NaiveDate, SubsecRound, Utc};
use entity::codes::{ChildRelationship, Gender};
use entity::{child, child_link, contact};
use sea_orm::sea_query::{Expr, ExprTrait, Func, SimpleExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TryInsertResult,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::db::begin_write;
use crate::domain::audit::Action;
use crate::domain::audit::{self};
use crate::domain::common::checks::{self, Kind};
use crate::domain::common::code_lists::CodeList;
use crate::domain::common::identifiers;
use crate::domain::policy::{self, CaseOperation};
use crate::domain::RequestCtx;
use crate::error::{AppError, AppResult};
use crate::Core;

/// A child's details as someone supplies them (validated, normalised).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ChildDetails {
    pub first_name: String,
    pub last_name: String,
    pub date_of_birth: Option<NaiveDate>,
    pub gender: String,
    pub ethnicity: Option<String>,
    pub disability: Option<bool>,
    pub address: Option<String>,
    pub postcode: Option<String>,
    pub nhs_number: Option<String>,
    pub upn: Option<String>,
    pub police_id: Option<String>,
    pub local_id: Option<String>,
}

impl ChildDetails {
    /// Checks and normalises every field; `prefix` names the input (e.g. "child").
    pub fn validated(self, prefix: &str) -> AppResult<ChildDetails> {
        let f = |name: &str| checks::path(prefix, name);
        let today = Utc::now().date_naive();
        if let Some(dob) = self.date_of_birth {
            if dob > today {
                return Err(AppError::bad_input(
                    &f("dateOfBirth"),
                    "must not be in the future",
                ));
            }
            if dob < today - chrono::Duration::days(366 * 26) {
                return Err(AppError::bad_input(
                    &f("dateOfBirth"),
                    "is not a child's (or care leaver's) date of birth",
                ));
            }
        }
        let gender = self.gender.trim().to_uppercase();
        checked_gender(&f("gender"), &gender)?;
        let ethnicity =
            checks::optional_max(&f("ethnicity"), self.ethnicity.as_deref(), Kind::Line, 4)?
                .map(|e| e.to_uppercase());
        if let Some(e) = &ethnicity {
            CodeList::Ethnicity.check(&f("ethnicity"), e)?;
        }
        Ok(ChildDetails {
            first_name: checks::required(&f("firstName"), &self.first_name, Kind::Name)?,
            last_name: checks::required(&f("lastName"), &self.last_name, Kind::Name)?,
            date_of_birth: self.date_of_birth,
            gender,
            ethnicity,
            disability: self.disability,
            address: checks::optional_max(&f("address"), self.address.as_deref(), Kind::Note, 500)?,
            postcode: checks::optional_max(
                &f("postcode"),
                self.postcode.as_deref(),
                Kind::Line,
                10,
            )?
            .map(|p| p.to_uppercase()),
            nhs_number: checks::optional_max(
                &f("nhsNumber"),
                self.nhs_number.as_deref(),
                Kind::Line,
                20,
            )?
            .map(|n| identifiers::nhs_number(&f("nhsNumber"), &n))
            .transpose()?,
            upn: checks::optional_max(&f("upn"), self.upn.as_deref(), Kind::Line, 13)?
                .map(|u| identifiers::upn(&f("upn"), &u))
                .transpose()?,
            police_id: checks::optional_max(
                &f("policeId"),
                self.police_id.as_deref(),
                Kind::Line,
                50,
            )?,
            local_id: checks::optional_max(
                &f("localId"),
                self.local_id.as_deref(),
                Kind::Line,
                50,
            )?,
        })
    }
}

/// Case-insensitive equality on a text column.
fn lower_eq(column: child::Column, value: String) -> SimpleExpr {
    ExprTrait::eq(Expr::expr(Func::lower(Expr::col(column))), value)
}

/// The MASH's record for these details: the same NHS number, or the same name and date of
/// birth; otherwise a new record. Never overwrites an existing record (MASH staff reconcile).
/// Returns the record and whether it already existed.
pub async fn find_or_create<C: ConnectionTrait>(
    conn: &C,
    details: &ChildDetails,
) -> AppResult<(child::Model, bool)> {
    if let Some(nhs) = &details.nhs_number {
        if let Some(found) = child::Entity::find()
            .filter(child::Column::NhsNumber.eq(nhs.as_str()))
            .one(conn)
            .await?
        {
            return Ok((found, true));
        }
    }
    if let Some(dob) = details.date_of_birth {
        let found = child::Entity::find()
            .filter(lower_eq(
                child::Column::FirstName,
                details.first_name.to_lowercase(),
            ))
            .filter(lower_eq(
                child::Column::LastName,
                details.last_name.to_lowercase(),
            ))
            .filter(child::Column::DateOfBirth.eq(dob))
            .order_by_asc(child::Column::Id)
            .one(conn)
            .await?;
        if let Some(found) = found {
            return Ok((found, true));
        }
    }
    // Microseconds, as both databases store them.
    let now = Utc::now().trunc_subsecs(6);
    let new_child = child::Model {
        id: Uuid::now_v7(),
        first_name: details.first_name.clone(),
        last_name: details.last_name.clone(),
        date_of_birth: details.date_of_birth,
        gender: checked_gender("gender", &details.gender)?,
        ethnicity: details.ethnicity.clone(),
        disability: details.disability,
        address: details.address.clone(),
        postcode: details.postcode.clone(),
        nhs_number: details.nhs_number.clone(),
        upn: details.upn.clone(),
        police_id: details.police_id.clone(),
        local_id: details.local_id.clone(),
        created_at: now,
        updated_at: now,
    };
    // A concurrent submission may create the same NHS number's record first: the unique
    // index then makes this insert do nothing, and this contact links to that record.
    let inserted = child::Entity::insert(child::ActiveModel::from(new_child.clone()))
        .on_conflict_do_nothing_on([child::Column::NhsNumber])
        .exec_without_returning(conn)
        .await?;
    match (inserted, &details.nhs_number) {
        (TryInsertResult::Inserted(1), _) => Ok((new_child, false)),
        (_, Some(nhs)) => {
            let winner = child::Entity::find()
                .filter(child::Column::NhsNumber.eq(nhs.as_str()))
                .one(conn)
                .await?
                .ok_or_else(|| AppError::internal("child record vanished"))?;
            Ok((winner, true))
        }
        (_, None) => Err(AppError::internal("child record not written")),
    }
}

/// A child record with what MASH staff see alongside it.
pub struct ChildRecord {
    pub child: child::Model,
    pub contact_ids: Vec<Uuid>,
    pub links: Vec<child_link::Model>,
}

async fn load_record<C: ConnectionTrait>(conn: &C, child: child::Model) -> AppResult<ChildRecord> {
    let contact_ids = contact::Entity::find()
        .filter(contact::Column::ChildId.eq(child.id))
        .order_by_asc(contact::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(|c| c.id)
        .collect();
    let links = child_link::Entity::find()
        .filter(child_link::Column::ChildId.eq(child.id))
        .all(conn)
        .await?;
    Ok(ChildRecord {
        child,
        contact_ids,
        links,
    })
}

/// MASH staff read a child's record (audited with the child).
pub async fn get_child(core: &Core, ctx: &RequestCtx, id: Uuid) -> AppResult<ChildRecord> {
    let grant = policy::allow(core, ctx, Action::ChildRead, CaseOperation::MashWork).await?;
    let found = child::Entity::find_by_id(id).one(&core.db).await?;
    let child = grant
        .on_refusal(core, found.ok_or(AppError::NotFound))
        .await?;
    let record = load_record(&core.db, child).await?;
    audit::record_alone(
        core,
        ctx,
        grant
            .entry()
            .entity("Child", id)
            .children([id])
            .purpose("safeguarding.triage"),
    )
    .await?;
    Ok(record)
}

/// A child's identifiers and nothing else (AUDITOR, and MASH staff): what an information-
/// governance check needs to match a record, without names or case content. Audited.
pub async fn get_child_identifiers(
    core: &Core,
    ctx: &RequestCtx,
    id: Uuid,
) -> AppResult<child::Model> {
    const ACTION: Action = Action::ChildReadIdentifiers;
    let grant = policy::allow(core, ctx, ACTION, CaseOperation::ReadChildIdentifiers).await?;
    let found = child::Entity::find_by_id(id).one(&core.db).await?;
    let child = grant
        .on_refusal(core, found.ok_or(AppError::NotFound))
        .await?;
    audit::record_alone(
        core,
        ctx,
        grant
            .entry()
            .entity("Child", id)
            .children([id])
            .purpose("audit"),
    )
    .await?;
    Ok(child)
}

/// MASH staff search children by NHS number, or by last name (and date of birth).
pub async fn search_children(
    core: &Core,
    ctx: &RequestCtx,
    nhs_number: Option<String>,
    last_name: Option<String>,
    date_of_birth: Option<NaiveDate>,
) -> AppResult<Vec<child::Model>> {
    let grant = policy::allow(core, ctx, Action::ChildSearch, CaseOperation::MashWork).await?;
    let mut query = child::Entity::find();
    match (nhs_number, last_name) {
        (Some(nhs), _) => {
            let nhs = identifiers::nhs_number("nhsNumber", &nhs)?;
            query = query.filter(child::Column::NhsNumber.eq(nhs));
        }
        (None, Some(name)) => {
            let name = checks::required("lastName", &name, Kind::Name)?;
            query = query.filter(lower_eq(child::Column::LastName, name.to_lowercase()));
            if let Some(dob) = date_of_birth {
                checks::date("dateOfBirth", dob)?;
                query = query.filter(child::Column::DateOfBirth.eq(dob));
            }
        }
        (None, None) => {
            return Err(AppError::bad_input(
                "lastName",
                "give an NHS number or a last name",
            ))
        }
    }
    let found = query
        .order_by_asc(child::Column::Id)
        .limit(50)
        .all(&core.db)
        .await?;
    audit::record_alone(
        core,
        ctx,
        grant
            .entry()
            .children(found.iter().map(|c| c.id))
            .purpose("safeguarding.triage"),
    )
    .await?;
    Ok(found)
}

/// MASH staff reconcile the child record (the submitted details stay with each contact).
pub async fn update_child(
    core: &Core,
    ctx: &RequestCtx,
    id: Uuid,
    details: ChildDetails,
) -> AppResult<ChildRecord> {
    let grant = policy::allow(core, ctx, Action::ChildUpdate, CaseOperation::MashWork).await?;
    let details = details.validated("")?;
    let found = child::Entity::find_by_id(id).one(&core.db).await?;
    let existing = grant
        .on_refusal(core, found.ok_or(AppError::NotFound))
        .await?;
    let txn = begin_write(&core.db).await?;
    let mut active: child::ActiveModel = existing.into();
    active.first_name = Set(details.first_name);
    active.last_name = Set(details.last_name);
    active.date_of_birth = Set(details.date_of_birth);
    active.gender = Set(checked_gender("gender", &details.gender)?);
    active.ethnicity = Set(details.ethnicity);
    active.disability = Set(details.disability);
    active.address = Set(details.address);
    active.postcode = Set(details.postcode);
    active.nhs_number = Set(details.nhs_number);
    active.upn = Set(details.upn);
    active.police_id = Set(details.police_id);
    active.local_id = Set(details.local_id);
    active.updated_at = Set(Utc::now());
    let updated = active.update(&txn).await?;
    let record = load_record(&txn, updated).await?;
    audit::record(
        &txn,
        ctx,
        grant
            .entry()
            .entity("Child", id)
            .children([id])
            .purpose("safeguarding.triage"),
    )
    .await?;
    txn.commit().await?;
    Ok(record)
}

/// A child's gender as stored (details are normalised to upper case before this).
fn checked_gender(field: &str, text: &str) -> AppResult<Gender> {
    Gender::parse(text)
        .ok_or_else(|| AppError::bad_input(field, "must be MALE, FEMALE, NOT_STATED or NEITHER"))
}

/// Links two children as siblings or members of one household (both directions).
pub async fn link_children(
    core: &Core,
    ctx: &RequestCtx,
    child_id: Uuid,
    related: Option<Uuid>,
    relationship: &str,
) -> AppResult<ChildRecord> {
    let grant = policy::allow(core, ctx, Action::ChildLink, CaseOperation::MashWork).await?;
    let relationship = ChildRelationship::parse(relationship)
        .ok_or_else(|| AppError::bad_input("relationship", "must be SIBLING or HOUSEHOLD"))?;
    let found = child::Entity::find_by_id(child_id).one(&core.db).await?;
    let child = grant
        .on_refusal(core, found.ok_or(AppError::NotFound))
        .await?;
    let other = match related {
        Some(id) if id != child_id => child::Entity::find_by_id(id).one(&core.db).await?,
        _ => None,
    }
    .ok_or_else(|| AppError::bad_input("relatedChildId", "no such child"))?;
    let txn = begin_write(&core.db).await?;
    for (a, b) in [(child.id, other.id), (other.id, child.id)] {
        child_link::ActiveModel {
            id: Set(Uuid::now_v7()),
            child_id: Set(a),
            related_child_id: Set(b),
            relationship: Set(relationship),
            created_at: Set(Utc::now()),
        }
        .insert(&txn)
        .await?;
    }
    let record = load_record(&txn, child).await?;
    audit::record(
        &txn,
        ctx,
        grant
            .entry()
            .entity("Child", child_id)
            .children([child_id, other.id])
            .purpose("safeguarding.triage")
            .detail(json!({ "relationship": relationship.as_str() })),
    )
    .await?;
    txn.commit().await?;
    Ok(record)
}
