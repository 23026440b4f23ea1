//! The Step Functions API's wire rules (awsJson1_0): errors in AWS's shape, reading request
//! members with the model's constraints, names, ARNs, timestamps and paging tokens.

use base64::Engine as _;
use serde_json::{Map, Value as Json};

use crate::clock::{Clock, SystemClock};

/// The namespace of the service's own exceptions in `__type`.
const SERVICE_NAMESPACE: &str = "com.amazonaws.swf.service.v2.model#";
/// The namespace of the request validator's `ValidationException`.
const VALIDATOR_NAMESPACE: &str = "com.amazon.coral.validate#";

/// An error answer: AWS's code (the `__type` after `#`), its message and HTTP status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// The code, such as `ExecutionDoesNotExist`.
    pub code: &'static str,
    /// The message, as AWS words it.
    pub message: String,
    /// The HTTP status: 400 for the caller's errors, 500 when the server failed.
    pub status: u16,
    /// Where the code's namespace comes from.
    namespace: &'static str,
    /// The resource the error is about (`TooManyTags` names it in `resourceName`).
    pub resource_name: Option<String>,
}

impl ApiError {
    /// One of the service's exceptions (HTTP 400).
    pub fn new(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
            status: 400,
            namespace: SERVICE_NAMESPACE,
            resource_name: None,
        }
    }

    /// A `ValidationException` from the request validator, with its violations joined as
    /// AWS joins them (`N validation error(s) detected: ...`).
    pub fn validation(violations: &[String]) -> ApiError {
        let noun = if violations.len() == 1 { "error" } else { "errors" };
        ApiError {
            code: "ValidationException",
            message: format!(
                "{} validation {noun} detected: {}",
                violations.len(),
                violations.join("; ")
            ),
            status: 400,
            namespace: VALIDATOR_NAMESPACE,
            resource_name: None,
        }
    }

    /// A request that is not a JSON object, or a member of the wrong JSON type.
    pub fn serialization(message: impl Into<String>) -> ApiError {
        ApiError {
            code: "SerializationException",
            message: message.into(),
            status: 400,
            namespace: "",
            resource_name: None,
        }
    }

    /// An `X-Amz-Target` naming no operation of the API.
    pub fn unknown_operation(target: &str) -> ApiError {
        ApiError {
            code: "UnknownOperationException",
            message: format!("Unknown operation: '{target}'"),
            status: 400,
            namespace: "",
            resource_name: None,
        }
    }

    /// The server could not do what was asked (the journal could not be written): HTTP 500,
    /// which SDKs retry.
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError {
            code: "InternalFailure",
            message: message.into(),
            status: 500,
            namespace: "",
            resource_name: None,
        }
    }

    /// The `__type` member.
    pub fn type_name(&self) -> String {
        format!("{}{}", self.namespace, self.code)
    }

    /// The body AWS sends: `{"__type": ..., "message": ...}` (and `resourceName` when the
    /// error names a resource).
    pub fn body(&self) -> Json {
        let mut body = serde_json::json!({ "__type": self.type_name(), "message": self.message });
        if let Some(resource) = &self.resource_name {
            body["resourceName"] = Json::from(resource.as_str());
        }
        body
    }

    /// `ResourceNotFound` for a resource that does not exist or cannot be tagged.
    pub fn resource_not_found(arn: &str) -> ApiError {
        ApiError::new("ResourceNotFound", format!("Resource not found: '{arn}'"))
    }

    /// `InvalidArn` for text that is not an ARN of Step Functions.
    pub fn invalid_arn(value: &str) -> ApiError {
        ApiError::new("InvalidArn", format!("Invalid Arn: 'Invalid ARN prefix: {value}'"))
    }

    /// `InvalidArn` for an ARN of a resource type the operation does not take.
    pub fn wrong_resource_type(resource_type: &str) -> ApiError {
        ApiError::new(
            "InvalidArn",
            format!("Invalid Arn: 'Resource type not valid in this context: {resource_type}'"),
        )
    }

    /// `InvalidToken` for a task token or paging token that is not one of ours.
    pub fn invalid_token() -> ApiError {
        ApiError::new("InvalidToken", "Invalid Token: 'Invalid token'")
    }
}

