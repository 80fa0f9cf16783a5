//! `GET /fhir/AuditEvent`: the audit trail as FHIR R4 `AuditEvent` resources in a
//! `searchset` Bundle, for health partners' systems, shaped after the IHE Basic Audit Log
//! Patterns where they fit. Who sees what is the domain's (`trail::search_events`); this
//! module only reads the search parameters and writes FHIR JSON. The mapping, field by
//! field, is in the README ("FHIR AuditEvent").
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde_json::{json, Value};

use super::graphql::bearer;
use super::{request_id, AppState};
use crate::domain::audit::trail::{self, EventFilter, EventWithRefs};
use crate::domain::common::page::{Cursor, PageRequest};
use crate::domain::{Actor, RequestCtx};
use crate::error::AppError;

const FHIR_JSON: &str = "application/fhir+json";
/// Entries one page holds at most (`_count`).
const MAX_COUNT: i32 = 100;
/// Code systems of our own: the action names and purposes of docs/design.md.
const ACTION_SYSTEM: &str = "urn:frontdoor:audit-action";
const PURPOSE_SYSTEM: &str = "urn:frontdoor:purpose";
const PRINCIPAL_SYSTEM: &str = "urn:frontdoor:principal";
const AGENCY_SYSTEM: &str = "urn:frontdoor:agency";

fn fhir(status: StatusCode, body: Value) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
    response
}

/// An `OperationOutcome` for a refused search; `expression` names the parameter at fault.
fn outcome(status: StatusCode, code: &str, text: &str, expression: Option<&str>) -> Response {
    let mut issue = json!({ "severity": "error", "code": code, "diagnostics": text });
    if let Some(expression) = expression {
        issue["expression"] = json!([expression]);
    }
    let mut response = fhir(
        status,
        json!({ "resourceType": "OperationOutcome", "issue": [issue] }),
    );
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer error=\"invalid_token\""),
        );
    }
    response
}

fn refused(err: &AppError) -> Response {
    match err {
        AppError::Unauthenticated(_) => {
            outcome(StatusCode::UNAUTHORIZED, "login", &err.message(), None)
        }
        AppError::Forbidden => outcome(StatusCode::FORBIDDEN, "forbidden", &err.message(), None),
        AppError::BadUserInput { field, message } => {
            outcome(StatusCode::BAD_REQUEST, "invalid", message, Some(field))
        }
        _ => outcome(
            StatusCode::INTERNAL_SERVER_ERROR,
            "exception",
            &err.message(),
            None,
        ),
    }
}

/// One `date` value: a prefix (`ge`, `gt`, `le`, `lt`, `eq` or none) and a date or instant.
fn date_bound(value: &str, filter: &mut EventFilter) -> Result<(), AppError> {
    let bad = || {
        AppError::bad_input(
            "date",
            "use ge, gt, le, lt or eq followed by a date (2026-12-01) or an instant (2026-12-01T09:00:00Z)",
        )
    };
    let (prefix, rest) = match value.get(..2) {
        Some(p @ ("ge" | "gt" | "le" | "lt" | "eq")) => (p, &value[2..]),
        _ => ("eq", value),
    };
    // A date covers its whole day (UTC); an instant is that moment.
    let (start, end) = match NaiveDate::parse_from_str(rest, "%Y-%m-%d") {
        Ok(day) => {
            let start = day.and_hms_opt(0, 0, 0).ok_or_else(bad)?.and_utc();
            (start, start + chrono::Duration::days(1))
        }
        Err(_) => {
            let at = DateTime::parse_from_rfc3339(rest)
                .map_err(|_| bad())?
                .with_timezone(&Utc);
            (at, at + chrono::Duration::microseconds(1))
        }
    };
    let later = |a: Option<DateTime<Utc>>, b| Some(a.map_or(b, |a: DateTime<Utc>| a.max(b)));
    let earlier = |a: Option<DateTime<Utc>>, b| Some(a.map_or(b, |a: DateTime<Utc>| a.min(b)));
    match prefix {
        "ge" => filter.from = later(filter.from, start),
        "gt" => filter.from = later(filter.from, end),
        "le" => filter.until = earlier(filter.until, end),
        "lt" => filter.until = earlier(filter.until, start),
        _ => {
            filter.from = later(filter.from, start);
            filter.until = earlier(filter.until, end);
        }
    }
    Ok(())
}

