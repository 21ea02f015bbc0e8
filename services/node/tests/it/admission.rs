//! Admission between real nodes over mTLS: offers and admission cases end to end, both nodes
//! holding the same signed histories. The admitting state is the UK (GB), the origin state
//! France (FR), under UKFR_2025, unless a test says otherwise.

use accord_domain::Timestamp;
use accord_node::clock::Clock;
use accord_node::convert::to_wire_time;
use accord_proto::v1 as pb;
use accord_trust::PeerIdentity;

use crate::federation::{Federation, START_MILLIS, both_hold, state};
use crate::support::{DAY_MS, Step, assert_refused, bad_fields, step, time};

/// The federation's virtual clock, in milliseconds.
fn now(federation: &Federation) -> i64 {
    federation.clock.now().as_millis()
}

/// The two states of an offer's or an admission case's reference (`OFR-GB-FR-…`): the
/// admitting state, then the origin state.
fn parties(reference: &str) -> [&str; 2] {
    [&reference[4..6], &reference[7..9]]
}

/// A candidate whose keyed pseudonym is `pseudonym_byte` (two hex digits) repeated 32 times.
fn candidate(pseudonym_byte: &str) -> pb::PersonalData {
    pb::PersonalData {
        keyed_pseudonym: pseudonym_byte.repeat(32),
        nationality: "ER".into(),
        birth_year: 1998,
        vulnerable: false,
        family_ties: true,
    }
}

/// An offer of `capacity` places to people in `origin` under `regime`, open for 60 days
/// from the clock's start.
pub fn publish_request(
    key: &str,
    origin: &str,
    regime: pb::Regime,
    capacity: u32,
) -> pb::PublishOfferRequest {
    pb::PublishOfferRequest {
        idempotency_key: key.to_owned(),
        origin_state: origin.to_owned(),
        regime: regime as i32,
        capacity,
        window: Some(pb::TimeRange {
            start_time: Some(time(START_MILLIS)),
            end_time: Some(time(START_MILLIS + 60 * DAY_MS)),
        }),
        priority_rules_version: "2026-03".into(),
    }
}

/// A nomination under `offer_ref` of the [`candidate`] `pseudonym_byte` names.
pub fn nominate_request(
    key: &str,
    offer_ref: &str,
    pseudonym_byte: &str,
) -> pb::NominateCandidateRequest {
    pb::NominateCandidateRequest {
        idempotency_key: key.to_owned(),
        offer_ref: offer_ref.to_owned(),
        person: Some(candidate(pseudonym_byte)),
        expression_of_interest_reference: format!("EOI-{key}"),
        matched_readmission_ref: String::new(),
        round_id: String::new(),
    }
}

/// Publishes `request` on `admitting`'s node; returns the offer's reference once both
/// parties' nodes hold it alike.
pub async fn publish_offer(
    federation: &Federation,
    admitting: &str,
    request: pb::PublishOfferRequest,
) -> String {
    let mut client = federation.admission(admitting).await;
    let response = client.publish_offer(request).await.unwrap().into_inner();
    let offer_ref = response.offer.unwrap().offer_ref;
    offers_agree(federation, &offer_ref, |_| true).await;
    offer_ref
}

/// Publishes GB's offer of `capacity` places to people in FR under UKFR_2025.
async fn publish(federation: &Federation, key: &str, capacity: u32) -> String {
    let request = publish_request(key, "FR", pb::Regime::Ukfr2025, capacity);
    publish_offer(federation, "GB", request).await
}

async fn offer(federation: &Federation, code: &str, offer_ref: &str) -> Option<pb::Offer> {
    let request = pb::GetOfferRequest {
        offer_ref: offer_ref.to_owned(),
    };
    let answer = federation.admission(code).await.get_offer(request).await;
    answer.ok()?.into_inner().offer
}

async fn admission(
    federation: &Federation,
    code: &str,
    case_ref: &str,
) -> Option<pb::AdmissionCase> {
    let mut client = federation.admission(code).await;
    let request = pb::GetAdmissionRequest {
        case_ref: case_ref.to_owned(),
    };
    client
        .get_admission(request)
        .await
        .ok()?
        .into_inner()
        .admission
}

/// Waits until both parties hold the offer with the same history and `condition` holds on
/// it; returns the admitting state's copy.
async fn offers_agree(
    federation: &Federation,
    offer_ref: &str,
    condition: impl Fn(&pb::Offer) -> bool,
) -> pb::Offer {
    let what = format!("both parties hold {offer_ref} alike");
    let read = |code| offer(federation, code, offer_ref);
    both_hold(&what, parties(offer_ref), read, |one, other| {
        let same = (&one.events, one.status, one.used, one.capacity)
            == (&other.events, other.status, other.used, other.capacity);
        same && condition(one)
    })
    .await
}

/// Waits until both parties show the offer in `status`; returns the admitting state's copy.
async fn offer_reaches(
    federation: &Federation,
    offer_ref: &str,
    status: pb::OfferStatus,
) -> pb::Offer {
    offers_agree(federation, offer_ref, |offer| offer.status == status as i32).await
}

