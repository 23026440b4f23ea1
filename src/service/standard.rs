//! Durable Standard executions.
//!
//! An execution is driven by steps: it starts, its time comes (a Wait ends, a back-off or a
//! deadline passes), a task answers, a worker takes an activity task, it is stopped. Each
//! step is appended to the execution's driver log in the journal, in the same transaction
//! as the history events it produced and the execution's new status, before anything that
//! depends on it is acknowledged.
//!
//! The interpreter is deterministic given its steps: the same definition, input and steps
//! give the same events, the same task tokens (derived from the execution's id) and the
//! same random numbers and times (each step runs inside
//! [`entropy::repeatable`], seeded from the execution and the
//! step). So nothing of a waiting execution stays in memory: to apply a step, the driver
//! replays the execution's log on a fresh arena, checks that it reproduced the journaled
//! events, applies the new step and journals what it produced. After a crash, the running
//! executions are found in the journal and go on from their last committed step.
//!
//! Tasks are at least once: a Task whose handler answers at once runs inside a step; if the
//! process dies before that step is committed, the step runs again after the restart (a
//! due Wake is fired again; an unacknowledged `SendTaskSuccess` is sent again by its
//! client), and the handler with it. A Task that calls a service (the `integrations`
//! feature) is journaled with its effective input, as an activity task is, by the step that
//! scheduled it; the call is made once that step is committed, and its answer comes back as
//! a step of its own, as a `SendTaskSuccess` does. After a restart, every call whose answer
//! was not journaled is made again.
//!
//! Work is spread over shards, each a thread owning the executions whose id falls to it
//! (`id % shards`): commands for one execution are applied in order, by one thread. A shard
//! applies what has queued up, commits it as one batch (the journal groups the batches of
//! every shard into one transaction), then answers the requests.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::clock::{Clock, SystemClock};
use crate::entropy;
use crate::exec::{ExecutionInfo, Step as Advance};
use crate::history::{HistoryEvent, HistorySink};
use crate::machine::Outcome;
use crate::tasks::{TaskToken, TaskTokenError, TokenIssuer};
use crate::value::Arena;

use super::journal::{
    ActivityTask, ExecutionRecord, Journal, JournalError, MachineRecord, Progress, Step, StepKind, Write,
};
use super::logs::ExecutionLog;
use super::machines::{execution_info, take_scheduled, Machines};
use super::metrics::{ExecutionMetrics, TaskObservation, TaskTracker};
use super::protocol::ApiError;

/// Task tokens carry their execution's id above this many bits (the rest count the tokens
/// of the execution).
const TOKEN_BITS: u32 = 24;

/// The execution a task token belongs to.
pub fn execution_of_token(token: u64) -> i64 {
    (token >> TOKEN_BITS) as i64
}

/// Issues an execution's task tokens: its id, then a count, so that a replay issues the
/// same tokens in the same order.
struct DurableTokens {
    execution: u64,
    issued: std::cell::Cell<u64>,
}

impl TokenIssuer for DurableTokens {
    fn issue(&self) -> TaskToken {
        let n = self.issued.get() + 1;
        self.issued.set(n);
        TaskToken::from_id((self.execution << TOKEN_BITS) | (n & ((1 << TOKEN_BITS) - 1)))
            .expect("an execution id is never 0")
    }

    fn retire(&self, _token: TaskToken) {}
}

/// Keeps the events past those already journaled, as the JSON text of an array of
/// AWS-shaped events, and the task metrics they observe.
struct NewEvents {
    journaled: u32,
    first: u32,
    last: u32,
    events: Vec<u8>,
    /// Follows tasks through every event, replayed ones too (a task closing in this step
    /// may have been scheduled in an earlier one).
    tasks: TaskTracker,
    observed: Vec<TaskObservation>,
}

impl HistorySink for NewEvents {
    fn record(&mut self, event: &HistoryEvent<'_>) {
        let observation = self.tasks.record(event);
        if event.id > self.journaled {
            self.observed.extend(observation);
            if self.events.is_empty() {
                self.first = event.id;
                self.events.push(b'[');
            } else {
                self.events.push(b',');
            }
            self.last = event.id;
            event.write_json(true, &mut self.events);
        }
    }
}

/// The seed of a step's random numbers: distinct for each execution and step (the
/// generator mixes its seed).
fn seed(execution: i64, seq: usize) -> u64 {
    ((execution as u64) << 32) ^ seq as u64
}

/// What applying a step did.
struct Applied {
    /// The new events: the first and last ids, and the JSON array text (empty when none).
    events: (u32, u32, Vec<u8>),
    event_count: u32,
    /// The outcome, when the execution ended.
    outcome: Option<Outcome>,
    /// When to wake it, while it runs.
    wake_ms: Option<i64>,
    /// Activity tasks it scheduled: (token, ARN, input).
    scheduled: Vec<(u64, String, String)>,
    /// The task metrics its new events observe.
    tasks: Vec<TaskObservation>,
}

/// Why a step could not be applied.
enum Refused {
    /// The task of the token is not awaited (it completed, timed out, or the execution
    /// ended).
    NotAwaiting,
    /// A step of the log could not be replayed (the definition could not be compiled).
    Broken(String),
}

/// An execution to move on by one step, and what replaying it needs: its machine revision,
/// its record, its facts and its driver log.
#[derive(Clone, Copy)]
struct Replay<'r> {
    machines: &'r Machines,
    definition: &'r MachineRecord,
    record: &'r ExecutionRecord,
    info: &'r ExecutionInfo,
    log: &'r [Step],
}

