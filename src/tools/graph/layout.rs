//! A layered (Sugiyama-style) layout of a definition's graphs for the SVG drawing.
//!
//! Each graph (the top level, a Parallel branch, a Map processor) is laid out on its own:
//! ranks by longest path from `StartAt` over a depth-first search that leaves out back edges
//! (loops); long edges broken by dummy points, one per rank they cross; the order within
//! each rank by barycenter sweeps that keep the ordering with the fewest crossings; x by
//! repeatedly pulling each node towards its neighbours' mean while keeping the order and the
//! spacing. A Parallel or Map state is one big node holding its branches' layouts side by
//! side. Back edges run up on the right of the nodes they pass. Text widths are estimated from
//! character counts. Everything is deterministic.

use super::{edges, StateKind};
use crate::model::{Graph, State, Transition};

/// Vertical space between ranks (room for edge labels).
const RANK_GAP: f64 = 56.0;
/// Horizontal space between neighbours in a rank.
const NODE_GAP: f64 = 36.0;
/// Space around a graph's nodes.
const MARGIN: f64 = 16.0;
/// A state box's height.
const STATE_HEIGHT: f64 = 46.0;
/// A Parallel or Map state's header (name and type) above its branches.
pub(super) const HEADER_HEIGHT: f64 = 46.0;
/// A branch box's title height.
pub(super) const CLUSTER_TITLE: f64 = 20.0;
/// Space inside a branch box around its graph, and between branch boxes.
const CLUSTER_PAD: f64 = 10.0;
/// The width of a dummy point (a long edge crossing a rank).
const DUMMY_WIDTH: f64 = 14.0;
/// The estimated width of a character of an edge label.
pub(super) const LABEL_CHAR_WIDTH: f64 = 6.2;
/// Space between the lanes of back edges.
const LANE_GAP: f64 = 12.0;

/// The width `text` takes at `char_width` pixels a character.
pub(super) fn text_width(text: &str, char_width: f64) -> f64 {
    text.chars().count() as f64 * char_width
}

/// What a node draws.
#[derive(Clone, Copy, Debug)]
pub(super) enum Item<'m> {
    /// The graph's start marker (top level only).
    Start,
    /// The graph's end marker.
    End,
    /// A state.
    State(&'m State),
}

/// A laid-out graph; coordinates relative to its top-left corner.
#[derive(Debug)]
pub(super) struct Laid<'m> {
    pub width: f64,
    pub height: f64,
    pub nodes: Vec<LaidNode<'m>>,
    pub edges: Vec<LaidEdge<'m>>,
}

/// A node: its box (top-left `x`, `y`) and, for a Parallel or Map state, its branch boxes.
#[derive(Debug)]
pub(super) struct LaidNode<'m> {
    pub item: Item<'m>,
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
    pub clusters: Vec<Cluster<'m>>,
}

/// A branch (or Map processor) box inside its state: its box relative to the graph holding
/// the state, and its graph's layout, which starts at `(x + CLUSTER_PAD, y + CLUSTER_TITLE)`.
#[derive(Debug)]
pub(super) struct Cluster<'m> {
    pub title: String,
    /// The branch's `StartAt`.
    pub start: &'m str,
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
    pub inner: Laid<'m>,
}

impl Cluster<'_> {
    /// Where the inner layout's origin is, relative to the graph holding the state.
    pub fn origin(&self) -> (f64, f64) {
        (self.x + CLUSTER_PAD, self.y + CLUSTER_TITLE)
    }
}

/// An edge: its ends (`None` for a marker), kind, label and route.
#[derive(Debug)]
pub(super) struct LaidEdge<'m> {
    pub from: Option<&'m str>,
    pub to: Option<&'m str>,
    /// `next`, `choice`, `default`, `catch`, `start`, `end` or `branch`.
    pub kind: &'static str,
    pub label: Option<String>,
    /// The route, from the source's side to the target's side.
    pub points: Vec<(f64, f64)>,
    /// Whether the edge goes up (a loop), routed on the right.
    pub back: bool,
}