/// Waits until both parties show the case in `status` with the same history; returns the
/// admitting state's copy.
pub async fn both_reach(
    federation: &Federation,
    case_ref: &str,
    status: pb::AdmissionStatus,
) -> pb::AdmissionCase {
    let read = |code| admission(federation, code, case_ref);
    let agree = |one: &pb::AdmissionCase, other: &pb::AdmissionCase| {
        one.status == status as i32 && other.status == status as i32 && one.events == other.events
    };
    let what = format!("both parties show {case_ref} as {status:?}");
    both_hold(&what, parties(case_ref), read, agree).await
}

/// The admitting state nominates a candidate under `offer_ref`; returns the new case.
pub async fn nominate(federation: &Federation, offer_ref: &str, key: &str) -> String {
    let mut admitting = federation.admission(parties(offer_ref)[0]).await;
    let nomination = nominate_request(key, offer_ref, "c4");
    let response = admitting.nominate_candidate(nomination).await.unwrap();
    response.into_inner().admission.unwrap().case_ref
}

/// GB's offer of `capacity` places to people in FR, and a first nomination under it.
async fn nominated(federation: &Federation, capacity: u32) -> (String, String) {
    let offer_ref = publish(federation, "publish-1", capacity).await;
    let case_ref = nominate(federation, &offer_ref, "nominate-1").await;
    (offer_ref, case_ref)
}

/// The admitting state's decision to grant, with a visa valid until `visa_valid_until`.
fn grant_request(key: &str, case_ref: &str, visa_valid_until: i64) -> pb::DecideAdmissionRequest {
    let grant = pb::AdmissionGrant {
        visa_valid_until: Some(time(visa_valid_until)),
    };
    pb::DecideAdmissionRequest {
        decision: Some(pb::decide_admission_request::Decision::Grant(grant)),
        ..step(key, case_ref)
    }
}

/// The admitting state grants the case a visa valid for 80 days from now.
pub async fn grant(
    federation: &Federation,
    case_ref: &str,
    key: &str,
) -> pb::DecideAdmissionResponse {
    let mut admitting = federation.admission(parties(case_ref)[0]).await;
    let request = grant_request(key, case_ref, now(federation) + 80 * DAY_MS);
    admitting
        .decide_admission(request)
        .await
        .unwrap()
        .into_inner()
}

/// The admitting state reports the person's arrival now.
pub async fn report_arrival(federation: &Federation, case_ref: &str, key: &str) {
    let mut admitting = federation.admission(parties(case_ref)[0]).await;
    let report = pb::ReportArrivalRequest {
        arrived_at: Some(time(now(federation))),
        entry_point: "Dover".into(),
        ..step(key, case_ref)
    };
    admitting.report_arrival(report).await.unwrap();
}

/// The origin state confirms the person's departure now.
async fn confirm_departure(federation: &Federation, case_ref: &str, key: &str) {
    let mut origin = federation.admission(parties(case_ref)[1]).await;
    let departed_at = Some(time(now(federation)));
    let confirmation = pb::ConfirmDepartureRequest {
        departed_at,
        departure_point: "Calais".into(),
        ..step(key, case_ref)
    };
    origin.confirm_departure(confirmation).await.unwrap();
}

async fn admission_count(federation: &Federation, code: &str) -> usize {
    let mut client = federation.admission(code).await;
    let listing = pb::ListAdmissionsRequest::default();
    let listed = client.list_admissions(listing).await.unwrap();
    listed.into_inner().admissions.len()
}

/// The offers `code`'s node lists, without their histories.
async fn listed_offers(
    federation: &Federation,
    code: &str,
    request: pb::ListOffersRequest,
) -> Vec<pb::Offer> {
    let mut client = federation.admission(code).await;
    let listed = client.list_offers(request).await.unwrap();
    listed.into_inner().offers
}

fn kinds(events: &[pb::OfferEvent]) -> Vec<i32> {
    events.iter().map(|event| event.kind).collect()
}

fn pause(key: &str, offer_ref: &str, reason: pb::OfferPauseReason) -> pb::PauseOfferRequest {
    pb::PauseOfferRequest {
        idempotency_key: key.into(),
        offer_ref: offer_ref.into(),
        reason: reason as i32,
    }
}

fn resume(key: &str, offer_ref: &str) -> pb::ResumeOfferRequest {
    pb::ResumeOfferRequest {
        idempotency_key: key.into(),
        offer_ref: offer_ref.into(),
    }
}

fn amend(key: &str, offer_ref: &str, capacity: u32) -> pb::AmendOfferRequest {
    pb::AmendOfferRequest {
        idempotency_key: key.into(),
        offer_ref: offer_ref.into(),
        capacity: Some(capacity),
        window_end_time: None,
    }
}

fn close(key: &str, offer_ref: &str) -> pb::CloseOfferRequest {
    pb::CloseOfferRequest {
        idempotency_key: key.into(),
        offer_ref: offer_ref.into(),
    }
}

