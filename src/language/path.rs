//! JSONPath as Step Functions uses it (Jayway JsonPath semantics): compiled once, evaluated
//! over arena values without any string handling at run time.
//!
//! Three roots are recognised: `$` (the state input), `$$` (the context object) and `$name`
//! (the variable `name`). After the root come Jayway tokens:
//!
//! | syntax | step |
//! | --- | --- |
//! | `.key`, `['key']`, `["key"]` | one member ([`Step`] `Key`) |
//! | `['a','b']` | several members, merged into an object when last |
//! | `[n]`, `[-n]` | one element (negative counts from the end) |
//! | `[n,m]` | several elements |
//! | `[a:b]`, `[a:]`, `[:b]` (`[a:b:c]` is accepted, the step ignored, as in Jayway) | a slice |
//! | `.*`, `[*]` | every member or element |
//! | `..` | every descendant, followed by the step to apply |
//! | `[?(...)]` | a filter (see [`filter`]) |
//!
//! In dot notation a backslash escapes the next character (`$.store\.book` is the member
//! `store.book`, `$.foo\@bar` is `foo@bar`), and `\uXXXX` is a Unicode escape.
//!
//! Evaluation follows Jayway with its default options, as AWS does:
//! * A *definite* path (only single members, single indexes, and a multi-member list as the
//!   last step) yields its one value or a [`PathError`] whose [`PathError::detail`] is
//!   Jayway's exception text (`No results for path: $['a']`, `Missing property in path
//!   $['no']`, ...).
//! * An *indefinite* path yields an array of its matches, `[]` when nothing matches (AWS
//!   never fails such a path, whatever Jayway would have thrown on the way).

pub mod filter;

use std::fmt;

use bumpalo::collections::Vec as BumpVec;

use crate::error::EvalError;
use crate::limits::PAYLOAD_LIMIT;
use crate::scope::Scope;
use crate::value::{find_member, key_eq, with_member, with_member_at, Arena, Member, SizeBound, Value};

use self::filter::Filter;

/// The error AWS raises when `ResultPath` cannot be applied to the input (observed; the spec
/// names `States.ResultPathMatchFailure`).
pub const REFERENCE_PATH_CONFLICT: &str = "States.ReferencePathConflict";

/// A compiled JSONPath (`$...`), context path (`$$...`) or variable path (`$name...`).
#[derive(Clone, Debug)]
pub struct Path {
    text: Box<str>,
    root: Root,
    steps: Box<[Step]>,
    definite: bool,
    /// `$` followed by member names only (`$.a.b`): the most common path, looked up by a
    /// tight loop before anything else.
    members_of_input: bool,
    /// Member names only (`.a.b`), from any root: the tight loop can find the value.
    keys_only: bool,
}

/// What a path starts from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Root {
    /// `$`: the input.
    Input,
    /// `$$`: the context object.
    Context,
    /// `$name`: a variable.
    Variable(Box<str>),
}

/// One compiled path token.
#[derive(Clone, Debug)]
pub enum Step {
    /// `.key` or `['key']`: the member `key`.
    Key(Box<str>),
    /// `['a','b']`: several members, merged into one object. Only allowed last: elsewhere
    /// evaluation fails (`Multi properties can only be used as path leafs`), as on AWS.
    Keys(Box<[Box<str>]>),
    /// `[n]`: the element at `n` (from the end when negative).
    Index(i64),
    /// `[n,m,...]`: the elements at these indexes, in this order.
    Indexes(Box<[i64]>),
    /// `[a:b]`: the elements from `a` (inclusive) to `b` (exclusive), Jayway's way.
    Slice {
        /// Start, if given.
        from: Option<i64>,
        /// End, if given.
        to: Option<i64>,
    },
    /// `.*` or `[*]`: every member value or element.
    Wildcard,
    /// `..`: the next step applied at every depth.
    Scan,
    /// `[?(...)]`: the elements (or the object itself) that satisfy the filter.
    Filter(Box<Filter>),
}

impl Step {
    /// Jayway's `isTokenDefinite`.
    fn is_definite(&self) -> bool {
        match self {
            Step::Key(_) | Step::Index(_) => true,
            // Definite in the Jayway AWS runs: a multi-member step that is not last fails
            // at run time instead.
            Step::Keys(_) => true,
            _ => false,
        }
    }

    /// The token as Jayway prints it (`['key']`, `[0]`, `[*]`, ...).
    fn write_fragment(&self, out: &mut String) {
        match self {
            Step::Key(k) => {
                out.push('[');
                push_quoted_key(k, out);
                out.push(']');
            }
            Step::Keys(keys) => {
                out.push('[');
                for (i, k) in keys.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    push_quoted_key(k, out);
                }
                out.push(']');
            }
            Step::Index(i) => {
                out.push('[');
                out.push_str(&i.to_string());
                out.push(']');
            }
            Step::Indexes(list) => {
                out.push('[');
                for (n, i) in list.iter().enumerate() {
                    if n > 0 {
                        out.push(',');
                    }
                    out.push_str(&i.to_string());
                }
                out.push(']');
            }
            Step::Slice { from, to } => {
                out.push('[');
                if let Some(f) = from {
                    out.push_str(&f.to_string());
                }
                out.push(':');
                if let Some(t) = to {
                    out.push_str(&t.to_string());
                }
                out.push(']');
            }
            Step::Wildcard => out.push_str("[*]"),
            Step::Scan => out.push_str(".."),
            Step::Filter(_) => out.push_str("[?]"),
        }
    }
}

fn push_quoted_key(key: &str, out: &mut String) {
    out.push('\'');
    for c in key.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            c => out.push(c),
        }
    }
    out.push('\'');
}

/// A syntax error in a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathSyntaxError {
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for PathSyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PathSyntaxError {}

/// Why a definite path selected nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathErrorKind {
    /// The last member or index is absent (`No results for path: $['a']['b']`).
    NoResults,
    /// A member before the last is absent (`Missing property in path $['no']`).
    MissingProperty,
    /// A member was asked of something that is not an object (`Expected to find an object
    /// with property ['b'] in path $['a'] but found '...'`).
    NotAnObject,
    /// An index was asked of `null` (`The path $['a'] is null`).
    NullArray,
    /// An index was asked of something that is not an array (`Filter: [0] can only be
    /// applied to arrays. Current context is: ...`).
    NotAnArray,
    /// The variable of a `$name` path is not defined.
    UndefinedVariable,
    /// A multi-member step (`['a','b']`) is not the last one (`Multi properties can only be
    /// used as path leafs: $['a', 'b']`).
    MultiPropertyNotLeaf,
    /// Not a miss: an indefinite path whose results' JSON text is longer than the payload
    /// limit, or that visited more than [`MAX_VISITS`] nodes finding them, is stopped (such
    /// as `$..*..*..*` on a deeply nested input, whose results grow combinatorially). Fields
    /// report it as `States.Runtime`, `Invalid path '<path>' : <detail>`.
    TooMuch,
}

