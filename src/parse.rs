//! Parsing a definition's JSON text into the typed [`model`](crate::model), with AWS's schema
//! diagnostics.
//!
//! [`parse_definition`] reads every field of every state type in both query languages and
//! reports all schema problems at once: text that is not JSON (`INVALID_JSON_DESCRIPTION`, with
//! a Jackson-like message), a root that is not an object, missing required fields, wrong
//! types, fields a state type (or its query language) does not support, bad enum values,
//! empty arrays, out-of-range numbers and fields that exclude each other. Rules that span
//! states (transitions, reachability, names, EXPRESS restrictions, ...) are
//! [`crate::validate`]'s. The syntax of paths, templates, intrinsic calls and JSONata
//! expressions is the compiler's.
//!
//! Locations follow AWS: `/` for the root, `/States/<name>/<field>`, array members as
//! `Choices[0]`, nested blocks as `/States/P/Branches[0]/States/<name>`.

use serde_json::{Map, Value as Json};

use crate::diagnostic::{codes, location_of, Diagnostic};
use crate::model::{
    Catcher, ChoiceRule, Comparison, Condition, FailFields, Graph, MapFields, Nullable, NumberSource, QueryLanguage,
    Retrier, State, StateKind, StateMachine, TaskFields, Transition, WaitFor,
};

type Obj = Map<String, Json>;

/// How deep Parallel/Map blocks and Choice rules may nest before the parser gives up with
/// `TOO_DEEPLY_NESTED` (keeps recursion bounded on any input).
const MAX_DEPTH: usize = 64;

/// Parses definition text into the model, or returns every schema diagnostic found.
pub fn parse_definition(text: &str) -> Result<StateMachine, Vec<Diagnostic>> {
    if text.trim_matches(|c: char| c.is_ascii_whitespace()).is_empty() {
        return Err(vec![not_an_object()]);
    }
    let value: Json = serde_json::from_str(text).map_err(|e| vec![jackson_error(text, &e)])?;
    parse_definition_value(&value)
}

/// Parses an already-parsed definition into the model, or returns every schema diagnostic.
pub fn parse_definition_value(value: &Json) -> Result<StateMachine, Vec<Diagnostic>> {
    let Some(root) = value.as_object() else {
        return Err(vec![not_an_object()]);
    };
    let mut p = Parser {
        diags: Vec::new(),
        machine_language: QueryLanguage::JsonPath,
    };
    let machine = p.machine(root);
    match machine {
        Some(m) if p.diags.is_empty() => Ok(m),
        _ => Err(p.diags),
    }
}

/// Whether a string is a JSONata expression: `{%` ... `%}`.
pub fn is_jsonata_expression(s: &str) -> bool {
    s.len() >= 4 && s.starts_with("{%") && s.ends_with("%}")
}

fn not_an_object() -> Diagnostic {
    Diagnostic::error(
        codes::SCHEMA_VALIDATION_FAILED,
        "Definition must be a valid JSON object",
        None,
    )
}

// ---------------------------------------------------------------------------------------
// Not JSON: a Jackson-like message.

/// Builds the `INVALID_JSON_DESCRIPTION` diagnostic for text serde_json rejected, worded the
/// way Jackson (which AWS uses) words its parse errors.
fn jackson_error(text: &str, err: &serde_json::Error) -> Diagnostic {
    let offset = line_col_to_offset(text, err.line(), err.column());
    let detail = err.to_string();
    let (message, end) = if err.is_eof() {
        ("Unexpected end-of-input".to_string(), text.len())
    } else {
        // Jackson reads a whole token of letters/digits before it complains about it.
        let bytes = text.as_bytes();
        let mut start = offset.min(bytes.len());
        while start > 0 && bytes[start - 1].is_ascii_alphanumeric() {
            start -= 1;
        }
        let mut end = offset.min(bytes.len());
        while end < bytes.len() && bytes[end].is_ascii_alphanumeric() {
            end += 1;
        }
        if end > start && bytes[start].is_ascii_alphabetic() {
            let token = &text[start..end];
            (
                format!(
                    "Unrecognized token '{token}': was expecting (JSON String, Number, Array, \
                     Object or token 'null', 'true' or 'false')"
                ),
                end,
            )
        } else {
            let c = text[offset.min(text.len())..].chars().next().unwrap_or(' ');
            let why = if detail.starts_with("key must be a string") {
                "was expecting double-quote to start field name"
            } else if detail.starts_with("expected `,` or `}`") {
                "was expecting comma to separate Object entries"
            } else if detail.starts_with("expected `,` or `]`") {
                "was expecting comma to separate Array entries"
            } else if detail.starts_with("expected `:`") {
                "was expecting a colon to separate field name and value"
            } else if detail.starts_with("trailing") {
                "expected end-of-input"
            } else {
                "expected a valid value (JSON String, Number, Array, Object or token 'null', \
                 'true' or 'false')"
            };
            (
                format!("Unexpected character ('{c}' (code {})): {why}", c as u32),
                offset + c.len_utf8(),
            )
        }
    };
    let (line, column) = crate::diagnostic::offset_to_line_col(text, end);
    let location = format!("[Source: {}; line: {line}, column: {column}]", source(text));
    Diagnostic::error(
        codes::INVALID_JSON_DESCRIPTION,
        format!("{message}\n at {location}"),
        Some(location),
    )
}