/// A booking by rail from Calais-Fréthun to Folkestone, leaving at `departure_time`.
fn travel(key: &str, case_ref: &str, departure_time: i64) -> pb::BookTravelRequest {
    let booking = pb::TravelBooking {
        departure_time: Some(time(departure_time)),
        transport_mode: pb::TransportMode::Rail as i32,
        departure_point: "Calais-Fréthun".into(),
        entry_point: "Folkestone".into(),
    };
    pb::BookTravelRequest {
        travel: Some(booking),
        ..step(key, case_ref)
    }
}

/// `code`'s caseworkers send `nomination`, which their node refuses; returns the refusal.
async fn refused_nomination(
    federation: &Federation,
    code: &str,
    nomination: pb::NominateCandidateRequest,
) -> tonic::Status {
    let mut caseworkers = federation.admission(code).await;
    let refused = caseworkers.nominate_candidate(nomination).await;
    refused.expect_err("the nomination is refused")
}

#[tokio::test]
async fn an_offer_published_by_gb_is_held_by_fr_with_the_same_signed_history() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let offer_ref = publish(&federation, "publish-1", 10).await;
    assert!(offer_ref.starts_with("OFR-GB-FR-"));
    let fr = offer(&federation, "FR", &offer_ref).await.unwrap();
    assert_eq!(fr.status, pb::OfferStatus::Open as i32);
    assert_eq!((fr.capacity, fr.used, fr.admitted), (10, 0, 0));
    assert_eq!(fr.admitting_state, "GB");
    assert_eq!(fr.priority_rules_version, "2026-03");
    assert_eq!(
        fr.window.unwrap().end_time,
        Some(time(START_MILLIS + 60 * DAY_MS)),
        "the window's exclusive end survives the round trip"
    );
    assert_eq!(fr.events.len(), 1);
    assert_eq!(fr.events[0].acting_state, "GB");
    assert_eq!(fr.events[0].signature.len(), 64);
    let in_role = |role: pb::AdmissionRole| pb::ListOffersRequest {
        role: role as i32,
        ..Default::default()
    };
    let as_origin = listed_offers(&federation, "FR", in_role(pb::AdmissionRole::Origin)).await;
    assert_eq!(as_origin.len(), 1);
    assert!(as_origin[0].events.is_empty(), "lists carry no history");
    let as_admitting = in_role(pb::AdmissionRole::Admitting);
    let admitting_only = listed_offers(&federation, "FR", as_admitting).await;
    assert!(admitting_only.is_empty(), "FR admits under no offer");
}

#[tokio::test]
async fn an_offer_is_paused_resumed_amended_and_closed_on_both_nodes() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let offer_ref = publish(&federation, "publish-1", 10).await;
    let mut gb = federation.admission("GB").await;
    let committee = pb::OfferPauseReason::JointCommittee;
    gb.pause_offer(pause("pause-1", &offer_ref, committee))
        .await
        .unwrap();
    let paused = offer_reaches(&federation, &offer_ref, pb::OfferStatus::Paused).await;
    assert_eq!(paused.pause_reason, committee as i32);
    gb.resume_offer(resume("resume-1", &offer_ref))
        .await
        .unwrap();
    offer_reaches(&federation, &offer_ref, pb::OfferStatus::Open).await;
    gb.amend_offer(amend("amend-1", &offer_ref, 25))
        .await
        .unwrap();
    offers_agree(&federation, &offer_ref, |offer| offer.capacity == 25).await;
    gb.close_offer(close("close-1", &offer_ref)).await.unwrap();
    let closed = offer_reaches(&federation, &offer_ref, pb::OfferStatus::Closed).await;
    use pb::OfferEventKind as K;
    assert_eq!(
        kinds(&closed.events),
        [K::Published, K::Paused, K::Resumed, K::Amended, K::Closed].map(|kind| kind as i32)
    );
    let refused = gb.resume_offer(resume("resume-2", &offer_ref)).await;
    let refused = refused.unwrap_err();
    assert_refused(
        &refused,
        tonic::Code::FailedPrecondition,
        "ILLEGAL_TRANSITION",
    );
}

