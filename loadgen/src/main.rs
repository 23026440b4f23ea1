//! `loadgen`: runs the shared workloads on quickstep's runtime and reports throughput,
//! latency, allocations per execution and the outcome balance.
//!
//! Closed loop by default: the pool is kept busy with batches (`run_batch_with`, the fast
//! path), one execution per input, back to back. Open loop with `--rate R`: a generator
//! submits R executions per second on the streaming API (`submit`, JSON text in) and
//! latency is measured from each execution's scheduled arrival, so queueing counts. With
//! `--rate R --inline` there is no generator thread: the worker threads take the arrivals
//! from one shared schedule and run each on the calling thread (`Machine::run_in`). With
//! `--nats URL`, `quickstep worker` processes (or a bare consumer) on NATS JetStream, end to
//! end (`nats.rs`).
//!
//! Every workload first goes through a verification pass (every output checked against
//! `<name>.expected.json`); during the timed run one output in
//! [`SAMPLE_EVERY`](check::SAMPLE_EVERY) is checked.

mod alloc;
mod check;
mod closed;
mod endpoint;
mod nats;
mod open;
mod parked;
mod report;
mod stream;

use std::sync::atomic::{AtomicU64, Ordering};

use clap::{Parser, ValueEnum};
use quickstep::runtime::workloads::{default_dir, Faults, Workload, NAMES};
use quickstep::runtime::{Built, LogLevel, Runtime};
use quickstep::value::Arena;

use crate::check::{check, VERIFY};
use crate::closed::{closed_loop, handwritten_loop};
use crate::open::{inline_loop, open_loop, print_noise};
use crate::report::Report;

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
#[derive(Parser, Debug, Clone)]
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
    /// Folder of the workloads (default: tests/data/workloads, or $QUICKSTEP_WORKLOADS).
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
    /// Drives a server speaking the Step Functions API at this URL (`quickstep serve`, moto's
    /// server, ...) over HTTP/1.1 keep-alive connections instead of running in process:
    /// StartExecution of a STANDARD machine or StartSyncExecution of an EXPRESS one made from
    /// --workload (the server needs behaviours for its Task states: for W1,
    /// tests/data/workloads/w1_order.resources.json).
    #[arg(long, value_name = "URL", conflicts_with_all = ["rate", "all", "noise", "faults", "handwritten"])]
    endpoint: Option<String>,
    /// With --endpoint: the machine's type.
    #[arg(long = "type", value_enum, default_value_t = MachineTypeArg::Standard, requires = "endpoint")]
    machine_type: MachineTypeArg,
    /// With --endpoint: concurrent connections (each sends its next request when its last is
    /// answered).
    #[arg(long, default_value_t = 32, requires = "endpoint")]
    connections: usize,
    /// Runs `quickstep stream`'s engine on this file of newline-delimited inputs (file to
    /// file: the outputs go to FILE with the extension `.out`, each checked), then the closed
    /// loop with JSON text in and out on as many threads for as long, and prints both rates.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["rate", "all", "noise", "faults", "handwritten", "endpoint"])]
    stream: Option<std::path::PathBuf>,
    /// Parks this many executions in an hour's Wait (the streaming API, W1's input) and
    /// reports the resident memory each takes.
    #[arg(long, value_name = "N", conflicts_with_all = ["rate", "all", "noise", "faults", "handwritten", "endpoint", "stream"])]
    parked: Option<u64>,
    /// With --parked: the executions' input is `{}` instead of the workload's.
    #[arg(long, requires = "parked")]
    empty_input: bool,
    /// With --stream: write the outputs in input order.
    #[arg(long, requires = "stream")]
    ordered: bool,
    /// With --endpoint: the operation to load. `start` is StartExecution (STANDARD) or
    /// StartSyncExecution (EXPRESS) of --workload; CreateStateMachine creates a new machine
    /// per request; DescribeExecution and GetExecutionHistory read 256 finished STANDARD
    /// executions of --workload, started first, in turn.
    #[arg(long, value_enum, default_value_t = OperationArg::Start, requires = "endpoint")]
    operation: OperationArg,
    /// Measures `quickstep worker` on the NATS JetStream server at this URL, end to end
    /// (events published, executed, outcomes published, events acknowledged): --events copies
    /// of the workload's input, --workers workers (see src/nats.rs).
    #[arg(long, value_name = "URL", conflicts_with_all = ["rate", "all", "noise", "faults", "handwritten", "endpoint"])]
    nats: Option<String>,
    /// With --nats: how many events.
    #[arg(long, default_value_t = 1_000_000, requires = "nats")]
    events: u64,
    /// With --nats: a bare consumer in this process instead of workers (the baseline).
    #[arg(long, value_enum, requires = "nats")]
    bare: Option<nats::Bare>,
    /// With --nats: the quickstep binary the workers run.
    #[arg(long, value_name = "PATH", requires = "nats")]
    quickstep: Option<std::path::PathBuf>,
    /// With --nats: how many workers (or bare consumers).
    #[arg(long, default_value_t = 1, requires = "nats")]
    workers: usize,
    /// With --nats: messages per pull request.
    #[arg(long, default_value_t = 512, requires = "nats")]
    batch: usize,
    /// With --nats: the consumer's MaxAckPending.
    #[arg(long, default_value_t = 20_000, requires = "nats")]
    max_ack_pending: i64,
}

