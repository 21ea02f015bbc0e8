//! The outbox dispatcher: delivers committed messages to partner nodes, in order per case,
//! with retries, exponential back-off with jitter and a ceiling.
//!
//! A message leaves the outbox only when the partner acknowledged it, so a crash between
//! commit and delivery loses nothing: after a restart the message is still pending and is
//! sent again. Receivers are idempotent on the event's idempotency key, so a message sent
//! twice (acknowledged, but the acknowledgement recorded after a crash) is counted once.
//! Refusals that a retry cannot cure (an invalid or unauthorised message) are kept, marked,
//! for operators, and stop that case's later messages rather than reordering them.
//!
//! Back-off works at two levels. When a partner cannot be reached (its node is down, the
//! link is cut, it answers `UNAVAILABLE`), the *link* backs off: its messages wait, and once
//! the back-off has passed one message goes first as a probe; the rest follow only when the
//! probe is acknowledged. So an outage costs one attempt per back-off period, not one per
//! pending message, and the outbox is not scanned while every partner with pending messages
//! is backing off. When the partner is reachable but asks for a message to be sent again
//! later (a lost race, a gap in a case's sequence), only that *message* backs off.
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use std::future::Future;
use std::pin::Pin;

use tokio::sync::{Notify, Semaphore, watch};
use tokio::task::JoinSet;

use accord_domain::{StateCode, Timestamp};

use crate::clock::Clock;
use crate::store::Store;
use crate::store::{Channel, DeliveryContent, DeliveryOutcome, PendingDelivery};

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

/// What the dispatcher needs, and nothing more: this node's state, the store's outbox, the
/// clock, the partners it may send to, and the courier that carries messages to them.
#[derive(Clone)]
pub struct Deliveries {
    own_state: StateCode,
    store: Store,
    clock: Arc<dyn Clock>,
    /// Where messages may go now; replaced when a newer directory is applied.
    partners: Arc<std::sync::RwLock<Arc<[StateCode]>>>,
    courier: Arc<dyn Courier>,
}

impl Deliveries {
    /// The deliveries of `own_state`'s node to `partners`.
    pub fn new(
        own_state: StateCode,
        store: Store,
        clock: Arc<dyn Clock>,
        partners: Vec<StateCode>,
        courier: Arc<dyn Courier>,
    ) -> Self {
        Self {
            own_state,
            store,
            clock,
            partners: Arc::new(std::sync::RwLock::new(partners.into())),
            courier,
        }
    }

    /// From now on, messages go to `partners` only: the others' stay pending in the outbox
    /// (a suspended partner's until it is reinstated) and are not scanned. Wakes the
    /// dispatcher, so that messages held for a reinstated partner leave at once.
    pub fn set_partners(&self, partners: Vec<StateCode>) {
        let partners: Arc<[StateCode]> = partners.into();
        match self.partners.write() {
            Ok(mut current) => *current = partners,
            Err(poisoned) => *poisoned.into_inner() = partners,
        }
        self.store.outbox_written().notify_one();
    }

    fn own_state(&self) -> StateCode {
        self.own_state
    }

    fn store(&self) -> &Store {
        &self.store
    }

    fn now(&self) -> Timestamp {
        self.clock.now()
    }

