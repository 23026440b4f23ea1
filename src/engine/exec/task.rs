//! Task states: calling a task's handler, and the tasks an execution awaits (their
//! deadlines, and the answers and heartbeats delivered for them).

use std::borrow::Cow;

use crate::error::{names, EvalError};
use crate::exec::ExecutionInfo;
use crate::history::{EventData, EventDetail};
use crate::machine::TaskBinding;
use crate::mock::{MockAnswer, MockedState};
use crate::payload::{JsonataEnv, NumberSpec, PayloadInput};
use crate::program::*;
use crate::tasks::{TaskContext, TaskFailure, TaskReply, TaskToken, TaskTokenError};
use crate::value::{Arena, ArenaExt, Value};

use super::{visit_frame, Execution, Failure, Flow, Frame, Link, Phase, DEFAULT_TASK_TIMEOUT_SECONDS};

/// A task attempt that completes later.
///
/// Its `TimeoutSeconds` counts from the attempt's `TaskStarted` (every retry starts a new
/// one); its `HeartbeatSeconds` from `TaskStarted`, then from the last heartbeat. Either
/// running out fails the attempt (`States.Timeout`, as AWS reports both) through the
/// state's Retry and Catch. An activity's `TimeoutSeconds` counts from `ActivityScheduled`,
/// its `HeartbeatSeconds` from `ActivityStarted` ([`Execution::start_activity`]: a worker
/// took it).
#[derive(Debug)]
pub(super) struct AwaitedTask {
    pub(super) token: TaskToken,
    /// When `TimeoutSeconds` runs out (epoch ms).
    pub(super) timeout_at_ms: i64,
    /// `HeartbeatSeconds` in ms, when given.
    heartbeat_ms: Option<i64>,
    /// When the next heartbeat is due (epoch ms; `i64::MAX` without `HeartbeatSeconds`,
    /// and for an activity no worker has taken yet).
    heartbeat_due_ms: i64,
    /// An activity that no worker has taken yet (no `ActivityStarted`).
    unstarted_activity: bool,
}

