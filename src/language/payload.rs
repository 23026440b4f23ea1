//! Compiled field values that are computed per execution, in either query language:
//! payloads (`Parameters`/`Arguments`, `ResultSelector`, `ItemSelector`, `Output`, `Assign`),
//! strings (Fail `Error`/`Cause`) and numbers (`TimeoutSeconds`, Wait `Seconds`, Map limits).

use bumpalo::collections::Vec as BumpVec;

use crate::consts::Constants;
use crate::error::{names, EvalError};
use crate::jsonata::{Bindings, Evaluated, Expression, Limits};
use crate::path::Path;
use crate::scope::{Scope, Variables};
use crate::template::{PathOrCall, Template};
use crate::value::{Arena, Member, Value};

/// A compiled JSONata expression (the text between `{%` and `%}`), with what is needed to
/// report its failures as AWS does.
#[derive(Debug)]
pub struct JsonataExpr {
    expr: Box<Expression>,
    /// The expression as written between the delimiters, trimmed: AWS quotes it in causes.
    source: Box<str>,
}

impl JsonataExpr {
    /// Compiles `text`, which must be a `{% ... %}` string.
    pub fn compile(text: &str) -> Result<JsonataExpr, String> {
        let inner = jsonata_inner(text).ok_or_else(|| format!("'{text}' is not a JSONata expression ({{% ... %}})"))?;
        let expr = Expression::parse(inner).map_err(|e| e.to_string())?;
        Ok(JsonataExpr {
            expr: Box::new(expr),
            source: inner.trim().into(),
        })
    }

    /// The expression's text as AWS quotes it.
    pub fn text(&self) -> &str {
        &self.source
    }

    /// Evaluates the expression; `field` names the field for error messages (`Output`,
    /// `Assign/result`, ...). Undefined and function results are errors, as in AWS.
    pub fn eval<'a>(&'a self, arena: &'a Arena, env: &JsonataEnv<'a>, field: &str) -> Result<Value<'a>, EvalError> {
        match self.expr.evaluate(arena, None, env, &EVALUATION_LIMITS) {
            Ok(Evaluated::Value(v)) => Ok(v),
            Ok(Evaluated::Undefined) => Err(EvalError::new(
                names::QUERY_EVALUATION_ERROR,
                format!("The JSONata expression '{}' specified for the field '{field}' returned nothing (undefined).", self.source),
            )),
            Ok(Evaluated::Function) => Err(EvalError::new(
                names::QUERY_EVALUATION_ERROR,
                format!("The JSONata expression '{}' specified for the field '{field}' returned an unsupported result type.", self.source),
            )),
            Err(e) => Err(EvalError::new(
                names::QUERY_EVALUATION_ERROR,
                format!("The JSONata expression '{}' specified for the field '{field}' threw an error during evaluation. {e}", self.source),
            )),
        }
    }
}

/// Limits on one JSONata evaluation inside a state: deep recursion and runaway loops become
/// errors (`States.QueryEvaluationError`) instead of a stack overflow or a hung worker.
static EVALUATION_LIMITS: Limits = Limits {
    max_depth: 1000,
    time_limit: Some(std::time::Duration::from_secs(10)),
    max_stack_bytes: 1024 * 1024,
    ..Limits::DEFAULT
};

/// The text inside `{% ... %}`, if `text` is a JSONata expression string.
pub fn jsonata_inner(text: &str) -> Option<&str> {
    text.strip_prefix("{%").and_then(|t| t.strip_suffix("%}"))
}

/// What a JSONata expression sees: `$states` and the state machine's variables.
pub struct JsonataEnv<'a> {
    /// `$states`: `input`, `context`, and where allowed `result` / `errorOutput`.
    pub states: Value<'a>,
    /// Variables.
    pub variables: Variables<'a>,
}

impl<'a> Bindings<'a> for JsonataEnv<'a> {
    fn lookup(&self, name: &str) -> Option<Value<'a>> {
        if crate::value::key_eq(name, "states") {
            Some(self.states)
        } else {
            self.variables.get(name)
        }
    }
}

