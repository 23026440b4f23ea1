//! Choice rules, compiled: every `Variable` and `...Path` operand is a parsed [`Path`], every
//! literal operand is typed once (timestamps parsed, `StringMatches` patterns split), and a
//! Choice state's rules are lowered into one [`Decision`]: a branch program of tests.
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
use crate::value::{key_eq, Arena, Number, Value};

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
    /// `StringEquals` with a literal.
    StringEquals(&'static str),
    /// `StringLessThan` ... `StringGreaterThanEquals` with a literal.
    String(Holds, &'static str),
    /// `StringMatches`: the pattern split at unescaped `*`.
    Matches(Vec<String>),
    /// `Numeric...` with a literal.
    Numeric(Holds, Number),
    /// `BooleanEquals` with a literal.
    Boolean(bool),
    /// `Timestamp...` with a literal (epoch nanoseconds).
    Timestamp(Holds, i128),
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

/// A Choice state's rules lowered into one branch program: `And`, `Or`, `Not` and literal
/// JSONata conditions become jumps, so deciding is a loop over tests in the rules' order, each
/// saying where to go when it holds and when it does not, ending at the matched rule or at
/// no rule.
#[derive(Debug)]
pub struct Decision {
    /// The tests; [`Target::Test`] indexes them.
    branches: Vec<Branch>,
    /// Where deciding starts.
    start: Target,
    /// How many distinct `Variable` paths the tests look up, 0 when none is tested twice
    /// ([`Lookups::values`]).
    slots: usize,
}

/// Where a [`Decision`] goes next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    /// Evaluate the test at this index.
    Test(u32),
    /// The rule at this index matched.
    Rule(u32),
    /// No rule matched.
    NoRule,
}

/// One test of a [`Decision`] and where to go after it.
#[derive(Debug)]
struct Branch {
    test: Leaf,
    if_true: Target,
    if_false: Target,
}

/// A condition that is not made of other conditions.
#[derive(Debug)]
enum Leaf {
    /// `Variable` compared with an operand; `slot` is where its value is kept once looked
    /// up ([`Lookups::values`]), [`NO_SLOT`] when no other test looks it up.
    Compare { variable: Path, slot: usize, test: Test },
    /// A JSONata `Condition` expression.
    Jsonata(JsonataExpr),
}

impl Decision {
    /// Lowers the rules' conditions, in order (rule `i` is the `i`th), into one program.
    pub fn new(rules: Vec<Condition>) -> Decision {
        let mut branches = Vec::new();
        let mut start = Target::NoRule;
        for (i, condition) in rules.into_iter().enumerate().rev() {
            start = lower(condition, Target::Rule(i as u32), start, &mut branches);
        }
        // Lowering ran backwards; put the tests in the order they run.
        let last = branches.len().saturating_sub(1) as u32;
        let forward = |target| match target {
            Target::Test(i) => Target::Test(last - i),
            other => other,
        };
        branches.reverse();
        for branch in &mut branches {
            branch.if_true = forward(branch.if_true);
            branch.if_false = forward(branch.if_false);
        }
        let slots = number_variables(&mut branches);
        Decision {
            branches,
            start: forward(start),
            slots,
        }
    }

    /// How many slots [`Lookups::values`] needs.
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// The index of the first rule whose condition holds, `None` when none does. Only a
    /// JSONata condition (or a broken reference) can fail.
    pub fn decide<'a>(&'a self, lookups: &mut Lookups<'a, '_>) -> Result<Option<usize>, EvalError> {
        let mut at = self.start;
        loop {
            match at {
                Target::Test(i) => {
                    let branch = &self.branches[i as usize];
                    at = if branch.test.holds(lookups)? {
                        branch.if_true
                    } else {
                        branch.if_false
                    };
                }
                Target::Rule(rule) => return Ok(Some(rule as usize)),
                Target::NoRule => return Ok(None),
            }
        }
    }
}

/// Appends the tests of `condition` to `branches` (last test first), jumping to `if_true`
/// or `if_false` once its value is known; returns where evaluating it starts.
fn lower(condition: Condition, if_true: Target, if_false: Target, branches: &mut Vec<Branch>) -> Target {
    let mut push = |test| {
        branches.push(Branch {
            test,
            if_true,
            if_false,
        });
        Target::Test(branches.len() as u32 - 1)
    };
    match condition {
        Condition::And(items) => items
            .into_iter()
            .rev()
            .fold(if_true, |next, item| lower(item, next, if_false, branches)),
        Condition::Or(items) => items
            .into_iter()
            .rev()
            .fold(if_false, |next, item| lower(item, if_true, next, branches)),
        Condition::Not(inner) => lower(*inner, if_false, if_true, branches),
        Condition::Jsonata(JsonataCondition::Literal(true)) => if_true,
        Condition::Jsonata(JsonataCondition::Literal(false)) => if_false,
        Condition::Jsonata(JsonataCondition::Expr(expr)) => push(Leaf::Jsonata(expr)),
        Condition::Compare { variable, test } => push(Leaf::Compare {
            variable,
            slot: 0,
            test,
        }),
    }
}