/// The most steps a path may have: evaluating a path recurses once per step (and
/// `ResultPath` nests its result once per step, so a longer one could only fail the depth
/// limit anyway).
pub const MAX_STEPS: usize = 1000;

/// The most nodes an indefinite path may visit to find its results (each `..` visits every
/// node below each node it starts from).
pub const MAX_VISITS: u32 = 1 << 24;

/// What an indefinite path has found so far, and whether it must stop: past the payload
/// limit (its results could not be a payload) or past [`MAX_VISITS`].
struct Found<'a> {
    items: BumpVec<'a, Value<'a>>,
    /// An upper bound of the results' JSON text (as an array): summed from their bounds
    /// while small, measured exactly once that passes the payload limit.
    len: u64,
    /// Whether `len` is exact.
    measured: bool,
    visits: u32,
    /// Why the path stopped, if it did.
    stopped: Option<&'static str>,
}

impl<'a> Found<'a> {
    fn new(arena: &'a Arena) -> Found<'a> {
        Found {
            items: BumpVec::new_in(arena),
            len: 2,
            measured: false,
            visits: 0,
            stopped: None,
        }
    }

    /// Counts a visit; false when the path must stop.
    #[inline]
    fn visit(&mut self) -> bool {
        self.visits += 1;
        if self.visits > MAX_VISITS && self.stopped.is_none() {
            self.stopped = Some("quickstep stops a path that visits more than 16777216 nodes (MAX_VISITS)");
        }
        self.stopped.is_none()
    }

    #[inline]
    fn push(&mut self, v: Value<'a>) {
        if self.stopped.is_some() {
            return;
        }
        self.len += v.bound_u64() + 1;
        if self.len > PAYLOAD_LIMIT as u64 && !self.fits(v) {
            self.stopped =
                Some("the results are longer than the payload limit (262144 bytes): quickstep stops such a path");
            return;
        }
        self.items.push(v);
    }

    /// Whether the results with `v` are within the payload limit, measured exactly (once
    /// their bounds are past it).
    #[cold]
    fn fits(&mut self, v: Value<'a>) -> bool {
        if !self.measured {
            self.measured = true;
            let mut len = 2 + self.items.len() as u64;
            for item in self.items.iter() {
                match item.json_len_within(PAYLOAD_LIMIT) {
                    Some(n) => len += n as u64,
                    None => return false,
                }
            }
            self.len = len;
        } else {
            self.len -= v.bound_u64() + 1;
        }
        let left = (PAYLOAD_LIMIT as u64).saturating_sub(self.len + 1);
        match v.json_len_within(left as usize) {
            Some(n) => {
                self.len += n as u64 + 1;
                true
            }
            None => false,
        }
    }
}

/// A definite path that selected nothing: the kind, plus Jayway's exception text in
/// [`PathError::detail`]. Fields word misses differently, so callers build their own cause
/// from these parts; `From<PathError> for EvalError` gives the InputPath/OutputPath form:
/// `Invalid path '<path>' : <detail>` (`States.Runtime`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathError {
    /// What went wrong.
    pub kind: PathErrorKind,
    /// The path as written.
    pub path: String,
    /// Jayway's message, such as `No results for path: $['x']`.
    pub detail: String,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Invalid path '{}' : {}", self.path, self.detail)
    }
}

impl std::error::Error for PathError {}

impl From<PathError> for EvalError {
    fn from(e: PathError) -> EvalError {
        EvalError::runtime(e.to_string())
    }
}

impl Path {
    /// Parses a path. As in Jayway JsonPath, blanks around the path are ignored.
    pub fn parse(text: &str) -> Result<Path, PathSyntaxError> {
        let trimmed = text.trim_matches(|c: char| c <= ' ');
        let (root, rest) = split_root(trimmed)?;
        let mut parser = Parser::new(rest, false);
        // messages quote the whole path, positions counted from its start
        parser.origin = trimmed;
        parser.offset = trimmed.len() - rest.len();
        let steps = parser.steps()?;
        if !parser.at_end() {
            return Err(parser.error("unexpected character"));
        }
        Ok(Path::from_parts(text, root, steps))
    }

    fn from_parts(text: &str, root: Root, steps: Vec<Step>) -> Path {
        let definite = steps.iter().all(Step::is_definite);
        let keys_only = steps.iter().all(|s| matches!(s, Step::Key(_)));
        let members_of_input = root == Root::Input && keys_only;
        Path {
            text: text.into(),
            root,
            steps: steps.into_boxed_slice(),
            definite,
            members_of_input,
            keys_only,
        }
    }

    /// The path as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// What the path starts from.
    pub fn root(&self) -> &Root {
        &self.root
    }

    /// The compiled steps after the root.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// The member names of a `$.a.b` path (none for `$`); `None` for any other path.
    pub fn input_member_names(&self) -> Option<impl Iterator<Item = &str>> {
        self.members_of_input.then(|| {
            self.steps.iter().map(|step| match step {
                Step::Key(key) => &**key,
                _ => unreachable!("a path of member names has only Key steps"),
            })
        })
    }

    /// Whether this is a Reference Path (selects at most one node: only members and single
    /// indexes; no wildcards, filters, slices, unions or `..`).
    pub fn is_reference(&self) -> bool {
        self.steps.iter().all(|s| matches!(s, Step::Key(_) | Step::Index(_)))
    }

    /// Whether the path is definite in Jayway's sense (yields one value, not a list).
    pub fn is_definite(&self) -> bool {
        self.definite
    }

