//! The outbox dispatcher: delivers committed messages to partner nodes, in order per case,
//! with retries, exponential back-off with jitter and a ceiling.
//!
//! A message leaves the outbox only when the partner acknowledged it, so a crash between
//! commit and delivery loses nothing: after a restart the message is still pending and is
//! sent again. Receivers are idempotent on the event's idempotency key, so a message sent
//! twice (acknowledged, but the acknowledgement recorded after a crash) is counted once.
//! Refusals that a retry cannot cure (an invalid or unauthorised message) are kept, marked,
//! for operators, and stop that case's later messages rather than reordering them.

use std::sync::Arc;
use std::time::Duration;

use accord_domain::StateCode;
use accord_proto::v1 as pb;
use prost::Message;
use tokio::sync::{Notify, Semaphore, watch};
use tokio::task::JoinSet;
use tonic::Code;

use super::App;
use crate::store::{Channel, DeliveryOutcome, PendingDelivery};

/// Exponential back-off with a ceiling and jitter.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// Wait after the first failure.
    pub initial: Duration,
    /// The longest wait.
    pub ceiling: Duration,
}

impl Backoff {
    /// The wait after `attempts` failed attempts: `initial · 2^(attempts−1)`, capped at the
    /// ceiling, then jittered into [½, 1] of itself so that many failed messages do not
    /// retry in lock-step.
    pub fn delay(&self, attempts: u32, jitter_seed: u64) -> Duration {
        let exponent = attempts.saturating_sub(1).min(32);
        let full = self
            .initial
            .saturating_mul(1u32 << exponent.min(31))
            .min(self.ceiling);
        let millis = u64::try_from(full.as_millis()).unwrap_or(u64::MAX).max(1);
        let half = millis / 2;
        Duration::from_millis(half + jitter(jitter_seed) % (millis - half + 1))
    }
}

fn jitter(seed: u64) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(seed);
    hasher.finish()
}

/// The dispatcher's settings.
#[derive(Debug, Clone, Copy)]
pub struct Dispatcher {
    /// Retry timing.
    pub backoff: Backoff,
    /// How often to look for due messages when nothing wakes the dispatcher.
    pub poll_interval: Duration,
    /// Most deliveries in flight.
    pub max_in_flight: usize,
    /// Timeout of one attempt.
    pub attempt_timeout: Duration,
}