/// Gives the `Variable` paths that one Choice state tests more than once their slots (the
/// same path text, the same slot; [`NO_SLOT`] for the others, looked up where tested);
/// returns how many slots there are.
fn number_variables(branches: &mut [Branch]) -> usize {
    let text_of = |branch: &Branch| match &branch.test {
        Leaf::Compare { variable, .. } => Some(variable.text().to_owned()),
        Leaf::Jsonata(_) => None,
    };
    let texts: Vec<Option<String>> = branches.iter().map(text_of).collect();
    let mut shared = Vec::<&str>::new();
    for (branch, text) in branches.iter_mut().zip(&texts) {
        let (Leaf::Compare { slot, .. }, Some(text)) = (&mut branch.test, text) else {
            continue;
        };
        *slot = match shared.iter().position(|t| t == text) {
            Some(i) => i,
            None if texts.iter().flatten().filter(|t| *t == text).count() > 1 => {
                shared.push(text);
                shared.len() - 1
            }
            None => NO_SLOT,
        };
    }
    shared.len()
}

/// The slot of a `Variable` tested once: it is looked up where it is tested, not kept.
const NO_SLOT: usize = usize::MAX;

/// What a Choice state's conditions are evaluated with: the scope, the JSONata evaluator,
/// and each `Variable` path's value once looked up (a path's value cannot change while the
/// Choice state evaluates its rules, so one that several conditions test is looked up
/// once).
pub struct Lookups<'a, 's> {
    /// Where new values go.
    pub arena: &'a Arena,
    /// The state's input, context and variables.
    pub scope: &'s Scope<'a>,
    /// Evaluates a JSONata `Condition`.
    pub jsonata: &'s mut dyn FnMut(&'a JsonataExpr) -> Result<Value<'a>, EvalError>,
    /// By slot: `None` until looked up, then the path's value (`None` when absent).
    pub values: &'s mut [Option<Option<Value<'a>>>],
}

impl<'a, 's> Lookups<'a, 's> {
    /// Lookups for `decision`'s rules in `scope`, none made yet (the slots in `arena`).
    #[inline]
    pub fn new(
        arena: &'a Arena,
        scope: &'s Scope<'a>,
        jsonata: &'s mut dyn FnMut(&'a JsonataExpr) -> Result<Value<'a>, EvalError>,
        decision: &Decision,
    ) -> Lookups<'a, 's> {
        Lookups {
            arena,
            scope,
            jsonata,
            values: match decision.slots() {
                0 => &mut [],
                n => arena.alloc_slice_fill_copy(n, None),
            },
        }
    }
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
            match op {
                Comparison::StringEquals => Test::StringEquals(consts.intern(s)),
                _ => Test::String(Holds::of(op), consts.intern(s)),
            }
        }
        Comparison::NumericEquals
        | Comparison::NumericLessThan
        | Comparison::NumericGreaterThan
        | Comparison::NumericLessThanEquals
        | Comparison::NumericGreaterThanEquals => {
            let J::Number(n) = operand else {
                return Err(wrong());
            };
            Test::Numeric(Holds::of(op), crate::value::number_from_serde(n))
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
            Test::Timestamp(Holds::of(op), parse_timestamp(s).ok_or_else(wrong)?)
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
    // Patterns and values are short: compared inline rather than by `memcmp` calls.
    let Some(mut remaining) = text
        .get(..first.len())
        .filter(|head| key_eq(head, first))
        .and_then(|_| text.get(first.len()..))
    else {
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
    remaining
        .len()
        .checked_sub(last.len())
        .and_then(|at| remaining.get(at..))
        .is_some_and(|tail| key_eq(tail, last))
}

/// Compares strings as Java does (UTF-16 code units), which is how AWS orders them.
fn compare_strings(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        return a.cmp(b);
    }
    a.encode_utf16().cmp(b.encode_utf16())
}

/// The orderings of a value against an operand under which a comparison holds (one bit
/// each for `Less`, `Equal` and `Greater`), worked out once from its operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Holds(u8);

impl Holds {
    /// The orderings under which `op` holds.
    fn of(op: Comparison) -> Holds {
        let orderings = [Ordering::Less, Ordering::Equal, Ordering::Greater];
        Holds(orderings.into_iter().fold(0, |bits, ord| {
            bits | (u8::from(ordering_holds(op, ord)) << Holds::bit(ord))
        }))
    }

