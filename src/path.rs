//! JSONPath as Step Functions uses it (Jayway semantics): compiled once, evaluated over arena
//! values. STUB: the real implementation replaces this file.

use crate::error::EvalError;
use crate::scope::Scope;
use crate::value::{Arena, Value};

/// A compiled JSONPath (`$...`), context path (`$$...`) or variable path (`$name...`).
#[derive(Clone, Debug)]
pub struct Path {
    text: String,
}

/// A syntax error in a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathSyntaxError {
    /// What is wrong.
    pub message: String,
}

impl Path {
    /// Parses a path.
    pub fn parse(text: &str) -> Result<Path, PathSyntaxError> {
        Ok(Path {
            text: text.to_string(),
        })
    }
    /// The path as written.
    pub fn text(&self) -> &str {
        &self.text
    }
    /// Whether this is a Reference Path (selects at most one node: no wildcards, filters,
    /// slices, unions or `..`).
    pub fn is_reference(&self) -> bool {
        true
    }
    /// Evaluates the path. A definite path yields its one value or an error; an indefinite
    /// one yields an array of the matches.
    pub fn eval<'a>(&self, _arena: &'a Arena, scope: &Scope<'a>) -> Result<Value<'a>, EvalError> {
        if self.text == "$" {
            return Ok(scope.input);
        }
        Err(EvalError::runtime("paths are not implemented"))
    }
    /// `ResultPath`: returns `root` with `value` placed at this (reference) path, creating
    /// intervening objects.
    pub fn set<'a>(
        &self,
        _arena: &'a Arena,
        _root: Value<'a>,
        value: Value<'a>,
    ) -> Result<Value<'a>, EvalError> {
        Ok(value)
    }
}

impl Path {
    /// Evaluates the path; `None` when it selects nothing.
    pub fn eval_opt<'a>(
        &self,
        arena: &'a Arena,
        scope: &Scope<'a>,
    ) -> Result<Option<Value<'a>>, EvalError> {
        Ok(self.eval(arena, scope).ok())
    }
}