/// A JSON value with JSONata expressions inside: what `Output`, `Arguments`, `Assign`,
/// `ItemSelector`... hold in a JSONata state.
#[derive(Debug)]
pub enum JsonataTemplate {
    /// A value with no expressions in it.
    Const(Value<'static>),
    /// `{% ... %}`.
    Expr(JsonataExpr),
    /// An array with expressions inside.
    Array(Vec<JsonataTemplate>),
    /// An object with expressions inside.
    Object(Vec<(&'static str, JsonataTemplate)>),
}

impl JsonataTemplate {
    /// Compiles a JSON value, finding `{% %}` strings at any depth.
    pub fn compile(json: &serde_json::Value, consts: &mut Constants) -> Result<JsonataTemplate, String> {
        if !contains_jsonata(json) {
            return Ok(JsonataTemplate::Const(consts.json(json)));
        }
        Ok(match json {
            serde_json::Value::String(s) => JsonataTemplate::Expr(JsonataExpr::compile(s)?),
            serde_json::Value::Array(items) => JsonataTemplate::Array(
                items
                    .iter()
                    .map(|i| JsonataTemplate::compile(i, consts))
                    .collect::<Result<_, _>>()?,
            ),
            serde_json::Value::Object(map) => JsonataTemplate::Object(
                map.iter()
                    .map(|(k, v)| Ok((consts.intern(k), JsonataTemplate::compile(v, consts)?)))
                    .collect::<Result<_, String>>()?,
            ),
            _ => JsonataTemplate::Const(consts.json(json)),
        })
    }

    /// Evaluates; `field` is the path of this value for error messages (`Output/result`).
    pub fn eval<'a>(&'a self, arena: &'a Arena, env: &JsonataEnv<'a>, field: &str) -> Result<Value<'a>, EvalError> {
        match self {
            JsonataTemplate::Const(v) => Ok(*v),
            JsonataTemplate::Expr(e) => e.eval(arena, env, field),
            JsonataTemplate::Array(items) => {
                let mut out = BumpVec::with_capacity_in(items.len(), arena);
                for item in items {
                    out.push(item.eval(arena, env, field)?);
                }
                Ok(Value::array(out.into_bump_slice()))
            }
            JsonataTemplate::Object(members) => {
                let mut out: BumpVec<Member<'a>> = BumpVec::with_capacity_in(members.len(), arena);
                for (key, item) in members {
                    let value = match item {
                        JsonataTemplate::Const(v) => *v,
                        _ => item.eval(arena, env, &format!("{field}/{key}"))?,
                    };
                    out.push((*key, value));
                }
                Ok(Value::object(out.into_bump_slice()))
            }
        }
    }
}

fn contains_jsonata(json: &serde_json::Value) -> bool {
    match json {
        serde_json::Value::String(s) => jsonata_inner(s).is_some(),
        serde_json::Value::Array(items) => items.iter().any(contains_jsonata),
        serde_json::Value::Object(map) => map.values().any(contains_jsonata),
        _ => false,
    }
}

/// A computed payload, in the state's query language.
#[derive(Debug)]
pub enum Payload {
    /// A JSONPath payload template (`.$` keys).
    Template(Template),
    /// A JSONata value (with `{% %}` expressions), and the field name for error messages.
    Jsonata(JsonataTemplate, &'static str),
}

/// Everything a payload may read while it is evaluated.
pub struct PayloadInput<'a> {
    /// The JSONPath scope (input, context, variables).
    pub scope: Scope<'a>,
    /// `$states` for JSONata (built on demand by the interpreter).
    pub states: Value<'a>,
}

impl<'a> PayloadInput<'a> {
    /// What a JSONata expression of this payload sees: `$states` and the variables.
    pub fn jsonata_env(&self) -> JsonataEnv<'a> {
        JsonataEnv {
            states: self.states,
            variables: self.scope.variables,
        }
    }
}

impl Payload {
    /// Evaluates the payload.
    pub fn eval<'a>(&'a self, arena: &'a Arena, input: &PayloadInput<'a>) -> Result<Value<'a>, EvalError> {
        match self {
            Payload::Template(t) => t.eval(arena, &input.scope),
            Payload::Jsonata(t, field) => t.eval(arena, &input.jsonata_env(), field),
        }
    }
}

/// A string computed per execution: Fail `Error`/`Cause`.
#[derive(Debug)]
pub enum StringSource {
    /// A literal.
    Literal(&'static str),
    /// `ErrorPath`/`CausePath`: a reference path or an intrinsic call.
    Path(PathOrCall, &'static str),
    /// A JSONata expression.
    Jsonata(JsonataExpr, &'static str),
}

/// A number computed per execution: `TimeoutSeconds`, Wait `Seconds`, Map limits.
#[derive(Debug)]
pub enum NumberSpec {
    /// A literal.
    Literal(f64),
    /// A `...Path` field: the path, and the field's name for error messages.
    Path(Path, &'static str),
    /// A JSONata expression, and the field's name.
    Jsonata(JsonataExpr, &'static str),
}
