//! Consent, break-glass, originator control, access logs and the statutory clock, through the API.

use frontdoor_testkit::{each_backend, error_code, error_field};
use serde_json::{json, Value};

const SUBMIT: &str = "mutation($input: SubmitContactInput!) { submitContact(input: $input) { id status decisionDueAt } }";
const SEND: &str = "mutation($input: SendInformationRequestInput!) { sendInformationRequest(input: $input) { id status } }";
const RESPOND: &str = "mutation($r: ID!, $d: [DisclosureInput!]!) { respondToInformationRequest(requestId: $r, disclosures: $d) { disclosures { ... on Disclosure { id } } } }";

fn input(consent: Value, immediate_risk: bool, occurred_at: &str) -> Value {
    json!({ "input": {
        "child": { "firstName": "Cal", "lastName": "Ruleschild", "dateOfBirth": "2012-01-09", "gender": "MALE" },
        "concernCategories": ["4B"], "narrative": "Cal was found alone late at night.",
        "immediateRisk": immediate_risk, "consent": consent, "occurredAt": occurred_at } })
}

fn id(body: &Value, field: &str) -> String {
    body["data"][field]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{field}: {body}"))
        .to_string()
}

fn request(contact: &str, to: &str) -> Value {
    json!({ "input": { "contactId": contact, "toAgencyId": to, "questions": "Anything known?", "priority": "AMBER" } })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consent_scoped_to_an_agency_and_withdrawn() {
    each_backend(|server| async move {
        let police = server.agency_id("West Midlands Police").await;
        let health = server.agency_id("Walsall Healthcare NHS Trust").await;
        let referrer = server.login("police.referrer").await;
        let worker = server.login("mash.social.worker").await;
        let consent = json!({ "position": "GIVEN", "givenBy": "Parent (fictional)", "relationship": "mother", "agencyIds": [health] });
        let body = server.gql(Some(&referrer), SUBMIT, input(consent, false, "2026-11-20T10:00:00Z")).await;
        assert_eq!(body["data"]["submitContact"]["status"], "INFORMATION_GATHERING", "{body}");
        let contact = id(&body, "submitContact");
        // Consent covers health only.
        assert_eq!(error_code(&server.gql(Some(&worker), SEND, request(&contact, &police)).await), Some("CONSENT_REQUIRED"));
        let sent = server.gql(Some(&worker), SEND, request(&contact, &health)).await;
        let health_request = id(&sent, "sendInformationRequest");
        // Withdrawn: the open request is withdrawn, the contact awaits consent again.
        let view = server.gql(Some(&worker), "query($c: ID!) { contact(id: $c) { consents { id } } }", json!({ "c": contact })).await;
        let consent_id = view["data"]["contact"]["consents"][0]["id"].as_str().unwrap().to_string();
        let body = server
            .gql(Some(&referrer), "mutation($k: ID!) { withdrawConsent(consentId: $k) { status consents { withdrawnAt } } }", json!({ "k": consent_id }))
            .await;
        assert_eq!(body["data"]["withdrawConsent"]["status"], "AWAITING_CONSENT", "{body}");
        assert!(body["data"]["withdrawConsent"]["consents"][0]["withdrawnAt"].is_string());
        let req = server.gql(Some(&worker), "query($r: ID!) { informationRequest(id: $r) { status } }", json!({ "r": health_request })).await;
        assert_eq!(req["data"]["informationRequest"]["status"], "WITHDRAWN");
        assert_eq!(error_code(&server.gql(Some(&worker), SEND, request(&contact, &health)).await), Some("CONSENT_REQUIRED"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn break_glass_is_reviewed_by_a_second_manager() {
    each_backend(|server| async move {
        let police = server.agency_id("West Midlands Police").await;
        let school = server.login("school.referrer").await;
        let manager = server.login("mash.manager").await;
        let manager2 = server.login("mash.manager2").await;
        let body = server.gql(Some(&school), SUBMIT, input(json!({ "position": "REFUSED" }), true, "2026-11-20T10:00:00Z")).await;
        let contact = id(&body, "submitContact");
        let body = server
            .gql(Some(&manager), "mutation($c: ID!) { requestConsentOverride(contactId: $c, reason: WOULD_PREJUDICE_PROTECTION, justification: \"Child at immediate risk tonight.\") { id } }", json!({ "c": contact }))
            .await;
        let override_id = id(&body, "requestConsentOverride");
        let body = server
            .gql(Some(&manager), "mutation($o: ID!) { approveConsentOverride(overrideId: $o) { status breakGlass reviewStatus } }", json!({ "o": override_id }))
            .await;
        assert_eq!(body["data"]["approveConsentOverride"], json!({ "status": "APPROVED", "breakGlass": true, "reviewStatus": "PENDING" }), "{body}");
        let queue = server.gql(Some(&manager2), "{ breakGlassReviewQueue { id } }", json!({})).await;
        assert_eq!(queue["data"]["breakGlassReviewQueue"][0]["id"], override_id.as_str());
        let sent = server.gql(Some(&manager), SEND, request(&contact, &police)).await;
        let request_id = id(&sent, "sendInformationRequest");
        // The approver cannot review their own break-glass.
        let review = "mutation($o: ID!, $u: Boolean!) { reviewBreakGlassOverride(overrideId: $o, uphold: $u) { reviewStatus } }";
        assert_eq!(error_code(&server.gql(Some(&manager), review, json!({ "o": override_id, "u": true })).await), Some("FORBIDDEN"));
        // A second manager refuses it: the request that relied on it is withdrawn.
        let body = server.gql(Some(&manager2), review, json!({ "o": override_id, "u": false })).await;
        assert_eq!(body["data"]["reviewBreakGlassOverride"]["reviewStatus"], "REFUSED", "{body}");
        let req = server.gql(Some(&manager), "query($r: ID!) { informationRequest(id: $r) { status } }", json!({ "r": request_id })).await;
        assert_eq!(req["data"]["informationRequest"]["status"], "WITHDRAWN");
        assert_eq!(error_code(&server.gql(Some(&manager), SEND, request(&contact, &police)).await), Some("CONSENT_REQUIRED"));
        let queue = server.gql(Some(&manager2), "{ breakGlassReviewQueue { id } }", json!({})).await;
        assert_eq!(queue["data"]["breakGlassReviewQueue"], json!([]));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handling_codes_govern_what_the_mash_sees_and_shares_onward_and_owners_see_who_looked() {
    each_backend(|server| async move {
        let police = server.agency_id("West Midlands Police").await;
        let school_agency = server.agency_id("Brookhollow Primary School, Walsall").await;
        let early_help = server.agency_id("Walsall Early Help Hub").await;
        let school = server.login("school.referrer").await;
        let manager = server.login("mash.manager").await;
        let officer = server.login("police.mash").await;
        let consent = json!({ "position": "GIVEN", "givenBy": "Parent (fictional)", "relationship": "father" });
        let contact = id(&server.gql(Some(&school), SUBMIT, input(consent, false, "2026-11-20T10:00:00Z")).await, "submitContact");
        let req = id(&server.gql(Some(&manager), SEND, request(&contact, &police)).await, "sendInformationRequest");
        let item = |content: &str, code: &str, extra: Value| {
            let mut d = json!({ "content": content, "category": "intelligence", "lawfulBasis": "DPA_2018_PART_3_SCHEDULE_8_PARA_4", "handlingCode": code });
            for (k, v) in extra.as_object().unwrap() {
                d[k] = v.clone();
            }
            d
        };
        let body = server
            .gql(
                Some(&officer),
                RESPOND,
                json!({ "r": req, "d": [
                    item("Shareable record.", "P", json!({ "audienceRestrictions": ["NOT_FOR_REFERRER"] })),
                    item("Conditional record.", "C", json!({ "handlingConditions": "Police to be told before any family contact." })),
                    item("Sensitive intelligence.", "LEGACY_4", json!({})),
                    item("Not for onward sharing.", "LEGACY_3", json!({})),
                ] }),
            )
            .await;
        let ids: Vec<String> = body["data"]["respondToInformationRequest"]["disclosures"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .map(|d| d["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(ids.len(), 4, "the supplier sees all four in full: {body}");
        let (p, c, four, three) = (&ids[0], &ids[1], &ids[2], &ids[3]);

        // The MASH sees the legacy-4 item only as a stub naming the police.
        let view = server
            .gql(Some(&manager), "query($c: ID!) { contact(id: $c) { disclosures { __typename ... on DisclosureStub { heldByAgency } ... on Disclosure { content } } } }", json!({ "c": contact }))
            .await;
        let items = view["data"]["contact"]["disclosures"].as_array().unwrap();
        let stubs: Vec<&Value> = items.iter().filter(|d| d["__typename"] == "DisclosureStub").collect();
        assert_eq!(stubs.len(), 1);
        assert_eq!(stubs[0]["heldByAgency"], "West Midlands Police");
        assert!(!view.to_string().contains("Sensitive intelligence"), "stub leaked content");

        let share = "mutation($d: ID!, $a: ID!, $ack: Boolean! = false, $auth: String) { shareDisclosureOnward(disclosureId: $d, toAgencyId: $a, acknowledgeConditions: $ack, authorisation: $auth) { id handlingConditions sharedOnwardTo } }";
        // P: yes, but not to the referrer's agency when marked not for the referrer.
        let body = server.gql(Some(&manager), share, json!({ "d": p, "a": school_agency })).await;
        assert_eq!((error_code(&body), error_field(&body)), (Some("BAD_USER_INPUT"), Some("toAgencyId")));
        let body = server.gql(Some(&manager), share, json!({ "d": p, "a": early_help })).await;
        let onward = id(&body, "shareDisclosureOnward");
        // C: only with the conditions acknowledged, and they travel.
        let body = server.gql(Some(&manager), share, json!({ "d": c, "a": early_help })).await;
        assert_eq!(error_field(&body), Some("acknowledgeConditions"));
        let body = server.gql(Some(&manager), share, json!({ "d": c, "a": early_help, "ack": true })).await;
        assert!(body["data"]["shareDisclosureOnward"]["handlingConditions"].as_str().unwrap().contains("Police to be told"));
        // Legacy 3 and 4: never onward.
        for d in [three, four] {
            let body = server.gql(Some(&manager), share, json!({ "d": d, "a": early_help })).await;
            assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
        }
        // The recipient's desk reads the onward share; another agency cannot.
        let read = "query($d: ID!) { disclosure(id: $d) { ... on Disclosure { content } } }";
        let eh = server.login("earlyhelp.mash").await;
        assert_eq!(server.gql(Some(&eh), read, json!({ "d": onward })).await["data"]["disclosure"]["content"], "Shareable record.");
        assert_eq!(error_code(&server.gql(Some(&server.login("health.mash").await), read, json!({ "d": onward })).await), Some("NOT_FOUND"));

        // The police see who read their P disclosure: the manager's contact read is there.
        let log = "query($d: ID!) { disclosureAccessLog(disclosureId: $d) { totalCount edges { node { action actorLabel } } } }";
        let body = server.gql(Some(&officer), log, json!({ "d": p })).await;
        let actions: Vec<(String, String)> = body["data"]["disclosureAccessLog"]["edges"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .map(|e| (e["node"]["action"].as_str().unwrap().to_string(), e["node"]["actorLabel"].as_str().unwrap().to_string()))
            .collect();
        assert!(actions.contains(&("contact.read".into(), "mash.manager".into())), "{actions:?}");
        assert!(actions.contains(&("disclosure.share_onward".into(), "mash.manager".into())), "{actions:?}");
        assert_eq!(error_code(&server.gql(Some(&server.login("health.mash").await), log, json!({ "d": p })).await), Some("NOT_FOUND"));
        assert_eq!(error_code(&server.gql(Some(&school), log, json!({ "d": p })).await), Some("FORBIDDEN"));
        assert!(server.gql(Some(&server.login("auditor").await), log, json!({ "d": p })).await["errors"].is_null());

        // A manager sees every response that returned the child's data.
        let child = server.gql(Some(&manager), "query($c: ID!) { contact(id: $c) { child { id } } }", json!({ "c": contact })).await;
        let child_id = child["data"]["contact"]["child"]["id"].as_str().unwrap().to_string();
        let log = "query($c: ID!) { childAccessLog(childId: $c, first: 100) { totalCount edges { node { action actorLabel } } } }";
        let body = server.gql(Some(&manager), log, json!({ "c": child_id })).await;
        let entries = body["data"]["childAccessLog"]["edges"].as_array().unwrap_or_else(|| panic!("{body}"));
        let who: Vec<&str> = entries.iter().map(|e| e["node"]["actorLabel"].as_str().unwrap()).collect();
        for actor in ["school.referrer", "mash.manager", "police.mash"] {
            assert!(who.contains(&actor), "{actor} missing from {who:?}");
        }
        assert_eq!(error_code(&server.gql(Some(&server.login("mash.social.worker").await), log, json!({ "c": child_id })).await), Some("FORBIDDEN"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decision_clocks_follow_the_calendar_an_admin_can_extend() {
    each_backend(|server| async move {
        let referrer = server.login("la.referrer").await;
        let consent = json!({ "position": "REFUSED" });
        let due = |body: Value| body["data"]["submitContact"]["decisionDueAt"].as_str().unwrap_or_else(|| panic!("{body}")).to_string();
        // Tuesday 24 December 2019 → Friday 27 December (GMT).
        assert_eq!(due(server.gql(Some(&referrer), SUBMIT, input(consent.clone(), false, "2019-12-24T16:00:00Z")).await), "2019-12-27T23:59:59+00:00");
        // Friday 3 April 2020 → Monday 6 April (BST: 22:59:59 UTC).
        assert_eq!(due(server.gql(Some(&referrer), SUBMIT, input(consent.clone(), false, "2020-04-03T09:00:00Z")).await), "2020-04-06T22:59:59+00:00");
        // An administrator adds a one-off holiday: later contacts skip it.
        let admin = server.login("admin").await;
        let add = "mutation { addBankHoliday(date: \"2030-06-03\", name: \"Example one-off bank holiday\") { date } }";
        assert_eq!(error_code(&server.gql(Some(&referrer), add, json!({})).await), Some("FORBIDDEN"));
        let added = server.gql(Some(&admin), add, json!({})).await;
        assert_eq!(added["data"]["addBankHoliday"]["date"], "2030-06-03", "{added}");
        let holidays = server.gql(Some(&referrer), "{ bankHolidays(year: 2020) { date } }", json!({})).await;
        assert!(holidays["data"]["bankHolidays"].as_array().unwrap().iter().any(|h| h["date"] == "2020-05-08"));
        let again = server.gql(Some(&admin), add, json!({})).await;
        assert_eq!((error_code(&again), error_field(&again)), (Some("CONFLICT"), Some("date")));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mash_queue_filters_by_status_overdue_and_source_and_sorts_by_due_time() {
    each_backend(|server| async move {
        let school = server.login("school.referrer").await;
        let police = server.login("police.referrer").await;
        let manager = server.login("mash.manager").await;
        let refused = json!({ "position": "REFUSED" });
        let now = chrono::Utc::now().to_rfc3339();
        let recent = id(&server.gql(Some(&school), SUBMIT, input(refused.clone(), false, &now)).await, "submitContact");
        let old = id(&server.gql(Some(&police), SUBMIT, input(refused.clone(), false, "2026-11-02T09:00:00Z")).await, "submitContact");
        let older = id(&server.gql(Some(&school), SUBMIT, input(refused, false, "2026-10-05T09:00:00Z")).await, "submitContact");
        let queue = "query($o: Boolean, $s: ContactStatus, $a: ID) { contacts(overdue: $o, status: $s, sourceAgencyId: $a) { totalCount edges { node { id overdue } } } }";
        let ids = |body: &Value| -> Vec<String> {
            body["data"]["contacts"]["edges"].as_array().unwrap_or_else(|| panic!("{body}")).iter().map(|e| e["node"]["id"].as_str().unwrap().to_string()).collect()
        };
        let all = server.gql(Some(&manager), queue, json!({})).await;
        assert_eq!(ids(&all), vec![older.clone(), old.clone(), recent.clone()], "sorted by due time");
        let overdue = server.gql(Some(&manager), queue, json!({ "o": true })).await;
        assert_eq!(ids(&overdue), vec![older.clone(), old.clone()]);
        assert_eq!(overdue["data"]["contacts"]["totalCount"], 2);
        let in_time = server.gql(Some(&manager), queue, json!({ "o": false })).await;
        assert_eq!(ids(&in_time), vec![recent.clone()]);
        let police_agency = server.agency_id("West Midlands Police").await;
        let from_police = server.gql(Some(&manager), queue, json!({ "a": police_agency })).await;
        assert_eq!(ids(&from_police), vec![old.clone()]);
        let awaiting = server.gql(Some(&manager), queue, json!({ "s": "AWAITING_CONSENT" })).await;
        assert_eq!(awaiting["data"]["contacts"]["totalCount"], 3);
        // Pages follow the same order.
        let first = server.gql(Some(&manager), "{ contacts(first: 2) { pageInfo { endCursor hasNextPage } edges { node { id } } } }", json!({})).await;
        let cursor = first["data"]["contacts"]["pageInfo"]["endCursor"].as_str().unwrap().to_string();
        assert_eq!(first["data"]["contacts"]["pageInfo"]["hasNextPage"], true);
        let next = server.gql(Some(&manager), "query($c: String) { contacts(first: 2, after: $c) { edges { node { id } } } }", json!({ "c": cursor })).await;
        assert_eq!(ids(&next), vec![recent]);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_keeps_the_time_it_was_shared_and_cannot_precede_the_request() {
    each_backend(|server| async move {
        let police = server.agency_id("West Midlands Police").await;
        let school = server.login("school.referrer").await;
        let manager = server.login("mash.manager").await;
        let officer = server.login("police.mash").await;
        let consent = json!({ "position": "GIVEN", "givenBy": "Parent (fictional)", "relationship": "mother" });
        let contact = id(&server.gql(Some(&school), SUBMIT, input(consent, false, "2019-10-01T09:00:00Z")).await, "submitContact");
        let mut send = request(&contact, &police);
        send["input"]["occurredAt"] = json!("2019-10-01T10:00:00Z");
        let req = id(&server.gql(Some(&manager), SEND, send).await, "sendInformationRequest");
        let item = |at: &str| json!([{ "content": "Known to police (fictional).", "category": "history",
            "lawfulBasis": "UK_GDPR_6_1_E_PUBLIC_TASK", "handlingCode": "P", "occurredAt": at }]);
        let body = server.gql(Some(&officer), RESPOND, json!({ "r": req, "d": item("2019-10-01T09:30:00Z") })).await;
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
        assert_eq!(error_field(&body), Some("disclosures[0].occurredAt"), "{body}");
        let body = server.gql(Some(&officer), RESPOND, json!({ "r": req, "d": item("2019-10-01T16:00:00Z") })).await;
        assert!(body["errors"].is_null(), "{body}");
        let body = server
            .gql(Some(&manager), "query($id: ID!) { informationRequest(id: $id) { status answeredAt } }", json!({ "id": req }))
            .await;
        assert_eq!(body["data"]["informationRequest"]["status"], "RESPONDED", "{body}");
        assert_eq!(body["data"]["informationRequest"]["answeredAt"], "2019-10-01T16:00:00+00:00", "{body}");
    })
    .await;
}
