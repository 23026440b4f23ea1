//! Service integrations against real implementations: moto's server (PyPI `moto[server]`,
//! found through `QUICKSTEP_MOTO_SERVER` or as `moto_server` on the `PATH`; a test that
//! needs it fails when it is missing) for SQS, SNS, DynamoDB, EventBridge and Lambda, and
//! small local HTTP servers for the HTTP Task and the answers moto does not give (a Lambda
//! function error, a refused or hanging endpoint). Definitions run with `quickstep run`,
//! pointed at the endpoints with the standard AWS variables, as users run them.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value as Json};

/// A moto server on a free port, killed when dropped.
struct Moto {
    child: Child,
    port: u16,
}

impl Moto {
    /// Starts moto's server, its Lambda answering without Docker (`use_docker: false`).
    fn start() -> Moto {
        let binary = std::env::var("QUICKSTEP_MOTO_SERVER").unwrap_or_else(|_| "moto_server".into());
        let port = free_port();
        let child = Command::new(&binary)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "moto's server is needed for this test and `{binary}` cannot start ({e}): install it with \
                     `pip install 'moto[server]'` and put `moto_server` on the PATH, or set QUICKSTEP_MOTO_SERVER \
                     to its path (.ci/run does)"
                )
            });
        let moto = Moto { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while http(port, "GET", "/moto-api/data.json", &[], b"").ok().map(|r| r.0) != Some(200) {
            assert!(
                Instant::now() < deadline,
                "moto's server did not answer on port {port} within 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let (status, _, body) = http(
            port,
            "POST",
            "/moto-api/config",
            &[],
            br#"{"lambda": {"use_docker": false}}"#,
        )
        .unwrap();
        assert_eq!(status, 201, "moto's config: {body}");
        moto
    }

    /// The endpoint, as moto's docs give it to SDKs.
    fn endpoint(&self) -> String {
        format!("http://localhost:{}", self.port)
    }

    /// An awsJson call (`target` like `AmazonSQS.CreateQueue`) to `service`.
    fn json(&self, service: &str, target: &str, version: &str, body: Json) -> Json {
        let headers = [
            ("Content-Type", format!("application/x-amz-json-{version}")),
            ("X-Amz-Target", target.to_string()),
            ("Authorization", authorization(service)),
        ];
        let (status, _, text) = http(self.port, "POST", "/", &headers, body.to_string().as_bytes()).unwrap();
        assert_eq!(status, 200, "{target}: {text}");
        serde_json::from_str(&text).unwrap_or(Json::Null)
    }

    /// An awsQuery call to `service`: the XML answer.
    fn query(&self, service: &str, form: &str) -> String {
        let headers = [
            ("Content-Type", "application/x-www-form-urlencoded".to_string()),
            ("Authorization", authorization(service)),
        ];
        let (status, _, text) = http(self.port, "POST", "/", &headers, form.as_bytes()).unwrap();
        assert_eq!(status, 200, "{form}: {text}");
        text
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An `Authorization` header whose credential scope routes a request to `service` in moto.
fn authorization(service: &str) -> String {
    format!("AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// An HTTP answer: status, headers, body.
type Exchange = (u16, Vec<(String, String)>, String);

/// What a local test server answers: status, headers, body.
type Answer = (u16, Vec<(&'static str, String)>, String);

/// One HTTP/1.1 exchange: status, headers, body.
fn http(port: u16, method: &str, path: &str, headers: &[(&str, String)], body: &[u8]) -> std::io::Result<Exchange> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes())?;
    stream.write_all(body)?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(": ").map(|(n, v)| (n.to_string(), v.to_string())))
        .collect();
    Ok((status, headers, body.to_string()))
}

/// Runs `definition` on `input` with `quickstep run`, AWS calls going to `endpoint` (and the
/// `extra` variables); the StartSyncExecution-shaped response.
fn run(definition: &Json, input: &Json, endpoint: &str, extra: &[(&str, &str)]) -> Json {
    let dir = std::env::temp_dir().join(format!("quickstep-integrations-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    static COUNT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = dir.join(format!("machine{n}.asl.json"));
    std::fs::write(&path, definition.to_string()).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_quickstep"));
    command
        .args(["run", path.to_str().unwrap(), "--input", &input.to_string()])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", endpoint)
        .env_remove("AWS_PROFILE");
    for (name, value) in extra {
        command.env(name, value);
    }
    let output = command.output().expect("quickstep runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(&stdout).unwrap_or_else(|_| {
        panic!(
            "no response on stdout: {stdout}\nstderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// The output of a run that must have succeeded.
fn output_of(response: &Json) -> Json {
    assert_eq!(response["status"], "SUCCEEDED", "{response:#}");
    serde_json::from_str(response["output"].as_str().unwrap()).unwrap()
}

/// A definition of one Task state, its result in the output (and any failure caught into
/// `{"Error", "Cause"}`).
fn one_task(resource: &str, parameters: Json) -> Json {
    json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": resource, "Parameters": parameters,
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], "End": true},
        "Caught": {"Type": "Pass", "End": true}
    }})
}

/// Checks the envelope of an optimized integration's result.
fn assert_envelope(result: &Json, content_type: &str) {
    let metadata = &result["SdkHttpMetadata"];
    assert_eq!(metadata["HttpStatusCode"], 200, "{result:#}");
    assert_eq!(metadata["HttpHeaders"]["Content-Type"], content_type, "{result:#}");
    assert_eq!(
        metadata["AllHttpHeaders"]["Content-Type"],
        json!([content_type]),
        "{result:#}"
    );
    let request_id = result["SdkResponseMetadata"]["RequestId"].as_str().unwrap();
    assert!(!request_id.is_empty(), "{result:#}");
    assert_eq!(metadata["HttpHeaders"]["x-amzn-RequestId"], request_id, "{result:#}");
}

fn md5_hex(text: &str) -> String {
    use md5::{Digest, Md5};
    Md5::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn optimized_integrations_call_moto_and_give_aws_results() {
    let moto = Moto::start();
    let queue = moto.json("sqs", "AmazonSQS.CreateQueue", "1.0", json!({"QueueName": "orders"}))["QueueUrl"]
        .as_str()
        .unwrap()
        .to_string();
    let topic_xml = moto.query("sns", "Action=CreateTopic&Name=notices&Version=2010-03-31");
    let topic = topic_xml
        .split("<TopicArn>")
        .nth(1)
        .unwrap()
        .split("</TopicArn>")
        .next()
        .unwrap()
        .to_string();
    moto.json(
        "dynamodb",
        "DynamoDB_20120810.CreateTable",
        "1.0",
        json!({"TableName": "items", "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
               "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}], "BillingMode": "PAY_PER_REQUEST"}),
    );
    let definition = json!({"StartAt": "Send", "States": {
        "Send": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
                 "Parameters": {"QueueUrl": queue, "MessageBody": {"order.$": "$.order"}}, "ResultPath": "$.sqs", "Next": "Publish"},
        "Publish": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish",
                    "Parameters": {"TopicArn": topic, "Message": "placed", "Subject": "order"}, "ResultPath": "$.sns", "Next": "Put"},
        "Put": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
                "Parameters": {"TableName": "items", "Item": {"id": {"S": "i1"}, "data": {"S": "HelloWorld"}}}, "ResultPath": "$.put", "Next": "Get"},
        "Get": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:getItem",
                "Parameters": {"TableName": "items", "Key": {"id": {"S": "i1"}}}, "ResultPath": "$.get", "Next": "Update"},
        "Update": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:updateItem",
                   "Parameters": {"TableName": "items", "Key": {"id": {"S": "i1"}}, "UpdateExpression": "SET #d = :d",
                                  "ExpressionAttributeNames": {"#d": "data"}, "ExpressionAttributeValues": {":d": {"S": "Updated"}},
                                  "ReturnValues": "UPDATED_NEW"}, "ResultPath": "$.update", "Next": "Delete"},
        "Delete": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:deleteItem",
                   "Parameters": {"TableName": "items", "Key": {"id": {"S": "i1"}}, "ReturnValues": "ALL_OLD"}, "ResultPath": "$.delete", "Next": "GetGone"},
        "GetGone": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:getItem",
                    "Parameters": {"TableName": "items", "Key": {"id": {"S": "i1"}}}, "ResultPath": "$.gone", "Next": "Events"},
        "Events": {"Type": "Task", "Resource": "arn:aws:states:::events:putEvents",
                   "Parameters": {"Entries": [{"Source": "shop", "DetailType": "OrderPlaced", "Detail": {"order.$": "$.order"}}]},
                   "ResultPath": "$.events", "Next": "Invoke"},
        "Invoke": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                   "Parameters": {"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:echo", "Payload": {"order.$": "$.order"}},
                   "ResultPath": "$.lambda", "Next": "Function"},
        "Function": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:echo",
                     "Parameters": {"direct.$": "$.order"}, "ResultPath": "$.function", "End": true}
    }});
    let output = output_of(&run(&definition, &json!({"order": "o-1"}), &moto.endpoint(), &[]));

    // SQS: AWS's members, spelled MD5Of..., and the message really is in the queue.
    let sqs = &output["sqs"];
    assert_eq!(sqs["MD5OfMessageBody"], md5_hex(r#"{"order":"o-1"}"#), "{sqs:#}");
    assert_envelope(sqs, "application/x-amz-json-1.0");
    let received = moto.json(
        "sqs",
        "AmazonSQS.ReceiveMessage",
        "1.0",
        json!({"QueueUrl": queue, "MaxNumberOfMessages": 10}),
    );
    assert_eq!(received["Messages"][0]["Body"], r#"{"order":"o-1"}"#);
    assert_eq!(received["Messages"][0]["MessageId"], sqs["MessageId"]);
    let keys: Vec<&str> = sqs.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "MD5OfMessageBody",
            "MessageId",
            "SdkHttpMetadata",
            "SdkResponseMetadata"
        ]
    );

    // SNS: MessageId, and the query protocol's XML answer.
    let sns = &output["sns"];
    assert_eq!(sns["MessageId"].as_str().unwrap().len(), 36, "{sns:#}");
    assert_envelope(sns, "text/xml");

    // DynamoDB: DynamoDB JSON as the API gives it.
    assert_eq!(output["put"].as_object().unwrap().len(), 2, "{:#}", output["put"]);
    assert_envelope(&output["put"], "application/x-amz-json-1.0");
    assert_eq!(
        output["get"]["Item"],
        json!({"id": {"S": "i1"}, "data": {"S": "HelloWorld"}})
    );
    assert_eq!(output["update"]["Attributes"], json!({"data": {"S": "Updated"}}));
    assert_eq!(
        output["delete"]["Attributes"],
        json!({"id": {"S": "i1"}, "data": {"S": "Updated"}})
    );
    assert!(output["gone"].get("Item").is_none(), "{:#}", output["gone"]);

    // EventBridge: no envelope.
    let events = &output["events"];
    assert_eq!(events["FailedEntryCount"], 0, "{events:#}");
    assert_eq!(events["Entries"].as_array().unwrap().len(), 1);
    assert!(events["Entries"][0]["EventId"].is_string());
    assert!(events.get("SdkHttpMetadata").is_none());

    // Lambda (moto without Docker echoes the payload).
    let lambda = &output["lambda"];
    assert_eq!(lambda["Payload"], json!({"order": "o-1"}), "{lambda:#}");
    assert_eq!(lambda["StatusCode"], 200);
    assert_eq!(lambda["ExecutedVersion"], "$LATEST");
    assert_eq!(lambda["SdkHttpMetadata"]["HttpStatusCode"], 200);
    // A function ARN as Resource: the payload alone.
    assert_eq!(output["function"], json!({"direct": "o-1"}));
}

