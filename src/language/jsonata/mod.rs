//! A JSONata 2.0 engine (the query language of Step Functions' JSONata states), evaluating
//! directly over quickstep's arena [`Value`]s with jsonata-js's semantics, error codes and
//! messages.
//!
//! An [`Expression`] is parsed once into an immutable tree (`Send + Sync`) and evaluated any
//! number of times; each evaluation allocates its results in the caller's arena and returns
//! JSON values that may borrow from the input, the bindings and the expression.
//!
//! Layout: `lexer` (tokens), `parser` (Pratt parser plus jsonata-js's `processAST` rewrites),
//! `ast` (the compiled tree), `signature` (function signatures), `value` (runtime values:
//! undefined, sequences with their flags, functions), `eval` (the evaluator, with tail calls
//! and limits), `fast` (a direct evaluator for the simple expressions most states hold:
//! literals, plain paths, literal-key objects, arrays, `$merge`; it hands anything else back
//! to `eval`), `functions/` (the standard library and Step Functions' extras), `format`
//! (`$formatNumber`, `$formatBase`) and `datetime` (date/time and integer pictures).
//!
//! Beyond jsonata-js 2.0:
//! - Step Functions' functions are built in: `$partition`, `$range` (inclusive), `$hash`
//!   (MD5, SHA-1, SHA-256, SHA-384, SHA-512), `$random([seed])` (a seed gives a deterministic
//!   value, not AWS's), `$uuid`, `$parse`.
//! - The `??` and `?:` operators of jsonata 2.1 are accepted (the test suite has them).
//! - `$eval` is available (Step Functions does not offer it).
//!
//! Limits ([`Limits`]) bound what one evaluation may do: its depth of evaluation steps, its
//! time, its native stack, the memory it allocates (checked before any allocation whose size
//! depends on the data) and the nesting of the values it walks (every walk over a value built
//! at run time: conversion to JSON, `$string`, `=`, `$distinct`, `*`, `**`, transforms...).
//! Each is error U1001 with a message that names it; jsonata-js has only the first two.
//!
//! Known differences from jsonata-js: regular expressions use the `regex` crate (no
//! look-around or back-references; `\d`/`\w` are made ASCII as in JavaScript); strings
//! cannot hold lone UTF-16 surrogates; constructed objects keep insertion order (JavaScript
//! lists integer-like keys first).
//!
//! ```
//! use quickstep::jsonata::{Expression, Evaluated, Limits, NoBindings};
//! use quickstep::value::{parse, Arena};
//!
//! let expr = Expression::parse("$sum(items.price) * 2").unwrap();
//! let arena = Arena::new();
//! let input = parse(&arena, r#"{"items":[{"price":1},{"price":2.5}]}"#).unwrap();
//! match expr.evaluate(&arena, Some(input), &NoBindings, &Limits::default()).unwrap() {
//!     Evaluated::Value(v) => assert_eq!(v.to_string(), "7"),
//!     _ => unreachable!(),
//! }
//! ```

mod ast;
mod datetime;
mod error;
mod eval;
mod fast;
mod format;
mod functions;
mod lexer;
mod parser;
mod signature;
mod value;

use std::time::{Duration, Instant};

pub use error::JsonataError;

use crate::value::{Arena, Value};

/// A parsed (compiled) JSONata expression: immutable, `Send + Sync`, evaluated any number of
/// times without re-parsing.
#[derive(Debug)]
pub struct Expression {
    text: String,
    root: ast::Node,
    /// The expression is simple enough for the direct evaluator ([`fast`]).
    direct: bool,
}

/// Named variables visible to an expression (`$name`), looked up by name without `$`.
pub trait Bindings<'a> {
    /// The value bound to `name`, if any.
    fn lookup(&self, name: &str) -> Option<Value<'a>>;
}

/// No external bindings.
pub struct NoBindings;

impl<'a> Bindings<'a> for NoBindings {
    fn lookup(&self, _name: &str) -> Option<Value<'a>> {
        None
    }
}

/// A slice of `(name, value)` pairs (pass `&slice`).
impl<'a> Bindings<'a> for &[(&str, Value<'a>)] {
    fn lookup(&self, name: &str) -> Option<Value<'a>> {
        self.iter().find(|(k, _)| *k == name).map(|(_, v)| *v)
    }
}

/// The result of an evaluation.
#[derive(Debug, Clone, Copy)]
pub enum Evaluated<'a> {
    /// No value (JavaScript `undefined`).
    Undefined,
    /// A JSON value.
    Value(Value<'a>),
    /// A function (not representable as JSON).
    Function,
}