impl AwaitedTask {
    /// When the execution must be resumed to time the task out.
    pub(super) fn deadline_ms(&self) -> i64 {
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
        const ACTIVITY: TaskEvents = TaskEvents {
            scheduled: "ActivityScheduled",
            started: "ActivityStarted",
            succeeded: "ActivitySucceeded",
            failed: "ActivityFailed",
            timed_out: "ActivityTimedOut",
        };
        match flavor {
            TaskFlavor::LambdaArn => &LAMBDA,
            TaskFlavor::Activity => &ACTIVITY,
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

/// The task of `state`, a Task.
fn task_of(state: &StateDef) -> Option<&TaskDef> {
    match &state.op {
        Op::Task(task) => Some(task),
        _ => None,
    }
}

/// What the task events of `task` report besides their data: for a service integration its
/// resource type and resource (`TaskScheduled` adds the region and the state's timeouts);
/// for a Lambda function or an activity, the ARN and timeouts on its scheduled event and
/// nothing on the others.
fn task_detail<'a>(
    task: Option<&'a TaskDef>,
    info: &'a ExecutionInfo,
    scheduled: bool,
    timeout_seconds: Option<f64>,
    heartbeat_seconds: Option<f64>,
) -> EventDetail<'a> {
    let Some(task) = task else {
        return EventDetail::None;
    };
    let timeout_seconds = timeout_seconds.map(|s| s as i64);
    let heartbeat_seconds = heartbeat_seconds.map(|s| s as i64);
    match task.flavor {
        TaskFlavor::LambdaArn | TaskFlavor::Activity if scheduled => EventDetail::Scheduled {
            resource: task.resource_name,
            timeout_seconds,
            heartbeat_seconds: heartbeat_seconds.filter(|_| task.flavor == TaskFlavor::Activity),
        },
        TaskFlavor::LambdaArn | TaskFlavor::Activity => EventDetail::None,
        TaskFlavor::LambdaInvoke | TaskFlavor::Plain => EventDetail::Task {
            resource_type: task.resource_type,
            resource: task.resource_action,
            region: &info.region,
            timeout_seconds,
            heartbeat_seconds,
        },
    }
}

/// What a handler answered.
enum TaskStart<'a> {
    /// A result now.
    Done(Value<'a>),
    /// Later, for this token.
    Pending(TaskToken),
}

/// The frame among `frame` and its parked children (depth first) whose task awaits `token`.
fn find_awaiting<'f, 'a>(frame: &'f mut Frame<'a>, token: TaskToken) -> Option<&'f mut Frame<'a>> {
    match &frame.phase {
        Phase::AwaitingTask(task) if task.token == token => return Some(frame),
        Phase::MapIo(io) if io.awaited.token == token && !io.answered => return Some(frame),
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

impl<'a> Execution<'a> {
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
        self.for_each_frame(|frame| match &frame.phase {
            Phase::AwaitingTask(task) => f(task.token, task.deadline_ms().min(execution_deadline)),
            Phase::MapIo(io) if !io.answered => f(io.awaited.token, io.awaited.deadline_ms().min(execution_deadline)),
            _ => {}
        });
    }

    /// The awaited task due first, if any (with its deadline, bounded by the execution's).
    pub(super) fn first_awaited(&self) -> Option<(TaskToken, i64)> {
        let mut first: Option<(TaskToken, i64)> = None;
        self.for_each_awaited(|token, deadline| {
            if first.is_none_or(|(_, earliest)| deadline < earliest) {
                first = Some((token, deadline));
            }
        });
        first
    }

    /// Hands every awaited task's token back to the issuer (the execution ended or gave up
    /// those tasks): answers for them are refused from then on.
    pub(super) fn retire_awaited(&self, frame: &Frame<'a>) {
        let Some(issuer) = self.tokens else {
            return;
        };
        visit_frame(frame, &mut |frame| match &frame.phase {
            Phase::AwaitingTask(task) => issuer.retire(task.token),
            Phase::MapIo(io) if !io.answered => issuer.retire(io.awaited.token),
            _ => {}
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
        self.fail_task_with(token, Some(error.into()), Some(cause.into()))
    }

    /// [`fail_task`](Self::fail_task) with the error and the cause each optional:
    /// `SendTaskFailure` may send neither, and the failure event then has neither.
    pub fn fail_task_with(
        &mut self,
        token: TaskToken,
        error: Option<String>,
        cause: Option<String>,
    ) -> Result<(), TaskTokenError> {
        let failure = Failure::new(error.map(Cow::Owned), cause);
        self.answer_task(token, Err(failure))
    }

    fn answer_task(&mut self, token: TaskToken, answer: Result<Value<'a>, Failure>) -> Result<(), TaskTokenError> {
        let frame = self
            .awaiting_frame_mut(token)
            .ok_or(TaskTokenError::NotAwaiting(token))?;
        match &mut frame.phase {
            Phase::MapIo(io) => io.answered = true,
            phase => *phase = Phase::TaskAnswered(token),
        }
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
        if let (Some(heartbeat_ms), false) = (task.heartbeat_ms, task.unstarted_activity) {
            task.heartbeat_due_ms = now_ms.saturating_add(heartbeat_ms);
        }
        Ok(self.next_wake_ms())
    }

    /// Records that a worker took the activity task awaiting `token` at `now_ms` (AWS's
    /// `GetActivityTask` handing it out): its `ActivityStarted` event, with `worker_name`
    /// when the worker gave one, and its `HeartbeatSeconds` count from then. Fails with
    /// [`TaskTokenError::NotAwaiting`] when no activity task that has not started awaits
    /// `token` (it is not an activity's, a worker already took it, it ended or timed out).
    pub fn start_activity(
        &mut self,
        token: TaskToken,
        worker_name: Option<&str>,
        now_ms: i64,
    ) -> Result<(), TaskTokenError> {
        let not_awaiting = TaskTokenError::NotAwaiting(token);
        // The frame on the stack runs at `self.tip`; a parked one keeps its own.
        let on_stack = self
            .frames
            .iter()
            .any(|frame| matches!(&frame.phase, Phase::AwaitingTask(task) if task.token == token));
        let running_tip = self.tip;
        let program = self.program;
        let frame = self.awaiting_frame_mut(token).ok_or(not_awaiting.clone())?;
        let Phase::AwaitingTask(task) = &mut frame.phase else {
            return Err(not_awaiting);
        };
        if !task.unstarted_activity || now_ms >= task.deadline_ms() {
            return Err(not_awaiting);
        }
        task.unstarted_activity = false;
        if let Some(heartbeat_ms) = task.heartbeat_ms {
            task.heartbeat_due_ms = now_ms.saturating_add(heartbeat_ms);
        }
        let name = program.state(frame.state).name;
        let previous = if on_stack { running_tip } else { frame.tip };
        self.now_ms = self.now_ms.max(now_ms);
        self.record(
            "ActivityStarted",
            Some(name),
            EventData::None,
            Link::SideFrom(previous),
            |_| EventDetail::Worker { name: worker_name },
        );
        let id = self.events;
        if on_stack {
            self.tip = id;
        } else if let Some(frame) = self.awaiting_frame_mut(token) {
            frame.tip = id;
        }
        Ok(())
    }

    /// Takes the answer delivered to the task of `token`.
    pub(super) fn take_answer(&mut self, token: TaskToken) -> Option<Result<Value<'a>, Failure>> {
        let position = self.task_answers.iter().position(|(t, _)| *t == token)?;
        Some(self.task_answers.swap_remove(position).1)
    }

    /// The step of [`attempt_chain`](Self::attempt_chain) for a [`StateDef::plain_task`]
    /// state: the raw input goes to the handler as it is. Apart, so that the chain's loop
    /// stays small.
    #[inline(never)]
    pub(super) fn attempt_plain_task(
        &mut self,
        top: usize,
        state: &'a StateDef,
        task: &'a TaskDef,
    ) -> Result<Flow, Failure> {
        let input = self.frames[top].input;
        self.run_task(top, state, task, input, None, None)
    }

    /// [`attempt`](Self::attempt) for an [`issues_token`](StateDef::issues_token) Task
    /// (`.waitForTaskToken`): the attempt's token is issued first, so that its `Parameters` /
    /// `Arguments` read it as `$$.Task.Token`, and the handler gets the same one. Unless the
    /// attempt ends awaiting it (its evaluation failed, or the handler or mock answered at
    /// once), it is retired.
    #[cold]
    #[inline(never)]
    pub(super) fn attempt_token_task(&mut self, top: usize, state: &'a StateDef) -> Result<Flow, Failure> {
        let token = self.tokens.map_or_else(TaskToken::unique, |issuer| issuer.issue());
        let context = self.context_with_token(top, token);
        self.issued = Some(token);
        let flow = self.attempt_in(top, state, context);
        self.issued = None;
        let awaited = matches!(
            self.frames.get(top).map(|frame| &frame.phase),
            Some(Phase::AwaitingTask(task)) if task.token == token
        );
        if let (false, Some(issuer)) = (awaited, self.tokens) {
            issuer.retire(token);
        }
        flow
    }

    /// Schedules and starts `task` on its `effective` input: an answer now completes (or
    /// fails) the state, a later one parks the frame until it comes or its deadlines pass.
    #[inline(always)]
    pub(super) fn run_task(
        &mut self,
        top: usize,
        state: &'a StateDef,
        task: &'a TaskDef,
        effective: Value<'a>,
        timeout_seconds: Option<f64>,
        heartbeat_seconds: Option<f64>,
    ) -> Result<Flow, Failure> {
        if task.flavor == TaskFlavor::Activity {
            return self.run_activity(top, state, task, effective, timeout_seconds, heartbeat_seconds);
        }
        self.task_event(
            state,
            |events| events.scheduled,
            EventData::Input(effective),
            |info| task_detail(Some(task), info, true, timeout_seconds, heartbeat_seconds),
        );
        self.task_event(
            state,
            |events| events.started,
            EventData::None,
            |info| task_detail(Some(task), info, false, None, None),
        );
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

    /// [`run_task`](Self::run_task) for an activity: `ActivityScheduled`, then the handler
    /// (the activity's workers). A handler that answers later leaves the task waiting for a
    /// worker ([`start_activity`](Self::start_activity) records `ActivityStarted`); one that
    /// answers at once was the worker, which took it at once.
    #[cold]
    #[inline(never)]
    fn run_activity(
        &mut self,
        top: usize,
        state: &'a StateDef,
        task: &'a TaskDef,
        effective: Value<'a>,
        timeout_seconds: Option<f64>,
        heartbeat_seconds: Option<f64>,
    ) -> Result<Flow, Failure> {
        if matches!(self.handlers[task.slot as usize], TaskBinding::Unbound) {
            return Err(self.no_activity(top, task));
        }
        let events = TaskEvents::of(task.flavor);
        self.record(
            events.scheduled,
            Some(state.name),
            EventData::Input(effective),
            Link::Chain,
            |info| task_detail(Some(task), info, true, timeout_seconds, heartbeat_seconds),
        );
        let answer = match self.call_task(top, task, effective) {
            Ok(TaskStart::Done(result)) => Ok(result),
            Ok(TaskStart::Pending(token)) => {
                let mut awaited = self.awaited_task(token, timeout_seconds, heartbeat_seconds);
                // No worker has it yet: its heartbeats are due once one takes it.
                awaited.unstarted_activity = true;
                awaited.heartbeat_due_ms = i64::MAX;
                self.frames[top].phase = Phase::AwaitingTask(awaited);
                return Ok(Flow::Continue);
            }
            Err(failure) => Err(failure),
        };
        self.record(events.started, Some(state.name), EventData::None, Link::Chain, |_| {
            EventDetail::Worker { name: None }
        });
        self.task_ended(top, state, answer)
    }

    /// Records a task event of `state`, a Task: the type `which` picks from its events (only
    /// looked up for a sink).
    #[inline(always)]
    fn task_event<'d>(
        &mut self,
        state: &'a StateDef,
        which: fn(&'static TaskEvents) -> &'static str,
        data: EventData<'d>,
        detail: impl FnOnce(&'a ExecutionInfo) -> EventDetail<'d>,
    ) where
        'a: 'd,
    {
        if self.history.is_none() {
            self.events += 1;
            return;
        }
        let event_type = which(TaskEvents::of_state(state));
        self.record(event_type, Some(state.name), data, Link::Chain, detail);
    }

    /// An activity Task whose activity has no handler: AWS's failure for an activity that
    /// does not exist (`States.Runtime`, before any event of the task).
    #[cold]
    fn no_activity(&self, top: usize, task: &TaskDef) -> Failure {
        let message = format!("The activity {} does not exist.", task.resource_name);
        self.eval_failure(top, EvalError::runtime(message))
    }

    /// Evaluates a Task's `TimeoutSeconds` or `HeartbeatSeconds` (a computed one must be a
    /// positive integer).
    pub(super) fn task_seconds(
        &self,
        top: usize,
        spec: Option<&'a NumberSpec>,
        input: &PayloadInput<'a>,
        env: &JsonataEnv<'a>,
    ) -> Result<Option<f64>, Failure> {
        task_seconds(self.arena, spec, input, env).map_err(|e| self.eval_failure(top, e))
    }

    /// The deadlines of a task attempt that started now and answers later.
    pub(super) fn awaited_task(
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
            unstarted_activity: false,
        }
    }

    /// Records how a Task attempt ended (its handler's answer, now or later) and goes on:
    /// the state completes, or the failure goes to Retry and Catch.
    pub(super) fn task_ended(
        &mut self,
        top: usize,
        state: &'a StateDef,
        result: Result<Value<'a>, Failure>,
    ) -> Result<Flow, Failure> {
        let detail = |info| task_detail(task_of(state), info, false, None, None);
        match result {
            Ok(result) => {
                self.task_event(state, |events| events.succeeded, EventData::Output(result), detail);
                self.complete(top, state, result)
            }
            Err(failure) => {
                let data = EventData::Failure {
                    error: failure.error.as_deref(),
                    cause: failure.cause.as_deref(),
                };
                self.task_event(state, |events| events.failed, data, detail);
                Err(failure)
            }
        }
    }

    /// A Task that answers later ran past its `TimeoutSeconds` (`error` is
    /// `States.Timeout`) or missed a heartbeat (also `States.Timeout`, as recorded on AWS).
    ///
    /// The cause is empty: AWS's `TaskTimedOut` event for a task timeout has the error and
    /// no cause (recorded for Lambda tasks), and the developer guide shows no cause text for
    /// either timeout, so none is invented.
    pub(super) fn task_timed_out(&mut self, top: usize, error: &'static str) -> Result<Flow, Failure> {
        let state = self.program.state(self.frames[top].state);
        let events = TaskEvents::of_state(state);
        self.record(
            events.timed_out,
            Some(state.name),
            EventData::Failure {
                error: Some(error),
                cause: None,
            },
            Link::Chain,
            |info| task_detail(task_of(state), info, false, None, None),
        );
        self.frames[top].phase = Phase::Attempt;
        Err(Failure::new(Some(Cow::Borrowed(error)), None))
    }

    /// Calls a Task's handler on its effective input: its result now, or the token of a
    /// task that answers later (the [`issued`](Execution::issued) one, when there is one: the
    /// handler's context holds it). A token the handler took but will not be awaited is
    /// retired here; an issued one is left to [`attempt_token_task`](Self::attempt_token_task).
    fn call_task(&mut self, top: usize, task: &'a TaskDef, effective: Value<'a>) -> Result<TaskStart<'a>, Failure> {
        let mut wrap = task.flavor == TaskFlavor::LambdaInvoke;
        let (handler, input, called) = match &self.handlers[task.slot as usize] {
            TaskBinding::Handler(handler) => (Some(handler), effective, None),
            TaskBinding::ByFunctionName => {
                let function = effective.get("FunctionName").and_then(|f| f.as_str());
                match function.and_then(|f| self.registry.get_function(f)) {
                    Some(handler) => (
                        Some(handler),
                        effective.get("Payload").unwrap_or(Value::EMPTY_OBJECT),
                        None,
                    ),
                    // The resource's own handler (a service integration) takes the whole
                    // input and gives the whole result.
                    None => match self.registry.get(task.resource_name) {
                        Some(handler) => {
                            wrap = false;
                            (Some(handler), effective, None)
                        }
                        None => (None, effective, Some(function.unwrap_or_default())),
                    },
                }
            }
            TaskBinding::Unbound => (None, effective, None),
            TaskBinding::Mock(mock) => return self.call_mock(top, mock),
        };
        let Some(handler) = handler else {
            return Err(no_handler(called.unwrap_or(task.resource_name)));
        };
        let arena = self.arena;
        let mut context = TaskContext::new(self.tokens, self.issued);
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
            if self.issued.is_none() {
                issuer.retire(token);
            }
        }
        match result {
            Ok(value) => {
                let value = if wrap {
                    lambda_invoke_result(arena, value)
                } else {
                    value
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

    /// Answers an invocation of a mocked Task state with its mocked response: the `Return`
    /// as the result (as it is: a service integration's whole response), the `Throw` as the
    /// failure, and `States.Runtime` past the response's answers.
    #[cold]
    #[inline(never)]
    fn call_mock(&mut self, top: usize, mock: &'a MockedState) -> Result<TaskStart<'a>, Failure> {
        if self.mock_invocations.is_empty() {
            self.mock_invocations = self.arena.alloc_slice_fill_copy(mock.mocked as usize, 0);
        }
        let count = &mut self.mock_invocations[mock.index as usize];
        let invocation = *count;
        *count = invocation.saturating_add(1);
        match mock.response.answer(invocation) {
            Some(MockAnswer::Return(result)) => {
                let result = Value::from_serde(self.arena, result);
                self.within_limit(top, result).map(TaskStart::Done)
            }
            Some(MockAnswer::Throw { error, cause }) => {
                Err(Failure::new(Some(Cow::Owned(error.clone())), cause.clone()))
            }
            None => Err(Failure::new(
                Some(names::RUNTIME.into()),
                Some(mock.unanswered(invocation)),
            )),
        }
    }
}

/// A Task's `TimeoutSeconds(Path)` or `HeartbeatSeconds(Path)` (`spec`), evaluated: a
/// computed value must be positive.
pub(crate) fn task_seconds<'a>(
    arena: &'a Arena,
    spec: Option<&'a NumberSpec>,
    input: &PayloadInput<'a>,
    env: &JsonataEnv<'a>,
) -> Result<Option<f64>, EvalError> {
    let Some(spec) = spec else { return Ok(None) };
    let seconds = super::eval::eval_number(arena, spec, &input.scope, env, true)?;
    if let (true, Some(field)) = (seconds <= 0.0, computed_field(spec)) {
        return Err(EvalError::runtime(format!(
            "The {field} field must be a positive integer."
        )));
    }
    Ok(Some(seconds))
}

/// The field a computed number came from (literals are checked by the parser).
fn computed_field(spec: &NumberSpec) -> Option<&'static str> {
    match spec {
        NumberSpec::Literal(_) => None,
        NumberSpec::Path(_, field) | NumberSpec::Jsonata(_, field) => Some(field),
    }
}

/// Wraps a Lambda result as `arn:aws:states:::lambda:invoke` returns it.
pub(crate) fn lambda_invoke_result<'a>(arena: &'a Arena, payload: Value<'a>) -> Value<'a> {
    arena.object(&[
        ("ExecutedVersion", Value::String("$LATEST")),
        ("Payload", payload),
        ("SdkHttpMetadata", arena.object(&[("HttpStatusCode", Value::int(200))])),
        ("SdkResponseMetadata", Value::EMPTY_OBJECT),
        ("StatusCode", Value::int(200)),
    ])
}

/// The cause Step Functions reports for a Lambda function that raised.
pub(crate) fn lambda_error_cause(error_type: &str, message: &str, compact: bool) -> String {
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
pub(crate) fn spaced_json(compact: &str) -> String {
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

/// A Task whose resource (or, for `lambda:invoke`, whose function) has no handler: a setup
/// error, not a task failure, so `States.Runtime`, which no Retry or Catch takes.
#[cold]
fn no_handler(resource: &str) -> Failure {
    Failure::new(
        Some(names::RUNTIME.into()),
        Some(format!("No handler is registered for the resource '{resource}'.")),
    )
}
