//! `run_batch`: many inputs, results in input order, spread over the pool.
//!
//! The caller's closures and slices stay on its stack; the pool sees them through a
//! type-erased [`Batch`] that lives in an `Arc`. Workers claim chunks of indices with one
//! `fetch_add` each, so a batch costs a handful of queue operations whatever its size. The
//! caller blocks until every execution has ended (suspended ones included) and until every
//! worker that joined the batch has left it, so nothing reads the erased pointers after the
//! caller returns: a ticket that is popped late sees no chunk left and never touches them.

use std::any::Any;
use std::mem::MaybeUninit;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread::Thread;

use crate::exec::RawOutcome;
use crate::value::{Arena, SourceText, Value};

/// A built input ready to run: its value, the text it was read from (for outputs that copy
/// it), and the execution's own name when it was given one.
pub(crate) type Started<'a> = (Value<'a>, SourceText<'a>, Option<&'a str>);

/// What a batch hands each worker: its inputs, how to build one, how to take one outcome.
pub(crate) struct Batch {
    pub(crate) len: usize,
    pub(crate) chunk: usize,
    next: AtomicUsize,
    /// Executions not ended yet.
    remaining: AtomicUsize,
    /// Tickets (workers' shares) not finished yet.
    tickets: AtomicUsize,
    caller: Thread,
    /// The first panic of a caller closure, re-raised on the caller's thread.
    panic: Mutex<Option<Box<dyn Any + Send>>>,
    ctx: *const (),
    build: for<'a> unsafe fn(*const (), usize, &'a Arena) -> Option<Started<'a>>,
    visit: for<'a> unsafe fn(*const (), usize, RawOutcome<'a>),
}

// SAFETY: `ctx` points to a `Ctx` whose closures are `Sync` and whose slots are written at
// distinct indices by one thread each; the caller keeps it alive until every use is over
// (see the module docs).
unsafe impl Send for Batch {}
unsafe impl Sync for Batch {}

/// The caller-side, typed half of a batch.
struct Ctx<'env, T, R, B, V> {
    inputs: &'env [T],
    build: B,
    visit: V,
    out: *mut MaybeUninit<R>,
}

