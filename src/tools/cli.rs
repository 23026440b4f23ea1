//! The `quickstep` command line: `run`, `graph`, `validate`, `test`, `test-state`, `stream`,
//! (with the `server` feature) `serve` and (with the `nats` feature) `worker`.

use std::cell::RefCell;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::rc::Rc;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::cases::{run_cases, Verdict};
use crate::clock::{Clock, SystemClock, VirtualClock};
use crate::exec::{ExecutionInfo, Status};
use crate::graph::{render, Format, PathRecorder};
use crate::history::{HistoryEvent, HistorySink, JsonHistory};
use crate::intrinsics::uuid_v4_string;
use crate::machine::{Machine, Outcome};
use crate::mock::MockConfig;
use crate::model::{Graph, MachineType, StateKind, StateMachine};
use crate::parse::is_jsonata_expression;
use crate::program::Program;
use crate::source::{Source, SourceProblem, Substitutions};
use crate::tasks::TaskRegistry;

/// Runs AWS Step Functions state machines locally, with AWS's results.
#[derive(Debug, Parser)]
#[command(name = "quickstep", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs one execution and prints a StartSyncExecution-shaped JSON result.
    Run {
        /// The definition file (ASL JSON, or YAML: `.yaml`, `.yml`); not with `--template`.
        #[arg(required_unless_present = "template")]
        definition: Option<PathBuf>,
        #[command(flatten)]
        source: SourceArgs,
        /// The workflow type: its rules apply, and its ARN and context object forms
        /// (default: the template's, else STANDARD).
        #[arg(long = "type", value_enum)]
        machine_type: Option<TypeArg>,
        #[command(flatten)]
        execution: ExecutionArgs,
        /// The execution's name (default: a fresh UUID, as AWS gives).
        #[arg(long)]
        name: Option<String>,
        /// After the result, print the execution's history as a second JSON document, shaped
        /// like AWS's GetExecutionHistory response (`{"events": [...]}`).
        #[arg(long)]
        history: bool,
    },
    /// Draws a definition as a Mermaid flowchart, a Graphviz DOT digraph, an SVG picture or an
    /// HTML page; given an input, runs one execution as `run` does and colours the states it
    /// entered (the HTML page also lists its events).
    Graph {
        /// The definition file (ASL JSON, or YAML: `.yaml`, `.yml`); not with `--template`.
        #[arg(required_unless_present = "template")]
        definition: Option<PathBuf>,
        #[command(flatten)]
        source: SourceArgs,
        /// The output format.
        #[arg(long, value_enum, default_value = "mermaid")]
        format: GraphFormat,
        /// Write the drawing to this file instead of standard output.
        #[arg(long, short = 'o', value_name = "FILE")]
        output: Option<PathBuf>,
        #[command(flatten)]
        execution: ExecutionArgs,
    },
    /// Validates definitions and prints every diagnostic with file:line:column.
    Validate {
        /// Definition files (ASL JSON, or YAML: `.yaml`, `.yml`).
        #[arg(required_unless_present = "template")]
        definitions: Vec<PathBuf>,
        #[command(flatten)]
        source: SourceArgs,
        /// The workflow type, whose rules apply (default: the template's, else STANDARD).
        #[arg(long = "type", value_enum)]
        machine_type: Option<TypeArg>,
    },
    /// Runs case files (tests/data/conformance format: recorded executions, and AWS's answers to
    /// definitions as in its invalid/ folder) and compares with the recorded results.
    Test {
        /// Case files or folders of them.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Only cases whose name contains this.
        #[arg(long)]
        filter: Option<String>,
        /// Also write a JUnit XML report of the run to this file (its folder is created when
        /// missing).
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
    },
    /// Tests one state as the TestState API does and prints TestState's response JSON.
    TestState(TestStateArgs),
    /// Runs one Express execution per line of newline-delimited JSON events, over the
    /// runtime's pool, and writes one line per event: its output, or its error and cause.
    Stream(crate::tools::stream::StreamArgs),
    /// Serves the Step Functions API (AWS CLI, boto3 and the AWS SDKs work against it), with
    /// Standard executions durable in a journal.
    #[cfg(feature = "server")]
    Serve(crate::service::serve::ServeArgs),
    /// Runs each message of a NATS JetStream stream as an Express execution: a pull consumer
    /// on one durable consumer that every worker shares; each outcome is published to
    /// JetStream before its message is acknowledged.
    #[cfg(feature = "nats")]
    Worker {
        /// The definition file (ASL JSON, or YAML: `.yaml`, `.yml`); not with `--template`.
        #[arg(required_unless_present = "template")]
        definition: Option<PathBuf>,
        #[command(flatten)]
        source: SourceArgs,
        #[command(flatten)]
        tasks: TaskArgs,
        #[command(flatten)]
        worker: crate::service::nats::WorkerArgs,
    },
}

