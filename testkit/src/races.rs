//! Races: a second server process on a test's database, and calls released together.
use serde_json::{json, Value};

use crate::server::{error_code, error_field, Backend, TestServer};

/// The `frontdoor` binary cargo built for this test run. `cargo test` (1.94 and later) names
/// it in `CARGO_BIN_EXE_frontdoor` when it runs an integration test.
pub fn frontdoor_bin() -> std::path::PathBuf {
    std::env::var_os("CARGO_BIN_EXE_frontdoor")
        .map(Into::into)
        .expect("CARGO_BIN_EXE_frontdoor is set by `cargo test`: run the suite through cargo")
}

/// A `frontdoor serve` process of its own on the test's database, sharing its signing key:
/// a second server instance, as a council running two would have. Killed when dropped.
pub struct ServerProcess {
    pub base: String,
    child: tokio::process::Child,
}

impl ServerProcess {
    pub async fn spawn(server: &TestServer) -> ServerProcess {
        use base64::Engine;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let key = base64::engine::general_purpose::STANDARD.encode(&server.core.config.signing_key);
        let child = tokio::process::Command::new(frontdoor_bin())
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .env("DATABASE_URL", &server.core.config.database_url)
            .env("FRONTDOOR_SIGNING_KEY", key)
            .env("FRONTDOOR_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start frontdoor");
        let base = format!("http://127.0.0.1:{port}");
        for _ in 0..400 {
            if let Ok(r) = server.http.get(format!("{base}/readyz")).send().await {
                if r.status().is_success() {
                    return ServerProcess { base, child };
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("server process did not become ready");
    }

    /// The process id, to send it signals.
    pub fn pid(&self) -> u32 {
        self.child.id().expect("the server process is running")
    }

    /// Waits for the process to exit on its own.
    pub async fn wait(mut self) -> std::process::ExitStatus {
        self.child
            .wait()
            .await
            .expect("wait for the server process")
    }
}

/// The servers a race is run against: on PostgreSQL this test's server and a second
/// process on the same database; on SQLite this test's server alone.
pub struct Instances {
    pub bases: Vec<String>,
    _processes: Vec<ServerProcess>,
}

impl TestServer {
    pub async fn instances(&self) -> Instances {
        let mut bases = vec![self.base.clone()];
        let mut processes = Vec::new();
        if self.backend == Backend::Postgres {
            let process = ServerProcess::spawn(self).await;
            bases.push(process.base.clone());
            processes.push(process);
        }
        Instances {
            bases,
            _processes: processes,
        }
    }
}

/// One GraphQL call of a race: the caller's token, the document and its variables.
pub struct Call {
    pub token: String,
    pub query: String,
    pub variables: Value,
}

impl Call {
    pub fn new(token: &str, query: &str, variables: Value) -> Call {
        Call {
            token: token.to_string(),
            query: query.to_string(),
            variables,
        }
    }
}

/// Sends every call at the same moment (each on its own connection, released together),
/// spread over the instances in turn; the response bodies in call order.
pub async fn at_once(instances: &Instances, calls: Vec<Call>) -> Vec<Value> {
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(calls.len()));
    let mut tasks = Vec::new();
    for (n, call) in calls.into_iter().enumerate() {
        let base = instances.bases[n % instances.bases.len()].clone();
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            // Open the connection first so the calls leave together.
            let _ = http.get(format!("{base}/healthz")).send().await;
            barrier.wait().await;
            let response = http
                .post(format!("{base}/graphql"))
                .bearer_auth(&call.token)
                .json(&json!({ "query": call.query, "variables": call.variables }))
                .send()
                .await
                .expect("request");
            response.json::<Value>().await.unwrap_or(Value::Null)
        }));
    }
    let mut bodies = Vec::new();
    for task in tasks {
        bodies.push(task.await.unwrap());
    }
    bodies
}

/// Asserts a race had exactly one winner and that every other caller got CONFLICT;
/// returns the winner's body.
pub fn one_winner(bodies: &[Value]) -> Value {
    let winners: Vec<&Value> = bodies.iter().filter(|b| b["errors"].is_null()).collect();
    assert_eq!(winners.len(), 1, "exactly one winner: {bodies:#?}");
    for body in bodies.iter().filter(|b| !b["errors"].is_null()) {
        assert_eq!(
            error_code(body),
            Some("CONFLICT"),
            "the losers get CONFLICT: {body}"
        );
        assert!(
            error_field(body).is_some(),
            "a CONFLICT names its field: {body}"
        );
    }
    winners[0].clone()
}
