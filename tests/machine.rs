//! Behaviour of executions beyond the recorded corpus: suspension and clocks, retries,
//! timeouts, history numbering, handler faults, payload limits.

use quickstep::clock::Clock;
use quickstep::exec::Step;
use quickstep::history::JsonHistory;
use quickstep::value::{parse, Arena, Value};
use quickstep::{ExecutionInfo, Machine, Status, TaskFailure, TaskRegistry, VirtualClock};

fn machine(definition: &str, tasks: TaskRegistry) -> Machine {
    Machine::new(definition, tasks).unwrap_or_else(|e| panic!("{e}"))
}

fn run_virtual(m: &Machine, input: &str) -> (quickstep::Outcome, i64) {
    let mut clock = VirtualClock::starting_at(0);
    let outcome = m.run_json_with(input, &ExecutionInfo::default(), &mut clock).unwrap();
    (outcome, clock.now_ms())
}

#[test]
fn wait_suspends_and_resumes_at_its_deadline() {
    let m = machine(
        r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":5,"Next":"P"},"P":{"Type":"Pass","Result":1,"End":true}}}"#,
        TaskRegistry::new(),
    );
    let arena = Arena::new();
    let info = ExecutionInfo::default();
    let mut execution = m.start(&arena, Value::EMPTY_OBJECT, &info, 1_000);
    match execution.resume(1_000) {
        Step::Suspended { until_ms } => assert_eq!(until_ms, 6_000),
        other => panic!("expected a suspension, got {other:?}"),
    }
    // Resumed early: it suspends again until the same deadline.
    assert!(matches!(execution.resume(3_000), Step::Suspended { until_ms: 6_000 }));
    match execution.resume(6_000) {
        Step::Done(outcome) => {
            assert_eq!(outcome.status, Status::Succeeded);
            assert_eq!(outcome.output.unwrap().to_json_string(), "1");
        }
        other => panic!("expected the end, got {other:?}"),
    }
}

