//! Intrinsic functions (`States.Format(...)` and friends): parsed once, evaluated over a
//! [`Scope`].
//!
//! Arguments are literals (`'text'` with the escapes `\'`, `\{`, `\}` and `\\`, numbers,
//! `true`, `false`, `null`), paths (`$.x`, `$$.x`, `$var`) or nested calls. Any other
//! backslash sequence in a string literal is a syntax error, as on AWS.
//!
//! Failures at run time are `States.IntrinsicFailure` errors (prefixed with the state by the
//! interpreter); a path argument that selects nothing is reported as
//! [`IntrinsicError::Path`], so that the payload template can word it the way AWS does.

use std::fmt;

use base64::Engine as _;
use bumpalo::collections::{String as BumpString, Vec as BumpVec};

use crate::consts::Constants;
use crate::error::{names, EvalError};
use crate::limits::PAYLOAD_LIMIT;
use crate::path::{Path, PathError};
use crate::scope::Scope;
use crate::value::{self, Arena, Member, Number, Value};

/// The deepest nesting of calls accepted (AWS allows 10; this only guards the parser).
const MAX_DEPTH: usize = 32;

/// The longest string `States.Base64Encode`, `Base64Decode` and `Hash` accept.
const MAX_INPUT_CHARS: usize = 10_000;

/// The most elements `States.ArrayRange` may produce.
const MAX_RANGE_ITEMS: i64 = 1000;

/// A parsed intrinsic function call.
#[derive(Clone, Debug)]
pub struct Intrinsic {
    text: Box<str>,
    call: Call,
}

/// One call: the function and its arguments.
#[derive(Clone, Debug)]
struct Call {
    func: Func,
    args: Box<[Arg]>,
    /// For `States.Format` with a literal format string: the string, split at its `{}`.
    template: Option<Box<[Piece]>>,
}

