//! The SVG and HTML drawings of `quickstep::graph`: parsed as XML and checked against the
//! definition (every state and edge, shapes that do not overlap, branches nested in their
//! state) and against an execution's history (statuses and taken edges).

use std::collections::BTreeMap;
use std::path::Path;

use quickstep::graph::{render, ExecutionPath, Format, PathRecorder};
use quickstep::history::{HistoryEvent, HistorySink, JsonHistory};
use quickstep::{ExecutionInfo, Machine, TaskRegistry, VirtualClock};
use serde_json::{json, Value};

/// A Choice (2 rules and Default), a Task with a Catch, a Parallel of 2 branches, a Map, a
/// loop back to the Choice.
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
    "Each": {"Type": "Map", "ItemsPath": "$.items", "ResultPath": null, "ItemProcessor": {"StartAt": "Item", "States": {
        "Item": {"Type": "Choice", "Choices": [{"Variable": "$", "IsNumeric": true, "Next": "Bad item"}],
          "Default": "Good item"},
        "Bad item": {"Type": "Fail", "Error": "BadItem"},
        "Good item": {"Type": "Pass", "End": true}}}, "Next": "Again?"},
    "Again?": {"Type": "Choice", "Choices": [{"Variable": "$.again", "BooleanEquals": true, "Next": "Check"}],
      "Default": "Done"},
    "Done": {"Type": "Pass", "End": true},
    "Give up": {"Type": "Fail", "Error": "GaveUp"}
  }
}"#;

const WORK: &str = "arn:aws:lambda:us-east-1:123456789012:function:Work";

/// A state box as drawn: its name, type, status, box and the name of the state it is nested in.
#[derive(Debug, Clone)]
struct Drawn {
    kind: String,
    status: String,
    rect: (f64, f64, f64, f64),
    parent: Option<String>,
}

/// An edge as drawn: `(from, to, kind)` and whether it is taken.
type DrawnEdge = ((String, String, String), bool);

fn attribute<'a>(node: roxmltree::Node<'a, '_>, name: &str) -> &'a str {
    node.attribute(name)
        .unwrap_or_else(|| panic!("missing attribute {name} on {:?}", node.tag_name()))
}

fn number(node: roxmltree::Node<'_, '_>, name: &str) -> f64 {
    let text = attribute(node, name);
    text.parse()
        .unwrap_or_else(|_| panic!("{name}={text:?} is not a number"))
}

/// Parses `svg` and returns its states by name (each must appear once) and its edges.
fn parse(svg: &str) -> (BTreeMap<String, Drawn>, Vec<DrawnEdge>) {
    let document = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("not XML: {e}\n{svg}"));
    let root = document.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(root.tag_name().namespace(), Some("http://www.w3.org/2000/svg"));
    for name in ["viewBox", "width", "height"] {
        assert!(root.attribute(name).is_some(), "the svg element has no {name}");
    }
    let class =
        |node: &roxmltree::Node<'_, '_>, class: &str| node.is_element() && node.attribute("class") == Some(class);
    let mut states = BTreeMap::new();
    let mut edges = Vec::new();
    for node in root.descendants() {
        if class(&node, "state") {
            let name = attribute(node, "data-state").to_string();
            let parent = node
                .ancestors()
                .skip(1)
                .find(|a| class(a, "state"))
                .map(|a| attribute(a, "data-state").to_string());
            let drawn = Drawn {
                kind: attribute(node, "data-type").to_string(),
                status: attribute(node, "data-status").to_string(),
                rect: (
                    number(node, "data-x"),
                    number(node, "data-y"),
                    number(node, "data-width"),
                    number(node, "data-height"),
                ),
                parent,
            };
            assert!(states.insert(name.clone(), drawn).is_none(), "{name} is drawn twice");
        } else if class(&node, "edge") {
            let taken = match attribute(node, "data-taken") {
                "true" => true,
                "false" => false,
                other => panic!("data-taken={other:?}"),
            };
            let key = (
                attribute(node, "data-from").to_string(),
                attribute(node, "data-to").to_string(),
                attribute(node, "data-kind").to_string(),
            );
            assert!(
                node.children().any(|c| c.has_tag_name("path")),
                "edge {key:?} has no path"
            );
            edges.push((key, taken));
        }
    }
    (states, edges)
}