#[test]
fn retries_back_off_exponentially_then_catch() {
    let mut tasks = TaskRegistry::new();
    tasks.register("arn:aws:states:::test:flaky", |_input, _arena| {
        Err(TaskFailure::new("Boom", "always"))
    });
    let m = machine(
        r#"{"StartAt":"T","States":{
            "T":{"Type":"Task","Resource":"arn:aws:states:::test:flaky","Retry":[{"ErrorEquals":["Boom"],"IntervalSeconds":2,"MaxAttempts":3,"BackoffRate":3}],
                 "Catch":[{"ErrorEquals":["States.ALL"],"ResultPath":"$.err","Next":"Done"}],"End":true},
            "Done":{"Type":"Pass","End":true}}}"#,
        tasks,
    );
    let (outcome, now) = run_virtual(&m, r#"{"id":1}"#);
    assert_eq!(outcome.status, Status::Succeeded);
    assert_eq!(
        outcome.output.as_deref(),
        Some(r#"{"id":1,"err":{"Error":"Boom","Cause":"always"}}"#)
    );
    // 2 s + 6 s + 18 s of back-off.
    assert_eq!(now, 26_000);
}

#[test]
fn max_delay_caps_the_back_off() {
    let mut tasks = TaskRegistry::new();
    tasks.register("arn:aws:states:::test:flaky", |_input, _arena| {
        Err(TaskFailure::new("Boom", "always"))
    });
    let m = machine(
        r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::test:flaky","Retry":[{"ErrorEquals":["States.ALL"],"IntervalSeconds":10,"MaxAttempts":3,"BackoffRate":10,"MaxDelaySeconds":15}],"End":true}}}"#,
        tasks,
    );
    let (outcome, now) = run_virtual(&m, "{}");
    assert_eq!(
        (outcome.status, outcome.error.as_deref()),
        (Status::Failed, Some("Boom"))
    );
    assert_eq!(now, 10_000 + 15_000 + 15_000);
}

#[test]
fn machine_timeout_ends_a_long_wait() {
    let m = machine(
        r#"{"TimeoutSeconds":3,"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":60,"End":true}}}"#,
        TaskRegistry::new(),
    );
    let (outcome, now) = run_virtual(&m, "{}");
    assert_eq!(outcome.status, Status::TimedOut);
    assert_eq!(outcome.error.as_deref(), Some("States.Timeout"));
    assert_eq!(now, 3_000);
}

#[test]
fn a_panicking_handler_fails_the_execution_and_can_be_caught() {
    let mut tasks = TaskRegistry::new();
    tasks.register("arn:aws:states:::test:panics", |_input, _arena| panic!("handler bug"));
    let m = machine(
        r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::test:panics","Catch":[{"ErrorEquals":["States.TaskFailed"],"Next":"C"}],"End":true},"C":{"Type":"Pass","End":true}}}"#,
        tasks.clone(),
    );
    let outcome = m.run_json("{}").unwrap();
    assert_eq!(outcome.status, Status::Succeeded);
    assert_eq!(
        outcome.output.as_deref(),
        Some(r#"{"Error":"States.TaskFailed","Cause":"The task handler panicked: handler bug"}"#)
    );
    let uncaught = machine(
        r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::test:panics","End":true}}}"#,
        tasks,
    );
    let outcome = uncaught.run_json("{}").unwrap();
    assert_eq!(
        (outcome.status, outcome.error.as_deref()),
        (Status::Failed, Some("States.TaskFailed"))
    );
}

#[test]
fn a_task_without_handler_fails_clearly() {
    let m = machine(
        r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:1:function:nope","End":true}}}"#,
        TaskRegistry::new(),
    );
    let outcome = m.run_json("{}").unwrap();
    assert_eq!(outcome.error.as_deref(), Some("States.Runtime"));
    assert_eq!(
        outcome.cause.as_deref(),
        Some("No handler is registered for the resource 'arn:aws:lambda:us-east-1:1:function:nope'.")
    );
}

#[test]
fn a_function_without_a_handler_is_named_and_no_catch_takes_it() {
    let m = machine(
        r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
            "Parameters":{"FunctionName.$":"$.fn","Payload":{}},
            "Catch":[{"ErrorEquals":["States.ALL"],"Next":"Caught"}],"End":true},
            "Caught":{"Type":"Succeed"}}}"#,
        TaskRegistry::new(),
    );
    let outcome = m
        .run_json(r#"{"fn": "arn:aws:lambda:us-east-1:123456789012:function:Missing"}"#)
        .unwrap();
    assert_eq!(outcome.status, Status::Failed);
    assert_eq!(outcome.error.as_deref(), Some("States.Runtime"));
    assert_eq!(
        outcome.cause.as_deref(),
        Some("No handler is registered for the resource 'arn:aws:lambda:us-east-1:123456789012:function:Missing'.")
    );
}

#[test]
fn oversized_task_results_exceed_the_data_limit() {
    let mut tasks = TaskRegistry::new();
    tasks.register("arn:aws:states:::test:big", |_input, arena: &Arena| {
        Ok(Value::String(arena.alloc_str(&"x".repeat(300_000))))
    });
    let m = machine(
        r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::test:big","Catch":[{"ErrorEquals":["States.ALL"],"Next":"C"}],"End":true},"C":{"Type":"Pass","End":true}}}"#,
        tasks,
    );
    let outcome = m.run_json("{}").unwrap();
    // States.DataLimitExceeded is not caught by States.ALL.
    assert_eq!(outcome.error.as_deref(), Some("States.DataLimitExceeded"));
    assert_eq!(
        outcome.cause.as_deref(),
        Some("The state/task 'T' returned a result with a size exceeding the maximum number of bytes service limit.")
    );
}

