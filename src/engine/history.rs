//! Execution history: the events AWS records for an execution (`ExecutionStarted`,
//! `PassStateEntered`, `TaskScheduled`, ...), numbered and linked as AWS numbers and links
//! them, delivered to a sink the embedder chooses. With no sink the interpreter only counts
//! them (causes quote event ids, so the count is kept either way): details and previous
//! event ids are worked out only for a sink.
//!
//! [`HistoryEvent::to_json`] renders one event as AWS's `GetExecutionHistory` does: `id`,
//! `previousEventId`, `timestamp` (epoch seconds), `type` and the type's details member
//! (`stateEnteredEventDetails`, `taskScheduledEventDetails`, ...; none for the types that
//! have none, such as `ParallelStateStarted`), payloads as JSON strings.

use crate::value::{Member, Value};

/// One history event.
#[derive(Clone, Copy, Debug)]
pub struct HistoryEvent<'a> {
    /// The event id: 1 for `ExecutionStarted`, then one more per event.
    pub id: u32,
    /// The id of the event this one follows from (AWS's `previousEventId`): 0 for
    /// `ExecutionStarted`, for the first state's entered event and for `ExecutionAborted` /
    /// `ExecutionTimedOut`; otherwise the last event of the same line of work (the state's
    /// previous event, the previous state's exit, a Map iteration's or Parallel branch's
    /// start, ...).
    pub previous_event_id: u32,
    /// When it happened (epoch milliseconds).
    pub timestamp_ms: i64,
    /// AWS's event type, such as `PassStateEntered` or `TaskFailed`.
    pub event_type: &'static str,
    /// The state it concerns, if any (for Map iteration events, the Map state).
    pub state: Option<&'a str>,
    /// What the event carries: an input (a task's parameters for `TaskScheduled`), an
    /// output, or an error.
    pub data: EventData<'a>,
    /// What else its details member holds, by event type.
    pub detail: EventDetail<'a>,
}

/// The payload of a history event.
#[derive(Clone, Copy, Debug)]
pub enum EventData<'a> {
    /// Nothing.
    None,
    /// An input (`ExecutionStarted`, `...StateEntered`, `TaskScheduled` parameters,
    /// `LambdaFunctionScheduled`, `ActivityScheduled`).
    Input(Value<'a>),
    /// An output (`...StateExited`, `TaskSucceeded`, `ExecutionSucceeded`, ...).
    Output(Value<'a>),
    /// A failure (`TaskFailed`, `ExecutionFailed`, ...).
    Failure {
        /// The error name.
        error: Option<&'a str>,
        /// The cause.
        cause: Option<&'a str>,
    },
}

/// The members of an event's details besides its data, by event type.
#[derive(Clone, Copy, Debug)]
pub enum EventDetail<'a> {
    /// Nothing more.
    None,
    /// `ExecutionStarted`: the execution's role.
    Execution {
        /// `roleArn`.
        role_arn: &'a str,
    },
    /// `Task*` events of a service integration: the resource split as AWS splits
    /// `arn:aws:states:::<service>:<action>` (`lambda` / `invoke`); `TaskScheduled` adds the
    /// region and the state's timeouts.
    Task {
        /// `resourceType`: `lambda`, `sqs`, `aws-sdk:s3`, ...
        resource_type: &'a str,
        /// `resource`: `invoke`, `sendMessage.waitForTaskToken`, ...
        resource: &'a str,
        /// `region` (`TaskScheduled`).
        region: &'a str,
        /// `timeoutInSeconds`, when the state sets one (`TaskScheduled`).
        timeout_seconds: Option<i64>,
        /// `heartbeatInSeconds`, when the state sets one (`TaskScheduled`).
        heartbeat_seconds: Option<i64>,
    },
    /// `LambdaFunctionScheduled` and `ActivityScheduled`: the function or activity ARN and
    /// the state's timeouts.
    Scheduled {
        /// `resource`.
        resource: &'a str,
        /// `timeoutInSeconds`, when the state sets one.
        timeout_seconds: Option<i64>,
        /// `heartbeatInSeconds`, when the state sets one (activities only).
        heartbeat_seconds: Option<i64>,
    },
    /// `ActivityStarted`: the worker that took the task, if it gave its name.
    Worker {
        /// `workerName`.
        name: Option<&'a str>,
    },
    /// `MapStateStarted`: how many iterations.
    MapStarted {
        /// `length`.
        length: u32,
    },
    /// `MapIteration*`: which iteration (the Map state's name is [`HistoryEvent::state`]).
    MapIteration {
        /// `index`.
        index: u32,
    },
    /// `...StateExited` of a state (or catcher) with `Assign`: the variables it assigned.
    Assigned(&'a [Member<'a>]),
}