/// `quickstep test-state`: TestState's request members as flags.
#[derive(Debug, Args)]
struct TestStateArgs {
    /// A file holding one state, or a whole state machine with `--state` (JSON, or YAML:
    /// `.yaml`, `.yml`).
    definition: PathBuf,
    /// The state's input, as JSON text (default `{}`).
    #[arg(long, conflicts_with = "input_file")]
    input: Option<String>,
    /// A file holding the input JSON.
    #[arg(long)]
    input_file: Option<PathBuf>,
    /// The state of a whole state machine to test (TestState's `stateName`).
    #[arg(long, value_name = "NAME")]
    state: Option<String>,
    /// How much `inspectionData` to print.
    #[arg(long, value_enum, default_value = "INFO")]
    inspection_level: LevelArg,
    /// The variables the state sees, as a JSON object.
    #[arg(long, value_name = "JSON")]
    variables: Option<String>,
    /// TestState's `mock`, as JSON: `{"result": "<JSON text>"}` or
    /// `{"errorOutput": {"error": ..., "cause": ...}}`.
    #[arg(long, value_name = "JSON")]
    mock: Option<String>,
    /// The context object the state sees, as a JSON object.
    #[arg(long, value_name = "JSON")]
    context: Option<String>,
    /// TestState's `stateConfiguration`, as JSON (`{"retrierRetryCount": 2}`, ...).
    #[arg(long, value_name = "JSON")]
    state_configuration: Option<String>,
    /// A JSON object from Task `Resource` to behaviour, answering a Task without a mock (as
    /// for `run`).
    #[arg(long, value_name = "FILE")]
    resources: Option<PathBuf>,
    /// The execution role (`$$.Execution.RoleArn`; default: a placeholder role).
    #[arg(long, value_name = "ARN")]
    role_arn: Option<String>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
#[value(rename_all = "UPPER")]
enum LevelArg {
    Info,
    Debug,
    Trace,
}

/// Where a definition comes from besides its file: placeholder values, or a template.
#[derive(Debug, Args)]
pub(crate) struct SourceArgs {
    /// A JSON or YAML object of placeholder name to value: each `${Name}` in the definition's
    /// strings takes its value (every placeholder must have one).
    #[arg(long, value_name = "FILE")]
    substitutions: Option<PathBuf>,
    /// A SAM or CloudFormation template holding the state machine (its `Definition`,
    /// `DefinitionUri` or `DefinitionString`, `DefinitionSubstitutions` and type).
    #[arg(long, value_name = "FILE")]
    template: Option<PathBuf>,
    /// The state machine's name: its logical id in `--template`, and the name in its ARN,
    /// the context object and the mock configuration (default: the logical id, else the
    /// definition's file name without `.asl.json` / `.json` / `.yaml`).
    #[arg(long, value_name = "NAME")]
    pub(crate) state_machine: Option<String>,
}

/// One execution's input, task behaviours and clock (`run` and `graph`).
#[derive(Debug, Args)]
struct ExecutionArgs {
    /// The input, as JSON text (`run`: default `{}`; `graph` runs an execution only when
    /// given an input).
    #[arg(long, conflicts_with = "input_file")]
    input: Option<String>,
    /// A file holding the input JSON.
    #[arg(long)]
    input_file: Option<PathBuf>,
    #[command(flatten)]
    tasks: TaskArgs,
}

/// What the Task states do, and the clock (`run`, `graph` and `stream`).
#[derive(Debug, Args)]
pub(crate) struct TaskArgs {
    /// A JSON object from Task `Resource` to behaviour (`"identity"`,
    /// `"raise:Type:message"`, `{"Return": ...}`, `{"Throw": {"Error": ..., "Cause": ...}}`).
    #[arg(long)]
    resources: Option<PathBuf>,
    /// Use a virtual clock: Wait states and retry back-offs take no real time.
    #[arg(long)]
    pub(crate) virtual_time: bool,
    /// A Step Functions Local mock configuration file (MockConfigFile.json): the Task states
    /// of `--test-case` answer with their mocked responses.
    #[arg(long, value_name = "FILE", requires = "test_case")]
    mock_config: Option<PathBuf>,
    /// The test case of `--mock-config` to run.
    #[arg(long, value_name = "NAME", requires = "mock_config")]
    test_case: Option<String>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
#[value(rename_all = "UPPER")]
pub(crate) enum TypeArg {
    Standard,
    Express,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum GraphFormat {
    /// A Mermaid flowchart.
    Mermaid,
    /// A Graphviz DOT digraph.
    Dot,
    /// A standalone SVG picture.
    Svg,
    /// A standalone HTML page: the SVG, a legend, and the execution's events.
    Html,
}

/// Runs the command line; returns the process exit code.
pub fn main_with(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Run {
            definition,
            source,
            machine_type,
            execution,
            name,
            history,
        } => run(definition.as_deref(), &source, machine_type, execution, name, history),
        Command::Graph {
            definition,
            source,
            format,
            output,
            execution,
        } => graph(definition.as_deref(), &source, format, output.as_deref(), execution),
        Command::Validate {
            definitions,
            source,
            machine_type,
        } => validate(&definitions, &source, machine_type),
        Command::Test { paths, filter, junit } => test(&paths, filter.as_deref(), junit.as_deref()),
        Command::TestState(args) => test_state(args),
        Command::Stream(args) => crate::tools::stream::stream(args),
        #[cfg(feature = "server")]
        Command::Serve(args) => crate::service::serve::serve(args).map(|()| ExitCode::SUCCESS),
        #[cfg(feature = "nats")]
        Command::Worker {
            definition,
            source,
            tasks,
            worker: args,
        } => worker(definition.as_deref(), &source, &tasks, args),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("quickstep: {message}");
            ExitCode::from(2)
        }
    }
}

pub(crate) fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// A definition read as `args` say: from `path`, or from `--template`, placeholders filled.
fn read_source(path: Option<&Path>, args: &SourceArgs) -> Result<Source, String> {
    let substitutions = args.substitutions.as_deref().map(Substitutions::read).transpose()?;
    let read = match (&args.template, path) {
        (Some(template), None) => {
            Source::from_template(template, args.state_machine.as_deref(), substitutions.as_ref())
        }
        (None, Some(path)) => Source::read(path, substitutions.as_ref()),
        (Some(_), Some(_)) => return Err("give a definition file or --template, not both".to_string()),
        (None, None) => return Err("give a definition file or --template".to_string()),
    };
    read.map_err(|problems| problems.iter().map(problem_text).collect::<Vec<_>>().join("\n"))
}

/// The workflow type: the one asked for, else the template's, else STANDARD.
pub(crate) fn machine_type_of(source: &Source, asked: Option<TypeArg>) -> MachineType {
    match asked {
        Some(TypeArg::Standard) => MachineType::Standard,
        Some(TypeArg::Express) => MachineType::Express,
        None => source.machine_type.unwrap_or(MachineType::Standard),
    }
}

/// The definition `path` or `--template` gives, checked as `run` checks it; each problem
/// located as `file:line:column: ...`.
pub(crate) fn load_definition(
    path: Option<&Path>,
    args: &SourceArgs,
    machine_type: Option<TypeArg>,
) -> Result<(Source, StateMachine, Program), String> {
    let source = read_source(path, args)?;
    let ty = machine_type_of(&source, machine_type);
    match source.check(ty) {
        Ok((model, program)) => Ok((source, model, program)),
        Err(e) => Err(e
            .diagnostics
            .iter()
            .map(|d| located(&source, d))
            .collect::<Vec<_>>()
            .join("\n")),
    }
}

/// What one execution of `run` or `graph` did.
struct Executed {
    info: ExecutionInfo,
    /// The input text.
    input: String,
    start_ms: i64,
    stop_ms: i64,
    outcome: Outcome,
}

/// What an execution of `run` or `graph` is called.
struct Naming<'a> {
    /// `--state-machine`, if given.
    state_machine: Option<&'a str>,
    /// The execution's name.
    execution: String,
    /// Whether it is an EXPRESS execution (its ARN takes the express form).
    express: bool,
}