#[test]
fn service_errors_take_aws_names_and_causes() {
    let moto = Moto::start();
    moto.json(
        "dynamodb",
        "DynamoDB_20120810.CreateTable",
        "1.0",
        json!({"TableName": "items", "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
               "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}], "BillingMode": "PAY_PER_REQUEST"}),
    );
    let caught = |resource: &str, parameters: Json| {
        let output = output_of(&run(&one_task(resource, parameters), &json!({}), &moto.endpoint(), &[]));
        (
            output["Error"].as_str().unwrap_or_default().to_string(),
            output["Cause"].as_str().unwrap_or_default().to_string(),
        )
    };
    let (error, cause) = caught(
        "arn:aws:states:::dynamodb:putItem",
        json!({"TableName": "items", "Item": {"id": {"S": "i1"}}, "ConditionExpression": "attribute_exists(id)"}),
    );
    assert_eq!(error, "DynamoDB.ConditionalCheckFailedException");
    assert!(
        cause.starts_with("The conditional request failed (Service: AmazonDynamoDBv2; Status Code: 400; Error Code: ConditionalCheckFailedException; Request ID: "),
        "{cause}"
    );
    assert!(cause.ends_with("; Proxy: null)"), "{cause}");

    let (error, cause) = caught(
        "arn:aws:states:::dynamodb:getItem",
        json!({"TableName": "missing", "Key": {"id": {"S": "i1"}}}),
    );
    assert_eq!(error, "DynamoDB.ResourceNotFoundException");
    assert!(
        cause.contains(
            "(Service: AmazonDynamoDBv2; Status Code: 400; Error Code: ResourceNotFoundException; Request ID: "
        ),
        "{cause}"
    );

    let (error, cause) = caught(
        "arn:aws:states:::sns:publish",
        json!({"TopicArn": "arn:aws:sns:us-east-1:123456789012:missing", "Message": "m"}),
    );
    assert_eq!(error, "SNS.NotFoundException");
    // moto says "Endpoint does not exist" where AWS says "Topic does not exist": the rest is AWS's.
    assert!(
        cause.contains(" does not exist (Service: AmazonSNS; Status Code: 404; Error Code: NotFound; Request ID: "),
        "{cause}"
    );

    let (error, cause) = caught(
        "arn:aws:states:::sqs:sendMessage",
        json!({"QueueUrl": format!("{}/123456789012/missing", moto.endpoint()), "MessageBody": "m"}),
    );
    assert_eq!(error, "SQS.QueueDoesNotExistException", "{cause}");
    assert!(
        cause.contains(
            "(Service: AmazonSQS; Status Code: 400; Error Code: AWS.SimpleQueueService.NonExistentQueue; Request ID: "
        ),
        "{cause}"
    );

    // An entry EventBridge refuses fails the task with the whole answer as its cause.
    let (error, cause) = caught(
        "arn:aws:states:::events:putEvents",
        json!({"Entries": [{"Source": "shop", "DetailType": "T", "Detail": {}}, {"DetailType": "T", "Detail": {}}]}),
    );
    assert_eq!(error, "EventBridge.FailedEntry");
    let answer: Json = serde_json::from_str(&cause).unwrap();
    assert_eq!(answer["FailedEntryCount"], 1, "{cause}");
    assert!(answer["Entries"][0]["EventId"].is_string(), "{cause}");
    assert_eq!(answer["Entries"][1]["ErrorCode"], "InvalidArgument", "{cause}");

    // Retry applies to service errors as to any task failure.
    let retried = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:getItem",
        "Parameters": {"TableName": "missing", "Key": {"id": {"S": "x"}}},
        "Retry": [{"ErrorEquals": ["DynamoDB.ResourceNotFoundException"], "IntervalSeconds": 1, "MaxAttempts": 1}], "End": true}}});
    let response = run(&retried, &json!({}), &moto.endpoint(), &[]);
    assert_eq!(response["status"], "FAILED");
    assert_eq!(response["error"], "DynamoDB.ResourceNotFoundException");
}