impl Replay<'_> {
    /// Replays the log and applies `step` (the `log.len()`-th). A panic (a bug) is caught:
    /// the step is refused, and the shard goes on with the other executions.
    fn apply(self, step: &Step) -> Result<Applied, Refused> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.replay_and_apply(step))).unwrap_or_else(|panic| {
            Err(Refused::Broken(format!(
                "applying a step panicked: {}",
                crate::error::panic_message(&*panic)
            )))
        })
    }

    fn replay_and_apply(self, step: &Step) -> Result<Applied, Refused> {
        let Replay {
            machines,
            definition,
            record,
            info,
            log,
        } = self;
        let machine = machines
            .get(definition, record.test_case.as_deref())
            .map_err(Refused::Broken)?;
        let arena = Arena::new();
        let input = crate::value::parse(&arena, &record.input).map_err(|e| Refused::Broken(e.to_string()))?;
        let tokens = DurableTokens {
            execution: record.id as u64,
            issued: std::cell::Cell::new(0),
        };
        let mut sink = NewEvents {
            journaled: if log.is_empty() { 0 } else { record.progress.events },
            first: 0,
            last: 0,
            events: Vec::new(),
            tasks: TaskTracker::default(),
            observed: Vec::new(),
        };
        let mut execution = machine
            .start(&arena, input, info, record.start_ms)
            .with_name(&record.name)
            .with_token_issuer(&tokens)
            .with_history(&mut sink);
        let mut last = None;
        for (seq, logged) in log.iter().enumerate() {
            let replayed = entropy::repeatable(seed(record.id, seq), logged.now_ms, || {
                drive(&mut execution, &arena, logged)
            });
            match replayed {
                Ok(Some(progress)) => last = Some(progress),
                Ok(None) => {}
                Err(_) => return Err(Refused::Broken(format!("step {seq} of the journal did not replay"))),
            }
        }
        take_scheduled();
        if !log.is_empty() && execution.event_count() != record.progress.events {
            return Err(Refused::Broken(format!(
                "the replay produced {} events where the journal has {}",
                execution.event_count(),
                record.progress.events
            )));
        }
        let applied = entropy::repeatable(seed(record.id, log.len()), step.now_ms, || {
            drive(&mut execution, &arena, step)
        });
        let progress = match applied {
            Ok(Some(progress)) => progress,
            Ok(None) => match last {
                Some(progress) => progress,
                None => return Err(Refused::Broken("the execution has not started".into())),
            },
            Err(_) => {
                take_scheduled();
                return Err(Refused::NotAwaiting);
            }
        };
        let scheduled = take_scheduled();
        let event_count = execution.event_count();
        let (outcome, wake_ms) = match progress {
            Wake::Done(outcome) => (Some(outcome), None),
            Wake::At(ms) => (None, Some(ms)),
        };
        drop(execution);
        if !sink.events.is_empty() {
            sink.events.push(b']');
        }
        Ok(Applied {
            tasks: sink.observed,
            events: (sink.first, sink.last, sink.events),
            event_count,
            outcome,
            wake_ms,
            scheduled,
        })
    }
}

/// Where an execution stands after a step.
#[derive(Clone)]
enum Wake {
    Done(Outcome),
    At(i64),
}

/// Applies one step to a live execution: `None` when the step does not resume it (a
/// heartbeat, an activity taken).
fn drive<'a>(
    execution: &mut crate::exec::Execution<'a>,
    arena: &'a Arena,
    step: &Step,
) -> Result<Option<Wake>, TaskTokenError> {
    let token = |t: u64| TaskToken::from_id(t).ok_or_else(|| TaskTokenError::InvalidToken(t.to_string()));
    let now = step.now_ms;
    match &step.kind {
        StepKind::Start | StepKind::Wake => {}
        StepKind::Succeed { token: t, output } => {
            let text: &str = arena.alloc_str(output);
            let value = crate::value::parse(arena, text).map_err(|e| TaskTokenError::InvalidOutput(e.to_string()))?;
            execution.complete_task(token(*t)?, value)?;
        }
        StepKind::Fail { token: t, error, cause } => {
            execution.fail_task_with(token(*t)?, error.clone(), cause.clone())?;
        }
        StepKind::Heartbeat { token: t } => {
            execution.heartbeat_task(token(*t)?, now)?;
            return Ok(None);
        }
        StepKind::ActivityStarted { token: t, worker } => {
            execution.start_activity(token(*t)?, worker.as_deref(), now)?;
            return Ok(None);
        }
        StepKind::Stop { error, cause } => {
            return Ok(execution
                .abort(error.clone(), cause.clone())
                .map(|raw| Wake::Done(Outcome::from_raw(&raw))));
        }
        StepKind::Redrive => {
            if !execution.redrive(now) {
                return Err(TaskTokenError::InvalidToken("the execution cannot be redriven".into()));
            }
        }
    }
    Ok(Some(match execution.resume(now) {
        Advance::Done(raw) => Wake::Done(Outcome::from_raw(&raw)),
        Advance::Suspended { until_ms } | Advance::AwaitingTask { until_ms, .. } => Wake::At(until_ms),
    }))
}

/// A request to start a Standard execution.
#[derive(Clone, Debug)]
pub struct StartRequest {
    /// The machine (its current revision).
    pub machine: Arc<MachineRecord>,
    /// The execution's name.
    pub name: String,
    /// Its input (JSON text).
    pub input: String,
    /// Its trace header.
    pub trace_header: Option<String>,
    /// The mock test case it runs with.
    pub test_case: Option<String>,
    /// The version it runs, when started by a version or alias ARN.
    pub version_arn: Option<String>,
    /// The alias it was started through.
    pub alias_arn: Option<String>,
}

