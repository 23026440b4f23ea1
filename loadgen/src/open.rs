//! The open loops (`--rate`): over the runtime's streaming API (`open_loop`) or inline on
//! the calling threads (`inline_loop`), and `--noise`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use quickstep::exec::RawOutcome;
use quickstep::runtime::hdrhistogram::Histogram;
use quickstep::runtime::workloads::Workload;
use quickstep::runtime::{Completion, Input, MetricsSnapshot, Runtime};
use quickstep::value::{Arena, Value};
use quickstep::Status;

use crate::alloc::{allocations, uncounted};
use crate::check::check_arrival;
use crate::report::{counted_since, new_histogram, progress, Report};
use crate::{default_threads, Args, InputMode};

/// Latencies recorded by the completion visitor, one histogram per worker thread.
static LATENCIES: Mutex<Vec<Arc<Mutex<Histogram<u64>>>>> = Mutex::new(Vec::new());

thread_local! {
    static LOCAL_LATENCY: Arc<Mutex<Histogram<u64>>> = {
        let h = Arc::new(Mutex::new(new_histogram()));
        if let Ok(mut all) = LATENCIES.lock() {
            all.push(Arc::clone(&h));
        }
        h
    };
}

/// `--noise`: spins on each thread, reading the clock, and reports the stalls (gaps between
/// two readings) by length.
pub(crate) fn print_noise(args: &Args) {
    const LIMITS_US: [u64; 5] = [10, 50, 100, 1_000, 10_000];
    let threads = args.threads.unwrap_or_else(default_threads).max(1);
    let seconds = args.seconds;
    println!(
        "{:<8} {:>10} {:>10} {:>10} {:>10} {:>10} {:>14}",
        "thread", ">10 us/s", ">50 us/s", ">100 us/s", ">1 ms/s", ">10 ms/s", "time stalled"
    );
    let rows: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    let start = Instant::now();
                    let (mut last, mut stalled_ns, mut counts) = (start, 0u128, [0u64; 5]);
                    while (last - start).as_secs_f64() < seconds {
                        let now = Instant::now();
                        let gap = now - last;
                        if gap.as_micros() as u64 > LIMITS_US[0] {
                            stalled_ns += gap.as_nanos();
                        }
                        for (count, limit) in counts.iter_mut().zip(LIMITS_US) {
                            *count += (gap.as_micros() as u64 > limit) as u64;
                        }
                        last = now;
                    }
                    let per_second = counts.map(|c| c as f64 / seconds);
                    format!(
                        "{t:<8} {:>10.1} {:>10.1} {:>10.1} {:>10.1} {:>10.1} {:>13.2}%",
                        per_second[0],
                        per_second[1],
                        per_second[2],
                        per_second[3],
                        per_second[4],
                        stalled_ns as f64 / 1e7 / seconds
                    )
                })
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    for row in rows {
        println!("{row}");
    }
}

/// How many arrivals an open loop at `rate` a second makes: `--count`, or as many as
/// `--seconds` holds.
fn arrivals(args: &Args, rate: f64) -> Result<u64, String> {
    if !(rate > 0.0 && rate.is_finite()) {
        return Err("--rate must be a positive number".into());
    }
    Ok(args.count.unwrap_or((rate * args.seconds).ceil() as u64))
}

/// What one thread of [`inline_loop`] counted.
struct InlineCounts {
    latency: Histogram<u64>,
    /// Executions by status: succeeded, failed, timed out, aborted.
    by_status: [u64; 4],
    sampled: u64,
    wrong: bool,
}