/// Limits that turn runaway evaluations into errors (code U1001, as jsonata-js's timebox
/// reports both deep recursion and timeouts; each message says which limit was exceeded).
#[derive(Debug, Clone)]
pub struct Limits {
    /// Maximum nesting of evaluation steps.
    pub max_depth: usize,
    /// Maximum evaluation time.
    pub time_limit: Option<Duration>,
    /// Maximum native stack the evaluation may use, in bytes: a guard against stack overflow
    /// whatever `max_depth` is (debug builds use several KiB per nesting level). Keep it
    /// below the evaluating thread's stack size (Rust threads get 2 MiB by default).
    pub max_stack_bytes: usize,
    /// Maximum memory one evaluation may allocate, in bytes: what it adds to the arena
    /// (which frees nothing until the caller resets it), checked before every allocation
    /// whose size depends on the data (strings, arrays, objects, results) and every 256
    /// evaluation steps for the rest. Temporary buffers are counted the same way before they
    /// are built. The default, 256 MiB, holds jsonata-js's largest sequence (`[1..n]` with
    /// n up to 10^7, 240 MB of 24-byte values) and is a thousand times a 256 KiB Step
    /// Functions payload; a string or array doubling in a loop reaches it in under 30 steps,
    /// and a runaway loop (every call leaves a frame of some 64 bytes) in about 4 million
    /// calls.
    pub max_memory_bytes: usize,
    /// Maximum nesting of the values an evaluation walks (converting its result to JSON,
    /// `$string`, `=`, `$distinct`, `**`, transforms...): values built at run time can nest
    /// without bound (an object holding the previous one, in a loop), and each walk past
    /// this depth fails instead of overflowing the stack.
    pub max_value_depth: usize,
}

impl Limits {
    /// The default limits: depth 1,000, no time limit, 1 MiB of stack, 256 MiB of memory,
    /// values nested 256 deep (usable in `const` and `static` items, as
    /// `Limits { time_limit: .., ..Limits::DEFAULT }`).
    pub const DEFAULT: Limits = Limits {
        max_depth: 1000,
        time_limit: None,
        max_stack_bytes: 1 << 20,
        max_memory_bytes: 256 << 20,
        max_value_depth: 256,
    };
}

impl Default for Limits {
    fn default() -> Limits {
        Limits::DEFAULT
    }
}

impl Expression {
    /// Parses an expression.
    pub fn parse(text: &str) -> Result<Expression, JsonataError> {
        let root = parser::parse(text).map_err(|e| e.into_public())?;
        Ok(Expression {
            text: text.to_string(),
            direct: fast::supported(&root),
            root,
        })
    }

    /// The expression's source text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Evaluates against `input` (`None` = undefined input) with named bindings looked up
    /// through `bindings` (for `$states`, Step Functions variables and the suite's bindings).
    pub fn evaluate<'a>(
        &'a self,
        arena: &'a Arena,
        input: Option<Value<'a>>,
        bindings: &dyn Bindings<'a>,
        limits: &Limits,
    ) -> Result<Evaluated<'a>, JsonataError> {
        if self.direct {
            let inp = value::wrap_document(arena, input.map(value::Val::from_json).unwrap_or(value::Val::Undef));
            if let Some(v) = fast::eval(&self.root, inp, arena, bindings) {
                return Ok(
                    match value::to_json(arena, &value::Bounded, v).map_err(|e| e.into_public())? {
                        Some(j) => Evaluated::Value(j),
                        None => Evaluated::Undefined,
                    },
                );
            }
        }
        let deadline = limits.time_limit.map(|d| Instant::now() + d);
        let mut ctx = eval::Ctx::new(arena, bindings, limits, deadline);
        ctx.set_stack_budget(limits.max_stack_bytes);
        let inp = value::wrap_document(arena, input.map(value::Val::from_json).unwrap_or(value::Val::Undef));
        let root = value::Env::new(arena, None);
        root.bind("$", inp);
        let result = ctx.eval(&self.root, inp, root).map_err(|e| e.into_public())?;
        let used_eval = !ctx.evals.borrow().is_empty();
        Ok(match result {
            value::Val::Undef => Evaluated::Undefined,
            value::Val::Func(_) => Evaluated::Function,
            v => match value::to_json(arena, &ctx, v).map_err(|e| e.into_public())? {
                // values may borrow from `$eval`-parsed expressions: copy them out
                Some(j) if used_eval => Evaluated::Value(j.copy_into(arena)),
                Some(j) => Evaluated::Value(j),
                None => Evaluated::Undefined,
            },
        })
    }
}

#[cfg(test)]
mod limits_tests;
#[cfg(test)]
mod tests;