/// A started (or, for the same name and input while it runs, already started) execution.
#[derive(Clone, Debug)]
pub struct Started {
    /// Its ARN.
    pub arn: String,
    /// When it started (epoch ms).
    pub start_ms: i64,
}

/// What a client delivers for a task token.
#[derive(Clone, Debug)]
pub enum Delivery {
    /// `SendTaskSuccess`.
    Succeed(String),
    /// `SendTaskFailure`.
    Fail(Option<String>, Option<String>),
    /// `SendTaskHeartbeat`.
    Heartbeat,
    /// `GetActivityTask` handed the task to a worker.
    ActivityStarted(Option<String>),
}

/// An answer to a request, called once the journal has committed (or failed).
type Reply<T> = Box<dyn FnOnce(Result<T, ApiError>) + Send>;

enum Command {
    Start(Box<StartRequest>, Reply<Started>),
    Deliver(i64, Step, Reply<()>),
    Stop(i64, Option<String>, Option<String>, Reply<i64>),
    Redrive(i64, Reply<i64>),
    Wake(i64),
    /// The journal committed (or failed) the shard's batch with this number.
    Committed(u64, Result<(), JournalError>),
}

impl Command {
    fn execution(&self) -> Option<i64> {
        match self {
            Command::Start(..) | Command::Committed(..) => None,
            Command::Deliver(id, ..) | Command::Stop(id, ..) | Command::Redrive(id, _) | Command::Wake(id) => Some(*id),
        }
    }
}

/// What a worker asking for an activity task gets.
#[derive(Debug)]
pub enum Taken {
    /// A task.
    Task(OfferedTask),
    /// Nothing yet: the next task offered comes here.
    Wait(tokio::sync::oneshot::Receiver<OfferedTask>),
    /// [`MAX_POLLERS`] workers already wait on the activity.
    TooManyWorkers,
}

/// How many workers may wait in `GetActivityTask` on one activity at once (AWS's quota).
pub const MAX_POLLERS: usize = 1000;

/// Activity tasks waiting for workers, and workers waiting for tasks, by activity ARN.
#[derive(Default)]
pub struct ActivityQueues {
    queues: Mutex<HashMap<String, ActivityQueue>>,
}

#[derive(Default)]
struct ActivityQueue {
    tasks: VecDeque<OfferedTask>,
    workers: VecDeque<tokio::sync::oneshot::Sender<OfferedTask>>,
}

/// An activity task on offer to workers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfferedTask {
    /// Its task token's number.
    pub token: u64,
    /// Its input (JSON text).
    pub input: String,
    /// Whether a worker took it before the server restarted (its `ActivityStarted` is
    /// recorded; the worker may never have received it): it is handed out again as it is.
    pub started: bool,
}

impl ActivityQueues {
    /// Offers a task: to a waiting worker, else to the queue.
    pub fn offer(&self, arn: &str, mut task: OfferedTask) {
        let mut queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        let queue = queues.entry(arn.to_string()).or_default();
        while let Some(worker) = queue.workers.pop_front() {
            match worker.send(task) {
                Ok(()) => return,
                Err(back) => task = back,
            }
        }
        queue.tasks.push_back(task);
    }

    /// The oldest task of `arn`, or a receiver that gets the next one offered.
    pub fn take(&self, arn: &str) -> Taken {
        let mut queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        let queue = queues.entry(arn.to_string()).or_default();
        if let Some(task) = queue.tasks.pop_front() {
            return Taken::Task(task);
        }
        queue.workers.retain(|worker| !worker.is_closed());
        if queue.workers.len() >= MAX_POLLERS {
            return Taken::TooManyWorkers;
        }
        let (sender, receiver) = tokio::sync::oneshot::channel();
        queue.workers.push_back(sender);
        Taken::Wait(receiver)
    }
}

/// The Standard engine's settings.
#[derive(Clone, Debug)]
pub struct StandardConfig {
    /// How many shard threads apply steps.
    pub shards: usize,
    /// The region in ARNs and the context object.
    pub region: String,
    /// The account in ARNs.
    pub account: String,
    /// How long finished executions are kept.
    pub retention: Duration,
    /// Where executions that start and end are counted.
    pub metrics: Arc<ExecutionMetrics>,
    /// Which of their history events are logged.
    pub log: ExecutionLog,
}

/// The Standard engine: starts executions, delivers task answers and stops, wakes waiting
/// executions on time, all journaled.
pub struct Standard {
    shards: Vec<crossbeam_channel::Sender<Command>>,
    /// Activity tasks for `GetActivityTask`.
    pub activities: Arc<ActivityQueues>,
}

impl std::fmt::Debug for Standard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Standard").field("shards", &self.shards.len()).finish()
    }
}