#[tokio::test]
async fn a_nomination_goes_through_vetting_grant_travel_arrival_and_departure_on_both_nodes() {
    use pb::AdmissionStatus as Status;
    let federation = Federation::start(&["GB", "FR"]).await;
    let (offer_ref, case_ref) = nominated(&federation, 10).await;
    assert!(case_ref.starts_with("ADM-GB-FR-"));
    let nominated = both_reach(&federation, &case_ref, Status::Nominated).await;
    assert_eq!(nominated.offer_ref, offer_ref);
    let at_fr = admission(&federation, "FR", &case_ref).await.unwrap();
    assert_eq!(
        at_fr.person.unwrap().nationality,
        "ER",
        "the person travels from the admitting state to the origin state"
    );
    let claimed = offers_agree(&federation, &offer_ref, |offer| offer.used == 1).await;
    let claim = claimed.events.last().unwrap().kind;
    assert_eq!(claim, pb::OfferEventKind::SlotClaimed as i32);
    let mut gb = federation.admission("GB").await;
    gb.start_vetting(pb::StartVettingRequest::keyed("vetting-1", &case_ref))
        .await
        .unwrap();
    both_reach(&federation, &case_ref, Status::Vetting).await;
    let granted_at = now(&federation);
    let granted = grant(&federation, &case_ref, "grant-1").await;
    let visa_valid_until = granted.admission.unwrap().visa_valid_until.unwrap();
    let three_months_later = Timestamp::from_millis(granted_at)
        .unwrap()
        .plus(accord_domain::Period::Months(3));
    assert_eq!(visa_valid_until, to_wire_time(three_months_later));
    both_reach(&federation, &case_ref, Status::Granted).await;
    federation.clock.advance_days(5);
    let booking = travel("travel-1", &case_ref, now(&federation) + 2 * DAY_MS);
    gb.book_travel(booking).await.unwrap();
    let booked = both_reach(&federation, &case_ref, Status::TravelBooked).await;
    assert_eq!(booked.travel.unwrap().entry_point, "Folkestone");
    federation.clock.advance_days(2);
    report_arrival(&federation, &case_ref, "arrival-1").await;
    both_reach(&federation, &case_ref, Status::Arrived).await;
    confirm_departure(&federation, &case_ref, "departure-1").await;
    let confirmed = both_reach(&federation, &case_ref, Status::DepartureConfirmed).await;
    assert!(confirmed.departure_confirmation_required);
    assert!(confirmed.departed_at.is_some());
    use pb::AdmissionEventKind as K;
    let history: Vec<(i32, String)> = confirmed
        .events
        .iter()
        .map(|event| (event.kind, event.acting_state.clone()))
        .collect();
    let expected = [
        (K::Nominated, "GB"),
        (K::VettingStarted, "GB"),
        (K::Granted, "GB"),
        (K::TravelBooked, "GB"),
        (K::Arrived, "GB"),
        (K::DepartureConfirmed, "FR"),
    ]
    .map(|(kind, state)| (kind as i32, state.to_owned()));
    assert_eq!(history, expected);
    let admitted = offers_agree(&federation, &offer_ref, |offer| offer.admitted == 1).await;
    assert_eq!(admitted.used, 1, "an admission keeps its place");
}

#[tokio::test]
async fn a_refusal_releases_the_place_on_both_nodes_and_restores_the_capacity() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let (offer_ref, case_ref) = nominated(&federation, 1).await;
    offers_agree(&federation, &offer_ref, |offer| offer.used == 1).await;
    let security = pb::AdmissionRefusalReason::SecurityCheckFailed as i32;
    let refusal = pb::AdmissionRefusal {
        reasons: vec![security],
        detailed_reasons: "Failed the security check.".into(),
    };
    let mut gb = federation.admission("GB").await;
    let decision = pb::decide_admission_request::Decision::Refuse(refusal);
    let refusal = pb::DecideAdmissionRequest {
        decision: Some(decision),
        ..step("refuse-1", &case_ref)
    };
    gb.decide_admission(refusal).await.unwrap();
    let refused = both_reach(&federation, &case_ref, pb::AdmissionStatus::Refused).await;
    assert_eq!(refused.refusal_reasons, [security]);
    let released = offers_agree(&federation, &offer_ref, |offer| offer.used == 0).await;
    use pb::OfferEventKind as K;
    assert_eq!(
        kinds(&released.events),
        [K::Published, K::SlotClaimed, K::SlotReleased].map(|kind| kind as i32)
    );
    let second = nominate(&federation, &offer_ref, "nominate-2").await;
    both_reach(&federation, &second, pb::AdmissionStatus::Nominated).await;
}

#[tokio::test]
async fn a_withdrawn_nomination_releases_its_place() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let (offer_ref, case_ref) = nominated(&federation, 1).await;
    let mut gb = federation.admission("GB").await;
    let withdrew = pb::NominationWithdrawalReason::CandidateWithdrew;
    let withdrawal = pb::WithdrawNominationRequest {
        reason: withdrew as i32,
        ..step("withdraw-1", &case_ref)
    };
    gb.withdraw_nomination(withdrawal).await.unwrap();
    both_reach(&federation, &case_ref, pb::AdmissionStatus::Withdrawn).await;
    offers_agree(&federation, &offer_ref, |offer| {
        offer.used == 0 && offer.events.len() == 3
    })
    .await;
    let late = gb
        .start_vetting(pb::StartVettingRequest::keyed("vetting-1", &case_ref))
        .await;
    let late = late.unwrap_err();
    assert_refused(&late, tonic::Code::FailedPrecondition, "ILLEGAL_TRANSITION");
}