/// What building an input gives: a value to run, or the result for that index at once.
pub enum Built<'a, R> {
    /// Run an execution on this input.
    Run(Value<'a>),
    /// Run an execution on this input, read with
    /// [`parse_keeping_text`](crate::value::parse_keeping_text): the outcome's
    /// [`write_output`](RawOutcome::write_output) copies the text of containers that reach
    /// the output unchanged.
    RunText(Value<'a>, SourceText<'a>),
    /// Run an execution of its own name (`$$.Execution.Name`, such as a line number or a
    /// message id, allocated in the arena) on this input, read as for
    /// [`RunText`](Self::RunText) or with [`SourceText::NONE`].
    RunNamed(Value<'a>, SourceText<'a>, &'a str),
    /// Do not start an execution; this is the index's result (an input that is not JSON).
    Reject(R),
}

unsafe fn build_erased<'a, T, R, B, V>(ctx: *const (), i: usize, arena: &'a Arena) -> Option<Started<'a>>
where
    B: for<'x> Fn(&'x T, &'x Arena) -> Built<'x, R>,
{
    // SAFETY: `ctx` is the `Ctx` this function was erased from, alive while the batch runs;
    // `i < len` was claimed by exactly one worker.
    let ctx = unsafe { &*(ctx as *const Ctx<'_, T, R, B, V>) };
    let input = &ctx.inputs[i];
    let built = match (ctx.build)(input, arena) {
        Built::Run(v) => (v, SourceText::NONE, None),
        Built::RunText(v, source) => (v, source, None),
        Built::RunNamed(v, source, name) => (v, source, Some(name)),
        Built::Reject(r) => {
            // SAFETY: index `i` is written once, by the worker that claimed it.
            unsafe { (*ctx.out.add(i)).write(r) };
            return None;
        }
    };
    // SAFETY: the value and its kept text borrow the input and the arena; the input
    // outlives the batch, which outlives the execution (module docs), so `'a` is not
    // exceeded in practice.
    Some(unsafe { std::mem::transmute::<Started<'_>, Started<'a>>(built) })
}

unsafe fn visit_erased<'a, T, R, B, V>(ctx: *const (), i: usize, outcome: RawOutcome<'a>)
where
    V: Fn(usize, RawOutcome<'_>) -> R,
{
    // SAFETY: as in `build_erased`.
    let ctx = unsafe { &*(ctx as *const Ctx<'_, T, R, B, V>) };
    let r = (ctx.visit)(i, outcome);
    // SAFETY: index `i` is written once, by the worker that ran it.
    unsafe { (*ctx.out.add(i)).write(r) };
}

impl Batch {
    /// Claims the next chunk of indices, if any is left.
    pub(crate) fn claim(&self) -> Option<std::ops::Range<usize>> {
        let start = self.next.fetch_add(self.chunk, Ordering::Relaxed);
        (start < self.len).then(|| start..(start + self.chunk).min(self.len))
    }

    /// Builds input `i` in `arena`; `None` when the caller's `build` rejected it (its
    /// result is already stored) or panicked.
    ///
    /// # Safety
    /// `i` must come from [`claim`](Self::claim) and be built once.
    pub(crate) unsafe fn build<'a>(&self, i: usize, arena: &'a Arena) -> Option<Started<'a>> {
        match catch_unwind(AssertUnwindSafe(|| unsafe { (self.build)(self.ctx, i, arena) })) {
            Ok(v) => v,
            Err(p) => {
                self.record_panic(p);
                None
            }
        }
    }

    /// Hands outcome `i` to the caller's visitor.
    ///
    /// # Safety
    /// `i` must come from [`claim`](Self::claim), and be visited once, after its `build`
    /// returned `Some`.
    pub(crate) unsafe fn visit(&self, i: usize, outcome: RawOutcome<'_>) {
        if let Err(p) = catch_unwind(AssertUnwindSafe(|| unsafe { (self.visit)(self.ctx, i, outcome) })) {
            self.record_panic(p);
        }
    }

    fn record_panic(&self, p: Box<dyn Any + Send>) {
        if let Ok(mut slot) = self.panic.lock() {
            slot.get_or_insert(p);
        }
    }

    /// Marks `n` executions of this batch as ended.
    pub(crate) fn ended(&self, n: usize) {
        if n > 0 && self.remaining.fetch_sub(n, Ordering::AcqRel) == n {
            self.caller.unpark();
        }
    }

    /// Marks one worker's share as finished.
    pub(crate) fn ticket_done(&self) {
        if self.tickets.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.caller.unpark();
        }
    }

    fn finished(&self) -> bool {
        self.remaining.load(Ordering::Acquire) == 0 && self.tickets.load(Ordering::Acquire) == 0
    }
}

/// Runs a batch: `spawn(batch, tickets)` must hand `tickets` shares to the pool; this waits
/// for all of them and returns the results in input order.
pub(crate) fn run<T, R, B, V>(
    inputs: &[T],
    workers: usize,
    build: B,
    visit: V,
    spawn: impl FnOnce(&std::sync::Arc<Batch>, usize),
) -> Vec<R>
where
    T: Sync,
    R: Send,
    B: for<'x> Fn(&'x T, &'x Arena) -> Built<'x, R> + Sync,
    V: Fn(usize, RawOutcome<'_>) -> R + Sync,
{
    let len = inputs.len();
    let mut out: Vec<MaybeUninit<R>> = Vec::with_capacity(len);
    // SAFETY: `MaybeUninit` needs no initialization.
    unsafe { out.set_len(len) };
    if len == 0 {
        return Vec::new();
    }
    let ctx = Ctx {
        inputs,
        build,
        visit,
        out: out.as_mut_ptr(),
    };
    let chunk = (len / (workers.max(1) * 16)).clamp(1, 256);
    let chunks = len.div_ceil(chunk);
    let tickets = workers.max(1).min(chunks);
    let batch = std::sync::Arc::new(Batch {
        len,
        chunk,
        next: AtomicUsize::new(0),
        remaining: AtomicUsize::new(len),
        tickets: AtomicUsize::new(tickets),
        caller: std::thread::current(),
        panic: Mutex::new(None),
        ctx: &ctx as *const Ctx<'_, T, R, B, V> as *const (),
        build: build_erased::<T, R, B, V>,
        visit: visit_erased::<T, R, B, V>,
    });
    spawn(&batch, tickets);
    while !batch.finished() {
        std::thread::park();
    }
    drop(ctx);
    if let Some(p) = batch.panic.lock().ok().and_then(|mut p| p.take()) {
        // Results written so far are leaked, not dropped: which slots were written is not
        // tracked, and leaking is safe.
        std::mem::forget(out);
        std::panic::resume_unwind(p);
    }
    // SAFETY: every index was claimed, and each claimed index was written exactly once
    // (by `build` rejecting it, by `visit`, or the batch panicked and returned above).
    let mut out = std::mem::ManuallyDrop::new(out);
    unsafe { Vec::from_raw_parts(out.as_mut_ptr() as *mut R, len, out.capacity()) }
}
