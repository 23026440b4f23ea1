//! Signed calls to AWS services (or AWS-compatible endpoints): the configuration chain
//! (credentials, region, endpoints), SigV4, the wire protocols' error shapes, and the two
//! ways Step Functions names a service's errors (the Java SDK v1 names of the optimized
//! integrations, the Java SDK v2 names of `aws-sdk:*`).

use std::time::{Duration, SystemTime};

use aws_config::BehaviorVersion;
use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::Credentials;
use aws_smithy_runtime_api::client::http::HttpConnector;
use aws_smithy_types::body::SdkBody;
use aws_types::service_config::ServiceConfigKey;
use http_body_util::BodyExt;
use serde_json::{Map, Value as Json};

use crate::tasks::TaskFailure;

/// A service quickstep calls: how it is signed, found and named.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Service {
    /// The SigV4 signing name and the endpoint's host prefix (`sqs`, `events`).
    pub signing_name: &'static str,
    /// The SDK's service id (`SQS`, `EventBridge`): `AWS_ENDPOINT_URL_<ID>` and the
    /// profile's `services` section.
    pub sdk_id: &'static str,
    /// Step Functions Local's variable for this service's endpoint (`SQS_ENDPOINT`), if
    /// it has one.
    pub local_variable: Option<&'static str>,
    /// The optimized integration's error prefix (Java SDK v1: `DynamoDB`, `SQS`).
    pub v1_prefix: &'static str,
    /// The Java SDK v1 service name in causes (`AmazonDynamoDBv2`).
    pub v1_service: &'static str,
    /// The base exception class of unmodeled errors (Java SDK v1: `AmazonDynamoDBException`).
    pub v1_base: &'static str,
    /// The `aws-sdk:*` error prefix and cause service (Java SDK v2: `DynamoDb`, `Sqs`).
    pub v2_prefix: &'static str,
    /// The error shapes the service's model declares (its errors named after themselves);
    /// `None`: every code ending in `Exception` is one.
    pub modeled: Option<&'static [&'static str]>,
}

/// Codes of errors every service can answer that no service's model declares.
const COMMON_UNMODELED: &[&str] = &[
    "ValidationException",
    "SerializationException",
    "AccessDeniedException",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "IncompleteSignatureException",
    "MissingAuthenticationTokenException",
    "ExpiredTokenException",
    "ThrottlingException",
    "UnknownOperationException",
];

impl Service {
    /// Whether `code` (an error shape name) is one the service's model declares.
    fn is_modeled(&self, code: &str) -> bool {
        match self.modeled {
            Some(list) => list.contains(&code),
            None => code.ends_with("Exception") && !COMMON_UNMODELED.contains(&code),
        }
    }

    /// The Java class name of a modeled error: the shape name, `Exception` appended.
    fn class(code: &str) -> String {
        if code.ends_with("Exception") {
            code.to_string()
        } else {
            format!("{code}Exception")
        }
    }
}

/// The response of a call: status, headers in the order received, body.
#[derive(Debug)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// The headers, names as AWS spells them ([`header_case`]).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Reply {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The request id AWS gave (`x-amzn-RequestId`, `x-amz-request-id`), or "".
    pub fn request_id(&self) -> &str {
        self.header("x-amzn-RequestId")
            .or_else(|| self.header("x-amz-request-id"))
            .unwrap_or("")
    }

    /// `result` with [`add_metadata`](Self::add_metadata)'s members, members sorted: an
    /// optimized integration's result.
    pub fn with_metadata(&self, mut result: Map<String, Json>) -> Json {
        self.add_metadata(&mut result);
        super::sorted(result)
    }

    /// [`with_metadata`](Self::with_metadata) of the API's `answer`'s members (none when it
    /// is not an object): the result of an integration that passes the answer on as it is.
    pub fn answer_with_metadata(&self, answer: Json) -> Json {
        match answer {
            Json::Object(members) => self.with_metadata(members),
            _ => self.with_metadata(Map::new()),
        }
    }

    /// `SdkHttpMetadata` and `SdkResponseMetadata`, as the optimized integrations add them
    /// to their results.
    pub fn add_metadata(&self, result: &mut Map<String, Json>) {
        let mut all = Map::new();
        for (name, value) in &self.headers {
            match all.get_mut(name) {
                Some(Json::Array(values)) => values.push(Json::String(value.clone())),
                _ => {
                    all.insert(name.clone(), Json::Array(vec![Json::String(value.clone())]));
                }
            }
        }
        let mut sorted: Vec<&(String, String)> = self.headers.iter().collect();
        sorted.sort_by_key(|(name, _)| name.to_ascii_lowercase());
        let mut single = Map::new();
        for (name, value) in sorted {
            single
                .entry(name.clone())
                .or_insert_with(|| Json::String(value.clone()));
        }
        let mut http = Map::new();
        http.insert("AllHttpHeaders".into(), Json::Object(all));
        http.insert("HttpHeaders".into(), Json::Object(single));
        http.insert("HttpStatusCode".into(), Json::from(self.status));
        result.insert("SdkHttpMetadata".into(), Json::Object(http));
        let mut response = Map::new();
        response.insert("RequestId".into(), Json::String(self.request_id().to_string()));
        result.insert("SdkResponseMetadata".into(), Json::Object(response));
    }

    /// The body as JSON (an empty body is `{}`).
    pub fn json(&self) -> Result<Json, String> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Json::Object(Map::new()));
        }
        serde_json::from_slice(&self.body).map_err(|e| format!("the service's answer is not JSON: {e}"))
    }
}

