//! The counting global allocator: heap allocations on top of mimalloc, counted by thread.

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Counts heap allocations (all threads) on top of mimalloc, except those of loadgen's own
/// output checks.
struct CountingAlloc;

/// Allocation counts by thread: a thread writes only its own slot, with a plain load and
/// store, so that counting does not slow down code that allocates (threads past the last
/// slot share it, with an atomic add).
static ALLOCATION_COUNTS: [CountSlot; COUNT_SLOTS] = [const { CountSlot(AtomicU64::new(0)) }; COUNT_SLOTS];
const COUNT_SLOTS: usize = 64;
static NEXT_COUNT_SLOT: AtomicUsize = AtomicUsize::new(0);

/// One thread's count, on a cache line of its own.
#[repr(align(128))]
struct CountSlot(AtomicU64);

thread_local! {
    /// Set while loadgen checks an output: those allocations are not the executor's.
    static CHECKING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// This thread's slot in [`ALLOCATION_COUNTS`], once it has allocated.
    static COUNT_SLOT: std::cell::Cell<usize> = const { std::cell::Cell::new(usize::MAX) };
}

fn count_allocation() {
    if CHECKING.try_with(|c| c.get()).unwrap_or(true) {
        return;
    }
    let slot = COUNT_SLOT
        .try_with(|slot| {
            if slot.get() == usize::MAX {
                slot.set(NEXT_COUNT_SLOT.fetch_add(1, Ordering::Relaxed).min(COUNT_SLOTS - 1));
            }
            slot.get()
        })
        .unwrap_or(COUNT_SLOTS - 1);
    let count = &ALLOCATION_COUNTS[slot].0;
    if slot < COUNT_SLOTS - 1 {
        count.store(count.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    } else {
        count.fetch_add(1, Ordering::Relaxed);
    }
}

/// Allocations counted so far, all threads.
pub(crate) fn allocations() -> u64 {
    ALLOCATION_COUNTS
        .iter()
        .map(|slot| slot.0.load(Ordering::Relaxed))
        .sum()
}

/// Runs an output check without counting its allocations.
pub(crate) fn uncounted<R>(f: impl FnOnce() -> R) -> R {
    CHECKING.with(|c| c.set(true));
    let r = f();
    CHECKING.with(|c| c.set(false));
    r
}

unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_allocation();
        unsafe { mimalloc::MiMalloc.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { mimalloc::MiMalloc.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_allocation();
        unsafe { mimalloc::MiMalloc.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_allocation();
        unsafe { mimalloc::MiMalloc.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;