/// Reads a request's members, collecting the model's constraint violations so that they are
/// all reported at once, as AWS's validator does.
pub struct Members<'a> {
    body: &'a Map<String, Json>,
    violations: Vec<String>,
}

impl<'a> Members<'a> {
    /// Reads `body`, which must be a JSON object (an empty body counts as `{}`).
    pub fn of(body: &'a Json) -> Result<Members<'a>, ApiError> {
        match body {
            Json::Object(map) => Ok(Members {
                body: map,
                violations: Vec::new(),
            }),
            _ => Err(ApiError::serialization("The request body must be a JSON object.")),
        }
    }

    fn present(&self, name: &str) -> Option<&'a Json> {
        self.body.get(name).filter(|v| !v.is_null())
    }

    fn missing(&mut self, name: &str) {
        self.violations.push(format!(
            "Value at '{name}' failed to satisfy constraint: Member must not be null"
        ));
    }

    /// A string member as it is; `None` when absent (a violation when `required`).
    fn text(&mut self, name: &str, required: bool) -> Result<Option<&'a str>, ApiError> {
        let Some(value) = self.present(name) else {
            if required {
                self.missing(name);
            }
            return Ok(None);
        };
        match value {
            Json::String(text) => Ok(Some(text)),
            _ => Err(ApiError::serialization(format!(
                "The member '{name}' must be a string."
            ))),
        }
    }

    /// A string member, `min..=max` characters long; `None` when absent (a violation when
    /// `required`).
    pub fn string(&mut self, name: &str, required: bool, min: usize, max: usize) -> Result<Option<&'a str>, ApiError> {
        let text = self.text(name, required)?;
        if let Some(text) = text {
            self.bounded(name, text, text.chars().count(), min, max, "length");
        }
        Ok(text)
    }

    /// A string member holding JSON text whose UTF-8 size is at most `max_bytes` (inputs
    /// and outputs: 256 KiB).
    pub fn data(&mut self, name: &str, required: bool, max_bytes: usize) -> Result<Option<&'a str>, ApiError> {
        let text = self.text(name, required)?;
        if text.is_some_and(|text| text.len() > max_bytes) {
            self.violations.push(format!(
                "Value at '{name}' failed to satisfy constraint: Member must have length less than or equal to {max_bytes}"
            ));
        }
        Ok(text)
    }

    /// An integer member in `min..=max`.
    pub fn integer(&mut self, name: &str, min: i64, max: i64) -> Result<Option<i64>, ApiError> {
        let Some(value) = self.present(name) else {
            return Ok(None);
        };
        let Some(n) = value.as_i64() else {
            return Err(ApiError::serialization(format!(
                "The member '{name}' must be an integer."
            )));
        };
        self.bounded(name, n, n, min, max, "value");
        Ok(Some(n))
    }

    /// Records a violation when `measure` (the member's `what`: its length or value) is outside
    /// `min..=max`, quoting the member as `shown`.
    fn bounded<M: PartialOrd + std::fmt::Display>(
        &mut self,
        name: &str,
        shown: impl std::fmt::Display,
        measure: M,
        min: M,
        max: M,
        what: &str,
    ) {
        let (relation, bound) = if measure < min {
            ("greater", min)
        } else if measure > max {
            ("less", max)
        } else {
            return;
        };
        self.violations.push(format!(
            "Value '{shown}' at '{name}' failed to satisfy constraint: Member must have {what} {relation} than or equal to {bound}"
        ));
    }

    /// `includedData` (`ALL_DATA` or `METADATA_ONLY`), read and checked; every value is
    /// served with all its data (there is no customer-managed key to withhold it for).
    pub fn included_data(&mut self) -> Result<(), ApiError> {
        self.enumeration(
            "includedData",
            &["ALL_DATA", "METADATA_ONLY"],
            "ALL_DATA, METADATA_ONLY",
        )
        .map(|_| ())
    }

    /// A boolean member.
    pub fn boolean(&mut self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.present(name) {
            None => Ok(None),
            Some(Json::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(ApiError::serialization(format!(
                "The member '{name}' must be a boolean."
            ))),
        }
    }

    /// A string member that must be one of `values` (listed in the violation as `listed`).
    pub fn enumeration(&mut self, name: &str, values: &[&str], listed: &str) -> Result<Option<&'a str>, ApiError> {
        let Some(text) = self.string(name, false, 0, usize::MAX)? else {
            return Ok(None);
        };
        if !values.contains(&text) {
            self.violations.push(format!(
                "Value '{text}' at '{name}' failed to satisfy constraint: Member must satisfy enum value set: [{listed}]"
            ));
        }
        Ok(Some(text))
    }

    /// Any other member, as JSON (structures such as `loggingConfiguration`).
    pub fn json(&self, name: &str) -> Option<&'a Json> {
        self.present(name)
    }

    /// A structure member: `None` when absent, a `SerializationException` when not an object.
    pub fn structure(&mut self, name: &str) -> Result<Option<&'a Map<String, Json>>, ApiError> {
        match self.present(name) {
            None => Ok(None),
            Some(Json::Object(members)) => Ok(Some(members)),
            Some(_) => Err(ApiError::serialization(format!(
                "The member '{name}' must be a structure."
            ))),
        }
    }

    /// A list member of `min..=max` items; `None` when absent (a violation when `required`).
    pub fn list(&mut self, name: &str, required: bool, min: usize, max: usize) -> Result<Option<&'a [Json]>, ApiError> {
        let Some(value) = self.present(name) else {
            if required {
                self.missing(name);
            }
            return Ok(None);
        };
        let Json::Array(items) = value else {
            return Err(ApiError::serialization(format!("The member '{name}' must be a list.")));
        };
        if items.len() < min || items.len() > max {
            let (relation, bound) = if items.len() < min {
                ("greater", min)
            } else {
                ("less", max)
            };
            self.violations.push(format!(
                "Value '{}' at '{name}' failed to satisfy constraint: Member must have length {relation} than or equal to {bound}",
                Json::Array(items.clone())
            ));
        }
        Ok(Some(items))
    }

    /// A string inside a structure or list at `path` (such as `tags.1.member.key`), checked
    /// as [`Members::string`] checks a member.
    pub fn nested_string(
        &mut self,
        path: &str,
        value: Option<&'a Json>,
        required: bool,
        min: usize,
        max: usize,
    ) -> Result<Option<&'a str>, ApiError> {
        match value.filter(|v| !v.is_null()) {
            None => {
                if required {
                    self.missing(path);
                }
                Ok(None)
            }
            Some(Json::String(text)) => {
                self.bounded(path, text, text.chars().count(), min, max, "length");
                Ok(Some(text))
            }
            Some(_) => Err(ApiError::serialization(format!(
                "The member '{path}' must be a string."
            ))),
        }
    }

    /// An integer inside a structure or list at `path`, in `min..=max`.
    pub fn nested_integer(
        &mut self,
        path: &str,
        value: Option<&'a Json>,
        required: bool,
        min: i64,
        max: i64,
    ) -> Result<Option<i64>, ApiError> {
        match value.filter(|v| !v.is_null()) {
            None => {
                if required {
                    self.missing(path);
                }
                Ok(None)
            }
            Some(value) => {
                let n = value
                    .as_i64()
                    .ok_or_else(|| ApiError::serialization(format!("The member '{path}' must be an integer.")))?;
                self.bounded(path, n, n, min, max, "value");
                Ok(Some(n))
            }
        }
    }

    /// Records that the member at `path`, `value`, is not one of the model's values (`listed`).
    pub fn enum_violation(&mut self, path: &str, value: &str, listed: &str) {
        self.violations.push(format!(
            "Value '{value}' at '{path}' failed to satisfy constraint: Member must satisfy enum value set: [{listed}]"
        ));
    }

    /// A boolean inside a structure at `path`.
    pub fn nested_boolean(&mut self, path: &str, value: Option<&'a Json>) -> Result<Option<bool>, ApiError> {
        match value.filter(|v| !v.is_null()) {
            None => Ok(None),
            Some(Json::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(ApiError::serialization(format!(
                "The member '{path}' must be a boolean."
            ))),
        }
    }

    /// Records that the member at `path`, `value`, does not match the model's `pattern`.
    pub fn pattern_violation(&mut self, path: &str, value: &str, pattern: &str) {
        self.violations.push(format!(
            "Value '{value}' at '{path}' failed to satisfy constraint: Member must satisfy regular expression pattern: {pattern}"
        ));
    }

    /// `maxResults` (0 or absent: 100; at most 1000).
    pub fn max_results(&mut self) -> Result<usize, ApiError> {
        Ok(match self.integer("maxResults", 0, 1000)? {
            None | Some(0) => 100,
            Some(n) => n.clamp(1, 1000) as usize,
        })
    }

    /// Ends reading: the violations found, as one `ValidationException`.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.violations.is_empty() {
            Ok(())
        } else {
            Err(ApiError::validation(&self.violations))
        }
    }
}