/// Lays out `graph`: with markers (`top`: a start marker and an end marker) or as a branch (an
/// end marker only when a state has `End`).
pub(super) fn lay_out(graph: &Graph, top: bool) -> Laid<'_> {
    let mut items: Vec<Item> = Vec::new();
    let mut laid: Vec<LaidNode> = Vec::new();
    let index = |name: &str| graph.states.iter().position(|s| s.name == name);
    let offset = usize::from(top);
    if top {
        items.push(Item::Start);
    }
    for state in &graph.states {
        items.push(Item::State(state));
    }
    let has_end = graph.states.iter().any(|s| s.transition == Some(Transition::End));
    if has_end {
        items.push(Item::End);
    }
    let end = has_end.then(|| items.len() - 1);
    for item in &items {
        laid.push(node(*item));
    }
    // Edges: node indices, and the drawn edge to route.
    let mut plain: Vec<(usize, usize)> = Vec::new();
    let mut out_edges: Vec<LaidEdge> = Vec::new();
    let mut push = |plain: &mut Vec<(usize, usize)>, ends, kind, label, from, to| {
        plain.push(ends);
        out_edges.push(LaidEdge {
            from,
            to,
            kind,
            label,
            points: Vec::new(),
            back: false,
        });
    };
    if let (true, Some(i)) = (top, index(&graph.start_at)) {
        push(
            &mut plain,
            (0, i + offset),
            "start",
            None,
            None,
            Some(graph.states[i].name.as_str()),
        );
    }
    for (i, state) in graph.states.iter().enumerate() {
        for edge in edges(state) {
            // A target outside this graph is a validation error; it is drawn without that edge.
            if let Some(j) = index(edge.to) {
                let (from, to) = (Some(state.name.as_str()), Some(edge.to));
                push(
                    &mut plain,
                    (i + offset, j + offset),
                    edge.kind.as_str(),
                    edge.label,
                    from,
                    to,
                );
            }
        }
        if let (Some(Transition::End), Some(end)) = (&state.transition, end) {
            push(
                &mut plain,
                (i + offset, end),
                "end",
                None,
                Some(state.name.as_str()),
                None,
            );
        }
    }
    let root = if top { Some(0) } else { index(&graph.start_at) };
    let sizes: Vec<(f64, f64)> = laid.iter().map(|n| (n.w, n.h)).collect();
    let layered = layered(&sizes, &plain, root, end);
    for (n, &(x, y)) in laid.iter_mut().zip(&layered.positions) {
        n.x = x;
        n.y = y;
        for cluster in &mut n.clusters {
            cluster.x += x;
            cluster.y += y;
        }
    }
    let mut width = layered.width;
    for (edge, (points, back)) in out_edges.iter_mut().zip(layered.routes) {
        // A back edge's label is written right of its lane.
        if let (true, Some(label)) = (back, &edge.label) {
            width = width.max(points[1].0 + 4.0 + text_width(label, LABEL_CHAR_WIDTH) + MARGIN);
        }
        edge.points = points;
        edge.back = back;
    }
    // A Parallel or Map state's edges to its branches' first states.
    for n in &laid {
        let Item::State(state) = n.item else { continue };
        for cluster in &n.clusters {
            let (ox, oy) = cluster.origin();
            let first = cluster.inner.nodes.iter().find(|c| match c.item {
                Item::State(s) => s.name == cluster.start,
                _ => false,
            });
            if let Some(first) = first {
                let to = (ox + first.x + first.w / 2.0, oy + first.y);
                out_edges.push(LaidEdge {
                    from: Some(state.name.as_str()),
                    to: match first.item {
                        Item::State(s) => Some(s.name.as_str()),
                        _ => None,
                    },
                    kind: "branch",
                    label: None,
                    points: vec![(to.0, n.y + HEADER_HEIGHT), to],
                    back: false,
                });
            }
        }
    }
    Laid {
        width,
        height: layered.height,
        nodes: laid,
        edges: out_edges,
    }
}

