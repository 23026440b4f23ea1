//! The states' work, from a state's input to its exit: each kind of state's attempt, the
//! chains of simple states run in one step, Choice, Wait and the states' outputs.

use std::borrow::Cow;

use crate::choice::{Decision, Lookups};
use crate::error::{names, EvalError};
use crate::history::{EventData, EventDetail};
use crate::model::QueryLanguage;
use crate::payload::{JsonataExpr, NumberSpec, Payload, PayloadInput, StringSource};
use crate::program::*;
use crate::scope::{Scope, Variables};
use crate::timestamp::parse_timestamp;
use crate::value::{Arena, Value};

use super::eval::{apply_result_path, eval_number, select_path};
use super::fanout::Fanout;
use super::limits::{discarded_within_limit, within_payload_limit};
use super::{Execution, Failure, Flow, Link, Phase};

impl<'a> Execution<'a> {
    /// Does the current state's work, from its raw input to its result.
    pub(super) fn attempt(&mut self, top: usize) -> Result<Flow, Failure> {
        let program = self.program;
        let state = program.state(self.frames[top].state);
        if state.chained {
            return self.attempt_chain(top, state);
        }
        if state.issues_token {
            return self.attempt_token_task(top, state);
        }
        let context = self.context(top);
        self.attempt_in(top, state, context)
    }

