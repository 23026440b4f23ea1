//! Nested workflows: `states:startExecution` (request-response, `.sync`, `.sync:2`,
//! `.waitForTaskToken`) and `aws-sdk:sfn:startExecution`, run by quickstep itself: in the
//! command line (`quickstep run --machine NAME=FILE`) and in `quickstep serve` through
//! `aws-sdk-sfn` (the server as its own process, killed and restarted on its journal).
//! Result shapes are those LocalStack's recordings of AWS give
//! (`test_sfn_task_service`, `test_callback::test_start_execution_sync*`,
//! `test_credentials_base`).

#[path = "common/server.rs"]
mod server;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use aws_sdk_sfn::types::{ExecutionStatus, StateMachineType};
use serde_json::{json, Value as Json};
use server::{closed, create, runtime, scratch, Server};

const CHILD_ARN: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:Child";

/// A child that succeeds with `{"Arg1": "argument1"}`, as the recordings' target does.
const SUCCEEDS: &str = r#"{"StartAt":"P","States":{"P":{"Type":"Pass","Result":{"Arg1":"argument1"},"End":true}}}"#;
/// A child that fails as the recordings' failing target does.
const FAILS: &str = r#"{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"SomeFailure","Cause":"This state machines raises a 'SomeFailure' failure."}}}"#;
/// A child that times out.
const TIMES_OUT: &str = r#"{"StartAt":"W","TimeoutSeconds":1,"States":{"W":{"Type":"Wait","Seconds":30,"End":true}}}"#;
/// A child that echoes its input and its own context.
const ECHOES: &str = r#"{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"input.$":"$","name.$":"$$.Execution.Name","id.$":"$$.Execution.Id"},"End":true}}}"#;
/// A child that answers its parent's callback with `aws-sdk:sfn:sendTaskSuccess`.
const CALLS_BACK: &str = r#"{"StartAt":"Send","States":{"Send":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:sfn:sendTaskSuccess","Parameters":{"TaskToken.$":"$.TaskToken","Output":{"from":"child"}},"End":true}}}"#;

/// A parent whose one Task is `resource` on `parameters`.
fn parent_of(resource: &str, parameters: Json) -> String {
    json!({"StartAt": "StartExecution", "States": {"StartExecution": {
        "Type": "Task", "Resource": resource, "Parameters": parameters, "End": true}}})
    .to_string()
}

/// The recordings' parameters: `StateMachineArn`, `Input` and `Name` from the input.
fn from_input() -> Json {
    json!({"StateMachineArn.$": "$.StateMachineArn", "Input.$": "$.Input", "Name.$": "$.Name"})
}

