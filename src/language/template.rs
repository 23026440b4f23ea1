//! Payload templates (`Parameters`, `ResultSelector`, `ItemSelector`, JSONPath `Assign`):
//! compiled once into a tree whose literal parts are stored constants, evaluated per state.
//!
//! A member whose key ends in `.$` is renamed (the suffix dropped) and takes its value from a
//! path (`$...`, `$$...`, `$var...`) or an intrinsic call. This applies in objects at any
//! depth, arrays included. A subtree without such members is one stored constant, handed out
//! without copying.

use std::fmt;

use bumpalo::collections::Vec as BumpVec;

use crate::consts::Constants;
use crate::error::EvalError;
use crate::intrinsics::{Intrinsic, IntrinsicError};
use crate::path::{Path, PathError, PathErrorKind, Root};
use crate::scope::Scope;
use crate::value::{Arena, Member, SizeBound, Value};

/// A compiled payload template.
#[derive(Clone, Debug)]
pub struct Template {
    root: Node,
}

/// One node of a compiled template.
#[derive(Clone, Debug)]
enum Node {
    /// A subtree with nothing to evaluate: one stored constant.
    Const(Value<'static>),
    /// An object with at least one member to evaluate (keys already renamed).
    Object {
        /// The members.
        members: Box<[(&'static str, Node)]>,
        /// The keys' part of the object's [`SizeBound`] (computed once).
        keys_bound: u64,
        /// The same members as flat leaves when every one is a constant or a `$.a.b` path
        /// (the usual `Parameters`).
        record: Option<Record>,
    },
    /// An array with at least one element to evaluate.
    Array(Box<[Node]>),
    /// `"key.$": "$..."`.
    Path {
        /// The path.
        path: Path,
        /// The key as written (with `.$`), for messages.
        field: &'static str,
    },
    /// `"key.$": "States.X(...)"`.
    Call {
        /// The call.
        call: Intrinsic,
        /// The key as written (with `.$`), for messages.
        field: &'static str,
    },
}

/// An object template of constants and member-name paths from the input, evaluated by
/// [`eval_record`]: the object is copied whole from `members`, then the paths' values are
/// written over their placeholders.
#[derive(Clone, Debug)]
struct Record {
    /// The members in order: keys with their constants, `null` where a path's value goes.
    members: Box<[Member<'static>]>,
    /// The paths, in order.
    paths: Box<[RecordPath]>,
    /// The part of the object's [`SizeBound`] known before evaluation: the keys' and the
    /// constants'.
    fixed_bound: u64,
    /// The depth of the deepest constant.
    fixed_depth: usize,
}

/// Why a template does not compile. `message` is AWS's validation text for the problem,
/// such as `The value for the field 'parsed.$' must be a valid JSONPath or a valid intrinsic
/// function call` (AWS reports it at the template field itself, e.g.
/// `/States/S/Parameters`); `detail` says more, for people.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateError {
    /// The key as written, such as `parsed.$`.
    pub field: String,
    /// JSON Pointer of the offending member, relative to the template (`/a/0/parsed.$`).
    pub pointer: String,
    /// AWS's validation message.
    pub message: String,
    /// The underlying syntax error, if any.
    pub detail: Option<String>,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(d) = &self.detail {
            write!(f, " ({d})")?;
        }
        Ok(())
    }
}

impl std::error::Error for TemplateError {}

/// A field that takes "a reference path or an intrinsic call" (Fail `ErrorPath` and
/// `CausePath`).
#[derive(Clone, Debug)]
pub enum PathOrCall {
    /// A path.
    Path(Path),
    /// An intrinsic function call.
    Call(Intrinsic),
}

impl PathOrCall {
    /// Parses `text` as a path (when it starts with `$`) or an intrinsic call. The error's
    /// `message` is the syntax problem (the validator words its own diagnostic).
    pub fn parse(text: &str, consts: &mut Constants) -> Result<PathOrCall, TemplateError> {
        let parsed = if text.starts_with('$') {
            Path::parse(text).map(PathOrCall::Path).map_err(|e| e.message)
        } else {
            Intrinsic::parse(text, consts)
                .map(PathOrCall::Call)
                .map_err(|e| e.message)
        };
        parsed.map_err(|message| TemplateError {
            field: String::new(),
            pointer: String::new(),
            message,
            detail: None,
        })
    }

    /// The text as written.
    pub fn text(&self) -> &str {
        match self {
            PathOrCall::Path(p) => p.text(),
            PathOrCall::Call(c) => c.text(),
        }
    }

    /// Evaluates the path or the call. A path miss is `States.Runtime` with the InputPath
    /// wording (`Invalid path '$.x' : No results for path: $['x']`); use
    /// [`PathOrCall::eval_detailed`] to word it differently.
    pub fn eval<'a>(&self, arena: &'a Arena, scope: &Scope<'a>) -> Result<Value<'a>, EvalError> {
        self.eval_detailed(arena, scope).map_err(EvalError::from)
    }

    /// Evaluates the path or the call; a path miss is [`IntrinsicError::Path`].
    pub fn eval_detailed<'a>(&self, arena: &'a Arena, scope: &Scope<'a>) -> Result<Value<'a>, IntrinsicError> {
        match self {
            PathOrCall::Path(p) => p.eval(arena, scope).map_err(IntrinsicError::Path),
            PathOrCall::Call(c) => c.eval(arena, scope),
        }
    }
}

impl Template {
    /// Compiles a template. Literal parts go into `consts`.
    pub fn compile(json: &serde_json::Value, consts: &mut Constants) -> Result<Template, TemplateError> {
        let mut pointer = String::new();
        let root = compile_node(json, consts, &mut pointer)?;
        Ok(Template { root })
    }

    /// Whether the template has nothing to evaluate (it always yields the same constant).
    pub fn is_const(&self) -> bool {
        matches!(self.root, Node::Const(_))
    }

    /// Evaluates the template against `scope`.
    ///
    /// A path that selects nothing fails with `States.Runtime`: `The JSONPath '<path>'
    /// specified for the field '<key>.$' could not be found in the input '<input JSON>'`; a
    /// `$` path applied to a `null` input fails with [`NULL_INPUT`] (observed on AWS).
    /// An intrinsic failure is `States.IntrinsicFailure`.
    pub fn eval<'a>(&'a self, arena: &'a Arena, scope: &Scope<'a>) -> Result<Value<'a>, EvalError> {
        eval_node(&self.root, arena, scope)
    }
}

