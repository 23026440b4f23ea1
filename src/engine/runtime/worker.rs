//! A worker thread: its deque, its scratch arena (reset after every execution), its timer
//! queue of suspended executions, its local latency histogram.
//!
//! # How a suspended execution keeps its values
//!
//! An execution runs in the worker's scratch arena. When it ends, the arena is reset and
//! reused: nothing is allocated. When it suspends (a Wait, a retry back-off, a task that
//! answers later), it becomes a [`Parked`] record, on the worker's timer queue or in its
//! table of executions awaiting tasks (keyed by a number of the worker's, found by the id of
//! any token the execution awaits, with its deadline in a queue of its own), and its values
//! move ([`Execution::relocate`]) into the worker's *parking arena*, which the parked
//! executions share, packed one after the other: a parked execution keeps only what it
//! still needs, and the scratch arena is reset at once. When the parking arena is full, the
//! worker starts another; each is freed when the last execution parked in it has left
//! (an `Rc` each holds). A parked execution that resumes moves back into the scratch arena
//! (which is empty between executions) and runs there. Executions that never suspend pay
//! nothing for the possibility.
//!
//! An execution that cannot move (its frames run Parallel branches or Map iterations, or it
//! has a history sink: those live in its arena) *takes the scratch arena with it* instead,
//! and the worker continues with a spare arena from its pool; when it ends, its arena is
//! reset and returns to the pool.
//!
//! The one piece of `unsafe` this needs: an [`Execution`] borrows its arena, the machine and
//! the execution facts, so a parked one is stored as `Execution<'static>` next to the
//! [`ArenaBox`] it borrows. This is sound because
//! - the arena is heap-allocated and never moves or is reset while the execution lives
//!   (`ArenaBox` is a raw pointer, so moving it asserts no uniqueness over the arena); an
//!   arena is reset only once the execution has moved out of it, and a parking arena is
//!   never reset while an `Rc` to it is held by a parked execution;
//! - `Parked::execution` is declared before `Parked::home` and `Parked::origin` (which may
//!   own the input text that the execution's strings borrow), so it is dropped first;
//! - the machine and the execution facts live in [`Shared`], which the worker keeps alive
//!   in an `Arc` and drops only after its timer queue (field order of [`Worker`]);
//! - batch inputs outlive the batch call, which waits for every execution of the batch;
//! - outcomes (`RawOutcome<'static>`) are handed to a visitor or converted at once, never
//!   kept.
//!
//! Executions never leave the worker that started them (an `Execution` is not `Send`).

use std::cmp::{Ordering as CmpOrdering, Reverse};
use std::collections::{BinaryHeap, HashMap};
use std::ptr::NonNull;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

// The latency clock: reads the TSC, about 10 ns a reading here against 25 ns for
// `std::time::Instant` (each execution takes one reading).
use quanta::Instant;

use crossbeam_deque::{Steal, Worker as Deque};
use crossbeam_utils::sync::Parker;

use super::batch::Batch;
use super::metrics::{Counters, Event, LatencyBuffer};
use super::tasks::{claim_due, deliver as deliver_task_message, Delivered, TaskMessage};
use super::wall::WallAnchor;
use super::{deliver, guarded_resume, Identity, Input, Job, Shared, Submission};
use crate::exec::{Execution, RawOutcome, Status, Step};
use crate::value::{Arena, SourceText, Value};

/// Spare arenas a worker keeps for executions that suspend and cannot move.
const SPARE_ARENAS: usize = 64;

/// The size of a parking arena.
const PARKING_BYTES: usize = 64 << 10;

/// When less than this is left in the parking arena, the worker starts another (rather
/// than let the arena grow a chunk that few executions would share).
const PARKING_ROOM: usize = 8 << 10;

/// Rounds of busy-looking for work (with a spin hint) before yielding the core between looks.
const SPIN_ROUNDS: u32 = 64;

/// With a virtual clock, how often an idle worker whose executions all await tasks looks at
/// the time (which other workers or the embedder may move).
const VIRTUAL_TASK_POLL: Duration = Duration::from_millis(5);

/// A heap-allocated arena owned through a raw pointer, so that moving the owner does not
/// invalidate the references an execution holds into it.
pub(crate) struct ArenaBox(NonNull<Arena>);

