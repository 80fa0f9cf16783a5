//! `GET /graphql/ws`: subscriptions over the `graphql-transport-ws` protocol (and the older
//! `graphql-ws`). The client signs in at `connection_init` with the bearer token it would
//! send on `POST /graphql`; the token is checked again every second, so the connection
//! closes within seconds of it expiring or its principal being deactivated or changed.
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use std::str::FromStr;

use async_graphql::http::{
    WebSocket as GraphQLWebSocket, WebSocketProtocols as Protocols, WsMessage,
    ALL_WEBSOCKET_PROTOCOLS,
};
use async_graphql::Data;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Extension, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};

use super::AppState;
use crate::auth::source_limit::ClientSource;
use crate::domain::{Actor, RequestCtx};
use crate::graphql::subscription::ConnectionControl;
use crate::graphql::OperationLabel;

/// How long a new connection has to sign in.
const INIT_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a connection's token is checked again.
const RECHECK: Duration = Duration::from_secs(1);
/// How long one message may wait for a client that is not reading before it is dropped.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);
/// Each connection's read and write buffer.
const BUFFER_BYTES: usize = 4 * 1024;
/// Largest message a client may send.
const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// Close codes the client sees (4400–4499 as graphql-transport-ws uses them).
const CLOSE_UNAUTHORIZED: u16 = 4401;
const CLOSE_FORBIDDEN: u16 = 4403;
const CLOSE_INIT_TIMEOUT: u16 = 4408;

pub async fn upgrade(
    State(state): State<AppState>,
    Extension(source): Extension<ClientSource>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    // The subprotocol the client asked for: graphql-transport-ws, or the older graphql-ws.
    let protocol = headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .and_then(|list| {
            list.split(',')
                .find_map(|p| Protocols::from_str(p.trim()).ok())
        });
    let Some(protocol) = protocol else {
        return (
            StatusCode::BAD_REQUEST,
            "ask for the graphql-transport-ws subprotocol (Sec-WebSocket-Protocol)",
        )
            .into_response();
    };
    let Ok(slot) = state.ws_slots.clone().try_acquire_owned() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "too many subscription connections; try again later",
        )
            .into_response();
    };
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        // Small buffers: a subscriber's messages are a few hundred bytes, and an instance
        // holds thousands of connections (the default is 128 KiB each way).
        .read_buffer_size(BUFFER_BYTES)
        .write_buffer_size(BUFFER_BYTES)
        .on_upgrade(move |socket| async move {
            serve(state, socket, protocol, source).await;
            drop(slot);
        })
}

/// Who signed in on this connection, and with which token.
#[derive(Default)]
struct SignedIn(Mutex<Option<(String, Actor)>>);

fn token_of(payload: &serde_json::Value) -> Option<String> {
    let field = |name: &str| payload.get(name).and_then(|v| v.as_str());
    let header = field("Authorization").or_else(|| field("authorization"));
    match header {
        Some(value) => {
            let (scheme, token) = value.split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| token.trim().to_string())
        }
        None => field("token").map(str::to_string),
    }
    .filter(|t| !t.is_empty())
}

/// Whether a principal as it is now may keep the connection it opened as `before`.
fn unchanged(before: &Actor, now: &Actor) -> bool {
    before.id == now.id
        && before.roles == now.roles
        && before.scopes == now.scopes
        && before.agency_id() == now.agency_id()
}

async fn serve(state: AppState, socket: WebSocket, protocol: Protocols, source: ClientSource) {
    let (mut sink, incoming) = socket.split();
    let (control, mut closed) = ConnectionControl::new();
    let signed_in = Arc::new(SignedIn::default());

    let messages = incoming
        .take_while(|m| futures_util::future::ready(m.is_ok()))
        .filter_map(|m| async move {
            match m {
                Ok(Message::Text(text)) => Some(text.as_bytes().to_vec()),
                Ok(Message::Binary(bytes)) => Some(bytes.to_vec()),
                _ => None,
            }
        });
    let mut data = Data::default();
    data.insert(control);
    data.insert(OperationLabel::default());
    data.insert(source);
    let init_state = state.clone();
    let init_signed_in = signed_in.clone();
    let graphql = GraphQLWebSocket::new(state.schema.clone(), messages, protocol)
        .connection_data(data)
        .on_connection_init(move |payload| async move {
            let token = token_of(&payload).ok_or_else(|| {
                async_graphql::Error::new(
                    "send { \"Authorization\": \"Bearer <token>\" } in connection_init",
                )
            })?;
            let actor = init_state
                .principals
                .authenticate(&init_state.core, &token)
                .await
                .map_err(|e| async_graphql::Error::new(e.message()))?;
            *init_signed_in.0.lock().expect("not poisoned") = Some((token, actor.clone()));
            let mut data = Data::default();
            data.insert(RequestCtx {
                actor,
                request_id: Some(uuid::Uuid::new_v4().to_string()),
            });
            Ok(data)
        });
    let mut graphql = std::pin::pin!(graphql);
    let opened = Instant::now();
    let mut recheck = tokio::time::interval(RECHECK);

    let close = loop {
        tokio::select! {
            message = graphql.next() => match message {
                Some(WsMessage::Text(text)) => {
                    let sent = tokio::time::timeout(SEND_TIMEOUT, sink.send(Message::Text(text.into()))).await;
                    if !matches!(sent, Ok(Ok(()))) {
                        // Not reading: dropped rather than buffered for.
                        return;
                    }
                }
                Some(WsMessage::Close(code, reason)) => {
                    // A refused sign-in is 4403 Forbidden, as graphql-transport-ws has it.
                    let refused = signed_in.0.lock().expect("not poisoned").is_none();
                    break Some((if refused { CLOSE_FORBIDDEN } else { code }, reason));
                }
                None => break None,
            },
            changed = closed.changed() => {
                let reason = closed.borrow().clone();
                if changed.is_err() || reason.is_some() {
                    break reason;
                }
            }
            _ = recheck.tick() => {
                let current = signed_in.0.lock().expect("not poisoned").clone();
                match current {
                    None if opened.elapsed() > INIT_TIMEOUT => {
                        break Some((CLOSE_INIT_TIMEOUT, "connection initialisation timeout".into()));
                    }
                    None => {}
                    Some((token, before)) => {
                        let still = state.principals.authenticate(&state.core, &token).await;
                        if !still.is_ok_and(|now| unchanged(&before, &now)) {
                            break Some((
                                CLOSE_UNAUTHORIZED,
                                "the token has expired, or its principal was deactivated or changed: sign in again".into(),
                            ));
                        }
                    }
                }
            }
        }
    };
    if let Some((code, reason)) = close {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        let _ = tokio::time::timeout(SEND_TIMEOUT, sink.send(Message::Close(Some(frame)))).await;
    }
}
