//! A graphql-transport-ws client for `/graphql/ws`, as a partner's system would use it.
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// One connection holding one subscription.
pub struct Subscription {
    socket: Socket,
}

/// What a subscription received next.
#[derive(Debug, PartialEq)]
pub enum Received {
    /// An event's `data`.
    Next(Value),
    /// The subscription failed: its `errors`.
    Error(Value),
    /// The server closed the connection with this code and reason.
    Closed(u16, String),
    /// Nothing arrived in the time allowed.
    Nothing,
}

/// `ws://…/graphql/ws` for a server's `http://…` base.
pub fn ws_url(base: &str) -> String {
    format!("{}/graphql/ws", base.replacen("http", "ws", 1))
}

impl Subscription {
    /// Connects, signs in with `token` and subscribes to `query`; panics if the server does
    /// not acknowledge the connection.
    pub async fn start(base: &str, token: &str, query: &str) -> Subscription {
        let mut subscription =
            Subscription::connect(base, json!({ "Authorization": format!("Bearer {token}") }))
                .await
                .unwrap_or_else(|closed| panic!("connection refused: {closed:?}"));
        subscription.subscribe(query).await;
        subscription
    }

    /// Connects and sends `connection_init` with `payload`: the connection once acknowledged,
    /// or what the server answered instead.
    pub async fn connect(base: &str, payload: Value) -> Result<Subscription, Received> {
        let mut request = ws_url(base).into_client_request().expect("url");
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            "graphql-transport-ws".parse().unwrap(),
        );
        let (socket, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("websocket handshake");
        let mut subscription = Subscription { socket };
        subscription
            .send(json!({ "type": "connection_init", "payload": payload }))
            .await;
        match subscription.message(Duration::from_secs(10)).await {
            Some(Ok(m)) if m["type"] == "connection_ack" => Ok(subscription),
            Some(Ok(m)) => panic!("expected connection_ack, got {m}"),
            Some(Err(received)) => Err(received),
            None => Err(Received::Nothing),
        }
    }

    /// Starts the subscription `query` (its id is "1").
    pub async fn subscribe(&mut self, query: &str) {
        self.send(json!({ "id": "1", "type": "subscribe", "payload": { "query": query } }))
            .await;
    }

    async fn send(&mut self, message: Value) {
        self.socket
            .send(Message::Text(message.to_string().into()))
            .await
            .expect("send");
    }

    /// The next protocol message, a close (as Err), or None if nothing came within `wait`.
    async fn message(&mut self, wait: Duration) -> Option<Result<Value, Received>> {
        loop {
            let next = tokio::time::timeout(wait, self.socket.next()).await.ok()?;
            match next {
                Some(Ok(Message::Text(text))) => {
                    let message: Value = serde_json::from_str(&text).expect("JSON message");
                    if message["type"] == "ping" {
                        self.send(json!({ "type": "pong" })).await;
                        continue;
                    }
                    return Some(Ok(message));
                }
                Some(Ok(Message::Close(frame))) => {
                    let (code, reason) = frame
                        .map(|f| (u16::from(f.code), f.reason.to_string()))
                        .unwrap_or((1005, String::new()));
                    return Some(Err(Received::Closed(code, reason)));
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Some(Err(Received::Closed(1006, String::new()))),
            }
        }
    }

    /// What arrives next within `wait`.
    pub async fn next(&mut self, wait: Duration) -> Received {
        match self.message(wait).await {
            None => Received::Nothing,
            Some(Err(received)) => received,
            Some(Ok(m)) if m["type"] == "next" && m["payload"]["errors"].is_array() => {
                Received::Error(m["payload"]["errors"].clone())
            }
            Some(Ok(m)) if m["type"] == "next" => Received::Next(m["payload"]["data"].clone()),
            Some(Ok(m)) if m["type"] == "error" => Received::Error(m["payload"].clone()),
            Some(Ok(m)) => panic!("unexpected message {m}"),
        }
    }

    /// The next message's raw text within `wait` (None on a close or silence), for load
    /// drivers that cannot afford to parse every message.
    pub async fn next_text(&mut self, wait: Duration) -> Option<String> {
        loop {
            match tokio::time::timeout(wait, self.socket.next())
                .await
                .ok()??
            {
                Ok(Message::Text(text)) => return Some(text.to_string()),
                Ok(Message::Ping(_) | Message::Pong(_)) => continue,
                _ => return None,
            }
        }
    }

    /// Closes the connection from the client's side.
    pub async fn close(mut self) {
        let _ = self.socket.close(None).await;
    }
}