impl ArenaBox {
    fn new() -> ArenaBox {
        ArenaBox(NonNull::from(Box::leak(Box::default())))
    }

    fn with_capacity(bytes: usize) -> ArenaBox {
        ArenaBox(NonNull::from(Box::leak(Box::new(Arena::with_capacity(bytes)))))
    }

    /// The arena, with a lifetime the caller vouches for.
    ///
    /// # Safety
    /// Nothing borrowed through it may be used after the arena is reset or dropped (see the
    /// module docs).
    unsafe fn get(&self) -> &'static Arena {
        // SAFETY: the pointer comes from `Box::leak` and stays valid until `drop`; the
        // caller bounds the uses.
        unsafe { self.0.as_ref() }
    }

    /// Frees everything allocated in the arena, keeping its largest chunk.
    ///
    /// # Safety
    /// No value or execution borrowing the arena may be used afterwards.
    unsafe fn reset(&mut self) {
        unsafe { self.0.as_mut().reset() }
    }
}

impl Drop for ArenaBox {
    fn drop(&mut self) {
        // SAFETY: from `Box::leak` in `new`, dropped once.
        drop(unsafe { Box::from_raw(self.0.as_ptr()) });
    }
}

/// Whom an execution reports to.
pub(crate) enum Origin<B> {
    /// A streaming submission.
    Submit(Submission),
    /// Index `usize` of a batch.
    Batch(B, usize),
}

/// A batch reference: borrowed while the worker runs its share, owned once parked.
pub(crate) trait BatchRef {
    /// Whether the executions' ends are counted by the share that runs them, once per
    /// chunk (see [`Worker::ended_in_chunk`]), rather than one by one.
    const ENDS_PER_CHUNK: bool;
    fn batch(&self) -> &Batch;
    fn to_arc(self) -> Arc<Batch>;
}

impl BatchRef for &Arc<Batch> {
    const ENDS_PER_CHUNK: bool = true;
    fn batch(&self) -> &Batch {
        self
    }
    fn to_arc(self) -> Arc<Batch> {
        Arc::clone(self)
    }
}

impl BatchRef for Arc<Batch> {
    const ENDS_PER_CHUNK: bool = false;
    fn batch(&self) -> &Batch {
        self
    }
    fn to_arc(self) -> Arc<Batch> {
        self
    }
}

/// A suspended execution. Field order matters: see the module docs.
struct Parked {
    execution: Execution<'static>,
    home: Home,
    origin: Origin<Arc<Batch>>,
    started: Instant,
}

/// Where a parked (or resumed) execution's values live.
enum Home {
    /// The worker's scratch arena: it is running, or has just suspended there.
    Scratch,
    /// An arena of its own (an execution that cannot move).
    Own(ArenaBox),
    /// A parking arena, shared with other parked executions of the worker.
    Parking(Rc<ArenaBox>),
}

/// An entry of the timer queue: earliest deadline first, then first parked first.
struct Timer {
    until_ms: i64,
    seq: u64,
    parked: Box<Parked>,
}

impl PartialEq for Timer {
    fn eq(&self, other: &Timer) -> bool {
        (self.until_ms, self.seq) == (other.until_ms, other.seq)
    }
}
impl Eq for Timer {}
impl PartialOrd for Timer {
    fn partial_cmp(&self, other: &Timer) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}
impl Ord for Timer {
    fn cmp(&self, other: &Timer) -> CmpOrdering {
        (other.until_ms, other.seq).cmp(&(self.until_ms, self.seq))
    }
}

/// An execution awaiting the answers of tasks (one, or several in Parallel branches and Map
/// iterations).
struct Awaiting {
    /// When it must be resumed anyway (the earliest deadline of its tasks, Waits and
    /// back-offs, or the execution's).
    until_ms: i64,
    /// Ids of the tokens it awaited when parked (registered in [`Worker::awaited_by`]).
    tokens: Vec<u64>,
    /// Ids of its tokens this worker has claimed to time their tasks out, while another
    /// task's answer, which claimed its token first, is on its way ([`claim_due`]).
    claimed: Vec<u64>,
    parked: Box<Parked>,
}

