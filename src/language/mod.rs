//! The language layer: Amazon States Language definitions from text to a compiled
//! [`Program`](program::Program). Synchronous, no I/O, nothing per execution.
//!
//! Text → [`parse`] (the typed [`model`], schema diagnostics located by [`diagnostic`]) →
//! [`validate`] (rules across fields and states) → [`compile`] (flat tables: [`program`],
//! [`consts`]). The expression languages a program holds, each parsed once: JSONPath
//! ([`path`]), payload templates ([`template`]), intrinsic functions ([`intrinsics`]), Choice
//! rules ([`choice`]), timestamps ([`timestamp`]), JSONata ([`jsonata`]), and the compiled field
//! values that use either query language ([`payload`], evaluated in a [`scope`]).

pub mod choice;
pub mod compile;
pub mod consts;
pub mod diagnostic;
pub mod entropy;
pub mod intrinsics;
pub mod jsonata;
pub mod model;
pub mod parse;
pub mod path;
pub mod payload;
pub mod program;
pub mod scope;
pub mod template;
pub mod timestamp;
pub mod validate;
