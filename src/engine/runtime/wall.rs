//! The system clock read about once a second and advanced by the latency clock in between
//! (executions start thousands of times a millisecond; reading the system clock for each
//! costs about a tenth of a short execution).

use std::time::Duration;

use quanta::Instant;

use crate::clock::{Clock, SystemClock};

/// How often the system clock is read again; in between, the time is the last reading plus
/// the monotonic time since.
const REREAD: Duration = Duration::from_secs(1);

/// The last reading of the system clock and when it was taken, and the last millisecond
/// worked out from it with the moment it ends (so that most executions only compare two
/// instants).
pub(crate) struct WallAnchor {
    at: Instant,
    ms: i64,
    last_ms: i64,
    last_ms_ends: Instant,
}

impl WallAnchor {
    /// An anchor read now.
    pub(crate) fn new() -> WallAnchor {
        WallAnchor::read_at(Instant::now())
    }

    fn read_at(at: Instant) -> WallAnchor {
        let ms = SystemClock.now_ms();
        WallAnchor {
            at,
            ms,
            last_ms: ms,
            last_ms_ends: at + Duration::from_millis(1),
        }
    }

    /// The system time (epoch milliseconds) at `at`, a moment just read: from the last
    /// reading of the system clock when it is under [`REREAD`] old, else read again.
    pub(crate) fn now_ms_at(&mut self, at: Instant) -> i64 {
        if at < self.last_ms_ends {
            return self.last_ms;
        }
        match at.checked_duration_since(self.at) {
            Some(since) if since < REREAD => {
                let whole_ms = since.as_millis() as u64;
                self.last_ms = self.ms + whole_ms as i64;
                self.last_ms_ends = self.at + Duration::from_millis(whole_ms + 1);
                self.last_ms
            }
            _ => {
                *self = WallAnchor::read_at(at);
                self.ms
            }
        }
    }
}
