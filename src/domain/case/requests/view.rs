//! What a caller sees of a request, a page of them loaded in four queries whatever its size.
use super::*;
use crate::domain::policy::Grant;

/// A request with what the caller may see alongside it.
pub struct RequestView {
    pub request: information_request::Model,
    pub to_agency: agency::Model,
    /// The identity the MASH sends with the request (names, date of birth, identifiers, address).
    pub child: Option<child::Model>,
    pub disclosures: Vec<(disclosure::Model, DisclosureVisibility)>,
    pub agency_names: std::collections::HashMap<Uuid, String>,
}

pub(super) async fn load_view(
    core: &Core,
    grant: &Grant<'_>,
    request: information_request::Model,
) -> AppResult<RequestView> {
    load_views(core, grant, vec![request])
        .await?
        .pop()
        .ok_or(AppError::NotFound)
}

/// The views of a page of requests in four queries whatever its size: the agencies asked,
/// the children, the disclosures, and the agencies those name.
pub(super) async fn load_views(
    core: &Core,
    grant: &Grant<'_>,
    requests: Vec<information_request::Model>,
) -> AppResult<Vec<RequestView>> {
    if requests.is_empty() {
        return Ok(Vec::new());
    }
    let agency_ids: Vec<Uuid> = requests.iter().map(|r| r.to_agency_id).collect();
    let child_ids: Vec<Uuid> = requests.iter().map(|r| r.child_id).collect();
    let request_ids: Vec<Uuid> = requests.iter().map(|r| r.id).collect();
    let agencies: HashMap<Uuid, agency::Model> = agency::Entity::find()
        .filter(agency::Column::Id.is_in(agency_ids))
        .all(&core.db)
        .await?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    let children: HashMap<Uuid, child::Model> = child::Entity::find()
        .filter(child::Column::Id.is_in(child_ids))
        .all(&core.db)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let visible: Vec<(disclosure::Model, DisclosureVisibility)> = disclosure::Entity::find()
        .filter(disclosure::Column::RequestId.is_in(request_ids))
        .order_by_asc(disclosure::Column::Id)
        .all(&core.db)
        .await?
        .into_iter()
        .map(|d| {
            let v = grant.disclosure_visibility(&d);
            (d, v)
        })
        .filter(|(_, v)| *v != DisclosureVisibility::Hidden)
        .collect();
    let agency_names = contacts::agency_names(&core.db, &visible).await?;
    let mut by_request: HashMap<Uuid, Vec<(disclosure::Model, DisclosureVisibility)>> =
        HashMap::new();
    for (d, v) in visible {
        if let Some(request_id) = d.request_id {
            by_request.entry(request_id).or_default().push((d, v));
        }
    }
    let mut views = Vec::with_capacity(requests.len());
    for request in requests {
        // Several requests of a page may share an agency or a child.
        let to_agency = agencies
            .get(&request.to_agency_id)
            .cloned()
            .ok_or(AppError::NotFound)?;
        let child = children.get(&request.child_id).cloned();
        let disclosures = by_request.remove(&request.id).unwrap_or_default();
        views.push(RequestView {
            request,
            to_agency,
            child,
            disclosures,
            agency_names: agency_names.clone(),
        });
    }
    Ok(views)
}

pub(super) fn read_entry(grant: &Grant<'_>, views: &[RequestView]) -> AuditEntry {
    let mut entry = grant
        .entry()
        .purpose("safeguarding.information_gathering")
        .children(views.iter().map(|v| v.request.child_id));
    for view in views {
        entry = entry.reference("InformationRequest", view.request.id);
        for (d, _) in &view.disclosures {
            entry = entry.reference("Disclosure", d.id);
        }
    }
    entry
}
