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
use std::mem::ManuallyDrop;

use bumpalo::collections::Vec as BumpVec;
use smallvec::SmallVec;

use std::sync::Arc;

use crate::choice::{Decision, Lookups};
use crate::error::{names, EvalError};
use crate::history::{EventData, HistoryEvent, HistorySink};
use crate::machine::Machine;
use crate::model::QueryLanguage;
use crate::payload::{JsonataEnv, JsonataExpr, NumberSpec, Payload, PayloadInput, StringSource};
use crate::program::*;
use crate::scope::{Scope, Variables};
use crate::tasks::{
    TaskContext, TaskFailure, TaskHandler, TaskRegistry, TaskReply, TaskToken, TaskTokenError, TokenIssuer,
};
use crate::template::Template;
use crate::timestamp::parse_timestamp;
use crate::value::{with_member, Arena, ArenaExt, Member, SourceText, Value};

/// The largest payload (state input/output, task result) AWS accepts, in bytes.
pub const PAYLOAD_LIMIT: usize = 256 * 1024;

/// The largest value one variable may hold, and all variables of one `Assign` together.
pub const VARIABLE_LIMIT: usize = 256 * 1024;

/// The most variable data one execution may assign, in bytes.
pub const EXECUTION_VARIABLES_LIMIT: usize = 10 * 1024 * 1024;

/// A Task's `TimeoutSeconds` and `HeartbeatSeconds` when the definition gives none (AWS's
/// default for both).
pub const DEFAULT_TASK_TIMEOUT_SECONDS: i64 = 99_999_999;

/// The most history events one execution may have (AWS's quota for a Standard execution):
/// past it the execution fails, so a definition that loops forever cannot hang a worker.
pub const MAX_EVENTS: u32 = 25_000;

/// The events of one Map iteration run without a frame: MapIterationStarted, the state's
/// entered and exited events, MapIterationSucceeded.
const MAP_ITEM_EVENTS: u32 = 4;

/// The events of one Parallel branch run without a frame: its state's entered and exited
/// events.
const BRANCH_EVENTS: u32 = 2;

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
    /// [`TaskReply::Pending`]): deliver it with [`Execution::complete_task`],
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
}

impl Default for ExecutionInfo {
    fn default() -> ExecutionInfo {
        ExecutionInfo {
            name: "execution".into(),
            state_machine_name: "StateMachine".into(),
            role_arn: "arn:aws:iam::123456789012:role/quickstep".into(),
            region: "us-east-1".into(),
            account: "123456789012".into(),
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
    /// The ARN of an execution of this state machine named `name`.
    pub fn execution_arn_named(&self, name: &str) -> String {
        format!(
            "arn:aws:states:{}:{}:execution:{}:{}",
            self.region, self.account, self.state_machine_name, name
        )
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
}

/// A task attempt that completes later.
///
/// Its `TimeoutSeconds` counts from the attempt's `TaskStarted` (every retry starts a new
/// one); its `HeartbeatSeconds` from `TaskStarted`, then from the last heartbeat. Either
/// running out fails the attempt (`States.Timeout`, `States.HeartbeatTimeout`) through the
/// state's Retry and Catch.
#[derive(Debug)]
struct AwaitedTask {
    token: TaskToken,
    /// When `TimeoutSeconds` runs out (epoch ms).
    timeout_at_ms: i64,
    /// `HeartbeatSeconds` in ms, when given.
    heartbeat_ms: Option<i64>,
    /// When the next heartbeat is due (epoch ms; `i64::MAX` without `HeartbeatSeconds`).
    heartbeat_due_ms: i64,
}

impl AwaitedTask {
    /// When the execution must be resumed to time the task out.
    fn deadline_ms(&self) -> i64 {
        self.timeout_at_ms.min(self.heartbeat_due_ms)
    }
}

/// The history events of a Task, by how its resource is invoked.
struct TaskEvents {
    scheduled: &'static str,
    started: &'static str,
    succeeded: &'static str,
    failed: &'static str,
    timed_out: &'static str,
}

impl TaskEvents {
    fn of(flavor: TaskFlavor) -> &'static TaskEvents {
        const LAMBDA: TaskEvents = TaskEvents {
            scheduled: "LambdaFunctionScheduled",
            started: "LambdaFunctionStarted",
            succeeded: "LambdaFunctionSucceeded",
            failed: "LambdaFunctionFailed",
            timed_out: "LambdaFunctionTimedOut",
        };
        const TASK: TaskEvents = TaskEvents {
            scheduled: "TaskScheduled",
            started: "TaskStarted",
            succeeded: "TaskSucceeded",
            failed: "TaskFailed",
            timed_out: "TaskTimedOut",
        };
        match flavor {
            TaskFlavor::LambdaArn => &LAMBDA,
            _ => &TASK,
        }
    }

    /// The events of `state`, a Task.
    fn of_state(state: &StateDef) -> &'static TaskEvents {
        match &state.op {
            Op::Task(task) => TaskEvents::of(task.flavor),
            _ => TaskEvents::of(TaskFlavor::Plain),
        }
    }
}

/// What a handler answered.
enum TaskStart<'a> {
    /// A result now.
    Done(Value<'a>),
    /// Later, for this token.
    Pending(TaskToken),
}

/// A Parallel or Map state's progress over its children (branches or iterations).
///
/// A child runs in the frame just above the fanout's frame until it ends or suspends; a child
/// that suspends is parked here, and the fanout's frame (the top again) schedules: it starts
/// the next child while fewer than `max_concurrency` are in progress, else resumes a parked
/// child whose wait is over, else completes the state once every child has finished, else
/// suspends until the earliest parked child can go on. When no child suspends this is the
/// plain sequence of children, one after another.
#[derive(Debug)]
struct Fanout<'a> {
    /// The state's effective input: every branch's input, or what `ItemSelector` reads.
    input: Value<'a>,
    /// Map: the items (or batches); Parallel: empty.
    items: &'a [Value<'a>],
    /// How many children there are.
    total: usize,
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
    /// (`ManuallyDrop`: frames have no drop glue, asserted below, and the arena frees the
    /// memory.)
    parked: ManuallyDrop<BumpVec<'a, ParkedChild<'a>>>,
    /// Map: failed iterations so far, and how many are tolerated.
    failures: usize,
    tolerated_count: Option<u64>,
    tolerated_percentage: Option<f64>,
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
struct ParkedChild<'a> {
    index: usize,
    frame: Frame<'a>,
}

