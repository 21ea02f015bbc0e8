//! The one place in this crate that reads the wall clock.
//!
//! Certificate authorities and CRLs are issued relative to "now", and rustls checks them
//! against the system clock, so the PKI tools need the real time. The library functions
//! take `now` as an argument (tests move it freely); only the binaries and the tests that
//! talk to rustls call [`wall_clock_now`].

use time::OffsetDateTime;

/// The current UTC time from the operating system.
#[allow(clippy::disallowed_methods)] // This module is the crate's clock: the one reader of the wall clock.
pub fn wall_clock_now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}