#[test]
fn history_events_are_numbered_as_aws_numbers_them() {
    let mut tasks = TaskRegistry::new();
    tasks.register("arn:aws:lambda:us-east-1:1:function:f", |input, _arena| Ok(input));
    let m = machine(
        r#"{"StartAt":"P","States":{"P":{"Type":"Pass","Next":"T"},"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:1:function:f","Next":"M"},
            "M":{"Type":"Map","ItemsPath":"$.items","ItemProcessor":{"StartAt":"I","States":{"I":{"Type":"Pass","End":true}}},"End":true}}}"#,
        tasks,
    );
    let arena = Arena::new();
    let info = ExecutionInfo::default();
    let mut history = JsonHistory::default();
    let clock = VirtualClock::starting_at(0);
    let input = parse(&arena, r#"{"items":[1]}"#).unwrap();
    let mut execution = m.start(&arena, input, &info, clock.now_ms()).with_history(&mut history);
    assert!(matches!(execution.resume(clock.now_ms()), Step::Done(_)));
    drop(execution);
    let types: Vec<&str> = history.events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "TaskStateEntered",
            "LambdaFunctionScheduled",
            "LambdaFunctionStarted",
            "LambdaFunctionSucceeded",
            "TaskStateExited",
            "MapStateEntered",
            "MapStateStarted",
            "MapIterationStarted",
            "PassStateEntered",
            "PassStateExited",
            "MapIterationSucceeded",
            "MapStateSucceeded",
            "MapStateExited",
            "ExecutionSucceeded",
        ]
    );
    let ids: Vec<u64> = history.events.iter().map(|e| e["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, (1..=17).collect::<Vec<u64>>());
}

#[test]
fn an_endless_loop_is_stopped_by_the_event_limit() {
    let m = machine(
        r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"C"},"C":{"Type":"Choice","Choices":[{"Variable":"$.stop","IsPresent":true,"Next":"E"}],"Default":"A"},"E":{"Type":"Succeed"}}}"#,
        TaskRegistry::new(),
    );
    let outcome = m.run_json("{}").unwrap();
    assert_eq!(
        (outcome.status, outcome.error.as_deref()),
        (Status::Failed, Some("States.Runtime"))
    );
}

#[test]
fn an_endless_chain_of_passes_stops_at_the_event_limit_exactly() {
    // Pure Pass and plain Choice states that follow one another run without going back to
    // the main loop; the limit is still checked before each state, as for any other step.
    let m = machine(
        r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"n.$":"$.n"},"Next":"B"},"B":{"Type":"Pass","Next":"D"},
            "D":{"Type":"Pass","Next":"F"},"F":{"Type":"Pass","Next":"G"},"G":{"Type":"Pass","Next":"C"},
            "C":{"Type":"Choice","Choices":[{"Variable":"$.stop","IsPresent":true,"Next":"E"}],"Default":"A"},"E":{"Type":"Succeed"}}}"#,
        TaskRegistry::new(),
    );
    let cause = Some("The execution reached the maximum number of history events (25000).");
    let outcome = m.run_json(r#"{"n":1}"#).unwrap();
    assert_eq!(
        (outcome.status, outcome.error.as_deref(), outcome.cause.as_deref()),
        (Status::Failed, Some("States.Runtime"), cause)
    );
    let arena = Arena::new();
    let info = ExecutionInfo::default();
    let mut history = JsonHistory::default();
    let input = parse(&arena, r#"{"n":1}"#).unwrap();
    let mut execution = m.start(&arena, input, &info, 0).with_history(&mut history);
    assert!(matches!(execution.resume(0), Step::Done(_)));
    drop(execution);
    // ExecutionStarted, 12,500 states of two events each, then the failure: the limit is
    // crossed after B, in the middle of the chain A, B, D, F, G, C, A, ...
    assert_eq!(history.events.len(), 25_002);
    let last_types: Vec<&str> = history.events[24_999..]
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(last_types, ["PassStateEntered", "PassStateExited", "ExecutionFailed"]);
}

#[test]
fn result_paths_that_extend_the_same_object_do_not_see_each_other() {
    // A grows the input; each Parallel branch, and the Parallel's own ResultPath, then add a
    // member to A's output. Each must get its own object, whichever of them extends it in
    // place (`Arena::append_member`): a branch writing over another's member would show here.
    let m = machine(
        r#"{"StartAt":"A","States":{
            "A":{"Type":"Pass","Result":1,"ResultPath":"$.a","Next":"P"},
            "P":{"Type":"Parallel","Branches":[
                {"StartAt":"B1","States":{"B1":{"Type":"Pass","Result":"one","ResultPath":"$.r","End":true}}},
                {"StartAt":"B2","States":{"B2":{"Type":"Pass","Result":"two","ResultPath":"$.r","End":true}}},
                {"StartAt":"B3","States":{"B3":{"Type":"Pass","Result":"three","ResultPath":"$.s","Next":"B4"},
                                          "B4":{"Type":"Pass","Result":"four","ResultPath":"$.t","End":true}}}],
             "ResultPath":"$.branches","Next":"C"},
            "C":{"Type":"Pass","Result":2,"ResultPath":"$.c","End":true}}}"#,
        TaskRegistry::new(),
    );
    let outcome = m.run_json(r#"{"x":0}"#).unwrap();
    let expected = serde_json::json!({
        "x": 0, "a": 1,
        "branches": [
            {"x": 0, "a": 1, "r": "one"},
            {"x": 0, "a": 1, "r": "two"},
            {"x": 0, "a": 1, "s": "three", "t": "four"}
        ],
        "c": 2
    });
    let output: serde_json::Value = serde_json::from_str(outcome.output.as_deref().unwrap()).unwrap();
    assert_eq!(output, expected);
}

