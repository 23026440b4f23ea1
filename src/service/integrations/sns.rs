//! SNS: `arn:aws:states:::sns:publish` (awsQuery: a form request, an XML answer).

use std::time::Duration;

use serde_json::{Map, Value as Json};

use super::aws::{client_failure, xml_text, Aws, Request, Service, ServiceError};
use super::lambda::encode;
use super::{arn_region, as_text, bad_parameters};
use crate::tasks::TaskFailure;

/// SNS, as the integrations name it.
pub const SERVICE: Service = Service {
    signing_name: "sns",
    sdk_id: "SNS",
    local_variable: Some("SNS_ENDPOINT"),
    v1_prefix: "SNS",
    v1_service: "AmazonSNS",
    v1_base: "AmazonSNSException",
    v2_prefix: "Sns",
    modeled: Some(&[
        "NotFound",
        "InvalidParameter",
        "InvalidParameterValue",
        "AuthorizationError",
        "InternalError",
        "EndpointDisabled",
        "PlatformApplicationDisabled",
        "Throttled",
        "InvalidSecurity",
        "KMSAccessDenied",
        "KMSDisabled",
        "KMSInvalidState",
        "KMSNotFound",
        "KMSOptInRequired",
        "KMSThrottling",
        "ValidationException",
        "FilterPolicyLimitExceeded",
        "SubscriptionLimitExceeded",
        "TopicLimitExceeded",
        "ConcurrentAccess",
        "StaleTag",
        "TagLimitExceeded",
        "TagPolicy",
        "ResourceNotFound",
        "VerificationException",
    ]),
};

/// How long a call may take.
const TIMEOUT: Duration = Duration::from_secs(60);

/// The members of `Publish` Step Functions passes on.
const PARAMETERS: &[&str] = &[
    "Message",
    "MessageAttributes",
    "MessageStructure",
    "MessageDeduplicationId",
    "MessageGroupId",
    "PhoneNumber",
    "Subject",
    "TargetArn",
    "TopicArn",
];

/// The form of a `Publish` request.
fn publish_form(params: &Map<String, Json>) -> Result<String, TaskFailure> {
    let mut form = vec![
        ("Action".to_string(), "Publish".to_string()),
        ("Version".to_string(), "2010-03-31".to_string()),
    ];
    for (name, value) in params {
        match name.as_str() {
            "MessageAttributes" => {
                let Json::Object(attributes) = value else {
                    return Err(bad_parameters("The field 'MessageAttributes' must be an object"));
                };
                for (n, (key, attribute)) in attributes.iter().enumerate() {
                    let prefix = format!("MessageAttributes.entry.{}", n + 1);
                    form.push((format!("{prefix}.Name"), key.clone()));
                    if let Json::Object(fields) = attribute {
                        for (field, v) in fields {
                            form.push((format!("{prefix}.Value.{field}"), as_text(v)));
                        }
                    }
                }
            }
            _ if value.is_null() => {}
            _ => form.push((name.clone(), as_text(value))),
        }
    }
    Ok(form
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&"))
}

/// Publishes; the answer's `MessageId` and `SequenceNumber`, and the reply.
pub(crate) async fn send_publish(
    aws: &Aws,
    params: &Map<String, Json>,
    sdk: bool,
) -> Result<(super::aws::Reply, Map<String, Json>), TaskFailure> {
    if let Some(unknown) = params.keys().find(|k| !PARAMETERS.contains(&k.as_str())) {
        return Err(bad_parameters(format!(
            "The field '{unknown}' is not supported by Step Functions for sns:publish"
        )));
    }
    let target = ["TopicArn", "TargetArn"]
        .iter()
        .find_map(|k| params.get(*k).and_then(Json::as_str))
        .unwrap_or("");
    let region = arn_region(target).unwrap_or(aws.region()).to_string();
    let request = Request {
        method: "POST",
        path_and_query: "/".into(),
        headers: vec![(
            "content-type".to_string(),
            "application/x-www-form-urlencoded; charset=utf-8".into(),
        )],
        body: publish_form(params)?.into_bytes(),
    };
    let prefix = if sdk { SERVICE.v2_prefix } else { SERVICE.v1_prefix };
    let reply = aws
        .send(&SERVICE, &region, request, TIMEOUT)
        .await
        .map_err(|e| client_failure(prefix, e))?;
    if !(200..300).contains(&reply.status) {
        let error = ServiceError::from_xml(&reply);
        return Err(if sdk {
            error.sdk(&SERVICE)
        } else {
            error.optimized(&SERVICE)
        });
    }
    let text = String::from_utf8_lossy(&reply.body).into_owned();
    let mut result = Map::new();
    for member in ["MessageId", "SequenceNumber"] {
        if let Some(value) = xml_text(&text, member) {
            result.insert(member.into(), Json::String(value));
        }
    }
    Ok((reply, result))
}

/// `sns:publish`: `MessageId` (and `SequenceNumber`), with the envelope.
pub async fn publish(aws: &Aws, params: &Map<String, Json>) -> Result<Json, TaskFailure> {
    let (reply, result) = send_publish(aws, params, false).await?;
    Ok(reply.with_metadata(result))
}
