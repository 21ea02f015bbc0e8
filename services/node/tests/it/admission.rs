//! Admission between real nodes over mTLS: offers and admission cases end to end, both nodes
//! holding the same signed histories. The admitting state is the UK (GB), the origin state
//! France (FR), under UKFR_2025, unless a test says otherwise.

use accord_domain::Timestamp;
use accord_node::clock::Clock;
use accord_node::convert::to_wire_time;
use accord_proto::v1 as pb;
use accord_proto::v1::admission_service_client::AdmissionServiceClient;
use accord_trust::PeerIdentity;
use tonic::transport::Channel;
use tonic_types::StatusExt;

use crate::federation::{Federation, START_MILLIS, eventually, state};

const DAY_MS: i64 = 24 * 60 * 60 * 1_000;

fn time(millis: i64) -> prost_types::Timestamp {
    to_wire_time(Timestamp::from_millis(millis).unwrap())
}

/// The federation's virtual clock, in milliseconds.
fn now(federation: &Federation) -> i64 {
    federation.clock.now().as_millis()
}

/// `code`'s admission service, called by `code`'s own gateway (its caseworkers).
async fn admission_client(federation: &Federation, code: &str) -> AdmissionServiceClient<Channel> {
    AdmissionServiceClient::new(
        federation
            .channel_as(PeerIdentity::Gateway(state(code)), code)
            .await,
    )
}

fn person(pseudonym_byte: &str) -> pb::PersonalData {
    pb::PersonalData {
        keyed_pseudonym: pseudonym_byte.repeat(32),
        nationality: "ER".into(),
        birth_year: 1998,
        vulnerable: false,
        family_ties: true,
    }
}

fn publish_request(key: &str, origin: &str, capacity: u32) -> pb::PublishOfferRequest {
    pb::PublishOfferRequest {
        idempotency_key: key.to_owned(),
        origin_state: origin.to_owned(),
        regime: pb::Regime::Ukfr2025 as i32,
        capacity,
        window: Some(pb::TimeRange {
            start_time: Some(time(START_MILLIS)),
            end_time: Some(time(START_MILLIS + 60 * DAY_MS)),
        }),
        priority_rules_version: "2026-03".into(),
    }
}

fn nominate_request(
    key: &str,
    offer_ref: &str,
    pseudonym_byte: &str,
) -> pb::NominateCandidateRequest {
    pb::NominateCandidateRequest {
        idempotency_key: key.to_owned(),
        offer_ref: offer_ref.to_owned(),
        person: Some(person(pseudonym_byte)),
        expression_of_interest_reference: format!("EOI-{key}"),
        matched_readmission_ref: String::new(),
        round_id: String::new(),
    }
}

/// Publishes an offer by `admitting` to people in `origin` and returns its reference once
/// both nodes hold it.
async fn publish(
    federation: &Federation,
    admitting: &str,
    origin: &str,
    key: &str,
    capacity: u32,
) -> String {
    let mut client = admission_client(federation, admitting).await;
    let response = client
        .publish_offer(publish_request(key, origin, capacity))
        .await
        .unwrap()
        .into_inner();
    let offer_ref = response.offer.unwrap().offer_ref;
    offers_agree(federation, admitting, origin, &offer_ref, |_| true).await;
    offer_ref
}

async fn offer(federation: &Federation, code: &str, offer_ref: &str) -> Option<pb::Offer> {
    let mut client = admission_client(federation, code).await;
    client
        .get_offer(pb::GetOfferRequest {
            offer_ref: offer_ref.to_owned(),
        })
        .await
        .ok()
        .and_then(|response| response.into_inner().offer)
}

async fn admission(
    federation: &Federation,
    code: &str,
    case_ref: &str,
) -> Option<pb::AdmissionCase> {
    let mut client = admission_client(federation, code).await;
    client
        .get_admission(pb::GetAdmissionRequest {
            case_ref: case_ref.to_owned(),
        })
        .await
        .ok()
        .and_then(|response| response.into_inner().admission)
}

/// Waits until both nodes hold the offer with the same history and `condition` holds on it.
async fn offers_agree(
    federation: &Federation,
    first: &str,
    second: &str,
    offer_ref: &str,
    condition: impl Fn(&pb::Offer) -> bool,
) -> pb::Offer {
    let agreed = std::sync::Mutex::new(None);
    eventually(
        &format!("{first} and {second} hold {offer_ref} alike"),
        || async {
            let (Some(one), Some(other)) = (
                offer(federation, first, offer_ref).await,
                offer(federation, second, offer_ref).await,
            ) else {
                return false;
            };
            let same = one.events == other.events
                && one.status == other.status
                && one.used == other.used
                && one.capacity == other.capacity;
            if same && condition(&one) {
                *agreed.lock().unwrap() = Some(one);
                return true;
            }
            false
        },
    )
    .await;
    agreed.into_inner().unwrap().unwrap()
}