#[test]
fn handlers_that_extend_the_same_object_do_not_see_each_other() {
    // As above, with task handlers adding the members (`with_member`, as W1's handlers do):
    // each branch's handler gets the object A built last, and the first to extend it may do
    // so in place; the others, and A's own output, must keep their members.
    let mut tasks = TaskRegistry::new();
    for (name, value) in [("One", 1), ("Two", 2), ("Three", 3)] {
        tasks.register(
            format!("arn:aws:lambda:us-east-1:123456789012:function:{name}"),
            move |input, arena| Ok(quickstep::value::with_member(arena, input, "n", Value::int(value))),
        );
    }
    let task = |name: &str| {
        format!(
            r#"{{"StartAt":"{name}","States":{{"{name}":{{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:{name}","End":true}}}}}}"#
        )
    };
    let m = machine(
        &format!(
            r#"{{"StartAt":"A","States":{{
                "A":{{"Type":"Pass","Result":1,"ResultPath":"$.a","Next":"P"}},
                "P":{{"Type":"Parallel","Branches":[{},{},{}],"ResultPath":"$.branches","End":true}}}}}}"#,
            task("One"),
            task("Two"),
            task("Three")
        ),
        tasks,
    );
    let outcome = m.run_json(r#"{"x":0}"#).unwrap();
    let expected = serde_json::json!({
        "x": 0, "a": 1,
        "branches": [{"x": 0, "a": 1, "n": 1}, {"x": 0, "a": 1, "n": 2}, {"x": 0, "a": 1, "n": 3}]
    });
    let output: serde_json::Value = serde_json::from_str(outcome.output.as_deref().unwrap()).unwrap();
    assert_eq!(output, expected);
}

#[test]
fn bad_input_text_is_an_error_with_its_position() {
    let m = machine(
        r#"{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}"#,
        TaskRegistry::new(),
    );
    let err = m.run_json("{\"a\": ").unwrap_err();
    assert_eq!(err.line, 1);
}

#[test]
fn the_machine_is_shared_across_threads() {
    let m = machine(
        r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Result":{"ok":true},"End":true}}}"#,
        TaskRegistry::new(),
    );
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let m = m.clone();
            std::thread::spawn(move || m.run_json("{}").unwrap().output)
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap().as_deref(), Some(r#"{"ok":true}"#));
    }
}

/// The failure AWS reports for a value over the payload limit in state `name`.
fn data_limit_exceeded(name: &str) -> (Status, Option<String>, Option<String>) {
    (
        Status::Failed,
        Some("States.DataLimitExceeded".to_string()),
        Some(format!(
            "The state/task '{name}' returned a result with a size exceeding the maximum number of bytes service limit."
        )),
    )
}

fn status_error_cause(outcome: &quickstep::Outcome) -> (Status, Option<String>, Option<String>) {
    (outcome.status, outcome.error.clone(), outcome.cause.clone())
}

