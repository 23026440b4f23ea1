//! Parallel and Map states: their children (branches or iterations), run in frames above
//! the state's or, when pure, without frames.

use std::mem::ManuallyDrop;

use bumpalo::collections::Vec as BumpVec;
use smallvec::SmallVec;

use crate::error::{names, EvalError};
use crate::history::{EventData, EventDetail};
use crate::model::QueryLanguage;
use crate::payload::{JsonataEnv, Payload, PayloadInput};
use crate::program::*;
use crate::scope::{Scope, Variables};
use crate::template::Template;
use crate::value::{with_member, Arena, ArenaExt, Member, Value};

use super::states::pass_output;
use super::{error_output, wake_ms, Execution, Failure, Flow, Frame, Link, Phase, MAX_EVENTS, PAYLOAD_LIMIT};

/// The events of one Map iteration run without a frame: MapIterationStarted, the state's
/// entered and exited events, MapIterationSucceeded.
const MAP_ITEM_EVENTS: u32 = 4;

/// The events of one Parallel branch run without a frame: its state's entered and exited
/// events.
const BRANCH_EVENTS: u32 = 2;

/// A Parallel or Map state's progress over its children (branches or iterations).
///
/// A child runs in the frame just above the fanout's frame until it ends or suspends; a child
/// that suspends is parked here, and the fanout's frame (the top again) schedules: it starts
/// the next child while fewer than `max_concurrency` are in progress, else resumes a parked
/// child whose wait is over, else completes the state once every child has finished, else
/// suspends until the earliest parked child can go on. When no child suspends this is the
/// plain sequence of children, one after another.
#[derive(Debug)]
pub(super) struct Fanout<'a> {
    /// The state's effective input: every branch's input, or what `ItemSelector` reads.
    input: Value<'a>,
    /// Map: the items (or batches); Parallel: empty.
    items: &'a [Value<'a>],
    /// How many children there are.
    pub(super) total: usize,
    /// How many children have been started (the next one to start has this index).
    started: usize,
    /// Children started and not finished: the running one and the parked ones.
    in_progress: usize,
    /// The most children in progress at once; 0 for no limit (Map `MaxConcurrency`).
    max_concurrency: usize,
    /// The index of the child running in the frame above (meaningful while one runs there).
    running: usize,
    /// Outputs of the finished children, by child index (pre-sized, so outputs keep the
    /// children's order whatever order they finish in).
    results: &'a mut [Value<'a>],
    /// Children that suspended and wait for their turn, in no particular order.
    /// (`ManuallyDrop`: frames have no drop glue, asserted in `exec`, and the arena frees the
    /// memory.)
    pub(super) parked: ManuallyDrop<BumpVec<'a, ParkedChild<'a>>>,
    /// Map: failed iterations so far, and how many are tolerated.
    failures: usize,
    tolerated_count: Option<u64>,
    tolerated_percentage: Option<f64>,
    /// Parallel: the id of `ParallelStateStarted`, which every branch's first event follows.
    pub(super) started_event: u32,
    /// Map: the id of the last `MapIterationSucceeded` (or tolerated `MapIterationFailed`),
    /// which `MapStateSucceeded` and `MapStateExited` follow; 0 before the first.
    last_end: u32,
    /// Map: where the items come from, `$$.Map.Item.Source` (`STATE_DATA`, or the S3 URI an
    /// `ItemReader` reads); `None` when it cannot be told.
    pub(super) item_source: Option<&'a str>,
    /// A Distributed Map: its map run's ARN.
    pub(super) map_run: Option<&'a str>,
    /// A Map with a `ResultWriter`: each child's input when an `ItemSelector` made it (else
    /// `Null`), and which children failed; empty otherwise.
    inputs: &'a mut [Value<'a>],
    failed: &'a mut [bool],
    /// When the state started (epoch ms).
    started_ms: i64,
}