/// Waits until GB and FR both show the case in `status` with the same history.
async fn both_reach(
    federation: &Federation,
    case_ref: &str,
    status: pb::AdmissionStatus,
) -> pb::AdmissionCase {
    let reached = std::sync::Mutex::new(None);
    eventually(
        &format!("GB and FR both show {case_ref} as {status:?}"),
        || async {
            let (Some(gb), Some(fr)) = (
                admission(federation, "GB", case_ref).await,
                admission(federation, "FR", case_ref).await,
            ) else {
                return false;
            };
            let agree =
                gb.status == status as i32 && fr.status == status as i32 && gb.events == fr.events;
            if agree {
                *reached.lock().unwrap() = Some(gb);
            }
            agree
        },
    )
    .await;
    reached.into_inner().unwrap().unwrap()
}

async fn nominate(federation: &Federation, offer_ref: &str, key: &str) -> String {
    let mut gb = admission_client(federation, "GB").await;
    let response = gb
        .nominate_candidate(nominate_request(key, offer_ref, "c4"))
        .await
        .unwrap()
        .into_inner();
    response.admission.unwrap().case_ref
}

async fn grant(federation: &Federation, case_ref: &str, key: &str) -> pb::DecideAdmissionResponse {
    let mut gb = admission_client(federation, "GB").await;
    gb.decide_admission(pb::DecideAdmissionRequest {
        idempotency_key: key.to_owned(),
        case_ref: case_ref.to_owned(),
        decision: Some(pb::decide_admission_request::Decision::Grant(
            pb::AdmissionGrant {
                visa_valid_until: Some(time(now(federation) + 80 * DAY_MS)),
            },
        )),
    })
    .await
    .unwrap()
    .into_inner()
}

async fn report_arrival(federation: &Federation, case_ref: &str, key: &str) {
    let mut gb = admission_client(federation, "GB").await;
    gb.report_arrival(pb::ReportArrivalRequest {
        idempotency_key: key.to_owned(),
        case_ref: case_ref.to_owned(),
        arrived_at: Some(time(now(federation))),
        entry_point: "Dover".into(),
    })
    .await
    .unwrap();
}

async fn confirm_departure(federation: &Federation, case_ref: &str, key: &str) {
    let mut fr = admission_client(federation, "FR").await;
    fr.confirm_departure(pb::ConfirmDepartureRequest {
        idempotency_key: key.to_owned(),
        case_ref: case_ref.to_owned(),
        departed_at: Some(time(now(federation))),
        departure_point: "Calais".into(),
    })
    .await
    .unwrap();
}

fn reason(status: &tonic::Status) -> String {
    status
        .get_error_details()
        .error_info()
        .map(|info| info.reason.clone())
        .unwrap_or_default()
}

fn violated_fields(status: &tonic::Status) -> Vec<String> {
    status
        .get_error_details()
        .bad_request()
        .map(|bad_request| {
            bad_request
                .field_violations
                .iter()
                .map(|violation| violation.field.clone())
                .collect()
        })
        .unwrap_or_default()
}