/// Whether `name` follows AWS's rules for the names of state machines, executions and
/// activities: 1 to 80 characters, none of them whitespace, a control character or one of
/// `< > { } [ ] ? * " # % \ ^ | ~ ` $ & , ; : /`.
pub fn valid_name(name: &str) -> bool {
    let length = name.chars().count();
    (1..=80).contains(&length)
        && !name.chars().any(|c| {
            c.is_whitespace()
                || ('\u{0}'..='\u{1f}').contains(&c)
                || ('\u{7f}'..='\u{9f}').contains(&c)
                || c == '\u{fffe}'
                || c == '\u{ffff}'
                || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c)
        })
}

/// Checks a name: `InvalidName` when it breaks AWS's rules.
pub fn check_name(name: &str) -> Result<(), ApiError> {
    if valid_name(name) {
        Ok(())
    } else {
        Err(ApiError::new("InvalidName", format!("Invalid Name: '{name}'")))
    }
}

/// A Step Functions ARN, taken apart: `arn:PARTITION:states:REGION:ACCOUNT:TYPE:REST`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arn<'a> {
    /// `aws`, `aws-cn`, `aws-us-gov`.
    pub partition: &'a str,
    /// The region.
    pub region: &'a str,
    /// The account id.
    pub account: &'a str,
    /// `stateMachine`, `execution`, `express`, `activity`, `mapRun`, ...
    pub resource_type: &'a str,
    /// What follows the type, split at `:` (the name, then any qualifier or execution name).
    pub parts: Vec<&'a str>,
}