#[test]
fn aws_sdk_integrations_call_moto() {
    let moto = Moto::start();
    let definition = json!({"StartAt": "Create", "States": {
        "Create": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:dynamodb:createTable",
                   "Parameters": {"TableName": "t", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                                  "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}], "BillingMode": "PAY_PER_REQUEST"},
                   "ResultSelector": {"Status.$": "$.TableDescription.TableStatus", "Created.$": "$.TableDescription.CreationDateTime"},
                   "ResultPath": "$.create", "Next": "Put"},
        "Put": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:dynamodb:putItem",
                "Parameters": {"TableName": "t", "Item": {"pk": {"S": "a"}, "n": {"N": "1"}}}, "ResultPath": "$.put", "Next": "Query"},
        "Query": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:dynamodb:query",
                  "Parameters": {"TableName": "t", "KeyConditionExpression": "pk = :pk", "ExpressionAttributeValues": {":pk": {"S": "a"}}},
                  "ResultPath": "$.query", "Next": "Queue"},
        "Queue": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sqs:createQueue",
                  "Parameters": {"QueueName": "work"}, "ResultPath": "$.queue", "Next": "Send"},
        "Send": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sqs:sendMessage",
                 "Parameters": {"QueueUrl.$": "$.queue.QueueUrl", "MessageBody": {"k": "v"}}, "ResultPath": "$.send", "Next": "Receive"},
        "Receive": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sqs:receiveMessage",
                    "Parameters": {"QueueUrl.$": "$.queue.QueueUrl"}, "ResultPath": "$.receive", "Next": "Invoke"},
        "Invoke": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:lambda:invoke",
                   "Parameters": {"FunctionName": "f", "Payload": {"p": 1}}, "ResultPath": "$.invoke", "Next": "Missing"},
        "Missing": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:dynamodb:getItem",
                    "Parameters": {"TableName": "nope", "Key": {"pk": {"S": "a"}}},
                    "Catch": [{"ErrorEquals": ["DynamoDb.ResourceNotFoundException"], "ResultPath": "$.missing", "Next": "Done"}], "End": true},
        "Done": {"Type": "Succeed"}
    }});
    let output = output_of(&run(&definition, &json!({}), &moto.endpoint(), &[]));
    assert_eq!(output["create"]["Status"], "ACTIVE", "{output:#}");
    let created = output["create"]["Created"].as_str().expect("timestamps are ISO text");
    assert!(created.ends_with('Z') && created.len() == 24, "{created}");
    assert_eq!(output["put"], json!({}), "aws-sdk results have no envelope");
    assert_eq!(output["query"]["Count"], 1);
    assert_eq!(output["query"]["Items"], json!([{"pk": {"S": "a"}, "n": {"N": "1"}}]));
    assert_eq!(
        output["send"]["Md5OfMessageBody"],
        md5_hex(r#"{"k":"v"}"#),
        "{:#}",
        output["send"]
    );
    assert_eq!(output["receive"]["Messages"][0]["Body"], r#"{"k":"v"}"#);
    assert_eq!(
        output["invoke"]["Payload"], r#"{"p":1}"#,
        "the SDK's payload stays text"
    );
    assert_eq!(output["invoke"]["StatusCode"], 200);
    assert_eq!(output["missing"]["Error"], "DynamoDb.ResourceNotFoundException");
    let cause = output["missing"]["Cause"].as_str().unwrap();
    assert!(
        cause.contains("(Service: DynamoDb, Status Code: 400, Request ID: "),
        "{cause}"
    );
}

/// A local HTTP server answering each request with `answer(request head, body)` on its
/// own thread: the status, headers and body to send.
fn serve(answer: fn(&str, &str) -> Answer) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream);
                let mut head = String::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    head.push_str(&line);
                }
                let length = head
                    .lines()
                    .find_map(|l| {
                        let (name, value) = l.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim().parse().ok())?
                    })
                    .unwrap_or(0);
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                let (status, headers, body) = answer(&head, &String::from_utf8_lossy(&body));
                let mut response = format!(
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                    body.len()
                );
                for (name, value) in headers {
                    response.push_str(&format!("{name}: {value}\r\n"));
                }
                response.push_str("\r\n");
                response.push_str(&body);
                let _ = reader.get_mut().write_all(response.as_bytes());
            });
        }
    });
    port
}

