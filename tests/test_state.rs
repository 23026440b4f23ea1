//! TestState at the library level: the cases of `tests/data/test_state/`, AWS's answers as
//! LocalStack's snapshot tests recorded them (each file names its source), then a few rules
//! of ours; and the TestState operation of `quickstep serve` driven through `aws-sdk-sfn`.

mod common;
#[path = "common/server.rs"]
mod server;

use std::path::Path;

use quickstep::tasks::{TaskFailure, TaskRegistry};
use quickstep::test_state::{test_state, TestStateError, TestStateRequest, TestStatus};
use serde_json::{json, Value as Json};

/// Whether `expected` (as recorded, with LocalStack's placeholders for ARNs' names and
/// dates) matches `actual`; the differences into `out`.
fn same(expected: &Json, actual: &Json, at: &str, out: &mut Vec<String>) {
    match (expected, actual) {
        (Json::String(e), Json::String(_)) if e == "date" || e.contains("<resource:") || e.contains("<partition>") => {}
        (Json::Object(e), Json::Object(a)) => {
            for (k, v) in e {
                match a.get(k) {
                    Some(w) => same(v, w, &format!("{at}.{k}"), out),
                    None => out.push(format!("{at}.{k}: missing, expected {v}")),
                }
            }
            for k in a.keys().filter(|k| !e.contains_key(*k)) {
                out.push(format!("{at}.{k}: not expected, got {}", a[k]));
            }
        }
        (Json::Array(e), Json::Array(a)) if e.len() == a.len() => {
            for (i, (v, w)) in e.iter().zip(a).enumerate() {
                same(v, w, &format!("{at}[{i}]"), out);
            }
        }
        (e, a) if e == a => {}
        (e, a) => out.push(format!("{at}: expected {e}, got {a}")),
    }
}

/// The response as LocalStack's snapshots show it: JSON text members parsed when they hold
/// an object (text of an array or a scalar stays text, as the snapshots keep it).
fn as_recorded(response: &Json) -> Json {
    let parse = |v: &Json| match v {
        Json::String(s) if s.trim_start().starts_with('{') => serde_json::from_str(s).unwrap_or_else(|_| v.clone()),
        other => other.clone(),
    };
    let mut out = response.clone();
    if let Some(output) = response.get("output") {
        out["output"] = parse(output);
    }
    if let Some(Json::Object(data)) = response.get("inspectionData") {
        let data: serde_json::Map<String, Json> = data.iter().map(|(k, v)| (k.clone(), parse(v))).collect();
        out["inspectionData"] = Json::Object(data);
    }
    out
}

/// Runs one case file: `Err` with the differences.
fn run_case(path: &Path) -> Result<(), String> {
    let case: Json = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut body = case["request"].clone();
    if !body["definition"].is_string() {
        body["definition"] = Json::String(body["definition"].to_string());
    }
    if let Some(mock) = body
        .get("mock")
        .filter(|m| m.get("result").is_some_and(|r| !r.is_string()))
    {
        return Err(format!("mock result not text: {mock}"));
    }
    let answer = TestStateRequest::from_json(&body).and_then(|request| test_state(&request, &TaskRegistry::new()));
    let actual = match answer {
        Ok(response) => as_recorded(&response.to_json()),
        Err(e) => json!({"error": e.name(), "message": e.message()}),
    };
    let mut out = Vec::new();
    same(&case["expected"], &actual, "$", &mut out);
    if out.is_empty() {
        Ok(())
    } else {
        Err(out.join("\n    "))
    }
}

