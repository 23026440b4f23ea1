//! AWS's size limits: the payload limit on states' inputs, results and outputs, and the
//! variable quotas.

use crate::error::{names, EvalError};
use crate::program::*;
use crate::value::{Member, Value};

use super::{Execution, Failure, EXECUTION_VARIABLES_LIMIT, PAYLOAD_LIMIT, VARIABLE_LIMIT};

impl<'a> Execution<'a> {
    /// `value` (a task's result, a state's effective input or its output) when it is within
    /// the payload limit; else frame `top`'s state fails with States.DataLimitExceeded.
    #[inline]
    pub(super) fn within_limit(&self, top: usize, value: Value<'a>) -> Result<Value<'a>, Failure> {
        if exceeds_limit(value) {
            return Err(self.data_limit(top));
        }
        Ok(value)
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
            let bytes = value.json_len();
            if bytes > VARIABLE_LIMIT {
                return Err(too_large(&format!("the variable '{name}'")));
            }
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
fn data_limit_cause(name: &str) -> String {
    format!(
        "The state/task '{name}' returned a result with a size exceeding the maximum number of bytes service limit."
    )
}

/// Whether a value's JSON text is over [`PAYLOAD_LIMIT`].
#[inline(always)]
pub(super) fn exceeds_limit(value: Value<'_>) -> bool {
    value.json_len_exceeds(PAYLOAD_LIMIT)
}

/// A `ResultPath: null` state's output, `input`, once the `effective` input it drops is
/// known to be within the payload limit (out of line: it is rare).
#[cold]
#[inline(never)]
pub(super) fn discarded_within_limit<'a>(
    state: &StateDef,
    input: Value<'a>,
    effective: Value<'a>,
) -> Result<Value<'a>, EvalError> {
    within_payload_limit(state, effective).map(|_| input)
}

/// [`Execution::within_limit`] for [`pass_output`](super::states::pass_output): `value`, or `state`'s
/// States.DataLimitExceeded.
#[inline(always)]
pub(super) fn within_payload_limit<'a>(state: &StateDef, value: Value<'a>) -> Result<Value<'a>, EvalError> {
    if exceeds_limit(value) {
        return Err(EvalError::bare(
            names::DATA_LIMIT_EXCEEDED,
            data_limit_cause(state.name),
        ));
    }
    Ok(value)
}
