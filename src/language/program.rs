//! The compiled program: an immutable, `Send + Sync` set of flat tables that the interpreter
//! runs. States are [`StateId`]s, graphs (the top level, Parallel branches, Map processors)
//! are [`GraphId`]s; every path, template, intrinsic call, Choice rule and expression is
//! already parsed.

use crate::choice::Decision;
use crate::consts::Constants;
use crate::model::QueryLanguage;
use crate::path::Path;
use crate::payload::{NumberSpec, Payload, StringSource};
use crate::template::Template;
use crate::value::Value;

/// Index of a state in a [`Program`]'s state table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StateId(pub u32);

/// Index of a graph (`StartAt` + `States`) in a [`Program`]'s graph table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GraphId(pub u32);

/// Index of a distinct `Resource` string in [`Program::resources`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ResourceId(pub u32);

/// The resource of S3's `GetObject`: how a Distributed Map's `ItemReader` on
/// `arn:aws:states:::s3:getObject` reads its object when no handler answers that resource.
pub const S3_GET_OBJECT: &str = "arn:aws:states:::aws-sdk:s3:getObject";
/// The resource of S3's `ListObjectsV2`: how an `ItemReader` on `s3:listObjectsV2` pages
/// through the objects when no handler answers that resource.
pub const S3_LIST_OBJECTS_V2: &str = "arn:aws:states:::aws-sdk:s3:listObjectsV2";
/// The resource of S3's `PutObject`: how a `ResultWriter` writes the result files and their
/// manifest when no handler answers its resource.
pub const S3_PUT_OBJECT: &str = "arn:aws:states:::aws-sdk:s3:putObject";

/// A compiled state machine definition.
#[derive(Debug)]
pub struct Program {
    /// Every state of every graph.
    pub(crate) states: Vec<StateDef>,
    /// Every graph; [`GraphId(0)`](GraphId) is the top level.
    pub(crate) graphs: Vec<GraphDef>,
    /// Distinct Task `Resource` strings.
    pub(crate) resources: Vec<&'static str>,
    /// How many Task states there are (their [`TaskDef::slot`]s count from 0).
    pub(crate) task_count: u32,
    /// The machine's `TimeoutSeconds`.
    pub(crate) timeout_seconds: Option<u64>,
    /// Whether any state reads the context object (`$$`, `$states.context`): only then is it
    /// built.
    pub(crate) uses_context: bool,
    /// Literal values, interned keys and names. Declared last: dropped after everything that
    /// points into it.
    #[allow(dead_code)] // Owned only to keep the values above alive.
    pub(crate) consts: Constants,
}

impl Program {
    /// The state with this id.
    #[inline]
    pub(crate) fn state(&self, id: StateId) -> &StateDef {
        &self.states[id.0 as usize]
    }

    /// The graph with this id.
    #[inline]
    pub(crate) fn graph(&self, id: GraphId) -> &GraphDef {
        &self.graphs[id.0 as usize]
    }

    /// The distinct Task resources, in id order.
    pub fn resources(&self) -> &[&str] {
        // `&'static str` narrows to the borrow of `self`.
        &self.resources
    }

    /// Whether an execution may suspend on time: some state is a Wait, or has a Retry (whose
    /// back-off waits). Without either, and with handlers that answer at once, an execution
    /// runs to its end without waiting.
    pub fn can_wait(&self) -> bool {
        self.states
            .iter()
            .any(|s| matches!(s.op, Op::Wait(_)) || !s.retry.is_empty())
    }

    /// The S3 actions ([`S3_GET_OBJECT`], [`S3_LIST_OBJECTS_V2`], [`S3_PUT_OBJECT`]) that
    /// the Distributed Maps' `ItemReader`s and `ResultWriter`s call when no handler answers
    /// their own resource: what a host binds to its S3 integration.
    pub fn map_io_resources(&self) -> Vec<&'static str> {
        let mut resources = Vec::new();
        for state in &self.states {
            let Op::Map(map) = &state.op else { continue };
            if let Some(reader) = &map.reader {
                resources.push(match reader.resource.ends_with(":listObjectsV2") {
                    true => S3_LIST_OBJECTS_V2,
                    false => S3_GET_OBJECT,
                });
            }
            if map.writer.is_some() {
                resources.push(S3_PUT_OBJECT);
            }
        }
        resources.sort_unstable();
        resources.dedup();
        resources
    }

    /// Number of states (over all graphs).
    pub fn state_count(&self) -> usize {
        self.states.len()
    }
}

