//! Mocked Task states (Step Functions Local's mock configuration): AWS's LambdaSQSIntegration
//! example and its test cases, Throw through Retry and Catch, invocations past the last
//! mocked response, Map iterations, `.waitForTaskToken`, limits, and mocks built in code.

use std::sync::{Arc, Mutex};

use quickstep::clock::Clock;
use quickstep::exec::Step;
use quickstep::history::JsonHistory;
use quickstep::mock::{MockAnswer, MockConfig, MockedResponse, Mocks};
use quickstep::runtime::Runtime;
use quickstep::value::{parse, Arena};
use quickstep::{ExecutionInfo, Machine, Outcome, Status, TaskRegistry, VirtualClock};
use serde_json::{json, Value as Json};

const DEFINITION: &str = include_str!("../examples/mocks/LambdaSQSIntegration.asl.json");
const CONFIG: &str = include_str!("../examples/mocks/MockConfigFile.json");

fn machine(definition: &str, tasks: TaskRegistry) -> Machine {
    Machine::new(definition, tasks).unwrap_or_else(|e| panic!("{e}"))
}

/// The example machine with `test_case` of the example configuration mocked.
fn lambda_sqs(test_case: &str, tasks: TaskRegistry) -> Machine {
    let config = MockConfig::parse(CONFIG).unwrap();
    let mocks = config.test_case("LambdaSQSIntegration", test_case).unwrap();
    machine(DEFINITION, tasks).with_mocks(&mocks).unwrap()
}

/// What one execution on a virtual clock did.
struct Run {
    outcome: Outcome,
    /// `(type, state)` of every event.
    events: Vec<(String, Option<String>)>,
    /// The events as AWS's JSON, with data.
    history: Vec<Json>,
    /// Virtual milliseconds it took.
    elapsed_ms: i64,
}

impl Run {
    /// How many events of `event_type` concern `state`.
    fn count(&self, event_type: &str, state: &str) -> usize {
        self.events
            .iter()
            .filter(|(t, s)| t == event_type && s.as_deref() == Some(state))
            .count()
    }

    fn output(&self) -> Json {
        self.outcome.output_value().expect("an output")
    }
}

fn execute(m: &Machine, input: &str) -> Run {
    let mut clock = VirtualClock::starting_at(0);
    let mut history = JsonHistory {
        include_data: true,
        events: Vec::new(),
    };
    let outcome = m
        .run_json_recording(input, &ExecutionInfo::default(), &mut clock, &mut history)
        .unwrap();
    // Task events name no state: they belong to the state entered last.
    let mut entered: Option<String> = None;
    let events = history
        .events
        .iter()
        .map(|e| {
            let kind = e["type"].as_str().unwrap().to_string();
            let details = e.as_object().unwrap().iter().find(|(k, _)| k.ends_with("EventDetails"));
            let named = details.and_then(|(_, d)| d["name"].as_str()).map(str::to_string);
            if kind.ends_with("StateEntered") {
                entered = named.clone();
            }
            let of_task = ["Task", "LambdaFunction", "Activity"]
                .iter()
                .any(|p| kind.starts_with(p));
            let state = named.or_else(|| entered.clone().filter(|_| of_task && !kind.starts_with("TaskState")));
            (kind, state)
        })
        .collect();
    Run {
        outcome,
        events,
        history: history.events,
        elapsed_ms: clock.now_ms(),
    }
}

