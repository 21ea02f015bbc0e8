//! Admission offers, admission cases and their events: wire ↔ domain.
//!
//! As for readmissions, a wire event carries more than the domain needs (the person, the
//! expression of interest, the journey): the domain sees the lifecycle facts only, and the
//! node keeps the whole signed wire event as the record. Both nodes derive the same domain
//! event from the same wire event, so their offers and cases agree.
//!
//! Two wire conventions differ from the domain's and are converted here only: a wire
//! `TimeRange` ends at its first instant *after* the range, a domain [`OfferWindow`] at its
//! last instant inside; and an admission event does not repeat its regime, which the caller
//! passes in from the case's offer.

use accord_domain::admission::{
    AdmissionCase, AdmissionEvent, AdmissionEventKind, AdmissionStatus, Offer, OfferEvent,
    OfferEventKind, OfferStatus, OfferWindow,
};
use accord_domain::reason::{AdmissionRefusal, OfferPauseReason};
use accord_domain::{CaseKind, CaseRef, Regime, Timestamp};
use accord_proto::v1 as pb;
use pb::admission_event::Detail as AdmissionDetail;
use pb::offer_event::Detail as OfferDetail;

use super::command::{AdmissionChecks, Answer};
use super::envelope::{Wire, known_kind, read_event, unreadable_kind, wire_header};
use super::fields::reference_of_kind;
use super::{
    coded_from_wire, coded_to_wire, from_wire_time, recorded_reason, regime_from_wire,
    regime_to_wire, to_wire_time,
};
use crate::violation::{Invalid, Violations};

/// The most places one offer may hold (admission.proto, `OfferPublication.capacity`).
pub const OFFER_CAPACITY_MAX: u32 = 100_000;

/// The longest short reference (entry point, expression of interest, …), in characters.
pub const REFERENCE_LENGTH_MAX_CHARS: usize = 128;

/// The longest priority rules version, in characters.
pub const PRIORITY_RULES_VERSION_LENGTH_MAX_CHARS: usize = 64;

// ---------------------------------------------------------------------------------------
// Offers
// ---------------------------------------------------------------------------------------

/// The wire kind of a domain offer event kind.
pub fn offer_kind_to_wire(kind: &OfferEventKind) -> pb::OfferEventKind {
    use OfferEventKind as K;
    use pb::OfferEventKind as W;
    match kind {
        K::Published { .. } => W::Published,
        K::Amended { .. } => W::Amended,
        K::Paused { .. } => W::Paused,
        K::Resumed => W::Resumed,
        K::Closed => W::Closed,
        K::SlotClaimed { .. } => W::SlotClaimed,
        K::SlotReleased { .. } => W::SlotReleased,
    }
}

/// The wire status of a domain offer status.
pub fn offer_status_to_wire(status: OfferStatus) -> pb::OfferStatus {
    match status {
        OfferStatus::Open => pb::OfferStatus::Open,
        OfferStatus::Paused(_) => pb::OfferStatus::Paused,
        OfferStatus::Closed => pb::OfferStatus::Closed,
    }
}

/// The stored status code of a wire offer status filter value; `None` for UNSPECIFIED or an
/// unknown value.
pub fn offer_status_code_from_wire(value: i32) -> Option<&'static str> {
    match pb::OfferStatus::try_from(value).ok()? {
        pb::OfferStatus::Open => Some("OPEN"),
        pb::OfferStatus::Paused => Some("PAUSED"),
        pb::OfferStatus::Closed => Some("CLOSED"),
        pb::OfferStatus::Unspecified => None,
    }
}

/// The domain pause reason of a wire one; `None` for UNSPECIFIED or an unknown value.
pub fn pause_reason_from_wire(value: i32) -> Option<OfferPauseReason> {
    coded_from_wire::<pb::OfferPauseReason, _>(value, |name| OfferPauseReason::parse(name).ok())
}

/// The wire pause reason of a domain one.
pub fn pause_reason_to_wire(reason: OfferPauseReason) -> pb::OfferPauseReason {
    coded_to_wire(reason.code())
}

/// The domain window of a wire time range (whose end is exclusive).
pub fn window_from_wire(
    violations: &mut Violations,
    field: &str,
    range: Option<&pb::TimeRange>,
) -> Option<OfferWindow> {
    let range = super::required(violations, field, range)?;
    let start = super::required_time(
        violations,
        &format!("{field}.start_time"),
        range.start_time.as_ref(),
    );
    let end = super::required_time(
        violations,
        &format!("{field}.end_time"),
        range.end_time.as_ref(),
    );
    let (start, end) = (start?, end?);
    violations.check(
        &format!("{field}.end_time"),
        OfferWindow::new(start, window_last_instant(end)),
    )
}