/// A `StartAt` and its `States`.
#[derive(Debug)]
pub struct GraphDef {
    /// Where the graph starts.
    pub start: StateId,
    /// The graph is one [`StateDef::pure_pass`] state that ends it, in a program that never
    /// reads the context object: a Parallel branch or Map iteration of it runs without a
    /// frame of its own (its output is a pure function of its input and the variables).
    pub frameless: bool,
}

/// An input/output path field: absent (use `$`), `null`, or a path.
#[derive(Debug, Default)]
pub enum PathSpec {
    /// Not given: the whole value.
    #[default]
    Whole,
    /// `null`: InputPath gives `{}`, ResultPath discards the result, OutputPath gives `{}`.
    Null,
    /// A path.
    Path(Path),
}

/// What happens after a state: go to another state or end the graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// `Next`.
    State(StateId),
    /// `End: true`.
    End,
}

/// One compiled state.
#[derive(Debug)]
pub struct StateDef {
    /// The state's name.
    pub name: &'static str,
    /// The `Type` name, as history events spell it (`Pass`, `Task`, ...).
    pub type_name: &'static str,
    /// The `...StateEntered` event type.
    pub entered_event: &'static str,
    /// The `...StateExited` event type.
    pub exited_event: &'static str,
    /// The query language in force for this state.
    pub language: QueryLanguage,
    /// `InputPath`.
    pub input_path: PathSpec,
    /// `Parameters` (JSONPath) or `Arguments` (JSONata): makes the effective input.
    pub parameters: Option<Payload>,
    /// `ResultSelector`.
    pub result_selector: Option<Payload>,
    /// `ResultPath`.
    pub result_path: PathSpec,
    /// `OutputPath`.
    pub output_path: PathSpec,
    /// JSONata `Output`.
    pub output: Option<Payload>,
    /// `Assign`.
    pub assign: Option<Payload>,
    /// Where to go next (Choice, Succeed and Fail: [`Next::End`], unused).
    pub next: Next,
    /// JSONPath with InputPath, ResultPath and OutputPath left at `$` and no Parameters,
    /// ResultSelector, Assign or Pass `Result`: the input is the effective input, the result
    /// the output, and nothing is left to check.
    pub plain_io: bool,
    /// A JSONPath Pass state without `Assign`: its output is computed in one step
    /// ([`crate::exec`]'s `pass_output`) and it changes nothing but the frame's position.
    pub pure_pass: bool,
    /// A [`pure_pass`](Self::pure_pass) state with `Parameters`, perhaps a `ResultPath`, and
    /// every other field at its default (InputPath and OutputPath at `$`, no `Result`).
    pub parameters_pass: bool,
    /// A [`plain_io`](Self::plain_io) Choice state whose rules have no `Assign`: it passes
    /// its input on to the state its rules pick and changes nothing else.
    pub plain_choice: bool,
    /// A JSONPath Succeed state with `InputPath` at `$` and no `Assign`: its output is its
    /// `OutputPath` of its input.
    pub plain_succeed: bool,
    /// A [`pure_pass`](Self::pure_pass), [`plain_choice`](Self::plain_choice),
    /// [`plain_succeed`](Self::plain_succeed) or [`plain_task`](Self::plain_task) state: one
    /// that the interpreter runs in one step, chained to the next such state
    /// ([`crate::exec`]'s `attempt_chain`; a task that answers later ends the chain).
    pub chained: bool,
    /// A [`plain_io`](Self::plain_io) Task without `TimeoutSeconds` or `HeartbeatSeconds`
    /// (nor their paths): its raw input goes to the handler as it is, its result is its
    /// output.
    pub plain_task: bool,
    /// A Task whose `Resource` ends in `.waitForTaskToken`, not [`chained`](Self::chained),
    /// in a program that reads the context object: each attempt issues its task token before
    /// its `Parameters` / `Arguments` are evaluated, and they read it as `$$.Task.Token`
    /// (`$states.context.Task.Token`).
    pub issues_token: bool,
    /// `Retry`.
    pub retry: Vec<RetryDef>,
    /// `Catch`.
    pub catch: Vec<CatchDef>,
    /// The type-specific operation.
    pub op: Op,
}

impl StateDef {
    /// The `Parameters` of a [`parameters_pass`](Self::parameters_pass) state whose
    /// `ResultPath` is `$` as well: its output is the template's value.
    #[inline]
    pub fn output_template(&self) -> Option<&Template> {
        match (&self.parameters, &self.result_path) {
            (Some(Payload::Template(template)), PathSpec::Whole) if self.parameters_pass => Some(template),
            _ => None,
        }
    }
}