impl<'a> Arn<'a> {
    /// Parses `text`: `InvalidArn` ("Invalid ARN prefix") when it is not a Step Functions
    /// ARN.
    pub fn parse(text: &'a str) -> Result<Arn<'a>, ApiError> {
        let mut fields = text.split(':');
        let (Some("arn"), Some(partition), Some("states"), Some(region), Some(account), Some(resource_type)) = (
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
        ) else {
            return Err(ApiError::invalid_arn(text));
        };
        let parts: Vec<&str> = fields.collect();
        if partition.is_empty() || region.is_empty() || account.is_empty() || parts.is_empty() || parts[0].is_empty() {
            return Err(ApiError::invalid_arn(text));
        }
        Ok(Arn {
            partition,
            region,
            account,
            resource_type,
            parts,
        })
    }
}

/// The ARN partition of a region.
pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// A timestamp on the wire: epoch seconds with milliseconds, as a JSON number.
pub fn timestamp(ms: i64) -> Json {
    Json::from(ms as f64 / 1000.0)
}

/// How long a paging token is good for: AWS's tokens expire after 24 hours.
const TOKEN_LIFETIME_MS: i64 = 24 * 3600 * 1000;

/// A paging token: `key` made opaque, bound to `scope` (the operation and the request's
/// filters) and to the time it was issued.
pub fn page_token(scope: &str, key: &str) -> String {
    let now = SystemClock.now_ms();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{scope}\n{now}\n{key}"))
}

/// The key inside a paging token: `InvalidToken` when it is not one of ours, was issued for
/// another request (another `scope`) or has expired.
pub fn page_key(scope: &str, token: &str) -> Result<String, ApiError> {
    let text = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(ApiError::invalid_token)?;
    let mut fields = text.splitn(3, '\n');
    let (Some(given), Some(issued), Some(key)) = (fields.next(), fields.next(), fields.next()) else {
        return Err(ApiError::invalid_token());
    };
    let issued: i64 = issued.parse().map_err(|_| ApiError::invalid_token())?;
    let age = SystemClock.now_ms() - issued;
    if given != scope || !(0..TOKEN_LIFETIME_MS).contains(&age) {
        return Err(ApiError::invalid_token());
    }
    Ok(key.to_string())
}

/// The pattern of alias names in the model (a name needs a character that is not a digit,
/// so that it can never be read as a version number).
pub const ALIAS_NAME_PATTERN: &str = r"^(?=.*[a-zA-Z_\-\.])[a-zA-Z0-9_\-\.]+$";

/// Whether `name` matches [`ALIAS_NAME_PATTERN`].
pub fn valid_alias_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
        && name.chars().any(|c| !c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_aws_rules() {
        for good in ["a", "my-machine_1.2", "Ünïcode", &"x".repeat(80)] {
            assert!(valid_name(good), "{good}");
        }
        for bad in [
            "",
            "a b",
            "a:b",
            "a/b",
            "a\u{7}",
            "a\u{85}b",
            &"x".repeat(81),
            "a$",
            "a,b",
        ] {
            assert!(!valid_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn arns_are_taken_apart() {
        let arn = Arn::parse("arn:aws:states:us-east-1:123456789012:execution:sm:run-1").unwrap();
        assert_eq!(
            (arn.region, arn.resource_type, arn.parts.as_slice()),
            ("us-east-1", "execution", &["sm", "run-1"][..])
        );
        let error = Arn::parse("not-an-arn").unwrap_err();
        assert_eq!(error.message, "Invalid Arn: 'Invalid ARN prefix: not-an-arn'");
        assert_eq!(error.type_name(), "com.amazonaws.swf.service.v2.model#InvalidArn");
    }

    #[test]
    fn violations_are_reported_together() {
        let body = serde_json::json!({"maxResults": 1001, "statusFilter": "succeeded"});
        let mut members = Members::of(&body).unwrap();
        members.max_results().unwrap();
        members.enumeration("statusFilter", &["RUNNING"], "RUNNING").unwrap();
        members.string("output", true, 0, 10).unwrap();
        let error = members.finish().unwrap_err();
        assert_eq!(error.type_name(), "com.amazon.coral.validate#ValidationException");
        assert_eq!(
            error.message,
            "3 validation errors detected: Value '1001' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000; \
             Value 'succeeded' at 'statusFilter' failed to satisfy constraint: Member must satisfy enum value set: [RUNNING]; \
             Value at 'output' failed to satisfy constraint: Member must not be null"
        );
    }

    #[test]
    fn page_tokens_round_trip_and_reject_garbage() {
        assert_eq!(page_key("list", &page_token("list", "e:12:34")).unwrap(), "e:12:34");
        assert_eq!(page_key("list", "!!!").unwrap_err().code, "InvalidToken");
        // A token of another request, or an old one, is refused.
        assert_eq!(
            page_key("other", &page_token("list", "k")).unwrap_err().code,
            "InvalidToken"
        );
        let old = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("list\n1000\nk");
        assert_eq!(page_key("list", &old).unwrap_err().code, "InvalidToken");
    }

    #[test]
    fn alias_names_need_a_character_that_is_not_a_digit() {
        for good in ["live", "v1", "a.b-c_d", "1-"] {
            assert!(valid_alias_name(good), "{good}");
        }
        for bad in ["", "123", "INVALID ALIAS", "!INVALID", "ALIAS@"] {
            assert!(!valid_alias_name(bad), "{bad}");
        }
    }
}
