//! `AdmissionService` requests on admission cases (A's nominations under an offer) parsed
//! into use-case commands, and answers into responses; the offers themselves are in
//! `offer_rpc`.
//!
//! One function per RPC reads every field of its request against the rules admission.proto
//! documents and returns the command, or every violation at once. The step's domain kind and
//! the detail its signed event will carry are built here, so the handler names only this
//! function and the use case.

use accord_domain::admission::{AdmissionCase, AdmissionEventKind};
use accord_domain::{CaseKind, CaseRef, Timestamp};
use accord_proto::v1 as pb;
use pb::admission_event::Detail as AdmissionDetail;

use super::admission as convert;
use super::answers::AdmissionOutcome;
use super::command::{
    AdmissionChecks, AdmissionFilter, EventPageRequest, ListQuery, NominateCandidate, Step,
};
use super::fields::{
    self, REFERENCE_LENGTH_MAX_CHARS, bounded_text, coded_reason, known_enum, past_time, short_text,
};
use super::offer_rpc::role;
use super::{RequestContext, incomplete};
use crate::violation::{Invalid, Violations};

/// A parsed step of an admission case.
pub type AdmissionStep = Step<AdmissionCase>;

/// The checks of an admission step.
type StepChecks = AdmissionChecks;

/// The longest withdrawal note, in characters.
const NOTE_LENGTH_MAX_CHARS: usize = 2_000;

/// The longest refusal text, in characters.
const DETAILED_REASONS_LENGTH_MAX_CHARS: usize = 4_000;

/// `NominateCandidate`: A nominates a person in O for a place under an offer.
pub fn nominate(
    message: &pb::NominateCandidateRequest,
    context: &RequestContext,
) -> Result<NominateCandidate<AdmissionDetail>, Invalid> {
    let mut violations = Violations::new();
    let key = fields::idempotency_key(&mut violations, &message.idempotency_key);
    let offer_ref = fields::reference_of_kind(
        &mut violations,
        "offer_ref",
        &message.offer_ref,
        CaseKind::Offer,
    );
    nomination(&mut violations, message, offer_ref.as_ref(), context.now);
    violations.finish()?;
    let (Some(idempotency_key), Some(offer_ref)) = (key, offer_ref) else {
        return Err(incomplete());
    };
    Ok(NominateCandidate {
        key: context.key(idempotency_key),
        offer_ref,
        nomination: AdmissionDetail::Nominated(pb::Nomination {
            offer_ref: message.offer_ref.clone(),
            person: message.person.clone(),
            expression_of_interest_reference: message.expression_of_interest_reference.clone(),
            matched_readmission_ref: message.matched_readmission_ref.clone(),
            round_id: message.round_id.clone(),
        }),
    })
}

/// `StartVetting`.
pub fn start_vetting(
    message: &pb::StartVettingRequest,
    context: &RequestContext,
) -> Result<AdmissionStep, Invalid> {
    super::step(context, message, |_| {
        Some((
            AdmissionEventKind::VettingStarted,
            None,
            StepChecks::default(),
        ))
    })
}

/// `DecideAdmission`: grant (with the visa's last day) or refuse with reasons.
pub fn decide_admission(
    message: &pb::DecideAdmissionRequest,
    context: &RequestContext,
) -> Result<AdmissionStep, Invalid> {
    use pb::decide_admission_request::Decision;
    super::step(context, message, |violations| match &message.decision {
        Some(Decision::Grant(grant)) => {
            let until = super::required_time(
                violations,
                "grant.visa_valid_until",
                grant.visa_valid_until.as_ref(),
            )?;
            if until <= context.now {
                violations.add("grant.visa_valid_until", "must be in the future");
            }
            let checks = StepChecks {
                visa_valid_until: Some(until),
                departure: None,
            };
            Some((
                AdmissionEventKind::Granted,
                Some(AdmissionDetail::Granted(*grant)),
                checks,
            ))
        }
        Some(Decision::Refuse(refusal)) => {
            let reasons =
                convert::refusals_from_wire(violations, "refuse.reasons", &refusal.reasons);
            if refusal.reasons.is_empty() {
                violations.add("refuse.reasons", "needs at least one reason code");
            }
            bounded_text(
                violations,
                "refuse.detailed_reasons",
                &refusal.detailed_reasons,
                DETAILED_REASONS_LENGTH_MAX_CHARS,
            );
            Some((
                AdmissionEventKind::Refused { reasons },
                Some(AdmissionDetail::Refused(refusal.clone())),
                StepChecks::default(),
            ))
        }
        None => {
            violations.add("decision", "is required: grant or refuse");
            None
        }
    })
}

/// `WithdrawNomination`.
pub fn withdraw_nomination(
    message: &pb::WithdrawNominationRequest,
    context: &RequestContext,
) -> Result<AdmissionStep, Invalid> {
    super::step(context, message, |violations| {
        let reason = coded_reason(
            violations,
            message.reason,
            pb::NominationWithdrawalReason::as_str_name,
            &message.note,
            |violations, field, note| bounded_text(violations, field, note, NOTE_LENGTH_MAX_CHARS),
        )?;
        let detail = AdmissionDetail::Withdrawn(pb::NominationWithdrawal {
            reason: message.reason,
            note: message.note.clone(),
        });
        Some((
            AdmissionEventKind::Withdrawn { reason },
            Some(detail),
            StepChecks::default(),
        ))
    })
}

