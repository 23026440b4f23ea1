//! The worker pool: ordering, back-pressure, shutdown, faults, suspension on a virtual clock.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use quickstep::runtime::workloads::{default_dir, Workload, NAMES};
use quickstep::runtime::{Built, Completed, Completion, Input, Runtime};
use quickstep::value::{Arena, Value};
use quickstep::{Machine, Status, TaskFailure, TaskRegistry};

const WAIT_1S: &str = r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "Next": "P"},
    "P": {"Type": "Pass", "Result": "done", "ResultPath": "$.r", "End": true}}}"#;

/// Pins a closure to the handler signature (closures do not infer higher-ranked lifetimes).
fn handler<F>(f: F) -> F
where
    F: for<'a> Fn(Value<'a>, &'a Arena) -> Result<Value<'a>, TaskFailure> + Send + Sync,
{
    f
}

fn runtime(definition: &str, tasks: TaskRegistry, threads: usize) -> Runtime {
    Runtime::builder()
        .threads(threads)
        .virtual_clock(1_704_067_200_000)
        .build(Machine::new(definition, tasks).unwrap())
}

#[test]
fn the_output_check_remembers_a_verified_text_and_still_rejects_others() {
    let w = Workload::load("w1_order", &default_dir()).unwrap();
    let good = w.machine().unwrap().run_json(&w.input).unwrap().output.unwrap();
    let reordered = {
        let value: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&good).unwrap();
        let mut members: Vec<_> = value.into_iter().collect();
        members.reverse();
        serde_json::Value::Object(members.into_iter().collect()).to_string()
    };
    let wrong = good.replacen("true", "false", 1);
    assert_ne!(reordered, good);
    for _ in 0..2 {
        assert!(w.output_ok(&good));
        assert!(w.clone().output_ok(&reordered), "member order does not matter");
        assert!(!w.output_ok(&wrong));
        assert!(!w.output_ok("not json"));
    }
}

#[test]
fn workloads_give_expected_outputs_on_every_path() {
    for name in NAMES {
        let w = Workload::load(name, &default_dir()).unwrap();
        let rt = Runtime::builder().threads(2).build(w.machine().unwrap());
        let sync = rt.run_json(&w.input).unwrap();
        assert_eq!(sync.status, Status::Succeeded, "{name}: {sync:?}");
        assert!(w.output_ok(sync.output.as_deref().unwrap()), "{name}: {sync:?}");
        let value: serde_json::Value = serde_json::from_str(&w.input).unwrap();
        assert_eq!(rt.run_value(&value), sync, "{name}");
        let arena = Arena::new();
        let parsed = quickstep::value::parse(&arena, &w.input).unwrap();
        let fast = rt.run_with(parsed, |raw| raw.output.map(|o| o.to_json_string()));
        assert_eq!(fast, sync.output, "{name}");
        let batch = rt.run_batch_json(&vec![w.input.as_str(); 100]);
        assert!(batch.iter().all(|o| o.as_ref().unwrap() == &sync), "{name}");
        let report = rt.shutdown();
        assert_eq!(report.started, 103, "{name}");
        assert!(report.balanced());
        assert_eq!(report.succeeded, 103);
    }
}