/// The last instant inside a window whose wire end is `end` (the first instant after it).
pub fn window_last_instant(end: Timestamp) -> Timestamp {
    end.plus_millis(-1)
}

/// The wire time range of a domain window.
pub fn window_to_wire(window: OfferWindow) -> pb::TimeRange {
    pb::TimeRange {
        start_time: Some(to_wire_time(window.opens_at())),
        end_time: Some(to_wire_time(window.closes_at().plus_millis(1))),
    }
}

/// The domain offer event of a wire offer event, checking every field the domain needs.
fn offer_event_from_wire(event: &pb::OfferEvent) -> Result<OfferEvent, Invalid> {
    read_event(
        Offer::header(event),
        "event.offer_ref",
        CaseKind::Offer,
        |violations, offer_ref| offer_kind_from_wire(violations, event, offer_ref),
        |_| false,
    )
}

fn offer_kind_from_wire(
    violations: &mut Violations,
    event: &pb::OfferEvent,
    offer_ref: Option<&CaseRef>,
) -> Option<OfferEventKind> {
    use OfferEventKind as K;
    use pb::OfferEventKind as W;
    let wire_kind = known_kind::<W>(violations, event.kind)?;
    match (wire_kind, event.detail.as_ref()) {
        (W::Published, Some(OfferDetail::Published(publication))) => {
            published_from_wire(violations, publication, offer_ref)
        }
        (W::Amended, Some(OfferDetail::Amended(amendment))) => {
            let closes_at = amendment.window_end_time.as_ref().and_then(|end| {
                violations
                    .check("event.amended.window_end_time", from_wire_time(end))
                    .map(window_last_instant)
            });
            Some(K::Amended {
                capacity: amendment.capacity,
                closes_at,
            })
        }
        (W::Paused, Some(OfferDetail::Paused(pause))) => match pause_reason_from_wire(pause.reason)
        {
            Some(reason) => Some(K::Paused { reason }),
            None => {
                violations.add("event.paused.reason", "is required (a known pause reason)");
                None
            }
        },
        (W::Resumed, _) => Some(K::Resumed),
        (W::Closed, Some(OfferDetail::Closed(closure))) => {
            let known = pb::OfferCloseReason::try_from(closure.reason)
                .is_ok_and(|reason| reason != pb::OfferCloseReason::Unspecified);
            if !known {
                violations.add("event.closed.reason", "is required (a known close reason)");
                return None;
            }
            Some(K::Closed)
        }
        (W::SlotClaimed, Some(OfferDetail::SlotClaimed(slot))) => Some(K::SlotClaimed {
            admission: slot_case(violations, "event.slot_claimed", slot)?,
        }),
        (W::SlotReleased, Some(OfferDetail::SlotReleased(slot))) => Some(K::SlotReleased {
            admission: slot_case(violations, "event.slot_released", slot)?,
        }),
        _ => unreadable_kind(
            violations,
            wire_kind == W::Unspecified,
            wire_kind.as_str_name(),
        ),
    }
}

fn published_from_wire(
    violations: &mut Violations,
    publication: &pb::OfferPublication,
    offer_ref: Option<&CaseRef>,
) -> Option<OfferEventKind> {
    let origin = super::required_state(
        violations,
        "event.published.origin_state",
        &publication.origin_state,
    );
    if let (Some(origin), Some(offer_ref)) = (origin, offer_ref)
        && origin != offer_ref.second_state()
    {
        violations.add(
            "event.published.origin_state",
            format!(
                "must be the offer's origin state {}",
                offer_ref.second_state()
            ),
        );
    }
    let regime = regime_from_wire(publication.regime);
    if regime.is_none() {
        violations.add("event.published.regime", "is required (a known regime)");
    }
    let window = window_from_wire(
        violations,
        "event.published.window",
        publication.window.as_ref(),
    );
    Some(OfferEventKind::Published {
        regime: regime?,
        capacity: publication.capacity,
        window: window?,
    })
}

fn slot_case(violations: &mut Violations, field: &str, slot: &pb::OfferSlot) -> Option<CaseRef> {
    reference_of_kind(
        violations,
        &format!("{field}.admission_case_ref"),
        &slot.admission_case_ref,
        CaseKind::Admission,
    )
}

