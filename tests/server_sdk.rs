//! `quickstep serve` driven by the AWS SDK for Rust (`aws-sdk-sfn`), as users drive it: an
//! endpoint override and dummy credentials, nothing else. The server runs as its own process
//! (the built `quickstep` binary), so that a test can kill it with SIGKILL and start it again
//! on the same journal.

#[path = "common/server.rs"]
mod server;

use std::time::{Duration, Instant};

use aws_sdk_sfn::types::{ExecutionStatus, HistoryEventType, StateMachineType};
use aws_sdk_sfn::Client;
use server::{closed, create, raw, runtime, scratch, Server, ACCOUNT, ROLE};

/// Every event of an execution, by pages of `page` (checks ids are 1, 2, 3, ...).
async fn history(client: &Client, arn: &str, page: i32) -> Vec<aws_sdk_sfn::types::HistoryEvent> {
    let mut events = Vec::new();
    let mut token = None;
    loop {
        let out = client
            .get_execution_history()
            .execution_arn(arn)
            .max_results(page)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        events.extend(out.events);
        token = out.next_token;
        if token.is_none() {
            break;
        }
    }
    let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
    assert_eq!(
        ids,
        (1..=events.len() as i64).collect::<Vec<_>>(),
        "contiguous ids for {arn}"
    );
    events
}

fn types(events: &[aws_sdk_sfn::types::HistoryEvent]) -> Vec<String> {
    events.iter().map(|e| e.r#type.as_str().to_string()).collect()
}

const WAIT_CHOICE: &str = r#"{
  "StartAt": "Prepare",
  "States": {
    "Prepare": {"Type": "Pass", "Parameters": {"n.$": "$.n", "name.$": "$$.Execution.Name"}, "Next": "Pause"},
    "Pause": {"Type": "Wait", "Seconds": 1, "Next": "Big?"},
    "Big?": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericGreaterThan": 10, "Next": "Big"}], "Default": "Small"},
    "Big": {"Type": "Pass", "Result": "big", "ResultPath": "$.size", "End": true},
    "Small": {"Type": "Fail", "Error": "TooSmall", "Cause": "n is at most 10"}
  }
}"#;

