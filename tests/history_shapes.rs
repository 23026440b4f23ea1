//! Whole execution histories, exactly as AWS's `GetExecutionHistory` gives them: event ids,
//! `previousEventId`s and details members. The expected shapes follow histories AWS recorded
//! (LocalStack's snapshot files under `tests/aws/services/stepfunctions/v2/`:
//! `test_sfn_api`, `scenarios/test_base_scenarios`, `activities/test_activities`,
//! `callback/test_callback`, `assign/test_assign_base`), on definitions of our own in the
//! same shapes. Timestamps are checked to be numbers and then left out.

use std::sync::{Arc, Mutex};

use quickstep::exec::Step;
use quickstep::history::JsonHistory;
use quickstep::value::{parse, Arena};
use quickstep::{ExecutionInfo, Machine, Status, TaskRegistry, TaskToken, TaskTokenError, VirtualClock};
use serde_json::{json, Value as Json};

/// 2024-01-01T00:00:00Z.
const T0: i64 = 1_704_067_200_000;

const ROLE: &str = "arn:aws:iam::123456789012:role/quickstep";
const ACTIVITY: &str = "arn:aws:states:us-east-1:123456789012:activity:work";
const FUNCTION: &str = "arn:aws:lambda:us-east-1:123456789012:function:f";

/// One expected event: `details` is `{"<member>": {...}}`, or `null` for none.
fn e(id: u64, previous: u64, event_type: &str, details: Json) -> Json {
    let mut event = json!({"id": id, "previousEventId": previous, "type": event_type});
    if let Json::Object(details) = details {
        event.as_object_mut().unwrap().extend(details);
    }
    event
}

fn not_truncated() -> Json {
    json!({"truncated": false})
}

fn started(input: &str) -> Json {
    json!({"executionStartedEventDetails": {"input": input, "inputDetails": not_truncated(), "roleArn": ROLE}})
}

fn entered(name: &str, input: &str) -> Json {
    json!({"stateEnteredEventDetails": {"name": name, "input": input, "inputDetails": not_truncated()}})
}

fn exited(name: &str, output: &str) -> Json {
    json!({"stateExitedEventDetails": {"name": name, "output": output, "outputDetails": not_truncated()}})
}

fn succeeded(output: &str) -> Json {
    json!({"executionSucceededEventDetails": {"output": output, "outputDetails": not_truncated()}})
}

fn iteration(member: &str, name: &str, index: u32) -> Json {
    json!({ member: {"name": name, "index": index} })
}

/// The events without their timestamps (checked to be epoch seconds, in order).
fn strip(events: &[Json]) -> Vec<Json> {
    let mut last = 0.0;
    events
        .iter()
        .map(|event| {
            let mut event = event.clone();
            let timestamp = event.as_object_mut().unwrap().remove("timestamp").unwrap();
            let seconds = timestamp.as_f64().expect("a timestamp in epoch seconds");
            assert!(seconds >= T0 as f64 / 1000.0 && seconds >= last, "{event}");
            last = seconds;
            event
        })
        .collect()
}

/// Runs `definition` on `input` to its end on a virtual clock, recording its history.
fn run(definition: &str, tasks: TaskRegistry, input: &str, include_data: bool) -> Vec<Json> {
    let machine = Machine::new(definition, tasks).unwrap_or_else(|e| panic!("{e}"));
    let mut history = JsonHistory {
        include_data,
        ..JsonHistory::default()
    };
    machine
        .run_json_recording(
            input,
            &ExecutionInfo::default(),
            &mut VirtualClock::starting_at(T0),
            &mut history,
        )
        .unwrap();
    strip(&history.events)
}

fn assert_history(actual: &[Json], expected: &[Json]) {
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert_eq!(a, e, "event {} differs\nactual:   {a}\nexpected: {e}", i + 1);
    }
    assert_eq!(actual.len(), expected.len(), "{actual:#?}");
}

/// A registry from `--resources`-style behaviours.
fn behaviours(map: Json) -> TaskRegistry {
    TaskRegistry::from_behaviours(&map).unwrap()
}

// ---- states without tasks ----

#[test]
fn pass_chain() {
    // test_sfn_api: test_start_execution
    let events = run(
        r#"{"StartAt":"A","States":{
            "A":{"Type":"Pass","Result":{"Arg1":"argument1"},"Next":"B"},
            "B":{"Type":"Pass","End":true}}}"#,
        TaskRegistry::new(),
        "{}",
        true,
    );
    let out = r#"{"Arg1":"argument1"}"#;
    assert_history(
        &events,
        &[
            e(1, 0, "ExecutionStarted", started("{}")),
            e(2, 0, "PassStateEntered", entered("A", "{}")),
            e(3, 2, "PassStateExited", exited("A", out)),
            e(4, 3, "PassStateEntered", entered("B", out)),
            e(5, 4, "PassStateExited", exited("B", out)),
            e(6, 5, "ExecutionSucceeded", succeeded(out)),
        ],
    );
}