    /// The root value of this path in `scope`.
    fn root_value<'a>(&self, scope: &Scope<'a>) -> Result<Value<'a>, PathError> {
        match &self.root {
            Root::Input => Ok(scope.input),
            Root::Context => Ok(scope.context),
            Root::Variable(name) => scope.variables.get(name).ok_or_else(|| PathError {
                kind: PathErrorKind::UndefinedVariable,
                path: self.text.to_string(),
                detail: format!("The variable '${name}' is not defined"),
            }),
        }
    }

    /// Evaluates the path. A definite path yields its one value or an error; an indefinite
    /// one yields an array of the matches (possibly empty), allocated in `arena`.
    #[inline]
    pub fn eval<'a>(&self, arena: &'a Arena, scope: &Scope<'a>) -> Result<Value<'a>, PathError> {
        match self.select_members_of_input(scope.input) {
            Some(found) => Ok(found),
            None => self.eval_general(arena, scope),
        }
    }

    /// The value of a path of member names from the input (`$.a.b`) when `input` has it;
    /// `None` for any other path or a miss (which [`Path::eval`] then explains).
    #[inline(always)]
    pub fn select_members_of_input<'a>(&self, input: Value<'a>) -> Option<Value<'a>> {
        if self.members_of_input {
            select_keys(&self.steps, input)
        } else {
            None
        }
    }

    /// [`Path::eval`] past its fast path (and with the error when nothing is found).
    fn eval_general<'a>(&self, arena: &'a Arena, scope: &Scope<'a>) -> Result<Value<'a>, PathError> {
        let root = self.root_value(scope)?;
        self.eval_on(arena, root)
    }

    /// Like [`Path::eval`], `None` for any miss (an undefined variable included).
    #[inline]
    pub fn eval_opt<'a>(&self, arena: &'a Arena, scope: &Scope<'a>) -> Option<Value<'a>> {
        if self.members_of_input {
            // Member names only: a miss anywhere is simply absent.
            return select_keys(&self.steps, scope.input);
        }
        self.eval_opt_general(arena, scope)
    }

    /// [`Path::eval_opt`] for paths other than member names from the input.
    fn eval_opt_general<'a>(&self, arena: &'a Arena, scope: &Scope<'a>) -> Option<Value<'a>> {
        let root = match &self.root {
            Root::Input => scope.input,
            Root::Context => scope.context,
            Root::Variable(name) => scope.variables.get(name)?,
        };
        if self.definite {
            // No error text is built for a miss: Choice rules test presence all the time.
            if self.keys_only {
                return select_keys(&self.steps, root);
            }
            return select_definite(arena, &self.steps, root).ok();
        }
        self.eval_on(arena, root).ok()
    }

    /// Evaluates the steps of the path against `root`, whatever the path's own root is.
    pub fn eval_on<'a>(&self, arena: &'a Arena, root: Value<'a>) -> Result<Value<'a>, PathError> {
        if self.definite {
            return self.eval_definite(arena, root);
        }
        let mut out = Found::new(arena);
        walk(arena, &self.steps, root, root, &mut out);
        // (a filter's paths count their visits, and stop, on their own)
        out.visit();
        match out.stopped {
            None => Ok(Value::array(out.items.into_bump_slice())),
            Some(why) => Err(PathError {
                kind: PathErrorKind::TooMuch,
                path: self.text.to_string(),
                detail: why.to_string(),
            }),
        }
    }

    fn eval_definite<'a>(&self, arena: &'a Arena, root: Value<'a>) -> Result<Value<'a>, PathError> {
        if self.keys_only {
            if let Some(found) = select_keys(&self.steps, root) {
                return Ok(found);
            }
        }
        select_definite(arena, &self.steps, root).map_err(|(kind, at, node)| self.error(kind, at, node))
    }

    /// Builds the error for a miss at step `at`, with Jayway's text.
    fn error(&self, kind: PathErrorKind, at: usize, node: Value<'_>) -> PathError {
        let prefix = |upto: usize| {
            let mut s = String::from("$");
            for step in &self.steps[..upto] {
                step.write_fragment(&mut s);
            }
            s
        };
        let detail = match kind {
            PathErrorKind::NoResults => {
                format!("No results for path: {}", prefix(self.steps.len()))
            }
            PathErrorKind::MissingProperty => {
                format!("Missing property in path {}", prefix(at + 1))
            }
            PathErrorKind::NotAnObject => {
                let mut fragment = String::new();
                self.steps[at].write_fragment(&mut fragment);
                format!(
                    "Expected to find an object with property {fragment} in path {} but found '{}'. \
                     This is not a json object according to the JsonProvider: \
                     'com.jayway.jsonpath.spi.json.JacksonJsonNodeJsonProvider'.",
                    prefix(at),
                    jackson_class(node)
                )
            }
            PathErrorKind::NullArray => format!("The path {} is null", prefix(at)),
            PathErrorKind::NotAnArray => {
                let mut rest = String::new();
                for step in &self.steps[at..] {
                    step.write_fragment(&mut rest);
                }
                format!(
                    "Filter: {rest} can only be applied to arrays. Current context is: {}",
                    node.to_json_string()
                )
            }
            PathErrorKind::UndefinedVariable | PathErrorKind::TooMuch => String::new(),
            PathErrorKind::MultiPropertyNotLeaf => {
                format!("Multi properties can only be used as path leafs: {}", prefix(at + 1))
            }
        };
        PathError {
            kind,
            path: self.text.to_string(),
            detail,
        }
    }

    /// `ResultPath`: returns `root` with `value` placed at this (reference) path, creating
    /// intervening objects and sharing everything it does not change.
    ///
    /// Fails with [`REFERENCE_PATH_CONFLICT`] and the cause `Unable to apply ReferencePath
    /// <path> to input <input JSON>` (no state prefix; both as observed on AWS, which does not
    /// raise the spec's `States.ResultPathMatchFailure` here) when a member is needed of
    /// something that is not an object, an index is out of range or not applied to an array,
    /// or the path is not an input reference path.
    pub fn set<'a>(&'a self, arena: &'a Arena, root: Value<'a>, value: Value<'a>) -> Result<Value<'a>, EvalError> {
        if self.root != Root::Input {
            return Err(self.match_failure(root));
        }
        // One member of an object (`$.result`), the most common: set right here.
        if let ([Step::Key(key)], Value::Object(..)) = (&*self.steps, root) {
            return Ok(with_member(arena, root, key, value));
        }
        set_in(arena, Some(root), &self.steps, value).ok_or_else(|| self.match_failure(root))
    }

    fn match_failure(&self, root: Value<'_>) -> EvalError {
        EvalError::bare(
            REFERENCE_PATH_CONFLICT,
            format!("Unable to apply ReferencePath {} to input {root}", self.text),
        )
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The Jackson node class Jayway names when a member is asked of a non-object.
fn jackson_class(v: Value<'_>) -> &'static str {
    use crate::value::Number;
    match v {
        Value::Null => "com.fasterxml.jackson.databind.node.NullNode",
        Value::Bool(_) => "com.fasterxml.jackson.databind.node.BooleanNode",
        Value::Number(Number::Int(i)) if i32::try_from(i).is_ok() => "com.fasterxml.jackson.databind.node.IntNode",
        Value::Number(Number::Int(_)) => "com.fasterxml.jackson.databind.node.LongNode",
        Value::Number(Number::Float(_)) => "com.fasterxml.jackson.databind.node.DoubleNode",
        Value::String(_) => "com.fasterxml.jackson.databind.node.TextNode",
        Value::Array(_, _) => "com.fasterxml.jackson.databind.node.ArrayNode",
        Value::Object(_, _) => "com.fasterxml.jackson.databind.node.ObjectNode",
    }
}

/// The common case of a definite path, member names only (`$.a.b`), found: a tight loop.
/// `None` for anything else (a miss, an index, ...), which [`select_definite`] then handles.
#[inline]
fn select_keys<'a>(steps: &[Step], root: Value<'a>) -> Option<Value<'a>> {
    let mut node = root;
    for step in steps {
        match (step, node) {
            (Step::Key(key), Value::Object(members, _)) => node = members.iter().find(|(k, _)| key_eq(k, key))?.1,
            _ => return None,
        }
    }
    Some(node)
}

