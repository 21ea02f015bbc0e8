//! Admission offers: an admitting state A offers a number of admissions to people in an origin
//! state O, within a window (DOMAIN.md, "Admission offer", coordinator layer).
//!
//! An [`Offer`] is published (status OPEN), may be amended (capacity, window end), paused (for
//! parity, capacity, or at the Joint Committee's request) and resumed, and is finally closed.
//! Every step is taken by A; O has no say on A's offer.
//!
//! Slots are offer events, not a count derived from admissions: each nomination records
//! [`OfferEventKind::SlotClaimed`] on the offer in the same step
//! (`AdmissionCase::nominate`), and a nomination that ends without an admission (refused,
//! withdrawn, grant lapsed) has A's node record [`OfferEventKind::SlotReleased`]. Both name
//! the admission case (wire: `OFFER_EVENT_KIND_SLOT_CLAIMED` / `SLOT_RELEASED`). So the
//! offer's own history, which both nodes hold, says how many slots are used: O can check
//! from it alone that A never admits beyond the capacity. The offer keeps the set of
//! admission cases holding a slot, so the number of slots used never exceeds the capacity and
//! a slot is never claimed or released twice.
//!
//! This module does not decide when to pause for parity (see `parity::offer_should_pause`).

use std::collections::BTreeSet;
use std::fmt;

use crate::StateCode;
use crate::case_ref::{CaseKind, CaseRef};
use crate::coded::event_kinds;
use crate::event::Actor;
use crate::lifecycle::{self, Event, Lifecycle, ReplayError};
use crate::reason::OfferPauseReason;
use crate::regime::Regime;
use crate::time::Timestamp;

/// Why an offer step is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The reference is not an offer reference (`OFR-…`), or a slot is claimed with a
    /// reference that is not an admission (`ADM-…`) of the offer's pair.
    #[error("{case_ref} is not a reference this offer step accepts")]
    WrongCaseKind {
        /// The reference given.
        case_ref: CaseRef,
    },
    /// An offer of no admissions.
    #[error("an offer needs a capacity of at least one admission")]
    ZeroCapacity,
    /// A window that closes before it opens.
    #[error("an offer window must open ({opens_at}) before it closes ({closes_at})")]
    EmptyWindow {
        /// The opening instant given.
        opens_at: Timestamp,
        /// The closing instant given.
        closes_at: Timestamp,
    },
    /// Publication of an offer whose window has already closed.
    #[error("the window closed at {closes_at}, before publication at {now}")]
    WindowAlreadyClosed {
        /// The window's closing instant.
        closes_at: Timestamp,
        /// The publication time.
        now: Timestamp,
    },
    /// Someone other than the admitting state acts on the offer.
    #[error(
        "{step} on an offer is taken by its admitting state {admitting}, not by {actor} (status {status})"
    )]
    WrongActor {
        /// The current status.
        status: OfferStatus,
        /// The refused step.
        step: OfferStep,
        /// Who tried.
        actor: Actor,
        /// The offer's admitting state.
        admitting: StateCode,
    },
    /// The step is not allowed from the current status.
    #[error("{step} is not allowed in offer status {status}")]
    StepNotAllowed {
        /// The current status.
        status: OfferStatus,
        /// The refused step.
        step: OfferStep,
    },
    /// The step is dated before the previous event.
    #[error("{step} at {now} is before the offer's previous event at {last_event_at}")]
    TimeWentBackwards {
        /// The refused step.
        step: OfferStep,
        /// The time of the previous event.
        last_event_at: Timestamp,
        /// The refused step's time.
        now: Timestamp,
    },
    /// A nomination while the offer is paused.
    #[error("the offer is paused ({reason}): no nomination")]
    Paused {
        /// Why it is paused.
        reason: OfferPauseReason,
    },
    /// A nomination after the offer was closed.
    #[error("the offer is closed: no nomination")]
    Closed,
    /// A nomination outside the offer's window.
    #[error("the offer's window is {opens_at}..={closes_at}; {now} is outside it")]
    OutsideWindow {
        /// The window's opening instant.
        opens_at: Timestamp,
        /// The window's closing instant.
        closes_at: Timestamp,
        /// The refused nomination's time.
        now: Timestamp,
    },
    /// A nomination when every slot is taken.
    #[error("the offer is full: all {capacity} slots are taken")]
    Full {
        /// The offer's capacity.
        capacity: u32,
    },
    /// A second claim by the same admission case.
    #[error("{admission} already holds a slot of this offer")]
    AlreadyClaimed {
        /// The admission case.
        admission: CaseRef,
    },
    /// A release by an admission case that holds no slot.
    #[error("{admission} holds no slot of this offer")]
    NotClaimed {
        /// The admission case.
        admission: CaseRef,
    },
    /// An amendment that changes nothing.
    #[error("an amendment must change the capacity or the window's end")]
    EmptyAmendment,
    /// A capacity below the slots already taken.
    #[error("capacity {capacity} is below the {used} slots already taken")]
    CapacityBelowUse {
        /// The capacity asked for.
        capacity: u32,
        /// The slots taken.
        used: u32,
    },
    /// A history that does not open with A's publication, or whose events are out of order.
    #[error(transparent)]
    Replay(#[from] ReplayError),
}

