//! Input that cannot be right: control characters in any text, invisible characters in
//! names, times before 1900, and lists and text over their caps are BAD_USER_INPUT naming
//! the field, write nothing, and never reach PostgreSQL to come back INTERNAL.

use entity::{agency, audit_event, contact, disclosure, missing_episode, user};
use frontdoor_testkit::{each_backend, error_code, error_field, TestServer};
use serde_json::{json, Value};

const SUBMIT: &str = "mutation($input: SubmitContactInput!) { submitContact(input: $input) { id childAsSubmitted { firstName lastName } narrative } }";
const SEND: &str = "mutation($input: SendInformationRequestInput!) { sendInformationRequest(input: $input) { id } }";
const RESPOND: &str = "mutation($r: ID!, $d: [DisclosureInput!]!) { respondToInformationRequest(requestId: $r, disclosures: $d) { disclosures { ... on Disclosure { id } } } }";
const SHARE: &str = "mutation($d: ID!, $a: ID!, $auth: String) { shareDisclosureOnward(disclosureId: $d, toAgencyId: $a, authorisation: $auth) { id } }";
const BATCH: &str = "mutation($e: [MissingEpisodeInput!]!) { reportMissingEpisodes(episodes: $e) { index episode { id } error { code field } } }";
const CREATE_USER: &str = "mutation($input: CreateUserInput!) { createUser(input: $input) { id } }";
const CREATE_AGENCY: &str =
    "mutation($input: CreateAgencyInput!) { createAgency(input: $input) { id } }";

fn contact_input() -> Value {
    json!({
        "child": { "firstName": "Ida", "lastName": "Inputchild", "dateOfBirth": "2013-05-04", "gender": "FEMALE" },
        "concernCategories": ["2B"],
        "narrative": "Ida said she is afraid to go home (fictional).",
        "consent": { "position": "GIVEN", "givenBy": "Parent (fictional)", "relationship": "mother" },
        "occurredAt": "2026-11-20T10:00:00Z"
    })
}

fn episode(last_name: &str, missing: &str) -> Value {
    json!({
        "child": { "firstName": "Em", "lastName": last_name, "dateOfBirth": "2011-02-03", "gender": "FEMALE" },
        "reportedMissingAt": missing, "riskGrade": "LOW"
    })
}

fn disclosure_item(content: &str, code: &str) -> Value {
    json!({ "content": content, "category": "intelligence", "lawfulBasis": "DPA_2018_PART_3_SCHEDULE_8_PARA_4", "handlingCode": code })
}

fn ok(body: &Value, field: &str) -> Value {
    assert!(body["errors"].is_null(), "{field}: {body}");
    body["data"][field].clone()
}

fn id_of(body: &Value, field: &str) -> String {
    ok(body, field)["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{field}: {body}"))
        .to_string()
}

/// Asserts BAD_USER_INPUT naming `field` and no data.
fn refused(what: &str, body: &Value, field: &str) {
    assert_eq!(error_code(body), Some("BAD_USER_INPUT"), "{what}: {body}");
    assert_eq!(error_field(body), Some(field), "{what}: {body}");
    assert!(body["data"].is_null(), "{what}: {body}");
}

/// What a refusal must leave as it was.
async fn counts(server: &TestServer) -> [u64; 6] {
    [
        server.count(contact::Entity).await,
        server.count(disclosure::Entity).await,
        server.count(missing_episode::Entity).await,
        server.count(user::Entity).await,
        server.count(agency::Entity).await,
        server.count(audit_event::Entity).await,
    ]
}

/// A contact, a request to the police and their legacy-2 disclosure, ready to share onward.
struct Case {
    contact: String,
    request: String,
    disclosure: String,
}

