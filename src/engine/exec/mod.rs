//! The interpreter: runs a [`Program`] for one execution, inline, until it completes or
//! suspends (a Wait, a retry back-off, a task that answers later). A suspension is returned
//! as a value ([`Step::Suspended`], [`Step::AwaitingTask`]); the driver resumes the
//! execution at its deadline, or once it has delivered the task's answer.
//!
//! An execution is a stack of frames: the top level, and one per running Parallel branch or
//! Map iteration. Branches and iterations run one at a time; one that suspends (a Wait, a
//! back-off, a task that answers later) is parked in its Parallel/Map frame while its
//! siblings go on (within Map's `MaxConcurrency`), so they wait together, and several tasks
//! of one execution may be awaited at once. All of its values live in one arena.

use std::borrow::Cow;

use bumpalo::collections::Vec as BumpVec;
use smallvec::SmallVec;

use crate::error::{names, EvalError};
use crate::history::{EventData, EventDetail, HistoryEvent, HistorySink};
use crate::limits::Limits;
use crate::machine::{Machine, TaskBinding};
use crate::model::QueryLanguage;
use crate::program::*;
use crate::scope::Variables;
use crate::tasks::{TaskRegistry, TaskToken, TokenIssuer};
use crate::value::{Arena, ArenaExt, Member, SourceText, Value};

mod distributed;
mod eval;
mod fanout;
mod limits;
mod relocate;
mod states;
mod task;

// What TestState (`crate::test_state`) evaluates one state with, as executions do.
use distributed::MapIo;
pub(crate) use eval::{apply_result_path, eval_number, select_path};
use fanout::Fanout;
pub(crate) use states::wait_until_ms;
use task::AwaitedTask;
pub(crate) use task::{lambda_error_cause, lambda_invoke_result, spaced_json, task_seconds};

pub use crate::limits::{EXECUTION_VARIABLES_LIMIT, MAX_EVENTS, PAYLOAD_LIMIT, VARIABLE_LIMIT};

/// A Task's `TimeoutSeconds` and `HeartbeatSeconds` when the definition gives none (AWS's
/// default for both).
pub const DEFAULT_TASK_TIMEOUT_SECONDS: i64 = 99_999_999;

/// How an execution ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// It succeeded.
    Succeeded,
    /// It failed.
    Failed,
    /// It ran past its `TimeoutSeconds`.
    TimedOut,
    /// It was stopped from outside.
    Aborted,
}

impl Status {
    /// AWS's spelling: `SUCCEEDED`, `FAILED`, `TIMED_OUT`, `ABORTED`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Succeeded => "SUCCEEDED",
            Status::Failed => "FAILED",
            Status::TimedOut => "TIMED_OUT",
            Status::Aborted => "ABORTED",
        }
    }

    /// The history event that ends an execution so: `ExecutionSucceeded`,
    /// `ExecutionFailed`, `ExecutionTimedOut` or `ExecutionAborted`.
    pub fn ended_event_type(self) -> &'static str {
        match self {
            Status::Succeeded => "ExecutionSucceeded",
            Status::Failed => "ExecutionFailed",
            Status::TimedOut => "ExecutionTimedOut",
            Status::Aborted => "ExecutionAborted",
        }
    }
}

/// An execution's outcome, with its output still in the arena.
#[derive(Clone, Debug)]
pub struct RawOutcome<'a> {
    /// How it ended.
    pub status: Status,
    /// The output, when it succeeded.
    pub output: Option<Value<'a>>,
    /// The error name, when it failed (absent when the failure had none).
    pub error: Option<String>,
    /// The cause, when it failed with one.
    pub cause: Option<String>,
    /// The text of the input's containers, which [`write_output`](Self::write_output)
    /// copies where the output holds them unchanged ([`Execution::with_source`]).
    pub source: SourceText<'a>,
}

impl RawOutcome<'_> {
    /// Appends the output's compact JSON text to `out` (nothing when there is none).
    pub fn write_output(&self, out: &mut Vec<u8>) {
        if let Some(output) = self.output {
            output.write_json_from(self.source, out);
        }
    }
}

/// What [`Execution::resume`] returns.
#[derive(Debug)]
pub enum Step<'a> {
    /// The execution ended.
    Done(RawOutcome<'a>),
    /// The execution waits until this time (epoch milliseconds); resume it then.
    Suspended {
        /// When to resume.
        until_ms: i64,
    },
    /// The execution awaits the completion of the task `token` (a handler answered
    /// [`TaskReply::Pending`](crate::tasks::TaskReply::Pending)): deliver it with [`Execution::complete_task`],
    /// [`Execution::fail_task`] or [`Execution::heartbeat_task`] and resume, or resume at
    /// `until_ms` anyway (the task's timeout or heartbeat deadline, or the execution's).
    ///
    /// Parallel branches and Map iterations await their tasks concurrently: `token` is one
    /// of them, and [`Execution::awaited_tokens`] lists them all.
    AwaitingTask {
        /// The token of one awaited task (the one due first).
        token: TaskToken,
        /// When to resume if nothing is delivered (epoch milliseconds): the earliest
        /// deadline of the awaited tasks, the parked Waits and back-offs, and the execution.
        until_ms: i64,
    },
}

