//! Choice rules, compiled: every `Variable` and `...Path` operand is a parsed [`Path`], every
//! literal operand is typed once (timestamps parsed, `StringMatches` patterns split).
//!
//! AWS's type rules: a comparison whose operands are not of the operator's type is false, not
//! an error.

use std::cmp::Ordering;

use crate::error::EvalError;
use crate::model::{self, Comparison};
use crate::path::Path;
use crate::payload::JsonataExpr;
use crate::scope::Scope;
use crate::timestamp::parse_timestamp;
use crate::value::{Arena, Number, Value};

/// A compiled Choice condition.
#[derive(Debug)]
pub enum Condition {
    /// `And`: all hold.
    And(Vec<Condition>),
    /// `Or`: any holds.
    Or(Vec<Condition>),
    /// `Not`.
    Not(Box<Condition>),
    /// `Variable` compared with an operand.
    Compare {
        /// `Variable`.
        variable: Path,
        /// The test.
        test: Test,
    },
    /// JSONata `Condition` (`true`, `false` or an expression).
    Jsonata(JsonataCondition),
}

/// A JSONata `Condition`.
#[derive(Debug)]
pub enum JsonataCondition {
    /// A literal `true`/`false`.
    Literal(bool),
    /// A `{% %}` expression that must yield a boolean.
    Expr(JsonataExpr),
}

/// What a `Variable` is tested against.
#[derive(Debug)]
pub enum Test {
    /// `String...` with a literal.
    String(Comparison, &'static str),
    /// `StringMatches`: the pattern split at unescaped `*`.
    Matches(Vec<String>),
    /// `Numeric...` with a literal.
    Numeric(Comparison, Number),
    /// `BooleanEquals` with a literal.
    Boolean(bool),
    /// `Timestamp...` with a literal (epoch nanoseconds).
    Timestamp(Comparison, i128),
    /// Any comparison's `...Path` form.
    Path(Comparison, Path),
    /// `IsNull`, `IsPresent`, `IsNumeric`, `IsString`, `IsBoolean`, `IsTimestamp`.
    Is(Comparison, bool),
}

/// A compile error in a Choice rule: message and the field it concerns.
#[derive(Debug)]
pub struct ConditionError {
    /// What is wrong.
    pub message: String,
}

/// Compiles a model condition. `jsonata` compiles a JSONata condition string.
pub fn compile(
    condition: &model::Condition,
    consts: &mut crate::consts::Constants,
    jsonata: &mut dyn FnMut(&str) -> Result<JsonataExpr, ConditionError>,
) -> Result<Condition, ConditionError> {
    Ok(match condition {
        model::Condition::And(items) => Condition::And(
            items
                .iter()
                .map(|c| compile(c, consts, jsonata))
                .collect::<Result<_, _>>()?,
        ),
        model::Condition::Or(items) => Condition::Or(
            items
                .iter()
                .map(|c| compile(c, consts, jsonata))
                .collect::<Result<_, _>>()?,
        ),
        model::Condition::Not(inner) => Condition::Not(Box::new(compile(inner, consts, jsonata)?)),
        model::Condition::Jsonata(json) => Condition::Jsonata(match json {
            serde_json::Value::Bool(b) => JsonataCondition::Literal(*b),
            serde_json::Value::String(s) => JsonataCondition::Expr(jsonata(s)?),
            other => {
                return Err(ConditionError {
                    message: format!("Condition must be a boolean or a JSONata expression, not {other}"),
                })
            }
        }),
        model::Condition::Compare {
            variable,
            op,
            operand_is_path,
            operand,
        } => {
            let variable = parse_path(variable)?;
            let test = compile_test(*op, *operand_is_path, operand, consts)?;
            Condition::Compare { variable, test }
        }
    })
}

fn parse_path(text: &str) -> Result<Path, ConditionError> {
    Path::parse(text).map_err(|e| ConditionError { message: e.message })
}

fn compile_test(
    op: Comparison,
    is_path: bool,
    operand: &serde_json::Value,
    consts: &mut crate::consts::Constants,
) -> Result<Test, ConditionError> {
    use serde_json::Value as J;
    let wrong = || ConditionError {
        message: format!("Invalid operand for {op:?}: {operand}"),
    };
    if is_path {
        let J::String(path) = operand else {
            return Err(wrong());
        };
        return Ok(Test::Path(op, parse_path(path)?));
    }
    Ok(match op {
        Comparison::StringMatches => {
            let J::String(pattern) = operand else {
                return Err(wrong());
            };
            Test::Matches(split_pattern(pattern))
        }
        Comparison::StringEquals
        | Comparison::StringLessThan
        | Comparison::StringGreaterThan
        | Comparison::StringLessThanEquals
        | Comparison::StringGreaterThanEquals => {
            let J::String(s) = operand else {
                return Err(wrong());
            };
            Test::String(op, consts.intern(s))
        }
        Comparison::NumericEquals
        | Comparison::NumericLessThan
        | Comparison::NumericGreaterThan
        | Comparison::NumericLessThanEquals
        | Comparison::NumericGreaterThanEquals => {
            let J::Number(n) = operand else {
                return Err(wrong());
            };
            Test::Numeric(op, crate::value::number_from_serde(n))
        }
        Comparison::BooleanEquals => {
            let J::Bool(b) = operand else {
                return Err(wrong());
            };
            Test::Boolean(*b)
        }
        Comparison::TimestampEquals
        | Comparison::TimestampLessThan
        | Comparison::TimestampGreaterThan
        | Comparison::TimestampLessThanEquals
        | Comparison::TimestampGreaterThanEquals => {
            let J::String(s) = operand else {
                return Err(wrong());
            };
            Test::Timestamp(op, parse_timestamp(s).ok_or_else(wrong)?)
        }
        Comparison::IsNull
        | Comparison::IsPresent
        | Comparison::IsNumeric
        | Comparison::IsString
        | Comparison::IsBoolean
        | Comparison::IsTimestamp => {
            let J::Bool(b) = operand else {
                return Err(wrong());
            };
            Test::Is(op, *b)
        }
    })
}

/// Splits a `StringMatches` pattern at unescaped `*`; `\*` and `\\` are literal.
fn split_pattern(pattern: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(escaped) => parts.last_mut().unwrap_or(&mut String::new()).push(escaped),
                None => parts.last_mut().unwrap_or(&mut String::new()).push('\\'),
            },
            '*' => parts.push(String::new()),
            c => parts.last_mut().unwrap_or(&mut String::new()).push(c),
        }
    }
    parts
}