#[test]
fn without_execution_data() {
    // includeExecutionData: false keeps names, resources and errors, drops the payloads.
    let events = run(
        r#"{"StartAt":"A","States":{
            "A":{"Type":"Pass","Next":"T"},
            "T":{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage","End":true}}}"#,
        behaviours(json!({"arn:aws:states:::sqs:sendMessage": "identity"})),
        r#"{"x":1}"#,
        false,
    );
    let task = json!({"resourceType": "sqs", "resource": "sendMessage"});
    assert_history(
        &events,
        &[
            e(
                1,
                0,
                "ExecutionStarted",
                json!({"executionStartedEventDetails": {"roleArn": ROLE}}),
            ),
            e(
                2,
                0,
                "PassStateEntered",
                json!({"stateEnteredEventDetails": {"name": "A"}}),
            ),
            e(
                3,
                2,
                "PassStateExited",
                json!({"stateExitedEventDetails": {"name": "A"}}),
            ),
            e(
                4,
                3,
                "TaskStateEntered",
                json!({"stateEnteredEventDetails": {"name": "T"}}),
            ),
            e(
                5,
                4,
                "TaskScheduled",
                json!({"taskScheduledEventDetails": {"resourceType": "sqs", "resource": "sendMessage", "region": "us-east-1"}}),
            ),
            e(6, 5, "TaskStarted", json!({ "taskStartedEventDetails": task })),
            e(7, 6, "TaskSucceeded", json!({ "taskSucceededEventDetails": task })),
            e(
                8,
                7,
                "TaskStateExited",
                json!({"stateExitedEventDetails": {"name": "T"}}),
            ),
            e(
                9,
                8,
                "ExecutionSucceeded",
                json!({"executionSucceededEventDetails": {}}),
            ),
        ],
    );
}

#[test]
fn choice_wait_and_succeed() {
    // test_base_scenarios: test_wait_timestamp, test_choice_aws_docs_scenario
    let events = run(
        r#"{"StartAt":"C","States":{
            "C":{"Type":"Choice","Choices":[{"Variable":"$.go","BooleanEquals":true,"Next":"W"}],"Default":"S"},
            "W":{"Type":"Wait","Seconds":5,"Next":"S"},
            "S":{"Type":"Succeed"}}}"#,
        TaskRegistry::new(),
        r#"{"go":true}"#,
        true,
    );
    let io = r#"{"go":true}"#;
    assert_history(
        &events,
        &[
            e(1, 0, "ExecutionStarted", started(io)),
            e(2, 0, "ChoiceStateEntered", entered("C", io)),
            e(3, 2, "ChoiceStateExited", exited("C", io)),
            e(4, 3, "WaitStateEntered", entered("W", io)),
            e(5, 4, "WaitStateExited", exited("W", io)),
            e(6, 5, "SucceedStateEntered", entered("S", io)),
            e(7, 6, "SucceedStateExited", exited("S", io)),
            e(8, 7, "ExecutionSucceeded", succeeded(io)),
        ],
    );
}

#[test]
fn fail_state() {
    // test_logs / test_base: raise_failure
    let events = run(
        r#"{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"SomeFailure","Cause":"It failed."}}}"#,
        TaskRegistry::new(),
        "{}",
        true,
    );
    assert_history(
        &events,
        &[
            e(1, 0, "ExecutionStarted", started("{}")),
            e(2, 0, "FailStateEntered", entered("F", "{}")),
            e(
                3,
                2,
                "ExecutionFailed",
                json!({"executionFailedEventDetails": {"error": "SomeFailure", "cause": "It failed."}}),
            ),
        ],
    );
}

#[test]
fn assign_reports_the_assigned_variables() {
    // test_assign_base: assignedVariables holds each value's JSON text
    let events = run(
        r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Assign":{"x":42,"items":[1,2,3],"s":"t"},"End":true}}}"#,
        TaskRegistry::new(),
        "{}",
        true,
    );
    assert_eq!(
        events[2],
        e(
            3,
            2,
            "PassStateExited",
            json!({"stateExitedEventDetails": {
                "name": "A", "output": "{}", "outputDetails": not_truncated(),
                "assignedVariables": {"x": "42", "items": "[1,2,3]", "s": "\"t\""},
                "assignedVariablesDetails": not_truncated()
            }})
        )
    );
}