/// Facts about an execution that the context object (`$$`) reports.
#[derive(Clone, Debug)]
pub struct ExecutionInfo {
    /// The execution's name.
    pub name: String,
    /// The state machine's name.
    pub state_machine_name: String,
    /// The role ARN reported as `$$.Execution.RoleArn`.
    pub role_arn: String,
    /// Region and account used to build ARNs.
    pub region: String,
    /// Account id used to build ARNs.
    pub account: String,
    /// For an EXPRESS execution, the id that ends its ARN
    /// (`arn:aws:states:REGION:ACCOUNT:express:MACHINE:NAME:ID`); `None` for a STANDARD one.
    /// It also gives the context object's `Execution` AWS's Express form: its members in
    /// Express order and, as for `StartSyncExecution`, no `RedriveCount`.
    pub express_id: Option<String>,
}

impl Default for ExecutionInfo {
    fn default() -> ExecutionInfo {
        ExecutionInfo {
            name: "execution".into(),
            state_machine_name: "StateMachine".into(),
            role_arn: "arn:aws:iam::123456789012:role/quickstep".into(),
            region: "us-east-1".into(),
            account: "123456789012".into(),
            express_id: None,
        }
    }
}

impl ExecutionInfo {
    /// The state machine's ARN.
    pub fn state_machine_arn(&self) -> String {
        format!(
            "arn:aws:states:{}:{}:stateMachine:{}",
            self.region, self.account, self.state_machine_name
        )
    }
    /// The execution's ARN.
    pub fn execution_arn(&self) -> String {
        self.execution_arn_named(&self.name)
    }
    /// The ARN of an execution of this state machine named `name` (an express execution's
    /// form when [`ExecutionInfo::express_id`] is set).
    pub fn execution_arn_named(&self, name: &str) -> String {
        match &self.express_id {
            Some(id) => format!(
                "arn:aws:states:{}:{}:express:{}:{}:{}",
                self.region, self.account, self.state_machine_name, name, id
            ),
            None => format!(
                "arn:aws:states:{}:{}:execution:{}:{}",
                self.region, self.account, self.state_machine_name, name
            ),
        }
    }
}

/// A failure travelling through the interpreter: error name and cause, either may be absent.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Failure(Box<FailureData>);

/// The contents of a [`Failure`].
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct FailureData {
    error: Option<Cow<'static, str>>,
    cause: Option<String>,
}

impl Failure {
    fn new(error: Option<Cow<'static, str>>, cause: Option<String>) -> Failure {
        Failure(Box::new(FailureData { error, cause }))
    }
}

impl std::ops::Deref for Failure {
    type Target = FailureData;
    fn deref(&self) -> &FailureData {
        &self.0
    }
}

/// Where a frame's current state is in its life.
#[derive(Debug)]
enum Phase<'a> {
    /// About to enter the state (the `...StateEntered` event).
    Enter,
    /// Entered: do the state's work (again, after a retry back-off).
    Attempt,
    /// A Wait state waiting; then the state completes with `result`.
    Waiting { until_ms: i64, result: Value<'a> },
    /// Waiting out a retry back-off; then `Attempt` again.
    Backoff { until_ms: i64 },
    /// A Task whose handler answers later: awaits its completion or its deadlines.
    AwaitingTask(AwaitedTask),
    /// The Task of this token was answered later: record the answer (waiting in
    /// [`Execution::task_answers`]) and go on as a Task answered at once does.
    TaskAnswered(TaskToken),
    /// A Parallel state whose branches run in the frame above, one at a time, taking turns
    /// when they suspend.
    Parallel(&'a mut Fanout<'a>),
    /// A Map state whose iterations run in the frame above, one at a time, taking turns when
    /// they suspend (at most `MaxConcurrency` in progress).
    Map(&'a mut Fanout<'a>),
    /// A Distributed Map awaiting a call of its `ItemReader` or `ResultWriter`.
    MapIo(&'a mut MapIo<'a>),
}

