//! The high-throughput runtime: a pool of worker threads that run executions of one
//! [`Machine`].
//!
//! Three ways in, for three kinds of users:
//! - [`Runtime::run_json`], [`Runtime::run_value`], [`Runtime::run_with`]: one execution,
//!   synchronously, on the calling thread (StartSyncExecution semantics);
//! - [`Runtime::run_batch_json`], [`Runtime::run_batch_values`],
//!   [`Runtime::run_batch_with`]: many inputs, results in input order, spread over the pool;
//! - [`Runtime::submit`] / [`Runtime::try_submit`]: streaming, with a bounded number of
//!   executions in flight (back-pressure instead of unbounded memory), a completion callback
//!   or channel per execution, and [`Runtime::shutdown`] / [`Runtime::abort`], which report
//!   every accepted execution exactly once.
//!
//! The `_with` variants are the fast path: the input is an arena [`Value`] (pre-parsed,
//! possibly shared by many executions, or built by the caller in the execution's arena) and
//! the output is read in place through a visitor, with no JSON text or `serde_json` round
//! trip. At steady state they allocate nothing on the heap.
//!
//! Each worker owns its scratch: an arena reset after every execution, a pool of spare
//! arenas and a timer queue for executions that suspend (Wait, retry back-off), which park
//! there without pinning the worker (see `worker.rs` for how their values are kept), and a
//! completion table for executions awaiting a task that answers later (completed from any
//! thread with [`Runtime::complete_task`], [`Runtime::fail_task`],
//! [`Runtime::heartbeat_task`] or a [`TaskCompleter`]). Time is
//! the system clock or a virtual clock ([`RuntimeBuilder::virtual_clock`]) that jumps to the
//! next deadline whenever a worker with parked executions has nothing else to do.
//!
//! ```
//! use quickstep::{Machine, TaskRegistry, Status};
//! use quickstep::runtime::Runtime;
//! let machine = Machine::new(
//!     r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": 1, "ResultPath": "$.one", "End": true}}}"#,
//!     TaskRegistry::new(),
//! ).unwrap();
//! let runtime = Runtime::builder().threads(2).build(machine);
//! let outcomes = runtime.run_batch_json(&[r#"{"a": 1}"#, r#"{"a": 2}"#]);
//! assert_eq!(outcomes[1].as_ref().unwrap().output.as_deref(), Some(r#"{"a":2,"one":1}"#));
//! let report = runtime.shutdown();
//! assert_eq!(report.started, 2);
//! assert!(report.balanced());
//! ```

mod batch;
mod history;
mod metrics;
mod tasks;
mod wall;
mod worker;
pub mod workloads;

use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use crossbeam_deque::{Injector, Stealer, Worker as Deque};
use crossbeam_utils::sync::{Parker, Unparker};
use crossbeam_utils::CachePadded;

pub use batch::Built;
pub use hdrhistogram;
pub use history::{EventSink, LogLevel};
pub use metrics::MetricsSnapshot;
pub use tasks::TaskCompleter;

use crate::clock::{Clock, SystemClock};
use crate::error::names;
use crate::exec::{Execution, ExecutionInfo, RawOutcome, Status, Step};
use crate::machine::{Machine, Outcome};
use crate::tasks::{TaskOutput, TaskToken, TaskTokenError, TokenIssuer};
use crate::value::{Arena, ParseError, SourceText, Value};
use metrics::{Event, Metrics};
use wall::WallAnchor;

/// An execution's input for the streaming API: JSON text (owned, or shared so that
/// submitting it again copies nothing), parsed on the worker with strings borrowed from it,
/// or a `serde_json` value.
pub type Input = crate::value::JsonInput;

/// A finished streaming execution.
#[derive(Clone, Debug)]
pub struct Completed {
    /// The id [`Runtime::submit`] returned.
    pub id: u64,
    /// The outcome, or why the input was refused (it was not JSON; nothing was started).
    pub result: Result<Outcome, ParseError>,
}

