//! Jayway filter expressions: the `...` of `[?(...)]`.
//!
//! | syntax | meaning |
//! | --- | --- |
//! | `@.x`, `@['x'][0]`, `@` | a path relative to the element being tested |
//! | `$.x` | a path from the root document |
//! | `1`, `-2.5`, `'s'`, `"s"`, `true`, `false`, `null`, `[1,'a']`, `{"a":1}` | literals |
//! | `/re/`, `/re/i` | a regular expression (whole-string match, as Java's `matches`) |
//! | `==`, `!=`, `<`, `<=`, `>`, `>=` | comparisons: numbers by value, strings by text |
//! | `=~` | regular expression match |
//! | `in`, `nin` | membership in an array |
//! | `contains` | substring, or array membership |
//! | `subsetof`, `anyof`, `noneof` | array relations |
//! | `size`, `empty` | length equals / emptiness |
//! | `&&`, `\|\|`, `!`, `( )` | logic |
//! | `@.x` alone | existence test (a member that is `null` exists) |

use regex::Regex;

use crate::value::{Arena, Number, Value};

use super::{Parser, PathSyntaxError, Step};

/// A compiled filter expression.
#[derive(Clone, Debug)]
pub struct Filter {
    expr: Expr,
}

/// A boolean expression.
#[derive(Clone, Debug)]
enum Expr {
    /// `a || b`
    Or(Box<Expr>, Box<Expr>),
    /// `a && b`
    And(Box<Expr>, Box<Expr>),
    /// `!a`
    Not(Box<Expr>),
    /// `@.x` alone: whether the path selects something.
    Exists(Operand),
    /// `left op right`
    Compare(Operand, Op, Operand),
}

/// A relational operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `=~`
    Matches,
    /// `in`
    In,
    /// `nin`
    Nin,
    /// `contains`
    Contains,
    /// `subsetof`
    SubsetOf,
    /// `anyof`
    AnyOf,
    /// `noneof`
    NoneOf,
    /// `size`
    Size,
    /// `empty`
    Empty,
}

/// One side of a comparison.
#[derive(Clone, Debug)]
enum Operand {
    /// `@...`: relative to the tested element.
    Current(SubPath),
    /// `$...`: from the root document.
    Root(SubPath),
    /// A JSON literal.
    Literal(serde_json::Value),
    /// `/re/flags`.
    Regex(Box<Regex>),
}

/// The steps of a path operand, with whether they are definite (computed once).
#[derive(Clone, Debug)]
struct SubPath {
    steps: Box<[Step]>,
    definite: bool,
}

