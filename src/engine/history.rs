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

use crate::value::{write_json_string, Member, Value};

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
    /// `MapRunStarted`: the map run's ARN.
    MapRun {
        /// `mapRunArn`.
        arn: &'a str,
    },
    /// `ExecutionRedriven`: how many times the execution has been redriven.
    Redriven {
        /// `redriveCount`.
        count: u32,
    },
}

/// The details member of an event type, or `None` for the types that have none.
fn details_key(event_type: &str) -> Option<&'static str> {
    Some(match event_type {
        "ExecutionStarted" => "executionStartedEventDetails",
        "ExecutionSucceeded" => "executionSucceededEventDetails",
        "ExecutionFailed" => "executionFailedEventDetails",
        "ExecutionAborted" => "executionAbortedEventDetails",
        "ExecutionTimedOut" => "executionTimedOutEventDetails",
        "ExecutionRedriven" => "executionRedrivenEventDetails",
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
        "MapRunStarted" => "mapRunStartedEventDetails",
        "MapRunFailed" => "mapRunFailedEventDetails",
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

/// Whether events of `event_type` report a failure, a timeout, or work cut short
/// (`TaskFailed`, `ActivityTimedOut`, `MapIterationAborted`, ...).
pub fn is_error_type(event_type: &str) -> bool {
    ["Failed", "TimedOut", "Aborted"]
        .iter()
        .any(|end| event_type.ends_with(end))
}

/// Whether events of `event_type` end the execution with a failure.
pub fn is_fatal_type(event_type: &str) -> bool {
    matches!(event_type, "ExecutionFailed" | "ExecutionTimedOut" | "ExecutionAborted")
}

impl HistoryEvent<'_> {
    /// Whether this is an error event (what the `ERROR` log level keeps): a failure, a
    /// timeout, or work cut short ([`is_error_type`]).
    pub fn is_error(&self) -> bool {
        matches!(self.data, EventData::Failure { .. }) || is_error_type(self.event_type)
    }

    /// Whether this event ends the execution with a failure (what `FATAL` keeps).
    pub fn is_fatal(&self) -> bool {
        is_fatal_type(self.event_type)
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
        let mut text = Vec::new();
        self.write_json(include_data, &mut text);
        serde_json::from_slice(&text).expect("the event writer writes JSON")
    }

    /// Appends the compact JSON text of [`to_json`](Self::to_json) to `out`, without building
    /// a `serde_json::Value` (what a journal of events writes).
    pub fn write_json(&self, include_data: bool, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"id\":");
        out.extend_from_slice(itoa::Buffer::new().format(self.id).as_bytes());
        out.extend_from_slice(b",\"previousEventId\":");
        out.extend_from_slice(itoa::Buffer::new().format(self.previous_event_id).as_bytes());
        out.extend_from_slice(b",\"timestamp\":");
        out.extend_from_slice(ryu::Buffer::new().format(self.timestamp_ms as f64 / 1000.0).as_bytes());
        out.extend_from_slice(b",\"type\":");
        write_json_string(self.event_type, out);
        if let Some(key) = details_key(self.event_type) {
            out.push(b',');
            write_json_string(key, out);
            out.push(b':');
            let mut details = Members::open(out);
            self.write_details(include_data, &mut details);
            details.close();
        }
        out.push(b'}');
    }

    /// The members of the event's details.
    fn write_details(&self, include_data: bool, details: &mut Members<'_>) {
        let t = self.event_type;
        if t.ends_with("StateEntered") || t.ends_with("StateExited") || t.starts_with("MapIteration") {
            if let Some(state) = self.state {
                details.string("name", state);
            }
        }
        match self.detail {
            EventDetail::None => {}
            EventDetail::Execution { role_arn } => details.string("roleArn", role_arn),
            EventDetail::Task {
                resource_type,
                resource,
                region,
                timeout_seconds,
                heartbeat_seconds,
            } => {
                details.string("resourceType", resource_type);
                details.string("resource", resource);
                if t == "TaskScheduled" {
                    details.string("region", region);
                    details.seconds(timeout_seconds, heartbeat_seconds);
                }
            }
            EventDetail::Scheduled {
                resource,
                timeout_seconds,
                heartbeat_seconds,
            } => {
                details.string("resource", resource);
                details.seconds(timeout_seconds, heartbeat_seconds);
            }
            EventDetail::Worker { name } => {
                if let Some(name) = name {
                    details.string("workerName", name);
                }
            }
            EventDetail::MapStarted { length } => details.integer("length", length as i64),
            EventDetail::MapIteration { index } => details.integer("index", index as i64),
            EventDetail::Redriven { count } => details.integer("redriveCount", count as i64),
            EventDetail::MapRun { arn } => details.string("mapRunArn", arn),
            EventDetail::Assigned(members) => {
                if include_data {
                    details.key("assignedVariables");
                    let mut assigned = Members::open(details.out);
                    for (name, value) in members {
                        assigned.data(name, *value);
                    }
                    assigned.close();
                    details.not_truncated("assignedVariablesDetails");
                }
            }
        }
        match self.data {
            EventData::None => {}
            EventData::Input(_) | EventData::Output(_) if !include_data => {}
            EventData::Input(v) if t == "TaskScheduled" => details.data("parameters", v),
            EventData::Input(v) => {
                details.data("input", v);
                details.not_truncated("inputDetails");
            }
            EventData::Output(v) => {
                details.data("output", v);
                details.not_truncated("outputDetails");
            }
            EventData::Failure { error, cause } => {
                if let Some(error) = error {
                    details.string("error", error);
                }
                if let Some(cause) = cause {
                    details.string("cause", cause);
                }
            }
        }
    }
}

