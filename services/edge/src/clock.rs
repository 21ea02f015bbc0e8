//! The node's clock, injected so that tests move time by hand.
//!
//! Legal deadlines (acceptance by default, re-examination lapse, expiry) and delivery
//! back-off are measured against [`Clock::now`]. Production uses [`SystemClock`]; tests use
//! [`ManualClock`] and advance it, so a 14-day reply deadline passes in a microsecond. The
//! wall clock itself is read in one place only: `accord_trust::clock`.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use accord_domain::Timestamp;

/// A source of the current time.
pub trait Clock: Send + Sync + 'static {
    /// The current instant.
    fn now(&self) -> Timestamp;
}

/// The operating system's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let now = accord_trust::clock::wall_clock_now();
        let millis = i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
        // The system clock is between 1970 and 9999; clamp rather than fail if it is not.
        Timestamp::from_millis(millis).unwrap_or(Timestamp::MAX)
    }
}

/// A clock that moves only when told to: for tests and simulations.
#[derive(Debug, Clone)]
pub struct ManualClock {
    millis: Arc<AtomicI64>,
}

impl ManualClock {
    /// A clock showing `start`.
    pub fn new(start: Timestamp) -> Self {
        Self {
            millis: Arc::new(AtomicI64::new(start.as_millis())),
        }
    }

    /// Moves the clock forward by `millis` milliseconds.
    pub fn advance_millis(&self, millis: i64) {
        self.millis.fetch_add(millis, Ordering::SeqCst);
    }

    /// Moves the clock forward by whole days.
    pub fn advance_days(&self, days: i64) {
        self.advance_millis(days * 24 * 60 * 60 * 1_000);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(self.millis.load(Ordering::SeqCst)).unwrap_or(Timestamp::MAX)
    }
}
