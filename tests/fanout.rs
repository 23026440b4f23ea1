//! Parallel branches and Map iterations that suspend (Wait, retry back-off) take turns: the
//! others go on meanwhile, within Map's `MaxConcurrency`. Driven with explicit virtual times
//! through `Machine::start` / `Execution::resume`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use quickstep::exec::Step;
use quickstep::history::JsonHistory;
use quickstep::value::{parse, Arena, Value};
use quickstep::{ExecutionInfo, Machine, Outcome, Status, TaskFailure, TaskRegistry};

/// When every execution starts (epoch ms).
const START_MS: i64 = 1_000_000;

/// What one driven execution gave.
struct Run {
    outcome: Outcome,
    /// When it ended, in ms after [`START_MS`].
    elapsed_ms: i64,
    /// The history's event types, in order.
    events: Vec<String>,
    /// The whole history.
    history: Vec<serde_json::Value>,
}

/// Runs `definition` on `input`, resuming each suspension exactly at its deadline.
fn run_with(definition: &str, input: &str, tasks: TaskRegistry) -> Run {
    let machine = Machine::new(definition, tasks).unwrap_or_else(|e| panic!("{e}"));
    let arena = Arena::new();
    let info = ExecutionInfo::default();
    let mut history = JsonHistory {
        include_data: true,
        ..JsonHistory::default()
    };
    let input = parse(&arena, input).unwrap();
    let mut execution = machine.start(&arena, input, &info, START_MS).with_history(&mut history);
    let mut now_ms = START_MS;
    let outcome = loop {
        match execution.resume(now_ms) {
            Step::Done(raw) => break Outcome::from_raw(&raw),
            Step::Suspended { until_ms } => {
                assert!(until_ms > now_ms, "suspended until {until_ms} at {now_ms}");
                now_ms = until_ms;
            }
            Step::AwaitingTask { .. } => panic!("these tests' tasks answer at once"),
        }
    };
    drop(execution);
    let events = history
        .events
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect();
    Run {
        outcome,
        elapsed_ms: now_ms - START_MS,
        events,
        history: history.events,
    }
}

/// Pins a closure to the handler signature (closures do not infer higher-ranked lifetimes).
fn handler<F>(f: F) -> F
where
    F: for<'a> Fn(Value<'a>, &'a Arena) -> Result<Value<'a>, TaskFailure> + Send + Sync,
{
    f
}

fn run(definition: &str, input: &str) -> Run {
    run_with(definition, input, TaskRegistry::new())
}

/// A Map over `$.items` whose iterations wait `$.s` seconds and output `$.n`; `extra` adds
/// fields to the Map state.
fn waiting_map(extra: &str) -> String {
    format!(
        r#"{{"StartAt":"M","States":{{"M":{{"Type":"Map","ItemsPath":"$.items",{extra}
            "ItemProcessor":{{"StartAt":"W","States":{{
                "W":{{"Type":"Wait","SecondsPath":"$.s","Next":"Out"}},
                "Out":{{"Type":"Pass","OutputPath":"$.n","End":true}}}}}},
            "End":true}}}}}}"#
    )
}