    /// [`attempt`](Self::attempt) past its dispatch, reading `context` (`$$`).
    #[inline(always)]
    pub(super) fn attempt_in(&mut self, top: usize, state: &'a StateDef, context: Value<'a>) -> Result<Flow, Failure> {
        let raw_input = self.frames[top].input;
        let jsonpath = state.language == QueryLanguage::JsonPath;

        // InputPath, then Parameters (JSONPath) or Arguments (JSONata): the effective input.
        let after_input_path = if jsonpath {
            self.eval_path(top, &state.input_path, raw_input, context)?
        } else {
            raw_input
        };
        let effective = match &state.parameters {
            Some(p) => {
                let effective = self.eval_payload(top, p, &self.payload_input(top, after_input_path, context, None))?;
                self.within_limit(top, effective)?
            }
            None => after_input_path,
        };

        match &state.op {
            Op::Pass { result } => {
                let result = result.unwrap_or(effective);
                self.complete(top, state, result)
            }
            Op::Task(task) => {
                // TimeoutSeconds(Path) and HeartbeatSeconds(Path) are evaluated (and fail as
                // AWS fails them); they apply to a task that answers later. A handler that
                // answers at once never times out.
                let (timeout_seconds, heartbeat_seconds) = match (&task.timeout, &task.heartbeat) {
                    (None, None) => (None, None),
                    (timeout, heartbeat) => {
                        let input = self.payload_input(top, raw_input, context, None);
                        let env = input.jsonata_env();
                        (
                            self.task_seconds(top, timeout.as_ref(), &input, &env)?,
                            self.task_seconds(top, heartbeat.as_ref(), &input, &env)?,
                        )
                    }
                };
                self.run_task(top, state, task, effective, timeout_seconds, heartbeat_seconds)
            }
            Op::Choice {
                rules,
                decision,
                default,
            } => {
                let frame = &self.frames[top];
                let scope = Scope {
                    input: after_input_path,
                    context,
                    variables: frame.variables,
                };
                let arena = self.arena;
                // Only JSONata conditions read `$states`: built once, when the first one runs.
                let mut env = None;
                let mut jsonata = |e: &'a JsonataExpr| {
                    let env =
                        env.get_or_insert_with(|| self.payload_input(top, raw_input, context, None).jsonata_env());
                    e.eval(arena, env, "Condition")
                };
                let mut lookups = Lookups::new(arena, &scope, &mut jsonata, decision);
                let (chosen, next) = self.pick(top, rules, decision, *default, &mut lookups)?;
                self.choose(top, chosen, next, raw_input, after_input_path, context)
            }
            Op::Wait(wait) => {
                let until_ms = self
                    .wait_until(top, wait, after_input_path, context)
                    .map_err(|e| self.eval_failure(top, e))?;
                self.frames[top].phase = Phase::Waiting {
                    until_ms,
                    result: effective,
                };
                Ok(Flow::Continue)
            }
            Op::Succeed => {
                let output = match state.language {
                    QueryLanguage::JsonPath => self.eval_path(top, &state.output_path, after_input_path, context)?,
                    QueryLanguage::Jsonata => self.output(top, raw_input, raw_input, context)?,
                };
                self.exited_event("SucceedStateExited", state.name, output);
                self.end_frame(Ok(output))
            }
            Op::Fail { error, cause } => {
                let error = self.fail_field(top, error.as_ref(), raw_input, context)?;
                let cause = self.fail_field(top, cause.as_ref(), raw_input, context)?;
                self.end_frame(Err(Failure::new(error.map(Cow::Owned), cause)))
            }
            Op::Parallel { branches } => {
                self.event("ParallelStateStarted", Some(state.name), EventData::None);
                let mut fanout = Fanout::new(self.arena, effective, &[], branches.len(), 0);
                // Every branch's first event follows ParallelStateStarted.
                fanout.started_event = self.events;
                self.frames[top].phase = Phase::Parallel(self.arena.alloc(fanout));
                self.schedule(top)
            }
            Op::Map(map) => {
                if let Some(reader) = &map.reader {
                    return self.start_reading(top, map, reader, raw_input, after_input_path, context);
                }
                let mut fanout = self
                    .start_map(top, map, raw_input, after_input_path, context, None)
                    .map_err(|e| self.eval_failure(top, e))?;
                let length = fanout.total as u32;
                self.record(
                    "MapStateStarted",
                    Some(state.name),
                    EventData::None,
                    Link::Chain,
                    |_| EventDetail::MapStarted { length },
                );
                if map.distributed {
                    let map_run = self.map_run_arn(map);
                    self.map_run_started(state, map_run);
                    fanout.map_run = Some(map_run);
                }
                self.frames[top].phase = Phase::Map(self.arena.alloc(fanout));
                self.schedule(top)
            }
        }
    }

    /// [`attempt`](Self::attempt) for a [`StateDef::chained`] state (a pure Pass, a plain
    /// Choice, a plain Succeed or a plain Task): each takes one step from its input to its
    /// exit (a task that answers later parks the frame instead, which ends the chain). Apart,
    /// so that `attempt` stays small for the other states. A chain of such states runs here,
    /// one after another, as [`resume`](Self::resume) would run them.
    #[inline(never)]
    fn attempt_chain(&mut self, top: usize, mut state: &'a StateDef) -> Result<Flow, Failure> {
        loop {
            let flow = if state.pure_pass {
                self.pass_run(top, state)?
            } else if let (true, Op::Task(task)) = (state.plain_task, &state.op) {
                self.attempt_plain_task(top, state, task)?
            } else {
                self.choice_or_succeed_step(top, state)?
            };
            match (&flow, self.next_chained(top)) {
                (Flow::Continue, Some(next)) => {
                    self.enter(top);
                    state = next;
                }
                _ => return Ok(flow),
            }
        }
    }

    /// [`attempt_chain`](Self::attempt_chain) for a run of pure Pass states, frame `top`'s
    /// current one first: each state's output is the next one's input. When nobody records
    /// history and the program never reads the context object, nothing reads the frame
    /// between two such states, so the state, its input and its entered event stay in locals
    /// and the frame is brought up to date only when the run stops: at a state of another
    /// kind (left to enter, as [`exit`](Self::exit) leaves it), at the end of the graph, at
    /// the history limit, or on a failure.
    #[inline(always)]
    fn pass_run(&mut self, top: usize, mut state: &'a StateDef) -> Result<Flow, Failure> {
        let frame = &self.frames[top];
        let (mut input, variables, mut id) = (frame.input, frame.variables, frame.state);
        let lazy = self.history.is_none() && !self.program.uses_context;
        loop {
            let output = match pass_output(self.arena, state, input, variables, self.context(top), self.max_depth) {
                Ok(output) if !self.exceeds_limits(output) => output,
                failed => {
                    self.stamp_entered(top, id, input);
                    return Err(match failed {
                        Err(e) => self.eval_failure(top, e),
                        Ok(output) => self.limit_failure(top, output),
                    });
                }
            };
            self.event(state.exited_event, Some(state.name), EventData::Output(output));
            let Next::State(next_id) = state.next else {
                return self.end_frame(Ok(output));
            };
            let next = self.program.state(next_id);
            if !next.pure_pass || self.past_event_limit() {
                self.go_to(top, next_id, output);
                return Ok(Flow::Continue);
            }
            if lazy {
                // `enter` in short: only the event count moves; the frame waits.
                self.events += 1;
            } else {
                self.go_to(top, next_id, output);
                self.enter(top);
            }
            (state, input, id) = (next, output, next_id);
        }
    }

    /// Brings frame `top` up to date with a [`pass_run`](Self::pass_run) that kept its state
    /// `id` and `input` in locals: entered at the last event counted (nothing is recorded
    /// between a Pass state's entered event and its failure), now being attempted.
    #[cold]
    fn stamp_entered(&mut self, top: usize, id: StateId, input: Value<'a>) {
        let entered_event = self.events;
        let frame = &mut self.frames[top];
        frame.state = id;
        frame.input = input;
        frame.entered_event = entered_event;
        frame.phase = Phase::Attempt;
    }

    /// The step of [`attempt_chain`](Self::attempt_chain) for a plain Choice or a plain
    /// Succeed state.
    #[inline(never)]
    fn choice_or_succeed_step(&mut self, top: usize, state: &'a StateDef) -> Result<Flow, Failure> {
        let frame = &self.frames[top];
        let (input, variables) = (frame.input, frame.variables);
        let context = self.context(top);
        match &state.op {
            Op::Choice {
                rules,
                decision,
                default,
            } => {
                let scope = Scope {
                    input,
                    context,
                    variables,
                };
                // JSONPath rules have no JSONata conditions to evaluate
                let mut jsonata = |_: &'a JsonataExpr| Err(EvalError::runtime("JSONata condition in JSONPath"));
                let mut lookups = Lookups::new(self.arena, &scope, &mut jsonata, decision);
                let (_, next) = self.pick(top, rules, decision, *default, &mut lookups)?;
                self.exited_event(state.exited_event, state.name, input);
                self.go_to(top, next, input);
                Ok(Flow::Continue)
            }
            // a plain Succeed
            _ => {
                let output = self.eval_path(top, &state.output_path, input, context)?;
                self.exit(top, state, output)
            }
        }
    }

    /// The [`StateDef::chained`] state that frame `top` enters next, when
    /// [`resume`](Self::resume) would step into it right away: the frame is still the top
    /// one, and neither the history limit nor the deadline stops the execution first.
    #[inline]
    fn next_chained(&self, top: usize) -> Option<&'a StateDef> {
        if self.frames.len() != top + 1 || self.past_event_limit() || self.past_deadline() {
            return None;
        }
        let frame = &self.frames[top];
        let state = self.program.state(frame.state);
        (matches!(frame.phase, Phase::Enter) && state.chained).then_some(state)
    }

    /// The rule a Choice state's `decision` picks and the state it goes to: the rule's
    /// `Next`, else `default`, else the state fails with States.NoChoiceMatched.
    #[inline]
    fn pick(
        &self,
        top: usize,
        rules: &'a [ChoiceRuleDef],
        decision: &'a Decision,
        default: Option<StateId>,
        lookups: &mut Lookups<'a, '_>,
    ) -> Result<(Option<&'a ChoiceRuleDef>, StateId), Failure> {
        let chosen = decision
            .decide(lookups)
            .map_err(|e| self.eval_failure(top, e))?
            .map(|rule| &rules[rule]);
        match (chosen, default) {
            (Some(rule), _) => Ok((chosen, rule.next)),
            (None, Some(default)) => Ok((None, default)),
            (None, None) => Err(self.eval_failure(
                top,
                EvalError::new(
                    names::NO_CHOICE_MATCHED,
                    "No Choice rule matched and no Default was specified.",
                ),
            )),
        }
    }

    /// Evaluates a Fail state's `Error`/`Cause`.
    fn fail_field(
        &self,
        top: usize,
        source: Option<&'a StringSource>,
        raw_input: Value<'a>,
        context: Value<'a>,
    ) -> Result<Option<String>, Failure> {
        let Some(source) = source else {
            return Ok(None);
        };
        let input = self.payload_input(top, raw_input, context, None);
        let value = match source {
            StringSource::Literal(s) => return Ok(Some((*s).to_string())),
            StringSource::Path(p, _) => p.eval(self.arena, &input.scope),
            StringSource::Jsonata(e, field) => e.eval(self.arena, &input.jsonata_env(), field),
        }
        .map_err(|e| self.eval_failure(top, e))?;
        Ok(Some(match value {
            Value::String(s) => s.to_string(),
            other => other.to_json_string(),
        }))
    }

    /// A Choice picked `next`, through `rule` (whose Assign/Output replace the state's) or
    /// through `Default`.
    fn choose(
        &mut self,
        top: usize,
        rule: Option<&'a ChoiceRuleDef>,
        next: StateId,
        raw_input: Value<'a>,
        after_input_path: Value<'a>,
        context: Value<'a>,
    ) -> Result<Flow, Failure> {
        let state = self.program.state(self.frames[top].state);
        let output = match state.language {
            QueryLanguage::JsonPath => self.eval_path(top, &state.output_path, after_input_path, context)?,
            QueryLanguage::Jsonata => match rule.and_then(|r| r.output.as_ref()).or(state.output.as_ref()) {
                Some(p) => self.eval_payload(top, p, &self.payload_input(top, raw_input, context, None))?,
                None => raw_input,
            },
        };
        let assign = match rule {
            Some(rule) => rule.assign.as_ref(),
            None => state.assign.as_ref(),
        };
        self.assign(top, assign, after_input_path, context, None)?;
        self.exited_event("ChoiceStateExited", state.name, output);
        self.go_to(top, next, output);
        Ok(Flow::Continue)
    }

    /// Completes frame `top`'s `state` with `result`: output processing, Assign, the exit
    /// event and the transition.
    pub(super) fn complete(&mut self, top: usize, state: &'a StateDef, result: Value<'a>) -> Result<Flow, Failure> {
        let output = if state.plain_io {
            result
        } else {
            self.process_result(top, state, result)?
        };
        self.exit(top, state, output)
    }

    /// Leaves frame `top`'s `state` with its `output`: the exit event and the transition.
    #[inline(always)]
    fn exit(&mut self, top: usize, state: &'a StateDef, output: Value<'a>) -> Result<Flow, Failure> {
        if self.exceeds_limits(output) {
            return Err(self.limit_failure(top, output));
        }
        self.exited_event(state.exited_event, state.name, output);
        match state.next {
            Next::State(next) => {
                self.go_to(top, next, output);
                Ok(Flow::Continue)
            }
            Next::End => self.end_frame(Ok(output)),
        }
    }

    /// The output of frame `top`'s `state` from its `result`, and its `Assign`: what
    /// [`complete`](Self::complete) does unless the state's input and output processing is
    /// all defaults.
    fn process_result(&mut self, top: usize, state: &'a StateDef, result: Value<'a>) -> Result<Value<'a>, Failure> {
        let raw_input = self.frames[top].input;
        let context = self.context(top);
        if matches!(state.op, Op::Pass { result: Some(_) }) && self.exceeds_limits(result) {
            return Err(self.limit_failure(top, result));
        }
        let output = match (&state.op, state.language) {
            // Pass and Wait without Output pass their input on in JSONata.
            (Op::Pass { .. } | Op::Wait(_), QueryLanguage::Jsonata) if state.output.is_none() => raw_input,
            _ => self.output(top, raw_input, result, context)?,
        };
        let extra = match state.op {
            Op::Task(_) | Op::Parallel { .. } | Op::Map(_) => Some(("result", result)),
            _ => None,
        };
        self.assign(top, state.assign.as_ref(), result, context, extra)?;
        Ok(output)
    }

    /// When a Wait state's wait ends (epoch ms).
    fn wait_until(
        &self,
        top: usize,
        wait: &'a WaitDef,
        input: Value<'a>,
        context: Value<'a>,
    ) -> Result<i64, EvalError> {
        let until_ms = wait_until_ms(
            self.arena,
            wait,
            &self.payload_input(top, input, context, None),
            self.now_ms,
        )?;
        if self.wait_time_scale == 1.0 {
            return Ok(until_ms);
        }
        let scaled = (until_ms.saturating_sub(self.now_ms)).max(0) as f64 * self.wait_time_scale;
        Ok(self.now_ms.saturating_add(scaled as i64))
    }
}

