//! The metrics Step Functions publishes to CloudWatch, served on `/metrics` in Prometheus'
//! text format, times as histograms in milliseconds as CloudWatch reports them:
//!
//! - per state machine (label `StateMachineArn`): `ExecutionsStarted`,
//!   `ExecutionsSucceeded`, `ExecutionsFailed`, `ExecutionsTimedOut`, `ExecutionsAborted`,
//!   `ExecutionThrottled` and `ExecutionTime`;
//! - per activity (`ActivityArn`): `ActivitiesScheduled`, `ActivitiesStarted`,
//!   `ActivitiesSucceeded`, `ActivitiesFailed`, `ActivitiesTimedOut`,
//!   `ActivitiesHeartbeatTimedOut`, `ActivityScheduleTime`, `ActivityRunTime`, `ActivityTime`;
//! - per Lambda function of a `Resource` that is a function ARN (`LambdaFunctionArn`):
//!   `LambdaFunctionsScheduled`, `...Started`, `...Succeeded`, `...Failed`, `...TimedOut`,
//!   `LambdaFunctionScheduleTime`, `LambdaFunctionRunTime`, `LambdaFunctionTime`;
//! - per service integration resource (`ServiceIntegrationResourceArn`, such as
//!   `arn:aws:states:::lambda:invoke`): `ServiceIntegrationsScheduled`, `...Started`,
//!   `...Succeeded`, `...Failed`, `...TimedOut`, `ServiceIntegrationScheduleTime`,
//!   `ServiceIntegrationRunTime`, `ServiceIntegrationTime`.
//!
//! The task metrics come from the history events of Standard executions
//! ([`TaskTracker`]): `...Scheduled`, `...Started`, and the event that closes the task. The
//! schedule time runs from scheduled to started, the run time from started to closed, the
//! time from scheduled to closed.
//!
//! Counts are kept in memory from the server's start: an execution that started before a
//! restart and ends after it counts as ended, not as started.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::Mutex;

use crate::exec::Status;
use crate::history::{EventDetail, HistoryEvent};

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

/// A histogram of times in milliseconds.
#[derive(Clone, Debug, Default)]
struct Histogram {
    /// Observations per bucket (not cumulative), the last for `+Inf`.
    buckets: [u64; TIME_BUCKETS_MS.len() + 1],
    sum_ms: f64,
}

impl Histogram {
    fn observe(&mut self, ms: i64) {
        let ms = ms.max(0) as f64;
        let bucket = TIME_BUCKETS_MS
            .iter()
            .position(|&bound| ms <= bound)
            .unwrap_or(TIME_BUCKETS_MS.len());
        self.buckets[bucket] += 1;
        self.sum_ms += ms;
    }

    /// The `_bucket`, `_sum` and `_count` lines of `name` for the label `label="value"`.
    fn render(&self, text: &mut String, name: &str, label: &str, value: &str) {
        let value = escape(value);
        let mut cumulative = 0;
        for (i, count) in self.buckets.iter().enumerate() {
            cumulative += count;
            let le = TIME_BUCKETS_MS.get(i).map_or("+Inf".to_string(), |b| b.to_string());
            let _ = writeln!(text, "{name}_bucket{{{label}=\"{value}\",le=\"{le}\"}} {cumulative}");
        }
        let _ = writeln!(text, "{name}_sum{{{label}=\"{value}\"}} {}", self.sum_ms);
        let _ = writeln!(text, "{name}_count{{{label}=\"{value}\"}} {cumulative}");
    }
}

/// One state machine's counts.
#[derive(Clone, Debug, Default)]
struct MachineCounts {
    started: u64,
    succeeded: u64,
    failed: u64,
    timed_out: u64,
    aborted: u64,
    time: Histogram,
}

/// What kind of task a task metric is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum TaskFamily {
    /// An activity (`ActivityScheduled`, ...).
    Activity,
    /// A Lambda function named by its ARN (`LambdaFunctionScheduled`, ...).
    Lambda,
    /// A service integration (`TaskScheduled`, ...).
    ServiceIntegration,
}

impl TaskFamily {
    /// The metrics' label, the plural and singular stems of their names, and what they
    /// count.
    fn names(self) -> (&'static str, &'static str, &'static str, &'static str) {
        match self {
            TaskFamily::Activity => ("ActivityArn", "Activities", "Activity", "activities"),
            TaskFamily::Lambda => (
                "LambdaFunctionArn",
                "LambdaFunctions",
                "LambdaFunction",
                "Lambda functions",
            ),
            TaskFamily::ServiceIntegration => (
                "ServiceIntegrationResourceArn",
                "ServiceIntegrations",
                "ServiceIntegration",
                "service integration tasks",
            ),
        }
    }
}