/// The states of a definition (JSON), nested ones too: name -> (type, parent state).
fn states_of(graph: &Value, parent: Option<&str>, out: &mut BTreeMap<String, (String, Option<String>)>) {
    for (name, state) in graph["States"].as_object().expect("States") {
        let kind = state["Type"].as_str().expect("Type").to_string();
        out.insert(name.clone(), (kind, parent.map(str::to_string)));
        for branch in nested(state) {
            states_of(branch, Some(name), out);
        }
    }
}

/// A Parallel state's branches, a Map state's processor (or older `Iterator`).
fn nested(state: &Value) -> Vec<&Value> {
    let mut graphs: Vec<&Value> = state["Branches"]
        .as_array()
        .map(|b| b.iter().collect())
        .unwrap_or_default();
    for key in ["ItemProcessor", "Iterator"] {
        if state[key].is_object() {
            graphs.push(&state[key]);
        }
    }
    graphs
}

/// The edges a definition must be drawn with: `(from, to, kind)`, a marker as "".
fn edges_of(graph: &Value, parent: Option<&str>, out: &mut Vec<(String, String, String)>) {
    let start = graph["StartAt"].as_str().expect("StartAt").to_string();
    match parent {
        None => out.push((String::new(), start, "start".into())),
        Some(parent) => out.push((parent.to_string(), start, "branch".into())),
    }
    for (name, state) in graph["States"].as_object().expect("States") {
        let mut edge = |to: &Value, kind: &str| {
            out.push((
                name.clone(),
                to.as_str().expect("a state name").to_string(),
                kind.to_string(),
            ));
        };
        if state.get("Next").is_some() {
            edge(&state["Next"], "next");
        }
        for rule in state["Choices"].as_array().into_iter().flatten() {
            edge(&rule["Next"], "choice");
        }
        if state.get("Default").is_some() {
            edge(&state["Default"], "default");
        }
        for catcher in state["Catch"].as_array().into_iter().flatten() {
            edge(&catcher["Next"], "catch");
        }
        if state["End"] == json!(true) {
            out.push((name.clone(), String::new(), "end".into()));
        }
        for branch in nested(state) {
            edges_of(branch, Some(name), out);
        }
    }
}

fn sorted<T: Ord>(mut items: Vec<T>) -> Vec<T> {
    items.sort();
    items
}

/// `a` and `b` overlap (touching edges do not count).
fn overlap(a: (f64, f64, f64, f64), b: (f64, f64, f64, f64)) -> bool {
    a.0 < b.0 + b.2 && b.0 < a.0 + a.2 && a.1 < b.1 + b.3 && b.1 < a.1 + a.3
}

/// `inner` lies inside `outer`.
fn inside(inner: (f64, f64, f64, f64), outer: (f64, f64, f64, f64)) -> bool {
    inner.0 >= outer.0
        && inner.1 >= outer.1
        && inner.0 + inner.2 <= outer.0 + outer.2
        && inner.1 + inner.3 <= outer.1 + outer.3
}