/// A node before placement: its size, and a Parallel or Map state's branches laid out.
fn node(item: Item<'_>) -> LaidNode<'_> {
    let (w, h, clusters) = match item {
        Item::Start => (64.0, 28.0, Vec::new()),
        Item::End => (44.0, 24.0, Vec::new()),
        Item::State(state) => {
            let text = text_width(&state.name, 7.4).max(text_width(state.kind.type_name(), 6.4));
            let w = (text + 32.0).max(110.0);
            let graphs: Vec<(String, &Graph)> = match &state.kind {
                StateKind::Parallel { branches } => (branches.iter().enumerate())
                    .map(|(k, b)| (format!("Branch {}", k + 1), b))
                    .collect(),
                StateKind::Map(map) => {
                    let title = if map.legacy_iterator {
                        "Iterator"
                    } else {
                        "ItemProcessor"
                    };
                    vec![(title.to_string(), &map.processor)]
                }
                _ => Vec::new(),
            };
            if graphs.is_empty() {
                (w, STATE_HEIGHT, Vec::new())
            } else {
                let mut clusters = Vec::new();
                let mut x = CLUSTER_PAD;
                let mut height: f64 = 0.0;
                for (title, graph) in graphs {
                    let inner = lay_out(graph, false);
                    let cw = (inner.width + 2.0 * CLUSTER_PAD).max(text_width(&title, 6.4) + 2.0 * CLUSTER_PAD);
                    let ch = inner.height + CLUSTER_TITLE + CLUSTER_PAD;
                    clusters.push(Cluster {
                        title,
                        start: &graph.start_at,
                        x,
                        y: HEADER_HEIGHT,
                        w: cw,
                        h: ch,
                        inner,
                    });
                    x += cw + CLUSTER_PAD;
                    height = height.max(ch);
                }
                let width = w.max(x);
                // Centre the branches when the header is wider.
                let shift = (width - x) / 2.0;
                for cluster in &mut clusters {
                    cluster.x += shift;
                }
                (width, HEADER_HEIGHT + height + CLUSTER_PAD, clusters)
            }
        }
    };
    LaidNode {
        item,
        x: 0.0,
        y: 0.0,
        w,
        h,
        clusters,
    }
}

/// The result of [`layered`]: nodes' top-left corners, each edge's route and whether it is
/// a back edge, and the size.
struct Layered {
    positions: Vec<(f64, f64)>,
    routes: Vec<(Vec<(f64, f64)>, bool)>,
    width: f64,
    height: f64,
}

/// Lays out nodes of `sizes` (width, height) joined by `edges`, from `root` (searched first;
/// then every node not reached yet, in order), with `bottom` on the last rank.
fn layered(sizes: &[(f64, f64)], edges: &[(usize, usize)], root: Option<usize>, bottom: Option<usize>) -> Layered {
    let n = sizes.len();
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (e, &(a, _)) in edges.iter().enumerate() {
        out[a].push(e);
    }
    // Depth-first search: back edges, discovery order, reverse postorder.
    let mut back = vec![false; edges.len()];
    let mut discovered = vec![usize::MAX; n];
    let mut on_stack = vec![false; n];
    let mut postorder = Vec::with_capacity(n);
    let mut count = 0;
    let starts: Vec<usize> = root.into_iter().chain(0..n).collect();
    for s in starts {
        if discovered[s] != usize::MAX {
            continue;
        }
        discovered[s] = count;
        count += 1;
        on_stack[s] = true;
        let mut stack: Vec<(usize, usize)> = vec![(s, 0)];
        while let Some(&mut (v, ref mut i)) = stack.last_mut() {
            if let Some(&e) = out[v].get(*i) {
                *i += 1;
                let w = edges[e].1;
                if on_stack[w] {
                    back[e] = true;
                } else if discovered[w] == usize::MAX {
                    discovered[w] = count;
                    count += 1;
                    on_stack[w] = true;
                    stack.push((w, 0));
                }
            } else {
                on_stack[v] = false;
                postorder.push(v);
                stack.pop();
            }
        }
    }
    // Ranks by longest path.
    let mut rank = vec![0usize; n];
    for &v in postorder.iter().rev() {
        for &e in &out[v] {
            if !back[e] {
                let w = edges[e].1;
                rank[w] = rank[w].max(rank[v] + 1);
            }
        }
    }
    if let Some(b) = bottom {
        let last = (0..n).filter(|&v| v != b).map(|v| rank[v]).max().unwrap_or(0);
        rank[b] = rank[b].max(last + 1);
    }
    let ranks = rank.iter().max().map_or(0, |r| r + 1);
    // Vertices: the nodes, then dummies; each forward edge as a chain of vertices.
    let mut v_rank = rank.clone();
    let mut v_size: Vec<(f64, f64)> = sizes.to_vec();
    let mut v_key: Vec<f64> = discovered.iter().map(|&d| d as f64).collect();
    let mut chains: Vec<Vec<usize>> = Vec::with_capacity(edges.len());
    for (e, &(a, b)) in edges.iter().enumerate() {
        let mut chain = vec![a];
        if !back[e] {
            for r in rank[a] + 1..rank[b] {
                v_rank.push(r);
                v_size.push((DUMMY_WIDTH, 0.0));
                v_key.push(discovered[a] as f64 + 0.5);
                chain.push(v_rank.len() - 1);
            }
        }
        chain.push(b);
        chains.push(chain);
    }
    let vn = v_rank.len();
    let mut up: Vec<Vec<usize>> = vec![Vec::new(); vn];
    let mut down: Vec<Vec<usize>> = vec![Vec::new(); vn];
    for (e, chain) in chains.iter().enumerate() {
        if back[e] {
            continue;
        }
        for pair in chain.windows(2) {
            down[pair[0]].push(pair[1]);
            up[pair[1]].push(pair[0]);
        }
    }
    let mut layers: Vec<Vec<usize>> = vec![Vec::new(); ranks];
    for v in 0..vn {
        layers[v_rank[v]].push(v);
    }
    for layer in &mut layers {
        layer.sort_by(|a, b| v_key[*a].total_cmp(&v_key[*b]).then(a.cmp(b)));
    }
    order_layers(&mut layers, &up, &down, vn);
    // y: each rank as tall as its tallest node.
    let mut rank_top = Vec::with_capacity(ranks);
    let mut rank_height = Vec::with_capacity(ranks);
    let mut y = MARGIN;
    for layer in &layers {
        let h = layer.iter().map(|&v| v_size[v].1).fold(0.0, f64::max);
        rank_top.push(y);
        rank_height.push(h);
        y += h + RANK_GAP;
    }
    let height = y - RANK_GAP + MARGIN;
    // x: centres.
    let x = place_x(&layers, &up, &down, &v_size);
    let min_left = (0..vn).map(|v| x[v] - v_size[v].0 / 2.0).fold(f64::INFINITY, f64::min);
    let shift = if min_left.is_finite() { MARGIN - min_left } else { 0.0 };
    let cx: Vec<f64> = x.iter().map(|x| x + shift).collect();
    let mut width = (0..vn).map(|v| cx[v] + v_size[v].0 / 2.0).fold(0.0, f64::max) + MARGIN;
    let top = |v: usize| rank_top[v_rank[v]] + (rank_height[v_rank[v]] - v_size[v].1) / 2.0;
    let positions: Vec<(f64, f64)> = (0..n).map(|v| (cx[v] - v_size[v].0 / 2.0, top(v))).collect();
    // Routes.
    let mut routes: Vec<(Vec<(f64, f64)>, bool)> = Vec::with_capacity(edges.len());
    let mut lanes = 0;
    for (e, chain) in chains.iter().enumerate() {
        let (a, b) = edges[e];
        if back[e] {
            let (lo, hi) = (rank[a].min(rank[b]), rank[a].max(rank[b]));
            let right = (0..vn)
                .filter(|&v| (lo..=hi).contains(&v_rank[v]))
                .map(|v| cx[v] + v_size[v].0 / 2.0)
                .fold(0.0, f64::max);
            let lane = right + LANE_GAP * (1 + lanes) as f64;
            lanes += 1;
            width = width.max(lane + MARGIN);
            let ya = top(a) + sizes[a].1 / 2.0;
            let yb = top(b) + sizes[b].1 / 2.0;
            let points = vec![
                (cx[a] + sizes[a].0 / 2.0, ya + 6.0),
                (lane, ya + 6.0),
                (lane, yb - 6.0),
                (cx[b] + sizes[b].0 / 2.0, yb - 6.0),
            ];
            routes.push((points, true));
            continue;
        }
        let mut points = vec![(cx[a], top(a) + sizes[a].1)];
        for &d in &chain[1..chain.len() - 1] {
            let r = v_rank[d];
            points.push((cx[d], rank_top[r]));
            points.push((cx[d], rank_top[r] + rank_height[r]));
        }
        points.push((cx[b], top(b)));
        routes.push((points, false));
    }
    spread_ports(&mut routes, edges, &positions, sizes);
    Layered {
        positions,
        routes,
        width,
        height,
    }
}

/// Spreads the edges leaving (entering) a node along its bottom (top) side, ordered by where
/// they go (come from), so that parallel edges do not lie on each other.
fn spread_ports(
    routes: &mut [(Vec<(f64, f64)>, bool)],
    edges: &[(usize, usize)],
    positions: &[(f64, f64)],
    sizes: &[(f64, f64)],
) {
    for v in 0..sizes.len() {
        let width = sizes[v].0;
        let centre = positions[v].0 + width / 2.0;
        // Leaving: the first point; ordered by the second point's x.
        let mut leaving: Vec<usize> = (0..edges.len()).filter(|&e| edges[e].0 == v && !routes[e].1).collect();
        leaving.sort_by(|&a, &b| routes[a].0[1].0.total_cmp(&routes[b].0[1].0).then(a.cmp(&b)));
        let step = (width * 0.7 / leaving.len().max(1) as f64).min(24.0);
        for (k, &e) in leaving.iter().enumerate() {
            routes[e].0[0].0 = centre + (k as f64 - (leaving.len() - 1) as f64 / 2.0) * step;
        }
        let mut entering: Vec<usize> = (0..edges.len()).filter(|&e| edges[e].1 == v && !routes[e].1).collect();
        entering.sort_by(|&a, &b| {
            let (pa, pb) = (&routes[a].0, &routes[b].0);
            pa[pa.len() - 2].0.total_cmp(&pb[pb.len() - 2].0).then(a.cmp(&b))
        });
        let step = (width * 0.7 / entering.len().max(1) as f64).min(24.0);
        for (k, &e) in entering.iter().enumerate() {
            let last = routes[e].0.len() - 1;
            routes[e].0[last].0 = centre + (k as f64 - (entering.len() - 1) as f64 / 2.0) * step;
        }
    }
}

/// Reorders each layer by barycenter sweeps (down, then up, ...), keeping the ordering with
/// the fewest crossings.
fn order_layers(layers: &mut [Vec<usize>], up: &[Vec<usize>], down: &[Vec<usize>], vn: usize) {
    let mut position = vec![0usize; vn];
    let index = |layers: &[Vec<usize>], position: &mut [usize]| {
        for layer in layers {
            for (i, &v) in layer.iter().enumerate() {
                position[v] = i;
            }
        }
    };
    index(layers, &mut position);
    let mut best = layers.to_vec();
    let mut best_crossings = crossings(layers, down, &position);
    for sweep in 0..12 {
        let downward = sweep % 2 == 0;
        let order: Vec<usize> = if downward {
            (1..layers.len()).collect()
        } else {
            (0..layers.len().saturating_sub(1)).rev().collect()
        };
        for r in order {
            let neighbours = if downward { up } else { down };
            let mut keyed: Vec<(f64, usize, usize)> = (layers[r].iter().enumerate())
                .map(|(i, &v)| {
                    let ns = &neighbours[v];
                    let key = if ns.is_empty() {
                        i as f64
                    } else {
                        ns.iter().map(|&u| position[u] as f64).sum::<f64>() / ns.len() as f64
                    };
                    (key, i, v)
                })
                .collect();
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            layers[r] = keyed.into_iter().map(|(_, _, v)| v).collect();
            for (i, &v) in layers[r].iter().enumerate() {
                position[v] = i;
            }
        }
        let c = crossings(layers, down, &position);
        if c < best_crossings {
            best_crossings = c;
            best = layers.to_vec();
        }
    }
    layers.clone_from_slice(&best);
}

/// The number of crossings between adjacent layers.
fn crossings(layers: &[Vec<usize>], down: &[Vec<usize>], position: &[usize]) -> usize {
    let mut total = 0;
    for layer in layers {
        let mut segments: Vec<(usize, usize)> = Vec::new();
        for &v in layer {
            for &w in &down[v] {
                segments.push((position[v], position[w]));
            }
        }
        for i in 0..segments.len() {
            for j in i + 1..segments.len() {
                let (a, b) = (segments[i], segments[j]);
                if (a.0 < b.0 && a.1 > b.1) || (a.0 > b.0 && a.1 < b.1) {
                    total += 1;
                }
            }
        }
    }
    total
}

/// Centres in x: packed, then pulled towards the neighbours' mean, keeping order and spacing.
fn place_x(layers: &[Vec<usize>], up: &[Vec<usize>], down: &[Vec<usize>], size: &[(f64, f64)]) -> Vec<f64> {
    let mut x = vec![0.0; size.len()];
    let gap = |a: usize, b: usize| (size[a].0 + size[b].0) / 2.0 + NODE_GAP;
    for layer in layers {
        let mut at = 0.0;
        for (i, &v) in layer.iter().enumerate() {
            if i > 0 {
                at += gap(layer[i - 1], v);
            }
            x[v] = at;
        }
        // Centre each layer on 0.
        let mid = layer.last().map_or(0.0, |&v| x[v]) / 2.0;
        for &v in layer {
            x[v] -= mid;
        }
    }
    for pass in 0..16 {
        let downward = pass % 2 == 0;
        let order: Vec<usize> = if downward {
            (0..layers.len()).collect()
        } else {
            (0..layers.len()).rev().collect()
        };
        for r in order {
            let layer = &layers[r];
            let desired: Vec<f64> = (layer.iter())
                .map(|&v| {
                    let ns: Vec<usize> = if pass >= 8 {
                        up[v].iter().chain(&down[v]).copied().collect()
                    } else if downward {
                        up[v].clone()
                    } else {
                        down[v].clone()
                    };
                    if ns.is_empty() {
                        x[v]
                    } else {
                        ns.iter().map(|&u| x[u]).sum::<f64>() / ns.len() as f64
                    }
                })
                .collect();
            // The closest placement keeping order and spacing: the mean of pushing right and
            // pushing left.
            let k = layer.len();
            let mut right = desired.clone();
            for i in 1..k {
                right[i] = right[i].max(right[i - 1] + gap(layer[i - 1], layer[i]));
            }
            let mut left = desired.clone();
            for i in (0..k.saturating_sub(1)).rev() {
                left[i] = left[i].min(left[i + 1] - gap(layer[i], layer[i + 1]));
            }
            for i in 0..k {
                x[layer[i]] = (right[i] + left[i]) / 2.0;
            }
        }
    }
    x
}
