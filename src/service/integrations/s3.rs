//! S3 through `aws-sdk:s3:*` (restXml, path-style addresses): `putObject`, `getObject`,
//! `headObject`, `deleteObject`, `listObjectsV2`. Results as the AWS SDK for Java v2 gives
//! them to Step Functions: PascalCase members, the object's body as text, timestamps as
//! ISO-8601 text; errors `S3.NoSuchKeyException`, `S3.NoSuchBucketException`, ...

use std::time::Duration;

use serde_json::{Map, Value as Json};

use super::aws::{client_failure, xml_text, Aws, Reply, Request, Service, ServiceError};
use super::lambda::encode;
use super::{bad_parameters, sorted};
use crate::tasks::TaskFailure;

/// S3, as `aws-sdk:s3` names it.
pub const SERVICE: Service = Service {
    signing_name: "s3",
    sdk_id: "S3",
    local_variable: None,
    v1_prefix: "S3",
    v1_service: "Amazon S3",
    v1_base: "AmazonS3Exception",
    v2_prefix: "S3",
    modeled: Some(&[
        "NoSuchKey",
        "NoSuchBucket",
        "NoSuchUpload",
        "NotFound",
        "BucketAlreadyExists",
        "BucketAlreadyOwnedByYou",
        "InvalidObjectState",
        "ObjectAlreadyInActiveTierError",
        "ObjectNotInActiveTierError",
        "EncryptionTypeMismatch",
        "InvalidRequest",
        "InvalidWriteOffset",
        "TooManyParts",
    ]),
};

/// The actions quickstep calls.
pub const ACTIONS: &[&str] = &["putObject", "getObject", "headObject", "deleteObject", "listObjectsV2"];

/// How long a call may take.
const TIMEOUT: Duration = Duration::from_secs(60);

/// Object headers and the members they are, for `getObject` / `headObject` / `putObject`.
const OBJECT_HEADERS: &[(&str, &str)] = &[
    ("accept-ranges", "AcceptRanges"),
    ("cache-control", "CacheControl"),
    ("content-disposition", "ContentDisposition"),
    ("content-encoding", "ContentEncoding"),
    ("content-language", "ContentLanguage"),
    ("content-length", "ContentLength"),
    ("content-type", "ContentType"),
    ("etag", "ETag"),
    ("expires", "Expires"),
    ("last-modified", "LastModified"),
    ("x-amz-delete-marker", "DeleteMarker"),
    ("x-amz-server-side-encryption", "ServerSideEncryption"),
    ("x-amz-storage-class", "StorageClass"),
    ("x-amz-version-id", "VersionId"),
    ("x-amz-website-redirect-location", "WebsiteRedirectLocation"),
];

/// Request members sent as headers by `putObject`.
const PUT_HEADERS: &[(&str, &str)] = &[
    ("CacheControl", "cache-control"),
    ("ContentDisposition", "content-disposition"),
    ("ContentEncoding", "content-encoding"),
    ("ContentLanguage", "content-language"),
    ("ContentType", "content-type"),
    ("ServerSideEncryption", "x-amz-server-side-encryption"),
    ("StorageClass", "x-amz-storage-class"),
    ("Tagging", "x-amz-tagging"),
    ("ACL", "x-amz-acl"),
];

fn text_member(params: &Map<String, Json>, name: &str) -> Result<String, TaskFailure> {
    match params.get(name) {
        Some(Json::String(text)) if !text.is_empty() => Ok(text.clone()),
        _ => Err(bad_parameters(format!(
            "The field '{name}' is required and must be a string"
        ))),
    }
}

/// The path of `bucket`'s `key`: each segment encoded, `/` kept.
fn object_path(bucket: &str, key: &str) -> String {
    let key: Vec<String> = key.split('/').map(encode).collect();
    format!("/{}/{}", encode(bucket), key.join("/"))
}

/// An HTTP date (`Wed, 21 Oct 2015 07:28:00 GMT`) as `2015-10-21T07:28:00.000Z`, else as it is.
fn iso_from_http_date(text: &str) -> Json {
    match chrono::DateTime::parse_from_rfc2822(text) {
        Ok(time) => Json::String(
            time.with_timezone(&chrono::Utc)
                .format("%Y-%m-%dT%H:%M:%S%.3fZ")
                .to_string(),
        ),
        Err(_) => Json::String(text.to_string()),
    }
}

