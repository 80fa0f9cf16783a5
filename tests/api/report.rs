//! The performance report: who may run it, what it refuses, and — over a few hundred records
//! generated at random and loaded through the API — every figure, per month, for the whole
//! period and for the period before, against figures computed here independently.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, SecondsFormat, TimeZone, Utc};
use entity::audit_event;
use frontdoor::demo;
use frontdoor::domain::common::codes::Role;
use frontdoor_testkit::{each_backend, error_code, error_field, TestServer};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{json, Value};

const PERIOD: &str = "from to label contacts referrals assessmentsCompleted assessmentsNfa assessmentsNfaPercent
    strategyDiscussions section47Enquiries section47ToConference section47ToConferencePercent
    missingNotifications missingChildren
    rhi { completed inTimescale inTimescalePercent outOfTimescale outOfTimescaleByReason { reason count }
          outOfTimescaleNoReason notOffered notOfferedByReason { reason count } declined carriedOver open awaitingReturn }
    informationRequests { agencyId agencyName requests answered answeredByDue answeredByDuePercent medianHoursToAnswer }
    earlyHelp { requests screened medianDaysToScreening assessmentsStarted medianDaysToAssessment
                screeningOutcomes { outcome count } notYetScreened }
    policeNotificationDelay { missingNotified medianHoursToNotification p90HoursToNotification
                              returnsNotified medianHoursToReturnNotification p90HoursToReturnNotification }
    consentByAgency { agencyId agencyName contacts consentRecorded consentRecordedPercent }
    decidedWithinOneWorkingDay decidedWithinOneWorkingDayPercent
    nfaBySource { sourceCode contacts nfa nfaPercent }
    contactsRecordedLate missingEpisodesRecordedLate";

fn report_query() -> String {
    format!(
        "query($from: NaiveDate!, $to: NaiveDate!) {{ performanceReport(from: $from, to: $to) {{
            from to months {{ {PERIOD} }} total {{ {PERIOD} }} previous {{ {PERIOD} }}
            change {{ contacts referrals assessmentsCompleted strategyDiscussions section47Enquiries missingNotifications }} }} }}"
    )
}

const SMALL: &str = "query($from: NaiveDate!, $to: NaiveDate!) { performanceReport(from: $from, to: $to) { from to months { label } total { contacts contactsRecordedLate missingEpisodesRecordedLate } previous { from to } } }";

fn ok<'a>(body: &'a Value, field: &str) -> &'a Value {
    assert!(body["errors"].is_null(), "{field}: {body}");
    &body["data"][field]
}

fn iso(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn parse(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value.as_str().unwrap_or_else(|| panic!("a time: {value}")))
        .unwrap()
        .with_timezone(&Utc)
}