#[test]
fn standard_executions_through_their_whole_life() {
    let server = Server::start(&scratch("life"), &[]);
    let client = server.client();
    runtime().block_on(async {
        let machine = create(&client, "life", WAIT_CHOICE, StateMachineType::Standard).await;
        assert_eq!(machine, format!("arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:life"));
        let started = client
            .start_execution()
            .state_machine_arn(&machine)
            .name("big")
            .input(r#"{"n": 42}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(
            started.execution_arn,
            format!("arn:aws:states:us-east-1:{ACCOUNT}:execution:life:big")
        );
        // Same name and input while it runs: the same execution.
        let again = client
            .start_execution()
            .state_machine_arn(&machine)
            .name("big")
            .input(r#"{"n": 42}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(
            (again.execution_arn.as_str(), again.start_date),
            (started.execution_arn.as_str(), started.start_date)
        );
        // A different input: ExecutionAlreadyExists.
        let error = client
            .start_execution()
            .state_machine_arn(&machine)
            .name("big")
            .input(r#"{"n": 43}"#)
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(error.is_execution_already_exists(), "{error:?}");
        let running = client
            .describe_execution()
            .execution_arn(&started.execution_arn)
            .send()
            .await
            .unwrap();
        assert_eq!(running.status, ExecutionStatus::Running);
        assert!(running.stop_date.is_none() && running.output.is_none());

        let small = client
            .start_execution()
            .state_machine_arn(&machine)
            .name("small")
            .input(r#"{"n": 1}"#)
            .send()
            .await
            .unwrap();
        let done = closed(&client, &started.execution_arn).await;
        assert_eq!(done.status, ExecutionStatus::Succeeded);
        assert_eq!(done.output.as_deref(), Some(r#"{"n":42,"name":"big","size":"big"}"#));
        let failed = closed(&client, &small.execution_arn).await;
        assert_eq!(failed.status, ExecutionStatus::Failed);
        assert_eq!(
            (failed.error.as_deref(), failed.cause.as_deref()),
            (Some("TooSmall"), Some("n is at most 10"))
        );
        // Closed: the same name and input is now ExecutionAlreadyExists.
        let error = client
            .start_execution()
            .state_machine_arn(&machine)
            .name("big")
            .input(r#"{"n": 42}"#)
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(error.is_execution_already_exists(), "{error:?}");

        let events = history(&client, &started.execution_arn, 2).await;
        assert_eq!(
            types(&events),
            [
                "ExecutionStarted",
                "PassStateEntered",
                "PassStateExited",
                "WaitStateEntered",
                "WaitStateExited",
                "ChoiceStateEntered",
                "ChoiceStateExited",
                "PassStateEntered",
                "PassStateExited",
                "ExecutionSucceeded"
            ]
        );
        let waited = events[4].timestamp.as_secs_f64() - events[3].timestamp.as_secs_f64();
        assert!(waited >= 0.99, "the Wait took {waited} s");
        let reversed = client
            .get_execution_history()
            .execution_arn(&started.execution_arn)
            .reverse_order(true)
            .include_execution_data(false)
            .send()
            .await
            .unwrap();
        assert_eq!(reversed.events.first().map(|e| e.id), Some(10));
        assert_eq!(reversed.events[0].r#type, HistoryEventType::ExecutionSucceeded);

        // Listing: newest first, by status, in pages.
        let all = client
            .list_executions()
            .state_machine_arn(&machine)
            .send()
            .await
            .unwrap();
        let names: Vec<&str> = all.executions.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["small", "big"]);
        let succeeded = client
            .list_executions()
            .state_machine_arn(&machine)
            .status_filter(ExecutionStatus::Succeeded)
            .send()
            .await
            .unwrap();
        assert_eq!(succeeded.executions.len(), 1);
        let first = client
            .list_executions()
            .state_machine_arn(&machine)
            .max_results(1)
            .send()
            .await
            .unwrap();
        assert_eq!(first.executions[0].name, "small");
        let second = client
            .list_executions()
            .state_machine_arn(&machine)
            .max_results(1)
            .next_token(first.next_token.unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(second.executions[0].name, "big");
        assert!(second.next_token.is_none());

        let for_execution = client
            .describe_state_machine_for_execution()
            .execution_arn(&started.execution_arn)
            .send()
            .await
            .unwrap();
        assert_eq!(for_execution.definition, WAIT_CHOICE);
    });
}

#[test]
fn stop_aborts_a_waiting_execution() {
    let server = Server::start(&scratch("stop"), &[]);
    let client = server.client();
    runtime().block_on(async {
        let definition = r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": true}}}"#;
        let machine = create(&client, "sleeper", definition, StateMachineType::Standard).await;
        let started = client
            .start_execution()
            .state_machine_arn(&machine)
            .send()
            .await
            .unwrap();
        let stopped = client
            .stop_execution()
            .execution_arn(&started.execution_arn)
            .error("Manual")
            .cause("probe")
            .send()
            .await
            .unwrap();
        let described = client
            .describe_execution()
            .execution_arn(&started.execution_arn)
            .send()
            .await
            .unwrap();
        assert_eq!(described.status, ExecutionStatus::Aborted);
        assert_eq!(
            (described.error.as_deref(), described.cause.as_deref()),
            (Some("Manual"), Some("probe"))
        );
        assert_eq!(described.stop_date, Some(stopped.stop_date));
        let events = history(&client, &started.execution_arn, 100).await;
        assert_eq!(types(&events).last().map(String::as_str), Some("ExecutionAborted"));
    });
}

const ACTIVITY_AND_CALLBACK: &str = r#"{
  "StartAt": "Work",
  "States": {
    "Work": {"Type": "Task", "Resource": "arn:aws:states:us-east-1:123456789012:activity:worker", "HeartbeatSeconds": 30, "Next": "Callback"},
    "Callback": {
      "Type": "Task",
      "Resource": "arn:aws:states:::ecs:runTask.waitForTaskToken",
      "Parameters": {"TaskDefinition": "worker", "MessageBody": {"token.$": "$$.Task.Token"}},
      "Catch": [{"ErrorEquals": ["Rejected"], "ResultPath": "$.rejection", "Next": "Done"}],
      "Next": "Done"
    },
    "Done": {"Type": "Succeed"}
  }
}"#;

#[test]
fn activities_and_callbacks_complete_through_task_tokens() {
    let server = Server::start(&scratch("tasks"), &[]);
    let client = server.client();
    runtime().block_on(async {
        let activity = client
            .create_activity()
            .name("worker")
            .send()
            .await
            .unwrap()
            .activity_arn;
        assert_eq!(activity, format!("arn:aws:states:us-east-1:{ACCOUNT}:activity:worker"));
        let machine = create(&client, "tasks", ACTIVITY_AND_CALLBACK, StateMachineType::Standard).await;
        let started = client
            .start_execution()
            .state_machine_arn(&machine)
            .input(r#"{"job": 7}"#)
            .send()
            .await
            .unwrap();
        let task = client
            .get_activity_task()
            .activity_arn(&activity)
            .worker_name("w-1")
            .send()
            .await
            .unwrap();
        assert_eq!(task.input.as_deref(), Some(r#"{"job":7}"#));
        let token = task.task_token.expect("a task");
        client.send_task_heartbeat().task_token(&token).send().await.unwrap();
        client
            .send_task_success()
            .task_token(&token)
            .output(r#"{"worked": true}"#)
            .send()
            .await
            .unwrap();
        // The same token again: its task is over.
        let error = client
            .send_task_success()
            .task_token(&token)
            .output("{}")
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(error.is_task_timed_out(), "{error:?}");
        // No more work: the poll ends without a task.
        let empty = client.get_activity_task().activity_arn(&activity).send().await.unwrap();
        assert!(empty.task_token.is_none());

        // The callback's token is in its TaskScheduled parameters.
        let deadline = Instant::now() + Duration::from_secs(10);
        let callback_token = loop {
            let events = history(&client, &started.execution_arn, 1000).await;
            let scheduled = events.iter().rev().find_map(|e| e.task_scheduled_event_details.clone());
            if let Some(details) = scheduled {
                let parameters: serde_json::Value = serde_json::from_str(&details.parameters).unwrap();
                break parameters["MessageBody"]["token"].as_str().unwrap().to_string();
            }
            assert!(Instant::now() < deadline);
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let error = client
            .send_task_success()
            .task_token("not-a-token")
            .output("{}")
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(error.is_invalid_token(), "{error:?}");
        let error = client
            .send_task_success()
            .task_token(&callback_token)
            .output("not json")
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(error.is_invalid_output(), "{error:?}");
        client
            .send_task_failure()
            .task_token(&callback_token)
            .error("Rejected")
            .cause("no thanks")
            .send()
            .await
            .unwrap();
        let done = closed(&client, &started.execution_arn).await;
        assert_eq!(done.status, ExecutionStatus::Succeeded);
        let output: serde_json::Value = serde_json::from_str(done.output.as_deref().unwrap()).unwrap();
        assert_eq!(output["worked"], true);
        assert_eq!(output["rejection"]["Error"], "Rejected");
        assert_eq!(output["rejection"]["Cause"], "no thanks");
    });
}

#[test]
fn express_executions_run_on_the_runtime() {
    let server = Server::start(&scratch("express"), &[]);
    let client = server.client();
    runtime().block_on(async {
        let definition = r#"{"StartAt": "Add", "States": {"Add": {"Type": "Pass", "Parameters": {"sum.$": "States.MathAdd($.a, $.b)"}, "End": true}}}"#;
        let machine = create(&client, "adder", definition, StateMachineType::Express).await;
        let out = client
            .start_sync_execution()
            .state_machine_arn(&machine)
            .name("one")
            .input(r#"{"a": 2, "b": 3}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(out.status, aws_sdk_sfn::types::SyncExecutionStatus::Succeeded);
        assert_eq!(out.output.as_deref(), Some(r#"{"sum":5}"#));
        assert!(out.execution_arn.starts_with(&format!("arn:aws:states:us-east-1:{ACCOUNT}:express:adder:one:")));
        // The context object names the execution as the response does.
        let namer = r#"{"StartAt": "Who", "States": {"Who": {"Type": "Pass", "Parameters": {"name.$": "$$.Execution.Name", "id.$": "$$.Execution.Id"}, "End": true}}}"#;
        let namer = create(&client, "namer", namer, StateMachineType::Express).await;
        let out = client
            .start_sync_execution()
            .state_machine_arn(&namer)
            .name("me")
            .send()
            .await
            .unwrap();
        let seen: serde_json::Value = serde_json::from_str(out.output.as_deref().unwrap()).unwrap();
        assert_eq!(seen, serde_json::json!({"name": "me", "id": out.execution_arn}));
        let started = client.start_execution().state_machine_arn(&machine).send().await.unwrap();
        assert!(started.execution_arn.contains(":express:adder:"));
        let error = client
            .describe_execution()
            .execution_arn(&started.execution_arn)
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(error.is_invalid_arn(), "{error:?}");
        assert_eq!(error.meta().message(), Some("Invalid Arn: 'Resource type not valid in this context: express'"));
        let error = client
            .list_executions()
            .state_machine_arn(&machine)
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(error.is_state_machine_type_not_supported(), "{error:?}");
        // StartSyncExecution of a Standard machine is refused.
        let standard = create(&client, "std", definition, StateMachineType::Standard).await;
        let error = client
            .start_sync_execution()
            .state_machine_arn(&standard)
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(error.is_state_machine_type_not_supported(), "{error:?}");
    });
}

#[test]
fn bad_requests_get_aws_errors() {
    let server = Server::start(&scratch("errors"), &[]);
    let client = server.client();
    runtime().block_on(async {
        let error = client
            .create_state_machine()
            .name("bad")
            .definition(r#"{"StartAt": "Nowhere", "States": {}}"#)
            .role_arn(ROLE)
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(error.is_invalid_definition(), "{error:?}");
        assert!(error.meta().message().unwrap().starts_with("Invalid State Machine Definition: '"));
        let error = client
            .create_state_machine()
            .name("has space")
            .definition(WAIT_CHOICE)
            .role_arn(ROLE)
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(error.is_invalid_name(), "{error:?}");
        let machine = create(&client, "ok", WAIT_CHOICE, StateMachineType::Standard).await;
        // Created again with the same definition: the same machine; another one: refused.
        assert_eq!(create(&client, "ok", WAIT_CHOICE, StateMachineType::Standard).await, machine);
        let error = client
            .create_state_machine()
            .name("ok")
            .definition(ACTIVITY_AND_CALLBACK)
            .role_arn(ROLE)
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(error.is_state_machine_already_exists(), "{error:?}");
        let error = client
            .describe_state_machine()
            .state_machine_arn("nonsense")
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(error.is_invalid_arn(), "{error:?}");
        let missing = format!("arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:missing");
        let error = client
            .start_execution()
            .state_machine_arn(&missing)
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(error.is_state_machine_does_not_exist(), "{error:?}");
        let error = client
            .start_execution()
            .state_machine_arn(&machine)
            .input("")
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(error.is_invalid_execution_input(), "{error:?}");
        let error = client
            .start_execution()
            .state_machine_arn(&machine)
            .input("x".repeat(262_145))
            .send()
            .await
            .unwrap_err();
        assert_eq!(error.into_service_error().meta().code(), Some("ValidationException"));
        let error = client
            .describe_execution()
            .execution_arn(format!("arn:aws:states:us-east-1:{ACCOUNT}:execution:ok:nope"))
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(error.is_execution_does_not_exist(), "{error:?}");
        let error = client
            .list_executions()
            .state_machine_arn(&machine)
            .max_results(1001)
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert_eq!(
            error.meta().message(),
            Some("1 validation error detected: Value '1001' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000")
        );
        // Deletes are forgiving.
        client.delete_state_machine().state_machine_arn(&missing).send().await.unwrap();
        client.delete_state_machine().state_machine_arn(&machine).send().await.unwrap();
        let listed = client.list_state_machines().send().await.unwrap();
        assert!(listed.state_machines.is_empty());
    });
}

const PARKED: &str = r#"{
  "StartAt": "Nap",
  "States": {
    "Nap": {"Type": "Wait", "Seconds": 2, "Next": "Work"},
    "Work": {"Type": "Task", "Resource": "arn:aws:states:us-east-1:123456789012:activity:crash", "End": true}
  }
}"#;

#[test]
fn executions_survive_sigkill_of_the_server() {
    let db = scratch("crash");
    let server = Server::start(&db, &[]);
    let client = server.client();
    let rt = runtime();
    let (machine, activity, arns) = rt.block_on(async {
        let activity = client
            .create_activity()
            .name("crash")
            .send()
            .await
            .unwrap()
            .activity_arn;
        let machine = create(&client, "crash", PARKED, StateMachineType::Standard).await;
        let mut arns = Vec::new();
        for i in 0..40 {
            let started = client
                .start_execution()
                .state_machine_arn(&machine)
                .name(format!("run-{i}"))
                .input(format!(r#"{{"i": {i}}}"#))
                .send()
                .await
                .unwrap();
            arns.push(started.execution_arn);
        }
        (machine, activity, arns)
    });
    // Every start was acknowledged; the Waits have not ended.
    server.kill();
    std::thread::sleep(Duration::from_millis(2500));
    let server = Server::start(&db, &[]);
    let client = server.client();
    rt.block_on(async {
        // The Waits were due while the server was down: they end at once, and the activity
        // tasks they schedule go to the worker.
        let mut done = 0;
        let deadline = Instant::now() + Duration::from_secs(30);
        while done < arns.len() {
            assert!(Instant::now() < deadline, "only {done} tasks were handed out");
            let task = client.get_activity_task().activity_arn(&activity).send().await.unwrap();
            let Some(token) = task.task_token else { continue };
            let input: serde_json::Value = serde_json::from_str(task.input.as_deref().unwrap()).unwrap();
            client
                .send_task_success()
                .task_token(token)
                .output(format!(r#"{{"did": {}}}"#, input["i"]))
                .send()
                .await
                .unwrap();
            done += 1;
        }
        for (i, arn) in arns.iter().enumerate() {
            let described = closed(&client, arn).await;
            assert_eq!(described.status, ExecutionStatus::Succeeded, "{arn}");
            assert_eq!(described.output.unwrap(), format!(r#"{{"did":{i}}}"#));
            let events = history(&client, arn, 1000).await;
            assert_eq!(
                types(&events),
                [
                    "ExecutionStarted",
                    "WaitStateEntered",
                    "WaitStateExited",
                    "TaskStateEntered",
                    "ActivityScheduled",
                    "ActivityStarted",
                    "ActivitySucceeded",
                    "TaskStateExited",
                    "ExecutionSucceeded"
                ]
            );
        }
        let listed = client
            .list_executions()
            .state_machine_arn(&machine)
            .send()
            .await
            .unwrap();
        assert_eq!(listed.executions.len(), arns.len());
    });
}

#[test]
fn raw_requests_get_the_protocol_errors() {
    let server = Server::start(&scratch("raw"), &[]);
    let (status, body) = raw(server.port, Some("AWSStepFunctions.ListStateMachines"), "");
    assert_eq!((status, body), (200, serde_json::json!({"stateMachines": []})));
    let (status, body) = raw(server.port, Some("AWSStepFunctions.ListStateMachines"), "{not json");
    assert_eq!((status, body["__type"].as_str()), (400, Some("SerializationException")));
    let (status, body) = raw(server.port, Some("AWSStepFunctions.Frobnicate"), "{}");
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("UnknownOperationException"))
    );
    let (status, body) = raw(server.port, None, "{}");
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("UnknownOperationException"))
    );
    let (status, body) = raw(
        server.port,
        Some("AWSStepFunctions.DescribeStateMachine"),
        r#"{"stateMachineArn": 7}"#,
    );
    assert_eq!((status, body["__type"].as_str()), (400, Some("SerializationException")));
    let (status, body) = raw(server.port, Some("AWSStepFunctions.DescribeStateMachine"), "{}");
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "com.amazon.coral.validate#ValidationException");
    assert_eq!(
        body["message"],
        "1 validation error detected: Value at 'stateMachineArn' failed to satisfy constraint: Member must not be null"
    );
    let (status, body) = raw(
        server.port,
        Some("AWSStepFunctions.CreateActivity"),
        r#"{"name": "a b"}"#,
    );
    assert_eq!((status, body["message"].as_str()), (400, Some("Invalid Name: 'a b'")));
}

#[test]
fn an_activity_task_taken_before_a_crash_is_handed_out_again() {
    let db = scratch("taken");
    let definition = r#"{"StartAt": "Work", "States": {"Work": {"Type": "Task", "Resource": "arn:aws:states:us-east-1:123456789012:activity:lost", "End": true}}}"#;
    let rt = runtime();
    let server = Server::start(&db, &[]);
    let client = server.client();
    let (activity, execution, token) = rt.block_on(async {
        let activity = client.create_activity().name("lost").send().await.unwrap().activity_arn;
        let machine = create(&client, "lost", definition, StateMachineType::Standard).await;
        let execution = client
            .start_execution()
            .state_machine_arn(&machine)
            .input(r#"{"job": 1}"#)
            .send()
            .await
            .unwrap()
            .execution_arn;
        // The worker takes the task; say its answer never reached it before the crash.
        let task = client.get_activity_task().activity_arn(&activity).send().await.unwrap();
        (activity, execution, task.task_token.expect("a task"))
    });
    server.kill();
    let server = Server::start(&db, &[]);
    let client = server.client();
    rt.block_on(async {
        let again = client.get_activity_task().activity_arn(&activity).send().await.unwrap();
        assert_eq!(again.task_token.as_deref(), Some(token.as_str()));
        assert_eq!(again.input.as_deref(), Some(r#"{"job":1}"#));
        client
            .send_task_success()
            .task_token(&token)
            .output("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(closed(&client, &execution).await.status, ExecutionStatus::Succeeded);
        let events = history(&client, &execution, 100).await;
        assert_eq!(
            types(&events),
            [
                "ExecutionStarted",
                "TaskStateEntered",
                "ActivityScheduled",
                "ActivityStarted",
                "ActivitySucceeded",
                "TaskStateExited",
                "ExecutionSucceeded"
            ]
        );
    });
}