#[test]
fn happy_path_returns_the_mocked_results() {
    let run = execute(&lambda_sqs("HappyPath", TaskRegistry::new()), r#"{"orderId":"o-1"}"#);
    assert_eq!(run.outcome.status, Status::Succeeded, "{:?}", run.outcome);
    // The Lambda's Return is the whole lambda:invoke response (not wrapped again), so the
    // ResultSelector finds its Payload.
    assert_eq!(
        run.output(),
        json!({
            "orderId": "o-1",
            "lambda": {"body": "Hello from Lambda!"},
            "sqs": {
                "MD5OfMessageBody": "3bcb6e8e-7h85-4375-b0bc-1a59812c6e51",
                "MessageId": "3bcb6e8e-8b51-4375-b0bc-1a59812c6e51"
            }
        })
    );
    // Each task's events are a handler's: scheduled, started, succeeded.
    let task = [
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSucceeded",
        "TaskStateExited",
    ];
    let expected: Vec<&str> = std::iter::once("ExecutionStarted")
        .chain(task.repeat(2))
        .chain(["ExecutionSucceeded"])
        .collect();
    let types: Vec<&str> = run.events.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(types, expected);
    // TaskScheduled carries the effective input as its parameters, TaskSucceeded the mocked result as it is.
    assert_eq!(
        run.history[2]["taskScheduledEventDetails"]["parameters"],
        r#"{"Payload":{"orderId":"o-1"},"FunctionName":"HelloWorldFunction"}"#
    );
    let succeeded: Json =
        serde_json::from_str(run.history[4]["taskSucceededEventDetails"]["output"].as_str().unwrap()).unwrap();
    assert_eq!(
        succeeded,
        json!({"StatusCode": 200, "Payload": {"StatusCode": 200, "body": "Hello from Lambda!"}})
    );
}

#[test]
fn retry_path_fails_three_times_then_succeeds() {
    let run = execute(&lambda_sqs("RetryPath", TaskRegistry::new()), "{}");
    assert_eq!(run.outcome.status, Status::Succeeded, "{:?}", run.outcome);
    assert_eq!(run.output()["lambda"], json!({"body": "Hello from Lambda!"}));
    assert_eq!(run.count("TaskScheduled", "LambdaState"), 4);
    assert_eq!(run.count("TaskFailed", "LambdaState"), 3);
    assert_eq!(run.count("TaskSucceeded", "LambdaState"), 1);
    let errors: Vec<&str> = run
        .history
        .iter()
        .filter_map(|e| e["taskFailedEventDetails"]["error"].as_str())
        .collect();
    assert_eq!(
        errors,
        [
            "Lambda.ResourceNotReadyException",
            "Lambda.TimeoutException",
            "Lambda.TimeoutException"
        ]
    );
    // The back-offs: 2 s, 4 s, 8 s.
    assert_eq!(run.elapsed_ms, 14_000);
}

#[test]
fn hybrid_path_calls_the_handlers_of_unmocked_states() {
    let sent = Arc::new(Mutex::new(Vec::new()));
    let seen = sent.clone();
    let mut tasks = TaskRegistry::new();
    tasks.register_json("arn:aws:states:::sqs:sendMessage", move |input| {
        seen.lock().unwrap().push(input);
        Ok(json!({"MessageId": "from-the-handler"}))
    });
    // A handler for the mocked Lambda function is not called.
    tasks.register_json("HelloWorldFunction", |_| panic!("the mocked state's handler ran"));
    let run = execute(&lambda_sqs("HybridPath", tasks), "{}");
    assert_eq!(run.outcome.status, Status::Succeeded, "{:?}", run.outcome);
    assert_eq!(
        run.output(),
        json!({"lambda": {"body": "Hello from Lambda!"}, "sqs": {"MessageId": "from-the-handler"}})
    );
    assert_eq!(
        *sent.lock().unwrap(),
        [json!({
            "QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/myQueue",
            "MessageBody": "Hello from Lambda!"
        })]
    );
    // Without a handler the unmocked state fails as it would without mocks.
    let run = execute(&lambda_sqs("HybridPath", TaskRegistry::new()), "{}");
    assert_eq!(run.outcome.error.as_deref(), Some("States.Runtime"));
    assert_eq!(
        run.outcome.cause.as_deref(),
        Some("No handler is registered for the resource 'arn:aws:states:::sqs:sendMessage'.")
    );
}

/// One state `T` on `resource` (with `fields`), mocked with `response` (a mocked
/// response's JSON) in the test case `Case`; then `Done`.
fn one_mocked_task(resource: &str, fields: &str, response: Json, extra_states: &str) -> Machine {
    let definition = format!(
        r#"{{"StartAt":"T","States":{{
            "T":{{"Type":"Task","Resource":"{resource}",{fields}"Next":"Done"}},
            "Done":{{"Type":"Pass","End":true}}{extra_states}}}}}"#
    );
    let config = json!({
        "StateMachines": {"M": {"TestCases": {"Case": {"T": "R"}}}},
        "MockedResponses": {"R": response}
    });
    let mocks = MockConfig::from_value(&config).unwrap().test_case("M", "Case").unwrap();
    machine(&definition, TaskRegistry::new()).with_mocks(&mocks).unwrap()
}

