//! The contacts a caller may see: the MASH queue, a partner's own submissions.
use super::*;
use crate::domain::audit::Action;
use crate::domain::policy;

#[derive(Clone, Debug, Default)]
pub struct ContactFilter {
    pub status: Option<ContactStatus>,
    pub overdue: Option<bool>,
    /// An inner None is an id that was not an agency's: matches nothing.
    pub source_agency: Option<Option<Uuid>>,
    /// Only contacts about this child (a child's own contacts, within the caller's scope).
    pub child: Option<Uuid>,
    /// Only contacts with events after this cursor (those the caller's subscription would
    /// have delivered).
    pub since: Option<String>,
}

/// Contacts the caller may see, filtered in the database; MASH staff get the queue sorted
/// by decision due time.
pub async fn list_contacts(
    core: &Core,
    ctx: &RequestCtx,
    filter: ContactFilter,
    page: PageRequest,
) -> AppResult<Page<ContactView>> {
    let grant = policy::allow(core, ctx, Action::ContactList, CaseOperation::ReadContacts).await?;
    let mut condition = Condition::all().add(grant.contact_scope());
    if let Some(status) = filter.status {
        condition = condition.add(contact::Column::Status.eq(status));
    }
    let now = Utc::now();
    match filter.overdue {
        Some(true) => {
            condition = condition
                .add(contact::Column::Status.ne(ContactStatus::Decided))
                .add(contact::Column::DecisionDueAt.lt(now))
        }
        Some(false) => {
            condition = condition.add(
                Condition::any()
                    .add(contact::Column::Status.eq(ContactStatus::Decided))
                    .add(contact::Column::DecisionDueAt.gte(now)),
            )
        }
        None => {}
    }
    if let Some(agency) = filter.source_agency {
        condition = condition.add(contact::Column::AgencyId.eq(agency.unwrap_or_default()));
    }
    if let Some(child) = filter.child {
        condition = condition.add(contact::Column::ChildId.eq(child));
    }
    if let Some(since) = &filter.since {
        let kinds = policy::catch_up_kinds(&ctx.actor, false);
        condition = condition.add(events::changed_since(contact::Column::Id, &kinds, since)?);
    }
    let total_count = contact::Entity::find()
        .filter(condition.clone())
        .count(&core.db)
        .await?;
    // Ordered by due time, then id; the cursor is the last contact's id.
    let mut query = contact::Entity::find().filter(condition);
    if let Some(after) = page.after_id()? {
        if let Some(last) = contact::Entity::find_by_id(after).one(&core.db).await? {
            query = query.filter(
                Condition::any()
                    .add(contact::Column::DecisionDueAt.gt(last.decision_due_at))
                    .add(
                        Condition::all()
                            .add(contact::Column::DecisionDueAt.eq(last.decision_due_at))
                            .add(contact::Column::Id.gt(last.id)),
                    ),
            );
        }
    }
    let mut rows = query
        .order_by_asc(contact::Column::DecisionDueAt)
        .order_by_asc(contact::Column::Id)
        .limit(page.first + 1)
        .all(&core.db)
        .await?;
    let has_next_page = rows.len() as u64 > page.first;
    rows.truncate(page.first as usize);
    let rows = rows
        .into_iter()
        .map(|row| {
            let access = grant.contact_access(&row).ok_or(AppError::NotFound)?;
            Ok((row, access))
        })
        .collect::<AppResult<Vec<_>>>()?;
    let items = load_views(&core.db, &grant, rows).await?;
    let mut entry = grant
        .entry()
        .children(items.iter().map(|v| v.contact.child_id));
    entry = entry.purpose(if grant.is_mash_staff() {
        "safeguarding.triage"
    } else {
        "safeguarding.feedback"
    });
    for view in &items {
        entry = entry.reference("Contact", view.contact.id);
        for (d, _) in &view.disclosures {
            entry = entry.reference("Disclosure", d.id);
        }
    }
    audit::record_poll(core, ctx, entry, items.len()).await?;
    let disclosures = items.iter().flat_map(|v| read_in_full(&v.disclosures));
    events::disclosures_read(core, ctx, disclosures).await;
    Ok(Page {
        items,
        has_next_page,
        total_count,
    })
}