async fn a_case(server: &TestServer) -> Case {
    let school = server.login("school.referrer").await;
    let manager = server.login("mash.manager").await;
    let officer = server.login("police.mash").await;
    let police = server.agency_id("West Midlands Police").await;
    let contact = id_of(
        &server
            .gql(Some(&school), SUBMIT, json!({ "input": contact_input() }))
            .await,
        "submitContact",
    );
    let send = json!({ "input": { "contactId": contact, "toAgencyId": police, "questions": "Anything known?", "priority": "AMBER" } });
    let request = id_of(
        &server.gql(Some(&manager), SEND, send).await,
        "sendInformationRequest",
    );
    let body = server
        .gql(
            Some(&officer),
            RESPOND,
            json!({ "r": request, "d": [disclosure_item("A record.", "LEGACY_2")] }),
        )
        .await;
    let disclosure = ok(&body, "respondToInformationRequest")["disclosures"][0]["id"]
        .as_str()
        .expect("disclosed")
        .to_string();
    // A second request stays open for the refused answers below.
    let send = json!({ "input": { "contactId": contact, "toAgencyId": police, "questions": "Anything more?", "priority": "AMBER" } });
    let request = id_of(
        &server.gql(Some(&manager), SEND, send).await,
        "sendInformationRequest",
    );
    Case {
        contact,
        request,
        disclosure,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_and_control_characters_are_refused_naming_the_field_and_write_nothing() {
    each_backend(|server| async move {
        let case = a_case(&server).await;
        let school = server.login("school.referrer").await;
        let manager = server.login("mash.manager").await;
        let officer = server.login("police.mash").await;
        let admin = server.login("admin").await;
        let early_help = server.agency_id("Walsall Early Help Hub").await;
        let police = server.agency_id("West Midlands Police").await;
        let before = counts(&server).await;

        let with = |change: &dyn Fn(&mut Value)| {
            let mut input = contact_input();
            change(&mut input);
            json!({ "input": input })
        };
        let decline_inline = format!("mutation {{ declineInformationRequest(requestId: \"{}\", reason: \"No\\u0000\") {{ id }} }}", case.request);
        let cases: Vec<(&str, &str, &str, Value, &str)> = vec![
            ("NUL in a child's name", &school, SUBMIT, with(&|v| v["child"]["firstName"] = json!("Ida\u{0}")), "child.firstName"),
            ("NUL in a contact's narrative", &school, SUBMIT, with(&|v| v["narrative"] = json!("Afraid\u{0} to go home.")), "narrative"),
            ("DEL in a contact's narrative", &school, SUBMIT, with(&|v| v["narrative"] = json!("Afraid\u{7f}")), "narrative"),
            ("C1 control in a contact's narrative", &school, SUBMIT, with(&|v| v["narrative"] = json!("Afraid\u{85}")), "narrative"),
            ("terminal escape in who gave consent", &school, SUBMIT, with(&|v| v["consent"]["givenBy"] = json!("\u{1b}[2JParent")), "consent.givenBy"),
            ("NUL in disclosure content", &officer, RESPOND, json!({ "r": case.request, "d": [disclosure_item("Fine.", "P"), disclosure_item("A\u{0}B", "P")] }), "disclosures[1].content"),
            ("NUL in an onward-share authorisation", &manager, SHARE, json!({ "d": case.disclosure, "a": early_help, "auth": "Authorised by DI Smith\u{0}" }), "authorisation"),
            ("NUL in a missing-episode batch item", &officer, BATCH, json!({ "e": [episode("Fine", "2026-09-01T08:00:00Z"), episode("Bad\u{0}", "2026-09-01T08:00:00Z")] }), "episodes[1].child.lastName"),
            ("NUL in a user's display name", &admin, CREATE_USER, json!({ "input": { "agencyId": police, "username": "new.user", "displayName": "New\u{0}User", "roles": ["REFERRER"], "password": "long-enough-password" } }), "displayName"),
            ("NUL in an agency's name", &admin, CREATE_AGENCY, json!({ "input": { "name": "Rogue\u{0} Police", "kind": "POLICE" } }), "name"),
            ("NUL in an agency's name, inline", &admin, "mutation { createAgency(input: { name: \"Rogue\\u0000 Police\", kind: POLICE }) { id } }", json!({}), "name"),
            ("NUL in a decline reason, inline", &officer, &decline_inline, json!({}), "reason"),
            ("NUL in a search term", &manager, "query($n: String) { searchChildren(lastName: $n) { id } }", json!({ "n": "Input\u{0}child" }), "lastName"),
        ];
        for (what, token, query, variables, field) in cases {
            let (status, body) = server.post(Some(token), query, variables).await;
            refused(what, &body, field);
            assert_ne!(status, 500, "{what}");
        }
        assert_eq!(counts(&server).await, before, "refused input wrote nothing, not even an audit entry");

        // Tab and line breaks stay valid in prose, and the answer goes through.
        let prose = "First line.\r\n\tSecond line, indented.\nThird: ‏שלום — مرحبا.";
        let body = server.gql(Some(&school), SUBMIT, with(&|v| v["narrative"] = json!(prose))).await;
        assert_eq!(ok(&body, "submitContact")["narrative"], prose);
        let _ = case.contact;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_refuse_direction_overrides_and_zero_width_characters_but_keep_zwnj() {
    each_backend(|server| async move {
        let school = server.login("school.referrer").await;
        let admin = server.login("admin").await;
        let police = server.agency_id("West Midlands Police").await;
        let before = counts(&server).await;
        let child = |first: &str, last: &str| {
            let mut input = contact_input();
            input["child"]["firstName"] = json!(first);
            input["child"]["lastName"] = json!(last);
            json!({ "input": input })
        };
        let cases: Vec<(&str, &str, &str, Value, &str)> = vec![
            ("right-to-left override in a first name", &school, SUBMIT, child("Ida\u{202e}lanigiro", "Inputchild"), "child.firstName"),
            ("left-to-right isolate in a last name", &school, SUBMIT, child("Ida", "\u{2066}Inputchild"), "child.lastName"),
            ("zero-width space in a last name", &school, SUBMIT, child("Ida", "Input\u{200b}child"), "child.lastName"),
            ("zero-width joiner in a first name", &school, SUBMIT, child("I\u{200d}da", "Inputchild"), "child.firstName"),
            ("byte-order mark in a first name", &school, SUBMIT, child("\u{feff}Ida", "Inputchild"), "child.firstName"),
            ("line break in a first name", &school, SUBMIT, child("Ida\nSmith", "Inputchild"), "child.firstName"),
            ("tab in a last name", &school, SUBMIT, child("Ida", "Input\tchild"), "child.lastName"),
            ("override in a display name", &admin, CREATE_USER, json!({ "input": { "agencyId": police, "username": "new.user", "displayName": "Eve\u{202e}nimda", "roles": ["REFERRER"], "password": "long-enough-password" } }), "displayName"),
            ("zero-width space in an agency name", &admin, CREATE_AGENCY, json!({ "input": { "name": "West Midlands\u{200b} Police", "kind": "POLICE" } }), "name"),
        ];
        for (what, token, query, variables, field) in cases {
            let body = server.gql(Some(token), query, variables).await;
            refused(what, &body, field);
        }
        assert_eq!(counts(&server).await, before, "refused names wrote nothing");

        // ZWNJ is part of Persian spelling: a name that needs it is accepted as given.
        let name = "مهر\u{200c}آسا";
        let body = server.gql(Some(&school), SUBMIT, child(name, "Inputchild")).await;
        assert_eq!(ok(&body, "submitContact")["childAsSubmitted"]["firstName"], name);
        assert_eq!(server.count(contact::Entity).await, before[0] + 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn times_before_1900_or_before_what_they_follow_are_refused() {
    each_backend(|server| async move {
        let case = a_case(&server).await;
        let school = server.login("school.referrer").await;
        let manager = server.login("mash.manager").await;
        let officer = server.login("police.mash").await;
        let admin = server.login("admin").await;
        let police = server.agency_id("West Midlands Police").await;
        let before = counts(&server).await;

        let mut old_contact = contact_input();
        old_contact["occurredAt"] = json!("1850-06-01T09:00:00Z");
        let mut old_consent = contact_input();
        old_consent["consent"]["obtainedAt"] = json!("1850-06-01T09:00:00Z");
        let cases: Vec<(&str, &str, &str, Value, &str)> = vec![
            ("a contact received in 1850", &school, SUBMIT, json!({ "input": old_contact }), "occurredAt"),
            ("consent obtained in 1850", &school, SUBMIT, json!({ "input": old_consent }), "consent.obtainedAt"),
            ("a request sent before its contact", &manager, SEND, json!({ "input": { "contactId": case.contact, "toAgencyId": police, "questions": "Q?", "priority": "AMBER", "occurredAt": "2026-11-19T10:00:00Z" } }), "occurredAt"),
            ("a disclosure shared in 1850", &officer, RESPOND, json!({ "r": case.request, "d": [{ "content": "Old.", "category": "intelligence", "lawfulBasis": "DPA_2018_PART_3_SCHEDULE_8_PARA_4", "handlingCode": "P", "occurredAt": "1850-01-01T00:00:00Z" }] }), "disclosures[0].occurredAt"),
            ("a bank holiday in 1850", &admin, "mutation { addBankHoliday(date: \"1850-01-01\", name: \"Old\") { date } }", json!({}), "date"),
            ("an Annex A period from 1850", &manager, "{ annexA(list: 1, from: \"1850-01-01\", to: \"2026-01-01\") { list } }", json!({}), "from"),
        ];
        for (what, token, query, variables, field) in cases {
            let body = server.gql(Some(token), query, variables).await;
            refused(what, &body, field);
        }
        // A batch item reported missing in 1850 fails on its own.
        let body = server.gql(Some(&officer), BATCH, json!({ "e": [episode("Old", "1850-03-01T08:00:00Z")] })).await;
        assert_eq!(
            ok(&body, "reportMissingEpisodes")[0]["error"],
            json!({ "code": "BAD_USER_INPUT", "field": "episodes[0].reportedMissingAt" })
        );
        assert_eq!(counts(&server).await, before, "refused times wrote nothing");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_and_text_over_their_caps_are_refused_naming_the_field() {
    each_backend(|server| async move {
        let case = a_case(&server).await;
        let school = server.login("school.referrer").await;
        let manager = server.login("mash.manager").await;
        let officer = server.login("police.mash").await;
        let admin = server.login("admin").await;
        let police = server.agency_id("West Midlands Police").await;
        let early_help = server.agency_id("Walsall Early Help Hub").await;

        // A referral, for a strategy discussion.
        let mut referred = contact_input();
        referred["child"]["lastName"] = json!("Referredchild");
        let referred = id_of(&server.gql(Some(&school), SUBMIT, json!({ "input": referred })).await, "submitContact");
        let decide = "mutation($c: ID!) { recordDecision(input: { contactId: $c, outcome: REFERRAL_FOR_ASSESSMENT, thresholdLevel: 4, rationale: \"Significant harm suspected.\", occurredAt: \"2026-11-20T12:00:00Z\" }) { id } }";
        ok(&server.gql(Some(&manager), decide, json!({ "c": referred })).await, "recordDecision");
        let body = server.gql(Some(&manager), "query($c: ID!) { referrals(contactId: $c) { edges { node { id } } } }", json!({ "c": referred })).await;
        let referral = ok(&body, "referrals")["edges"][0]["node"]["id"].as_str().expect("referral").to_string();
        let before = counts(&server).await;

        let with = |change: &dyn Fn(&mut Value)| {
            let mut input = contact_input();
            change(&mut input);
            json!({ "input": input })
        };
        let fifty_one_disclosures: Vec<Value> = (0..51).map(|i| disclosure_item(&format!("Record {i}."), "P")).collect();
        let cases: Vec<(&str, &str, &str, Value, &str)> = vec![
            // Lists.
            ("51 disclosures in one response", &officer, RESPOND, json!({ "r": case.request, "d": fifty_one_disclosures }), "disclosures"),
            ("51 agencies present", &manager, "mutation($r: ID!, $a: [ID!]!) { recordStrategyDiscussion(input: { referralId: $r, agenciesPresent: $a, section47Started: false }) { id } }", json!({ "r": referral, "a": vec![police.clone(); 51] }), "agenciesPresent"),
            ("51 assessment factors", &school, SUBMIT, with(&|v| v["concernCategories"] = json!(vec!["2B"; 51])), "concernCategories"),
            ("21 consent purposes", &school, SUBMIT, with(&|v| v["consent"]["purposes"] = json!(vec!["safeguarding"; 21])), "consent.purposes"),
            ("101 consent agencies", &school, SUBMIT, with(&|v| v["consent"]["agencyIds"] = json!(vec![police.clone(); 101])), "consent.agencyIds"),
            ("11 roles", &admin, CREATE_USER, json!({ "input": { "agencyId": police, "username": "new.user", "displayName": "New User", "roles": vec!["REFERRER"; 11], "password": "long-enough-password" } }), "roles"),
            // Text.
            ("a 101-character first name", &school, SUBMIT, with(&|v| v["child"]["firstName"] = json!("a".repeat(101))), "child.firstName"),
            ("a 20,001-character narrative", &school, SUBMIT, with(&|v| v["narrative"] = json!("x".repeat(20_001))), "narrative"),
            ("a 101-character disclosure category", &officer, RESPOND, json!({ "r": case.request, "d": [{ "content": "A record.", "category": "c".repeat(101), "lawfulBasis": "DPA_2018_PART_3_SCHEDULE_8_PARA_4", "handlingCode": "P" }] }), "disclosures[0].category"),
            ("a 20,001-character disclosure", &officer, RESPOND, json!({ "r": case.request, "d": [disclosure_item(&"x".repeat(20_001), "P")] }), "disclosures[0].content"),
            ("a 2,001-character onward-share authorisation", &manager, SHARE, json!({ "d": case.disclosure, "a": early_help, "auth": "a".repeat(2_001) }), "authorisation"),
            ("a 2,001-character decline reason", &officer, "mutation($r: ID!, $why: String!) { declineInformationRequest(requestId: $r, reason: $why) { id } }", json!({ "r": case.request, "why": "r".repeat(2_001) }), "reason"),
            ("a 101-character display name", &admin, CREATE_USER, json!({ "input": { "agencyId": police, "username": "new.user", "displayName": "d".repeat(101), "roles": ["REFERRER"], "password": "long-enough-password" } }), "displayName"),
            ("a 201-character agency name", &admin, CREATE_AGENCY, json!({ "input": { "name": "n".repeat(201), "kind": "POLICE" } }), "name"),
        ];
        for (what, token, query, variables, field) in cases {
            let body = server.gql(Some(token), query, variables).await;
            refused(what, &body, field);
        }
        assert_eq!(counts(&server).await, before, "over-cap input wrote nothing");

        // At the caps, the same input goes through.
        let body = server.gql(Some(&school), SUBMIT, with(&|v| v["child"]["firstName"] = json!("a".repeat(100)))).await;
        ok(&body, "submitContact");
        let fifty: Vec<Value> = (0..50).map(|i| disclosure_item(&format!("Record {i}."), "P")).collect();
        let body = server.gql(Some(&officer), RESPOND, json!({ "r": case.request, "d": fifty })).await;
        assert_eq!(ok(&body, "respondToInformationRequest")["disclosures"].as_array().unwrap().len(), 50);
    })
    .await;
}

/// Parsed documents are remembered by their text, but only the parse is skipped: the same
/// document sent again with refused input is refused again, each time, whatever came
/// between, and with good input it is answered with that input.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_sent_again_is_checked_again() {
    each_backend(|server| async move {
        let school = server.login("school.referrer").await;
        let bad = || {
            let mut input = contact_input();
            input["narrative"] = json!("Afraid\u{0}");
            json!({ "input": input })
        };
        for attempt in 0..3 {
            let body = server.gql(Some(&school), SUBMIT, bad()).await;
            refused(&format!("NUL, attempt {attempt}"), &body, "narrative");
        }
        let body = server
            .gql(Some(&school), SUBMIT, json!({ "input": contact_input() }))
            .await;
        assert_eq!(
            ok(&body, "submitContact")["narrative"],
            json!("Ida said she is afraid to go home (fictional).")
        );
        let body = server.gql(Some(&school), SUBMIT, bad()).await;
        refused("NUL after an answered request", &body, "narrative");
        // A document whose fields the schema does not have is refused on every sending too.
        for _ in 0..2 {
            let body = server
                .gql(Some(&school), "{ me { name noSuchField } }", json!({}))
                .await;
            assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
        }
    })
    .await;
}

/// The national lists come from the server, and a code outside its list is refused with
/// the field and the list named, writing nothing.
#[tokio::test]
async fn code_lists_come_from_the_server_and_codes_outside_them_are_refused() {
    each_backend(|server| async move {
        for list in ["CONTACT_SOURCE", "ETHNICITY", "RISK_GRADE", "RETURN_INTERVIEW_OUTCOME"] {
            let body = server
                .gql(None, "query($l: CodeList!) { codeList(list: $l) { code label } }", serde_json::json!({ "l": list }))
                .await;
            let codes = body["data"]["codeList"].as_array().unwrap_or_else(|| panic!("{body}"));
            assert!(!codes.is_empty(), "{list}");
            let mut seen = std::collections::HashSet::new();
            for code in codes {
                assert!(seen.insert(code["code"].as_str().unwrap().to_string()), "{list}: {code}");
                assert!(!code["label"].as_str().unwrap().is_empty());
            }
        }
        let body = server.gql(None, "{ codeList(list: ETHNICITY) { code label } }", serde_json::json!({})).await;
        let ethnicity = body["data"]["codeList"].as_array().unwrap();
        assert_eq!(ethnicity.len(), 20);
        assert_eq!(ethnicity[0], serde_json::json!({ "code": "WBRI", "label": "White British" }));

        let school = server.login("school.referrer").await;
        let manager = server.login("mash.manager").await;
        let count = || async {
            server.gql(Some(&manager), "{ contacts { totalCount } }", serde_json::json!({})).await["data"]["contacts"]["totalCount"].clone()
        };
        let before = count().await;
        let submit = "mutation($input: SubmitContactInput!) { submitContact(input: $input) { id } }";
        let contact = |child: serde_json::Value, source: Option<&str>| {
            let mut input = serde_json::json!({
                "child": child,
                "concernCategories": ["21"],
                "narrative": "A concern raised under test.",
                "consent": { "position": "NOT_SOUGHT", "notSoughtReason": "Immediate risk" },
            });
            if let Some(source) = source {
                input["sourceCode"] = serde_json::json!(source);
            }
            serde_json::json!({ "input": input })
        };
        let child = |ethnicity: &str, gender: &str| {
            serde_json::json!({ "firstName": "Cody", "lastName": "Listfixture", "dateOfBirth": "2015-02-02", "gender": gender, "ethnicity": ethnicity })
        };
        for (variables, field, list) in [
            (contact(child("ZZZZ", "MALE"), None), "child.ethnicity", "ETHNICITY"),
            (contact(child("WBRI", "MALE"), Some("99")), "sourceCode", "CONTACT_SOURCE"),
            // On the list, but not a code a school's contact can have.
            (contact(child("WBRI", "MALE"), Some("6")), "sourceCode", "CONTACT_SOURCE"),
        ] {
            let body = server.gql(Some(&school), submit, variables).await;
            let error = &body["errors"][0];
            assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{body}");
            assert_eq!(error["extensions"]["field"], field, "{body}");
            let message = error["message"].as_str().unwrap();
            assert!(message.contains(&format!("codeList(list: {list})")), "{message}");
        }
        assert_eq!(count().await, before, "a refused contact writes nothing");
        let body = server.gql(Some(&school), submit, contact(child("BAFR", "FEMALE"), Some("2A"))).await;
        assert!(body["errors"].is_null(), "codes on their lists are taken: {body}");

        let desk = server.login("police.mash").await;
        let episode = serde_json::json!({ "input": {
            "child": { "firstName": "Rory", "lastName": "Listfixture", "dateOfBirth": "2011-01-01", "gender": "MALE" },
            "reportedMissingAt": "2026-11-03T08:00:00Z", "riskGrade": "EXTREME"
        } });
        let body = server
            .gql(Some(&desk), "mutation($input: MissingEpisodeInput!) { reportMissingEpisode(input: $input) { id } }", episode)
            .await;
        assert_eq!(body["errors"][0]["extensions"]["field"], "riskGrade", "{body}");
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("codeList(list: RISK_GRADE)"));
    })
    .await;
}
