//! Demo history: March–November 2019 at the demo MASH, shaped so that `performanceReport`
//! reproduces the figures of the council's 2020 scrutiny report (contacts and referrals
//! July–November; assessments ending in NFA 66% then 50%; strategy discussions down 51% and
//! section 47 enquiries down 60%; missing notifications and return home interviews
//! September–November). Everything is loaded through the GraphQL API with its `occurredAt`,
//! as a migration from a legacy system would be. Every person in it is fictional.
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use serde_json::{json, Value};

/// Who calls: a demo username, or a demo machine client id.
pub type Caller = &'static str;

/// A way to call the GraphQL API as a demo user or client (in-process or over HTTP).
pub trait Api: Clone + Send + Sync + 'static {
    /// The `data` of a successful call; an error's text otherwise.
    fn call(
        &self,
        caller: Caller,
        query: &str,
        variables: Value,
    ) -> impl Future<Output = Result<Value, String>> + Send;
}

/// One calendar month of the plan.
#[derive(Clone, Copy, Debug)]
pub struct MonthFigures {
    pub month: u32,
    pub contacts: usize,
    pub referrals: usize,
    pub strategy_discussions: usize,
    pub section47s: usize,
    /// Section 47 enquiries that lead to an initial child protection conference.
    pub conferences: usize,
    pub assessments_completed: usize,
    pub assessments_nfa: usize,
}

const fn month(
    month: u32,
    contacts: usize,
    referrals: usize,
    (strategy_discussions, section47s, conferences): (usize, usize, usize),
    (assessments_completed, assessments_nfa): (usize, usize),
) -> MonthFigures {
    MonthFigures {
        month,
        contacts,
        referrals,
        strategy_discussions,
        section47s,
        conferences,
        assessments_completed,
        assessments_nfa,
    }
}

/// The months of 2019: July–November contacts and referrals are the report's; April–July against
/// August–November gives NFA 396 of 600 = 66% then 250 of 500 = 50%, strategy discussions
/// 205 then 100 (down 51%), section 47 enquiries 150 then 60 (down 60%), with ICPCs
/// rising from 30% to 40% of enquiries.
pub const MONTHS: [MonthFigures; 9] = [
    month(3, 1588, 902, (48, 36, 10), (56, 37)),
    month(4, 1622, 940, (50, 37, 11), (150, 99)),
    month(5, 1701, 981, (52, 38, 11), (150, 99)),
    month(6, 1650, 915, (53, 38, 12), (150, 99)),
    month(7, 1801, 960, (50, 37, 11), (150, 99)),
    month(8, 1271, 535, (25, 15, 6), (125, 62)),
    month(9, 1505, 507, (24, 15, 6), (125, 63)),
    month(10, 1632, 530, (26, 15, 6), (125, 62)),
    month(11, 1440, 502, (25, 15, 6), (125, 63)),
];

/// The report's missing-children figures for one month (counted by notification month).
#[derive(Clone, Copy, Debug)]
pub struct MissingFigures {
    pub month: u32,
    pub notifications: usize,
    pub children: usize,
    pub in_timescale: usize,
    pub late: &'static [(&'static str, usize)],
    pub not_offered: &'static [(&'static str, usize)],
    pub declined: usize,
    pub carried_over: usize,
}

pub const MISSING: [MissingFigures; 3] = [
    MissingFigures {
        month: 9,
        notifications: 98,
        children: 62,
        in_timescale: 22,
        late: &[
            ("POLICE_NOTIFICATION_DELAY", 8),
            ("EARLIEST_CONVENIENCE", 12),
            ("NON_ENGAGEMENT", 7),
        ],
        not_offered: &[
            ("MISSING_AGAIN_WITHIN_72_HOURS", 8),
            ("TRIAGED_NO_APPARENT_RISK", 3),
        ],
        declined: 33,
        carried_over: 0,
    },
    MissingFigures {
        month: 10,
        notifications: 79,
        children: 56,
        in_timescale: 24,
        late: &[
            ("POLICE_NOTIFICATION_DELAY", 12),
            ("EARLIEST_CONVENIENCE", 13),
            ("MISSING_AGAIN", 1),
        ],
        not_offered: &[],
        declined: 21,
        carried_over: 1,
    },
    MissingFigures {
        month: 11,
        notifications: 106,
        children: 58,
        in_timescale: 42,
        late: &[
            ("POLICE_NOTIFICATION_DELAY", 4),
            ("EARLIEST_CONVENIENCE", 4),
        ],
        not_offered: &[
            ("MISSING_AGAIN_WITHIN_72_HOURS", 25),
            ("WHEREABOUTS_UNKNOWN", 1),
            ("IN_CUSTODY", 1),
            ("TRIAGED_NO_APPARENT_RISK", 1),
        ],
        declined: 24,
        carried_over: 3,
    },
];

