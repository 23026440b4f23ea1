//! The HTTP Task: `arn:aws:states:::http:invoke` calls an HTTPS (or, locally, HTTP) API.
//!
//! The request is `ApiEndpoint` with `QueryParameters`, `Method`, `Headers` and
//! `RequestBody` (JSON text, or with `Transform.RequestBodyEncoding: URL_ENCODED` a form,
//! its arrays as `Transform.RequestEncodingOptions.ArrayFormat` says). The result is
//! `{"Headers": {name: [values]}, "ResponseBody": JSON or text, "StatusCode", "StatusText"}`;
//! a status outside 2xx fails the task with `States.Http.StatusCode.<status>` (the cause is
//! the response's body), an endpoint that cannot be reached or does not answer within 60
//! seconds with `States.Http.Socket`. The `Authentication` / `InvocationConfig` connection
//! is not consulted: EventBridge does not give its secrets out, so credentials the API
//! needs go in `Headers`.

use std::time::Duration;

use aws_smithy_types::body::SdkBody;
use serde_json::{Map, Value as Json};

use super::aws::{send_http, CallError};
use super::bad_parameters;
use super::lambda::encode;
use crate::tasks::TaskFailure;

/// How long an HTTP Task waits for its answer (AWS: "after 60 seconds").
const TIMEOUT: Duration = Duration::from_secs(60);

/// The methods the HTTP Task takes.
const METHODS: &[&str] = &["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];

/// The parameters the HTTP Task takes.
const PARAMETERS: &[&str] = &[
    "ApiEndpoint",
    "Method",
    "Headers",
    "QueryParameters",
    "RequestBody",
    "Transform",
    "Authentication",
    "InvocationConfig",
];

/// Form-encodes `value` under `prefix`, arrays as `format` says (`INDICES`, `REPEAT`,
/// `COMMAS`, `BRACKETS`).
fn form_pairs(prefix: &str, value: &Json, format: &str, out: &mut Vec<(String, String)>) {
    match value {
        Json::Object(members) => {
            for (key, v) in members {
                let name = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}[{key}]")
                };
                form_pairs(&name, v, format, out);
            }
        }
        Json::Array(items) => match format {
            "COMMAS" => {
                let joined = items.iter().map(scalar_text).collect::<Vec<_>>().join(",");
                out.push((prefix.to_string(), joined));
            }
            "REPEAT" => items.iter().for_each(|v| form_pairs(prefix, v, format, out)),
            "BRACKETS" => items
                .iter()
                .for_each(|v| form_pairs(&format!("{prefix}[]"), v, format, out)),
            _ => items
                .iter()
                .enumerate()
                .for_each(|(i, v)| form_pairs(&format!("{prefix}[{i}]"), v, format, out)),
        },
        other => out.push((prefix.to_string(), scalar_text(other))),
    }
}

