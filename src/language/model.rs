//! The typed model of an Amazon States Language definition, as parsed from its JSON text.
//!
//! The model is a faithful, still-uncompiled picture of the definition: paths, templates and
//! expressions are kept as written (strings and JSON values), each state knows its JSON
//! Pointer so diagnostics can say where. [`crate::parse`] builds it and reports schema errors;
//! [`mod@crate::validate`] checks the rules that span fields and states; [`crate::compile`] turns
//! it into a [`crate::Program`].

use serde_json::Value as Json;

/// Which query language a state (or the machine) uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum QueryLanguage {
    /// JSONPath, the default: paths, payload templates and intrinsic functions.
    #[default]
    JsonPath,
    /// JSONata: `{% ... %}` expressions, `Arguments`, `Output`.
    Jsonata,
}

/// STANDARD or EXPRESS: which rules the validator applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum MachineType {
    /// A Standard workflow.
    #[default]
    Standard,
    /// An Express workflow: no `.sync`, `.waitForTaskToken` or activities.
    Express,
}

/// A whole state machine definition.
#[derive(Clone, Debug)]
pub struct StateMachine {
    /// The top-level `StartAt`, `States`.
    pub graph: Graph,
    /// `Comment`.
    pub comment: Option<String>,
    /// `Version`.
    pub version: Option<String>,
    /// `TimeoutSeconds`: the whole execution's limit.
    pub timeout_seconds: Option<u64>,
    /// Top-level `QueryLanguage`.
    pub query_language: Option<QueryLanguage>,
}

/// A `StartAt` with its `States`: the top level, a Parallel branch or a Map processor.
#[derive(Clone, Debug)]
pub struct Graph {
    /// `StartAt`.
    pub start_at: String,
    /// `States`, in document order.
    pub states: Vec<State>,
    /// JSON Pointer of this graph's object (`""` for the top level).
    pub pointer: String,
}

/// `Next` or `End`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transition {
    /// `"Next": name`.
    Next(String),
    /// `"End": true` (or a terminal state type).
    End,
}

/// A field that may be absent, JSON `null`, or a value: `InputPath`, `OutputPath` and
/// `ResultPath` treat `null` differently from absence.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Nullable<T> {
    /// Not in the definition.
    #[default]
    Absent,
    /// Explicitly `null`.
    Null,
    /// Given.
    Value(T),
}

impl StateMachine {
    /// The machine's default query language (its `QueryLanguage`, else JSONPath).
    pub fn default_language(&self) -> QueryLanguage {
        self.query_language.unwrap_or_default()
    }
}

/// One state of a graph.
#[derive(Clone, Debug)]
pub struct State {
    /// The state's name (its key in `States`).
    pub name: String,
    /// JSON Pointer to the state object, such as `/States/Check`.
    pub pointer: String,
    /// `Comment`.
    pub comment: Option<String>,
    /// The state's own `QueryLanguage`, if set.
    pub query_language: Option<QueryLanguage>,
    /// `InputPath` (JSONPath).
    pub input_path: Nullable<String>,
    /// `OutputPath` (JSONPath).
    pub output_path: Nullable<String>,
    /// `Parameters` (JSONPath payload template; Map's older name for `ItemSelector`).
    pub parameters: Option<Json>,
    /// `ResultSelector` (JSONPath payload template).
    pub result_selector: Option<Json>,
    /// `ResultPath` (JSONPath reference path).
    pub result_path: Nullable<String>,
    /// `Arguments` (JSONata).
    pub arguments: Option<Json>,
    /// `Output` (JSONata).
    pub output: Option<Json>,
    /// `Assign`.
    pub assign: Option<Json>,
    /// `Next` / `End` (None for Choice, Succeed and Fail).
    pub transition: Option<Transition>,
    /// `Retry`.
    pub retry: Vec<Retrier>,
    /// `Catch`.
    pub catch: Vec<Catcher>,
    /// What kind of state, with its own fields.
    pub kind: StateKind,
}

impl State {
    /// The query language this state runs in: its own `QueryLanguage`, else the machine's
    /// (states inside a Map or Parallel inherit the machine's, not the Map's or Parallel's).
    pub fn language(&self, machine_default: QueryLanguage) -> QueryLanguage {
        self.query_language.unwrap_or(machine_default)
    }
}

/// The per-type part of a state.
#[derive(Clone, Debug)]
pub enum StateKind {
    /// `Pass`.
    Pass {
        /// `Result`.
        result: Option<Json>,
    },
    /// `Task`.
    Task(Box<TaskFields>),
    /// `Choice`.
    Choice {
        /// `Choices`.
        choices: Vec<ChoiceRule>,
        /// `Default`.
        default: Option<String>,
    },
    /// `Wait`.
    Wait(WaitFor),
    /// `Succeed`.
    Succeed,
    /// `Fail`.
    Fail(FailFields),
    /// `Parallel`.
    Parallel {
        /// `Branches`.
        branches: Vec<Graph>,
    },
    /// `Map`.
    Map(Box<MapFields>),
}

