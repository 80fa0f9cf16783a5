//! `GET /fhir/AuditEvent`: the audit trail as FHIR R4 AuditEvents, scoped by the policy:
//! AUDITORs see every entry; a partner's desk sees entries naming what its agency
//! disclosed, and of those only its own disclosures. Every search is itself audited.
use frontdoor_testkit::{each_backend, TestServer};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{json, Value};

const SUBMIT: &str =
    "mutation($input: SubmitContactInput!) { submitContact(input: $input) { id } }";
const SEND: &str = "mutation($c: ID!, $a: ID!) { sendInformationRequest(input: { contactId: $c, toAgencyId: $a, questions: \"Known?\", priority: AMBER }) { id } }";
const RESPOND: &str = "mutation($r: ID!) { respondToInformationRequest(requestId: $r, disclosures: [{ content: \"Known to us (fictional).\", category: \"household\", lawfulBasis: UK_GDPR_6_1_E_PUBLIC_TASK, handlingCode: P }]) { disclosures { ... on Disclosure { id } } } }";

async fn get(server: &TestServer, token: Option<&str>, query: &str) -> (u16, Value) {
    let mut request = reqwest::Client::new().get(server.url(&format!("/fhir/AuditEvent{query}")));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let kind = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(kind, "application/fhir+json");
    (status, response.json().await.unwrap())
}

