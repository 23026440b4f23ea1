//! The SVG drawing (laid out by [`layout`](super::layout)) and the HTML page around it.
//!
//! Colours follow the legend of the Step Functions console's graph inspector (In progress,
//! Succeeded, Failed, Caught error, Cancelled), in the status colours of AWS's console
//! design system (Cloudscape): blue, green, red, orange and grey.

use std::fmt::Write as _;

use super::layout::{lay_out, Item, Laid, LaidEdge, CLUSTER_TITLE, HEADER_HEIGHT};
use super::{ExecutionPath, StateStatus};
use crate::model::{StateKind, StateMachine};

/// The CSS of the drawing: shapes by type, colours by status, taken edges.
const SVG_STYLE: &str = "\
.qs-graph{font-family:'Amazon Ember','Helvetica Neue',Arial,sans-serif;font-size:13px}
.qs-graph .shape{fill:#ffffff;stroke:#7d8998;stroke-width:1.5}
.qs-graph .cluster>.frame{fill:#f4f4f4;stroke:#aab7b8;stroke-dasharray:4 3}
.qs-graph .cluster>.title{fill:#5f6b7a;font-size:11px}
.qs-graph .name{fill:#000716;font-weight:600}
.qs-graph .type{fill:#5f6b7a;font-size:11px}
.qs-graph .marker .shape{fill:#e9ebed;stroke:#7d8998}
.qs-graph .marker text{fill:#000716;font-size:12px}
.qs-graph .state[data-status=succeeded]>.shape{fill:#e9f7e9;stroke:#037f0c;stroke-width:2.5}
.qs-graph .state[data-status=failed]>.shape{fill:#fff1f0;stroke:#d91515;stroke-width:2.5}
.qs-graph .state[data-status=caught-error]>.shape{fill:#fff4e0;stroke:#ff9900;stroke-width:2.5}
.qs-graph .state[data-status=in-progress]>.shape{fill:#e6f2ff;stroke:#0972d3;stroke-width:2.5}
.qs-graph .state[data-status=cancelled]>.shape{fill:#f2f3f3;stroke:#8c8c94;stroke-width:2.5}
.qs-graph .edge path{fill:none;stroke:#7d8998;stroke-width:1.3}
.qs-graph .edge[data-kind=catch] path{stroke-dasharray:5 4}
.qs-graph .edge[data-taken=true] path{stroke:#037f0c;stroke-width:2.5}
.qs-graph .edge text{fill:#414d5c;font-size:11px}
.qs-graph .edge .halo{stroke:#ffffff;stroke-width:4;stroke-linejoin:round}
";

/// `machine` as a standalone SVG document.
pub(super) fn render_svg(machine: &StateMachine, path: Option<&ExecutionPath>) -> String {
    let laid = lay_out(&machine.graph, true);
    let (w, h) = (laid.width.ceil(), laid.height.ceil());
    let mut out = String::with_capacity(4096);
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"qs-graph\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\">"
    );
    out.push_str("<defs><marker id=\"qs-arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerUnits=\"userSpaceOnUse\" markerWidth=\"9\" markerHeight=\"9\" orient=\"auto-start-reverse\"><path d=\"M0,0L10,5L0,10z\" fill=\"#7d8998\"/></marker>");
    out.push_str("<marker id=\"qs-arrow-taken\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerUnits=\"userSpaceOnUse\" markerWidth=\"10\" markerHeight=\"10\" orient=\"auto-start-reverse\"><path d=\"M0,0L10,5L0,10z\" fill=\"#037f0c\"/></marker></defs>\n");
    let _ = writeln!(out, "<style>{SVG_STYLE}</style>");
    draw(&mut out, &laid, (0.0, 0.0), path);
    out.push_str("</svg>\n");
    out
}

/// Draws `laid` at `origin`: edges first, then nodes (with their branches).
fn draw(out: &mut String, laid: &Laid<'_>, origin: (f64, f64), path: Option<&ExecutionPath>) {
    let (ox, oy) = origin;
    for node in &laid.nodes {
        let (x, y, w, h) = (ox + node.x, oy + node.y, node.w, node.h);
        match node.item {
            Item::Start | Item::End => {
                let (marker, text) = match node.item {
                    Item::Start => ("start", "Start"),
                    _ => ("end", "End"),
                };
                let _ = writeln!(
                    out,
                    "<g class=\"marker\" data-marker=\"{marker}\"><rect class=\"shape\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"{}\"/><text x=\"{}\" y=\"{}\" text-anchor=\"middle\" dominant-baseline=\"central\">{text}</text></g>",
                    n(x), n(y), n(w), n(h), n(h / 2.0), n(x + w / 2.0), n(y + h / 2.0)
                );
            }
            Item::State(state) => {
                let status = path.map_or(StateStatus::NotStarted, |p| p.status(&state.name));
                let type_name = state.kind.type_name();
                let _ = write!(
                    out,
                    "<g class=\"state\" data-state=\"{}\" data-type=\"{type_name}\" data-status=\"{}\" data-x=\"{}\" data-y=\"{}\" data-width=\"{}\" data-height=\"{}\"><title>{}</title>",
                    xml(&state.name), status.as_str(), n(x), n(y), n(w), n(h), xml(&format!("{} ({type_name})", state.name))
                );
                match &state.kind {
                    StateKind::Choice { .. } => {
                        // A box with pointed sides.
                        let d = (h / 2.0).min(18.0);
                        let _ = write!(
                            out,
                            "<polygon class=\"shape\" points=\"{},{} {},{} {},{} {},{} {},{} {},{}\"/>",
                            n(x + d),
                            n(y),
                            n(x + w - d),
                            n(y),
                            n(x + w),
                            n(y + h / 2.0),
                            n(x + w - d),
                            n(y + h),
                            n(x + d),
                            n(y + h),
                            n(x),
                            n(y + h / 2.0)
                        );
                    }
                    _ => {
                        let rx = match state.kind {
                            StateKind::Succeed | StateKind::Fail(_) => h.min(HEADER_HEIGHT) / 2.0,
                            _ => 6.0,
                        };
                        let _ = write!(
                            out,
                            "<rect class=\"shape\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"{}\"/>",
                            n(x),
                            n(y),
                            n(w),
                            n(h),
                            n(rx)
                        );
                    }
                }
                let header = h.min(HEADER_HEIGHT);
                let _ = write!(
                    out,
                    "<text class=\"name\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text><text class=\"type\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{type_name}</text>",
                    n(x + w / 2.0), n(y + header / 2.0 - 2.0), xml(&state.name), n(x + w / 2.0), n(y + header / 2.0 + 13.0)
                );
                for (k, cluster) in node.clusters.iter().enumerate() {
                    let _ = write!(
                        out,
                        "\n<g class=\"cluster\" data-parent=\"{}\" data-branch=\"{}\"><rect class=\"frame\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"4\"/><text class=\"title\" x=\"{}\" y=\"{}\">{}</text>\n",
                        xml(&state.name), k + 1,
                        n(ox + cluster.x), n(oy + cluster.y), n(cluster.w), n(cluster.h),
                        n(ox + cluster.x + 6.0), n(oy + cluster.y + CLUSTER_TITLE - 6.0), xml(&cluster.title)
                    );
                    let (cx, cy) = cluster.origin();
                    draw(out, &cluster.inner, (ox + cx, oy + cy), path);
                    out.push_str("</g>");
                }
                out.push_str("</g>\n");
            }
        }
    }
    for edge in &laid.edges {
        draw_edge(out, edge, origin, path);
    }
}

/// Whether `path` took `edge`.
fn taken(edge: &LaidEdge<'_>, path: Option<&ExecutionPath>) -> bool {
    let Some(path) = path else { return false };
    match (edge.kind, edge.from, edge.to) {
        ("start" | "branch", _, Some(to)) => path.entered.contains(to),
        ("end", Some(from), _) => path.ended.contains(from),
        (_, Some(from), Some(to)) => path.took(from, to),
        _ => false,
    }
}

fn draw_edge(out: &mut String, edge: &LaidEdge<'_>, (ox, oy): (f64, f64), path: Option<&ExecutionPath>) {
    let taken = taken(edge, path);
    let points: Vec<(f64, f64)> = edge.points.iter().map(|(x, y)| (ox + x, oy + y)).collect();
    let mut d = String::new();
    if edge.back || points.len() < 2 {
        for (i, (x, y)) in points.iter().enumerate() {
            let _ = write!(d, "{}{},{}", if i == 0 { "M" } else { "L" }, n(*x), n(*y));
        }
    } else {
        // Cubic segments leaving and entering vertically.
        let _ = write!(d, "M{},{}", n(points[0].0), n(points[0].1));
        for pair in points.windows(2) {
            let ((x0, y0), (x1, y1)) = (pair[0], pair[1]);
            let my = (y0 + y1) / 2.0;
            let _ = write!(d, "C{},{} {},{} {},{}", n(x0), n(my), n(x1), n(my), n(x1), n(y1));
        }
    }
    let arrow = if taken { "qs-arrow-taken" } else { "qs-arrow" };
    let _ = write!(
        out,
        "<g class=\"edge\" data-from=\"{}\" data-to=\"{}\" data-kind=\"{}\" data-taken=\"{taken}\"><path d=\"{d}\" marker-end=\"url(#{arrow})\"/>",
        xml(edge.from.unwrap_or_default()),
        xml(edge.to.unwrap_or_default()),
        edge.kind
    );
    if let Some(label) = &edge.label {
        // On the first segment, near its source; on a back edge, beside its lane.
        let (x, y, anchor) = if edge.back {
            (points[1].0 + 4.0, (points[1].1 + points[2].1) / 2.0, "start")
        } else {
            let (a, b) = (points[0], points[1]);
            (a.0 + (b.0 - a.0) * 0.5, a.1 + (b.1 - a.1) * 0.5, "middle")
        };
        let label = xml(label);
        let _ = write!(
            out,
            "<text class=\"halo\" x=\"{}\" y=\"{}\" text-anchor=\"{anchor}\" dominant-baseline=\"central\">{label}</text><text x=\"{}\" y=\"{}\" text-anchor=\"{anchor}\" dominant-baseline=\"central\">{label}</text>",
            n(x), n(y), n(x), n(y)
        );
    }
    out.push_str("</g>\n");
}

/// A coordinate with at most one decimal.
fn n(value: f64) -> String {
    let rounded = (value * 10.0).round() / 10.0;
    if rounded == rounded.trunc() {
        format!("{}", rounded as i64)
    } else {
        format!("{rounded:.1}")
    }
}

/// Text for XML (and HTML) content and attribute values, escaped as the JUnit report
/// escapes attribute values.
fn xml(text: &str) -> String {
    crate::junit::escape(text, true)
}

/// The page's CSS (besides the drawing's).
const PAGE_STYLE: &str = "\
body{font-family:'Amazon Ember','Helvetica Neue',Arial,sans-serif;margin:24px;color:#000716}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
.legend{display:flex;gap:16px;margin:8px 0 16px;font-size:13px}
.legend span::before{content:'';display:inline-block;width:12px;height:12px;margin-right:6px;vertical-align:-1px;border:2px solid var(--c);background:var(--f)}
.drawing{overflow:auto;border:1px solid #e9ebed;padding:8px}
table{border-collapse:collapse;font-size:13px;width:100%}
th,td{border-bottom:1px solid #e9ebed;padding:6px 8px;text-align:left;vertical-align:top}
tr.error td{background:#fff1f0}
pre{background:#f4f4f4;padding:8px;white-space:pre-wrap;word-break:break-all;margin:4px 0}
dt{font-weight:600;margin-top:8px}
";

/// `machine` as a standalone HTML page: the drawing, its legend, and with a path the
/// execution's summary and events.
pub(super) fn render_html(machine: &StateMachine, path: Option<&ExecutionPath>) -> String {
    let mut out = String::with_capacity(8192);
    let title = match machine.comment.as_deref() {
        Some(comment) if !comment.is_empty() => comment,
        _ => "State machine",
    };
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>\n{PAGE_STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        xml(title),
        xml(title)
    );
    out.push_str("<div class=\"legend\">");
    for (status, label, stroke, fill) in [
        ("in-progress", "In progress", "#0972d3", "#e6f2ff"),
        ("succeeded", "Succeeded", "#037f0c", "#e9f7e9"),
        ("failed", "Failed", "#d91515", "#fff1f0"),
        ("caught-error", "Caught error", "#ff9900", "#fff4e0"),
        ("cancelled", "Cancelled", "#8c8c94", "#f2f3f3"),
    ] {
        let _ = write!(
            out,
            "<span data-status=\"{status}\" style=\"--c:{stroke};--f:{fill}\">{label}</span>"
        );
    }
    out.push_str("</div>\n<div class=\"drawing\">\n");
    out.push_str(&render_svg(machine, path));
    out.push_str("</div>\n");
    if let Some(path) = path {
        execution_section(&mut out, path);
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// The execution's input, output, error and cause, and its events table.
fn execution_section(out: &mut String, path: &ExecutionPath) {
    let events = &path.events;
    let start = events.first().map_or(0, |e| e.timestamp_ms);
    let find = |kind: &str| events.iter().find(|e| e.event_type == kind);
    let ending = events.iter().rev().find(|e| {
        e.event_type.starts_with("Execution")
            && e.event_type != "ExecutionStarted"
            && e.event_type != "ExecutionRedriven"
    });
    out.push_str("<h2>Execution</h2>\n<dl class=\"execution\">\n");
    let status = match ending.map(|e| e.event_type.as_str()) {
        Some("ExecutionSucceeded") => "SUCCEEDED",
        Some("ExecutionFailed") => "FAILED",
        Some("ExecutionTimedOut") => "TIMED_OUT",
        Some("ExecutionAborted") => "ABORTED",
        _ => "RUNNING",
    };
    let _ = writeln!(out, "<dt>Status</dt><dd class=\"status\">{status}</dd>");
    if let Some(input) = find("ExecutionStarted").and_then(|e| e.input.as_deref()) {
        let _ = writeln!(out, "<dt>Input</dt><dd><pre class=\"input\">{}</pre></dd>", xml(input));
    }
    if let Some(output) = ending.and_then(|e| e.output.as_deref()) {
        let _ = writeln!(
            out,
            "<dt>Output</dt><dd><pre class=\"output\">{}</pre></dd>",
            xml(output)
        );
    }
    if let Some(error) = ending.and_then(|e| e.error.as_deref()) {
        let _ = writeln!(out, "<dt>Error</dt><dd class=\"error\">{}</dd>", xml(error));
    }
    if let Some(cause) = ending.and_then(|e| e.cause.as_deref()) {
        let _ = writeln!(out, "<dt>Cause</dt><dd><pre class=\"cause\">{}</pre></dd>", xml(cause));
    }
    out.push_str("</dl>\n<h2>Events</h2>\n<table class=\"events\">\n<thead><tr><th>ID</th><th>Type</th><th>State</th><th>Time since start</th><th>Duration</th><th>Details</th></tr></thead>\n<tbody>\n");
    for event in events {
        let previous = events.iter().find(|e| e.id == event.previous_event_id && e.id != 0);
        let duration = previous.map_or(String::new(), |p| milliseconds(event.timestamp_ms - p.timestamp_ms));
        let class = if event.error.is_some() || crate::history::is_error_type(&event.event_type) {
            " class=\"error\""
        } else {
            ""
        };
        let _ = write!(
            out,
            "<tr{class} data-event-id=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{duration}</td><td>",
            event.id,
            event.id,
            xml(&event.event_type),
            xml(event.state.as_deref().unwrap_or_default()),
            milliseconds(event.timestamp_ms - start)
        );
        for (label, value) in [
            ("Input", &event.input),
            ("Output", &event.output),
            ("Error", &event.error),
            ("Cause", &event.cause),
        ] {
            if let Some(value) = value {
                let _ = write!(
                    out,
                    "<details><summary>{label}</summary><pre>{}</pre></details>",
                    xml(value)
                );
            }
        }
        out.push_str("</td></tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

/// A duration in milliseconds as the console shows it: `0 ms`, `1.234 s`.
fn milliseconds(ms: i64) -> String {
    if ms.abs() < 1000 {
        format!("{ms} ms")
    } else {
        format!("{}.{:03} s", ms / 1000, (ms % 1000).abs())
    }
}
