//! The read-only endpoints: `GET /mappings`, `GET /channels`, `GET /ping`, `GET /openapi.json`,
//! and the 404 answer for everything else.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::response::Failure;
use crate::server::AppState;

/// Serialises with a 4-space indent (Go's `json.MarshalIndent(v, "", "    ")`).
fn pretty_json<T: Serialize>(value: &T) -> Result<String, serde_json::Error> {
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    value.serialize(&mut ser)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

fn json_response(body: String) -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

/// `GET /mappings`: the normalised routing rules, or `null` when there are none.
pub(crate) async fn get_mappings(State(state): State<Arc<AppState>>) -> Response {
    let routing = state.routing();
    let rules = routing.rules();
    let result = if rules.is_empty() {
        Ok("null".to_owned())
    } else {
        pretty_json(&rules)
    };
    match result {
        Ok(body) => json_response(body),
        Err(e) => {
            Failure::internal(format!("failed to serialise mappings: {e}")).into_response_logged()
        }
    }
}

/// `GET /channels`: the bot's channels, sorted by name.
pub(crate) async fn get_channels(State(state): State<Arc<AppState>>) -> Response {
    let channels = match state.channel_info.managed_channels().await {
        Ok(c) => c,
        Err(e) => {
            return Failure::internal(format!("failed to list managed channels: {e}"))
                .into_response_logged();
        }
    };
    match pretty_json(&channels) {
        Ok(body) => json_response(body),
        Err(e) => {
            Failure::internal(format!("failed to serialise channels: {e}")).into_response_logged()
        }
    }
}

/// `GET /ping`: `pong`; `?status=N` (100–599) sets the status; `?panic=true` panics when verbose.
pub(crate) async fn get_ping(
    State(state): State<Arc<AppState>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if state.config.verbose && query.get("panic").map(String::as_str) == Some("true") {
        // Deliberate: lets operators check the panic recovery (only with `verbose`).
        panic!("panic requested by GET /ping?panic=true");
    }
    let status = query
        .get("status")
        .and_then(|s| s.parse::<u16>().ok())
        .filter(|s| (100..=599).contains(s))
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        "pong",
    )
        .into_response()
}

/// `GET /openapi.json`.
pub(crate) async fn get_openapi() -> Response {
    json_response(crate::openapi::openapi_document().to_string())
}

/// Unknown paths and wrong methods: Go's default `404 page not found`.
pub(crate) async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        "404 page not found",
    )
        .into_response()
}
