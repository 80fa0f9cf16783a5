//! The test rig: a real HTTP server on a random port over a fresh database per test —
//! a temporary SQLite file always, and a freshly created PostgreSQL database when
//! FRONTDOOR_TEST_POSTGRES holds a server URL (dropped afterwards).
#![allow(dead_code)]

use std::future::Future;
use std::sync::Once;

use frontdoor::config::Config;
use frontdoor::http::serve::{serve, ServeOptions};
use frontdoor::{build_app, demo, Core};
use sea_orm::sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait};
use serde_json::{json, Value};

pub const PASSWORD: &str = demo::DEMO_PASSWORD;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestServer {
    pub backend: Backend,
    pub base: String,
    pub http: reqwest::Client,
    pub core: Core,
    server: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
    postgres: Option<PostgresDb>,
}

struct PostgresDb {
    admin_url: String,
    name: String,
}

impl Drop for PostgresDb {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop runs inside the test's runtime: use a thread with its own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                if let Ok(mut conn) = PgConnection::connect(&admin_url).await {
                    let _ = conn
                        .execute(AssertSqlSafe(format!(
                            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                        )))
                        .await;
                }
            });
        })
        .join();
    }
}

fn postgres_url() -> Option<String> {
    std::env::var("FRONTDOOR_TEST_POSTGRES")
        .ok()
        .filter(|u| !u.trim().is_empty())
}

/// The same URL with another database name.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let prefix = match base.rfind('/') {
        Some(i) if i > "postgres://".len() => &base[..i],
        _ => base,
    };
    format!("{prefix}/{name}{query}")
}

impl TestServer {
    pub async fn start(backend: Backend) -> TestServer {
        Self::start_with(backend, |_| {}).await
    }

    /// Starts a server with demo data loaded, after `adjust` has changed the configuration.
    pub async fn start_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().expect("temporary directory");
        let (url, postgres) = match backend {
            Backend::Sqlite => (
                format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display()),
                None,
            ),
            Backend::Postgres => {
                let admin_url = postgres_url().expect("FRONTDOOR_TEST_POSTGRES");
                let name = format!("frontdoor_test_{}", uuid::Uuid::new_v4().simple());
                let mut conn = PgConnection::connect(&admin_url)
                    .await
                    .expect("connect to FRONTDOOR_TEST_POSTGRES");
                conn.execute(AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .await
                    .expect("create test database");
                (
                    with_database(&admin_url, &name),
                    Some(PostgresDb { admin_url, name }),
                )
            }
        };
        let mut config = Config::for_tests(&url);
        adjust(&mut config);
        let core = Core::start(config).await.expect("start core");
        demo::load_if_empty(&core).await.expect("demo data");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = build_app(core.clone());
        let options = ServeOptions::from_config(&core.config);
        let server = tokio::spawn(async move {
            serve(listener, app, options, std::future::pending())
                .await
                .unwrap();
        });
        TestServer {
            backend,
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
            core,
            server,
            _dir: dir,
            postgres,
        }
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.core.db
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// POST /graphql; returns (HTTP status, JSON body).
    pub async fn post(&self, token: Option<&str>, query: &str, variables: Value) -> (u16, Value) {
        let mut request = self
            .http
            .post(self.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let body = response.json::<Value>().await.unwrap_or(Value::Null);
        (status, body)
    }

    /// The JSON body of a GraphQL call.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        self.post(token, query, variables).await.1
    }

    pub async fn login_tokens(&self, username: &str, password: &str) -> Value {
        self.gql(
            None,
            "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken refreshToken } }",
            json!({ "u": username, "p": password }),
        )
        .await
    }

    /// A demo user's access token.
    pub async fn login(&self, username: &str) -> String {
        let body = self.login_tokens(username, PASSWORD).await;
        body["data"]["login"]["accessToken"]
            .as_str()
            .unwrap_or_else(|| panic!("login {username} failed: {body}"))
            .to_string()
    }

    /// A machine client's access token (client_secret_post).
    pub async fn client_token(&self, client_id: &str, secret: &str) -> String {
        let response = self
            .http
            .post(self.url("/oauth/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", client_id),
                ("client_secret", secret),
            ])
            .send()
            .await
            .unwrap();
        let body: Value = response.json().await.unwrap();
        body["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("token for {client_id}: {body}"))
            .to_string()
    }

