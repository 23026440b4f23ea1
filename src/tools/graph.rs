//! Drawing a definition: a Mermaid flowchart or a Graphviz DOT digraph of its states and
//! transitions, optionally with one execution's path highlighted.
//!
//! [`render`] takes the parsed [`StateMachine`] and, for a path, an [`ExecutionPath`], and
//! returns the text. [`PathRecorder`] is a [`HistorySink`] that turns an execution's history
//! events into that path.
//!
//! What is drawn: a start marker pointing at `StartAt`; one node per state (generated ids
//! `s0`, `s1`, ..., in definition order), labelled with its name and type and shaped by type;
//! an edge per `Next`, per Choice rule (`rule 1`, ...) and `Default`, a dashed edge per Catch
//! labelled with its error names, and an edge from each `End` state to an end marker.
//! Parallel branches and Map processors are nested subgraphs (clusters in DOT) with their own
//! markers, each reached by an edge from its Parallel or Map state.

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::history::{HistoryEvent, HistorySink};
use crate::model::{Graph, State, StateKind, StateMachine, Transition};

/// The text format [`render`] writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Format {
    /// A Mermaid `flowchart`.
    #[default]
    Mermaid,
    /// A Graphviz DOT `digraph`.
    Dot,
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
}

impl ExecutionPath {
    fn took(&self, from: &str, to: &str) -> bool {
        self.transitions.contains(&(from.to_string(), to.to_string()))
    }
}

/// Draws `machine` in `format`, with `path`'s states, transitions and failure highlighted
/// when given. The output is deterministic: states and edges in definition order.
pub fn render(machine: &StateMachine, format: Format, path: Option<&ExecutionPath>) -> String {
    let mut renderer = Renderer {
        format,
        path,
        out: String::new(),
        next_graph: 0,
        next_state: 0,
        edges: 0,
        taken: Vec::new(),
        entered: Vec::new(),
        failed: Vec::new(),
    };
    renderer.out.push_str(match format {
        Format::Mermaid => "flowchart TD\n",
        Format::Dot => "digraph state_machine {\n",
    });
    renderer.graph(&machine.graph, None, 1);
    renderer.finish()
}

/// How a node looks.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// Task, Pass, Wait.
    Box,
    /// Choice.
    Diamond,
    /// Succeed, Fail.
    Terminal,
    /// Parallel, Map: a box with its subgraphs.
    Container,
    /// A graph's start marker.
    Start,
    /// A graph's end marker.
    End,
}

impl Shape {
    /// How each format writes it: Mermaid's brackets around the label, DOT's attributes.
    fn syntax(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Shape::Box => ("[", "]", "shape=box"),
            Shape::Diamond => ("{", "}", "shape=diamond"),
            Shape::Terminal => ("([", "])", "shape=box"),
            Shape::Container => ("[[", "]]", "shape=box, peripheries=2"),
            Shape::Start => ("((", "))", "shape=circle"),
            Shape::End => ("(((", ")))", "shape=doublecircle"),
        }
    }
}

/// How a node is highlighted.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mark {
    None,
    Entered,
    Failed,
}

impl Mark {
    /// DOT's colours for a highlighted node (Mermaid's are the `entered` and `failed` classes).
    fn dot_colors(self) -> &'static str {
        match self {
            Mark::None => "",
            Mark::Entered => ", fillcolor=\"#d9f2d9\", color=\"#2e7d32\", penwidth=2",
            Mark::Failed => ", fillcolor=\"#fbd5d5\", color=\"#c62828\", penwidth=3",
        }
    }
}

struct Renderer<'p> {
    format: Format,
    path: Option<&'p ExecutionPath>,
    out: String,
    next_graph: usize,
    next_state: usize,
    /// Edges written so far (Mermaid's `linkStyle` numbers them in order).
    edges: usize,
    /// Mermaid: numbers of the edges taken.
    taken: Vec<usize>,
    /// Mermaid: ids of the states entered (but not failed).
    entered: Vec<String>,
    /// Mermaid: id of the failed state.
    failed: Vec<String>,
}