/// The wire detail of a domain offer event, where the domain event says it all.
pub fn offer_detail(kind: &OfferEventKind) -> Option<OfferDetail> {
    let slot = |admission: &CaseRef| pb::OfferSlot {
        admission_case_ref: admission.to_string(),
    };
    match kind {
        OfferEventKind::Paused { reason } => Some(OfferDetail::Paused(pb::OfferPause {
            reason: pause_reason_to_wire(*reason) as i32,
        })),
        OfferEventKind::SlotClaimed { admission } => {
            Some(OfferDetail::SlotClaimed(slot(admission)))
        }
        OfferEventKind::SlotReleased { admission } => {
            Some(OfferDetail::SlotReleased(slot(admission)))
        }
        _ => None,
    }
}

/// An offer as the API shows it, from a use case's answer: derived from the domain offer and
/// the signed history, which `with_history` adds (a list leaves it out). `admitted` counts
/// the offer's cases that reached ARRIVED or DEPARTURE_CONFIRMED.
pub fn offer_answer_to_wire(answer: &Answer<Offer>, with_history: bool) -> pb::Offer {
    let offer = &answer.case;
    let events = wire_history(answer);
    let publication = events.first().and_then(|event| match &event.detail {
        Some(OfferDetail::Published(publication)) => Some(publication),
        _ => None,
    });
    pb::Offer {
        offer_ref: offer.case_ref().to_string(),
        admitting_state: offer.admitting().to_string(),
        origin_state: offer.origin().to_string(),
        regime: regime_to_wire(offer.regime()) as i32,
        capacity: offer.capacity(),
        used: offer.used(),
        admitted: answer.admitted,
        window: Some(window_to_wire(offer.window())),
        status: offer_status_to_wire(offer.status()) as i32,
        pause_reason: match offer.status() {
            OfferStatus::Paused(reason) => pause_reason_to_wire(reason) as i32,
            _ => pb::OfferPauseReason::Unspecified as i32,
        },
        priority_rules_version: publication
            .map(|publication| publication.priority_rules_version.clone())
            .unwrap_or_default(),
        published_at: events.first().and_then(|event| event.occurred_at),
        last_sequence: offer.sequence(),
        updated_at: Some(to_wire_time(offer.last_event_at())),
        pending_event_count: answer.pending_deliveries,
        events: shown(with_history, events),
    }
}

// ---------------------------------------------------------------------------------------
// Admission cases
// ---------------------------------------------------------------------------------------

/// The wire kind of a domain admission event kind.
pub fn admission_kind_to_wire(kind: &AdmissionEventKind) -> pb::AdmissionEventKind {
    use AdmissionEventKind as K;
    use pb::AdmissionEventKind as W;
    match kind {
        K::Nominated { .. } => W::Nominated,
        K::VettingStarted => W::VettingStarted,
        K::Granted => W::Granted,
        K::Refused { .. } => W::Refused,
        K::Withdrawn { .. } => W::Withdrawn,
        K::TravelBooked => W::TravelBooked,
        K::Arrived => W::Arrived,
        K::DepartureConfirmed => W::DepartureConfirmed,
        K::GrantLapsed => W::GrantLapsed,
    }
}

/// The wire status of a domain admission status.
pub fn admission_status_to_wire(status: AdmissionStatus) -> pb::AdmissionStatus {
    coded_to_wire(status.code())
}

/// The domain status of a wire admission status filter value.
pub fn admission_status_from_wire(value: i32) -> Option<AdmissionStatus> {
    coded_from_wire::<pb::AdmissionStatus, _>(value, |code| AdmissionStatus::parse(code).ok())
}

/// The domain refusal codes of wire refusal reasons; records a violation for unknown values.
pub fn refusals_from_wire(
    violations: &mut Violations,
    field: &str,
    reasons: &[i32],
) -> Vec<AdmissionRefusal> {
    let from_wire = |value: i32| {
        coded_from_wire::<pb::AdmissionRefusalReason, _>(value, |name| {
            AdmissionRefusal::parse(name).ok()
        })
    };
    super::fields::codes(violations, field, reasons, from_wire, "refusal reason")
}

/// The wire refusal reason of a domain refusal code.
pub fn refusal_to_wire(reason: AdmissionRefusal) -> pb::AdmissionRefusalReason {
    coded_to_wire(reason.code())
}

/// The offer a wire NOMINATED event names, if the event is one.
pub fn nominated_offer(event: &pb::AdmissionEvent) -> Option<&str> {
    match &event.detail {
        Some(AdmissionDetail::Nominated(nomination)) => Some(&nomination.offer_ref),
        _ => None,
    }
}

