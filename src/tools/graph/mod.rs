//! Drawing a definition: a Mermaid flowchart, a Graphviz DOT digraph, an SVG picture or a
//! standalone HTML page of its states and transitions, optionally with one execution's path.
//!
//! [`render`] takes the parsed [`StateMachine`] and, for a path, an [`ExecutionPath`], and
//! returns the text. [`PathRecorder`] is a [`HistorySink`] that turns an execution's history
//! events into that path; [`ExecutionPath::from_events`] and
//! [`ExecutionPath::from_json_events`] do the same for a recorded history.
//!
//! What is drawn: a start marker pointing at `StartAt`; one node per state, labelled with its
//! name and type and shaped by type; an edge per `Next`, per Choice rule (`rule 1`, ...) and
//! `Default`, a dashed edge per Catch labelled with its error names, and an edge from each
//! `End` state to an end marker. Parallel branches and Map processors are nested (subgraphs
//! in Mermaid, clusters in DOT, boxes inside their state in SVG).
//!
//! The SVG is laid out here, in layers ([`Format::Svg`]): each state is a
//! `<g class="state" data-state="NAME" data-type="TYPE" data-status="STATUS">` (STATUS as
//! [`StateStatus::as_str`] writes it) with its box in `data-x`, `data-y`, `data-width` and
//! `data-height`; each edge a `<g class="edge" data-from="A" data-to="B" data-kind="KIND"
//! data-taken="true|false">` (KIND as [`EdgeKind::as_str`], or `start`, `end`, `branch`;
//! the start and end markers are the empty name).

mod layout;
mod svg;
mod text;

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::history::{is_error_type, EventData, HistoryEvent, HistorySink};
use crate::model::{Graph, State, StateKind, StateMachine, Transition};

/// The format [`render`] writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Format {
    /// A Mermaid `flowchart`.
    #[default]
    Mermaid,
    /// A Graphviz DOT `digraph`.
    Dot,
    /// A standalone SVG document (no XML prolog, so that it can be inlined in HTML).
    Svg,
    /// A standalone HTML page: the SVG, a legend, and with a path its execution's events,
    /// input, output, error and cause.
    Html,
}

/// What one execution did, by state name (state names are unique machine-wide).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecutionPath {
    /// The states entered at least once.
    pub entered: BTreeSet<String>,
    /// The transitions taken, `(from, to)`: a `Next`, a Choice rule or `Default`, or a Catch.
    /// Where several of a state's edges lead to the same state, each of them counts as taken.
    pub transitions: BTreeSet<(String, String)>,
    /// The `End` states left through their `End`.
    pub ended: BTreeSet<String>,
    /// The state where the execution failed or timed out, when it did.
    pub failed: Option<String>,
    /// The Parallel and Map states that the failed state is in (still running when the
    /// execution failed).
    pub failed_parents: BTreeSet<String>,
    /// The states left through a Catch after an error.
    pub caught: BTreeSet<String>,
    /// The states still running (entered, not left) while the execution runs.
    pub in_progress: BTreeSet<String>,
    /// The states aborted while running: stopped with the execution, or cut short when a
    /// sibling branch or iteration failed.
    pub cancelled: BTreeSet<String>,
    /// Whether the execution has ended (succeeded, failed, timed out or aborted).
    pub execution_ended: bool,
    /// The execution's events, in order (what the HTML page lists).
    pub events: Vec<PathEvent>,
}

/// One history event as the HTML page lists it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PathEvent {
    /// The event id.
    pub id: u32,
    /// The id of the event this one follows from (0 for none).
    pub previous_event_id: u32,
    /// When it happened (epoch milliseconds).
    pub timestamp_ms: i64,
    /// AWS's event type, such as `TaskStateEntered`.
    pub event_type: String,
    /// The state it concerns, if any.
    pub state: Option<String>,
    /// Its input (or a task's parameters), as JSON text.
    pub input: Option<String>,
    /// Its output, as JSON text.
    pub output: Option<String>,
    /// Its error name.
    pub error: Option<String>,
    /// Its cause.
    pub cause: Option<String>,
}

