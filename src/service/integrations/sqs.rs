//! SQS: `arn:aws:states:::sqs:sendMessage` (awsJson 1.0).

use std::time::Duration;

use serde_json::{Map, Value as Json};

use super::aws::{call_json, Aws, Service};
use super::{as_text, bad_parameters};
use crate::tasks::TaskFailure;

/// SQS, as the integrations name it.
pub const SERVICE: Service = Service {
    signing_name: "sqs",
    sdk_id: "SQS",
    local_variable: Some("SQS_ENDPOINT"),
    v1_prefix: "SQS",
    v1_service: "AmazonSQS",
    v1_base: "AmazonSQSException",
    v2_prefix: "Sqs",
    modeled: Some(&[
        "QueueDoesNotExist",
        "InvalidMessageContents",
        "UnsupportedOperation",
        "InvalidAddress",
        "InvalidSecurity",
        "RequestThrottled",
        "KmsAccessDenied",
        "KmsDisabled",
        "KmsInvalidKeyUsage",
        "KmsInvalidState",
        "KmsNotFound",
        "KmsOptInRequired",
        "KmsThrottled",
        "OverLimit",
        "QueueDeletedRecently",
        "QueueNameExists",
        "InvalidAttributeName",
        "InvalidAttributeValue",
        "InvalidBatchEntryId",
        "BatchEntryIdsNotDistinct",
        "BatchRequestTooLong",
        "EmptyBatchRequest",
        "TooManyEntriesInBatchRequest",
        "ReceiptHandleIsInvalid",
        "MessageNotInflight",
        "PurgeQueueInProgress",
        "InvalidIdFormat",
        "ResourceNotFoundException",
    ]),
};

/// How long a call may take.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(60);

/// The members of `SendMessage` Step Functions passes on.
const PARAMETERS: &[&str] = &[
    "QueueUrl",
    "MessageBody",
    "DelaySeconds",
    "MessageAttributes",
    "MessageDeduplicationId",
    "MessageGroupId",
    "MessageSystemAttributes",
];

/// The region of a queue URL (`https://sqs.eu-west-1.amazonaws.com/...`), when it names one.
pub(crate) fn queue_region(url: &str) -> Option<&str> {
    let host = url.split("://").nth(1)?.split('/').next()?;
    let mut labels = host.split('.');
    match (labels.next(), labels.next()) {
        (Some("sqs"), Some(region)) if host.contains(".amazonaws.com") => Some(region),
        (Some(region), Some("queue")) if host.contains(".amazonaws.com") => Some(region),
        _ => None,
    }
}

/// `sqs:sendMessage`: `MD5OfMessageBody`, `MessageId` (and `MD5OfMessageAttributes`,
/// `SequenceNumber`), with the envelope.
pub async fn send_message(aws: &Aws, params: &Map<String, Json>) -> Result<Json, TaskFailure> {
    if let Some(unknown) = params.keys().find(|k| !PARAMETERS.contains(&k.as_str())) {
        return Err(bad_parameters(format!(
            "The field '{unknown}' is not supported by Step Functions for sqs:sendMessage"
        )));
    }
    let mut body = params.clone();
    match body.get("MessageBody") {
        None | Some(Json::Null) => {
            body.remove("MessageBody");
        }
        Some(value) => {
            let text = as_text(value);
            body.insert("MessageBody".into(), Json::String(text));
        }
    }
    let url = params.get("QueueUrl").and_then(Json::as_str).unwrap_or("");
    let region = queue_region(url).unwrap_or(aws.region()).to_string();
    let (reply, answer) = call_json(
        aws,
        &SERVICE,
        &region,
        "AmazonSQS.SendMessage".into(),
        "1.0",
        &Json::Object(body),
        TIMEOUT,
    )
    .await
    .map_err(|e| e.optimized(&SERVICE))?;
    Ok(reply.answer_with_metadata(answer))
}

#[cfg(test)]
mod tests {
    #[test]
    fn queue_regions() {
        assert_eq!(
            super::queue_region("https://sqs.eu-west-1.amazonaws.com/1/q"),
            Some("eu-west-1")
        );
        assert_eq!(super::queue_region("http://localhost:5000/123456789012/q"), None);
    }
}