/// A piece of a precompiled `States.Format` string.
#[derive(Clone, Debug)]
enum Piece {
    /// Text copied as is.
    Text(&'static str),
    /// `{}`: the next argument.
    Placeholder,
}

/// An argument of a call.
#[derive(Clone, Debug)]
enum Arg {
    /// A literal, stored in the program's constants.
    Literal(Value<'static>),
    /// A path (`$...`, `$$...`, `$name...`).
    Path(Path),
    /// A nested call.
    Call(Call),
}

macro_rules! functions {
    ($($(#[$doc:meta])* $variant:ident = $name:literal,)*) => {
        /// An intrinsic function.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Func {
            $($(#[$doc])* $variant,)*
        }

        impl Func {
            /// The function's name, such as `States.Format`.
            pub fn name(self) -> &'static str {
                match self {
                    $(Func::$variant => $name,)*
                }
            }

            /// The function named `name`, if there is one.
            pub fn from_name(name: &str) -> Option<Func> {
                match name {
                    $($name => Some(Func::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

functions! {
    /// `States.Format(template, args...)`: `{}` replaced by the arguments.
    Format = "States.Format",
    /// `States.StringToJson(string)`: parses JSON text.
    StringToJson = "States.StringToJson",
    /// `States.JsonToString(value)`: compact JSON text.
    JsonToString = "States.JsonToString",
    /// `States.Array(values...)`: an array of the arguments.
    Array = "States.Array",
    /// `States.ArrayPartition(array, size)`: chunks of `size`.
    ArrayPartition = "States.ArrayPartition",
    /// `States.ArrayContains(array, value)`: deep membership.
    ArrayContains = "States.ArrayContains",
    /// `States.ArrayRange(first, last, step)`: integers from `first` towards `last`.
    ArrayRange = "States.ArrayRange",
    /// `States.ArrayGetItem(array, index)`: one element.
    ArrayGetItem = "States.ArrayGetItem",
    /// `States.ArrayLength(array)`: the number of elements.
    ArrayLength = "States.ArrayLength",
    /// `States.ArrayUnique(array)`: duplicates removed, first occurrences kept.
    ArrayUnique = "States.ArrayUnique",
    /// `States.Base64Encode(string)`.
    Base64Encode = "States.Base64Encode",
    /// `States.Base64Decode(string)`.
    Base64Decode = "States.Base64Decode",
    /// `States.Hash(data, algorithm)`: lowercase hex digest.
    Hash = "States.Hash",
    /// `States.JsonMerge(a, b, deep)`: `b`'s members over `a`'s.
    JsonMerge = "States.JsonMerge",
    /// `States.MathRandom(start, end[, seed])`: a random integer in `[start, end]`.
    MathRandom = "States.MathRandom",
    /// `States.MathAdd(a, b)`: the sum, each rounded first as Java's `Math.round` does.
    MathAdd = "States.MathAdd",
    /// `States.StringSplit(string, separators)`: split at any of the separator characters.
    StringSplit = "States.StringSplit",
    /// `States.UUID()`: a random version 4 UUID.
    Uuid = "States.UUID",
}

/// A syntax error in an intrinsic function call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IntrinsicSyntaxError {
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for IntrinsicSyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for IntrinsicSyntaxError {}

/// Why an intrinsic call failed at run time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IntrinsicError {
    /// A path argument selected nothing. Payload templates report this as AWS does (`The
    /// JSONPath '...' specified for the field '...' could not be found in the input '...'`).
    Path(PathError),
    /// The function failed (`States.IntrinsicFailure`, or what AWS raises instead).
    Failed(EvalError),
}

impl From<IntrinsicError> for EvalError {
    fn from(e: IntrinsicError) -> EvalError {
        match e {
            IntrinsicError::Path(p) => p.into(),
            IntrinsicError::Failed(e) => e,
        }
    }
}

impl fmt::Display for IntrinsicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IntrinsicError::Path(p) => p.fmt(f),
            IntrinsicError::Failed(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for IntrinsicError {}

fn failure(func: Func, why: impl fmt::Display) -> IntrinsicError {
    IntrinsicError::Failed(EvalError::new(
        names::INTRINSIC_FAILURE,
        format!("Invalid arguments in {}: {why}", func.name()),
    ))
}

impl Intrinsic {
    /// Whether `text` looks like an intrinsic call (starts with a function name and `(`),
    /// as opposed to a path.
    pub fn is_call(text: &str) -> bool {
        !text.starts_with('$') && text.contains('(')
    }

    /// Parses a call such as `States.Format('{}', $.x)`; literals go into `consts`.
    pub fn parse(text: &str, consts: &mut Constants) -> Result<Intrinsic, IntrinsicSyntaxError> {
        let mut p = CallParser { text, pos: 0, consts };
        let call = p.call(0)?;
        p.ws();
        if p.pos != text.len() {
            return Err(p.error("unexpected text after the call"));
        }
        Ok(Intrinsic {
            text: text.into(),
            call,
        })
    }

    /// The call as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The outermost function.
    pub fn func(&self) -> Func {
        self.call.func
    }

    /// Evaluates the call; results live in `arena`.
    pub fn eval<'a>(&self, arena: &'a Arena, scope: &Scope<'a>) -> Result<Value<'a>, IntrinsicError> {
        eval_call(&self.call, arena, scope)
    }
}

impl fmt::Display for Intrinsic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

struct CallParser<'t, 'c> {
    text: &'t str,
    pos: usize,
    consts: &'c mut Constants,
}

impl CallParser<'_, '_> {
    fn error(&self, what: &str) -> IntrinsicSyntaxError {
        IntrinsicSyntaxError {
            message: format!(
                "Invalid intrinsic function call '{}': {what} at position {}",
                self.text, self.pos
            ),
        }
    }

    fn rest(&self) -> &str {
        &self.text[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn ws(&mut self) {
        let trimmed = self.rest().trim_start_matches([' ', '\t', '\n', '\r']);
        self.pos = self.text.len() - trimmed.len();
    }

    fn call(&mut self, depth: usize) -> Result<Call, IntrinsicSyntaxError> {
        if depth > MAX_DEPTH {
            return Err(self.error("calls are nested too deeply"));
        }
        self.ws();
        let len = self
            .rest()
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_'))
            .unwrap_or(self.rest().len());
        let name = &self.rest()[..len];
        let func =
            Func::from_name(name).ok_or_else(|| self.error(&format!("'{name}' is not an intrinsic function")))?;
        self.pos += len;
        self.ws();
        if self.peek() != Some('(') {
            return Err(self.error("expected '('"));
        }
        self.pos += 1;
        let mut args = Vec::new();
        let mut template = None;
        self.ws();
        if self.peek() == Some(')') {
            self.pos += 1;
        } else {
            loop {
                self.ws();
                let first_format_arg = func == Func::Format && args.is_empty();
                if first_format_arg && self.peek() == Some('\'') {
                    let (text, pieces) = self.string(true)?;
                    template = Some(pieces.into_boxed_slice());
                    args.push(Arg::Literal(Value::String(text)));
                } else {
                    args.push(self.arg(depth)?);
                }
                self.ws();
                match self.peek() {
                    Some(',') => self.pos += 1,
                    Some(')') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(self.error("expected ',' or ')'")),
                }
            }
        }
        Ok(Call {
            func,
            args: args.into_boxed_slice(),
            template,
        })
    }

    fn arg(&mut self, depth: usize) -> Result<Arg, IntrinsicSyntaxError> {
        match self.peek() {
            Some('\'') => Ok(Arg::Literal(Value::String(self.string(false)?.0))),
            Some('$') => {
                let len = path_len(self.rest());
                let text = &self.rest()[..len];
                let path = Path::parse(text).map_err(|e| self.error(&e.message))?;
                self.pos += len;
                Ok(Arg::Path(path))
            }
            Some(c) if c == '-' || c.is_ascii_digit() => {
                let len = self
                    .rest()
                    .find(|c: char| !(c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E')))
                    .unwrap_or(self.rest().len());
                let n: serde_json::Value =
                    serde_json::from_str(&self.rest()[..len]).map_err(|_| self.error("invalid number"))?;
                self.pos += len;
                Ok(Arg::Literal(self.consts.json(&n)))
            }
            _ => {
                for (word, v) in [
                    ("true", Value::Bool(true)),
                    ("false", Value::Bool(false)),
                    ("null", Value::Null),
                ] {
                    if let Some(after) = self.rest().strip_prefix(word) {
                        if !after.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '.') {
                            self.pos += word.len();
                            return Ok(Arg::Literal(v));
                        }
                    }
                }
                Ok(Arg::Call(self.call(depth + 1)?))
            }
        }
    }

    /// A `'...'` literal. With `pieces`, also splits it at unescaped `{}` (for
    /// `States.Format`).
    fn string(&mut self, pieces: bool) -> Result<(&'static str, Vec<Piece>), IntrinsicSyntaxError> {
        self.pos += 1;
        let mut text = String::new();
        let mut out = Vec::new();
        let mut segment = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(self.error("string literal not closed"));
            };
            self.pos += c.len_utf8();
            match c {
                '\'' => break,
                '\\' => match self.peek() {
                    Some(e @ ('\'' | '{' | '}' | '\\')) => {
                        self.pos += 1;
                        text.push(e);
                        segment.push(e);
                    }
                    _ => return Err(self.error("invalid escape sequence in string literal")),
                },
                '{' if pieces && self.peek() == Some('}') => {
                    self.pos += 1;
                    text.push_str("{}");
                    if !segment.is_empty() {
                        out.push(Piece::Text(self.consts.intern(&segment)));
                        segment.clear();
                    }
                    out.push(Piece::Placeholder);
                }
                c => {
                    text.push(c);
                    segment.push(c);
                }
            }
        }
        if !segment.is_empty() {
            out.push(Piece::Text(self.consts.intern(&segment)));
        }
        Ok((self.consts.intern(&text), out))
    }
}

/// The length of the path at the start of `s`: up to a `,` or `)` outside brackets and
/// quotes.
fn path_len(s: &str) -> usize {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match (c, quote) {
            ('\\', _) => escaped = true,
            (q, Some(open)) if q == open => quote = None,
            (_, Some(_)) => {}
            ('\'' | '"', None) if depth > 0 => quote = Some(c),
            ('[' | '(', None) => depth += 1,
            (']', None) => depth = depth.saturating_sub(1),
            (')', None) if depth > 0 => depth -= 1,
            (',' | ')' | ' ' | '\t' | '\n' | '\r', None) if depth == 0 => return i,
            _ => {}
        }
    }
    s.len()
}

fn eval_call<'a>(call: &Call, arena: &'a Arena, scope: &Scope<'a>) -> Result<Value<'a>, IntrinsicError> {
    let args = arena.alloc_slice_try_fill_with(call.args.len(), |i| {
        Ok(match &call.args[i] {
            Arg::Literal(v) => *v,
            Arg::Path(p) => p.eval(arena, scope).map_err(IntrinsicError::Path)?,
            Arg::Call(c) => eval_call(c, arena, scope)?,
        })
    })?;
    let result = apply(call, args, arena)?;
    // No result is larger than a payload may be: so no argument is either (paths select
    // from payloads; indefinite paths stop past the limit too), and whatever walks an
    // argument (writing, comparing, hashing) does at most as much work as its text's length,
    // even when the argument shares one part many times (`States.Array($, $)` nested).
    if result.json_len_exceeds(PAYLOAD_LIMIT) {
        return Err(too_large(call.func));
    }
    Ok(result)
}

/// The failure of an intrinsic whose result would be longer than the payload limit:
/// `States.DataLimitExceeded`, which the interpreter words as AWS does for the state.
#[cold]
fn too_large(func: Func) -> IntrinsicError {
    IntrinsicError::Failed(EvalError::new(
        names::DATA_LIMIT_EXCEEDED,
        format!(
            "{} built a value longer than the payload limit ({PAYLOAD_LIMIT} bytes).",
            func.name()
        ),
    ))
}

#[inline]
fn arity(func: Func, args: &[Value<'_>], min: usize, max: usize) -> Result<(), IntrinsicError> {
    if args.len() < min || args.len() > max {
        return Err(arity_failure(func, args.len(), min, max));
    }
    Ok(())
}

#[cold]
fn arity_failure(func: Func, given: usize, min: usize, max: usize) -> IntrinsicError {
    let expected = if min == max {
        min.to_string()
    } else {
        format!("{min} to {max}")
    };
    failure(func, format_args!("expected {expected} argument(s) but got {given}"))
}

fn string_arg<'a>(func: Func, v: Value<'a>, what: &str) -> Result<&'a str, IntrinsicError> {
    v.as_str()
        .ok_or_else(|| failure(func, format_args!("the {what} must be a string")))
}

fn array_arg<'a>(func: Func, v: Value<'a>) -> Result<&'a [Value<'a>], IntrinsicError> {
    v.as_array()
        .ok_or_else(|| failure(func, "the first argument must be an array"))
}

fn int_arg(func: Func, v: Value<'_>, what: &str) -> Result<i64, IntrinsicError> {
    v.as_number()
        .and_then(Number::as_i64)
        .ok_or_else(|| failure(func, format_args!("the {what} must be an integer")))
}

/// Java's `Math.round`: halves go up (towards positive infinity).
fn java_round(f: f64) -> f64 {
    let floor = f.floor();
    if f - floor >= 0.5 {
        floor + 1.0
    } else {
        floor
    }
}

fn apply<'a>(call: &Call, args: &[Value<'a>], arena: &'a Arena) -> Result<Value<'a>, IntrinsicError> {
    let func = call.func;
    match func {
        Func::Format => {
            arity(func, args, 1, usize::MAX)?;
            // Room for the usual result, so that it is written without growing: the
            // template's length (the `{}`s included) and the arguments' (strings as they
            // are, anything else guessed).
            // Never more than a payload may hold: past it the call fails.
            let room = args
                .iter()
                .map(|v| match v {
                    Value::String(s) => s.len(),
                    _ => 16,
                })
                .fold(0usize, usize::saturating_add)
                .min(PAYLOAD_LIMIT);
            let mut out = BumpString::with_capacity_in(room, arena);
            let mut next = 1;
            let mut placeholder = |out: &mut BumpString<'a>| -> Result<(), IntrinsicError> {
                let v = args.get(next).ok_or_else(|| {
                    failure(
                        func,
                        "the number of arguments does not match the number of placeholders",
                    )
                })?;
                next += 1;
                // An argument's text is at most twice its JSON text (`, ` between parts),
                // and its JSON text within the payload limit: the string stops growing soon
                // after it passes the limit.
                write_java_text(*v, out);
                within_payload(func, out)
            };
            match &call.template {
                Some(pieces) => {
                    for piece in pieces.iter() {
                        match piece {
                            Piece::Text(t) => {
                                out.push_str(t);
                                within_payload(func, &out)?;
                            }
                            Piece::Placeholder => placeholder(&mut out)?,
                        }
                    }
                }
                None => {
                    let template = string_arg(func, args[0], "format string")?;
                    let mut parts = template.split("{}");
                    out.push_str(parts.next().unwrap_or(""));
                    for part in parts {
                        placeholder(&mut out)?;
                        out.push_str(part);
                        within_payload(func, &out)?;
                    }
                }
            }
            if next != args.len() {
                return Err(failure(
                    func,
                    "the number of arguments does not match the number of placeholders",
                ));
            }
            Ok(Value::String(out.into_bump_str()))
        }
        Func::StringToJson => {
            arity(func, args, 1, 1)?;
            let s = string_arg(func, args[0], "argument")?;
            match s.trim() {
                "" => return Ok(Value::Null),
                // Jackson reads `-0` as the integer 0 (serde_json as the float -0.0).
                "-0" => return Ok(Value::int(0)),
                _ => {}
            }
            value::parse(arena, s).map_err(|e| failure(func, format_args!("invalid JSON: {e}")))
        }
        Func::JsonToString => {
            arity(func, args, 1, 1)?;
            Ok(Value::String(json_text(args[0], arena)))
        }
        Func::Array => Ok(Value::array(arena.alloc_slice_copy(args))),
        Func::ArrayPartition => {
            arity(func, args, 2, 2)?;
            let items = array_arg(func, args[0])?;
            let size = int_arg(func, args[1], "chunk size")?;
            if size <= 0 {
                return Err(failure(func, "the chunk size must be a positive integer"));
            }
            let size = usize::try_from(size).unwrap_or(usize::MAX);
            let chunks = arena.alloc_slice_fill_iter(items.chunks(size).map(Value::array));
            Ok(Value::array(chunks))
        }
        Func::ArrayContains => {
            arity(func, args, 2, 2)?;
            let items = array_arg(func, args[0])?;
            Ok(Value::Bool(items.iter().any(|v| *v == args[1])))
        }
        Func::ArrayRange => {
            arity(func, args, 3, 3)?;
            let first = int_arg(func, args[0], "start")?;
            let last = int_arg(func, args[1], "end")?;
            let step = int_arg(func, args[2], "step")?;
            if step == 0 {
                return Err(failure(func, "the step must not be zero"));
            }
            let (first128, last128, step128) = (i128::from(first), i128::from(last), i128::from(step));
            let count = if (last128 - first128).signum() == step128.signum() || last == first {
                (last128 - first128) / step128 + 1
            } else {
                0
            };
            if count > i128::from(MAX_RANGE_ITEMS) {
                return Err(failure(
                    func,
                    format_args!("the range must not have more than {MAX_RANGE_ITEMS} elements"),
                ));
            }
            let count = usize::try_from(count).unwrap_or(0);
            // Every item lies between `first` and `last`: it fits, computed without overflow.
            let items = arena.alloc_slice_fill_with(count, |i| {
                let item = first128 + i as i128 * step128;
                Value::int(i64::try_from(item).unwrap_or(last))
            });
            Ok(Value::array(items))
        }
        Func::ArrayGetItem => {
            arity(func, args, 2, 2)?;
            let items = array_arg(func, args[0])?;
            let index = int_arg(func, args[1], "index")?;
            usize::try_from(index)
                .ok()
                .and_then(|i| items.get(i).copied())
                .ok_or_else(|| failure(func, format_args!("the index {index} is out of bounds")))
        }
        Func::ArrayLength => {
            arity(func, args, 1, 1)?;
            let items = array_arg(func, args[0])?;
            Ok(Value::int(i64::try_from(items.len()).unwrap_or(i64::MAX)))
        }
        Func::ArrayUnique => {
            arity(func, args, 1, 1)?;
            let items = array_arg(func, args[0])?;
            Ok(Value::array(unique(arena, items)))
        }
        Func::Base64Encode => {
            arity(func, args, 1, 1)?;
            let s = limited_string(func, args[0])?;
            let engine = base64::engine::general_purpose::STANDARD;
            let mut buf = BumpVec::with_capacity_in(s.len().div_ceil(3) * 4, arena);
            buf.resize(s.len().div_ceil(3) * 4, 0u8);
            let n = engine
                .encode_slice(s.as_bytes(), &mut buf)
                .map_err(|e| failure(func, e))?;
            buf.truncate(n);
            let bytes = buf.into_bump_slice();
            Ok(Value::String(std::str::from_utf8(bytes).unwrap_or_default()))
        }
        Func::Base64Decode => {
            arity(func, args, 1, 1)?;
            let s = limited_string(func, args[0])?;
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(s.trim_end())
                .map_err(|_| failure(func, "the argument is not valid Base64"))?;
            let text = String::from_utf8(decoded).map_err(|_| failure(func, "the decoded data is not UTF-8 text"))?;
            Ok(Value::String(arena.alloc_str(&text)))
        }
        Func::Hash => {
            arity(func, args, 2, 2)?;
            let data: &str = match args[0] {
                Value::String(s) => s,
                other => json_text(other, arena),
            };
            if data.chars().count() > MAX_INPUT_CHARS {
                return Err(failure(
                    func,
                    format_args!("the data must not be longer than {MAX_INPUT_CHARS} characters"),
                ));
            }
            let algorithm = string_arg(func, args[1], "algorithm")?;
            let digest = hash(algorithm, data.as_bytes()).ok_or_else(|| {
                failure(
                    func,
                    format_args!("the algorithm '{algorithm}' is not one of MD5, SHA-1, SHA-256, SHA-384, SHA-512"),
                )
            })?;
            Ok(Value::String(hex(&digest, arena)))
        }
        Func::JsonMerge => {
            arity(func, args, 3, 3)?;
            let (Value::Object(a, _), Value::Object(b, _)) = (args[0], args[1]) else {
                return Err(failure(func, "the first two arguments must be objects"));
            };
            let Value::Bool(deep) = args[2] else {
                return Err(failure(func, "the third argument must be a boolean"));
            };
            Ok(merge(arena, a, b, deep))
        }
        Func::MathRandom => {
            arity(func, args, 2, 3)?;
            let bound = |v: Value<'_>, what: &str| {
                v.as_number()
                    .map(|n| n.as_f64().trunc() as i64)
                    .ok_or_else(|| failure(func, format_args!("the {what} must be a number")))
            };
            let start = bound(args[0], "start")?;
            let end = bound(args[1], "end")?;
            if end < start {
                return Err(failure(func, "the end must not be less than the start"));
            }
            let span = u64::try_from(i128::from(end) - i128::from(start))
                .unwrap_or(u64::MAX)
                .saturating_add(1);
            let r = match args.get(2) {
                Some(seed) => {
                    let seed = bound(*seed, "seed")?;
                    JavaRandom::new(seed).next_below(span)
                }
                None => random_u64() % span,
            };
            Ok(Value::int(start.wrapping_add(r as i64)))
        }
        Func::MathAdd => {
            arity(func, args, 2, 2)?;
            let operand = |v: Value<'_>| -> Result<i64, IntrinsicError> {
                match v.as_number() {
                    Some(Number::Int(i)) => Ok(i),
                    Some(Number::Float(f)) if f.is_finite() => Ok(java_round(f) as i64),
                    _ => Err(failure(func, "the arguments must be numbers")),
                }
            };
            let sum = operand(args[0])?
                .checked_add(operand(args[1])?)
                .ok_or_else(|| failure(func, "the sum is out of range"))?;
            Ok(Value::int(sum))
        }
        Func::StringSplit => {
            arity(func, args, 2, 2)?;
            let s = string_arg(func, args[0], "first argument")?;
            let separators = string_arg(func, args[1], "second argument")?;
            // Many separators are looked up in a set: splitting stays linear in the string.
            let many: Option<std::collections::HashSet<char>> =
                (separators.len() > 16).then(|| separators.chars().collect());
            let parts = s
                .split(|c: char| match &many {
                    Some(set) => set.contains(&c),
                    None => separators.contains(c),
                })
                .filter(|p| !p.is_empty())
                .map(Value::String);
            let mut out = BumpVec::new_in(arena);
            // A lower bound of the result's text (each part quoted, a comma after it), to
            // stop as soon as it is certainly past the payload limit.
            let mut least = 2;
            for part in parts {
                least += part.bound_u64() / 6 + 2;
                if least > PAYLOAD_LIMIT as u64 {
                    return Err(too_large(func));
                }
                out.push(part);
            }
            Ok(Value::array(out.into_bump_slice()))
        }
        Func::Uuid => {
            arity(func, args, 0, 0)?;
            Ok(Value::String(uuid_v4(arena)))
        }
    }
}

fn limited_string<'a>(func: Func, v: Value<'a>) -> Result<&'a str, IntrinsicError> {
    let s = string_arg(func, v, "argument")?;
    if s.chars().count() > MAX_INPUT_CHARS {
        return Err(failure(
            func,
            format_args!("the argument must not be longer than {MAX_INPUT_CHARS} characters"),
        ));
    }
    Ok(s)
}

/// Fails when `out` is longer than a payload may be.
#[inline]
fn within_payload(func: Func, out: &str) -> Result<(), IntrinsicError> {
    if out.len() > PAYLOAD_LIMIT {
        return Err(too_large(func));
    }
    Ok(())
}

/// `items` without duplicates (deep equality, as `==` on values: numbers by value, object
/// members in any order), each kept where it first occurs. Small arrays are scanned; larger
/// ones hashed ([`Value::hash_json`], equal values hash alike), so that the work is linear
/// instead of quadratic: each item is compared only with the kept items of its hash.
fn unique<'a>(arena: &'a Arena, items: &'a [Value<'a>]) -> &'a [Value<'a>] {
    let mut out = BumpVec::with_capacity_in(items.len(), arena);
    if items.len() <= value::HASHED_FROM {
        for v in items {
            if !out.iter().any(|seen| seen == v) {
                out.push(*v);
            }
        }
        return out.into_bump_slice();
    }
    // hash -> positions in `out` of the kept items with that hash
    let mut kept: std::collections::HashMap<u64, smallvec::SmallVec<[u32; 1]>> =
        std::collections::HashMap::with_capacity(items.len());
    for v in items {
        let same_hash = kept.entry(v.hash_json()).or_default();
        if !same_hash.iter().any(|&at| out[at as usize] == *v) {
            same_hash.push(out.len() as u32);
            out.push(*v);
        }
    }
    out.into_bump_slice()
}

