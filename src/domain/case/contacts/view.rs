//! What a caller sees of a contact, loaded in a fixed number of queries whatever the page size.
use std::sync::LazyLock;

use sea_orm::DatabaseBackend;

use super::*;
use crate::domain::common::bundle;
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

/// The rows views are assembled from, before the policy filters them.
#[derive(Default)]
struct ViewParts {
    consents: Vec<consent::Model>,
    overrides: Vec<consent_override::Model>,
    requests: Vec<information_request::Model>,
    disclosures: Vec<disclosure::Model>,
    children: Vec<child::Model>,
    agencies: Vec<agency::Model>,
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
    let parts = load_parts(conn, &rows).await?;
    assemble(grant, rows, parts)
}

/// One query per table, each over the whole page.
async fn load_parts<C: ConnectionTrait>(
    conn: &C,
    rows: &[(contact::Model, ContactAccess)],
) -> AppResult<ViewParts> {
    let mash_rows = || rows.iter().filter(|(_, a)| *a == ContactAccess::Mash);
    let all_ids: Vec<Uuid> = rows.iter().map(|(c, _)| c.id).collect();
    let mash_ids: Vec<Uuid> = mash_rows().map(|(c, _)| c.id).collect();
    let child_ids: Vec<Uuid> = mash_rows().map(|(c, _)| c.child_id).collect();
    let mut parts = ViewParts {
        consents: consent::Entity::find()
            .filter(consent::Column::ContactId.is_in(all_ids))
            .all(conn)
            .await?,
        ..Default::default()
    };
    if !mash_ids.is_empty() {
        parts.overrides = consent_override::Entity::find()
            .filter(consent_override::Column::ContactId.is_in(mash_ids.clone()))
            .all(conn)
            .await?;
        parts.requests = information_request::Entity::find()
            .filter(information_request::Column::ContactId.is_in(mash_ids.clone()))
            .all(conn)
            .await?;
        parts.disclosures = disclosure::Entity::find()
            .filter(disclosure::Column::ContactId.is_in(mash_ids))
            .all(conn)
            .await?;
        parts.children = child::Entity::find()
            .filter(child::Column::Id.is_in(child_ids))
            .all(conn)
            .await?;
    }
    // Submitting agencies and the agencies that disclosures name, in one query.
    let mut agency_ids: Vec<Uuid> = rows.iter().map(|(c, _)| c.agency_id).collect();
    for d in &parts.disclosures {
        agency_ids.push(d.supplied_by_agency_id);
        agency_ids.extend(d.to_agency_id);
    }
    parts.agencies = agency::Entity::find()
        .filter(agency::Column::Id.is_in(agency_ids))
        .all(conn)
        .await?;
    Ok(parts)
}

/// The contact `id` as the grant's holder may see it, or None if there is no such contact or
/// it is out of their scope (the caller audits that as NOT_FOUND). One statement loads it.
pub async fn load_contact_view<C: ConnectionTrait>(
    conn: &C,
    grant: &Grant<'_>,
    id: Uuid,
) -> AppResult<Option<ContactView>> {
    let Some((contact, parts)) = load_contact_with_parts(conn, id).await? else {
        return Ok(None);
    };
    let Some(access) = grant.contact_access(&contact) else {
        return Ok(None);
    };
    Ok(assemble(grant, vec![(contact, access)], parts)?.pop())
}

/// The contact `id` and every row its view is made from, in ONE statement and one row (see
/// `common::bundle`): the contact with its child and submitting agency, its consents,
/// overrides, requests and disclosures, and the agencies the disclosures name. None if there
/// is no such contact. Nothing here is filtered: `assemble` applies the policy.
async fn load_contact_with_parts<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
) -> AppResult<Option<(contact::Model, ViewParts)>> {
    let sql = match conn.get_database_backend() {
        DatabaseBackend::Postgres => &*CONTACT_BUNDLE_POSTGRES,
        _ => &*CONTACT_BUNDLE_SQLITE,
    };
    let Some(row) = bundle::fetch_row(conn, sql, vec![id.into()]).await? else {
        return Ok(None);
    };
    let contact = bundle::decode(&row, "contact")?;
    let mut agencies: Vec<agency::Model> = bundle::decode(&row, "named_agencies")?;
    agencies.push(bundle::decode(&row, "agency")?);
    let parts = ViewParts {
        consents: bundle::decode(&row, "consents")?,
        overrides: bundle::decode(&row, "overrides")?,
        requests: bundle::decode(&row, "requests")?,
        disclosures: bundle::decode(&row, "disclosures")?,
        children: vec![bundle::decode(&row, "child")?],
        agencies,
    };
    Ok(Some((contact, parts)))
}