/// The spelling AWS's servers give a header whose name HTTP/1 delivered lowercased: AWS's
/// own headers as they send them, others in `Title-Case`.
pub fn header_case(lower: &str) -> String {
    const KNOWN: &[&str] = &[
        "x-amzn-RequestId",
        "x-amz-request-id",
        "x-amz-id-2",
        "x-amz-crc32",
        "x-amzn-ErrorType",
        "x-amzn-query-error",
        "x-amzn-Remapped-Content-Length",
        "X-Amz-Executed-Version",
        "X-Amz-Function-Error",
        "X-Amz-Log-Result",
        "X-Amzn-Trace-Id",
        "X-Amz-Invocation-Type",
    ];
    if let Some(known) = KNOWN.iter().find(|k| k.eq_ignore_ascii_case(lower)) {
        return known.to_string();
    }
    let mut out = String::with_capacity(lower.len());
    let mut upper = true;
    for c in lower.chars() {
        out.push(if upper { c.to_ascii_uppercase() } else { c });
        upper = c == '-';
    }
    out
}

/// Why a call got no answer from the service.
#[derive(Debug)]
pub enum CallError {
    /// No response: refused, reset, unresolvable, timed out (the detail says which).
    Client(String),
    /// The request could not be made: no credentials, a bad endpoint or header value (the
    /// text says which).
    Setup(String),
}

/// The AWS configuration of the process: credentials, region, endpoints, and the HTTP
/// connector every call goes through.
pub struct Aws {
    config: aws_types::SdkConfig,
    connector: aws_smithy_http_client::Connector,
    credentials: tokio::sync::Mutex<Option<Credentials>>,
}

impl std::fmt::Debug for Aws {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Aws").field("region", &self.region()).finish()
    }
}

/// The region when the configuration chain names none.
const DEFAULT_REGION: &str = "us-east-1";

/// The HTTP connector of every call: rustls (ring) for HTTPS, plain HTTP too.
pub fn connector() -> aws_smithy_http_client::Connector {
    aws_smithy_http_client::Connector::builder()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .pool_idle_timeout(Duration::from_secs(30))
        .build()
}