    /// Whether the comparison holds when the value orders `ord` against the operand.
    #[inline]
    fn at(self, ord: Ordering) -> bool {
        self.0 & (1 << Holds::bit(ord)) != 0
    }

    #[inline]
    fn bit(ord: Ordering) -> u8 {
        (ord as i8 + 1) as u8
    }
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
        return Some(key_eq(a.as_str()?, b.as_str()?));
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

impl Leaf {
    /// Whether the test holds. Only a JSONata condition (or a broken reference) can fail.
    #[inline]
    fn holds<'a>(&'a self, lookups: &mut Lookups<'a, '_>) -> Result<bool, EvalError> {
        Ok(match self {
            Leaf::Jsonata(expr) => match (lookups.jsonata)(expr)? {
                Value::Bool(b) => b,
                other => return Err(not_a_boolean(expr, other)),
            },
            Leaf::Compare { variable, slot, test } => {
                let (arena, scope) = (lookups.arena, lookups.scope);
                let value = match lookups.values.get_mut(*slot) {
                    Some(looked_up) => *looked_up.get_or_insert_with(|| variable.eval_opt(arena, scope)),
                    None => variable.eval_opt(arena, scope),
                };
                match test {
                    Test::Is(Comparison::IsPresent, expected) => value.is_some() == *expected,
                    Test::Is(op, expected) => match value {
                        None => false,
                        Some(v) => is_type(*op, v) == *expected,
                    },
                    _ => {
                        let Some(value) = value else {
                            return Err(invalid_path(variable));
                        };
                        test_value(test, value, arena, scope)?
                    }
                }
            }
        })
    }
}

/// AWS's error for a JSONata condition whose value is not a boolean.
#[cold]
fn not_a_boolean(expr: &JsonataExpr, value: Value<'_>) -> EvalError {
    EvalError::new(
        crate::error::names::QUERY_EVALUATION_ERROR,
        format!(
            "The JSONata expression '{}' specified for the field 'Condition' returned an unexpected result type. Expected 'boolean', but was '{}' for value: {}",
            expr.text(),
            value.type_name(),
            value
        ),
    )
}

