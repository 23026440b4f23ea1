//! YAML documents read as JSON values, with the line and column of every node.
//!
//! Plain scalars resolve by the YAML 1.2 core schema (`null`, `true`/`false`, integers,
//! floats; everything else, `Yes` and `on` included, is a string); quoted and block scalars are
//! strings. CloudFormation's short-form tags become their long forms (`!Ref X` → `{"Ref": "X"}`,
//! `!GetAtt A.B` → `{"Fn::GetAtt": ["A", "B"]}`, `!Sub s` → `{"Fn::Sub": "s"}`, ...), so a
//! template reads as the JSON CloudFormation itself would see. Anchors and aliases are
//! expanded; nesting and the expanded size are bounded.

use std::collections::HashMap;

use serde_json::{Map, Number, Value as Json};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// How deep a document may nest (as serde_json's reader).
pub const MAX_DEPTH: usize = 128;

/// How many nodes a document may expand to, aliases counted at every use (a guard against
/// "billion laughs" documents).
pub const MAX_NODES: usize = 1 << 20;

/// A YAML document read as JSON, with where each node is.
#[derive(Debug)]
pub struct Document {
    /// The document's value.
    pub value: Json,
    /// The 1-based line and column of each node by its location in AWS's form (`/` for the
    /// root, `/States/A/Next` for a member: the position of its key, `/Choices[0]` for an
    /// element).
    pub positions: HashMap<String, (usize, usize)>,
}

/// A YAML document that could not be read: the message and its 1-based line and column.
#[derive(Debug, Clone, PartialEq)]
pub struct YamlError {
    /// What is wrong.
    pub message: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

impl std::fmt::Display for YamlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

impl std::error::Error for YamlError {}

/// Reads the first document of `text`.
pub fn parse(text: &str) -> Result<Document, YamlError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    let loaded = parser.load(&mut builder, false);
    if let Some(error) = builder.error.take() {
        return Err(error);
    }
    if let Err(e) = loaded {
        let mark = e.marker();
        return Err(YamlError {
            message: e.info().to_string(),
            line: mark.line(),
            column: mark.col() + 1,
        });
    }
    let value = builder.root.take().unwrap_or(Json::Null);
    Ok(Document {
        value,
        positions: builder.positions,
    })
}

/// A container being built.
enum Open {
    Sequence {
        items: Vec<Json>,
        location: String,
        anchor: usize,
        tag: Option<Tag>,
    },
    Mapping {
        members: Map<String, Json>,
        /// The key read, waiting for its value, with where it is.
        key: Option<(String, Marker)>,
        location: String,
        anchor: usize,
        tag: Option<Tag>,
    },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Open>,
    root: Option<Json>,
    positions: HashMap<String, (usize, usize)>,
    anchors: HashMap<usize, Json>,
    nodes: usize,
    done: bool,
    error: Option<YamlError>,
}

fn position(mark: Marker) -> (usize, usize) {
    (mark.line(), mark.col() + 1)
}

impl Builder {
    fn fail(&mut self, message: String, mark: Marker) {
        if self.error.is_none() {
            let (line, column) = position(mark);
            self.error = Some(YamlError { message, line, column });
        }
    }

    /// Where a node that starts at `mark` goes: its location and the position that stands
    /// for it (a member's key, else the node itself), or `None` when it is a key.
    fn next_location(&self, mark: Marker) -> Option<(String, (usize, usize))> {
        match self.stack.last() {
            None => Some(("/".to_string(), position(mark))),
            Some(Open::Sequence { items, location, .. }) => {
                Some((format!("{}[{}]", base(location), items.len()), position(mark)))
            }
            Some(Open::Mapping { key: None, .. }) => None,
            Some(Open::Mapping {
                key: Some((key, key_mark)),
                location,
                ..
            }) => Some((format!("{}/{key}", base(location)), position(*key_mark))),
        }
    }

    /// Records where the node starting at `mark` is; its location, unless it is a key.
    fn record(&mut self, mark: Marker) -> Option<String> {
        let (location, at) = self.next_location(mark)?;
        self.positions.entry(location.clone()).or_insert(at);
        Some(location)
    }