/// Compact JSON text of `v`, in the arena.
fn json_text<'a>(v: Value<'_>, arena: &'a Arena) -> &'a str {
    let mut out = Vec::with_capacity(v.json_len());
    v.write_json(&mut out);
    arena.alloc_str(std::str::from_utf8(&out).unwrap_or_default())
}

/// `States.Format`'s rendering of an argument: Java's `toString` of the Jackson-converted
/// value (strings bare, maps as `{k=v, k2=v2}`, lists as `[a, b]`).
fn write_java_text(v: Value<'_>, out: &mut BumpString<'_>) {
    match v {
        Value::String(s) => out.push_str(s),
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if b { "true" } else { "false" }),
        Value::Number(Number::Int(i)) => out.push_str(itoa::Buffer::new().format(i)),
        Value::Number(n) => {
            let mut text = Vec::new();
            n.write(&mut text);
            out.push_str(std::str::from_utf8(&text).unwrap_or_default());
        }
        Value::Array(items, _) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_java_text(*item, out);
            }
            out.push(']');
        }
        Value::Object(members, _) => {
            out.push('{');
            for (i, (k, item)) in members.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(k);
                out.push('=');
                write_java_text(*item, out);
            }
            out.push('}');
        }
    }
}

/// `b`'s members over `a`'s; with `deep`, objects present in both are merged recursively.
/// (`a`'s keys are looked up by a scan when it is small, by a hash map when it is large.)
fn merge<'a>(arena: &'a Arena, a: &'a [Member<'a>], b: &'a [Member<'a>], deep: bool) -> Value<'a> {
    let mut out = BumpVec::with_capacity_in(a.len() + b.len(), arena);
    out.extend_from_slice_copy(a);
    let index: Option<std::collections::HashMap<&str, usize>> = (a.len() > value::HASHED_FROM && b.len() > 1)
        .then(|| a.iter().enumerate().map(|(i, (k, _))| (*k, i)).collect());
    for &(k, v) in b {
        // `b`'s keys are unique, so only `a`'s can be the same as this one.
        let at = match &index {
            Some(index) => index.get(k).copied(),
            None => out[..a.len()].iter().position(|(key, _)| value::key_eq(key, k)),
        };
        match at {
            Some(at) => {
                let slot = &mut out[at];
                slot.1 = match (deep, slot.1, v) {
                    (true, Value::Object(x, _), Value::Object(y, _)) => merge(arena, x, y, true),
                    _ => v,
                }
            }
            None => out.push((k, v)),
        }
    }
    Value::object(out.into_bump_slice())
}

