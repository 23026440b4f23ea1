//! Validation of a parsed definition: the rules that span fields and states, with AWS's
//! diagnostics (`ValidateStateMachineDefinition` / `CreateStateMachine`).
//!
//! [`crate::parse`] has already checked each field on its own (types, required and
//! unsupported fields, enums, ranges, exclusive pairs, fields of the other query language, a
//! JSONPath state in a JSONata machine, a state name repeated in one `States` object). This
//! module checks transitions, reachability and the terminal state, state names machine-wide,
//! `States.ALL` in error handlers, literal Wait timestamps, Task resources (recognised
//! integrations, heartbeat below timeout) and the EXPRESS restrictions. The syntax of paths,
//! templates, intrinsic calls and JSONata expressions is the compiler's.

use std::collections::{HashMap, HashSet};

use crate::diagnostic::{codes, Diagnostic};
use crate::model::{
    Graph, MachineType, NumberSource, QueryLanguage, State, StateKind, StateMachine, Transition, WaitFor,
};
use crate::parse::{is_jsonata_expression, parse_definition};

/// The longest state name AWS accepts, in characters.
pub const MAX_STATE_NAME_CHARS: usize = 80;

/// Parses and validates definition text: every diagnostic of [`parse_definition`], or if it
/// parsed, every diagnostic of [`validate`].
pub fn validate_text(text: &str, ty: MachineType) -> Result<StateMachine, Vec<Diagnostic>> {
    let machine = parse_definition(text)?;
    let diags = validate(&machine, ty);
    if diags.iter().any(|d| d.severity == crate::diagnostic::Severity::Error) {
        Err(diags)
    } else {
        Ok(machine)
    }
}

/// Checks the rules that span fields and states; returns every problem found (empty when the
/// definition is valid), in AWS's order: schema problems first, then transition targets,
/// reachability and terminal states.
pub fn validate(machine: &StateMachine, ty: MachineType) -> Vec<Diagnostic> {
    let mut v = Validator {
        diags: Vec::new(),
        transitions: Vec::new(),
        ty,
        machine_language: machine.default_language(),
        names: HashSet::new(),
    };
    v.graph(&machine.graph);
    v.diags.append(&mut v.transitions);
    v.diags
}

struct Validator<'m> {
    diags: Vec<Diagnostic>,
    /// Transition diagnostics, reported after the schema ones.
    transitions: Vec<Diagnostic>,
    ty: MachineType,
    machine_language: QueryLanguage,
    /// Every state name seen so far, machine-wide.
    names: HashSet<&'m str>,
}

impl<'m> Validator<'m> {
    fn schema(&mut self, message: impl Into<String>, ptr: &str) {
        self.diags.push(Diagnostic::schema(message, ptr));
    }

    fn graph(&mut self, g: &'m Graph) {
        for s in &g.states {
            self.state(s);
        }
        self.transitions_of(g);
    }

    fn state(&mut self, s: &'m State) {
        if !self.names.insert(&s.name) {
            self.diags.push(Diagnostic::error(
                codes::DUPLICATE_STATE_NAME,
                format!("Duplicate State name: {}", s.name),
                Some(s.pointer.clone()),
            ));
        }
        if s.name.chars().count() > MAX_STATE_NAME_CHARS {
            self.diags.push(Diagnostic::error(
                codes::INVALID_STATE_NAME,
                format!(
                    "State name must be no longer than {MAX_STATE_NAME_CHARS} characters: {}",
                    s.name
                ),
                Some(s.pointer.clone()),
            ));
        }
        let lang = s.language(self.machine_language);
        let retry_lists = s.retry.iter().map(|r| (&r.error_equals, r.pointer.as_str()));
        self.error_lists(retry_lists.collect());
        let catch_lists = s.catch.iter().map(|c| (&c.error_equals, c.pointer.as_str()));
        self.error_lists(catch_lists.collect());
        match &s.kind {
            StateKind::Task(t) => {
                self.resource(&t.resource, &format!("{}/Resource", s.pointer));
                if let (Some(NumberSource::Literal(timeout)), Some(NumberSource::Literal(beat))) =
                    (&t.timeout, &t.heartbeat)
                {
                    if beat >= timeout {
                        self.schema(
                            "HeartbeatSeconds must be smaller than TimeoutSeconds",
                            &format!("{}/HeartbeatSeconds", s.pointer),
                        );
                    }
                }
            }
            StateKind::Wait(WaitFor::Timestamp(ts)) => {
                let literal = lang == QueryLanguage::JsonPath || !is_jsonata_expression(ts);
                if literal && !is_rfc3339(ts) {
                    self.schema(
                        "String does not match RFC3339 timestamp",
                        &format!("{}/Timestamp", s.pointer),
                    );
                }
            }
            StateKind::Parallel { branches } => {
                for b in branches {
                    self.graph(b);
                }
            }
            StateKind::Map(m) => self.graph(&m.processor),
            _ => {}
        }
    }

