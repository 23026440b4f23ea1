//! What one execution gives back to whoever sent its input: the `run` command's
//! StartSyncExecution-shaped response, and the one-document outcome of an event (`quickstep
//! worker`), which is that response or just the execution's output.

use crate::exec::{ExecutionInfo, Status};
use crate::machine::Outcome;

/// How an event's outcome is written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum OutcomeFormat {
    /// The output JSON of a succeeded execution; `{"error": ..., "cause": ...}` (each `null`
    /// when the failure has none) for one that failed, timed out or was aborted.
    #[default]
    Output,
    /// StartSyncExecution's response: `executionArn`, `stateMachineArn`, `name`, `startDate`,
    /// `stopDate`, `status`, `input`, and `output` or `error` and `cause`.
    Full,
}

/// One finished execution, as its outcome document needs it.
#[derive(Clone, Copy, Debug)]
pub struct Finished<'a> {
    /// The execution's facts; `info.name` is its name.
    pub info: &'a ExecutionInfo,
    /// The input (JSON text).
    pub input: &'a str,
    /// When it started and stopped (epoch milliseconds).
    pub start_ms: i64,
    /// When it stopped (epoch milliseconds).
    pub stop_ms: i64,
    /// How it ended.
    pub outcome: &'a Outcome,
}

/// StartSyncExecution's response for `finished` ([`Outcome::sync_response`]).
pub fn sync_execution_response(finished: &Finished<'_>) -> serde_json::Value {
    let Finished {
        info,
        input,
        start_ms,
        stop_ms,
        outcome,
    } = *finished;
    outcome.sync_response(info, input.trim(), start_ms, stop_ms)
}

/// The outcome document of a failed, timed-out or aborted execution:
/// `{"error": ..., "cause": ...}`, each `null` when the failure has none.
pub fn failure_document(error: Option<&str>, cause: Option<&str>) -> String {
    serde_json::json!({"error": error, "cause": cause}).to_string()
}

/// The outcome document of one event's execution, compact JSON text, as `format` says.
pub fn event_outcome(format: OutcomeFormat, finished: &Finished<'_>) -> String {
    let outcome = finished.outcome;
    match (format, &outcome.output) {
        (OutcomeFormat::Output, Some(output)) if outcome.status == Status::Succeeded => output.clone(),
        (OutcomeFormat::Output, _) => failure_document(outcome.error.as_deref(), outcome.cause.as_deref()),
        (OutcomeFormat::Full, _) => sync_execution_response(finished).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(status: Status, output: Option<&str>, error: Option<&str>) -> Outcome {
        Outcome {
            status,
            output: output.map(str::to_string),
            error: error.map(str::to_string),
            cause: None,
        }
    }

    fn finished<'a>(info: &'a ExecutionInfo, outcome: &'a Outcome) -> Finished<'a> {
        Finished {
            info,
            input: " {\"a\":1}\n",
            start_ms: 1_700_000_000_123,
            stop_ms: 1_700_000_000_456,
            outcome,
        }
    }

    #[test]
    fn output_format_is_the_output_or_error_and_cause() {
        let info = ExecutionInfo::default();
        let ok = outcome(Status::Succeeded, Some(r#"{"b":2}"#), None);
        assert_eq!(
            event_outcome(OutcomeFormat::Output, &finished(&info, &ok)),
            r#"{"b":2}"#
        );
        let failed = outcome(Status::Failed, None, Some("States.TaskFailed"));
        assert_eq!(
            event_outcome(OutcomeFormat::Output, &finished(&info, &failed)),
            r#"{"error":"States.TaskFailed","cause":null}"#
        );
    }

    #[test]
    fn full_format_is_start_sync_executions_response() {
        let info = ExecutionInfo {
            name: "42".into(),
            express_id: Some("id".into()),
            ..ExecutionInfo::default()
        };
        let failed = outcome(Status::TimedOut, None, Some("States.Timeout"));
        let text = event_outcome(OutcomeFormat::Full, &finished(&info, &failed));
        assert_eq!(
            text,
            r#"{"executionArn":"arn:aws:states:us-east-1:123456789012:express:StateMachine:42:id","stateMachineArn":"arn:aws:states:us-east-1:123456789012:stateMachine:StateMachine","name":"42","startDate":1700000000.123,"stopDate":1700000000.456,"status":"TIMED_OUT","input":"{\"a\":1}","inputDetails":{"included":true},"outputDetails":{"included":true},"error":"States.Timeout","billingDetails":{"billedMemoryUsedInMB":64,"billedDurationInMilliseconds":400}}"#
        );
    }
}