    /// Adds a finished node to its parent (or makes it the root).
    fn push_value(&mut self, value: Json, anchor: usize, mark: Marker) {
        if anchor != 0 {
            self.anchors.insert(anchor, value.clone());
        }
        match self.stack.last_mut() {
            None => {
                self.root = Some(value);
                self.done = true;
            }
            Some(Open::Sequence { items, .. }) => items.push(value),
            Some(Open::Mapping { key, members, .. }) => match key.take() {
                None => match value {
                    Json::String(k) => *key = Some((k, mark)),
                    Json::Number(n) => *key = Some((n.to_string(), mark)),
                    Json::Bool(b) => *key = Some((b.to_string(), mark)),
                    Json::Null => *key = Some(("null".to_string(), mark)),
                    _ => self.fail("a mapping key must be a scalar".to_string(), mark),
                },
                Some((k, key_mark)) => {
                    if members.contains_key(&k) {
                        self.fail(format!("duplicate key \"{k}\""), key_mark);
                        return;
                    }
                    members.insert(k, value);
                }
            },
        }
    }

    fn count_nodes(&mut self, n: usize, mark: Marker) -> bool {
        self.nodes += n;
        if self.nodes > MAX_NODES {
            self.fail(format!("the document expands to more than {MAX_NODES} nodes"), mark);
            return false;
        }
        true
    }

    fn open(&mut self, container: Open, mark: Marker) {
        if self.stack.len() >= MAX_DEPTH {
            self.fail(format!("the document nests deeper than {MAX_DEPTH} levels"), mark);
            return;
        }
        self.stack.push(container);
    }
}

/// The location prefix children add to: the root's `/` becomes empty.
fn base(location: &str) -> &str {
    if location == "/" {
        ""
    } else {
        location
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, mark: Marker) {
        if self.error.is_some() || self.done {
            return;
        }
        let is_sequence = matches!(event, Event::SequenceStart(..));
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                if !self.count_nodes(1, mark) {
                    return;
                }
                self.record(mark);
                let value = match scalar(text, style, tag.as_ref()) {
                    Ok(value) => value,
                    Err(message) => return self.fail(message, mark),
                };
                self.push_value(value, anchor, mark);
            }
            Event::Alias(anchor) => {
                let Some(value) = self.anchors.get(&anchor).cloned() else {
                    return self.fail("an alias to an unknown anchor".to_string(), mark);
                };
                if !self.count_nodes(node_count(&value), mark) {
                    return;
                }
                self.record(mark);
                self.push_value(value, 0, mark);
            }
            Event::SequenceStart(anchor, tag) | Event::MappingStart(anchor, tag) => {
                if !self.count_nodes(1, mark) {
                    return;
                }
                let Some(location) = self.record(mark) else {
                    return self.fail("a mapping key must be a scalar".to_string(), mark);
                };
                let container = if is_sequence {
                    Open::Sequence {
                        items: Vec::new(),
                        location,
                        anchor,
                        tag,
                    }
                } else {
                    Open::Mapping {
                        members: Map::new(),
                        key: None,
                        location,
                        anchor,
                        tag,
                    }
                };
                self.open(container, mark);
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(open) = self.stack.pop() else { return };
                let (value, anchor, tag) = match open {
                    Open::Sequence { items, anchor, tag, .. } => (Json::Array(items), anchor, tag),
                    Open::Mapping {
                        members, anchor, tag, ..
                    } => (Json::Object(members), anchor, tag),
                };
                let value = match tag.as_ref().and_then(long_form) {
                    Some(name) => wrap(name, value),
                    None => value,
                };
                self.push_value(value, anchor, mark);
            }
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentStart | Event::DocumentEnd => {}
        }
    }
}

/// The number of nodes in `value` (to count an alias's expansion), counting at most up to
/// just past [`MAX_NODES`].
fn node_count(value: &Json) -> usize {
    let mut count = 0;
    let mut pending = vec![value];
    while let Some(v) = pending.pop() {
        count += 1;
        if count > MAX_NODES {
            break;
        }
        match v {
            Json::Array(items) => pending.extend(items),
            Json::Object(members) => pending.extend(members.values()),
            _ => {}
        }
    }
    count
}