async fn admission_count(federation: &Federation, code: &str) -> usize {
    let mut client = admission_client(federation, code).await;
    client
        .list_admissions(pb::ListAdmissionsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .admissions
        .len()
}

fn kinds(events: &[pb::OfferEvent]) -> Vec<i32> {
    events.iter().map(|event| event.kind).collect()
}

#[tokio::test]
async fn an_offer_published_by_gb_is_held_by_fr_with_the_same_signed_history() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let offer_ref = publish(&federation, "GB", "FR", "publish-1", 10).await;
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
    let mut fr_gateway = admission_client(&federation, "FR").await;
    let listed = fr_gateway
        .list_offers(pb::ListOffersRequest {
            role: pb::AdmissionRole::Origin as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.offers.len(), 1);
    assert!(listed.offers[0].events.is_empty(), "lists carry no history");
    let admitting_only = fr_gateway
        .list_offers(pb::ListOffersRequest {
            role: pb::AdmissionRole::Admitting as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(admitting_only.offers.is_empty(), "FR admits under no offer");
}

#[tokio::test]
async fn an_offer_is_paused_resumed_amended_and_closed_on_both_nodes() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let offer_ref = publish(&federation, "GB", "FR", "publish-1", 10).await;
    let mut gb = admission_client(&federation, "GB").await;
    gb.pause_offer(pb::PauseOfferRequest {
        idempotency_key: "pause-1".into(),
        offer_ref: offer_ref.clone(),
        reason: pb::OfferPauseReason::JointCommittee as i32,
    })
    .await
    .unwrap();
    let paused = offers_agree(&federation, "GB", "FR", &offer_ref, |offer| {
        offer.status == pb::OfferStatus::Paused as i32
    })
    .await;
    assert_eq!(
        paused.pause_reason,
        pb::OfferPauseReason::JointCommittee as i32
    );
    gb.resume_offer(pb::ResumeOfferRequest {
        idempotency_key: "resume-1".into(),
        offer_ref: offer_ref.clone(),
    })
    .await
    .unwrap();
    offers_agree(&federation, "GB", "FR", &offer_ref, |offer| {
        offer.status == pb::OfferStatus::Open as i32
    })
    .await;
    gb.amend_offer(pb::AmendOfferRequest {
        idempotency_key: "amend-1".into(),
        offer_ref: offer_ref.clone(),
        capacity: Some(25),
        window_end_time: None,
    })
    .await
    .unwrap();
    offers_agree(&federation, "GB", "FR", &offer_ref, |offer| {
        offer.capacity == 25
    })
    .await;
    gb.close_offer(pb::CloseOfferRequest {
        idempotency_key: "close-1".into(),
        offer_ref: offer_ref.clone(),
    })
    .await
    .unwrap();
    let closed = offers_agree(&federation, "GB", "FR", &offer_ref, |offer| {
        offer.status == pb::OfferStatus::Closed as i32
    })
    .await;
    use pb::OfferEventKind as K;
    assert_eq!(
        kinds(&closed.events),
        [K::Published, K::Paused, K::Resumed, K::Amended, K::Closed].map(|kind| kind as i32)
    );
    let refused = gb
        .resume_offer(pb::ResumeOfferRequest {
            idempotency_key: "resume-2".into(),
            offer_ref: offer_ref.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::FailedPrecondition);
    assert_eq!(reason(&refused), "ILLEGAL_TRANSITION");
}

#[tokio::test]
async fn a_nomination_goes_through_vetting_grant_travel_arrival_and_departure_on_both_nodes() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let offer_ref = publish(&federation, "GB", "FR", "publish-1", 10).await;
    let case_ref = nominate(&federation, &offer_ref, "nominate-1").await;
    assert!(case_ref.starts_with("ADM-GB-FR-"));
    let nominated = both_reach(&federation, &case_ref, pb::AdmissionStatus::Nominated).await;
    assert_eq!(nominated.offer_ref, offer_ref);
    let at_fr = admission(&federation, "FR", &case_ref).await.unwrap();
    assert_eq!(
        at_fr.person.unwrap().nationality,
        "ER",
        "the person travels from the admitting state to the origin state"
    );
    let claimed = offers_agree(&federation, "GB", "FR", &offer_ref, |offer| offer.used == 1).await;
    assert_eq!(
        claimed.events.last().unwrap().kind,
        pb::OfferEventKind::SlotClaimed as i32
    );
    let mut gb = admission_client(&federation, "GB").await;
    gb.start_vetting(pb::StartVettingRequest {
        idempotency_key: "vetting-1".into(),
        case_ref: case_ref.clone(),
    })
    .await
    .unwrap();
    both_reach(&federation, &case_ref, pb::AdmissionStatus::Vetting).await;
    let granted_at = now(&federation);
    let granted = grant(&federation, &case_ref, "grant-1").await;
    let visa_valid_until = granted.admission.unwrap().visa_valid_until.unwrap();
    let three_months_later = Timestamp::from_millis(granted_at)
        .unwrap()
        .plus(accord_domain::Period::Months(3));
    assert_eq!(visa_valid_until, to_wire_time(three_months_later));
    both_reach(&federation, &case_ref, pb::AdmissionStatus::Granted).await;
    federation.clock.advance_days(5);
    gb.book_travel(pb::BookTravelRequest {
        idempotency_key: "travel-1".into(),
        case_ref: case_ref.clone(),
        travel: Some(pb::TravelBooking {
            departure_time: Some(time(now(&federation) + 2 * DAY_MS)),
            transport_mode: pb::TransportMode::Rail as i32,
            departure_point: "Calais-Fréthun".into(),
            entry_point: "Folkestone".into(),
        }),
    })
    .await
    .unwrap();
    let booked = both_reach(&federation, &case_ref, pb::AdmissionStatus::TravelBooked).await;
    assert_eq!(booked.travel.unwrap().entry_point, "Folkestone");
    federation.clock.advance_days(2);
    report_arrival(&federation, &case_ref, "arrival-1").await;
    both_reach(&federation, &case_ref, pb::AdmissionStatus::Arrived).await;
    confirm_departure(&federation, &case_ref, "departure-1").await;
    let confirmed = both_reach(
        &federation,
        &case_ref,
        pb::AdmissionStatus::DepartureConfirmed,
    )
    .await;
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
    let admitted = offers_agree(&federation, "GB", "FR", &offer_ref, |offer| {
        offer.admitted == 1
    })
    .await;
    assert_eq!(admitted.used, 1, "an admission keeps its place");
}

#[tokio::test]
async fn a_refusal_releases_the_place_on_both_nodes_and_restores_the_capacity() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let offer_ref = publish(&federation, "GB", "FR", "publish-1", 1).await;
    let case_ref = nominate(&federation, &offer_ref, "nominate-1").await;
    offers_agree(&federation, "GB", "FR", &offer_ref, |offer| offer.used == 1).await;
    let mut gb = admission_client(&federation, "GB").await;
    gb.decide_admission(pb::DecideAdmissionRequest {
        idempotency_key: "refuse-1".into(),
        case_ref: case_ref.clone(),
        decision: Some(pb::decide_admission_request::Decision::Refuse(
            pb::AdmissionRefusal {
                reasons: vec![pb::AdmissionRefusalReason::SecurityCheckFailed as i32],
                detailed_reasons: "Failed the security check.".into(),
            },
        )),
    })
    .await
    .unwrap();
    let refused = both_reach(&federation, &case_ref, pb::AdmissionStatus::Refused).await;
    assert_eq!(
        refused.refusal_reasons,
        [pb::AdmissionRefusalReason::SecurityCheckFailed as i32]
    );
    let released = offers_agree(&federation, "GB", "FR", &offer_ref, |offer| offer.used == 0).await;
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
    let offer_ref = publish(&federation, "GB", "FR", "publish-1", 1).await;
    let case_ref = nominate(&federation, &offer_ref, "nominate-1").await;
    let mut gb = admission_client(&federation, "GB").await;
    gb.withdraw_nomination(pb::WithdrawNominationRequest {
        idempotency_key: "withdraw-1".into(),
        case_ref: case_ref.clone(),
        reason: pb::NominationWithdrawalReason::CandidateWithdrew as i32,
        note: String::new(),
    })
    .await
    .unwrap();
    both_reach(&federation, &case_ref, pb::AdmissionStatus::Withdrawn).await;
    offers_agree(&federation, "GB", "FR", &offer_ref, |offer| {
        offer.used == 0 && offer.events.len() == 3
    })
    .await;
    let late = gb
        .start_vetting(pb::StartVettingRequest {
            idempotency_key: "vetting-1".into(),
            case_ref: case_ref.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(late.code(), tonic::Code::FailedPrecondition);
    assert_eq!(reason(&late), "ILLEGAL_TRANSITION");
}

#[tokio::test]
async fn nominations_are_refused_on_a_full_paused_or_closed_offer_and_store_nothing() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let offer_ref = publish(&federation, "GB", "FR", "publish-1", 1).await;
    nominate(&federation, &offer_ref, "nominate-1").await;
    let mut gb = admission_client(&federation, "GB").await;
    let full = gb
        .nominate_candidate(nominate_request("nominate-2", &offer_ref, "d5"))
        .await
        .unwrap_err();
    assert_eq!(full.code(), tonic::Code::FailedPrecondition);
    assert_eq!(reason(&full), "OFFER_NOT_AVAILABLE");
    gb.amend_offer(pb::AmendOfferRequest {
        idempotency_key: "amend-1".into(),
        offer_ref: offer_ref.clone(),
        capacity: Some(5),
        window_end_time: None,
    })
    .await
    .unwrap();
    gb.pause_offer(pb::PauseOfferRequest {
        idempotency_key: "pause-1".into(),
        offer_ref: offer_ref.clone(),
        reason: pb::OfferPauseReason::Capacity as i32,
    })
    .await
    .unwrap();
    let paused = gb
        .nominate_candidate(nominate_request("nominate-3", &offer_ref, "d5"))
        .await
        .unwrap_err();
    assert_eq!(reason(&paused), "OFFER_NOT_AVAILABLE");
    gb.close_offer(pb::CloseOfferRequest {
        idempotency_key: "close-1".into(),
        offer_ref: offer_ref.clone(),
    })
    .await
    .unwrap();
    let closed = gb
        .nominate_candidate(nominate_request("nominate-4", &offer_ref, "d5"))
        .await
        .unwrap_err();
    assert_eq!(reason(&closed), "OFFER_NOT_AVAILABLE");
    assert_eq!(admission_count(&federation, "GB").await, 1);
    let offer = offers_agree(&federation, "GB", "FR", &offer_ref, |offer| {
        offer.status == pb::OfferStatus::Closed as i32
    })
    .await;
    assert_eq!(offer.used, 1, "refused nominations claimed no place");
}

#[tokio::test]
async fn a_grant_lapses_on_the_virtual_clock_on_both_nodes_and_releases_its_place() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let offer_ref = publish(&federation, "GB", "FR", "publish-1", 3).await;
    let case_ref = nominate(&federation, &offer_ref, "nominate-1").await;
    grant(&federation, &case_ref, "grant-1").await;
    let granted = both_reach(&federation, &case_ref, pb::AdmissionStatus::Granted).await;
    let mut gb = admission_client(&federation, "GB").await;
    let early = gb
        .report_grant_lapsed(pb::ReportGrantLapsedRequest {
            idempotency_key: "lapse-1".into(),
            case_ref: case_ref.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&early), "ILLEGAL_TRANSITION", "the visa still runs");
    federation.clock.advance_days(100);
    let lapsed = both_reach(&federation, &case_ref, pb::AdmissionStatus::GrantLapsed).await;
    let lapse = lapsed.events.last().unwrap();
    assert_eq!(lapse.acting_state, "GB", "A's clock records the lapse");
    assert!(lapse.idempotency_key.starts_with("deadline:"));
    let Some(pb::admission_event::Detail::GrantLapsed(detail)) = &lapse.detail else {
        panic!("GRANT_LAPSED carries the visa's validity");
    };
    assert_eq!(detail.visa_valid_until, granted.visa_valid_until);
    offers_agree(&federation, "GB", "FR", &offer_ref, |offer| offer.used == 0).await;
}

#[tokio::test]
async fn a_retried_nomination_makes_one_case_and_other_content_under_its_key_already_exists() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let offer_ref = publish(&federation, "GB", "FR", "publish-1", 5).await;
    let first = nominate(&federation, &offer_ref, "nominate-1").await;
    let again = nominate(&federation, &offer_ref, "nominate-1").await;
    assert_eq!(first, again, "the replay answers the first case");
    let mut gb = admission_client(&federation, "GB").await;
    let reused = gb
        .nominate_candidate(nominate_request("nominate-1", &offer_ref, "e6"))
        .await
        .unwrap_err();
    assert_eq!(reused.code(), tonic::Code::AlreadyExists);
    both_reach(&federation, &first, pb::AdmissionStatus::Nominated).await;
    assert_eq!(admission_count(&federation, "GB").await, 1);
    assert_eq!(admission_count(&federation, "FR").await, 1);
    let offer = offers_agree(&federation, "GB", "FR", &offer_ref, |offer| offer.used == 1).await;
    assert_eq!(offer.events.len(), 2, "one SLOT_CLAIMED");
}