    fn partner_states(&self) -> Arc<[StateCode]> {
        match self.partners.read() {
            Ok(partners) => partners.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn courier(&self) -> &dyn Courier {
        self.courier.as_ref()
    }
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
    pub async fn run(
        self,
        app: Deliveries,
        wake: Arc<Notify>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let slots = Arc::new(Semaphore::new(self.max_in_flight));
        let mut links = Links::default();
        loop {
            if *shutdown.borrow() {
                return;
            }
            let now = app.now().as_millis();
            // Nothing to send while every configured partner's link is backing off.
            let destinations = links.sendable(&app, now);
            let round = if destinations.is_empty() {
                Round::Idle
            } else {
                self.deliver_due(&app, &slots, &mut links, now, &destinations)
                    .await
            };
            if round == Round::Delivered {
                continue;
            }
            let idle = links.wait_from(now).unwrap_or(self.poll_interval);
            tokio::select! {
                () = wake.notified() => {}
                () = tokio::time::sleep(idle.min(self.poll_interval)) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// One round: every case's oldest message due at `now`, delivered concurrently, to
    /// `destinations` (the configured partners whose links are not backing off); a link
    /// that is recovering gets one message, its probe. (Messages for a state no longer
    /// configured as a partner stay pending, for operators.)
    async fn deliver_due(
        &self,
        app: &Deliveries,
        slots: &Arc<Semaphore>,
        links: &mut Links,
        now: i64,
        destinations: &[String],
    ) -> Round {
        let limit = u64::try_from(self.max_in_flight.max(1) * 4).unwrap_or(256);
        let due = match app.store().due_deliveries(now, limit, destinations).await {
            Ok(due) => due,
            Err(error) => {
                tracing::warn!(%error, "could not read the outbox");
                return Round::Idle;
            }
        };
        let mut probing = Vec::new();
        let mut attempts = JoinSet::new();
        for message in due {
            if links.is_recovering(&message.destination) {
                if probing.contains(&message.destination) {
                    continue;
                }
                probing.push(message.destination.clone());
            }
            let Ok(permit) = slots.clone().acquire_owned().await else {
                break;
            };
            let app = app.clone();
            let settings = *self;
            let failures = links.failures(&message.destination);
            attempts.spawn(async move {
                let _permit = permit;
                settings.attempt(&app, message, failures).await
            });
        }
        let mut round = Round::Idle;
        while let Some(result) = attempts.join_next().await {
            let Ok((destination, verdict)) = result else {
                continue;
            };
            match verdict {
                Verdict::Delivered => {
                    links.reached(&destination);
                    round = Round::Delivered;
                }
                Verdict::LinkDown { retry_at } => links.unreachable(&destination, retry_at),
                Verdict::Kept => links.reached(&destination),
            }
        }
        round
    }

    /// Sends one message and records the outcome; says what it shows about the link.
    /// `link_failures` counts the link's consecutive failures before this attempt.
    async fn attempt(
        &self,
        app: &Deliveries,
        message: PendingDelivery,
        link_failures: u32,
    ) -> (String, Verdict) {
        let attempts = message.attempts.saturating_add(1);
        let result = tokio::time::timeout(
            self.attempt_timeout,
            app.courier().deliver(Parcel::of(&message)),
        )
        .await;
        let (outcome, verdict) = match result {
            Ok(Ok(())) => (
                DeliveryOutcome::Delivered {
                    id: message.id,
                    at: app.now().as_millis(),
                },
                Verdict::Delivered,
            ),
            Ok(Err(Refusal::Permanent(reason))) => {
                tracing::error!(case_ref = %message.case_ref, reason, "partner refused an event for good");
                let outcome = DeliveryOutcome::Refused {
                    id: message.id,
                    attempts,
                    reason,
                };
                (outcome, Verdict::Kept)
            }
            Ok(Err(Refusal::LinkDown(error))) => {
                self.link_down(app, &message, attempts, link_failures, error)
            }
            Ok(Err(Refusal::Later(error))) => {
                let retry_at = self.retry_at(app, attempts, &message);
                (
                    message_retry(&message, attempts, retry_at, error),
                    Verdict::Kept,
                )
            }
            Err(_elapsed) => {
                let error = "attempt timed out".to_owned();
                self.link_down(app, &message, attempts, link_failures, error)
            }
        };
        if let Err(error) = app.store().record_delivery(outcome).await {
            tracing::warn!(%error, case_ref = %message.case_ref, "could not record a delivery attempt");
        }
        (message.destination, verdict)
    }

    /// The partner could not be reached: the link backs off, and the message waits with it.
    fn link_down(
        &self,
        app: &Deliveries,
        message: &PendingDelivery,
        attempts: u32,
        link_failures: u32,
        error: String,
    ) -> (DeliveryOutcome, Verdict) {
        let retry_at = self.retry_at(app, link_failures.saturating_add(1), message);
        // One line per link and REFUSAL_LOG_INTERVAL: the back-off probes once per wait,
        // and an operator must see an unreachable partner without a line per probe.
        let link = format!("{}->{}", app.own_state(), message.destination);
        if let Some(suppressed) = unreachable_partners().admit(&link) {
            tracing::warn!(destination = %message.destination, link_failures, error, suppressed, "partner unreachable; its link backs off");
        }
        (
            message_retry(message, attempts, retry_at, error),
            Verdict::LinkDown { retry_at },
        )
    }

    /// When to try again after `failures` consecutive failures (jittered per message).
    fn retry_at(&self, app: &Deliveries, failures: u32, message: &PendingDelivery) -> i64 {
        let seed = u64::try_from(message.id).unwrap_or(0) ^ u64::from(failures);
        let delay = self.backoff.delay(failures, seed);
        app.now()
            .as_millis()
            .saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX))
    }
}

fn message_retry(
    message: &PendingDelivery,
    attempts: u32,
    next_attempt_at: i64,
    error: String,
) -> DeliveryOutcome {
    tracing::debug!(case_ref = %message.case_ref, attempts, next_attempt_at, error, "delivery failed; will retry");
    DeliveryOutcome::Retry {
        id: message.id,
        attempts,
        next_attempt_at,
        error,
    }
}

/// What a round achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Round {
    /// At least one message was acknowledged: the next messages of those cases are due now.
    Delivered,
    /// Nothing was acknowledged: wait for a commit, a back-off to pass or the poll interval.
    Idle,
}

/// What one attempt says about its link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Acknowledged.
    Delivered,
    /// The partner answered (a refusal, or a request to send this message later).
    Kept,
    /// The partner could not be reached; try the link again at `retry_at` (milliseconds).
    LinkDown { retry_at: i64 },
}

/// The dispatcher's view of each partner link, kept in memory (after a restart every link
/// starts healthy, and the first attempt finds out).
#[derive(Debug, Default)]
struct Links {
    by_destination: HashMap<String, LinkState>,
}

#[derive(Debug, Clone, Copy)]
struct LinkState {
    /// Consecutive failed attempts to reach the partner.
    failures: u32,
    /// No attempt before this time (milliseconds).
    retry_at: i64,
}

impl Links {
    fn failures(&self, destination: &str) -> u32 {
        self.by_destination
            .get(destination)
            .map_or(0, |link| link.failures)
    }