/// Where a streaming execution's [`Completed`] goes.
pub enum Completion {
    /// Called on the worker thread that ran the execution. Keep it short; a panic in it is
    /// caught and ignored.
    Callback(Box<dyn FnOnce(Completed) + Send>),
    /// Sent on this channel. Use an unbounded channel (or one with room for every execution
    /// in flight): a full bounded channel blocks the worker. A disconnected receiver drops
    /// the result.
    Channel(crossbeam_channel::Sender<Completed>),
    /// Called on the worker thread with the execution's id and raw outcome, whose output is
    /// read in place (no `Outcome` is built). One visitor serves any number of submissions
    /// (an `Arc` clone each), so with [`Input::Shared`] a streaming execution allocates
    /// nothing on the heap. An input that is not JSON (nothing ran) is reported as status
    /// `Failed`, error `InvalidInput`, the parse error as cause. A panic in it is caught and
    /// ignored.
    Visit(Arc<dyn Fn(u64, RawOutcome<'_>) + Send + Sync>),
    /// Dropped (the execution still counts in the metrics).
    Ignore,
}

impl Completion {
    /// A callback completion.
    pub fn callback(f: impl FnOnce(Completed) + Send + 'static) -> Completion {
        Completion::Callback(Box::new(f))
    }
}

impl From<crossbeam_channel::Sender<Completed>> for Completion {
    fn from(sender: crossbeam_channel::Sender<Completed>) -> Completion {
        Completion::Channel(sender)
    }
}

impl std::fmt::Debug for Completion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Completion::Callback(_) => "Completion::Callback",
            Completion::Channel(_) => "Completion::Channel",
            Completion::Visit(_) => "Completion::Visit",
            Completion::Ignore => "Completion::Ignore",
        })
    }
}

/// [`Runtime::try_submit`] found the queue full: the input and completion, handed back.
#[derive(Debug)]
pub struct QueueFull {
    /// The input that was not accepted.
    pub input: Input,
    /// Its execution's name, when it was given one.
    pub name: Option<Box<str>>,
    /// Its completion.
    pub done: Completion,
}

impl std::fmt::Display for QueueFull {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the runtime's queue is full")
    }
}

impl std::error::Error for QueueFull {}

/// Who an execution on the runtime is: its id (a streaming submission has one already), and
/// its own name when it was given one.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Identity<'a> {
    pub(crate) id: Option<u64>,
    pub(crate) name: Option<&'a str>,
}

/// An accepted streaming execution on its way to a worker.
pub(crate) struct Submission {
    id: u64,
    input: Input,
    /// The execution's own name (`$$.Execution.Name`), else the runtime names it.
    name: Option<Box<str>>,
    done: Completion,
}

/// What the pool's queues carry.
pub(crate) enum Job {
    Submit(Submission),
    /// One worker's share of a batch.
    Batch(Arc<batch::Batch>),
}

/// The runtime's notion of now.
pub(crate) enum TimeSource {
    System,
    Virtual(AtomicI64),
}

impl TimeSource {
    fn now_ms(&self) -> i64 {
        match self {
            TimeSource::System => SystemClock.now_ms(),
            TimeSource::Virtual(now) => now.load(Ordering::Acquire),
        }
    }

    fn is_virtual(&self) -> bool {
        matches!(self, TimeSource::Virtual(_))
    }

    /// Virtual time: moves forward to `ms` (never back).
    fn advance_to(&self, ms: i64) {
        if let TimeSource::Virtual(now) = self {
            now.fetch_max(ms, Ordering::AcqRel);
        }
    }

    /// Waits on the calling thread (sleeps, or advances virtual time).
    fn wait_until(&self, ms: i64) {
        match self {
            TimeSource::System => SystemClock.wait_until(ms),
            TimeSource::Virtual(_) => self.advance_to(ms),
        }
    }
}