impl Standard {
    /// Starts the engine on `journal`: every running execution in it goes on (its timer
    /// from the journal), and its activity tasks are offered again.
    pub fn start(
        journal: Arc<dyn Journal>,
        machines: Arc<Machines>,
        config: StandardConfig,
    ) -> Result<Standard, JournalError> {
        let shard_count = config.shards.max(1);
        let activities = Arc::new(ActivityQueues::default());
        let waiting = journal.activity_tasks()?;
        let mut timers: Vec<Vec<(i64, i64)>> = vec![Vec::new(); shard_count];
        for (id, _, wake) in journal.open_executions()? {
            timers[id as usize % shard_count].push((wake.unwrap_or(0), id));
        }
        let max_id = journal.max_execution_id()?;
        let config = Arc::new(config);
        let mut shards = Vec::with_capacity(shard_count);
        for (index, timers) in timers.into_iter().enumerate() {
            let (sender, receiver) = crossbeam_channel::unbounded();
            let mut shard = Shard {
                own: sender.clone(),
                batches: HashMap::new(),
                next_batch: 0,
                busy: HashSet::new(),
                busy_names: HashSet::new(),
                index: index as i64,
                count: shard_count as i64,
                next_id: AtomicI64::new(max_id / shard_count as i64 + 1),
                receiver,
                journal: journal.clone(),
                machines: machines.clone(),
                activities: activities.clone(),
                config: config.clone(),
                timers: BinaryHeap::new(),
                wakes: HashMap::new(),
                deferred: VecDeque::new(),
                last_sweep_ms: 0,
            };
            for (wake, id) in timers {
                shard.set_wake(id, Some(wake));
            }
            std::thread::Builder::new()
                .name(format!("quickstep-standard-{index}"))
                .spawn(move || shard.run())
                .map_err(|e| JournalError(e.to_string()))?;
            shards.push(sender);
        }
        for task in waiting {
            let offered = OfferedTask {
                token: task.token,
                input: task.input,
                started: task.started,
            };
            let shard = &shards[execution_of_token(task.token) as usize % shards.len()];
            schedule(&machines, &activities, shard, &task.activity_arn, offered);
        }
        Ok(Standard { shards, activities })
    }

    fn shard_of_execution(&self, id: i64) -> &crossbeam_channel::Sender<Command> {
        &self.shards[id as usize % self.shards.len()]
    }

    fn send(&self, shard: &crossbeam_channel::Sender<Command>, command: Command) {
        if let Err(crossbeam_channel::SendError(command)) = shard.send(command) {
            let error = || ApiError::internal("the Standard engine has stopped");
            match command {
                Command::Start(_, reply) => reply(Err(error())),
                Command::Deliver(_, _, reply) => reply(Err(error())),
                Command::Stop(_, _, _, reply) => reply(Err(error())),
                Command::Redrive(_, reply) => reply(Err(error())),
                Command::Wake(_) | Command::Committed(..) => {}
            }
        }
    }

    /// Starts an execution (exactly once by name: see [`StartRequest`]); `reply` gets its
    /// ARN once it is journaled.
    pub fn start_execution(&self, request: StartRequest, reply: Reply<Started>) {
        // Every start of one name goes to one shard, which decides whether it exists.
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        (&request.machine.arn, &request.name).hash(&mut hasher);
        let shard = &self.shards[hasher.finish() as usize % self.shards.len()];
        self.send(shard, Command::Start(Box::new(request), reply));
    }

    /// Delivers a task's answer, heartbeat or start by its token.
    pub fn deliver(&self, token: u64, delivery: Delivery, reply: Reply<()>) {
        let id = execution_of_token(token);
        let kind = match delivery {
            Delivery::Succeed(output) => StepKind::Succeed { token, output },
            Delivery::Fail(error, cause) => StepKind::Fail { token, error, cause },
            Delivery::Heartbeat => StepKind::Heartbeat { token },
            Delivery::ActivityStarted(worker) => StepKind::ActivityStarted { token, worker },
        };
        let step = Step {
            now_ms: SystemClock.now_ms(),
            kind,
        };
        self.send(self.shard_of_execution(id), Command::Deliver(id, step, reply));
    }

    /// Stops a running execution; `reply` gets its stop time.
    pub fn stop(&self, id: i64, error: Option<String>, cause: Option<String>, reply: Reply<i64>) {
        self.send(self.shard_of_execution(id), Command::Stop(id, error, cause, reply));
    }

    /// Redrives an execution that failed, timed out or was aborted (the caller has checked
    /// that it may be); `reply` gets the redrive time once it is journaled.
    pub fn redrive(&self, id: i64, reply: Reply<i64>) {
        self.send(self.shard_of_execution(id), Command::Redrive(id, reply));
    }
}

/// What a batch of commands writes, and what to do once the journal has committed it.
#[derive(Default)]
struct Batch {
    writes: Vec<Write>,
    after: Vec<AfterCommit>,
}

/// What to do once a batch is committed.
type AfterCommit = Box<dyn FnOnce(&mut Shard, Result<(), &JournalError>) + Send>;

/// A batch the journal has not committed yet: what to do once it has, and what it touched.
struct InFlight {
    after: Vec<AfterCommit>,
    executions: Vec<i64>,
    names: Vec<String>,
}

/// One shard: its executions' timers, and the thread that applies their steps.
///
/// A shard does not wait for its batch to be committed: it goes on with the next commands
/// while the journal writes. A command for an execution whose last step is not committed
/// yet waits (in `deferred`) until it is, so every step is applied to what the journal
/// holds.
struct Shard {
    /// Its own queue, where the journal reports its commits.
    own: crossbeam_channel::Sender<Command>,
    /// Batches sent to the journal, by number.
    batches: HashMap<u64, InFlight>,
    next_batch: u64,
    /// Executions, and execution ARNs being started, with writes not yet committed.
    busy: HashSet<i64>,
    busy_names: HashSet<String>,
    index: i64,
    count: i64,
    next_id: AtomicI64,
    receiver: crossbeam_channel::Receiver<Command>,
    journal: Arc<dyn Journal>,
    machines: Arc<Machines>,
    activities: Arc<ActivityQueues>,
    config: Arc<StandardConfig>,
    /// When executions wake (earliest first); stale entries are skipped.
    timers: BinaryHeap<Reverse<(i64, i64)>>,
    /// Each running execution's current wake time.
    wakes: HashMap<i64, i64>,
    /// Commands for an execution with writes not yet committed: retried after the next
    /// commit.
    deferred: VecDeque<Command>,
    last_sweep_ms: i64,
}

