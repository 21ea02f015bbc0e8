//! The network CRL's freshness, on the node's clock, and (`live`) the coordinator's list
//! applied while the node serves.
//!
//! The TLS configuration enforces the CRL's `nextUpdate` (`accord_trust::tls`): past it,
//! every handshake is refused, which from outside looks like a node that silently turned
//! everyone away. So the node checks the same date itself: at start, an expired CRL stops
//! it with a configuration error naming `tls.crl` (exit code 64, before any port is bound);
//! while running, [`CrlWatch`] turns gRPC health to `NOT_SERVING` and logs an error once
//! the node's clock passes the earliest `nextUpdate` of the CRLs in use, at the interval of
//! the deadline sweeps (both are times the node's clock passes), and back to `SERVING`
//! once a newer list is applied. With `[coordinator]` the node fetches the issuing CA's
//! list itself ([`live`]); without, re-signing and restarting with the new file is the
//! operator's step.

pub mod live;

use std::time::Duration;

use accord_domain::Timestamp;
use accord_trust::Crl;
use tokio::sync::watch;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::app::App;

/// Why a CRL's freshness cannot be vouched for.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The CRL does not parse.
    #[error("the CRL's nextUpdate cannot be read")]
    Unreadable(#[source] accord_trust::credentials::Error),
    /// Its `nextUpdate` is outside the instants Accord records.
    #[error("the CRL's nextUpdate {next_update} is out of range")]
    OutOfRange {
        /// The date as the CRL states it.
        next_update: String,
    },
    /// Its `nextUpdate` has passed.
    #[error(
        "the CRL expired at {next_update} (its nextUpdate; now {now}): every client would be \
         refused; re-sign it (accord pki) and restart"
    )]
    Expired {
        /// When it expired.
        next_update: Timestamp,
        /// The node's clock.
        now: Timestamp,
    },
}

/// The earliest `nextUpdate` of `crls`, if any names one.
pub fn next_update(crls: &[Crl]) -> Result<Option<Timestamp>, Error> {
    let mut earliest: Option<Timestamp> = None;
    for crl in crls {
        let Some(next) = crl.next_update().map_err(Error::Unreadable)? else {
            continue;
        };
        let out_of_range = || Error::OutOfRange {
            next_update: next.to_string(),
        };
        let millis =
            i64::try_from(next.unix_timestamp_nanos() / 1_000_000).map_err(|_| out_of_range())?;
        let next = Timestamp::from_millis(millis).map_err(|_| out_of_range())?;
        earliest = Some(earliest.map_or(next, |known| known.min(next)));
    }
    Ok(earliest)
}

/// Refuses a CRL whose `nextUpdate` is not after `now`.
pub fn check_current(next_update: Option<Timestamp>, now: Timestamp) -> Result<(), Error> {
    match next_update {
        Some(next_update) if next_update <= now => Err(Error::Expired { next_update, now }),
        _ => Ok(()),
    }
}

/// Watches the CRLs' expiry while the node serves.
pub struct CrlWatch {
    /// The earliest `nextUpdate` of the CRLs in use, as it changes (a new list applied).
    pub next_update: watch::Receiver<Option<Timestamp>>,
    /// How often the node's clock is read.
    pub interval: Duration,
    /// The services whose health turns `NOT_SERVING` (with `""`, the whole server).
    pub services: Vec<&'static str>,
}

impl CrlWatch {
    /// Checks until `shutdown` turns true: reports once when the CRLs in use expire, and
    /// once when a newer list makes them current again.
    pub async fn run(self, app: App, health: HealthReporter, mut shutdown: watch::Receiver<bool>) {
        let mut expired = false;
        loop {
            if *shutdown.borrow() {
                return;
            }
            let next_update = *self.next_update.borrow();
            match check_current(next_update, app.now()) {
                Err(problem) if !expired => {
                    expired = true;
                    tracing::error!(
                        %problem,
                        "the revocation list expired and no newer one could be fetched: health is NOT_SERVING"
                    );
                    self.report(&health, ServingStatus::NotServing).await;
                }
                Ok(()) if expired => {
                    expired = false;
                    tracing::info!("a current revocation list is in use again: health is SERVING");
                    self.report(&health, ServingStatus::Serving).await;
                }
                _ => {}
            }
            tokio::select! {
                () = tokio::time::sleep(self.interval) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    async fn report(&self, health: &HealthReporter, status: ServingStatus) {
        for service in std::iter::once("").chain(self.services.iter().copied()) {
            health.set_service_status(service, status).await;
        }
    }
}