fn hash(algorithm: &str, data: &[u8]) -> Option<Vec<u8>> {
    use sha2::Digest;
    Some(match algorithm {
        "MD5" => md5::Md5::digest(data).to_vec(),
        "SHA-1" => sha1::Sha1::digest(data).to_vec(),
        "SHA-256" => sha2::Sha256::digest(data).to_vec(),
        "SHA-384" => sha2::Sha384::digest(data).to_vec(),
        "SHA-512" => sha2::Sha512::digest(data).to_vec(),
        _ => return None,
    })
}

fn hex<'a>(bytes: &[u8], arena: &'a Arena) -> &'a str {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = BumpString::with_capacity_in(bytes.len() * 2, arena);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out.into_bump_str()
}

/// `java.util.Random`, so that a seeded `States.MathRandom` is reproducible.
struct JavaRandom {
    seed: u64,
}

impl JavaRandom {
    const MULTIPLIER: u64 = 0x5_DEEC_E66D;
    const MASK: u64 = (1 << 48) - 1;

    fn new(seed: i64) -> JavaRandom {
        JavaRandom {
            seed: (seed as u64 ^ Self::MULTIPLIER) & Self::MASK,
        }
    }

    fn next(&mut self, bits: u32) -> u64 {
        self.seed = (self.seed.wrapping_mul(Self::MULTIPLIER).wrapping_add(0xB)) & Self::MASK;
        self.seed >> (48 - bits)
    }

