//! EventBridge: `arn:aws:states:::events:putEvents` (awsJson 1.1). Its result has no
//! `SdkHttpMetadata`; an entry that failed fails the task with `EventBridge.FailedEntry`.

use std::time::Duration;

use serde_json::{Map, Value as Json};

use super::aws::{call_json, Aws, Service};
use super::{as_text, bad_parameters};
use crate::tasks::TaskFailure;

/// EventBridge, as the integrations name it.
pub const SERVICE: Service = Service {
    signing_name: "events",
    sdk_id: "EventBridge",
    local_variable: None,
    v1_prefix: "EventBridge",
    v1_service: "AmazonEventBridge",
    v1_base: "AmazonEventBridgeException",
    v2_prefix: "EventBridge",
    modeled: None,
};

/// How long a call may take.
const TIMEOUT: Duration = Duration::from_secs(60);

/// The request of `PutEvents`: each entry's `Detail` as JSON text.
pub(crate) fn put_events_request(params: &Map<String, Json>) -> Result<Json, TaskFailure> {
    if let Some(unknown) = params
        .keys()
        .find(|k| k.as_str() != "Entries" && k.as_str() != "EndpointId")
    {
        return Err(bad_parameters(format!(
            "The field '{unknown}' is not supported by Step Functions for events:putEvents"
        )));
    }
    let Some(Json::Array(entries)) = params.get("Entries") else {
        return Err(bad_parameters("The field 'Entries' is required and must be an array"));
    };
    let entries = entries
        .iter()
        .map(|entry| match entry {
            Json::Object(fields) => {
                let mut fields = fields.clone();
                if let Some(detail) = fields.get("Detail").filter(|d| !d.is_string()) {
                    let text = as_text(detail);
                    fields.insert("Detail".into(), Json::String(text));
                }
                Json::Object(fields)
            }
            other => other.clone(),
        })
        .collect();
    let mut body = params.clone();
    body.insert("Entries".into(), Json::Array(entries));
    Ok(Json::Object(body))
}

/// `events:putEvents`: `{"Entries": [...], "FailedEntryCount": n}`.
pub async fn put_events(aws: &Aws, params: &Map<String, Json>) -> Result<Json, TaskFailure> {
    let body = put_events_request(params)?;
    let (_, answer) = call_json(
        aws,
        &SERVICE,
        aws.region(),
        "AWSEvents.PutEvents".into(),
        "1.1",
        &body,
        TIMEOUT,
    )
    .await
    .map_err(|e| e.optimized(&SERVICE))?;
    let failed = answer.get("FailedEntryCount").and_then(Json::as_i64).unwrap_or(0);
    let mut result = Map::new();
    result.insert(
        "Entries".into(),
        answer.get("Entries").cloned().unwrap_or(Json::Array(Vec::new())),
    );
    result.insert("FailedEntryCount".into(), Json::from(failed));
    let result = Json::Object(result);
    if failed > 0 {
        return Err(TaskFailure::new("EventBridge.FailedEntry", result.to_string()));
    }
    Ok(result)
}
