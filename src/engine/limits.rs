//! What one execution may build and do: the configurable [`Limits`] of the engine, and AWS's
//! quotas, which are fixed.
//!
//! AWS's quotas (the reason for each is AWS's own, so they are constants, not settings):
//!
//! | constant | value | past it |
//! | --- | --- | --- |
//! | [`PAYLOAD_LIMIT`] | 256 KiB | `States.DataLimitExceeded` (a state's input, result or output; a string or array an intrinsic builds) |
//! | [`VARIABLE_LIMIT`] | 256 KiB | `States.DataLimitExceeded` (one variable; one `Assign`) |
//! | [`EXECUTION_VARIABLES_LIMIT`] | 10 MiB | `States.DataLimitExceeded` (all of an execution's variables) |
//! | [`MAX_EVENTS`] | 25,000 | `States.Runtime` (history events of one execution) |
//! | `States.ArrayRange` | 1,000 items | `States.IntrinsicFailure` |
//!
//! Engine limits, which keep one execution from taking its worker (or the process) down, are
//! in [`Limits`], set per [`Machine`](crate::Machine) with
//! [`Machine::with_limits`](crate::Machine::with_limits).

use std::time::Duration;

use crate::jsonata;

/// The largest payload (state input/output, task result) AWS accepts, in bytes.
pub const PAYLOAD_LIMIT: usize = 256 * 1024;

/// The largest value one variable may hold, and all variables of one `Assign` together.
pub const VARIABLE_LIMIT: usize = 256 * 1024;

/// The most variable data one execution may assign, in bytes.
pub const EXECUTION_VARIABLES_LIMIT: usize = 10 * 1024 * 1024;

/// The most history events one execution may have (AWS's quota for a Standard execution):
/// past it the execution fails, so a definition that loops forever cannot hang a worker.
pub const MAX_EVENTS: u32 = 25_000;

/// [`Limits::max_value_depth`] by default.
pub const DEFAULT_MAX_VALUE_DEPTH: usize = 256;

/// The highest [`Limits::max_value_depth`] takes effect: every walk over a value (writing,
/// measuring, comparing, scanning) recurses as deep as the value is nested, and must fit in a
/// thread's stack (2 MiB for Rust's threads) in a debug build too.
pub const MAX_VALUE_DEPTH_CEILING: usize = 1000;

/// The engine's limits on one execution, where AWS has no quota that decides them (AWS's
/// quotas are the constants of [this module](self)). Set them per machine with
/// [`Machine::with_limits`](crate::Machine::with_limits); [`Limits::default`] is what
/// [`Machine::new`](crate::Machine::new) uses.
///
/// ```
/// use quickstep::{Limits, Machine, Status, TaskRegistry};
/// let definition = r#"{"StartAt": "P", "States": {"P": {"Type": "Pass",
///     "Parameters": {"a.$": "States.Array(States.Array(States.Array($)))"}, "End": true}}}"#;
/// let limits = Limits { max_value_depth: 3, ..Limits::default() };
/// let machine = Machine::new(definition, TaskRegistry::new()).unwrap().with_limits(limits);
/// let outcome = machine.run_json("1").unwrap();
/// assert_eq!(outcome.status, Status::Failed);
/// assert_eq!(outcome.error.as_deref(), Some("States.Runtime"));
/// assert!(outcome.cause.unwrap().contains("nested more than 3 levels deep"));
/// ```
#[derive(Clone, Debug)]
pub struct Limits {
    /// The deepest a value may be nested (`[]` is 1 deep, `[[]]` 2): a state whose input,
    /// result, output or variable would be deeper (built by intrinsics, templates,
    /// `ResultPath`, a task, JSONata...) fails with `States.Runtime`, which no `Catch`
    /// catches. Default [`DEFAULT_MAX_VALUE_DEPTH`] (256); at most
    /// [`MAX_VALUE_DEPTH_CEILING`] takes effect. JSON input is read up to 128 deep (as
    /// serde_json reads it) whatever this is.
    pub max_value_depth: usize,
    /// The limits of each JSONata evaluation (`States.QueryEvaluationError` past them). By
    /// default: 1,000 nested evaluation steps, 10 seconds, 1 MiB of native stack, 64 MiB of
    /// memory, values nested 256 deep.
    pub jsonata: jsonata::Limits,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_value_depth: DEFAULT_MAX_VALUE_DEPTH,
            jsonata: jsonata::Limits {
                time_limit: Some(Duration::from_secs(10)),
                // a state's values are at most 256 KiB: 64 MiB leaves room for any honest
                // intermediate value, and a runaway reaches it in a fraction of a second
                max_memory_bytes: 64 << 20,
                max_value_depth: DEFAULT_MAX_VALUE_DEPTH,
                ..jsonata::Limits::DEFAULT
            },
        }
    }
}

impl Limits {
    /// The default limits, shared.
    pub fn default_ref() -> &'static Limits {
        static DEFAULT: std::sync::OnceLock<Limits> = std::sync::OnceLock::new();
        DEFAULT.get_or_init(Limits::default)
    }

    /// [`max_value_depth`](Self::max_value_depth) as it takes effect: at least 1, at most
    /// [`MAX_VALUE_DEPTH_CEILING`].
    pub fn effective_max_value_depth(&self) -> usize {
        self.max_value_depth.clamp(1, MAX_VALUE_DEPTH_CEILING)
    }
}