impl Aws {
    /// Loads the standard configuration chain (environment, profiles, web identity, ECS and
    /// EC2 metadata), with SDK retries off: the Task's `Retry` is the retry layer.
    pub async fn load() -> Aws {
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        let config = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http)
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .load()
            .await;
        Aws {
            config,
            connector: connector(),
            credentials: tokio::sync::Mutex::new(None),
        }
    }

    /// The region calls go to (`AWS_REGION`, the profile's, else `us-east-1`).
    pub fn region(&self) -> &str {
        self.config.region().map_or(DEFAULT_REGION, |r| r.as_ref())
    }

    /// The endpoint of `service` in `region`: Step Functions Local's variable
    /// (`LAMBDA_ENDPOINT`, ...), else `AWS_ENDPOINT_URL_<SERVICE>` / `AWS_ENDPOINT_URL` / the
    /// profile's `endpoint_url`, else AWS's.
    pub fn endpoint(&self, service: &Service, region: &str) -> String {
        let local = service.local_variable.and_then(|v| std::env::var(v).ok());
        if let Some(url) = local.filter(|u| !u.is_empty()) {
            return url.trim_end_matches('/').to_string();
        }
        let key = ServiceConfigKey::builder()
            .service_id(service.sdk_id)
            .env("AWS_ENDPOINT_URL")
            .profile("endpoint_url")
            .build()
            .expect("every field is set");
        if let Some(url) = self.config.service_config().and_then(|c| c.load_config(key)) {
            return url.trim_end_matches('/').to_string();
        }
        if let Some(url) = self.config.endpoint_url() {
            return url.trim_end_matches('/').to_string();
        }
        let domain = if region.starts_with("cn-") {
            "amazonaws.com.cn"
        } else {
            "amazonaws.com"
        };
        format!("https://{}.{region}.{domain}", service.signing_name)
    }

    /// The current credentials, cached until five minutes before they expire.
    async fn credentials(&self) -> Result<Credentials, CallError> {
        let mut cached = self.credentials.lock().await;
        if let Some(credentials) = cached.as_ref() {
            let fresh = credentials
                .expiry()
                .is_none_or(|at| at > SystemTime::now() + Duration::from_secs(300));
            if fresh {
                return Ok(credentials.clone());
            }
        }
        let provider = self
            .config
            .credentials_provider()
            .ok_or_else(|| CallError::Setup("Unable to load AWS credentials from any provider in the chain".into()))?;
        let credentials = provider.provide_credentials().await.map_err(|e| {
            CallError::Client(format!(
                "Unable to load AWS credentials from any provider in the chain: {e}"
            ))
        })?;
        *cached = Some(credentials.clone());
        Ok(credentials)
    }

    /// Sends a SigV4-signed request to `service` in `region` and collects the answer,
    /// giving up after `timeout`.
    pub async fn send(
        &self,
        service: &Service,
        region: &str,
        request: Request,
        timeout: Duration,
    ) -> Result<Reply, CallError> {
        let url = format!("{}{}", self.endpoint(service, region), request.path_and_query);
        let credentials = self.credentials().await?;
        let identity = credentials.into();
        let mut builder = http::Request::builder().method(request.method).uri(&url);
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let mut signed = builder
            .body(request.body)
            .map_err(|e| CallError::Setup(format!("{url}: {e}")))?;
        let host = signed
            .uri()
            .authority()
            .map(|a| a.as_str().to_string())
            .ok_or_else(|| CallError::Setup(format!("the endpoint {url} has no host")))?;
        signed.headers_mut().insert(
            http::header::HOST,
            host.parse().map_err(|e| CallError::Setup(format!("{e}")))?,
        );
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region(region)
            .name(service.signing_name)
            .time(SystemTime::now())
            .settings(signing_settings(service))
            .build()
            .map_err(|e| CallError::Setup(e.to_string()))?
            .into();
        let headers: Vec<(String, String)> = signed
            .headers()
            .iter()
            .filter_map(|(n, v)| Some((n.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect();
        let signable = aws_sigv4::http_request::SignableRequest::new(
            signed.method().as_str(),
            signed.uri().to_string(),
            headers.iter().map(|(n, v)| (n.as_str(), v.as_str())),
            aws_sigv4::http_request::SignableBody::Bytes(signed.body()),
        )
        .map_err(|e| CallError::Setup(e.to_string()))?;
        let (instructions, _) = aws_sigv4::http_request::sign(signable, &params)
            .map_err(|e| CallError::Setup(e.to_string()))?
            .into_parts();
        instructions.apply_to_request_http1x(&mut signed);
        send_http(&self.connector, signed.map(SdkBody::from), timeout).await
    }
}

/// How requests to `service` are signed: S3's way (the payload's hash in
/// `x-amz-content-sha256`, the path as it is) for S3, the usual way for the others.
fn signing_settings(service: &Service) -> aws_sigv4::http_request::SigningSettings {
    use aws_sigv4::http_request::{PayloadChecksumKind, PercentEncodingMode, UriPathNormalizationMode};
    let mut settings = aws_sigv4::http_request::SigningSettings::default();
    if service.signing_name == "s3" {
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    }
    settings
}

/// Sends one HTTP request through `connector` and collects the answer, giving up after
/// `timeout` ([`CallError::Client`] "Read timed out").
pub async fn send_http(
    connector: &aws_smithy_http_client::Connector,
    request: http::Request<SdkBody>,
    timeout: Duration,
) -> Result<Reply, CallError> {
    let request =
        aws_smithy_runtime_api::http::Request::try_from(request).map_err(|e| CallError::Setup(e.to_string()))?;
    let exchange = async {
        let response = connector
            .call(request)
            .await
            .map_err(|e| CallError::Client(connector_detail(&e)))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| (header_case(name), value.to_string()))
            .collect();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| CallError::Client(error_chain(&*e)))?
            .to_bytes()
            .to_vec();
        Ok(Reply { status, headers, body })
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(result) => result,
        Err(_) => Err(CallError::Client("Read timed out".into())),
    }
}