/// What every worker and the runtime handle share.
pub(crate) struct Shared {
    machine: Machine,
    info: ExecutionInfo,
    injector: Injector<Job>,
    stealers: Box<[Stealer<Job>]>,
    sleeping: Box<[CachePadded<AtomicBool>]>,
    unparkers: Box<[Unparker]>,
    time: Arc<TimeSource>,
    metrics: Metrics,
    capacity: usize,
    in_flight: AtomicUsize,
    space: Mutex<()>,
    space_cv: Condvar,
    space_waiters: AtomicUsize,
    stop: AtomicBool,
    abort: AtomicBool,
    /// Shutting down: with a virtual clock, time may now jump to awaited tasks' deadlines.
    draining: AtomicBool,
    /// The live task tokens; completions from any thread go through it.
    tasks: TaskCompleter,
    /// Per worker: the issuer of its executions' task tokens.
    issuers: Box<[tasks::WorkerIssuer]>,
    history: Option<history::HistoryConfig>,
    idle_before_park: std::time::Duration,
    /// Execution ids: streaming submissions, and executions with history on.
    next_id: AtomicU64,
}

impl Shared {
    /// Starts an execution of the machine, with its history filter (allocated in `arena`)
    /// when history is on and its task tokens from `tokens`. `who` gives the execution's id
    /// when it already has one, and its name when it was given one.
    fn start<'a>(
        &'a self,
        arena: &'a Arena,
        (input, source): (Value<'a>, SourceText<'a>),
        who: Identity<'a>,
        now_ms: i64,
        tokens: &'a dyn TokenIssuer,
    ) -> Execution<'a> {
        let Identity { id, name } = who;
        let numbered = self.history.is_some() || self.machine.program().uses_context;
        let id = match id {
            None if numbered => Some(self.next_id.fetch_add(1, Ordering::Relaxed)),
            id => id,
        };
        // Every execution has its own name: the one it was given, else the info's name and
        // the execution's id.
        let name = match (name, self.machine.program().uses_context, id) {
            (Some(name), ..) => Some(name),
            (None, true, Some(id)) => Some(bumpalo::format!(in arena, "{}-{}", self.info.name, id).into_bump_str()),
            _ => None,
        };
        let filter = self.history.as_ref().and_then(|h| h.filter(id.unwrap_or_default()));
        let history = filter.map(|filter| arena.alloc(filter) as &mut dyn crate::history::HistorySink);
        let mut execution = self.machine.start(arena, input, &self.info, now_ms);
        execution.prepare(source, tokens, name, history);
        execution
    }

    /// Wakes one sleeping worker, if any.
    fn notify_one(&self) {
        std::sync::atomic::fence(Ordering::SeqCst);
        for (flag, unparker) in self.sleeping.iter().zip(self.unparkers.iter()) {
            if flag.load(Ordering::Relaxed) && flag.swap(false, Ordering::SeqCst) {
                unparker.unpark();
                return;
            }
        }
    }

    fn notify_all(&self) {
        for unparker in self.unparkers.iter() {
            unparker.unpark();
        }
    }

    /// One streaming execution has been reported: frees its place in the queue.
    fn release(&self) {
        let before = self.in_flight.fetch_sub(1, Ordering::SeqCst);
        if self.space_waiters.load(Ordering::SeqCst) > 0 || before == 1 {
            let _guard = self.space.lock();
            self.space_cv.notify_all();
        }
    }
}

/// Hands an execution's outcome (or why its input was refused) to its completion; a
/// panicking callback or visitor is contained.
fn deliver(done: Completion, id: u64, result: Result<&RawOutcome<'_>, ParseError>) {
    match done {
        Completion::Visit(visit) => match result {
            Ok(raw) => visit_guarded(&*visit, id, raw.clone()),
            Err(e) => visit_guarded(&*visit, id, invalid_input(&e)),
        },
        Completion::Callback(f) => {
            let completed = Completed {
                id,
                result: result.map(Outcome::from_raw),
            };
            let _ = catch_unwind(AssertUnwindSafe(move || f(completed)));
        }
        Completion::Channel(sender) => {
            let _ = sender.send(Completed {
                id,
                result: result.map(Outcome::from_raw),
            });
        }
        Completion::Ignore => {}
    }
}