/// The type-specific part of a state: what the interpreter does between input and output
/// processing.
#[derive(Debug)]
pub enum Op {
    /// `Pass`: result is `Result`, or the effective input.
    Pass {
        /// `Result`.
        result: Option<Value<'static>>,
    },
    /// `Task`: call the handler registered for the resource.
    Task(Box<TaskDef>),
    /// `Choice`: the first rule that matches picks `Next`.
    Choice {
        /// `Choices`.
        rules: Vec<ChoiceRuleDef>,
        /// The rules' conditions, as one program that picks the rule.
        decision: Decision,
        /// `Default`.
        default: Option<StateId>,
    },
    /// `Wait`: suspend until a time.
    Wait(WaitDef),
    /// `Succeed`: end the graph with the state's output.
    Succeed,
    /// `Fail`: end the graph with an error.
    Fail {
        /// `Error` / `ErrorPath` / JSONata `Error`.
        error: Option<StringSource>,
        /// `Cause` / `CausePath` / JSONata `Cause`.
        cause: Option<StringSource>,
    },
    /// `Parallel`: run every branch on the effective input; the result is their outputs.
    Parallel {
        /// `Branches`.
        branches: Vec<GraphId>,
    },
    /// `Map`: run the processor once per item; the result is their outputs.
    Map(Box<MapDef>),
}

/// A Task's own fields.
#[derive(Debug)]
pub struct TaskDef {
    /// The resource.
    pub resource: ResourceId,
    /// The resource string.
    pub resource_name: &'static str,
    /// The state's index among the program's Task states (where a machine binds its handler
    /// or its mock).
    pub slot: u32,
    /// `TimeoutSeconds` / `TimeoutSecondsPath`.
    pub timeout: Option<NumberSpec>,
    /// `HeartbeatSeconds` / `HeartbeatSecondsPath`.
    pub heartbeat: Option<NumberSpec>,
    /// How the resource is invoked, which decides the history events and the error shapes.
    pub flavor: TaskFlavor,
    /// The `resourceType` of its task history events (`lambda`, `sqs`, `aws-sdk:s3`, ...).
    pub resource_type: &'static str,
    /// The `resource` of its task history events (`invoke`, `sendMessage.waitForTaskToken`).
    pub resource_action: &'static str,
}

/// How a Task resource is invoked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskFlavor {
    /// A Lambda function ARN as `Resource` (LambdaFunction* history events).
    LambdaArn,
    /// `arn:aws:states:::lambda:invoke`: the function is named by `FunctionName`, the input
    /// is `Payload`, and the result is wrapped (`Payload`, `StatusCode`, ...).
    LambdaInvoke,
    /// An activity ARN (`arn:aws:states:REGION:ACCOUNT:activity:NAME`): Activity* history
    /// events; its handler answers later (a worker takes the task:
    /// [`Execution::start_activity`](crate::exec::Execution::start_activity)).
    Activity,
    /// Any other resource: the handler gets the effective input and returns the result.
    Plain,
}

/// A compiled Choice rule.
#[derive(Debug)]
pub struct ChoiceRuleDef {
    /// Where to go when it matches.
    pub next: StateId,
    /// The rule's `Assign`.
    pub assign: Option<Payload>,
    /// The rule's `Output` (JSONata).
    pub output: Option<Payload>,
}

/// How long a Wait state waits.
#[derive(Debug)]
pub enum WaitDef {
    /// `Seconds`, `SecondsPath` or a JSONata `Seconds`.
    Seconds(NumberSpec),
    /// `Timestamp` (literal, epoch milliseconds).
    Timestamp(i64),
    /// `TimestampPath`.
    TimestampPath(Path),
    /// JSONata `Timestamp` expression.
    TimestampExpr(Payload),
}