#[test]
fn a_throw_is_caught_by_a_catch() {
    let m = one_mocked_task(
        "arn:aws:states:::sqs:sendMessage",
        r#""Catch":[{"ErrorEquals":["Queue.Full"],"ResultPath":"$.error","Next":"Handled"}],"#,
        json!({"0": {"Throw": {"Error": "Queue.Full", "Cause": "no room"}}}),
        r#","Handled":{"Type":"Pass","End":true}"#,
    );
    let run = execute(&m, r#"{"id":1}"#);
    assert_eq!(run.outcome.status, Status::Succeeded, "{:?}", run.outcome);
    assert_eq!(
        run.output(),
        json!({"id": 1, "error": {"Error": "Queue.Full", "Cause": "no room"}})
    );
    assert_eq!(run.count("TaskFailed", "T"), 1);
    assert_eq!(run.count("PassStateEntered", "Handled"), 1);
}

#[test]
fn an_invocation_past_the_last_response_fails_the_execution_uncaught() {
    // Invocation 0 throws and is retried; invocation 1 has no answer: States.Runtime, which
    // neither the Retry nor the States.ALL Catch takes.
    let m = one_mocked_task(
        "arn:aws:lambda:us-east-1:123456789012:function:f",
        r#""Retry":[{"ErrorEquals":["States.ALL"],"MaxAttempts":5}],
            "Catch":[{"ErrorEquals":["States.ALL"],"Next":"Handled"}],"#,
        json!({"0": {"Throw": {"Error": "Boom", "Cause": "first"}}}),
        r#","Handled":{"Type":"Pass","End":true}"#,
    );
    let run = execute(&m, "{}");
    assert_eq!(run.outcome.status, Status::Failed);
    assert_eq!(run.outcome.error.as_deref(), Some("States.Runtime"));
    assert_eq!(
        run.outcome.cause.as_deref(),
        Some(
            "The mocked response 'R' of the test case 'Case' has no answer for invocation 1 (counted from 0) \
             of the state 'T': a mocked state needs a response for every invocation."
        )
    );
    // A Lambda ARN resource keeps its Lambda events.
    assert_eq!(run.count("LambdaFunctionScheduled", "T"), 2);
    assert_eq!(run.count("LambdaFunctionFailed", "T"), 2);
    assert_eq!(run.count("PassStateEntered", "Handled"), 0);
    assert_eq!(run.events.last().unwrap().0, "ExecutionFailed");
}

#[test]
fn map_iterations_get_the_answers_in_item_order() {
    let definition = r#"{"StartAt":"Each","States":{"Each":{"Type":"Map","End":true,
        "Catch":[{"ErrorEquals":["States.ALL"],"Next":"Caught"}],
        "ItemProcessor":{"StartAt":"Charge","States":{
            "Charge":{"Type":"Task","Resource":"arn:aws:states:::dynamodb:putItem","ResultPath":"$.charged","End":true}}}},
        "Caught":{"Type":"Pass","End":true}}}"#;
    let mut response = MockedResponse::new("Charges");
    for n in 0..3 {
        response.answer_range(n, n, MockAnswer::Return(json!(n))).unwrap();
    }
    let mut mocks = Mocks::new("ThreeItems");
    mocks.mock_state("Charge", response);
    let m = machine(definition, TaskRegistry::new()).with_mocks(&mocks).unwrap();
    let run = execute(&m, r#"[{"item":"a"},{"item":"b"},{"item":"c"}]"#);
    assert_eq!(run.outcome.status, Status::Succeeded, "{:?}", run.outcome);
    assert_eq!(
        run.output(),
        json!([{"item": "a", "charged": 0}, {"item": "b", "charged": 1}, {"item": "c", "charged": 2}])
    );
    // A fourth item has no answer: the Map fails with States.Runtime, past its Catch.
    let run = execute(&m, r#"[{},{},{},{}]"#);
    assert_eq!(run.outcome.error.as_deref(), Some("States.Runtime"));
    assert!(
        run.outcome
            .cause
            .as_deref()
            .is_some_and(|c| c.contains("invocation 3 (counted from 0) of the state 'Charge'")
                && c.contains("test case 'ThreeItems'")),
        "{:?}",
        run.outcome.cause
    );
    assert_eq!(run.count("PassStateEntered", "Caught"), 0);
}

#[test]
fn each_execution_counts_afresh_on_the_runtime_too() {
    let m = one_mocked_task(
        "arn:aws:states:::sqs:sendMessage",
        "",
        json!({"0": {"Return": {"n": 0}}}),
        "",
    );
    let runtime = Runtime::builder().threads(1).build(m.clone());
    for _ in 0..3 {
        let outcome = runtime.run_json("{}").unwrap();
        assert_eq!(outcome.output.as_deref(), Some(r#"{"n":0}"#), "{outcome:?}");
        assert_eq!(execute(&m, "{}").outcome.output.as_deref(), Some(r#"{"n":0}"#));
    }
}

#[test]
fn a_mocked_wait_for_task_token_task_answers_at_once() {
    let m = one_mocked_task(
        "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        r#""HeartbeatSeconds":60,"Parameters":{"QueueUrl":"q","MessageBody":"approve?"},"#,
        json!({"0": {"Return": {"approved": true}}}),
        "",
    );
    let arena = Arena::new();
    let info = ExecutionInfo::default();
    let input = parse(&arena, "{}").unwrap();
    let mut execution = m.start(&arena, input, &info, 0);
    match execution.resume(0) {
        Step::Done(outcome) => {
            assert_eq!(outcome.status, Status::Succeeded, "{outcome:?}");
            assert_eq!(outcome.output.unwrap().to_json_string(), r#"{"approved":true}"#);
        }
        other => panic!("the mocked task should answer at once, not {other:?}"),
    }
}

#[test]
fn a_mocked_wait_for_task_token_task_passing_its_token_answers_its_mocked_response() {
    let m = one_mocked_task(
        "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        r#""Parameters":{"QueueUrl":"q","MessageBody":{"TaskToken.$":"$$.Task.Token","id.$":"$.id"}},"ResultPath":"$.reply","#,
        json!({"0": {"Return": {"approved": true}}}),
        "",
    );
    let run = execute(&m, r#"{"id":1}"#);
    assert_eq!(run.outcome.status, Status::Succeeded, "{:?}", run.outcome);
    assert_eq!(run.output(), json!({"id": 1, "reply": {"approved": true}}));
    // The task was scheduled with the token the definition passed on.
    let scheduled = run.history.iter().find(|e| e["type"] == "TaskScheduled").unwrap();
    let input: Json =
        serde_json::from_str(scheduled["taskScheduledEventDetails"]["parameters"].as_str().unwrap()).unwrap();
    let token = input["MessageBody"]["TaskToken"].as_str().unwrap();
    assert!(token.parse::<quickstep::TaskToken>().is_ok(), "{input}");
    assert_eq!(input["MessageBody"]["id"], 1);
    // On the runtime (whose tokens are registered, and retired when the mock answers).
    let runtime = Runtime::builder().threads(1).build(m);
    let outcome = runtime.run_json(r#"{"id":2}"#).unwrap();
    assert_eq!(
        outcome.output.as_deref(),
        Some(r#"{"id":2,"reply":{"approved":true}}"#),
        "{outcome:?}"
    );
    assert!(runtime.shutdown().balanced());
}

#[test]
fn result_processing_and_the_payload_limit_apply_to_mocked_results() {
    let m = one_mocked_task(
        "arn:aws:states:::ecs:runTask.sync",
        r#""ResultSelector":{"id.$":"$.Tasks[0].Id"},"ResultPath":"$.task","OutputPath":"$.task","#,
        json!({"0": {"Return": {"Tasks": [{"Id": "t-1"}]}}, "1": {"Return": "x".repeat(300 * 1024)}}),
        "",
    );
    let run1 = execute(&m, "{}");
    assert_eq!(run1.output(), json!({"id": "t-1"}));
    // Each execution counts from 0: to reach invocation 1, the task runs again in a loop.
    let looping = r#"{"StartAt":"T","States":{
        "T":{"Type":"Task","Resource":"arn:aws:states:::ecs:runTask.sync","ResultPath":"$.r","Next":"Again"},
        "Again":{"Type":"Choice","Choices":[{"Variable":"$.r","IsString":false,"Next":"T"}],"Default":"Done"},
        "Done":{"Type":"Succeed"}}}"#;
    let mut response = MockedResponse::new("Big");
    response.answer_range(0, 0, MockAnswer::Return(json!({}))).unwrap();
    response
        .answer_range(1, 1, MockAnswer::Return(json!("x".repeat(300 * 1024))))
        .unwrap();
    let mut mocks = Mocks::new("Limit");
    mocks.mock_state("T", response);
    let m = machine(looping, TaskRegistry::new()).with_mocks(&mocks).unwrap();
    let run2 = execute(&m, "{}");
    assert_eq!(run2.outcome.error.as_deref(), Some("States.DataLimitExceeded"));
    assert_eq!(run2.count("TaskScheduled", "T"), 2);
}

#[test]
fn mocks_are_checked_against_the_definition() {
    let config = MockConfig::parse(
        r#"{"StateMachines": {"M": {"TestCases": {
                "Missing": {"Nowhere": "R"},
                "NotATask": {"Done": "R"}}}},
            "MockedResponses": {"R": {"0": {"Return": 1}}}}"#,
    )
    .unwrap();
    let m = machine(DEFINITION, TaskRegistry::new());
    let error = |case: &str| {
        m.with_mocks(&config.test_case("M", case).unwrap())
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        error("Missing"),
        "/StateMachines/M/TestCases/Missing/Nowhere: the definition has no state named 'Nowhere'"
    );
    let m = machine(
        r#"{"StartAt":"Done","States":{"Done":{"Type":"Pass","End":true}}}"#,
        TaskRegistry::new(),
    );
    assert_eq!(
        m.with_mocks(&config.test_case("M", "NotATask").unwrap())
            .unwrap_err()
            .to_string(),
        "/StateMachines/M/TestCases/NotATask/Done: the state 'Done' is a Pass state: only Task states can be mocked"
    );
    // Mocks built in code have no pointer.
    let mut mocks = Mocks::new("InCode");
    mocks.mock_state("Nowhere", MockedResponse::new("R"));
    assert_eq!(
        machine(DEFINITION, TaskRegistry::new())
            .with_mocks(&mocks)
            .unwrap_err()
            .to_string(),
        "the definition has no state named 'Nowhere'"
    );
}

#[test]
fn states_nested_in_parallel_branches_can_be_mocked_and_mocks_replace_earlier_ones() {
    let definition = r#"{"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[
        {"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::test:shared","End":true}}},
        {"StartAt":"B","States":{"B":{"Type":"Task","Resource":"arn:aws:states:::test:shared","End":true}}}]}}}"#;
    let mut tasks = TaskRegistry::new();
    tasks.register_json("arn:aws:states:::test:shared", |_| Ok(json!("handler")));
    let base = machine(definition, tasks);
    let mocked = |answer: &str| {
        let mut response = MockedResponse::new("R");
        response.answer_range(0, 0, MockAnswer::Return(json!(answer))).unwrap();
        let mut mocks = Mocks::new("Case");
        mocks.mock_state("B", response);
        mocks
    };
    // Only B is mocked, though A has the same resource.
    let m = base.with_mocks(&mocked("first")).unwrap();
    assert_eq!(execute(&m, "{}").output(), json!(["handler", "first"]));
    let m = m.with_mocks(&mocked("second")).unwrap();
    assert_eq!(execute(&m, "{}").output(), json!(["handler", "second"]));
    assert_eq!(execute(&base, "{}").output(), json!(["handler", "handler"]));
}