/// What happened to a task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskChange {
    /// Scheduled.
    Scheduled,
    /// Started, after waiting `schedule_ms` since it was scheduled.
    Started {
        /// Milliseconds from scheduled to started.
        schedule_ms: i64,
    },
    /// Closed: succeeded, failed, timed out, or timed out for want of a heartbeat.
    Closed {
        /// How it closed.
        how: TaskEnd,
        /// Milliseconds from started to closed, when it had started.
        run_ms: Option<i64>,
        /// Milliseconds from scheduled to closed.
        time_ms: i64,
    },
}

/// How a task closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskEnd {
    /// `...Succeeded`.
    Succeeded,
    /// `...Failed`.
    Failed,
    /// `...TimedOut` (not a heartbeat's).
    TimedOut,
    /// `ActivityTimedOut` with `States.HeartbeatTimeout`.
    HeartbeatTimedOut,
}

/// One task metric observation: which task resource, and what happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskObservation {
    /// Activity, Lambda function or service integration.
    pub family: TaskFamily,
    /// The activity ARN, function ARN or service integration resource ARN.
    pub arn: String,
    /// What happened.
    pub change: TaskChange,
}

/// Turns an execution's history events into task metric observations: it follows each task
/// from its `...Scheduled` event through the events that follow from it (`previousEventId`).
#[derive(Debug, Default)]
pub struct TaskTracker {
    /// By event id of a task's latest event: its family, ARN, scheduled and started times.
    open: HashMap<u32, (TaskFamily, String, i64, Option<i64>)>,
}

impl TaskTracker {
    /// The observation `event` makes, if any.
    pub fn record(&mut self, event: &HistoryEvent<'_>) -> Option<TaskObservation> {
        let kind = event.event_type;
        let (family, stage) = if let Some(stage) = kind.strip_prefix("Activity") {
            (TaskFamily::Activity, stage)
        } else if let Some(stage) = kind.strip_prefix("LambdaFunction") {
            (TaskFamily::Lambda, stage)
        } else if let Some(stage) = kind.strip_prefix("Task") {
            (TaskFamily::ServiceIntegration, stage)
        } else {
            return None;
        };
        let at = event.timestamp_ms;
        if stage == "Scheduled" {
            let arn = match event.detail {
                EventDetail::Scheduled { resource, .. } => resource.to_string(),
                EventDetail::Task {
                    resource_type,
                    resource,
                    ..
                } if resource_type != "quickstep" => format!("arn:aws:states:::{resource_type}:{resource}"),
                EventDetail::Task { resource, .. } => resource.to_string(),
                _ => return None,
            };
            self.open.insert(event.id, (family, arn.clone(), at, None));
            return Some(TaskObservation {
                family,
                arn,
                change: TaskChange::Scheduled,
            });
        }
        let end = match stage {
            "Succeeded" => TaskEnd::Succeeded,
            "Failed" => TaskEnd::Failed,
            "TimedOut" => match event.data {
                crate::history::EventData::Failure {
                    error: Some(crate::error::names::HEARTBEAT_TIMEOUT),
                    ..
                } if family == TaskFamily::Activity => TaskEnd::HeartbeatTimedOut,
                _ => TaskEnd::TimedOut,
            },
            "Started" | "Submitted" | "StartFailed" | "SubmitFailed" => {
                let (family, arn, scheduled, started) = self.open.remove(&event.previous_event_id)?;
                let change = match (stage, started) {
                    ("Started", None) => Some(TaskChange::Started {
                        schedule_ms: at - scheduled,
                    }),
                    _ => None,
                };
                let started = if stage == "Started" { Some(at) } else { started };
                if stage.ends_with("Failed") {
                    let observation = TaskChange::Closed {
                        how: TaskEnd::Failed,
                        run_ms: started.map(|s| at - s),
                        time_ms: at - scheduled,
                    };
                    return Some(TaskObservation {
                        family,
                        arn,
                        change: observation,
                    });
                }
                self.open.insert(event.id, (family, arn.clone(), scheduled, started));
                return change.map(|change| TaskObservation { family, arn, change });
            }
            _ => return None,
        };
        let (family, arn, scheduled, started) = self.open.remove(&event.previous_event_id)?;
        Some(TaskObservation {
            family,
            arn,
            change: TaskChange::Closed {
                how: end,
                run_ms: started.map(|s| at - s),
                time_ms: at - scheduled,
            },
        })
    }
}