/// Open loop without a generator thread or a queue (`--rate R --inline`): arrival `n` is due
/// at `start + n / R`; each of the threads takes the next arrival (one shared counter),
/// waits until it is due, and runs it on the calling thread with the synchronous API
/// (`Machine::run_in`, one arena per thread, reset per execution). This is a c-server queue
/// fed at a fixed rate: latency runs from the scheduled arrival, so a thread that falls
/// behind shows in every arrival it takes late.
pub(crate) fn inline_loop(
    args: &Args,
    workload: &Workload,
    runtime: Runtime,
    parsed: Value<'_>,
    rate: f64,
    faulty: bool,
) -> Result<Report, String> {
    let total = arrivals(args, rate)?;
    let threads = args.threads.unwrap_or_else(default_threads).max(1);
    let period_ns = 1e9 / rate;
    let mode = args.input;
    let machine = runtime.machine();
    let info = quickstep::ExecutionInfo::default();
    let next = AtomicU64::new(0);
    let bar = progress(args, workload, Some(total));
    let allocs_before = allocations();
    // A little ahead, so that every thread is waiting when the first arrival is due.
    let start = Instant::now() + Duration::from_millis(2);
    let run_thread = || {
        let (mut latency, mut out) = uncounted(|| (new_histogram(), Vec::with_capacity(4096)));
        let mut counts = [0u64; 4];
        let (mut sampled, mut wrong) = (0, false);
        let mut arena = Arena::new();
        let mut clock = quickstep::clock::SystemClock;
        loop {
            let n = next.fetch_add(1, Ordering::Relaxed);
            if n >= total {
                break;
            }
            let due = start + Duration::from_nanos((n as f64 * period_ns) as u64);
            while Instant::now() < due {
                std::hint::spin_loop();
            }
            arena.reset();
            let visit = |raw: RawOutcome<'_>| {
                if mode == InputMode::Text {
                    out.clear();
                    raw.write_output(&mut out);
                }
                let (was_sampled, ok) = check_arrival(workload, &raw, n, faulty);
                sampled += was_sampled as u64;
                wrong |= !ok;
                raw.status
            };
            let status = match mode {
                InputMode::Parsed => machine.run_in(&arena, parsed, &info, &mut clock, visit),
                InputMode::Text => machine
                    .run_text_in(&arena, &workload.input, &info, &mut clock, visit)
                    .map_err(|_| format!("{}: the input is not JSON", workload.name))?,
            };
            latency.saturating_record(due.elapsed().as_nanos().clamp(1, 3_600_000_000_000) as u64);
            let slot = match status {
                Status::Succeeded => 0,
                Status::Failed => 1,
                Status::TimedOut => 2,
                Status::Aborted => 3,
            };
            counts[slot] += 1;
            if n % 65_536 == 0 {
                bar.set_position(n);
            }
        }
        Ok(InlineCounts {
            latency,
            by_status: counts,
            sampled,
            wrong,
        })
    };
    let results: Vec<Result<InlineCounts, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads).map(|_| scope.spawn(run_thread)).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("a thread panicked".into())))
            .collect()
    });
    let elapsed = start.elapsed();
    let allocations = allocations() - allocs_before;
    bar.finish_and_clear();
    let mut latency = new_histogram();
    let (mut by_status, mut sampled, mut wrong) = ([0u64; 4], 0, false);
    for counts in results {
        let counts = counts?;
        let _ = latency.add(&counts.latency);
        for (sum, n) in by_status.iter_mut().zip(counts.by_status) {
            *sum += n;
        }
        sampled += counts.sampled;
        wrong |= counts.wrong;
    }
    let metrics = MetricsSnapshot {
        started: by_status.iter().sum(),
        succeeded: by_status[0],
        failed: by_status[1],
        timed_out: by_status[2],
        aborted: by_status[3],
        rejected: 0,
        latency: latency.clone(),
    };
    let before = runtime.metrics();
    drop(runtime.shutdown());
    Ok(Report {
        workload: workload.name.clone(),
        threads,
        input_mode: mode.as_str(),
        loop_mode: "open-inline",
        rate: Some(rate),
        executions: total,
        elapsed,
        latency,
        allocations,
        failed_total: before.failed + metrics.failed,
        metrics,
        verified: 0,
        injected: 0,
        sampled,
        output_ok: !wrong,
    })
}

