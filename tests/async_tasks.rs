//! Tasks that complete later (the shape of `.waitForTaskToken`): completion, failure, Retry
//! and Catch, `TimeoutSeconds` / `HeartbeatSeconds` on a virtual clock, unknown tokens, on
//! one driven execution and on the runtime.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use quickstep::exec::Step;
use quickstep::history::JsonHistory;
use quickstep::runtime::{Completed, Completion, Runtime};
use quickstep::value::{parse, Arena, Value};
use quickstep::{
    ExecutionInfo, Machine, Status, TaskContext, TaskFailure, TaskHandler, TaskRegistry, TaskReply, TaskToken,
    TaskTokenError, VirtualClock,
};

/// 2024-01-01T00:00:00Z.
const T0: i64 = 1_704_067_200_000;

/// AWS's default task timeout, in ms.
const DEFAULT_TIMEOUT_MS: i64 = 99_999_999_000;

fn machine(definition: &str, tasks: TaskRegistry) -> Machine {
    Machine::new(definition, tasks).unwrap_or_else(|e| panic!("{e}"))
}

/// A registry whose `later` resource completes later; the tokens it hands out are kept.
fn later_tasks() -> (TaskRegistry, Arc<Mutex<Vec<TaskToken>>>) {
    let tokens = Arc::new(Mutex::new(Vec::new()));
    let kept = Arc::clone(&tokens);
    let mut tasks = TaskRegistry::new();
    tasks.register_async("arn:aws:states:::test:later", move |_input, token| {
        kept.lock().unwrap().push(token);
        Ok(())
    });
    (tasks, tokens)
}

/// One task state `T` on `later` with extra fields, then `Done` (a Pass).
fn one_task(fields: &str) -> String {
    format!(
        r#"{{"StartAt":"T","States":{{
            "T":{{"Type":"Task","Resource":"arn:aws:states:::test:later",{fields}"Next":"Done"}},
            "Done":{{"Type":"Pass","End":true}}}}}}"#
    )
}

fn awaiting(step: Step<'_>) -> (TaskToken, i64) {
    match step {
        Step::AwaitingTask { token, until_ms } => (token, until_ms),
        other => panic!("expected an awaited task, got {other:?}"),
    }
}

fn done(step: Step<'_>) -> (Status, Option<String>, Option<String>, Option<String>) {
    match step {
        Step::Done(o) => (o.status, o.output.map(|v| v.to_json_string()), o.error, o.cause),
        other => panic!("expected the end, got {other:?}"),
    }
}

// ---- one execution, driven by hand ----