    /// A link that failed and whose back-off has passed sends one probe at a time.
    fn is_recovering(&self, destination: &str) -> bool {
        self.failures(destination) > 0
    }

    /// The configured partners that may be sent to at `now`: those whose link is not
    /// backing off.
    fn sendable(&self, app: &Deliveries, now: i64) -> Vec<String> {
        app.partner_states()
            .iter()
            .map(|state| state.to_string())
            .filter(|destination| {
                self.by_destination
                    .get(destination)
                    .is_none_or(|link| link.retry_at <= now)
            })
            .collect()
    }

    /// How long until the first backing-off link may be tried again, if any is.
    fn wait_from(&self, now: i64) -> Option<Duration> {
        self.by_destination
            .values()
            .filter(|link| link.retry_at > now)
            .map(|link| link.retry_at - now)
            .min()
            .map(|millis| Duration::from_millis(u64::try_from(millis).unwrap_or(0)))
    }

    fn reached(&mut self, destination: &str) {
        self.by_destination.remove(destination);
    }

    fn unreachable(&mut self, destination: &str, retry_at: i64) {
        let link = self
            .by_destination
            .entry(destination.to_owned())
            .or_insert(LinkState {
                failures: 0,
                retry_at,
            });
        link.failures = link.failures.saturating_add(1);
        link.retry_at = link.retry_at.max(retry_at);
    }
}

/// Why a partner did not take a message, as the courier that carried it reads the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The partner understood the message and refused it: a retry cannot cure it.
    Permanent(String),
    /// The partner could not be reached (or cannot work now): the whole link backs off.
    LinkDown(String),
    /// The partner asks for this message later (a lost race, a gap in a case's sequence).
    Later(String),
}

/// The partner service a parcel is delivered to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `ReadmissionService.DeliverReadmissionEvent`.
    Readmission,
    /// `AdmissionService.DeliverAdmissionEvent`.
    Admission,
    /// `AdmissionService.DeliverOfferEvent`.
    Offer,
}

/// What a courier carries: one due message's signed event, as stored.
#[derive(Debug, Clone, Copy)]
pub struct Parcel<'a> {
    /// The partner's state, as the outbox names it.
    pub destination: &'a str,
    /// Where it goes.
    pub route: Route,
    /// The signed event's bytes; or, for a message written before outbox messages named
    /// their event, the whole delivery request's bytes.
    pub bytes: &'a [u8],
    /// Whether `bytes` is a whole delivery request.
    pub whole_request: bool,
}

impl<'a> Parcel<'a> {
    fn of(message: &'a PendingDelivery) -> Self {
        let (bytes, whole_request) = match &message.content {
            DeliveryContent::Event(bytes) => (bytes.as_slice(), false),
            DeliveryContent::Request(bytes) => (bytes.as_slice(), true),
        };
        Self {
            destination: &message.destination,
            route: match message.channel {
                Channel::Readmission => Route::Readmission,
                Channel::Admission => Route::Admission,
                Channel::Offer => Route::Offer,
            },
            bytes,
            whole_request,
        }
    }
}

/// Carries a due message to a partner's node: the transport the dispatcher sends through
/// (the node's gRPC clients, `crate::courier`).
pub trait Courier: Send + Sync + 'static {
    /// Delivers `parcel` to its destination.
    fn deliver<'a>(
        &'a self,
        parcel: Parcel<'a>,
    ) -> Pin<Box<dyn Future<Output = Result<(), Refusal>> + Send + 'a>>;
}

/// The rate limit of "partner unreachable" lines, shared by the process's dispatchers (one
/// per node; keys name the link, so nodes in one test process do not mix).
fn unreachable_partners() -> &'static accord_trust::LogLimiter {
    static LIMITER: std::sync::OnceLock<accord_trust::LogLimiter> = std::sync::OnceLock::new();
    LIMITER.get_or_init(accord_trust::LogLimiter::default)
}