/// Runs one execution of `source`'s `program` (compiled from `model`) with `args`' input
/// (default `{}`), task behaviours and clock, named as `naming` says, sending its history
/// events to `history` when given.
fn execute(
    source: &Source,
    model: &StateMachine,
    program: Program,
    args: ExecutionArgs,
    naming: Naming<'_>,
    history: Option<&mut dyn HistorySink>,
) -> Result<Executed, String> {
    let input = match (args.input, args.input_file) {
        (Some(text), _) => text,
        (None, Some(path)) => read(&path)?,
        (None, None) => "{}".to_string(),
    };
    let state_machine_name = state_machine_name(source, naming.state_machine);
    let bound = bind_tasks(model, program, &args.tasks, &state_machine_name)?;
    let machine = &bound.machine;
    let info = ExecutionInfo {
        name: naming.execution,
        state_machine_name,
        express_id: naming.express.then(uuid_v4_string),
        ..ExecutionInfo::default()
    };
    let current_state = Rc::new(RefCell::new(String::new()));
    let mut system = NoticingClock {
        current_state: current_state.clone(),
        noticed: false,
    };
    let mut virtual_clock = VirtualClock::starting_at(system.now_ms());
    let clock: &mut dyn Clock = if args.tasks.virtual_time {
        &mut virtual_clock
    } else {
        &mut system
    };
    let start_ms = clock.now_ms();
    let mut sink = StateTracker {
        current_state,
        inner: history,
    };
    #[cfg(feature = "integrations")]
    let outcome = match &bound.integrations {
        Some(integrations) => run_calling_services(
            machine,
            &input,
            &info,
            clock,
            &mut sink,
            integrations,
            args.tasks.virtual_time,
        )?,
        None => machine
            .run_json_recording(&input, &info, clock, &mut sink)
            .map_err(|e| format!("input: {e}"))?,
    };
    #[cfg(not(feature = "integrations"))]
    let outcome = machine
        .run_json_recording(&input, &info, clock, &mut sink)
        .map_err(|e| format!("input: {e}"))?;
    let stop_ms = clock.now_ms();
    Ok(Executed {
        info,
        input,
        start_ms,
        stop_ms,
        outcome,
    })
}

