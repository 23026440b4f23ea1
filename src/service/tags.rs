//! Tags (TagResource, UntagResource, ListTagsForResource, `tags` on CreateStateMachine and
//! CreateActivity) and the configurations a state machine carries (logging, tracing,
//! encryption), read as the model constrains them and stored with AWS's defaults.

use serde_json::{json, Map, Value as Json};

use super::api::{internal, Service};
use super::journal::{MachineRecord, Write};
use super::protocol::{ApiError, Arn, Members};

/// The most tags a resource can have.
const MAX_TAGS: usize = 50;

/// `tags` of a request: (key, value) pairs in the order given; `None` when absent.
pub(super) fn read_tags(m: &mut Members<'_>) -> Result<Option<Vec<(String, String)>>, ApiError> {
    let Some(items) = m.list("tags", false, 0, usize::MAX)? else {
        return Ok(None);
    };
    let mut tags = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Json::Object(tag) = item else {
            return Err(ApiError::serialization("A tag must be a structure."));
        };
        let key = m.nested_string(&format!("tags.{}.member.key", i + 1), tag.get("key"), false, 1, 128)?;
        let value = m.nested_string(&format!("tags.{}.member.value", i + 1), tag.get("value"), false, 0, 256)?;
        tags.push((key.unwrap_or("").to_string(), value.unwrap_or("").to_string()));
    }
    Ok(Some(tags))
}

/// `existing` tags (a JSON array of `{key, value}`) with `new` ones put in (a key already
/// there gets the new value in its place); `TooManyTags` past 50.
pub(super) fn merge_tags(arn: &str, existing: Json, new: &[(String, String)]) -> Result<Json, ApiError> {
    let Json::Array(mut tags) = existing else {
        return Err(ApiError::internal("the stored tags are not a list"));
    };
    for (key, value) in new {
        match tags.iter_mut().find(|t| t["key"] == key.as_str()) {
            Some(tag) => tag["value"] = json!(value),
            None => tags.push(json!({"key": key, "value": value})),
        }
    }
    if tags.len() > MAX_TAGS {
        let mut error = ApiError::new(
            "TooManyTags",
            format!(
                "Too many tags: a resource can have at most {MAX_TAGS} tags, '{arn}' would have {}.",
                tags.len()
            ),
        );
        error.resource_name = Some(arn.to_string());
        return Err(error);
    }
    Ok(Json::Array(tags))
}

/// The encryption configuration of a resource created without one.
pub(super) fn default_encryption() -> Json {
    json!({"type": "AWS_OWNED_KEY"})
}

/// `encryptionConfiguration` of a request, checked, with AWS's defaults filled in.
pub(super) fn read_encryption(m: &mut Members<'_>) -> Result<Option<Json>, ApiError> {
    let Some(given) = m.structure("encryptionConfiguration")? else {
        return Ok(None);
    };
    let kind = m.nested_string("encryptionConfiguration.type", given.get("type"), true, 0, usize::MAX)?;
    if let Some(kind) = kind {
        if !["AWS_OWNED_KEY", "CUSTOMER_MANAGED_KMS_KEY"].contains(&kind) {
            m.enum_violation(
                "encryptionConfiguration.type",
                kind,
                "AWS_OWNED_KEY, CUSTOMER_MANAGED_KMS_KEY",
            );
        }
    }
    let key = m.nested_string(
        "encryptionConfiguration.kmsKeyId",
        given.get("kmsKeyId"),
        false,
        1,
        2048,
    )?;
    let period = m.nested_integer(
        "encryptionConfiguration.kmsDataKeyReusePeriodSeconds",
        given.get("kmsDataKeyReusePeriodSeconds"),
        false,
        60,
        900,
    )?;
    let mut out = Map::new();
    match (kind, key) {
        (Some("CUSTOMER_MANAGED_KMS_KEY"), None) => {
            return Err(ApiError::new(
                "InvalidEncryptionConfiguration",
                "Invalid Encryption Configuration: kmsKeyId is required when type is CUSTOMER_MANAGED_KMS_KEY.",
            ))
        }
        (Some("AWS_OWNED_KEY"), Some(_)) => {
            return Err(ApiError::new(
                "InvalidEncryptionConfiguration",
                "Invalid Encryption Configuration: kmsKeyId can only be given when type is CUSTOMER_MANAGED_KMS_KEY.",
            ))
        }
        (Some("CUSTOMER_MANAGED_KMS_KEY"), Some(key)) => {
            out.insert("kmsKeyId".into(), json!(key));
            out.insert("kmsDataKeyReusePeriodSeconds".into(), json!(period.unwrap_or(300)));
        }
        _ => {}
    }
    out.insert("type".into(), json!(kind.unwrap_or("AWS_OWNED_KEY")));
    Ok(Some(Json::Object(out)))
}

