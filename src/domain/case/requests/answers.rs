//! A partner's answer: disclosures, or its recorded decision not to share.
use super::*;
use crate::domain::audit::Action;
use crate::domain::policy::{self, Grant};

#[derive(Clone, Debug, Serialize)]
pub struct DisclosureInput {
    pub content: String,
    pub category: String,
    pub lawful_basis: String,
    pub special_category: bool,
    pub handling_code: String,
    pub handling_conditions: Option<String>,
    pub audience_restrictions: Vec<String>,
    pub occurred_at: Option<DateTime<Utc>>,
}

pub(super) struct ValidDisclosure {
    content: String,
    category: String,
    lawful_basis: LawfulBasis,
    special_category: bool,
    handling_code: HandlingCode,
    handling_conditions: Option<String>,
    audience_restrictions: String,
    occurred_at: DateTime<Utc>,
}

pub(super) fn validate_disclosure(i: usize, input: &DisclosureInput) -> AppResult<ValidDisclosure> {
    let f = |name: &str| format!("disclosures[{i}].{name}");
    let content = checks::required(&f("content"), &input.content, Kind::Prose)?;
    let category = checks::required_max(&f("category"), &input.category, Kind::Line, 100)?;
    let lawful_basis = LawfulBasis::parse(&input.lawful_basis).ok_or_else(|| {
        AppError::bad_input(
            &f("lawfulBasis"),
            format!("must be one of {}", LawfulBasis::codes(", ")),
        )
    })?;
    let handling_code = HandlingCode::parse(&input.handling_code).ok_or_else(|| {
        AppError::bad_input(&f("handlingCode"), "must be P, C or a legacy code 1–5")
    })?;
    let conditions = checks::optional(
        &f("handlingConditions"),
        input.handling_conditions.as_deref(),
        Kind::Note,
    )?;
    if handling_code == HandlingCode::C && conditions.is_none() {
        return Err(AppError::bad_input(
            &f("handlingConditions"),
            "handling code C needs its conditions",
        ));
    }
    checks::list(
        &f("audienceRestrictions"),
        &input.audience_restrictions,
        checks::MAX_CODES,
    )?;
    if let Some(bad) = input
        .audience_restrictions
        .iter()
        .find(|r| !AUDIENCE_RESTRICTIONS.contains(&r.as_str()))
    {
        return Err(AppError::bad_input(
            &f("audienceRestrictions"),
            format!("unknown restriction {bad:?}"),
        ));
    }
    Ok(ValidDisclosure {
        content,
        category,
        lawful_basis,
        special_category: input.special_category,
        handling_code,
        handling_conditions: conditions,
        audience_restrictions: input.audience_restrictions.join(","),
        occurred_at: event_time(&f("occurredAt"), input.occurred_at)?,
    })
}

/// A request to the caller's agency that it may answer, or an audited NOT_FOUND.
pub(super) async fn answerable_request(
    core: &Core,
    grant: &Grant<'_>,
    id: Uuid,
) -> AppResult<information_request::Model> {
    let found = information_request::Entity::find_by_id(id)
        .one(&core.db)
        .await?
        .filter(|r| grant.may_answer_request(r));
    grant
        .on_refusal(core, found.ok_or(AppError::NotFound))
        .await
}