/// When a Wait state's wait ends (epoch ms), it being `now_ms`, its fields evaluated against
/// `payload_input` (the input after `InputPath`).
pub(crate) fn wait_until_ms<'a>(
    arena: &'a Arena,
    wait: &'a WaitDef,
    payload_input: &PayloadInput<'a>,
    now_ms: i64,
) -> Result<i64, EvalError> {
    let scope = payload_input.scope;
    let env = payload_input.jsonata_env();
    match wait {
        WaitDef::Seconds(NumberSpec::Path(path, _)) => {
            let value = path.eval_opt(arena, &scope).ok_or_else(|| {
                EvalError::runtime(format!(
                    "The SecondsPath parameter does not reference an input value: {}",
                    path.text()
                ))
            })?;
            let n = value.as_number().filter(|n| n.is_integral()).ok_or_else(|| {
                EvalError::runtime(format!(
                    "The SecondsPath parameter cannot be parsed as a long value: {} == {value}",
                    path.text()
                ))
            })?;
            if n.as_f64() < 0.0 {
                return Err(EvalError::runtime(format!(
                    "The SecondsPath parameter references a negative value: {} == {value}",
                    path.text()
                )));
            }
            Ok(now_ms.saturating_add((n.as_f64() * 1000.0) as i64))
        }
        WaitDef::Seconds(spec) => {
            let seconds = eval_number(arena, spec, &scope, &env, true)?;
            Ok(now_ms.saturating_add((seconds.max(0.0) * 1000.0) as i64))
        }
        WaitDef::Timestamp(ms) => Ok(*ms),
        WaitDef::TimestampPath(path) => {
            let value = path.eval(arena, &scope)?;
            timestamp_ms(value).map_err(|text| {
                    EvalError::runtime(format!(
                        "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {} == {text}",
                        path.text()
                    ))
                })
        }
        WaitDef::TimestampExpr(payload) => {
            let value = payload.eval(arena, payload_input)?;
            timestamp_ms(value).map_err(|text| {
                    EvalError::new(
                        names::QUERY_EVALUATION_ERROR,
                        format!("The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: {text}"),
                    )
                })
        }
    }
}

