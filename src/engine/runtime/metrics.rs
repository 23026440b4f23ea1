//! Counters and latency histograms.
//!
//! Counters are per worker (one writer each, so an increment is a plain load and store on
//! the worker's own cache line), per caller's thread for executions run there
//! ([`CallerSlot`]: the same, plus that thread's own latency histogram, so that threads
//! running executions side by side share no cache line), and in one slot that any thread
//! may write (inputs rejected, and callers that cannot keep a slot of their own); a snapshot
//! adds them up. Workers count latencies in a local [`LatencyBuffer`] and merge it into the
//! shared slot's histogram every [`FLUSH_EVERY`] records, whenever the worker runs out of work, at the
//! end of each of its `run_batch` shares and when it exits.

use std::cell::{Ref, RefCell};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crossbeam_utils::CachePadded;
use hdrhistogram::Histogram;

use crate::exec::Status;

/// Latencies are recorded in nanoseconds, up to this bound (one hour); longer ones are
/// clamped to it.
const MAX_LATENCY_NS: u64 = 3_600_000_000_000;

/// A worker merges its local histogram into the shared one after this many records.
pub(crate) const FLUSH_EVERY: u64 = 16_384;

/// `latency` in whole nanoseconds, clamped to 1..=[`MAX_LATENCY_NS`] as it is recorded.
#[inline]
fn latency_ns(latency: Duration) -> u64 {
    u64::try_from(latency.as_nanos())
        .unwrap_or(MAX_LATENCY_NS)
        .clamp(1, MAX_LATENCY_NS)
}

/// A new latency histogram (nanoseconds, 2 significant figures).
pub(crate) fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_NS, 2).expect("static histogram bounds are valid")
}

/// The latencies a worker recorded since it last merged them, counted in its histogram's own
/// buckets, so that recording one costs a few instructions (an hdrhistogram record costs
/// about 130 here, and every execution on the pool records one).
///
/// With 2 significant figures a [`Histogram`] counts values under 256 one by one and
/// divides each power of two above into 128 equal steps. The buffer has one counter per
/// such bucket (up to [`MAX_LATENCY_NS`]); [`LatencyBuffer::merge_into`] records each count at
/// its bucket's lowest value, which the histogram counts in that same bucket.
pub(crate) struct LatencyBuffer {
    counts: Box<[u32]>,
    /// The lowest and highest bucket counted since the last merge (`low > high` when none).
    low: usize,
    high: usize,
    /// Latencies recorded since the last merge.
    recorded: u64,
}

/// Values below this are counted one by one.
const EXACT_BELOW: u64 = 256;

/// The steps of each power of two from [`EXACT_BELOW`] up.
const STEPS_PER_POWER: usize = 128;

impl LatencyBuffer {
    /// An empty buffer with a counter for every bucket up to [`MAX_LATENCY_NS`].
    pub(crate) fn new() -> LatencyBuffer {
        LatencyBuffer {
            counts: vec![0; Self::bucket(MAX_LATENCY_NS) + 1].into_boxed_slice(),
            low: usize::MAX,
            high: 0,
            recorded: 0,
        }
    }

    /// The bucket of `ns` (at least 1).
    #[inline]
    fn bucket(ns: u64) -> usize {
        if ns < EXACT_BELOW {
            return ns as usize;
        }
        // The step size is 2^shift in [2^(shift + 7), 2^(shift + 8)).
        let shift = 63 - ns.leading_zeros() - 7;
        EXACT_BELOW as usize + (shift as usize - 1) * STEPS_PER_POWER + ((ns >> shift) as usize - STEPS_PER_POWER)
    }

    /// The lowest value of `bucket`.
    fn lowest(bucket: usize) -> u64 {
        match bucket.checked_sub(EXACT_BELOW as usize) {
            None => bucket as u64,
            Some(above) => {
                let shift = above / STEPS_PER_POWER + 1;
                ((above % STEPS_PER_POWER + STEPS_PER_POWER) as u64) << shift
            }
        }
    }