/// When nominations may be made under an offer: from `opens_at` to `closes_at`, inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OfferWindow {
    opens_at: Timestamp,
    closes_at: Timestamp,
}

impl OfferWindow {
    /// A window; it must open before it closes.
    pub fn new(opens_at: Timestamp, closes_at: Timestamp) -> Result<Self, Error> {
        if opens_at >= closes_at {
            return Err(Error::EmptyWindow {
                opens_at,
                closes_at,
            });
        }
        Ok(Self {
            opens_at,
            closes_at,
        })
    }

    /// The first instant of the window.
    pub fn opens_at(self) -> Timestamp {
        self.opens_at
    }

    /// The last instant of the window.
    pub fn closes_at(self) -> Timestamp {
        self.closes_at
    }

    /// Whether `now` falls inside the window.
    pub fn contains(self, now: Timestamp) -> bool {
        self.opens_at <= now && now <= self.closes_at
    }
}

/// Where an offer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OfferStatus {
    /// Published and open for nominations (within its window and capacity).
    Open,
    /// Temporarily closed to nominations.
    Paused(OfferPauseReason),
    /// Closed for good; slots may still be released by running cases.
    Closed,
}

impl OfferStatus {
    /// The stable code: `OPEN`, `PAUSED` or `CLOSED`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Open => "OPEN",
            Self::Paused(_) => "PAUSED",
            Self::Closed => "CLOSED",
        }
    }
}

impl fmt::Display for OfferStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Paused(reason) => write!(f, "PAUSED({reason})"),
            other => f.write_str(other.code()),
        }
    }
}

event_kinds! {
    /// What happened to an offer, with the data the step needs.
    pub enum OfferEventKind;
    /// An offer step without its payload.
    #[allow(missing_docs)] // each variant is the payload-free twin of the event kind of that name
    pub enum OfferStep;
    {
        /// A published the offer (only through [`Offer::publish`]).
        Published {
            /// The regime the admissions run under.
            regime: Regime,
            /// How many admissions are offered.
            capacity: u32,
            /// When nominations may be made.
            window: OfferWindow,
        } => "OFFER_PUBLISHED",
        /// A paused the offer.
        Paused {
            /// Why.
            reason: OfferPauseReason,
        } => "OFFER_PAUSED",
        /// A resumed the offer.
        Resumed => "OFFER_RESUMED",
        /// A closed the offer for good.
        Closed => "OFFER_CLOSED",
        /// A changed the number of admissions offered, the end of the window, or both.
        Amended {
            /// The new capacity, at least one and at least the slots taken; `None` keeps it.
            capacity: Option<u32>,
            /// The new last instant of the window, after its opening; `None` keeps it.
            closes_at: Option<Timestamp>,
        } => "OFFER_AMENDED",
        /// A nomination took a slot.
        SlotClaimed {
            /// The admission case that holds the slot.
            admission: CaseRef,
        } => "OFFER_SLOT_CLAIMED",
        /// A nomination ended without an admission and gave its slot back.
        SlotReleased {
            /// The admission case that held the slot.
            admission: CaseRef,
        } => "OFFER_SLOT_RELEASED",
    }
}

