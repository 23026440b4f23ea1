//! The public face of a compiled state machine: compile once, run many.

use std::sync::Arc;

use crate::clock::{Clock, SystemClock};
use crate::compile::{compile, CompileError};
use crate::diagnostic::{invalid_definition_message, location_of, Diagnostic, Severity};
use crate::exec::{Execution, ExecutionInfo, RawOutcome, Status, Step};
use crate::history::HistorySink;
use crate::limits::Limits;
use crate::mock::{MockError, MockedState, Mocks};
use crate::model::{MachineType, StateMachine};
use crate::parse::{parse_definition, parse_definition_value};
use crate::program::{Op, Program, TaskFlavor};
use crate::tasks::{TaskHandler, TaskRegistry};
use crate::validate::validate;
use crate::value::{Arena, Value};

/// A compiled state machine with its task handlers bound: immutable, `Send + Sync`, shared
/// by every execution.
#[derive(Clone)]
pub struct Machine {
    program: Arc<Program>,
    registry: TaskRegistry,
    /// What each Task state calls, by [`TaskDef::slot`](crate::program::TaskDef::slot):
    /// resolved once.
    handlers: Arc<[TaskBinding]>,
    /// The limits on each execution.
    limits: Arc<Limits>,
    /// What Wait states' waits are multiplied by (Step Functions Local's `WAIT_TIME_SCALE`).
    wait_time_scale: f64,
}

/// What a Task state is bound to in a [`Machine`]: which also decides how it is called, so
/// that a Task with a registered handler takes one check.
#[derive(Clone)]
pub(crate) enum TaskBinding {
    /// The handler registered for its resource.
    Handler(Arc<dyn TaskHandler>),
    /// No handler is registered for its resource.
    Unbound,
    /// `arn:aws:states:::lambda:invoke`: the handler is found by `FunctionName`, per call.
    ByFunctionName,
    /// Mocked: its answers come from a mocked response.
    Mock(Arc<MockedState>),
}

/// What each Task state of `program` calls with `tasks` registered, by
/// [`TaskDef::slot`](crate::program::TaskDef::slot): its resource's handler, or the handler
/// named by `FunctionName` per call (`lambda:invoke`).
fn bind_tasks(program: &Program, tasks: &TaskRegistry) -> Vec<TaskBinding> {
    let mut handlers = vec![TaskBinding::Unbound; program.task_count as usize];
    for state in &program.states {
        if let Op::Task(task) = &state.op {
            handlers[task.slot as usize] = match (task.flavor, tasks.get(task.resource_name)) {
                (TaskFlavor::LambdaInvoke, _) => TaskBinding::ByFunctionName,
                (_, Some(handler)) => TaskBinding::Handler(handler.clone()),
                (_, None) => TaskBinding::Unbound,
            };
        }
    }
    handlers
}

impl std::fmt::Debug for Machine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Machine")
            .field("states", &self.program.state_count())
            .field("tasks", &self.registry)
            .finish()
    }
}

/// How an execution ended, with its output as JSON text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// How it ended.
    pub status: Status,
    /// The output (JSON text), when it succeeded.
    pub output: Option<String>,
    /// The error name, when it failed with one.
    pub error: Option<String>,
    /// The cause, when it failed with one.
    pub cause: Option<String>,
}

impl Outcome {
    /// Converts an arena outcome (writes the output's JSON text).
    pub fn from_raw(raw: &RawOutcome<'_>) -> Outcome {
        Outcome {
            status: raw.status,
            output: raw.output.map(|_| {
                let mut text = Vec::new();
                raw.write_output(&mut text);
                // the writer only ever writes UTF-8
                String::from_utf8(text).unwrap_or_default()
            }),
            error: raw.error.clone(),
            cause: raw.cause.clone(),
        }
    }

    /// The output parsed as a `serde_json::Value`.
    pub fn output_value(&self) -> Option<serde_json::Value> {
        self.output.as_deref().and_then(|o| serde_json::from_str(o).ok())
    }