#[tokio::test]
async fn the_origin_states_gateway_cannot_publish_on_the_admitting_node_and_is_audited() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let mut intruder = AdmissionServiceClient::new(
        federation
            .channel_as(PeerIdentity::Gateway(state("FR")), "GB")
            .await,
    );
    let refused = intruder
        .publish_offer(publish_request("publish-1", "FR", 10))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied);
    let audit = federation.app("GB").store().audit_log(10).await.unwrap();
    assert!(audit.iter().any(|record| {
        record.peer == "spiffe://accord/state/FR/gateway"
            && record.operation == "/accord.v1.AdmissionService/PublishOffer"
            && record.outcome == "PERMISSION_DENIED"
    }));
    let mut gb = admission_client(&federation, "GB").await;
    let offers = gb
        .list_offers(pb::ListOffersRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(offers.offers.is_empty(), "nothing was stored");
}

#[tokio::test]
async fn each_state_takes_only_its_own_steps_on_a_case() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let offer_ref = publish(&federation, "GB", "FR", "publish-1", 5).await;
    let case_ref = nominate(&federation, &offer_ref, "nominate-1").await;
    both_reach(&federation, &case_ref, pb::AdmissionStatus::Nominated).await;
    let mut fr = admission_client(&federation, "FR").await;
    let vetting = fr
        .start_vetting(pb::StartVettingRequest {
            idempotency_key: "vetting-1".into(),
            case_ref: case_ref.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(vetting.code(), tonic::Code::PermissionDenied);
    let pause = fr
        .pause_offer(pb::PauseOfferRequest {
            idempotency_key: "pause-1".into(),
            offer_ref: offer_ref.clone(),
            reason: pb::OfferPauseReason::Capacity as i32,
        })
        .await
        .unwrap_err();
    assert_eq!(pause.code(), tonic::Code::PermissionDenied);
    let audit = federation.app("FR").store().audit_log(10).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|record| record.operation == "/accord.v1.AdmissionService/StartVetting")
    );
}

