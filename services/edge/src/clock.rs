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

/// The system clock moved forward by an offset that only grows: a simulation's time, which
/// runs as the system's does between the jumps a scenario makes ([`ShiftedClock::advance_to`]).
/// Unlike a [`ManualClock`], waits measured on it (delivery back-off, a log's publication)
/// still end when nobody moves it.
#[derive(Debug, Clone, Default)]
pub struct ShiftedClock {
    offset_millis: Arc<AtomicI64>,
}

impl ShiftedClock {
    /// A clock showing the system's time.
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock forward to `instant`; a clock already past it does not move back.
    pub fn advance_to(&self, instant: Timestamp) {
        let shortfall = instant.as_millis() - self.now().as_millis();
        if shortfall > 0 {
            self.offset_millis.fetch_add(shortfall, Ordering::SeqCst);
        }
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> Timestamp {
        let system = SystemClock.now().as_millis();
        let shifted = system.saturating_add(self.offset_millis.load(Ordering::SeqCst));
        Timestamp::from_millis(shifted).unwrap_or(Timestamp::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shifted_clock_jumps_forward_never_back_and_runs_between_jumps() {
        let clock = ShiftedClock::new();
        let start = clock.now();
        let later = Timestamp::from_millis(start.as_millis() + 7 * 24 * 3_600_000).unwrap();
        clock.advance_to(later);
        let after_jump = clock.now();
        assert!(after_jump >= later);
        clock.advance_to(start);
        assert!(
            clock.now() >= after_jump,
            "an earlier instant does not move it back"
        );
    }
}
