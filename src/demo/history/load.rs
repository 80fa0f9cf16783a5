//! Loading the plan through the API, as the agencies' users and clients would.
use super::*;

/// Progress shared by the loading workers.
#[derive(Default)]
pub struct Progress {
    pub done: AtomicUsize,
}

pub(super) fn id_at(value: &Value, path: &[&str]) -> Result<String, String> {
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

pub(super) fn agency(agencies: &[(String, String)], name: &str) -> Result<String, String> {
    agencies
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, id)| id.clone())
        .ok_or_else(|| format!("no demo agency {name}"))
}

pub(super) async fn load_contact(
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

pub(super) const TEAMS: [(&str, &str); 3] = [
    ("Initial Response Service 1", "Alex Example (fictional)"),
    ("Initial Response Service 2", "Sam Sample (fictional)"),
    ("Initial Response Service 3", "Jo Placeholder (fictional)"),
];

pub(super) async fn load_referral(
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

pub(super) async fn load_episodes(api: &impl Api, episodes: &[EpisodePlan]) -> Result<(), String> {
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