/// The state machine's name: `--state-machine`, else the template's logical id, else the
/// definition's file name without `.asl.json` / `.json` / `.yaml`.
pub(crate) fn state_machine_name(source: &Source, given: Option<&str>) -> String {
    given
        .map(str::to_string)
        .or_else(|| source.logical_id.clone())
        .unwrap_or_else(|| {
            source
                .file
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("StateMachine")
                .trim_end_matches(".asl")
                .to_string()
        })
}

/// The machine of `program` (compiled from `model`, named `state_machine_name`) with its Task
/// states answered as `args` say: `--resources` behaviours, or the mocks of `--test-case`.
/// A Task state that neither answers is an error naming it.
pub(crate) fn bind_tasks(
    model: &StateMachine,
    program: Program,
    args: &TaskArgs,
    state_machine_name: &str,
) -> Result<Bound, String> {
    #[cfg_attr(not(feature = "integrations"), allow(unused_mut))]
    let mut registry = read_resources(args.resources.as_deref())?;
    let mocks = match (&args.mock_config, &args.test_case) {
        (Some(path), Some(test_case)) => {
            let config = MockConfig::parse(&read(path)?).map_err(|e| format!("{}: {e}", path.display()))?;
            let mocks = config
                .test_case(state_machine_name, test_case)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            Some((path, mocks))
        }
        _ => None,
    };
    let mocked: HashSet<&str> = mocks
        .iter()
        .flat_map(|(_, m)| m.states().map(|(state, _)| state))
        .collect();
    // The tasks nothing else answers call their services, when quickstep can call them.
    #[cfg(feature = "integrations")]
    let integrations = {
        use crate::service::integrations::{bind, Call, Integrations};
        let resources: Vec<&str> = program.resources().to_vec();
        let callable = resources
            .iter()
            .any(|r| registry.get(r).is_none() && Call::parse(r).is_some());
        match callable {
            true => {
                let integrations = Integrations::new().map_err(|e| format!("the integrations' runtime: {e}"))?;
                bind(&integrations, &mut registry, resources);
                Some(integrations)
            }
            false => None,
        }
    };
    let machine = Machine::from_program(std::sync::Arc::new(program), registry.clone());
    let machine = match &mocks {
        Some((path, mocks)) => machine
            .with_mocks(mocks)
            .map_err(|e| format!("{}: {e}", path.display()))?,
        None => machine,
    };
    let missing = tasks_without_behaviour(model, &registry, &mocked);
    if !missing.is_empty() {
        let mut message =
            "these Task states have no behaviour: give them one with --resources FILE, or mock them with --mock-config FILE --test-case NAME".to_string();
        for (state, target, _) in missing {
            message.push_str(&format!("\n  {state}: {target}"));
        }
        return Err(message);
    }
    Ok(Bound {
        machine,
        #[cfg(feature = "integrations")]
        integrations,
    })
}

