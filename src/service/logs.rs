//! Execution logs: the history events of executions, at AWS's log levels (`ALL`, `ERROR`,
//! `FATAL`, `OFF`), as structured `tracing` events carrying the execution's ARN. `quickstep
//! serve --log-level LEVEL [--log-format json]` writes them on standard error.

use tracing::Level;

use crate::exec::Status;
use crate::history::{is_error_type, is_fatal_type};
use crate::runtime::LogLevel;

/// Where a server's executions log their events.
#[derive(Clone, Copy, Debug, Default)]
pub struct ExecutionLog {
    level: LogLevel,
}

impl ExecutionLog {
    /// Logs the events `level` keeps (none with `Off`).
    pub fn new(level: LogLevel) -> ExecutionLog {
        ExecutionLog { level }
    }

    /// Whether anything is logged.
    pub fn enabled(&self) -> bool {
        self.level != LogLevel::Off
    }

    /// Whether the level keeps an event of `event_type`: `ALL` every event, `ERROR` the
    /// failures (of tasks, states and the execution), `FATAL` the execution's own failure.
    fn keeps(&self, event_type: &str) -> bool {
        match self.level {
            LogLevel::Off => false,
            LogLevel::All => true,
            LogLevel::Error => is_error_type(event_type),
            LogLevel::Fatal => is_fatal_type(event_type),
        }
    }

    /// Logs the kept events of `events_json`, a JSON array of `GetExecutionHistory` events of
    /// the execution `execution_arn`.
    pub fn events(&self, execution_arn: &str, events_json: &[u8]) {
        if !self.enabled() {
            return;
        }
        let Ok(serde_json::Value::Array(events)) = serde_json::from_slice::<serde_json::Value>(events_json) else {
            return;
        };
        for event in &events {
            let event_type = event["type"].as_str().unwrap_or_default();
            if self.keeps(event_type) {
                emit(execution_arn, event_type, event["id"].as_u64(), &event.to_string());
            }
        }
    }

    /// Logs the end of an execution whose events are not kept one by one (an Express
    /// execution): `ExecutionSucceeded`, `ExecutionFailed`, `ExecutionTimedOut` or
    /// `ExecutionAborted`, with its error and cause.
    pub fn ended(&self, execution_arn: &str, status: Status, error: Option<&str>, cause: Option<&str>) {
        let event_type = status.ended_event_type();
        if self.keeps(event_type) {
            let details = serde_json::json!({"type": event_type, "error": error, "cause": cause});
            emit(execution_arn, event_type, None, &details.to_string());
        }
    }
}

/// One log record: failures at `ERROR`, the rest at `INFO`.
fn emit(execution_arn: &str, event_type: &str, id: Option<u64>, details: &str) {
    if is_error_type(event_type) {
        tracing::event!(target: "quickstep::execution", Level::ERROR, execution_arn, event_type, event_id = id, details);
    } else {
        tracing::event!(target: "quickstep::execution", Level::INFO, execution_arn, event_type, event_id = id, details);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_keep_what_aws_keeps() {
        let all = ExecutionLog::new(LogLevel::All);
        let error = ExecutionLog::new(LogLevel::Error);
        let fatal = ExecutionLog::new(LogLevel::Fatal);
        let off = ExecutionLog::new(LogLevel::Off);
        for (event, kept) in [
            ("TaskStateEntered", [true, false, false, false]),
            ("TaskFailed", [true, true, false, false]),
            ("ActivityTimedOut", [true, true, false, false]),
            ("ExecutionFailed", [true, true, true, false]),
            ("ExecutionAborted", [true, true, true, false]),
            ("ExecutionSucceeded", [true, false, false, false]),
        ] {
            let seen = [
                all.keeps(event),
                error.keeps(event),
                fatal.keeps(event),
                off.keeps(event),
            ];
            assert_eq!(seen, kept, "{event}");
        }
    }
}