impl Renderer<'_> {
    /// Writes `graph` (nested in a subgraph titled `title` unless it is the top level) and
    /// returns its number, which names its markers (`start{n}`, `end{n}`).
    fn graph(&mut self, graph: &Graph, title: Option<&str>, depth: usize) -> usize {
        let g = self.next_graph;
        self.next_graph += 1;
        let base = self.next_state;
        self.next_state += graph.states.len();
        let depth = match title {
            Some(title) => {
                self.open_subgraph(g, title, depth);
                depth + 1
            }
            None => depth,
        };
        // Nodes first: Mermaid puts a node in the subgraph where it is first mentioned.
        self.node(depth, &format!("start{g}"), &["start"], Shape::Start, Mark::None);
        let has_end = graph.states.iter().any(|s| s.transition == Some(Transition::End));
        if has_end {
            self.node(depth, &format!("end{g}"), &["end"], Shape::End, Mark::None);
        }
        for (i, state) in graph.states.iter().enumerate() {
            let mark = self.mark(&state.name);
            let shape = shape(&state.kind);
            self.node(
                depth,
                &format!("s{}", base + i),
                &[&state.name, state.kind.type_name()],
                shape,
                mark,
            );
        }
        // Then the nested graphs, each numbered as it is written.
        let mut nested: Vec<Vec<usize>> = Vec::with_capacity(graph.states.len());
        for state in &graph.states {
            let numbers = match &state.kind {
                StateKind::Parallel { branches } => (branches.iter().enumerate())
                    .map(|(k, branch)| {
                        let title = format!("{}: branch {}", state.name, k + 1);
                        self.graph(branch, Some(&title), depth)
                    })
                    .collect(),
                StateKind::Map(map) => {
                    let kind = if map.legacy_iterator {
                        "Iterator"
                    } else {
                        "ItemProcessor"
                    };
                    let title = format!("{}: {kind}", state.name);
                    vec![self.graph(&map.processor, Some(&title), depth)]
                }
                _ => Vec::new(),
            };
            nested.push(numbers);
        }
        // Then the edges.
        let id_of = |name: &str| {
            graph
                .states
                .iter()
                .position(|s| s.name == name)
                .map(|i| format!("s{}", base + i))
        };
        if let Some(start) = id_of(&graph.start_at) {
            let taken = self.was_entered(&graph.start_at);
            self.edge(depth, &format!("start{g}"), &start, None, false, taken);
        }
        for ((i, state), numbers) in graph.states.iter().enumerate().zip(&nested) {
            let from = format!("s{}", base + i);
            self.nested_edges(depth, &from, state, numbers);
            if state.transition == Some(Transition::End) {
                let taken = self.path.is_some_and(|p| p.ended.contains(&state.name));
                self.edge(depth, &from, &format!("end{g}"), None, false, taken);
            }
            for Edge {
                to: target,
                label,
                dashed,
            } in edges(state)
            {
                // A target outside this graph is a validation error; such a definition is
                // drawn without that edge.
                if let Some(to) = id_of(target) {
                    let taken = self.path.is_some_and(|p| p.took(&state.name, target));
                    self.edge(depth, &from, &to, label.as_deref(), dashed, taken);
                }
            }
        }
        if title.is_some() {
            self.close_subgraph(depth - 1);
        }
        g
    }

    /// The edges from a Parallel or Map state to its subgraphs' start markers.
    fn nested_edges(&mut self, depth: usize, from: &str, state: &State, numbers: &[usize]) {
        let graphs: Vec<&Graph> = match &state.kind {
            StateKind::Parallel { branches } => branches.iter().collect(),
            StateKind::Map(map) => vec![&map.processor],
            _ => return,
        };
        for (k, (graph, g)) in graphs.iter().zip(numbers).enumerate() {
            let label = match state.kind {
                StateKind::Map(_) => "items".to_string(),
                _ => format!("branch {}", k + 1),
            };
            let taken = self.was_entered(&graph.start_at);
            self.edge(depth, from, &format!("start{g}"), Some(&label), false, taken);
        }
    }

    fn was_entered(&self, name: &str) -> bool {
        self.path.is_some_and(|p| p.entered.contains(name))
    }

    fn mark(&self, name: &str) -> Mark {
        match self.path {
            Some(p) if p.failed.as_deref() == Some(name) => Mark::Failed,
            Some(p) if p.entered.contains(name) => Mark::Entered,
            _ => Mark::None,
        }
    }

    fn line(&mut self, depth: usize, text: &str) {
        for _ in 0..depth {
            self.out.push_str("    ");
        }
        self.out.push_str(text);
        self.out.push('\n');
    }

    fn open_subgraph(&mut self, g: usize, title: &str, depth: usize) {
        match self.format {
            Format::Mermaid => self.line(depth, &format!("subgraph g{g} [\"{}\"]", mermaid_text(title))),
            Format::Dot => {
                self.line(depth, &format!("subgraph cluster_{g} {{"));
                self.line(depth + 1, &format!("label=\"{}\";", dot_text(title)));
            }
        }
    }

    fn close_subgraph(&mut self, depth: usize) {
        let text = match self.format {
            Format::Mermaid => "end",
            Format::Dot => "}",
        };
        self.line(depth, text);
    }

    /// A node: `lines` of label (escaped here), shape and highlight.
    fn node(&mut self, depth: usize, id: &str, lines: &[&str], shape: Shape, mark: Mark) {
        let (open, close, dot_shape) = shape.syntax();
        let text = match self.format {
            Format::Mermaid => {
                let label: Vec<String> = lines.iter().map(|l| mermaid_text(l)).collect();
                match mark {
                    Mark::None => {}
                    Mark::Entered => self.entered.push(id.to_string()),
                    Mark::Failed => self.failed.push(id.to_string()),
                }
                format!("{id}{open}\"{}\"{close}", label.join("<br/>"))
            }
            Format::Dot => {
                let label: Vec<String> = lines.iter().map(|l| dot_text(l)).collect();
                let (style, colors) = match (shape == Shape::Terminal, mark) {
                    (true, Mark::None) => (", style=\"rounded\"", ""),
                    (false, Mark::None) => ("", ""),
                    (true, _) => (", style=\"rounded,filled\"", mark.dot_colors()),
                    (false, _) => (", style=\"filled\"", mark.dot_colors()),
                };
                format!("{id} [{dot_shape}{style}, label=\"{}\"{colors}];", label.join("\\n"))
            }
        };
        self.line(depth, &text);
    }

    /// An edge, labelled (escaped here) or not, dashed (Catch) or not, highlighted when taken.
    fn edge(&mut self, depth: usize, from: &str, to: &str, label: Option<&str>, dashed: bool, taken: bool) {
        let text = match self.format {
            Format::Mermaid => {
                let arrow = if dashed { "-.->" } else { "-->" };
                if taken {
                    self.taken.push(self.edges);
                }
                match label {
                    Some(label) => format!("{from} {arrow}|\"{}\"| {to}", mermaid_text(label)),
                    None => format!("{from} {arrow} {to}"),
                }
            }
            Format::Dot => {
                let mut attributes: Vec<String> = Vec::new();
                if let Some(label) = label {
                    attributes.push(format!("label=\"{}\"", dot_text(label)));
                }
                if dashed {
                    attributes.push("style=dashed".to_string());
                }
                if taken {
                    attributes.push("color=\"#2e7d32\", penwidth=2.5".to_string());
                }
                if attributes.is_empty() {
                    format!("{from} -> {to};")
                } else {
                    format!("{from} -> {to} [{}];", attributes.join(", "))
                }
            }
        };
        self.edges += 1;
        self.line(depth, &text);
    }

    /// Mermaid's highlight classes (when a path was given) and the closing brace of DOT.
    fn finish(mut self) -> String {
        match self.format {
            Format::Mermaid if self.path.is_some() => {
                self.line(1, "classDef entered fill:#d9f2d9,stroke:#2e7d32,stroke-width:2px");
                self.line(1, "classDef failed fill:#fbd5d5,stroke:#c62828,stroke-width:3px");
                if !self.entered.is_empty() {
                    let text = format!("class {} entered", self.entered.join(","));
                    self.line(1, &text);
                }
                if !self.failed.is_empty() {
                    let text = format!("class {} failed", self.failed.join(","));
                    self.line(1, &text);
                }
                if !self.taken.is_empty() {
                    let numbers: Vec<String> = self.taken.iter().map(|n| n.to_string()).collect();
                    let text = format!("linkStyle {} stroke:#2e7d32,stroke-width:3px", numbers.join(","));
                    self.line(1, &text);
                }
            }
            Format::Mermaid => {}
            Format::Dot => self.out.push_str("}\n"),
        }
        self.out
    }
}

