//! At steady state, executions of W1-W6 on the fast path (pre-parsed input in, output read in
//! place) allocate nothing on the heap: asserted exactly with a counting allocator.
//!
//! Set `QUICKSTEP_ALLOC_TRACE=1` to print a backtrace of each counted allocation.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use quickstep::runtime::workloads::{default_dir, Workload, NAMES};
use quickstep::runtime::{Built, Runtime};
use quickstep::value::Arena;
use quickstep::Status;

struct Counting;

thread_local! {
    /// Allocations counted on this thread.
    static COUNT: Cell<u64> = const { Cell::new(0) };
    /// Counting is on for this thread.
    static ON: Cell<bool> = const { Cell::new(false) };
    /// Inside the allocator's own tracing (not counted).
    static TRACING: Cell<bool> = const { Cell::new(false) };
}

fn note() {
    if ON.try_with(|on| on.get()).unwrap_or(false) && !TRACING.try_with(|t| t.get()).unwrap_or(true) {
        let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        TRACING.with(|t| t.set(true));
        if std::env::var_os("QUICKSTEP_ALLOC_TRACE").is_some() {
            eprintln!("allocation:\n{}", std::backtrace::Backtrace::force_capture());
        }
        TRACING.with(|t| t.set(false));
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by `f` on this thread (tests run in parallel: counts are per thread).
fn allocations(f: impl FnOnce()) -> u64 {
    let before = COUNT.with(|c| c.get());
    ON.with(|on| on.set(true));
    f();
    ON.with(|on| on.set(false));
    COUNT.with(|c| c.get()) - before
}

#[test]
fn fast_path_allocates_nothing_at_steady_state() {
    let mut failures = Vec::new();
    for name in NAMES {
        let workload = Workload::load(name, &default_dir()).unwrap();
        let runtime = Runtime::builder().threads(1).build(workload.machine().unwrap());
        let arena = Arena::new();
        let input = quickstep::value::parse(&arena, &workload.input).unwrap();
        let run = || runtime.run_with(input, |raw| raw.status == Status::Succeeded && raw.output.is_some());
        for _ in 0..100 {
            assert!(run(), "{name}");
        }
        let n = allocations(|| {
            for _ in 0..1000 {
                assert!(run());
            }
        });
        if n != 0 {
            failures.push(format!("{name}: {n} allocations in 1000 executions"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn batches_allocate_per_batch_not_per_execution() {
    let workload = Workload::load("w1_order", &default_dir()).unwrap();
    let runtime = Runtime::builder().threads(2).build(workload.machine().unwrap());
    let arena = Arena::new();
    let input = quickstep::value::parse(&arena, &workload.input).unwrap();
    let inputs = vec![input; 10_000];
    let batch = || runtime.run_batch_with(&inputs, |v, _| Built::Run(*v), |_, raw| raw.status == Status::Succeeded);
    assert!(batch().iter().all(|ok| *ok));
    // The calling thread allocates the result vector and the batch record; the workers
    // (not counted here, see the test above for the per-execution path) allocate nothing.
    let n = allocations(|| assert!(batch().iter().all(|ok| *ok)));
    assert!(n <= 4, "{n} allocations for one batch");
}

#[test]
fn streaming_with_shared_input_and_a_visitor_allocates_nothing_per_execution() {
    use quickstep::exec::RawOutcome;
    use quickstep::runtime::{Completion, Input};
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    let workload = Workload::load("w1_order", &default_dir()).unwrap();
    let runtime = Runtime::builder().threads(1).build(workload.machine().unwrap());
    let text: Arc<str> = Arc::from(workload.input.as_str());
    // Allocations counted on the worker thread (counting starts at its first visit), as of
    // its latest visit, and the executions that succeeded with an output.
    let worker_count = Arc::new(AtomicU64::new(0));
    let succeeded = Arc::new(AtomicU64::new(0));
    let visitor: Arc<dyn Fn(u64, RawOutcome<'_>) + Send + Sync> = {
        let (worker_count, succeeded) = (Arc::clone(&worker_count), Arc::clone(&succeeded));
        Arc::new(move |_, raw| {
            ON.with(|on| on.set(true));
            if raw.status == Status::Succeeded && raw.output.is_some() {
                succeeded.fetch_add(1, Ordering::SeqCst);
            }
            worker_count.store(COUNT.with(|c| c.get()), Ordering::SeqCst);
        })
    };
    let submit = |n: usize| {
        for _ in 0..n {
            runtime.submit(
                Input::Shared(Arc::clone(&text)),
                Completion::Visit(Arc::clone(&visitor)),
            );
        }
    };
    let settle = || {
        while runtime.in_flight() > 0 {
            std::thread::yield_now();
        }
    };
    for _ in 0..5 {
        submit(2_000);
        settle();
    }
    let worker_before = worker_count.load(Ordering::SeqCst);
    let caller = allocations(|| submit(10_000));
    settle();
    let worker = worker_count.load(Ordering::SeqCst) - worker_before;
    assert_eq!(succeeded.load(Ordering::SeqCst), 20_000);
    // The submitting thread allocates only the queue's blocks (63 submissions each).
    assert!(
        caller <= 10_000 / 63 + 2,
        "{caller} allocations submitting 10,000 executions"
    );
    assert_eq!(worker, 0, "allocations on the worker for 10,000 executions");
}