/// `{"truncated": false}`: the history's `inputDetails` / `outputDetails`.
fn not_truncated() -> serde_json::Value {
    serde_json::json!({ "truncated": false })
}

/// The details member of an event type, or `None` for the types that have none.
fn details_key(event_type: &str) -> Option<&'static str> {
    Some(match event_type {
        "ExecutionStarted" => "executionStartedEventDetails",
        "ExecutionSucceeded" => "executionSucceededEventDetails",
        "ExecutionFailed" => "executionFailedEventDetails",
        "ExecutionAborted" => "executionAbortedEventDetails",
        "ExecutionTimedOut" => "executionTimedOutEventDetails",
        "TaskScheduled" => "taskScheduledEventDetails",
        "TaskStarted" => "taskStartedEventDetails",
        "TaskSubmitted" => "taskSubmittedEventDetails",
        "TaskSucceeded" => "taskSucceededEventDetails",
        "TaskFailed" => "taskFailedEventDetails",
        "TaskTimedOut" => "taskTimedOutEventDetails",
        "LambdaFunctionScheduled" => "lambdaFunctionScheduledEventDetails",
        "LambdaFunctionSucceeded" => "lambdaFunctionSucceededEventDetails",
        "LambdaFunctionFailed" => "lambdaFunctionFailedEventDetails",
        "LambdaFunctionTimedOut" => "lambdaFunctionTimedOutEventDetails",
        "ActivityScheduled" => "activityScheduledEventDetails",
        "ActivityStarted" => "activityStartedEventDetails",
        "ActivitySucceeded" => "activitySucceededEventDetails",
        "ActivityFailed" => "activityFailedEventDetails",
        "ActivityTimedOut" => "activityTimedOutEventDetails",
        "MapStateStarted" => "mapStateStartedEventDetails",
        "MapIterationStarted" => "mapIterationStartedEventDetails",
        "MapIterationSucceeded" => "mapIterationSucceededEventDetails",
        "MapIterationFailed" => "mapIterationFailedEventDetails",
        "MapIterationAborted" => "mapIterationAbortedEventDetails",
        t if t.ends_with("StateEntered") => "stateEnteredEventDetails",
        t if t.ends_with("StateExited") => "stateExitedEventDetails",
        // ParallelStateStarted, MapStateSucceeded, TaskStateAborted, LambdaFunctionStarted, ...
        _ => return None,
    })
}

