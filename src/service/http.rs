//! The HTTP face of the service: awsJson1_0 on `POST /` (any path, any host: SDKs send
//! `StartSyncExecution` to `sync-<host>`), the operation in `X-Amz-Target`, any SigV4
//! signature accepted; the web console on `GET /` and `/console/...` ([`super::console`]).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value as Json;

use super::api::Service;
use super::protocol::ApiError;

/// The router serving `service`.
pub fn router(service: Arc<Service>) -> axum::Router {
    axum::Router::new()
        .route("/metrics", axum::routing::get(metrics))
        .route("/", axum::routing::get(console).fallback(handle))
        .merge(super::console::routes())
        .fallback(handle)
        .with_state(service)
}

/// `GET /`: the web console, unless the request names an API operation.
async fn console(State(service): State<Arc<Service>>, headers: HeaderMap, body: Bytes) -> Response {
    if headers.contains_key("x-amz-target") {
        return handle(State(service), headers, body).await;
    }
    super::console::index()
}

/// `GET /metrics`: the journal's counters in Prometheus' text format.
async fn metrics(State(service): State<Arc<Service>>) -> Response {
    let mut response = service.metrics().into_response();
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("text/plain; version=0.0.4"));
    response
}

/// Serves `service` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    service: Arc<Service>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(service))
        .with_graceful_shutdown(shutdown)
        .await
}

async fn handle(State(service): State<Arc<Service>>, headers: HeaderMap, body: Bytes) -> Response {
    let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or("");
    let trace = headers
        .get("x-amzn-trace-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let result = match target.strip_prefix("AWSStepFunctions.") {
        None => Err(ApiError::unknown_operation(target)),
        Some(operation) => match parse_body(&body) {
            // On a task of its own, so that a panic (a bug) answers 500 instead of dropping
            // the connection.
            Ok(json) => {
                let operation = operation.to_string();
                tokio::spawn(async move { service.call(&operation, &json, trace.as_deref()).await })
                    .await
                    .unwrap_or_else(|e| Err(ApiError::internal(format!("the request failed: {e}"))))
            }
            Err(e) => Err(e),
        },
    };
    let (status, body) = match result {
        Ok(body) => (StatusCode::OK, body),
        Err(error) => (
            StatusCode::from_u16(error.status).unwrap_or(StatusCode::BAD_REQUEST),
            error.body(),
        ),
    };
    let mut response = (status, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static("application/x-amz-json-1.0"));
    if let Ok(id) = HeaderValue::from_str(&crate::intrinsics::uuid_v4_string()) {
        headers.insert("x-amzn-requestid", id);
    }
    response
}

fn parse_body(body: &[u8]) -> Result<Json, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Json::Object(Default::default()));
    }
    serde_json::from_slice(body).map_err(|e| ApiError::serialization(format!("The request is not valid JSON: {e}")))
}