/// How the graph colours a state, after AWS's graph inspector legend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StateStatus {
    /// Entered and left normally.
    Succeeded,
    /// Where the execution failed (or a Parallel or Map state it failed in).
    Failed,
    /// Left through a Catch after an error.
    CaughtError,
    /// Running.
    InProgress,
    /// Aborted while running.
    Cancelled,
    /// Never entered.
    NotStarted,
}

impl StateStatus {
    /// The `data-status` value: `succeeded`, `failed`, `caught-error`, `in-progress`,
    /// `cancelled` or `not-started`.
    pub fn as_str(self) -> &'static str {
        match self {
            StateStatus::Succeeded => "succeeded",
            StateStatus::Failed => "failed",
            StateStatus::CaughtError => "caught-error",
            StateStatus::InProgress => "in-progress",
            StateStatus::Cancelled => "cancelled",
            StateStatus::NotStarted => "not-started",
        }
    }
}

impl ExecutionPath {
    fn took(&self, from: &str, to: &str) -> bool {
        self.transitions.contains(&(from.to_string(), to.to_string()))
    }

    /// How the graph colours the state `name`.
    pub fn status(&self, name: &str) -> StateStatus {
        if self.failed.as_deref() == Some(name) || self.failed_parents.contains(name) {
            StateStatus::Failed
        } else if self.in_progress.contains(name) {
            StateStatus::InProgress
        } else if self.cancelled.contains(name) {
            StateStatus::Cancelled
        } else if self.caught.contains(name) {
            StateStatus::CaughtError
        } else if self.entered.contains(name) {
            StateStatus::Succeeded
        } else {
            StateStatus::NotStarted
        }
    }

    /// The path of an execution of `machine` from its history events.
    pub fn from_events(machine: &StateMachine, events: &[HistoryEvent<'_>]) -> ExecutionPath {
        let mut recorder = PathRecorder::new(machine);
        for event in events {
            recorder.record(event);
        }
        recorder.finish()
    }

    /// The path of an execution of `machine` from its history as AWS's
    /// `GetExecutionHistory` returns it (each event `{"id", "previousEventId", "timestamp",
    /// "type", "...EventDetails"}`; timestamps in epoch seconds, or RFC 3339 text). The state of
    /// an event without a `name` is that of the event it follows from.
    pub fn from_json_events(machine: &StateMachine, events: &[serde_json::Value]) -> ExecutionPath {
        let mut recorder = PathRecorder::new(machine);
        let mut state_of: HashMap<u64, Option<String>> = HashMap::new();
        for event in events {
            let id = event.get("id").and_then(|v| v.as_u64()).unwrap_or_default();
            let previous = (event.get("previousEventId").and_then(|v| v.as_u64())).unwrap_or_default();
            let event_type = event.get("type").and_then(|v| v.as_str()).unwrap_or_default();
            let details = event.as_object().and_then(|members| {
                (members.iter())
                    .find(|(key, _)| key.ends_with("EventDetails"))
                    .map(|(_, v)| v)
            });
            let text = |key: &str| {
                details
                    .and_then(|d| d.get(key))
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
            };
            let state = match text("name") {
                Some(name) => Some(name),
                None if event_type.starts_with("Execution") => None,
                None => state_of.get(&previous).cloned().flatten(),
            };
            state_of.insert(id, state.clone());
            let timestamp_ms = match event.get("timestamp") {
                Some(serde_json::Value::Number(n)) => (n.as_f64().unwrap_or_default() * 1000.0).round() as i64,
                Some(serde_json::Value::String(s)) => {
                    crate::timestamp::parse_timestamp(s).map_or(0, |n| (n / 1_000_000) as i64)
                }
                _ => 0,
            };
            let error = text("error");
            let row = PathEvent {
                id: id as u32,
                previous_event_id: previous as u32,
                timestamp_ms,
                event_type: event_type.to_string(),
                state,
                input: text("input").or_else(|| text("parameters")),
                output: text("output"),
                cause: text("cause"),
                error,
            };
            recorder.observe(row);
        }
        recorder.finish()
    }
}

/// Draws `machine` in `format`, with `path`'s states, transitions and failure highlighted
/// when given. The output is deterministic.
pub fn render(machine: &StateMachine, format: Format, path: Option<&ExecutionPath>) -> String {
    match format {
        Format::Mermaid | Format::Dot => text::render(machine, format, path),
        Format::Svg => svg::render_svg(machine, path),
        Format::Html => svg::render_html(machine, path),
    }
}

/// The kind of a transition between two states.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EdgeKind {
    /// A `Next`.
    Next,
    /// A Choice rule.
    Choice,
    /// A Choice state's `Default`.
    Default,
    /// A Catcher.
    Catch,
}