/// A machine with its Task states bound ([`bind_tasks`]), and the runtime of the service
/// calls its tasks make, which must live while it runs.
pub(crate) struct Bound {
    pub(crate) machine: Machine,
    #[cfg(feature = "integrations")]
    pub(crate) integrations: Option<crate::service::integrations::Integrations>,
}

/// Runs one execution whose tasks may call services: their answers come through
/// `integrations`' channel and are delivered here, between steps. While calls run, the
/// thread waits for their answers (until the next timer: a Wait, a back-off, a task's
/// timeout); with a virtual clock, calls take the real time they take.
#[cfg(feature = "integrations")]
fn run_calling_services(
    machine: &Machine,
    input: &str,
    info: &ExecutionInfo,
    clock: &mut dyn Clock,
    history: &mut dyn HistorySink,
    integrations: &crate::service::integrations::Integrations,
    virtual_time: bool,
) -> Result<Outcome, String> {
    use crate::exec::Step;
    use crate::tasks::TaskFailure;
    let arena = crate::value::Arena::new();
    // As `run_json_recording` does: input containers that reach the output unchanged keep
    // their text.
    let (value, source) = crate::value::parse_keeping_text(&arena, input).map_err(|e| format!("input: {e}"))?;
    let mut execution = machine
        .start(&arena, value, info, clock.now_ms())
        .with_source(source)
        .with_history(history);
    let answers = integrations.answers();
    let mut answered = None;
    loop {
        while let Some(crate::service::integrations::Answered { token, result }) =
            answered.take().or_else(|| answers.try_recv().ok())
        {
            // Refused when the task no longer waits (it timed out): the answer is dropped.
            let _ = match result {
                Ok(output) => execution.complete_task(token, crate::value::Value::from_serde(&arena, &output)),
                Err(TaskFailure::Error { error, cause }) => execution.fail_task_with(token, Some(error), cause),
                Err(TaskFailure::Function {
                    error_type,
                    error_message,
                }) => execution.fail_task(token, error_type, error_message),
            };
        }
        let until_ms = match execution.resume(clock.now_ms()) {
            Step::Done(raw) => return Ok(Outcome::from_raw(&raw)),
            Step::Suspended { until_ms } | Step::AwaitingTask { until_ms, .. } => until_ms,
        };
        if integrations.in_flight() == 0 && answers.is_empty() {
            clock.wait_until(until_ms);
        } else if virtual_time {
            answered = answers.recv().ok();
        } else {
            let wait = (until_ms - clock.now_ms()).max(0) as u64;
            answered = answers.recv_timeout(std::time::Duration::from_millis(wait)).ok();
        }
    }
}

/// The Task states of `model` (nested ones too) that neither `registry` nor a mock answers:
/// `(state, what it calls, its resource)`; what it calls is the `FunctionName` for
/// `lambda:invoke`, unless a handler answers for the resource itself. A function chosen at
/// run time (`FunctionName.$`, a JSONata expression) is left to the execution, which fails
/// with `States.Runtime` naming it if it has no handler.
fn tasks_without_behaviour(
    model: &StateMachine,
    registry: &TaskRegistry,
    mocked: &HashSet<&str>,
) -> Vec<(String, String, String)> {
    let mut missing = Vec::new();
    missing_in(&model.graph, registry, mocked, &mut missing);
    missing
}

/// [`tasks_without_behaviour`] of one graph, in document order (nesting is bounded by the
/// parser).
fn missing_in(
    graph: &Graph,
    registry: &TaskRegistry,
    mocked: &HashSet<&str>,
    missing: &mut Vec<(String, String, String)>,
) {
    for state in &graph.states {
        match &state.kind {
            StateKind::Parallel { branches } => {
                for branch in branches {
                    missing_in(branch, registry, mocked, missing);
                }
            }
            StateKind::Map(map) => missing_in(&map.processor, registry, mocked, missing),
            StateKind::Task(task) if !mocked.contains(state.name.as_str()) => {
                let resource = task.resource.as_str();
                if registry.get(resource).is_some() {
                    continue;
                }
                let target = if resource.starts_with("arn:aws:states:::lambda:invoke") {
                    let fields = state.parameters.as_ref().or(state.arguments.as_ref());
                    match fields.and_then(|f| f.get("FunctionName")) {
                        Some(serde_json::Value::String(name)) if !is_jsonata_expression(name) => name.as_str(),
                        _ => continue,
                    }
                } else {
                    resource
                };
                if registry.get_function(target).is_none() {
                    missing.push((state.name.clone(), target.to_string(), resource.to_string()));
                }
            }
            _ => {}
        }
    }
}

