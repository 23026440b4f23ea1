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

/// StartSyncExecution's response for `finished`, members in AWS's order.
pub fn sync_execution_response(finished: &Finished<'_>) -> serde_json::Map<String, serde_json::Value> {
    let Finished {
        info,
        input,
        start_ms,
        stop_ms,
        outcome,
    } = *finished;
    let mut response = serde_json::Map::new();
    response.insert("executionArn".into(), info.execution_arn().into());
    response.insert("stateMachineArn".into(), info.state_machine_arn().into());
    response.insert("name".into(), info.name.clone().into());
    response.insert("startDate".into(), (start_ms as f64 / 1000.0).into());
    response.insert("stopDate".into(), (stop_ms as f64 / 1000.0).into());
    response.insert("status".into(), outcome.status.as_str().into());
    response.insert("input".into(), input.trim().to_string().into());
    if let Some(output) = &outcome.output {
        response.insert("output".into(), output.clone().into());
    }
    if let Some(error) = &outcome.error {
        response.insert("error".into(), error.clone().into());
    }
    if let Some(cause) = &outcome.cause {
        response.insert("cause".into(), cause.clone().into());
    }
    response
}

/// The outcome document of one event's execution, compact JSON text, as `format` says.
pub fn event_outcome(format: OutcomeFormat, finished: &Finished<'_>) -> String {
    let outcome = finished.outcome;
    match (format, &outcome.output) {
        (OutcomeFormat::Output, Some(output)) if outcome.status == Status::Succeeded => output.clone(),
        (OutcomeFormat::Output, _) => {
            let mut failure = serde_json::Map::new();
            failure.insert("error".into(), outcome.error.clone().into());
            failure.insert("cause".into(), outcome.cause.clone().into());
            serde_json::Value::Object(failure).to_string()
        }
        (OutcomeFormat::Full, _) => serde_json::Value::Object(sync_execution_response(finished)).to_string(),
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
            r#"{"executionArn":"arn:aws:states:us-east-1:123456789012:express:StateMachine:42:id","stateMachineArn":"arn:aws:states:us-east-1:123456789012:stateMachine:StateMachine","name":"42","startDate":1700000000.123,"stopDate":1700000000.456,"status":"TIMED_OUT","input":"{\"a\":1}","error":"States.Timeout"}"#
        );
    }
}
