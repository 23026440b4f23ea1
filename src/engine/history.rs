//! Execution history: the events AWS records for an execution (`ExecutionStarted`,
//! `PassStateEntered`, `TaskScheduled`, ...), numbered as AWS numbers them, delivered to a
//! sink the embedder chooses. With no sink the interpreter only counts them (causes quote
//! event ids, so the count is kept either way).

use crate::value::Value;

/// One history event.
#[derive(Clone, Copy, Debug)]
pub struct HistoryEvent<'a> {
    /// The event id: 1 for `ExecutionStarted`, then one more per event.
    pub id: u32,
    /// When it happened (epoch milliseconds).
    pub timestamp_ms: i64,
    /// AWS's event type, such as `PassStateEntered` or `TaskFailed`.
    pub event_type: &'static str,
    /// The state it concerns, if any.
    pub state: Option<&'a str>,
    /// What the event carries: an input, an output, or an error.
    pub data: EventData<'a>,
}

/// The payload of a history event.
#[derive(Clone, Copy, Debug)]
pub enum EventData<'a> {
    /// Nothing.
    None,
    /// An input (`ExecutionStarted`, `...StateEntered`, `TaskScheduled` parameters).
    Input(Value<'a>),
    /// An output (`...StateExited`, `TaskSucceeded`, `ExecutionSucceeded`).
    Output(Value<'a>),
    /// A failure (`TaskFailed`, `ExecutionFailed`, ...).
    Failure {
        /// The error name.
        error: Option<&'a str>,
        /// The cause.
        cause: Option<&'a str>,
    },
}

impl HistoryEvent<'_> {
    /// Whether this is an error event (what the `ERROR` log level keeps): a failure, or work
    /// cut short (`MapIterationAborted`, `WaitStateAborted`, ...).
    pub fn is_error(&self) -> bool {
        matches!(self.data, EventData::Failure { .. }) || self.event_type.ends_with("Aborted")
    }

    /// Whether this event ends the execution with a failure (what `FATAL` keeps).
    pub fn is_fatal(&self) -> bool {
        matches!(
            self.event_type,
            "ExecutionFailed" | "ExecutionTimedOut" | "ExecutionAborted"
        )
    }

    /// The event as a JSON value shaped like AWS's `HistoryEvent` (details under
    /// `<type>EventDetails`, payloads as JSON strings); `include_data` controls whether inputs
    /// and outputs are included.
    pub fn to_json(&self, include_data: bool) -> serde_json::Value {
        let mut event = serde_json::Map::new();
        event.insert("id".into(), self.id.into());
        event.insert("timestamp".into(), (self.timestamp_ms as f64 / 1000.0).into());
        event.insert("type".into(), self.event_type.into());
        let mut details = serde_json::Map::new();
        if let Some(state) = self.state {
            details.insert("name".into(), state.into());
        }
        match self.data {
            EventData::None => {}
            EventData::Input(v) if include_data => {
                details.insert("input".into(), v.to_json_string().into());
            }
            EventData::Output(v) if include_data => {
                details.insert("output".into(), v.to_json_string().into());
            }
            EventData::Input(_) | EventData::Output(_) => {}
            EventData::Failure { error, cause } => {
                if let Some(error) = error {
                    details.insert("error".into(), error.into());
                }
                if let Some(cause) = cause {
                    details.insert("cause".into(), cause.into());
                }
            }
        }
        let mut key = self.event_type.to_string();
        if let Some(first) = key.get_mut(0..1) {
            first.make_ascii_lowercase();
        }
        event.insert(format!("{key}EventDetails"), serde_json::Value::Object(details));
        serde_json::Value::Object(event)
    }
}

/// Receives history events as an execution runs.
pub trait HistorySink {
    /// Records one event.
    fn record(&mut self, event: &HistoryEvent<'_>);
}

/// Collects events as JSON (AWS's `GetExecutionHistory` shape).
#[derive(Debug, Default)]
pub struct JsonHistory {
    /// Whether inputs and outputs are kept.
    pub include_data: bool,
    /// The events so far.
    pub events: Vec<serde_json::Value>,
}

impl HistorySink for JsonHistory {
    fn record(&mut self, event: &HistoryEvent<'_>) {
        self.events.push(event.to_json(self.include_data));
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