/// `entity`: `Kind/id` (e.g. `Disclosure/0190…`) or a bare id of a disclosure.
fn entity_reference(value: &str) -> Result<(&'static str, String), AppError> {
    const KINDS: [&str; 6] = [
        "Disclosure",
        "Child",
        "Contact",
        "InformationRequest",
        "Referral",
        "MissingEpisode",
    ];
    let (kind, id) = value.split_once('/').unwrap_or(("Disclosure", value));
    let kind = KINDS.iter().find(|k| **k == kind).ok_or_else(|| {
        AppError::bad_input(
            "entity",
            format!("the kind must be one of {}", KINDS.join(", ")),
        )
    })?;
    let id =
        uuid::Uuid::parse_str(id).map_err(|_| AppError::bad_input("entity", "not a record id"))?;
    Ok((kind, id.to_string()))
}

/// The search, from the query string (repeated `date` allowed).
fn search(
    params: &[(String, String)],
) -> Result<(EventFilter, Option<i32>, Option<String>), AppError> {
    let mut filter = EventFilter::default();
    let (mut count, mut after) = (None, None);
    for (name, value) in params {
        match name.as_str() {
            "date" => date_bound(value, &mut filter)?,
            "entity" => filter.reference = Some(entity_reference(value)?),
            "agent" => filter.actor = Some(value.clone()),
            "subtype" => filter.action = Some(value.clone()),
            "_count" => {
                let n = value
                    .parse::<i32>()
                    .ok()
                    .filter(|n| (1..=MAX_COUNT).contains(n))
                    .ok_or_else(|| AppError::bad_input("_count", format!("1 to {MAX_COUNT}")))?;
                count = Some(n);
            }
            "_cursor" => after = Some(value.clone()),
            "_format" => {}
            other => return Err(AppError::bad_input(
                other,
                "not a supported search parameter (date, entity, agent, subtype, _count, _cursor)",
            )),
        }
    }
    Ok((filter, count, after))
}

pub async fn search_audit_events(
    State(state): State<AppState>,
    Query(params): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    let actor = match bearer(&headers) {
        Ok(Some(token)) => match state.principals.authenticate(&state.core, token).await {
            Ok(actor) => actor,
            Err(err) => return refused(&err),
        },
        Ok(None) => Actor::anonymous(),
        Err(()) => {
            return outcome(
                StatusCode::UNAUTHORIZED,
                "login",
                "the Authorization header must be `Bearer <token>`",
                None,
            )
        }
    };
    let ctx = RequestCtx {
        actor,
        request_id: request_id(&headers),
    };
    let (filter, count, after) = match search(&params) {
        Ok(parsed) => parsed,
        Err(err) => return refused(&err),
    };
    let core = &state.core;
    let page = match PageRequest::parse(count, after.as_deref(), core.config.max_page_size) {
        Ok(page) => page,
        Err(err) => return refused(&err),
    };
    let found = match trail::search_events(core, &ctx, filter, page).await {
        Ok(found) => found,
        Err(err) => return refused(&err),
    };
    let base = "/fhir/AuditEvent";
    let mut links = vec![json!({ "relation": "self", "url": self_url(base, &params) })];
    if found.has_next_page {
        if let Some(last) = found.items.last() {
            let mut next: Vec<(String, String)> = params
                .iter()
                .filter(|(n, _)| n != "_cursor")
                .cloned()
                .collect();
            next.push(("_cursor".into(), Cursor::Seq(last.event.id).encode()));
            links.push(json!({ "relation": "next", "url": self_url(base, &next) }));
        }
    }
    let entries: Vec<Value> = found
        .items
        .iter()
        .map(|entry| {
            json!({
                "fullUrl": format!("{base}/{}", entry.event.id),
                "resource": audit_event(entry),
                "search": { "mode": "match" },
            })
        })
        .collect();
    fhir(
        StatusCode::OK,
        json!({
            "resourceType": "Bundle",
            "type": "searchset",
            "total": found.total_count,
            "link": links,
            "entry": entries,
        }),
    )
}