/// A Wait timestamp in epoch milliseconds, or the text that is not one.
fn timestamp_ms(value: Value<'_>) -> Result<i64, String> {
    let text = match value {
        Value::String(s) => s.to_string(),
        other => other.to_json_string(),
    };
    parse_timestamp(&text)
        .map(|nanos| (nanos / 1_000_000) as i64)
        .ok_or(text)
}

/// The output of a [`StateDef::pure_pass`] state from its raw `input`: InputPath,
/// Parameters, `Result` (checked against the payload limit), ResultPath and OutputPath,
/// with the errors in AWS's order. Pure (an object a ResultPath extends in place in the arena
/// is only ever handed out anew), so a frameless child that fails can be run again in a frame.
#[inline(always)]
pub(super) fn pass_output<'a>(
    arena: &'a Arena,
    state: &'a StateDef,
    input: Value<'a>,
    variables: Variables<'a>,
    context: Value<'a>,
    max_depth: usize,
) -> Result<Value<'a>, EvalError> {
    let scope = |input| Scope {
        input,
        context,
        variables,
    };
    // The usual Pass: `Parameters`, perhaps a `ResultPath`, nothing else.
    if state.parameters_pass {
        if let Some(Payload::Template(parameters)) = &state.parameters {
            // The output holds the effective input whole, and `exit` checks the output, unless
            // the ResultPath is `null`.
            let effective = parameters.eval(arena, &scope(input))?;
            return match &state.result_path {
                PathSpec::Whole => Ok(effective),
                PathSpec::Null => discarded_within_limit(state, input, effective, max_depth),
                PathSpec::Path(path) => path.set(arena, input, effective),
            };
        }
    }
    pass_output_in_full(arena, state, input, scope, max_depth)
}