// ------------------------------------------------------------------------- the plan

#[derive(Clone, Debug)]
pub struct ContactPlan {
    pub submitter: Caller,
    pub child: Value,
    pub received: DateTime<Utc>,
    pub consent: Value,
    pub outcome: &'static str,
    pub decided: DateTime<Utc>,
    pub request: Option<RequestPlan>,
    pub referral: Option<ReferralPlan>,
    pub early_help: Option<EarlyHelpPlan>,
}

#[derive(Clone, Debug)]
pub struct RequestPlan {
    pub agency: &'static str,
    pub responder: Caller,
    pub sent: DateTime<Utc>,
    pub answered: DateTime<Utc>,
}

#[derive(Clone, Debug, Default)]
pub struct ReferralPlan {
    pub assessment: Option<AssessmentPlan>,
    pub strategy: Option<StrategyPlan>,
}

#[derive(Clone, Debug)]
pub struct AssessmentPlan {
    pub started: DateTime<Utc>,
    pub seen: DateTime<Utc>,
    /// With the outcome; `None` while the assessment is still open.
    pub authorised: Option<(DateTime<Utc>, &'static str)>,
}

#[derive(Clone, Debug)]
pub struct StrategyPlan {
    pub held: DateTime<Utc>,
    pub section47: Option<Section47Plan>,
}

#[derive(Clone, Debug)]
pub enum Section47Plan {
    Conference {
        held: DateTime<Utc>,
        plan_made: bool,
    },
    Outcome {
        outcome: &'static str,
        completed: DateTime<Utc>,
    },
}

#[derive(Clone, Debug)]
pub struct EarlyHelpPlan {
    pub requested: DateTime<Utc>,
    pub screened: DateTime<Utc>,
    pub outcome: &'static str,
    pub assessment: Option<(DateTime<Utc>, Option<DateTime<Utc>>)>,
    pub organisation: &'static str,
}

#[derive(Clone, Debug)]
pub struct EpisodePlan {
    pub child: Value,
    pub reported: DateTime<Utc>,
    pub notified: DateTime<Utc>,
    pub grade: &'static str,
    pub returned: DateTime<Utc>,
    pub return_notified: DateTime<Utc>,
    pub interview: Option<Value>,
}

#[derive(Clone, Debug)]
pub struct Plan {
    pub contacts: Vec<ContactPlan>,
    pub episodes: Vec<EpisodePlan>,
}

fn at(month: u32, day: u32, hour: u32) -> DateTime<Utc> {
    // Daytime UTC hours keep the same calendar date in London, in GMT and BST alike.
    Utc.with_ymd_and_hms(2019, month, day, hour, 0, 0)
        .single()
        .expect("valid demo time")
}

/// Spreads item `i` of `n` over days 1–`last` of a month.
fn spread(i: usize, n: usize, last: u32) -> u32 {
    1 + ((i * last as usize) / n.max(1)) as u32 % last
}

const FIRST_NAMES: [&str; 24] = [
    "Ada", "Bo", "Cai", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jas", "Kit", "Lea", "Milo",
    "Nell", "Ori", "Pip", "Quin", "Rae", "Sol", "Tam", "Uma", "Vic", "Wren", "Zed",
];
const SURNAMES: [&str; 20] = [
    "Testwell",
    "Sampleby",
    "Demoford",
    "Mockridge",
    "Placeholm",
    "Fictonby",
    "Exampleton",
    "Dummett",
    "Trialby",
    "Pretendle",
    "Notrealy",
    "Madeupson",
    "Specimen",
    "Proforma",
    "Templey",
    "Draftwood",
    "Stubbings",
    "Fakenham-Demo",
    "Likenot",
    "Seedling",
];
const ETHNICITIES: [&str; 10] = [
    "WBRI", "WBRI", "WBRI", "MWBC", "APKN", "AIND", "BCRB", "WOTH", "ABAN", "NOBT",
];

/// Children of missing episodes are keyed apart from those of contacts.
const MISSING_CHILD_KEYS: usize = 10_000;

/// A fictional child, the same for the same key (so some children recur).
fn child(key: usize) -> Value {
    let first = FIRST_NAMES[key % FIRST_NAMES.len()];
    let last = SURNAMES[(key / FIRST_NAMES.len()) % SURNAMES.len()];
    let age_days = 200 + (key * 997) % (17 * 365);
    let born =
        NaiveDate::from_ymd_opt(2019, 11, 30).expect("date") - Duration::days(age_days as i64);
    let gender = ["MALE", "FEMALE", "MALE", "FEMALE", "NOT_STATED"][key % 5];
    json!({
        "firstName": first,
        "lastName": format!("{last}{}", key / (FIRST_NAMES.len() * SURNAMES.len())),
        "dateOfBirth": born.to_string(),
        "gender": gender,
        "ethnicity": ETHNICITIES[key % ETHNICITIES.len()],
        "disability": key.is_multiple_of(11),
    })
}

/// Who reports, in proportions close to a MASH's: police most, then schools and health.
fn submitter(i: usize) -> Caller {
    match i % 20 {
        0..=6 => "police.referrer",
        7..=8 => "police-case-system",
        9..=12 => "school.referrer",
        13..=16 => "health.referrer",
        _ => "la.referrer",
    }
}

/// Consent recording improves from October, after "Right Help, Right Time".
fn consent(i: usize, month: u32) -> Value {
    let recorded_share = if month >= 10 { 8 } else { 6 };
    match i % 10 {
        n if n < recorded_share - 1 => json!({
            "position": "GIVEN", "givenBy": "Parent (fictional)", "relationship": "parent",
            "purposes": ["safeguarding"] }),
        n if n < recorded_share => json!({ "position": "REFUSED" }),
        _ => {
            json!({ "position": "NOT_SOUGHT", "notSoughtReason": "Not sought before contacting the MASH" })
        }
    }
}

struct Builder {
    contacts: Vec<ContactPlan>,
    next: usize,
}

impl Builder {
    fn contact(&mut self, received: DateTime<Utc>, outcome: &'static str) -> &mut ContactPlan {
        let i = self.next;
        self.next += 1;
        let month = chrono::Datelike::month(&received);
        let decided = if i.is_multiple_of(25) && chrono::Datelike::day(&received) <= 24 {
            received + Duration::days(3)
        } else {
            received + Duration::hours(5)
        };
        self.contacts.push(ContactPlan {
            submitter: submitter(i),
            child: child((i * 7919) % 9000),
            received,
            consent: consent(i / 3, month),
            outcome,
            decided,
            request: None,
            referral: None,
            early_help: None,
        });
        self.contacts.last_mut().expect("just pushed")
    }
}

/// The whole demo history.
pub fn plan() -> Plan {
    build(true)
}

/// The records behind the report's figures only: the demo history without the March–June
/// contacts and referrals that carry no assessment or strategy discussion (the report
/// gives no figures for them). Tests load this to keep their run short.
pub fn seed_plan() -> Plan {
    build(false)
}

fn build(spring_fillers: bool) -> Plan {
    let mut b = Builder {
        contacts: Vec::new(),
        next: 0,
    };
    let mut referrals_in = [0usize; 13];
    let other_outcomes = ["OTHER", "STEP_DOWN_TO_EARLY_HELP", "OTHER"];
    let s47_outcomes = [
        "NFA_CONTINUE_FAMILY_ASSESSMENT",
        "OTHER_AGENCY_TO_MONITOR",
        "PROVISION_OF_SERVICES",
        "NO_FURTHER_ACTION",
    ];
    for m in MONTHS {
        // Front-door strategy discussions, the same day as the decision; those leading to a
        // conference early in the month, so that it is held within the month.
        for k in 0..m.strategy_discussions {
            let day = spread(k, m.strategy_discussions, 27);
            let c = b.contact(at(m.month, day, 9), "STRATEGY_DISCUSSION");
            c.decided = at(m.month, day, 12);
            let held = at(m.month, day, 15);
            let section47 = if k < m.conferences {
                Some(Section47Plan::Conference {
                    held: at(m.month, 1 + (day + 9).min(27), 11),
                    plan_made: k % 4 != 3,
                })
            } else if k < m.section47s {
                Some(Section47Plan::Outcome {
                    outcome: s47_outcomes[k % s47_outcomes.len()],
                    completed: held + Duration::days(8),
                })
            } else {
                None
            };
            c.referral = Some(ReferralPlan {
                assessment: None,
                strategy: Some(StrategyPlan { held, section47 }),
            });
            referrals_in[m.month as usize] += 1;
        }
        // Assessments authorised this month; the referral was three weeks before.
        for k in 0..m.assessments_completed {
            let day = if m.month == 3 {
                22 + (k % 7) as u32
            } else {
                spread(k, m.assessments_completed, 28)
            };
            let authorised = at(m.month, day, 14);
            let referred = authorised - Duration::days(21);
            let outcome = if k < m.assessments_nfa {
                "NO_FURTHER_ACTION"
            } else {
                other_outcomes[k % other_outcomes.len()]
            };
            let c = b.contact(referred - Duration::hours(4), "REFERRAL_FOR_ASSESSMENT");
            c.decided = referred;
            c.referral = Some(ReferralPlan {
                assessment: Some(AssessmentPlan {
                    started: referred + Duration::days(1),
                    seen: referred + Duration::days(3),
                    authorised: Some((authorised, outcome)),
                }),
                strategy: None,
            });
            let rm = chrono::Datelike::month(&referred) as usize;
            referrals_in[rm] += 1;
        }
    }
    // Assessments still open at the end of November (some past their 45 working days).
    for k in 0..40 {
        let referred = at(if k < 10 { 9 } else { 11 }, 2 + (k % 20) as u32, 15);
        let c = b.contact(referred - Duration::hours(4), "REFERRAL_FOR_ASSESSMENT");
        c.decided = referred;
        c.referral = Some(ReferralPlan {
            assessment: Some(AssessmentPlan {
                started: referred + Duration::days(1),
                seen: referred + Duration::days(2),
                authorised: None,
            }),
            strategy: None,
        });
        let rm = chrono::Datelike::month(&referred) as usize;
        referrals_in[rm] += 1;
    }
    // The rest of each month's referrals and contacts.
    let plain = [
        "NO_FURTHER_ACTION",
        "INFORMATION_AND_ADVICE",
        "NO_FURTHER_ACTION",
        "STEP_DOWN_TO_EARLY_HELP",
    ];
    for m in MONTHS {
        if !spring_fillers && m.month < 7 {
            continue;
        }
        let mi = m.month as usize;
        let referrals = m
            .referrals
            .checked_sub(referrals_in[mi])
            .expect("referral quota");
        for k in 0..referrals {
            let received = at(m.month, spread(k, referrals, 28), 8 + (k % 9) as u32);
            b.contact(received, "REFERRAL_FOR_ASSESSMENT").referral = Some(ReferralPlan::default());
        }
        let others = m.contacts - m.referrals;
        let mut step_downs = 0;
        let mut requests = 0;
        for k in 0..others {
            let received = at(m.month, spread(k, others, 28), 8 + (k % 9) as u32);
            let outcome = plain[k % plain.len()];
            let c = b.contact(received, outcome);
            // Information requests on consented contacts: health answers late more often
            // before its MASH presence grew in October; the police mostly in time.
            if requests < 30 && c.consent["position"] == "GIVEN" && k % 7 == 0 {
                let health = requests % 3 != 2;
                let late = if health {
                    m.month < 10 && requests % 2 == 0
                } else {
                    requests % 10 == 0
                };
                let sent = received + Duration::hours(1);
                c.request = Some(RequestPlan {
                    agency: if health {
                        "Walsall Healthcare NHS Trust"
                    } else {
                        "West Midlands Police"
                    },
                    responder: if health { "health.mash" } else { "police.mash" },
                    sent,
                    answered: sent
                        + Duration::hours(if late { 30 } else { 6 + (requests % 12) as i64 }),
                });
                c.decided = c
                    .decided
                    .max(sent + Duration::hours(if late { 31 } else { 20 }));
                requests += 1;
            }
            if outcome == "STEP_DOWN_TO_EARLY_HELP" && step_downs < 30 {
                let requested = c.decided + Duration::hours(1);
                let (screen_days, start_days) = if m.month >= 10 { (4, 7) } else { (12, 21) };
                let screened = requested + Duration::days(screen_days + (step_downs % 3) as i64);
                let outcome = [
                    "EARLY_HELP_ASSESSMENT",
                    "EARLY_HELP_ASSESSMENT",
                    "SIGNPOSTED",
                    "EARLY_HELP_ASSESSMENT",
                    "NO_FURTHER_ACTION",
                ][step_downs % 5];
                let started = screened + Duration::days(start_days);
                let end = at(11, 30, 17);
                let assessment = (outcome == "EARLY_HELP_ASSESSMENT" && started < end).then(|| {
                    let completed = started + Duration::days(35);
                    (started, (completed < end).then_some(completed))
                });
                c.early_help = Some(EarlyHelpPlan {
                    requested,
                    screened: screened.min(end),
                    outcome,
                    assessment,
                    organisation: [
                        "Walsall Early Help Locality Team North",
                        "Walsall Early Help Locality Team South",
                        "Brookhollow Primary School, Walsall",
                    ][step_downs % 3],
                });
                step_downs += 1;
            }
        }
    }
    Plan {
        contacts: b.contacts,
        episodes: episodes(),
    }
}

/// Missing episodes September–November, counted by the month of the police notification.
fn episodes() -> Vec<EpisodePlan> {
    let mut out = Vec::new();
    for (n, m) in MISSING.iter().enumerate() {
        // Interview outcomes in the report's categories, the rest left open.
        let mut interviews: Vec<Option<Value>> = Vec::new();
        for _ in 0..m.in_timescale {
            interviews.push(Some(json!({ "outcome": "COMPLETED", "late": false })));
        }
        for (reason, count) in m.late {
            for _ in 0..*count {
                interviews.push(Some(
                    json!({ "outcome": "COMPLETED", "late": true, "lateReason": reason }),
                ));
            }
        }
        for (reason, count) in m.not_offered {
            for _ in 0..*count {
                interviews.push(Some(
                    json!({ "outcome": "NOT_OFFERED", "notOfferedReason": reason }),
                ));
            }
        }
        interviews.extend((0..m.declined).map(|_| Some(json!({ "outcome": "DECLINED" }))));
        interviews.extend((0..m.carried_over).map(|_| Some(json!({ "outcome": "CARRIED_OVER" }))));
        interviews.resize(m.notifications, None);
        // The first `children` episodes are distinct children; the rest go missing again
        // (a few children account for most repeats, as in the report).
        let repeaters = (m.children / 5).max(1);
        let base = n * 30;
        for (j, interview) in interviews.into_iter().enumerate() {
            let who = if j < m.children {
                j
            } else {
                (j - m.children) % repeaters
            };
            let day = spread(j, m.notifications, 26);
            let reported = at(m.month, day, 8 + (j % 10) as u32);
            let notified = reported + Duration::hours(1 + (j % 12) as i64 * 2);
            let carried = interview
                .as_ref()
                .is_some_and(|i| i["outcome"] == "CARRIED_OVER");
            let returned = if carried {
                at(m.month, 28, 17) + Duration::days(2)
            } else {
                reported + Duration::hours(6 + (j % 5) as i64 * 6)
            };
            let late = interview.as_ref().is_some_and(|i| i["late"] == true);
            let police_delay = interview
                .as_ref()
                .is_some_and(|i| i["lateReason"] == "POLICE_NOTIFICATION_DELAY");
            let return_notified =
                returned + Duration::hours(if police_delay { 70 } else { 1 + (j % 6) as i64 });
            let triaged = interview
                .as_ref()
                .is_some_and(|i| i["notOfferedReason"] == "TRIAGED_NO_APPARENT_RISK");
            let grade = if triaged {
                "NO_APPARENT_RISK"
            } else {
                [
                    "MEDIUM",
                    "MEDIUM",
                    "LOW",
                    "HIGH",
                    "MEDIUM",
                    "LOW",
                    "MEDIUM",
                    "NO_APPARENT_RISK",
                ][j % 8]
            };
            let interview = interview.map(|mut i| {
                if i["outcome"] == "COMPLETED" {
                    let hours = if late {
                        80 + (j % 4) as i64 * 12
                    } else {
                        30 + (j % 4) as i64 * 8
                    };
                    i["completedAt"] = json!(returned + Duration::hours(hours));
                }
                if let Some(map) = i.as_object_mut() {
                    map.remove("late");
                }
                i
            });
            out.push(EpisodePlan {
                child: child(MISSING_CHILD_KEYS + base + who),
                reported,
                notified,
                grade,
                returned,
                return_notified,
                interview,
            });
        }
    }
    out
}

// ------------------------------------------------------------------------- loading

/// Progress shared by the loading workers.
#[derive(Default)]
pub struct Progress {
    pub done: AtomicUsize,
}

fn id_at(value: &Value, path: &[&str]) -> Result<String, String> {
    let mut v = value;
    for p in path {
        v = &v[*p];
    }
    v.as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("no {} in {value}", path.join(".")))
}

