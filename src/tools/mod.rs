//! The tools layer: what the `quickstep` command line offers on top of the engine.
//!
//! [`cli`] the commands; [`outcome`] what an execution gives back (`run`'s response, an event's
//! outcome); [`cases`] the conformance case files that `quickstep test` runs (with
//! [`junit`] reports); [`mock`] Step Functions Local's mock configuration; [`graph`] Mermaid and
//! DOT drawings of a definition; [`source`] definitions as people write them (YAML, `${Name}`
//! placeholders, SAM and CloudFormation templates), read with [`yaml`]; [`stream`] one execution
//! per line of newline-delimited JSON.

pub mod cases;
pub mod cli;
pub mod graph;
pub mod junit;
pub mod mock;
pub mod outcome;
pub mod source;
pub mod stream;
pub mod yaml;