/// Checks the drawing of `definition` (JSON): every state once with its type and parent,
/// every edge with its kind, no overlapping boxes, nested boxes inside their parent's.
fn check_drawing(definition: &Value, svg: &str, what: &str) -> BTreeMap<String, Drawn> {
    let (states, edges) = parse(svg);
    let mut expected = BTreeMap::new();
    states_of(definition, None, &mut expected);
    let drawn: BTreeMap<String, (String, Option<String>)> = (states.iter())
        .map(|(name, d)| (name.clone(), (d.kind.clone(), d.parent.clone())))
        .collect();
    assert_eq!(drawn, expected, "{what}: states, types and parents");
    let mut expected_edges = Vec::new();
    edges_of(definition, None, &mut expected_edges);
    let drawn_edges: Vec<_> = edges.into_iter().map(|(key, _)| key).collect();
    assert_eq!(sorted(drawn_edges), sorted(expected_edges), "{what}: edges");
    let list: Vec<(&String, &Drawn)> = states.iter().collect();
    for (i, (a, da)) in list.iter().enumerate() {
        assert!(da.rect.2 > 0.0 && da.rect.3 > 0.0, "{what}: {a} has an empty box");
        if let Some(parent) = &da.parent {
            assert!(
                inside(da.rect, states[parent].rect),
                "{what}: {a} {:?} is not inside {parent} {:?}",
                da.rect,
                states[parent].rect
            );
        }
        for (b, db) in &list[i + 1..] {
            let related = is_ancestor(&states, a, b) || is_ancestor(&states, b, a);
            if !related {
                assert!(
                    !overlap(da.rect, db.rect),
                    "{what}: {a} {:?} overlaps {b} {:?}",
                    da.rect,
                    db.rect
                );
            }
        }
    }
    states
}

/// `ancestor` contains `name` (at any depth).
fn is_ancestor(states: &BTreeMap<String, Drawn>, ancestor: &str, name: &str) -> bool {
    let mut at = states[name].parent.as_deref();
    while let Some(parent) = at {
        if parent == ancestor {
            return true;
        }
        at = states[parent].parent.as_deref();
    }
    false
}

/// Sends events to two sinks.
struct Both<'a>(&'a mut dyn HistorySink, &'a mut dyn HistorySink);

impl HistorySink for Both<'_> {
    fn record(&mut self, event: &HistoryEvent<'_>) {
        self.0.record(event);
        self.1.record(event);
    }
}

/// Runs `DEFINITION` on `input` (Work fails with States.TaskFailed): its recorded path and its
/// history as AWS's GetExecutionHistory events.
fn run(input: &str) -> (ExecutionPath, Vec<Value>) {
    let model = quickstep::parse_definition(DEFINITION).expect("a valid definition");
    let behaviours = json!({ WORK: {"Throw": {"Error": "States.TaskFailed", "Cause": "down"}} });
    let tasks = TaskRegistry::from_behaviours(&behaviours).unwrap();
    let machine = Machine::from_model(&model, tasks).unwrap();
    let mut recorder = PathRecorder::new(&model);
    let mut history = JsonHistory {
        include_data: true,
        events: Vec::new(),
    };
    machine
        .run_json_recording(
            input,
            &ExecutionInfo::default(),
            &mut VirtualClock::default(),
            &mut Both(&mut recorder, &mut history),
        )
        .unwrap();
    (recorder.finish(), history.events)
}

fn definition() -> Value {
    serde_json::from_str(DEFINITION).unwrap()
}

#[test]
fn every_state_and_edge_is_drawn_once_without_overlap() {
    let model = quickstep::parse_definition(DEFINITION).unwrap();
    let svg = render(&model, Format::Svg, None);
    assert!(svg.starts_with("<svg "), "no XML prolog: {}", &svg[..40]);
    let states = check_drawing(&definition(), &svg, "DEFINITION");
    assert!(states.values().all(|s| s.status == "not-started"));
    let (_, edges) = parse(&svg);
    assert!(edges.iter().all(|(_, taken)| !taken));
}

#[test]
fn parallel_branches_and_map_processors_are_nested_boxes() {
    let model = quickstep::parse_definition(DEFINITION).unwrap();
    let svg = render(&model, Format::Svg, None);
    let document = roxmltree::Document::parse(&svg).unwrap();
    let clusters: Vec<(String, String)> = (document.descendants())
        .filter(|n| n.attribute("class") == Some("cluster"))
        .map(|n| {
            (
                attribute(n, "data-parent").to_string(),
                attribute(n, "data-branch").to_string(),
            )
        })
        .collect();
    assert_eq!(
        clusters,
        [("Fan", "1"), ("Fan", "2"), ("Each", "1")].map(|(a, b)| (a.to_string(), b.to_string()))
    );
    let states = check_drawing(&definition(), &svg, "DEFINITION");
    assert_eq!(states["Left"].parent.as_deref(), Some("Fan"));
    assert_eq!(states["Right done"].parent.as_deref(), Some("Fan"));
    assert_eq!(states["Bad item"].parent.as_deref(), Some("Each"));
    // The two branches side by side, the second state of a branch below the first.
    assert!(states["Left"].rect.0 + states["Left"].rect.2 <= states["Right"].rect.0);
    assert!(states["Right"].rect.1 + states["Right"].rect.3 <= states["Right done"].rect.1);
}

