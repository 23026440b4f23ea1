//! Mermaid and DOT text.

use super::{edges, Edge, EdgeKind, ExecutionPath, Format};

/// The text syntax written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Syntax {
    Mermaid,
    Dot,
}
use crate::model::{Graph, State, StateKind, StateMachine, Transition};

/// Draws `machine` as Mermaid or DOT text.
pub(super) fn render(machine: &StateMachine, format: Format, path: Option<&ExecutionPath>) -> String {
    let format = if format == Format::Dot {
        Syntax::Dot
    } else {
        Syntax::Mermaid
    };
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
        Syntax::Mermaid => "flowchart TD\n",
        Syntax::Dot => "digraph state_machine {\n",
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
    format: Syntax,
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
                kind,
            } in edges(state)
            {
                // A target outside this graph is a validation error; such a definition is
                // drawn without that edge.
                if let Some(to) = id_of(target) {
                    let taken = self.path.is_some_and(|p| p.took(&state.name, target));
                    self.edge(depth, &from, &to, label.as_deref(), kind == EdgeKind::Catch, taken);
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
            Syntax::Mermaid => self.line(depth, &format!("subgraph g{g} [\"{}\"]", mermaid_text(title))),
            Syntax::Dot => {
                self.line(depth, &format!("subgraph cluster_{g} {{"));
                self.line(depth + 1, &format!("label=\"{}\";", dot_text(title)));
            }
        }
    }

    fn close_subgraph(&mut self, depth: usize) {
        let text = match self.format {
            Syntax::Mermaid => "end",
            Syntax::Dot => "}",
        };
        self.line(depth, text);
    }

    /// A node: `lines` of label (escaped here), shape and highlight.
    fn node(&mut self, depth: usize, id: &str, lines: &[&str], shape: Shape, mark: Mark) {
        let (open, close, dot_shape) = shape.syntax();
        let text = match self.format {
            Syntax::Mermaid => {
                let label: Vec<String> = lines.iter().map(|l| mermaid_text(l)).collect();
                match mark {
                    Mark::None => {}
                    Mark::Entered => self.entered.push(id.to_string()),
                    Mark::Failed => self.failed.push(id.to_string()),
                }
                format!("{id}{open}\"{}\"{close}", label.join("<br/>"))
            }
            Syntax::Dot => {
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
            Syntax::Mermaid => {
                let arrow = if dashed { "-.->" } else { "-->" };
                if taken {
                    self.taken.push(self.edges);
                }
                match label {
                    Some(label) => format!("{from} {arrow}|\"{}\"| {to}", mermaid_text(label)),
                    None => format!("{from} {arrow} {to}"),
                }
            }
            Syntax::Dot => {
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
            Syntax::Mermaid if self.path.is_some() => {
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
            Syntax::Mermaid => {}
            Syntax::Dot => self.out.push_str("}\n"),
        }
        self.out
    }
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
pub(super) fn mermaid_text(text: &str) -> String {
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
pub(super) fn dot_text(text: &str) -> String {
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