/// A transition from a state to another state of its graph.
struct Edge<'m> {
    /// The target state's name.
    to: &'m str,
    /// `rule N`, `Default`, or a Catch's error names.
    label: Option<String>,
    /// A Catch.
    dashed: bool,
}

/// `state`'s transitions, in the order they are drawn: `Next`, the Choice rules and
/// `Default`, the Catchers (`End` goes to no state, and is not one).
fn edges(state: &State) -> Vec<Edge<'_>> {
    let mut edges = Vec::new();
    if let Some(Transition::Next(next)) = &state.transition {
        edges.push(Edge {
            to: next,
            label: None,
            dashed: false,
        });
    }
    if let StateKind::Choice { choices, default } = &state.kind {
        for (k, rule) in choices.iter().enumerate() {
            edges.push(Edge {
                to: &rule.next,
                label: Some(format!("rule {}", k + 1)),
                dashed: false,
            });
        }
        if let Some(default) = default {
            edges.push(Edge {
                to: default,
                label: Some("Default".to_string()),
                dashed: false,
            });
        }
    }
    for catcher in &state.catch {
        edges.push(Edge {
            to: &catcher.next,
            label: Some(catcher.error_equals.join(", ")),
            dashed: true,
        });
    }
    edges
}

fn shape(kind: &StateKind) -> Shape {
    match kind {
        StateKind::Choice { .. } => Shape::Diamond,
        StateKind::Succeed | StateKind::Fail(_) => Shape::Terminal,
        StateKind::Parallel { .. } | StateKind::Map(_) => Shape::Container,
        StateKind::Pass { .. } | StateKind::Task(_) | StateKind::Wait(_) => Shape::Box,
    }
}

