//! Load driver: starts a release `frontdoor` on SQLite and/or PostgreSQL with demo data,
//! logs in demo principals and drives concurrent GraphQL load, printing throughput and
//! latency percentiles. A GraphQL error inside an HTTP 200 counts as a failure.
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use clap::{Parser, ValueEnum};
use frontdoor_testkit::{Client, FreshDatabase};
use hdrhistogram::Histogram;
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use serde_json::{json, Value};
use tokio::process::{Child, Command};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Db {
    Sqlite,
    Postgres,
    Both,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Scenario {
    /// `{ me { ... agency roles } }` as a mix of demo users.
    Me,
    /// MASH staff read random contacts in full (contact, child with NHS number, two
    /// disclosures with their content): an audited read, each writing a hash-chained audit
    /// entry before it answers. --contacts contacts are seeded first, each with a police
    /// request answered with two disclosures.
    ContactRead,
    /// The police desk polls its inbox: `informationRequests(first: 100)` with each request's
    /// child and disclosures (seeded as for contact-read).
    Inbox,
    /// Referrers submit contacts: a write with duplicate matching, the clock and its audit entry.
    Submit,
    /// The police client sends batches of 500 missing episodes, one after another; prints
    /// each batch's time (connections are ignored).
    MissingBatch,
    /// MASH managers run `performanceReport` for 2019 (and 2018 before it) over a year seeded
    /// through the API: 20,000 contacts (half of them decided, half the referrals followed by
    /// an assessment or a strategy discussion and section 47 enquiry) and 5,000 missing
    /// episodes (most returned, some interviews recorded).
    Report,
    /// 64 (or --connections) anonymous loops call `login` with unknown usernames for
    /// --duration seconds (20 by default for this scenario) while the server's RSS is sampled
    /// every 100 ms; prints peak RSS, RSS each second for 10 s after the load stops, req/s
    /// and the count of each answer code. The per-source limit is off for this run, so
    /// every attempt reaches the password hashing queue (a flood from many addresses).
    LoginFlood,
    /// --subscribers WebSocket connections (1,000 by default) subscribe to
    /// `contactQueueChanged` as MASH staff while referrers submit --rate contacts a second
    /// (100 by default) for --duration seconds; prints each event's delivery latency (from
    /// the change's time to its arrival at the subscriber) as p50/p95/p99/max over every
    /// delivery, deliveries missed, and the server's peak RSS. The events are selected
    /// without the contact itself, so delivery reads nothing and audits nothing.
    Subscribers,
}

#[derive(Parser)]
#[command(about = "Benchmark a release frontdoor server under concurrent GraphQL load")]
struct Args {
    /// Which database(s) to run on.
    #[arg(long, value_enum, default_value = "both")]
    db: Db,
    #[arg(long, value_enum, default_value = "me")]
    scenario: Scenario,
    /// Concurrent connections, comma-separated; one run each.
    #[arg(long, value_delimiter = ',', default_value = "32,128")]
    connections: Vec<usize>,
    /// Measured seconds per run (after a 2 s warm-up).
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// The server binary (build it with `cargo build --release`).
    #[arg(long, default_value = "target/release/frontdoor")]
    server: String,
    /// PostgreSQL server URL; a fresh database is created on it and dropped afterwards.
    #[arg(
        long,
        env = "FRONTDOOR_BENCH_POSTGRES",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    postgres: String,
    #[arg(long, default_value_t = 18080)]
    port: u16,
    /// Contacts seeded for contact-read and inbox (each with a request and two disclosures).
    #[arg(long, default_value_t = 10_000)]
    contacts: usize,
    /// Subscribers for the subscribers scenario.
    #[arg(long, default_value_t = 1000)]
    subscribers: usize,
    /// Events a second for the subscribers scenario.
    #[arg(long, default_value_t = 100)]
    rate: u64,
}

const USERS: [&str; 6] = [
    "mash.manager",
    "mash.social.worker",
    "police.mash",
    "health.mash",
    "school.referrer",
    "auditor",
];
const ME: &str = "{ me { id kind name roles agency { id name kind } } }";
const CONTACT: &str = "query($id: ID!) { contact(id: $id) { id status receivedAt narrative childAsSubmitted { firstName lastName dateOfBirth } child { id details { firstName lastName dateOfBirth nhsNumber } } disclosures { ... on Disclosure { content lawfulBasis occurredAt } } } }";
const INBOX: &str = "{ informationRequests(first: 100) { totalCount edges { node { id status priority dueAt child { firstName lastName dateOfBirth } disclosures { ... on Disclosure { id content } } } } } }";
const SEND: &str = "mutation($c: ID!, $a: ID!) { sendInformationRequest(input: { contactId: $c, toAgencyId: $a, questions: \"What is known of the child and household?\", priority: AMBER }) { id } }";
const RESPOND: &str = "mutation($r: ID!) { respondToInformationRequest(requestId: $r, disclosures: [{ content: \"Two attendances at the address in 2025 (fictional).\", category: \"household\", lawfulBasis: UK_GDPR_6_1_E_PUBLIC_TASK, handlingCode: P }, { content: \"No further police information (fictional).\", category: \"police\", lawfulBasis: UK_GDPR_6_1_E_PUBLIC_TASK, handlingCode: P }]) { id } }";
const SUBMIT: &str = "mutation($input: SubmitContactInput!) { submitContact(input: $input) { id status decisionDueAt } }";
const MASH_USERS: [&str; 3] = ["mash.manager", "mash.manager2", "mash.social.worker"];
const REFERRERS: [&str; 4] = [
    "school.referrer",
    "police.referrer",
    "health.referrer",
    "la.referrer",
];

fn submission(n: usize) -> Value {
    json!({ "input": {
        "child": { "firstName": format!("Benchchild{n}"), "lastName": "Loadtest", "dateOfBirth": "2015-01-01", "gender": "NOT_STATED" },
        "concernCategories": ["21"],
        "narrative": "A fictional concern generated by the benchmark to exercise the front door under load.",
        "consent": { "position": "NOT_SOUGHT", "notSoughtReason": "benchmark" } } })
}

/// A valid NHS number (modulus 11) for the n-th fictional child.
fn nhs_number(n: usize) -> String {
    let mut n = n;
    loop {
        let digits: Vec<u32> = format!("{:09}", (400_000_000 + n) % 1_000_000_000)
            .chars()
            .map(|c| c.to_digit(10).unwrap())
            .collect();
        let sum: u32 = digits
            .iter()
            .enumerate()
            .map(|(i, d)| d * (10 - i as u32))
            .sum();
        let check = match 11 - sum % 11 {
            11 => 0,
            c => c,
        };
        if check != 10 {
            return digits.iter().map(|d| d.to_string()).collect::<String>() + &check.to_string();
        }
        n += 7919;
    }
}

/// Seeds `count` contacts through the API, `SEED_WORKERS` at a time, each with a request to the police
/// answered with two disclosures, and returns their ids.
async fn seed_contacts(client: &Client, count: usize) -> Vec<String> {
    let school = client.login("school.referrer").await;
    let worker = client.login("mash.social.worker").await;
    let desk = client.login("police.mash").await;
    let me = client
        .gql(Some(&desk), "{ me { agency { id } } }", json!({}))
        .await;
    let police = me["data"]["me"]["agency"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let started = Instant::now();
    let ids = Arc::new(std::sync::Mutex::new(Vec::with_capacity(count)));
    let shared = Arc::new((client.clone(), school, worker, desk, police, ids.clone()));
    concurrently(count, move |n| {
        let shared = shared.clone();
        async move {
            let (client, school, worker, desk, police, ids) = &*shared;
            let mut input = submission(n);
            input["input"]["child"]["nhsNumber"] = json!(nhs_number(n));
            input["input"]["consent"] = json!({ "position": "GIVEN", "givenBy": "A parent (fictional)", "relationship": "mother" });
            let body = seed_call(client, school, SUBMIT, input).await;
            let contact = body["submitContact"]["id"].as_str().unwrap().to_string();
            let body = seed_call(client, worker, SEND, json!({ "c": contact, "a": police })).await;
            let request = body["sendInformationRequest"]["id"]
                .as_str()
                .unwrap()
                .to_string();
            seed_call(client, desk, RESPOND, json!({ "r": request })).await;
            ids.lock().unwrap().push(contact);
        }
    })
    .await;
    let ids = std::mem::take(&mut *ids.lock().unwrap());
    println!(
        "seeded {} contacts, each with a request answered with two disclosures, in {:.0} s",
        ids.len(),
        started.elapsed().as_secs_f64()
    );
    ids
}

/// The request bodies a run cycles through, and the tokens that send them.
async fn workload(
    scenario: Scenario,
    client: &Client,
    contacts: usize,
) -> (Vec<Vec<u8>>, Vec<String>) {
    let mut tokens = Vec::new();
    match scenario {
        Scenario::Me => {
            for user in USERS {
                tokens.push(client.login(user).await);
            }
            (
                vec![serde_json::to_vec(&json!({ "query": ME })).unwrap()],
                tokens,
            )
        }
        Scenario::ContactRead => {
            let ids = seed_contacts(client, contacts).await;
            for user in MASH_USERS {
                tokens.push(client.login(user).await);
            }
            let bodies = ids
                .iter()
                .map(|id| {
                    serde_json::to_vec(&json!({ "query": CONTACT, "variables": { "id": id } }))
                        .unwrap()
                })
                .collect();
            (bodies, tokens)
        }
        Scenario::Inbox => {
            seed_contacts(client, contacts).await;
            tokens.push(client.login("police.mash").await);
            (
                vec![serde_json::to_vec(&json!({ "query": INBOX })).unwrap()],
                tokens,
            )
        }
        Scenario::MissingBatch | Scenario::LoginFlood | Scenario::Subscribers => {
            unreachable!("timed by run_batches, login_flood and subscribers")
        }
        Scenario::Report => {
            seed_year(client).await;
            tokens.push(client.login("mash.manager").await);
            tokens.push(client.login("mash.manager2").await);
            let variables = json!({ "from": "2019-01-01", "to": "2019-12-31" });
            let body = json!({ "query": report_query(), "variables": variables });
            let answer = client
                .gql(Some(&tokens[0]), &report_query(), variables)
                .await;
            let total = &answer["data"]["performanceReport"]["total"];
            assert!(total.is_object(), "report: {answer}");
            println!(
                "report: 2019 holds {} contacts, {} referrals, {} missing notifications ({} interviews completed)",
                total["contacts"], total["referrals"], total["missingNotifications"], total["rhi"]["completed"]
            );
            (vec![serde_json::to_vec(&body).unwrap()], tokens)
        }
        Scenario::Submit => {
            for user in REFERRERS {
                tokens.push(client.login(user).await);
            }
            let bodies = (0..1000)
                .map(|n| {
                    serde_json::to_vec(&json!({ "query": SUBMIT, "variables": submission(n) }))
                        .unwrap()
                })
                .collect();
            (bodies, tokens)
        }
    }
}

struct Server {
    child: Child,
    base: String,
    _dir: Option<std::path::PathBuf>,
    database: Option<FreshDatabase>,
}

async fn start_server(args: &Args, db: Db) -> Server {
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let (url, dir, database) = match db {
        Db::Sqlite => {
            let dir = std::env::temp_dir().join(format!("frontdoor-bench-{suffix}"));
            std::fs::create_dir_all(&dir).unwrap();
            (
                format!("sqlite://{}?mode=rwc", dir.join("bench.db").display()),
                Some(dir),
                None,
            )
        }
        _ => {
            let database = FreshDatabase::create(&args.postgres, "frontdoor_bench").await;
            (database.url().to_string(), None, Some(database))
        }
    };
    let mut key = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut key);
    let bind = format!("127.0.0.1:{}", args.port);
    let child = Command::new(&args.server)
        .args(["serve", "--demo", "--no-history", "--bind", &bind])
        .env("DATABASE_URL", &url)
        .env(
            "FRONTDOOR_SIGNING_KEY",
            base64::engine::general_purpose::STANDARD.encode(key),
        )
        .env("FRONTDOOR_LOG", "warn")
        .env("FRONTDOOR_DB_MAX_CONNECTIONS", "16")
        .env(
            "FRONTDOOR_SOURCE_FAILURE_LIMIT",
            if args.scenario == Scenario::LoginFlood {
                "0"
            } else {
                "100"
            },
        )
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start {}: {e} (run `cargo build --release` first)",
                args.server
            )
        });
    let base = format!("http://{bind}");
    let http = reqwest::Client::new();
    for _ in 0..300 {
        if let Ok(r) = http.get(format!("{base}/readyz")).send().await {
            if r.status().is_success() {
                return Server {
                    child,
                    base,
                    _dir: dir,
                    database,
                };
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("server did not become ready");
}

/// Stops the server, then removes its SQLite directory or drops its PostgreSQL database.
async fn stop_server(mut server: Server) {
    let _ = server.child.kill().await;
    if let Some(dir) = &server._dir {
        let _ = std::fs::remove_dir_all(dir);
    }
    drop(server.database.take());
}

struct RunResult {
    ok: u64,
    failed: u64,
    elapsed: Duration,
    histogram: Histogram<u64>,
}

async fn run_load(
    base: &str,
    tokens: &[String],
    bodies: Arc<Vec<Vec<u8>>>,
    connections: usize,
    warmup: Duration,
    measure: Duration,
) -> RunResult {
    let start = Instant::now();
    let measure_from = start + warmup;
    let deadline = measure_from + measure;
    let url = Arc::new(format!("{base}/graphql"));
    let mut tasks = Vec::new();
    for i in 0..connections {
        let token = tokens[i % tokens.len()].clone();
        let url = url.clone();
        let bodies = bodies.clone();
        tasks.push(tokio::spawn(async move {
            // One client per task: one keep-alive connection each.
            let http = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()
                .unwrap();
            let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
            let (mut ok, mut failed) = (0u64, 0u64);
            let mut next = i * 7919;
            loop {
                next = (next + 1) % bodies.len();
                let sent = Instant::now();
                if sent >= deadline {
                    break;
                }
                let result = http
                    .post(url.as_str())
                    .bearer_auth(&token)
                    .header("content-type", "application/json")
                    .body(bodies[next].clone())
                    .send()
                    .await;
                let good = match result {
                    Ok(response) if response.status().is_success() => {
                        match response.bytes().await {
                            Ok(bytes) => serde_json::from_slice::<Value>(&bytes)
                                .map(|v| v.get("errors").is_none())
                                .unwrap_or(false),
                            Err(_) => false,
                        }
                    }
                    _ => false,
                };
                if sent >= measure_from {
                    histogram
                        .record(sent.elapsed().as_micros().max(1) as u64)
                        .unwrap();
                    if good {
                        ok += 1;
                    } else {
                        failed += 1;
                    }
                }
            }
            (ok, failed, histogram)
        }));
    }
    let mut total = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
    let (mut ok, mut failed) = (0, 0);
    for task in tasks {
        let (o, f, h) = task.await.unwrap();
        ok += o;
        failed += f;
        total.add(h).unwrap();
    }
    RunResult {
        ok,
        failed,
        elapsed: measure,
        histogram: total,
    }
}

/// One batch of 500 missing episodes for distinct fictional children.
fn missing_batch(batch: usize) -> Value {
    let episodes: Vec<Value> = (0..500)
        .map(|i| {
            json!({
                "child": { "firstName": format!("Missing{batch}x{i}"), "lastName": "Loadtest", "dateOfBirth": "2011-02-02", "gender": "NOT_STATED" },
                "reportedMissingAt": "2026-09-01T08:00:00Z", "riskGrade": "MEDIUM",
                "laNotifiedAt": "2026-09-01T10:00:00Z", "returnedAt": "2026-09-02T08:00:00Z",
                "idempotencyKey": format!("bench-{batch}-{i}")
            })
        })
        .collect();
    json!({
        "query": "mutation($e: [MissingEpisodeInput!]!) { reportMissingEpisodes(episodes: $e) { index error { code } } }",
        "variables": { "e": episodes }
    })
}

/// Times batches of 500 episodes sent one after another by the police client.
async fn run_batches(base: &str, db: Db, batches: usize) {
    let http = reqwest::Client::new();
    let token = Client::with_http(base, http.clone())
        .demo_client_token("police-case-system")
        .await;
    let mut times = Vec::new();
    for batch in 0..batches {
        let started = Instant::now();
        let body: Value = http
            .post(format!("{base}/graphql"))
            .bearer_auth(&token)
            .json(&missing_batch(batch))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let elapsed = started.elapsed().as_secs_f64();
        let results = body["data"]["reportMissingEpisodes"]
            .as_array()
            .map(|r| r.len())
            .unwrap_or(0);
        let failed = body["data"]["reportMissingEpisodes"]
            .as_array()
            .map(|r| r.iter().filter(|i| !i["error"].is_null()).count())
            .unwrap_or(500);
        assert_eq!(results, 500, "batch answered: {body}");
        times.push(elapsed);
        println!("missing-batch {:<9} batch {batch:>2}: 500 episodes in {elapsed:.3} s, {failed} item errors", format!("{db:?}").to_lowercase());
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "missing-batch {:<9} {} batches of 500: min {:.3} s, median {:.3} s, max {:.3} s",
        format!("{db:?}").to_lowercase(),
        times.len(),
        times[0],
        times[times.len() / 2],
        times[times.len() - 1]
    );
}

const REPORT_CONTACTS: usize = 20_000;
const REPORT_EPISODES: usize = 5_000;
/// Concurrent requests while seeding.
const SEED_WORKERS: usize = 32;
/// 2019-01-01T00:00:00Z.
const YEAR_2019: i64 = 1_546_300_800;
const DAY: i64 = 86_400;

/// One report period's every figure, as a dashboard asks for them.
const REPORT_PERIOD: &str = "from to label contacts referrals assessmentsCompleted assessmentsNfa assessmentsNfaPercent
    strategyDiscussions section47Enquiries section47ToConference section47ToConferencePercent missingNotifications missingChildren
    rhi { completed inTimescale inTimescalePercent outOfTimescale outOfTimescaleByReason { reason count } outOfTimescaleNoReason
          notOffered notOfferedByReason { reason count } declined carriedOver open awaitingReturn }
    informationRequests { agencyId agencyName requests answered answeredByDue answeredByDuePercent medianHoursToAnswer }
    earlyHelp { requests screened medianDaysToScreening assessmentsStarted medianDaysToAssessment screeningOutcomes { outcome count } notYetScreened }
    policeNotificationDelay { missingNotified medianHoursToNotification p90HoursToNotification returnsNotified
                              medianHoursToReturnNotification p90HoursToReturnNotification }
    consentByAgency { agencyId agencyName contacts consentRecorded consentRecordedPercent }
    decidedWithinOneWorkingDay decidedWithinOneWorkingDayPercent nfaBySource { sourceCode contacts nfa nfaPercent }
    contactsRecordedLate missingEpisodesRecordedLate";

fn report_query() -> String {
    format!(
        "query($from: NaiveDate!, $to: NaiveDate!) {{ performanceReport(from: $from, to: $to) {{ from to
            months {{ {REPORT_PERIOD} }} total {{ {REPORT_PERIOD} }} previous {{ {REPORT_PERIOD} }}
            change {{ contacts referrals assessmentsCompleted strategyDiscussions section47Enquiries missingNotifications }} }} }}"
    )
}