/// How many commands one batch takes at most.
const BATCH: usize = 512;

/// How many of a shard's batches may wait for the journal at once.
const MAX_IN_FLIGHT: usize = 4;

impl Shard {
    fn set_wake(&mut self, id: i64, wake: Option<i64>) {
        match wake {
            Some(ms) => {
                self.wakes.insert(id, ms);
                self.timers.push(Reverse((ms, id)));
            }
            None => {
                self.wakes.remove(&id);
            }
        }
    }

    fn run(mut self) {
        let mut retry_deferred = false;
        loop {
            let mut commands: Vec<Command> = if retry_deferred {
                retry_deferred = false;
                self.deferred.drain(..).collect()
            } else {
                Vec::new()
            };
            if commands.is_empty() {
                let now = SystemClock.now_ms();
                let next = self.timers.peek().map(|Reverse((ms, _))| *ms);
                let wait = next.map_or(Duration::from_secs(1), |ms| {
                    Duration::from_millis((ms - now).clamp(0, 1000) as u64)
                });
                match self.receiver.recv_timeout(wait) {
                    Ok(command) => commands.push(command),
                    Err(e) if e.is_disconnected() => return,
                    Err(_) => {}
                }
            }
            while commands.len() < BATCH {
                match self.receiver.try_recv() {
                    Ok(command) => commands.push(command),
                    Err(_) => break,
                }
            }
            // Commits first: they free executions for the commands after them.
            commands.retain_mut(|command| match command {
                Command::Committed(batch, result) => {
                    let result = std::mem::replace(result, Ok(()));
                    let batch = *batch;
                    self.committed(batch, result);
                    retry_deferred = true;
                    false
                }
                _ => true,
            });
            // At most a few batches in flight: beyond that, wait for the journal.
            if self.batches.len() >= MAX_IN_FLIGHT {
                self.deferred.extend(commands);
                continue;
            }
            let now = SystemClock.now_ms();
            while commands.len() < BATCH {
                match self.timers.peek() {
                    Some(Reverse((ms, id))) if *ms <= now => {
                        let (ms, id) = (*ms, *id);
                        self.timers.pop();
                        if self.wakes.get(&id) == Some(&ms) {
                            commands.push(Command::Wake(id));
                        }
                    }
                    _ => break,
                }
            }
            if self.index == 0 && now - self.last_sweep_ms > 60_000 {
                self.last_sweep_ms = now;
                self.sweep(now);
            }
            if !commands.is_empty() {
                self.apply_batch(commands);
            }
        }
    }

    /// The journal has committed (or failed) batch `batch`: its requests are answered, its
    /// executions are free again.
    fn committed(&mut self, batch: u64, result: Result<(), JournalError>) {
        let Some(done) = self.batches.remove(&batch) else {
            return;
        };
        for id in &done.executions {
            self.busy.remove(id);
        }
        for name in &done.names {
            self.busy_names.remove(name);
        }
        for f in done.after {
            f(self, result.as_ref().map(|_| ()));
        }
    }

    /// Forgets executions that ended more than the retention period ago.
    fn sweep(&mut self, now: i64) {
        let before = now - self.config.retention.as_millis() as i64;
        if let Ok(ids) = self.journal.ended_before(before, 10_000) {
            if !ids.is_empty() {
                let writes = ids.into_iter().map(Write::Forget).collect();
                let _ = commit_and_wait(&*self.journal, writes);
            }
        }
    }

    fn apply_batch(&mut self, commands: Vec<Command>) {
        let mut batch = Batch::default();
        let mut executions = Vec::new();
        let mut names = Vec::new();
        for command in commands {
            if let Some(id) = command.execution() {
                if !self.busy.insert(id) {
                    self.deferred.push_back(command);
                    continue;
                }
                executions.push(id);
            }
            match command {
                Command::Start(request, reply) => {
                    let arn = execution_arn(&request.machine.arn, &request.name);
                    if !self.busy_names.insert(arn.clone()) {
                        self.deferred.push_back(Command::Start(request, reply));
                        continue;
                    }
                    names.push(arn.clone());
                    self.start(*request, arn, reply, &mut batch);
                }
                Command::Deliver(id, step, reply) => self.deliver(id, step, reply, &mut batch),
                Command::Stop(id, error, cause, reply) => self.stop(id, error, cause, reply, &mut batch),
                Command::Redrive(id, reply) => self.redrive(id, reply, &mut batch),
                Command::Wake(id) => self.wake(id, &mut batch),
                Command::Committed(..) => {}
            }
        }
        let number = self.next_batch;
        self.next_batch += 1;
        self.batches.insert(
            number,
            InFlight {
                after: batch.after,
                executions,
                names,
            },
        );
        if batch.writes.is_empty() {
            self.committed(number, Ok(()));
            return;
        }
        let own = self.own.clone();
        self.journal.commit(
            batch.writes,
            Box::new(move |result| {
                let _ = own.send(Command::Committed(number, result));
            }),
        );
    }