/// When a suspended frame can go on (epoch ms), from its phase: the end of its wait or
/// back-off, or for a Parallel/Map frame the earliest of its parked children. `None` when no
/// time wakes it (frames about to enter or attempt a state are never suspended).
fn wake_ms(frame: &Frame<'_>) -> Option<i64> {
    match &frame.phase {
        Phase::Waiting { until_ms, .. } | Phase::Backoff { until_ms } => Some(*until_ms),
        Phase::Parallel(fanout) | Phase::Map(fanout) => fanout.earliest_parked().map(|(_, wake)| wake),
        Phase::AwaitingTask(task) => Some(task.deadline_ms()),
        // Answered: ready now, before any sibling whose time has come.
        Phase::TaskAnswered(_) => Some(i64::MIN),
        Phase::MapIo(io) if io.answered => Some(i64::MIN),
        Phase::MapIo(io) => Some(io.awaited.deadline_ms()),
        Phase::Enter | Phase::Attempt => None,
    }
}

/// Calls `f` on `frame`, then on the frames of its parked children, depth first.
fn visit_frame<'a>(frame: &Frame<'a>, f: &mut dyn FnMut(&Frame<'a>)) {
    f(frame);
    if let Phase::Parallel(fanout) | Phase::Map(fanout) = &frame.phase {
        for child in fanout.parked.iter() {
            visit_frame(&child.frame, f);
        }
    }
}

// Setting a frame's phase and popping a frame must cost nothing: no drop glue.
const _: () = assert!(!std::mem::needs_drop::<Frame<'static>>());

/// One running graph: the top level, a Parallel branch or a Map iteration.
#[derive(Debug)]
struct Frame<'a> {
    state: StateId,
    /// The current state's raw input.
    input: Value<'a>,
    variables: Variables<'a>,
    /// Event id of the current state's `...StateEntered`.
    entered_event: u32,
    /// When the current state was entered (epoch ms).
    entered_ms: i64,
    /// Attempts made per retrier of the current state (in the arena, so that frames have no
    /// drop glue: assigning a phase or popping a frame costs nothing).
    retries: &'a mut [u32],
    phase: Phase<'a>,
    /// While the frame is parked (a suspended Parallel branch or Map iteration): the id of
    /// its last history event, which its next event follows ([`Execution::tip`] is the
    /// running frame's).
    tip: u32,
}

/// How a history event links to the one before it (its `previousEventId`).
#[derive(Clone, Copy)]
enum Link {
    /// Follows the running frame's last event, and becomes it.
    Chain,
    /// Follows the running frame's last event, which stays the last (`MapIterationSucceeded`,
    /// `MapStateSucceeded`, ...: what comes next follows the same event).
    Side,
    /// Follows event `id`; the running frame's last event stays.
    SideFrom(u32),
}

/// What the main loop does next.
enum Flow {
    Continue,
    Suspend(i64),
    AwaitTask(TaskToken, i64),
    /// The top level ended: its output or failure is in [`Execution::ended`] (kept out of
    /// `Flow`, so that every step's result stays small).
    Done,
}

/// One execution of a program: resumable, single-threaded, all values in `arena`.
pub struct Execution<'a> {
    program: &'a Program,
    /// The machine's limits.
    limits: &'a Limits,
    /// What Wait states' waits are multiplied by.
    wait_time_scale: f64,
    /// The deepest a value may be nested ([`Limits::effective_max_value_depth`]).
    max_depth: usize,
    /// What each Task state calls, by its slot.
    handlers: &'a [TaskBinding],
    registry: &'a TaskRegistry,
    /// Where task tokens come from (none: numbered by the process).
    tokens: Option<&'a dyn TokenIssuer>,
    arena: &'a Arena,
    info: &'a ExecutionInfo,
    /// The execution's name (`$$.Execution.Name`): the info's, unless given one.
    name: &'a str,
    input: Value<'a>,
    /// The input's text, for the output's writer.
    source: SourceText<'a>,
    frames: BumpVec<'a, Frame<'a>>,
    events: u32,
    start_ms: i64,
    now_ms: i64,
    deadline_ms: Option<i64>,
    jitter: u64,
    finished: bool,
    history: Option<&'a mut dyn HistorySink>,
    /// Bytes of variable values assigned so far (counted against the execution's quota).
    variable_bytes: usize,
    /// The answers delivered to awaited tasks, by token, until their frames record them.
    task_answers: Vec<(TaskToken, Result<Value<'a>, Failure>)>,
    /// How the top level ended (with [`Flow::Done`]).
    ended: Option<Result<Value<'a>, Failure>>,
    /// Invocations so far of each mocked Task state: allocated in the arena when a mocked
    /// state is first called.
    mock_invocations: &'a mut [u32],
    /// The token of the [`issues_token`](StateDef::issues_token) Task attempt under way:
    /// issued before its effective input was evaluated, given to its handler.
    issued: Option<TaskToken>,
    /// With a history sink: the id of the running frame's last event, which its next one
    /// follows (0 before the first state: the first `...StateEntered` follows none).
    tip: u32,
    /// With a history sink: the variables the current state's (or catcher's) `Assign` just
    /// set, which its `...StateExited` reports.
    assigned: Option<&'a [Member<'a>]>,
    /// How many times it has been redriven (`$$.Execution.RedriveCount`).
    redrive_count: u32,
    /// When it was last redriven (`$$.Execution.RedriveTime`), epoch ms.
    redrive_ms: i64,
    /// Once it has ended other than by succeeding: the top-level state that did not succeed,
    /// with its input and variables, where a redrive starts again.
    redrive_at: Option<(StateId, Value<'a>, Variables<'a>)>,
}

