//! Offer and admission bodies to wire requests, and wire offers and cases to JSON.

use accord_proto::v1 as pb;
use tonic::Status;

use super::{
    Fields, code, code_or_empty, codes, non_empty, person_in, person_out, range_in, range_out, time,
};
use crate::json::admission as json;
use crate::json::{self as common, AllocationQuery, ListQuery};

/// `POST /v1/offers`.
pub fn publish(key: String, body: &json::PublishOffer) -> Result<pb::PublishOfferRequest, Status> {
    let mut fields = Fields::new();
    let request = pb::PublishOfferRequest {
        idempotency_key: key,
        origin_state: body.origin_state.clone(),
        regime: fields.code::<pb::Regime>("regime", &body.regime),
        capacity: body.capacity,
        window: Some(range_in(&mut fields, "window", &body.window)),
        priority_rules_version: body.priority_rules_version.clone(),
    };
    fields.finish(request)
}

/// `POST /v1/offers/{offer_ref}/amendments`.
pub fn amend(
    key: String,
    offer_ref: String,
    body: &json::AmendOffer,
) -> Result<pb::AmendOfferRequest, Status> {
    let mut fields = Fields::new();
    let window_end_time = fields.optional_time("window_end_time", body.window_end_time.as_deref());
    fields.finish(pb::AmendOfferRequest {
        idempotency_key: key,
        offer_ref,
        capacity: body.capacity,
        window_end_time,
    })
}

/// `POST /v1/offers/{offer_ref}/pause`.
pub fn pause(
    key: String,
    offer_ref: String,
    body: &json::PauseOffer,
) -> Result<pb::PauseOfferRequest, Status> {
    let mut fields = Fields::new();
    let reason = fields.code::<pb::OfferPauseReason>("reason", &body.reason);
    fields.finish(pb::PauseOfferRequest {
        idempotency_key: key,
        offer_ref,
        reason,
    })
}

/// `POST /v1/admissions`.
pub fn nominate(
    key: String,
    body: &json::Nominate,
) -> Result<pb::NominateCandidateRequest, Status> {
    Ok(pb::NominateCandidateRequest {
        idempotency_key: key,
        offer_ref: body.offer_ref.clone(),
        person: Some(person_in(&body.person)),
        expression_of_interest_reference: body.expression_of_interest_reference.clone(),
        matched_readmission_ref: body.matched_readmission_ref.clone(),
        round_id: body.round_id.clone(),
    })
}

/// `POST /v1/admissions/{case_ref}/decision`.
pub fn decide(
    key: String,
    case_ref: String,
    body: &json::AdmissionDecision,
) -> Result<pb::DecideAdmissionRequest, Status> {
    use pb::decide_admission_request::Decision;
    let mut fields = Fields::new();
    let decision = match body {
        json::AdmissionDecision::Grant { visa_valid_until } => {
            Decision::Grant(pb::AdmissionGrant {
                visa_valid_until: fields.time("visa_valid_until", visa_valid_until),
            })
        }
        json::AdmissionDecision::Refuse {
            reasons,
            detailed_reasons,
        } => Decision::Refuse(pb::AdmissionRefusal {
            reasons: fields.codes::<pb::AdmissionRefusalReason>("reasons", reasons),
            detailed_reasons: detailed_reasons.clone(),
        }),
    };
    fields.finish(pb::DecideAdmissionRequest {
        idempotency_key: key,
        case_ref,
        decision: Some(decision),
    })
}

/// `POST /v1/admissions/{case_ref}/withdrawal`.
pub fn withdraw(
    key: String,
    case_ref: String,
    body: &json::WithdrawNomination,
) -> Result<pb::WithdrawNominationRequest, Status> {
    let mut fields = Fields::new();
    let reason = fields.code::<pb::NominationWithdrawalReason>("reason", &body.reason);
    fields.finish(pb::WithdrawNominationRequest {
        idempotency_key: key,
        case_ref,
        reason,
        note: body.note.clone(),
    })
}

/// `POST /v1/admissions/{case_ref}/travel`.
pub fn book_travel(
    key: String,
    case_ref: String,
    body: &json::Travel,
) -> Result<pb::BookTravelRequest, Status> {
    let mut fields = Fields::new();
    let travel = pb::TravelBooking {
        departure_time: fields.time("travel.departure_time", &body.departure_time),
        transport_mode: fields.optional_code::<pb::TransportMode>(
            "travel.transport_mode",
            body.transport_mode.as_deref(),
        ),
        departure_point: body.departure_point.clone(),
        entry_point: body.entry_point.clone(),
    };
    fields.finish(pb::BookTravelRequest {
        idempotency_key: key,
        case_ref,
        travel: Some(travel),
    })
}