/// Calls a [`Completion::Visit`] visitor; a panic in it is contained.
fn visit_guarded(visit: &(dyn Fn(u64, RawOutcome<'_>) + Send + Sync), id: u64, raw: RawOutcome<'_>) {
    let _ = catch_unwind(AssertUnwindSafe(move || visit(id, raw)));
}

/// How a [`Completion::Visit`] learns that its input was not JSON.
fn invalid_input(e: &ParseError) -> RawOutcome<'static> {
    RawOutcome {
        source: SourceText::NONE,
        status: Status::Failed,
        output: None,
        error: Some("InvalidInput".into()),
        cause: Some(e.to_string()),
    }
}

/// Resumes an execution; a panic inside the interpreter (a bug: handler panics are caught
/// there) fails the execution instead of the worker.
fn guarded_resume<'a>(execution: &mut Execution<'a>, now_ms: i64) -> Step<'a> {
    match catch_unwind(AssertUnwindSafe(|| execution.resume(now_ms))) {
        Ok(step) => step,
        Err(panic) => {
            let message = crate::error::panic_message(&*panic);
            Step::Done(RawOutcome {
                source: SourceText::NONE,
                status: Status::Failed,
                output: None,
                error: Some(names::RUNTIME.into()),
                cause: Some(format!("Internal error: the interpreter panicked: {message}")),
            })
        }
    }
}

/// Options for a [`Runtime`].
#[derive(Clone, Debug)]
pub struct RuntimeBuilder {
    threads: Option<usize>,
    queue_capacity: usize,
    virtual_start_ms: Option<i64>,
    info: ExecutionInfo,
    history: Option<history::HistoryConfig>,
    idle_before_park: std::time::Duration,
}

impl std::fmt::Debug for history::HistoryConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("History")
            .field("level", &self.level)
            .field("include_data", &self.include_data)
            .finish()
    }
}

impl Default for RuntimeBuilder {
    fn default() -> RuntimeBuilder {
        RuntimeBuilder {
            threads: None,
            queue_capacity: 65_536,
            virtual_start_ms: None,
            info: ExecutionInfo::default(),
            history: None,
            idle_before_park: std::time::Duration::from_millis(2),
        }
    }
}

impl RuntimeBuilder {
    /// Worker threads (default: one per available core; at least 1).
    pub fn threads(mut self, n: usize) -> RuntimeBuilder {
        self.threads = Some(n.max(1));
        self
    }

    /// How many streaming executions may be accepted and not yet reported (default 65,536;
    /// at least 1). `submit` blocks and `try_submit` refuses beyond it.
    pub fn queue_capacity(mut self, n: usize) -> RuntimeBuilder {
        self.queue_capacity = n.max(1);
        self
    }

    /// Runs on a virtual clock starting at `start_ms` (epoch milliseconds): Wait states and
    /// retry back-offs take no real time. When a worker has nothing to run but parked
    /// executions, virtual time jumps to its earliest deadline.
    pub fn virtual_clock(mut self, start_ms: i64) -> RuntimeBuilder {
        self.virtual_start_ms = Some(start_ms);
        self
    }

    /// The execution facts (`$$.Execution...`) every execution reports.
    pub fn execution_info(mut self, info: ExecutionInfo) -> RuntimeBuilder {
        self.info = info;
        self
    }

    /// Sends execution history to `sink` at AWS's log `level` (`Off`, the default, costs
    /// nothing), with or without inputs and outputs (`include_data`).
    pub fn history(mut self, level: LogLevel, include_data: bool, sink: impl EventSink + 'static) -> RuntimeBuilder {
        self.history = Some(history::HistoryConfig {
            level,
            include_data,
            sink: Arc::new(sink),
        })
        .filter(|h| h.level != LogLevel::Off);
        self
    }

    /// How long an idle worker keeps looking for work (yielding the core between looks)
    /// before it parks (default 2 ms). Waking a parked thread costs a system call and, on a
    /// busy machine, a wait for the scheduler (measured here: milliseconds), so a stream of
    /// submissions should find its workers awake; a shorter time gives the core back
    /// sooner when the runtime goes quiet.
    pub fn idle_before_park(mut self, time: std::time::Duration) -> RuntimeBuilder {
        self.idle_before_park = time;
        self
    }