#[test]
fn stripping_the_data_of_events_gives_the_events_without_data() {
    // What a journal that keeps events with their data serves for includeExecutionData: false.
    let definition = r#"{"StartAt":"A","States":{
        "A":{"Type":"Pass","Assign":{"x":42},"Next":"T"},
        "T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"f","Payload.$":"$"},"End":true}}}"#;
    let tasks = || behaviours(json!({"f": "identity"}));
    let mut with_data = run(definition, tasks(), r#"{"a":1}"#, true);
    with_data.iter_mut().for_each(quickstep::history::strip_execution_data);
    assert_eq!(with_data, run(definition, tasks(), r#"{"a":1}"#, false));
}

// ---- tasks ----

#[test]
fn service_task_succeeds() {
    // test_sqs_task_service: test_send_message
    let events = run(
        r#"{"StartAt":"Send","States":{"Send":{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage",
            "Parameters":{"QueueUrl.$":"$.url","MessageBody":"hi"},"TimeoutSeconds":30,"End":true}}}"#,
        behaviours(json!({"arn:aws:states:::sqs:sendMessage": {"Return": {"MessageId": "m-1"}}})),
        r#"{"url":"q"}"#,
        true,
    );
    let task = json!({"resourceType": "sqs", "resource": "sendMessage"});
    let out = r#"{"MessageId":"m-1"}"#;
    assert_history(
        &events,
        &[
            e(1, 0, "ExecutionStarted", started(r#"{"url":"q"}"#)),
            e(2, 0, "TaskStateEntered", entered("Send", r#"{"url":"q"}"#)),
            e(
                3,
                2,
                "TaskScheduled",
                json!({"taskScheduledEventDetails": {
                    "resourceType": "sqs", "resource": "sendMessage", "region": "us-east-1",
                    "parameters": r#"{"QueueUrl":"q","MessageBody":"hi"}"#, "timeoutInSeconds": 30
                }}),
            ),
            e(4, 3, "TaskStarted", json!({ "taskStartedEventDetails": task })),
            e(
                5,
                4,
                "TaskSucceeded",
                json!({"taskSucceededEventDetails": {
                    "resourceType": "sqs", "resource": "sendMessage", "output": out, "outputDetails": not_truncated()
                }}),
            ),
            e(6, 5, "TaskStateExited", exited("Send", out)),
            e(7, 6, "ExecutionSucceeded", succeeded(out)),
        ],
    );
}

#[test]
fn service_task_retried_then_failing() {
    // test_base_scenarios: test_lambda_service_invoke_with_retry_extended_input (TaskFailed,
    // then the retry's TaskScheduled follows it), test_sqs_failure_in_wait_for_task_token
    let events = run(
        r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:s3:getObject",
            "Retry":[{"ErrorEquals":["Boom"],"MaxAttempts":1,"IntervalSeconds":1}],"End":true}}}"#,
        behaviours(json!({"arn:aws:states:::aws-sdk:s3:getObject": {"Throw": {"Error": "Boom", "Cause": "bad"}}})),
        "{}",
        true,
    );
    let scheduled = json!({"taskScheduledEventDetails": {
        "resourceType": "aws-sdk:s3", "resource": "getObject", "region": "us-east-1", "parameters": "{}"
    }});
    let task_started = json!({"taskStartedEventDetails": {"resourceType": "aws-sdk:s3", "resource": "getObject"}});
    let failed = json!({"taskFailedEventDetails": {
        "resourceType": "aws-sdk:s3", "resource": "getObject", "error": "Boom", "cause": "bad"
    }});
    assert_history(
        &events,
        &[
            e(1, 0, "ExecutionStarted", started("{}")),
            e(2, 0, "TaskStateEntered", entered("T", "{}")),
            e(3, 2, "TaskScheduled", scheduled.clone()),
            e(4, 3, "TaskStarted", task_started.clone()),
            e(5, 4, "TaskFailed", failed.clone()),
            e(6, 5, "TaskScheduled", scheduled),
            e(7, 6, "TaskStarted", task_started),
            e(8, 7, "TaskFailed", failed),
            e(
                9,
                8,
                "ExecutionFailed",
                json!({"executionFailedEventDetails": {"error": "Boom", "cause": "bad"}}),
            ),
        ],
    );
}

#[test]
fn lambda_function_retried_then_caught() {
    // test_base_scenarios: test_lambda_invoke_with_retry_base
    let definition = format!(
        r#"{{"StartAt":"Invoke","States":{{
            "Invoke":{{"Type":"Task","Resource":"{FUNCTION}",
                "Retry":[{{"ErrorEquals":["Exception"],"MaxAttempts":1,"IntervalSeconds":2}}],
                "Catch":[{{"ErrorEquals":["States.ALL"],"Next":"Handle"}}],"End":true}},
            "Handle":{{"Type":"Pass","End":true}}}}}}"#
    );
    let events = run(
        &definition,
        behaviours(json!({ FUNCTION: {"Throw": {"Error": "Exception", "Cause": "boom"}} })),
        r#"{"v":1}"#,
        true,
    );
    let scheduled = json!({"lambdaFunctionScheduledEventDetails": {
        "resource": FUNCTION, "input": r#"{"v":1}"#, "inputDetails": not_truncated()
    }});
    let failed = json!({"lambdaFunctionFailedEventDetails": {"error": "Exception", "cause": "boom"}});
    let caught = r#"{"Error":"Exception","Cause":"boom"}"#;
    assert_history(
        &events,
        &[
            e(1, 0, "ExecutionStarted", started(r#"{"v":1}"#)),
            e(2, 0, "TaskStateEntered", entered("Invoke", r#"{"v":1}"#)),
            e(3, 2, "LambdaFunctionScheduled", scheduled.clone()),
            e(4, 3, "LambdaFunctionStarted", Json::Null),
            e(5, 4, "LambdaFunctionFailed", failed.clone()),
            e(6, 5, "LambdaFunctionScheduled", scheduled),
            e(7, 6, "LambdaFunctionStarted", Json::Null),
            e(8, 7, "LambdaFunctionFailed", failed),
            e(9, 8, "TaskStateExited", exited("Invoke", caught)),
            e(10, 9, "PassStateEntered", entered("Handle", caught)),
            e(11, 10, "PassStateExited", exited("Handle", caught)),
            e(12, 11, "ExecutionSucceeded", succeeded(caught)),
        ],
    );
}

// ---- Parallel and Map ----

#[test]
fn parallel_branches_follow_parallel_state_started() {
    // test_base_scenarios: test_parallel_state (branch events follow ParallelStateStarted;
    // ParallelStateExited follows the last branch event)
    let events = run(
        r#"{"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[
            {"StartAt":"B1","States":{"B1":{"Type":"Pass","End":true}}},
            {"StartAt":"B2","States":{"B2":{"Type":"Wait","Seconds":1,"Next":"B3"},"B3":{"Type":"Pass","End":true}}}]}}}"#,
        TaskRegistry::new(),
        "[1]",
        true,
    );
    assert_history(
        &events,
        &[
            e(1, 0, "ExecutionStarted", started("[1]")),
            e(2, 0, "ParallelStateEntered", entered("P", "[1]")),
            e(3, 2, "ParallelStateStarted", Json::Null),
            e(4, 3, "PassStateEntered", entered("B1", "[1]")),
            e(5, 4, "PassStateExited", exited("B1", "[1]")),
            e(6, 3, "WaitStateEntered", entered("B2", "[1]")),
            e(7, 6, "WaitStateExited", exited("B2", "[1]")),
            e(8, 7, "PassStateEntered", entered("B3", "[1]")),
            e(9, 8, "PassStateExited", exited("B3", "[1]")),
            e(10, 9, "ParallelStateSucceeded", Json::Null),
            e(11, 9, "ParallelStateExited", exited("P", "[[1],[1]]")),
            e(12, 11, "ExecutionSucceeded", succeeded("[[1],[1]]")),
        ],
    );
}

