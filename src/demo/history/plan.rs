//! The plan: every contact, request, referral, early help and missing episode of the 2019
//! history, built from the monthly figures.
use super::*;

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

pub(super) fn at(month: u32, day: u32, hour: u32) -> DateTime<Utc> {
    // Daytime UTC hours keep the same calendar date in London, in GMT and BST alike.
    Utc.with_ymd_and_hms(2019, month, day, hour, 0, 0)
        .single()
        .expect("valid demo time")
}

/// Spreads item `i` of `n` over days 1–`last` of a month.
pub(super) fn spread(i: usize, n: usize, last: u32) -> u32 {
    1 + ((i * last as usize) / n.max(1)) as u32 % last
}

pub(super) const FIRST_NAMES: [&str; 24] = [
    "Ada", "Bo", "Cai", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jas", "Kit", "Lea", "Milo",
    "Nell", "Ori", "Pip", "Quin", "Rae", "Sol", "Tam", "Uma", "Vic", "Wren", "Zed",
];
pub(super) const SURNAMES: [&str; 20] = [
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
pub(super) const ETHNICITIES: [&str; 10] = [
    "WBRI", "WBRI", "WBRI", "MWBC", "APKN", "AIND", "BCRB", "WOTH", "ABAN", "NOBT",
];

/// Children of missing episodes are keyed apart from those of contacts.
pub(super) const MISSING_CHILD_KEYS: usize = 10_000;

/// A fictional child, the same for the same key (so some children recur).
pub(super) fn child(key: usize) -> Value {
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
pub(super) fn submitter(i: usize) -> Caller {
    match i % 20 {
        0..=6 => "police.referrer",
        7..=8 => "police-case-system",
        9..=12 => "school.referrer",
        13..=16 => "health.referrer",
        _ => "la.referrer",
    }
}

/// Consent recording improves from October, after "Right Help, Right Time".
pub(super) fn consent(i: usize, month: u32) -> Value {
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

pub(super) struct Builder {
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

pub(super) fn build(spring_fillers: bool) -> Plan {
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
pub(super) fn episodes() -> Vec<EpisodePlan> {
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