/// The object's members from the answer's headers, `Metadata` from `x-amz-meta-*`.
fn object_members(reply: &Reply) -> Map<String, Json> {
    let mut result = Map::new();
    let mut metadata = Map::new();
    for (name, value) in &reply.headers {
        let lower = name.to_ascii_lowercase();
        if let Some(key) = lower.strip_prefix("x-amz-meta-") {
            metadata.insert(key.to_string(), Json::String(value.clone()));
            continue;
        }
        let Some((_, member)) = OBJECT_HEADERS.iter().find(|(h, _)| *h == lower) else {
            continue;
        };
        let value = match *member {
            "ContentLength" => value
                .parse::<u64>()
                .map(Json::from)
                .unwrap_or(Json::String(value.clone())),
            "DeleteMarker" => Json::Bool(value == "true"),
            "LastModified" | "Expires" => iso_from_http_date(value),
            _ => Json::String(value.clone()),
        };
        result.insert(member.to_string(), value);
    }
    result.insert("Metadata".into(), Json::Object(metadata));
    result
}

/// Sends `request` to S3 and checks the answer's status.
async fn send(aws: &Aws, request: Request) -> Result<Reply, TaskFailure> {
    let reply = aws
        .send(&SERVICE, aws.region(), request, TIMEOUT)
        .await
        .map_err(|e| client_failure(SERVICE.v2_prefix, e))?;
    if (200..300).contains(&reply.status) {
        return Ok(reply);
    }
    let mut error = ServiceError::from_xml(&reply);
    if reply.body.is_empty() {
        // HEAD answers have no body: the status says what went wrong.
        error.shape = if reply.status == 404 {
            "NotFound".into()
        } else {
            reply.status.to_string()
        };
        error.wire_code = error.shape.clone();
    }
    Err(error.sdk(&SERVICE))
}

/// Calls `action`.
pub async fn call(aws: &Aws, action: &str, params: &Map<String, Json>) -> Result<Json, TaskFailure> {
    let bucket = text_member(params, "Bucket")?;
    match action {
        "listObjectsV2" => list_objects_v2(aws, &bucket, params).await,
        _ => {
            let key = text_member(params, "Key")?;
            let mut path = object_path(&bucket, &key);
            if let Some(Json::String(version)) = params.get("VersionId") {
                path.push_str(&format!("?versionId={}", encode(version)));
            }
            match action {
                "putObject" => put_object(aws, path, params).await,
                "deleteObject" => {
                    let reply = send(aws, request("DELETE", path, Vec::new(), Vec::new())).await?;
                    let mut result = Map::new();
                    if let Some(marker) = reply.header("x-amz-delete-marker") {
                        result.insert("DeleteMarker".into(), Json::Bool(marker == "true"));
                    }
                    if let Some(version) = reply.header("x-amz-version-id") {
                        result.insert("VersionId".into(), Json::String(version.into()));
                    }
                    Ok(Json::Object(result))
                }
                head_or_get => {
                    let method = if head_or_get == "headObject" { "HEAD" } else { "GET" };
                    let reply = send(aws, request(method, path, Vec::new(), Vec::new())).await?;
                    let mut result = object_members(&reply);
                    if method == "GET" {
                        let body = String::from_utf8_lossy(&reply.body).into_owned();
                        result.insert("Body".into(), Json::String(body));
                    }
                    Ok(sorted(result))
                }
            }
        }
    }
}

fn request(method: &'static str, path: String, headers: Vec<(String, String)>, body: Vec<u8>) -> Request {
    Request {
        method,
        path_and_query: path,
        headers,
        body,
    }
}

/// `putObject`: the body is the JSON text of `Body` (a string, JSON-quoted, as Step Functions
/// sends a blob member).
async fn put_object(aws: &Aws, path: String, params: &Map<String, Json>) -> Result<Json, TaskFailure> {
    let body = match params.get("Body") {
        None | Some(Json::Null) => Vec::new(),
        Some(value) => value.to_string().into_bytes(),
    };
    let mut headers = Vec::new();
    for (member, header) in PUT_HEADERS {
        if let Some(value) = params.get(*member) {
            headers.push((header.to_string(), super::as_text(value)));
        }
    }
    if !headers.iter().any(|(h, _)| h == "content-type") {
        headers.push(("content-type".into(), "text/plain; charset=UTF-8".into()));
    }
    let metadata = match params.get("Metadata") {
        Some(Json::Object(metadata)) => metadata.clone(),
        _ => Map::new(),
    };
    for (name, value) in &metadata {
        headers.push((
            format!("x-amz-meta-{}", name.to_ascii_lowercase()),
            super::as_text(value),
        ));
    }
    let reply = send(aws, request("PUT", path, headers, body)).await?;
    let mut result = Map::new();
    for (header, member) in [
        ("etag", "ETag"),
        ("x-amz-server-side-encryption", "ServerSideEncryption"),
        ("x-amz-version-id", "VersionId"),
    ] {
        if let Some(value) = reply.header(header) {
            result.insert(member.into(), Json::String(value.to_string()));
        }
    }
    Ok(Json::Object(result))
}