    /// Starts the workers.
    pub fn build(self, machine: Machine) -> Runtime {
        let threads = self
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        let deques: Vec<Deque<Job>> = (0..threads).map(|_| Deque::new_fifo()).collect();
        let parkers: Vec<Parker> = (0..threads).map(|_| Parker::new()).collect();
        let unparkers: Box<[Unparker]> = parkers.iter().map(|p| p.unparker().clone()).collect();
        let time = Arc::new(match self.virtual_start_ms {
            Some(ms) => TimeSource::Virtual(AtomicI64::new(ms)),
            None => TimeSource::System,
        });
        let task_table = Arc::new(tasks::TaskTable::new(unparkers.clone(), Arc::clone(&time)));
        let shared = Arc::new(Shared {
            machine,
            info: self.info,
            injector: Injector::new(),
            stealers: deques.iter().map(|d| d.stealer()).collect(),
            sleeping: (0..threads).map(|_| CachePadded::new(AtomicBool::new(false))).collect(),
            unparkers,
            time,
            metrics: Metrics::new(threads),
            capacity: self.queue_capacity,
            in_flight: AtomicUsize::new(0),
            space: Mutex::new(()),
            space_cv: Condvar::new(),
            space_waiters: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            abort: AtomicBool::new(false),
            draining: AtomicBool::new(false),
            issuers: (0..threads).map(|i| tasks::WorkerIssuer::new(&task_table, i)).collect(),
            tasks: TaskCompleter { table: task_table },
            history: self.history,
            idle_before_park: self.idle_before_park,
            next_id: AtomicU64::new(0),
        });
        let workers = deques
            .into_iter()
            .zip(parkers)
            .enumerate()
            .map(|(i, (deque, parker))| {
                let shared = Arc::clone(&shared);
                std::thread::Builder::new()
                    .name(format!("quickstep-{i}"))
                    .spawn(move || worker::Worker::new(i, deque, parker, shared).run())
                    .expect("failed to spawn a quickstep worker thread")
            })
            .collect();
        Runtime { shared, workers }
    }
}

/// A pool of worker threads running executions of one [`Machine`]. See the
/// [module docs](self).
///
/// Dropping a runtime shuts it down as [`shutdown`](Runtime::shutdown) does.
pub struct Runtime {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("threads", &self.workers.len())
            .field("in_flight", &self.in_flight())
            .finish()
    }
}

thread_local! {
    /// The calling thread's scratch arena for synchronous runs (taken while in use, so a
    /// re-entrant run gets a fresh one).
    static SCRATCH: Cell<Option<Box<Arena>>> = const { Cell::new(None) };
    /// The calling thread's reading of the system clock for synchronous runs.
    static CALLER_WALL: RefCell<WallAnchor> = RefCell::new(WallAnchor::new());
}

impl Runtime {
    /// A runtime with default options (one worker per core).
    pub fn new(machine: Machine) -> Runtime {
        RuntimeBuilder::default().build(machine)
    }

    /// Options for a runtime.
    pub fn builder() -> RuntimeBuilder {
        RuntimeBuilder::default()
    }

    /// The machine it runs.
    pub fn machine(&self) -> &Machine {
        &self.shared.machine
    }

    /// The number of worker threads.
    pub fn threads(&self) -> usize {
        self.workers.len()
    }

