//! What a submission must hold — consent, source code, categories — checked before anything is
//! stored.
use super::*;
use crate::domain::common::code_lists::CodeList;

#[derive(Clone, Debug, Serialize)]
pub struct ConsentInput {
    /// GIVEN, NOT_SOUGHT or REFUSED.
    pub position: String,
    pub given_by: Option<String>,
    pub relationship: Option<String>,
    pub obtained_at: Option<DateTime<Utc>>,
    pub purposes: Vec<String>,
    /// Agencies the consent covers; None = all. An inner None is an id that was not an agency's.
    pub agency_ids: Option<Vec<Option<Uuid>>>,
    pub not_sought_reason: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct NewContact {
    pub child: ChildDetails,
    pub source_code: Option<String>,
    pub referrer_name: Option<String>,
    pub concern_categories: Vec<String>,
    pub narrative: String,
    pub immediate_risk: bool,
    pub consent: ConsentInput,
    pub occurred_at: Option<DateTime<Utc>>,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

/// A checked consent, ready to store.
pub struct ValidConsent {
    pub given_by: String,
    pub relationship: String,
    pub obtained_at: DateTime<Utc>,
    pub purposes: String,
    pub agency_ids: String,
}

pub async fn validate_consent<C: ConnectionTrait>(
    conn: &C,
    prefix: &str,
    input: &ConsentInput,
) -> AppResult<Option<ValidConsent>> {
    let f = |name: &str| checks::path(prefix, name);
    match consent_position(prefix, input)? {
        ConsentPosition::Given => {
            let given_by = checks::required(
                &f("givenBy"),
                input.given_by.as_deref().unwrap_or(""),
                Kind::Name,
            )?;
            let relationship = checks::required_max(
                &f("relationship"),
                input.relationship.as_deref().unwrap_or(""),
                Kind::Line,
                100,
            )?;
            let obtained_at = event_time(&f("obtainedAt"), input.obtained_at)?;
            if let Some(ids) = &input.agency_ids {
                checks::list(&f("agencyIds"), ids, checks::MAX_CONSENT_AGENCIES)?;
            }
            checks::list(&f("purposes"), &input.purposes, checks::MAX_PURPOSES)?;
            for (i, purpose) in input.purposes.iter().enumerate() {
                checks::required_max(&format!("{}[{i}]", f("purposes")), purpose, Kind::Line, 100)?;
            }
            let mut ids = Vec::new();
            for id in input.agency_ids.iter().flatten() {
                let known = match id {
                    Some(id) => agency::Entity::find_by_id(*id).one(conn).await?.is_some(),
                    None => false,
                };
                if !known {
                    return Err(AppError::bad_input(&f("agencyIds"), "no such agency"));
                }
                ids.push(id.unwrap_or_default().to_string());
            }
            if input
                .purposes
                .iter()
                .any(|p| p.trim().is_empty() || p.len() > 100)
            {
                return Err(AppError::bad_input(
                    &f("purposes"),
                    "each purpose must be 1–100 characters",
                ));
            }
            Ok(Some(ValidConsent {
                given_by,
                relationship,
                obtained_at,
                purposes: input
                    .purposes
                    .iter()
                    .map(|p| p.trim())
                    .collect::<Vec<_>>()
                    .join(","),
                agency_ids: ids.join(","),
            }))
        }
        ConsentPosition::NotSought => {
            checks::required(
                &f("notSoughtReason"),
                input.not_sought_reason.as_deref().unwrap_or(""),
                Kind::Note,
            )?;
            Ok(None)
        }
        ConsentPosition::Refused => Ok(None),
    }
}

/// The consent position the caller gave, as stored.
pub fn consent_position(prefix: &str, input: &ConsentInput) -> AppResult<ConsentPosition> {
    ConsentPosition::parse(&input.position).ok_or_else(|| {
        AppError::bad_input(
            &checks::path(prefix, "position"),
            "must be GIVEN, NOT_SOUGHT or REFUSED",
        )
    })
}

pub async fn insert_consent<C: ConnectionTrait>(
    conn: &C,
    contact_id: Uuid,
    actor_id: Uuid,
    actor_agency: Uuid,
    consent: ValidConsent,
) -> AppResult<consent::Model> {
    Ok(consent::ActiveModel {
        id: Set(Uuid::now_v7()),
        contact_id: Set(contact_id),
        given_by_name: Set(consent.given_by),
        relationship: Set(consent.relationship),
        scope_purposes: Set(consent.purposes),
        scope_agency_ids: Set(consent.agency_ids),
        obtained_by: Set(actor_id),
        obtained_by_agency: Set(actor_agency),
        obtained_at: Set(consent.obtained_at),
        recorded_at: Set(Utc::now()),
        withdrawn_at: Set(None),
        withdrawn_by: Set(None),
    }
    .insert(conn)
    .await?)
}

pub(super) fn checked_source_code(
    grant: &Grant<'_>,
    agency: &agency::Model,
    requested: Option<&str>,
) -> AppResult<String> {
    let kind = agency.kind;
    match requested.map(str::trim).filter(|c| !c.is_empty()) {
        None => Ok(agency.source_code.clone()),
        Some(code) if kind.source_codes().contains(&code) => Ok(code.to_string()),
        Some(code) if grant.is_mash_staff() && PUBLIC_SOURCE_CODES.contains(&code) => {
            Ok(code.to_string())
        }
        Some(code) if !CodeList::ContactSource.contains(code) => {
            Err(CodeList::ContactSource.refusal("sourceCode", ""))
        }
        Some(_) => Err(CodeList::ContactSource.refusal(
            "sourceCode",
            &format!(
                "must be one of {} for this agency{}",
                kind.source_codes().join(", "),
                if grant.is_mash_staff() {
                    ", or 1A–1D, 9, 10 for a call from the public"
                } else {
                    ""
                }
            ),
        )),
    }
}

pub(super) fn checked_categories(categories: &[String]) -> AppResult<String> {
    checks::list("concernCategories", categories, checks::MAX_FACTORS)?;
    if categories.is_empty() {
        return Err(AppError::bad_input(
            "concernCategories",
            "at least one assessment-factor code is required",
        ));
    }
    let valid = |c: &str| {
        let digits: String = c.chars().take_while(|ch| ch.is_ascii_digit()).collect();
        let rest = &c[digits.len()..];
        !digits.is_empty()
            && digits.len() <= 2
            && rest.len() <= 1
            && rest.chars().all(|r| r.is_ascii_uppercase())
    };
    let mut codes: Vec<String> = categories.iter().map(|c| c.trim().to_uppercase()).collect();
    if let Some(bad) = codes.iter().find(|c| !valid(c)) {
        return Err(AppError::bad_input(
            "concernCategories",
            format!("{bad:?} is not an assessment-factor code (e.g. 2B, 21)"),
        ));
    }
    codes.sort();
    codes.dedup();
    Ok(codes.join(","))
}