/// A task counter to render: the stage its name ends with, its help text, how to read it.
type TaskCounter = (&'static str, &'static str, fn(&TaskCounts) -> u64);

/// A task time histogram to render: the stage its name ends with, its help text, which one.
type TaskTime = (&'static str, &'static str, fn(&TaskCounts) -> &Histogram);

/// One task resource's counts and times.
#[derive(Clone, Debug, Default)]
struct TaskCounts {
    scheduled: u64,
    started: u64,
    succeeded: u64,
    failed: u64,
    timed_out: u64,
    heartbeat_timed_out: u64,
    schedule_time: Histogram,
    run_time: Histogram,
    time: Histogram,
}

/// A counter to render: its name, its help text, and how to read it.
type Counter = (&'static str, &'static str, fn(&MachineCounts) -> u64);

/// Execution counts and times by state machine ARN.
#[derive(Debug, Default)]
pub struct ExecutionMetrics {
    machines: Mutex<BTreeMap<String, MachineCounts>>,
    tasks: Mutex<BTreeMap<(TaskFamily, String), TaskCounts>>,
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
        self.with(machine_arn, |c| {
            match status {
                Status::Succeeded => c.succeeded += 1,
                Status::Failed => c.failed += 1,
                Status::TimedOut => c.timed_out += 1,
                Status::Aborted => c.aborted += 1,
            }
            c.time.observe(duration_ms);
        });
    }

    /// Counts task observations (from [`TaskTracker`]).
    pub fn tasks(&self, observations: &[TaskObservation]) {
        if observations.is_empty() {
            return;
        }
        let mut tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
        for observation in observations {
            let key = (observation.family, observation.arn.clone());
            let counts = tasks.entry(key).or_default();
            match observation.change {
                TaskChange::Scheduled => counts.scheduled += 1,
                TaskChange::Started { schedule_ms } => {
                    counts.started += 1;
                    counts.schedule_time.observe(schedule_ms);
                }
                TaskChange::Closed { how, run_ms, time_ms } => {
                    match how {
                        TaskEnd::Succeeded => counts.succeeded += 1,
                        TaskEnd::Failed => counts.failed += 1,
                        TaskEnd::TimedOut => counts.timed_out += 1,
                        TaskEnd::HeartbeatTimedOut => counts.heartbeat_timed_out += 1,
                    }
                    if let Some(run_ms) = run_ms {
                        counts.run_time.observe(run_ms);
                    }
                    counts.time.observe(time_ms);
                }
            }
        }
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
            counts.time.render(&mut text, "ExecutionTime", "StateMachineArn", arn);
        }
        self.render_tasks(&mut text);
        text
    }
}

impl ExecutionMetrics {
    /// The task metrics, family by family.
    fn render_tasks(&self, text: &mut String) {
        let tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner()).clone();
        for family in [TaskFamily::Activity, TaskFamily::Lambda, TaskFamily::ServiceIntegration] {
            let (label, plural, singular, what) = family.names();
            let of_family = || tasks.iter().filter(|((f, _), _)| *f == family);
            let mut counters: Vec<TaskCounter> = vec![
                ("Scheduled", "scheduled", |c| c.scheduled),
                ("Started", "started", |c| c.started),
                ("Succeeded", "that succeeded", |c| c.succeeded),
                ("Failed", "that failed", |c| c.failed),
                ("TimedOut", "that timed out on close", |c| c.timed_out),
            ];
            if family == TaskFamily::Activity {
                counters.push(("HeartbeatTimedOut", "that timed out for want of a heartbeat", |c| {
                    c.heartbeat_timed_out
                }));
            }
            for (stage, help, value) in counters {
                let name = format!("{plural}{stage}");
                let _ = writeln!(text, "# HELP {name} Number of {what} {help}.\n# TYPE {name} counter");
                for ((_, arn), counts) in of_family() {
                    let _ = writeln!(text, "{name}{{{label}=\"{}\"}} {}", escape(arn), value(counts));
                }
            }
            let histograms: [TaskTime; 3] = [
                ("ScheduleTime", "from scheduled to started", |c| &c.schedule_time),
                ("RunTime", "from started to closed", |c| &c.run_time),
                ("Time", "from scheduled to closed", |c| &c.time),
            ];
            for (stage, help, histogram) in histograms {
                let name = format!("{singular}{stage}");
                let _ = writeln!(
                    text,
                    "# HELP {name} Time of {what} {help}, in milliseconds.\n# TYPE {name} histogram"
                );
                for ((_, arn), counts) in of_family() {
                    histogram(counts).render(text, &name, label, arn);
                }
            }
        }
    }
}