#[tokio::test]
async fn france_cannot_nominate_people_in_the_uk_under_ukfr_2025() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let offer_ref = publish(&federation, "FR", "GB", "publish-1", 5).await;
    let mut fr = admission_client(&federation, "FR").await;
    let refused = fr
        .nominate_candidate(nominate_request("nominate-1", &offer_ref, "f7"))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::FailedPrecondition);
    assert_eq!(reason(&refused), "NO_AGREEMENT");
    assert_eq!(admission_count(&federation, "FR").await, 0);
    let offer = offer(&federation, "FR", &offer_ref).await.unwrap();
    assert_eq!(offer.used, 0);
}

#[tokio::test]
async fn an_offer_pauses_for_parity_once_admissions_run_ahead_of_returns() {
    // GB's limit for the pair with FR: strict one-for-one.
    let federation = Federation::start_with(&["GB", "FR"], &[("FR", "GB", 0)]).await;
    let offer_ref = publish(&federation, "GB", "FR", "publish-1", 5).await;
    let case_ref = nominate(&federation, &offer_ref, "nominate-1").await;
    grant(&federation, &case_ref, "grant-1").await;
    report_arrival(&federation, &case_ref, "arrival-1").await;
    both_reach(&federation, &case_ref, pb::AdmissionStatus::Arrived).await;
    confirm_departure(&federation, &case_ref, "departure-1").await;
    both_reach(
        &federation,
        &case_ref,
        pb::AdmissionStatus::DepartureConfirmed,
    )
    .await;
    let mut gb = admission_client(&federation, "GB").await;
    let refused = gb
        .nominate_candidate(nominate_request("nominate-2", &offer_ref, "a1"))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::FailedPrecondition);
    assert_eq!(reason(&refused), "OFFER_NOT_AVAILABLE");
    let paused = offers_agree(&federation, "GB", "FR", &offer_ref, |offer| {
        offer.status == pb::OfferStatus::Paused as i32
    })
    .await;
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
    let mut gb = admission_client(&federation, "GB").await;
    let mut request = publish_request("publish-1", "GB", 0);
    request.regime = 99;
    request.window = Some(pb::TimeRange {
        start_time: Some(time(START_MILLIS + DAY_MS)),
        end_time: Some(time(START_MILLIS)),
    });
    let refused = gb.publish_offer(request).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    let fields = violated_fields(&refused);
    for field in ["origin_state", "regime", "capacity", "window.end_time"] {
        assert!(
            fields.iter().any(|name| name == field),
            "{field} in {fields:?}"
        );
    }
    let offers = gb
        .list_offers(pb::ListOffersRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(offers.offers.is_empty());
    let offer_ref = publish(&federation, "GB", "FR", "publish-2", 5).await;
    let mut bad_person = nominate_request("nominate-1", &offer_ref, "zz");
    bad_person.matched_readmission_ref = "ADM-GB-FR-1".into();
    let refused = gb.nominate_candidate(bad_person).await.unwrap_err();
    let fields = violated_fields(&refused);
    assert!(
        fields.iter().any(|name| name.starts_with("person")),
        "{fields:?}"
    );
    assert!(
        fields.iter().any(|name| name == "matched_readmission_ref"),
        "{fields:?}"
    );
    let case_ref = nominate(&federation, &offer_ref, "nominate-2").await;
    let refused = gb
        .decide_admission(pb::DecideAdmissionRequest {
            idempotency_key: "refuse-1".into(),
            case_ref: case_ref.clone(),
            decision: Some(pb::decide_admission_request::Decision::Refuse(
                pb::AdmissionRefusal {
                    reasons: vec![77],
                    detailed_reasons: String::new(),
                },
            )),
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&refused), ["refuse.reasons[0]"]);
    let refused = gb
        .pause_offer(pb::PauseOfferRequest {
            idempotency_key: "pause-1".into(),
            offer_ref: offer_ref.clone(),
            reason: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&refused), ["reason"]);
    let refused = gb
        .list_admissions(pb::ListAdmissionsRequest {
            statuses: vec![42],
            role: 9,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&refused), ["role", "statuses[0]"]);
    let case = admission(&federation, "GB", &case_ref).await.unwrap();
    assert_eq!(case.status, pb::AdmissionStatus::Nominated as i32);
    assert_eq!(
        case.events.len(),
        1,
        "nothing was recorded from refused requests"
    );
    let too_long = gb
        .decide_admission(pb::DecideAdmissionRequest {
            idempotency_key: "grant-1".into(),
            case_ref: case_ref.clone(),
            decision: Some(pb::decide_admission_request::Decision::Grant(
                pb::AdmissionGrant {
                    visa_valid_until: Some(time(now(&federation) + 200 * DAY_MS)),
                },
            )),
        })
        .await
        .unwrap_err();
    assert_eq!(
        violated_fields(&too_long),
        ["grant.visa_valid_until"],
        "UK–France visas run three months"
    );
    grant(&federation, &case_ref, "grant-2").await;
    let mut travel = pb::BookTravelRequest {
        idempotency_key: "travel-1".into(),
        case_ref: case_ref.clone(),
        travel: Some(pb::TravelBooking {
            departure_time: Some(time(now(&federation) + 200 * DAY_MS)),
            transport_mode: 17,
            departure_point: "Calais".into(),
            entry_point: "Dover".into(),
        }),
    };
    let refused = gb.book_travel(travel.clone()).await.unwrap_err();
    assert_eq!(violated_fields(&refused), ["travel.transport_mode"]);
    if let Some(booking) = travel.travel.as_mut() {
        booking.transport_mode = pb::TransportMode::Sea as i32;
    }
    let refused = gb.book_travel(travel).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::FailedPrecondition);
    assert_eq!(
        reason(&refused),
        "DEADLINE_PASSED",
        "departure after the visa"
    );
    let case = admission(&federation, "GB", &case_ref).await.unwrap();
    assert_eq!(case.status, pb::AdmissionStatus::Granted as i32);
    assert_eq!(case.events.len(), 2);
}