/// `listObjectsV2`: one page, as the API answers it.
async fn list_objects_v2(aws: &Aws, bucket: &str, params: &Map<String, Json>) -> Result<Json, TaskFailure> {
    let mut query = vec!["list-type=2".to_string()];
    for (member, name) in [
        ("ContinuationToken", "continuation-token"),
        ("Delimiter", "delimiter"),
        ("EncodingType", "encoding-type"),
        ("FetchOwner", "fetch-owner"),
        ("MaxKeys", "max-keys"),
        ("Prefix", "prefix"),
        ("StartAfter", "start-after"),
    ] {
        if let Some(value) = params.get(member) {
            query.push(format!("{name}={}", encode(&super::as_text(value))));
        }
    }
    let path = format!("/{}?{}", encode(bucket), query.join("&"));
    let reply = send(aws, request("GET", path, Vec::new(), Vec::new())).await?;
    let xml = String::from_utf8_lossy(&reply.body).into_owned();
    let mut result = Map::new();
    let contents: Vec<Json> = blocks(&xml, "Contents")
        .iter()
        .map(|block| {
            let mut object = Map::new();
            if let Some(etag) = xml_text(block, "ETag") {
                object.insert("ETag".into(), Json::String(etag));
            }
            if let Some(key) = xml_text(block, "Key") {
                object.insert("Key".into(), Json::String(key));
            }
            if let Some(modified) = xml_text(block, "LastModified") {
                object.insert("LastModified".into(), Json::String(iso_millis(&modified)));
            }
            if let Some(size) = xml_text(block, "Size").and_then(|s| s.parse::<u64>().ok()) {
                object.insert("Size".into(), Json::from(size));
            }
            if let Some(class) = xml_text(block, "StorageClass") {
                object.insert("StorageClass".into(), Json::String(class));
            }
            Json::Object(object)
        })
        .collect();
    let prefixes: Vec<Json> = blocks(&xml, "CommonPrefixes")
        .iter()
        .filter_map(|block| xml_text(block, "Prefix"))
        .map(|prefix| serde_json::json!({ "Prefix": prefix }))
        .collect();
    if !prefixes.is_empty() {
        result.insert("CommonPrefixes".into(), Json::Array(prefixes));
    }
    if !contents.is_empty() {
        result.insert("Contents".into(), Json::Array(contents));
    }
    // The members after `Contents` are read from the text outside the objects.
    let outside = strip_blocks(&strip_blocks(&xml, "Contents"), "CommonPrefixes");
    for (tag, number) in [
        ("ContinuationToken", false),
        ("Delimiter", false),
        ("EncodingType", false),
        ("IsTruncated", false),
        ("KeyCount", true),
        ("MaxKeys", true),
        ("Name", false),
        ("NextContinuationToken", false),
        ("Prefix", false),
        ("StartAfter", false),
    ] {
        let Some(value) = xml_text(&outside, tag) else { continue };
        let value = match (tag, number) {
            ("IsTruncated", _) => Json::Bool(value == "true"),
            (_, true) => value.parse::<u64>().map(Json::from).unwrap_or(Json::String(value)),
            _ => Json::String(value),
        };
        result.insert(tag.into(), value);
    }
    Ok(Json::Object(result))
}

/// The inner texts of every `<tag>...</tag>` in `xml`.
fn blocks<'x>(xml: &'x str, tag: &str) -> Vec<&'x str> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut found = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        let inner = &rest[start + open.len()..];
        let Some(end) = inner.find(&close) else { break };
        found.push(&inner[..end]);
        rest = &inner[end + close.len()..];
    }
    found
}

/// `xml` without its `<tag>...</tag>` elements.
fn strip_blocks(xml: &str, tag: &str) -> String {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = String::with_capacity(xml.len());
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        out.push_str(&rest[..start]);
        match rest[start..].find(&close) {
            Some(end) => rest = &rest[start + end + close.len()..],
            None => {
                rest = "";
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

/// An ISO-8601 time as `2015-10-21T07:28:00.000Z` (milliseconds, `Z`), else as it is.
fn iso_millis(text: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| {
            t.with_timezone(&chrono::Utc)
                .format("%Y-%m-%dT%H:%M:%S%.3fZ")
                .to_string()
        })
        .unwrap_or_else(|_| text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_blocks_and_times() {
        let xml = "<R><Name>b</Name><Contents><Key>a</Key></Contents><Contents><Key>b</Key></Contents><KeyCount>2</KeyCount></R>";
        assert_eq!(blocks(xml, "Contents"), ["<Key>a</Key>", "<Key>b</Key>"]);
        assert_eq!(
            strip_blocks(xml, "Contents"),
            "<R><Name>b</Name><KeyCount>2</KeyCount></R>"
        );
        assert_eq!(iso_millis("2024-05-01T10:00:00Z"), "2024-05-01T10:00:00.000Z");
        assert_eq!(
            iso_from_http_date("Wed, 21 Oct 2015 07:28:00 GMT"),
            Json::String("2015-10-21T07:28:00.000Z".into())
        );
        assert_eq!(object_path("b", "dir/a b.txt"), "/b/dir/a%20b.txt");
    }
}
