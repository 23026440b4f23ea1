//! `--stream FILE`: `quickstep stream`'s engine ([`quickstep::stream::run_stream_file`]) file to
//! file on the workload, then the closed loop with JSON text in and out on as many threads
//! for as long, side by side.

use std::io::BufRead;
use std::time::Instant;

use quickstep::runtime::workloads::Workload;
use quickstep::runtime::Runtime;
use quickstep::stream::{run_stream_file, StreamOptions};
use quickstep::ExecutionInfo;

use crate::closed::closed_loop;
use crate::{Args, InputMode};

/// Streams `args.stream` through the workload into `<FILE>.out`, checks every output line,
/// runs the text closed loop for the same time, and prints both rates and their ratio.
pub(crate) fn stream_side_by_side(args: &Args, workload: &Workload, path: &std::path::Path) -> Result<bool, String> {
    let runtime = || -> Result<Runtime, String> {
        let machine = workload.machine().map_err(|e| e.to_string())?;
        let mut builder = Runtime::builder();
        if let Some(t) = args.threads {
            builder = builder.threads(t);
        }
        Ok(builder.build(machine))
    };
    let out_path = path.with_extension("out");
    let input = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let output = std::fs::File::create(&out_path).map_err(|e| format!("{}: {e}", out_path.display()))?;
    let streaming = runtime()?;
    let threads = streaming.threads();
    let options = StreamOptions {
        ordered: args.ordered,
        ..StreamOptions::default()
    };
    let started = Instant::now();
    let summary = run_stream_file(&streaming, &ExecutionInfo::default(), input, output, options)?;
    let elapsed = started.elapsed();
    drop(streaming);
    let events = summary.succeeded + summary.failed;
    // Every output line is the workload's expected output.
    let written = std::io::BufReader::new(std::fs::File::open(&out_path).map_err(|e| e.to_string())?);
    let mut lines = 0u64;
    let mut ok = summary.failed == 0;
    for line in written.lines() {
        let line = line.map_err(|e| e.to_string())?;
        lines += 1;
        ok &= workload.output_ok(&line);
    }
    ok &= lines == events;
    let stream_rate = events as f64 / elapsed.as_secs_f64();

    let text_args = Args {
        input: InputMode::Text,
        seconds: elapsed.as_secs_f64().max(1.0),
        count: None,
        ..args.clone()
    };
    let arena = quickstep::value::Arena::new();
    let parsed = quickstep::value::parse(&arena, &workload.input).map_err(|e| format!("input: {e}"))?;
    let report = closed_loop(&text_args, workload, runtime()?, parsed, false)?;
    ok &= report.output_ok;
    let text_rate = report.exec_per_sec();
    println!(
        "{:<16} {:>7} {:>14} {:>12} {:>10} {:>8}",
        "workload", "threads", "stream ev/s", "text exec/s", "ratio", "output"
    );
    println!(
        "{:<16} {:>7} {:>14.0} {:>12.0} {:>9.0}% {:>8}",
        workload.name,
        threads,
        stream_rate,
        text_rate,
        100.0 * stream_rate / text_rate,
        if ok { "ok" } else { "WRONG" }
    );
    println!(
        "{:<16} {events} events ({} succeeded, {} failed) in {:.2} s; outputs in {}",
        "",
        summary.succeeded,
        summary.failed,
        elapsed.as_secs_f64(),
        out_path.display()
    );
    Ok(ok)
}