/// Jackson's source description: the text quoted, cut at 500 characters.
fn source(text: &str) -> String {
    const MAX: usize = 500;
    let count = text.chars().count();
    if count <= MAX {
        format!("(String)\"{text}\"")
    } else {
        let cut: String = text.chars().take(MAX).collect();
        format!("(String)\"{cut}\"[truncated {} chars]", count - MAX)
    }
}

/// Byte offset of a serde_json (1-based line, 1-based column in bytes) position.
fn line_col_to_offset(text: &str, line: usize, column: usize) -> usize {
    let mut offset = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            let mut at = (offset + column.saturating_sub(1)).min(text.len());
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            return at;
        }
        offset += l.len();
    }
    text.len()
}

// ---------------------------------------------------------------------------------------
// Field tables.

/// Bits for the state types, for the field tables.
const TASK: u8 = 1;
const PARALLEL: u8 = 2;
const MAP: u8 = 4;
const PASS: u8 = 8;
const WAIT: u8 = 16;
const CHOICE: u8 = 32;
const SUCCEED: u8 = 64;
const FAIL: u8 = 128;
const ANY_STATE: u8 = 255;
const FLOW: u8 = TASK | PARALLEL | MAP | PASS | WAIT;
const WORK: u8 = TASK | PARALLEL | MAP;

/// Which query language a field belongs to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Lang {
    Both,
    JsonPath,
    Jsonata,
}

/// A field: its name, the state types (bits) that have it, its query language.
type FieldSpec = (&'static str, u8, Lang);

use Lang::{Both, JsonPath as JP, Jsonata as JA};

/// The fields of a state, by state type and query language (SPEC field tables).
const STATE_FIELDS: &[FieldSpec] = &[
    ("Type", ANY_STATE, Both),
    ("Comment", ANY_STATE, Both),
    ("QueryLanguage", ANY_STATE, Both),
    ("InputPath", ANY_STATE & !FAIL, JP),
    ("OutputPath", ANY_STATE & !FAIL, JP),
    ("Parameters", WORK | PASS, JP),
    ("ResultSelector", WORK, JP),
    ("ResultPath", WORK | PASS, JP),
    ("Arguments", TASK | PARALLEL, JA),
    ("Output", ANY_STATE & !FAIL, JA),
    ("Assign", ANY_STATE & !(SUCCEED | FAIL), Both),
    ("Next", FLOW, Both),
    ("End", FLOW, Both),
    ("Retry", WORK, Both),
    ("Catch", WORK, Both),
    ("Result", PASS, JP),
    ("Resource", TASK, Both),
    ("TimeoutSeconds", TASK, Both),
    ("TimeoutSecondsPath", TASK, JP),
    ("HeartbeatSeconds", TASK, Both),
    ("HeartbeatSecondsPath", TASK, JP),
    ("Credentials", TASK, Both),
    ("Choices", CHOICE, Both),
    ("Default", CHOICE, Both),
    ("Seconds", WAIT, Both),
    ("Timestamp", WAIT, Both),
    ("SecondsPath", WAIT, JP),
    ("TimestampPath", WAIT, JP),
    ("Error", FAIL, Both),
    ("ErrorPath", FAIL, JP),
    ("Cause", FAIL, Both),
    ("CausePath", FAIL, JP),
    ("Branches", PARALLEL, Both),
    ("ItemProcessor", MAP, Both),
    ("Iterator", MAP, Both),
    ("ItemsPath", MAP, JP),
    ("Items", MAP, JA),
    ("ItemSelector", MAP, Both),
    ("MaxConcurrency", MAP, Both),
    ("MaxConcurrencyPath", MAP, JP),
    ("ToleratedFailureCount", MAP, Both),
    ("ToleratedFailureCountPath", MAP, JP),
    ("ToleratedFailurePercentage", MAP, Both),
    ("ToleratedFailurePercentagePath", MAP, JP),
    ("ItemReader", MAP, Both),
    ("ItemBatcher", MAP, Both),
    ("ResultWriter", MAP, Both),
    ("Label", MAP, Both),
];

/// Bits for the kinds of small objects checked with the same machinery.
const TOP: u8 = 1; // the state machine
const BLOCK: u8 = 2; // a Parallel branch
const PROCESSOR: u8 = 4; // a Map ItemProcessor / Iterator
const GRAPHS: u8 = TOP | BLOCK | PROCESSOR;

const GRAPH_FIELDS: &[FieldSpec] = &[
    ("StartAt", GRAPHS, Both),
    ("States", GRAPHS, Both),
    ("Comment", GRAPHS, Both),
    ("Version", TOP, Both),
    ("TimeoutSeconds", TOP, Both),
    ("QueryLanguage", TOP, Both),
    ("ProcessorConfig", PROCESSOR, Both),
];

const RETRIER: u8 = 1;
const CATCHER: u8 = 2;

const HANDLER_FIELDS: &[FieldSpec] = &[
    ("ErrorEquals", RETRIER | CATCHER, Both),
    ("Comment", RETRIER | CATCHER, Both),
    ("IntervalSeconds", RETRIER, Both),
    ("MaxAttempts", RETRIER, Both),
    ("BackoffRate", RETRIER, Both),
    ("MaxDelaySeconds", RETRIER, Both),
    ("JitterStrategy", RETRIER, Both),
    ("Next", CATCHER, Both),
    ("ResultPath", CATCHER, JP),
    ("Output", CATCHER, JA),
    ("Assign", CATCHER, Both),
];

const TOP_RULE: u8 = 1;
const NESTED_RULE: u8 = 2;
const RULES: u8 = TOP_RULE | NESTED_RULE;

const RULE_FIELDS: &[FieldSpec] = &[
    ("Next", TOP_RULE, Both),
    ("Assign", TOP_RULE, Both),
    ("Output", TOP_RULE, JA),
    ("Comment", RULES, Both),
    ("Condition", TOP_RULE, JA),
    ("Variable", RULES, JP),
    ("And", RULES, JP),
    ("Or", RULES, JP),
    ("Not", RULES, JP),
];

/// A Choice comparison operator by field name: the operator and whether it is the `...Path`
/// form.
fn comparison_of(name: &str) -> Option<(Comparison, bool)> {
    Comparison::ALL.iter().find_map(|&(n, op)| {
        if name == n {
            Some((op, false))
        } else if op.has_path_form() && name.strip_suffix("Path") == Some(n) {
            Some((op, true))
        } else {
            None
        }
    })
}

/// A numeric field that may also come through a `...Path` field or (JSONata) a `{% %}`
/// string.
struct NumberField {
    name: &'static str,
    path: Option<&'static str>,
    integer: bool,
    min: f64,
    max: f64,
    /// The words for the valid range, in messages.
    what: &'static str,
}

const TASK_TIMEOUT: NumberField = NumberField {
    name: "TimeoutSeconds",
    path: Some("TimeoutSecondsPath"),
    integer: true,
    min: 1.0,
    max: 99_999_999.0,
    what: "a positive integer",
};
const TASK_HEARTBEAT: NumberField = NumberField {
    name: "HeartbeatSeconds",
    path: Some("HeartbeatSecondsPath"),
    ..TASK_TIMEOUT
};
const WAIT_SECONDS: NumberField = NumberField {
    name: "Seconds",
    path: None,
    integer: true,
    min: 0.0,
    max: 99_999_999.0,
    what: "a non-negative integer",
};
const MAX_CONCURRENCY: NumberField = NumberField {
    name: "MaxConcurrency",
    path: Some("MaxConcurrencyPath"),
    integer: true,
    min: 0.0,
    max: 2_147_483_647.0,
    what: "a non-negative integer",
};
const TOLERATED_COUNT: NumberField = NumberField {
    name: "ToleratedFailureCount",
    path: Some("ToleratedFailureCountPath"),
    ..MAX_CONCURRENCY
};
const TOLERATED_PERCENTAGE: NumberField = NumberField {
    name: "ToleratedFailurePercentage",
    path: Some("ToleratedFailurePercentagePath"),
    integer: false,
    min: 0.0,
    max: 100.0,
    what: "a number between 0 and 100",
};
const RETRY_INTERVAL: NumberField = NumberField {
    name: "IntervalSeconds",
    path: None,
    integer: true,
    min: 1.0,
    max: 99_999_999.0,
    what: "a positive integer",
};
const RETRY_MAX_ATTEMPTS: NumberField = NumberField {
    name: "MaxAttempts",
    path: None,
    integer: true,
    min: 0.0,
    max: 99_999_999.0,
    what: "a non-negative integer",
};
const RETRY_BACKOFF: NumberField = NumberField {
    name: "BackoffRate",
    path: None,
    integer: false,
    min: 1.0,
    max: f64::MAX,
    what: "a number greater than or equal to 1.0",
};
const RETRY_MAX_DELAY: NumberField = NumberField {
    name: "MaxDelaySeconds",
    path: None,
    integer: true,
    min: 1.0,
    max: 31_622_400.0,
    what: "a positive integer less than 31622401",
};
const MACHINE_TIMEOUT: NumberField = NumberField {
    name: "TimeoutSeconds",
    path: None,
    integer: true,
    min: 1.0,
    max: 99_999_999.0,
    what: "a positive integer",
};

const STATE_TYPES: [&str; 8] = ["Task", "Wait", "Pass", "Succeed", "Fail", "Choice", "Parallel", "Map"];

fn type_bit(type_name: &str) -> Option<u8> {
    Some(match type_name {
        "Task" => TASK,
        "Parallel" => PARALLEL,
        "Map" => MAP,
        "Pass" => PASS,
        "Wait" => WAIT,
        "Choice" => CHOICE,
        "Succeed" => SUCCEED,
        "Fail" => FAIL,
        _ => return None,
    })
}

fn lang_name(l: QueryLanguage) -> &'static str {
    match l {
        QueryLanguage::JsonPath => "JSONPath",
        QueryLanguage::Jsonata => "JSONata",
    }
}

