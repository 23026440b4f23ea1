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
#[cfg(any(feature = "server", feature = "nats"))]
pub mod service;
pub mod tools;

// Every module by its short path too (`quickstep::value`, `quickstep::parse`, ...).
pub use engine::{clock, error, exec, history, limits, machine, runtime, tasks, test_state, value};
pub use language::{
    choice, compile, consts, diagnostic, entropy, intrinsics, jsonata, model, parse, path, payload, program, scope,
    template, timestamp, validate,
};
pub use tools::{cases, cli, graph, junit, mock, outcome, source, stream};

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

/// The Rust examples of the README and the guides in `docs/`, compiled and run as doctests
/// (`cargo test --doc`); their command-line examples run in `tests/doc_examples.rs`.
#[cfg(doctest)]
mod doc_examples {
    #[doc = include_str!("../README.md")]
    struct Readme;
    #[doc = include_str!("../docs/library.md")]
    struct Library;
    #[doc = include_str!("../docs/runtime.md")]
    struct Runtime;
    #[doc = include_str!("../docs/limits.md")]
    struct Limits;
}