#[test]
fn parallel_retried_then_caught() {
    // test_base_scenarios: test_parallel_state_retry (no ParallelStateFailed before a retry;
    // the new ParallelStateStarted follows the failing event) and test_parallel_state_catch
    let events = run(
        r#"{"StartAt":"P","States":{
            "P":{"Type":"Parallel","Next":"Final",
                "Retry":[{"ErrorEquals":["FailureType"],"MaxAttempts":1,"IntervalSeconds":1}],
                "Catch":[{"ErrorEquals":["States.ALL"],"Next":"Final"}],
                "Branches":[{"StartAt":"B1","States":{"B1":{"Type":"Fail","Error":"FailureType","Cause":"Cause description"}}}]},
            "Final":{"Type":"Pass","End":true}}}"#,
        TaskRegistry::new(),
        "{}",
        true,
    );
    let caught = r#"{"Error":"FailureType","Cause":"Cause description"}"#;
    assert_history(
        &events,
        &[
            e(1, 0, "ExecutionStarted", started("{}")),
            e(2, 0, "ParallelStateEntered", entered("P", "{}")),
            e(3, 2, "ParallelStateStarted", Json::Null),
            e(4, 3, "FailStateEntered", entered("B1", "{}")),
            e(5, 4, "ParallelStateStarted", Json::Null),
            e(6, 5, "FailStateEntered", entered("B1", "{}")),
            e(7, 6, "ParallelStateFailed", Json::Null),
            e(8, 7, "ParallelStateExited", exited("P", caught)),
            e(9, 8, "PassStateEntered", entered("Final", caught)),
            e(10, 9, "PassStateExited", exited("Final", caught)),
            e(11, 10, "ExecutionSucceeded", succeeded(caught)),
        ],
    );
}