impl EdgeKind {
    /// The `data-kind` value: `next`, `choice`, `default` or `catch`.
    pub fn as_str(self) -> &'static str {
        match self {
            EdgeKind::Next => "next",
            EdgeKind::Choice => "choice",
            EdgeKind::Default => "default",
            EdgeKind::Catch => "catch",
        }
    }
}

/// A transition from a state to another state of its graph.
struct Edge<'m> {
    /// The target state's name.
    to: &'m str,
    /// `rule N`, `Default`, or a Catch's error names.
    label: Option<String>,
    /// Which kind of transition.
    kind: EdgeKind,
}

/// `state`'s transitions, in the order they are drawn: `Next`, the Choice rules and
/// `Default`, the Catchers (`End` goes to no state, and is not one).
fn edges(state: &State) -> Vec<Edge<'_>> {
    let mut edges = Vec::new();
    if let Some(Transition::Next(next)) = &state.transition {
        edges.push(Edge {
            to: next,
            label: None,
            kind: EdgeKind::Next,
        });
    }
    if let StateKind::Choice { choices, default } = &state.kind {
        for (k, rule) in choices.iter().enumerate() {
            edges.push(Edge {
                to: &rule.next,
                label: Some(format!("rule {}", k + 1)),
                kind: EdgeKind::Choice,
            });
        }
        if let Some(default) = default {
            edges.push(Edge {
                to: default,
                label: Some("Default".to_string()),
                kind: EdgeKind::Default,
            });
        }
    }
    for catcher in &state.catch {
        edges.push(Edge {
            to: &catcher.next,
            label: Some(catcher.error_equals.join(", ")),
            kind: EdgeKind::Catch,
        });
    }
    edges
}

/// Builds an [`ExecutionPath`] from an execution's history events (give it to
/// [`Machine::run_json_recording`](crate::Machine::run_json_recording), then call
/// [`finish`](Self::finish)).
///
/// A state is entered with its `...StateEntered` event. A transition `A -> B` is taken when
/// `B` is entered and `A`, a state of the same graph (branch or processor) with an edge to
/// `B`, has left (`...StateExited`, which a Catch records too) and has not yet been followed;
/// the most recently left such state counts. Map iterations or Parallel branches that take
/// turns run the same graph's states interleaved, which can credit a transition to a state
/// another iteration left; every transition so credited is still one of the definition's.
/// A state's error is caught when it leaves through a Catch edge after an error event (a
/// Catch edge to a state no other edge leads to needs no error event). A state is cancelled
/// by its `...StateAborted` event, or when the execution is aborted while it runs. When the
/// execution failed or timed out, the failed state is the state entered last that had
/// neither left nor been aborted, and the other such states are its Parallel and Map
/// parents. While the execution runs, the states entered and not left are in progress.
#[derive(Debug)]
pub struct PathRecorder<'m> {
    /// The graph number of each state name.
    graph_of: HashMap<&'m str, usize>,
    /// Every transition of the definition: `Next`, Choice rules and `Default`, Catch.
    edges: HashSet<(&'m str, &'m str)>,
    /// The transitions that are a Catch.
    catches: HashSet<(&'m str, &'m str)>,
    /// The transitions that are a `Next`, a Choice rule or `Default`.
    normal: HashSet<(&'m str, &'m str)>,
    /// The states with `End: true`.
    ends: HashSet<&'m str>,
    /// Per graph, the states that have left and not yet been followed, least recent first
    /// (each at most once).
    left: Vec<Vec<&'m str>>,
    /// Per state, the sequence numbers of its entries that have not left yet.
    open: HashMap<&'m str, Vec<u64>>,
    /// The states with an error event since their last entry.
    errored: HashSet<&'m str>,
    /// Entries so far.
    sequence: u64,
    /// The type of the event that ended the execution, once it has.
    ending: Option<String>,
    path: ExecutionPath,
}