/// A scratch folder for the command line's files.
fn folder(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("quickstep-nested-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes `text` to `dir/name`; returns the path.
fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// `quickstep run` of `definition` on `input` with `args`: its exit code and JSON result.
fn run(definition: &Path, input: &Json, args: &[&str]) -> (i32, Json) {
    let out = Command::new(env!("CARGO_BIN_EXE_quickstep"))
        .arg("run")
        .arg(definition)
        .args(["--input", &input.to_string()])
        .args(args)
        .output()
        .expect("quickstep runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let result = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\n{}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap_or(-1), result)
}

/// A JSON text member of a result, parsed.
fn parsed(result: &Json, member: &str) -> Json {
    serde_json::from_str(
        result[member]
            .as_str()
            .unwrap_or_else(|| panic!("no {member} in {result}")),
    )
    .unwrap()
}

/// `value` with the members that differ from run to run (dates, request ids) replaced.
fn stable(mut value: Json) -> Json {
    if let Some(members) = value.as_object_mut() {
        for date in ["StartDate", "StopDate"] {
            if let Some(v) = members.get_mut(date) {
                assert!(v.is_i64(), "{date} is epoch milliseconds: {v}");
                *v = json!("date");
            }
        }
        if let Some(metadata) = members.get_mut("SdkHttpMetadata") {
            for headers in ["AllHttpHeaders", "HttpHeaders"] {
                for header in ["x-amzn-RequestId", "Date"] {
                    metadata[headers][header] = json!(header);
                }
            }
        }
        if let Some(metadata) = members.get_mut("SdkResponseMetadata") {
            metadata["RequestId"] = json!("RequestId");
        }
    }
    value
}

/// What the recordings give for `.sync` of the succeeding child named `name`.
fn sync_result(arn: &str, name: &str, input: Json, output: Json) -> Json {
    json!({"ExecutionArn": arn, "Input": input, "InputDetails": {"Included": true}, "Name": name,
           "Output": output, "OutputDetails": {"Included": true}, "StartDate": "date",
           "StateMachineArn": arn.replace(":execution:", ":stateMachine:").rsplit_once(':').unwrap().0, "Status": "SUCCEEDED", "StopDate": "date"})
}

#[test]
fn cli_request_response_gives_the_arn_and_start_date_with_the_envelope() {
    let dir = folder("rr");
    let child = write(&dir, "child.json", SUCCEEDS);
    let parent = write(
        &dir,
        "parent.json",
        &parent_of("arn:aws:states:::states:startExecution", from_input()),
    );
    let machine = format!("Child={}", child.display());
    let input = json!({"StateMachineArn": CHILD_ARN, "Input": null, "Name": "TestStartTarget"});
    let (code, result) = run(&parent, &input, &["--machine", &machine]);
    assert_eq!(code, 0, "{result}");
    let output = parsed(&result, "output");
    let arn = "arn:aws:states:us-east-1:123456789012:execution:Child:TestStartTarget";
    let body_length = json!({"executionArn": arn, "startDate": 0.0}).to_string().len();
    // The recording's shape (test_start_execution): the lengths of one body differ by the
    // digits of its start date only.
    let length = output["SdkHttpMetadata"]["HttpHeaders"]["Content-Length"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(length.parse::<usize>().unwrap() > body_length, "{length}");
    assert_eq!(
        stable(output),
        json!({
            "ExecutionArn": arn,
            "SdkHttpMetadata": {
                "AllHttpHeaders": {"x-amzn-RequestId": "x-amzn-RequestId", "connection": ["keep-alive"],
                                   "Content-Length": [length], "Date": "Date",
                                   "Content-Type": ["application/x-amz-json-1.0"]},
                "HttpHeaders": {"connection": "keep-alive", "Content-Length": length,
                                "Content-Type": "application/x-amz-json-1.0", "Date": "Date",
                                "x-amzn-RequestId": "x-amzn-RequestId"},
                "HttpStatusCode": 200},
            "SdkResponseMetadata": {"RequestId": "RequestId"},
            "StartDate": "date"
        })
    );
}

#[test]
fn cli_sync_and_sync2_give_the_child_description() {
    let dir = folder("sync");
    let child = write(&dir, "child.json", SUCCEEDS);
    let machine = format!("Child={}", child.display());
    let arn = "arn:aws:states:us-east-1:123456789012:execution:Child:TestStartTarget";
    let input = json!({"StateMachineArn": CHILD_ARN, "Input": {}, "Name": "TestStartTarget"});
    let sync = write(
        &dir,
        "sync.json",
        &parent_of("arn:aws:states:::states:startExecution.sync", from_input()),
    );
    let (code, result) = run(&sync, &input, &["--machine", &machine]);
    assert_eq!(code, 0, "{result}");
    assert_eq!(
        stable(parsed(&result, "output")),
        sync_result(arn, "TestStartTarget", json!("{}"), json!(r#"{"Arg1":"argument1"}"#))
    );
    let sync2 = write(
        &dir,
        "sync2.json",
        &parent_of("arn:aws:states:::states:startExecution.sync:2", from_input()),
    );
    let (code, result) = run(&sync2, &input, &["--machine", &machine]);
    assert_eq!(code, 0, "{result}");
    assert_eq!(
        stable(parsed(&result, "output")),
        sync_result(arn, "TestStartTarget", json!({}), json!({"Arg1": "argument1"}))
    );
}

#[test]
fn cli_sync_child_failures_are_task_failed_with_the_description() {
    let dir = folder("fail");
    let sync = write(
        &dir,
        "sync.json",
        &parent_of("arn:aws:states:::states:startExecution.sync", from_input()),
    );
    let input = json!({"StateMachineArn": CHILD_ARN, "Input": {}, "Name": "TestStartTarget"});
    let arn = "arn:aws:states:us-east-1:123456789012:execution:Child:TestStartTarget";
    let failing = write(&dir, "fails.json", FAILS);
    let (code, result) = run(&sync, &input, &["--machine", &format!("Child={}", failing.display())]);
    assert_eq!(code, 1);
    assert_eq!(result["error"], "States.TaskFailed");
    assert_eq!(
        stable(parsed(&result, "cause")),
        json!({"Cause": "This state machines raises a 'SomeFailure' failure.", "Error": "SomeFailure",
               "ExecutionArn": arn, "Input": "{}", "InputDetails": {"Included": true},
               "Name": "TestStartTarget", "StartDate": "date", "StateMachineArn": CHILD_ARN,
               "Status": "FAILED", "StopDate": "date"})
    );
    let timing_out = write(&dir, "times-out.json", TIMES_OUT);
    let (code, result) = run(
        &sync,
        &input,
        &["--machine", &format!("Child={}", timing_out.display())],
    );
    assert_eq!(code, 1);
    assert_eq!(result["error"], "States.TaskFailed");
    let cause = parsed(&result, "cause");
    assert_eq!(
        (&cause["Status"], &cause["Error"]),
        (&json!("TIMED_OUT"), &json!("States.Timeout"))
    );
}

#[test]
fn cli_unknown_machines_and_names_fail_as_aws_names_it() {
    let dir = folder("unknown");
    let rr = write(
        &dir,
        "rr.json",
        &parent_of("arn:aws:states:::states:startExecution", from_input()),
    );
    let missing = "arn:aws:states:us-east-1:123456789012:stateMachine:Nope";
    let input = json!({"StateMachineArn": missing, "Input": {}, "Name": "n"});
    // Without --machine, no state machine exists.
    let (code, result) = run(&rr, &input, &[]);
    assert_eq!(code, 1);
    assert_eq!(result["error"], "StepFunctions.StateMachineDoesNotExistException");
    let cause = result["cause"].as_str().unwrap();
    assert!(
        cause.starts_with(&format!("State Machine Does Not Exist: '{missing}' (Service: AWSStepFunctions; Status Code: 400; Error Code: StateMachineDoesNotExist; Request ID: ")),
        "{cause}"
    );
    // A name used twice: ExecutionAlreadyExists; an invalid name: InvalidName.
    let child = write(&dir, "child.json", SUCCEEDS);
    let twice = json!({"StartAt": "A", "States": {
        "A": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution", "Parameters": {"StateMachineArn": CHILD_ARN, "Name": "same"}, "ResultPath": null, "Next": "B"},
        "B": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution", "Parameters": {"StateMachineArn": CHILD_ARN, "Name": "same"}, "End": true}}});
    let twice = write(&dir, "twice.json", &twice.to_string());
    let machine = format!("Child={}", child.display());
    let (code, result) = run(&twice, &json!({}), &["--machine", &machine]);
    assert_eq!(code, 1);
    assert_eq!(result["error"], "StepFunctions.ExecutionAlreadyExistsException");
    let bad_name = json!({"StateMachineArn": CHILD_ARN, "Input": {}, "Name": "bad name"});
    let (_, result) = run(&rr, &bad_name, &["--machine", &machine]);
    assert_eq!(result["error"], "StepFunctions.InvalidNameException");
    // A bad option is refused before anything runs.
    let out = Command::new(env!("CARGO_BIN_EXE_quickstep"))
        .args(["run"])
        .arg(&rr)
        .args(["--machine", "no-equals-sign"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--machine no-equals-sign: give NAME=FILE"));
}

#[test]
fn cli_input_forms_name_and_parent_id_reach_the_child() {
    let dir = folder("input");
    let child = write(&dir, "child.json", ECHOES);
    let machine = format!("Child={}", child.display());
    let sync2 = write(
        &dir,
        "sync2.json",
        &parent_of(
            "arn:aws:states:::states:startExecution.sync:2",
            json!({"StateMachineArn": CHILD_ARN, "Input": {"k": [1, 2], "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id"}}),
        ),
    );
    let (code, result) = run(&sync2, &json!({}), &["--machine", &machine, "--name", "parent-run"]);
    assert_eq!(code, 0, "{result}");
    let output = parsed(&result, "output");
    let name = output["Name"].as_str().unwrap();
    assert_eq!(name.len(), 36, "a fresh UUID: {name}");
    assert_eq!(
        output["Output"],
        json!({"input": {"k": [1, 2], "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID": "arn:aws:states:us-east-1:123456789012:execution:sync2:parent-run"},
               "name": name, "id": format!("arn:aws:states:us-east-1:123456789012:execution:Child:{name}")})
    );
    // A string Input is the child's input text as it is.
    let text = write(
        &dir,
        "text.json",
        &parent_of(
            "arn:aws:states:::states:startExecution.sync",
            json!({"StateMachineArn": CHILD_ARN, "Input": "\"InputFromTrustedAccount\"", "Name": "t"}),
        ),
    );
    let (code, result) = run(&text, &json!({}), &["--machine", &machine]);
    assert_eq!(code, 0, "{result}");
    let output = parsed(&result, "output");
    assert_eq!(output["Input"], "\"InputFromTrustedAccount\"");
    // aws-sdk:sfn:startExecution: the SDK's answer, StartDate as ISO text.
    let sdk = write(
        &dir,
        "sdk.json",
        &parent_of(
            "arn:aws:states:::aws-sdk:sfn:startExecution",
            json!({"StateMachineArn": CHILD_ARN, "Input": {"key": "value"}, "Name": "s"}),
        ),
    );
    let (code, result) = run(&sdk, &json!({}), &["--machine", &machine]);
    assert_eq!(code, 0, "{result}");
    let output = parsed(&result, "output");
    let keys: Vec<&String> = output.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["ExecutionArn", "StartDate"]);
    let date = output["StartDate"].as_str().unwrap();
    assert!(
        date.len() == 24 && date.ends_with('Z') && date.as_bytes()[10] == b'T',
        "{date}"
    );
}

#[test]
fn cli_wait_for_task_token_waits_for_the_child_callback() {
    let dir = folder("callback");
    let child = write(&dir, "child.json", CALLS_BACK);
    let callback = write(
        &dir,
        "parent.json",
        &parent_of(
            "arn:aws:states:::states:startExecution.waitForTaskToken",
            json!({"StateMachineArn": CHILD_ARN, "Input": {"TaskToken.$": "$$.Task.Token"}}),
        ),
    );
    let machine = format!("Child={}", child.display());
    let (code, result) = run(&callback, &json!({}), &["--machine", &machine]);
    assert_eq!(code, 0, "{result}");
    assert_eq!(parsed(&result, "output"), json!({"from": "child"}));
    // A child that never calls back: the parent's TimeoutSeconds applies.
    let silent = write(&dir, "silent.json", SUCCEEDS);
    let timed = json!({"StartAt": "S", "States": {"S": {"Type": "Task", "TimeoutSeconds": 1,
        "Resource": "arn:aws:states:::states:startExecution.waitForTaskToken",
        "Parameters": {"StateMachineArn": CHILD_ARN, "Input": {"TaskToken.$": "$$.Task.Token"}}, "End": true}}});
    let timed = write(&dir, "timed.json", &timed.to_string());
    let started = Instant::now();
    let (code, result) = run(
        &timed,
        &json!({}),
        &["--machine", &format!("Child={}", silent.display())],
    );
    assert_eq!(code, 1);
    assert_eq!(result["error"], "States.Timeout");
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// The server's `Child` machine of `definition`, and a parent of `resource`; their ARNs.
async fn server_machines(
    client: &aws_sdk_sfn::Client,
    child: &str,
    resource: &str,
    parameters: Json,
) -> (String, String) {
    let child = create(client, "Child", child, StateMachineType::Standard).await;
    let parent = create(
        client,
        "Parent",
        &parent_of(resource, parameters),
        StateMachineType::Standard,
    )
    .await;
    (child, parent)
}

/// Starts `parent` on `input`; waits for its end; returns (status, output or cause, error).
async fn run_on_server(
    client: &aws_sdk_sfn::Client,
    parent: &str,
    input: &Json,
) -> (ExecutionStatus, Json, Option<String>) {
    let started = client
        .start_execution()
        .state_machine_arn(parent)
        .input(input.to_string())
        .send()
        .await
        .unwrap();
    let described = closed(client, &started.execution_arn).await;
    let text = described.output.or(described.cause).unwrap_or_default();
    (
        described.status,
        serde_json::from_str(&text).unwrap_or(Json::String(text)),
        described.error,
    )
}

#[test]
fn server_sync_children_are_the_servers_own_executions() {
    let db = scratch("nested-sync");
    let server = Server::start(&db, &[]);
    let client = server.client();
    runtime().block_on(async {
        let (child, parent) = server_machines(
            &client,
            SUCCEEDS,
            "arn:aws:states:::states:startExecution.sync",
            from_input(),
        )
        .await;
        let input = json!({"StateMachineArn": child, "Input": {}, "Name": "TestStartTarget"});
        let (status, output, _) = run_on_server(&client, &parent, &input).await;
        assert_eq!(status, ExecutionStatus::Succeeded, "{output}");
        let arn = "arn:aws:states:us-east-1:123456789012:execution:Child:TestStartTarget";
        // The 2024 recording (test_credentials_base): with the Redrive members.
        let mut expected = sync_result(arn, "TestStartTarget", json!("{}"), json!(r#"{"Arg1":"argument1"}"#));
        expected["RedriveCount"] = json!(0);
        expected["RedriveStatus"] = json!("NOT_REDRIVABLE");
        expected["RedriveStatusReason"] = json!("Execution is SUCCEEDED and cannot be redriven");
        assert_eq!(stable(output), expected);
        // The child is listed and described as any execution.
        let listed = client.list_executions().state_machine_arn(&child).send().await.unwrap();
        assert_eq!(listed.executions.len(), 1);
        assert_eq!(listed.executions[0].execution_arn, arn);
        let described = client.describe_execution().execution_arn(arn).send().await.unwrap();
        assert_eq!(described.output.as_deref(), Some(r#"{"Arg1":"argument1"}"#));

        // .sync:2 of a failing child: States.TaskFailed, the description as cause.
        let failing = create(&client, "Failing", FAILS, StateMachineType::Standard).await;
        let sync2 = create(
            &client,
            "Parent2",
            &parent_of("arn:aws:states:::states:startExecution.sync:2", from_input()),
            StateMachineType::Standard,
        )
        .await;
        let input = json!({"StateMachineArn": failing, "Input": {}, "Name": "TestStartTarget"});
        let (status, cause, error) = run_on_server(&client, &sync2, &input).await;
        assert_eq!(status, ExecutionStatus::Failed);
        assert_eq!(error.as_deref(), Some("States.TaskFailed"));
        assert_eq!(
            (&cause["Status"], &cause["Error"], &cause["Input"], cause.get("Output")),
            (&json!("FAILED"), &json!("SomeFailure"), &json!("{}"), None)
        );
        // An unknown machine.
        let input = json!({"StateMachineArn": format!("{child}Nope"), "Input": {}, "Name": "x"});
        let (status, cause, error) = run_on_server(&client, &parent, &input).await;
        assert_eq!(status, ExecutionStatus::Failed);
        assert_eq!(
            error.as_deref(),
            Some("StepFunctions.StateMachineDoesNotExistException")
        );
        assert!(
            cause
                .as_str()
                .unwrap()
                .contains("Error Code: StateMachineDoesNotExist;"),
            "{cause}"
        );
    });
}

#[test]
fn server_request_response_express_children_and_callbacks() {
    let db = scratch("nested-rr");
    let server = Server::start(&db, &[]);
    let client = server.client();
    runtime().block_on(async {
        let (child, parent) =
            server_machines(&client, ECHOES, "arn:aws:states:::states:startExecution", from_input()).await;
        let input = json!({"StateMachineArn": child, "Input": {"a": 1}, "Name": "rr"});
        let (status, output, _) = run_on_server(&client, &parent, &input).await;
        assert_eq!(status, ExecutionStatus::Succeeded, "{output}");
        let arn = "arn:aws:states:us-east-1:123456789012:execution:Child:rr";
        assert_eq!(output["ExecutionArn"], arn);
        assert!(output["StartDate"].is_i64());
        assert_eq!(output["SdkHttpMetadata"]["HttpStatusCode"], 200);
        let described = closed(&client, arn).await;
        assert_eq!(described.input.as_deref(), Some(r#"{"a":1}"#));

        // An EXPRESS child under .sync:2 runs to its end.
        let express = create(&client, "Quick", SUCCEEDS, StateMachineType::Express).await;
        let sync2 = create(
            &client,
            "Sync2",
            &parent_of("arn:aws:states:::states:startExecution.sync:2", from_input()),
            StateMachineType::Standard,
        )
        .await;
        let input = json!({"StateMachineArn": express, "Input": {}, "Name": "quick"});
        let (status, output, _) = run_on_server(&client, &sync2, &input).await;
        assert_eq!(status, ExecutionStatus::Succeeded, "{output}");
        assert_eq!(output["Output"], json!({"Arg1": "argument1"}));
        assert!(output["ExecutionArn"]
            .as_str()
            .unwrap()
            .contains(":express:Quick:quick:"));

        // .waitForTaskToken: the child has the token in its input; the parent waits for
        // SendTaskSuccess with it.
        let waiter = create(
            &client,
            "Waiter",
            &parent_of(
                "arn:aws:states:::states:startExecution.waitForTaskToken",
                json!({"StateMachineArn": child, "Name": "cb", "Input": {"TaskToken.$": "$$.Task.Token"}}),
            ),
            StateMachineType::Standard,
        )
        .await;
        let started = client
            .start_execution()
            .state_machine_arn(&waiter)
            .send()
            .await
            .unwrap();
        let child_arn = "arn:aws:states:us-east-1:123456789012:execution:Child:cb";
        let deadline = Instant::now() + Duration::from_secs(30);
        while client
            .describe_execution()
            .execution_arn(child_arn)
            .send()
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "the child did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let child_run = closed(&client, child_arn).await;
        let echoed: Json = serde_json::from_str(child_run.output.as_deref().unwrap()).unwrap();
        let token = echoed["input"]["TaskToken"].as_str().unwrap().to_string();
        let running = client
            .describe_execution()
            .execution_arn(&started.execution_arn)
            .send()
            .await
            .unwrap();
        assert_eq!(running.status, ExecutionStatus::Running);
        client
            .send_task_success()
            .task_token(token)
            .output(r#"{"called":"back"}"#)
            .send()
            .await
            .unwrap();
        let done = closed(&client, &started.execution_arn).await;
        assert_eq!(done.output.as_deref(), Some(r#"{"called":"back"}"#));
    });
}

#[test]
fn server_sync_parent_survives_a_restart_while_its_child_waits_and_stops_it_when_stopped() {
    let db = scratch("nested-restart");
    let server = Server::start(&db, &[]);
    let client = server.client();
    let rt = runtime();
    // The child waits on an activity: it runs as long as the test wants.
    let waits = |activity: &str| {
        json!({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": activity, "End": true}}}).to_string()
    };
    let (activity, child, parent_arn, stopped_arn) = rt.block_on(async {
        let activity = client.create_activity().name("work").send().await.unwrap().activity_arn;
        let (child, parent) = server_machines(
            &client,
            &waits(&activity),
            "arn:aws:states:::states:startExecution.sync",
            json!({"StateMachineArn.$": "$.StateMachineArn", "Input.$": "$.Input"}),
        )
        .await;
        let started = client
            .start_execution()
            .state_machine_arn(&parent)
            .input(json!({"StateMachineArn": child, "Input": {"n": 1}}).to_string())
            .send()
            .await
            .unwrap();
        let stopped = client
            .start_execution()
            .state_machine_arn(&parent)
            .input(json!({"StateMachineArn": child, "Input": {"n": 2}}).to_string())
            .send()
            .await
            .unwrap();
        // Both children have started (unnamed: a name derived from the parent's task).
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let listed = client.list_executions().state_machine_arn(&child).send().await.unwrap();
            if listed.executions.len() == 2 {
                break;
            }
            assert!(Instant::now() < deadline, "the children did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        (activity, child, started.execution_arn, stopped.execution_arn)
    });
    server.kill();
    let server = Server::start(&db, &[]);
    let client = server.client();
    rt.block_on(async {
        // After the restart the parents' calls are made again: they find their children
        // (no third child), and go on waiting.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let listed = client.list_executions().state_machine_arn(&child).send().await.unwrap();
        assert_eq!(listed.executions.len(), 2, "{:?}", listed.executions);
        // Stopping a parent stops its child.
        client
            .stop_execution()
            .execution_arn(&stopped_arn)
            .send()
            .await
            .unwrap();
        // The other child's activity is answered: its parent succeeds with its description.
        let mut answered = 0;
        let deadline = Instant::now() + Duration::from_secs(30);
        while answered < 1 {
            assert!(Instant::now() < deadline, "no activity task");
            let task = client.get_activity_task().activity_arn(&activity).send().await.unwrap();
            let Some(token) = task.task_token else { continue };
            let input: Json = serde_json::from_str(task.input.as_deref().unwrap()).unwrap();
            if input["n"] == 1 {
                client
                    .send_task_success()
                    .task_token(token)
                    .output(r#"{"done":1}"#)
                    .send()
                    .await
                    .unwrap();
                answered += 1;
            }
        }
        let described = closed(&client, &parent_arn).await;
        assert_eq!(described.status, ExecutionStatus::Succeeded);
        let output: Json = serde_json::from_str(described.output.as_deref().unwrap()).unwrap();
        assert_eq!(
            (&output["Status"], &output["Output"]),
            (&json!("SUCCEEDED"), &json!(r#"{"done":1}"#))
        );
        let children = client.list_executions().state_machine_arn(&child).send().await.unwrap();
        let stopped_child = children
            .executions
            .iter()
            .find(|e| e.execution_arn != output["ExecutionArn"].as_str().unwrap())
            .expect("the stopped parent's child");
        let child_end = closed(&client, &stopped_child.execution_arn).await;
        assert_eq!(child_end.status, ExecutionStatus::Aborted);
    });
}