#[test]
fn recorded_cases_give_aws_answers() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/test_state");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/data/test_state exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 60,
        "the TestState cases are missing from {}",
        dir.display()
    );
    let failures: Vec<String> = files
        .iter()
        .filter_map(|f| {
            run_case(f)
                .err()
                .map(|e| format!("{}:\n    {e}", f.file_name().unwrap().to_string_lossy()))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

fn request(definition: &str, input: &str) -> TestStateRequest {
    TestStateRequest {
        definition: definition.into(),
        input: Some(input.into()),
        role_arn: Some("arn:aws:iam::123456789012:role/test".into()),
        inspection_level: quickstep::test_state::InspectionLevel::Debug,
        ..TestStateRequest::default()
    }
}

#[test]
fn a_task_without_mock_runs_its_registered_handler() {
    let mut tasks = TaskRegistry::new();
    tasks.register_json("arn:aws:lambda:us-east-1:123456789012:function:double", |input| {
        Ok(json!({"n": input["n"].as_i64().unwrap_or(0) * 2}))
    });
    let definition = r#"{"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:double",
        "InputPath": "$.in", "ResultSelector": {"doubled.$": "$.n"}, "ResultPath": "$.out", "Next": "Done"}"#;
    let response = test_state(&request(definition, r#"{"in": {"n": 21}}"#), &tasks).unwrap();
    assert_eq!(response.status, TestStatus::Succeeded);
    assert_eq!(
        response.output.as_deref(),
        Some(r#"{"in": {"n": 21}, "out": {"doubled": 42}}"#)
    );
    assert_eq!(response.next_state.as_deref(), Some("Done"));
    let data = response.inspection_data.unwrap();
    assert_eq!(data["afterInputPath"], json!(r#"{"n": 21}"#));
    assert_eq!(data["result"], json!(r#"{"n": 42}"#));
    assert_eq!(data["afterResultSelector"], json!(r#"{"doubled": 42}"#));
}

#[test]
fn a_task_without_handler_fails_with_a_clear_cause() {
    let definition =
        r#"{"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:none", "End": true}"#;
    let response = test_state(&request(definition, "{}"), &TaskRegistry::new()).unwrap();
    assert_eq!(response.status, TestStatus::Failed);
    assert_eq!(response.error.as_deref(), Some("States.Runtime"));
    assert!(response.cause.unwrap().contains("function:none"));
}

#[test]
fn a_handler_failure_is_caught_with_its_catch_index() {
    let mut tasks = TaskRegistry::new();
    tasks.register("arn:aws:states:::sqs:sendMessage", |_, _| {
        Err(TaskFailure::new("Boom", "it broke"))
    });
    let definition = r#"{"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "End": true,
        "Catch": [{"ErrorEquals": ["Other"], "Next": "A"}, {"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "B"}]}"#;
    let response = test_state(&request(definition, r#"{"k": 1}"#), &tasks).unwrap();
    assert_eq!(response.status, TestStatus::CaughtError);
    assert_eq!(response.next_state.as_deref(), Some("B"));
    assert_eq!(
        response.output.as_deref(),
        Some(r#"{"k": 1, "err": {"Error": "Boom", "Cause": "it broke"}}"#)
    );
    assert_eq!(
        response.inspection_data.unwrap()["errorDetails"],
        json!({"catchIndex": 1})
    );
}

#[test]
fn variables_are_read_and_assigned() {
    let definition = r#"{"Type": "Pass", "QueryLanguage": "JSONata", "Output": "{% $x + $states.input.y %}",
        "Assign": {"z": "{% $x * 10 %}"}, "End": true}"#;
    let mut req = request(definition, r#"{"y": 2}"#);
    req.variables = Some(r#"{"x": 5}"#.into());
    let response = test_state(&req, &TaskRegistry::new()).unwrap();
    assert_eq!(response.output.as_deref(), Some("7"));
    assert_eq!(
        response.inspection_data.unwrap()["variables"],
        json!(r#"{"x": 5, "z": 50}"#)
    );
}

#[test]
fn bad_requests_get_aws_errors() {
    let refused = |req: TestStateRequest| test_state(&req, &TaskRegistry::new()).unwrap_err();
    let pass = r#"{"Type": "Pass", "End": true}"#;
    assert!(matches!(
        refused(request(pass, "{not json")),
        TestStateError::InvalidExecutionInput(_)
    ));
    let e = refused(request(r#"{"Type": "Pass"}"#, "{}"));
    assert_eq!(e.name(), "InvalidDefinition", "{e}");
    let e = refused(request("not json", "{}"));
    assert_eq!(e.name(), "InvalidDefinition", "{e}");
    let mut req = request(pass, "{}");
    req.variables = Some("[1]".into());
    assert_eq!(refused(req).name(), "ValidationException");
    let e = TestStateRequest::from_json(&json!({"definition": pass, "inspectionLevel": "LOUD"})).unwrap_err();
    assert!(e.message().contains("[INFO, DEBUG, TRACE]"), "{e}");
}

#[test]
fn the_context_object_is_the_given_one_or_a_synthetic_one() {
    let definition =
        r#"{"Type": "Pass", "Parameters": {"name.$": "$$.State.Name", "exec.$": "$$.Execution.Id"}, "End": true}"#;
    let response = test_state(&request(definition, "{}"), &TaskRegistry::new()).unwrap();
    let output: Json = serde_json::from_str(response.output.as_deref().unwrap()).unwrap();
    assert_eq!(output["name"], "StateName");
    assert!(output["exec"]
        .as_str()
        .unwrap()
        .starts_with("arn:aws:states:us-east-1:123456789012:express:"));
    let mut req = request(
        r#"{"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"token.$": "$$.Task.Token"}, "End": true}"#,
        "{}",
    );
    req.context = Some(r#"{"Task": {"Token": "abc"}}"#.into());
    req.mock = Some(quickstep::test_state::MockInput {
        result: Some(r#"{"ok": true}"#.into()),
        ..Default::default()
    });
    let response = test_state(&req, &TaskRegistry::new()).unwrap();
    assert_eq!(
        response.inspection_data.unwrap()["afterParameters"],
        json!(r#"{"token": "abc"}"#)
    );
}

/// `quickstep serve` answers TestState through the SDK: a mocked Task caught, a retriable
/// one, a state of a whole definition, a Task answered by a `--resources` behaviour.
#[test]
fn the_server_answers_test_state_through_the_sdk() {
    use aws_sdk_sfn::types::{
        InspectionLevel, MockErrorOutput, MockInput, TestExecutionStatus, TestStateConfiguration,
    };
    let dir = server::scratch("test-state");
    let resources = dir.with_file_name("resources.json");
    std::fs::write(
        &resources,
        r#"{"arn:aws:lambda:us-east-1:123456789012:function:echo": "identity"}"#,
    )
    .unwrap();
    let server = server::Server::start(&dir, &["--resources", resources.to_str().unwrap()]);
    let client = server.client();
    server::runtime().block_on(async {
        let catching = r#"{"Type": "Task", "QueryLanguage": "JSONata", "Resource": "arn:aws:states:::lambda:invoke",
            "Arguments": {"FunctionName": "f", "Payload": "{% $states.input.v %}"},
            "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 2, "BackoffRate": 3, "MaxAttempts": 3}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "Output": "{% $states.errorOutput %}", "Next": "Handle"}],
            "End": true}"#;
        let mock_error = |error: &str| {
            MockInput::builder()
                .error_output(MockErrorOutput::builder().error(error).cause("why").build())
                .build()
        };
        let caught = client
            .test_state()
            .definition(catching)
            .input(r#"{"v": 1}"#)
            .inspection_level(InspectionLevel::Debug)
            .mock(mock_error("Boom"))
            .send()
            .await
            .unwrap();
        assert_eq!(caught.status(), Some(&TestExecutionStatus::CaughtError));
        assert_eq!(caught.next_state(), Some("Handle"));
        assert_eq!(caught.output(), Some(r#"{"Error": "Boom", "Cause": "why"}"#));
        let data = caught.inspection_data().unwrap();
        assert_eq!(data.after_arguments(), Some(r#"{"FunctionName": "f", "Payload": 1}"#));
        assert_eq!(data.error_details().and_then(|d| d.catch_index()), Some(0));

        let retriable = client
            .test_state()
            .definition(catching)
            .input(r#"{"v": 2}"#)
            .inspection_level(InspectionLevel::Trace)
            .mock(mock_error("Flaky"))
            .state_configuration(TestStateConfiguration::builder().retrier_retry_count(2).build())
            .send()
            .await
            .unwrap();
        assert_eq!(retriable.status(), Some(&TestExecutionStatus::Retriable));
        let details = retriable.inspection_data().and_then(|d| d.error_details()).unwrap();
        assert_eq!((details.retry_index(), details.retry_backoff_interval_seconds()), (Some(0), Some(18)));

        let machine = r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"},
            "B": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:echo", "ResultPath": "$.echoed", "End": true}}}"#;
        let ran = client
            .test_state()
            .definition(machine)
            .state_name("B")
            .role_arn("arn:aws:iam::123456789012:role/test")
            .input(r#"{"k": "v"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(ran.status(), Some(&TestExecutionStatus::Succeeded));
        assert_eq!(ran.output(), Some(r#"{"k": "v", "echoed": {"k": "v"}}"#));
        assert!(ran.inspection_data().is_none(), "INFO shows no inspection data");

        let refused = client
            .test_state()
            .definition(machine)
            .state_name("Nope")
            .send()
            .await
            .unwrap_err();
        let refused = refused.into_service_error();
        assert!(refused.is_validation_exception(), "{refused:?}");
        assert_eq!(refused.meta().message(), Some("State not found in definition"));

        let refused = client
            .test_state()
            .definition(r#"{"Type": "Parallel", "Branches": [], "End": true}"#)
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(refused.is_invalid_definition(), "{refused:?}");
    });
    drop(server);
}

#[test]
fn a_wait_does_not_wait_but_its_fields_fail_as_in_an_execution() {
    let wait = r#"{"Type": "Wait", "SecondsPath": "$.delay", "Next": "After"}"#;
    let response = test_state(&request(wait, r#"{"delay": 3600}"#), &TaskRegistry::new()).unwrap();
    assert_eq!(response.status, TestStatus::Succeeded);
    assert_eq!(response.output.as_deref(), Some(r#"{"delay": 3600}"#));
    assert_eq!(response.next_state.as_deref(), Some("After"));
    let response = test_state(&request(wait, r#"{"delay": "soon"}"#), &TaskRegistry::new()).unwrap();
    assert_eq!(response.status, TestStatus::Failed);
    assert_eq!(response.error.as_deref(), Some("States.Runtime"));
    assert!(
        response
            .cause
            .as_deref()
            .unwrap()
            .ends_with("The SecondsPath parameter cannot be parsed as a long value: $.delay == \"soon\""),
        "{:?}",
        response.cause
    );
}

#[test]
fn a_tasks_deadlines_do_not_apply_but_fail_as_in_an_execution() {
    let task =
        r#"{"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "TimeoutSecondsPath": "$.t", "End": true}"#;
    let mut req = request(task, r#"{"t": 0}"#);
    req.mock = Some(quickstep::test_state::MockInput {
        result: Some("{}".into()),
        ..Default::default()
    });
    let response = test_state(&req, &TaskRegistry::new()).unwrap();
    assert_eq!(response.status, TestStatus::Failed);
    assert!(
        response
            .cause
            .as_deref()
            .unwrap()
            .ends_with("The TimeoutSecondsPath field must be a positive integer."),
        "{:?}",
        response.cause
    );
    req.input = Some(r#"{"t": 5}"#.into());
    assert_eq!(
        test_state(&req, &TaskRegistry::new()).unwrap().status,
        TestStatus::Succeeded
    );
}

/// Requests made of random members and values (a fixed seed): each gets a response or one of
/// AWS's errors, never a panic.
#[test]
fn random_requests_get_answers_never_panics() {
    const MEMBERS: &[&str] = &[
        "definition",
        "stateName",
        "input",
        "roleArn",
        "inspectionLevel",
        "revealSecrets",
        "variables",
        "mock",
        "context",
        "stateConfiguration",
    ];
    let values: Vec<Json> = vec![
        json!(r#"{"Type": "Pass", "End": true}"#),
        json!(
            r#"{"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Arguments": {"Payload": "{% $states.input %}"}, "QueryLanguage": "JSONata", "Retry": [{"ErrorEquals": ["States.ALL"]}], "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "C"}], "End": true}"#
        ),
        json!(
            r#"{"Type": "Map", "ItemsPath": "$.items", "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}, "ToleratedFailureCount": 1, "End": true}"#
        ),
        json!(
            r#"{"Type": "Parallel", "Branches": [{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}], "End": true}"#
        ),
        json!(r#"{"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericGreaterThan": 1, "Next": "A"}]}"#),
        json!(r#"{"Type": "Wait", "TimestampPath": "$.t", "End": true}"#),
        json!(r#"{"Type": "Fail", "ErrorPath": "$.e"}"#),
        json!(r#"{"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}"#),
        json!("A"),
        json!("P"),
        json!("{"),
        json!(""),
        json!("[1, 2]"),
        json!(r#"{"n": 2, "items": [1, 2], "t": "x", "e": 1}"#),
        json!("INFO"),
        json!("TRACE"),
        json!("LOUD"),
        json!(true),
        json!(null),
        json!(-1),
        json!({"result": "[1, 2]"}),
        json!({"result": "nope"}),
        json!({"errorOutput": {"error": "E", "cause": "c"}}),
        json!({"errorOutput": 3}),
        json!({"retrierRetryCount": 2, "mapIterationFailureCount": 1}),
        json!({"mapIterationFailureCount": -1}),
        json!(r#"{"Execution": {"Id": 1}}"#),
        json!(r#"{"Task": {"Token": "t"}}"#),
        json!([1, "a"]),
    ];
    let mut seed: u64 = 0x7E57;
    let mut next = |bound: usize| {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((seed >> 33) as usize) % bound
    };
    let (mut answered, mut refused) = (0, 0);
    for _ in 0..3000 {
        let mut body = serde_json::Map::new();
        for _ in 0..next(7) {
            body.insert(
                MEMBERS[next(MEMBERS.len())].to_string(),
                values[next(values.len())].clone(),
            );
        }
        let body = Json::Object(body);
        match TestStateRequest::from_json(&body).and_then(|r| test_state(&r, &TaskRegistry::new())) {
            Ok(response) => {
                assert!(response.to_json()["status"].is_string(), "{body}");
                answered += 1;
            }
            Err(e) => {
                assert!(!e.message().is_empty(), "{body}");
                refused += 1;
            }
        }
    }
    assert!(answered > 0 && refused > 0, "{answered} answered, {refused} refused");
}
