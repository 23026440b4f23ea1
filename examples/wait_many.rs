//! 100,000 executions that each wait one second, on the system clock: they finish in about
//! one second of wall time, the workers idle (parked) while the executions wait.
//! `cargo run --release --example wait_many [-- COUNT]`

use std::time::Instant;

use quickstep::runtime::{Completion, Runtime};
use quickstep::{Machine, TaskRegistry};

fn cpu_seconds() -> f64 {
    // utime + stime of this process, from /proc (Linux); 0 elsewhere.
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(") ").next().unwrap_or("").split(' ').collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn main() {
    let count: u64 = std::env::args().nth(1).and_then(|c| c.parse().ok()).unwrap_or(100_000);
    let machine = Machine::new(
        r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": true}}}"#,
        TaskRegistry::new(),
    )
    .expect("valid definition");
    let runtime = Runtime::builder().queue_capacity(count as usize).build(machine);
    let (start, cpu_start) = (Instant::now(), cpu_seconds());
    for _ in 0..count {
        runtime.submit("{}", Completion::Ignore);
    }
    let submitted = start.elapsed();
    let report = runtime.shutdown();
    println!(
        "{} executions waiting 1 s each: submitted in {:.3} s, all ended after {:.3} s of wall time, \
         {:.2} s of CPU; {} succeeded, balanced: {}",
        count,
        submitted.as_secs_f64(),
        start.elapsed().as_secs_f64(),
        cpu_seconds() - cpu_start,
        report.succeeded,
        report.balanced()
    );
}
