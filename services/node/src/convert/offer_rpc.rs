//! `AdmissionService` requests on offers (published by the admitting state A for people in
//! the origin state O) parsed into use-case commands, and answers into responses.
//!
//! One function per RPC reads every field of its request against the rules admission.proto
//! documents and returns the command, or every violation at once.

use accord_domain::admission::{Offer, OfferEventKind};
use accord_domain::{CaseKind, CaseRef, StateCode, Timestamp};
use accord_proto::v1 as pb;
use pb::offer_event::Detail as OfferDetail;

use super::admission as convert;
use super::answers::OfferOutcome;
use super::command::{EventPageRequest, ListQuery, OfferFilter, PublishOffer, Step};
use super::fields::{self, short_text};
use super::{RequestContext, incomplete};
use crate::violation::{Invalid, Violations};

/// A parsed step of an offer.
pub type OfferStep = Step<Offer>;

/// `PublishOffer`: A offers places to people in O.
pub fn publish_offer(
    message: &pb::PublishOfferRequest,
    context: &RequestContext,
) -> Result<PublishOffer<OfferDetail>, Invalid> {
    let mut violations = Violations::new();
    let key = fields::idempotency_key(&mut violations, &message.idempotency_key);
    let terms = publication(&mut violations, message, context.own_state, context.now);
    violations.finish()?;
    let (Some(idempotency_key), Some((origin, regime, window))) = (key, terms) else {
        return Err(incomplete());
    };
    Ok(PublishOffer {
        key: context.key(idempotency_key),
        origin,
        regime,
        capacity: message.capacity,
        window,
        publication: OfferDetail::Published(pb::OfferPublication {
            origin_state: message.origin_state.clone(),
            regime: message.regime,
            capacity: message.capacity,
            window: message.window,
            priority_rules_version: message.priority_rules_version.clone(),
        }),
    })
}

/// `AmendOffer`: a new capacity, a new end of the window, or both.
pub fn amend_offer(
    message: &pb::AmendOfferRequest,
    context: &RequestContext,
) -> Result<OfferStep, Invalid> {
    super::step(context, message, |violations| {
        if let Some(capacity) = message.capacity
            && !(1..=convert::OFFER_CAPACITY_MAX).contains(&capacity)
        {
            violations.add(
                "capacity",
                format!("must be from 1 to {}", convert::OFFER_CAPACITY_MAX),
            );
        }
        let closes_at = message.window_end_time.as_ref().and_then(|end| {
            violations
                .check("window_end_time", super::from_wire_time(end))
                .map(convert::window_last_instant)
        });
        if message.capacity.is_none() && message.window_end_time.is_none() {
            violations.add("capacity", "set capacity, window_end_time or both");
            return None;
        }
        let detail = OfferDetail::Amended(pb::OfferAmendment {
            capacity: message.capacity,
            window_end_time: message.window_end_time,
        });
        Some((
            OfferEventKind::Amended {
                capacity: message.capacity,
                closes_at,
            },
            Some(detail),
            (),
        ))
    })
}

/// `PauseOffer`.
pub fn pause_offer(
    message: &pb::PauseOfferRequest,
    context: &RequestContext,
) -> Result<OfferStep, Invalid> {
    super::step(context, message, |violations| {
        let Some(reason) = convert::pause_reason_from_wire(message.reason) else {
            violations.add("reason", "is required (a known pause reason)");
            return None;
        };
        let detail = OfferDetail::Paused(pb::OfferPause {
            reason: message.reason,
        });
        Some((OfferEventKind::Paused { reason }, Some(detail), ()))
    })
}

/// `ResumeOffer`.
pub fn resume_offer(
    message: &pb::ResumeOfferRequest,
    context: &RequestContext,
) -> Result<OfferStep, Invalid> {
    super::step(context, message, |_| {
        Some((OfferEventKind::Resumed, None, ()))
    })
}

/// `CloseOffer`: a caseworker's close withdraws the offer (the window's end would be a
/// system event).
pub fn close_offer(
    message: &pb::CloseOfferRequest,
    context: &RequestContext,
) -> Result<OfferStep, Invalid> {
    super::step(context, message, |_| {
        let detail = OfferDetail::Closed(pb::OfferClosure {
            reason: pb::OfferCloseReason::Withdrawn as i32,
        });
        Some((OfferEventKind::Closed, Some(detail), ()))
    })
}

/// `GetOffer`.
pub fn get_offer(message: &pb::GetOfferRequest, _: &RequestContext) -> Result<CaseRef, Invalid> {
    super::lone_reference::<Offer>(message)
}

/// `ListOffers`.
pub fn list_offers(
    message: &pb::ListOffersRequest,
    _: &RequestContext,
) -> Result<ListQuery<OfferFilter>, Invalid> {
    let page = (message.page_token.as_str(), message.page_size);
    super::list_query(
        CaseKind::Offer,
        &message.counterpart_state,
        page,
        |violations, counterpart| OfferFilter {
            counterpart,
            admitting: role(violations, message.role),
            statuses: fields::statuses(
                violations,
                &message.statuses,
                convert::offer_status_code_from_wire,
            ),
        },
    )
}

/// `ListOfferEvents`.
pub fn offer_history(
    message: &pb::ListOfferEventsRequest,
    _: &RequestContext,
) -> Result<(CaseRef, EventPageRequest), Invalid> {
    super::history_page::<Offer>(message)
}

/// The role filter: `Some(true)` for admitting, `Some(false)` for origin.
pub(super) fn role(violations: &mut Violations, value: i32) -> Option<bool> {
    match pb::AdmissionRole::try_from(value) {
        Ok(pb::AdmissionRole::Admitting) => Some(true),
        Ok(pb::AdmissionRole::Origin) => Some(false),
        Ok(pb::AdmissionRole::Unspecified) => None,
        Err(_) => {
            violations.add("role", format!("{value} is not a known role"));
            None
        }
    }
}

/// Reads an offer's terms: origin, regime, window.
fn publication(
    violations: &mut Violations,
    message: &pb::PublishOfferRequest,
    own: StateCode,
    now: Timestamp,
) -> Option<(
    StateCode,
    accord_domain::Regime,
    accord_domain::admission::OfferWindow,
)> {
    let origin = super::required_state(violations, "origin_state", &message.origin_state);
    if origin == Some(own) {
        violations.add(
            "origin_state",
            "must be another state than the admitting state",
        );
    }
    let regime = super::regime_from_wire(message.regime);
    if regime.is_none() {
        violations.add("regime", "is required (a known regime)");
    }
    if !(1..=convert::OFFER_CAPACITY_MAX).contains(&message.capacity) {
        violations.add(
            "capacity",
            format!("must be from 1 to {}", convert::OFFER_CAPACITY_MAX),
        );
    }
    let window = convert::window_from_wire(violations, "window", message.window.as_ref());
    if window.is_some_and(|window| window.closes_at() < now) {
        violations.add("window.end_time", "must be after now");
    }
    short_text(
        violations,
        "priority_rules_version",
        &message.priority_rules_version,
        convert::PRIORITY_RULES_VERSION_LENGTH_MAX_CHARS,
    );
    Some((origin?, regime?, window?))
}

super::step_responses! {
    Offer, OfferOutcome { offer }:
    pb::PublishOfferResponse,
    pb::AmendOfferResponse,
    pb::PauseOfferResponse,
    pb::ResumeOfferResponse,
    pb::CloseOfferResponse,
}