    fn info(&self, machine: &MachineRecord, name: &str) -> ExecutionInfo {
        execution_info(machine, name, &self.config.region, &self.config.account, None)
    }

    fn start(&mut self, request: StartRequest, arn: String, reply: Reply<Started>, batch: &mut Batch) {
        match self.journal.execution(&arn) {
            Err(e) => return reply(Err(ApiError::internal(e.to_string()))),
            Ok(Some(existing)) => {
                let answer = if existing.progress.status == "RUNNING" && existing.input == request.input {
                    Ok(Started {
                        arn: existing.arn,
                        start_ms: existing.start_ms,
                    })
                } else {
                    Err(ApiError::new(
                        "ExecutionAlreadyExists",
                        format!("Execution Already Exists: '{arn}'"),
                    ))
                };
                return reply(answer);
            }
            Ok(None) => {}
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) * self.count + self.index;
        let now = SystemClock.now_ms();
        let mut record = ExecutionRecord {
            id,
            arn: arn.clone(),
            machine_arn: request.machine.arn.clone(),
            name: request.name.clone(),
            revision: request.machine.revision,
            test_case: request.test_case.clone(),
            start_ms: now,
            input: request.input,
            trace_header: request.trace_header,
            version_arn: request.version_arn,
            alias_arn: request.alias_arn,
            redrive_count: 0,
            redrive_ms: None,
            progress: Progress {
                status: "RUNNING".into(),
                ..Progress::default()
            },
        };
        let step = Step {
            now_ms: now,
            kind: StepKind::Start,
        };
        let info = self.info(&request.machine, &request.name);
        let replay = Replay {
            machines: &self.machines,
            definition: &request.machine,
            record: &record,
            info: &info,
            log: &[],
        };
        let applied = match replay.apply(&step) {
            Ok(applied) => applied,
            Err(Refused::Broken(message)) => return reply(Err(ApiError::internal(message))),
            Err(Refused::NotAwaiting) => return reply(Err(ApiError::internal("the execution could not start"))),
        };
        record.progress = progress_after(&applied, step.now_ms);
        let ended = applied.outcome.as_ref().map(|o| o.status);
        let machine_arn = record.machine_arn.clone();
        self.log_after_commit(&record.arn, &applied, batch);
        self.count_tasks_after_commit(&applied, batch);
        batch.writes.push(Write::NewExecution(Box::new(record)));
        self.journal_step(id, 0, step, applied, None, batch);
        let started = Started { arn, start_ms: now };
        batch.after.push(Box::new(move |shard, result| {
            if result.is_ok() {
                shard.config.metrics.started(&machine_arn);
                if let Some(status) = ended {
                    shard.config.metrics.ended(&machine_arn, status, 0);
                }
            }
            reply(result.map(|_| started).map_err(|e| ApiError::internal(e.to_string())))
        }));
    }
}

impl Shard {
    /// Logs the events of a step of the execution `arn` once they are committed (when
    /// execution logs are on).
    fn log_after_commit(&self, arn: &str, applied: &Applied, batch: &mut Batch) {
        if !self.config.log.enabled() || applied.events.2.is_empty() {
            return;
        }
        let (arn, text) = (arn.to_string(), applied.events.2.clone());
        batch.after.push(Box::new(move |shard, result| {
            if result.is_ok() {
                shard.config.log.events(&arn, &text);
            }
        }));
    }

    /// Counts the task metrics of a step once it is committed.
    fn count_tasks_after_commit(&self, applied: &Applied, batch: &mut Batch) {
        if applied.tasks.is_empty() {
            return;
        }
        let observed = applied.tasks.clone();
        batch.after.push(Box::new(move |shard, result| {
            if result.is_ok() {
                shard.config.metrics.tasks(&observed);
            }
        }));
    }

    /// Journals a step and what it produced; once committed, re-arms the execution's timer
    /// and offers the activity tasks it scheduled.
    fn journal_step(
        &mut self,
        id: i64,
        seq: u32,
        step: Step,
        applied: Applied,
        progress: Option<Progress>,
        batch: &mut Batch,
    ) {
        let activity_task = match &step.kind {
            StepKind::Succeed { token, .. } | StepKind::Fail { token, .. } => Some(Write::DeleteActivityTask(*token)),
            StepKind::ActivityStarted { token, .. } => Some(Write::ActivityTaskStarted(*token)),
            _ => None,
        };
        let ended = applied.outcome.is_some();
        // An execution that ends in its first step needs no driver log.
        if !(ended && seq == 0) {
            batch.writes.push(Write::AppendStep {
                execution_id: id,
                seq,
                step,
            });
        }
        let (first, last, events) = applied.events;
        if !events.is_empty() {
            batch.writes.push(Write::AppendEvents {
                execution_id: id,
                first,
                last,
                events: super::journal::compress_events(&events),
            });
        }
        if let Some(progress) = progress {
            batch.writes.push(Write::UpdateExecution(id, Box::new(progress)));
        }
        batch.writes.extend(activity_task);
        for (token, arn, input) in &applied.scheduled {
            batch.writes.push(Write::PutActivityTask(ActivityTask {
                token: *token,
                activity_arn: arn.clone(),
                execution_id: id,
                input: input.clone(),
                started: false,
            }));
        }
        if ended && seq > 0 {
            let redrivable = applied
                .outcome
                .as_ref()
                .is_some_and(|o| o.status != crate::exec::Status::Succeeded);
            batch.writes.push(Write::Closed(id, redrivable));
        }
        let wake = applied.wake_ms;
        let scheduled = applied.scheduled;
        batch.after.push(Box::new(move |shard, result| match result {
            Ok(()) => {
                shard.set_wake(id, wake);
                for (token, arn, input) in scheduled {
                    let offered = OfferedTask {
                        token,
                        input,
                        started: false,
                    };
                    schedule(&shard.machines, &shard.activities, &shard.own, &arn, offered);
                }
            }
            // Not journaled: try again in a second.
            Err(_) => {
                if let Some(&old) = shard.wakes.get(&id) {
                    shard.set_wake(id, Some(old.max(SystemClock.now_ms() + 1000)));
                }
            }
        }));
    }