impl HistoryEvent<'_> {
    /// Whether this is an error event (what the `ERROR` log level keeps): a failure, a
    /// timeout, or work cut short (`MapIterationAborted`, `WaitStateAborted`, ...).
    pub fn is_error(&self) -> bool {
        matches!(self.data, EventData::Failure { .. })
            || ["Failed", "TimedOut", "Aborted"]
                .iter()
                .any(|end| self.event_type.ends_with(end))
    }

    /// Whether this event ends the execution with a failure (what `FATAL` keeps).
    pub fn is_fatal(&self) -> bool {
        matches!(
            self.event_type,
            "ExecutionFailed" | "ExecutionTimedOut" | "ExecutionAborted"
        )
    }

    /// The event as a JSON value shaped like one of AWS's `GetExecutionHistory` events:
    /// `id`, `previousEventId`, `timestamp` (epoch seconds, millisecond precision), `type`,
    /// and the type's details member when it has one, payloads as JSON strings with
    /// `inputDetails` / `outputDetails` `{"truncated": false}`.
    ///
    /// Without `include_data` (AWS's `includeExecutionData: false`), the data payloads
    /// (`input`, `output`, `parameters`, `assignedVariables`) and their `...Details` are left
    /// out; names, resources, errors and causes stay, and a details member left empty stays
    /// as `{}`.
    pub fn to_json(&self, include_data: bool) -> serde_json::Value {
        let mut event = serde_json::Map::new();
        event.insert("id".into(), self.id.into());
        event.insert("previousEventId".into(), self.previous_event_id.into());
        event.insert("timestamp".into(), (self.timestamp_ms as f64 / 1000.0).into());
        event.insert("type".into(), self.event_type.into());
        if let Some(key) = details_key(self.event_type) {
            event.insert(key.into(), serde_json::Value::Object(self.details(include_data)));
        }
        serde_json::Value::Object(event)
    }

    /// The members of the event's details.
    fn details(&self, include_data: bool) -> serde_json::Map<String, serde_json::Value> {
        let mut details = serde_json::Map::new();
        let t = self.event_type;
        if t.ends_with("StateEntered") || t.ends_with("StateExited") || t.starts_with("MapIteration") {
            if let Some(state) = self.state {
                details.insert("name".into(), state.into());
            }
        }
        match self.detail {
            EventDetail::None => {}
            EventDetail::Execution { role_arn } => {
                details.insert("roleArn".into(), role_arn.into());
            }
            EventDetail::Task {
                resource_type,
                resource,
                region,
                timeout_seconds,
                heartbeat_seconds,
            } => {
                details.insert("resourceType".into(), resource_type.into());
                details.insert("resource".into(), resource.into());
                if t == "TaskScheduled" {
                    details.insert("region".into(), region.into());
                    insert_seconds(&mut details, timeout_seconds, heartbeat_seconds);
                }
            }
            EventDetail::Scheduled {
                resource,
                timeout_seconds,
                heartbeat_seconds,
            } => {
                details.insert("resource".into(), resource.into());
                insert_seconds(&mut details, timeout_seconds, heartbeat_seconds);
            }
            EventDetail::Worker { name } => {
                if let Some(name) = name {
                    details.insert("workerName".into(), name.into());
                }
            }
            EventDetail::MapStarted { length } => {
                details.insert("length".into(), length.into());
            }
            EventDetail::MapIteration { index } => {
                details.insert("index".into(), index.into());
            }
            EventDetail::Assigned(members) => {
                if include_data {
                    let assigned: serde_json::Map<String, serde_json::Value> = members
                        .iter()
                        .map(|(name, value)| (name.to_string(), value.to_json_string().into()))
                        .collect();
                    details.insert("assignedVariables".into(), assigned.into());
                    details.insert("assignedVariablesDetails".into(), not_truncated());
                }
            }
        }
        match self.data {
            EventData::None => {}
            EventData::Input(_) | EventData::Output(_) if !include_data => {}
            EventData::Input(v) if t == "TaskScheduled" => {
                details.insert("parameters".into(), v.to_json_string().into());
            }
            EventData::Input(v) => {
                details.insert("input".into(), v.to_json_string().into());
                details.insert("inputDetails".into(), not_truncated());
            }
            EventData::Output(v) => {
                details.insert("output".into(), v.to_json_string().into());
                details.insert("outputDetails".into(), not_truncated());
            }
            EventData::Failure { error, cause } => {
                if let Some(error) = error {
                    details.insert("error".into(), error.into());
                }
                if let Some(cause) = cause {
                    details.insert("cause".into(), cause.into());
                }
            }
        }
        details
    }
}

/// `timeoutInSeconds` and `heartbeatInSeconds`, those given.
fn insert_seconds(
    details: &mut serde_json::Map<String, serde_json::Value>,
    timeout_seconds: Option<i64>,
    heartbeat_seconds: Option<i64>,
) {
    if let Some(seconds) = timeout_seconds {
        details.insert("timeoutInSeconds".into(), seconds.into());
    }
    if let Some(seconds) = heartbeat_seconds {
        details.insert("heartbeatInSeconds".into(), seconds.into());
    }
}

