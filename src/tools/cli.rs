//! The `quickstep` command line: `run`, `graph`, `validate` and `test`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::cases::{run_cases, Verdict};
use crate::clock::{Clock, SystemClock, VirtualClock};
use crate::diagnostic::line_col;
use crate::exec::{ExecutionInfo, Status};
use crate::graph::{render, Format, PathRecorder};
use crate::history::HistorySink;
use crate::machine::{check_definition, Machine, Outcome};
use crate::mock::MockConfig;
use crate::model::{MachineType, StateMachine};
use crate::program::Program;
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
        /// The definition file (ASL JSON).
        definition: PathBuf,
        #[command(flatten)]
        execution: ExecutionArgs,
        /// The execution's name.
        #[arg(long, default_value = DEFAULT_NAME)]
        name: String,
    },
    /// Draws a definition as a Mermaid flowchart or a Graphviz DOT digraph; given an input,
    /// runs one execution as `run` does and highlights the states it entered.
    Graph {
        /// The definition file (ASL JSON).
        definition: PathBuf,
        /// The output format.
        #[arg(long, value_enum, default_value = "mermaid")]
        format: GraphFormat,
        #[command(flatten)]
        execution: ExecutionArgs,
    },
    /// Validates definitions and prints every diagnostic with file:line:column.
    Validate {
        /// Definition files.
        #[arg(required = true)]
        definitions: Vec<PathBuf>,
        /// The workflow type, whose rules apply.
        #[arg(long = "type", value_enum, default_value = "STANDARD")]
        machine_type: TypeArg,
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
        /// Also write a JUnit XML report of the run to this file.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
    },
}

/// The name of an execution that `run` or `graph` starts, unless given.
const DEFAULT_NAME: &str = "quickstep-run";

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
    /// A JSON object from Task `Resource` to behaviour (`"identity"`,
    /// `"raise:Type:message"`, `{"Return": ...}`, `{"Throw": {"Error": ..., "Cause": ...}}`).
    #[arg(long)]
    resources: Option<PathBuf>,
    /// Use a virtual clock: Wait states and retry back-offs take no real time.
    #[arg(long)]
    virtual_time: bool,
    /// A Step Functions Local mock configuration file (MockConfigFile.json): the Task states
    /// of `--test-case` answer with their mocked responses.
    #[arg(long, value_name = "FILE", requires = "test_case")]
    mock_config: Option<PathBuf>,
    /// The test case of `--mock-config` to run.
    #[arg(long, value_name = "NAME", requires = "mock_config")]
    test_case: Option<String>,
    /// The state machine's name (in its ARN, the context object, and the mock
    /// configuration); default: the definition's file name without `.asl.json` / `.json`.
    #[arg(long, value_name = "NAME")]
    state_machine: Option<String>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
