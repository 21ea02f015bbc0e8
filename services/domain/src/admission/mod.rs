//! The admission lifecycle: an admitting state A admits one person who is physically in an
//! origin state O, under one of A's offers (DESIGN.md §3, DOMAIN.md "Admission offer").
//!
//! ```text
//! NOMINATED ─▶ VETTING ─▶ GRANTED ─▶ TRAVEL_BOOKED ─▶ ARRIVED ─▶ DEPARTURE_CONFIRMED
//!     │           │          │             │                      (O confirms, where the regime asks)
//!     │           │          └─────────────┴─▶ GRANT_LAPSED       (visa unused; A's clock)
//!     └───────────┴─▶ GRANTED | REFUSED{codes} | WITHDRAWN
//! ```
//!
//! Vetting and travel booking are optional steps: A may decide straight from NOMINATED and
//! report the arrival straight from GRANTED. Arrival and grant lapse are possible from GRANTED
//! and TRAVEL_BOOKED; withdrawal only before the decision (NOMINATED, VETTING).
//!
//! [`AdmissionCase::nominate`] creates a case and claims a slot of the [`Offer`] in one step:
//! it is refused when the offer is paused, closed, full or outside its window. A takes every
//! step but one: O confirms the departure, and only where the regime asks for it
//! (`admission_departure_confirmation`). A grant's visa is valid for the regime's
//! `visa_validity` from the grant (UK–FR: 3 months); past it, the grant lapses and must be
//! recorded by A's clock before anything else. A case that ends without an admission
//! (refused, withdrawn, lapsed) should give its slot back: apply
//! [`OfferEventKind::SlotReleased`] to the offer ([`AdmissionStatus::releases_offer_slot`]).
//!
//! [`AdmissionCase`] and [`Offer`] implement [`Lifecycle`]. Checks in `apply` follow the
//! readmission lifecycle: party, transition table, actor, time order, deadline, payload. This
//! module does not decide eligibility (the caseworkers do) nor parity (see `parity`).

pub mod offer;

use crate::StateCode;
use crate::case_ref::{CaseKind, CaseRef};
use crate::coded::{UnknownCode, coded_enum, event_kinds};
use crate::deadline::{self, AdmissionDueEvent};
use crate::event::{Actor, FreeText};
use crate::lifecycle::{self, Attempt, Event, Lifecycle, ReasonsRefusal, ReplayError, StepRefusal};
use crate::reason::AdmissionRefusal;
use crate::regime::{Regime, RegimeProfile};
use crate::time::Timestamp;

pub use offer::{Offer, OfferEvent, OfferEventKind, OfferStatus, OfferStep, OfferWindow};