/// Receives history events as an execution runs.
pub trait HistorySink {
    /// Records one event.
    fn record(&mut self, event: &HistoryEvent<'_>);
}

/// Collects events as JSON (AWS's `GetExecutionHistory` shape; [`HistoryEvent::to_json`]).
#[derive(Debug, Default)]
pub struct JsonHistory {
    /// Whether inputs and outputs are kept.
    pub include_data: bool,
    /// The events so far.
    pub events: Vec<serde_json::Value>,
}

impl JsonHistory {
    /// The events as AWS's `GetExecutionHistory` response: `{"events": [...]}`.
    pub fn to_response(&self) -> serde_json::Value {
        serde_json::json!({ "events": self.events })
    }
}

impl HistorySink for JsonHistory {
    fn record(&mut self, event: &HistoryEvent<'_>) {
        self.events.push(event.to_json(self.include_data));
    }
}

/// Splits a service integration's `Resource` as AWS's task events report it
/// (`resourceType`, `resource`): `arn:<partition>:states:::<service>:<action>[.<pattern>]`
/// gives `<service>` and `<action>[.<pattern>]`, and an AWS SDK integration
/// (`arn:aws:states:::aws-sdk:<service>:<action>`) `aws-sdk:<service>` and `<action>`. Any
/// other resource (a quickstep test resource) gives `quickstep` and the whole string.
pub fn task_resource_parts(resource: &str) -> (&str, &str) {
    let rest = resource
        .strip_prefix("arn:")
        .and_then(|r| r.split_once(':'))
        .and_then(|(_partition, r)| r.strip_prefix("states:::"));
    let Some(rest) = rest else {
        return ("quickstep", resource);
    };
    let split = if rest.starts_with("aws-sdk:") {
        rest.match_indices(':').nth(1).map(|(i, _)| i)
    } else {
        rest.find(':')
    };
    match split {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => ("quickstep", resource),
    }
}

/// `<Type>StateEntered` / `<Type>StateExited` for a state type.
pub fn state_event(type_name: &str, entered: bool) -> &'static str {
    match (type_name, entered) {
        ("Pass", true) => "PassStateEntered",
        ("Pass", false) => "PassStateExited",
        ("Task", true) => "TaskStateEntered",
        ("Task", false) => "TaskStateExited",
        ("Choice", true) => "ChoiceStateEntered",
        ("Choice", false) => "ChoiceStateExited",
        ("Wait", true) => "WaitStateEntered",
        ("Wait", false) => "WaitStateExited",
        ("Succeed", true) => "SucceedStateEntered",
        ("Succeed", false) => "SucceedStateExited",
        ("Fail", true) => "FailStateEntered",
        ("Fail", false) => "FailStateExited",
        ("Parallel", true) => "ParallelStateEntered",
        ("Parallel", false) => "ParallelStateExited",
        ("Map", true) => "MapStateEntered",
        (_, _) => "MapStateExited",
    }
}

#[cfg(test)]
mod tests {
    use super::task_resource_parts;

    #[test]
    fn resources_split_as_aws_reports_them() {
        let cases = [
            ("arn:aws:states:::lambda:invoke", ("lambda", "invoke")),
            (
                "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                ("sqs", "sendMessage.waitForTaskToken"),
            ),
            (
                "arn:aws:states:::states:startExecution.sync:2",
                ("states", "startExecution.sync:2"),
            ),
            ("arn:aws:states:::aws-sdk:s3:getObject", ("aws-sdk:s3", "getObject")),
            ("arn:aws-us-gov:states:::dynamodb:putItem", ("dynamodb", "putItem")),
            ("my-task", ("quickstep", "my-task")),
        ];
        for (resource, parts) in cases {
            assert_eq!(task_resource_parts(resource), parts, "{resource}");
        }
    }
}