#[test]
fn inline_map() {
    // test_base_scenarios: test_map_state, test_max_concurrency_path[1]
    for definition in [
        // run without frames when nothing reads the iteration's frame
        r#"{"StartAt":"M","States":{"M":{"Type":"Map","End":true,
            "ItemProcessor":{"StartAt":"H","States":{"H":{"Type":"Pass","End":true}}}}}}"#,
        // and in frames (an ItemSelector)
        r#"{"StartAt":"M","States":{"M":{"Type":"Map","End":true,"ItemSelector":{"v.$":"$$.Map.Item.Value"},"ItemsPath":"$",
            "ItemProcessor":{"StartAt":"H","States":{"H":{"Type":"Pass","OutputPath":"$.v","End":true}}}}}}"#,
    ] {
        let events = run(definition, TaskRegistry::new(), "[1,2]", true);
        let (in1, in2) = if definition.contains("ItemSelector") {
            (r#"{"v":1}"#, r#"{"v":2}"#)
        } else {
            ("1", "2")
        };
        assert_history(
            &events,
            &[
                e(1, 0, "ExecutionStarted", started("[1,2]")),
                e(2, 0, "MapStateEntered", entered("M", "[1,2]")),
                e(
                    3,
                    2,
                    "MapStateStarted",
                    json!({"mapStateStartedEventDetails": {"length": 2}}),
                ),
                e(
                    4,
                    3,
                    "MapIterationStarted",
                    iteration("mapIterationStartedEventDetails", "M", 0),
                ),
                e(5, 4, "PassStateEntered", entered("H", in1)),
                e(6, 5, "PassStateExited", exited("H", "1")),
                e(
                    7,
                    6,
                    "MapIterationSucceeded",
                    iteration("mapIterationSucceededEventDetails", "M", 0),
                ),
                e(
                    8,
                    6,
                    "MapIterationStarted",
                    iteration("mapIterationStartedEventDetails", "M", 1),
                ),
                e(9, 8, "PassStateEntered", entered("H", in2)),
                e(10, 9, "PassStateExited", exited("H", "2")),
                e(
                    11,
                    10,
                    "MapIterationSucceeded",
                    iteration("mapIterationSucceededEventDetails", "M", 1),
                ),
                e(12, 11, "MapStateSucceeded", Json::Null),
                e(13, 11, "MapStateExited", exited("M", "[1,2]")),
                e(14, 13, "ExecutionSucceeded", succeeded("[1,2]")),
            ],
        );
    }
}

#[test]
fn inline_map_retried_then_caught() {
    // test_base_scenarios: test_map_state_retry (MapIterationFailed and the retry's
    // MapStateStarted follow the failing event) and test_map_state_catch (MapStateFailed
    // follows it too; MapStateExited follows MapStateFailed)
    let events = run(
        r#"{"StartAt":"M","States":{
            "M":{"Type":"Map","Next":"Final",
                "Retry":[{"ErrorEquals":["E"],"MaxAttempts":1,"IntervalSeconds":1}],
                "Catch":[{"ErrorEquals":["States.ALL"],"Next":"Final"}],
                "ItemProcessor":{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"E","Cause":"C"}}}},
            "Final":{"Type":"Pass","End":true}}}"#,
        TaskRegistry::new(),
        "[1]",
        true,
    );
    let caught = r#"{"Error":"E","Cause":"C"}"#;
    let length = json!({"mapStateStartedEventDetails": {"length": 1}});
    assert_history(
        &events,
        &[
            e(1, 0, "ExecutionStarted", started("[1]")),
            e(2, 0, "MapStateEntered", entered("M", "[1]")),
            e(3, 2, "MapStateStarted", length.clone()),
            e(
                4,
                3,
                "MapIterationStarted",
                iteration("mapIterationStartedEventDetails", "M", 0),
            ),
            e(5, 4, "FailStateEntered", entered("F", "1")),
            e(
                6,
                5,
                "MapIterationFailed",
                iteration("mapIterationFailedEventDetails", "M", 0),
            ),
            e(7, 5, "MapStateStarted", length),
            e(
                8,
                7,
                "MapIterationStarted",
                iteration("mapIterationStartedEventDetails", "M", 0),
            ),
            e(9, 8, "FailStateEntered", entered("F", "1")),
            e(
                10,
                9,
                "MapIterationFailed",
                iteration("mapIterationFailedEventDetails", "M", 0),
            ),
            e(11, 9, "MapStateFailed", Json::Null),
            e(12, 11, "MapStateExited", exited("M", caught)),
            e(13, 12, "PassStateEntered", entered("Final", caught)),
            e(14, 13, "PassStateExited", exited("Final", caught)),
            e(15, 14, "ExecutionSucceeded", succeeded(caught)),
        ],
    );
}

