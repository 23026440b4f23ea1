//! Case files in the `tests/data/conformance` format: one recorded execution each (definition,
//! input, expected status/output/error/cause, task behaviours), run with a virtual clock and
//! compared as that corpus's README says; and, in its `invalid/` folder, AWS's answers to
//! definitions ([`DefinitionCase`]). [`run_cases`] runs a set of case files and collects
//! their [`TestResults`], from which `quickstep test` prints its summary and writes its JUnit
//! report ([`crate::junit`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::clock::VirtualClock;
use crate::diagnostic::{invalid_definition_message, Diagnostic};
use crate::exec::{ExecutionInfo, Status};
use crate::machine::{check_definition, check_definition_value, Machine, Outcome};
use crate::model::MachineType;
use crate::tasks::TaskRegistry;

/// One case file.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct Case {
    /// The case's name; its prefix up to the first `-` is its area.
    pub name: String,
    /// The state machine definition.
    pub definition: serde_json::Value,
    /// The execution input.
    #[serde(default)]
    pub input: serde_json::Value,
    /// What AWS recorded.
    pub expected: Expected,
    /// Paths into `expected.output` not to compare.
    #[serde(default)]
    pub ignore_paths: Vec<String>,
    /// Task behaviours by resource.
    #[serde(default)]
    pub resources: Option<serde_json::Value>,
}

/// The recorded result.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct Expected {
    /// `SUCCEEDED`, `FAILED`, `TIMED_OUT`, ...
    pub status: String,
    /// The output, for `SUCCEEDED`.
    #[serde(default)]
    pub output: Option<serde_json::Value>,
    /// The error, when one was recorded.
    #[serde(default)]
    pub error: Option<String>,
    /// The cause, when one was recorded and kept.
    #[serde(default)]
    pub cause: Option<String>,
}