/// An instant `secs` after the Unix epoch, as RFC 3339.
fn at(secs: i64) -> String {
    sea_orm::prelude::ChronoDateTimeUtc::from_timestamp(secs, 0)
        .expect("a valid instant")
        .to_rfc3339()
}

/// A GraphQL call whose errors are fatal to the seeding; returns `data`.
async fn seed_call(client: &Client, token: &str, query: &str, variables: Value) -> Value {
    let body = client.gql(Some(token), query, variables).await;
    assert!(body["errors"].is_null(), "seed: {body}");
    body["data"].clone()
}

/// Runs `job(i)` for i in 0..n on `SEED_WORKERS` concurrent tasks.
async fn concurrently<F, Fut>(n: usize, job: F)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let job = Arc::new(job);
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..SEED_WORKERS {
        let (job, next) = (job.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                job(i).await;
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
}

/// Seeds 2019 through the API, as a migration from a legacy system would load it: contacts
/// from the referrers with their `occurredAt` (half decided by the managers), missing
/// episodes in batches of 500 from the police client (most returned), and interviews for
/// some of them recorded by a MASH social worker.
async fn seed_year(client: &Client) {
    let started = Instant::now();
    let mut referrers = Vec::new();
    for user in REFERRERS {
        referrers.push(client.login(user).await);
    }
    let managers = [
        client.login("mash.manager").await,
        client.login("mash.manager2").await,
    ];
    let worker = client.login("mash.social.worker").await;
    let police = client.demo_client_token("police-case-system").await;
    let admin = client.login("admin").await;
    let agencies = seed_call(
        client,
        &admin,
        "{ agencies(first: 100) { edges { node { id kind } } } }",
        json!({}),
    )
    .await;
    let police_agency = agencies["agencies"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["node"]["kind"] == "POLICE")
        .map(|e| e["node"]["id"].clone())
        .expect("a police agency");
    let decided = Arc::new(AtomicUsize::new(0));
    {
        let (client, decided) = (client.clone(), decided.clone());
        let worker = worker.clone();
        concurrently(REPORT_CONTACTS, move |i| {
            let (client, decided) = (client.clone(), decided.clone());
            let referrer = referrers[i % referrers.len()].clone();
            let manager = managers[i % managers.len()].clone();
            let (worker, police_agency) = (worker.clone(), police_agency.clone());
            async move {
                let mut rng = StdRng::seed_from_u64(i as u64);
                let occurred = YEAR_2019 + rng.gen_range(0..365 * DAY - 3600);
                let consent = match rng.gen_range(0..3) {
                    0 => json!({ "position": "GIVEN", "givenBy": "A fictional parent", "relationship": "mother", "obtainedAt": at(occurred) }),
                    1 => json!({ "position": "NOT_SOUGHT", "notSoughtReason": "benchmark" }),
                    _ => json!({ "position": "REFUSED" }),
                };
                let mut input = submission(i);
                input["input"]["consent"] = consent;
                input["input"]["occurredAt"] = json!(at(occurred));
                let data = seed_call(&client, &referrer, SUBMIT, input).await;
                if rng.gen_bool(0.5) {
                    let outcome = ["NO_FURTHER_ACTION", "INFORMATION_AND_ADVICE", "STEP_DOWN_TO_EARLY_HELP", "REFERRAL_FOR_ASSESSMENT", "STRATEGY_DISCUSSION"][rng.gen_range(0..5)];
                    let decided_at = occurred + rng.gen_range(600..48 * 3600);
                    seed_call(
                        &client,
                        &manager,
                        &format!("mutation($c: ID!, $at: DateTime!) {{ recordDecision(input: {{ contactId: $c, outcome: {outcome}, thresholdLevel: 2, rationale: \"Benchmark.\", occurredAt: $at }}) {{ id }} }}"),
                        json!({ "c": data["submitContact"]["id"], "at": at(decided_at) }),
                    )
                    .await;
                    decided.fetch_add(1, Ordering::Relaxed);
                    // Half the referrals go on: an assessment started and authorised, or a
                    // strategy discussion starting a section 47 enquiry, half of those
                    // leading to a conference.
                    if matches!(outcome, "REFERRAL_FOR_ASSESSMENT" | "STRATEGY_DISCUSSION") && rng.gen_bool(0.5) {
                        let contact = data["submitContact"]["id"].clone();
                        let referrals = seed_call(&client, &worker, "query($c: ID!) { referrals(contactId: $c) { edges { node { id } } } }", json!({ "c": contact })).await;
                        let referral = referrals["referrals"]["edges"][0]["node"]["id"].clone();
                        let chain = |name: &str| format!("mutation($input: {}{}Input!) {{ {name}(input: $input) {{ assessments {{ id }} strategyDiscussions {{ section47 {{ id }} }} }} }}", name[..1].to_uppercase(), &name[1..]);
                        let started = decided_at + rng.gen_range(3600..3 * DAY);
                        if outcome == "REFERRAL_FOR_ASSESSMENT" {
                            let body = seed_call(&client, &worker, &chain("startAssessment"), json!({ "input": { "referralId": referral, "startedAt": at(started) } })).await;
                            let assessment = body["startAssessment"]["assessments"][0]["id"].clone();
                            let outcome = ["NO_FURTHER_ACTION", "STEP_DOWN_TO_EARLY_HELP", "STRATEGY_DISCUSSION", "OTHER"][rng.gen_range(0..4)];
                            let authorised = started + rng.gen_range(DAY..40 * DAY);
                            seed_call(&client, &worker, &chain("updateAssessment"), json!({ "input": { "assessmentId": assessment, "authorisedAt": at(authorised), "outcome": outcome } })).await;
                        } else {
                            let body = seed_call(&client, &worker, &chain("recordStrategyDiscussion"), json!({ "input": { "referralId": referral, "heldAt": at(started), "agenciesPresent": [police_agency], "section47Started": true } })).await;
                            if rng.gen_bool(0.5) {
                                let section47 = body["recordStrategyDiscussion"]["strategyDiscussions"][0]["section47"]["id"].clone();
                                seed_call(&client, &worker, &chain("recordConference"), json!({ "input": { "section47Id": section47, "heldAt": at(started + rng.gen_range(DAY..15 * DAY)), "planMade": rng.gen_bool(0.5) } })).await;
                            }
                        }
                    }
                }
            }
        })
        .await;
    }
    println!(
        "report: seeded {REPORT_CONTACTS} contacts ({} decided, half the referrals followed up) in {:.1} s",
        decided.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64()
    );

    // Missing episodes: ten batches of 500, sent together; 2,000 children, most returned.
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(2019);
    let mut returns = Vec::new();
    let mut batches = Vec::new();
    for b in 0..REPORT_EPISODES / 500 {
        let episodes: Vec<Value> = (0..500)
            .map(|i| {
                let child = rng.gen_range(0..2000);
                let reported = YEAR_2019 + rng.gen_range(0..355 * DAY);
                let notified = rng.gen_bool(0.9).then(|| reported + rng.gen_range(300..48 * 3600));
                let returned = rng.gen_bool(0.85).then(|| reported + rng.gen_range(3600..5 * DAY));
                let return_notified = returned.filter(|_| rng.gen_bool(0.8)).map(|r| r + rng.gen_range(0..48 * 3600));
                returns.push(returned);
                json!({
                    "child": { "firstName": format!("Benchmissing{child}"), "lastName": "Loadtest", "dateOfBirth": "2008-03-03", "gender": "NOT_STATED" },
                    "reportedMissingAt": at(reported), "riskGrade": (["HIGH", "MEDIUM", "LOW", "NO_APPARENT_RISK"][rng.gen_range(0..4)]),
                    "laNotifiedAt": notified.map(at), "returnedAt": returned.map(at), "returnNotifiedAt": return_notified.map(at),
                    "idempotencyKey": format!("report-{b}-{i}")
                })
            })
            .collect();
        let (client, police) = (client.clone(), police.clone());
        batches.push(tokio::spawn(async move {
            let data = seed_call(
                &client,
                &police,
                "mutation($e: [MissingEpisodeInput!]!) { reportMissingEpisodes(episodes: $e) { episode { id } error { code field } } }",
                json!({ "e": episodes }),
            )
            .await;
            data["reportMissingEpisodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    assert!(r["error"].is_null(), "seed: {r}");
                    r["episode"]["id"].as_str().unwrap().to_string()
                })
                .collect::<Vec<String>>()
        }));
    }
    let mut ids = Vec::new();
    for batch in batches {
        ids.extend(batch.await.unwrap());
    }
    // Interviews for two in five of the returned episodes.
    let interviews: Vec<(String, i64)> = ids
        .into_iter()
        .zip(returns)
        .enumerate()
        .filter_map(|(i, (id, returned))| returned.filter(|_| i % 5 < 2).map(|r| (id, r)))
        .collect();
    let count = interviews.len();
    let interviews = Arc::new(interviews);
    {
        let client = client.clone();
        concurrently(count, move |i| {
            let (client, worker, interviews) = (client.clone(), worker.clone(), interviews.clone());
            async move {
                let (id, returned) = &interviews[i];
                let mut rng = StdRng::seed_from_u64(i as u64);
                let input = match rng.gen_range(0..10) {
                    0..=4 => {
                        let completed = returned + rng.gen_range(3600..120 * 3600);
                        let late = completed > returned + 72 * 3600;
                        json!({ "episodeId": id, "outcome": "COMPLETED", "completedAt": at(completed),
                                "lateReason": late.then(|| ["POLICE_NOTIFICATION_DELAY", "EARLIEST_CONVENIENCE", "NON_ENGAGEMENT", "MISSING_AGAIN"][rng.gen_range(0..4)]) })
                    }
                    5..=6 => json!({ "episodeId": id, "outcome": "DECLINED" }),
                    7..=8 => json!({ "episodeId": id, "outcome": "NOT_OFFERED",
                                     "notOfferedReason": (["MISSING_AGAIN_WITHIN_72_HOURS", "TRIAGED_NO_APPARENT_RISK", "IN_CUSTODY", "WHEREABOUTS_UNKNOWN"][rng.gen_range(0..4)]) }),
                    _ => json!({ "episodeId": id, "outcome": "CARRIED_OVER" }),
                };
                seed_call(
                    &client,
                    &worker,
                    "mutation($input: ReturnHomeInterviewInput!) { recordReturnHomeInterview(input: $input) { id } }",
                    json!({ "input": input }),
                )
                .await;
            }
        })
        .await;
    }
    println!(
        "report: seeded {REPORT_EPISODES} missing episodes and {count} interviews in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// VmRSS and VmHWM of a process, in KiB, from /proc/PID/status (Linux).
fn rss_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

async fn login_flood(base: &str, pid: u32, db: Db, connections: usize, measure: Duration) {
    let (rss_start, _) = rss_kib(pid);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let codes = Arc::new(std::sync::Mutex::new(std::collections::BTreeMap::<
        String,
        u64,
    >::new()));
    let url = Arc::new(format!("{base}/graphql"));
    let mut tasks = Vec::new();
    for i in 0..connections {
        let (stop, codes, url) = (stop.clone(), codes.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let body = json!({
                    "query": "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken } }",
                    "variables": { "u": format!("flood.{i}.{n}"), "p": "not-the-password" }
                });
                let code = match http.post(url.as_str()).json(&body).send().await {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        match response.json::<Value>().await {
                            Ok(v) => v["errors"][0]["extensions"]["code"]
                                .as_str()
                                .map(str::to_string)
                                .unwrap_or_else(|| format!("HTTP {status}")),
                            Err(_) => format!("HTTP {status} (not JSON)"),
                        }
                    }
                    Err(_) => "connection error".to_string(),
                };
                *codes.lock().unwrap().entry(code).or_default() += 1;
            }
        }));
    }
    let started = Instant::now();
    let mut peak = rss_start;
    while started.elapsed() < measure {
        tokio::time::sleep(Duration::from_millis(100)).await;
        peak = peak.max(rss_kib(pid).0);
    }
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        let _ = task.await;
    }
    let elapsed = started.elapsed();
    let (_, hwm) = rss_kib(pid);
    let codes = codes.lock().unwrap().clone();
    let total: u64 = codes.values().sum();
    println!(
        "login-flood {db:?}: {connections} loops, {:.1} s, {total} requests, {:.0} req/s",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64()
    );
    for (code, count) in &codes {
        println!("  {code}: {count}");
    }
    println!(
        "  RSS before {:.1} MiB, peak sampled {:.1} MiB, VmHWM {:.1} MiB",
        mib(rss_start),
        mib(peak),
        mib(hwm)
    );
    let mut after = Vec::new();
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        after.push(format!("{:.1}", mib(rss_kib(pid).0)));
    }
    println!(
        "  RSS each second after the load stopped (MiB): {}",
        after.join(" ")
    );
}