#[tokio::test]
async fn a_partner_node_delivers_only_its_own_signed_events() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let offer_ref = publish(&federation, "GB", "FR", "publish-1", 5).await;
    let mut fr_as_node = AdmissionServiceClient::new(
        federation
            .channel_as(PeerIdentity::Node(state("FR")), "GB")
            .await,
    );
    let gb_history = offer(&federation, "GB", &offer_ref).await.unwrap().events;
    let mut forged = gb_history[0].clone();
    forged.sequence = 2;
    forged.idempotency_key = "forged-1".into();
    let refused = fr_as_node
        .deliver_offer_event(pb::DeliverOfferEventRequest {
            event: Some(forged),
        })
        .await
        .unwrap_err();
    assert_eq!(
        refused.code(),
        tonic::Code::PermissionDenied,
        "FR's node may not deliver GB's events"
    );
    let events = fr_as_node
        .list_offer_events(pb::ListOfferEventsRequest {
            offer_ref: offer_ref.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .events;
    assert_eq!(
        events, gb_history,
        "the partner of an offer reads its history"
    );
    let mut fr_gateway_on_gb = AdmissionServiceClient::new(
        federation
            .channel_as(PeerIdentity::Gateway(state("FR")), "GB")
            .await,
    );
    let refused = fr_gateway_on_gb
        .list_offer_events(pb::ListOfferEventsRequest {
            offer_ref: offer_ref.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied);
    let audit = federation.app("GB").store().audit_log(10).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|record| record.operation == "/accord.v1.AdmissionService/DeliverOfferEvent")
    );
}

