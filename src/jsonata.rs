//! STUB (replaced by the JSONata engine).
use crate::value::{Arena, Value};

/// A parsed expression.
#[derive(Debug)]
pub struct Expression {
    text: String,
}
/// Name lookup.
pub trait Bindings<'a> {
    /// Looks up `$name`.
    fn lookup(&self, name: &str) -> Option<Value<'a>>;
}
/// Result.
pub enum Evaluated<'a> {
    /// undefined
    Undefined,
    /// value
    Value(Value<'a>),
    /// function
    Function,
}
/// Limits.
#[derive(Default)]
pub struct Limits {
    /// depth
    pub max_depth: usize,
    /// time
    pub time_limit: Option<std::time::Duration>,
}
/// Error.
#[derive(Debug)]
pub struct JsonataError {
    /// code
    pub code: String,
    /// message
    pub message: String,
    /// position
    pub position: Option<usize>,
    /// token
    pub token: Option<String>,
}
impl std::fmt::Display for JsonataError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}
impl Expression {
    /// Parses.
    pub fn parse(text: &str) -> Result<Expression, JsonataError> {
        Ok(Expression { text: text.to_string() })
    }
    /// Text.
    pub fn text(&self) -> &str {
        &self.text
    }
    /// Evaluates.
    pub fn evaluate<'a>(
        &'a self,
        _arena: &'a Arena,
        _input: Option<Value<'a>>,
        _bindings: &dyn Bindings<'a>,
        _limits: &Limits,
    ) -> Result<Evaluated<'a>, JsonataError> {
        Err(JsonataError {
            code: "X0000".into(),
            message: "JSONata is not available".into(),
            position: None,
            token: None,
        })
    }
}