#[tokio::test]
async fn nominations_are_refused_on_a_full_paused_or_closed_offer_and_store_nothing() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let (offer_ref, _) = nominated(&federation, 1).await;
    let unavailable = async |key| {
        let nomination = nominate_request(key, &offer_ref, "d5");
        let refused = refused_nomination(&federation, "GB", nomination).await;
        assert_refused(
            &refused,
            tonic::Code::FailedPrecondition,
            "OFFER_NOT_AVAILABLE",
        );
    };
    unavailable("nominate-2").await;
    let mut gb = federation.admission("GB").await;
    gb.amend_offer(amend("amend-1", &offer_ref, 5))
        .await
        .unwrap();
    let capacity = pb::OfferPauseReason::Capacity;
    gb.pause_offer(pause("pause-1", &offer_ref, capacity))
        .await
        .unwrap();
    unavailable("nominate-3").await;
    gb.close_offer(close("close-1", &offer_ref)).await.unwrap();
    unavailable("nominate-4").await;
    assert_eq!(admission_count(&federation, "GB").await, 1);
    let offer = offer_reaches(&federation, &offer_ref, pb::OfferStatus::Closed).await;
    assert_eq!(offer.used, 1, "refused nominations claimed no place");
}

#[tokio::test]
async fn a_grant_lapses_on_the_virtual_clock_on_both_nodes_and_releases_its_place() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let (offer_ref, case_ref) = nominated(&federation, 3).await;
    grant(&federation, &case_ref, "grant-1").await;
    let granted = both_reach(&federation, &case_ref, pb::AdmissionStatus::Granted).await;
    let mut gb = federation.admission("GB").await;
    let early = gb
        .report_grant_lapsed(pb::ReportGrantLapsedRequest::keyed("lapse-1", &case_ref))
        .await;
    let early = early.expect_err("the visa still runs");
    assert_refused(
        &early,
        tonic::Code::FailedPrecondition,
        "ILLEGAL_TRANSITION",
    );
    federation.clock.advance_days(100);
    let lapsed = both_reach(&federation, &case_ref, pb::AdmissionStatus::GrantLapsed).await;
    let lapse = lapsed.events.last().unwrap();
    assert_eq!(lapse.acting_state, "GB", "A's clock records the lapse");
    assert_eq!(
        accord_edge::formats::event_key(&lapse.idempotency_key),
        Ok(accord_edge::formats::EventKey::Deadline {
            case_ref: accord_domain::CaseRef::parse(&case_ref).unwrap(),
            step: "ADMISSION_GRANT_LAPSED".into(),
        }),
        "a deadline's key, as both parties derive it"
    );
    let Some(pb::admission_event::Detail::GrantLapsed(detail)) = &lapse.detail else {
        panic!("GRANT_LAPSED carries the visa's validity");
    };
    assert_eq!(detail.visa_valid_until, granted.visa_valid_until);
    let offer = offers_agree(&federation, &offer_ref, |offer| offer.used == 0).await;
    for event in &offer.events {
        // Published at a caller's request, the slot claimed and released by the admitting
        // node itself: each under a pseudonym its node made.
        assert_eq!(
            accord_edge::formats::event_key(&event.idempotency_key),
            Ok(accord_edge::formats::EventKey::Pseudonym),
            "{}",
            event.idempotency_key
        );
    }
}

#[tokio::test]
async fn a_retried_nomination_makes_one_case_and_other_content_under_its_key_already_exists() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let (offer_ref, first) = nominated(&federation, 5).await;
    let again = nominate(&federation, &offer_ref, "nominate-1").await;
    assert_eq!(first, again, "the replay answers the first case");
    let other_person = nominate_request("nominate-1", &offer_ref, "e6");
    let reused = refused_nomination(&federation, "GB", other_person).await;
    assert_eq!(reused.code(), tonic::Code::AlreadyExists);
    both_reach(&federation, &first, pb::AdmissionStatus::Nominated).await;
    assert_eq!(admission_count(&federation, "GB").await, 1);
    assert_eq!(admission_count(&federation, "FR").await, 1);
    let offer = offers_agree(&federation, &offer_ref, |offer| offer.used == 1).await;
    assert_eq!(offer.events.len(), 2, "one SLOT_CLAIMED");
}

#[tokio::test]
async fn the_origin_states_gateway_cannot_publish_on_the_admitting_node_and_is_audited() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let fr_gateway = PeerIdentity::Gateway(state("FR"));
    let mut intruder = federation.admission_as(fr_gateway, "GB").await;
    let offer = publish_request("publish-1", "FR", pb::Regime::Ukfr2025, 10);
    let refused = intruder.publish_offer(offer).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied);
    let audit = federation.audit("GB").await;
    assert!(audit.iter().any(|record| {
        record.peer == "spiffe://accord/state/FR/gateway"
            && record.operation == "/accord.v1.AdmissionService/PublishOffer"
            && record.outcome == "PERMISSION_DENIED"
    }));
    let offers = listed_offers(&federation, "GB", pb::ListOffersRequest::default()).await;
    assert!(offers.is_empty(), "nothing was stored");
}

