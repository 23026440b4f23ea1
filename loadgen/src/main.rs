//! `loadgen`: runs the shared workloads on quickstep's runtime and reports throughput,
//! latency, allocations per execution and the outcome balance.
//!
//! Closed loop by default: the pool is kept busy with batches (`run_batch_with`, the fast
//! path), one execution per input, back to back. Open loop with `--rate R`: a generator
//! submits R executions per second on the streaming API (`submit`, JSON text in) and
//! latency is measured from each execution's scheduled arrival, so queueing counts. With
//! `--rate R --inline` there is no generator thread: the worker threads take the arrivals
//! from one shared schedule and run each on the calling thread (`Machine::run_in`).
//!
//! Every workload first goes through a verification pass (every output checked against
//! `<name>.expected.json`); during the timed run one output in [`SAMPLE_EVERY`] is checked.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::RefCell;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use quickstep::exec::RawOutcome;
use quickstep::runtime::hdrhistogram::Histogram;
use quickstep::runtime::workloads::{default_dir, handwritten_w1, handwritten_w1_text, Faults, Workload, NAMES};
use quickstep::runtime::{Built, Completion, Input, LogLevel, MetricsSnapshot, Runtime};
use quickstep::value::{Arena, Value};
use quickstep::Status;

/// Counts heap allocations (all threads) on top of mimalloc, except those of loadgen's own
/// output checks.
struct CountingAlloc;

/// Allocation counts by thread: a thread writes only its own slot, with a plain load and
/// store, so that counting does not slow down code that allocates (threads past the last
/// slot share it, with an atomic add).
static ALLOCATION_COUNTS: [CountSlot; COUNT_SLOTS] = [const { CountSlot(AtomicU64::new(0)) }; COUNT_SLOTS];
const COUNT_SLOTS: usize = 64;
static NEXT_COUNT_SLOT: AtomicUsize = AtomicUsize::new(0);

/// One thread's count, on a cache line of its own.
#[repr(align(128))]
struct CountSlot(AtomicU64);

thread_local! {
    /// Set while loadgen checks an output: those allocations are not the executor's.
    static CHECKING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// This thread's slot in [`ALLOCATION_COUNTS`], once it has allocated.
    static COUNT_SLOT: std::cell::Cell<usize> = const { std::cell::Cell::new(usize::MAX) };
}

