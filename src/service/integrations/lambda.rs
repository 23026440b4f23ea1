//! Lambda: `arn:aws:states:::lambda:invoke` (the `Invoke` response with Step Functions'
//! envelope), a function ARN as `Resource` (the payload alone), and `aws-sdk:lambda:invoke`
//! (the response in PascalCase, a function error not failing the task).

use std::time::Duration;

use serde_json::{Map, Value as Json};

use super::aws::{client_failure, Aws, Reply, Request, Service, ServiceError};
use super::{arn_region, bad_parameters};
use crate::tasks::TaskFailure;

/// Lambda, as the integrations name it.
pub const SERVICE: Service = Service {
    signing_name: "lambda",
    sdk_id: "Lambda",
    local_variable: Some("LAMBDA_ENDPOINT"),
    v1_prefix: "Lambda",
    v1_service: "AWSLambda",
    v1_base: "AWSLambdaException",
    v2_prefix: "Lambda",
    modeled: None,
};

/// How long an invocation may take: a function runs for up to 15 minutes.
const TIMEOUT: Duration = Duration::from_secs(16 * 60);

/// The members of `Invoke` Step Functions passes on.
const PARAMETERS: &[&str] = &[
    "FunctionName",
    "Payload",
    "InvocationType",
    "Qualifier",
    "ClientContext",
    "LogType",
];

/// Percent-encodes a path segment or query value (RFC 3986 unreserved characters kept).
pub(crate) fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Invokes the function `params` name; the raw reply, or why there is none.
async fn send_invoke(aws: &Aws, params: &Map<String, Json>) -> Result<Reply, TaskFailure> {
    if let Some(unknown) = params.keys().find(|k| !PARAMETERS.contains(&k.as_str())) {
        return Err(bad_parameters(format!(
            "The field '{unknown}' is not supported by Step Functions for lambda:invoke"
        )));
    }
    let function = match params.get("FunctionName") {
        Some(Json::String(name)) if !name.is_empty() => name.as_str(),
        _ => {
            return Err(bad_parameters(
                "The field 'FunctionName' is required and must be a string",
            ))
        }
    };
    let payload = match params.get("Payload") {
        None | Some(Json::Null) => b"{}".to_vec(),
        Some(value) => serde_json::to_vec(value).unwrap_or_default(),
    };
    let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
    for (member, header) in [
        ("InvocationType", "x-amz-invocation-type"),
        ("LogType", "x-amz-log-type"),
        ("ClientContext", "x-amz-client-context"),
    ] {
        if let Some(Json::String(value)) = params.get(member) {
            headers.push((header.to_string(), value.clone()));
        }
    }
    let mut path = format!("/2015-03-31/functions/{}/invocations", encode(function));
    if let Some(Json::String(qualifier)) = params.get("Qualifier") {
        path.push_str(&format!("?Qualifier={}", encode(qualifier)));
    }
    let region = arn_region(function).unwrap_or(aws.region()).to_string();
    let request = Request {
        method: "POST",
        path_and_query: path,
        headers,
        body: payload,
    };
    let reply = aws
        .send(&SERVICE, &region, request, TIMEOUT)
        .await
        .map_err(|e| client_failure(SERVICE.v1_prefix, e))?;
    if !(200..300).contains(&reply.status) {
        return Err(ServiceError::from_json(&reply).optimized(&SERVICE));
    }
    Ok(reply)
}

/// The payload as the state sees it: parsed JSON, else the text.
fn payload_value(body: &[u8]) -> Json {
    serde_json::from_slice(body).unwrap_or_else(|_| Json::String(String::from_utf8_lossy(body).into_owned()))
}

/// A function error (`X-Amz-Function-Error`): the payload's `errorType` (else
/// `Lambda.Unknown`), with the payload's text, unchanged, as the cause.
fn function_error(reply: &Reply) -> Option<TaskFailure> {
    reply.header("X-Amz-Function-Error")?;
    let text = String::from_utf8_lossy(&reply.body).into_owned();
    let error = serde_json::from_slice::<Json>(&reply.body)
        .ok()
        .and_then(|p| p.get("errorType").and_then(Json::as_str).map(str::to_string))
        .unwrap_or_else(|| "Lambda.Unknown".to_string());
    Some(TaskFailure::new(error, text))
}

