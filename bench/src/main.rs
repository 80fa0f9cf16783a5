//! Load driver: starts a release `frontdoor` on SQLite and/or PostgreSQL with demo data,
//! logs in demo principals and drives concurrent GraphQL load, printing throughput and
//! latency percentiles. A GraphQL error inside an HTTP 200 counts as a failure.
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use clap::{Parser, ValueEnum};
use hdrhistogram::Histogram;
use rand::RngCore;
use sea_orm::sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};
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
}

const DEMO_PASSWORD: &str = "frontdoor-demo";
const USERS: [&str; 6] = [
    "mash.manager",
    "mash.social.worker",
    "police.mash",
    "health.mash",
    "school.referrer",
    "auditor",
];
const ME: &str = "{ me { id kind name roles agency { id name kind } } }";

struct Server {
    child: Child,
    base: String,
    _dir: Option<std::path::PathBuf>,
    pg_database: Option<String>,
}

fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let prefix = base.rfind('/').map(|i| &base[..i]).unwrap_or(base);
    format!("{prefix}/{name}{query}")
}

async fn start_server(args: &Args, db: Db) -> Server {
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let (url, dir, pg_database) = match db {
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
            let name = format!("frontdoor_bench_{suffix}");
            let mut admin = PgConnection::connect(&args.postgres)
                .await
                .expect("connect to PostgreSQL");
            admin
                .execute(AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .await
                .unwrap();
            (with_database(&args.postgres, &name), None, Some(name))
        }
    };
    let mut key = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut key);
    let bind = format!("127.0.0.1:{}", args.port);
    let child = Command::new(&args.server)
        .args(["serve", "--demo", "--bind", &bind])
        .env("DATABASE_URL", &url)
        .env(
            "FRONTDOOR_SIGNING_KEY",
            base64::engine::general_purpose::STANDARD.encode(key),
        )
        .env("FRONTDOOR_LOG", "warn")
        .env("FRONTDOOR_DB_MAX_CONNECTIONS", "16")
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
                    pg_database,
                };
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("server did not become ready");
}

async fn stop_server(args: &Args, mut server: Server) {
    let _ = server.child.kill().await;
    if let Some(dir) = &server._dir {
        let _ = std::fs::remove_dir_all(dir);
    }
    if let Some(name) = &server.pg_database {
        if let Ok(mut admin) = PgConnection::connect(&args.postgres).await {
            let _ = admin
                .execute(AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .await;
        }
    }
}

async fn login(http: &reqwest::Client, base: &str, username: &str) -> String {
    let body: Value = http
        .post(format!("{base}/graphql"))
        .json(&json!({
            "query": "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken } }",
            "variables": { "u": username, "p": DEMO_PASSWORD }
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["data"]["login"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("login {username}: {body}"))
        .to_string()
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
    connections: usize,
    warmup: Duration,
    measure: Duration,
) -> RunResult {
    let start = Instant::now();
    let measure_from = start + warmup;
    let deadline = measure_from + measure;
    let url = Arc::new(format!("{base}/graphql"));
    let body = Arc::new(serde_json::to_vec(&json!({ "query": ME })).unwrap());
    let mut tasks = Vec::new();
    for i in 0..connections {
        let token = tokens[i % tokens.len()].clone();
        let url = url.clone();
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            // One client per task: one keep-alive connection each.
            let http = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()
                .unwrap();
            let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
            let (mut ok, mut failed) = (0u64, 0u64);
            loop {
                let sent = Instant::now();
                if sent >= deadline {
                    break;
                }
                let result = http
                    .post(url.as_str())
                    .bearer_auth(&token)
                    .header("content-type", "application/json")
                    .body(body.as_ref().clone())
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

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let dbs = match args.db {
        Db::Both => vec![Db::Sqlite, Db::Postgres],
        one => vec![one],
    };
    println!("scenario  db        conns  requests   req/s     p50 ms   p95 ms   p99 ms   failures");
    for db in dbs {
        let server = start_server(&args, db).await;
        let http = reqwest::Client::new();
        let mut tokens = Vec::new();
        for user in USERS {
            tokens.push(login(&http, &server.base, user).await);
        }
        for &connections in &args.connections {
            let result = run_load(
                &server.base,
                &tokens,
                connections,
                Duration::from_secs(2),
                Duration::from_secs(args.duration),
            )
            .await;
            let total = result.ok + result.failed;
            let ms = |q: f64| result.histogram.value_at_quantile(q) as f64 / 1000.0;
            println!(
                "{:<9} {:<9} {:>5} {:>9} {:>9.0} {:>8.2} {:>8.2} {:>8.2} {:>10}",
                format!("{:?}", args.scenario).to_lowercase(),
                format!("{db:?}").to_lowercase(),
                connections,
                total,
                total as f64 / result.elapsed.as_secs_f64(),
                ms(0.50),
                ms(0.95),
                ms(0.99),
                result.failed
            );
        }
        stop_server(&args, server).await;
    }
}
