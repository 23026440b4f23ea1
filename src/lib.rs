//! quickstep runs AWS Step Functions state machines (Amazon States Language) in-process,
//! with AWS's exact results.

#![warn(missing_docs)]

pub mod consts;
pub mod diagnostic;
pub mod error;
pub mod model;
pub mod parse;
pub mod path;
pub mod scope;
pub mod validate;
pub mod value;

pub use diagnostic::{Diagnostic, Severity};
pub use parse::{parse_definition, parse_definition_value};
pub use validate::{validate, validate_text};