impl<'m> PathRecorder<'m> {
    /// A recorder for executions of `machine`.
    pub fn new(machine: &'m StateMachine) -> PathRecorder<'m> {
        let mut recorder = PathRecorder {
            graph_of: HashMap::new(),
            edges: HashSet::new(),
            catches: HashSet::new(),
            normal: HashSet::new(),
            ends: HashSet::new(),
            left: Vec::new(),
            open: HashMap::new(),
            errored: HashSet::new(),
            sequence: 0,
            ending: None,
            path: ExecutionPath::default(),
        };
        recorder.add_graph(&machine.graph);
        recorder
    }

    fn add_graph(&mut self, graph: &'m Graph) {
        let g = self.left.len();
        self.left.push(Vec::new());
        for state in &graph.states {
            let name = state.name.as_str();
            self.graph_of.insert(name, g);
            if state.transition == Some(Transition::End) {
                self.ends.insert(name);
            }
            for edge in edges(state) {
                self.edges.insert((name, edge.to));
                match edge.kind {
                    EdgeKind::Catch => self.catches.insert((name, edge.to)),
                    _ => self.normal.insert((name, edge.to)),
                };
            }
            match &state.kind {
                StateKind::Parallel { branches } => branches.iter().for_each(|b| self.add_graph(b)),
                StateKind::Map(map) => self.add_graph(&map.processor),
                _ => {}
            }
        }
    }

    /// The path recorded so far.
    pub fn finish(mut self) -> ExecutionPath {
        for left in &self.left {
            let ended = left.iter().filter(|name| self.ends.contains(*name));
            self.path.ended.extend(ended.map(|name| name.to_string()));
        }
        let mut open: Vec<(u64, &str)> = (self.open.iter())
            .filter_map(|(name, entries)| entries.last().map(|seq| (*seq, *name)))
            .collect();
        open.sort_unstable();
        let open_names = open.iter().map(|(_, name)| name.to_string());
        match self.ending.as_deref() {
            None => self.path.in_progress.extend(open_names),
            Some("ExecutionAborted") => self.path.cancelled.extend(open_names),
            Some("ExecutionFailed" | "ExecutionTimedOut") => {
                if let Some((_, last)) = open.pop() {
                    self.path.failed = Some(last.to_string());
                }
                let parents = open.iter().map(|(_, name)| name.to_string());
                self.path.failed_parents.extend(parents);
            }
            Some(_) => {}
        }
        self.path.execution_ended = self.ending.is_some();
        self.path
    }

    fn entered(&mut self, name: &'m str, g: usize) {
        self.path.entered.insert(name.to_string());
        let left = &mut self.left[g];
        if let Some(i) = left.iter().rposition(|from| self.edges.contains(&(*from, name))) {
            let from = left.remove(i);
            self.path.transitions.insert((from.to_string(), name.to_string()));
            let edge = (from, name);
            if self.catches.contains(&edge) && (!self.normal.contains(&edge) || self.errored.contains(from)) {
                self.path.caught.insert(from.to_string());
            }
        }
        self.errored.remove(name);
        self.sequence += 1;
        self.open.entry(name).or_default().push(self.sequence);
    }

    /// `name` left (`exited`) or was aborted: it is no longer open.
    fn closed(&mut self, name: &'m str, g: usize, exited: bool) {
        if let Some(entries) = self.open.get_mut(name) {
            entries.pop();
        }
        if exited {
            let left = &mut self.left[g];
            left.retain(|n| *n != name);
            left.push(name);
        } else {
            self.path.cancelled.insert(name.to_string());
        }
    }

    /// Records one event, its state already known.
    fn observe(&mut self, event: PathEvent) {
        let kind = event.event_type.as_str();
        if kind.starts_with("Execution") && kind != "ExecutionStarted" && kind != "ExecutionRedriven" {
            self.ending = Some(kind.to_string());
        } else if kind == "ExecutionRedriven" {
            self.ending = None;
        }
        let state = (event.state.as_deref()).and_then(|s| self.graph_of.get_key_value(s));
        if let Some((name, g)) = state {
            let (name, g) = (*name, *g);
            if kind.ends_with("StateEntered") {
                self.entered(name, g);
            } else if kind.ends_with("StateExited") {
                self.closed(name, g, true);
            } else if kind.ends_with("StateAborted") {
                self.closed(name, g, false);
            } else if event.error.is_some() || (is_error_type(kind) && !kind.ends_with("Aborted")) {
                self.errored.insert(name);
            }
        }
        self.path.events.push(event);
    }
}

impl HistorySink for PathRecorder<'_> {
    fn record(&mut self, event: &HistoryEvent<'_>) {
        let mut row = PathEvent {
            id: event.id,
            previous_event_id: event.previous_event_id,
            timestamp_ms: event.timestamp_ms,
            event_type: event.event_type.to_string(),
            state: (event.state)
                .filter(|_| !event.event_type.starts_with("Execution"))
                .map(str::to_string),
            ..PathEvent::default()
        };
        match event.data {
            EventData::None => {}
            EventData::Input(value) => row.input = Some(value.to_json_string()),
            EventData::Output(value) => row.output = Some(value.to_json_string()),
            EventData::Failure { error, cause } => {
                row.error = error.map(str::to_string);
                row.cause = cause.map(str::to_string);
            }
        }
        self.observe(row);
    }
}