/// Whether `text` matches pattern parts (split at `*`).
fn wildcard_match(parts: &[String], text: &str) -> bool {
    let (first, rest) = match parts.split_first() {
        Some(split) => split,
        None => return text.is_empty(),
    };
    let Some(mut remaining) = text.strip_prefix(first.as_str()) else {
        return false;
    };
    let Some((last, middle)) = rest.split_last() else {
        return remaining.is_empty();
    };
    for part in middle {
        match remaining.find(part.as_str()) {
            Some(i) => remaining = &remaining[i + part.len()..],
            None => return false,
        }
    }
    remaining.len() >= last.len() && remaining.ends_with(last.as_str())
}

/// Compares strings as Java does (UTF-16 code units), which is how AWS orders them.
fn compare_strings(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        return a.cmp(b);
    }
    a.encode_utf16().cmp(b.encode_utf16())
}

fn ordering_holds(op: Comparison, ord: Ordering) -> bool {
    use Comparison::*;
    match op {
        StringEquals | NumericEquals | TimestampEquals | BooleanEquals => ord == Ordering::Equal,
        StringLessThan | NumericLessThan | TimestampLessThan => ord == Ordering::Less,
        StringGreaterThan | NumericGreaterThan | TimestampGreaterThan => ord == Ordering::Greater,
        StringLessThanEquals | NumericLessThanEquals | TimestampLessThanEquals => ord != Ordering::Greater,
        StringGreaterThanEquals | NumericGreaterThanEquals | TimestampGreaterThanEquals => ord != Ordering::Less,
        _ => false,
    }
}

fn is_string_op(op: Comparison) -> bool {
    use Comparison::*;
    matches!(
        op,
        StringEquals | StringLessThan | StringGreaterThan | StringLessThanEquals | StringGreaterThanEquals
    )
}

fn is_numeric_op(op: Comparison) -> bool {
    use Comparison::*;
    matches!(
        op,
        NumericEquals | NumericLessThan | NumericGreaterThan | NumericLessThanEquals | NumericGreaterThanEquals
    )
}

/// Compares two values under operator `op`'s type; `None` when a value is not of its type.
fn compare_values(op: Comparison, a: Value<'_>, b: Value<'_>) -> Option<bool> {
    if op == Comparison::StringEquals {
        // equal in UTF-16 order exactly when equal
        return Some(a.as_str()? == b.as_str()?);
    }
    if is_string_op(op) {
        return Some(ordering_holds(op, compare_strings(a.as_str()?, b.as_str()?)));
    }
    if is_numeric_op(op) {
        return Some(ordering_holds(op, a.as_number()?.cmp_value(b.as_number()?)?));
    }
    match op {
        Comparison::BooleanEquals => match (a, b) {
            (Value::Bool(x), Value::Bool(y)) => Some(x == y),
            _ => None,
        },
        _ => {
            let x = parse_timestamp(a.as_str()?)?;
            let y = parse_timestamp(b.as_str()?)?;
            Some(ordering_holds(op, x.cmp(&y)))
        }
    }
}