fn count_allocation() {
    if CHECKING.try_with(|c| c.get()).unwrap_or(true) {
        return;
    }
    let slot = COUNT_SLOT
        .try_with(|slot| {
            if slot.get() == usize::MAX {
                slot.set(NEXT_COUNT_SLOT.fetch_add(1, Ordering::Relaxed).min(COUNT_SLOTS - 1));
            }
            slot.get()
        })
        .unwrap_or(COUNT_SLOTS - 1);
    let count = &ALLOCATION_COUNTS[slot].0;
    if slot < COUNT_SLOTS - 1 {
        count.store(count.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    } else {
        count.fetch_add(1, Ordering::Relaxed);
    }
}

/// Allocations counted so far, all threads.
fn allocations() -> u64 {
    ALLOCATION_COUNTS
        .iter()
        .map(|slot| slot.0.load(Ordering::Relaxed))
        .sum()
}

/// Runs an output check without counting its allocations.
fn uncounted<R>(f: impl FnOnce() -> R) -> R {
    CHECKING.with(|c| c.set(true));
    let r = f();
    CHECKING.with(|c| c.set(false));
    r
}

unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_allocation();
        unsafe { mimalloc::MiMalloc.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { mimalloc::MiMalloc.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_allocation();
        unsafe { mimalloc::MiMalloc.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_allocation();
        unsafe { mimalloc::MiMalloc.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// One output in this many is checked during the timed run (a power of two).
const SAMPLE_EVERY: usize = 1024;
const _: () = assert!(SAMPLE_EVERY.is_power_of_two());

/// Whether output `i` is one of the sampled ones.
fn is_sample(i: usize) -> bool {
    i & (SAMPLE_EVERY - 1) == 0
}

/// Executions per closed-loop batch.
const BATCH: usize = 65_536;

/// Executions in the verification pass.
const VERIFY: usize = 2_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum InputMode {
    /// Input parsed once into an arena value and shared; output read in place.
    Parsed,
    /// JSON text in (parsed per execution), JSON text out (written per execution).
    Text,
}

impl InputMode {
    fn as_str(self) -> &'static str {
        match self {
            InputMode::Parsed => "parsed",
            InputMode::Text => "text",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum HistoryLevel {
    Off,
    All,
    Error,
    Fatal,
}

/// History events delivered during the run.
static HISTORY_EVENTS: AtomicU64 = AtomicU64::new(0);

/// Load generator for quickstep.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Workload name (w1_order ... w6_intrinsics, found in --dir) or path of an .asl.json.
    #[arg(long, default_value = "w1_order")]
    workload: String,
    /// Run W1-W6 one after another and print a table.
    #[arg(long)]
    all: bool,
    /// Worker threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// Timed run length in seconds (ignored with --count).
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Run exactly this many executions instead of a time.
    #[arg(long)]
    count: Option<u64>,
    /// How input is handed over and output taken back.
    #[arg(long, value_enum, default_value_t = InputMode::Parsed)]
    input: InputMode,
    /// Open loop at this many executions per second (streaming API, JSON text in).
    #[arg(long)]
    rate: Option<f64>,
    /// With --rate: no generator thread and no queue. The --threads threads take the next
    /// arrival from one shared schedule, wait until it is due and run it on the calling
    /// thread (`Machine::run_in`), as consumers that poll their own event source would;
    /// --input applies.
    #[arg(long, requires = "rate")]
    inline: bool,
    /// Runs no workload: --threads threads spin reading the clock for --seconds and report
    /// how often and how long they were stalled (descheduled, interrupted, stolen by a
    /// hypervisor). Such stalls set a floor under every tail latency measured here.
    #[arg(long, conflicts_with_all = ["rate", "all"])]
    noise: bool,
    /// One JSON object per workload on its own line instead of a table.
    #[arg(long)]
    json: bool,
    /// Execution history at this AWS log level, counted by a sink (to measure its cost).
    #[arg(long, value_enum, default_value_t = HistoryLevel::Off)]
    history: HistoryLevel,
    /// Folder of the workloads (default: ../shared/workloads, or $QUICKSTEP_WORKLOADS).
    #[arg(long)]
    dir: Option<std::path::PathBuf>,
    /// Faulty task handlers (W1's tasks): one call in N panics, fails or returns a result
    /// over the payload limit, in turn. Checks that each fault fails exactly one execution
    /// and that nothing is lost.
    #[arg(long, value_name = "N")]
    faults: Option<u64>,
    /// Runs W1 written by hand on serde_json instead of quickstep, for side-by-side figures:
    /// no interpreter, the order cloned (--input parsed) or parsed and written (--input
    /// text) per execution, on --threads threads of its own, closed loop. Latency is timed
    /// on one execution in 64.
    #[arg(long, conflicts_with_all = ["rate", "all", "noise", "faults"])]
    handwritten: bool,
}

/// What one run measured.
struct Report {
    workload: String,
    threads: usize,
    input_mode: &'static str,
    loop_mode: &'static str,
    rate: Option<f64>,
    executions: u64,
    elapsed: Duration,
    latency: Histogram<u64>,
    allocations: u64,
    metrics: MetricsSnapshot,
    verified: u64,
    sampled: u64,
    output_ok: bool,
    /// Failed executions over the whole run (verification and warm-up included).
    failed_total: u64,
    /// Faults injected over the whole run (`--faults`).
    injected: u64,
}

impl Report {
    fn exec_per_sec(&self) -> f64 {
        self.executions as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
    fn us(&self, q: f64) -> f64 {
        self.latency.value_at_quantile(q) as f64 / 1000.0
    }
    fn allocs_per_exec(&self) -> f64 {
        self.allocations as f64 / (self.executions.max(1)) as f64
    }
    fn json(&self) -> String {
        let m = &self.metrics;
        serde_json::json!({
            "workload": self.workload,
            "threads": self.threads,
            "input_mode": self.input_mode,
            "loop": self.loop_mode,
            "rate": self.rate,
            "exec_per_sec": self.exec_per_sec().round(),
            "p50_us": self.us(0.5),
            "p99_us": self.us(0.99),
            "p999_us": self.us(0.999),
            "max_us": self.latency.max() as f64 / 1000.0,
            "allocs_per_exec": self.allocs_per_exec(),
            "started": m.started,
            "succeeded": m.succeeded,
            "failed": m.failed,
            "timed_out": m.timed_out,
            "aborted": m.aborted,
            "completed": m.ended(),
            "balanced": m.balanced(),
            "verified": self.verified,
            "sampled": self.sampled,
            "output_ok": self.output_ok,
            "history_events": HISTORY_EVENTS.load(Ordering::Relaxed),
            "faults_injected": self.injected,
        })
        .to_string()
    }
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    if args.noise {
        print_noise(&args);
        return std::process::ExitCode::SUCCESS;
    }
    let dir = args.dir.clone().unwrap_or_else(default_dir);
    let names: Vec<String> = if args.all {
        NAMES.iter().map(|s| s.to_string()).collect()
    } else {
        vec![args.workload.clone()]
    };
    let mut ok = true;
    if !args.json {
        println!(
            "{:<16} {:>7} {:>6} {:>12} {:>8} {:>8} {:>8} {:>9} {:>11}  {:<34} {:>9}",
            "workload",
            "threads",
            "input",
            "exec/s",
            "p50 us",
            "p99 us",
            "p999 us",
            "max us",
            "allocs/exec",
            "started = ok + failed + t/o + ab",
            "output"
        );
    }
    for name in &names {
        let workload = match Workload::load(name, &dir) {
            Ok(w) => w,
            Err(e) => {
                eprintln!("loadgen: {e}");
                return std::process::ExitCode::from(2);
            }
        };
        let report = match run_workload(&args, &workload) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("loadgen: {}: {e}", workload.name);
                return std::process::ExitCode::from(2);
            }
        };
        ok &= report.output_ok && report.metrics.balanced();
        if args.json {
            println!("{}", report.json());
        } else {
            let m = &report.metrics;
            println!(
                "{:<16} {:>7} {:>6} {:>12.0} {:>8.2} {:>8.2} {:>8.2} {:>9.1} {:>11.4}  {:<34} {:>9}",
                report.workload,
                report.threads,
                report.input_mode,
                report.exec_per_sec(),
                report.us(0.5),
                report.us(0.99),
                report.us(0.999),
                report.latency.max() as f64 / 1000.0,
                report.allocs_per_exec(),
                format!(
                    "{} = {} + {} + {} + {}",
                    m.started, m.succeeded, m.failed, m.timed_out, m.aborted
                ),
                if report.output_ok { "ok" } else { "WRONG" },
            );
            if args.faults.is_some() {
                println!(
                    "{:<16} faults injected: {}, failed executions (whole run): {}",
                    "", report.injected, report.failed_total
                );
            }
        }
    }
    if ok {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}

fn run_workload(args: &Args, workload: &Workload) -> Result<Report, String> {
    if args.handwritten {
        return handwritten_loop(args, workload);
    }
    let faults = args.faults.map(Faults::new);
    let machine = match &faults {
        Some(faults) => {
            // Injected panics are expected: keep them off the terminal.
            std::panic::set_hook(Box::new(|_| {}));
            workload.machine_with(faults.w1_tasks())
        }
        None => workload.machine(),
    }
    .map_err(|e| e.to_string())?;
    let mut builder = Runtime::builder();
    if let Some(t) = args.threads {
        builder = builder.threads(t);
    }
    let level = match args.history {
        HistoryLevel::Off => LogLevel::Off,
        HistoryLevel::All => LogLevel::All,
        HistoryLevel::Error => LogLevel::Error,
        HistoryLevel::Fatal => LogLevel::Fatal,
    };
    builder = builder.history(level, true, |_: u64, _: &quickstep::history::HistoryEvent<'_>| {
        HISTORY_EVENTS.fetch_add(1, Ordering::Relaxed);
    });
    let runtime = builder.build(machine);
    // The input, parsed once for the parsed mode (an arena that lives for the whole run).
    let input_arena = Arena::new();
    let parsed = quickstep::value::parse(&input_arena, &workload.input).map_err(|e| format!("input: {e}"))?;

    // Verification pass: every output of both input modes.
    let texts = vec![workload.input.as_str(); VERIFY / 2];
    let mut verified = 0;
    let mut output_ok = true;
    let faulty = faults.is_some();
    for o in runtime.run_batch_json(&texts) {
        verified += 1;
        output_ok &= o.is_ok_and(|o| match o.output {
            Some(out) => workload.output_ok(&out),
            None => faulty && Faults::caused(o.error.as_deref()),
        });
    }
    for ok in runtime.run_batch_with(
        &texts,
        |_, _| Built::Run(parsed),
        |_, raw| check(workload, &raw, faulty),
    ) {
        verified += 1;
        output_ok &= ok;
    }
    let result = match args.rate {
        Some(rate) if args.inline => inline_loop(args, workload, runtime, parsed, rate, faulty),
        Some(rate) => open_loop(args, workload, runtime, rate, faulty),
        None => closed_loop(args, workload, runtime, parsed, faulty),
    };
    let mut report = result?;
    report.verified = verified;
    report.output_ok &= output_ok;
    if let Some(faults) = &faults {
        // Every fault failed its execution, and nothing else failed.
        report.output_ok &= report.failed_total == faults.injected();
        report.injected = faults.injected();
    }
    Ok(report)
}

/// One per core: the runtime's default, for the modes that run their own threads.
fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The open loops' check of arrival `n`: every failure is checked (it must be an injected
/// fault), successes one in [`SAMPLE_EVERY`]. Whether it was a sampled success, and whether
/// it is right.
fn check_arrival(workload: &Workload, raw: &RawOutcome<'_>, n: u64, faulty: bool) -> (bool, bool) {
    match raw.status {
        Status::Succeeded if !is_sample(n as usize) => (false, true),
        Status::Succeeded => (true, check(workload, raw, faulty)),
        _ => (false, check(workload, raw, faulty)),
    }
}

/// Whether an outcome is the expected success (or, with faults, a failure they cause).
fn check(workload: &Workload, raw: &RawOutcome<'_>, faulty: bool) -> bool {
    uncounted(|| match (raw.status, raw.output) {
        (Status::Succeeded, Some(o)) => workload.output_ok(&o.to_json_string()),
        (Status::Failed, None) => faulty && Faults::caused(raw.error.as_deref()),
        _ => false,
    })
}

thread_local! {
    /// Where text mode writes each output.
    static OUT: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(4096));
}

fn progress(args: &Args, workload: &Workload, len: Option<u64>) -> indicatif::ProgressBar {
    if args.json || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = match len {
        Some(n) => indicatif::ProgressBar::new(n),
        None => indicatif::ProgressBar::new((args.seconds * 1000.0) as u64),
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{prefix:>16} [{bar:40}] {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_prefix(workload.name.clone());
    bar
}

/// The counters of `after` less those of `before` (the warm-up), with the timed run's latency.
fn counted_since(after: &MetricsSnapshot, before: &MetricsSnapshot, latency: Histogram<u64>) -> MetricsSnapshot {
    MetricsSnapshot {
        started: after.started - before.started,
        succeeded: after.succeeded - before.succeeded,
        failed: after.failed - before.failed,
        timed_out: after.timed_out - before.timed_out,
        aborted: after.aborted - before.aborted,
        rejected: after.rejected - before.rejected,
        latency,
    }
}

fn closed_loop(
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
/// [`SAMPLE_EVERY`] checked, one execution in [`TIMED_EVERY`] timed).
fn handwritten_loop(args: &Args, workload: &Workload) -> Result<Report, String> {
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
fn print_noise(args: &Args) {
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
fn inline_loop(
    args: &Args,
    workload: &Workload,
    runtime: Runtime,
    parsed: Value<'_>,
    rate: f64,
    faulty: bool,
) -> Result<Report, String> {
    if !(rate > 0.0 && rate.is_finite()) {
        return Err("--rate must be a positive number".into());
    }
    let total = args.count.unwrap_or((rate * args.seconds).ceil() as u64);
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

fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000_000, 2).expect("valid bounds")
}

/// Open loop: one generator thread submits each execution at its scheduled arrival time on
/// the streaming API (shared JSON text in, one shared visitor reading the outcome in place:
/// no allocation per execution), blocking when the queue is full (back-pressure). Latency
/// runs from the scheduled arrival, so a generator or queue that falls behind shows in it.
fn open_loop(args: &Args, workload: &Workload, runtime: Runtime, rate: f64, faulty: bool) -> Result<Report, String> {
    if !(rate > 0.0 && rate.is_finite()) {
        return Err("--rate must be a positive number".into());
    }
    let total = args.count.unwrap_or((rate * args.seconds).ceil() as u64);
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