/// AWS's error for a condition path that selects nothing (out of line: it is rare).
#[cold]
fn invalid_path(path: &Path) -> EvalError {
    EvalError::runtime(format!(
        "Invalid path '{}': The choice state's condition path references an invalid value.",
        path.text()
    ))
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
        Test::StringEquals(literal) => value.as_str().is_some_and(|s| key_eq(s, literal)),
        Test::String(holds, literal) => value.as_str().is_some_and(|s| holds.at(compare_strings(s, literal))),
        Test::Numeric(holds, literal) => value
            .as_number()
            .and_then(|n| n.cmp_value(*literal))
            .is_some_and(|order| holds.at(order)),
        Test::Boolean(literal) => matches!(value, Value::Bool(b) if b == *literal),
        Test::Timestamp(holds, literal) => value
            .as_str()
            .and_then(parse_timestamp)
            .is_some_and(|t| holds.at(t.cmp(literal))),
        Test::Matches(parts) => value.as_str().is_some_and(|s| wildcard_match(parts, s)),
        Test::Path(op, path) => match path.eval_opt(arena, scope) {
            Some(other) => compare_values(*op, value, other).unwrap_or(false),
            None => return Err(invalid_path(path)),
        },
        Test::Is(..) => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        // (pattern, text, matches)
        let cases = [
            ("log-*.txt", "log-1.txt", true),
            ("log-*.txt", "log-.txt", true),
            ("log-*.txt", "log-1.txt2", false),
            ("a\\*b*", "a*bcd", true),
            ("a\\*b*", "axbcd", false),
            ("*", "", true),
            ("ab*ba", "aba", false),
            // prefixes and suffixes of several bytes, and texts cut inside a character
            ("é*ü", "éü", true),
            ("é*ü", "éxyzü", true),
            ("é*ü", "eü", false),
            ("é*ü", "é", false),
            ("a*", "é", false),
            ("a*", "", false),
            ("*a", "é", false),
            ("vip-*", "vip-", true),
            ("vip-*", "c-9", false),
            (
                "a-much-longer-prefix-than-sixteen*",
                "a-much-longer-prefix-than-sixteen-bytes",
                true,
            ),
            (
                "a-much-longer-prefix-than-sixteen*",
                "a-much-longer-prefix-than-sixteeN",
                false,
            ),
        ];
        for (pattern, text, matches) in cases {
            assert_eq!(
                wildcard_match(&split_pattern(pattern), text),
                matches,
                "{pattern} on {text}"
            );
        }
    }

    fn is_present(path: &str) -> model::Condition {
        model::Condition::Compare {
            variable: path.into(),
            op: Comparison::IsPresent,
            operand_is_path: false,
            operand: serde_json::Value::Bool(true),
        }
    }

    fn compiled(condition: &model::Condition) -> Condition {
        let mut consts = crate::consts::Constants::new();
        compile(condition, &mut consts, &mut |_| unreachable!("no JSONata here")).unwrap()
    }

    #[test]
    fn variables_tested_more_than_once_share_a_slot() {
        use model::Condition::{And, Not};
        let decision = Decision::new(vec![
            compiled(&is_present("$.a")),
            compiled(&And(vec![is_present("$.b"), is_present("$.a")])),
            compiled(&Not(Box::new(is_present("$.c")))),
            compiled(&is_present("$.b")),
        ]);
        let slots: Vec<usize> = decision
            .branches
            .iter()
            .map(|branch| match branch.test {
                Leaf::Compare { slot, .. } => slot,
                Leaf::Jsonata(_) => unreachable!("no JSONata here"),
            })
            .collect();
        assert_eq!(decision.slots(), 2);
        assert_eq!(slots, [0, 1, 0, NO_SLOT, 1]);
        let distinct = Decision::new(vec![compiled(&is_present("$.a")), compiled(&is_present("$.b"))]);
        assert_eq!(distinct.slots(), 0);
    }

    /// The first rule whose condition holds, by walking the condition trees as written.
    fn first_rule_by_tree(rules: &[model::Condition], present: &[&str]) -> Option<usize> {
        fn holds(condition: &model::Condition, present: &[&str]) -> bool {
            match condition {
                model::Condition::And(items) => items.iter().all(|c| holds(c, present)),
                model::Condition::Or(items) => items.iter().any(|c| holds(c, present)),
                model::Condition::Not(inner) => !holds(inner, present),
                model::Condition::Jsonata(serde_json::Value::Bool(b)) => *b,
                model::Condition::Compare { variable, .. } => present.contains(&&variable[2..]),
                model::Condition::Jsonata(_) => unreachable!("no JSONata expressions here"),
            }
        }
        rules.iter().position(|c| holds(c, present))
    }

    #[test]
    fn the_branch_program_picks_the_rule_the_trees_pick() {
        use model::Condition::{And, Jsonata, Not, Or};
        let literal = |b| Jsonata(serde_json::Value::Bool(b));
        let rule_sets = [
            vec![And(vec![is_present("$.a"), is_present("$.b")]), is_present("$.c")],
            vec![
                Or(vec![is_present("$.a"), Not(Box::new(is_present("$.b")))]),
                And(vec![
                    is_present("$.c"),
                    Or(vec![is_present("$.d"), And(vec![is_present("$.a"), is_present("$.b")])]),
                    Not(Box::new(is_present("$.d"))),
                ]),
            ],
            vec![
                Not(Box::new(Or(vec![is_present("$.a"), is_present("$.b")]))),
                Not(Box::new(And(vec![is_present("$.c"), Not(Box::new(is_present("$.d")))]))),
                literal(false),
                And(vec![literal(true), is_present("$.a")]),
                Or(vec![literal(false), is_present("$.b")]),
            ],
            vec![literal(false), Or(vec![literal(false), literal(true)])],
            vec![literal(false)],
        ];
        let names = ["a", "b", "c", "d"];
        for rules in &rule_sets {
            let decision = Decision::new(rules.iter().map(compiled).collect());
            for subset in 0..16u32 {
                let present: Vec<&str> = names
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| subset & (1 << i) != 0)
                    .map(|(_, n)| *n)
                    .collect();
                let arena = Arena::new();
                let members: Vec<_> = present.iter().map(|n| (*n, Value::Null)).collect();
                let scope = Scope::of_input(Value::object(arena.alloc_slice_copy(&members)));
                let mut jsonata = |_: &JsonataExpr| unreachable!("no JSONata expressions here");
                let mut values = vec![None; decision.slots()];
                let mut lookups = Lookups {
                    arena: &arena,
                    scope: &scope,
                    jsonata: &mut jsonata,
                    values: &mut values,
                };
                assert_eq!(
                    decision.decide(&mut lookups).unwrap(),
                    first_rule_by_tree(rules, &present),
                    "{rules:?} with {present:?}"
                );
            }
        }
    }

    #[test]
    fn holds_follows_the_operator() {
        use Comparison::*;
        use Ordering::*;
        let cases = [
            (NumericEquals, [false, true, false]),
            (NumericLessThan, [true, false, false]),
            (NumericGreaterThan, [false, false, true]),
            (StringLessThanEquals, [true, true, false]),
            (TimestampGreaterThanEquals, [false, true, true]),
        ];
        for (op, expected) in cases {
            let holds = Holds::of(op);
            assert_eq!([holds.at(Less), holds.at(Equal), holds.at(Greater)], expected, "{op:?}");
        }
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
