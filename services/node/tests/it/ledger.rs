//! The pair ledger that the parity guard reads, seen through the guard on offers between real
//! nodes: Germany (DE) admits people from Italy (IT), and DE's node holds IT to strict
//! one-for-one (a parity limit of 0), so one counted admission ahead of returns pauses DE's
//! next offer under a regime with the guard.

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

/// DE and IT, with DE's node holding IT to a parity limit of 0.
async fn germany_and_italy() -> Federation {
    Federation::start_with(&["DE", "IT"], &[("IT", "DE", 0)]).await
}

/// `code`'s admission service, called by `code`'s own gateway.
async fn caseworkers(federation: &Federation, code: &str) -> AdmissionServiceClient<Channel> {
    AdmissionServiceClient::new(
        federation
            .channel_as(PeerIdentity::Gateway(state(code)), code)
            .await,
    )
}

/// DE publishes an offer to people in IT under `regime`; returns it once IT's node holds it.
async fn publish(federation: &Federation, key: &str, regime: pb::Regime) -> String {
    let mut germany = caseworkers(federation, "DE").await;
    let offer_ref = germany
        .publish_offer(pb::PublishOfferRequest {
            idempotency_key: key.to_owned(),
            origin_state: "IT".into(),
            regime: regime as i32,
            capacity: 5,
            window: Some(pb::TimeRange {
                start_time: Some(time(START_MILLIS)),
                end_time: Some(time(START_MILLIS + 60 * DAY_MS)),
            }),
            priority_rules_version: "2026-03".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .offer
        .unwrap()
        .offer_ref;
    let italy = caseworkers(federation, "IT").await;
    eventually(&format!("IT holds {offer_ref}"), || {
        let request = pb::GetOfferRequest {
            offer_ref: offer_ref.clone(),
        };
        let mut italy = italy.clone();
        async move { italy.get_offer(request).await.is_ok() }
    })
    .await;
    offer_ref
}

/// A nomination of the person whose keyed pseudonym is `pseudonym_byte` (two hex digits)
/// repeated 32 times.
fn nominate_request(
    key: &str,
    offer_ref: &str,
    pseudonym_byte: &str,
) -> pb::NominateCandidateRequest {
    pb::NominateCandidateRequest {
        idempotency_key: key.to_owned(),
        offer_ref: offer_ref.to_owned(),
        person: Some(pb::PersonalData {
            keyed_pseudonym: pseudonym_byte.repeat(32),
            nationality: "ER".into(),
            birth_year: 1998,
            vulnerable: false,
            family_ties: true,
        }),
        expression_of_interest_reference: format!("EOI-{key}"),
        matched_readmission_ref: String::new(),
        round_id: String::new(),
    }
}

/// DE nominates, grants and reports the arrival of one person under `offer_ref`; returns
/// the case once both nodes show it ARRIVED.
async fn admit_until_arrival(federation: &Federation, offer_ref: &str, key: &str) -> String {
    let mut germany = caseworkers(federation, "DE").await;
    let case_ref = germany
        .nominate_candidate(nominate_request(
            &format!("{key}-nominate"),
            offer_ref,
            "a1",
        ))
        .await
        .unwrap()
        .into_inner()
        .admission
        .unwrap()
        .case_ref;
    let now = federation.clock.now().as_millis();
    germany
        .decide_admission(pb::DecideAdmissionRequest {
            idempotency_key: format!("{key}-grant"),
            case_ref: case_ref.clone(),
            decision: Some(pb::decide_admission_request::Decision::Grant(
                pb::AdmissionGrant {
                    visa_valid_until: Some(time(now + 80 * DAY_MS)),
                },
            )),
        })
        .await
        .unwrap();
    germany
        .report_arrival(pb::ReportArrivalRequest {
            idempotency_key: format!("{key}-arrival"),
            case_ref: case_ref.clone(),
            arrived_at: Some(time(now)),
            entry_point: "Munich".into(),
        })
        .await
        .unwrap();
    let italy = caseworkers(federation, "IT").await;
    eventually(&format!("IT shows {case_ref} ARRIVED"), || {
        let request = pb::GetAdmissionRequest {
            case_ref: case_ref.clone(),
        };
        let mut italy = italy.clone();
        async move {
            italy.get_admission(request).await.is_ok_and(|response| {
                response.into_inner().admission.is_some_and(|admission| {
                    admission.status == pb::AdmissionStatus::Arrived as i32
                })
            })
        }
    })
    .await;
    case_ref
}

fn reason(status: &tonic::Status) -> String {
    status
        .get_error_details()
        .error_info()
        .map(|info| info.reason.clone())
        .unwrap_or_default()
}

#[tokio::test]
async fn an_arrival_counts_where_the_regime_asks_no_departure_confirmation() {
    let federation = germany_and_italy().await;
    // Dublin III asks IT for no departure confirmation: the case ends, and counts, at ARRIVED.
    let dublin_offer = publish(&federation, "publish-dublin", pb::Regime::DublinIii).await;
    admit_until_arrival(&federation, &dublin_offer, "first").await;
    // EU_1FOR1 runs the parity guard; DE now has admitted one person from IT ahead of returns.
    let guarded_offer = publish(&federation, "publish-guarded", pb::Regime::Eu1for1).await;
    let mut germany = caseworkers(&federation, "DE").await;
    let refused = germany
        .nominate_candidate(nominate_request("second-nominate", &guarded_offer, "b2"))
        .await
        .expect_err("DE's credit with IT is 1, above the limit of 0");
    assert_eq!(refused.code(), tonic::Code::FailedPrecondition);
    assert_eq!(reason(&refused), "OFFER_NOT_AVAILABLE");
    let offer = germany
        .get_offer(pb::GetOfferRequest {
            offer_ref: guarded_offer.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .offer
        .unwrap();
    assert_eq!(offer.status, pb::OfferStatus::Paused as i32);
    assert_eq!(
        offer.pause_reason,
        pb::OfferPauseReason::ParityNotReached as i32
    );
}

#[tokio::test]
async fn an_arrival_does_not_count_while_the_regime_awaits_the_departure_confirmation() {
    let federation = germany_and_italy().await;
    // EU_1FOR1 asks IT to confirm the departure: an ARRIVED case does not count yet.
    let offer_ref = publish(&federation, "publish-guarded", pb::Regime::Eu1for1).await;
    admit_until_arrival(&federation, &offer_ref, "first").await;
    let mut germany = caseworkers(&federation, "DE").await;
    let second = germany
        .nominate_candidate(nominate_request("second-nominate", &offer_ref, "b2"))
        .await
        .expect("DE's credit with IT is still 0: the arrival awaits IT's confirmation")
        .into_inner();
    assert_eq!(
        second.admission.unwrap().status,
        pb::AdmissionStatus::Nominated as i32
    );
}