fn scalar_text(value: &Json) -> String {
    match value {
        Json::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn join_form(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The HTTP request `params` describe.
fn request(params: &Map<String, Json>, region: &str) -> Result<http::Request<SdkBody>, TaskFailure> {
    if let Some(unknown) = params.keys().find(|k| !PARAMETERS.contains(&k.as_str())) {
        return Err(bad_parameters(format!(
            "The field '{unknown}' is not supported by Step Functions for http:invoke"
        )));
    }
    let endpoint = match params.get("ApiEndpoint") {
        Some(Json::String(url)) if url.starts_with("https://") || url.starts_with("http://") => url.clone(),
        _ => return Err(bad_parameters("The field 'ApiEndpoint' must be an http(s) URL")),
    };
    let method = match params.get("Method").and_then(Json::as_str) {
        Some(m) if METHODS.contains(&m.to_ascii_uppercase().as_str()) => m.to_ascii_uppercase(),
        _ => {
            return Err(bad_parameters(format!(
                "The field 'Method' must be one of {}",
                METHODS.join(", ")
            )))
        }
    };
    let transform = params.get("Transform");
    let url_encoded = transform
        .and_then(|t| t.get("RequestBodyEncoding"))
        .and_then(Json::as_str)
        == Some("URL_ENCODED");
    let array_format = transform
        .and_then(|t| t.get("RequestEncodingOptions"))
        .and_then(|o| o.get("ArrayFormat"))
        .and_then(Json::as_str)
        .unwrap_or("INDICES");
    let mut url = endpoint;
    if let Some(query) = params.get("QueryParameters") {
        let mut pairs = Vec::new();
        form_pairs("", query, "REPEAT", &mut pairs);
        if !pairs.is_empty() {
            url.push(if url.contains('?') { '&' } else { '?' });
            url.push_str(&join_form(&pairs));
        }
    }
    let mut builder = http::Request::builder()
        .method(method.as_str())
        .uri(&url)
        .header("user-agent", format!("Amazon|StepFunctions|HttpInvoke|{region}"));
    let mut content_type = None;
    let body = match params.get("RequestBody") {
        None | Some(Json::Null) => Vec::new(),
        Some(body) if url_encoded => {
            let mut pairs = Vec::new();
            form_pairs("", body, array_format, &mut pairs);
            content_type = Some("application/x-www-form-urlencoded");
            join_form(&pairs).into_bytes()
        }
        Some(Json::String(text)) => text.clone().into_bytes(),
        Some(body) => {
            content_type = Some("application/json");
            body.to_string().into_bytes()
        }
    };
    let mut given_content_type = false;
    if let Some(headers) = params.get("Headers") {
        let Json::Object(headers) = headers else {
            return Err(bad_parameters("The field 'Headers' must be an object"));
        };
        for (name, value) in headers {
            given_content_type |= name.eq_ignore_ascii_case("content-type");
            builder = builder.header(name.as_str(), scalar_text(value));
        }
    }
    if let (Some(content_type), false) = (content_type, given_content_type) {
        builder = builder.header("content-type", content_type);
    }
    builder
        .body(SdkBody::from(body))
        .map_err(|e| bad_parameters(format!("The HTTP request cannot be made: {e}")))
}

/// `http:invoke`.
pub async fn invoke(
    connector: &aws_smithy_http_client::Connector,
    region: &str,
    params: &Map<String, Json>,
) -> Result<Json, TaskFailure> {
    let request = request(params, region)?;
    let reply = send_http(connector, request, TIMEOUT).await.map_err(|e| match e {
        CallError::Client(detail) | CallError::Setup(detail) => TaskFailure::new("States.Http.Socket", detail),
    })?;
    let text = String::from_utf8_lossy(&reply.body).into_owned();
    if !(200..300).contains(&reply.status) {
        return Err(TaskFailure::new(
            format!("States.Http.StatusCode.{}", reply.status),
            text,
        ));
    }
    let mut headers = Map::new();
    for (name, value) in &reply.headers {
        match headers.get_mut(name) {
            Some(Json::Array(values)) => values.push(Json::String(value.clone())),
            _ => {
                headers.insert(name.clone(), Json::Array(vec![Json::String(value.clone())]));
            }
        }
    }
    let body = serde_json::from_str(&text).unwrap_or(Json::String(text));
    let status_text = http::StatusCode::from_u16(reply.status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let mut result = Map::new();
    result.insert("Headers".into(), Json::Object(headers));
    result.insert("ResponseBody".into(), body);
    result.insert("StatusCode".into(), Json::from(reply.status));
    result.insert("StatusText".into(), Json::String(status_text.to_string()));
    Ok(Json::Object(result))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn forms_encode_arrays_as_asked() {
        let body = json!({"array": ["a", "b"], "n": 1});
        let encoded = |format| {
            let mut pairs = Vec::new();
            form_pairs("", &body, format, &mut pairs);
            join_form(&pairs)
        };
        assert_eq!(encoded("INDICES"), "array%5B0%5D=a&array%5B1%5D=b&n=1");
        assert_eq!(encoded("BRACKETS"), "array%5B%5D=a&array%5B%5D=b&n=1");
        assert_eq!(encoded("COMMAS"), "array=a%2Cb&n=1");
        assert_eq!(encoded("REPEAT"), "array=a&array=b&n=1");
    }
}
