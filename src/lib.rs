//! quickstep runs AWS Step Functions state machines (Amazon States Language) in-process,
//! with AWS's exact results.
//!
//! The pipeline: definition text → [`model`] → validation → [`compile`] → [`Program`] →
//! [`Machine`] (program + task handlers) → executions ([`exec`]).
//!
//! The code is in three layers: [`language`] (parse, validate, compile; the expression
//! languages), [`engine`] (values, the interpreter, machines, the runtime) and [`tools`] (the
//! command line, conformance cases, mocks, graphs). Each module is also reachable at the crate's
//! root (`quickstep::value`, `quickstep::runtime`, ...).

#![warn(missing_docs)]

pub mod engine;
pub mod language;
pub mod tools;

// The modules by their short paths (`quickstep::value`, `quickstep::parse`, ...), as before the
// layers had folders.
pub use engine::{clock, error, exec, history, limits, machine, runtime, tasks, value};
pub use language::{
    choice, compile, consts, diagnostic, intrinsics, jsonata, model, parse, path, payload, program, scope, template,
    timestamp, validate,
};
pub use tools::{cases, cli, graph, junit, mock};

pub use clock::{Clock, SystemClock, VirtualClock};
pub use diagnostic::{Diagnostic, Severity};
pub use exec::{ExecutionInfo, Status};
pub use limits::Limits;
pub use machine::{Machine, Outcome};
pub use parse::{parse_definition, parse_definition_value};
pub use program::Program;
pub use tasks::{
    Behaviour, TaskContext, TaskFailure, TaskHandler, TaskOutput, TaskRegistry, TaskReply, TaskToken, TaskTokenError,
};
pub use validate::{validate, validate_text};