/// `POST /v1/admissions/{case_ref}/arrival`.
pub fn report_arrival(
    key: String,
    case_ref: String,
    body: &json::ReportArrival,
) -> Result<pb::ReportArrivalRequest, Status> {
    let mut fields = Fields::new();
    let arrived_at = fields.time("arrived_at", &body.arrived_at);
    fields.finish(pb::ReportArrivalRequest {
        idempotency_key: key,
        case_ref,
        arrived_at,
        entry_point: body.entry_point.clone(),
    })
}

/// `POST /v1/admissions/{case_ref}/departure`.
pub fn confirm_departure(
    key: String,
    case_ref: String,
    body: &json::ConfirmDeparture,
) -> Result<pb::ConfirmDepartureRequest, Status> {
    let mut fields = Fields::new();
    let departed_at = fields.time("departed_at", &body.departed_at);
    fields.finish(pb::ConfirmDepartureRequest {
        idempotency_key: key,
        case_ref,
        departed_at,
        departure_point: body.departure_point.clone(),
    })
}

/// `GET /v1/offers`.
pub fn list_offers(query: &ListQuery) -> Result<pb::ListOffersRequest, Status> {
    let mut fields = Fields::new();
    let filters = super::list_filters::<pb::AdmissionRole, pb::OfferStatus>(&mut fields, query);
    if query.updated_since.is_some() {
        fields.invalid("updated_since", "offers are not filtered by update time");
    }
    fields.finish(pb::ListOffersRequest {
        page_size: query.page_size.unwrap_or(0),
        page_token: query.page_token.clone().unwrap_or_default(),
        counterpart_state: query.counterpart_state.clone().unwrap_or_default(),
        role: filters.role,
        statuses: filters.statuses,
    })
}

/// `GET /v1/admissions`.
pub fn list_admissions(query: &ListQuery) -> Result<pb::ListAdmissionsRequest, Status> {
    let mut fields = Fields::new();
    let filters = super::list_filters::<pb::AdmissionRole, pb::AdmissionStatus>(&mut fields, query);
    fields.finish(pb::ListAdmissionsRequest {
        page_size: query.page_size.unwrap_or(0),
        page_token: query.page_token.clone().unwrap_or_default(),
        counterpart_state: query.counterpart_state.clone().unwrap_or_default(),
        role: filters.role,
        statuses: filters.statuses,
        offer_ref: query.offer_ref.clone().unwrap_or_default(),
        updated_since: filters.updated_since,
    })
}

/// An offer as JSON shows it.
pub fn offer(offer: &pb::Offer) -> json::Offer {
    json::Offer {
        offer_ref: offer.offer_ref.clone(),
        admitting_state: offer.admitting_state.clone(),
        origin_state: offer.origin_state.clone(),
        regime: code_or_empty::<pb::Regime>(offer.regime),
        capacity: offer.capacity,
        used: offer.used,
        admitted: offer.admitted,
        window: offer.window.as_ref().map(range_out),
        status: code_or_empty::<pb::OfferStatus>(offer.status),
        pause_reason: code::<pb::OfferPauseReason>(offer.pause_reason),
        priority_rules_version: offer.priority_rules_version.clone(),
        published_at: time(offer.published_at.as_ref()),
        last_sequence: offer.last_sequence,
        updated_at: time(offer.updated_at.as_ref()),
        pending_event_count: offer.pending_event_count,
        events: offer.events.iter().map(offer_event).collect(),
    }
}

fn offer_event(event: &pb::OfferEvent) -> common::Event {
    super::event::<pb::OfferEventKind>(
        event.kind,
        event.sequence,
        &event.acting_state,
        event.occurred_at.as_ref(),
        (&event.signing_key_id, &event.signature),
    )
}