    /// A value in `[0, bound)` (Java's `nextInt` for bounds that fit, `nextLong`-style
    /// otherwise).
    fn next_below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            return 0;
        }
        if bound <= i32::MAX as u64 {
            if bound.is_power_of_two() {
                return (bound * self.next(31)) >> 31;
            }
            loop {
                let bits = self.next(31);
                let val = bits % bound;
                if bits + bound - 1 - val < (1 << 31) {
                    return val;
                }
            }
        }
        ((self.next(32) << 32) | self.next(32)) % bound
    }
}

use super::entropy::random_u64;

/// A random (version 4) UUID, as `States.UUID` makes them.
pub fn uuid_v4_string() -> String {
    uuid_v4(&Arena::new()).to_string()
}

/// A random (version 4) UUID in `arena`.
pub(crate) fn uuid_v4(arena: &Arena) -> &str {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&random_u64().to_le_bytes());
    bytes[8..].copy_from_slice(&random_u64().to_le_bytes());
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let text = hex(&bytes, arena);
    let mut out = BumpString::with_capacity_in(36, arena);
    for (i, part) in [(0, 8), (8, 12), (12, 16), (16, 20), (20, 32)].iter().enumerate() {
        if i > 0 {
            out.push('-');
        }
        out.push_str(&text[part.0..part.1]);
    }
    out.into_bump_str()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scope::Variables;
    use crate::value::parse;

    fn run(call: &str, input: &str) -> Result<String, IntrinsicError> {
        let mut consts = Constants::new();
        let f = Intrinsic::parse(call, &mut consts).unwrap();
        let arena = Arena::new();
        let text = arena.alloc_str(input);
        let v = parse(&arena, text).unwrap();
        f.eval(&arena, &Scope::of_input(v)).map(|v| v.to_json_string())
    }

    fn ok(call: &str, input: &str) -> String {
        run(call, input).unwrap()
    }

    fn fails(call: &str, input: &str) -> String {
        match run(call, input).unwrap_err() {
            IntrinsicError::Failed(e) => {
                assert_eq!(e.error, names::INTRINSIC_FAILURE);
                e.into_data().message
            }
            IntrinsicError::Path(p) => panic!("unexpected path error {p}"),
        }
    }

    #[test]
    fn format() {
        assert_eq!(
            ok("States.Format('a{}b{}c', $.x, $.y)", r#"{"x":1.1,"y":null}"#),
            r#""a1.1bnullc""#
        );
        assert_eq!(
            ok("States.Format('fst={}.', $.x)", r#"{"x":{"Arg1":1,"Arg2":[]}}"#),
            r#""fst={Arg1=1, Arg2=[]}.""#
        );
        assert_eq!(
            ok("States.Format('{}', $.x)", r#"{"x":["a",[1,true]]}"#),
            r#""[a, [1, true]]""#
        );
        assert_eq!(ok(r"States.Format('\{\} {} \\ \'', 'x')", "{}"), r#""{} x \\ '""#);
        assert_eq!(
            ok("States.Format($.t, $.n)", r#"{"t":"It's {}!","n":"Pika"}"#),
            r#""It's Pika!""#
        );
        assert_eq!(ok("States.Format('none')", "{}"), r#""none""#);
        assert!(fails("States.Format('{} {}', 1)", "{}").contains("placeholders"));
        assert!(fails("States.Format('{}', 1, 2)", "{}").contains("placeholders"));
        assert!(fails("States.Format($.t)", r#"{"t":1}"#).contains("must be a string"));
    }

    #[test]
    fn argument_counts_are_checked() {
        let cause = fails("States.MathAdd(1)", "{}");
        assert!(cause.contains("expected 2 argument(s) but got 1"), "{cause}");
        let cause = fails("States.ArrayRange(1, 2)", "{}");
        assert!(cause.contains("expected 3 argument(s) but got 2"), "{cause}");
        let cause = fails("States.JsonMerge($.a)", r#"{"a":{}}"#);
        assert!(cause.contains("expected 3 argument(s) but got 1"), "{cause}");
        let cause = fails("States.MathRandom(1)", "{}");
        assert!(cause.contains("expected 2 to 3 argument(s) but got 1"), "{cause}");
    }

    #[test]
    fn json_conversions() {
        assert_eq!(
            ok("States.StringToJson($.s)", r#"{"s":"{\"Arg1\": 1, \"Arg2\": []}"}"#),
            r#"{"Arg1":1,"Arg2":[]}"#
        );
        assert_eq!(ok("States.StringToJson($.s)", r#"{"s":" "}"#), "null");
        assert_eq!(ok("States.StringToJson($.s)", r#"{"s":"-0"}"#), "0");
        assert_eq!(ok("States.StringToJson('1.1')", "{}"), "1.1");
        assert!(fails("States.StringToJson('{')", "{}").contains("invalid JSON"));
        assert_eq!(
            ok("States.JsonToString($.x)", r#"{"x":{"Arg1":1,"Arg2":[1.5,"s"]}}"#),
            r#""{\"Arg1\":1,\"Arg2\":[1.5,\"s\"]}""#
        );
        assert_eq!(
            ok("States.JsonToString($.x)", r#"{"x":"HelloWorld"}"#),
            r#""\"HelloWorld\"""#
        );
        assert_eq!(
            ok(
                r#"States.JsonMerge(States.StringToJson('{"a": "false"}'), $.b, false)"#,
                r#"{"b":{"c":1}}"#
            ),
            r#"{"a":"false","c":1}"#
        );
    }

    #[test]
    fn arrays() {
        assert_eq!(ok("States.Array()", "{}"), "[]");
        assert_eq!(
            ok(
                "States.Array(1, 'a', true, null, $.x, States.Array())",
                r#"{"x":{"k":1}}"#
            ),
            r#"[1,"a",true,null,{"k":1},[]]"#
        );
        assert_eq!(ok("States.ArrayPartition($.a, 2)", r#"{"a":[0,1,2]}"#), "[[0,1],[2]]");
        assert_eq!(ok("States.ArrayPartition($.a, 4)", r#"{"a":[]}"#), "[]");
        assert!(fails("States.ArrayPartition($.a, 0)", r#"{"a":[1]}"#).contains("positive"));
        assert_eq!(
            ok("States.ArrayContains($.a, $.v)", r#"{"a":[[1,2,3],2],"v":[1,2,3]}"#),
            "true"
        );
        assert_eq!(
            ok(
                "States.ArrayContains($.a, $.v)",
                r#"{"a":[{"1":2,"2":[]}],"v":{"2":[],"1":2}}"#
            ),
            "true"
        );
        assert_eq!(ok("States.ArrayContains($.a, null)", r#"{"a":[]}"#), "false");
        assert_eq!(ok("States.ArrayRange(0, 10, 3)", "{}"), "[0,3,6,9]");
        assert_eq!(ok("States.ArrayRange(1, 9, 9)", "{}"), "[1]");
        assert_eq!(ok("States.ArrayRange(5, 1, -2)", "{}"), "[5,3,1]");
        assert_eq!(ok("States.ArrayRange(5, 1, 2)", "{}"), "[]");
        assert!(fails("States.ArrayRange(0, 1000, 1)", "{}").contains("1000"));
        assert_eq!(ok("States.ArrayRange(0, 999, 1)", "{}").matches(',').count(), 999);
        assert!(fails("States.ArrayRange(0, 1, 0)", "{}").contains("zero"));
        assert!(fails("States.ArrayRange(-9000000000000000000, 9000000000000000000, 1)", "{}").contains("1000"));
        assert_eq!(
            ok("States.ArrayRange(9223372036854775806, 9223372036854775807, 1)", "{}"),
            "[9223372036854775806,9223372036854775807]"
        );
        assert_eq!(ok("States.ArrayGetItem($.a, 5)", r#"{"a":[1,2,3,4,5,6,7,8,9]}"#), "6");
        assert!(fails("States.ArrayGetItem($.a, 9)", r#"{"a":[1]}"#).contains("out of bounds"));
        assert_eq!(ok("States.ArrayLength($.a)", r#"{"a":[1,2,3]}"#), "3");
        assert_eq!(
            ok("States.ArrayUnique($.a)", r#"{"a":[1,2,1,{"a":1},{"a":1},null,null]}"#),
            r#"[1,2,{"a":1},null]"#
        );
        assert!(fails("States.ArrayLength($.a)", r#"{"a":"x"}"#).contains("array"));
    }

    #[test]
    fn encodings_and_hashes() {
        assert_eq!(
            ok("States.Base64Encode('Data to encode')", "{}"),
            r#""RGF0YSB0byBlbmNvZGU=""#
        );
        assert_eq!(ok("States.Base64Encode('')", "{}"), r#""""#);
        assert_eq!(
            ok("States.Base64Decode('RGF0YSB0byBlbmNvZGU=')", "{}"),
            r#""Data to encode""#
        );
        assert!(fails("States.Base64Decode('%%%')", "{}").contains("Base64"));
        for (alg, digest) in [
            ("MD5", "812f45842bc6d66ee14572ce20db8e86"),
            ("SHA-1", "aaff4a450a104cd177d28d18d74485e8cae074b7"),
            (
                "SHA-256",
                "b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3",
            ),
        ] {
            assert_eq!(
                ok(&format!("States.Hash('input data', '{alg}')"), "{}"),
                format!("\"{digest}\"")
            );
        }
        assert!(fails("States.Hash('x', 'SHA-3')", "{}").contains("SHA-3"));
    }

    #[test]
    fn math() {
        for (a, b, sum) in [
            ("1.49", "1.5", 3),
            ("-1.5", "0", -1),
            ("-2.5", "0", -2),
            ("-0.5", "0", 0),
            ("0.5", "0", 1),
            ("-1.51", "0", -2),
            ("-9", "3", -6),
        ] {
            assert_eq!(
                ok(&format!("States.MathAdd({a}, {b})"), "{}"),
                sum.to_string(),
                "{a}+{b}"
            );
        }
        let seeded = ok("States.MathRandom(1, 999, 7)", "{}");
        assert_eq!(seeded, ok("States.MathRandom(1, 999, 7)", "{}"));
        for _ in 0..50 {
            let n: i64 = ok("States.MathRandom(3, 5)", "{}").parse().unwrap();
            assert!((3..=5).contains(&n));
        }
        assert!(fails("States.MathAdd('a', 1)", "{}").contains("numbers"));
        assert!(fails("States.MathAdd(9223372036854775807, 1)", "{}").contains("range"));
        let wide: i64 = ok("States.MathRandom(-9223372036854775807, 9223372036854775807)", "{}")
            .parse()
            .unwrap();
        let _ = wide;
    }

    #[test]
    fn strings_and_uuid() {
        assert_eq!(
            ok(
                "States.StringSplit($.s, $.d)",
                r#"{"s":"This.is+a,test=string","d":".+,="}"#
            ),
            r#"["This","is","a","test","string"]"#
        );
        assert_eq!(ok("States.StringSplit(',,,,', ',')", "{}"), "[]");
        assert_eq!(ok("States.StringSplit(', , ,', ',')", "{}"), r#"[" "," "]"#);
        assert_eq!(
            ok("States.StringSplit('Hello\nWorld', '\n')", "{}"),
            r#"["Hello","World"]"#
        );
        let u = ok("States.UUID()", "{}");
        assert_eq!(u.len(), 38);
        assert_eq!(&u[15..16], "4");
        assert_ne!(u, ok("States.UUID()", "{}"));
    }

    #[test]
    fn nested_calls_and_variables() {
        let mut consts = Constants::new();
        let f = Intrinsic::parse(
            "States.ArrayGetItem(States.StringSplit($$.Name, '-'), States.MathAdd(States.ArrayLength(States.StringSplit($$.Name, '-')), -1))",
            &mut consts,
        )
        .unwrap();
        let arena = Arena::new();
        let ctx = parse(&arena, r#"{"Name":"a-b-c"}"#).unwrap();
        let vars = [("v", Value::int(4)), ("bias", Value::float(4.3))];
        let scope = Scope {
            input: Value::EMPTY_OBJECT,
            context: ctx,
            variables: Variables {
                local: &vars,
                outer: None,
            },
        };
        assert_eq!(f.eval(&arena, &scope).unwrap().to_json_string(), r#""c""#);
        let g = Intrinsic::parse("States.MathAdd($v, $bias)", &mut consts).unwrap();
        assert_eq!(g.eval(&arena, &scope).unwrap().to_json_string(), "8");
        let h = Intrinsic::parse("States.Array($.missing)", &mut consts).unwrap();
        assert!(matches!(h.eval(&arena, &scope), Err(IntrinsicError::Path(_))));
    }

    #[test]
    fn syntax_errors() {
        let mut consts = Constants::new();
        for bad in [
            "States.StringToJson('{\"text\":\"An \\\"escaped\\\" here\"}')",
            "States.Format('He said, \\\"Hello, {}!\\\"', 'Test')",
            "States.Nope(1)",
            "States.Array(",
            "States.Array(1,)",
            "States.Array('x)",
            "States.Array(1) x",
            "States.Array($.a b)",
            "States.Array(tru)",
            "Format('x')",
        ] {
            assert!(Intrinsic::parse(bad, &mut consts).is_err(), "{bad}");
        }
        assert!(Intrinsic::is_call("States.Array()"));
        assert!(!Intrinsic::is_call("$.a"));
    }
}

#[cfg(test)]
mod robustness {
    //! Mutated inputs never panic: parsers return errors, evaluation returns values or errors.
    use super::*;
    use crate::path::Path;
    use crate::value::parse;

    /// Deterministic mutations of `seed`: truncations, deletions and insertions of
    /// syntax-significant characters.
    fn mutations(seed: &str) -> Vec<String> {
        const NOISE: [&str; 16] = [
            "'",
            "\\",
            "(",
            ")",
            "[",
            "]",
            ",",
            "$",
            "$$",
            ".",
            "..",
            "?(",
            "{}",
            "é",
            "-",
            "\u{10346}",
        ];
        let chars: Vec<char> = seed.chars().collect();
        let mut out = Vec::new();
        for i in 0..=chars.len() {
            let head: String = chars[..i].iter().collect();
            let tail: String = chars[i..].iter().collect();
            out.push(head.clone());
            if i < chars.len() {
                out.push(format!("{head}{}", chars[i + 1..].iter().collect::<String>()));
            }
            for n in NOISE {
                out.push(format!("{head}{n}{tail}"));
            }
        }
        out
    }

    #[test]
    fn mutated_paths_and_calls_never_panic() {
        let arena = Arena::new();
        let input = parse(
            &arena,
            r#"{"a":[1,{"b":"x"},[2,3]],"s":"a,b","n":1.5,"o":{"k":null},"e":[],"t":"{}"}"#,
        )
        .unwrap();
        let scope = Scope::of_input(input);
        let mut consts = Constants::new();
        let paths = [
            "$.a[1].b",
            "$..b",
            "$.a[?(@.b == 'x' || @ > 1)]",
            "$['a','s']",
            "$.a[-2:]",
            "$.a[*][0]",
            r"$.x\.y",
            "$$.a",
            "$v.a",
        ];
        for seed in paths {
            for text in mutations(seed) {
                if let Ok(p) = Path::parse(&text) {
                    let _ = p.eval(&arena, &scope);
                    let _ = p.set(&arena, input, Value::Null);
                }
            }
        }
        let calls = [
            "States.Format('{} \\{\\} {}', $.a, $.o)",
            "States.ArrayGetItem(States.StringSplit($.s, ','), States.MathAdd(1, -1))",
            "States.JsonMerge($.o, States.StringToJson($.t), false)",
            "States.ArrayRange(0, $.n, 1)",
            "States.Hash(States.JsonToString($.a), 'SHA-256')",
            "States.ArrayPartition(States.ArrayUnique($.a), 2)",
            "States.Base64Decode(States.Base64Encode($.s))",
        ];
        for seed in calls {
            for text in mutations(seed) {
                if let Ok(call) = Intrinsic::parse(&text, &mut consts) {
                    let _ = call.eval(&arena, &scope);
                }
            }
        }
    }
}