fn self_url(base: &str, params: &[(String, String)]) -> String {
    if params.is_empty() {
        return base.to_string();
    }
    let query: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    format!("{base}?{query}")
}

/// C(reate), R(ead), U(pdate), D(elete) or E(xecute), from the action's last word.
fn fhir_action(action: &str) -> &'static str {
    let verb = action.rsplit('.').next().unwrap_or(action);
    match verb {
        "read" | "list" | "access_log" | "search" | "review_queue" | "identifiers" | "overlaps"
        | "performance" | "export" => "R",
        "create" | "submit" | "send" | "report" | "record" | "request" | "start" | "respond"
        | "share_onward" => "C",
        "update" | "decide" | "approve" | "refuse" | "review" | "withdraw" | "decline"
        | "recommend" | "set_immediate_risk" | "link" | "return" | "interview" => "U",
        "deactivate" => "D",
        _ => "E",
    }
}

/// One audit entry as an R4 `AuditEvent`.
pub fn audit_event(entry: &EventWithRefs) -> Value {
    let e = &entry.event;
    let success = e.outcome == "SUCCESS";
    let mut agents = vec![{
        let mut who = json!({ "display": e.actor_label });
        if let Some(id) = &e.actor_id {
            who["identifier"] = json!({ "system": PRINCIPAL_SYSTEM, "value": id });
        }
        let role = match e.actor_kind.as_str() {
            "USER" => "humanuser",
            _ => "dataprocessor",
        };
        json!({
            "type": { "coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/extra-security-role-type",
                "code": role,
            }] },
            "who": who,
            "requestor": true,
        })
    }];
    if let Some(agency) = &e.actor_agency_id {
        agents.push(json!({
            "type": { "text": "the principal's agency" },
            "who": { "identifier": { "system": AGENCY_SYSTEM, "value": agency } },
            "requestor": false,
        }));
    }
    let entities: Vec<Value> = entry
        .refs
        .iter()
        .map(|(kind, id)| {
            let person = kind == "Child";
            let mut entity = json!({
                "what": { "identifier": { "system": format!("urn:frontdoor:{kind}"), "value": id } },
                "type": {
                    "system": "http://terminology.hl7.org/CodeSystem/audit-entity-type",
                    "code": if person { "1" } else { "2" },
                    "display": if person { "Person" } else { "System Object" },
                },
            });
            if person {
                entity["role"] = json!({
                    "system": "http://terminology.hl7.org/CodeSystem/object-role",
                    "code": "1",
                    "display": "Patient",
                });
            }
            entity
        })
        .collect();
    let mut event = json!({
        "resourceType": "AuditEvent",
        "id": e.id.to_string(),
        "type": {
            "system": "http://terminology.hl7.org/CodeSystem/audit-event-type",
            "code": "rest",
            "display": "RESTful Operation",
        },
        "subtype": [{ "system": ACTION_SYSTEM, "code": e.action }],
        "action": fhir_action(&e.action),
        "recorded": e.at.to_rfc3339_opts(SecondsFormat::Micros, true),
        "outcome": if success { "0" } else { "4" },
        "agent": agents,
        "source": {
            "site": "frontdoor",
            "observer": { "display": "frontdoor" },
            "type": [{
                "system": "http://terminology.hl7.org/CodeSystem/security-source-type",
                "code": "4",
                "display": "Application Server",
            }],
        },
    });
    if !success {
        event["outcomeDesc"] = json!(e.outcome);
    }
    if let Some(purpose) = &e.purpose {
        event["purposeOfEvent"] =
            json!([{ "coding": [{ "system": PURPOSE_SYSTEM, "code": purpose }] }]);
    }
    if !entities.is_empty() {
        event["entity"] = json!(entities);
    }
    event
}