/// What an operand evaluates to.
#[derive(Clone, Copy)]
enum Resolved<'a, 'f> {
    /// A path that selected nothing.
    Undefined,
    /// A value.
    Value(Value<'a>),
    /// A literal (not copied into the arena).
    Json(&'f serde_json::Value),
    /// A regular expression.
    Regex(&'f Regex),
}

impl Filter {
    /// Parses the inside of `[?( ... )]`, leaving the parser on the closing `)`.
    pub(crate) fn parse(p: &mut Parser<'_>) -> Result<Filter, PathSyntaxError> {
        let expr = or(p)?;
        Ok(Filter { expr })
    }

    /// Whether `item` satisfies the filter (`doc` is the document `$` refers to).
    pub fn matches<'a>(&self, arena: &'a Arena, item: Value<'a>, doc: Value<'a>) -> bool {
        self.matches_counting(arena, item, doc, &mut 0)
    }

    /// [`matches`](Self::matches), adding the nodes its indefinite paths visit to `visits`
    /// (the enclosing path's count: past [`MAX_VISITS`](super::MAX_VISITS) it stops).
    pub(crate) fn matches_counting<'a>(
        &self,
        arena: &'a Arena,
        item: Value<'a>,
        doc: Value<'a>,
        visits: &mut u32,
    ) -> bool {
        eval(&self.expr, arena, item, doc, visits)
    }
}

fn or(p: &mut Parser<'_>) -> Result<Expr, PathSyntaxError> {
    let mut left = and(p)?;
    loop {
        p.skip_ws();
        if p.rest().starts_with("||") {
            p.bump(2);
            left = Expr::Or(Box::new(left), Box::new(and(p)?));
        } else {
            return Ok(left);
        }
    }
}

fn and(p: &mut Parser<'_>) -> Result<Expr, PathSyntaxError> {
    let mut left = unary(p)?;
    loop {
        p.skip_ws();
        if p.rest().starts_with("&&") {
            p.bump(2);
            left = Expr::And(Box::new(left), Box::new(unary(p)?));
        } else {
            return Ok(left);
        }
    }
}

/// The deepest nesting of parentheses, `!` and filters within filters accepted.
const MAX_DEPTH: u32 = 64;

fn unary(p: &mut Parser<'_>) -> Result<Expr, PathSyntaxError> {
    if p.depth >= MAX_DEPTH {
        return Err(p.error("filter expression nested too deeply"));
    }
    p.depth += 1;
    let e = unary_inner(p);
    p.depth -= 1;
    e
}

fn unary_inner(p: &mut Parser<'_>) -> Result<Expr, PathSyntaxError> {
    p.skip_ws();
    match p.peek() {
        Some('!') if !p.rest().starts_with("!=") => {
            p.bump(1);
            Ok(Expr::Not(Box::new(unary(p)?)))
        }
        Some('(') => {
            p.bump(1);
            let e = or(p)?;
            p.skip_ws();
            if p.peek() != Some(')') {
                return Err(p.error("expected ')'"));
            }
            p.bump(1);
            Ok(e)
        }
        _ => relation(p),
    }
}

const OPS: [(&str, Op); 15] = [
    ("==", Op::Eq),
    ("!=", Op::Ne),
    ("<=", Op::Le),
    (">=", Op::Ge),
    ("=~", Op::Matches),
    ("<", Op::Lt),
    (">", Op::Gt),
    ("nin", Op::Nin),
    ("in", Op::In),
    ("contains", Op::Contains),
    ("subsetof", Op::SubsetOf),
    ("anyof", Op::AnyOf),
    ("noneof", Op::NoneOf),
    ("size", Op::Size),
    ("empty", Op::Empty),
];

fn relation(p: &mut Parser<'_>) -> Result<Expr, PathSyntaxError> {
    let left = operand(p)?;
    p.skip_ws();
    let rest = p.rest();
    let op = OPS.iter().find(|(text, _)| {
        rest.starts_with(text)
            && (text.chars().all(|c| !c.is_alphabetic())
                || !rest[text.len()..].starts_with(|c: char| c.is_alphanumeric()))
    });
    let Some(&(text, op)) = op else {
        return match left {
            Operand::Current(_) | Operand::Root(_) => Ok(Expr::Exists(left)),
            _ => Err(p.error("expected a comparison operator")),
        };
    };
    p.bump(text.len());
    let right = operand(p)?;
    Ok(Expr::Compare(left, op, right))
}

fn operand(p: &mut Parser<'_>) -> Result<Operand, PathSyntaxError> {
    p.skip_ws();
    match p.peek() {
        Some(c @ ('@' | '$')) => {
            p.bump(1);
            let saved = std::mem::replace(&mut p.in_filter, true);
            let steps = p.steps();
            p.in_filter = saved;
            let steps = steps?.into_boxed_slice();
            let sub = SubPath {
                definite: steps.iter().all(Step::is_definite),
                steps,
            };
            Ok(if c == '@' {
                Operand::Current(sub)
            } else {
                Operand::Root(sub)
            })
        }
        Some(q @ ('\'' | '"')) => {
            let s = p.quoted(q)?;
            Ok(Operand::Literal(serde_json::Value::String(s)))
        }
        Some('/') => {
            p.bump(1);
            let rest = p.rest();
            let mut end = None;
            let mut escaped = false;
            for (i, c) in rest.char_indices() {
                match c {
                    _ if escaped => escaped = false,
                    '\\' => escaped = true,
                    '/' => {
                        end = Some(i);
                        break;
                    }
                    _ => {}
                }
            }
            let end = end.ok_or_else(|| p.error("regular expression not closed"))?;
            let pattern = &rest[..end];
            let flags_len = rest[end + 1..]
                .find(|c: char| !c.is_ascii_alphabetic())
                .unwrap_or(rest.len() - end - 1);
            let flags = &rest[end + 1..end + 1 + flags_len];
            let mut builder = regex::RegexBuilder::new(&format!("^(?:{pattern})$"));
            for f in flags.chars() {
                match f {
                    'i' => builder.case_insensitive(true),
                    'm' => builder.multi_line(true),
                    's' => builder.dot_matches_new_line(true),
                    'x' => builder.ignore_whitespace(true),
                    _ => return Err(p.error("unknown regular expression flag")),
                };
            }
            let re = builder.build().map_err(|_| p.error("invalid regular expression"))?;
            p.bump(end + 1 + flags_len);
            Ok(Operand::Regex(Box::new(re)))
        }
        Some('[') => {
            p.bump(1);
            let mut items = Vec::new();
            p.skip_ws();
            if p.peek() == Some(']') {
                p.bump(1);
                return Ok(Operand::Literal(serde_json::Value::Array(items)));
            }
            loop {
                match operand(p)? {
                    Operand::Literal(v) => items.push(v),
                    _ => return Err(p.error("expected a literal in the array")),
                }
                p.skip_ws();
                match p.peek() {
                    Some(',') => p.bump(1),
                    Some(']') => {
                        p.bump(1);
                        return Ok(Operand::Literal(serde_json::Value::Array(items)));
                    }
                    _ => return Err(p.error("expected ',' or ']'")),
                }
            }
        }
        Some('{') => {
            let mut stream = serde_json::Deserializer::from_str(p.rest()).into_iter::<serde_json::Value>();
            let v = match stream.next() {
                Some(Ok(v)) => v,
                _ => return Err(p.error("invalid JSON literal")),
            };
            p.bump(stream.byte_offset());
            Ok(Operand::Literal(v))
        }
        Some(c) if c == '-' || c.is_ascii_digit() => {
            let len = p
                .rest()
                .find(|c: char| !(c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E')))
                .unwrap_or(p.rest().len());
            let v: serde_json::Value = serde_json::from_str(&p.rest()[..len]).map_err(|_| p.error("invalid number"))?;
            p.bump(len);
            Ok(Operand::Literal(v))
        }
        _ => {
            for (word, v) in [
                ("true", serde_json::Value::Bool(true)),
                ("false", serde_json::Value::Bool(false)),
                ("null", serde_json::Value::Null),
            ] {
                if p.rest().starts_with(word) {
                    p.bump(word.len());
                    return Ok(Operand::Literal(v));
                }
            }
            Err(p.error("expected an operand"))
        }
    }
}

fn eval<'a>(e: &Expr, arena: &'a Arena, item: Value<'a>, doc: Value<'a>, visits: &mut u32) -> bool {
    match e {
        Expr::Or(a, b) => eval(a, arena, item, doc, visits) || eval(b, arena, item, doc, visits),
        Expr::And(a, b) => eval(a, arena, item, doc, visits) && eval(b, arena, item, doc, visits),
        Expr::Not(a) => !eval(a, arena, item, doc, visits),
        // An indefinite path exists when it selects something.
        Expr::Exists(o) => match resolve(o, arena, item, doc, visits) {
            Resolved::Undefined => false,
            Resolved::Value(Value::Array(items, _)) if !operand_is_definite(o) => !items.is_empty(),
            _ => true,
        },
        Expr::Compare(l, op, r) => {
            let left = resolve(l, arena, item, doc, visits);
            compare(left, *op, resolve(r, arena, item, doc, visits))
        }
    }
}

fn operand_is_definite(o: &Operand) -> bool {
    match o {
        Operand::Current(sub) | Operand::Root(sub) => sub.definite,
        _ => true,
    }
}

fn resolve<'a, 'f>(
    o: &'f Operand,
    arena: &'a Arena,
    item: Value<'a>,
    doc: Value<'a>,
    visits: &mut u32,
) -> Resolved<'a, 'f> {
    let (SubPath { steps, definite }, start) = match o {
        Operand::Current(sub) => (sub, item),
        Operand::Root(sub) => (sub, doc),
        Operand::Literal(v) => return Resolved::Json(v),
        Operand::Regex(re) => return Resolved::Regex(re),
    };
    if *definite {
        super::select_definite(arena, steps, start).map_or(Resolved::Undefined, Resolved::Value)
    } else {
        let mut out = super::Found::new(arena);
        out.visits = *visits;
        super::walk(arena, steps, start, doc, &mut out);
        *visits = out.visits;
        // a path stopped part way (past the payload limit) compares as what it found so far
        Resolved::Value(Value::array(out.items.into_bump_slice()))
    }
}

/// A number, string or boolean view of a resolved operand, for comparisons.
enum Scalar<'s> {
    Num(Number),
    Str(&'s str),
    Other,
}

fn scalar<'s>(r: &Resolved<'s, 's>) -> Scalar<'s> {
    match r {
        Resolved::Value(Value::Number(n)) => Scalar::Num(*n),
        Resolved::Value(Value::String(s)) => Scalar::Str(s),
        Resolved::Json(serde_json::Value::Number(n)) => Scalar::Num(crate::value::number_from_serde(n)),
        Resolved::Json(serde_json::Value::String(s)) => Scalar::Str(s),
        _ => Scalar::Other,
    }
}

fn equal(a: &Resolved<'_, '_>, b: &Resolved<'_, '_>) -> bool {
    match (a, b) {
        (Resolved::Value(x), Resolved::Value(y)) => x == y,
        (Resolved::Value(x), Resolved::Json(j)) | (Resolved::Json(j), Resolved::Value(x)) => json_equal(*x, j),
        (Resolved::Json(x), Resolved::Json(y)) => x == y,
        _ => false,
    }
}

fn json_equal(v: Value<'_>, j: &serde_json::Value) -> bool {
    match (v, j) {
        (Value::Null, serde_json::Value::Null) => true,
        (Value::Bool(a), serde_json::Value::Bool(b)) => a == *b,
        (Value::Number(a), serde_json::Value::Number(b)) => a == crate::value::number_from_serde(b),
        (Value::String(a), serde_json::Value::String(b)) => a == b,
        (Value::Array(a, _), serde_json::Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| json_equal(*x, y))
        }
        (Value::Object(a, _), serde_json::Value::Object(b)) => {
            a.len() == b.len() && a.iter().all(|(k, x)| b.get(*k).is_some_and(|y| json_equal(*x, y)))
        }
        _ => false,
    }
}

/// The elements of an array operand.
fn elements<'a, 'f>(r: &Resolved<'a, 'f>) -> Option<Elements<'a, 'f>> {
    match *r {
        Resolved::Value(Value::Array(items, _)) => Some(Elements::Values(items.iter())),
        Resolved::Json(serde_json::Value::Array(items)) => Some(Elements::Json(items.iter())),
        _ => None,
    }
}

/// The elements of an array operand, without collecting them.
enum Elements<'a, 'f> {
    /// An array value's elements.
    Values(std::slice::Iter<'a, Value<'a>>),
    /// An array literal's elements.
    Json(std::slice::Iter<'f, serde_json::Value>),
}

impl<'a, 'f> Iterator for Elements<'a, 'f> {
    type Item = Resolved<'a, 'f>;
    fn next(&mut self) -> Option<Resolved<'a, 'f>> {
        match self {
            Elements::Values(it) => it.next().map(|v| Resolved::Value(*v)),
            Elements::Json(it) => it.next().map(Resolved::Json),
        }
    }
}

/// Whether every (`all`) or some (`!all`) element of `a` is in `b`.
fn relate(a: &Resolved<'_, '_>, b: &Resolved<'_, '_>, all: bool) -> Option<bool> {
    let mut left = elements(a)?;
    elements(b)?;
    let member = |x: &Resolved<'_, '_>| elements(b).is_some_and(|mut ys| ys.any(|y| equal(x, &y)));
    Some(if all {
        left.all(|x| member(&x))
    } else {
        left.any(|x| member(&x))
    })
}

fn length(r: &Resolved<'_, '_>) -> Option<usize> {
    match r {
        Resolved::Value(Value::String(s)) => Some(s.chars().count()),
        Resolved::Json(serde_json::Value::String(s)) => Some(s.chars().count()),
        _ => elements(r).map(Iterator::count),
    }
}

fn compare(l: Resolved<'_, '_>, op: Op, r: Resolved<'_, '_>) -> bool {
    use std::cmp::Ordering;
    let order = || match (scalar(&l), scalar(&r)) {
        (Scalar::Num(a), Scalar::Num(b)) => a.cmp_value(b),
        (Scalar::Str(a), Scalar::Str(b)) => Some(a.cmp(b)),
        _ => None,
    };
    let contains = |haystack: &Resolved<'_, '_>, needle: &Resolved<'_, '_>| {
        elements(haystack).is_some_and(|mut items| items.any(|x| equal(&x, needle)))
    };
    match op {
        Op::Eq => equal(&l, &r),
        Op::Ne => !equal(&l, &r),
        Op::Lt => order() == Some(Ordering::Less),
        Op::Le => matches!(order(), Some(Ordering::Less | Ordering::Equal)),
        Op::Gt => order() == Some(Ordering::Greater),
        Op::Ge => matches!(order(), Some(Ordering::Greater | Ordering::Equal)),
        Op::Matches => match (scalar(&l), r) {
            (Scalar::Str(s), Resolved::Regex(re)) => re.is_match(s),
            (Scalar::Num(n), Resolved::Regex(re)) => {
                let mut text = Vec::new();
                n.write(&mut text);
                re.is_match(&String::from_utf8_lossy(&text))
            }
            _ => false,
        },
        Op::In => contains(&r, &l),
        Op::Nin => !matches!(l, Resolved::Undefined) && !contains(&r, &l),
        Op::Contains => match (scalar(&l), scalar(&r)) {
            (Scalar::Str(a), Scalar::Str(b)) => a.contains(b),
            _ => contains(&l, &r),
        },
        Op::SubsetOf => relate(&l, &r, true).unwrap_or(false),
        Op::AnyOf => relate(&l, &r, false).unwrap_or(false),
        Op::NoneOf => relate(&l, &r, false).is_some_and(|any| !any),
        Op::Size => match (length(&l), scalar(&r)) {
            (Some(n), Scalar::Num(m)) => m.as_i64() == i64::try_from(n).ok(),
            _ => false,
        },
        Op::Empty => match (length(&l), &r) {
            (Some(n), Resolved::Json(serde_json::Value::Bool(b))) => (n == 0) == *b,
            _ => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use crate::path::Path;
    use crate::scope::Scope;
    use crate::value::{parse, Arena};

    fn select(path: &str, input: &str) -> String {
        let arena = Arena::new();
        let text = arena.alloc_str(input);
        let v = parse(&arena, text).unwrap();
        Path::parse(path)
            .unwrap()
            .eval(&arena, &Scope::of_input(v))
            .unwrap()
            .to_json_string()
    }

    const ITEMS: &str = r#"{"users":[{"year":1997,"status":0,"name":"ann","tags":["a","b"]},
        {"year":1998,"status":1,"name":"bob","tags":[]},{"year":2000,"name":"cy","x":null}]}"#;

    #[test]
    fn comparisons() {
        assert_eq!(select("$.users[?(@.status == 0)].name", ITEMS), r#"["ann"]"#);
        assert_eq!(select("$.users[?(@.status != 0)].name", ITEMS), r#"["bob","cy"]"#);
        assert_eq!(select("$.users[?(@.year >= 1998)].name", ITEMS), r#"["bob","cy"]"#);
        assert_eq!(
            select("$.users[?(@.year > 1998 || @.status == 0)].name", ITEMS),
            r#"["ann","cy"]"#
        );
        assert_eq!(
            select("$.users[?(@.year > 1990 && @.status < 1)].name", ITEMS),
            r#"["ann"]"#
        );
        assert_eq!(select("$.users[?(@.name == 'bob')].year", ITEMS), "[1998]");
        assert_eq!(select("$.users[?(@.name < \"b\")].year", ITEMS), "[1997]");
        assert_eq!(select("$.users[?(!(@.status == 0))].name", ITEMS), r#"["bob","cy"]"#);
    }

    #[test]
    fn existence_and_sets() {
        assert_eq!(select("$.users[?(@.x)].name", ITEMS), r#"["cy"]"#);
        assert_eq!(select("$.users[?(!@.status)].name", ITEMS), r#"["cy"]"#);
        assert_eq!(select("$.users[?(@.name in ['ann','cy'])].year", ITEMS), "[1997,2000]");
        assert_eq!(select("$.users[?(@.name nin ['ann','cy'])].year", ITEMS), "[1998]");
        assert_eq!(select("$.users[?(@.tags contains 'a')].name", ITEMS), r#"["ann"]"#);
        assert_eq!(select("$.users[?(@.tags size 2)].name", ITEMS), r#"["ann"]"#);
        assert_eq!(select("$.users[?(@.tags empty true)].name", ITEMS), r#"["bob"]"#);
        assert_eq!(
            select("$.users[?(@.tags subsetof ['a','b','c'])].name", ITEMS),
            r#"["ann","bob"]"#
        );
        assert_eq!(select("$.users[?(@.tags anyof ['b'])].name", ITEMS), r#"["ann"]"#);
        assert_eq!(select("$.users[?(@.tags noneof ['b'])].name", ITEMS), r#"["bob"]"#);
        assert_eq!(select("$.users[?(@.name =~ /A.*/i)].year", ITEMS), "[1997]");
        assert_eq!(select("$.users[?(@.name =~ /a/)].year", ITEMS), "[]");
        assert_eq!(select("$[?(@ > 1)]", "[1,2,3]"), "[2,3]");
        assert_eq!(select("$[?(((@ > 1)))]", "[1,2,3]"), "[2,3]");
        assert_eq!(select("$[?(@[?(@ == 2)])]", "[[1],[2],3]"), "[[2]]");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = format!("$[?({}@.a{})]", "(".repeat(10_000), ")".repeat(10_000));
        assert!(Path::parse(&deep).is_err());
        let nots = format!("$[?({}@.a)]", "!".repeat(10_000));
        assert!(Path::parse(&nots).is_err());
        let filters = format!("$[?(@{}.a{})]", "[?(@".repeat(5_000), ")]".repeat(5_000));
        assert!(Path::parse(&filters).is_err());
    }
}