impl Condition {
    /// Evaluates the condition. Only a JSONata condition (or a broken reference) can fail.
    pub fn eval<'a>(
        &'a self,
        arena: &'a Arena,
        scope: &Scope<'a>,
        jsonata: &mut dyn FnMut(&'a JsonataExpr) -> Result<Value<'a>, EvalError>,
    ) -> Result<bool, EvalError> {
        Ok(match self {
            Condition::And(items) => {
                for item in items {
                    if !item.eval(arena, scope, jsonata)? {
                        return Ok(false);
                    }
                }
                true
            }
            Condition::Or(items) => {
                for item in items {
                    if item.eval(arena, scope, jsonata)? {
                        return Ok(true);
                    }
                }
                false
            }
            Condition::Not(inner) => !inner.eval(arena, scope, jsonata)?,
            Condition::Jsonata(JsonataCondition::Literal(b)) => *b,
            Condition::Jsonata(JsonataCondition::Expr(expr)) => match jsonata(expr)? {
                Value::Bool(b) => b,
                other => {
                    return Err(EvalError::new(
                        crate::error::names::QUERY_EVALUATION_ERROR,
                        format!(
                            "The JSONata expression '{}' specified for the field 'Condition' returned an unexpected result type. Expected 'boolean', but was '{}' for value: {}",
                            expr.text(),
                            other.type_name(),
                            other
                        ),
                    ))
                }
            },
            Condition::Compare { variable, test } => {
                let value = variable.eval_opt(arena, scope);
                match test {
                    Test::Is(Comparison::IsPresent, expected) => value.is_some() == *expected,
                    Test::Is(op, expected) => match value {
                        None => false,
                        Some(v) => is_type(*op, v) == *expected,
                    },
                    _ => {
                        let Some(value) = value else {
                            return Err(EvalError::runtime(format!(
                                "Invalid path '{}': The choice state's condition path references an invalid value.",
                                variable.text()
                            )));
                        };
                        test_value(test, value, arena, scope)?
                    }
                }
            }
        })
    }
}

fn is_type(op: Comparison, v: Value<'_>) -> bool {
    match op {
        Comparison::IsNull => v.is_null(),
        Comparison::IsNumeric => matches!(v, Value::Number(_)),
        Comparison::IsString => matches!(v, Value::String(_)),
        Comparison::IsBoolean => matches!(v, Value::Bool(_)),
        Comparison::IsTimestamp => v.as_str().and_then(parse_timestamp).is_some(),
        _ => false,
    }
}

fn test_value<'a>(test: &'a Test, value: Value<'a>, arena: &'a Arena, scope: &Scope<'a>) -> Result<bool, EvalError> {
    Ok(match test {
        Test::String(op, literal) => compare_values(*op, value, Value::String(literal)).unwrap_or(false),
        Test::Numeric(op, literal) => compare_values(*op, value, Value::Number(*literal)).unwrap_or(false),
        Test::Boolean(literal) => matches!(value, Value::Bool(b) if b == *literal),
        Test::Timestamp(op, literal) => match value.as_str().and_then(parse_timestamp) {
            Some(t) => ordering_holds(*op, t.cmp(literal)),
            None => false,
        },
        Test::Matches(parts) => value.as_str().is_some_and(|s| wildcard_match(parts, s)),
        Test::Path(op, path) => match path.eval_opt(arena, scope) {
            Some(other) => compare_values(*op, value, other).unwrap_or(false),
            None => {
                return Err(EvalError::runtime(format!(
                    "Invalid path '{}': The choice state's condition path references an invalid value.",
                    path.text()
                )))
            }
        },
        Test::Is(..) => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        let p = split_pattern("log-*.txt");
        assert!(wildcard_match(&p, "log-1.txt"));
        assert!(wildcard_match(&p, "log-.txt"));
        assert!(!wildcard_match(&p, "log-1.txt2"));
        let p = split_pattern("a\\*b*");
        assert!(wildcard_match(&p, "a*bcd"));
        assert!(!wildcard_match(&p, "axbcd"));
        let p = split_pattern("*");
        assert!(wildcard_match(&p, ""));
        let p = split_pattern("ab*ba");
        assert!(!wildcard_match(&p, "aba"));
    }

    #[test]
    fn utf16_order() {
        // U+FF61 sorts after U+1F600 in UTF-8, before it in UTF-16 (surrogates are 0xD8xx).
        assert_eq!(compare_strings("\u{FF61}", "\u{1F600}"), Ordering::Greater);
        assert_eq!(compare_strings("a", "b"), Ordering::Less);
    }

    #[test]
    fn type_mismatch_is_false() {
        assert_eq!(
            compare_values(Comparison::NumericEquals, Value::String("1"), Value::int(1)),
            None
        );
        assert_eq!(
            compare_values(Comparison::NumericEquals, Value::float(1.0), Value::int(1)),
            Some(true)
        );
    }
}