    /// The execution `id` as the journal has it: with its machine revision and its log while
    /// it runs.
    fn load(&self, id: i64) -> Result<Loaded, ApiError> {
        let internal = |e: JournalError| ApiError::internal(e.to_string());
        let Some(record) = self.journal.execution_by_id(id).map_err(internal)? else {
            return Ok(Loaded::Missing);
        };
        if record.progress.status != "RUNNING" {
            return Ok(Loaded::Closed(Box::new(record)));
        }
        let machine = self
            .journal
            .revision(&record.machine_arn, record.revision)
            .map_err(internal)?
            .ok_or_else(|| ApiError::internal(format!("the definition of {} is missing", record.arn)))?;
        let log = self.journal.steps(id).map_err(internal)?;
        Ok(Loaded::Running(Box::new((record, machine, log))))
    }

    /// Applies `step` to the running execution `record` and journals it.
    fn advance(
        &mut self,
        record: &ExecutionRecord,
        machine: &MachineRecord,
        log: &[Step],
        step: Step,
        batch: &mut Batch,
    ) -> Result<(), Refused> {
        let info = self.info(machine, &record.name);
        let replay = Replay {
            machines: &self.machines,
            definition: machine,
            record,
            info: &info,
            log,
        };
        let applied = replay.apply(&step)?;
        let progress = progress_after(&applied, step.now_ms);
        if let Some(outcome) = &applied.outcome {
            let (status, machine_arn) = (outcome.status, record.machine_arn.clone());
            let duration_ms = step.now_ms - record.start_ms;
            batch.after.push(Box::new(move |shard, result| {
                if result.is_ok() {
                    shard.config.metrics.ended(&machine_arn, status, duration_ms);
                }
            }));
        }
        self.log_after_commit(&record.arn, &applied, batch);
        self.count_tasks_after_commit(&applied, batch);
        self.journal_step(record.id, log.len() as u32, step, applied, Some(progress), batch);
        Ok(())
    }

    fn deliver(&mut self, id: i64, step: Step, reply: Reply<()>, batch: &mut Batch) {
        let (record, machine, log) = match self.load(id) {
            Err(e) => return reply(Err(e)),
            Ok(Loaded::Missing) => return reply(Err(ApiError::invalid_token())),
            Ok(Loaded::Closed(_)) => return reply(Err(task_timed_out())),
            Ok(Loaded::Running(loaded)) => *loaded,
        };
        match self.advance(&record, &machine, &log, step, batch) {
            Ok(()) => batch.after.push(Box::new(move |_, result| {
                reply(result.map_err(|e| ApiError::internal(e.to_string())))
            })),
            Err(Refused::NotAwaiting) => reply(Err(task_timed_out())),
            Err(Refused::Broken(message)) => reply(Err(ApiError::internal(message))),
        }
    }

    fn stop(&mut self, id: i64, error: Option<String>, cause: Option<String>, reply: Reply<i64>, batch: &mut Batch) {
        let (record, machine, log) = match self.load(id) {
            Err(e) => return reply(Err(e)),
            Ok(Loaded::Missing) => return reply(Err(ApiError::internal("the execution is missing from the journal"))),
            Ok(Loaded::Closed(record)) => return reply(Ok(record.progress.stop_ms.unwrap_or(record.start_ms))),
            Ok(Loaded::Running(loaded)) => *loaded,
        };
        let now = SystemClock.now_ms();
        let step = Step {
            now_ms: now,
            kind: StepKind::Stop { error, cause },
        };
        match self.advance(&record, &machine, &log, step, batch) {
            Ok(()) => batch.after.push(Box::new(move |_, result| {
                reply(result.map(|_| now).map_err(|e| ApiError::internal(e.to_string())))
            })),
            Err(Refused::NotAwaiting) => reply(Ok(now)),
            Err(Refused::Broken(message)) => reply(Err(ApiError::internal(message))),
        }
    }