/// `{"items": [{"n": 0, "s": 1}, ...]}`: `count` items that each wait one second.
fn one_second_items(count: usize) -> String {
    let items: Vec<String> = (0..count).map(|n| format!(r#"{{"n":{n},"s":1}}"#)).collect();
    format!(r#"{{"items":[{}]}}"#, items.join(","))
}

fn output_of(run: &Run) -> serde_json::Value {
    assert_eq!(run.outcome.status, Status::Succeeded, "{:?}", run.outcome);
    run.outcome.output_value().unwrap()
}

/// The events after the (first) `FailStateEntered`.
fn events_after_the_fail_state(run: &Run) -> &[String] {
    let failure = run.events.iter().position(|e| e == "FailStateEntered").unwrap();
    &run.events[failure + 1..]
}

fn count(events: &[String], event_type: &str) -> usize {
    events.iter().filter(|e| *e == event_type).count()
}

#[test]
fn map_iterations_wait_together_without_a_limit() {
    for extra in ["", r#""MaxConcurrency":0,"#] {
        let run = run(&waiting_map(extra), &one_second_items(10));
        assert_eq!(output_of(&run), serde_json::json!([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
        assert_eq!(run.elapsed_ms, 1_000, "{extra}");
    }
}

#[test]
fn max_concurrency_bounds_the_iterations_in_progress() {
    for (limit, seconds) in [(1, 10), (2, 5), (3, 4), (4, 3), (10, 1), (20, 1)] {
        let run = run(
            &waiting_map(&format!(r#""MaxConcurrency":{limit},"#)),
            &one_second_items(10),
        );
        assert_eq!(output_of(&run), serde_json::json!([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
        assert_eq!(run.elapsed_ms, seconds * 1_000, "MaxConcurrency {limit}");
    }
}

#[test]
fn max_concurrency_path_is_honoured() {
    let items = one_second_items(6);
    let input = format!(r#"{{"limit":2,{}"#, &items[1..]);
    let run = run(&waiting_map(r#""MaxConcurrencyPath":"$.limit","#), &input);
    assert_eq!(output_of(&run), serde_json::json!([0, 1, 2, 3, 4, 5]));
    assert_eq!(run.elapsed_ms, 3_000);
}

#[test]
fn map_results_keep_item_order_when_iterations_finish_out_of_order() {
    let run = run(
        &waiting_map(""),
        r#"{"items":[{"n":"a","s":3},{"n":"b","s":1},{"n":"c","s":2},{"n":"d","s":0}]}"#,
    );
    assert_eq!(output_of(&run), serde_json::json!(["a", "b", "c", "d"]));
    assert_eq!(run.elapsed_ms, 3_000);
    // Each iteration starts before the previous one's wait ends, and they finish in wait order.
    let machine = Machine::new(&waiting_map(""), TaskRegistry::new()).unwrap();
    let arena = Arena::new();
    let info = ExecutionInfo::default();
    let mut history = JsonHistory {
        include_data: true,
        ..JsonHistory::default()
    };
    let input = parse(&arena, r#"{"items":[{"n":"a","s":3},{"n":"b","s":1},{"n":"c","s":2}]}"#).unwrap();
    let mut execution = machine.start(&arena, input, &info, START_MS).with_history(&mut history);
    let mut now_ms = START_MS;
    while let Step::Suspended { until_ms } = execution.resume(now_ms) {
        now_ms = until_ms;
    }
    drop(execution);
    let finished: Vec<u64> = history
        .events
        .iter()
        .filter(|e| e["type"] == "MapIterationSucceeded")
        .map(|e| e["mapIterationSucceededEventDetails"]["index"].as_u64().unwrap())
        .collect();
    // b, c, a
    assert_eq!(finished, [1, 2, 0]);
}

#[test]
fn events_of_suspended_iterations_interleave() {
    let run = run(&waiting_map(""), &one_second_items(2));
    assert_eq!(
        run.events,
        [
            "ExecutionStarted",
            "MapStateEntered",
            "MapStateStarted",
            "MapIterationStarted",
            "WaitStateEntered",
            "MapIterationStarted",
            "WaitStateEntered",
            "WaitStateExited",
            "PassStateEntered",
            "PassStateExited",
            "MapIterationSucceeded",
            "WaitStateExited",
            "PassStateEntered",
            "PassStateExited",
            "MapIterationSucceeded",
            "MapStateSucceeded",
            "MapStateExited",
            "ExecutionSucceeded",
        ]
    );
}

#[test]
fn parallel_branches_wait_together_and_keep_branch_order() {
    let branch = |seconds: u32, name: &str| {
        format!(
            r#"{{"StartAt":"W{name}","States":{{"W{name}":{{"Type":"Wait","Seconds":{seconds},"Next":"R{name}"}},
                "R{name}":{{"Type":"Pass","Result":"{name}","End":true}}}}}}"#
        )
    };
    let definition = format!(
        r#"{{"StartAt":"P","States":{{"P":{{"Type":"Parallel","End":true,"Branches":[{},{},{}]}}}}}}"#,
        branch(3, "three"),
        branch(1, "one"),
        branch(2, "two")
    );
    let run = run(&definition, "{}");
    assert_eq!(output_of(&run), serde_json::json!(["three", "one", "two"]));
    assert_eq!(run.elapsed_ms, 3_000);
}

#[test]
fn nested_fanouts_inside_parallel_and_map_wait_together() {
    // Branch 0: a Map of four 1 s waits, two at a time (2 s); branch 1: a 3 s wait.
    let definition = r#"{"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[
            {"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items","MaxConcurrency":2,
                "ItemProcessor":{"StartAt":"W","States":{
                    "W":{"Type":"Wait","SecondsPath":"$.s","Next":"Out"},
                    "Out":{"Type":"Pass","OutputPath":"$.n","End":true}}},
                "End":true}}},
            {"StartAt":"Late","States":{"Late":{"Type":"Wait","Seconds":3,"Next":"R"},
                "R":{"Type":"Pass","Result":"late","End":true}}}]}}}"#;
    let in_parallel = run(definition, &one_second_items(4));
    assert_eq!(output_of(&in_parallel), serde_json::json!([[0, 1, 2, 3], "late"]));
    assert_eq!(in_parallel.elapsed_ms, 3_000);

    // A Map of Maps: three outer items, each an inner Map of two 1 s waits: 1 s in all.
    let definition = r#"{"StartAt":"Outer","States":{"Outer":{"Type":"Map","ItemsPath":"$.groups","End":true,
        "ItemProcessor":{"StartAt":"Inner","States":{"Inner":{"Type":"Map","ItemsPath":"$.items","End":true,
            "ItemProcessor":{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":1,"Next":"Out"},
                "Out":{"Type":"Pass","OutputPath":"$.n","End":true}}}}}}}}}"#;
    let in_map = run(
        definition,
        r#"{"groups":[{"items":[{"n":1},{"n":2}]},{"items":[{"n":3},{"n":4}]},{"items":[{"n":5},{"n":6}]}]}"#,
    );
    assert_eq!(output_of(&in_map), serde_json::json!([[1, 2], [3, 4], [5, 6]]));
    assert_eq!(in_map.elapsed_ms, 1_000);
}

/// A Map whose iterations wait `$.s` seconds, then fail when `$.fail` is true; `extra` adds
/// fields to the Map state.
fn failing_map(extra: &str) -> String {
    failing_map_then(extra, "")
}

/// [`failing_map`] followed by `more_states` (`,"Name":{...}`).
fn failing_map_then(extra: &str, more_states: &str) -> String {
    format!(
        r#"{{"StartAt":"M","States":{{"M":{{"Type":"Map","ItemsPath":"$.items",{extra}
            "ItemProcessor":{{"StartAt":"W","States":{{
                "W":{{"Type":"Wait","SecondsPath":"$.s","Next":"C"}},
                "C":{{"Type":"Choice","Default":"Out","Choices":[{{"Next":"Boom","And":[
                    {{"Variable":"$.fail","IsPresent":true}},{{"Variable":"$.fail","BooleanEquals":true}}]}}]}},
                "Boom":{{"Type":"Fail","Error":"Boom","Cause":"item failed"}},
                "Out":{{"Type":"Pass","OutputPath":"$.n","End":true}}}}}},
            "End":true}}{more_states}}}}}"#
    )
}