/// CloudFormation's long form of a short-form tag (`!Ref` → `Ref`, `!Sub` → `Fn::Sub`).
fn long_form(tag: &Tag) -> Option<&'static str> {
    if tag.handle != "!" {
        return None;
    }
    Some(match tag.suffix.as_str() {
        "Ref" => "Ref",
        "Condition" => "Condition",
        "Sub" => "Fn::Sub",
        "GetAtt" => "Fn::GetAtt",
        "Join" => "Fn::Join",
        "Select" => "Fn::Select",
        "Split" => "Fn::Split",
        "If" => "Fn::If",
        "Equals" => "Fn::Equals",
        "And" => "Fn::And",
        "Or" => "Fn::Or",
        "Not" => "Fn::Not",
        "FindInMap" => "Fn::FindInMap",
        "ImportValue" => "Fn::ImportValue",
        "Base64" => "Fn::Base64",
        "Cidr" => "Fn::Cidr",
        "GetAZs" => "Fn::GetAZs",
        "Length" => "Fn::Length",
        "ToJsonString" => "Fn::ToJsonString",
        "Transform" => "Fn::Transform",
        _ => return None,
    })
}

/// `{name: value}`; `!GetAtt A.B` as a scalar becomes `["A", "B"]`, as in its long form.
fn wrap(name: &str, value: Json) -> Json {
    let value = match (name, value) {
        ("Fn::GetAtt", Json::String(s)) => match s.split_once('.') {
            Some((resource, attribute)) => Json::Array(vec![resource.into(), attribute.into()]),
            None => Json::String(s),
        },
        (_, value) => value,
    };
    let mut members = Map::new();
    members.insert(name.to_string(), value);
    Json::Object(members)
}

/// A scalar's value: plain scalars by the YAML 1.2 core schema, others as strings; a
/// CloudFormation tag wraps it in its long form.
fn scalar(text: String, style: TScalarStyle, tag: Option<&Tag>) -> Result<Json, String> {
    if let Some(tag) = tag {
        if let Some(name) = long_form(tag) {
            return Ok(wrap(name, Json::String(text)));
        }
        if tag.handle == "!!" {
            return match tag.suffix.as_str() {
                "str" => Ok(Json::String(text)),
                "null" | "bool" | "int" | "float" => {
                    core_scalar(&text).ok_or_else(|| format!("\"{text}\" is not a valid !!{}", tag.suffix))
                }
                other => Err(format!("the tag !!{other} is not supported")),
            };
        }
        if tag.handle == "!" || tag.handle.is_empty() {
            return Err(format!("the tag !{} is not supported", tag.suffix));
        }
    }
    if style != TScalarStyle::Plain {
        return Ok(Json::String(text));
    }
    Ok(core_scalar(&text).unwrap_or(Json::String(text)))
}

/// The YAML 1.2 core schema's reading of a plain scalar, or `None` for a string. `.inf` and
/// `.nan` have no JSON form and stay strings.
fn core_scalar(text: &str) -> Option<Json> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Some(Json::Null),
        "true" | "True" | "TRUE" => return Some(Json::Bool(true)),
        "false" | "False" | "FALSE" => return Some(Json::Bool(false)),
        _ => {}
    }
    let digits = |s: &str, radix: u32| !s.is_empty() && s.chars().all(|c| c.is_digit(radix));
    if let Some(octal) = text.strip_prefix("0o") {
        return digits(octal, 8).then(|| u64::from_str_radix(octal, 8).ok().map(|n| Json::Number(n.into())))?;
    }
    if let Some(hex) = text.strip_prefix("0x") {
        return digits(hex, 16).then(|| u64::from_str_radix(hex, 16).ok().map(|n| Json::Number(n.into())))?;
    }
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    if digits(unsigned, 10) {
        let text = text.strip_prefix('+').unwrap_or(text);
        if let Ok(n) = text.parse::<i64>() {
            return Some(Json::Number(n.into()));
        }
        if let Ok(n) = text.parse::<u64>() {
            return Some(Json::Number(n.into()));
        }
        return text.parse::<f64>().ok().and_then(Number::from_f64).map(Json::Number);
    }
    if is_core_float(unsigned) {
        let text = text.strip_prefix('+').unwrap_or(text);
        return text.parse::<f64>().ok().and_then(Number::from_f64).map(Json::Number);
    }
    None
}

/// `[0-9]*(\.[0-9]*)?([eE][-+]?[0-9]+)?` with at least one digit before the exponent: the
/// core schema's float (its sign already taken off).
fn is_core_float(s: &str) -> bool {
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let (whole, fraction) = match mantissa.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (mantissa, None),
    };
    let all_digits = |t: &str| t.chars().all(|c| c.is_ascii_digit());
    let has_digit = !whole.is_empty() || fraction.is_some_and(|f| !f.is_empty());
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && all_digits(e)
    });
    has_digit
        && all_digits(whole)
        && fraction.is_none_or(all_digits)
        && exponent_ok
        && (fraction.is_some() || exponent.is_some())
}