/// Subscribers on one instance while contacts arrive at a steady rate: delivery latency
/// of every event to every subscriber, and the server's memory.
async fn subscribers(server: &Server, db: Db, args: &Args) {
    const QUEUE: &str = "subscription { contactQueueChanged { contactId at } }";
    let pid = server.child.id().expect("server running");
    let client = Client::new(server.base.clone());
    let mut staff = Vec::new();
    for user in MASH_USERS {
        staff.push(client.login(user).await);
    }
    let mut referrers = Vec::new();
    for user in REFERRERS {
        referrers.push(client.login(user).await);
    }
    let latencies = Arc::new(std::sync::Mutex::new(
        Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap(),
    ));
    let received = Arc::new(AtomicUsize::new(0));
    let mut feeds = Vec::with_capacity(args.subscribers);
    let connected = Instant::now();
    for i in 0..args.subscribers {
        let token = &staff[i % staff.len()];
        feeds.push(frontdoor_testkit::Subscription::start(&server.base, token, QUEUE).await);
    }
    println!(
        "subscribers {db:?}: {} connected in {:.1} s, RSS {:.1} MiB",
        args.subscribers,
        connected.elapsed().as_secs_f64(),
        mib(rss_kib(pid).0)
    );
    let listening: Vec<_> = feeds
        .into_iter()
        .map(|mut feed| {
            let (latencies, received) = (latencies.clone(), received.clone());
            tokio::spawn(async move {
                // The event's time, found in the raw message: parsing each of 100,000
                // messages a second into a JSON tree would make the load driver, not the
                // server, the bottleneck.
                while let Some(text) = feed.next_text(Duration::from_secs(5)).await {
                    let arrived = chrono::Utc::now();
                    let at = text
                        .split_once("\"at\":\"")
                        .and_then(|(_, rest)| rest.split_once('"'))
                        .map(|(at, _)| at)
                        .unwrap_or_default();
                    if let Ok(at) = chrono::DateTime::parse_from_rfc3339(at) {
                        let micros = (arrived - at.with_timezone(&chrono::Utc))
                            .num_microseconds()
                            .unwrap_or(0)
                            .max(1) as u64;
                        latencies.lock().unwrap().saturating_record(micros);
                    }
                    received.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    // Contacts at a steady rate, each submission on its own task so a slow one does not
    // hold back the next.
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / args.rate.max(1)));
    let started = Instant::now();
    let sent = Arc::new(AtomicUsize::new(0));
    let mut peak = 0;
    let mut n = 0;
    let mut submissions = Vec::new();
    while started.elapsed() < Duration::from_secs(args.duration) {
        tick.tick().await;
        let (client, token, sent) = (
            client.clone(),
            referrers[n % referrers.len()].clone(),
            sent.clone(),
        );
        let input = submission(1_000_000 + n);
        submissions.push(tokio::spawn(async move {
            let body = client.gql(Some(&token), SUBMIT, input).await;
            if body["errors"].is_null() {
                sent.fetch_add(1, Ordering::Relaxed);
            }
        }));
        n += 1;
        if n % 10 == 0 {
            peak = peak.max(rss_kib(pid).0);
        }
    }
    for submission in submissions {
        let _ = submission.await;
    }
    let elapsed = started.elapsed();
    // Subscribers stop after 5 s without an event.
    for task in listening {
        let _ = task.await;
    }
    let events = sent.load(Ordering::Relaxed);
    let expected = events * args.subscribers;
    let got = received.load(Ordering::Relaxed);
    let h = latencies.lock().unwrap();
    let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "subscribers {db:?}: {events} events in {:.1} s ({:.0}/s) to {} subscribers: {got} of {expected} deliveries; \
         latency p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms; peak RSS {:.1} MiB (VmHWM {:.1} MiB)",
        elapsed.as_secs_f64(),
        events as f64 / elapsed.as_secs_f64(),
        args.subscribers,
        ms(0.50),
        ms(0.95),
        ms(0.99),
        h.max() as f64 / 1000.0,
        mib(peak.max(rss_kib(pid).0)),
        mib(rss_kib(pid).1)
    );
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let dbs = match args.db {
        Db::Both => vec![Db::Sqlite, Db::Postgres],
        one => vec![one],
    };
    println!(
        "scenario      db        conns  requests   req/s     p50 ms   p95 ms   p99 ms   failures  peak RSS MiB"
    );
    for db in dbs {
        let server = start_server(&args, db).await;
        if args.scenario == Scenario::LoginFlood {
            let pid = server.child.id().expect("server running");
            for &connections in &args.connections {
                login_flood(
                    &server.base,
                    pid,
                    db,
                    connections,
                    Duration::from_secs(args.duration),
                )
                .await;
            }
            stop_server(server).await;
            continue;
        }
        if args.scenario == Scenario::Subscribers {
            subscribers(&server, db, &args).await;
            stop_server(server).await;
            continue;
        }
        if args.scenario == Scenario::MissingBatch {
            run_batches(&server.base, db, 10).await;
            stop_server(server).await;
            continue;
        }
        let client = Client::new(server.base.clone());
        let (bodies, tokens) = workload(args.scenario, &client, args.contacts).await;
        let pid = server.child.id().expect("server running");
        let bodies = Arc::new(bodies);
        for &connections in &args.connections {
            let result = run_load(
                &server.base,
                &tokens,
                bodies.clone(),
                connections,
                Duration::from_secs(2),
                Duration::from_secs(args.duration),
            )
            .await;
            let total = result.ok + result.failed;
            let ms = |q: f64| result.histogram.value_at_quantile(q) as f64 / 1000.0;
            println!(
                "{:<13} {:<9} {:>5} {:>9} {:>9.0} {:>8.2} {:>8.2} {:>8.2} {:>10} {:>13.1}",
                format!("{:?}", args.scenario).to_lowercase(),
                format!("{db:?}").to_lowercase(),
                connections,
                total,
                total as f64 / result.elapsed.as_secs_f64(),
                ms(0.50),
                ms(0.95),
                ms(0.99),
                result.failed,
                mib(rss_kib(pid).1)
            );
        }
        stop_server(server).await;
    }
}