/// Why an admission step, nomination or replay is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A code that names no status or step.
    #[error(transparent)]
    UnknownCode(#[from] UnknownCode),
    /// The reference is not an admission reference of the offer's pair (`ADM-A-O-…`).
    #[error("{case_ref} is not an admission reference for offer {offer_ref}")]
    WrongCaseRef {
        /// The reference given.
        case_ref: CaseRef,
        /// The offer's reference.
        offer_ref: CaseRef,
    },
    /// The profile given to a nomination is for another regime than the offer's.
    #[error("the admission runs under {expected} but the profile given is {found}")]
    RegimeMismatch {
        /// The offer's or case's regime.
        expected: Regime,
        /// The profile's regime.
        found: Regime,
    },
    /// The offer refused the slot.
    #[error("the offer refused the nomination")]
    Offer(#[from] offer::Error),
    /// Refused by the checks every step of a two-party case passes first.
    #[error(transparent)]
    Step(#[from] StepRefusal<AdmissionStatus, AdmissionStep>),
    /// The grant lapse is recorded before the visa expired.
    #[error("{step} is not due in status {status}")]
    NotDue {
        /// The current status.
        status: AdmissionStatus,
        /// The refused step.
        step: AdmissionStep,
    },
    /// The visa expired: the lapse must be recorded first.
    #[error(
        "{step} refused in status {status}: the visa expired at {deadline}, record the lapse first"
    )]
    DeadlinePassed {
        /// The current status.
        status: AdmissionStatus,
        /// The refused step.
        step: AdmissionStep,
        /// The visa's last valid instant.
        deadline: Timestamp,
    },
    /// A refusal without a code, or with one twice.
    #[error(transparent)]
    Reasons(#[from] ReasonsRefusal<AdmissionStatus, AdmissionStep, AdmissionRefusal>),
    /// A departure confirmation under a regime that does not ask for one.
    #[error("regime {regime} does not ask the origin state to confirm departures")]
    ConfirmationNotRequired {
        /// The case's regime.
        regime: Regime,
    },
    /// A history that does not open with A's nomination, or whose events are out of order.
    #[error(transparent)]
    Replay(#[from] ReplayError),
}

coded_enum! {
    /// Where an admission case stands.
    pub enum AdmissionStatus {
        /// Nominated under an offer; the candidate holds one slot of it.
        Nominated => "NOMINATED",
        /// A is vetting identity, presence in O, and security.
        Vetting => "VETTING",
        /// A granted admission; the visa runs.
        Granted => "GRANTED",
        /// A refused admission, with codes. Terminal.
        Refused => "REFUSED",
        /// The nomination was withdrawn. Terminal.
        Withdrawn => "WITHDRAWN",
        /// A booked the journey from O to A; the visa still runs.
        TravelBooked => "TRAVEL_BOOKED",
        /// A reports the person arrived. Counts in the ledger unless the regime asks O to confirm.
        Arrived => "ARRIVED",
        /// O confirmed the departure: the admission counts. Terminal.
        DepartureConfirmed => "DEPARTURE_CONFIRMED",
        /// The visa expired unused. Terminal.
        GrantLapsed => "GRANT_LAPSED",
    }
    all: array,
    unknown: Error = |text| UnknownCode::new("admission status", text).into(),
}

impl AdmissionStatus {
    /// Whether the case ended without an admission, so its offer slot should be released.
    pub fn releases_offer_slot(self) -> bool {
        matches!(self, Self::Refused | Self::Withdrawn | Self::GrantLapsed)
    }
}

event_kinds! {
    /// What happened to an admission case, with the data the step needs.
    pub enum AdmissionEventKind;
    /// An admission step without its payload.
    #[allow(missing_docs)] // each variant is the payload-free twin of the event kind of that name
    pub enum AdmissionStep;
    unknown: Error = |text| UnknownCode::new("admission event kind", text).into();
    {
        /// A nominated the person under an offer (only through [`AdmissionCase::nominate`]).
        Nominated {
            /// The offer whose slot the case holds.
            offer: CaseRef,
            /// The regime the admission runs under.
            regime: Regime,
        } => "ADMISSION_NOMINATED",
        /// A began vetting identity, presence in O, and security.
        VettingStarted => "ADMISSION_VETTING_STARTED",
        /// A granted admission; the visa is valid for the regime's `visa_validity` from now.
        Granted => "ADMISSION_GRANTED",
        /// A refused admission.
        Refused {
            /// At least one refusal code, each at most once.
            reasons: Vec<AdmissionRefusal>,
        } => "ADMISSION_REFUSED",
        /// The nomination was withdrawn (by the person or by A).
        Withdrawn {
            /// Why.
            reason: FreeText,
        } => "ADMISSION_WITHDRAWN",
        /// A booked the person's journey from O to A.
        TravelBooked => "ADMISSION_TRAVEL_BOOKED",
        /// A reports the person's arrival.
        Arrived => "ADMISSION_ARRIVED",
        /// O confirms the person's departure.
        DepartureConfirmed => "ADMISSION_DEPARTURE_CONFIRMED",
        /// A's clock records that the visa expired unused.
        GrantLapsed => "ADMISSION_GRANT_LAPSED",
    }
}

/// Who may take an admission step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AdmissionPerformer {
    /// The admitting state A, as `Actor::State`.
    Admitting,
    /// The origin state O, as `Actor::State`.
    Origin,
    /// A's node recording a lapse, as `Actor::Clock`.
    AdmittingClock,
}

/// One row of the admission transition table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AdmissionTransition {
    /// Who may take the step.
    pub performer: AdmissionPerformer,
    /// The status the case moves to.
    pub to: AdmissionStatus,
}