impl Case {
    /// Reads a case file.
    pub fn load(path: &Path) -> Result<Case, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: not a case file: {e}", path.display()))
    }

    /// The area: the name's prefix before the first `-`.
    pub fn area(&self) -> &str {
        area_of(&self.name)
    }

    /// Whether the case uses JSONata or Variables (`QueryLanguage: JSONata`, `Assign`, or a
    /// `$name` variable reference).
    pub fn uses_jsonata_or_variables(&self) -> bool {
        let text = self.definition.to_string();
        text.contains("\"JSONata\"") || text.contains("\"Assign\"") || mentions_variable(&self.definition)
    }

    /// Runs the case and compares the result; `Err` holds a description of the difference.
    pub fn run(&self) -> Result<(), String> {
        let registry = match &self.resources {
            Some(resources) => TaskRegistry::from_behaviours(resources)?,
            None => TaskRegistry::new(),
        };
        let (_, program) = check_definition_value(&self.definition, MachineType::Standard)
            .map_err(|e| format!("definition rejected: {e}"))?;
        let machine = Machine::from_program(std::sync::Arc::new(program), registry);
        let input = self.input.to_string();
        let outcome = machine
            .run_json_with(&input, &ExecutionInfo::default(), &mut VirtualClock::default())
            .map_err(|e| format!("input rejected: {e}"))?;
        self.compare(&outcome)
    }

    /// Compares an outcome with the recording.
    pub fn compare(&self, outcome: &Outcome) -> Result<(), String> {
        let status = outcome.status.as_str();
        let describe = || match outcome.status {
            Status::Succeeded => format!("output {}", outcome.output.as_deref().unwrap_or("")),
            _ => format!("error {:?}, cause {:?}", outcome.error, outcome.cause),
        };
        if status != self.expected.status {
            return Err(format!(
                "status: expected {}, got {status} ({})",
                self.expected.status,
                describe()
            ));
        }
        if outcome.status == Status::Succeeded {
            let expected = self.expected.output.clone().unwrap_or(serde_json::Value::Null);
            let actual = outcome.output_value().unwrap_or(serde_json::Value::Null);
            let mut diffs = Vec::new();
            let ignore: Vec<Vec<Segment>> = self.ignore_paths.iter().map(|p| parse_ignore_path(p)).collect();
            diff(&expected, &actual, &mut Vec::new(), &ignore, &mut diffs);
            if !diffs.is_empty() {
                return Err(format!(
                    "output differs:\n  {}\n  expected: {expected}\n  actual:   {actual}",
                    diffs.join("\n  ")
                ));
            }
        } else {
            if outcome.error != self.expected.error {
                return Err(format!(
                    "error: expected {:?}, got {:?} (cause {:?})",
                    self.expected.error, outcome.error, outcome.cause
                ));
            }
            if let Some(cause) = &self.expected.cause {
                if outcome.cause.as_deref() != Some(cause.as_str()) {
                    return Err(format!(
                        "cause:\n  expected: {cause:?}\n  actual:   {:?}",
                        outcome.cause
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Whether a definition references a variable (`$name` at the start of a path or
/// intrinsic argument, not `$.` or `$$`).
fn mentions_variable(json: &serde_json::Value) -> bool {
    match json {
        serde_json::Value::String(s) => {
            let bytes = s.as_bytes();
            bytes.iter().enumerate().any(|(i, &b)| {
                b == b'$'
                    && (i == 0 || matches!(bytes[i - 1], b'(' | b' ' | b','))
                    && bytes.get(i + 1).is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
            }) && !s.starts_with("{%")
        }
        serde_json::Value::Array(items) => items.iter().any(mentions_variable),
        serde_json::Value::Object(map) => map.values().any(mentions_variable),
        _ => false,
    }
}

/// A step of an ignore path.
#[derive(Clone, Debug, PartialEq)]
enum Segment {
    Key(String),
    Index(usize),
}

/// Parses `$.a.b[0]['odd key']`.
fn parse_ignore_path(path: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut rest = path.strip_prefix('$').unwrap_or(path);
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("['") {
            let end = r.find("']").unwrap_or(r.len());
            out.push(Segment::Key(r[..end].to_string()));
            rest = r.get(end + 2..).unwrap_or("");
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']').unwrap_or(r.len());
            out.push(Segment::Index(r[..end].parse().unwrap_or(usize::MAX)));
            rest = r.get(end + 1..).unwrap_or("");
        } else if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            out.push(Segment::Key(r[..end].to_string()));
            rest = &r[end..];
        } else {
            break;
        }
    }
    out
}

/// Collects the differences between two JSON values (numbers by value, object key order
/// ignored), skipping ignored paths.
fn diff(
    expected: &serde_json::Value,
    actual: &serde_json::Value,
    at: &mut Vec<Segment>,
    ignore: &[Vec<Segment>],
    out: &mut Vec<String>,
) {
    use serde_json::Value as J;
    if ignore.iter().any(|p| p == at) {
        return;
    }
    match (expected, actual) {
        (J::Number(a), J::Number(b)) => {
            let same = match (a.as_i64(), b.as_i64()) {
                (Some(x), Some(y)) => x == y,
                _ => a.as_f64() == b.as_f64(),
            };
            if !same {
                out.push(format!("{}: expected {a}, got {b}", render(at)));
            }
        }
        (J::Object(a), J::Object(b)) => {
            for (k, v) in a {
                at.push(Segment::Key(k.clone()));
                match b.get(k) {
                    Some(w) => diff(v, w, at, ignore, out),
                    None if ignore.iter().any(|p| p == at) => {}
                    None => out.push(format!("{}: missing", render(at))),
                }
                at.pop();
            }
            for k in b.keys().filter(|k| !a.contains_key(*k)) {
                at.push(Segment::Key(k.clone()));
                out.push(format!("{}: unexpected", render(at)));
                at.pop();
            }
        }
        (J::Array(a), J::Array(b)) => {
            if a.len() != b.len() {
                out.push(format!(
                    "{}: expected {} elements, got {}",
                    render(at),
                    a.len(),
                    b.len()
                ));
                return;
            }
            for (i, (v, w)) in a.iter().zip(b).enumerate() {
                at.push(Segment::Index(i));
                diff(v, w, at, ignore, out);
                at.pop();
            }
        }
        (a, b) if a == b => {}
        (a, b) => out.push(format!("{}: expected {a}, got {b}", render(at))),
    }
}

/// `$['a'][0]` for a path.
fn render(at: &[Segment]) -> String {
    let mut s = String::from("$");
    for seg in at {
        match seg {
            Segment::Key(k) => s.push_str(&format!("['{k}']")),
            Segment::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

/// A case of the corpus's `invalid/` folder: what AWS answered to a definition.
/// CreateStateMachine and TestState cases give AWS's first error (code, message, location,
/// and the whole message when it is the only one); ValidateStateMachineDefinition cases give
/// exactly AWS's diagnostics.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct DefinitionCase {
    /// The case's name; its prefix up to the first `-` is its area.
    pub name: String,
    /// The definition, as a JSON value or as the text AWS was given.
    pub definition: serde_json::Value,
    /// `STANDARD` (the default) or `EXPRESS`.
    #[serde(default, rename = "type")]
    pub machine_type: Option<String>,
    /// What AWS answered: `api`, and `parsed` (code, message, location), `message`,
    /// `masked_tokens` or `diagnostics`, as the corpus's README describes.
    pub expected: serde_json::Value,
    /// TestState cases: the request's other members (`stateName`, `input`,
    /// `inspectionLevel`, `mock`).
    #[serde(default)]
    pub test_state: Option<serde_json::Value>,
}

impl DefinitionCase {
    /// Reads a definition case file.
    pub fn load(path: &Path) -> Result<DefinitionCase, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let case: DefinitionCase =
            serde_json::from_str(&text).map_err(|e| format!("{}: not a case file: {e}", path.display()))?;
        match case.expected.get("api") {
            Some(serde_json::Value::String(_)) => Ok(case),
            _ => Err(format!("{}: not a definition case (no expected.api)", path.display())),
        }
    }

    /// The area: the name's prefix before the first `-`.
    pub fn area(&self) -> &str {
        area_of(&self.name)
    }

    /// Checks the definition and compares the diagnostics with AWS's answer (a TestState
    /// case: sends the request to [`test_state`](crate::test_state::test_state) and compares
    /// its error): `Ok(None)` when they match, `Err` with the difference.
    pub fn run(&self) -> Result<Option<String>, String> {
        let expected = &self.expected;
        let api = expected["api"].as_str().unwrap_or("");
        if api == "TestState" {
            return self.run_test_state().map(|()| None);
        }
        let definition = &self.definition;
        let text = match definition {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let ty = match self.machine_type.as_deref() {
            Some("EXPRESS") => MachineType::Express,
            _ => MachineType::Standard,
        };
        // The whole pipeline: parse, validate, then compile (paths, templates, intrinsics).
        let diagnostics = match check_definition(&text, ty) {
            Ok(_) => Vec::new(),
            Err(e) => e.diagnostics,
        };
        if api == "ValidateStateMachineDefinition" {
            return self.compare_all(&diagnostics).map(|()| None);
        }
        self.compare_first(&diagnostics).map(|()| None)
    }

    /// TestState: the request (the definition and the case's `test_state` members) gets
    /// AWS's error and message, and, where the corpus splits the message, the same first
    /// diagnostic.
    fn run_test_state(&self) -> Result<(), String> {
        let mut body = self.test_state.clone().unwrap_or_else(|| serde_json::json!({}));
        if !body.is_object() {
            return Err(format!("test_state is not an object: {body}"));
        }
        body["definition"] = match &self.definition {
            serde_json::Value::String(s) => serde_json::Value::String(s.clone()),
            other => serde_json::Value::String(other.to_string()),
        };
        let answer = crate::test_state::TestStateRequest::from_json(&body)
            .and_then(|request| crate::test_state::test_state(&request, &crate::tasks::TaskRegistry::new()));
        let error = match answer {
            Ok(response) => return Err(format!("expected an error, got {}", response.to_json())),
            Err(error) => error,
        };
        let (name, message) = (error.name(), error.message());
        let want_name = self.expected["error"].as_str().unwrap_or("");
        let want = self.expected["message"].as_str().unwrap_or("");
        let tokens: Vec<&str> = self.expected["masked_tokens"]
            .as_array()
            .map(|a| a.iter().filter_map(|t| t.as_str()).collect())
            .unwrap_or_default();
        if name != want_name || !matches_masked(want, message, &tokens) {
            return Err(format!("expected {want_name}: {want}\n  got {name}: {message}"));
        }
        Ok(())
    }

    /// ValidateStateMachineDefinition: the same diagnostics, in the same order.
    fn compare_all(&self, diagnostics: &[Diagnostic]) -> Result<(), String> {
        let want = self.expected["diagnostics"].as_array().cloned().unwrap_or_default();
        let same = want.len() == diagnostics.len()
            && want.iter().zip(diagnostics).all(|(w, d)| {
                w["severity"].as_str() == Some(d.severity.as_str())
                    && w["code"].as_str() == Some(d.code)
                    && w["message"].as_str() == Some(d.message.as_str())
                    && w["location"].as_str() == d.location.as_deref()
            });
        if same {
            return Ok(());
        }
        Err(format!(
            "expected {}\n  got {}",
            serde_json::Value::Array(want),
            show(diagnostics)
        ))
    }

    /// CreateStateMachine and TestState: the first error, and the whole message when it is
    /// the only one.
    fn compare_first(&self, diagnostics: &[Diagnostic]) -> Result<(), String> {
        let parsed = &self.expected["parsed"];
        let tokens: Vec<&str> = self.expected["masked_tokens"]
            .as_array()
            .map(|a| a.iter().filter_map(|t| t.as_str()).collect())
            .unwrap_or_default();
        let first = diagnostics
            .first()
            .ok_or_else(|| format!("no diagnostic, expected {parsed}"))?;
        let same = parsed["code"].as_str() == Some(first.code)
            && matches_masked(parsed["message"].as_str().unwrap_or(""), &first.message, &tokens)
            && parsed["location"].as_str() == first.location.as_deref();
        if !same {
            return Err(format!("expected {parsed}\n  got {}", show(diagnostics)));
        }
        if let (Some(message), [_]) = (self.expected["message"].as_str(), diagnostics) {
            let ours = invalid_definition_message(diagnostics);
            if !matches_masked(message, &ours, &tokens) {
                return Err(format!("message {message:?}\n  got {ours:?}"));
            }
        }
        Ok(())
    }
}

/// The diagnostics, one per line, for a difference report.
fn show(diagnostics: &[Diagnostic]) -> String {
    let lines: Vec<String> = diagnostics.iter().map(|d| format!("{d:?}")).collect();
    lines.join("\n    ")
}

/// Whether `actual` is `expected` with each of the masked `tokens` standing for any text.
fn matches_masked(expected: &str, actual: &str, tokens: &[&str]) -> bool {
    let mut pieces = vec![expected];
    for token in tokens {
        pieces = pieces.iter().flat_map(|piece| piece.split(token)).collect();
    }
    let [first, middle @ .., last] = &pieces[..] else {
        return expected == actual;
    };
    let Some(mut rest) = actual.strip_prefix(first) else {
        return false;
    };
    for piece in middle {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

/// A case name's area: its prefix before the first `-`.
fn area_of(name: &str) -> &str {
    name.split('-').next().unwrap_or(name)
}

/// Every `.json` file under the given files and folders, sorted.
pub fn collect_case_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| format!("{}: {e}", path.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect();
            entries.sort();
            for entry in entries {
                if entry.is_dir() {
                    files.extend(collect_case_files(&[entry])?);
                } else if entry.extension().is_some_and(|e| e == "json") {
                    files.push(entry);
                }
            }
        } else if path.exists() {
            files.push(path.clone());
        } else {
            return Err(format!("{}: no such file or folder", path.display()));
        }
    }
    Ok(files)
}

/// A case file of either kind.
enum AnyCase {
    /// A recorded execution.
    Execution(Box<Case>),
    /// AWS's answer to a definition.
    Definition(Box<DefinitionCase>),
}

impl AnyCase {
    /// The case in `file`, `None` when it is neither kind.
    fn load(file: &Path) -> Option<AnyCase> {
        match Case::load(file) {
            Ok(case) => Some(AnyCase::Execution(Box::new(case))),
            Err(_) => DefinitionCase::load(file)
                .ok()
                .map(|case| AnyCase::Definition(Box::new(case))),
        }
    }

    /// The case's name.
    fn name(&self) -> &str {
        match self {
            AnyCase::Execution(case) => &case.name,
            AnyCase::Definition(case) => &case.name,
        }
    }

    /// Runs the case; a panic of the runner is a failure.
    fn verdict(&self) -> Verdict {
        let result = std::panic::catch_unwind(|| match self {
            AnyCase::Execution(case) => case.run().map(|()| None),
            AnyCase::Definition(case) => case.run(),
        });
        match result {
            Ok(Ok(None)) => Verdict::Passed,
            Ok(Ok(Some(reason))) => Verdict::Skipped(reason),
            Ok(Err(difference)) => Verdict::Failed(difference),
            Err(_) => Verdict::Failed("the runner panicked".into()),
        }
    }
}

/// What running one case gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The result matched the recording.
    Passed,
    /// The result differed; the difference.
    Failed(String),
    /// The case does not apply; why.
    Skipped(String),
}

/// One case's result in a run of case files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseResult {
    /// The case's name.
    pub name: String,
    /// Its area: the name's prefix before the first `-`.
    pub area: String,
    /// The case file.
    pub file: PathBuf,
    /// What the run gave.
    pub verdict: Verdict,
    /// How long the case took to run.
    pub time: Duration,
}

/// How many cases passed, failed and were skipped, and how long they took together.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Cases that matched the recording.
    pub passed: usize,
    /// Cases that differed.
    pub failed: usize,
    /// Cases that do not apply, and (in a whole run's totals) files that are not cases.
    pub skipped: usize,
    /// The cases' run times added up.
    pub time: Duration,
}

impl Counts {
    /// The counts of these results.
    pub fn of<'a>(results: impl IntoIterator<Item = &'a CaseResult>) -> Counts {
        let mut counts = Counts::default();
        for result in results {
            match result.verdict {
                Verdict::Passed => counts.passed += 1,
                Verdict::Failed(_) => counts.failed += 1,
                Verdict::Skipped(_) => counts.skipped += 1,
            }
            counts.time += result.time;
        }
        counts
    }

    /// Passed, failed and skipped together.
    pub fn tests(&self) -> usize {
        self.passed + self.failed + self.skipped
    }
}

/// The results of a run of case files ([`run_cases`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TestResults {
    /// The cases that ran, in file order.
    pub cases: Vec<CaseResult>,
    /// Files that are neither kind of case: counted as skipped, in no area.
    pub not_cases: Vec<PathBuf>,
}

impl TestResults {
    /// The cases by area: areas sorted by name, each one's cases in file order.
    pub fn areas(&self) -> Vec<(&str, Vec<&CaseResult>)> {
        let mut areas: BTreeMap<&str, Vec<&CaseResult>> = BTreeMap::new();
        for case in &self.cases {
            areas.entry(&case.area).or_default().push(case);
        }
        areas.into_iter().collect()
    }

    /// The whole run's counts; files that are not cases count as skipped.
    pub fn totals(&self) -> Counts {
        let mut totals = Counts::of(&self.cases);
        totals.skipped += self.not_cases.len();
        totals
    }

    /// The passed and failed counts per area, a line each, and last `N passed, M failed`
    /// (`, K skipped` when any was).
    pub fn summary(&self) -> String {
        let mut text = String::new();
        for (area, cases) in self.areas() {
            let counts = Counts::of(cases);
            text.push_str(&format!(
                "{area:<12} {:>4} passed, {:>4} failed\n",
                counts.passed, counts.failed
            ));
        }
        let Counts {
            passed,
            failed,
            skipped,
            ..
        } = self.totals();
        text.push_str(&format!("{passed} passed, {failed} failed"));
        if skipped > 0 {
            text.push_str(&format!(", {skipped} skipped"));
        }
        text.push('\n');
        text
    }
}

/// Runs the case files under `paths` ([`collect_case_files`]) whose name contains `filter`
/// (every one without it), both kinds ([`Case`], [`DefinitionCase`]), timing each one and
/// calling `on_result` with each result as soon as it is known.
pub fn run_cases(
    paths: &[PathBuf],
    filter: Option<&str>,
    mut on_result: impl FnMut(&CaseResult),
) -> Result<TestResults, String> {
    let mut results = TestResults::default();
    for file in collect_case_files(paths)? {
        let Some(case) = AnyCase::load(&file) else {
            results.not_cases.push(file);
            continue;
        };
        let name = case.name();
        if filter.is_some_and(|f| !name.contains(f)) {
            continue;
        }
        let start = Instant::now();
        let verdict = case.verdict();
        let result = CaseResult {
            name: name.to_string(),
            area: area_of(name).to_string(),
            file,
            verdict,
            time: start.elapsed(),
        };
        on_result(&result);
        results.cases.push(result);
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ignore_paths_parse() {
        assert_eq!(
            parse_ignore_path("$.a.b[0]['odd key']"),
            vec![
                Segment::Key("a".into()),
                Segment::Key("b".into()),
                Segment::Index(0),
                Segment::Key("odd key".into())
            ]
        );
    }

    #[test]
    fn diff_by_value_with_ignores() {
        let mut out = Vec::new();
        diff(
            &json!({"a": 1, "b": [1.0, "x"], "c": "masked"}),
            &json!({"b": [1, "x"], "a": 1.0, "c": "real"}),
            &mut Vec::new(),
            &[parse_ignore_path("$.c")],
            &mut out,
        );
        assert!(out.is_empty(), "{out:?}");
        diff(
            &json!({"a": 1}),
            &json!({"a": 2, "z": 0}),
            &mut Vec::new(),
            &[],
            &mut out,
        );
        assert_eq!(out, vec!["$['a']: expected 1, got 2", "$['z']: unexpected"]);
    }

    #[test]
    fn masked_tokens_stand_for_any_text() {
        let tokens = ["<partition>", "<region>"];
        let expected = "arn:<partition>:states:<region>:x";
        assert!(matches_masked(expected, "arn:aws:states:us-east-1:x", &tokens));
        assert!(matches_masked(expected, "arn::states::x", &tokens));
        assert!(!matches_masked(expected, "arn:aws:lambda:us-east-1:x", &tokens));
        assert!(!matches_masked(expected, "arn:aws:states:us-east-1:xy", &tokens));
        assert!(matches_masked("plain", "plain", &tokens));
        assert!(!matches_masked("plain", "plainer", &tokens));
    }

    #[test]
    fn detects_variables() {
        assert!(mentions_variable(&json!({"InputPath": "$answer"})));
        assert!(mentions_variable(&json!({"x.$": "States.Format('{}', $v)"})));
        assert!(!mentions_variable(
            &json!({"InputPath": "$.answer", "y": "$$.Execution"})
        ));
    }
}