// ---- tasks that answer later ----

/// A registry whose `resource` answers later; the tokens it hands out are kept.
fn later(resource: &str) -> (TaskRegistry, Arc<Mutex<Vec<TaskToken>>>) {
    let tokens = Arc::new(Mutex::new(Vec::new()));
    let kept = Arc::clone(&tokens);
    let mut tasks = TaskRegistry::new();
    tasks.register_async(resource, move |_input, token| {
        kept.lock().unwrap().push(token);
        Ok(())
    });
    (tasks, tokens)
}

fn awaiting(step: Step<'_>) -> (TaskToken, i64) {
    match step {
        Step::AwaitingTask { token, until_ms } => (token, until_ms),
        other => panic!("expected an awaited task, got {other:?}"),
    }
}

fn status(step: Step<'_>) -> Status {
    match step {
        Step::Done(outcome) => outcome.status,
        other => panic!("expected the end, got {other:?}"),
    }
}

fn activity_task(fields: &str) -> String {
    format!(r#"{{"StartAt":"Work","States":{{"Work":{{"Type":"Task","Resource":"{ACTIVITY}",{fields}"End":true}}}}}}"#)
}

fn activity_scheduled(extra: Json) -> Json {
    let mut details = json!({"resource": ACTIVITY, "input": r#"{"v":1}"#, "inputDetails": not_truncated()});
    details
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    json!({ "activityScheduledEventDetails": details })
}

#[test]
fn activity_started_by_a_worker() {
    // test_activities: test_activity_task_with_heartbeat
    let (tasks, _) = later(ACTIVITY);
    let machine = Machine::new(&activity_task(r#""TimeoutSeconds":60,"HeartbeatSeconds":10,"#), tasks).unwrap();
    let arena = Arena::new();
    let info = ExecutionInfo::default();
    let mut history = JsonHistory {
        include_data: true,
        ..JsonHistory::default()
    };
    let input = parse(&arena, r#"{"v":1}"#).unwrap();
    let mut execution = machine.start(&arena, input, &info, T0).with_history(&mut history);
    // Waiting for a worker: only the timeout runs.
    let (token, until_ms) = awaiting(execution.resume(T0));
    assert_eq!(until_ms, T0 + 60_000);
    execution.start_activity(token, Some("worker-1"), T0 + 30_000).unwrap();
    // Taken: heartbeats are due from then on; taken twice is refused.
    assert_eq!(execution.awaited_tokens(), [(token, T0 + 40_000)]);
    assert_eq!(
        execution.start_activity(token, None, T0 + 31_000),
        Err(TaskTokenError::NotAwaiting(token))
    );
    execution
        .complete_task(token, parse(&arena, r#"{"done":true}"#).unwrap())
        .unwrap();
    assert_eq!(status(execution.resume(T0 + 35_000)), Status::Succeeded);
    drop(execution);
    let out = r#"{"done":true}"#;
    assert_history(
        &strip(&history.events),
        &[
            e(1, 0, "ExecutionStarted", started(r#"{"v":1}"#)),
            e(2, 0, "TaskStateEntered", entered("Work", r#"{"v":1}"#)),
            e(
                3,
                2,
                "ActivityScheduled",
                activity_scheduled(json!({"timeoutInSeconds": 60, "heartbeatInSeconds": 10})),
            ),
            e(
                4,
                3,
                "ActivityStarted",
                json!({"activityStartedEventDetails": {"workerName": "worker-1"}}),
            ),
            e(
                5,
                4,
                "ActivitySucceeded",
                json!({"activitySucceededEventDetails": {"output": out, "outputDetails": not_truncated()}}),
            ),
            e(6, 5, "TaskStateExited", exited("Work", out)),
            e(7, 6, "ExecutionSucceeded", succeeded(out)),
        ],
    );
}

#[test]
fn activity_failed_retried_then_timed_out() {
    // test_activities: test_activity_task_failure, test_activity_task_no_worker_name,
    // test_activity_task_start_timeout
    let (tasks, _) = later(ACTIVITY);
    let machine = Machine::new(
        &activity_task(r#""TimeoutSeconds":5,"Retry":[{"ErrorEquals":["Programmatic Error"],"IntervalSeconds":1}],"#),
        tasks,
    )
    .unwrap();
    let arena = Arena::new();
    let info = ExecutionInfo::default();
    let mut history = JsonHistory {
        include_data: true,
        ..JsonHistory::default()
    };
    let input = parse(&arena, r#"{"v":1}"#).unwrap();
    let mut execution = machine.start(&arena, input, &info, T0).with_history(&mut history);
    let (token, _) = awaiting(execution.resume(T0));
    execution.start_activity(token, None, T0 + 1_000).unwrap();
    execution.fail_task(token, "Programmatic Error", "it broke").unwrap();
    // The back-off, then the second attempt, which no one completes.
    let until_ms = match execution.resume(T0 + 2_000) {
        Step::Suspended { until_ms } => until_ms,
        other => panic!("{other:?}"),
    };
    let (second, until_ms) = awaiting(execution.resume(until_ms));
    execution.start_activity(second, Some("w"), until_ms - 1_000).unwrap();
    assert_eq!(status(execution.resume(until_ms)), Status::Failed);
    drop(execution);
    let scheduled = activity_scheduled(json!({"timeoutInSeconds": 5}));
    assert_history(
        &strip(&history.events),
        &[
            e(1, 0, "ExecutionStarted", started(r#"{"v":1}"#)),
            e(2, 0, "TaskStateEntered", entered("Work", r#"{"v":1}"#)),
            e(3, 2, "ActivityScheduled", scheduled.clone()),
            e(4, 3, "ActivityStarted", json!({"activityStartedEventDetails": {}})),
            e(
                5,
                4,
                "ActivityFailed",
                json!({"activityFailedEventDetails": {"error": "Programmatic Error", "cause": "it broke"}}),
            ),
            e(6, 5, "ActivityScheduled", scheduled),
            e(
                7,
                6,
                "ActivityStarted",
                json!({"activityStartedEventDetails": {"workerName": "w"}}),
            ),
            e(
                8,
                7,
                "ActivityTimedOut",
                json!({"activityTimedOutEventDetails": {"error": "States.Timeout"}}),
            ),
            e(
                9,
                8,
                "ExecutionFailed",
                json!({"executionFailedEventDetails": {"error": "States.Timeout"}}),
            ),
        ],
    );
}

#[test]
fn activity_without_a_handler_does_not_exist() {
    // test_activities: test_activity_task_on_deleted
    let events = run(&activity_task(""), TaskRegistry::new(), "{}", true);
    let cause = format!(
        "An error occurred while executing the state 'Work' (entered at the event id #2). The activity {ACTIVITY} does not exist."
    );
    assert_history(
        &events,
        &[
            e(1, 0, "ExecutionStarted", started("{}")),
            e(2, 0, "TaskStateEntered", entered("Work", "{}")),
            e(
                3,
                2,
                "ExecutionFailed",
                json!({"executionFailedEventDetails": {"error": "States.Runtime", "cause": cause}}),
            ),
        ],
    );
}

#[test]
fn start_activity_refuses_other_tasks() {
    let resource = "arn:aws:states:::sqs:sendMessage.waitForTaskToken";
    let (tasks, _) = later(resource);
    let definition =
        format!(r#"{{"StartAt":"T","States":{{"T":{{"Type":"Task","Resource":"{resource}","End":true}}}}}}"#);
    let machine = Machine::new(&definition, tasks).unwrap();
    let arena = Arena::new();
    let info = ExecutionInfo::default();
    let mut execution = machine.start(&arena, parse(&arena, "{}").unwrap(), &info, T0);
    let (token, _) = awaiting(execution.resume(T0));
    assert_eq!(
        execution.start_activity(token, None, T0),
        Err(TaskTokenError::NotAwaiting(token))
    );
}

#[test]
fn wait_for_task_token() {
    // test_callback: test_sqs_wait_for_task_token (AWS records TaskSubmitted with the
    // SendMessage response between TaskStarted and the outcome; quickstep has no such
    // response to report and records none)
    let resource = "arn:aws:states:::sqs:sendMessage.waitForTaskToken";
    let (tasks, _) = later(resource);
    let definition = format!(
        r#"{{"StartAt":"Send","States":{{"Send":{{"Type":"Task","Resource":"{resource}","HeartbeatSeconds":5,
            "Parameters":{{"MessageBody.$":"$$.Task.Token"}},"End":true}}}}}}"#
    );
    let machine = Machine::new(&definition, tasks).unwrap();
    let arena = Arena::new();
    let info = ExecutionInfo::default();
    let mut history = JsonHistory {
        include_data: true,
        ..JsonHistory::default()
    };
    let mut execution = machine
        .start(&arena, parse(&arena, "{}").unwrap(), &info, T0)
        .with_history(&mut history);
    let (token, _) = awaiting(execution.resume(T0));
    execution
        .complete_task(token, parse(&arena, r#""ok""#).unwrap())
        .unwrap();
    assert_eq!(status(execution.resume(T0 + 1_000)), Status::Succeeded);
    drop(execution);
    let events = strip(&history.events);
    let parameters: Json =
        serde_json::from_str(events[2]["taskScheduledEventDetails"]["parameters"].as_str().unwrap()).unwrap();
    assert!(parameters["MessageBody"].is_string(), "{parameters}");
    let parameters = events[2]["taskScheduledEventDetails"]["parameters"].clone();
    let task = json!({"resourceType": "sqs", "resource": "sendMessage.waitForTaskToken"});
    assert_history(
        &events,
        &[
            e(1, 0, "ExecutionStarted", started("{}")),
            e(2, 0, "TaskStateEntered", entered("Send", "{}")),
            e(
                3,
                2,
                "TaskScheduled",
                json!({"taskScheduledEventDetails": {
                    "resourceType": "sqs", "resource": "sendMessage.waitForTaskToken", "region": "us-east-1",
                    "parameters": parameters, "heartbeatInSeconds": 5
                }}),
            ),
            e(4, 3, "TaskStarted", json!({ "taskStartedEventDetails": task })),
            e(
                5,
                4,
                "TaskSucceeded",
                json!({"taskSucceededEventDetails": {
                    "resourceType": "sqs", "resource": "sendMessage.waitForTaskToken",
                    "output": r#""ok""#, "outputDetails": not_truncated()
                }}),
            ),
            e(6, 5, "TaskStateExited", exited("Send", r#""ok""#)),
            e(7, 6, "ExecutionSucceeded", succeeded(r#""ok""#)),
        ],
    );
}

// ---- ended from outside ----

#[test]
fn stopped_and_timed_out_executions_follow_no_event() {
    // test_sfn_api: test_stop_execution (ExecutionAborted follows 0, `{}` without error or
    // cause); ExecutionTimedOut likewise
    let machine = Machine::new(
        r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":100,"End":true}}}"#,
        TaskRegistry::new(),
    )
    .unwrap();
    let arena = Arena::new();
    let info = ExecutionInfo::default();
    let mut history = JsonHistory {
        include_data: true,
        ..JsonHistory::default()
    };
    let mut execution = machine
        .start(&arena, parse(&arena, "{}").unwrap(), &info, T0)
        .with_history(&mut history);
    assert!(matches!(execution.resume(T0), Step::Suspended { .. }));
    assert_eq!(execution.abort(None, None).unwrap().status, Status::Aborted);
    drop(execution);
    assert_history(
        &strip(&history.events),
        &[
            e(1, 0, "ExecutionStarted", started("{}")),
            e(2, 0, "WaitStateEntered", entered("W", "{}")),
            e(3, 0, "ExecutionAborted", json!({"executionAbortedEventDetails": {}})),
        ],
    );

    let timed = Machine::new(
        r#"{"TimeoutSeconds":1,"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":100,"End":true}}}"#,
        TaskRegistry::new(),
    )
    .unwrap();
    let mut history = JsonHistory {
        include_data: true,
        ..JsonHistory::default()
    };
    timed
        .run_json_recording("{}", &info, &mut VirtualClock::starting_at(T0), &mut history)
        .unwrap();
    assert_eq!(
        strip(&history.events)[2],
        e(
            3,
            0,
            "ExecutionTimedOut",
            json!({"executionTimedOutEventDetails": {"error": "States.Timeout"}})
        )
    );
}
