//! The MASH workflow end to end: a school's contact without consent, an override, requests
//! to police and health, a C-coded disclosure and a refusal, the decision, the feedback.

use entity::{audit_event, contact, disclosure};
use frontdoor_testkit::{each_backend, error_code, error_field, TestServer};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{json, Value};

pub const SUBMIT: &str = "mutation($input: SubmitContactInput!) { submitContact(input: $input) { id status decisionDueAt sourceCode child { id } } }";

pub fn contact_input(narrative: &str) -> Value {
    json!({
        "child": { "firstName": "Ada", "lastName": "Testchild", "dateOfBirth": "2014-03-02", "gender": "FEMALE",
                   "nhsNumber": "943 476 5919", "upn": "B801200005001", "postcode": "WS1 1AA" },
        "concernCategories": ["2B", "21"],
        "narrative": narrative,
        "consent": { "position": "NOT_SOUGHT", "notSoughtReason": "Parent is the alleged source of harm" },
        "occurredAt": "2026-11-24T09:30:00Z"
    })
}

const SEND: &str = "mutation($input: SendInformationRequestInput!) { sendInformationRequest(input: $input) { id status dueAt priority } }";
const CONTACT_VIEW: &str = "query($id: ID!) { contact(id: $id) { id status outcome decidedAt decidedWithinTimescale rationale thresholdLevel recommendation
    child { id } linkedToExistingChild overrides { id } informationRequests { id status declineReason }
    disclosures { __typename ... on Disclosure { id content handlingCode handlingConditions suppliedByAgency } ... on DisclosureStub { heldByAgency } }
    childAsSubmitted { firstName nhsNumber } narrative } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_school_contact_goes_through_the_front_door() {
    each_backend(|server| async move {
        let school = server.login("school.referrer").await;
        let manager = server.login("mash.manager").await;
        let manager2 = server.login("mash.manager2").await;
        let worker = server.login("mash.social.worker").await;
        let police_officer = server.login("police.mash").await;
        let health_officer = server.login("health.mash").await;
        let police = server.agency_id("West Midlands Police").await;
        let health = server.agency_id("Walsall Healthcare NHS Trust").await;

        // 1. The school submits a contact without consent.
        let body = server.gql(Some(&school), SUBMIT, json!({ "input": contact_input("Ada disclosed bruising at home.") })).await;
        let submitted = &body["data"]["submitContact"];
        assert_eq!(submitted["status"], "AWAITING_CONSENT", "{body}");
        assert_eq!(submitted["sourceCode"], "2A");
        // Received Tuesday 24 November 2026: due at the end of Wednesday 25 November (GMT).
        assert_eq!(submitted["decisionDueAt"], "2026-11-25T23:59:59+00:00");
        assert!(submitted["child"].is_null(), "the school does not see the MASH's child record");
        let contact_id = submitted["id"].as_str().unwrap().to_string();

        // 2. A request without consent is refused.
        let request = |to: &str, priority: &str| {
            json!({ "input": { "contactId": contact_id, "toAgencyId": to, "questions": "What do you know about Ada and her household?", "priority": priority } })
        };
        let body = server.gql(Some(&worker), SEND, request(&police, "RED")).await;
        assert_eq!(error_code(&body), Some("CONSENT_REQUIRED"), "{body}");

        // 3. Override: self-approval refused, approved by a second manager.
        let body = server
            .gql(
                Some(&manager),
                "mutation($c: ID!) { requestConsentOverride(contactId: $c, reason: WOULD_PREJUDICE_PROTECTION, justification: \"Seeking consent would alert the alleged abuser.\") { id status } }",
                json!({ "c": contact_id }),
            )
            .await;
        let override_id = body["data"]["requestConsentOverride"]["id"].as_str().expect("override requested").to_string();
        let approve = "mutation($o: ID!) { approveConsentOverride(overrideId: $o) { status breakGlass reviewStatus } }";
        let body = server.gql(Some(&manager), approve, json!({ "o": override_id })).await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"), "self-approval: {body}");
        let body = server.gql(Some(&worker), approve, json!({ "o": override_id })).await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"), "a social worker cannot approve");
        let body = server.gql(Some(&manager2), approve, json!({ "o": override_id })).await;
        assert_eq!(body["data"]["approveConsentOverride"]["status"], "APPROVED", "{body}");
        assert_eq!(body["data"]["approveConsentOverride"]["breakGlass"], false);

        // 4. Requests to police and health.
        let body = server.gql(Some(&worker), SEND, request(&police, "RED")).await;
        let police_request = body["data"]["sendInformationRequest"]["id"].as_str().expect("sent").to_string();
        assert_eq!(body["data"]["sendInformationRequest"]["status"], "OPEN");
        let body = server.gql(Some(&worker), SEND, request(&health, "AMBER")).await;
        let health_request = body["data"]["sendInformationRequest"]["id"].as_str().expect("sent").to_string();

        // Each partner's inbox holds its own request, with the child's identity.
        let inbox = "{ informationRequests { totalCount edges { node { id questions child { firstName lastName nhsNumber } } } } }";
        let body = server.gql(Some(&police_officer), inbox, json!({})).await;
        assert_eq!(body["data"]["informationRequests"]["totalCount"], 1, "{body}");
        assert_eq!(body["data"]["informationRequests"]["edges"][0]["node"]["id"], police_request);
        assert_eq!(body["data"]["informationRequests"]["edges"][0]["node"]["child"]["nhsNumber"], "9434765919");
        let body = server.gql(Some(&health_officer), inbox, json!({})).await;
        assert_eq!(body["data"]["informationRequests"]["totalCount"], 1);
        assert_eq!(body["data"]["informationRequests"]["edges"][0]["node"]["id"], health_request);

        // 5. Police respond with a C-coded disclosure; health decline with a reason.
        let body = server
            .gql(
                Some(&police_officer),
                "mutation($r: ID!, $d: [DisclosureInput!]!) { respondToInformationRequest(requestId: $r, disclosures: $d) { status disclosures { ... on Disclosure { id handlingCode } } } }",
                json!({ "r": police_request, "d": [{
                    "content": "Two domestic abuse call-outs to the address in October 2026.",
                    "category": "domestic abuse", "lawfulBasis": "DPA_2018_PART_3_SCHEDULE_8_PARA_4",
                    "handlingCode": "C", "handlingConditions": "Not to be shared with the family without police agreement.",
                    "audienceRestrictions": ["NOT_FOR_FAMILY"]
                }] }),
            )
            .await;
        assert_eq!(body["data"]["respondToInformationRequest"]["status"], "RESPONDED", "{body}");
        let body = server
            .gql(
                Some(&health_officer),
                "mutation($r: ID!) { declineInformationRequest(requestId: $r, reason: \"No record of the child at this trust.\") { status declineReason } }",
                json!({ "r": health_request }),
            )
            .await;
        assert_eq!(body["data"]["declineInformationRequest"]["status"], "DECLINED", "{body}");
        // Health cannot answer police's request, nor see it.
        let body = server.gql(Some(&health_officer), "query($id: ID!) { informationRequest(id: $id) { id } }", json!({ "id": police_request })).await;
        assert_eq!(error_code(&body), Some("NOT_FOUND"));

        // 6. The manager sees the disclosure with its conditions, and the refusal's reason.
        let body = server.gql(Some(&manager), CONTACT_VIEW, json!({ "id": contact_id })).await;
        let view = &body["data"]["contact"];
        assert_eq!(view["status"], "INFORMATION_GATHERING", "{body}");
        assert_eq!(view["disclosures"].as_array().unwrap().len(), 1);
        assert_eq!(view["disclosures"][0]["handlingCode"], "C");
        assert_eq!(view["disclosures"][0]["suppliedByAgency"], "West Midlands Police");
        assert!(view["disclosures"][0]["handlingConditions"].as_str().unwrap().contains("police agreement"));
        let declined = view["informationRequests"].as_array().unwrap().iter().find(|r| r["status"] == "DECLINED").unwrap();
        assert_eq!(declined["declineReason"], "No record of the child at this trust.");
        assert!(view["child"]["id"].is_string());

        // 7. The decision, within timescale.
        let body = server
            .gql(
                Some(&manager),
                "mutation($c: ID!) { recordDecision(input: { contactId: $c, outcome: REFERRAL_FOR_ASSESSMENT, thresholdLevel: 4, rationale: \"Police information and the disclosure meet the threshold.\", occurredAt: \"2026-11-25T15:00:00Z\" }) { status outcome decidedWithinTimescale } }",
                json!({ "c": contact_id }),
            )
            .await;
        assert_eq!(body["data"]["recordDecision"]["decidedWithinTimescale"], true, "{body}");

        // 8. The school sees the outcome and nothing else.
        let body = server.gql(Some(&school), CONTACT_VIEW, json!({ "id": contact_id })).await;
        let view = &body["data"]["contact"];
        assert_eq!(view["status"], "DECIDED", "{body}");
        assert_eq!(view["outcome"], "REFERRAL_FOR_ASSESSMENT");
        assert_eq!(view["decidedAt"], "2026-11-25T15:00:00+00:00");
        for hidden in ["rationale", "thresholdLevel", "recommendation", "child", "linkedToExistingChild"] {
            assert!(view[hidden].is_null(), "the school must not see {hidden}: {view}");
        }
        for empty in ["overrides", "informationRequests", "disclosures"] {
            assert_eq!(view[empty], json!([]), "the school must not see {empty}");
        }
        assert_eq!(view["childAsSubmitted"]["firstName"], "Ada");
        let body = server.gql(Some(&school), "query($id: ID!) { informationRequest(id: $id) { id } }", json!({ "id": police_request })).await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"));

        // Every read of the police disclosure is on record.
        let police_disclosure = disclosure::Entity::find().one(server.db()).await.unwrap().unwrap();
        let reads = audit_event::Entity::find()
            .filter(audit_event::Column::Action.eq("contact.read"))
            .count(server.db())
            .await
            .unwrap();
        assert_eq!(reads, 2, "the manager's and the school's reads");
        assert_eq!(police_disclosure.handling_code.as_str(), "C");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicates_link_to_the_known_child_without_telling_the_submitter() {
    each_backend(|server| async move {
        let school = server.login("school.referrer").await;
        let police = server.login("police.referrer").await;
        let manager = server.login("mash.manager").await;
        let first = server
            .gql(
                Some(&school),
                SUBMIT,
                json!({ "input": contact_input("First concern.") }),
            )
            .await;
        let first_id = first["data"]["submitContact"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        // Same name and date of birth, no NHS number: the same child.
        let mut input = contact_input("Second concern from police.");
        input["child"].as_object_mut().unwrap().remove("nhsNumber");
        input["child"].as_object_mut().unwrap().remove("upn");
        input["child"]["firstName"] = json!("ADA");
        let second = server
            .gql(Some(&police), SUBMIT, json!({ "input": input }))
            .await;
        assert!(second["data"]["submitContact"]["child"].is_null());
        let second_id = second["data"]["submitContact"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let linked = "query($id: ID!) { contact(id: $id) { linkedToExistingChild child { id } } }";
        let a = server
            .gql(Some(&manager), linked, json!({ "id": first_id }))
            .await;
        let b = server
            .gql(Some(&manager), linked, json!({ "id": second_id }))
            .await;
        assert_eq!(a["data"]["contact"]["linkedToExistingChild"], false);
        assert_eq!(b["data"]["contact"]["linkedToExistingChild"], true);
        assert_eq!(
            a["data"]["contact"]["child"]["id"],
            b["data"]["contact"]["child"]["id"]
        );
        let child = server
            .gql(
                Some(&manager),
                "query($id: ID!) { child(id: $id) { contactIds details { nhsNumber } } }",
                json!({ "id": b["data"]["contact"]["child"]["id"] }),
            )
            .await;
        assert_eq!(
            child["data"]["child"]["contactIds"]
                .as_array()
                .unwrap()
                .len(),
            2,
            "{child}"
        );
        // The MASH record keeps the first submission's details; the second never overwrote it.
        assert_eq!(child["data"]["child"]["details"]["nhsNumber"], "9434765919");
        // The police referrer's view carries no hint.
        let own = server
            .gql(
                Some(&police),
                "query($id: ID!) { contact(id: $id) { linkedToExistingChild child { id } } }",
                json!({ "id": second_id }),
            )
            .await;
        assert!(
            own["data"]["contact"]["linkedToExistingChild"].is_null(),
            "{own}"
        );
        // ...and the school cannot read the police contact at all.
        let body = server
            .gql(
                Some(&school),
                "query($id: ID!) { contact(id: $id) { id } }",
                json!({ "id": second_id }),
            )
            .await;
        assert_eq!(error_code(&body), Some("NOT_FOUND"));
    })
    .await;
}

/// Sends the same submission `n` times at once; the contact id each answer carries.
async fn submit_concurrently(
    server: &TestServer,
    token: &str,
    input: &Value,
    n: usize,
) -> Vec<Option<String>> {
    let mut tasks = Vec::new();
    for _ in 0..n {
        let (http, url) = (server.http.clone(), server.url("/graphql"));
        let (token, input) = (token.to_string(), input.clone());
        tasks.push(tokio::spawn(async move {
            let body: Value = http
                .post(url)
                .bearer_auth(token)
                .json(&json!({ "query": SUBMIT, "variables": { "input": input } }))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            body["data"]["submitContact"]["id"]
                .as_str()
                .map(str::to_string)
        }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.unwrap());
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_with_an_idempotency_key_return_the_first_contact() {
    each_backend(|server| async move {
        let client = server
            .client_token("police-case-system", "police-demo-secret")
            .await;
        let mut input = contact_input("Concern raised by the force's case system.");
        input["idempotencyKey"] = json!("wmp-incident-2026-1234");
        let first = server
            .gql(Some(&client), SUBMIT, json!({ "input": input.clone() }))
            .await;
        let id = first["data"]["submitContact"]["id"]
            .as_str()
            .expect("submitted")
            .to_string();
        assert_eq!(first["data"]["submitContact"]["sourceCode"], "6");
        // Concurrent retries: one contact.
        for submitted in submit_concurrently(&server, &client, &input, 6).await {
            assert_eq!(submitted.as_deref(), Some(id.as_str()));
        }
        assert_eq!(contact::Entity::find().count(server.db()).await.unwrap(), 1);

        // Concurrent first attempts with a fresh key: still one contact.
        input["idempotencyKey"] = json!("wmp-incident-2026-5678");
        let mut ids: Vec<String> = submit_concurrently(&server, &client, &input, 6)
            .await
            .into_iter()
            .map(|id| id.expect("every concurrent first attempt answers with the contact"))
            .collect();
        ids.dedup();
        assert_eq!(ids.len(), 1, "{ids:?}");
        assert_eq!(contact::Entity::find().count(server.db()).await.unwrap(), 2);
        input["narrative"] = json!("A different payload under the same key.");
        let body = server
            .gql(Some(&client), SUBMIT, json!({ "input": input }))
            .await;
        assert_eq!(
            (error_code(&body), error_field(&body)),
            (Some("CONFLICT"), Some("idempotencyKey"))
        );
    })
    .await;
}

/// Changes one thing in a valid contact input.
type Mutator = Box<dyn Fn(&mut Value)>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_contact_input_names_the_field_and_writes_nothing() {
    each_backend(|server| async move {
        let school = server.login("school.referrer").await;
        let audit_before = audit_event::Entity::find().count(server.db()).await.unwrap();
        let cases: Vec<(&str, Mutator, &str)> = vec![
            ("invalid NHS number", Box::new(|v| v["child"]["nhsNumber"] = json!("9434765918")), "child.nhsNumber"),
            ("invalid UPN", Box::new(|v| v["child"]["upn"] = json!("A801200005001")), "child.upn"),
            ("empty narrative", Box::new(|v| v["narrative"] = json!("   ")), "narrative"),
            ("oversize narrative", Box::new(|v| v["narrative"] = json!("x".repeat(20_001))), "narrative"),
            ("future occurredAt", Box::new(|v| v["occurredAt"] = json!("2099-01-01T00:00:00Z")), "occurredAt"),
            ("consent given without who", Box::new(|v| v["consent"] = json!({ "position": "GIVEN", "relationship": "mother" })), "consent.givenBy"),
            ("consent given without relationship", Box::new(|v| v["consent"] = json!({ "position": "GIVEN", "givenBy": "A parent" })), "consent.relationship"),
            ("not sought without a reason", Box::new(|v| v["consent"] = json!({ "position": "NOT_SOUGHT" })), "consent.notSoughtReason"),
            ("empty first name", Box::new(|v| v["child"]["firstName"] = json!("")), "child.firstName"),
            ("future date of birth", Box::new(|v| v["child"]["dateOfBirth"] = json!("2099-01-01")), "child.dateOfBirth"),
            ("bad ethnicity", Box::new(|v| v["child"]["ethnicity"] = json!("XXXX")), "child.ethnicity"),
            ("no concern categories", Box::new(|v| v["concernCategories"] = json!([])), "concernCategories"),
            ("a police source code from a school", Box::new(|v| v["sourceCode"] = json!("6")), "sourceCode"),
            ("public-caller code from a school", Box::new(|v| v["sourceCode"] = json!("1A")), "sourceCode"),
            ("unknown consent agency", Box::new(|v| v["consent"] = json!({ "position": "GIVEN", "givenBy": "Parent", "relationship": "mother", "agencyIds": ["QWdlbmN5OjAxOTAwMDAwLTAwMDAtNzAwMC04MDAwLTAwMDAwMDAwMDAwMA"] })), "consent.agencyIds"),
            ("unknown gender", Box::new(|v| v["child"]["gender"] = json!("UNKNOWN")), "child.gender"),
        ];
        for (what, change, field) in cases {
            let mut input = contact_input("A concern.");
            change(&mut input);
            let body = server.gql(Some(&school), SUBMIT, json!({ "input": input })).await;
            assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{what}: {body}");
            assert_eq!(error_field(&body), Some(field), "{what}: {body}");
        }
        assert_eq!(contact::Entity::find().count(server.db()).await.unwrap(), 0, "nothing written");
        assert_eq!(audit_event::Entity::find().count(server.db()).await.unwrap(), audit_before, "no audit entry either");

        // Unknown and out-of-scope ids look the same, and only the refusal is recorded.
        let manager = server.login("mash.manager").await;
        let unknown = "Q29udGFjdDowMTkwMDAwMC0wMDAwLTcwMDAtODAwMC0wMDAwMDAwMDAwMDA";
        let a = server.gql(Some(&manager), "query($id: ID!) { contact(id: $id) { id } }", json!({ "id": unknown })).await;
        let created = server.gql(Some(&school), SUBMIT, json!({ "input": contact_input("Real.") })).await;
        let real = created["data"]["submitContact"]["id"].as_str().unwrap().to_string();
        let police = server.login("police.referrer").await;
        let b = server.gql(Some(&police), "query($id: ID!) { contact(id: $id) { id } }", json!({ "id": real })).await;
        assert_eq!(a["errors"][0]["message"], b["errors"][0]["message"]);
        assert_eq!(error_code(&a), Some("NOT_FOUND"));
        assert_eq!(error_code(&b), Some("NOT_FOUND"));
        let refused = audit_event::Entity::find()
            .filter(audit_event::Column::Action.eq("contact.read"))
            .filter(audit_event::Column::Outcome.eq("NOT_FOUND"))
            .count(server.db())
            .await
            .unwrap();
        assert_eq!(refused, 2);
        // An id inside an input that names nothing: BAD_USER_INPUT on that field.
        let worker = server.login("mash.social.worker").await;
        let body = server.gql(Some(&worker), SEND, json!({ "input": { "contactId": real, "toAgencyId": "bogus", "questions": "Q?", "priority": "GREEN" } })).await;
        assert_eq!((error_code(&body), error_field(&body)), (Some("BAD_USER_INPUT"), Some("toAgencyId")));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_childs_contacts_come_as_one_paged_connection() {
    each_backend(|server| async move {
        let school = server.login("school.referrer").await;
        let police = server.login("police.referrer").await;
        let manager = server.login("mash.manager").await;
        let mut submitted = Vec::new();
        for (token, narrative) in [(&school, "First concern."), (&police, "Second concern.")] {
            let body = server
                .gql(Some(token), SUBMIT, json!({ "input": contact_input(narrative) }))
                .await;
            submitted.push(body["data"]["submitContact"]["id"].as_str().unwrap().to_string());
        }
        // A contact about another child, which the connection must leave out.
        let mut other = contact_input("About someone else.");
        other["child"] = json!({ "firstName": "Quill", "lastName": "Otherchild", "dateOfBirth": "2012-02-02", "gender": "MALE" });
        let body = server
            .gql(Some(&school), SUBMIT, json!({ "input": other }))
            .await;
        assert!(body["errors"].is_null(), "{body}");
        let body = server
            .gql(
                Some(&manager),
                "query($id: ID!) { contact(id: $id) { child { id } } }",
                json!({ "id": submitted[0] }),
            )
            .await;
        let child_id = body["data"]["contact"]["child"]["id"].clone();
        let page = "query($id: ID!, $after: String) { child(id: $id) { contactIds contacts(first: 1, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { id narrative } } } } }";
        let first = server
            .gql(Some(&manager), page, json!({ "id": child_id }))
            .await;
        let contacts = &first["data"]["child"]["contacts"];
        assert_eq!(contacts["totalCount"], 2, "{first}");
        assert_eq!(contacts["pageInfo"]["hasNextPage"], true);
        let cursor = contacts["pageInfo"]["endCursor"].clone();
        let second = server
            .gql(Some(&manager), page, json!({ "id": child_id, "after": cursor }))
            .await;
        let rest = &second["data"]["child"]["contacts"];
        assert_eq!(rest["pageInfo"]["hasNextPage"], false, "{second}");
        let mut seen: Vec<String> = [contacts, rest]
            .iter()
            .flat_map(|c| c["edges"].as_array().unwrap().clone())
            .map(|e| {
                assert!(e["node"]["narrative"].as_str().unwrap().ends_with("concern."));
                e["node"]["id"].as_str().unwrap().to_string()
            })
            .collect();
        let mut expected: Vec<String> = first["data"]["child"]["contactIds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|id| id.as_str().unwrap().to_string())
            .collect();
        seen.sort();
        expected.sort();
        submitted.sort();
        assert_eq!(seen, expected);
        assert_eq!(seen, submitted);
        // Each page that named the child is on record.
        assert!(server.audit_count("contact.list", "SUCCESS").await >= 2);
        // A referrer cannot reach the child's record, so not its contacts either.
        let body = server
            .gql(Some(&school), page, json!({ "id": child_id }))
            .await;
        assert!(body["data"].is_null() || body["data"]["child"].is_null(), "{body}");
        assert!(error_code(&body).is_some(), "{body}");
    })
    .await;
}