/// Agency ids by name, looked up once by the demo administrator.
pub async fn agency_ids(api: &impl Api) -> Result<Vec<(String, String)>, String> {
    let body = api
        .call(
            "admin",
            "{ agencies(first: 100) { edges { node { id name } } } }",
            json!({}),
        )
        .await?;
    Ok(body["agencies"]["edges"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|e| {
            (
                e["node"]["name"].as_str().unwrap_or_default().to_string(),
                e["node"]["id"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect())
}

fn agency(agencies: &[(String, String)], name: &str) -> Result<String, String> {
    agencies
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, id)| id.clone())
        .ok_or_else(|| format!("no demo agency {name}"))
}

async fn load_contact(
    api: &impl Api,
    agencies: &[(String, String)],
    c: &ContactPlan,
) -> Result<(), String> {
    let submitted = api
        .call(
            c.submitter,
            "mutation($input: SubmitContactInput!) { submitContact(input: $input) { id } }",
            json!({ "input": {
            "child": c.child, "concernCategories": ["21"],
            "narrative": "A concern about a fictional child, from the demo history.",
            "consent": c.consent, "occurredAt": c.received } }),
        )
        .await?;
    let contact = id_at(&submitted, &["submitContact", "id"])?;
    if let Some(r) = &c.request {
        let sent = api.call(
            "mash.social.worker",
            "mutation($input: SendInformationRequestInput!) { sendInformationRequest(input: $input) { id } }",
            json!({ "input": { "contactId": contact, "toAgencyId": agency(agencies, r.agency)?,
                "questions": "What do you know about the child and family?", "priority": "AMBER", "occurredAt": r.sent } }),
        )
        .await?;
        let request = id_at(&sent, &["sendInformationRequest", "id"])?;
        api.call(
            r.responder,
            "mutation($r: ID!, $d: [DisclosureInput!]!) { respondToInformationRequest(requestId: $r, disclosures: $d) { id } }",
            json!({ "r": request, "d": [{ "content": "Known to us; no current concerns recorded (fictional).",
                "category": "history", "lawfulBasis": "UK_GDPR_6_1_E_PUBLIC_TASK", "handlingCode": "P", "occurredAt": r.answered }] }),
        )
        .await?;
    }
    let threshold = match c.outcome {
        "NO_FURTHER_ACTION" | "INFORMATION_AND_ADVICE" => 1,
        "STEP_DOWN_TO_EARLY_HELP" => 2,
        _ => 4,
    };
    api.call(
        "mash.manager",
        "mutation($input: RecordDecisionInput!) { recordDecision(input: $input) { id } }",
        json!({ "input": { "contactId": contact, "outcome": c.outcome, "thresholdLevel": threshold,
            "rationale": "Demo history decision.", "occurredAt": c.decided } }),
    )
    .await?;
    if let Some(plan) = &c.referral {
        if plan.assessment.is_some() || plan.strategy.is_some() {
            load_referral(api, agencies, &contact, plan).await?;
        }
    }
    if let Some(e) = &c.early_help {
        let requested = api.call(
            "mash.social.worker",
            "mutation($input: RequestEarlyHelpInput!) { requestEarlyHelp(input: $input) { id } }",
            json!({ "input": { "contactId": contact, "agencyId": agency(agencies, "Walsall Early Help Hub")?, "requestedAt": e.requested } }),
        )
        .await?;
        let mut input = json!({ "episodeId": id_at(&requested, &["requestEarlyHelp", "id"])?,
            "screenedAt": e.screened, "screeningOutcome": e.outcome });
        if let Some((started, completed)) = e.assessment {
            input["assessmentStartedAt"] = json!(started);
            input["organisation"] = json!(e.organisation);
            if let Some(completed) = completed {
                input["assessmentCompletedAt"] = json!(completed);
            }
        }
        api.call(
            "earlyhelp.mash",
            "mutation($input: UpdateEarlyHelpEpisodeInput!) { updateEarlyHelpEpisode(input: $input) { id } }",
            json!({ "input": input }),
        )
        .await?;
    }
    Ok(())
}

const TEAMS: [(&str, &str); 3] = [
    ("Initial Response Service 1", "Alex Example (fictional)"),
    ("Initial Response Service 2", "Sam Sample (fictional)"),
    ("Initial Response Service 3", "Jo Placeholder (fictional)"),
];

async fn load_referral(
    api: &impl Api,
    agencies: &[(String, String)],
    contact: &str,
    plan: &ReferralPlan,
) -> Result<(), String> {
    let chain = "id assessments { id } strategyDiscussions { section47 { id } }";
    let found = api.call(
        "mash.manager",
        &format!("query($c: ID!) {{ referrals(contactId: $c) {{ edges {{ node {{ {chain} }} }} }} }}"),
        json!({ "c": contact }),
    )
    .await?;
    let referral = found["referrals"]["edges"][0]["node"]["id"]
        .as_str()
        .ok_or_else(|| format!("no referral for contact {contact}"))?;
    let (team, worker) = TEAMS[contact.len() % TEAMS.len()];
    if let Some(a) = &plan.assessment {
        let started = api.call(
            "mash.social.worker",
            &format!("mutation($input: StartAssessmentInput!) {{ startAssessment(input: $input) {{ {chain} }} }}"),
            json!({ "input": { "referralId": referral, "startedAt": a.started, "allocatedTeam": team, "allocatedWorker": worker } }),
        )
        .await?;
        let assessment = started["startAssessment"]["assessments"][0]["id"].clone();
        let mut input = json!({ "assessmentId": assessment, "childSeenAt": a.seen });
        if let Some((authorised, outcome)) = a.authorised {
            input["authorisedAt"] = json!(authorised);
            input["outcome"] = json!(outcome);
        }
        api.call(
            "mash.manager",
            "mutation($input: UpdateAssessmentInput!) { updateAssessment(input: $input) { id } }",
            json!({ "input": input }),
        )
        .await?;
    }
    if let Some(s) = &plan.strategy {
        let present = [
            agency(agencies, "West Midlands Police")?,
            agency(agencies, "Walsall Healthcare NHS Trust")?,
            agency(agencies, "Walsall Council Children's Services")?,
        ];
        let recorded = api.call(
            "mash.social.worker",
            &format!("mutation($input: RecordStrategyDiscussionInput!) {{ recordStrategyDiscussion(input: $input) {{ {chain} }} }}"),
            json!({ "input": { "referralId": referral, "heldAt": s.held, "agenciesPresent": present,
                "section47Started": s.section47.is_some(), "allocatedTeam": team, "allocatedWorker": worker } }),
        )
        .await?;
        let section47 = recorded["recordStrategyDiscussion"]["strategyDiscussions"][0]["section47"]
            ["id"]
            .clone();
        match &s.section47 {
            Some(Section47Plan::Conference { held, plan_made }) => {
                api.call(
                    "mash.social.worker",
                    "mutation($input: RecordConferenceInput!) { recordConference(input: $input) { id } }",
                    json!({ "input": { "section47Id": section47, "heldAt": held, "planMade": plan_made,
                        "allocatedTeam": "Child Protection", "allocatedWorker": worker } }),
                )
                .await?;
            }
            Some(Section47Plan::Outcome { outcome, completed }) => {
                api.call(
                    "mash.social.worker",
                    "mutation($input: RecordSection47OutcomeInput!) { recordSection47Outcome(input: $input) { id } }",
                    json!({ "input": { "section47Id": section47, "outcome": outcome, "completedAt": completed } }),
                )
                .await?;
            }
            None => {}
        }
    }
    Ok(())
}

async fn load_episodes(api: &impl Api, episodes: &[EpisodePlan]) -> Result<(), String> {
    for (b, batch) in episodes.chunks(500).enumerate() {
        let items: Vec<Value> = batch
            .iter()
            .enumerate()
            .map(|(i, e)| {
                json!({ "child": e.child, "reportedMissingAt": e.reported, "riskGrade": e.grade,
                    "laNotifiedAt": e.notified, "returnedAt": e.returned, "returnNotifiedAt": e.return_notified,
                    "idempotencyKey": format!("demo-history-{b}-{i}") })
            })
            .collect();
        let body = api.call(
            "police-case-system",
            "mutation($e: [MissingEpisodeInput!]!) { reportMissingEpisodes(episodes: $e) { index episode { id } error { field message } } }",
            json!({ "e": items }),
        )
        .await?;
        let results = body["reportMissingEpisodes"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for (plan, result) in batch.iter().zip(results) {
            let Some(interview) = &plan.interview else {
                continue;
            };
            let episode = id_at(&result, &["episode", "id"])?;
            let mut input = interview.clone();
            input["episodeId"] = json!(episode);
            api.call(
                "mash.social.worker",
                "mutation($input: ReturnHomeInterviewInput!) { recordReturnHomeInterview(input: $input) { id } }",
                json!({ "input": input }),
            )
            .await?;
        }
    }
    Ok(())
}

/// Loads the plan through `api` with `workers` concurrent callers; `progress` counts records.
pub async fn load<A: Api>(
    api: A,
    plan: Plan,
    workers: usize,
    progress: Arc<Progress>,
) -> Result<(), String> {
    let agencies = Arc::new(agency_ids(&api).await?);
    load_episodes(&api, &plan.episodes).await?;
    progress
        .done
        .fetch_add(plan.episodes.len(), Ordering::Relaxed);
    let contacts = Arc::new(plan.contacts);
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..workers.max(1) {
        let (api, agencies, contacts, next, progress) = (
            api.clone(),
            agencies.clone(),
            contacts.clone(),
            next.clone(),
            progress.clone(),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(c) = contacts.get(i) else {
                    return Ok::<(), String>(());
                };
                load_contact(&api, &agencies, c)
                    .await
                    .map_err(|e| format!("contact {i}: {e}"))?;
                progress.done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for task in tasks {
        task.await.map_err(|e| e.to_string())??;
    }
    Ok(())
}

// ------------------------------------------------------------------------- in process

/// The GraphQL API called in-process, as the demo loader of `serve --demo` does: the same
/// schema, resolvers, policy and audit as any integration, without HTTP in between. Each
/// caller signs in as usual (a login, or the client-credentials grant) and its token is
/// resolved to the principal the way the HTTP layer does.
#[derive(Clone)]
pub struct InProcess {
    schema: crate::graphql::FrontdoorSchema,
    callers: Arc<std::collections::HashMap<Caller, crate::domain::Actor>>,
}

impl InProcess {
    pub async fn new(core: &crate::Core) -> Result<InProcess, String> {
        use crate::domain::{identity::sessions, RequestCtx};
        let describe = |e: crate::error::AppError| e.message();
        let schema = crate::graphql::build_schema(Some(core.clone()), false);
        let anonymous = RequestCtx {
            actor: crate::domain::Actor::anonymous(),
            request_id: None,
        };
        let mut callers = std::collections::HashMap::new();
        for user in super::USERS {
            let tokens = sessions::login(core, &anonymous, user.username, super::DEMO_PASSWORD)
                .await
                .map_err(describe)?;
            let actor = sessions::authenticate(core, &tokens.access_token)
                .await
                .map_err(describe)?;
            callers.insert(user.username, actor);
        }
        for client in super::CLIENTS {
            let token = sessions::client_credentials(
                core,
                None,
                None,
                client.client_id,
                client.secret,
                None,
            )
            .await
            .map_err(|e| format!("demo client {}: {e:?}", client.client_id))?;
            let actor = sessions::authenticate(core, &token.access_token)
                .await
                .map_err(describe)?;
            callers.insert(client.client_id, actor);
        }
        Ok(InProcess {
            schema,
            callers: Arc::new(callers),
        })
    }
}

impl Api for InProcess {
    async fn call(&self, caller: Caller, query: &str, variables: Value) -> Result<Value, String> {
        let actor = self
            .callers
            .get(caller)
            .ok_or_else(|| format!("no demo caller {caller}"))?
            .clone();
        let ctx = crate::domain::RequestCtx {
            actor,
            request_id: None,
        };
        let request = async_graphql::Request::new(query)
            .variables(async_graphql::Variables::from_json(variables))
            .data(ctx);
        let response = self.schema.execute(request).await;
        if response.errors.is_empty() {
            response.data.into_json().map_err(|e| e.to_string())
        } else {
            Err(format!("{caller}: {:?}", response.errors))
        }
    }
}