#[tokio::test]
async fn each_state_takes_only_its_own_steps_on_a_case() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let (offer_ref, case_ref) = nominated(&federation, 5).await;
    both_reach(&federation, &case_ref, pb::AdmissionStatus::Nominated).await;
    let mut fr = federation.admission("FR").await;
    let vetted = fr
        .start_vetting(pb::StartVettingRequest::keyed("vetting-1", &case_ref))
        .await;
    assert_eq!(vetted.unwrap_err().code(), tonic::Code::PermissionDenied);
    let capacity = pb::OfferPauseReason::Capacity;
    let paused = fr.pause_offer(pause("pause-1", &offer_ref, capacity)).await;
    assert_eq!(paused.unwrap_err().code(), tonic::Code::PermissionDenied);
    assert!(
        federation
            .audited("FR", "/accord.v1.AdmissionService/StartVetting")
            .await
    );
}

#[tokio::test]
async fn france_cannot_nominate_people_in_the_uk_under_ukfr_2025() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let to_the_uk = publish_request("publish-1", "GB", pb::Regime::Ukfr2025, 5);
    let offer_ref = publish_offer(&federation, "FR", to_the_uk).await;
    let nomination = nominate_request("nominate-1", &offer_ref, "f7");
    let refused = refused_nomination(&federation, "FR", nomination).await;
    assert_refused(&refused, tonic::Code::FailedPrecondition, "NO_AGREEMENT");
    assert_eq!(admission_count(&federation, "FR").await, 0);
    let offer = offer(&federation, "FR", &offer_ref).await.unwrap();
    assert_eq!(offer.used, 0);
}

#[tokio::test]
async fn an_offer_pauses_for_parity_once_admissions_run_ahead_of_returns() {
    // GB's limit for the pair with FR: strict one-for-one.
    let federation = Federation::start_with(&["GB", "FR"], &[("FR", "GB", 0)]).await;
    let (offer_ref, case_ref) = nominated(&federation, 5).await;
    grant(&federation, &case_ref, "grant-1").await;
    report_arrival(&federation, &case_ref, "arrival-1").await;
    both_reach(&federation, &case_ref, pb::AdmissionStatus::Arrived).await;
    confirm_departure(&federation, &case_ref, "departure-1").await;
    let departed = pb::AdmissionStatus::DepartureConfirmed;
    both_reach(&federation, &case_ref, departed).await;
    let nomination = nominate_request("nominate-2", &offer_ref, "a1");
    let refused = refused_nomination(&federation, "GB", nomination).await;
    assert_refused(
        &refused,
        tonic::Code::FailedPrecondition,
        "OFFER_NOT_AVAILABLE",
    );
    let paused = offer_reaches(&federation, &offer_ref, pb::OfferStatus::Paused).await;
    assert_eq!(
        paused.pause_reason,
        pb::OfferPauseReason::ParityNotReached as i32
    );
    assert_eq!(paused.used, 1, "the refused nomination claimed no place");
    assert_eq!(admission_count(&federation, "GB").await, 1);
}

