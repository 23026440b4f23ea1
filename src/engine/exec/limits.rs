//! AWS's size limits (the payload limit on states' inputs, results and outputs, and the
//! variable quotas) and the engine's depth limit on values ([`Limits::max_value_depth`]).
//!
//! [`Limits::max_value_depth`]: crate::Limits::max_value_depth

use crate::error::{names, EvalError};
use crate::program::*;
use crate::value::{Member, Value};

use super::{Execution, Failure, EXECUTION_VARIABLES_LIMIT, PAYLOAD_LIMIT, VARIABLE_LIMIT};

impl<'a> Execution<'a> {
    /// `value` (a task's result, a state's effective input or its output) when it is within
    /// the payload limit and the depth limit; else frame `top`'s state fails with
    /// States.DataLimitExceeded or States.Runtime.
    #[inline]
    pub(super) fn within_limit(&self, top: usize, value: Value<'a>) -> Result<Value<'a>, Failure> {
        if self.exceeds_limits(value) {
            return Err(self.limit_failure(top, value));
        }
        Ok(value)
    }

    /// Whether `value` is past the payload limit or the depth limit: O(1) for values well
    /// under both.
    #[inline(always)]
    pub(super) fn exceeds_limits(&self, value: Value<'_>) -> bool {
        value.exceeds(PAYLOAD_LIMIT, self.max_depth)
    }

    /// The failure of frame `top`'s state for a `value` that [exceeds the
    /// limits](Self::exceeds_limits): States.Runtime when it is too deep, else
    /// States.DataLimitExceeded.
    #[cold]
    pub(super) fn limit_failure(&self, top: usize, value: Value<'_>) -> Failure {
        if value.depth() > self.max_depth {
            return self.eval_failure(top, too_deep(self.max_depth));
        }
        self.data_limit(top)
    }

    #[cold]
    pub(super) fn data_limit(&self, top: usize) -> Failure {
        let name = self.program.state(self.frames[top].state).name;
        Failure::new(Some(names::DATA_LIMIT_EXCEEDED.into()), Some(data_limit_cause(name)))
    }

    /// AWS's variable quotas: 256 KiB per variable, 256 KiB per `Assign`, 10 MiB for all
    /// of an execution's variables. Exceeding one fails the state with
    /// `States.DataLimitExceeded`.
    pub(super) fn check_variable_limits(&mut self, top: usize, members: &[Member<'a>]) -> Result<(), Failure> {
        let state = self.program.state(self.frames[top].state).name;
        let too_large = |what: &str| {
            Failure::new(
            Some(names::DATA_LIMIT_EXCEEDED.into()),
            Some(format!(
                "The state/task '{state}' assigned {what} with a size exceeding the maximum number of bytes service limit."
            )),
        )
        };
        let mut assign_bytes = 0;
        for (name, value) in members {
            if value.depth() > self.max_depth {
                return Err(self.eval_failure(top, too_deep(self.max_depth)));
            }
            let Some(bytes) = value.json_len_within(VARIABLE_LIMIT) else {
                return Err(too_large(&format!("the variable '{name}'")));
            };
            assign_bytes += bytes;
        }
        if assign_bytes > VARIABLE_LIMIT {
            return Err(too_large("variables"));
        }
        self.variable_bytes += assign_bytes;
        if self.variable_bytes > EXECUTION_VARIABLES_LIMIT {
            return Err(too_large("variables that bring the execution's total"));
        }
        Ok(())
    }
}

/// The cause of `States.DataLimitExceeded` for a result of state `name`.
#[cold]
pub(super) fn data_limit_cause(name: &str) -> String {
    format!(
        "The state/task '{name}' returned a result with a size exceeding the maximum number of bytes service limit."
    )
}

/// The error (`States.Runtime`, prefixed with the state) of a value nested deeper than
/// `max_depth`.
#[cold]
pub(super) fn too_deep(max_depth: usize) -> EvalError {
    EvalError::runtime(format!(
        "A value of the state is nested more than {max_depth} levels deep, past quickstep's limit (Limits::max_value_depth)."
    ))
}

/// A `ResultPath: null` state's output, `input`, once the `effective` input it drops is
/// known to be within the limits (out of line: it is rare).
#[cold]
#[inline(never)]
pub(super) fn discarded_within_limit<'a>(
    state: &StateDef,
    input: Value<'a>,
    effective: Value<'a>,
    max_depth: usize,
) -> Result<Value<'a>, EvalError> {
    within_payload_limit(state, effective, max_depth).map(|_| input)
}

/// [`Execution::within_limit`] for [`pass_output`](super::states::pass_output): `value`, or
/// `state`'s States.DataLimitExceeded (or States.Runtime when it is nested deeper than
/// `max_depth`).
#[inline(always)]
pub(super) fn within_payload_limit<'a>(
    state: &StateDef,
    value: Value<'a>,
    max_depth: usize,
) -> Result<Value<'a>, EvalError> {
    if value.exceeds(PAYLOAD_LIMIT, max_depth) {
        return Err(beyond_limits(state, value, max_depth));
    }
    Ok(value)
}

/// The error of `state` for a `value` past the limits.
#[cold]
fn beyond_limits(state: &StateDef, value: Value<'_>, max_depth: usize) -> EvalError {
    if value.depth() > max_depth {
        return too_deep(max_depth);
    }
    EvalError::bare(names::DATA_LIMIT_EXCEEDED, data_limit_cause(state.name))
}
