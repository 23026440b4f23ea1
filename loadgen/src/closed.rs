//! The closed loops: batches on the runtime (`closed_loop`) and W1 written by hand
//! (`handwritten_loop`).

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use quickstep::exec::RawOutcome;
use quickstep::runtime::workloads::{handwritten_w1, handwritten_w1_text, Workload};
use quickstep::runtime::{Built, MetricsSnapshot, Runtime};
use quickstep::value::Value;
use quickstep::Status;

use crate::alloc::{allocations, uncounted};
use crate::check::{check, is_sample, VERIFY};
use crate::report::{counted_since, new_histogram, progress, Report};
use crate::{default_threads, Args, InputMode};

/// Executions per closed-loop batch.
const BATCH: usize = 65_536;

thread_local! {
    /// Where text mode writes each output.
    static OUT: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(4096));
}

pub(crate) fn closed_loop(
    args: &Args,
    workload: &Workload,
    runtime: Runtime,
    parsed: Value<'_>,
    faulty: bool,
) -> Result<Report, String> {
    let texts = vec![workload.input.as_str(); BATCH];
    let mode = args.input;
    let sampled = AtomicU64::new(0);
    let wrong = AtomicBool::new(false);
    let run_batch = |n: usize| -> usize {
        let visit = |i: usize, raw: RawOutcome<'_>| {
            let ok = raw.status == Status::Succeeded || faulty;
            if mode == InputMode::Text {
                OUT.with(|out| {
                    let mut out = out.borrow_mut();
                    out.clear();
                    raw.write_output(&mut out);
                    if is_sample(i) && raw.status == Status::Succeeded {
                        sampled.fetch_add(1, Ordering::Relaxed);
                        if !uncounted(|| std::str::from_utf8(&out).is_ok_and(|t| workload.output_ok(t))) {
                            wrong.store(true, Ordering::Relaxed);
                        }
                    }
                });
            } else if is_sample(i) {
                sampled.fetch_add(1, Ordering::Relaxed);
                if !check(workload, &raw, faulty) {
                    wrong.store(true, Ordering::Relaxed);
                }
            }
            ok
        };
        let results = match mode {
            InputMode::Parsed => runtime.run_batch_with(&texts[..n], |_, _| Built::Run(parsed), visit),
            InputMode::Text => runtime.run_batch_with(
                &texts[..n],
                |text, arena| match quickstep::value::parse_keeping_text(arena, text) {
                    Ok((v, source)) => Built::RunText(v, source),
                    Err(_) => Built::Reject(false),
                },
                visit,
            ),
        };
        results.iter().filter(|ok| !**ok).count()
    };
    // Warm-up: arenas grow to their working size, caches fill.
    run_batch(BATCH.min(8192));
    let before = runtime.metrics();
    let allocs_before = allocations();
    let bar = progress(args, workload, args.count);
    let start = Instant::now();
    let mut executions = 0u64;
    let mut failures = 0;
    loop {
        let n = match args.count {
            Some(count) if executions >= count => break,
            Some(count) => (count - executions).min(BATCH as u64) as usize,
            None if start.elapsed().as_secs_f64() >= args.seconds => break,
            None => BATCH,
        };
        failures += run_batch(n);
        executions += n as u64;
        match args.count {
            Some(_) => bar.set_position(executions),
            None => bar.set_position(start.elapsed().as_millis() as u64),
        }
        bar.set_message(format!(
            "{:.0} exec/s",
            executions as f64 / start.elapsed().as_secs_f64()
        ));
    }
    let elapsed = start.elapsed();
    let allocations = allocations() - allocs_before;
    bar.finish_and_clear();
    let threads = runtime.threads();
    let after = runtime.shutdown();
    let mut latency = after.latency.clone();
    let _ = latency.subtract(&before.latency);
    let metrics = counted_since(&after, &before, latency.clone());
    Ok(Report {
        workload: workload.name.clone(),
        threads,
        input_mode: mode.as_str(),
        loop_mode: "closed",
        rate: None,
        executions,
        elapsed,
        latency,
        allocations,
        metrics,
        verified: 0,
        failed_total: after.failed,
        injected: 0,
        sampled: sampled.load(Ordering::Relaxed),
        output_ok: failures == 0 && !wrong.load(Ordering::Relaxed),
    })
}

