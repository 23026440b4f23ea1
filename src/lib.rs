//! quickstep runs AWS Step Functions state machines (Amazon States Language) in-process,
//! with AWS's exact results.
//!
//! The pipeline: definition text → [`model`] → validation → [`compile`] → [`Program`] →
//! [`Machine`] (program + task handlers) → executions ([`exec`]).

#![warn(missing_docs)]

pub mod cases;
pub mod choice;
pub mod cli;
pub mod clock;
pub mod compile;
pub mod consts;
pub mod diagnostic;
pub mod error;
pub mod exec;
pub mod graph;
pub mod history;
pub mod intrinsics;
pub mod jsonata;
pub mod junit;
pub mod machine;
pub mod mock;
pub mod model;
pub mod parse;
pub mod path;
pub mod payload;
pub mod program;
pub mod runtime;
pub mod scope;
pub mod tasks;
pub mod template;
pub mod timestamp;
pub mod validate;
pub mod value;

pub use clock::{Clock, SystemClock, VirtualClock};
pub use diagnostic::{Diagnostic, Severity};
pub use exec::{ExecutionInfo, Status};
pub use machine::{Machine, Outcome};
pub use parse::{parse_definition, parse_definition_value};
pub use program::Program;
pub use tasks::{
    Behaviour, TaskContext, TaskFailure, TaskHandler, TaskOutput, TaskRegistry, TaskReply, TaskToken, TaskTokenError,
};
pub use validate::{validate, validate_text};