fn utc(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// The London calendar date in 2019, worked out here from the rule itself: British Summer
/// Time (UTC+1) ran from 01:00 UTC on 31 March to 01:00 UTC on 27 October 2019.
fn london(at: DateTime<Utc>) -> NaiveDate {
    assert_eq!(
        at.format("%Y").to_string(),
        "2019",
        "the generated data stays in 2019"
    );
    if at >= utc(2019, 3, 31, 1) && at < utc(2019, 10, 27, 1) {
        (at + Duration::hours(1)).date_naive()
    } else {
        at.date_naive()
    }
}

async fn agency_ids(server: &TestServer) -> HashMap<String, String> {
    let admin = server.login("admin").await;
    let body = server
        .gql(
            Some(&admin),
            "{ agencies(first: 100) { edges { node { id name } } } }",
            json!({}),
        )
        .await;
    ok(&body, "agencies")["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["node"]["name"].as_str().unwrap().to_string(),
                e["node"]["id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

// --------------------------------------------------------------------------------- access

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_mash_managers_and_auditors_run_the_report() {
    each_backend(|server| async move {
        let vars = json!({ "from": "2019-08-01", "to": "2019-11-30" });
        let mut allowed = 0;
        for user in demo::USERS.iter() {
            let token = server.login(user.username).await;
            let body = server.gql(Some(&token), SMALL, vars.clone()).await;
            if matches!(user.role, Role::MashManager | Role::Auditor) {
                allowed += 1;
                let report = ok(&body, "performanceReport");
                assert_eq!(report["months"].as_array().unwrap().len(), 4, "{body}");
                assert_eq!(
                    report["previous"],
                    json!({ "from": "2019-04-01", "to": "2019-07-31" })
                );
            } else {
                assert_eq!(
                    error_code(&body),
                    Some("FORBIDDEN"),
                    "{}: {body}",
                    user.username
                );
                assert!(body["data"].is_null(), "{}: {body}", user.username);
            }
        }
        for (client, secret) in [
            ("police-case-system", "police-demo-secret"),
            ("health-case-system", "health-demo-secret"),
        ] {
            let token = server.client_token(client, secret).await;
            let body = server.gql(Some(&token), SMALL, vars.clone()).await;
            assert_eq!(error_code(&body), Some("FORBIDDEN"), "{client}: {body}");
        }
        let body = server.gql(None, SMALL, vars.clone()).await;
        assert_eq!(error_code(&body), Some("UNAUTHENTICATED"), "{body}");

        // Every run and every refusal is in the audit trail.
        let audited = |outcome_success: bool| {
            let mut query = audit_event::Entity::find()
                .filter(audit_event::Column::Action.eq("report.performance"));
            query = if outcome_success {
                query.filter(audit_event::Column::Outcome.eq("SUCCESS"))
            } else {
                query.filter(audit_event::Column::Outcome.ne("SUCCESS"))
            };
            query.count(server.db())
        };
        assert_eq!(audited(true).await.unwrap(), allowed);
        assert_eq!(allowed, 3, "mash.manager, mash.manager2 and auditor");
        let refusals = demo::USERS.len() as u64 - allowed + 2;
        assert!(audited(false).await.unwrap() >= refusals);
        let detail = audit_event::Entity::find()
            .filter(audit_event::Column::Action.eq("report.performance"))
            .filter(audit_event::Column::Outcome.eq("SUCCESS"))
            .one(server.db())
            .await
            .unwrap()
            .unwrap()
            .detail;
        let detail: Value = serde_json::from_str(detail.as_deref().unwrap_or("null")).unwrap();
        assert_eq!(detail, json!({ "from": "2019-08-01", "to": "2019-11-30" }));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_periods_are_named_and_audit_nothing() {
    each_backend(|server| async move {
        let manager = server.login("mash.manager").await;
        let before = server.count(audit_event::Entity).await;
        for (from, to) in [
            ("2019-09-01", "2019-08-31"),
            ("2019-01-01", "2021-01-01"),
            ("2019-01-15", "2021-01-15"),
        ] {
            let body = server
                .gql(Some(&manager), SMALL, json!({ "from": from, "to": to }))
                .await;
            assert_eq!(
                error_code(&body),
                Some("BAD_USER_INPUT"),
                "{from}..{to}: {body}"
            );
            assert_eq!(error_field(&body), Some("to"), "{from}..{to}: {body}");
        }
        assert_eq!(
            server.count(audit_event::Entity).await,
            before,
            "validation failures write nothing"
        );
        // 24 whole months is the most; a single day is the least. Days that are not whole
        // months compare with the same number of days before.
        let body = server
            .gql(
                Some(&manager),
                SMALL,
                json!({ "from": "2019-01-01", "to": "2020-12-31" }),
            )
            .await;
        let report = ok(&body, "performanceReport");
        assert_eq!(report["months"].as_array().unwrap().len(), 24);
        assert_eq!(
            report["previous"],
            json!({ "from": "2017-01-01", "to": "2018-12-31" })
        );
        let body = server
            .gql(
                Some(&manager),
                SMALL,
                json!({ "from": "2019-09-30", "to": "2019-10-02" }),
            )
            .await;
        let report = ok(&body, "performanceReport");
        assert_eq!(
            report["months"],
            json!([{ "label": "2019-09-30/2019-09-30" }, { "label": "2019-10-01/2019-10-02" }])
        );
        assert_eq!(
            report["previous"],
            json!({ "from": "2019-09-27", "to": "2019-09-29" })
        );
        // Not a date at all is the schema's own error.
        let body = server
            .gql(
                Some(&manager),
                SMALL,
                json!({ "from": "2019-02-30", "to": "2019-03-01" }),
            )
            .await;
        assert!(
            body["data"].is_null() && !body["errors"].is_null(),
            "{body}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn back_dated_records_are_counted() {
    each_backend(|server| async move {
        let referrer = server.login("school.referrer").await;
        let now = Utc::now();
        for hours_ago in [2, 23, 30, 50] {
            let body = server
                .gql(
                    Some(&referrer),
                    "mutation($input: SubmitContactInput!) { submitContact(input: $input) { id } }",
                    json!({ "input": {
                        "child": { "firstName": "Bea", "lastName": format!("Backdated{hours_ago}"), "gender": "FEMALE" },
                        "concernCategories": ["21"], "narrative": "Fictional.",
                        "consent": { "position": "REFUSED" },
                        "occurredAt": iso(now - Duration::hours(hours_ago)) } }),
                )
                .await;
            ok(&body, "submitContact");
        }
        let police = server.client_token("police-case-system", "police-demo-secret").await;
        let episodes: Vec<Value> = [2, 23, 30, 50]
            .iter()
            .map(|hours_ago| {
                json!({ "child": { "firstName": "Bo", "lastName": format!("Backdated{hours_ago}"), "gender": "MALE" },
                        "reportedMissingAt": iso(now - Duration::hours(*hours_ago)), "riskGrade": "LOW" })
            })
            .collect();
        let body = server
            .gql(
                Some(&police),
                "mutation($e: [MissingEpisodeInput!]!) { reportMissingEpisodes(episodes: $e) { error { field } } }",
                json!({ "e": episodes }),
            )
            .await;
        assert!(
            ok(&body, "reportMissingEpisodes").as_array().unwrap().iter().all(|r| r["error"].is_null()),
            "{body}"
        );
        let today = now.with_timezone(&chrono_tz::Europe::London).date_naive();
        let manager = server.login("mash.manager").await;
        let body = server
            .gql(
                Some(&manager),
                SMALL,
                json!({ "from": (today - Duration::days(3)).to_string(), "to": today.to_string() }),
            )
            .await;
        let total = &ok(&body, "performanceReport")["total"];
        assert_eq!(
            total,
            &json!({ "contacts": 4, "contactsRecordedLate": 2, "missingEpisodesRecordedLate": 2 }),
            "{body}"
        );
    })
    .await;
}

// ------------------------------------------------------------------------ generated data

struct Submitter {
    caller: &'static str,
    /// A machine client's secret, for clients.
    secret: Option<&'static str>,
    agency: &'static str,
    sources: &'static [&'static str],
}

const LA: &str = "Walsall Council Children's Services";
const POLICE: &str = "West Midlands Police";
const HEALTH: &str = "Walsall Healthcare NHS Trust";
const SCHOOL: &str = "Brookhollow Primary School, Walsall";
const EARLY_HELP: &str = "Walsall Early Help Hub";

const SUBMITTERS: [Submitter; 8] = [
    Submitter {
        caller: "school.referrer",
        secret: None,
        agency: SCHOOL,
        sources: &["2A", "2B"],
    },
    Submitter {
        caller: "police.referrer",
        secret: None,
        agency: POLICE,
        sources: &["6"],
    },
    Submitter {
        caller: "police-case-system",
        secret: Some("police-demo-secret"),
        agency: POLICE,
        sources: &["6"],
    },
    Submitter {
        caller: "health.referrer",
        secret: None,
        agency: HEALTH,
        sources: &["3D", "3E", "3A"],
    },
    Submitter {
        caller: "health-case-system",
        secret: Some("health-demo-secret"),
        agency: HEALTH,
        sources: &["3D"],
    },
    Submitter {
        caller: "la.referrer",
        secret: None,
        agency: LA,
        sources: &["5A", "5B"],
    },
    Submitter {
        caller: "mash.social.worker",
        secret: None,
        agency: LA,
        sources: &["1A", "9", "10"],
    },
    Submitter {
        caller: "earlyhelp.mash",
        secret: None,
        agency: EARLY_HELP,
        sources: &["5D", "8"],
    },
];

/// Minutes after 2019-01-01T00:00Z of the first few contacts and missing notifications:
/// 23:30 UTC on 31 May, 31 August and 30 September 2019 are already 1 June, 1 September and
/// 1 October in London (BST), so each falls in the later month and period; 23:30 UTC on 30
/// November (GMT) is still November.
const BOUNDARIES: [i64; 4] = [
    (150 * 24 + 23) * 60 + 30,
    (242 * 24 + 23) * 60 + 30,
    (272 * 24 + 23) * 60 + 30,
    (333 * 24 + 23) * 60 + 30,
];

/// The national source list's order.
const SOURCE_ORDER: [&str; 22] = [
    "1A", "1B", "1C", "1D", "2A", "2B", "3A", "3B", "3C", "3D", "3E", "3F", "4", "5A", "5B", "5C",
    "5D", "6", "7", "8", "9", "10",
];
const LATE: [&str; 4] = [
    "POLICE_NOTIFICATION_DELAY",
    "EARLIEST_CONVENIENCE",
    "NON_ENGAGEMENT",
    "MISSING_AGAIN",
];
const NOT_OFFERED: [&str; 4] = [
    "MISSING_AGAIN_WITHIN_72_HOURS",
    "TRIAGED_NO_APPARENT_RISK",
    "IN_CUSTODY",
    "WHEREABOUTS_UNKNOWN",
];
const SCREENING: [&str; 4] = [
    "EARLY_HELP_ASSESSMENT",
    "SIGNPOSTED",
    "NO_FURTHER_ACTION",
    "RETURNED_TO_MASH",
];

struct GenContact {
    agency: &'static str,
    source: String,
    consent: &'static str,
    at: DateTime<Utc>,
    due: DateTime<Utc>,
    decision: Option<(DateTime<Utc>, &'static str)>,
}

struct GenRequest {
    agency: &'static str,
    sent: DateTime<Utc>,
    due: DateTime<Utc>,
    answered: Option<DateTime<Utc>>,
    withdrawn: bool,
}

struct GenEarlyHelp {
    requested: DateTime<Utc>,
    screened: Option<(DateTime<Utc>, &'static str)>,
    assessment: Option<DateTime<Utc>>,
}

#[derive(Clone)]
struct GenInterview {
    outcome: &'static str,
    completed: Option<DateTime<Utc>>,
    late_reason: Option<&'static str>,
    not_offered: Option<&'static str>,
}

struct GenEpisode {
    child: usize,
    reported: DateTime<Utc>,
    notified: Option<DateTime<Utc>>,
    returned: Option<DateTime<Utc>>,
    return_notified: Option<DateTime<Utc>>,
    interview: Option<GenInterview>,
}

#[derive(Default)]
struct Model {
    contacts: Vec<GenContact>,
    referrals: Vec<DateTime<Utc>>,
    /// Authorised assessments: when, and whether the outcome was no further action.
    assessments: Vec<(DateTime<Utc>, bool)>,
    strategy_discussions: Vec<DateTime<Utc>>,
    /// Section 47 enquiries: started, and whether a conference followed.
    section47s: Vec<(DateTime<Utc>, bool)>,
    requests: Vec<GenRequest>,
    early_help: Vec<GenEarlyHelp>,
    episodes: Vec<GenEpisode>,
}

fn between(rng: &mut StdRng, from: DateTime<Utc>, to: DateTime<Utc>) -> DateTime<Utc> {
    from + Duration::seconds(rng.gen_range(0..(to - from).num_seconds()))
}

fn minutes(rng: &mut StdRng, from: i64, to: i64) -> Duration {
    Duration::minutes(rng.gen_range(from..to))
}

fn pick<T: Copy>(rng: &mut StdRng, items: &[T]) -> T {
    items[rng.gen_range(0..items.len())]
}

/// Lowercase letters for a number (names carry no digits).
fn letters(mut n: usize) -> String {
    let mut out = String::new();
    loop {
        out.push((b'a' + (n % 26) as u8) as char);
        n /= 26;
        if n == 0 {
            return out;
        }
    }
}

struct Loader<'a> {
    server: &'a TestServer,
    tokens: HashMap<&'static str, String>,
}

impl Loader<'_> {
    async fn call(&self, caller: &str, query: &str, variables: Value, field: &str) -> Value {
        let body = self
            .server
            .gql(Some(&self.tokens[caller]), query, variables)
            .await;
        ok(&body, field).clone()
    }
}

async fn generate(server: &TestServer, agencies: &HashMap<String, String>) -> Model {
    let mut rng = StdRng::seed_from_u64(20_191_130);
    let mut tokens = HashMap::new();
    for s in &SUBMITTERS {
        let token = match s.secret {
            Some(secret) => server.client_token(s.caller, secret).await,
            None => server.login(s.caller).await,
        };
        tokens.insert(s.caller, token);
    }
    for user in ["mash.manager", "police.mash", "health.mash"] {
        tokens.insert(user, server.login(user).await);
    }
    let loader = Loader { server, tokens };
    let mut model = Model::default();
    // From just before the previous period (1 June, London) to just after the report's
    // (30 November): late evenings in UTC are the next day in London in summer.
    let (first, last) = (utc(2019, 5, 31, 12), utc(2019, 12, 1, 12));

    for i in 0..170 {
        let s = &SUBMITTERS[rng.gen_range(0..SUBMITTERS.len())];
        let source = pick(&mut rng, s.sources).to_string();
        let at = match BOUNDARIES.get(i) {
            Some(minutes_after) => utc(2019, 1, 1, 0) + Duration::minutes(*minutes_after),
            None => between(&mut rng, first, last),
        };
        let consent_position = pick(&mut rng, &["GIVEN", "GIVEN", "NOT_SOUGHT", "REFUSED"]);
        let consent = match consent_position {
            "GIVEN" => {
                json!({ "position": "GIVEN", "givenBy": "A fictional parent", "relationship": "mother", "obtainedAt": iso(at - Duration::hours(1)) })
            }
            "NOT_SOUGHT" => {
                json!({ "position": "NOT_SOUGHT", "notSoughtReason": "Fictional reason" })
            }
            _ => json!({ "position": "REFUSED" }),
        };
        let submitted = loader
            .call(
                s.caller,
                "mutation($input: SubmitContactInput!) { submitContact(input: $input) { id decisionDueAt } }",
                json!({ "input": {
                    "child": { "firstName": "Gen", "lastName": format!("Contact{}", letters(i)), "dateOfBirth": "2012-05-05", "gender": "NOT_STATED" },
                    "sourceCode": source, "concernCategories": ["21"], "narrative": "A generated, fictional concern.",
                    "consent": consent, "occurredAt": iso(at) } }),
                "submitContact",
            )
            .await;
        let contact_id = submitted["id"].as_str().unwrap().to_string();
        let mut contact = GenContact {
            agency: s.agency,
            source,
            consent: consent_position,
            at,
            due: parse(&submitted["decisionDueAt"]),
            decision: None,
        };

        // Information requests, where consent allows them.
        if consent_position == "GIVEN" && rng.gen_bool(0.6) {
            let withdraw = rng.gen_bool(0.15);
            for _ in 0..rng.gen_range(1..=2) {
                let (agency, desk) = pick(
                    &mut rng,
                    &[(POLICE, "police.mash"), (HEALTH, "health.mash")],
                );
                let sent = at + minutes(&mut rng, 5, 30 * 60);
                let priority = pick(&mut rng, &["RED", "AMBER", "GREEN"]);
                let request = loader
                    .call(
                        "mash.social.worker",
                        "mutation($input: SendInformationRequestInput!) { sendInformationRequest(input: $input) { id dueAt } }",
                        json!({ "input": { "contactId": contact_id, "toAgencyId": agencies[agency], "questions": "What do you know? (generated)",
                                           "priority": priority, "occurredAt": iso(sent) } }),
                        "sendInformationRequest",
                    )
                    .await;
                let request_id = request["id"].as_str().unwrap().to_string();
                let mut generated = GenRequest {
                    agency,
                    sent,
                    due: parse(&request["dueAt"]),
                    answered: None,
                    withdrawn: withdraw,
                };
                let roll = rng.gen_range(0..100);
                if !withdraw && roll < 65 {
                    let answered = sent + minutes(&mut rng, 10, 100 * 60);
                    let response = loader
                        .call(
                            desk,
                            "mutation($r: ID!, $d: [DisclosureInput!]!) { respondToInformationRequest(requestId: $r, disclosures: $d) { answeredAt } }",
                            json!({ "r": request_id, "d": [{ "content": "Nothing known (generated).", "category": "none",
                                "lawfulBasis": "UK_GDPR_6_1_E_PUBLIC_TASK", "handlingCode": "P", "occurredAt": iso(answered) }] }),
                            "respondToInformationRequest",
                        )
                        .await;
                    assert_eq!(parse(&response["answeredAt"]), answered);
                    generated.answered = Some(answered);
                } else if !withdraw && roll < 80 {
                    let response = loader
                        .call(
                            desk,
                            "mutation($r: ID!) { declineInformationRequest(requestId: $r, reason: \"Not ours to share (generated).\") { answeredAt } }",
                            json!({ "r": request_id }),
                            "declineInformationRequest",
                        )
                        .await;
                    generated.answered = Some(parse(&response["answeredAt"]));
                }
                model.requests.push(generated);
            }
            if withdraw {
                let body = loader
                    .call(
                        "mash.social.worker",
                        "query($c: ID!) { contact(id: $c) { consents { id } } }",
                        json!({ "c": contact_id }),
                        "contact",
                    )
                    .await;
                loader
                    .call(
                        "mash.social.worker",
                        "mutation($c: ID!) { withdrawConsent(consentId: $c) { id } }",
                        json!({ "c": body["consents"][0]["id"] }),
                        "withdrawConsent",
                    )
                    .await;
            }
        }

        // The decision, and what follows it.
        if rng.gen_bool(0.8) {
            let decided = at + minutes(&mut rng, 10, 60 * 60);
            let outcome = pick(
                &mut rng,
                &[
                    "NO_FURTHER_ACTION",
                    "NO_FURTHER_ACTION",
                    "NO_FURTHER_ACTION",
                    "INFORMATION_AND_ADVICE",
                    "STEP_DOWN_TO_EARLY_HELP",
                    "STEP_DOWN_TO_EARLY_HELP",
                    "REFERRAL_FOR_ASSESSMENT",
                    "REFERRAL_FOR_ASSESSMENT",
                    "REFERRAL_FOR_ASSESSMENT",
                    "STRATEGY_DISCUSSION",
                ],
            );
            loader
                .call(
                    "mash.manager",
                    &format!("mutation($c: ID!, $at: DateTime!) {{ recordDecision(input: {{ contactId: $c, outcome: {outcome}, thresholdLevel: 3, rationale: \"Generated.\", occurredAt: $at }}) {{ id }} }}"),
                    json!({ "c": contact_id, "at": iso(decided) }),
                    "recordDecision",
                )
                .await;
            contact.decision = Some((decided, outcome));
            if matches!(outcome, "REFERRAL_FOR_ASSESSMENT" | "STRATEGY_DISCUSSION") {
                model.referrals.push(decided);
                chain(
                    &loader,
                    &mut rng,
                    &mut model,
                    &contact_id,
                    decided,
                    outcome,
                    agencies,
                )
                .await;
            }
            if outcome == "STEP_DOWN_TO_EARLY_HELP" && rng.gen_bool(0.85) {
                early_help(
                    &loader,
                    &mut rng,
                    &mut model,
                    &contact_id,
                    decided,
                    agencies,
                )
                .await;
            }
        }
        model.contacts.push(contact);
    }

    // Missing episodes for 40 children, one batch from the police case system.
    let mut inputs = Vec::new();
    for i in 0..160 {
        let child = rng.gen_range(0..40usize);
        let reported = match BOUNDARIES.get(i) {
            // Reported earlier; notified just before a London midnight that is a UTC one.
            Some(minutes_after) => utc(2019, 1, 1, 0) + Duration::minutes(*minutes_after - 600),
            None => between(&mut rng, first, last),
        };
        // Mostly prompt notifications, some very late; some with no notification time.
        let notified = if i < BOUNDARIES.len() {
            Some(reported + Duration::minutes(600))
        } else {
            rng.gen_bool(0.85).then(|| {
                reported
                    + if rng.gen_bool(0.8) {
                        minutes(&mut rng, 5, 12 * 60)
                    } else {
                        minutes(&mut rng, 12 * 60, 150 * 60)
                    }
            })
        };
        let returned = rng
            .gen_bool(0.8)
            .then(|| reported + minutes(&mut rng, 30, 10 * 24 * 60));
        let return_notified = returned
            .filter(|_| rng.gen_bool(0.7))
            .map(|r| r + minutes(&mut rng, 0, 80 * 60));
        let interview = returned.and_then(|r| {
            let roll = rng.gen_range(0..100);
            Some(match roll {
                0..=44 => {
                    let completed = r + minutes(&mut rng, 60, 150 * 60);
                    let late = completed > r + Duration::hours(72);
                    GenInterview {
                        outcome: "COMPLETED",
                        completed: Some(completed),
                        late_reason: late.then(|| pick(&mut rng, &LATE)),
                        not_offered: None,
                    }
                }
                45..=56 => GenInterview {
                    outcome: "NOT_OFFERED",
                    completed: None,
                    late_reason: None,
                    not_offered: Some(pick(&mut rng, &NOT_OFFERED)),
                },
                57..=76 => GenInterview {
                    outcome: "DECLINED",
                    completed: None,
                    late_reason: None,
                    not_offered: None,
                },
                77..=81 => GenInterview {
                    outcome: "CARRIED_OVER",
                    completed: None,
                    late_reason: None,
                    not_offered: None,
                },
                _ => return None,
            })
        });
        inputs.push(json!({
            "child": { "firstName": format!("Miss{}", letters(child)), "lastName": "Generated", "dateOfBirth": (date(2006, 1, 1) + Duration::days(child as i64 * 37)).to_string(), "gender": "FEMALE" },
            "reportedMissingAt": iso(reported), "riskGrade": pick(&mut rng, &["HIGH", "MEDIUM", "LOW", "NO_APPARENT_RISK"]),
            "laNotifiedAt": notified.map(iso), "returnedAt": returned.map(iso), "returnNotifiedAt": return_notified.map(iso),
            "idempotencyKey": format!("generated-{i}")
        }));
        model.episodes.push(GenEpisode {
            child,
            reported,
            notified,
            returned,
            return_notified,
            interview,
        });
    }
    let results = loader
        .call(
            "police-case-system",
            "mutation($e: [MissingEpisodeInput!]!) { reportMissingEpisodes(episodes: $e) { index episode { id } error { code field message } } }",
            json!({ "e": inputs }),
            "reportMissingEpisodes",
        )
        .await;
    for (episode, result) in model.episodes.iter().zip(results.as_array().unwrap()) {
        assert!(result["error"].is_null(), "{result}");
        let Some(interview) = &episode.interview else {
            continue;
        };
        loader
            .call(
                "mash.social.worker",
                "mutation($input: ReturnHomeInterviewInput!) { recordReturnHomeInterview(input: $input) { id } }",
                json!({ "input": { "episodeId": result["episode"]["id"], "outcome": interview.outcome,
                    "completedAt": interview.completed.map(iso), "lateReason": interview.late_reason, "notOfferedReason": interview.not_offered } }),
                "recordReturnHomeInterview",
            )
            .await;
    }
    model
}

const REFERRAL_CHAIN: &str = "id assessments { id } strategyDiscussions { section47 { id } }";

async fn chain(
    loader: &Loader<'_>,
    rng: &mut StdRng,
    model: &mut Model,
    contact_id: &str,
    referred: DateTime<Utc>,
    outcome: &str,
    agencies: &HashMap<String, String>,
) {
    let referrals = loader
        .call(
            "mash.social.worker",
            "query($c: ID!) { referrals(contactId: $c) { edges { node { id } } } }",
            json!({ "c": contact_id }),
            "referrals",
        )
        .await;
    let referral = referrals["edges"][0]["node"]["id"].clone();
    let mutate = |name: &str| {
        let input = format!("{}{}Input", name[..1].to_uppercase(), &name[1..]);
        format!("mutation($input: {input}!) {{ {name}(input: $input) {{ {REFERRAL_CHAIN} }} }}")
    };
    if outcome == "REFERRAL_FOR_ASSESSMENT" {
        if !rng.gen_bool(0.8) {
            return;
        }
        let started = referred + minutes(rng, 30, 72 * 60);
        let body = loader
            .call(
                "mash.social.worker",
                &mutate("startAssessment"),
                json!({ "input": { "referralId": referral, "startedAt": iso(started) } }),
                "startAssessment",
            )
            .await;
        if rng.gen_bool(0.75) {
            let authorised = started + minutes(rng, 60, 50 * 24 * 60);
            let outcome = pick(
                rng,
                &[
                    "NO_FURTHER_ACTION",
                    "NO_FURTHER_ACTION",
                    "STEP_DOWN_TO_EARLY_HELP",
                    "STRATEGY_DISCUSSION",
                    "OTHER",
                ],
            );
            loader
                .call(
                    "mash.social.worker",
                    &mutate("updateAssessment"),
                    json!({ "input": { "assessmentId": body["assessments"][0]["id"], "authorisedAt": iso(authorised), "outcome": outcome } }),
                    "updateAssessment",
                )
                .await;
            if authorised.format("%Y").to_string() == "2019" {
                model
                    .assessments
                    .push((authorised, outcome == "NO_FURTHER_ACTION"));
            }
        }
    } else {
        if !rng.gen_bool(0.9) {
            return;
        }
        let held = referred + minutes(rng, 0, 72 * 60);
        let s47 = rng.gen_bool(0.65);
        let body = loader
            .call(
                "mash.social.worker",
                &mutate("recordStrategyDiscussion"),
                json!({ "input": { "referralId": referral, "heldAt": iso(held), "agenciesPresent": [agencies[POLICE], agencies[HEALTH]], "section47Started": s47 } }),
                "recordStrategyDiscussion",
            )
            .await;
        model.strategy_discussions.push(held);
        if s47 {
            let conference = rng.gen_bool(0.5);
            if conference {
                loader
                    .call(
                        "mash.social.worker",
                        &mutate("recordConference"),
                        json!({ "input": { "section47Id": body["strategyDiscussions"][0]["section47"]["id"],
                            "heldAt": iso(held + minutes(rng, 24 * 60, 25 * 24 * 60)), "planMade": rng.gen_bool(0.5) } }),
                        "recordConference",
                    )
                    .await;
            }
            model.section47s.push((held, conference));
        }
    }
}

async fn early_help(
    loader: &Loader<'_>,
    rng: &mut StdRng,
    model: &mut Model,
    contact_id: &str,
    decided: DateTime<Utc>,
    agencies: &HashMap<String, String>,
) {
    let requested = decided + minutes(rng, 0, 48 * 60);
    let episode = loader
        .call(
            "mash.social.worker",
            "mutation($c: ID!, $a: ID!, $at: DateTime!) { requestEarlyHelp(input: { contactId: $c, agencyId: $a, requestedAt: $at }) { id } }",
            json!({ "c": contact_id, "a": agencies[EARLY_HELP], "at": iso(requested) }),
            "requestEarlyHelp",
        )
        .await;
    let mut generated = GenEarlyHelp {
        requested,
        screened: None,
        assessment: None,
    };
    if rng.gen_bool(0.75) {
        let screened = requested + minutes(rng, 60, 15 * 24 * 60);
        let outcome = pick(
            rng,
            &[
                "EARLY_HELP_ASSESSMENT",
                "EARLY_HELP_ASSESSMENT",
                "SIGNPOSTED",
                "NO_FURTHER_ACTION",
                "RETURNED_TO_MASH",
            ],
        );
        let assessment = (outcome == "EARLY_HELP_ASSESSMENT" && rng.gen_bool(0.7))
            .then(|| screened + minutes(rng, 60, 20 * 24 * 60));
        loader
            .call(
                "earlyhelp.mash",
                "mutation($input: UpdateEarlyHelpEpisodeInput!) { updateEarlyHelpEpisode(input: $input) { id } }",
                json!({ "input": { "episodeId": episode["id"], "screenedAt": iso(screened), "screeningOutcome": outcome,
                    "assessmentStartedAt": assessment.map(iso) } }),
                "updateEarlyHelpEpisode",
            )
            .await;
        generated.screened = Some((screened, outcome));
        generated.assessment = assessment;
    }
    model.early_help.push(generated);
}

// ---------------------------------------------------------------- the expected figures

fn pct(part: usize, whole: usize) -> Value {
    if whole == 0 {
        Value::Null
    } else {
        json!((100.0 * part as f64 / whole as f64).round() as i64)
    }
}

/// Linear interpolation between the nearest ranks, written out the textbook way.
fn quantile(mut values: Vec<f64>, p: f64) -> Value {
    if values.is_empty() {
        return Value::Null;
    }
    values.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let h = (values.len() - 1) as f64 * p;
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    json!(values[lo] * (1.0 - (h - lo as f64)) + values[hi] * (h - lo as f64))
}

fn hours(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_seconds() as f64 / 3600.0
}

fn counts(codes: &[&str], found: impl Iterator<Item = &'static str>, key: &str) -> Value {
    let mut n: BTreeMap<&str, usize> = BTreeMap::new();
    for f in found {
        *n.entry(f).or_default() += 1;
    }
    json!(codes
        .iter()
        .map(|c| json!({ key: c, "count": n.get(c).copied().unwrap_or(0) }))
        .collect::<Vec<_>>())
}

fn expected(
    model: &Model,
    agencies: &HashMap<String, String>,
    from: NaiveDate,
    to: NaiveDate,
    label: &str,
) -> Value {
    let inside = |at: DateTime<Utc>| (from..=to).contains(&london(at));
    let contacts: Vec<&GenContact> = model.contacts.iter().filter(|c| inside(c.at)).collect();
    let assessments: Vec<&(DateTime<Utc>, bool)> =
        model.assessments.iter().filter(|a| inside(a.0)).collect();
    let s47s: Vec<&(DateTime<Utc>, bool)> =
        model.section47s.iter().filter(|s| inside(s.0)).collect();
    let episodes: Vec<&GenEpisode> = model
        .episodes
        .iter()
        .filter(|e| inside(e.notified.unwrap_or(e.reported)))
        .collect();

    let interviews: Vec<&GenInterview> = episodes
        .iter()
        .filter_map(|e| e.interview.as_ref())
        .collect();
    let with = |outcome: &str| interviews.iter().filter(|i| i.outcome == outcome).count();
    let completed: Vec<&&GenInterview> = interviews
        .iter()
        .filter(|i| i.outcome == "COMPLETED")
        .collect();
    let late: Vec<&&GenInterview> = completed
        .iter()
        .copied()
        .filter(|i| i.late_reason.is_some())
        .collect();
    let rhi = json!({
        "completed": completed.len(),
        "inTimescale": completed.len() - late.len(),
        "inTimescalePercent": pct(completed.len() - late.len(), completed.len()),
        "outOfTimescale": late.len(),
        "outOfTimescaleByReason": counts(&LATE, late.iter().map(|i| i.late_reason.unwrap()), "reason"),
        "outOfTimescaleNoReason": 0,
        "notOffered": with("NOT_OFFERED"),
        "notOfferedByReason": counts(&NOT_OFFERED, interviews.iter().filter_map(|i| i.not_offered), "reason"),
        "declined": with("DECLINED"),
        "carriedOver": with("CARRIED_OVER"),
        "open": episodes.iter().filter(|e| e.returned.is_some() && e.interview.is_none()).count(),
        "awaitingReturn": episodes.iter().filter(|e| e.returned.is_none()).count(),
    });

    let mut requests: BTreeMap<&str, Vec<&GenRequest>> = BTreeMap::new();
    for r in model
        .requests
        .iter()
        .filter(|r| inside(r.sent) && !r.withdrawn)
    {
        requests.entry(r.agency).or_default().push(r);
    }
    let information_requests: Vec<Value> = requests
        .iter()
        .map(|(agency, list)| {
            let by_due = list.iter().filter(|r| r.answered.is_some_and(|a| a <= r.due)).count();
            json!({
                "agencyId": agencies[*agency], "agencyName": agency, "requests": list.len(),
                "answered": list.iter().filter(|r| r.answered.is_some()).count(),
                "answeredByDue": by_due, "answeredByDuePercent": pct(by_due, list.len()),
                "medianHoursToAnswer": quantile(list.iter().filter_map(|r| r.answered.map(|a| hours(r.sent, a))).collect(), 0.5),
            })
        })
        .collect();

    let help: Vec<&GenEarlyHelp> = model
        .early_help
        .iter()
        .filter(|e| inside(e.requested))
        .collect();
    let early_help = json!({
        "requests": help.len(),
        "screened": help.iter().filter(|e| e.screened.is_some()).count(),
        "medianDaysToScreening": quantile(help.iter().filter_map(|e| e.screened.map(|s| hours(e.requested, s.0) / 24.0)).collect(), 0.5),
        "assessmentsStarted": help.iter().filter(|e| e.assessment.is_some()).count(),
        "medianDaysToAssessment": quantile(help.iter().filter_map(|e| e.assessment.map(|a| hours(e.requested, a) / 24.0)).collect(), 0.5),
        "screeningOutcomes": counts(&SCREENING, help.iter().filter_map(|e| e.screened.map(|s| s.1)), "outcome"),
        "notYetScreened": help.iter().filter(|e| e.screened.is_none()).count(),
    });

    let notify: Vec<f64> = episodes
        .iter()
        .filter_map(|e| e.notified.map(|n| hours(e.reported, n)))
        .collect();
    let returns: Vec<f64> = episodes
        .iter()
        .filter_map(|e| Some(hours(e.returned?, e.return_notified?)))
        .collect();
    let delay = json!({
        "missingNotified": notify.len(),
        "medianHoursToNotification": quantile(notify.clone(), 0.5),
        "p90HoursToNotification": quantile(notify, 0.9),
        "returnsNotified": returns.len(),
        "medianHoursToReturnNotification": quantile(returns.clone(), 0.5),
        "p90HoursToReturnNotification": quantile(returns, 0.9),
    });

    let mut by_agency: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut by_source: BTreeMap<usize, (usize, usize)> = BTreeMap::new();
    for c in &contacts {
        let a = by_agency.entry(c.agency).or_default();
        a.0 += 1;
        a.1 += usize::from(c.consent != "NOT_SOUGHT");
        let rank = SOURCE_ORDER.iter().position(|s| *s == c.source).unwrap();
        let s = by_source.entry(rank).or_default();
        s.0 += 1;
        s.1 += usize::from(c.decision.is_some_and(|d| d.1 == "NO_FURTHER_ACTION"));
    }
    let on_time = contacts
        .iter()
        .filter(|c| c.decision.is_some_and(|d| d.0 <= c.due))
        .count();
    let nfa_assessments = assessments.iter().filter(|a| a.1).count();
    let conferences = s47s.iter().filter(|s| s.1).count();
    json!({
        "from": from.to_string(), "to": to.to_string(), "label": label,
        "contacts": contacts.len(),
        "referrals": model.referrals.iter().filter(|r| inside(**r)).count(),
        "assessmentsCompleted": assessments.len(),
        "assessmentsNfa": nfa_assessments,
        "assessmentsNfaPercent": pct(nfa_assessments, assessments.len()),
        "strategyDiscussions": model.strategy_discussions.iter().filter(|s| inside(**s)).count(),
        "section47Enquiries": s47s.len(),
        "section47ToConference": conferences,
        "section47ToConferencePercent": pct(conferences, s47s.len()),
        "missingNotifications": episodes.len(),
        "missingChildren": episodes.iter().map(|e| e.child).collect::<HashSet<_>>().len(),
        "rhi": rhi,
        "informationRequests": information_requests,
        "earlyHelp": early_help,
        "policeNotificationDelay": delay,
        "consentByAgency": by_agency.iter().map(|(agency, (n, recorded))| json!({
            "agencyId": agencies[*agency], "agencyName": agency, "contacts": n, "consentRecorded": recorded,
            "consentRecordedPercent": pct(*recorded, *n) })).collect::<Vec<_>>(),
        "decidedWithinOneWorkingDay": on_time,
        "decidedWithinOneWorkingDayPercent": pct(on_time, contacts.len()),
        "nfaBySource": by_source.iter().map(|(rank, (n, nfa))| json!({
            "sourceCode": SOURCE_ORDER[*rank], "contacts": n, "nfa": nfa, "nfaPercent": pct(*nfa, *n) })).collect::<Vec<_>>(),
        // Everything generated is loaded years after it happened.
        "contactsRecordedLate": contacts.len(),
        "missingEpisodesRecordedLate": episodes.len(),
    })
}

fn change(before: &Value, now: &Value, field: &str) -> Value {
    let (b, n) = (
        before[field].as_i64().unwrap(),
        now[field].as_i64().unwrap(),
    );
    if b == 0 {
        Value::Null
    } else {
        json!((100.0 * (n - b) as f64 / b as f64).round() as i64)
    }
}

/// Equal JSON, with floats equal to within a millionth; panics naming the first difference.
fn assert_close(actual: &Value, expected: &Value, path: &str) {
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => {
            let mut keys: Vec<&String> = a.keys().chain(e.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                assert_close(
                    &a.get(k).cloned().unwrap_or(Value::Null),
                    &e.get(k).cloned().unwrap_or(Value::Null),
                    &format!("{path}.{k}"),
                );
            }
        }
        (Value::Array(a), Value::Array(e)) => {
            assert_eq!(a.len(), e.len(), "{path}: {actual} != {expected}");
            for (i, (x, y)) in a.iter().zip(e).enumerate() {
                assert_close(x, y, &format!("{path}[{i}]"));
            }
        }
        (Value::Number(a), Value::Number(e)) if a.is_f64() || e.is_f64() => {
            let (a, e) = (a.as_f64().unwrap(), e.as_f64().unwrap());
            assert!((a - e).abs() < 1e-6, "{path}: {a} != {e}");
        }
        _ => assert_eq!(actual, expected, "{path}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_records_give_the_figures_computed_from_them() {
    each_backend(|server| async move {
        let agencies = agency_ids(&server).await;
        let model = generate(&server, &agencies).await;
        // The generator made something of everything.
        assert!(model.contacts.len() == 170 && model.episodes.len() == 160);
        assert!(
            model.assessments.len() > 10
                && model.section47s.len() > 3
                && model.early_help.len() > 5
        );
        assert!(model.requests.iter().any(|r| r.withdrawn) && model.requests.len() > 20);

        let manager = server.login("mash.manager").await;
        let vars = json!({ "from": "2019-09-01", "to": "2019-11-30" });
        let body = server
            .gql(Some(&manager), &report_query(), vars.clone())
            .await;
        let report = ok(&body, "performanceReport").clone();

        let months = [
            (date(2019, 9, 1), date(2019, 9, 30), "2019-09"),
            (date(2019, 10, 1), date(2019, 10, 31), "2019-10"),
            (date(2019, 11, 1), date(2019, 11, 30), "2019-11"),
        ];
        let expected_months: Vec<Value> = months
            .iter()
            .map(|(from, to, label)| expected(&model, &agencies, *from, *to, label))
            .collect();
        for (i, month) in expected_months.iter().enumerate() {
            assert_close(&report["months"][i], month, &format!("months[{i}]"));
        }
        assert_eq!(report["months"].as_array().unwrap().len(), 3);
        let total = expected(
            &model,
            &agencies,
            date(2019, 9, 1),
            date(2019, 11, 30),
            "2019-09-01/2019-11-30",
        );
        assert_close(&report["total"], &total, "total");
        let previous = expected(
            &model,
            &agencies,
            date(2019, 6, 1),
            date(2019, 8, 31),
            "2019-06-01/2019-08-31",
        );
        assert_close(&report["previous"], &previous, "previous");
        let fields = [
            "contacts",
            "referrals",
            "assessmentsCompleted",
            "strategyDiscussions",
            "section47Enquiries",
            "missingNotifications",
        ];
        let change: serde_json::Map<String, Value> = fields
            .iter()
            .map(|f| (f.to_string(), change(&previous, &total, f)))
            .collect();
        assert_close(&report["change"], &Value::Object(change), "change");
        assert_eq!(report["from"], "2019-09-01");
        assert_eq!(report["to"], "2019-11-30");

        // The months add up to the total where a figure is a plain count.
        for field in [
            "contacts",
            "referrals",
            "missingNotifications",
            "strategyDiscussions",
        ] {
            let sum: i64 = (0..3)
                .map(|i| report["months"][i][field].as_i64().unwrap())
                .sum();
            assert_eq!(sum, report["total"][field].as_i64().unwrap(), "{field}");
        }
        // Boundaries were exercised: records at London midnights that are not UTC ones.
        let boundary = utc(2019, 8, 31, 23) + Duration::minutes(30);
        assert_eq!(london(boundary), date(2019, 9, 1));
        assert!(model.contacts.iter().any(|c| c.at == boundary));
        assert!(model.episodes.iter().any(|e| e.notified == Some(boundary)));

        // The auditor sees the same figures.
        let auditor = server.login("auditor").await;
        let body = server.gql(Some(&auditor), &report_query(), vars).await;
        assert_eq!(ok(&body, "performanceReport"), &report);
    })
    .await;
}
