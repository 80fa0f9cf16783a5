//! The outcome chain after a decision (referral, assessment, strategy discussion, section 47
//! enquiry, conference) and early help step-downs: clocks, rules, access and audit.

use entity::{assessment, audit_event, early_help_episode, referral, strategy_discussion};
use frontdoor_testkit::{each_backend, error_code, error_field, TestServer};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{json, Value};

const CHAIN: &str = "id contactId sourceCode referredAt outcome allocatedTeam allocatedWorker
    assessments { id startedAt dueAt overdue childSeenAt authorisedAt withinTimescale outcome allocatedTeam allocatedWorker }
    strategyDiscussions { id assessmentId heldAt section47Started agenciesPresent { id name }
      section47 { id startedAt outcome completedAt conferenceDueAt conferenceOverdue
        conference { id heldAt dueAt withinTimescale planMade allocatedTeam } } }";

fn ok<'a>(body: &'a Value, field: &str) -> &'a Value {
    assert!(body["errors"].is_null(), "{field}: {body}");
    &body["data"][field]
}

/// A police contact received at `at`, decided `outcome` at `decided`; returns the contact id.
async fn decided_contact(server: &TestServer, at: &str, decided: &str, outcome: &str) -> String {
    let police = server.login("police.referrer").await;
    let manager = server.login("mash.manager").await;
    let body = server
        .gql(
            Some(&police),
            "mutation($input: SubmitContactInput!) { submitContact(input: $input) { id } }",
            json!({ "input": {
                "child": { "firstName": "Rory", "lastName": "Chainchild", "dateOfBirth": "2012-06-01", "gender": "MALE" },
                "concernCategories": ["21"], "narrative": "Found alone late at night (fictional).",
                "consent": { "position": "REFUSED" }, "occurredAt": at } }),
        )
        .await;
    let contact = ok(&body, "submitContact")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let body = server
        .gql(
            Some(&manager),
            &format!("mutation($c: ID!, $at: DateTime!) {{ recordDecision(input: {{ contactId: $c, outcome: {outcome}, thresholdLevel: 4, rationale: \"Significant harm suspected.\", occurredAt: $at }}) {{ id }} }}"),
            json!({ "c": contact, "at": decided }),
        )
        .await;
    ok(&body, "recordDecision");
    contact
}

async fn referral_of(server: &TestServer, token: &str, contact: &str) -> Value {
    let body = server
        .gql(
            Some(token),
            &format!("query($c: ID!) {{ referrals(contactId: $c) {{ totalCount edges {{ node {{ {CHAIN} }} }} }} }}"),
            json!({ "c": contact }),
        )
        .await;
    let list = ok(&body, "referrals");
    assert_eq!(list["totalCount"], 1, "{body}");
    list["edges"][0]["node"].clone()
}

async fn call(server: &TestServer, token: &str, mutation: &str, input: Value) -> Value {
    let query = format!(
        "mutation($input: {}Input!) {{ {mutation}(input: $input) {{ {CHAIN} }} }}",
        upper_first(mutation)
    );
    server
        .gql(Some(token), &query, json!({ "input": input }))
        .await
}

fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_referral_runs_to_a_conference_on_the_statutory_clocks() {
    each_backend(|server| async move {
        let worker = server.login("mash.social.worker").await;
        let police = server.agency_id("West Midlands Police").await;
        let health = server.agency_id("Walsall Healthcare NHS Trust").await;

        // Referred on Monday 16 December 2019: 45 working days skip Christmas, Boxing Day
        // and New Year's Day, so the assessment is due on Thursday 20 February 2020.
        let contact = decided_contact(&server, "2019-12-16T09:00:00Z", "2019-12-16T15:00:00Z", "REFERRAL_FOR_ASSESSMENT").await;
        let referral = referral_of(&server, &worker, &contact).await;
        assert_eq!(referral["sourceCode"], "6");
        assert_eq!(referral["referredAt"], "2019-12-16T15:00:00+00:00");
        assert!(referral["outcome"].is_null());
        let id = referral["id"].as_str().unwrap();

        let body = call(&server, &worker, "updateReferral", json!({ "referralId": id, "outcome": "ASSESSMENT_REQUIRED", "allocatedTeam": "Initial Response Service", "allocatedWorker": "Sam Example" })).await;
        assert_eq!(ok(&body, "updateReferral")["outcome"], "ASSESSMENT_REQUIRED");

        let body = call(&server, &worker, "startAssessment", json!({ "referralId": id, "startedAt": "2019-12-17T10:00:00Z", "allocatedTeam": "Initial Response Service", "allocatedWorker": "Sam Example" })).await;
        let a = &ok(&body, "startAssessment")["assessments"][0];
        assert_eq!(a["dueAt"], "2020-02-20T23:59:59+00:00", "{body}");
        assert_eq!(a["overdue"], true, "long past and not authorised");
        let assessment_id = a["id"].as_str().unwrap().to_string();

        // Authorised in time, with the child seen and the outcome.
        let body = call(&server, &worker, "updateAssessment", json!({ "assessmentId": assessment_id, "childSeenAt": "2019-12-18T11:00:00Z", "authorisedAt": "2020-02-20T16:00:00Z", "outcome": "STRATEGY_DISCUSSION" })).await;
        let a = &ok(&body, "updateAssessment")["assessments"][0];
        assert_eq!(a["withinTimescale"], true);
        assert_eq!(a["overdue"], false);
        assert_eq!(a["outcome"], "STRATEGY_DISCUSSION");
        assert_eq!(a["allocatedWorker"], "Sam Example");

        // A strategy discussion on Wednesday 1 April 2020 starts a section 47 enquiry: the
        // conference is due 15 working days later, past Good Friday and Easter Monday, on
        // Friday 24 April (23:59:59 BST).
        let body = call(&server, &worker, "recordStrategyDiscussion", json!({ "referralId": id, "assessmentId": assessment_id,
            "heldAt": "2020-04-01T09:00:00Z", "agenciesPresent": [police, health], "section47Started": true })).await;
        let d = &ok(&body, "recordStrategyDiscussion")["strategyDiscussions"][0];
        assert_eq!(d["section47Started"], true);
        assert_eq!(d["assessmentId"], assessment_id.as_str());
        let names: Vec<&str> = d["agenciesPresent"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["West Midlands Police", "Walsall Healthcare NHS Trust"]);
        let s47 = &d["section47"];
        assert_eq!(s47["startedAt"], "2020-04-01T09:00:00+00:00");
        assert_eq!(s47["conferenceDueAt"], "2020-04-24T22:59:59+00:00", "{body}");
        assert_eq!(s47["conferenceOverdue"], true);
        let s47_id = s47["id"].as_str().unwrap().to_string();

        // Held on the due day (in timescale), with a plan; the enquiry's outcome follows.
        let body = call(&server, &worker, "recordConference", json!({ "section47Id": s47_id, "heldAt": "2020-04-24T13:00:00Z", "planMade": true, "allocatedTeam": "Child Protection" })).await;
        let s47 = &ok(&body, "recordConference")["strategyDiscussions"][0]["section47"];
        assert_eq!(s47["outcome"], "INITIAL_CHILD_PROTECTION_CONFERENCE");
        assert_eq!(s47["conferenceOverdue"], false);
        assert_eq!(s47["conference"]["withinTimescale"], true);
        assert_eq!(s47["conference"]["planMade"], true);
        assert_eq!(s47["conference"]["dueAt"], "2020-04-24T22:59:59+00:00");

        // A second conference for the same enquiry is a conflict.
        let body = call(&server, &worker, "recordConference", json!({ "section47Id": s47_id, "heldAt": "2020-04-25T13:00:00Z", "planMade": false })).await;
        assert_eq!(error_code(&body), Some("CONFLICT"), "{body}");

        // The read is the whole chain, and every step was audited with the child.
        let manager = server.login("mash.manager").await;
        let body = server.gql(Some(&manager), &format!("query($id: ID!) {{ referral(id: $id) {{ {CHAIN} }} }}"), json!({ "id": id })).await;
        assert_eq!(ok(&body, "referral")["strategyDiscussions"][0]["section47"]["conference"]["planMade"], true);
        for action in ["contact.decide", "referral.update", "assessment.start", "assessment.update", "strategy_discussion.record", "conference.record", "referral.read", "referral.list"] {
            let n = audit_event::Entity::find()
                .filter(audit_event::Column::Action.eq(action))
                .filter(audit_event::Column::Outcome.eq("SUCCESS"))
                .count(server.db())
                .await
                .unwrap();
            assert!(n >= 1, "{action} audited");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decisions_make_referrals_only_when_they_refer() {
    each_backend(|server| async move {
        let manager = server.login("mash.manager").await;
        let nfa = decided_contact(
            &server,
            "2019-09-02T09:00:00Z",
            "2019-09-02T12:00:00Z",
            "NO_FURTHER_ACTION",
        )
        .await;
        let strategy = decided_contact(
            &server,
            "2019-09-02T09:00:00Z",
            "2019-09-02T12:00:00Z",
            "STRATEGY_DISCUSSION",
        )
        .await;
        let body = server
            .gql(
                Some(&manager),
                "query($c: ID!) { referrals(contactId: $c) { totalCount } }",
                json!({ "c": nfa }),
            )
            .await;
        assert_eq!(ok(&body, "referrals")["totalCount"], 0);
        let referral = referral_of(&server, &manager, &strategy).await;
        assert_eq!(referral["outcome"], "STRATEGY_DISCUSSION");
        assert_eq!(server.count(referral::Entity).await, 1);
        // Referred on Monday 2 September 2019: an assessment is due on Monday 4 November.
        let body = call(
            &server,
            &manager,
            "startAssessment",
            json!({ "referralId": referral["id"], "startedAt": "2019-09-03T09:00:00Z" }),
        )
        .await;
        assert_eq!(
            ok(&body, "startAssessment")["assessments"][0]["dueAt"],
            "2019-11-04T23:59:59+00:00"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_named_and_changes_nothing() {
    each_backend(|server| async move {
        let worker = server.login("mash.social.worker").await;
        let police = server.agency_id("West Midlands Police").await;
        let contact = decided_contact(&server, "2019-09-02T09:00:00Z", "2019-09-02T12:00:00Z", "REFERRAL_FOR_ASSESSMENT").await;
        let referral = referral_of(&server, &worker, &contact).await;
        let id = referral["id"].as_str().unwrap();
        let audit_before = server.count(audit_event::Entity).await;
        let cases = [
            ("startAssessment", json!({ "referralId": id, "startedAt": "2019-09-01T09:00:00Z" }), "startedAt"),
            ("startAssessment", json!({ "referralId": id, "startedAt": "2099-01-01T09:00:00Z" }), "startedAt"),
            ("startAssessment", json!({ "referralId": id, "allocatedTeam": "   " }), "allocatedTeam"),
            ("recordStrategyDiscussion", json!({ "referralId": id, "agenciesPresent": [], "section47Started": true }), "agenciesPresent"),
            ("recordStrategyDiscussion", json!({ "referralId": id, "agenciesPresent": [contact], "section47Started": true }), "agenciesPresent"),
            ("recordStrategyDiscussion", json!({ "referralId": id, "agenciesPresent": [police], "section47Started": true, "assessmentId": contact }), "assessmentId"),
            ("recordStrategyDiscussion", json!({ "referralId": id, "agenciesPresent": [police], "section47Started": true, "heldAt": "2019-08-30T09:00:00Z" }), "heldAt"),
        ];
        for (mutation, input, field) in cases {
            let body = call(&server, &worker, mutation, input.clone()).await;
            assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{mutation} {input}: {body}");
            assert_eq!(error_field(&body), Some(field), "{mutation} {input}: {body}");
        }
        assert_eq!(server.count(assessment::Entity).await, 0);
        assert_eq!(server.count(strategy_discussion::Entity).await, 0);
        assert_eq!(server.count(audit_event::Entity).await, audit_before, "validation failures write nothing");

        // Authorising without an outcome names the outcome; an unknown referral is NOT_FOUND.
        let body = call(&server, &worker, "startAssessment", json!({ "referralId": id, "startedAt": "2019-09-03T09:00:00Z" })).await;
        let assessment_id = ok(&body, "startAssessment")["assessments"][0]["id"].clone();
        let body = call(&server, &worker, "updateAssessment", json!({ "assessmentId": assessment_id, "authorisedAt": "2019-09-20T09:00:00Z" })).await;
        assert_eq!(error_field(&body), Some("outcome"), "{body}");
        let body = call(&server, &worker, "updateAssessment", json!({ "assessmentId": assessment_id, "childSeenAt": "2019-09-02T09:00:00Z" })).await;
        assert_eq!(error_field(&body), Some("childSeenAt"), "seen before the start: {body}");
        let body = call(&server, &worker, "startAssessment", json!({ "referralId": contact })).await;
        assert_eq!(error_code(&body), Some("NOT_FOUND"), "{body}");

        // A section 47 that ended otherwise cannot have a conference.
        let body = call(&server, &worker, "recordStrategyDiscussion", json!({ "referralId": id, "agenciesPresent": [police], "section47Started": true, "heldAt": "2019-09-04T09:00:00Z" })).await;
        let s47 = ok(&body, "recordStrategyDiscussion")["strategyDiscussions"][0]["section47"]["id"].clone();
        let body = call(&server, &worker, "recordSection47Outcome", json!({ "section47Id": s47, "outcome": "OTHER_AGENCY_TO_MONITOR", "completedAt": "2019-09-10T09:00:00Z" })).await;
        assert_eq!(ok(&body, "recordSection47Outcome")["strategyDiscussions"][0]["section47"]["conferenceOverdue"], false);
        let body = call(&server, &worker, "recordConference", json!({ "section47Id": s47, "heldAt": "2019-09-12T09:00:00Z", "planMade": false })).await;
        assert_eq!(error_code(&body), Some("CONFLICT"), "{body}");

        // Early help goes only to an early help agency, and not before the contact.
        let body = server.gql(Some(&worker), "mutation($c: ID!, $a: ID!) { requestEarlyHelp(input: { contactId: $c, agencyId: $a }) { id } }", json!({ "c": contact, "a": police })).await;
        assert_eq!(error_field(&body), Some("agencyId"), "{body}");
        let early_help = server.agency_id("Walsall Early Help Hub").await;
        let body = server.gql(Some(&worker), "mutation($c: ID!, $a: ID!) { requestEarlyHelp(input: { contactId: $c, agencyId: $a, requestedAt: \"2019-08-01T09:00:00Z\" }) { id } }", json!({ "c": contact, "a": early_help })).await;
        assert_eq!(error_field(&body), Some("requestedAt"), "{body}");
        assert_eq!(server.count(early_help_episode::Entity).await, 0);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_down_is_screened_and_assessed_by_the_early_help_desk() {
    each_backend(|server| async move {
        let worker = server.login("mash.social.worker").await;
        let desk = server.login("earlyhelp.mash").await;
        let early_help = server.agency_id("Walsall Early Help Hub").await;
        let contact = decided_contact(&server, "2019-10-01T09:00:00Z", "2019-10-01T12:00:00Z", "STEP_DOWN_TO_EARLY_HELP").await;
        let body = server.gql(Some(&worker), "mutation($c: ID!, $a: ID!) { requestEarlyHelp(input: { contactId: $c, agencyId: $a, requestedAt: \"2019-10-01T13:00:00Z\" }) { id } }", json!({ "c": contact, "a": early_help })).await;
        let episode = ok(&body, "requestEarlyHelp")["id"].as_str().unwrap().to_string();

        // The desk sees the child it is asked to help, and records screening and assessment.
        let body = server.gql(Some(&desk), "{ earlyHelpEpisodes { totalCount edges { node { id child { firstName lastName dateOfBirth } } } } }", json!({})).await;
        let list = ok(&body, "earlyHelpEpisodes");
        assert_eq!(list["totalCount"], 1);
        assert_eq!(list["edges"][0]["node"]["child"]["lastName"], "Chainchild");
        let update = "mutation($input: UpdateEarlyHelpEpisodeInput!) { updateEarlyHelpEpisode(input: $input) { screenedAt screeningOutcome assessmentStartedAt assessmentCompletedAt organisation daysToScreening } }";
        let body = server.gql(Some(&desk), update, json!({ "input": { "episodeId": episode, "screeningOutcome": "EARLY_HELP_ASSESSMENT" } })).await;
        assert_eq!(error_field(&body), Some("screenedAt"), "an outcome needs its screening date: {body}");
        let body = server.gql(Some(&desk), update, json!({ "input": { "episodeId": episode, "screenedAt": "2019-10-04T13:00:00Z", "screeningOutcome": "EARLY_HELP_ASSESSMENT",
            "assessmentStartedAt": "2019-10-15T09:00:00Z", "organisation": "Walsall Early Help Locality Team North" } })).await;
        let e = ok(&body, "updateEarlyHelpEpisode");
        assert_eq!(e["daysToScreening"], 3.0);
        assert_eq!(e["screeningOutcome"], "EARLY_HELP_ASSESSMENT");
        let body = server.gql(Some(&desk), update, json!({ "input": { "episodeId": episode, "assessmentCompletedAt": "2019-10-14T09:00:00Z" } })).await;
        assert_eq!(error_field(&body), Some("assessmentCompletedAt"), "{body}");
        let body = server.gql(Some(&desk), update, json!({ "input": { "episodeId": episode, "assessmentCompletedAt": "2019-11-20T09:00:00Z" } })).await;
        assert_eq!(ok(&body, "updateEarlyHelpEpisode")["assessmentCompletedAt"], "2019-11-20T09:00:00+00:00");

        // Other partner desks and referrers cannot touch or list it; the health desk is forbidden.
        for caller in ["health.mash", "police.mash", "school.referrer", "admin", "auditor"] {
            let token = server.login(caller).await;
            let body = server.gql(Some(&token), update, json!({ "input": { "episodeId": episode, "organisation": "Probe" } })).await;
            assert_eq!(error_code(&body), Some("FORBIDDEN"), "{caller}: {body}");
            let body = server.gql(Some(&token), "{ earlyHelpEpisodes { totalCount } }", json!({})).await;
            assert_eq!(error_code(&body), Some("FORBIDDEN"), "{caller}: {body}");
            assert!(body["data"].is_null());
        }
        let body = server.gql(Some(&desk), "mutation($c: ID!, $a: ID!) { requestEarlyHelp(input: { contactId: $c, agencyId: $a }) { id } }", json!({ "c": contact, "a": early_help })).await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"), "only the MASH makes step-downs: {body}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_mash_staff_work_the_chain() {
    each_backend(|server| async move {
        let worker = server.login("mash.social.worker").await;
        let police = server.agency_id("West Midlands Police").await;
        let contact = decided_contact(&server, "2019-09-02T09:00:00Z", "2019-09-02T12:00:00Z", "REFERRAL_FOR_ASSESSMENT").await;
        let referral = referral_of(&server, &worker, &contact).await;
        let id = referral["id"].clone();
        let body = call(&server, &worker, "recordStrategyDiscussion", json!({ "referralId": id, "agenciesPresent": [police], "section47Started": true, "heldAt": "2019-09-04T09:00:00Z" })).await;
        let s47 = ok(&body, "recordStrategyDiscussion")["strategyDiscussions"][0]["section47"]["id"].clone();
        let body = call(&server, &worker, "startAssessment", json!({ "referralId": id, "startedAt": "2019-09-03T09:00:00Z" })).await;
        let assessment = ok(&body, "startAssessment")["assessments"][0]["id"].clone();
        let operations: Vec<(&str, Value)> = vec![
            ("updateReferral", json!({ "referralId": id, "allocatedTeam": "Probe" })),
            ("startAssessment", json!({ "referralId": id })),
            ("updateAssessment", json!({ "assessmentId": assessment, "allocatedWorker": "Probe" })),
            ("recordStrategyDiscussion", json!({ "referralId": id, "agenciesPresent": [police], "section47Started": false })),
            ("recordSection47Outcome", json!({ "section47Id": s47, "outcome": "OTHER" })),
            ("recordConference", json!({ "section47Id": s47, "planMade": false })),
        ];
        let outsiders = ["admin", "auditor", "la.referrer", "police.mash", "police.referrer", "health.mash", "health.referrer", "school.referrer", "earlyhelp.mash"];
        let before = server.count(assessment::Entity).await;
        for caller in outsiders {
            let token = server.login(caller).await;
            for (mutation, input) in &operations {
                let body = call(&server, &token, mutation, input.clone()).await;
                assert_eq!(error_code(&body), Some("FORBIDDEN"), "{caller} → {mutation}: {body}");
                assert!(body["data"].is_null(), "{caller} → {mutation} leaked: {body}");
            }
            for query in ["query($id: ID!) { referral(id: $id) { id } }", "query($id: ID!) { referrals(childId: $id) { totalCount } }"] {
                let body = server.gql(Some(&token), query, json!({ "id": id })).await;
                assert_eq!(error_code(&body), Some("FORBIDDEN"), "{caller} → {query}: {body}");
            }
        }
        let client = server.client_token("police-case-system", "police-demo-secret").await;
        let body = server.gql(Some(&client), "query($id: ID!) { referral(id: $id) { id } }", json!({ "id": id })).await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"), "{body}");
        assert_eq!(server.count(assessment::Entity).await, before, "refusals change nothing");
        let refused = audit_event::Entity::find()
            .filter(audit_event::Column::Outcome.ne("SUCCESS"))
            .filter(audit_event::Column::Action.eq("assessment.start"))
            .count(server.db())
            .await
            .unwrap();
        assert_eq!(refused, outsiders.len() as u64, "each refusal is audited");
        // Both MASH roles may work it; an unknown id is NOT_FOUND for them.
        for caller in ["mash.manager", "mash.social.worker"] {
            let token = server.login(caller).await;
            let body = server.gql(Some(&token), "query($id: ID!) { referral(id: $id) { id } }", json!({ "id": contact })).await;
            assert_eq!(error_code(&body), Some("NOT_FOUND"), "{body}");
            let body = call(&server, &token, "updateReferral", json!({ "referralId": id, "allocatedWorker": caller })).await;
            assert_eq!(ok(&body, "updateReferral")["allocatedWorker"], caller);
        }
    })
    .await;
}