    /// AWS's `StartSyncExecution` response for this outcome of the execution `info`
    /// describes (its ARN, name and state machine), on `input`, between `start_ms` and
    /// `stop_ms` (epoch milliseconds; dates on the wire are epoch seconds).
    pub fn sync_response(&self, info: &ExecutionInfo, input: &str, start_ms: i64, stop_ms: i64) -> serde_json::Value {
        let seconds = |ms: i64| serde_json::Value::from(ms as f64 / 1000.0);
        let mut out = serde_json::Map::new();
        out.insert("executionArn".into(), info.execution_arn().into());
        out.insert("stateMachineArn".into(), info.state_machine_arn().into());
        out.insert("name".into(), info.name.clone().into());
        out.insert("startDate".into(), seconds(start_ms));
        out.insert("stopDate".into(), seconds(stop_ms));
        // StartSyncExecution has no ABORTED: an execution stopped under it failed.
        let status = match self.status {
            Status::Aborted => Status::Failed,
            status => status,
        };
        out.insert("status".into(), status.as_str().into());
        out.insert("input".into(), input.into());
        out.insert("inputDetails".into(), serde_json::json!({"included": true}));
        if let Some(output) = &self.output {
            out.insert("output".into(), output.clone().into());
        }
        out.insert("outputDetails".into(), serde_json::json!({"included": true}));
        if let Some(error) = &self.error {
            out.insert("error".into(), error.clone().into());
        }
        if let Some(cause) = &self.cause {
            out.insert("cause".into(), cause.clone().into());
        }
        out.insert(
            "billingDetails".into(),
            serde_json::json!({
                "billedMemoryUsedInMB": 64,
                "billedDurationInMilliseconds": ((stop_ms - start_ms).max(1) + 99) / 100 * 100,
            }),
        );
        serde_json::Value::Object(out)
    }
}

impl Machine {
    /// Compiles a parsed model and binds `tasks` to its resources.
    pub fn from_model(model: &StateMachine, tasks: TaskRegistry) -> Result<Machine, Vec<CompileError>> {
        Ok(Machine::from_program(Arc::new(compile(model)?), tasks))
    }

    /// Binds `tasks` to an already compiled program.
    pub fn from_program(program: Arc<Program>, tasks: TaskRegistry) -> Machine {
        let handlers = bind_tasks(&program, &tasks).into();
        Machine {
            program,
            registry: tasks,
            handlers,
            limits: Arc::new(Limits::default()),
            wait_time_scale: 1.0,
        }
    }

    /// This machine with the Task states of `mocks` mocked (Step Functions Local's mocked
    /// test cases, see [`crate::mock`]): each invocation of a mocked state answers with its
    /// mocked response's `Return` or `Throw` for that invocation (counted from 0 per state
    /// across the execution: retries, loops and Map iterations all count), without calling a
    /// handler; an invocation the response has no answer for fails the execution with
    /// `States.Runtime`. Other Task states call their handlers as before; mocks attached
    /// earlier are replaced.
    ///
    /// An error names a mocked state that the definition does not have, or that is not a
    /// Task state.
    pub fn with_mocks(&self, mocks: &Mocks) -> Result<Machine, MockError> {
        let resolved = mocks.resolve(&self.program)?;
        let mut handlers = bind_tasks(&self.program, &self.registry);
        for (slot, mock) in resolved {
            handlers[slot as usize] = TaskBinding::Mock(mock);
        }
        Ok(Machine {
            program: self.program.clone(),
            registry: self.registry.clone(),
            handlers: handlers.into(),
            limits: self.limits.clone(),
            wait_time_scale: self.wait_time_scale,
        })
    }

    /// This machine with `limits` on each of its executions instead of
    /// [`Limits::default`]: how deep the values it builds may be nested, and what each JSONata
    /// evaluation may take (AWS's quotas, such as the payload size, are fixed: see
    /// [`crate::limits`]).
    pub fn with_limits(mut self, limits: Limits) -> Machine {
        self.limits = Arc::new(limits);
        self
    }

    /// The limits on each execution.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// This machine with its Wait states' waits multiplied by `scale` (Step Functions
    /// Local's `WAIT_TIME_SCALE`: 0.5 halves them, 0 skips them, 2 doubles them; a negative
    /// or non-finite scale counts as 1). A `Timestamp` wait is scaled from the moment the
    /// state is entered. Retry back-offs and timeouts are not scaled.
    pub fn with_wait_time_scale(mut self, scale: f64) -> Machine {
        self.wait_time_scale = if scale.is_finite() && scale >= 0.0 { scale } else { 1.0 };
        self
    }

    /// What Wait states' waits are multiplied by (1 unless set).
    pub fn wait_time_scale(&self) -> f64 {
        self.wait_time_scale
    }

    /// The compiled program.
    pub fn program(&self) -> &Program {
        &self.program
    }

    pub(crate) fn handlers(&self) -> &[TaskBinding] {
        &self.handlers
    }

    pub(crate) fn registry(&self) -> &TaskRegistry {
        &self.registry
    }