/// Walks definite `steps` from `root`: the value selected, or why and at which step (and on
/// which node) the walk stopped, as Jayway decides it.
fn select_definite<'a>(
    arena: &'a Arena,
    steps: &[Step],
    root: Value<'a>,
) -> Result<Value<'a>, (PathErrorKind, usize, Value<'a>)> {
    let mut node = root;
    let last = steps.len().wrapping_sub(1);
    for (i, step) in steps.iter().enumerate() {
        let miss = |kind| Err((kind, i, node));
        node = match (step, node) {
            (Step::Key(key), Value::Object(members, _)) => match members.iter().find(|(k, _)| key_eq(k, key)) {
                Some((_, v)) => *v,
                None if i == last => return miss(PathErrorKind::NoResults),
                None => return miss(PathErrorKind::MissingProperty),
            },
            (Step::Keys(_), Value::Object(_, _)) if i != last => return miss(PathErrorKind::MultiPropertyNotLeaf),
            (Step::Keys(keys), Value::Object(members, _)) => merge_keys(arena, members, keys),
            (Step::Key(_) | Step::Keys(_), _) => return miss(PathErrorKind::NotAnObject),
            (Step::Index(index), Value::Array(items, _)) => match resolve_index(*index, items.len()) {
                Some(at) => items[at],
                None => return miss(PathErrorKind::NoResults),
            },
            (Step::Index(_), Value::Null) => return miss(PathErrorKind::NullArray),
            (Step::Index(_), _) => return miss(PathErrorKind::NotAnArray),
            // Never in a definite path.
            _ => return miss(PathErrorKind::NoResults),
        };
    }
    Ok(node)
}

/// `index` resolved against an array of `len` elements (negative counts from the end).
#[inline]
fn resolve_index(index: i64, len: usize) -> Option<usize> {
    let len = i64::try_from(len).ok()?;
    let at = if index < 0 { len + index } else { index };
    if (0..len).contains(&at) {
        usize::try_from(at).ok()
    } else {
        None
    }
}

/// The members named in `keys` that `members` has, as a new object (Jayway's multi-property
/// leaf).
fn merge_keys<'a>(arena: &'a Arena, members: &'a [Member<'a>], keys: &[Box<str>]) -> Value<'a> {
    let mut out = BumpVec::with_capacity_in(keys.len(), arena);
    for key in keys {
        if let Some(m) = members.iter().find(|(k, _)| *k == &**key) {
            if !out.iter().any(|(k, _): &Member<'a>| *k == m.0) {
                out.push(*m);
            }
        }
    }
    Value::object(out.into_bump_slice())
}

/// Applies `steps` to `node`, pushing every match to `out`. Misses are skipped (indefinite
/// paths never fail). `doc` is the root document (`$` inside filters).
fn walk<'a>(arena: &'a Arena, steps: &[Step], node: Value<'a>, doc: Value<'a>, out: &mut Found<'a>) {
    if !out.visit() {
        return;
    }
    let Some((step, rest)) = steps.split_first() else {
        out.push(node);
        return;
    };
    match step {
        Step::Key(key) => {
            if let Some(v) = node.get(key) {
                walk(arena, rest, v, doc, out);
            }
        }
        Step::Keys(keys) => {
            // Not last: AWS fails such a path; here it selects nothing.
            if let (Value::Object(members, _), true) = (node, rest.is_empty()) {
                out.push(merge_keys(arena, members, keys));
            }
        }
        Step::Index(index) => {
            if let Value::Array(items, _) = node {
                if let Some(at) = resolve_index(*index, items.len()) {
                    walk(arena, rest, items[at], doc, out);
                }
            }
        }
        Step::Indexes(list) => {
            if let Value::Array(items, _) = node {
                for index in list.iter() {
                    if let Some(at) = resolve_index(*index, items.len()) {
                        walk(arena, rest, items[at], doc, out);
                    }
                }
            }
        }
        Step::Slice { from, to } => {
            if let Value::Array(items, _) = node {
                for index in slice_indexes(*from, *to, items.len()) {
                    if let Some(at) = resolve_index(index, items.len()) {
                        walk(arena, rest, items[at], doc, out);
                    }
                }
            }
        }
        Step::Wildcard => match node {
            Value::Object(members, _) => {
                for (_, v) in members.iter() {
                    walk(arena, rest, *v, doc, out);
                }
            }
            Value::Array(items, _) => {
                for v in items.iter() {
                    walk(arena, rest, *v, doc, out);
                }
            }
            _ => {}
        },
        Step::Scan => scan(arena, rest, node, doc, out),
        Step::Filter(filter) => match node {
            Value::Object(_, _) if filter.matches_counting(arena, node, doc, &mut out.visits) => {
                walk(arena, rest, node, doc, out)
            }
            Value::Array(items, _) => {
                for v in items.iter() {
                    if filter.matches_counting(arena, *v, doc, &mut out.visits) {
                        walk(arena, rest, *v, doc, out);
                    }
                }
            }
            _ => {}
        },
    }
}