/// One event of an offer, as stored and sent (the node signs its wire form).
pub type OfferEvent = Event<OfferEventKind>;

/// An admission offer by A to people in O.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    case_ref: CaseRef,
    regime: Regime,
    capacity: u32,
    window: OfferWindow,
    status: OfferStatus,
    /// The admission cases holding a slot; never more than `capacity` of them.
    claims: BTreeSet<CaseRef>,
    sequence: u64,
    last_event_at: Timestamp,
}

impl Offer {
    /// A publishes an offer (`OFR-<admitting>-<origin>-<id>`) of `capacity` admissions.
    pub fn publish(
        case_ref: CaseRef,
        regime: Regime,
        capacity: u32,
        window: OfferWindow,
        now: Timestamp,
    ) -> Result<(Self, OfferEvent), Error> {
        if case_ref.kind() != CaseKind::Offer {
            return Err(Error::WrongCaseKind { case_ref });
        }
        if capacity == 0 {
            return Err(Error::ZeroCapacity);
        }
        if window.closes_at < now {
            return Err(Error::WindowAlreadyClosed {
                closes_at: window.closes_at,
                now,
            });
        }
        let event = OfferEvent::opening(
            &case_ref,
            now,
            OfferEventKind::Published {
                regime,
                capacity,
                window,
            },
        );
        let offer = Self {
            case_ref,
            regime,
            capacity,
            window,
            status: OfferStatus::Open,
            claims: BTreeSet::new(),
            sequence: 1,
            last_event_at: now,
        };
        Ok((offer, event))
    }

    /// Whether a nomination at `now` could claim a slot, and if not, why.
    pub fn check_open(&self, now: Timestamp) -> Result<(), Error> {
        match self.status {
            OfferStatus::Paused(reason) => return Err(Error::Paused { reason }),
            OfferStatus::Closed => return Err(Error::Closed),
            OfferStatus::Open => {}
        }
        if !self.window.contains(now) {
            return Err(Error::OutsideWindow {
                opens_at: self.window.opens_at,
                closes_at: self.window.closes_at,
                now,
            });
        }
        if self.used() >= self.capacity {
            return Err(Error::Full {
                capacity: self.capacity,
            });
        }
        Ok(())
    }

    /// The offer's reference.
    pub fn case_ref(&self) -> &CaseRef {
        &self.case_ref
    }

    /// The admitting state A.
    pub fn admitting(&self) -> StateCode {
        self.case_ref.first_state()
    }

    /// The origin state O.
    pub fn origin(&self) -> StateCode {
        self.case_ref.second_state()
    }

    /// The regime the admissions run under.
    pub fn regime(&self) -> Regime {
        self.regime
    }

    /// How many admissions are offered.
    pub fn capacity(&self) -> u32 {
        self.capacity
    }

    /// When nominations may be made.
    pub fn window(&self) -> OfferWindow {
        self.window
    }

    /// The current status.
    pub fn status(&self) -> OfferStatus {
        self.status
    }

    /// How many slots are taken.
    pub fn used(&self) -> u32 {
        // Invariant: claims never outnumber the u32 capacity (checked on every claim).
        u32::try_from(self.claims.len()).unwrap_or(u32::MAX)
    }

    /// How many slots are free.
    pub fn remaining(&self) -> u32 {
        self.capacity.saturating_sub(self.used())
    }

    /// Whether `admission` holds a slot.
    pub fn holds_slot(&self, admission: &CaseRef) -> bool {
        self.claims.contains(admission)
    }

    /// The number of events so far.
    pub fn sequence(&self) -> u64 {
        self.sequence
    }

    /// When the last event took place.
    pub fn last_event_at(&self) -> Timestamp {
        self.last_event_at
    }