#[test]
fn run_batch_keeps_input_order_and_rejects_bad_json() {
    let rt = runtime(
        r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"n.$": "$.n"}, "End": true}}}"#,
        TaskRegistry::new(),
        2,
    );
    let mut inputs: Vec<String> = (0..5000).map(|n| format!(r#"{{"n": {n}}}"#)).collect();
    inputs[77] = "{not json".into();
    let out = rt.run_batch_json(&inputs);
    assert_eq!(out.len(), inputs.len());
    for (n, o) in out.iter().enumerate() {
        if n == 77 {
            assert!(o.is_err());
        } else {
            assert_eq!(
                o.as_ref().unwrap().output.as_deref(),
                Some(format!(r#"{{"n":{n}}}"#).as_str())
            );
        }
    }
    // The fast path: pre-parsed values in, a visitor out.
    let arena = Arena::new();
    let values: Vec<Value<'_>> = (0..1000)
        .map(|n| quickstep::value::parse(&arena, arena.alloc_str(&format!(r#"{{"n": {n}}}"#))).unwrap())
        .collect();
    let ns = rt.run_batch_with(
        &values,
        |v, _| Built::Run(*v),
        |_, raw| {
            raw.output
                .and_then(|o| o.get("n"))
                .and_then(|n| n.as_number())
                .and_then(|n| n.as_i64())
        },
    );
    assert!(ns.iter().enumerate().all(|(i, n)| *n == Some(i as i64)));
    assert!(rt.run_batch_json::<&str>(&[]).is_empty());
    let report = rt.shutdown();
    assert_eq!(report.rejected, 1);
    assert_eq!(report.started, 4999 + 1000);
    assert!(report.balanced());
}

/// A machine whose task blocks until the gate opens.
fn gated() -> (Runtime, crossbeam_channel::Sender<()>) {
    let (open, gate) = crossbeam_channel::unbounded::<()>();
    let mut tasks = TaskRegistry::new();
    tasks.register(
        "arn:aws:states:::test:gate",
        handler(move |input, _| {
            let _ = gate.recv();
            Ok(input)
        }),
    );
    let rt = Runtime::builder().threads(2).queue_capacity(8).build(
        Machine::new(
            r#"{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::test:gate", "End": true}}}"#,
            tasks,
        )
        .unwrap(),
    );
    (rt, open)
}

#[test]
fn try_submit_refuses_beyond_capacity_and_shutdown_reports_all() {
    let (rt, open) = gated();
    let (tx, rx) = crossbeam_channel::unbounded::<Completed>();
    let mut accepted = Vec::new();
    for n in 0..8 {
        accepted.push(rt.try_submit(format!("{n}"), tx.clone().into()).unwrap());
    }
    let full = rt.try_submit("8", tx.clone().into()).unwrap_err();
    assert!(matches!(full.input, Input::Text(ref t) if t == "8"));
    drop(full);
    assert_eq!(rt.in_flight(), 8);
    for _ in 0..8 {
        open.send(()).unwrap();
    }
    // Blocking submit waits for room, then goes through.
    let last = rt.submit(Input::Json(serde_json::json!(8)), tx.clone().into());
    open.send(()).unwrap();
    accepted.push(last);
    let report = rt.shutdown();
    drop(tx);
    let mut ids: Vec<u64> = rx
        .iter()
        .map(|c| {
            assert_eq!(c.result.unwrap().status, Status::Succeeded);
            c.id
        })
        .collect();
    ids.sort();
    accepted.sort();
    assert_eq!(ids, accepted);
    assert_eq!(report.started, 9);
    assert!(report.balanced());
}

#[test]
fn panicking_handlers_under_load_lose_nothing() {
    let mut tasks = TaskRegistry::new();
    tasks.register(
        "arn:aws:states:::test:maybe_panic",
        handler(|input, _| {
            let n = input
                .get("n")
                .and_then(|n| n.as_number())
                .and_then(|n| n.as_i64())
                .unwrap_or(0);
            if n % 3 == 0 {
                panic!("boom {n}");
            }
            if n % 3 == 1 {
                return Err(TaskFailure::new("Custom", "failed"));
            }
            Ok(input)
        }),
    );
    let rt = Runtime::builder().threads(2).queue_capacity(64).build(
        Machine::new(
            r#"{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::test:maybe_panic", "End": true,
                "Catch": [{"ErrorEquals": ["Custom"], "Next": "Caught"}]},
                "Caught": {"Type": "Pass", "End": true}}}"#,
            tasks,
        )
        .unwrap(),
    );
    let reported = Arc::new(AtomicUsize::new(0));
    let n = 6000;
    for i in 0..n {
        let reported = Arc::clone(&reported);
        let done = Completion::callback(move |c: Completed| {
            let outcome = c.result.unwrap();
            match i % 3 {
                0 => assert_eq!(outcome.error.as_deref(), Some("States.TaskFailed")),
                _ => assert_eq!(outcome.status, Status::Succeeded),
            }
            reported.fetch_add(1, Ordering::SeqCst);
            if i % 500 == 0 {
                panic!("a panicking completion callback is contained");
            }
        });
        rt.submit(format!(r#"{{"n": {i}}}"#), done);
    }
    let inputs: Vec<String> = (0..n).map(|i| format!(r#"{{"n": {i}}}"#)).collect();
    let batch = rt.run_batch_json(&inputs);
    let failed = batch
        .iter()
        .filter(|o| o.as_ref().unwrap().status == Status::Failed)
        .count();
    assert_eq!(failed, n / 3);
    let report = rt.shutdown();
    assert_eq!(reported.load(Ordering::SeqCst), n);
    assert_eq!(report.started, 2 * n as u64);
    assert_eq!(report.failed, 2 * (n / 3) as u64);
    assert!(report.balanced());
}

#[test]
fn hundred_thousand_waits_on_the_virtual_clock() {
    let rt = runtime(WAIT_1S, TaskRegistry::new(), 2);
    let start = rt.now_ms();
    let inputs = vec![(); 100_000];
    let ok = rt.run_batch_with(
        &inputs,
        |_, _| Built::Run(Value::EMPTY_OBJECT),
        |_, raw| {
            raw.status == Status::Succeeded
                && raw.output.and_then(|o| o.get("r")).and_then(|r| r.as_str()) == Some("done")
        },
    );
    assert!(ok.iter().all(|ok| *ok));
    // Virtual time moved by the wait (and not by one second per execution).
    let elapsed = rt.now_ms() - start;
    assert!((1000..10_000).contains(&elapsed), "{elapsed}");
    // The streaming path suspends too.
    let (tx, rx) = crossbeam_channel::unbounded();
    for _ in 0..1000 {
        rt.submit("{}", Completion::Channel(tx.clone()));
    }
    let report = rt.shutdown();
    drop(tx);
    assert_eq!(
        rx.iter()
            .filter(|c| c.result.as_ref().unwrap().status == Status::Succeeded)
            .count(),
        1000
    );
    assert_eq!(report.succeeded, 101_000);
    assert!(report.balanced());
}

#[test]
fn map_iterations_wait_together_on_the_pool() {
    // Each execution: a Map of ten iterations that each wait 1 s.
    let rt = runtime(
        r#"{"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
            "ItemProcessor": {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": true}}}}}}"#,
        TaskRegistry::new(),
        2,
    );
    let start = rt.now_ms();
    let inputs = vec!["[1,2,3,4,5,6,7,8,9,10]".to_string(); 10_000];
    let out = rt.run_batch_json(&inputs);
    assert!(out
        .iter()
        .all(|o| o.as_ref().unwrap().output.as_deref() == Some("[1,2,3,4,5,6,7,8,9,10]")));
    // Virtual time moved by one wait, not ten per execution (nor ten per batch).
    let elapsed = rt.now_ms() - start;
    assert!((1000..10_000).contains(&elapsed), "{elapsed}");
    assert!(rt.shutdown().balanced());
}

#[test]
fn retries_back_off_on_the_pool() {
    let calls = Arc::new(AtomicUsize::new(0));
    let attempts = Arc::new(std::sync::Mutex::new(std::collections::HashMap::<i64, u32>::new()));
    let counted = Arc::clone(&calls);
    let mut tasks = TaskRegistry::new();
    tasks.register(
        "arn:aws:states:::test:flaky",
        handler(move |input, _| {
            // Fails on the first two attempts of each execution.
            counted.fetch_add(1, Ordering::SeqCst);
            let n = input
                .get("n")
                .and_then(|n| n.as_number())
                .and_then(|n| n.as_i64())
                .unwrap_or(0);
            let mut attempts = attempts.lock().unwrap();
            let a = attempts.entry(n).or_default();
            *a += 1;
            if *a <= 2 {
                Err(TaskFailure::new("Flaky", "try again"))
            } else {
                Ok(input)
            }
        }),
    );
    let rt = runtime(
        r#"{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::test:flaky", "End": true,
            "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 2, "MaxAttempts": 3}]}}}"#,
        tasks,
        1,
    );
    let inputs: Vec<String> = (0..50).map(|n| format!(r#"{{"n": {n}}}"#)).collect();
    let out = rt.run_batch_json(&inputs);
    assert!(out.iter().all(|o| o.as_ref().unwrap().status == Status::Succeeded));
    assert_eq!(calls.load(Ordering::SeqCst), 150);
    assert!(rt.shutdown().balanced());
}

#[test]
fn abort_reports_parked_executions_as_aborted() {
    let rt = Runtime::builder().threads(2).build(
        Machine::new(
            r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": true}}}"#,
            TaskRegistry::new(),
        )
        .unwrap(),
    );
    let (tx, rx) = crossbeam_channel::unbounded();
    for _ in 0..200 {
        rt.submit("{}", Completion::Channel(tx.clone()));
    }
    let report = rt.abort();
    drop(tx);
    let statuses: Vec<Status> = rx.iter().map(|c| c.result.unwrap().status).collect();
    assert_eq!(statuses.len(), 200);
    assert!(statuses.iter().all(|s| *s == Status::Aborted));
    assert_eq!(report.aborted, 200);
    assert!(report.balanced());
}

#[test]
fn abort_records_execution_aborted_in_the_history_of_parked_executions() {
    use quickstep::runtime::LogLevel;
    let events = Collect::default();
    let rt = Runtime::builder()
        .threads(1)
        .history(LogLevel::All, false, events.clone())
        .build(
            Machine::new(
                r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": true}}}"#,
                TaskRegistry::new(),
            )
            .unwrap(),
        );
    for _ in 0..3 {
        rt.submit("{}", Completion::Ignore);
    }
    while rt.metrics().started < 3 {
        std::thread::yield_now();
    }
    assert_eq!(rt.abort().aborted, 3);
    let events = events.0.lock().unwrap().clone();
    let ends: Vec<_> = events
        .iter()
        .filter(|e| e.1.starts_with("Execution") && e.1 != "ExecutionStarted")
        .collect();
    assert_eq!(ends.len(), 3, "{events:?}");
    assert!(ends.iter().all(|e| e.1 == "ExecutionAborted"));
}

#[test]
fn each_execution_on_the_pool_has_its_own_name() {
    let rt = Runtime::builder().threads(2).build(
        Machine::new(
            r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true,
                "Parameters": {"name.$": "$$.Execution.Name", "arn.$": "$$.Execution.Id"}}}}"#,
            TaskRegistry::new(),
        )
        .unwrap(),
    );
    let outputs: Vec<serde_json::Value> = rt
        .run_batch_json(&["{}"; 100])
        .into_iter()
        .map(|o| o.unwrap().output_value().unwrap())
        .collect();
    let names: std::collections::HashSet<&str> = outputs.iter().map(|o| o["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 100);
    for o in &outputs {
        let name = o["name"].as_str().unwrap();
        assert!(name.starts_with("execution-"), "{name}");
        assert!(o["arn"].as_str().unwrap().ends_with(&format!(":{name}")));
    }
}

#[test]
fn a_named_submission_has_its_own_name_even_after_a_wait() {
    let rt = Runtime::builder().threads(2).virtual_clock(0).build(
        Machine::new(
            r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 5, "Next": "P"},
                "P": {"Type": "Pass", "End": true,
                "Parameters": {"name.$": "$$.Execution.Name", "arn.$": "$$.Execution.Id"}}}}"#,
            TaskRegistry::new(),
        )
        .unwrap(),
    );
    let (sender, receiver) = crossbeam_channel::unbounded();
    let named = rt.submit_named("order-17", "{}", Completion::Channel(sender.clone()));
    let full = rt.try_submit_named("order-18", "{}", Completion::Channel(sender.clone()));
    let unnamed = rt.submit("{}", Completion::Channel(sender));
    assert!(full.is_ok());
    let mut names = std::collections::HashMap::new();
    for _ in 0..3 {
        let done = receiver.recv().unwrap();
        let output = done.result.unwrap().output_value().unwrap();
        assert!(output["arn"]
            .as_str()
            .unwrap()
            .ends_with(&format!(":{}", output["name"].as_str().unwrap())));
        names.insert(done.id, output["name"].as_str().unwrap().to_string());
    }
    assert_eq!(names[&named], "order-17");
    assert!(names.values().any(|n| n == "order-18"));
    assert_eq!(names[&unnamed], format!("execution-{unnamed}"));
}

/// A runtime whose executions output their `$$.Execution.StartTime`.
fn start_time_runtime() -> Runtime {
    Runtime::builder().threads(2).build(
        Machine::new(
            r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true,
                "Parameters": {"start.$": "$$.Execution.StartTime"}}}}"#,
            TaskRegistry::new(),
        )
        .unwrap(),
    )
}

/// Runs `round` three times, 600 ms apart (so that the system clock is read again), and
/// checks that each output's start time lies between the system time before and after.
fn check_start_times(round: impl Fn() -> Vec<Result<quickstep::Outcome, quickstep::value::ParseError>>) {
    let epoch_ms = || chrono::Utc::now().timestamp_millis();
    for n in 0..3 {
        let before = epoch_ms();
        let outputs = round();
        let after = epoch_ms();
        for o in outputs {
            let o = o.unwrap().output_value().unwrap();
            let start = chrono::DateTime::parse_from_rfc3339(o["start"].as_str().unwrap()).unwrap();
            let ms = start.timestamp_millis();
            assert!(
                before - 1 <= ms && ms <= after + 1,
                "round {n}: {before} <= {ms} <= {after}"
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(600));
    }
}

#[test]
fn executions_on_the_pool_start_at_the_system_time() {
    // Workers read the system clock once a second and add monotonic time in between.
    let rt = start_time_runtime();
    check_start_times(|| rt.run_batch_json(&["{}"; 1000]));
}

#[test]
fn executions_on_the_calling_thread_start_at_the_system_time() {
    // Callers' threads, too.
    let rt = start_time_runtime();
    check_start_times(|| (0..1000).map(|_| rt.run_json("{}")).collect());
}

#[test]
fn executions_on_callers_threads_are_each_counted_once() {
    // Four threads run executions of two runtimes side by side (each thread counts in its own
    // slot per runtime), and a handler of one runs an execution of the other inside its own
    // (a slot made while the thread's list is in use: the runtime's shared slot); then a
    // runtime is dropped and a new one used on the same threads.
    let inner = Arc::new(runtime(
        r#"{"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E", "Cause": "c"}}}"#,
        TaskRegistry::new(),
        1,
    ));
    let mut tasks = TaskRegistry::new();
    let nested = Arc::clone(&inner);
    tasks.register(
        "arn:aws:states:::test:nested",
        handler(move |input, _arena| {
            let status = nested.run_with(Value::Null, |raw| raw.status);
            assert_eq!(status, Status::Failed);
            Ok(input)
        }),
    );
    let outer = runtime(
        r#"{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::test:nested", "End": true}}}"#,
        tasks,
        1,
    );
    let (threads, runs) = (4, 500);
    std::thread::scope(|scope| {
        for t in 0..threads {
            let (outer, inner) = (&outer, &inner);
            scope.spawn(move || {
                for i in 0..runs {
                    // Half the threads meet the inner runtime first nested, half on its own.
                    if (t + i) % 2 == 0 {
                        assert_eq!(inner.run_with(Value::Null, |raw| raw.status), Status::Failed);
                    }
                    assert_eq!(outer.run_with(Value::Null, |raw| raw.status), Status::Succeeded);
                }
            });
        }
    });
    let (outer_metrics, inner_metrics) = (outer.metrics(), inner.metrics());
    let total = (threads * runs) as u64;
    assert_eq!((outer_metrics.started, outer_metrics.succeeded), (total, total));
    assert!(outer_metrics.balanced());
    assert_eq!(outer_metrics.latency.len(), total);
    let inner_total = total + total / 2;
    assert_eq!(
        (inner_metrics.started, inner_metrics.failed),
        (inner_total, inner_total)
    );
    assert!(inner_metrics.balanced());
    assert_eq!(inner_metrics.latency.len(), inner_total);
    // A new runtime on threads that knew a dropped one starts from zero.
    drop(outer);
    let fresh = runtime(
        r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}"#,
        TaskRegistry::new(),
        1,
    );
    for _ in 0..3 {
        fresh.run_with(Value::Null, |_| ());
    }
    let m = fresh.metrics();
    assert_eq!((m.started, m.succeeded, m.latency.len()), (3, 3, 3));
}

#[test]
#[should_panic(expected = "visitor panic")]
fn a_panicking_visitor_is_raised_on_the_caller() {
    let rt = runtime(
        r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}"#,
        TaskRegistry::new(),
        2,
    );
    rt.run_batch_with(
        &[1, 2, 3],
        |_, _| Built::Run(Value::Null),
        |i, _| {
            if i == 1 {
                panic!("visitor panic");
            }
            i
        },
    );
}

/// One recorded event: execution id, event type, whether it carries data.
type Seen = (u64, &'static str, bool);

/// Collects events from every thread.
#[derive(Clone, Default)]
struct Collect(Arc<std::sync::Mutex<Vec<Seen>>>);

impl quickstep::runtime::EventSink for Collect {
    fn event(&self, execution: u64, event: &quickstep::history::HistoryEvent<'_>) {
        let has_data = !matches!(event.data, quickstep::history::EventData::None);
        self.0.lock().unwrap().push((execution, event.event_type, has_data));
    }
}

#[test]
fn history_at_each_log_level() {
    use quickstep::runtime::LogLevel;
    let w = Workload::load("w1_order", &default_dir()).unwrap();
    let all = Collect::default();
    let rt = Runtime::builder()
        .threads(1)
        .history(LogLevel::All, true, all.clone())
        .build(w.machine().unwrap());
    rt.run_json(&w.input).unwrap();
    let events = all.0.lock().unwrap().clone();
    assert_eq!(events.first().map(|e| e.1), Some("ExecutionStarted"));
    assert_eq!(events.last().map(|e| e.1), Some("ExecutionSucceeded"));
    assert!(events.iter().any(|e| e.1 == "TaskStateEntered"));
    assert!(events.iter().any(|e| e.1 == "LambdaFunctionScheduled"));
    assert!(events.iter().all(|e| e.0 == events[0].0));
    drop(rt);

    // ERROR level, no data: only the failure events, their error kept.
    let errors = Collect::default();
    let rt = Runtime::builder()
        .threads(1)
        .history(LogLevel::Error, false, errors.clone())
        .build(
            Machine::new(
                r#"{"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E", "Cause": "C"}}}"#,
                TaskRegistry::new(),
            )
            .unwrap(),
        );
    assert_eq!(rt.run_json("{}").unwrap().status, Status::Failed);
    let events = errors.0.lock().unwrap().clone();
    assert!(!events.is_empty());
    assert!(events.iter().all(|e| e.1.ends_with("Failed") && e.2), "{events:?}");
    drop(rt);

    // Suspended executions keep their history across the suspension.
    let waits = Collect::default();
    let rt = Runtime::builder()
        .threads(2)
        .virtual_clock(0)
        .history(LogLevel::All, false, waits.clone())
        .build(Machine::new(WAIT_1S, TaskRegistry::new()).unwrap());
    rt.run_batch_json(&vec!["{}"; 100]);
    let events = waits.0.lock().unwrap().clone();
    for id in 0..100 {
        let types: Vec<&str> = events.iter().filter(|e| e.0 == id).map(|e| e.1).collect();
        assert_eq!(types.first(), Some(&"ExecutionStarted"));
        assert_eq!(types.last(), Some(&"ExecutionSucceeded"));
        assert!(types.contains(&"WaitStateExited"));
    }
    assert!(events.iter().all(|e| !e.2));
}

#[test]
fn faulty_w1_handlers_under_overload_lose_nothing() {
    use quickstep::exec::RawOutcome;
    use quickstep::runtime::workloads::Faults;

    let workload = Workload::load("w1_order", &default_dir()).unwrap();
    let faults = Faults::new(7);
    let rt = Runtime::builder()
        .threads(2)
        .queue_capacity(32)
        .build(workload.machine_with(faults.w1_tasks()).unwrap());
    let succeeded = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let visitor: Arc<dyn Fn(u64, RawOutcome<'_>) + Send + Sync> = {
        let (succeeded, failed, workload) = (Arc::clone(&succeeded), Arc::clone(&failed), workload.clone());
        Arc::new(move |_, raw| match raw.status {
            Status::Succeeded => {
                assert!(workload.output_ok(&raw.output.unwrap().to_json_string()));
                succeeded.fetch_add(1, Ordering::SeqCst);
            }
            _ => {
                assert!(Faults::caused(raw.error.as_deref()), "{raw:?}");
                failed.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    let text: Arc<str> = Arc::from(workload.input.as_str());
    // Offered far faster than two workers can run (the queue holds 32): refused
    // submissions are retried, accepted ones must all be reported.
    let (n, mut refused) = (5_000, 0u64);
    for _ in 0..n {
        let mut input = Input::Shared(Arc::clone(&text));
        let mut done = Completion::Visit(Arc::clone(&visitor));
        while let Err(full) = rt.try_submit(input, done) {
            refused += 1;
            (input, done) = (full.input, full.done);
            std::thread::yield_now();
        }
    }
    let report = rt.shutdown();
    assert!(refused > 0, "the queue never filled: not an overload");
    assert_eq!(succeeded.load(Ordering::SeqCst) + failed.load(Ordering::SeqCst), n);
    assert_eq!(failed.load(Ordering::SeqCst) as u64, faults.injected());
    assert!(faults.injected() > 200);
    assert_eq!(report.started, n as u64);
    assert!(report.balanced());
}

#[test]
fn parked_executions_keep_their_values_while_the_workers_reuse_their_arenas() {
    // Each execution parks twice (a Wait, then a retry's back-off) holding nested input,
    // strings with escapes, variables, a retry counter and its own name; meanwhile the
    // workers run the other executions in the arenas it ran in.
    let attempts = Arc::new(std::sync::Mutex::new(std::collections::HashMap::<i64, u32>::new()));
    let mut tasks = TaskRegistry::new();
    tasks.register(
        "arn:aws:states:::test:flaky",
        handler(move |input, _| {
            let id = input.get("id").and_then(|n| n.as_number()).and_then(|n| n.as_i64());
            let mut attempts = attempts.lock().unwrap();
            let a = attempts.entry(id.unwrap_or(-1)).or_default();
            *a += 1;
            if *a == 1 {
                Err(TaskFailure::new("Flaky", "try again"))
            } else {
                Ok(input)
            }
        }),
    );
    let rt = runtime(
        r#"{"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Parameters": {"id.$": "$.id", "tags.$": "$.tags", "note": "q\"uote",
                  "nested": {"deep.$": "$.deep"}}, "Assign": {"first.$": "$.tags[0]", "whole.$": "$"}, "Next": "W"},
            "W": {"Type": "Wait", "Seconds": 5, "Next": "T"},
            "T": {"Type": "Task", "Resource": "arn:aws:states:::test:flaky", "ResultPath": "$.task", "Next": "B",
                  "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 1, "MaxAttempts": 2}]},
            "B": {"Type": "Pass", "Parameters": {"all.$": "$", "first.$": "$first", "whole.$": "$whole",
                  "name.$": "$$.Execution.Name"}, "End": true}}}"#,
        tasks,
        2,
    );
    let n = 5000;
    let inputs: Vec<(usize, String)> = (0..n)
        .map(|i| {
            let text = format!(r#"{{"id": {i}, "tags": ["t{i}", "x\ny"], "deep": {{"k": [{i}, {{"s": "é{i}"}}]}}}}"#);
            (i, text)
        })
        .collect();
    let outputs = rt.run_batch_with(
        &inputs,
        |(i, text), arena| match quickstep::value::parse_keeping_text(arena, text) {
            Ok((input, source)) => Built::RunNamed(input, source, arena.alloc_str(&format!("n-{i}"))),
            Err(e) => Built::Reject(Err(e.to_string())),
        },
        |_, raw| {
            let mut out = Vec::new();
            raw.write_output(&mut out);
            match raw.status {
                Status::Succeeded => Ok(String::from_utf8(out).unwrap()),
                status => Err(format!("{status:?}: {:?} {:?}", raw.error, raw.cause)),
            }
        },
    );
    for (i, output) in outputs.into_iter().enumerate() {
        let output: serde_json::Value = serde_json::from_str(&output.unwrap()).unwrap();
        let whole = serde_json::json!({"id": i, "tags": [format!("t{i}"), "x\ny"], "note": "q\"uote",
            "nested": {"deep": {"k": [i, {"s": format!("é{i}")}]}}});
        let mut all = whole.clone();
        all["task"] = whole.clone();
        let expected = serde_json::json!({"all": all, "first": format!("t{i}"), "whole": whole,
            "name": format!("n-{i}")});
        assert_eq!(output, expected, "execution {i}");
    }
    assert!(rt.shutdown().balanced());
}
