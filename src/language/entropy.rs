//! Where the language's nondeterminism comes from: the random numbers of `States.MathRandom`,
//! `States.UUID` and JSONata's `$random`, `$shuffle` and `$uuid`, and the current time of
//! JSONata's `$now()` and `$millis()`.
//!
//! By default each thread has its own generator, seeded from the clock, and the time is the
//! system's. A durable execution is resumed by replaying its recorded steps, which must then
//! compute what they computed the first time: its driver runs each step inside
//! [`repeatable`], which gives the thread a generator seeded from the step and a fixed time.

use std::cell::Cell;

thread_local! {
    static RNG: Cell<u64> = Cell::new(initial_seed());
    static FIXED_NOW_MS: Cell<Option<i64>> = const { Cell::new(None) };
}

fn initial_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let local = 0u8;
    nanos ^ (std::ptr::addr_of!(local) as u64).rotate_left(32)
}

/// The next number of the thread's generator (SplitMix64).
pub fn random_u64() -> u64 {
    RNG.with(|state| {
        let s = state.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        state.set(s);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    })
}

/// A number in `[0, 1)` from the thread's generator.
pub fn random_f64() -> f64 {
    (random_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// The current time in epoch milliseconds: the fixed time inside [`repeatable`], else the
/// system's.
pub fn now_millis() -> i64 {
    FIXED_NOW_MS.with(Cell::get).unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    })
}

/// Runs `f` with this thread's generator seeded with `seed` and its time fixed at `now_ms`,
/// then puts both back (also when `f` panics): the same `seed` and `now_ms` give `f` the same
/// random numbers and times.
pub fn repeatable<R>(seed: u64, now_ms: i64, f: impl FnOnce() -> R) -> R {
    struct Restore(u64, Option<i64>);
    impl Drop for Restore {
        fn drop(&mut self) {
            RNG.with(|s| s.set(self.0));
            FIXED_NOW_MS.with(|n| n.set(self.1));
        }
    }
    let _restore = Restore(
        RNG.with(|s| s.replace(seed)),
        FIXED_NOW_MS.with(|n| n.replace(Some(now_ms))),
    );
    f()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeatable_runs_draw_the_same_numbers_and_time() {
        let draw = || (random_u64(), random_f64(), now_millis());
        let first = repeatable(42, 1_000, draw);
        let second = repeatable(42, 1_000, draw);
        assert_eq!(first, second);
        assert_eq!(first.2, 1_000);
        assert_ne!(repeatable(43, 1_000, draw).0, first.0);
        // outside, the system's time again
        assert!(now_millis() > 1_600_000_000_000);
    }

    #[test]
    fn random_f64_stays_below_one() {
        assert!((0..10_000).map(|_| random_f64()).all(|r| (0.0..1.0).contains(&r)));
    }
}