    /// Counts one latency (clamped to 1 ns..[`MAX_LATENCY_NS`]); true when [`FLUSH_EVERY`]
    /// have been counted since the last merge.
    #[inline]
    pub(crate) fn record(&mut self, latency: Duration) -> bool {
        let bucket = Self::bucket(latency_ns(latency));
        if let Some(count) = self.counts.get_mut(bucket) {
            *count += 1;
        }
        self.low = self.low.min(bucket);
        self.high = self.high.max(bucket);
        self.recorded += 1;
        self.recorded >= FLUSH_EVERY
    }

    /// Adds what was counted to `hist` and empties the buffer.
    pub(crate) fn merge_into(&mut self, hist: &mut Histogram<u64>) {
        if self.low <= self.high {
            for (bucket, count) in self.counts[self.low..=self.high].iter_mut().enumerate() {
                if *count > 0 {
                    hist.saturating_record_n(Self::lowest(self.low + bucket), u64::from(*count));
                    *count = 0;
                }
            }
        }
        self.low = usize::MAX;
        self.high = 0;
        self.recorded = 0;
    }
}

/// One slot of counters.
#[derive(Default)]
pub(crate) struct Counters {
    started: AtomicU64,
    succeeded: AtomicU64,
    failed: AtomicU64,
    timed_out: AtomicU64,
    aborted: AtomicU64,
    rejected: AtomicU64,
}

/// Which counter to bump.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Event {
    Started,
    Ended(Status),
    Rejected,
}

impl Counters {
    fn counter(&self, event: Event) -> &AtomicU64 {
        match event {
            Event::Started => &self.started,
            Event::Ended(Status::Succeeded) => &self.succeeded,
            Event::Ended(Status::Failed) => &self.failed,
            Event::Ended(Status::TimedOut) => &self.timed_out,
            Event::Ended(Status::Aborted) => &self.aborted,
            Event::Rejected => &self.rejected,
        }
    }

    /// Increments from the slot's only writer (a worker): no read-modify-write needed.
    #[inline]
    pub(crate) fn bump_owned(&self, event: Event) {
        let c = self.counter(event);
        c.store(c.load(Ordering::Relaxed) + 1, Ordering::Release);
    }

    /// Increments from any thread.
    #[inline]
    pub(crate) fn bump_shared(&self, event: Event) {
        self.counter(event).fetch_add(1, Ordering::AcqRel);
    }
}

/// The counters and latencies of the executions one caller's thread runs (`Runtime::run*`):
/// written by that thread only, read by snapshots; or a runtime's one shared slot, which any
/// thread may write ([`Metrics::shared`]).
pub(crate) struct CallerSlot {
    counters: CachePadded<Counters>,
    latency: Mutex<Histogram<u64>>,
    /// Whether any thread may write it (increments must then be read-modify-writes).
    shared: bool,
}

impl CallerSlot {
    fn new(shared: bool) -> CallerSlot {
        CallerSlot {
            counters: CachePadded::new(Counters::default()),
            latency: Mutex::new(new_histogram()),
            shared,
        }
    }

    fn bump(&self, event: Event) {
        match self.shared {
            false => self.counters.bump_owned(event),
            true => self.counters.bump_shared(event),
        }
    }

    /// Counts an execution started.
    pub(crate) fn started(&self) {
        self.bump(Event::Started);
    }

    /// Counts an execution ended, and its latency.
    pub(crate) fn ended(&self, status: Status, latency: Duration) {
        self.bump(Event::Ended(status));
        if let Ok(mut hist) = self.latency.lock() {
            Metrics::record(&mut hist, latency);
        }
    }
}

thread_local! {
    /// This thread's caller slots, by the id of the runtime's [`Metrics`].
    static CALLER_SLOTS: RefCell<Vec<(u64, Arc<CallerSlot>)>> = const { RefCell::new(Vec::new()) };
}

/// Gives every [`Metrics`] its id.
static NEXT_METRICS_ID: AtomicU64 = AtomicU64::new(0);

/// Every counter and histogram of a runtime.
pub(crate) struct Metrics {
    /// Tells this runtime's caller slots from other runtimes' in a thread's list.
    id: u64,
    /// One per worker.
    pub(crate) slots: Box<[CachePadded<Counters>]>,
    /// One per thread that has run executions of this runtime itself.
    callers: Mutex<Vec<Arc<CallerSlot>>>,
    /// Written by any thread: inputs rejected, executions of a thread that cannot keep a
    /// slot of its own (see [`Metrics::with_caller_slot`]), and the latencies workers merge
    /// (start to outcome, suspensions included, nanoseconds).
    shared: CallerSlot,
}