/// The innermost useful text of a connector error (`Connection refused (os error 111)`).
fn connector_detail(error: &aws_smithy_runtime_api::client::result::ConnectorError) -> String {
    error_chain(error)
}

/// An error and its sources, most specific last, joined by `: `, repeats dropped.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current: Option<&dyn std::error::Error> = Some(error);
    while let Some(e) = current {
        let text = e.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = e.source();
    }
    parts.join(": ")
}

/// A request to sign and send.
#[derive(Debug)]
pub struct Request {
    /// `GET`, `POST`, ...
    pub method: &'static str,
    /// The path and query, from the endpoint's root (`/`, `/2015-03-31/functions/f/invocations`).
    pub path_and_query: String,
    /// Headers besides `Host` and the signature's.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Request {
    /// An awsJson request: `POST /` of `body` to operation `target` (`DynamoDB_20120810.GetItem`).
    pub fn json(target: String, version: &str, body: &Json) -> Request {
        Request {
            method: "POST",
            path_and_query: "/".into(),
            headers: vec![
                ("content-type".into(), format!("application/x-amz-json-{version}")),
                ("x-amz-target".into(), target),
            ],
            body: serde_json::to_vec(body).unwrap_or_default(),
        }
    }
}

/// An error a service answered: its wire code, message and status.
#[derive(Debug)]
pub struct ServiceError {
    /// The wire code (`ResourceNotFoundException`, `NotFound`, `AWS.SimpleQueueService.NonExistentQueue`).
    pub wire_code: String,
    /// The error shape's name (the wire code without a namespace).
    pub shape: String,
    /// The message.
    pub message: String,
    /// The HTTP status.
    pub status: u16,
    /// The request id.
    pub request_id: String,
    /// S3's extended request id (`x-amz-id-2`).
    pub extended_request_id: Option<String>,
}

impl ServiceError {
    /// The error of an awsJson or restJson answer (`__type`, `x-amzn-ErrorType`, `code`;
    /// `message` / `Message`); SQS's query-compatible code from `x-amzn-query-error`.
    pub fn from_json(reply: &Reply) -> ServiceError {
        let body: Json = serde_json::from_slice(&reply.body).unwrap_or(Json::Null);
        let raw = reply
            .header("x-amzn-ErrorType")
            .map(str::to_string)
            .or_else(|| body.get("__type").and_then(Json::as_str).map(str::to_string))
            .or_else(|| body.get("code").and_then(Json::as_str).map(str::to_string))
            .unwrap_or_else(|| format!("{}", reply.status));
        let shape = shape_of(&raw);
        let wire_code = reply
            .header("x-amzn-query-error")
            .and_then(|q| q.split(';').next())
            .map(str::to_string)
            .unwrap_or_else(|| shape.clone());
        let message = ["message", "Message", "errorMessage"]
            .iter()
            .find_map(|k| body.get(*k).and_then(Json::as_str))
            .unwrap_or("")
            .to_string();
        ServiceError {
            wire_code,
            shape,
            message,
            status: reply.status,
            request_id: reply.request_id().to_string(),
            extended_request_id: None,
        }
    }

    /// The error of an awsQuery answer (`<Error><Code>..</Code><Message>..</Message>`).
    pub fn from_xml(reply: &Reply) -> ServiceError {
        let text = String::from_utf8_lossy(&reply.body);
        let code = xml_text(&text, "Code").unwrap_or_else(|| reply.status.to_string());
        let message = xml_text(&text, "Message").unwrap_or_default();
        let request_id = xml_text(&text, "RequestId").unwrap_or_else(|| reply.request_id().to_string());
        ServiceError {
            wire_code: code.clone(),
            shape: code,
            message,
            status: reply.status,
            request_id,
            extended_request_id: reply.header("x-amz-id-2").map(str::to_string),
        }
    }

    /// The failure as an optimized integration reports it (Java SDK v1):
    /// `DynamoDB.ConditionalCheckFailedException`, cause `<msg> (Service: AmazonDynamoDBv2;
    /// Status Code: 400; Error Code: ...; Request ID: ...; Proxy: null)`.
    pub fn optimized(&self, service: &Service) -> TaskFailure {
        let class = if service.is_modeled(&self.shape) {
            Service::class(&self.shape)
        } else {
            service.v1_base.to_string()
        };
        TaskFailure::new(
            format!("{}.{class}", service.v1_prefix),
            format!(
                "{} (Service: {}; Status Code: {}; Error Code: {}; Request ID: {}; Proxy: null)",
                self.message, service.v1_service, self.status, self.wire_code, self.request_id
            ),
        )
    }