    fn redrive(&mut self, id: i64, reply: Reply<i64>, batch: &mut Batch) {
        let internal = |e: JournalError| ApiError::internal(e.to_string());
        let record = match self.journal.execution_by_id(id) {
            Ok(Some(record)) => record,
            Ok(None) => return reply(Err(ApiError::internal("the execution is missing from the journal"))),
            Err(e) => return reply(Err(internal(e))),
        };
        if !matches!(record.progress.status.as_str(), "FAILED" | "TIMED_OUT" | "ABORTED") {
            return reply(Err(ApiError::new(
                "ExecutionNotRedrivable",
                format!("Execution is {} and cannot be redriven", record.progress.status),
            )));
        }
        let machine = match self.journal.revision(&record.machine_arn, record.revision) {
            Ok(Some(machine)) => machine,
            Ok(None) => return reply(Err(ApiError::internal("the execution's definition is missing"))),
            Err(e) => return reply(Err(internal(e))),
        };
        let mut log = match self.journal.steps(id) {
            Ok(log) => log,
            Err(e) => return reply(Err(internal(e))),
        };
        // An execution that ended in its first step has no log: its start is written with
        // the redrive.
        let first = log.is_empty().then_some(Step {
            now_ms: record.start_ms,
            kind: StepKind::Start,
        });
        log.extend(first.clone());
        let now = SystemClock.now_ms();
        let step = Step {
            now_ms: now,
            kind: StepKind::Redrive,
        };
        match self.advance(&record, &machine, &log, step, batch) {
            Ok(()) => {
                if let Some(start) = first {
                    batch.writes.push(Write::AppendStep {
                        execution_id: id,
                        seq: 0,
                        step: start,
                    });
                }
                batch.writes.push(Write::Redriven(id, record.redrive_count + 1, now));
                batch.after.push(Box::new(move |_, result| {
                    reply(result.map(|_| now).map_err(|e| ApiError::internal(e.to_string())))
                }));
            }
            Err(Refused::NotAwaiting) => reply(Err(ApiError::new(
                "ExecutionNotRedrivable",
                "Execution cannot be redriven: no state of it failed",
            ))),
            // Its log does not rebuild it (a journal of an older quickstep, which dropped the
            // logs of closed executions).
            Err(Refused::Broken(message)) => reply(Err(ApiError::new(
                "ExecutionNotRedrivable",
                format!("Execution cannot be redriven: {message}"),
            ))),
        }
    }

    fn wake(&mut self, id: i64, batch: &mut Batch) {
        let (record, machine, log) = match self.load(id) {
            Ok(Loaded::Running(loaded)) => *loaded,
            Ok(_) => return self.set_wake(id, None),
            Err(_) => return self.set_wake(id, Some(SystemClock.now_ms() + 1000)),
        };
        let step = Step {
            now_ms: SystemClock.now_ms(),
            kind: StepKind::Wake,
        };
        if let Err(Refused::Broken(message)) = self.advance(&record, &machine, &log, step, batch) {
            eprintln!("quickstep: execution {}: {message}", record.arn);
            self.set_wake(id, None);
        }
    }
}

/// Hands a task a step scheduled (and the journal holds) to what answers it: an activity's
/// workers, or (`integrations`) the service it calls, whose answer goes to `shard` (the
/// shard of the task's execution) as a step.
fn schedule(
    machines: &Machines,
    activities: &ActivityQueues,
    shard: &crossbeam_channel::Sender<Command>,
    arn: &str,
    task: OfferedTask,
) {
    #[cfg(feature = "integrations")]
    if let (Some(call), Some(integrations)) = (machines.call(arn), machines.integrations()) {
        let input = serde_json::from_str(&task.input).unwrap_or(serde_json::Value::Null);
        let shard = shard.clone();
        let token = task.token;
        integrations.start(call, input, move |result| {
            let kind = match result {
                Ok(output) => StepKind::Succeed {
                    token,
                    output: output.to_string(),
                },
                Err(crate::tasks::TaskFailure::Error { error, cause }) => StepKind::Fail {
                    token,
                    error: Some(error),
                    cause,
                },
                Err(crate::tasks::TaskFailure::Function {
                    error_type,
                    error_message,
                }) => StepKind::Fail {
                    token,
                    error: Some(error_type),
                    cause: Some(error_message),
                },
            };
            let step = Step {
                now_ms: SystemClock.now_ms(),
                kind,
            };
            // Refused when the task no longer waits (it timed out, the execution ended).
            let _ = shard.send(Command::Deliver(execution_of_token(token), step, Box::new(|_| {})));
        });
        return;
    }
    #[cfg(not(feature = "integrations"))]
    let _ = (machines, shard);
    activities.offer(arn, task);
}

/// Where an execution stands after `applied`.
fn progress_after(applied: &Applied, now_ms: i64) -> Progress {
    match &applied.outcome {
        Some(outcome) => Progress {
            status: outcome.status.as_str().to_string(),
            // The step's time: what StopExecution answers, and the history's last event.
            stop_ms: Some(now_ms),
            output: outcome.output.clone(),
            error: outcome.error.clone(),
            cause: outcome.cause.clone(),
            events: applied.event_count,
            wake_ms: None,
        },
        None => Progress {
            status: "RUNNING".into(),
            events: applied.event_count,
            wake_ms: applied.wake_ms,
            ..Progress::default()
        },
    }
}

/// An execution as [`Shard::load`] finds it.
enum Loaded {
    /// The journal has no such execution.
    Missing,
    /// It has ended.
    Closed(Box<ExecutionRecord>),
    /// It runs: its record, its machine revision and its log.
    Running(Box<(ExecutionRecord, MachineRecord, Vec<Step>)>),
}

/// A token whose task no longer waits.
fn task_timed_out() -> ApiError {
    ApiError::new("TaskTimedOut", "Task Timed Out: 'Provided task does not exist anymore'")
}

/// A Standard execution's ARN.
pub fn execution_arn(machine_arn: &str, name: &str) -> String {
    format!("{}:{name}", machine_arn.replacen(":stateMachine:", ":execution:", 1))
}

/// Commits `writes` and waits for the journal.
fn commit_and_wait(journal: &dyn Journal, writes: Vec<Write>) -> Result<(), JournalError> {
    let (sender, receiver) = crossbeam_channel::bounded(1);
    journal.commit(
        writes,
        Box::new(move |result| {
            let _ = sender.send(result);
        }),
    );
    receiver
        .recv()
        .unwrap_or_else(|_| Err(JournalError("the journal's writer has stopped".into())))
}