static CONTACT_BUNDLE_POSTGRES: LazyLock<String> =
    LazyLock::new(|| contact_bundle(DatabaseBackend::Postgres));
static CONTACT_BUNDLE_SQLITE: LazyLock<String> =
    LazyLock::new(|| contact_bundle(DatabaseBackend::Sqlite));

fn contact_bundle(backend: DatabaseBackend) -> String {
    use bundle::{row_json, rows_json};
    let of_contact = "WHERE contact_id = c.id";
    format!(
        "SELECT {contact} AS contact, {child} AS child, {agency} AS agency, \
           {consents} AS consents, {overrides} AS overrides, {requests} AS requests, \
           {disclosures} AS disclosures, {named} AS named_agencies \
         FROM contacts c JOIN children ch ON ch.id = c.child_id \
           JOIN agencies ag ON ag.id = c.agency_id \
         WHERE c.id = $1",
        contact = row_json::<contact::Entity>(backend, "c"),
        child = row_json::<child::Entity>(backend, "ch"),
        agency = row_json::<agency::Entity>(backend, "ag"),
        consents = rows_json::<consent::Entity>(backend, "co", of_contact),
        overrides = rows_json::<consent_override::Entity>(backend, "ov", of_contact),
        requests = rows_json::<information_request::Entity>(backend, "rq", of_contact),
        disclosures = rows_json::<disclosure::Entity>(backend, "di", of_contact),
        named = rows_json::<agency::Entity>(
            backend,
            "na",
            "WHERE EXISTS (SELECT 1 FROM disclosures nd WHERE nd.contact_id = c.id \
             AND (nd.supplied_by_agency_id = na.id OR nd.to_agency_id = na.id))",
        ),
    )
}

/// Views from their rows, filtered by the policy: MASH-only parts (the child, overrides,
/// requests, disclosures) only on MASH-access rows, and each disclosure as the caller may
/// see it. Every part in id order.
fn assemble(
    grant: &Grant<'_>,
    rows: Vec<(contact::Model, ContactAccess)>,
    mut parts: ViewParts,
) -> AppResult<Vec<ContactView>> {
    parts.consents.sort_by_key(|c| c.id);
    parts.overrides.sort_by_key(|o| o.id);
    parts.requests.sort_by_key(|r| r.id);
    parts.disclosures.sort_by_key(|d| d.id);
    let mut consents = by_contact(parts.consents, |c| c.contact_id);
    let mut overrides = by_contact(parts.overrides, |o| o.contact_id);
    let mut requests = by_contact(parts.requests, |r| r.contact_id);
    let disclosures = parts
        .disclosures
        .into_iter()
        .map(|d| {
            let visibility = grant.disclosure_visibility(&d);
            (d, visibility)
        })
        .filter(|(_, v)| *v != DisclosureVisibility::Hidden)
        .collect();
    let mut disclosures = by_contact(disclosures, |(d, _)| d.contact_id);
    let children: HashMap<Uuid, child::Model> =
        parts.children.into_iter().map(|c| (c.id, c)).collect();
    let agencies: HashMap<Uuid, agency::Model> =
        parts.agencies.into_iter().map(|a| (a.id, a)).collect();
    let mut views = Vec::with_capacity(rows.len());
    for (contact, access) in rows {
        let id = contact.id;
        let mash = access == ContactAccess::Mash;
        let agency = agencies
            .get(&contact.agency_id)
            .cloned()
            .ok_or(AppError::NotFound)?;
        let child = children.get(&contact.child_id).cloned().filter(|_| mash);
        let disclosures = disclosures.remove(&id).filter(|_| mash).unwrap_or_default();
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
            overrides: overrides.remove(&id).filter(|_| mash).unwrap_or_default(),
            requests: requests.remove(&id).filter(|_| mash).unwrap_or_default(),
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
