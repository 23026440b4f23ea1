//! AWS SDK integrations: `arn:aws:states:::aws-sdk:SERVICE:ACTION`.
//!
//! For services speaking awsJson (DynamoDB, SQS, EventBridge, Step Functions, Secrets
//! Manager, Systems Manager, CloudWatch Logs), any action: the parameters, in PascalCase as
//! Step Functions takes them, are the request's members (camelCased for the services whose
//! wire names are camelCase), and the answer's members, PascalCased, are the result, with
//! timestamps as ISO-8601 text. For Lambda and SNS, `invoke` and `publish`. Errors are named
//! as the Java SDK v2 names them (`DynamoDb.ResourceNotFoundException`, the service's base
//! `DynamoDb.DynamoDbException` for errors its model does not declare).

use std::time::Duration;

use serde_json::{Map, Value as Json};

use super::aws::{call_json, Aws, Service};
use super::{as_text, events, lambda, s3, sns};
use crate::tasks::TaskFailure;

/// How an `aws-sdk` service is called.
#[derive(Debug, PartialEq, Eq)]
pub struct SdkService {
    /// Its name in the resource (`dynamodb`, `eventbridge`, `sfn`).
    pub name: &'static str,
    /// Signing, endpoint and error names.
    pub service: Service,
    /// Its protocol.
    protocol: Protocol,
}

#[derive(Debug, PartialEq, Eq)]
enum Protocol {
    /// awsJson: `X-Amz-Target: <prefix>.<Action>`, this JSON version, member names on the
    /// wire camelCase or not.
    Json {
        target: &'static str,
        version: &'static str,
        camel: bool,
    },
    /// Only the actions this module implements by hand.
    Only(&'static [&'static str]),
}

/// A service known to `aws-sdk:*` only: its error names follow the SDK v2 rule.
const fn sdk_only(signing_name: &'static str, sdk_id: &'static str, v2_prefix: &'static str) -> Service {
    Service {
        signing_name,
        sdk_id,
        local_variable: None,
        v1_prefix: v2_prefix,
        v1_service: v2_prefix,
        v1_base: v2_prefix,
        v2_prefix,
        modeled: None,
    }
}

/// A service of the awsJson protocol.
const fn json_service(
    name: &'static str,
    service: Service,
    target: &'static str,
    version: &'static str,
    camel: bool,
) -> SdkService {
    SdkService {
        name,
        service,
        protocol: Protocol::Json { target, version, camel },
    }
}

/// The services `aws-sdk:*` reaches.
static SERVICES: &[SdkService] = &[
    SdkService {
        name: "dynamodb",
        service: super::dynamodb::SERVICE,
        protocol: Protocol::Json {
            target: "DynamoDB_20120810",
            version: "1.0",
            camel: false,
        },
    },
    SdkService {
        name: "sqs",
        service: super::sqs::SERVICE,
        protocol: Protocol::Json {
            target: "AmazonSQS",
            version: "1.0",
            camel: false,
        },
    },
    SdkService {
        name: "eventbridge",
        service: events::SERVICE,
        protocol: Protocol::Json {
            target: "AWSEvents",
            version: "1.1",
            camel: false,
        },
    },
    json_service(
        "sfn",
        Service {
            local_variable: Some("STEP_FUNCTIONS_ENDPOINT"),
            ..sdk_only("states", "SFN", "Sfn")
        },
        "AWSStepFunctions",
        "1.0",
        true,
    ),
    json_service(
        "secretsmanager",
        sdk_only("secretsmanager", "Secrets Manager", "SecretsManager"),
        "secretsmanager",
        "1.1",
        false,
    ),
    json_service("ssm", sdk_only("ssm", "SSM", "Ssm"), "AmazonSSM", "1.1", false),
    json_service(
        "cloudwatchlogs",
        sdk_only("logs", "CloudWatch Logs", "CloudWatchLogs"),
        "Logs_20140328",
        "1.1",
        true,
    ),
    SdkService {
        name: "lambda",
        service: lambda::SERVICE,
        protocol: Protocol::Only(&["invoke"]),
    },
    SdkService {
        name: "sns",
        service: sns::SERVICE,
        protocol: Protocol::Only(&["publish"]),
    },
    SdkService {
        name: "s3",
        service: s3::SERVICE,
        protocol: Protocol::Only(s3::ACTIONS),
    },
];

impl SdkService {
    /// The service named `name` in an `aws-sdk` resource.
    pub fn find(name: &str) -> Option<&'static SdkService> {
        SERVICES.iter().find(|s| s.name == name)
    }

    /// Whether quickstep can call `action` (camelCase, as in the resource).
    pub fn supports(&self, action: &str) -> bool {
        let well_formed = action.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            && action.chars().all(|c| c.is_ascii_alphanumeric());
        match &self.protocol {
            Protocol::Json { .. } => well_formed,
            Protocol::Only(actions) => actions.contains(&action),
        }
    }
}

