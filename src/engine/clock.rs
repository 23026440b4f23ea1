//! Time for executions: the real clock, or a virtual one that jumps to each deadline so that
//! Wait states and retry back-offs take no real time (tests, case runs, benchmarks).

/// A source of time that a driver can wait on.
pub trait Clock {
    /// Now, in epoch milliseconds.
    fn now_ms(&self) -> i64;
    /// Waits until `ms` (epoch milliseconds).
    fn wait_until(&mut self, ms: i64);
}

/// The system clock; waiting sleeps the thread.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    }
    fn wait_until(&mut self, ms: i64) {
        let now = self.now_ms();
        if ms > now {
            std::thread::sleep(std::time::Duration::from_millis((ms - now) as u64));
        }
    }
}

/// A virtual clock: waiting moves time forward at once.
#[derive(Clone, Copy, Debug)]
pub struct VirtualClock {
    now_ms: i64,
}

impl VirtualClock {
    /// A virtual clock starting at `start_ms` (epoch milliseconds).
    pub fn starting_at(start_ms: i64) -> VirtualClock {
        VirtualClock { now_ms: start_ms }
    }
}

impl Default for VirtualClock {
    /// Starts at 2024-01-01T00:00:00Z.
    fn default() -> VirtualClock {
        VirtualClock::starting_at(1_704_067_200_000)
    }
}

impl Clock for VirtualClock {
    fn now_ms(&self) -> i64 {
        self.now_ms
    }
    fn wait_until(&mut self, ms: i64) {
        self.now_ms = self.now_ms.max(ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_clock_jumps() {
        let mut clock = VirtualClock::starting_at(1000);
        clock.wait_until(5000);
        assert_eq!(clock.now_ms(), 5000);
        clock.wait_until(10);
        assert_eq!(clock.now_ms(), 5000);
    }
}