/// The domain admission event of a wire one, checking every field the domain needs.
/// `regime` is the regime of the case's offer (a NOMINATED event carries it in the domain).
fn admission_event_from_wire(
    event: &pb::AdmissionEvent,
    regime: Regime,
) -> Result<AdmissionEvent, Invalid> {
    read_event(
        AdmissionCase::header(event),
        "event.case_ref",
        CaseKind::Admission,
        |violations, _| admission_kind_from_wire(violations, event, regime),
        // The grant's lapse is recorded by A's deadline clock, whoever asked for it.
        |kind| *kind == AdmissionEventKind::GrantLapsed,
    )
}

fn admission_kind_from_wire(
    violations: &mut Violations,
    event: &pb::AdmissionEvent,
    regime: Regime,
) -> Option<AdmissionEventKind> {
    use AdmissionEventKind as K;
    use pb::AdmissionEventKind as W;
    let wire_kind = known_kind::<W>(violations, event.kind)?;
    match (wire_kind, event.detail.as_ref()) {
        (W::Nominated, Some(AdmissionDetail::Nominated(nomination))) => {
            if nomination.person.is_none() {
                violations.add("event.nominated.person", "is required");
            }
            let offer = reference_of_kind(
                violations,
                "event.nominated.offer_ref",
                &nomination.offer_ref,
                CaseKind::Offer,
            )?;
            Some(K::Nominated { offer, regime })
        }
        (W::VettingStarted, _) => Some(K::VettingStarted),
        (W::Granted, Some(AdmissionDetail::Granted(_))) => Some(K::Granted),
        (W::Refused, Some(AdmissionDetail::Refused(refusal))) => Some(K::Refused {
            reasons: refusals_from_wire(violations, "event.refused.reasons", &refusal.reasons),
        }),
        (W::Withdrawn, Some(AdmissionDetail::Withdrawn(withdrawal))) => Some(K::Withdrawn {
            reason: recorded_reason(
                violations,
                "event.withdrawn",
                withdrawal.reason,
                pb::NominationWithdrawalReason::as_str_name,
                &withdrawal.note,
            )?,
        }),
        (W::TravelBooked, Some(AdmissionDetail::TravelBooked(_))) => Some(K::TravelBooked),
        (W::Arrived, Some(AdmissionDetail::Arrived(_))) => Some(K::Arrived),
        (W::DepartureConfirmed, Some(AdmissionDetail::DepartureConfirmed(_))) => {
            Some(K::DepartureConfirmed)
        }
        (W::GrantLapsed, _) => Some(K::GrantLapsed),
        _ => unreadable_kind(
            violations,
            wire_kind == W::Unspecified,
            wire_kind.as_str_name(),
        ),
    }
}

/// An admission case as the API shows it, from a use case's answer: derived from the domain
/// case and the signed history. `with_history` adds the person and the signed events
/// (single reads; a list leaves them out).
pub fn admission_answer_to_wire(
    answer: &Answer<AdmissionCase>,
    with_history: bool,
) -> pb::AdmissionCase {
    let case = &answer.case;
    let events = wire_history(answer);
    let nomination = events.first().and_then(|event| match &event.detail {
        Some(AdmissionDetail::Nominated(nomination)) => Some(nomination),
        _ => None,
    });
    let last_detail = |pick: fn(&AdmissionDetail) -> Option<prost_types::Timestamp>| {
        events
            .iter()
            .rev()
            .find_map(|event| event.detail.as_ref().and_then(pick))
    };
    let decided_at = events
        .iter()
        .find(|event| {
            event.kind == pb::AdmissionEventKind::Granted as i32
                || event.kind == pb::AdmissionEventKind::Refused as i32
        })
        .and_then(|event| event.occurred_at);
    pb::AdmissionCase {
        case_ref: case.case_ref().to_string(),
        offer_ref: case.offer_ref().to_string(),
        admitting_state: case.admitting().to_string(),
        origin_state: case.origin().to_string(),
        regime: regime_to_wire(case.profile().regime) as i32,
        status: admission_status_to_wire(case.status()) as i32,
        departure_confirmation_required: case.profile().admission_departure_confirmation,
        person: nomination
            .filter(|_| with_history)
            .and_then(|nomination| nomination.person.clone()),
        expression_of_interest_reference: nomination
            .map(|nomination| nomination.expression_of_interest_reference.clone())
            .unwrap_or_default(),
        matched_readmission_ref: nomination
            .map(|nomination| nomination.matched_readmission_ref.clone())
            .unwrap_or_default(),
        round_id: nomination
            .map(|nomination| nomination.round_id.clone())
            .unwrap_or_default(),
        nominated_at: Some(to_wire_time(case.nominated_at())),
        decided_at,
        visa_valid_until: case.visa_valid_until().map(to_wire_time),
        refusal_reasons: case
            .refusal_reasons()
            .iter()
            .map(|reason| refusal_to_wire(*reason) as i32)
            .collect(),
        travel: travel(&events),
        arrived_at: last_detail(|detail| match detail {
            AdmissionDetail::Arrived(arrival) => arrival.arrived_at,
            _ => None,
        }),
        departed_at: last_detail(|detail| match detail {
            AdmissionDetail::DepartureConfirmed(departure) => departure.departed_at,
            _ => None,
        }),
        last_sequence: case.sequence(),
        updated_at: Some(to_wire_time(case.last_event_at())),
        pending_event_count: answer.pending_deliveries,
        events: shown(with_history, events),
    }
}