#[tokio::test]
async fn invalid_requests_are_refused_field_by_field_and_store_nothing() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let mut gb = federation.admission("GB").await;
    let backwards = pb::TimeRange {
        start_time: Some(time(START_MILLIS + DAY_MS)),
        end_time: Some(time(START_MILLIS)),
    };
    let offer = pb::PublishOfferRequest {
        regime: 99,
        window: Some(backwards),
        ..publish_request("publish-1", "GB", pb::Regime::Ukfr2025, 0)
    };
    let refused = gb.publish_offer(offer).await.unwrap_err();
    let fields = bad_fields(&refused);
    for field in ["origin_state", "regime", "capacity", "window.end_time"] {
        assert!(fields.contains(&field.to_owned()), "{field} in {fields:?}");
    }
    let none = listed_offers(&federation, "GB", pb::ListOffersRequest::default()).await;
    assert!(none.is_empty());
    let offer_ref = publish(&federation, "publish-2", 5).await;
    let bad_person = pb::NominateCandidateRequest {
        matched_readmission_ref: "ADM-GB-FR-1".into(),
        ..nominate_request("nominate-1", &offer_ref, "zz")
    };
    let refused = gb.nominate_candidate(bad_person).await.unwrap_err();
    let fields = bad_fields(&refused);
    assert!(
        fields.iter().any(|name| name.starts_with("person")),
        "{fields:?}"
    );
    assert!(
        fields.iter().any(|name| name == "matched_readmission_ref"),
        "{fields:?}"
    );
    let case_ref = nominate(&federation, &offer_ref, "nominate-2").await;
    let unknown_reason = pb::AdmissionRefusal {
        reasons: vec![77],
        detailed_reasons: String::new(),
    };
    let refusal = pb::DecideAdmissionRequest {
        decision: Some(pb::decide_admission_request::Decision::Refuse(
            unknown_reason,
        )),
        ..grant_request("refuse-1", &case_ref, START_MILLIS)
    };
    let refused = gb.decide_admission(refusal).await.unwrap_err();
    assert_eq!(bad_fields(&refused), ["refuse.reasons[0]"]);
    let unknown_pause = pb::PauseOfferRequest {
        reason: 0,
        ..pause("pause-1", &offer_ref, pb::OfferPauseReason::Capacity)
    };
    let refused = gb.pause_offer(unknown_pause).await.unwrap_err();
    assert_eq!(bad_fields(&refused), ["reason"]);
    let unknown_filter = pb::ListAdmissionsRequest {
        statuses: vec![42],
        role: 9,
        ..Default::default()
    };
    let refused = gb.list_admissions(unknown_filter).await.unwrap_err();
    assert_eq!(bad_fields(&refused), ["role", "statuses[0]"]);
    let case = admission(&federation, "GB", &case_ref).await.unwrap();
    assert_eq!(case.status, pb::AdmissionStatus::Nominated as i32);
    assert_eq!(
        case.events.len(),
        1,
        "nothing was recorded from refused requests"
    );
    let a_long_visa = grant_request("grant-1", &case_ref, now(&federation) + 200 * DAY_MS);
    let too_long = gb.decide_admission(a_long_visa).await.unwrap_err();
    assert_eq!(
        bad_fields(&too_long),
        ["grant.visa_valid_until"],
        "UK–France visas run three months"
    );
    grant(&federation, &case_ref, "grant-2").await;
    let mut booking = travel("travel-1", &case_ref, now(&federation) + 200 * DAY_MS);
    let journey = booking.travel.as_mut().unwrap();
    journey.transport_mode = 17;
    let refused = gb.book_travel(booking.clone()).await.unwrap_err();
    assert_eq!(bad_fields(&refused), ["travel.transport_mode"]);
    booking.travel.as_mut().unwrap().transport_mode = pb::TransportMode::Sea as i32;
    let refused = gb.book_travel(booking).await.unwrap_err();
    // The departure falls after the visa's end.
    assert_refused(&refused, tonic::Code::FailedPrecondition, "DEADLINE_PASSED");
    let case = admission(&federation, "GB", &case_ref).await.unwrap();
    assert_eq!(case.status, pb::AdmissionStatus::Granted as i32);
    assert_eq!(case.events.len(), 2);
}

#[tokio::test]
async fn a_partner_node_delivers_only_its_own_signed_events() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let offer_ref = publish(&federation, "publish-1", 5).await;
    let fr_node = PeerIdentity::Node(state("FR"));
    let mut fr_as_node = federation.admission_as(fr_node, "GB").await;
    let gb_history = offer(&federation, "GB", &offer_ref).await.unwrap().events;
    let mut forged = gb_history[0].clone();
    forged.sequence = 2;
    forged.idempotency_key = "forged-1".into();
    let delivery = pb::DeliverOfferEventRequest {
        event: Some(forged),
    };
    let refused = fr_as_node.deliver_offer_event(delivery).await.unwrap_err();
    assert_eq!(
        refused.code(),
        tonic::Code::PermissionDenied,
        "FR's node may not deliver GB's events"
    );
    let history = pb::ListOfferEventsRequest {
        offer_ref: offer_ref.clone(),
        ..Default::default()
    };
    let events = fr_as_node.list_offer_events(history.clone()).await;
    assert_eq!(
        events.unwrap().into_inner().events,
        gb_history,
        "the partner of an offer reads its history"
    );
    let fr_gateway = PeerIdentity::Gateway(state("FR"));
    let mut fr_gateway_on_gb = federation.admission_as(fr_gateway, "GB").await;
    let refused = fr_gateway_on_gb.list_offer_events(history).await;
    assert_eq!(refused.unwrap_err().code(), tonic::Code::PermissionDenied);
    assert!(
        federation
            .audited("GB", "/accord.v1.AdmissionService/DeliverOfferEvent")
            .await
    );
}

/// FR's admission cases as `request` lists them.
async fn fr_lists(
    federation: &Federation,
    request: pb::ListAdmissionsRequest,
) -> pb::ListAdmissionsResponse {
    let mut fr = federation.admission("FR").await;
    fr.list_admissions(request).await.unwrap().into_inner()
}

/// The references of `cases`, sorted: the virtual clock stands still, so references made in
/// the same millisecond sort by their random part, and creation order is not theirs.
fn sorted_refs<'a>(cases: impl IntoIterator<Item = &'a pb::AdmissionCase>) -> Vec<&'a str> {
    let mut refs: Vec<&str> = cases
        .into_iter()
        .map(|case| case.case_ref.as_str())
        .collect();
    refs.sort_unstable();
    refs
}