/// Text for inside a Mermaid `"..."` label: `"` as `#quot;`, and `#` (which starts Mermaid's
/// entity codes), `<`, `>`, `&` and backticks (one after the opening quote would start a
/// Markdown string) as entity codes too; control characters as spaces.
fn mermaid_text(text: &str) -> String {
    escaped(text, |c| match c {
        '"' => Some("#quot;"),
        '#' => Some("#35;"),
        '<' => Some("#lt;"),
        '>' => Some("#gt;"),
        '&' => Some("#amp;"),
        '`' => Some("#96;"),
        _ => None,
    })
}

/// Text for inside a DOT `"..."` string: `"` and `\` escaped; line breaks as `\n`, other
/// control characters as spaces.
fn dot_text(text: &str) -> String {
    escaped(text, |c| match c {
        '"' => Some("\\\""),
        '\\' => Some("\\\\"),
        '\n' => Some("\\n"),
        _ => None,
    })
}

/// `text` with the characters `replace` maps replaced, and other control characters as spaces.
fn escaped(text: &str, replace: impl Fn(char) -> Option<&'static str>) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match replace(c) {
            Some(replacement) => out.push_str(replacement),
            None if c.is_control() => out.push(' '),
            None => out.push(c),
        }
    }
    out
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
/// The failed state is the state entered last that had neither left nor been aborted when
/// the execution failed or timed out.
#[derive(Debug)]
pub struct PathRecorder<'m> {
    /// The graph number of each state name.
    graph_of: HashMap<&'m str, usize>,
    /// Every transition of the definition: `Next`, Choice rules and `Default`, Catch.
    edges: HashSet<(&'m str, &'m str)>,
    /// The states with `End: true`.
    ends: HashSet<&'m str>,
    /// Per graph, the states that have left and not yet been followed, least recent first
    /// (each at most once).
    left: Vec<Vec<&'m str>>,
    /// Per state, the sequence numbers of its entries that have not left yet.
    open: HashMap<&'m str, Vec<u64>>,
    /// Entries so far.
    sequence: u64,
    /// The execution failed or timed out.
    failed: bool,
    path: ExecutionPath,
}

impl<'m> PathRecorder<'m> {
    /// A recorder for executions of `machine`.
    pub fn new(machine: &'m StateMachine) -> PathRecorder<'m> {
        let mut recorder = PathRecorder {
            graph_of: HashMap::new(),
            edges: HashSet::new(),
            ends: HashSet::new(),
            left: Vec::new(),
            open: HashMap::new(),
            sequence: 0,
            failed: false,
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
            self.edges.extend(edges(state).into_iter().map(|edge| (name, edge.to)));
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
        if self.failed {
            let last_open = (self.open.iter())
                .filter_map(|(name, entries)| entries.last().map(|seq| (*seq, *name)))
                .max();
            self.path.failed = last_open.map(|(_, name)| name.to_string());
        }
        self.path
    }

    fn entered(&mut self, name: &'m str, g: usize) {
        self.path.entered.insert(name.to_string());
        let left = &mut self.left[g];
        if let Some(i) = left.iter().rposition(|from| self.edges.contains(&(*from, name))) {
            let from = left.remove(i);
            self.path.transitions.insert((from.to_string(), name.to_string()));
        }
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
        }
    }
}

impl HistorySink for PathRecorder<'_> {
    fn record(&mut self, event: &HistoryEvent<'_>) {
        if event.is_fatal() {
            self.failed = true;
        }
        let Some((name, g)) = event.state.and_then(|s| self.graph_of.get_key_value(s)) else {
            return;
        };
        let (name, g) = (*name, *g);
        let kind = event.event_type;
        if kind.ends_with("StateEntered") {
            self.entered(name, g);
        } else if kind.ends_with("StateExited") {
            self.closed(name, g, true);
        } else if kind.ends_with("StateAborted") {
            self.closed(name, g, false);
        }
    }
}

#[cfg(test)]
mod tests {
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
            ended: BTreeSet::new(),
            failed: Some("Give up".to_string()),
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
        assert_eq!(path_of(&machine, r#"{"n": 1}"#), caught_path());
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
