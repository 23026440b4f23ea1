//! Runtime errors: what a state's evaluation fails with, before the interpreter turns it into
//! the execution's (or a Catch's) error name and cause.

use std::borrow::Cow;

/// The predefined error names of the States Language.
pub mod names {
    /// Matches any error name (in Retry/Catch).
    pub const ALL: &str = "States.ALL";
    /// A state ran past its `TimeoutSeconds`, or the execution past its own.
    pub const TIMEOUT: &str = "States.Timeout";
    /// A task missed its heartbeat.
    pub const HEARTBEAT_TIMEOUT: &str = "States.HeartbeatTimeout";
    /// A task failed.
    pub const TASK_FAILED: &str = "States.TaskFailed";
    /// Not permitted.
    pub const PERMISSIONS: &str = "States.Permissions";
    /// `ResultPath` cannot be applied to the state's input.
    pub const RESULT_PATH_MATCH_FAILURE: &str = "States.ResultPathMatchFailure";
    /// A `Parameters` path could not be applied.
    pub const PARAMETER_PATH_FAILURE: &str = "States.ParameterPathFailure";
    /// A Parallel or Map branch failed.
    pub const BRANCH_FAILED: &str = "States.BranchFailed";
    /// No Choice rule matched and there is no `Default`.
    pub const NO_CHOICE_MATCHED: &str = "States.NoChoiceMatched";
    /// An intrinsic function failed.
    pub const INTRINSIC_FAILURE: &str = "States.IntrinsicFailure";
    /// A payload or variable exceeded its size limit (not catchable).
    pub const DATA_LIMIT_EXCEEDED: &str = "States.DataLimitExceeded";
    /// An unrecoverable runtime error (not catchable).
    pub const RUNTIME: &str = "States.Runtime";
    /// A JSONata expression failed or gave an unusable result.
    pub const QUERY_EVALUATION_ERROR: &str = "States.QueryEvaluationError";
    /// A Map's failures exceeded its tolerance.
    pub const EXCEED_TOLERATED_FAILURE_THRESHOLD: &str = "States.ExceedToleratedFailureThreshold";
    /// Map item reading failed.
    pub const ITEM_READER_FAILED: &str = "States.ItemReaderFailed";
    /// Map result writing failed.
    pub const RESULT_WRITER_FAILED: &str = "States.ResultWriterFailed";
}

/// A failure while evaluating part of a state (a path, a template, an intrinsic call, a
/// JSONata expression, ...).
///
/// `message` is the detail AWS prints after the state prefix: the interpreter renders the
/// cause as `An error occurred while executing the state 'S' (entered at the event id #N). `
/// followed by `message`, unless `bare` is set, in which case `message` is the whole cause.
///
/// Boxed, so that `Result<Value, EvalError>` is no larger than a value: evaluation results
/// are returned on every path, errors rarely. Its fields are read through `Deref`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvalError(Box<EvalErrorData>);

/// The contents of an [`EvalError`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvalErrorData {
    /// The error name, such as `States.Runtime`.
    pub error: Cow<'static, str>,
    /// The detail text.
    pub message: String,
    /// Whether `message` is the whole cause (no state prefix).
    pub bare: bool,
}

impl EvalError {
    /// A `States.Runtime` error with the given detail.
    pub fn runtime(message: impl Into<String>) -> EvalError {
        EvalError::new(names::RUNTIME, message)
    }

    /// An error with the given name and detail (prefixed with the state when reported).
    pub fn new(error: impl Into<Cow<'static, str>>, message: impl Into<String>) -> EvalError {
        EvalError(Box::new(EvalErrorData {
            error: error.into(),
            message: message.into(),
            bare: false,
        }))
    }

    /// An error whose cause is exactly `cause` (no state prefix).
    pub fn bare(error: impl Into<Cow<'static, str>>, cause: impl Into<String>) -> EvalError {
        EvalError(Box::new(EvalErrorData {
            error: error.into(),
            message: cause.into(),
            bare: true,
        }))
    }

    /// The error's contents, by value.
    pub fn into_data(self) -> EvalErrorData {
        *self.0
    }
}

impl std::ops::Deref for EvalError {
    type Target = EvalErrorData;
    fn deref(&self) -> &EvalErrorData {
        &self.0
    }
}

impl std::ops::DerefMut for EvalError {
    fn deref_mut(&mut self) -> &mut EvalErrorData {
        &mut self.0
    }
}

/// The message of a caught panic (`&str` or `String` payloads; anything else is named as such).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic with no message".into())
}

impl std::fmt::Display for EvalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error, self.message)
    }
}

impl std::error::Error for EvalError {}