/// A contact with one police and one health disclosure, both read by a MASH worker;
/// returns the two disclosures' ids (police, health).
async fn disclosures_read_by_the_mash(server: &TestServer) -> (String, String) {
    let school = server.login("school.referrer").await;
    let worker = server.login("mash.social.worker").await;
    let input = json!({
        "child": { "firstName": "Fhira", "lastName": "Fixture", "dateOfBirth": "2013-06-06", "gender": "FEMALE" },
        "concernCategories": ["21"],
        "narrative": "A concern raised under test.",
        "consent": { "position": "GIVEN", "givenBy": "Jo Fixture", "relationship": "mother" },
    });
    let body = server
        .gql(Some(&school), SUBMIT, json!({ "input": input }))
        .await;
    let contact = body["data"]["submitContact"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut ids = Vec::new();
    for (agency, desk) in [
        ("West Midlands Police", "police.mash"),
        ("Walsall Healthcare NHS Trust", "health.mash"),
    ] {
        let to = server.agency_id(agency).await;
        let body = server
            .gql(Some(&worker), SEND, json!({ "c": contact, "a": to }))
            .await;
        let request = body["data"]["sendInformationRequest"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let desk = server.login(desk).await;
        let body = server
            .gql(Some(&desk), RESPOND, json!({ "r": request }))
            .await;
        ids.push(
            body["data"]["respondToInformationRequest"]["disclosures"][0]["id"]
                .as_str()
                .unwrap_or_else(|| panic!("{body}"))
                .to_string(),
        );
    }
    let body = server
        .gql(
            Some(&worker),
            "query($c: ID!) { contact(id: $c) { disclosures { ... on Disclosure { content } } } }",
            json!({ "c": contact }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    (ids.remove(0), ids.remove(0))
}

fn uuid_of(global: &str) -> String {
    frontdoor::graphql::ids::decode_any(&async_graphql::ID(global.into()))
        .unwrap()
        .1
        .to_string()
}

fn entities(bundle: &Value) -> Vec<(String, String)> {
    bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| {
            e["resource"]["entity"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .map(|e| {
            let what = &e["what"]["identifier"];
            (
                what["system"].as_str().unwrap().to_string(),
                what["value"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The R4 AuditEvent's required elements, and Bundle's.
fn assert_r4_shape(bundle: &Value) {
    assert_eq!(bundle["resourceType"], "Bundle");
    assert_eq!(bundle["type"], "searchset");
    assert!(bundle["total"].is_u64());
    for entry in bundle["entry"].as_array().unwrap() {
        let event = &entry["resource"];
        assert_eq!(event["resourceType"], "AuditEvent");
        assert!(event["type"]["code"].is_string(), "{event}");
        assert!(["C", "R", "U", "D", "E"].contains(&event["action"].as_str().unwrap()));
        assert!(chrono::DateTime::parse_from_rfc3339(event["recorded"].as_str().unwrap()).is_ok());
        assert!(["0", "4", "8", "12"].contains(&event["outcome"].as_str().unwrap()));
        let agents = event["agent"].as_array().unwrap();
        assert!(!agents.is_empty());
        assert!(agents.iter().all(|a| a["requestor"].is_boolean()));
        assert!(event["source"]["observer"].is_object());
    }
}

#[tokio::test]
async fn the_police_desk_sees_only_events_about_police_disclosures_and_an_auditor_sees_all() {
    each_backend(|server| async move {
        let (police, health) = disclosures_read_by_the_mash(&server).await;
        let (police, health) = (uuid_of(&police), uuid_of(&health));
        let desk = server.login("police.mash").await;
        let (status, bundle) = get(&server, Some(&desk), "").await;
        assert_eq!(status, 200, "{bundle}");
        assert_r4_shape(&bundle);
        let seen = entities(&bundle);
        assert!(!seen.is_empty());
        // Only police disclosures: never the child, the contact or the health disclosure.
        assert!(
            seen.iter()
                .all(|(system, id)| system == "urn:frontdoor:Disclosure" && id == &police),
            "{seen:?}"
        );
        // The MASH worker's read of the contact is there, with who read it.
        let read = bundle["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| &e["resource"])
            .find(|r| r["subtype"][0]["code"] == "contact.read")
            .unwrap_or_else(|| panic!("{bundle}"));
        assert_eq!(read["agent"][0]["who"]["display"], "mash.social.worker");
        assert_eq!(read["action"], "R");

        let auditor = server.login("auditor").await;
        let (status, all) = get(&server, Some(&auditor), "?_count=100").await;
        assert_eq!(status, 200);
        assert_r4_shape(&all);
        let seen = entities(&all);
        assert!(seen.iter().any(|(_, id)| id == &health));
        assert!(seen
            .iter()
            .any(|(system, _)| system == "urn:frontdoor:Child"));
        assert!(all["total"].as_u64() > bundle["total"].as_u64());

        // The health disclosure by entity: the police desk finds nothing, the auditor finds it.
        let by_entity = format!("?entity=Disclosure/{health}");
        let (_, none) = get(&server, Some(&desk), &by_entity).await;
        assert_eq!(none["total"], 0, "{none}");
        let (_, found) = get(&server, Some(&auditor), &by_entity).await;
        assert!(found["total"].as_u64().unwrap() >= 2, "{found}");

        // Each search is audited, under the searcher.
        let searches = entity::audit_event::Entity::find()
            .filter(entity::audit_event::Column::Action.eq("audit.event.search"))
            .filter(entity::audit_event::Column::ActorLabel.eq("police.mash"))
            .count(server.db())
            .await
            .unwrap();
        assert_eq!(searches, 2);
    })
    .await;
}

#[tokio::test]
async fn others_are_refused_and_bad_parameters_are_named() {
    each_backend(|server| async move {
        let (status, body) = get(&server, None, "").await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["resourceType"], "OperationOutcome");
        for user in ["mash.social.worker", "school.referrer", "mash.manager"] {
            let token = server.login(user).await;
            let (status, body) = get(&server, Some(&token), "").await;
            assert_eq!(status, 403, "{user}: {body}");
            assert_eq!(body["issue"][0]["code"], "forbidden");
        }
        let auditor = server.login("auditor").await;
        for (query, parameter) in [
            ("?date=yesterday", "date"),
            ("?entity=Spaceship/1", "entity"),
            ("?_count=1000", "_count"),
            ("?colour=blue", "colour"),
        ] {
            let (status, body) = get(&server, Some(&auditor), query).await;
            assert_eq!(status, 400, "{query}: {body}");
            assert_eq!(body["issue"][0]["expression"][0], parameter, "{body}");
        }
        // Dates bound the search: nothing is recorded tomorrow.
        let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1)).format("%Y-%m-%d");
        let (_, later) = get(&server, Some(&auditor), &format!("?date=ge{tomorrow}")).await;
        assert_eq!(later["total"], 0, "{later}");
        let (_, earlier) = get(
            &server,
            Some(&auditor),
            &format!("?date=lt{tomorrow}&_count=2"),
        )
        .await;
        assert!(earlier["total"].as_u64().unwrap() > 2);
        assert_eq!(earlier["entry"].as_array().unwrap().len(), 2);
        let next = earlier["link"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["relation"] == "next")
            .unwrap();
        let next = next["url"]
            .as_str()
            .unwrap()
            .trim_start_matches("/fhir/AuditEvent")
            .to_string();
        let (_, second) = get(&server, Some(&auditor), &next).await;
        assert_ne!(
            second["entry"][0]["resource"]["id"],
            earlier["entry"][0]["resource"]["id"]
        );
    })
    .await;
}
