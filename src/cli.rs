//! The `quickstep` command line: `run`, `validate` and `test`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::cases::{collect_case_files, Case, DefinitionCase};
use crate::clock::{Clock, SystemClock, VirtualClock};
use crate::diagnostic::line_col;
use crate::exec::{ExecutionInfo, Status};
use crate::machine::{check_definition, Machine};
use crate::model::MachineType;
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
        /// The input, as JSON text (default `{}`).
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
        /// The execution's name.
        #[arg(long, default_value = "quickstep-run")]
        name: String,
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
    /// Runs case files (shared/conformance format: recorded executions, and AWS's answers to
    /// definitions as in its invalid/ folder) and compares with the recorded results.
    Test {
        /// Case files or folders of them.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Only cases whose name contains this.
        #[arg(long)]
        filter: Option<String>,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
#[value(rename_all = "UPPER")]
enum TypeArg {
    Standard,
    Express,
}

/// Runs the command line; returns the process exit code.
pub fn main_with(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Run {
            definition,
            input,
            input_file,
            resources,
            virtual_time,
            name,
        } => run(definition, input, input_file, resources, virtual_time, name),
        Command::Validate {
            definitions,
            machine_type,
        } => validate(&definitions, machine_type),
        Command::Test { paths, filter } => test(&paths, filter.as_deref()),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("quickstep: {message}");
            ExitCode::from(2)
        }
    }
}

fn read(path: &PathBuf) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn run(
    definition: PathBuf,
    input: Option<String>,
    input_file: Option<PathBuf>,
    resources: Option<PathBuf>,
    virtual_time: bool,
    name: String,
) -> Result<ExitCode, String> {
    let text = read(&definition)?;
    let (_, program) = check_definition(&text, MachineType::Standard).map_err(|e| {
        let lines: Vec<String> = e.diagnostics.iter().map(|d| located(&definition, &text, d)).collect();
        lines.join("\n")
    })?;
    let registry = match resources {
        Some(path) => {
            let json: serde_json::Value =
                serde_json::from_str(&read(&path)?).map_err(|e| format!("{}: {e}", path.display()))?;
            TaskRegistry::from_behaviours(&json).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => TaskRegistry::new(),
    };
    let input = match (input, input_file) {
        (Some(text), _) => text,
        (None, Some(path)) => read(&path)?,
        (None, None) => "{}".to_string(),
    };
    let machine = Machine::from_program(std::sync::Arc::new(program), registry);
    let state_machine_name = definition
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("StateMachine")
        .trim_end_matches(".asl")
        .to_string();
    let info = ExecutionInfo {
        name,
        state_machine_name,
        ..ExecutionInfo::default()
    };
    let mut system = SystemClock;
    let mut virtual_clock = VirtualClock::starting_at(system.now_ms());
    let clock: &mut dyn Clock = if virtual_time { &mut virtual_clock } else { &mut system };
    let start = clock.now_ms();
    let outcome = machine
        .run_json_with(&input, &info, clock)
        .map_err(|e| format!("input: {e}"))?;
    let stop = clock.now_ms();
    let mut response = serde_json::Map::new();
    response.insert("executionArn".into(), info.execution_arn().into());
    response.insert("stateMachineArn".into(), info.state_machine_arn().into());
    response.insert("name".into(), info.name.clone().into());
    response.insert("startDate".into(), (start as f64 / 1000.0).into());
    response.insert("stopDate".into(), (stop as f64 / 1000.0).into());
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
    Ok(if outcome.status == Status::Succeeded {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
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

/// A case file of either kind that `quickstep test` runs.
enum TestRun {
    /// A recorded execution.
    Execution(Box<Case>),
    /// AWS's answer to a definition.
    Definition(DefinitionCase),
}

impl TestRun {
    /// The case in `file`, `None` when it is neither kind.
    fn load(file: &std::path::Path) -> Option<TestRun> {
        match Case::load(file) {
            Ok(case) => Some(TestRun::Execution(Box::new(case))),
            Err(_) => DefinitionCase::load(file).ok().map(TestRun::Definition),
        }
    }

    /// The case's name and area.
    fn name_and_area(&self) -> (String, String) {
        match self {
            TestRun::Execution(case) => (case.name.clone(), case.area().to_string()),
            TestRun::Definition(case) => (case.name.clone(), case.area().to_string()),
        }
    }

    /// `Ok(None)` when it matches the recording, `Ok(Some(reason))` when it does not apply,
    /// `Err` with the difference.
    fn run(&self) -> Result<Option<String>, String> {
        match self {
            TestRun::Execution(case) => case.run().map(|()| None),
            TestRun::Definition(case) => case.run(),
        }
    }
}

#[derive(Default)]
struct AreaCount {
    passed: usize,
    failed: usize,
}

fn test(paths: &[PathBuf], filter: Option<&str>) -> Result<ExitCode, String> {
    let files = collect_case_files(paths)?;
    let mut areas: BTreeMap<String, AreaCount> = BTreeMap::new();
    let (mut passed, mut failed, mut skipped) = (0usize, 0usize, 0usize);
    for file in files {
        let Some(run) = TestRun::load(&file) else {
            // Neither kind of case file (a stray JSON file).
            skipped += 1;
            continue;
        };
        let (name, area) = run.name_and_area();
        if filter.is_some_and(|f| !name.contains(f)) {
            continue;
        }
        let result = std::panic::catch_unwind(|| run.run()).unwrap_or_else(|_| Err("the runner panicked".into()));
        let count = areas.entry(area).or_default();
        match result {
            Ok(None) => {
                passed += 1;
                count.passed += 1;
            }
            Ok(Some(reason)) => {
                skipped += 1;
                println!("SKIP {name}: {reason}");
            }
            Err(difference) => {
                failed += 1;
                count.failed += 1;
                println!("FAIL {name} ({})\n  {difference}", file.display());
            }
        }
    }
    println!();
    for (area, count) in &areas {
        println!("{area:<12} {:>4} passed, {:>4} failed", count.passed, count.failed);
    }
    if skipped > 0 {
        println!("{passed} passed, {failed} failed, {skipped} skipped");
    } else {
        println!("{passed} passed, {failed} failed");
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