#[cfg(test)]
mod tests {
    use super::text::{dot_text, mermaid_text};
    use super::*;
    use crate::{ExecutionInfo, Machine, TaskRegistry, VirtualClock};

    /// A Choice (2 rules and Default), a Catch, a Parallel of 2 branches and a Map. Ids:
    /// s0 Check, s1 Work, s2 Fan, s3 Each, s4 Give up; branch 1: s5 Left; branch 2: s6 Right,
    /// s7 Right done; the Map's processor: s8 Item, s9 Bad item, s10 Good item.
    const DEFINITION: &str = r#"{
      "StartAt": "Check",
      "States": {
        "Check": {"Type": "Choice", "Choices": [
            {"Variable": "$.n", "NumericEquals": 1, "Next": "Work"},
            {"Variable": "$.n", "NumericEquals": 2, "Next": "Fan"}
          ], "Default": "Give up"},
        "Work": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:Work",
          "Catch": [{"ErrorEquals": ["States.TaskFailed", "States.Timeout"], "Next": "Give up"}], "Next": "Fan"},
        "Fan": {"Type": "Parallel", "ResultPath": "$.fan", "Branches": [
            {"StartAt": "Left", "States": {"Left": {"Type": "Pass", "End": true}}},
            {"StartAt": "Right", "States": {
              "Right": {"Type": "Wait", "Seconds": 1, "Next": "Right done"},
              "Right done": {"Type": "Succeed"}}}
          ], "Next": "Each"},
        "Each": {"Type": "Map", "ItemsPath": "$.items", "ItemProcessor": {"StartAt": "Item", "States": {
            "Item": {"Type": "Choice", "Choices": [{"Variable": "$", "IsNumeric": true, "Next": "Bad item"}],
              "Default": "Good item"},
            "Bad item": {"Type": "Fail", "Error": "BadItem"},
            "Good item": {"Type": "Pass", "End": true}}}, "End": true},
        "Give up": {"Type": "Fail", "Error": "GaveUp"}
      }
    }"#;

    fn model(text: &str) -> StateMachine {
        crate::parse_definition(text).expect("a valid definition")
    }

    /// The output's lines without their indentation.
    fn lines(text: &str) -> Vec<&str> {
        text.lines().map(str::trim).collect()
    }

    fn assert_has(text: &str, expected: &[&str]) {
        let lines = lines(text);
        for line in expected {
            assert!(lines.contains(line), "missing line {line:?} in:\n{text}");
        }
    }

    /// Runs `DEFINITION` on `input` (Work fails with States.TaskFailed) and records its path.
    fn path_of(machine: &StateMachine, input: &str) -> ExecutionPath {
        let behaviours = serde_json::json!({
            "arn:aws:lambda:us-east-1:123456789012:function:Work":
                {"Throw": {"Error": "States.TaskFailed", "Cause": "down"}}
        });
        let tasks = TaskRegistry::from_behaviours(&behaviours).unwrap();
        let compiled = Machine::from_model(machine, tasks).unwrap();
        let mut recorder = PathRecorder::new(machine);
        let info = ExecutionInfo::default();
        let mut clock = VirtualClock::default();
        compiled
            .run_json_recording(input, &info, &mut clock, &mut recorder)
            .unwrap();
        recorder.finish()
    }

    /// `DEFINITION`'s path on `{"n": 1}`: rule 1 to Work, whose failure is caught, to the
    /// Fail state Give up.
    fn caught_path() -> ExecutionPath {
        ExecutionPath {
            entered: ["Check", "Work", "Give up"].map(String::from).into(),
            transitions: [("Check", "Work"), ("Work", "Give up")]
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .into(),
            failed: Some("Give up".to_string()),
            caught: ["Work".to_string()].into(),
            execution_ended: true,
            ..ExecutionPath::default()
        }
    }

    #[test]
    fn mermaid_draws_every_state_and_edge() {
        let text = render(&model(DEFINITION), Format::Mermaid, None);
        assert_eq!(text.lines().next(), Some("flowchart TD"));
        assert_has(
            &text,
            &[
                r#"start0(("start"))"#,
                r#"end0((("end")))"#,
                r#"s0{"Check<br/>Choice"}"#,
                r#"s1["Work<br/>Task"]"#,
                r#"s2[["Fan<br/>Parallel"]]"#,
                r#"s3[["Each<br/>Map"]]"#,
                r#"s4(["Give up<br/>Fail"])"#,
                r#"s6["Right<br/>Wait"]"#,
                r#"s7(["Right done<br/>Succeed"])"#,
                "start0 --> s0",
                r#"s0 -->|"rule 1"| s1"#,
                r#"s0 -->|"rule 2"| s2"#,
                r#"s0 -->|"Default"| s4"#,
                "s1 --> s2",
                r#"s1 -.->|"States.TaskFailed, States.Timeout"| s4"#,
                r#"subgraph g1 ["Fan: branch 1"]"#,
                r#"subgraph g2 ["Fan: branch 2"]"#,
                r#"subgraph g3 ["Each: ItemProcessor"]"#,
                r#"s2 -->|"branch 1"| start1"#,
                r#"s2 -->|"branch 2"| start2"#,
                r#"s3 -->|"items"| start3"#,
                "start1 --> s5",
                "s5 --> end1",
                "s6 --> s7",
                r#"s8 -->|"rule 1"| s9"#,
                r#"s8 -->|"Default"| s10"#,
                "s10 --> end3",
                "s3 --> end0",
            ],
        );
        // Nested states are inside their subgraph; every subgraph is closed; a branch without
        // an `End` state has no end marker; nothing is highlighted.
        assert!(text.contains("\n        s5[\"Left<br/>Pass\"]\n"), "{text}");
        assert_eq!(lines(&text).iter().filter(|l| l.starts_with("subgraph ")).count(), 3);
        assert_eq!(lines(&text).iter().filter(|l| **l == "end").count(), 3);
        assert!(!text.contains("end2"), "{text}");
        assert!(!text.contains("classDef") && !text.contains("linkStyle"), "{text}");
        // 19 edges: 2 + 2 + 4 in the subgraphs, 11 at the top level.
        assert_eq!(text.matches("-->").count() + text.matches("-.->").count(), 19);
    }

    #[test]
    fn dot_draws_every_state_and_edge() {
        let text = render(&model(DEFINITION), Format::Dot, None);
        assert_eq!(text.lines().next(), Some("digraph state_machine {"));
        assert_eq!(text.lines().last(), Some("}"));
        assert_has(
            &text,
            &[
                r#"start0 [shape=circle, label="start"];"#,
                r#"end0 [shape=doublecircle, label="end"];"#,
                r#"s0 [shape=diamond, label="Check\nChoice"];"#,
                r#"s1 [shape=box, label="Work\nTask"];"#,
                r#"s2 [shape=box, peripheries=2, label="Fan\nParallel"];"#,
                r#"s4 [shape=box, style="rounded", label="Give up\nFail"];"#,
                "start0 -> s0;",
                r#"s0 -> s1 [label="rule 1"];"#,
                r#"s0 -> s2 [label="rule 2"];"#,
                r#"s0 -> s4 [label="Default"];"#,
                "s1 -> s2;",
                r#"s1 -> s4 [label="States.TaskFailed, States.Timeout", style=dashed];"#,
                "subgraph cluster_1 {",
                r#"label="Fan: branch 1";"#,
                "subgraph cluster_3 {",
                r#"label="Each: ItemProcessor";"#,
                r#"s2 -> start1 [label="branch 1"];"#,
                r#"s2 -> start2 [label="branch 2"];"#,
                r#"s3 -> start3 [label="items"];"#,
                "s5 -> end1;",
                r#"s8 -> s9 [label="rule 1"];"#,
                "s3 -> end0;",
            ],
        );
        assert_eq!(text.matches(" -> ").count(), 19);
        assert!(!text.contains("filled") && !text.contains("penwidth"), "{text}");
    }

    #[test]
    fn the_older_iterator_is_drawn_as_the_processor() {
        let text = render(
            &model(
                r#"{"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
                    "Iterator": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}}"#,
            ),
            Format::Mermaid,
            None,
        );
        assert_has(
            &text,
            &[
                r#"subgraph g1 ["M: Iterator"]"#,
                r#"s0 -->|"items"| start1"#,
                "s1 --> end1",
            ],
        );
    }

    #[test]
    fn labels_are_escaped_for_each_format() {
        let machine = model(
            r#"{"StartAt": "Say \"hi\" [now] #1 <b>", "States": {
                "Say \"hi\" [now] #1 <b>": {"Type": "Pass", "Next": "back\\slash é"},
                "back\\slash é": {"Type": "Succeed"}}}"#,
        );
        let mermaid = render(&machine, Format::Mermaid, None);
        assert_has(
            &mermaid,
            &[
                r#"s0["Say #quot;hi#quot; [now] #35;1 #lt;b#gt;<br/>Pass"]"#,
                r#"s1(["back\slash é<br/>Succeed"])"#,
                "s0 --> s1",
            ],
        );
        let dot = render(&machine, Format::Dot, None);
        assert_has(
            &dot,
            &[
                r#"s0 [shape=box, label="Say \"hi\" [now] #1 <b>\nPass"];"#,
                r#"s1 [shape=box, style="rounded", label="back\\slash é\nSucceed"];"#,
            ],
        );
        assert_eq!(mermaid_text("a\nb`c&d"), "a b#96;c#amp;d");
        assert_eq!(dot_text("a\nb\tc"), "a\\nb c");
    }

    #[test]
    fn highlighting_marks_exactly_the_entered_states() {
        let machine = model(DEFINITION);
        let path = caught_path();
        let mermaid = render(&machine, Format::Mermaid, Some(&path));
        let marks: Vec<&str> = lines(&mermaid)
            .into_iter()
            .filter(|l| l.starts_with("class "))
            .collect();
        // Edge numbers in order: 8 in the subgraphs, then start0 -> s0 (8), rule 1 (9), ...,
        // the Catch (13).
        assert_eq!(marks, ["class s0,s1 entered", "class s4 failed"]);
        assert_has(&mermaid, &["linkStyle 8,9,13 stroke:#2e7d32,stroke-width:3px"]);
        let dot = render(&machine, Format::Dot, Some(&path));
        assert_has(
            &dot,
            &[
                r##"s0 [shape=diamond, style="filled", label="Check\nChoice", fillcolor="#d9f2d9", color="#2e7d32", penwidth=2];"##,
                r##"s4 [shape=box, style="rounded,filled", label="Give up\nFail", fillcolor="#fbd5d5", color="#c62828", penwidth=3];"##,
                r#"s2 [shape=box, peripheries=2, label="Fan\nParallel"];"#,
                r##"s1 -> s4 [label="States.TaskFailed, States.Timeout", style=dashed, color="#2e7d32", penwidth=2.5];"##,
                r#"s1 -> s2;"#,
            ],
        );
        assert_eq!(dot.matches("style=\"filled\"").count(), 2, "{dot}");
        assert_eq!(dot.matches("penwidth=2.5").count(), 3, "{dot}");
    }

    #[test]
    fn the_recorder_follows_an_execution_through_a_catch() {
        let machine = model(DEFINITION);
        let mut path = path_of(&machine, r#"{"n": 1}"#);
        let types: Vec<&str> = path.events.iter().map(|e| e.event_type.as_str()).collect();
        assert_eq!(types.first(), Some(&"ExecutionStarted"));
        assert_eq!(types.last(), Some(&"ExecutionFailed"));
        assert!(types.contains(&"LambdaFunctionFailed"), "{types:?}");
        path.events.clear();
        assert_eq!(path, caught_path());
        assert_eq!(path.status("Work"), StateStatus::CaughtError);
        assert_eq!(path.status("Give up"), StateStatus::Failed);
        assert_eq!(path.status("Check"), StateStatus::Succeeded);
        assert_eq!(path.status("Fan"), StateStatus::NotStarted);
    }

    #[test]
    fn the_recorder_follows_branches_and_iterations() {
        let machine = model(DEFINITION);
        // The third item fails its iteration, which fails the Map and the execution.
        let path = path_of(&machine, r#"{"n": 2, "items": ["a", "b", 3]}"#);
        let entered = [
            "Check",
            "Fan",
            "Left",
            "Right",
            "Right done",
            "Each",
            "Item",
            "Good item",
            "Bad item",
        ];
        assert_eq!(path.entered, entered.map(String::from).into());
        let transitions = [
            ("Check", "Fan"),
            ("Fan", "Each"),
            ("Right", "Right done"),
            ("Item", "Good item"),
            ("Item", "Bad item"),
        ];
        assert_eq!(
            path.transitions,
            transitions.map(|(a, b)| (a.to_string(), b.to_string())).into()
        );
        assert_eq!(path.ended, ["Left", "Good item"].map(String::from).into());
        assert_eq!(path.failed.as_deref(), Some("Bad item"));
        // The Map the failed iteration is in failed too.
        assert_eq!(path.failed_parents, ["Each".to_string()].into());
        assert_eq!(path.status("Each"), StateStatus::Failed);
        let mermaid = render(&machine, Format::Mermaid, Some(&path));
        assert_has(&mermaid, &["class s0,s2,s3,s5,s6,s7,s8,s10 entered", "class s9 failed"]);
        // Succeeded: the Map's End is taken, nothing failed.
        let path = path_of(&machine, r#"{"n": 2, "items": ["a"]}"#);
        assert!(path.ended.contains("Each") && path.failed.is_none(), "{path:?}");
        assert!(
            !path.entered.contains("Bad item") && !path.entered.contains("Work"),
            "{path:?}"
        );
    }
}
