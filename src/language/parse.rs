//! Parsing a definition's JSON text into the typed [`model`](crate::model), with AWS's schema
//! diagnostics.
//!
//! [`parse_definition`] reads every field of every state type in both query languages and
//! reports all schema problems at once: text that is not JSON (`INVALID_JSON_DESCRIPTION`, with
//! a Jackson-like message), a root that is not an object, missing required fields, wrong
//! types, fields a state type (or its query language) does not support, bad enum values,
//! empty arrays, out-of-range numbers and fields that exclude each other. Rules that span
//! states (transitions, reachability, names, EXPRESS restrictions, ...) are
//! [`crate::validate::validate`]'s. The syntax of paths, templates, intrinsic calls and JSONata
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
    let parsed = parse_definition_value(&value);
    // A state name given twice in one `States` object (JSON keeps only the last one).
    let repeated: Vec<Diagnostic> = crate::diagnostic::repeated_keys_under(text, "States")
        .into_iter()
        .map(|(location, name)| {
            Diagnostic::error(
                codes::DUPLICATE_STATE_NAME,
                format!("Duplicate State name: {name}"),
                Some(location),
            )
        })
        .collect();
    match parsed {
        Ok(_) if !repeated.is_empty() => Err(repeated),
        Err(mut diags) => {
            diags.extend(repeated);
            Err(diags)
        }
        ok => ok,
    }
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
        (eof_message(text), text.len())
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
        let c = text[offset.min(text.len())..].chars().next().unwrap_or(' ');
        if detail.starts_with("control character") {
            (
                format!(
                    "Illegal unquoted character ({}): has to be escaped using backslash to be \
                     included in string value",
                    jackson_char(c)
                ),
                offset + c.len_utf8(),
            )
        } else if detail.starts_with("invalid escape") {
            (
                format!("Unrecognized character escape {}", jackson_char(c)),
                offset + c.len_utf8(),
            )
        } else if end > start && bytes[start].is_ascii_alphabetic() {
            let token = &text[start..end];
            (
                format!(
                    "Unrecognized token '{token}': was expecting (JSON String, Number, Array, \
                     Object or token 'null', 'true' or 'false')"
                ),
                end,
            )
        } else {
            let why =
                if detail.starts_with("key must be a string") || (detail.starts_with("trailing comma") && c == '}') {
                    "was expecting double-quote to start field name"
                } else if detail.starts_with("expected `,` or `}`") {
                    "was expecting comma to separate Object entries"
                } else if detail.starts_with("expected `,` or `]`") {
                    "was expecting comma to separate Array entries"
                } else if detail.starts_with("expected `:`") {
                    "was expecting a colon to separate field name and value"
                } else if detail.starts_with("trailing characters") {
                    "expected end-of-input"
                } else {
                    "expected a valid value (JSON String, Number, Array, Object or token 'null', \
                 'true' or 'false')"
                };
            (
                format!("Unexpected character ({}): {why}", jackson_char(c)),
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

/// A character as Jackson describes it: `'}' (code 125)`, `(CTRL-CHAR, code 10)`,
/// `'é' (code 233 / 0xe9)`.
fn jackson_char(c: char) -> String {
    let code = c as u32;
    if code < 32 {
        format!("(CTRL-CHAR, code {code})")
    } else if code > 127 {
        format!("'{c}' (code {code} / 0x{code:x})")
    } else {
        format!("'{c}' (code {code})")
    }
}

/// Jackson's end-of-input message: inside a string, or naming the innermost container left
/// open and where it started.
fn eof_message(text: &str) -> String {
    let mut open: Vec<(u8, usize)> = Vec::new();
    let mut in_string = false;
    let mut escaped = false;
    for (i, b) in text.bytes().enumerate() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => open.push((b, i)),
            b'}' | b']' => {
                open.pop();
            }
            _ => {}
        }
    }
    if in_string {
        return "Unexpected end-of-input: was expecting closing quote for a string value".to_string();
    }
    match open.last() {
        Some(&(kind, at)) => {
            let (line, column) = crate::diagnostic::offset_to_line_col(text, at);
            format!(
                "Unexpected end-of-input: expected close marker for {} (start marker at \
                 [Source: {}; line: {line}, column: {}])",
                if kind == b'{' { "Object" } else { "Array" },
                source(text),
                column
            )
        }
        None => "Unexpected end-of-input".to_string(),
    }
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
    let mut offset: usize = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            // Column 0 is the line break that ends the previous line.
            let mut at = if column == 0 {
                offset.saturating_sub(1)
            } else {
                (offset + column - 1).min(text.len())
            };
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
    ("Catch", WORK, Both),
    ("Retry", WORK, Both),
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

/// Bits for the parts of a (Distributed) Map.
const READER: u8 = 1;
const READER_CONFIG: u8 = 2;
const BATCHER: u8 = 4;
const WRITER: u8 = 8;
const WRITER_CONFIG: u8 = 16;

const MAP_PART_FIELDS: &[FieldSpec] = &[
    ("Resource", READER | WRITER, Both),
    ("ReaderConfig", READER, Both),
    ("WriterConfig", WRITER, Both),
    ("Parameters", READER | WRITER, JP),
    ("Arguments", READER | WRITER, JA),
    ("InputType", READER_CONFIG, Both),
    ("CSVHeaderLocation", READER_CONFIG, Both),
    ("CSVHeaders", READER_CONFIG, Both),
    ("CSVDelimiter", READER_CONFIG, Both),
    ("MaxItems", READER_CONFIG, Both),
    ("MaxItemsPath", READER_CONFIG, JP),
    ("ItemsPointer", READER_CONFIG, Both),
    ("ManifestType", READER_CONFIG, Both),
    ("Transformation", READER_CONFIG | WRITER_CONFIG, Both),
    ("OutputType", WRITER_CONFIG, Both),
    ("MaxItemsPerBatch", BATCHER, Both),
    ("MaxItemsPerBatchPath", BATCHER, JP),
    ("MaxInputBytesPerBatch", BATCHER, Both),
    ("MaxInputBytesPerBatchPath", BATCHER, JP),
    ("BatchInput", BATCHER, Both),
];

/// Enum fields of the Map parts.
const MAP_PART_ENUMS: &[(u8, &str, &[&str])] = &[
    (
        READER_CONFIG,
        "InputType",
        &["CSV", "JSON", "JSONL", "MANIFEST", "PARQUET"],
    ),
    (READER_CONFIG, "CSVHeaderLocation", &["FIRST_ROW", "GIVEN"]),
    (
        READER_CONFIG,
        "CSVDelimiter",
        &["COMMA", "PIPE", "SEMICOLON", "SPACE", "TAB"],
    ),
    (READER_CONFIG, "ManifestType", &["ATHENA_DATA", "S3_INVENTORY"]),
    (READER_CONFIG, "Transformation", &["NONE", "LOAD_AND_FLATTEN"]),
    (WRITER_CONFIG, "OutputType", &["JSON", "JSONL"]),
    (WRITER_CONFIG, "Transformation", &["NONE", "COMPACT", "FLATTEN"]),
];

/// Number fields of the Map parts.
const MAP_PART_NUMBERS: &[(u8, NumberField)] = &[
    (
        READER_CONFIG,
        NumberField {
            name: "MaxItems",
            path: Some("MaxItemsPath"),
            integer: true,
            min: 0.0,
            max: 100_000_000.0,
        },
    ),
    (
        BATCHER,
        NumberField {
            name: "MaxItemsPerBatch",
            path: Some("MaxItemsPerBatchPath"),
            integer: true,
            min: 1.0,
            max: f64::MAX,
        },
    ),
    (
        BATCHER,
        NumberField {
            name: "MaxInputBytesPerBatch",
            path: Some("MaxInputBytesPerBatchPath"),
            integer: true,
            min: 1.0,
            max: 262_144.0,
        },
    ),
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
}

const TASK_TIMEOUT: NumberField = NumberField {
    name: "TimeoutSeconds",
    path: Some("TimeoutSecondsPath"),
    integer: true,
    min: 1.0,
    max: f64::MAX,
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
    max: f64::MAX,
};
const MAX_CONCURRENCY: NumberField = NumberField {
    name: "MaxConcurrency",
    path: Some("MaxConcurrencyPath"),
    integer: true,
    min: 0.0,
    max: f64::MAX,
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
};
const RETRY_INTERVAL: NumberField = NumberField {
    name: "IntervalSeconds",
    path: None,
    integer: true,
    min: 1.0,
    max: 99_999_999.0,
};
const RETRY_MAX_ATTEMPTS: NumberField = NumberField {
    name: "MaxAttempts",
    path: None,
    integer: true,
    min: 0.0,
    max: 99_999_999.0,
};
const RETRY_BACKOFF: NumberField = NumberField {
    name: "BackoffRate",
    path: None,
    integer: false,
    min: 1.0,
    max: f64::MAX,
};
const RETRY_MAX_DELAY: NumberField = NumberField {
    name: "MaxDelaySeconds",
    path: None,
    integer: true,
    min: 1.0,
    max: 31_622_400.0,
};
const MACHINE_TIMEOUT: NumberField = NumberField {
    name: "TimeoutSeconds",
    path: None,
    integer: true,
    min: 1.0,
    max: f64::MAX,
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

    /// AWS's type error: `Expected value of type [STRING]`, at the value.
    fn type_err(&mut self, types: &str, at: &str) {
        self.err(format!("Expected value of type [{types}]"), at);
    }

    fn required(&mut self, o: &Obj, fields: &[&str], ptr: &str) -> bool {
        let missing: Vec<&str> = fields.iter().copied().filter(|f| !o.contains_key(*f)).collect();
        if missing.is_empty() {
            return true;
        }
        self.err(format!("These fields are required: [{}]", missing.join(", ")), ptr);
        false
    }

    /// Reports fields the object (of kind `bit`, in query language `lang`) does not support:
    /// fields of the table in table order, then unknown fields in document order. With
    /// `lang` `None`, fields of the other query language are not reported.
    fn check_fields(
        &mut self,
        o: &Obj,
        ptr: &str,
        table: &[FieldSpec],
        bit: u8,
        lang: Option<QueryLanguage>,
        extra: impl Fn(&str) -> Option<Lang>,
    ) {
        let known = table
            .iter()
            .filter(|(name, _, _)| o.contains_key(*name))
            .map(|&(name, bits, l)| (name, (bits & bit != 0).then_some(l)));
        let unknown = o
            .keys()
            .filter(|k| !table.iter().any(|(name, _, _)| name == k))
            .map(|k| (k.as_str(), extra(k)));
        let found: Vec<(&str, Option<Lang>)> = known.chain(unknown).collect();
        for (key, field_lang) in found {
            let Some(field_lang) = field_lang else {
                self.err(format!("Field '{key}' is not supported"), ptr);
                continue;
            };
            let (is, only) = match (field_lang, lang) {
                (JP, Some(QueryLanguage::Jsonata)) => ("JSONata", "JSONPath"),
                (JA, Some(QueryLanguage::JsonPath)) => ("JSONPath", "JSONata"),
                _ => continue,
            };
            self.err(
                format!(
                    "The QueryLanguage is set to '{is}', but field '{key}' is only supported \
                     for the '{only}' QueryLanguage"
                ),
                ptr,
            );
        }
    }

    // ----- typed field readers -----

    fn string(&mut self, o: &Obj, key: &str, ptr: &str) -> Option<String> {
        match o.get(key)? {
            Json::String(s) => Some(s.clone()),
            _ => {
                self.type_err("STRING", &child(ptr, key));
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
                self.type_err("BOOLEAN", &child(ptr, key));
                None
            }
        }
    }

    fn object<'v>(&mut self, o: &'v Obj, key: &str, ptr: &str) -> Option<&'v Obj> {
        match o.get(key)? {
            Json::Object(m) => Some(m),
            _ => {
                self.type_err("OBJECT", &child(ptr, key));
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
                self.type_err("ARRAY", &child(ptr, key));
                None
            }
        }
    }

    /// A payload template: any JSON value (JSONPath), or (JSONata) an object or an expression.
    fn template(&mut self, o: &Obj, key: &str, ptr: &str, lang: QueryLanguage) -> Option<Json> {
        let v = o.get(key)?;
        match v {
            Json::Object(_) => Some(v.clone()),
            // AWS takes any JSON value as a JSONPath payload template (an array of templates,
            // a literal)
            _ if lang == QueryLanguage::JsonPath => Some(v.clone()),
            Json::String(s) if lang == QueryLanguage::Jsonata && is_jsonata_expression(s) => Some(v.clone()),
            _ => {
                self.type_err("OBJECT", &child(ptr, key));
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
                self.type_err("STRING", &child(ptr, key));
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
                &child(ptr, present[0]),
            );
            return false;
        }
        true
    }

    /// An enum field: AWS's `Value should be one of the following: [...]` at the value.
    fn enum_value(&mut self, o: &Obj, key: &str, values: &[&str], ptr: &str) -> Option<String> {
        let v = o.get(key)?;
        let at = child(ptr, key);
        match v.as_str() {
            Some(s) if values.contains(&s) => Some(s.to_string()),
            Some(_) => {
                self.err(
                    format!("Value should be one of the following: [{}]", values.join(", ")),
                    &at,
                );
                None
            }
            None => {
                self.type_err("STRING", &at);
                None
            }
        }
    }

    /// Checks a `QueryLanguage` value (errors at the field) and resolves it.
    fn query_language(&mut self, o: &Obj, ptr: &str) -> Option<QueryLanguage> {
        self.enum_value(o, "QueryLanguage", &["JSONPath", "JSONata"], ptr);
        resolve_language(o)
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
            Json::Number(n) if !spec.integer || n.is_i64() || n.is_u64() => {
                let f = n.as_f64().unwrap_or(f64::NAN);
                if f < spec.min {
                    self.err(format!("Minimum value is {}", spec.min), &at);
                    None
                } else if f > spec.max {
                    self.err(format!("Maximum value is {}", spec.max), &at);
                    None
                } else {
                    Some(NumberSource::Literal(f))
                }
            }
            Json::String(s) if lang == QueryLanguage::Jsonata && is_jsonata_expression(s) => {
                Some(NumberSource::Jsonata(s.clone()))
            }
            _ => {
                self.type_err(if spec.integer { "INTEGER" } else { "NUMBER" }, &at);
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
        self.check_fields(o, &location_of(ptr), GRAPH_FIELDS, kind, Some(lang), |_| None);
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
            self.type_err("OBJECT", ptr);
            return None;
        };
        if !self.required(o, &["Type"], ptr) {
            return None;
        }
        let type_name = self.string(o, "Type", ptr)?;
        let Some(bit) = type_bit(&type_name) else {
            self.err(
                format!(
                    "The field 'Type' should have one of these values: [{}]",
                    STATE_TYPES.join(", ")
                ),
                &child(ptr, "Type"),
            );
            return None;
        };
        let query_language = resolve_language(o);
        let lang = query_language.unwrap_or(self.machine_language);
        // A JSONPath state in a JSONata machine: that is the whole answer about languages
        // (AWS then does not report the state's other-language fields).
        let downgrade =
            self.machine_language == QueryLanguage::Jsonata && query_language == Some(QueryLanguage::JsonPath);
        if downgrade {
            self.err(
                "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine",
                ptr,
            );
        }
        let checked_lang = (!downgrade).then_some(lang);
        self.check_fields(o, ptr, STATE_FIELDS, bit, checked_lang, |_| None);
        self.query_language(o, ptr);

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
                self.type_err("ARRAY", &child(ptr, key));
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
        self.check_fields(h, ptr, HANDLER_FIELDS, RETRIER, Some(lang), |_| None);
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
        self.check_fields(h, ptr, HANDLER_FIELDS, CATCHER, Some(lang), |_| None);
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
        if let Some(resource) = &resource {
            if !is_arn(resource) {
                self.err("Value is not a valid resource ARN", &child(ptr, "Resource"));
            }
        }
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
                self.type_err("OBJECT", &at);
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
                    Some(lang),
                    |_| None,
                );
                let mode = self.enum_value(config, "Mode", &["INLINE", "DISTRIBUTED"], &config_at);
                distributed = mode.as_deref() == Some("DISTRIBUTED");
                if distributed {
                    self.required(config, &["ExecutionType"], &config_at);
                }
                execution_type = self.enum_value(config, "ExecutionType", &["STANDARD", "EXPRESS"], &config_at);
            }
            self.graph(p, &at, PROCESSOR, depth + 1)
        });
        let items = match o.get("Items") {
            None => None,
            Some(v @ Json::Array(_)) => Some(v.clone()),
            Some(v @ Json::String(s)) if is_jsonata_expression(s) => Some(v.clone()),
            Some(_) => {
                self.type_err("ARRAY, STRING", &child(ptr, "Items"));
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
            item_batcher: self.map_part(o, "ItemBatcher", BATCHER, ptr, lang),
            item_reader: self.map_part(o, "ItemReader", READER, ptr, lang),
            result_writer: self.map_part(o, "ResultWriter", WRITER, ptr, lang),
            label: self.string(o, "Label", ptr),
        };
        Some(StateKind::Map(Box::new(fields)))
    }

    /// `ItemReader`, `ItemBatcher`, `ResultWriter` (and their `ReaderConfig`/`WriterConfig`):
    /// checked, kept as written.
    fn map_part(&mut self, o: &Obj, key: &str, bit: u8, ptr: &str, lang: QueryLanguage) -> Option<Json> {
        let part = self.object(o, key, ptr)?;
        let at = child(ptr, key);
        self.check_fields(part, &at, MAP_PART_FIELDS, bit, Some(lang), |_| None);
        match bit {
            READER => {
                self.required(part, &["Resource"], &at);
            }
            WRITER if part.is_empty() => self.err("Value cannot be empty", &at),
            WRITER if part.contains_key("Resource") => {
                let args = if lang == QueryLanguage::Jsonata {
                    "Arguments"
                } else {
                    "Parameters"
                };
                self.required(part, &[args], &at);
            }
            WRITER_CONFIG => {
                self.required(part, &["OutputType", "Transformation"], &at);
            }
            _ => {}
        }
        for &(_, field, values) in MAP_PART_ENUMS.iter().filter(|(b, _, _)| *b == bit) {
            self.enum_value(part, field, values, &at);
        }
        for spec in MAP_PART_NUMBERS.iter().filter(|(b, _)| *b == bit) {
            self.number(part, &spec.1, &at, lang);
        }
        if let Some(resource) = self.string(part, "Resource", &at) {
            let allowed: &[&str] = if bit == READER {
                &["s3:getObject", "s3:listObjectsV2"]
            } else {
                &["s3:putObject"]
            };
            let action = resource
                .strip_prefix("arn:")
                .and_then(|r| r.split_once(':'))
                .and_then(|(_, r)| r.strip_prefix("states:::"));
            if !action.is_some_and(|a| allowed.contains(&a)) {
                self.err(unrecognized_resource_message(&resource), &child(&at, "Resource"));
            }
        }
        self.template(part, "Parameters", &at, QueryLanguage::JsonPath);
        self.template(part, "Arguments", &at, QueryLanguage::Jsonata);
        self.template(part, "BatchInput", &at, lang);
        if bit == READER {
            self.map_part(part, "ReaderConfig", READER_CONFIG, &at, lang);
        }
        if bit == WRITER {
            self.map_part(part, "WriterConfig", WRITER_CONFIG, &at, lang);
        }
        Some(Json::Object(part.clone()))
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
        self.check_fields(r, ptr, RULE_FIELDS, TOP_RULE, Some(lang), |k| {
            comparison_of(k).map(|_| JP)
        });
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
                self.type_err("BOOLEAN, STRING", &child(ptr, "Condition"));
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
            self.check_fields(r, ptr, RULE_FIELDS, NESTED_RULE, Some(QueryLanguage::JsonPath), |k| {
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
                let expected = if is_path { "STRING" } else { operand_type(op) };
                let fits = match expected {
                    "STRING" => operand.is_string(),
                    "NUMBER" => operand.is_number(),
                    _ => operand.is_boolean(),
                };
                if !fits {
                    self.type_err(expected, &child(ptr, key));
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

/// AWS's message for a resource it does not recognise.
/// Whether a Task's `Resource` has an ARN's shape, `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`
/// (region and account may be empty, as in `arn:aws:states:::lambda:invoke`), as AWS requires:
/// a bare name, or a `${Placeholder}` left unfilled, is not one.
pub fn is_arn(resource: &str) -> bool {
    let mut parts = resource.splitn(6, ':');
    let (Some("arn"), Some(partition), Some(service), Some(_region), Some(_account), Some(rest)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    let partition_ok = partition.strip_prefix("aws").is_some_and(|tail| {
        tail.is_empty() || tail.starts_with('-') && tail[1..].bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
    });
    let service_ok = !service.is_empty()
        && service
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    partition_ok && service_ok && !rest.is_empty()
}

pub(crate) fn unrecognized_resource_message(resource: &str) -> String {
    format!(
        "The resource provided {resource} is not recognized. The value is not a valid resource \
         ARN, or the resource is not available in this region."
    )
}

/// The language a `QueryLanguage` field selects, as AWS resolves it: JSONPath only for
/// exactly `"JSONPath"`, JSONata for any other value present, `None` when absent.
fn resolve_language(o: &Obj) -> Option<QueryLanguage> {
    Some(match o.get("QueryLanguage")?.as_str() {
        Some("JSONPath") => QueryLanguage::JsonPath,
        _ => QueryLanguage::Jsonata,
    })
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
        | C::TimestampGreaterThanEquals => "STRING",
        C::NumericEquals
        | C::NumericLessThan
        | C::NumericGreaterThan
        | C::NumericLessThanEquals
        | C::NumericGreaterThanEquals => "NUMBER",
        _ => "BOOLEAN",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json_error(text: &str) -> String {
        let d = parse_definition(text).unwrap_err();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].code, codes::INVALID_JSON_DESCRIPTION);
        d[0].message.clone()
    }

    #[test]
    fn jackson_like_messages() {
        assert_eq!(
            json_error("not a definition"),
            "Unrecognized token 'not': was expecting (JSON String, Number, Array, Object or token \
             'null', 'true' or 'false')\n at [Source: (String)\"not a definition\"; line: 1, column: 4]"
        );
        assert_eq!(
            json_error("{"),
            "Unexpected end-of-input: expected close marker for Object (start marker at [Source: \
             (String)\"{\"; line: 1, column: 1])\n at [Source: (String)\"{\"; line: 1, column: 2]"
        );
        assert_eq!(
            json_error("{\"a\" 1}"),
            "Unexpected character ('1' (code 49)): was expecting a colon to separate field name \
             and value\n at [Source: (String)\"{\"a\" 1}\"; line: 1, column: 7]"
        );
        assert!(json_error("{\"a\":1,}")
            .starts_with("Unexpected character ('}' (code 125)): was expecting double-quote to start field name"));
        assert!(
            json_error("\"abc").starts_with("Unexpected end-of-input: was expecting closing quote for a string value")
        );
        assert!(json_error("{\"a\":\"x\\qy\"}").starts_with("Unrecognized character escape 'q'"));
        assert!(json_error("[\"a\nb\"]").starts_with("Illegal unquoted character ((CTRL-CHAR, code 10))"));
        let long = format!("{{\"a\":\"{}\" x", "y".repeat(600));
        assert!(json_error(&long).contains("\"[truncated 109 chars]; line: 1, column: "));
    }

    #[test]
    fn map_parameters_become_the_item_selector() {
        let m = parse_definition(
            r#"{"StartAt":"M","States":{"M":{"Type":"Map","Parameters":{"a.$":"$$.Map.Item.Value"},
            "Iterator":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}}"#,
        )
        .unwrap();
        let s = &m.graph.states[0];
        assert!(s.parameters.is_none());
        let StateKind::Map(map) = &s.kind else {
            panic!("not a map")
        };
        assert!(map.legacy_iterator);
        assert_eq!(map.item_selector, Some(serde_json::json!({"a.$": "$$.Map.Item.Value"})));
        assert_eq!(map.processor.pointer, "/States/M/Iterator");
        assert_eq!(map.processor.states[0].pointer, "/States/M/Iterator/States/P");
    }

    #[test]
    fn reads_every_kind_of_field() {
        let m = parse_definition(
            r#"{"Comment":"c","Version":"1.0","TimeoutSeconds":30,"StartAt":"T","States":{
            "T":{"Type":"Task","Resource":"arn:aws:states:us-east-1:123456789012:activity:r","TimeoutSecondsPath":"$.t","HeartbeatSeconds":5,
                 "InputPath":null,"ResultPath":"$.r","Credentials":{"RoleArn":"x"},
                 "Retry":[{"ErrorEquals":["E"],"IntervalSeconds":2,"MaxAttempts":0,"BackoffRate":1.5,
                           "MaxDelaySeconds":10,"JitterStrategy":"FULL","Comment":"rc"}],
                 "Catch":[{"ErrorEquals":["States.ALL"],"Next":"C","ResultPath":null}],"Next":"C"},
            "C":{"Type":"Choice","Choices":[{"And":[{"Variable":"$.a","NumericGreaterThanPath":"$.b"},
                 {"Not":{"Variable":"$.s","StringMatches":"a*"}}],"Next":"W"}],"Default":"F"},
            "W":{"Type":"Wait","SecondsPath":"$.w","Next":"F"},
            "F":{"Type":"Fail","ErrorPath":"$.e","Cause":"because"}}}"#,
        )
        .unwrap();
        assert_eq!(m.timeout_seconds, Some(30));
        assert_eq!(m.version.as_deref(), Some("1.0"));
        let t = &m.graph.states[0];
        assert_eq!(t.input_path, Nullable::Null);
        assert_eq!(t.output_path, Nullable::Absent);
        assert_eq!(t.result_path, Nullable::Value("$.r".into()));
        assert_eq!(t.transition, Some(Transition::Next("C".into())));
        let StateKind::Task(task) = &t.kind else {
            panic!("not a task")
        };
        assert_eq!(task.timeout, Some(NumberSource::Path("$.t".into())));
        assert_eq!(task.heartbeat, Some(NumberSource::Literal(5.0)));
        let r = &t.retry[0];
        assert_eq!((r.interval_seconds, r.max_attempts, r.backoff_rate), (2.0, 0, 1.5));
        assert_eq!(r.max_delay_seconds, Some(10.0));
        assert!(r.jitter_full);
        assert_eq!(r.pointer, "/States/T/Retry[0]");
        assert_eq!(t.catch[0].result_path, Nullable::Null);
        assert_eq!(t.catch[0].pointer, "/States/T/Catch[0]");
        let StateKind::Choice { choices, default } = &m.graph.states[1].kind else {
            panic!("not a choice")
        };
        assert_eq!(default.as_deref(), Some("F"));
        assert_eq!(choices[0].pointer, "/States/C/Choices[0]");
        let Condition::And(parts) = &choices[0].condition else {
            panic!("not And")
        };
        assert!(matches!(
            &parts[0],
            Condition::Compare {
                op: Comparison::NumericGreaterThan,
                operand_is_path: true,
                ..
            }
        ));
        assert!(matches!(&parts[1], Condition::Not(_)));
        assert!(matches!(
            m.graph.states[2].kind,
            StateKind::Wait(WaitFor::Seconds(NumberSource::Path(_)))
        ));
        let StateKind::Fail(f) = &m.graph.states[3].kind else {
            panic!("not a fail")
        };
        assert_eq!(f.error_path.as_deref(), Some("$.e"));
        assert_eq!(f.cause.as_deref(), Some("because"));
    }

    #[test]
    fn reports_all_problems_at_once() {
        let d = parse_definition(
            r#"{"StartAt":"A","Bogus":1,"States":{"A":{"Type":"Pass","End":"yes"},
            "B":{"Type":"Task","End":true},"C":{"Type":"Wait","Seconds":1,"Timestamp":"x","End":true}}}"#,
        )
        .unwrap_err();
        let got: Vec<String> = d.iter().map(|d| d.to_string()).collect();
        assert_eq!(
            got,
            vec![
                "SCHEMA_VALIDATION_FAILED: Field 'Bogus' is not supported at /",
                "SCHEMA_VALIDATION_FAILED: Expected value of type [BOOLEAN] at /States/A/End",
                "SCHEMA_VALIDATION_FAILED: One of these fields is required: [Next, End] at /States/A",
                "SCHEMA_VALIDATION_FAILED: These fields are required: [Resource] at /States/B",
                "SCHEMA_VALIDATION_FAILED: These fields cannot be used together: [Seconds, Timestamp] at /States/C/Seconds",
            ]
        );
    }
}