/// Open loop: one generator thread submits each execution at its scheduled arrival time on
/// the streaming API (shared JSON text in, one shared visitor reading the outcome in place:
/// no allocation per execution), blocking when the queue is full (back-pressure). Latency
/// runs from the scheduled arrival, so a generator or queue that falls behind shows in it.
pub(crate) fn open_loop(
    args: &Args,
    workload: &Workload,
    runtime: Runtime,
    rate: f64,
    faulty: bool,
) -> Result<Report, String> {
    let total = arrivals(args, rate)?;
    let period = Duration::from_secs_f64(1.0 / rate);
    let wrong = Arc::new(AtomicBool::new(false));
    let sampled = Arc::new(AtomicU64::new(0));
    let reported = Arc::new(AtomicU64::new(0));
    // The id of the first submission: execution `n` has id `first_id + n`, so its scheduled
    // arrival is `start + n * period` (u64::MAX until known).
    let first_id = Arc::new(AtomicU64::new(u64::MAX));
    if let Ok(all) = LATENCIES.lock() {
        for h in all.iter() {
            if let Ok(mut h) = h.lock() {
                h.reset();
            }
        }
    }
    let before = runtime.metrics();
    let allocs_before = allocations();
    let bar = progress(args, workload, Some(total));
    let start = Instant::now();
    let visitor: Arc<dyn Fn(u64, RawOutcome<'_>) + Send + Sync> = {
        let (workload, wrong, sampled, reported, first_id) = (
            workload.clone(),
            Arc::clone(&wrong),
            Arc::clone(&sampled),
            Arc::clone(&reported),
            Arc::clone(&first_id),
        );
        Arc::new(move |id, raw| {
            let first = loop {
                match first_id.load(Ordering::Acquire) {
                    u64::MAX => std::hint::spin_loop(),
                    first => break first,
                }
            };
            let n = id.wrapping_sub(first);
            let due = start + period.mul_f64(n as f64);
            let latency = due.elapsed();
            LOCAL_LATENCY.with(|h| {
                if let Ok(mut h) = h.lock() {
                    h.saturating_record(latency.as_nanos().clamp(1, 3_600_000_000_000) as u64);
                }
            });
            let (was_sampled, ok) = check_arrival(&workload, &raw, n, faulty);
            if was_sampled {
                sampled.fetch_add(1, Ordering::Relaxed);
            }
            if !ok {
                wrong.store(true, Ordering::Relaxed);
            }
            reported.fetch_add(1, Ordering::Relaxed);
        })
    };
    let text: Arc<str> = Arc::from(workload.input.as_str());
    for n in 0..total {
        let due = start + period.mul_f64(n as f64);
        // Sleep while the next arrival is far (the generator shares the cores with the
        // workers), spin for the last stretch.
        let ahead = due.saturating_duration_since(Instant::now());
        if ahead > Duration::from_micros(300) {
            std::thread::sleep(ahead - Duration::from_micros(200));
        }
        while Instant::now() < due {
            std::hint::spin_loop();
        }
        let id = runtime.submit(
            Input::Shared(Arc::clone(&text)),
            Completion::Visit(Arc::clone(&visitor)),
        );
        match first_id.load(Ordering::Relaxed) {
            u64::MAX => first_id.store(id, Ordering::Release),
            first if id != first + n => return Err(format!("submission ids are not consecutive ({id})")),
            _ => {}
        }
        if n % 4096 == 0 {
            bar.set_position(n);
        }
    }
    let threads = runtime.threads();
    let after = runtime.shutdown();
    let elapsed = start.elapsed();
    let allocations = allocations() - allocs_before;
    bar.finish_and_clear();
    let mut latency = new_histogram();
    if let Ok(all) = LATENCIES.lock() {
        for h in all.iter() {
            if let Ok(h) = h.lock() {
                let _ = latency.add(&*h);
            }
        }
    }
    let metrics = counted_since(&after, &before, latency.clone());
    // Every submission was reported exactly once.
    let all_reported = reported.load(Ordering::SeqCst) == total;
    Ok(Report {
        workload: workload.name.clone(),
        threads,
        input_mode: "text",
        loop_mode: "open",
        rate: Some(rate),
        executions: total,
        elapsed,
        latency,
        allocations,
        metrics,
        verified: 0,
        failed_total: after.failed,
        injected: 0,
        sampled: sampled.load(Ordering::Relaxed),
        output_ok: all_reported && !wrong.load(Ordering::Relaxed),
    })
}