#[test]
fn completes_later_with_its_output() {
    let (tasks, tokens) = later_tasks();
    let m = machine(&one_task(r#""ResultPath":"$.answer","#), tasks);
    let arena = Arena::new();
    let info = ExecutionInfo::default();
    let mut history = JsonHistory::default();
    let input = parse(&arena, r#"{"id":7}"#).unwrap();
    let mut execution = m.start(&arena, input, &info, T0).with_history(&mut history);
    let (token, until_ms) = awaiting(execution.resume(T0));
    assert_eq!(tokens.lock().unwrap().as_slice(), &[token]);
    assert_eq!(until_ms, T0 + DEFAULT_TIMEOUT_MS);
    // Resumed before anything arrives: still awaiting, same deadline.
    assert_eq!(awaiting(execution.resume(T0 + 1_000)), (token, until_ms));
    let result = parse(&arena, r#"{"ok":true}"#).unwrap();
    execution.complete_task(token, result).unwrap();
    let (status, output, _, _) = done(execution.resume(T0 + 2_000));
    assert_eq!(status, Status::Succeeded);
    assert_eq!(output.as_deref(), Some(r#"{"id":7,"answer":{"ok":true}}"#));
    // The task is over: its token is refused.
    assert_eq!(
        execution.complete_task(token, Value::Null),
        Err(TaskTokenError::NotAwaiting(token))
    );
    drop(execution);
    let types: Vec<&str> = history.events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSucceeded",
            "TaskStateExited",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ]
    );
}

#[test]
fn fails_later_with_error_and_cause() {
    let (tasks, _) = later_tasks();
    let m = machine(&one_task(""), tasks);
    let arena = Arena::new();
    let info = ExecutionInfo::default();
    let mut execution = m.start(&arena, Value::EMPTY_OBJECT, &info, T0);
    let (token, _) = awaiting(execution.resume(T0));
    execution.fail_task(token, "Payment.Declined", "card expired").unwrap();
    let (status, _, error, cause) = done(execution.resume(T0));
    assert_eq!(status, Status::Failed);
    assert_eq!(error.as_deref(), Some("Payment.Declined"));
    assert_eq!(cause.as_deref(), Some("card expired"));
}

#[test]
fn failure_later_is_retried_then_succeeds() {
    let (tasks, tokens) = later_tasks();
    let m = machine(
        &one_task(r#""Retry":[{"ErrorEquals":["Busy"],"IntervalSeconds":3,"MaxAttempts":2}],"#),
        tasks,
    );
    let arena = Arena::new();
    let info = ExecutionInfo::default();
    let mut execution = m.start(&arena, Value::EMPTY_OBJECT, &info, T0);
    let (first, _) = awaiting(execution.resume(T0));
    execution.fail_task(first, "Busy", "try again").unwrap();
    assert!(matches!(execution.resume(T0 + 500), Step::Suspended { until_ms } if until_ms == T0 + 3_500));
    let (second, until_ms) = awaiting(execution.resume(T0 + 3_500));
    assert_ne!(first, second, "every attempt has its own token");
    assert_eq!(
        until_ms,
        T0 + 3_500 + DEFAULT_TIMEOUT_MS,
        "the timeout counts from the attempt"
    );
    assert_eq!(tokens.lock().unwrap().as_slice(), &[first, second]);
    assert_eq!(
        execution.complete_task(first, Value::Null),
        Err(TaskTokenError::NotAwaiting(first))
    );
    execution.complete_task(second, Value::int(42)).unwrap();
    let (status, output, _, _) = done(execution.resume(T0 + 4_000));
    assert_eq!(status, Status::Succeeded);
    assert_eq!(output.as_deref(), Some("42"));
}

#[test]
fn failure_later_is_caught() {
    let (tasks, _) = later_tasks();
    let m = machine(
        r#"{"StartAt":"T","States":{
            "T":{"Type":"Task","Resource":"arn:aws:states:::test:later","Catch":[{"ErrorEquals":["Payment.Declined"],"ResultPath":"$.error","Next":"Refund"}],"End":true},
            "Refund":{"Type":"Pass","End":true}}}"#,
        tasks,
    );
    let arena = Arena::new();
    let info = ExecutionInfo::default();
    let input = parse(&arena, r#"{"order":1}"#).unwrap();
    let mut execution = m.start(&arena, input, &info, T0);
    let (token, _) = awaiting(execution.resume(T0));
    execution.fail_task(token, "Payment.Declined", "card expired").unwrap();
    let (status, output, _, _) = done(execution.resume(T0));
    assert_eq!(status, Status::Succeeded);
    assert_eq!(
        output.as_deref(),
        Some(r#"{"order":1,"error":{"Error":"Payment.Declined","Cause":"card expired"}}"#)
    );
}

#[test]
fn timeout_seconds_expire_as_states_timeout() {
    let (tasks, _) = later_tasks();
    let m = machine(&one_task(r#""TimeoutSeconds":30,"#), tasks);
    let arena = Arena::new();
    let info = ExecutionInfo::default();
    let mut history = JsonHistory::default();
    let mut execution = m
        .start(&arena, Value::EMPTY_OBJECT, &info, T0)
        .with_history(&mut history);
    let (token, until_ms) = awaiting(execution.resume(T0));
    assert_eq!(until_ms, T0 + 30_000);
    assert_eq!(awaiting(execution.resume(T0 + 29_999)), (token, until_ms));
    let (status, _, error, cause) = done(execution.resume(T0 + 30_000));
    assert_eq!(status, Status::Failed);
    assert_eq!(error.as_deref(), Some("States.Timeout"));
    assert_eq!(cause, None);
    assert!(execution.complete_task(token, Value::Null).is_err());
    drop(execution);
    let timed_out = history
        .events
        .iter()
        .find(|e| e["type"] == "TaskTimedOut")
        .expect("a TaskTimedOut event");
    assert_eq!(timed_out["taskTimedOutEventDetails"]["error"], "States.Timeout");
}

#[test]
fn timeout_is_caught_on_a_virtual_clock() {
    // Nothing completes the task in `run_json_with`: it runs into its timeout at once.
    let (tasks, _) = later_tasks();
    let m = machine(
        r#"{"StartAt":"T","States":{
            "T":{"Type":"Task","Resource":"arn:aws:states:::test:later","TimeoutSeconds":60,"Catch":[{"ErrorEquals":["States.Timeout"],"Next":"Late"}],"End":true},
            "Late":{"Type":"Pass","End":true}}}"#,
        tasks,
    );
    let mut clock = VirtualClock::starting_at(T0);
    let outcome = m.run_json_with("{}", &ExecutionInfo::default(), &mut clock).unwrap();
    assert_eq!(outcome.status, Status::Succeeded);
    assert_eq!(outcome.output.as_deref(), Some(r#"{"Error":"States.Timeout"}"#));
    assert_eq!(quickstep::Clock::now_ms(&clock), T0 + 60_000);
}

#[test]
fn timeout_is_retried() {
    let (tasks, _) = later_tasks();
    let m = machine(
        &one_task(
            r#""TimeoutSeconds":10,"Retry":[{"ErrorEquals":["States.Timeout"],"IntervalSeconds":1,"MaxAttempts":1}],"#,
        ),
        tasks,
    );
    let arena = Arena::new();
    let info = ExecutionInfo::default();
    let mut execution = m.start(&arena, Value::EMPTY_OBJECT, &info, T0);
    let (first, until_ms) = awaiting(execution.resume(T0));
    assert!(matches!(execution.resume(until_ms), Step::Suspended { until_ms } if until_ms == T0 + 11_000));
    let (second, until_ms) = awaiting(execution.resume(T0 + 11_000));
    assert_ne!(first, second);
    assert_eq!(until_ms, T0 + 21_000);
    // The one retry is used up: the second timeout fails the execution.
    let (status, _, error, _) = done(execution.resume(until_ms));
    assert_eq!(status, Status::Failed);
    assert_eq!(error.as_deref(), Some("States.Timeout"));
}

#[test]
fn a_failure_may_have_neither_error_nor_cause() {
    let (tasks, _) = later_tasks();
    let m = machine(&one_task(""), tasks);
    let arena = Arena::new();
    let info = ExecutionInfo::default();
    let mut history = JsonHistory {
        include_data: true,
        events: Vec::new(),
    };
    let mut execution = m
        .start(&arena, Value::EMPTY_OBJECT, &info, T0)
        .with_history(&mut history);
    let (token, _) = awaiting(execution.resume(T0));
    execution.fail_task_with(token, None, None).unwrap();
    let (status, _, error, cause) = done(execution.resume(T0 + 1));
    assert_eq!((status, error, cause), (Status::Failed, None, None));
    drop(execution);
    let failed = history.events.iter().find(|e| e["type"] == "TaskFailed").unwrap();
    assert_eq!(
        failed["taskFailedEventDetails"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["resourceType", "resource"]
    );
}

#[test]
fn heartbeat_expiry_is_states_timeout_as_aws_records_it() {
    let (tasks, _) = later_tasks();
    let m = machine(&one_task(r#""TimeoutSeconds":100,"HeartbeatSeconds":10,"#), tasks);
    let arena = Arena::new();
    let info = ExecutionInfo::default();
    let mut execution = m.start(&arena, Value::EMPTY_OBJECT, &info, T0);
    let (token, until_ms) = awaiting(execution.resume(T0));
    assert_eq!(until_ms, T0 + 10_000);
    let (status, _, error, cause) = done(execution.resume(T0 + 10_000));
    assert_eq!(status, Status::Failed);
    assert_eq!(error.as_deref(), Some("States.Timeout"));
    assert_eq!(cause, None);
    assert_eq!(
        execution.heartbeat_task(token, T0 + 10_000),
        Err(TaskTokenError::NotAwaiting(token))
    );
}

#[test]
fn heartbeats_keep_the_task_alive_until_its_timeout() {
    let (tasks, _) = later_tasks();
    let m = machine(
        &one_task(
            r#""TimeoutSeconds":25,"HeartbeatSeconds":10,"Catch":[{"ErrorEquals":["States.Timeout"],"Next":"Done"}],"#,
        ),
        tasks,
    );
    let arena = Arena::new();
    let info = ExecutionInfo::default();
    let mut execution = m.start(&arena, Value::EMPTY_OBJECT, &info, T0);
    let (token, _) = awaiting(execution.resume(T0));
    assert_eq!(execution.heartbeat_task(token, T0 + 8_000), Ok(T0 + 18_000));
    assert_eq!(awaiting(execution.resume(T0 + 12_000)), (token, T0 + 18_000));
    assert_eq!(
        execution.heartbeat_task(token, T0 + 16_000),
        Ok(T0 + 25_000),
        "capped by TimeoutSeconds"
    );
    // Heartbeats do not extend TimeoutSeconds: the task times out at 25 s, caught.
    let (status, output, _, _) = done(execution.resume(T0 + 25_000));
    assert_eq!(status, Status::Succeeded);
    assert_eq!(output.as_deref(), Some(r#"{"Error":"States.Timeout"}"#));
}

#[test]
fn timeout_seconds_path_reads_the_input() {
    let (tasks, _) = later_tasks();
    let m = machine(
        &one_task(r#""TimeoutSecondsPath":"$.limit","HeartbeatSecondsPath":"$.beat","#),
        tasks,
    );
    let arena = Arena::new();
    let info = ExecutionInfo::default();
    let input = parse(&arena, r#"{"limit":5,"beat":4}"#).unwrap();
    let mut execution = m.start(&arena, input, &info, T0);
    let (token, until_ms) = awaiting(execution.resume(T0));
    assert_eq!(until_ms, T0 + 4_000);
    assert_eq!(execution.heartbeat_task(token, T0 + 3_000), Ok(T0 + 5_000));
    let (status, _, error, _) = done(execution.resume(T0 + 5_000));
    assert_eq!(status, Status::Failed);
    assert_eq!(error.as_deref(), Some("States.Timeout"));

    // A zero from the path fails as AWS fails it.
    let input = parse(&arena, r#"{"limit":0,"beat":4}"#).unwrap();
    let mut execution = m.start(&arena, input, &info, T0);
    let (status, _, error, cause) = done(execution.resume(T0));
    assert_eq!(status, Status::Failed);
    assert_eq!(error.as_deref(), Some("States.Runtime"));
    assert!(cause
        .unwrap()
        .ends_with("The TimeoutSecondsPath field must be a positive integer."));
}

#[test]
fn the_execution_timeout_bounds_an_awaited_task() {
    let (tasks, _) = later_tasks();
    let m = machine(
        r#"{"TimeoutSeconds":5,"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::test:later","TimeoutSeconds":60,"End":true}}}"#,
        tasks,
    );
    let arena = Arena::new();
    let info = ExecutionInfo::default();
    let mut execution = m.start(&arena, Value::EMPTY_OBJECT, &info, T0);
    let (_, until_ms) = awaiting(execution.resume(T0));
    assert_eq!(until_ms, T0 + 5_000);
    let (status, _, error, _) = done(execution.resume(until_ms));
    assert_eq!(status, Status::TimedOut);
    assert_eq!(error.as_deref(), Some("States.Timeout"));
}

#[test]
fn tokens_are_refused_unless_their_task_awaits() {
    let (tasks, _) = later_tasks();
    let m = machine(&one_task(""), tasks);
    let arena = Arena::new();
    let info = ExecutionInfo::default();
    let mut one = m.start(&arena, Value::EMPTY_OBJECT, &info, T0);
    let mut other = m.start(&arena, Value::EMPTY_OBJECT, &info, T0);
    let (token, _) = awaiting(one.resume(T0));
    let (other_token, _) = awaiting(other.resume(T0));
    assert_ne!(token, other_token);
    assert_eq!(
        one.complete_task(other_token, Value::Null),
        Err(TaskTokenError::NotAwaiting(other_token))
    );
    assert_eq!(
        one.fail_task(other_token, "E", "C"),
        Err(TaskTokenError::NotAwaiting(other_token))
    );
    // Tokens print and parse back; other text is not a token.
    let text = token.to_string();
    assert_eq!(text.parse::<TaskToken>(), Ok(token));
    assert!(matches!(
        "AAAA".parse::<TaskToken>(),
        Err(TaskTokenError::InvalidToken(_))
    ));
}

#[test]
fn synchronous_handlers_never_time_out() {
    let mut tasks = TaskRegistry::new();
    tasks.register("arn:aws:states:::test:now", |input, _arena| Ok(input));
    let m = machine(
        r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::test:now","TimeoutSeconds":2,"HeartbeatSeconds":1,"End":true}}}"#,
        tasks,
    );
    let arena = Arena::new();
    let info = ExecutionInfo::default();
    let mut execution = m.start(&arena, Value::int(3), &info, T0);
    let (status, output, _, _) = done(execution.resume(T0));
    assert_eq!(status, Status::Succeeded);
    assert_eq!(output.as_deref(), Some("3"));
}

/// Answers at once for small inputs and later for others; answers later once without a token.
struct Mixed;

impl TaskHandler for Mixed {
    fn call<'a>(&self, input: Value<'a>, _arena: &'a Arena) -> Result<Value<'a>, TaskFailure> {
        Ok(input)
    }

    fn start<'a>(&self, input: Value<'a>, arena: &'a Arena, context: &mut TaskContext<'_>) -> TaskReply<'a> {
        match input.as_number().map(|n| n.as_f64()) {
            Some(n) if n < 10.0 => TaskReply::Done(self.call(input, arena)),
            Some(n) if n < 100.0 => {
                context.token();
                TaskReply::Pending
            }
            _ => TaskReply::Pending,
        }
    }
}

#[test]
fn a_handler_may_answer_now_or_later() {
    let mut tasks = TaskRegistry::new();
    tasks.register_handler("arn:aws:states:::test:mixed", Mixed);
    let m = machine(
        r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::test:mixed","End":true}}}"#,
        tasks,
    );
    let arena = Arena::new();
    let info = ExecutionInfo::default();
    let (status, output, _, _) = done(m.start(&arena, Value::int(3), &info, T0).resume(T0));
    assert_eq!((status, output.as_deref()), (Status::Succeeded, Some("3")));

    let mut later = m.start(&arena, Value::int(50), &info, T0);
    let (token, _) = awaiting(later.resume(T0));
    later.complete_task(token, Value::int(51)).unwrap();
    let (status, output, _, _) = done(later.resume(T0));
    assert_eq!((status, output.as_deref()), (Status::Succeeded, Some("51")));

    let (status, _, error, cause) = done(m.start(&arena, Value::int(500), &info, T0).resume(T0));
    assert_eq!(status, Status::Failed);
    assert_eq!(error.as_deref(), Some("States.TaskFailed"));
    assert_eq!(
        cause.as_deref(),
        Some("The task handler answered later without taking a task token.")
    );
}

/// The tokens `execution` awaits, in the order they were issued (`issued`).
fn awaited_in_issue_order(
    execution: &quickstep::exec::Execution<'_>,
    issued: &Mutex<Vec<TaskToken>>,
) -> Vec<TaskToken> {
    let awaited = execution.awaited_tokens();
    let issued = issued.lock().unwrap();
    issued
        .iter()
        .copied()
        .filter(|t| awaited.iter().any(|(a, _)| a == t))
        .collect()
}

fn number(n: i64) -> Value<'static> {
    Value::Number(quickstep::value::Number::Int(n))
}

#[test]
fn map_iterations_await_their_tasks_at_once() {
    // Each iteration waits, then awaits a task: the waits run together, and so do the
    // tasks; answered in any order, the answers land at their items.
    let (tasks, tokens) = later_tasks();
    let m = machine(
        r#"{"StartAt":"M","States":{"M":{"Type":"Map","MaxConcurrency":0,"End":true,
            "ItemProcessor":{"StartAt":"W","States":{
                "W":{"Type":"Wait","SecondsPath":"$.wait","Next":"T"},
                "T":{"Type":"Task","Resource":"arn:aws:states:::test:later","ResultPath":"$.r","End":true}}}}}}"#,
        tasks,
    );
    let arena = Arena::new();
    let info = ExecutionInfo::default();
    let mut history = JsonHistory::default();
    let input = parse(&arena, r#"[{"wait":2},{"wait":1},{"wait":3}]"#).unwrap();
    let mut execution = m.start(&arena, input, &info, T0).with_history(&mut history);
    let mut now = T0;
    // Time runs from wait to wait; the tasks started meanwhile stay awaited.
    loop {
        match execution.resume(now) {
            Step::Suspended { until_ms } => now = until_ms,
            Step::AwaitingTask { until_ms, .. } if until_ms < T0 + DEFAULT_TIMEOUT_MS => now = until_ms,
            Step::AwaitingTask { .. } => break,
            Step::Done(o) => panic!("ended early: {o:?}"),
        }
    }
    assert_eq!(now, T0 + 3_000);
    assert_eq!(execution.awaited_tokens().len(), 3);
    // Started as their waits ended: item 1 (1 s), item 0 (2 s), item 2 (3 s).
    let issued = tokens.lock().unwrap().clone();
    assert_eq!(issued.len(), 3);
    let (item1, item0, item2) = (issued[0], issued[1], issued[2]);
    for (token, answer, left) in [(item2, 2, 2), (item0, 0, 1)] {
        execution.complete_task(token, number(answer)).unwrap();
        let (_, until_ms) = awaiting(execution.resume(now));
        assert_eq!(execution.awaited_tokens().len(), left);
        // The earliest deadline left: item 1's task started at 1 s.
        assert_eq!(until_ms, T0 + 1_000 + DEFAULT_TIMEOUT_MS);
    }
    // Answered once: a second answer is refused.
    assert_eq!(
        execution.complete_task(item0, number(9)),
        Err(TaskTokenError::NotAwaiting(item0))
    );
    execution.complete_task(item1, number(1)).unwrap();
    let (status, output, _, _) = done(execution.resume(now));
    assert_eq!(status, Status::Succeeded);
    assert_eq!(
        output.as_deref(),
        Some(r#"[{"wait":2,"r":0},{"wait":1,"r":1},{"wait":3,"r":2}]"#)
    );
    assert!(execution.awaited_tokens().is_empty());
    drop(execution);
    let types: Vec<&str> = history.events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types.iter().filter(|t| **t == "TaskSucceeded").count(), 3);
    assert_eq!(types.last(), Some(&"ExecutionSucceeded"));
}

#[test]
fn max_concurrency_limits_the_tasks_awaited_at_once() {
    let (tasks, tokens) = later_tasks();
    let m = machine(
        r#"{"StartAt":"M","States":{"M":{"Type":"Map","MaxConcurrency":2,"End":true,
            "ItemProcessor":{"StartAt":"T","States":{
                "T":{"Type":"Task","Resource":"arn:aws:states:::test:later","End":true}}}}}}"#,
        tasks,
    );
    let arena = Arena::new();
    let info = ExecutionInfo::default();
    let input = parse(&arena, "[0,1,2,3,4]").unwrap();
    let mut execution = m.start(&arena, input, &info, T0);
    let mut step = execution.resume(T0);
    let mut answered = 0;
    let outcome = loop {
        if let Step::Done(o) = step {
            break (o.status, o.output.map(|v| v.to_json_string()));
        }
        let awaited = awaited_in_issue_order(&execution, &tokens);
        assert_eq!(
            awaited.len(),
            2.min(5 - answered),
            "at most MaxConcurrency tasks at once"
        );
        // Answer the later of the two first; the answer is the item's index (issue order).
        let token = *awaited.last().unwrap();
        let index = tokens.lock().unwrap().iter().position(|t| *t == token).unwrap();
        execution.complete_task(token, number(10 * index as i64)).unwrap();
        answered += 1;
        step = execution.resume(T0 + 1);
    };
    assert_eq!(answered, 5);
    assert_eq!(outcome, (Status::Succeeded, Some("[0,10,20,30,40]".to_string())));
}

/// A Map whose iterations await a task timing out after `$.timeout` seconds, caught (to
/// its error output) when its error is `caught`.
fn map_with_timeouts(caught: &str) -> (Machine, Arc<Mutex<Vec<TaskToken>>>) {
    let (tasks, tokens) = later_tasks();
    let definition = format!(
        r#"{{"StartAt":"M","States":{{"M":{{"Type":"Map","End":true,
            "ItemProcessor":{{"StartAt":"T","States":{{
                "T":{{"Type":"Task","Resource":"arn:aws:states:::test:later","TimeoutSecondsPath":"$.timeout",
                     "Catch":[{{"ErrorEquals":["{caught}"],"Next":"Caught"}}],"End":true}},
                "Caught":{{"Type":"Pass","End":true}}}}}}}}}}}}"#
    );
    (machine(&definition, tasks), tokens)
}

#[test]
fn an_iteration_task_times_out_while_the_others_are_answered() {
    let (m, tokens) = map_with_timeouts("States.Timeout");
    let arena = Arena::new();
    let info = ExecutionInfo::default();
    let input = parse(&arena, r#"[{"timeout":100},{"timeout":10},{"timeout":100}]"#).unwrap();
    let mut execution = m.start(&arena, input, &info, T0);
    let (_, until_ms) = awaiting(execution.resume(T0));
    assert_eq!(until_ms, T0 + 10_000);
    let issued = tokens.lock().unwrap().clone();
    assert_eq!(issued.len(), 3);
    execution
        .complete_task(issued[2], parse(&arena, r#""two""#).unwrap())
        .unwrap();
    execution
        .complete_task(issued[0], parse(&arena, r#""zero""#).unwrap())
        .unwrap();
    // Before the deadline, a resume records the answers and keeps awaiting the last task.
    let (token, until_ms) = awaiting(execution.resume(T0 + 1_000));
    assert_eq!((token, until_ms), (issued[1], T0 + 10_000));
    // At its deadline it times out and is caught inside its iteration.
    let (status, output, _, _) = done(execution.resume(until_ms));
    assert_eq!(status, Status::Succeeded);
    assert_eq!(output.as_deref(), Some(r#"["zero",{"Error":"States.Timeout"},"two"]"#));
    assert_eq!(
        execution.complete_task(issued[1], Value::Null),
        Err(TaskTokenError::NotAwaiting(issued[1]))
    );
}

#[test]
fn an_iteration_task_timing_out_uncaught_fails_the_map_and_gives_up_the_others() {
    let (m, tokens) = map_with_timeouts("Other");
    let arena = Arena::new();
    let info = ExecutionInfo::default();
    let mut history = JsonHistory::default();
    let input = parse(&arena, r#"[{"timeout":100},{"timeout":10},{"timeout":100}]"#).unwrap();
    let mut execution = m.start(&arena, input, &info, T0).with_history(&mut history);
    awaiting(execution.resume(T0));
    let issued = tokens.lock().unwrap().clone();
    execution.complete_task(issued[0], Value::Null).unwrap();
    let (status, _, error, _) = done(execution.resume(T0 + 10_000));
    assert_eq!((status, error.as_deref()), (Status::Failed, Some("States.Timeout")));
    for token in issued {
        assert_eq!(
            execution.complete_task(token, Value::Null),
            Err(TaskTokenError::NotAwaiting(token))
        );
    }
    drop(execution);
    // Item 0's answer is recorded first; item 1 times out; item 2, still awaiting its task,
    // is aborted.
    let types: Vec<&str> = history.events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    let count = |name: &str| types.iter().filter(|t| **t == name).count();
    assert_eq!(count("MapIterationSucceeded"), 1, "{types:?}");
    assert_eq!(count("TaskTimedOut"), 1, "{types:?}");
    assert_eq!(count("MapIterationAborted"), 1, "{types:?}");
    assert_eq!(count("TaskStateAborted"), 1, "{types:?}");
}

#[test]
fn parallel_branches_await_their_tasks_at_once() {
    let (tasks, tokens) = later_tasks();
    let m = machine(
        r#"{"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[
            {"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::test:later","HeartbeatSeconds":5,"End":true}}},
            {"StartAt":"B","States":{"B":{"Type":"Task","Resource":"arn:aws:states:::test:later","End":true}}}]}}}"#,
        tasks,
    );
    let arena = Arena::new();
    let info = ExecutionInfo::default();
    let input = parse(&arena, "{}").unwrap();
    let mut execution = m.start(&arena, input, &info, T0);
    let (token, until_ms) = awaiting(execution.resume(T0));
    let issued = tokens.lock().unwrap().clone();
    assert_eq!(issued.len(), 2);
    assert_eq!((token, until_ms), (issued[0], T0 + 5_000));
    assert_eq!(
        execution.awaited_tokens(),
        vec![(issued[0], T0 + 5_000), (issued[1], T0 + DEFAULT_TIMEOUT_MS)]
    );
    // A heartbeat moves branch A's deadline: the execution's next wake moves with it.
    assert_eq!(execution.heartbeat_task(issued[0], T0 + 4_000), Ok(T0 + 9_000));
    execution
        .complete_task(issued[1], parse(&arena, r#""b""#).unwrap())
        .unwrap();
    assert_eq!(awaiting(execution.resume(T0 + 4_500)), (issued[0], T0 + 9_000));
    execution
        .complete_task(issued[0], parse(&arena, r#""a""#).unwrap())
        .unwrap();
    let (status, output, _, _) = done(execution.resume(T0 + 5_000));
    assert_eq!((status, output.as_deref()), (Status::Succeeded, Some(r#"["a","b"]"#)));
}

// ---- the runtime ----

/// A runtime whose `later` tasks send their token and input (JSON text) to a channel.
fn later_runtime(
    definition: &str,
    builder: quickstep::runtime::RuntimeBuilder,
) -> (Runtime, crossbeam_channel::Receiver<(TaskToken, String)>) {
    let (sender, receiver) = crossbeam_channel::unbounded();
    let mut tasks = TaskRegistry::new();
    tasks.register_async("arn:aws:states:::test:later", move |input, token| {
        sender
            .send((token, input.to_json_string()))
            .map_err(|_| TaskFailure::new("Closed", "no worker pool"))
    });
    (builder.build(machine(definition, tasks)), receiver)
}

#[test]
fn runtime_ten_thousand_tasks_completed_from_another_thread() {
    const N: u64 = 10_000;
    let (runtime, requests) = later_runtime(
        r#"{"StartAt":"T","States":{
            "T":{"Type":"Task","Resource":"arn:aws:states:::test:later","ResultPath":"$.reply",
                 "Catch":[{"ErrorEquals":["Odd"],"ResultPath":"$.error","Next":"Done"}],"Next":"Done"},
            "Done":{"Type":"Pass","End":true}}}"#,
        Runtime::builder().threads(2),
    );
    // The "service": answers every request from its own thread; odd ones fail.
    let completer = runtime.task_completer();
    let service = std::thread::spawn(move || {
        for _ in 0..N {
            let (token, input) = requests.recv().unwrap();
            let n: u64 = serde_json::from_str::<serde_json::Value>(&input).unwrap()["n"]
                .as_u64()
                .unwrap();
            if n % 2 == 0 {
                completer.complete(token, format!(r#"{{"double":{}}}"#, 2 * n)).unwrap();
            } else {
                completer.fail(token, "Odd", format!("{n} is odd")).unwrap();
            }
            // The answer is in: the token is spent.
            assert_eq!(
                completer.complete(token, "null"),
                Err(TaskTokenError::NotAwaiting(token))
            );
        }
    });
    let (sender, outcomes) = crossbeam_channel::unbounded::<Completed>();
    let mut ids = HashSet::new();
    for n in 0..N {
        let id = runtime.submit(format!(r#"{{"n":{n}}}"#), Completion::Channel(sender.clone()));
        assert!(ids.insert(id));
    }
    let mut seen = HashSet::new();
    for _ in 0..N {
        let done = outcomes.recv().unwrap();
        assert!(seen.insert(done.id), "execution {} reported twice", done.id);
        let outcome = done.result.unwrap();
        assert_eq!(outcome.status, Status::Succeeded);
        let output = outcome.output_value().unwrap();
        let n = output["n"].as_u64().unwrap();
        if n % 2 == 0 {
            assert_eq!(output["reply"]["double"], 2 * n);
        } else {
            assert_eq!(output["error"]["Cause"], format!("{n} is odd"));
        }
    }
    assert_eq!(seen, ids);
    service.join().unwrap();
    let report = runtime.shutdown();
    assert_eq!(report.started, N);
    assert_eq!(report.succeeded, N);
    assert!(report.balanced());
    assert!(outcomes.try_recv().is_err(), "no execution is reported twice");
}

#[test]
fn runtime_batches_and_calling_thread_await_tasks_too() {
    let (runtime, requests) = later_runtime(&one_task(r#""ResultPath":"$.reply","#), Runtime::builder().threads(2));
    let completer = runtime.task_completer();
    let service = std::thread::spawn(move || {
        for (token, input) in requests.iter() {
            completer.complete(token, serde_json::json!({"echo": input})).unwrap();
        }
    });
    let inputs: Vec<String> = (0..500).map(|n| format!(r#"{{"n":{n}}}"#)).collect();
    let outcomes = runtime.run_batch_json(&inputs);
    for (n, outcome) in outcomes.into_iter().enumerate() {
        let output = outcome.unwrap().output_value().unwrap();
        assert_eq!(output["reply"]["echo"], format!(r#"{{"n":{n}}}"#));
    }
    // On the calling thread: it waits for the answer.
    let outcome = runtime.run_json(r#"{"n":-1}"#).unwrap();
    assert_eq!(
        outcome.output.as_deref(),
        Some(r#"{"n":-1,"reply":{"echo":"{\"n\":-1}"}}"#)
    );
    let report = runtime.shutdown();
    assert_eq!(report.started, 501);
    assert!(report.balanced());
    service.join().unwrap(); // the runtime (and its task sender) is gone: the service ends
}

/// `runtime` refuses to complete or fail the task of `token`: none awaits it.
fn assert_refused(runtime: &Runtime, token: TaskToken) {
    assert_eq!(
        runtime.complete_task(token, "{}"),
        Err(TaskTokenError::NotAwaiting(token))
    );
    assert_eq!(
        runtime.fail_task(token, "E", "C"),
        Err(TaskTokenError::NotAwaiting(token))
    );
}

#[test]
fn runtime_refuses_unknown_tokens_and_invalid_output() {
    let (runtime, requests) = later_runtime(&one_task(""), Runtime::builder().threads(1));
    let stranger = "quickstep-task-ffffffffffffff00".parse::<TaskToken>().unwrap();
    assert_refused(&runtime, stranger);
    assert_eq!(
        runtime.heartbeat_task(stranger),
        Err(TaskTokenError::NotAwaiting(stranger))
    );
    let (sender, outcomes) = crossbeam_channel::unbounded::<Completed>();
    runtime.submit("{}", Completion::Channel(sender));
    let (token, _) = requests.recv().unwrap();
    assert!(matches!(
        runtime.complete_task(token, "{not json"),
        Err(TaskTokenError::InvalidOutput(_))
    ));
    runtime.heartbeat_task(token).unwrap();
    runtime.complete_task(token, "[1,2]").unwrap();
    assert_eq!(
        outcomes.recv().unwrap().result.unwrap().output.as_deref(),
        Some("[1,2]")
    );
    assert_eq!(
        runtime.complete_task(token, "{}"),
        Err(TaskTokenError::NotAwaiting(token))
    );
    assert!(runtime.shutdown().balanced());
}

#[test]
fn runtime_abort_ends_awaiting_executions_aborted() {
    const N: usize = 200;
    let (runtime, requests) = later_runtime(&one_task(""), Runtime::builder().threads(2));
    let completer = runtime.task_completer();
    let (sender, outcomes) = crossbeam_channel::unbounded::<Completed>();
    for _ in 0..N {
        runtime.submit("{}", Completion::Channel(sender.clone()));
    }
    // Every execution awaits its task.
    let tokens: Vec<TaskToken> = (0..N).map(|_| requests.recv().unwrap().0).collect();
    let report = runtime.abort();
    assert_eq!(report.started, N as u64);
    assert_eq!(report.aborted, N as u64);
    assert!(report.balanced());
    for _ in 0..N {
        assert_eq!(outcomes.recv().unwrap().result.unwrap().status, Status::Aborted);
    }
    for token in tokens {
        assert_eq!(completer.complete(token, "{}"), Err(TaskTokenError::NotAwaiting(token)));
    }
}

#[test]
fn runtime_virtual_clock_times_out_and_heartbeats() {
    let (runtime, requests) = later_runtime(
        &one_task(
            r#""TimeoutSeconds":100,"HeartbeatSeconds":10,"Catch":[{"ErrorEquals":["States.ALL"],"ResultPath":"$.error","Next":"Done"}],"#,
        ),
        Runtime::builder().threads(2).virtual_clock(T0),
    );
    let (sender, outcomes) = crossbeam_channel::unbounded::<Completed>();
    let beating = runtime.submit(r#"{"beats":true}"#, Completion::Channel(sender.clone()));
    let silent = runtime.submit(r#"{"beats":false}"#, Completion::Channel(sender.clone()));
    let mut tokens = std::collections::HashMap::new();
    for _ in 0..2 {
        let (token, input) = requests.recv().unwrap();
        tokens.insert(input, token);
    }
    let beating_token = tokens[r#"{"beats":true}"#];
    // Virtual time does not run into an awaited task's deadline on its own.
    assert_eq!(runtime.now_ms(), T0);
    runtime.advance_clock_to(T0 + 8_000);
    runtime.heartbeat_task(beating_token).unwrap();
    runtime.advance_clock_to(T0 + 15_000);
    let timed_out = outcomes.recv().unwrap();
    assert_eq!(timed_out.id, silent);
    assert_eq!(
        timed_out.result.unwrap().output.as_deref(),
        Some(r#"{"beats":false,"error":{"Error":"States.Timeout"}}"#)
    );
    runtime.complete_task(beating_token, r#""done""#).unwrap();
    let completed = outcomes.recv().unwrap();
    assert_eq!(completed.id, beating);
    assert_eq!(completed.result.unwrap().output.as_deref(), Some(r#""done""#));

    // Shutting down, virtual time jumps to the deadlines of tasks nobody answers.
    runtime.submit(r#"{"beats":false}"#, Completion::Channel(sender));
    requests.recv().unwrap();
    let report = runtime.shutdown();
    assert_eq!(
        outcomes.recv().unwrap().result.unwrap().output.as_deref(),
        Some(r#"{"beats":false,"error":{"Error":"States.Timeout"}}"#)
    );
    assert_eq!(report.started, 3);
    assert_eq!(report.succeeded, 3);
    assert!(report.balanced());
}

#[test]
fn runtime_map_iterations_await_their_tasks_concurrently() {
    // Every execution is a Map of 4 iterations, each awaiting a task; all 4N tasks are
    // awaited at once. Iteration 1's task fails (caught), iteration 3's task is left to time
    // out for even executions, every other task is completed from another thread.
    const N: usize = 200;
    let (runtime, requests) = later_runtime(
        r#"{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items","End":true,
            "ItemProcessor":{"StartAt":"T","States":{
                "T":{"Type":"Task","Resource":"arn:aws:states:::test:later","TimeoutSeconds":100,
                     "Catch":[{"ErrorEquals":["Odd","States.Timeout"],"ResultPath":"$.error","Next":"Caught"}],
                     "End":true},
                "Caught":{"Type":"Pass","End":true}}}}}}"#,
        Runtime::builder().threads(2).virtual_clock(T0),
    );
    let (sender, outcomes) = crossbeam_channel::unbounded::<Completed>();
    let mut ids = std::collections::HashMap::new();
    for n in 0..N {
        let items: Vec<String> = (0..4).map(|k| format!(r#"{{"n":{n},"k":{k}}}"#)).collect();
        let input = format!(r#"{{"items":[{}]}}"#, items.join(","));
        ids.insert(runtime.submit(input, Completion::Channel(sender.clone())), n);
    }
    // Every task is awaited before any is answered.
    let awaited: Vec<(TaskToken, u64, u64)> = (0..4 * N)
        .map(|_| {
            let (token, input) = requests.recv().unwrap();
            let input: serde_json::Value = serde_json::from_str(&input).unwrap();
            (token, input["n"].as_u64().unwrap(), input["k"].as_u64().unwrap())
        })
        .collect();
    let (left, answered): (Vec<_>, Vec<_>) = awaited.into_iter().partition(|&(_, n, k)| k == 3 && n % 2 == 0);
    let completer = runtime.task_completer();
    let service = std::thread::spawn(move || {
        // Answered in reverse order of issue.
        for &(token, n, k) in answered.iter().rev() {
            if k == 1 {
                completer.fail(token, "Odd", format!("{n}")).unwrap();
            } else {
                completer.complete(token, format!("{}", 10 * n + k)).unwrap();
            }
        }
    });
    service.join().unwrap();
    // The executions with every task answered end; the others await their last task.
    let mut seen = HashSet::new();
    let mut check = |done: Completed| {
        assert!(seen.insert(done.id), "execution {} reported twice", done.id);
        let n = ids[&done.id] as u64;
        let outcome = done.result.unwrap();
        assert_eq!(outcome.status, Status::Succeeded);
        let output = outcome.output_value().unwrap();
        assert_eq!(output[0], 10 * n);
        assert_eq!(output[1]["error"]["Error"], "Odd");
        assert_eq!(output[2], 10 * n + 2);
        if n % 2 == 0 {
            assert_eq!(output[3]["error"]["Error"], "States.Timeout");
        } else {
            assert_eq!(output[3], 10 * n + 3);
        }
        n
    };
    for _ in 0..N / 2 {
        assert_eq!(check(outcomes.recv().unwrap()) % 2, 1);
    }
    // Virtual time passes the deadline of the tasks left: they time out, and are caught.
    runtime.advance_clock_to(T0 + 100_000);
    for _ in 0..N / 2 {
        assert_eq!(check(outcomes.recv().unwrap()) % 2, 0);
    }
    for &(token, _, _) in &left {
        assert_eq!(
            runtime.complete_task(token, "{}"),
            Err(TaskTokenError::NotAwaiting(token))
        );
    }

    // On the calling thread too, both iterations await their tasks at once.
    let completer = runtime.task_completer();
    let service = std::thread::spawn(move || {
        let first = requests.recv().unwrap().0;
        let second = requests.recv().unwrap().0;
        completer.complete(second, "2").unwrap();
        completer.complete(first, "1").unwrap();
    });
    let outcome = runtime.run_json(r#"{"items":[{"n":0,"k":0},{"n":0,"k":1}]}"#).unwrap();
    assert_eq!(outcome.output.as_deref(), Some("[1,2]"));
    service.join().unwrap();

    let report = runtime.shutdown();
    assert_eq!(report.started, N as u64 + 1);
    assert_eq!(report.succeeded, N as u64 + 1);
    assert!(report.balanced());
    assert!(outcomes.try_recv().is_err(), "no execution is reported twice");
}

#[test]
fn runtime_gives_up_the_tasks_of_a_failed_map_and_of_an_aborted_execution() {
    let (runtime, requests) = later_runtime(
        r#"{"StartAt":"M","States":{"M":{"Type":"Map","End":true,
            "ItemProcessor":{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::test:later","End":true}}}}}}"#,
        Runtime::builder().threads(2),
    );
    let (sender, outcomes) = crossbeam_channel::unbounded::<Completed>();
    // One iteration's task fails uncaught: the Map fails, its other tasks are given up.
    runtime.submit("[1,2,3]", Completion::Channel(sender.clone()));
    let tokens: Vec<TaskToken> = (0..3).map(|_| requests.recv().unwrap().0).collect();
    runtime.fail_task(tokens[1], "Boom", "no").unwrap();
    let outcome = outcomes.recv().unwrap().result.unwrap();
    assert_eq!(
        (outcome.status, outcome.error.as_deref()),
        (Status::Failed, Some("Boom"))
    );
    for token in tokens {
        assert_eq!(
            runtime.complete_task(token, "{}"),
            Err(TaskTokenError::NotAwaiting(token))
        );
    }
    // Aborted while its iterations await their tasks: every token is refused.
    runtime.submit("[1,2,3]", Completion::Channel(sender));
    let tokens: Vec<TaskToken> = (0..3).map(|_| requests.recv().unwrap().0).collect();
    runtime.complete_task(tokens[0], "{}").unwrap();
    let completer = runtime.task_completer();
    let report = runtime.abort();
    assert_eq!(outcomes.recv().unwrap().result.unwrap().status, Status::Aborted);
    for token in tokens {
        assert_eq!(completer.complete(token, "{}"), Err(TaskTokenError::NotAwaiting(token)));
    }
    assert_eq!((report.started, report.failed, report.aborted), (2, 1, 1));
    assert!(report.balanced());
}

// ---- `.waitForTaskToken`: the definition passes `$$.Task.Token` on ----

const SEND_MESSAGE: &str = "arn:aws:states:::sqs:sendMessage.waitForTaskToken";

/// What a [`SendMessage`] handler saw: the token text in its input (`MessageBody.TaskToken`,
/// or `token` for the JSONata definitions), the token its context gave, and the input.
#[derive(Clone, Debug)]
struct Sent {
    text: String,
    context_token: TaskToken,
    input: String,
}

/// Stands for SQS: "sends" its input (to `sent`, and to `outbox` when given) and answers
/// later, or at once (echoing the input) when `now` is set.
struct SendMessage {
    sent: Arc<Mutex<Vec<Sent>>>,
    outbox: Option<crossbeam_channel::Sender<String>>,
    now: bool,
}

impl TaskHandler for SendMessage {
    fn call<'a>(&self, input: Value<'a>, _arena: &'a Arena) -> Result<Value<'a>, TaskFailure> {
        Ok(input)
    }

    fn start<'a>(&self, input: Value<'a>, arena: &'a Arena, context: &mut TaskContext<'_>) -> TaskReply<'a> {
        let text = input
            .get("MessageBody")
            .and_then(|body| body.get("TaskToken"))
            .or_else(|| input.get("token"))
            .and_then(|t| t.as_str())
            .expect("the definition passes the task token")
            .to_string();
        let sent = Sent {
            text: text.clone(),
            context_token: context.token(),
            input: input.to_json_string(),
        };
        self.sent.lock().unwrap().push(sent);
        if let Some(outbox) = &self.outbox {
            outbox.send(text).unwrap();
        }
        if self.now {
            return TaskReply::Done(self.call(input, arena));
        }
        TaskReply::Pending
    }
}

/// A machine whose `SEND_MESSAGE` task `T` (with `fields`) is a [`SendMessage`], then `Done`.
fn send_message_machine(
    fields: &str,
    outbox: Option<crossbeam_channel::Sender<String>>,
    now: bool,
) -> (Machine, Arc<Mutex<Vec<Sent>>>) {
    let sent = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = TaskRegistry::new();
    tasks.register_handler(
        SEND_MESSAGE,
        SendMessage {
            sent: Arc::clone(&sent),
            outbox,
            now,
        },
    );
    let definition = format!(
        r#"{{"StartAt":"T","States":{{
            "T":{{"Type":"Task","Resource":"{SEND_MESSAGE}",{fields}"Next":"Done"}},
            "Done":{{"Type":"Pass","End":true}}}}}}"#
    );
    (machine(&definition, tasks), sent)
}

/// Starts `m` on `input` and runs it until its task awaits: the execution, the token it awaits
/// and the message its handler sent, checked to carry that token (the one the handler's
/// context has too).
fn sent_out<'a>(
    m: &'a Machine,
    arena: &'a Arena,
    info: &'a ExecutionInfo,
    sent: &Mutex<Vec<Sent>>,
    input: Value<'a>,
) -> (quickstep::exec::Execution<'a>, TaskToken, Sent) {
    let mut execution = m.start(arena, input, info, T0);
    let (token, _) = awaiting(execution.resume(T0));
    let message = sent.lock().unwrap().last().unwrap().clone();
    assert_eq!(message.text, token.to_string());
    assert_eq!(message.context_token, token);
    (execution, token, message)
}

const PASS_THE_TOKEN: &str = r#""Parameters":{"QueueUrl":"q","MessageBody":{"TaskToken.$":"$$.Task.Token","order.$":"$.orderId"}},"ResultPath":"$.reply","#;

#[test]
fn wait_for_task_token_parameters_read_the_token_that_completes_the_task() {
    let (m, sent) = send_message_machine(PASS_THE_TOKEN, None, false);
    let arena = Arena::new();
    let info = ExecutionInfo::default();
    let input = parse(&arena, r#"{"orderId":"o-1"}"#).unwrap();
    let (mut execution, token, message) = sent_out(&m, &arena, &info, &sent, input);
    assert_eq!(
        message.input,
        format!(r#"{{"QueueUrl":"q","MessageBody":{{"TaskToken":"{token}","order":"o-1"}}}}"#)
    );
    // "Another system" calls back with the text it was sent.
    let parsed: TaskToken = message.text.parse().unwrap();
    execution
        .complete_task(parsed, parse(&arena, r#"{"approved":true}"#).unwrap())
        .unwrap();
    let (status, output, _, _) = done(execution.resume(T0 + 1_000));
    assert_eq!(status, Status::Succeeded);
    assert_eq!(
        output.as_deref(),
        Some(r#"{"orderId":"o-1","reply":{"approved":true}}"#)
    );

    // SendTaskFailure with the text: the state fails with that error and cause.
    let (mut execution, _, failed) = sent_out(&m, &arena, &info, &sent, input);
    assert_ne!(failed.text, message.text, "each execution's task has its own token");
    execution
        .fail_task(failed.text.parse().unwrap(), "Order.Rejected", "out of credit")
        .unwrap();
    let (status, _, error, cause) = done(execution.resume(T0 + 1_000));
    assert_eq!(status, Status::Failed);
    assert_eq!(error.as_deref(), Some("Order.Rejected"));
    assert_eq!(cause.as_deref(), Some("out of credit"));
}

#[test]
fn every_retry_of_a_wait_for_task_token_task_has_a_new_token() {
    let fields =
        format!(r#"{PASS_THE_TOKEN}"Retry":[{{"ErrorEquals":["Busy"],"IntervalSeconds":2,"MaxAttempts":1}}],"#);
    let (m, sent) = send_message_machine(&fields, None, false);
    let arena = Arena::new();
    let info = ExecutionInfo::default();
    let input = parse(&arena, r#"{"orderId":"o-2"}"#).unwrap();
    let mut execution = m.start(&arena, input, &info, T0);
    let (first, _) = awaiting(execution.resume(T0));
    execution.fail_task(first, "Busy", "later").unwrap();
    assert!(matches!(execution.resume(T0), Step::Suspended { until_ms } if until_ms == T0 + 2_000));
    let (second, _) = awaiting(execution.resume(T0 + 2_000));
    let texts: Vec<String> = sent.lock().unwrap().iter().map(|s| s.text.clone()).collect();
    assert_eq!(texts, [first.to_string(), second.to_string()]);
    assert_ne!(first, second);
    // The first attempt's token is spent.
    let stale: TaskToken = texts[0].parse().unwrap();
    assert_eq!(
        execution.complete_task(stale, Value::Null),
        Err(TaskTokenError::NotAwaiting(stale))
    );
    execution
        .complete_task(texts[1].parse().unwrap(), Value::int(2))
        .unwrap();
    let (status, output, _, _) = done(execution.resume(T0 + 3_000));
    assert_eq!(status, Status::Succeeded);
    assert_eq!(output.as_deref(), Some(r#"{"orderId":"o-2","reply":2}"#));
}

#[test]
fn jsonata_arguments_read_the_token_as_states_context_task_token() {
    let (m, sent) = send_message_machine(
        r#""QueryLanguage":"JSONata","Arguments":{"token":"{% $states.context.Task.Token %}","order":"{% $states.input.orderId %}"},"Output":{"order":"{% $states.input.orderId %}","reply":"{% $states.result %}"},"#,
        None,
        false,
    );
    let arena = Arena::new();
    let info = ExecutionInfo::default();
    let input = parse(&arena, r#"{"orderId":"o-3"}"#).unwrap();
    let (mut execution, token, message) = sent_out(&m, &arena, &info, &sent, input);
    assert_eq!(message.input, format!(r#"{{"token":"{token}","order":"o-3"}}"#));
    execution
        .complete_task(message.text.parse().unwrap(), Value::Bool(true))
        .unwrap();
    let (status, output, _, _) = done(execution.resume(T0));
    assert_eq!(status, Status::Succeeded);
    assert_eq!(output.as_deref(), Some(r#"{"order":"o-3","reply":true}"#));
}

#[test]
fn only_wait_for_task_token_tasks_have_a_task_token_in_their_context() {
    let mut tasks = TaskRegistry::new();
    tasks.register("arn:aws:states:::sqs:sendMessage", |input, _arena| Ok(input));
    let m = machine(
        r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage",
            "Parameters":{"MessageBody":{"TaskToken.$":"$$.Task.Token"}},"End":true}}}"#,
        tasks,
    );
    let arena = Arena::new();
    let info = ExecutionInfo::default();
    let (status, _, error, cause) = done(m.start(&arena, Value::EMPTY_OBJECT, &info, T0).resume(T0));
    assert_eq!(status, Status::Failed);
    assert_eq!(error.as_deref(), Some("States.Runtime"));
    assert!(cause.unwrap().contains("$$.Task.Token"));

    // Nor is the token in the context of the `.waitForTaskToken` task's result processing.
    let (m, _) = send_message_machine(
        r#""Parameters":{"token.$":"$$.Task.Token"},"ResultSelector":{"t.$":"$$.Task.Token"},"#,
        None,
        true,
    );
    let (status, _, error, _) = done(m.start(&arena, Value::EMPTY_OBJECT, &info, T0).resume(T0));
    assert_eq!((status, error.as_deref()), (Status::Failed, Some("States.Runtime")));
}

#[test]
fn runtime_completes_wait_for_task_token_tasks_by_the_text_sent_out() {
    let (outbox, messages) = crossbeam_channel::unbounded::<String>();
    let (m, sent) = send_message_machine(PASS_THE_TOKEN, Some(outbox), false);
    let runtime = Runtime::builder().threads(2).build(m);
    // Another system: gets the token text only, and calls back with it.
    let completer = runtime.task_completer();
    let service = std::thread::spawn(move || {
        for text in messages.iter() {
            let token: TaskToken = text.parse().unwrap();
            completer.complete(token, serde_json::json!({"by": text})).unwrap();
        }
    });
    let (sender, outcomes) = crossbeam_channel::unbounded::<Completed>();
    for n in 0..20 {
        runtime.submit(format!(r#"{{"orderId":"o-{n}"}}"#), Completion::Channel(sender.clone()));
    }
    for _ in 0..20 {
        let outcome = outcomes.recv().unwrap().result.unwrap();
        assert_eq!(outcome.status, Status::Succeeded, "{outcome:?}");
        let output = outcome.output_value().unwrap();
        let order = output["orderId"].as_str().unwrap();
        let sent = sent.lock().unwrap();
        let message = sent
            .iter()
            .find(|s| s.input.contains(&format!(r#""{order}""#)))
            .unwrap();
        assert_eq!(output["reply"]["by"], message.text.as_str());
        assert_eq!(message.text, message.context_token.to_string());
    }
    // On the calling thread too.
    let outcome = runtime.run_json(r#"{"orderId":"o-x"}"#).unwrap();
    let output = outcome.output_value().unwrap();
    assert_eq!(output["orderId"], "o-x");
    let text = output["reply"]["by"].as_str().unwrap().to_string();
    assert_eq!(sent.lock().unwrap().last().unwrap().text, text);
    // Answered: the token is spent.
    let token: TaskToken = text.parse().unwrap();
    assert_eq!(
        runtime.complete_task(token, "{}"),
        Err(TaskTokenError::NotAwaiting(token))
    );
    assert!(runtime.shutdown().balanced());
    service.join().unwrap();
}

#[test]
fn runtime_fails_wait_for_task_token_tasks_by_the_text_sent_out() {
    let (outbox, messages) = crossbeam_channel::unbounded::<String>();
    let (m, _) = send_message_machine(PASS_THE_TOKEN, Some(outbox), false);
    let runtime = Runtime::builder().threads(1).build(m);
    let (sender, outcomes) = crossbeam_channel::unbounded::<Completed>();
    runtime.submit(r#"{"orderId":"o-1"}"#, Completion::Channel(sender));
    let text = messages.recv().unwrap();
    runtime
        .fail_task(text.parse().unwrap(), "Order.Rejected", "out of credit")
        .unwrap();
    let outcome = outcomes.recv().unwrap().result.unwrap();
    assert_eq!(outcome.status, Status::Failed);
    assert_eq!(outcome.error.as_deref(), Some("Order.Rejected"));
    assert_eq!(outcome.cause.as_deref(), Some("out of credit"));
    assert!(runtime.shutdown().balanced());
}

#[test]
fn runtime_retires_the_token_of_a_wait_for_task_token_task_answered_at_once() {
    let (m, sent) = send_message_machine(PASS_THE_TOKEN, None, true);
    let runtime = Runtime::builder().threads(1).build(m);
    let outcome = runtime.run_json(r#"{"orderId":"o-1"}"#).unwrap();
    assert_eq!(outcome.status, Status::Succeeded);
    let text = sent.lock().unwrap()[0].text.clone();
    assert_eq!(
        outcome.output_value().unwrap()["reply"]["MessageBody"]["TaskToken"],
        text.as_str()
    );
    // Nothing awaits it: the runtime refuses it.
    assert_refused(&runtime, text.parse().unwrap());
    assert!(runtime.shutdown().balanced());
}

#[test]
fn a_wait_for_task_token_task_whose_parameters_fail_never_starts() {
    let (m, sent) = send_message_machine(
        r#""Parameters":{"token.$":"$$.Task.Token","order.$":"$.missing"},"#,
        None,
        false,
    );
    let arena = Arena::new();
    let info = ExecutionInfo::default();
    let (status, _, error, _) = done(m.start(&arena, Value::EMPTY_OBJECT, &info, T0).resume(T0));
    assert_eq!((status, error.as_deref()), (Status::Failed, Some("States.Runtime")));
    let runtime = Runtime::builder().threads(1).build(m);
    let outcome = runtime.run_json("{}").unwrap();
    assert_eq!(
        (outcome.status, outcome.error.as_deref()),
        (Status::Failed, Some("States.Runtime"))
    );
    assert!(sent.lock().unwrap().is_empty(), "the task never started");
    assert!(runtime.shutdown().balanced());
}
