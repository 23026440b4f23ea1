//! Tasks that answer later, in the runtime: the table of live task tokens, and how a
//! completion, failure or heartbeat sent from any thread reaches the execution awaiting it.
//!
//! A token is registered (with the route to the thread that runs its execution) when a
//! handler takes it, before the handler can hand it on, so a completion may arrive before
//! the execution has even parked. Sending a completion or failure *claims* the token:
//! removes it from the table, under its lock, and queues the message on the route (a
//! worker's inbox, which wakes the worker, or the channel of a thread running
//! [`Runtime::run_with`](super::Runtime::run_with)). A worker timing a task out claims the
//! token the same way, so exactly one of them wins, and a token that is not in the table
//! (never issued, already answered, timed out, or its execution aborted) is refused with
//! [`TaskTokenError::NotAwaiting`]. No thread ever blocks on a task.
//!
//! An execution may await several tasks at once (Parallel branches, Map iterations): before
//! it is resumed at a time, every one of its tasks due by then is claimed ([`claim_due`]),
//! since resuming times them out; if an answer claimed one first, the execution is resumed
//! once that answer has been delivered instead.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use crossbeam_deque::{Injector, Steal};
use crossbeam_utils::sync::Unparker;

use super::TimeSource;
use crate::error::names;
use crate::exec::Execution;
use crate::tasks::{TaskOutput, TaskToken, TaskTokenError, TokenIssuer};
use crate::value::Arena;

/// Where a task's answer goes: the thread that runs its execution.
#[derive(Clone)]
pub(crate) enum Route {
    /// Worker `usize`'s inbox.
    Worker(usize),
    /// A thread running one execution itself.
    Caller(Sender<TaskMessage>),
}

/// What was sent for a task.
pub(crate) enum Delivery {
    /// `SendTaskSuccess`.
    Succeed(TaskOutput),
    /// `SendTaskFailure`.
    Fail { error: String, cause: String },
    /// `SendTaskHeartbeat`, sent at `at_ms` (runtime time).
    Heartbeat { at_ms: i64 },
}

/// A delivery on its way to the execution awaiting `token`.
pub(crate) struct TaskMessage {
    pub(crate) token: TaskToken,
    pub(crate) delivery: Delivery,
}

/// What a message did to its execution.
pub(crate) enum Delivered {
    /// The task is answered: resume the execution.
    Answered,
    /// A heartbeat: the execution must now be resumed at this time if nothing else comes.
    Alive(i64),
    /// Nothing: the task no longer awaits (it timed out meanwhile).
    Stale,
}

/// Hands `message` to `execution`, whose values live in `arena`.
pub(crate) fn deliver<'a>(execution: &mut Execution<'a>, arena: &'a Arena, message: TaskMessage) -> Delivered {
    let TaskMessage { token, delivery } = message;
    let answered = match delivery {
        Delivery::Succeed(output) => match output.copy_in(arena) {
            Ok(value) => execution.complete_task(token, value),
            // Checked when sent: only a difference between the two JSON parsers gets here.
            Err(e) => execution.fail_task(token, names::RUNTIME, e.to_string()),
        },
        Delivery::Fail { error, cause } => execution.fail_task(token, error, cause),
        Delivery::Heartbeat { at_ms } => {
            return match execution.heartbeat_task(token, at_ms) {
                Ok(until_ms) => Delivered::Alive(until_ms),
                Err(_) => Delivered::Stale,
            }
        }
    };
    match answered {
        Ok(()) => Delivered::Answered,
        Err(_) => Delivered::Stale,
    }
}

/// Claims, to time them out, the tasks of `execution` that are due at `now` and not claimed
/// yet (`claimed` holds the ids of those claimed before, and gains the new ones). True when
/// all are claimed: the execution may be resumed at `now`. False when an answer claimed one
/// first: its message is on its way, and the execution must not be resumed before that
/// answer is delivered (resuming would time the task out as well).
pub(crate) fn claim_due(table: &TaskTable, execution: &Execution<'_>, now: i64, claimed: &mut Vec<u64>) -> bool {
    for (token, deadline) in execution.awaited_tokens() {
        if deadline > now || claimed.contains(&token.id()) {
            continue;
        }
        if !table.claim(token) {
            return false;
        }
        claimed.push(token.id());
    }
    true
}