#[test]
fn lambda_function_errors_and_missing_functions_as_aws_reports_them() {
    // moto never reports a function error: this stub answers as Lambda does.
    let port = serve(|head, _| {
        if head.lines().next().is_some_and(|l| l.contains("raises")) {
            let payload =
                r#"{"errorMessage": "boom", "errorType": "CustomError", "requestId": "r-1", "stackTrace": []}"#;
            (
                200,
                vec![
                    ("X-Amz-Function-Error", "Unhandled".into()),
                    ("Content-Type", "application/json".into()),
                ],
                payload.into(),
            )
        } else {
            let body = r#"{"Type":"User","Message":"Function not found: arn:aws:lambda:us-east-1:123456789012:function:gone:$LATEST"}"#;
            (
                404,
                vec![
                    ("x-amzn-ErrorType", "ResourceNotFoundException".into()),
                    ("x-amzn-RequestId", "req-404".into()),
                ],
                body.into(),
            )
        }
    });
    let endpoint = format!("http://127.0.0.1:{port}");
    let invoke = |function: &str| {
        let definition = one_task(
            "arn:aws:states:::lambda:invoke",
            json!({"FunctionName": function, "Payload": {}}),
        );
        output_of(&run(
            &definition,
            &json!({}),
            "http://127.0.0.1:9",
            &[("LAMBDA_ENDPOINT", &endpoint)],
        ))
    };
    let raised = invoke("raises");
    assert_eq!(raised["Error"], "CustomError");
    assert_eq!(
        raised["Cause"],
        r#"{"errorMessage": "boom", "errorType": "CustomError", "requestId": "r-1", "stackTrace": []}"#,
        "the payload's text, unchanged"
    );
    let gone = invoke("gone");
    assert_eq!(gone["Error"], "Lambda.ResourceNotFoundException");
    assert_eq!(
        gone["Cause"],
        "Function not found: arn:aws:lambda:us-east-1:123456789012:function:gone:$LATEST (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; Request ID: req-404; Proxy: null)"
    );
    // The legacy form fails the same way.
    let definition = one_task("arn:aws:lambda:us-east-1:123456789012:function:raises", json!({}));
    let raised = output_of(&run(
        &definition,
        &json!({}),
        "http://127.0.0.1:9",
        &[("LAMBDA_ENDPOINT", &endpoint)],
    ));
    assert_eq!(raised["Error"], "CustomError");
}

#[test]
fn unreachable_and_hanging_endpoints_fail_the_task() {
    // Nothing listens on this port: SdkClientException, as AWS names it.
    let closed = format!("http://127.0.0.1:{}", free_port());
    let definition = one_task(
        "arn:aws:states:::sqs:sendMessage",
        json!({"QueueUrl": "q", "MessageBody": "m"}),
    );
    let output = output_of(&run(&definition, &json!({}), &closed, &[]));
    assert_eq!(output["Error"], "SQS.SdkClientException");
    let cause = output["Cause"].as_str().unwrap();
    assert!(cause.starts_with("Unable to execute HTTP request: "), "{cause}");

    // An endpoint that accepts and never answers: the Task's TimeoutSeconds.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    let definition = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish",
        "Parameters": {"TopicArn": "arn:aws:sns:us-east-1:123456789012:t", "Message": "m"}, "TimeoutSeconds": 1, "End": true}}});
    let started = Instant::now();
    let response = run(&definition, &json!({}), &format!("http://127.0.0.1:{port}"), &[]);
    assert_eq!(response["status"], "FAILED");
    assert_eq!(response["error"], "States.Timeout");
    assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
}

#[test]
fn the_http_task_calls_an_http_endpoint() {
    let port = serve(|head, body| {
        let line = head.lines().next().unwrap_or("").to_string();
        if line.contains("/missing") {
            return (
                404,
                vec![("Content-Type", "application/json".into())],
                r#"{"message":"no such thing"}"#.into(),
            );
        }
        let content_type = head
            .lines()
            .find_map(|l| {
                l.strip_prefix("content-type: ")
                    .or_else(|| l.strip_prefix("Content-Type: "))
            })
            .unwrap_or("")
            .to_string();
        let agent = head
            .lines()
            .find_map(|l| {
                l.strip_prefix("user-agent: ")
                    .or_else(|| l.strip_prefix("User-Agent: "))
            })
            .unwrap_or("")
            .to_string();
        let echo = json!({"line": line, "body": body, "contentType": content_type, "agent": agent});
        (
            200,
            vec![("Content-Type", "application/json".into()), ("X-Custom", "yes".into())],
            echo.to_string(),
        )
    });
    let base = format!("http://127.0.0.1:{port}");
    let definition = json!({"StartAt": "Get", "States": {
        "Get": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke",
                "Parameters": {"ApiEndpoint": format!("{base}/items"), "Method": "GET", "QueryParameters": {"id": "7", "q": "a b"},
                               "Authentication": {"ConnectionArn": "arn:aws:events:us-east-1:123456789012:connection/c/1"}},
                "ResultPath": "$.get", "Next": "Post"},
        "Post": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke",
                 "Parameters": {"ApiEndpoint": format!("{base}/form"), "Method": "POST", "RequestBody": {"array": ["a", "b"], "n": 1},
                                "Transform": {"RequestBodyEncoding": "URL_ENCODED", "RequestEncodingOptions": {"ArrayFormat": "BRACKETS"}}},
                 "ResultPath": "$.post", "Next": "Missing"},
        "Missing": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke",
                    "Parameters": {"ApiEndpoint": format!("{base}/missing"), "Method": "GET"},
                    "Catch": [{"ErrorEquals": ["States.Http.StatusCode.404"], "ResultPath": "$.missing", "Next": "Done"}], "End": true},
        "Done": {"Type": "Succeed"}
    }});
    let output = output_of(&run(&definition, &json!({}), "http://127.0.0.1:9", &[]));
    let get = &output["get"];
    assert_eq!(get["StatusCode"], 200, "{get:#}");
    assert_eq!(get["StatusText"], "OK");
    assert_eq!(get["Headers"]["X-Custom"], json!(["yes"]));
    assert_eq!(get["ResponseBody"]["line"], "GET /items?id=7&q=a%20b HTTP/1.1");
    assert_eq!(
        get["ResponseBody"]["agent"],
        "Amazon|StepFunctions|HttpInvoke|us-east-1"
    );
    let post = &output["post"]["ResponseBody"];
    assert_eq!(post["body"], "array%5B%5D=a&array%5B%5D=b&n=1");
    assert_eq!(post["contentType"], "application/x-www-form-urlencoded");
    assert_eq!(output["missing"]["Error"], "States.Http.StatusCode.404");
    assert_eq!(output["missing"]["Cause"], r#"{"message":"no such thing"}"#);
}