    /// `ErrorEquals` lists of a state's retriers or catchers: `States.ALL` alone, last.
    fn error_lists(&mut self, lists: Vec<(&Vec<String>, &str)>) {
        let count = lists.len();
        for (i, (names, ptr)) in lists.into_iter().enumerate() {
            if !names.iter().any(|n| n == "States.ALL") {
                continue;
            }
            let at = format!("{ptr}/ErrorEquals");
            if names.len() > 1 {
                self.schema("'States.ALL' must appear alone in an 'ErrorEquals' array", &at);
            } else if i + 1 != count {
                self.schema(
                    "The error handler with 'States.ALL' in its 'ErrorEquals' must be the last one",
                    &at,
                );
            }
        }
    }

    /// Task `Resource`: recognised service integrations, EXPRESS restrictions.
    fn resource(&mut self, resource: &str, at: &str) {
        if let Some(message) = unrecognized_resource(resource) {
            self.schema(message, at);
            return;
        }
        if self.ty != MachineType::Express {
            return;
        }
        let message = if resource.ends_with(".waitForTaskToken") {
            Some("Express state machine does not support '.waitForTaskToken' service integration ")
        } else if resource.ends_with(".sync") || resource.contains(".sync:") {
            Some("Express state machine does not support '.sync' service integration")
        } else if is_activity_arn(resource) {
            Some("Express state machine does not support Activity ARN")
        } else {
            None
        };
        if let Some(m) = message {
            self.schema(m, at);
        }
    }

    /// Transition targets, terminal states and reachability inside one block.
    fn transitions_of(&mut self, g: &'m Graph) {
        let index: HashMap<&str, usize> = g.states.iter().enumerate().map(|(i, s)| (s.name.as_str(), i)).collect();
        let missing = |target: &str, at: String| {
            Diagnostic::error(
                codes::MISSING_TRANSITION_TARGET,
                format!("Missing 'Next' target: {target}"),
                Some(at),
            )
        };
        if !index.contains_key(g.start_at.as_str()) {
            self.transitions
                .push(missing(&g.start_at, format!("{}/StartAt", g.pointer)));
        }
        let mut edges: Vec<Vec<usize>> = vec![Vec::new(); g.states.len()];
        for (i, s) in g.states.iter().enumerate() {
            for (target, at) in targets(s) {
                match index.get(target) {
                    Some(&j) => edges[i].push(j),
                    None => self.transitions.push(missing(target, at)),
                }
            }
        }
        // AWS checks for a terminal state at the top level only; when there is none it does
        // not report unreachable states either.
        let has_terminal = g.states.iter().any(|s| {
            matches!(s.kind, StateKind::Succeed | StateKind::Fail(_)) || s.transition == Some(Transition::End)
        });
        if !has_terminal && g.pointer.is_empty() {
            self.transitions.push(Diagnostic::error(
                codes::MISSING_END_STATE,
                "Workflow has no terminal state",
                None,
            ));
            return;
        }
        let mut seen: HashSet<usize> = HashSet::new();
        let mut stack: Vec<usize> = index.get(g.start_at.as_str()).copied().into_iter().collect();
        while let Some(i) = stack.pop() {
            if seen.insert(i) {
                stack.extend(edges[i].iter().copied().filter(|j| !seen.contains(j)));
            }
        }
        for (i, s) in g.states.iter().enumerate() {
            if !seen.contains(&i) {
                self.transitions.push(Diagnostic::error(
                    codes::MISSING_TRANSITION_TARGET,
                    format!("State \"{}\" is not reachable.", s.name),
                    Some(s.pointer.clone()),
                ));
            }
        }
    }
}

/// Every transition target of a state with the location AWS reports for it.
fn targets(s: &State) -> Vec<(&str, String)> {
    let mut out = Vec::new();
    if let Some(Transition::Next(n)) = &s.transition {
        out.push((n.as_str(), format!("{}/Next", s.pointer)));
    }
    if let StateKind::Choice { choices, default } = &s.kind {
        for rule in choices {
            out.push((rule.next.as_str(), format!("{}/Next", rule.pointer)));
        }
        if let Some(d) = default {
            out.push((d.as_str(), format!("{}/Default", s.pointer)));
        }
    }
    for c in &s.catch {
        out.push((c.next.as_str(), format!("{}/Next", c.pointer)));
    }
    out
}