impl Metrics {
    pub(crate) fn new(workers: usize) -> Metrics {
        Metrics {
            id: NEXT_METRICS_ID.fetch_add(1, Ordering::Relaxed),
            slots: (0..workers).map(|_| CachePadded::new(Counters::default())).collect(),
            callers: Mutex::new(Vec::new()),
            shared: CallerSlot::new(true),
        }
    }

    /// The counters any thread may bump (inputs rejected).
    pub(crate) fn shared_slot(&self) -> &Counters {
        &self.shared.counters
    }

    /// Runs `f` with the calling thread's slot, made (and registered for snapshots) on the
    /// thread's first execution of this runtime; slots of runtimes that are gone leave the
    /// thread's list when a new one joins it. `f` runs while the list is borrowed shared,
    /// so that an execution nested in it (a handler running another) finds its slot too; one
    /// that needs a new slot then, or a thread whose list is gone (it is exiting), uses the
    /// runtime's shared slot.
    pub(crate) fn with_caller_slot<R>(&self, f: impl FnOnce(&CallerSlot) -> R) -> R {
        let mut f = Some(f);
        let mut run = |slot: &CallerSlot| f.take().map(|f| f(slot));
        let ran = CALLER_SLOTS.try_with(|cell| {
            if let Ok(slots) = cell.try_borrow() {
                let mine = Ref::filter_map(slots, |slots| {
                    slots.iter().find(|(id, _)| *id == self.id).map(|(_, slot)| &**slot)
                });
                if let Ok(slot) = mine {
                    return run(&slot);
                }
            }
            let Ok(mut slots) = cell.try_borrow_mut() else {
                return run(&self.shared);
            };
            slots.retain(|(_, slot)| Arc::strong_count(slot) > 1);
            let slot = Arc::new(CallerSlot::new(false));
            // A poisoned list is still whole: a push cannot leave it half done.
            let mut callers = self.callers.lock().unwrap_or_else(PoisonError::into_inner);
            callers.push(Arc::clone(&slot));
            drop(callers);
            slots.push((self.id, Arc::clone(&slot)));
            drop(slots);
            run(&slot)
        });
        match ran.ok().flatten() {
            Some(r) => r,
            None => run(&self.shared).expect("`f` has not run: the thread's list was gone"),
        }
    }

    /// Adds a worker's buffered latencies to the shared histogram and empties the buffer.
    pub(crate) fn merge(&self, local: &mut LatencyBuffer) {
        if local.recorded == 0 {
            return;
        }
        let mut shared = self.shared.latency.lock().unwrap_or_else(PoisonError::into_inner);
        local.merge_into(&mut shared);
    }

    /// Records one latency into `hist`.
    #[inline]
    pub(crate) fn record(hist: &mut Histogram<u64>, latency: Duration) {
        hist.saturating_record(latency_ns(latency));
    }

    pub(crate) fn snapshot(&self) -> MetricsSnapshot {
        let mut s = MetricsSnapshot {
            started: 0,
            succeeded: 0,
            failed: 0,
            timed_out: 0,
            aborted: 0,
            rejected: 0,
            latency: new_histogram(),
        };
        let callers = self.callers.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let callers: Vec<&CallerSlot> = callers.iter().map(|c| &**c).chain([&self.shared]).collect();
        let counters = self.slots.iter().map(|slot| &**slot);
        for slot in counters.chain(callers.iter().map(|caller| &*caller.counters)) {
            let get = |c: &AtomicU64| c.load(Ordering::Acquire);
            s.started += get(&slot.started);
            s.succeeded += get(&slot.succeeded);
            s.failed += get(&slot.failed);
            s.timed_out += get(&slot.timed_out);
            s.aborted += get(&slot.aborted);
            s.rejected += get(&slot.rejected);
        }
        for caller in &callers {
            if let Ok(hist) = caller.latency.lock() {
                // Same bounds on both sides: `add` cannot fail.
                let _ = s.latency.add(&*hist);
            }
        }
        s
    }
}