/// `quickstep serve` on a fresh journal, its calls going to `endpoint`; killed when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    /// A server on a fresh journal named `name`.
    fn start(name: &str, endpoint: &str) -> Server {
        let dir = std::env::temp_dir().join(format!("quickstep-integrations-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Server::on(&dir.join("journal.db"), endpoint)
    }

    /// A server on the journal `db`.
    fn on(db: &std::path::Path, endpoint: &str) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_quickstep"))
            .args(["serve", "--port", "0", "--db"])
            .arg(db)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ENDPOINT_URL", endpoint)
            .stderr(Stdio::piped())
            .spawn()
            .expect("the quickstep binary starts");
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        stderr.read_line(&mut line).unwrap();
        let port = line
            .split("http://127.0.0.1:")
            .nth(1)
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {line:?}"));
        std::thread::spawn(move || for _ in stderr.lines() {});
        Server { child, port }
    }

    /// A Step Functions API call.
    fn call(&self, operation: &str, body: Json) -> Json {
        let headers = [
            ("Content-Type", "application/x-amz-json-1.0".to_string()),
            ("X-Amz-Target", format!("AWSStepFunctions.{operation}")),
            ("Authorization", authorization("states")),
        ];
        let (status, _, text) = http(self.port, "POST", "/", &headers, body.to_string().as_bytes()).unwrap();
        assert_eq!(status, 200, "{operation}: {text}");
        serde_json::from_str(&text).unwrap()
    }

    /// DescribeExecution of `execution` once it is no longer RUNNING (within 30 s).
    fn closed(&self, execution: &str) -> Json {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let described = self.call("DescribeExecution", json!({"executionArn": execution}));
            if described["status"] != "RUNNING" {
                return described;
            }
            assert!(Instant::now() < deadline, "the execution is still running");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn create(&self, name: &str, definition: &Json, ty: &str) -> String {
        let created = self.call(
            "CreateStateMachine",
            json!({"name": name, "definition": definition.to_string(), "roleArn": "arn:aws:iam::123456789012:role/r", "type": ty}),
        );
        created["stateMachineArn"].as_str().unwrap().to_string()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_server_calls_services_for_standard_and_express_executions() {
    let moto = Moto::start();
    let server = Server::start("serve", &moto.endpoint());
    let queue = moto.json("sqs", "AmazonSQS.CreateQueue", "1.0", json!({"QueueName": "callbacks"}))["QueueUrl"]
        .as_str()
        .unwrap()
        .to_string();

    // Standard: a callback through SQS (the token in the message, SendTaskSuccess with it),
    // then a request-response call, made once the step that scheduled it is journaled.
    let definition = json!({"StartAt": "Ask", "States": {
        "Ask": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {"QueueUrl": queue, "MessageBody": {"TaskToken.$": "$$.Task.Token", "n.$": "$.n"}},
                "TimeoutSeconds": 60, "ResultPath": "$.answer", "Next": "Tell"},
        "Tell": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
                 "Parameters": {"QueueUrl": queue, "MessageBody.$": "States.Format('done {}', $.answer.ok)"},
                 "ResultSelector": {"Md5.$": "$.MD5OfMessageBody"}, "ResultPath": "$.told", "End": true}
    }});
    let machine = server.create("callback", &definition, "STANDARD");
    let started = server.call(
        "StartExecution",
        json!({"stateMachineArn": machine, "input": r#"{"n": 3}"#}),
    );
    let execution = started["executionArn"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    let message = loop {
        let received = moto.json("sqs", "AmazonSQS.ReceiveMessage", "1.0", json!({"QueueUrl": queue}));
        if let Some(message) = received["Messages"].get(0) {
            break serde_json::from_str::<Json>(message["Body"].as_str().unwrap()).unwrap();
        }
        assert!(Instant::now() < deadline, "no callback message in the queue");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(message["n"], 3);
    let token = message["TaskToken"].as_str().unwrap();
    server.call(
        "SendTaskSuccess",
        json!({"taskToken": token, "output": r#"{"ok": true}"#}),
    );
    let described = server.closed(&execution);
    assert_eq!(described["status"], "SUCCEEDED", "{described:#}");
    let output: Json = serde_json::from_str(described["output"].as_str().unwrap()).unwrap();
    assert_eq!(output["answer"], json!({"ok": true}));
    assert_eq!(output["told"]["Md5"], md5_hex("done true"));
    let told = moto.json("sqs", "AmazonSQS.ReceiveMessage", "1.0", json!({"QueueUrl": queue}));
    assert_eq!(told["Messages"][0]["Body"], "done true");

    // Express: the call completes through the runtime's pool.
    let definition = json!({"StartAt": "Invoke", "States": {"Invoke": {"Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "echo", "Payload.$": "$"},
        "OutputPath": "$.Payload", "End": true}}});
    let machine = server.create("express", &definition, "EXPRESS");
    let result = server.call(
        "StartSyncExecution",
        json!({"stateMachineArn": machine, "input": r#"{"k": "v"}"#}),
    );
    assert_eq!(result["status"], "SUCCEEDED", "{result:#}");
    assert_eq!(result["output"], r#"{"k":"v"}"#);
}

#[test]
fn aws_sdk_s3_object_actions_call_moto() {
    let moto = Moto::start();
    let headers = [("Authorization", authorization("s3"))];
    let (status, _, text) = http(moto.port, "PUT", "/reports", &headers, b"").unwrap();
    assert_eq!(status, 200, "create the bucket: {text}");
    let definition = json!({"StartAt": "PutText", "States": {
        "PutText": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:putObject",
                    "Parameters": {"Bucket": "reports", "Key": "daily/a.txt", "Body": "text data"}, "ResultPath": "$.putText", "Next": "PutJson"},
        "PutJson": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:putObject",
                    "Parameters": {"Bucket": "reports", "Key": "daily/b.json", "Body": {"Dict": "Value"}, "Metadata": {"Owner": "me"}},
                    "ResultPath": "$.putJson", "Next": "Get"},
        "Get": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
                "Parameters": {"Bucket": "reports", "Key": "daily/a.txt"}, "ResultPath": "$.get", "Next": "Head"},
        "Head": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:headObject",
                 "Parameters": {"Bucket": "reports", "Key": "daily/b.json"}, "ResultPath": "$.head", "Next": "List"},
        "List": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:listObjectsV2",
                 "Parameters": {"Bucket": "reports", "Prefix": "daily/"}, "ResultPath": "$.list", "Next": "Delete"},
        "Delete": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:deleteObject",
                   "Parameters": {"Bucket": "reports", "Key": "daily/a.txt"}, "ResultPath": "$.delete", "Next": "Gone"},
        "Gone": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
                 "Parameters": {"Bucket": "reports", "Key": "daily/a.txt"},
                 "Catch": [{"ErrorEquals": ["S3.NoSuchKeyException"], "ResultPath": "$.gone", "Next": "Done"}], "End": true},
        "Done": {"Type": "Succeed"}
    }});
    let output = output_of(&run(&definition, &json!({}), &moto.endpoint(), &[]));
    let etag = output["putText"]["ETag"].as_str().unwrap();
    // A string body is stored as its JSON text, quotes and all (11 bytes), as on AWS.
    assert_eq!(etag, format!("\"{}\"", md5_hex("\"text data\"")));
    let get = &output["get"];
    assert_eq!(get["Body"], "\"text data\"", "{get:#}");
    assert_eq!(get["ContentLength"], 11);
    assert_eq!(get["ContentType"], "text/plain; charset=UTF-8");
    assert_eq!(get["ETag"], etag);
    let modified = get["LastModified"].as_str().unwrap();
    assert!(modified.ends_with(".000Z") && modified.len() == 24, "{modified}");
    let head = &output["head"];
    assert_eq!(head["ContentLength"], 16, "{head:#}");
    assert_eq!(head["Metadata"], json!({"owner": "me"}));
    assert!(head.get("Body").is_none());
    let list = &output["list"];
    assert_eq!(list["KeyCount"], 2, "{list:#}");
    assert_eq!(list["Name"], "reports");
    assert_eq!(list["IsTruncated"], false);
    assert_eq!(list["Contents"][0]["Key"], "daily/a.txt");
    assert_eq!(list["Contents"][0]["Size"], 11);
    assert_eq!(list["Contents"][1]["Key"], "daily/b.json");
    assert_eq!(list["Contents"][1]["StorageClass"], "STANDARD");
    assert_eq!(output["gone"]["Error"], "S3.NoSuchKeyException");
    let cause = output["gone"]["Cause"].as_str().unwrap();
    assert!(
        cause.starts_with("The specified key does not exist. (Service: S3, Status Code: 404, Request ID: "),
        "{cause}"
    );
}

#[test]
fn a_standard_execution_calls_again_after_a_restart_when_the_answer_was_not_journaled() {
    // The endpoint holds its first request forever and answers the next ones.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (arrived, first_call) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { continue };
            let _ = arrived.send(n);
            if n == 0 {
                held.push(stream);
                continue;
            }
            std::thread::spawn(move || {
                let mut buffer = [0u8; 4096];
                let _ = stream.read(&mut buffer);
                let body = r#"{"answered":true}"#;
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes());
            });
        }
    });
    let dir = std::env::temp_dir().join(format!("quickstep-integrations-restart-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("journal.db");
    let definition = json!({"StartAt": "Call", "States": {"Call": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke",
        "Parameters": {"ApiEndpoint": format!("http://127.0.0.1:{port}/work"), "Method": "GET"},
        "OutputPath": "$.ResponseBody", "End": true}}});
    let server = Server::on(&db, "http://127.0.0.1:9");
    let machine = server.create("restart", &definition, "STANDARD");
    let started = server.call("StartExecution", json!({"stateMachineArn": machine, "input": "{}"}));
    let execution = started["executionArn"].as_str().unwrap().to_string();
    assert_eq!(
        first_call.recv_timeout(Duration::from_secs(30)),
        Ok(0),
        "the call is made"
    );
    // The server dies with the call in flight: its answer was never journaled.
    drop(server);
    let server = Server::on(&db, "http://127.0.0.1:9");
    assert_eq!(
        first_call.recv_timeout(Duration::from_secs(30)),
        Ok(1),
        "the call is made again"
    );
    let described = server.closed(&execution);
    assert_eq!(described["status"], "SUCCEEDED", "{described:#}");
    assert_eq!(described["output"], r#"{"answered":true}"#);
}

#[test]
fn a_service_endpoint_variable_overrides_the_global_one() {
    // SQS's own endpoint (AWS_ENDPOINT_URL_SQS) is used; the global one refuses connections.
    let port = serve(|head, body| {
        let target = head
            .to_ascii_lowercase()
            .contains("x-amz-target: amazonsqs.sendmessage");
        let answer = json!({"MD5OfMessageBody": "stub", "MessageId": format!("target:{target} body:{body}")});
        (
            200,
            vec![("Content-Type", "application/x-amz-json-1.0".into())],
            answer.to_string(),
        )
    });
    let sqs = format!("http://127.0.0.1:{port}");
    let definition = one_task(
        "arn:aws:states:::sqs:sendMessage",
        json!({"QueueUrl": "q", "MessageBody": "m"}),
    );
    let closed = format!("http://127.0.0.1:{}", free_port());
    let output = output_of(&run(
        &definition,
        &json!({}),
        &closed,
        &[("AWS_ENDPOINT_URL_SQS", &sqs)],
    ));
    assert_eq!(
        output["MessageId"], r#"target:true body:{"QueueUrl":"q","MessageBody":"m"}"#,
        "{output:#}"
    );
}

/// Creates `bucket` in moto's S3 and puts `objects` (key, text) in it.
fn put_objects(moto: &Moto, bucket: &str, objects: &[(&str, &str)]) {
    let headers = [("Authorization", authorization("s3"))];
    let (status, _, text) = http(moto.port, "PUT", &format!("/{bucket}"), &headers, b"").unwrap();
    assert_eq!(status, 200, "create the bucket {bucket}: {text}");
    for (key, body) in objects {
        let (status, _, text) = http(moto.port, "PUT", &format!("/{bucket}/{key}"), &headers, body.as_bytes()).unwrap();
        assert_eq!(status, 200, "put {key}: {text}");
    }
}

/// The text of an object in moto's S3.
fn object_text(moto: &Moto, bucket: &str, key: &str) -> String {
    let headers = [("Authorization", authorization("s3"))];
    let (status, _, text) = http(moto.port, "GET", &format!("/{bucket}/{key}"), &headers, b"").unwrap();
    assert_eq!(status, 200, "get {key}: {text}");
    text
}

/// A Distributed Map reading with `reader`, each item through a Pass state, the other
/// fields from `extra`, going on to `next`.
fn distributed_map(reader: Json, extra: Json, next: &str) -> Json {
    let each = format!("Before{next}");
    let mut state = json!({"Type": "Map", "ItemReader": reader,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                          "StartAt": each, "States": {each.clone(): {"Type": "Pass", "End": true}}},
        "Next": next});
    for (name, value) in extra.as_object().unwrap() {
        state[name] = value.clone();
    }
    state
}