impl<'a> Execution<'a> {
    /// Prepares an execution of `machine` on `input` (nothing runs until
    /// [`resume`](Self::resume)).
    pub(crate) fn new(
        machine: &'a Machine,
        arena: &'a Arena,
        input: Value<'a>,
        info: &'a ExecutionInfo,
        now_ms: i64,
    ) -> Execution<'a> {
        let program = machine.program();
        let mut frames = BumpVec::with_capacity_in(4, arena);
        frames.push(Frame {
            state: program.graph(GraphId(0)).start,
            input,
            variables: Variables::default(),
            entered_event: 0,
            entered_ms: now_ms,
            retries: &mut [],
            phase: Phase::Enter,
            tip: 0,
        });
        Execution {
            program,
            limits: machine.limits(),
            wait_time_scale: machine.wait_time_scale(),
            max_depth: machine.limits().effective_max_value_depth(),
            handlers: machine.handlers(),
            registry: machine.registry(),
            tokens: None,
            arena,
            info,
            name: &info.name,
            source: SourceText::NONE,
            input,
            frames,
            events: 0,
            start_ms: now_ms,
            now_ms,
            deadline_ms: program
                .timeout_seconds
                .map(|t| now_ms.saturating_add((t as i64).saturating_mul(1000))),
            jitter: 0x9E37_79B9_7F4A_7C15 ^ now_ms as u64,
            finished: false,
            history: None,
            variable_bytes: 0,
            task_answers: Vec::new(),
            ended: None,
            mock_invocations: &mut [],
            issued: None,
            tip: 0,
            assigned: None,
            redrive_count: 0,
            redrive_ms: 0,
            redrive_at: None,
        }
    }

    /// Sends this execution's history events to `sink` (set before the first `resume`).
    pub fn with_history(mut self, sink: &'a mut dyn HistorySink) -> Execution<'a> {
        self.history = Some(sink);
        self
    }

    /// Takes the tokens of its tasks that answer later from `tokens` (by default they are
    /// numbered by the process): set before the first `resume`.
    pub fn with_token_issuer(mut self, tokens: &'a dyn TokenIssuer) -> Execution<'a> {
        self.tokens = Some(tokens);
        self
    }

    /// Names this execution `name` in the context object (`$$.Execution.Name` and the
    /// execution's ARN) instead of the [`ExecutionInfo`]'s name.
    pub fn with_name(mut self, name: &'a str) -> Execution<'a> {
        self.name = name;
        self
    }

    /// Lets the outcome's writer copy the text of input containers that reach the output
    /// unchanged: `source` comes from parsing the input with
    /// [`parse_keeping_text`](crate::value::parse_keeping_text).
    pub fn with_source(mut self, source: SourceText<'a>) -> Execution<'a> {
        self.source = source;
        self
    }

    /// What the runtime sets before the first `resume`, in place (the execution is not
    /// moved): the input's text, where task tokens come from, and the name and history sink
    /// when it has them.
    pub(crate) fn prepare(
        &mut self,
        source: SourceText<'a>,
        tokens: &'a dyn TokenIssuer,
        name: Option<&'a str>,
        history: Option<&'a mut dyn HistorySink>,
    ) {
        self.source = source;
        self.tokens = Some(tokens);
        if let Some(name) = name {
            self.name = name;
        }
        self.history = history;
    }

    /// Calls `f` on every frame of the execution: the stack's, then (depth first) those of
    /// suspended Parallel branches and Map iterations parked in their parents.
    fn for_each_frame(&self, mut f: impl FnMut(&Frame<'a>)) {
        for frame in self.frames.iter() {
            visit_frame(frame, &mut f);
        }
    }

    /// When the suspended execution must be resumed if nothing is delivered: the earliest
    /// wake of its frames (a suspended execution's stack is its top level alone: every
    /// suspended child is parked), bounded by its deadline.
    fn next_wake_ms(&self) -> i64 {
        let wake = self.frames.first().and_then(wake_ms).unwrap_or(i64::MAX);
        wake.min(self.deadline_ms.unwrap_or(i64::MAX))
    }

    /// The number of history events so far.
    pub fn event_count(&self) -> u32 {
        self.events
    }

    /// Records the next history event, following the running frame's last one (and counts
    /// it, which causes quote).
    #[inline]
    fn event(&mut self, event_type: &'static str, state: Option<&'a str>, data: EventData<'_>) {
        self.record(event_type, state, data, Link::Chain, |_| EventDetail::None);
    }

    /// Records the next history event, linked as `link` says, with the details `detail`
    /// gives; without a sink, only counts it (neither the link nor the details are worked
    /// out).
    #[inline(always)]
    fn record<'d>(
        &mut self,
        event_type: &'static str,
        state: Option<&'d str>,
        data: EventData<'d>,
        link: Link,
        detail: impl FnOnce(&'a ExecutionInfo) -> EventDetail<'d>,
    ) {
        self.events += 1;
        if let Some(sink) = self.history.as_deref_mut() {
            let previous_event_id = match link {
                Link::Chain | Link::Side => self.tip,
                Link::SideFrom(id) => id,
            };
            if let Link::Chain = link {
                self.tip = self.events;
            }
            sink.record(&HistoryEvent {
                id: self.events,
                previous_event_id,
                timestamp_ms: self.now_ms,
                event_type,
                state,
                data,
                detail: detail(self.info),
            });
        }
    }

    /// Records `ExecutionStarted` (it follows no event, and the first state's entered event
    /// follows none either).
    fn started_event(&mut self) {
        let input = self.input;
        self.record(
            "ExecutionStarted",
            None,
            EventData::Input(input),
            Link::SideFrom(0),
            |info| EventDetail::Execution {
                role_arn: &info.role_arn,
            },
        );
    }

    /// Records a state's `...StateExited` with its `output`, and the variables its `Assign`
    /// set, if it has one.
    #[inline(always)]
    fn exited_event(&mut self, event_type: &'static str, name: &'a str, output: Value<'a>) {
        if self.history.is_none() {
            // Nothing assigned is kept without a sink.
            self.events += 1;
            return;
        }
        let assigned = self.assigned.take();
        self.record(
            event_type,
            Some(name),
            EventData::Output(output),
            Link::Chain,
            move |_| assigned.map_or(EventDetail::None, EventDetail::Assigned),
        );
    }

    /// Records the event that ends the execution and returns its outcome.
    /// Ends an execution whose input is nested deeper than the depth limit before anything
    /// walks it (JSON text is read at most 128 deep; a value handed over may be deeper).
    #[cold]
    fn too_deep_input(&mut self) -> Step<'a> {
        self.end(RawOutcome {
            source: SourceText::NONE,
            status: Status::Failed,
            output: None,
            error: Some(names::RUNTIME.into()),
            cause: Some(format!(
                "The execution's input is nested more than {} levels deep, past quickstep's limit (Limits::max_value_depth).",
                self.max_depth
            )),
        })
    }

    fn end(&mut self, mut outcome: RawOutcome<'a>) -> Step<'a> {
        outcome.source = self.source;
        // Tasks still awaited (the execution timed out or was stopped) will never be answered.
        if self.tokens.is_some() {
            for frame in self.frames.iter() {
                self.retire_awaited(frame);
            }
        }
        self.finished = true;
        if outcome.status != Status::Succeeded && self.redrive_at.is_none() {
            self.redrive_at = self.frames.first().map(|f| (f.state, f.input, f.variables));
        }
        let event_type = outcome.status.ended_event_type();
        let data = match outcome.output {
            Some(output) => EventData::Output(output),
            None => EventData::Failure {
                error: outcome.error.as_deref(),
                cause: outcome.cause.as_deref(),
            },
        };
        // What ends the execution from outside (StopExecution, its timeout) follows no event.
        let link = match outcome.status {
            Status::Succeeded | Status::Failed => Link::Chain,
            Status::TimedOut | Status::Aborted => Link::SideFrom(0),
        };
        self.record(event_type, None, data, link, |_| EventDetail::None);
        Step::Done(outcome)
    }

    /// Stops the execution (AWS's `StopExecution`): records `ExecutionAborted` with `error`
    /// and `cause` and returns the outcome, status `ABORTED`. `None` when it has already
    /// ended.
    pub fn abort(&mut self, error: Option<String>, cause: Option<String>) -> Option<RawOutcome<'a>> {
        if self.finished {
            return None;
        }
        if self.events == 0 {
            self.started_event();
        }
        match self.end(RawOutcome {
            source: SourceText::NONE,
            status: Status::Aborted,
            output: None,
            error,
            cause,
        }) {
            Step::Done(outcome) => Some(outcome),
            _ => unreachable!("end() ends the execution"),
        }
    }

    /// Redrives an execution that failed, timed out or was aborted (AWS's `RedriveExecution`):
    /// records `ExecutionRedriven` and makes it run again from the top-level state that did
    /// not succeed, with that state's input and variables (a Parallel or Map state runs again
    /// whole), its `TimeoutSeconds` counted from `now_ms`. [`resume`](Self::resume) goes on
    /// from there. `false` (and nothing changes) when it has not ended that way.
    pub fn redrive(&mut self, now_ms: i64) -> bool {
        if !self.finished {
            return false;
        }
        let Some((state, input, variables)) = self.redrive_at.take() else {
            return false;
        };
        self.finished = false;
        self.ended = None;
        self.issued = None;
        self.assigned = None;
        self.task_answers.clear();
        self.redrive_count += 1;
        self.now_ms = now_ms.max(self.now_ms);
        self.redrive_ms = self.now_ms;
        self.deadline_ms = self
            .program
            .timeout_seconds
            .map(|t| self.now_ms.saturating_add((t as i64).saturating_mul(1000)));
        self.frames.clear();
        self.frames.push(Frame {
            state,
            input,
            variables,
            entered_event: 0,
            entered_ms: self.now_ms,
            retries: &mut [],
            phase: Phase::Enter,
            tip: 0,
        });
        let count = self.redrive_count;
        self.record("ExecutionRedriven", None, EventData::None, Link::Chain, |_| {
            EventDetail::Redriven { count }
        });
        true
    }

    /// How many times the execution has been redriven.
    pub fn redrive_count(&self) -> u32 {
        self.redrive_count
    }

    /// Runs until the execution ends or must wait. `now_ms` is the current time (epoch ms).
    pub fn resume(&mut self, now_ms: i64) -> Step<'a> {
        self.now_ms = now_ms.max(self.now_ms);
        if self.finished {
            return Step::Done(RawOutcome {
                source: SourceText::NONE,
                status: Status::Aborted,
                output: None,
                error: Some(names::RUNTIME.into()),
                cause: Some("The execution has already ended.".into()),
            });
        }
        if self.events == 0 {
            if self.input.depth() > self.max_depth {
                return self.too_deep_input();
            }
            self.started_event();
        }
        loop {
            if self.past_deadline() {
                return self.end(RawOutcome {
                    source: SourceText::NONE,
                    status: Status::TimedOut,
                    output: None,
                    error: Some(names::TIMEOUT.into()),
                    cause: None,
                });
            }
            if self.past_event_limit() {
                return self.end(RawOutcome {
                    source: SourceText::NONE,
                    status: Status::Failed,
                    output: None,
                    error: Some(names::RUNTIME.into()),
                    cause: Some(format!(
                        "The execution reached the maximum number of history events ({MAX_EVENTS})."
                    )),
                });
            }
            let flow = self.step();
            let flow = match flow {
                Ok(flow) => flow,
                Err(failure) => self.fail(failure),
            };
            match flow {
                Flow::Continue => {}
                // A child of a Parallel/Map suspends or awaits a task: its parent's frame takes
                // over.
                Flow::Suspend(_) | Flow::AwaitTask(..) if self.frames.len() > 1 => self.park_top(),
                Flow::Suspend(until_ms) => {
                    let until_ms = self.deadline_ms.map_or(until_ms, |d| until_ms.min(d));
                    // Parked children awaiting tasks make the whole execution await them.
                    return match self.first_awaited() {
                        Some((token, _)) => Step::AwaitingTask { token, until_ms },
                        None => Step::Suspended { until_ms },
                    };
                }
                Flow::AwaitTask(token, until_ms) => {
                    let until_ms = self.deadline_ms.map_or(until_ms, |d| until_ms.min(d));
                    return Step::AwaitingTask { token, until_ms };
                }
                Flow::Done => {
                    let outcome = match self.ended.take() {
                        Some(Ok(output)) => RawOutcome {
                            source: SourceText::NONE,
                            status: Status::Succeeded,
                            output: Some(output),
                            error: None,
                            cause: None,
                        },
                        Some(Err(Failure(f))) => RawOutcome {
                            source: SourceText::NONE,
                            status: Status::Failed,
                            output: None,
                            error: f.error.map(Cow::into_owned),
                            cause: f.cause,
                        },
                        None => unreachable!("Flow::Done comes with the top level's end"),
                    };
                    return self.end(outcome);
                }
            }
        }
    }

    fn top(&self) -> usize {
        self.frames.len() - 1
    }

    /// One step of the top frame.
    fn step(&mut self) -> Result<Flow, Failure> {
        let top = self.top();
        match self.frames[top].phase {
            Phase::Enter => {
                // Entering and doing the state's work are one step: nothing can come between.
                self.enter(top);
                self.attempt(top)
            }
            Phase::Attempt => self.attempt(top),
            Phase::Waiting { until_ms, .. } | Phase::Backoff { until_ms } if until_ms > self.now_ms => {
                Ok(Flow::Suspend(until_ms))
            }
            Phase::Waiting { result, .. } => {
                let state = self.program.state(self.frames[top].state);
                self.complete(top, state, result)
            }
            Phase::Backoff { .. } => {
                self.frames[top].phase = Phase::Attempt;
                Ok(Flow::Continue)
            }
            Phase::AwaitingTask(ref task) => {
                let (token, deadline_ms) = (task.token, task.deadline_ms());
                if deadline_ms > self.now_ms {
                    return Ok(Flow::AwaitTask(token, deadline_ms));
                }
                // A missed heartbeat is `States.Timeout` too: recorded on AWS (a TaskTimedOut
                // with that error for a task with HeartbeatSeconds 5 and TimeoutSeconds 600).
                self.task_timed_out(top, names::TIMEOUT)
            }
            Phase::TaskAnswered(token) => {
                self.frames[top].phase = Phase::Attempt;
                let answer = self.take_answer(token).expect("an answered task's answer");
                let answer = answer.and_then(|result| self.within_limit(top, result));
                let state = self.program.state(self.frames[top].state);
                self.task_ended(top, state, answer)
            }
            Phase::Parallel(_) | Phase::Map(_) => self.schedule(top),
            Phase::MapIo(_) => self.map_io_step(top),
        }
    }

    /// Enters frame `top`'s state: its entered event, and the frame's bookkeeping.
    #[inline(always)]
    fn enter(&mut self, top: usize) {
        let state = self.program.state(self.frames[top].state);
        let input = self.frames[top].input;
        self.event(state.entered_event, Some(state.name), EventData::Input(input));
        let arena = self.arena;
        let frame = &mut self.frames[top];
        frame.entered_event = self.events;
        frame.entered_ms = self.now_ms;
        frame.retries = match state.retry.len() {
            0 => &mut [],
            n => arena.alloc_slice_fill_copy(n, 0),
        };
        frame.phase = Phase::Attempt;
    }

    /// Renders an evaluation error as the failure of frame `top`'s state.
    fn eval_failure(&self, top: usize, e: EvalError) -> Failure {
        let e = e.into_data();
        let frame = &self.frames[top];
        let cause = if e.bare {
            e.message
        } else if e.error == names::DATA_LIMIT_EXCEEDED {
            // a string or array built past the payload limit: AWS's cause for the state
            limits::data_limit_cause(self.program.state(frame.state).name)
        } else {
            format!(
                "An error occurred while executing the state '{}' (entered at the event id #{}). {}",
                self.program.state(frame.state).name,
                frame.entered_event,
                e.message
            )
        };
        Failure::new(Some(e.error), Some(cause))
    }

    /// Whether the execution's `TimeoutSeconds` has passed ([`resume`](Self::resume) then
    /// ends it).
    #[inline]
    fn past_deadline(&self) -> bool {
        self.deadline_ms.is_some_and(|d| self.now_ms >= d)
    }

    /// Whether the history has passed [`MAX_EVENTS`] ([`resume`](Self::resume) then fails
    /// the execution).
    #[inline]
    fn past_event_limit(&self) -> bool {
        self.events > MAX_EVENTS
    }

    fn go_to(&mut self, top: usize, next: StateId, input: Value<'a>) {
        let frame = &mut self.frames[top];
        frame.state = next;
        frame.input = input;
        frame.phase = Phase::Enter;
    }

    /// Handles a failure of the top frame's state: Retry, then Catch, then hand it to the
    /// enclosing frame (which fails in turn) or end the execution.
    fn fail(&mut self, mut failure: Failure) -> Flow {
        // What an Assign set before the failure is not reported.
        self.assigned = None;
        loop {
            let top = self.top();
            // A Parallel/Map state failing on its own (not through a child) stops its children.
            self.abandon_children(top);
            let fanned_out = match self.frames[top].phase {
                Phase::Parallel(_) => Some("ParallelStateFailed"),
                Phase::Map(_) => Some("MapStateFailed"),
                _ => None,
            };
            let state = self.program.state(self.frames[top].state);
            let error = failure.error.as_deref().unwrap_or("");
            let has_name = failure.error.is_some();

            if has_name {
                if let Some(i) = state.retry.iter().position(|r| error_matches(&r.error_equals, error)) {
                    let retrier = &state.retry[i];
                    let attempts = self.frames[top].retries[i];
                    if attempts < retrier.max_attempts {
                        let mut delay = retrier.interval_seconds * retrier.backoff_rate.powi(attempts as i32);
                        if let Some(max) = retrier.max_delay_seconds {
                            delay = delay.min(max);
                        }
                        if retrier.jitter_full {
                            delay *= self.next_random();
                        }
                        self.frames[top].retries[i] += 1;
                        let until_ms = self.now_ms.saturating_add((delay * 1000.0) as i64);
                        self.frames[top].phase = Phase::Backoff { until_ms };
                        return Flow::Continue;
                    }
                }
                // Not retried: a Parallel/Map state records its failure (AWS records none
                // before a retry; the new attempt follows the failing child's last event).
                if let Some(failed) = fanned_out {
                    self.event(failed, Some(state.name), EventData::None);
                }
                if let Some(catcher) = state.catch.iter().find(|c| error_matches(&c.error_equals, error)) {
                    match self.catch(top, catcher, &failure) {
                        Ok(()) => return Flow::Continue,
                        Err(f) => {
                            // Output processing of the catcher failed: that failure ends the frame.
                            failure = f;
                        }
                    }
                }
            } else if let Some(failed) = fanned_out {
                self.event(failed, Some(state.name), EventData::None);
            }
            match self.end_frame(Err(failure)) {
                Ok(flow) => return flow,
                Err(f) => failure = f,
            }
        }
    }

    /// Goes to `catcher.next` with the error output.
    fn catch(&mut self, top: usize, catcher: &'a CatchDef, failure: &Failure) -> Result<(), Failure> {
        let state = self.program.state(self.frames[top].state);
        let raw_input = self.frames[top].input;
        let context = self.context(top);
        let error_output = error_output(self.arena, failure);
        let output = match state.language {
            QueryLanguage::JsonPath => self.result_path(top, &catcher.result_path, raw_input, error_output)?,
            QueryLanguage::Jsonata => match &catcher.output {
                Some(p) => self.eval_payload(
                    top,
                    p,
                    &self.payload_input(top, raw_input, context, Some(("errorOutput", error_output))),
                )?,
                None => error_output,
            },
        };
        self.assign(
            top,
            catcher.assign.as_ref(),
            error_output,
            context,
            Some(("errorOutput", error_output)),
        )?;
        self.exited_event(state.exited_event, state.name, output);
        self.go_to(top, catcher.next, output);
        Ok(())
    }

    /// A number in `[0, 1)` for `JitterStrategy: FULL` (xorshift; jitter needs no quality).
    fn next_random(&mut self) -> f64 {
        let mut x = self.jitter;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.jitter = x;
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `{"Error": ..., "Cause": ...}`: what Catch passes on.
fn error_output<'a>(arena: &'a Arena, failure: &Failure) -> Value<'a> {
    let mut members: SmallVec<[Member<'a>; 2]> = SmallVec::new();
    if let Some(error) = &failure.error {
        members.push(("Error", arena.string(error)));
    }
    if let Some(cause) = &failure.cause {
        members.push(("Cause", arena.string(cause)));
    }
    arena.object(&members)
}

/// Formats epoch milliseconds as AWS prints times in the context object
/// (`$$.Execution.StartTime`, `$$.State.EnteredTime`): UTC, with three digits of fractional
/// seconds, none when the time falls on a whole second (`2025-08-27T10:04:42.001Z`,
/// `2025-08-27T10:04:42Z`), as the developer guide's page on the context object says.
pub fn iso_time(ms: i64) -> String {
    let format = if ms.rem_euclid(1000) == 0 {
        "%Y-%m-%dT%H:%M:%SZ"
    } else {
        "%Y-%m-%dT%H:%M:%S%.3fZ"
    };
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(t) => t.format(format).to_string(),
        None => "1970-01-01T00:00:00Z".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::TaskRegistry;

    #[test]
    fn every_frame_is_visited_parked_ones_included() {
        let machine = Machine::new(
            r#"{"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[
                {"StartAt":"M","States":{"M":{"Type":"Map","End":true,
                    "ItemProcessor":{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":1,"End":true}}}}}},
                {"StartAt":"B","States":{"B":{"Type":"Wait","Seconds":2,"End":true}}}]}}}"#,
            TaskRegistry::new(),
        )
        .unwrap();
        let arena = Arena::new();
        let info = ExecutionInfo::default();
        let input = crate::value::parse(&arena, "[1,2,3]").unwrap();
        let mut execution = machine.start(&arena, input, &info, 0);
        assert!(matches!(execution.resume(0), Step::Suspended { until_ms: 1_000 }));
        // The top level, and parked: the Map branch with its three iterations, the Wait branch.
        let mut names = Vec::new();
        execution.for_each_frame(|frame| names.push(machine.program().state(frame.state).name));
        assert_eq!(names.len(), 6, "{names:?}");
        assert_eq!(names[0], "P");
        assert_eq!(names.iter().filter(|n| **n == "W").count(), 3);
        assert!(names.contains(&"M") && names.contains(&"B"));
        // What the wake times say: the Parallel frame wakes with its earliest child.
        assert_eq!(wake_ms(&execution.frames[0]), Some(1_000));
    }
}
