//! Acceptance by default on the coordinator log's clock, so that it does not depend on the
//! silent party.
//!
//! R's node owns R's reply clock and records `ACCEPTED_BY_DEFAULT` when it lapses; a node
//! that is down or silent records nothing. Where the nodes follow a coordinator, S's node
//! records the lapse as well, on the log's clock: once R's reply deadline has passed by its
//! own clock (the sweeper's `next_own_deadline` includes it), it asks the ledger for the
//! case's leaves with a checkpoint signed at the time asked ([`CaseLog`]), and records the
//! lapse, acting as `Actor::Clock(S)`, only when
//! - the checkpoint verifies under the coordinator's key (`[coordinator]
//!   signing_public_key`) and its `timestamp` line is after the deadline
//!   (`accord_domain::deadline::acceptance_on_log_clock` with the checkpoint's time as now);
//! - the log holds no reply of R (`deadline::answers_request`) that S's node does not hold.
//!
//! The event cites the checkpoint (`DeadlineLapse.cited_checkpoint`). Otherwise — the
//! coordinator unreachable, a head not yet past the deadline, a reply on the log not yet
//! delivered — nothing is recorded and the sweeper asks again at its next round.
//!
//! R's node applies S's lapse on delivery only after checking the cited checkpoint the same
//! way against its own reply deadline ([`Cases::check_cited_lapse`]); a node without a
//! coordinator (static `[[partners]]`) has no log clock, records the lapse on R's clock
//! alone as before, and refuses a lapse recorded by S. When R recorded its own lapse or a
//! reply at the same sequence, event.proto's clash rule decides on both nodes alike: a reply
//! made before the deadline is earlier than any lapse and wins; two lapses both occur at the
//! deadline's next millisecond and the smaller acting state's wins, the other being dropped
//! (a second acceptance by default no longer applies), so both end `ACCEPTED_BY_DEFAULT`.
//!
//! What this module does not do: prove the absence of a reply (the log is trusted for its
//! listing, as for its clock), nor read any wire type (the ledger's client in
//! `crate::ledger` turns the answer into a [`CaseLogView`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use accord_domain::deadline::{self, Deadline};
use accord_domain::readmission::{ReadmissionCase, ReadmissionEventKind, ReadmissionStep};
use accord_domain::regime::{ClockDuty, Party};
use accord_domain::{Actor, CaseRef, Lifecycle, StateCode, Timestamp};
use accord_trust::EventVerifyingKey;
use accord_trust::log::{Checkpoint, KeyName, NoteVerifier, SignatureType};

use super::case::{CaseType, Loaded, event_record};
use super::event_key::EventKey;
use super::{Cases, Deadlines, Error, not_before};
use crate::convert::envelope::Signed;
use crate::convert::readmission as convert;
use crate::store::Change;

/// The field of a delivered lapse that holds the cited checkpoint.
const CITED_FIELD: &str = "event.accepted_by_default.cited_checkpoint";

/// The case's events as the coordinator's log holds them, as of a checkpoint signed at the
/// time asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseLogView {
    /// The checkpoint's whole signed note.
    pub checkpoint: String,
    /// The case's events on the log below the checkpoint's size (either party's reports).
    pub events: Vec<LoggedEvent>,
    /// Whether the log holds more of the case's events than listed.
    pub truncated: bool,
}

/// One event of a case as a leaf of the log names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoggedEvent {
    /// The state that recorded and signed it.
    pub acting_state: StateCode,
    /// Its sequence in the case.
    pub sequence: u64,
    /// Its step, where it is one of R's replies that matter here; `None` for any other.
    pub step: Option<ReadmissionStep>,
}

/// Why the coordinator's log could not be read.
#[derive(Debug, thiserror::Error)]
#[error("the coordinator's ledger cannot be read now: {0}")]
pub struct Unreachable(pub String);

/// The case's leaves on the coordinator's log (`ListCaseLeaves`).
pub trait CaseLog: Send + Sync + 'static {
    /// The events of `case_ref` on the log, with a checkpoint signed now.
    fn case_events<'a>(
        &'a self,
        case_ref: &'a CaseRef,
    ) -> Pin<Box<dyn Future<Output = Result<CaseLogView, Unreachable>> + Send + 'a>>;
}

/// Why a cited checkpoint is refused.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// It does not verify under the coordinator's key.
    #[error("the cited checkpoint is not signed by the coordinator's key: {0}")]
    Signature(String),
    /// It has no `timestamp <ms>` line.
    #[error("the cited checkpoint has no timestamp line")]
    NoTime,
    /// It is not timed after the reply deadline.
    #[error(
        "the cited checkpoint's time {time} is not after the reply deadline {deadline}: the log \
         does not show the deadline passed"
    )]
    TooEarly {
        /// The checkpoint's time.
        time: Timestamp,
        /// The reply deadline.
        deadline: Timestamp,
    },
    /// The case has no running reply deadline to compare with.
    #[error("no reply deadline runs on the case")]
    NoDeadline,
}

/// The coordinator's log as a clock: its key and its ledger.
#[derive(Clone)]
pub struct LogClock {
    key: EventVerifyingKey,
    log: Arc<dyn CaseLog>,
}

impl LogClock {
    /// The log clock of the coordinator whose checkpoints `key` signs, read through `log`.
    pub fn new(key: EventVerifyingKey, log: Arc<dyn CaseLog>) -> Self {
        Self { key, log }
    }