/// `BookTravel`.
pub fn book_travel(
    message: &pb::BookTravelRequest,
    context: &RequestContext,
) -> Result<AdmissionStep, Invalid> {
    super::step(context, message, |violations| {
        let travel = super::required(violations, "travel", message.travel.as_ref())?;
        let departure = super::required_time(
            violations,
            "travel.departure_time",
            travel.departure_time.as_ref(),
        );
        known_enum::<pb::TransportMode>(
            violations,
            "travel.transport_mode",
            travel.transport_mode,
            false,
        );
        for (field, value) in [
            ("travel.departure_point", &travel.departure_point),
            ("travel.entry_point", &travel.entry_point),
        ] {
            short_text(violations, field, value, REFERENCE_LENGTH_MAX_CHARS);
        }
        let checks = StepChecks {
            visa_valid_until: None,
            departure: Some(departure?),
        };
        Some((
            AdmissionEventKind::TravelBooked,
            Some(AdmissionDetail::TravelBooked(travel.clone())),
            checks,
        ))
    })
}

/// `ReportArrival`: A reports the person arrived.
pub fn report_arrival(
    message: &pb::ReportArrivalRequest,
    context: &RequestContext,
) -> Result<AdmissionStep, Invalid> {
    super::step(context, message, |violations| {
        past_time(
            violations,
            "arrived_at",
            message.arrived_at.as_ref(),
            context.now,
        )?;
        short_text(
            violations,
            "entry_point",
            &message.entry_point,
            REFERENCE_LENGTH_MAX_CHARS,
        );
        let detail = AdmissionDetail::Arrived(pb::AdmissionArrival {
            arrived_at: message.arrived_at,
            entry_point: message.entry_point.clone(),
        });
        Some((
            AdmissionEventKind::Arrived,
            Some(detail),
            StepChecks::default(),
        ))
    })
}

/// `ConfirmDeparture`: O confirms the person left.
pub fn confirm_departure(
    message: &pb::ConfirmDepartureRequest,
    context: &RequestContext,
) -> Result<AdmissionStep, Invalid> {
    super::step(context, message, |violations| {
        past_time(
            violations,
            "departed_at",
            message.departed_at.as_ref(),
            context.now,
        )?;
        short_text(
            violations,
            "departure_point",
            &message.departure_point,
            REFERENCE_LENGTH_MAX_CHARS,
        );
        let detail = AdmissionDetail::DepartureConfirmed(pb::DepartureConfirmation {
            departed_at: message.departed_at,
            departure_point: message.departure_point.clone(),
        });
        Some((
            AdmissionEventKind::DepartureConfirmed,
            Some(detail),
            StepChecks::default(),
        ))
    })
}

/// `ReportGrantLapsed`.
pub fn report_grant_lapsed(
    message: &pb::ReportGrantLapsedRequest,
    context: &RequestContext,
) -> Result<AdmissionStep, Invalid> {
    super::step(context, message, |_| {
        Some((AdmissionEventKind::GrantLapsed, None, StepChecks::default()))
    })
}

/// `GetAdmission`.
pub fn get_admission(
    message: &pb::GetAdmissionRequest,
    _: &RequestContext,
) -> Result<CaseRef, Invalid> {
    super::lone_reference::<AdmissionCase>(message)
}

/// `ListAdmissions`.
pub fn list_admissions(
    message: &pb::ListAdmissionsRequest,
    _: &RequestContext,
) -> Result<ListQuery<AdmissionFilter>, Invalid> {
    let page = (message.page_token.as_str(), message.page_size);
    super::list_query(
        CaseKind::Admission,
        &message.counterpart_state,
        page,
        |violations, counterpart| AdmissionFilter {
            counterpart,
            admitting: role(violations, message.role),
            statuses: fields::statuses(
                violations,
                &message.statuses,
                convert::admission_status_from_wire,
            ),
            offer_ref: if message.offer_ref.is_empty() {
                None
            } else {
                fields::reference_of_kind(
                    violations,
                    "offer_ref",
                    &message.offer_ref,
                    CaseKind::Offer,
                )
            },
            updated_since: fields::optional_time(
                violations,
                "updated_since",
                message.updated_since.as_ref(),
            ),
        },
    )
}

/// `ListAdmissionEvents`.
pub fn admission_history(
    message: &pb::ListAdmissionEventsRequest,
    _: &RequestContext,
) -> Result<(CaseRef, EventPageRequest), Invalid> {
    super::history_page::<AdmissionCase>(message)
}

/// Checks a nomination's fields.
fn nomination(
    violations: &mut Violations,
    message: &pb::NominateCandidateRequest,
    offer_ref: Option<&CaseRef>,
    now: Timestamp,
) {
    let _person = super::person_from_wire(violations, "person", message.person.as_ref(), now);
    short_text(
        violations,
        "expression_of_interest_reference",
        &message.expression_of_interest_reference,
        convert::REFERENCE_LENGTH_MAX_CHARS,
    );
    short_text(
        violations,
        "round_id",
        &message.round_id,
        convert::REFERENCE_LENGTH_MAX_CHARS,
    );
    if message.matched_readmission_ref.is_empty() {
        return;
    }
    let matched = fields::reference_of_kind(
        violations,
        "matched_readmission_ref",
        &message.matched_readmission_ref,
        CaseKind::Readmission,
    );
    if let (Some(matched), Some(offer_ref)) = (matched, offer_ref) {
        let pair = [offer_ref.first_state(), offer_ref.second_state()];
        if !(pair.contains(&matched.first_state()) && pair.contains(&matched.second_state())) {
            violations.add(
                "matched_readmission_ref",
                "must be a readmission between the offer's two states",
            );
        }
    }
}

super::step_responses! {
    AdmissionCase, AdmissionOutcome { admission }:
    pb::NominateCandidateResponse,
    pb::StartVettingResponse,
    pb::DecideAdmissionResponse,
    pb::WithdrawNominationResponse,
    pb::BookTravelResponse,
    pb::ReportArrivalResponse,
    pb::ConfirmDepartureResponse,
    pb::ReportGrantLapsedResponse,
}
