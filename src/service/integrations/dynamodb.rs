//! DynamoDB: `arn:aws:states:::dynamodb:getItem|putItem|updateItem|deleteItem` (awsJson
//! 1.0; parameters and results in DynamoDB JSON, as the API has them).

use std::time::Duration;

use serde_json::{Map, Value as Json};

use super::aws::{call_json, Aws, Service};
use super::bad_parameters;
use crate::tasks::TaskFailure;

/// DynamoDB, as the integrations name it.
pub const SERVICE: Service = Service {
    signing_name: "dynamodb",
    sdk_id: "DynamoDB",
    local_variable: Some("DYNAMODB_ENDPOINT"),
    v1_prefix: "DynamoDB",
    v1_service: "AmazonDynamoDBv2",
    v1_base: "AmazonDynamoDBException",
    v2_prefix: "DynamoDb",
    modeled: Some(&[
        "ConditionalCheckFailedException",
        "ResourceNotFoundException",
        "ProvisionedThroughputExceededException",
        "ItemCollectionSizeLimitExceededException",
        "TransactionConflictException",
        "TransactionCanceledException",
        "TransactionInProgressException",
        "IdempotentParameterMismatchException",
        "RequestLimitExceeded",
        "InternalServerError",
        "LimitExceededException",
        "ResourceInUseException",
        "ReplicatedWriteConflictException",
        "DuplicateItemException",
        "InvalidEndpointException",
        "TableNotFoundException",
        "TableAlreadyExistsException",
        "TableInUseException",
        "BackupNotFoundException",
        "BackupInUseException",
        "ContinuousBackupsUnavailableException",
        "PointInTimeRecoveryUnavailableException",
        "PolicyNotFoundException",
        "ThrottlingException",
    ]),
};

/// How long a call may take.
const TIMEOUT: Duration = Duration::from_secs(60);

/// Whether Step Functions takes `member` in `dynamodb:<action>`.
fn accepts(action: &str, member: &str) -> bool {
    const GET: &[&str] = &[
        "Key",
        "TableName",
        "AttributesToGet",
        "ConsistentRead",
        "ExpressionAttributeNames",
        "ProjectionExpression",
        "ReturnConsumedCapacity",
    ];
    /// What PutItem, DeleteItem and UpdateItem share: a conditional write.
    const WRITE: &[&str] = &[
        "TableName",
        "ConditionalOperator",
        "ConditionExpression",
        "Expected",
        "ExpressionAttributeNames",
        "ExpressionAttributeValues",
        "ReturnConsumedCapacity",
        "ReturnItemCollectionMetrics",
        "ReturnValues",
        "ReturnValuesOnConditionCheckFailure",
    ];
    match action {
        "GetItem" => GET.contains(&member),
        "PutItem" => member == "Item" || WRITE.contains(&member),
        "DeleteItem" => member == "Key" || WRITE.contains(&member),
        _ => matches!(member, "Key" | "UpdateExpression" | "AttributeUpdates") || WRITE.contains(&member),
    }
}

/// `dynamodb:<action>`: the API's answer (`Item`, `Attributes`, ...), with the envelope.
pub async fn call(aws: &Aws, action: &str, params: &Map<String, Json>) -> Result<Json, TaskFailure> {
    if let Some(unknown) = params.keys().find(|k| !accepts(action, k)) {
        let name = format!("{}{}", action[..1].to_ascii_lowercase(), &action[1..]);
        return Err(bad_parameters(format!(
            "The field '{unknown}' is not supported by Step Functions for dynamodb:{name}"
        )));
    }
    let (reply, answer) = call_json(
        aws,
        &SERVICE,
        aws.region(),
        format!("DynamoDB_20120810.{action}"),
        "1.0",
        &Json::Object(params.clone()),
        TIMEOUT,
    )
    .await
    .map_err(|e| e.optimized(&SERVICE))?;
    Ok(reply.answer_with_metadata(answer))
}