/// The pointer of a member.
fn child(ptr: &str, key: &str) -> String {
    format!("{ptr}/{key}")
}

/// The pointer of an array element (`.../Choices[0]`).
fn elem(ptr: &str, index: usize) -> String {
    format!("{ptr}[{index}]")
}

// ---------------------------------------------------------------------------------------
// The parser.

struct Parser {
    diags: Vec<Diagnostic>,
    machine_language: QueryLanguage,
}

impl Parser {
    fn err(&mut self, message: impl Into<String>, ptr: &str) {
        self.diags.push(Diagnostic::schema(message, ptr));
    }

    fn type_err(&mut self, field: &str, what: &str, ptr: &str) {
        self.err(format!("The field '{field}' should be {what}"), ptr);
    }

    fn required(&mut self, o: &Obj, fields: &[&str], ptr: &str) -> bool {
        let missing: Vec<&str> = fields.iter().copied().filter(|f| !o.contains_key(*f)).collect();
        if missing.is_empty() {
            return true;
        }
        self.err(format!("These fields are required: [{}]", missing.join(", ")), ptr);
        false
    }

    /// Reports fields the object (of kind `bit`, in query language `lang`) does not support.
    fn check_fields(
        &mut self,
        o: &Obj,
        ptr: &str,
        table: &[FieldSpec],
        bit: u8,
        lang: QueryLanguage,
        extra: impl Fn(&str) -> Option<Lang>,
    ) {
        for key in o.keys() {
            let spec = table
                .iter()
                .find(|(n, bits, _)| *n == key && bits & bit != 0)
                .map(|&(_, _, l)| l)
                .or_else(|| extra(key));
            let Some(field_lang) = spec else {
                self.err(format!("Field '{key}' is not supported"), ptr);
                continue;
            };
            let wrong = match (field_lang, lang) {
                (JP, QueryLanguage::Jsonata) => Some(QueryLanguage::JsonPath),
                (JA, QueryLanguage::JsonPath) => Some(QueryLanguage::Jsonata),
                _ => None,
            };
            if let Some(needed) = wrong {
                self.err(
                    format!(
                        "The QueryLanguage is set to '{}', but field '{key}' is only supported \
                         for the '{}' QueryLanguage",
                        lang_name(lang),
                        lang_name(needed)
                    ),
                    ptr,
                );
            }
        }
    }