/// The indexes Jayway visits for a slice of an array of `len` elements (before resolving
/// negative ones): `[a:]` and `[:b]` count negative bounds from the end, `[a:b]` takes them
/// as written.
fn slice_indexes(from: Option<i64>, to: Option<i64>, len: usize) -> std::ops::Range<i64> {
    let len = i64::try_from(len).unwrap_or(i64::MAX);
    if len == 0 {
        return 0..0;
    }
    match (from, to) {
        (Some(f), None) => {
            let f = if f < 0 { (len + f).max(0) } else { f };
            f.min(len)..len
        }
        (None, Some(t)) => {
            let t = if t < 0 { len + t } else { t };
            0..t.clamp(0, len)
        }
        (Some(f), Some(t)) => {
            let t = t.min(len);
            if f >= t {
                0..0
            } else {
                f..t
            }
        }
        (None, None) => 0..len,
    }
}

/// `..` followed by `steps`: Jayway's deep scan. Each object or array, from `node` down in
/// document order, that the next step applies to is given to it.
fn scan<'a>(arena: &'a Arena, steps: &[Step], node: Value<'a>, doc: Value<'a>, out: &mut Found<'a>) {
    if !out.visit() {
        return;
    }
    let Some((next, after)) = steps.split_first() else {
        return;
    };
    match node {
        Value::Object(members, _) => {
            let applies = match next {
                Step::Key(k) => node.get(k).is_some(),
                Step::Keys(keys) => keys.iter().all(|k| node.get(k).is_some()),
                Step::Wildcard => true,
                Step::Filter(f) => f.matches_counting(arena, node, doc, &mut out.visits),
                _ => false,
            };
            if applies {
                walk(arena, steps, node, doc, out);
            }
            for (_, v) in members.iter() {
                scan(arena, steps, *v, doc, out);
            }
        }
        Value::Array(items, _) => {
            let applies = match next {
                Step::Index(_) | Step::Indexes(_) | Step::Slice { .. } | Step::Wildcard => true,
                Step::Filter(f) => f.matches_counting(arena, node, doc, &mut out.visits),
                _ => false,
            };
            if applies {
                if after.is_empty() {
                    walk(arena, steps, node, doc, out);
                } else {
                    // Jayway applies the step after the next one to every element here.
                    for v in items.iter() {
                        walk(arena, after, *v, doc, out);
                    }
                }
            }
            for v in items.iter() {
                scan(arena, steps, *v, doc, out);
            }
        }
        _ => {}
    }
}

/// Sets `value` at `steps` below `node` (`None`: absent), sharing what is unchanged.
fn set_in<'a>(arena: &'a Arena, node: Option<Value<'a>>, steps: &'a [Step], value: Value<'a>) -> Option<Value<'a>> {
    let Some((step, rest)) = steps.split_first() else {
        return Some(value);
    };
    match step {
        Step::Key(key) => {
            let (members, bound) = match node {
                None => (&[][..], SizeBound::EMPTY),
                Some(Value::Object(members, bound)) => (members, bound),
                Some(_) => return None,
            };
            let at = find_member(members, key);
            let child = set_in(arena, at.map(|i| members[i].1), rest, value)?;
            Some(with_member_at(arena, members, bound, at, key, child))
        }
        Step::Index(index) => {
            let Some(Value::Array(items, _)) = node else {
                return None;
            };
            let at = resolve_index(*index, items.len())?;
            let child = set_in(arena, Some(items[at]), rest, value)?;
            let copy = arena.alloc_slice_copy(items);
            copy[at] = child;
            Some(Value::array(copy))
        }
        _ => None,
    }
}

/// Splits `$`, `$$` or `$name` off the front of a path.
fn split_root(text: &str) -> Result<(Root, &str), PathSyntaxError> {
    let Some(rest) = text.strip_prefix('$') else {
        return Err(PathSyntaxError {
            message: format!("Path must start with '$': {text}"),
        });
    };
    if let Some(rest) = rest.strip_prefix('$') {
        return Ok((Root::Context, rest));
    }
    let end = rest.find(['.', '[']).unwrap_or(rest.len());
    if end == 0 {
        return Ok((Root::Input, rest));
    }
    let name = &rest[..end];
    if !is_variable_name(name) {
        return Err(PathSyntaxError {
            message: format!("Invalid variable name '{name}' in path: {text}"),
        });
    }
    Ok((Root::Variable(name.into()), &rest[end..]))
}

/// Whether `name` is a variable name: a Unicode identifier (`_` allowed first).
fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_alphabetic() || c == '_') && chars.all(|c| c.is_alphanumeric() || c == '_')
}

/// A recursive-descent parser over path text, shared with filter expressions.
pub(crate) struct Parser<'t> {
    text: &'t str,
    pos: usize,
    /// Inside a filter: dot-notation names also stop at whitespace and operator characters.
    pub(crate) in_filter: bool,
    /// How deeply filter expressions are nested here (bounded, so no input overflows the
    /// stack).
    pub(crate) depth: u32,
    /// The whole path, which messages quote.
    origin: &'t str,
    /// Where `text` starts in `origin`.
    offset: usize,
}

impl<'t> Parser<'t> {
    pub(crate) fn new(text: &'t str, in_filter: bool) -> Parser<'t> {
        Parser {
            text,
            pos: 0,
            in_filter,
            depth: 0,
            origin: text,
            offset: 0,
        }
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.text.len()
    }

    pub(crate) fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    pub(crate) fn rest(&self) -> &'t str {
        &self.text[self.pos..]
    }

