//! The web console of `quickstep serve`: `GET /` is a page whose script calls the Step
//! Functions API itself (`POST /` with `X-Amz-Target`); `/console/...` serves its assets and
//! what the API does not give: the drawing of a state machine or of an execution's path
//! (`GET /console/graph.svg`) and the lines of validation diagnostics
//! (`POST /console/positions`). Every asset is inside the binary.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::api::Service;
use super::protocol::ApiError;

const INDEX: &str = include_str!("assets/index.html");
const SCRIPT: &str = include_str!("assets/app.js");
const STYLE: &str = include_str!("assets/app.css");

/// The console's routes, to merge into the service's router (`GET /` itself is routed by
/// [`super::http::router`], which sends API requests on to the API).
pub fn routes() -> axum::Router<Arc<Service>> {
    axum::Router::new()
        .route(
            "/console/app.js",
            get(|| async { asset(SCRIPT, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/console/app.css",
            get(|| async { asset(STYLE, "text/css; charset=utf-8") }),
        )
        .route("/console/graph.svg", get(graph))
        .route("/console/positions", post(positions))
}

/// `GET /`: the console's page.
pub fn index() -> Response {
    asset(INDEX, "text/html; charset=utf-8")
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// The query of `GET /console/graph.svg`: one of the two ARNs.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphQuery {
    state_machine_arn: Option<String>,
    execution_arn: Option<String>,
}

/// `GET /console/graph.svg?stateMachineArn=ARN` draws a state machine (or a version);
/// `?executionArn=ARN` draws the definition the execution ran, with its path from its
/// journaled history. Errors are the API's, as JSON.
async fn graph(State(service): State<Arc<Service>>, Query(query): Query<GraphQuery>) -> Response {
    match draw(&service, &query).await {
        Ok(svg) => {
            let mut response = svg.into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/svg+xml"));
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(error) => api_error(&error),
    }
}

async fn draw(service: &Service, query: &GraphQuery) -> Result<String, ApiError> {
    let (definition, events) = match (&query.state_machine_arn, &query.execution_arn) {
        (Some(arn), None) => {
            let described = service
                .call("DescribeStateMachine", &json!({ "stateMachineArn": arn }), None)
                .await?;
            (definition_of(&described)?, None)
        }
        (None, Some(arn)) => {
            let described = service
                .call(
                    "DescribeStateMachineForExecution",
                    &json!({ "executionArn": arn }),
                    None,
                )
                .await?;
            (definition_of(&described)?, Some(history(service, arn).await?))
        }
        _ => {
            return Err(ApiError::new(
                "ValidationException",
                "Exactly one of stateMachineArn and executionArn must be given",
            ))
        }
    };
    let model = crate::parse::parse_definition(&definition).map_err(|diagnostics| {
        let first = diagnostics.first().map(ToString::to_string).unwrap_or_default();
        ApiError::internal(format!("the definition cannot be drawn: {first}"))
    })?;
    Ok(render_svg(&model, events.as_deref()))
}

fn definition_of(described: &Json) -> Result<String, ApiError> {
    described["definition"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| ApiError::internal("the state machine has no definition"))
}

/// Every event of the execution `arn`, through GetExecutionHistory's pages.
async fn history(service: &Service, arn: &str) -> Result<Vec<Json>, ApiError> {
    let mut events = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut request = json!({ "executionArn": arn, "maxResults": 1000, "includeExecutionData": false });
        if let Some(token) = &token {
            request["nextToken"] = json!(token);
        }
        let mut page = service.call("GetExecutionHistory", &request, None).await?;
        if let Json::Array(batch) = page["events"].take() {
            events.extend(batch);
        }
        match page["nextToken"].as_str() {
            Some(next) => token = Some(next.to_string()),
            None => return Ok(events),
        }
    }
}

/// The SVG drawing of `model`, with the path `events` took when given.
fn render_svg(model: &crate::model::StateMachine, events: Option<&[Json]>) -> String {
    use crate::graph::{render, ExecutionPath, Format};
    let path = events.map(|events| ExecutionPath::from_json_events(model, events));
    render(model, Format::Svg, path.as_ref())
}

/// The body of `POST /console/positions`.
#[derive(Deserialize)]
struct PositionsRequest {
    definition: String,
    locations: Vec<Option<String>>,
}

/// `POST /console/positions`: `{"definition", "locations": [...]}` (the `location`s of
/// ValidateStateMachineDefinition's diagnostics) answers `{"positions": [{"line", "column"}
/// or null, ...]}`, 1-based, in the same order.
async fn positions(body: axum::body::Bytes) -> Response {
    let request: PositionsRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(e) => {
            return api_error(&ApiError::serialization(format!("The request is not valid JSON: {e}")));
        }
    };
    let positions: Vec<Json> = request
        .locations
        .iter()
        .map(|location| {
            location
                .as_deref()
                .and_then(|l| crate::diagnostic::line_col(&request.definition, l))
                .map_or(Json::Null, |(line, column)| json!({ "line": line, "column": column }))
        })
        .collect();
    let mut response = json!({ "positions": positions }).to_string().into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn api_error(error: &ApiError) -> Response {
    let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = (status, error.body().to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