    // ----- typed field readers -----

    fn string(&mut self, o: &Obj, key: &str, ptr: &str) -> Option<String> {
        match o.get(key)? {
            Json::String(s) => Some(s.clone()),
            _ => {
                self.type_err(key, "a string", &child(ptr, key));
                None
            }
        }
    }

    fn nonempty_string(&mut self, o: &Obj, key: &str, ptr: &str) -> Option<String> {
        let s = self.string(o, key, ptr)?;
        if s.is_empty() {
            self.err("Value cannot be empty", &child(ptr, key));
        }
        Some(s)
    }

    fn boolean(&mut self, o: &Obj, key: &str, ptr: &str) -> Option<bool> {
        match o.get(key)? {
            Json::Bool(b) => Some(*b),
            _ => {
                self.type_err(key, "a boolean", &child(ptr, key));
                None
            }
        }
    }

    fn object<'v>(&mut self, o: &'v Obj, key: &str, ptr: &str) -> Option<&'v Obj> {
        match o.get(key)? {
            Json::Object(m) => Some(m),
            _ => {
                self.type_err(key, "an object", &child(ptr, key));
                None
            }
        }
    }

    fn array<'v>(&mut self, o: &'v Obj, key: &str, ptr: &str) -> Option<&'v [Json]> {
        match o.get(key)? {
            Json::Array(a) => {
                if a.is_empty() {
                    self.err("Value cannot be empty", &child(ptr, key));
                }
                Some(a)
            }
            _ => {
                self.type_err(key, "an array", &child(ptr, key));
                None
            }
        }
    }

    /// A payload template: an object (JSONPath), or (JSONata) an object or an expression.
    fn template(&mut self, o: &Obj, key: &str, ptr: &str, lang: QueryLanguage) -> Option<Json> {
        let v = o.get(key)?;
        match v {
            Json::Object(_) => Some(v.clone()),
            Json::String(s) if lang == QueryLanguage::Jsonata && is_jsonata_expression(s) => Some(v.clone()),
            _ => {
                self.type_err(key, "an object", &child(ptr, key));
                None
            }
        }
    }

    /// `Assign`: an object.
    fn assign(&mut self, o: &Obj, ptr: &str) -> Option<Json> {
        self.object(o, "Assign", ptr).map(|m| Json::Object(m.clone()))
    }

    /// `InputPath`, `OutputPath`, `ResultPath`: absent, null or a string.
    fn nullable_path(&mut self, o: &Obj, key: &str, ptr: &str) -> Nullable<String> {
        match o.get(key) {
            None => Nullable::Absent,
            Some(Json::Null) => Nullable::Null,
            Some(Json::String(s)) => Nullable::Value(s.clone()),
            Some(_) => {
                self.type_err(key, "a string", &child(ptr, key));
                Nullable::Absent
            }
        }
    }

    /// Reports every pair of mutually exclusive fields both present; true if none.
    fn exclusive(&mut self, o: &Obj, fields: &[&str], ptr: &str) -> bool {
        let present: Vec<&str> = fields.iter().copied().filter(|f| o.contains_key(*f)).collect();
        if present.len() > 1 {
            self.err(
                format!("These fields cannot be used together: [{}]", present.join(", ")),
                ptr,
            );
            return false;
        }
        true
    }

    fn enum_value(&mut self, o: &Obj, key: &str, values: &[&str], ptr: &str) -> Option<String> {
        let v = o.get(key)?;
        match v.as_str() {
            Some(s) if values.contains(&s) => Some(s.to_string()),
            _ => {
                self.err(
                    format!(
                        "The field '{key}' should have one of these values: [{}]",
                        values.join(", ")
                    ),
                    &child(ptr, key),
                );
                None
            }
        }
    }

    fn query_language(&mut self, o: &Obj, ptr: &str) -> Option<QueryLanguage> {
        self.enum_value(o, "QueryLanguage", &["JSONPath", "JSONata"], ptr)
            .map(|s| {
                if s == "JSONata" {
                    QueryLanguage::Jsonata
                } else {
                    QueryLanguage::JsonPath
                }
            })
    }

    /// Reads a number field (and its `...Path` twin): a literal, a path, or in JSONata a
    /// `{% %}` expression.
    fn number(&mut self, o: &Obj, spec: &NumberField, ptr: &str, lang: QueryLanguage) -> Option<NumberSource> {
        let mut names = vec![spec.name];
        names.extend(spec.path);
        if !self.exclusive(o, &names, ptr) {
            return None;
        }
        if let Some(path_key) = spec.path {
            if o.contains_key(path_key) {
                return self.string(o, path_key, ptr).map(NumberSource::Path);
            }
        }
        let v = o.get(spec.name)?;
        let at = child(ptr, spec.name);
        match v {
            Json::Number(n) => {
                let f = n.as_f64().unwrap_or(f64::NAN);
                let integral = n.is_i64() || n.is_u64() || (f.fract() == 0.0 && !spec.integer);
                if (spec.integer && !integral) || !(f >= spec.min && f <= spec.max) {
                    self.err(
                        format!("The value of the field '{}' must be {}", spec.name, spec.what),
                        &at,
                    );
                    return None;
                }
                Some(NumberSource::Literal(f))
            }
            Json::String(s) if lang == QueryLanguage::Jsonata && is_jsonata_expression(s) => {
                Some(NumberSource::Jsonata(s.clone()))
            }
            _ => {
                let what = if spec.integer { "an integer" } else { "a number" };
                self.type_err(spec.name, what, &at);
                None
            }
        }
    }

    // ----- structure -----

    fn machine(&mut self, root: &Obj) -> Option<StateMachine> {
        let query_language = self.query_language(root, "");
        self.machine_language = query_language.unwrap_or_default();
        let comment = self.string(root, "Comment", "");
        let version = self.string(root, "Version", "");
        let timeout_seconds = self
            .number(root, &MACHINE_TIMEOUT, "", QueryLanguage::JsonPath)
            .and_then(|n| match n {
                NumberSource::Literal(f) => Some(f as u64),
                _ => None,
            });
        let graph = self.graph(root, "", TOP, 0);
        Some(StateMachine {
            graph: graph?,
            comment,
            version,
            timeout_seconds,
            query_language,
        })
    }

    /// A `StartAt` + `States` block.
    fn graph(&mut self, o: &Obj, ptr: &str, kind: u8, depth: usize) -> Option<Graph> {
        if depth > MAX_DEPTH {
            self.diags.push(Diagnostic::error(
                codes::TOO_DEEPLY_NESTED,
                "The states are too deeply nested",
                Some(location_of(ptr)),
            ));
            return None;
        }
        let lang = self.machine_language;
        self.check_fields(o, &location_of(ptr), GRAPH_FIELDS, kind, lang, |_| None);
        if kind != TOP {
            self.string(o, "Comment", ptr);
        }
        let has_required = self.required(o, &["States", "StartAt"], &location_of(ptr));
        let start_at = self.string(o, "StartAt", ptr);
        let states_obj = self.object(o, "States", ptr);
        let mut states = Vec::new();
        if let Some(m) = states_obj {
            let states_ptr = child(ptr, "States");
            for (name, v) in m {
                if let Some(s) = self.state(name, v, &child(&states_ptr, name), depth) {
                    states.push(s);
                }
            }
        }
        if !has_required {
            return None;
        }
        Some(Graph {
            start_at: start_at?,
            states,
            pointer: ptr.to_string(),
        })
    }

    fn state(&mut self, name: &str, v: &Json, ptr: &str, depth: usize) -> Option<State> {
        let Some(o) = v.as_object() else {
            self.type_err(name, "an object", ptr);
            return None;
        };
        if !self.required(o, &["Type"], ptr) {
            return None;
        }
        let type_name = o.get("Type").and_then(Json::as_str).unwrap_or_default();
        let Some(bit) = type_bit(type_name) else {
            self.err(
                format!(
                    "The field 'Type' should have one of these values: [{}]",
                    STATE_TYPES.join(", ")
                ),
                &child(ptr, "Type"),
            );
            return None;
        };
        let query_language = self.query_language(o, ptr);
        let lang = query_language.unwrap_or(self.machine_language);
        self.check_fields(o, ptr, STATE_FIELDS, bit, lang, |_| None);

        let transition = if bit & FLOW != 0 { self.transition(o, ptr) } else { None };
        let kind = match bit {
            TASK => self.task(o, ptr, lang),
            PARALLEL => self.parallel(o, ptr, depth),
            MAP => self.map(o, ptr, lang, depth),
            PASS => Some(StateKind::Pass {
                result: o.get("Result").cloned(),
            }),
            WAIT => self.wait(o, ptr, lang),
            CHOICE => self.choice(o, ptr, lang),
            SUCCEED => Some(StateKind::Succeed),
            _ => self.fail(o, ptr),
        };
        let parameters = if bit == MAP {
            None
        } else {
            self.template(o, "Parameters", ptr, QueryLanguage::JsonPath)
        };
        let retry = self.handlers(o, "Retry", ptr, lang, Self::retrier);
        let catch = self.handlers(o, "Catch", ptr, lang, Self::catcher);
        Some(State {
            name: name.to_string(),
            pointer: ptr.to_string(),
            comment: self.string(o, "Comment", ptr),
            query_language,
            input_path: self.nullable_path(o, "InputPath", ptr),
            output_path: self.nullable_path(o, "OutputPath", ptr),
            parameters,
            result_selector: self.template(o, "ResultSelector", ptr, QueryLanguage::JsonPath),
            result_path: self.nullable_path(o, "ResultPath", ptr),
            arguments: self.template(o, "Arguments", ptr, QueryLanguage::Jsonata),
            output: o.get("Output").cloned(),
            assign: self.assign(o, ptr),
            transition,
            retry,
            catch,
            kind: kind?,
        })
    }

    /// `Next` / `End` of a state that must have exactly one of them.
    fn transition(&mut self, o: &Obj, ptr: &str) -> Option<Transition> {
        let next = self.string(o, "Next", ptr);
        let end = self.boolean(o, "End", ptr).unwrap_or(false);
        match (next, end) {
            (Some(n), false) => Some(Transition::Next(n)),
            (None, true) => Some(Transition::End),
            (Some(_), true) => {
                self.err("These fields cannot be used together: [Next, End]", ptr);
                None
            }
            (None, false) => {
                if !o.contains_key("Next") {
                    self.err("One of these fields is required: [Next, End]", ptr);
                }
                None
            }
        }
    }

    /// `Retry` or `Catch`: an array of handler objects.
    fn handlers<T>(
        &mut self,
        o: &Obj,
        key: &str,
        ptr: &str,
        lang: QueryLanguage,
        one: fn(&mut Self, &Obj, &str, QueryLanguage) -> Option<T>,
    ) -> Vec<T> {
        let Some(items) = (match o.get(key) {
            None => None,
            Some(Json::Array(a)) => Some(a),
            Some(_) => {
                self.type_err(key, "an array", &child(ptr, key));
                None
            }
        }) else {
            return Vec::new();
        };
        let base = child(ptr, key);
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let at = elem(&base, i);
            match item.as_object() {
                Some(h) => out.extend(one(self, h, &at, lang)),
                None => self.err(format!("The field '{key}' should be an array of objects"), &at),
            }
        }
        out
    }

    fn error_equals(&mut self, h: &Obj, ptr: &str) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(items) = self.array(h, "ErrorEquals", ptr) {
            for item in items {
                match item.as_str() {
                    Some(s) => out.push(s.to_string()),
                    None => {
                        self.err(
                            "The field 'ErrorEquals' should be an array of strings",
                            &child(ptr, "ErrorEquals"),
                        );
                        break;
                    }
                }
            }
        }
        out
    }

    fn retrier(&mut self, h: &Obj, ptr: &str, lang: QueryLanguage) -> Option<Retrier> {
        self.check_fields(h, ptr, HANDLER_FIELDS, RETRIER, lang, |_| None);
        let ok = self.required(h, &["ErrorEquals"], ptr);
        let error_equals = self.error_equals(h, ptr);
        let num = |p: &mut Self, spec: &NumberField, default: f64| match p.number(h, spec, ptr, QueryLanguage::JsonPath)
        {
            Some(NumberSource::Literal(f)) => f,
            _ => default,
        };
        let interval_seconds = num(self, &RETRY_INTERVAL, 1.0);
        let max_attempts = num(self, &RETRY_MAX_ATTEMPTS, 3.0) as u32;
        let backoff_rate = num(self, &RETRY_BACKOFF, 2.0);
        let max_delay_seconds = h
            .contains_key("MaxDelaySeconds")
            .then(|| num(self, &RETRY_MAX_DELAY, f64::NAN))
            .filter(|f| !f.is_nan());
        let jitter = self.enum_value(h, "JitterStrategy", &["FULL", "NONE"], ptr);
        let comment = self.string(h, "Comment", ptr);
        ok.then(|| Retrier {
            error_equals,
            interval_seconds,
            max_attempts,
            backoff_rate,
            max_delay_seconds,
            jitter_full: jitter.as_deref() == Some("FULL"),
            comment,
            pointer: ptr.to_string(),
        })
    }

    fn catcher(&mut self, h: &Obj, ptr: &str, lang: QueryLanguage) -> Option<Catcher> {
        self.check_fields(h, ptr, HANDLER_FIELDS, CATCHER, lang, |_| None);
        let ok = self.required(h, &["ErrorEquals", "Next"], ptr);
        let error_equals = self.error_equals(h, ptr);
        let next = self.string(h, "Next", ptr);
        let catcher = Catcher {
            error_equals,
            next: next.unwrap_or_default(),
            result_path: self.nullable_path(h, "ResultPath", ptr),
            output: h.get("Output").cloned(),
            assign: self.assign(h, ptr),
            comment: self.string(h, "Comment", ptr),
            pointer: ptr.to_string(),
        };
        ok.then_some(catcher)
    }

    // ----- state types -----

    fn task(&mut self, o: &Obj, ptr: &str, lang: QueryLanguage) -> Option<StateKind> {
        let ok = self.required(o, &["Resource"], ptr);
        let resource = self.nonempty_string(o, "Resource", ptr);
        let timeout = self.number(o, &TASK_TIMEOUT, ptr, lang);
        let heartbeat = self.number(o, &TASK_HEARTBEAT, ptr, lang);
        let credentials = self.credentials(o, ptr, lang);
        if !ok {
            return None;
        }
        Some(StateKind::Task(Box::new(TaskFields {
            resource: resource?,
            timeout,
            heartbeat,
            credentials,
        })))
    }

    fn credentials(&mut self, o: &Obj, ptr: &str, lang: QueryLanguage) -> Option<Json> {
        let v = o.get("Credentials")?;
        let at = child(ptr, "Credentials");
        match v {
            Json::Object(m) => {
                if !m.contains_key("RoleArn") && !m.contains_key("RoleArn.$") {
                    self.err("The field 'RoleArn' is required but was missing", &at);
                }
                Some(v.clone())
            }
            Json::String(s) if lang == QueryLanguage::Jsonata && is_jsonata_expression(s) => Some(v.clone()),
            _ => {
                self.type_err("Credentials", "an object", &at);
                None
            }
        }
    }

    fn parallel(&mut self, o: &Obj, ptr: &str, depth: usize) -> Option<StateKind> {
        let ok = self.required(o, &["Branches"], ptr);
        let items = self.array(o, "Branches", ptr).unwrap_or_default();
        let base = child(ptr, "Branches");
        let mut branches = Vec::new();
        for (i, b) in items.iter().enumerate() {
            let at = elem(&base, i);
            match b.as_object() {
                Some(g) => branches.extend(self.graph(g, &at, BLOCK, depth + 1)),
                None => self.err("The field 'Branches' should be an array of objects", &at),
            }
        }
        ok.then_some(StateKind::Parallel { branches })
    }

    fn map(&mut self, o: &Obj, ptr: &str, lang: QueryLanguage, depth: usize) -> Option<StateKind> {
        self.exclusive(o, &["ItemProcessor", "Iterator"], ptr);
        self.exclusive(o, &["ItemSelector", "Parameters"], ptr);
        let legacy_iterator = !o.contains_key("ItemProcessor") && o.contains_key("Iterator");
        let key = if legacy_iterator { "Iterator" } else { "ItemProcessor" };
        if !o.contains_key(key) {
            self.err("These fields are required: [ItemProcessor]", ptr);
        }
        let mut distributed = false;
        let mut execution_type = None;
        let processor = self.object(o, key, ptr).and_then(|p| {
            let at = child(ptr, key);
            if let Some(config) = self.object(p, "ProcessorConfig", &at) {
                let config_at = child(&at, "ProcessorConfig");
                self.check_fields(
                    config,
                    &config_at,
                    &[("Mode", 1, Both), ("ExecutionType", 1, Both)],
                    1,
                    lang,
                    |_| None,
                );
                let mode = self.enum_value(config, "Mode", &["INLINE", "DISTRIBUTED"], &config_at);
                distributed = mode.as_deref() == Some("DISTRIBUTED");
                execution_type = self.enum_value(config, "ExecutionType", &["STANDARD", "EXPRESS"], &config_at);
            }
            self.graph(p, &at, PROCESSOR, depth + 1)
        });
        let items = match o.get("Items") {
            None => None,
            Some(v @ Json::Array(_)) => Some(v.clone()),
            Some(v @ Json::String(s)) if is_jsonata_expression(s) => Some(v.clone()),
            Some(_) => {
                self.type_err("Items", "an array or a JSONata expression", &child(ptr, "Items"));
                None
            }
        };
        let item_selector = self
            .template(o, "ItemSelector", ptr, lang)
            .or_else(|| self.template(o, "Parameters", ptr, QueryLanguage::JsonPath));
        let fields = MapFields {
            processor: processor?,
            distributed,
            execution_type,
            legacy_iterator,
            items_path: self.string(o, "ItemsPath", ptr),
            items,
            item_selector,
            max_concurrency: self.number(o, &MAX_CONCURRENCY, ptr, lang),
            tolerated_failure_count: self.number(o, &TOLERATED_COUNT, ptr, lang),
            tolerated_failure_percentage: self.number(o, &TOLERATED_PERCENTAGE, ptr, lang),
            item_batcher: self.object(o, "ItemBatcher", ptr).map(|m| Json::Object(m.clone())),
            item_reader: self.object(o, "ItemReader", ptr).map(|m| Json::Object(m.clone())),
            result_writer: self.object(o, "ResultWriter", ptr).map(|m| Json::Object(m.clone())),
            label: self.string(o, "Label", ptr),
        };
        Some(StateKind::Map(Box::new(fields)))
    }

    fn wait(&mut self, o: &Obj, ptr: &str, lang: QueryLanguage) -> Option<StateKind> {
        const FIELDS: [&str; 4] = ["Seconds", "Timestamp", "SecondsPath", "TimestampPath"];
        if !self.exclusive(o, &FIELDS, ptr) {
            return None;
        }
        if !FIELDS.iter().any(|f| o.contains_key(*f)) {
            self.err(format!("One of these fields is required: [{}]", FIELDS.join(", ")), ptr);
            return None;
        }
        let for_ = if o.contains_key("Seconds") {
            WaitFor::Seconds(self.number(o, &WAIT_SECONDS, ptr, lang)?)
        } else if o.contains_key("SecondsPath") {
            WaitFor::Seconds(NumberSource::Path(self.string(o, "SecondsPath", ptr)?))
        } else if o.contains_key("Timestamp") {
            WaitFor::Timestamp(self.string(o, "Timestamp", ptr)?)
        } else {
            WaitFor::TimestampPath(self.string(o, "TimestampPath", ptr)?)
        };
        Some(StateKind::Wait(for_))
    }

    fn fail(&mut self, o: &Obj, ptr: &str) -> Option<StateKind> {
        self.exclusive(o, &["Error", "ErrorPath"], ptr);
        self.exclusive(o, &["Cause", "CausePath"], ptr);
        Some(StateKind::Fail(FailFields {
            error: self.string(o, "Error", ptr),
            error_path: self.string(o, "ErrorPath", ptr),
            cause: self.string(o, "Cause", ptr),
            cause_path: self.string(o, "CausePath", ptr),
        }))
    }

    fn choice(&mut self, o: &Obj, ptr: &str, lang: QueryLanguage) -> Option<StateKind> {
        let ok = self.required(o, &["Choices"], ptr);
        let items = self.array(o, "Choices", ptr).unwrap_or_default();
        let base = child(ptr, "Choices");
        let mut choices = Vec::new();
        for (i, r) in items.iter().enumerate() {
            let at = elem(&base, i);
            match r.as_object() {
                Some(rule) => choices.extend(self.top_rule(rule, &at, lang)),
                None => self.err("The field 'Choices' should be an array of objects", &at),
            }
        }
        let default = self.string(o, "Default", ptr);
        ok.then_some(StateKind::Choice { choices, default })
    }

    fn top_rule(&mut self, r: &Obj, ptr: &str, lang: QueryLanguage) -> Option<ChoiceRule> {
        self.check_fields(r, ptr, RULE_FIELDS, TOP_RULE, lang, |k| comparison_of(k).map(|_| JP));
        let ok = self.required(r, &["Next"], ptr);
        let next = self.string(r, "Next", ptr);
        let condition = if lang == QueryLanguage::Jsonata {
            self.jsonata_condition(r, ptr)
        } else {
            self.condition(r, ptr, 0)
        };
        let rule = ChoiceRule {
            condition: condition?,
            next: next.unwrap_or_default(),
            assign: self.assign(r, ptr),
            output: r.get("Output").cloned(),
            comment: self.string(r, "Comment", ptr),
            pointer: ptr.to_string(),
        };
        ok.then_some(rule)
    }

    fn jsonata_condition(&mut self, r: &Obj, ptr: &str) -> Option<Condition> {
        if !self.required(r, &["Condition"], ptr) {
            return None;
        }
        match r.get("Condition")? {
            v @ Json::Bool(_) => Some(Condition::Jsonata(v.clone())),
            v @ Json::String(s) if is_jsonata_expression(s) => Some(Condition::Jsonata(v.clone())),
            _ => {
                self.type_err(
                    "Condition",
                    "a boolean or a JSONata expression",
                    &child(ptr, "Condition"),
                );
                None
            }
        }
    }

    /// A JSONPath condition: `And`, `Or`, `Not`, or `Variable` with one operator.
    fn condition(&mut self, r: &Obj, ptr: &str, depth: usize) -> Option<Condition> {
        if depth > MAX_DEPTH {
            self.diags.push(Diagnostic::error(
                codes::TOO_DEEPLY_NESTED,
                "The choice rules are too deeply nested",
                Some(location_of(ptr)),
            ));
            return None;
        }
        if depth > 0 {
            self.check_fields(r, ptr, RULE_FIELDS, NESTED_RULE, QueryLanguage::JsonPath, |k| {
                comparison_of(k).map(|_| JP)
            });
        }
        let mut kinds: Vec<&str> = ["And", "Or", "Not"]
            .into_iter()
            .filter(|k| r.contains_key(*k))
            .collect();
        let ops: Vec<(&String, Comparison, bool)> = r
            .keys()
            .filter_map(|k| comparison_of(k).map(|(op, p)| (k, op, p)))
            .collect();
        kinds.extend(ops.iter().map(|(k, _, _)| k.as_str()));
        if kinds.len() != 1 {
            if kinds.is_empty() {
                self.err(
                    "The choice rule must have exactly one of the fields: And, Or, Not or a \
                     comparison operator",
                    ptr,
                );
            } else {
                self.err(
                    format!("These fields cannot be used together: [{}]", kinds.join(", ")),
                    ptr,
                );
            }
            return None;
        }
        match kinds[0] {
            k @ ("And" | "Or") => {
                let items = self.array(r, k, ptr)?;
                let base = child(ptr, k);
                let mut subs = Vec::new();
                for (i, s) in items.iter().enumerate() {
                    let at = elem(&base, i);
                    match s.as_object() {
                        Some(sub) => subs.extend(self.condition(sub, &at, depth + 1)),
                        None => self.err(format!("The field '{k}' should be an array of objects"), &at),
                    }
                }
                if subs.len() != items.len() {
                    return None;
                }
                Some(if k == "And" {
                    Condition::And(subs)
                } else {
                    Condition::Or(subs)
                })
            }
            "Not" => {
                let sub = self.object(r, "Not", ptr)?;
                let inner = self.condition(sub, &child(ptr, "Not"), depth + 1)?;
                Some(Condition::Not(Box::new(inner)))
            }
            _ => {
                let (key, op, is_path) = ops[0];
                if !self.required(r, &["Variable"], ptr) {
                    return None;
                }
                let variable = self.string(r, "Variable", ptr)?;
                let operand = r.get(key.as_str())?;
                let expected = if is_path { "a string" } else { operand_type(op) };
                let fits = match expected {
                    "a string" => operand.is_string(),
                    "a number" => operand.is_number(),
                    _ => operand.is_boolean(),
                };
                if !fits {
                    self.type_err(key, expected, &child(ptr, key));
                    return None;
                }
                Some(Condition::Compare {
                    variable,
                    op,
                    operand_is_path: is_path,
                    operand: operand.clone(),
                })
            }
        }
    }
}

/// The JSON type a literal operand of `op` must have, as message words.
fn operand_type(op: Comparison) -> &'static str {
    use Comparison as C;
    match op {
        C::StringEquals
        | C::StringLessThan
        | C::StringGreaterThan
        | C::StringLessThanEquals
        | C::StringGreaterThanEquals
        | C::StringMatches
        | C::TimestampEquals
        | C::TimestampLessThan
        | C::TimestampGreaterThan
        | C::TimestampLessThanEquals
        | C::TimestampGreaterThanEquals => "a string",
        C::NumericEquals
        | C::NumericLessThan
        | C::NumericGreaterThan
        | C::NumericLessThanEquals
        | C::NumericGreaterThanEquals => "a number",
        _ => "a boolean",
    }
}