#[value(rename_all = "UPPER")]
enum TypeArg {
    Standard,
    Express,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum GraphFormat {
    /// A Mermaid flowchart.
    Mermaid,
    /// A Graphviz DOT digraph.
    Dot,
}

/// Runs the command line; returns the process exit code.
pub fn main_with(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Run {
            definition,
            execution,
            name,
        } => run(&definition, execution, name),
        Command::Graph {
            definition,
            format,
            execution,
        } => graph(&definition, format, execution),
        Command::Validate {
            definitions,
            machine_type,
        } => validate(&definitions, machine_type),
        Command::Test { paths, filter, junit } => test(&paths, filter.as_deref(), junit.as_deref()),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("quickstep: {message}");
            ExitCode::from(2)
        }
    }
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// The definition in `path`, checked as `run` checks it (STANDARD rules); each problem
/// located as `file:line:column: ...`.
fn load_definition(path: &Path) -> Result<(StateMachine, Program), String> {
    let text = read(path)?;
    check_definition(&text, MachineType::Standard).map_err(|e| {
        let lines: Vec<String> = e.diagnostics.iter().map(|d| located(path, &text, d)).collect();
        lines.join("\n")
    })
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

/// Runs one execution of `definition`'s `program` named `name` with `args`' input (default
/// `{}`), task behaviours and clock, sending its history events to `history` when given.
fn execute(
    definition: &Path,
    program: Program,
    args: ExecutionArgs,
    name: String,
    history: Option<&mut dyn HistorySink>,
) -> Result<Executed, String> {
    let registry = match args.resources {
        Some(path) => {
            let json: serde_json::Value =
                serde_json::from_str(&read(&path)?).map_err(|e| format!("{}: {e}", path.display()))?;
            TaskRegistry::from_behaviours(&json).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => TaskRegistry::new(),
    };
    let input = match (args.input, args.input_file) {
        (Some(text), _) => text,
        (None, Some(path)) => read(&path)?,
        (None, None) => "{}".to_string(),
    };
    let machine = Machine::from_program(std::sync::Arc::new(program), registry);
    let state_machine_name = args.state_machine.unwrap_or_else(|| {
        definition
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("StateMachine")
            .trim_end_matches(".asl")
            .to_string()
    });
    let machine = match (args.mock_config, args.test_case) {
        (Some(path), Some(test_case)) => {
            let config = MockConfig::parse(&read(&path)?).map_err(|e| format!("{}: {e}", path.display()))?;
            let mocks = config
                .test_case(&state_machine_name, &test_case)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            machine
                .with_mocks(&mocks)
                .map_err(|e| format!("{}: {e}", path.display()))?
        }
        _ => machine,
    };
    let info = ExecutionInfo {
        name,
        state_machine_name,
        ..ExecutionInfo::default()
    };
    let mut system = SystemClock;
    let mut virtual_clock = VirtualClock::starting_at(system.now_ms());
    let clock: &mut dyn Clock = if args.virtual_time {
        &mut virtual_clock
    } else {
        &mut system
    };
    let start_ms = clock.now_ms();
    let outcome = match history {
        Some(sink) => machine.run_json_recording(&input, &info, clock, sink),
        None => machine.run_json_with(&input, &info, clock),
    }
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

/// 0 when the execution succeeded, 1 when it failed, timed out or was stopped.
fn exit_status(status: Status) -> ExitCode {
    if status == Status::Succeeded {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn run(definition: &Path, execution: ExecutionArgs, name: String) -> Result<ExitCode, String> {
    let (_, program) = load_definition(definition)?;
    let Executed {
        info,
        input,
        start_ms,
        stop_ms,
        outcome,
    } = execute(definition, program, execution, name, None)?;
    let mut response = serde_json::Map::new();
    response.insert("executionArn".into(), info.execution_arn().into());
    response.insert("stateMachineArn".into(), info.state_machine_arn().into());
    response.insert("name".into(), info.name.clone().into());
    response.insert("startDate".into(), (start_ms as f64 / 1000.0).into());
    response.insert("stopDate".into(), (stop_ms as f64 / 1000.0).into());
    response.insert("status".into(), outcome.status.as_str().into());
    response.insert("input".into(), input.trim().to_string().into());
    if let Some(output) = &outcome.output {
        response.insert("output".into(), output.clone().into());
    }
    if let Some(error) = &outcome.error {
        response.insert("error".into(), error.clone().into());
    }
    if let Some(cause) = &outcome.cause {
        response.insert("cause".into(), cause.clone().into());
    }
    let pretty = serde_json::to_string_pretty(&serde_json::Value::Object(response)).unwrap_or_default();
    println!("{pretty}");
    Ok(exit_status(outcome.status))
}

fn graph(definition: &Path, format: GraphFormat, execution: ExecutionArgs) -> Result<ExitCode, String> {
    let (model, program) = load_definition(definition)?;
    let format = match format {
        GraphFormat::Mermaid => Format::Mermaid,
        GraphFormat::Dot => Format::Dot,
    };
    if execution.input.is_none() && execution.input_file.is_none() {
        print!("{}", render(&model, format, None));
        return Ok(ExitCode::SUCCESS);
    }
    let mut recorder = PathRecorder::new(&model);
    let executed = execute(definition, program, execution, DEFAULT_NAME.into(), Some(&mut recorder))?;
    print!("{}", render(&model, format, Some(&recorder.finish())));
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

/// `file:line:col: ERROR CODE: message at location`.
fn located(file: &std::path::Path, text: &str, d: &crate::diagnostic::Diagnostic) -> String {
    let position = d.location.as_deref().and_then(|l| line_col(text, l));
    let place = match position {
        Some((line, column)) => format!("{}:{line}:{column}", file.display()),
        None => file.display().to_string(),
    };
    format!("{place}: {} {d}", d.severity.as_str())
}

fn validate(definitions: &[PathBuf], machine_type: TypeArg) -> Result<ExitCode, String> {
    let ty = match machine_type {
        TypeArg::Standard => MachineType::Standard,
        TypeArg::Express => MachineType::Express,
    };
    let mut failed = false;
    for path in definitions {
        let text = read(path)?;
        match check_definition(&text, ty) {
            Ok(_) => println!("{}: OK", path.display()),
            Err(e) => {
                failed = true;
                for d in &e.diagnostics {
                    println!("{}", located(path, &text, d));
                }
            }
        }
    }
    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
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
        std::fs::write(file, crate::junit::report(&results))
            .map_err(|e| format!("{}: cannot write the JUnit report: {e}", file.display()))?;
    }
    Ok(if results.totals().failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