/// A Map state's own fields.
#[derive(Debug)]
pub struct MapDef {
    /// The processor graph.
    pub processor: GraphId,
    /// `ItemsPath` (JSONPath).
    pub items_path: PathSpec,
    /// `Items` (JSONata).
    pub items: Option<Payload>,
    /// `ItemSelector` (or the older `Parameters`).
    pub item_selector: Option<Payload>,
    /// `MaxConcurrency` / `MaxConcurrencyPath`.
    pub max_concurrency: Option<NumberSpec>,
    /// `ToleratedFailureCount` / `...Path`.
    pub tolerated_failure_count: Option<NumberSpec>,
    /// `ToleratedFailurePercentage` / `...Path`.
    pub tolerated_failure_percentage: Option<NumberSpec>,
    /// `ItemBatcher`: items per batch and the batch input.
    pub batcher: Option<BatcherDef>,
    /// `ItemReader`: where a Distributed Map reads its items.
    pub reader: Option<ExternalStep>,
    /// `ItemReader.ReaderConfig`: how the items are read.
    pub reader_config: ReaderConfig,
    /// `ResultWriter`: where a Distributed Map writes its results.
    pub writer: Option<ExternalStep>,
    /// A Distributed Map (`ProcessorConfig.Mode` `DISTRIBUTED`, or an `ItemReader`): it
    /// runs as a map run (`MapRunStarted`, `MapRunSucceeded` / `MapRunFailed`).
    pub distributed: bool,
    /// `Label`: the map run's name in its ARN (the state's name without one).
    pub label: &'static str,
}

/// An `ItemReader`'s `ReaderConfig`.
#[derive(Debug, Default)]
pub struct ReaderConfig {
    /// `InputType`; `None` when not given (a listing, or a reader that returns the items).
    pub input_type: Option<InputType>,
    /// `CSVHeaderLocation` is `GIVEN`: the header names are [`csv_headers`](Self::csv_headers).
    pub csv_headers_given: bool,
    /// `CSVHeaders`.
    pub csv_headers: Vec<String>,
    /// `CSVDelimiter` as a byte (`,` by default).
    pub csv_delimiter: Option<u8>,
    /// `MaxItems` / `MaxItemsPath`.
    pub max_items: Option<NumberSpec>,
}

/// `ReaderConfig.InputType`: the format of the object an `ItemReader` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputType {
    /// A JSON array.
    Json,
    /// JSON Lines: one value per line.
    Jsonl,
    /// CSV rows, as objects of strings.
    Csv,
    /// An S3 inventory `manifest.json`, whose CSV data files list the objects.
    Manifest,
}

/// A Distributed Map's `ItemReader` or `ResultWriter`: the resource it calls (an S3 action)
/// with its `Parameters` (JSONPath) or `Arguments` (JSONata).
#[derive(Debug)]
pub struct ExternalStep {
    /// `Resource`.
    pub resource: &'static str,
    /// `Parameters` / `Arguments`, evaluated against the Map state's input.
    pub parameters: Option<Payload>,
}

/// `ItemBatcher`.
#[derive(Debug)]
pub struct BatcherDef {
    /// `MaxItemsPerBatch` / `...Path`.
    pub max_items_per_batch: Option<NumberSpec>,
    /// `MaxInputBytesPerBatch` / `...Path`: the most bytes of JSON a batch's input has.
    pub max_input_bytes_per_batch: Option<NumberSpec>,
    /// `BatchInput`.
    pub batch_input: Option<Payload>,
}

/// One compiled `Retry` entry.
#[derive(Debug)]
pub struct RetryDef {
    /// `ErrorEquals` (names interned).
    pub error_equals: Vec<&'static str>,
    /// `IntervalSeconds`.
    pub interval_seconds: f64,
    /// `MaxAttempts`.
    pub max_attempts: u32,
    /// `BackoffRate`.
    pub backoff_rate: f64,
    /// `MaxDelaySeconds`.
    pub max_delay_seconds: Option<f64>,
    /// `JitterStrategy: FULL`.
    pub jitter_full: bool,
}

/// One compiled `Catch` entry.
#[derive(Debug)]
pub struct CatchDef {
    /// `ErrorEquals`.
    pub error_equals: Vec<&'static str>,
    /// `Next`.
    pub next: StateId,
    /// `ResultPath`.
    pub result_path: PathSpec,
    /// JSONata `Output`.
    pub output: Option<Payload>,
    /// `Assign`.
    pub assign: Option<Payload>,
}

/// Whether an error name is matched by an `ErrorEquals` list. `States.ALL` matches every
/// error except `States.Runtime` and `States.DataLimitExceeded`, which nothing catches.
pub fn error_matches(error_equals: &[&str], error: &str) -> bool {
    use crate::error::names;
    if error == names::RUNTIME || error == names::DATA_LIMIT_EXCEEDED {
        return false;
    }
    error_equals.iter().any(|e| *e == error || (*e == names::ALL))
        || (error_equals.contains(&names::TASK_FAILED) && !error.starts_with("States."))
}

#[allow(unused)]
fn _assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<Program>();
}