/// The admission transition table. `Nominated` has no row: a case is created by
/// [`AdmissionCase::nominate`].
pub fn transition(from: AdmissionStatus, step: AdmissionStep) -> Option<AdmissionTransition> {
    use AdmissionPerformer as By;
    use AdmissionStatus as Status;
    let undecided = |status| matches!(status, Status::Nominated | Status::Vetting);
    let granted = |status| matches!(status, Status::Granted | Status::TravelBooked);
    let (performer, to) = match (from, step) {
        (Status::Nominated, AdmissionStep::VettingStarted) => (By::Admitting, Status::Vetting),
        (from, AdmissionStep::Granted) if undecided(from) => (By::Admitting, Status::Granted),
        (from, AdmissionStep::Refused) if undecided(from) => (By::Admitting, Status::Refused),
        (from, AdmissionStep::Withdrawn) if undecided(from) => (By::Admitting, Status::Withdrawn),
        (Status::Granted, AdmissionStep::TravelBooked) => (By::Admitting, Status::TravelBooked),
        (from, AdmissionStep::Arrived) if granted(from) => (By::Admitting, Status::Arrived),
        (from, AdmissionStep::GrantLapsed) if granted(from) => {
            (By::AdmittingClock, Status::GrantLapsed)
        }
        (Status::Arrived, AdmissionStep::DepartureConfirmed) => {
            (By::Origin, Status::DepartureConfirmed)
        }
        _ => return None,
    };
    Some(AdmissionTransition { performer, to })
}

/// One event of an admission case, as stored and sent (the node signs its wire form).
pub type AdmissionEvent = Event<AdmissionEventKind>;

/// The result of a nomination: the new case and the offer with the slot claimed, with the
/// event of each to store together (one transaction).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nomination {
    /// The new admission case.
    pub case: AdmissionCase,
    /// Its first event.
    pub case_event: AdmissionEvent,
    /// The offer after the claim.
    pub offer: Offer,
    /// The offer's `OFFER_SLOT_CLAIMED` event.
    pub offer_event: OfferEvent,
}

/// One admission case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdmissionCase {
    case_ref: CaseRef,
    offer_ref: CaseRef,
    profile: RegimeProfile,
    status: AdmissionStatus,
    sequence: u64,
    nominated_at: Timestamp,
    last_event_at: Timestamp,
    granted_at: Option<Timestamp>,
    visa_valid_until: Option<Timestamp>,
    refusal_reasons: Vec<AdmissionRefusal>,
    withdrawal_reason: Option<FreeText>,
    arrived_at: Option<Timestamp>,
    departure_confirmed_at: Option<Timestamp>,
}

impl AdmissionCase {
    /// A nominates a person (`ADM-<admitting>-<origin>-<id>`) under `offer`, claiming a slot.
    pub fn nominate(
        case_ref: CaseRef,
        offer: &Offer,
        profile: RegimeProfile,
        actor: Actor,
        now: Timestamp,
    ) -> Result<Nomination, Error> {
        check_case_ref(&case_ref, offer.case_ref())?;
        if profile.regime != offer.regime() {
            return Err(Error::RegimeMismatch {
                expected: offer.regime(),
                found: profile.regime,
            });
        }
        let claim = OfferEventKind::SlotClaimed {
            admission: case_ref.clone(),
        };
        let (offer, offer_event) = offer.record(actor, claim, now)?;
        let kind = AdmissionEventKind::Nominated {
            offer: offer.case_ref().clone(),
            regime: profile.regime,
        };
        let case = Self::nominated(case_ref, offer.case_ref().clone(), profile, now);
        let case_event = AdmissionEvent {
            case_ref: case.case_ref.clone(),
            sequence: 1,
            actor,
            occurred_at: now,
            kind,
        };
        Ok(Nomination {
            case,
            case_event,
            offer,
            offer_event,
        })
    }