/// `arn:aws:states:::lambda:invoke`.
pub async fn invoke(aws: &Aws, params: &Map<String, Json>) -> Result<Json, TaskFailure> {
    let reply = send_invoke(aws, params).await?;
    if let Some(failure) = function_error(&reply) {
        return Err(failure);
    }
    let mut result = Map::new();
    let version = reply.header("X-Amz-Executed-Version").unwrap_or("$LATEST");
    result.insert("ExecutedVersion".into(), Json::String(version.to_string()));
    if let Some(log) = reply.header("X-Amz-Log-Result") {
        result.insert("LogResult".into(), Json::String(log.to_string()));
    }
    result.insert("Payload".into(), payload_value(&reply.body));
    result.insert("StatusCode".into(), Json::from(reply.status));
    Ok(reply.with_metadata(result))
}

/// A function ARN as `Resource`: the input is the payload, the result the function's.
pub async fn invoke_function(aws: &Aws, arn: &str, input: Json) -> Result<Json, TaskFailure> {
    let mut params = Map::new();
    params.insert("FunctionName".into(), Json::String(arn.to_string()));
    params.insert("Payload".into(), input);
    let reply = send_invoke(aws, &params).await?;
    if let Some(failure) = function_error(&reply) {
        return Err(failure);
    }
    Ok(payload_value(&reply.body))
}

/// `aws-sdk:lambda:invoke`: the response members; a function error is in
/// `FunctionError`, and the payload stays text.
pub async fn sdk_invoke(aws: &Aws, params: &Map<String, Json>) -> Result<Json, TaskFailure> {
    let reply = send_invoke(aws, params).await.map_err(|failure| match failure {
        // The SDK form names errors after the v2 classes.
        TaskFailure::Error { error, cause } => TaskFailure::Error {
            error: error.replace("Lambda.AWSLambdaException", "Lambda.LambdaException"),
            cause: cause.map(|c| sdk_cause(&c)),
        },
        other => other,
    })?;
    let mut result = Map::new();
    let version = reply.header("X-Amz-Executed-Version").unwrap_or("$LATEST");
    result.insert("ExecutedVersion".into(), Json::String(version.to_string()));
    if let Some(error) = reply.header("X-Amz-Function-Error") {
        result.insert("FunctionError".into(), Json::String(error.to_string()));
    }
    if let Some(log) = reply.header("X-Amz-Log-Result") {
        result.insert("LogResult".into(), Json::String(log.to_string()));
    }
    result.insert(
        "Payload".into(),
        Json::String(String::from_utf8_lossy(&reply.body).into_owned()),
    );
    result.insert("StatusCode".into(), Json::from(reply.status));
    Ok(Json::Object(result))
}

/// A v1 cause (`(Service: AWSLambda; Status Code: 404; Error Code: X; Request ID: Y; Proxy:
/// null)`) in the v2 form (`(Service: Lambda, Status Code: 404, Request ID: Y)`).
fn sdk_cause(cause: &str) -> String {
    let Some(start) = cause.rfind(" (Service: AWSLambda;") else {
        return cause.to_string();
    };
    let details = &cause[start + 2..cause.len() - 1];
    let field = |name: &str| {
        details
            .split("; ")
            .find_map(|part| part.strip_prefix(name))
            .unwrap_or("")
            .to_string()
    };
    format!(
        "{} (Service: Lambda, Status Code: {}, Request ID: {})",
        &cause[..start],
        field("Status Code: "),
        field("Request ID: ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_in_the_sdk_form() {
        assert_eq!(
            sdk_cause("Function not found: f (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; Request ID: r; Proxy: null)"),
            "Function not found: f (Service: Lambda, Status Code: 404, Request ID: r)"
        );
        assert_eq!(
            encode("arn:aws:lambda:x:1:function:f"),
            "arn%3Aaws%3Alambda%3Ax%3A1%3Afunction%3Af"
        );
    }
}