/// The system clock, which says on standard error (once) when an execution is about to wait
/// more than a second of real time, and in which state.
struct NoticingClock {
    current_state: Rc<RefCell<String>>,
    noticed: bool,
}

impl Clock for NoticingClock {
    fn now_ms(&self) -> i64 {
        SystemClock.now_ms()
    }
    fn wait_until(&mut self, ms: i64) {
        let wait_ms = ms - self.now_ms();
        if wait_ms > 1000 && !self.noticed {
            self.noticed = true;
            eprintln!(
                "quickstep: waiting {} s of real time in state \"{}\" (--virtual-time skips waits)",
                (wait_ms as f64 / 1000.0).round(),
                self.current_state.borrow()
            );
        }
        SystemClock.wait_until(ms);
    }
}

/// Keeps the name of the state an execution last entered (for [`NoticingClock`]) and passes
/// every event on to `inner`.
struct StateTracker<'s> {
    current_state: Rc<RefCell<String>>,
    inner: Option<&'s mut dyn HistorySink>,
}

impl HistorySink for StateTracker<'_> {
    fn record(&mut self, event: &HistoryEvent<'_>) {
        if let Some(state) = event.state.filter(|_| event.event_type.ends_with("StateEntered")) {
            let mut current = self.current_state.borrow_mut();
            current.clear();
            current.push_str(state);
        }
        if let Some(inner) = self.inner.as_deref_mut() {
            inner.record(event);
        }
    }
}

/// The behaviours of a `--resources` file (none without one).
pub(crate) fn read_resources(path: Option<&Path>) -> Result<TaskRegistry, String> {
    let Some(path) = path else {
        return Ok(TaskRegistry::new());
    };
    let json: serde_json::Value = serde_json::from_str(&read(path)?).map_err(|e| format!("{}: {e}", path.display()))?;
    TaskRegistry::from_behaviours(&json).map_err(|e| format!("{}: {e}", path.display()))
}

/// `quickstep test-state`: prints TestState's response; 0 when the state succeeded or a
/// catcher took its error, 1 when it failed or would be retried.
fn test_state(args: TestStateArgs) -> Result<ExitCode, String> {
    use crate::test_state::{TestStateRequest, TestStatus};
    let source = Source::read(&args.definition, None)
        .map_err(|problems| problems.iter().map(problem_text).collect::<Vec<_>>().join("\n"))?;
    let definition = if crate::source::is_yaml(&args.definition) {
        source.definition()?.to_string()
    } else {
        source.text.clone()
    };
    let input = match (args.input, args.input_file) {
        (Some(text), _) => text,
        (None, Some(path)) => read(&path)?,
        (None, None) => "{}".to_string(),
    };
    let json_flag = |flag: &str, text: Option<String>| -> Result<Option<serde_json::Value>, String> {
        text.map(|t| serde_json::from_str(&t).map_err(|e| format!("--{flag}: not JSON: {e}")))
            .transpose()
    };
    let level = match args.inspection_level {
        LevelArg::Info => "INFO",
        LevelArg::Debug => "DEBUG",
        LevelArg::Trace => "TRACE",
    };
    let mut body = serde_json::json!({
        "definition": definition,
        "input": input,
        "inspectionLevel": level,
        "roleArn": args.role_arn.unwrap_or_else(|| ExecutionInfo::default().role_arn),
    });
    let members = [
        ("stateName", args.state.map(serde_json::Value::String)),
        ("variables", args.variables.map(serde_json::Value::String)),
        ("context", args.context.map(serde_json::Value::String)),
        ("mock", json_flag("mock", args.mock)?),
        (
            "stateConfiguration",
            json_flag("state-configuration", args.state_configuration)?,
        ),
    ];
    for (name, value) in members {
        if let Some(value) = value {
            body[name] = value;
        }
    }
    let registry = read_resources(args.resources.as_deref())?;
    let refused = |e: crate::test_state::TestStateError| format!("{}: {}", e.name(), e.message());
    let request = TestStateRequest::from_json(&body).map_err(refused)?;
    let response = crate::test_state::test_state(&request, &registry).map_err(refused)?;
    println!(
        "{}",
        serde_json::to_string_pretty(&response.to_json()).unwrap_or_default()
    );
    Ok(match response.status {
        TestStatus::Succeeded | TestStatus::CaughtError => ExitCode::SUCCESS,
        TestStatus::Failed | TestStatus::Retriable => ExitCode::from(1),
    })
}

