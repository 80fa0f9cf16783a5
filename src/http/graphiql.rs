//! GraphiQL in development mode, served whole by frontdoor: the page and every script and
//! style it loads are compiled into the binary (`assets/graphiql/`, with their licences),
//! so it opens on a council network that reaches nothing else. In production both the page
//! and its assets are 404.
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use super::AppState;

const PAGE: &str = include_str!("../../assets/graphiql/index.html");

/// The files the page loads, by the name it asks for, with their content type.
const ASSETS: [(&str, &str, &[u8]); 4] = [
    (
        "graphiql.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/graphiql/graphiql.min.js"),
    ),
    (
        "graphiql.min.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/graphiql/graphiql.min.css"),
    ),
    (
        "react.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/graphiql/react.production.min.js"),
    ),
    (
        "react-dom.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/graphiql/react-dom.production.min.js"),
    ),
];

pub async fn page(State(state): State<AppState>) -> Response {
    if state.core.config.is_production() {
        return StatusCode::NOT_FOUND.into_response();
    }
    Html(PAGE).into_response()
}

pub async fn asset(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    if state.core.config.is_production() {
        return StatusCode::NOT_FOUND.into_response();
    }
    match ASSETS.iter().find(|(file, _, _)| *file == name) {
        Some((_, content_type, body)) => (
            [
                (header::CONTENT_TYPE, *content_type),
                // The files change only with the binary.
                (header::CACHE_CONTROL, "public, max-age=86400"),
            ],
            *body,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