#[tokio::test]
async fn lists_and_histories_filter_and_page_on_both_nodes() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let first_offer = publish(&federation, "GB", "FR", "publish-1", 5).await;
    let second_offer = publish(&federation, "GB", "FR", "publish-2", 5).await;
    let first_case = nominate(&federation, &first_offer, "nominate-1").await;
    let second_case = nominate(&federation, &second_offer, "nominate-2").await;
    let third_case = nominate(&federation, &second_offer, "nominate-3").await;
    grant(&federation, &third_case, "grant-3").await;
    both_reach(&federation, &third_case, pb::AdmissionStatus::Granted).await;
    both_reach(&federation, &first_case, pb::AdmissionStatus::Nominated).await;
    both_reach(&federation, &second_case, pb::AdmissionStatus::Nominated).await;
    let mut fr = admission_client(&federation, "FR").await;
    let under_second = fr
        .list_admissions(pb::ListAdmissionsRequest {
            offer_ref: second_offer.clone(),
            role: pb::AdmissionRole::Origin as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    // The virtual clock stands still, so references made in the same millisecond sort by
    // their random part: compare sets, not creation order.
    let mut refs: Vec<&str> = under_second
        .admissions
        .iter()
        .map(|case| case.case_ref.as_str())
        .collect();
    refs.sort_unstable();
    let mut expected = [second_case.as_str(), third_case.as_str()];
    expected.sort_unstable();
    assert_eq!(refs, expected);
    assert!(
        under_second
            .admissions
            .iter()
            .all(|case| case.person.is_none())
    );
    let granted = fr
        .list_admissions(pb::ListAdmissionsRequest {
            statuses: vec![pb::AdmissionStatus::Granted as i32],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(granted.admissions.len(), 1);
    assert_eq!(granted.admissions[0].case_ref, third_case);
    let first_page = fr
        .list_admissions(pb::ListAdmissionsRequest {
            page_size: 2,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first_page.admissions.len(), 2);
    let second_page = fr
        .list_admissions(pb::ListAdmissionsRequest {
            page_size: 2,
            page_token: first_page.next_page_token.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second_page.admissions.len(), 1);
    assert!(second_page.next_page_token.is_empty());
    let mut paged: Vec<&str> = first_page
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
    paged.sort_unstable();
    let mut all = [
        first_case.as_str(),
        second_case.as_str(),
        third_case.as_str(),
    ];
    all.sort_unstable();
    assert_eq!(paged, all);
    let history = fr
        .list_admission_events(pb::ListAdmissionEventsRequest {
            case_ref: third_case.clone(),
            after_sequence: 0,
            page_size: 1,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(history.events.len(), 1);
    assert_eq!(history.next_page_token, "1");
    let rest = fr
        .list_admission_events(pb::ListAdmissionEventsRequest {
            case_ref: third_case.clone(),
            after_sequence: 0,
            page_size: 1,
            page_token: history.next_page_token,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rest.events[0].kind, pb::AdmissionEventKind::Granted as i32);
    assert!(rest.next_page_token.is_empty());
}

#[tokio::test]
async fn history_reads_check_their_reference_and_page_token_and_page_to_the_end() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let offer_ref = publish(&federation, "GB", "FR", "publish-1", 5).await;
    let case_ref = nominate(&federation, &offer_ref, "nominate-1").await;
    let mut gb = admission_client(&federation, "GB").await;
    let refused = gb
        .list_offer_events(pb::ListOfferEventsRequest {
            offer_ref: case_ref.clone(),
            after_sequence: 2,
            page_size: 0,
            page_token: "1".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    assert_eq!(
        violated_fields(&refused),
        ["offer_ref", "page_token"],
        "an admission case is not an offer, and a token before after_sequence is not ours"
    );
    let last = if case_ref.ends_with('0') { '1' } else { '0' };
    let unknown_ref = format!("{}{last}", &case_ref[..case_ref.len() - 1]);
    let unknown = gb
        .list_admission_events(pb::ListAdmissionEventsRequest {
            case_ref: unknown_ref,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::NotFound);
    let whole = gb
        .list_offer_events(pb::ListOfferEventsRequest {
            offer_ref: offer_ref.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        whole
            .events
            .iter()
            .map(|event| event.sequence)
            .collect::<Vec<_>>(),
        [1, 2],
        "PUBLISHED and the nomination's SLOT_CLAIMED, on the default page"
    );
    assert!(whole.next_page_token.is_empty());
    let beyond = gb
        .list_admission_events(pb::ListAdmissionEventsRequest {
            case_ref,
            after_sequence: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(beyond.events.is_empty());
    assert!(beyond.next_page_token.is_empty());
}