    /// Streaming executions accepted and not yet reported.
    pub fn in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::Acquire)
    }

    /// The runtime's current time (epoch milliseconds; virtual time with a virtual clock).
    pub fn now_ms(&self) -> i64 {
        self.shared.time.now_ms()
    }

    /// Counters and latency histogram so far.
    pub fn metrics(&self) -> MetricsSnapshot {
        self.shared.metrics.snapshot()
    }

    // ---- one execution on the calling thread ----

    /// Runs one execution on `input` on the calling thread and hands its outcome (output
    /// still in the arena) to `visit`: the fast path. `input` may borrow from anywhere (a
    /// value parsed once and shared by many executions costs nothing per execution).
    /// Suspensions sleep the calling thread (or advance virtual time); a task that answers
    /// later is awaited on the calling thread (until completed through
    /// [`complete_task`](Self::complete_task) and friends from another thread, or timed out).
    pub fn run_with<R>(&self, input: Value<'_>, visit: impl FnOnce(RawOutcome<'_>) -> R) -> R {
        with_scratch(|arena| self.run_in(arena, input, SourceText::NONE, visit))
    }

    /// Like [`run_with`](Self::run_with), on JSON text parsed into the execution's arena
    /// (the outcome's [`write_output`](RawOutcome::write_output) copies the text of input
    /// containers that reach the output unchanged).
    pub fn run_text_with<R>(&self, text: &str, visit: impl FnOnce(RawOutcome<'_>) -> R) -> Result<R, ParseError> {
        with_scratch(|arena| match crate::value::parse_keeping_text(arena, text) {
            Ok((input, source)) => Ok(self.run_in(arena, input, source, visit)),
            Err(e) => {
                self.shared.metrics.shared_slot().bump_shared(Event::Rejected);
                Err(e)
            }
        })
    }

    /// Runs one execution on JSON text on the calling thread.
    pub fn run_json(&self, text: &str) -> Result<Outcome, ParseError> {
        self.run_text_with(text, |raw| Outcome::from_raw(&raw))
    }

    /// Runs one execution on a `serde_json::Value` on the calling thread.
    pub fn run_value(&self, input: &serde_json::Value) -> Outcome {
        with_scratch(|arena| {
            let input = Value::from_serde(arena, input);
            self.run_in(arena, input, SourceText::NONE, |raw| Outcome::from_raw(&raw))
        })
    }

    /// One execution on the calling thread, counted in the thread's slot (see
    /// [`Metrics::with_caller_slot`]).
    fn run_in<'a, R>(
        &'a self,
        arena: &'a Arena,
        input: Value<'a>,
        source: SourceText<'a>,
        visit: impl FnOnce(RawOutcome<'_>) -> R,
    ) -> R {
        let shared = &*self.shared;
        shared.metrics.with_caller_slot(|slot| {
            slot.started();
            let started = quanta::Instant::now();
            let mut now = match shared.time.is_virtual() {
                true => shared.time.now_ms(),
                false => CALLER_WALL.with(|wall| wall.borrow_mut().now_ms_at(started)),
            };
            let tokens = tasks::CallerIssuer::new(&shared.tasks.table);
            let mut execution = shared.start(arena, (input, source), Identity::default(), now, &tokens);
            let outcome = loop {
                match guarded_resume(&mut execution, now) {
                    Step::Done(outcome) => break outcome,
                    Step::Suspended { until_ms } => {
                        shared.time.wait_until(until_ms);
                        now = shared.time.now_ms();
                    }
                    Step::AwaitingTask { until_ms, .. } => {
                        now = tokens.await_tasks(&mut execution, arena, until_ms, &shared.time)
                    }
                }
            };
            slot.ended(outcome.status, started.elapsed());
            visit(outcome)
        })
    }

    // ---- tasks that answer later ----

    /// Completes the task of `token` with `output` (`SendTaskSuccess`): JSON text (checked
    /// here) or a `serde_json::Value`. Callable from any thread; the execution resumes on
    /// its worker. Fails with [`TaskTokenError::NotAwaiting`] when no task awaits the token
    /// (unknown, already answered, timed out, or its execution ended).
    pub fn complete_task(&self, token: TaskToken, output: impl Into<TaskOutput>) -> Result<(), TaskTokenError> {
        self.shared.tasks.complete(token, output)
    }

    /// Fails the task of `token` with `error` and `cause` (`SendTaskFailure`): the state's
    /// Retry and Catch apply. Callable from any thread.
    pub fn fail_task(
        &self,
        token: TaskToken,
        error: impl Into<String>,
        cause: impl Into<String>,
    ) -> Result<(), TaskTokenError> {
        self.shared.tasks.fail(token, error, cause)
    }

    /// Reports that the task of `token` is alive (`SendTaskHeartbeat`): its
    /// `HeartbeatSeconds` count again. Callable from any thread.
    pub fn heartbeat_task(&self, token: TaskToken) -> Result<(), TaskTokenError> {
        self.shared.tasks.heartbeat(token)
    }

    /// A handle that completes, fails and heartbeats this runtime's tasks from any thread,
    /// for code that does not hold the runtime (such as a task handler's worker pool).
    pub fn task_completer(&self) -> TaskCompleter {
        self.shared.tasks.clone()
    }

    /// With a virtual clock, moves time forward to `ms` (never back) and lets the workers
    /// act on it: Waits, back-offs and task deadlines up to it expire. Virtual time jumps on
    /// its own to Wait and back-off deadlines, but not to a task's timeout while the
    /// runtime runs (a completion sent from another thread would race it); this moves it
    /// there. No effect with the system clock.
    pub fn advance_clock_to(&self, ms: i64) {
        self.shared.time.advance_to(ms);
        self.shared.notify_all();
    }

    // ---- batches over the pool ----

    /// Runs one execution per input over the pool; results in input order. The fast path:
    /// `build` makes each input in the execution's arena (or returns a pre-built value, or
    /// [`Built::Reject`] to give that index a result without running), and `visit` reads
    /// each outcome in place. Blocks until every execution has ended, suspended ones
    /// included. A panic in `build` or `visit` is re-raised here once all have ended. Do not
    /// call it from a task handler of the same runtime: the worker would wait on itself.
    pub fn run_batch_with<T, R, B, V>(&self, inputs: &[T], build: B, visit: V) -> Vec<R>
    where
        T: Sync,
        R: Send,
        B: for<'x> Fn(&'x T, &'x Arena) -> Built<'x, R> + Sync,
        V: Fn(usize, RawOutcome<'_>) -> R + Sync,
    {
        batch::run(inputs, self.workers.len(), build, visit, |batch, tickets| {
            for _ in 0..tickets {
                self.shared.injector.push(Job::Batch(Arc::clone(batch)));
                self.shared.notify_one();
            }
        })
    }

    /// Runs one execution per JSON text over the pool; results in input order.
    pub fn run_batch_json<S: AsRef<str> + Sync>(&self, inputs: &[S]) -> Vec<Result<Outcome, ParseError>> {
        let rejected = &self.shared.metrics.shared_slot();
        self.run_batch_with(
            inputs,
            |text, arena| match crate::value::parse_keeping_text(arena, text.as_ref()) {
                Ok((v, source)) => Built::RunText(v, source),
                Err(e) => {
                    rejected.bump_shared(Event::Rejected);
                    Built::Reject(Err(e))
                }
            },
            |_, raw| Ok(Outcome::from_raw(&raw)),
        )
    }

    /// Runs one execution per `serde_json::Value` over the pool; results in input order.
    pub fn run_batch_values(&self, inputs: &[serde_json::Value]) -> Vec<Outcome> {
        self.run_batch_with(
            inputs,
            |value, arena| Built::Run(Value::from_serde(arena, value)),
            |_, raw| Outcome::from_raw(&raw),
        )
    }

    // ---- streaming ----

    /// Accepts one execution, waiting while the queue is full; returns its id. Its
    /// [`Completed`] goes to `done`. Do not call it from a task handler or a completion
    /// callback of the same runtime: with the queue full, that worker would wait on itself.
    pub fn submit(&self, input: impl Into<Input>, done: Completion) -> u64 {
        self.submit_as(None, input.into(), done)
    }

    /// Like [`submit`](Self::submit), for an execution of its own `name` (its
    /// `$$.Execution.Name` and the name in its `$$.Execution.Id`), such as a message's id.
    pub fn submit_named(&self, name: impl Into<Box<str>>, input: impl Into<Input>, done: Completion) -> u64 {
        self.submit_as(Some(name.into()), input.into(), done)
    }

    fn submit_as(&self, name: Option<Box<str>>, input: Input, done: Completion) -> u64 {
        let shared = &*self.shared;
        if shared.in_flight.fetch_add(1, Ordering::SeqCst) >= shared.capacity {
            shared.in_flight.fetch_sub(1, Ordering::SeqCst);
            let mut guard = shared.space.lock().unwrap_or_else(|e| e.into_inner());
            shared.space_waiters.fetch_add(1, Ordering::SeqCst);
            while shared.in_flight.fetch_add(1, Ordering::SeqCst) >= shared.capacity {
                shared.in_flight.fetch_sub(1, Ordering::SeqCst);
                guard = shared.space_cv.wait(guard).unwrap_or_else(|e| e.into_inner());
            }
            shared.space_waiters.fetch_sub(1, Ordering::SeqCst);
        }
        self.enqueue(input, name, done)
    }

    /// Accepts one execution if the queue has room; otherwise hands input and completion
    /// back.
    pub fn try_submit(&self, input: impl Into<Input>, done: Completion) -> Result<u64, QueueFull> {
        self.try_submit_as(None, input.into(), done)
    }

    /// Like [`try_submit`](Self::try_submit), for an execution of its own `name` (see
    /// [`submit_named`](Self::submit_named)).
    pub fn try_submit_named(
        &self,
        name: impl Into<Box<str>>,
        input: impl Into<Input>,
        done: Completion,
    ) -> Result<u64, QueueFull> {
        self.try_submit_as(Some(name.into()), input.into(), done)
    }

    fn try_submit_as(&self, name: Option<Box<str>>, input: Input, done: Completion) -> Result<u64, QueueFull> {
        let shared = &*self.shared;
        if shared.in_flight.fetch_add(1, Ordering::SeqCst) >= shared.capacity {
            shared.release();
            return Err(QueueFull { input, name, done });
        }
        Ok(self.enqueue(input, name, done))
    }

    fn enqueue(&self, input: Input, name: Option<Box<str>>, done: Completion) -> u64 {
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        self.shared
            .injector
            .push(Job::Submit(Submission { id, input, name, done }));
        self.shared.notify_one();
        id
    }

    /// Waits until every accepted streaming execution has been reported (parked ones run
    /// to their end), stops the workers and returns the final metrics.
    ///
    /// Executions awaiting a task wait for its completion or its timeout (AWS's default
    /// `TimeoutSeconds` is 99,999,999 s: with the system clock, complete them or
    /// [`abort`](Self::abort)). With a virtual clock, time now jumps to their deadlines too,
    /// so shutdown ends: tasks nobody completes time out.
    pub fn shutdown(mut self) -> MetricsSnapshot {
        self.stop();
        self.shared.metrics.snapshot()
    }

    /// Stops now: executions not started yet and parked ones (waiting, backing off or
    /// awaiting a task, whose tokens are then refused) end as `ABORTED` (and are reported
    /// so); running ones finish their current step. Returns the final metrics.
    pub fn abort(mut self) -> MetricsSnapshot {
        self.shared.abort.store(true, Ordering::SeqCst);
        self.shared.notify_all();
        self.stop();
        self.shared.metrics.snapshot()
    }

    fn stop(&mut self) {
        if self.workers.is_empty() {
            return;
        }
        let shared = &*self.shared;
        shared.draining.store(true, Ordering::SeqCst);
        {
            let mut guard = shared.space.lock().unwrap_or_else(|e| e.into_inner());
            shared.space_waiters.fetch_add(1, Ordering::SeqCst);
            while shared.in_flight.load(Ordering::SeqCst) > 0 {
                // Workers may be parked with only timers left: keep them going.
                shared.notify_all();
                guard = shared
                    .space_cv
                    .wait_timeout(guard, std::time::Duration::from_millis(50))
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
            shared.space_waiters.fetch_sub(1, Ordering::SeqCst);
        }
        shared.stop.store(true, Ordering::SeqCst);
        shared.notify_all();
        for worker in self.workers.drain(..) {
            // A worker thread only ends by returning: its executions' panics are caught.
            let _ = worker.join();
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs `f` with the calling thread's scratch arena, reset afterwards.
fn with_scratch<R>(f: impl FnOnce(&Arena) -> R) -> R {
    let mut arena = SCRATCH.take().unwrap_or_default();
    let r = f(&arena);
    arena.reset();
    SCRATCH.set(Some(arena));
    r
}