/// Whether `resource` is an activity ARN (`arn:<partition>:states:<region>:<account>:activity:<name>`).
pub fn is_activity_arn(resource: &str) -> bool {
    let parts: Vec<&str> = resource.splitn(7, ':').collect();
    parts.len() == 7 && parts[0] == "arn" && parts[2] == "states" && !parts[3].is_empty() && parts[5] == "activity"
}

/// The optimised service integrations (`arn:<partition>:states:::<service>:<action>`) whose
/// action list is known; an action outside its service's list is not a recognised resource.
/// Services not listed here (and `aws-sdk:*`) are accepted as written.
const INTEGRATIONS: &[(&str, &[&str])] = &[
    ("dynamodb", &["getItem", "putItem", "updateItem", "deleteItem"]),
    ("lambda", &["invoke"]),
    ("sns", &["publish"]),
    ("sqs", &["sendMessage"]),
    ("states", &["startExecution"]),
    ("events", &["putEvents"]),
    ("batch", &["submitJob"]),
    ("ecs", &["runTask"]),
    ("glue", &["startJobRun"]),
    ("databrew", &["startJobRun"]),
    ("apigateway", &["invoke"]),
    ("http", &["invoke"]),
    (
        "codebuild",
        &[
            "startBuild",
            "stopBuild",
            "batchDeleteBuilds",
            "batchGetReports",
            "startBuildBatch",
        ],
    ),
    (
        "athena",
        &[
            "startQueryExecution",
            "stopQueryExecution",
            "getQueryExecution",
            "getQueryResults",
        ],
    ),
];

/// AWS's message for a Task resource it does not recognise, if `resource` is one.
fn unrecognized_resource(resource: &str) -> Option<String> {
    let rest = resource.strip_prefix("arn:")?;
    let (_partition, rest) = rest.split_once(':')?;
    let integration = rest.strip_prefix("states:::")?;
    let (service, action) = integration.split_once(':')?;
    let action = action.split('.').next().unwrap_or(action);
    let (_, actions) = INTEGRATIONS.iter().find(|(s, _)| *s == service)?;
    if actions.contains(&action) {
        return None;
    }
    Some(crate::parse::unrecognized_resource_message(resource))
}

/// Whether `s` is a timestamp in the profile Step Functions accepts: RFC 3339
/// (`YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)`, uppercase `T` and `Z`), with a real
/// calendar date.
pub fn is_rfc3339(s: &str) -> bool {
    // The runtime parser is Java's (case-insensitive); the definition schema wants `T`, `Z`.
    crate::timestamp::parse_rfc3339(s).is_some() && !s.contains(['t', 'z'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        for ok in [
            "2016-03-14T01:59:00Z",
            "2016-03-05T21:29:29.243167252Z",
            "2016-03-14T01:59:00.00Z",
            "2016-03-14T01:59:00+01:00",
            "2016-02-29T00:00:00Z",
        ] {
            assert!(is_rfc3339(ok), "{ok}");
        }
        for bad in [
            "2016-13-05T21:29:29Z",
            "05-12-2016T21:29:29Z",
            "2016-12-05T25:29:29Z",
            "2016-12-05 21:29:29Z",
            "2016-12-05T21:29:29",
            "{% '2016-03-14T01:59:00Z' %}",
            "2015-02-29T00:00:00Z",
            "2016-03-14T01:59:00.Z",
            "2016-03-14t01:59:00z",
            "",
            "2016-03-14T01:59:00Zx",
        ] {
            assert!(!is_rfc3339(bad), "{bad}");
        }
    }

    #[test]
    fn activity_arns_and_resources() {
        assert!(is_activity_arn("arn:aws:states:us-east-1:000000000000:activity:x"));
        assert!(!is_activity_arn("arn:aws:states:::lambda:invoke"));
        assert!(unrecognized_resource("arn:aws:states:::dynamodb:query").is_some());
        assert!(unrecognized_resource("arn:aws:states:::dynamodb:getItem").is_none());
        assert!(unrecognized_resource("arn:aws:states:::lambda:invoke.waitForTaskToken").is_none());
        assert!(unrecognized_resource("arn:aws:states:::aws-sdk:s3:listBuckets").is_none());
        assert!(unrecognized_resource("arn:aws:lambda:us-east-1:1:function:f").is_none());
    }
}