    /// The time of a checkpoint the coordinator's key signed.
    pub fn checkpoint_time(&self, checkpoint: &str) -> Result<Timestamp, Refused> {
        let origin = checkpoint.split('\n').next().unwrap_or_default();
        let name = KeyName::parse(origin).map_err(|error| Refused::Signature(error.to_string()))?;
        let verifier = NoteVerifier::new(name, SignatureType::Ed25519, self.key);
        let opened = Checkpoint::open(checkpoint.as_bytes(), &verifier, &[])
            .map_err(|error| Refused::Signature(error.to_string()))?;
        opened
            .checkpoint
            .extensions()
            .iter()
            .find_map(|line| line.strip_prefix("timestamp "))
            .and_then(|millis| millis.parse::<i64>().ok())
            .and_then(|millis| Timestamp::from_millis(millis).ok())
            .ok_or(Refused::NoTime)
    }
}

/// Whether `case`'s acceptance by default, recorded by `actor`, is S's on the log's clock
/// rather than the clock owner's.
fn on_log_clock(case: &ReadmissionCase, actor: Actor) -> bool {
    let owner = case
        .profile()
        .clock_owners
        .owner(ClockDuty::AcceptanceByDefault);
    owner == Party::Requested && actor == Actor::Clock(case.requesting())
}

impl Deadlines {
    /// S's node records R's lapse on the log's clock, if the log shows it (module docs);
    /// whether it recorded it. Anything that stops it now is logged and tried again.
    pub(super) async fn record_on_log_clock(
        &self,
        loaded: Loaded<ReadmissionCase>,
        log_clock: &LogClock,
    ) -> Result<bool, Error> {
        let case_ref = loaded.case.case_ref().clone();
        let view = match log_clock.log.case_events(&case_ref).await {
            Ok(view) => view,
            Err(error) => {
                tracing::info!(%error, %case_ref, "acceptance by default waits for the coordinator's log");
                return Ok(false);
            }
        };
        let log_time = match log_clock.checkpoint_time(&view.checkpoint) {
            Ok(time) => time,
            Err(error) => {
                tracing::warn!(alert = "ledger_checkpoint_refused", %error, %case_ref, "the coordinator's checkpoint cannot be cited");
                return Ok(false);
            }
        };
        let Some(due) = deadline::acceptance_on_log_clock(&loaded.case, log_time) else {
            return Ok(false);
        };
        if view.truncated || unseen_reply(&loaded, &view.events) {
            tracing::info!(%case_ref, "the log holds a reply of the requested state not delivered yet");
            return Ok(false);
        }
        let at = not_before(due.lapsed_at(), loaded.case.last_event_at());
        let (case, event) = loaded
            .case
            .record(due.actor, due.kind.clone(), at)
            .map_err(|error| Error::internal("recording acceptance by default", error))?;
        let key = EventKey::of_deadline(&case_ref, event.kind.step().code());
        let detail = convert::cited_lapse_detail(due.deadline, &view.checkpoint);
        let signed: Signed<ReadmissionCase> = self.core.seal(event, &key, Some(detail));
        let partner = ReadmissionCase::partner(&case, self.core.own_state());
        let change = Change {
            idempotency: None,
            case: loaded.update(&self.core, &case),
            offer: None,
            events: vec![event_record(&signed)],
            outbox: vec![self.core.outbox(&signed, partner, &case_ref)],
        };
        self.core.store().commit(change).await?;
        Ok(true)
    }
}

/// Whether the log holds a reply of R to the case that this node does not hold.
fn unseen_reply(loaded: &Loaded<ReadmissionCase>, events: &[LoggedEvent]) -> bool {
    let requested = loaded.case.requested();
    let profile = loaded.case.profile();
    events.iter().any(|logged| {
        let reply = logged
            .step
            .is_some_and(|step| deadline::answers_request(profile, step));
        let held = loaded.history.iter().any(|signed| {
            let event = signed.event();
            event.sequence == logged.sequence && event.actor.state() == logged.acting_state
        });
        logged.acting_state == requested && reply && !held
    })
}

impl Cases {
    /// R's node checks S's acceptance by default before applying it: the cited checkpoint
    /// verifies under the coordinator's key and is timed after R's reply deadline (module
    /// docs). Any other event passes. Refusals are `INVALID_ARGUMENT` on the cited field.
    pub(super) fn check_cited_lapse(
        &self,
        loaded: &Loaded<ReadmissionCase>,
        signed: &Signed<ReadmissionCase>,
    ) -> Result<(), Error> {
        let event = signed.event();
        if event.kind != ReadmissionEventKind::AcceptedByDefault
            || !on_log_clock(&loaded.case, event.actor)
        {
            return Ok(());
        }
        let Some(log_clock) = self.core.log_clock() else {
            return Err(Error::invalid(
                CITED_FIELD,
                "acceptance by default recorded by the requesting state stands on the \
                 coordinator's log, which this node does not follow",
            ));
        };
        let cited = convert::cited_checkpoint(signed.detail())
            .filter(|text| !text.is_empty())
            .ok_or_else(|| {
                Error::invalid(
                    CITED_FIELD,
                    "is required when the requesting state records acceptance by default",
                )
            })?;
        let refused = |error: Refused| Error::invalid(CITED_FIELD, error.to_string());
        let time = log_clock.checkpoint_time(cited).map_err(refused)?;
        let deadline = match deadline::deadlines(&loaded.case).reply {
            Some(Deadline::At(deadline)) => deadline,
            _ => return Err(refused(Refused::NoDeadline)),
        };
        if time <= deadline {
            return Err(refused(Refused::TooEarly { time, deadline }));
        }
        Ok(())
    }
}