/// Where [`Execution::run_frameless_children`] finds each child's graph and input.
#[derive(Clone, Copy)]
enum Children<'a> {
    /// A Map without `ItemSelector` whose processor is frameless: the processor's one
    /// state, and the items that are the inputs.
    Items(&'a StateDef, &'a [Value<'a>]),
    /// A Parallel's branches, which all take its input.
    Branches(&'a [GraphId], Value<'a>),
}

/// A suspended child of a fanout: its frame, taken off the stack, and its index.
#[derive(Debug)]
pub(super) struct ParkedChild<'a> {
    index: usize,
    pub(super) frame: Frame<'a>,
}

impl<'a> Fanout<'a> {
    /// A fanout over `total` children, none started yet.
    pub(super) fn new(
        arena: &'a Arena,
        input: Value<'a>,
        items: &'a [Value<'a>],
        total: usize,
        max_concurrency: usize,
    ) -> Self {
        Fanout {
            input,
            items,
            total,
            started: 0,
            in_progress: 0,
            max_concurrency,
            running: 0,
            results: arena.alloc_slice_fill_copy(total, Value::Null),
            parked: ManuallyDrop::new(BumpVec::new_in(arena)),
            failures: 0,
            tolerated_count: None,
            tolerated_percentage: None,
            started_event: 0,
            last_end: 0,
            item_source: Some(STATE_DATA),
            map_run: None,
            inputs: &mut [],
            failed: &mut [],
            started_ms: 0,
        }
    }

    /// Whether another child may start now.
    fn may_start_child(&self) -> bool {
        self.started < self.total && (self.max_concurrency == 0 || self.in_progress < self.max_concurrency)
    }

    /// The parked child to resume first: the earliest wake time, then the lowest index. Gives
    /// its position in `parked` and its wake time; `None` when no parked child has one.
    pub(super) fn earliest_parked(&self) -> Option<(usize, i64)> {
        self.parked
            .iter()
            .enumerate()
            .filter_map(|(position, child)| wake_ms(&child.frame).map(|wake| (position, wake, child.index)))
            .min_by_key(|&(_, wake, index)| (wake, index))
            .map(|(position, wake, _)| (position, wake))
    }
}

/// The `...StateAborted` event of a state whose work is cut short (only the states that can
/// be suspended have one).
fn aborted_event(op: &Op) -> Option<&'static str> {
    match op {
        Op::Task(_) => Some("TaskStateAborted"),
        Op::Wait(_) => Some("WaitStateAborted"),
        Op::Parallel { .. } => Some("ParallelStateAborted"),
        Op::Map(_) => Some("MapStateAborted"),
        _ => None,
    }
}

impl<'a> Execution<'a> {
    /// Takes the suspended top frame (a child of the Parallel/Map frame below it) off the
    /// stack and parks it in its parent, whose frame becomes the top and schedules.
    pub(super) fn park_top(&mut self) {
        let mut frame = self.frames.pop().expect("a child frame to park");
        // Its next event follows its last; the parent's next follows it too.
        frame.tip = self.tip;
        let parent = self.top();
        let fanout = self.fanout_mut(parent);
        fanout.parked.push(ParkedChild {
            index: fanout.running,
            frame,
        });
    }