impl Dispatcher {
    /// Delivers until `shutdown` turns true; in-flight deliveries finish first.
    pub async fn run(self, app: App, wake: Arc<Notify>, mut shutdown: watch::Receiver<bool>) {
        let slots = Arc::new(Semaphore::new(self.max_in_flight));
        loop {
            if *shutdown.borrow() {
                return;
            }
            let delivered_any = self.deliver_due(&app, &slots).await;
            if delivered_any {
                continue;
            }
            tokio::select! {
                () = wake.notified() => {}
                () = tokio::time::sleep(self.poll_interval) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// One round: every case's oldest due message, delivered concurrently. Returns whether
    /// any message was acknowledged (then the next messages of those cases are due now).
    async fn deliver_due(&self, app: &App, slots: &Arc<Semaphore>) -> bool {
        let now = app.now().as_millis();
        let limit = u64::try_from(self.max_in_flight.max(1) * 4).unwrap_or(256);
        let due = match app.store().due_deliveries(now, limit).await {
            Ok(due) => due,
            Err(error) => {
                tracing::warn!(%error, "could not read the outbox");
                return false;
            }
        };
        let mut attempts = JoinSet::new();
        for message in due {
            let Ok(permit) = slots.clone().acquire_owned().await else {
                break;
            };
            let app = app.clone();
            let settings = *self;
            attempts.spawn(async move {
                let _permit = permit;
                settings.attempt(&app, message).await
            });
        }
        let mut delivered_any = false;
        while let Some(result) = attempts.join_next().await {
            delivered_any |= matches!(result, Ok(true));
        }
        delivered_any
    }

    /// Sends one message and records the outcome. Returns whether it was acknowledged.
    async fn attempt(&self, app: &App, message: PendingDelivery) -> bool {
        let attempts = message.attempts.saturating_add(1);
        let result = tokio::time::timeout(self.attempt_timeout, send(app, &message)).await;
        let outcome = match result {
            Ok(Ok(())) => DeliveryOutcome::Delivered {
                id: message.id,
                at: app.now().as_millis(),
            },
            Ok(Err(status)) if is_permanent(&status) => {
                tracing::error!(case_ref = %message.case_ref, code = ?status.code(), message = status.message(), "partner refused an event for good");
                DeliveryOutcome::Refused {
                    id: message.id,
                    attempts,
                    reason: format!("{:?}: {}", status.code(), status.message()),
                }
            }
            Ok(Err(status)) => self.retry(
                app,
                &message,
                attempts,
                format!("{:?}: {}", status.code(), status.message()),
            ),
            Err(_elapsed) => self.retry(app, &message, attempts, "attempt timed out".to_owned()),
        };
        let delivered = matches!(outcome, DeliveryOutcome::Delivered { .. });
        if let Err(error) = app.store().record_delivery(outcome).await {
            tracing::warn!(%error, case_ref = %message.case_ref, "could not record a delivery attempt");
        }
        delivered
    }

    fn retry(
        &self,
        app: &App,
        message: &PendingDelivery,
        attempts: u32,
        error: String,
    ) -> DeliveryOutcome {
        let seed = u64::try_from(message.id).unwrap_or(0) ^ u64::from(attempts);
        let delay = self.backoff.delay(attempts, seed);
        tracing::debug!(case_ref = %message.case_ref, attempts, ?delay, error, "delivery failed; will retry");
        DeliveryOutcome::Retry {
            id: message.id,
            attempts,
            next_attempt_at: app
                .now()
                .as_millis()
                .saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX)),
            error,
        }
    }
}

/// Errors a retry cannot cure: the partner understood the message and refused it.
/// `ABORTED` is not one: a lost race on the partner's side, or a sequence clash that the
/// winner's delivery resolves here (which then supersedes this message).
fn is_permanent(status: &tonic::Status) -> bool {
    matches!(
        status.code(),
        Code::InvalidArgument
            | Code::PermissionDenied
            | Code::AlreadyExists
            | Code::Unauthenticated
    ) || (status.code() == Code::FailedPrecondition && !is_transient_precondition(status))
}

/// Preconditions that time cures, by their `google.rpc.ErrorInfo` reason: a gap closes when
/// the missing events arrive, an unknown signing key becomes known with the next directory.
fn is_transient_precondition(status: &tonic::Status) -> bool {
    use tonic_types::StatusExt;
    status
        .get_error_details()
        .error_info()
        .is_some_and(|info| matches!(info.reason.as_str(), "SEQUENCE_GAP" | "SIGNING_KEY_UNKNOWN"))
}

async fn send(app: &App, message: &PendingDelivery) -> Result<(), tonic::Status> {
    let destination = StateCode::parse(&message.destination)
        .map_err(|error| tonic::Status::invalid_argument(format!("outbox destination: {error}")))?;
    let partner = app.partner(destination).ok_or_else(|| {
        tonic::Status::unavailable(format!("{destination} is no longer a configured partner"))
    })?;
    match message.channel {
        Channel::Readmission => {
            let request = pb::DeliverReadmissionEventRequest::decode(message.payload.as_slice())
                .map_err(|error| tonic::Status::internal(format!("outbox payload: {error}")))?;
            partner
                .readmission
                .clone()
                .deliver_readmission_event(request)
                .await?;
            Ok(())
        }
        Channel::Admission => {
            let request = pb::DeliverAdmissionEventRequest::decode(message.payload.as_slice())
                .map_err(|error| tonic::Status::internal(format!("outbox payload: {error}")))?;
            partner
                .admission
                .clone()
                .deliver_admission_event(request)
                .await?;
            Ok(())
        }
        Channel::Offer => {
            let request = pb::DeliverOfferEventRequest::decode(message.payload.as_slice())
                .map_err(|error| tonic::Status::internal(format!("outbox payload: {error}")))?;
            partner
                .admission
                .clone()
                .deliver_offer_event(request)
                .await?;
            Ok(())
        }
    }
}