const ONE_FAILS_EARLY: &str = r#"{"items":[{"n":0,"s":5},{"n":1,"s":1,"fail":true},{"n":2,"s":5}]}"#;

#[test]
fn a_failing_iteration_fails_the_map_and_abandons_the_parked_ones() {
    let run = run(&failing_map(""), ONE_FAILS_EARLY);
    assert_eq!(run.outcome.status, Status::Failed);
    assert_eq!(run.outcome.error.as_deref(), Some("Boom"));
    assert_eq!(run.outcome.cause.as_deref(), Some("item failed"));
    // It fails when the failing iteration fails, not when the others would have finished.
    assert_eq!(run.elapsed_ms, 1_000);
    assert_eq!(
        events_after_the_fail_state(&run),
        [
            "MapIterationAborted",
            "WaitStateAborted",
            "MapIterationAborted",
            "WaitStateAborted",
            "MapIterationFailed",
            "MapStateFailed",
            "ExecutionFailed",
        ]
    );
    assert_eq!(count(&run.events, "WaitStateExited"), 1);
}

#[test]
fn catch_handles_a_map_failing_while_iterations_are_parked() {
    let definition = failing_map_then(
        r#""Catch":[{"ErrorEquals":["Boom"],"ResultPath":"$.error","Next":"Handled"}],"#,
        r#","Handled":{"Type":"Pass","OutputPath":"$.error","End":true}"#,
    );
    let run = run(&definition, ONE_FAILS_EARLY);
    assert_eq!(
        output_of(&run),
        serde_json::json!({"Error": "Boom", "Cause": "item failed"})
    );
    assert_eq!(run.elapsed_ms, 1_000);
    assert_eq!(count(&run.events, "MapIterationAborted"), 2);
}