/// The members that take text: a JSON value given for one is sent as its JSON text.
const TEXT_MEMBERS: &[&str] = &["Input", "Output", "MessageBody", "Message", "Detail", "SecretString"];

/// How long a call may take.
const TIMEOUT: Duration = Duration::from_secs(60);

/// Calls `service`'s `action` with `params`.
pub async fn call(
    aws: &Aws,
    service: &SdkService,
    action: &str,
    params: Map<String, Json>,
) -> Result<Json, TaskFailure> {
    let Protocol::Json { target, version, camel } = &service.protocol else {
        return match service.name {
            "lambda" => lambda::sdk_invoke(aws, &params).await,
            "s3" => s3::call(aws, action, &params).await,
            _ => sns::send_publish(aws, &params, true)
                .await
                .map(|(_, result)| Json::Object(result)),
        };
    };
    let mut params = params;
    for member in TEXT_MEMBERS {
        if let Some(value) = params.get(*member).filter(|v| !v.is_string() && !v.is_null()) {
            let text = as_text(value);
            params.insert(member.to_string(), Json::String(text));
        }
    }
    if service.name == "eventbridge" && action == "putEvents" {
        params = match events::put_events_request(&params)? {
            Json::Object(members) => members,
            _ => params,
        };
    }
    let body = if *camel {
        rename_keys(Json::Object(params), lower_first)
    } else {
        Json::Object(params)
    };
    let operation = format!("{target}.{}{}", action[..1].to_ascii_uppercase(), &action[1..]);
    let (_, answer) = call_json(aws, &service.service, aws.region(), operation, version, &body, TIMEOUT)
        .await
        .map_err(|e| e.sdk(&service.service))?;
    let answer = if *camel {
        rename_keys(answer, upper_first)
    } else {
        answer
    };
    Ok(finish(answer, service.name == "sqs"))
}

fn lower_first(key: &str) -> String {
    let mut chars = key.chars();
    chars
        .next()
        .map(|c| c.to_ascii_lowercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

fn upper_first(key: &str) -> String {
    let mut chars = key.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// Renames every member of `value`, recursively.
fn rename_keys(value: Json, rename: fn(&str) -> String) -> Json {
    match value {
        Json::Object(members) => Json::Object(
            members
                .into_iter()
                .map(|(k, v)| (rename(&k), rename_keys(v, rename)))
                .collect(),
        ),
        Json::Array(items) => Json::Array(items.into_iter().map(|v| rename_keys(v, rename)).collect()),
        other => other,
    }
}

/// The answer as the Java SDK v2 gives it to Step Functions: timestamps (`...Date`,
/// `...DateTime` members, epoch seconds on the wire) as ISO-8601 text with milliseconds,
/// and (SQS) `Md5Of...` members spelled so.
fn finish(value: Json, sqs: bool) -> Json {
    match value {
        Json::Object(members) => Json::Object(
            members
                .into_iter()
                .map(|(key, v)| {
                    let v = match v {
                        Json::Number(n) if key.ends_with("Date") || key.ends_with("DateTime") => {
                            n.as_f64().map(iso_time).unwrap_or(Json::Number(n))
                        }
                        other => finish(other, sqs),
                    };
                    let key = match key.strip_prefix("MD5Of") {
                        Some(rest) if sqs => format!("Md5Of{rest}"),
                        _ => key,
                    };
                    (key, v)
                })
                .collect(),
        ),
        Json::Array(items) => Json::Array(items.into_iter().map(|v| finish(v, sqs)).collect()),
        other => other,
    }
}

/// Epoch seconds as `2022-02-24T19:21:30.313Z`.
pub(crate) fn iso_time(seconds: f64) -> Json {
    let ms = (seconds * 1000.0).round() as i64;
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(time) => Json::String(time.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()),
        None => Json::from(seconds),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn answers_as_the_sdk_gives_them() {
        let answer = json!({"StartDate": 1645730490.313, "MD5OfMessageBody": "x", "Nested": [{"CreationDateTime": 0}]});
        assert_eq!(
            finish(answer, true),
            json!({"StartDate": "2022-02-24T19:21:30.313Z", "Md5OfMessageBody": "x", "Nested": [{"CreationDateTime": "1970-01-01T00:00:00.000Z"}]})
        );
        assert_eq!(
            rename_keys(json!({"StateMachineArn": "a", "Tags": [{"Key": "k"}]}), lower_first),
            json!({"stateMachineArn": "a", "tags": [{"key": "k"}]})
        );
        assert!(SdkService::find("dynamodb").unwrap().supports("query"));
        assert!(!SdkService::find("lambda").unwrap().supports("listFunctions"));
        assert!(!SdkService::find("dynamodb").unwrap().supports("Query"));
    }
}