fn field_error(field: &str, pointer: &str, detail: Option<String>) -> TemplateError {
    TemplateError {
        field: field.to_string(),
        pointer: pointer.to_string(),
        message: format!(
            "The value for the field '{field}' must be a valid JSONPath or a valid intrinsic function call"
        ),
        detail,
    }
}

/// Appends `/<token>` (JSON Pointer escaped) to `pointer`.
fn push_pointer(pointer: &mut String, token: &str) {
    pointer.push('/');
    for c in token.chars() {
        match c {
            '~' => pointer.push_str("~0"),
            '/' => pointer.push_str("~1"),
            c => pointer.push(c),
        }
    }
}

fn compile_node(json: &serde_json::Value, consts: &mut Constants, pointer: &mut String) -> Result<Node, TemplateError> {
    match json {
        serde_json::Value::Object(map) => {
            let mut members: Vec<(&'static str, Node)> = Vec::with_capacity(map.len());
            // the names so far (`a` of `a.$` too), to find one given twice in linear time
            let mut names: std::collections::HashSet<&str> = std::collections::HashSet::with_capacity(map.len());
            let mut dynamic = false;
            for (key, value) in map {
                let len = pointer.len();
                push_pointer(pointer, key);
                let (name, node) = match key.strip_suffix(".$") {
                    Some(name) => {
                        let field = consts.intern(key);
                        let serde_json::Value::String(text) = value else {
                            return Err(field_error(key, pointer, None));
                        };
                        let node = if text.starts_with('$') {
                            let path = Path::parse(text).map_err(|e| field_error(key, pointer, Some(e.message)))?;
                            Node::Path { path, field }
                        } else {
                            let call = Intrinsic::parse(text, consts)
                                .map_err(|e| field_error(key, pointer, Some(e.message)))?;
                            Node::Call { call, field }
                        };
                        (name, node)
                    }
                    None => (key.as_str(), compile_node(value, consts, pointer)?),
                };
                if !names.insert(name) {
                    return Err(TemplateError {
                        field: key.clone(),
                        pointer: pointer.clone(),
                        message: format!("The field '{name}' is defined more than once"),
                        detail: None,
                    });
                }
                pointer.truncate(len);
                dynamic |= !matches!(node, Node::Const(_));
                members.push((consts.intern(name), node));
            }
            if dynamic {
                Ok(Node::Object {
                    keys_bound: SizeBound::keys_part(members.iter().map(|(k, _)| *k)),
                    record: Record::of(&members, consts),
                    members: members.into_boxed_slice(),
                })
            } else {
                let values: Vec<Member<'static>> = members
                    .into_iter()
                    .map(|(k, n)| match n {
                        Node::Const(v) => (k, v),
                        _ => (k, Value::Null),
                    })
                    .collect();
                Ok(Node::Const(consts.object(&values)))
            }
        }
        serde_json::Value::Array(items) => {
            let mut nodes = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let len = pointer.len();
                push_pointer(pointer, &i.to_string());
                nodes.push(compile_node(item, consts, pointer)?);
                pointer.truncate(len);
            }
            if nodes.iter().all(|n| matches!(n, Node::Const(_))) {
                let values: Vec<Value<'static>> = nodes
                    .into_iter()
                    .map(|n| match n {
                        Node::Const(v) => v,
                        _ => Value::Null,
                    })
                    .collect();
                Ok(Node::Const(consts.slice(&values)))
            } else {
                Ok(Node::Array(nodes.into_boxed_slice()))
            }
        }
        scalar => Ok(Node::Const(consts.json(scalar))),
    }
}