/// The journey of the last TRAVEL_BOOKED event, if any.
fn travel(events: &[pb::AdmissionEvent]) -> Option<pb::TravelBooking> {
    events.iter().rev().find_map(|event| match &event.detail {
        Some(AdmissionDetail::TravelBooked(booking)) => Some(booking.clone()),
        _ => None,
    })
}

// ---------------------------------------------------------------------------------------
// Shared
// ---------------------------------------------------------------------------------------

impl Wire for Offer {
    type WireEvent = pb::OfferEvent;
    type Detail = OfferDetail;
    type Checks = ();

    fn from_wire(event: &pb::OfferEvent, _regime: Option<Regime>) -> Result<OfferEvent, Invalid> {
        offer_event_from_wire(event)
    }

    fn detail(event: &pb::OfferEvent) -> Option<&OfferDetail> {
        event.detail.as_ref()
    }

    wire_header!(
        offer_ref,
        OfferEventKind,
        pb::OfferEventKind,
        "OFFER_EVENT_KIND_",
        offer_kind_to_wire
    );
}

impl Wire for AdmissionCase {
    type WireEvent = pb::AdmissionEvent;
    type Detail = AdmissionDetail;
    type Checks = AdmissionChecks;

    /// An admission event does not repeat its regime: `regime` is its offer's, required.
    fn from_wire(
        event: &pb::AdmissionEvent,
        regime: Option<Regime>,
    ) -> Result<AdmissionEvent, Invalid> {
        let regime = regime.ok_or_else(|| {
            Invalid::field(
                "event",
                "is read under its offer's regime, which is unknown here",
            )
        })?;
        admission_event_from_wire(event, regime)
    }

    fn detail(event: &pb::AdmissionEvent) -> Option<&AdmissionDetail> {
        event.detail.as_ref()
    }

    wire_header!(
        case_ref,
        AdmissionEventKind,
        pb::AdmissionEventKind,
        "ADMISSION_EVENT_KIND_",
        admission_kind_to_wire
    );
}

/// The offer a stored NOMINATED event names, from its stored bytes.
pub fn stored_nomination_offer(bytes: &[u8]) -> Option<CaseRef> {
    use prost::Message;
    let event = pb::AdmissionEvent::decode(bytes).ok()?;
    CaseRef::parse(nominated_offer(&event)?).ok()
}

/// The detail of a grant: the visa's last day as the regime's validity gives it.
pub fn grant_detail(visa_valid_until: Option<Timestamp>) -> AdmissionDetail {
    AdmissionDetail::Granted(pb::AdmissionGrant {
        visa_valid_until: visa_valid_until.map(to_wire_time),
    })
}

/// The detail of a grant's lapse: the visa's last day that passed.
pub fn grant_lapsed_detail(visa_valid_until: Option<Timestamp>) -> AdmissionDetail {
    AdmissionDetail::GrantLapsed(pb::GrantLapse {
        visa_valid_until: visa_valid_until.map(to_wire_time),
    })
}

/// The signed wire events of an answer's history.
fn wire_history<L: Wire>(answer: &Answer<L>) -> Vec<L::WireEvent> {
    answer
        .history
        .iter()
        .map(|signed| signed.wire().clone())
        .collect()
}

/// The events a record shows: its history when asked for, none in a list.
fn shown<E>(with_history: bool, events: Vec<E>) -> Vec<E> {
    if with_history { events } else { Vec::new() }
}