    /// Starts a resumable execution whose values live in `arena`. Drive it with
    /// [`Execution::resume`].
    pub fn start<'a>(
        &'a self,
        arena: &'a Arena,
        input: Value<'a>,
        info: &'a ExecutionInfo,
        now_ms: i64,
    ) -> Execution<'a> {
        Execution::new(self, arena, input, info, now_ms)
    }

    /// Runs one execution to its end on this thread, waiting on `clock`, and hands the
    /// outcome (still in the arena) to `f`: the fast path, with no JSON text in or out.
    ///
    /// Nothing can complete a task that answers later here ([`TaskHandler::start`]
    /// answering `Pending`): it waits until its `TimeoutSeconds` or `HeartbeatSeconds` run
    /// out and fails with `States.Timeout`. To complete such
    /// tasks, drive the [`Execution`] from [`start`](Self::start) yourself or use the
    /// [`Runtime`](crate::runtime::Runtime).
    ///
    /// ```
    /// use quickstep::value::{Arena, Value};
    /// use quickstep::{ExecutionInfo, Machine, Status, TaskRegistry, VirtualClock};
    /// let machine = Machine::new(
    ///     r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": true}}}"#,
    ///     TaskRegistry::new(),
    /// ).unwrap();
    /// let mut arena = Arena::new();
    /// let info = ExecutionInfo::default();
    /// let mut clock = VirtualClock::starting_at(0); // the hour passes at once
    /// for n in 0..3 {
    ///     arena.reset(); // one arena, reused: no allocation once it has grown
    ///     let status = machine.run_in(&arena, Value::int(n), &info, &mut clock, |outcome| {
    ///         assert_eq!(outcome.output, Some(Value::int(n)));
    ///         outcome.status
    ///     });
    ///     assert_eq!(status, Status::Succeeded);
    /// }
    /// ```
    pub fn run_in<'a, R>(
        &'a self,
        arena: &'a Arena,
        input: Value<'a>,
        info: &'a ExecutionInfo,
        clock: &mut dyn Clock,
        f: impl FnOnce(RawOutcome<'a>) -> R,
    ) -> R {
        run_to_end(self.start(arena, input, info, clock.now_ms()), clock, f)
    }

    /// [`run_in`](Self::run_in) on JSON text, parsed into `arena`. The outcome's
    /// [`write_output`](RawOutcome::write_output) copies the text of input objects and arrays
    /// that reach the output unchanged instead of writing them again.
    pub fn run_text_in<'a, R>(
        &'a self,
        arena: &'a Arena,
        text: &'a str,
        info: &'a ExecutionInfo,
        clock: &mut dyn Clock,
        f: impl FnOnce(RawOutcome<'a>) -> R,
    ) -> Result<R, crate::value::ParseError> {
        let execution = self.start_text(arena, text, info, clock.now_ms())?;
        Ok(run_to_end(execution, clock, f))
    }

    /// [`start`](Self::start) on JSON text, parsed into `arena` keeping the text of its
    /// containers for the output's writer.
    #[inline]
    fn start_text<'a>(
        &'a self,
        arena: &'a Arena,
        text: &'a str,
        info: &'a ExecutionInfo,
        now_ms: i64,
    ) -> Result<Execution<'a>, crate::value::ParseError> {
        let (input, source) = crate::value::parse_keeping_text(arena, text)?;
        Ok(self.start(arena, input, info, now_ms).with_source(source))
    }

    /// Runs one execution on JSON text input with the system clock.
    pub fn run_json(&self, input: &str) -> Result<Outcome, crate::value::ParseError> {
        self.run_json_with(input, &ExecutionInfo::default(), &mut SystemClock)
    }

    /// Runs one execution on JSON text input with the given clock and execution facts.
    pub fn run_json_with(
        &self,
        input: &str,
        info: &ExecutionInfo,
        clock: &mut dyn Clock,
    ) -> Result<Outcome, crate::value::ParseError> {
        let arena = Arena::new();
        self.run_text_in(&arena, input, info, clock, |raw| Outcome::from_raw(&raw))
    }

    /// [`run_json_with`](Self::run_json_with), sending the execution's history events to
    /// `history` as it runs.
    pub fn run_json_recording(
        &self,
        input: &str,
        info: &ExecutionInfo,
        clock: &mut dyn Clock,
        history: &mut dyn HistorySink,
    ) -> Result<Outcome, crate::value::ParseError> {
        let arena = Arena::new();
        let execution = self
            .start_text(&arena, input, info, clock.now_ms())?
            .with_history(history);
        Ok(run_to_end(execution, clock, |raw| Outcome::from_raw(&raw)))
    }

    /// Runs one execution on a `serde_json::Value` input with the system clock.
    pub fn run_value(&self, input: &serde_json::Value) -> Outcome {
        let arena = Arena::new();
        let input = Value::from_serde(&arena, input);
        self.run_in(&arena, input, &ExecutionInfo::default(), &mut SystemClock, |raw| {
            Outcome::from_raw(&raw)
        })
    }
}