impl StateKind {
    /// The `Type` string.
    pub fn type_name(&self) -> &'static str {
        match self {
            StateKind::Pass { .. } => "Pass",
            StateKind::Task(_) => "Task",
            StateKind::Choice { .. } => "Choice",
            StateKind::Wait(_) => "Wait",
            StateKind::Succeed => "Succeed",
            StateKind::Fail(_) => "Fail",
            StateKind::Parallel { .. } => "Parallel",
            StateKind::Map(_) => "Map",
        }
    }
}

/// A number given literally, through a reference path, or (JSONata) as an expression.
#[derive(Clone, Debug, PartialEq)]
pub enum NumberSource {
    /// A literal number (`TimeoutSeconds: 5`).
    Literal(f64),
    /// A reference path (`TimeoutSecondsPath: "$.t"`).
    Path(String),
    /// A JSONata `{% %}` string.
    Jsonata(String),
}

/// Task-only fields.
#[derive(Clone, Debug)]
pub struct TaskFields {
    /// `Resource`.
    pub resource: String,
    /// `TimeoutSeconds` / `TimeoutSecondsPath`.
    pub timeout: Option<NumberSource>,
    /// `HeartbeatSeconds` / `HeartbeatSecondsPath`.
    pub heartbeat: Option<NumberSource>,
    /// `Credentials`.
    pub credentials: Option<Json>,
}

/// How a Wait state decides how long to wait.
#[derive(Clone, Debug, PartialEq)]
pub enum WaitFor {
    /// `Seconds` (literal) or, in JSONata, a `{% %}` string.
    Seconds(NumberSource),
    /// `Timestamp`: a literal ISO-8601 string, or a JSONata expression.
    Timestamp(String),
    /// `TimestampPath`.
    TimestampPath(String),
}

/// Fail-only fields.
#[derive(Clone, Debug, Default)]
pub struct FailFields {
    /// `Error` (literal, or JSONata expression string).
    pub error: Option<String>,
    /// `ErrorPath` (reference path or intrinsic call).
    pub error_path: Option<String>,
    /// `Cause`.
    pub cause: Option<String>,
    /// `CausePath`.
    pub cause_path: Option<String>,
}

/// Map-only fields.
#[derive(Clone, Debug)]
pub struct MapFields {
    /// `ItemProcessor` or the older `Iterator`.
    pub processor: Graph,
    /// `ItemProcessor.ProcessorConfig.Mode` is `DISTRIBUTED`.
    pub distributed: bool,
    /// `ItemProcessor.ProcessorConfig.ExecutionType` (`STANDARD` or `EXPRESS`), if given.
    pub execution_type: Option<String>,
    /// The processor came from the deprecated `Iterator` field rather than `ItemProcessor`.
    pub legacy_iterator: bool,
    /// `ItemsPath` (JSONPath).
    pub items_path: Option<String>,
    /// `Items` (JSONata: array or expression).
    pub items: Option<Json>,
    /// `ItemSelector` or, when only the deprecated `Parameters` is given, that: this is the
    /// one per-item template to apply. (For a Map, [`State::parameters`] is left `None` by
    /// the parser, so the template is never applied twice.)
    pub item_selector: Option<Json>,
    /// `MaxConcurrency` / `MaxConcurrencyPath`.
    pub max_concurrency: Option<NumberSource>,
    /// `ToleratedFailureCount` / `...Path`.
    pub tolerated_failure_count: Option<NumberSource>,
    /// `ToleratedFailurePercentage` / `...Path`.
    pub tolerated_failure_percentage: Option<NumberSource>,
    /// `ItemBatcher`, as written.
    pub item_batcher: Option<Json>,
    /// `ItemReader`, as written (runs only without an external reader).
    pub item_reader: Option<Json>,
    /// `ResultWriter`, as written.
    pub result_writer: Option<Json>,
    /// `Label`.
    pub label: Option<String>,
}

/// One entry of `Retry`.
#[derive(Clone, Debug, PartialEq)]
pub struct Retrier {
    /// `ErrorEquals`.
    pub error_equals: Vec<String>,
    /// `IntervalSeconds` (default 1).
    pub interval_seconds: f64,
    /// `MaxAttempts` (default 3).
    pub max_attempts: u32,
    /// `BackoffRate` (default 2.0).
    pub backoff_rate: f64,
    /// `MaxDelaySeconds`.
    pub max_delay_seconds: Option<f64>,
    /// `JitterStrategy` is `FULL`.
    pub jitter_full: bool,
    /// `Comment`.
    pub comment: Option<String>,
    /// JSON Pointer of this retrier.
    pub pointer: String,
}

/// One entry of `Catch`.
#[derive(Clone, Debug)]
pub struct Catcher {
    /// `ErrorEquals`.
    pub error_equals: Vec<String>,
    /// `Next`.
    pub next: String,
    /// `ResultPath` (JSONPath).
    pub result_path: Nullable<String>,
    /// `Output` (JSONata).
    pub output: Option<Json>,
    /// `Assign`.
    pub assign: Option<Json>,
    /// `Comment`.
    pub comment: Option<String>,
    /// JSON Pointer of this catcher.
    pub pointer: String,
}