/// The configurations of a CreateStateMachine or UpdateStateMachine request: each `None`
/// when the request leaves it out.
#[derive(Debug, Default)]
pub(super) struct Configuration {
    logging: Option<Json>,
    tracing: Option<Json>,
    encryption: Option<Json>,
}

impl Configuration {
    /// Reads `loggingConfiguration`, `tracingConfiguration` and `encryptionConfiguration`.
    pub(super) fn read(m: &mut Members<'_>) -> Result<Configuration, ApiError> {
        let logging = match m.structure("loggingConfiguration")? {
            None => None,
            Some(given) => Some(read_logging(m, given)?),
        };
        let tracing = match m.structure("tracingConfiguration")? {
            None => None,
            Some(given) => {
                let enabled = m.nested_boolean("tracingConfiguration.enabled", given.get("enabled"))?;
                Some(json!({"enabled": enabled.unwrap_or(false)}))
            }
        };
        let encryption = read_encryption(m)?;
        Ok(Configuration {
            logging,
            tracing,
            encryption,
        })
    }

    /// Whether the request gives none of them.
    pub(super) fn is_empty(&self) -> bool {
        self.logging.is_none() && self.tracing.is_none() && self.encryption.is_none()
    }

    /// Puts the given configurations into `record`, and AWS's defaults where it has none.
    pub(super) fn apply(self, record: &mut MachineRecord) {
        for (given, stored, default) in [
            (
                self.logging,
                &mut record.logging,
                json!({"level": "OFF", "includeExecutionData": false}),
            ),
            (self.tracing, &mut record.tracing, json!({"enabled": false})),
            (self.encryption, &mut record.encryption, default_encryption()),
        ] {
            match given {
                Some(given) => *stored = given,
                None if stored.is_null() => *stored = default,
                None => {}
            }
        }
    }
}

/// A `loggingConfiguration`, checked, with `level` OFF and `includeExecutionData` false
/// when absent.
fn read_logging<'a>(m: &mut Members<'a>, given: &'a Map<String, Json>) -> Result<Json, ApiError> {
    let level = m.nested_string("loggingConfiguration.level", given.get("level"), false, 0, usize::MAX)?;
    if let Some(level) = level {
        if !["ALL", "ERROR", "FATAL", "OFF"].contains(&level) {
            m.enum_violation("loggingConfiguration.level", level, "ALL, ERROR, FATAL, OFF");
        }
    }
    let include = m.nested_boolean(
        "loggingConfiguration.includeExecutionData",
        given.get("includeExecutionData"),
    )?;
    let destinations = match given.get("destinations").filter(|d| !d.is_null()) {
        None => None,
        Some(Json::Array(items)) => Some(items),
        Some(_) => {
            return Err(ApiError::serialization(
                "The member 'loggingConfiguration.destinations' must be a list.",
            ))
        }
    };
    for (i, destination) in destinations.into_iter().flatten().enumerate() {
        let group = destination
            .get("cloudWatchLogsLogGroup")
            .and_then(|g| g.get("logGroupArn"));
        m.nested_string(
            &format!(
                "loggingConfiguration.destinations.{}.member.cloudWatchLogsLogGroup.logGroupArn",
                i + 1
            ),
            group,
            false,
            1,
            256,
        )?;
    }
    let level = level.unwrap_or("OFF");
    let count = destinations.map_or(0, Vec::len);
    if count > 1 || (level != "OFF" && count != 1) {
        return Err(ApiError::new(
            "InvalidLoggingConfiguration",
            "Invalid Logging Configuration: Must specify exactly one Log Destination.",
        ));
    }
    let mut out = json!({"level": level, "includeExecutionData": include.unwrap_or(false)});
    if let Some(destinations) = destinations {
        out["destinations"] = json!(destinations);
    }
    Ok(out)
}

impl Service {
    /// The ARN of a resource that can carry tags (a state machine or an activity that
    /// exists), or `ResourceNotFound` (versions and aliases cannot be tagged).
    fn taggable(&self, arn: &str) -> Result<(), ApiError> {
        let parsed = Arn::parse(arn)?;
        let exists = match (parsed.resource_type, parsed.parts.len()) {
            ("stateMachine", 1) => self.journal.machine(arn).map_err(internal)?.is_some(),
            ("activity", 1) => self.journal.activity(arn).map_err(internal)?.is_some(),
            _ => false,
        };
        if exists {
            Ok(())
        } else {
            Err(ApiError::resource_not_found(arn))
        }
    }