/// The members of an event's details that carry execution data: what
/// `includeExecutionData: false` leaves out ([`HistoryEvent::write_json`] without
/// `include_data`).
const DATA_MEMBERS: [&str; 7] = [
    "input",
    "inputDetails",
    "output",
    "outputDetails",
    "parameters",
    "assignedVariables",
    "assignedVariablesDetails",
];

/// Removes the execution data from an event written with it (JSON in
/// [`HistoryEvent::to_json`]'s shape): the event becomes what `to_json(false)` gives. For
/// a store that keeps events with their data and serves them either way.
pub fn strip_execution_data(event: &mut serde_json::Value) {
    if let serde_json::Value::Object(members) = event {
        for (key, details) in members.iter_mut() {
            if let (true, serde_json::Value::Object(details)) = (key.ends_with("EventDetails"), details) {
                for data in DATA_MEMBERS {
                    details.remove(data);
                }
            }
        }
    }
}

/// Writes the members of a JSON object.
struct Members<'o> {
    out: &'o mut Vec<u8>,
    first: bool,
}

impl<'o> Members<'o> {
    fn open(out: &'o mut Vec<u8>) -> Members<'o> {
        out.push(b'{');
        Members { out, first: true }
    }

    fn key(&mut self, key: &str) {
        if !std::mem::take(&mut self.first) {
            self.out.push(b',');
        }
        write_json_string(key, self.out);
        self.out.push(b':');
    }

    fn string(&mut self, key: &str, value: &str) {
        self.key(key);
        write_json_string(value, self.out);
    }

    fn integer(&mut self, key: &str, value: i64) {
        self.key(key);
        self.out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
    }

    /// A payload: its JSON text, as a JSON string.
    fn data(&mut self, key: &str, value: Value<'_>) {
        self.key(key);
        let mut text = Vec::new();
        value.write_json(&mut text);
        // the writer only ever writes UTF-8
        write_json_string(std::str::from_utf8(&text).unwrap_or_default(), self.out);
    }

    fn not_truncated(&mut self, key: &str) {
        self.key(key);
        self.out.extend_from_slice(b"{\"truncated\":false}");
    }

    /// `timeoutInSeconds` and `heartbeatInSeconds`, those given.
    fn seconds(&mut self, timeout_seconds: Option<i64>, heartbeat_seconds: Option<i64>) {
        if let Some(seconds) = timeout_seconds {
            self.integer("timeoutInSeconds", seconds);
        }
        if let Some(seconds) = heartbeat_seconds {
            self.integer("heartbeatInSeconds", seconds);
        }
    }

    fn close(self) {
        self.out.push(b'}');
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