/// The operation `--endpoint` loads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum OperationArg {
    /// StartExecution or StartSyncExecution, by --type.
    #[value(name = "start", alias = "StartExecution")]
    Start,
    /// CreateStateMachine of a new machine per request.
    #[value(name = "CreateStateMachine")]
    CreateStateMachine,
    /// DescribeExecution of finished executions.
    #[value(name = "DescribeExecution")]
    DescribeExecution,
    /// GetExecutionHistory of finished executions.
    #[value(name = "GetExecutionHistory")]
    GetExecutionHistory,
}

/// The type of the machine `--endpoint` creates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "UPPER")]
enum MachineTypeArg {
    Standard,
    Express,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    if args.noise {
        print_noise(&args);
        return std::process::ExitCode::SUCCESS;
    }
    let dir = args.dir.clone().unwrap_or_else(default_dir);
    if let Some(url) = &args.endpoint {
        let outcome = Workload::load(&args.workload, &dir).and_then(|workload| {
            endpoint::run(&endpoint::EndpointRun {
                url,
                workload: &workload,
                machine_type: match args.machine_type {
                    MachineTypeArg::Standard => "STANDARD",
                    MachineTypeArg::Express => "EXPRESS",
                },
                connections: args.connections.max(1),
                seconds: args.seconds,
                json: args.json,
                operation: match args.operation {
                    OperationArg::Start => endpoint::Operation::Start,
                    OperationArg::CreateStateMachine => endpoint::Operation::CreateStateMachine,
                    OperationArg::DescribeExecution => endpoint::Operation::DescribeExecution,
                    OperationArg::GetExecutionHistory => endpoint::Operation::GetExecutionHistory,
                },
            })
        });
        return match outcome {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("loadgen: {e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    if let Some(n) = args.parked {
        let outcome = Workload::load(&args.workload, &dir).and_then(|w| {
            let input = if args.empty_input { "{}" } else { w.input.as_str() };
            parked::parked_memory(n, args.threads, input)
        });
        return match outcome {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("loadgen: {e}");
                std::process::ExitCode::from(2)
            }
        };
    }
    if let Some(url) = &args.nats {
        let outcome = Workload::load(&args.workload, &dir).and_then(|workload| {
            nats::run(&nats::NatsRun {
                url,
                workload: &workload,
                dir: dir.clone(),
                events: args.events,
                bare: args.bare,
                quickstep: args.quickstep.clone(),
                workers: args.workers.max(1),
                threads: args.threads,
                batch: args.batch.max(1),
                max_ack_pending: args.max_ack_pending,
                json: args.json,
            })
        });
        return match outcome {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("loadgen: {e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    if let Some(path) = &args.stream {
        let outcome = Workload::load(&args.workload, &dir).and_then(|w| stream::stream_side_by_side(&args, &w, path));
        return match outcome {
            Ok(true) => std::process::ExitCode::SUCCESS,
            Ok(false) => std::process::ExitCode::FAILURE,
            Err(e) => {
                eprintln!("loadgen: {e}");
                std::process::ExitCode::from(2)
            }
        };
    }
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