    fn stored_tags(&self, arn: &str) -> Result<Json, ApiError> {
        Ok(self.journal.tags(arn).map_err(internal)?.unwrap_or_else(|| json!([])))
    }

    /// `TagResource`.
    pub(super) async fn tag_resource(&self, mut m: Members<'_>) -> Result<Json, ApiError> {
        let arn = m.string("resourceArn", true, 1, 256)?;
        let tags = read_tags(&mut m)?;
        if tags.is_none() {
            m.list("tags", true, 0, usize::MAX)?;
        }
        m.finish()?;
        let arn = arn.unwrap_or("");
        let _admin = self.admin.lock().await;
        self.taggable(arn)?;
        let merged = merge_tags(arn, self.stored_tags(arn)?, &tags.unwrap_or_default())?;
        self.commit(vec![Write::PutTags(arn.to_string(), merged)]).await?;
        Ok(json!({}))
    }

    /// `UntagResource`.
    pub(super) async fn untag_resource(&self, mut m: Members<'_>) -> Result<Json, ApiError> {
        let arn = m.string("resourceArn", true, 1, 256)?;
        let keys = m.list("tagKeys", true, 0, usize::MAX)?;
        let mut removed = Vec::new();
        for (i, key) in keys.unwrap_or_default().iter().enumerate() {
            if let Some(key) = m.nested_string(&format!("tagKeys.{}.member", i + 1), Some(key), true, 1, 128)? {
                removed.push(key);
            }
        }
        m.finish()?;
        let arn = arn.unwrap_or("");
        let _admin = self.admin.lock().await;
        self.taggable(arn)?;
        let Json::Array(mut tags) = self.stored_tags(arn)? else {
            return Err(ApiError::internal("the stored tags are not a list"));
        };
        tags.retain(|t| !removed.iter().any(|key| t["key"] == *key));
        self.commit(vec![Write::PutTags(arn.to_string(), Json::Array(tags))])
            .await?;
        Ok(json!({}))
    }

    /// `ListTagsForResource`.
    pub(super) fn list_tags_for_resource(&self, mut m: Members<'_>) -> Result<Json, ApiError> {
        let arn = m.string("resourceArn", true, 1, 256)?;
        m.finish()?;
        let arn = arn.unwrap_or("");
        self.taggable(arn)?;
        Ok(json!({ "tags": self.stored_tags(arn)? }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_upserted_in_order_and_limited_to_50() {
        let tags = merge_tags(
            "arn",
            json!([{"key": "a", "value": "1"}]),
            &[("b".into(), "2".into()), ("a".into(), "3".into())],
        )
        .unwrap();
        assert_eq!(tags, json!([{"key": "a", "value": "3"}, {"key": "b", "value": "2"}]));
        let many: Vec<(String, String)> = (0..51).map(|i| (format!("k{i}"), String::new())).collect();
        let error = merge_tags("arn:x", json!([]), &many).unwrap_err();
        assert_eq!(
            (error.code, error.body()["resourceName"].as_str()),
            ("TooManyTags", Some("arn:x"))
        );
        assert!(merge_tags("arn", json!([]), &many[..50]).is_ok());
    }

    #[test]
    fn configurations_get_aws_defaults_and_checks() {
        let body = json!({"loggingConfiguration": {"level": "ALL"}});
        let mut m = Members::of(&body).unwrap();
        assert_eq!(
            Configuration::read(&mut m).unwrap_err().code,
            "InvalidLoggingConfiguration"
        );
        let body = json!({"encryptionConfiguration": {"type": "CUSTOMER_MANAGED_KMS_KEY", "kmsKeyId": "k"},
                          "tracingConfiguration": {"enabled": true}});
        let mut m = Members::of(&body).unwrap();
        let configuration = Configuration::read(&mut m).unwrap();
        m.finish().unwrap();
        assert_eq!(
            configuration.encryption,
            Some(json!({"kmsKeyId": "k", "kmsDataKeyReusePeriodSeconds": 300, "type": "CUSTOMER_MANAGED_KMS_KEY"}))
        );
        let body = json!({"encryptionConfiguration": {"type": "NONE"}});
        let mut m = Members::of(&body).unwrap();
        Configuration::read(&mut m).unwrap();
        assert_eq!(
            m.finish().unwrap_err().message,
            "1 validation error detected: Value 'NONE' at 'encryptionConfiguration.type' failed to satisfy constraint: \
             Member must satisfy enum value set: [AWS_OWNED_KEY, CUSTOMER_MANAGED_KMS_KEY]"
        );
    }
}