#[test]
fn a_failing_branch_abandons_the_waiting_branches() {
    let definition = r#"{"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[
        {"StartAt":"Long","States":{"Long":{"Type":"Wait","Seconds":10,"End":true}}},
        {"StartAt":"Short","States":{"Short":{"Type":"Wait","Seconds":2,"Next":"F"},"F":{"Type":"Fail","Error":"Late"}}},
        {"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items","End":true,
            "ItemProcessor":{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":10,"End":true}}}}}}]}}}"#;
    let run = run(definition, r#"{"items":[1]}"#);
    assert_eq!(run.outcome.status, Status::Failed);
    assert_eq!(run.outcome.error.as_deref(), Some("Late"));
    assert_eq!(run.elapsed_ms, 2_000);
    assert_eq!(
        events_after_the_fail_state(&run),
        [
            "WaitStateAborted",
            "MapStateAborted",
            "MapIterationAborted",
            "WaitStateAborted",
            "ParallelStateFailed",
            "ExecutionFailed",
        ]
    );
}

#[test]
fn a_retry_back_off_inside_an_iteration_lets_the_others_go_on() {
    let failed_once = Arc::new(AtomicBool::new(false));
    let mut tasks = TaskRegistry::new();
    let flag = Arc::clone(&failed_once);
    tasks.register(
        "arn:aws:states:::test:flaky",
        handler(move |input, _arena| {
            let first = input.get("n").and_then(|n| n.as_number()).and_then(|n| n.as_i64()) == Some(0);
            if first && !flag.swap(true, Ordering::SeqCst) {
                Err(TaskFailure::new("Flaky", "try again"))
            } else {
                Ok(input)
            }
        }),
    );
    let definition = r#"{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items","End":true,
        "ItemProcessor":{"StartAt":"T","States":{
            "T":{"Type":"Task","Resource":"arn:aws:states:::test:flaky","Next":"W",
                 "Retry":[{"ErrorEquals":["Flaky"],"IntervalSeconds":5,"MaxAttempts":1}]},
            "W":{"Type":"Wait","Seconds":1,"Next":"Out"},
            "Out":{"Type":"Pass","OutputPath":"$.n","End":true}}}}}}"#;
    let run = run_with(definition, r#"{"items":[{"n":0},{"n":1},{"n":2}]}"#, tasks);
    assert_eq!(output_of(&run), serde_json::json!([0, 1, 2]));
    assert!(failed_once.load(Ordering::SeqCst));
    // Item 0: 5 s of back-off, then its 1 s wait; the others finished at 1 s meanwhile.
    assert_eq!(run.elapsed_ms, 6_000);
    let first_success = run.events.iter().position(|e| e == "MapIterationSucceeded").unwrap();
    let retried = run.events.iter().rposition(|e| e == "TaskScheduled").unwrap();
    assert!(first_success < retried, "{:?}", run.events);
}

#[test]
fn tolerated_failures_of_suspended_iterations() {
    let input = r#"{"items":[{"n":0,"s":3},{"n":1,"s":1,"fail":true},{"n":2,"s":2,"fail":true},{"n":3,"s":1}]}"#;
    let run_tolerating = |count: u32| run(&failing_map(&format!(r#""ToleratedFailureCount":{count},"#)), input);

    let tolerated = run_tolerating(2);
    let failure = serde_json::json!({"Error": "Boom", "Cause": "item failed"});
    assert_eq!(output_of(&tolerated), serde_json::json!([0, failure, failure, 3]));
    assert_eq!(tolerated.elapsed_ms, 3_000);
    assert_eq!(count(&tolerated.events, "MapIterationFailed"), 2);
    assert_eq!(count(&tolerated.events, "MapIterationAborted"), 0);

    // One tolerated: the second failure (at 2 s) fails the Map and abandons item 0.
    let exceeded = run_tolerating(1);
    assert_eq!(exceeded.outcome.status, Status::Failed);
    assert_eq!(
        exceeded.outcome.error.as_deref(),
        Some("States.ExceedToleratedFailureThreshold")
    );
    assert_eq!(exceeded.elapsed_ms, 2_000);
    assert_eq!(count(&exceeded.events, "MapIterationAborted"), 1);
    assert_eq!(count(&exceeded.events, "MapIterationSucceeded"), 1);
}

#[test]
fn the_execution_timeout_ends_waiting_iterations() {
    let definition = waiting_map("").replacen('{', r#"{"TimeoutSeconds":3,"#, 1);
    let items = r#"{"items":[{"n":0,"s":10},{"n":1,"s":20}]}"#;
    let run = run(&definition, items);
    assert_eq!(run.outcome.status, Status::TimedOut);
    assert_eq!(run.elapsed_ms, 3_000);
}

#[test]
fn resumed_early_a_map_suspends_again_until_its_earliest_child() {
    let machine = Machine::new(&waiting_map(""), TaskRegistry::new()).unwrap();
    let arena = Arena::new();
    let info = ExecutionInfo::default();
    let input = parse(&arena, r#"{"items":[{"n":0,"s":4},{"n":1,"s":2}]}"#).unwrap();
    let mut execution = machine.start(&arena, input, &info, 0);
    assert!(matches!(execution.resume(0), Step::Suspended { until_ms: 2_000 }));
    assert!(matches!(execution.resume(1_000), Step::Suspended { until_ms: 2_000 }));
    assert!(matches!(execution.resume(2_000), Step::Suspended { until_ms: 4_000 }));
    match execution.resume(4_000) {
        Step::Done(outcome) => assert_eq!(outcome.output.unwrap().to_json_string(), "[0,1]"),
        other => panic!("expected the end, got {other:?}"),
    }
}

/// Each event without its timestamp.
fn described(history: &[serde_json::Value]) -> Vec<serde_json::Value> {
    history
        .iter()
        .map(|e| {
            let mut e = e.clone();
            e.as_object_mut().unwrap().shift_remove("timestamp");
            e
        })
        .collect()
}

/// A Map whose iterations are one Pass state (run without frames of their own).
const ONE_PASS_MAP: &str = r#"{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items",
    "ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"x.$":"$.i"},"End":true}}},
    "End":true}}}"#;

#[test]
fn one_pass_iterations_record_every_event_with_its_data() {
    let run = run(ONE_PASS_MAP, r#"{"items":[{"i":1},{"i":2}]}"#);
    assert_eq!(run.outcome.output.as_deref(), Some(r#"[{"x":1},{"x":2}]"#));
    // Iteration `index` from event `first` on: its MapIterationStarted follows the previous
    // iteration's last event (the first, MapStateStarted).
    let iteration = |first: u32, index: u32| {
        let i = index + 1;
        let started_after = if index == 0 { first - 1 } else { first - 2 };
        let parse = |text: String| serde_json::from_str::<serde_json::Value>(&text).unwrap();
        [
            format!(
                r#"{{"id":{first},"previousEventId":{started_after},"type":"MapIterationStarted","mapIterationStartedEventDetails":{{"name":"M","index":{index}}}}}"#
            ),
            format!(
                r#"{{"id":{},"previousEventId":{first},"type":"PassStateEntered","stateEnteredEventDetails":{{"name":"P","input":"{{\"i\":{i}}}","inputDetails":{{"truncated":false}}}}}}"#,
                first + 1
            ),
            format!(
                r#"{{"id":{},"previousEventId":{},"type":"PassStateExited","stateExitedEventDetails":{{"name":"P","output":"{{\"x\":{i}}}","outputDetails":{{"truncated":false}}}}}}"#,
                first + 2,
                first + 1
            ),
            format!(
                r#"{{"id":{},"previousEventId":{},"type":"MapIterationSucceeded","mapIterationSucceededEventDetails":{{"name":"M","index":{index}}}}}"#,
                first + 3,
                first + 2
            ),
        ]
        .map(parse)
    };
    let events = described(&run.history);
    assert_eq!(events.len(), 14, "{events:#?}");
    assert_eq!(events[3..7], iteration(4, 0), "{events:#?}");
    assert_eq!(events[7..11], iteration(8, 1), "{events:#?}");
}

#[test]
fn a_one_pass_iteration_that_fails_reports_its_own_entered_event() {
    let run = run(ONE_PASS_MAP, r#"{"items":[{"i":1},{}]}"#);
    assert_eq!(run.outcome.status, Status::Failed);
    assert_eq!(run.outcome.error.as_deref(), Some("States.Runtime"));
    assert_eq!(
        run.outcome.cause.as_deref(),
        Some("An error occurred while executing the state 'P' (entered at the event id #9). The JSONPath '$.i' specified for the field 'x.$' could not be found in the input '{}'")
    );
    assert_eq!(
        run.events[3..11],
        [
            "MapIterationStarted",
            "PassStateEntered",
            "PassStateExited",
            "MapIterationSucceeded",
            "MapIterationStarted",
            "PassStateEntered",
            "MapIterationFailed",
            "MapStateFailed"
        ]
    );
}

#[test]
fn one_pass_branches_and_iterations_see_the_variables_around_them() {
    let definition = r#"{"StartAt":"Set","States":{
        "Set":{"Type":"Pass","Assign":{"v":"outer"},"Next":"Fan"},
        "Fan":{"Type":"Parallel","Branches":[
            {"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"a.$":"$v"},"ResultPath":"$.r","OutputPath":"$.r","End":true}}},
            {"StartAt":"B","States":{"B":{"Type":"Pass","Result":{"b":2},"End":true}}}],
         "Next":"M"},
        "M":{"Type":"Map",
             "ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"v.$":"$v","item.$":"$"},"End":true}}},
             "End":true}}}"#;
    let run = run(definition, r#"{"x":1}"#);
    assert_eq!(
        run.outcome.output.as_deref(),
        Some(r#"[{"v":"outer","item":{"a":"outer"}},{"v":"outer","item":{"b":2}}]"#),
        "{:?}",
        run.outcome
    );
}

#[test]
fn one_pass_iterations_stop_at_the_history_limit() {
    let items: Vec<String> = (0..7_000).map(|i| format!(r#"{{"i":{i}}}"#)).collect();
    let run = run(ONE_PASS_MAP, &format!(r#"{{"items":[{}]}}"#, items.join(",")));
    assert_eq!(run.outcome.status, Status::Failed);
    assert_eq!(run.outcome.error.as_deref(), Some("States.Runtime"));
    assert_eq!(
        run.outcome.cause.as_deref(),
        Some("The execution reached the maximum number of history events (25000).")
    );
    // The limit is checked between steps (an iteration run without a frame is one step of
    // four events): it stops within a step of crossing it, then records ExecutionFailed.
    assert!((25_002..=25_005).contains(&run.events.len()), "{}", run.events.len());
    assert_eq!(run.events.last().map(String::as_str), Some("ExecutionFailed"));
    let fewer: Vec<String> = (0..6_000).map(|i| format!(r#"{{"i":{i}}}"#)).collect();
    let run = self::run(ONE_PASS_MAP, &format!(r#"{{"items":[{}]}}"#, fewer.join(",")));
    assert_eq!(run.outcome.status, Status::Succeeded);
}

/// Runs `definition` on `input` with no history sink, to the end.
fn run_without_history(definition: &str, input: &str) -> Outcome {
    let machine = Machine::new(definition, TaskRegistry::new()).unwrap_or_else(|e| panic!("{e}"));
    let arena = Arena::new();
    let input = parse(&arena, input).unwrap();
    let info = ExecutionInfo::default();
    let mut execution = machine.start(&arena, input, &info, START_MS);
    match execution.resume(START_MS) {
        Step::Done(raw) => Outcome::from_raw(&raw),
        other => panic!("one-pass iterations do not suspend: {other:?}"),
    }
}

#[test]
fn one_pass_iterations_without_history_end_as_with_it() {
    // Without a history sink the iterations' events are only counted: the outputs, the
    // failures and the history limit are the same as with one.
    let items = |n: usize| {
        let items: Vec<String> = (0..n).map(|i| format!(r#"{{"i":{i}}}"#)).collect();
        format!(r#"{{"items":[{}]}}"#, items.join(","))
    };
    for input in [
        items(0),
        items(3),
        items(6_000),
        items(7_000),
        r#"{"items":[{"i":1},{"j":2}]}"#.to_string(),
        r#"{"items":[{"i":1},7]}"#.to_string(),
    ] {
        let with = run(ONE_PASS_MAP, &input).outcome;
        let without = run_without_history(ONE_PASS_MAP, &input);
        assert_eq!(
            (&without.status, &without.output, &without.error, &without.cause),
            (&with.status, &with.output, &with.error, &with.cause),
            "{}",
            &input[..input.len().min(60)]
        );
    }
    assert_eq!(
        run_without_history(ONE_PASS_MAP, &items(7_000)).cause.as_deref(),
        Some("The execution reached the maximum number of history events (25000).")
    );
    assert_eq!(
        run_without_history(ONE_PASS_MAP, &items(2)).output.as_deref(),
        Some(r#"[{"x":0},{"x":1}]"#)
    );
}