/// Why a parked execution waits.
enum Suspension {
    /// Until a time (a Wait, a retry back-off).
    Until(i64),
    /// For its tasks' answers, or until this time (their earliest deadline).
    Tasks(i64),
}

impl Suspension {
    /// The outcome of a step that ended the execution, or why it waits.
    fn of(step: Step<'_>) -> Result<RawOutcome<'_>, Suspension> {
        match step {
            Step::Done(outcome) => Ok(outcome),
            Step::Suspended { until_ms } => Err(Suspension::Until(until_ms)),
            Step::AwaitingTask { until_ms, .. } => Err(Suspension::Tasks(until_ms)),
        }
    }
}

/// One worker thread's state. Field order matters: `timers`, `awaiting` and the arenas
/// are dropped before `shared`.
pub(crate) struct Worker {
    timers: BinaryHeap<Timer>,
    seq: u64,
    /// Executions awaiting tasks, by a key of this worker's (the completion table).
    awaiting: HashMap<u64, Awaiting>,
    /// The key of the execution awaiting each token, by token id.
    awaited_by: HashMap<u64, u64>,
    /// When the awaiting executions must be resumed anyway, earliest first, with their keys
    /// (entries whose execution was resumed or whose deadline moved are skipped when they
    /// come up).
    task_deadlines: BinaryHeap<Reverse<(i64, u64)>>,
    arena: ArenaBox,
    spare: Vec<ArenaBox>,
    /// Where suspended executions' values are moved (see the module docs).
    parking: Rc<ArenaBox>,
    latency: LatencyBuffer,
    /// Executions of the batch share being run that ended since its last chunk began: the
    /// batch's shared count is updated once per chunk, not once per execution (an atomic
    /// that every worker would write back and forth).
    ended_in_chunk: usize,
    wall: WallAnchor,
    index: usize,
    local: Deque<Job>,
    parker: Parker,
    shared: Arc<Shared>,
}

impl Worker {
    pub(crate) fn new(index: usize, local: Deque<Job>, parker: Parker, shared: Arc<Shared>) -> Worker {
        Worker {
            timers: BinaryHeap::new(),
            seq: 0,
            awaiting: HashMap::new(),
            awaited_by: HashMap::new(),
            task_deadlines: BinaryHeap::new(),
            arena: ArenaBox::new(),
            spare: Vec::new(),
            // Empty until an execution parks.
            parking: Rc::new(ArenaBox::new()),
            latency: LatencyBuffer::new(),
            ended_in_chunk: 0,
            wall: WallAnchor::new(),
            index,
            local,
            parker,
            shared,
        }
    }

    fn shared(&self) -> &'static Shared {
        // SAFETY: `self.shared` keeps it alive for as long as the worker, and every
        // execution the worker holds is dropped before it (module docs).
        unsafe { &*Arc::as_ptr(&self.shared) }
    }