    /// The progress of the Parallel/Map state in frame `at`.
    fn fanout_mut(&mut self, at: usize) -> &mut Fanout<'a> {
        match &mut self.frames[at].phase {
            Phase::Parallel(fanout) | Phase::Map(fanout) => fanout,
            _ => unreachable!("a child frame's parent runs children"),
        }
    }

    /// Decides what the Parallel/Map state in frame `top` (the top frame, no child running)
    /// does next: start a child, resume a parked child whose wait is over, complete the state,
    /// or suspend until its earliest parked child can go on.
    pub(super) fn schedule(&mut self, top: usize) -> Result<Flow, Failure> {
        let now_ms = self.now_ms;
        if self.run_frameless_children(top) {
            // The history's limit: the main loop reports it.
            return Ok(Flow::Continue);
        }
        let fanout = self.fanout_mut(top);
        if fanout.may_start_child() {
            self.start_child(top)?;
            return Ok(Flow::Continue);
        }
        match fanout.earliest_parked() {
            Some((position, wake_ms)) if wake_ms <= now_ms => {
                let child = fanout.parked.swap_remove(position);
                fanout.running = child.index;
                self.tip = child.frame.tip;
                self.frames.push(child.frame);
                Ok(Flow::Continue)
            }
            Some((_, wake_ms)) => Ok(Flow::Suspend(wake_ms)),
            None if fanout.in_progress == 0 => self.finish_fanout(top),
            // Children wait for something no clock brings: only the execution's timeout ends it.
            None => Ok(Flow::Suspend(i64::MAX)),
        }
    }

    /// Abandons the parked children of the Parallel/Map state in frame `at` (when the state
    /// fails), recording what AWS records for each: `MapIterationAborted` (Map) and the
    /// `...StateAborted` of the state it was in, then the same for its own children.
    pub(super) fn abandon_children(&mut self, at: usize) {
        let arena = self.arena;
        let parked = match &mut self.frames[at].phase {
            Phase::Parallel(fanout) | Phase::Map(fanout) if !fanout.parked.is_empty() => ManuallyDrop::into_inner(
                std::mem::replace(&mut fanout.parked, ManuallyDrop::new(BumpVec::new_in(arena))),
            ),
            _ => return,
        };
        let state = self.program.state(self.frames[at].state);
        self.abort_children(state, parked);
    }

    /// Records the abandonment of `state`'s (a Parallel or Map) children in index order.
    fn abort_children(&mut self, state: &'a StateDef, mut children: BumpVec<'a, ParkedChild<'a>>) {
        children.sort_unstable_by_key(|child| child.index);
        for child in children {
            // Each follows the child's last event.
            let link = Link::SideFrom(child.frame.tip);
            if matches!(state.op, Op::Map(_)) {
                let index = child.index as u32;
                self.record("MapIterationAborted", Some(state.name), EventData::None, link, |_| {
                    EventDetail::MapIteration { index }
                });
            }
            let child_state = self.program.state(child.frame.state);
            match &child.frame.phase {
                // Nothing will await this task: its answer is refused from now on.
                Phase::AwaitingTask(_) => self.retire_awaited(&child.frame),
                Phase::TaskAnswered(token) => drop(self.take_answer(*token)),
                Phase::MapIo(io) if io.answered => drop(self.take_answer(io.awaited.token)),
                Phase::MapIo(_) => self.retire_awaited(&child.frame),
                _ => {}
            }
            if let Some(event) = aborted_event(&child_state.op) {
                self.record(event, Some(child_state.name), EventData::None, link, |_| {
                    EventDetail::None
                });
            }
            if let Phase::Parallel(fanout) | Phase::Map(fanout) = child.frame.phase {
                let parked = std::mem::replace(&mut fanout.parked, ManuallyDrop::new(BumpVec::new_in(self.arena)));
                self.abort_children(child_state, ManuallyDrop::into_inner(parked));
            }
        }
    }

    /// Ends the top frame with its graph's output or failure, and hands it to the frame that
    /// started it (or ends the execution).
    pub(super) fn end_frame(&mut self, end: Result<Value<'a>, Failure>) -> Result<Flow, Failure> {
        let frame = self.frames.pop();
        let Some(parent) = self.frames.len().checked_sub(1) else {
            if end.is_err() {
                // The top level failed in this state: a redrive starts it again.
                self.redrive_at = frame.map(|f| (f.state, f.input, f.variables));
            }
            self.ended = Some(end);
            return Ok(Flow::Done);
        };
        let state = self.program.state(self.frames[parent].state);
        let is_map = matches!(self.frames[parent].phase, Phase::Map(_));
        let arena = self.arena;
        let fanout = self.fanout_mut(parent);
        fanout.in_progress -= 1;
        let index = fanout.running;
        // The child's events have ended at `self.tip`: the parent's next follows it.
        let iteration = |_: &_| EventDetail::MapIteration { index: index as u32 };
        match end {
            Ok(output) => {
                fanout.results[index] = output;
                if is_map {
                    self.record(
                        "MapIterationSucceeded",
                        Some(state.name),
                        EventData::None,
                        Link::Side,
                        iteration,
                    );
                    self.fanout_mut(parent).last_end = self.events;
                }
                self.schedule(parent)
            }
            Err(failure) => {
                fanout.failures += 1;
                if let Some(failed) = fanout.failed.get_mut(index) {
                    *failed = true;
                }
                let has_tolerance = fanout.tolerated_count.is_some() || fanout.tolerated_percentage.is_some();
                let tolerated = is_map
                    && (fanout.tolerated_count.is_some_and(|n| fanout.failures as u64 <= n)
                        || fanout
                            .tolerated_percentage
                            .is_some_and(|p| fanout.failures as f64 * 100.0 <= p * fanout.total as f64));
                if tolerated {
                    fanout.results[index] = error_output(arena, &failure);
                } else {
                    // The failure ends the state: the other children in progress stop.
                    self.abandon_children(parent);
                }
                if is_map {
                    self.record(
                        "MapIterationFailed",
                        Some(state.name),
                        EventData::None,
                        Link::Side,
                        iteration,
                    );
                }
                if tolerated {
                    self.fanout_mut(parent).last_end = self.events;
                    return self.schedule(parent);
                }
                // `fail` records MapStateFailed / ParallelStateFailed unless the state retries.
                let failure = match is_map && has_tolerance {
                    true => Failure::new(
                        Some(names::EXCEED_TOLERATED_FAILURE_THRESHOLD.into()),
                        Some("The specified tolerated failure threshold was exceeded".into()),
                    ),
                    false => failure,
                };
                if self.fanout_mut(parent).map_run.is_some() {
                    return self.map_run_failed(parent, failure);
                }
                Err(failure)
            }
        }
    }

    /// Starts the next branch or iteration of the Parallel/Map state in frame `top` (one
    /// that [`Fanout::may_start_child`] allows) in a new frame above it.
    fn start_child(&mut self, top: usize) -> Result<(), Failure> {
        let state = self.program.state(self.frames[top].state);
        let variables = self.frames[top].variables;
        let (graph, input) = match (&state.op, &self.frames[top].phase) {
            (Op::Parallel { branches }, Phase::Parallel(f)) => (branches[f.started], f.input),
            (Op::Map(map), Phase::Map(f)) => {
                let index = f.started;
                let item = f.items[index];
                let input = match &map.item_selector {
                    Some(selector) => {
                        let context = self.context(top);
                        let context = with_map_item(self.arena, context, index, item, f.item_source);
                        let payload_input = self.payload_input(top, f.input, context, None);
                        self.eval_payload(top, selector, &payload_input)?
                    }
                    None => item,
                };
                self.record(
                    "MapIterationStarted",
                    Some(state.name),
                    EventData::None,
                    Link::Chain,
                    |_| EventDetail::MapIteration { index: index as u32 },
                );
                (map.processor, input)
            }
            _ => unreachable!("start_child runs on a Parallel or Map frame"),
        };
        if matches!(state.op, Op::Parallel { .. }) {
            // A branch's first event follows ParallelStateStarted.
            self.tip = self.fanout_mut(top).started_event;
        }
        let fanout = self.fanout_mut(top);
        if let Some(slot) = fanout.inputs.get_mut(fanout.started) {
            // What the ResultWriter reports as the child's input.
            *slot = input;
        }
        fanout.running = fanout.started;
        fanout.started += 1;
        fanout.in_progress += 1;
        let outer: &'a Variables<'a> = self.arena.alloc(variables);
        self.frames.push(Frame {
            state: self.program.graph(graph).start,
            input,
            variables: Variables {
                local: &[],
                outer: Some(outer),
            },
            entered_event: 0,
            entered_ms: self.now_ms,
            retries: &mut [],
            phase: Phase::Enter,
            tip: 0,
        });
        Ok(())
    }

    /// Runs the next children of the Parallel/Map state in frame `top` whose graph is
    /// [`GraphDef::frameless`] (of a Map, when it has no `ItemSelector`), one after another,
    /// without frames: the events and outputs are those the child would give in a frame.
    /// Stops at the first child that needs a frame or would fail (the computation is pure:
    /// [`start_child`](Self::start_child) runs it again in a frame, which reports the
    /// failure with the right `entered at the event id #N`), and when the history passes
    /// its limit (then returns true: the main loop reports it).
    fn run_frameless_children(&mut self, top: usize) -> bool {
        let (program, arena) = (self.program, self.arena);
        let state = program.state(self.frames[top].state);
        let variables = self.frames[top].variables;
        // Where the children's graphs and inputs come from, looked up once. A Map with an
        // `ItemSelector` runs its iterations in frames.
        let (children, total, mut index) = match (&state.op, &self.frames[top].phase) {
            (Op::Map(map), Phase::Map(f)) if map.item_selector.is_none() => {
                let processor = program.graph(map.processor);
                if !processor.frameless {
                    return false;
                }
                (
                    Children::Items(program.state(processor.start), f.items),
                    f.total,
                    f.started,
                )
            }
            (Op::Parallel { branches }, Phase::Parallel(f)) => {
                (Children::Branches(branches, f.input), f.total, f.started)
            }
            _ => return false,
        };
        if let (Children::Items(child, items), None) = (&children, &self.history) {
            if let Some(template) = child.output_template() {
                return self.map_template_items(top, template, items, index);
            }
        }
        let is_map = matches!(children, Children::Items(..));
        while index < total {
            let (child, input) = match children {
                Children::Items(child, items) => (child, items[index]),
                Children::Branches(branches, input) => {
                    let graph = program.graph(branches[index]);
                    if !graph.frameless {
                        return false;
                    }
                    (program.state(graph.start), input)
                }
            };
            // A failure, the output's size limit included, is run again in a frame, which
            // fails as the state does.
            let Ok(output) = pass_output(arena, child, input, variables, Value::EMPTY_OBJECT, self.max_depth) else {
                return false;
            };
            if self.exceeds_limits(output) {
                return false;
            }
            if self.history.is_none() {
                // Nobody records the child's events: they are only counted.
                self.events += if is_map { MAP_ITEM_EVENTS } else { BRANCH_EVENTS };
            } else {
                let iteration = |_: &_| EventDetail::MapIteration { index: index as u32 };
                if is_map {
                    self.record(
                        "MapIterationStarted",
                        Some(state.name),
                        EventData::None,
                        Link::Chain,
                        iteration,
                    );
                } else {
                    self.tip = self.fanout_mut(top).started_event;
                }
                self.event(child.entered_event, Some(child.name), EventData::Input(input));
                self.event(child.exited_event, Some(child.name), EventData::Output(output));
                if is_map {
                    self.record(
                        "MapIterationSucceeded",
                        Some(state.name),
                        EventData::None,
                        Link::Side,
                        iteration,
                    );
                    self.fanout_mut(top).last_end = self.events;
                }
            }
            let fanout = self.fanout_mut(top);
            fanout.results[index] = output;
            index += 1;
            fanout.started = index;
            if self.past_event_limit() {
                return true;
            }
        }
        false
    }

    /// [`run_frameless_children`](Self::run_frameless_children) for the usual Map, with no
    /// history: each of `items` from `index` on gives the processor's `Parameters`, in one
    /// tight loop.
    fn map_template_items(
        &mut self,
        top: usize,
        template: &'a Template,
        items: &'a [Value<'a>],
        mut index: usize,
    ) -> bool {
        let (arena, variables, max_depth) = (self.arena, self.frames[top].variables, self.max_depth);
        let (Phase::Map(fanout) | Phase::Parallel(fanout)) = &mut self.frames[top].phase else {
            return false;
        };
        while let Some(&input) = items.get(index) {
            let scope = Scope {
                input,
                context: Value::EMPTY_OBJECT,
                variables,
            };
            // A failure, the size limit's included, is run again in a frame.
            let Ok(output) = template.eval(arena, &scope) else {
                return false;
            };
            if output.exceeds(PAYLOAD_LIMIT, max_depth) {
                return false;
            }
            fanout.results[index] = output;
            index += 1;
            fanout.started = index;
            self.events += MAP_ITEM_EVENTS;
            // `past_event_limit` spelled out: `fanout` still borrows the frames.
            if self.events > MAX_EVENTS {
                return true;
            }
        }
        false
    }

    /// All children of frame `top`'s Parallel/Map state have finished: complete the state
    /// with their outputs.
    fn finish_fanout(&mut self, top: usize) -> Result<Flow, Failure> {
        let phase = std::mem::replace(&mut self.frames[top].phase, Phase::Attempt);
        let (Phase::Parallel(f) | Phase::Map(f)) = phase else {
            unreachable!("finish_fanout on a Parallel or Map frame")
        };
        let results: &'a mut [Value<'a>] = std::mem::take(&mut f.results);
        // MapStateSucceeded and MapStateExited follow the last MapIterationSucceeded;
        // ParallelStateSucceeded and ParallelStateExited the last branch's last event.
        if f.last_end != 0 {
            self.tip = f.last_end;
        }
        let results = Value::array(results);
        let state = self.program.state(self.frames[top].state);
        if let (Op::Map(map), Some(map_run)) = (&state.op, f.map_run) {
            let layout = super::distributed::ResultLayout {
                input: f.input,
                items: f.items,
                inputs: f.inputs,
                failed: f.failed,
                started_ms: f.started_ms,
            };
            return self.finish_map_run(top, map, map_run, results, layout);
        }
        self.fanout_succeeded(top, state, results)
    }

    /// A Parallel or Map state's children have all finished (and a Distributed Map's
    /// results are written): `...StateSucceeded`, then it completes with `results`.
    pub(super) fn fanout_succeeded(
        &mut self,
        top: usize,
        state: &'a StateDef,
        results: Value<'a>,
    ) -> Result<Flow, Failure> {
        let succeeded = if state.type_name == "Map" {
            "MapStateSucceeded"
        } else {
            "ParallelStateSucceeded"
        };
        self.record(succeeded, Some(state.name), EventData::None, Link::Side, |_| {
            EventDetail::None
        });
        if self.exceeds_limits(results) {
            return Err(self.limit_failure(top, results));
        }
        self.complete(top, state, results)
    }

    /// Evaluates a Map state's items (`read`: those its `ItemReader` read) and limits.
    pub(super) fn start_map(
        &self,
        top: usize,
        map: &'a MapDef,
        raw_input: Value<'a>,
        after_input_path: Value<'a>,
        context: Value<'a>,
        read: Option<&'a [Value<'a>]>,
    ) -> Result<Fanout<'a>, EvalError> {
        let state = self.program.state(self.frames[top].state);
        let input = self.payload_input(top, after_input_path, context, None);
        let items = match (read, state.language, &map.items) {
            (Some(items), _, _) => items,
            (None, QueryLanguage::Jsonata, Some(items)) => {
                let value = items.eval(self.arena, &input)?;
                match value {
                    Value::Array(items, _) => items,
                    other => {
                        let expr = match items {
                            Payload::Jsonata(crate::payload::JsonataTemplate::Expr(e), _) => e.text().to_string(),
                            _ => other.to_json_string(),
                        };
                        return Err(EvalError::new(
                            names::QUERY_EVALUATION_ERROR,
                            format!(
                                "The JSONata expression '{expr}' specified for the field 'Items' returned an unexpected result type. Expected 'array', but was '{}' for value: {other}",
                                other.type_name()
                            ),
                        ));
                    }
                }
            }
            (None, _, _) => {
                let value = match &map.items_path {
                    PathSpec::Path(p) => p.eval(self.arena, &input.scope)?,
                    _ => {
                        if state.language == QueryLanguage::Jsonata {
                            raw_input
                        } else {
                            after_input_path
                        }
                    }
                };
                match value {
                    Value::Array(items, _) => items,
                    other => {
                        let error = if state.language == QueryLanguage::Jsonata {
                            names::QUERY_EVALUATION_ERROR
                        } else {
                            names::RUNTIME
                        };
                        return Err(EvalError::new(
                            error,
                            format!("Map state input must be an array but was: {other}"),
                        ));
                    }
                }
            }
        };
        let env = input.jsonata_env();
        let max_concurrency = match &map.max_concurrency {
            Some(spec) => {
                let n = self.number(spec, &input.scope, &env, true)?;
                if n < 0.0 {
                    return Err(EvalError::runtime("MaxConcurrency cannot be negative."));
                }
                n as usize
            }
            None => 0,
        };
        let tolerated_count = match &map.tolerated_failure_count {
            Some(spec) => {
                let n = self.number(spec, &input.scope, &env, true)?;
                if n < 0.0 {
                    return Err(EvalError::runtime("ToleratedFailureCount cannot be negative."));
                }
                Some(n as u64)
            }
            None => None,
        };
        let tolerated_percentage = match &map.tolerated_failure_percentage {
            Some(spec) => {
                let p = self.number(spec, &input.scope, &env, false)?;
                if !(0.0..=100.0).contains(&p) {
                    return Err(EvalError::runtime(
                        "ToleratedFailurePercentage must be between 0 and 100.",
                    ));
                }
                Some(p)
            }
            None => None,
        };
        let items = match &map.batcher {
            Some(batcher) => self.batch(batcher, items, &input, &env)?,
            None => items,
        };
        let (inputs, failed): (&'a mut [Value<'a>], &'a mut [bool]) = match &map.writer {
            Some(_) => (
                self.arena.alloc_slice_fill_copy(items.len(), Value::Null),
                self.arena.alloc_slice_fill_copy(items.len(), false),
            ),
            None => (&mut [], &mut []),
        };
        Ok(Fanout {
            tolerated_count,
            tolerated_percentage,
            inputs,
            failed,
            started_ms: self.now_ms,
            ..Fanout::new(self.arena, after_input_path, items, items.len(), max_concurrency)
        })
    }

    /// Groups items into batches (`ItemBatcher`): `{"Items": [...], ...BatchInput}`.
    fn batch(
        &self,
        batcher: &'a BatcherDef,
        items: &'a [Value<'a>],
        input: &PayloadInput<'a>,
        env: &JsonataEnv<'a>,
    ) -> Result<&'a [Value<'a>], EvalError> {
        let size = match &batcher.max_items_per_batch {
            Some(spec) => self.number(spec, &input.scope, env, true)?.max(1.0) as usize,
            None => items.len().max(1),
        };
        let batch_input = match &batcher.batch_input {
            Some(p) => Some(p.eval(self.arena, input)?),
            None => None,
        };
        let max_bytes = match &batcher.max_input_bytes_per_batch {
            Some(spec) => Some(self.number(spec, &input.scope, env, true)?.max(1.0) as usize),
            None => None,
        };
        let a = self.arena;
        let batch = |chunk: &'a [Value<'a>]| {
            let mut members: SmallVec<[Member<'a>; 2]> = SmallVec::new();
            if let Some(Value::Object(extra, _)) = batch_input {
                members.push(("BatchInput", Value::object(extra)));
            }
            members.push(("Items", Value::array(chunk)));
            a.object(&members)
        };
        let Some(max_bytes) = max_bytes else {
            return Ok(a.alloc_slice_fill_iter(items.chunks(size).map(batch)));
        };
        // Each batch takes items while it has fewer than `size` and its input stays within
        // `max_bytes` (a batch has at least one item).
        let empty = batch(&[]).json_len();
        let mut batches = Vec::new();
        let mut start = 0;
        while start < items.len() {
            let mut bytes = empty + items[start].json_len();
            let mut end = start + 1;
            while end < items.len() && end - start < size {
                // The next item and its comma.
                bytes += items[end].json_len() + 1;
                if bytes > max_bytes {
                    break;
                }
                end += 1;
            }
            batches.push(batch(&items[start..end]));
            start = end;
        }
        Ok(a.alloc_slice_copy(&batches))
    }
}

/// `$$.Map.Item.Source` of a Map whose items are its input.
const STATE_DATA: &str = "STATE_DATA";

/// Adds `Map.Item` (`Index`, `Value` and, when known, `Source`) to a context object.
fn with_map_item<'a>(
    arena: &'a Arena,
    context: Value<'a>,
    index: usize,
    item: Value<'a>,
    source: Option<&'a str>,
) -> Value<'a> {
    let index = ("Index", Value::int(index as i64));
    let item = match source {
        Some(source) => arena.object(&[index, ("Value", item), ("Source", Value::String(source))]),
        None => arena.object(&[index, ("Value", item)]),
    };
    with_member(arena, context, "Map", arena.object(&[("Item", item)]))
}
