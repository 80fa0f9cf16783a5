//! A small GraphQL-over-HTTP client, and the demo principals it signs in as.
use frontdoor::demo;
use frontdoor::domain::common::codes::Role;
use serde_json::{json, Value};

/// Every demo user's password.
pub const PASSWORD: &str = demo::DEMO_PASSWORD;

/// The demo users except those holding `role`.
pub fn demo_users_without(role: Role) -> Vec<&'static str> {
    demo::USERS
        .iter()
        .filter(|u| u.role != role)
        .map(|u| u.username)
        .collect()
}

/// A demo machine client's secret.
pub fn demo_client_secret(client_id: &str) -> &'static str {
    demo::CLIENTS
        .iter()
        .find(|c| c.client_id == client_id)
        .unwrap_or_else(|| panic!("no demo client {client_id}"))
        .secret
}

const LOGIN: &str = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken refreshToken } }";

/// Calls one frontdoor server over HTTP.
#[derive(Clone)]
pub struct Client {
    /// `http://host:port`, without a trailing slash.
    pub base: String,
    pub http: reqwest::Client,
}

impl Client {
    pub fn new(base: impl Into<String>) -> Client {
        Client::with_http(base, reqwest::Client::new())
    }

    pub fn with_http(base: impl Into<String>, http: reqwest::Client) -> Client {
        Client {
            base: base.into(),
            http,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// POST /graphql; returns (HTTP status, JSON body), the body `null` if it is not JSON.
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

    /// The whole answer to `login`, tokens or errors.
    pub async fn login_tokens(&self, username: &str, password: &str) -> Value {
        self.gql(None, LOGIN, json!({ "u": username, "p": password }))
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

    /// A machine client's access token (client credentials, client_secret_post).
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
            .expect("token request");
        let body: Value = response.json().await.unwrap_or(Value::Null);
        body["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("token for {client_id}: {body}"))
            .to_string()
    }

    /// A demo machine client's access token.
    pub async fn demo_client_token(&self, client_id: &str) -> String {
        self.client_token(client_id, demo_client_secret(client_id))
            .await
    }
}