impl Record {
    /// `members` as flat leaves, when every one is a constant or a member-name path from
    /// the input.
    fn of(members: &[(&'static str, Node)], consts: &mut Constants) -> Option<Record> {
        let mut paths = Vec::new();
        let mut consts_bound = 0;
        let mut fixed_depth = 0;
        let members: Box<[Member<'static>]> = members
            .iter()
            .enumerate()
            .map(|(i, (key, node))| match node {
                Node::Const(v) => {
                    consts_bound += v.bound_u64();
                    fixed_depth = fixed_depth.max(v.depth());
                    Some((*key, *v))
                }
                Node::Path { path, .. } => {
                    paths.push((i, path.input_member_names()?.map(|k| consts.intern(k)).collect()));
                    Some((*key, Value::Null))
                }
                _ => None,
            })
            .collect::<Option<_>>()?;
        Some(Record {
            fixed_bound: SizeBound::keys_part(members.iter().map(|(k, _)| *k)) + consts_bound,
            fixed_depth,
            members,
            paths: paths.into_boxed_slice(),
        })
    }
}

/// AWS's cause (`States.Runtime`) when a template applies a `$` path to a `null` input.
pub const NULL_INPUT: &str = "Unable to apply Path transformation to null or empty input.";

/// AWS's cause for a template path that selects nothing.
fn not_found(path: &str, field: &str, scope: &Scope<'_>) -> EvalError {
    EvalError::runtime(format!(
        "The JSONPath '{path}' specified for the field '{field}' could not be found in the input '{}'",
        scope.input
    ))
}

fn call_error(e: IntrinsicError, field: &str, scope: &Scope<'_>) -> EvalError {
    match e {
        IntrinsicError::Path(e) if e.kind == PathErrorKind::TooMuch => e.into(),
        IntrinsicError::Path(PathError { path, .. }) => not_found(&path, field, scope),
        IntrinsicError::Failed(e) => e,
    }
}

fn eval_node<'a>(node: &'a Node, arena: &'a Arena, scope: &Scope<'a>) -> Result<Value<'a>, EvalError> {
    match node {
        Node::Const(v) => Ok(*v),
        Node::Path { path, field } => eval_path(path, field, arena, scope),
        Node::Call { call, field } => call.eval(arena, scope).map_err(|e| call_error(e, field, scope)),
        Node::Object {
            members,
            keys_bound,
            record,
        } => {
            if let (Some(record), Value::Object(..)) = (record, scope.input) {
                if let Some(value) = eval_record(record, arena, scope.input) {
                    return Ok(value);
                }
            }
            let (mut values_bound, mut values_depth) = (0, 0);
            // Members are written once, in place.
            let out = arena.alloc_slice_try_fill_with(members.len(), |i| {
                let (key, child) = &members[i];
                // Leaves without a call: most members are constants and paths.
                let value = match child {
                    Node::Const(v) => *v,
                    Node::Path { path, field } => eval_path(path, field, arena, scope)?,
                    _ => eval_node(child, arena, scope)?,
                };
                let (len, depth) = value.bounds();
                values_bound += len;
                values_depth = values_depth.max(depth as usize);
                Ok::<_, EvalError>((*key, value))
            })?;
            Ok(Value::Object(
                out,
                SizeBound::of_parts(*keys_bound, values_bound, values_depth),
            ))
        }
        Node::Array(items) => {
            let mut out = BumpVec::with_capacity_in(items.len(), arena);
            for child in items.iter() {
                out.push(eval_node(child, arena, scope)?);
            }
            Ok(Value::array(out.into_bump_slice()))
        }
    }
}

/// A path of a [`Record`]: the index of the member it fills, and the member names to follow
/// from the input (none for `$`).
type RecordPath = (usize, Box<[&'static str]>);

/// An object of constants and member-name paths from an object `input`: the constants
/// copied at once, then one tight loop over the paths; `None` when a path selects nothing
/// (the general walk then explains the miss).
#[inline]
fn eval_record<'a>(record: &'a Record, arena: &'a Arena, input: Value<'a>) -> Option<Value<'a>> {
    let (mut bound, mut depth) = (record.fixed_bound, record.fixed_depth);
    let out: &mut [Member<'a>] = arena.alloc_slice_copy(&record.members);
    for (at, names) in record.paths.iter() {
        let found = follow_members(input, names)?;
        let (len, deep) = found.bounds();
        bound += len;
        depth = depth.max(deep as usize);
        out[*at].1 = found;
    }
    Some(Value::Object(out, SizeBound::of_parts(bound, 0, depth)))
}

/// The value reached from `root` by following member `names`.
#[inline(always)]
fn follow_members<'a>(root: Value<'a>, names: &[&str]) -> Option<Value<'a>> {
    let mut node = root;
    for name in names {
        node = node.get(name)?;
    }
    Some(node)
}