/// Why a definition could not be compiled: every diagnostic, in AWS's form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DefinitionError {
    /// The problems, errors first as AWS orders them.
    pub diagnostics: Vec<Diagnostic>,
}

impl std::fmt::Display for DefinitionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&invalid_definition_message(&self.diagnostics))
    }
}

impl std::error::Error for DefinitionError {}

/// Resumes `execution` until it ends, waiting on `clock`, and hands the outcome to `f`.
/// Nothing here can deliver a completion: a task that answers later runs into its timeout.
#[inline(always)]
fn run_to_end<'a, R>(mut execution: Execution<'a>, clock: &mut dyn Clock, f: impl FnOnce(RawOutcome<'a>) -> R) -> R {
    loop {
        match execution.resume(clock.now_ms()) {
            Step::Done(outcome) => return f(outcome),
            Step::Suspended { until_ms } | Step::AwaitingTask { until_ms, .. } => clock.wait_until(until_ms),
        }
    }
}

/// Parses, validates and compiles definition text: all of AWS's checks, then the syntax of
/// every path, template, intrinsic call and JSONata expression.
///
/// Every problem is reported at once: schema and cross-state diagnostics, then expression
/// errors at locations the validator did not already report.
pub fn check_definition(text: &str, ty: MachineType) -> Result<(StateMachine, Program), DefinitionError> {
    let model = parse_definition(text).map_err(|diagnostics| DefinitionError { diagnostics })?;
    check_model(model, ty)
}

/// Validates and compiles an already parsed definition (a `serde_json::Value`).
pub fn check_definition_value(
    json: &serde_json::Value,
    ty: MachineType,
) -> Result<(StateMachine, Program), DefinitionError> {
    let model = parse_definition_value(json).map_err(|diagnostics| DefinitionError { diagnostics })?;
    check_model(model, ty)
}

/// Every diagnostic of definition text, as `ValidateStateMachineDefinition` reports them:
/// those [`check_definition`] gives (none when the definition can be created), then the
/// validator's warnings.
pub fn definition_diagnostics(text: &str, ty: MachineType) -> Vec<Diagnostic> {
    let model = match parse_definition(text) {
        Ok(model) => model,
        Err(diagnostics) => return diagnostics,
    };
    let warnings: Vec<Diagnostic> = validate(&model, ty)
        .into_iter()
        .filter(|d| d.severity == Severity::Warning)
        .collect();
    let mut diagnostics = match check_model(model, ty) {
        Ok(_) => Vec::new(),
        Err(e) => e.diagnostics,
    };
    diagnostics.extend(warnings);
    diagnostics
}

/// Validates and compiles a parsed model, collecting the diagnostics of both.
fn check_model(model: StateMachine, ty: MachineType) -> Result<(StateMachine, Program), DefinitionError> {
    let mut diagnostics: Vec<Diagnostic> = validate(&model, ty)
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    match compile(&model) {
        Ok(program) if diagnostics.is_empty() => return Ok((model, program)),
        Ok(_) => {}
        Err(errors) => {
            for e in errors {
                let location = location_of(&e.location);
                if !diagnostics
                    .iter()
                    .any(|d| d.location.as_deref() == Some(location.as_str()))
                {
                    let mut diagnostic = Diagnostic::schema(e.message, &e.location);
                    diagnostic.position = e.member;
                    diagnostics.push(diagnostic);
                }
            }
        }
    }
    Err(DefinitionError { diagnostics })
}

impl Machine {
    /// Compiles definition text (a STANDARD machine) and binds `tasks` to its resources.
    ///
    /// ```
    /// use quickstep::{Machine, Status, TaskRegistry};
    /// let machine = Machine::new(
    ///     r#"{"StartAt": "Hello", "States": {"Hello": {"Type": "Pass", "Result": "world", "ResultPath": "$.hello", "End": true}}}"#,
    ///     TaskRegistry::new(),
    /// ).unwrap();
    /// let outcome = machine.run_json(r#"{"n": 1}"#).unwrap();
    /// assert_eq!(outcome.status, Status::Succeeded);
    /// assert_eq!(outcome.output.as_deref(), Some(r#"{"n":1,"hello":"world"}"#));
    /// ```
    pub fn new(definition: &str, tasks: TaskRegistry) -> Result<Machine, DefinitionError> {
        let (_, program) = check_definition(definition, MachineType::Standard)?;
        Ok(Machine::from_program(Arc::new(program), tasks))
    }
}