    pub(crate) fn bump(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.text.len());
    }

    pub(crate) fn error(&self, what: &str) -> PathSyntaxError {
        PathSyntaxError {
            message: format!("{what} at position {} in '{}'", self.offset + self.pos, self.origin),
        }
    }

    pub(crate) fn skip_ws(&mut self) {
        while let Some(c) = self.peek() {
            if !matches!(c, ' ' | '\t' | '\n' | '\r') {
                break;
            }
            self.bump(1);
        }
    }

    /// Reads path tokens until the text (or, in a filter, the path operand) ends.
    pub(crate) fn steps(&mut self) -> Result<Vec<Step>, PathSyntaxError> {
        let mut steps = Vec::new();
        loop {
            if steps.len() > MAX_STEPS {
                return Err(self.error(&format!("the path has more than {MAX_STEPS} steps")));
            }
            match self.peek() {
                Some('.') => {
                    if self.rest().starts_with("..") {
                        self.bump(2);
                        steps.push(Step::Scan);
                        match self.peek() {
                            Some('[') => continue,
                            Some('.') | None => return Err(self.error("path must not end with '..'")),
                            _ => {}
                        }
                    } else {
                        self.bump(1);
                    }
                    match self.peek() {
                        None => return Err(self.error("path must not end with '.'")),
                        Some('*') => {
                            self.bump(1);
                            steps.push(Step::Wildcard);
                        }
                        Some('.') => return Err(self.error("expected a name")),
                        // `$.[0]`, `$.a.['b c']`: Jayway reads the bracket after the dot
                        Some('[') => {}
                        Some(_) => steps.push(Step::Key(self.dot_name()?.into())),
                    }
                }
                Some('[') => steps.push(self.bracket()?),
                _ => return Ok(steps),
            }
        }
    }

    /// A dot-notation member name, with backslash escapes.
    fn dot_name(&mut self) -> Result<String, PathSyntaxError> {
        let mut name = String::new();
        while let Some(c) = self.peek() {
            match c {
                '.' | '[' => break,
                ' ' | '\t' | '\n' | '\r' if !self.in_filter => {
                    return Err(self.error("use bracket notation ['my prop'] for names with blanks"))
                }
                ' ' | '\t' | '\n' | '\r' | ')' | ']' | '=' | '<' | '>' | '!' | '&' | '|' | ',' if self.in_filter => {
                    break
                }
                '(' => return Err(self.error("functions are not supported")),
                '\\' => {
                    self.bump(1);
                    match self.peek() {
                        None => return Err(self.error("dangling escape")),
                        Some('u') => {
                            self.bump(1);
                            name.push(self.unicode_escape()?);
                        }
                        Some(e) => {
                            name.push(e);
                            self.bump(e.len_utf8());
                        }
                    }
                }
                c => {
                    name.push(c);
                    self.bump(c.len_utf8());
                }
            }
        }
        if name.is_empty() {
            return Err(self.error("expected a name"));
        }
        Ok(name)
    }

    /// The four hex digits after `\u` (and a low surrogate's `\uXXXX` after a high one).
    fn unicode_escape(&mut self) -> Result<char, PathSyntaxError> {
        let first = self.hex4()?;
        if (0xD800..0xDC00).contains(&first) && self.rest().starts_with("\\u") {
            self.bump(2);
            let second = self.hex4()?;
            let c = 0x10000 + ((first - 0xD800) << 10) + (second.wrapping_sub(0xDC00) & 0x3FF);
            return char::from_u32(c).ok_or_else(|| self.error("invalid unicode escape"));
        }
        char::from_u32(first).ok_or_else(|| self.error("invalid unicode escape"))
    }

    fn hex4(&mut self) -> Result<u32, PathSyntaxError> {
        let digits = self
            .rest()
            .get(..4)
            .ok_or_else(|| self.error("invalid unicode escape"))?;
        let v = u32::from_str_radix(digits, 16).map_err(|_| self.error("invalid unicode escape"))?;
        self.bump(4);
        Ok(v)
    }

    /// A `[...]` token.
    fn bracket(&mut self) -> Result<Step, PathSyntaxError> {
        self.bump(1);
        self.skip_ws();
        let step = match self.peek() {
            Some(q @ ('\'' | '"')) => {
                let mut keys: Vec<Box<str>> = Vec::new();
                loop {
                    keys.push(self.quoted(q)?.into());
                    self.skip_ws();
                    if self.peek() == Some(',') {
                        self.bump(1);
                        self.skip_ws();
                        if self.peek() != Some(q) {
                            return Err(self.error("expected a quoted name"));
                        }
                    } else {
                        break;
                    }
                }
                if keys.len() == 1 {
                    Step::Key(keys.pop().unwrap_or_default())
                } else {
                    Step::Keys(keys.into_boxed_slice())
                }
            }
            Some('*') => {
                self.bump(1);
                Step::Wildcard
            }
            Some('?') => {
                self.bump(1);
                self.skip_ws();
                if self.peek() != Some('(') {
                    return Err(self.error("expected '(' after '?'"));
                }
                self.bump(1);
                let f = Filter::parse(self)?;
                self.skip_ws();
                if self.peek() != Some(')') {
                    return Err(self.error("expected ')' to close the filter"));
                }
                self.bump(1);
                Step::Filter(Box::new(f))
            }
            Some(c) if c.is_ascii_digit() || c == '-' || c == ':' => self.indexes()?,
            _ => return Err(self.error("expected ?, ', \", 0-9 or *")),
        };
        self.skip_ws();
        if self.peek() != Some(']') {
            return Err(self.error("expected ']'"));
        }
        self.bump(1);
        Ok(step)
    }

    /// A quoted name inside brackets: `\<quote>` and `\\` are escapes, any other backslash
    /// is kept as written (as AWS does).
    pub(crate) fn quoted(&mut self, q: char) -> Result<String, PathSyntaxError> {
        self.bump(1);
        let mut name = String::new();
        loop {
            match self.peek() {
                None => return Err(self.error("name not closed")),
                Some('\\') => {
                    self.bump(1);
                    match self.peek() {
                        Some(c) if c == q || c == '\\' => {
                            name.push(c);
                            self.bump(1);
                        }
                        _ => name.push('\\'),
                    }
                }
                Some(c) if c == q => {
                    self.bump(1);
                    return Ok(name);
                }
                Some(c) => {
                    name.push(c);
                    self.bump(c.len_utf8());
                }
            }
        }
    }

    /// `[n]`, `[n,m]`, `[a:b]`.
    fn indexes(&mut self) -> Result<Step, PathSyntaxError> {
        let end = self.rest().find(']').ok_or_else(|| self.error("expected ']'"))?;
        let body = &self.rest()[..end];
        if !body
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | ':' | ',' | ' '))
        {
            return Err(self.error("invalid array index"));
        }
        let int = |s: &str| -> Result<Option<i64>, PathSyntaxError> {
            let s = s.trim();
            if s.is_empty() {
                return Ok(None);
            }
            s.parse::<i32>()
                .map(|v| Some(i64::from(v)))
                .map_err(|_| self.error("invalid array index"))
        };
        let step = if body.contains(':') {
            let mut parts = body.split(':');
            let from = int(parts.next().unwrap_or(""))?;
            let to = int(parts.next().unwrap_or(""))?;
            if from.is_none() && to.is_none() {
                return Err(self.error("invalid slice"));
            }
            Step::Slice { from, to }
        } else {
            let mut list = Vec::new();
            for part in body.split(',') {
                list.push(int(part)?.ok_or_else(|| self.error("empty array index"))?);
            }
            if list.len() == 1 {
                Step::Index(list[0])
            } else {
                Step::Indexes(list.into_boxed_slice())
            }
        };
        self.bump(end);
        Ok(step)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scope::Variables;
    use crate::value::parse;

    fn eval(path: &str, input: &str) -> Result<String, String> {
        let arena = Arena::new();
        let text = arena.alloc_str(input);
        let v = parse(&arena, text).unwrap();
        let p = Path::parse(path).map_err(|e| e.message)?;
        p.eval(&arena, &Scope::of_input(v))
            .map(|v| v.to_json_string())
            .map_err(|e| e.to_string())
    }

    const STORE: &str = r#"{"store":{"book":[
        {"category":"reference","author":"Nigel Rees","title":"Sayings","price":8.95},
        {"category":"fiction","author":"Evelyn Waugh","title":"Sword","price":12.99},
        {"category":"fiction","author":"Herman Melville","title":"Moby Dick","isbn":"0-553","price":8.99},
        {"category":"fiction","author":"J. R. R. Tolkien","title":"LOTR","isbn":"0-395","price":22.99}],
        "bicycle":{"color":"red","price":19.95}},"expensive":10}"#;

    #[test]
    fn definite_paths() {
        assert_eq!(eval("$", "[1]").unwrap(), "[1]");
        assert_eq!(eval("$.a.b", r#"{"a":{"b":2}}"#).unwrap(), "2");
        assert_eq!(eval("$['a']['b']", r#"{"a":{"b":2}}"#).unwrap(), "2");
        assert_eq!(eval("$[\"a\"]", r#"{"a":1}"#).unwrap(), "1");
        assert_eq!(eval("$.a[1]", r#"{"a":[1,2,3]}"#).unwrap(), "2");
        assert_eq!(eval("$.a[-1]", r#"{"a":[1,2,3]}"#).unwrap(), "3");
        assert_eq!(eval("$[0][1]", "[[1,2]]").unwrap(), "2");
        assert_eq!(
            eval("$['a','c']", r#"{"a":1,"b":2,"c":3}"#).unwrap(),
            r#"{"a":1,"c":3}"#
        );
    }

    #[test]
    fn jayway_error_texts() {
        assert_eq!(
            eval("$.NoSuchInputPath", r#"{"int-literal":0}"#).unwrap_err(),
            "Invalid path '$.NoSuchInputPath' : No results for path: $['NoSuchInputPath']"
        );
        assert_eq!(
            eval("$.no.such.result.path", "{}").unwrap_err(),
            "Invalid path '$.no.such.result.path' : Missing property in path $['no']"
        );
        assert_eq!(
            eval("$.a.b", r#"{"a":{}}"#).unwrap_err(),
            "Invalid path '$.a.b' : No results for path: $['a']['b']"
        );
        assert_eq!(
            eval("$.a[5]", r#"{"a":[1]}"#).unwrap_err(),
            "Invalid path '$.a[5]' : No results for path: $['a'][5]"
        );
        assert_eq!(
            eval("$.a[0]", r#"{"a":null}"#).unwrap_err(),
            "Invalid path '$.a[0]' : The path $['a'] is null"
        );
        assert_eq!(
            eval("$.a[0].b", r#"{"a":{"x":1}}"#).unwrap_err(),
            "Invalid path '$.a[0].b' : Filter: [0]['b'] can only be applied to arrays. Current context is: {\"x\":1}"
        );
        assert!(eval("$.a.b", r#"{"a":"s"}"#)
            .unwrap_err()
            .contains("Expected to find an object with property ['b'] in path $['a'] but found 'com.fasterxml.jackson.databind.node.TextNode'"));
        assert_eq!(
            eval("$['it''s']", "{}").unwrap_err(),
            "expected ']' at position 6 in '$['it''s']'"
        );
        assert_eq!(
            eval("$['it\\'s']", "{}").unwrap_err(),
            "Invalid path '$['it\\'s']' : No results for path: $['it\\'s']"
        );
    }

    #[test]
    fn indefinite_paths() {
        assert_eq!(
            eval("$.store.book[*].author", STORE).unwrap(),
            r#"["Nigel Rees","Evelyn Waugh","Herman Melville","J. R. R. Tolkien"]"#
        );
        assert_eq!(
            eval("$..author", STORE).unwrap(),
            r#"["Nigel Rees","Evelyn Waugh","Herman Melville","J. R. R. Tolkien"]"#
        );
        assert_eq!(
            eval("$.store.*", STORE).unwrap().len(),
            eval("$.store", STORE).unwrap().len() - "{\"book\":,\"bicycle\":}".len() + 3
        );
        assert_eq!(eval("$.store..price", STORE).unwrap(), "[8.95,12.99,8.99,22.99,19.95]");
        assert_eq!(eval("$..book[2].title", STORE).unwrap(), r#"["Moby Dick"]"#);
        assert_eq!(eval("$..book[-1:].title", STORE).unwrap(), r#"["LOTR"]"#);
        assert_eq!(eval("$..book[0,1].title", STORE).unwrap(), r#"["Sayings","Sword"]"#);
        assert_eq!(eval("$..book[:2].title", STORE).unwrap(), r#"["Sayings","Sword"]"#);
        assert_eq!(eval("$..book[1:2].title", STORE).unwrap(), r#"["Sword"]"#);
        assert_eq!(
            eval("$..book[?(@.isbn)].title", STORE).unwrap(),
            r#"["Moby Dick","LOTR"]"#
        );
        assert_eq!(
            eval("$.store.book[?(@.price < 10)].title", STORE).unwrap(),
            r#"["Sayings","Moby Dick"]"#
        );
        assert_eq!(
            eval("$..book[?(@.price <= $['expensive'])].title", STORE).unwrap(),
            r#"["Sayings","Moby Dick"]"#
        );
        assert_eq!(
            eval("$..book[?(@.author =~ /.*REES/i)].title", STORE).unwrap(),
            r#"["Sayings"]"#
        );
        assert_eq!(eval("$..*", r#"{"a":{"b":1}}"#).unwrap(), r#"[{"b":1},1]"#);
        assert_eq!(eval("$.vals[-3:]", r#"{"vals":[1,2,3,4]}"#).unwrap(), "[2,3,4]");
        assert_eq!(eval("$.vals[1:3:9]", r#"{"vals":[1,2,3,4]}"#).unwrap(), "[2,3]");
    }

    #[test]
    fn indefinite_misses_are_empty_arrays() {
        for p in [
            "$.item.items[1:]",
            "$.items[*]",
            "$[*]",
            "$.items[1:].itemValue",
            "$..x",
        ] {
            assert_eq!(eval(p, "{}").unwrap(), "[]", "{p}");
        }
    }

    #[test]
    fn escapes_and_spec_reference_paths() {
        assert_eq!(eval(r"$.store\.book", r#"{"store.book":1}"#).unwrap(), "1");
        assert_eq!(eval(r"$.\stor\e.boo\k", r#"{"store":{"book":2}}"#).unwrap(), "2");
        assert_eq!(eval(r"$.foo.\.bar", r#"{"foo":{".bar":3}}"#).unwrap(), "3");
        assert_eq!(
            eval(r"$.foo\@bar.baz\[\[.\?pretty", r#"{"foo@bar":{"baz[[":{"?pretty":4}}}"#).unwrap(),
            "4"
        );
        assert_eq!(eval(r"$.&Ж中.\uD800\uDF46", r#"{"&Ж中":{"𐍆":5}}"#).unwrap(), "5");
        assert_eq!(eval("$.&Ж中.𐍆", r#"{"&Ж中":{"𐍆":5}}"#).unwrap(), "5");
        for p in [
            "$.store.book",
            r"$.store\.book",
            r"$.\stor\e.boo\k",
            "$.store.book.title",
            r"$.foo.\.bar",
            r"$.foo\@bar.baz\[\[.\?pretty",
            r"$.&Ж中.\uD800\uDF46",
            "$.ledgers.branch[0].pending.count",
            "$.ledgers.branch[0]",
            "$.ledgers[0][22][315].foo",
            "$['store']['book']",
            "$['store'][0]['book']",
        ] {
            assert!(Path::parse(p).unwrap().is_reference(), "{p}");
        }
        for p in ["$.a[*]", "$..a", "$.a[0,1]", "$.a[1:]", "$.a[?(@.x)]", "$['a','b']"] {
            assert!(!Path::parse(p).unwrap().is_reference(), "{p}");
        }
        // AWS keeps a backslash before anything but the quote or a backslash.
        assert_eq!(
            eval(r#"$['Test\""Name"']"#, r#"{"Test\\\"\"Name\"":"v"}"#).unwrap(),
            "\"v\""
        );
    }

    #[test]
    fn a_dot_before_a_bracket_and_blanks_around_are_jayways() {
        let input = r#"{"a": [{"b": 1, "def ghi": 2}], "abc": {"def ghi": 3}, "x": [[{"bucket": "B", "key": "K"}]]}"#;
        for (path, expected) in [
            ("$.a.[0].b", "1"),
            ("$.abc.['def ghi']", "3"),
            ("$.a.[0].['def ghi']", "2"),
            ("$.x.[0].[*].['bucket', 'key']", "[{\"bucket\":\"B\",\"key\":\"K\"}]"),
            (" $.abc ", "{\"def ghi\":3}"),
            ("$.a[0].b \n", "1"),
        ] {
            assert_eq!(eval(path, input).as_deref(), Ok(expected), "{path}");
        }
    }

    #[test]
    fn rejects_bad_syntax() {
        for p in [
            "",
            "a",
            "$.",
            "$..",
            "$.a.",
            "$[",
            "$[]",
            "$['a'",
            "$[a]",
            "$.a b",
            "$[1:x]",
            "$.a()",
            "$.a[?(@.x >)]",
            "$.a..",
            "$[?(@.a =~ /[/)]",
            "$.[",
            "$..",
            "$.a.",
            "$. a",
        ] {
            assert!(Path::parse(p).is_err(), "{p}");
        }
    }

    #[test]
    fn roots() {
        let arena = Arena::new();
        let input = parse(&arena, r#"{"a":1}"#).unwrap();
        let context = parse(&arena, r#"{"Execution":{"Name":"n"}}"#).unwrap();
        let vars = [("answer", parse(&arena, r#"{"x":[42]}"#).unwrap())];
        let scope = Scope {
            input,
            context,
            variables: Variables {
                local: &vars,
                outer: None,
            },
        };
        let get = |p: &str| Path::parse(p).unwrap().eval(&arena, &scope).map(|v| v.to_json_string());
        assert_eq!(get("$$.Execution.Name").unwrap(), "\"n\"");
        assert_eq!(get("$$").unwrap(), context.to_json_string());
        assert_eq!(get("$answer.x[0]").unwrap(), "42");
        assert_eq!(get("$answer").unwrap(), r#"{"x":[42]}"#);
        assert_eq!(get("$.a").unwrap(), "1");
        assert_eq!(get("$nope").unwrap_err().kind, PathErrorKind::UndefinedVariable);
        assert_eq!(
            Path::parse("$answer.x").unwrap().root(),
            &Root::Variable("answer".into())
        );
    }

    #[test]
    fn set_is_persistent() {
        let arena = Arena::new();
        let input = parse(&arena, r#"{"a":{"b":1},"c":[1,2]}"#).unwrap();
        let set = |p: &str, v: Value<'_>| {
            Path::parse(p)
                .unwrap()
                .set(&arena, input, v.copy_into(&arena))
                .map(|v| v.to_json_string())
        };
        assert_eq!(set("$", Value::int(5)).unwrap(), "5");
        assert_eq!(set("$.a.b", Value::int(5)).unwrap(), r#"{"a":{"b":5},"c":[1,2]}"#);
        assert_eq!(
            set("$.x.y", Value::Null).unwrap(),
            r#"{"a":{"b":1},"c":[1,2],"x":{"y":null}}"#
        );
        assert_eq!(
            set("$.c[1]", Value::Bool(true)).unwrap(),
            r#"{"a":{"b":1},"c":[1,true]}"#
        );
        let err = set("$.a.b.c", Value::Null).unwrap_err();
        assert_eq!(err.error, "States.ReferencePathConflict");
        assert_eq!(
            err.message,
            r#"Unable to apply ReferencePath $.a.b.c to input {"a":{"b":1},"c":[1,2]}"#
        );
        let s = Value::String("input1");
        let err = Path::parse("$.someTaskResult")
            .unwrap()
            .set(&arena, s, Value::Null)
            .unwrap_err();
        assert_eq!(
            err.message,
            r#"Unable to apply ReferencePath $.someTaskResult to input "input1""#
        );
        assert!(err.bare);
        assert!(set("$.c[7]", Value::Null).is_err());
        // The untouched member is shared, not copied.
        let path = Path::parse("$.x").unwrap();
        let out = path.set(&arena, input, Value::Null).unwrap();
        let (a0, a1) = (input.get("a").unwrap(), out.get("a").unwrap());
        assert!(std::ptr::eq(a0.as_object().unwrap(), a1.as_object().unwrap()));
    }
}