/// A copy of a runtime's counters and latency histogram at one moment.
///
/// Counters are exact for every execution that has ended before the snapshot; while
/// executions run, `started` may be ahead of the sum of the others. Latencies of the last
/// executions a busy worker ran may not be merged yet (see the module docs).
#[derive(Clone, Debug)]
pub struct MetricsSnapshot {
    /// Executions started (accepted and given to the interpreter).
    pub started: u64,
    /// Executions that succeeded.
    pub succeeded: u64,
    /// Executions that failed.
    pub failed: u64,
    /// Executions that timed out (the machine's `TimeoutSeconds`).
    pub timed_out: u64,
    /// Executions that were aborted (stopped by `shutdown` in abort mode).
    pub aborted: u64,
    /// Inputs refused before starting (not JSON).
    pub rejected: u64,
    /// Execution latency from start to outcome, suspensions included, in nanoseconds.
    pub latency: Histogram<u64>,
}

impl MetricsSnapshot {
    /// Executions that have ended, in any way.
    pub fn ended(&self) -> u64 {
        self.succeeded + self.failed + self.timed_out + self.aborted
    }

    /// Whether every started execution has ended: `started == succeeded + failed +
    /// timed_out + aborted`.
    pub fn balanced(&self) -> bool {
        self.started == self.ended()
    }

    /// The latency at quantile `q` (0.0 to 1.0); zero when nothing was recorded.
    pub fn latency_at(&self, q: f64) -> Duration {
        Duration::from_nanos(self.latency.value_at_quantile(q))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the histogram holds: each bucket's lowest value and count, min, max, total.
    fn contents(hist: &Histogram<u64>) -> (Vec<(u64, u64)>, u64, u64, u64) {
        let buckets = hist
            .iter_recorded()
            .map(|v| (hist.lowest_equivalent(v.value_iterated_to()), v.count_at_value()))
            .collect();
        (buckets, hist.min(), hist.max(), hist.len())
    }

    #[test]
    fn buffered_latencies_land_in_the_buckets_a_direct_record_uses() {
        let mut values: Vec<u64> = vec![0, 1, 2, 127, 255, 256, 257, 258, 511, 512, 513, 1023, 1024, 1_000_000];
        values.extend((0..40).flat_map(|p| {
            let power = 1u64 << p;
            [power - 1, power, power + 1, power + power / 3]
        }));
        values.extend([MAX_LATENCY_NS - 1, MAX_LATENCY_NS, MAX_LATENCY_NS + 1, u64::MAX / 2]);
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // Spread over every magnitude: a random number of low bits.
            values.push(state >> (state % 64));
        }
        let mut direct = new_histogram();
        let mut buffered = new_histogram();
        let mut buffer = LatencyBuffer::new();
        for (i, &ns) in values.iter().enumerate() {
            let latency = Duration::from_nanos(ns);
            Metrics::record(&mut direct, latency);
            buffer.record(latency);
            if i % 7_777 == 0 {
                buffer.merge_into(&mut buffered);
            }
        }
        buffer.merge_into(&mut buffered);
        assert_eq!(buffered.len(), values.len() as u64);
        assert_eq!(contents(&buffered), contents(&direct));
        // Merged counts are gone from the buffer.
        buffer.merge_into(&mut buffered);
        assert_eq!(buffered.len(), values.len() as u64);
    }

    #[test]
    fn the_buffer_asks_to_be_merged_from_flush_every_records_until_it_is() {
        let mut buffer = LatencyBuffer::new();
        let latency = Duration::from_nanos(300);
        let asked: Vec<bool> = (0..FLUSH_EVERY + 2).map(|_| buffer.record(latency)).collect();
        assert!(asked[..FLUSH_EVERY as usize - 1].iter().all(|ask| !ask));
        assert!(asked[FLUSH_EVERY as usize - 1..].iter().all(|ask| *ask));
        let mut hist = new_histogram();
        buffer.merge_into(&mut hist);
        assert_eq!(hist.len(), FLUSH_EVERY + 2);
        assert!(!buffer.record(latency));
    }
}