    /// The case reference.
    pub fn case_ref(&self) -> &CaseRef {
        &self.case_ref
    }

    /// The offer whose slot the case holds.
    pub fn offer_ref(&self) -> &CaseRef {
        &self.offer_ref
    }

    /// The admitting state A.
    pub fn admitting(&self) -> StateCode {
        self.case_ref.first_state()
    }

    /// The origin state O.
    pub fn origin(&self) -> StateCode {
        self.case_ref.second_state()
    }

    /// The rules the case runs under.
    pub fn profile(&self) -> &RegimeProfile {
        &self.profile
    }

    /// The current status.
    pub fn status(&self) -> AdmissionStatus {
        self.status
    }

    /// The number of events so far.
    pub fn sequence(&self) -> u64 {
        self.sequence
    }

    /// When the person was nominated.
    pub fn nominated_at(&self) -> Timestamp {
        self.nominated_at
    }

    /// When the last event took place.
    pub fn last_event_at(&self) -> Timestamp {
        self.last_event_at
    }

    /// When admission was granted.
    pub fn granted_at(&self) -> Option<Timestamp> {
        self.granted_at
    }

    /// The last instant the visa is valid.
    pub fn visa_valid_until(&self) -> Option<Timestamp> {
        self.visa_valid_until
    }

    /// The refusal codes, if refused.
    pub fn refusal_reasons(&self) -> &[AdmissionRefusal] {
        &self.refusal_reasons
    }

    /// Why the nomination was withdrawn, if it was.
    pub fn withdrawal_reason(&self) -> Option<&FreeText> {
        self.withdrawal_reason.as_ref()
    }

    /// When the person arrived, as A reported.
    pub fn arrived_at(&self) -> Option<Timestamp> {
        self.arrived_at
    }

    /// When O confirmed the departure.
    pub fn departure_confirmed_at(&self) -> Option<Timestamp> {
        self.departure_confirmed_at
    }

    /// Whether the admission counts in the ledger: confirmed by O, or arrived where the
    /// regime does not ask O to confirm.
    pub fn is_counted(&self) -> bool {
        match self.status {
            AdmissionStatus::DepartureConfirmed => true,
            AdmissionStatus::Arrived => !self.profile.admission_departure_confirmation,
            _ => false,
        }
    }

    /// Whether no further step can happen.
    pub fn is_closed(&self) -> bool {
        match self.status {
            AdmissionStatus::Nominated
            | AdmissionStatus::Vetting
            | AdmissionStatus::Granted
            | AdmissionStatus::TravelBooked => false,
            AdmissionStatus::Arrived => !self.profile.admission_departure_confirmation,
            _ => true,
        }
    }

    /// The actor a performer stands for in this case.
    pub fn performer_actor(&self, performer: AdmissionPerformer) -> Actor {
        match performer {
            AdmissionPerformer::Admitting => Actor::State(self.admitting()),
            AdmissionPerformer::Origin => Actor::State(self.origin()),
            AdmissionPerformer::AdmittingClock => Actor::Clock(self.admitting()),
        }
    }

    fn nominated(
        case_ref: CaseRef,
        offer_ref: CaseRef,
        profile: RegimeProfile,
        now: Timestamp,
    ) -> Self {
        Self {
            case_ref,
            offer_ref,
            profile,
            status: AdmissionStatus::Nominated,
            sequence: 1,
            nominated_at: now,
            last_event_at: now,
            granted_at: None,
            visa_valid_until: None,
            refusal_reasons: Vec::new(),
            withdrawal_reason: None,
            arrived_at: None,
            departure_confirmed_at: None,
        }
    }

    fn check_timing(
        &self,
        performer: AdmissionPerformer,
        step: AdmissionStep,
        due: Option<AdmissionDueEvent>,
    ) -> Result<(), Error> {
        let status = self.status;
        match (performer, due) {
            (AdmissionPerformer::AdmittingClock, Some(_)) => Ok(()),
            (AdmissionPerformer::AdmittingClock, None) => Err(Error::NotDue { status, step }),
            (_, Some(due)) => Err(Error::DeadlinePassed {
                status,
                step,
                deadline: due.deadline,
            }),
            (_, None) => Ok(()),
        }
    }