#[test]
fn distributed_maps_read_s3_objects_and_listings_through_moto() {
    let moto = Moto::start();
    let listed: Vec<(String, String)> = (0..5)
        .map(|i| (format!("in/file_{i}.txt"), format!("content {i}")))
        .collect();
    let mut objects: Vec<(&str, &str)> = vec![
        ("items.json", r#"[{"n": 1}, {"n": 2}, {"n": 3}]"#),
        ("items.jsonl", "{\"n\": 1}\n{\"n\": 2}\n\n{\"n\": 3}\n"),
        ("items.csv", "id,name\n1,\"Smith, J\"\n2,Lee\n"),
        ("items.psv", "1|a\n2|b\n"),
        ("not-a-list.json", r#"{"n": 1}"#),
    ];
    objects.extend(listed.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    put_objects(&moto, "data", &objects);
    let get = |key: &str, config: Json| {
        json!({"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": config,
               "Parameters": {"Bucket": "data", "Key": key}})
    };
    let definition = json!({"StartAt": "Json", "States": {
        "Json": distributed_map(get("items.json", json!({"InputType": "JSON", "MaxItems": 2})),
                                json!({"ResultPath": "$.json"}), "Jsonl"),
        "Jsonl": distributed_map(get("items.jsonl", json!({"InputType": "JSONL"})),
                                 json!({"ResultPath": "$.jsonl", "ItemBatcher": {"MaxItemsPerBatch": 2, "BatchInput": {"b": 1}}}), "Csv"),
        "Csv": distributed_map(get("items.csv", json!({"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"})),
                               json!({"ResultPath": "$.csv", "ItemSelector": {"row.$": "$$.Map.Item.Value", "source.$": "$$.Map.Item.Source"}}), "Given"),
        "Given": distributed_map(get("items.psv", json!({"InputType": "CSV", "CSVHeaderLocation": "GIVEN",
                                                        "CSVHeaders": ["id", "letter"], "CSVDelimiter": "PIPE"})),
                                 json!({"ResultPath": "$.given"}), "List"),
        // Two keys a page: the reader follows the continuation tokens.
        "List": distributed_map(json!({"Resource": "arn:aws:states:::s3:listObjectsV2",
                                       "Parameters": {"Bucket": "data", "Prefix": "in/", "MaxKeys": 2}}),
                                json!({"ResultPath": "$.list"}), "NotAList"),
        "NotAList": distributed_map(get("not-a-list.json", json!({"InputType": "JSON"})),
                                    json!({"ResultPath": "$.notAList",
                                           "Catch": [{"ErrorEquals": ["States.ItemReaderFailed"], "ResultPath": "$.notAList", "Next": "Missing"}]}), "Missing"),
        "Missing": distributed_map(get("nope.json", json!({"InputType": "JSON"})),
                                   json!({"ResultPath": "$.missing",
                                          "Catch": [{"ErrorEquals": ["States.ItemReaderFailed"], "ResultPath": "$.missing", "Next": "Batched"}]}), "Batched"),
        "Batched": distributed_map(get("items.json", json!({"InputType": "JSON"})),
                                   json!({"ResultPath": "$.bytes", "ItemBatcher": {"MaxInputBytesPerBatch": 30}}), "Done"),
        "Done": {"Type": "Succeed"}
    }});
    let output = output_of(&run(&definition, &json!({}), &moto.endpoint(), &[]));
    assert_eq!(output["json"], json!([{"n": 1}, {"n": 2}]), "MaxItems 2: {output:#}");
    assert_eq!(
        output["jsonl"],
        json!([{"BatchInput": {"b": 1}, "Items": [{"n": 1}, {"n": 2}]}, {"BatchInput": {"b": 1}, "Items": [{"n": 3}]}])
    );
    // CSV values are strings; a quoted field keeps its delimiter.
    assert_eq!(
        output["csv"],
        json!([{"row": {"id": "1", "name": "Smith, J"}, "source": "s3://data/items.csv"},
               {"row": {"id": "2", "name": "Lee"}, "source": "s3://data/items.csv"}])
    );
    assert_eq!(
        output["given"],
        json!([{"id": "1", "letter": "a"}, {"id": "2", "letter": "b"}])
    );
    let list = output["list"].as_array().unwrap();
    assert_eq!(list.len(), 5, "every page is read: {list:#?}");
    for (i, item) in list.iter().enumerate() {
        let keys: Vec<&str> = item.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["Etag", "Key", "LastModified", "Size", "StorageClass"], "{item}");
        assert_eq!(item["Key"], format!("in/file_{i}.txt"));
        assert_eq!(item["Size"], 9);
        assert_eq!(item["Etag"], format!("\"{}\"", md5_hex(&format!("content {i}"))));
        assert!(item["LastModified"].as_i64().unwrap() > 1_700_000_000, "{item}");
        assert_eq!(item["StorageClass"], "STANDARD");
    }
    assert_eq!(
        output["notAList"],
        json!({"Error": "States.ItemReaderFailed", "Cause": "Attempting to map over non-iterable node."})
    );
    // {"Items":[{"n":1},{"n":2}]} is 27 bytes: a third item would pass 30.
    assert_eq!(
        output["bytes"],
        json!([{"Items": [{"n": 1}, {"n": 2}]}, {"Items": [{"n": 3}]}])
    );
    assert_eq!(output["missing"]["Error"], "States.ItemReaderFailed");
    let cause = output["missing"]["Cause"].as_str().unwrap();
    assert!(cause.starts_with("The specified key does not exist."), "{cause}");
}

#[test]
fn a_distributed_map_writes_its_results_to_s3_as_aws_lays_them_out() {
    let moto = Moto::start();
    put_objects(
        &moto,
        "data",
        &[("items.json", r#"[{"n": 1}, {"n": 2}, {"fail": true}, {"n": 4}]"#)],
    );
    put_objects(&moto, "results", &[]);
    let map = |tolerated: u64| {
        json!({"Type": "Map",
            "ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "JSON"},
                           "Parameters": {"Bucket": "data", "Key": "items.json"}},
            "ItemSelector": {"item.$": "$$.Map.Item.Value"},
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, "StartAt": "Check",
                "States": {"Check": {"Type": "Choice", "Choices": [{"Variable": "$.item.fail", "IsPresent": true, "Next": "Fail"}], "Default": "Ok"},
                           "Fail": {"Type": "Fail", "Error": "Item.Bad", "Cause": "a bad item"},
                           "Ok": {"Type": "Pass", "End": true}}},
            "ToleratedFailureCount": tolerated,
            "Label": "Orders",
            "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "results", "Prefix.$": "$.prefix"}},
            "End": true})
    };
    let tolerated = json!({"StartAt": "Process", "States": {"Process": map(1)}});
    let output = output_of(&run(&tolerated, &json!({"prefix": "jobs"}), &moto.endpoint(), &[]));
    let map_run = output["MapRunArn"].as_str().unwrap();
    let id = map_run.rsplit(':').next().unwrap();
    assert!(
        map_run.starts_with("arn:aws:states:us-east-1:123456789012:mapRun:") && map_run.contains("/Orders:"),
        "{map_run}"
    );
    let manifest_key = format!("jobs/{id}/manifest.json");
    assert_eq!(
        output["ResultWriterDetails"],
        json!({"Bucket": "results", "Key": manifest_key})
    );
    let manifest: Json = serde_json::from_str(&object_text(&moto, "results", &manifest_key)).unwrap();
    let succeeded_key = format!("jobs/{id}/SUCCEEDED_0.json");
    let failed_key = format!("jobs/{id}/FAILED_0.json");
    let succeeded_text = object_text(&moto, "results", &succeeded_key);
    let failed_text = object_text(&moto, "results", &failed_key);
    assert_eq!(
        manifest,
        json!({"DestinationBucket": "results", "MapRunArn": map_run, "ResultFiles": {
            "FAILED": [{"Key": failed_key, "Size": failed_text.len()}],
            "PENDING": [],
            "SUCCEEDED": [{"Key": succeeded_key, "Size": succeeded_text.len()}]}})
    );
    let succeeded: Json = serde_json::from_str(&succeeded_text).unwrap();
    let succeeded = succeeded.as_array().unwrap();
    assert_eq!(succeeded.len(), 3);
    let first = &succeeded[0];
    let keys: Vec<&str> = first.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "ExecutionArn",
            "Input",
            "InputDetails",
            "Name",
            "Output",
            "OutputDetails",
            "RedriveCount",
            "RedriveStatus",
            "RedriveStatusReason",
            "StartDate",
            "StateMachineArn",
            "Status",
            "StopDate"
        ]
    );
    assert_eq!(first["Input"], r#"{"item":{"n":1}}"#);
    assert_eq!(first["Output"], r#"{"item":{"n":1}}"#);
    assert_eq!(first["Status"], "SUCCEEDED");
    assert_eq!(first["InputDetails"], json!({"Included": true}));
    let name = first["Name"].as_str().unwrap();
    assert!(
        first["ExecutionArn"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/Orders:{name}")),
        "{first}"
    );
    assert!(
        first["StateMachineArn"].as_str().unwrap().ends_with("/Orders"),
        "{first}"
    );
    assert_eq!(succeeded[2]["Input"], r#"{"item":{"n":4}}"#);
    let failed: Json = serde_json::from_str(&failed_text).unwrap();
    assert_eq!(failed.as_array().unwrap().len(), 1);
    assert_eq!(failed[0]["Status"], "FAILED");
    assert_eq!(failed[0]["Error"], "Item.Bad");
    assert_eq!(failed[0]["Cause"], "a bad item");
    assert_eq!(failed[0]["Input"], r#"{"item":{"fail":true}}"#);
    assert!(failed[0].get("Output").is_none());

    // With no failure tolerated, the one failure fails the map run.
    let strict = json!({"StartAt": "Process", "States": {"Process": map(0)}});
    let response = run(&strict, &json!({"prefix": "strict"}), &moto.endpoint(), &[]);
    assert_eq!(response["status"], "FAILED", "{response:#}");
    assert_eq!(response["error"], "States.ExceedToleratedFailureThreshold");
    assert_eq!(
        response["cause"],
        "The specified tolerated failure threshold was exceeded"
    );
}

#[test]
fn a_standard_execution_in_the_server_reads_and_writes_s3_in_durable_steps() {
    let moto = Moto::start();
    put_objects(&moto, "data", &[("items.csv", "id\n1\n2\n3\n")]);
    put_objects(&moto, "results", &[]);
    let server = Server::start("distributed", &moto.endpoint());
    let definition = json!({"StartAt": "Process", "States": {"Process": {"Type": "Map",
        "ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"},
                       "Parameters": {"Bucket": "data", "Key": "items.csv"}},
        "ItemBatcher": {"MaxItemsPerBatch": 2},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, "StartAt": "Count",
                          "States": {"Count": {"Type": "Pass", "Parameters": {"count.$": "States.ArrayLength($.Items)"}, "End": true}}},
        "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "results", "Prefix": "runs"}},
        "End": true}}});
    let machine = server.create("distributed", &definition, "STANDARD");
    let started = server.call("StartExecution", json!({"stateMachineArn": machine, "input": "{}"}));
    let execution = started["executionArn"].as_str().unwrap().to_string();
    let described = server.closed(&execution);
    assert_eq!(described["status"], "SUCCEEDED", "{described:#}");
    let output: Json = serde_json::from_str(described["output"].as_str().unwrap()).unwrap();
    let key = output["ResultWriterDetails"]["Key"].as_str().unwrap();
    let manifest: Json = serde_json::from_str(&object_text(&moto, "results", key)).unwrap();
    assert_eq!(manifest["MapRunArn"], output["MapRunArn"]);
    let succeeded_key = manifest["ResultFiles"]["SUCCEEDED"][0]["Key"].as_str().unwrap();
    let succeeded: Json = serde_json::from_str(&object_text(&moto, "results", succeeded_key)).unwrap();
    let outputs: Vec<&str> = succeeded
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["Output"].as_str().unwrap())
        .collect();
    assert_eq!(outputs, [r#"{"count":2}"#, r#"{"count":1}"#]);
    // The map run is listed with the ARN of the result.
    let runs = server.call("ListMapRuns", json!({"executionArn": execution}));
    assert_eq!(runs["mapRuns"][0]["mapRunArn"], output["MapRunArn"]);
    let history = server.call("GetExecutionHistory", json!({"executionArn": execution}));
    let types: Vec<&str> = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        &types[..4],
        [
            "ExecutionStarted",
            "MapStateEntered",
            "MapStateStarted",
            "MapRunStarted"
        ]
    );
    assert_eq!(
        &types[types.len() - 4..],
        [
            "MapRunSucceeded",
            "MapStateSucceeded",
            "MapStateExited",
            "ExecutionSucceeded"
        ]
    );
}
