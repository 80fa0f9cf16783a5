//! The service in-process: a real HTTP server on a random port over a fresh database per
//! test — a temporary SQLite file always, and a freshly created PostgreSQL database when
//! FRONTDOOR_TEST_POSTGRES holds a server URL (dropped afterwards).
use std::future::Future;
use std::sync::{Arc, Once};

use frontdoor::config::Config;
use frontdoor::http::serve::{serve, ServeOptions};
use frontdoor::{build_app, demo, Core};
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait};
use serde_json::{json, Value};

use crate::client::Client;
use crate::database::FreshDatabase;
use crate::hash_queue::{self, HashQueueHold};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server the suite also runs on (FRONTDOOR_TEST_POSTGRES), if any.
pub fn postgres_url() -> Option<String> {
    std::env::var("FRONTDOOR_TEST_POSTGRES")
        .ok()
        .filter(|u| !u.trim().is_empty())
}

pub struct TestServer {
    pub backend: Backend,
    pub base: String,
    pub http: reqwest::Client,
    pub core: Core,
    client: Client,
    server: tokio::task::JoinHandle<()>,
    // Dropped after the server task is aborted (see Drop).
    _postgres: Option<FreshDatabase>,
    _dir: tempfile::TempDir,
    _queue: Arc<HashQueueHold>,
}

impl TestServer {
    pub async fn start(backend: Backend) -> TestServer {
        Self::start_with(backend, |_| {}).await
    }

    /// Starts a server with demo data loaded, after `adjust` has changed the configuration.
    pub async fn start_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> TestServer {
        // Before the demo data: loading it hashes the demo users' passwords.
        let queue = hash_queue::shared().await;
        let dir = tempfile::tempdir().expect("temporary directory");
        let (url, postgres) = match backend {
            Backend::Sqlite => (
                format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display()),
                None,
            ),
            Backend::Postgres => {
                let admin_url = postgres_url().expect("FRONTDOOR_TEST_POSTGRES");
                let database = FreshDatabase::create(&admin_url, "frontdoor_test").await;
                (database.url().to_string(), Some(database))
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
        let base = format!("http://{addr}");
        let http = reqwest::Client::new();
        TestServer {
            backend,
            client: Client::with_http(base.clone(), http.clone()),
            base,
            http,
            core,
            server,
            _postgres: postgres,
            _dir: dir,
            _queue: queue,
        }
    }

    /// A client of this server.
    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.core.db
    }

    pub fn url(&self, path: &str) -> String {
        self.client.url(path)
    }

    /// POST /graphql; returns (HTTP status, JSON body).
    pub async fn post(&self, token: Option<&str>, query: &str, variables: Value) -> (u16, Value) {
        self.client.post(token, query, variables).await
    }

    /// The JSON body of a GraphQL call.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        self.client.gql(token, query, variables).await
    }

    pub async fn login_tokens(&self, username: &str, password: &str) -> Value {
        self.client.login_tokens(username, password).await
    }

    /// A demo user's access token.
    pub async fn login(&self, username: &str) -> String {
        self.client.login(username).await
    }

    /// A machine client's access token (client_secret_post).
    pub async fn client_token(&self, client_id: &str, secret: &str) -> String {
        self.client.client_token(client_id, secret).await
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

    /// The server's `/metrics` text, as a scraper reads it.
    pub async fn metrics_text(&self) -> String {
        self.http
            .get(self.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
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

/// The `extensions.field` of the first error, if any.
pub fn error_field(body: &Value) -> Option<&str> {
    body["errors"][0]["extensions"]["field"].as_str()
}

/// The demo history's API over real HTTP: every demo user and client signed in once.
#[derive(Clone)]
pub struct HttpApi {
    client: Client,
    tokens: Arc<std::collections::HashMap<&'static str, String>>,
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
            client: server.client.clone(),
            tokens: Arc::new(tokens),
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
            .client
            .http
            .post(self.client.url("/graphql"))
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