    /// A demo agency's global id, looked up by name as the administrator.
    pub async fn agency_id(&self, name: &str) -> String {
        let admin = self.login("admin").await;
        let body = self
            .gql(
                Some(&admin),
                "{ agencies(first: 100) { edges { node { id name } } } }",
                json!({}),
            )
            .await;
        body["data"]["agencies"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["node"]["name"] == name)
            .and_then(|e| e["node"]["id"].as_str())
            .unwrap_or_else(|| panic!("no agency {name}: {body}"))
            .to_string()
    }

    /// Runs SQL straight against the test database, as someone with database access would.
    pub async fn exec(&self, sql: &str) {
        self.db()
            .execute_unprepared(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    pub async fn count<E: EntityTrait>(&self, _entity: E) -> u64
    where
        E::Model: Sync,
    {
        E::find().count(self.db()).await.unwrap()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Runs `test` against a fresh SQLite server, then a fresh PostgreSQL one if configured.
pub async fn each_backend<F, Fut>(test: F)
where
    F: Fn(TestServer) -> Fut,
    Fut: Future<Output = ()>,
{
    test(TestServer::start(Backend::Sqlite).await).await;
    if postgres_url().is_some() {
        test(TestServer::start(Backend::Postgres).await).await;
    } else {
        static NOTICE: Once = Once::new();
        NOTICE.call_once(|| {
            // Written to the real stderr (not the captured one) so `cargo test` shows it.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "note: FRONTDOOR_TEST_POSTGRES is not set: PostgreSQL pass skipped, SQLite only"
            );
        });
    }
}

/// The `extensions.code` of the first error, if any.
pub fn error_code(body: &Value) -> Option<&str> {
    body["errors"][0]["extensions"]["code"].as_str()
}

pub fn error_field(body: &Value) -> Option<&str> {
    body["errors"][0]["extensions"]["field"].as_str()
}

/// The demo users except those holding `role`.
pub fn demo_users_without(role: frontdoor::domain::common::codes::Role) -> Vec<&'static str> {
    demo::USERS
        .iter()
        .filter(|u| u.role != role)
        .map(|u| u.username)
        .collect()
}

/// The demo history's API over real HTTP: every demo user and client signed in once.
#[derive(Clone)]
pub struct HttpApi {
    base: String,
    http: reqwest::Client,
    tokens: std::sync::Arc<std::collections::HashMap<&'static str, String>>,
}

impl HttpApi {
    pub async fn new(server: &TestServer) -> HttpApi {
        let mut tokens = std::collections::HashMap::new();
        for user in demo::USERS {
            tokens.insert(user.username, server.login(user.username).await);
        }
        for client in demo::CLIENTS {
            tokens.insert(
                client.client_id,
                server.client_token(client.client_id, client.secret).await,
            );
        }
        HttpApi {
            base: server.base.clone(),
            http: server.http.clone(),
            tokens: std::sync::Arc::new(tokens),
        }
    }
}

impl demo::history::Api for HttpApi {
    async fn call(
        &self,
        caller: &'static str,
        query: &str,
        variables: Value,
    ) -> Result<Value, String> {
        let token = self
            .tokens
            .get(caller)
            .ok_or_else(|| format!("no caller {caller}"))?;
        let response = self
            .http
            .post(format!("{}/graphql", self.base))
            .bearer_auth(token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let body: Value = response.json().await.map_err(|e| e.to_string())?;
        if body["errors"].is_null() {
            Ok(body["data"].clone())
        } else {
            Err(format!("{caller}: {}", body["errors"]))
        }
    }
}

/// A `frontdoor serve` process of its own on the test's database, sharing its signing key:
/// a second server instance, as a council running two would have. Killed when dropped.
pub struct ServerProcess {
    pub base: String,
    _child: tokio::process::Child,
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
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_frontdoor"))
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
                    return ServerProcess {
                        base,
                        _child: child,
                    };
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("server process did not become ready");
    }
}

impl ServerProcess {
    /// The process id, to send it signals.
    pub fn pid(&self) -> u32 {
        self._child.id().expect("the server process is running")
    }

    /// Waits for the process to exit on its own.
    pub async fn wait(mut self) -> std::process::ExitStatus {
        self._child
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

    /// How many audit entries record `action` with `outcome` (e.g. "SUCCESS", "CONFLICT").
    pub async fn audit_count(&self, action: &str, outcome: &str) -> u64 {
        use sea_orm::{ColumnTrait, QueryFilter};
        entity::audit_event::Entity::find()
            .filter(entity::audit_event::Column::Action.eq(action))
            .filter(entity::audit_event::Column::Outcome.eq(outcome))
            .count(self.db())
            .await
            .unwrap()
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