/// A label value escaped as Prometheus' text format wants it.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::EventData;

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

    fn event<'a>(
        id: u32,
        previous: u32,
        at: i64,
        kind: &'static str,
        detail: EventDetail<'a>,
        data: EventData<'a>,
    ) -> HistoryEvent<'a> {
        HistoryEvent {
            id,
            previous_event_id: previous,
            timestamp_ms: at,
            event_type: kind,
            state: Some("Approve"),
            data,
            detail,
        }
    }

    #[test]
    fn tasks_are_followed_from_scheduled_to_closed() {
        let activity = "arn:aws:states:us-east-1:123456789012:activity:approve";
        let scheduled = EventDetail::Scheduled {
            resource: activity,
            timeout_seconds: None,
            heartbeat_seconds: Some(5),
        };
        let heartbeat = EventData::Failure {
            error: Some("States.HeartbeatTimeout"),
            cause: None,
        };
        let integration = EventDetail::Task {
            resource_type: "sqs",
            resource: "sendMessage",
            region: "us-east-1",
            timeout_seconds: None,
            heartbeat_seconds: None,
        };
        let events = [
            event(3, 2, 1_000, "ActivityScheduled", scheduled, EventData::None),
            event(
                4,
                3,
                1_250,
                "ActivityStarted",
                EventDetail::Worker { name: None },
                EventData::None,
            ),
            event(5, 4, 7_250, "ActivityTimedOut", EventDetail::None, heartbeat),
            event(8, 7, 9_000, "TaskScheduled", integration, EventData::None),
            event(9, 8, 9_010, "TaskStarted", integration, EventData::None),
            event(10, 9, 9_030, "TaskSubmitted", integration, EventData::None),
            event(11, 10, 9_100, "TaskTimedOut", integration, EventData::None),
            event(12, 11, 9_100, "TaskStateExited", EventDetail::None, EventData::None),
        ];
        let mut tracker = TaskTracker::default();
        let observed: Vec<TaskObservation> = events.iter().filter_map(|e| tracker.record(e)).collect();
        let sqs = "arn:aws:states:::sqs:sendMessage";
        let expected = [
            (TaskFamily::Activity, activity, TaskChange::Scheduled),
            (TaskFamily::Activity, activity, TaskChange::Started { schedule_ms: 250 }),
            (
                TaskFamily::Activity,
                activity,
                TaskChange::Closed {
                    how: TaskEnd::HeartbeatTimedOut,
                    run_ms: Some(6_000),
                    time_ms: 6_250,
                },
            ),
            (TaskFamily::ServiceIntegration, sqs, TaskChange::Scheduled),
            (
                TaskFamily::ServiceIntegration,
                sqs,
                TaskChange::Started { schedule_ms: 10 },
            ),
            (
                TaskFamily::ServiceIntegration,
                sqs,
                TaskChange::Closed {
                    how: TaskEnd::TimedOut,
                    run_ms: Some(90),
                    time_ms: 100,
                },
            ),
        ]
        .map(|(family, arn, change)| TaskObservation {
            family,
            arn: arn.to_string(),
            change,
        });
        assert_eq!(observed, expected);
        let metrics = ExecutionMetrics::default();
        metrics.tasks(&observed);
        let text = metrics.render();
        for line in [
            format!("ActivitiesHeartbeatTimedOut{{ActivityArn=\"{activity}\"}} 1\n"),
            format!("ActivitiesTimedOut{{ActivityArn=\"{activity}\"}} 0\n"),
            format!("ActivityRunTime_sum{{ActivityArn=\"{activity}\"}} 6000\n"),
            format!("ActivityScheduleTime_bucket{{ActivityArn=\"{activity}\",le=\"500\"}} 1\n"),
            format!("ServiceIntegrationsTimedOut{{ServiceIntegrationResourceArn=\"{sqs}\"}} 1\n"),
            format!("ServiceIntegrationTime_sum{{ServiceIntegrationResourceArn=\"{sqs}\"}} 100\n"),
        ] {
            assert!(text.contains(&line), "missing {line:?} in:\n{text}");
        }
        assert!(!text.contains("LambdaFunctionsScheduled{"), "{text}");
    }
}
