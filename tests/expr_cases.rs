//! Runs the recorded AWS conformance cases that the expression layer alone can execute:
//! definitions made only of Pass states (a single one or a chain) that use nothing but
//! `InputPath`, `Parameters`, `Result`, `ResultPath` and `OutputPath` (no JSONata, no
//! `Assign`). Each is evaluated with `Path` and `Template` and compared with what AWS
//! returned: outputs by JSON value (numbers by value, `ignore_paths` skipped), failures by
//! error name and cause.

use std::path::PathBuf;

use quickstep::consts::Constants;
use quickstep::error::EvalError;
use quickstep::path::Path;
use quickstep::scope::Scope;
use quickstep::template::Template;
use quickstep::value::{Arena, ArenaExt, Value};
use serde_json::Value as Json;

/// The recorded cases (`tests/data/conformance/cases`).
fn cases_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/conformance/cases"))
}

const PASS_FIELDS: [&str; 9] = [
    "Type",
    "Next",
    "End",
    "Comment",
    "InputPath",
    "Parameters",
    "Result",
    "ResultPath",
    "OutputPath",
];

/// The states of a pure Pass chain, in execution order, or `None` if the case is out of
/// scope.
fn pass_chain(definition: &Json) -> Option<Vec<(String, &serde_json::Map<String, Json>)>> {
    let top = definition.as_object()?;
    if top
        .keys()
        .any(|k| !matches!(k.as_str(), "StartAt" | "States" | "Comment" | "Version"))
    {
        return None;
    }
    let states = top.get("States")?.as_object()?;
    let mut name = top.get("StartAt")?.as_str()?.to_string();
    let mut chain = Vec::new();
    loop {
        let state = states.get(&name)?.as_object()?;
        if state.get("Type")? != "Pass" || state.keys().any(|k| !PASS_FIELDS.contains(&k.as_str())) {
            return None;
        }
        chain.push((name.clone(), state));
        if chain.len() > states.len() {
            return None;
        }
        match state.get("Next") {
            Some(Json::String(next)) => name = next.clone(),
            _ => return Some(chain),
        }
    }
}

/// A context object like the one AWS builds (the masked fields hold placeholders).
fn context<'a>(arena: &'a Arena, input: Value<'a>, state: &str) -> Value<'a> {
    let s = |t: &str| arena.string(t);
    let execution = arena.object(&[
        ("Id", s("arn:aws:states:us-east-1:111111111111:execution:sm:exec")),
        ("Input", input),
        ("StartTime", s("2026-01-01T00:00:00.000Z")),
        ("Name", s("exec")),
        ("RoleArn", s("arn:aws:iam::111111111111:role/role")),
        ("RedriveCount", Value::int(0)),
    ]);
    let machine = arena.object(&[
        ("Id", s("arn:aws:states:us-east-1:111111111111:stateMachine:sm")),
        ("Name", s("sm")),
    ]);
    let state = arena.object(&[
        ("Name", arena.string(state)),
        ("EnteredTime", s("2026-01-01T00:00:00.000Z")),
    ]);
    arena.object(&[("Execution", execution), ("StateMachine", machine), ("State", state)])
}

/// A nullable path field: `None` absent, `Some(None)` null.
fn path_field(state: &serde_json::Map<String, Json>, key: &str) -> Option<Option<Path>> {
    match state.get(key) {
        None => None,
        Some(Json::Null) => Some(None),
        Some(Json::String(p)) => Some(Some(Path::parse(p).expect("path parses"))),
        Some(other) => panic!("{key} is {other}"),
    }
}

/// One compiled Pass state.
struct Pass {
    name: String,
    input_path: Option<Option<Path>>,
    parameters: Option<Template>,
    result: Option<Value<'static>>,
    result_path: Option<Option<Path>>,
    output_path: Option<Option<Path>>,
}

impl Pass {
    fn compile(name: &str, state: &serde_json::Map<String, Json>, consts: &mut Constants) -> Pass {
        Pass {
            name: name.to_string(),
            input_path: path_field(state, "InputPath"),
            parameters: state
                .get("Parameters")
                .map(|t| Template::compile(t, consts).expect("template compiles")),
            result: state.get("Result").map(|r| consts.json(r)),
            result_path: path_field(state, "ResultPath"),
            output_path: path_field(state, "OutputPath"),
        }
    }

