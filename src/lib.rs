//! quickstep runs AWS Step Functions state machines (Amazon States Language) in-process,
//! with AWS's exact results.

#![warn(missing_docs)]

pub mod consts;
pub mod error;
pub mod jsonata;
pub mod model;
pub mod path;
pub mod scope;
pub mod value;
