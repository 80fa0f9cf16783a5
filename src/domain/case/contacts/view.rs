//! What a caller sees of a contact, loaded in a fixed number of queries whatever the page size.
use super::*;
use crate::domain::policy::Grant;

/// Everything a caller may see of one contact, loaded and filtered by the policy.
pub struct ContactView {
    pub contact: contact::Model,
    pub access: ContactAccess,
    pub agency: agency::Model,
    /// The MASH's child record (MASH staff only).
    pub child: Option<child::Model>,
    pub consents: Vec<consent::Model>,
    pub overrides: Vec<consent_override::Model>,
    pub requests: Vec<information_request::Model>,
    pub disclosures: Vec<(disclosure::Model, DisclosureVisibility)>,
    /// Names of the agencies the disclosures name (supplier, onward recipient).
    pub agency_names: HashMap<Uuid, String>,
}

/// Names of the agencies that disclosures mention, for display (stubs name the holder).
pub async fn agency_names<C: ConnectionTrait>(
    conn: &C,
    disclosures: &[(disclosure::Model, DisclosureVisibility)],
) -> AppResult<HashMap<Uuid, String>> {
    let ids: Vec<Uuid> = disclosures
        .iter()
        .flat_map(|(d, _)| [Some(d.supplied_by_agency_id), d.to_agency_id])
        .flatten()
        .collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(agency::Entity::find()
        .filter(agency::Column::Id.is_in(ids))
        .all(conn)
        .await?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect())
}

impl ContactView {
    pub fn child_as_submitted(&self) -> ChildDetails {
        serde_json::from_str(&self.contact.child_as_submitted).unwrap_or_default()
    }
}

pub async fn load_view<C: ConnectionTrait>(
    conn: &C,
    grant: &Grant<'_>,
    contact: contact::Model,
    access: ContactAccess,
) -> AppResult<ContactView> {
    load_views(conn, grant, vec![(contact, access)])
        .await?
        .pop()
        .ok_or(AppError::NotFound)
}

/// Rows grouped by contact id.
pub(super) fn by_contact<T>(
    rows: Vec<T>,
    contact_of: impl Fn(&T) -> Uuid,
) -> HashMap<Uuid, Vec<T>> {
    let mut grouped: HashMap<Uuid, Vec<T>> = HashMap::new();
    for row in rows {
        grouped.entry(contact_of(&row)).or_default().push(row);
    }
    grouped
}

/// The views of several contacts in a fixed number of queries (a page of the queue costs
/// the same round trips as one contact). Only MASH-access rows load the MASH-only parts.
pub async fn load_views<C: ConnectionTrait>(
    conn: &C,
    grant: &Grant<'_>,
    rows: Vec<(contact::Model, ContactAccess)>,
) -> AppResult<Vec<ContactView>> {
    if rows.is_empty() {
        return Ok(vec![]);
    }
    let mash_rows = || rows.iter().filter(|(_, a)| *a == ContactAccess::Mash);
    let all_ids: Vec<Uuid> = rows.iter().map(|(c, _)| c.id).collect();
    let mash_ids: Vec<Uuid> = mash_rows().map(|(c, _)| c.id).collect();
    let child_ids: Vec<Uuid> = mash_rows().map(|(c, _)| c.child_id).collect();
    let mut consents = by_contact(
        consent::Entity::find()
            .filter(consent::Column::ContactId.is_in(all_ids))
            .order_by_asc(consent::Column::Id)
            .all(conn)
            .await?,
        |c| c.contact_id,
    );
    let (mut overrides, mut requests, mut disclosures, children) = if mash_ids.is_empty() {
        (
            HashMap::new(),
            HashMap::new(),
            HashMap::new(),
            HashMap::new(),
        )
    } else {
        let overrides = consent_override::Entity::find()
            .filter(consent_override::Column::ContactId.is_in(mash_ids.clone()))
            .order_by_asc(consent_override::Column::Id)
            .all(conn)
            .await?;
        let requests = information_request::Entity::find()
            .filter(information_request::Column::ContactId.is_in(mash_ids.clone()))
            .order_by_asc(information_request::Column::Id)
            .all(conn)
            .await?;
        let disclosures = disclosure::Entity::find()
            .filter(disclosure::Column::ContactId.is_in(mash_ids))
            .order_by_asc(disclosure::Column::Id)
            .all(conn)
            .await?
            .into_iter()
            .map(|d| {
                let visibility = grant.disclosure_visibility(&d);
                (d, visibility)
            })
            .filter(|(_, v)| *v != DisclosureVisibility::Hidden)
            .collect::<Vec<_>>();
        let children: HashMap<Uuid, child::Model> = child::Entity::find()
            .filter(child::Column::Id.is_in(child_ids))
            .all(conn)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        (
            by_contact(overrides, |o| o.contact_id),
            by_contact(requests, |r| r.contact_id),
            by_contact(disclosures, |(d, _)| d.contact_id),
            children,
        )
    };
    // Submitting agencies and the agencies that disclosures name, in one query.
    let mut agency_ids: Vec<Uuid> = rows.iter().map(|(c, _)| c.agency_id).collect();
    for (d, _) in disclosures.values().flatten() {
        agency_ids.push(d.supplied_by_agency_id);
        agency_ids.extend(d.to_agency_id);
    }
    let agencies: HashMap<Uuid, agency::Model> = agency::Entity::find()
        .filter(agency::Column::Id.is_in(agency_ids))
        .all(conn)
        .await?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    let mut views = Vec::with_capacity(rows.len());
    for (contact, access) in rows {
        let id = contact.id;
        let agency = agencies
            .get(&contact.agency_id)
            .cloned()
            .ok_or(AppError::NotFound)?;
        let child = children
            .get(&contact.child_id)
            .cloned()
            .filter(|_| access == ContactAccess::Mash);
        let disclosures = disclosures.remove(&id).unwrap_or_default();
        let agency_names = disclosures
            .iter()
            .flat_map(|(d, _)| [Some(d.supplied_by_agency_id), d.to_agency_id])
            .flatten()
            .filter_map(|a| agencies.get(&a).map(|m| (a, m.name.clone())))
            .collect();
        views.push(ContactView {
            contact,
            access,
            agency,
            child,
            consents: consents.remove(&id).unwrap_or_default(),
            overrides: overrides.remove(&id).unwrap_or_default(),
            requests: requests.remove(&id).unwrap_or_default(),
            disclosures,
            agency_names,
        });
    }
    Ok(views)
}

/// The audit entry of a response that returns this view.
pub(super) fn read_entry(grant: &Grant<'_>, view: &ContactView) -> AuditEntry {
    let purpose = if view.access == ContactAccess::Mash {
        "safeguarding.triage"
    } else {
        "safeguarding.feedback"
    };
    let mut entry = grant
        .entry()
        .entity("Contact", view.contact.id)
        .children([view.contact.child_id])
        .purpose(purpose);
    for (d, _) in &view.disclosures {
        entry = entry.reference("Disclosure", d.id);
    }
    entry
}