/// 0 when the execution succeeded, 1 when it failed, timed out or was stopped.
fn exit_status(status: Status) -> ExitCode {
    if status == Status::Succeeded {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn run(
    definition: Option<&Path>,
    source_args: &SourceArgs,
    machine_type: Option<TypeArg>,
    execution: ExecutionArgs,
    name: Option<String>,
    history: bool,
) -> Result<ExitCode, String> {
    let (source, model, program) = load_definition(definition, source_args, machine_type)?;
    let express = machine_type_of(&source, machine_type) == MachineType::Express;
    let name = name.unwrap_or_else(uuid_v4_string);
    let mut events = JsonHistory {
        include_data: true,
        events: Vec::new(),
    };
    let Executed {
        info,
        input,
        start_ms,
        stop_ms,
        outcome,
    } = execute(
        &source,
        &model,
        program,
        execution,
        Naming {
            state_machine: source_args.state_machine.as_deref(),
            execution: name,
            express,
        },
        history.then_some(&mut events as &mut dyn HistorySink),
    )?;
    let response = outcome.sync_response(&info, input.trim(), start_ms, stop_ms);
    let pretty = serde_json::to_string_pretty(&response).unwrap_or_default();
    println!("{pretty}");
    if history {
        println!(
            "{}",
            serde_json::to_string_pretty(&events.to_response()).unwrap_or_default()
        );
    }
    Ok(exit_status(outcome.status))
}

/// `quickstep worker`: the definition checked as an EXPRESS one, its Task states bound, then
/// the worker's loop until SIGTERM or SIGINT.
#[cfg(feature = "nats")]
fn worker(
    definition: Option<&Path>,
    source_args: &SourceArgs,
    tasks: &TaskArgs,
    args: crate::service::nats::WorkerArgs,
) -> Result<ExitCode, String> {
    let (source, model, program) = load_definition(definition, source_args, Some(TypeArg::Express))?;
    let state_machine_name = state_machine_name(&source, source_args.state_machine.as_deref());
    // `bound` keeps the runtime of its tasks' service calls while the worker runs.
    let bound = bind_tasks(&model, program, tasks, &state_machine_name)?;
    let info = ExecutionInfo {
        state_machine_name,
        express_id: Some(uuid_v4_string()),
        ..ExecutionInfo::default()
    };
    crate::service::nats::work(bound.machine.clone(), info, args)
}

fn graph(
    definition: Option<&Path>,
    source_args: &SourceArgs,
    format: GraphFormat,
    output: Option<&Path>,
    execution: ExecutionArgs,
) -> Result<ExitCode, String> {
    let (source, model, program) = load_definition(definition, source_args, None)?;
    let format = match format {
        GraphFormat::Mermaid => Format::Mermaid,
        GraphFormat::Dot => Format::Dot,
        GraphFormat::Svg => Format::Svg,
        GraphFormat::Html => Format::Html,
    };
    let write = |text: String| match output {
        Some(file) => write_creating_folder(file, &text, "the drawing"),
        None => {
            print!("{text}");
            Ok(())
        }
    };
    if execution.input.is_none() && execution.input_file.is_none() {
        write(render(&model, format, None))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut recorder = PathRecorder::new(&model);
    let executed = execute(
        &source,
        &model,
        program,
        execution,
        Naming {
            state_machine: source_args.state_machine.as_deref(),
            execution: uuid_v4_string(),
            express: source.machine_type == Some(MachineType::Express),
        },
        Some(&mut recorder),
    )?;
    write(render(&model, format, Some(&recorder.finish())))?;
    let outcome = executed.outcome;
    if outcome.status != Status::Succeeded {
        let mut message = format!("quickstep: the execution {}", outcome.status.as_str());
        for part in [&outcome.error, &outcome.cause].into_iter().flatten() {
            message.push_str(": ");
            message.push_str(part);
        }
        eprintln!("{message}");
    }
    Ok(exit_status(outcome.status))
}

/// `file:line:col: ERROR CODE: message at location`; text that is not JSON as one short
/// message and the line it is on.
fn located(source: &Source, d: &crate::diagnostic::Diagnostic) -> String {
    let position = d.place().and_then(|l| source.position(l));
    let place = match position {
        Some((line, column)) => format!("{}:{line}:{column}", source.file.display()),
        None => source.file.display().to_string(),
    };
    if d.code == crate::diagnostic::codes::INVALID_JSON_DESCRIPTION {
        // Jackson's message quotes the whole text after `[Source:`: keep what comes before
        let message = d.message.split("[Source:").next().unwrap_or_default();
        let message = message
            .trim_end()
            .trim_end_matches("(start marker at")
            .trim_end_matches("at")
            .trim_end()
            .trim_end_matches('\n');
        let mut out = format!("{place}: {} {}: {message}", d.severity.as_str(), d.code);
        if let Some((line, column)) = position {
            out.push('\n');
            out.push_str(&snippet(&source.text, line, column));
        }
        return out;
    }
    format!("{place}: {} {d}", d.severity.as_str())
}

/// A problem with where the definition comes from; YAML that cannot be read shows its line.
fn problem_text(problem: &SourceProblem) -> String {
    match (problem.position, std::fs::read_to_string(&problem.file)) {
        (Some((line, column)), Ok(text))
            if problem.message.contains("while parsing") || problem.message.contains("while scanning") =>
        {
            format!("{problem}\n{}", snippet(&text, line, column))
        }
        _ => problem.to_string(),
    }
}

/// The line `line` of `text` with a caret under `column` (1-based, in characters), in
/// rustc's layout.
fn snippet(text: &str, line: usize, column: usize) -> String {
    let Some(source_line) = text.lines().nth(line.saturating_sub(1)) else {
        return String::new();
    };
    const SHOWN: usize = 120;
    let chars: Vec<char> = source_line.chars().collect();
    let start = column.saturating_sub(1).saturating_sub(SHOWN / 2).min(chars.len());
    let end = (start + SHOWN).min(chars.len());
    let shown: String = chars[start..end]
        .iter()
        .map(|&c| if c == '\t' { ' ' } else { c })
        .collect();
    let gutter = " ".repeat(line.to_string().len());
    let caret_at = column.saturating_sub(1).saturating_sub(start);
    let ellipsis = if start > 0 { "..." } else { "" };
    format!(
        "{gutter} |\n{line} | {ellipsis}{shown}\n{gutter} | {}{}^",
        " ".repeat(ellipsis.len()),
        " ".repeat(caret_at)
    )
}

fn validate(definitions: &[PathBuf], args: &SourceArgs, machine_type: Option<TypeArg>) -> Result<ExitCode, String> {
    let mut failed = false;
    let paths: Vec<Option<&Path>> = if definitions.is_empty() {
        vec![None]
    } else {
        definitions.iter().map(|p| Some(p.as_path())).collect()
    };
    for path in paths {
        let source = match read_source(path, args) {
            Ok(source) => source,
            Err(message) => {
                failed = true;
                println!("{message}");
                continue;
            }
        };
        match source.check(machine_type_of(&source, machine_type)) {
            Ok(_) => println!("{}: OK", source.file.display()),
            Err(e) => {
                failed = true;
                for d in &e.diagnostics {
                    println!("{}", located(&source, d));
                }
            }
        }
    }
    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// Writes `text` (`what`, for the error message) to `file`, creating its folder when missing:
/// CI systems collect reports and pictures from folders that may not exist yet
/// (`target/reports/`).
fn write_creating_folder(file: &Path, text: &str, what: &str) -> Result<(), String> {
    let failed = |e: std::io::Error| format!("{}: cannot write {what}: {e}", file.display());
    if let Some(folder) = file.parent().filter(|f| !f.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder).map_err(failed)?;
    }
    std::fs::write(file, text).map_err(failed)
}

/// `quickstep test`: prints each failing or skipped case as it runs, then the summary;
/// writes the JUnit report to `junit` when given.
fn test(paths: &[PathBuf], filter: Option<&str>, junit: Option<&Path>) -> Result<ExitCode, String> {
    let results = run_cases(paths, filter, |result| match &result.verdict {
        Verdict::Passed => {}
        Verdict::Skipped(reason) => println!("SKIP {}: {reason}", result.name),
        Verdict::Failed(difference) => println!("FAIL {} ({})\n  {difference}", result.name, result.file.display()),
    })?;
    println!();
    print!("{}", results.summary());
    if let Some(file) = junit {
        write_creating_folder(file, &crate::junit::report(&results), "the JUnit report")?;
    }
    Ok(if results.totals().failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