#[test]
fn state_outputs_over_the_payload_limit_fail_the_state() {
    // Exactly 262,144 bytes of output pass; one more fails.
    let pass = machine(
        r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#,
        TaskRegistry::new(),
    );
    let input = |n: usize| format!(r#"{{"s":"{}"}}"#, "x".repeat(n));
    assert_eq!(input(262_136).len(), 262_144);
    let at_limit = pass.run_json(&input(262_136)).unwrap();
    assert_eq!(at_limit.status, Status::Succeeded);
    assert_eq!(at_limit.output.map(|o| o.len()), Some(262_144));
    assert_eq!(
        status_error_cause(&pass.run_json(&input(262_137)).unwrap()),
        data_limit_exceeded("P")
    );
    // Escapes count as written: each quote is two bytes of output.
    let quotes = |n: usize| format!(r#"{{"s":"{}"}}"#, "\\\"".repeat(n));
    assert_eq!(
        pass.run_json(&quotes(131_068)).unwrap().output.map(|o| o.len()),
        Some(262_144)
    );
    assert_eq!(
        status_error_cause(&pass.run_json(&quotes(131_069)).unwrap()),
        data_limit_exceeded("P")
    );

    // A chain that doubles a string: the state whose output passes the limit fails, JSONata's
    // `Output` too.
    let states: Vec<String> = (1..=9)
        .map(|i| {
            let next = if i == 9 {
                r#""End":true"#.to_string()
            } else {
                format!(r#""Next":"Double{}""#, i + 1)
            };
            format!(
                r#""Double{i}":{{"Type":"Pass","Output":{{"s":"{{% $states.input.s & $states.input.s %}}"}},{next}}}"#
            )
        })
        .collect();
    let doubling = machine(
        &format!(
            r#"{{"QueryLanguage":"JSONata","StartAt":"Double1","States":{{{}}}}}"#,
            states.join(",")
        ),
        TaskRegistry::new(),
    );
    // 1,000 bytes doubled eight times fit (256,008 bytes of output); the ninth time does not.
    let outcome = doubling.run_json(&input(1_000)).unwrap();
    assert_eq!(status_error_cause(&outcome), data_limit_exceeded("Double9"));

    // A Map iteration (run without a frame while it can be) fails as its state.
    let map = machine(
        r#"{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items","End":true,
            "ItemProcessor":{"StartAt":"Big","States":{"Big":{"Type":"Pass","Parameters":{"a.$":"$","b.$":"$"},"End":true}}}}}}"#,
        TaskRegistry::new(),
    );
    let items = format!(r#"{{"items":["x","{}"]}}"#, "y".repeat(140_000));
    assert_eq!(
        status_error_cause(&map.run_json(&items).unwrap()),
        data_limit_exceeded("Big")
    );
}

#[test]
fn effective_inputs_over_the_payload_limit_fail_the_state() {
    // Parameters build 300,000 bytes that OutputPath would drop: the state still fails.
    let pass = machine(
        r#"{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"a.$":"$.s","b.$":"$.s"},"ResultPath":"$.big","OutputPath":"$.small","End":true}}}"#,
        TaskRegistry::new(),
    );
    let input = format!(r#"{{"small":1,"s":"{}"}}"#, "x".repeat(150_000));
    assert_eq!(
        status_error_cause(&pass.run_json(&input).unwrap()),
        data_limit_exceeded("P")
    );
    // A Task's handler never sees such an input.
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = TaskRegistry::new();
    let counted = calls.clone();
    tasks.register("arn:aws:states:::test:count", move |_input, _arena: &Arena| {
        counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(Value::Null)
    });
    let task = machine(
        r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::test:count","Parameters":{"a.$":"$.s","b.$":"$.s"},"ResultPath":null,"OutputPath":"$.small","End":true}}}"#,
        tasks,
    );
    assert_eq!(
        status_error_cause(&task.run_json(&input).unwrap()),
        data_limit_exceeded("T")
    );
    assert_eq!(calls.load(std::sync::atomic::Ordering::Relaxed), 0);
    // Under the limit, the same Task runs and its output is small.
    let fits = format!(r#"{{"small":1,"s":"{}"}}"#, "x".repeat(100_000));
    let outcome = task.run_json(&fits).unwrap();
    assert_eq!(
        (outcome.status, outcome.output.as_deref()),
        (Status::Succeeded, Some("1"))
    );
    assert_eq!(calls.load(std::sync::atomic::Ordering::Relaxed), 1);
}

#[test]
fn oversized_variables_exceed_the_data_limit() {
    let mut tasks = TaskRegistry::new();
    tasks.register("arn:aws:states:::test:big", |_input, arena: &Arena| {
        Ok(Value::String(arena.alloc_str(&"x".repeat(200_000))))
    });
    let m = machine(
        r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::test:big","Assign":{"a.$":"$","b.$":"$"},"End":true}}}"#,
        tasks,
    );
    let outcome = m.run_json("{}").unwrap();
    assert_eq!(outcome.error.as_deref(), Some("States.DataLimitExceeded"));
    assert_eq!(
        outcome.cause.as_deref(),
        Some("The state/task 'T' assigned variables with a size exceeding the maximum number of bytes service limit.")
    );
}

#[test]
fn every_definition_problem_is_reported_at_once() {
    let err = Machine::new(
        r#"{"StartAt":"A","States":{
            "A":{"Type":"Pass","Parameters":{"x.$":"States.Nope("},"Next":"Missing"},
            "B":{"Type":"Pass","InputPath":"$[?(","End":true}}}"#,
        TaskRegistry::new(),
    )
    .unwrap_err();
    let locations: Vec<&str> = err.diagnostics.iter().filter_map(|d| d.location.as_deref()).collect();
    assert!(locations.contains(&"/States/A/Next"), "{locations:?}");
    assert!(locations.contains(&"/States/A/Parameters"), "{locations:?}");
    assert!(locations.contains(&"/States/B/InputPath"), "{locations:?}");
}

#[test]
fn timeout_seconds_path_misses_fail_like_input_path() {
    let mut tasks = TaskRegistry::new();
    tasks.register("arn:aws:states:::test:t", |input, _arena| Ok(input));
    let m = machine(
        r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::test:t","TimeoutSecondsPath":"$.timeout","End":true}}}"#,
        tasks,
    );
    let outcome = m.run_json(r#"{"timeout": 5}"#).unwrap();
    assert_eq!(outcome.status, Status::Succeeded);
    let outcome = m.run_json("{}").unwrap();
    assert_eq!(outcome.error.as_deref(), Some("States.Runtime"));
    assert_eq!(
        outcome.cause.as_deref(),
        Some("An error occurred while executing the state 'T' (entered at the event id #2). Invalid path '$.timeout' : No results for path: $['timeout']")
    );
}

#[test]
fn jsonata_sees_the_context_through_states_as_a_whole() {
    let m = machine(
        r#"{"QueryLanguage":"JSONata","StartAt":"S","States":{"S":{"Type":"Pass","Output":"{% $lookup($states, 'context').State.Name %}","End":true}}}"#,
        TaskRegistry::new(),
    );
    assert_eq!(m.run_json("{}").unwrap().output.as_deref(), Some(r#""S""#));
}

#[test]
fn abort_records_execution_aborted_once() {
    let m = machine(
        r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":10,"End":true}}}"#,
        TaskRegistry::new(),
    );
    let arena = Arena::new();
    let info = ExecutionInfo::default();
    let mut history = JsonHistory::default();
    let input = parse(&arena, "{}").unwrap();
    let mut execution = m.start(&arena, input, &info, 0).with_history(&mut history);
    assert!(matches!(execution.resume(0), Step::Suspended { until_ms: 10_000 }));
    let outcome = execution
        .abort(Some("Stopped".into()), Some("by the test".into()))
        .unwrap();
    assert_eq!(outcome.status, Status::Aborted);
    assert_eq!(outcome.error.as_deref(), Some("Stopped"));
    assert!(execution.abort(None, None).is_none(), "it has already ended");
    assert!(matches!(execution.resume(20_000), Step::Done(o) if o.status == Status::Aborted));
    drop(execution);
    let types: Vec<&str> = history.events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["ExecutionStarted", "WaitStateEntered", "ExecutionAborted"]);
    assert_eq!(
        history.events[2]["executionAbortedEventDetails"]["cause"],
        "by the test"
    );
}

#[test]
fn text_output_copies_unchanged_input_and_rewrites_the_rest() {
    // `b` changes; `a` holds a number the writer spells otherwise; `c` passes unchanged
    // (its text is copied) and `d` is an unchanged copy placed elsewhere by Parameters.
    let m = machine(
        r#"{"StartAt": "P", "States": {
            "P": {"Type": "Pass", "Result": 1, "ResultPath": "$.b.z", "Next": "Q"},
            "Q": {"Type": "Pass", "Parameters": {"all.$": "$", "d.$": "$.c.d"}, "End": true}}}"#,
        TaskRegistry::new(),
    );
    for input in [
        r#"{"a":{"x":[1,2.50]},"b":{"y":1},"c":{"d":[true,"é",0.5]}}"#,
        "{ \"a\": {\"x\": [1, 2.5]}, \"b\": {\"y\": 1},\n \"c\": {\"d\": [true, \"\\u00e9\", 0.5]} }",
    ] {
        let (outcome, _) = run_virtual(&m, input);
        assert_eq!(
            outcome.output.as_deref(),
            Some(r#"{"all":{"a":{"x":[1,2.5]},"b":{"y":1,"z":1},"c":{"d":[true,"é",0.5]}},"d":[true,"é",0.5]}"#),
            "{input}"
        );
    }
    let arena = Arena::new();
    let text = r#"{"a":{"x":[1,2.50]},"b":{"y":1},"c":{"d":[true,"é",0.5]}}"#;
    let clock = &mut VirtualClock::starting_at(0);
    let copied = m
        .run_text_in(&arena, text, &ExecutionInfo::default(), clock, |raw| {
            raw.source.containers()
        })
        .unwrap();
    // {"y":1}, {"d":[...]} and [true,"é",0.5]; the root and `a` hold 2.50
    assert_eq!(copied, 3);
}

#[test]
fn choice_rules_testing_the_same_paths_see_the_same_values() {
    // `$.n` and `$.missing` are each tested by several rules (looked up once per Choice).
    let m = machine(
        r#"{"StartAt": "C", "States": {
            "C": {"Type": "Choice", "Choices": [
                {"Variable": "$.n", "NumericGreaterThan": 10, "Next": "Big"},
                {"And": [{"Variable": "$.missing", "IsPresent": false},
                         {"Not": {"Variable": "$.n", "NumericLessThan": 0}},
                         {"Variable": "$.s", "StringEquals": "é"}], "Next": "Small"},
                {"Variable": "$.missing", "IsPresent": true, "Next": "Big"},
                {"Variable": "$.missing", "StringEquals": "x", "Next": "Big"}],
             "Default": "Big"},
            "Big": {"Type": "Pass", "Result": "big", "End": true},
            "Small": {"Type": "Pass", "Result": "small", "End": true}}}"#,
        TaskRegistry::new(),
    );
    let output = |input: &str| run_virtual(&m, input).0;
    assert_eq!(output(r#"{"n": 11, "s": "é"}"#).output.as_deref(), Some(r#""big""#));
    assert_eq!(output(r#"{"n": 3, "s": "é"}"#).output.as_deref(), Some(r#""small""#));
    // the second rule fails on `s`; the fourth tests the absent path: AWS's error
    let failed = output(r#"{"n": 3, "s": "e"}"#);
    assert_eq!(failed.status, Status::Failed);
    assert_eq!(failed.error.as_deref(), Some("States.Runtime"));
    assert!(
        failed
            .cause
            .as_deref()
            .is_some_and(|c| c
                .ends_with("Invalid path '$.missing': The choice state's condition path references an invalid value.")),
        "{:?}",
        failed.cause
    );
}

/// Runs `m` on `input` with a history sink: the outcome and the events' types.
fn run_with_history(m: &Machine, input: &str) -> (Status, Option<String>, Option<String>, Vec<String>) {
    let arena = Arena::new();
    let info = ExecutionInfo::default();
    let mut history = JsonHistory::default();
    let input = parse(&arena, input).unwrap();
    let mut execution = m.start(&arena, input, &info, 0).with_history(&mut history);
    let Step::Done(outcome) = execution.resume(0) else {
        panic!("no suspension here")
    };
    let (status, error, cause) = (outcome.status, outcome.error.clone(), outcome.cause.clone());
    drop(execution);
    let types = history
        .events
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect();
    (status, error, cause, types)
}

#[test]
fn runs_of_pass_states_fail_at_the_right_state_with_or_without_history() {
    // Nobody reads the frame between Pass states without history: it is brought up to date
    // when one fails. The failure must name the state and its entered event either way.
    let m = machine(
        r#"{"StartAt":"P1","States":{
            "P1":{"Type":"Pass","Next":"P2"},
            "P2":{"Type":"Pass","Parameters":{"x.$":"$.a"},"ResultPath":"$.p2","Next":"P3"},
            "P3":{"Type":"Pass","Parameters":{"y.$":"$.missing"},"End":true}}}"#,
        TaskRegistry::new(),
    );
    let quiet = m.run_json(r#"{"a":1}"#).unwrap();
    let (status, error, cause, types) = run_with_history(&m, r#"{"a":1}"#);
    assert_eq!((quiet.status, &quiet.error, &quiet.cause), (status, &error, &cause));
    assert_eq!((status, error.as_deref()), (Status::Failed, Some("States.Runtime")));
    let cause = cause.unwrap();
    assert!(
        cause.starts_with("An error occurred while executing the state 'P3' (entered at the event id #6)."),
        "{cause}"
    );
    assert_eq!(types[5], "PassStateEntered");
    assert_eq!(types.last().map(String::as_str), Some("ExecutionFailed"));

    // A loop of Pass states stops at the history limit, in both ways.
    let looping = machine(
        r#"{"StartAt":"L1","States":{
            "L1":{"Type":"Pass","Next":"L2"},
            "L2":{"Type":"Pass","Next":"L3"},
            "L3":{"Type":"Pass","Next":"C"},
            "C":{"Type":"Choice","Choices":[{"Variable":"$.stop","IsPresent":true,"Next":"Done"}],"Default":"L1"},
            "Done":{"Type":"Succeed"}}}"#,
        TaskRegistry::new(),
    );
    let quiet = looping.run_json("{}").unwrap();
    let (status, error, cause, types) = run_with_history(&looping, "{}");
    assert_eq!((quiet.status, &quiet.error, &quiet.cause), (status, &error, &cause));
    assert_eq!(
        (status, error.as_deref(), cause.as_deref()),
        (
            Status::Failed,
            Some("States.Runtime"),
            Some("The execution reached the maximum number of history events (25000).")
        )
    );
    assert_eq!(types.len(), 25_002, "the events up to the limit, then ExecutionFailed");

    // A run that stops at a state of another kind hands it over entered as usual.
    let mixed = machine(
        r#"{"StartAt":"P1","States":{
            "P1":{"Type":"Pass","Result":{"n":3},"Next":"P2"},
            "P2":{"Type":"Pass","Next":"C"},
            "C":{"Type":"Choice","Choices":[{"Variable":"$.n","NumericEquals":3,"Next":"P3"}]},
            "P3":{"Type":"Pass","Parameters":{"m.$":"$.n"},"Next":"F"},
            "F":{"Type":"Fail","Error":"E","Cause":"at F"}}}"#,
        TaskRegistry::new(),
    );
    let quiet = mixed.run_json("{}").unwrap();
    let (status, error, cause, types) = run_with_history(&mixed, "{}");
    assert_eq!((quiet.status, &quiet.error, &quiet.cause), (status, &error, &cause));
    assert_eq!((error.as_deref(), cause.as_deref()), (Some("E"), Some("at F")));
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "PassStateEntered",
            "PassStateExited",
            "ChoiceStateEntered",
            "ChoiceStateExited",
            "PassStateEntered",
            "PassStateExited",
            "FailStateEntered",
            "ExecutionFailed"
        ]
    );
}