/// A partner answers a request with one or more disclosures.
pub async fn respond(
    core: &Core,
    ctx: &RequestCtx,
    request_id: Uuid,
    disclosures: Vec<DisclosureInput>,
    idempotency_key: Option<String>,
) -> AppResult<RequestView> {
    const ACTION: Action = Action::RequestRespond;
    let grant = policy::allow(core, ctx, ACTION, CaseOperation::RespondToRequests).await?;
    let request = answerable_request(core, &grant, request_id).await?;
    if disclosures.is_empty() {
        return Err(AppError::bad_input(
            "disclosures",
            "give at least one disclosure, or decline the request",
        ));
    }
    checks::list("disclosures", &disclosures, checks::MAX_DISCLOSURES)?;
    let valid = disclosures
        .iter()
        .enumerate()
        .map(|(i, d)| validate_disclosure(i, d))
        .collect::<AppResult<Vec<_>>>()?;
    if let Some(i) = valid.iter().position(|d| d.occurred_at < request.sent_at) {
        return Err(AppError::bad_input(
            &format!("disclosures[{i}].occurredAt"),
            "cannot be before the request was sent",
        ));
    }
    // The answer happened when its disclosures were shared (historic answers keep their time).
    let answered_at = valid.iter().map(|d| d.occurred_at).max();
    let payload = json!({ "request": request_id, "disclosures": disclosures });
    let txn = begin_write(&core.db).await?;
    let result = async {
        // Lock order: the contact, then the request (as consent withdrawal does).
        locked_contact(&txn, request.contact_id).await?;
        let claim = match &idempotency_key {
            Some(key) => {
                match idempotency::check(
                    &txn,
                    core.config.idempotency_window,
                    &ctx.actor,
                    RESPOND_OPERATION,
                    key,
                    &payload,
                )
                .await?
                {
                    Outcome::Replay(_) => return Ok(Answered::Replay),
                    Outcome::Fresh(claim) => Some(claim),
                }
            }
            None => None,
        };
        let request = open_request(&txn, request.id).await?;
        let agency = ctx.actor.agency_id().ok_or(AppError::Forbidden)?;
        let mut entry = grant
            .entry()
            .entity("InformationRequest", request.id)
            .children([request.child_id])
            .purpose("safeguarding.information_gathering")
            .consent_ref(request.consent_ref.clone());
        let mut bases = Vec::new();
        for d in valid {
            bases.push(d.lawful_basis.as_str());
            let created = disclosure::ActiveModel {
                id: Set(Uuid::now_v7()),
                request_id: Set(Some(request.id)),
                contact_id: Set(request.contact_id),
                child_id: Set(request.child_id),
                supplied_by_agency_id: Set(agency),
                supplied_by: Set(ctx.actor.id.unwrap_or_default()),
                to_agency_id: Set(None),
                onward_from: Set(None),
                content: Set(d.content),
                category: Set(d.category),
                lawful_basis: Set(d.lawful_basis),
                special_category: Set(d.special_category),
                handling_code: Set(d.handling_code),
                handling_conditions: Set(d.handling_conditions),
                audience_restrictions: Set(d.audience_restrictions),
                consent_ref: Set(request.consent_ref.clone()),
                occurred_at: Set(d.occurred_at),
                recorded_at: Set(Utc::now()),
            }
            .insert(&txn)
            .await?;
            entry = entry.reference("Disclosure", created.id);
        }
        bases.dedup();
        entry = entry.lawful_basis(bases.join(","));
        let mut active: information_request::ActiveModel = request.clone().into();
        active.status = Set(RequestStatus::Responded);
        active.answered_by = Set(ctx.actor.id);
        active.answered_at = Set(answered_at);
        let updated = active.update(&txn).await?;
        if let Some(claim) = claim {
            if !idempotency::complete(&txn, &claim, request.id).await? {
                return Ok(Answered::LostKey(claim));
            }
        }
        audit::record(&txn, ctx, entry).await?;
        events::emit(
            core,
            &txn,
            Change::request(ChangeKind::RequestAnswered, &updated),
        )
        .await?;
        Ok(Answered::Done(updated))
    }
    .await;
    match result {
        Ok(Answered::Done(updated)) => {
            transition::settle(core, &grant, txn, Ok(())).await?;
            load_view(core, &grant, updated).await
        }
        Ok(Answered::Replay) => {
            txn.rollback().await?;
            get_request(core, ctx, request_id).await
        }
        Ok(Answered::LostKey(claim)) => {
            // A concurrent retry with the same key committed first.
            txn.rollback().await?;
            idempotency::winner(&core.db, &claim).await?;
            get_request(core, ctx, request_id).await
        }
        Err(err) => transition::settle(core, &grant, txn, Err(err)).await,
    }
}

pub(super) const RESPOND_OPERATION: &str = "respondToInformationRequest";

/// How an answer's transaction ended.
pub(super) enum Answered {
    Done(information_request::Model),
    /// A retry of an answer already given: return it.
    Replay,
    /// A concurrent call with the same key won: roll back and compare payloads.
    LostKey(idempotency::Claim),
}

/// The request, locked, if it is still open; otherwise CONFLICT — of two answers at once, the
/// second sees the first.
pub(super) async fn open_request(
    txn: &DatabaseTransaction,
    id: Uuid,
) -> AppResult<information_request::Model> {
    let request = transition::locked::<information_request::Entity>(txn, id).await?;
    if request.status != RequestStatus::Open {
        return Err(AppError::conflict(
            "requestId",
            format!("the request is {}", request.status.as_str().to_lowercase()),
        ));
    }
    Ok(request)
}

/// A partner declines to share, with the reason: a decision not to share is recorded too.
pub async fn decline(
    core: &Core,
    ctx: &RequestCtx,
    request_id: Uuid,
    reason: &str,
) -> AppResult<RequestView> {
    const ACTION: Action = Action::RequestDecline;
    let grant = policy::allow(core, ctx, ACTION, CaseOperation::RespondToRequests).await?;
    let request = answerable_request(core, &grant, request_id).await?;
    let reason = checks::required("reason", reason, Kind::Note)?;
    let txn = begin_write(&core.db).await?;
    let result = async {
        locked_contact(&txn, request.contact_id).await?;
        let request = open_request(&txn, request.id).await?;
        let mut active: information_request::ActiveModel = request.clone().into();
        active.status = Set(RequestStatus::Declined);
        active.decline_reason = Set(Some(reason));
        active.answered_by = Set(ctx.actor.id);
        active.answered_at = Set(Some(Utc::now()));
        let updated = active.update(&txn).await?;
        audit::record(
            &txn,
            ctx,
            grant
                .entry()
                .entity("InformationRequest", request.id)
                .children([request.child_id])
                .purpose("safeguarding.information_gathering")
                .consent_ref(request.consent_ref.clone()),
        )
        .await?;
        events::emit(
            core,
            &txn,
            Change::request(ChangeKind::RequestAnswered, &updated),
        )
        .await?;
        Ok(updated)
    }
    .await;
    let updated = transition::settle(core, &grant, txn, result).await?;
    load_view(core, &grant, updated).await
}