/// The live task tokens and the workers' inboxes.
pub(crate) struct TaskTable {
    live: Mutex<HashMap<u64, Route>>,
    inboxes: Box<[Injector<TaskMessage>]>,
    unparkers: Box<[Unparker]>,
    /// The runtime's time, which stamps heartbeats when they are sent.
    time: Arc<TimeSource>,
}

impl TaskTable {
    pub(crate) fn new(unparkers: Box<[Unparker]>, time: Arc<TimeSource>) -> TaskTable {
        TaskTable {
            live: Mutex::new(HashMap::new()),
            inboxes: unparkers.iter().map(|_| Injector::new()).collect(),
            unparkers,
            time,
        }
    }

    fn live(&self) -> MutexGuard<'_, HashMap<u64, Route>> {
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new token whose answer goes to `route`.
    fn issue(&self, route: &Route) -> TaskToken {
        let token = TaskToken::unique();
        self.live().insert(token.id(), route.clone());
        token
    }

    /// Takes `token` out of the table: true when it was live (the caller now owns its task's
    /// ending), false when an answer or another claim came first.
    pub(crate) fn claim(&self, token: TaskToken) -> bool {
        self.live().remove(&token.id()).is_some()
    }

    /// Worker `worker`'s next message, if any.
    pub(crate) fn next_message(&self, worker: usize) -> Option<TaskMessage> {
        loop {
            match self.inboxes[worker].steal() {
                Steal::Success(message) => return Some(message),
                Steal::Empty => return None,
                Steal::Retry => {}
            }
        }
    }

    /// Whether worker `worker` has messages waiting.
    pub(crate) fn has_messages(&self, worker: usize) -> bool {
        !self.inboxes[worker].is_empty()
    }

    /// Sends `delivery` to the execution awaiting `token`. A success or failure claims the
    /// token; a heartbeat leaves it live.
    fn send(&self, token: TaskToken, delivery: Delivery) -> Result<(), TaskTokenError> {
        let route = {
            let mut live = self.live();
            match delivery {
                Delivery::Heartbeat { .. } => live.get(&token.id()).cloned(),
                _ => live.remove(&token.id()),
            }
        };
        let message = TaskMessage { token, delivery };
        match route.ok_or(TaskTokenError::NotAwaiting(token))? {
            Route::Worker(worker) => {
                self.inboxes[worker].push(message);
                self.unparkers[worker].unpark();
            }
            Route::Caller(sender) => {
                // The receiver lives as long as the execution; a closed one means it ended.
                let _ = sender.send(message);
            }
        }
        Ok(())
    }
}

/// Completes, fails or heartbeats tasks that answer later, from any thread: a cheap handle
/// on a [`Runtime`](super::Runtime)'s tasks ([`Runtime::task_completer`](super::Runtime::task_completer)),
/// usable after the runtime is gone (every token is then refused).
#[derive(Clone)]
pub struct TaskCompleter {
    pub(crate) table: Arc<TaskTable>,
}

impl std::fmt::Debug for TaskCompleter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskCompleter")
            .field("live_tokens", &self.table.live().len())
            .finish()
    }
}

impl TaskCompleter {
    /// Completes the task of `token` with `output` (`SendTaskSuccess`): JSON text (checked
    /// here) or a `serde_json::Value`. Its execution resumes on its worker.
    pub fn complete(&self, token: TaskToken, output: impl Into<TaskOutput>) -> Result<(), TaskTokenError> {
        let output = output.into();
        crate::tasks::check_output(&output)?;
        self.table.send(token, Delivery::Succeed(output))
    }

    /// Fails the task of `token` with `error` and `cause` (`SendTaskFailure`): the state's
    /// Retry and Catch apply.
    pub fn fail(
        &self,
        token: TaskToken,
        error: impl Into<String>,
        cause: impl Into<String>,
    ) -> Result<(), TaskTokenError> {
        let delivery = Delivery::Fail {
            error: error.into(),
            cause: cause.into(),
        };
        self.table.send(token, delivery)
    }