/// A `.$` path: the member names of an object input looked up at once, anything else by
/// the general evaluation (a null input fails as AWS fails it).
#[inline(always)]
fn eval_path<'a>(path: &'a Path, field: &str, arena: &'a Arena, scope: &Scope<'a>) -> Result<Value<'a>, EvalError> {
    if let (Value::Object(..), Some(found)) = (scope.input, path.select_members_of_input(scope.input)) {
        return Ok(found);
    }
    if scope.input.is_null() && matches!(path.root(), Root::Input) {
        return Err(EvalError::runtime(NULL_INPUT));
    }
    path.eval(arena, scope).map_err(|e| match e.kind {
        PathErrorKind::TooMuch => e.into(),
        _ => not_found(path.text(), field, scope),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::names;
    use crate::value::parse;
    use serde_json::json;

    fn run(template: serde_json::Value, input: &str) -> Result<String, EvalError> {
        let mut consts = Constants::new();
        let t = Template::compile(&template, &mut consts).unwrap();
        let arena = Arena::new();
        let text = arena.alloc_str(input);
        let v = parse(&arena, text).unwrap();
        t.eval(&arena, &Scope::of_input(v)).map(|v| v.to_json_string())
    }

    #[test]
    fn renames_and_evaluates_at_any_depth() {
        assert_eq!(
            run(
                json!({"a": 1, "b.$": "$.x", "c": {"d.$": "States.Array($.x)", "e": "$.x"},
                       "f": [{"g.$": "$.x"}, 2]}),
                r#"{"x":5}"#
            )
            .unwrap(),
            r#"{"a":1,"b":5,"c":{"d":[5],"e":"$.x"},"f":[{"g":5},2]}"#
        );
        assert_eq!(run(json!({"item.$": "$.items[*]"}), "{}").unwrap(), r#"{"item":[]}"#);
    }

    #[test]
    fn evaluated_objects_carry_the_bound_of_their_members() {
        let mut consts = Constants::new();
        let template = json!({"a.$": "$.x", "bé\"c": {"d.$": "$.x", "e": [1, "\u{1}"]}, "f.$": "States.Array($.x)"});
        let t = Template::compile(&template, &mut consts).unwrap();
        let arena = Arena::new();
        for input in [
            r#"{"x":"\u0000\"\\"}"#,
            r#"{"x":{"y":[1.5,null,true]}}"#,
            r#"{"x":-12345678901}"#,
        ] {
            let v = t
                .eval(&arena, &Scope::of_input(parse(&arena, arena.alloc_str(input)).unwrap()))
                .unwrap();
            let members = v.as_object().unwrap();
            assert_eq!(v.bound_u64(), Value::object(members).bound_u64(), "{input}");
            assert!(v.bound_u64() >= v.to_json_string().len() as u64, "{input}");
        }
    }

    /// `node` with every object's record dropped, so that it evaluates by the general walk.
    fn without_records(node: &Node) -> Node {
        match node {
            Node::Object {
                members, keys_bound, ..
            } => Node::Object {
                members: members.iter().map(|(k, n)| (*k, without_records(n))).collect(),
                keys_bound: *keys_bound,
                record: None,
            },
            Node::Array(items) => Node::Array(items.iter().map(without_records).collect()),
            other => other.clone(),
        }
    }

    fn has_record(node: &Node) -> bool {
        match node {
            Node::Object { members, record, .. } => record.is_some() || members.iter().any(|(_, n)| has_record(n)),
            Node::Array(items) => items.iter().any(has_record),
            _ => false,
        }
    }

    #[test]
    fn records_give_what_the_general_walk_gives() {
        let mut consts = Constants::new();
        let templates = [
            json!({"id.$": "$.a", "deep.$": "$.b.c", "all.$": "$", "k": "lit", "n": [1, {"x": 2}]}),
            json!({"only.$": "$.b"}),
            json!({"miss.$": "$.b.nope", "k": 1}),
            json!({"through_scalar.$": "$.a.c"}),
            json!({"outer": {"inner.$": "$.b.c"}, "k": 1}),
            json!({"a.$": "$.a", "b": {"deep.$": "$.b"}}),
        ];
        let inputs = [
            r#"{"a":1,"b":{"c":"x\u00e9","d":[1,2]}}"#,
            r#"{"b":{"c":{"e":null}},"a":"s"}"#,
            r#"{"a":[1],"b":{}}"#,
            r#"{}"#,
            r#"null"#,
            r#"[1,2]"#,
            r#""text""#,
        ];
        let arena = Arena::new();
        for template in &templates {
            let t = Template::compile(template, &mut consts).unwrap();
            assert!(has_record(&t.root), "{template} has a record");
            let general = Template {
                root: without_records(&t.root),
            };
            for input in inputs {
                let v = parse(&arena, arena.alloc_str(input)).unwrap();
                let scope = Scope::of_input(v);
                let fast = t.eval(&arena, &scope);
                let slow = general.eval(&arena, &scope);
                match (&fast, &slow) {
                    (Ok(f), Ok(s)) => {
                        assert_eq!(f.to_json_string(), s.to_json_string(), "{template} on {input}");
                        assert_eq!(f.bound_u64(), s.bound_u64(), "{template} on {input}");
                    }
                    (Err(f), Err(s)) => assert_eq!(f, s, "{template} on {input}"),
                    _ => panic!("{template} on {input}: {fast:?} but {slow:?}"),
                }
            }
        }
        // A template with a call or a non-input path is not a record.
        for template in [
            json!({"a.$": "States.Array($.a)"}),
            json!({"a.$": "$$.Execution.Id"}),
            json!({"a.$": "$.x[0]"}),
        ] {
            let t = Template::compile(&template, &mut consts).unwrap();
            assert!(!has_record(&t.root), "{template}");
        }
    }

    #[test]
    fn literal_subtrees_are_one_constant() {
        let mut consts = Constants::new();
        let t = Template::compile(&json!({"a": {"b": [1, {"c": "x.$"}]}}), &mut consts).unwrap();
        assert!(t.is_const());
        let arena = Arena::new();
        let scope = Scope::of_input(Value::EMPTY_OBJECT);
        let (v1, v2) = (t.eval(&arena, &scope).unwrap(), t.eval(&arena, &scope).unwrap());
        assert!(std::ptr::eq(v1.as_object().unwrap(), v2.as_object().unwrap()));
        assert_eq!(arena.allocated_bytes(), 0);
        let t = Template::compile(&json!({"lit": {"k": [1, 2]}, "d.$": "$"}), &mut consts).unwrap();
        let v = t.eval(&arena, &scope).unwrap();
        let lit1 = v.get("lit").unwrap();
        let lit2 = t.eval(&arena, &scope).unwrap().get("lit").unwrap();
        assert!(std::ptr::eq(lit1.as_object().unwrap(), lit2.as_object().unwrap()));
    }

    #[test]
    fn runtime_miss_text() {
        let err = run(json!({"value.$": "$.no_such_jsonpath"}), r#"{"int-literal":0}"#).unwrap_err();
        assert_eq!(err.error, names::RUNTIME);
        assert_eq!(
            err.message,
            r#"The JSONPath '$.no_such_jsonpath' specified for the field 'value.$' could not be found in the input '{"int-literal":0}'"#
        );
        let err = run(json!({"v.$": "States.Array($.nope)"}), "{}").unwrap_err();
        assert_eq!(
            err.message,
            "The JSONPath '$.nope' specified for the field 'v.$' could not be found in the input '{}'"
        );
        let err = run(json!({"v.$": "$"}), "null").unwrap_err();
        assert_eq!((err.error.as_ref(), err.message.as_str()), (names::RUNTIME, NULL_INPUT));
        assert_eq!(run(json!({"v": 1}), "null").unwrap(), r#"{"v":1}"#);
        let err = run(json!({"v.$": "States.ArrayLength($)"}), "{}").unwrap_err();
        assert_eq!(err.error, names::INTRINSIC_FAILURE);
    }

    #[test]
    fn compile_errors() {
        let mut consts = Constants::new();
        let err = Template::compile(
            &json!({"x": {"parsed.$": "States.StringToJson('{\"text\":\"An \\\"q\\\" here\"}')"}}),
            &mut consts,
        )
        .unwrap_err();
        assert_eq!(
            err.message,
            "The value for the field 'parsed.$' must be a valid JSONPath or a valid intrinsic function call"
        );
        assert_eq!(err.pointer, "/x/parsed.$");
        for bad in [
            json!({"a.$": 1}),
            json!({"a.$": "nope"}),
            json!({"a.$": "$.a["}),
            json!({"a.$": "$.x", "a": 1}),
        ] {
            assert!(Template::compile(&bad, &mut consts).is_err(), "{bad}");
        }
    }

    #[test]
    fn path_or_call() {
        let mut consts = Constants::new();
        let arena = Arena::new();
        let input = parse(&arena, r#"{"Error":"e","Cause":"c"}"#).unwrap();
        let scope = Scope::of_input(input);
        let p = PathOrCall::parse("$.Error", &mut consts).unwrap();
        assert_eq!(p.eval(&arena, &scope).unwrap().as_str(), Some("e"));
        let c = PathOrCall::parse("States.Format('{} by {}', $.Error, $.Cause)", &mut consts).unwrap();
        assert_eq!(c.eval(&arena, &scope).unwrap().as_str(), Some("e by c"));
        assert_eq!(c.text(), "States.Format('{} by {}', $.Error, $.Cause)");
        let nope = PathOrCall::parse("$.Nope", &mut consts).unwrap();
        assert!(matches!(
            nope.eval_detailed(&arena, &scope),
            Err(IntrinsicError::Path(_))
        ));
        assert_eq!(
            nope.eval(&arena, &scope).unwrap_err().message,
            "Invalid path '$.Nope' : No results for path: $['Nope']"
        );
        assert!(PathOrCall::parse("nope", &mut consts).is_err());
    }
}