/// A top-level Choice rule: a condition with where to go.
#[derive(Clone, Debug)]
pub struct ChoiceRule {
    /// The condition.
    pub condition: Condition,
    /// `Next`.
    pub next: String,
    /// `Assign` of this rule.
    pub assign: Option<Json>,
    /// `Output` of this rule (JSONata).
    pub output: Option<Json>,
    /// `Comment` of this rule.
    pub comment: Option<String>,
    /// JSON Pointer of this rule.
    pub pointer: String,
}

/// A Choice condition (a rule without its `Next`).
#[derive(Clone, Debug)]
pub enum Condition {
    /// `And`.
    And(Vec<Condition>),
    /// `Or`.
    Or(Vec<Condition>),
    /// `Not`.
    Not(Box<Condition>),
    /// `Variable` with one comparison operator.
    Compare {
        /// `Variable` (a path).
        variable: String,
        /// The operator.
        op: Comparison,
        /// Whether the operator is the `...Path` form.
        operand_is_path: bool,
        /// The operand as written (for `...Path`, a string path).
        operand: Json,
    },
    /// JSONata `Condition`: `true`/`false` or a `{% %}` string.
    Jsonata(Json),
}

/// A Choice comparison operator, without its `Path` suffix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    /// `StringEquals`
    StringEquals,
    /// `StringLessThan`
    StringLessThan,
    /// `StringGreaterThan`
    StringGreaterThan,
    /// `StringLessThanEquals`
    StringLessThanEquals,
    /// `StringGreaterThanEquals`
    StringGreaterThanEquals,
    /// `StringMatches` (no Path form)
    StringMatches,
    /// `NumericEquals`
    NumericEquals,
    /// `NumericLessThan`
    NumericLessThan,
    /// `NumericGreaterThan`
    NumericGreaterThan,
    /// `NumericLessThanEquals`
    NumericLessThanEquals,
    /// `NumericGreaterThanEquals`
    NumericGreaterThanEquals,
    /// `BooleanEquals`
    BooleanEquals,
    /// `TimestampEquals`
    TimestampEquals,
    /// `TimestampLessThan`
    TimestampLessThan,
    /// `TimestampGreaterThan`
    TimestampGreaterThan,
    /// `TimestampLessThanEquals`
    TimestampLessThanEquals,
    /// `TimestampGreaterThanEquals`
    TimestampGreaterThanEquals,
    /// `IsNull`
    IsNull,
    /// `IsPresent`
    IsPresent,
    /// `IsNumeric`
    IsNumeric,
    /// `IsString`
    IsString,
    /// `IsBoolean`
    IsBoolean,
    /// `IsTimestamp`
    IsTimestamp,
}

impl Comparison {
    /// Every operator with its name, for parsing (`...Path` forms are the name plus `Path`,
    /// for every operator but `StringMatches` and the `Is...` tests).
    pub const ALL: [(&'static str, Comparison); 23] = [
        ("StringEquals", Comparison::StringEquals),
        ("StringLessThan", Comparison::StringLessThan),
        ("StringGreaterThan", Comparison::StringGreaterThan),
        ("StringLessThanEquals", Comparison::StringLessThanEquals),
        ("StringGreaterThanEquals", Comparison::StringGreaterThanEquals),
        ("StringMatches", Comparison::StringMatches),
        ("NumericEquals", Comparison::NumericEquals),
        ("NumericLessThan", Comparison::NumericLessThan),
        ("NumericGreaterThan", Comparison::NumericGreaterThan),
        ("NumericLessThanEquals", Comparison::NumericLessThanEquals),
        ("NumericGreaterThanEquals", Comparison::NumericGreaterThanEquals),
        ("BooleanEquals", Comparison::BooleanEquals),
        ("TimestampEquals", Comparison::TimestampEquals),
        ("TimestampLessThan", Comparison::TimestampLessThan),
        ("TimestampGreaterThan", Comparison::TimestampGreaterThan),
        ("TimestampLessThanEquals", Comparison::TimestampLessThanEquals),
        ("TimestampGreaterThanEquals", Comparison::TimestampGreaterThanEquals),
        ("IsNull", Comparison::IsNull),
        ("IsPresent", Comparison::IsPresent),
        ("IsNumeric", Comparison::IsNumeric),
        ("IsString", Comparison::IsString),
        ("IsBoolean", Comparison::IsBoolean),
        ("IsTimestamp", Comparison::IsTimestamp),
    ];

    /// Whether the operator has a `...Path` form.
    pub fn has_path_form(self) -> bool {
        !matches!(
            self,
            Comparison::StringMatches
                | Comparison::IsNull
                | Comparison::IsPresent
                | Comparison::IsNumeric
                | Comparison::IsString
                | Comparison::IsBoolean
                | Comparison::IsTimestamp
        )
    }
}