/// An admission case as JSON shows it.
pub fn case(case: &pb::AdmissionCase) -> json::AdmissionCase {
    json::AdmissionCase {
        case_ref: case.case_ref.clone(),
        offer_ref: case.offer_ref.clone(),
        admitting_state: case.admitting_state.clone(),
        origin_state: case.origin_state.clone(),
        regime: code_or_empty::<pb::Regime>(case.regime),
        status: code_or_empty::<pb::AdmissionStatus>(case.status),
        departure_confirmation_required: case.departure_confirmation_required,
        person: case.person.as_ref().map(person_out),
        expression_of_interest_reference: case.expression_of_interest_reference.clone(),
        matched_readmission_ref: case.matched_readmission_ref.clone(),
        round_id: case.round_id.clone(),
        nominated_at: time(case.nominated_at.as_ref()),
        decided_at: time(case.decided_at.as_ref()),
        visa_valid_until: time(case.visa_valid_until.as_ref()),
        refusal_reasons: codes::<pb::AdmissionRefusalReason>(&case.refusal_reasons),
        travel: case.travel.as_ref().map(travel),
        arrived_at: time(case.arrived_at.as_ref()),
        departed_at: time(case.departed_at.as_ref()),
        last_sequence: case.last_sequence,
        updated_at: time(case.updated_at.as_ref()),
        pending_event_count: case.pending_event_count,
        events: case.events.iter().map(admission_event).collect(),
    }
}

fn travel(travel: &pb::TravelBooking) -> json::Travel {
    json::Travel {
        departure_time: time(travel.departure_time.as_ref()).unwrap_or_default(),
        transport_mode: code::<pb::TransportMode>(travel.transport_mode),
        departure_point: travel.departure_point.clone(),
        entry_point: travel.entry_point.clone(),
    }
}

fn admission_event(event: &pb::AdmissionEvent) -> common::Event {
    super::event::<pb::AdmissionEventKind>(
        event.kind,
        event.sequence,
        &event.acting_state,
        event.occurred_at.as_ref(),
        (&event.signing_key_id, &event.signature),
    )
}

/// An offer step's answer.
pub fn offer_step(
    offer_now: Option<pb::Offer>,
    recorded: Option<pb::OfferEvent>,
) -> json::OfferStep {
    json::OfferStep {
        offer: offer(&offer_now.unwrap_or_default()),
        event: offer_event(&recorded.unwrap_or_default()),
    }
}

/// An admission step's answer.
pub fn step(
    admission: Option<pb::AdmissionCase>,
    recorded: Option<pb::AdmissionEvent>,
) -> json::AdmissionStep {
    json::AdmissionStep {
        admission: case(&admission.unwrap_or_default()),
        event: admission_event(&recorded.unwrap_or_default()),
    }
}

/// A page of offers.
pub fn offer_page(response: pb::ListOffersResponse) -> json::OfferPage {
    json::OfferPage {
        offers: response.offers.iter().map(offer).collect(),
        next_page_token: non_empty(response.next_page_token),
    }
}

/// A page of admission cases.
pub fn admission_page(response: pb::ListAdmissionsResponse) -> json::AdmissionPage {
    json::AdmissionPage {
        admissions: response.admissions.iter().map(case).collect(),
        next_page_token: non_empty(response.next_page_token),
    }
}

/// `GET /v1/allocations`.
pub fn list_allocations(query: &AllocationQuery) -> Result<pb::ListAllocationsRequest, Status> {
    let mut fields = Fields::new();
    let role = fields.optional_code::<pb::AdmissionRole>("role", query.role.as_deref());
    fields.finish(pb::ListAllocationsRequest {
        page_size: query.page_size.unwrap_or(0),
        page_token: query.page_token.clone().unwrap_or_default(),
        role,
        round_id: query.round_id.clone().unwrap_or_default(),
    })
}

/// A page of allocations.
pub fn allocation_page(response: pb::ListAllocationsResponse) -> json::AllocationPage {
    json::AllocationPage {
        allocations: response.allocations.iter().map(allocation).collect(),
        next_page_token: non_empty(response.next_page_token),
    }
}

fn allocation(allocation: &pb::Allocation) -> json::Allocation {
    json::Allocation {
        round_id: allocation.round_id.clone(),
        report_version: allocation.report_version,
        admitting_state: allocation.admitting_state.clone(),
        origin_state: allocation.origin_state.clone(),
        count: allocation.count,
        redirected: allocation.redirected,
        perform_by: time(allocation.perform_by.as_ref()),
        period: allocation.period.as_ref().map(range_out),
        recorded_at: time(allocation.recorded_at.as_ref()),
    }
}
