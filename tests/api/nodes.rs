//! `node` and `nodes` answer every signed-in principal exactly as each record's own query
//! does: the same record where that query returns it, null where it says NOT_FOUND or
//! FORBIDDEN (unknown and out of scope look the same).
use frontdoor::demo;
use frontdoor_testkit::{each_backend, TestServer};
use serde_json::{json, Value};

const SUBMIT: &str =
    "mutation($input: SubmitContactInput!) { submitContact(input: $input) { id child { id } } }";

/// One record of each kind that `node` resolves, with the query that reads it directly.
async fn one_of_each(server: &TestServer) -> Vec<(&'static str, String)> {
    let school = server.login("school.referrer").await;
    let worker = server.login("mash.social.worker").await;
    let manager = server.login("mash.manager").await;
    let desk = server.login("police.mash").await;
    let admin = server.login("admin").await;
    let input = json!({
        "child": { "firstName": "Nodey", "lastName": "Fixture", "dateOfBirth": "2015-09-09", "gender": "MALE" },
        "concernCategories": ["21"],
        "narrative": "A concern raised under test.",
        "consent": { "position": "GIVEN", "givenBy": "Pat Fixture", "relationship": "father" },
    });
    let body = server
        .gql(Some(&school), SUBMIT, json!({ "input": input }))
        .await;
    let contact = body["data"]["submitContact"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let body = server
        .gql(
            Some(&manager),
            "query($c: ID!) { contact(id: $c) { child { id } } }",
            json!({ "c": contact }),
        )
        .await;
    let child = body["data"]["contact"]["child"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let police = server.agency_id("West Midlands Police").await;
    let body = server
        .gql(Some(&worker), "mutation($c: ID!, $a: ID!) { sendInformationRequest(input: { contactId: $c, toAgencyId: $a, questions: \"Known?\", priority: AMBER }) { id } }", json!({ "c": contact, "a": police }))
        .await;
    let request = body["data"]["sendInformationRequest"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let body = server
        .gql(Some(&desk), "mutation($r: ID!) { respondToInformationRequest(requestId: $r, disclosures: [{ content: \"Known (fictional).\", category: \"household\", lawfulBasis: UK_GDPR_6_1_E_PUBLIC_TASK, handlingCode: P }]) { disclosures { ... on Disclosure { id } } } }", json!({ "r": request }))
        .await;
    let disclosure = body["data"]["respondToInformationRequest"]["disclosures"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_string();
    let body = server
        .gql(Some(&manager), "mutation($c: ID!) { recordDecision(input: { contactId: $c, outcome: REFERRAL_FOR_ASSESSMENT, thresholdLevel: 4, rationale: \"Assess.\" }) { id } }", json!({ "c": contact }))
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let body = server
        .gql(
            Some(&manager),
            "query($c: ID!) { referrals(contactId: $c) { edges { node { id } } } }",
            json!({ "c": contact }),
        )
        .await;
    let referral = body["data"]["referrals"]["edges"][0]["node"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let body = server
        .gql(Some(&worker), "mutation($r: ID!) { startAssessment(input: { referralId: $r }) { assessments { id } } }", json!({ "r": referral }))
        .await;
    let assessment = body["data"]["startAssessment"]["assessments"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_string();
    let mut stepped_down = input.clone();
    stepped_down["child"]["firstName"] = json!("Stepdown");
    let body = server
        .gql(Some(&school), SUBMIT, json!({ "input": stepped_down }))
        .await;
    let second = body["data"]["submitContact"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let body = server
        .gql(Some(&manager), "mutation($c: ID!) { recordDecision(input: { contactId: $c, outcome: STEP_DOWN_TO_EARLY_HELP, thresholdLevel: 2, rationale: \"Support.\" }) { id } }", json!({ "c": second }))
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let hub = server.agency_id("Walsall Early Help Hub").await;
    let body = server
        .gql(Some(&worker), "mutation($c: ID!, $a: ID!) { requestEarlyHelp(input: { contactId: $c, agencyId: $a }) { id } }", json!({ "c": second, "a": hub }))
        .await;
    let early_help = body["data"]["requestEarlyHelp"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_string();
    let missing = json!({
        "child": { "firstName": "Wander", "lastName": "Fixture", "dateOfBirth": "2011-01-01", "gender": "MALE" },
        "reportedMissingAt": "2026-11-03T08:00:00Z", "riskGrade": "MEDIUM"
    });
    let body = server
        .gql(
            Some(&desk),
            "mutation($input: MissingEpisodeInput!) { reportMissingEpisode(input: $input) { id } }",
            json!({ "input": missing }),
        )
        .await;
    let episode = body["data"]["reportMissingEpisode"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_string();
    let body = server
        .gql(Some(&admin), "{ users(first: 1) { edges { node { id } } } clients(first: 1) { edges { node { id } } } }", json!({}))
        .await;
    let user = body["data"]["users"]["edges"][0]["node"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let client = body["data"]["clients"]["edges"][0]["node"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    vec![
        ("contact", contact),
        ("child", child),
        ("informationRequest", request),
        ("disclosure", disclosure),
        ("referral", referral),
        ("assessment", assessment),
        ("earlyHelpEpisode", early_help),
        ("missingEpisode", episode),
        ("agency", police),
        ("user", user),
        ("client", client),
    ]
}

fn plural(field: &str) -> String {
    match field {
        "agency" => "agencies".into(),
        other => format!("{other}s"),
    }
}

/// The direct query's answer: the record's id, or None for NOT_FOUND / FORBIDDEN.
async fn direct(server: &TestServer, token: &str, field: &str, id: &str) -> Option<String> {
    let query = match field {
        "disclosure" => "query($id: ID!) { disclosure(id: $id) { ... on Disclosure { id } ... on DisclosureStub { id } } }".to_string(),
        "agency" | "user" | "client" => {
            // These have no query of their own: the admin lists are their direct reads.
            format!("{{ {} (first: 100) {{ edges {{ node {{ id }} }} }} }}", plural(field))
        }
        _ => format!("query($id: ID!) {{ {field}(id: $id) {{ id }} }}"),
    };
    let variables = if query.starts_with("query") {
        json!({ "id": id })
    } else {
        json!({})
    };
    let body = server.gql(Some(token), &query, variables).await;
    if let Some(errors) = body["errors"].as_array() {
        let code = &errors[0]["extensions"]["code"];
        assert!(
            code == "NOT_FOUND" || code == "FORBIDDEN",
            "{field}: {body}"
        );
        return None;
    }
    match field {
        "agency" | "user" | "client" => body["data"][plural(field)]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["node"]["id"] == id)
            .then(|| id.to_string()),
        _ => body["data"][field]["id"].as_str().map(str::to_string),
    }
}

#[tokio::test]
async fn node_and_nodes_agree_with_each_records_own_query_for_every_principal() {
    each_backend(|server| async move {
        let records = one_of_each(&server).await;
        let unknown = frontdoor::graphql::ids::encode("Contact", uuid::Uuid::now_v7());
        let ids: Vec<&str> = records
            .iter()
            .map(|(_, id)| id.as_str())
            .chain([unknown.0.as_str(), "not-an-id"])
            .collect();
        let mut tokens: Vec<(String, String)> = Vec::new();
        for user in demo::USERS {
            tokens.push((user.username.to_string(), server.login(user.username).await));
        }
        for client in demo::CLIENTS {
            let token = server.client().demo_client_token(client.client_id).await;
            tokens.push((client.client_id.to_string(), token));
        }
        let mut seen_some = 0;
        for (who, token) in &tokens {
            let body = server
                .gql(
                    Some(token),
                    "query($ids: [ID!]!) { nodes(ids: $ids) { id __typename } }",
                    json!({ "ids": ids }),
                )
                .await;
            let answers = body["data"]["nodes"]
                .as_array()
                .unwrap_or_else(|| panic!("{who}: {body}"));
            assert_eq!(answers.len(), ids.len());
            for ((field, id), answer) in records.iter().zip(answers) {
                let expected = direct(&server, token, field, id).await;
                let got = answer["id"].as_str().map(str::to_string);
                assert_eq!(
                    got, expected,
                    "{who} reading a {field}: nodes said {answer}"
                );
                let single = server
                    .gql(
                        Some(token),
                        "query($id: ID!) { node(id: $id) { id } }",
                        json!({ "id": id }),
                    )
                    .await;
                assert_eq!(
                    single["data"]["node"]["id"].as_str().map(str::to_string),
                    expected,
                    "{who}: {single}"
                );
                seen_some += usize::from(expected.is_some());
            }
            // Unknown ids, and ids that are not ids, are null like out-of-scope ones.
            assert_eq!(answers[records.len()], Value::Null);
            assert_eq!(answers[records.len() + 1], Value::Null);
        }
        // Every record was visible to someone, and hidden from someone.
        assert!(
            seen_some >= records.len(),
            "only {seen_some} answers were records"
        );
        assert!(seen_some < records.len() * tokens.len());

        let body = server
            .gql(
                None,
                "query($id: ID!) { node(id: $id) { id } }",
                json!({ "id": records[0].1 }),
            )
            .await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
            "{body}"
        );
        let too_many: Vec<&str> = std::iter::repeat_n(records[0].1.as_str(), 101).collect();
        let body = server
            .gql(
                Some(&tokens[0].1),
                "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
                json!({ "ids": too_many }),
            )
            .await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{body}"
        );
        assert_eq!(body["errors"][0]["extensions"]["field"], "ids");
    })
    .await;
}
