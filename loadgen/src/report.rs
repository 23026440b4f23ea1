//! What a run measured (`Report`, printed as JSON here and as a table row by `main`), the
//! progress bar and the histogram and metrics helpers.

use std::io::IsTerminal;
use std::sync::atomic::Ordering;
use std::time::Duration;

use quickstep::runtime::hdrhistogram::Histogram;
use quickstep::runtime::workloads::Workload;
use quickstep::runtime::MetricsSnapshot;

use crate::{Args, HISTORY_EVENTS};

/// What one run measured.
pub(crate) struct Report {
    pub(crate) workload: String,
    pub(crate) threads: usize,
    pub(crate) input_mode: &'static str,
    pub(crate) loop_mode: &'static str,
    pub(crate) rate: Option<f64>,
    pub(crate) executions: u64,
    pub(crate) elapsed: Duration,
    pub(crate) latency: Histogram<u64>,
    pub(crate) allocations: u64,
    pub(crate) metrics: MetricsSnapshot,
    pub(crate) verified: u64,
    pub(crate) sampled: u64,
    pub(crate) output_ok: bool,
    /// Failed executions over the whole run (verification and warm-up included).
    pub(crate) failed_total: u64,
    /// Faults injected over the whole run (`--faults`).
    pub(crate) injected: u64,
}

impl Report {
    pub(crate) fn exec_per_sec(&self) -> f64 {
        self.executions as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
    pub(crate) fn us(&self, q: f64) -> f64 {
        self.latency.value_at_quantile(q) as f64 / 1000.0
    }
    pub(crate) fn allocs_per_exec(&self) -> f64 {
        self.allocations as f64 / (self.executions.max(1)) as f64
    }
    pub(crate) fn json(&self) -> String {
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

pub(crate) fn progress(args: &Args, workload: &Workload, len: Option<u64>) -> indicatif::ProgressBar {
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
pub(crate) fn counted_since(
    after: &MetricsSnapshot,
    before: &MetricsSnapshot,
    latency: Histogram<u64>,
) -> MetricsSnapshot {
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

pub(crate) fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000_000, 2).expect("valid bounds")
}