    /// Reports that the task of `token` is alive (`SendTaskHeartbeat`): its
    /// `HeartbeatSeconds` count again from now (the runtime's time, virtual or not).
    pub fn heartbeat(&self, token: TaskToken) -> Result<(), TaskTokenError> {
        let at_ms = self.table.time.now_ms();
        self.table.send(token, Delivery::Heartbeat { at_ms })
    }
}

/// Issues the tokens of the executions one worker runs.
pub(crate) struct WorkerIssuer {
    table: Arc<TaskTable>,
    route: Route,
}

impl WorkerIssuer {
    pub(crate) fn new(table: &Arc<TaskTable>, worker: usize) -> WorkerIssuer {
        WorkerIssuer {
            table: Arc::clone(table),
            route: Route::Worker(worker),
        }
    }
}

impl TokenIssuer for WorkerIssuer {
    fn issue(&self) -> TaskToken {
        self.table.issue(&self.route)
    }
    fn retire(&self, token: TaskToken) {
        self.table.claim(token);
    }
    fn completer(&self) -> Option<TaskCompleter> {
        Some(TaskCompleter {
            table: Arc::clone(&self.table),
        })
    }
}

/// Issues the tokens of one execution run on the calling thread, and waits for their
/// answers there. Its channel is made when the first token is issued (executions without
/// such tasks allocate nothing).
pub(crate) struct CallerIssuer<'t> {
    table: &'t Arc<TaskTable>,
    channel: OnceLock<(Route, Receiver<TaskMessage>)>,
}

impl<'t> CallerIssuer<'t> {
    pub(crate) fn new(table: &'t Arc<TaskTable>) -> CallerIssuer<'t> {
        CallerIssuer {
            table,
            channel: OnceLock::new(),
        }
    }

    fn channel(&self) -> &(Route, Receiver<TaskMessage>) {
        self.channel.get_or_init(|| {
            let (sender, receiver) = crossbeam_channel::unbounded();
            (Route::Caller(sender), receiver)
        })
    }

    /// Waits on this thread until one of the execution's tasks is answered or it must be
    /// resumed anyway (at `until_ms`, moved by heartbeats), and its tasks due by then are
    /// claimed for their timeouts ([`claim_due`]). Returns the time to resume it at.
    pub(crate) fn await_tasks<'a>(
        &self,
        execution: &mut Execution<'a>,
        arena: &'a Arena,
        mut until_ms: i64,
        time: &TimeSource,
    ) -> i64 {
        /// How often a thread awaiting a task on a virtual clock looks at the time.
        const VIRTUAL_POLL: Duration = Duration::from_millis(5);
        let receiver = &self.channel().1;
        let mut claimed = Vec::new();
        let mut answered = false;
        loop {
            let now = time.now_ms();
            let message = if answered || now >= until_ms {
                if claim_due(self.table, execution, now, &mut claimed) {
                    return now; // tasks due now time out when it is resumed
                }
                // An answer was sent meanwhile: it is in the channel.
                receiver.recv().ok()
            } else {
                let wait = if time.is_virtual() {
                    VIRTUAL_POLL
                } else {
                    Duration::from_millis((until_ms - now) as u64)
                };
                receiver.recv_timeout(wait).ok()
            };
            if let Some(message) = message {
                match deliver(execution, arena, message) {
                    Delivered::Answered => answered = true,
                    Delivered::Alive(next) => until_ms = next,
                    Delivered::Stale => {}
                }
            }
        }
    }
}

impl TokenIssuer for CallerIssuer<'_> {
    fn issue(&self) -> TaskToken {
        self.table.issue(&self.channel().0)
    }
    fn retire(&self, token: TaskToken) {
        self.table.claim(token);
    }
    fn completer(&self) -> Option<TaskCompleter> {
        Some(TaskCompleter {
            table: Arc::clone(self.table),
        })
    }
}