/// [`pass_output`] past its usual case, every field applied (out of line, so that the usual
/// case stays small where it is inlined).
#[inline(never)]
fn pass_output_in_full<'a>(
    arena: &'a Arena,
    state: &'a StateDef,
    input: Value<'a>,
    scope: impl Fn(Value<'a>) -> Scope<'a>,
    max_depth: usize,
) -> Result<Value<'a>, EvalError> {
    let effective = match &state.input_path {
        PathSpec::Whole => input,
        spec => select_path(arena, spec, &scope(input))?,
    };
    let effective = match &state.parameters {
        Some(parameters) => within_payload_limit(
            state,
            parameters.eval(
                arena,
                &PayloadInput {
                    scope: scope(effective),
                    states: Value::Null,
                    // a JSONPath template reads no limit of JSONata's
                    limits: crate::limits::Limits::default_ref(),
                },
            )?,
            max_depth,
        )?,
        None => effective,
    };
    let result = match state.op {
        Op::Pass { result: Some(result) } => within_payload_limit(state, result, max_depth)?,
        _ => effective,
    };
    let merged = apply_result_path(arena, &state.result_path, input, result)?;
    match &state.output_path {
        PathSpec::Whole => Ok(merged),
        spec => select_path(arena, spec, &scope(merged)),
    }
}
