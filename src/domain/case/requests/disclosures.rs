//! Disclosures after the answer: onward sharing, and reading one.
use super::*;
use crate::domain::audit::Action;
use crate::domain::policy;

/// MASH staff pass a disclosure on to another agency, as its handling code allows; the
/// onward share is its own recorded disclosure, carrying the original's conditions.
pub async fn share_onward(
    core: &Core,
    ctx: &RequestCtx,
    disclosure_id: Uuid,
    to_agency_id: Option<Uuid>,
    acknowledge_conditions: bool,
    authorisation: Option<String>,
) -> AppResult<disclosure::Model> {
    const ACTION: Action = Action::DisclosureShareOnward;
    let grant = policy::allow(core, ctx, ACTION, CaseOperation::MashWork).await?;
    let authorisation = checks::optional("authorisation", authorisation.as_deref(), Kind::Note)?;
    let found = disclosure::Entity::find_by_id(disclosure_id)
        .one(&core.db)
        .await?
        .filter(|d| grant.disclosure_visibility(d) != DisclosureVisibility::Hidden);
    let original = grant
        .on_refusal(core, found.ok_or(AppError::NotFound))
        .await?;
    let to = match to_agency_id {
        Some(id) => agency::Entity::find_by_id(id).one(&core.db).await?,
        None => None,
    }
    .filter(|a| a.active && !a.hosts_mash && a.id != original.supplied_by_agency_id)
    .ok_or_else(|| {
        AppError::bad_input(
            "toAgencyId",
            "no such partner agency (other than the supplier)",
        )
    })?;
    let contact = contact::Entity::find_by_id(original.contact_id)
        .one(&core.db)
        .await?
        .ok_or(AppError::NotFound)?;
    policy::onward_share_check(
        &original,
        &to,
        contact.agency_id,
        acknowledge_conditions,
        authorisation.as_deref(),
    )?;
    let host = ctx.actor.agency_id().ok_or(AppError::Forbidden)?;
    let txn = begin_write(&core.db).await?;
    let result = async {
        // One onward share of a disclosure to an agency: checked under the contact's lock,
        // so two staff sharing the same item at once make one record.
        locked_contact(&txn, original.contact_id).await?;
        let already = disclosure::Entity::find()
            .filter(disclosure::Column::OnwardFrom.eq(original.id))
            .filter(disclosure::Column::ToAgencyId.eq(to.id))
            .one(&txn)
            .await?;
        if already.is_some() {
            return Err(AppError::conflict(
                "toAgencyId",
                "this disclosure was already shared with that agency",
            ));
        }
        let created = disclosure::ActiveModel {
            id: Set(Uuid::now_v7()),
            request_id: Set(None),
            contact_id: Set(original.contact_id),
            child_id: Set(original.child_id),
            supplied_by_agency_id: Set(host),
            supplied_by: Set(ctx.actor.id.unwrap_or_default()),
            to_agency_id: Set(Some(to.id)),
            onward_from: Set(Some(original.id)),
            content: Set(original.content.clone()),
            category: Set(original.category.clone()),
            lawful_basis: Set(original.lawful_basis),
            special_category: Set(original.special_category),
            handling_code: Set(original.handling_code),
            handling_conditions: Set(original.handling_conditions.clone()),
            audience_restrictions: Set(original.audience_restrictions.clone()),
            consent_ref: Set(original.consent_ref.clone()),
            occurred_at: Set(Utc::now()),
            recorded_at: Set(Utc::now()),
        }
        .insert(&txn)
        .await?;
        audit::record(
            &txn,
            ctx,
            grant.entry()
                .entity("Disclosure", created.id)
                .reference("Disclosure", original.id)
                .reference("Agency", to.id)
                .children([original.child_id])
                .purpose("safeguarding.onward_sharing")
                .lawful_basis(original.lawful_basis.as_str())
                .consent_ref(original.consent_ref.clone())
                .detail(
                    json!({ "handlingCode": original.handling_code.as_str(), "authorisation": authorisation }),
                ),
        )
        .await?;
        Ok(created)
    }
    .await;
    transition::settle(core, &grant, txn, result).await
}

/// One disclosure as the caller may see it: the supplying agency's desk, an onward
/// recipient's desk, or MASH staff (restricted items as stubs). Audited with the child.
pub async fn get_disclosure(
    core: &Core,
    ctx: &RequestCtx,
    id: Uuid,
) -> AppResult<(
    (disclosure::Model, DisclosureVisibility),
    std::collections::HashMap<Uuid, String>,
)> {
    const ACTION: Action = Action::DisclosureRead;
    let grant = policy::allow(core, ctx, ACTION, CaseOperation::ReadRequests).await?;
    let found = disclosure::Entity::find_by_id(id)
        .one(&core.db)
        .await?
        .and_then(|d| {
            let v = grant.disclosure_visibility(&d);
            (v != DisclosureVisibility::Hidden).then_some((d, v))
        });
    let item = grant
        .on_refusal(core, found.ok_or(AppError::NotFound))
        .await?;
    let names = contacts::agency_names(&core.db, std::slice::from_ref(&item)).await?;
    audit::record_alone(
        core,
        ctx,
        grant
            .entry()
            .entity("Disclosure", item.0.id)
            .children([item.0.child_id])
            .purpose("safeguarding.information_gathering")
            .lawful_basis(item.0.lawful_basis.as_str())
            .consent_ref(item.0.consent_ref.clone()),
    )
    .await?;
    if item.1 == DisclosureVisibility::Full {
        events::disclosures_read(core, ctx, [&item.0]).await;
    }
    Ok((item, names))
}