    fn check_payload(&self, kind: &AdmissionEventKind) -> Result<(), Error> {
        let status = self.status;
        let step = kind.step();
        match kind {
            AdmissionEventKind::Refused { reasons } => {
                Ok(lifecycle::check_reasons(status, step, reasons)?)
            }
            AdmissionEventKind::DepartureConfirmed
                if !self.profile.admission_departure_confirmation =>
            {
                Err(Error::ConfirmationNotRequired {
                    regime: self.profile.regime,
                })
            }
            _ => Ok(()),
        }
    }

    fn advanced(&self, kind: &AdmissionEventKind, to: AdmissionStatus, now: Timestamp) -> Self {
        let mut case = self.clone();
        case.status = to;
        case.sequence += 1;
        case.last_event_at = now;
        match kind {
            AdmissionEventKind::Granted => {
                case.granted_at = Some(now);
                case.visa_valid_until = Some(now.plus(self.profile.visa_validity));
            }
            AdmissionEventKind::Refused { reasons } => case.refusal_reasons = reasons.clone(),
            AdmissionEventKind::Withdrawn { reason } => {
                case.withdrawal_reason = Some(reason.clone());
            }
            AdmissionEventKind::Arrived => case.arrived_at = Some(now),
            AdmissionEventKind::DepartureConfirmed => case.departure_confirmed_at = Some(now),
            AdmissionEventKind::Nominated { .. }
            | AdmissionEventKind::VettingStarted
            | AdmissionEventKind::TravelBooked
            | AdmissionEventKind::GrantLapsed => {}
        }
        case
    }
}

impl Lifecycle for AdmissionCase {
    type Kind = AdmissionEventKind;
    type Status = AdmissionStatus;
    type Error = Error;

    /// The case A's nomination opens, under the profile of the regime it names. The
    /// nomination's reference is checked as [`AdmissionCase::nominate`] checks it; the claim
    /// is not checked against the offer again (the offer's own history records it).
    fn begin(first: &AdmissionEvent) -> Result<Self, Error> {
        lifecycle::check_opening(first)?;
        let AdmissionEventKind::Nominated { offer, regime } = &first.kind else {
            return Err(ReplayError::ReplayStart.into());
        };
        check_case_ref(&first.case_ref, offer)?;
        Ok(Self::nominated(
            first.case_ref.clone(),
            offer.clone(),
            regime.profile(),
            first.occurred_at,
        ))
    }

    /// The case after `actor` takes the step `kind` at `now`, or why it is refused.
    fn apply(
        &self,
        actor: Actor,
        kind: &AdmissionEventKind,
        now: Timestamp,
    ) -> Result<Self, Error> {
        let status = self.status;
        let step = kind.step();
        let attempt = Attempt::on(self, step, actor, now);
        let is_party = actor.state() == self.admitting() || actor.state() == self.origin();
        let transition = attempt.check(is_party, transition(status, step), |transition| {
            self.performer_actor(transition.performer)
        })?;
        self.check_timing(
            transition.performer,
            step,
            deadline::admission_due(self, now),
        )?;
        self.check_payload(kind)?;
        Ok(self.advanced(kind, transition.to, now))
    }

    lifecycle::lifecycle_fields!(AdmissionStatus);
}

/// Whether `case_ref` names an admission of the pair of the offer `offer_ref`
/// (`ADM-<admitting>-<origin>-…` under `OFR-<admitting>-<origin>-…`).
fn check_case_ref(case_ref: &CaseRef, offer_ref: &CaseRef) -> Result<(), Error> {
    let same_pair = case_ref.kind() == CaseKind::Admission
        && case_ref.first_state() == offer_ref.first_state()
        && case_ref.second_state() == offer_ref.second_state();
    if !same_pair {
        return Err(Error::WrongCaseRef {
            case_ref: case_ref.clone(),
            offer_ref: offer_ref.clone(),
        });
    }
    Ok(())
}