    /// The JSONPath processing pipeline of a Pass state.
    fn run<'a>(&'a self, arena: &'a Arena, raw: Value<'a>, execution_input: Value<'a>) -> Result<Value<'a>, EvalError> {
        let ctx = context(arena, execution_input, &self.name);
        let scope = |input| Scope {
            input,
            context: ctx,
            variables: Default::default(),
        };
        let input = match &self.input_path {
            None => raw,
            Some(None) => Value::EMPTY_OBJECT,
            Some(Some(p)) => p.eval(arena, &scope(raw))?,
        };
        let effective = match &self.parameters {
            Some(t) => t.eval(arena, &scope(input))?,
            None => input,
        };
        let result = self.result.unwrap_or(effective);
        let output = match &self.result_path {
            None => result,
            Some(None) => raw,
            Some(Some(p)) => p.set(arena, raw, result)?,
        };
        match &self.output_path {
            None => Ok(output),
            Some(None) => Ok(Value::EMPTY_OBJECT),
            Some(Some(p)) => Ok(p.eval(arena, &scope(output))?),
        }
    }
}

/// Replaces the values at `ignore_paths` with `null` so they compare equal.
fn mask<'a>(arena: &'a Arena, v: Value<'a>, paths: &'a [Path]) -> Value<'a> {
    paths.iter().fold(v, |v, p| {
        if p.eval_on(arena, v).is_ok() {
            p.set(arena, v, Value::Null).unwrap_or(v)
        } else {
            v
        }
    })
}

#[test]
fn pass_chains_match_aws() {
    let files = quickstep::cases::collect_case_files(&[cases_dir()]).unwrap_or_else(|e| panic!("{e}"));
    let mut ran = Vec::new();
    let mut failures = Vec::new();
    for file in files {
        let case: Json = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let Some(chain) = pass_chain(&case["definition"]) else {
            continue;
        };
        // Payload size limits belong to the interpreter, not to this layer.
        if case["expected"]["error"] == "States.DataLimitExceeded" {
            continue;
        }
        let name = case["name"].as_str().unwrap().to_string();
        let mut consts = Constants::new();
        let passes: Vec<Pass> = chain
            .iter()
            .map(|(n, state)| Pass::compile(n, state, &mut consts))
            .collect();
        let arena = Arena::new();
        let input = Value::from_serde(&arena, &case["input"]);
        let mut value = input;
        let mut outcome = Ok(());
        for (i, pass) in passes.iter().enumerate() {
            match pass.run(&arena, value, input) {
                Ok(v) => value = v,
                Err(e) => {
                    let cause = if e.bare {
                        e.message.clone()
                    } else {
                        format!(
                            "An error occurred while executing the state '{}' (entered at the event id #{}). {}",
                            pass.name,
                            2 + 2 * i,
                            e.message
                        )
                    };
                    outcome = Err((e.error.to_string(), cause));
                    break;
                }
            }
        }
        let expected = &case["expected"];
        let verdict = match (expected["status"].as_str(), outcome) {
            (Some("SUCCEEDED"), Ok(())) => {
                let ignore: Vec<Path> = case
                    .get("ignore_paths")
                    .and_then(Json::as_array)
                    .map(|a| a.iter().map(|p| Path::parse(p.as_str().unwrap()).unwrap()).collect())
                    .unwrap_or_default();
                let want = mask(&arena, Value::from_serde(&arena, &expected["output"]), &ignore);
                let got = mask(&arena, value, &ignore);
                (want == got)
                    .then_some(())
                    .ok_or(format!("output {got} != expected {want}"))
            }
            (Some("FAILED"), Err((error, cause))) => {
                let want_error = expected.get("error").and_then(Json::as_str);
                let want_cause = expected.get("cause").and_then(Json::as_str);
                if want_error.is_some_and(|w| w != error) {
                    Err(format!("error {error} != expected {want_error:?}"))
                } else if want_cause.is_some_and(|w| w != cause) {
                    Err(format!("cause {cause:?} != expected {want_cause:?}"))
                } else {
                    Ok(())
                }
            }
            (status, Ok(())) => Err(format!("succeeded with {value}, expected {status:?}")),
            (status, Err(e)) => Err(format!("failed with {e:?}, expected {status:?}")),
        };
        if let Err(why) = verdict {
            let why: String = why.chars().take(400).collect();
            failures.push(format!("{name}: {why}"));
        }
        ran.push(name);
    }
    eprintln!("{} Pass-chain cases ran: {}", ran.len(), ran.join(", "));
    assert!(ran.len() >= 100, "only {} cases in scope", ran.len());
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