    fn counters(&self) -> &'static Counters {
        &self.shared().metrics.slots[self.index]
    }

    /// The worker's main loop: runs until the runtime stops and nothing is left.
    pub(crate) fn run(mut self) {
        let shared = self.shared();
        let mut idle_rounds = 0;
        let mut idle_since = Instant::now();
        loop {
            if shared.abort.load(Ordering::Acquire) {
                self.abort_parked();
            }
            self.expire_timers();
            if let Some(job) = self.find_job() {
                idle_rounds = 0;
                match job {
                    Job::Submit(sub) => {
                        let start = Instant::now();
                        self.run_submission(sub, start);
                    }
                    Job::Batch(batch) => self.run_batch_share(&batch),
                }
                continue;
            }
            if shared.stop.load(Ordering::Acquire) && self.timers.is_empty() && self.awaiting.is_empty() {
                break;
            }
            if idle_rounds == 0 {
                idle_since = Instant::now();
            }
            idle_rounds += 1;
            if idle_rounds < SPIN_ROUNDS {
                std::hint::spin_loop();
                continue;
            }
            if idle_since.elapsed() < shared.idle_before_park {
                std::thread::yield_now();
                continue;
            }
            self.flush_hist();
            self.sleep();
            idle_rounds = 0;
        }
        self.flush_hist();
    }

    /// Parks until work arrives or the next timer is due.
    fn sleep(&mut self) {
        let shared = self.shared();
        let flag = &shared.sleeping[self.index];
        flag.store(true, Ordering::SeqCst);
        let work_visible = !shared.injector.is_empty()
            || shared.stealers.iter().any(|s| !s.is_empty())
            || shared.tasks.table.has_messages(self.index);
        if work_visible || shared.stop.load(Ordering::SeqCst) || shared.abort.load(Ordering::SeqCst) {
            flag.store(false, Ordering::SeqCst);
            return;
        }
        let timer = self.timers.peek().map(|t| t.until_ms);
        let task_deadline = self.task_deadlines.peek().map(|Reverse((until_ms, _))| *until_ms);
        let now = shared.time.now_ms();
        if shared.time.is_virtual() {
            // Time jumps to the next Wait or back-off (stopping at an earlier task deadline on
            // the way); to a task's deadline alone only when shutting down (while running, a
            // completion from another thread may be on its way).
            let draining = shared.draining.load(Ordering::SeqCst);
            let next = match timer {
                Some(until_ms) => Some(task_deadline.map_or(until_ms, |d| d.min(until_ms))),
                None => task_deadline.filter(|_| draining),
            };
            match next {
                Some(until_ms) => shared.time.advance_to(until_ms),
                // Virtual time may also move on another worker or through `advance_clock_to`.
                None if task_deadline.is_some() => self.parker.park_timeout(VIRTUAL_TASK_POLL),
                None => self.parker.park(),
            }
        } else {
            match timer.into_iter().chain(task_deadline).min() {
                Some(until_ms) if until_ms > now => {
                    self.parker.park_timeout(Duration::from_millis((until_ms - now) as u64))
                }
                Some(_) => {}
                None => self.parker.park(),
            }
        }
        flag.store(false, Ordering::SeqCst);
    }

    fn find_job(&self) -> Option<Job> {
        if let Some(job) = self.local.pop() {
            return Some(job);
        }
        let shared = self.shared();
        loop {
            let steal = shared
                .injector
                .steal_batch_and_pop(&self.local)
                .or_else(|| shared.stealers.iter().map(|s| s.steal()).collect());
            match steal {
                Steal::Success(job) => return Some(job),
                Steal::Empty => return None,
                Steal::Retry => {}
            }
        }
    }

    /// Runs this worker's share of a batch: claims chunks until none is left.
    fn run_batch_share(&mut self, batch: &Arc<Batch>) {
        let mut t = Instant::now();
        while let Some(range) = batch.claim() {
            for i in range {
                // SAFETY: values built here die with the execution, before the reset.
                let arena = unsafe { self.arena.get() };
                // SAFETY: `i` was claimed by this worker.
                match unsafe { batch.build(i, arena) } {
                    Some((input, source, name)) => t = self.start(input, source, name, Origin::Batch(batch, i), t),
                    None => {
                        // SAFETY: nothing built in the arena is kept.
                        unsafe { self.arena.reset() };
                        self.ended_in_chunk += 1;
                    }
                }
            }
            batch.ended(std::mem::take(&mut self.ended_in_chunk));
            self.expire_timers();
        }
        self.flush_hist();
        batch.ticket_done();
    }

    fn run_submission(&mut self, sub: Submission, started: Instant) {
        let shared = self.shared();
        if shared.abort.load(Ordering::Acquire) {
            self.counters().bump_owned(Event::Started);
            self.counters().bump_owned(Event::Ended(Status::Aborted));
            let outcome = aborted_outcome();
            let Submission { id, done, .. } = sub;
            deliver(done, id, Ok(&outcome));
            shared.release();
            return;
        }
        // SAFETY: the input lives as long as the execution, which resets or takes the arena.
        let arena = unsafe { self.arena.get() };
        // SAFETY: the parsed value borrows the text's heap buffer (a `String`'s or an
        // `Arc<str>`'s), never `sub` itself, and `sub` owns that buffer until the execution
        // has ended: it is moved into the execution's `Origin` below, which does not move the
        // buffer. The `'static` reference is not used after this statement.
        let input = unsafe { &*(&sub.input as *const Input) }.parse_in_keeping_text(arena);
        match input {
            Ok((input, source)) => {
                let name = sub.name.as_deref().map(|n| &*arena.alloc_str(n));
                self.start(input, source, name, Origin::<&Arc<Batch>>::Submit(sub), started);
            }
            Err(e) => {
                // SAFETY: the failed parse's values are not kept.
                unsafe { self.arena.reset() };
                self.counters().bump_owned(Event::Rejected);
                let Submission { id, done, .. } = sub;
                deliver(done, id, Err(e));
                shared.release();
            }
        }
    }

    /// Starts an execution on `input` (in the scratch arena) and runs it until it ends or
    /// suspends. Returns when the next execution's latency clock starts.
    fn start<B: BatchRef>(
        &mut self,
        input: Value<'static>,
        source: SourceText<'static>,
        name: Option<&'static str>,
        origin: Origin<B>,
        started: Instant,
    ) -> Instant {
        let shared = self.shared();
        self.counters().bump_owned(Event::Started);
        let now = self.now_ms_at(started);
        let id = match &origin {
            Origin::Submit(sub) => Some(sub.id),
            Origin::Batch(..) => None,
        };
        let tokens = &shared.issuers[self.index];
        let ran = {
            // SAFETY: the execution is dropped before the arena is reset, or takes it along.
            let mut execution = shared.start(
                unsafe { self.arena.get() },
                (input, source),
                Identity { id, name },
                now,
                tokens,
            );
            match Suspension::of(guarded_resume(&mut execution, now)) {
                Ok(outcome) => Ok(outcome),
                Err(suspension) => Err((suspension, execution)),
            }
            // An execution that ended is dropped here, in place (`drop` would move it first).
        };
        let (suspension, execution) = match ran {
            Ok(outcome) => {
                let end = self.finish(outcome, origin, started);
                // SAFETY: the execution and its outcome are gone.
                unsafe { self.arena.reset() };
                return end;
            }
            Err(suspended) => suspended,
        };
        let origin = match origin {
            Origin::Submit(s) => Origin::Submit(s),
            Origin::Batch(b, i) => Origin::Batch(b.to_arc(), i),
        };
        self.park(
            suspension,
            Box::new(Parked {
                execution,
                home: Home::Scratch,
                origin,
                started,
            }),
        );
        Instant::now()
    }

    /// Moves a suspended execution out of the scratch arena: into the parking arena, or,
    /// when it cannot move, it takes the scratch arena along and the worker continues with
    /// a spare one. The scratch arena is then empty.
    fn leave_scratch(&mut self, parked: &mut Parked) {
        if let Some(parking) = Rc::get_mut(&mut self.parking) {
            // SAFETY: no parked execution is left in it: none holds an `Rc` to it.
            unsafe { parking.reset() };
        }
        // SAFETY: only its room is read.
        let full = unsafe { self.parking.get() }.chunk_capacity() < PARKING_ROOM;
        if full {
            // A full one is freed by the last execution that leaves it.
            self.parking = Rc::new(ArenaBox::with_capacity(PARKING_BYTES));
        }
        // SAFETY: the parking arena outlives the execution, which holds an `Rc` to it until
        // it has moved out or been dropped (module docs).
        if parked.execution.relocate(unsafe { self.parking.get() }) {
            parked.home = Home::Parking(Rc::clone(&self.parking));
            // SAFETY: the execution has moved out, and nothing else lives in the scratch
            // arena between executions.
            unsafe { self.arena.reset() };
        } else {
            let fresh = self.spare.pop().unwrap_or_else(ArenaBox::new);
            parked.home = Home::Own(std::mem::replace(&mut self.arena, fresh));
        }
    }

    /// Parks a suspended execution (out of the scratch arena if it ran there): on the timer
    /// queue, or in the completion table (found by each of its tokens) with its deadline
    /// queued.
    fn park(&mut self, suspension: Suspension, mut parked: Box<Parked>) {
        if matches!(parked.home, Home::Scratch) {
            self.leave_scratch(&mut parked);
        }
        self.seq += 1;
        let seq = self.seq;
        match suspension {
            Suspension::Until(until_ms) => {
                self.timers.push(Timer { until_ms, seq, parked });
            }
            Suspension::Tasks(until_ms) => {
                let tokens: Vec<u64> = parked.execution.awaited_tokens().iter().map(|(t, _)| t.id()).collect();
                for &id in &tokens {
                    self.awaited_by.insert(id, seq);
                }
                self.task_deadlines.push(Reverse((until_ms, seq)));
                let awaiting = Awaiting {
                    until_ms,
                    tokens,
                    claimed: Vec::new(),
                    parked,
                };
                self.awaiting.insert(seq, awaiting);
            }
        }
    }

    /// Resumes the execution awaiting tasks under `key` at `now`, once every one of its tasks
    /// due by then is claimed for its timeout; if an answer claimed one first, leaves it
    /// parked: that answer's message resumes it.
    fn resume_awaiting(&mut self, key: u64, now: i64) {
        let table = &self.shared().tasks.table;
        let Some(awaiting) = self.awaiting.get_mut(&key) else {
            return;
        };
        if !claim_due(table, &awaiting.parked.execution, now, &mut awaiting.claimed) {
            return;
        }
        let Some(awaiting) = self.awaiting.remove(&key) else {
            return;
        };
        for id in &awaiting.tokens {
            self.awaited_by.remove(id);
        }
        self.resume_parked(awaiting.parked, now);
    }

    /// Resumes a parked execution at `now` (in the scratch arena if it was in the parking
    /// arena): it ends, or parks again.
    fn resume_parked(&mut self, mut parked: Box<Parked>, now: i64) {
        if matches!(parked.home, Home::Parking(_)) {
            // SAFETY: the scratch arena is empty between executions, and is reset only once
            // this execution has ended or moved out again (`finish_parked`, `park`).
            let moved = parked.execution.relocate(unsafe { self.arena.get() });
            if moved {
                // The execution no longer refers to the parking arena: its `Rc` goes.
                parked.home = Home::Scratch;
            }
        }
        match Suspension::of(guarded_resume(&mut parked.execution, now)) {
            Ok(outcome) => self.finish_parked(parked, outcome),
            Err(suspension) => self.park(suspension, parked),
        }
    }

    /// Hands the task answers sent to this worker to their executions, then resumes every
    /// parked execution whose deadline has passed: Waits and back-offs, and awaited tasks
    /// that time out (unless an answer claimed the task first).
    ///
    /// The time is read first: a heartbeat or answer sent before time moved past a deadline
    /// is then in the inbox, and is taken before that deadline is acted on.
    fn expire_timers(&mut self) {
        let now = self.shared().time.now_ms();
        self.take_task_messages();
        if self.timers.is_empty() && self.task_deadlines.is_empty() {
            return;
        }
        while self.timers.peek().is_some_and(|t| t.until_ms <= now) {
            let Some(Timer { parked, .. }) = self.timers.pop() else {
                break;
            };
            self.resume_parked(parked, now);
        }
        while let Some(&Reverse((until_ms, key))) = self.task_deadlines.peek() {
            if until_ms > now {
                break;
            }
            self.task_deadlines.pop();
            if self.awaiting.get(&key).is_some_and(|a| a.until_ms <= until_ms) {
                self.resume_awaiting(key, now);
            }
        }
    }

    /// Hands the answers and heartbeats sent to this worker to the executions awaiting them.
    fn take_task_messages(&mut self) {
        let table = &self.shared().tasks.table;
        while let Some(message) = table.next_message(self.index) {
            self.take_task_message(message);
        }
    }

    /// Hands one answer or heartbeat to the execution awaiting its token (none: the
    /// execution has ended or gave the task up, and the message is dropped). An answer
    /// resumes the execution.
    fn take_task_message(&mut self, message: TaskMessage) {
        let id = message.token.id();
        let Some(&key) = self.awaited_by.get(&id) else {
            return;
        };
        let Some(awaiting) = self.awaiting.get_mut(&key) else {
            return;
        };
        // SAFETY: the value lives in the execution's own arena (module docs).
        let arena = unsafe { awaiting.parked.home.arena(&self.arena) };
        match deliver_task_message(&mut awaiting.parked.execution, arena, message) {
            Delivered::Alive(until_ms) => {
                awaiting.until_ms = until_ms;
                self.task_deadlines.push(Reverse((until_ms, key)));
            }
            Delivered::Answered => {
                // The answer claimed the token: this worker alone holds its execution.
                self.awaited_by.remove(&id);
                let now = self.shared().time.now_ms();
                self.resume_awaiting(key, now);
            }
            Delivered::Stale => {}
        }
    }

    /// Reports a parked execution's outcome and frees what its values took: its own arena
    /// goes back to the pool, the scratch arena is reset (the execution, which borrows the
    /// arena, is dropped first).
    fn finish_parked(&mut self, parked: Box<Parked>, outcome: RawOutcome<'_>) {
        let Parked {
            execution,
            home,
            origin,
            started,
        } = *parked;
        drop(execution);
        self.finish(outcome, origin, started);
        match home {
            Home::Own(arena) => self.recycle(arena),
            // SAFETY: the execution and its outcome are gone.
            Home::Scratch => unsafe { self.arena.reset() },
            Home::Parking(parking) => drop(parking),
        }
    }

    /// Ends every parked execution as aborted; their task tokens are refused from now on.
    fn abort_parked(&mut self) {
        while let Some(Timer { parked, .. }) = self.timers.pop() {
            self.abort_one(parked);
        }
        self.task_deadlines.clear();
        self.awaited_by.clear();
        let table = &self.shared().tasks.table;
        for (_, awaiting) in std::mem::take(&mut self.awaiting) {
            for (token, _) in awaiting.parked.execution.awaited_tokens() {
                table.claim(token);
            }
            self.abort_one(awaiting.parked);
        }
    }

    /// Stops a parked execution (its history gets `ExecutionAborted`) and reports it.
    fn abort_one(&mut self, mut parked: Box<Parked>) {
        let outcome = parked.execution.abort(None, None).unwrap_or_else(aborted_outcome);
        self.finish_parked(parked, outcome);
    }

    fn recycle(&mut self, mut arena: ArenaBox) {
        if self.spare.len() < SPARE_ARENAS {
            // SAFETY: the execution that used it is gone.
            unsafe { arena.reset() };
            self.spare.push(arena);
        }
    }

    /// Counts and reports an outcome; returns the time it ended.
    fn finish<B: BatchRef>(&mut self, outcome: RawOutcome<'_>, origin: Origin<B>, started: Instant) -> Instant {
        let end = Instant::now();
        self.counters().bump_owned(Event::Ended(outcome.status));
        if self.latency.record(end - started) {
            self.flush_hist();
        }
        match origin {
            Origin::Submit(Submission { id, done, .. }) => {
                deliver(done, id, Ok(&outcome));
                self.shared().release();
            }
            Origin::Batch(batch, i) => {
                // SAFETY: `i` was claimed by this worker and built once.
                unsafe { batch.batch().visit(i, outcome) };
                if B::ENDS_PER_CHUNK {
                    self.ended_in_chunk += 1;
                } else {
                    batch.batch().ended(1);
                }
            }
        }
        end
    }

    /// The time (epoch milliseconds) at `at`, a moment just read: virtual time as it is,
    /// system time from the worker's [`WallAnchor`].
    fn now_ms_at(&mut self, at: Instant) -> i64 {
        let time = &self.shared().time;
        match time.is_virtual() {
            true => time.now_ms(),
            false => self.wall.now_ms_at(at),
        }
    }

    fn flush_hist(&mut self) {
        self.shared().metrics.merge(&mut self.latency);
    }
}

impl Home {
    /// The arena the execution's values live in (`scratch` for [`Home::Scratch`]).
    ///
    /// # Safety
    /// As [`ArenaBox::get`].
    unsafe fn arena(&self, scratch: &ArenaBox) -> &'static Arena {
        // SAFETY: as the caller vouches.
        unsafe {
            match self {
                Home::Scratch => scratch.get(),
                Home::Own(arena) => arena.get(),
                Home::Parking(parking) => parking.get(),
            }
        }
    }
}

/// The outcome of an execution stopped by an aborting shutdown.
fn aborted_outcome() -> RawOutcome<'static> {
    RawOutcome {
        source: SourceText::NONE,
        status: Status::Aborted,
        output: None,
        error: None,
        cause: None,
    }
}
