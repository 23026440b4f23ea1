//! `--parked N`: memory per parked execution. Submits N executions of a machine that waits an
//! hour (W1's input, JSON text in) on the streaming API, waits until every one has parked,
//! and reports the process's resident memory per parked execution; then aborts them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use quickstep::runtime::{Completion, Input, Runtime};
use quickstep::{Machine, TaskRegistry};

/// W1's first step, then an hour's Wait.
const WAITER: &str = r#"{"StartAt": "Note", "States": {
    "Note": {"Type": "Pass", "Result": "received", "ResultPath": "$.status", "Next": "Hold"},
    "Hold": {"Type": "Wait", "Seconds": 3600, "End": true}}}"#;

/// The process's resident memory in bytes (Linux: /proc/self/statm).
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// Parks `n` executions on `threads` workers and prints the memory they take.
pub(crate) fn parked_memory(n: u64, threads: Option<usize>, input: &str) -> Result<(), String> {
    let machine = Machine::new(WAITER, TaskRegistry::new()).map_err(|e| e.to_string())?;
    let mut builder = Runtime::builder().queue_capacity(n as usize + 2000);
    if let Some(t) = threads {
        builder = builder.threads(t);
    }
    let runtime = builder.build(machine);
    let text: Arc<str> = Arc::from(input);
    // Warm the workers' arenas first, so that the baseline holds what any run holds.
    for _ in 0..1000 {
        runtime.submit(Input::Shared(Arc::clone(&text)), Completion::Ignore);
    }
    settle(&runtime, 1000);
    let before = resident_bytes().ok_or("no /proc/self/statm")?;
    let started = Instant::now();
    for _ in 0..n {
        runtime.submit(Input::Shared(Arc::clone(&text)), Completion::Ignore);
    }
    settle(&runtime, 1000 + n);
    let after = resident_bytes().ok_or("no /proc/self/statm")?;
    let per = (after.saturating_sub(before)) as f64 / n as f64;
    println!(
        "{n} executions parked in a Wait in {:.2} s: resident memory {:.1} MB -> {:.1} MB, {per:.0} bytes each",
        started.elapsed().as_secs_f64(),
        before as f64 / 1e6,
        after as f64 / 1e6,
    );
    let metrics = runtime.abort();
    println!("aborted: {} started, {} aborted", metrics.started, metrics.aborted);
    Ok(())
}

/// Waits until `n` executions have started and none is queued or running.
fn settle(runtime: &Runtime, n: u64) {
    while runtime.metrics().started < n {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
}