impl<'a> Fanout<'a> {
    /// A fanout over `total` children, none started yet.
    fn new(arena: &'a Arena, input: Value<'a>, items: &'a [Value<'a>], total: usize, max_concurrency: usize) -> Self {
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
        }
    }

    /// Whether another child may start now.
    fn may_start_child(&self) -> bool {
        self.started < self.total && (self.max_concurrency == 0 || self.in_progress < self.max_concurrency)
    }

    /// The parked child to resume first: the earliest wake time, then the lowest index. Gives
    /// its position in `parked` and its wake time; `None` when no parked child has one.
    fn earliest_parked(&self) -> Option<(usize, i64)> {
        self.parked
            .iter()
            .enumerate()
            .filter_map(|(position, child)| wake_ms(&child.frame).map(|wake| (position, wake, child.index)))
            .min_by_key(|&(_, wake, index)| (wake, index))
            .map(|(position, wake, _)| (position, wake))
    }
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

/// The frame among `frame` and its parked children (depth first) whose task awaits `token`.
fn find_awaiting<'f, 'a>(frame: &'f mut Frame<'a>, token: TaskToken) -> Option<&'f mut Frame<'a>> {
    match &frame.phase {
        Phase::AwaitingTask(task) if task.token == token => return Some(frame),
        Phase::Parallel(_) | Phase::Map(_) => {}
        _ => return None,
    }
    let (Phase::Parallel(fanout) | Phase::Map(fanout)) = &mut frame.phase else {
        return None;
    };
    fanout
        .parked
        .iter_mut()
        .find_map(|child| find_awaiting(&mut child.frame, token))
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
    handlers: &'a [Option<Arc<dyn TaskHandler>>],
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
        });
        Execution {
            program,
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
        }
    }

    /// Sends this execution's history events to `sink` (set before the first `resume`).
    pub fn with_history(mut self, sink: &'a mut dyn HistorySink) -> Execution<'a> {
        self.history = Some(sink);
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

    /// The frame whose task awaits `token`, if one does: on the stack or parked in a
    /// Parallel/Map frame. Every delivery finds its task through here.
    fn awaiting_frame_mut(&mut self, token: TaskToken) -> Option<&mut Frame<'a>> {
        if self.finished {
            return None;
        }
        self.frames
            .iter_mut()
            .rev()
            .find_map(|frame| find_awaiting(frame, token))
    }

    /// Calls `f` on every frame of the execution: the stack's, then (depth first) those of
    /// suspended Parallel branches and Map iterations parked in their parents.
    fn for_each_frame(&self, mut f: impl FnMut(&Frame<'a>)) {
        for frame in self.frames.iter() {
            visit_frame(frame, &mut f);
        }
    }

    /// Every task the execution awaits, with the time it must be resumed at to time that
    /// task out (its timeout or heartbeat deadline, or the execution's if earlier). Empty
    /// once it has ended. Several when Parallel branches or Map iterations await tasks
    /// concurrently.
    pub fn awaited_tokens(&self) -> Vec<(TaskToken, i64)> {
        let mut awaited = Vec::new();
        self.for_each_awaited(|token, deadline| awaited.push((token, deadline)));
        awaited
    }

    /// Calls `f` with every awaited task's token and deadline (as [`awaited_tokens`](Self::awaited_tokens)
    /// lists them).
    fn for_each_awaited(&self, mut f: impl FnMut(TaskToken, i64)) {
        if self.finished {
            return;
        }
        let execution_deadline = self.deadline_ms.unwrap_or(i64::MAX);
        self.for_each_frame(|frame| {
            if let Phase::AwaitingTask(task) = &frame.phase {
                f(task.token, task.deadline_ms().min(execution_deadline));
            }
        });
    }

    /// The awaited task due first, if any (with its deadline, bounded by the execution's).
    fn first_awaited(&self) -> Option<(TaskToken, i64)> {
        let mut first: Option<(TaskToken, i64)> = None;
        self.for_each_awaited(|token, deadline| {
            if first.is_none_or(|(_, earliest)| deadline < earliest) {
                first = Some((token, deadline));
            }
        });
        first
    }

    /// When the suspended execution must be resumed if nothing is delivered: the earliest
    /// wake of its frames (a suspended execution's stack is its top level alone: every
    /// suspended child is parked), bounded by its deadline.
    fn next_wake_ms(&self) -> i64 {
        let wake = self.frames.first().and_then(wake_ms).unwrap_or(i64::MAX);
        wake.min(self.deadline_ms.unwrap_or(i64::MAX))
    }

    /// Hands every awaited task's token back to the issuer (the execution ended or gave up
    /// those tasks): answers for them are refused from then on.
    fn retire_awaited(&self, frame: &Frame<'a>) {
        let Some(issuer) = self.tokens else {
            return;
        };
        visit_frame(frame, &mut |frame| {
            if let Phase::AwaitingTask(task) = &frame.phase {
                issuer.retire(task.token);
            }
        });
    }

    /// Completes the task awaiting `token` with `result` (`SendTaskSuccess`); the next
    /// [`resume`](Self::resume) records it and goes on.
    pub fn complete_task(&mut self, token: TaskToken, result: Value<'a>) -> Result<(), TaskTokenError> {
        self.answer_task(token, Ok(result))
    }

    /// Fails the task awaiting `token` with `error` and `cause` (`SendTaskFailure`); the
    /// next [`resume`](Self::resume) records it and applies the state's Retry and Catch.
    pub fn fail_task(
        &mut self,
        token: TaskToken,
        error: impl Into<String>,
        cause: impl Into<String>,
    ) -> Result<(), TaskTokenError> {
        let failure = Failure::new(Some(Cow::Owned(error.into())), Some(cause.into()));
        self.answer_task(token, Err(failure))
    }

    fn answer_task(&mut self, token: TaskToken, answer: Result<Value<'a>, Failure>) -> Result<(), TaskTokenError> {
        let frame = self
            .awaiting_frame_mut(token)
            .ok_or(TaskTokenError::NotAwaiting(token))?;
        frame.phase = Phase::TaskAnswered(token);
        self.task_answers.push((token, answer));
        Ok(())
    }

    /// Records a heartbeat of the task awaiting `token` at `now_ms` (`SendTaskHeartbeat`):
    /// its `HeartbeatSeconds` count again from then. Returns when the execution must now be
    /// resumed if nothing else is delivered (the earliest wake of all it waits for). A
    /// heartbeat at or past the due time comes too late: the task has timed out.
    pub fn heartbeat_task(&mut self, token: TaskToken, now_ms: i64) -> Result<i64, TaskTokenError> {
        let not_awaiting = TaskTokenError::NotAwaiting(token);
        let frame = self.awaiting_frame_mut(token).ok_or(not_awaiting.clone())?;
        let Phase::AwaitingTask(task) = &mut frame.phase else {
            return Err(not_awaiting);
        };
        if now_ms >= task.deadline_ms() {
            return Err(not_awaiting);
        }
        if let Some(heartbeat_ms) = task.heartbeat_ms {
            task.heartbeat_due_ms = now_ms.saturating_add(heartbeat_ms);
        }
        Ok(self.next_wake_ms())
    }

    /// The number of history events so far.
    pub fn event_count(&self) -> u32 {
        self.events
    }

    /// Records the next history event (and counts it, which causes quote).
    #[inline]
    fn event(&mut self, event_type: &'static str, state: Option<&'a str>, data: EventData<'_>) {
        self.events += 1;
        if let Some(sink) = self.history.as_deref_mut() {
            sink.record(&HistoryEvent {
                id: self.events,
                timestamp_ms: self.now_ms,
                event_type,
                state,
                data,
            });
        }
    }

    /// Records the event that ends the execution and returns its outcome.
    fn end(&mut self, mut outcome: RawOutcome<'a>) -> Step<'a> {
        outcome.source = self.source;
        // Tasks still awaited (the execution timed out or was stopped) will never be answered.
        if self.tokens.is_some() {
            for frame in self.frames.iter() {
                self.retire_awaited(frame);
            }
        }
        self.finished = true;
        let event_type = match outcome.status {
            Status::Succeeded => "ExecutionSucceeded",
            Status::Failed => "ExecutionFailed",
            Status::TimedOut => "ExecutionTimedOut",
            Status::Aborted => "ExecutionAborted",
        };
        let data = match outcome.output {
            Some(output) => EventData::Output(output),
            None => EventData::Failure {
                error: outcome.error.as_deref(),
                cause: outcome.cause.as_deref(),
            },
        };
        self.event(event_type, None, data);
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
            self.event("ExecutionStarted", None, EventData::Input(self.input));
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
            self.event("ExecutionStarted", None, EventData::Input(self.input));
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
                        "The execution exceeded the limit of {MAX_EVENTS} history events."
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
                let error = if self.now_ms >= task.timeout_at_ms {
                    names::TIMEOUT
                } else {
                    names::HEARTBEAT_TIMEOUT
                };
                self.task_timed_out(top, error)
            }
            Phase::TaskAnswered(token) => {
                self.frames[top].phase = Phase::Attempt;
                let answer = self.take_answer(token).expect("an answered task's answer");
                let answer = answer.and_then(|result| self.within_limit(top, result));
                let state = self.program.state(self.frames[top].state);
                self.task_ended(top, state, answer)
            }
            Phase::Parallel(_) | Phase::Map(_) => self.schedule(top),
        }
    }

    /// Takes the answer delivered to the task of `token`.
    fn take_answer(&mut self, token: TaskToken) -> Option<Result<Value<'a>, Failure>> {
        let position = self.task_answers.iter().position(|(t, _)| *t == token)?;
        Some(self.task_answers.swap_remove(position).1)
    }

    /// Takes the suspended top frame (a child of the Parallel/Map frame below it) off the
    /// stack and parks it in its parent, whose frame becomes the top and schedules.
    fn park_top(&mut self) {
        let frame = self.frames.pop().expect("a child frame to park");
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
    fn schedule(&mut self, top: usize) -> Result<Flow, Failure> {
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
    fn abandon_children(&mut self, at: usize) {
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
            if matches!(state.op, Op::Map(_)) {
                self.event("MapIterationAborted", Some(state.name), EventData::None);
            }
            let child_state = self.program.state(child.frame.state);
            match child.frame.phase {
                // Nothing will await this task: its answer is refused from now on.
                Phase::AwaitingTask(_) => self.retire_awaited(&child.frame),
                Phase::TaskAnswered(token) => drop(self.take_answer(token)),
                _ => {}
            }
            if let Some(event) = aborted_event(&child_state.op) {
                self.event(event, Some(child_state.name), EventData::None);
            }
            if let Phase::Parallel(fanout) | Phase::Map(fanout) = child.frame.phase {
                let parked = std::mem::replace(&mut fanout.parked, ManuallyDrop::new(BumpVec::new_in(self.arena)));
                self.abort_children(child_state, ManuallyDrop::into_inner(parked));
            }
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

    /// The context object for frame `top`'s current state (empty when the program never
    /// reads it).
    #[inline]
    fn context(&self, top: usize) -> Value<'a> {
        if !self.program.uses_context {
            return Value::EMPTY_OBJECT;
        }
        self.build_context(top)
    }

    /// Builds the context object (`$$`) for frame `top`'s current state.
    #[inline(never)]
    fn build_context(&self, top: usize) -> Value<'a> {
        let a = self.arena;
        let frame = &self.frames[top];
        let state = self.program.state(frame.state);
        let execution = a.object(&[
            ("Id", a.string(&self.info.execution_arn_named(self.name))),
            ("Input", self.input),
            ("StartTime", a.string(&iso_time(self.start_ms))),
            ("Name", Value::String(self.name)),
            ("RoleArn", a.string(&self.info.role_arn)),
            ("RedriveCount", Value::int(0)),
        ]);
        let mut state_members: SmallVec<[Member<'a>; 3]> = SmallVec::new();
        state_members.push(("Name", Value::String(state.name)));
        state_members.push(("EnteredTime", a.string(&iso_time(frame.entered_ms))));
        if matches!(state.op, Op::Task(_) | Op::Parallel { .. } | Op::Map(_)) {
            let retry_count: u32 = frame.retries.iter().sum();
            state_members.push(("RetryCount", Value::int(retry_count as i64)));
        }
        let state_machine = a.object(&[
            ("Id", a.string(&self.info.state_machine_arn())),
            ("Name", a.string(&self.info.state_machine_name)),
        ]);
        a.object(&[
            ("Execution", execution),
            ("State", a.object(&state_members)),
            ("StateMachine", state_machine),
        ])
    }

    /// What a payload of frame `top`'s state reads: `$` is `input` (JSONPath); `$states` is
    /// built from the state's raw input, the context and `extra` (JSONata).
    #[inline]
    fn payload_input(
        &self,
        top: usize,
        input: Value<'a>,
        context: Value<'a>,
        extra: Option<Member<'a>>,
    ) -> PayloadInput<'a> {
        let frame = &self.frames[top];
        let states = if self.program.state(frame.state).language == QueryLanguage::Jsonata {
            let (input, context) = (("input", frame.input), ("context", context));
            match extra {
                Some(extra) => self.arena.object(&[input, context, extra]),
                None => self.arena.object(&[input, context]),
            }
        } else {
            Value::Null
        };
        PayloadInput {
            scope: Scope {
                input,
                context,
                variables: frame.variables,
            },
            states,
        }
    }

    fn eval_payload(&self, top: usize, payload: &'a Payload, input: &PayloadInput<'a>) -> Result<Value<'a>, Failure> {
        payload.eval(self.arena, input).map_err(|e| self.eval_failure(top, e))
    }

    /// `ResultPath`: places `result` into the state's raw input (the whole result when absent,
    /// the raw input unchanged when `null`).
    fn result_path(
        &self,
        top: usize,
        spec: &'a PathSpec,
        raw_input: Value<'a>,
        result: Value<'a>,
    ) -> Result<Value<'a>, Failure> {
        apply_result_path(self.arena, spec, raw_input, result).map_err(|e| self.eval_failure(top, e))
    }

    /// InputPath or OutputPath `spec` applied to `value` (the default, `$`, costs nothing).
    #[inline(always)]
    fn eval_path(
        &self,
        top: usize,
        spec: &'a PathSpec,
        value: Value<'a>,
        context: Value<'a>,
    ) -> Result<Value<'a>, Failure> {
        match spec {
            PathSpec::Whole => Ok(value),
            // `$.a.b` found: no scope, no error to map
            PathSpec::Path(path) => match path.select_members_of_input(value) {
                Some(found) => Ok(found),
                None => self.eval_given_path(top, spec, value, context),
            },
            spec => self.eval_given_path(top, spec, value, context),
        }
    }

    /// [`eval_path`](Self::eval_path) past its default.
    fn eval_given_path(
        &self,
        top: usize,
        spec: &'a PathSpec,
        value: Value<'a>,
        context: Value<'a>,
    ) -> Result<Value<'a>, Failure> {
        let scope = Scope {
            input: value,
            context,
            variables: self.frames[top].variables,
        };
        select_path(self.arena, spec, &scope).map_err(|e| self.eval_failure(top, e))
    }

    /// Does the current state's work, from its raw input to its result.
    fn attempt(&mut self, top: usize) -> Result<Flow, Failure> {
        let program = self.program;
        let state = program.state(self.frames[top].state);
        if state.chained {
            return self.attempt_chain(top, state);
        }
        let raw_input = self.frames[top].input;
        let context = self.context(top);
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
                self.event("SucceedStateExited", Some(state.name), EventData::Output(output));
                self.end_frame(Ok(output))
            }
            Op::Fail { error, cause } => {
                let error = self.fail_field(top, error.as_ref(), raw_input, context)?;
                let cause = self.fail_field(top, cause.as_ref(), raw_input, context)?;
                self.end_frame(Err(Failure::new(error.map(Cow::Owned), cause)))
            }
            Op::Parallel { branches } => {
                self.event("ParallelStateStarted", Some(state.name), EventData::None);
                let fanout = Fanout::new(self.arena, effective, &[], branches.len(), 0);
                self.frames[top].phase = Phase::Parallel(self.arena.alloc(fanout));
                self.schedule(top)
            }
            Op::Map(map) => {
                let fanout = self
                    .start_map(top, map, raw_input, after_input_path, context)
                    .map_err(|e| self.eval_failure(top, e))?;
                self.event("MapStateStarted", Some(state.name), EventData::None);
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
            let output = match pass_output(self.arena, state, input, variables, self.context(top)) {
                Ok(output) if !exceeds_limit(output) => output,
                failed => {
                    self.stamp_entered(top, id, input);
                    return Err(match failed {
                        Err(e) => self.eval_failure(top, e),
                        Ok(_) => self.data_limit(top),
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
                self.event(state.exited_event, Some(state.name), EventData::Output(input));
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

    /// The step of [`attempt_chain`](Self::attempt_chain) for a [`StateDef::plain_task`]
    /// state: the raw input goes to the handler as it is. Apart, so that the chain's loop
    /// stays small.
    #[inline(never)]
    fn attempt_plain_task(&mut self, top: usize, state: &'a StateDef, task: &'a TaskDef) -> Result<Flow, Failure> {
        let input = self.frames[top].input;
        self.run_task(top, state, task, input, None, None)
    }

    /// Schedules and starts `task` on its `effective` input: an answer now completes (or
    /// fails) the state, a later one parks the frame until it comes or its deadlines pass.
    #[inline(always)]
    fn run_task(
        &mut self,
        top: usize,
        state: &'a StateDef,
        task: &'a TaskDef,
        effective: Value<'a>,
        timeout_seconds: Option<f64>,
        heartbeat_seconds: Option<f64>,
    ) -> Result<Flow, Failure> {
        let events = TaskEvents::of(task.flavor);
        self.event(events.scheduled, Some(state.name), EventData::Input(effective));
        self.event(events.started, Some(state.name), EventData::None);
        match self.call_task(top, task, effective) {
            Ok(TaskStart::Done(result)) => self.task_ended(top, state, Ok(result)),
            Ok(TaskStart::Pending(token)) => {
                let awaited = self.awaited_task(token, timeout_seconds, heartbeat_seconds);
                self.frames[top].phase = Phase::AwaitingTask(awaited);
                Ok(Flow::Continue)
            }
            Err(failure) => self.task_ended(top, state, Err(failure)),
        }
    }

    /// Evaluates a Task's `TimeoutSeconds` or `HeartbeatSeconds` (a computed one must be a
    /// positive integer).
    fn task_seconds(
        &self,
        top: usize,
        spec: Option<&'a NumberSpec>,
        input: &PayloadInput<'a>,
        env: &JsonataEnv<'a>,
    ) -> Result<Option<f64>, Failure> {
        let Some(spec) = spec else { return Ok(None) };
        let seconds = self
            .number(spec, &input.scope, env, true)
            .map_err(|e| self.eval_failure(top, e))?;
        if let (true, Some(field)) = (seconds <= 0.0, computed_field(spec)) {
            let message = format!("The {field} field must be a positive integer.");
            return Err(self.eval_failure(top, EvalError::runtime(message)));
        }
        Ok(Some(seconds))
    }

    /// The deadlines of a task attempt that started now and answers later.
    fn awaited_task(
        &self,
        token: TaskToken,
        timeout_seconds: Option<f64>,
        heartbeat_seconds: Option<f64>,
    ) -> AwaitedTask {
        let to_ms = |seconds: f64| (seconds * 1000.0) as i64;
        let timeout_ms = timeout_seconds.map_or(DEFAULT_TASK_TIMEOUT_SECONDS * 1000, to_ms);
        let heartbeat_ms = heartbeat_seconds.map(to_ms);
        AwaitedTask {
            token,
            timeout_at_ms: self.now_ms.saturating_add(timeout_ms),
            heartbeat_ms,
            heartbeat_due_ms: heartbeat_ms.map_or(i64::MAX, |ms| self.now_ms.saturating_add(ms)),
        }
    }

    /// Records how a Task attempt ended (its handler's answer, now or later) and goes on:
    /// the state completes, or the failure goes to Retry and Catch.
    fn task_ended(
        &mut self,
        top: usize,
        state: &'a StateDef,
        result: Result<Value<'a>, Failure>,
    ) -> Result<Flow, Failure> {
        let events = TaskEvents::of_state(state);
        match result {
            Ok(result) => {
                self.event(events.succeeded, Some(state.name), EventData::Output(result));
                self.complete(top, state, result)
            }
            Err(failure) => {
                let data = EventData::Failure {
                    error: failure.error.as_deref(),
                    cause: failure.cause.as_deref(),
                };
                self.event(events.failed, Some(state.name), data);
                Err(failure)
            }
        }
    }

    /// A Task that answers later ran past its `TimeoutSeconds` (`error` is
    /// `States.Timeout`) or missed a heartbeat (`States.HeartbeatTimeout`).
    ///
    /// The cause is empty: AWS's `TaskTimedOut` event for a task timeout has the error and
    /// no cause (recorded for Lambda tasks), and the developer guide shows no cause text for
    /// either timeout, so none is invented.
    fn task_timed_out(&mut self, top: usize, error: &'static str) -> Result<Flow, Failure> {
        let state = self.program.state(self.frames[top].state);
        let events = TaskEvents::of_state(state);
        self.event(
            events.timed_out,
            Some(state.name),
            EventData::Failure {
                error: Some(error),
                cause: None,
            },
        );
        self.frames[top].phase = Phase::Attempt;
        Err(Failure::new(Some(Cow::Borrowed(error)), None))
    }

    /// `value` (a task's result, a state's effective input or its output) when it is within
    /// the payload limit; else frame `top`'s state fails with States.DataLimitExceeded.
    #[inline]
    fn within_limit(&self, top: usize, value: Value<'a>) -> Result<Value<'a>, Failure> {
        if exceeds_limit(value) {
            return Err(self.data_limit(top));
        }
        Ok(value)
    }

    /// Calls a Task's handler on its effective input: its result now, or the token of a
    /// task that answers later.
    fn call_task(&mut self, top: usize, task: &'a TaskDef, effective: Value<'a>) -> Result<TaskStart<'a>, Failure> {
        let (handler, input) = match task.flavor {
            TaskFlavor::LambdaInvoke => {
                let function = effective.get("FunctionName").and_then(|f| f.as_str());
                (
                    function.and_then(|f| self.registry.get(f)),
                    effective.get("Payload").unwrap_or(Value::EMPTY_OBJECT),
                )
            }
            _ => (self.handlers[task.resource.0 as usize].as_ref(), effective),
        };
        let Some(handler) = handler else {
            return Err(Failure::new(
                Some(names::TASK_FAILED.into()),
                Some(format!(
                    "No handler is registered for the resource '{}'.",
                    task.resource_name
                )),
            ));
        };
        let arena = self.arena;
        let mut context = TaskContext::new(self.tokens);
        let reply = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            handler.start(input, arena, &mut context)
        }));
        let result = match reply {
            Ok(TaskReply::Done(result)) => result,
            Ok(TaskReply::Pending) => match context.taken() {
                Some(token) => return Ok(TaskStart::Pending(token)),
                None => Err(TaskFailure::new(
                    names::TASK_FAILED,
                    "The task handler answered later without taking a task token.",
                )),
            },
            Err(panic) => {
                let message = crate::error::panic_message(&*panic);
                Err(TaskFailure::new(
                    names::TASK_FAILED,
                    format!("The task handler panicked: {message}"),
                ))
            }
        };
        if let (Some(token), Some(issuer)) = (context.taken(), self.tokens) {
            // Taken, but the handler answered now (or panicked): nothing will await it.
            issuer.retire(token);
        }
        match result {
            Ok(value) => {
                let value = match task.flavor {
                    TaskFlavor::LambdaInvoke => lambda_invoke_result(arena, value),
                    _ => value,
                };
                self.within_limit(top, value).map(TaskStart::Done)
            }
            Err(TaskFailure::Error { error, cause }) => Err(Failure::new(Some(Cow::Owned(error)), cause)),
            Err(TaskFailure::Function {
                error_type,
                error_message,
            }) => {
                let cause = lambda_error_cause(&error_type, &error_message, task.flavor == TaskFlavor::LambdaInvoke);
                Err(Failure::new(Some(Cow::Owned(error_type)), Some(cause)))
            }
        }
    }

    #[cold]
    fn data_limit(&self, top: usize) -> Failure {
        let name = self.program.state(self.frames[top].state).name;
        Failure::new(Some(names::DATA_LIMIT_EXCEEDED.into()), Some(data_limit_cause(name)))
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
        self.event("ChoiceStateExited", Some(state.name), EventData::Output(output));
        self.go_to(top, next, output);
        Ok(Flow::Continue)
    }

    fn go_to(&mut self, top: usize, next: StateId, input: Value<'a>) {
        let frame = &mut self.frames[top];
        frame.state = next;
        frame.input = input;
        frame.phase = Phase::Enter;
    }

    /// Runs `Assign`, evaluated against the variables as they were when the state was
    /// entered, and stores the values in the frame's scope.
    #[inline]
    fn assign(
        &mut self,
        top: usize,
        assign: Option<&'a Payload>,
        jsonpath_input: Value<'a>,
        context: Value<'a>,
        extra: Option<Member<'a>>,
    ) -> Result<(), Failure> {
        match assign {
            Some(assign) => self.assign_variables(top, assign, jsonpath_input, context, extra),
            None => Ok(()),
        }
    }

    /// [`assign`](Self::assign) when the state has an `Assign` field.
    fn assign_variables(
        &mut self,
        top: usize,
        assign: &'a Payload,
        jsonpath_input: Value<'a>,
        context: Value<'a>,
        extra: Option<Member<'a>>,
    ) -> Result<(), Failure> {
        let assigned = self.eval_payload(top, assign, &self.payload_input(top, jsonpath_input, context, extra))?;
        let Some(members) = assigned.as_object() else {
            return Ok(());
        };
        self.check_variable_limits(top, members)?;
        let frame = &mut self.frames[top];
        let old = frame.variables.local;
        let mut merged: BumpVec<Member<'a>> = BumpVec::with_capacity_in(old.len() + members.len(), self.arena);
        merged.extend(
            old.iter()
                .filter(|(k, _)| !members.iter().any(|(n, _)| n == k))
                .copied(),
        );
        merged.extend(members.iter().copied());
        frame.variables.local = merged.into_bump_slice();
        Ok(())
    }

    /// AWS's variable quotas: 256 KiB per variable, 256 KiB per `Assign`, 10 MiB for all
    /// of an execution's variables. Exceeding one fails the state with
    /// `States.DataLimitExceeded`.
    fn check_variable_limits(&mut self, top: usize, members: &[Member<'a>]) -> Result<(), Failure> {
        let state = self.program.state(self.frames[top].state).name;
        let too_large = |what: &str| {
            Failure::new(
            Some(names::DATA_LIMIT_EXCEEDED.into()),
            Some(format!(
                "The state/task '{state}' assigned {what} with a size exceeding the maximum number of bytes service limit."
            )),
        )
        };
        let mut assign_bytes = 0;
        for (name, value) in members {
            let bytes = value.json_len();
            if bytes > VARIABLE_LIMIT {
                return Err(too_large(&format!("the variable '{name}'")));
            }
            assign_bytes += bytes;
        }
        if assign_bytes > VARIABLE_LIMIT {
            return Err(too_large("variables"));
        }
        self.variable_bytes += assign_bytes;
        if self.variable_bytes > EXECUTION_VARIABLES_LIMIT {
            return Err(too_large("variables that bring the execution's total"));
        }
        Ok(())
    }

    /// The state's output from its raw input and result: ResultSelector, ResultPath and
    /// OutputPath (JSONPath), or Output (JSONata; the result when absent).
    fn output(
        &self,
        top: usize,
        raw_input: Value<'a>,
        result: Value<'a>,
        context: Value<'a>,
    ) -> Result<Value<'a>, Failure> {
        let state = self.program.state(self.frames[top].state);
        match state.language {
            QueryLanguage::JsonPath => {
                let selected = match &state.result_selector {
                    Some(p) => self.eval_payload(top, p, &self.payload_input(top, result, context, None))?,
                    None => result,
                };
                let merged = self.result_path(top, &state.result_path, raw_input, selected)?;
                self.eval_path(top, &state.output_path, merged, context)
            }
            QueryLanguage::Jsonata => match &state.output {
                Some(p) => self.eval_payload(
                    top,
                    p,
                    &self.payload_input(top, raw_input, context, Some(("result", result))),
                ),
                None => Ok(result),
            },
        }
    }

    /// Completes frame `top`'s `state` with `result`: output processing, Assign, the exit
    /// event and the transition.
    fn complete(&mut self, top: usize, state: &'a StateDef, result: Value<'a>) -> Result<Flow, Failure> {
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
        if exceeds_limit(output) {
            return Err(self.data_limit(top));
        }
        self.event(state.exited_event, Some(state.name), EventData::Output(output));
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
        if matches!(state.op, Op::Pass { result: Some(_) }) && exceeds_limit(result) {
            return Err(self.data_limit(top));
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

    /// Ends the top frame with its graph's output or failure, and hands it to the frame that
    /// started it (or ends the execution).
    fn end_frame(&mut self, end: Result<Value<'a>, Failure>) -> Result<Flow, Failure> {
        self.frames.pop();
        let Some(parent) = self.frames.len().checked_sub(1) else {
            self.ended = Some(end);
            return Ok(Flow::Done);
        };
        let state = self.program.state(self.frames[parent].state);
        let is_map = matches!(self.frames[parent].phase, Phase::Map(_));
        let arena = self.arena;
        let fanout = self.fanout_mut(parent);
        fanout.in_progress -= 1;
        let index = fanout.running;
        match end {
            Ok(output) => {
                fanout.results[index] = output;
                if is_map {
                    self.event("MapIterationSucceeded", Some(state.name), EventData::Output(output));
                }
                self.schedule(parent)
            }
            Err(failure) => {
                fanout.failures += 1;
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
                let data = EventData::Failure {
                    error: failure.error.as_deref(),
                    cause: failure.cause.as_deref(),
                };
                if is_map {
                    self.event("MapIterationFailed", Some(state.name), data);
                }
                if tolerated {
                    return self.schedule(parent);
                }
                let failed = if is_map {
                    "MapStateFailed"
                } else {
                    "ParallelStateFailed"
                };
                self.event(failed, Some(state.name), data);
                if is_map && has_tolerance {
                    return Err(Failure::new(
                        Some(names::EXCEED_TOLERATED_FAILURE_THRESHOLD.into()),
                        Some("The specified tolerated failure threshold was exceeded".into()),
                    ));
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
                        let context = with_map_item(self.arena, context, index, item);
                        let payload_input = self.payload_input(top, f.input, context, None);
                        self.eval_payload(top, selector, &payload_input)?
                    }
                    None => item,
                };
                self.event("MapIterationStarted", Some(state.name), EventData::Input(input));
                (map.processor, input)
            }
            _ => unreachable!("start_child runs on a Parallel or Map frame"),
        };
        let fanout = self.fanout_mut(top);
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
            let Ok(output) = pass_output(arena, child, input, variables, Value::EMPTY_OBJECT) else {
                return false;
            };
            if exceeds_limit(output) {
                return false;
            }
            if self.history.is_none() {
                // Nobody records the child's events: they are only counted.
                self.events += if is_map { MAP_ITEM_EVENTS } else { BRANCH_EVENTS };
            } else {
                if is_map {
                    self.event("MapIterationStarted", Some(state.name), EventData::Input(input));
                }
                self.event(child.entered_event, Some(child.name), EventData::Input(input));
                self.event(child.exited_event, Some(child.name), EventData::Output(output));
                if is_map {
                    self.event("MapIterationSucceeded", Some(state.name), EventData::Output(output));
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
        let (arena, variables) = (self.arena, self.frames[top].variables);
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
            if exceeds_limit(output) {
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
        let results = Value::array(results);
        let state = self.program.state(self.frames[top].state);
        let succeeded = if state.type_name == "Map" {
            "MapStateSucceeded"
        } else {
            "ParallelStateSucceeded"
        };
        self.event(succeeded, Some(state.name), EventData::None);
        if exceeds_limit(results) {
            return Err(self.data_limit(top));
        }
        self.complete(top, state, results)
    }

    /// Evaluates a Map state's items and limits.
    fn start_map(
        &self,
        top: usize,
        map: &'a MapDef,
        raw_input: Value<'a>,
        after_input_path: Value<'a>,
        context: Value<'a>,
    ) -> Result<Fanout<'a>, EvalError> {
        let state = self.program.state(self.frames[top].state);
        let input = self.payload_input(top, after_input_path, context, None);
        let items = match (state.language, &map.items) {
            (QueryLanguage::Jsonata, Some(items)) => {
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
            _ => {
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
        Ok(Fanout {
            tolerated_count,
            tolerated_percentage,
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
        let a = self.arena;
        let batches = a.alloc_slice_fill_iter(items.chunks(size).map(|chunk| {
            let mut members: SmallVec<[Member<'a>; 2]> = SmallVec::new();
            if let Some(Value::Object(extra, _)) = batch_input {
                members.push(("BatchInput", Value::object(extra)));
            }
            members.push(("Items", Value::array(chunk)));
            a.object(&members)
        }));
        Ok(batches)
    }

    /// Evaluates a number field; `integer` selects the integer rules (and AWS's wording).
    fn number(
        &self,
        spec: &'a NumberSpec,
        scope: &Scope<'a>,
        env: &JsonataEnv<'a>,
        integer: bool,
    ) -> Result<f64, EvalError> {
        let kind = if integer { "integer" } else { "float" };
        match spec {
            NumberSpec::Literal(n) => Ok(*n),
            NumberSpec::Path(path, field) => {
                let value = path.eval(self.arena, scope)?;
                // AWS (Jackson) also accepts a string holding the number, such as "1".
                let n = match value {
                    Value::String(s) if integer => s.trim().parse::<i64>().ok().map(|i| i as f64),
                    Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
                    _ => value
                        .as_number()
                        .filter(|n| !integer || n.is_integral())
                        .map(|n| n.as_f64()),
                };
                n.ok_or_else(|| {
                    let shown = match value {
                        Value::String(s) => s.to_string(),
                        other => other.to_json_string(),
                    };
                    EvalError::runtime(format!(
                        "The {field} field refers to value \"{shown}\" which is not a valid {kind}: {}",
                        path.text()
                    ))
                })
            }
            NumberSpec::Jsonata(expr, field) => {
                let value = expr.eval(self.arena, env, field)?;
                value.as_number().filter(|n| !integer || n.is_integral()).map(|n| n.as_f64()).ok_or_else(|| {
                    EvalError::new(
                        names::QUERY_EVALUATION_ERROR,
                        format!(
                            "The JSONata expression '{}' specified for the field '{field}' returned an unexpected result type. Expected '{kind}', but was '{}' for value: {value}",
                            expr.text(),
                            value.type_name()
                        ),
                    )
                })
            }
        }
    }

    /// When a Wait state's wait ends (epoch ms).
    fn wait_until(
        &self,
        top: usize,
        wait: &'a WaitDef,
        input: Value<'a>,
        context: Value<'a>,
    ) -> Result<i64, EvalError> {
        let payload_input = self.payload_input(top, input, context, None);
        let scope = payload_input.scope;
        let env = payload_input.jsonata_env();
        match wait {
            WaitDef::Seconds(NumberSpec::Path(path, _)) => {
                let value = path.eval_opt(self.arena, &scope).ok_or_else(|| {
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
                Ok(self.now_ms.saturating_add((n.as_f64() * 1000.0) as i64))
            }
            WaitDef::Seconds(spec) => {
                let seconds = self.number(spec, &scope, &env, true)?;
                Ok(self.now_ms.saturating_add((seconds.max(0.0) * 1000.0) as i64))
            }
            WaitDef::Timestamp(ms) => Ok(*ms),
            WaitDef::TimestampPath(path) => {
                let value = path.eval(self.arena, &scope)?;
                timestamp_ms(value).map_err(|text| {
                    EvalError::runtime(format!(
                        "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {} == {text}",
                        path.text()
                    ))
                })
            }
            WaitDef::TimestampExpr(payload) => {
                let value = payload.eval(self.arena, &payload_input)?;
                timestamp_ms(value).map_err(|text| {
                    EvalError::new(
                        names::QUERY_EVALUATION_ERROR,
                        format!("The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: {text}"),
                    )
                })
            }
        }
    }

    /// Handles a failure of the top frame's state: Retry, then Catch, then hand it to the
    /// enclosing frame (which fails in turn) or end the execution.
    fn fail(&mut self, mut failure: Failure) -> Flow {
        loop {
            let top = self.top();
            // A Parallel/Map state failing on its own (not through a child) stops its children.
            self.abandon_children(top);
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
                if let Some(catcher) = state.catch.iter().find(|c| error_matches(&c.error_equals, error)) {
                    match self.catch(top, catcher, &failure) {
                        Ok(()) => return Flow::Continue,
                        Err(f) => {
                            // Output processing of the catcher failed: that failure ends the frame.
                            failure = f;
                        }
                    }
                }
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
        self.event(state.exited_event, Some(state.name), EventData::Output(output));
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

/// The field a computed number came from (literals are checked by the parser).
fn computed_field(spec: &NumberSpec) -> Option<&'static str> {
    match spec {
        NumberSpec::Literal(_) => None,
        NumberSpec::Path(_, field) | NumberSpec::Jsonata(_, field) => Some(field),
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

/// Adds `Map.Item` (`Index`, `Value`) to a context object.
fn with_map_item<'a>(arena: &'a Arena, context: Value<'a>, index: usize, item: Value<'a>) -> Value<'a> {
    let map = arena.object(&[(
        "Item",
        arena.object(&[("Index", Value::int(index as i64)), ("Value", item)]),
    )]);
    with_member(arena, context, "Map", map)
}

/// `ResultPath` `spec`: places `result` into `raw_input` (the whole result when absent,
/// the raw input unchanged when `null`).
#[inline]
fn apply_result_path<'a>(
    arena: &'a Arena,
    spec: &'a PathSpec,
    raw_input: Value<'a>,
    result: Value<'a>,
) -> Result<Value<'a>, EvalError> {
    match spec {
        PathSpec::Whole => Ok(result),
        PathSpec::Null => Ok(raw_input),
        PathSpec::Path(p) => p.set(arena, raw_input, result),
    }
}

/// InputPath or OutputPath `spec` applied to `scope`'s input.
fn select_path<'a>(arena: &'a Arena, spec: &'a PathSpec, scope: &Scope<'a>) -> Result<Value<'a>, EvalError> {
    match spec {
        PathSpec::Whole => Ok(scope.input),
        PathSpec::Null => Ok(Value::EMPTY_OBJECT),
        PathSpec::Path(path) => path.eval(arena, scope).map_err(EvalError::from),
    }
}

/// The cause of `States.DataLimitExceeded` for a result of state `name`.
#[cold]
fn data_limit_cause(name: &str) -> String {
    format!(
        "The state/task '{name}' returned a result with a size exceeding the maximum number of bytes service limit."
    )
}

/// Whether a value's JSON text is over [`PAYLOAD_LIMIT`].
#[inline(always)]
fn exceeds_limit(value: Value<'_>) -> bool {
    value.json_len_exceeds(PAYLOAD_LIMIT)
}

/// A `ResultPath: null` state's output, `input`, once the `effective` input it drops is
/// known to be within the payload limit (out of line: it is rare).
#[cold]
#[inline(never)]
fn discarded_within_limit<'a>(
    state: &StateDef,
    input: Value<'a>,
    effective: Value<'a>,
) -> Result<Value<'a>, EvalError> {
    within_payload_limit(state, effective).map(|_| input)
}

/// [`Execution::within_limit`] for [`pass_output`]: `value`, or `state`'s
/// States.DataLimitExceeded.
#[inline(always)]
fn within_payload_limit<'a>(state: &StateDef, value: Value<'a>) -> Result<Value<'a>, EvalError> {
    if exceeds_limit(value) {
        return Err(EvalError::bare(
            names::DATA_LIMIT_EXCEEDED,
            data_limit_cause(state.name),
        ));
    }
    Ok(value)
}

/// Formats epoch milliseconds as AWS prints times in the context object.
pub fn iso_time(ms: i64) -> String {
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        None => "1970-01-01T00:00:00.000Z".to_string(),
    }
}

/// Wraps a Lambda result as `arn:aws:states:::lambda:invoke` returns it.
fn lambda_invoke_result<'a>(arena: &'a Arena, payload: Value<'a>) -> Value<'a> {
    arena.object(&[
        ("ExecutedVersion", Value::String("$LATEST")),
        ("Payload", payload),
        ("SdkHttpMetadata", arena.object(&[("HttpStatusCode", Value::int(200))])),
        ("SdkResponseMetadata", Value::EMPTY_OBJECT),
        ("StatusCode", Value::int(200)),
    ])
}

/// The cause Step Functions reports for a Lambda function that raised.
fn lambda_error_cause(error_type: &str, message: &str, compact: bool) -> String {
    let arena = Arena::new();
    let cause = arena.object(&[
        ("errorMessage", Value::String(message)),
        ("errorType", Value::String(error_type)),
        ("requestId", Value::String("00000000-0000-0000-0000-000000000000")),
        (
            "stackTrace",
            arena.array(&[Value::String("  File \"/var/task/handler.py\", line 2, in handler\n")]),
        ),
    ]);
    let text = cause.to_json_string();
    if compact {
        text
    } else {
        spaced_json(&text)
    }
}

/// Re-spaces compact JSON the way Python's `json.dumps` does (`": "`, `", "`).
fn spaced_json(compact: &str) -> String {
    let mut out = String::with_capacity(compact.len() + 16);
    let mut in_string = false;
    let mut escaped = false;
    for c in compact.chars() {
        out.push(c);
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else {
            match c {
                '"' => in_string = true,
                ':' | ',' => out.push(' '),
                _ => {}
            }
        }
    }
    out
}

/// The output of a [`StateDef::pure_pass`] state from its raw `input`: InputPath,
/// Parameters, `Result` (checked against the payload limit), ResultPath and OutputPath,
/// with the errors in AWS's order. Pure (an object a ResultPath extends in place in the arena
/// is only ever handed out anew), so a frameless child that fails can be run again in a frame.
#[inline(always)]
fn pass_output<'a>(
    arena: &'a Arena,
    state: &'a StateDef,
    input: Value<'a>,
    variables: Variables<'a>,
    context: Value<'a>,
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
                PathSpec::Null => discarded_within_limit(state, input, effective),
                PathSpec::Path(path) => path.set(arena, input, effective),
            };
        }
    }
    pass_output_in_full(arena, state, input, scope)
}

/// [`pass_output`] past its usual case, every field applied (out of line, so that the usual
/// case stays small where it is inlined).
#[inline(never)]
fn pass_output_in_full<'a>(
    arena: &'a Arena,
    state: &'a StateDef,
    input: Value<'a>,
    scope: impl Fn(Value<'a>) -> Scope<'a>,
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
                },
            )?,
        )?,
        None => effective,
    };
    let result = match state.op {
        Op::Pass { result: Some(result) } => within_payload_limit(state, result)?,
        _ => effective,
    };
    let merged = apply_result_path(arena, &state.result_path, input, result)?;
    match &state.output_path {
        PathSpec::Whole => Ok(merged),
        spec => select_path(arena, spec, &scope(merged)),
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
