//! The execution metrics Step Functions publishes to CloudWatch, kept per state machine and
//! served on `/metrics` in Prometheus' text format: `ExecutionsStarted`,
//! `ExecutionsSucceeded`, `ExecutionsFailed`, `ExecutionsTimedOut`, `ExecutionsAborted`,
//! `ExecutionThrottled` (counters) and `ExecutionTime` (a histogram, in milliseconds as
//! CloudWatch reports it), each labelled with CloudWatch's dimension `StateMachineArn`.
//!
//! Counts are kept in memory from the server's start: an execution that started before a
//! restart and ends after it counts as ended, not as started.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

use crate::exec::Status;

/// `ExecutionTime` bucket bounds, in milliseconds: from a fast Express execution to a day.
const TIME_BUCKETS_MS: [f64; 14] = [
    1.0,
    5.0,
    10.0,
    50.0,
    100.0,
    500.0,
    1_000.0,
    5_000.0,
    10_000.0,
    60_000.0,
    300_000.0,
    3_600_000.0,
    21_600_000.0,
    86_400_000.0,
];

/// One state machine's counts.
#[derive(Clone, Debug, Default)]
struct MachineCounts {
    started: u64,
    succeeded: u64,
    failed: u64,
    timed_out: u64,
    aborted: u64,
    /// Ended executions per `ExecutionTime` bucket (not cumulative), the last for `+Inf`.
    time_buckets: [u64; TIME_BUCKETS_MS.len() + 1],
    time_sum_ms: f64,
}

/// A counter to render: its name, its help text, and how to read it.
type Counter = (&'static str, &'static str, fn(&MachineCounts) -> u64);

/// Execution counts and times by state machine ARN.
#[derive(Debug, Default)]
pub struct ExecutionMetrics {
    machines: Mutex<BTreeMap<String, MachineCounts>>,
}

impl ExecutionMetrics {
    fn with(&self, machine_arn: &str, f: impl FnOnce(&mut MachineCounts)) {
        let mut machines = self.machines.lock().unwrap_or_else(|e| e.into_inner());
        match machines.get_mut(machine_arn) {
            Some(counts) => f(counts),
            None => f(machines.entry(machine_arn.to_string()).or_default()),
        }
    }

    /// An execution of `machine_arn` started.
    pub fn started(&self, machine_arn: &str) {
        self.with(machine_arn, |c| c.started += 1);
    }

    /// An execution of `machine_arn` ended with `status` after `duration_ms`.
    pub fn ended(&self, machine_arn: &str, status: Status, duration_ms: i64) {
        let ms = duration_ms.max(0) as f64;
        self.with(machine_arn, |c| {
            match status {
                Status::Succeeded => c.succeeded += 1,
                Status::Failed => c.failed += 1,
                Status::TimedOut => c.timed_out += 1,
                Status::Aborted => c.aborted += 1,
            }
            let bucket = TIME_BUCKETS_MS
                .iter()
                .position(|&bound| ms <= bound)
                .unwrap_or(TIME_BUCKETS_MS.len());
            c.time_buckets[bucket] += 1;
            c.time_sum_ms += ms;
        });
    }

    /// The metrics in Prometheus' text format.
    pub fn render(&self) -> String {
        let machines = self.machines.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let mut text = String::new();
        let counters: [Counter; 6] = [
            ("ExecutionsStarted", "Executions started.", |c| c.started),
            ("ExecutionsSucceeded", "Executions that succeeded.", |c| c.succeeded),
            ("ExecutionsFailed", "Executions that failed.", |c| c.failed),
            ("ExecutionsTimedOut", "Executions that timed out.", |c| c.timed_out),
            ("ExecutionsAborted", "Executions aborted (stopped).", |c| c.aborted),
            (
                "ExecutionThrottled",
                "Executions throttled (quickstep throttles none).",
                |_| 0,
            ),
        ];
        for (name, help, value) in counters {
            let _ = writeln!(text, "# HELP {name} {help}\n# TYPE {name} counter");
            for (arn, counts) in &machines {
                let _ = writeln!(text, "{name}{{StateMachineArn=\"{}\"}} {}", escape(arn), value(counts));
            }
        }
        let _ = writeln!(
            text,
            "# HELP ExecutionTime Time from an execution's start to its end, in milliseconds.\n# TYPE ExecutionTime histogram"
        );
        for (arn, counts) in &machines {
            let arn = escape(arn);
            let mut cumulative = 0;
            for (i, count) in counts.time_buckets.iter().enumerate() {
                cumulative += count;
                let le = TIME_BUCKETS_MS.get(i).map_or("+Inf".to_string(), |b| b.to_string());
                let _ = writeln!(
                    text,
                    "ExecutionTime_bucket{{StateMachineArn=\"{arn}\",le=\"{le}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                text,
                "ExecutionTime_sum{{StateMachineArn=\"{arn}\"}} {}",
                counts.time_sum_ms
            );
            let _ = writeln!(text, "ExecutionTime_count{{StateMachineArn=\"{arn}\"}} {cumulative}");
        }
        text
    }
}

/// A label value escaped as Prometheus' text format wants it.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_times_are_rendered_per_machine() {
        let metrics = ExecutionMetrics::default();
        metrics.started("arn:m1");
        metrics.started("arn:m1");
        metrics.started("arn:m2");
        metrics.ended("arn:m1", Status::Succeeded, 3);
        metrics.ended("arn:m1", Status::Failed, 70_000);
        let text = metrics.render();
        assert!(
            text.contains("ExecutionsStarted{StateMachineArn=\"arn:m1\"} 2\n"),
            "{text}"
        );
        assert!(text.contains("ExecutionsStarted{StateMachineArn=\"arn:m2\"} 1\n"));
        assert!(text.contains("ExecutionsSucceeded{StateMachineArn=\"arn:m1\"} 1\n"));
        assert!(text.contains("ExecutionsFailed{StateMachineArn=\"arn:m1\"} 1\n"));
        assert!(text.contains("ExecutionsFailed{StateMachineArn=\"arn:m2\"} 0\n"));
        assert!(text.contains("ExecutionTime_bucket{StateMachineArn=\"arn:m1\",le=\"1\"} 0\n"));
        assert!(text.contains("ExecutionTime_bucket{StateMachineArn=\"arn:m1\",le=\"5\"} 1\n"));
        assert!(text.contains("ExecutionTime_bucket{StateMachineArn=\"arn:m1\",le=\"60000\"} 1\n"));
        assert!(text.contains("ExecutionTime_bucket{StateMachineArn=\"arn:m1\",le=\"300000\"} 2\n"));
        assert!(text.contains("ExecutionTime_bucket{StateMachineArn=\"arn:m1\",le=\"+Inf\"} 2\n"));
        assert!(text.contains("ExecutionTime_sum{StateMachineArn=\"arn:m1\"} 70003\n"));
        assert!(text.contains("ExecutionTime_count{StateMachineArn=\"arn:m1\"} 2\n"));
    }
}
