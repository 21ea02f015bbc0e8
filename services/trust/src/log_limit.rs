//! Log lines that a flood of refusals cannot turn into a flood of lines.
//!
//! A refused handshake, an unauthenticated call or an unreachable partner must show in the
//! log, or an operator cannot see why clients fail; but a misconfigured or hostile client
//! can cause thousands a second. [`LogLimiter`] admits at most one line per key (say, peer
//! address and reason) per interval and counts the rest, so the next admitted line says how
//! many were suppressed. It decides only whether to log; the caller writes the line.
//!
//! Time is tokio's monotonic clock (which a test may pause), never the wall clock.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// The usual interval between two lines of one key.
pub const REFUSAL_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// Most keys remembered at once. A flood from ever new addresses cannot grow the table past
/// this: when full, keys quiet for an interval are forgotten, and if none is, every new key
/// shares one overflow key.
const KEYS_MAX: usize = 4_096;

/// The key new keys share while the table is full.
const OVERFLOW_KEY: &str = "(other peers)";

#[derive(Debug)]
struct Entry {
    last_line: Instant,
    suppressed: u64,
}

/// Admits at most one log line per key and interval.
#[derive(Debug)]
pub struct LogLimiter {
    interval: Duration,
    entries: Mutex<HashMap<String, Entry>>,
}

impl Default for LogLimiter {
    fn default() -> Self {
        Self::new(REFUSAL_LOG_INTERVAL)
    }
}

impl LogLimiter {
    /// A limiter admitting one line per key per `interval`.
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// `Some(suppressed)` when a line for `key` may be written now, with the number of
    /// lines suppressed since the last one; `None` when this one is to be suppressed.
    pub fn admit(&self, key: &str) -> Option<u64> {
        self.admit_at(key, Instant::now())
    }

    /// [`LogLimiter::admit`] at `now`.
    fn admit_at(&self, key: &str, now: Instant) -> Option<u64> {
        // A poisoned lock only loses counts: admit the line.
        let Ok(mut entries) = self.entries.lock() else {
            return Some(0);
        };
        if !entries.contains_key(key) && entries.len() >= KEYS_MAX {
            let interval = self.interval;
            entries.retain(|_, entry| now.duration_since(entry.last_line) < interval);
        }
        let key = if entries.contains_key(key) || entries.len() < KEYS_MAX {
            key
        } else {
            OVERFLOW_KEY
        };
        match entries.get_mut(key) {
            Some(entry) if now.duration_since(entry.last_line) < self.interval => {
                entry.suppressed = entry.suppressed.saturating_add(1);
                None
            }
            Some(entry) => {
                let suppressed = entry.suppressed;
                *entry = Entry {
                    last_line: now,
                    suppressed: 0,
                };
                Some(suppressed)
            }
            None => {
                entries.insert(
                    key.to_owned(),
                    Entry {
                        last_line: now,
                        suppressed: 0,
                    },
                );
                Some(0)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_key_and_interval_then_the_count_of_the_suppressed() {
        let limiter = LogLimiter::new(Duration::from_secs(10));
        let start = Instant::now();
        assert_eq!(limiter.admit_at("a", start), Some(0));
        assert_eq!(limiter.admit_at("a", start), None);
        assert_eq!(limiter.admit_at("a", start + Duration::from_secs(9)), None);
        assert_eq!(
            limiter.admit_at("b", start),
            Some(0),
            "keys are limited apart"
        );
        let later = start + Duration::from_secs(10);
        assert_eq!(limiter.admit_at("a", later), Some(2));
        assert_eq!(limiter.admit_at("a", later), None);
    }
}