#[tokio::test]
async fn lists_and_histories_filter_and_page_on_both_nodes() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let first_offer = publish(&federation, "publish-1", 5).await;
    let second_offer = publish(&federation, "publish-2", 5).await;
    let first_case = nominate(&federation, &first_offer, "nominate-1").await;
    let second_case = nominate(&federation, &second_offer, "nominate-2").await;
    let third_case = nominate(&federation, &second_offer, "nominate-3").await;
    grant(&federation, &third_case, "grant-3").await;
    both_reach(&federation, &third_case, pb::AdmissionStatus::Granted).await;
    both_reach(&federation, &first_case, pb::AdmissionStatus::Nominated).await;
    both_reach(&federation, &second_case, pb::AdmissionStatus::Nominated).await;
    let under_second = fr_lists(
        &federation,
        pb::ListAdmissionsRequest {
            offer_ref: second_offer.clone(),
            role: pb::AdmissionRole::Origin as i32,
            ..Default::default()
        },
    )
    .await
    .admissions;
    let mut expected = [second_case.as_str(), third_case.as_str()];
    expected.sort_unstable();
    assert_eq!(sorted_refs(&under_second), expected);
    assert!(under_second.iter().all(|case| case.person.is_none()));
    let granted = pb::ListAdmissionsRequest {
        statuses: vec![pb::AdmissionStatus::Granted as i32],
        ..Default::default()
    };
    let granted = fr_lists(&federation, granted).await.admissions;
    assert_eq!(granted.len(), 1);
    assert_eq!(granted[0].case_ref, third_case);
    let page = |page_token: &str| pb::ListAdmissionsRequest {
        page_size: 2,
        page_token: page_token.into(),
        ..Default::default()
    };
    let first_page = fr_lists(&federation, page("")).await;
    assert_eq!(first_page.admissions.len(), 2);
    let second_page = fr_lists(&federation, page(&first_page.next_page_token)).await;
    assert_eq!(second_page.admissions.len(), 1);
    assert!(second_page.next_page_token.is_empty());
    let paged: Vec<&str> = first_page
        .admissions
        .iter()
        .chain(&second_page.admissions)
        .map(|case| case.case_ref.as_str())
        .collect();
    // Newest first: by the creation time heading each reference's ID (characters 10 to 23 of
    // `ADM-GB-FR-…`), ties by the reference, both descending.
    let newest_first = |reference: &str| (reference[10..23].to_owned(), reference.to_owned());
    assert!(
        paged
            .windows(2)
            .all(|pair| newest_first(pair[0]) > newest_first(pair[1])),
        "pages follow newest first: {paged:?}"
    );
    let mut all = [
        first_case.as_str(),
        second_case.as_str(),
        third_case.as_str(),
    ];
    all.sort_unstable();
    assert_eq!(
        sorted_refs(first_page.admissions.iter().chain(&second_page.admissions)),
        all
    );
    let mut fr = federation.admission("FR").await;
    let one_event = |page_token: String| pb::ListAdmissionEventsRequest {
        case_ref: third_case.clone(),
        after_sequence: 0,
        page_size: 1,
        page_token,
    };
    let history = fr.list_admission_events(one_event(String::new())).await;
    let history = history.unwrap().into_inner();
    assert_eq!(history.events.len(), 1);
    assert_eq!(history.next_page_token, "1");
    let rest = fr
        .list_admission_events(one_event(history.next_page_token))
        .await;
    let rest = rest.unwrap().into_inner();
    assert_eq!(rest.events[0].kind, pb::AdmissionEventKind::Granted as i32);
    assert!(rest.next_page_token.is_empty());
}

#[tokio::test]
async fn history_reads_check_their_reference_and_page_token_and_page_to_the_end() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let (offer_ref, case_ref) = nominated(&federation, 5).await;
    let mut gb = federation.admission("GB").await;
    let case_as_offer = pb::ListOfferEventsRequest {
        offer_ref: case_ref.clone(),
        after_sequence: 2,
        page_size: 0,
        page_token: "1".into(),
    };
    let refused = gb.list_offer_events(case_as_offer).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    assert_eq!(
        bad_fields(&refused),
        ["offer_ref", "page_token"],
        "an admission case is not an offer, and a token before after_sequence is not ours"
    );
    let last = if case_ref.ends_with('0') { '1' } else { '0' };
    let unknown = pb::ListAdmissionEventsRequest {
        case_ref: format!("{}{last}", &case_ref[..case_ref.len() - 1]),
        ..Default::default()
    };
    let unknown = gb.list_admission_events(unknown).await.unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::NotFound);
    let offer_history = pb::ListOfferEventsRequest {
        offer_ref: offer_ref.clone(),
        ..Default::default()
    };
    let whole = gb
        .list_offer_events(offer_history)
        .await
        .unwrap()
        .into_inner();
    let sequences: Vec<u64> = whole.events.iter().map(|event| event.sequence).collect();
    assert_eq!(
        sequences,
        [1, 2],
        "PUBLISHED and the nomination's SLOT_CLAIMED, on the default page"
    );
    assert!(whole.next_page_token.is_empty());
    let after_the_first = pb::ListAdmissionEventsRequest {
        case_ref,
        after_sequence: 1,
        ..Default::default()
    };
    let beyond = gb.list_admission_events(after_the_first).await;
    let beyond = beyond.unwrap().into_inner();
    assert!(beyond.events.is_empty());
    assert!(beyond.next_page_token.is_empty());
}