#[test]
fn a_caught_failure_colours_states_and_edges_as_the_history_says() {
    let (path, _) = run(r#"{"n": 1}"#);
    let model = quickstep::parse_definition(DEFINITION).unwrap();
    let svg = render(&model, Format::Svg, Some(&path));
    let states = check_drawing(&definition(), &svg, "caught");
    let status = |name: &str| states[name].status.as_str();
    assert_eq!(status("Check"), "succeeded");
    assert_eq!(status("Work"), "caught-error");
    assert_eq!(status("Give up"), "failed");
    for name in ["Fan", "Left", "Each", "Item", "Done", "Again?"] {
        assert_eq!(status(name), "not-started", "{name}");
    }
    let (_, edges) = parse(&svg);
    let taken: Vec<(String, String, String)> = edges.into_iter().filter(|(_, t)| *t).map(|(k, _)| k).collect();
    let expected = [
        ("", "Check", "start"),
        ("Check", "Work", "choice"),
        ("Work", "Give up", "catch"),
    ]
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()));
    assert_eq!(sorted(taken), sorted(expected.to_vec()));
}

#[test]
fn a_failed_iteration_fails_its_map_and_colours_the_branches_taken() {
    let (path, _) = run(r#"{"n": 2, "items": ["a", 3]}"#);
    let model = quickstep::parse_definition(DEFINITION).unwrap();
    let svg = render(&model, Format::Svg, Some(&path));
    let states = check_drawing(&definition(), &svg, "map");
    let status = |name: &str| states[name].status.as_str();
    for name in ["Check", "Fan", "Left", "Right", "Right done", "Item", "Good item"] {
        assert_eq!(status(name), "succeeded", "{name}");
    }
    assert_eq!(status("Bad item"), "failed");
    assert_eq!(status("Each"), "failed");
    assert_eq!(status("Work"), "not-started");
    let (_, edges) = parse(&svg);
    let is_taken = |from: &str, to: &str, kind: &str| {
        edges
            .iter()
            .find(|((f, t, k), _)| f == from && t == to && k == kind)
            .unwrap_or_else(|| panic!("no edge {from} -> {to} ({kind})"))
            .1
    };
    assert!(is_taken("Fan", "Left", "branch"));
    assert!(is_taken("Fan", "Right", "branch"));
    assert!(is_taken("Left", "", "end"));
    assert!(is_taken("Item", "Bad item", "choice"));
    assert!(is_taken("Item", "Good item", "default"));
    assert!(is_taken("Fan", "Each", "next"));
    assert!(!is_taken("Each", "Again?", "next"));
    assert!(!is_taken("Check", "Work", "choice"));
}

#[test]
fn a_journaled_history_gives_the_same_path_and_running_or_stopped_states() {
    let (recorded, events) = run(r#"{"n": 1}"#);
    let model = quickstep::parse_definition(DEFINITION).unwrap();
    assert_eq!(ExecutionPath::from_json_events(&model, &events), recorded);
    // Cut after Work was entered: it is in progress.
    let entered = events.iter().position(|e| e["type"] == "TaskStateEntered").unwrap();
    let running = ExecutionPath::from_json_events(&model, &events[..=entered]);
    assert!(!running.execution_ended);
    assert_eq!(running.in_progress, ["Work".to_string()].into());
    let svg = render(&model, Format::Svg, Some(&running));
    let states = check_drawing(&definition(), &svg, "running");
    assert_eq!(states["Work"].status, "in-progress");
    assert_eq!(states["Check"].status, "succeeded");
    // Then stopped: it is cancelled.
    let mut stopped = events[..=entered].to_vec();
    stopped.push(
        json!({"id": entered + 2, "previousEventId": 0, "timestamp": 1.5, "type": "ExecutionAborted",
        "executionAbortedEventDetails": {}}),
    );
    let stopped = ExecutionPath::from_json_events(&model, &stopped);
    assert!(stopped.execution_ended && stopped.failed.is_none());
    let states = check_drawing(&definition(), &render(&model, Format::Svg, Some(&stopped)), "stopped");
    assert_eq!(states["Work"].status, "cancelled");
}

#[test]
fn the_html_page_holds_the_drawing_the_legend_and_the_events() {
    let (path, events) = run(r#"{"n": 1}"#);
    let model = quickstep::parse_definition(DEFINITION).unwrap();
    let html = render(&model, Format::Html, Some(&path));
    assert!(html.starts_with("<!DOCTYPE html>"));
    // The drawing, inline and whole.
    let start = html.find("<svg ").expect("an inline svg");
    let end = html.find("</svg>").expect("a closed svg") + "</svg>".len();
    check_drawing(&definition(), &html[start..end], "html");
    for label in ["In progress", "Succeeded", "Failed", "Caught error", "Cancelled"] {
        assert!(html.contains(&format!(">{label}</span>")), "legend {label}");
    }
    // One row per event, in order, with its type and state.
    let rows: Vec<&str> = html.split("<tr").skip(2).collect();
    assert_eq!(rows.len(), events.len(), "one row per event");
    for (row, event) in rows.iter().zip(&events) {
        let id = event["id"].as_u64().unwrap();
        assert!(row.contains(&format!("data-event-id=\"{id}\"")), "row {id}: {row}");
        let kind = event["type"].as_str().unwrap();
        assert!(
            row.contains(&format!("<td>{kind}</td>")),
            "row {id} has no {kind}: {row}"
        );
    }
    let failed = rows
        .iter()
        .find(|r| r.contains("<td>LambdaFunctionFailed</td>"))
        .unwrap();
    assert!(
        failed.contains("<td>Work</td>") && failed.contains("<summary>Cause</summary><pre>down</pre>"),
        "{failed}"
    );
    let entered = rows.iter().find(|r| r.contains("<td>TaskStateEntered</td>")).unwrap();
    assert!(
        entered.contains("<summary>Input</summary><pre>{&quot;n&quot;:1}</pre>"),
        "{entered}"
    );
    // The execution's input, error and cause.
    assert!(html.contains("<dd class=\"status\">FAILED</dd>"));
    assert!(html.contains("<pre class=\"input\">{&quot;n&quot;:1}</pre>"));
    assert!(html.contains("<dd class=\"error\">GaveUp</dd>"));
    // Without an execution: no events.
    let plain = render(&model, Format::Html, None);
    assert!(plain.contains("<svg ") && !plain.contains("<table"));
}

#[test]
fn text_is_escaped() {
    let text = r#"{"StartAt": "A <b> & \"c\"", "States": {"A <b> & \"c\"": {"Type": "Pass", "End": true}}}"#;
    let model = quickstep::parse_definition(text).unwrap();
    let svg = render(&model, Format::Svg, None);
    let (states, _) = parse(&svg);
    assert!(states.contains_key("A <b> & \"c\""), "{states:?}");
}

#[test]
fn every_conformance_case_lays_out_without_overlap() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/conformance/cases");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut drawn = 0;
    for file in &files {
        let case: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        let definition = &case["definition"];
        // Cases of definitions that do not parse (validation cases) have nothing to draw.
        let Ok(model) = quickstep::parse_definition_value(definition) else {
            continue;
        };
        let what = file.file_name().unwrap().to_string_lossy();
        let first = render(&model, Format::Svg, None);
        check_drawing(definition, &first, &what);
        assert_eq!(render(&model, Format::Svg, None), first, "{what}: not deterministic");
        drawn += 1;
    }
    assert!(drawn >= 800, "only {drawn} of {} cases drawn", files.len());
}