/// `--handwritten`: W1 by hand ([`handwritten_w1`]) on threads of its own, closed loop:
/// a verification pass (every output checked), then the timed run (one output in
/// [`SAMPLE_EVERY`](crate::check::SAMPLE_EVERY) checked, one execution in
/// [`TIMED_EVERY`] timed).
pub(crate) fn handwritten_loop(args: &Args, workload: &Workload) -> Result<Report, String> {
    if workload.name != "w1_order" {
        return Err("--handwritten runs W1 (w1_order) only".into());
    }
    let parsed: serde_json::Value = serde_json::from_str(&workload.input).map_err(|e| format!("input: {e}"))?;
    let mode = args.input;
    // One execution; with `check`, whether its output is the expected one.
    let execute = |out: &mut Vec<u8>, check: bool| -> bool {
        match mode {
            InputMode::Parsed => {
                let order = std::hint::black_box(handwritten_w1(&parsed));
                !check || uncounted(|| workload.output_ok(&order.to_string()))
            }
            InputMode::Text => {
                handwritten_w1_text(&workload.input, out);
                !check || uncounted(|| std::str::from_utf8(out).is_ok_and(|t| workload.output_ok(t)))
            }
        }
    };
    let mut out = Vec::with_capacity(1024);
    let verified_ok = (0..VERIFY).all(|_| execute(&mut out, true));
    let threads = args.threads.unwrap_or_else(default_threads);
    let left = AtomicU64::new(args.count.unwrap_or(u64::MAX));
    let wrong = AtomicBool::new(!verified_ok);
    let (sampled, executions) = (AtomicU64::new(0), AtomicU64::new(0));
    let latency = Mutex::new(new_histogram());
    let barrier = std::sync::Barrier::new(threads + 1);
    let bar = progress(args, workload, args.count);
    let (elapsed, allocs_before) = std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let (mut out, mut timings) = (Vec::with_capacity(1024), new_histogram());
                // Warm-up, then all threads start together.
                for _ in 0..8192 {
                    execute(&mut out, false);
                }
                barrier.wait();
                let start = Instant::now();
                let mut done = 0u64;
                loop {
                    // Claim up to 1024 of the executions left (--count).
                    let claimed = left.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                        (n > 0).then(|| n - n.min(1024))
                    });
                    let Ok(chunk) = claimed.map(|n| n.min(1024)) else { break };
                    if args.count.is_none() && start.elapsed().as_secs_f64() >= args.seconds {
                        break;
                    }
                    for i in done..done + chunk {
                        let timed = i % TIMED_EVERY == 0;
                        let began = timed.then(Instant::now);
                        let ok = execute(&mut out, is_sample(i as usize));
                        if let Some(began) = began {
                            let _ = timings.record(began.elapsed().as_nanos() as u64);
                        }
                        if is_sample(i as usize) {
                            sampled.fetch_add(1, Ordering::Relaxed);
                            if !ok {
                                wrong.store(true, Ordering::Relaxed);
                            }
                        }
                    }
                    done += chunk;
                }
                executions.fetch_add(done, Ordering::Relaxed);
                let _ = latency.lock().map(|mut l| l.add(&timings));
            });
        }
        barrier.wait();
        let (start, allocs_before) = (Instant::now(), allocations());
        while executions.load(Ordering::Relaxed) == 0 && left.load(Ordering::Relaxed) > 0 {
            std::thread::sleep(Duration::from_millis(50));
            match args.count {
                Some(count) => bar.set_position(count - left.load(Ordering::Relaxed).min(count)),
                None => bar.set_position(start.elapsed().as_millis() as u64),
            }
            if args.count.is_none() && start.elapsed().as_secs_f64() >= args.seconds + 1.0 {
                break;
            }
        }
        (start, allocs_before)
    });
    let elapsed = elapsed.elapsed();
    let allocations = allocations() - allocs_before;
    bar.finish_and_clear();
    let executions = executions.load(Ordering::Relaxed);
    let latency = latency.into_inner().unwrap_or_else(|e| e.into_inner());
    Ok(Report {
        workload: "w1_handwritten".into(),
        threads,
        input_mode: mode.as_str(),
        loop_mode: "closed",
        rate: None,
        executions,
        elapsed,
        latency: latency.clone(),
        allocations,
        metrics: MetricsSnapshot {
            started: executions,
            succeeded: executions,
            failed: 0,
            timed_out: 0,
            aborted: 0,
            rejected: 0,
            latency,
        },
        verified: VERIFY as u64,
        sampled: sampled.load(Ordering::Relaxed),
        output_ok: !wrong.load(Ordering::Relaxed),
        failed_total: 0,
        injected: 0,
    })
}

/// `--handwritten` times one execution in this many.
const TIMED_EVERY: u64 = 64;