    /// The status after `kind`, or why the step is refused.
    fn next_status(&self, kind: &OfferEventKind, now: Timestamp) -> Result<OfferStatus, Error> {
        let status = self.status;
        let not_allowed = Err(Error::StepNotAllowed {
            status,
            step: kind.step(),
        });
        match (status, kind) {
            (OfferStatus::Open, OfferEventKind::Paused { reason }) => {
                Ok(OfferStatus::Paused(*reason))
            }
            (OfferStatus::Paused(_), OfferEventKind::Resumed) => Ok(OfferStatus::Open),
            (OfferStatus::Open | OfferStatus::Paused(_), OfferEventKind::Closed) => {
                Ok(OfferStatus::Closed)
            }
            (
                OfferStatus::Open | OfferStatus::Paused(_),
                OfferEventKind::Amended {
                    capacity,
                    closes_at,
                },
            ) => self.check_amendment(*capacity, *closes_at).map(|()| status),
            (_, OfferEventKind::SlotClaimed { admission }) => {
                self.check_claim(admission, now).map(|()| status)
            }
            (_, OfferEventKind::SlotReleased { admission }) => {
                if self.claims.contains(admission) {
                    Ok(status)
                } else {
                    Err(Error::NotClaimed {
                        admission: admission.clone(),
                    })
                }
            }
            _ => not_allowed,
        }
    }

    fn check_amendment(
        &self,
        capacity: Option<u32>,
        closes_at: Option<Timestamp>,
    ) -> Result<(), Error> {
        if capacity.is_none() && closes_at.is_none() {
            return Err(Error::EmptyAmendment);
        }
        if let Some(closes_at) = closes_at {
            OfferWindow::new(self.window.opens_at, closes_at)?;
        }
        match capacity {
            Some(capacity) => self.check_capacity(capacity),
            None => Ok(()),
        }
    }

    fn check_capacity(&self, capacity: u32) -> Result<(), Error> {
        if capacity == 0 {
            return Err(Error::ZeroCapacity);
        }
        if capacity < self.used() {
            return Err(Error::CapacityBelowUse {
                capacity,
                used: self.used(),
            });
        }
        Ok(())
    }

    fn check_claim(&self, admission: &CaseRef, now: Timestamp) -> Result<(), Error> {
        let same_pair = admission.kind() == CaseKind::Admission
            && admission.first_state() == self.admitting()
            && admission.second_state() == self.origin();
        if !same_pair {
            return Err(Error::WrongCaseKind {
                case_ref: admission.clone(),
            });
        }
        if self.claims.contains(admission) {
            return Err(Error::AlreadyClaimed {
                admission: admission.clone(),
            });
        }
        self.check_open(now)
    }
}

impl Lifecycle for Offer {
    type Kind = OfferEventKind;
    type Status = OfferStatus;
    type Error = Error;

    /// The offer A's publication opens, with the publication's own checks
    /// ([`Offer::publish`]) applied to the recorded event.
    fn begin(first: &OfferEvent) -> Result<Self, Error> {
        lifecycle::check_opening(first)?;
        let OfferEventKind::Published {
            regime,
            capacity,
            window,
        } = first.kind
        else {
            return Err(ReplayError::ReplayStart.into());
        };
        let (offer, _) = Self::publish(
            first.case_ref.clone(),
            regime,
            capacity,
            window,
            first.occurred_at,
        )?;
        Ok(offer)
    }

    /// The offer after `actor` takes the step `kind` at `now`, or why it is refused.
    fn apply(&self, actor: Actor, kind: &OfferEventKind, now: Timestamp) -> Result<Self, Error> {
        let status = self.status;
        let step = kind.step();
        if actor != Actor::State(self.admitting()) {
            return Err(Error::WrongActor {
                status,
                step,
                actor,
                admitting: self.admitting(),
            });
        }
        if now < self.last_event_at {
            return Err(Error::TimeWentBackwards {
                step,
                last_event_at: self.last_event_at,
                now,
            });
        }
        let mut offer = self.clone();
        offer.status = self.next_status(kind, now)?;
        match kind {
            OfferEventKind::Amended {
                capacity,
                closes_at,
            } => {
                offer.capacity = capacity.unwrap_or(self.capacity);
                if let Some(closes_at) = closes_at {
                    offer.window = OfferWindow::new(self.window.opens_at, *closes_at)?;
                }
            }
            OfferEventKind::SlotClaimed { admission } => {
                offer.claims.insert(admission.clone());
            }
            OfferEventKind::SlotReleased { admission } => {
                offer.claims.remove(admission);
            }
            _ => {}
        }
        offer.sequence += 1;
        offer.last_event_at = now;
        Ok(offer)
    }

    lifecycle::lifecycle_fields!(OfferStatus);
}