    /// The failure as an `aws-sdk:*` integration reports it (Java SDK v2):
    /// `DynamoDb.ResourceNotFoundException`, cause `<msg> (Service: DynamoDb, Status Code:
    /// 400, Request ID: ...)`.
    pub fn sdk(&self, service: &Service) -> TaskFailure {
        let prefix = service.v2_prefix;
        let class = if service.is_modeled(&self.shape) {
            Service::class(&self.shape)
        } else {
            format!("{prefix}Exception")
        };
        let extended = match &self.extended_request_id {
            Some(id) => format!(", Extended Request ID: {id}"),
            None => String::new(),
        };
        TaskFailure::new(
            format!("{prefix}.{class}"),
            format!(
                "{} (Service: {prefix}, Status Code: {}, Request ID: {}{extended})",
                self.message, self.status, self.request_id
            ),
        )
    }
}

/// The shape name of an error code: `com.amazonaws.dynamodb.v20120810#ValidationException`
/// and `ResourceNotFoundException:http://...` give the name alone.
fn shape_of(raw: &str) -> String {
    let code = raw.split(':').next().unwrap_or(raw);
    code.rsplit('#').next().unwrap_or(code).to_string()
}

/// The text of the first `<tag>...</tag>` in `xml`, entities decoded.
pub fn xml_text(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&close)?;
    Some(
        xml[start..end]
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
    )
}

/// A failure to reach `service`: `<Prefix>.SdkClientException` with AWS's cause
/// `Unable to execute HTTP request: <detail>`.
pub fn client_failure(prefix: &str, error: CallError) -> TaskFailure {
    match error {
        CallError::Client(detail) => TaskFailure::new(
            format!("{prefix}.SdkClientException"),
            format!("Unable to execute HTTP request: {detail}"),
        ),
        CallError::Setup(detail) => TaskFailure::new(format!("{prefix}.SdkClientException"), detail),
    }
}

/// A call to an awsJson service's operation: the parsed answer, or the service's error.
pub async fn call_json(
    aws: &Aws,
    service: &Service,
    region: &str,
    target: String,
    version: &str,
    body: &Json,
    timeout: Duration,
) -> Result<(Reply, Json), CallOutcome> {
    let reply = aws
        .send(service, region, Request::json(target, version, body), timeout)
        .await
        .map_err(CallOutcome::Unreachable)?;
    if !(200..300).contains(&reply.status) {
        return Err(CallOutcome::Service(ServiceError::from_json(&reply)));
    }
    let json = reply
        .json()
        .map_err(|e| CallOutcome::Unreachable(CallError::Client(e)))?;
    Ok((reply, json))
}

/// Why a call gave no result.
#[derive(Debug)]
pub enum CallOutcome {
    /// No answer.
    Unreachable(CallError),
    /// The service's error.
    Service(ServiceError),
}

impl CallOutcome {
    /// The failure as an optimized integration of `service` reports it.
    pub fn optimized(self, service: &Service) -> TaskFailure {
        match self {
            CallOutcome::Unreachable(e) => client_failure(service.v1_prefix, e),
            CallOutcome::Service(e) => e.optimized(service),
        }
    }

    /// The failure as `aws-sdk:*` reports it.
    pub fn sdk(self, service: &Service) -> TaskFailure {
        match self {
            CallOutcome::Unreachable(e) => client_failure(service.v2_prefix, e),
            CallOutcome::Service(e) => e.sdk(service),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names_as_aws_spells_them() {
        assert_eq!(header_case("x-amzn-requestid"), "x-amzn-RequestId");
        assert_eq!(header_case("content-type"), "Content-Type");
        assert_eq!(header_case("x-amz-executed-version"), "X-Amz-Executed-Version");
    }

    #[test]
    fn error_shapes() {
        assert_eq!(
            shape_of("com.amazonaws.dynamodb.v20120810#ValidationException"),
            "ValidationException"
        );
        assert_eq!(
            shape_of("ResourceNotFoundException:http://internal.amazon.com/"),
            "ResourceNotFoundException"
        );
        assert_eq!(
            xml_text(
                "<Error><Code>NotFound</Code><Message>a &amp; b</Message></Error>",
                "Message"
            )
            .as_deref(),
            Some("a & b")
        );
    }
}
